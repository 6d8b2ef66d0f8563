//! Demo data of sanction immunity and incident reporting (C8): for the demo bank, an emergency
//! patch for the authorities' advisory that stopped mobile banking for 35 minutes (every
//! criterion met; granted) and an AI security test that stopped a core service for five hours
//! with KRW 250 million of damage (refused; the reasons on the page); the first outage's
//! incident with its initial and interim reports, the second's with its initial report; and the
//! data-class breach behind the demo's revoked letter. Everything goes through the use cases on
//! the service clock, so the audit log tells the same story. Also the AI Security Support
//! Center's first fintech funding call (C14) with its awards, a refusal and a first payment.

use chrono::{NaiveDate, NaiveDateTime};
use haechi_core::{Actor, Role};

use crate::immunity::{BreachInput, DisruptionInput};
use crate::{Result, Service, ServiceError};

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> Result<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|day| day.and_hms_opt(h, min, 0))
        .ok_or_else(|| ServiceError::rule("demo", "bad demo date"))
}

async fn user(svc: &Service, role: Role, institution_id: Option<i64>) -> Result<Actor> {
    let u = haechi_store::list_users(svc.store().pool(), Some(role))
        .await?
        .into_iter()
        .find(|u| institution_id.is_none() || u.institution_id == institution_id)
        .ok_or(ServiceError::NotFound)?;
    Ok(Actor {
        user_id: u.id,
        username: u.username,
        role: u.role,
        institution_id: u.institution_id,
    })
}

pub async fn seed(svc: &Service) -> Result<()> {
    let result = match write(svc).await {
        Ok(()) => funding(svc).await,
        Err(e) => Err(e),
    };
    svc.set_clock(None);
    result
}

async fn write(svc: &Service) -> Result<()> {
    let pool = svc.store().pool();
    let Some(bank) = haechi_store::all_institutions(pool)
        .await?
        .into_iter()
        .find(|i| i.input.code == "BNK-001")
    else {
        return Ok(());
    };
    let ciso = user(svc, Role::Ciso, Some(bank.id)).await?;
    let officer = user(svc, Role::RegulatorOfficer, None).await?;
    let policy = svc.policy();
    let patches = haechi_store::list_patch_records(pool, bank.id, 1000).await?;
    // A patch of the day before the disruption whose work plan has every item.
    let patch = patches
        .iter()
        .filter(|p| p.applied_at.as_str() < "2026-09-15")
        .find(|p| crate::patching::work_plan_gaps(&policy, &p.work_plan).is_empty())
        .or(patches.first())
        .map(|p| p.id);
    let advisory = haechi_store::list_advisories(pool)
        .await?
        .into_iter()
        .find(|a| a.state == "published")
        .map(|a| a.id);
    let import = haechi_store::list_finding_imports(pool, Some(bank.id), 200)
        .await?
        .into_iter()
        .find(|i| i.ai_model.is_some())
        .map(|i| i.id);

    // 1. The emergency patch: minor, every safeguard in place; granted.
    svc.set_clock(Some(at(2026, 9, 15, 6, 0)?));
    let granted = svc
        .file_disruption(
            &ciso,
            &DisruptionInput {
                institution_id: bank.id,
                activity: "emergency_patch".into(),
                patch_id: patch,
                advisory_id: advisory,
                title: "긴급 보안패치 적용 후 모바일뱅킹 접속 지연 / Mobile banking slow after the emergency patch".into(),
                started_at: Some(at(2026, 9, 14, 16, 10)?),
                detected_at: Some(at(2026, 9, 14, 16, 14)?),
                recovered_at: Some(at(2026, 9, 14, 16, 45)?),
                affected_services: "모바일뱅킹 로그인 / mobile banking sign-in".into(),
                affected_subscribers: 8_200,
                financial_damage_krw: 3_500_000,
                recovery_actions: "킬스위치로 패치 이전 설정 복귀 후 단계 적용 / kill switch to the previous configuration, then a staged roll-out".into(),
                consumer_actions: "지연 이체 수수료 면제, 앱 공지 / delayed-transfer fees waived, in-app notice".into(),
                ..DisruptionInput::default()
            },
        )
        .await?;
    svc.set_clock(Some(at(2026, 9, 15, 8, 0)?));
    let incident = svc.disruption(&ciso, granted).await?.incident_id;
    if let Some(i) = incident {
        svc.file_incident_report(
            &ciso,
            i,
            "initial",
            "최초 보고: 긴급 패치(권고 대응) 적용 중 세션 서버 설정 충돌로 35분간 로그인 지연. 킬스위치로 복구. / Initial: a session-server setting clashed during the advisory's patch; sign-in slow for 35 minutes; recovered with the kill switch.",
        )
        .await?;
    }
    svc.set_clock(Some(at(2026, 9, 25, 1, 0)?));
    svc.decide_immunity(
        &officer,
        granted,
        true,
        "금융보안원 전파 취약점에 대한 긴급 패치로, 중단 35분·피해 350만 원·유출 없음. 사전 테스트와 킬스위치, 사전 고객 안내를 갖춘 작업계획서가 있었고 신속히 복구함. 면책. / Emergency patch for an FSI-disseminated vulnerability; 35-minute outage, KRW 3.5 million, nothing leaked; the work plan had pre-testing, a kill switch and advance notice; recovered promptly. Immunity granted.",
    )
    .await?;
    if let Some(i) = incident {
        svc.set_clock(Some(at(2026, 11, 10, 2, 0)?));
        svc.file_incident_report(
            &ciso,
            i,
            "interim",
            "중간 보고: 세션 서버 설정 표준화 진행 중(70%), 재발 방지 점검표 도입. / Interim: session-server settings being standardised (70%); a recurrence checklist adopted.",
        )
        .await?;
    }

    // 2. The AI security test: five hours down and KRW 250 million; refused.
    svc.set_clock(Some(at(2026, 10, 21, 9, 0)?));
    let refused = svc
        .file_disruption(
            &ciso,
            &DisruptionInput {
                institution_id: bank.id,
                activity: "ai_security_test".into(),
                import_id: import,
                title: "AI 모의침투 중 계정계 배치 중단 / Core batch stopped during an AI penetration test".into(),
                started_at: Some(at(2026, 10, 20, 13, 0)?),
                detected_at: Some(at(2026, 10, 20, 13, 20)?),
                recovered_at: Some(at(2026, 10, 20, 17, 40)?),
                affected_services: "계정계 야간 배치, 자동이체 / core night batch, standing orders".into(),
                affected_subscribers: 41_000,
                financial_damage_krw: 250_000_000,
                pre_testing: true,
                spread_prevention: false,
                service_continuity: true,
                customer_advance_notice: false,
                recovery_actions: "배치 재기동, 미처리 이체 수작업 처리 / batch restarted, pending transfers processed by hand".into(),
                consumer_actions: "지연 이자 보상 / interest for the delay compensated".into(),
                ..DisruptionInput::default()
            },
        )
        .await?;
    if let Some(i) = svc.disruption(&ciso, refused).await?.incident_id {
        svc.file_incident_report(
            &ciso,
            i,
            "initial",
            "최초 보고: AI 점검 도구의 부하 시험이 배치 서버 자원을 고갈시켜 4시간 40분 중단. / Initial: the AI tool's load test exhausted the batch servers; 4 h 40 min outage.",
        )
        .await?;
    }
    svc.set_clock(Some(at(2026, 10, 30, 5, 0)?));
    svc.decide_immunity(
        &officer,
        refused,
        false,
        "중단 4시간 40분(기준 4시간 이내)과 피해 2억 5천만 원(기준 1억 원 미만)이 면책 기준을 넘고, 피해확산 방지 수단과 고객 사전 안내가 작업계획서에 없었음. 면책 불인정. / The 4 h 40 min outage (limit 4 h) and KRW 250 million of damage (limit below 100 million) exceed the criteria, and the work plan had neither spread prevention nor advance notice. Immunity refused.",
    )
    .await?;

    // 3. The data-class breach behind the revoked letter.
    if let Some(letter) = haechi_store::list_letters(pool, None)
        .await?
        .into_iter()
        .find(|l| l.state == "revoked")
    {
        svc.set_clock(Some(at(2026, 11, 10, 1, 0)?));
        svc.record_breach(
            &officer,
            &BreachInput {
                institution_id: letter.institution_id,
                title: "허용 범위 밖 SaaS로 고객 개인정보 전송 / Customer personal data sent to a SaaS outside the letter".into(),
                description: "S등급 고객 개인정보가 의견서에 없는 외부 SaaS로 전송됨(의견서 취소). / Sensitive-class customer data went to a SaaS the letter does not name (letter revoked).".into(),
                aware_at: Some(at(2026, 11, 9, 23, 0)?),
                letter_id: Some(letter.id),
            },
        )
        .await?;
    }
    Ok(())
}

/// The support center's funding call for small firms and fintechs, with awards within its budget.
async fn funding(svc: &Service) -> Result<()> {
    let pool = svc.store().pool();
    let Ok(center) = user(svc, Role::SupportCenter, None).await else {
        return Ok(());
    };
    let firms: Vec<_> = haechi_store::all_institutions(pool)
        .await?
        .into_iter()
        .filter(|i| {
            i.input.size_class == haechi_core::SizeClass::Small
                || i.input.sector == haechi_core::Sector::Fintech
        })
        .take(4)
        .collect();
    svc.set_clock(Some(at(2026, 10, 1, 0, 0)?));
    let call = svc
        .create_funding_call(
            &center,
            &crate::bodies::FundingCallInput {
                title: "2026 하반기 소규모 금융회사·핀테크 AI 보안 점검 지원 / 2026 H2 AI security support for small firms and fintechs".into(),
                budget_krw: 300_000_000,
                eligibility: crate::bodies::Eligibility {
                    size_classes: vec![haechi_core::SizeClass::Small],
                    sectors: vec![haechi_core::Sector::Fintech],
                },
                opens_on: NaiveDate::from_ymd_opt(2026, 10, 1),
                closes_on: NaiveDate::from_ymd_opt(2026, 12, 31),
            },
        )
        .await?;
    let asks = [
        (
            120_000_000,
            "AI 모의해킹 위탁 / outsourced AI penetration test",
        ),
        (
            90_000_000,
            "AI 코드 취약점 점검 도구 / AI code-scanning tool",
        ),
        (
            110_000_000,
            "보안 SaaS 도입 컨설팅 / security SaaS consulting",
        ),
        (
            80_000_000,
            "위협 인텔리전스 구독 / threat-intelligence subscription",
        ),
    ];
    let mut apps = Vec::new();
    for (i, firm) in firms.iter().enumerate() {
        let (amount, purpose) = asks[i % asks.len()];
        svc.set_clock(Some(at(2026, 10, 5 + i as u32, 2, 0)?));
        apps.push((
            svc.apply_funding(&center, call, firm.id, purpose, amount)
                .await?,
            amount,
        ));
    }
    svc.set_clock(Some(at(2026, 10, 20, 5, 0)?));
    let mut first = None;
    for (k, (app, amount)) in apps.iter().enumerate() {
        // The last one no longer fits what is left: refused with the reason.
        let fits = svc
            .decide_funding(
                &center,
                *app,
                Some(*amount),
                Some(90 - 5 * k as i64),
                "심사 통과 / passed review",
            )
            .await;
        match fits {
            Ok(()) => {
                first.get_or_insert(*app);
            }
            Err(e) if e.code() == "over_budget" => {
                svc.decide_funding(
                    &center,
                    *app,
                    None,
                    Some(70),
                    "남은 예산 부족으로 미선정, 다음 공모 우선 검토 / not enough budget left; first in line for the next call",
                )
                .await?;
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(app) = first {
        svc.set_clock(Some(at(2026, 11, 2, 1, 0)?));
        svc.record_disbursement(
            &center,
            app,
            60_000_000,
            NaiveDate::from_ymd_opt(2026, 11, 2),
            "1차 지급(50%) / first instalment (50%)",
        )
        .await?;
    }
    Ok(())
}
