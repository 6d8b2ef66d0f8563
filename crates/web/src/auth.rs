//! Resolves the acting user of a request from its bearer token. Deciding what that user may do
//! is the service's job.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use haechi_core::Actor;
use haechi_service::ServiceError;

use crate::error::ApiError;
use crate::AppState;

/// The authenticated user of an API request.
pub struct Authed(pub Actor);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError(ServiceError::Unauthenticated))?;
        Ok(Authed(state.svc.actor_for_token(token).await?))
    }
}
