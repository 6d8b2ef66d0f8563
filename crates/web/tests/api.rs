//! The REST API end to end: every request goes through the real router (`haechi_web::router`)
//! with `tower::ServiceExt::oneshot`, no socket, against a real database seeded with the demo
//! program history. Every scenario runs twice: on SQLite in a temporary directory, and on a fresh
//! PostgreSQL database at `HAECHI_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), created for the test and dropped after it.
//! `HAECHI_TEST_POSTGRES=skip` skips the PostgreSQL runs (and says so); otherwise an unreachable
//! PostgreSQL fails them.
//!
//! The scenarios are grouped so that only a handful of databases are seeded (seeding takes a
//! few seconds each): basics (health, metrics, authentication, OpenAPI, audit), registry and
//! eligibility, the application journey (with tenant isolation and its audit trail), and policy
//! versions.

// As clippy.toml says for tests: a panic here is the test failing. Clippy only sees `#[test]`
// functions as tests, not the harness and scenario helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use haechi_service::demo::{self, DemoSummary};
use haechi_service::{Service, ServiceConfig};
use haechi_store::{with_database, Store};
use haechi_web::AppState;
use http_body_util::BodyExt;
use rand::Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::{Connection, Executor};
use tower::ServiceExt;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const REGENERATE: &str = "cargo run -p haechi -- openapi > docs/openapi.json";

// ================================================================================ harness

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The router over a freshly seeded database, and what the demo reported (accounts with tokens).
#[derive(Clone)]
struct App {
    backend: Backend,
    router: Router,
    summary: DemoSummary,
    /// The service behind the router, to move its clock (letter renewal opens near expiry).
    svc: Service,
}

impl App {
    /// The API token of a demo account.
    fn token(&self, username: &str) -> String {
        self.summary
            .accounts
            .iter()
            .find(|a| a.username == username)
            .and_then(|a| a.token.clone())
            .unwrap_or_else(|| panic!("the demo has no account '{username}' with a token"))
    }
}

/// A request body: none, JSON, or raw bytes with their content type.
enum Payload {
    Nothing,
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

use Payload::{Json as J, Nothing as NONE, Raw};

/// A response: status, headers and the raw body.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {}", self.text()))
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// One request through the router. `user` is a demo account name (its token is sent), a literal
/// `Bearer …` header value, or `None` for no `Authorization` header.
async fn request(
    app: &App,
    method: Method,
    path: &str,
    user: Option<&str>,
    body: Payload,
) -> Reply {
    let mut req = Request::builder().method(method.clone()).uri(path);
    match user {
        Some(raw) if raw.starts_with("Bearer") || raw.starts_with("Basic") => {
            req = req.header(header::AUTHORIZATION, raw)
        }
        Some(name) => {
            req = req.header(header::AUTHORIZATION, format!("Bearer {}", app.token(name)))
        }
        None => {}
    }
    let body = match body {
        Payload::Nothing => Body::empty(),
        Payload::Json(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(serde_json::to_vec(&v).unwrap())
        }
        Payload::Raw(ct, bytes) => {
            req = req.header(header::CONTENT_TYPE, ct);
            Body::from(bytes)
        }
    };
    let resp = app
        .router
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

/// One JSON API call: the status and the JSON body (a body that is not JSON comes back as a
/// JSON string, so that the assertion on the status shows it).
async fn call(
    app: &App,
    method: Method,
    path: &str,
    user: Option<&str>,
    body: Payload,
) -> (StatusCode, Value) {
    let r = request(app, method, path, user, body).await;
    let v = serde_json::from_slice(&r.body).unwrap_or_else(|_| {
        Value::String(format!(
            "(not JSON, {}) {}",
            r.header("content-type"),
            r.text()
        ))
    });
    (r.status, v)
}

/// A call that must succeed with `status`; answers its JSON body.
async fn expect_ok(
    app: &App,
    method: Method,
    path: &str,
    user: &str,
    body: Payload,
    status: u16,
) -> Value {
    let (got, v) = call(app, method.clone(), path, Some(user), body).await;
    assert_eq!(
        got.as_u16(),
        status,
        "[{:?}] {method} {path} as {user}: {v:#}",
        app.backend
    );
    v
}

/// A call that must fail with `status` and the error `code`; answers the error object.
async fn expect_err(
    app: &App,
    method: Method,
    path: &str,
    user: Option<&str>,
    body: Payload,
    status: u16,
    code: &str,
) -> Value {
    let (got, v) = call(app, method.clone(), path, user, body).await;
    assert_eq!(
        (
            got.as_u16(),
            v["error"]["code"].as_str().unwrap_or("<no code>")
        ),
        (status, code),
        "[{:?}] {method} {path} as {user:?}: {v:#}",
        app.backend
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "an error has a message: {v:#}"
    );
    v["error"].clone()
}

/// One row of a refusal table: who calls what, and the status and code they must get.
struct Refusal {
    method: Method,
    path: String,
    user: Option<&'static str>,
    body: Option<Value>,
    status: u16,
    code: &'static str,
}

fn refusal(
    method: Method,
    path: impl Into<String>,
    user: Option<&'static str>,
    status: u16,
    code: &'static str,
) -> Refusal {
    Refusal {
        method,
        path: path.into(),
        user,
        body: None,
        status,
        code,
    }
}

/// Checks a whole table of refusals.
async fn check_refusals(app: &App, table: Vec<Refusal>) {
    for r in table {
        let body = match r.body {
            Some(v) => J(v),
            None => NONE,
        };
        expect_err(app, r.method, &r.path, r.user, body, r.status, r.code).await;
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `scenario` against a fresh, migrated, demo-seeded database of `backend`: the harness's
/// `app(backend)`. The database is removed afterwards, also when the scenario fails.
async fn run_on<F, Fut>(backend: Backend, test: &str, config: ServiceConfig, scenario: F)
where
    F: FnOnce(App) -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let mut _sqlite_dir = None;
    let mut postgres: Option<(sqlx::AnyConnection, String)> = None;
    let url = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}/haechi.db", dir.path().display());
            _sqlite_dir = Some(dir);
            url
        }
        Backend::Postgres => {
            if std::env::var("HAECHI_TEST_POSTGRES").is_ok_and(|v| v == "skip") {
                println!("{test}: the PostgreSQL run is skipped (HAECHI_TEST_POSTGRES=skip)");
                return;
            }
            let admin_url = std::env::var("HAECHI_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
            sqlx::any::install_default_drivers();
            let mut admin = sqlx::AnyConnection::connect(&admin_url).await.unwrap_or_else(|e| {
                panic!("PostgreSQL does not answer at {admin_url}: {e} (set HAECHI_TEST_POSTGRES=skip to skip the PostgreSQL runs)")
            });
            let name = format!("haechi_api_{:016x}", rand::thread_rng().gen::<u64>());
            admin
                .execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create the test database");
            let url = with_database(&admin_url, &name);
            postgres = Some((admin, name));
            url
        }
    };
    // A local task: its panic comes back as an error, so the database is dropped either way.
    let local = tokio::task::LocalSet::new();
    let outcome = local
        .run_until(async move {
            tokio::task::spawn_local(async move {
                let store = Store::connect(&url).await.expect("connect");
                store.migrate().await.expect("migrate");
                let svc = Service::open(store.clone(), config)
                    .await
                    .expect("open the service")
                    .with_signer(haechi_letter::Keypair::generate())
                    .await
                    .expect("install a signing key");
                let summary = demo::seed(&svc).await.expect("seed the demo");
                assert!(
                    summary.seeded && summary.eligible == 49,
                    "demo: {} eligible",
                    summary.eligible
                );
                let app = App {
                    backend,
                    router: haechi_web::router(AppState::new(svc.clone())),
                    summary,
                    svc,
                };
                scenario(app).await;
                store.close().await;
            })
            .await
        })
        .await;
    if let Some((mut admin, name)) = postgres {
        admin
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await
            .expect("drop the test database");
    }
    match outcome {
        Ok(()) => println!("{test}: passed on {backend:?}"),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Declares one test per backend for a scenario.
macro_rules! on_both_backends {
    ($scenario:ident, $config:expr) => {
        mod $scenario {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run_on(
                    Backend::Sqlite,
                    concat!(stringify!($scenario), "::sqlite"),
                    $config,
                    super::$scenario,
                )
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run_on(
                    Backend::Postgres,
                    concat!(stringify!($scenario), "::postgres"),
                    $config,
                    super::$scenario,
                )
                .await;
            }
        }
    };
}

on_both_backends!(basics, ServiceConfig::default());
on_both_backends!(registry_and_eligibility, ServiceConfig::default());
on_both_backends!(
    application_journey,
    ServiceConfig {
        max_attachment_bytes: 1024,
        ..ServiceConfig::default()
    }
);
on_both_backends!(policy_versions, ServiceConfig::default());
on_both_backends!(letters, ServiceConfig::default());

// ================================================================================ small helpers

/// The ids of a list of records.
fn ids(items: &Value) -> Vec<i64> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

/// `(institution id, Korean name)` of the demo account's institution.
async fn institution_of(app: &App, user: &str) -> (i64, String) {
    let me = expect_ok(app, Method::GET, "/api/v1/me", user, NONE, 200).await;
    assert_eq!(me["username"], user);
    let id = me["institution_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{user} has no institution: {me}"));
    let view = expect_ok(
        app,
        Method::GET,
        &format!("/api/v1/institutions/{id}"),
        "officer",
        NONE,
        200,
    )
    .await;
    (
        id,
        view["institution"]["name_ko"].as_str().unwrap().to_string(),
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn field_errors(err: &Value) -> Vec<(String, Option<i64>)> {
    err["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["field"].as_str().unwrap_or("").to_string(),
                        f["row"].as_i64(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

// ================================================================================ 1, 2, 7: basics

async fn basics(app: App) {
    // Health.
    let r = request(&app, Method::GET, "/healthz", None, NONE).await;
    assert_eq!((r.status, r.text().as_str()), (StatusCode::OK, "ok"));
    let r = request(&app, Method::GET, "/readyz", None, NONE).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // Metrics carry the route template after a call.
    let page = expect_ok(
        &app,
        Method::GET,
        "/api/v1/institutions",
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(
        (
            page["items"].as_array().unwrap().len(),
            page["per_page"].as_i64(),
            page["total"].as_u64()
        ),
        (50, Some(50), Some(app.summary.institutions as u64)),
        "the default page"
    );
    expect_ok(
        &app,
        Method::GET,
        &format!("/api/v1/institutions/{}", ids(&page["items"])[0]),
        "officer",
        NONE,
        200,
    )
    .await;
    let r = request(&app, Method::GET, "/metrics", None, NONE).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.header("content-type").starts_with("text/plain"),
        "{}",
        r.header("content-type")
    );
    let metrics = r.text();
    for line in [
        "haechi_http_requests_total{method=\"GET\",route=\"/api/v1/institutions\"} 1",
        "haechi_http_requests_total{method=\"GET\",route=\"/api/v1/institutions/{id}\"} 1",
        "# TYPE haechi_http_request_duration_seconds histogram",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "metrics lack `{line}`:\n{metrics}"
        );
    }
    assert!(
        !metrics.contains("/api/v1/institutions/1\""),
        "raw paths must not become labels:\n{metrics}"
    );

    // Unknown paths, missing and bogus tokens.
    let r = request(&app, Method::GET, "/api/v1/institutions", None, NONE).await;
    assert_eq!(r.header("www-authenticate"), "Bearer");
    check_refusals(
        &app,
        vec![
            refusal(Method::GET, "/api/v1/no/such/page", None, 404, "not_found"),
            refusal(
                Method::GET,
                "/api/v1/no-such-route",
                Some("officer"),
                404,
                "not_found",
            ),
            refusal(
                Method::GET,
                "/api/v1/institutions",
                None,
                401,
                "unauthenticated",
            ),
            refusal(
                Method::GET,
                "/api/v1/institutions",
                Some("Bearer hct_0000000000000000000000000000000000000000000000000000000000000000"),
                401,
                "unauthenticated",
            ),
            refusal(
                Method::GET,
                "/api/v1/institutions",
                Some("Bearer "),
                401,
                "unauthenticated",
            ),
            refusal(
                Method::GET,
                "/api/v1/institutions",
                Some("Basic b2ZmaWNlcjpoYWVjaGktZGVtbw=="),
                401,
                "unauthenticated",
            ),
            refusal(
                Method::POST,
                "/api/v1/eligibility/screen",
                None,
                401,
                "unauthenticated",
            ),
        ],
    )
    .await;
    let me = expect_ok(&app, Method::GET, "/api/v1/me", "auditor", NONE, 200).await;
    assert_eq!(
        (me["username"].as_str(), me["role"].as_str()),
        (Some("auditor"), Some("auditor"))
    );

    // OpenAPI: what is served is what the route table builds, and what is committed.
    let r = request(&app, Method::GET, "/api/v1/openapi.json", None, NONE).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        haechi_web::openapi::document(),
        "the served OpenAPI document differs from openapi::document()"
    );
    check_openapi_against_committed_copy();
    // Every documented route is served (the metrics name its template afterwards) and, as
    // documented, refuses a caller without a token unless it is public.
    let routes = haechi_web::api_routes();
    for route in &routes {
        let path = route
            .path
            .replace("{phase}", "phase-1")
            .replace("{version}", "1")
            .replace("{id}", "1");
        let r = request(&app, route.method.clone(), &path, None, NONE).await;
        if route.auth {
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{} {path} without a token: {}",
                route.method,
                r.text()
            );
        } else {
            assert!(
                ![StatusCode::UNAUTHORIZED, StatusCode::METHOD_NOT_ALLOWED].contains(&r.status),
                "public {} {path}: {} {}",
                route.method,
                r.status,
                r.text()
            );
        }
    }
    let metrics = request(&app, Method::GET, "/metrics", None, NONE)
        .await
        .text();
    for route in &routes {
        let series = format!(
            "haechi_http_requests_total{{method=\"{}\",route=\"{}\"}} ",
            route.method, route.path
        );
        assert!(
            metrics.lines().any(|l| l.starts_with(&series)),
            "{} {} is not served by the router:\n{metrics}",
            route.method,
            route.path
        );
    }

    // 7. Audit: the auditor reads and verifies the chain, and changes nothing.
    let v = expect_ok(
        &app,
        Method::GET,
        "/api/v1/audit/verify",
        "auditor",
        NONE,
        200,
    )
    .await;
    assert_eq!(v["intact"], true, "{v}");
    assert!(v["entries"].as_i64().unwrap() > 100, "{v}");
    assert!(v["first_bad"].is_null(), "{v}");
    let admin = expect_ok(
        &app,
        Method::GET,
        "/api/v1/audit/verify",
        "admin",
        NONE,
        200,
    )
    .await;
    assert_eq!(admin["intact"], true);
    let log = expect_ok(
        &app,
        Method::GET,
        "/api/v1/audit?entity=application",
        "auditor",
        NONE,
        200,
    )
    .await;
    let entries = log["items"].as_array().unwrap();
    assert!(
        !entries.is_empty() && log["total"].as_i64().unwrap() >= entries.len() as i64,
        "{log}"
    );
    assert!(
        entries.iter().all(|e| e["entity"] == "application"
            && e["actor_name"].as_str().is_some_and(|n| !n.is_empty())),
        "{log:#}"
    );
    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first");
    // Applications are acted on by named officers, applicants and advisors.
    for name in ["officer", "ciso.hanbit", "advisor1"] {
        let theirs = expect_ok(
            &app,
            Method::GET,
            &format!("/api/v1/audit?entity=application&actor={name}"),
            "auditor",
            NONE,
            200,
        )
        .await;
        let items = theirs["items"].as_array().unwrap();
        assert!(
            !items.is_empty()
                && items
                    .iter()
                    .all(|e| e["actor_name"] == name && e["entity"] == "application"),
            "{name}: {theirs:#}"
        );
    }
    // The auditor reads everything…
    for path in [
        "/api/v1/institutions",
        "/api/v1/applications",
        "/api/v1/eligibility",
        "/api/v1/cohorts",
        "/api/v1/dashboard",
    ] {
        expect_ok(&app, Method::GET, path, "auditor", NONE, 200).await;
    }
    // …and may change nothing; the audit log is closed to the others.
    let an_institution = ids(&page["items"])[0];
    let mut table = vec![
        refusal(
            Method::POST,
            "/api/v1/eligibility/screen",
            Some("auditor"),
            403,
            "forbidden",
        ),
        refusal(
            Method::POST,
            "/api/v1/policy",
            Some("auditor"),
            403,
            "forbidden",
        ),
        refusal(
            Method::POST,
            "/api/v1/phases/phase-3/cohort",
            Some("auditor"),
            403,
            "forbidden",
        ),
        Refusal {
            body: Some(json!({"action": "withdraw"})),
            ..refusal(
                Method::POST,
                "/api/v1/applications/1/transitions",
                Some("auditor"),
                403,
                "forbidden",
            )
        },
        Refusal {
            body: Some(json!({})),
            ..refusal(
                Method::POST,
                "/api/v1/applications",
                Some("auditor"),
                403,
                "forbidden",
            )
        },
        Refusal {
            body: Some(json!({"username": "intruder", "display_name": "x", "role": "auditor"})),
            ..refusal(
                Method::POST,
                "/api/v1/users",
                Some("auditor"),
                403,
                "forbidden",
            )
        },
        refusal(
            Method::GET,
            "/api/v1/audit/verify",
            Some("ciso.hanbit"),
            403,
            "forbidden",
        ),
        refusal(
            Method::GET,
            "/api/v1/audit",
            Some("ciso.hanbit"),
            403,
            "forbidden",
        ),
        refusal(
            Method::GET,
            "/api/v1/audit",
            Some("officer"),
            403,
            "forbidden",
        ),
        refusal(
            Method::GET,
            "/api/v1/audit/verify",
            Some("advisor1"),
            403,
            "forbidden",
        ),
    ];
    let mut put = refusal(
        Method::PUT,
        format!("/api/v1/institutions/{an_institution}"),
        Some("auditor"),
        403,
        "forbidden",
    );
    put.body = Some(institution_input(
        &expect_ok(
            &app,
            Method::GET,
            &format!("/api/v1/institutions/{an_institution}"),
            "officer",
            NONE,
            200,
        )
        .await["institution"],
    ));
    table.push(put);
    check_refusals(&app, table).await;
    let after = expect_ok(
        &app,
        Method::GET,
        "/api/v1/audit/verify",
        "auditor",
        NONE,
        200,
    )
    .await;
    assert_eq!(
        after["entries"], v["entries"],
        "refused requests write nothing to the audit log"
    );
}

/// The committed `docs/openapi.json` is the document the route table builds, and the document
/// covers the whole route table under `/api/v1/`.
fn check_openapi_against_committed_copy() {
    let doc = haechi_web::openapi::document();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; generate it with `{REGENERATE}`", path.display()));
    let committed: Value = serde_json::from_str(&committed).unwrap_or_else(|e| {
        panic!("docs/openapi.json is not JSON ({e}); regenerate it with `{REGENERATE}`")
    });
    assert!(committed == doc, "docs/openapi.json differs from the API's route table; regenerate it with `{REGENERATE}` and commit it");

    let paths = doc["paths"].as_object().unwrap();
    for p in paths.keys() {
        assert!(
            p.starts_with("/api/v1/"),
            "documented path {p} is outside /api/v1/"
        );
    }
    let routes = haechi_web::api_routes();
    let mut documented = 0;
    for r in &routes {
        let method = r.method.as_str().to_ascii_lowercase();
        let op = &doc["paths"][r.path][&method];
        assert!(
            op.is_object(),
            "route {} {} is missing from the OpenAPI document",
            r.method,
            r.path
        );
        assert_eq!(op["summary"], r.summary, "{} {}", r.method, r.path);
        documented += 1;
    }
    let operations: usize = paths.values().map(|v| v.as_object().unwrap().len()).sum();
    assert_eq!(
        operations, documented,
        "the document describes exactly the routes of api_routes()"
    );
    let op_ids: BTreeSet<&str> = paths
        .values()
        .flat_map(|v| v.as_object().unwrap().values())
        .map(|op| op["operationId"].as_str().unwrap())
        .collect();
    assert_eq!(op_ids.len(), operations, "operationIds are unique");
}

#[test]
fn openapi_committed_copy_matches_route_table() {
    check_openapi_against_committed_copy();
}

// ================================================================================ 3, 4: registry and eligibility

/// The editable part of an institution record (what PUT takes).
fn institution_input(record: &Value) -> Value {
    let mut v = record.clone();
    let o = v.as_object_mut().unwrap();
    for k in ["id", "created_at", "updated_at"] {
        o.remove(k);
    }
    v
}

async fn registry_and_eligibility(app: App) {
    let total = app.summary.institutions as i64;

    // 4. Eligibility screening over the whole registry.
    let s = expect_ok(
        &app,
        Method::POST,
        "/api/v1/eligibility/screen",
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(
        (s["screened"].as_i64(), s["eligible"].as_i64()),
        (Some(total), Some(49)),
        "screening summary"
    );
    let results = s["results"].as_array().unwrap();
    assert_eq!(results.len() as i64, total);
    assert_eq!(results.iter().filter(|r| r["eligible"] == true).count(), 49);
    for r in results {
        assert_eq!(r["policy_version"], 1, "{r}");
        let rules = r["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 3, "{r}");
        for rule in rules {
            for key in ["rule", "observed", "threshold", "passed"] {
                assert!(rule.get(key).is_some(), "rule lacks {key}: {rule}");
            }
        }
        assert_eq!(
            r["eligible"].as_bool(),
            Some(rules.iter().all(|x| x["passed"] == true)),
            "eligible = every rule passed: {r}"
        );
    }
    let stored = expect_ok(
        &app,
        Method::GET,
        "/api/v1/eligibility?eligible=true",
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(stored.as_array().unwrap().len(), 49);
    let (hanbit, _) = institution_of(&app, "ciso.hanbit").await;
    let one = expect_ok(
        &app,
        Method::POST,
        "/api/v1/eligibility/screen",
        "officer",
        J(json!({"institution_id": hanbit})),
        200,
    )
    .await;
    assert_eq!(
        (one["screened"].as_i64(), one["eligible"].as_i64()),
        (Some(1), Some(1)),
        "{one}"
    );
    expect_err(
        &app,
        Method::POST,
        "/api/v1/eligibility/screen",
        Some("officer"),
        J(json!({"institution_id": 999_999})),
        404,
        "not_found",
    )
    .await;
    expect_err(
        &app,
        Method::POST,
        "/api/v1/eligibility/screen",
        Some("officer"),
        Raw("application/json", b"{\"institution_id\": \"x\"".to_vec()),
        422,
        "invalid_input",
    )
    .await;
    check_refusals(
        &app,
        vec![
            refusal(
                Method::POST,
                "/api/v1/eligibility/screen",
                Some("advisor1"),
                403,
                "forbidden",
            ),
            refusal(
                Method::POST,
                "/api/v1/eligibility/screen",
                Some("ciso.hanbit"),
                403,
                "forbidden",
            ),
            refusal(
                Method::POST,
                "/api/v1/eligibility/screen",
                Some("analyst"),
                403,
                "forbidden",
            ),
            refusal(
                Method::GET,
                "/api/v1/eligibility",
                Some("ciso.hanbit"),
                403,
                "forbidden",
            ),
        ],
    )
    .await;

    // 3. Listing: search and filters (pagination and the eligible filter come last, below).
    let ko = expect_ok(
        &app,
        Method::GET,
        "/api/v1/institutions?search=%ED%95%9C%EB%B9%9B",
        "officer",
        NONE,
        200,
    )
    .await; // 한빛
    let ko_items = ko["items"].as_array().unwrap();
    assert!(
        !ko_items.is_empty() && ko["total"].as_i64() == Some(ko_items.len() as i64),
        "{ko}"
    );
    assert!(
        ko_items
            .iter()
            .all(|i| i["name_ko"].as_str().unwrap().contains("한빛")),
        "{ko}"
    );
    let en = expect_ok(
        &app,
        Method::GET,
        "/api/v1/institutions?search=HANBIT",
        "officer",
        NONE,
        200,
    )
    .await;
    assert!(en["items"].as_array().unwrap().iter().all(|i| i["name_en"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("hanbit")));
    let mut ko_ids = ids(&ko["items"]);
    let mut en_ids = ids(&en["items"]);
    ko_ids.sort_unstable();
    en_ids.sort_unstable();
    assert_eq!(
        ko_ids, en_ids,
        "searching the Korean or the English name finds the same institutions"
    );
    let none = expect_ok(
        &app,
        Method::GET,
        "/api/v1/institutions?search=zz-no-such-name",
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(none["total"], 0);
    let banks = expect_ok(
        &app,
        Method::GET,
        "/api/v1/institutions?sector=bank",
        "officer",
        NONE,
        200,
    )
    .await;
    assert!(
        banks["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["sector"] == "bank")
            && banks["total"].as_i64().unwrap() > 0
    );

    // One institution: record, history, latest screening.
    let path = format!("/api/v1/institutions/{hanbit}");
    let view = expect_ok(&app, Method::GET, &path, "officer", NONE, 200).await;
    assert_eq!(view["institution"]["id"], hanbit);
    assert!(view["history"].is_array(), "{view}");
    assert_eq!(
        (
            view["eligibility"]["eligible"].as_bool(),
            view["eligibility"]["policy_version"].as_i64()
        ),
        (Some(true), Some(1)),
        "{view}"
    );
    let history_before = view["history"].as_array().unwrap().len();

    // Update: changed figures go to the history.
    let mut input = institution_input(&view["institution"]);
    let new_assets = input["total_assets_krw"].as_i64().unwrap() + 1_234_000_000_000;
    input["total_assets_krw"] = json!(new_assets);
    input["assets_as_of"] = json!("2026-09-30");
    let updated = expect_ok(&app, Method::PUT, &path, "officer", J(input.clone()), 200).await;
    assert_eq!(updated["total_assets_krw"], new_assets);
    let new_assets_text = new_assets.to_string();
    let view = expect_ok(&app, Method::GET, &path, "officer", NONE, 200).await;
    let history = view["history"].as_array().unwrap();
    assert_eq!(history.len(), history_before + 1, "{view:#}");
    assert!(
        history.iter().any(|h| h["field"] == "total_assets_krw"
            && h["new_value"] == new_assets_text.as_str()
            && h["changed_by"] == "officer"
            && h["as_of"] == "2026-09-30"),
        "{history:#?}"
    );
    // Saving the same figures again adds no history; invalid input is refused field by field.
    expect_ok(&app, Method::PUT, &path, "officer", J(input.clone()), 200).await;
    let again = expect_ok(&app, Method::GET, &path, "officer", NONE, 200).await;
    assert_eq!(
        again["history"].as_array().unwrap().len(),
        history_before + 1
    );
    let mut bad = input.clone();
    bad["total_assets_krw"] = json!(-1);
    bad["name_en"] = json!(" ");
    let err = expect_err(
        &app,
        Method::PUT,
        &path,
        Some("officer"),
        J(bad),
        422,
        "invalid_input",
    )
    .await;
    let fields: BTreeSet<String> = field_errors(&err).into_iter().map(|f| f.0).collect();
    assert_eq!(
        fields,
        BTreeSet::from(["total_assets_krw".to_string(), "name_en".to_string()]),
        "{err}"
    );
    expect_err(
        &app,
        Method::PUT,
        "/api/v1/institutions/999999",
        Some("officer"),
        J(input.clone()),
        404,
        "not_found",
    )
    .await;
    expect_err(
        &app,
        Method::PUT,
        &path,
        Some("officer"),
        Raw("application/json", b"{not json".to_vec()),
        400,
        "malformed_json",
    )
    .await;
    expect_err(
        &app,
        Method::PUT,
        &path,
        Some("officer"),
        Raw("text/plain", b"{}".to_vec()),
        415,
        "unsupported_media_type",
    )
    .await;
    // A new institution with a code already taken.
    expect_err(
        &app,
        Method::POST,
        "/api/v1/institutions",
        Some("officer"),
        J(input.clone()),
        409,
        "conflict",
    )
    .await;

    // CSV import: all rows or none.
    let count = |v: &Value| v["total"].as_i64().unwrap();
    let err = expect_err(
        &app,
        Method::POST,
        "/api/v1/institutions/import",
        Some("officer"),
        Raw("text/csv", fixture("registry_bad_row.csv")),
        422,
        "invalid_input",
    )
    .await;
    assert_eq!(
        field_errors(&err),
        vec![("total_assets_krw".to_string(), Some(3))],
        "the one bad cell, on file line 3 (header = 1): {err:#}"
    );
    let after = expect_ok(
        &app,
        Method::GET,
        "/api/v1/institutions",
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(count(&after), total, "a refused import stores nothing");
    let good_row = expect_ok(
        &app,
        Method::GET,
        "/api/v1/institutions?search=TST-911",
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(count(&good_row), 0, "not even the valid row");
    let report = expect_ok(
        &app,
        Method::POST,
        "/api/v1/institutions/import",
        "officer",
        Raw("text/csv", fixture("registry_new.csv")),
        200,
    )
    .await;
    assert_eq!(
        report,
        json!({"rows": 2, "created": 2, "updated": 0, "unchanged": 0})
    );
    let after = expect_ok(
        &app,
        Method::GET,
        "/api/v1/institutions",
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(count(&after), total + 2);
    let report = expect_ok(
        &app,
        Method::POST,
        "/api/v1/institutions/import",
        "officer",
        Raw("text/csv", fixture("registry_new.csv")),
        200,
    )
    .await;
    assert_eq!(
        report,
        json!({"rows": 2, "created": 0, "updated": 0, "unchanged": 2}),
        "re-importing changes nothing"
    );
    let tst = expect_ok(
        &app,
        Method::GET,
        "/api/v1/institutions?search=TST-902",
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(
        (
            tst["items"][0]["name_ko"].as_str(),
            tst["items"][0]["sector"].as_str()
        ),
        (Some("시험저축은행"), Some("savings_bank"))
    );
    expect_err(
        &app,
        Method::POST,
        "/api/v1/institutions/import",
        Some("officer"),
        Raw("text/csv", b"code,name_ko\nX,Y\n".to_vec()),
        422,
        "invalid_input",
    )
    .await;

    // CSV export.
    let r = request(
        &app,
        Method::GET,
        "/api/v1/institutions/export",
        Some("officer"),
        NONE,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.header("content-type").starts_with("text/csv"),
        "{}",
        r.header("content-type")
    );
    let text = r.text();
    let header_line = std::str::from_utf8(&fixture("registry_new.csv"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(text.lines().next(), Some(header_line.as_str()));
    assert_eq!(
        text.lines().count() as i64,
        total + 3,
        "header and every institution"
    );
    assert!(
        text.contains("TST-902,시험저축은행,Siheom Savings Bank,savings_bank,2400000000000,"),
        "{}",
        &text[..200.min(text.len())]
    );

    // The registry's reach: institution roles see their own record only, advisors none.
    let (saebom, _) = institution_of(&app, "ciso.saebom").await;
    expect_ok(&app, Method::GET, &path, "ciso.hanbit", NONE, 200).await;
    expect_ok(&app, Method::GET, &path, "staff.hanbit", NONE, 200).await;
    check_refusals(
        &app,
        vec![
            refusal(
                Method::GET,
                "/api/v1/institutions",
                Some("ciso.hanbit"),
                403,
                "forbidden",
            ),
            refusal(
                Method::GET,
                "/api/v1/institutions/export",
                Some("ciso.hanbit"),
                403,
                "forbidden",
            ),
            refusal(
                Method::GET,
                format!("/api/v1/institutions/{saebom}"),
                Some("ciso.hanbit"),
                404,
                "not_found",
            ),
            refusal(
                Method::GET,
                format!("/api/v1/institutions/{saebom}"),
                Some("staff.hanbit"),
                404,
                "not_found",
            ),
            refusal(
                Method::GET,
                format!("/api/v1/institutions/{hanbit}"),
                Some("ciso.saebom"),
                404,
                "not_found",
            ),
            refusal(
                Method::GET,
                "/api/v1/institutions/999999",
                Some("ciso.hanbit"),
                404,
                "not_found",
            ),
            refusal(
                Method::GET,
                format!("/api/v1/institutions/{hanbit}"),
                Some("advisor1"),
                403,
                "forbidden",
            ),
            refusal(
                Method::POST,
                "/api/v1/institutions/import",
                Some("analyst"),
                403,
                "forbidden",
            ),
            refusal(
                Method::POST,
                "/api/v1/institutions/import",
                Some("ciso.hanbit"),
                403,
                "forbidden",
            ),
        ],
    )
    .await;

    // Screening again: the new rows are small, the changed bank still passes.
    let s = expect_ok(
        &app,
        Method::POST,
        "/api/v1/eligibility/screen",
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(
        (s["screened"].as_i64(), s["eligible"].as_i64()),
        (Some(total + 2), Some(49))
    );

    // Listing with numeric and boolean query parameters: pages and the eligible filter.
    let total = total + 2;
    let p1 = expect_ok(
        &app,
        Method::GET,
        "/api/v1/institutions?page=1&per_page=20",
        "officer",
        NONE,
        200,
    )
    .await;
    let p2 = expect_ok(
        &app,
        Method::GET,
        "/api/v1/institutions?page=2&per_page=20",
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(
        (
            p2["total"].as_i64(),
            p2["page"].as_i64(),
            p2["per_page"].as_i64()
        ),
        (Some(total), Some(2), Some(20)),
        "{}",
        p2["total"]
    );
    let (ids1, ids2) = (ids(&p1["items"]), ids(&p2["items"]));
    assert_eq!((ids1.len(), ids2.len()), (20, 20));
    assert!(
        ids1.iter().all(|i| !ids2.contains(i)),
        "pages do not overlap"
    );
    let assets = |p: &Value| {
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["total_assets_krw"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    let all_assets: Vec<i64> = assets(&p1).into_iter().chain(assets(&p2)).collect();
    assert!(
        all_assets.windows(2).all(|w| w[0] >= w[1]),
        "largest first across pages"
    );
    let last = expect_ok(
        &app,
        Method::GET,
        &format!(
            "/api/v1/institutions?page={}&per_page=20",
            (total + 19) / 20
        ),
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(
        last["items"].as_array().unwrap().len() as i64,
        total - 20 * ((total + 19) / 20 - 1)
    );

    let eligible = expect_ok(
        &app,
        Method::GET,
        "/api/v1/institutions?eligible=true&per_page=100",
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(
        (
            eligible["total"].as_i64(),
            eligible["items"].as_array().unwrap().len()
        ),
        (Some(49), 49)
    );
    let ineligible = expect_ok(
        &app,
        Method::GET,
        "/api/v1/institutions?eligible=false",
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(ineligible["total"].as_i64(), Some(total - 49));
    // A malformed query parameter is refused in the API's JSON error format, like a malformed body.
    expect_err(
        &app,
        Method::GET,
        "/api/v1/institutions?page=abc",
        Some("officer"),
        NONE,
        422,
        "invalid_input",
    )
    .await;
}

// ================================================================================ 5, 6, 7: the application journey

/// Application content that passes submission under `criteria`.
fn complete_content(criteria: &[String]) -> Value {
    let levels: BTreeMap<&str, u8> = criteria.iter().map(|c| (c.as_str(), 3)).collect();
    json!({
        "ai_vulnerability_assessment": true,
        "security_saas": true,
        "services": [
            {"kind": "ai_service", "name": "Test Reasoner 1", "vendor": "Fictional AI Labs", "certifications": ["ISO/IEC 27001"], "data_classes": ["O"]},
            {"kind": "saas", "name": "Test Shield SaaS", "vendor": "Fictional Security", "certifications": ["CSAP"], "data_classes": ["S", "O"]}
        ],
        "internal_controls": "전용 분석망 격리, 비식별 코드만 반출, 결과 검토 후 반영. Isolated analysis zone, de-identified code only.",
        "self_assessment": levels
    })
}

async fn transition(
    app: &App,
    id: i64,
    user: &str,
    action: &str,
    comment: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({"action": action});
    if let Some(c) = comment {
        body["comment"] = json!(c);
    }
    call(
        app,
        Method::POST,
        &format!("/api/v1/applications/{id}/transitions"),
        Some(user),
        J(body),
    )
    .await
}

async fn state_of(app: &App, id: i64) -> String {
    let v = expect_ok(
        app,
        Method::GET,
        &format!("/api/v1/applications/{id}"),
        "officer",
        NONE,
        200,
    )
    .await;
    v["application"]["state"].as_str().unwrap().to_string()
}

/// Moves the application; the answer must be `to`.
async fn step(app: &App, id: i64, user: &str, action: &str, comment: Option<&str>, to: &str) {
    let (status, v) = transition(app, id, user, action, comment).await;
    assert_eq!(
        (status, v["state"].as_str()),
        (StatusCode::OK, Some(to)),
        "[{:?}] {action} by {user}: {v:#}",
        app.backend
    );
}

/// A refused transition leaves the state as it was.
async fn refused_step(
    app: &App,
    id: i64,
    user: &str,
    action: &str,
    comment: Option<&str>,
    status: u16,
    code: &str,
) {
    let before = state_of(app, id).await;
    let (got, v) = transition(app, id, user, action, comment).await;
    assert_eq!(
        (got.as_u16(), v["error"]["code"].as_str()),
        (status, Some(code)),
        "[{:?}] {action} by {user} while {before}: {v:#}",
        app.backend
    );
    assert_eq!(
        state_of(app, id).await,
        before,
        "a refused {action} changes nothing"
    );
}

async fn application_journey(app: App) {
    // The applicant: an eligible institution with a demo CISO login; a second tenant beside it.
    let cisos: Vec<&str> = app
        .summary
        .accounts
        .iter()
        .filter(|a| a.role == "ciso" && a.institution.is_some())
        .map(|a| a.username.as_str())
        .collect();
    assert!(
        cisos.contains(&"ciso.hanbit") && cisos.contains(&"ciso.saebom"),
        "demo CISO logins: {cisos:?}"
    );
    let (inst, inst_name) = institution_of(&app, "ciso.hanbit").await;
    assert_eq!(
        app.summary
            .accounts
            .iter()
            .find(|a| a.username == "ciso.hanbit")
            .unwrap()
            .institution
            .as_deref(),
        Some(inst_name.as_str())
    );
    let view = expect_ok(
        &app,
        Method::GET,
        &format!("/api/v1/institutions/{inst}"),
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(
        view["eligibility"]["eligible"], true,
        "{inst_name} is eligible"
    );
    let earlier = expect_ok(
        &app,
        Method::GET,
        "/api/v1/applications",
        "ciso.hanbit",
        NONE,
        200,
    )
    .await;
    assert!(
        earlier["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["institution_id"] == inst),
        "a CISO lists their own: {earlier:#}"
    );
    let earlier_ids = ids(&earlier["items"]);

    let policy = expect_ok(
        &app,
        Method::GET,
        "/api/v1/policy",
        "ciso.hanbit",
        NONE,
        200,
    )
    .await;
    assert_eq!(policy["version"]["version"], 1);
    let policy = haechi_policy::Policy::from_toml_str(policy["toml"].as_str().unwrap()).unwrap();
    let criteria: Vec<String> = policy
        .evaluation
        .criteria
        .iter()
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(criteria.len(), 12, "{criteria:?}");

    // A draft, saved twice.
    let bad = json!({"services": [{"kind": "mainframe", "name": "X", "vendor": "Y", "data_classes": ["Q"]}]});
    let err = expect_err(
        &app,
        Method::POST,
        "/api/v1/applications",
        Some("ciso.hanbit"),
        J(bad),
        422,
        "invalid_input",
    )
    .await;
    let fields: BTreeSet<String> = field_errors(&err).into_iter().map(|f| f.0).collect();
    assert_eq!(
        fields,
        BTreeSet::from([
            "services[0].kind".to_string(),
            "services[0].data_classes".to_string()
        ]),
        "{err}"
    );
    let draft = expect_ok(
        &app,
        Method::POST,
        "/api/v1/applications",
        "ciso.hanbit",
        J(json!({"ai_vulnerability_assessment": true})),
        201,
    )
    .await;
    let id = draft["id"].as_i64().unwrap();
    assert!(!earlier_ids.contains(&id));
    assert_eq!(
        (draft["state"].as_str(), draft["institution_id"].as_i64()),
        (Some("draft"), Some(inst)),
        "{draft}"
    );
    let app_path = format!("/api/v1/applications/{id}");
    let mut partial = complete_content(&criteria);
    partial["internal_controls"] = json!("망분리 대체");
    partial["self_assessment"] = json!({"governance": 3});
    let saved = expect_ok(
        &app,
        Method::PUT,
        &app_path,
        "staff.hanbit",
        J(partial.clone()),
        200,
    )
    .await;
    assert_eq!(saved["content"]["services"].as_array().unwrap().len(), 2);

    // Evidence, with its SHA-256; over the limit nothing is stored.
    let evidence = fixture("evidence.pdf");
    let att = expect_ok(
        &app,
        Method::POST,
        &format!("{app_path}/attachments?filename=evidence.pdf"),
        "ciso.hanbit",
        Raw("application/pdf", evidence.clone()),
        201,
    )
    .await;
    assert_eq!(
        att["sha256"].as_str(),
        Some(sha256_hex(&evidence).as_str()),
        "{att}"
    );
    assert_eq!(
        (
            att["filename"].as_str(),
            att["size_bytes"].as_i64(),
            att["uploaded_by"].as_str()
        ),
        (
            Some("evidence.pdf"),
            Some(evidence.len() as i64),
            Some("ciso.hanbit")
        )
    );
    let att_id = att["id"].as_i64().unwrap();
    let att_path = format!("/api/v1/attachments/{att_id}");
    let r = request(&app, Method::GET, &att_path, Some("ciso.hanbit"), NONE).await;
    assert_eq!(
        (r.status, r.body.as_slice()),
        (StatusCode::OK, evidence.as_slice())
    );
    assert_eq!(
        (r.header("x-content-sha256"), r.header("content-type")),
        (sha256_hex(&evidence).as_str(), "application/pdf")
    );
    let big = vec![b'x'; 2048];
    expect_err(
        &app,
        Method::POST,
        &format!("{app_path}/attachments?filename=big.bin"),
        Some("ciso.hanbit"),
        Raw("application/octet-stream", big),
        413,
        "payload_too_large",
    )
    .await;
    expect_err(
        &app,
        Method::POST,
        &format!("{app_path}/attachments?filename=empty.txt"),
        Some("ciso.hanbit"),
        Raw("text/plain", Vec::new()),
        422,
        "invalid_input",
    )
    .await;
    expect_err(
        &app,
        Method::POST,
        &format!("{app_path}/attachments"),
        Some("ciso.hanbit"),
        Raw("text/plain", b"no name".to_vec()),
        422,
        "invalid_input",
    )
    .await;
    let v = expect_ok(&app, Method::GET, &app_path, "ciso.hanbit", NONE, 200).await;
    assert_eq!(
        ids(&v["attachments"]),
        vec![att_id],
        "only the first file is stored"
    );
    assert!(
        v["assignments"].is_null() && v["evaluation"].is_null(),
        "the applicant does not see the evaluation: {v}"
    );

    // Submission checks every field; a refused submission leaves a draft.
    refused_step(
        &app,
        id,
        "ciso.hanbit",
        "submit",
        None,
        422,
        "invalid_input",
    )
    .await;
    let (_, err) = transition(&app, id, "ciso.hanbit", "submit", None).await;
    let fields: BTreeSet<String> = field_errors(&err["error"])
        .into_iter()
        .map(|f| f.0)
        .collect();
    assert!(
        fields.contains("internal_controls")
            && fields.contains("self_assessment.ai_governance")
            && !fields.contains("self_assessment.governance"),
        "{err:#}"
    );
    refused_step(&app, id, "staff.hanbit", "submit", None, 403, "forbidden").await;
    expect_ok(
        &app,
        Method::PUT,
        &app_path,
        "ciso.hanbit",
        J(complete_content(&criteria)),
        200,
    )
    .await;
    step(&app, id, "ciso.hanbit", "submit", None, "submitted").await;
    expect_err(
        &app,
        Method::PUT,
        &app_path,
        Some("ciso.hanbit"),
        J(complete_content(&criteria)),
        409,
        "not_editable",
    )
    .await;

    // Illegal moves change nothing.
    refused_step(
        &app,
        id,
        "ciso.hanbit",
        "approve",
        Some("self-approval"),
        403,
        "forbidden",
    )
    .await;
    refused_step(
        &app,
        id,
        "officer",
        "approve",
        Some("too early"),
        409,
        "illegal_transition",
    )
    .await;
    refused_step(
        &app,
        id,
        "officer",
        "start_review",
        None,
        409,
        "illegal_transition",
    )
    .await;
    refused_step(
        &app,
        id,
        "officer",
        "complete_evaluation",
        None,
        409,
        "illegal_transition",
    )
    .await;
    refused_step(
        &app,
        id,
        "officer",
        "return_for_correction",
        None,
        422,
        "invalid_input",
    )
    .await;
    refused_step(
        &app,
        id,
        "advisor1",
        "start_screening",
        None,
        403,
        "forbidden",
    )
    .await;
    expect_err(
        &app,
        Method::POST,
        &format!("{app_path}/transitions"),
        Some("officer"),
        J(json!({"action": "teleport"})),
        422,
        "invalid_input",
    )
    .await;

    // Screening, reviewers, review.
    step(&app, id, "officer", "start_screening", None, "screening").await;
    refused_step(
        &app,
        id,
        "officer",
        "start_review",
        None,
        409,
        "reviewers_missing",
    )
    .await;
    let advisors = expect_ok(&app, Method::GET, "/api/v1/advisors", "officer", NONE, 200).await;
    let advisor_id = |name: &str| {
        advisors
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == name)
            .and_then(|u| u["id"].as_i64())
            .unwrap_or_else(|| panic!("no advisor {name}"))
    };
    let reviewers = format!("{app_path}/reviewers");
    for name in ["advisor1", "advisor2", "advisor3"] {
        let a = expect_ok(
            &app,
            Method::POST,
            &reviewers,
            "officer",
            J(json!({"advisor_id": advisor_id(name)})),
            201,
        )
        .await;
        assert!(a["conflict"].is_null(), "{a}");
    }
    let officer_id = expect_ok(&app, Method::GET, "/api/v1/me", "officer", NONE, 200).await
        ["user_id"]
        .as_i64()
        .unwrap();
    expect_err(
        &app,
        Method::POST,
        &reviewers,
        Some("officer"),
        J(json!({"advisor_id": officer_id})),
        422,
        "invalid_input",
    )
    .await;
    expect_err(
        &app,
        Method::POST,
        &reviewers,
        Some("officer"),
        J(json!({"advisor_id": advisor_id("advisor1")})),
        409,
        "conflict",
    )
    .await;
    expect_err(
        &app,
        Method::POST,
        &reviewers,
        Some("ciso.hanbit"),
        J(json!({"advisor_id": advisor_id("advisor4")})),
        403,
        "forbidden",
    )
    .await;
    step(&app, id, "officer", "start_review", None, "under_review").await;

    let scores_path = format!("{app_path}/scores");
    let conflict_path = format!("{app_path}/conflict");
    let sheet = |k: i64| {
        json!({"submit": true, "scores": criteria.iter().enumerate().map(|(i, c)| json!({
            "criterion": c, "score": 3 + (i as i64 + k) % 2, "justification": format!("{c}: 증빙과 면담으로 확인함 (evidence and interview)")
        })).collect::<Vec<_>>()})
    };
    // Unassigned: the application does not exist for them.
    check_refusals(
        &app,
        vec![
            refusal(
                Method::GET,
                app_path.clone(),
                Some("advisor7"),
                404,
                "not_found",
            ),
            refusal(
                Method::GET,
                att_path.clone(),
                Some("advisor7"),
                404,
                "not_found",
            ),
            Refusal {
                body: Some(json!({"conflict": false})),
                ..refusal(
                    Method::POST,
                    conflict_path.clone(),
                    Some("advisor7"),
                    404,
                    "not_found",
                )
            },
            Refusal {
                body: Some(sheet(0)),
                ..refusal(
                    Method::PUT,
                    scores_path.clone(),
                    Some("advisor7"),
                    404,
                    "not_found",
                )
            },
            // Assigned but not yet declared: not visible, and no scoring.
            refusal(
                Method::GET,
                app_path.clone(),
                Some("advisor1"),
                404,
                "not_found",
            ),
            Refusal {
                body: Some(sheet(0)),
                ..refusal(
                    Method::PUT,
                    scores_path.clone(),
                    Some("advisor1"),
                    409,
                    "conflict_not_declared",
                )
            },
            // Declaring a conflict needs its description.
            Refusal {
                body: Some(json!({"conflict": true})),
                ..refusal(
                    Method::POST,
                    conflict_path.clone(),
                    Some("advisor1"),
                    422,
                    "invalid_input",
                )
            },
        ],
    )
    .await;
    // In the advisor's list the application is there, but its content stays hidden until the
    // advisor declares no conflict.
    let listed = expect_ok(
        &app,
        Method::GET,
        "/api/v1/applications?per_page=500",
        "advisor1",
        NONE,
        200,
    )
    .await;
    let entry = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"].as_i64() == Some(id))
        .expect("assigned application listed");
    assert_eq!(entry["content"]["services"], json!([]), "{entry:#}");
    assert_eq!(entry["content"]["internal_controls"], "", "{entry:#}");
    let mine = expect_ok(&app, Method::GET, "/api/v1/reviews", "advisor1", NONE, 200).await;
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .any(|m| m["assignment"]["application_id"] == id
                && m["institution_name"] == inst_name.as_str()),
        "{mine}"
    );
    expect_err(
        &app,
        Method::GET,
        "/api/v1/applications?state=nonsense",
        Some("officer"),
        NONE,
        422,
        "invalid_input",
    )
    .await;
    let unassigned = expect_ok(&app, Method::GET, "/api/v1/reviews", "advisor7", NONE, 200).await;
    assert!(unassigned
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["assignment"]["application_id"] != id));
    let listed = expect_ok(
        &app,
        Method::GET,
        "/api/v1/applications",
        "advisor7",
        NONE,
        200,
    )
    .await;
    assert!(
        !ids(&listed["items"]).contains(&id),
        "an advisor never lists an unassigned application"
    );

    // A declared conflict blocks the advisor; the officer assigns a replacement.
    let c = expect_ok(&app, Method::POST, &conflict_path, "advisor1", J(json!({"conflict": true, "note": "신청기관 사외이사 겸직 (board seat at the applicant)"})), 200).await;
    assert_eq!(c["conflict"], true);
    check_refusals(
        &app,
        vec![
            refusal(
                Method::GET,
                app_path.clone(),
                Some("advisor1"),
                404,
                "not_found",
            ),
            Refusal {
                body: Some(sheet(0)),
                ..refusal(
                    Method::PUT,
                    scores_path.clone(),
                    Some("advisor1"),
                    409,
                    "conflicted",
                )
            },
            Refusal {
                body: Some(json!({"conflict": false})),
                ..refusal(
                    Method::POST,
                    conflict_path.clone(),
                    Some("advisor1"),
                    409,
                    "already_declared",
                )
            },
        ],
    )
    .await;
    expect_ok(
        &app,
        Method::POST,
        &reviewers,
        "officer",
        J(json!({"advisor_id": advisor_id("advisor4")})),
        201,
    )
    .await;
    refused_step(
        &app,
        id,
        "officer",
        "complete_evaluation",
        None,
        409,
        "reviews_pending",
    )
    .await;

    for (k, name) in ["advisor2", "advisor3", "advisor4"].into_iter().enumerate() {
        let d = expect_ok(
            &app,
            Method::POST,
            &conflict_path,
            name,
            J(json!({"conflict": false})),
            200,
        )
        .await;
        assert_eq!(d["conflict"], false);
        let seen = expect_ok(&app, Method::GET, &app_path, name, NONE, 200).await;
        assert!(
            seen["assignments"].is_null() && seen["evaluation"].is_null(),
            "an advisor does not see the others' reviews: {seen}"
        );
        assert_eq!(
            request(&app, Method::GET, &att_path, Some(name), NONE)
                .await
                .body,
            evidence,
            "{name} reads the evidence"
        );
        // An incomplete sheet cannot be submitted, but can be saved.
        let half = json!({"submit": true, "scores": [{"criterion": "governance", "score": 3, "justification": "충분한 근거를 확인함 (enough evidence)"}]});
        let err = expect_err(
            &app,
            Method::PUT,
            &scores_path,
            Some(name),
            J(half),
            422,
            "invalid_input",
        )
        .await;
        assert!(
            field_errors(&err)
                .iter()
                .any(|f| f.0 == "scores.data_protection"),
            "{err}"
        );
        let out_of_scale = json!({"scores": [{"criterion": "governance", "score": 5, "justification": "x"}, {"criterion": "astrology", "score": 2, "justification": "x"}]});
        let err = expect_err(
            &app,
            Method::PUT,
            &scores_path,
            Some(name),
            J(out_of_scale),
            422,
            "invalid_input",
        )
        .await;
        let fields: BTreeSet<String> = field_errors(&err).into_iter().map(|f| f.0).collect();
        assert_eq!(
            fields,
            BTreeSet::from([
                "scores.governance".to_string(),
                "scores.astrology".to_string()
            ]),
            "{err}"
        );
        let draft_sheet = json!({"submit": false, "scores": [{"criterion": "governance", "score": 2, "justification": ""}]});
        expect_ok(&app, Method::PUT, &scores_path, name, J(draft_sheet), 200).await;
        let saved = expect_ok(
            &app,
            Method::PUT,
            &scores_path,
            name,
            J(sheet(k as i64)),
            200,
        )
        .await;
        assert_eq!(saved.as_array().unwrap().len(), criteria.len(), "{saved}");
        expect_err(
            &app,
            Method::PUT,
            &scores_path,
            Some(name),
            J(sheet(0)),
            409,
            "already_submitted",
        )
        .await;
    }

    // Evaluation and decision.
    step(
        &app,
        id,
        "officer",
        "complete_evaluation",
        None,
        "evaluated",
    )
    .await;
    let v = expect_ok(&app, Method::GET, &app_path, "officer", NONE, 200).await;
    let e = &v["evaluation"];
    assert_eq!(
        (
            e["policy_version"].as_i64(),
            e["passed"].as_bool(),
            e["disagreement"].as_bool()
        ),
        (Some(1), Some(true), Some(false)),
        "{e:#}"
    );
    assert!((3.0..=4.0).contains(&e["score"].as_f64().unwrap()), "{e}");
    let assignments = v["assignments"].as_array().unwrap();
    assert_eq!(assignments.len(), 4);
    assert_eq!(
        assignments.iter().filter(|a| a["conflict"] == true).count(),
        1
    );
    assert_eq!(
        assignments
            .iter()
            .filter(|a| !a["submitted_at"].is_null())
            .count(),
        3
    );
    let auditor_view = expect_ok(&app, Method::GET, &app_path, "auditor", NONE, 200).await;
    assert_eq!(auditor_view["evaluation"], v["evaluation"]);
    refused_step(&app, id, "officer", "approve", None, 422, "invalid_input").await;
    let (_, err) = transition(&app, id, "officer", "approve", Some("   ")).await;
    assert_eq!(
        field_errors(&err["error"]),
        vec![("rationale".to_string(), None)],
        "{err}"
    );
    let rationale = "평가 통과, 내부통제 충분 (evaluation passed; internal controls adequate)";
    step(&app, id, "officer", "approve", Some(rationale), "approved").await;
    let v = expect_ok(&app, Method::GET, &app_path, "ciso.hanbit", NONE, 200).await;
    let d = &v["decision"];
    assert_eq!(
        (
            d["outcome"].as_str(),
            d["rationale"].as_str(),
            d["follows_evaluation"].as_bool(),
            d["policy_version"].as_i64(),
            d["decided_by"].as_str()
        ),
        (
            Some("approved"),
            Some(rationale),
            Some(true),
            Some(1),
            Some("officer")
        ),
        "{d:#}"
    );
    let path_taken: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        path_taken,
        [
            "submit",
            "start_screening",
            "start_review",
            "complete_evaluation",
            "approve"
        ],
        "{:#}",
        v["events"]
    );
    refused_step(
        &app,
        id,
        "ciso.hanbit",
        "withdraw",
        None,
        409,
        "illegal_transition",
    )
    .await;
    expect_err(
        &app,
        Method::POST,
        &format!("{app_path}/attachments?filename=late.pdf"),
        Some("ciso.hanbit"),
        Raw("application/pdf", evidence.clone()),
        409,
        "not_editable",
    )
    .await;

    // Phase 3: the planner lists it with a reason; the officer confirms once.
    let plan = expect_ok(
        &app,
        Method::GET,
        "/api/v1/phases/phase-3/plan",
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(
        (plan["phase"].as_str(), plan["policy_version"].as_i64()),
        (Some("phase-3"), Some(1))
    );
    let ours = plan["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["application_id"] == id)
        .unwrap_or_else(|| panic!("phase-3 plan lacks application {id}: {plan:#}"));
    assert!(
        ours["reason"]["en"].as_str().is_some_and(|s| !s.is_empty())
            && ours["reason"]["ko"].as_str().is_some_and(|s| !s.is_empty()),
        "{ours}"
    );
    // Approved today: inside the phase-3 window until it closes, after it a later phase's.
    let window_end = plan["window_end"].as_str().unwrap();
    let today = chrono::Utc::now().date_naive().to_string();
    let in_window = today.as_str() <= window_end;
    assert_eq!(
        (ours["included"].as_bool(), ours["code"].as_str()),
        (
            Some(in_window),
            Some(if in_window {
                "ranked_within_capacity"
            } else {
                "decided_after_window"
            })
        ),
        "{ours}"
    );
    assert!(plan["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["reason"]["code"].as_str().is_some()));
    expect_err(
        &app,
        Method::GET,
        "/api/v1/phases/phase-9/plan",
        Some("officer"),
        NONE,
        404,
        "not_found",
    )
    .await;
    expect_err(
        &app,
        Method::GET,
        "/api/v1/phases/phase-3/plan",
        Some("advisor2"),
        NONE,
        403,
        "forbidden",
    )
    .await;
    expect_err(
        &app,
        Method::POST,
        "/api/v1/phases/phase-3/cohort",
        Some("officer"),
        J(json!({"expected": [id, -1]})),
        409,
        "plan_changed",
    )
    .await;
    let included: Vec<i64> = plan["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["included"] == true)
        .map(|c| c["application_id"].as_i64().unwrap())
        .collect();
    let cohort = expect_ok(
        &app,
        Method::POST,
        "/api/v1/phases/phase-3/cohort",
        "officer",
        J(json!({"expected": included})),
        201,
    )
    .await;
    assert_eq!(
        (cohort["phase_id"].as_str(), cohort["confirmed_by"].as_str()),
        (Some("phase-3"), Some("officer"))
    );
    assert_eq!(
        cohort["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == id),
        in_window,
        "{cohort}"
    );
    expect_err(
        &app,
        Method::POST,
        "/api/v1/phases/phase-3/cohort",
        Some("officer"),
        NONE,
        409,
        "conflict",
    )
    .await;
    let cohorts = expect_ok(&app, Method::GET, "/api/v1/cohorts", "officer", NONE, 200).await;
    let phases: Vec<&str> = cohorts
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["phase_id"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["phase-1", "phase-2", "phase-3"]);

    // 6. Tenant isolation: the other institution sees nothing of this application.
    let (other, _) = institution_of(&app, "ciso.saebom").await;
    assert_ne!(other, inst);
    check_refusals(
        &app,
        vec![
            refusal(
                Method::GET,
                app_path.clone(),
                Some("ciso.saebom"),
                404,
                "not_found",
            ),
            refusal(
                Method::GET,
                app_path.clone(),
                Some("staff.saebom"),
                404,
                "not_found",
            ),
            refusal(
                Method::GET,
                att_path.clone(),
                Some("ciso.saebom"),
                404,
                "not_found",
            ),
            refusal(
                Method::GET,
                att_path.clone(),
                Some("staff.saebom"),
                404,
                "not_found",
            ),
            Refusal {
                body: Some(complete_content(&criteria)),
                ..refusal(
                    Method::PUT,
                    app_path.clone(),
                    Some("staff.saebom"),
                    404,
                    "not_found",
                )
            },
            Refusal {
                body: Some(json!({"action": "withdraw"})),
                ..refusal(
                    Method::POST,
                    format!("{app_path}/transitions"),
                    Some("ciso.saebom"),
                    404,
                    "not_found",
                )
            },
        ],
    )
    .await;
    let r = request(
        &app,
        Method::POST,
        &format!("{app_path}/attachments?filename=x.txt"),
        Some("staff.saebom"),
        Raw("text/plain", b"intrusion".to_vec()),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{}",
        r.text()
    );
    expect_ok(&app, Method::GET, &app_path, "staff.hanbit", NONE, 200).await;
    let r = request(&app, Method::GET, &att_path, Some("staff.hanbit"), NONE).await;
    assert_eq!((r.status, r.body), (StatusCode::OK, evidence));

    // 7. The journey's audit trail: every step attributed, the chain intact.
    let trail = expect_ok(
        &app,
        Method::GET,
        &format!("/api/v1/audit?entity=application&entity_id={id}"),
        "auditor",
        NONE,
        200,
    )
    .await;
    let trail: Vec<(String, String)> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["actor_name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let has = |action: &str, actor: &str| {
        trail
            .iter()
            .filter(|(a, n)| a == action && n == actor)
            .count()
    };
    for (action, actor, times) in [
        ("application.create", "ciso.hanbit", 1),
        ("application.update", "staff.hanbit", 1),
        ("application.update", "ciso.hanbit", 1),
        ("application.attach", "ciso.hanbit", 1),
        ("application.submit", "ciso.hanbit", 1),
        ("application.start_screening", "officer", 1),
        ("review.assign", "officer", 4),
        ("application.start_review", "officer", 1),
        ("review.declare", "advisor1", 1),
        ("review.submit", "advisor4", 1),
        ("review.save", "advisor2", 1),
        ("application.complete_evaluation", "officer", 1),
        ("application.approve", "officer", 1),
    ] {
        assert_eq!(
            has(action, actor),
            times,
            "{action} by {actor} in the audit trail {trail:#?}"
        );
    }
    let v = expect_ok(
        &app,
        Method::GET,
        "/api/v1/audit/verify",
        "auditor",
        NONE,
        200,
    )
    .await;
    assert_eq!(v["intact"], true, "{v}");

    // Asking for another institution's applications by id lists only one's own.
    let officer_list = expect_ok(
        &app,
        Method::GET,
        &format!("/api/v1/applications?institution_id={inst}&per_page=500"),
        "officer",
        NONE,
        200,
    )
    .await;
    assert!(
        ids(&officer_list["items"]).contains(&id)
            && officer_list["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["institution_id"] == inst),
        "{officer_list:#}"
    );
    for user in ["ciso.saebom", "staff.saebom"] {
        let mine = expect_ok(
            &app,
            Method::GET,
            &format!("/api/v1/applications?institution_id={inst}&per_page=500"),
            user,
            NONE,
            200,
        )
        .await;
        assert!(
            mine["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["institution_id"] == other),
            "{user} lists only their own: {mine}"
        );
    }
}

// ================================================================================ 8: policy versions

/// The default policy with `from` replaced by `to`, which must each occur exactly once.
fn policy_variant(from: &str, to: &str) -> String {
    let text = haechi_policy::DEFAULT_POLICY_TOML;
    assert_eq!(
        text.matches(from).count(),
        1,
        "the default policy has `{from}` exactly once"
    );
    let out = text.replacen(from, to, 1);
    assert_eq!(
        out.matches(to).count(),
        1,
        "`{to}` occurs once in the variant"
    );
    out
}

/// The 1-based line on which `needle` (occurring once) starts.
fn line_of(text: &str, needle: &str) -> usize {
    assert_eq!(text.matches(needle).count(), 1, "`{needle}` occurs once");
    text[..text.find(needle).unwrap()].matches('\n').count() + 1
}

async fn policy_versions(app: App) {
    let toml = |s: &str| Raw("application/toml", s.as_bytes().to_vec());

    // Checking a policy: valid, semantically broken (with path and line), not TOML at all.
    let ok = expect_ok(
        &app,
        Method::POST,
        "/api/v1/policy/check",
        "officer",
        toml(haechi_policy::DEFAULT_POLICY_TOML),
        200,
    )
    .await;
    assert_eq!(ok, json!({"valid": true}));
    let broken = policy_variant("min = 10\nmax = 20\n", "min = 10\nmax = 5\n");
    let max_line = line_of(&broken, "max = 5\n");
    let err = expect_err(
        &app,
        Method::POST,
        "/api/v1/policy/check",
        Some("officer"),
        toml(&broken),
        422,
        "invalid_policy",
    )
    .await;
    let fields = err["fields"].as_array().unwrap();
    assert!(
        fields.iter().any(|f| f["field"] == "phase[1].max"
            && f["line"] == max_line
            && f["message"].as_str().is_some_and(|m| m.contains('5'))),
        "phase[1].max on line {max_line}: {err:#}"
    );
    let err = expect_err(
        &app,
        Method::POST,
        "/api/v1/policy/check",
        Some("officer"),
        toml("[program\nname = 1\n"),
        422,
        "invalid_policy",
    )
    .await;
    assert_eq!(err["fields"][0]["line"], 1, "{err:#}");

    // Storing a version: the admin only, valid documents only.
    let stricter = policy_variant("threshold = 1000\n", "threshold = 2000\n");
    for user in ["officer", "analyst", "ciso.hanbit", "auditor"] {
        expect_err(
            &app,
            Method::POST,
            "/api/v1/policy",
            Some(user),
            toml(&stricter),
            403,
            "forbidden",
        )
        .await;
    }
    expect_err(
        &app,
        Method::POST,
        "/api/v1/policy",
        Some("admin"),
        toml(&broken),
        422,
        "invalid_policy",
    )
    .await;
    let versions = expect_ok(
        &app,
        Method::GET,
        "/api/v1/policy/versions",
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(
        versions.as_array().unwrap().len(),
        1,
        "refused policies are not stored: {versions}"
    );
    let v = expect_ok(
        &app,
        Method::POST,
        "/api/v1/policy",
        "admin",
        toml(&stricter),
        201,
    )
    .await;
    assert_eq!(v, json!({"version": 2}));
    let again = expect_ok(
        &app,
        Method::POST,
        "/api/v1/policy",
        "admin",
        toml(&stricter),
        201,
    )
    .await;
    assert_eq!(
        again,
        json!({"version": 2}),
        "the same text is not stored twice"
    );
    let current = expect_ok(&app, Method::GET, "/api/v1/policy", "auditor", NONE, 200).await;
    assert_eq!(
        (
            current["version"]["version"].as_i64(),
            current["version"]["loaded_by"].as_str(),
            current["toml"].as_str()
        ),
        (Some(2), Some("admin"), Some(stricter.as_str()))
    );
    let v1 = expect_ok(
        &app,
        Method::GET,
        "/api/v1/policy/versions/1",
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(
        v1["toml"].as_str(),
        Some(haechi_policy::DEFAULT_POLICY_TOML)
    );
    expect_err(
        &app,
        Method::GET,
        "/api/v1/policy/versions/9",
        Some("officer"),
        NONE,
        404,
        "not_found",
    )
    .await;

    // Screening under version 2: fewer eligible, exactly those with 2,000 staff or more.
    let export = request(
        &app,
        Method::GET,
        "/api/v1/institutions/export",
        Some("officer"),
        NONE,
    )
    .await
    .text();
    let rows: Vec<Vec<&str>> = export
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert!(
        rows.len() == app.summary.institutions && rows.iter().all(|r| r.len() == 14),
        "a plain CSV export"
    );
    // Columns: total_assets_krw 4, full_time_employees 6, dedicated_ciso 8.
    let expected = rows
        .iter()
        .filter(|r| {
            r[4].parse::<i64>().unwrap() >= 10_000_000_000_000
                && r[6].parse::<i64>().unwrap() >= 2000
                && r[8] == "true"
        })
        .count();
    let s = expect_ok(
        &app,
        Method::POST,
        "/api/v1/eligibility/screen",
        "officer",
        NONE,
        200,
    )
    .await;
    assert!(
        s["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["policy_version"] == 2),
        "every result records version 2"
    );
    let eligible = s["eligible"].as_u64().unwrap() as usize;
    assert_eq!(eligible, expected, "eligible under the stricter policy");
    assert!(eligible < 49, "fewer than 49 eligible: {eligible}");
    let staff_rule = s["results"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "full-time-employees")
        .cloned()
        .unwrap();
    assert_eq!(staff_rule["threshold"], 2000, "{staff_rule}");
    let dash = expect_ok(&app, Method::GET, "/api/v1/dashboard", "officer", NONE, 200).await;
    assert_eq!(
        (dash["policy_version"].as_i64(), dash["eligible"].as_u64()),
        (Some(2), Some(eligible as u64))
    );
    let log = expect_ok(
        &app,
        Method::GET,
        "/api/v1/audit?action=policy.load",
        "auditor",
        NONE,
        200,
    )
    .await;
    let loads: Vec<(&str, &str)> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["entity_id"].as_str().unwrap(),
                e["actor_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(loads, [("2", "admin"), ("1", "system")]);
}

// ================================================================================ letters

/// No-action letters over the API: the file round trip verifies on the public endpoint, the
/// stored file is canonical, the PDF and print page render, revocation shows in verification,
/// renewal issues the next number, and the obligations and compliance flags are served.
async fn letters(app: App) {
    let list = expect_ok(&app, Method::GET, "/api/v1/letters", "officer", NONE, 200).await;
    let items = list.as_array().unwrap();
    assert_eq!(items.len(), 25, "the demo issues phases 1 and 2");
    let issued: Vec<&Value> = items.iter().filter(|l| l["state"] == "issued").collect();
    let revoked = items
        .iter()
        .find(|l| l["state"] == "revoked")
        .expect("one revoked letter");
    let l = issued[0];
    let id = l["id"].as_i64().unwrap();
    let number = l["letter_number"].as_str().unwrap().to_string();

    // The file, as handed out, verifies on the public endpoint (no token) and is canonical JSON.
    let file = request(
        &app,
        Method::GET,
        &format!("/api/v1/letters/{id}/file"),
        Some("officer"),
        NONE,
    )
    .await;
    assert_eq!(file.status, StatusCode::OK);
    let text = file.text();
    let canonical = haechi_letter::jcs::canonicalize_str(text.trim_end()).unwrap();
    assert_eq!(
        canonical,
        text.trim_end().as_bytes(),
        "the stored letter is in RFC 8785 form"
    );
    let (status, check) = call(
        &app,
        Method::POST,
        "/api/v1/letters/verify",
        None,
        Raw("application/json", file.body.clone()),
    )
    .await;
    assert_eq!(
        (status.as_u16(), check["outcome"].as_str()),
        (200, Some("valid")),
        "{check:#}"
    );
    assert_eq!(check["letter_number"], Value::String(number.clone()));
    let altered = text.replacen(&number, "FSC-NAL-2026-9999", 1);
    let (_, check) = call(
        &app,
        Method::POST,
        "/api/v1/letters/verify",
        None,
        Raw("application/json", altered.into_bytes()),
    )
    .await;
    assert_eq!(check["outcome"], "altered", "{check:#}");
    let rnum = revoked["letter_number"].as_str().unwrap();
    let (_, check) = call(
        &app,
        Method::POST,
        &format!("/api/v1/letters/verify?number={rnum}"),
        None,
        NONE,
    )
    .await;
    assert_eq!(check["outcome"], "revoked", "{check:#}");
    let keys = request(
        &app,
        Method::GET,
        "/.well-known/haechi-letter-keys.pem",
        None,
        NONE,
    )
    .await;
    assert!(keys.text().contains("BEGIN PUBLIC KEY"), "{}", keys.text());

    // Renderings.
    let pdf = request(
        &app,
        Method::GET,
        &format!("/api/v1/letters/{id}/pdf"),
        Some("officer"),
        NONE,
    )
    .await;
    assert_eq!(pdf.header("content-type"), "application/pdf");
    assert!(pdf.body.starts_with(b"%PDF-"));
    let page = request(
        &app,
        Method::GET,
        &format!("/api/v1/letters/{id}/print"),
        Some("officer"),
        NONE,
    )
    .await;
    assert!(page.text().contains("비조치의견서") && page.text().contains(&number));

    // Tenancy: an institution sees only its own letters; another's id is not found.
    let mine = expect_ok(
        &app,
        Method::GET,
        "/api/v1/letters",
        "ciso.saebom",
        NONE,
        200,
    )
    .await;
    let (saebom, _) = institution_of(&app, "ciso.saebom").await;
    assert!(mine
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["institution_id"].as_i64() == Some(saebom)));
    let foreign = items
        .iter()
        .find(|x| x["institution_id"].as_i64() != Some(saebom))
        .unwrap();
    expect_err(
        &app,
        Method::GET,
        &format!("/api/v1/letters/{}", foreign["id"]),
        Some("ciso.saebom"),
        NONE,
        404,
        "not_found",
    )
    .await;
    expect_err(
        &app,
        Method::GET,
        &format!("/api/v1/letters/{}/file", foreign["id"]),
        Some("ciso.saebom"),
        NONE,
        404,
        "not_found",
    )
    .await;

    // Revocation: only the regulator, with a reason; verification then says revoked.
    expect_err(
        &app,
        Method::POST,
        &format!("/api/v1/letters/{id}/revoke"),
        Some("ciso.saebom"),
        J(json!({"reason": "not mine to revoke"})),
        403,
        "forbidden",
    )
    .await;
    expect_err(
        &app,
        Method::POST,
        &format!("/api/v1/letters/{id}/revoke"),
        Some("officer"),
        J(json!({"reason": "x"})),
        422,
        "invalid_input",
    )
    .await;
    expect_ok(
        &app,
        Method::POST,
        &format!("/api/v1/letters/{id}/revoke"),
        "officer",
        J(json!({"reason": "conditions breached in testing"})),
        200,
    )
    .await;
    let (_, check) = call(
        &app,
        Method::POST,
        "/api/v1/letters/verify",
        None,
        Raw("application/json", file.body.clone()),
    )
    .await;
    assert_eq!(check["outcome"], "revoked", "{check:#}");
    expect_err(
        &app,
        Method::POST,
        &format!("/api/v1/letters/{id}/revoke"),
        Some("officer"),
        J(json!({"reason": "conditions breached twice"})),
        409,
        "illegal_transition",
    )
    .await;

    // Renewal of another letter: refused until the policy's window before expiry opens, then a
    // draft, issued with the next number of its year.
    let other = issued[1]["id"].as_i64().unwrap();
    let until =
        chrono::NaiveDate::parse_from_str(issued[1]["valid_until"].as_str().unwrap(), "%Y-%m-%d")
            .unwrap();
    app.svc.set_clock(Some(
        (until - chrono::Duration::days(200))
            .and_hms_opt(9, 0, 0)
            .unwrap(),
    ));
    let (status, early) = call(
        &app,
        Method::POST,
        &format!("/api/v1/letters/{other}/renew"),
        Some("officer"),
        NONE,
    )
    .await;
    assert_eq!(
        (status.as_u16(), early["error"]["code"].as_str()),
        (409, Some("renewal_not_open")),
        "{early:#}"
    );
    app.svc.set_clock(Some(
        (until - chrono::Duration::days(30))
            .and_hms_opt(9, 0, 0)
            .unwrap(),
    ));
    let draft = expect_ok(
        &app,
        Method::POST,
        &format!("/api/v1/letters/{other}/renew"),
        "officer",
        NONE,
        201,
    )
    .await;
    assert_eq!(draft["state"], "draft");
    // The officer reviews the draft as it would be issued: scope, conditions, schedule.
    let preview = expect_ok(
        &app,
        Method::GET,
        &format!("/api/v1/letters/{}", draft["id"]),
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(
        preview["content"]["renews"], issued[1]["letter_number"],
        "{preview:#}"
    );
    assert!(!preview["content"]["conditions"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(!preview["content"]["reporting"]
        .as_array()
        .unwrap()
        .is_empty());
    let renewed = expect_ok(
        &app,
        Method::POST,
        &format!("/api/v1/letters/{}/issue", draft["id"]),
        "officer",
        NONE,
        200,
    )
    .await;
    assert_eq!(renewed["state"], "issued");
    assert!(renewed["letter_number"]
        .as_str()
        .unwrap()
        .starts_with("FSC-NAL-"));
    app.svc.set_clock(None);

    // Obligations and compliance flags.
    let obligations = expect_ok(
        &app,
        Method::GET,
        &format!("/api/v1/obligations?letter_id={other}"),
        "officer",
        NONE,
        200,
    )
    .await;
    assert!(obligations
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["kind"] == "final_report" && o["state"].is_string()));
    let flags = expect_ok(
        &app,
        Method::GET,
        "/api/v1/compliance-flags",
        "officer",
        NONE,
        200,
    )
    .await;
    assert!(
        !flags.as_array().unwrap().is_empty(),
        "the demo leaves overdue reports"
    );
    expect_err(
        &app,
        Method::GET,
        "/api/v1/compliance-flags",
        Some("ciso.saebom"),
        NONE,
        403,
        "forbidden",
    )
    .await;
}
