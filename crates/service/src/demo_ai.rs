//! Demo data of AI-found flaws (issue #13): for each demo institution with a CISO account, a
//! conventional static-analysis scan and, a week later, a high-performance AI model's
//! vulnerability assessment over the same code (fictional tools, model and code; realistic rule
//! ids and CWE tags). Some AI results carry the model's confirmation of a working exploit; many
//! flaws are reported by both tools, so the queue shows AI-found P1/P2 items, cross-tool clusters
//! and the AI-versus-conventional split. Everything goes through the import use case, so
//! priorities, clusters and the audit log come out as they would for a real upload.

use chrono::Duration;
use haechi_core::{Actor, Role};

use crate::findings::{FindingsUpload, ResourceMapping};
use crate::patching::PatchInput;
use crate::{Result, Service};

/// The AI assessment tool and model (fictional).
const AI_TOOL: &str = "Haetae AI Code Auditor";
const AI_MODEL: &str = "sentinel-kr";
const AI_MODEL_VERSION: &str = "2026-10";
/// The conventional scanner (fictional).
const SAST_TOOL: &str = "CodeGuard SAST";

/// One deliberate flaw of the demo code: where it is, its CWE, and how each tool reports it.
struct Flaw {
    path: &'static str,
    line: u32,
    cwe: u32,
    /// The conventional scanner's rule and level, when it finds the flaw (its line may differ).
    sast: Option<(&'static str, &'static str, u32)>,
    /// The AI model's rule and level, when it finds the flaw, and whether it confirmed a working
    /// exploit.
    ai: Option<(&'static str, &'static str, bool)>,
    message: &'static str,
}

const FLAWS: &[Flaw] = &[
    Flaw { path: "gateway/partner/ping.py", line: 42, cwe: 78, sast: Some(("py.subprocess-shell-true", "error", 42)), ai: Some(("AIA-CMDI-001", "error", true)),
        message: "Partner host name reaches os.system via string concatenation (shell injection)" },
    Flaw { path: "gateway/partner/statements.py", line: 88, cwe: 89, sast: Some(("py.sql-string-format", "error", 88)), ai: Some(("AIA-SQLI-004", "error", true)),
        message: "Account number formatted into the statement query (SQL injection)" },
    Flaw { path: "gateway/auth/jwt_verify.py", line: 57, cwe: 287, sast: None, ai: Some(("AIA-AUTH-012", "error", true)),
        message: "Partner JWT accepted with alg=none: signature never verified (authentication bypass)" },
    Flaw { path: "gateway/partner/upload.py", line: 131, cwe: 22, sast: Some(("py.path-join-user-input", "error", 132)), ai: Some(("AIA-PATH-003", "error", false)),
        message: "Uploaded file name joined to the spool directory without normalisation (path traversal)" },
    Flaw { path: "gateway/partner/rates.py", line: 23, cwe: 918, sast: None, ai: Some(("AIA-SSRF-002", "error", true)),
        message: "Rate-feed URL taken from the partner request (server-side request forgery to the metadata service)" },
    Flaw { path: "gateway/partner/session.py", line: 64, cwe: 502, sast: Some(("py.pickle-loads", "error", 64)), ai: Some(("AIA-DESER-001", "error", false)),
        message: "Session cookie deserialised with pickle" },
    Flaw { path: "gateway/config/settings.py", line: 12, cwe: 798, sast: Some(("py.hardcoded-password", "note", 12)), ai: Some(("AIA-SECRET-007", "warning", false)),
        message: "Partner API secret hard-coded in settings" },
    Flaw { path: "gateway/util/crypto.py", line: 15, cwe: 327, sast: Some(("py.md5-used", "warning", 15)), ai: None,
        message: "MD5 used for request signing" },
    Flaw { path: "gateway/partner/templates.py", line: 40, cwe: 79, sast: Some(("py.jinja-autoescape-off", "warning", 40)), ai: Some(("AIA-XSS-005", "error", false)),
        message: "Partner name rendered without escaping (cross-site scripting)" },
    Flaw { path: "web/src/main/java/kr/example/bank/transfer/TransferController.java", line: 118, cwe: 639, sast: None, ai: Some(("AIA-IDOR-009", "error", true)),
        message: "Transfer history returned for any account id in the request (authorisation bypass by user-controlled key)" },
    Flaw { path: "web/src/main/java/kr/example/bank/login/OtpResetController.java", line: 77, cwe: 306, sast: None, ai: Some(("AIA-AUTH-015", "error", false)),
        message: "OTP reset endpoint reachable without authentication" },
    Flaw { path: "web/src/main/java/kr/example/bank/report/ReportExport.java", line: 203, cwe: 611, sast: Some(("java.xxe-documentbuilder", "error", 203)), ai: Some(("AIA-XXE-001", "error", false)),
        message: "Uploaded report template parsed with external entities enabled (XXE)" },
    Flaw { path: "web/src/main/java/kr/example/bank/search/SearchDao.java", line: 54, cwe: 89, sast: Some(("java.jdbc-sqli", "error", 54)), ai: Some(("AIA-SQLI-004", "error", true)),
        message: "Search keyword concatenated into JDBC query (SQL injection)" },
    Flaw { path: "web/src/main/java/kr/example/bank/common/LogUtil.java", line: 31, cwe: 117, sast: Some(("java.log-injection", "note", 31)), ai: None,
        message: "User input written to the log without neutralising line breaks" },
    Flaw { path: "core/ledger/BatchPosting.java", line: 412, cwe: 190, sast: None, ai: Some(("AIA-INT-002", "warning", false)),
        message: "Posting amount summed in a 32-bit int (integer overflow)" },
    Flaw { path: "core/ledger/Reconcile.java", line: 88, cwe: 78, sast: Some(("java.runtime-exec", "error", 88)), ai: None,
        message: "Reconciliation file name passed to Runtime.exec" },
];

fn sarif(ai: bool) -> Vec<u8> {
    let mut rules = Vec::new();
    let mut results = Vec::new();
    for f in FLAWS {
        let (rule, level, line, exploit) = match (ai, f.sast, f.ai) {
            (false, Some((r, l, line)), _) => (r, l, line, false),
            (true, _, Some((r, l, x))) => (r, l, f.line, x),
            _ => continue,
        };
        if !rules.iter().any(|r: &serde_json::Value| r["id"] == rule) {
            rules.push(serde_json::json!({"id": rule, "properties": {"tags": ["security", format!("external/cwe/cwe-{}", f.cwe)]}}));
        }
        let mut props = serde_json::json!({});
        if exploit {
            props = serde_json::json!({"exploitConfirmed": true, "poc": "generated"});
        }
        results.push(serde_json::json!({
            "ruleId": rule,
            "level": level,
            "message": {"text": f.message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": f.path}, "region": {"startLine": line}}}],
            "properties": props,
        }));
    }
    let mut run = serde_json::json!({
        "tool": {"driver": {"name": if ai { AI_TOOL } else { SAST_TOOL }, "version": if ai { "1.4.0" } else { "9.2.1" }, "rules": rules}},
        "results": results,
    });
    if ai {
        run["properties"] = serde_json::json!({"ai.model": AI_MODEL, "ai.modelVersion": AI_MODEL_VERSION, "ai/origin": "ai-generated"});
    }
    serde_json::to_vec(&serde_json::json!({"version": "2.1.0", "runs": [run]})).unwrap_or_default()
}

/// Seeds the scans for the demo institutions that have a CISO account and the resources of the
/// patching demo: the conventional scan 12 days ago, the AI assessment 5 days ago, and one
/// cross-tool cluster patched 2 days ago.
pub async fn seed(svc: &Service) -> Result<()> {
    let pool = svc.store().pool();
    let cisos: Vec<Actor> = haechi_store::list_users(pool, Some(Role::Ciso))
        .await?
        .iter()
        .filter(|u| u.institution_id.is_some())
        .take(2)
        .map(haechi_store::User::actor)
        .collect();
    let now = svc.now();
    for ciso in &cisos {
        let Some(inst) = ciso.institution_id else {
            continue;
        };
        let resources = haechi_store::list_resources(pool, Some(inst)).await?;
        let id_of = |name: &str| resources.iter().find(|r| r.name == name).map(|r| r.id);
        let (Some(gateway), Some(web), Some(core)) = (
            id_of("partner-api-gateway"),
            id_of("internet-banking-web"),
            id_of("core-banking"),
        ) else {
            continue;
        };
        let map = vec![
            ResourceMapping {
                prefix: "gateway/".into(),
                resource: gateway.to_string(),
            },
            ResourceMapping {
                prefix: "web/".into(),
                resource: web.to_string(),
            },
            ResourceMapping {
                prefix: "core/".into(),
                resource: core.to_string(),
            },
        ];
        for (ai, days_ago, file) in [
            (false, 12, "codeguard-sast-2026-11.sarif"),
            (true, 5, "haetae-ai-assessment-2026-12.sarif"),
        ] {
            svc.set_clock(Some(now - Duration::days(days_ago)));
            let up = FindingsUpload {
                institution_id: inst,
                file_name: Some(file.into()),
                resource_map: map.clone(),
                ..Default::default()
            };
            let outcome = svc
                .import_findings(ciso, &up, std::io::Cursor::new(sarif(ai)))
                .await;
            svc.set_clock(None);
            outcome?;
        }
        // The SQL injection in the search DAO, reported by both tools, was patched since.
        let ids = haechi_store::open_finding_ids_at(pool, inst, "SearchDao.java").await?;
        if let Some(first) = ids.first() {
            svc.set_clock(Some(now - Duration::days(2)));
            let outcome = svc
                .record_patch(
                    ciso,
                    &PatchInput {
                        institution_id: inst,
                        resource_id: Some(web),
                        applied: "SearchDao: PreparedStatement with bound keyword (release 2026.12.1)".into(),
                        applied_at: (now - Duration::days(2) - Duration::hours(3)).into(),
                        applied_by: "internet banking development team".into(),
                        work_plan: haechi_store::WorkPlan {
                            pre_testing_done: true,
                            rollback_ready: true,
                            kill_switch_ready: false,
                            isolation_ready: true,
                            continuity_plan: true,
                            customers_notified_in_advance: false,
                        },
                        notes: Some("Fixes the finding the AI model confirmed and the scanner's report of the same flaw.".into()),
                        finding_ids: vec![*first],
                    },
                )
                .await;
            svc.set_clock(None);
            outcome?;
        }
    }
    // The last import's regrouping finishes before the demo is handed over.
    svc.clusters_settled().await;
    Ok(())
}
