//! `haechi bench serve`: the request rate the real server sustains on database-backed pages and
//! API lists, and whether it holds that load (no errors, flat memory) while a large findings
//! import runs.
//!
//! The bench fills a data directory with the demo history plus one institution's few hundred
//! thousand findings, signs two demo users in, then starts `haechi serve` on loopback as a child
//! process (so the resident memory it samples from `/proc` is the server's alone) and drives it
//! with an open-loop load generator over many keep-alive HTTP/1.1 connections. Requests are
//! issued on a fixed schedule and each latency is measured from the moment the schedule meant to
//! send it, so a server that falls behind shows its queueing delay instead of hiding it (no
//! coordinated omission).
//!
//! Step 1 ramps the rate until the 99th percentile passes the target or a request fails, and
//! narrows the boundary by bisection. Step 2 holds 70 % of the highest passing rate for the soak
//! duration while findings files are uploaded through the API one after the other, and prints
//! latency percentiles, errors and the server's RSS per interval.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use clap::Subcommand;
use haechi_core::Actor;
use haechi_service::findings::{ResourceInput, ResourceMapping};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

use crate::config::{Config, Overrides};
use crate::findings_cli::{generate_file, upload};
use crate::{load_or_create_key, open_service, service_error};

/// `haechi bench serve`.
#[derive(Subcommand)]
pub enum ServeBench {
    /// Start `haechi serve` over the demo data plus one institution with --findings findings,
    /// find the highest request rate whose p99 stays within --p99-ms without errors, then hold
    /// 70 % of it for --soak-secs while findings files are uploaded through the API; prints
    /// latency percentiles, errors and the server's RSS. SQLite only.
    Serve {
        /// Findings stored for the large institution before the server starts.
        #[arg(long, default_value_t = 300_000)]
        findings: usize,
        /// Results in each of the two files the soak uploads in turn: new findings the first
        /// time each is uploaded; afterwards each upload brings back the findings the other
        /// file's upload had marked no longer seen, so every one of them is rewritten (the
        /// heaviest re-import there is).
        #[arg(long, default_value_t = 200_000)]
        import_findings: usize,
        /// Length of the soak at 70 % of the sustained rate.
        #[arg(long, default_value_t = 600)]
        soak_secs: u64,
        /// Length of each step of the ramp.
        #[arg(long, default_value_t = 10)]
        step_secs: u64,
        /// The soak prints a line every this many seconds.
        #[arg(long, default_value_t = 30)]
        interval_secs: u64,
        /// Keep-alive connections of the load generator.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// First rate of the ramp (requests per second); each next step is 1.5 times higher.
        #[arg(long, default_value_t = 50.0)]
        start_rate: f64,
        /// The ramp stops here even if the target still holds.
        #[arg(long, default_value_t = 20_000.0)]
        max_rate: f64,
        /// The latency target of the ramp (99th percentile, milliseconds).
        #[arg(long, default_value_t = 25.0)]
        p99_ms: f64,
        /// Build the data directory here (must not exist yet) and keep it, instead of a
        /// temporary one.
        #[arg(long)]
        keep_dir: Option<PathBuf>,
    },
}

/// How a request authenticates.
#[derive(Clone)]
enum Auth {
    /// A portal session cookie.
    Session(String),
    /// An API token.
    Bearer(String),
}

/// One request of the mix.
struct Target {
    path: String,
    auth: Auth,
}

impl Target {
    fn request(&self, host: &str) -> anyhow::Result<hyper::Request<Full<Bytes>>> {
        let b = hyper::Request::get(self.path.as_str())
            .header(hyper::header::HOST, host)
            .header(hyper::header::ACCEPT_LANGUAGE, "ko-KR,ko;q=0.9");
        let b = match &self.auth {
            Auth::Session(c) => b.header(
                hyper::header::COOKIE,
                format!("{}={c}", haechi_web::portal::SESSION_COOKIE),
            ),
            Auth::Bearer(t) => b.header(hyper::header::AUTHORIZATION, format!("Bearer {t}")),
        };
        Ok(b.body(Full::new(Bytes::new()))?)
    }
}

/// One keep-alive connection to the server.
pub(crate) async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends one request on `sender` and reads the whole answer: status and body length.
pub(crate) async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    req: hyper::Request<Full<Bytes>>,
) -> anyhow::Result<(hyper::StatusCode, usize, Bytes)> {
    sender.ready().await?;
    let res = sender.send_request(req).await?;
    let status = res.status();
    let body = res.into_body().collect().await?.to_bytes();
    Ok((status, body.len(), body))
}

/// A request the schedule issued: which target, and when it was meant to be sent.
struct Job {
    target: usize,
    intended: Instant,
}

struct Sample {
    target: usize,
    micros: u64,
    ok: bool,
}

/// What the workers share with the driver.
struct Shared {
    targets: Vec<Target>,
    samples: Mutex<Vec<Sample>>,
    /// A few descriptions of failed requests, for the report.
    failures: Mutex<Vec<String>>,
    outstanding: AtomicI64,
}

impl Shared {
    fn take(&self) -> Vec<Sample> {
        std::mem::take(&mut *self.samples.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn fail(&self, what: String) {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if f.len() < 20 {
            f.push(what);
        }
    }
}

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection's worker: takes the next due request, sends it, records its latency from the
/// scheduled time. A failed connection is replaced before the next request.
async fn worker(
    addr: SocketAddr,
    jobs: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Job>>>,
    shared: Arc<Shared>,
) {
    let host = addr.to_string();
    let mut conn: Option<SendRequest<Full<Bytes>>> = None;
    loop {
        let job = { jobs.lock().await.recv().await };
        let Some(job) = job else { return };
        let target = &shared.targets[job.target];
        let outcome = async {
            if conn.as_ref().is_none_or(|c| c.is_closed()) {
                conn = Some(connect(addr).await?);
            }
            let sender = conn.as_mut().context("no connection")?;
            let req = target.request(&host)?;
            tokio::time::timeout(REQUEST_TIMEOUT, exchange(sender, req))
                .await
                .map_err(|_| anyhow::anyhow!("no answer within {REQUEST_TIMEOUT:?}"))?
        }
        .await;
        let micros = job.intended.elapsed().as_micros() as u64;
        let ok = match outcome {
            Ok((status, _, _)) if status == hyper::StatusCode::OK => true,
            Ok((status, _, _)) => {
                shared.fail(format!("{}: HTTP {status}", target.path));
                false
            }
            Err(e) => {
                conn = None;
                shared.fail(format!("{}: {e:#}", target.path));
                false
            }
        };
        shared
            .samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Sample {
                target: job.target,
                micros,
                ok,
            });
        shared.outstanding.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Issues requests at `rate` per second for `secs`, cycling through the targets, until `stop`.
async fn drive(
    rate: f64,
    secs: f64,
    jobs: &mpsc::UnboundedSender<Job>,
    shared: &Shared,
    stop: Option<&AtomicBool>,
) {
    let start = Instant::now();
    let total = (rate * secs).round().max(1.0) as u64;
    let n = shared.targets.len();
    let mut sent: u64 = 0;
    while sent < total {
        if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
            break;
        }
        let due = ((start.elapsed().as_secs_f64() * rate) as u64 + 1).min(total);
        while sent < due {
            let intended = start + Duration::from_secs_f64(sent as f64 / rate);
            shared.outstanding.fetch_add(1, Ordering::SeqCst);
            if jobs
                .send(Job {
                    target: (sent % n as u64) as usize,
                    intended,
                })
                .is_err()
            {
                return;
            }
            sent += 1;
        }
        tokio::time::sleep_until((start + Duration::from_secs_f64(sent as f64 / rate)).into())
            .await;
    }
}

/// Waits until every issued request has its answer (or the wait gives up).
async fn drain(shared: &Shared, limit: Duration) {
    let start = Instant::now();
    while shared.outstanding.load(Ordering::SeqCst) > 0 && start.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[derive(Clone, Copy, Default)]
struct Stats {
    count: usize,
    errors: usize,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

/// Percentiles in milliseconds (nearest rank).
fn stats<'a>(samples: impl Iterator<Item = &'a Sample>) -> Stats {
    let mut v: Vec<u64> = Vec::new();
    let mut errors = 0;
    for s in samples {
        v.push(s.micros);
        if !s.ok {
            errors += 1;
        }
    }
    if v.is_empty() {
        return Stats::default();
    }
    v.sort_unstable();
    let at = |p: f64| {
        let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1] as f64 / 1000.0
    };
    Stats {
        count: v.len(),
        errors,
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        max: at(1.0),
    }
}

fn stats_line(s: &Stats) -> String {
    format!(
        "p50 {:>6.1}  p95 {:>6.1}  p99 {:>6.1}  max {:>7.1} ms  errors {}",
        s.p50, s.p95, s.p99, s.max, s.errors
    )
}

/// Resident memory of a process, from `/proc/PID/status` (VmRSS), in bytes.
fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// The server child process; killed when dropped, so a failing bench leaves none behind.
struct Server {
    child: std::process::Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// Starts `haechi serve` (this very binary) on a free loopback port over `data_dir`, and waits
/// until it answers `/readyz`.
async fn start_server(data_dir: &Path) -> anyhow::Result<Server> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let log = data_dir.join("server.log");
    let out = std::fs::File::create(&log)?;
    let exe = std::env::current_exe().context("locating the haechi binary")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("serve")
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--bind")
        .arg(addr.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    // The server reads its whole configuration from the data directory given here.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("HAECHI_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", "warn");
    let child = cmd.spawn().context("starting haechi serve")?;
    let server = Server { child, addr, log };
    let started = Instant::now();
    loop {
        if let Ok(mut c) = connect(addr).await {
            let req = hyper::Request::get("/readyz")
                .header(hyper::header::HOST, addr.to_string())
                .body(Full::new(Bytes::new()))?;
            if let Ok((s, _, _)) = exchange(&mut c, req).await {
                if s.is_success() {
                    return Ok(server);
                }
            }
        }
        if started.elapsed() > Duration::from_secs(60) {
            anyhow::bail!(
                "the server did not become ready within 60 s; its log:\n{}",
                server.log_tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The large institution's directories, each mapped to a resource of its own.
const RESOURCES: [(&str, &str); 4] = [
    ("src/main/java/kr/example/payments", "bench-payments"),
    ("src/main/java/kr/example/ledger", "bench-ledger"),
    ("services/auth/src", "bench-auth"),
    ("services/app7/", "bench-app7"),
];

/// The demo institution whose CISO signs in and that gets the large findings set.
const LARGE_INSTITUTION: &str = "BNK-001";
const CISO: &str = "ciso.hanbit";
const REGULATOR: &str = "admin";

/// What setting up the data directory produced.
struct Prepared {
    institution_id: i64,
    targets: Vec<Target>,
    soak_files: [PathBuf; 2],
    ciso_token: String,
}

/// Seeds the demo, imports the large findings set, issues sessions and tokens; the store is
/// closed again before the server starts.
async fn prepare(dir: &Path, findings: usize, import_findings: usize) -> anyhow::Result<Prepared> {
    let cfg = Config::load(&Overrides {
        data_dir: Some(dir.to_path_buf()),
        ..Default::default()
    })?;
    let t = Instant::now();
    let key = load_or_create_key(&cfg.letter_key_file)?;
    let svc = open_service(&cfg)
        .await?
        .with_signer(key)
        .await
        .map_err(service_error)?;
    let summary = haechi_service::demo::seed(&svc)
        .await
        .map_err(service_error)?;
    println!(
        "demo data: {} institutions, {} accounts ({:.1} s)",
        summary.institutions,
        summary.accounts.len(),
        t.elapsed().as_secs_f64()
    );
    let token_of = |name: &str| {
        summary
            .accounts
            .iter()
            .find(|a| a.username == name)
            .and_then(|a| a.token.clone())
            .with_context(|| format!("the demo issued no token for {name}"))
    };
    let admin_token = token_of(REGULATOR)?;
    let ciso_token = token_of(CISO)?;
    let inst = haechi_store::get_institution_by_code(svc.store().pool(), LARGE_INSTITUTION)
        .await?
        .with_context(|| format!("the demo has no institution {LARGE_INSTITUTION}"))?;
    let system = Actor::system();
    let mut map = Vec::new();
    for (prefix, name) in RESOURCES {
        svc.create_resource(
            &system,
            inst.id,
            ResourceInput {
                name: name.into(),
                kind: "application".into(),
                business_function: "load test".into(),
                data_kinds: vec![haechi_policy::DataKind::NonPublicBusiness],
                network_zone: haechi_policy::NetworkZone::Internal,
                processes_electronic_transactions: false,
                dr_tier: None,
                owner: None,
            },
        )
        .await
        .map_err(service_error)?;
        map.push(ResourceMapping {
            prefix: prefix.into(),
            resource: name.into(),
        });
    }
    let t = Instant::now();
    let base = dir.join("base.sarif.gz");
    generate_file(&base, findings)?;
    let input = std::io::BufReader::with_capacity(256 * 1024, std::fs::File::open(&base)?);
    let report = svc
        .import_findings(&system, &upload(inst.id, None, false, &base, map), input)
        .await
        .map_err(service_error)?;
    svc.clusters_settled().await;
    let stored = haechi_store::count_findings(svc.store().pool(), inst.id).await?;
    println!(
        "{}: {} findings stored ({} new from a generated log of {findings} results, {:.1} s)",
        inst.input.name_en,
        stored,
        report.findings_new,
        t.elapsed().as_secs_f64()
    );
    std::fs::remove_file(&base)?;
    let soak_files = [dir.join("soak-a.sarif.gz"), dir.join("soak-b.sarif.gz")];
    for (i, f) in soak_files.iter().enumerate() {
        let out = std::fs::File::create(f)?;
        let gz = flate2::write::GzEncoder::new(
            std::io::BufWriter::new(out),
            flate2::Compression::fast(),
        );
        // Seeds other than the base log's, so the first upload of each adds new findings.
        let mut gz = gz;
        haechi_formats::sarif::synth::generate(&mut gz, import_findings, 1000 + i as u64)?;
        gz.finish()?;
    }
    let admin = svc
        .login(REGULATOR, haechi_service::demo::DEMO_PASSWORD, None)
        .await
        .map_err(service_error)?;
    let ciso = svc
        .login(CISO, haechi_service::demo::DEMO_PASSWORD, None)
        .await
        .map_err(service_error)?;
    svc.store().close().await;

    let page = |path: &str, s: &str| Target {
        path: path.to_string(),
        auth: Auth::Session(s.to_string()),
    };
    let api = |path: String, t: &str| Target {
        path,
        auth: Auth::Bearer(t.to_string()),
    };
    let (a, c) = (admin.cookie_value.as_str(), ciso.cookie_value.as_str());
    let targets = vec![
        // The regulator's pages and lists.
        page("/", a),
        page("/institutions", a),
        page("/applications", a),
        page("/audit", a),
        api("/api/v1/institutions".into(), &admin_token),
        api("/api/v1/dashboard".into(), &admin_token),
        api("/api/v1/audit?limit=50".into(), &admin_token),
        // The large institution's pages and lists.
        page("/", c),
        page("/findings", c),
        page("/findings?severity=high", c),
        page("/queue", c),
        page("/patches", c),
        page("/resources", c),
        page("/imports", c),
        api("/api/v1/findings?per_page=50".into(), &ciso_token),
        api(
            "/api/v1/findings?severity=critical&per_page=50".into(),
            &ciso_token,
        ),
        api("/api/v1/findings?cwe=89&per_page=50".into(), &ciso_token),
        api("/api/v1/patch-queue?limit=50".into(), &ciso_token),
        api("/api/v1/patches".into(), &ciso_token),
        api("/api/v1/findings/imports".into(), &ciso_token),
    ];
    Ok(Prepared {
        institution_id: inst.id,
        targets,
        soak_files,
        ciso_token,
    })
}

/// One step of the ramp.
struct Step {
    rate: f64,
    achieved: f64,
    stats: Stats,
    per_target: Vec<Stats>,
}

async fn run_step(
    rate: f64,
    secs: f64,
    jobs: &mpsc::UnboundedSender<Job>,
    shared: &Shared,
) -> Step {
    shared.take();
    let start = Instant::now();
    drive(rate, secs, jobs, shared, None).await;
    drain(shared, Duration::from_secs(30)).await;
    let took = start.elapsed().as_secs_f64().max(secs);
    let samples = shared.take();
    let per_target = (0..shared.targets.len())
        .map(|t| stats(samples.iter().filter(|s| s.target == t)))
        .collect();
    let s = stats(samples.iter());
    Step {
        rate,
        achieved: s.count as f64 / took,
        stats: s,
        per_target,
    }
}

/// One line per request of the mix (under `heading`, when there is one).
fn print_per_target(heading: &str, shared: &Shared, per_target: &[Stats]) {
    if !heading.is_empty() {
        println!("  {heading}");
    }
    for (t, s) in shared.targets.iter().zip(per_target) {
        println!("  {:<44} {}", t.path, stats_line(s));
    }
}

fn print_step(s: &Step) {
    println!(
        "  rate {:>7.0}/s  achieved {:>7.1}/s  {}",
        s.rate,
        s.achieved,
        stats_line(&s.stats)
    );
}

/// An import the soak uploaded, once it ended.
struct ImportOutcome {
    file: String,
    state: String,
    seconds: f64,
    read: u64,
    new: u64,
    updated: u64,
    unchanged: u64,
}

/// Uploads the soak files in turn through the API until `stop`, waiting for each import to end.
async fn import_loop(
    addr: SocketAddr,
    institution_id: i64,
    files: [PathBuf; 2],
    token: String,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<Vec<ImportOutcome>> {
    let host = addr.to_string();
    let bodies = [
        Bytes::from(std::fs::read(&files[0])?),
        Bytes::from(std::fs::read(&files[1])?),
    ];
    let mut outcomes = Vec::new();
    let mut conn = connect(addr).await?;
    let mut turn = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let which = turn % 2;
        turn += 1;
        let name = files[which]
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let started = Instant::now();
        if conn.is_closed() {
            conn = connect(addr).await?;
        }
        let req = hyper::Request::post(format!(
            "/api/v1/findings/imports?institution_id={institution_id}&filename={name}"
        ))
        .header(hyper::header::HOST, &host)
        .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
        .header(hyper::header::CONTENT_TYPE, "application/octet-stream")
        .body(Full::new(bodies[which].clone()))?;
        let (status, _, body) = exchange(&mut conn, req).await?;
        anyhow::ensure!(
            status == hyper::StatusCode::ACCEPTED,
            "uploading {name}: HTTP {status}: {}",
            String::from_utf8_lossy(&body)
        );
        let v: serde_json::Value = serde_json::from_slice(&body)?;
        let id = v["import_id"].as_i64().context("no import id")?;
        let status_path = format!("/api/v1/findings/imports/{id}");
        let row = loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if conn.is_closed() {
                conn = connect(addr).await?;
            }
            let req = hyper::Request::get(status_path.as_str())
                .header(hyper::header::HOST, &host)
                .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Full::new(Bytes::new()))?;
            let (status, _, body) = exchange(&mut conn, req).await?;
            anyhow::ensure!(status.is_success(), "import {id}: HTTP {status}");
            let row: serde_json::Value = serde_json::from_slice(&body)?;
            let state = row["state"].as_str().unwrap_or_default();
            if state == "succeeded" || state == "failed" {
                break row;
            }
        };
        let outcome = ImportOutcome {
            file: name,
            state: row["state"].as_str().unwrap_or_default().to_string(),
            seconds: started.elapsed().as_secs_f64(),
            read: row["report"]["results_read"].as_u64().unwrap_or(0),
            new: row["report"]["findings_new"].as_u64().unwrap_or(0),
            updated: row["report"]["findings_updated"].as_u64().unwrap_or(0),
            unchanged: row["report"]["findings_unchanged"].as_u64().unwrap_or(0),
        };
        println!(
            "    import {id} ({}): {} in {:.1} s — {} results read, {} new, {} updated, {} unchanged{}",
            outcome.file,
            outcome.state,
            outcome.seconds,
            outcome.read,
            outcome.new,
            outcome.updated,
            outcome.unchanged,
            row["error_message"]
                .as_str()
                .map(|m| format!(" — {m}"))
                .unwrap_or_default()
        );
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

pub async fn bench(command: ServeBench) -> anyhow::Result<ExitCode> {
    let ServeBench::Serve {
        findings,
        import_findings,
        soak_secs,
        step_secs,
        interval_secs,
        connections,
        start_rate,
        max_rate,
        p99_ms,
        keep_dir,
    } = command;
    anyhow::ensure!(
        findings > 0 && import_findings > 0,
        "sizes must be at least 1"
    );
    anyhow::ensure!(
        connections > 0 && start_rate > 0.0 && step_secs > 0 && interval_secs > 0,
        "--connections, --start-rate, --step-secs and --interval-secs must be positive"
    );
    let temp;
    let dir = match keep_dir {
        Some(d) => {
            anyhow::ensure!(!d.exists(), "{} exists already", d.display());
            std::fs::create_dir_all(&d)?;
            d
        }
        None => {
            temp = tempfile::tempdir().context("creating a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let prepared = prepare(&dir, findings, import_findings).await?;
    let server = start_server(&dir).await?;
    let pid = server.child.id();
    let addr = server.addr;
    println!(
        "server: haechi serve (pid {pid}) on http://{addr}, RSS {:.1} MB",
        mb(rss_of(pid).unwrap_or(0))
    );

    // Every request of the mix once, to check it answers and to warm the caches.
    let mut probe = connect(addr).await?;
    println!(
        "request mix ({} requests, in turn):",
        prepared.targets.len()
    );
    for t in &prepared.targets {
        let start = Instant::now();
        let (status, len, _) = exchange(&mut probe, t.request(&addr.to_string())?).await?;
        println!(
            "  {:<44} {:>4} {} {:>8} bytes {:>7.1} ms",
            t.path,
            status.as_u16(),
            match t.auth {
                Auth::Session(_) => "page",
                Auth::Bearer(_) => "api ",
            },
            len,
            start.elapsed().as_secs_f64() * 1e3
        );
        anyhow::ensure!(
            status == hyper::StatusCode::OK,
            "{} answered {status}; the server's log:\n{}",
            t.path,
            server.log_tail()
        );
    }
    drop(probe);

    let shared = Arc::new(Shared {
        targets: prepared.targets,
        samples: Mutex::new(Vec::new()),
        failures: Mutex::new(Vec::new()),
        outstanding: AtomicI64::new(0),
    });
    let (job_tx, job_rx) = mpsc::unbounded_channel();
    let job_rx = Arc::new(tokio::sync::Mutex::new(job_rx));
    let mut workers = Vec::new();
    for _ in 0..connections {
        workers.push(tokio::spawn(worker(addr, job_rx.clone(), shared.clone())));
    }

    // Step 1: the ramp.
    println!(
        "step 1: ramp ({step_secs} s per step, {connections} connections; target p99 ≤ {p99_ms} ms, no errors)"
    );
    let passes =
        |s: &Step| s.stats.errors == 0 && s.stats.p99 <= p99_ms && s.achieved >= 0.95 * s.rate;
    let mut good: Option<Step> = None;
    let mut bad: Option<f64> = None;
    let mut rate = start_rate.min(max_rate);
    loop {
        let s = run_step(rate, step_secs as f64, &job_tx, &shared).await;
        print_step(&s);
        if passes(&s) {
            good = Some(s);
            if rate >= max_rate {
                break;
            }
            rate = (rate * 1.5).min(max_rate);
        } else {
            print_per_target(
                "per request at the first failing rate:",
                &shared,
                &s.per_target,
            );
            bad = Some(rate);
            break;
        }
    }
    if let (Some(mut lo), Some(mut hi)) = (good.as_ref().map(|g| g.rate), bad) {
        for _ in 0..3 {
            if hi / lo < 1.08 {
                break;
            }
            let mid = ((lo + hi) / 2.0).round();
            let s = run_step(mid, step_secs as f64, &job_tx, &shared).await;
            print_step(&s);
            if passes(&s) {
                lo = mid;
                good = Some(s);
            } else {
                hi = mid;
            }
        }
    }
    let sustained = match &good {
        Some(g) => {
            println!(
                "sustained: {:.0} requests/s with p99 {:.1} ms ≤ {p99_ms} ms and no errors; per request at that rate follows",
                g.rate, g.stats.p99
            );
            print_per_target("", &shared, &g.per_target);
            g.rate
        }
        None => {
            println!(
                "sustained: none — even {start_rate:.0} requests/s missed p99 ≤ {p99_ms} ms or had errors"
            );
            start_rate
        }
    };
    let failures_before = shared
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain(..)
        .collect::<Vec<_>>();
    for f in failures_before.iter().take(5) {
        println!("  ramp failure: {f}");
    }

    // Step 2: the soak at 70 % while imports run.
    let soak_rate = (sustained * 0.7).max(1.0);
    println!(
        "step 2: soak at {soak_rate:.0} requests/s (70 %) for {soak_secs} s while findings files of {import_findings} results are uploaded through the API in turn"
    );
    let rss_start = rss_of(pid).unwrap_or(0);
    let mut rss_max = rss_start;
    shared.take();
    let stop = Arc::new(AtomicBool::new(false));
    let imports = tokio::spawn(import_loop(
        addr,
        prepared.institution_id,
        prepared.soak_files.clone(),
        prepared.ciso_token.clone(),
        stop.clone(),
    ));
    let driver = {
        let shared = shared.clone();
        let job_tx = job_tx.clone();
        tokio::spawn(async move {
            drive(soak_rate, soak_secs as f64, &job_tx, &shared, None).await;
        })
    };
    let soak_start = Instant::now();
    let mut all: Vec<Sample> = Vec::new();
    let mut next_report = interval_secs;
    let mut last_t = 0.0;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let rss = rss_of(pid).unwrap_or(0);
        rss_max = rss_max.max(rss);
        let elapsed = soak_start.elapsed().as_secs_f64();
        let finished = driver.is_finished();
        if elapsed >= next_report as f64 || finished {
            if finished {
                drain(&shared, Duration::from_secs(30)).await;
            }
            let samples = shared.take();
            let s = stats(samples.iter());
            println!(
                "  t={:>5.0} s  {:>7.1}/s  {}  server RSS {:>7.1} MB",
                elapsed,
                s.count as f64 / (elapsed - last_t).max(1e-9),
                stats_line(&s),
                mb(rss)
            );
            all.extend(samples);
            last_t = elapsed;
            next_report += interval_secs;
        }
        if finished {
            break;
        }
    }
    let rss_end = rss_of(pid).unwrap_or(0);
    stop.store(true, Ordering::Relaxed);
    drop(job_tx);
    let outcomes = imports.await.context("the import task")??;
    for w in workers {
        w.abort();
    }
    let total = stats(all.iter());
    let per_target: Vec<Stats> = (0..shared.targets.len())
        .map(|t| stats(all.iter().filter(|s| s.target == t)))
        .collect();
    print_per_target("per request over the soak:", &shared, &per_target);
    let failed_imports = outcomes.iter().filter(|o| o.state != "succeeded").count();
    println!(
        "soak: {} requests at {:.1}/s, {}; {} imports ended ({} failed, {} findings new); server RSS start {:.1} MB, end {:.1} MB, max {:.1} MB",
        total.count,
        total.count as f64 / soak_start.elapsed().as_secs_f64(),
        stats_line(&total),
        outcomes.len(),
        failed_imports,
        outcomes.iter().map(|o| o.new).sum::<u64>(),
        mb(rss_start),
        mb(rss_end),
        mb(rss_max)
    );
    let failures = shared
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    for f in failures.iter().take(10) {
        println!("  soak failure: {f}");
    }
    drop(server);
    Ok(if total.errors == 0 && failed_imports == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
