//! Crash consistency (issue #18 item 2): the real `haechi` binary is killed with SIGKILL at a
//! random point of an operation, started again, and the database is checked.
//!
//! Scenarios, each on SQLite and on PostgreSQL (a fresh database per trial, made from a prepared
//! template database on the server at `HAECHI_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; `HAECHI_TEST_POSTGRES=skip` skips it):
//! - a large findings import (`haechi findings import`);
//! - a findings upload to `haechi serve` over HTTP (the server killed during the upload or the
//!   import that follows it);
//! - a cohort confirmation (`POST /api/v1/phases/phase-3/cohort`, which drafts every member's
//!   letter in the same transaction);
//! - a letter issue (every drafted letter of the confirmed cohort issued, one request each);
//! - `haechi migrate-db` from SQLite into a fresh SQLite file or PostgreSQL database.
//!
//! After every kill: `PRAGMA integrity_check` (SQLite), the operation all or nothing, the audit
//! chain verified whole by `haechi audit verify --full`, and, after a restart, no findings import
//! left `queued` or `running` (the restart fails it as abandoned once its lease has passed).
//!
//! Trials per scenario and backend: `HAECHI_CRASH_TRIALS` (default 5); kill points come from
//! `HAECHI_CRASH_SEED` (default 18), printed with every trial so a failure replays. Each test prints
//! one `CRASH ...` summary line; `scripts/crash.sh` runs them all at 100 trials and sums them up.

// As clippy.toml says for tests: a panic here is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use haechi_service::{Service, ServiceConfig};
use haechi_store::{with_database, Store};
use rand::{Rng, SeedableRng};
use sqlx::{Connection, Executor};

/// The import lease the children run with: a dead node's import is failed this long after its
/// last heartbeat.
const LEASE_SECONDS: u64 = 1;

/// One scenario at a time: each measures how long its operation takes to spread the kills over
/// it, which other scenarios running beside it would skew.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn trials() -> usize {
    std::env::var("HAECHI_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(5)
}

fn seed() -> u64 {
    std::env::var("HAECHI_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(18)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---------------------------------------------------------------- databases

#[derive(Clone, Copy, Debug, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

fn postgres_admin_url() -> Option<String> {
    if std::env::var("HAECHI_TEST_POSTGRES").as_deref() == Ok("skip") {
        eprintln!("HAECHI_TEST_POSTGRES=skip: the PostgreSQL trials are SKIPPED");
        return None;
    }
    Some(
        std::env::var("HAECHI_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string()),
    )
}

/// A fresh PostgreSQL database (a copy of `template` when given), dropped with its connections
/// when this goes out of scope.
struct PgDb {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDb {
    fn create(admin_url: &str, template: Option<&str>) -> PgDb {
        let nonce: u64 = rand::random();
        let name = format!("haechi_crash_{nonce:016x}");
        let sql = match template {
            Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t}"),
            None => format!("CREATE DATABASE {name}"),
        };
        block_on(async {
            sqlx::any::install_default_drivers();
            let mut admin = sqlx::AnyConnection::connect(admin_url)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} does not answer ({e}); set HAECHI_TEST_POSTGRES=skip to skip it"));
            admin.execute(sql.as_str()).await.unwrap();
            admin.close().await.unwrap();
        });
        PgDb {
            admin_url: admin_url.to_string(),
            url: with_database(admin_url, &name),
            name,
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            block_on(async move {
                let mut admin = sqlx::AnyConnection::connect(&admin_url).await?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}

/// One instance: a data directory (SQLite file, letter-signing key) and its database.
struct Instance {
    dir: tempfile::TempDir,
    url: String,
    backend: Backend,
    _pg: Option<PgDb>,
}

impl Instance {
    fn new(backend: Backend, admin_url: Option<&str>) -> Instance {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg) = match backend {
            Backend::Sqlite => (format!("sqlite://{}/haechi.db", dir.path().display()), None),
            Backend::Postgres => {
                let db = PgDb::create(admin_url.unwrap(), None);
                (db.url.clone(), Some(db))
            }
        };
        Instance {
            dir,
            url,
            backend,
            _pg: pg,
        }
    }

    /// A copy of this (prepared, closed) instance for one trial.
    fn copy(&self, admin_url: Option<&str>) -> Instance {
        let dir = tempfile::tempdir().unwrap();
        settle(self.dir.path());
        copy_dir(self.dir.path(), dir.path());
        let (url, pg) = match self.backend {
            Backend::Sqlite => (format!("sqlite://{}/haechi.db", dir.path().display()), None),
            Backend::Postgres => {
                let name = self._pg.as_ref().unwrap().name.clone();
                let db = PgDb::create(admin_url.unwrap(), Some(&name));
                (db.url.clone(), Some(db))
            }
        };
        Instance {
            dir,
            url,
            backend: self.backend,
            _pg: pg,
        }
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The instance's own temporary directory (its servers spool uploads there).
    fn tmp(&self) -> PathBuf {
        let tmp = self.dir().join("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        tmp
    }

    /// `haechi` on this instance: data directory, database, temporary directory and the short
    /// lease.
    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_haechi"));
        for (k, _) in std::env::vars() {
            if k.starts_with("HAECHI_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("RUST_LOG", "error")
            .env("TMPDIR", self.tmp())
            .env("RUST_BACKTRACE", "0")
            .env("HAECHI_IMPORT_LEASE_SECONDS", LEASE_SECONDS.to_string())
            .arg("--data-dir")
            .arg(self.dir())
            .arg("--database-url")
            .arg(&self.url);
        cmd
    }

    /// Runs `haechi ARGS` to the end; panics with its output unless it succeeds.
    fn run_ok(&self, args: &[&str], what: &str) -> String {
        let out = self.command().args(args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{what}: {:?}\nstdout:\n{stdout}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    async fn store(&self) -> Store {
        let store = Store::connect(&self.url).await.unwrap();
        store.migrate().await.unwrap();
        store
    }

    /// A start after the crash, once the dead process's lease has run out (any command that
    /// opens the service sweeps abandoned imports), then the checks every trial shares.
    fn restart_and_check(&self, label: &str) {
        std::thread::sleep(Duration::from_millis(LEASE_SECONDS * 1000 + 300));
        self.run_ok(
            &["policy", "show"],
            &format!("{label}: a start after the kill"),
        );
        self.check_common(label);
    }

    /// Integrity, the audit chain and no import left open.
    fn check_common(&self, label: &str) {
        block_on(async {
            let store = self.store().await;
            if self.backend == Backend::Sqlite {
                let ok = store.integrity_check().await.unwrap();
                assert_eq!(ok.as_deref(), Some("ok"), "{label}: PRAGMA integrity_check");
            }
            let open: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM finding_imports WHERE state IN ('queued', 'running')",
            )
            .fetch_one(store.pool())
            .await
            .unwrap();
            assert_eq!(open, 0, "{label}: an import is left open after the restart");
            store.close().await;
        });
        self.run_ok(
            &["audit", "verify", "--full"],
            &format!("{label}: the audit chain"),
        );
    }
}

/// Waits until SQLite has folded the write-ahead log of a closed instance back into its file:
/// the last connection to close (a store's checkpointer closes its own a moment after the pool)
/// checkpoints and deletes the log, which a copy taken meanwhile could miss half of.
fn settle(dir: &Path) {
    let wal = dir.join("haechi.db-wal");
    let started = Instant::now();
    while wal.exists() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        // SQLite rebuilds its shared-memory index from the log; a copy of it is never needed.
        if entry.file_name().to_string_lossy().ends_with("-shm") {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn backends() -> Vec<(Backend, Option<String>)> {
    let mut out = vec![(Backend::Sqlite, None)];
    if let Some(url) = postgres_admin_url() {
        out.push((Backend::Postgres, Some(url)));
    }
    out
}

// ---------------------------------------------------------------- tallies

/// What the trials of one scenario on one backend saw.
#[derive(Default)]
struct Tally {
    trials: usize,
    /// Trials whose process was still running when it was killed.
    kills: usize,
    committed: usize,
    rolled_back: usize,
    /// Trials that left part of a multi-request batch done (each request whole).
    partial: usize,
    /// Imports the restart failed as abandoned.
    abandoned: usize,
    /// Other notes (e.g. kills during the upload itself).
    note: String,
}

impl Tally {
    fn print(&self, scenario: &str, backend: Backend) {
        println!(
            "CRASH scenario={scenario} backend={} trials={} kills={} committed={} rolled_back={} partial={} abandoned_imports_failed={} failures=0 seed={}{}",
            backend.name(),
            self.trials,
            self.kills,
            self.committed,
            self.rolled_back,
            self.partial,
            self.abandoned,
            seed(),
            self.note
        );
    }
}

/// Kills `child` after `at` (SIGKILL: no destructor, no rollback by the process); returns
/// whether it was still running then.
fn kill_after(child: &mut Child, at: Duration) -> bool {
    kill_or_finish(child, at).is_none()
}

/// As [`kill_after`], counting from now; returns how long the child took when it ended by
/// itself before `at` (`None`: killed while running).
fn kill_or_finish(child: &mut Child, at: Duration) -> Option<Duration> {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Some(started.elapsed());
        }
        let left = at.saturating_sub(started.elapsed());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(5)));
    }
    // Child::kill is SIGKILL on Unix.
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// The operation's length the kill points are spread over: the probe's, raised to the longest
/// a trial took when it ran to its end (a loaded machine runs slower than the probe did, which
/// would otherwise crowd every kill before the commit).
fn longest(whole: &mut Duration, finished: Option<Duration>) -> bool {
    if let Some(d) = finished {
        *whole = (*whole).max(d);
    }
    finished.is_none()
}

// ---------------------------------------------------------------- HTTP on loopback

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request (`Connection: close`); the body is written in 64 KiB pieces, `pause`
/// apart (a slow client), each counted in `sent`. Returns the status and the body.
fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
    pause: Duration,
    sent: Option<&AtomicU64>,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    for piece in body.chunks(64 * 1024) {
        s.write_all(piece)?;
        if let Some(c) = sent {
            c.fetch_add(piece.len() as u64, Ordering::Relaxed);
        }
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// `haechi serve` on a free port of this instance, answering `/healthz`.
fn serve(inst: &Instance) -> (Child, u16) {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let mut child = inst.spawn(&["serve", "--bind", &bind]);
    let started = Instant::now();
    loop {
        if let Ok((200, _)) = http(port, "GET", "/healthz", None, b"", Duration::ZERO, None) {
            return (child, port);
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("haechi serve exited at start: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "haechi serve did not answer within a minute"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An API token for a new user (`admin create-user`).
fn token(inst: &Instance, username: &str, role: &str, institution: Option<&str>) -> String {
    let mut args = vec![
        "admin",
        "create-user",
        "--username",
        username,
        "--role",
        role,
    ];
    if let Some(code) = institution {
        args.extend(["--institution", code]);
    }
    let out = inst.run_ok(&args, "create a user");
    out.split_whitespace()
        .find(|w| w.starts_with("hct_"))
        .unwrap_or_else(|| panic!("no token in: {out}"))
        .to_string()
}

// ---------------------------------------------------------------- preparing instances

async fn open_service(url: &str) -> (Store, Service) {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let svc = Service::open(store.clone(), ServiceConfig::default())
        .await
        .unwrap();
    (store, svc)
}

/// An instance holding one institution (code KILL); returns it and the institution's id.
fn with_institution(backend: Backend, admin_url: Option<&str>) -> (Instance, i64) {
    let inst = Instance::new(backend, admin_url);
    let id = block_on(async {
        let (store, svc) = open_service(&inst.url).await;
        let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        let id = svc
            .create_institution(
                &haechi_core::Actor::system(),
                haechi_core::InstitutionInput {
                    code: "KILL".into(),
                    name_ko: "중단은행".into(),
                    name_en: "Kill Bank".into(),
                    sector: haechi_core::Sector::Bank,
                    total_assets_krw: 1_000_000_000_000,
                    assets_as_of: day,
                    full_time_employees: 100,
                    employees_as_of: day,
                    dedicated_ciso: true,
                    ciso_name: Some("Kim".into()),
                    size_class: haechi_core::SizeClass::Large,
                    contact_name: None,
                    contact_email: None,
                    contact_phone: None,
                },
            )
            .await
            .unwrap()
            .id;
        store.close().await;
        id
    });
    (inst, id)
}

/// An instance holding the demo's history.
fn with_demo(backend: Backend, admin_url: Option<&str>) -> Instance {
    let inst = Instance::new(backend, admin_url);
    block_on(async {
        let (store, svc) = open_service(&inst.url).await;
        haechi_service::demo::seed(&svc)
            .await
            .expect("seed the demo");
        store.close().await;
    });
    inst
}

async fn count(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Findings, succeeded imports and imports failed as abandoned.
fn import_state(inst: &Instance) -> (i64, i64, i64) {
    block_on(async {
        let store = inst.store().await;
        let n = count(&store, "SELECT COUNT(*) FROM findings").await;
        let ok = count(
            &store,
            "SELECT COUNT(*) FROM finding_imports WHERE state = 'succeeded'",
        )
        .await;
        let abandoned = count(
            &store,
            "SELECT COUNT(*) FROM finding_imports WHERE state = 'failed' AND error_code = 'import_abandoned'",
        )
        .await;
        store.close().await;
        (n, ok, abandoned)
    })
}

// ---------------------------------------------------------------- findings import (CLI)

#[test]
fn crash_findings_import() {
    let _serial = serial();
    const RESULTS: usize = 20_000;
    for (backend, admin) in backends() {
        let admin = admin.as_deref();
        let (template, inst_id) = with_institution(backend, admin);
        let sarif = template.dir().join("big.sarif");
        haechi_formats::sarif::synth::generate(std::fs::File::create(&sarif).unwrap(), RESULTS, 7)
            .unwrap();
        let id = inst_id.to_string();
        let args = ["findings", "import", "--institution", &id, path_str(&sarif)];
        let probe = template.copy(admin);
        let started = Instant::now();
        probe.run_ok(&args, "a whole import");
        let mut whole = started.elapsed();
        drop(probe);

        let mut rng = rand::rngs::StdRng::seed_from_u64(seed());
        let mut t = Tally::default();
        for trial in 0..trials() {
            let inst = template.copy(admin);
            let at = whole.mul_f64(rng.gen_range(0.05..1.2));
            let label = format!(
                "findings import, {} trial {trial} (seed {}) killed at {at:?} of {whole:?}",
                backend.name(),
                seed()
            );
            let mut child = inst.spawn(&args);
            t.kills += usize::from(longest(&mut whole, kill_or_finish(&mut child, at)));
            inst.restart_and_check(&label);
            let (findings, succeeded, abandoned) = import_state(&inst);
            match (findings, succeeded) {
                (0, 0) => t.rolled_back += 1,
                (n, 1) if n == RESULTS as i64 => t.committed += 1,
                other => panic!("{label}: findings/succeeded imports {other:?}"),
            }
            t.abandoned += abandoned as usize;
            t.trials += 1;
        }
        t.print("findings_import", backend);
        assert_eq!(t.committed + t.rolled_back, t.trials);
    }
}

// ---------------------------------------------------------------- findings upload (serve)

#[test]
fn crash_server_during_findings_upload() {
    let _serial = serial();
    const RESULTS: usize = 10_000;
    for (backend, admin) in backends() {
        let admin = admin.as_deref();
        let (template, inst_id) = with_institution(backend, admin);
        let ciso = token(&template, "kill.ciso", "ciso", Some("KILL"));
        let mut body = Vec::new();
        haechi_formats::sarif::synth::generate(&mut body, RESULTS, 11).unwrap();
        let path = format!("/api/v1/findings/imports?institution_id={inst_id}&filename=big.sarif");
        // A slow client: the upload itself takes a good part of the operation.
        let pause = Duration::from_millis(2);

        // How long an upload and its import take here.
        let probe = template.copy(admin);
        let (mut server, port) = serve(&probe);
        let started = Instant::now();
        let (status, answer) = http(port, "POST", &path, Some(&ciso), &body, pause, None).unwrap();
        assert_eq!(status, 202, "{answer}");
        let import = json(&answer)["import_id"].as_i64().unwrap();
        loop {
            let (_, st) = http(
                port,
                "GET",
                &format!("/api/v1/findings/imports/{import}"),
                Some(&ciso),
                b"",
                Duration::ZERO,
                None,
            )
            .unwrap();
            match json(&st)["state"].as_str() {
                Some("succeeded") => break,
                Some("queued" | "running") => std::thread::sleep(Duration::from_millis(20)),
                other => panic!("the probe import ended {other:?}: {st}"),
            }
        }
        let whole = started.elapsed();
        let _ = server.kill();
        let _ = server.wait();
        drop(probe);

        let mut rng = rand::rngs::StdRng::seed_from_u64(seed());
        let mut t = Tally::default();
        let mut during_upload = 0;
        for trial in 0..trials() {
            let inst = template.copy(admin);
            let (mut server, port) = serve(&inst);
            // Up to twice the probe's time: a trial's server runs the import slower than the
            // probe's did (fresh process, loaded machine; 2 of 50 committed with 1.1).
            let at = whole.mul_f64(rng.gen_range(0.0..2.0));
            let label = format!(
                "upload, {} trial {trial} (seed {}) killed at {at:?} of {whole:?}",
                backend.name(),
                seed()
            );
            let sent = Arc::new(AtomicU64::new(0));
            let client = {
                let (sent, body, path, ciso) =
                    (sent.clone(), body.clone(), path.clone(), ciso.clone());
                std::thread::spawn(move || {
                    http(port, "POST", &path, Some(&ciso), &body, pause, Some(&sent))
                })
            };
            t.kills += usize::from(kill_after(&mut server, at));
            if sent.load(Ordering::Relaxed) < body.len() as u64 {
                during_upload += 1;
            }
            // The client sees the connection end (or its answer, when the upload was through).
            let _ = client.join().unwrap();
            // The server starts again after the lease; its start fails an abandoned import.
            std::thread::sleep(Duration::from_millis(LEASE_SECONDS * 1000 + 300));
            let (mut again, port) = serve(&inst);
            let (_, list) = http(
                port,
                "GET",
                "/api/v1/findings/imports",
                Some(&ciso),
                b"",
                Duration::ZERO,
                None,
            )
            .unwrap();
            let list = json(&list);
            for i in list
                .as_array()
                .into_iter()
                .flatten()
                .chain(list["items"].as_array().into_iter().flatten())
            {
                let state = i["state"].as_str().unwrap_or_default();
                assert!(
                    matches!(state, "succeeded" | "failed"),
                    "{label}: the restarted server shows an import {state}: {i}"
                );
                if state == "failed" {
                    assert_eq!(i["error_code"], "import_abandoned", "{label}: {i}");
                }
            }
            let _ = again.kill();
            let _ = again.wait();
            // The restarted server removed what the killed one had spooled.
            let left: Vec<_> = std::fs::read_dir(inst.tmp())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert!(
                left.is_empty(),
                "{label}: upload files left behind: {left:?}"
            );
            inst.check_common(&label);
            let (findings, succeeded, abandoned) = import_state(&inst);
            match (findings, succeeded) {
                (0, 0) => t.rolled_back += 1,
                (n, 1) if n == RESULTS as i64 => t.committed += 1,
                other => panic!("{label}: findings/succeeded imports {other:?}"),
            }
            t.abandoned += abandoned as usize;
            t.trials += 1;
        }
        t.note = format!(" killed_during_upload={during_upload}");
        t.print("server_upload", backend);
        assert_eq!(t.committed + t.rolled_back, t.trials);
    }
}

// ---------------------------------------------------------------- cohort confirmation (serve)

/// Cohorts, members and letters of phase 3.
fn phase3(inst: &Instance) -> (i64, i64, i64) {
    block_on(async {
        let store = inst.store().await;
        let c = count(
            &store,
            "SELECT COUNT(*) FROM cohorts WHERE phase_id = 'phase-3'",
        )
        .await;
        let m = count(
            &store,
            "SELECT COUNT(*) FROM cohort_members WHERE phase_id = 'phase-3'",
        )
        .await;
        let l = count(
            &store,
            "SELECT COUNT(*) FROM letters WHERE phase_id = 'phase-3'",
        )
        .await;
        store.close().await;
        (c, m, l)
    })
}

#[test]
fn crash_cohort_confirmation() {
    let _serial = serial();
    for (backend, admin) in backends() {
        let admin = admin.as_deref();
        let template = with_demo(backend, admin);
        let officer = token(&template, "kill.officer", "regulator_officer", None);
        assert_eq!(
            phase3(&template),
            (0, 0, 0),
            "phase 3 is not confirmed in the demo"
        );

        let probe = template.copy(admin);
        let (mut server, port) = serve(&probe);
        let started = Instant::now();
        let (status, answer) = http(
            port,
            "POST",
            "/api/v1/phases/phase-3/cohort",
            Some(&officer),
            b"{}",
            Duration::ZERO,
            None,
        )
        .unwrap();
        let whole = started.elapsed();
        assert_eq!(status, 201, "{answer}");
        let _ = server.kill();
        let _ = server.wait();
        let (_, members, letters) = phase3(&probe);
        assert!(
            members > 0 && letters == members,
            "{members} members, {letters} letters"
        );
        drop(probe);

        let mut rng = rand::rngs::StdRng::seed_from_u64(seed());
        let mut t = Tally::default();
        for trial in 0..trials() {
            let inst = template.copy(admin);
            let (mut server, port) = serve(&inst);
            let at = whole.mul_f64(rng.gen_range(0.0..1.3));
            let label = format!(
                "cohort, {} trial {trial} (seed {}) killed at {at:?} of {whole:?}",
                backend.name(),
                seed()
            );
            let officer = officer.clone();
            let client = std::thread::spawn(move || {
                http(
                    port,
                    "POST",
                    "/api/v1/phases/phase-3/cohort",
                    Some(&officer),
                    b"{}",
                    Duration::ZERO,
                    None,
                )
            });
            t.kills += usize::from(kill_after(&mut server, at));
            let _ = client.join().unwrap();
            inst.restart_and_check(&label);
            match phase3(&inst) {
                (0, 0, 0) => t.rolled_back += 1,
                (1, m, l) if m == members && l == members => t.committed += 1,
                other => panic!("{label}: cohorts/members/letters of phase 3 {other:?}, expected (0, 0, 0) or (1, {members}, {members})"),
            }
            t.trials += 1;
        }
        t.print("cohort_confirmation", backend);
    }
}

// ---------------------------------------------------------------- letter issue (serve)

/// Checks the letters of phase 3: each a draft (no number, file or obligations) or issued with a
/// signature that verifies, numbers of the year gapless and the sequence counter at the last;
/// returns how many are issued.
fn check_letters(inst: &Instance, order: &[i64], label: &str) -> usize {
    block_on(async {
        let (store, svc) = open_service(&inst.url).await;
        let mut issued = Vec::new();
        for id in order {
            let row = sqlx::query_as::<_, (String, Option<String>, Option<String>)>(
                "SELECT state, letter_number, signed_file FROM letters WHERE id = $1",
            )
            .bind(*id)
            .fetch_one(store.pool())
            .await
            .unwrap();
            let obligations = count(
                &store,
                &format!("SELECT COUNT(*) FROM obligations WHERE letter_id = {id}"),
            )
            .await;
            match row {
                (state, None, None) if state == "draft" => {
                    assert_eq!(obligations, 0, "{label}: draft letter {id} has obligations")
                }
                (state, Some(number), Some(file)) if state == "issued" => {
                    let check = svc.verify_letter_file(file.as_bytes()).await.unwrap();
                    assert_eq!(
                        check.outcome, "valid",
                        "{label}: letter {id} {number}: {}",
                        check.reason
                    );
                    assert_eq!(check.letter_number.as_deref(), Some(number.as_str()));
                    assert!(
                        obligations > 0,
                        "{label}: issued letter {id} has no obligations"
                    );
                    issued.push(*id);
                }
                other => panic!("{label}: letter {id} half issued: {other:?}"),
            }
        }
        // Issued in order, one request each: what is issued is a prefix of the order.
        assert_eq!(
            issued.as_slice(),
            &order[..issued.len()],
            "{label}: issued out of order"
        );
        // Every number of every year is used once, from 1 up to the year's counter.
        let numbers: Vec<String> =
            sqlx::query_scalar("SELECT letter_number FROM letters WHERE letter_number IS NOT NULL")
                .fetch_all(store.pool())
                .await
                .unwrap();
        let mut by_year: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
        for n in &numbers {
            let mut parts = n.rsplit('-');
            let seq: i64 = parts.next().unwrap().parse().unwrap();
            let year: i64 = parts.next().unwrap().parse().unwrap();
            by_year.entry(year).or_default().push(seq);
        }
        for (year, mut seqs) in by_year {
            seqs.sort_unstable();
            let last: i64 =
                sqlx::query_scalar("SELECT last_seq FROM letter_sequences WHERE year = $1")
                    .bind(year)
                    .fetch_one(store.pool())
                    .await
                    .unwrap();
            assert_eq!(
                seqs,
                (1..=last).collect::<Vec<_>>(),
                "{label}: letter numbers of {year}"
            );
        }
        store.close().await;
        issued.len()
    })
}

#[test]
fn crash_letter_issue() {
    let _serial = serial();
    for (backend, admin) in backends() {
        let admin = admin.as_deref();
        let template = with_demo(backend, admin);
        let officer = token(&template, "kill.officer", "regulator_officer", None);
        let order: Vec<i64> = block_on(async {
            let (store, svc) = open_service(&template.url).await;
            let actor = haechi_core::Actor {
                user_id: 0,
                username: "kill.officer".into(),
                role: haechi_core::Role::RegulatorOfficer,
                institution_id: None,
            };
            svc.confirm_cohort(&actor, "phase-3", None).await.unwrap();
            let ids = sqlx::query_scalar(
                "SELECT id FROM letters WHERE phase_id = 'phase-3' AND state = 'draft' ORDER BY id",
            )
            .fetch_all(store.pool())
            .await
            .unwrap();
            store.close().await;
            ids
        });
        assert!(!order.is_empty());
        // The server's first start registers its signing key; done once, in the template.
        let (mut server, _) = serve(&template);
        let _ = server.kill();
        let _ = server.wait();
        let issue_all = move |port: u16, officer: String, order: Vec<i64>| {
            for id in order {
                let (status, body) = http(
                    port,
                    "POST",
                    &format!("/api/v1/letters/{id}/issue"),
                    Some(&officer),
                    b"",
                    Duration::ZERO,
                    None,
                )?;
                if status != 200 {
                    return Err(std::io::Error::other(format!("{status}: {body}")));
                }
            }
            Ok::<(), std::io::Error>(())
        };

        let probe = template.copy(admin);
        let (mut server, port) = serve(&probe);
        let started = Instant::now();
        issue_all(port, officer.clone(), order.clone()).unwrap();
        let whole = started.elapsed();
        let _ = server.kill();
        let _ = server.wait();
        assert_eq!(check_letters(&probe, &order, "probe"), order.len());
        drop(probe);

        let mut rng = rand::rngs::StdRng::seed_from_u64(seed());
        let mut t = Tally::default();
        for trial in 0..trials() {
            let inst = template.copy(admin);
            let (mut server, port) = serve(&inst);
            let at = whole.mul_f64(rng.gen_range(0.0..1.1));
            let label = format!(
                "letters, {} trial {trial} (seed {}) killed at {at:?} of {whole:?}",
                backend.name(),
                seed()
            );
            let client = {
                let (officer, order) = (officer.clone(), order.clone());
                std::thread::spawn(move || issue_all(port, officer, order))
            };
            t.kills += usize::from(kill_after(&mut server, at));
            let _ = client.join().unwrap();
            inst.restart_and_check(&label);
            match check_letters(&inst, &order, &label) {
                0 => t.rolled_back += 1,
                n if n == order.len() => t.committed += 1,
                _ => t.partial += 1,
            }
            t.trials += 1;
        }
        t.note = format!(" letters_per_batch={}", order.len());
        t.print("letter_issue", backend);
    }
}

// ---------------------------------------------------------------- migrate-db

#[test]
fn crash_migrate_db() {
    let _serial = serial();
    // The source is always the demo on SQLite; the target SQLite or PostgreSQL.
    let source = with_demo(Backend::Sqlite, None);
    let expected = block_on(async {
        let store = source.store().await;
        let sums = store.table_checksums().await.unwrap();
        store.close().await;
        sums
    });
    for (backend, admin) in backends() {
        let admin = admin.as_deref();
        let fresh = |admin: Option<&str>| Instance::new(backend, admin);
        let args = |target: &Instance| {
            vec![
                "migrate-db".to_string(),
                "--from".to_string(),
                source.url.clone(),
                "--to".to_string(),
                target.url.clone(),
            ]
        };
        let probe = fresh(admin);
        let started = Instant::now();
        let a = args(&probe);
        probe.run_ok(
            &a.iter().map(String::as_str).collect::<Vec<_>>(),
            "a whole migrate-db",
        );
        let mut whole = started.elapsed();
        drop(probe);

        let mut rng = rand::rngs::StdRng::seed_from_u64(seed());
        let mut t = Tally::default();
        let mut reruns = 0;
        for trial in 0..trials() {
            let target = fresh(admin);
            let at = whole.mul_f64(rng.gen_range(0.02..1.2));
            let label = format!(
                "migrate-db to {}, trial {trial} (seed {}) killed at {at:?} of {whole:?}",
                backend.name(),
                seed()
            );
            let a = args(&target);
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            let mut child = Command::new(env!("CARGO_BIN_EXE_haechi"))
                .env("RUST_LOG", "error")
                .args(&a)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            t.kills += usize::from(longest(&mut whole, kill_or_finish(&mut child, at)));
            // Complete (every table's rows and checksum as the source's), or holding no data,
            // which a second run detects as empty and fills.
            let (complete, empty) = block_on(async {
                let store = target.store().await;
                if backend == Backend::Sqlite {
                    let ok = store.integrity_check().await.unwrap();
                    assert_eq!(ok.as_deref(), Some("ok"), "{label}: PRAGMA integrity_check");
                }
                let sums = store.table_checksums().await.unwrap();
                store.close().await;
                (
                    sums == expected,
                    sums.iter().all(|s| s.rows == 0 || s.table == "audit_head"),
                )
            });
            if complete {
                t.committed += 1;
            } else {
                assert!(empty, "{label}: the target is neither complete nor empty");
                t.rolled_back += 1;
                target.run_ok(&a, &format!("{label}: migrate-db run again"));
                reruns += 1;
                let again = block_on(async {
                    let store = target.store().await;
                    let sums = store.table_checksums().await.unwrap();
                    store.close().await;
                    sums
                });
                assert!(
                    again == expected,
                    "{label}: the second run's copy differs from the source"
                );
            }
            target.check_common(&label);
            t.trials += 1;
        }
        t.note = format!(" reruns_completed={reruns}");
        t.print("migrate_db", backend);
    }
}
