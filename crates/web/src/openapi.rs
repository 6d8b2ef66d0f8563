//! The OpenAPI 3.1 document of the API, built from [`crate::api_routes`]. The committed copy at
//! `docs/openapi.json` is checked against it in the tests, so the published description cannot
//! drift from what is served.

use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::api::{api_routes, body_schema, Answer, ApiRoute, BodyKind, EVIDENCE_MEDIA_TYPES};

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

/// Every named schema with the module that declares it: the request schemas here, those of the
/// route modules declared beside their handlers, and the response and file schemas of
/// `openapi_schemas.json`. A name must be declared once (a test checks).
pub fn schema_sources() -> Vec<(&'static str, Value)> {
    vec![
        ("openapi.rs", schemas()),
        ("api_patching.rs", crate::api_patching::schemas()),
        ("api_reports.rs", crate::api_reports::schemas()),
        ("api_response.rs", crate::api_response::schemas()),
        ("api_support.rs", crate::api_support::schemas()),
        ("api_advisory.rs", crate::api_advisory::schemas()),
        ("openapi_schemas.json", file_schemas()),
    ]
}

/// The schemas of response bodies and of the files the API takes (`openapi_schemas.json`
/// beside this file), by name.
fn file_schemas() -> Value {
    serde_json::from_str(include_str!("openapi_schemas.json")).unwrap_or_else(|e| {
        tracing::error!(error = %e, "openapi_schemas.json is not JSON");
        json!({})
    })
}

fn error_response(status: u16) -> Value {
    let description = match status {
        400 => "malformed request: JSON syntax, or a path parameter not of its type",
        401 => "missing or unknown bearer token",
        403 => "the caller's role may not do this",
        404 => "no such record, or not visible to the caller",
        409 => "the record's state or a program rule forbids this",
        413 => "the body is larger than the server accepts",
        415 => "the body is not of a media type the route takes",
        422 => "invalid input, with the fields at fault",
        429 => "too many requests of this kind at once; retry later",
        _ => "refused",
    };
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The schema of a path parameter, by its name.
pub fn path_parameter(name: &str) -> Option<Value> {
    Some(match name {
        "id" | "version" => json!({"type": "integer", "format": "int64"}),
        "phase" => {
            json!({"type": "string", "pattern": "^phase-[0-9]+$", "description": "a phase of the policy, e.g. phase-1"})
        }
        "kind" => json!({"type": "string", "enum": ["epss", "kev", "cve"]}),
        "cve" => json!({"type": "string", "pattern": "^(CVE|cve)-[0-9]{4}-[0-9]{4,}$"}),
        _ => return None,
    })
}

/// The schema of a query parameter, by its name.
pub fn query_parameter(name: &str) -> Option<Value> {
    let int = json!({"type": "integer", "format": "int64"});
    let string = json!({"type": "string"});
    Some(match name {
        "institution_id" | "resource_id" | "letter_id" | "after_id" => int,
        "page" => {
            json!({"type": "integer", "format": "int64", "description": "1-based; default 1"})
        }
        "per_page" => {
            json!({"type": "integer", "format": "int64", "description": "default 50, at most 500"})
        }
        "limit" => json!({"type": "integer", "format": "int64", "description": "default 50"}),
        "version" => {
            json!({"type": "integer", "format": "int64", "minimum": 1, "description": "a report version; default the latest submitted"})
        }
        "eligible" | "close_missing" => json!({"type": "boolean"}),
        "from" | "to" => json!({"type": "string", "format": "date"}),
        "after_due_date" => {
            json!({"type": "string", "description": "the previous page's `next.due_date`"})
        }
        "after_priority" => {
            json!({"type": "string", "description": "the previous page's `next.priority`"})
        }
        "state" => {
            json!({"type": "string", "enum": ["draft", "submitted", "screening", "under_review", "returned", "evaluated", "approved", "rejected", "withdrawn"]})
        }
        "ai_origin" => {
            json!({"type": "string", "enum": ["ai_generated", "ai_annotated", "conventional"]})
        }
        "lang" => json!({"type": "string", "enum": ["ko", "en"]}),
        "cwe" => json!({"type": "string", "pattern": "^((CWE-|cwe-)?[0-9]{1,9})?$"}),
        "search" | "sector" | "severity" | "status" | "tool" | "ai_model" | "entity"
        | "entity_id" | "actor" | "action" | "role" | "filename" | "number"
        | "ai_model_version" | "map" => string,
        _ => return None,
    })
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// The success response of a declared answer.
fn success_response(answer: Answer) -> Value {
    let json_body = |schema: Value| json!({"description": "success", "content": {"application/json": {"schema": schema}}});
    match answer {
        Answer::Json(name) => json_body(schema_ref(name)),
        Answer::List(name) => json_body(json!({"type": "array", "items": schema_ref(name)})),
        Answer::Page(name) => json_body(
            json!({"type": "object", "required": ["items", "total", "page", "per_page"], "properties": {
                "items": {"type": "array", "items": schema_ref(name)},
                "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"}
            }}),
        ),
        Answer::Csv => {
            json!({"description": "a CSV file", "content": {"text/csv": {"schema": {"type": "string"}}}})
        }
        Answer::Pdf => {
            json!({"description": "a PDF file", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}})
        }
        Answer::Html => {
            json!({"description": "an HTML page", "content": {"text/html": {"schema": {"type": "string"}}}})
        }
        Answer::File => {
            let content: Map<String, Value> = EVIDENCE_MEDIA_TYPES
                .iter()
                .map(|t| {
                    (
                        t.to_string(),
                        json!({"schema": {"type": "string", "format": "binary"}}),
                    )
                })
                .collect();
            json!({"description": "the stored file", "content": content})
        }
        Answer::Empty => json!({"description": "done; no content"}),
    }
}

/// The refusals a route's shape implies (see [`crate::api::Answers`]).
fn implied_refusals(r: &ApiRoute) -> Vec<u16> {
    let mut out = Vec::new();
    if r.auth {
        out.push(401);
    }
    if r.path.contains('{') {
        out.extend([400, 404]);
    }
    if !r.query.is_empty() {
        out.push(422);
    }
    // A record named in the query or the body that does not exist (or is not visible).
    if r.query.iter().any(|q| q.ends_with("_id")) {
        out.push(404);
    }
    match r.body {
        BodyKind::None => {}
        BodyKind::Json(_) | BodyKind::OptionalJson(_) => out.extend([400, 404, 413, 415, 422]),
        _ => out.push(413),
    }
    out
}

/// Integers in the API are 64-bit: every integer schema says so (generated clients and test
/// generators then stay within range).
fn int64(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.get("type") == Some(&json!("integer")) && !m.contains_key("format") {
                m.insert("format".into(), json!("int64"));
            }
            m.values_mut().for_each(int64);
        }
        Value::Array(a) => a.iter_mut().for_each(int64),
        _ => {}
    }
}

/// The request structs take `null` for every optional field (serde reads it as absent): each
/// property a request schema does not require also allows `null`.
fn optional_nullable(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let required: Vec<String> = m
                .get("required")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            if let Some(Value::Object(props)) = m.get_mut("properties") {
                for (name, prop) in props.iter_mut() {
                    if !required.contains(name) {
                        allow_null(prop);
                    }
                }
            }
            m.values_mut().for_each(optional_nullable);
        }
        Value::Array(a) => a.iter_mut().for_each(optional_nullable),
        _ => {}
    }
}

fn allow_null(prop: &mut Value) {
    let Value::Object(p) = prop else { return };
    if p.contains_key("$ref") {
        let inner = std::mem::take(p);
        p.insert(
            "oneOf".into(),
            json!([Value::Object(inner), {"type": "null"}]),
        );
        return;
    }
    match p.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            p.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(ts)) if !ts.contains(&json!("null")) => ts.push(json!("null")),
        _ => {}
    }
    if let Some(Value::Array(e)) = p.get_mut("enum") {
        if !e.contains(&Value::Null) {
            e.push(Value::Null);
        }
    }
}

/// Builds the document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in api_routes() {
        let mut params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": path_parameter(name).unwrap_or_else(|| json!({"type": "string"}))}))
            .collect();
        params.extend(r.query.iter().map(
            |q| json!({"name": q, "in": "query", "required": false, "schema": query_parameter(q).unwrap_or_else(|| json!({"type": "string"}))}),
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
        let mut responses = Map::new();
        match r.answers {
            Some(a) => {
                responses.insert(a.status.to_string(), success_response(a.body));
                let mut refusals = implied_refusals(&r);
                refusals.extend(a.refusals);
                refusals.sort_unstable();
                refusals.dedup();
                for status in refusals {
                    responses.insert(status.to_string(), error_response(status));
                }
            }
            None => {
                responses.insert(
                    "default".into(),
                    json!({"description": "not declared yet (ApiRoute::answers)"}),
                );
            }
        }
        let mut op = json!({
            "operationId": op_id,
            "summary": r.summary,
            "tags": [r.tag],
            "parameters": params,
            "responses": responses
        });
        if let Some(body) = body_schema(r.body) {
            op["requestBody"] = body;
        }
        if r.auth {
            op["security"] = json!([{"bearer": []}]);
        } else {
            op["security"] = json!([]);
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[method] = op;
    }
    let mut schemas = Map::new();
    for (source, mut more) in schema_sources() {
        if source != "openapi_schemas.json" {
            optional_nullable(&mut more);
        }
        if let Value::Object(more) = more {
            schemas.extend(more);
        }
    }
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Haechi API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Runs the FSC AI-security network-separation relief program: registry, eligibility, applications, expert evaluation, phase cohorts and the audit log."
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "an API token (hct_…) issued to a user"}}
        }
    });
    int64(&mut doc);
    doc
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Routes behind a token that every role may call (they refuse no role: no 403).
    const EVERY_ROLE: &[&str] = &[
        "/api/v1/me",
        "/api/v1/notifications",
        "/api/v1/policy/check",
        "/api/v1/self-service",
        "/api/v1/guidelines",
        "/api/v1/guidelines/{id}",
    ];

    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    /// Every route of the table (including those other modules add) declares what it answers,
    /// the schema of what it takes, and the type of each parameter; the document they build
    /// refers only to schemas it defines, each defined once.
    #[test]
    fn every_route_declares_its_bodies_answers_and_refusals() {
        let mut faults = Vec::new();
        for r in api_routes() {
            let route = format!("{} {}", r.method, r.path);
            match r.answers {
                None => faults.push(format!(
                    "{route}: no answers declared (add .answers(status, Answer::…, &[refusals]))"
                )),
                Some(a) => {
                    if !(200..300).contains(&a.status) {
                        faults.push(format!("{route}: success status {} is not 2xx", a.status));
                    }
                    if (a.body == Answer::Empty) != (a.status == 204) {
                        faults.push(format!("{route}: 204 goes with Answer::Empty and only it"));
                    }
                    for s in a.refusals {
                        if ![400, 403, 404, 409, 413, 415, 422, 429].contains(s) {
                            faults.push(format!("{route}: refusal {s} is not one the API gives"));
                        }
                    }
                    if r.auth && !EVERY_ROLE.contains(&r.path) && !a.refusals.contains(&403) {
                        faults.push(format!(
                            "{route}: a route behind a token names 403 unless every role may call it"
                        ));
                    }
                }
            }
            if r.method == axum::http::Method::GET && r.body != BodyKind::None {
                faults.push(format!("{route}: a GET takes no body"));
            }
            if [axum::http::Method::POST, axum::http::Method::PUT].contains(&r.method)
                && r.body == BodyKind::None
                && r.summary.to_ascii_lowercase().contains("body")
            {
                faults.push(format!(
                    "{route}: the summary names a body but none is declared"
                ));
            }
            for name in r
                .path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            {
                if path_parameter(name).is_none() {
                    faults.push(format!(
                        "{route}: path parameter {name} has no type in openapi::path_parameter"
                    ));
                }
            }
            for q in r.query {
                if query_parameter(q).is_none() {
                    faults.push(format!(
                        "{route}: query parameter {q} has no type in openapi::query_parameter"
                    ));
                }
            }
        }
        let mut declared: BTreeMap<String, &str> = BTreeMap::new();
        for (source, schemas) in schema_sources() {
            let schemas = schemas.as_object().cloned().unwrap_or_default();
            assert!(!schemas.is_empty(), "{source} declares no schema");
            for name in schemas.keys() {
                if let Some(other) = declared.insert(name.clone(), source) {
                    faults.push(format!(
                        "schema {name} is declared in {other} and in {source}"
                    ));
                }
            }
        }
        let doc = document();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        for r in all {
            let name = r.trim_start_matches("#/components/schemas/");
            if doc["components"]["schemas"][name].is_null() {
                faults.push(format!("{r} is referred to but not defined"));
            }
        }
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                let has_success = responses.keys().any(|s| s.starts_with('2'));
                if !has_success {
                    faults.push(format!("{method} {path}: no success response"));
                }
                for (status, resp) in responses {
                    if status != "204" && resp["content"].as_object().is_none_or(|c| c.is_empty()) {
                        faults.push(format!(
                            "{method} {path}: response {status} has no body schema"
                        ));
                    }
                }
            }
        }
        assert!(
            faults.is_empty(),
            "{} faults:\n{}",
            faults.len(),
            faults.join("\n")
        );
    }

    /// The test above can fail: a route without answers, an untyped parameter and a dangling
    /// schema name are each reported.
    #[test]
    fn an_undeclared_route_is_reported() {
        let r = ApiRoute {
            method: axum::http::Method::POST,
            path: "/api/v1/things/{thing}",
            summary: "x",
            tag: "x",
            body: BodyKind::Json("NoSuchSchema"),
            query: &["no_such_parameter"],
            auth: true,
            handler: axum::routing::on(axum::routing::MethodFilter::POST, || async { "" }),
            answers: None,
        };
        assert!(r.answers.is_none());
        assert!(path_parameter("thing").is_none());
        assert!(query_parameter("no_such_parameter").is_none());
        let body = body_schema(r.body).unwrap();
        let mut found = Vec::new();
        refs(&body, &mut found);
        assert_eq!(found, vec!["#/components/schemas/NoSuchSchema".to_string()]);
        assert!(document()["components"]["schemas"]["NoSuchSchema"].is_null());
    }
}
