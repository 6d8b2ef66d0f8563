//! The program's bodies (C14): fintech funding of the AI Security Support Center — calls with
//! their budget, what is awarded and what is left, the applications (an institution sees only
//! its own), and the center's scoring, awards, cancellations and payments.
//!
//! What it must not do: decide who may do what, or whether an award fits — the service does.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use haechi_core::{FieldError, Sector, SizeClass};
use haechi_service::authz::Action;
use haechi_service::bodies::{Eligibility, FundingCall, FundingCallInput};
use haechi_service::ServiceError;
use maud::{html, Markup};
use serde::Deserialize;

use super::{kst_minute, money, CsrfForm, Lang, PageRoute, Portal};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/funding", list),
        page_post!("/funding", create),
        page_get!("/funding/{id}", detail),
        page_post!("/funding/{id}/apply", apply),
        page_post!("/grants/{id}/decide", decide),
        page_post!("/grants/{id}/cancel", cancel),
        page_post!("/grants/{id}/disburse", disburse),
    ]
}

fn label(lang: Lang, field: &str) -> String {
    let (ko, en) = match field {
        "title" => ("제목", "Title"),
        "budget_krw" => ("예산(원)", "Budget (KRW)"),
        "eligibility" => ("지원 대상", "Who may apply"),
        "opens_on" => ("접수 시작일", "Opens on"),
        "closes_on" => ("접수 마감일", "Closes on"),
        "purpose" => ("지원 목적", "Purpose"),
        "requested_krw" => ("신청 금액(원)", "Amount requested (KRW)"),
        "amount_krw" => ("금액(원)", "Amount (KRW)"),
        "score" => ("점수(0–100)", "Score (0–100)"),
        "note" => ("사유", "Reason"),
        "paid_on" => ("지급일", "Paid on"),
        "institution_id" => ("기관", "Institution"),
        _ => return super::fields::field_label(lang, field),
    };
    lang.t(ko, en).to_string()
}

fn message(lang: Lang, e: &FieldError) -> String {
    let ko = match e.message.as_str() {
        "must be more than zero" => "0보다 커야 합니다.",
        "name who may apply" => "지원 대상(규모나 업권)을 하나 이상 고르십시오.",
        "must not be before the opening" => "접수 시작일보다 앞설 수 없습니다.",
        "exceeds the call's budget" => "공모 예산보다 많습니다.",
        "exceeds the amount requested" => "신청 금액보다 많습니다.",
        "exceeds what is left of the award" => "지원 결정액 중 남은 금액보다 많습니다.",
        "must be 0-100" => "0~100 사이여야 합니다.",
        "is not a number" => "숫자를 쓰십시오.",
        "is not a date" => "날짜를 쓰십시오.",
        _ => return super::fields::localized(lang, e),
    };
    lang.t(ko, &e.message).to_string()
}

fn rule_message(lang: Lang, e: &ServiceError) -> String {
    let (ko, en) = match e.code() {
        "over_budget" => (
            "남은 예산을 넘는 지원 결정은 할 수 없습니다.",
            "The award exceeds the call's remaining budget.",
        ),
        "not_eligible" => (
            "이 공모의 지원 대상(규모·업권)이 아닙니다.",
            "The call is not open to this institution's size class or sector.",
        ),
        "call_closed" => ("접수 기간이 아닙니다.", "The call is not open today."),
        "already_disbursed" => (
            "이미 지급한 지원은 취소할 수 없습니다.",
            "Part of the award was paid; it cannot be cancelled.",
        ),
        "illegal_transition" => (
            "현재 상태에서는 할 수 없는 작업입니다.",
            "This cannot be done in the current state.",
        ),
        "conflict" => (
            "이 기관은 이미 이 공모에 신청했습니다.",
            "This institution already applied to this call.",
        ),
        _ => return super::error_text(lang, e),
    };
    lang.t(ko, en).to_string()
}

fn state_badge(lang: Lang, s: &str) -> Markup {
    let (class, text) = match s {
        "awarded" => ("badge ok", lang.t("지원 결정", "Awarded")),
        "rejected" => ("badge bad", lang.t("미선정", "Rejected")),
        "cancelled" => ("badge", lang.t("취소", "Cancelled")),
        _ => ("badge warn", lang.t("심사 대기", "Awaiting decision")),
    };
    html! { span class=(class) { (text) } }
}

fn number(errors: &mut Vec<FieldError>, field: &str, v: &str) -> Option<i64> {
    let v: String = v.trim().chars().filter(|c| *c != ',').collect();
    if v.is_empty() {
        return None;
    }
    v.parse().map(Some).unwrap_or_else(|_| {
        errors.push(FieldError::new(field, "is not a number"));
        None
    })
}

fn date(errors: &mut Vec<FieldError>, field: &str, v: &str) -> Option<NaiveDate> {
    if v.trim().is_empty() {
        return None;
    }
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
        .map(Some)
        .unwrap_or_else(|_| {
            errors.push(FieldError::new(field, "is not a date"));
            None
        })
}

fn eligibility_text(lang: Lang, e: &Eligibility) -> String {
    e.size_classes
        .iter()
        .map(|s| lang.t(s.label_ko(), s.label_en()).to_string())
        .chain(
            e.sectors
                .iter()
                .map(|s| lang.t(s.label_ko(), s.label_en()).to_string()),
        )
        .collect::<Vec<_>>()
        .join(", ")
}

fn errors_block(lang: Lang, failed: Option<&str>, errors: &[FieldError]) -> Markup {
    super::fields::form_alerts(lang, failed, errors, label, message)
}

fn failure(lang: Lang, e: &ServiceError) -> String {
    super::fields::form_failure(lang, e, rule_message)
}

// ================================================================================ list

async fn list(p: Portal, State(st): State<AppState>) -> Response {
    render_list(&st, &p, None, &[]).await
}

async fn render_list(
    st: &AppState,
    p: &Portal,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let calls = match st.svc.funding_calls(&p.actor).await {
        Ok(c) => c,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let title = p.t(
        "핀테크·소규모 금융회사 지원",
        "Fintech and small-firm funding",
    );
    let body = html! {
        h1 { (title) }
        p class="muted" { (p.t(
            "AI 보안지원센터가 소규모 금융회사와 핀테크의 AI 보안 점검을 예산 범위에서 지원합니다.",
            "The AI Security Support Center funds small firms' and fintechs' AI security work within each call's budget.",
        )) }
        (errors_block(lang, failed.as_deref(), errors))
        @if calls.is_empty() {
            p class="muted" { (p.t("공모가 없습니다.", "There are no funding calls.")) }
        } @else {
            div class="table-wrap" { table {
                thead { tr {
                    th scope="col" { (p.t("공모", "Call")) }
                    th scope="col" { (p.t("지원 대상", "Who may apply")) }
                    th scope="col" { (p.t("접수 기간", "Open")) }
                    th scope="col" class="num" { (p.t("예산", "Budget")) }
                    th scope="col" class="num" { (p.t("지원 결정", "Awarded")) }
                    th scope="col" class="num" { (p.t("잔액", "Remaining")) }
                } }
                tbody { @for c in &calls { tr {
                    td { a href={ "/funding/" (c.row.id) } { (c.row.title) } }
                    td { (eligibility_text(lang, &c.eligibility)) }
                    td { (c.row.opens_on) " – " (c.row.closes_on) }
                    td class="num" { (money(lang, c.row.budget_krw)) }
                    td class="num" { (money(lang, c.row.awarded_krw)) }
                    td class="num" { (money(lang, c.remaining_krw)) }
                } } }
            } }
        }
        @if p.may(Action::ManageFunding) {
            h2 { (p.t("공모 열기", "Open a call")) }
            form method="post" action="/funding" class="stack" {
                (p.csrf_field())
                div class="field" { label for="title" { (label(lang, "title")) } input type="text" id="title" name="title" required; }
                div class="field" { label for="budget_krw" { (label(lang, "budget_krw")) } input type="text" inputmode="numeric" id="budget_krw" name="budget_krw" required; }
                fieldset {
                    legend { (label(lang, "eligibility")) }
                    @for s in SizeClass::ALL { label { input type="checkbox" name={ "size_" (s.as_str()) } value="1"; " " (p.t(s.label_ko(), s.label_en())) } " " }
                    label { input type="checkbox" name="sector_fintech" value="1"; " " (p.t(Sector::Fintech.label_ko(), Sector::Fintech.label_en())) }
                }
                div class="filters" {
                    div class="field" { label for="opens_on" { (label(lang, "opens_on")) } input type="date" id="opens_on" name="opens_on" required; }
                    div class="field" { label for="closes_on" { (label(lang, "closes_on")) } input type="date" id="closes_on" name="closes_on" required; }
                }
                button type="submit" class="primary" { (p.t("공모 열기", "Open the call")) }
            }
        }
    };
    p.page(title, body)
}

#[derive(Deserialize, Default)]
struct CallForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    budget_krw: String,
    #[serde(default)]
    size_large: String,
    #[serde(default)]
    size_medium: String,
    #[serde(default)]
    size_small: String,
    #[serde(default)]
    sector_fintech: String,
    #[serde(default)]
    opens_on: String,
    #[serde(default)]
    closes_on: String,
}

async fn create(State(st): State<AppState>, f: CsrfForm<CallForm>) -> Response {
    let p = f.portal;
    let form = f.form;
    let mut errors = Vec::new();
    let budget = number(&mut errors, "budget_krw", &form.budget_krw).unwrap_or(0);
    let opens_on = date(&mut errors, "opens_on", &form.opens_on);
    let closes_on = date(&mut errors, "closes_on", &form.closes_on);
    let sizes = [
        (SizeClass::Large, &form.size_large),
        (SizeClass::Medium, &form.size_medium),
        (SizeClass::Small, &form.size_small),
    ];
    let input = FundingCallInput {
        title: form.title.clone(),
        budget_krw: budget,
        eligibility: Eligibility {
            size_classes: sizes
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(s, _)| *s)
                .collect(),
            sectors: if form.sector_fintech.is_empty() {
                vec![]
            } else {
                vec![Sector::Fintech]
            },
        },
        opens_on,
        closes_on,
    };
    let out = if errors.is_empty() {
        st.svc.create_funding_call(&p.actor, &input).await
    } else {
        haechi_service::authz::authorize(&p.actor, Action::ManageFunding)
            .and(Err(ServiceError::invalid(errors)))
    };
    match out {
        Ok(id) => Redirect::to(&format!("/funding/{id}")).into_response(),
        Err(e @ (ServiceError::NotFound | ServiceError::Forbidden(_))) => p.error(e),
        Err(e) => {
            let status = crate::error::status_of(&e);
            let r = render_list(&st, &p, Some(failure(p.lang, &e)), e.field_errors()).await;
            (status, r).into_response()
        }
    }
}

// ================================================================================ one call

#[derive(Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn detail(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let Ok(id) = id.trim().parse::<i64>() else {
        return p.error(ServiceError::NotFound);
    };
    render_call(&st, &p, id, &q.done, None, &[]).await
}

async fn render_call(
    st: &AppState,
    p: &Portal,
    id: i64,
    done: &str,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let c: FundingCall = match st.svc.funding_call(&p.actor, id).await {
        Ok(c) => c,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let manage = p.may(Action::ManageFunding);
    let institutions = if p.may(Action::ApplyFunding) && p.actor.institution_id.is_none() {
        st.svc
            .list_institutions(
                &p.actor,
                &haechi_store::InstitutionFilter {
                    limit: 1000,
                    ..Default::default()
                },
            )
            .await
            .map(|(l, _)| l)
            .unwrap_or_default()
            .into_iter()
            .filter(|i| c.eligibility.admits(i.input.size_class, i.input.sector))
            .collect()
    } else {
        Vec::new()
    };
    let body = html! {
        p { a href="/funding" { "← " (p.t("지원 공모", "Funding calls")) } }
        h1 { (c.row.title) }
        @if !done.is_empty() { p class="alert ok" role="status" { (p.t("저장했습니다.", "Saved.")) } }
        (errors_block(lang, failed.as_deref(), errors))
        dl class="facts" {
            dt { (p.t("지원 대상", "Who may apply")) } dd { (eligibility_text(lang, &c.eligibility)) }
            dt { (p.t("접수 기간", "Open")) } dd { (c.row.opens_on) " – " (c.row.closes_on) }
            dt { (p.t("예산", "Budget")) } dd { (money(lang, c.row.budget_krw)) }
            dt { (p.t("지원 결정", "Awarded")) } dd { (money(lang, c.row.awarded_krw)) }
            dt { (p.t("잔액", "Remaining")) } dd { strong { (money(lang, c.remaining_krw)) } }
        }
        h2 { (p.t("신청", "Applications")) }
        @if c.applications.is_empty() {
            p class="muted" { (p.t("신청이 없습니다.", "No applications.")) }
        } @else {
            div class="table-wrap" { table {
                thead { tr {
                    th scope="col" { (p.t("기관", "Institution")) }
                    th scope="col" { (p.t("지원 목적", "Purpose")) }
                    th scope="col" class="num" { (p.t("신청", "Requested")) }
                    th scope="col" class="num" { (p.t("점수", "Score")) }
                    th scope="col" class="num" { (p.t("결정", "Awarded")) }
                    th scope="col" class="num" { (p.t("지급", "Paid")) }
                    th scope="col" { (p.t("상태", "State")) }
                    @if manage { th scope="col" { (p.t("처리", "Actions")) } }
                } }
                tbody { @for a in &c.applications { tr {
                    td { a href={ "/grants/" (a.id) } { (a.institution_name) } }
                    td { (a.purpose) }
                    td class="num" { (money(lang, a.requested_krw)) }
                    td class="num" { (a.score.map(|s| s.to_string()).unwrap_or_else(|| "—".into())) }
                    td class="num" { (a.award_krw.map(|v| money(lang, v)).unwrap_or_else(|| "—".into())) }
                    td class="num" { (money(lang, a.disbursed_krw)) }
                    td {
                        (state_badge(lang, &a.state))
                        @if let Some(n) = &a.decision_note { br; span class="small muted" { (n) } }
                        @if let Some(at) = &a.decided_at { br; span class="small muted" { (kst_minute(at)) } }
                    }
                    @if manage { td {
                        @if a.state == "submitted" {
                            form method="post" action={ "/grants/" (a.id) "/decide" } class="stack" {
                                (p.csrf_field())
                                input type="hidden" name="call" value=(c.row.id);
                                label { (label(lang, "amount_krw")) " " input type="text" inputmode="numeric" name="amount_krw" value=(a.requested_krw) size="12"; }
                                label { (label(lang, "score")) " " input type="text" inputmode="numeric" name="score" size="4"; }
                                label { (label(lang, "note")) " " input type="text" name="note" required; }
                                button type="submit" name="decision" value="award" class="primary" { (p.t("지원 결정", "Award")) }
                                button type="submit" name="decision" value="reject" { (p.t("미선정", "Reject")) }
                            }
                        }
                        @if a.state == "awarded" {
                            form method="post" action={ "/grants/" (a.id) "/disburse" } class="stack" {
                                (p.csrf_field())
                                input type="hidden" name="call" value=(c.row.id);
                                label { (label(lang, "amount_krw")) " " input type="text" inputmode="numeric" name="amount_krw" size="12" required; }
                                label { (label(lang, "paid_on")) " " input type="date" name="paid_on" required; }
                                input type="text" name="note" placeholder=(p.t("비고", "Note"));
                                button type="submit" { (p.t("지급 기록", "Record a payment")) }
                            }
                            @if a.disbursed_krw == 0 {
                                form method="post" action={ "/grants/" (a.id) "/cancel" } class="inline" {
                                    (p.csrf_field())
                                    input type="hidden" name="call" value=(c.row.id);
                                    input type="text" name="note" required placeholder=(p.t("취소 사유", "Why it is cancelled"));
                                    button type="submit" class="danger" { (p.t("지원 취소", "Cancel the award")) }
                                }
                            }
                        }
                    } }
                } } }
            } }
        }
        @if p.may(Action::ApplyFunding) && (p.actor.institution_id.is_some() || !institutions.is_empty()) {
            h2 { (p.t("신청", "Apply")) }
            form method="post" action={ "/funding/" (c.row.id) "/apply" } class="stack" {
                (p.csrf_field())
                @if !institutions.is_empty() {
                    div class="field" {
                        label for="institution_id" { (label(lang, "institution_id")) }
                        select id="institution_id" name="institution_id" {
                            @for i in &institutions { option value=(i.id) { (p.t(&i.input.name_ko, &i.input.name_en)) } }
                        }
                    }
                }
                div class="field" { label for="purpose" { (label(lang, "purpose")) } input type="text" id="purpose" name="purpose" required; }
                div class="field" { label for="requested_krw" { (label(lang, "requested_krw")) } input type="text" inputmode="numeric" id="requested_krw" name="requested_krw" required; }
                button type="submit" class="primary" { (p.t("신청", "Apply")) }
            }
        }
    };
    p.page(&c.row.title, body)
}

#[derive(Deserialize, Default)]
struct ApplyForm {
    #[serde(default)]
    institution_id: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    requested_krw: String,
}

async fn apply(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<ApplyForm>,
) -> Response {
    let p = f.portal;
    let Ok(call) = id.trim().parse::<i64>() else {
        return p.error(ServiceError::NotFound);
    };
    let mut errors = Vec::new();
    let requested = number(&mut errors, "requested_krw", &f.form.requested_krw).unwrap_or(0);
    let institution = p
        .actor
        .institution_id
        .or_else(|| f.form.institution_id.trim().parse().ok())
        .unwrap_or(0);
    let out = if errors.is_empty() {
        st.svc
            .apply_funding(&p.actor, call, institution, &f.form.purpose, requested)
            .await
            .map(|_| ())
    } else {
        haechi_service::authz::authorize(&p.actor, Action::ApplyFunding)
            .and(Err(ServiceError::invalid(errors)))
    };
    finish(&st, &p, call, out, "applied").await
}

async fn finish(
    st: &AppState,
    p: &Portal,
    call: i64,
    out: Result<(), ServiceError>,
    done: &str,
) -> Response {
    match out {
        Ok(()) => Redirect::to(&format!("/funding/{call}?done={done}")).into_response(),
        Err(e @ (ServiceError::NotFound | ServiceError::Forbidden(_))) => p.error(e),
        Err(e) => {
            let status = crate::error::status_of(&e);
            let r = render_call(st, p, call, "", Some(failure(p.lang, &e)), e.field_errors()).await;
            (status, r).into_response()
        }
    }
}

#[derive(Deserialize, Default)]
struct GrantForm {
    #[serde(default)]
    call: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    amount_krw: String,
    #[serde(default)]
    score: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    paid_on: String,
}

fn grant_ids(id: &str, form: &GrantForm) -> Result<(i64, i64), ServiceError> {
    let grant = id
        .trim()
        .parse::<i64>()
        .map_err(|_| ServiceError::NotFound)?;
    Ok((grant, form.call.trim().parse::<i64>().unwrap_or(0)))
}

/// After a grant action: back to its call, or the list when the call is not known.
async fn grant_done(
    st: &AppState,
    p: &Portal,
    call: i64,
    out: Result<(), ServiceError>,
) -> Response {
    if call > 0 {
        return finish(st, p, call, out, "saved").await;
    }
    match out {
        Ok(()) => Redirect::to("/funding").into_response(),
        Err(e @ (ServiceError::NotFound | ServiceError::Forbidden(_))) => p.error(e),
        Err(e) => {
            let status = crate::error::status_of(&e);
            let r = render_list(st, p, Some(failure(p.lang, &e)), e.field_errors()).await;
            (status, r).into_response()
        }
    }
}

async fn decide(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<GrantForm>,
) -> Response {
    let p = f.portal;
    let (grant, call) = match grant_ids(&id, &f.form) {
        Ok(x) => x,
        Err(e) => return p.error(e),
    };
    let mut errors = Vec::new();
    let amount = number(&mut errors, "amount_krw", &f.form.amount_krw);
    let score = number(&mut errors, "score", &f.form.score);
    let out = if errors.is_empty() {
        let amount = if f.form.decision == "reject" {
            None
        } else {
            Some(amount.unwrap_or(0))
        };
        st.svc
            .decide_funding(&p.actor, grant, amount, score, &f.form.note)
            .await
    } else {
        haechi_service::authz::authorize(&p.actor, Action::ManageFunding)
            .and(Err(ServiceError::invalid(errors)))
    };
    grant_done(&st, &p, call, out).await
}

async fn cancel(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<GrantForm>,
) -> Response {
    let p = f.portal;
    let (grant, call) = match grant_ids(&id, &f.form) {
        Ok(x) => x,
        Err(e) => return p.error(e),
    };
    let out = st.svc.cancel_funding(&p.actor, grant, &f.form.note).await;
    grant_done(&st, &p, call, out).await
}

async fn disburse(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<GrantForm>,
) -> Response {
    let p = f.portal;
    let (grant, call) = match grant_ids(&id, &f.form) {
        Ok(x) => x,
        Err(e) => return p.error(e),
    };
    let mut errors = Vec::new();
    let amount = number(&mut errors, "amount_krw", &f.form.amount_krw).unwrap_or(0);
    let paid_on = date(&mut errors, "paid_on", &f.form.paid_on);
    let out = if errors.is_empty() {
        st.svc
            .record_disbursement(&p.actor, grant, amount, paid_on, &f.form.note)
            .await
            .map(|_| ())
    } else {
        haechi_service::authz::authorize(&p.actor, Action::ManageFunding)
            .and(Err(ServiceError::invalid(errors)))
    };
    grant_done(&st, &p, call, out).await
}
