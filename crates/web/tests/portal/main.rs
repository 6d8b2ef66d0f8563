//! The web portal's pages, driven through the real router without a socket
//! (`tower::ServiceExt::oneshot`), as a browser would: a cookie jar, the sign-in form, CSRF tokens
//! read from the pages, form posts and multipart uploads.
//!
//! Each test gets its own copy of a demo instance (SQLite; seeded once per test binary, then the
//! file is copied), so tests are independent and fast. The pages sit on the service, whose use
//! cases run on both databases in the service and API suites; here SQLite suffices.
//!
//! One module per area of the portal; `account` covers signing in, sessions, CSRF, throttling.

// As clippy.toml says for tests: a panic here is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod account;
mod advisory;
mod ai_findings;
mod applications;
mod audit;
mod bodies;
mod dashboard;
mod findings;
mod immunity;
mod import_leases;
mod letters;
mod matrix;
mod patching;
mod registry;
mod removal;
mod reports;
mod response_team;
mod reviews;
mod sharing;
mod support;
mod users;

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use haechi_service::{Service, ServiceConfig};
use haechi_store::Store;
use haechi_web::AppState;
use http_body_util::BodyExt;
use tempfile::TempDir;
use tokio::sync::{Mutex, OnceCell};
use tower::ServiceExt;

pub const PASSWORD: &str = haechi_service::demo::DEMO_PASSWORD;

/// The seeded demo database, written once per test binary.
static TEMPLATE: OnceCell<(TempDir, PathBuf)> = OnceCell::const_new();

async fn template() -> PathBuf {
    let (_, path) = TEMPLATE
        .get_or_init(|| async {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("template.db");
            let store = Store::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            store.migrate().await.unwrap();
            let svc = Service::open(store.clone(), ServiceConfig::default())
                .await
                .unwrap()
                .with_signer(haechi_letter::Keypair::generate())
                .await
                .unwrap();
            let summary = haechi_service::demo::seed(&svc).await.unwrap();
            assert!(summary.seeded);
            store.close().await;
            (dir, path)
        })
        .await;
    path.clone()
}

/// A demo instance of its own.
pub struct App {
    pub svc: Service,
    pub router: Router,
    _dir: TempDir,
}

impl App {
    pub async fn demo() -> App {
        App::demo_with(ServiceConfig::default()).await
    }

    pub async fn demo_with(config: ServiceConfig) -> App {
        let template = template().await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("haechi.db");
        std::fs::copy(&template, &path).unwrap();
        for ext in ["-wal", "-shm"] {
            let side = PathBuf::from(format!("{}{ext}", template.display()));
            if side.exists() {
                std::fs::copy(&side, format!("{}{ext}", path.display())).unwrap();
            }
        }
        let store = Store::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let svc = Service::open(store, config)
            .await
            .unwrap()
            .with_signer(haechi_letter::Keypair::generate())
            .await
            .unwrap();
        let router = haechi_web::router(AppState::new(svc.clone()).insecure_cookies());
        App {
            svc,
            router,
            _dir: dir,
        }
    }

    /// A browser-like session with no one signed in.
    pub fn anonymous(&self) -> Session {
        Session {
            router: self.router.clone(),
            cookies: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Signs in through the sign-in form; panics if it does not succeed.
    pub async fn login(&self, username: &str) -> Session {
        let s = self.anonymous();
        let page = s.sign_in(username, PASSWORD).await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "sign-in as {username} failed: {}",
            page.body
        );
        s
    }
}

/// A page as answered.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub body: String,
    pub location: Option<String>,
    pub headers: axum::http::HeaderMap,
}

impl Page {
    pub fn has_text(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    /// The value of a hidden input of the page.
    pub fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_string())
    }
}

/// A cookie jar over the router.
#[derive(Clone)]
pub struct Session {
    router: Router,
    cookies: Arc<Mutex<Vec<(String, String)>>>,
}

impl Session {
    async fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .await
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&self, mut req: Request<Body>) -> Page {
        let cookies = self.cookie_header().await;
        if !cookies.is_empty() {
            req.headers_mut()
                .insert(header::COOKIE, cookies.parse().unwrap());
        }
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut jar = self.cookies.lock().await;
        for v in headers.get_all(header::SET_COOKIE) {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            let (k, val) = pair.split_once('=').unwrap();
            jar.retain(|(n, _)| n != k);
            let expired = v.contains("Max-Age=0");
            if !expired {
                jar.push((k.to_string(), val.to_string()));
            }
        }
        drop(jar);
        let location = headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Page {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            location,
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    /// The session's CSRF token, read from a page as a browser would have it.
    pub async fn csrf(&self) -> String {
        self.get("/account")
            .await
            .hidden("_csrf")
            .expect("a signed-in page carries a CSRF field")
    }

    pub async fn post_raw(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = serde_urlencoded::to_string(form).unwrap();
        self.send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    /// A form post with the session's CSRF token added (as the page's hidden field would).
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.csrf().await;
        let mut fields = vec![("_csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        self.post_raw(path, &fields).await
    }

    pub async fn post_without_csrf(&self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_raw(path, form).await
    }

    /// A multipart post: `_csrf` first, then the fields, then the files (name, file name, bytes).
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, Vec<u8>)],
    ) -> Page {
        let csrf = self.csrf().await;
        self.post_multipart_raw(path, Some(&csrf), fields, files)
            .await
    }

    pub async fn post_multipart_raw(
        &self,
        path: &str,
        csrf: Option<&str>,
        fields: &[(&str, &str)],
        files: &[(&str, &str, Vec<u8>)],
    ) -> Page {
        let boundary = "haechi-test-boundary-7f3a";
        let mut body: Vec<u8> = Vec::new();
        let mut field = |name: &str, value: &[u8], file: Option<&str>| {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match file {
                Some(f) => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(value);
            body.extend_from_slice(b"\r\n");
        };
        if let Some(c) = csrf {
            field("_csrf", c.as_bytes(), None);
        }
        for (k, v) in fields {
            field(k, v.as_bytes(), None);
        }
        for (k, f, bytes) in files {
            field(k, bytes, Some(f));
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.send(
            Request::post(path)
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    /// Posts the sign-in form as a browser would: loads it (for its CSRF cookie), then posts.
    pub async fn sign_in(&self, username: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        let pre = form
            .hidden("_pre")
            .expect("the sign-in form has a CSRF field");
        self.post_raw(
            "/login",
            &[
                ("_pre", &pre),
                ("username", username),
                ("password", password),
                ("next", "/"),
            ],
        )
        .await
    }

    /// Forgets the session cookie's value but keeps its name (a session that has ended).
    pub async fn set_cookie(&self, name: &str, value: &str) {
        let mut jar = self.cookies.lock().await;
        jar.retain(|(n, _)| n != name);
        jar.push((name.to_string(), value.to_string()));
    }
}
