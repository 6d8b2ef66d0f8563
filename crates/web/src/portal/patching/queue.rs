//! The patch queue (filters, SLA breaches marked, bulk assignment) and a finding's priority
//! explanation.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use haechi_core::FieldError;
use haechi_service::{Action, ServiceError};
use haechi_store::{AssigneeFilter, InstitutionUser, QueueFilter, QUEUE_COUNT_CAP};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::super::{
    error_summary, field_error, local_path, pager, url_encode, CsrfForm, Portal, PER_PAGE,
};
use super::{
    clip, date_of, institution_chooser, institution_param, minute_of, priority_tag, scope,
    state_label, value_label, PRIORITIES,
};
use crate::AppState;

/// The queue's filters as typed (all text, so that a malformed value gets a message).
#[derive(Deserialize, Default, Clone)]
pub struct QueueQuery {
    #[serde(default)]
    priority: String,
    #[serde(default)]
    resource: String,
    /// "" any, "none" unassigned, or a user id.
    #[serde(default)]
    assignee: String,
    /// "1": SLA breached only.
    #[serde(default)]
    breached: String,
    #[serde(default)]
    institution: String,
    #[serde(default)]
    page: String,
    /// After a bulk assignment: how many were assigned.
    #[serde(default)]
    assigned: String,
}

impl QueueQuery {
    /// The list URL with its filters (without `page`).
    fn base(&self) -> String {
        let mut params = Vec::new();
        for (k, v) in [
            ("institution", &self.institution),
            ("priority", &self.priority),
            ("resource", &self.resource),
            ("assignee", &self.assignee),
            ("breached", &self.breached),
        ] {
            if !v.trim().is_empty() {
                params.push(format!("{k}={}", url_encode(v.trim())));
            }
        }
        if params.is_empty() {
            "/queue".to_string()
        } else {
            format!("/queue?{}", params.join("&"))
        }
    }

    fn page(&self) -> u32 {
        self.page
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|p| *p >= 1)
            .unwrap_or(1)
    }
}

/// A summary count; above the cap it reads "10000+".
fn count_text(n: i64) -> String {
    if n > QUEUE_COUNT_CAP {
        format!("{QUEUE_COUNT_CAP}+")
    } else {
        n.to_string()
    }
}

fn user_name(users: &[InstitutionUser], id: i64) -> String {
    users
        .iter()
        .find(|u| u.id == id)
        .map(|u| u.display_name.clone())
        .unwrap_or_else(|| format!("#{id}"))
}

pub async fn list(p: Portal, State(st): State<AppState>, Query(q): Query<QueueQuery>) -> Response {
    render(&p, &st, &q, Vec::new(), StatusCode::OK).await
}

/// The queue page; `form_errors` are the errors of a refused bulk assignment.
async fn render(
    p: &Portal,
    st: &AppState,
    q: &QueueQuery,
    form_errors: Vec<FieldError>,
    status: StatusCode,
) -> Response {
    let title = p.t("패치 대기열", "Patch queue");
    let inst = match scope(p, st, &q.institution).await {
        Ok(Some(i)) => i,
        Ok(None) => {
            return p.page(
                title,
                html! {
                    h1 { (title) }
                    p { (p.t("대기열을 볼 기관을 고르십시오.", "Choose the institution whose queue to show.")) }
                    (institution_chooser(p, st, "/queue", None).await)
                },
            )
        }
        Err(resp) => return resp,
    };
    let mut errors = Vec::new();
    let priority = match q.priority.trim() {
        "" => None,
        v if PRIORITIES.contains(&v) => Some(v.to_string()),
        _ => {
            errors.push(FieldError::new(
                "priority",
                p.t("P1–P5 중에서 고르십시오.", "Choose one of P1–P5."),
            ));
            None
        }
    };
    let resource = match q.resource.trim() {
        "" => None,
        v => match v.parse::<i64>() {
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
    let assignee = match q.assignee.trim() {
        "" => AssigneeFilter::Any,
        "none" => AssigneeFilter::Unassigned,
        v => match v.parse::<i64>() {
            Ok(n) => AssigneeFilter::User(n),
            Err(_) => {
                errors.push(FieldError::new(
                    "assignee",
                    p.t(
                        "담당자를 목록에서 고르십시오.",
                        "Choose an assignee from the list.",
                    ),
                ));
                AssigneeFilter::Any
            }
        },
    };
    let breached = q.breached.trim() == "1";
    let page = q.page();
    let today = st.svc.today();
    let filter = QueueFilter {
        priority,
        resource_id: resource,
        assignee,
        due_before: breached.then(|| today.to_string()),
        limit: i64::from(PER_PAGE) + 1,
        offset: i64::from(page - 1) * i64::from(PER_PAGE),
    };
    let entries = if errors.is_empty() {
        match st.svc.queue_view(&p.actor, inst, &filter).await {
            Ok(e) => e,
            Err(e) => return p.error(e),
        }
    } else {
        Vec::new()
    };
    let summary = match st.svc.queue_summary(&p.actor, inst).await {
        Ok(s) => s,
        Err(e) => return p.error(e),
    };
    let users = match st.svc.institution_users(&p.actor, inst).await {
        Ok(u) => u,
        Err(e) => return p.error(e),
    };
    let resources = st
        .svc
        .list_resources(&p.actor, Some(inst))
        .await
        .unwrap_or_default();
    let has_next = entries.len() > PER_PAGE as usize;
    let entries = &entries[..entries.len().min(PER_PAGE as usize)];
    let manage = p.may(Action::ManageFindings);
    let base = q.base();
    let inst_q = institution_param(p, inst);
    let amp = |path: &str| {
        if inst_q.is_empty() {
            path.to_string()
        } else if path.contains('?') {
            format!("{path}&{inst_q}")
        } else {
            format!("{path}?{inst_q}")
        }
    };
    let all_errors: Vec<FieldError> = errors.iter().chain(form_errors.iter()).cloned().collect();
    let self_service = crate::portal::support::self_service_note(st, p).await;
    let body = html! {
        h1 { (title) }
        (self_service)
        @if !p.actor.role.is_institution_role() {
            (institution_chooser(p, st, "/queue", Some(inst)).await)
        }
        @if let Ok(n) = q.assigned.trim().parse::<u64>() {
            p class="alert ok" role="status" { (p.t("담당자를 지정했습니다: ", "Assignee set on ")) (n) (p.t("건", " findings")) }
        }
        (error_summary(p.lang, &all_errors))
        ul class="cards" {
            @for pr in PRIORITIES {
                @let row = summary.iter().find(|s| s.priority == pr);
                li class="card" {
                    span class="figure" { (count_text(row.map_or(0, |r| r.open))) }
                    span class="label" { (priority_tag(p.lang, pr)) }
                    @if let Some(b) = row.map(|r| r.breached).filter(|b| *b > 0) {
                        " " span class="badge bad" { (p.t("기한 초과 ", "SLA breached ")) (count_text(b)) }
                    }
                }
            }
        }
        p class="actions" {
            a href=(amp("/patches/charts")) { (p.t("번다운·SLA 준수 차트", "Burn-down and SLA charts")) }
            a href=(amp("/patches")) { (p.t("패치 기록", "Patch records")) }
            @if manage { a href="/patches/new" { (p.t("패치 기록하기", "Record a patch")) } }
            a href="/feeds" { (p.t("위협 피드", "Threat feeds")) }
            a href="/advisories" { (p.t("긴급 패치 권고", "Emergency advisories")) }
            a href=(amp("/saas")) { (p.t("보안 SaaS", "Security SaaS")) }
        }
        form method="get" action="/queue" class="filters" aria-label=(p.t("대기열 필터", "Queue filters")) {
            @if !p.actor.role.is_institution_role() {
                input type="hidden" name="institution" value=(inst);
            }
            (filter_field("priority", p.t("우선순위", "Priority"), &all_errors, html! {
                select id="priority" name="priority" {
                    option value="" { (p.t("전체", "All")) }
                    @for pr in PRIORITIES {
                        option value=(pr) selected[q.priority.trim() == pr] { (state_label(p.lang, pr)) }
                    }
                }
            }))
            (filter_field("resource", p.t("전산자원", "Resource"), &all_errors, html! {
                select id="resource" name="resource" {
                    option value="" { (p.t("전체", "All")) }
                    @for r in &resources {
                        option value=(r.id) selected[q.resource.trim() == r.id.to_string()] { (r.name) }
                    }
                }
            }))
            (filter_field("assignee", p.t("담당자", "Assignee"), &all_errors, html! {
                select id="assignee" name="assignee" {
                    option value="" { (p.t("전체", "All")) }
                    option value="none" selected[q.assignee.trim() == "none"] { (p.t("미지정", "Unassigned")) }
                    @for u in &users {
                        option value=(u.id) selected[q.assignee.trim() == u.id.to_string()] { (u.display_name) }
                    }
                }
            }))
            div class="field" {
                label {
                    input type="checkbox" name="breached" value="1" checked[breached];
                    " " (p.t("기한 초과만", "SLA breached only"))
                }
            }
            button type="submit" { (p.t("적용", "Apply")) }
        }
        @if entries.is_empty() {
            p class="muted" { (p.t("조건에 맞는 미조치 취약점이 없습니다.", "No open findings match.")) }
        } @else {
            form method="post" action="/queue/assign" id="assign-form" {
                (p.csrf_field())
                input type="hidden" name="return" value=(p.here);
                @if manage {
                    fieldset class="filters" {
                        legend { (p.t("선택한 취약점의 담당자 지정", "Assign the selected findings")) }
                        div class={ "field" @if field_error(&form_errors, "assignee_user_id").is_some() { " invalid" } } {
                            label for="assign-to" { (p.t("담당자", "Assignee")) }
                            select id="assign-to" name="assignee_user_id" {
                                option value="none" { (p.t("— 지정 해제 —", "— clear —")) }
                                @for u in &users {
                                    option value=(u.id) { (u.display_name) " (" (u.username) ")" }
                                }
                            }
                            @if let Some(m) = field_error(&form_errors, "assignee_user_id") {
                                p class="field-error" role="alert" { (m) }
                            }
                        }
                        button type="submit" class="primary" { (p.t("지정", "Assign")) }
                        @if let Some(m) = field_error(&form_errors, "finding_ids") {
                            p class="field-error" id="finding_ids" role="alert" { (m) }
                        }
                    }
                }
                div class="table-wrap" {
                    table {
                        caption class="visually-hidden" { (p.t("우선순위, 기한 순 미조치 취약점", "Open findings by priority, then due date")) }
                        thead {
                            tr {
                                @if manage { th scope="col" { span class="visually-hidden" { (p.t("선택", "Select")) } } }
                                th scope="col" { (p.t("우선순위", "Priority")) }
                                th scope="col" { (p.t("조치 기한", "Due")) }
                                th scope="col" { (p.t("취약점", "Finding")) }
                                th scope="col" { "CVE" }
                                th scope="col" { (p.t("전산자원", "Resource")) }
                                th scope="col" { (p.t("상태", "Status")) }
                                th scope="col" { (p.t("담당자", "Assignee")) }
                                th scope="col" { (p.t("결정 행", "Decision row")) }
                            }
                        }
                        tbody {
                            @for e in entries {
                                @let f = &e.item;
                                tr class=[e.sla_breached.then_some("breach")] {
                                    @if manage {
                                        td {
                                            input type="checkbox" name="finding" value=(f.id) id={ "f-" (f.id) }
                                                aria-label={ (p.t("취약점 선택 #", "Select finding #")) (f.id) };
                                        }
                                    }
                                    td { (priority_tag(p.lang, &f.priority)) }
                                    td {
                                        (f.due_date)
                                        @if e.sla_breached {
                                            " " span class="badge bad" { (p.t("기한 초과 ", "SLA breached by ")) (-e.days_left) (p.t("일", " d")) }
                                        } @else if e.days_left <= 2 {
                                            " " span class="badge warn" { (p.t("임박 ", "due in ")) (e.days_left) (p.t("일", " d")) }
                                        }
                                    }
                                    td {
                                        a href={ "/queue/" (f.id) } { "#" (f.id) } " "
                                        (clip(&f.message, 90))
                                        @if let Some(r) = &f.rule_id { br; span class="muted small" { (r) } }
                                        @if f.cluster_size > 1 { br; a href={ "/queue/" (f.id) "#cluster" } { (crate::portal::findings::cluster::reported_by(p.lang, f.cluster_size, f.cluster_tools, f.cluster_ai_models)) } }
                                    }
                                    td { @for c in &f.cves { (c) br; } }
                                    td { (f.resource_name.as_deref().unwrap_or("—")) }
                                    td { (state_label(p.lang, &f.status)) }
                                    td { @match f.assignee_user_id { Some(u) => (user_name(&users, u)), None => span class="muted" { (p.t("미지정", "Unassigned")) } } }
                                    td { code { (f.priority_row.as_deref().unwrap_or("—")) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        (pager(p.lang, &base, page, has_next))
    };
    p.page_with(status, title, body)
}

fn filter_field(name: &str, label: &str, errors: &[FieldError], input: Markup) -> Markup {
    super::super::control(label, name, errors, input)
}

/// Bulk assignment: `finding` repeated (checkboxes), `assignee_user_id` ("none" clears).
pub async fn assign(State(st): State<AppState>, f: CsrfForm<Vec<(String, String)>>) -> Response {
    let p = f.portal;
    let fields = f.form;
    // A role that may not assign is refused before anything else is looked at.
    if let Err(e) = haechi_service::authz::authorize(&p.actor, Action::ManageFindings) {
        return p.error(e);
    }
    let ret = fields
        .iter()
        .find(|(k, _)| k == "return")
        .map(|(_, v)| local_path(Some(v)))
        .filter(|r| r.starts_with("/queue"))
        .unwrap_or_else(|| "/queue".to_string());
    let query: QueueQuery = ret
        .split_once('?')
        .and_then(|(_, q)| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let mut errors = Vec::new();
    let mut ids = Vec::new();
    for (k, v) in &fields {
        if k == "finding" {
            match v.trim().parse::<i64>() {
                Ok(id) => ids.push(id),
                Err(_) => errors.push(FieldError::new(
                    "finding_ids",
                    format!(
                        "'{v}': {}",
                        p.t("취약점 번호가 아닙니다.", "not a finding number.")
                    ),
                )),
            }
        }
    }
    if ids.is_empty() && errors.is_empty() {
        errors.push(FieldError::new(
            "finding_ids",
            p.t(
                "담당자를 지정할 취약점을 하나 이상 선택하십시오.",
                "Select at least one finding to assign.",
            ),
        ));
    }
    let assignee = match fields
        .iter()
        .find(|(k, _)| k == "assignee_user_id")
        .map(|(_, v)| v.trim())
        .unwrap_or("")
    {
        "" | "none" => None,
        v => match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(FieldError::new(
                    "assignee_user_id",
                    p.t(
                        "담당자를 목록에서 고르십시오.",
                        "Choose an assignee from the list.",
                    ),
                ));
                None
            }
        },
    };
    let inst = match scope(&p, &st, &query.institution).await {
        Ok(Some(i)) => i,
        Ok(None) => return p.error(ServiceError::NotFound),
        Err(resp) => return resp,
    };
    if !errors.is_empty() {
        return render(&p, &st, &query, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match st.svc.assign_findings(&p.actor, inst, &ids, assignee).await {
        Ok(n) => {
            let sep = if ret.contains('?') { '&' } else { '?' };
            Redirect::to(&format!("{ret}{sep}assigned={n}")).into_response()
        }
        Err(e) if !e.field_errors().is_empty() => {
            let errs = e.field_errors().to_vec();
            render(&p, &st, &query, errs, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => p.error(e),
    }
}

// ================================================================================ explanation

/// Labels of the evidence fields an input may carry.
fn detail_label(p: &Portal, source: &str, key: &str) -> String {
    match (source, key) {
        ("KEV", "date") => return p.t("KEV 등재일", "Added to KEV").into(),
        ("EPSS", "date") => return p.t("EPSS 점수 기준일", "EPSS score date").into(),
        ("advisory", "date") => return p.t("권고 게시일", "Advisory published").into(),
        _ => {}
    }
    match key {
        "cve" => "CVE".into(),
        "date" => p.t("근거 일자", "Date").into(),
        "catalog_date" => p.t("KEV 목록 일자", "KEV catalog date").into(),
        "epss" => p.t("EPSS 확률", "EPSS probability").into(),
        "percentile" => p.t("EPSS 백분위", "EPSS percentile").into(),
        "threshold" => p.t("정책 임계값", "Policy threshold").into(),
        "model_version" => p.t("EPSS 모델 버전", "EPSS model version").into(),
        "advisory_id" => p.t("권고 번호", "Advisory").into(),
        "resource" => p.t("전산자원", "Resource").into(),
        "resource_id" => p.t("자원 번호", "Resource id").into(),
        "network_zone" => p.t("네트워크 구역", "Network zone").into(),
        "decided_by" => p.t("분류 규칙", "Classified by rule").into(),
        "policy_version" => p
            .t("분류 정책 버전", "Classification policy version")
            .into(),
        "version" => p.t("CVSS 버전", "CVSS version").into(),
        "metric" => p.t("지표 출처", "Metric from").into(),
        "score" => p.t("CVSS 점수", "CVSS score").into(),
        "security_severity" => p
            .t("SARIF security-severity", "SARIF security-severity")
            .into(),
        "note" => p.t("비고", "Note").into(),
        "cwes" => p.t("취약점의 CWE", "The finding's CWEs").into(),
        "cwe" => p.t("분류를 정한 CWE", "CWE that decided").into(),
        "matched" => p
            .t("정책 표에 등재된 CWE", "CWE listed in the policy table")
            .into(),
        "path" => p.t("상위 CWE 경로", "Inherited through").into(),
        "label" => p.t("약점 분류", "Weakness class").into(),
        "tool" => p.t("도구", "Tool").into(),
        "ai_model" => p.t("AI 모델", "AI model").into(),
        "property" => p.t("SARIF 결과 속성", "SARIF result property").into(),
        "property_value" => p.t("속성 값", "Property value").into(),
        other => other.to_string(),
    }
}

/// One evidence detail as shown: CWE numbers as `CWE-n`, an inheritance path as a chain, the
/// service's fixed notes in the page's language.
fn detail_value(p: &Portal, key: &str, v: &Value) -> String {
    let cwe = |v: &Value| v.as_u64().map(|n| format!("CWE-{n}"));
    match (key, v) {
        ("cwe" | "matched", v) if v.is_u64() => cwe(v).unwrap_or_default(),
        ("cwes", Value::Array(items)) if items.is_empty() => p.t("없음", "none").into(),
        ("cwes", Value::Array(items)) => {
            items.iter().filter_map(cwe).collect::<Vec<_>>().join(", ")
        }
        ("path", Value::Array(items)) => {
            items.iter().filter_map(cwe).collect::<Vec<_>>().join(" → ")
        }
        ("note", Value::String(s)) => note_label(p, s),
        (_, v) => json_text(v),
    }
}

/// The fixed notes the service writes into evidence, in the page's language (an unknown note
/// is shown as stored).
fn note_label(p: &Portal, note: &str) -> String {
    match note {
        "no CVSS vector says the attack can be automated" => p.t(
            "공격 자동화 가능 여부를 알려 주는 CVSS 벡터가 없음",
            "no CVSS vector says the attack can be automated",
        ),
        "not in KEV, no advisory, no EPSS score" => p.t(
            "KEV 미등재, 당국 권고 없음, EPSS 점수 없음",
            "not in KEV, no advisory, no EPSS score",
        ),
        "no resource linked: assumed internet-facing" => p.t(
            "연결된 전산자원 없음: 인터넷 노출로 간주",
            "no resource linked: assumed internet-facing",
        ),
        "no resource linked: assumed class C" => p.t(
            "연결된 전산자원 없음: 기밀(C) 등급으로 간주",
            "no resource linked: assumed class C",
        ),
        other => return other.to_string(),
    }
    .to_string()
}

fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// A network zone's label.
fn zone_label(p: &Portal, zone: &str) -> String {
    match zone {
        "internal" => p
            .t("내부 업무망(분리망)", "Internal separated network")
            .into(),
        "dmz" => "DMZ".into(),
        "internet" => p.t("인터넷 접점", "Internet-facing").into(),
        "external_saas" => p.t("외부 SaaS", "External SaaS").into(),
        other => other.into(),
    }
}

/// The conditions of a decision row, as "input: any of values".
fn condition_text(p: &Portal, when: &Value) -> Markup {
    let Some(obj) = when.as_object().filter(|o| !o.is_empty()) else {
        return html! { span class="muted" { (p.t("조건 없음 (나머지 전부)", "No condition (everything else)")) } };
    };
    html! {
        @for (i, (k, v)) in obj.iter().enumerate() {
            @if i > 0 { (p.t(" 그리고 ", " and ")) }
            (state_label(p.lang, k)) " = "
            @match v {
                Value::Array(items) => {
                    @for (j, item) in items.iter().enumerate() {
                        @if j > 0 { (p.t(" 또는 ", " or ")) }
                        strong { (value_label(p.lang, k, &json_text(item))) }
                    }
                }
                other => strong { (value_label(p.lang, k, &json_text(other))) }
            }
        }
    }
}

pub async fn explain(p: Portal, State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.trim().parse::<i64>() else {
        return p.error(ServiceError::NotFound);
    };
    let explanation = match st.svc.finding_priority(&p.actor, id).await {
        Ok(w) => w,
        Err(e) => return p.error(e),
    };
    let why = &explanation.stored;
    // The inputs as stored with the decision, overlaid with the evidence behind each.
    let mut inputs = why
        .inputs
        .clone()
        .unwrap_or_else(|| Value::Object(Default::default()));
    if let (Some(obj), Some(ev)) = (inputs.as_object_mut(), explanation.evidence.as_object()) {
        for (k, v) in ev {
            obj.insert(k.clone(), v.clone());
        }
    }
    let finding = match st.svc.get_finding(&p.actor, id).await {
        Ok(f) => f.finding,
        Err(e) => return p.error(e),
    };
    let cluster = match st.svc.finding_cluster(&p.actor, id).await {
        Ok(c) => c,
        Err(e) => return p.error(e),
    };
    // The decision table of the version that decided (old versions stay readable).
    let policy = match why.policy_version {
        Some(v) if v == st.svc.policy().version => Some(st.svc.policy()),
        Some(v) => match st.svc.policy_version(&p.actor, v).await {
            Ok((_, text)) => haechi_policy::Policy::from_toml_str(&text)
                .ok()
                .map(|mut pol| {
                    pol.version = v;
                    std::sync::Arc::new(pol)
                }),
            Err(_) => None,
        },
        None => None,
    };
    let title = format!("{} #{id}", p.t("우선순위 근거", "Priority explanation"));
    let open = matches!(why.status.as_str(), "open" | "in_progress");
    let today = st.svc.today().to_string();
    let breached = open && why.due_date.as_deref().is_some_and(|d| d < today.as_str());
    let class = inputs
        .pointer("/class/value")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let sla_days = inputs.get("sla_days").and_then(Value::as_i64).or_else(|| {
        let pol = policy.as_ref()?;
        let prio = haechi_policy::Priority::ALL
            .into_iter()
            .find(|x| Some(x.as_str()) == why.priority.as_deref())?;
        let by_class = pol
            .priority
            .sla_days_by_class
            .iter()
            .find(|(c, _)| c.as_str() == class)
            .and_then(|(_, t)| t.get(&prio));
        by_class
            .or_else(|| pol.priority.sla_days.get(&prio))
            .map(|d| i64::from(*d))
    });
    let row_id = why.row.clone().unwrap_or_default();
    let body = html! {
        h1 { (p.t("우선순위 근거", "Priority explanation")) " — " (p.t("취약점 #", "finding #")) (id) }
        p { (clip(&finding.message, 300)) }
        dl class="facts" {
            dt { (p.t("우선순위", "Priority")) }
            dd {
                @match &why.priority { Some(pr) => (priority_tag(p.lang, pr)), None => span class="muted" { (p.t("아직 결정되지 않음", "Not decided yet")) } }
            }
            dt { (p.t("조치 기한", "Due date")) }
            dd {
                (why.due_date.as_deref().unwrap_or("—"))
                @if let Some(d) = sla_days { " (" (p.t("SLA ", "SLA ")) (d) (p.t("일", " days")) ")" }
                @if breached { " " span class="badge bad" { (p.t("기한 초과", "SLA breached")) } }
            }
            dt { (p.t("결정한 행", "Deciding row")) }
            dd { code { (row_id) } }
            dt { (p.t("정책 버전", "Policy version")) }
            dd { @match why.policy_version { Some(v) => (v), None => "—" } }
            dt { (p.t("결정 시각", "Decided at")) }
            dd { @match &why.decided_at { Some(t) => (minute_of(t)), None => "—" } }
            dt { (p.t("상태", "Status")) }
            dd { (state_label(p.lang, &why.status)) }
            dt { "CVE" }
            dd { @if finding.cves.is_empty() { "—" } @for c in &finding.cves { (c) " " } }
            dt { (p.t("발견일", "Found on")) }
            dd { (date_of(&why.created_at)) }
        }
        p class="actions" {
            @if open && p.may(Action::ManageFindings) {
                a class="button primary" href={ "/patches/new?finding=" (id) } { (p.t("패치 기록하기", "Record a patch")) }
            }
            a href={ "/findings/" (id) } { (p.t("취약점 상세", "Finding details")) }
            a href="/queue" { (p.t("대기열로", "Back to the queue")) }
        }
        (crate::portal::findings::cluster::section(p.lang, id, &cluster))
        h2 { (p.t("입력값과 근거", "Inputs and their evidence")) }
        @if inputs.as_object().is_none_or(|o| o.is_empty()) {
            p class="muted" { (p.t("아직 입력값이 기록되지 않았습니다.", "No inputs have been recorded yet.")) }
        } @else {
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" { (p.t("입력", "Input")) }
                        th scope="col" { (p.t("값", "Value")) }
                        th scope="col" { (p.t("출처", "Source")) }
                        th scope="col" { (p.t("근거 세부", "Evidence")) }
                    } }
                    tbody {
                        @for key in ["authority_advisory", "exploitation", "weakness", "exposure", "automatable", "class", "severity"] {
                            @let item = inputs.get(key).cloned().unwrap_or(Value::Null);
                            tr {
                                th scope="row" { (state_label(p.lang, key)) }
                                td { strong { (value_label(p.lang, key, &json_text(item.get("value").unwrap_or(&Value::Null)))) } }
                                td { (state_label(p.lang, &json_text(item.get("source").unwrap_or(&Value::Null)))) }
                                td {
                                    @if let Some(obj) = item.as_object() {
                                        ul class="small evidence" {
                                            @if let Some(label) = item.get(p.t("label_ko", "label_en")).and_then(Value::as_str) {
                                                li { (detail_label(&p, "", "label")) ": " (label) }
                                            }
                                            @for (k, v) in obj.iter().filter(|(k, v)| !matches!(k.as_str(), "value" | "source" | "label_ko" | "label_en") && !v.is_null()) {
                                                li {
                                                    (detail_label(&p, item.get("source").and_then(Value::as_str).unwrap_or(""), k)) ": "
                                                    @if k == "network_zone" { (zone_label(&p, &json_text(v))) }
                                                    @else if k == "advisory_id" { a href="/advisories" { "#" (json_text(v)) } }
                                                    @else { (detail_value(&p, k, v)) }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (p.t("결정표", "Decision table")) }
        @match &policy {
            None => p class="muted" { (p.t("결정한 정책 버전을 읽을 수 없습니다.", "The deciding policy version could not be read.")) }
            Some(pol) => {
                p class="small muted" {
                    (p.t("위에서부터 차례로 평가하여 처음 맞는 행이 우선순위를 정합니다. 정책 버전 ", "Rows are evaluated top-down; the first that matches decides. Policy version "))
                    (pol.version)
                }
                div class="table-wrap" {
                    table {
                        thead { tr {
                            th scope="col" { (p.t("행", "Row")) }
                            th scope="col" { (p.t("조건", "Condition")) }
                            th scope="col" { (p.t("우선순위", "Priority")) }
                        } }
                        tbody {
                            @for r in &pol.priority.rows {
                                @let decided = r.id == row_id;
                                tr class=[decided.then_some("decided")] aria-current=[decided.then_some("true")] {
                                    td {
                                        code { (r.id) }
                                        @if decided { " " span class="badge ok" { (p.t("이 행이 결정", "This row decided")) } }
                                    }
                                    td { (condition_text(&p, &serde_json::to_value(&r.when).unwrap_or(Value::Null))) }
                                    td { (priority_tag(p.lang, r.priority.as_str())) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    p.page(&title, body)
}
