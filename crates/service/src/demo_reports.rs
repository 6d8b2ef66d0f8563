//! Demo data of reports (C7) and sector insight (C9): for the phase-1 and phase-2 letter holders,
//! AI testing runs and conventional scans imported inside the first reporting period (through the
//! normal SARIF path, with the clock set into the period), a few patches, then each holder's first
//! report compiled, written (fictional narratives in Korean and English) and submitted; the officer
//! accepts most and returns some with comments, and one returned report is already resubmitted as
//! version 2. Every name and narrative is invented. Everything goes through the use cases, so the
//! audit log tells the same story.

use chrono::{Days, NaiveDate};
use haechi_core::{Actor, Role};
use haechi_store::{FindingFilter, WorkPlan};

use crate::findings::FindingsUpload;
use crate::patching::PatchInput;
use crate::reports::{DeliveredVersion, Narrative, Review};
use crate::{Result, Service, ServiceError};

/// Weaknesses the demo runs report: (CWE, security-severity).
const WEAKNESSES: [(&str, &str); 10] = [
    ("CWE-89", "9.1"),
    ("CWE-287", "8.8"),
    ("CWE-79", "6.1"),
    ("CWE-918", "8.6"),
    ("CWE-22", "7.5"),
    ("CWE-639", "6.5"),
    ("CWE-502", "9.8"),
    ("CWE-798", "7.2"),
    ("CWE-352", "4.3"),
    ("CWE-200", "3.7"),
];

/// AI models the demo's AI testing runs name (fictional).
const MODELS: [(&str, &str); 3] = [
    ("HaeSec-Red", "2026-05"),
    ("Aegis-Probe", "3.1"),
    ("Tiger-Audit LLM", "1.4"),
];

/// The narratives, by the sector's flavour (Korean, English).
const RISKS: [(&str, &str); 3] = [
    (
        "AI 점검 도구가 인증 우회와 권한 상승을 여러 단계로 연결해 내부 API까지 도달하는 경로를 찾았습니다. 사람이 수일 걸리던 연결을 수 시간 만에 찾았습니다.",
        "The AI testing tool chained an authentication bypass and privilege escalation across several steps to reach internal APIs, in hours where people took days.",
    ),
    (
        "AI 모델이 레거시 결제 모듈의 입력 검증 누락(SQL 삽입)을 대량으로 찾았고, 기존 도구가 놓친 간접 호출 경로를 설명과 함께 제시했습니다.",
        "The AI model found many missing input validations (SQL injection) in a legacy payment module and explained indirect call paths the conventional tools missed.",
    ),
    (
        "AI가 발견한 취약점은 개수보다 연결 가능성이 특징이었습니다. 개별로는 낮음 등급인 정보 노출 여러 건이 결합되면 계정 탈취가 가능했습니다.",
        "What marked the AI's findings was how they chain: several low-severity information exposures together allowed an account takeover.",
    ),
];

const OFFENSIVE: [(&str, &str); 3] = [
    (
        "같은 성능의 AI를 공격자가 쓰면 공개 API의 취약점이 공개 후 하루 안에 자동으로 악용될 수 있습니다. 패치 주기를 주 단위에서 일 단위로 줄여야 합니다.",
        "An attacker with AI of this capability could exploit public API flaws automatically within a day of disclosure; patch cycles must shrink from weeks to days.",
    ),
    (
        "AI가 내부 문서와 코드 저장소에 접근할 경우 하드코딩된 자격 증명을 빠르게 수집할 위험이 큽니다.",
        "With access to internal documents and code repositories, an offensive AI would harvest hard-coded credentials quickly.",
    ),
    (
        "피싱과 결합된 AI 공격은 고객 채널의 세션 관리 약점을 대규모로 노릴 수 있습니다.",
        "Combined with phishing, AI-driven attacks could target session-management weaknesses of customer channels at scale.",
    ),
];

const DEFENCES: [(&str, &str); 3] = [
    (
        "배포 전 AI 점검의 자동화, WAF 가상 패치, 긴급 패치 전 사전 테스트와 롤백 준비가 효과적이었습니다.",
        "Automated AI testing before release, WAF virtual patching, and pre-testing with rollback ready before emergency patches worked.",
    ),
    (
        "비밀정보 스캐너와 자격 증명 순환, 최소 권한 서비스 계정으로 AI가 찾은 경로 대부분을 차단했습니다.",
        "A secrets scanner, credential rotation and least-privilege service accounts closed most paths the AI found.",
    ),
    (
        "AI 발견 결과를 기존 도구 결과와 묶어 중복을 제거하고 우선순위 표로 P1·P2부터 조치한 것이 처리 속도를 높였습니다.",
        "Grouping AI findings with conventional ones and fixing P1/P2 first from the priority table sped remediation up.",
    ),
];

fn sarif(tool: &str, ai: Option<(&str, &str)>, results: usize, seed: usize) -> Vec<u8> {
    let rules: Vec<serde_json::Value> = WEAKNESSES
        .iter()
        .map(|(cwe, sev)| serde_json::json!({"id": format!("{tool}/{cwe}"), "properties": {"cwe": cwe, "security-severity": sev}}))
        .collect();
    let out: Vec<serde_json::Value> = (0..results)
        .map(|i| {
            // Skewed towards the first weaknesses, differently per institution.
            let w = (i * i + seed * 3) % WEAKNESSES.len();
            let w = if i.is_multiple_of(3) { w % 4 } else { w };
            let (cwe, _) = WEAKNESSES[w];
            serde_json::json!({
                "ruleId": format!("{tool}/{cwe}"),
                "level": "error",
                "message": {"text": format!("{cwe} in service module {}", (i * 7 + seed) % 41)},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": format!("src/svc{}/handler{}.java", seed % 9, i)}, "region": {"startLine": 10 + i}}}]
            })
        })
        .collect();
    let mut run = serde_json::json!({"tool": {"driver": {"name": tool, "version": "2026.1", "rules": rules}}, "results": out});
    if let Some((model, version)) = ai {
        run["properties"] = serde_json::json!({"ai/origin": "ai_generated", "aiModel": model, "aiModelVersion": version});
    }
    serde_json::to_vec(&serde_json::json!({"version": "2.1.0", "runs": [run]})).unwrap_or_default()
}

fn at(day: NaiveDate, hour: u32) -> Option<chrono::NaiveDateTime> {
    day.and_hms_opt(hour, 0, 0)
}

fn day(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d")
        .map_err(|e| ServiceError::rule("demo", e.to_string()))
}

/// Seeds the demo reports; does nothing when any report exists.
pub async fn seed(svc: &Service) -> Result<()> {
    let result = write(svc).await;
    svc.set_clock(None);
    result
}

async fn write(svc: &Service) -> Result<()> {
    let pool = svc.store().pool();
    let system = Actor::system();
    let officer = haechi_store::list_users(pool, Some(Role::RegulatorOfficer))
        .await?
        .first()
        .map(|u| Actor {
            user_id: u.id,
            username: u.username.clone(),
            role: u.role,
            institution_id: u.institution_id,
        })
        .unwrap_or_else(Actor::system);
    let cisos = haechi_store::list_users(pool, Some(Role::Ciso)).await?;
    let today = svc.today();
    let obligations = haechi_store::list_obligations(pool, None, None).await?;
    if !haechi_store::delivered_reports(pool, None)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    // Phase 1's first reports, which the letters' demo history accepted on a note, get the
    // report they were delivered with; phase 2's first reports (their period still running) are
    // being drafted.
    let delivered: Vec<&haechi_store::ObligationRow> = obligations
        .iter()
        .filter(|o| o.status == "accepted" && o.kind == "quarterly_report" && o.sequence == 1)
        .collect();
    let mut drafting: Vec<&haechi_store::ObligationRow> = Vec::new();
    for o in &obligations {
        if o.status == "open"
            && o.kind == "quarterly_report"
            && o.sequence == 1
            && day(&o.period_start)? < today
            && day(&o.period_end)? >= today
            && drafting.len() < 3
        {
            drafting.push(o);
        }
    }
    let firsts: Vec<&haechi_store::ObligationRow> =
        delivered.iter().chain(drafting.iter()).copied().collect();
    for (n, o) in firsts.iter().take(16).enumerate() {
        let inst = o.institution_id;
        let ciso = cisos
            .iter()
            .find(|u| u.institution_id == Some(inst))
            .map(|u| Actor {
                user_id: u.id,
                username: u.username.clone(),
                role: u.role,
                institution_id: u.institution_id,
            })
            .unwrap_or(Actor {
                user_id: 0,
                username: format!("demo.ciso.{inst}"),
                role: Role::Ciso,
                institution_id: Some(inst),
            });
        let start = day(&o.period_start)?;
        let end = day(&o.period_end)?;
        let span = (end - start).num_days().max(2) as u64;
        // Two scans in the period: an AI testing run and a conventional scan.
        let (model, version) = MODELS[n % MODELS.len()];
        let upload = FindingsUpload {
            institution_id: inst,
            ..FindingsUpload::default()
        };
        for (k, (tool, ai, results)) in [
            ("AI Pentest Agent", Some((model, version)), 6 + (n * 5) % 13),
            (
                ["Semgrep", "CodeQL", "SonarQube"][n % 3],
                None,
                9 + (n * 7) % 11,
            ),
        ]
        .into_iter()
        .enumerate()
        {
            svc.set_clock(at(start + Days::new(span * (k as u64 + 1) / 4), 10));
            let bytes = sarif(tool, ai, results, n);
            svc.import_findings(&system, &upload, std::io::Cursor::new(bytes))
                .await?;
        }
        // A patch fixes some of them before the period ends.
        let (open, _) = haechi_store::list_findings(
            pool,
            &FindingFilter {
                institution_id: Some(inst),
                status: Some("open".into()),
                limit: 3 + (n % 5) as i64,
                ..FindingFilter::default()
            },
        )
        .await?;
        let fix_day = (start + Days::new(span * 3 / 4 + (n % 3) as u64 * 20))
            .min(end)
            .min(today - Days::new(1));
        svc.set_clock(at(fix_day, 15));
        if !open.is_empty() {
            let applied_at = at(fix_day, 14).ok_or(ServiceError::NotFound)?;
            svc.record_patch(
                &system,
                &PatchInput {
                    institution_id: inst,
                    resource_id: None,
                    applied: "framework and library updates (vendor fixed versions)".into(),
                    applied_at: applied_at.into(),
                    applied_by: "IT operations".into(),
                    work_plan: WorkPlan {
                        pre_testing_done: true,
                        rollback_ready: true,
                        kill_switch_ready: n.is_multiple_of(2),
                        isolation_ready: true,
                        continuity_plan: true,
                        customers_notified_in_advance: n.is_multiple_of(3),
                    },
                    notes: None,
                    finding_ids: open.iter().map(|f| f.id).collect(),
                },
            )
            .await?;
        }
        let pick = |v: &[(&'static str, &'static str); 3]| v[n % 3];
        let narrative = Narrative {
            risk_ko: pick(&RISKS).0.into(),
            risk_en: pick(&RISKS).1.into(),
            offensive_ko: pick(&OFFENSIVE).0.into(),
            offensive_en: if n.is_multiple_of(2) {
                pick(&OFFENSIVE).1.into()
            } else {
                String::new()
            },
            defences_ko: pick(&DEFENCES).0.into(),
            defences_en: pick(&DEFENCES).1.into(),
        };
        if o.status == "open" {
            // Being drafted: compiled today, the narrative half written.
            svc.set_clock(None);
            svc.compile_report(&ciso, o.id).await?;
            let draft = Narrative {
                risk_ko: narrative.risk_ko.clone(),
                ..Narrative::default()
            };
            svc.write_report(&ciso, o.id, &draft).await?;
            continue;
        }
        // Delivered after the period: every third one was first returned for a concrete
        // offensive-risk section, then accepted as version 2.
        svc.set_clock(at(end + Days::new(5), 9));
        let mut versions = Vec::new();
        if n % 3 == 2 {
            versions.push(DeliveredVersion {
                narrative: narrative.clone(),
                returned: Some(Review {
                    general:
                        "수치는 확인했습니다. 공격 악용 위험 항목을 구체화하여 다시 제출하십시오."
                            .into(),
                    sections: [(
                        "offensive".to_string(),
                        "예상 공격 시나리오와 영향 받는 시스템을 적어 주십시오.".to_string(),
                    )]
                    .into_iter()
                    .collect(),
                }),
            });
        }
        let mut last = narrative;
        if n % 3 == 2 {
            last.offensive_ko.push_str(" 예상 시나리오: 공개 API 계정 탈취 후 이체 한도 변경. 영향 시스템: 인터넷뱅킹과 오픈뱅킹 게이트웨이.");
            last.offensive_en = "Expected scenario: account takeover through the public API, then a change of transfer limits; systems affected: internet banking and the open-banking gateway.".into();
        }
        versions.push(DeliveredVersion {
            narrative: last,
            returned: None,
        });
        svc.record_delivered_report(&ciso, &officer, o.id, &versions)
            .await?;
    }
    Ok(())
}
