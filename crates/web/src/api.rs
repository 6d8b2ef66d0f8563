//! The REST API under `/api/v1`: one table of routes ([`api_routes`]) from which both the router
//! and the OpenAPI document are built, so no route exists undocumented.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Json;
use haechi_core::application::ApplicationContent;
use haechi_core::{ApplicationAction, ApplicationState, InstitutionInput, Role};
use haechi_service::reviews::ScoreInput;
use haechi_service::ServiceError;
use haechi_store::{ApplicationFilter, AuditFilter, InstitutionFilter};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Authed;
use crate::error::{bad_request, ApiError};
use crate::AppState;

type ApiResult = Result<Response, ApiError>;

/// What a route takes as its request body, for the OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    None,
    /// JSON matching the named schema of `components/schemas`.
    Json(&'static str),
    /// JSON matching the named schema, or no body at all (the defaults).
    OptionalJson(&'static str),
    Csv,
    Toml,
    /// A file of any type (evidence, a feed file).
    Binary,
    /// A SARIF 2.1.0 log, as JSON or gzip-compressed.
    Sarif,
    /// A CycloneDX 1.5/1.6 JSON BOM.
    CycloneDx,
    /// A signed letter file (canonical JSON), or nothing when a number is given.
    LetterFile,
}

/// What a route answers on success, for the OpenAPI document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// JSON matching the named schema of `components/schemas`.
    Json(&'static str),
    /// A JSON array of the named schema.
    List(&'static str),
    /// A JSON page: `items` of the named schema with `total`, `page` and `per_page`.
    Page(&'static str),
    /// A CSV file (`text/csv`).
    Csv,
    /// A PDF file (`application/pdf`).
    Pdf,
    /// An HTML page (`text/html`).
    Html,
    /// A stored evidence file, served with the media type it was stored under.
    File,
    /// No body (204).
    Empty,
}

/// A route's declared answers: the success status and body, and the refusals its handler's own
/// rules produce (403 for a role, 409 for a state or rule, 422 for invalid content, ...). The
/// refusals its shape implies are added by the document: 401 when a token is required, 400 and
/// 404 with a path parameter, 422 with query parameters (and 404 when one names a record), 400,
/// 404, 413, 415 and 422 with a JSON body and 413 with any body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answers {
    pub status: u16,
    pub body: Answer,
    pub refusals: &'static [u16],
}

/// One API route: its documentation and its handler.
pub struct ApiRoute {
    pub method: Method,
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    pub body: BodyKind,
    /// Query parameters the route reads.
    pub query: &'static [&'static str],
    /// Whether a bearer token is required.
    pub auth: bool,
    pub handler: MethodRouter<AppState>,
    /// What the route answers ([`ApiRoute::answers`]); a test fails while it is `None`.
    pub answers: Option<Answers>,
}

impl ApiRoute {
    /// Declares the success status and body and the refusals the handler's own rules produce
    /// (see [`Answers`] for those the route's shape implies).
    pub fn answers(mut self, status: u16, body: Answer, refusals: &'static [u16]) -> ApiRoute {
        self.answers = Some(Answers {
            status,
            body,
            refusals,
        });
        self
    }
}

/// Groups the table by path so that each path gets one method router.
pub fn grouped(
    routes: impl IntoIterator<Item = (&'static str, MethodRouter<AppState>)>,
) -> Vec<(String, MethodRouter<AppState>)> {
    let mut out: Vec<(String, MethodRouter<AppState>)> = Vec::new();
    for (path, handler) in routes {
        match out.iter_mut().find(|(p, _)| p == path) {
            Some((_, mr)) => {
                let existing = std::mem::take(mr);
                *mr = existing.merge(handler);
            }
            None => out.push((path.to_string(), handler)),
        }
    }
    out
}

macro_rules! route {
    ($method:ident, $path:literal, $tag:literal, $summary:literal, $body:expr, [$($q:literal),*], $auth:literal, $handler:expr) => {
        ApiRoute {
            method: Method::$method,
            path: $path,
            summary: $summary,
            tag: $tag,
            body: $body,
            query: &[$($q),*],
            auth: $auth,
            handler: on(MethodFilter::$method, $handler),
            answers: None,
        }
    };
}

/// Every API route. Add a route here and it is served, documented and (by the tests) checked.
pub fn api_routes() -> Vec<ApiRoute> {
    use Answer as A;
    use BodyKind as B;
    let mut routes = vec![
        route!(
            GET,
            "/api/v1/me",
            "accounts",
            "The authenticated user",
            B::None,
            [],
            true,
            me
        ).answers(200, A::Json("Me"), &[]),
        route!(
            GET,
            "/api/v1/dashboard",
            "program",
            "Counts by application state and phase progress",
            B::None,
            [],
            true,
            dashboard
        ).answers(200, A::Json("Dashboard"), &[403]),
        route!(
            GET,
            "/api/v1/policy",
            "policy",
            "The policy in force (TOML source and version)",
            B::None,
            [],
            true,
            policy_current
        ).answers(200, A::Json("PolicySource"), &[403]),
        route!(
            POST,
            "/api/v1/policy",
            "policy",
            "Validate and store a new policy version (TOML body)",
            B::Toml,
            [],
            true,
            policy_load
        ).answers(201, A::Json("PolicyStored"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/policy/check",
            "policy",
            "Validate a policy (TOML body) without storing it",
            B::Toml,
            [],
            true,
            policy_check
        ).answers(200, A::Json("PolicyValid"), &[422]),
        route!(
            GET,
            "/api/v1/policy/versions",
            "policy",
            "All stored policy versions",
            B::None,
            [],
            true,
            policy_versions
        ).answers(200, A::List("PolicyVersion"), &[403]),
        route!(
            GET,
            "/api/v1/policy/versions/{version}",
            "policy",
            "One stored policy version with its TOML source",
            B::None,
            [],
            true,
            policy_version
        ).answers(200, A::Json("PolicySource"), &[403]),
        route!(
            GET,
            "/api/v1/institutions",
            "registry",
            "Institutions, paginated, with search and filters",
            B::None,
            ["search", "sector", "eligible", "page", "per_page"],
            true,
            institutions_list
        ).answers(200, A::Page("Institution"), &[403]),
        route!(
            POST,
            "/api/v1/institutions",
            "registry",
            "Register an institution",
            B::Json("InstitutionInput"),
            [],
            true,
            institutions_create
        ).answers(201, A::Json("Institution"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/institutions/import",
            "registry",
            "Import institutions from CSV: all rows or none",
            B::Csv,
            [],
            true,
            institutions_import
        ).answers(200, A::Json("ImportReport"), &[403, 409, 422]),
        route!(
            GET,
            "/api/v1/institutions/export",
            "registry",
            "Export the registry as CSV",
            B::None,
            [],
            true,
            institutions_export
        ).answers(200, A::Csv, &[403]),
        route!(
            GET,
            "/api/v1/institutions/{id}",
            "registry",
            "One institution with its figure history and latest screening",
            B::None,
            [],
            true,
            institutions_get
        ).answers(200, A::Json("InstitutionView"), &[403]),
        route!(
            GET,
            "/api/v1/institutions/{id}/overview",
            "registry",
            "One institution as the regulator side sees it: figures, screening, applications, letters, obligations (overdue marked), compliance flag, security-SaaS register and a findings summary (each section where the role may read it)",
            B::None,
            [],
            true,
            institutions_overview
        ).answers(200, A::Json("InstitutionOverview"), &[403]),
        route!(
            PUT,
            "/api/v1/institutions/{id}",
            "registry",
            "Update an institution (changed figures are kept as history)",
            B::Json("InstitutionInput"),
            [],
            true,
            institutions_update
        ).answers(200, A::Json("Institution"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/eligibility/screen",
            "eligibility",
            "Screen one institution or all under the policy in force",
            B::OptionalJson("ScreenRequest"),
            [],
            true,
            eligibility_screen
        ).answers(200, A::Json("ScreeningRun"), &[403, 422]),
        route!(
            GET,
            "/api/v1/eligibility",
            "eligibility",
            "Latest screening result of every institution",
            B::None,
            ["eligible"],
            true,
            eligibility_results
        ).answers(200, A::List("ScreeningResult"), &[403]),
        route!(
            GET,
            "/api/v1/applications",
            "applications",
            "Applications visible to the caller",
            B::None,
            ["state", "institution_id", "page", "per_page"],
            true,
            applications_list
        ).answers(200, A::Page("Application"), &[403]),
        route!(
            POST,
            "/api/v1/applications",
            "applications",
            "Start a draft application (CISO or security staff)",
            B::Json("ApplicationContent"),
            [],
            true,
            applications_create
        ).answers(201, A::Json("Application"), &[403, 409, 422]),
        route!(
            GET,
            "/api/v1/applications/{id}",
            "applications",
            "One application with its history, evidence and decision",
            B::None,
            [],
            true,
            applications_get
        ).answers(200, A::Json("ApplicationView"), &[403]),
        route!(
            PUT,
            "/api/v1/applications/{id}",
            "applications",
            "Save a draft application",
            B::Json("ApplicationContent"),
            [],
            true,
            applications_update
        ).answers(200, A::Json("Application"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/applications/{id}/transitions",
            "applications",
            "Move an application through its lifecycle",
            B::Json("TransitionRequest"),
            [],
            true,
            applications_transition
        ).answers(200, A::Json("Application"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/applications/{id}/attachments",
            "applications",
            "Upload an evidence file (raw body; ?filename=)",
            B::Binary,
            ["filename"],
            true,
            attachments_upload
        ).answers(201, A::Json("Attachment"), &[403, 409, 422]),
        route!(
            GET,
            "/api/v1/attachments/{id}",
            "applications",
            "Download an evidence file",
            B::None,
            [],
            true,
            attachments_get
        ).answers(200, A::File, &[403]),
        route!(
            POST,
            "/api/v1/applications/{id}/reviewers",
            "evaluation",
            "Assign an advisor as reviewer",
            B::Json("AssignRequest"),
            [],
            true,
            reviewers_assign
        ).answers(201, A::Json("Assignment"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/applications/{id}/reviewers/remove",
            "evaluation",
            "Remove (and optionally replace) an assigned advisor, with a reason",
            B::Json("RemoveReviewerRequest"),
            [],
            true,
            reviewers_remove
        ).answers(200, A::Json("RemovedAssignment"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/applications/{id}/conflict",
            "evaluation",
            "Declare conflict of interest (advisor)",
            B::Json("ConflictRequest"),
            [],
            true,
            reviews_conflict
        ).answers(200, A::Json("Assignment"), &[403, 409, 422]),
        route!(
            PUT,
            "/api/v1/applications/{id}/scores",
            "evaluation",
            "Save or submit the advisor's scores",
            B::Json("ScoresRequest"),
            [],
            true,
            reviews_scores
        ).answers(200, A::List("Score"), &[403, 409, 422]),
        route!(
            GET,
            "/api/v1/reviews",
            "evaluation",
            "The calling advisor's assignments",
            B::None,
            [],
            true,
            reviews_mine
        ).answers(200, A::List("MyAssignment"), &[403]),
        route!(
            GET,
            "/api/v1/advisors",
            "evaluation",
            "Advisors available for assignment",
            B::None,
            [],
            true,
            advisors_list
        ).answers(200, A::List("User"), &[403]),
        route!(
            GET,
            "/api/v1/phases/{phase}/plan",
            "phases",
            "Proposed cohort of a phase with the reason for every candidate",
            B::None,
            [],
            true,
            phase_plan
        ).answers(200, A::Json("CohortPlan"), &[403, 409]),
        route!(
            POST,
            "/api/v1/phases/{phase}/cohort",
            "phases",
            "Confirm the proposed cohort",
            B::OptionalJson("ConfirmRequest"),
            [],
            true,
            phase_confirm
        ).answers(201, A::Json("Cohort"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/phases/{phase}/cohort/members",
            "phases",
            "Add an application approved after confirmation to the confirmed cohort (window open)",
            B::Json("CohortMemberRequest"),
            [],
            true,
            phase_add_member
        ).answers(200, A::Json("Cohort"), &[403, 409, 422]),
        route!(
            GET,
            "/api/v1/cohorts",
            "phases",
            "Confirmed cohorts",
            B::None,
            [],
            true,
            cohorts_list
        ).answers(200, A::List("Cohort"), &[403]),
        route!(
            GET,
            "/api/v1/letters",
            "letters",
            "No-action letters visible to the caller",
            B::None,
            [],
            true,
            letters_list
        ).answers(200, A::List("Letter"), &[403]),
        route!(
            POST,
            "/api/v1/letters/verify",
            "letters",
            "Verify a letter file (body) or a letter number (?number=); public",
            B::LetterFile,
            ["number"],
            false,
            letters_verify
        ).answers(200, A::Json("LetterCheck"), &[422]),
        route!(
            GET,
            "/api/v1/letters/{id}",
            "letters",
            "One letter",
            B::None,
            [],
            true,
            letters_get
        ).answers(200, A::Json("LetterView"), &[403]),
        route!(
            POST,
            "/api/v1/letters/{id}/issue",
            "letters",
            "Sign and issue a drafted letter",
            B::None,
            [],
            true,
            letters_issue
        ).answers(200, A::Json("Letter"), &[403, 409]),
        route!(
            POST,
            "/api/v1/letters/{id}/revoke",
            "letters",
            "Revoke an issued letter with a reason",
            B::Json("ReasonRequest"),
            [],
            true,
            letters_revoke
        ).answers(200, A::Json("Letter"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/letters/{id}/renew",
            "letters",
            "Draft a renewal referencing the letter",
            B::None,
            [],
            true,
            letters_renew
        ).answers(201, A::Json("Letter"), &[403, 409]),
        route!(
            POST,
            "/api/v1/letters/{id}/hand-over",
            "letters",
            "Hand the holder over to the full-removal candidate list",
            B::Json("ReasonRequest"),
            [],
            true,
            letters_hand_over
        ).answers(200, A::Json("HandedOver"), &[403, 409, 422]),
        route!(
            GET,
            "/api/v1/letters/{id}/file",
            "letters",
            "The signed letter file (canonical JSON)",
            B::None,
            [],
            true,
            letters_file
        ).answers(200, A::Json("SignedLetter"), &[403, 409]),
        route!(
            GET,
            "/api/v1/letters/{id}/pdf",
            "letters",
            "The letter as a bilingual PDF",
            B::None,
            [],
            true,
            letters_pdf
        ).answers(200, A::Pdf, &[403, 409]),
        route!(
            GET,
            "/api/v1/letters/{id}/print",
            "letters",
            "The letter as a print-ready bilingual HTML page",
            B::None,
            ["lang"],
            true,
            letters_print
        ).answers(200, A::Html, &[403, 409]),
        route!(
            GET,
            "/api/v1/obligations",
            "letters",
            "Reporting obligations with their state as of today",
            B::None,
            ["letter_id"],
            true,
            obligations_list
        ).answers(200, A::List("Obligation"), &[403]),
        route!(
            POST,
            "/api/v1/obligations/{id}/submit",
            "letters",
            "Submit an obligation (CISO)",
            B::Json("NoteRequest"),
            [],
            true,
            obligations_submit
        ).answers(200, A::Json("ObligationStatus"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/obligations/{id}/decision",
            "letters",
            "Accept or return a submitted obligation (officer)",
            B::Json("ObligationDecision"),
            [],
            true,
            obligations_decide
        ).answers(200, A::Json("ObligationStatus"), &[403, 409, 422]),
        route!(
            GET,
            "/api/v1/compliance-flags",
            "letters",
            "Institutions with overdue obligations",
            B::None,
            [],
            true,
            compliance_flags
        ).answers(200, A::List("ComplianceFlag"), &[403]),
        route!(
            GET,
            "/api/v1/notifications",
            "accounts",
            "The caller's notifications",
            B::None,
            [],
            true,
            notifications_list
        ).answers(200, A::List("Notification"), &[]),
        route!(
            GET,
            "/api/v1/resources",
            "resources",
            "Computing resources with their class and deciding rule",
            B::None,
            ["institution_id"],
            true,
            resources_list
        ).answers(200, A::List("Resource"), &[403]),
        route!(
            POST,
            "/api/v1/resources",
            "resources",
            "Register a computing resource (classified under the policy in force)",
            B::Json("ResourceRequest"),
            [],
            true,
            resources_create
        ).answers(201, A::Json("Resource"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/resources/import",
            "resources",
            "Import an institution's resources from CSV: all rows or none",
            B::Csv,
            ["institution_id"],
            true,
            resources_import
        ).answers(200, A::Json("ResourceImportReport"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/resources/reclassify",
            "resources",
            "Classify an institution's resources again under the policy in force",
            B::None,
            ["institution_id"],
            true,
            resources_reclassify
        ).answers(200, A::Json("ReclassifyReport"), &[403, 422]),
        route!(
            GET,
            "/api/v1/resources/{id}",
            "resources",
            "One resource with its classification reasons and software components",
            B::None,
            [],
            true,
            resources_get
        ).answers(200, A::Json("ResourceView"), &[403]),
        route!(
            PUT,
            "/api/v1/resources/{id}",
            "resources",
            "Change a resource (classified again)",
            B::Json("ResourceInput"),
            [],
            true,
            resources_update
        ).answers(200, A::Json("Resource"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/resources/{id}/components",
            "resources",
            "Replace a resource's components from a CycloneDX 1.5/1.6 JSON BOM",
            B::CycloneDx,
            [],
            true,
            resources_components
        ).answers(200, A::Json("ComponentCount"), &[403, 409, 422]),
        route!(
            GET,
            "/api/v1/findings",
            "findings",
            "Findings, newest first, with filters",
            B::None,
            [
                "institution_id",
                "severity",
                "status",
                "cwe",
                "resource_id",
                "tool",
                "ai_model",
                "ai_origin",
                "page",
                "per_page"
            ],
            true,
            findings_list
        ).answers(200, A::Json("FindingPage"), &[403]),
        route!(
            GET,
            "/api/v1/findings/imports",
            "findings",
            "Import history with provenance, newest first",
            B::None,
            ["institution_id"],
            true,
            finding_imports_list
        ).answers(200, A::List("FindingImport"), &[403]),
        route!(
            POST,
            "/api/v1/findings/imports",
            "findings",
            "Upload a SARIF 2.1.0 file (plain or gzip); answers 202 with the import id",
            B::Sarif,
            [
                "institution_id",
                "resource_id",
                "close_missing",
                "filename",
                "ai_model",
                "ai_model_version",
                "map"
            ],
            true,
            finding_imports_upload
        ).answers(202, A::Json("ImportQueued"), &[403, 409, 422, 429]),
        route!(
            GET,
            "/api/v1/findings/imports/{id}",
            "findings",
            "An import's state, bytes read, results processed, report or error",
            B::None,
            [],
            true,
            finding_imports_get
        ).answers(200, A::Json("FindingImport"), &[403]),
        route!(
            GET,
            "/api/v1/findings/{id}",
            "findings",
            "One finding with the imports that saw it",
            B::None,
            [],
            true,
            findings_get
        ).answers(200, A::Json("FindingView"), &[403]),
        route!(
            POST,
            "/api/v1/findings/{id}/transitions",
            "findings",
            "Move a finding through its lifecycle",
            B::Json("FindingTransition"),
            [],
            true,
            findings_transition
        ).answers(200, A::Json("Finding"), &[403, 409, 422]),
        route!(
            GET,
            "/api/v1/audit",
            "audit",
            "Audit log entries, newest first, with filters",
            B::None,
            [
                "entity",
                "entity_id",
                "actor",
                "action",
                "institution_id",
                "page",
                "per_page"
            ],
            true,
            audit_list
        ).answers(200, A::Page("AuditEntry"), &[403]),
        route!(
            GET,
            "/api/v1/audit/verify",
            "audit",
            "Verify the audit hash chain",
            B::None,
            [],
            true,
            audit_verify
        ).answers(200, A::Json("AuditVerification"), &[403]),
        route!(
            GET,
            "/api/v1/users",
            "accounts",
            "Users",
            B::None,
            ["role"],
            true,
            users_list
        ).answers(200, A::List("User"), &[403]),
        route!(
            POST,
            "/api/v1/users",
            "accounts",
            "Create a user",
            B::Json("NewUserRequest"),
            [],
            true,
            users_create
        ).answers(201, A::Json("User"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/users/{id}/tokens",
            "accounts",
            "Issue an API token for a user (shown once)",
            B::Json("TokenRequest"),
            [],
            true,
            users_token
        ).answers(201, A::Json("IssuedToken"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/users/{id}/active",
            "accounts",
            "Disable or enable a user (disabling ends their sessions)",
            B::Json("UserActiveRequest"),
            [],
            true,
            users_active
        ).answers(200, A::Json("User"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/users/{id}/password",
            "accounts",
            "Reset a user's password (the new one is returned once; sessions end)",
            B::Json("PasswordResetRequest"),
            [],
            true,
            users_password_reset
        ).answers(200, A::Json("NewPassword"), &[403, 409, 422]),
        route!(
            POST,
            "/api/v1/users/{id}/role",
            "accounts",
            "Change a user's role and institution",
            B::Json("UserRoleRequest"),
            [],
            true,
            users_role
        ).answers(200, A::Json("User"), &[403, 409, 422]),
    ];
    // C13 patch prioritisation and remediation: declared beside their handlers.
    routes.extend(crate::api_patching::routes());
    routes.extend(crate::api_reports::routes());
    routes.extend(crate::api_response::routes());
    routes.extend(crate::api_support::routes());
    routes.extend(crate::api_advisory::routes());
    routes
}

// ---------------------------------------------------------------- extractors and helpers

/// JSON body whose rejection is answered in the API's error format.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(bad_request(
                "unsupported_media_type",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as application/json",
            )),
            Err(JsonRejection::JsonDataError(e)) => Err(bad_request(
                "invalid_input",
                StatusCode::UNPROCESSABLE_ENTITY,
                e.body_text(),
            )),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(bad_request(
                "malformed_json",
                StatusCode::BAD_REQUEST,
                e.body_text(),
            )),
            Err(JsonRejection::BytesRejection(e)) => Err(body_rejection(e)),
            Err(other) => Err(bad_request(
                "bad_request",
                StatusCode::BAD_REQUEST,
                other.body_text(),
            )),
        }
    }
}

/// Query string whose rejection is answered in the API's error format.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|e| {
                bad_request(
                    "invalid_input",
                    StatusCode::UNPROCESSABLE_ENTITY,
                    e.body_text(),
                )
            })
    }
}

/// Raw body whose size rejection is answered in the API's error format.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(body_rejection)
    }
}

fn body_rejection(e: BytesRejection) -> Response {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        bad_request(
            "payload_too_large",
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is larger than this server accepts",
        )
    } else {
        bad_request("bad_request", e.status(), e.body_text())
    }
}

/// A JSON body that may be left out (empty means the defaults).
fn optional_json<T: DeserializeOwned + Default>(body: &Bytes) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError(ServiceError::invalid(vec![haechi_core::FieldError::new(
            "body",
            e.to_string(),
        )]))
    })
}

fn ok(v: impl serde::Serialize) -> ApiResult {
    Ok(Json(json!(v)).into_response())
}

fn created(v: impl serde::Serialize) -> ApiResult {
    Ok((StatusCode::CREATED, Json(json!(v))).into_response())
}

#[derive(Debug, Deserialize, Default)]
pub struct Page {
    page: Option<i64>,
    per_page: Option<i64>,
}

impl Page {
    fn of(page: Option<i64>, per_page: Option<i64>) -> Page {
        Page { page, per_page }
    }

    fn limit_offset(&self) -> (i64, i64) {
        let per = self.per_page.unwrap_or(50).clamp(1, 500);
        // A page past any table's end: no overflow computing its offset.
        let page = self.page.unwrap_or(1).clamp(1, i64::MAX / 1000);
        (per, (page - 1) * per)
    }
}

fn paged(items: impl serde::Serialize, total: i64, page: &Page) -> ApiResult {
    let (per, offset) = page.limit_offset();
    ok(json!({"items": items, "total": total, "page": offset / per + 1, "per_page": per}))
}

fn utf8(bytes: &Bytes, what: &str) -> Result<String, ApiError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        ApiError(ServiceError::invalid(vec![haechi_core::FieldError::new(
            what,
            format!("is not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )]))
    })
}

/// The refusals the HTTP layer answers in plain text (a path parameter not of its type, a method
/// the path does not take, a query string or body the extractor refuses) are given the API's JSON
/// error format like every other refusal, keeping their status and `Allow` header.
pub async fn json_refusals(req: Request, next: axum::middleware::Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !status.is_client_error() || is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_input",
        _ => "refused",
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("refused").to_string()
    } else {
        text
    };
    let mut out = bad_request(code, status, message);
    for name in [header::ALLOW, header::WWW_AUTHENTICATE] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

/// The media types evidence files are stored and served under; anything else is served as
/// `application/octet-stream` (a browser never renders an uploaded file as HTML or script).
pub const EVIDENCE_MEDIA_TYPES: &[&str] = &[
    "application/pdf",
    "image/png",
    "image/jpeg",
    "text/plain",
    "text/csv",
    "application/json",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/x-hwp",
    "application/octet-stream",
];

/// The media type an evidence file is stored and served under (see [`EVIDENCE_MEDIA_TYPES`]).
pub fn evidence_media_type(given: &str) -> &'static str {
    let essence = given
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    EVIDENCE_MEDIA_TYPES
        .iter()
        .find(|t| **t == essence)
        .copied()
        .unwrap_or("application/octet-stream")
}

pub async fn not_found() -> Response {
    bad_request("not_found", StatusCode::NOT_FOUND, "no such resource")
}

pub async fn readyz(State(st): State<AppState>) -> Response {
    match st.svc.store().ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

// ---------------------------------------------------------------- handlers

async fn me(Authed(a): Authed) -> ApiResult {
    ok(a)
}

async fn dashboard(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.dashboard(&a).await?)
}

async fn policy_current(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    let v = st.svc.policy().version;
    let (row, toml) = st.svc.policy_version(&a, v).await?;
    ok(json!({"version": row, "toml": toml}))
}

async fn policy_load(
    State(st): State<AppState>,
    Authed(a): Authed,
    RawBody(body): RawBody,
) -> ApiResult {
    let text = utf8(&body, "policy")?;
    let version = st.svc.load_policy(&a, &text).await?;
    created(json!({"version": version}))
}

async fn policy_check(Authed(_a): Authed, RawBody(body): RawBody) -> ApiResult {
    let text = utf8(&body, "policy")?;
    match haechi_policy::Policy::from_toml_str(&text) {
        Ok(_) => ok(json!({"valid": true})),
        Err(e) => Err(ApiError(ServiceError::Policy(e))),
    }
}

async fn policy_versions(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.policy_versions(&a).await?)
}

async fn policy_version(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(version): Path<i64>,
) -> ApiResult {
    let (row, toml) = st.svc.policy_version(&a, version).await?;
    ok(json!({"version": row, "toml": toml}))
}

#[derive(Debug, Deserialize)]
struct InstitutionQuery {
    search: Option<String>,
    sector: Option<String>,
    eligible: Option<bool>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn institutions_list(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<InstitutionQuery>,
) -> ApiResult {
    let (limit, offset) = Page::of(q.page, q.per_page).limit_offset();
    let f = InstitutionFilter {
        search: q.search,
        sector: q.sector,
        eligible: q.eligible,
        limit,
        offset,
    };
    let (items, total) = st.svc.list_institutions(&a, &f).await?;
    paged(items, total, &Page::of(q.page, q.per_page))
}

async fn institutions_create(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiJson(input): ApiJson<InstitutionInput>,
) -> ApiResult {
    created(st.svc.create_institution(&a, input).await?)
}

async fn institutions_get(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.get_institution(&a, id).await?)
}

async fn institutions_overview(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.institution_overview(&a, id).await?)
}

async fn institutions_update(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<InstitutionInput>,
) -> ApiResult {
    ok(st.svc.update_institution(&a, id, input).await?)
}

async fn institutions_import(
    State(st): State<AppState>,
    Authed(a): Authed,
    RawBody(body): RawBody,
) -> ApiResult {
    ok(st.svc.import_institutions_csv(&a, &body).await?)
}

async fn institutions_export(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    let csv = st.svc.export_institutions_csv(&a).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"institutions.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

#[derive(Debug, Deserialize, Default)]
struct ScreenRequest {
    institution_id: Option<i64>,
}

async fn eligibility_screen(
    State(st): State<AppState>,
    Authed(a): Authed,
    RawBody(body): RawBody,
) -> ApiResult {
    let req: ScreenRequest = optional_json(&body)?;
    let results = st.svc.screen(&a, req.institution_id).await?;
    let eligible = results.iter().filter(|r| r.eligible).count();
    ok(json!({"screened": results.len(), "eligible": eligible, "results": results}))
}

#[derive(Debug, Deserialize)]
struct EligibleQuery {
    eligible: Option<bool>,
}

async fn eligibility_results(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<EligibleQuery>,
) -> ApiResult {
    let mut results = st.svc.screening_results(&a).await?;
    if let Some(e) = q.eligible {
        results.retain(|r| r.eligible == e);
    }
    ok(results)
}

#[derive(Debug, Deserialize)]
struct ApplicationQuery {
    state: Option<String>,
    institution_id: Option<i64>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn applications_list(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<ApplicationQuery>,
) -> ApiResult {
    let state = match q.state.as_deref() {
        Some(s) => Some(ApplicationState::parse(s).ok_or_else(|| {
            ApiError(ServiceError::invalid(vec![haechi_core::FieldError::new(
                "state",
                format!("unknown state '{s}'"),
            )]))
        })?),
        None => None,
    };
    let (limit, offset) = Page::of(q.page, q.per_page).limit_offset();
    let f = ApplicationFilter {
        institution_id: q.institution_id,
        state,
        advisor_id: None,
        limit,
        offset,
    };
    let (items, total) = st.svc.list_applications(&a, f).await?;
    paged(items, total, &Page::of(q.page, q.per_page))
}

async fn applications_create(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiJson(c): ApiJson<ApplicationContent>,
) -> ApiResult {
    created(st.svc.create_application(&a, c).await?)
}

async fn applications_get(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.get_application(&a, id).await?)
}

async fn applications_update(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(c): ApiJson<ApplicationContent>,
) -> ApiResult {
    ok(st.svc.update_application(&a, id, c).await?)
}

#[derive(Debug, Deserialize)]
struct TransitionRequest {
    action: ApplicationAction,
    comment: Option<String>,
    /// Approving a failed evaluation: the explicit override reason.
    override_reason: Option<String>,
}

async fn applications_transition(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(t): ApiJson<TransitionRequest>,
) -> ApiResult {
    ok(st
        .svc
        .transition_with_override(
            &a,
            id,
            t.action,
            t.comment.as_deref(),
            t.override_reason.as_deref(),
        )
        .await?)
}

#[derive(Debug, Deserialize)]
struct FilenameQuery {
    filename: Option<String>,
}

async fn attachments_upload(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<FilenameQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult {
    let ct = evidence_media_type(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    );
    let name = q.filename.unwrap_or_default();
    created(st.svc.add_attachment(&a, id, &name, ct, &body).await?)
}

async fn attachments_get(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    let (meta, data) = st.svc.get_attachment(&a, id).await?;
    let disposition = format!(
        "attachment; filename=\"{}\"",
        meta.filename.replace(['"', '\\', '\r', '\n'], "_")
    );
    let mut resp = data.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(evidence_media_type(&meta.content_type)),
    );
    if let Ok(v) = disposition.parse() {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = meta.sha256.parse() {
        h.insert("x-content-sha256", v);
    }
    Ok(resp)
}

#[derive(Debug, Deserialize)]
struct AssignRequest {
    advisor_id: i64,
}

async fn reviewers_assign(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<AssignRequest>,
) -> ApiResult {
    created(st.svc.assign_reviewer(&a, id, r.advisor_id).await?)
}

#[derive(Debug, Deserialize)]
struct RemoveReviewerRequest {
    advisor_id: i64,
    reason: String,
    replacement: Option<i64>,
}

async fn reviewers_remove(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<RemoveReviewerRequest>,
) -> ApiResult {
    ok(st
        .svc
        .remove_reviewer(&a, id, r.advisor_id, &r.reason, r.replacement)
        .await?)
}

#[derive(Debug, Deserialize)]
struct CohortMemberRequest {
    application_id: i64,
    reason: String,
}

async fn phase_add_member(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(phase): Path<String>,
    ApiJson(r): ApiJson<CohortMemberRequest>,
) -> ApiResult {
    ok(st
        .svc
        .add_to_cohort(&a, &phase, r.application_id, &r.reason)
        .await?)
}

#[derive(Debug, Deserialize)]
struct ConflictRequest {
    conflict: bool,
    note: Option<String>,
}

async fn reviews_conflict(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ConflictRequest>,
) -> ApiResult {
    ok(st
        .svc
        .declare_conflict(&a, id, r.conflict, r.note.as_deref())
        .await?)
}

#[derive(Debug, Deserialize)]
struct ScoresRequest {
    scores: Vec<ScoreInput>,
    #[serde(default)]
    submit: bool,
}

async fn reviews_scores(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ScoresRequest>,
) -> ApiResult {
    ok(st.svc.save_scores(&a, id, &r.scores, r.submit).await?)
}

async fn reviews_mine(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.my_assignments(&a).await?)
}

async fn advisors_list(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.list_advisors(&a).await?)
}

async fn phase_plan(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(phase): Path<String>,
) -> ApiResult {
    ok(st.svc.plan_cohort(&a, &phase).await?)
}

#[derive(Debug, Deserialize, Default)]
struct ConfirmRequest {
    expected: Option<Vec<i64>>,
}

async fn phase_confirm(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(phase): Path<String>,
    RawBody(body): RawBody,
) -> ApiResult {
    let r: ConfirmRequest = optional_json(&body)?;
    created(
        st.svc
            .confirm_cohort(&a, &phase, r.expected.as_deref())
            .await?,
    )
}

async fn cohorts_list(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.list_cohorts(&a).await?)
}

#[derive(Debug, Deserialize)]
struct AuditQuery {
    entity: Option<String>,
    entity_id: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    institution_id: Option<i64>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn audit_list(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult {
    let (limit, offset) = Page::of(q.page, q.per_page).limit_offset();
    let f = AuditFilter {
        entity: q.entity,
        entity_id: q.entity_id,
        actor_name: q.actor,
        action: q.action,
        institution_id: q.institution_id,
        limit,
        offset,
    };
    let (items, total) = st.svc.audit_log(&a, &f).await?;
    paged(items, total, &Page::of(q.page, q.per_page))
}

async fn audit_verify(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.verify_audit(&a).await?)
}

#[derive(Debug, Deserialize)]
struct RoleQuery {
    role: Option<String>,
}

async fn users_list(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<RoleQuery>,
) -> ApiResult {
    let role = q.role.as_deref().and_then(Role::parse);
    ok(st.svc.list_users(&a, role).await?)
}

#[derive(Debug, Deserialize)]
struct NewUserRequest {
    username: String,
    display_name: String,
    role: Role,
    institution_id: Option<i64>,
}

async fn users_create(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiJson(u): ApiJson<NewUserRequest>,
) -> ApiResult {
    created(
        st.svc
            .create_user(&a, &u.username, &u.display_name, u.role, u.institution_id)
            .await?,
    )
}

#[derive(Debug, Deserialize)]
struct UserActiveRequest {
    active: bool,
}

async fn users_active(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<UserActiveRequest>,
) -> ApiResult {
    ok(st.svc.set_user_active(&a, id, r.active).await?)
}

#[derive(Debug, Deserialize)]
struct PasswordResetRequest {
    /// Must be true: a reset ends the user's sessions.
    confirm: bool,
}

async fn users_password_reset(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<PasswordResetRequest>,
) -> ApiResult {
    // Who may reset, and whether the user exists, is answered before the body is.
    st.svc.user_account(&a, id).await?;
    if !r.confirm {
        return Err(
            haechi_service::ServiceError::invalid(vec![haechi_core::FieldError::new(
                "confirm",
                "must be true: the reset ends the user's sessions",
            )])
            .into(),
        );
    }
    ok(json!({ "password": st.svc.reset_password(&a, id).await? }))
}

#[derive(Debug, Deserialize)]
struct UserRoleRequest {
    role: haechi_core::Role,
    institution_id: Option<i64>,
}

async fn users_role(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<UserRoleRequest>,
) -> ApiResult {
    ok(st
        .svc
        .change_user_role(&a, id, r.role, r.institution_id)
        .await?)
}

#[derive(Debug, Deserialize)]
struct TokenRequest {
    label: String,
}

async fn users_token(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(t): ApiJson<TokenRequest>,
) -> ApiResult {
    let token = st.svc.issue_token(&a, id, &t.label).await?;
    created(json!({"token": token, "note": "shown once; store it now"}))
}

/// The OpenAPI `requestBody` of a route: every media type it takes, with its schema.
pub fn body_schema(kind: BodyKind) -> Option<Value> {
    let schema = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let binary = json!({"type": "string", "format": "binary"});
    let (required, content) = match kind {
        BodyKind::None => return None,
        BodyKind::Json(name) => (true, json!({"application/json": {"schema": schema(name)}})),
        BodyKind::OptionalJson(name) => {
            (false, json!({"application/json": {"schema": schema(name)}}))
        }
        BodyKind::Csv => (
            true,
            json!({"text/csv": {"schema": {"type": "string", "description": "UTF-8 CSV with a header row"}}}),
        ),
        BodyKind::Toml => (
            true,
            json!({"application/toml": {"schema": {"type": "string", "description": "a policy in TOML"}}}),
        ),
        BodyKind::Binary => (
            true,
            json!({"application/octet-stream": {"schema": binary}}),
        ),
        // The log is read after the upload is accepted (202): one that is not SARIF 2.1.0 fails
        // the import, which its state then says.
        BodyKind::Sarif => {
            let sarif = json!({"description": "a SARIF 2.1.0 log (a JSON object with `version` \"2.1.0\" and `runs`)"});
            (
                true,
                json!({
                    "application/sarif+json": {"schema": sarif},
                    "application/json": {"schema": sarif},
                    "application/gzip": {"schema": binary}
                }),
            )
        }
        BodyKind::CycloneDx => (
            true,
            json!({
                "application/vnd.cyclonedx+json": {"schema": schema("CycloneDxBom")},
                "application/json": {"schema": schema("CycloneDxBom")}
            }),
        ),
        // Any bytes are checked: what is not a well-formed signed letter is answered with the
        // outcome `malformed`, not refused.
        BodyKind::LetterFile => (
            false,
            json!({"application/json": {"schema": {"description": "a signed letter file as downloaded (SignedLetter); anything else is reported as malformed"}}}),
        ),
    };
    Some(json!({"required": required, "content": content}))
}

// ---------------------------------------------------------------- letters and obligations

async fn letters_list(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.list_letters(&a).await?)
}

async fn letters_get(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    let row = st.svc.get_letter(&a, id).await?;
    let obligations = st.svc.obligations(&a, Some(id)).await?;
    let content = st.svc.letter_content(&a, id).await?;
    ok(json!({"letter": row, "content": content, "obligations": obligations}))
}

async fn letters_issue(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.issue_letter(&a, id).await?)
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReasonRequest {
    pub(crate) reason: String,
}

async fn letters_revoke(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ReasonRequest>,
) -> ApiResult {
    ok(st.svc.revoke_letter(&a, id, &r.reason).await?)
}

async fn letters_renew(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    created(st.svc.renew_letter(&a, id).await?)
}

async fn letters_hand_over(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ReasonRequest>,
) -> ApiResult {
    st.svc.hand_over_to_full_removal(&a, id, &r.reason).await?;
    ok(json!({"handed_over": true}))
}

async fn letters_file(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    let (row, _, file) = st.svc.signed_letter(&a, id).await?;
    let name = format!(
        "attachment; filename=\"{}.json\"",
        row.letter_number.unwrap_or_default()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        file,
    )
        .into_response())
}

async fn letters_pdf(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    let (row, signed, _) = st.svc.signed_letter(&a, id).await?;
    let pdf = haechi_letter::render_pdf(&signed)
        .map_err(|e| ApiError(ServiceError::rule("render_failed", e.to_string())))?;
    let name = format!(
        "inline; filename=\"{}.pdf\"",
        row.letter_number.unwrap_or_default()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, name),
        ],
        pdf,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

async fn letters_print(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiQuery(q): ApiQuery<LangQuery>,
) -> ApiResult {
    let lang = match q.lang.as_deref() {
        None | Some("ko") => haechi_letter::Lang::Ko,
        Some("en") => haechi_letter::Lang::En,
        Some(other) => {
            return Err(ApiError(ServiceError::invalid(vec![
                haechi_core::FieldError::new("lang", format!("'{other}' is not ko or en")),
            ])))
        }
    };
    let (_, signed, _) = st.svc.signed_letter(&a, id).await?;
    Ok(axum::response::Html(haechi_letter::render_html(
        &signed.letter,
        Some(&signed.signature),
        lang,
    ))
    .into_response())
}

#[derive(Debug, Deserialize)]
struct NumberQuery {
    number: Option<String>,
}

async fn letters_verify(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<NumberQuery>,
    RawBody(body): RawBody,
) -> ApiResult {
    let check = match q.number.as_deref().filter(|n| !n.trim().is_empty()) {
        Some(n) => st.svc.verify_letter_number(n).await?,
        None => st.svc.verify_letter_file(&body).await?,
    };
    ok(check)
}

#[derive(Debug, Deserialize)]
struct LetterIdQuery {
    letter_id: Option<i64>,
}

async fn obligations_list(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<LetterIdQuery>,
) -> ApiResult {
    ok(st.svc.obligations(&a, q.letter_id).await?)
}

#[derive(Debug, Deserialize, Default)]
struct NoteRequest {
    note: Option<String>,
}

async fn obligations_submit(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<NoteRequest>,
) -> ApiResult {
    st.svc.submit_obligation(&a, id, r.note.as_deref()).await?;
    ok(json!({"status": "submitted"}))
}

#[derive(Debug, Deserialize)]
struct ObligationDecision {
    accept: bool,
    note: Option<String>,
}

async fn obligations_decide(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ObligationDecision>,
) -> ApiResult {
    st.svc
        .decide_obligation(&a, id, r.accept, r.note.as_deref())
        .await?;
    ok(json!({"status": if r.accept { "accepted" } else { "returned" }}))
}

async fn compliance_flags(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.compliance_flags(&a).await?)
}

async fn notifications_list(State(st): State<AppState>, Authed(a): Authed) -> ApiResult {
    ok(st.svc.notifications(&a).await?)
}

// ---------------------------------------------------------------- resources and findings (C11, C12)

#[derive(Debug, Deserialize, Default)]
struct InstitutionIdQuery {
    institution_id: Option<i64>,
}

async fn resources_list(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<InstitutionIdQuery>,
) -> ApiResult {
    ok(st.svc.list_resources(&a, q.institution_id).await?)
}

#[derive(Debug, Deserialize)]
struct ResourceRequest {
    institution_id: Option<i64>,
    #[serde(flatten)]
    input: haechi_service::findings::ResourceInput,
}

/// The institution a request acts on: the one named, else the caller's own. A role that may not
/// take the action at all is refused as such (403) before it is asked to name an institution.
pub(crate) fn institution_of(
    a: &haechi_core::Actor,
    asked: Option<i64>,
    action: haechi_service::authz::Action,
) -> Result<i64, ApiError> {
    haechi_service::authz::authorize(a, action)?;
    asked.or(a.institution_id).ok_or_else(|| {
        ApiError(ServiceError::invalid(vec![haechi_core::FieldError::new(
            "institution_id",
            "name the institution",
        )]))
    })
}

async fn resources_create(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiJson(r): ApiJson<ResourceRequest>,
) -> ApiResult {
    let inst = institution_of(
        &a,
        r.institution_id,
        haechi_service::authz::Action::ManageFindings,
    )?;
    created(st.svc.create_resource(&a, inst, r.input).await?)
}

async fn resources_import(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<InstitutionIdQuery>,
    RawBody(body): RawBody,
) -> ApiResult {
    let inst = institution_of(
        &a,
        q.institution_id,
        haechi_service::authz::Action::ManageFindings,
    )?;
    ok(st.svc.import_resources_csv(&a, inst, &body).await?)
}

async fn resources_reclassify(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<InstitutionIdQuery>,
) -> ApiResult {
    ok(st
        .svc
        .reclassify_resources(&a, q.institution_id.or(a.institution_id))
        .await?)
}

async fn resources_get(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.get_resource(&a, id).await?)
}

async fn resources_update(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<haechi_service::findings::ResourceInput>,
) -> ApiResult {
    ok(st.svc.update_resource(&a, id, input).await?)
}

async fn resources_components(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    RawBody(body): RawBody,
) -> ApiResult {
    let n = st.svc.import_components(&a, id, &body[..]).await?;
    ok(json!({"components": n}))
}

#[derive(Debug, Deserialize, Default)]
struct FindingQuery {
    institution_id: Option<i64>,
    severity: Option<String>,
    status: Option<String>,
    cwe: Option<String>,
    resource_id: Option<i64>,
    tool: Option<String>,
    ai_model: Option<String>,
    ai_origin: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn findings_list(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<FindingQuery>,
) -> ApiResult {
    let page = Page {
        page: q.page,
        per_page: q.per_page,
    };
    let (limit, offset) = page.limit_offset();
    let cwe = match q.cwe.as_deref().map(|c| {
        c.trim()
            .trim_start_matches("CWE-")
            .trim_start_matches("cwe-")
    }) {
        None | Some("") => None,
        Some(c) => Some(c.parse::<u32>().map_err(|_| {
            ApiError(ServiceError::invalid(vec![haechi_core::FieldError::new(
                "cwe",
                format!("'{c}' is not a CWE number"),
            )]))
        })?),
    };
    let filter = haechi_store::FindingFilter {
        institution_id: q.institution_id,
        severity: q.severity.filter(|s| !s.is_empty()),
        status: q.status.filter(|s| !s.is_empty()),
        cwe,
        resource_id: q.resource_id,
        tool: q.tool.filter(|s| !s.is_empty()),
        ai_model: q.ai_model.filter(|s| !s.is_empty()),
        ai_origin: match q.ai_origin.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(o @ ("ai_generated" | "ai_annotated" | "conventional")) => Some(o.to_string()),
            Some(o) => {
                return Err(ApiError(ServiceError::invalid(vec![
                    haechi_core::FieldError::new(
                        "ai_origin",
                        format!("'{o}' is not one of ai_generated, ai_annotated, conventional"),
                    ),
                ])))
            }
        },
        limit,
        offset,
        ..Default::default()
    };
    let (items, total) = st.svc.list_findings(&a, &filter).await?;
    // The total is counted up to a cap; `total_capped` says that more than `total` match.
    ok(json!({
        "items": items,
        "total": total.count,
        "total_capped": total.capped,
        "page": offset / limit + 1,
        "per_page": limit,
    }))
}

async fn findings_get(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.get_finding(&a, id).await?)
}

async fn findings_transition(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
    ApiJson(t): ApiJson<haechi_service::findings::FindingTransition>,
) -> ApiResult {
    ok(st.svc.transition_finding(&a, id, &t).await?)
}

async fn finding_imports_list(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<InstitutionIdQuery>,
) -> ApiResult {
    ok(st.svc.finding_imports(&a, q.institution_id).await?)
}

async fn finding_imports_get(
    State(st): State<AppState>,
    Authed(a): Authed,
    Path(id): Path<i64>,
) -> ApiResult {
    ok(st.svc.finding_import(&a, id).await?)
}

#[derive(Debug, Deserialize, Default)]
struct UploadQuery {
    institution_id: Option<i64>,
    resource_id: Option<i64>,
    close_missing: Option<bool>,
    filename: Option<String>,
    ai_model: Option<String>,
    ai_model_version: Option<String>,
    /// `PREFIX=RESOURCE` pairs separated by commas: findings under a path prefix or host go to
    /// that resource (id or name).
    map: Option<String>,
}

/// Queues the import, streams the body to a temporary file (its bytes counted as the import's
/// progress), answers 202 with the import id and runs the ingestion in a spawned task.
async fn finding_imports_upload(
    State(st): State<AppState>,
    Authed(a): Authed,
    ApiQuery(q): ApiQuery<UploadQuery>,
    body: axum::body::Body,
) -> ApiResult {
    use http_body_util::BodyExt;
    use tokio::io::AsyncWriteExt;
    let max = haechi_service::findings::MAX_FINDINGS_FILE_BYTES;
    let upload = haechi_service::findings::FindingsUpload {
        institution_id: institution_of(
            &a,
            q.institution_id,
            haechi_service::authz::Action::ManageFindings,
        )?,
        resource_id: q.resource_id,
        close_missing: q.close_missing.unwrap_or(false),
        file_name: q.filename,
        ai_model: q.ai_model,
        ai_model_version: q.ai_model_version,
        resource_map: haechi_service::findings::parse_resource_map(q.map.as_deref().unwrap_or(""))
            .map_err(ApiError)?,
    };
    let id = st
        .svc
        .queue_findings_import(&a, &upload, None, None)
        .await?;
    let counter = st.svc.import_byte_counter(id);
    let path = crate::spool::path("findings", &id.to_string());
    let failed = |msg: String| ApiError(ServiceError::rule("upload_failed", msg));
    let mut file = match tokio::fs::File::create(&path).await {
        Ok(f) => f,
        Err(e) => {
            let msg = format!("cannot store the upload: {e}");
            st.svc
                .abandon_findings_import(&a, id, "upload_failed", &msg)
                .await;
            return Err(failed(msg));
        }
    };
    let mut body = body;
    let mut size: u64 = 0;
    let mut too_large = false;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                // The import ends as failed now rather than at its lease's end.
                let msg = format!("the upload was interrupted: {e}");
                drop(file);
                let _ = tokio::fs::remove_file(&path).await;
                st.svc
                    .abandon_findings_import(&a, id, "upload_failed", &msg)
                    .await;
                return Err(failed(msg));
            }
        };
        if let Ok(data) = frame.into_data() {
            size += data.len() as u64;
            if size > max {
                too_large = true;
                break;
            }
            if let Some(c) = &counter {
                c.store(size, std::sync::atomic::Ordering::Relaxed);
            }
            if let Err(e) = file.write_all(&data).await {
                let msg = format!("cannot store the upload: {e}");
                drop(file);
                let _ = tokio::fs::remove_file(&path).await;
                st.svc
                    .abandon_findings_import(&a, id, "upload_failed", &msg)
                    .await;
                return Err(failed(msg));
            }
        }
    }
    drop(file);
    if too_large {
        let _ = tokio::fs::remove_file(&path).await;
        // The queued import ends as failed (an empty log), with nothing stored.
        let _ = st
            .svc
            .run_findings_import(&a, id, std::io::Cursor::new(Vec::new()))
            .await;
        return Err(ApiError(ServiceError::TooLarge(format!(
            "the findings file is larger than {max} bytes"
        ))));
    }
    let svc = st.svc.clone();
    tokio::spawn(async move {
        match std::fs::File::open(&path) {
            Ok(f) => {
                if let Err(e) = svc
                    .run_findings_import(&a, id, std::io::BufReader::with_capacity(256 * 1024, f))
                    .await
                {
                    tracing::info!(import = id, error = %e, "findings import failed");
                }
            }
            Err(e) => {
                tracing::warn!(import = id, error = %e, "cannot reopen an uploaded findings file")
            }
        }
        let _ = std::fs::remove_file(&path);
    });
    Ok((StatusCode::ACCEPTED, Json(json!({"import_id": id, "state": "queued", "bytes": size, "status": format!("/api/v1/findings/imports/{id}")}))).into_response())
}
