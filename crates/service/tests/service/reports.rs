//! Reports (issue #15) through the use cases on the demo data: the figures a compile computes
//! (counts by origin, time to remediate median and p90, SLA), a frozen version refusing every
//! change (the use cases and a raw UPDATE), who may do what, and the anonymised sector view
//! never publishing a cell that rests on fewer than k institutions.

use chrono::{Days, NaiveDate};
use haechi_core::{Actor, Role};
use haechi_service::findings::{FindingTransition, FindingsUpload};
use haechi_service::reports::{Narrative, Review};
use haechi_service::{Service, ServiceError};

use crate::open;

async fn ciso_of_hanbit(svc: &Service) -> Actor {
    let u = svc
        .list_users(&Actor::system(), None)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == "ciso.hanbit")
        .unwrap();
    Actor {
        user_id: u.id,
        username: u.username,
        role: u.role,
        institution_id: u.institution_id,
    }
}

fn sarif(ai: bool, n: usize) -> Vec<u8> {
    let results: Vec<serde_json::Value> = (0..n)
        .map(|i| serde_json::json!({
            "ruleId": "R1", "level": "error", "message": {"text": "sqli"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": format!("src/r{ai}{i}.java")}, "region": {"startLine": 1}}}]
        }))
        .collect();
    let mut run = serde_json::json!({"tool": {"driver": {"name": if ai { "ai-probe" } else { "sast-probe" },
        "rules": [{"id": "R1", "properties": {"cwe": "CWE-89", "security-severity": "8.0"}}]}}, "results": results});
    if ai {
        run["properties"] =
            serde_json::json!({"ai/origin": "ai_generated", "aiModel": "probe-model"});
    }
    serde_json::to_vec(&serde_json::json!({"version": "2.1.0", "runs": [run]})).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn figures_freezing_and_the_sector_view() {
    let dir = tempfile::tempdir().unwrap();
    let (store, svc) = open(&format!("sqlite://{}/r.db", dir.path().display())).await;
    haechi_service::demo::seed(&svc).await.unwrap();
    let today = svc.today();
    let officer = Actor {
        user_id: 98,
        username: "o".into(),
        role: Role::RegulatorOfficer,
        institution_id: None,
    };
    // An open obligation whose period holds today, of a holder with no findings yet.
    let mut chosen = None;
    for o in svc.obligations(&officer, None).await.unwrap() {
        let findings: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM findings WHERE institution_id = $1")
                .bind(o.row.institution_id)
                .fetch_one(store.pool())
                .await
                .unwrap();
        if o.row.status == "open"
            && o.row.kind == "quarterly_report"
            && findings == 0
            && o.row.period_start.as_str() <= today.to_string().as_str()
            && o.row.period_end.as_str() >= today.to_string().as_str()
        {
            chosen = Some(o);
            break;
        }
    }
    let o = chosen.expect("an open obligation holding today");
    let inst = o.row.institution_id;
    let ciso = Actor {
        user_id: 97,
        username: "ciso.probe".into(),
        role: Role::Ciso,
        institution_id: Some(inst),
    };
    // Another institution's CISO does not see it.
    let hanbit = ciso_of_hanbit(&svc).await;
    assert!(matches!(
        svc.report(&hanbit, o.row.id).await,
        Err(ServiceError::NotFound)
    ));
    assert!(matches!(
        svc.compile_report(&hanbit, o.row.id).await,
        Err(ServiceError::NotFound)
    ));
    let start = NaiveDate::parse_from_str(&o.row.period_start, "%Y-%m-%d").unwrap();
    let t0 = start.max(today - Days::new(20));

    // 3 AI-found and 2 conventional findings, created on t0; the AI ones fixed 2, 4 and 10 days later.
    let upload = FindingsUpload {
        institution_id: inst,
        ..FindingsUpload::default()
    };
    svc.set_clock(t0.and_hms_opt(9, 0, 0));
    for (ai, n) in [(true, 3), (false, 2)] {
        svc.import_findings(
            &Actor::system(),
            &upload,
            std::io::Cursor::new(sarif(ai, n)),
        )
        .await
        .unwrap();
    }
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM findings WHERE institution_id = $1 AND tool_name = 'ai-probe' ORDER BY id",
    )
    .bind(inst)
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(ids.len(), 3);
    for (id, days) in ids.iter().zip([2u64, 4, 10]) {
        svc.set_clock((t0 + Days::new(days)).and_hms_opt(9, 0, 0));
        svc.transition_finding(
            &ciso,
            *id,
            &FindingTransition {
                status: "fixed".into(),
                reason: None,
                until: None,
            },
        )
        .await
        .unwrap();
    }
    svc.set_clock(None);

    // Staff and CISO may compile; the auditor may not.
    let auditor = Actor {
        user_id: 99,
        username: "a".into(),
        role: Role::Auditor,
        institution_id: None,
    };
    assert!(matches!(
        svc.compile_report(&auditor, o.row.id).await,
        Err(ServiceError::Forbidden(_))
    ));
    svc.compile_report(&ciso, o.row.id).await.unwrap();
    let report = svc.report(&ciso, o.row.id).await.unwrap();
    let f = &report.latest().unwrap().figures;
    let ai_probe = f.by_tool.iter().find(|t| t.tool == "ai-probe").unwrap();
    assert_eq!(ai_probe.n, 3);
    assert_eq!(ai_probe.ai_model.as_deref(), Some("probe-model"));
    assert!(f.ai_found >= 3 && f.conventional >= 2);
    assert!(f.by_cwe.iter().any(|c| c.key == "89" && c.n >= 5));
    let fixed: Vec<_> = f.remediation.iter().filter(|r| r.fixed == 3).collect();
    assert_eq!(
        fixed.len(),
        1,
        "the three fixes share a priority: {:?}",
        f.remediation
    );
    assert_eq!(fixed[0].median_days, Some(4.0));
    assert_eq!(fixed[0].p90_days, Some(8.8));
    assert!(f
        .runs
        .iter()
        .any(|r| r.tool == "ai-probe" && r.runs == 1 && r.results == 3));

    // Submitting needs the Korean sections; then the version is frozen everywhere.
    let err = svc.submit_report(&ciso, o.row.id).await.unwrap_err();
    assert_eq!(err.field_errors().len(), 3);
    let narrative = Narrative {
        risk_ko: "위험".into(),
        offensive_ko: "악용".into(),
        defences_ko: "대응".into(),
        ..Narrative::default()
    };
    svc.write_report(&ciso, o.row.id, &narrative).await.unwrap();
    let hash = svc.submit_report(&ciso, o.row.id).await.unwrap();
    assert_eq!(hash.len(), 64);
    let again = svc
        .write_report(&ciso, o.row.id, &narrative)
        .await
        .unwrap_err();
    assert_eq!(again.code(), "report_frozen");
    let recompile = svc.compile_report(&ciso, o.row.id).await.unwrap_err();
    assert_eq!(recompile.code(), "illegal_transition");
    let raw = sqlx::query("UPDATE reports SET narrative_json = '{}' WHERE obligation_id = $1")
        .bind(o.row.id)
        .execute(store.pool())
        .await;
    assert!(
        raw.is_err(),
        "the database refuses to change a frozen version"
    );
    let v = svc.report(&ciso, o.row.id).await.unwrap();
    let latest = v.latest().unwrap();
    assert_eq!(latest.row.content_hash.as_deref(), Some(hash.as_str()));
    assert_eq!(
        haechi_service::reports::content_hash(&latest.row, &latest.figures, &latest.narrative)
            .unwrap(),
        hash,
        "the hash is recomputable from the stored content"
    );
    // Only the regulator decides, and a return needs a comment.
    assert!(matches!(
        svc.decide_report(&ciso, o.row.id, true, &Review::default())
            .await,
        Err(ServiceError::Forbidden(_))
    ));
    let empty = svc
        .decide_report(&officer, o.row.id, false, &Review::default())
        .await
        .unwrap_err();
    assert_eq!(empty.field_errors()[0].field, "general");
    svc.decide_report(&officer, o.row.id, true, &Review::default())
        .await
        .unwrap();

    // The anonymised view: every published sector cell rests on at least k institutions.
    let view = svc.sector_view(&ciso).await.unwrap();
    assert_eq!(view.k, 3);
    let delivered = haechi_store::delivered_reports(store.pool(), None)
        .await
        .unwrap();
    for t in &view.tables {
        for (c, sector) in view.sectors.iter().enumerate() {
            let institutions = delivered
                .iter()
                .filter(|d| &d.sector == sector)
                .map(|d| d.report.institution_id)
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            for row in &t.table.cells {
                if row[c].value.is_some_and(|v| v > 0.0) {
                    assert!(
                        institutions >= 3,
                        "{} {sector}: published with {institutions} institutions",
                        t.dimension
                    );
                }
            }
        }
    }
    assert!(view.tables.iter().any(|t| t
        .table
        .cells
        .iter()
        .flatten()
        .any(|c| c.withheld.is_some())));
    store.close().await;
}
