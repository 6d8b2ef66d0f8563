//! Findings intake (C11, C12) through the use cases, on both databases: resources and their
//! classification, CSV errors, SARIF imports with deduplication, close-missing, all-or-nothing
//! failures that name the place, provenance, the finding lifecycle with risk-acceptance expiry,
//! and tenant isolation.

use std::path::PathBuf;

use chrono::NaiveDate;
use haechi_core::{Actor, InstitutionInput, Role, Sector, SizeClass};
use haechi_policy::{DataKind, NetworkZone};
use haechi_service::findings::{
    parse_resource_map, FindingTransition, FindingsUpload, ResourceInput, ResourceMapping,
};
use haechi_service::{Service, ServiceError};
use haechi_store::{FindingCursor, FindingFilter, FindingOrder, FindingTotal};
use sqlx::Row;

use crate::{on_both, open};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../formats/tests/fixtures")
        .join(rel)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn institution(svc: &Service, code: &str) -> i64 {
    let input = InstitutionInput {
        code: code.into(),
        name_ko: format!("{code} 은행"),
        name_en: format!("{code} Bank"),
        sector: Sector::Bank,
        total_assets_krw: 10_000_000_000_000,
        assets_as_of: day(2026, 6, 30),
        full_time_employees: 800,
        employees_as_of: day(2026, 6, 30),
        dedicated_ciso: true,
        ciso_name: Some("Kim CISO".into()),
        size_class: SizeClass::Large,
        contact_name: None,
        contact_email: None,
        contact_phone: None,
    };
    svc.create_institution(&Actor::system(), input)
        .await
        .unwrap()
        .id
}

fn actor(role: Role, institution_id: Option<i64>, name: &str) -> Actor {
    Actor {
        user_id: 1000 + institution_id.unwrap_or(0),
        username: name.into(),
        role,
        institution_id,
    }
}

/// A SARIF log of one tool: each result is (rule, path, line, message); identity comes from a
/// partial fingerprint of rule, path and line, so changing the message keeps the finding.
fn sarif(tool: &str, results: &[(&str, &str, u32, &str)]) -> Vec<u8> {
    let mut rules: Vec<&str> = results.iter().map(|r| r.0).collect();
    rules.sort();
    rules.dedup();
    let rules: Vec<serde_json::Value> = rules
        .iter()
        .enumerate()
        .map(|(i, id)| {
            serde_json::json!({"id": id, "defaultConfiguration": {"level": "error"},
                "properties": {"tags": ["security", format!("external/cwe/cwe-{}", 79 + i)], "security-severity": "7.5"}})
        })
        .collect();
    let results: Vec<serde_json::Value> = results
        .iter()
        .map(|(rule, path, line, msg)| {
            serde_json::json!({"ruleId": rule, "message": {"text": msg},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": path}, "region": {"startLine": line, "snippet": {"text": "x = y"}}}}],
                "partialFingerprints": {"primaryLocationLineHash": format!("lh-{rule}-{path}-{line}")}})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": tool, "version": "1.0", "rules": rules}}, "results": results}]})).unwrap()
}

fn upload(institution_id: i64, resource_id: Option<i64>, close_missing: bool) -> FindingsUpload {
    FindingsUpload {
        institution_id,
        resource_id,
        close_missing,
        file_name: Some("scan.sarif".into()),
        ai_model: None,
        ai_model_version: None,
        resource_map: Vec::new(),
    }
}

/// What an import might have written: finding rows and their newest/oldest change, sighting
/// rows, and the number of audit entries.
async fn snapshot(svc: &Service) -> (i64, String, String, i64, i64) {
    let pool = svc.store().pool();
    let r = sqlx::query("SELECT COUNT(*) AS n, COALESCE(MAX(updated_at), '') AS hi, COALESCE(MIN(updated_at), '') AS lo FROM findings").fetch_one(pool).await.unwrap();
    let sightings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM finding_sightings")
        .fetch_one(pool)
        .await
        .unwrap();
    let audit: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(pool)
        .await
        .unwrap();
    (
        r.try_get("n").unwrap(),
        r.try_get("hi").unwrap(),
        r.try_get("lo").unwrap(),
        sightings,
        audit,
    )
}

async fn all_findings(svc: &Service, who: &Actor) -> Vec<haechi_store::FindingRow> {
    svc.list_findings(
        who,
        &FindingFilter {
            limit: 1000,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .0
}

async fn resources_story(url: String) {
    let (_store, svc) = open(&url).await;
    let a = institution(&svc, "RA").await;
    let ciso = actor(Role::Ciso, Some(a), "ciso.ra");

    // Classification: each resource shows the rule that decided its class.
    for (input, class, rule) in [
        (
            (
                "ledger",
                "server",
                "core_ledger",
                vec![DataKind::CustomerPersonal],
                true,
            ),
            "C",
            "c-electronic-transactions",
        ),
        (
            (
                "crm",
                "application",
                "marketing",
                vec![DataKind::CustomerPersonal],
                false,
            ),
            "S",
            "s-customer-personal",
        ),
        (
            (
                "homepage",
                "application",
                "public_site",
                vec![DataKind::Public],
                false,
            ),
            "O",
            "o-public-or-pseudonymised",
        ),
        (
            ("lab", "server", "research", vec![], false),
            "S",
            "default-sensitive",
        ),
    ] {
        let (name, kind, function, kinds, pet) = input;
        let r = svc
            .create_resource(
                &ciso,
                a,
                ResourceInput {
                    name: name.into(),
                    kind: kind.into(),
                    business_function: function.into(),
                    data_kinds: kinds,
                    network_zone: NetworkZone::Internal,
                    processes_electronic_transactions: pet,
                    dr_tier: Some("1".into()),
                    owner: Some("IT".into()),
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (r.class.as_str(), r.decided_by.as_str()),
            (class, rule),
            "{name}: {:#}",
            r.classification
        );
        assert!(!r.classification["reasons"].as_array().unwrap().is_empty());
    }

    // CSV: errors name the row and the column, and nothing is stored.
    let bad = "name,kind,business_function,data_kinds,network_zone,processes_electronic_transactions,dr_tier,owner\n\
               core,server,payment,personal_credit,internal,yes,1,ops\n\
               web,mainframe,portal,public,internet,no,,\n\
               batch,server,settlement,secret_stuff,moon,maybe,,\n";
    let before = svc.list_resources(&ciso, None).await.unwrap().len();
    let e = svc
        .import_resources_csv(&ciso, a, bad.as_bytes())
        .await
        .unwrap_err();
    let mut got: Vec<(Option<usize>, String)> = e
        .field_errors()
        .iter()
        .map(|f| (f.row, f.field.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (Some(3), "kind".to_string()),
            (Some(4), "data_kinds".to_string()),
            (Some(4), "network_zone".to_string()),
            (Some(4), "processes_electronic_transactions".to_string()),
        ],
        "{e}"
    );
    assert_eq!(
        svc.list_resources(&ciso, None).await.unwrap().len(),
        before,
        "a failed CSV import stores nothing"
    );
    let missing_col = svc
        .import_resources_csv(&ciso, a, b"name,kind\nx,server\n")
        .await
        .unwrap_err();
    assert!(
        missing_col
            .field_errors()
            .iter()
            .any(|f| f.field == "network_zone" && f.row == Some(1)),
        "{missing_col}"
    );

    let good = "name,kind,business_function,data_kinds,network_zone,processes_electronic_transactions,dr_tier,owner\n\
                core,server,payment,personal_credit;logs_backups,internal,yes,1,ops\n\
                web,saas,portal,public,external_saas,no,,\n";
    let r = svc
        .import_resources_csv(&ciso, a, good.as_bytes())
        .await
        .unwrap();
    assert_eq!((r.rows, r.created, r.updated, r.unchanged), (2, 2, 0, 0));
    let r = svc
        .import_resources_csv(&ciso, a, good.as_bytes())
        .await
        .unwrap();
    assert_eq!((r.rows, r.created, r.updated, r.unchanged), (2, 0, 0, 2));
    let all = svc.list_resources(&ciso, None).await.unwrap();
    let web = all.iter().find(|r| r.name == "web").unwrap();
    assert_eq!(
        (
            web.class.as_str(),
            web.decided_by.as_str(),
            web.network_zone.as_str()
        ),
        ("O", "o-public-or-pseudonymised", "external_saas")
    );

    // CycloneDX components.
    let n = svc
        .import_components(
            &ciso,
            web.id,
            std::fs::File::open(fixture("cyclonedx/bom_16.json")).unwrap(),
        )
        .await
        .unwrap();
    let view = svc.get_resource(&ciso, web.id).await.unwrap();
    assert!(
        n > 0 && view.components.len() == n,
        "{n} {:?}",
        view.components
    );
    assert!(view.components.iter().any(|c| c.purl.is_some()));
    assert!(svc
        .import_components(
            &ciso,
            web.id,
            std::fs::File::open(fixture("cyclonedx/bad/bom_14.json")).unwrap()
        )
        .await
        .is_err());
    assert_eq!(
        svc.get_resource(&ciso, web.id)
            .await
            .unwrap()
            .components
            .len(),
        n,
        "a rejected BOM keeps the components"
    );

    // A policy that makes customer personal data class C reclassifies the stored resources.
    let text = haechi_policy::DEFAULT_POLICY_TOML.replacen(
        "id = \"s-customer-personal\"\nclass = \"S\"",
        "id = \"s-customer-personal\"\nclass = \"C\"",
        1,
    );
    assert_ne!(text, haechi_policy::DEFAULT_POLICY_TOML);
    let version = svc.load_policy(&Actor::system(), &text).await.unwrap();
    let crm = svc
        .list_resources(&ciso, None)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == "crm")
        .unwrap();
    assert_eq!(
        (
            crm.class.as_str(),
            crm.decided_by.as_str(),
            crm.policy_version
        ),
        ("C", "s-customer-personal", version)
    );
    assert!(svc
        .list_resources(&ciso, None)
        .await
        .unwrap()
        .iter()
        .all(|r| r.policy_version == version));
}

#[tokio::test]
async fn resources_classification_csv_and_components() {
    on_both(resources_story).await;
}

async fn dedup_story(url: String) {
    let (_store, svc) = open(&url).await;
    let a = institution(&svc, "DA").await;
    let ciso = actor(Role::Ciso, Some(a), "ciso.da");

    // A synthetic log (two runs, rules in an extension, code flows): first import, then the
    // same file again writes no finding row, no sighting row, and two audit entries.
    let mut log = Vec::new();
    haechi_formats::sarif::synth::generate(&mut log, 2000, 7).unwrap();
    let first = svc
        .import_findings(
            &ciso,
            &upload(a, None, false),
            std::io::Cursor::new(log.clone()),
        )
        .await
        .unwrap();
    assert_eq!(first.results_read, 2000);
    assert_eq!(
        first.findings_new + first.duplicates_in_file + first.rejected,
        2000,
        "{first:?}"
    );
    assert_eq!(
        (
            first.findings_updated,
            first.findings_unchanged,
            first.findings_closed
        ),
        (0, 0, 0)
    );
    let before = snapshot(&svc).await;
    assert_eq!(before.0 as u64, first.findings_new);
    // Written over several batches (the database inserting one while the next is prepared):
    // every finding has its decided priority row and exactly its CWE rows.
    let pool = svc.store().pool();
    let undecided: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM findings f WHERE NOT EXISTS (SELECT 1 FROM finding_priorities p \
         WHERE p.finding_id = f.id AND p.cves = f.cves AND p.severity = f.severity AND p.digest IS NOT NULL AND p.priority IS NOT NULL)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(undecided, 0, "every new finding is decided by its import");
    let cwe_lists: Vec<String> = sqlx::query_scalar("SELECT cwes FROM findings")
        .fetch_all(pool)
        .await
        .unwrap();
    let named: usize = cwe_lists
        .iter()
        .map(|c| c.split(',').filter(|x| !x.is_empty()).count())
        .sum();
    let (rows, matching): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(CASE WHEN f.cwes LIKE '%,' || CAST(c.cwe AS TEXT) || ',%' THEN 1 END) \
         FROM finding_cwes c JOIN findings f ON f.id = c.finding_id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert!(
        named > haechi_store::MAX_BATCH,
        "the log names CWEs over several statements"
    );
    assert_eq!((rows, matching), (named as i64, named as i64));
    let again = svc
        .import_findings(
            &ciso,
            &upload(a, None, true),
            std::io::Cursor::new(log.clone()),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            again.findings_new,
            again.findings_updated,
            again.findings_closed
        ),
        (0, 0, 0),
        "{again:?}"
    );
    assert_eq!(again.findings_unchanged, first.findings_new);
    let after = snapshot(&svc).await;
    assert_eq!(
        (after.0, &after.1, &after.2, after.3),
        (before.0, &before.1, &before.2, before.3),
        "an identical re-import writes no finding or sighting"
    );
    assert_eq!(
        after.4,
        before.4 + 2,
        "one upload and one import audit entry, not one per finding"
    );

    // Provenance of the import.
    let status = svc
        .finding_import(&ciso, again.import_id)
        .await
        .unwrap()
        .import;
    assert_eq!(status.state, "succeeded");
    assert_eq!(status.tool_name.as_deref(), Some("HaechiSynth SAST"));
    assert_eq!(status.ai_model.as_deref(), Some("synth-model"));
    assert_eq!(status.ai_model_version.as_deref(), Some("2026-10-01"));
    assert_eq!(status.file_size, Some(log.len() as i64));
    use sha2::Digest;
    assert_eq!(
        status.file_sha256.as_deref(),
        Some(hex::encode(sha2::Sha256::digest(&log)).as_str())
    );
    assert_eq!(
        status.run_started_at.as_deref(),
        Some("2026-11-24T01:00:00Z")
    );
    assert_eq!(status.results_processed, 2000);
    assert_eq!(
        status.report["findings_unchanged"],
        again.findings_unchanged
    );

    // Gzip is the same file.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &log).unwrap();
    let gz = gz.finish().unwrap();
    let r = svc
        .import_findings(&ciso, &upload(a, None, false), std::io::Cursor::new(gz))
        .await
        .unwrap();
    assert_eq!(
        (r.findings_new, r.findings_updated, r.findings_unchanged),
        (0, 0, first.findings_new)
    );

    // Changed results update in place; close-missing closes only with the flag.
    let b = institution(&svc, "DB").await;
    let ciso_b = actor(Role::SecurityStaff, Some(b), "staff.db");
    let res = svc
        .create_resource(
            &ciso_b,
            b,
            ResourceInput {
                name: "payments".into(),
                kind: "application".into(),
                business_function: "payment".into(),
                data_kinds: vec![DataKind::PersonalCredit],
                network_zone: NetworkZone::Dmz,
                processes_electronic_transactions: true,
                dr_tier: None,
                owner: None,
            },
        )
        .await
        .unwrap();
    let v1 = sarif(
        "Scanner",
        &[
            ("r1", "a.py", 10, "SQL injection"),
            ("r1", "b.py", 20, "SQL injection"),
            ("r2", "c.py", 30, "XSS"),
            ("r2", "c.py", 30, "XSS again (same place)"),
        ],
    );
    let r = svc
        .import_findings(
            &ciso_b,
            &upload(b, Some(res.id), false),
            std::io::Cursor::new(v1),
        )
        .await
        .unwrap();
    assert_eq!(
        (r.results_read, r.findings_new, r.duplicates_in_file),
        (4, 3, 1),
        "{r:?}"
    );
    let v2 = sarif(
        "Scanner",
        &[
            ("r1", "a.py", 10, "SQL injection via id"),
            ("r1", "b.py", 20, "SQL injection"),
            ("r2", "c.py", 30, "XSS"),
        ],
    );
    let r = svc
        .import_findings(
            &ciso_b,
            &upload(b, Some(res.id), false),
            std::io::Cursor::new(v2),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            r.findings_new,
            r.findings_updated,
            r.findings_unchanged,
            r.findings_closed
        ),
        (0, 1, 2, 0),
        "{r:?}"
    );
    let mine = all_findings(&svc, &ciso_b).await;
    assert_eq!(mine.len(), 3);
    assert!(mine
        .iter()
        .all(|f| f.resource_id == Some(res.id) && f.institution_id == b));
    let a_py = mine
        .iter()
        .find(|f| f.location.as_deref() == Some("a.py:10"))
        .unwrap();
    assert_eq!(a_py.message, "SQL injection via id");
    assert_eq!(a_py.last_changed_import_id, r.import_id);
    assert_eq!(
        (a_py.severity.as_str(), a_py.level.as_str()),
        ("high", "error")
    );
    assert_eq!(a_py.cwes, vec![79]);

    // b.py disappears: without the flag it stays open (its sighting ends).
    let v3 = sarif(
        "Scanner",
        &[
            ("r1", "a.py", 10, "SQL injection via id"),
            ("r2", "c.py", 30, "XSS"),
        ],
    );
    let r = svc
        .import_findings(
            &ciso_b,
            &upload(b, Some(res.id), false),
            std::io::Cursor::new(v3.clone()),
        )
        .await
        .unwrap();
    assert_eq!((r.findings_unchanged, r.findings_closed), (2, 0), "{r:?}");
    let b_py = all_findings(&svc, &ciso_b)
        .await
        .into_iter()
        .find(|f| f.location.as_deref() == Some("b.py:20"))
        .unwrap();
    assert_eq!(
        (b_py.status.as_str(), b_py.seen_since_import_id),
        ("open", None)
    );
    let view = svc.get_finding(&ciso_b, b_py.id).await.unwrap();
    assert_eq!(
        view.seen_by_imports.len(),
        2,
        "seen by the first two imports only: {:?}",
        view.seen_by_imports
    );
    // With the flag it is closed as fixed, with the reason.
    let r = svc
        .import_findings(
            &ciso_b,
            &upload(b, Some(res.id), true),
            std::io::Cursor::new(v3),
        )
        .await
        .unwrap();
    assert_eq!((r.findings_unchanged, r.findings_closed), (2, 1), "{r:?}");
    let b_py = svc.get_finding(&ciso_b, b_py.id).await.unwrap().finding;
    assert_eq!(b_py.status, "fixed");
    assert!(b_py.status_reason.unwrap().contains("close-missing"));
    // Reported again: reopened.
    let v4 = sarif(
        "Scanner",
        &[
            ("r1", "a.py", 10, "SQL injection via id"),
            ("r1", "b.py", 20, "SQL injection"),
            ("r2", "c.py", 30, "XSS"),
        ],
    );
    let r = svc
        .import_findings(
            &ciso_b,
            &upload(b, Some(res.id), false),
            std::io::Cursor::new(v4),
        )
        .await
        .unwrap();
    assert_eq!(
        (r.findings_new, r.findings_updated, r.findings_unchanged),
        (0, 1, 2),
        "{r:?}"
    );
    assert_eq!(
        svc.get_finding(&ciso_b, b_py.id)
            .await
            .unwrap()
            .finding
            .status,
        "open"
    );
    // A clean scan of the tool with close-missing closes everything it had reported.
    let clean = sarif("Scanner", &[]);
    let r = svc
        .import_findings(
            &ciso_b,
            &upload(b, Some(res.id), true),
            std::io::Cursor::new(clean),
        )
        .await
        .unwrap();
    assert_eq!(r.findings_closed, 3, "{r:?}");

    // Filters.
    let f = |filter: FindingFilter| {
        let svc = svc.clone();
        let who = ciso.clone();
        async move {
            let (rows, total) = svc
                .list_findings(
                    &who,
                    &FindingFilter {
                        limit: 1000,
                        ..filter
                    },
                )
                .await
                .unwrap();
            assert!(!total.capped, "{total:?}");
            (rows, total.count)
        }
    };
    let (_, total) = f(FindingFilter::default()).await;
    assert_eq!(total as u64, first.findings_new);
    let (rows, n89) = f(FindingFilter {
        cwe: Some(89),
        ..Default::default()
    })
    .await;
    assert!(n89 > 0 && rows.iter().all(|r| r.cwes.contains(&89)));
    let (rows, crit) = f(FindingFilter {
        severity: Some("critical".into()),
        ..Default::default()
    })
    .await;
    assert!(crit > 0 && rows.iter().all(|r| r.severity == "critical"));
    let (_, deps) = f(FindingFilter {
        tool: Some("HaechiSynth Deps".into()),
        ..Default::default()
    })
    .await;
    let (_, ai) = f(FindingFilter {
        ai_model: Some("synth-model".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(
        (deps + ai) as u64,
        first.findings_new,
        "the SAST run names an AI model, the dependency run does not"
    );
    let (_, none) = f(FindingFilter {
        status: Some("fixed".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(none, 0);
}

#[tokio::test]
async fn dedup_update_and_close_missing() {
    on_both(dedup_story).await;
}

async fn failure_story(url: String) {
    let (_store, svc) = open(&url).await;
    let a = institution(&svc, "FA").await;
    let ciso = actor(Role::Ciso, Some(a), "ciso.fa");
    let good = std::fs::read(fixture("sarif/codeql.sarif")).unwrap();
    let ok = svc
        .import_findings(&ciso, &upload(a, None, false), std::io::Cursor::new(good))
        .await
        .unwrap();
    assert!(ok.findings_new > 0);
    let before = snapshot(&svc).await;

    // A big log cut off after many batches were written: still nothing is stored.
    let mut log = Vec::new();
    haechi_formats::sarif::synth::generate(&mut log, 5000, 3).unwrap();
    log.truncate(log.len() * 9 / 10);
    let cases: Vec<(String, Vec<u8>, &str, &str)> = vec![
        ("big truncated".into(), log, "sarif.truncated", "byte"),
        (
            "truncated".into(),
            std::fs::read(fixture("sarif/bad/truncated.sarif")).unwrap(),
            "sarif.truncated",
            "byte",
        ),
        (
            "unknown rule".into(),
            std::fs::read(fixture("sarif/bad/unknown_rule_id.sarif")).unwrap(),
            "sarif.unknown_rule",
            "runs[0].results[",
        ),
        (
            "unknown rule in extension".into(),
            std::fs::read(fixture("sarif/bad/unknown_rule_in_extension.sarif")).unwrap(),
            "sarif.unknown_rule",
            "runs[0].results[",
        ),
        (
            "version 2.0.0".into(),
            std::fs::read(fixture("sarif/bad/version_wrong.sarif")).unwrap(),
            "sarif.unsupported_version",
            "version",
        ),
        (
            "invalid JSON".into(),
            std::fs::read(fixture("sarif/bad/invalid_json.sarif")).unwrap(),
            "sarif.invalid_json",
            "byte",
        ),
    ];
    for (name, bytes, code, place) in cases {
        let e = svc
            .import_findings(&ciso, &upload(a, None, true), std::io::Cursor::new(bytes))
            .await
            .unwrap_err();
        assert!(matches!(e, ServiceError::Domain(_)), "{name}: {e:?}");
        assert!(
            e.field_errors()
                .iter()
                .any(|f| f.field.contains(place) || f.message.contains(place)),
            "{name}: the error names the place: {e}"
        );
        let imports = svc.finding_imports(&ciso, None).await.unwrap();
        let failed = &imports[0];
        assert_eq!(
            (failed.state.as_str(), failed.error_code.as_deref()),
            ("failed", Some(code)),
            "{name}: {failed:?}"
        );
        assert!(
            failed
                .error_location
                .as_deref()
                .is_some_and(|l| l.contains(place)),
            "{name}: {failed:?}"
        );
        let now = snapshot(&svc).await;
        assert_eq!(
            (now.0, &now.1, now.3),
            (before.0, &before.1, before.3),
            "{name}: a failed import stores no finding"
        );
    }
    // The good findings are still open: a failed close-missing import closed nothing.
    assert!(all_findings(&svc, &ciso)
        .await
        .iter()
        .all(|f| f.status == "open"));
}

#[tokio::test]
async fn failed_imports_store_nothing_and_name_the_place() {
    on_both(failure_story).await;
}

async fn producers_story(url: String) {
    let (_store, svc) = open(&url).await;
    let a = institution(&svc, "PA").await;
    let ciso = actor(Role::Ciso, Some(a), "ciso.pa");
    // Producer-shaped logs: each imports, and a second import of each changes nothing.
    for (file, tool) in [
        ("codeql", "CodeQL"),
        ("semgrep", "Semgrep OSS"),
        ("bandit", "Bandit"),
        ("trivy", "Trivy"),
        ("eslint", "ESLint"),
        ("message_strings", "AI Pentest Agent"),
    ] {
        let bytes = std::fs::read(fixture(&format!("sarif/{file}.sarif"))).unwrap();
        let r = svc
            .import_findings(
                &ciso,
                &upload(a, None, false),
                std::io::Cursor::new(bytes.clone()),
            )
            .await
            .unwrap();
        assert!(r.findings_new > 0, "{file}: {r:?}");
        let again = svc
            .import_findings(&ciso, &upload(a, None, false), std::io::Cursor::new(bytes))
            .await
            .unwrap();
        assert_eq!(
            (
                again.findings_new,
                again.findings_updated,
                again.findings_unchanged
            ),
            (0, 0, r.findings_new),
            "{file}: {again:?}"
        );
        let rows = svc
            .list_findings(
                &ciso,
                &FindingFilter {
                    tool: Some(tool.into()),
                    limit: 100,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .0;
        assert_eq!(rows.len() as u64, r.findings_new, "{file}");
    }
    // Semgrep puts the level only on the rule; Bandit leaves out `warning`.
    let semgrep = svc
        .list_findings(
            &ciso,
            &FindingFilter {
                tool: Some("Semgrep OSS".into()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .0;
    assert!(semgrep
        .iter()
        .all(|f| f.level != "warning" || f.rule_id.is_some()));
    let trivy = svc
        .list_findings(
            &ciso,
            &FindingFilter {
                tool: Some("Trivy".into()),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .0;
    // Trivy's 1:1 placeholder region is not shown as a line; its CVE rules name the CVE.
    assert!(
        trivy
            .iter()
            .all(|f| f.location.as_deref().is_some_and(|l| !l.ends_with(":1:1"))),
        "{trivy:?}"
    );
    assert!(
        trivy.iter().any(|f| f.cves == ["CVE-2021-44228"]
            && f.location.as_deref() == Some("app/lib/log4j-core-2.14.1.jar")
            && f.severity == "critical"),
        "{trivy:?}"
    );
}

#[tokio::test]
async fn producer_shaped_logs_import_and_reimport() {
    on_both(producers_story).await;
}

async fn lifecycle_story(url: String) {
    let (_store, svc) = open(&url).await;
    let a = institution(&svc, "LA").await;
    let b = institution(&svc, "LB").await;
    let ciso = actor(Role::Ciso, Some(a), "ciso.la");
    let other = actor(Role::Ciso, Some(b), "ciso.lb");
    let auditor = actor(Role::Auditor, None, "auditor");
    let officer = actor(Role::RegulatorOfficer, None, "officer");
    let log = sarif(
        "Scanner",
        &[
            ("r1", "a.py", 1, "one"),
            ("r1", "a.py", 2, "two"),
            ("r2", "b.py", 3, "three"),
        ],
    );
    svc.import_findings(&ciso, &upload(a, None, false), std::io::Cursor::new(log))
        .await
        .unwrap();
    let ids: Vec<i64> = all_findings(&svc, &ciso)
        .await
        .iter()
        .map(|f| f.id)
        .collect();
    let (f1, f2, f3) = (ids[0], ids[1], ids[2]);
    let t = |status: &str, reason: Option<&str>, until: Option<NaiveDate>| FindingTransition {
        status: status.into(),
        reason: reason.map(Into::into),
        until,
    };

    svc.set_clock(Some(day(2026, 11, 25).and_hms_opt(9, 0, 0).unwrap()));
    for (id, step, ok) in [
        (f1, t("in_progress", None, None), true),
        (f1, t("fixed", Some("patched in 1.2.3"), None), true),
        (f1, t("verified", Some("retest passed"), None), true),
        (f1, t("in_progress", None, None), false),
        (f2, t("verified", None, None), false),
        (f2, t("false_positive", Some("test code"), None), true),
        (f2, t("open", Some("not test code after all"), None), true),
    ] {
        let r = svc.transition_finding(&ciso, id, &step).await;
        if ok {
            assert_eq!(r.unwrap().status, step.status);
        } else {
            assert!(
                matches!(
                    r,
                    Err(ServiceError::Rule {
                        code: "illegal_transition",
                        ..
                    })
                ),
                "{step:?}: {r:?}"
            );
        }
    }
    // Reasons and expiry are required where the lifecycle says so.
    for (step, field) in [
        (t("false_positive", None, None), "reason"),
        (
            t("risk_accepted", Some("compensating control"), None),
            "until",
        ),
        (t("risk_accepted", None, Some(day(2027, 1, 1))), "reason"),
        (
            t(
                "risk_accepted",
                Some("compensating control"),
                Some(day(2026, 1, 1)),
            ),
            "until",
        ),
        (t("closed", None, None), "status"),
    ] {
        let e = svc.transition_finding(&ciso, f3, &step).await.unwrap_err();
        assert!(
            e.field_errors().iter().any(|f| f.field == field),
            "{step:?}: {e}"
        );
    }
    let accepted = svc
        .transition_finding(
            &ciso,
            f3,
            &t(
                "risk_accepted",
                Some("compensating WAF rule"),
                Some(day(2026, 12, 31)),
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            accepted.status.as_str(),
            accepted.risk_accepted_until.as_deref()
        ),
        ("risk_accepted", Some("2026-12-31"))
    );
    // The expiry job reopens it only after its last day.
    svc.set_clock(Some(day(2026, 12, 31).and_hms_opt(23, 0, 0).unwrap()));
    assert_eq!(svc.reopen_expired_acceptances().await.unwrap(), 0);
    svc.set_clock(Some(day(2027, 1, 1).and_hms_opt(0, 30, 0).unwrap()));
    assert_eq!(svc.reopen_expired_acceptances().await.unwrap(), 1);
    let reopened = svc.get_finding(&ciso, f3).await.unwrap().finding;
    assert_eq!(reopened.status, "open");
    assert!(reopened.status_reason.unwrap().contains("2026-12-31"));
    assert_eq!(reopened.risk_accepted_until, None);
    svc.set_clock(None);

    // Every change is audited.
    let audit: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE entity = 'finding' AND action <> 'priorities.recompute'",
    )
        .fetch_one(svc.store().pool())
        .await
        .unwrap();
    assert_eq!(audit, 7, "5 transitions + risk acceptance + one expiry run");

    // Tenant isolation: another institution's finding, resource and import are "not found".
    let import_id = svc.finding_imports(&ciso, None).await.unwrap()[0].id;
    assert!(matches!(
        svc.get_finding(&other, f1).await,
        Err(ServiceError::NotFound)
    ));
    assert!(matches!(
        svc.transition_finding(&other, f2, &t("in_progress", None, None))
            .await,
        Err(ServiceError::NotFound)
    ));
    assert!(matches!(
        svc.finding_import(&other, import_id).await,
        Err(ServiceError::NotFound)
    ));
    assert!(matches!(
        svc.list_findings(
            &other,
            &FindingFilter {
                institution_id: Some(a),
                limit: 10,
                ..Default::default()
            }
        )
        .await,
        Err(ServiceError::NotFound)
    ));
    assert!(all_findings(&svc, &other).await.is_empty());
    assert!(matches!(
        svc.import_findings(
            &other,
            &upload(a, None, false),
            std::io::Cursor::new(sarif("X", &[]))
        )
        .await,
        Err(ServiceError::NotFound)
    ));
    assert!(matches!(
        svc.import_resources_csv(&other, a, b"name").await,
        Err(ServiceError::NotFound)
    ));
    // The auditor reads every institution's findings and changes none; the regulator side does
    // not read individual findings.
    assert_eq!(all_findings(&svc, &auditor).await.len(), 3);
    assert!(matches!(
        svc.transition_finding(&auditor, f1, &t("open", None, None))
            .await,
        Err(ServiceError::Forbidden(_))
    ));
    assert!(matches!(
        svc.list_findings(
            &officer,
            &FindingFilter {
                limit: 10,
                ..Default::default()
            }
        )
        .await,
        Err(ServiceError::Forbidden(_))
    ));
}

#[tokio::test]
async fn lifecycle_expiry_and_tenant_isolation() {
    on_both(lifecycle_story).await;
}

async fn app_resource(svc: &Service, institution_id: i64, name: &str) -> i64 {
    svc.create_resource(
        &Actor::system(),
        institution_id,
        ResourceInput {
            name: name.into(),
            kind: "application".into(),
            business_function: "payments".into(),
            data_kinds: vec![DataKind::NonPublicBusiness],
            network_zone: NetworkZone::Internal,
            processes_electronic_transactions: false,
            dr_tier: None,
            owner: None,
        },
    )
    .await
    .unwrap()
    .id
}

/// Per-upload mapping of path prefixes and hosts to resources (issue #5 item 2).
async fn mapping_story(url: String) {
    let (_store, svc) = open(&url).await;
    let a = institution(&svc, "MA").await;
    let other = institution(&svc, "MO").await;
    let ciso = actor(Role::Ciso, Some(a), "ciso.ma");
    let web = app_resource(&svc, a, "web").await;
    let api = app_resource(&svc, a, "api").await;
    let api_v2 = app_resource(&svc, a, "api-v2").await;
    let db = app_resource(&svc, a, "db").await;
    let foreign = app_resource(&svc, other, "foreign").await;

    let log = sarif(
        "Scanner",
        &[
            ("r1", "web/static/app.js", 3, "xss"),
            ("r1", "services/api/handler.go", 9, "sqli"),
            ("r2", "services/api/v2/handler.go", 12, "ssrf"),
            ("r2", "https://db01.bank.example:5432/schema.sql", 1, "weak"),
            ("r3", "tools/build.sh", 7, "unmapped"),
        ],
    );
    let mut up = upload(a, Some(web), false);
    up.resource_map = parse_resource_map(&format!(
        "services/api/=api, services/api/v2/={api_v2}, db01.bank.example=db"
    ))
    .unwrap();
    let first = svc
        .import_findings(&ciso, &up, std::io::Cursor::new(log.clone()))
        .await
        .unwrap();
    assert_eq!(first.findings_new, 5, "{first:?}");
    let rows = all_findings(&svc, &ciso).await;
    let resource_of = |msg: &str| {
        rows.iter()
            .find(|r| r.message == msg)
            .unwrap_or_else(|| panic!("no finding '{msg}'"))
            .resource_id
    };
    assert_eq!(
        resource_of("xss"),
        Some(web),
        "unmapped paths go to the upload's resource"
    );
    assert_eq!(resource_of("sqli"), Some(api));
    assert_eq!(resource_of("ssrf"), Some(api_v2), "the longest prefix wins");
    assert_eq!(resource_of("weak"), Some(db), "a host maps too");
    assert_eq!(resource_of("unmapped"), Some(web));
    let import = svc
        .finding_import(&ciso, first.import_id)
        .await
        .unwrap()
        .import;
    assert_eq!(import.resource_map.as_array().map(Vec::len), Some(3));

    // The resource filter sees the mapped findings; the import counts among their sightings.
    let (by_db, n) = svc
        .list_findings(
            &ciso,
            &FindingFilter {
                resource_id: Some(db),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((n, by_db.len()), (FindingTotal::exact(1), 1));
    let view = svc.get_finding(&ciso, by_db[0].id).await.unwrap();
    assert_eq!(view.seen_by_imports, vec![first.import_id]);

    // The same file with the same mapping: nothing written.
    let before = snapshot(&svc).await;
    let again = svc
        .import_findings(&ciso, &up, std::io::Cursor::new(log.clone()))
        .await
        .unwrap();
    assert_eq!(
        (
            again.findings_new,
            again.findings_updated,
            again.findings_unchanged
        ),
        (0, 0, 5),
        "{again:?}"
    );
    assert_eq!(snapshot(&svc).await.0, before.0);
    let view = svc.get_finding(&ciso, by_db[0].id).await.unwrap();
    assert_eq!(view.seen_by_imports, vec![first.import_id, again.import_id]);

    // Close-missing covers every mapped resource: the db finding is gone from this scan.
    let fewer = sarif(
        "Scanner",
        &[
            ("r1", "web/static/app.js", 3, "xss"),
            ("r1", "services/api/handler.go", 9, "sqli"),
            ("r2", "services/api/v2/handler.go", 12, "ssrf"),
            ("r3", "tools/build.sh", 7, "unmapped"),
        ],
    );
    let mut closing = up.clone();
    closing.close_missing = true;
    let r = svc
        .import_findings(&ciso, &closing, std::io::Cursor::new(fewer))
        .await
        .unwrap();
    assert_eq!((r.findings_unchanged, r.findings_closed), (4, 1), "{r:?}");
    let db_finding = svc.get_finding(&ciso, by_db[0].id).await.unwrap().finding;
    assert_eq!(db_finding.status, "fixed");

    // A mapping to another institution's resource, to an unknown one, or with an empty prefix
    // is refused before anything is queued.
    for (map, field) in [
        (format!("x/={foreign}"), "resource_map[0]"),
        ("x/=nope".to_string(), "resource_map[0]"),
    ] {
        let mut bad = upload(a, None, false);
        bad.resource_map = parse_resource_map(&map).unwrap();
        match svc
            .import_findings(&ciso, &bad, std::io::Cursor::new(log.clone()))
            .await
        {
            Err(ServiceError::Domain(haechi_core::DomainError::Invalid(errs))) => {
                assert_eq!(errs[0].field, field, "{map}")
            }
            other => panic!("{map}: {other:?}"),
        }
    }
    let mut empty = upload(a, None, false);
    empty.resource_map = vec![ResourceMapping {
        prefix: " ".into(),
        resource: "web".into(),
    }];
    assert!(svc
        .import_findings(&ciso, &empty, std::io::Cursor::new(log))
        .await
        .is_err());
}

#[tokio::test]
async fn per_upload_resource_mapping() {
    on_both(mapping_story).await;
}

#[test]
fn resource_map_syntax() {
    assert_eq!(
        parse_resource_map(" a/b/=web ,\nhost.example=7,x=y=z").unwrap(),
        vec![
            ResourceMapping {
                prefix: "a/b/".into(),
                resource: "web".into()
            },
            ResourceMapping {
                prefix: "host.example".into(),
                resource: "7".into()
            },
            ResourceMapping {
                prefix: "x=y".into(),
                resource: "z".into()
            },
        ]
    );
    assert!(parse_resource_map("no-equals").is_err());
    assert!(parse_resource_map("=web").is_err());
    assert!(parse_resource_map("a/=").is_err());
    assert_eq!(parse_resource_map("").unwrap(), vec![]);
}

/// The findings list: keyset pages in both orders, filters through their indexes, CWE through
/// the side table (kept in step when a finding's CWEs change).
async fn list_story(url: String) {
    let (_store, svc) = open(&url).await;
    let a = institution(&svc, "LA").await;
    let b = institution(&svc, "LB").await;
    let ciso = actor(Role::Ciso, Some(a), "ciso.la");
    let mut log = Vec::new();
    haechi_formats::sarif::synth::generate(&mut log, 1500, 11).unwrap();
    let r = svc
        .import_findings(
            &ciso,
            &upload(a, None, false),
            std::io::Cursor::new(log.clone()),
        )
        .await
        .unwrap();
    // Another institution's findings never show up in A's list or counts.
    svc.import_findings(
        &actor(Role::Ciso, Some(b), "ciso.lb"),
        &upload(b, None, false),
        std::io::Cursor::new(log),
    )
    .await
    .unwrap();
    let all = {
        let (rows, total) = svc
            .list_findings(
                &ciso,
                &FindingFilter {
                    limit: 1000,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(total, FindingTotal::exact(r.findings_new as i64));
        let mut rows = rows;
        let (more, _) = svc
            .list_findings(
                &ciso,
                &FindingFilter {
                    limit: 1000,
                    offset: 1000,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        rows.extend(more);
        rows
    };
    assert_eq!(all.len() as u64, r.findings_new);
    assert!(all.iter().all(|f| f.institution_id == a));

    // Walk both orders page by page with the cursor; each must equal the sorted whole.
    for order in [FindingOrder::Newest, FindingOrder::Severity] {
        let mut want = all.clone();
        match order {
            FindingOrder::Newest => want.sort_by_key(|f| std::cmp::Reverse(f.id)),
            FindingOrder::Severity => want.sort_by_key(|f| {
                std::cmp::Reverse((haechi_store::severity_rank(&f.severity), f.id))
            }),
        }
        let mut got = Vec::new();
        let mut after: Option<FindingCursor> = None;
        loop {
            let (page, total) = svc
                .list_findings(
                    &ciso,
                    &FindingFilter {
                        limit: 97,
                        order,
                        after,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(
                total,
                FindingTotal::exact(all.len() as i64),
                "the total ignores the cursor"
            );
            let Some(last) = page.last() else { break };
            after = Some(FindingCursor::after(last));
            got.extend(page.into_iter().map(|f| f.id));
        }
        let want: Vec<i64> = want.iter().map(|f| f.id).collect();
        assert_eq!(got, want, "{order:?}");
    }

    // Every filter, alone and combined, matches what filtering the whole list gives.
    let count = |pred: &dyn Fn(&haechi_store::FindingRow) -> bool| {
        all.iter().filter(|f| pred(f)).count() as i64
    };
    let cases: Vec<(FindingFilter, i64)> = vec![
        (
            FindingFilter {
                cwe: Some(89),
                ..Default::default()
            },
            count(&|f| f.cwes.contains(&89)),
        ),
        (
            FindingFilter {
                cwe: Some(79),
                severity: Some("high".into()),
                ..Default::default()
            },
            count(&|f| f.cwes.contains(&79) && f.severity == "high"),
        ),
        (
            FindingFilter {
                severity: Some("critical".into()),
                tool: Some("HaechiSynth SAST".into()),
                ..Default::default()
            },
            count(&|f| f.severity == "critical" && f.tool_name == "HaechiSynth SAST"),
        ),
        (
            FindingFilter {
                ai_model: Some("synth-model".into()),
                status: Some("open".into()),
                ..Default::default()
            },
            count(&|f| f.ai_model.as_deref() == Some("synth-model")),
        ),
        (
            FindingFilter {
                severity: Some("bogus".into()),
                ..Default::default()
            },
            0,
        ),
    ];
    for (filter, want) in cases {
        assert!(want > 0 || filter.severity.as_deref() == Some("bogus"));
        let (rows, total) = svc
            .list_findings(
                &ciso,
                &FindingFilter {
                    limit: 1000,
                    order: FindingOrder::Severity,
                    ..filter.clone()
                },
            )
            .await
            .unwrap();
        assert_eq!(total, FindingTotal::exact(want), "{filter:?}");
        assert_eq!(rows.len() as i64, want.min(1000), "{filter:?}");
        assert!(rows.iter().all(|f| f.institution_id == a));
        assert!(rows.windows(2).all(|w| {
            (haechi_store::severity_rank(&w[0].severity), w[0].id)
                > (haechi_store::severity_rank(&w[1].severity), w[1].id)
        }));
        if let Some(c) = filter.cwe {
            assert!(rows.iter().all(|f| f.cwes.contains(&c)), "{filter:?}");
        }
    }

    // The total is counted up to a cap: exact up to it, "more than the cap" past it, with or
    // without filters and cursors; a short last page knows its total without counting.
    let n = all.len() as i64;
    let critical = count(&|f| f.severity == "critical");
    let capped = |count| FindingTotal {
        count,
        capped: true,
    };
    let cases: Vec<(FindingFilter, FindingTotal)> = vec![
        (FindingFilter::default(), FindingTotal::exact(n)),
        (
            FindingFilter {
                count_cap: Some(n),
                ..Default::default()
            },
            FindingTotal::exact(n),
        ),
        (
            FindingFilter {
                count_cap: Some(n - 1),
                ..Default::default()
            },
            capped(n - 1),
        ),
        (
            FindingFilter {
                count_cap: Some(100),
                after: Some(FindingCursor::after(&all[10])),
                ..Default::default()
            },
            capped(100),
        ),
        (
            FindingFilter {
                count_cap: Some(100),
                offset: n - 10,
                limit: 20,
                ..Default::default()
            },
            FindingTotal::exact(n),
        ),
        (
            FindingFilter {
                count_cap: Some(critical - 1),
                severity: Some("critical".into()),
                ..Default::default()
            },
            capped(critical - 1),
        ),
        (
            FindingFilter {
                count_cap: Some(critical),
                severity: Some("critical".into()),
                order: FindingOrder::Severity,
                ..Default::default()
            },
            FindingTotal::exact(critical),
        ),
        (
            FindingFilter {
                count_cap: Some(5),
                cwe: Some(79),
                severity: Some("high".into()),
                ..Default::default()
            },
            capped(5),
        ),
    ];
    for (filter, want) in cases {
        // Three rows a page unless the case asks: a full page from the front leaves the total to
        // the count.
        let limit = if filter.limit == 0 { 3 } else { filter.limit };
        let (rows, total) = svc
            .list_findings(
                &ciso,
                &FindingFilter {
                    limit,
                    ..filter.clone()
                },
            )
            .await
            .unwrap();
        assert_eq!(total, want, "{filter:?}");
        assert_eq!(
            rows.len() as i64,
            limit.min(n - filter.offset),
            "{filter:?}"
        );
    }
    assert_eq!(capped(10_000).to_string(), "10,000+");
    assert_eq!(FindingTotal::exact(1234).to_string(), "1,234");

    // A re-import that changes a finding's CWE moves it in the CWE filter.
    let log = sarif("Tagger", &[("rule-a", "src/x.py", 4, "first")]);
    svc.import_findings(&ciso, &upload(a, None, false), std::io::Cursor::new(log))
        .await
        .unwrap();
    let cwe_count = |c: u32| {
        let svc = svc.clone();
        let ciso = ciso.clone();
        async move {
            svc.list_findings(
                &ciso,
                &FindingFilter {
                    cwe: Some(c),
                    tool: Some("Tagger".into()),
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .1
            .count
        }
    };
    assert_eq!((cwe_count(79).await, cwe_count(80).await), (1, 0));
    // Same identity (rule, path, line), another rule set: rule-0 sorts first and gets CWE-79,
    // rule-a now gets CWE-80.
    let log = sarif(
        "Tagger",
        &[
            ("rule-0", "src/y.py", 1, "other"),
            ("rule-a", "src/x.py", 4, "first"),
        ],
    );
    let r = svc
        .import_findings(&ciso, &upload(a, None, false), std::io::Cursor::new(log))
        .await
        .unwrap();
    assert_eq!((r.findings_new, r.findings_updated), (1, 1), "{r:?}");
    assert_eq!((cwe_count(79).await, cwe_count(80).await), (1, 1));
    let (rows, _) = svc
        .list_findings(
            &ciso,
            &FindingFilter {
                cwe: Some(80),
                tool: Some("Tagger".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(rows[0].message, "first");
}

#[tokio::test]
async fn findings_list_keyset_filters_and_cwe_index() {
    on_both(list_story).await;
}
