//! The OpenAPI 3.1 document of the API, built from [`crate::api_routes`]. The committed copy at
//! `docs/openapi.json` is checked against it in the tests, so the published description cannot
//! drift from what is served.

use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::api::{api_routes, body_schema};

fn schemas() -> Value {
    let string = json!({"type": "string"});
    let date = json!({"type": "string", "format": "date"});
    json!({
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string", "description": "stable machine-readable code"},
            "message": string,
            "fields": {"type": "array", "items": {"type": "object", "properties": {"field": string, "message": string, "row": {"type": "integer"}, "line": {"type": "integer"}}}}
        }}}},
        "InstitutionInput": {"type": "object", "required": ["code", "name_ko", "name_en", "sector", "total_assets_krw", "assets_as_of", "full_time_employees", "employees_as_of", "dedicated_ciso", "size_class"], "properties": {
            "code": string, "name_ko": string, "name_en": string,
            "sector": {"type": "string", "enum": ["bank", "securities", "insurance", "card", "savings_bank", "fintech"]},
            "total_assets_krw": {"type": "integer"}, "assets_as_of": date,
            "full_time_employees": {"type": "integer"}, "employees_as_of": date,
            "dedicated_ciso": {"type": "boolean"}, "ciso_name": string,
            "size_class": {"type": "string", "enum": ["large", "medium", "small"]},
            "contact_name": string, "contact_email": string, "contact_phone": string
        }},
        "ApplicationContent": {"type": "object", "properties": {
            "ai_vulnerability_assessment": {"type": "boolean"}, "security_saas": {"type": "boolean"},
            "services": {"type": "array", "items": {"type": "object", "required": ["kind", "name", "vendor"], "properties": {
                "kind": {"type": "string", "enum": ["ai_service", "saas"]}, "name": string, "vendor": string,
                "certifications": {"type": "array", "items": string},
                "data_classes": {"type": "array", "items": {"type": "string", "enum": ["C", "S", "O"]}}
            }}},
            "internal_controls": string,
            "self_assessment": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 4}}
        }},
        "TransitionRequest": {"type": "object", "required": ["action"], "properties": {
            "action": {"type": "string", "enum": ["submit", "start_screening", "start_review", "return_for_correction", "complete_evaluation", "approve", "reject", "withdraw"]},
            "comment": {"type": "string", "description": "required for return_for_correction, approve and reject"},
            "override_reason": {"type": "string", "description": "required to approve an application whose evaluation failed"}
        }},
        "RemoveReviewerRequest": {"type": "object", "required": ["advisor_id", "reason"], "properties": {"advisor_id": {"type": "integer"}, "reason": string, "replacement": {"type": "integer", "description": "an advisor assigned in the removed one's place"}}},
        "CohortMemberRequest": {"type": "object", "required": ["application_id", "reason"], "properties": {"application_id": {"type": "integer"}, "reason": string}},
        "UserActiveRequest": {"type": "object", "required": ["active"], "properties": {"active": {"type": "boolean"}}},
        "PasswordResetRequest": {"type": "object", "required": ["confirm"], "properties": {"confirm": {"type": "boolean", "description": "must be true"}}},
        "UserRoleRequest": {"type": "object", "required": ["role"], "properties": {
            "role": {"type": "string", "enum": ["regulator_admin", "regulator_officer", "analyst", "support_center", "advisor", "ciso", "security_staff", "auditor"]},
            "institution_id": {"type": "integer", "description": "required for ciso and security_staff, and only for them"}
        }},
        "ScreenRequest": {"type": "object", "properties": {"institution_id": {"type": "integer"}}},
        "AssignRequest": {"type": "object", "required": ["advisor_id"], "properties": {"advisor_id": {"type": "integer"}}},
        "ConflictRequest": {"type": "object", "required": ["conflict"], "properties": {"conflict": {"type": "boolean"}, "note": string}},
        "ScoresRequest": {"type": "object", "required": ["scores"], "properties": {
            "scores": {"type": "array", "items": {"type": "object", "required": ["criterion", "score", "justification"], "properties": {"criterion": string, "score": {"type": "integer"}, "justification": string}}},
            "submit": {"type": "boolean"}
        }},
        "ConfirmRequest": {"type": "object", "properties": {"expected": {"type": "array", "items": {"type": "integer"}}}},
        "NewUserRequest": {"type": "object", "required": ["username", "display_name", "role"], "properties": {
            "username": string, "display_name": string,
            "role": {"type": "string", "enum": ["regulator_admin", "regulator_officer", "analyst", "support_center", "advisor", "ciso", "security_staff", "auditor"]},
            "institution_id": {"type": "integer"}
        }},
        "ReasonRequest": {"type": "object", "required": ["reason"], "properties": {"reason": string}},
        "NoteRequest": {"type": "object", "properties": {"note": string}},
        "ObligationDecision": {"type": "object", "required": ["accept"], "properties": {"accept": {"type": "boolean"}, "note": {"type": "string", "description": "required when returning"}}},
        "TokenRequest": {"type": "object", "required": ["label"], "properties": {"label": string}},
        "ResourceInput": {"type": "object", "required": ["name", "kind", "business_function", "data_kinds", "network_zone", "processes_electronic_transactions"], "properties": {
            "name": string,
            "kind": {"type": "string", "enum": ["server", "application", "network_device", "cloud_service", "saas"]},
            "business_function": {"type": "string", "description": "e.g. core_ledger, payment, trading, or any other function name"},
            "data_kinds": {"type": "array", "items": {"type": "string", "enum": ["personal_credit", "customer_personal", "non_public_business", "logs_backups", "public", "pseudonymised"]}},
            "network_zone": {"type": "string", "enum": ["internal", "dmz", "internet", "external_saas"]},
            "processes_electronic_transactions": {"type": "boolean"},
            "dr_tier": string, "owner": string
        }},
        "ResourceRequest": {"allOf": [{"$ref": "#/components/schemas/ResourceInput"}, {"type": "object", "properties": {"institution_id": {"type": "integer", "description": "defaults to the caller's institution"}}}]},
        "FindingTransition": {"type": "object", "required": ["status"], "properties": {
            "status": {"type": "string", "enum": ["open", "in_progress", "fixed", "verified", "risk_accepted", "false_positive"]},
            "reason": {"type": "string", "description": "required for risk_accepted and false_positive"},
            "until": {"type": "string", "format": "date", "description": "last day of a risk acceptance; required for risk_accepted"}
        }}
    })
}

/// Adds the request schemas of the C13 routes ([`crate::api_patching`]).
fn with_patching(mut all: Value) -> Value {
    if let (Some(all), Value::Object(more)) = (all.as_object_mut(), crate::api_patching::schemas())
    {
        all.extend(more);
    }
    if let (Some(all), Value::Object(more)) = (all.as_object_mut(), crate::api_response::schemas())
    {
        all.extend(more);
    }
    if let (Some(all), Value::Object(more)) = (all.as_object_mut(), crate::api_support::schemas()) {
        all.extend(more);
    }
    if let (Some(all), Value::Object(more)) = (all.as_object_mut(), crate::api_advisory::schemas())
    {
        all.extend(more);
    }
    all
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// Builds the document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in api_routes() {
        let mut params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        params.extend(r.query.iter().map(
            |q| json!({"name": q, "in": "query", "required": false, "schema": {"type": "string"}}),
        ));
        let method = r.method.as_str().to_ascii_lowercase();
        let op_id = format!(
            "{}_{}",
            method,
            r.path
                .trim_start_matches("/api/v1/")
                .replace(['/', '{', '}'], "_")
                .trim_end_matches('_')
        );
        let mut op = json!({
            "operationId": op_id,
            "summary": r.summary,
            "tags": [r.tag],
            "parameters": params,
            "responses": {
                "200": {"description": "success", "content": {"application/json": {}}},
                "401": error_response("missing or unknown bearer token"),
                "403": error_response("the caller's role may not do this"),
                "404": error_response("no such record, or not visible to the caller"),
                "409": error_response("the record's state or a program rule forbids this"),
                "422": error_response("invalid input, with the fields at fault")
            }
        });
        if let Some((ct, schema)) = body_schema(r.body) {
            op["requestBody"] = json!({"required": true, "content": {ct: {"schema": schema}}});
        }
        if r.auth {
            op["security"] = json!([{"bearer": []}]);
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Haechi API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Runs the FSC AI-security network-separation relief program: registry, eligibility, applications, expert evaluation, phase cohorts and the audit log."
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": with_patching(schemas()),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        }
    })
}

/// The document as committed to `docs/openapi.json` (pretty, trailing newline).
pub fn document_text() -> String {
    let mut s = serde_json::to_string_pretty(&document()).unwrap_or_default();
    s.push('\n');
    s
}

pub async fn serve() -> impl IntoResponse {
    Json(document())
}
