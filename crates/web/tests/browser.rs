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
    /// chromedriver's port, for the endpoints fantoccini has no call for (the browser's log).
    driver_port: u16,
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
        // Plain HTTP on loopback: cookies without `Secure`; the peer address feeds the sign-in
        // throttle as in production.
        let router = haechi_web::router(AppState::new(svc.clone()).insecure_cookies());
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });

        let (driver, port) = start_driver();
        let profile = driver._profile.path().join("chromium-profile");
        let caps = json!({
            // The browser's console (errors, Content-Security-Policy violations) is kept for
            // the log endpoint.
            "goog:loggingPrefs": {"browser": "ALL"},
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
                // A Korean officer's browser: the portal picks Korean from Accept-Language
                // until the user chooses (headless Chromium would otherwise ask for English).
                "prefs": {"intl.accept_languages": "ko-KR,ko"},
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
            driver_port: port,
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
    run_within(TEST_TIMEOUT, scenario).await;
}

/// Runs a browser scenario with a time limit of its own (long journeys), on a fresh harness.
async fn run_within<F, Fut>(limit: Duration, scenario: F)
where
    F: FnOnce(Harness) -> Fut,
    Fut: Future<Output = Harness>,
{
    let work = async {
        let h = Harness::start().await;
        scenario(h).await.finish().await;
    };
    tokio::time::timeout(limit, work)
        .await
        .unwrap_or_else(|_| panic!("the browser scenario took longer than {limit:?}"));
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
        // The Korean page as a visitor first sees it (Korean chosen with the language link: the
        // headless browser asks for English, which the page honours).
        h.open("/lang?to=ko&next=/verify").await;
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
        assert!(shown.text.contains("취소된 의견서입니다"), "{shown:?}");
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

// ================================================================================ the application journey
//
// The program's main journey through the portal, signed in through the /login form each time:
// a CISO fills in and submits an application; an advisor declares no conflict and scores it; an
// officer completes the evaluation, approves it and confirms the phase's cohort; another
// institution's user opening the application's URL gets the not-found page. Screenshots of the
// key pages in Korean and English at 1280 px, and one page at 390 px.

impl Harness {
    /// Signs in through the sign-in form and waits for the start page.
    async fn login(&self, username: &str) {
        self.open("/login").await;
        self.client
            .find(Locator::Id("username"))
            .await
            .unwrap()
            .send_keys(username)
            .await
            .unwrap();
        self.client
            .find(Locator::Id("password"))
            .await
            .unwrap()
            .send_keys(haechi_service::demo::DEMO_PASSWORD)
            .await
            .unwrap();
        self.click(Locator::Css("form[action='/login'] button[type=submit]"))
            .await;
        self.client
            .wait()
            .at_most(STEP_TIMEOUT)
            .for_element(Locator::Css("form[action='/logout']"))
            .await
            .unwrap_or_else(|e| panic!("{username} is not signed in: {e}"));
    }

    async fn logout(&self) {
        self.click(Locator::Css("form[action='/logout'] button"))
            .await;
        self.client
            .wait()
            .at_most(STEP_TIMEOUT)
            .for_element(Locator::Id("username"))
            .await
            .unwrap();
    }

    async fn click(&self, at: Locator<'_>) {
        self.client
            .find(at)
            .await
            .unwrap_or_else(|e| panic!("nothing to click at {at:?}: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Clicks a button of a form that asks "are you sure?" (`data-confirm`), answering yes.
    async fn click_confirmed(&self, at: Locator<'_>) {
        self.client
            .execute("window.confirm = function () { return true; };", vec![])
            .await
            .unwrap();
        self.click(at).await;
    }

    async fn type_into(&self, id: &str, text: &str) {
        let el = self.client.find(Locator::Id(id)).await.unwrap();
        el.clear().await.unwrap();
        el.send_keys(text).await.unwrap();
    }

    async fn choose(&self, select_id: &str, value: &str) {
        self.client
            .find(Locator::Id(select_id))
            .await
            .unwrap()
            .select_by_value(value)
            .await
            .unwrap();
    }

    /// Waits until the address contains `part`; returns the address.
    async fn wait_for_url(&self, part: &str) -> String {
        let start = Instant::now();
        loop {
            let url = self.client.current_url().await.unwrap().to_string();
            if url.contains(part) {
                return url;
            }
            if start.elapsed() > STEP_TIMEOUT {
                let body = self.body_text().await;
                panic!("the browser stayed at {url}, not {part}:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn body_text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The page's title, checked against `expect`.
    async fn assert_title(&self, expect: &str) {
        let title = self.client.title().await.unwrap();
        assert_eq!(
            title,
            format!("{expect} — Haechi"),
            "{}",
            self.body_text().await
        );
    }

    /// A screenshot of `path` in Korean and in English (`?lang=en`).
    async fn screenshots_ko_en(&self, path: &str, name: &str) {
        self.open(path).await;
        self.screenshot(&format!("{name}-ko")).await;
        let sep = if path.contains('?') { '&' } else { '?' };
        self.open(&format!("{path}{sep}lang=en")).await;
        let lang = self
            .client
            .find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap();
        assert_eq!(
            lang.as_deref(),
            Some("en"),
            "{path} did not switch to English"
        );
        self.screenshot(&format!("{name}-en")).await;
    }

    async fn actor(&self, username: &str) -> Actor {
        let u = self
            .svc
            .list_users(&Actor::system(), None)
            .await
            .unwrap()
            .into_iter()
            .find(|u| u.username == username)
            .unwrap();
        Actor {
            user_id: u.id,
            username: u.username,
            role: u.role,
            institution_id: u.institution_id,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_journey_from_ciso_to_cohort() {
    use haechi_core::{ApplicationAction as A, ApplicationState};
    use haechi_service::reviews::ScoreInput;

    run_within(Duration::from_secs(300), |h| async move {
        // The approval must fall inside phase 3's window (Q4 2026), whatever today is.
        h.svc.set_clock(Some(
            chrono::NaiveDate::from_ymd_opt(2026, 11, 20)
                .unwrap()
                .and_hms_opt(10, 0, 0)
                .unwrap(),
        ));
        let criteria: Vec<String> = h
            .svc
            .policy()
            .evaluation
            .criteria
            .iter()
            .map(|c| c.id.clone())
            .collect();

        h.screenshots_ko_en("/login", "journey-login").await;

        // 1. The CISO fills in the form, saves a draft, then submits.
        h.login("ciso.hanbit").await;
        h.open("/applications/new").await;
        h.assert_title("새 신청서").await;
        h.click(Locator::Css("input[name=ai_vulnerability_assessment]")).await;
        h.type_into("services[0].name", "가온 취약점 분석 AI v3").await;
        h.type_into("services[0].vendor", "가온랩스").await;
        h.type_into("services[0].certifications", "ISO/IEC 27001, CSAP").await;
        h.click(Locator::Css("input[name='services[0].data_classes'][value=S]")).await;
        h.choose("services[1].kind", "saas").await;
        h.type_into("services[1].name", "해솔 보안관제 SaaS").await;
        h.type_into("services[1].vendor", "해솔시큐리티").await;
        h.click(Locator::Css("input[name='services[1].data_classes'][value=O]")).await;
        let controls = "C등급 데이터는 외부 AI로 전송하지 않고, S등급은 비식별 처리 후 전송한다. 접속기록은 1년 보관한다.";
        h.type_into("internal_controls", controls).await;
        for c in &criteria {
            h.choose(&format!("self_assessment.{c}"), "3").await;
        }
        h.screenshot("journey-application-form-ko").await;
        h.click(Locator::Css("button[name=intent][value=save]")).await;
        let url = h.wait_for_url("notice=saved").await;
        let id: i64 = url
            .split("/applications/")
            .nth(1)
            .and_then(|r| r.split('?').next())
            .unwrap()
            .parse()
            .unwrap();
        let body = h.body_text().await;
        assert!(body.contains("임시 저장했습니다.") && body.contains("해솔 보안관제 SaaS"), "{body}");
        h.screenshots_ko_en(&format!("/applications/{id}/edit"), "journey-application-edit")
            .await;
        h.open(&format!("/applications/{id}")).await;
        h.click_confirmed(Locator::XPath(
            "//form[input[@name='action' and @value='submit']]//button",
        ))
        .await;
        h.wait_for_url("notice=submitted").await;
        assert!(h.body_text().await.contains("작성 중 → 제출됨"));
        h.screenshot("journey-application-submitted-ko").await;
        let ciso = h.actor("ciso.hanbit").await;
        let view = h.svc.get_application(&ciso, id).await.unwrap();
        assert_eq!(view.application.state, ApplicationState::Submitted);
        assert_eq!(view.application.content.services.len(), 2);
        assert_eq!(view.application.content.internal_controls, controls);
        h.logout().await;

        // The officer screens it and forms the panel (the pages for these steps are covered by
        // the portal tests); two of the three advisors score through the service.
        let officer = h.actor("officer").await;
        h.svc.transition(&officer, id, A::StartScreening, None).await.unwrap();
        let panel = ["advisor1", "advisor2", "advisor3"];
        for name in panel {
            let a = h.actor(name).await;
            h.svc.assign_reviewer(&officer, id, a.user_id).await.unwrap();
        }
        h.svc.transition(&officer, id, A::StartReview, None).await.unwrap();
        for name in &panel[1..] {
            let a = h.actor(name).await;
            h.svc.declare_conflict(&a, id, false, None).await.unwrap();
            let scores: Vec<ScoreInput> = criteria
                .iter()
                .map(|c| ScoreInput {
                    criterion: c.clone(),
                    score: 3,
                    justification: format!("{c} 영역의 통제가 문서화되어 운영되고 있음"),
                })
                .collect();
            h.svc.save_scores(&a, id, &scores, true).await.unwrap();
        }

        // 2. The first advisor declares no conflict and scores it.
        h.login("advisor1").await;
        h.open("/reviews").await;
        h.click(Locator::Css(&format!("a[href='/reviews/{id}']"))).await;
        h.wait_for_url(&format!("/reviews/{id}")).await;
        let body = h.body_text().await;
        assert!(!body.contains(controls), "content before the declaration:\n{body}");
        h.screenshot("journey-advisor-declaration-ko").await;
        h.click(Locator::Css("input[name=conflict][value=no]")).await;
        h.click(Locator::Css("form[action$='/conflict'] button[type=submit]")).await;
        h.wait_for_url("notice=declared").await;
        assert!(h.body_text().await.contains(controls), "the content after declaring");
        h.screenshots_ko_en(&format!("/reviews/{id}"), "journey-advisor-scoring").await;
        h.open(&format!("/reviews/{id}")).await;
        for c in &criteria {
            h.choose(&format!("scores.{c}"), "3").await;
            h.type_into(
                &format!("scores.{c}.justification"),
                &format!("{c}: 증빙 자료로 확인한 결과 관리 수준임"),
            )
            .await;
        }
        h.screenshot("journey-advisor-scored-ko").await;
        h.click_confirmed(Locator::Css("button[name=intent][value=submit]")).await;
        h.wait_for_url("notice=scores_submitted").await;
        assert!(h.body_text().await.contains("평가를 제출했습니다."));
        h.logout().await;

        // 3. The officer completes the evaluation, approves, and confirms the cohort.
        h.login("officer").await;
        h.open(&format!("/applications/{id}/review")).await;
        h.click(Locator::XPath(
            "//form[input[@name='action' and @value='complete_evaluation']]//button",
        ))
        .await;
        h.wait_for_url("notice=moved").await;
        let body = h.body_text().await;
        assert!(body.contains("평가 집계") && body.contains("통과"), "{body}");
        h.screenshots_ko_en(&format!("/applications/{id}/review"), "journey-officer-review")
            .await;
        h.open(&format!("/applications/{id}/review")).await;
        let rationale = "전문가 평가 통과. 내부통제 방안 이행과 분기별 보고를 조건으로 승인함.";
        h.type_into("rationale", rationale).await;
        h.click_confirmed(Locator::Css("button[name=action][value=approve]")).await;
        h.wait_for_url("notice=decided").await;
        let view = h.svc.get_application(&officer, id).await.unwrap();
        assert_eq!(view.application.state, ApplicationState::Approved);
        assert_eq!(view.decision.unwrap().rationale, rationale);

        h.open("/cohorts").await;
        let body = h.body_text().await;
        assert!(body.contains(&format!("#{id}")), "the approved application is a candidate:\n{body}");
        h.screenshots_ko_en("/cohorts", "journey-cohort-planner").await;
        h.open("/cohorts").await;
        h.click_confirmed(Locator::Css("form[action$='/confirm'] button[type=submit]")).await;
        h.wait_for_url("notice=confirmed").await;
        assert!(h.body_text().await.contains("대상 기관을 확정했습니다"));
        let cohorts = h.svc.list_cohorts(&officer).await.unwrap();
        let confirmed = cohorts.iter().find(|c| c.phase_id == "phase-3").unwrap();
        assert!(confirmed.members.contains(&id), "{confirmed:?}");
        h.screenshot("journey-cohort-confirmed-ko").await;
        h.logout().await;

        // 4. Another institution's CISO opens the application's URL: not found.
        h.login("ciso.saebom").await;
        h.open(&format!("/applications/{id}")).await;
        h.assert_title("페이지를 찾을 수 없습니다").await;
        let body = h.body_text().await;
        assert!(!body.contains(controls) && !body.contains("가온 취약점 분석 AI v3"), "{body}");
        h.screenshots_ko_en(&format!("/applications/{id}"), "journey-not-found").await;
        h.open(&format!("/applications/{id}?lang=en")).await;
        h.assert_title("Page not found").await;

        // 5. At phone width: the institution's own application page fits.
        h.client.set_window_size(390, 844).await.unwrap();
        h.open("/applications").await;
        h.click(Locator::Css("td a[href^='/applications/']")).await;
        h.wait_for_url("/applications/").await;
        assert_no_horizontal_scroll(&h, "the application page").await;
        h.screenshot("journey-application-390-ko").await;
        h.svc.set_clock(None);
        h
    })
    .await;
}

// ================================================================================ the patch journey
//
// Issue 6: an institution's CISO signs in through /login, opens the patch queue, opens a
// finding's priority explanation, records a patch through the form, and sees the finding leave
// the open queue. Screenshots of the queue and the explanation in Korean and English (1280 px),
// and both pages at 390 px without sideways scrolling.

/// A SARIF log with one result per (rule, path, CVE), the CVE named in the message.
fn patch_journey_sarif(results: &[(&str, &str, &str)]) -> Vec<u8> {
    let results: Vec<Value> = results
        .iter()
        .map(|(rule, path, cve)| {
            json!({"ruleId": rule, "level": "error", "message": {"text": format!("Vulnerable dependency {cve}")},
                "properties": {"security-severity": "8.1"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": path}, "region": {"startLine": 1}}}],
                "partialFingerprints": {"primaryLocationLineHash": format!("{rule}-{path}")}})
        })
        .collect();
    serde_json::to_vec(&json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "depscan", "version": "1.0", "rules": []}}, "results": results}]})).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_journey_from_queue_to_recorded_patch() {
    use haechi_service::feeds::{FeedFile, FeedKind};
    use haechi_service::findings::{FindingsUpload, ResourceInput};

    run_within(Duration::from_secs(240), |h| async move {
        // The CISO's institution gets an internet-facing resource with two findings; the KEV
        // catalog lists one of them (P1), the other stays P4.
        let ciso = h.actor("ciso.hanbit").await;
        let officer = h.actor("officer").await;
        let inst = ciso.institution_id.unwrap();
        let res = h
            .svc
            .create_resource(
                &ciso,
                inst,
                ResourceInput {
                    name: "인터넷뱅킹 웹 게이트웨이".into(),
                    kind: "server".into(),
                    business_function: "internet banking".into(),
                    data_kinds: vec![haechi_policy::DataKind::CustomerPersonal],
                    network_zone: haechi_policy::NetworkZone::Internet,
                    processes_electronic_transactions: true,
                    dr_tier: None,
                    owner: None,
                },
            )
            .await
            .unwrap()
            .id;
        let upload = FindingsUpload {
            institution_id: inst,
            resource_id: Some(res),
            file_name: Some("ibank-deps.sarif".into()),
            ..Default::default()
        };
        let log = patch_journey_sarif(&[
            ("log4j", "ibank/pom.xml", "CVE-2021-44228"),
            ("jackson", "ibank/pom.xml", "CVE-2020-36518"),
        ]);
        h.svc
            .import_findings(&ciso, &upload, std::io::Cursor::new(log))
            .await
            .unwrap();
        let today = h.svc.today().to_string();
        let kev = json!({"title": "KEV", "catalogVersion": today, "dateReleased": format!("{today}T12:00:00.000Z"), "count": 1,
            "vulnerabilities": [{"cveID": "CVE-2021-44228", "vendorProject": "Apache", "product": "Log4j2", "vulnerabilityName": "Log4Shell",
                "dateAdded": "2021-12-10", "shortDescription": "RCE", "requiredAction": "Patch", "dueDate": "2021-12-24",
                "knownRansomwareCampaignUse": "Known", "notes": ""}]});
        h.svc
            .import_feed(
                &officer,
                FeedKind::Kev,
                vec![FeedFile {
                    name: "known_exploited_vulnerabilities.json".into(),
                    bytes: serde_json::to_vec(&kev).unwrap(),
                }],
                None,
            )
            .await
            .unwrap();
        let id_of = |cve: &'static str| {
            let pool = h.svc.store().pool().clone();
            async move {
                sqlx::query_scalar::<_, i64>("SELECT id FROM findings WHERE institution_id = $1 AND resource_id = $2 AND cves LIKE $3")
                    .bind(inst)
                    .bind(res)
                    .bind(format!("%,{cve},%"))
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        let log4j = id_of("CVE-2021-44228").await;
        let jackson = id_of("CVE-2020-36518").await;

        // 1. Sign in and open the queue: the KEV finding is listed, P1.
        h.login("ciso.hanbit").await;
        h.open("/queue").await;
        h.assert_title("패치 대기열").await;
        // The filter keeps this resource's findings (the demo may queue others).
        h.choose("resource", &res.to_string()).await;
        h.click(Locator::Css("form[action='/queue'] button[type=submit]")).await;
        h.wait_for_url(&format!("resource={res}")).await;
        let link = format!("a[href='/queue/{log4j}']");
        let row = h
            .client
            .find(Locator::XPath(&format!("//tr[.//a[@href='/queue/{log4j}']]")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(row.contains("P1") && row.contains("p1-kev-exposed"), "{row}");
        h.screenshots_ko_en(&format!("/queue?resource={res}"), "patch-queue").await;

        // 2. The finding's explanation: the deciding row and its inputs' sources.
        h.open(&format!("/queue?resource={res}")).await;
        h.click(Locator::Css(&link)).await;
        h.wait_for_url(&format!("/queue/{log4j}")).await;
        let body = h.body_text().await;
        for text in ["p1-kev-exposed", "이 행이 결정", "CISA KEV 목록", "2021-12-10", "인터넷 접점"] {
            assert!(body.contains(text), "the explanation lacks {text:?}:\n{body}");
        }
        h.screenshots_ko_en(&format!("/queue/{log4j}"), "patch-explanation").await;

        // 3. Record a patch through the form, from the explanation's link.
        h.open(&format!("/queue/{log4j}")).await;
        h.click(Locator::Css(&format!("a[href='/patches/new?finding={log4j}']"))).await;
        h.wait_for_url("/patches/new").await;
        let ids = h.client.find(Locator::Id("finding_ids")).await.unwrap();
        assert_eq!(ids.prop("value").await.unwrap().as_deref(), Some(log4j.to_string().as_str()));
        h.type_into("applied", "log4j-core 2.17.1 (Apache 보안 권고 반영)").await;
        for item in ["pre_testing_done", "rollback_ready", "isolation_ready", "continuity_plan", "customers_notified_in_advance"] {
            h.click(Locator::Id(item)).await;
        }
        h.screenshot("patch-form-ko").await;
        h.click(Locator::Css("form[action='/patches'] button[type=submit]")).await;
        h.wait_for_url("recorded=1").await;
        let body = h.body_text().await;
        assert!(body.contains("log4j-core 2.17.1") && body.contains("조치 완료로 바뀐 취약점: 1"), "{body}");
        h.screenshot("patch-recorded-ko").await;
        let fixed = h.svc.get_finding(&ciso, log4j).await.unwrap().finding.status;
        assert_eq!(fixed, "fixed");

        // 4. The finding has left the open queue; the other one is still there.
        h.open(&format!("/queue?resource={res}")).await;
        assert!(h.client.find_all(Locator::Css(&link)).await.unwrap().is_empty(), "the fixed finding is still queued");
        assert_eq!(
            h.client.find_all(Locator::Css(&format!("a[href='/queue/{jackson}']"))).await.unwrap().len(),
            1
        );

        // The burn-down and SLA charts show the fix (beside them, AI-found vs conventional).
        h.open("/patches/charts").await;
        assert_eq!(h.client.find_all(Locator::Css("figure.chart svg[role=img]")).await.unwrap().len(), 3);
        h.screenshots_ko_en("/patches/charts", "patch-charts").await;
        h.screenshots_ko_en("/feeds", "patch-feeds").await;

        // 5. At phone width the queue and the explanation fit.
        h.client.set_window_size(390, 844).await.unwrap();
        for (path, name) in [("/queue".to_string(), "patch-queue-390-ko"), (format!("/queue/{log4j}"), "patch-explanation-390-ko")] {
            h.open(&path).await;
            assert_no_horizontal_scroll(&h, &path).await;
            h.screenshot(name).await;
        }
        h
    })
    .await;
}

// ================================================================================ the officer's phase
//
// Issue #14: an FSC officer runs a whole phase in the web UI only, with no API call and no
// service call that changes anything: screening, assigning three reviewers, the three advisors
// declaring and scoring, the decision, the cohort, issuing the cohort's letters, verifying one
// on the public /verify page, revoking one and renewing one. The test reads the service only to
// find ids and to check outcomes, and moves the service's clock (the phase window, then the
// renewal window before expiry).

impl Harness {
    /// Clicks a `<details>` confirmation step open, then the button inside it.
    async fn confirm_in(&self, details_id: &str, button: &str) {
        self.click(Locator::Css(&format!("details#{details_id} > summary")))
            .await;
        self.click(Locator::Css(&format!(
            "details#{details_id}[open] button[type=submit]{button}"
        )))
        .await;
    }

    /// Issues the draft letter `id` from its page; returns its number.
    async fn issue_letter_in_ui(&self, id: i64) -> String {
        self.open(&format!("/letters/{id}")).await;
        self.confirm_in("issue", "").await;
        self.wait_for_url(&format!("/letters/{id}?done=issued"))
            .await;
        let row = self.svc.get_letter(&Actor::system(), id).await.unwrap();
        assert_eq!(row.state, "issued");
        row.letter_number.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officer_runs_a_whole_phase_in_the_browser() {
    use haechi_core::ApplicationState;

    run_within(Duration::from_secs(480), |h| async move {
        let at = |y: i32, m: u32, d: u32| {
            chrono::NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(10, 0, 0)
                .unwrap()
        };
        // Inside phase 3's window (Q4 2026), whatever today is.
        h.svc.set_clock(Some(at(2026, 11, 20)));
        let system = Actor::system();
        let officer = h.actor("officer").await;
        let criteria: Vec<String> = h
            .svc
            .policy()
            .evaluation
            .criteria
            .iter()
            .map(|c| c.id.clone())
            .collect();
        // A submitted application of the demo, waiting for the officer.
        let id = h
            .svc
            .list_applications(
                &officer,
                haechi_store::ApplicationFilter {
                    institution_id: None,
                    state: Some(ApplicationState::Submitted),
                    advisor_id: None,
                    limit: 100,
                    offset: 0,
                },
            )
            .await
            .unwrap()
            .0
            .into_iter()
            .next()
            .expect("the demo has a submitted application")
            .id;
        let state = |h: &Harness| {
            let svc = h.svc.clone();
            let officer = officer.clone();
            async move {
                svc.get_application(&officer, id)
                    .await
                    .unwrap()
                    .application
                    .state
            }
        };

        // Korean, as chosen with the language link (the browser itself asks for English).
        h.open("/lang?to=ko&next=/login").await;

        // 1. Screening, from the application's review page.
        h.login("officer").await;
        h.open(&format!("/applications/{id}/review")).await;
        h.click(Locator::XPath(
            "//form[input[@name='action' and @value='start_screening']]//button",
        ))
        .await;
        h.wait_for_url("notice=moved").await;
        assert_eq!(state(&h).await, ApplicationState::Screening);

        // 2. Three reviewers, ticked in the assignment form; then the review starts.
        let panel = ["advisor1", "advisor2", "advisor3"];
        for name in panel {
            let a = h.actor(name).await;
            // The manual choice (the proposals form above it has the same field).
            h.click(Locator::Css(&format!(
                "fieldset#advisor_id input[name=advisor_id][value='{}']",
                a.user_id
            )))
            .await;
        }
        h.click(Locator::XPath(
            "//form[fieldset[@id='advisor_id']]//button[@type='submit']",
        ))
        .await;
        h.wait_for_url("notice=assigned").await;
        h.click(Locator::XPath(
            "//form[input[@name='action' and @value='start_review']]//button",
        ))
        .await;
        h.wait_for_url("notice=moved").await;
        assert_eq!(state(&h).await, ApplicationState::UnderReview);
        h.screenshot("phase-officer-reviewers-ko").await;
        h.logout().await;

        // 3. Each advisor signs in, declares no conflict and submits scores.
        for name in panel {
            h.login(name).await;
            h.open(&format!("/reviews/{id}")).await;
            h.click(Locator::Css("input[name=conflict][value=no]"))
                .await;
            h.click(Locator::Css(
                "form[action$='/conflict'] button[type=submit]",
            ))
            .await;
            h.wait_for_url("notice=declared").await;
            for c in &criteria {
                h.choose(&format!("scores.{c}"), "3").await;
                h.type_into(
                    &format!("scores.{c}.justification"),
                    &format!("{c}: 증빙 자료로 확인한 결과 관리 수준임"),
                )
                .await;
            }
            h.click_confirmed(Locator::Css("button[name=intent][value=submit]"))
                .await;
            h.wait_for_url("notice=scores_submitted").await;
            h.logout().await;
        }

        // 4. The officer completes the evaluation and approves.
        h.login("officer").await;
        h.open(&format!("/applications/{id}/review")).await;
        h.click(Locator::XPath(
            "//form[input[@name='action' and @value='complete_evaluation']]//button",
        ))
        .await;
        h.wait_for_url("notice=moved").await;
        h.type_into(
            "rationale",
            "전문가 평가 통과. 내부통제 방안 이행과 분기별 보고를 조건으로 승인함.",
        )
        .await;
        h.click_confirmed(Locator::Css("button[name=action][value=approve]"))
            .await;
        h.wait_for_url("notice=decided").await;
        assert_eq!(state(&h).await, ApplicationState::Approved);

        // 5. The cohort is confirmed, which drafts its members' letters.
        h.open("/cohorts?phase=phase-3").await;
        h.click_confirmed(Locator::Css("form[action$='/confirm'] button[type=submit]"))
            .await;
        h.wait_for_url("notice=confirmed").await;
        let cohort = h
            .svc
            .list_cohorts(&officer)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.phase_id == "phase-3")
            .expect("phase 3 confirmed");
        assert!(cohort.members.contains(&id), "{cohort:?}");

        // 6. Every draft of the cohort is issued from its page, after the confirmation step.
        h.open("/letters?status=draft").await;
        let drafts: Vec<i64> = h
            .svc
            .list_letters(&system)
            .await
            .unwrap()
            .into_iter()
            .filter(|l| l.state == "draft" && l.phase_id.as_deref() == Some("phase-3"))
            .map(|l| l.id)
            .collect();
        assert_eq!(drafts.len(), cohort.members.len(), "one draft per member");
        let body = h.body_text().await;
        assert!(body.contains("번호 미부여 초안"), "{body}");
        let mut numbers = Vec::new();
        for d in &drafts {
            numbers.push(h.issue_letter_in_ui(*d).await);
        }
        let own = h
            .svc
            .list_letters(&system)
            .await
            .unwrap()
            .into_iter()
            .find(|l| l.application_id == id)
            .unwrap();
        h.open(&format!("/letters/{}", own.id)).await;
        let body = h.body_text().await;
        assert!(
            body.contains("SaaS 자체 점검"),
            "the printed schedule:\n{body}"
        );
        h.screenshot("phase-letter-issued-ko").await;

        // 7. The letter's "verify" button opens the public page, which answers "valid".
        h.click(Locator::Css("a.button[href^='/verify?number=']"))
            .await;
        h.wait_for_url("/verify?number=").await;
        let result = h
            .client
            .wait()
            .at_most(STEP_TIMEOUT)
            .for_element(Locator::Css("section.result[data-outcome]"))
            .await
            .unwrap();
        assert_eq!(
            result.attr("data-outcome").await.unwrap().as_deref(),
            Some("valid")
        );
        let number = own.letter_number.clone().unwrap();
        assert!(result.text().await.unwrap().contains(&number));
        // Styled like the portal: its stylesheet applies (no CSP-blocked inline style).
        let font = h
            .client
            .execute("return getComputedStyle(document.body).fontFamily;", vec![])
            .await
            .unwrap();
        assert!(
            !font.as_str().unwrap_or("").to_lowercase().contains("times"),
            "{font}"
        );
        h.screenshot("phase-verify-valid-ko").await;

        // 8. One letter is revoked with a reason; the verify page then says so.
        let revoked = drafts[0];
        let reason = "신청서에 기재한 내부통제 방안을 이행하지 않음";
        h.open(&format!("/letters/{revoked}")).await;
        h.click(Locator::Css("details#revoke > summary")).await;
        h.type_into("reason", reason).await;
        h.click(Locator::Css("details#revoke[open] button[type=submit]"))
            .await;
        h.wait_for_url(&format!("/letters/{revoked}?done=revoked"))
            .await;
        let body = h.body_text().await;
        assert!(body.contains(reason), "{body}");
        let revoked_number = h
            .svc
            .get_letter(&system, revoked)
            .await
            .unwrap()
            .letter_number
            .unwrap();
        let shown = h.verify_number(false, &revoked_number).await;
        assert_eq!(shown.outcome, "revoked", "{shown:?}");
        assert!(shown.text.contains("취소된 의견서입니다"), "{shown:?}");

        // 9. Another is renewed when its renewal window opens (the clock moves to 60 days
        // before it ends); the renewal is issued and starts the day after the original ends.
        let renewed = *drafts.last().unwrap();
        assert_ne!(renewed, revoked, "the cohort has more than one member");
        let until = h
            .svc
            .get_letter(&system, renewed)
            .await
            .unwrap()
            .valid_until
            .unwrap();
        let until = chrono::NaiveDate::parse_from_str(&until, "%Y-%m-%d").unwrap();
        h.svc.set_clock(Some(
            (until - chrono::Duration::days(60))
                .and_hms_opt(10, 0, 0)
                .unwrap(),
        ));
        h.open(&format!("/letters/{renewed}")).await;
        h.confirm_in("renew", "").await;
        let url = h.wait_for_url("?done=renewed").await;
        let renewal: i64 = url
            .split("/letters/")
            .nth(1)
            .and_then(|r| r.split('?').next())
            .unwrap()
            .parse()
            .unwrap();
        let renewal_number = h.issue_letter_in_ui(renewal).await;
        let (_, signed, _) = h.svc.signed_letter(&system, renewal).await.unwrap();
        assert_eq!(
            signed.letter.renews.as_deref(),
            numbers.last().map(String::as_str)
        );
        assert_eq!(signed.letter.valid_from, until.succ_opt().unwrap());
        let body = h.body_text().await;
        assert!(
            body.contains("효력 발생 전") && body.contains(&renewal_number),
            "{body}"
        );
        h.screenshot("phase-renewal-issued-ko").await;
        h.svc.set_clock(None);
        h
    })
    .await;
}

// ================================================================================ console and CSP
//
// Issue #14: no page of the navigation, for any demo role, in either language, loads with a
// Content-Security-Policy violation or a console error. Chromium's console is read through
// chromedriver's log endpoint after each page; each page is also saved as a screenshot in
// Korean and English at 1280 and 390 px (`target/screenshots/`).

/// Where the console test's screenshots go: `<workspace>/target/screenshots`.
fn target_screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Harness {
    /// The browser's console entries since the last call (chromedriver's legacy log endpoint,
    /// which fantoccini does not wrap): (level, message).
    async fn browser_log(&self) -> Vec<(String, String)> {
        use std::io::{Read, Write};
        // chromedriver runs on this machine; a blocking socket read of a few KB is fine here.
        let session = self.client.session_id().await.unwrap().unwrap();
        let body = r#"{"type":"browser"}"#;
        let mut stream = TcpStream::connect(("127.0.0.1", self.driver_port)).unwrap();
        write!(
            stream,
            "POST /session/{session}/se/log HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        // Read until the whole body is in (by Content-Length, or the last chunk), with a
        // timeout, so that a connection chromedriver keeps open cannot hang the test.
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut raw: Vec<u8> = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => panic!("reading the browser log: {e}"),
            };
            raw.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&raw);
            if let Some(h) = text.find("\r\n\r\n") {
                let head = text[..h].to_ascii_lowercase();
                let body_len = raw.len() - (h + 4);
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok());
                match length {
                    Some(len) if body_len >= len => break,
                    None if text.ends_with("0\r\n\r\n") => break,
                    _ => {}
                }
            }
        }
        let answer = String::from_utf8_lossy(&raw).into_owned();
        let json_at = answer.find("\r\n\r\n").map_or(0, |i| i + 4);
        let mut text = &answer[json_at..];
        // A chunked answer: the JSON sits between the chunk sizes.
        if let (Some(a), Some(b)) = (text.find('{'), text.rfind('}')) {
            text = &text[a..=b];
        }
        let v: Value = serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("the log endpoint answered {answer:?}: {e}"));
        v["value"]
            .as_array()
            .unwrap_or_else(|| panic!("no log entries in {v}"))
            .iter()
            .map(|e| {
                (
                    e["level"].as_str().unwrap_or("").to_string(),
                    e["message"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// The links of the main navigation of the page shown.
    async fn nav_links(&self) -> Vec<String> {
        let mut out = Vec::new();
        for a in self
            .client
            .find_all(Locator::Css("nav.main a"))
            .await
            .unwrap()
        {
            if let Some(href) = a.attr("href").await.unwrap() {
                out.push(href);
            }
        }
        out
    }

    /// A PNG of the page as shown, to `target/screenshots/{name}.png`.
    async fn save_screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
        std::fs::write(target_screenshot_dir().join(format!("{name}.png")), png).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_page_of_the_navigation_logs_a_csp_violation_or_a_console_error() {
    run_within(Duration::from_secs(420), |h| async move {
        let roles = [
            "admin",
            "officer",
            "analyst",
            "support",
            "advisor1",
            "ciso.hanbit",
            "staff.hanbit",
            "auditor",
        ];
        let mut problems: Vec<String> = Vec::new();
        let mut shot: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        let mut pages = 0;
        // The sign-in page, before anyone signs in.
        for lang in ["ko", "en"] {
            h.open(&format!("/login?lang={lang}")).await;
            h.save_screenshot(&format!("login-{lang}-1280")).await;
        }
        let _ = h.browser_log().await;
        // The log is read for real: a page that answers 404 is reported as an error.
        h.open("/no-such-page-here").await;
        let log = h.browser_log().await;
        assert!(
            log.iter()
                .any(|(level, m)| level == "SEVERE" && m.contains("404")),
            "the browser log does not show a 404: {log:?}"
        );
        for role in roles {
            h.login(role).await;
            let links = h.nav_links().await;
            assert!(!links.is_empty(), "{role} has no navigation");
            for lang in ["ko", "en"] {
                for path in &links {
                    let sep = if path.contains('?') { '&' } else { '?' };
                    h.open(&format!("{path}{sep}lang={lang}")).await;
                    pages += 1;
                    for (level, message) in h.browser_log().await {
                        if level == "SEVERE"
                            || message.contains("Content Security Policy")
                            || message.contains("Content-Security-Policy")
                        {
                            problems.push(format!("{role} {lang} {path}: [{level}] {message}"));
                        }
                    }
                    // One screenshot per page and language (the start page per role), at both
                    // widths.
                    let slug = path.trim_matches('/').replace(['/', '?', '=', '&'], "-");
                    let slug = if slug.is_empty() {
                        format!("dashboard-{}", role.replace('.', "-"))
                    } else {
                        slug
                    };
                    if shot.insert(format!("{slug}-{lang}")) {
                        h.save_screenshot(&format!("{slug}-{lang}-1280")).await;
                        h.client.set_window_size(390, 844).await.unwrap();
                        h.save_screenshot(&format!("{slug}-{lang}-390")).await;
                        h.client.set_window_size(1280, 900).await.unwrap();
                    }
                }
            }
            h.logout().await;
        }
        assert!(pages >= 80, "only {pages} pages were opened");
        assert!(
            problems.is_empty(),
            "console errors or CSP violations:\n{}",
            problems.join("\n")
        );
        h
    })
    .await;
}

// ------------------------------------------------------------------------------------------
// Sanction immunity in the browser (issue #17): the institution files a disruption report from
// its patch record (the record's button pre-fills the work plan), attaches the rollback log as
// evidence, the immunity review committee (an officer) records its decision with the rationale,
// and the institution reads the decision with every criterion's reasons.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disruption_report_from_a_patch_record_to_the_committee_decision() {
    run_within(Duration::from_secs(240), |h| async move {
        let ciso = h.actor("ciso.hanbit").await;
        let inst = ciso.institution_id.unwrap();
        let patch = h
            .svc
            .patch_records(&ciso, inst)
            .await
            .unwrap()
            .into_iter()
            .max_by_key(|p| p.id)
            .expect("the demo bank has patch records")
            .id;

        h.login("ciso.hanbit").await;
        h.open(&format!("/patches/{patch}")).await;
        h.click(Locator::Css(&format!(
            "a[href='/immunity/new?patch={patch}']"
        )))
        .await;
        h.wait_for_url(&format!("/immunity/new?patch={patch}"))
            .await;
        // The record is chosen, so its work plan is the one the rules read (no checkboxes).
        let chosen = h
            .client
            .find(Locator::Css("#patch_id option:checked"))
            .await
            .unwrap()
            .attr("value")
            .await
            .unwrap();
        assert_eq!(chosen.as_deref(), Some(patch.to_string().as_str()));
        assert!(h.client.find(Locator::Id("pre_testing")).await.is_err());
        h.choose("activity", "emergency_patch").await;
        h.type_into("title", "긴급 패치 후 스마트뱅킹 로그인 지연")
            .await;
        for (id, value) in [
            ("started_at", "2026-11-27T09:10"),
            ("detected_at", "2026-11-27T09:14"),
            ("recovered_at", "2026-11-27T09:52"),
        ] {
            h.client
                .execute(
                    "document.getElementById(arguments[0]).value = arguments[1];",
                    vec![json!(id), json!(value)],
                )
                .await
                .unwrap();
        }
        h.type_into("affected_services", "스마트뱅킹 로그인").await;
        h.type_into("affected_subscribers", "3,200").await;
        h.type_into("financial_damage_krw", "4,000,000").await;
        h.type_into("leaked_records", "0").await;
        h.type_into("recovery_actions", "킬스위치로 이전 인증 모듈 복귀")
            .await;
        h.type_into("consumer_actions", "지연 안내 문자 발송").await;
        h.click(Locator::Css("form[action='/immunity'] button[type=submit]"))
            .await;
        let url = h.wait_for_url("done=filed").await;
        let report: i64 = url
            .split("/immunity/")
            .nth(1)
            .and_then(|rest| rest.split(['?', '#']).next())
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("no report id in {url}"));
        let filed = h.body_text().await;
        assert!(
            filed.contains("42분"),
            "the outage is counted from the times: {filed}"
        );

        // The rollback log as evidence, kept with its SHA-256.
        let log = h.files.path().join("rollback-2026-11-27.txt");
        std::fs::write(&log, "09:41 kill switch, previous auth module restored\n").unwrap();
        h.client
            .find(Locator::Css(&format!(
                "form[action='/immunity/{report}/files'] input[type=file]"
            )))
            .await
            .unwrap()
            .send_keys(&log.display().to_string())
            .await
            .unwrap();
        h.click(Locator::Css(&format!(
            "form[action='/immunity/{report}/files'] button[type=submit]"
        )))
        .await;
        h.wait_for_url("#files").await;
        let files = h.svc.disruption_files(&ciso, report).await.unwrap();
        assert_eq!(files.len(), 1);
        assert!(h.body_text().await.contains(&files[0].sha256));
        h.logout().await;

        // The committee decides, with its rationale.
        h.login("officer").await;
        h.open(&format!("/immunity/{report}")).await;
        h.click(Locator::Css("input[name=decision][value=grant]"))
            .await;
        h.type_into(
            "rationale",
            "당국 권고 취약점의 긴급 패치로 인한 42분 경미 장애, 킬스위치로 복구: 면책",
        )
        .await;
        h.click(Locator::Css(&format!(
            "form[action='/immunity/{report}/decision'] button[type=submit]"
        )))
        .await;
        h.wait_for_url("done=decided").await;
        h.logout().await;

        // The institution sees the decision, its rationale and each criterion's reasons.
        h.login("ciso.hanbit").await;
        h.open(&format!("/immunity/{report}")).await;
        let seen = h.body_text().await;
        for text in [
            "면책심의위원회 결정과 사유",
            "킬스위치로 복구: 면책",
            "면책 기준",
            "발생 2026-11-27 09:10 KST · 복구 2026-11-27 09:52 KST",
            "기관이 보고한 금전적 피해액",
            "패치 기록 #",
            "rollback-2026-11-27.txt",
            "KST",
        ] {
            assert!(seen.contains(text), "missing {text:?}:\n{seen}");
        }
        assert!(
            !seen.contains("파일 올리기"),
            "a decided report takes no more files"
        );
        h.screenshot("immunity-decided").await;
        h
    })
    .await;
}

// ---------------------------------------------------------------- a report, both sides (issue #15)
//
// The CISO compiles a report from the bank's data, writes the three sections and submits it; the
// officer returns it with a comment on one section; the CISO sees the comment, starts a new
// version, corrects the section and submits again; the officer accepts. The bank's user then
// opens the anonymised sector view and sees cells withheld under the anonymity rules, labelled.

impl Harness {
    /// Submits the form whose action is `action` with its (first) submit button, and waits for
    /// the redirect that says `done`.
    async fn post_report_form(&self, action: &str, done: &str) {
        self.click(Locator::Css(&format!(
            "form[action='{action}'] button[type=submit]"
        )))
        .await;
        self.wait_for_url(&format!("done={done}")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_is_submitted_returned_corrected_and_accepted() {
    run_within(Duration::from_secs(240), |h| async move {
        let ciso = h.actor("ciso.hanbit").await;
        let id = h
            .svc
            .report_list(&ciso)
            .await
            .unwrap()
            .into_iter()
            .find(|i| {
                i.report_state.is_none()
                    && i.obligation.row.status == "open"
                    && i.obligation.row.kind == "quarterly_report"
            })
            .expect("the bank has an open quarterly obligation without a report")
            .obligation
            .row
            .id;
        let page = format!("/reports/{id}");

        h.login("ciso.hanbit").await;
        h.open(&page).await;
        h.post_report_form(&format!("{page}/compile"), "compiled").await;
        assert!(h.body_text().await.contains("기관 데이터 집계"));
        h.type_into("risk_ko", "AI 점검 도구가 인증 우회 경로를 사람보다 빠르게 연결했습니다.")
            .await;
        h.type_into("offensive_ko", "공격자가 같은 도구를 쓰면 공개 API가 몇 시간 안에 악용될 수 있습니다.")
            .await;
        h.type_into("defences_ko", "WAF 가상 패치와 배포 전 자동 점검이 효과적이었습니다.")
            .await;
        h.post_report_form(&format!("{page}/narrative"), "saved").await;
        h.post_report_form(&format!("{page}/submit"), "submitted").await;
        let body = h.body_text().await;
        assert!(body.contains("동결"), "{body}");
        let first_hash = h.svc.report(&ciso, id).await.unwrap().versions[0]
            .row
            .content_hash
            .clone()
            .expect("the submitted version carries its hash");
        assert!(body.contains(&first_hash), "the content hash is shown");
        h.logout().await;

        // The officer returns it with a comment on the first section only.
        h.login("officer").await;
        h.open(&page).await;
        h.type_into("c_risk", "발견된 위험의 근거(점검 도구와 모델)를 보완하십시오.")
            .await;
        h.click(Locator::Css("button[name='decision'][value='return']"))
            .await;
        h.wait_for_url("done=returned").await;
        h.logout().await;

        // The CISO sees the comment, starts a new version and corrects the section.
        h.login("ciso.hanbit").await;
        h.open(&page).await;
        let body = h.body_text().await;
        assert!(body.contains("감독당국 검토 의견"), "{body}");
        assert!(body.contains("발견된 위험의 근거(점검 도구와 모델)를 보완하십시오."));
        h.post_report_form(&format!("{page}/compile"), "compiled").await;
        let kept = h
            .client
            .find(Locator::Id("defences_ko"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(
            kept.as_deref(),
            Some("WAF 가상 패치와 배포 전 자동 점검이 효과적이었습니다."),
            "the new version starts from the returned one's narrative"
        );
        h.type_into("risk_ko", "AI 점검 도구(모델 포함)가 인증 우회 경로를 사람보다 빠르게 연결했습니다.\n근거: 3회 점검에서 12건.")
            .await;
        h.post_report_form(&format!("{page}/narrative"), "saved").await;
        h.post_report_form(&format!("{page}/submit"), "submitted").await;
        h.logout().await;

        // The officer accepts the second version; the first stays as it was.
        h.login("officer").await;
        h.open(&page).await;
        h.click(Locator::Css("button[name='decision'][value='accept']"))
            .await;
        h.wait_for_url("done=accepted").await;
        let report = h.svc.report(&ciso, id).await.unwrap();
        let states: Vec<&str> = report.versions.iter().map(|v| v.row.state.as_str()).collect();
        assert_eq!(states, ["returned", "accepted"]);
        assert_eq!(
            report.versions[0].row.content_hash.as_deref(),
            Some(first_hash.as_str())
        );
        assert!(report.versions[1].narrative.risk_ko.contains("근거: 3회 점검에서 12건."));
        h.open(&format!("{page}?version=1")).await;
        assert!(h.body_text().await.contains("보완 요청"));
        h.screenshots_ko_en(&page, "report-accepted").await;
        h.logout().await;

        // An institution's user opens the sector view: withheld cells say so.
        h.login("staff.hanbit").await;
        h.open("/sector").await;
        let withheld = h
            .client
            .find_all(Locator::Css("td.withheld"))
            .await
            .unwrap();
        assert!(!withheld.is_empty(), "some cells are withheld");
        let label = withheld[0].text().await.unwrap();
        assert!(label.starts_with("비공개("), "a withheld cell is labelled: {label:?}");
        h.screenshots_ko_en("/sector", "sector-view").await;
        h
    })
    .await;
}
