//! The security-SaaS register (end of SPEC C13): the list with when each six-monthly
//! self-evaluation is due, an entry's detail with its evaluations, create, edit, delete, and
//! recording a self-evaluation with its result and the day it was reported to the CISO.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use haechi_core::FieldError;
use haechi_service::patching::{SaasEvaluationInput, SaasView};
use haechi_service::{Action, ServiceError};
use haechi_store::SaasWrite;
use maud::{html, Markup};
use serde::Deserialize;

use super::super::{control, error_summary, CsrfForm, Portal};
use super::{institution_chooser, scope, state_label};
use crate::AppState;

const CLASSES: [&str; 3] = ["C", "S", "O"];
const RESULTS: [&str; 3] = ["pass", "partial", "fail"];

/// The entry form as typed.
#[derive(Deserialize, Default, Clone)]
pub struct SaasForm {
    #[serde(default)]
    product: String,
    #[serde(default)]
    vendor: String,
    /// Comma-separated (ISO/IEC 27001, SOC 2, CSAP …).
    #[serde(default)]
    certifications: String,
    #[serde(default)]
    class_c: Option<String>,
    #[serde(default)]
    class_s: Option<String>,
    #[serde(default)]
    class_o: Option<String>,
    /// Other kinds of data sent (comma-separated), kept as entered.
    #[serde(default)]
    data_other: String,
    #[serde(default)]
    users: String,
    #[serde(default)]
    purpose: String,
}

impl SaasForm {
    fn of(v: &SaasView) -> SaasForm {
        let has = |c: &str| {
            v.saas
                .data_classes
                .iter()
                .any(|d| d == c)
                .then(|| "1".to_string())
        };
        SaasForm {
            product: v.saas.product.clone(),
            vendor: v.saas.vendor.clone(),
            certifications: v.saas.certifications.join(", "),
            class_c: has("C"),
            class_s: has("S"),
            class_o: has("O"),
            data_other: v
                .saas
                .data_classes
                .iter()
                .filter(|d| !CLASSES.contains(&d.as_str()))
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            users: v.saas.users.clone(),
            purpose: v.saas.purpose.clone(),
        }
    }

    fn class_checked(&self, c: &str) -> bool {
        match c {
            "C" => self.class_c.is_some(),
            "S" => self.class_s.is_some(),
            _ => self.class_o.is_some(),
        }
    }

    fn write(&self) -> SaasWrite {
        SaasWrite {
            product: self.product.trim().to_string(),
            vendor: self.vendor.trim().to_string(),
            certifications: self
                .certifications
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
            data_classes: CLASSES
                .iter()
                .filter(|c| self.class_checked(c))
                .map(|c| (*c).to_string())
                .chain(
                    self.data_other
                        .split(',')
                        .map(str::trim)
                        .filter(|d| !d.is_empty() && !CLASSES.contains(d))
                        .map(str::to_string),
                )
                .collect(),
            users: self.users.trim().to_string(),
            purpose: self.purpose.trim().to_string(),
        }
    }
}

/// The self-evaluation form as typed.
#[derive(Deserialize, Default, Clone)]
pub struct EvaluationForm {
    #[serde(default)]
    evaluated_on: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    reported_to_ciso_on: String,
    #[serde(default)]
    notes: String,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    institution: String,
}

fn due_badge(p: &Portal, v: &SaasView) -> Markup {
    html! {
        @match v.next_evaluation_due {
            Some(d) => {
                (d.to_string())
                @if v.evaluation_overdue { " " span class="badge bad" { (p.t("기한 지남", "Overdue")) } }
            }
            None => "—",
        }
    }
}

/// Whether the letter in force permits the SaaS: a badge, with the letter it was checked against.
fn permission_badge(p: &Portal, v: &SaasView) -> Markup {
    let perm = &v.permission;
    html! {
        @match (&perm.letter_number, perm.permitted) {
            (Some(n), true) => {
                span class="badge ok" { (p.t("허용", "Permitted")) }
                " " span class="small muted" { (n) }
            }
            (Some(n), false) => {
                span class="badge bad" { (p.t("의견서 허용 범위 밖", "Not permitted by the letter")) }
                " " span class="small muted" { (n) }
            }
            (None, _) => span class="badge bad" { (p.t("유효한 의견서 없음", "No letter in force")) },
        }
    }
}

/// The warning above a register with SaaS the letter in force does not permit, naming what the
/// letter permits.
fn permission_warning(p: &Portal, rows: &[&SaasView]) -> Markup {
    let Some(first) = rows.first() else {
        return html! {};
    };
    let perm = &first.permission;
    html! {
        div class="alert warn" role="alert" {
            p {
                @match &perm.letter_number {
                    Some(n) => {
                        (p.t("비조치의견서 ", "No-action letter ")) a href={ "/letters/" (perm.letter_id.unwrap_or_default()) } { (n) }
                        (p.t("에서 허용하지 않은 보안 SaaS를 이용 중입니다: ", " does not permit these security SaaS in use: "))
                    }
                    None => {
                        (p.t("유효한 비조치의견서가 없어 허용되지 않은 보안 SaaS를 이용 중입니다: ",
                             "No no-action letter is in force, so these security SaaS in use are not permitted: "))
                    }
                }
                @for (i, v) in rows.iter().enumerate() {
                    @if i > 0 { ", " }
                    strong { (v.saas.product) }
                }
            }
            @if perm.letter_number.is_some() {
                p class="small" {
                    (p.t("의견서가 허용한 보안 SaaS: ", "Security SaaS the letter permits: "))
                    @if perm.permitted_products.is_empty() { (p.t("없음", "none")) }
                    (perm.permitted_products.join(", "))
                }
            }
        }
    }
}

fn result_badge(p: &Portal, result: &str) -> Markup {
    let css = match result {
        "pass" => "badge ok",
        "fail" => "badge bad",
        _ => "badge warn",
    };
    html! { span class=(css) { (state_label(p.lang, result)) } }
}

pub async fn list(p: Portal, State(st): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    let title = p.t("보안 SaaS 이용 현황", "Security SaaS register");
    let inst = match scope(&p, &st, &q.institution).await {
        Ok(Some(i)) => i,
        Ok(None) => {
            return p.page(
                title,
                html! {
                    h1 { (title) }
                    (institution_chooser(&p, &st, "/saas", None).await)
                },
            )
        }
        Err(resp) => return resp,
    };
    let rows = match st.svc.list_saas(&p.actor, inst).await {
        Ok(r) => r,
        Err(e) => return p.error(e),
    };
    let body = html! {
        h1 { (title) }
        @if !p.actor.role.is_institution_role() {
            (institution_chooser(&p, &st, "/saas", Some(inst)).await)
        }
        p class="muted" {
            (p.t("이용 중인 보안 SaaS와 6개월마다 하는 준수 자체평가(결과는 CISO에게 보고)를 관리합니다.",
                 "The security SaaS in use and the six-monthly compliance self-evaluation, whose result is reported to the CISO."))
        }
        @if p.may(Action::ManageFindings) {
            p class="actions" { a class="button primary" href="/saas/new" { (p.t("SaaS 등록", "Register a SaaS")) } }
        }
        (permission_warning(&p, &rows.iter().filter(|v| !v.permission.permitted).collect::<Vec<_>>()))
        @if rows.is_empty() {
            p class="muted" { (p.t("등록된 SaaS가 없습니다.", "No SaaS registered yet.")) }
        } @else {
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" { (p.t("제품", "Product")) }
                        th scope="col" { (p.t("공급사", "Vendor")) }
                        th scope="col" { (p.t("의견서 허용", "Letter permits")) }
                        th scope="col" { (p.t("인증", "Certifications")) }
                        th scope="col" { (p.t("전송 데이터 등급", "Data classes sent")) }
                        th scope="col" { (p.t("이용자", "Users")) }
                        th scope="col" { (p.t("최근 자체평가", "Last self-evaluation")) }
                        th scope="col" { (p.t("다음 평가 기한", "Next evaluation due")) }
                    } }
                    tbody {
                        @for v in &rows {
                            tr class=[v.evaluation_overdue.then_some("breach")] {
                                td { a href={ "/saas/" (v.saas.id) } { (v.saas.product) } }
                                td { (v.saas.vendor) }
                                td { (permission_badge(&p, v)) }
                                td { (v.saas.certifications.join(", ")) }
                                td { @for c in &v.saas.data_classes { (state_label(p.lang, c)) " " } }
                                td { (v.saas.users) }
                                td {
                                    @match v.evaluations.first() {
                                        Some(e) => { (e.evaluated_on) " " (result_badge(&p, &e.result)) }
                                        None => span class="muted" { (p.t("없음", "None")) }
                                    }
                                }
                                td { (due_badge(&p, v)) }
                            }
                        }
                    }
                }
            }
        }
    };
    p.page(title, body)
}

fn entry_fields(p: &Portal, form: &SaasForm, errors: &[FieldError]) -> Markup {
    html! {
        (control(p.t("제품명", "Product"), "product", errors, html! {
            input type="text" id="product" name="product" value=(form.product) required;
        }))
        (control(p.t("공급사", "Vendor"), "vendor", errors, html! {
            input type="text" id="vendor" name="vendor" value=(form.vendor) required;
        }))
        (control(p.t("인증 (쉼표로 구분: ISO/IEC 27001, SOC 2, CSAP …)", "Certifications (comma-separated: ISO/IEC 27001, SOC 2, CSAP …)"), "certifications", errors, html! {
            input type="text" id="certifications" name="certifications" value=(form.certifications);
        }))
        fieldset {
            legend { (p.t("SaaS로 보내는 데이터 등급", "Data classes sent to the SaaS")) }
            @for c in CLASSES {
                @let name = format!("class_{}", c.to_lowercase());
                div {
                    label {
                        input type="checkbox" id=(name) name=(name) value="1" checked[form.class_checked(c)];
                        " " (state_label(p.lang, c))
                    }
                }
            }
        }
        (control(p.t("기타 전송 데이터 (쉼표로 구분)", "Other data sent (comma-separated)"), "data_other", errors, html! {
            input type="text" id="data_other" name="data_other" value=(form.data_other);
        }))
        (control(p.t("이용자 (부서·인원)", "Users (teams, headcount)"), "users", errors, html! {
            input type="text" id="users" name="users" value=(form.users) required;
        }))
        (control(p.t("이용 목적", "Purpose"), "purpose", errors, html! {
            textarea id="purpose" name="purpose" required { (form.purpose) }
        }))
    }
}

async fn render_new(
    p: &Portal,
    form: &SaasForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Response {
    let title = p.t("보안 SaaS 등록", "Register a security SaaS");
    let body = html! {
        h1 { (title) }
        (error_summary(p.lang, errors))
        form method="post" action="/saas" class="stack" novalidate {
            (p.csrf_field())
            (entry_fields(p, form, errors))
            div class="actions" {
                button type="submit" class="primary" { (p.t("등록", "Register")) }
                a href="/saas" { (p.t("취소", "Cancel")) }
            }
        }
    };
    p.page_with(status, title, body)
}

pub async fn new_form(p: Portal) -> Response {
    if let Err(e) = haechi_service::authz::authorize(&p.actor, Action::ManageFindings) {
        return p.error(e);
    }
    render_new(&p, &SaasForm::default(), &[], StatusCode::OK).await
}

pub async fn create(State(st): State<AppState>, f: CsrfForm<SaasForm>) -> Response {
    let p = f.portal;
    let Some(inst) = p.actor.institution_id else {
        return match haechi_service::authz::authorize(&p.actor, Action::ManageFindings) {
            Err(e) => p.error(e),
            Ok(()) => p.error(ServiceError::NotFound),
        };
    };
    match st.svc.create_saas(&p.actor, inst, &f.form.write()).await {
        Ok(v) => Redirect::to(&format!("/saas/{}", v.saas.id)).into_response(),
        Err(e) if !e.field_errors().is_empty() => {
            let errs = e.field_errors().to_vec();
            render_new(&p, &f.form, &errs, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => p.error(e),
    }
}

/// What a re-rendered detail page shows of a refused post.
#[derive(Default)]
struct Refused {
    edit: Option<(SaasForm, Vec<FieldError>)>,
    evaluation: Option<(EvaluationForm, Vec<FieldError>)>,
}

fn parse_id(s: &str) -> Option<i64> {
    s.trim().parse::<i64>().ok()
}

pub async fn detail(p: Portal, State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    render_detail(&p, &st, id, Refused::default(), StatusCode::OK).await
}

async fn render_detail(
    p: &Portal,
    st: &AppState,
    id: i64,
    refused: Refused,
    status: StatusCode,
) -> Response {
    let v = match st.svc.get_saas(&p.actor, id).await {
        Ok(v) => v,
        Err(e) => return p.error(e),
    };
    let manage = p.may(Action::ManageFindings);
    let (edit, edit_errors) = refused
        .edit
        .unwrap_or_else(|| (SaasForm::of(&v), Vec::new()));
    let (eval, eval_errors) = refused.evaluation.unwrap_or_else(|| {
        (
            EvaluationForm {
                evaluated_on: st.svc.today().to_string(),
                ..EvaluationForm::default()
            },
            Vec::new(),
        )
    });
    let title = v.saas.product.clone();
    let body = html! {
        h1 { (v.saas.product) }
        @if !v.permission.permitted { (permission_warning(p, &[&v])) }
        dl class="facts" {
            dt { (p.t("공급사", "Vendor")) } dd { (v.saas.vendor) }
            dt { (p.t("의견서 허용", "Letter permits")) } dd { (permission_badge(p, &v)) }
            dt { (p.t("인증", "Certifications")) } dd { (v.saas.certifications.join(", ")) }
            dt { (p.t("전송 데이터 등급", "Data classes sent")) } dd { @for c in &v.saas.data_classes { (state_label(p.lang, c)) " " } }
            dt { (p.t("이용자", "Users")) } dd { (v.saas.users) }
            dt { (p.t("이용 목적", "Purpose")) } dd { (v.saas.purpose) }
            dt { (p.t("다음 자체평가 기한", "Next self-evaluation due")) } dd { (due_badge(p, &v)) }
        }
        h2 { (p.t("자체평가 이력", "Self-evaluations")) }
        @if v.evaluations.is_empty() {
            p class="muted" { (p.t("기록된 자체평가가 없습니다.", "No self-evaluation recorded yet.")) }
        } @else {
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" { (p.t("평가일", "Evaluated on")) }
                        th scope="col" { (p.t("결과", "Result")) }
                        th scope="col" { (p.t("CISO 보고일", "Reported to the CISO")) }
                        th scope="col" { (p.t("비고", "Notes")) }
                        th scope="col" { (p.t("기록자", "Recorded by")) }
                    } }
                    tbody {
                        @for e in &v.evaluations {
                            tr {
                                td { (e.evaluated_on) }
                                td { (result_badge(p, &e.result)) }
                                td { @match &e.reported_to_ciso_at { Some(t) => (super::date_of(t)), None => span class="badge warn" { (p.t("미보고", "Not reported")) } } }
                                td { (e.notes.as_deref().unwrap_or("")) }
                                td { (e.recorded_by) }
                            }
                        }
                    }
                }
            }
        }
        @if manage {
            section {
                h2 { (p.t("자체평가 기록", "Record a self-evaluation")) }
                (error_summary(p.lang, &eval_errors))
                form method="post" action={ "/saas/" (id) "/evaluations" } class="stack" novalidate {
                    (p.csrf_field())
                    (control(p.t("평가일", "Evaluated on"), "evaluated_on", &eval_errors, html! {
                        input type="date" id="evaluated_on" name="evaluated_on" value=(eval.evaluated_on) required;
                    }))
                    (control(p.t("결과", "Result"), "result", &eval_errors, html! {
                        select id="result" name="result" required {
                            option value="" { (p.t("— 선택 —", "— choose —")) }
                            @for r in RESULTS {
                                option value=(r) selected[eval.result == r] { (state_label(p.lang, r)) }
                            }
                        }
                    }))
                    (control(p.t("CISO 보고일", "Reported to the CISO on"), "reported_to_ciso_at", &eval_errors, html! {
                        input type="date" id="reported_to_ciso_at" name="reported_to_ciso_on" value=(eval.reported_to_ciso_on);
                    }))
                    (control(p.t("비고", "Notes"), "eval_notes", &eval_errors, html! {
                        textarea id="eval_notes" name="notes" { (eval.notes) }
                    }))
                    div class="actions" { button type="submit" class="primary" { (p.t("자체평가 저장", "Save the self-evaluation")) } }
                }
            }
            section {
                h2 { (p.t("등록 정보 수정", "Edit the entry")) }
                (error_summary(p.lang, &edit_errors))
                form method="post" action={ "/saas/" (id) } class="stack" novalidate {
                    (p.csrf_field())
                    (entry_fields(p, &edit, &edit_errors))
                    div class="actions" { button type="submit" class="primary" { (p.t("수정 저장", "Save changes")) } }
                }
                form method="post" action={ "/saas/" (id) "/delete" } class="actions" {
                    (p.csrf_field())
                    button type="submit" class="danger" { (p.t("등록 삭제", "Delete the entry")) }
                }
            }
        }
        p { a href="/saas" { (p.t("보안 SaaS 목록", "Security SaaS register")) } }
    };
    p.page_with(status, &title, body)
}

pub async fn update(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<SaasForm>,
) -> Response {
    let p = f.portal;
    let Some(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    match st.svc.update_saas(&p.actor, id, &f.form.write()).await {
        Ok(_) => Redirect::to(&format!("/saas/{id}")).into_response(),
        Err(e) if !e.field_errors().is_empty() => {
            let refused = Refused {
                edit: Some((f.form.clone(), e.field_errors().to_vec())),
                evaluation: None,
            };
            render_detail(&p, &st, id, refused, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => p.error(e),
    }
}

pub async fn delete(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let p = f.portal;
    let Some(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    match st.svc.delete_saas(&p.actor, id).await {
        Ok(()) => Redirect::to("/saas").into_response(),
        Err(e) => p.error(e),
    }
}

pub async fn evaluate(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<EvaluationForm>,
) -> Response {
    let p = f.portal;
    let Some(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    let form = f.form;
    let mut errors = Vec::new();
    let evaluated_on = match NaiveDate::parse_from_str(form.evaluated_on.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(
                "evaluated_on",
                p.t(
                    "평가일을 YYYY-MM-DD 형식으로 입력하십시오.",
                    "Enter the evaluation date as YYYY-MM-DD.",
                ),
            ));
            None
        }
    };
    let reported = match form.reported_to_ciso_on.trim() {
        "" => None,
        d => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) => d.and_hms_opt(0, 0, 0),
            Err(_) => {
                errors.push(FieldError::new(
                    "reported_to_ciso_at",
                    p.t(
                        "보고일을 YYYY-MM-DD 형식으로 입력하십시오.",
                        "Enter the reporting date as YYYY-MM-DD.",
                    ),
                ));
                None
            }
        },
    };
    if !RESULTS.contains(&form.result.trim()) {
        errors.push(FieldError::new(
            "result",
            p.t(
                "적합, 부분 적합, 부적합 중에서 고르십시오.",
                "Choose pass, partial or fail.",
            ),
        ));
    }
    let Some(evaluated_on) = evaluated_on.filter(|_| errors.is_empty()) else {
        // Who may not record evaluations gets the refusal, not the form.
        if let Err(e) = haechi_service::authz::authorize(&p.actor, Action::ManageFindings) {
            return p.error(e);
        }
        let refused = Refused {
            edit: None,
            evaluation: Some((form, errors)),
        };
        return render_detail(&p, &st, id, refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let notes = Some(form.notes.trim().to_string()).filter(|n| !n.is_empty());
    let input = SaasEvaluationInput {
        evaluated_on,
        result: form.result.trim().to_string(),
        notes,
        reported_to_ciso_at: reported,
    };
    match st.svc.record_saas_evaluation(&p.actor, id, &input).await {
        Ok(_) => Redirect::to(&format!("/saas/{id}")).into_response(),
        Err(e) if !e.field_errors().is_empty() => {
            let refused = Refused {
                edit: None,
                evaluation: Some((form, e.field_errors().to_vec())),
            };
            render_detail(&p, &st, id, refused, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => p.error(e),
    }
}
