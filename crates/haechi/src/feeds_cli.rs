//! `haechi feeds …` (import EPSS, KEV and CVE JSON 5 files, sign feed files with the regulator
//! key, show what is loaded) and `haechi bench prioritise` (C13), run as the operator.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use haechi_core::{Actor, InstitutionInput, Sector, SizeClass};
use haechi_service::feeds::{FeedFile, FeedImportReport, FeedKind};
use haechi_service::{Service, ServiceConfig};
use haechi_store::{FindingValues, ImportScope, NewFindingImport, ResourceWrite};

use crate::config::Config;
use crate::{load_or_create_key, open_service, open_store, print_json, service_error};

#[derive(Clone, Copy, ValueEnum)]
pub enum FeedArg {
    /// FIRST EPSS CSV (plain or gzip).
    Epss,
    /// CISA KEV JSON.
    Kev,
    /// CVE JSON 5: one record file, or a directory of them (searched recursively).
    Cve,
}

impl FeedArg {
    fn kind(self) -> FeedKind {
        match self {
            FeedArg::Epss => FeedKind::Epss,
            FeedArg::Kev => FeedKind::Kev,
            FeedArg::Cve => FeedKind::Cve,
        }
    }
}

#[derive(Subcommand)]
pub enum FeedsCommand {
    /// Import a feed file: all of it or nothing; re-importing the same file changes nothing.
    Import {
        kind: FeedArg,
        path: PathBuf,
        /// Detached regulator signature (from `haechi feeds sign`); verified before import.
        #[arg(long)]
        signature: Option<PathBuf>,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Sign a feed file (or directory) with this server's regulator key; writes PATH.sig.
    Sign { path: PathBuf },
    /// What is loaded, from which source date, and how old it is.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum PrioritiseBench {
    /// Seed findings, import a synthetic 300,000-row EPSS file, re-prioritise, read the queue;
    /// on a fresh SQLite database (and a fresh PostgreSQL one with --database-url postgres://…).
    Prioritise {
        /// Number of findings to seed.
        #[arg(long, default_value_t = 1_000_000)]
        findings: usize,
        /// Print one JSON object per database instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// The files of a feed path: the file itself, or every `.json` file under a directory (sorted,
/// named by their path relative to it so that a signature does not depend on where it lies).
fn read_feed_files(path: &Path) -> anyhow::Result<Vec<FeedFile>> {
    if !path.is_dir() {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        return Ok(vec![FeedFile {
            name: path.display().to_string(),
            bytes,
        }]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?
        {
            let p = entry?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                let bytes =
                    std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
                let name = p.strip_prefix(path).unwrap_or(&p).display().to_string();
                out.push(FeedFile { name, bytes });
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    if out.is_empty() {
        anyhow::bail!("{} holds no .json file", path.display());
    }
    Ok(out)
}

fn print_import(r: &FeedImportReport) {
    if r.unchanged {
        println!(
            "{}: this file (SHA-256 {}) was imported before (import {}); nothing changed",
            r.kind.as_str(),
            r.sha256,
            r.previous_import_id.unwrap_or(0)
        );
        return;
    }
    let mut line = format!(
        "{} import {}: {} rows, source date {}",
        r.kind.as_str(),
        r.import_id.unwrap_or(0),
        r.rows,
        r.source_date
    );
    if let Some(m) = &r.model_version {
        let _ = write!(line, ", version {m}");
    }
    if let Some(k) = &r.signed_by_key {
        let _ = write!(line, ", signature verified (key {k})");
    }
    if r.kind == FeedKind::Cve {
        let _ = write!(
            line,
            ", {} scores disagree with their vectors, {} older records skipped",
            r.score_disagreements, r.skipped_older
        );
    }
    println!("{line}");
    if let Some(p) = &r.recompute {
        println!(
            "priorities: {} findings read, {} rows written, {} CVE-set evidence rows in {:.2} s",
            p.findings_read, p.rows_written, p.evidence_written, p.seconds
        );
    }
}

pub async fn feeds(cfg: &Config, command: FeedsCommand) -> anyhow::Result<ExitCode> {
    match command {
        FeedsCommand::Import {
            kind,
            path,
            signature,
            json,
        } => {
            let svc = open_service(cfg).await?;
            let files = read_feed_files(&path)?;
            let sig = signature
                .as_ref()
                .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
                .transpose()?;
            match svc
                .import_feed(&Actor::system(), kind.kind(), files, sig.as_deref())
                .await
            {
                Ok(r) if json => print_json(&r)?,
                Ok(r) => print_import(&r),
                Err(e) => {
                    eprintln!("feed import failed: {}", service_error(e));
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        FeedsCommand::Sign { path } => {
            let key = load_or_create_key(&cfg.letter_key_file)?;
            let svc = open_service(cfg)
                .await?
                .with_signer(key)
                .await
                .map_err(service_error)?;
            let files = read_feed_files(&path)?;
            let sig = svc
                .sign_feed(&Actor::system(), &files)
                .await
                .map_err(service_error)?;
            let mut out = path.clone().into_os_string();
            out.push(".sig");
            let out = PathBuf::from(out);
            std::fs::write(&out, sig).with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
        }
        FeedsCommand::Status { json } => {
            let svc = open_service(cfg).await?;
            let s = svc
                .feed_status(&Actor::system())
                .await
                .map_err(service_error)?;
            if json {
                print_json(&s)?;
            } else {
                for (name, row, n, age) in [
                    ("epss", &s.epss, s.epss_rows, s.epss_age_days),
                    ("kev", &s.kev, s.kev_rows, s.kev_age_days),
                    ("cve", &s.cve, s.cve_records, s.cve_age_days),
                ] {
                    match row {
                        Some(r) => println!(
                            "{name}: {n} rows loaded; source date {} ({} days old){}; imported {} by {}",
                            r.source_date,
                            age.unwrap_or(0),
                            r.model_version.as_deref().map(|m| format!(", version {m}")).unwrap_or_default(),
                            r.imported_at,
                            r.imported_by
                        ),
                        None => println!("{name}: not loaded"),
                    }
                }
                println!("published advisories: {}", s.published_advisories);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------- bench prioritise

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

/// A synthetic EPSS CSV for `date`. `drift` 0 gives the base scores; a later day's file
/// (`drift` 1, 2, …) moves every score by up to ±10 % of itself, as the daily EPSS files do, so
/// that a few CVEs cross the policy's threshold and most do not.
fn epss_csv(date: &str, drift: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(EPSS_ROWS * 32);
    let _ = writeln!(
        out,
        "#model_version:v2025.03.14,score_date:{date}T00:00:00+0000"
    );
    let _ = writeln!(out, "cve,epss,percentile");
    for i in 0..EPSS_ROWS {
        let r = mix(i as u64);
        // Skewed like the real distribution: most scores tiny, a few high.
        let u = (r % 1_000_000) as f64 / 1_000_000.0;
        let wobble = if drift == 0 {
            1.0
        } else {
            let d = mix(i as u64 ^ drift.rotate_left(29));
            0.9 + (d % 2001) as f64 / 10_000.0
        };
        let epss = (u.powi(6) * wobble).clamp(0.00001, 1.0);
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

#[derive(serde::Serialize)]
struct Step {
    seconds: f64,
    findings_read: u64,
    rows_written: u64,
    evidence_written: u64,
}

#[derive(serde::Serialize)]
struct PrioritiseResult {
    database: &'static str,
    findings: usize,
    seed_seconds: f64,
    kev_import_and_first_prioritisation: Step,
    epss_rows: usize,
    /// The first EPSS file: import alone, then the recompute it triggers.
    epss_import_seconds: f64,
    epss_recompute: Step,
    /// The next day's EPSS file (every score changed): import alone, then the recompute.
    new_epss_import_seconds: f64,
    new_epss_recompute: Step,
    /// A recompute with nothing changed.
    idle_recompute: Step,
    queue_first_page_ms: f64,
    queue_tenth_page_ms: f64,
    by_priority: std::collections::BTreeMap<String, u64>,
}

fn step(r: &haechi_service::priority::RecomputeReport) -> Step {
    Step {
        seconds: r.seconds,
        findings_read: r.findings_read,
        rows_written: r.rows_written,
        evidence_written: r.evidence_written,
    }
}

async fn seed(svc: &Service, n: usize) -> anyhow::Result<i64> {
    let system = Actor::system();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).context("date")?;
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
        .map_err(service_error)?
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
            .context("date")?;
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
                ai_model_version: None,
                ai_origin: "conventional",
                exploit_evidence: None,
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
                tx.insert_findings(&scope, &batch, None).await?;
                batch.clear();
            }
        }
        tx.insert_findings(&scope, &batch, None).await?;
        made += count;
    }
    tx.commit().await?;
    Ok(inst)
}

async fn bench_one(
    database: &'static str,
    url: &str,
    n: usize,
) -> anyhow::Result<PrioritiseResult> {
    let store = open_store(url).await?;
    let svc = Service::open(store, ServiceConfig::default())
        .await
        .map_err(service_error)?;
    let system = Actor::system();
    let started = Instant::now();
    let inst = seed(&svc, n).await?;
    let seed_seconds = started.elapsed().as_secs_f64();

    let import = |kind: FeedKind, name: &str, bytes: Vec<u8>| {
        let svc = svc.clone();
        let files = vec![FeedFile {
            name: name.to_string(),
            bytes,
        }];
        async move {
            let t = Instant::now();
            let r = svc
                .import_feed(&Actor::system(), kind, files, None)
                .await
                .map_err(service_error)?;
            let total = t.elapsed().as_secs_f64();
            let rc = r.recompute.clone().unwrap_or_default();
            anyhow::Ok((total - rc.seconds, rc))
        }
    };
    let (_, kev) = import(FeedKind::Kev, "kev.json", kev_json()).await?;
    let (epss_import_seconds, epss_recompute) =
        import(FeedKind::Epss, "epss-1.csv", epss_csv("2026-03-14", 0)).await?;
    let (new_epss_import_seconds, new_epss) =
        import(FeedKind::Epss, "epss-2.csv", epss_csv("2026-03-15", 1)).await?;
    let idle = svc
        .recompute_priorities(&system, None)
        .await
        .map_err(service_error)?;

    let t = Instant::now();
    let first = svc
        .patch_queue(&system, inst, None, 50)
        .await
        .map_err(service_error)?;
    let queue_first_page_ms = t.elapsed().as_secs_f64() * 1000.0;
    let mut cursor = first.next;
    let mut queue_tenth_page_ms = 0.0;
    for _ in 0..9 {
        let t = Instant::now();
        let page = svc
            .patch_queue(&system, inst, cursor.as_ref(), 50)
            .await
            .map_err(service_error)?;
        queue_tenth_page_ms = t.elapsed().as_secs_f64() * 1000.0;
        cursor = page.next;
    }
    svc.store().close().await;
    Ok(PrioritiseResult {
        database,
        findings: n,
        seed_seconds,
        kev_import_and_first_prioritisation: step(&kev),
        epss_rows: EPSS_ROWS,
        epss_import_seconds,
        epss_recompute: step(&epss_recompute),
        new_epss_import_seconds,
        new_epss_recompute: step(&new_epss),
        by_priority: idle.by_priority.clone(),
        idle_recompute: step(&idle),
        queue_first_page_ms,
        queue_tenth_page_ms,
    })
}

fn print_result(r: &PrioritiseResult, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(r);
    }
    let line = |what: &str, s: &Step| {
        println!(
            "  {what:<44} {:>7.2} s  ({} findings read, {} written; {} CVE-set evidence rows)",
            s.seconds, s.findings_read, s.rows_written, s.evidence_written
        );
    };
    println!(
        "{}: {} findings (seeded in {:.1} s)",
        r.database, r.findings, r.seed_seconds
    );
    line(
        "KEV import + first prioritisation:",
        &r.kev_import_and_first_prioritisation,
    );
    println!(
        "  {:<44} {:>7.2} s",
        format!("EPSS import ({} rows):", r.epss_rows),
        r.epss_import_seconds
    );
    line("  re-prioritise after it:", &r.epss_recompute);
    println!(
        "  {:<44} {:>7.2} s",
        "next day's EPSS import (every score moved):", r.new_epss_import_seconds
    );
    line("  re-prioritise after it:", &r.new_epss_recompute);
    line("re-prioritise with nothing changed:", &r.idle_recompute);
    println!(
        "  {:<44} {:>7.1} ms",
        "queue, first page of 50:", r.queue_first_page_ms
    );
    println!(
        "  {:<44} {:>7.1} ms",
        "queue, tenth page of 50 (keyset):", r.queue_tenth_page_ms
    );
    println!("  open findings by priority: {:?}", r.by_priority);
    std::io::stdout().flush()?;
    Ok(())
}

pub async fn bench(
    command: PrioritiseBench,
    database_url: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let PrioritiseBench::Prioritise { findings: n, json } = command;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let r = bench_one("sqlite", &sqlite_url, n).await?;
    print_result(&r, json)?;
    if let Some(admin) = database_url.filter(|u| u.starts_with("postgres")) {
        let name = format!("haechi_bench_prio_{}", std::process::id());
        let url = haechi_store::create_scratch_postgres(admin, &name).await?;
        let result = bench_one("postgres", &url, n).await;
        haechi_store::drop_scratch_postgres(admin, &name).await?;
        print_result(&result?, json)?;
    }
    Ok(ExitCode::SUCCESS)
}
