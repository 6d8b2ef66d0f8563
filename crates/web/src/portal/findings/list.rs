//! Findings: the filtered, paginated list and the detail page with provenance, status history
//! and the lifecycle actions.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use haechi_core::FieldError;
use haechi_service::findings::{transition_allowed, FindingTransition, FINDING_STATUSES};
use haechi_service::{Action, ServiceError};
use haechi_store::{FindingFilter, FindingTotal};
use maud::{html, Markup};
use serde::Deserialize;

use super::super::{control, error_summary, pager, url_encode, CsrfForm, Portal, PER_PAGE};
use super::{
    class_badge, date_of, minute_of, resource_name, severity_badge, state_badge, state_label,
};
use crate::AppState;

const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "none"];

/// The list's filters as typed (all text, so that a malformed value gets a message).
#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    severity: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    cwe: String,
    #[serde(default)]
    resource: String,
    #[serde(default)]
    tool: String,
    #[serde(default)]
    ai_model: String,
    #[serde(default)]
    ai_origin: String,
    /// Read-everything roles (the auditor): one institution's findings.
    #[serde(default)]
    institution: String,
    #[serde(default)]
    page: String,
}

/// The draft SARIF AI profile's `ai/origin` values, as stored.
const AI_ORIGINS: [&str; 3] = ["ai_generated", "ai_annotated", "conventional"];

/// Keeps a message short for a table cell.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

pub async fn list(p: Portal, State(st): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    let mut errors = Vec::new();
    let severity = q.severity.trim();
    let severity = if severity.is_empty() {
        None
    } else if SEVERITIES.contains(&severity) {
        Some(severity.to_string())
    } else {
        errors.push(FieldError::new(
            "severity",
            p.t("알 수 없는 심각도입니다.", "Unknown severity."),
        ));
        None
    };
    let status = q.status.trim();
    let status = if status.is_empty() {
        None
    } else if FINDING_STATUSES.contains(&status) {
        Some(status.to_string())
    } else {
        errors.push(FieldError::new(
            "status",
            p.t("알 수 없는 상태입니다.", "Unknown status."),
        ));
        None
    };
    let cwe_text = q.cwe.trim();
    let cwe = match cwe_text
        .trim_start_matches("CWE-")
        .trim_start_matches("cwe-")
    {
        "" => None,
        c => match c.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(FieldError::new(
                    "cwe",
                    format!(
                        "'{cwe_text}': {}",
                        p.t(
                            "CWE 번호를 입력하십시오 (예: 79 또는 CWE-79).",
                            "enter a CWE number (e.g. 79 or CWE-79)."
                        )
                    ),
                ));
                None
            }
        },
    };
    let resource = match q.resource.trim() {
        "" => None,
        r => match r.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(FieldError::new(
                    "resource",
                    p.t(
                        "전산자원을 목록에서 고르십시오.",
                        "Choose a resource from the list.",
                    ),
                ));
                None
            }
        },
    };
    let tool = Some(q.tool.trim().to_string()).filter(|s| !s.is_empty());
    let ai_model = Some(q.ai_model.trim().to_string()).filter(|s| !s.is_empty());
    let ai_origin = match q.ai_origin.trim() {
        "" => None,
        o if AI_ORIGINS.contains(&o) => Some(o.to_string()),
        _ => {
            errors.push(FieldError::new(
                "ai_origin",
                p.t(
                    "발견 방식을 목록에서 고르십시오.",
                    "Choose how the finding was found from the list.",
                ),
            ));
            None
        }
    };
    // Roles that read every institution's findings choose one and see whose each finding is.
    let across = !p.actor.role.is_institution_role();
    let institutions = if across {
        st.svc
            .finding_institution_names(&p.actor)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let institution = match q.institution.trim() {
        "" => None,
        i => match i.parse::<i64>() {
            Ok(n) if institutions.iter().any(|(id, ..)| *id == n) => Some(n),
            _ => {
                errors.push(FieldError::new(
                    "institution",
                    p.t(
                        "기관을 목록에서 고르십시오.",
                        "Choose an institution from the list.",
                    ),
                ));
                None
            }
        },
    };
    let institution_name = |id: i64| -> String {
        institutions
            .iter()
            .find(|(i, ..)| *i == id)
            .map(|(_, ko, en)| p.t(ko, en).to_string())
            .unwrap_or_else(|| "—".into())
    };
    let page = q
        .page
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let choices = match st.svc.finding_filter_choices(&p.actor, institution).await {
        Ok(c) => c,
        Err(e) => return p.error(e),
    };
    let (rows, total) = if errors.is_empty() {
        let filter = FindingFilter {
            institution_id: institution,
            severity,
            status,
            cwe,
            resource_id: resource,
            tool,
            ai_model,
            ai_origin,
            limit: i64::from(PER_PAGE) + 1,
            offset: i64::from(page - 1) * i64::from(PER_PAGE),
            ..Default::default()
        };
        match st.svc.list_findings(&p.actor, &filter).await {
            Ok(r) => r,
            Err(e) => return p.error(e),
        }
    } else {
        (Vec::new(), FindingTotal::exact(0))
    };
    let has_next = rows.len() > PER_PAGE as usize;
    let rows = &rows[..rows.len().min(PER_PAGE as usize)];
    // The list URL with its filters, for the pager.
    let mut params = Vec::new();
    for (k, v) in [
        ("severity", &q.severity),
        ("status", &q.status),
        ("cwe", &q.cwe),
        ("resource", &q.resource),
        ("tool", &q.tool),
        ("ai_model", &q.ai_model),
        ("ai_origin", &q.ai_origin),
        ("institution", &q.institution),
    ] {
        if !v.trim().is_empty() {
            params.push(format!("{k}={}", url_encode(v.trim())));
        }
    }
    let base = if params.is_empty() {
        "/findings".to_string()
    } else {
        format!("/findings?{}", params.join("&"))
    };
    let title = p.t("취약점", "Findings");
    let self_service = crate::portal::support::self_service_note(&st, &p).await;
    let body = html! {
        h1 { (title) }
        (self_service)
        @if p.may(Action::ManageFindings) {
            div class="actions" {
                a class="button primary" href="/imports/new" { (p.t("SARIF 업로드", "Upload SARIF")) }
                a href="/imports" { (p.t("가져오기 이력", "Import history")) }
            }
        } @else {
            div class="actions" { a href="/imports" { (p.t("가져오기 이력", "Import history")) } }
        }
        (error_summary(p.lang, &errors))
        form method="get" action="/findings" class="filters" {
            @if across {
                (control(p.t("기관", "Institution"), "institution", &errors, html! {
                    select id="institution" name="institution" {
                        option value="" { (p.t("전체", "All")) }
                        @for (id, ko, en) in &institutions {
                            option value=(id) selected[q.institution.trim() == id.to_string()] { (p.t(ko, en)) }
                        }
                    }
                }))
            }
            (control(p.t("심각도", "Severity"), "severity", &errors, html! {
                select id="severity" name="severity" {
                    option value="" { (p.t("전체", "All")) }
                    @for s in SEVERITIES { option value=(s) selected[q.severity.trim() == s] { (state_label(p.lang, s)) } }
                }
            }))
            (control(p.t("상태", "Status"), "status", &errors, html! {
                select id="status" name="status" {
                    option value="" { (p.t("전체", "All")) }
                    @for s in FINDING_STATUSES { option value=(s) selected[q.status.trim() == s] { (state_label(p.lang, s)) } }
                }
            }))
            (control("CWE", "cwe", &errors, html! {
                input type="text" id="cwe" name="cwe" value=(q.cwe) inputmode="numeric" placeholder="CWE-79" size="8";
            }))
            (control(p.t("전산자원", "Resource"), "resource", &errors, html! {
                select id="resource" name="resource" {
                    option value="" { (p.t("전체", "All")) }
                    @for r in &choices.resources {
                        option value=(r.id) selected[q.resource.trim() == r.id.to_string()] { (r.name) }
                    }
                }
            }))
            (control(p.t("도구", "Tool"), "tool", &errors, html! {
                input type="text" id="tool" name="tool" value=(q.tool) list="tool-choices";
            }))
            datalist id="tool-choices" { @for t in &choices.tools { option value=(t) {} } }
            (control(p.t("AI 모델", "AI model"), "ai_model", &errors, html! {
                input type="text" id="ai_model" name="ai_model" value=(q.ai_model) list="ai-model-choices";
            }))
            datalist id="ai-model-choices" { @for m in &choices.ai_models { option value=(m) {} } }
            (control(p.t("발견 방식", "Found by"), "ai_origin", &errors, html! {
                select id="ai_origin" name="ai_origin" {
                    option value="" { (p.t("전체", "All")) }
                    @for o in AI_ORIGINS { option value=(o) selected[q.ai_origin.trim() == o] { (state_label(p.lang, o)) } }
                }
            }))
            button type="submit" { (p.t("적용", "Apply")) }
            a href="/findings" { (p.t("초기화", "Reset")) }
        }
        @if errors.is_empty() {
            // Counted up to a cap: "10,000+" says that more match.
            p class="muted" {
                (p.t("검색 결과: ", "Matching: ")) strong { (total) } (p.t("건", ""))
                @if total.capped {
                    " " (p.t("(조건을 좁히면 정확한 수를 셉니다)", "(narrow the filters for an exact count)"))
                }
            }
        }
        @if rows.is_empty() {
            p { (p.t("조건에 맞는 취약점이 없습니다.", "No findings match.")) }
        } @else {
            div class="table-wrap" {
                table {
                    caption class="visually-hidden" { (title) }
                    thead { tr {
                        th scope="col" class="num" { "#" }
                        @if across { th scope="col" { (p.t("기관", "Institution")) } }
                        th scope="col" { (p.t("심각도", "Severity")) }
                        th scope="col" { (p.t("상태", "Status")) }
                        th scope="col" { (p.t("규칙", "Rule")) }
                        th scope="col" { (p.t("내용", "Message")) }
                        th scope="col" { (p.t("위치", "Location")) }
                        th scope="col" { (p.t("전산자원", "Resource")) }
                        th scope="col" { (p.t("도구", "Tool")) }
                        th scope="col" { (p.t("AI 모델", "AI model")) }
                        th scope="col" { (p.t("발견 방식", "Found by")) }
                        th scope="col" { "CWE" }
                    } }
                    tbody {
                        @for f in rows {
                            tr {
                                td class="num" { a href={ "/findings/" (f.id) } { (f.id) } }
                                @if across {
                                    td { a href={ "/findings?institution=" (f.institution_id) } { (institution_name(f.institution_id)) } }
                                }
                                td { span class=(severity_badge(&f.severity)) { (state_label(p.lang, &f.severity)) } }
                                td { span class=(state_badge(&f.status)) { (state_label(p.lang, &f.status)) } }
                                td { code { (f.rule_id.as_deref().unwrap_or("—")) } }
                                td { a href={ "/findings/" (f.id) } { (clip(&f.message, 140)) } }
                                td { code class="small" { (f.location.as_deref().unwrap_or("")) } }
                                td {
                                    @if let Some(r) = f.resource_id {
                                        a href={ "/resources/" (r) } { (resource_name(&choices.resources, r)) }
                                    }
                                }
                                td { (f.tool_name) }
                                td { (f.ai_model.as_deref().unwrap_or("")) }
                                td {
                                    (state_label(p.lang, &f.ai_origin))
                                    @if f.exploit_evidence.is_some() { " " span class="badge bad" title=[f.exploit_evidence.as_deref()] { (p.t("익스플로잇 확인", "Exploit confirmed")) } }
                                }
                                td { (cwe_list(&f.cwes)) }
                            }
                        }
                    }
                }
            }
            (pager(p.lang, &base, page, has_next))
        }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    p.page_with(status, title, body)
}

fn cwe_list(cwes: &[u32]) -> String {
    cwes.iter()
        .map(|c| format!("CWE-{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The lifecycle form as typed: each action's own fields, so that every control on the page
/// has its own id.
#[derive(Deserialize, Default, Clone)]
pub struct TransitionForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    risk_reason: String,
    #[serde(default)]
    risk_until: String,
    #[serde(default)]
    fp_reason: String,
}

/// What the detail page shows again after a refused lifecycle change.
#[derive(Default)]
struct ActionState {
    form: TransitionForm,
    errors: Vec<FieldError>,
    /// A refusal that is not about one field (an illegal step).
    message: Option<String>,
}

pub async fn detail(p: Portal, State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return p.error(ServiceError::NotFound);
    };
    detail_page(&p, &st, id, StatusCode::OK, ActionState::default()).await
}

async fn detail_page(
    p: &Portal,
    st: &AppState,
    id: i64,
    status: StatusCode,
    action: ActionState,
) -> Response {
    let view = match st.svc.get_finding(&p.actor, id).await {
        Ok(v) => v,
        Err(e) => return p.error(e),
    };
    let history = match st.svc.finding_history(&p.actor, id).await {
        Ok(h) => h,
        Err(e) => return p.error(e),
    };
    let f = &view.finding;
    let resource = match f.resource_id {
        Some(r) => st.svc.get_resource(&p.actor, r).await.ok(),
        None => None,
    };
    let title = format!("{} #{}", p.t("취약점", "Finding"), f.id);
    let flow: Vec<&str> = f
        .code_flow
        .as_deref()
        .map(|c| c.split(" → ").collect())
        .unwrap_or_default();
    let body = html! {
        p class="small" { a href="/findings" { "← " (p.t("취약점 목록", "All findings")) } }
        h1 {
            (title) " "
            span class=(severity_badge(&f.severity)) { (state_label(p.lang, &f.severity)) } " "
            span class=(state_badge(&f.status)) { (state_label(p.lang, &f.status)) }
        }
        p { (f.message) }
        section {
            h2 { (p.t("내용", "Details")) }
            dl class="facts" {
                dt { (p.t("규칙", "Rule")) } dd { code { (f.rule_id.as_deref().unwrap_or("—")) } }
                dt { (p.t("심각도", "Severity")) }
                dd {
                    (state_label(p.lang, &f.severity))
                    @if let Some(s) = f.security_severity { " (security-severity " (format!("{s:.1}")) ")" }
                    " · SARIF level " code { (f.level) }
                }
                dt { (p.t("상태", "Status")) }
                dd {
                    (state_label(p.lang, &f.status))
                    @if let Some(r) = &f.status_reason { " — " (r) }
                    @if let Some(u) = &f.risk_accepted_until { " (" (p.t("수용 기한 ", "accepted until ")) (u) ")" }
                }
                dt { (p.t("위치", "Location")) } dd { code { (f.location.as_deref().unwrap_or("—")) } }
                dt { (p.t("전산자원", "Resource")) }
                dd {
                    @match (&resource, f.resource_id) {
                        (Some(r), _) => { a href={ "/resources/" (r.resource.id) } { (r.resource.name) } " " (class_badge(p.lang, &r.resource.class)) },
                        (None, Some(r)) => { "#" (r) },
                        (None, None) => span class="muted" { (p.t("기관 전체", "The institution")) },
                    }
                }
                dt { "CWE" }
                dd {
                    @if f.cwes.is_empty() { "—" }
                    @for (i, c) in f.cwes.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href={ "/findings?cwe=" (c) } { "CWE-" (c) }
                    }
                }
                dt { "CVE" }
                dd {
                    @if f.cves.is_empty() { "—" }
                    @for (i, c) in f.cves.iter().enumerate() { @if i > 0 { ", " } code { (c) } }
                }
                dt { (p.t("도구", "Tool")) } dd { (f.tool_name) }
                dt { (p.t("AI 모델", "AI model")) } dd {
                    (f.ai_model.as_deref().unwrap_or("—"))
                    @if let Some(v) = &f.ai_model_version { " (" (p.t("버전 ", "version ")) (v) ")" }
                }
                dt { (p.t("발견 방식", "Found by")) } dd { (state_label(p.lang, &f.ai_origin)) }
                dt { (p.t("도구의 익스플로잇 확인", "Tool's exploit confirmation")) } dd { (f.exploit_evidence.as_deref().unwrap_or("—")) }
                dt { (p.t("지문", "Fingerprint")) } dd { code class="small" { (f.fingerprint) } }
                dt { (p.t("최초 발견", "First seen")) } dd { (date_of(&f.created_at)) }
            }
        }
        @if let Some(snippet) = &f.snippet {
            section {
                h2 { (p.t("코드 조각", "Snippet")) }
                div class="table-wrap" { pre { code { (snippet) } } }
            }
        }
        @if !flow.is_empty() {
            section {
                h2 { (p.t("코드 흐름", "Code flow")) }
                ol { @for step in &flow { li { code { (step) } } } }
            }
        }
        section {
            h2 { (p.t("출처", "Provenance")) }
            p {
                (p.t("이 취약점을 보고한 가져오기: ", "Imports that reported it: "))
                @if view.seen_by_imports.is_empty() { span class="muted" { "—" } }
                @for (i, imp) in view.seen_by_imports.iter().enumerate() {
                    @if i > 0 { ", " }
                    a href={ "/imports/" (imp) } { "#" (imp) }
                }
            }
            p class="small muted" {
                (p.t("처음 기록한 가져오기 ", "First recorded by import "))
                a href={ "/imports/" (f.first_seen_import_id) } { "#" (f.first_seen_import_id) }
                " · " (p.t("마지막으로 바꾼 가져오기 ", "last changed by import "))
                a href={ "/imports/" (f.last_changed_import_id) } { "#" (f.last_changed_import_id) }
            }
        }
        section {
            h2 { (p.t("상태 이력", "Status history")) }
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" { (p.t("시각", "When")) }
                        th scope="col" { (p.t("변경", "Change")) }
                        th scope="col" { (p.t("처리자", "By")) }
                        th scope="col" { (p.t("사유", "Reason")) }
                    } }
                    tbody {
                        tr {
                            td { (minute_of(&f.created_at)) }
                            td { (p.t("등록", "Recorded")) " → " (state_label(p.lang, "open")) }
                            td { (p.t("가져오기 ", "Import ")) "#" (f.first_seen_import_id) }
                            td {}
                        }
                        @for h in &history {
                            tr {
                                td { (minute_of(&h.at)) }
                                td { (state_label(p.lang, &h.from_status)) " → " (state_label(p.lang, &h.to_status)) }
                                td { (h.actor_name.as_deref().unwrap_or(p.t("시스템", "System"))) }
                                td {
                                    @if let Some(pid) = h.patch_id {
                                        a href={ "/patches/" (pid) } { (p.t("패치 기록 ", "Patch record ")) "#" (pid) }
                                    }
                                    (h.reason.as_deref().unwrap_or(""))
                                    @if let Some(u) = &h.until { " (" (p.t("기한 ", "until ")) (u) ")" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if p.may(Action::ManageFindings) {
            (actions(p, f.id, &f.status, &action))
        }
    };
    p.page_with(status, &title, body)
}

/// The lifecycle actions open to the finding's current status.
fn actions(p: &Portal, id: i64, current: &str, a: &ActionState) -> Markup {
    let simple: Vec<&str> = ["in_progress", "fixed", "verified", "open"]
        .into_iter()
        .filter(|to| transition_allowed(current, to))
        .collect();
    let action_url = format!("/findings/{id}/status");
    let errs = &a.errors;
    html! {
        section id="actions" {
            h2 { (p.t("조치", "Actions")) }
            @if let Some(m) = &a.message {
                p class="alert error" role="alert" { (m) }
            }
            (error_summary(p.lang, errs))
            @if !simple.is_empty() {
                div class="actions" {
                    @for to in &simple {
                        form method="post" action=(action_url) class="inline" {
                            (p.csrf_field())
                            input type="hidden" name="status" value=(to);
                            button type="submit" {
                                (match *to {
                                    "in_progress" => p.t("조치 시작", "Start work"),
                                    "fixed" => p.t("조치 완료로 표시", "Mark fixed"),
                                    "verified" => p.t("검증 완료로 표시", "Mark verified"),
                                    _ => p.t("다시 열기", "Reopen"),
                                })
                            }
                        }
                    }
                }
            }
            @if transition_allowed(current, "risk_accepted") {
                form method="post" action=(action_url) class="stack" {
                    (p.csrf_field())
                    input type="hidden" name="status" value="risk_accepted";
                    fieldset {
                        legend { (p.t("위험 수용", "Accept the risk")) }
                        (control(p.t("사유", "Reason"), "risk_reason", errs, html! {
                            textarea id="risk_reason" name="risk_reason" maxlength="2000" { (a.form.risk_reason) }
                        }))
                        (control(p.t("수용 기한 (YYYY-MM-DD)", "Accepted until (YYYY-MM-DD)"), "risk_until", errs, html! {
                            input type="date" id="risk_until" name="risk_until" value=(a.form.risk_until);
                        }))
                        div class="actions" {
                            button type="submit" { (p.t("위험 수용 기록", "Record risk acceptance")) }
                        }
                    }
                }
            }
            @if transition_allowed(current, "false_positive") {
                form method="post" action=(action_url) class="stack" {
                    (p.csrf_field())
                    input type="hidden" name="status" value="false_positive";
                    fieldset {
                        legend { (p.t("오탐 처리", "Mark as false positive")) }
                        (control(p.t("사유", "Reason"), "fp_reason", errs, html! {
                            textarea id="fp_reason" name="fp_reason" maxlength="2000" { (a.form.fp_reason) }
                        }))
                        div class="actions" {
                            button type="submit" { (p.t("오탐으로 기록", "Record false positive")) }
                        }
                    }
                }
            }
        }
    }
}

pub async fn transition(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<TransitionForm>,
) -> Response {
    let p = f.portal;
    let form = f.form;
    let Ok(id) = id.parse::<i64>() else {
        return p.error(ServiceError::NotFound);
    };
    let status = form.status.trim().to_string();
    // Each action's own fields; the service names them `reason` and `until`.
    let (reason_field, reason) = match status.as_str() {
        "risk_accepted" => ("risk_reason", form.risk_reason.trim()),
        "false_positive" => ("fp_reason", form.fp_reason.trim()),
        _ => ("reason", ""),
    };
    let mut errors = Vec::new();
    let until_text = form.risk_until.trim();
    let until = if status != "risk_accepted" || until_text.is_empty() {
        None
    } else {
        match chrono::NaiveDate::parse_from_str(until_text, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                errors.push(FieldError::new(
                    "risk_until",
                    format!(
                        "'{until_text}': {}",
                        p.t(
                            "날짜는 YYYY-MM-DD 형식이어야 합니다.",
                            "the date must be YYYY-MM-DD."
                        )
                    ),
                ));
                None
            }
        }
    };
    let t = FindingTransition {
        status: status.clone(),
        reason: Some(reason.to_string()).filter(|r| !r.is_empty()),
        until,
    };
    let outcome = if errors.is_empty() {
        st.svc.transition_finding(&p.actor, id, &t).await
    } else {
        // An unreadable date leaves `until` empty, which the service always refuses for a risk
        // acceptance; asking it anyway checks the role and the other fields, so that every
        // problem shows at once.
        match st.svc.transition_finding(&p.actor, id, &t).await {
            Ok(_) => Err(ServiceError::invalid(errors.clone())),
            Err(e) => Err(e),
        }
    };
    match outcome {
        Ok(_) => Redirect::to(&format!("/findings/{id}")).into_response(),
        Err(e) if !e.field_errors().is_empty() => {
            for fe in e.field_errors() {
                let field = match fe.field.as_str() {
                    "reason" => reason_field,
                    "until" => "risk_until",
                    other => other,
                };
                if !errors.iter().any(|x: &FieldError| x.field == field) {
                    errors.push(FieldError::new(field, fe.message.clone()));
                }
            }
            let state = ActionState {
                form,
                errors,
                message: None,
            };
            detail_page(&p, &st, id, StatusCode::UNPROCESSABLE_ENTITY, state).await
        }
        Err(e @ ServiceError::Rule { .. }) => {
            let code = crate::error::status_of(&e);
            let state = ActionState {
                form,
                errors: Vec::new(),
                message: Some(format!(
                    "{} {e}",
                    p.t("변경하지 않았습니다:", "Nothing was changed:")
                )),
            };
            detail_page(&p, &st, id, code, state).await
        }
        Err(e) => p.error(e),
    }
}
