//! The API of the advisory group and the guidelines (C14): members with their terms and
//! standing conflicts, term extensions and conflict declarations, the reviewer proposals of an
//! application, guidelines with their versions and acknowledgements, and a CISO's
//! acknowledgement. Its routes join the one table in [`crate::api::api_routes`]; its request and
//! response schemas join the OpenAPI document through [`schemas`].

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Json;
use chrono::NaiveDate;
use haechi_service::advisory::StandingConflictInput;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::{ApiJson, ApiRoute, BodyKind};
use crate::auth::Authed;
use crate::error::ApiError;
use crate::AppState;

type ApiResult = Result<Response, ApiError>;

fn ok(v: impl serde::Serialize) -> ApiResult {
    Ok(Json(json!(v)).into_response())
}

macro_rules! r {
    ($method:ident, $path:literal, $tag:literal, $summary:literal, $body:expr, $handler:expr) => {
        ApiRoute {
            method: Method::$method,
            path: $path,
            summary: $summary,
            tag: $tag,
            body: $body,
            query: &[],
            auth: true,
            handler: on(MethodFilter::$method, $handler),
            answers: None,
        }
    };
}

/// The routes of this module (all need a bearer token).
pub fn routes() -> Vec<ApiRoute> {
    use crate::api::Answer as A;
    use BodyKind as B;
    vec![
        r!(GET, "/api/v1/advisory/members", "advisory", "The advisory group's members with their terms and open reviews", B::None, members).answers(200, A::List("AdvisoryMember"), &[403]),
        r!(GET, "/api/v1/advisory/members/{id}", "advisory", "A member with the term history, standing conflicts and meetings attended (an advisor: only themselves)", B::None, member).answers(200, A::Json("AdvisoryMemberView"), &[403]),
        r!(POST, "/api/v1/advisory/members/{id}/extend", "advisory", "Extend a member's term to a later end, with the reason (kept in the term history)", B::Json("TermExtension"), extend).answers(200, A::Json("AdvisoryMemberView"), &[403, 422]),
        r!(POST, "/api/v1/advisory/members/{id}/conflicts", "advisory", "Declare a standing conflict of interest with an institution or a sector (an officer, or the advisor for themselves)", B::Json("StandingConflictInput"), conflict).answers(201, A::Json("AdvisoryMemberView"), &[403, 422]),
        r!(GET, "/api/v1/applications/{id}/reviewer-proposals", "advisory", "Members to propose as the application's reviewers today, fewest open reviews first, each with its reasons; those left out with why", B::None, proposals).answers(200, A::Json("ReviewerProposals"), &[403]),
        r!(GET, "/api/v1/guidelines", "guidelines", "Guidelines with their versions (drafts only for the regulator) and acknowledgements", B::None, guidelines).answers(200, A::List("Guideline"), &[]),
        r!(GET, "/api/v1/guidelines/{id}", "guidelines", "One guideline: the version in force, the versions, who acknowledged it and (regulator side) who has not", B::None, guideline).answers(200, A::Json("Guideline"), &[]),
        r!(POST, "/api/v1/guidelines/{id}/acknowledge", "guidelines", "The CISO acknowledges the version in force for the institution", B::None, acknowledge).answers(200, A::Json("GuidelineAcknowledged"), &[403, 409]),
    ]
}

/// The request and response schemas of these routes, for the OpenAPI document.
pub fn schemas() -> Value {
    let string = json!({"type": "string"});
    let date = json!({"type": "string", "format": "date"});
    let int = json!({"type": "integer"});
    let boolean = json!({"type": "boolean"});
    let text_or_null = json!({"type": ["string", "null"]});
    let int_or_null = json!({"type": ["integer", "null"]});
    let field = json!({"type": "string", "enum": ["ai", "security", "law"]});
    let member = json!({"type": "object", "required": ["id", "user_id", "username", "display_name", "disabled", "field", "affiliation", "term_start", "term_end", "created_by", "created_at", "open_assignments"], "properties": {
        "id": int, "user_id": int, "username": string, "display_name": string, "disabled": boolean, "field": field,
        "affiliation": string, "term_start": date, "term_end": date, "created_by": string, "created_at": string,
        "open_assignments": {"type": "integer", "description": "reviews assigned, not declared conflicted and not submitted, on applications in screening or review"}
    }});
    let reason = json!({"type": "object", "required": ["code"], "properties": {
        "code": {"type": "string", "enum": ["term_active", "no_standing_conflict", "open_assignments", "term_not_active", "conflict_with_institution", "conflict_with_sector", "declared_conflict", "already_assigned", "removed", "account_disabled"]},
        "term_end": string, "term_start": string, "count": int, "reason": text_or_null, "note": text_or_null,
        "valid_from": string, "valid_to": text_or_null, "sector": string
    }});
    let version = json!({"type": "object", "required": ["id", "guideline_id", "version", "title_ko", "title_en", "body_ko", "body_en", "state", "drafted_by", "drafted_at", "policy_versions"], "properties": {
        "id": int, "guideline_id": int, "version": int, "title_ko": string, "title_en": string, "body_ko": string, "body_en": string,
        "state": {"type": "string", "enum": ["draft", "published", "superseded"]},
        "drafted_by": string, "drafted_at": string, "published_by": text_or_null, "published_at": text_or_null, "superseded_at": text_or_null,
        "policy_versions": {"type": "array", "items": int, "description": "the policy versions the text describes"}
    }});
    let version_or_null = json!({"oneOf": [version, {"type": "null"}]});
    let mut all = Map::new();
    all.insert("TermExtension".into(), json!({"type": "object", "required": ["term_end", "reason"], "properties": {
            "term_end": {"type": "string", "format": "date", "description": "after the current end of the term"}, "reason": string
        }}));
    all.insert("StandingConflictInput".into(), json!({"type": "object", "required": ["reason", "valid_from"], "properties": {
            "institution_id": {"type": "integer", "description": "the institution, or else"},
            "sector": {"type": "string", "enum": ["bank", "securities", "insurance", "card", "savings_bank", "fintech"], "description": "a whole sector"},
            "reason": string, "valid_from": date, "valid_to": {"type": "string", "format": "date", "description": "the last day; open-ended when left out"}
        }}));
    all.insert("AdvisoryMember".into(), json!(member));
    all.insert("AdvisoryMemberView".into(), json!({"type": "object", "required": ["member", "active_today", "terms", "conflicts", "meetings"], "properties": {
            "member": member, "active_today": boolean,
            "terms": {"type": "array", "items": {"type": "object", "required": ["id", "member_id", "kind", "term_start", "term_end", "reason", "recorded_by", "recorded_at"], "properties": {
                "id": int, "member_id": int, "kind": {"type": "string", "enum": ["appoint", "extend", "correct"]},
                "term_start": date, "term_end": date, "previous_end": text_or_null, "reason": string, "recorded_by": string, "recorded_at": string
            }}},
            "conflicts": {"type": "array", "items": {"type": "object", "required": ["id", "member_id", "reason", "valid_from", "declared_by", "declared_at"], "properties": {
                "id": int, "member_id": int, "institution_id": int_or_null, "institution_name_ko": text_or_null, "institution_name_en": text_or_null,
                "sector": text_or_null, "reason": string, "valid_from": date, "valid_to": text_or_null, "declared_by": string, "declared_at": string
            }}},
            "meetings": {"type": "array", "items": {"type": "object", "required": ["id", "held_on", "title", "agenda", "created_by", "created_at", "attendees"], "properties": {
                "id": int, "held_on": date, "title": string, "agenda": string, "minutes": text_or_null, "minutes_by": text_or_null, "minutes_at": text_or_null,
                "created_by": string, "created_at": string, "attendees": {"type": "array", "items": int}
            }}}
        }}));
    all.insert("ReviewerProposals".into(), json!({"type": "object", "required": ["application_id", "institution_id", "sector", "on", "reviewers_per_application", "policy_version", "panel", "proposed", "excluded"], "properties": {
            "application_id": int, "institution_id": int, "sector": string,
            "on": {"type": "string", "format": "date", "description": "the day in Korea the proposals are for"},
            "reviewers_per_application": {"type": "integer", "description": "the policy's number of reviewers"},
            "policy_version": int,
            "panel": {"type": "integer", "description": "reviewers assigned without a declared conflict"},
            "proposed": {"type": "array", "items": {"type": "object", "required": ["member_id", "user_id", "display_name", "field", "affiliation", "open_assignments", "recommended", "reasons"], "properties": {
                "member_id": int, "user_id": int, "display_name": string, "field": field, "affiliation": string, "open_assignments": int,
                "recommended": {"type": "boolean", "description": "among the first the panel still needs"},
                "reasons": {"type": "array", "items": reason}
            }}},
            "excluded": {"type": "array", "items": {"type": "object", "required": ["member_id", "user_id", "display_name", "field", "reasons"], "properties": {
                "member_id": int, "user_id": int, "display_name": string, "field": field, "reasons": {"type": "array", "items": reason}
            }}}
        }}));
    all.insert("Guideline".into(), json!({"type": "object", "required": ["guideline", "versions", "current", "draft", "acks", "pending"], "properties": {
            "guideline": {"type": "object", "required": ["id", "kind", "created_by", "created_at"], "properties": {
                "id": int, "kind": {"type": "string", "enum": ["resource_classification", "patch_priority", "other"]}, "created_by": string, "created_at": string
            }},
            "versions": {"type": "array", "items": version},
            "current": version_or_null,
            "draft": version_or_null,
            "acks": {"type": "array", "items": {"type": "object", "required": ["version_id", "institution_id", "institution_name_ko", "institution_name_en", "acknowledged_by", "acknowledged_at"], "properties": {
                "version_id": int, "institution_id": int, "institution_name_ko": string, "institution_name_en": string, "acknowledged_by": string, "acknowledged_at": string
            }}},
            "pending": {"type": "array", "items": {"type": "object", "required": ["institution_id", "name_ko", "name_en"], "properties": {
                "institution_id": int, "name_ko": string, "name_en": string
            }}}
        }}));
    all.insert(
        "GuidelineAcknowledged".into(),
        json!({"type": "object", "required": ["version"], "properties": {"version": int}}),
    );
    Value::Object(all)
}

async fn members(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.advisory_members(&a).await?)
}

async fn member(State(st): State<AppState>, Authed(a): Authed, Path(id): Path<i64>) -> ApiResult {
    ok(st.svc.advisory_member(&a, id).await?)
}

#[derive(Debug, Deserialize)]
struct TermExtension {
    term_end: Option<NaiveDate>,
    #[serde(default)]
    reason: String,
}

async fn extend(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<TermExtension>,
) -> ApiResult {
    st.svc
        .extend_term(&a, id, body.term_end, &body.reason)
        .await?;
    ok(st.svc.advisory_member(&a, id).await?)
}

async fn conflict(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<StandingConflictInput>,
) -> ApiResult {
    st.svc.declare_standing_conflict(&a, id, &body).await?;
    let view = st.svc.advisory_member(&a, id).await?;
    Ok((StatusCode::CREATED, Json(json!(view))).into_response())
}

async fn proposals(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.propose_reviewers(&a, id).await?)
}

async fn guidelines(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.guidelines(&a).await?)
}

async fn guideline(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.guideline(&a, id).await?)
}

async fn acknowledge(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    let version = st.svc.acknowledge_guideline(&a, id).await?;
    ok(json!({ "version": version }))
}
