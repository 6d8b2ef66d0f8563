//! The API of the AI security response team and the full-removal track (C14): members, field
//! challenges (institutions raise and follow their own; officers assign, answer and move them),
//! check-ins with their actions, and the full-removal ranking with the officer's shortlisting
//! and decisions. Its routes join the one table in [`crate::api::api_routes`]; its request
//! schemas join the OpenAPI document through [`schemas`].

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Json;
use haechi_core::FieldError;
use haechi_service::removal::RemovalStep;
use haechi_service::response_team::{
    ActionInput, ChallengeChange, ChallengeInput, CheckinInput, MemberInput,
};
use haechi_service::ServiceError;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::{ApiJson, ApiRoute, BodyKind};
use crate::auth::Authed;
use crate::error::ApiError;
use crate::AppState;

type ApiResult = Result<Response, ApiError>;

fn ok(v: impl serde::Serialize) -> ApiResult {
    Ok(Json(json!(v)).into_response())
}

fn created(id: i64) -> ApiResult {
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
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
        r!(GET, "/api/v1/response-team/members", "response_team", "The response team's members (FSC, FSS, FSI and CISOs by sector), active first", B::None, members).answers(200, A::List("ResponseMember"), &[403]),
        r!(POST, "/api/v1/response-team/members", "response_team", "Add a member (a CISO member names the institution user)", B::Json("ResponseMemberInput"), add_member).answers(201, A::Json("NewId"), &[403, 422]),
        r!(GET, "/api/v1/challenges", "response_team", "Field challenges (an institution: its own), newest first, with overdue flags", B::None, challenges).answers(200, A::List("FieldChallenge"), &[403]),
        r!(POST, "/api/v1/challenges", "response_team", "Raise a field challenge with the response team", B::Json("ChallengeInput"), raise).answers(201, A::Json("NewId"), &[403, 404, 422]),
        r!(GET, "/api/v1/challenges/{id}", "response_team", "One field challenge with its overdue flag", B::None, challenge).answers(200, A::Json("FieldChallenge"), &[403]),
        r!(POST, "/api/v1/challenges/{id}/update", "response_team", "Assign the owner, answer, move the status (open → in_progress → resolved | closed) or the due day", B::Json("ChallengeChange"), update).answers(200, A::Json("FieldChallenge"), &[403, 409, 422]),
        r!(GET, "/api/v1/checkins", "response_team", "The team's check-ins with attendance and actions (overdue flagged)", B::None, checkins).answers(200, A::List("Checkin"), &[403]),
        r!(POST, "/api/v1/checkins", "response_team", "Record a check-in with who attended", B::Json("CheckinInput"), record_checkin).answers(201, A::Json("NewId"), &[403, 422]),
        r!(POST, "/api/v1/checkins/{id}/actions", "response_team", "Add an action (owner and due day) to a check-in", B::Json("CheckinActionInput"), add_action).answers(201, A::Json("NewId"), &[403, 404, 422]),
        r!(GET, "/api/v1/removal", "removal", "The full-removal ranking: every factor's value, contribution and reason, and the policy version", B::None, ranking).answers(200, A::Json("RemovalTrack"), &[403, 409]),
        r!(GET, "/api/v1/removal/{id}", "removal", "One candidate (by institution id) with its ranking and the officer's steps", B::None, candidate).answers(200, A::Json("RemovalCandidate"), &[403, 409]),
        r!(POST, "/api/v1/removal/{id}/decision", "removal", "Shortlist a candidate, or decide on a shortlisted one (recommend / not_now), with the reason", B::Json("RemovalDecisionRequest"), decide).answers(201, A::Json("NewId"), &[403, 409, 422]),
    ]
}

/// The request and response schemas of these routes.
pub fn schemas() -> Value {
    let string = json!({"type": "string"});
    let date = json!({"type": "string", "format": "date"});
    let int = json!({"type": "integer"});
    let mut all = serde_json::Map::new();
    all.insert("ResponseMemberInput".into(), json!({"type": "object", "required": ["organisation", "team_role"], "properties": {
            "organisation": {"type": "string", "enum": ["fsc", "fss", "fsi", "ciso"]},
            "name": {"type": "string", "description": "required except for a CISO member, whose name is the user's"},
            "team_role": string,
            "user_id": {"type": "integer", "description": "the CISO user; only for a CISO member"}
        }}));
    all.insert("ChallengeInput".into(), json!({"type": "object", "required": ["title", "description", "due_on"], "properties": {
            "institution_id": {"type": "integer", "description": "defaults to the caller's institution"},
            "title": string, "description": string,
            "due_on": {"type": "string", "format": "date", "description": "when an answer is needed; not in the past"}
        }}));
    all.insert("ChallengeChange".into(), json!({"type": "object", "required": ["status"], "properties": {
            "owner_member_id": {"type": "integer", "description": "an active member; absent keeps the owner"},
            "status": {"type": "string", "enum": ["open", "in_progress", "resolved", "closed"]},
            "response": {"type": "string", "description": "required to resolve"},
            "due_on": date
        }}));
    all.insert(
        "CheckinInput".into(),
        json!({"type": "object", "required": ["held_on", "notes", "attendees"], "properties": {
            "held_on": date, "notes": string,
            "attendees": {"type": "array", "items": int, "description": "ids of active members"}
        }}),
    );
    all.insert("CheckinActionInput".into(), json!({"type": "object", "required": ["description", "owner_member_id", "due_on"], "properties": {
            "description": string, "owner_member_id": int, "due_on": date
        }}));
    all.insert(
        "NewId".into(),
        json!({"type": "object", "required": ["id"], "properties": {"id": int}}),
    );
    all.insert("ResponseMember".into(), json!({"type": "object", "required": ["id", "organisation", "name", "team_role", "active", "added_by", "added_at"], "properties": {
            "id": int, "organisation": {"type": "string", "enum": ["fsc", "fss", "fsi", "ciso"]},
            "sector": {"type": ["string", "null"]}, "name": string, "team_role": string,
            "user_id": {"type": ["integer", "null"]}, "institution_id": {"type": ["integer", "null"]},
            "institution_name": {"type": ["string", "null"]}, "active": {"type": "boolean"},
            "added_by": string, "added_at": string, "retired_at": {"type": ["string", "null"]}
        }}));
    all.insert("FieldChallenge".into(), json!({"type": "object", "required": ["id", "institution_id", "title", "description", "sector", "status", "due_on", "overdue", "days_left"], "properties": {
            "id": int, "institution_id": int, "institution_name": string, "title": string, "description": string, "sector": string,
            "owner_member_id": {"type": ["integer", "null"]}, "owner_name": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": ["open", "in_progress", "resolved", "closed"]},
            "response": {"type": ["string", "null"]}, "due_on": date,
            "raised_by": string, "raised_at": string, "updated_by": string, "updated_at": string, "closed_at": {"type": ["string", "null"]},
            "overdue": {"type": "boolean", "description": "not resolved or closed, and past its due day"},
            "days_left": {"type": "integer", "description": "days to the due day; negative when past it"}
        }}));
    all.insert("Checkin".into(), json!({"type": "object", "required": ["id", "held_on", "notes", "attendees", "actions"], "properties": {
            "id": int, "held_on": date, "notes": string, "recorded_by": string, "recorded_at": string,
            "attendees": {"type": "array", "items": {"$ref": "#/components/schemas/ResponseMember"}},
            "actions": {"type": "array", "items": {"type": "object", "required": ["id", "description", "owner_member_id", "due_on", "overdue"], "properties": {
                "id": int, "checkin_id": int, "held_on": date, "description": string, "owner_member_id": int, "owner_name": string,
                "due_on": date, "done_at": {"type": ["string", "null"]}, "done_by": {"type": ["string", "null"]},
                "created_by": string, "created_at": string, "overdue": {"type": "boolean"}
            }}}
        }}));
    all.insert("RemovalCandidate".into(), json!({"type": "object", "required": ["institution_id", "name_ko", "name_en", "sector", "ranked", "input", "history"], "properties": {
            "institution_id": int, "name_ko": string, "name_en": string, "sector": string,
            "letter_number": {"type": ["string", "null"]}, "phase_id": {"type": ["string", "null"]},
            "handed_over": {"type": ["object", "null"], "properties": {"letter_id": int, "note": string, "at": string}},
            "ranked": {"type": "object", "required": ["institution_id", "rank", "score", "ready", "factors", "reasons", "policy_version"], "properties": {
                "institution_id": int, "rank": int, "score": {"type": "number"}, "ready": {"type": "boolean"},
                "factors": {"type": "array", "items": {"type": "object", "required": ["factor", "observed", "value", "weight", "contribution", "reason"], "properties": {
                    "factor": {"type": "string", "enum": ["evaluation", "reports", "incidents", "sla", "maturity"]},
                    "observed": string, "value": {"type": "number"}, "weight": {"type": "number"}, "contribution": {"type": "number"},
                    "reason": {"type": "object", "properties": {"code": string, "ko": string, "en": string}}
                }}},
                "reasons": {"type": "array", "items": {"type": "object", "properties": {"code": string, "ko": string, "en": string}}},
                "policy_version": int
            }},
            "input": {"type": "object", "description": "the figures the ranking was computed from"},
            "shortlisted": {"type": ["object", "null"]}, "decision": {"type": ["object", "null"]},
            "history": {"type": "array", "items": {"type": "object", "properties": {
                "id": int, "institution_id": int, "kind": {"type": "string", "enum": ["shortlist", "recommend", "not_now"]},
                "reason": string, "score": {"type": "number"}, "ranking_json": string, "policy_version": int, "decided_by": string, "decided_at": string
            }}}
        }}));
    all.insert("RemovalTrack".into(), json!({"type": "object", "required": ["policy_version", "computed_on", "candidates"], "properties": {
            "policy_version": int, "computed_on": date,
            "candidates": {"type": "array", "items": {"$ref": "#/components/schemas/RemovalCandidate"}}
        }}));
    all.insert(
        "RemovalDecisionRequest".into(),
        json!({"type": "object", "required": ["step", "reason"], "properties": {
            "step": {"type": "string", "enum": ["shortlist", "recommend", "not_now"]},
            "reason": string
        }}),
    );
    Value::Object(all)
}

async fn members(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.response_members(&a).await?)
}

async fn add_member(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiJson(input): ApiJson<MemberInput>,
) -> ApiResult {
    created(st.svc.add_response_member(&a, &input).await?)
}

async fn challenges(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.challenges(&a).await?)
}

async fn raise(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiJson(input): ApiJson<ChallengeInput>,
) -> ApiResult {
    created(st.svc.raise_challenge(&a, &input).await?)
}

async fn challenge(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.challenge(&a, id).await?)
}

async fn update(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(change): ApiJson<ChallengeChange>,
) -> ApiResult {
    st.svc.update_challenge(&a, id, &change).await?;
    ok(st.svc.challenge(&a, id).await?)
}

async fn checkins(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.checkins(&a).await?)
}

async fn record_checkin(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiJson(input): ApiJson<CheckinInput>,
) -> ApiResult {
    created(st.svc.record_checkin(&a, &input).await?)
}

async fn add_action(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ActionInput>,
) -> ApiResult {
    created(st.svc.add_checkin_action(&a, id, &input).await?)
}

async fn ranking(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.removal_track(&a).await?)
}

async fn candidate(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.removal_candidate(&a, id).await?)
}

#[derive(Deserialize)]
struct DecisionRequest {
    step: String,
    #[serde(default)]
    reason: String,
}

async fn decide(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(d): ApiJson<DecisionRequest>,
) -> ApiResult {
    let Some(step) = RemovalStep::parse(&d.step) else {
        haechi_service::authz::authorize(&a, haechi_service::Action::DecideRemoval)?;
        return Err(ApiError(ServiceError::invalid(vec![FieldError::new(
            "step",
            "must be shortlist, recommend or not_now",
        )])));
    };
    created(st.svc.decide_removal(&a, id, step, &d.reason).await?)
}
