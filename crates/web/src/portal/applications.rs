//! Portal pages: applications (C3). The list, the CISO's application form (save as draft, evidence
//! upload, submit, withdraw) and one application with its content, evidence, decision and
//! status history. The officer's review of an application lives in `reviews.rs`.
//!
//! The form is parsed here into [`ApplicationContent`] (numbers and row indices checked with a
//! field error each); what the content must satisfy, and who may save or submit it, is the
//! service's decision.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use haechi_core::application::ApplicationContent;
use haechi_core::{Application, ApplicationAction, ApplicationState, FieldError, ServiceEntry};
use haechi_service::applications::ApplicationView;
use haechi_service::authz::Action;
use haechi_service::ServiceError;
use haechi_store::ApplicationFilter;
use maud::{html, Markup};
use serde::Deserialize;

use super::parse_id;
use super::{
    control, error_summary, field_error, pager, url_encode, CsrfForm, CsrfMultipart, Lang,
    PageRoute, Portal, PER_PAGE,
};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/applications", list),
        page_get!("/applications/new", new_form),
        page_post!("/applications/new", create),
        page_get!("/applications/{id}", view),
        page_get!("/applications/{id}/edit", edit_form),
        page_post!("/applications/{id}/edit", save),
        page_post!("/applications/{id}/attachments", upload),
        page_post!("/applications/{id}/transition", transition),
        page_get!("/attachments/{id}", download),
    ]
}

// ================================================================================ labels

/// The state of an application in the page's language.
pub fn state_label(lang: Lang, state: ApplicationState) -> &'static str {
    use ApplicationState as S;
    match state {
        S::Draft => lang.t("작성 중", "Draft"),
        S::Submitted => lang.t("제출됨", "Submitted"),
        S::Screening => lang.t("자격 심사", "Screening"),
        S::UnderReview => lang.t("전문가 평가 중", "Under review"),
        S::Evaluated => lang.t("평가 완료", "Evaluated"),
        S::Approved => lang.t("승인", "Approved"),
        S::Rejected => lang.t("거절", "Rejected"),
        S::Withdrawn => lang.t("철회", "Withdrawn"),
    }
}

/// A state label from its stored text (history rows keep states as text).
pub fn state_text_label(lang: Lang, state: &str) -> String {
    ApplicationState::parse(state)
        .map(|s| state_label(lang, s).to_string())
        .unwrap_or_else(|| state.to_string())
}

/// The state as a badge.
pub fn state_badge(lang: Lang, state: ApplicationState) -> Markup {
    use ApplicationState as S;
    let class = match state {
        S::Approved => "badge ok",
        S::Rejected => "badge bad",
        S::Draft | S::Evaluated => "badge warn",
        _ => "badge",
    };
    html! { span class=(class) data-state=(state.as_str()) { (state_label(lang, state)) } }
}

/// What was done to an application, in the page's language.
pub fn action_label(lang: Lang, action: &str) -> String {
    let (ko, en) = match action {
        "create" => ("작성 시작", "Draft started"),
        "submit" => ("제출", "Submitted"),
        "start_screening" => ("자격 심사 시작", "Screening started"),
        "start_review" => ("전문가 평가 시작", "Review started"),
        "return_for_correction" => ("보완 요청(반송)", "Returned for correction"),
        "complete_evaluation" => ("평가 집계 완료", "Evaluation completed"),
        "approve" => ("승인", "Approved"),
        "reject" => ("거절", "Rejected"),
        "withdraw" => ("철회", "Withdrawn"),
        other => return other.to_string(),
    };
    lang.t(ko, en).to_string()
}

fn kind_label(lang: Lang, kind: &str) -> String {
    match kind {
        "ai_service" => lang
            .t(
                "고성능 AI (취약점 점검)",
                "High-performance AI (vulnerability assessment)",
            )
            .into(),
        "saas" => lang.t("보안 SaaS", "Security SaaS").into(),
        other => other.to_string(),
    }
}

fn class_label(lang: Lang, class: &str) -> String {
    match class {
        "C" => lang.t("기밀 (C)", "Classified (C)").into(),
        "S" => lang.t("민감 (S)", "Sensitive (S)").into(),
        "O" => lang.t("공개 (O)", "Open (O)").into(),
        other => other.to_string(),
    }
}

const DATA_CLASSES: [&str; 3] = ["C", "S", "O"];

/// `YYYY-MM-DD` of a stored timestamp: the day in Korea (a stored date as it is).
pub fn day(ts: &str) -> String {
    super::kst_day(ts)
}

/// `YYYY-MM-DD HH:MM KST` of a stored timestamp.
pub fn minute(ts: &str) -> String {
    super::kst_minute(ts)
}

/// A short notice after a redirect (`?notice=`), in the page's language.
pub fn notice_text(lang: Lang, code: &str) -> Option<&'static str> {
    Some(match code {
        "saved" => lang.t("임시 저장했습니다.", "The draft was saved."),
        "submitted" => lang.t("신청서를 제출했습니다.", "The application was submitted."),
        "withdrawn" => lang.t("신청을 철회했습니다.", "The application was withdrawn."),
        "uploaded" => lang.t("증빙 파일을 올렸습니다.", "The evidence file was uploaded."),
        "moved" => lang.t(
            "신청 상태를 변경했습니다.",
            "The application's state was changed.",
        ),
        "decided" => lang.t("결정을 기록했습니다.", "The decision was recorded."),
        "assigned" => lang.t("평가위원을 배정했습니다.", "The reviewers were assigned."),
        "declared" => lang.t(
            "이해충돌 여부를 신고했습니다.",
            "Your conflict-of-interest declaration was recorded.",
        ),
        "scores_saved" => lang.t("점수를 임시 저장했습니다.", "Your scores were saved."),
        "scores_submitted" => lang.t("평가를 제출했습니다.", "Your review was submitted."),
        "user_enabled" => lang.t("사용자를 다시 사용하게 했습니다.", "The user was enabled."),
        "user_disabled" => lang.t(
            "사용자를 사용 중지하고 로그인 세션을 종료했습니다.",
            "The user was disabled and their sessions ended.",
        ),
        "role_changed" => lang.t(
            "역할과 소속을 바꾸고 로그인 세션을 종료했습니다.",
            "The role and institution were changed and the user's sessions ended.",
        ),
        "reviewer_removed" => lang.t(
            "평가위원을 배정에서 제외했습니다.",
            "The advisor was removed from the application.",
        ),
        "member_added" => lang.t(
            "확정된 대상 기관에 추가하고 비조치의견서 초안을 작성했습니다.",
            "The application was added to the confirmed cohort and its letter drafted.",
        ),
        "confirmed" => lang.t(
            "대상 기관을 확정했습니다. 각 기관의 비조치의견서 초안이 작성되었습니다.",
            "The cohort was confirmed. A draft no-action letter was written for each member.",
        ),
        _ => return None,
    })
}

pub fn notice(lang: Lang, code: Option<&str>) -> Markup {
    html! {
        @if let Some(text) = code.and_then(|c| notice_text(lang, c)) {
            p class="alert ok" role="status" { (text) }
        }
    }
}

// ================================================================================ list

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    notice: String,
}

async fn list(State(st): State<AppState>, p: Portal, Query(q): Query<ListQuery>) -> Response {
    let page = q.page.parse::<u32>().unwrap_or(1).max(1);
    let mut errors = Vec::new();
    let state = match q.state.as_str() {
        "" => None,
        s => match ApplicationState::parse(s) {
            Some(s) => Some(s),
            None => {
                errors.push(FieldError::new(
                    "state",
                    p.t("알 수 없는 상태입니다.", "Unknown state."),
                ));
                None
            }
        },
    };
    let title = p.t("신청", "Applications");
    let filters = html! {
        form method="get" action="/applications" class="filters" {
            (control(p.t("상태", "State"), "state", &errors, html! {
                select id="state" name="state" {
                    option value="" { (p.t("전체", "All")) }
                    @for s in ApplicationState::ALL {
                        option value=(s.as_str()) selected[state == Some(s)] { (state_label(p.lang, s)) }
                    }
                }
            }))
            button type="submit" { (p.t("보기", "Show")) }
        }
    };
    if !errors.is_empty() {
        let body = html! {
            h1 { (title) }
            (error_summary(p.lang, &errors))
            (filters)
        };
        return p.page_with(StatusCode::UNPROCESSABLE_ENTITY, title, body);
    }
    let filter = ApplicationFilter {
        institution_id: None,
        state,
        advisor_id: None,
        limit: i64::from(PER_PAGE) + 1,
        offset: i64::from(page - 1) * i64::from(PER_PAGE),
    };
    let (mut items, total) = match st.svc.list_applications(&p.actor, filter).await {
        Ok(r) => r,
        Err(e) => return p.error(e),
    };
    let has_next = items.len() > PER_PAGE as usize;
    items.truncate(PER_PAGE as usize);
    let base = match state {
        Some(s) => format!("/applications?state={}", s.as_str()),
        None => "/applications".to_string(),
    };
    let body = html! {
        h1 { (title) }
        (notice(p.lang, Some(q.notice.as_str())))
        @if p.may(Action::DraftApplication) {
            div class="actions" {
                a class="button primary" href="/applications/new" { (p.t("새 신청서 작성", "New application")) }
            }
        }
        (filters)
        p class="muted" { (p.t("전체 ", "Total: ")) (total) (p.t("건", "")) }
        @if items.is_empty() {
            p { (p.t("해당하는 신청이 없습니다.", "No applications match.")) }
        } @else {
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" class="num" { (p.t("번호", "No.")) }
                        th scope="col" { (p.t("기관", "Institution")) }
                        th scope="col" { (p.t("상태", "State")) }
                        th scope="col" { (p.t("작성일", "Created")) }
                        th scope="col" { (p.t("제출일", "Submitted")) }
                        th scope="col" { (p.t("허용 단계", "Phase")) }
                    } }
                    tbody {
                        @for a in &items {
                            tr {
                                td class="num" { a href={ "/applications/" (a.id) } { "#" (a.id) } }
                                td { a href={ "/applications/" (a.id) } { (a.institution_name) } }
                                td { (state_badge(p.lang, a.state)) }
                                td { (day(&a.created_at)) }
                                td { @if let Some(s) = &a.submitted_at { (day(s)) } @else { "—" } }
                                td { @if let Some(c) = &a.cohort_phase { (phase_label(&st, p.lang, c)) } @else { "—" } }
                            }
                        }
                    }
                }
            }
            (pager(p.lang, &base, page, has_next))
        }
    };
    p.page(title, body)
}

/// A phase's label from the policy in force, or its id.
pub fn phase_label(st: &AppState, lang: Lang, id: &str) -> String {
    st.svc
        .policy()
        .phase(id)
        .map(|ph| lang.t(&ph.label_ko, &ph.label_en).to_string())
        .unwrap_or_else(|| id.to_string())
}

// ================================================================================ the form

/// One services row as typed.
#[derive(Debug, Clone, Default)]
struct ServiceRow {
    kind: String,
    name: String,
    vendor: String,
    certifications: String,
    data_classes: Vec<String>,
}

impl ServiceRow {
    fn is_blank(&self) -> bool {
        self.name.trim().is_empty()
            && self.vendor.trim().is_empty()
            && self.certifications.trim().is_empty()
            && self.data_classes.is_empty()
    }
}

/// The application form as typed, so that a form with errors is shown again as the user left it.
#[derive(Debug, Clone, Default)]
struct Draft {
    ai_vulnerability_assessment: bool,
    security_saas: bool,
    services: Vec<ServiceRow>,
    internal_controls: String,
    self_assessment: BTreeMap<String, String>,
}

/// Blank services rows offered below the filled ones.
const BLANK_ROWS: usize = 2;
/// Rows the form offers at least.
const MIN_ROWS: usize = 3;
/// Rows a post may carry at most.
const MAX_ROWS: usize = 50;

impl Draft {
    fn of(c: &ApplicationContent) -> Draft {
        Draft {
            ai_vulnerability_assessment: c.ai_vulnerability_assessment,
            security_saas: c.security_saas,
            services: c
                .services
                .iter()
                .map(|s| ServiceRow {
                    kind: s.kind.clone(),
                    name: s.name.clone(),
                    vendor: s.vendor.clone(),
                    certifications: s.certifications.join(", "),
                    data_classes: s.data_classes.clone(),
                })
                .collect(),
            internal_controls: c.internal_controls.clone(),
            self_assessment: c
                .self_assessment
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
        }
    }

    /// Reads the posted fields; field errors for what cannot be read.
    fn parse(pairs: &[(String, String)], lang: Lang) -> (Draft, Vec<FieldError>) {
        let mut d = Draft::default();
        let mut errors = Vec::new();
        let mut rows: BTreeMap<usize, ServiceRow> = BTreeMap::new();
        for (k, v) in pairs {
            match k.as_str() {
                "ai_vulnerability_assessment" => d.ai_vulnerability_assessment = true,
                "security_saas" => d.security_saas = true,
                "internal_controls" => d.internal_controls = v.clone(),
                _ => {
                    if let Some(c) = k.strip_prefix("self_assessment.") {
                        d.self_assessment
                            .insert(c.to_string(), v.trim().to_string());
                    } else if let Some(rest) = k.strip_prefix("services[") {
                        let Some((idx, field)) = rest.split_once("].") else {
                            continue;
                        };
                        let Ok(i) = idx.parse::<usize>() else {
                            errors.push(FieldError::new(
                                "services",
                                lang.t(
                                    "서비스 행 번호가 올바르지 않습니다.",
                                    "A services row number is invalid.",
                                ),
                            ));
                            continue;
                        };
                        if i >= MAX_ROWS {
                            errors.push(FieldError::new(
                                "services",
                                match lang {
                                    Lang::Ko => {
                                        format!("서비스는 {MAX_ROWS}개까지 입력할 수 있습니다.")
                                    }
                                    Lang::En => {
                                        format!("At most {MAX_ROWS} services can be listed.")
                                    }
                                },
                            ));
                            continue;
                        }
                        let row = rows.entry(i).or_default();
                        match field {
                            "kind" => row.kind = v.clone(),
                            "name" => row.name = v.clone(),
                            "vendor" => row.vendor = v.clone(),
                            "certifications" => row.certifications = v.clone(),
                            "data_classes" => row.data_classes.push(v.clone()),
                            _ => {}
                        }
                    }
                }
            }
        }
        if let Some(last) = rows.keys().next_back().copied() {
            d.services = (0..=last)
                .map(|i| rows.remove(&i).unwrap_or_default())
                .collect();
        }
        errors.dedup();
        (d, errors)
    }

    /// The content to save, or the field errors of values that are not numbers. Blank rows are
    /// left out; `rows[k]` is the form row of `content.services[k]`.
    fn content(
        &self,
        lang: Lang,
        criteria: &[String],
    ) -> (ApplicationContent, Vec<usize>, Vec<FieldError>) {
        let mut errors = Vec::new();
        let mut rows = Vec::new();
        let mut services = Vec::new();
        for (i, r) in self.services.iter().enumerate() {
            if r.is_blank() {
                continue;
            }
            rows.push(i);
            services.push(ServiceEntry {
                kind: r.kind.trim().to_string(),
                name: r.name.trim().to_string(),
                vendor: r.vendor.trim().to_string(),
                certifications: r
                    .certifications
                    .split([',', '\n'])
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(String::from)
                    .collect(),
                data_classes: r.data_classes.clone(),
            });
        }
        let mut self_assessment = BTreeMap::new();
        for (k, v) in &self.self_assessment {
            if v.is_empty() {
                continue;
            }
            if !criteria.contains(k) {
                errors.push(FieldError::new(
                    format!("self_assessment.{k}"),
                    lang.t(
                        "정책에 없는 평가 항목입니다.",
                        "is not a criterion of the policy",
                    ),
                ));
                continue;
            }
            match v.parse::<u8>() {
                Ok(n) => {
                    self_assessment.insert(k.clone(), n);
                }
                Err(_) => errors.push(FieldError::new(
                    format!("self_assessment.{k}"),
                    lang.t(
                        "1~4 사이의 숫자를 고르십시오.",
                        "choose a level from 1 to 4",
                    ),
                )),
            }
        }
        let content = ApplicationContent {
            ai_vulnerability_assessment: self.ai_vulnerability_assessment,
            security_saas: self.security_saas,
            services,
            internal_controls: self.internal_controls.trim().to_string(),
            self_assessment,
        };
        (content, rows, errors)
    }
}

/// Renames `services[k]…` errors of the saved list to the form row they came from.
fn to_form_rows(errors: &[FieldError], rows: &[usize]) -> Vec<FieldError> {
    errors
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if let Some(rest) = e.field.strip_prefix("services[") {
                if let Some((idx, tail)) = rest.split_once(']') {
                    if let Some(row) = idx.parse::<usize>().ok().and_then(|k| rows.get(k)) {
                        e.field = format!("services[{row}]{tail}");
                    }
                }
            }
            e
        })
        .collect()
}

/// The rubric ids of the policy in force.
fn criteria_ids(st: &AppState) -> Vec<String> {
    st.svc
        .policy()
        .evaluation
        .criteria
        .iter()
        .map(|c| c.id.clone())
        .collect()
}

/// What a form page needs besides the draft.
struct FormPage<'a> {
    /// `None` for a new application.
    app: Option<&'a Application>,
    /// The application's history (for the officer's comments of a return).
    events: &'a [haechi_store::ApplicationEvent],
    attachments: &'a [haechi_store::AttachmentMeta],
    errors: &'a [FieldError],
    alert: Option<String>,
    status: StatusCode,
}

fn form_page(st: &AppState, p: &Portal, d: &Draft, f: FormPage<'_>) -> Response {
    let policy = st.svc.policy();
    let errors = f.errors;
    let (title, action) = match f.app {
        Some(a) => (
            format!("{} #{}", p.t("신청서 수정", "Edit application"), a.id),
            format!("/applications/{}/edit", a.id),
        ),
        None => (
            p.t("새 신청서", "New application").to_string(),
            "/applications/new".to_string(),
        ),
    };
    let row_count = (d.services.len() + BLANK_ROWS).clamp(MIN_ROWS, MAX_ROWS);
    let empty = ServiceRow::default();
    let scope_err = field_error(errors, "scope");
    let services_err = field_error(errors, "services");
    let body = html! {
        h1 { (title) }
        @if let Some(a) = f.app {
            p { a href={ "/applications/" (a.id) } { "← " (p.t("신청서 보기", "Back to the application")) } }
            (returned_notice(p, a, Some(f.events)))
        }
        @if let Some(m) = &f.alert {
            p class="alert error" role="alert" { (m) }
        }
        (error_summary(p.lang, errors))
        p class="muted" { (p.t(
            "임시 저장은 언제든 할 수 있습니다. 제출하려면 범위, 서비스 1개 이상, 내부통제 방안(20자 이상), 모든 항목의 자체 평가가 필요합니다.",
            "You may save a draft at any time. To submit, give the scope, at least one service, the internal-control measures (20 characters or more) and a self-assessment level for every criterion.",
        )) }
        form method="post" action=(action) class="stack" novalidate {
            (p.csrf_field())
            fieldset id="scope" class={ "field" @if scope_err.is_some() { " invalid" } } {
                legend { (p.t("신청 범위", "Requested scope")) }
                label {
                    input type="checkbox" name="ai_vulnerability_assessment" value="on" checked[d.ai_vulnerability_assessment];
                    " " (p.t("고성능 AI를 이용한 취약점 점검", "Vulnerability assessment with high-performance AI"))
                }
                label {
                    input type="checkbox" name="security_saas" value="on" checked[d.security_saas];
                    " " (p.t("보안 SaaS 이용", "Use of security SaaS"))
                }
                @if let Some(m) = scope_err { p class="field-error" id="scope-error" role="alert" { (m) } }
            }
            fieldset id="services" class={ "field" @if services_err.is_some() { " invalid" } } {
                legend { (p.t("이용할 AI 서비스·SaaS 제품", "AI services and SaaS products")) }
                p class="muted small" { (p.t(
                    "빈 행은 저장하지 않습니다. 더 입력하려면 저장한 뒤 다시 수정하십시오.",
                    "Blank rows are not saved. To add more, save and edit again.",
                )) }
                @if let Some(m) = services_err { p class="field-error" id="services-error" role="alert" { (m) } }
                @for i in 0..row_count {
                    @let r = d.services.get(i).unwrap_or(&empty);
                    @let n = |f: &str| format!("services[{i}].{f}");
                    fieldset class="service-row" {
                        legend { (p.t("서비스 ", "Service ")) (i + 1) }
                        div class="service-grid" {
                            (control(p.t("구분", "Kind"), &n("kind"), errors, html! {
                                select id=(n("kind")) name=(n("kind")) {
                                    @for k in ["ai_service", "saas"] {
                                        option value=(k) selected[r.kind == k] { (kind_label(p.lang, k)) }
                                    }
                                }
                            }))
                            (control(p.t("제품·모델명", "Product or model"), &n("name"), errors, html! {
                                input type="text" id=(n("name")) name=(n("name")) value=(r.name) maxlength="200";
                            }))
                            (control(p.t("공급사", "Vendor"), &n("vendor"), errors, html! {
                                input type="text" id=(n("vendor")) name=(n("vendor")) value=(r.vendor) maxlength="200";
                            }))
                            (control(p.t("인증 (쉼표로 구분: ISO/IEC 27001, SOC 2, CSAP)", "Certifications (comma-separated: ISO/IEC 27001, SOC 2, CSAP)"), &n("certifications"), errors, html! {
                                input type="text" id=(n("certifications")) name=(n("certifications")) value=(r.certifications) maxlength="500";
                            }))
                        }
                        @let dc = n("data_classes");
                        @let dc_err = field_error(errors, &dc);
                        fieldset id=(dc) class={ "field" @if dc_err.is_some() { " invalid" } } {
                            legend { (p.t("전달될 수 있는 데이터 등급", "Data classes that may reach it")) }
                            @for c in DATA_CLASSES {
                                label class="check" {
                                    input type="checkbox" name=(dc) value=(c) checked[r.data_classes.iter().any(|x| x == c)];
                                    " " (class_label(p.lang, c))
                                }
                            }
                            @if let Some(m) = dc_err { p class="field-error" role="alert" { (m) } }
                        }
                    }
                }
            }
            (control(p.t("망분리를 대체하는 내부통제 방안", "Internal-control measures that replace network separation"), "internal_controls", errors, html! {
                textarea id="internal_controls" name="internal_controls" rows="6" maxlength="20000" { (d.internal_controls) }
            }))
            fieldset id="self_assessment" {
                legend { (p.t("자체 평가 (성숙도 1~4)", "Self-assessment (maturity 1-4)")) }
                div class="service-grid" {
                    @for c in &policy.evaluation.criteria {
                        @let name = format!("self_assessment.{}", c.id);
                        @let value = d.self_assessment.get(&c.id).map(String::as_str).unwrap_or("");
                        (control(p.t(&c.label_ko, &c.label_en), &name, errors, html! {
                            select id=(name) name=(name) {
                                option value="" { (p.t("선택", "Choose")) }
                                @for l in &policy.evaluation.scale {
                                    @let v = l.level.to_string();
                                    option value=(v) selected[value == v] { (l.level) " · " (p.t(&l.label_ko, &l.label_en)) }
                                }
                            }
                        }))
                    }
                }
            }
            @if f.app.is_none() {
                p class="muted" { (p.t("증빙 파일은 임시 저장한 뒤 올릴 수 있습니다.", "Evidence files can be attached once the draft is saved.")) }
            }
            div class="actions" {
                button type="submit" name="intent" value="save" class="primary" { (p.t("임시 저장", "Save draft")) }
                @if p.may(Action::SignApplication) {
                    button type="submit" name="intent" value="submit" data-confirm=(p.t("저장하고 제출하시겠습니까?", "Save and submit the application?")) { (p.t("저장 후 제출", "Save and submit")) }
                }
            }
        }
        @if let Some(a) = f.app {
            (attachments_section(st, p, a.id, a.state, f.attachments))
        }
    };
    p.page_with(f.status, &title, body)
}

/// The officer's comments of the last return for correction, on a draft.
fn returned_notice(
    p: &Portal,
    app: &Application,
    events: Option<&[haechi_store::ApplicationEvent]>,
) -> Markup {
    let last = events.and_then(|e| e.iter().rev().find(|e| e.action == "return_for_correction"));
    html! {
        @if app.state == ApplicationState::Draft {
            @if let Some(e) = last {
                div class="alert warn" role="status" {
                    p { strong { (p.t("보완 요청", "Returned for correction")) } " · " (day(&e.at)) " · " (e.actor_name) }
                    @if let Some(c) = &e.comment { p class="prewrap" { (c) } }
                }
            }
        }
    }
}

async fn new_form(State(st): State<AppState>, p: Portal) -> Response {
    if let Err(e) = haechi_service::authz::authorize(&p.actor, Action::DraftApplication) {
        return p.error(e);
    }
    let d = Draft {
        services: Vec::new(),
        ..Default::default()
    };
    form_page(
        &st,
        &p,
        &d,
        FormPage {
            app: None,
            events: &[],
            attachments: &[],
            errors: &[],
            alert: None,
            status: StatusCode::OK,
        },
    )
}

fn intent_of(pairs: &[(String, String)]) -> &str {
    pairs
        .iter()
        .find(|(k, _)| k == "intent")
        .map(|(_, v)| v.as_str())
        .unwrap_or("save")
}

/// A message for a refused save or submit that is not about one field.
fn rule_message(p: &Portal, e: &ServiceError) -> String {
    if e.code() == "reviewers_missing" {
        // The counts are on the page beside the button ("0 / 3 …"); the service's sentence is
        // English, so the Korean page says it in its own words.
        let en = format!("This could not be done: {e}");
        return p
            .t(
                "처리할 수 없습니다: 이해충돌이 없다고 신고한 평가위원이 정책상 인원보다 적습니다. \
                 평가위원을 더 배정하거나 신고를 기다리십시오.",
                &en,
            )
            .to_string();
    }
    format!(
        "{} {e}",
        p.t("처리할 수 없습니다:", "This could not be done:")
    )
}

async fn create(State(st): State<AppState>, f: CsrfForm<Vec<(String, String)>>) -> Response {
    let p = f.portal;
    // The role is checked before the form, so a refused role never learns about field errors.
    if let Err(e) = haechi_service::authz::authorize(&p.actor, Action::DraftApplication) {
        return p.error(e);
    }
    let (d, mut errors) = Draft::parse(&f.form, p.lang);
    let (content, rows, more) = d.content(p.lang, &criteria_ids(&st));
    errors.extend(more);
    let page = |errors: &[FieldError], alert: Option<String>, status| {
        form_page(
            &st,
            &p,
            &d,
            FormPage {
                app: None,
                events: &[],
                attachments: &[],
                errors,
                alert,
                status,
            },
        )
    };
    if !errors.is_empty() {
        return page(&errors, None, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let app = match st.svc.create_application(&p.actor, content).await {
        Ok(a) => a,
        Err(e) if !e.field_errors().is_empty() => {
            return page(
                &to_form_rows(e.field_errors(), &rows),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e @ (ServiceError::Rule { .. } | ServiceError::Domain(_))) => {
            return page(&[], Some(rule_message(&p, &e)), StatusCode::CONFLICT)
        }
        Err(e) => return p.error(e),
    };
    after_save(&st, &p, &d, &app, &[], &[], &rows, intent_of(&f.form)).await
}

/// After a successful save: submit when asked, then back to the application.
async fn after_save(
    st: &AppState,
    p: &Portal,
    d: &Draft,
    app: &Application,
    events: &[haechi_store::ApplicationEvent],
    attachments: &[haechi_store::AttachmentMeta],
    rows: &[usize],
    intent: &str,
) -> Response {
    if intent != "submit" {
        return Redirect::to(&format!("/applications/{}?notice=saved", app.id)).into_response();
    }
    match st
        .svc
        .transition(&p.actor, app.id, ApplicationAction::Submit, None)
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/applications/{}?notice=submitted", app.id)).into_response()
        }
        Err(e) if !e.field_errors().is_empty() => form_page(
            st,
            p,
            d,
            FormPage {
                app: Some(app),
                events,
                attachments,
                errors: &to_form_rows(e.field_errors(), rows),
                alert: Some(
                    p.t(
                        "임시 저장은 되었으나 제출하지 못했습니다. 아래 항목을 보완하십시오.",
                        "The draft was saved but not submitted. Complete the fields below.",
                    )
                    .to_string(),
                ),
                status: StatusCode::UNPROCESSABLE_ENTITY,
            },
        ),
        Err(e) => p.error(e),
    }
}

async fn edit_form(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    let view = match load(&st, &p, &id).await {
        Ok(v) => v,
        Err(e) => return p.error(e),
    };
    if let Err(e) = haechi_service::authz::authorize(&p.actor, Action::DraftApplication) {
        return p.error(e);
    }
    let app = &view.application;
    let alert = (app.state != ApplicationState::Draft).then(|| {
        p.t(
            "작성 중인 신청서만 수정할 수 있습니다.",
            "Only a draft can be edited.",
        )
        .to_string()
    });
    let d = Draft::of(&app.content);
    let body_status = if alert.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    form_page_with_events(&st, &p, &d, &view, &[], alert, body_status)
}

fn form_page_with_events(
    st: &AppState,
    p: &Portal,
    d: &Draft,
    view: &ApplicationView,
    errors: &[FieldError],
    alert: Option<String>,
    status: StatusCode,
) -> Response {
    form_page(
        st,
        p,
        d,
        FormPage {
            app: Some(&view.application),
            events: &view.events,
            attachments: &view.attachments,
            errors,
            alert,
            status,
        },
    )
}

async fn save(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let p = f.portal;
    let view = match load(&st, &p, &id).await {
        Ok(v) => v,
        Err(e) => return p.error(e),
    };
    if let Err(e) = haechi_service::authz::authorize(&p.actor, Action::DraftApplication) {
        return p.error(e);
    }
    let (d, mut errors) = Draft::parse(&f.form, p.lang);
    let (content, rows, more) = d.content(p.lang, &criteria_ids(&st));
    errors.extend(more);
    if !errors.is_empty() {
        return form_page_with_events(
            &st,
            &p,
            &d,
            &view,
            &errors,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let app = match st
        .svc
        .update_application(&p.actor, view.application.id, content)
        .await
    {
        Ok(a) => a,
        Err(e) if !e.field_errors().is_empty() => {
            return form_page_with_events(
                &st,
                &p,
                &d,
                &view,
                &to_form_rows(e.field_errors(), &rows),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e @ (ServiceError::Rule { .. } | ServiceError::Domain(_))) => {
            return form_page_with_events(
                &st,
                &p,
                &d,
                &view,
                &[],
                Some(rule_message(&p, &e)),
                StatusCode::CONFLICT,
            )
        }
        Err(e) => return p.error(e),
    };
    after_save(
        &st,
        &p,
        &d,
        &app,
        &view.events,
        &view.attachments,
        &rows,
        intent_of(&f.form),
    )
    .await
}

async fn load(st: &AppState, p: &Portal, id: &str) -> Result<ApplicationView, ServiceError> {
    let id = parse_id(id)?;
    st.svc.get_application(&p.actor, id).await
}

// ================================================================================ one application

#[derive(Deserialize, Default)]
pub struct ViewQuery {
    #[serde(default)]
    notice: String,
}

impl ViewQuery {
    /// `?notice=` of a page reached by a redirect after a change.
    pub fn notice_code(&self) -> &str {
        &self.notice
    }
}

async fn view(
    State(st): State<AppState>,
    p: Portal,
    Path(id): Path<String>,
    Query(q): Query<ViewQuery>,
) -> Response {
    let view = match load(&st, &p, &id).await {
        Ok(v) => v,
        Err(e) => return p.error(e),
    };
    view_page(&st, &p, &view, Some(q.notice_code()), None, StatusCode::OK)
}

fn view_page(
    st: &AppState,
    p: &Portal,
    view: &ApplicationView,
    notice_code: Option<&str>,
    alert: Option<String>,
    status: StatusCode,
) -> Response {
    let app = &view.application;
    let title = format!(
        "{} #{} · {}",
        p.t("신청", "Application"),
        app.id,
        app.institution_name
    );
    let body = html! {
        h1 { (title) }
        (notice(p.lang, notice_code))
        @if let Some(m) = &alert { p class="alert error" role="alert" { (m) } }
        (returned_notice(p, app, Some(&view.events)))
        dl class="facts" {
            dt { (p.t("기관", "Institution")) } dd { (app.institution_name) }
            dt { (p.t("상태", "State")) } dd { (state_badge(p.lang, app.state)) }
            dt { (p.t("작성일", "Created")) } dd { (day(&app.created_at)) }
            dt { (p.t("최종 수정", "Last changed")) } dd { (day(&app.updated_at)) }
            dt { (p.t("제출일", "Submitted")) } dd { @if let Some(s) = &app.submitted_at { (day(s)) } @else { "—" } }
            @if let Some(c) = &app.cohort_phase {
                dt { (p.t("허용 단계", "Phase")) } dd { (phase_label(st, p.lang, c)) }
            }
        }
        div class="actions" {
            @if app.state == ApplicationState::Draft && p.may(Action::DraftApplication) {
                a class="button primary" href={ "/applications/" (app.id) "/edit" } { (p.t("수정", "Edit")) }
            }
            @if app.state == ApplicationState::Draft && p.may(Action::SignApplication) {
                form method="post" action={ "/applications/" (app.id) "/transition" } class="inline" data-confirm=(p.t("신청서를 제출하시겠습니까?", "Submit the application?")) {
                    (p.csrf_field())
                    input type="hidden" name="action" value="submit";
                    button type="submit" class="primary" { (p.t("제출", "Submit")) }
                }
            }
            @if !app.state.is_final() && p.may(Action::SignApplication) {
                form method="post" action={ "/applications/" (app.id) "/transition" } class="inline" data-confirm=(p.t("신청을 철회하시겠습니까? 되돌릴 수 없습니다.", "Withdraw the application? This cannot be undone.")) {
                    (p.csrf_field())
                    input type="hidden" name="action" value="withdraw";
                    button type="submit" class="danger" { (p.t("철회", "Withdraw")) }
                }
            }
            @if p.may(Action::ReadEvaluation) {
                a class="button" href={ "/applications/" (app.id) "/review" } { (p.t("심사·평가", "Review and decision")) }
            }
        }
        (content_section(st, p.lang, &app.content))
        (attachments_section(st, p, app.id, app.state, &view.attachments))
        @if let Some(d) = &view.decision {
            section {
                h2 { (p.t("결정", "Decision")) }
                (decision_facts(p.lang, d, view.override_reason.as_deref()))
            }
        }
        (history_section(p.lang, &view.events))
    };
    p.page_with(status, &title, body)
}

pub fn decision_facts(
    lang: Lang,
    d: &haechi_store::DecisionRecord,
    override_reason: Option<&str>,
) -> Markup {
    let outcome = ApplicationState::parse(&d.outcome);
    html! {
        dl class="facts" {
            dt { (lang.t("결과", "Outcome")) }
            dd { @if let Some(s) = outcome { (state_badge(lang, s)) } @else { (d.outcome) } }
            dt { (lang.t("사유", "Rationale")) } dd class="prewrap" { (d.rationale) }
            dt { (lang.t("평가 결과와 일치", "Follows the evaluation")) }
            dd { @if d.follows_evaluation { (lang.t("예", "Yes")) } @else { span class="badge warn" { (lang.t("아니오", "No")) } } }
            @if let Some(why) = override_reason {
                dt { (lang.t("평가 미달 승인 사유", "Override of the failed evaluation")) }
                dd class="prewrap" data-override="true" { span class="badge warn" { (lang.t("예외 승인", "Override")) } " " (why) }
            }
            dt { (lang.t("결정", "Decided")) } dd { (d.decided_on) " · " (d.decided_by) }
            dt { (lang.t("정책 버전", "Policy version")) } dd { (d.policy_version) }
        }
    }
}

/// What the institution asks for: scope, services, internal controls, self-assessment.
pub fn content_section(st: &AppState, lang: Lang, c: &ApplicationContent) -> Markup {
    let policy = st.svc.policy();
    html! {
        section {
            h2 { (lang.t("신청 내용", "Content")) }
            h3 { (lang.t("신청 범위", "Requested scope")) }
            ul {
                @if c.ai_vulnerability_assessment { li { (lang.t("고성능 AI를 이용한 취약점 점검", "Vulnerability assessment with high-performance AI")) } }
                @if c.security_saas { li { (lang.t("보안 SaaS 이용", "Use of security SaaS")) } }
                @if !c.ai_vulnerability_assessment && !c.security_saas { li class="muted" { (lang.t("선택하지 않음", "None chosen")) } }
            }
            h3 { (lang.t("AI 서비스·SaaS 제품", "AI services and SaaS products")) }
            @if c.services.is_empty() {
                p class="muted" { (lang.t("없음", "None")) }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr {
                            th scope="col" { (lang.t("구분", "Kind")) }
                            th scope="col" { (lang.t("제품·모델명", "Product or model")) }
                            th scope="col" { (lang.t("공급사", "Vendor")) }
                            th scope="col" { (lang.t("인증", "Certifications")) }
                            th scope="col" { (lang.t("데이터 등급", "Data classes")) }
                        } }
                        tbody {
                            @for s in &c.services {
                                tr {
                                    td { (kind_label(lang, &s.kind)) }
                                    td { (s.name) }
                                    td { (s.vendor) }
                                    td { (s.certifications.join(", ")) }
                                    td { (s.data_classes.iter().map(|d| class_label(lang, d)).collect::<Vec<_>>().join(", ")) }
                                }
                            }
                        }
                    }
                }
            }
            h3 { (lang.t("내부통제 방안", "Internal-control measures")) }
            @if c.internal_controls.is_empty() {
                p class="muted" { (lang.t("없음", "None")) }
            } @else {
                p class="prewrap" { (c.internal_controls) }
            }
            h3 { (lang.t("자체 평가", "Self-assessment")) }
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" { (lang.t("항목", "Criterion")) }
                        th scope="col" { (lang.t("영역", "Rubric")) }
                        th scope="col" class="num" { (lang.t("수준", "Level")) }
                    } }
                    tbody {
                        @for cr in &policy.evaluation.criteria {
                            tr {
                                td { (lang.t(&cr.label_ko, &cr.label_en)) }
                                td { (rubric_label(lang, cr.rubric)) }
                                td class="num" {
                                    @if let Some(l) = c.self_assessment.get(&cr.id) {
                                        (l)
                                        @if let Some(s) = policy.evaluation.scale.iter().find(|s| s.level == *l) {
                                            " · " (lang.t(&s.label_ko, &s.label_en))
                                        }
                                    } @else { "—" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub fn rubric_label(lang: Lang, r: haechi_policy::Rubric) -> &'static str {
    match r {
        haechi_policy::Rubric::Security => lang.t("보안관리 역량", "Security management"),
        haechi_policy::Rubric::Ai => lang.t("AI 활용 역량", "AI utilisation"),
    }
}

fn attachments_section(
    st: &AppState,
    p: &Portal,
    id: i64,
    state: ApplicationState,
    attachments: &[haechi_store::AttachmentMeta],
) -> Markup {
    let limit_mb = st.svc.config().max_attachment_bytes / (1024 * 1024);
    html! {
        section id="attachments" {
            h2 { (p.t("증빙 자료", "Evidence")) }
            (attachments_table(p.lang, attachments))
            @if !state.is_final() && p.may(Action::DraftApplication) {
                form method="post" action={ "/applications/" (id) "/attachments" } enctype="multipart/form-data" class="row" {
                    (p.csrf_field())
                    div class="field" {
                        label for="file" { (p.t("파일 추가", "Add a file")) " (" (p.t("최대 ", "up to ")) (limit_mb) " MB)" }
                        input type="file" id="file" name="file" required;
                    }
                    button type="submit" { (p.t("올리기", "Upload")) }
                }
            }
        }
    }
}

/// The evidence files of an application, each a link to the file.
pub fn attachments_table(lang: Lang, attachments: &[haechi_store::AttachmentMeta]) -> Markup {
    html! {
        @if attachments.is_empty() {
            p class="muted" { (lang.t("올린 파일이 없습니다.", "No files attached.")) }
        } @else {
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" { (lang.t("파일", "File")) }
                        th scope="col" class="num" { (lang.t("크기(바이트)", "Size (bytes)")) }
                        th scope="col" { "SHA-256" }
                        th scope="col" { (lang.t("올린 사람", "Uploaded by")) }
                        th scope="col" { (lang.t("올린 날", "Uploaded")) }
                    } }
                    tbody {
                        @for a in attachments {
                            tr {
                                td { a href={ "/attachments/" (a.id) } { (a.filename) } }
                                td class="num" { (a.size_bytes) }
                                td { code class="hash" { (a.sha256) } }
                                td { (a.uploaded_by) }
                                td { (day(&a.uploaded_at)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn history_section(lang: Lang, events: &[haechi_store::ApplicationEvent]) -> Markup {
    html! {
        section id="history" {
            h2 { (lang.t("처리 이력", "Status history")) }
            @if events.is_empty() {
                p class="muted" { (lang.t("아직 이력이 없습니다.", "No history yet.")) }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr {
                            th scope="col" { (lang.t("일시", "When")) }
                            th scope="col" { (lang.t("처리", "Action")) }
                            th scope="col" { (lang.t("상태 변화", "State")) }
                            th scope="col" { (lang.t("처리자", "By")) }
                            th scope="col" { (lang.t("의견", "Comment")) }
                        } }
                        tbody {
                            @for e in events {
                                tr {
                                    td { (minute(&e.at)) }
                                    td { (action_label(lang, &e.action)) }
                                    td { (state_text_label(lang, &e.from_state)) " → " (state_text_label(lang, &e.to_state)) }
                                    td { (e.actor_name) }
                                    td class="prewrap" { @if let Some(c) = &e.comment { (c) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

// ================================================================================ evidence

/// The 413 page for an over-size evidence file.
fn too_large(st: &AppState, p: &Portal, id: i64, detail: Option<String>) -> Response {
    let limit_mb = st.svc.config().max_attachment_bytes / (1024 * 1024);
    let body = html! {
        h1 { (p.t("파일이 너무 큽니다", "The file is too large")) }
        p class="alert error" role="alert" {
            (match p.lang {
                Lang::Ko => format!("증빙 파일은 {limit_mb} MB까지 올릴 수 있습니다. 아무것도 저장하지 않았습니다."),
                Lang::En => format!("Evidence files may be up to {limit_mb} MB. Nothing was saved."),
            })
            @if let Some(d) = &detail { " (" (d) ")" }
        }
        p { a href={ "/applications/" (id) "#attachments" } { "← " (p.t("신청서로 돌아가기", "Back to the application")) } }
    };
    p.page_with(
        StatusCode::PAYLOAD_TOO_LARGE,
        p.t("파일이 너무 큽니다", "The file is too large"),
        body,
    )
}

async fn upload(State(st): State<AppState>, Path(id): Path<String>, f: CsrfMultipart) -> Response {
    let CsrfMultipart {
        portal: p,
        mut multipart,
    } = f;
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    let mut file: Option<(String, String, bytes::Bytes)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return too_large(&st, &p, id, None)
            }
            Err(e) => return p.error(ServiceError::rule("bad_upload", e.body_text())),
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("").to_string();
        let ct = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_string();
        match field.bytes().await {
            Ok(b) => file = Some((name, ct, b)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return too_large(&st, &p, id, None)
            }
            Err(e) => return p.error(ServiceError::rule("bad_upload", e.body_text())),
        }
    }
    // No file: the service still decides first whether this user may attach anything here,
    // then refuses the empty file.
    let (name, ct, data) = file.unwrap_or_default();
    match st.svc.add_attachment(&p.actor, id, &name, &ct, &data).await {
        Ok(_) => {
            Redirect::to(&format!("/applications/{id}?notice=uploaded#attachments")).into_response()
        }
        Err(ServiceError::TooLarge(d)) => too_large(&st, &p, id, Some(d)),
        Err(e) => p.error(e),
    }
}

async fn download(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    let (meta, data) = match st.svc.get_attachment(&p.actor, id).await {
        Ok(r) => r,
        Err(e) => return p.error(e),
    };
    evidence_response(&meta.filename, &meta.content_type, &meta.sha256, data)
}

/// An evidence file as served to a browser (applications' and reports' alike): inline when the
/// browser shows its type without running anything, else as a download; sandboxed; with its
/// SHA-256 in `x-content-sha256`.
pub fn evidence_response(
    filename: &str,
    content_type: &str,
    sha256: &str,
    data: Vec<u8>,
) -> Response {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let served = served_type(filename, content_type);
    let disposition = format!(
        "{}; filename=\"{ascii}\"; filename*=UTF-8''{}",
        if shown_inline(&served) {
            "inline"
        } else {
            "attachment"
        },
        url_encode(filename)
    );
    let mut resp = data.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&served)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    // Whatever the file is, it runs nothing here: no script, no plugin, no same-origin access
    // (a PDF is left to the browser's viewer, which a sandbox would block).
    if !served.starts_with("application/pdf") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
            ),
        );
    }
    if let Ok(v) = HeaderValue::from_str(sha256) {
        h.insert("x-content-sha256", v);
    }
    resp
}

/// Types a browser shows in place without running anything; every other file is downloaded.
fn shown_inline(served: &str) -> bool {
    let essence = served.split(';').next().unwrap_or("").trim();
    matches!(
        essence,
        "application/pdf" | "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "text/plain"
    )
}

/// The type of a file by its name's extension, for files stored without a useful type.
fn type_of_name(filename: &str) -> Option<&'static str> {
    let ext = filename.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "txt" | "log" => "text/plain; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "json" => "application/json",
        "sarif" => "application/sarif+json",
        "xml" => "application/xml",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "hwp" => "application/x-hwp",
        "hwpx" => "application/hwp+zip",
        _ => return None,
    })
}

/// The content type an evidence file is served with: the type it was uploaded with when that
/// is a well-formed media type, else the one its name says, else `application/octet-stream`.
/// Text keeps its charset (UTF-8 unless the upload said otherwise).
pub fn served_type(filename: &str, stored: &str) -> String {
    let token = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c))
    };
    let mut parts = stored.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let well_formed = essence
        .split_once('/')
        .is_some_and(|(t, sub)| token(t) && token(sub));
    if !well_formed || essence == "application/octet-stream" {
        return type_of_name(filename)
            .unwrap_or("application/octet-stream")
            .to_string();
    }
    if essence.starts_with("text/") {
        let charset = parts
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
            .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase())
            .filter(|v| token(v))
            .unwrap_or_else(|| "utf-8".to_string());
        return format!("{essence}; charset={charset}");
    }
    essence
}

// ================================================================================ lifecycle

/// Parses an action name of a form.
pub fn parse_action(s: &str) -> Option<ApplicationAction> {
    use ApplicationAction as A;
    [
        A::Submit,
        A::StartScreening,
        A::StartReview,
        A::ReturnForCorrection,
        A::CompleteEvaluation,
        A::Approve,
        A::Reject,
        A::Withdraw,
    ]
    .into_iter()
    .find(|a| a.as_str() == s)
}

#[derive(Deserialize, Default)]
pub struct TransitionForm {
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub rationale: String,
    /// Approving against a failed evaluation: the officer's explicit override reason.
    #[serde(default)]
    pub override_reason: String,
}

/// Every lifecycle step: the institution's submit and withdraw, the officer's steps and
/// decisions. The service decides who may take which.
async fn transition(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<TransitionForm>,
) -> Response {
    let p = f.portal;
    let form = f.form;
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    let Some(action) = parse_action(&form.action) else {
        // Whether the record is within reach is the service's answer, before the form's.
        if let Err(e) = st.svc.get_application(&p.actor, id).await {
            return p.error(e);
        }
        return p.error(ServiceError::invalid(vec![FieldError::new(
            "action",
            p.t("알 수 없는 처리입니다.", "unknown action"),
        )]));
    };
    use ApplicationAction as A;
    let institution_side = matches!(action, A::Submit | A::Withdraw);
    let comment = match action {
        A::Approve | A::Reject => form.rationale.clone(),
        _ => form.comment.clone(),
    };
    let comment = (!comment.trim().is_empty()).then_some(comment);
    let override_reason = Some(form.override_reason.as_str()).filter(|o| !o.trim().is_empty());
    match st
        .svc
        .transition_with_override(&p.actor, id, action, comment.as_deref(), override_reason)
        .await
    {
        Ok(_) => {
            let to = if institution_side {
                let code = if action == A::Submit {
                    "submitted"
                } else {
                    "withdrawn"
                };
                format!("/applications/{id}?notice={code}")
            } else {
                let code = if matches!(action, A::Approve | A::Reject) {
                    "decided"
                } else {
                    "moved"
                };
                format!("/applications/{id}/review?notice={code}")
            };
            Redirect::to(&to).into_response()
        }
        Err(
            e @ (ServiceError::NotFound
            | ServiceError::Forbidden(_)
            | ServiceError::Store(_)
            | ServiceError::Unauthenticated),
        ) => p.error(e),
        Err(e) => {
            let view = match st.svc.get_application(&p.actor, id).await {
                Ok(v) => v,
                Err(e2) => return p.error(e2),
            };
            if institution_side {
                if action == A::Submit && !e.field_errors().is_empty() {
                    let d = Draft::of(&view.application.content);
                    let rows: Vec<usize> = (0..d.services.len()).collect();
                    return form_page_with_events(
                        &st,
                        &p,
                        &d,
                        &view,
                        &to_form_rows(e.field_errors(), &rows),
                        Some(
                            p.t(
                                "제출하지 못했습니다. 아래 항목을 보완하십시오.",
                                "The application was not submitted. Complete the fields below.",
                            )
                            .to_string(),
                        ),
                        StatusCode::UNPROCESSABLE_ENTITY,
                    );
                }
                let status = crate::error::status_of(&e);
                return view_page(&st, &p, &view, None, Some(rule_message(&p, &e)), status);
            }
            super::reviews::officer_page(
                &st,
                &p,
                &view,
                super::reviews::OfficerPage {
                    errors: e
                        .field_errors()
                        .iter()
                        .map(|f| match f.field.as_str() {
                            "override_reason" => FieldError::new(
                                "override_reason",
                                p.t(
                                    "전문가 평가가 통과 기준에 미달했습니다. 승인하려면 예외 승인 사유를 쓰십시오.",
                                    "the evaluation did not pass: approving it needs an explicit override reason",
                                ),
                            ),
                            _ => f.clone(),
                        })
                        .collect(),
                    alert: e.field_errors().is_empty().then(|| rule_message(&p, &e)),
                    form: Some((action, comment.unwrap_or_default())),
                    override_typed: form.override_reason.clone(),
                    status: crate::error::status_of(&e),
                    notice: None,
                },
            )
            .await
        }
    }
}
