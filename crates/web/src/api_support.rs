//! The API of issue #17's follow-ups: evidence files of disruption reports, funding outcome
//! reports and their review, the AI Security Support Center's cases, and the self-service basis
//! of the security-operations side. Its routes join the one table in
//! [`crate::api::api_routes`]; its request schemas join the OpenAPI document through
//! [`schemas`].

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Json;
use haechi_core::FieldError;
use haechi_service::support::{CaseStep, OutcomeInput, Upload};
use haechi_service::ServiceError;
use haechi_store::EvidenceMeta;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::{ApiJson, ApiQuery, ApiRoute, BodyKind, RawBody};
use crate::auth::Authed;
use crate::error::ApiError;
use crate::AppState;

type ApiResult = Result<Response, ApiError>;

fn ok(v: impl serde::Serialize) -> ApiResult {
    Ok(Json(json!(v)).into_response())
}

fn created(v: impl serde::Serialize) -> ApiResult {
    Ok((StatusCode::CREATED, Json(json!(v))).into_response())
}

macro_rules! r {
    ($method:ident, $path:literal, $tag:literal, $summary:literal, $body:expr, [$($q:literal),*], $handler:expr) => {
        ApiRoute {
            method: Method::$method,
            path: $path,
            summary: $summary,
            tag: $tag,
            body: $body,
            query: &[$($q),*],
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
        r!(GET, "/api/v1/disruptions/{id}/attachments", "immunity", "Evidence files of a disruption report, with size and SHA-256", B::None, [], disruption_files).answers(200, A::List("EvidenceFile"), &[403]),
        r!(POST, "/api/v1/disruptions/{id}/attachments", "immunity", "Attach an evidence file (the body; `filename` in the query; the Content-Type as its type) while the committee has not decided; the policy's size and type limits apply", B::Binary, ["filename"], disruption_upload).answers(201, A::Json("EvidenceFile"), &[403, 409, 422]),
        r!(GET, "/api/v1/disruption-attachments/{id}", "immunity", "Download an evidence file of a disruption report (its institution and the regulator side)", B::None, [], disruption_download).answers(200, A::File, &[403]),
        r!(GET, "/api/v1/grants/{id}/outcomes", "funding", "Every version of an award's outcome report with its files", B::None, [], outcomes_list).answers(200, A::List("FundingOutcome"), &[403]),
        r!(POST, "/api/v1/grants/{id}/outcomes", "funding", "File the next version of an award's outcome report (after a payment; not while one awaits review)", B::Json("OutcomeInput"), [], outcomes_file).answers(201, A::Json("OutcomeFiled"), &[403, 409, 422]),
        r!(POST, "/api/v1/outcomes/{id}/attachments", "funding", "Attach a file to an outcome report awaiting review (the body; `filename` in the query)", B::Binary, ["filename"], outcome_upload).answers(201, A::Json("EvidenceFile"), &[403, 409, 422]),
        r!(POST, "/api/v1/outcomes/{id}/review", "funding", "Accept an outcome report, or ask for more (the note says what)", B::Json("OutcomeReview"), [], outcome_review).answers(200, A::Json("OutcomeReviewed"), &[403, 409, 422]),
        r!(GET, "/api/v1/outcome-attachments/{id}", "funding", "Download a file of an outcome report", B::None, [], outcome_download).answers(200, A::File, &[403]),
        r!(GET, "/api/v1/support-cases", "support", "Support-center cases: a firm its own, the center and the regulator side all", B::None, [], cases_list).answers(200, A::List("SupportCaseSummary"), &[403]),
        r!(POST, "/api/v1/support-cases", "support", "Open a case with the AI Security Support Center (small firms and fintechs)", B::Json("SupportCaseInput"), [], cases_open).answers(201, A::Json("SupportCase"), &[403, 409, 422]),
        r!(GET, "/api/v1/support-cases/{id}", "support", "A case with its history", B::None, [], cases_get).answers(200, A::Json("SupportCase"), &[403]),
        r!(POST, "/api/v1/support-cases/{id}/steps", "support", "A step of a case: triage, answer (center), follow_up (firm), close, comment; illegal steps are refused", B::Json("SupportStep"), [], cases_step).answers(200, A::Json("SupportCase"), &[403, 409, 422]),
        r!(GET, "/api/v1/self-service", "support", "Why the caller may use the findings intake and patch queue (institution side, letter, funding award) or not", B::None, [], self_service).answers(200, A::Json("SelfService"), &[]),
    ]
}

/// The request schemas of these routes, for the OpenAPI document.
pub fn schemas() -> Value {
    let string = json!({"type": "string"});
    let int = json!({"type": "integer"});
    let text_or_null = json!({"type": ["string", "null"]});
    let case_status =
        json!({"type": "string", "enum": ["open", "in_progress", "answered", "closed"]});
    let case_row = json!({"type": "object", "required": ["id", "institution_id", "institution_name", "kind", "subject", "description", "status", "opened_by", "opened_at", "updated_at"], "properties": {
        "id": int, "institution_id": int, "institution_name": string,
        "kind": {"type": "string", "enum": ["vulnerability_assessment", "threat_trend", "other"]},
        "subject": string, "description": string, "status": case_status,
        "opened_by": string, "opened_at": string, "updated_at": string
    }});
    json!({
        "EvidenceFile": {"type": "object", "required": ["id", "owner_id", "filename", "content_type", "size_bytes", "sha256", "uploaded_by", "uploaded_at"], "properties": {
            "id": int, "owner_id": {"type": "integer", "description": "the record it belongs to (the report, the outcome version)"},
            "filename": string, "content_type": string, "size_bytes": int,
            "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "uploaded_by": string, "uploaded_at": string
        }},
        "FundingOutcome": {"type": "object", "required": ["row", "files"], "properties": {
            "row": {"type": "object", "required": ["id", "application_id", "version", "achieved_ko", "achieved_en", "used_krw", "state", "filed_by", "filed_at"], "properties": {
                "id": int, "application_id": int, "version": int, "achieved_ko": string, "achieved_en": string, "used_krw": int,
                "state": {"type": "string", "enum": ["submitted", "accepted", "more_requested"]},
                "review_note": text_or_null, "reviewed_by": text_or_null, "reviewed_at": text_or_null,
                "filed_by": string, "filed_at": string
            }},
            "files": {"type": "array", "items": {"$ref": "#/components/schemas/EvidenceFile"}}
        }},
        "OutcomeFiled": {"type": "object", "required": ["id"], "properties": {"id": int}},
        "OutcomeReviewed": {"type": "object", "required": ["id", "state"], "properties": {"id": int, "state": {"type": "string", "enum": ["accepted", "more_requested"]}}},
        "SupportCaseSummary": case_row,
        "SupportCase": {"type": "object", "required": ["row", "events"], "properties": {
            "row": case_row,
            "events": {"type": "array", "items": {"type": "object", "required": ["id", "case_id", "to_status", "body", "actor_name", "side", "at"], "properties": {
                "id": int, "case_id": int, "from_status": {"type": ["string", "null"]}, "to_status": case_status,
                "body": string, "actor_name": string, "side": {"type": "string", "enum": ["institution", "center"]}, "at": string
            }}}
        }},
        "SelfService": {"type": "object", "required": ["open", "detail"], "properties": {
            "open": {"type": "boolean"},
            "detail": {"type": "object", "required": ["basis"], "properties": {
                "basis": {"type": "string", "enum": ["institution_side", "letter", "funded", "closed"]},
                "letter_number": string, "application_id": int, "call_title": string, "award_krw": int
            }}
        }},
        "OutcomeInput": {"type": "object", "required": ["achieved_ko", "achieved_en", "used_krw"], "properties": {
            "achieved_ko": {"type": "string", "description": "what the funding achieved, in Korean"},
            "achieved_en": {"type": "string", "description": "the same, in English"},
            "used_krw": {"type": "integer", "minimum": 0, "description": "of the amount paid, how much was used"}
        }},
        "OutcomeReview": {"type": "object", "required": ["accept"], "properties": {
            "accept": {"type": "boolean"},
            "note": {"type": "string", "description": "required when asking for more"}
        }},
        "SupportCaseInput": {"type": "object", "required": ["kind", "subject", "description"], "properties": {
            "kind": {"type": "string", "enum": ["vulnerability_assessment", "threat_trend", "other"]},
            "subject": string, "description": string
        }},
        "SupportStep": {"type": "object", "required": ["step"], "properties": {
            "step": {"type": "string", "enum": ["triage", "answer", "follow_up", "close", "comment"]},
            "message": {"type": "string", "description": "required for answer, follow_up and comment"}
        }}
    })
}

#[derive(Debug, Deserialize)]
struct FilenameQuery {
    filename: Option<String>,
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string()
}

fn download(meta: &EvidenceMeta, data: Vec<u8>) -> Response {
    let disposition = format!(
        "attachment; filename=\"{}\"",
        meta.filename
            .replace(|c: char| !c.is_ascii_graphic() && c != ' ', "_")
            .replace(['"', '\\'], "_")
    );
    let mut resp = data.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&meta.content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&meta.sha256) {
        h.insert("x-content-sha256", v);
    }
    resp
}

async fn disruption_files(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.disruption_files(&a, id).await?)
}

async fn disruption_upload(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<FilenameQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult {
    let ct = content_type(&headers);
    let name = q.filename.unwrap_or_default();
    created(
        st.svc
            .add_disruption_file(
                &a,
                id,
                Upload {
                    filename: &name,
                    content_type: &ct,
                    data: &body,
                },
            )
            .await?,
    )
}

async fn disruption_download(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    let (meta, data) = st.svc.disruption_file(&a, id).await?;
    Ok(download(&meta, data))
}

async fn outcomes_list(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.funding_outcomes(&a, id).await?)
}

async fn outcomes_file(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<OutcomeInput>,
) -> ApiResult {
    let outcome = st.svc.file_funding_outcome(&a, id, &input).await?;
    created(json!({"id": outcome}))
}

async fn outcome_upload(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<FilenameQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult {
    let ct = content_type(&headers);
    let name = q.filename.unwrap_or_default();
    created(
        st.svc
            .add_outcome_file(
                &a,
                id,
                Upload {
                    filename: &name,
                    content_type: &ct,
                    data: &body,
                },
            )
            .await?,
    )
}

#[derive(Debug, Deserialize)]
struct OutcomeReview {
    accept: bool,
    #[serde(default)]
    note: String,
}

async fn outcome_review(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<OutcomeReview>,
) -> ApiResult {
    st.svc
        .review_funding_outcome(&a, id, r.accept, &r.note)
        .await?;
    ok(json!({"id": id, "state": if r.accept { "accepted" } else { "more_requested" }}))
}

async fn outcome_download(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    let (meta, data) = st.svc.outcome_file(&a, id).await?;
    Ok(download(&meta, data))
}

async fn cases_list(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.support_cases(&a).await?)
}

#[derive(Debug, Deserialize)]
struct SupportCaseInput {
    kind: String,
    subject: String,
    description: String,
}

async fn cases_open(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiJson(c): ApiJson<SupportCaseInput>,
) -> ApiResult {
    let id = st
        .svc
        .open_support_case(&a, &c.kind, &c.subject, &c.description)
        .await?;
    created(st.svc.support_case(&a, id).await?)
}

async fn cases_get(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.support_case(&a, id).await?)
}

#[derive(Debug, Deserialize)]
struct SupportStep {
    step: String,
    #[serde(default)]
    message: String,
}

async fn cases_step(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(s): ApiJson<SupportStep>,
) -> ApiResult {
    let step = CaseStep::parse(&s.step).ok_or_else(|| {
        ApiError(ServiceError::invalid(vec![FieldError::new(
            "step",
            "is not one of triage, answer, follow_up, close, comment",
        )]))
    })?;
    st.svc.support_step(&a, id, step, &s.message).await?;
    ok(st.svc.support_case(&a, id).await?)
}

async fn self_service(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    let s = st.svc.self_service(&a).await?;
    ok(json!({"open": s.open(), "detail": s}))
}
