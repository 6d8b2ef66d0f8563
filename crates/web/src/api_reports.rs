//! The API of reports (issue #15, C7): the reports the caller may see, one report with every
//! version (figures, narrative, evidence files, content hash, review), compiling, writing the
//! draft's narrative, the CISO's submission, the officer's acceptance or return with comments
//! per section, evidence files (upload, removal, download) and the PDF of a submitted version.
//! A report is addressed by its obligation's id, as in the portal (`/reports/{id}`). Its routes
//! join the one table in [`crate::api::api_routes`]; its schemas join the OpenAPI document
//! through [`schemas`].

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Json;
use haechi_service::reports::{Narrative, Review};
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

macro_rules! r {
    ($method:ident, $path:literal, $summary:literal, $body:expr, [$($q:literal),*], $handler:expr) => {
        ApiRoute {
            method: Method::$method,
            path: $path,
            summary: $summary,
            tag: "reports",
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
        r!(GET, "/api/v1/reports", "Every reporting obligation the caller may see with its report's latest version and state", B::None, [], list).answers(200, A::List("ReportListItem"), &[403]),
        r!(GET, "/api/v1/reports/{id}", "One obligation's report (by the obligation's id) with every version: figures, narrative, evidence files, content hash and review", B::None, [], get).answers(200, A::Json("Report"), &[403]),
        r!(POST, "/api/v1/reports/{id}/compile", "Compile the figures from the institution's data: starts a draft (or a new version after a return) or recompiles the draft", B::None, [], compile).answers(200, A::Json("Report"), &[403, 409]),
        r!(PUT, "/api/v1/reports/{id}/narrative", "Write the draft's three narrative sections (Korean; English optional)", B::Json("ReportNarrative"), [], narrative).answers(200, A::Json("Report"), &[403, 409, 422]),
        r!(POST, "/api/v1/reports/{id}/submit", "The CISO signs off and submits the draft: it is frozen with the SHA-256 of its canonical content (evidence files' hashes included)", B::None, [], submit).answers(200, A::Json("ReportSubmitted"), &[403, 409, 422]),
        r!(POST, "/api/v1/reports/{id}/decision", "The officer accepts the submitted version, or returns it with comments (overall and per section; at least one to return)", B::Json("ReportDecision"), [], decide).answers(200, A::Json("Report"), &[403, 409, 422]),
        r!(POST, "/api/v1/reports/{id}/attachments", "Attach an evidence file to the draft (the body; `filename` in the query; the Content-Type as its type); the policy's per-file, per-version and type limits apply", B::Binary, ["filename"], upload).answers(201, A::Json("ReportAttachment"), &[403, 409, 422]),
        r!(DELETE, "/api/v1/report-files/{id}", "Remove an evidence file from its report's draft (never from a submitted version)", B::None, [], remove).answers(204, A::Empty, &[403, 409]),
        r!(GET, "/api/v1/report-files/{id}", "Download an evidence file of a report (its institution and the regulator side; its SHA-256 in x-content-sha256)", B::None, [], download).answers(200, A::File, &[403]),
        r!(GET, "/api/v1/reports/{id}/pdf", "The bilingual PDF of a submitted version (the latest one unless `version` is given); a draft has none", B::None, ["version"], pdf).answers(200, A::Pdf, &[403, 409]),
    ]
}

/// The request and response schemas of this module.
pub fn schemas() -> Value {
    let string = json!({"type": "string"});
    let int = json!({"type": "integer"});
    let text_or_null = json!({"type": ["string", "null"]});
    let int_or_null = json!({"type": ["integer", "null"]});
    let days = json!({"type": ["number", "null"], "description": "days"});
    let counts = json!({"type": "array", "items": {"type": "object", "required": ["key", "n"], "properties": {"key": string, "n": int}}});
    let hash = json!({"type": "string", "pattern": "^[0-9a-f]{64}$"});
    let state = json!({"type": "string", "enum": ["draft", "submitted", "accepted", "returned"]});
    let obligation = json!({"type": "object", "required": ["id", "letter_id", "institution_id", "institution_name", "kind", "sequence", "period_start", "period_end", "due_on", "status", "state", "overdue"], "properties": {
        "id": int, "letter_id": int, "letter_number": text_or_null, "institution_id": int, "institution_name": string,
        "kind": {"type": "string", "enum": ["quarterly_report", "final_report", "saas_self_evaluation"]},
        "sequence": int, "period_start": string, "period_end": string, "due_on": string,
        "status": {"type": "string", "enum": ["open", "submitted", "accepted", "returned", "cancelled", "fulfilled"]},
        "submitted_at": text_or_null, "decided_at": text_or_null, "note": text_or_null,
        "saas_evaluation_id": int_or_null, "saas_id": int_or_null,
        "state": {"type": "string", "description": "upcoming, due or overdue while open; else the stored status"},
        "overdue": {"type": "boolean"}
    }});
    let figures = json!({"type": "object", "required": ["period_start", "period_end", "findings", "ai_found", "conventional", "by_severity", "by_priority", "by_status", "by_cwe", "by_tool", "by_month", "remediation", "sla", "runs", "patches", "saas", "scope_not_in_register"], "properties": {
        "period_start": string, "period_end": string, "findings": int, "ai_found": int, "conventional": int,
        "by_severity": counts, "by_priority": counts, "by_status": counts, "by_cwe": counts,
        "by_tool": {"type": "array", "items": {"type": "object", "required": ["tool", "n"], "properties": {"tool": string, "ai_model": text_or_null, "n": int}}},
        "by_month": {"type": "array", "items": {"type": "object", "required": ["month", "ai", "conventional"], "properties": {"month": string, "ai": int, "conventional": int}}},
        "remediation": {"type": "array", "items": {"type": "object", "required": ["priority", "fixed"], "properties": {"priority": string, "fixed": int, "median_days": days, "p90_days": days}}},
        "sla": {"type": "array", "items": {"type": "object", "required": ["priority", "fixed_in_time", "fixed_late", "open_breached"], "properties": {"priority": string, "fixed_in_time": int, "fixed_late": int, "open_breached": int}}},
        "runs": {"type": "array", "items": {"type": "object", "required": ["tool", "runs", "results"], "properties": {"tool": string, "tool_version": text_or_null, "ai_model": text_or_null, "ai_model_version": text_or_null, "runs": int, "results": int}}},
        "patches": {"type": "object", "properties": {"records": int, "pre_testing_done": int, "rollback_ready": int, "kill_switch_ready": int, "isolation_ready": int, "continuity_plan": int, "customers_notified_in_advance": int, "findings_fixed": int}},
        "saas": {"type": "array", "items": {"type": "object", "required": ["product", "vendor", "evaluated_in_period", "in_letter_scope"], "properties": {
            "product": string, "vendor": string, "certifications": {"type": "array", "items": string}, "data_classes": {"type": "array", "items": string},
            "last_evaluated_on": text_or_null, "last_result": text_or_null, "evaluated_in_period": {"type": "boolean"}, "in_letter_scope": {"type": "boolean"}
        }}},
        "scope_not_in_register": {"type": "array", "items": string}
    }});
    let narrative_props = json!({
        "risk_ko": string, "risk_en": string, "offensive_ko": string, "offensive_en": string, "defences_ko": string, "defences_en": string
    });
    let review = json!({"type": "object", "properties": {
        "general": string,
        "sections": {"type": "object", "description": "comment per section: figures, risk, offensive, defences", "additionalProperties": string}
    }});
    let version = json!({"type": "object", "required": ["id", "obligation_id", "institution_id", "version", "state", "figures", "narrative", "attachments", "changes", "compiled_at"], "properties": {
                "id": int, "obligation_id": int, "institution_id": int, "version": int, "state": state,
                "figures_json": string, "previous_figures_json": text_or_null, "narrative_json": string, "review_json": text_or_null,
                "compiled_at": string,
                "content_hash": {"type": ["string", "null"], "description": "SHA-256 of the RFC 8785 canonical content, set when submitted (frozen)"},
                "submitted_by": text_or_null, "submitted_at": text_or_null, "decided_by": text_or_null, "decided_at": text_or_null,
                "created_by": string, "created_at": string, "updated_at": string,
                "figures": figures,
                "narrative": {"type": "object", "properties": narrative_props},
                "review": {"oneOf": [review, {"type": "null"}]},
                "changes": {"type": "array", "description": "what the last recompile changed", "items": {"type": "object", "required": ["figure", "before", "after"], "properties": {"figure": string, "before": string, "after": string}}},
                "attachments": {"type": "array", "items": {"$ref": "#/components/schemas/ReportAttachment"}}
    }});
    json!({
        "ReportListItem": {"type": "object", "required": ["obligation"], "properties": {
            "obligation": obligation, "version": int_or_null, "report_state": {"type": ["string", "null"], "enum": ["draft", "submitted", "accepted", "returned", null]}
        }},
        "ReportAttachment": {"type": "object", "required": ["id", "report_id", "obligation_id", "institution_id", "filename", "content_type", "size_bytes", "sha256", "uploaded_by", "uploaded_at"], "properties": {
            "id": int, "report_id": {"type": "integer", "description": "the version it belongs to"}, "obligation_id": int, "institution_id": int,
            "filename": string, "content_type": string, "size_bytes": int, "sha256": hash, "uploaded_by": string, "uploaded_at": string
        }},
        "Report": {"type": "object", "required": ["obligation", "versions"], "properties": {
            "obligation": obligation,
            "versions": {"type": "array", "description": "oldest first", "items": version}
        }},
        "ReportNarrative": {"type": "object", "description": "each section at most 20,000 characters; the Korean ones are required to submit", "properties": narrative_props},
        "ReportSubmitted": {"type": "object", "required": ["content_hash"], "properties": {"content_hash": hash}},
        "ReportDecision": {"type": "object", "required": ["accept"], "properties": {
            "accept": {"type": "boolean"},
            "general": string,
            "sections": {"type": "object", "description": "comment per section; returning needs at least one comment overall", "properties": {"figures": string, "risk": string, "offensive": string, "defences": string}, "additionalProperties": false}
        }}
    })
}

async fn list(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.report_list(&a).await?)
}

async fn get(State(st): State<AppState>, Authed(a): Authed, Path(id): Path<i64>) -> ApiResult {
    ok(st.svc.report(&a, id).await?)
}

async fn compile(State(st): State<AppState>, Authed(a): Authed, Path(id): Path<i64>) -> ApiResult {
    st.svc.compile_report(&a, id).await?;
    ok(st.svc.report(&a, id).await?)
}

async fn narrative(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(n): ApiJson<Narrative>,
) -> ApiResult {
    st.svc.write_report(&a, id, &n).await?;
    ok(st.svc.report(&a, id).await?)
}

async fn submit(State(st): State<AppState>, Authed(a): Authed, Path(id): Path<i64>) -> ApiResult {
    let hash = st.svc.submit_report(&a, id).await?;
    ok(json!({ "content_hash": hash }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionRequest {
    accept: bool,
    #[serde(default)]
    general: String,
    #[serde(default)]
    sections: ReviewSections,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReviewSections {
    #[serde(default)]
    figures: String,
    #[serde(default)]
    risk: String,
    #[serde(default)]
    offensive: String,
    #[serde(default)]
    defences: String,
}

async fn decide(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<DecisionRequest>,
) -> ApiResult {
    let s = r.sections;
    let review = Review {
        general: r.general.trim().to_string(),
        sections: [
            ("figures", s.figures),
            ("risk", s.risk),
            ("offensive", s.offensive),
            ("defences", s.defences),
        ]
        .into_iter()
        .filter(|(_, c)| !c.trim().is_empty())
        .map(|(k, c)| (k.to_string(), c.trim().to_string()))
        .collect(),
    };
    st.svc.decide_report(&a, id, r.accept, &review).await?;
    ok(st.svc.report(&a, id).await?)
}

#[derive(Deserialize)]
struct FilenameQuery {
    #[serde(default)]
    filename: Option<String>,
}

async fn upload(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<FilenameQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let name = q.filename.unwrap_or_default();
    // The type declared, or the one the name says when none (or octet-stream) is declared.
    let ct = crate::portal::applications::served_type(&name, declared);
    let meta = st
        .svc
        .add_report_attachment(&a, id, &name, &ct, &body)
        .await?;
    Ok((StatusCode::CREATED, Json(json!(meta))).into_response())
}

async fn remove(State(st): State<AppState>, Authed(a): Authed, Path(id): Path<i64>) -> ApiResult {
    st.svc.remove_report_attachment(&a, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn file_response(
    content_type: &str,
    disposition: &str,
    sha256: Option<&str>,
    data: Vec<u8>,
) -> Response {
    let mut resp = data.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(v) = sha256.and_then(|s| HeaderValue::from_str(s).ok()) {
        h.insert("x-content-sha256", v);
    }
    resp
}

async fn download(State(st): State<AppState>, Authed(a): Authed, Path(id): Path<i64>) -> ApiResult {
    let (meta, data) = st.svc.report_attachment(&a, id).await?;
    let ascii: String = meta
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(file_response(
        &meta.content_type,
        &format!("attachment; filename=\"{ascii}\""),
        Some(&meta.sha256),
        data,
    ))
}

#[derive(Deserialize)]
struct PdfQuery {
    #[serde(default)]
    version: Option<i64>,
}

async fn pdf(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<PdfQuery>,
) -> ApiResult {
    let (name, bytes) = st.svc.report_pdf(&a, id, q.version).await?;
    Ok(file_response(
        "application/pdf",
        &format!("attachment; filename=\"{name}\""),
        None,
        bytes,
    ))
}
