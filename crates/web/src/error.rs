//! Service errors mapped to HTTP statuses and JSON bodies, once. Internals never leak: a storage
//! failure is logged and answered with a generic message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use haechi_service::ServiceError;
use serde_json::json;

pub struct ApiError(pub ServiceError);

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError(e)
    }
}

pub fn status_of(e: &ServiceError) -> StatusCode {
    match e {
        ServiceError::NotFound => StatusCode::NOT_FOUND,
        ServiceError::Unauthenticated => StatusCode::UNAUTHORIZED,
        ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
        ServiceError::Domain(haechi_core::DomainError::Invalid(_)) | ServiceError::Policy(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ServiceError::Domain(_) | ServiceError::Rule { .. } => StatusCode::CONFLICT,
        ServiceError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        ServiceError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
        ServiceError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = status_of(&e);
        let message = match &e {
            ServiceError::Store(inner) => {
                tracing::error!(error = %inner, "storage failure");
                "an internal error occurred; it has been logged".to_string()
            }
            other => other.to_string(),
        };
        let mut body = json!({"error": {"code": e.code(), "message": message}});
        if !e.field_errors().is_empty() {
            body["error"]["fields"] = json!(e.field_errors());
        }
        if let ServiceError::Policy(errs) = &e {
            body["error"]["fields"] = json!(errs
                .0
                .iter()
                .map(|p| json!({"field": p.path, "line": p.line, "column": p.column, "message": p.message}))
                .collect::<Vec<_>>());
        }
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                "www-authenticate",
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

/// A request the HTTP layer itself refuses (bad JSON, wrong content type, too large).
pub fn bad_request(code: &'static str, status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message.into()}})),
    )
        .into_response()
}
