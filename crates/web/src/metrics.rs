//! Prometheus metrics: requests, errors and latency by route, in the text exposition format.
//! Routes are labelled by their template (`/api/v1/institutions/{id}`), never by raw path, so the
//! number of series stays bounded.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
struct RouteStats {
    requests: u64,
    client_errors: u64,
    server_errors: u64,
    buckets: [u64; BUCKETS.len()],
    sum_seconds: f64,
}

#[derive(Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut map = match self.routes.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let s = map
            .entry((method.to_string(), route.to_string()))
            .or_default();
        s.requests += 1;
        if (400..500).contains(&status) {
            s.client_errors += 1;
        }
        if status >= 500 {
            s.server_errors += 1;
        }
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                s.buckets[i] += 1;
            }
        }
        s.sum_seconds += seconds;
    }

    pub fn render(&self) -> String {
        let map = match self.routes.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut out = String::new();
        let _ = writeln!(out, "# HELP haechi_http_requests_total HTTP requests by route and method.\n# TYPE haechi_http_requests_total counter");
        for ((m, r), s) in map.iter() {
            let _ = writeln!(
                out,
                "haechi_http_requests_total{{method=\"{m}\",route=\"{r}\"}} {}",
                s.requests
            );
        }
        let _ = writeln!(out, "# HELP haechi_http_errors_total HTTP error responses by route, method and class.\n# TYPE haechi_http_errors_total counter");
        for ((m, r), s) in map.iter() {
            let _ = writeln!(
                out,
                "haechi_http_errors_total{{method=\"{m}\",route=\"{r}\",class=\"4xx\"}} {}",
                s.client_errors
            );
            let _ = writeln!(
                out,
                "haechi_http_errors_total{{method=\"{m}\",route=\"{r}\",class=\"5xx\"}} {}",
                s.server_errors
            );
        }
        let _ = writeln!(out, "# HELP haechi_http_request_duration_seconds HTTP request latency by route.\n# TYPE haechi_http_request_duration_seconds histogram");
        for ((m, r), s) in map.iter() {
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(out, "haechi_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{r}\",le=\"{b}\"}} {}", s.buckets[i]);
            }
            let _ = writeln!(out, "haechi_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{r}\",le=\"+Inf\"}} {}", s.requests);
            let _ = writeln!(
                out,
                "haechi_http_request_duration_seconds_sum{{method=\"{m}\",route=\"{r}\"}} {}",
                s.sum_seconds
            );
            let _ = writeln!(
                out,
                "haechi_http_request_duration_seconds_count{{method=\"{m}\",route=\"{r}\"}} {}",
                s.requests
            );
        }
        out
    }
}

/// Middleware that times every request and records it under its route template.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let resp = next.run(req).await;
    state.metrics.observe(
        &method,
        &route,
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        state.metrics.render(),
    )
}
