//! Demo data of the advisory group and the guidelines (C14). The advisory group's seven members
//! (the demo's advisor accounts: two in AI, two in security, three in law) were appointed on
//! 1 January 2026 to 30 June 2026; when the FSC made the program's bodies permanent (30 June
//! 2026) five terms were extended to 31 December 2026 and two members, appointed again, run to
//! the same day. One lawyer declares a standing conflict with an applicant whose application
//! waits in screening, so the reviewer proposals leave them out. Two meetings (July and
//! October) have minutes and advice on threats and policy.
//!
//! The guidelines: resource classification v1 and patch priority v1 (July) then v2 (November),
//! acknowledged by some institutions' CISOs; an on-site briefing in November with attendance;
//! two tailored-support requests, one answered and scheduled, one open. Everything goes through
//! the use cases on the service clock.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use haechi_core::{Actor, ApplicationState, Role};
use haechi_store::ApplicationFilter;

use crate::advisory::{AdviceInput, MemberInput, StandingConflictInput};
use crate::guidelines::{BriefingInput, GuidelineDraft};
use crate::{Result, Service, ServiceError};

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> Result<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|day| day.and_hms_opt(h, min, 0))
        .ok_or_else(|| ServiceError::rule("demo", "bad demo date"))
}

fn day(y: i32, m: u32, d: u32) -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| ServiceError::rule("demo", "bad demo date"))
}

async fn staff(svc: &Service, username: &str) -> Result<Actor> {
    haechi_store::list_users(svc.store().pool(), None)
        .await?
        .iter()
        .find(|u| u.username == username)
        .map(haechi_store::User::actor)
        .ok_or(ServiceError::NotFound)
}

/// (username, field, affiliation, extended on 30 June rather than appointed again)
const MEMBERS: [(&str, &str, &str, bool); 7] = [
    ("advisor1", "security", "한결대학교 정보보호대학원", true),
    ("advisor2", "ai", "가람대학교 인공지능학과", true),
    ("advisor3", "ai", "미르과학기술원 전산학부", true),
    ("advisor4", "security", "새결대학교 금융공학과", false),
    ("advisor5", "law", "법무법인 도담", true),
    ("advisor6", "law", "법무법인 여울", true),
    ("advisor7", "law", "법무법인 청람", false),
];

pub async fn seed(svc: &Service) -> Result<()> {
    let result = write(svc).await;
    svc.set_clock(None);
    result
}

async fn write(svc: &Service) -> Result<()> {
    let Ok(officer) = staff(svc, "officer").await else {
        return Ok(());
    };
    advisory_group(svc, &officer).await?;
    guidelines(svc, &officer).await
}

async fn advisory_group(svc: &Service, officer: &Actor) -> Result<()> {
    // Appointed for the pilot's first half.
    svc.set_clock(Some(at(2026, 1, 2, 1, 0)?));
    let mut ids = Vec::new();
    for (username, field, affiliation, _) in MEMBERS {
        let user = staff(svc, username).await?;
        let id = svc
            .appoint_member(
                officer,
                &MemberInput {
                    user_id: user.user_id,
                    field: field.into(),
                    affiliation: affiliation.into(),
                    term_start: Some(day(2026, 1, 1)?),
                    term_end: Some(day(2026, 6, 30)?),
                },
            )
            .await?;
        ids.push((id, username));
    }
    // The FSC's decision of 30 June makes the bodies permanent: terms run to the year's end.
    svc.set_clock(Some(at(2026, 6, 30, 8, 0)?));
    for ((id, _), (_, _, _, extended)) in ids.iter().zip(MEMBERS) {
        if extended {
            svc.extend_term(
                officer,
                *id,
                Some(day(2026, 12, 31)?),
                "금융위원회 2026.6.30. 의결(자문단 상설화)에 따른 임기 연장",
            )
            .await?;
        } else {
            svc.correct_term(
                officer,
                *id,
                Some(day(2026, 7, 1)?),
                Some(day(2026, 12, 31)?),
                "상설화에 따라 2026.7.1.자로 재위촉",
            )
            .await?;
        }
    }
    let member = |name: &str| {
        ids.iter()
            .find(|(_, u)| *u == name)
            .map(|(id, _)| *id)
            .ok_or(ServiceError::NotFound)
    };

    // Meeting 1 (July): the plan for the second half and a threat briefing.
    svc.set_clock(Some(at(2026, 7, 8, 1, 0)?));
    let july = svc
        .schedule_meeting(
            officer,
            Some(day(2026, 7, 16)?),
            "2026년 제1차 AI 보안 자문단 회의",
            "1. 하반기 망분리 규제 특례 운영 계획\n2. 생성형 AI 프롬프트 주입 위협 동향\n3. 면책 기준 세부 운영 방안",
        )
        .await?;
    svc.set_clock(Some(at(2026, 7, 16, 9, 0)?));
    let present: Vec<i64> = ["advisor1", "advisor2", "advisor3", "advisor5", "advisor6"]
        .iter()
        .map(|u| member(u))
        .collect::<Result<_>>()?;
    svc.record_minutes(
        officer,
        july,
        "하반기 운영 계획을 보고받고, 프롬프트 주입 공격이 내부 업무 시스템에 연결된 AI 서비스에서 가장 시급한 위협이라는 데 의견을 모음. 면책 기준은 사전 작업계획(사전 테스트, 롤백, 차단 스위치) 확인을 심사의 출발점으로 삼을 것을 권고함.",
        &present,
    )
    .await?;
    svc.record_advice(
        officer,
        &AdviceInput {
            meeting_id: Some(july),
            topic: "threat".into(),
            title: "업무 시스템과 연결된 AI 서비스의 프롬프트 주입".into(),
            text_ko: "내부 문서·메일을 읽는 AI 서비스는 외부 입력에 숨은 지시문으로 정보를 유출할 수 있으므로, 도구 호출 권한을 최소화하고 출력 단계에서 민감정보를 차단할 것.".into(),
            text_en: "AI services that read internal documents or mail can be steered by instructions hidden in outside input to leak data: keep their tool permissions minimal and filter sensitive data on output.".into(),
            given_on: Some(day(2026, 7, 16)?),
        },
    )
    .await?;
    svc.record_advice(
        officer,
        &AdviceInput {
            meeting_id: Some(july),
            topic: "policy".into(),
            title: "면책 심사의 출발점: 사전 작업계획".into(),
            text_ko: "면책 여부는 장애 규모보다 먼저 사전 테스트, 확산 방지(롤백·차단 스위치·격리), 업무 연속성, 고객 사전 안내가 갖춰졌는지로 판단할 것.".into(),
            text_en: "Judge immunity first by whether pre-testing, spread prevention (rollback, kill switch, isolation), continuity and advance customer notice were in place, before the size of the disruption.".into(),
            given_on: Some(day(2026, 7, 16)?),
        },
    )
    .await?;

    // Meeting 2 (October): the emergency-patch outage and the patch-priority guideline.
    svc.set_clock(Some(at(2026, 10, 12, 1, 0)?));
    let october = svc
        .schedule_meeting(
            officer,
            Some(day(2026, 10, 21)?),
            "2026년 제2차 AI 보안 자문단 회의",
            "1. 9월 긴급 패치 장애 면책 사례 검토\n2. 패치 우선순위 가이드라인 개정 방향\n3. 4분기 신청 평가 일정",
        )
        .await?;
    svc.set_clock(Some(at(2026, 10, 21, 9, 30)?));
    let present: Vec<i64> = [
        "advisor1", "advisor2", "advisor4", "advisor5", "advisor6", "advisor7",
    ]
    .iter()
    .map(|u| member(u))
    .collect::<Result<_>>()?;
    svc.record_minutes(
        officer,
        october,
        "9월 긴급 패치 장애 두 건의 면책 결정 근거를 검토함. 패치 우선순위 가이드라인에 당국 긴급 권고(P1)와 AI 도구의 공격 성공 증거를 구분해 적도록 개정할 것을 권고함. 4분기 신청 평가는 11월 중 배정을 마치기로 함.",
        &present,
    )
    .await?;
    svc.record_advice(
        officer,
        &AdviceInput {
            meeting_id: Some(october),
            topic: "policy".into(),
            title: "패치 우선순위 가이드라인 개정".into(),
            text_ko: "당국의 긴급 패치 권고 대상과 AI 점검 도구가 실제 공격 성공을 확인한 취약점을 모두 최우선(P1)으로 두되, 근거를 구분해 표시할 것.".into(),
            text_en: "Put both the CVEs of an authority's emergency advisory and the weaknesses an AI testing tool proved exploitable at the top priority (P1), showing the two grounds apart.".into(),
            given_on: Some(day(2026, 10, 21)?),
        },
    )
    .await?;

    // A standing conflict: advisor7's firm took on an applicant waiting in screening as a
    // client, so advisor7 is left out of its reviewers.
    svc.set_clock(Some(at(2026, 11, 3, 2, 0)?));
    let advisor7 = staff(svc, "advisor7").await?;
    let (waiting, _) = haechi_store::list_applications(
        svc.store().pool(),
        &ApplicationFilter {
            state: Some(ApplicationState::Screening),
            limit: 100,
            ..Default::default()
        },
    )
    .await?;
    let mut target = None;
    for a in &waiting {
        let panel = haechi_store::assignments_for_application(svc.store().pool(), a.id).await?;
        if !panel.iter().any(|x| x.advisor_id == advisor7.user_id) {
            target = Some(a.institution_id);
            if panel.is_empty() {
                break;
            }
        }
    }
    if let Some(institution) = target {
        svc.declare_standing_conflict(
            &advisor7,
            member("advisor7")?,
            &StandingConflictInput {
                institution_id: Some(institution),
                sector: None,
                reason: "소속 법무법인이 2026년 11월부터 해당 기관의 정보보호 법률 자문을 맡음"
                    .into(),
                valid_from: Some(day(2026, 11, 1)?),
                valid_to: None,
            },
        )
        .await?;
    }
    Ok(())
}

async fn guidelines(svc: &Service, officer: &Actor) -> Result<()> {
    let pool = svc.store().pool();
    let versions = haechi_store::list_policy_versions(pool).await?;
    let (Some(first), Some(latest)) = (
        versions.iter().map(|v| v.version).min(),
        versions.iter().map(|v| v.version).max(),
    ) else {
        return Ok(());
    };
    svc.set_clock(Some(at(2026, 7, 20, 1, 0)?));
    let classification = svc
        .create_guideline(
            officer,
            "resource_classification",
            &GuidelineDraft {
                title_ko: "전산자원 중요도 분류 가이드라인".into(),
                title_en: "Guideline on classifying computing resources".into(),
                body_ko: "1. 분류 대상: 망분리 규제 특례를 적용받는 업무에 쓰이는 서버, 응용, 네트워크 장비, 클라우드 및 SaaS.\n2. 분류 기준: 처리하는 데이터(개인신용정보, 고객 개인정보, 비공개 업무정보 등), 네트워크 구역, 전자금융거래 처리 여부.\n3. 등급별 통제: 상위 등급 자원은 외부 AI 서비스와의 연결을 금지하고, 중간 등급은 가명처리 후 연결을 허용한다.".into(),
                body_en: "1. Scope: servers, applications, network devices, cloud and SaaS used for work under the network-separation relief.\n2. Criteria: the data processed (personal credit, customer personal, non-public business data…), the network zone, and whether electronic financial transactions are processed.\n3. Controls by class: the top class may not connect to outside AI services; the middle class may, after pseudonymisation.".into(),
                policy_versions: vec![first],
            },
        )
        .await?;
    let priority = svc
        .create_guideline(
            officer,
            "patch_priority",
            &GuidelineDraft {
                title_ko: "취약점 패치 우선순위 가이드라인".into(),
                title_en: "Guideline on patch priorities".into(),
                body_ko: "1. 우선순위는 P1~P4로 정하고, 정책의 판단표(KEV 등재, EPSS, CVSS, 자원 등급)를 따른다.\n2. 당국의 긴급 패치 권고 대상은 P1으로 하고 정책이 정한 기한 안에 조치한다.\n3. 조치 기록에는 사전 테스트, 롤백, 차단 스위치, 격리, 업무 연속성, 고객 사전 안내를 적는다.".into(),
                body_en: "1. Priorities run from P1 to P4 by the policy's decision table (KEV listing, EPSS, CVSS, resource class).\n2. CVEs of an authority's emergency advisory are P1 and are fixed within the policy's deadline.\n3. A patch record states pre-testing, rollback, kill switch, isolation, continuity and advance customer notice.".into(),
                policy_versions: vec![first],
            },
        )
        .await?;
    svc.set_clock(Some(at(2026, 7, 24, 2, 0)?));
    svc.publish_guideline(officer, classification).await?;
    svc.publish_guideline(officer, priority).await?;

    // Acknowledgements of the first versions by the demo institutions' CISOs and a few others.
    let cisos: Vec<Actor> = haechi_store::list_users(pool, Some(Role::Ciso))
        .await?
        .iter()
        .filter(|u| !u.disabled)
        .map(haechi_store::User::actor)
        .collect();
    let hanbit = staff(svc, "ciso.hanbit").await.ok();
    let saebom = staff(svc, "ciso.saebom").await.ok();
    let mut ackers: Vec<Actor> = hanbit.iter().chain(saebom.iter()).cloned().collect();
    let others: Vec<Actor> = cisos
        .iter()
        .filter(|c| !ackers.iter().any(|a| a.user_id == c.user_id))
        .take(6)
        .cloned()
        .collect();
    ackers.extend(others);
    for (k, ciso) in ackers.iter().enumerate() {
        let k = u32::try_from(k).unwrap_or(0);
        svc.set_clock(Some(at(2026, 7, 27 + k % 4, 1 + k % 6, 10)?));
        svc.acknowledge_guideline(ciso, classification).await?;
        if k % 3 != 2 {
            svc.acknowledge_guideline(ciso, priority).await?;
        }
    }

    // Patch priority v2 after the October meeting's advice; hanbit acknowledges it.
    svc.set_clock(Some(at(2026, 11, 2, 1, 30)?));
    svc.save_guideline_draft(
        officer,
        priority,
        &GuidelineDraft {
            title_ko: "취약점 패치 우선순위 가이드라인".into(),
            title_en: "Guideline on patch priorities".into(),
            body_ko: "1. 우선순위는 P1~P4로 정하고, 정책의 판단표(KEV 등재, EPSS, CVSS, 자원 등급)를 따른다.\n2. 당국의 긴급 패치 권고 대상과 AI 점검 도구가 공격 성공을 확인한 취약점은 모두 P1으로 하되, 근거를 구분해 표시한다(자문단 2026년 제2차 회의 권고).\n3. 조치 기록에는 사전 테스트, 롤백, 차단 스위치, 격리, 업무 연속성, 고객 사전 안내를 적는다.".into(),
            body_en: "1. Priorities run from P1 to P4 by the policy's decision table (KEV listing, EPSS, CVSS, resource class).\n2. CVEs of an authority's emergency advisory and weaknesses an AI testing tool proved exploitable are both P1, with the two grounds shown apart (advice of the advisory group's second 2026 meeting).\n3. A patch record states pre-testing, rollback, kill switch, isolation, continuity and advance customer notice.".into(),
            policy_versions: vec![latest],
        },
    )
    .await?;
    svc.set_clock(Some(at(2026, 11, 5, 2, 0)?));
    svc.publish_guideline(officer, priority).await?;
    if let Some(h) = &hanbit {
        svc.set_clock(Some(at(2026, 11, 9, 0, 40)?));
        svc.acknowledge_guideline(h, priority).await?;
    }

    // An on-site briefing on the revised guideline, with attendance.
    let invited: Vec<i64> = ackers.iter().filter_map(|a| a.institution_id).collect();
    svc.set_clock(Some(at(2026, 11, 6, 5, 0)?));
    let kst = FixedOffset::east_opt(9 * 3600).ok_or(ServiceError::NotFound)?;
    let starts = kst
        .from_local_datetime(&at(2026, 11, 19, 14, 0)?)
        .single()
        .ok_or(ServiceError::NotFound)?;
    let briefing = svc
        .schedule_briefing(
            officer,
            &BriefingInput {
                starts_at: Some(starts),
                place: "금융보안원 본원 대회의실 (경기 용인)".into(),
                topic: "패치 우선순위 가이드라인 v2 현장 설명회".into(),
                guideline_id: Some(priority),
                institution_ids: invited.clone(),
            },
        )
        .await?;
    svc.set_clock(Some(at(2026, 11, 19, 8, 30)?));
    let came: Vec<i64> = invited
        .iter()
        .enumerate()
        .filter(|(k, _)| k % 4 != 3)
        .map(|(_, i)| *i)
        .collect();
    svc.record_briefing_attendance(officer, briefing, &came)
        .await?;

    // Tailored support: hanbit's answered and scheduled, saebom's still open.
    if let Some(h) = &hanbit {
        svc.set_clock(Some(at(2026, 11, 20, 2, 15)?));
        let id = svc
            .request_support(
                h,
                "AI 개발 지원 서비스의 자원 등급 판단",
                "코드 생성 AI가 내부 저장소를 읽는 구성에서 해당 개발 서버를 어느 등급으로 분류해야 하는지 현장 자문을 요청합니다.",
            )
            .await?;
        svc.set_clock(Some(at(2026, 11, 24, 6, 0)?));
        svc.answer_support(
            officer,
            id,
            "scheduled",
            Some(day(2026, 12, 10)?),
            "12월 10일 오후 2시 귀사를 방문해 개발 서버 구성을 함께 보고 등급 판단 근거를 안내하겠습니다.",
        )
        .await?;
    }
    if let Some(s) = &saebom {
        svc.set_clock(Some(at(2026, 12, 2, 4, 30)?));
        svc.request_support(
            s,
            "보험금 심사 AI의 패치 기한 적용",
            "외부 SaaS로 운영하는 보험금 심사 AI의 취약점에도 P1 기한이 그대로 적용되는지, 공급사 패치 일정과 맞지 않을 때 어떻게 기록해야 하는지 문의합니다.",
        )
        .await?;
    }
    Ok(())
}
