//! `haechi findings …`, `haechi resources …` and `haechi bench ingest`: the findings intake
//! (C11, C12) from the command line, run as the operator on an institution's behalf.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use haechi_core::{Actor, InstitutionInput, Sector, SizeClass};
use haechi_service::findings::{FindingsImportReport, FindingsUpload};
use haechi_service::{Service, ServiceConfig};

use crate::config::Config;
use crate::{open_service, open_store, print_json, service_error};

#[derive(Subcommand)]
pub enum FindingsCommand {
    /// Import a SARIF 2.1.0 file (plain or gzip): all of it or nothing.
    Import {
        /// Institution id.
        #[arg(long)]
        institution: i64,
        /// Resource id every finding of the file belongs to.
        #[arg(long)]
        resource: Option<i64>,
        /// Close (as fixed) the findings of the same resource and tool the file no longer reports.
        #[arg(long)]
        close_missing: bool,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum ResourcesCommand {
    /// Import an institution's computing resources from CSV: all rows or none.
    Import {
        #[arg(long)]
        institution: i64,
        #[arg(long)]
        json: bool,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Generate a gzip SARIF log, ingest it into a fresh SQLite database (and into a fresh
    /// PostgreSQL database when --database-url postgres://… is given), ingest it again, and
    /// print the rates.
    Ingest {
        /// Number of results in the generated log.
        #[arg(long, default_value_t = 100_000)]
        findings: usize,
        /// Print one JSON object per database instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn upload(
    institution_id: i64,
    resource_id: Option<i64>,
    close_missing: bool,
    file: &Path,
) -> FindingsUpload {
    FindingsUpload {
        institution_id,
        resource_id,
        close_missing,
        file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()),
        ai_model: None,
        ai_model_version: None,
    }
}

pub async fn findings(cfg: &Config, command: FindingsCommand) -> anyhow::Result<ExitCode> {
    let svc = open_service(cfg).await?;
    let FindingsCommand::Import {
        institution,
        resource,
        close_missing,
        json,
        file,
    } = command;
    let input =
        std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
    let up = upload(institution, resource, close_missing, &file);
    match svc.import_findings(&Actor::system(), &up, input).await {
        Ok(r) if json => print_json(&r)?,
        Ok(r) => print_report(&r),
        Err(e) => {
            eprintln!("import failed, no finding was stored: {}", service_error(e));
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &FindingsImportReport) {
    println!(
        "import {}: {} results read: {} new, {} updated, {} unchanged, {} closed, {} duplicates in the file, {} rejected",
        r.import_id, r.results_read, r.findings_new, r.findings_updated, r.findings_unchanged, r.findings_closed, r.duplicates_in_file, r.rejected
    );
}

pub async fn resources(cfg: &Config, command: ResourcesCommand) -> anyhow::Result<ExitCode> {
    let svc = open_service(cfg).await?;
    let ResourcesCommand::Import {
        institution,
        json,
        file,
    } = command;
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    match svc
        .import_resources_csv(&Actor::system(), institution, &bytes)
        .await
    {
        Ok(r) if json => print_json(&r)?,
        Ok(r) => println!(
            "{} rows: {} created, {} updated, {} unchanged",
            r.rows, r.created, r.updated, r.unchanged
        ),
        Err(e) => {
            eprintln!("import failed, nothing was stored: {}", service_error(e));
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Peak resident memory of this process (VmHWM), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[derive(serde::Serialize)]
struct BenchPass {
    seconds: f64,
    findings_per_second: f64,
    report: FindingsImportReport,
}

#[derive(serde::Serialize)]
struct BenchResult {
    database: &'static str,
    findings: usize,
    file_bytes: u64,
    first: BenchPass,
    again: BenchPass,
    rows_written_on_reimport: u64,
    findings_stored: i64,
    peak_rss_bytes: Option<u64>,
}

async fn bench_one(
    database: &'static str,
    url: &str,
    file: &Path,
    n: usize,
) -> anyhow::Result<BenchResult> {
    let store = open_store(url).await?;
    let svc = Service::open(store, ServiceConfig::default())
        .await
        .map_err(service_error)?;
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
        .map_err(service_error)?;
    let up = upload(inst.id, None, false, file);
    let mut passes = Vec::new();
    for _ in 0..2 {
        let input = std::fs::File::open(file)?;
        let start = Instant::now();
        let report = svc
            .import_findings(&system, &up, input)
            .await
            .map_err(service_error)?;
        let seconds = start.elapsed().as_secs_f64();
        passes.push(BenchPass {
            seconds,
            findings_per_second: report.results_read as f64 / seconds,
            report,
        });
    }
    let findings_stored = haechi_store::count_findings(svc.store().pool(), inst.id).await?;
    svc.store().close().await;
    let again = passes.pop().context("second pass")?;
    let first = passes.pop().context("first pass")?;
    Ok(BenchResult {
        database,
        findings: n,
        file_bytes: std::fs::metadata(file)?.len(),
        rows_written_on_reimport: again.report.findings_new
            + again.report.findings_updated
            + again.report.findings_closed,
        first,
        again,
        findings_stored,
        peak_rss_bytes: peak_rss(),
    })
}

fn print_bench(r: &BenchResult, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(r);
    }
    println!(
        "{}: {} findings, gzip SARIF {:.1} MB",
        r.database,
        r.findings,
        r.file_bytes as f64 / 1e6
    );
    println!(
        "  first import: {:>9.0} findings/s ({:.2} s; {} new)",
        r.first.findings_per_second, r.first.seconds, r.first.report.findings_new
    );
    println!(
        "  re-import:    {:>9.0} findings/s ({:.2} s; {} unchanged; finding rows written: {})",
        r.again.findings_per_second,
        r.again.seconds,
        r.again.report.findings_unchanged,
        r.rows_written_on_reimport
    );
    println!("  findings stored: {}", r.findings_stored);
    println!(
        "  peak RSS so far: {:.1} MB",
        r.peak_rss_bytes.unwrap_or(0) as f64 / 1e6
    );
    Ok(())
}

pub async fn bench(command: BenchCommand, database_url: Option<&str>) -> anyhow::Result<ExitCode> {
    let BenchCommand::Ingest { findings: n, json } = command;
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let file = dir.path().join("bench.sarif.gz");
    let started = Instant::now();
    {
        let out = std::fs::File::create(&file)?;
        let mut gz = flate2::write::GzEncoder::new(
            std::io::BufWriter::new(out),
            flate2::Compression::fast(),
        );
        haechi_formats::sarif::synth::generate(&mut gz, n, 42)?;
        gz.finish()?;
    }
    if !json {
        println!(
            "generated {} results in {:.1} s",
            n,
            started.elapsed().as_secs_f64()
        );
    }
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let r = bench_one("sqlite", &sqlite_url, &file, n).await?;
    print_bench(&r, json)?;
    if let Some(admin) = database_url.filter(|u| u.starts_with("postgres")) {
        let name = format!("haechi_bench_{}", std::process::id());
        let url = haechi_store::create_scratch_postgres(admin, &name).await?;
        let result = bench_one("postgres", &url, &file, n).await;
        haechi_store::drop_scratch_postgres(admin, &name).await?;
        print_bench(&result?, json)?;
    }
    Ok(ExitCode::SUCCESS)
}
