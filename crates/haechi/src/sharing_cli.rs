//! `haechi bench taxii`: fills a fresh database with STIX object versions in one TAXII
//! collection and times 1,000-object pages (first, middle, last; with and without filters)
//! through the same service call the TAXII server makes, printing p50 and p99 of each.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use haechi_core::Actor;
use haechi_service::{Service, ServiceConfig};
use haechi_store::{StixQuery, Store, VersionMatch};

/// `haechi bench taxii`.
#[derive(Subcommand)]
pub enum TaxiiBench {
    /// Fill a fresh SQLite database (and a PostgreSQL one with --database-url postgres://…)
    /// with N STIX object versions in one collection, then time 1,000-object TAXII pages.
    Taxii {
        #[arg(long, default_value_t = 1_000_000)]
        objects: i64,
        /// Timed requests per case.
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
}

const COLLECTION: &str = "all/green";
const PAGE: i64 = 1000;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn bench_one(backend: &str, url: &str, n: i64, runs: usize) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    let svc = Service::open(store.clone(), ServiceConfig::default())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let start = chrono::Utc::now() - chrono::Duration::seconds(n + 10);
    let t = Instant::now();
    let mut tx = store.begin_bulk(256).await?;
    tx.fill_synthetic_stix(COLLECTION, n, start).await?;
    tx.commit().await?;
    store.refresh_statistics().await?;
    println!(
        "{backend}: {n} STIX object versions filled in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let actor = Actor::system();
    let base = StixQuery {
        collection: COLLECTION.into(),
        after_seq: 0,
        added_after: None,
        ids: vec![],
        types: vec![],
        versions: VersionMatch::Last,
        spec_versions: vec![],
        limit: PAGE,
    };
    let at = |k: i64| {
        (start + chrono::Duration::seconds(k)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    };
    let filtered = |after: i64| StixQuery {
        types: vec!["indicator".into()],
        added_after: Some(at(after)),
        ..base.clone()
    };
    let cases: Vec<(&str, StixQuery)> = vec![
        ("first page", base.clone()),
        (
            "middle page",
            StixQuery {
                after_seq: n / 2,
                ..base.clone()
            },
        ),
        (
            "last page",
            StixQuery {
                after_seq: (n - PAGE).max(0),
                ..base.clone()
            },
        ),
        ("first, type+added_after", filtered(0)),
        ("middle, type+added_after", filtered(n / 2)),
        ("last, type+added_after", filtered((n - PAGE).max(0))),
        (
            "first, match[version]=all",
            StixQuery {
                versions: VersionMatch::All,
                ..base.clone()
            },
        ),
    ];
    println!(
        "{:<28} {:>8} {:>10} {:>10}",
        "case", "objects", "p50 ms", "p99 ms"
    );
    for (name, q) in cases {
        let mut times = Vec::with_capacity(runs);
        let mut got = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let rows = svc
                .taxii_page(&actor, &q)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            times.push(t.elapsed().as_secs_f64() * 1e3);
            got = rows.len().min(PAGE as usize);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{name:<28} {got:>8} {:>10.1} {:>10.1}",
            percentile(&times, 0.5),
            percentile(&times, 0.99)
        );
    }
    store.close().await;
    Ok(())
}

pub async fn bench(command: TaxiiBench, database_url: Option<&str>) -> anyhow::Result<ExitCode> {
    let TaxiiBench::Taxii { objects, runs } = command;
    anyhow::ensure!(objects > 0, "--objects must be at least 1");
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    bench_one("sqlite", &sqlite_url, objects, runs.max(1)).await?;
    if let Some(admin) = database_url.filter(|u| u.starts_with("postgres")) {
        let name = format!("haechi_bench_taxii_{}", std::process::id());
        let url = haechi_store::create_scratch_postgres(admin, &name).await?;
        let result = bench_one("postgres", &url, objects, runs.max(1)).await;
        haechi_store::drop_scratch_postgres(admin, &name).await?;
        result?;
    }
    Ok(ExitCode::SUCCESS)
}
