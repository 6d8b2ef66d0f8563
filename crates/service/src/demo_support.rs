//! Demo data of the AI Security Support Center's follow-ups (issue #17, C14): the first funded
//! firm of the center's call (paid its first instalment on 2 November) gets its own accounts,
//! scans its code itself through the findings intake (its findings wait in its patch queue),
//! files its outcome report, which the center accepts, and has two cases with the center — one
//! answered, one still open. Everything goes through the use cases on the service clock, so the
//! audit log tells the same story; the dates follow the call (awards on 20 October).

use chrono::{NaiveDate, NaiveDateTime};
use haechi_core::{Actor, Role};

use crate::findings::FindingsUpload;
use crate::support::{CaseStep, OutcomeInput, Upload};
use crate::{Result, Service, ServiceError};

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> Result<NaiveDateTime> {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|day| day.and_hms_opt(h, min, 0))
        .ok_or_else(|| ServiceError::rule("demo", "bad demo date"))
}

/// The funded firm's own scan: an AI code assessment of its payment app.
const SCAN: &str = r#"{"version": "2.1.0", "runs": [{
 "tool": {"driver": {"name": "CodeSentinel AI", "version": "2.3", "rules": [
   {"id": "CS-SQLI", "properties": {"security-severity": "9.1", "tags": ["CWE-89"]}},
   {"id": "CS-HARDCODED-KEY", "properties": {"security-severity": "7.5", "tags": ["CWE-798"]}},
   {"id": "CS-WEAK-HASH", "properties": {"security-severity": "5.3", "tags": ["CWE-328"]}},
   {"id": "CS-VERBOSE-ERROR", "properties": {"security-severity": "3.7", "tags": ["CWE-209"]}}]}},
 "results": [
  {"ruleId": "CS-SQLI", "level": "error", "message": {"text": "가맹점 조회 API의 SQL 문에 사용자 입력이 그대로 들어갑니다."},
   "locations": [{"physicalLocation": {"artifactLocation": {"uri": "api/merchant/search.py"}, "region": {"startLine": 48}}}]},
  {"ruleId": "CS-HARDCODED-KEY", "level": "error", "message": {"text": "PG 연동 비밀키가 소스에 들어 있습니다."},
   "locations": [{"physicalLocation": {"artifactLocation": {"uri": "api/pg/client.py"}, "region": {"startLine": 12}}}]},
  {"ruleId": "CS-WEAK-HASH", "level": "warning", "message": {"text": "비밀번호 재설정 토큰을 MD5로 만듭니다."},
   "locations": [{"physicalLocation": {"artifactLocation": {"uri": "api/auth/reset.py"}, "region": {"startLine": 77}}}]},
  {"ruleId": "CS-VERBOSE-ERROR", "level": "note", "message": {"text": "오류 응답에 스택 트레이스가 포함됩니다."},
   "locations": [{"physicalLocation": {"artifactLocation": {"uri": "api/app.py"}, "region": {"startLine": 30}}}]}
 ]}]}"#;

/// The funded fintech's accounts (user name, display name, role).
pub(crate) const ACCOUNTS: [(&str, &str, Role); 2] = [
    ("ciso.fintech", "오세린 (지원 대상 핀테크 CISO)", Role::Ciso),
    (
        "staff.fintech",
        "남궁현 (지원 대상 핀테크 보안 담당)",
        Role::SecurityStaff,
    ),
];

pub async fn seed(svc: &Service) -> Result<()> {
    let result = write(svc).await;
    svc.set_clock(None);
    result
}

async fn write(svc: &Service) -> Result<()> {
    let pool = svc.store().pool();
    let system = Actor::system();
    let Some(center) = haechi_store::list_users(pool, Some(Role::SupportCenter))
        .await?
        .into_iter()
        .next()
        .map(|u| u.actor())
    else {
        return Ok(());
    };
    // The first award the center has paid.
    let Some(grant) = haechi_store::list_funding_applications(pool, None, None)
        .await?
        .into_iter()
        .find(|a| a.state == "awarded" && a.disbursed_krw > 0)
    else {
        return Ok(());
    };
    let firm = grant.institution_id;

    // 1. Its accounts, the day after the award.
    svc.set_clock(Some(at(2026, 10, 21, 0, 30)?));
    let mut people = Vec::new();
    for (name, display, role) in ACCOUNTS {
        let u = svc
            .create_user(&system, name, display, role, Some(firm))
            .await?;
        svc.set_password(&system, u.id, crate::demo::DEMO_PASSWORD)
            .await?;
        people.push(u.actor());
    }
    let (ciso, staff) = (people[0].clone(), people[1].clone());

    // 2. A case answered: help reading an AI code assessment.
    svc.set_clock(Some(at(2026, 11, 4, 1, 10)?));
    let answered = svc
        .open_support_case(
            &staff,
            "vulnerability_assessment",
            "AI 코드 점검 결과 해석 지원 요청 / Help reading our AI code assessment",
            "지원금으로 도입한 AI 코드 점검 도구의 첫 결과를 어떻게 우선순위화해야 하는지 안내를 요청합니다.",
        )
        .await?;
    svc.set_clock(Some(at(2026, 11, 4, 6, 0)?));
    svc.support_step(&center, answered, CaseStep::Triage, "담당 연구원 배정")
        .await?;
    svc.set_clock(Some(at(2026, 11, 6, 2, 30)?));
    svc.support_step(
        &center,
        answered,
        CaseStep::Answer,
        "SARIF 결과를 취약점 접수 화면으로 가져오면 정책의 패치 우선순위(P1~P5)와 조치 기한이 자동으로 정해집니다. CWE-89, CWE-798 항목부터 조치하십시오.",
    )
    .await?;

    // 3. The firm's own scan through the findings intake: its findings wait in its queue.
    svc.set_clock(Some(at(2026, 11, 16, 5, 0)?));
    let upload = FindingsUpload {
        institution_id: firm,
        resource_id: None,
        close_missing: false,
        file_name: Some("codesentinel-payapp-2026-11.sarif".into()),
        ai_model: None,
        ai_model_version: None,
        ..Default::default()
    };
    svc.import_findings(&staff, &upload, std::io::Cursor::new(SCAN.as_bytes()))
        .await?;
    svc.clusters_settled().await;

    // 4. The outcome report of the first instalment, accepted by the center.
    svc.set_clock(Some(at(2026, 11, 25, 7, 0)?));
    let outcome = svc
        .file_funding_outcome(
            &ciso,
            grant.id,
            &OutcomeInput {
                achieved_ko: "AI 코드 점검 도구를 도입해 결제 앱 전체를 처음 점검했고, 발견한 4건을 패치 대기열에 올려 긴급(P1) 2건의 조치 계획을 세웠습니다.".into(),
                achieved_en: "An AI code-scanning tool scanned the whole payment app for the first time; its 4 findings are in the patch queue with a plan for the 2 urgent ones.".into(),
                used_krw: grant.disbursed_krw.min(55_000_000),
            },
        )
        .await?;
    let summary = "항목,금액(원)\n도구 라이선스(1년),42000000\n교육·컨설팅,13000000\n";
    svc.add_outcome_file(
        &ciso,
        outcome,
        Upload {
            filename: "사용내역-2026-11.csv",
            content_type: "text/csv",
            data: summary.as_bytes(),
        },
    )
    .await?;
    svc.set_clock(Some(at(2026, 11, 30, 2, 0)?));
    svc.review_funding_outcome(
        &center,
        outcome,
        true,
        "사용 내역과 점검 결과 확인, 2차 지급 진행 / usage and results checked; the second instalment follows",
    )
    .await?;

    // 5. A case still open: a threat-trend question from this week.
    svc.set_clock(Some(at(2026, 12, 4, 8, 20)?));
    svc.open_support_case(
        &ciso,
        "threat_trend",
        "간편결제 앱 대상 AI 피싱 동향 문의 / AI phishing against payment apps",
        "최근 간편결제 이용자를 노린 AI 생성 피싱 문자가 늘었다는 보도가 있습니다. 업권 동향과 권고 조치를 알려 주십시오.",
    )
    .await?;
    Ok(())
}
