//! The authorisation matrix: every route of the API and of the portal, for every role, allowed or
//! denied as SPEC §2 says, and another institution's records answering "not found".
//!
//! The expected decisions below are written out by hand from SPEC §2, independently of the role
//! table in `haechi_service::authz` that they check. A route added to `api_routes()` or
//! `portal_routes()` without a row here fails `every_route_has_a_row`.
//!
//! "Allowed" means the request got past authorisation: any status but 401, 403 and 404 (a probe
//! body may well be refused as invalid, 422, which changes nothing). "Denied" means 403 (the role
//! may not) or 404 (the record is outside the user's reach).

use std::collections::BTreeMap;

use axum::http::Method;
use haechi_core::Actor;
use serde_json::json;

use super::*;

/// Role letters: A regulator admin, O officer, N analyst, S support center, V advisor,
/// C CISO, T security staff, U auditor. `*` is everyone signed in.
const ROLES: &[(char, &str)] = &[
    ('A', "admin"),
    ('O', "officer"),
    ('N', "analyst"),
    ('S', "support"),
    ('V', "advisor1"),
    ('C', "ciso.hanbit"),
    ('T', "staff.hanbit"),
    ('U', "auditor"),
];

/// What a probe request carries.
#[derive(Clone, Copy)]
enum Probe {
    Empty,
    Json(&'static str),
    /// The hanbit institution's own registry input, as JSON.
    InstitutionInput,
    /// A valid computing resource, as JSON.
    ResourceInput,
    Raw(&'static str),
    /// A urlencoded form (the session's CSRF token is added).
    Form(&'static [(&'static str, &'static str)]),
    /// A multipart form with no file (CSRF first).
    Multipart,
}

struct Row {
    method: &'static str,
    path: &'static str,
    allow: &'static str,
    /// The record belongs to an institution (or is an advisor's assignment): institution users
    /// (and advisors) asking for another one's get 404.
    tenant: bool,
    probe: Probe,
}

const fn r(
    method: &'static str,
    path: &'static str,
    allow: &'static str,
    tenant: bool,
    probe: Probe,
) -> Row {
    Row {
        method,
        path,
        allow,
        tenant,
        probe,
    }
}

use Probe::*;

const REG_READ: &str = "AONSU";

/// The API (bearer tokens).
const API: &[Row] = &[
    r("GET", "/api/v1/me", "*", false, Empty),
    r("GET", "/api/v1/dashboard", REG_READ, false, Empty),
    r("GET", "/api/v1/policy", "*", false, Empty),
    r("POST", "/api/v1/policy", "A", false, Raw("not = [valid")),
    r("POST", "/api/v1/policy/check", "*", false, Raw("not = [valid")),
    r("GET", "/api/v1/policy/versions", "*", false, Empty),
    r("GET", "/api/v1/policy/versions/{version}", "*", false, Empty),
    r("GET", "/api/v1/institutions", REG_READ, false, Empty),
    r("POST", "/api/v1/institutions", "AO", false, InstitutionInput),
    r("POST", "/api/v1/institutions/import", "AO", false, Raw("code\n")),
    r("GET", "/api/v1/institutions/export", REG_READ, false, Empty),
    r("GET", "/api/v1/institutions/{id}", "AONSUCT", true, Empty),
    r("GET", "/api/v1/institutions/{id}/overview", REG_READ, false, Empty),
    r("PUT", "/api/v1/institutions/{id}", "AO", false, InstitutionInput),
    r("POST", "/api/v1/eligibility/screen", "AO", false, Json("{}")),
    r("GET", "/api/v1/eligibility", REG_READ, false, Empty),
    r("GET", "/api/v1/applications", "AOUCTV", false, Empty),
    r("POST", "/api/v1/applications", "CT", false, Json("{}")),
    r("GET", "/api/v1/applications/{id}", "AOUCTV", true, Empty),
    r("PUT", "/api/v1/applications/{id}", "CT", true, Json("{}")),
    // Approving is the officer's; whether the state allows it is a later question (409).
    r("POST", "/api/v1/applications/{id}/transitions", "AO", false, Json("{\"action\": \"approve\"}")),
    r("POST", "/api/v1/applications/{id}/attachments", "CT", true, Raw("")),
    r("GET", "/api/v1/attachments/{id}", "AOUCTV", true, Empty),
    r("POST", "/api/v1/applications/{id}/reviewers", "AO", false, Json("{\"advisor_id\": 0}")),
    r("POST", "/api/v1/applications/{id}/reviewers/remove", "AO", false, Json("{\"advisor_id\": 0, \"reason\": \"\"}")),
    r("POST", "/api/v1/applications/{id}/conflict", "V", true, Json("{\"conflict\": false}")),
    r("PUT", "/api/v1/applications/{id}/scores", "V", true, Json("{\"scores\": []}")),
    r("GET", "/api/v1/reviews", "V", false, Empty),
    // The advisory group and guidelines (C14).
    r("GET", "/api/v1/advisory/members", "AOU", false, Empty),
    r("GET", "/api/v1/advisory/members/{id}", "AOUV", true, Empty),
    r(
        "POST",
        "/api/v1/advisory/members/{id}/extend",
        "AO",
        false,
        Json("{}"),
    ),
    r(
        "POST",
        "/api/v1/advisory/members/{id}/conflicts",
        "AOV",
        true,
        Json("{\"reason\": \"\"}"),
    ),
    r(
        "GET",
        "/api/v1/applications/{id}/reviewer-proposals",
        "AOU",
        false,
        Empty,
    ),
    r("GET", "/api/v1/guidelines", "*", false, Empty),
    r("GET", "/api/v1/guidelines/{id}", "*", false, Empty),
    r(
        "POST",
        "/api/v1/guidelines/{id}/acknowledge",
        "C",
        false,
        Empty,
    ),
    r("GET", "/api/v1/advisors", "AO", false, Empty),
    r("GET", "/api/v1/phases/{phase}/plan", "AO", false, Empty),
    r("POST", "/api/v1/phases/{phase}/cohort", "AO", false, Json("{\"expected\": [0]}")),
    r("POST", "/api/v1/phases/{phase}/cohort/members", "AO", false, Json("{\"application_id\": 0, \"reason\": \"\"}")),
    r("GET", "/api/v1/cohorts", REG_READ, false, Empty),
    r("GET", "/api/v1/letters", "AONUCT", false, Empty),
    r("POST", "/api/v1/letters/verify", "*", false, Raw("{}")),
    r("GET", "/api/v1/letters/{id}", "AONUCT", true, Empty),
    r("POST", "/api/v1/letters/{id}/issue", "AO", false, Empty),
    r("POST", "/api/v1/letters/{id}/revoke", "AO", false, Json("{\"reason\": \"\"}")),
    r("POST", "/api/v1/letters/{id}/renew", "AO", false, Empty),
    r("POST", "/api/v1/letters/{id}/hand-over", "AO", false, Json("{\"reason\": \"\"}")),
    r("GET", "/api/v1/letters/{id}/file", "AONUCT", true, Empty),
    r("GET", "/api/v1/letters/{id}/pdf", "AONUCT", true, Empty),
    r("GET", "/api/v1/letters/{id}/print", "AONUCT", true, Empty),
    r("GET", "/api/v1/obligations", "AONUCT", false, Empty),
    r("POST", "/api/v1/obligations/{id}/submit", "C", true, Json("{}")),
    r("POST", "/api/v1/obligations/{id}/decision", "AO", false, Json("{\"accept\": true}")),
    // Reports (C7): the institution writes and submits its own, the regulator side reads them
    // (with their files and PDF), the officer decides.
    r("GET", "/api/v1/reports", "AONUCT", false, Empty),
    r("GET", "/api/v1/reports/{id}", "AONUCT", true, Empty),
    r("POST", "/api/v1/reports/{id}/compile", "CT", true, Empty),
    r("PUT", "/api/v1/reports/{id}/narrative", "CT", true, Json("{}")),
    r("POST", "/api/v1/reports/{id}/submit", "C", true, Empty),
    r("POST", "/api/v1/reports/{id}/decision", "AO", false, Json("{\"accept\": true}")),
    r("POST", "/api/v1/reports/{id}/attachments", "CT", true, Raw("")),
    r("DELETE", "/api/v1/report-files/{id}", "CT", true, Empty),
    r("GET", "/api/v1/report-files/{id}", "AONUCT", true, Empty),
    r("GET", "/api/v1/reports/{id}/pdf", "AONUCT", true, Empty),
    r("GET", "/api/v1/compliance-flags", "AONU", false, Empty),
    r("GET", "/api/v1/notifications", "*", false, Empty),
    // The response team and the full-removal track (C14).
    r("GET", "/api/v1/response-team/members", "AONSUCT", false, Empty),
    r("POST", "/api/v1/response-team/members", "AO", false, Json("{\"organisation\": \"\"}")),
    r("GET", "/api/v1/challenges", "AONSUCT", false, Empty),
    r("POST", "/api/v1/challenges", "CT", false, Json("{\"title\": \"\", \"description\": \"\"}")),
    r("GET", "/api/v1/challenges/{id}", "AONSUCT", true, Empty),
    r("POST", "/api/v1/challenges/{id}/update", "AO", false, Json("{\"status\": \"\"}")),
    r("GET", "/api/v1/checkins", "AONSU", false, Empty),
    r("POST", "/api/v1/checkins", "AO", false, Json("{}")),
    r("POST", "/api/v1/checkins/{id}/actions", "AO", false, Json("{\"description\": \"\"}")),
    r("GET", "/api/v1/removal", "AOU", false, Empty),
    r("GET", "/api/v1/removal/{id}", "AOU", false, Empty),
    r("POST", "/api/v1/removal/{id}/decision", "AO", false, Json("{\"step\": \"\"}")),
    r("GET", "/api/v1/resources", "CTU", false, Empty),
    r("POST", "/api/v1/resources", "CT", false, ResourceInput),
    r("POST", "/api/v1/resources/import", "CT", false, Raw("")),
    r("POST", "/api/v1/resources/reclassify", "CT", false, Empty),
    r("GET", "/api/v1/resources/{id}", "CTU", true, Empty),
    r("PUT", "/api/v1/resources/{id}", "CT", true, ResourceInput),
    r("POST", "/api/v1/resources/{id}/components", "CT", true, Raw("{}")),
    r("GET", "/api/v1/findings", "CTU", false, Empty),
    r("GET", "/api/v1/findings/imports", "CTU", false, Empty),
    r("POST", "/api/v1/findings/imports", "CT", false, Raw("{}")),
    r("GET", "/api/v1/findings/imports/{id}", "CTU", true, Empty),
    r("GET", "/api/v1/findings/{id}", "CTU", true, Empty),
    r("POST", "/api/v1/findings/{id}/transitions", "CT", true, Json("{\"status\": \"nonsense\"}")),
    r("GET", "/api/v1/audit", "AU", false, Empty),
    r("GET", "/api/v1/audit/verify", "AU", false, Empty),
    r("GET", "/api/v1/users", "A", false, Empty),
    r("POST", "/api/v1/users", "A", false, Json("{\"username\": \"x\", \"display_name\": \"x\", \"role\": \"analyst\"}")),
    r("POST", "/api/v1/users/{id}/tokens", "A", false, Json("{\"label\": \"\"}")),
    // User 1 is the admin: enabling oneself changes nothing, a reset needs confirm, and one's
    // own role cannot change (409).
    r("POST", "/api/v1/users/{id}/active", "A", false, Json("{\"active\": true}")),
    r("POST", "/api/v1/users/{id}/password", "A", false, Json("{\"confirm\": false}")),
    r("POST", "/api/v1/users/{id}/role", "A", false, Json("{\"role\": \"regulator_admin\"}")),
    // Threat feeds and emergency advisories (C13): the regulator side loads and publishes;
    // what is loaded is no secret to anyone signed in.
    r("GET", "/api/v1/feeds", "*", false, Empty),
    r("POST", "/api/v1/feeds/{kind}", "AO", false, Raw("")),
    r("GET", "/api/v1/cves/{cve}", "*", false, Empty),
    r("GET", "/api/v1/advisories", "*", false, Empty),
    r("POST", "/api/v1/advisories", "AO", false, Json("{\"title_ko\": \"\", \"title_en\": \"\", \"published_on\": \"2026-11-01\", \"cves\": []}")),
    r("GET", "/api/v1/advisories/{id}", "*", false, Empty),
    r("POST", "/api/v1/advisories/{id}/withdraw", "AO", false, Json("{\"reason\": \"\"}")),
    // All institutions (regulator side) or one's own (institution users).
    r("POST", "/api/v1/priorities/recompute", "AOCT", false, Empty),
    // The patch queue and remediation: the institution's own.
    r("GET", "/api/v1/findings/{id}/priority", "CTU", true, Empty),
    r("GET", "/api/v1/patch-queue", "CTU", false, Empty),
    r("POST", "/api/v1/patch-queue/assign", "CT", false, Json("{\"finding_ids\": []}")),
    r("GET", "/api/v1/patches", "CTU", false, Empty),
    r("POST", "/api/v1/patches", "CT", false, Json("{\"institution_id\": {inst}, \"applied\": \"\", \"applied_at\": \"2026-11-01T00:00:00\", \"applied_by\": \"\", \"finding_ids\": []}")),
    r("GET", "/api/v1/patches/{id}", "CTU", true, Empty),
    r("GET", "/api/v1/charts/burn-down", "CTU", false, Empty),
    r("GET", "/api/v1/charts/sla", "CTU", false, Empty),
    r("GET", "/api/v1/saas", "CTU", false, Empty),
    r("POST", "/api/v1/saas", "CT", false, Json("{\"institution_id\": {inst}, \"product\": \"\", \"vendor\": \"\", \"certifications\": [], \"data_classes\": [], \"users\": \"\", \"purpose\": \"\"}")),
    r("GET", "/api/v1/saas/{id}", "CTU", true, Empty),
    r("PUT", "/api/v1/saas/{id}", "CT", true, Json("{\"product\": \"\", \"vendor\": \"\", \"certifications\": [], \"data_classes\": [], \"users\": \"\", \"purpose\": \"\"}")),
    r("DELETE", "/api/v1/saas/{id}", "CT", true, Empty),
    r("POST", "/api/v1/saas/{id}/evaluations", "CT", true, Json("{\"evaluated_on\": \"2026-11-01\", \"result\": \"nonsense\"}")),
    // Evidence of a disruption report: its institution files it, its institution and the
    // regulator side read and download it; the analyst, the center and advisors never.
    r("GET", "/api/v1/disruptions/{id}/attachments", "AOUCT", true, Empty),
    r("POST", "/api/v1/disruptions/{id}/attachments", "CT", true, Raw("")),
    r("GET", "/api/v1/disruption-attachments/{id}", "AOUCT", true, Empty),
    // Funding outcome reports: the funded firm files, the regulator side and the center review.
    r("GET", "/api/v1/grants/{id}/outcomes", "AONSUCT", true, Empty),
    r("POST", "/api/v1/grants/{id}/outcomes", "CT", true, Json("{\"achieved_ko\": \"\", \"achieved_en\": \"\", \"used_krw\": 0}")),
    r("POST", "/api/v1/outcomes/{id}/attachments", "CT", true, Raw("")),
    r("POST", "/api/v1/outcomes/{id}/review", "AOS", false, Json("{\"accept\": false}")),
    r("GET", "/api/v1/outcome-attachments/{id}", "AONSUCT", true, Empty),
    // Support-center cases: firms their own, the center handles, the admin and auditor read.
    r("GET", "/api/v1/support-cases", "ASUCT", false, Empty),
    r("POST", "/api/v1/support-cases", "CT", false, Json("{\"kind\": \"other\", \"subject\": \"\", \"description\": \"\"}")),
    r("GET", "/api/v1/support-cases/{id}", "ASUCT", true, Empty),
    r("POST", "/api/v1/support-cases/{id}/steps", "SCT", true, Json("{\"step\": \"comment\", \"message\": \"\"}")),
    r("GET", "/api/v1/self-service", "*", false, Empty),
];

/// The portal's pages (session cookie; forms carry the CSRF token). Findings, resources, the
/// patch queue and the SaaS register are the institution's own: the regulator side sees none of
/// them (C9); the auditor reads them.
const PAGES: &[Row] = &[
    r("GET", "/assets/haechi.css", "*", false, Empty),
    r("GET", "/assets/haechi.js", "*", false, Empty),
    r("GET", "/lang", "*", false, Empty),
    r("GET", "/login", "*", false, Empty),
    r("POST", "/login", "*", false, Empty),
    r("POST", "/logout", "*", false, Form(&[])),
    r("GET", "/account", "*", false, Empty),
    r("POST", "/account/password", "*", false, Form(&[])),
    r("POST", "/account/tokens", "*", false, Form(&[])),
    r("POST", "/account/tokens/{id}/revoke", "*", false, Form(&[])),
    r("GET", "/", "*", false, Empty),
    // Registry and screening (C1, C2).
    r("GET", "/institutions", REG_READ, false, Empty),
    r("GET", "/institutions/export.csv", REG_READ, false, Empty),
    r("GET", "/institutions/import", "AO", false, Empty),
    r("POST", "/institutions/import", "AO", false, Multipart),
    r("GET", "/institutions/{id}", "AONSUCT", true, Empty),
    r("GET", "/screening", REG_READ, false, Empty),
    r(
        "POST",
        "/screening/run",
        "AO",
        false,
        Form(&[("institution_id", "0")]),
    ),
    // Applications and evaluation (C3, C4).
    r("GET", "/applications", "AOUCTV", false, Empty),
    r("GET", "/applications/new", "CT", false, Empty),
    r("POST", "/applications/new", "CT", false, Form(&[])),
    r("GET", "/applications/{id}", "AOUCTV", true, Empty),
    r("GET", "/applications/{id}/edit", "CT", true, Empty),
    r("POST", "/applications/{id}/edit", "CT", true, Form(&[])),
    r(
        "POST",
        "/applications/{id}/attachments",
        "CT",
        true,
        Multipart,
    ),
    r("GET", "/applications/{id}/review", "AOU", false, Empty),
    r(
        "POST",
        "/applications/{id}/reviewers",
        "AO",
        false,
        Form(&[("advisor_id", "0")]),
    ),
    // Approving is the officer's; whether the state allows it is a later question (409).
    r(
        "POST",
        "/applications/{id}/transition",
        "AO",
        false,
        Form(&[("action", "approve")]),
    ),
    // Removing or replacing an advisor is the officer's; an empty form is refused (422).
    r(
        "POST",
        "/applications/{id}/reviewers/remove",
        "AO",
        false,
        Form(&[("advisor_id", "0")]),
    ),
    r("GET", "/attachments/{id}", "AOUCTV", true, Empty),
    r("GET", "/reviews", "V", false, Empty),
    r("GET", "/reviews/{id}", "V", true, Empty),
    r("POST", "/reviews/{id}/conflict", "V", true, Form(&[])),
    r("POST", "/reviews/{id}/scores", "V", true, Form(&[])),
    // Phases (C5).
    r("GET", "/cohorts", REG_READ, false, Empty),
    r(
        "POST",
        "/cohorts/{phase}/confirm",
        "AO",
        false,
        Form(&[("expected", "0")]),
    ),
    // A late approval joins a confirmed cohort by the officer's hand; without a reason, 422.
    r(
        "POST",
        "/cohorts/{phase}/add",
        "AO",
        false,
        Form(&[("application_id", "0")]),
    ),
    // Accounts and roles: the regulator admin's. Every probe form lacks its required field
    // (or names the admin's own account), so nothing changes.
    r("GET", "/users", "A", false, Empty),
    r("POST", "/users", "A", false, Form(&[])),
    r("GET", "/users/{id}", "A", false, Empty),
    r("POST", "/users/{id}/active", "A", false, Form(&[])),
    r("POST", "/users/{id}/password", "A", false, Form(&[])),
    r("POST", "/users/{id}/role", "A", false, Form(&[])),
    // Letters (C6).
    r("GET", "/letters", "AONUCT", false, Empty),
    r("GET", "/letters/{id}", "AONUCT", true, Empty),
    r("GET", "/letters/{id}/file", "AONUCT", true, Empty),
    r("GET", "/letters/{id}/pdf", "AONUCT", true, Empty),
    r("GET", "/letters/{id}/print", "AONUCT", true, Empty),
    r("GET", "/assets/letter-print.css", "*", false, Empty),
    // The probe letter is issued: issuing it again is a 409, a revocation or hand-over without
    // a reason a 422, a renewal outside its window a 409; none changes anything.
    r("POST", "/letters/{id}/issue", "AO", false, Form(&[])),
    r(
        "POST",
        "/letters/{id}/revoke",
        "AO",
        false,
        Form(&[("reason", "")]),
    ),
    r("POST", "/letters/{id}/renew", "AO", false, Form(&[])),
    r(
        "POST",
        "/letters/{id}/hand-over",
        "AO",
        false,
        Form(&[("note", "")]),
    ),
    // Reports (C7): the institution's own, the regulator's review.
    r("GET", "/reports", "AONUCT", false, Empty),
    r("GET", "/reports/{id}", "AONUCT", true, Empty),
    r("POST", "/reports/{id}/compile", "CT", true, Form(&[])),
    r("POST", "/reports/{id}/narrative", "CT", true, Form(&[])),
    r("POST", "/reports/{id}/submit", "C", true, Form(&[])),
    r(
        "POST",
        "/reports/{id}/decision",
        "AO",
        false,
        Form(&[("decision", "accept")]),
    ),
    r("POST", "/reports/{id}/attachments", "CT", true, Multipart),
    r("POST", "/report-files/{id}/delete", "CT", true, Form(&[])),
    r("GET", "/report-files/{id}", "AONUCT", true, Empty),
    r("GET", "/reports/{id}/pdf", "AONUCT", true, Empty),
    // Sector insight (C9): the regulator's, and the institutions' anonymised view.
    r("GET", "/insight", "AONU", false, Empty),
    r("GET", "/insight/export.csv", "AONU", false, Empty),
    r("GET", "/sector", "CT", false, Empty),
    // Audit log.
    r("GET", "/audit", "AU", false, Empty),
    // Resources and findings intake (C11, C12).
    r("GET", "/resources", "CTU", false, Empty),
    r("GET", "/resources/import", "CTU", false, Empty),
    r("POST", "/resources/import", "CT", false, Multipart),
    r("POST", "/resources/components", "CT", false, Multipart),
    r("GET", "/resources/{id}", "CTU", true, Empty),
    r("GET", "/imports", "CTU", false, Empty),
    r("GET", "/imports/new", "CTU", false, Empty),
    r("POST", "/imports", "CT", false, Multipart),
    r("GET", "/imports/{id}", "CTU", true, Empty),
    r("GET", "/findings", "CTU", false, Empty),
    r("GET", "/findings/{id}", "CTU", true, Empty),
    r(
        "POST",
        "/findings/{id}/status",
        "CT",
        true,
        Form(&[("status", "nonsense")]),
    ),
    // Patch prioritisation and remediation (C13).
    r("GET", "/queue", "CTU", false, Empty),
    r("POST", "/queue/assign", "CT", false, Form(&[])),
    r("GET", "/queue/{id}", "CTU", true, Empty),
    r("GET", "/patches", "CTU", false, Empty),
    r("GET", "/patches/new", "CT", false, Empty),
    r("POST", "/patches", "CT", false, Form(&[])),
    r("GET", "/patches/charts", "CTU", false, Empty),
    r("GET", "/patches/{id}", "CTU", true, Empty),
    r("GET", "/saas", "CTU", false, Empty),
    r("GET", "/saas/new", "CT", false, Empty),
    r("POST", "/saas", "CT", false, Form(&[])),
    r("GET", "/saas/{id}", "CTU", true, Empty),
    r("POST", "/saas/{id}", "CT", true, Form(&[])),
    r("POST", "/saas/{id}/delete", "CT", true, Form(&[])),
    r("POST", "/saas/{id}/evaluations", "CT", true, Form(&[])),
    // Sanction immunity and incidents (C8): the institution files and appeals, the committee
    // (officers) decides, auditors read; a data-class breach is recorded by either side.
    r("GET", "/immunity", "AOUCT", false, Empty),
    r("GET", "/immunity/new", "CT", false, Empty),
    r("POST", "/immunity", "CT", false, Form(&[])),
    r("GET", "/immunity/{id}", "AOUCT", true, Empty),
    r(
        "POST",
        "/immunity/{id}/decision",
        "AO",
        false,
        Form(&[("decision", "grant")]),
    ),
    r("POST", "/immunity/{id}/appeal", "C", true, Form(&[])),
    r("GET", "/incidents", "AOUCT", false, Empty),
    r("GET", "/incidents/new", "AOCT", false, Empty),
    r("POST", "/incidents", "AOCT", false, Form(&[])),
    r("GET", "/incidents/{id}", "AOUCT", true, Empty),
    r("POST", "/incidents/{id}/reports", "CT", true, Form(&[])),
    // Fintech funding (C14): the support center (and the regulator admin) run calls and awards;
    // firms apply for themselves, the center on a small firm's behalf; advisors see none of it.
    // The response team (C14): everyone but advisors follows the challenges (institutions their
    // own); institutions raise them; officers manage members, challenges, check-ins and actions,
    // which the regulator side reads. Empty probe forms are refused (422), changing nothing.
    r("GET", "/response", "AONSUCT", false, Empty),
    r("POST", "/response/members", "AO", false, Form(&[])),
    r(
        "POST",
        "/response-members/{id}/retire",
        "AO",
        false,
        Form(&[]),
    ),
    r("POST", "/challenges", "CT", false, Form(&[])),
    r("GET", "/challenges/{id}", "AONSUCT", true, Empty),
    r("POST", "/challenges/{id}/update", "AO", false, Form(&[])),
    r("POST", "/checkins", "AO", false, Form(&[])),
    r("GET", "/checkins/{id}", "AONSU", false, Empty),
    r("POST", "/checkins/{id}/actions", "AO", false, Form(&[])),
    // The first role completes the probe action; the next gets a 409.
    r("POST", "/checkin-actions/{id}/done", "AO", false, Form(&[])),
    // The full-removal track: the regulator's officers decide, auditors read.
    r("GET", "/removal", "AOU", false, Empty),
    r("GET", "/removal/{id}", "AOU", false, Empty),
    r("POST", "/removal/{id}/decision", "AO", false, Form(&[])),
    r("GET", "/funding", "AONSUCT", false, Empty),
    r("POST", "/funding", "AS", false, Form(&[])),
    r("GET", "/funding/{id}", "AONSUCT", false, Empty),
    r("POST", "/funding/{id}/apply", "CTS", false, Form(&[])),
    r("POST", "/grants/{id}/decide", "AS", false, Form(&[])),
    r("POST", "/grants/{id}/cancel", "AS", false, Form(&[])),
    r("POST", "/grants/{id}/disburse", "AS", false, Form(&[])),
    // The advisory group (C14): officers and admins run it, auditors read it, an advisor sees
    // (and declares standing conflicts on) their own membership only.
    r("GET", "/advisory", "AOU", false, Empty),
    r("GET", "/advisory/me", "V", false, Empty),
    r("POST", "/advisory/members", "AO", false, Form(&[])),
    r("GET", "/advisory/members/{id}", "AOUV", true, Empty),
    r(
        "POST",
        "/advisory/members/{id}/term",
        "AO",
        false,
        Form(&[]),
    ),
    r(
        "POST",
        "/advisory/members/{id}/extend",
        "AO",
        false,
        Form(&[]),
    ),
    r(
        "POST",
        "/advisory/members/{id}/conflicts",
        "AOV",
        true,
        Form(&[]),
    ),
    r("POST", "/advisory/meetings", "AO", false, Form(&[])),
    r("GET", "/advisory/meetings/{id}", "AOU", false, Empty),
    r(
        "POST",
        "/advisory/meetings/{id}/minutes",
        "AO",
        false,
        Form(&[]),
    ),
    r("POST", "/advisory/advice", "AO", false, Form(&[])),
    // Guidelines (C14): published ones are everyone's; the regulator drafts and publishes, a
    // CISO acknowledges (the probe guideline has no draft: publishing is a 409); briefings and
    // tailored support are the regulator's and the institutions' own.
    r("GET", "/guidelines", "*", false, Empty),
    r("POST", "/guidelines", "AO", false, Form(&[])),
    r("GET", "/guidelines/{id}", "*", false, Empty),
    r("POST", "/guidelines/{id}/draft", "AO", false, Form(&[])),
    r("POST", "/guidelines/{id}/publish", "AO", false, Form(&[])),
    r(
        "POST",
        "/guidelines/{id}/acknowledge",
        "C",
        false,
        Form(&[]),
    ),
    r("GET", "/briefings", "AOUCT", false, Empty),
    r("POST", "/briefings", "AO", false, Form(&[])),
    r("GET", "/briefings/{id}", "AOUCT", true, Empty),
    r("POST", "/briefings/{id}/attendance", "AO", false, Form(&[])),
    r("GET", "/support-requests", "AOUCT", false, Empty),
    r("POST", "/support-requests", "CT", false, Form(&[])),
    r("GET", "/support-requests/{id}", "AOUCT", true, Empty),
    r(
        "POST",
        "/support-requests/{id}/answer",
        "AO",
        false,
        Form(&[]),
    ),
    // Issue #17 follow-ups: evidence files, outcome reports, support cases (as in the API).
    r("POST", "/immunity/{id}/files", "CT", true, Multipart),
    r("GET", "/immunity-files/{id}", "AOUCT", true, Empty),
    r("GET", "/grants/{id}", "AONSUCT", true, Empty),
    r("POST", "/grants/{id}/outcome", "CT", true, Multipart),
    r("POST", "/outcomes/{id}/files", "CT", true, Multipart),
    r(
        "POST",
        "/outcomes/{id}/review",
        "AOS",
        false,
        Form(&[("decision", "more")]),
    ),
    r("GET", "/outcome-files/{id}", "AONSUCT", true, Empty),
    r("GET", "/support", "ASUCT", false, Empty),
    r("POST", "/support", "CT", false, Form(&[])),
    r("GET", "/support/{id}", "ASUCT", true, Empty),
    r(
        "POST",
        "/support/{id}/step",
        "SCT",
        true,
        Form(&[("step", "comment")]),
    ),
    // What feeds are loaded, and the published emergency advisories, are no secret to anyone
    // signed in.
    r("GET", "/feeds", "*", false, Empty),
    r("POST", "/feeds", "AO", false, Multipart),
    r("GET", "/advisories", "*", false, Empty),
    r("POST", "/advisories", "AO", false, Form(&[])),
    r("POST", "/advisories/{id}/withdraw", "AO", false, Form(&[])),
    // Threat-sharing bulletins (C10): everyone but advisors reads what reaches them (the probe
    // bulletin is for all institutions, TLP:GREEN; another institution's is named to it alone);
    // the institute and the support center write; institutions acknowledge. The probe is
    // published: submitting or publishing it again is a 409, a return or withdrawal without its
    // text a 422.
    r("GET", "/bulletins", "AONSUCT", false, Empty),
    r("GET", "/bulletins/new", "NS", false, Empty),
    r("POST", "/bulletins/new", "NS", false, Form(&[])),
    r("GET", "/bulletins/{id}", "AONSUCT", true, Empty),
    r("GET", "/bulletins/{id}/stix", "AONSUCT", true, Empty),
    r("GET", "/bulletins/{id}/edit", "NS", false, Empty),
    r("POST", "/bulletins/{id}/edit", "NS", false, Form(&[])),
    r("POST", "/bulletins/{id}/submit", "NS", false, Form(&[])),
    r(
        "POST",
        "/bulletins/{id}/return",
        "NS",
        false,
        Form(&[("comment", "")]),
    ),
    r("POST", "/bulletins/{id}/publish", "NS", false, Form(&[])),
    r(
        "POST",
        "/bulletins/{id}/withdraw",
        "NS",
        false,
        Form(&[("reason", "")]),
    ),
    r("POST", "/bulletins/{id}/acknowledge", "CT", true, Form(&[])),
    r("POST", "/bulletins/{id}/correct", "NS", false, Form(&[])),
];

/// Ids of the records a role's requests name: its own institution's, or (`foreign`) another's.
#[derive(Debug, Default, Clone)]
struct Ids(BTreeMap<&'static str, i64>);

impl Ids {
    fn get(&self, k: &str) -> i64 {
        *self
            .0
            .get(k)
            .unwrap_or_else(|| panic!("no fixture id for {k}"))
    }
}

async fn scalar(app: &App, sql: &str) -> i64 {
    sqlx::query_scalar::<_, Option<i64>>(sql)
        .fetch_optional(app.svc.store().pool())
        .await
        .unwrap()
        .flatten()
        .unwrap_or_else(|| panic!("no row for fixture query: {sql}"))
}

/// Makes sure both demo institutions with logins have a resource, an import and a finding, and
/// an attachment on their application.
async fn fixtures(app: &App) -> (Ids, Ids, Ids, Ids) {
    let system = Actor::system();
    let inst = |code: &'static str| async move {
        scalar(
            app,
            &format!("SELECT id FROM institutions WHERE code = '{code}'"),
        )
        .await
    };
    let hanbit = inst("BNK-001").await;
    let saebom = inst("INS-001").await;
    for institution in [hanbit, saebom] {
        let sarif = json!({
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {"name": "matrix-probe", "rules": [{"id": "R1"}]}},
                "results": [{
                    "ruleId": "R1", "level": "error", "message": {"text": "probe"},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/a.rs"}, "region": {"startLine": 3}}}]
                }]
            }]
        })
        .to_string();
        let input: haechi_service::findings::ResourceInput = serde_json::from_value(json!({
            "name": format!("matrix-probe-{institution}"), "kind": "server", "business_function": "probe",
            "data_kinds": [], "network_zone": "internal", "processes_electronic_transactions": false
        }))
        .unwrap();
        app.svc
            .create_resource(&system, institution, input)
            .await
            .unwrap();
        let upload: haechi_service::findings::FindingsUpload =
            serde_json::from_value(json!({ "institution_id": institution })).unwrap();
        app.svc
            .import_findings(&system, &upload, std::io::Cursor::new(sarif.into_bytes()))
            .await
            .unwrap();
    }
    let app_of = |inst: i64| async move {
        scalar(
            app,
            &format!("SELECT MAX(id) FROM applications WHERE institution_id = {inst}"),
        )
        .await
    };
    let mut own = Ids::default();
    let mut foreign = Ids::default();
    for (ids, inst) in [(&mut own, hanbit), (&mut foreign, saebom)] {
        ids.0.insert("institution", inst);
        let application = app_of(inst).await;
        ids.0.insert("application", application);
        ids.0
            .insert("attachment", add_attachment(app, application).await);
        // Not every institution holds a letter: "another institution's" is any but hanbit's.
        let whose = if inst == hanbit {
            format!("= {hanbit}")
        } else {
            format!("<> {hanbit}")
        };
        ids.0.insert(
            "letter",
            scalar(
                app,
                &format!(
                    "SELECT MAX(id) FROM letters WHERE institution_id {whose} AND state = 'issued'"
                ),
            )
            .await,
        );
        ids.0.insert(
            "obligation",
            scalar(
                app,
                &format!("SELECT MAX(id) FROM obligations WHERE institution_id {whose}"),
            )
            .await,
        );
        ids.0.insert(
            "report_file",
            fresh_report_file(app, ids.get("obligation")).await,
        );
        ids.0.insert(
            "resource",
            scalar(
                app,
                &format!("SELECT MAX(id) FROM resources WHERE institution_id = {inst}"),
            )
            .await,
        );
        ids.0.insert(
            "import",
            scalar(
                app,
                &format!("SELECT MAX(id) FROM finding_imports WHERE institution_id = {inst}"),
            )
            .await,
        );
        ids.0.insert(
            "finding",
            scalar(
                app,
                &format!("SELECT MAX(id) FROM findings WHERE institution_id = {inst}"),
            )
            .await,
        );
        let pool = app.svc.store().pool();
        sqlx::query("INSERT INTO patch_records (institution_id, applied, applied_at, applied_by, pre_testing_done, rollback_ready, kill_switch_ready, isolation_ready, continuity_plan, customers_notified_in_advance, recorded_by, created_at) VALUES ($1, 'probe', '2026-11-01', 'matrix', 1, 1, 1, 1, 1, 1, 'matrix', '2026-11-01T00:00:00Z')")
            .bind(inst)
            .execute(pool)
            .await
            .unwrap();
        ids.0.insert(
            "patch",
            scalar(
                app,
                &format!("SELECT MAX(id) FROM patch_records WHERE institution_id = {inst}"),
            )
            .await,
        );
        sqlx::query("INSERT INTO saas_services (institution_id, product, vendor, certifications, data_classes, users, purpose, created_at, updated_at) VALUES ($1, 'matrix-probe', 'probe', '[]', '[]', '[]', 'probe', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z')")
            .bind(inst)
            .execute(pool)
            .await
            .unwrap();
        ids.0.insert(
            "saas",
            scalar(
                app,
                &format!("SELECT MAX(id) FROM saas_services WHERE institution_id = {inst}"),
            )
            .await,
        );
        // A disruption report (with its review version) and the incident its outage opened.
        let filer = Actor {
            user_id: 0,
            username: "matrix".into(),
            role: haechi_core::Role::Ciso,
            institution_id: Some(inst),
        };
        let report: haechi_service::immunity::DisruptionInput = serde_json::from_value(json!({
            "institution_id": inst, "activity": "ai_security_test", "title": "matrix probe",
            "started_at": "2026-11-01T00:00:00", "detected_at": "2026-11-01T00:00:00",
            "outage_minutes": 45, "affected_services": "probe"
        }))
        .unwrap();
        let disruption = app.svc.file_disruption(&filer, &report).await.unwrap();
        ids.0.insert("disruption", disruption);
        // A funding call open to every size class, with this institution's application.
        let center = Actor {
            user_id: 0,
            username: "matrix".into(),
            role: haechi_core::Role::SupportCenter,
            institution_id: None,
        };
        let call: haechi_service::bodies::FundingCallInput = serde_json::from_value(json!({
            "title": "matrix probe", "budget_krw": 1000,
            "eligibility": {"size_classes": ["large", "medium", "small"]},
            "opens_on": "2026-01-01", "closes_on": "2099-12-31"
        }))
        .unwrap();
        let call = app.svc.create_funding_call(&center, &call).await.unwrap();
        ids.0.insert("funding_call", call);
        let grant = app
            .svc
            .apply_funding(&center, call, inst, "probe", 10)
            .await
            .unwrap();
        ids.0.insert("grant", grant);
        // C14 guidance: a briefing (already held) inviting this institution only, and a
        // tailored-support request of its own; the demo's guideline, meeting and a member.
        let regulator = Actor {
            user_id: 0,
            username: "matrix".into(),
            role: haechi_core::Role::RegulatorOfficer,
            institution_id: None,
        };
        let briefing: haechi_service::guidelines::BriefingInput = serde_json::from_value(json!({
            "starts_at": "2026-11-01T10:00:00+09:00", "place": "probe", "topic": "probe",
            "institution_ids": [inst]
        }))
        .unwrap();
        ids.0.insert(
            "briefing",
            app.svc
                .schedule_briefing(&regulator, &briefing)
                .await
                .unwrap(),
        );
        ids.0.insert(
            "support_request",
            app.svc
                .request_support(&filer, "probe", "probe")
                .await
                .unwrap(),
        );
        ids.0.insert(
            "guideline",
            scalar(app, "SELECT MIN(id) FROM guidelines").await,
        );
        ids.0.insert(
            "advisory_meeting",
            scalar(app, "SELECT MIN(id) FROM advisory_meetings").await,
        );
        ids.0.insert(
            "advisory_member",
            scalar(app, "SELECT m.id FROM advisory_members m JOIN users u ON u.id = m.user_id WHERE u.username = 'advisor2'").await,
        );
        // Issue #17 follow-ups: an evidence file on the disruption report, an outcome report
        // awaiting review on the application with a file, and a support case.
        ids.0.insert(
            "disruption_file",
            insert_id(
                app,
                &format!("INSERT INTO disruption_attachments (report_id, filename, content_type, size_bytes, sha256, data, uploaded_by, uploaded_at) VALUES ({disruption}, 'probe.txt', 'text/plain', 1, '00', $1, 'matrix', '2026-11-01T00:00:00Z') RETURNING id"),
            )
            .await,
        );
        let outcome = insert_id(
            app,
            &format!("INSERT INTO funding_outcomes (application_id, version, achieved_ko, achieved_en, used_krw, state, filed_by, filed_at) VALUES ({grant}, 1, '점검', 'probe', 0, 'submitted', 'matrix', '2026-11-01T00:00:00Z') RETURNING id"),
        )
        .await;
        ids.0.insert("outcome", outcome);
        ids.0.insert(
            "outcome_file",
            insert_id(
                app,
                &format!("INSERT INTO funding_outcome_attachments (outcome_id, filename, content_type, size_bytes, sha256, data, uploaded_by, uploaded_at) VALUES ({outcome}, 'probe.txt', 'text/plain', 1, '00', $1, 'matrix', '2026-11-01T00:00:00Z') RETURNING id"),
            )
            .await,
        );
        ids.0.insert(
            "support_case",
            insert_id(
                app,
                &format!("INSERT INTO support_cases (institution_id, kind, subject, description, status, opened_by, opened_at, updated_at) VALUES ({inst}, 'other', 'probe', 'probe', 'open', 'matrix', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z') RETURNING id"),
            )
            .await,
        );
        ids.0.insert(
            "incident",
            scalar(
                app,
                &format!("SELECT id FROM incidents WHERE disruption_id = {disruption}"),
            )
            .await,
        );
        sqlx::query("INSERT INTO advisories (title_ko, title_en, published_on, state, created_by, created_at) VALUES ('점검', 'probe', '2026-11-01', 'published', 'matrix', '2026-11-01T00:00:00Z')")
            .execute(pool)
            .await
            .unwrap();
        ids.0.insert(
            "advisory",
            scalar(app, "SELECT MAX(id) FROM advisories").await,
        );
    }
    // The response team: each institution's challenge, the demo's latest check-in with a fresh
    // action to complete, an active member; the full-removal track: a letter holder.
    for ids in [&mut own, &mut foreign] {
        let inst = ids.get("institution");
        let raiser = Actor {
            user_id: 0,
            username: "matrix".into(),
            role: haechi_core::Role::Ciso,
            institution_id: Some(inst),
        };
        let challenge = app
            .svc
            .raise_challenge(
                &raiser,
                &haechi_service::response_team::ChallengeInput {
                    institution_id: None,
                    title: "matrix probe".into(),
                    description: "probe".into(),
                    due_on: chrono::NaiveDate::from_ymd_opt(2099, 12, 31),
                },
            )
            .await
            .unwrap();
        ids.0.insert("challenge", challenge);
    }
    let checkin = scalar(app, "SELECT MAX(id) FROM response_checkins").await;
    let member = scalar(app, "SELECT MIN(id) FROM response_members WHERE active = 1").await;
    let team_officer = Actor {
        user_id: 0,
        username: "matrix".into(),
        role: haechi_core::Role::RegulatorOfficer,
        institution_id: None,
    };
    let action = app
        .svc
        .add_checkin_action(
            &team_officer,
            checkin,
            &haechi_service::response_team::ActionInput {
                description: "matrix probe".into(),
                owner_member_id: Some(member),
                due_on: chrono::NaiveDate::from_ymd_opt(2099, 12, 31),
            },
        )
        .await
        .unwrap();
    let holder = scalar(
        app,
        "SELECT MIN(institution_id) FROM letters WHERE state = 'issued'",
    )
    .await;
    for ids in [&mut own, &mut foreign] {
        ids.0.insert("checkin", checkin);
        ids.0.insert("checkin_action", action);
        ids.0.insert("response_member", member);
        ids.0.insert("removal", holder);
    }
    // A published bulletin for all institutions, and one named to another institution only.
    own.0.insert(
        "bulletin",
        super::sharing::published(
            &app.svc,
            &super::sharing::input("vulnerability", "green", "all"),
        )
        .await,
    );
    let mut named = super::sharing::input("indicators", "amber", "named");
    named.audience_institutions = vec![foreign.get("institution")];
    foreign.0.insert(
        "bulletin",
        super::sharing::published(&app.svc, &named).await,
    );
    // The advisor's own view: an application assigned to advisor1 with no conflict declared.
    let advisor = scalar(app, "SELECT id FROM users WHERE username = 'advisor1'").await;
    let mut adv = own.clone();
    adv.0.insert(
        "application",
        scalar(app, &format!("SELECT MAX(application_id) FROM review_assignments WHERE advisor_id = {advisor} AND conflict = 0")).await,
    );
    let assigned = adv.get("application");
    // The advisor's own membership.
    adv.0.insert(
        "advisory_member",
        scalar(
            app,
            &format!("SELECT id FROM advisory_members WHERE user_id = {advisor}"),
        )
        .await,
    );
    adv.0
        .insert("attachment", add_attachment(app, assigned).await);
    // And one it is not assigned to, with its evidence.
    let mut unassigned = own.clone();
    let other = scalar(app, &format!("SELECT MAX(id) FROM applications WHERE id NOT IN (SELECT application_id FROM review_assignments WHERE advisor_id = {advisor})")).await;
    unassigned.0.insert("application", other);
    unassigned
        .0
        .insert("attachment", add_attachment(app, other).await);
    (own, foreign, adv, unassigned)
}

/// An evidence file on the latest version of an obligation's report (a draft is started when it
/// has none); returns its id.
async fn fresh_report_file(app: &App, obligation: i64) -> i64 {
    let figures = serde_json::to_string(&haechi_service::reports::Figures::default()).unwrap();
    sqlx::query("INSERT INTO reports (obligation_id, institution_id, version, state, figures_json, compiled_at, narrative_json, created_by, created_at, updated_at) SELECT id, institution_id, 1, 'draft', $1, '2026-11-01T00:00:00Z', '{}', 'matrix', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z' FROM obligations WHERE id = $2 AND NOT EXISTS (SELECT 1 FROM reports WHERE obligation_id = $2)")
        .bind(figures)
        .bind(obligation)
        .execute(app.svc.store().pool())
        .await
        .unwrap();
    insert_id(
        app,
        &format!("INSERT INTO report_attachments (report_id, institution_id, filename, content_type, size_bytes, sha256, data, uploaded_by, uploaded_at) SELECT id, institution_id, 'probe.txt', 'text/plain', 1, '00', $1, 'matrix', '2026-11-01T00:00:00Z' FROM reports WHERE id = (SELECT MAX(id) FROM reports WHERE obligation_id = {obligation}) RETURNING id"),
    )
    .await
}

/// Runs an `INSERT ... RETURNING id` whose `$1`, if any, is a one-byte file; returns the id.
async fn insert_id(app: &App, sql: &str) -> i64 {
    let q = sqlx::query_scalar::<_, i64>(sql);
    let q = if sql.contains("$1") {
        q.bind(b"x".to_vec())
    } else {
        q
    };
    q.fetch_one(app.svc.store().pool()).await.unwrap()
}

/// An evidence file on an application; returns its id.
async fn add_attachment(app: &App, application: i64) -> i64 {
    sqlx::query("INSERT INTO attachments (application_id, filename, content_type, size_bytes, sha256, data, uploaded_by, uploaded_at) VALUES ($1, 'probe.txt', 'text/plain', 1, '00', $2, 'matrix', '2026-11-01T00:00:00Z')")
        .bind(application)
        .bind(b"x".to_vec())
        .execute(app.svc.store().pool())
        .await
        .unwrap();
    scalar(
        app,
        &format!("SELECT MAX(id) FROM attachments WHERE application_id = {application}"),
    )
    .await
}

async fn fresh_saas(app: &App, institution: i64) -> i64 {
    sqlx::query("INSERT INTO saas_services (institution_id, product, vendor, certifications, data_classes, users, purpose, created_at, updated_at) VALUES ($1, $2, 'probe', '[]', '[]', '[]', 'probe', '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z')")
        .bind(institution)
        .bind(format!("fresh-{}", rand::random::<u64>()))
        .execute(app.svc.store().pool())
        .await
        .unwrap();
    scalar(
        app,
        &format!("SELECT MAX(id) FROM saas_services WHERE institution_id = {institution}"),
    )
    .await
}

/// The path with its parameters filled for a role.
fn fill(path: &str, ids: &Ids, token: i64) -> String {
    let key = |seg_before: &str| -> &'static str {
        match seg_before {
            "institutions" => "institution",
            "applications" | "reviews" => "application",
            "queue" => "finding",
            "patches" => "patch",
            "saas" => "saas",
            "immunity" => "disruption",
            "incidents" => "incident",
            "funding" => "funding_call",
            "grants" => "grant",
            "members" => "advisory_member",
            "meetings" => "advisory_meeting",
            "guidelines" => "guideline",
            "briefings" => "briefing",
            "support-requests" => "support_request",
            "disruptions" => "disruption",
            "immunity-files" | "disruption-attachments" => "disruption_file",
            "outcomes" => "outcome",
            "outcome-files" | "outcome-attachments" => "outcome_file",
            "support" | "support-cases" => "support_case",
            "challenges" => "challenge",
            "checkins" => "checkin",
            "checkin-actions" => "checkin_action",
            "response-members" => "response_member",
            "removal" => "removal",
            "advisories" => "advisory",
            "bulletins" => "bulletin",
            "attachments" => "attachment",
            "letters" => "letter",
            "obligations" | "reports" => "obligation",
            "report-files" => "report_file",
            "resources" => "resource",
            "imports" => "import",
            "findings" => "finding",
            other => panic!("the matrix does not know how to fill an id after /{other}/ in {path}"),
        }
    };
    let segs: Vec<&str> = path.split('/').collect();
    let mut out = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        let v = match *s {
            "{version}" => "1".to_string(),
            "{kind}" => "kev".to_string(),
            // A CVE the demo's feeds know.
            "{cve}" => "CVE-2021-44228".to_string(),
            "{phase}" => "phase-3".to_string(),
            "{id}" if segs[i - 1] == "tokens" => token.to_string(),
            "{id}" if segs[i - 1] == "users" => "1".to_string(),
            "{id}" => ids.get(key(segs[i - 1])).to_string(),
            other => other.to_string(),
        };
        out.push(v);
    }
    out.join("/")
}

fn allowed(allow: &str, role: char) -> bool {
    allow == "*" || allow.contains(role)
}

/// One signed-in principal per role: an API token and a browser session.
struct Principal {
    letter: char,
    username: &'static str,
    token: String,
    session: Session,
    token_id: i64,
}

async fn principals(app: &App) -> Vec<Principal> {
    let mut out = Vec::new();
    for (letter, username) in ROLES {
        let id = scalar(
            app,
            &format!("SELECT id FROM users WHERE username = '{username}'"),
        )
        .await;
        let token = app
            .svc
            .issue_token(&Actor::system(), id, "matrix")
            .await
            .unwrap();
        let token_id = scalar(
            app,
            &format!("SELECT MAX(id) FROM api_tokens WHERE user_id = {id}"),
        )
        .await;
        out.push(Principal {
            letter: *letter,
            username,
            token,
            session: app.login(username).await,
            token_id,
        });
    }
    out
}

async fn api_call(app: &App, p: &Principal, row: &Row, ids: &Ids) -> StatusCode {
    let path = fill(row.path, ids, p.token_id);
    let method = Method::from_bytes(row.method.as_bytes()).unwrap();
    let (ctype, body) = match row.probe {
        Empty => ("application/json", String::new()),
        Json(j) => (
            "application/json",
            j.replace("{inst}", &ids.get("institution").to_string()),
        ),
        Raw(t) => ("application/octet-stream", t.to_string()),
        InstitutionInput => {
            let i = haechi_store::get_institution(app.svc.store().pool(), ids.get("institution"))
                .await
                .unwrap()
                .unwrap();
            ("application/json", serde_json::to_string(&i.input).unwrap())
        }
        ResourceInput => (
            "application/json",
            json!({"name": "matrix-put", "kind": "server", "business_function": "probe", "data_kinds": [], "network_zone": "internal", "processes_electronic_transactions": false}).to_string(),
        ),
        Form(_) | Multipart => panic!("{}: API rows carry JSON or raw bodies", row.path),
    };
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {}", p.token))
        .header(header::CONTENT_TYPE, ctype)
        .body(Body::from(body))
        .unwrap();
    app.router.clone().oneshot(req).await.unwrap().status()
}

async fn page_call(p: &Principal, row: &Row, ids: &Ids) -> (StatusCode, Option<String>) {
    let path = fill(row.path, ids, p.token_id);
    let page = match (row.method, row.probe) {
        ("GET", _) => p.session.get(&path).await,
        ("POST", Form(fields)) => p.session.post(&path, fields).await,
        ("POST", Multipart) => p.session.post_multipart(&path, &[], &[]).await,
        ("POST", Empty) => p.session.post_without_csrf(&path, &[]).await,
        (m, _) => panic!("{m} {path}: pages answer GET and POST only"),
    };
    (page.status, page.location)
}

fn denied(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    )
}

#[test]
fn every_route_has_a_row() {
    let mut missing = Vec::new();
    let mut rows: Vec<(String, String)> = API
        .iter()
        .chain(PAGES.iter())
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    for route in haechi_web::api_routes() {
        let key = (route.method.to_string(), route.path.to_string());
        match rows.iter().position(|k| *k == key) {
            Some(i) => {
                rows.remove(i);
            }
            None => missing.push(format!("API {} {}", key.0, key.1)),
        }
    }
    for route in haechi_web::portal::portal_routes() {
        let key = (route.method.to_string(), route.path.to_string());
        match rows.iter().position(|k| *k == key) {
            Some(i) => {
                rows.remove(i);
            }
            None => missing.push(format!("page {} {}", key.0, key.1)),
        }
    }
    assert!(
        missing.is_empty(),
        "routes without a row in the authorisation matrix (add one to tests/portal/matrix.rs):\n{}",
        missing.join("\n")
    );
    assert!(rows.is_empty(), "matrix rows without a route: {rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_is_allowed_or_denied_as_spec_section_2_says() {
    let app = App::demo().await;
    let (own, _foreign, adv, _) = fixtures(&app).await;
    let people = principals(&app).await;
    let mut wrong = Vec::new();
    for row in API {
        for p in &people {
            let mut ids = if p.letter == 'V' {
                adv.clone()
            } else {
                own.clone()
            };
            if row.method == "DELETE" {
                // Each role deletes a register entry (and a report's file) of its own making.
                ids.0
                    .insert("saas", fresh_saas(&app, own.get("institution")).await);
                ids.0.insert(
                    "report_file",
                    fresh_report_file(&app, own.get("obligation")).await,
                );
            }
            let status = api_call(&app, p, row, &ids).await;
            let expect = allowed(row.allow, p.letter);
            if expect == denied(status) {
                wrong.push(format!(
                    "{} {} as {} ({}): {} but expected {}",
                    row.method,
                    row.path,
                    p.username,
                    p.letter,
                    status,
                    if expect { "allowed" } else { "denied" }
                ));
            }
        }
    }
    for row in PAGES {
        if row.path == "/login" && row.method == "POST" {
            continue; // signing in is for everyone and tested in `account`
        }
        for p in &people {
            let mut ids = if p.letter == 'V' {
                adv.clone()
            } else {
                own.clone()
            };
            if row.path.ends_with("/delete") {
                // Each role deletes a register entry (and a report's file) of its own making.
                ids.0
                    .insert("saas", fresh_saas(&app, own.get("institution")).await);
                ids.0.insert(
                    "report_file",
                    fresh_report_file(&app, own.get("obligation")).await,
                );
            }
            let (status, location) = page_call(p, row, &ids).await;
            let to_login = location.as_deref().is_some_and(|l| l.starts_with("/login"));
            let expect = allowed(row.allow, p.letter);
            let got_denied = denied(status) || (to_login && row.path != "/logout");
            if expect == got_denied {
                wrong.push(format!(
                    "page {} {} as {} ({}): {} {:?} but expected {}",
                    row.method,
                    row.path,
                    p.username,
                    p.letter,
                    status,
                    location,
                    if expect { "allowed" } else { "denied" }
                ));
            }
            if row.path == "/logout" {
                // Signing out ended the session: sign in again for the next rows.
                let s = app.login(p.username).await;
                *p.session.cookies.lock().await = s.cookies.lock().await.clone();
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong decisions:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_institutions_records_answer_not_found() {
    let app = App::demo().await;
    let (_, foreign, _, unassigned) = fixtures(&app).await;
    let people = principals(&app).await;
    let mut wrong = Vec::new();
    for p in people
        .iter()
        .filter(|p| matches!(p.letter, 'C' | 'T' | 'V'))
    {
        for row in API
            .iter()
            .chain(PAGES.iter())
            .filter(|r| r.tenant && allowed(r.allow, p.letter))
        {
            // Advisors: an application (and its evidence) not assigned to them.
            let ids = if p.letter == 'V' {
                &unassigned
            } else {
                &foreign
            };
            let is_page = !row.path.starts_with("/api/");
            let status = if is_page {
                page_call(p, row, ids).await.0
            } else {
                api_call(&app, p, row, ids).await
            };
            if status != StatusCode::NOT_FOUND {
                wrong.push(format!(
                    "{} {} as {}: {status}",
                    row.method, row.path, p.username
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "foreign records that did not answer 404:\n{}",
        wrong.join("\n")
    );
}

/// TAXII 2.1 and the Atom feed (API tokens): everyone but advisors reads the collections their
/// bulletins reach; the institutions and the bulletin writers post to the contributions
/// collection (and read their own status); another audience's collection answers 404.
const TAXII: &[Row] = &[
    r("GET", "/taxii2/", "AONSUCT", false, Empty),
    r("GET", "/taxii2/haechi/", "AONSUCT", false, Empty),
    r(
        "GET",
        "/taxii2/haechi/collections/",
        "AONSUCT",
        false,
        Empty,
    ),
    r(
        "GET",
        "/taxii2/haechi/collections/{id}/",
        "AONSUCT",
        true,
        Empty,
    ),
    r(
        "GET",
        "/taxii2/haechi/collections/{id}/objects/",
        "AONSUCT",
        true,
        Empty,
    ),
    r(
        "POST",
        "/taxii2/haechi/collections/{id}/objects/",
        "NSCT",
        false,
        Raw("{\"objects\": []}"),
    ),
    r(
        "GET",
        "/taxii2/haechi/collections/{id}/objects/{object_id}/",
        "AONSUCT",
        true,
        Empty,
    ),
    r(
        "GET",
        "/taxii2/haechi/collections/{id}/objects/{object_id}/versions/",
        "AONSUCT",
        true,
        Empty,
    ),
    r(
        "GET",
        "/taxii2/haechi/collections/{id}/manifest/",
        "AONSUCT",
        true,
        Empty,
    ),
    r("GET", "/taxii2/haechi/status/{id}", "NSCT", false, Empty),
    r("GET", "/taxii2/haechi/status/{id}/", "NSCT", false, Empty),
    r("GET", "/bulletins.atom", "AONSUCT", false, Empty),
];

#[test]
fn every_taxii_route_has_a_row() {
    let rows: Vec<(&str, &str)> = TAXII.iter().map(|r| (r.method, r.path)).collect();
    let routes: Vec<(&str, &str)> = haechi_web::taxii::TAXII_PATHS.to_vec();
    assert_eq!(rows, routes, "TAXII rows and routes differ");
}

/// A TAXII request of a principal: the collection of `key` (the contributions collection for
/// a POST), the bulletin report of `bulletin`, the status of the principal's own last POST.
async fn taxii_call(
    app: &App,
    p: &Principal,
    row: &Row,
    key: &str,
    bulletin: i64,
    status: &str,
) -> StatusCode {
    let uuid: String = sqlx::query_scalar("SELECT uuid FROM bulletins WHERE id = $1")
        .bind(bulletin)
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap();
    let key = if row.method == "POST" {
        "contributions"
    } else {
        key
    };
    let path = row
        .path
        .replace("{object_id}", &format!("report--{uuid}"))
        .replace(
            "{id}",
            &if row.path.contains("/status/") {
                status.to_string()
            } else {
                haechi_web::taxii::collection_id(key)
            },
        );
    let method = Method::from_bytes(row.method.as_bytes()).unwrap();
    let body = match row.probe {
        Raw(t) => t.to_string(),
        _ => String::new(),
    };
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {}", p.token))
        .header(header::ACCEPT, "application/taxii+json;version=2.1")
        .header(header::CONTENT_TYPE, "application/taxii+json;version=2.1")
        .body(Body::from(body))
        .unwrap();
    app.router.clone().oneshot(req).await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taxii_is_allowed_or_denied_by_role_and_audience() {
    let app = App::demo().await;
    let (own, foreign, _, _) = fixtures(&app).await;
    let people = principals(&app).await;
    let own_key = "all/green";
    let foreign_key = format!("institution-{}/amber", foreign.get("institution"));
    let mut wrong = Vec::new();
    for p in &people {
        // The principal's own status, when it may post.
        let mut status_id = "none".to_string();
        for row in TAXII {
            let status = taxii_call(&app, p, row, own_key, own.get("bulletin"), &status_id).await;
            if row.method == "POST" && status == StatusCode::ACCEPTED {
                status_id = sqlx::query_scalar(
                    "SELECT id FROM taxii_status ORDER BY created_at DESC, id LIMIT 1",
                )
                .fetch_one(app.svc.store().pool())
                .await
                .unwrap();
            }
            let expect = allowed(row.allow, p.letter);
            if expect == denied(status) {
                wrong.push(format!(
                    "TAXII {} {} as {}: {status}",
                    row.method, row.path, p.username
                ));
            }
            if row.tenant && matches!(p.letter, 'C' | 'T') {
                let status = taxii_call(
                    &app,
                    p,
                    row,
                    &foreign_key,
                    foreign.get("bulletin"),
                    &status_id,
                )
                .await;
                if status != StatusCode::NOT_FOUND {
                    wrong.push(format!(
                        "TAXII {} {} (another audience) as {}: {status}",
                        row.method, row.path, p.username
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong decisions:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
