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
    /// The audit page as served (query, incremental check, rendering), over loopback HTTP.
    rendered: Vec<(&'static str, f64)>,
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
    let rendered = render_times(&store).await?;
    store.close().await;
    Ok(Figures {
        backend,
        entries: n,
        fill_s,
        full_s,
        checkpoint_ms,
        incremental_ms,
        page_ms,
        rendered,
    })
}

/// Serves the portal over this store on loopback and times the audit page as an auditor opens
/// it (median of 3): the first page, a later page, and pages filtered by actor, action and
/// institution.
async fn render_times(store: &Store) -> anyhow::Result<Vec<(&'static str, f64)>> {
    use haechi_service::ServiceConfig;
    let svc = Service::open(store.clone(), ServiceConfig::default())
        .await
        .map_err(crate::service_error)?;
    let system = Actor::system();
    let user = svc
        .create_user(
            &system,
            "bench-auditor",
            "Bench Auditor",
            haechi_core::Role::Auditor,
            None,
        )
        .await
        .map_err(crate::service_error)?;
    let password = crate::random_password();
    svc.set_password(&system, user.id, &password)
        .await
        .map_err(crate::service_error)?;
    let session = svc
        .login("bench-auditor", &password, None)
        .await
        .map_err(crate::service_error)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = haechi_web::router(haechi_web::AppState::new(svc))
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let cookie = format!(
        "{}={}",
        haechi_web::portal::SESSION_COOKIE,
        session.cookie_value
    );
    let pages: [(&'static str, &'static str); 5] = [
        ("first page", "/audit"),
        ("page 1,000", "/audit?page=1000"),
        ("actor = officer3 (1 in 7)", "/audit?actor=officer3"),
        (
            "action = session.login (rare)",
            "/audit?action=session.login",
        ),
        ("institution 7 (1 in 40)", "/audit?institution=7"),
    ];
    let mut out = Vec::new();
    let result: anyhow::Result<()> = async {
        let mut conn = crate::serve_bench::connect(addr).await?;
        for (name, path) in pages {
            let mut times = Vec::new();
            for _ in 0..3 {
                let req = hyper::Request::get(path)
                    .header(hyper::header::HOST, addr.to_string())
                    .header(hyper::header::COOKIE, &cookie)
                    .body(http_body_util::Full::new(bytes::Bytes::new()))?;
                let t = Instant::now();
                let (status, _, _) = crate::serve_bench::exchange(&mut conn, req).await?;
                times.push(t.elapsed().as_secs_f64() * 1e3);
                anyhow::ensure!(status == hyper::StatusCode::OK, "{path}: HTTP {status}");
            }
            times.sort_by(f64::total_cmp);
            out.push((name, times[1]));
        }
        Ok(())
    }
    .await;
    server.abort();
    result?;
    Ok(out)
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
    for (name, ms) in &f.rendered {
        println!(
            "  {:<52} {:>9.1} ms",
            format!("audit page served, {name}:"),
            ms
        );
    }
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
