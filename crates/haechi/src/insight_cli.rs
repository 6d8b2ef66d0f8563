//! `haechi bench insight`: compiling a report for an institution holding many findings (imported
//! through the normal path), and the regulator's sector insight and the institutions' anonymised
//! sector view over many institutions' delivered reports.
//!
//! The sector pages read the figures stored with the delivered reports (one row per report), not
//! the findings: how many findings the sector holds does not change their cost, so the bench
//! fills the institutions with delivered reports rather than with ten million findings.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use chrono::Days;
use clap::Subcommand;
use haechi_core::{Actor, InstitutionInput, Role, Sector, SizeClass};
use haechi_service::insight::{Axis, InsightQuery};

use crate::findings_cli::{bench_service, generate_file, upload};
use crate::service_error;

/// `haechi bench insight`.
#[derive(Subcommand)]
pub enum InsightBench {
    /// Import --findings findings into a fresh SQLite database (and a PostgreSQL one with
    /// --database-url postgres://…), time compiling their report; then add --institutions
    /// institutions with four delivered reports each and time the sector insight (monthly and
    /// quarterly) and the anonymised sector view.
    Insight {
        #[arg(long, default_value_t = 1_000_000)]
        findings: usize,
        #[arg(long, default_value_t = 50)]
        institutions: usize,
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

async fn bench_one(
    database: &'static str,
    url: &str,
    file: &std::path::Path,
    findings: usize,
    institutions: usize,
) -> anyhow::Result<()> {
    let (svc, inst) = bench_service(url).await?;
    let system = Actor::system();
    let started = Instant::now();
    svc.import_findings(
        &system,
        &upload(inst, None, false, file, Vec::new()),
        std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(file)?),
    )
    .await
    .map_err(service_error)?;
    let import_s = started.elapsed().as_secs_f64();
    let today = svc.today();
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let (from, until, due) = (
        day(today - Days::new(30)),
        day(today + Days::new(30)),
        day(today + Days::new(60)),
    );
    // A letter and an obligation around today, straight into the scratch database.
    let obligation = |institution: i64, sequence: i64| {
        let (svc, from, until, due) = (&svc, &from, &until, &due);
        async move {
            let mut tx = svc.store().begin().await?;
            let now = haechi_store::now_text();
            let app = tx
                .insert_application(institution, &serde_json::json!({}), &now)
                .await?;
            let letter = tx
                .insert_letter_draft(app, institution, None, "{}", None)
                .await?;
            let id = tx
                .insert_obligation(
                    letter,
                    institution,
                    "quarterly_report",
                    sequence,
                    from,
                    until,
                    due,
                )
                .await?;
            tx.commit().await?;
            anyhow::Ok(id)
        }
    };
    let ob = obligation(inst, 1).await?;
    let ciso = |institution: i64| Actor {
        user_id: 0,
        username: "bench.ciso".into(),
        role: Role::Ciso,
        institution_id: Some(institution),
    };
    let started = Instant::now();
    svc.compile_report(&ciso(inst), ob)
        .await
        .map_err(service_error)?;
    let compile_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    svc.compile_report(&ciso(inst), ob)
        .await
        .map_err(service_error)?;
    let recompile_s = started.elapsed().as_secs_f64();
    let figures = haechi_store::report_versions(svc.store().pool(), ob)
        .await?
        .pop()
        .context("the compiled report")?
        .figures_json;

    // The sector: institutions with four delivered reports each (the compiled figures).
    let asof = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).context("date")?;
    let mut reports = 0;
    for i in 0..institutions {
        let id = svc
            .create_institution(
                &system,
                InstitutionInput {
                    code: format!("BENCH-{i:03}"),
                    name_ko: format!("벤치마크기관{i}"),
                    name_en: format!("Benchmark institution {i}"),
                    sector: SECTORS[i % SECTORS.len()],
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
        for q in 1..=4 {
            let ob = obligation(id, q).await?;
            let mut tx = svc.store().begin().await?;
            let at = haechi_store::now_text();
            let rid = tx
                .insert_report(&haechi_store::NewReport {
                    obligation_id: ob,
                    institution_id: id,
                    version: 1,
                    figures_json: &figures,
                    previous_figures_json: None,
                    narrative_json: "{}",
                    by: "bench",
                    at: &at,
                })
                .await?;
            tx.freeze_report(rid, &"0".repeat(64), "bench", &at).await?;
            tx.decide_report(rid, "accepted", None, "bench", &at)
                .await?;
            tx.commit().await?;
            reports += 1;
        }
    }
    let officer = Actor {
        user_id: 0,
        username: "bench.officer".into(),
        role: Role::RegulatorOfficer,
        institution_id: None,
    };
    let mut times = Vec::new();
    for axis in [Axis::Month, Axis::Quarter, Axis::Month] {
        let started = Instant::now();
        svc.sector_insight(&officer, &InsightQuery { axis, sector: None })
            .await
            .map_err(service_error)?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let started = Instant::now();
    svc.sector_view(&ciso(inst)).await.map_err(service_error)?;
    let view_ms = started.elapsed().as_secs_f64() * 1000.0;
    println!(
        "{database}: {findings} findings imported in {import_s:.1} s; report compiled in {compile_s:.2} s, recompiled in {recompile_s:.2} s; \
         sector insight over {institutions} institutions ({reports} delivered reports): {} ms; anonymised sector view: {view_ms:.0} ms",
        times
            .iter()
            .map(|t| format!("{t:.0}"))
            .collect::<Vec<_>>()
            .join(" / ")
    );
    svc.store().close().await;
    Ok(())
}

pub async fn bench(command: InsightBench, database_url: Option<&str>) -> anyhow::Result<ExitCode> {
    let InsightBench::Insight {
        findings,
        institutions,
    } = command;
    anyhow::ensure!(findings > 0, "--findings must be at least 1");
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let file = dir.path().join("bench.sarif.gz");
    generate_file(&file, findings)?;
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    bench_one("sqlite", &sqlite_url, &file, findings, institutions).await?;
    if let Some(admin) = database_url.filter(|u| u.starts_with("postgres")) {
        let name = format!("haechi_bench_insight_{}", std::process::id());
        let url = haechi_store::create_scratch_postgres(admin, &name).await?;
        let result = bench_one("postgres", &url, &file, findings, institutions).await;
        haechi_store::drop_scratch_postgres(admin, &name).await?;
        result?;
    }
    Ok(ExitCode::SUCCESS)
}
