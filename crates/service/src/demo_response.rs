//! Demo data of the AI security response team and the full-removal track (C14): the team formed
//! on 1 July 2026 after the FSC made the program's bodies permanent — members from the FSC, the
//! FSS and the FSI and three CISOs (two banks, an insurer) —; the demo bank's question on an AI
//! coding assistant's SaaS scope, answered and resolved in September; the insurer's question on
//! the AI assessment report form, raised in late November and due soon; the October and
//! November check-ins with attendance and actions, one of November's past its due day; and the
//! full-removal ranking over the phase 1 and 2 letter holders, whose best candidate the officer
//! hands over with its letter in November and shortlists in December. Everything goes through
//! the use cases on the service clock, so the audit log tells the same story.

use chrono::{NaiveDate, NaiveDateTime};
use haechi_core::{Actor, Role, Sector};

use crate::removal::RemovalStep;
use crate::response_team::{
    ActionInput, ChallengeChange, ChallengeInput, CheckinInput, MemberInput,
};
use crate::{Result, Service, ServiceError};

/// A time in Korea (KST) as the service clock's UTC.
fn kst(y: i32, m: u32, d: u32, h: u32, min: u32) -> Result<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|day| day.and_hms_opt(h, min, 0))
        .map(|t| t - chrono::Duration::hours(9))
        .ok_or_else(|| ServiceError::rule("demo", "bad demo date"))
}

fn day(y: i32, m: u32, d: u32) -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| ServiceError::rule("demo", "bad demo date"))
}

pub async fn seed(svc: &Service) -> Result<()> {
    let result = write(svc).await;
    svc.set_clock(None);
    result
}

async fn write(svc: &Service) -> Result<()> {
    let pool = svc.store().pool();
    let Some(officer) = haechi_store::list_users(pool, Some(Role::RegulatorOfficer))
        .await?
        .into_iter()
        .next()
        .map(|u| u.actor())
    else {
        return Ok(());
    };
    let institutions = haechi_store::all_institutions(pool).await?;
    let cisos = haechi_store::list_users(pool, Some(Role::Ciso)).await?;
    let ciso_of = |code: &str| -> Option<Actor> {
        let inst = institutions.iter().find(|i| i.input.code == code)?;
        cisos
            .iter()
            .find(|u| u.institution_id == Some(inst.id))
            .map(|u| u.actor())
    };
    let (Some(hanbit), Some(saebom)) = (ciso_of("BNK-001"), ciso_of("INS-001")) else {
        return Ok(());
    };
    // Another bank's CISO.
    let other_bank = cisos
        .iter()
        .filter(|u| u.institution_id != hanbit.institution_id)
        .find(|u| {
            institutions
                .iter()
                .any(|i| Some(i.id) == u.institution_id && i.input.sector == Sector::Bank)
        })
        .map(|u| u.id);

    // 1. The team, formed after the FSC's decision of 30 June.
    svc.set_clock(Some(kst(2026, 7, 1, 10, 0)?));
    let member =
        |organisation: &str, name: &str, team_role: &str, user_id: Option<i64>| MemberInput {
            organisation: organisation.into(),
            name: name.into(),
            team_role: team_role.into(),
            user_id,
        };
    let fsc = svc
        .add_response_member(
            &officer,
            &member("fsc", "정하늘 (금융안전과장)", "팀장", None),
        )
        .await?;
    let fss = svc
        .add_response_member(
            &officer,
            &member("fss", "이수진 (IT검사국 팀장)", "간사", None),
        )
        .await?;
    let fsi = svc
        .add_response_member(
            &officer,
            &member("fsi", "박민호 (금융보안원 AI보안팀)", "위협 분석", None),
        )
        .await?;
    let hanbit_member = svc
        .add_response_member(
            &officer,
            &member("ciso", "", "은행권 대표", Some(hanbit.user_id)),
        )
        .await?;
    if let Some(u) = other_bank {
        svc.add_response_member(&officer, &member("ciso", "", "은행권 위원", Some(u)))
            .await?;
    }
    svc.add_response_member(
        &officer,
        &member("ciso", "", "보험권 대표", Some(saebom.user_id)),
    )
    .await?;

    // 2. The bank's question on its coding assistant, answered within the month.
    svc.set_clock(Some(kst(2026, 9, 2, 9, 40)?));
    let coding = svc
        .raise_challenge(
            &hanbit,
            &ChallengeInput {
                institution_id: None,
                title: "생성형 AI 코딩 도우미의 SaaS 이용 범위".into(),
                description: "개발망에서 생성형 AI 코딩 도우미를 쓰려 합니다. 소스코드 일부가 외부 SaaS로 전송되는데, 비조치의견서의 허용 범위(O등급 데이터)에 소스코드가 포함되는지 확인을 요청합니다.".into(),
                due_on: Some(day(2026, 9, 30)?),
            },
        )
        .await?;
    svc.set_clock(Some(kst(2026, 9, 3, 14, 0)?));
    svc.update_challenge(
        &officer,
        coding,
        &ChallengeChange {
            owner_member_id: Some(fsi),
            status: "in_progress".into(),
            response: None,
            due_on: None,
        },
    )
    .await?;
    svc.set_clock(Some(kst(2026, 9, 24, 17, 30)?));
    svc.update_challenge(
        &officer,
        coding,
        &ChallengeChange {
            owner_member_id: None,
            status: "resolved".into(),
            response: Some("고객 정보와 영업비밀이 없는 소스코드는 O등급으로 보아 허용 범위에 포함됩니다. 다만 비밀정보 탐지(시크릿 스캐닝)로 키·비밀번호가 전송되지 않게 하고, 전송 로그를 6개월 이상 보관하십시오.".into()),
            due_on: None,
        },
    )
    .await?;

    // 3. The insurer's question on the report form, due in a few days.
    svc.set_clock(Some(kst(2026, 11, 25, 11, 15)?));
    let form = svc
        .raise_challenge(
            &saebom,
            &ChallengeInput {
                institution_id: None,
                title: "AI 모델 취약점 점검 결과의 분기 보고 양식".into(),
                description: "AI 모델 점검 도구가 찾은 취약점을 분기 보고서의 어느 항목에 적어야 하는지, 기존 점검 결과와 합산해야 하는지 안내를 요청합니다.".into(),
                due_on: Some(day(2026, 12, 10)?),
            },
        )
        .await?;
    svc.set_clock(Some(kst(2026, 11, 26, 10, 0)?));
    svc.update_challenge(
        &officer,
        form,
        &ChallengeChange {
            owner_member_id: Some(fss),
            status: "open".into(),
            response: None,
            due_on: None,
        },
    )
    .await?;

    // 4. Check-ins: October's action was done; one of November's is past its due day.
    svc.set_clock(Some(kst(2026, 10, 14, 16, 0)?));
    let october = svc
        .record_checkin(
            &officer,
            &CheckinInput {
                held_on: Some(day(2026, 10, 14)?),
                notes: "3분기 AI 보안 점검 결과와 현장 애로사항을 공유했습니다. 코딩 도우미 SaaS 이용 범위 답변을 각 업권에 알리기로 했습니다.".into(),
                attendees: vec![fsc, fss, fsi, hanbit_member],
            },
        )
        .await?;
    let notice = svc
        .add_checkin_action(
            &officer,
            october,
            &ActionInput {
                description: "코딩 도우미 SaaS 이용 범위 답변을 업권별 협회에 안내".into(),
                owner_member_id: Some(fss),
                due_on: Some(day(2026, 10, 31)?),
            },
        )
        .await?;
    svc.set_clock(Some(kst(2026, 10, 28, 15, 0)?));
    svc.complete_checkin_action(&officer, notice).await?;
    svc.set_clock(Some(kst(2026, 11, 18, 16, 0)?));
    let november = svc
        .record_checkin(
            &officer,
            &CheckinInput {
                held_on: Some(day(2026, 11, 18)?),
                notes: "AI 보안 점검 가이드 개정 방향과 긴급 패치 권고(OpenSSH) 이행 상황을 점검했습니다.".into(),
                attendees: vec![fsc, fsi, hanbit_member],
            },
        )
        .await?;
    svc.add_checkin_action(
        &officer,
        november,
        &ActionInput {
            description: "AI 보안 점검 가이드 개정안에 대한 업권 의견 취합".into(),
            owner_member_id: Some(fsi),
            due_on: Some(day(2026, 11, 30)?),
        },
    )
    .await?;
    svc.add_checkin_action(
        &officer,
        november,
        &ActionInput {
            description: "4분기 AI 공격 동향 공유 자료 배포".into(),
            owner_member_id: Some(fss),
            due_on: Some(day(2026, 12, 15)?),
        },
    )
    .await?;

    // 5. The full-removal track: the best candidate is handed over with its letter, then
    // shortlisted.
    if !svc.has_signer() {
        return Ok(());
    }
    svc.set_clock(Some(kst(2026, 11, 20, 10, 0)?));
    let track = svc.removal_track(&officer).await?;
    let Some(best) = track.candidates.first() else {
        return Ok(());
    };
    let best_id = best.institution_id;
    if let Some(letter) = haechi_store::list_letters(pool, Some(best_id))
        .await?
        .into_iter()
        .filter(|l| l.state == "issued")
        .max_by_key(|l| l.id)
    {
        svc.hand_over_to_full_removal(
            &officer,
            letter.id,
            "평가·보고·패치 기한 준수가 우수하여 완전 해제 검토 대상으로 넘깁니다.",
        )
        .await?;
    }
    svc.set_clock(Some(kst(2026, 12, 3, 14, 0)?));
    svc.decide_removal(
        &officer,
        best_id,
        RemovalStep::Shortlist,
        "1·2단계 허용 기관 중 종합 점수 1위이며 기한을 넘긴 보고와 면책 불인정 사례가 없습니다. 현장 점검 후 권고 여부를 결정합니다.",
    )
    .await?;
    Ok(())
}
