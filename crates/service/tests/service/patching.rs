//! Patch prioritisation and remediation (C13): feed imports (idempotent, all-or-nothing,
//! signed), advisories, the decision table on findings, recompute writing only what changed,
//! the queue, patch records, charts, the SaaS register, and tenant isolation.

use std::io::Write;
use std::path::PathBuf;

use chrono::{Days, NaiveDate, Utc};
use haechi_core::{Actor, InstitutionInput, Role, Sector, SizeClass};
use haechi_policy::{DataKind, NetworkZone};
use haechi_service::feeds::{AdvisoryInput, FeedFile, FeedKind};
use haechi_service::findings::{FindingsUpload, ResourceInput};
use haechi_service::patching::{PatchInput, SaasEvaluationInput};
use haechi_service::{Service, ServiceConfig, ServiceError};
use haechi_store::{SaasWrite, WorkPlan};

use crate::{on_both, open};

fn officer() -> Actor {
    Actor {
        user_id: 900,
        username: "officer".into(),
        role: Role::RegulatorOfficer,
        institution_id: None,
    }
}

pub(crate) fn ciso(institution_id: i64) -> Actor {
    Actor {
        user_id: 1000 + institution_id,
        username: format!("ciso{institution_id}"),
        role: Role::Ciso,
        institution_id: Some(institution_id),
    }
}

pub(crate) async fn institution(svc: &Service, code: &str) -> i64 {
    let day = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
    svc.create_institution(
        &Actor::system(),
        InstitutionInput {
            code: code.into(),
            name_ko: format!("{code} 은행"),
            name_en: format!("{code} Bank"),
            sector: Sector::Bank,
            total_assets_krw: 10_000_000_000_000,
            assets_as_of: day,
            full_time_employees: 1200,
            employees_as_of: day,
            dedicated_ciso: true,
            ciso_name: Some("Kim".into()),
            size_class: SizeClass::Large,
            contact_name: None,
            contact_email: None,
            contact_phone: None,
        },
    )
    .await
    .unwrap()
    .id
}

fn file(name: &str, bytes: Vec<u8>) -> Vec<FeedFile> {
    vec![FeedFile {
        name: name.into(),
        bytes,
    }]
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn epss(date: &str, rows: &[(&str, &str)]) -> Vec<u8> {
    let mut s = format!(
        "#model_version:v2025.03.14,score_date:{date}T00:00:00+0000\ncve,epss,percentile\n"
    );
    for (cve, e) in rows {
        s.push_str(&format!("{cve},{e},0.5\n"));
    }
    s.into_bytes()
}

fn kev(date: &str, cves: &[&str]) -> Vec<u8> {
    let vulns: Vec<serde_json::Value> = cves
        .iter()
        .map(|c| serde_json::json!({"cveID": c, "vendorProject": "Apache", "product": "Log4j2", "vulnerabilityName": "Log4Shell",
            "dateAdded": "2021-12-10", "shortDescription": "RCE", "requiredAction": "Patch", "dueDate": "2021-12-24",
            "knownRansomwareCampaignUse": "Known", "notes": "https://example.invalid"}))
        .collect();
    serde_json::to_vec(&serde_json::json!({"title": "KEV", "catalogVersion": date, "dateReleased": format!("{date}T12:00:00.000Z"), "count": cves.len(), "vulnerabilities": vulns})).unwrap()
}

fn cve_fixture() -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../formats/tests/fixtures/feeds/cve_adp_only.json"),
    )
    .unwrap()
}

async fn count(svc: &Service, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(svc.store().pool())
        .await
        .unwrap()
}

fn code(e: ServiceError) -> String {
    e.code().to_string()
}

async fn feeds_story(url: String) {
    let (_store, svc) = open(&url).await;
    let off = officer();

    // EPSS, gzip, scientific notation; the score date and model come from the header.
    let first = gz(&epss(
        "2026-03-14",
        &[
            ("CVE-2021-44228", "0.94358"),
            ("CVE-2023-0001", "1.2e-05"),
            ("CVE-2023-0002", "0.5"),
        ],
    ));
    let r = svc
        .import_feed(
            &off,
            FeedKind::Epss,
            file("epss.csv.gz", first.clone()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            r.rows,
            r.source_date.as_str(),
            r.model_version.as_deref(),
            r.unchanged
        ),
        (3, "2026-03-14", Some("v2025.03.14"), false)
    );
    let facts = svc.cve_facts(&off, "CVE-2023-0001").await.unwrap();
    assert_eq!(facts.epss.map(|e| e.0), Some(1.2e-05));

    // The same file again changes nothing, not even the audit log.
    let audit = count(&svc, "audit_log").await;
    let again = svc
        .import_feed(&off, FeedKind::Epss, file("epss.csv.gz", first), None)
        .await
        .unwrap();
    assert!(again.unchanged);
    assert_eq!(again.previous_import_id, r.import_id);
    assert_eq!(
        (
            count(&svc, "audit_log").await,
            count(&svc, "feed_imports").await
        ),
        (audit, 1)
    );

    // A bad row refuses the whole file, naming the line; the loaded scores stay.
    let bad = epss(
        "2026-03-15",
        &[("CVE-2021-44228", "0.5"), ("CVE-2023-0001", "abc")],
    );
    let e = svc
        .import_feed(&off, FeedKind::Epss, file("bad.csv", bad), None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("line 4"), "{e}");
    assert_eq!(code(e), "feed_invalid");
    assert_eq!(count(&svc, "feed_imports").await, 1);
    assert_eq!(
        svc.cve_facts(&off, "CVE-2021-44228")
            .await
            .unwrap()
            .epss
            .map(|e| e.0),
        Some(0.94358)
    );
    // A CVE listed twice is refused too.
    let dup = epss(
        "2026-03-15",
        &[("CVE-2021-44228", "0.5"), ("CVE-2021-44228", "0.6")],
    );
    assert_eq!(
        code(
            svc.import_feed(&off, FeedKind::Epss, file("dup.csv", dup), None)
                .await
                .unwrap_err()
        ),
        "feed_invalid"
    );

    // An older file is refused; a newer one replaces the table.
    let old = epss("2026-03-13", &[("CVE-2021-44228", "0.1")]);
    assert_eq!(
        code(
            svc.import_feed(&off, FeedKind::Epss, file("old.csv", old), None)
                .await
                .unwrap_err()
        ),
        "feed_older"
    );
    let newer = epss(
        "2026-03-15",
        &[("CVE-2021-44228", "0.9"), ("CVE-2024-0001", "0.2")],
    );
    svc.import_feed(&off, FeedKind::Epss, file("new.csv", newer), None)
        .await
        .unwrap();
    assert_eq!(count(&svc, "epss_scores").await, 2);
    assert!(svc.cve_facts(&off, "CVE-2023-0002").await.is_err());

    // KEV.
    let k = svc
        .import_feed(
            &off,
            FeedKind::Kev,
            file("kev.json", kev("2026-03-14", &["CVE-2021-44228"])),
            None,
        )
        .await
        .unwrap();
    assert_eq!((k.rows, k.source_date.as_str()), (1, "2026-03-14"));
    let f = svc.cve_facts(&off, "CVE-2021-44228").await.unwrap();
    assert_eq!(
        f.kev
            .as_ref()
            .map(|k| (k.date_added.as_str(), k.ransomware.as_str())),
        Some(("2021-12-10", "Known"))
    );

    // CVE JSON 5 with ADP-only metrics: rescored, and a wrong published score is flagged.
    let rec = String::from_utf8(cve_fixture())
        .unwrap()
        .replace("\"baseScore\": 7.5", "\"baseScore\": 9.1");
    let c = svc
        .import_feed(
            &off,
            FeedKind::Cve,
            file("CVE-2026-10002.json", rec.into_bytes()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (c.rows, c.score_disagreements, c.source_date.as_str()),
        (1, 1, "2026-09-15")
    );
    let rec = svc
        .cve_facts(&off, "CVE-2026-10002")
        .await
        .unwrap()
        .record
        .unwrap();
    let m = &rec.metrics[rec.preferred.unwrap()];
    assert_eq!(
        (
            m.source.as_str(),
            m.computed_score,
            m.published_score,
            m.score_disagrees
        ),
        ("adp:CISA-ADP", 7.5, Some(9.1), true)
    );
    assert_eq!((rec.cwes.clone(), m.automatable), (vec![22], Some(true)));

    // Signed feeds: a good signature is recorded; a file changed after signing is refused.
    let signed = kev("2026-03-16", &["CVE-2021-44228", "CVE-2023-0001"]);
    let sig = svc
        .sign_feed(&off, &file("kev.json", signed.clone()))
        .await
        .unwrap();
    let ok = svc
        .import_feed(
            &off,
            FeedKind::Kev,
            file("kev.json", signed.clone()),
            Some(&sig),
        )
        .await
        .unwrap();
    assert!(ok.signed_by_key.is_some());
    let mut tampered = kev("2026-03-17", &["CVE-2021-44228"]);
    tampered.push(b'\n');
    let imports = count(&svc, "feed_imports").await;
    let e = svc
        .import_feed(&off, FeedKind::Kev, file("kev.json", tampered), Some(&sig))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("signature check failed"), "{e}");
    assert_eq!(code(e), "feed_signature_invalid");
    let e = svc
        .import_feed(
            &off,
            FeedKind::Kev,
            file("kev.json", signed),
            Some(b"not a signature"),
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), "feed_signature_invalid");
    assert_eq!(count(&svc, "feed_imports").await, imports);

    // Only the regulator side imports; everyone reads the status.
    let inst = institution(&svc, "FEEDS").await;
    assert_eq!(
        code(
            svc.import_feed(
                &ciso(inst),
                FeedKind::Kev,
                file("k.json", kev("2026-03-20", &[])),
                None
            )
            .await
            .unwrap_err()
        ),
        "forbidden"
    );
    let st = svc.feed_status(&ciso(inst)).await.unwrap();
    assert_eq!((st.epss_rows, st.kev_rows, st.cve_records), (2, 2, 1));
    assert_eq!(st.epss.map(|e| e.source_date), Some("2026-03-15".into()));
}

#[tokio::test]
async fn feed_imports_are_idempotent_atomic_and_signed() {
    on_both(feeds_story).await;
}

/// A SARIF log whose results mention the given CVEs, one result each.
fn sarif(results: &[(&str, &str, &str)]) -> Vec<u8> {
    let results: Vec<serde_json::Value> = results
        .iter()
        .map(|(rule, path, cve)| {
            serde_json::json!({"ruleId": rule, "level": "error", "message": {"text": format!("Vulnerable dependency {cve}")},
                "properties": {"security-severity": "7.5"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": path}, "region": {"startLine": 1}}}],
                "partialFingerprints": {"primaryLocationLineHash": format!("{rule}-{path}")}})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "depscan", "version": "1.0", "rules": []}}, "results": results}]})).unwrap()
}

pub(crate) async fn resource(
    svc: &Service,
    who: &Actor,
    inst: i64,
    name: &str,
    zone: NetworkZone,
) -> i64 {
    svc.create_resource(
        who,
        inst,
        ResourceInput {
            name: name.into(),
            kind: "server".into(),
            business_function: "internet banking".into(),
            data_kinds: vec![DataKind::CustomerPersonal],
            network_zone: zone,
            processes_electronic_transactions: false,
            dr_tier: None,
            owner: None,
        },
    )
    .await
    .unwrap()
    .id
}

pub(crate) async fn import(svc: &Service, who: &Actor, inst: i64, res: i64, log: Vec<u8>) {
    let up = FindingsUpload {
        institution_id: inst,
        resource_id: Some(res),
        close_missing: false,
        file_name: Some("deps.sarif".into()),
        ai_model: None,
        ai_model_version: None,
        ..Default::default()
    };
    svc.import_findings(who, &up, std::io::Cursor::new(log))
        .await
        .unwrap();
}

/// (id, priority, row) of the findings of an institution, by CVE.
async fn priorities(svc: &Service, inst: i64) -> Vec<(String, i64, String, String)> {
    let rows = sqlx::query_as::<_, (String, i64, Option<String>, Option<String>)>(
        "SELECT f.cves, f.id, p.priority, d.priority_row FROM findings f JOIN finding_priorities p ON p.finding_id = f.id LEFT JOIN priority_decisions d ON d.policy_version = p.policy_version AND d.decision = p.decision WHERE f.institution_id = $1 ORDER BY f.cves",
    )
    .bind(inst)
    .fetch_all(svc.store().pool())
    .await
    .unwrap();
    rows.into_iter()
        .map(|(c, id, p, r)| {
            (
                c.trim_matches(',').to_string(),
                id,
                p.unwrap_or_default(),
                r.unwrap_or_default(),
            )
        })
        .collect()
}

async fn priority_story(url: String) {
    let (_store, svc) = open(&url).await;
    let off = officer();
    let a = institution(&svc, "AAA").await;
    let b = institution(&svc, "BBB").await;
    let (ca, cb) = (ciso(a), ciso(b));
    let web = resource(&svc, &ca, a, "web", NetworkZone::Internet).await;
    let core = resource(&svc, &ca, a, "core", NetworkZone::Internal).await;
    import(
        &svc,
        &ca,
        a,
        web,
        sarif(&[
            ("dep1", "pom.xml", "CVE-2021-44228"),
            ("dep2", "pom.xml", "CVE-2023-0001"),
            ("dep3", "pom.xml", "CVE-2023-0002"),
        ]),
    )
    .await;
    import(
        &svc,
        &ca,
        a,
        core,
        sarif(&[("dep1", "lib.jar", "CVE-2021-44228")]),
    )
    .await;
    let b_res = resource(&svc, &cb, b, "b-web", NetworkZone::Internet).await;
    import(
        &svc,
        &cb,
        b,
        b_res,
        sarif(&[("dep9", "x.jar", "CVE-2023-0002")]),
    )
    .await;

    // Imported findings are prioritised at once: no feed yet, SARIF high severity, exposed.
    let before = priorities(&svc, a).await;
    assert!(before.iter().all(|(_, _, p, _)| p == "P4"), "{before:?}");

    svc.import_feed(
        &off,
        FeedKind::Kev,
        file("kev.json", kev("2026-03-14", &["CVE-2021-44228"])),
        None,
    )
    .await
    .unwrap();
    svc.import_feed(
        &off,
        FeedKind::Epss,
        file(
            "e.csv",
            epss(
                "2026-03-14",
                &[("CVE-2023-0001", "0.5"), ("CVE-2023-0002", "0.0999")],
            ),
        ),
        None,
    )
    .await
    .unwrap();
    let p = priorities(&svc, a).await;
    let row = |cve: &str, res_first: bool| -> (i64, String, String) {
        let mut it = p.iter().filter(|(c, ..)| c == cve);
        let x = if res_first { it.next() } else { it.next_back() }.unwrap();
        (x.1, x.2.clone(), x.3.clone())
    };
    let (log4j_web, prio, r) = row("CVE-2021-44228", false);
    let ids: Vec<i64> = p
        .iter()
        .filter(|(c, ..)| c == "CVE-2021-44228")
        .map(|x| x.1)
        .collect();
    // KEV on the internet-facing resource: P1; on the internal one: P2 (class from the policy).
    let decided: Vec<(String, String)> = ids
        .iter()
        .map(|id| {
            p.iter()
                .find(|x| x.1 == *id)
                .map(|x| (x.2.clone(), x.3.clone()))
                .unwrap()
        })
        .collect();
    assert!(
        decided.contains(&("P1".into(), "p1-kev-exposed".into())),
        "{decided:?}"
    );
    let _ = (log4j_web, prio, r);
    assert_eq!(
        row("CVE-2023-0001", true).1,
        "P3",
        "EPSS 0.5 ≥ 0.1, severe, no CVSS automatable"
    );
    assert_eq!(
        row("CVE-2023-0002", true).1,
        "P4",
        "EPSS 0.0999 is below the threshold"
    );

    // The explanation names every input with its source and date.
    let web_log4j = ids
        .iter()
        .copied()
        .find(|id| {
            let x = p.iter().find(|x| x.1 == *id).unwrap();
            x.3 == "p1-kev-exposed"
        })
        .unwrap();
    let why = svc.finding_priority(&ca, web_log4j).await.unwrap();
    assert_eq!(
        why.stored.inputs.as_ref().unwrap()["exploitation"],
        "active"
    );
    let inputs = why.evidence.clone();
    assert_eq!(inputs["exploitation"]["source"], "KEV");
    assert_eq!(inputs["exploitation"]["date"], "2021-12-10");
    assert_eq!(inputs["exposure"]["network_zone"], "internet");
    assert_eq!(inputs["severity"]["source"], "SARIF");
    assert_eq!(why.stored.row.as_deref(), Some("p1-kev-exposed"));
    let created = NaiveDate::parse_from_str(&why.stored.created_at[..10], "%Y-%m-%d").unwrap();
    assert_eq!(
        why.stored.due_date.as_deref(),
        Some(
            created
                .checked_add_days(Days::new(3))
                .unwrap()
                .to_string()
                .as_str()
        )
    );
    let epss_one = p.iter().find(|x| x.0 == "CVE-2023-0001").unwrap().1;
    let why = svc.finding_priority(&ca, epss_one).await.unwrap().evidence;
    assert_eq!(
        (
            why["exploitation"]["source"].as_str(),
            why["exploitation"]["model_version"].as_str(),
            why["exploitation"]["date"].as_str()
        ),
        (Some("EPSS"), Some("v2025.03.14"), Some("2026-03-14"))
    );

    // Nothing changed: a recompute writes no row and no audit entry.
    let audit = count(&svc, "audit_log").await;
    let idle = svc.recompute_priorities(&off, None).await.unwrap();
    assert_eq!((idle.rows_written, idle.findings_read), (0, 5));
    assert_eq!(count(&svc, "audit_log").await, audit);

    // An advisory makes its CVE P1 everywhere, and only those findings are written.
    let adv = svc
        .publish_advisory(
            &off,
            &AdvisoryInput {
                title_ko: "긴급 패치".into(),
                title_en: "Emergency patch".into(),
                published_on: Utc::now().date_naive(),
                cves: vec!["cve-2023-0002".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        adv.recompute
            .as_ref()
            .map(|r| (r.findings_read, r.rows_written)),
        Some((2, 2))
    );
    assert_eq!(
        row_of(&svc, a, "CVE-2023-0002").await,
        ("P1".into(), "p1-authority".into())
    );
    assert_eq!(row_of(&svc, b, "CVE-2023-0002").await.0, "P1");
    assert_eq!(
        code(
            svc.publish_advisory(
                &ca,
                &AdvisoryInput {
                    title_ko: "x".into(),
                    title_en: "x".into(),
                    published_on: Utc::now().date_naive(),
                    cves: vec!["CVE-2023-0002".into()]
                }
            )
            .await
            .unwrap_err()
        ),
        "forbidden"
    );
    let w = svc
        .withdraw_advisory(&off, adv.advisory.id, "superseded")
        .await
        .unwrap();
    assert_eq!(w.advisory.state, "withdrawn");
    assert_eq!(row_of(&svc, a, "CVE-2023-0002").await.0, "P4");

    // The queue: by priority then due date; SLA breaches flagged once the due date passed.
    let q = svc.patch_queue(&ca, a, None, 2).await.unwrap();
    assert_eq!(q.items.len(), 2);
    assert_eq!(q.items[0].item.priority, "P1");
    assert!(!q.items[0].sla_breached);
    let rest = svc.patch_queue(&ca, a, q.next.as_ref(), 10).await.unwrap();
    let order: Vec<String> = q
        .items
        .iter()
        .chain(rest.items.iter())
        .map(|i| i.item.priority.clone())
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!((order.len(), order.clone()), (4, sorted));
    assert!(rest.next.is_none());
    svc.set_clock(Some((Utc::now() + chrono::Duration::days(10)).naive_utc()));
    let late = svc.patch_queue(&ca, a, None, 10).await.unwrap();
    assert!(late
        .items
        .iter()
        .any(|i| i.item.priority == "P1" && i.sla_breached && i.days_left < 0));
    assert!(late
        .items
        .iter()
        .any(|i| i.item.priority == "P4" && !i.sla_breached));
    svc.set_clock(None);

    // Assignment, within the institution only.
    assert_eq!(
        code(
            svc.assign_findings(&ca, a, &[web_log4j], Some(cb.user_id))
                .await
                .unwrap_err()
        ),
        "invalid_input"
    );
    assert_eq!(
        svc.assign_findings(&ca, a, &[web_log4j], None)
            .await
            .unwrap(),
        1
    );

    // A patch record fixes its findings; the queue, burn-down and SLA chart follow.
    let today = Utc::now().date_naive();
    let done = svc
        .record_patch(
            &ca,
            &PatchInput {
                institution_id: a,
                resource_id: Some(web),
                applied: "log4j-core 2.17.1".into(),
                applied_at: (Utc::now().naive_utc() - chrono::Duration::minutes(5)).into(),
                applied_by: "ops team".into(),
                work_plan: WorkPlan {
                    pre_testing_done: true,
                    rollback_ready: true,
                    kill_switch_ready: false,
                    isolation_ready: true,
                    continuity_plan: true,
                    customers_notified_in_advance: false,
                },
                notes: None,
                finding_ids: vec![web_log4j],
            },
        )
        .await
        .unwrap();
    assert_eq!(done.findings_fixed, 1);
    assert!(done.patch.work_plan.pre_testing_done);
    let status: String = sqlx::query_scalar("SELECT status FROM findings WHERE id = $1")
        .bind(web_log4j)
        .fetch_one(svc.store().pool())
        .await
        .unwrap();
    assert_eq!(status, "fixed");
    assert!(svc
        .patch_queue(&ca, a, None, 10)
        .await
        .unwrap()
        .items
        .iter()
        .all(|i| i.item.id != web_log4j));
    // Fixing it again is refused (it is no longer open).
    let again = PatchInput {
        finding_ids: vec![web_log4j],
        ..done_input(a, web)
    };
    assert_eq!(
        code(svc.record_patch(&ca, &again).await.unwrap_err()),
        "finding_not_open"
    );
    let sla = svc.sla_compliance(&ca, a).await.unwrap();
    let p1 = sla.iter().find(|s| s.priority == "P1").unwrap();
    assert_eq!((p1.fixed_within_sla, p1.fixed_late), (1, 0));
    let burn = svc
        .burn_down(&ca, a, today - Days::new(1), today)
        .await
        .unwrap();
    assert_eq!(burn.len(), 2);
    let open_today: i64 = burn[1].open.values().sum();
    assert_eq!((burn[0].open.values().sum::<i64>(), open_today), (0, 3));
    assert_eq!(svc.patch_records(&ca, a).await.unwrap().len(), 1);

    // Tenant isolation: another institution's records answer "not found".
    assert_eq!(
        code(svc.patch_queue(&cb, a, None, 10).await.unwrap_err()),
        "not_found"
    );
    assert_eq!(
        code(svc.finding_priority(&cb, epss_one).await.unwrap_err()),
        "not_found"
    );
    assert_eq!(
        code(svc.patch_record(&cb, done.patch.id).await.unwrap_err()),
        "not_found"
    );
    assert_eq!(
        code(
            svc.assign_findings(&cb, b, &[epss_one], None)
                .await
                .unwrap_err()
        ),
        "not_found"
    );
    let steal = PatchInput {
        institution_id: b,
        resource_id: None,
        finding_ids: vec![epss_one],
        ..done_input(b, b_res)
    };
    assert_eq!(
        code(svc.record_patch(&cb, &steal).await.unwrap_err()),
        "not_found"
    );
    assert_eq!(
        code(svc.burn_down(&cb, a, today, today).await.unwrap_err()),
        "not_found"
    );
}

fn done_input(inst: i64, res: i64) -> PatchInput {
    PatchInput {
        institution_id: inst,
        resource_id: Some(res),
        applied: "patch".into(),
        applied_at: (Utc::now().naive_utc() - chrono::Duration::minutes(1)).into(),
        applied_by: "ops".into(),
        work_plan: WorkPlan::default(),
        notes: None,
        finding_ids: vec![],
    }
}

async fn row_of(svc: &Service, inst: i64, cve: &str) -> (String, String) {
    let p = priorities(svc, inst).await;
    let x = p.iter().find(|x| x.0 == cve).unwrap();
    (x.2.clone(), x.3.clone())
}

#[tokio::test]
async fn findings_are_prioritised_queued_and_patched() {
    on_both(priority_story).await;
}

/// An import decides its new findings in its own transaction: when it returns, each has the
/// decision a full recompute would make (same digest, so the recompute writes nothing), the
/// evidence of its CVE set is stored, and the import's audit entry counts them by priority.
async fn decided_in_import_story(url: String) {
    let (_store, svc) = open(&url).await;
    svc.import_feed(
        &officer(),
        FeedKind::Kev,
        file("kev.json", kev("2026-03-14", &["CVE-2021-44228"])),
        None,
    )
    .await
    .unwrap();
    let a = institution(&svc, "DIN").await;
    let ca = ciso(a);
    let web = resource(&svc, &ca, a, "web", NetworkZone::Internet).await;
    import(
        &svc,
        &ca,
        a,
        web,
        sarif(&[
            ("log4j", "pom.xml", "CVE-2021-44228"),
            ("dep2", "lib/a.jar", "CVE-2023-0202"),
        ]),
    )
    .await;
    let undecided: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM finding_priorities WHERE institution_id = $1 AND (digest IS NULL OR priority IS NULL OR decision IS NULL OR due_date IS NULL OR policy_version IS NULL OR decided_at IS NULL)",
    )
    .bind(a)
    .fetch_one(svc.store().pool())
    .await
    .unwrap();
    assert_eq!(undecided, 0);
    let decided = priorities(&svc, a).await;
    assert_eq!(
        decided
            .iter()
            .map(|(c, _, p, r)| (c.as_str(), p.as_str(), r.as_str()))
            .collect::<Vec<_>>(),
        vec![
            ("CVE-2021-44228", "P1", "p1-kev-exposed"),
            ("CVE-2023-0202", "P4", "p4-severe"),
        ]
    );
    let r = svc.recompute_priorities(&ca, Some(a)).await.unwrap();
    assert_eq!((r.findings_read, r.rows_written), (2, 0));
    assert_eq!(priorities(&svc, a).await, decided);
    for set in [",CVE-2021-44228,", ",CVE-2023-0202,"] {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM priority_evidence WHERE cve_set_key = $1")
                .bind(haechi_service::priority::cve_set_key(set))
                .fetch_one(svc.store().pool())
                .await
                .unwrap();
        assert_eq!(n, 1, "evidence of {set}");
    }
    let after: String = sqlx::query_scalar(
        "SELECT after_json FROM audit_log WHERE action = 'findings.import' AND institution_id = $1",
    )
    .bind(a)
    .fetch_one(svc.store().pool())
    .await
    .unwrap();
    let after: serde_json::Value = serde_json::from_str(&after).unwrap();
    assert_eq!(
        after["new_findings_by_priority"],
        serde_json::json!({"P1": 1, "P4": 1})
    );
}

#[tokio::test]
async fn imports_decide_their_new_findings() {
    on_both(decided_in_import_story).await;
}

/// A decision whose inputs change under it (here the finding's severity, as a changed re-import
/// would write) is marked stale by the trigger on `findings`, keeps its old priority in the
/// queue meanwhile, and is decided again: on start, or by the next recompute.
async fn stale_story(url: String) {
    let (store, svc) = open(&url).await;
    let a = institution(&svc, "STL").await;
    let ca = ciso(a);
    let web = resource(&svc, &ca, a, "web", NetworkZone::Internet).await;
    import(
        &svc,
        &ca,
        a,
        web,
        sarif(&[("dep1", "pom.xml", "CVE-2023-0101")]),
    )
    .await;
    assert_eq!(row_of(&svc, a, "CVE-2023-0101").await.0, "P4");
    let id = priorities(&svc, a).await[0].1;
    let digest = |svc: &Service| {
        let pool = svc.store().pool().clone();
        async move {
            sqlx::query_as::<_, (Option<i64>, String)>(
                "SELECT digest, severity FROM finding_priorities WHERE finding_id = $1",
            )
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert!(digest(&svc).await.0.is_some());

    sqlx::query("UPDATE findings SET severity = 'low' WHERE id = $1")
        .bind(id)
        .execute(store.pool())
        .await
        .unwrap();
    let (d, severity) = digest(&svc).await;
    assert_eq!((d, severity.as_str()), (None, "low"));
    assert_eq!(row_of(&svc, a, "CVE-2023-0101").await.0, "P4");

    // A restart decides what was left pending.
    let again = Service::open(store.clone(), ServiceConfig::default())
        .await
        .unwrap();
    assert!(digest(&again).await.0.is_some());
    let (p, row) = row_of(&again, a, "CVE-2023-0101").await;
    assert_ne!(
        p, "P4",
        "a low-severity finding is decided lower (row {row})"
    );

    // Closing keeps the decision; reopening marks it stale again.
    sqlx::query("UPDATE findings SET status = 'fixed' WHERE id = $1")
        .bind(id)
        .execute(store.pool())
        .await
        .unwrap();
    assert!(digest(&again).await.0.is_some());
    sqlx::query("UPDATE findings SET status = 'open' WHERE id = $1")
        .bind(id)
        .execute(store.pool())
        .await
        .unwrap();
    assert!(digest(&again).await.0.is_none());
}

#[tokio::test]
async fn stale_decisions_are_decided_again() {
    on_both(stale_story).await;
}

async fn saas_story(url: String) {
    let (_store, svc) = open(&url).await;
    let a = institution(&svc, "SAA").await;
    let b = institution(&svc, "SAB").await;
    let (ca, cb) = (ciso(a), ciso(b));
    let w = SaasWrite {
        product: "CloudWAF".into(),
        vendor: "Example Security".into(),
        certifications: vec!["CSAP".into(), "ISO 27001".into()],
        data_classes: vec!["logs".into()],
        users: "SOC (12)".into(),
        purpose: "web application firewall".into(),
    };
    let s = svc.create_saas(&ca, a, &w).await.unwrap();
    assert_eq!(s.saas.certifications.len(), 2);
    assert!(s.evaluations.is_empty());
    let due = s.next_evaluation_due.unwrap();
    assert_eq!(
        due,
        Utc::now()
            .date_naive()
            .checked_add_months(chrono::Months::new(6))
            .unwrap()
    );
    assert_eq!(
        code(svc.create_saas(&ca, a, &w).await.unwrap_err()),
        "conflict"
    );
    let bad = SaasWrite {
        product: " ".into(),
        ..w.clone()
    };
    assert_eq!(
        code(svc.create_saas(&ca, a, &bad).await.unwrap_err()),
        "invalid_input"
    );

    let today = Utc::now().date_naive();
    let e = svc
        .record_saas_evaluation(
            &ca,
            s.saas.id,
            &SaasEvaluationInput {
                evaluated_on: today,
                result: "partial".into(),
                notes: Some("MFA pending".into()),
                reported_to_ciso_at: Some(Utc::now().naive_utc()),
            },
        )
        .await
        .unwrap();
    assert_eq!(e.evaluations.len(), 1);
    assert_eq!(e.evaluations[0].result, "partial");
    assert!(e.evaluations[0].reported_to_ciso_at.is_some());
    let bad_eval = SaasEvaluationInput {
        evaluated_on: today,
        result: "ok".into(),
        notes: None,
        reported_to_ciso_at: None,
    };
    assert_eq!(
        code(
            svc.record_saas_evaluation(&ca, s.saas.id, &bad_eval)
                .await
                .unwrap_err()
        ),
        "invalid_input"
    );

    let upd = svc
        .update_saas(
            &ca,
            s.saas.id,
            &SaasWrite {
                users: "SOC (15)".into(),
                ..w.clone()
            },
        )
        .await
        .unwrap();
    assert_eq!(upd.saas.users, "SOC (15)");
    assert_eq!(svc.list_saas(&ca, a).await.unwrap().len(), 1);

    // Another institution neither sees nor changes it; an auditor reads it.
    assert_eq!(
        code(svc.get_saas(&cb, s.saas.id).await.unwrap_err()),
        "not_found"
    );
    assert_eq!(
        code(svc.update_saas(&cb, s.saas.id, &w).await.unwrap_err()),
        "not_found"
    );
    assert_eq!(code(svc.list_saas(&cb, a).await.unwrap_err()), "not_found");
    let auditor = Actor {
        user_id: 5,
        username: "aud".into(),
        role: Role::Auditor,
        institution_id: None,
    };
    assert_eq!(svc.list_saas(&auditor, a).await.unwrap().len(), 1);
    assert_eq!(
        code(svc.delete_saas(&auditor, s.saas.id).await.unwrap_err()),
        "forbidden"
    );
    svc.delete_saas(&ca, s.saas.id).await.unwrap();
    assert!(svc.list_saas(&ca, a).await.unwrap().is_empty());
    let _ = b;
}

#[tokio::test]
async fn saas_register_and_self_evaluations() {
    on_both(saas_story).await;
}

/// A code-scanning log of the same shell injection (CWE-78, level error) at `path`, as an AI
/// tool reports it: `confirmed` adds its exploit confirmation; plus a low-severity note.
pub(crate) fn code_log(tool: &str, ai_model: Option<&str>, confirmed: bool) -> Vec<u8> {
    let mut cmd = serde_json::json!({"ruleId": "B605", "level": "error",
        "message": {"text": "Starting a process with a shell: possible injection"},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "gateway/run.py"}, "region": {"startLine": 42}}}]});
    if confirmed {
        cmd["properties"] = serde_json::json!({"exploitConfirmed": true, "confidence": 0.4});
    } else {
        // A tool's confidence is not exploit evidence.
        cmd["properties"] = serde_json::json!({"confidence": 0.99});
    }
    let note = serde_json::json!({"ruleId": "B110", "level": "note",
        "message": {"text": "Try, Except, Pass detected."},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": "gateway/util.py"}, "region": {"startLine": 7}}}]});
    let mut run = serde_json::json!({"tool": {"driver": {"name": tool, "rules": [
            {"id": "B605", "properties": {"tags": ["security", "external/cwe/cwe-78"]}},
            {"id": "B110", "properties": {"tags": ["security", "external/cwe/cwe-703"]}}]}},
        "results": [cmd, note]});
    if let Some(m) = ai_model {
        run["properties"] = serde_json::json!({"ai.model": m, "ai.modelVersion": "2026-09", "ai/origin": "ai-generated"});
    }
    serde_json::to_vec(&serde_json::json!({"version": "2.1.0", "runs": [run]})).unwrap()
}

/// (priority, deciding row, ai_origin, exploit evidence) per location of a resource's findings.
async fn code_priorities(
    svc: &Service,
    res: i64,
) -> Vec<(String, String, String, String, Option<String>)> {
    sqlx::query_as::<_, (String, Option<String>, Option<String>, String, Option<String>)>(
        "SELECT f.location, p.priority, d.priority_row, f.ai_origin, f.exploit_evidence FROM findings f JOIN finding_priorities p ON p.finding_id = f.id \
         LEFT JOIN priority_decisions d ON d.policy_version = p.policy_version AND d.decision = p.decision WHERE f.resource_id = $1 ORDER BY f.location",
    )
    .bind(res)
    .fetch_all(svc.store().pool())
    .await
    .unwrap()
    .into_iter()
    .map(|(l, p, r, o, e)| (l, p.unwrap_or_default(), r.unwrap_or_default(), o, e))
    .collect()
}

/// Issue 13: a finding with no CVE is judged on what it is. A shell injection (CWE-78) on a
/// DMZ gateway is P2 within a week, P1 once the AI tool confirmed a working exploit; the same
/// on an internal class-S resource P3, P2 when confirmed; a low-severity note stays P5. The
/// import decides as a recompute would, each finding keeps its AI provenance, and the
/// explanation names the CWE, the list it comes from and the property that confirmed.
async fn ai_found_story(url: String) {
    let (_store, svc) = open(&url).await;
    let a = institution(&svc, "AIF").await;
    let ca = ciso(a);
    let dmz = resource(&svc, &ca, a, "partner-api-gateway", NetworkZone::Dmz).await;
    let dmz_ai = resource(&svc, &ca, a, "partner-api-gateway-2", NetworkZone::Dmz).await;
    let internal = resource(&svc, &ca, a, "batch-runner", NetworkZone::Internal).await;
    let internal_ai = resource(&svc, &ca, a, "batch-runner-2", NetworkZone::Internal).await;
    import(&svc, &ca, a, dmz, code_log("Bandit", None, false)).await;
    import(
        &svc,
        &ca,
        a,
        dmz_ai,
        code_log("DeepProbe", Some("sentinel-coder"), true),
    )
    .await;
    import(&svc, &ca, a, internal, code_log("Bandit", None, false)).await;
    import(
        &svc,
        &ca,
        a,
        internal_ai,
        code_log("DeepProbe", Some("sentinel-coder"), true),
    )
    .await;
    let row = |p: &str, r: &str, o: &str, e: Option<&str>| {
        (
            String::new(),
            p.to_string(),
            r.to_string(),
            o.to_string(),
            e.map(str::to_string),
        )
    };
    let strip = |v: Vec<(String, String, String, String, Option<String>)>| {
        v.into_iter()
            .map(|(_, p, r, o, e)| (String::new(), p, r, o, e))
            .collect::<Vec<_>>()
    };
    let ev = Some("exploitConfirmed=true");
    let expected = [
        (
            dmz,
            vec![
                row("P2", "p2-direct-exposed", "conventional", None),
                row("P5", "p5-catch-all", "conventional", None),
            ],
        ),
        (
            dmz_ai,
            vec![
                row("P1", "p1-direct-exploit-exposed", "ai_generated", ev),
                row("P5", "p5-catch-all", "ai_generated", None),
            ],
        ),
        (
            internal,
            vec![
                row("P3", "p3-direct-severe", "conventional", None),
                row("P5", "p5-catch-all", "conventional", None),
            ],
        ),
        (
            internal_ai,
            vec![
                row("P2", "p2-direct-exploit", "ai_generated", ev),
                row("P5", "p5-catch-all", "ai_generated", None),
            ],
        ),
    ];
    for (res, want) in &expected {
        assert_eq!(
            strip(code_priorities(&svc, *res).await),
            *want,
            "resource {res}"
        );
    }
    // The import decided what a recompute decides: nothing to write.
    let r = svc.recompute_priorities(&ca, Some(a)).await.unwrap();
    assert_eq!((r.findings_read, r.rows_written), (8, 0));

    // The explanation of the confirmed DMZ finding.
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM findings WHERE resource_id = $1 AND rule_id = 'B605'")
            .bind(dmz_ai)
            .fetch_one(svc.store().pool())
            .await
            .unwrap();
    let x = svc.finding_priority(&ca, id).await.unwrap();
    let w = &x.evidence["weakness"];
    assert_eq!(w["value"], "direct", "{w}");
    assert_eq!(w["cwes"], serde_json::json!([78]));
    assert_eq!(w["cwe"], 78);
    assert!(
        w["source"].as_str().is_some_and(|s| s.contains("CWE")),
        "{w}"
    );
    assert!(w["label_ko"].as_str().is_some_and(|s| !s.is_empty()));
    let e = &x.evidence["exploitation"];
    assert_eq!(
        (e["value"].as_str(), e["source"].as_str()),
        (Some("poc"), Some("tool")),
        "{e}"
    );
    assert_eq!(e["property"], "exploitConfirmed");
    assert_eq!(e["ai_model"], "sentinel-coder");
    assert_eq!(x.evidence["automatable"]["source"], "weakness");
    assert_eq!(x.stored.row.as_deref(), Some("p1-direct-exploit-exposed"));
    assert_eq!(x.stored.ai_model_version.as_deref(), Some("2026-09"));
}

#[tokio::test]
async fn ai_found_code_findings_are_prioritised_on_what_they_are() {
    on_both(ai_found_story).await;
}
