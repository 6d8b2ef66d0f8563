//! `haechi bench insight`: compiling a report for an institution with many findings, and the
//! regulator's sector insight page over many institutions' delivered reports.
//!
//! The data are written in bulk through the store (`Store::fill_synthetic_findings`: findings of
//! four tools, two of them AI models, with CWEs, priorities and SLA due dates, statuses, the
//! status changes of the fixed ones, imports and patch records) — the first institution holds
//! `--findings`, the others share the rest of `--total-findings`. Then:
//!
//! 1. the first institution's report for the whole year (every one of its findings in the
//!    period) is compiled through the service, `--runs` times (a compile, then recompiles);
//! 2. every institution's four quarterly reports are compiled through the service and delivered
//!    (three accepted, one submitted);
//! 3. the regulator's sector insight is timed as the page handler calls it (the service call),
//!    monthly, quarterly and for one sector, plus the CSV export and the institutions' anonymised
//!    sector view;
//! 4. the same pages are fetched over HTTP from the real router on loopback with a signed-in
//!    officer's (and CISO's) session cookie.
//!
//! Times are the median and the maximum of `--runs` runs.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use haechi_core::{Actor, InstitutionInput, Role, Sector, SizeClass};
use haechi_service::insight::{Axis, InsightQuery};
use haechi_service::Service;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::findings_cli::{bench_service, peak_rss};
use crate::service_error;

/// `haechi bench insight`.
#[derive(Subcommand)]
pub enum InsightBench {
    /// Fill a fresh SQLite database (and a PostgreSQL one with --database-url postgres://…) with
    /// --total-findings findings over --institutions institutions (the first holding
    /// --findings), time compiling the first institution's report over all its findings, then
    /// deliver every institution's quarterly reports and time the regulator's sector insight
    /// (service call and HTTP GET of the page) and the anonymised sector view.
    Insight {
        /// Findings of the institution whose report is timed.
        #[arg(long, default_value_t = 1_000_000)]
        findings: u64,
        /// Findings of all institutions together (the first one's included).
        #[arg(long, default_value_t = 10_000_000)]
        total_findings: u64,
        #[arg(long, default_value_t = 50)]
        institutions: u64,
        /// Timed runs of each measurement (median and max are printed).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// One JSON object per database instead of text.
        #[arg(long)]
        json: bool,
    },
}

const SECTORS: [Sector; 6] = [
    Sector::Bank,
    Sector::Securities,
    Sector::Insurance,
    Sector::Card,
    Sector::SavingsBank,
    Sector::Fintech,
];

/// The quarters of the synthetic year: (start, end inclusive, due).
const QUARTERS: [(&str, &str, &str); 4] = [
    ("2025-01-01", "2025-03-31", "2025-04-30"),
    ("2025-04-01", "2025-06-30", "2025-07-31"),
    ("2025-07-01", "2025-09-30", "2025-10-31"),
    ("2025-10-01", "2025-12-31", "2026-01-31"),
];

/// Median and maximum of timed runs, in milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
struct Timing {
    what: String,
    median_ms: f64,
    max_ms: f64,
    runs: usize,
}

impl Timing {
    fn of(what: &str, mut ms: Vec<f64>) -> Timing {
        ms.sort_by(f64::total_cmp);
        let n = ms.len();
        let median = match n {
            0 => 0.0,
            n if n % 2 == 1 => ms[n / 2],
            n => (ms[n / 2 - 1] + ms[n / 2]) / 2.0,
        };
        Timing {
            what: what.to_string(),
            median_ms: median,
            max_ms: ms.last().copied().unwrap_or(0.0),
            runs: n,
        }
    }
}

#[derive(Debug, serde::Serialize)]
struct InsightResult {
    database: &'static str,
    institutions: u64,
    findings_total: i64,
    fill_seconds: f64,
    compile_findings: i64,
    compile_fixed_p1: i64,
    compile: Timing,
    quarterly_reports: usize,
    quarterly_compile_seconds: f64,
    sector_reports: usize,
    sector_institutions: usize,
    sector_findings: i64,
    sector_trend_periods: usize,
    timings: Vec<Timing>,
    peak_rss_bytes: Option<u64>,
}

async fn time_runs<F, Fut, T>(runs: usize, mut f: F) -> anyhow::Result<(Vec<f64>, T)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let v = f().await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        last = Some(v);
    }
    Ok((times, last.context("no run")?))
}

/// A letter and one obligation of the institution, straight into the database.
async fn obligation(
    svc: &Service,
    institution: i64,
    kind: &str,
    sequence: i64,
    (from, until, due): (&str, &str, &str),
) -> anyhow::Result<i64> {
    let mut tx = svc.store().begin().await?;
    let now = haechi_store::now_text();
    let app = tx
        .insert_application(institution, &serde_json::json!({}), &now)
        .await?;
    let letter = tx
        .insert_letter_draft(app, institution, None, "{}", None)
        .await?;
    let id = tx
        .insert_obligation(letter, institution, kind, sequence, from, until, due)
        .await?;
    tx.commit().await?;
    Ok(id)
}

/// One GET over HTTP/1.1 on loopback with a session cookie; returns the status and body size.
async fn http_get(
    addr: std::net::SocketAddr,
    path: &str,
    cookie: &str,
) -> anyhow::Result<(u16, usize)> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(
        format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: haechi_session={cookie}\r\nAccept-Language: ko\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let status = std::str::from_utf8(buf.get(9..12).unwrap_or_default())
        .ok()
        .and_then(|s| s.parse().ok())
        .context("no HTTP status line")?;
    Ok((status, buf.len()))
}

fn ciso(institution: i64) -> Actor {
    Actor {
        user_id: 0,
        username: "bench.ciso".into(),
        role: Role::Ciso,
        institution_id: Some(institution),
    }
}

async fn bench_one(
    database: &'static str,
    url: &str,
    findings: u64,
    total: u64,
    institutions: u64,
    runs: usize,
    json: bool,
) -> anyhow::Result<InsightResult> {
    let say = |s: String| {
        if !json {
            println!("{s}");
        }
    };
    let (svc, first) = bench_service(url).await?;
    let system = Actor::system();
    let asof = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).context("date")?;
    let mut ids = vec![first];
    for i in 1..institutions {
        let id = svc
            .create_institution(
                &system,
                InstitutionInput {
                    code: format!("BENCH-{i:03}"),
                    name_ko: format!("벤치마크기관{i}"),
                    name_en: format!("Benchmark institution {i}"),
                    sector: SECTORS[i as usize % SECTORS.len()],
                    total_assets_krw: 10_000_000_000_000,
                    assets_as_of: asof,
                    full_time_employees: 1000,
                    employees_as_of: asof,
                    dedicated_ciso: true,
                    ciso_name: Some("벤치 CISO".into()),
                    size_class: SizeClass::Large,
                    contact_name: None,
                    contact_email: None,
                    contact_phone: None,
                },
            )
            .await
            .map_err(service_error)?
            .id;
        ids.push(id);
    }
    // The first institution holds `findings`; the others share the rest evenly.
    let rest = total.saturating_sub(findings);
    let others = institutions.saturating_sub(1).max(1);
    let started = Instant::now();
    let indexes = svc.store().drop_synthetic_indexes().await?;
    let mut findings_total = 0;
    for (i, id) in ids.iter().enumerate() {
        let n = if i == 0 {
            findings
        } else {
            rest / others + u64::from((i as u64 - 1) < rest % others)
        };
        let c = svc
            .store()
            .fill_synthetic_findings(*id, n as i64)
            .await
            .with_context(|| format!("filling institution {i}"))?;
        findings_total += c.findings;
        if i == 0 || (i + 1) % 10 == 0 {
            say(format!(
                "  filled {}/{} institutions ({findings_total} findings, {:.0} s)",
                i + 1,
                ids.len(),
                started.elapsed().as_secs_f64()
            ));
        }
    }
    let indexing = Instant::now();
    svc.store().restore_synthetic_indexes(indexes).await?;
    say(format!(
        "  indexes built in {:.0} s",
        indexing.elapsed().as_secs_f64()
    ));
    svc.store().refresh_statistics().await?;
    let fill_seconds = started.elapsed().as_secs_f64();
    say(format!(
        "{database}: {findings_total} findings of {} institutions written in {fill_seconds:.0} s",
        ids.len()
    ));

    // 1. The first institution's report over the whole year: all of its findings.
    let year = obligation(
        &svc,
        first,
        "final_report",
        1,
        ("2025-01-01", "2025-12-31", "2026-01-31"),
    )
    .await?;
    let (times, _) = time_runs(runs, || async {
        svc.compile_report(&ciso(first), year)
            .await
            .map_err(service_error)
    })
    .await?;
    let compile = Timing::of("report compile (first, then recompiles)", times);
    let figures = svc
        .report(&ciso(first), year)
        .await
        .map_err(service_error)?
        .latest()
        .context("the compiled report")?
        .figures
        .clone();
    say(format!(
        "  report compile over {} findings (P1 fixed: {}): median {:.0} ms, max {:.0} ms ({} runs)",
        figures.findings,
        figures
            .remediation
            .iter()
            .find(|r| r.priority == "P1")
            .map(|r| r.fixed)
            .unwrap_or(0),
        compile.median_ms,
        compile.max_ms,
        compile.runs
    ));

    // 2. Every institution's quarterly reports, compiled and delivered.
    let started = Instant::now();
    let mut quarterly = 0;
    for id in &ids {
        for (q, period) in QUARTERS.iter().enumerate() {
            let ob = obligation(&svc, *id, "quarterly_report", q as i64 + 1, *period).await?;
            let rid = svc
                .compile_report(&ciso(*id), ob)
                .await
                .map_err(service_error)?;
            let mut tx = svc.store().begin().await?;
            let at = haechi_store::now_text();
            tx.freeze_report(rid, &"0".repeat(64), "bench", &at).await?;
            if q < 3 {
                tx.decide_report(rid, "accepted", None, "bench", &at)
                    .await?;
            }
            tx.commit().await?;
            quarterly += 1;
        }
    }
    let quarterly_compile_seconds = started.elapsed().as_secs_f64();
    say(format!(
        "  {quarterly} quarterly reports compiled and delivered in {quarterly_compile_seconds:.0} s"
    ));

    // 3. The regulator's page as its handler calls the service, and the other reads.
    let officer = Actor {
        user_id: 0,
        username: "bench.officer".into(),
        role: Role::RegulatorOfficer,
        institution_id: None,
    };
    let mut timings = Vec::new();
    let query = |axis, sector: Option<&str>| InsightQuery {
        axis,
        sector: sector.map(String::from),
    };
    let (t, insight) = time_runs(runs, || async {
        svc.sector_insight(&officer, &query(Axis::Month, None))
            .await
            .map_err(service_error)
    })
    .await?;
    timings.push(Timing::of("sector insight, monthly (service)", t));
    for (what, q) in [
        (
            "sector insight, quarterly (service)",
            query(Axis::Quarter, None),
        ),
        (
            "sector insight, banks only (service)",
            query(Axis::Month, Some("bank")),
        ),
    ] {
        let (t, _) = time_runs(runs, || async {
            svc.sector_insight(&officer, &q)
                .await
                .map_err(service_error)
        })
        .await?;
        timings.push(Timing::of(what, t));
    }
    let (t, _) = time_runs(runs, || async {
        svc.sector_insight_csv(&officer, &query(Axis::Month, None))
            .await
            .map_err(service_error)
    })
    .await?;
    timings.push(Timing::of("sector insight CSV export (service)", t));
    let (t, _) = time_runs(runs, || async {
        svc.sector_view(&ciso(first)).await.map_err(service_error)
    })
    .await?;
    timings.push(Timing::of("anonymised sector view (service)", t));

    // 4. The pages over HTTP from the real router, signed in.
    let (_, password) = svc
        .create_user_with_password(
            &system,
            "bench.officer",
            "벤치 감독관",
            Role::RegulatorOfficer,
            None,
        )
        .await
        .map_err(service_error)?;
    let officer_cookie = svc
        .login("bench.officer", &password, None)
        .await
        .map_err(service_error)?
        .cookie_value;
    let (_, password) = svc
        .create_user_with_password(&system, "bench.ciso", "벤치 CISO", Role::Ciso, Some(first))
        .await
        .map_err(service_error)?;
    let ciso_cookie = svc
        .login("bench.ciso", &password, None)
        .await
        .map_err(service_error)?
        .cookie_value;
    let app = haechi_web::router(haechi_web::AppState::new(svc.clone()).insecure_cookies())
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    for (what, path, cookie) in [
        ("GET /insight (HTTP, loopback)", "/insight", &officer_cookie),
        (
            "GET /insight?axis=quarter (HTTP, loopback)",
            "/insight?axis=quarter",
            &officer_cookie,
        ),
        (
            "GET /insight/export.csv (HTTP, loopback)",
            "/insight/export.csv",
            &officer_cookie,
        ),
        ("GET /sector (HTTP, loopback)", "/sector", &ciso_cookie),
    ] {
        let (t, (status, bytes)) = time_runs(runs, || http_get(addr, path, cookie)).await?;
        anyhow::ensure!(status == 200, "{path} answered {status}");
        timings.push(Timing::of(&format!("{what}, {bytes} bytes"), t));
    }
    server.abort();
    for t in &timings {
        say(format!(
            "  {:<58} median {:>7.1} ms, max {:>7.1} ms ({} runs)",
            t.what, t.median_ms, t.max_ms, t.runs
        ));
    }
    let result = InsightResult {
        database,
        institutions: ids.len() as u64,
        findings_total,
        fill_seconds,
        compile_findings: figures.findings,
        compile_fixed_p1: figures
            .remediation
            .iter()
            .find(|r| r.priority == "P1")
            .map(|r| r.fixed)
            .unwrap_or(0),
        compile,
        quarterly_reports: quarterly,
        quarterly_compile_seconds,
        sector_reports: insight.reports,
        sector_institutions: insight.institutions,
        sector_findings: insight.by_sector.iter().map(|c| c.findings).sum(),
        sector_trend_periods: insight.trend.len(),
        timings,
        peak_rss_bytes: peak_rss(),
    };
    say(format!(
        "  sector insight read {} delivered reports of {} institutions ({} findings); peak RSS {:.0} MB",
        result.sector_reports,
        result.sector_institutions,
        result.sector_findings,
        result.peak_rss_bytes.unwrap_or(0) as f64 / 1e6
    ));
    svc.store().close().await;
    Ok(result)
}

pub async fn bench(command: InsightBench, database_url: Option<&str>) -> anyhow::Result<ExitCode> {
    let InsightBench::Insight {
        findings,
        total_findings,
        institutions,
        runs,
        json,
    } = command;
    anyhow::ensure!(findings > 0, "--findings must be at least 1");
    anyhow::ensure!(institutions > 0, "--institutions must be at least 1");
    anyhow::ensure!(
        total_findings >= findings,
        "--total-findings must be at least --findings"
    );
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let r = bench_one(
        "sqlite",
        &sqlite_url,
        findings,
        total_findings,
        institutions,
        runs,
        json,
    )
    .await?;
    if json {
        crate::print_json(&r)?;
    }
    if let Some(admin) = database_url.filter(|u| u.starts_with("postgres")) {
        let name = format!("haechi_bench_insight_{}", std::process::id());
        let url = haechi_store::create_scratch_postgres(admin, &name).await?;
        let result = bench_one(
            "postgres",
            &url,
            findings,
            total_findings,
            institutions,
            runs,
            json,
        )
        .await;
        haechi_store::drop_scratch_postgres(admin, &name).await?;
        let r = result?;
        if json {
            crate::print_json(&r)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
