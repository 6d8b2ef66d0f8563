//! `haechi findings …`, `haechi resources …` and `haechi bench ingest`: the findings intake
//! (C11, C12) from the command line, run as the operator on an institution's behalf.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use haechi_core::{Actor, InstitutionInput, Sector, SizeClass};
use haechi_service::findings::{
    parse_resource_map, FindingsImportReport, FindingsUpload, ResourceInput, ResourceMapping,
};
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
        /// `PREFIX=RESOURCE`: findings whose location path starts with PREFIX (or whose URI
        /// host is PREFIX) belong to RESOURCE (an id or a name); repeatable, longest match wins.
        #[arg(long = "map", value_name = "PREFIX=RESOURCE")]
        map: Vec<String>,
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
    /// print the rates and the peak resident memory.
    Ingest {
        /// Number of results in the generated log.
        #[arg(long, default_value_t = 100_000)]
        findings: usize,
        /// Instead of --findings: generate about this many MB of (uncompressed) SARIF, streamed
        /// to a gzip temporary file, never held in memory.
        #[arg(long)]
        size_mb: Option<u64>,
        /// Print one JSON object per database instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Fill a fresh database with --findings findings (through the import path, spread over
    /// resources by a mapping) and time pages of the findings list, unfiltered and filtered.
    List {
        #[arg(long, default_value_t = 1_000_000)]
        findings: usize,
        /// Print one JSON object per database instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn upload(
    institution_id: i64,
    resource_id: Option<i64>,
    close_missing: bool,
    file: &Path,
    resource_map: Vec<ResourceMapping>,
) -> FindingsUpload {
    FindingsUpload {
        institution_id,
        resource_id,
        close_missing,
        file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()),
        ai_model: None,
        ai_model_version: None,
        resource_map,
    }
}

pub async fn findings(cfg: &Config, command: FindingsCommand) -> anyhow::Result<ExitCode> {
    let svc = open_service(cfg).await?;
    let FindingsCommand::Import {
        institution,
        resource,
        close_missing,
        json,
        map,
        file,
    } = command;
    let mut resource_map = Vec::new();
    for m in &map {
        match parse_resource_map(m) {
            Ok(v) if v.len() == 1 => resource_map.extend(v),
            Ok(_) => {
                eprintln!("--map {m}: expected one PREFIX=RESOURCE");
                return Ok(ExitCode::FAILURE);
            }
            Err(e) => {
                eprintln!("--map {m}: {}", service_error(e));
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    let input =
        std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
    let up = upload(institution, resource, close_missing, &file, resource_map);
    let outcome = svc.import_findings(&Actor::system(), &up, input).await;
    // The cross-tool grouping runs after the import; the process waits for it before exiting.
    svc.clusters_settled().await;
    match outcome {
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
pub(crate) fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[derive(serde::Serialize)]
struct BenchPass {
    seconds: f64,
    findings_per_second: f64,
    /// The cross-tool regrouping that runs after the import, off its path.
    grouping_seconds: f64,
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

/// A fresh service on `url` with one institution; returns it and the institution id.
pub(crate) async fn bench_service(url: &str) -> anyhow::Result<(Service, i64)> {
    let store = open_store(url).await?;
    let svc = Service::open(store, ServiceConfig::default())
        .await
        .map_err(service_error)?;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).context("date")?;
    let inst = svc
        .create_institution(
            &Actor::system(),
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
    Ok((svc, inst.id))
}

async fn timed_import(
    svc: &Service,
    up: &FindingsUpload,
    file: &Path,
) -> anyhow::Result<BenchPass> {
    let input = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(file)?);
    let start = Instant::now();
    let report = svc
        .import_findings(&Actor::system(), up, input)
        .await
        .map_err(service_error)?;
    let seconds = start.elapsed().as_secs_f64();
    let grouping = Instant::now();
    svc.clusters_settled().await;
    Ok(BenchPass {
        seconds,
        findings_per_second: report.results_read as f64 / seconds,
        grouping_seconds: grouping.elapsed().as_secs_f64(),
        report,
    })
}

async fn bench_one(
    database: &'static str,
    url: &str,
    file: &Path,
    n: usize,
) -> anyhow::Result<BenchResult> {
    let (svc, inst) = bench_service(url).await?;
    let up = upload(inst, None, false, file, Vec::new());
    let first = timed_import(&svc, &up, file).await?;
    let again = timed_import(&svc, &up, file).await?;
    let findings_stored = haechi_store::count_findings(svc.store().pool(), inst).await?;
    svc.store().close().await;
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
        "  first import: {:>9.0} findings/s ({:.2} s; {} new; cross-tool grouping after it: {:.2} s)",
        r.first.findings_per_second,
        r.first.seconds,
        r.first.report.findings_new,
        r.first.grouping_seconds
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

/// Counts what passes through, so the generated size can be told without keeping the bytes.
struct CountingWriter<W> {
    inner: W,
    bytes: u64,
}

impl<W: std::io::Write> std::io::Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Streams a synthetic log of `n` results through gzip into `file`; returns the uncompressed
/// size.
pub(crate) fn generate_file(file: &Path, n: usize) -> anyhow::Result<u64> {
    let out = std::fs::File::create(file)?;
    let gz =
        flate2::write::GzEncoder::new(std::io::BufWriter::new(out), flate2::Compression::fast());
    let mut counting = CountingWriter {
        inner: gz,
        bytes: 0,
    };
    haechi_formats::sarif::synth::generate(&mut counting, n, 42)?;
    let bytes = counting.bytes;
    counting.inner.finish()?;
    Ok(bytes)
}

/// Results needed for about `mb` MB of SARIF, from the size of a sample.
fn results_for_size(mb: u64) -> anyhow::Result<usize> {
    const SAMPLE: usize = 20_000;
    let mut counting = CountingWriter {
        inner: std::io::sink(),
        bytes: 0,
    };
    haechi_formats::sarif::synth::generate(&mut counting, SAMPLE, 42)?;
    let per = counting.bytes as f64 / SAMPLE as f64;
    Ok(((mb as f64 * 1024.0 * 1024.0) / per).ceil() as usize)
}

pub async fn bench(command: BenchCommand, database_url: Option<&str>) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Ingest {
            findings,
            size_mb,
            json,
        } => bench_ingest(findings, size_mb, json, database_url).await,
        BenchCommand::List { findings, json } => bench_list(findings, json, database_url).await,
    }
}

async fn bench_ingest(
    findings: usize,
    size_mb: Option<u64>,
    json: bool,
    database_url: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let n = match size_mb {
        Some(mb) => results_for_size(mb)?,
        None => findings,
    };
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let file = dir.path().join("bench.sarif.gz");
    let started = Instant::now();
    let raw = generate_file(&file, n)?;
    if !json {
        println!(
            "generated {} results ({:.1} MB of SARIF, streamed to gzip) in {:.1} s",
            n,
            raw as f64 / 1e6,
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

#[derive(serde::Serialize)]
struct ListTiming {
    query: String,
    /// Median of the timed runs, in milliseconds (server time: the service call).
    median_ms: f64,
    max_ms: f64,
    rows: usize,
    total: haechi_store::FindingTotal,
}

#[derive(serde::Serialize)]
struct ListBench {
    database: &'static str,
    findings: i64,
    fill_seconds: f64,
    queries: Vec<ListTiming>,
}

/// The synthetic log's directories, each mapped to a resource of its own.
const BENCH_RESOURCES: [(&str, &str); 4] = [
    ("src/main/java/kr/example/payments", "payments"),
    ("src/main/java/kr/example/ledger", "ledger"),
    ("services/auth/src", "auth"),
    ("services/app7/", "app7"),
];

async fn bench_list_one(
    database: &'static str,
    url: &str,
    file: &Path,
) -> anyhow::Result<ListBench> {
    use haechi_store::{FindingCursor, FindingFilter, FindingOrder};
    let (svc, inst) = bench_service(url).await?;
    let system = Actor::system();
    let mut resource_ids = Vec::new();
    let mut map = Vec::new();
    for (prefix, name) in BENCH_RESOURCES {
        let r = svc
            .create_resource(
                &system,
                inst,
                ResourceInput {
                    name: name.into(),
                    kind: "application".into(),
                    business_function: "benchmark".into(),
                    data_kinds: vec![haechi_policy::DataKind::NonPublicBusiness],
                    network_zone: haechi_policy::NetworkZone::Internal,
                    processes_electronic_transactions: false,
                    dr_tier: None,
                    owner: None,
                },
            )
            .await
            .map_err(service_error)?;
        resource_ids.push(r.id);
        map.push(ResourceMapping {
            prefix: prefix.into(),
            resource: name.into(),
        });
    }
    let up = upload(inst, None, false, file, map);
    let fill = timed_import(&svc, &up, file).await?;
    let stored = haechi_store::count_findings(svc.store().pool(), inst).await?;
    let base = FindingFilter {
        institution_id: Some(inst),
        limit: 50,
        ..Default::default()
    };
    let first_page = svc
        .list_findings(&system, &base)
        .await
        .map_err(service_error)?
        .0;
    let cursor = first_page.last().map(FindingCursor::after);
    let auth = resource_ids.get(2).copied();
    let cases: Vec<(&str, FindingFilter)> = vec![
        ("first page, newest first", base.clone()),
        (
            "next page by keyset cursor",
            FindingFilter {
                after: cursor,
                ..base.clone()
            },
        ),
        (
            "page 200 by offset",
            FindingFilter {
                offset: 199 * 50,
                ..base.clone()
            },
        ),
        (
            "most severe first",
            FindingFilter {
                order: FindingOrder::Severity,
                ..base.clone()
            },
        ),
        (
            "severity = critical",
            FindingFilter {
                severity: Some("critical".into()),
                ..base.clone()
            },
        ),
        (
            "status = fixed (none)",
            FindingFilter {
                status: Some("fixed".into()),
                ..base.clone()
            },
        ),
        (
            "CWE-89",
            FindingFilter {
                cwe: Some(89),
                ..base.clone()
            },
        ),
        (
            "resource = auth",
            FindingFilter {
                resource_id: auth,
                ..base.clone()
            },
        ),
        (
            "tool = HaechiSynth Deps",
            FindingFilter {
                tool: Some("HaechiSynth Deps".into()),
                ..base.clone()
            },
        ),
        (
            "AI model = synth-model, severity = high",
            FindingFilter {
                ai_model: Some("synth-model".into()),
                severity: Some("high".into()),
                ..base.clone()
            },
        ),
        (
            "CWE-79 and severity = high, most severe first",
            FindingFilter {
                cwe: Some(79),
                severity: Some("high".into()),
                order: FindingOrder::Severity,
                ..base.clone()
            },
        ),
    ];
    let mut queries = Vec::new();
    for (name, filter) in cases {
        let mut times = Vec::new();
        let mut rows = 0;
        let mut total = haechi_store::FindingTotal::exact(0);
        for _ in 0..5 {
            let start = Instant::now();
            let (items, t) = svc
                .list_findings(&system, &filter)
                .await
                .map_err(service_error)?;
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            rows = items.len();
            total = t;
        }
        times.sort_by(f64::total_cmp);
        queries.push(ListTiming {
            query: name.to_string(),
            median_ms: times.get(times.len() / 2).copied().unwrap_or(0.0),
            max_ms: times.last().copied().unwrap_or(0.0),
            rows,
            total,
        });
    }
    svc.store().close().await;
    Ok(ListBench {
        database,
        findings: stored,
        fill_seconds: fill.seconds,
        queries,
    })
}

fn print_list(r: &ListBench, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(r);
    }
    println!(
        "{}: findings list over {} findings (filled in {:.1} s); server time, median of 5 (max)",
        r.database, r.findings, r.fill_seconds
    );
    for q in &r.queries {
        println!(
            "  {:<48} {:>7.1} ms ({:>6.1} ms)  {:>3} rows of {}",
            q.query, q.median_ms, q.max_ms, q.rows, q.total
        );
    }
    Ok(())
}

async fn bench_list(n: usize, json: bool, database_url: Option<&str>) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let file = dir.path().join("bench.sarif.gz");
    generate_file(&file, n)?;
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let r = bench_list_one("sqlite", &sqlite_url, &file).await?;
    print_list(&r, json)?;
    if let Some(admin) = database_url.filter(|u| u.starts_with("postgres")) {
        let name = format!("haechi_bench_{}", std::process::id());
        let url = haechi_store::create_scratch_postgres(admin, &name).await?;
        let result = bench_list_one("postgres", &url, &file).await;
        haechi_store::drop_scratch_postgres(admin, &name).await?;
        print_list(&result?, json)?;
    }
    Ok(ExitCode::SUCCESS)
}
