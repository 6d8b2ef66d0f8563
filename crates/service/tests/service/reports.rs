//! Reports (issue #15) through the use cases on the demo data: the figures a compile computes
//! (counts by origin, time to remediate median and p90, SLA), a frozen version refusing every
//! change (the use cases and a raw UPDATE), who may do what, and the anonymised sector view
//! never publishing a cell that rests on fewer than k institutions.

use chrono::{Days, NaiveDate};
use haechi_core::{Actor, Role};
use haechi_service::findings::{FindingTransition, FindingsUpload};
use haechi_service::reports::{Narrative, Review};
use haechi_service::{Service, ServiceError};
use sha2::Digest;

use crate::{on_both, open};

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
        haechi_service::reports::content_hash(
            &latest.row,
            &latest.figures,
            &latest.narrative,
            &latest.attachments
        )
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

fn actor(role: Role, institution_id: Option<i64>, name: &str) -> Actor {
    Actor {
        user_id: 90,
        username: name.into(),
        role,
        institution_id,
    }
}

/// Evidence files, the PDF of a submitted version, the reminders before the due date and the
/// SaaS self-evaluation that fulfils its obligation, on both databases: files are hashed into
/// the frozen content and cannot change afterwards (not through the use cases, not through raw
/// SQL), are readable by the institution and the regulator only, and follow a returned report
/// into its next version; a draft has no PDF; each reminder offset is written once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_pdf_reminders_and_self_evaluations() {
    on_both(|url| async move {
        let (store, svc) = open(&url).await;
        haechi_service::demo::seed(&svc).await.unwrap();
        let today = svc.today().to_string();
        let officer = actor(Role::RegulatorOfficer, None, "officer.probe");
        let obligations = svc.obligations(&officer, None).await.unwrap();
        let o = obligations
            .iter()
            .find(|o| {
                o.row.status == "open"
                    && o.row.kind == "quarterly_report"
                    && o.row.period_start.as_str() <= today.as_str()
            })
            .expect("an open quarterly obligation")
            .row
            .clone();
        let ciso = actor(Role::Ciso, Some(o.institution_id), "ciso.probe");
        let hanbit = ciso_of_hanbit(&svc).await;
        assert_ne!(hanbit.institution_id, Some(o.institution_id));
        let limits = svc.policy().reporting.attachments.clone();

        // No draft yet: nothing can be attached.
        let none = svc
            .add_report_attachment(&ciso, o.id, "a.pdf", "application/pdf", b"%PDF-1.4")
            .await
            .unwrap_err();
        assert_eq!(none.code(), "no_draft");
        svc.compile_report(&ciso, o.id).await.unwrap();
        assert_eq!(
            svc.report_pdf(&ciso, o.id, None).await.unwrap_err().code(),
            "not_submitted",
            "a draft has no PDF"
        );
        let pdf_bytes = b"%PDF-1.4 evidence of the AI test".to_vec();
        let a = svc
            .add_report_attachment(
                &ciso,
                o.id,
                "C:\\scans\\evidence.pdf",
                "application/pdf",
                &pdf_bytes,
            )
            .await
            .unwrap();
        assert_eq!(a.filename, "evidence.pdf");
        assert_eq!(a.size_bytes, pdf_bytes.len() as i64);
        assert_eq!(a.sha256, hex::encode(sha2::Sha256::digest(&pdf_bytes)));
        // Refused: a type outside the policy, a file over the limit, an empty file, another
        // institution's CISO; none of them stores anything.
        let html = svc
            .add_report_attachment(&ciso, o.id, "x.html", "text/html", b"<p>x</p>")
            .await
            .unwrap_err();
        assert_eq!(html.code(), "file_type_refused");
        let big = vec![b'x'; limits.max_bytes as usize + 1];
        assert!(matches!(
            svc.add_report_attachment(&ciso, o.id, "big.txt", "text/plain", &big)
                .await,
            Err(ServiceError::TooLarge(_))
        ));
        let empty = svc
            .add_report_attachment(&ciso, o.id, "e.txt", "text/plain", b"")
            .await
            .unwrap_err();
        assert_eq!(empty.field_errors()[0].field, "file");
        assert!(matches!(
            svc.add_report_attachment(&hanbit, o.id, "a.txt", "text/plain", b"x")
                .await,
            Err(ServiceError::NotFound)
        ));
        let report = svc.report(&ciso, o.id).await.unwrap();
        assert_eq!(report.latest().unwrap().attachments.len(), 1);
        // Readable by the institution and the regulator; another institution gets "not found".
        let (meta, data) = svc.report_attachment(&officer, a.id).await.unwrap();
        assert_eq!(
            (meta.sha256.as_str(), data),
            (a.sha256.as_str(), pdf_bytes.clone())
        );
        assert!(svc.report_attachment(&ciso, a.id).await.is_ok());
        assert!(matches!(
            svc.report_attachment(&hanbit, a.id).await,
            Err(ServiceError::NotFound)
        ));

        // Submit: the file's hash is part of the frozen content.
        let narrative = Narrative {
            risk_ko: "첫째 줄\n둘째 줄".into(),
            risk_en: "First line\nsecond line".into(),
            offensive_ko: "악용 위험".into(),
            defences_ko: "대응".into(),
            ..Narrative::default()
        };
        svc.write_report(&ciso, o.id, &narrative).await.unwrap();
        let hash = svc.submit_report(&ciso, o.id).await.unwrap();
        let v1 = svc.report(&ciso, o.id).await.unwrap();
        let latest = v1.latest().unwrap();
        let recomputed = haechi_service::reports::content_hash(
            &latest.row,
            &latest.figures,
            &latest.narrative,
            &latest.attachments,
        )
        .unwrap();
        assert_eq!(recomputed, hash);
        let without = haechi_service::reports::content_hash(
            &latest.row,
            &latest.figures,
            &latest.narrative,
            &[],
        )
        .unwrap();
        assert_ne!(without, hash, "the files are covered by the hash");
        let frozen = svc
            .add_report_attachment(&ciso, o.id, "late.txt", "text/plain", b"late")
            .await
            .unwrap_err();
        assert_eq!(frozen.code(), "report_frozen");
        assert_eq!(
            svc.remove_report_attachment(&ciso, a.id)
                .await
                .unwrap_err()
                .code(),
            "report_frozen"
        );
        for sql in [
            "DELETE FROM report_attachments WHERE id = $1",
            "UPDATE report_attachments SET sha256 = 'x' WHERE id = $1",
        ] {
            let raw = sqlx::query(sql).bind(a.id).execute(store.pool()).await;
            assert!(raw.is_err(), "the database refuses: {sql}");
        }

        // The PDF of the submitted version carries the content hash.
        assert!(matches!(
            svc.report_pdf(&hanbit, o.id, None).await,
            Err(ServiceError::NotFound)
        ));
        let (name, pdf) = svc.report_pdf(&officer, o.id, None).await.unwrap();
        assert!(name.ends_with("-v1.pdf"), "{name}");
        assert!(pdf.starts_with(b"%PDF-"));
        let needle = format!("/HaechiReportContentHash ({hash})");
        assert!(
            pdf.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "the PDF names the content hash"
        );

        // Returned with a comment on one section: the next version starts with the same files.
        let mut review = Review::default();
        review
            .sections
            .insert("risk".into(), "근거를 보완하십시오.".into());
        svc.decide_report(&officer, o.id, false, &review)
            .await
            .unwrap();
        svc.compile_report(&ciso, o.id).await.unwrap();
        let v2 = svc.report(&ciso, o.id).await.unwrap();
        assert_eq!(v2.versions.len(), 2);
        assert_eq!(v2.versions[0].attachments.len(), 1);
        assert_eq!(v2.versions[1].attachments.len(), 1);
        assert_eq!(v2.versions[1].attachments[0].sha256, a.sha256);
        assert_ne!(v2.versions[1].attachments[0].id, a.id);
        // A file of the new draft can go; the returned version's stays.
        svc.remove_report_attachment(&ciso, v2.versions[1].attachments[0].id)
            .await
            .unwrap();
        let v2 = svc.report(&ciso, o.id).await.unwrap();
        assert!(v2.versions[1].attachments.is_empty());
        assert_eq!(v2.versions[0].attachments.len(), 1);
        let hash2 = svc.submit_report(&ciso, o.id).await.unwrap();
        assert_ne!(hash2, hash);
        svc.decide_report(&officer, o.id, true, &Review::default())
            .await
            .unwrap();
        let (name, _) = svc.report_pdf(&ciso, o.id, Some(1)).await.unwrap();
        assert!(
            name.ends_with("-v1.pdf"),
            "an earlier version still has its PDF"
        );

        // Reminders: each offset once, only while the report is owed.
        let next = obligations
            .iter()
            .filter(|x| x.row.status == "open" && x.row.id != o.id)
            .max_by_key(|x| x.row.due_on.clone())
            .unwrap()
            .row
            .clone();
        let due = NaiveDate::parse_from_str(&next.due_on, "%Y-%m-%d").unwrap();
        let key = |d: u32| format!("report-due:{}:{d}", next.id);
        let count = |k: String| {
            let pool = store.pool().clone();
            async move {
                sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM notifications WHERE dedupe_key = $1",
                )
                .bind(k)
                .fetch_one(&pool)
                .await
                .unwrap()
            }
        };
        svc.set_clock((due - Days::new(31)).and_hms_opt(9, 0, 0));
        svc.run_report_reminders().await.unwrap();
        assert_eq!(count(key(30)).await, 0, "not yet");
        svc.set_clock((due - Days::new(30)).and_hms_opt(9, 0, 0));
        assert!(svc.run_report_reminders().await.unwrap() >= 1);
        assert_eq!(count(key(30)).await, 1);
        svc.set_clock((due - Days::new(29)).and_hms_opt(9, 0, 0));
        svc.run_report_reminders().await.unwrap();
        assert_eq!(count(key(30)).await, 1, "written once");
        svc.set_clock((due - Days::new(1)).and_hms_opt(9, 0, 0));
        svc.run_report_reminders().await.unwrap();
        assert_eq!(
            (count(key(7)).await, count(key(1)).await),
            (0, 1),
            "only the nearest offset when several came at once"
        );
        let n = haechi_store::list_notifications(store.pool(), Some(next.institution_id))
            .await
            .unwrap()
            .into_iter()
            .find(|n| n.kind == "report_due" && n.subject_ko.contains("1일 전"))
            .expect("the institution sees the reminder");
        assert!(n.subject_en.contains("1-day reminder"));
        svc.set_clock((due + Days::new(1)).and_hms_opt(9, 0, 0));
        assert_eq!(
            svc.run_report_reminders().await.unwrap(),
            0,
            "nothing after the due date"
        );
        svc.set_clock(None);

        // A self-evaluation of the whole register fulfils the SaaS obligation and links to it.
        let se = obligations
            .iter()
            .find(|x| x.row.kind == "saas_self_evaluation" && x.row.status == "open")
            .expect("an open self-evaluation obligation")
            .row
            .clone();
        let owner = actor(Role::Ciso, Some(se.institution_id), "ciso.se");
        let on = NaiveDate::parse_from_str(&se.period_start, "%Y-%m-%d").unwrap() + Days::new(1);
        svc.set_clock(on.and_hms_opt(10, 0, 0));
        let mk = |product: &str| haechi_store::SaasWrite {
            product: product.into(),
            vendor: "Probe Inc.".into(),
            certifications: vec![],
            data_classes: vec!["O".into()],
            users: "security team".into(),
            purpose: "log analysis".into(),
        };
        svc.create_saas(&owner, se.institution_id, &mk("Probe A"))
            .await
            .unwrap();
        svc.create_saas(&owner, se.institution_id, &mk("Probe B"))
            .await
            .unwrap();
        let register = svc.list_saas(&owner, se.institution_id).await.unwrap();
        let input = haechi_service::patching::SaasEvaluationInput {
            evaluated_on: on,
            result: "pass".into(),
            notes: None,
            reported_to_ciso_at: None,
        };
        let status = |id: i64| {
            let pool = store.pool().clone();
            async move {
                let o = haechi_store::list_obligations(&pool, None, None)
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|x| x.id == id)
                    .unwrap();
                (o.status, o.saas_evaluation_id, o.saas_id)
            }
        };
        let mut last = None;
        for (i, s) in register.iter().enumerate() {
            let view = svc
                .record_saas_evaluation(&owner, s.saas.id, &input)
                .await
                .unwrap();
            last = Some((s.saas.id, view.evaluations[0].id));
            if i + 1 < register.len() {
                assert_eq!(
                    status(se.id).await.0,
                    "open",
                    "not until the whole register is evaluated"
                );
            }
        }
        let (saas_id, evaluation_id) = last.unwrap();
        assert_eq!(
            status(se.id).await,
            ("fulfilled".to_string(), Some(evaluation_id), Some(saas_id))
        );
        let view = svc
            .obligations(&owner, Some(se.letter_id))
            .await
            .unwrap()
            .into_iter()
            .find(|x| x.row.id == se.id)
            .unwrap();
        assert!(!view.overdue);
        svc.set_clock(None);
        store.close().await;
    })
    .await;
}
