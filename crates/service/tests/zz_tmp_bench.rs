#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]
use std::io::Write as _;
use std::time::Instant;
use haechi_core::{Actor, InstitutionInput, Sector, SizeClass};
use haechi_service::feeds::{FeedFile, FeedKind};
use haechi_service::{Service, ServiceConfig};
use haechi_store::{FindingValues, ImportScope, NewFindingImport, ResourceWrite, Store};
const EPSS_ROWS: usize = 300_000;
const KEV_ROWS: usize = 1_500;
const RESOURCES: usize = 200;
/// CVEs the seeded findings draw from (a real estate meets a few tens of thousands).
const FINDING_CVES: usize = 40_000;

/// The i-th synthetic CVE id (distinct for every i below 10^6).
fn cve(i: usize) -> String {
    format!("CVE-{}-{}", 2000 + i % 26, 10_000 + i / 26)
}

/// A deterministic pseudo-random number (SplitMix64), so every run seeds the same data.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A synthetic EPSS CSV for `date`; `salt` changes every score (a new day's file).
fn epss_csv(date: &str, salt: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(EPSS_ROWS * 32);
    let _ = writeln!(out, "#model_version:v2025.03.14,score_date:{date}T00:00:00+0000");
    let _ = writeln!(out, "cve,epss,percentile");
    for i in 0..EPSS_ROWS {
        let r = mix(i as u64 ^ salt.rotate_left(17));
        // Skewed like the real distribution: most scores tiny, a few high.
        let u = (r % 1_000_000) as f64 / 1_000_000.0;
        let epss = u.powi(6).max(0.00001);
        let pct = u;
        let _ = writeln!(out, "{},{epss:.5},{pct:.5}", cve(i));
    }
    out
}

fn kev_json() -> Vec<u8> {
    let vulns: Vec<serde_json::Value> = (0..KEV_ROWS)
        .map(|i| {
            let c = cve(i * (FINDING_CVES / KEV_ROWS));
            serde_json::json!({"cveID": c, "vendorProject": "Vendor", "product": "Product", "vulnerabilityName": format!("{c} flaw"),
                "dateAdded": "2025-06-01", "shortDescription": "x", "requiredAction": "Apply updates.", "dueDate": "2025-06-22",
                "knownRansomwareCampaignUse": if i % 7 == 0 { "Known" } else { "Unknown" }, "notes": "", "cwes": []})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"title": "CISA KEV (synthetic)", "catalogVersion": "2026.03.14", "dateReleased": "2026-03-14T12:00:00.000Z", "count": KEV_ROWS, "vulnerabilities": vulns})).unwrap_or_default()
}

async fn seed(svc: &Service, n: usize) -> Result<i64, Box<dyn std::error::Error>> {
    let system = Actor::system();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let inst = svc
        .create_institution(
            &system,
            InstitutionInput {
                code: "BENCH".into(),
                name_ko: "벤치마크은행".into(),
                name_en: "Benchmark Bank".into(),
                sector: Sector::Bank,
                total_assets_krw: 1_000_000_000_000,
                assets_as_of: day,
                full_time_employees: 1000,
                employees_as_of: day,
                dedicated_ciso: true,
                ciso_name: Some("Kim CISO".into()),
                size_class: SizeClass::Large,
                contact_name: None,
                contact_email: None,
                contact_phone: None,
            },
        )
        .await
        .unwrap()
        .id;
    let version = svc.policy().version;
    let mut tx = svc.store().begin().await?;
    let zones = ["internet", "dmz", "internal", "external_saas"];
    let classes = ["C", "S", "O"];
    let mut resources = Vec::with_capacity(RESOURCES);
    for r in 0..RESOURCES {
        let name = format!("bench-resource-{r:03}");
        let kinds = vec!["customer_personal".to_string()];
        let id = tx
            .insert_resource(&ResourceWrite {
                institution_id: inst,
                name: &name,
                kind: "server",
                business_function: "banking",
                data_kinds: &kinds,
                network_zone: zones[r % zones.len()],
                processes_electronic_transactions: r % 3 == 0,
                dr_tier: None,
                owner: None,
                class: classes[r % classes.len()],
                decided_by: "bench",
                classification_json: "{}",
                policy_version: version,
            })
            .await?;
        resources.push(id);
    }
    let severities = ["critical", "high", "medium", "low"];
    let per = n.div_ceil(RESOURCES);
    let mut made = 0usize;
    for (ri, rid) in resources.iter().enumerate() {
        if made >= n {
            break;
        }
        let import_id = tx
            .insert_finding_import(&NewFindingImport {
                institution_id: inst,
                resource_id: Some(*rid),
                close_missing: false,
                file_name: Some("bench.sarif"),
                file_sha256: None,
                file_size: None,
                uploaded_by: "bench",
                ai_model: None,
                ai_model_version: None,
                resource_map: None,
            })
            .await?;
        // Findings arrive over 90 days, so due dates spread like a real queue's.
        let created = day
            .checked_add_days(chrono::Days::new((ri % 90) as u64))
            .unwrap();
        let scope = ImportScope {
            institution_id: inst,
            resource_id: Some(*rid),
            import_id,
            now: format!("{created}T09:00:00.000000Z"),
        };
        let count = per.min(n - made);
        let mut batch = Vec::with_capacity(haechi_store::MAX_BATCH);
        for j in 0..count {
            let i = made + j;
            let r = mix(i as u64);
            let c = cve((r % FINDING_CVES as u64) as usize);
            let mut fp = [0u8; 16];
            fp[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let sev = severities[(r >> 20) as usize % severities.len()];
            batch.push(FindingValues {
                fingerprint: fp,
                resource_id: Some(*rid),
                tool_name: "bench-scanner".into(),
                ai_model: None,
                rule_id: Some(format!("dep/{c}")),
                level: "error",
                severity: sev,
                security_severity: Some(match sev {
                    "critical" => 9.8,
                    "high" => 7.5,
                    "medium" => 5.0,
                    _ => 2.0,
                }),
                cwes: ",1104,".into(),
                cves: format!(",{c},"),
                message: format!("Vulnerable dependency: {c}"),
                location: Some(format!("lib/dep-{}.jar", r % 997)),
                snippet: None,
                code_flow: None,
                content_hash: fp,
            });
            if batch.len() == haechi_store::MAX_BATCH {
                tx.insert_findings(&scope, &batch).await?;
                batch.clear();
            }
        }
        tx.insert_findings(&scope, &batch).await?;
        made += count;
    }
    tx.commit().await?;
    Ok(inst)
}


#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tmp_bench() {
    let n: usize = std::env::var("BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let url = std::env::var("BENCH_URL").unwrap_or_else(|_| "sqlite:///tmp/haechi_tmp_bench.db".into());
    if url.starts_with("sqlite") { let _ = std::fs::remove_file("/tmp/haechi_tmp_bench.db"); }
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let svc = Service::open(store, ServiceConfig::default()).await.unwrap();
    let t = Instant::now();
    let inst = seed(&svc, n).await.unwrap();
    eprintln!("seed {:.2}", t.elapsed().as_secs_f64());
    for (kind, name, bytes) in [(FeedKind::Kev, "kev", kev_json()), (FeedKind::Epss, "e1", epss_csv("2026-03-14", 1)), (FeedKind::Epss, "e2", epss_csv("2026-03-15", 2))] {
        let t = Instant::now();
        let r = svc.import_feed(&Actor::system(), kind, vec![FeedFile{name: name.into(), bytes}], None).await.unwrap();
        let rc = r.recompute.clone().unwrap();
        eprintln!("{name}: total {:.2} recompute {:.2} rows {} changed {}", t.elapsed().as_secs_f64(), rc.seconds, rc.rows_written, rc.priority_changed);
    }
    let r = svc.recompute_priorities(&Actor::system(), None).await.unwrap();
    eprintln!("idle {:.2} {:?}", r.seconds, r.by_priority);
    let t = Instant::now();
    let q = svc.patch_queue(&Actor::system(), inst, None, 50).await.unwrap();
    eprintln!("queue {:.1} ms {}", t.elapsed().as_secs_f64()*1000.0, q.items.len());
}
