//! The public letter verification page (`/verify`, SPEC C6) in a real browser: headless Debian
//! Chromium driven through Debian's chromedriver (WebDriver, via `fantoccini`), against the real
//! router served over HTTP on loopback, on a SQLite database seeded with the demo program
//! history (25 signed letters, one of them revoked).
//!
//! Covered: a genuine letter file uploaded through the file input is `valid` and shows its number
//! and the holder's Korean name; a copy with one character of the holder's name changed is
//! `altered`; the demo's revoked letter is `revoked`; a typed letter number is `valid`; an unknown
//! number is `unknown_letter`; the English page (`?lang=en`) uses English labels; at a 390 px
//! wide phone viewport the form (and a result) is visible with no horizontal scrolling.
//! Screenshots of both languages and of the results are written as build artefacts to
//! `artifacts/screenshots/` at the workspace root.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`; `scripts/test.sh` installs them). Without them the tests fail, saying so.
//! No network beyond 127.0.0.1.

// As clippy.toml says for tests: a panic here is the test failing. Clippy only sees `#[test]`
// functions as tests, not the harness helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::net::{SocketAddr, TcpListener as StdTcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use haechi_core::Actor;
use haechi_service::{Service, ServiceConfig};
use haechi_store::Store;
use haechi_web::AppState;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tempfile::TempDir;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Upper bound for one whole test, so a stuck browser fails the test instead of hanging it.
const TEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Upper bound for one page to show what a step waits for.
const STEP_TIMEOUT: Duration = Duration::from_secs(15);

// ================================================================================ harness

/// A letter of the demo, as a file on disk plus what the page should show for it.
struct LetterFile {
    number: String,
    holder_ko: String,
    path: PathBuf,
}

/// The demo instance served on loopback and a browser session pointed at it.
struct Harness {
    base: String,
    svc: Service,
    client: Client,
    files: TempDir,
    // Dropped after `client` (field order): kills chromedriver and its browser.
    _driver: Driver,
    _data: TempDir,
}

/// A chromedriver child process, in a process group of its own so that dropping it also ends the
/// Chromium it launched, even when a test panics before the session is closed.
struct Driver {
    child: Child,
    log: PathBuf,
    _profile: TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group id is the child's pid (process_group(0)); "-PID" names the group.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn require_browser() {
    for bin in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(bin).exists(),
            "{bin} is missing: the browser tests need Debian's chromium and chromium-driver. \
             Run scripts/test.sh (it installs them), or: apt-get install chromium chromium-driver"
        );
    }
}

fn free_port() -> u16 {
    StdTcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Where the screenshots go: `<workspace>/artifacts/screenshots`.
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../artifacts/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts chromedriver on a free loopback port and waits until it accepts connections.
fn start_driver() -> (Driver, u16) {
    let profile = tempfile::tempdir().unwrap();
    let log = profile.path().join("chromedriver.log");
    let port = free_port();
    let mut cmd = Command::new(CHROMEDRIVER);
    cmd.arg(format!("--port={port}"))
        .arg(format!("--log-path={}", log.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
    let mut driver = Driver {
        child,
        log,
        _profile: profile,
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    loop {
        if let Some(status) = driver.child.try_wait().unwrap() {
            panic!(
                "chromedriver exited at start ({status}); its log:\n{}",
                std::fs::read_to_string(&driver.log).unwrap_or_default()
            );
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "chromedriver did not answer on {addr} within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (driver, port)
}

impl Harness {
    async fn start() -> Harness {
        require_browser();

        // The demo instance: SQLite in a temp dir, a signing key, the seeded history.
        let data = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/haechi.db", data.path().display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let svc = Service::open(store, ServiceConfig::default())
            .await
            .unwrap()
            .with_signer(haechi_letter::Keypair::generate())
            .await
            .unwrap();
        let summary = haechi_service::demo::seed(&svc).await.unwrap();
        assert!(summary.seeded, "the demo did not seed a fresh database");

        // Real HTTP on loopback.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = haechi_web::router(AppState::new(svc.clone()));
        tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });

        let (driver, port) = start_driver();
        let profile = driver._profile.path().join("chromium-profile");
        let caps = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let client = match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => c,
            Err(e) => panic!(
                "no WebDriver session: {e}; chromedriver's log:\n{}",
                std::fs::read_to_string(&driver.log).unwrap_or_default()
            ),
        };
        Harness {
            base,
            svc,
            client,
            files: tempfile::tempdir().unwrap(),
            _driver: driver,
            _data: data,
        }
    }

    /// Ends the browser session (the browser quits); the drop then stops chromedriver.
    async fn finish(self) {
        self.client.clone().close().await.unwrap();
    }

    /// The signed file of the first demo letter in `state` that is still within its validity
    /// period today, written to a temp file.
    async fn letter_file(&self, state: &str) -> LetterFile {
        let today = self.svc.today().to_string();
        let system = Actor::system();
        let row = self
            .svc
            .list_letters(&system)
            .await
            .unwrap()
            .into_iter()
            .find(|l| {
                l.state == state
                    && l.letter_number.is_some()
                    && l.valid_until
                        .as_deref()
                        .is_some_and(|u| u >= today.as_str())
            })
            .unwrap_or_else(|| panic!("the demo has no {state} letter valid on {today}"));
        let (row, signed, text) = self.svc.signed_letter(&system, row.id).await.unwrap();
        let number = row.letter_number.unwrap();
        assert_eq!(signed.letter.letter_number, number);
        let path = self.files.path().join(format!("{number}.json"));
        std::fs::write(&path, text).unwrap();
        LetterFile {
            number,
            holder_ko: signed.letter.holder.name.ko,
            path,
        }
    }

    /// Writes `contents` to a temp file named `name`.
    fn write_file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.files.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    async fn open(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    fn verify_path(en: bool) -> &'static str {
        if en {
            "/verify?lang=en"
        } else {
            "/verify"
        }
    }

    /// Opens the verification page, picks `file` in the file input, submits the form and
    /// returns the result shown.
    async fn verify_file(&self, en: bool, file: &Path) -> Shown {
        self.open(Self::verify_path(en)).await;
        let input = self.client.find(Locator::Id("file")).await.unwrap();
        input.send_keys(&file.display().to_string()).await.unwrap();
        self.submit().await
    }

    /// Opens the verification page, types `number` into the number field, submits the form and
    /// returns the result shown.
    async fn verify_number(&self, en: bool, number: &str) -> Shown {
        self.open(Self::verify_path(en)).await;
        let input = self.client.find(Locator::Id("number")).await.unwrap();
        input.send_keys(number).await.unwrap();
        self.submit().await
    }

    async fn submit(&self) -> Shown {
        self.client
            .find(Locator::Css("form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let section = self
            .client
            .wait()
            .at_most(STEP_TIMEOUT)
            .for_element(Locator::Css("section.result[data-outcome]"))
            .await
            .unwrap_or_else(|e| panic!("no result section after submitting the form: {e}"));
        Shown {
            outcome: section.attr("data-outcome").await.unwrap().unwrap(),
            text: section.text().await.unwrap(),
        }
    }

    /// Saves a PNG of the current viewport under `artifacts/screenshots/`.
    async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        assert!(
            png.starts_with(b"\x89PNG"),
            "the screenshot {name} is not a PNG"
        );
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    async fn script_i64(&self, script: &str) -> i64 {
        let v = self.client.execute(script, vec![]).await.unwrap();
        v.as_i64()
            .unwrap_or_else(|| panic!("`{script}` returned {v}, not an integer"))
    }
}

/// The result section of a verification as the browser shows it.
#[derive(Debug)]
struct Shown {
    outcome: String,
    text: String,
}

/// Runs a browser scenario with a time limit, on a fresh harness.
async fn run<F, Fut>(scenario: F)
where
    F: FnOnce(Harness) -> Fut,
    Fut: Future<Output = Harness>,
{
    let work = async {
        let h = Harness::start().await;
        scenario(h).await.finish().await;
    };
    tokio::time::timeout(TEST_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| panic!("the browser scenario took longer than {TEST_TIMEOUT:?}"));
}

/// `text` with one character changed: the last one, replaced by a different Hangul syllable (or
/// letter), so the JSON stays valid and only the content changes.
fn change_one_char(text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let last = chars.last_mut().expect("an empty name");
    *last = if *last == '한' { '국' } else { '한' };
    chars.into_iter().collect()
}

// ================================================================================ tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_outcomes_in_the_browser() {
    run(|h| async move {
        // The Korean page as a visitor first sees it.
        h.open("/verify").await;
        assert_eq!(
            h.client.title().await.unwrap(),
            "비조치의견서 진위 확인 — Haechi"
        );
        let body = h
            .client
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for label in ["의견서 파일 (.json)", "또는 의견서 번호", "확인", "English"] {
            assert!(
                body.contains(label),
                "the Korean page lacks {label:?}:\n{body}"
            );
        }
        h.screenshot("verify-ko").await;

        // A genuine letter file, uploaded through the file input.
        let genuine = h.letter_file("issued").await;
        let shown = h.verify_file(false, &genuine.path).await;
        assert_eq!(shown.outcome, "valid", "{shown:?}");
        assert!(shown.text.contains("유효한 의견서입니다"), "{shown:?}");
        assert!(shown.text.contains(&genuine.number), "{shown:?}");
        assert!(shown.text.contains(&genuine.holder_ko), "{shown:?}");
        h.screenshot("verify-valid-ko").await;

        // The same file with one character of the holder's Korean name changed.
        let text = std::fs::read_to_string(&genuine.path).unwrap();
        let mut doc: Value = serde_json::from_str(&text).unwrap();
        let name = doc["letter"]["holder"]["name"]["ko"]
            .as_str()
            .unwrap()
            .to_string();
        let forged = change_one_char(&name);
        assert_ne!(forged, name);
        doc["letter"]["holder"]["name"]["ko"] = Value::String(forged.clone());
        let altered = h.write_file("altered.json", &serde_json::to_string(&doc).unwrap());
        let shown = h.verify_file(false, &altered).await;
        assert_eq!(shown.outcome, "altered", "{shown:?}");
        assert!(shown.text.contains("변조된 의견서입니다"), "{shown:?}");
        assert!(
            !shown.text.contains(&forged),
            "an altered letter's content must not be shown as if it were genuine: {shown:?}"
        );
        h.screenshot("verify-altered-ko").await;

        // A date inside the signed letter moved by a day: altered too.
        let mut doc: Value = serde_json::from_str(&text).unwrap();
        let until = doc["letter"]["valid_until"].as_str().unwrap().to_string();
        let later = chrono::NaiveDate::parse_from_str(&until, "%Y-%m-%d")
            .unwrap()
            .succ_opt()
            .unwrap();
        doc["letter"]["valid_until"] = Value::String(later.to_string());
        let redated = h.write_file("redated.json", &serde_json::to_string_pretty(&doc).unwrap());
        let shown = h.verify_file(false, &redated).await;
        assert_eq!(shown.outcome, "altered", "{shown:?}");

        // The demo's revoked letter: its file still carries a good signature, the register says no.
        let revoked = h.letter_file("revoked").await;
        let shown = h.verify_file(false, &revoked.path).await;
        assert_eq!(shown.outcome, "revoked", "{shown:?}");
        assert!(shown.text.contains("철회된 의견서입니다"), "{shown:?}");
        assert!(shown.text.contains(&revoked.number), "{shown:?}");
        let shown = h.verify_number(false, &revoked.number).await;
        assert_eq!(shown.outcome, "revoked", "{shown:?}");

        // A letter number typed into the number field.
        let shown = h.verify_number(false, &genuine.number).await;
        assert_eq!(shown.outcome, "valid", "{shown:?}");
        assert!(shown.text.contains(&genuine.holder_ko), "{shown:?}");

        // A number that was never issued.
        let shown = h.verify_number(false, "FSC-NAL-2099-9999").await;
        assert_eq!(shown.outcome, "unknown_letter", "{shown:?}");
        assert!(
            shown.text.contains("발급 기록이 없는 번호입니다"),
            "{shown:?}"
        );

        // Something that is not a letter at all.
        let junk = h.write_file("junk.json", "{\"hello\": \"world\"}");
        let shown = h.verify_file(false, &junk).await;
        assert_eq!(shown.outcome, "malformed", "{shown:?}");

        // The English page, reached through the language link.
        h.open("/verify").await;
        h.client
            .find(Locator::LinkText("English"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        h.client
            .wait()
            .at_most(STEP_TIMEOUT)
            .for_element(Locator::Css("html[lang=en]"))
            .await
            .unwrap();
        assert_eq!(
            h.client.title().await.unwrap(),
            "Verify a no-action letter — Haechi"
        );
        let body = h
            .client
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for label in [
            "Letter file (.json)",
            "or letter number",
            "Verify",
            "한국어",
        ] {
            assert!(
                body.contains(label),
                "the English page lacks {label:?}:\n{body}"
            );
        }
        h.screenshot("verify-en").await;

        let shown = h.verify_file(true, &genuine.path).await;
        assert_eq!(shown.outcome, "valid", "{shown:?}");
        for label in ["Valid letter", "Letter number", "Holder", &genuine.number] {
            assert!(
                shown.text.contains(label),
                "the English result lacks {label:?}: {shown:?}"
            );
        }
        h.screenshot("verify-valid-en").await;
        let shown = h.verify_file(true, &altered).await;
        assert_eq!(shown.outcome, "altered", "{shown:?}");
        assert!(shown.text.contains("Altered"), "{shown:?}");
        h.screenshot("verify-altered-en").await;
        h
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_page_fits_a_phone_screen() {
    run(|h| async move {
        h.client.set_window_size(390, 844).await.unwrap();
        let genuine = h.letter_file("issued").await;
        for (name, en) in [("ko", false), ("en", true)] {
            h.open(Harness::verify_path(en)).await;
            let inner = h.script_i64("return window.innerWidth").await;
            assert!(
                (300..=390).contains(&inner),
                "the viewport is {inner} px wide, not a phone's"
            );
            for id in ["file", "number"] {
                let el = h.client.find(Locator::Id(id)).await.unwrap();
                assert!(
                    el.is_displayed().await.unwrap(),
                    "#{id} is hidden at 390 px ({name})"
                );
                let (x, _, w, _) = el.rectangle().await.unwrap();
                assert!(
                    x >= 0.0 && x + w <= inner as f64 + 0.5,
                    "#{id} spans {x}..{} past the {inner} px viewport ({name})",
                    x + w
                );
            }
            let button = h
                .client
                .find(Locator::Css("form button[type=submit]"))
                .await
                .unwrap();
            assert!(
                button.is_displayed().await.unwrap(),
                "the submit button is hidden ({name})"
            );
            assert_no_horizontal_scroll(&h, &format!("the {name} form")).await;
            h.screenshot(&format!("verify-390-{name}")).await;

            // A result, with its long key id and reason, must fit too.
            let shown = h.verify_file(en, &genuine.path).await;
            assert_eq!(shown.outcome, "valid", "{shown:?}");
            assert_no_horizontal_scroll(&h, &format!("the {name} valid result")).await;
            h.screenshot(&format!("verify-390-valid-{name}")).await;
        }
        h
    })
    .await;
}

async fn assert_no_horizontal_scroll(h: &Harness, what: &str) {
    let scroll = h
        .script_i64("return document.documentElement.scrollWidth")
        .await;
    let inner = h.script_i64("return window.innerWidth").await;
    assert!(
        scroll <= inner,
        "{what} scrolls sideways at 390 px: document.documentElement.scrollWidth {scroll} > window.innerWidth {inner}"
    );
}
