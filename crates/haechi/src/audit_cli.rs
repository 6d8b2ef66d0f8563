//! `haechi audit verify [--full]` and `haechi bench audit`: the audit log's hash chain checked
//! from its newest checkpoint (or whole), and the figures that show the check stays fast on a
//! log of millions of entries.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use haechi_core::Actor;
use haechi_service::Service;
use haechi_store::{AuditFilter, AuditRecord, Store};

/// `haechi bench audit`.
#[derive(Subcommand)]
pub enum AuditBench {
    /// Fill a fresh SQLite database (and a PostgreSQL one with --database-url postgres://…) with
    /// N chained entries, then time the full walk, a checkpoint, the incremental check after
    /// 1,000 more entries, and the audit page's first-page query.
    Audit {
        #[arg(long, default_value_t = 1_000_000)]
        entries: i64,
    },
}

/// Verifies the chain (incrementally from the newest checkpoint, or whole with `full`) and, when
/// intact, writes a checkpoint so the next check starts at today's head.
pub async fn verify(svc: &Service, full: bool) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (v, checkpoint) = svc
        .checkpoint_audit(&Actor::system(), full)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let took = started.elapsed().as_secs_f64();
    match v.first_bad {
        None => {
            if v.verified_from > 0 {
                println!(
                    "audit log intact: {} entries (entries {}..{} walked in {took:.2} s; the earlier ones were verified when checkpoint entry {} was written; --full walks them all)",
                    v.entries,
                    v.verified_from + 1,
                    v.entries,
                    svc.store()
                        .latest_audit_checkpoint()
                        .await?
                        .map_or(0, |c| c.seq)
                );
            } else {
                println!(
                    "audit log intact: {} entries (all walked in {took:.2} s)",
                    v.entries
                );
            }
            if let Some(seq) = checkpoint {
                println!(
                    "checkpoint written as entry {seq}, vouching for entry {}",
                    v.entries
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Some((seq, why)) => {
            eprintln!("audit log BROKEN at entry {seq}: {why}");
            Ok(ExitCode::FAILURE)
        }
    }
}

struct Figures {
    backend: &'static str,
    entries: i64,
    fill_s: f64,
    full_s: f64,
    checkpoint_ms: f64,
    incremental_ms: f64,
    page_ms: f64,
}

async fn bench_one(backend: &'static str, url: &str, n: i64) -> anyhow::Result<Figures> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    let t = Instant::now();
    store.append_synthetic_audit(n).await?;
    let fill_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let full = store.verify_audit().await?;
    let full_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(full.intact, "the synthetic chain does not verify: {full:?}");

    let t = Instant::now();
    let mut tx = store.begin().await?;
    let rec = AuditRecord {
        actor_id: 0,
        actor_name: "system".into(),
        actor_role: "system".into(),
        action: String::new(),
        entity: String::new(),
        entity_id: String::new(),
        institution_id: None,
        before: None,
        after: None,
    };
    let cp = tx
        .audit_checkpoint(rec, full.entries, &full.last_hash)
        .await?;
    tx.commit().await?;
    let checkpoint_ms = t.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(cp.is_some(), "no checkpoint written");

    // A busy hour's worth of new entries after the checkpoint.
    store.append_synthetic_audit(1_000).await?;
    let t = Instant::now();
    let inc = store.verify_audit_incremental().await?;
    let incremental_ms = t.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(inc.intact && inc.verified_from == n, "{inc:?}");

    // What the audit page reads besides the check: the first page of 50 and the count.
    let t = Instant::now();
    let (rows, total) = store
        .audit_entries(&AuditFilter {
            limit: 51,
            ..Default::default()
        })
        .await?;
    let page_ms = t.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(rows.len() == 51 && total == n + 1_001, "{total}");
    store.close().await;
    Ok(Figures {
        backend,
        entries: n,
        fill_s,
        full_s,
        checkpoint_ms,
        incremental_ms,
        page_ms,
    })
}

fn print(f: &Figures) {
    println!("{} — {} audit entries", f.backend, f.entries);
    println!("  {:<52} {:>9.2} s", "fill (synthetic, chained):", f.fill_s);
    println!("  {:<52} {:>9.2} s", "full verify (every entry):", f.full_s);
    println!(
        "  {:<52} {:>9.1} ms",
        "checkpoint written:", f.checkpoint_ms
    );
    println!(
        "  {:<52} {:>9.1} ms",
        "incremental verify (checkpoint + 1,000 new entries):", f.incremental_ms
    );
    println!(
        "  {:<52} {:>9.1} ms",
        "audit page query (first 50 + count):", f.page_ms
    );
}

pub async fn bench(command: AuditBench, database_url: Option<&str>) -> anyhow::Result<ExitCode> {
    let AuditBench::Audit { entries } = command;
    anyhow::ensure!(entries > 0, "--entries must be at least 1");
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let sqlite_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    print(&bench_one("sqlite", &sqlite_url, entries).await?);
    if let Some(admin) = database_url.filter(|u| u.starts_with("postgres")) {
        let name = format!("haechi_bench_audit_{}", std::process::id());
        let url = haechi_store::create_scratch_postgres(admin, &name).await?;
        let result = bench_one("postgres", &url, entries).await;
        haechi_store::drop_scratch_postgres(admin, &name).await?;
        print(&result?);
    }
    Ok(ExitCode::SUCCESS)
}
