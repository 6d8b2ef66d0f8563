//! The API of patch prioritisation and remediation (C13, C10 advisories): threat feeds, CVE
//! facts, emergency advisories, each finding's priority explanation, the patch queue and bulk
//! assignment, patch records, the burn-down and SLA charts, and the security-SaaS register.
//! Its routes join the one table in [`crate::api::api_routes`]; its request schemas join the
//! OpenAPI document through [`schemas`].

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Json;
use chrono::NaiveDate;
use haechi_core::FieldError;
use haechi_service::feeds::{AdvisoryInput, FeedFile, FeedKind};
use haechi_service::patching::{PatchInput, SaasEvaluationInput};
use haechi_service::ServiceError;
use haechi_store::{QueueCursor, SaasWrite};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::{ApiJson, ApiQuery, ApiRoute, BodyKind};
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

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError(ServiceError::invalid(vec![FieldError::new(field, message)]))
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
        r!(GET, "/api/v1/feeds", "feeds", "What is loaded from each threat feed, its source date and age", B::None, [], feeds_status).answers(200, A::Json("FeedStatus"), &[403]),
        r!(POST, "/api/v1/feeds/{kind}", "feeds", "Import a feed file (kind: epss, kev or cve; the file as the body): all or nothing, idempotent", B::Binary, [], feeds_import).answers(201, A::Json("FeedImport"), &[403, 409, 422]),
        r!(GET, "/api/v1/cves/{cve}", "feeds", "What the feeds and advisories say about one CVE", B::None, [], cve_facts).answers(200, A::Json("CveFacts"), &[403, 422]),
        r!(GET, "/api/v1/advisories", "feeds", "Emergency patch advisories, newest first", B::None, [], advisories_list).answers(200, A::List("Advisory"), &[403]),
        r!(POST, "/api/v1/advisories", "feeds", "Publish an emergency patch advisory (its CVEs become P1)", B::Json("AdvisoryInput"), [], advisories_publish).answers(201, A::Json("AdvisoryOutcome"), &[403, 409, 422]),
        r!(GET, "/api/v1/advisories/{id}", "feeds", "One advisory", B::None, [], advisories_get).answers(200, A::Json("Advisory"), &[403]),
        r!(POST, "/api/v1/advisories/{id}/withdraw", "feeds", "Withdraw an advisory", B::Json("WithdrawRequest"), [], advisories_withdraw).answers(200, A::Json("AdvisoryOutcome"), &[403, 409, 422]),
        r!(POST, "/api/v1/priorities/recompute", "patching", "Re-prioritise the open findings of one institution (or of all)", B::None, ["institution_id"], priorities_recompute).answers(200, A::Json("RecomputeReport"), &[403, 422]),
        r!(GET, "/api/v1/findings/{id}/priority", "patching", "A finding's priority, deciding row, due date and the evidence behind every input", B::None, [], finding_priority).answers(200, A::Json("PriorityExplanation"), &[403]),
        r!(GET, "/api/v1/patch-queue", "patching", "Open findings by priority and due date, with SLA breaches (keyset pages: pass the previous page's `next`)", B::None, ["institution_id", "after_priority", "after_due_date", "after_id", "limit"], queue).answers(200, A::Json("PatchQueue"), &[403, 422]),
        r!(POST, "/api/v1/patch-queue/assign", "patching", "Assign findings to a user of the institution (null clears)", B::Json("FindingAssignRequest"), [], queue_assign).answers(200, A::Json("Assigned"), &[403, 409, 422]),
        r!(GET, "/api/v1/patches", "patching", "Patch records of an institution", B::None, ["institution_id"], patches_list).answers(200, A::List("PatchRecord"), &[403, 422]),
        r!(POST, "/api/v1/patches", "patching", "Record a patch with its work plan; the linked findings move to fixed", B::Json("PatchInput"), [], patches_record).answers(201, A::Json("PatchOutcome"), &[403, 409, 422]),
        r!(GET, "/api/v1/patches/{id}", "patching", "One patch record", B::None, [], patches_get).answers(200, A::Json("PatchRecord"), &[403]),
        r!(GET, "/api/v1/charts/burn-down", "patching", "Open findings by priority per day (from, to: YYYY-MM-DD)", B::None, ["institution_id", "from", "to"], burn_down).answers(200, A::Json("BurnDown"), &[403, 422]),
        r!(GET, "/api/v1/charts/sla", "patching", "SLA outcomes per priority", B::None, ["institution_id"], sla).answers(200, A::Json("SlaCompliance"), &[403, 422]),
        r!(GET, "/api/v1/saas", "saas", "The security-SaaS register of an institution", B::None, ["institution_id"], saas_list).answers(200, A::List("Saas"), &[403, 422]),
        r!(POST, "/api/v1/saas", "saas", "Register a security SaaS", B::Json("SaasRequest"), [], saas_create).answers(201, A::Json("Saas"), &[403, 409, 422]),
        r!(GET, "/api/v1/saas/{id}", "saas", "One SaaS entry with its self-evaluations", B::None, [], saas_get).answers(200, A::Json("Saas"), &[403]),
        r!(PUT, "/api/v1/saas/{id}", "saas", "Change a SaaS entry", B::Json("SaasWrite"), [], saas_update).answers(200, A::Json("Saas"), &[403, 409, 422]),
        r!(DELETE, "/api/v1/saas/{id}", "saas", "Remove a SaaS entry", B::None, [], saas_delete).answers(204, A::Empty, &[403, 409]),
        r!(POST, "/api/v1/saas/{id}/evaluations", "saas", "Record a six-monthly compliance self-evaluation", B::Json("SaasEvaluationInput"), [], saas_evaluate).answers(201, A::Json("Saas"), &[403, 409, 422]),
    ]
}

/// The request schemas of these routes, for the OpenAPI document.
pub fn schemas() -> Value {
    let string = json!({"type": "string"});
    let date = json!({"type": "string", "format": "date"});
    let int = json!({"type": "integer"});
    let boolean = json!({"type": "boolean"});
    let saas = json!({"type": "object", "required": ["product", "vendor", "users", "purpose"], "properties": {
        "product": string, "vendor": string, "users": string, "purpose": string,
        "certifications": {"type": "array", "items": string}, "data_classes": {"type": "array", "items": string}
    }});
    json!({
        "AdvisoryInput": {"type": "object", "required": ["title_ko", "title_en", "published_on", "cves"], "properties": {
            "title_ko": string, "title_en": string, "published_on": date, "cves": {"type": "array", "items": string}
        }},
        "WithdrawRequest": {"type": "object", "required": ["reason"], "properties": {"reason": string}},
        "FindingAssignRequest": {"type": "object", "required": ["finding_ids"], "properties": {
            "institution_id": int, "finding_ids": {"type": "array", "items": int}, "assignee_user_id": {"type": ["integer", "null"]}
        }},
        "PatchInput": {"type": "object", "required": ["institution_id", "applied", "applied_at", "applied_by", "finding_ids"], "properties": {
            "institution_id": int, "resource_id": int, "applied": string,
            "applied_at": {"type": "string", "description": "YYYY-MM-DDTHH:MM:SS (UTC), or YYYY-MM-DD when the time is not known"}, "applied_by": string, "notes": string,
            "finding_ids": {"type": "array", "items": int},
            "work_plan": {"type": "object", "properties": {
                "pre_testing_done": boolean, "rollback_ready": boolean, "kill_switch_ready": boolean,
                "isolation_ready": boolean, "continuity_plan": boolean, "customers_notified_in_advance": boolean
            }}
        }},
        "SaasWrite": saas,
        "SaasRequest": {"allOf": [{"$ref": "#/components/schemas/SaasWrite"}, {"type": "object", "properties": {"institution_id": {"type": "integer", "description": "defaults to the caller's institution"}}}]},
        "SaasEvaluationInput": {"type": "object", "required": ["evaluated_on", "result"], "properties": {
            "evaluated_on": date, "result": {"type": "string", "enum": ["pass", "fail", "partial"]}, "notes": string,
            "reported_to_ciso_at": {"type": "string", "description": "YYYY-MM-DDTHH:MM:SS (UTC)"}
        }}
    })
}

#[derive(Debug, Deserialize)]
struct InstitutionQuery {
    institution_id: Option<i64>,
}

async fn feeds_status(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.feed_status(&a).await?)
}

async fn feeds_import(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(kind): Path<String>,
    body: Bytes,
) -> ApiResult {
    let kind = FeedKind::parse(&kind)
        .ok_or_else(|| invalid("kind", format!("'{kind}' is not one of epss, kev, cve")))?;
    let files = vec![FeedFile {
        name: format!("upload.{}", kind.as_str()),
        bytes: body.to_vec(),
    }];
    created(st.svc.import_feed(&a, kind, files, None).await?)
}

async fn cve_facts(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(cve): Path<String>,
) -> ApiResult {
    ok(st.svc.cve_facts(&a, &cve.to_uppercase()).await?)
}

async fn advisories_list(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.advisories(&a).await?)
}

async fn advisories_publish(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiJson(input): ApiJson<AdvisoryInput>,
) -> ApiResult {
    created(st.svc.publish_advisory(&a, &input).await?)
}

async fn advisories_get(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.advisory(&a, id).await?)
}

async fn advisories_withdraw(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(w): ApiJson<crate::api::ReasonRequest>,
) -> ApiResult {
    ok(st.svc.withdraw_advisory(&a, id, &w.reason).await?)
}

async fn priorities_recompute(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<InstitutionQuery>,
) -> ApiResult {
    ok(st
        .svc
        .recompute_priorities(&a, q.institution_id.or(a.institution_id))
        .await?)
}

async fn finding_priority(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.finding_priority(&a, id).await?)
}

#[derive(Debug, Deserialize)]
struct QueueQuery {
    institution_id: Option<i64>,
    after_priority: Option<String>,
    after_due_date: Option<String>,
    after_id: Option<i64>,
    limit: Option<i64>,
}

async fn queue(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult {
    let inst = crate::api::institution_of(
        &a,
        q.institution_id,
        haechi_service::authz::Action::ReadFindings,
    )?;
    let after = match (q.after_priority, q.after_due_date, q.after_id) {
        (Some(priority), Some(due_date), Some(id)) => Some(QueueCursor {
            priority,
            due_date,
            id,
        }),
        (None, None, None) => None,
        _ => {
            return Err(invalid(
                "after_id",
                "give after_priority, after_due_date and after_id together",
            ))
        }
    };
    ok(st
        .svc
        .patch_queue(&a, inst, after.as_ref(), q.limit.unwrap_or(50))
        .await?)
}

#[derive(Debug, Deserialize)]
struct AssignRequest {
    institution_id: Option<i64>,
    finding_ids: Vec<i64>,
    #[serde(default)]
    assignee_user_id: Option<i64>,
}

async fn queue_assign(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiJson(r): ApiJson<AssignRequest>,
) -> ApiResult {
    let inst = crate::api::institution_of(
        &a,
        r.institution_id,
        haechi_service::authz::Action::ManageFindings,
    )?;
    let n = st
        .svc
        .assign_findings(&a, inst, &r.finding_ids, r.assignee_user_id)
        .await?;
    ok(json!({"assigned": n}))
}

async fn patches_list(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<InstitutionQuery>,
) -> ApiResult {
    let inst = crate::api::institution_of(
        &a,
        q.institution_id,
        haechi_service::authz::Action::ReadFindings,
    )?;
    ok(st.svc.patch_records(&a, inst).await?)
}

async fn patches_record(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiJson(p): ApiJson<PatchInput>,
) -> ApiResult {
    created(st.svc.record_patch(&a, &p).await?)
}

async fn patches_get(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.patch_record(&a, id).await?)
}

#[derive(Debug, Deserialize)]
struct RangeQuery {
    institution_id: Option<i64>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
}

async fn burn_down(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult {
    let inst = crate::api::institution_of(
        &a,
        q.institution_id,
        haechi_service::authz::Action::ReadFindings,
    )?;
    let to = q.to.unwrap_or_else(|| st.svc.today());
    let from = q.from.unwrap_or_else(|| to - chrono::Days::new(90));
    ok(st.svc.burn_down(&a, inst, from, to).await?)
}

async fn sla(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<InstitutionQuery>,
) -> ApiResult {
    let inst = crate::api::institution_of(
        &a,
        q.institution_id,
        haechi_service::authz::Action::ReadFindings,
    )?;
    ok(st.svc.sla_compliance(&a, inst).await?)
}

async fn saas_list(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<InstitutionQuery>,
) -> ApiResult {
    let inst = crate::api::institution_of(
        &a,
        q.institution_id,
        haechi_service::authz::Action::ReadFindings,
    )?;
    ok(st.svc.list_saas(&a, inst).await?)
}

#[derive(Debug, Deserialize)]
struct SaasRequest {
    institution_id: Option<i64>,
    #[serde(flatten)]
    saas: SaasWrite,
}

async fn saas_create(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiJson(r): ApiJson<SaasRequest>,
) -> ApiResult {
    let inst = crate::api::institution_of(
        &a,
        r.institution_id,
        haechi_service::authz::Action::ManageFindings,
    )?;
    created(st.svc.create_saas(&a, inst, &r.saas).await?)
}

async fn saas_get(State(st): State<AppState>, Authed(a): Authed, Path(id): Path<i64>) -> ApiResult {
    ok(st.svc.get_saas(&a, id).await?)
}

async fn saas_update(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(w): ApiJson<SaasWrite>,
) -> ApiResult {
    ok(st.svc.update_saas(&a, id, &w).await?)
}

async fn saas_delete(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    st.svc.delete_saas(&a, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn saas_evaluate(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(e): ApiJson<SaasEvaluationInput>,
) -> ApiResult {
    created(st.svc.record_saas_evaluation(&a, id, &e).await?)
}
