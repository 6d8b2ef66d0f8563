//! Haechi over HTTP: the REST API under `/api/v1` (JSON, described by an OpenAPI document built
//! from the same route table that builds the router), health checks and Prometheus metrics.
//!
//! Only this crate knows HTTP. It maps service errors to statuses once ([`error`]) and resolves
//! the acting user from the request ([`auth`]); it makes no authorisation decision itself.

pub mod api;
pub mod api_advisory;
pub mod api_patching;
pub mod api_reports;
pub mod api_response;
pub mod api_support;
pub mod auth;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod portal;
pub mod spool;
pub mod taxii;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::Router;
use haechi_service::Service;

pub use api::{api_routes, ApiRoute};

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub svc: Service,
    pub metrics: Arc<metrics::Metrics>,
    /// Whether session cookies carry `Secure` (on, except for the demo over plain HTTP).
    pub secure_cookies: bool,
}

impl AppState {
    pub fn new(svc: Service) -> AppState {
        AppState {
            svc,
            metrics: Arc::new(metrics::Metrics::default()),
            secure_cookies: true,
        }
    }

    /// Session cookies without `Secure`, for a demo or test served over plain HTTP.
    pub fn insecure_cookies(mut self) -> AppState {
        self.secure_cookies = false;
        self
    }
}

/// The whole HTTP surface of Haechi.
pub fn router(state: AppState) -> Router {
    let body_limit = state
        .svc
        .config()
        .max_import_bytes
        .max(state.svc.config().max_attachment_bytes)
        + 64 * 1024;
    let mut api = Router::new();
    for (path, method_router) in api::grouped(api_routes().into_iter().map(|r| (r.path, r.handler)))
    {
        api = api.route(&path, method_router);
    }
    let api = api.layer(axum::middleware::from_fn(api::json_refusals));
    let mut pages = Router::new();
    for (path, method_router) in api::grouped(
        portal::portal_routes()
            .into_iter()
            .map(|r| (r.path, r.handler)),
    ) {
        pages = pages.route(&path, method_router);
    }
    let pages = pages
        .route(
            "/verify",
            get(pages::verify_form).post(pages::verify_submit),
        )
        .layer(axum::middleware::from_fn(portal::security_headers));
    Router::new()
        .merge(api)
        .merge(pages)
        .merge(taxii::routes())
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(metrics::render))
        .route("/api/v1/openapi.json", get(openapi::serve))
        .route(
            "/.well-known/haechi-letter-keys.pem",
            get(pages::public_keys),
        )
        // route_layer: the route template (MatchedPath) is known only after routing.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .fallback(portal::fallback)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}
