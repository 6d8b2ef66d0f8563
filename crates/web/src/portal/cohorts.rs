//! Portal pages: phase planning (C5). The policy's phases on a timeline, the confirmed cohorts
//! with their members, and the planner's proposal for a phase with the reason for every
//! candidate (included or not, and why); the officer confirms it, which drafts each member's
//! no-action letter.
//!
//! The planner and the confirmation are the service's (`plan_cohort`, `confirm_cohort`): this
//! page shows the proposal and posts back the ids it showed, so a plan that changed meanwhile is
//! refused rather than confirmed unseen.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use haechi_core::FieldError;
use haechi_policy::cohort::{CandidateOutcome, CohortPlan, CohortReason};
use haechi_service::authz::Action;
use haechi_service::ServiceError;
use haechi_store::{CohortAddition, CohortRecord};
use maud::{html, Markup};
use serde::Deserialize;

use super::applications::{day, notice};
use super::{field_error, url_encode, CsrfForm, Lang, PageRoute, Portal};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/cohorts", cohorts),
        page_post!("/cohorts/{phase}/confirm", confirm),
        page_post!("/cohorts/{phase}/add", add),
    ]
}

#[derive(Deserialize, Default)]
pub struct CohortQuery {
    #[serde(default)]
    phase: String,
    #[serde(default)]
    notice: String,
}

/// Why a candidate is or is not in the proposed cohort, in the page's language.
fn reason_text(lang: Lang, c: &CandidateOutcome) -> String {
    lang.t(&c.reason.ko, &c.reason.en).to_string()
}

fn included_badge(lang: Lang, c: &CandidateOutcome) -> Markup {
    html! {
        @if c.included { span class="badge ok" { (lang.t("포함", "Included")) } }
        @else if c.code == CohortReason::ApprovedAfterConfirmation { span class="badge warn" { (lang.t("확정 후 승인", "Approved after confirmation")) } }
        @else { span class="badge" { (lang.t("제외", "Not included")) } }
        @if c.override_reason.is_some() { " " span class="badge warn" { (lang.t("예외 승인", "Override")) } }
    }
}

/// A late approval's addition form as typed, with its errors, when it is shown again.
#[derive(Default)]
struct AddAgain {
    application_id: i64,
    reason: String,
    errors: Vec<FieldError>,
}

async fn cohorts(State(st): State<AppState>, p: Portal, Query(q): Query<CohortQuery>) -> Response {
    render(
        &st,
        &p,
        &q.phase,
        Some(&q.notice),
        None,
        StatusCode::OK,
        None,
    )
    .await
}

async fn render(
    st: &AppState,
    p: &Portal,
    phase: &str,
    notice_code: Option<&str>,
    alert: Option<String>,
    status: StatusCode,
    again: Option<AddAgain>,
) -> Response {
    let confirmed = match st.svc.list_cohorts(&p.actor).await {
        Ok(c) => c,
        Err(e) => return p.error(e),
    };
    let additions = match st.svc.cohort_additions(&p.actor).await {
        Ok(a) => a,
        Err(e) => return p.error(e),
    };
    let policy = st.svc.policy();
    // The phase to plan: the one asked for, else the first without a confirmed cohort.
    let selected = if phase.is_empty() {
        policy
            .phases
            .iter()
            .find(|ph| !confirmed.iter().any(|c| c.phase_id == ph.id))
            .or(policy.phases.last())
            .map(|ph| ph.id.clone())
            .unwrap_or_default()
    } else {
        phase.to_string()
    };
    let plan = match st.svc.plan_cohort(&p.actor, &selected).await {
        Ok(plan) => Some(plan),
        // Roles that may read the program but not plan it see the cohorts only.
        Err(ServiceError::Forbidden(_)) => None,
        Err(e) => return p.error(e),
    };
    let selected_label = policy
        .phase(&selected)
        .map(|ph| p.t(&ph.label_ko, &ph.label_en).to_string())
        .unwrap_or_else(|| selected.clone());
    let already = confirmed.iter().any(|c| c.phase_id == selected);
    let title = p.t("단계별 허용 대상", "Phases and cohorts");
    let body = html! {
        h1 { (title) }
        (notice(p.lang, notice_code))
        @if notice_code == Some("confirmed") {
            p { a href="/letters" { (p.t("작성된 비조치의견서 초안 보기", "See the drafted no-action letters")) " →" } }
        }
        @if let Some(m) = &alert { p class="alert error" role="alert" { (m) } }
        (timeline(st, p.lang, &confirmed))
        section id="phases" {
            h2 { (p.t("단계", "Phases")) }
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" { (p.t("단계", "Phase")) }
                        th scope="col" { (p.t("기간", "Window")) }
                        th scope="col" class="num" { (p.t("최소", "Min")) }
                        th scope="col" class="num" { (p.t("최대", "Max")) }
                        th scope="col" class="num" { (p.t("확정 기관 수", "Confirmed")) }
                        th scope="col" { (p.t("확정", "Confirmed on")) }
                    } }
                    tbody {
                        @for ph in &policy.phases {
                            @let c = confirmed.iter().find(|c| c.phase_id == ph.id);
                            tr {
                                td {
                                    a href={ "/cohorts?phase=" (url_encode(&ph.id)) } aria-current=[(ph.id == selected).then_some("true")] { (p.t(&ph.label_ko, &ph.label_en)) }
                                }
                                td { (ph.start) " ~ " (ph.end) }
                                td class="num" { (ph.min) }
                                td class="num" { @if let Some(m) = ph.max { (m) } @else { (p.t("제한 없음", "no limit")) } }
                                td class="num" { @if let Some(c) = c { (c.members.len()) } @else { "—" } }
                                td { @if let Some(c) = c { (day(&c.confirmed_at)) " · " (c.confirmed_by) } @else { span class="badge warn" { (p.t("미확정", "Not confirmed")) } } }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(plan) = &plan {
            (plan_section(p, &selected_label, plan, already, again.as_ref()))
        } @else if !p.may(Action::PlanCohorts) {
            p class="muted" { (p.t("대상 기관 제안과 확정은 감독당국 담당자가 합니다.", "Proposals and confirmations are made by regulator officers.")) }
        }
        @for c in &confirmed {
            (cohort_section(st, p, c, &additions))
        }
    };
    p.page_with(status, title, body)
}

fn plan_section(
    p: &Portal,
    label: &str,
    plan: &CohortPlan,
    already: bool,
    again: Option<&AddAgain>,
) -> Markup {
    let late: Vec<&CandidateOutcome> = plan
        .candidates
        .iter()
        .filter(|c| c.code == CohortReason::ApprovedAfterConfirmation)
        .collect();
    let included: Vec<i64> = plan
        .candidates
        .iter()
        .filter(|c| c.included)
        .map(|c| c.application_id)
        .collect();
    html! {
        section id="plan" {
            h2 { (p.t("대상 기관 제안: ", "Proposed cohort: ")) (label) }
            dl class="facts" {
                dt { (p.t("기간", "Window")) } dd { (plan.window_start) " ~ " (plan.window_end) }
                dt { (p.t("정원", "Capacity")) }
                dd {
                    (p.t("최소 ", "min ")) (plan.min) " · "
                    (p.t("최대 ", "max ")) @if let Some(m) = plan.max { (m) } @else { (p.t("제한 없음", "no limit")) }
                }
                dt { (p.t("포함", "Included")) } dd { strong { (plan.included_count) } " / " (plan.candidates.len()) " " (p.t("후보", "candidates")) }
                dt { (p.t("정책 버전", "Policy version")) } dd { (plan.policy_version) }
            }
            @if plan.below_minimum {
                p class="alert warn" role="status" { (p.t(
                    "포함 기관 수가 이 단계의 최소 인원보다 적습니다.",
                    "Fewer applications are included than the phase's minimum.",
                )) }
            }
            p class="muted" { (p.t(
                "승인된 신청을 평가 점수 순(같으면 먼저 결정된 순)으로 정렬해 정원까지 포함합니다.",
                "Approved applications are ranked by evaluation score (then by earlier decision) and included up to capacity.",
            )) }
            @if plan.candidates.is_empty() {
                p { (p.t("후보가 없습니다.", "There are no candidates.")) }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr {
                            th scope="col" class="num" { (p.t("순위", "Rank")) }
                            th scope="col" { (p.t("기관", "Institution")) }
                            th scope="col" class="num" { (p.t("신청", "Application")) }
                            th scope="col" class="num" { (p.t("점수", "Score")) }
                            th scope="col" { (p.t("포함", "In cohort")) }
                            th scope="col" { (p.t("사유", "Reason")) }
                        } }
                        tbody {
                            @for c in &plan.candidates {
                                tr data-included=(c.included) {
                                    td class="num" { @if let Some(r) = c.rank { (r) } @else { "—" } }
                                    td { (c.institution_name) }
                                    td class="num" { a href={ "/applications/" (c.application_id) } { "#" (c.application_id) } }
                                    td class="num" { (format!("{:.2}", c.score)) }
                                    td { (included_badge(p.lang, c)) }
                                    td { (reason_text(p.lang, c)) }
                                }
                            }
                        }
                    }
                }
            }
            @if already {
                p class="alert ok" role="status" { (p.t("이 단계의 대상 기관은 이미 확정되었습니다.", "This phase's cohort is already confirmed.")) }
                @if !late.is_empty() {
                    (late_section(p, plan, &late, again))
                }
            } @else if p.may(Action::PlanCohorts) && !included.is_empty() {
                form method="post" action={ "/cohorts/" (url_encode(&plan.phase)) "/confirm" } class="stack" data-confirm=(p.t("제안된 대상 기관을 확정하고 비조치의견서 초안을 작성하시겠습니까?", "Confirm the proposed cohort and draft its no-action letters?")) {
                    (p.csrf_field())
                    @for id in &included {
                        input type="hidden" name="expected" value=(id);
                    }
                    div class="actions" {
                        button type="submit" class="primary" { (p.t("대상 기관 확정 (", "Confirm the cohort (")) (included.len()) (p.t("개 기관)", " institutions)")) }
                    }
                }
            }
        }
    }
}

/// The applications approved after the cohort was confirmed: each with a form to add it to the
/// confirmed cohort while the window is open, or the reason it goes to the next phase.
fn late_section(
    p: &Portal,
    plan: &CohortPlan,
    late: &[&CandidateOutcome],
    again: Option<&AddAgain>,
) -> Markup {
    html! {
        section id="late" {
            h3 { (p.t("확정 후 승인된 신청", "Approved after the cohort was confirmed")) }
            @if plan.late_additions_open {
                p class="muted" { (p.t(
                    "단계 기간이 끝나기 전까지 확정된 대상 기관에 추가할 수 있습니다. 추가 사유는 기록되고, 비조치의견서 초안이 다른 기관과 같이 작성됩니다.",
                    "Until the phase's window closes, these can be added to the confirmed cohort. The reason is recorded and the letter is drafted like the other members'.",
                )) }
            } @else {
                p class="alert warn" role="status" { (p.t(
                    "이 단계의 기간이 끝나 확정된 대상 기관에 추가할 수 없습니다. 다음 단계의 대상 기관 제안에 포함됩니다.",
                    "This phase's window has closed, so these cannot join its confirmed cohort; they are proposed for the next phase.",
                )) }
            }
            ul class="stack" {
                @for c in late {
                    @let typed = again.filter(|a| a.application_id == c.application_id);
                    @let errors = typed.map(|a| a.errors.as_slice()).unwrap_or(&[]);
                    @let field = format!("reason-{}", c.application_id);
                    li data-late=(c.application_id) {
                        strong { (c.institution_name) } " " a href={ "/applications/" (c.application_id) } { "#" (c.application_id) }
                        " · " (p.t(&c.reason.ko, &c.reason.en))
                        @if c.can_add && p.may(Action::PlanCohorts) {
                            form method="post" action={ "/cohorts/" (url_encode(&plan.phase)) "/add" } class="stack" data-confirm=(p.t("이 신청을 확정된 대상 기관에 추가하고 비조치의견서 초안을 작성하시겠습니까?", "Add this application to the confirmed cohort and draft its letter?")) {
                                (p.csrf_field())
                                input type="hidden" name="application_id" value=(c.application_id);
                                @let err = field_error(errors, "reason");
                                div class={ "field" @if err.is_some() { " invalid" } } {
                                    label for=(field) { (p.t("추가 사유", "Reason for the addition")) }
                                    textarea id=(field) name="reason" rows="2" maxlength="2000" { @if let Some(a) = typed { (a.reason) } }
                                    @if let Some(m) = err { p class="field-error" role="alert" { (m) } }
                                }
                                div class="actions" {
                                    button type="submit" class="primary" { (p.t("확정된 대상에 추가", "Add to the confirmed cohort")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn cohort_section(
    st: &AppState,
    p: &Portal,
    c: &CohortRecord,
    additions: &[CohortAddition],
) -> Markup {
    let policy = st.svc.policy();
    let label = policy
        .phase(&c.phase_id)
        .map(|ph| p.t(&ph.label_ko, &ph.label_en).to_string())
        .unwrap_or_else(|| c.phase_id.clone());
    let plan: Option<CohortPlan> = serde_json::from_value(c.plan.clone()).ok();
    html! {
        section class="cohort" {
            h2 { (p.t("확정된 대상 기관: ", "Confirmed cohort: ")) (label) }
            p class="muted" {
                (day(&c.confirmed_at)) " · " (c.confirmed_by) " · "
                (p.t("정책 버전 ", "policy version ")) (c.policy_version) " · "
                (c.members.len()) (p.t("개 기관", " institutions"))
            }
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" class="num" { (p.t("순위", "Rank")) }
                        th scope="col" { (p.t("기관", "Institution")) }
                        th scope="col" class="num" { (p.t("신청", "Application")) }
                        th scope="col" class="num" { (p.t("점수", "Score")) }
                        th scope="col" { (p.t("비고", "Note")) }
                    } }
                    tbody {
                        @for (i, id) in c.members.iter().enumerate() {
                            @let cand = plan.as_ref().and_then(|pl| pl.candidates.iter().find(|x| x.application_id == *id));
                            @let added = additions.iter().find(|a| a.phase_id == c.phase_id && a.application_id == *id);
                            tr {
                                td class="num" { (i + 1) }
                                td { @if let Some(x) = cand { (x.institution_name) } @else if let Some(a) = added { (p.t(&a.institution_name_ko, &a.institution_name_en)) } @else { "—" } }
                                td class="num" { a href={ "/applications/" (id) } { "#" (id) } }
                                td class="num" { @if let Some(x) = cand { (format!("{:.2}", x.score)) } @else { "—" } }
                                td {
                                    @if let Some(a) = added {
                                        span class="badge warn" { (p.t("확정 후 추가", "Added after confirmation")) }
                                        " " (day(&a.added_at)) " · " (a.added_by) " — " span class="prewrap" { (a.reason) }
                                    } @else if let Some(why) = cand.and_then(|x| x.override_reason.as_deref()) {
                                        span class="badge warn" { (p.t("예외 승인", "Override")) } " " (why)
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

/// The phases on a time axis, each bar labelled with its confirmed cohort size.
fn timeline(st: &AppState, lang: Lang, confirmed: &[CohortRecord]) -> Markup {
    let policy = st.svc.policy();
    let phases = &policy.phases;
    let (Some(first), Some(last)) = (
        phases.iter().map(|p| p.start).min(),
        phases.iter().map(|p| p.end).max(),
    ) else {
        return html! {};
    };
    const LEFT: f64 = 180.0;
    const WIDTH: f64 = 430.0;
    const ROW: f64 = 30.0;
    const TOP: f64 = 26.0;
    let span = (last - first).num_days().max(1) as f64;
    let x = |d: NaiveDate| LEFT + (d - first).num_days() as f64 / span * WIDTH;
    let height = TOP + ROW * phases.len() as f64 + 8.0;
    // Month ticks on the first of each month inside the span.
    let mut ticks = Vec::new();
    let mut m = NaiveDate::from_ymd_opt(
        chrono::Datelike::year(&first),
        chrono::Datelike::month(&first),
        1,
    );
    while let Some(d) = m {
        if d > last {
            break;
        }
        if d >= first {
            ticks.push(d);
        }
        m = d.checked_add_months(chrono::Months::new(1));
    }
    let rows: Vec<(String, NaiveDate, NaiveDate, Option<usize>)> = phases
        .iter()
        .map(|ph| {
            (
                lang.t(&ph.label_ko, &ph.label_en).to_string(),
                ph.start,
                ph.end,
                confirmed
                    .iter()
                    .find(|c| c.phase_id == ph.id)
                    .map(|c| c.members.len()),
            )
        })
        .collect();
    html! {
        figure class="chart compact" {
            svg viewBox={ "0 0 640 " (height) } role="img" aria-label=(lang.t("단계별 기간과 확정 기관 수", "Phase windows and confirmed cohort sizes")) {
                @for t in &ticks {
                    line x1=(x(*t)) y1=(TOP - 6.0) x2=(x(*t)) y2=(height - 6.0) stroke="#d0d7de" stroke-width="1" {}
                    text x=(x(*t)) y="14" font-size="11" text-anchor="middle" fill="#59636e" { (t.format("%Y-%m")) }
                }
                @for (i, (label, start, end, n)) in rows.iter().enumerate() {
                    @let y = TOP + ROW * i as f64;
                    @let fill = if n.is_some() { "#1a7f37" } else { "#1f6feb" };
                    text x=(LEFT - 8.0) y=(y + 17.0) font-size="12" text-anchor="end" fill="#1b1f24" { (label) }
                    rect x=(x(*start)) y=(y + 4.0) width=((x(*end) - x(*start)).max(2.0)) height=(ROW - 10.0) fill=(fill) opacity="0.85" rx="3" {}
                    text x=(x(*start) + 6.0) y=(y + 18.0) font-size="11" fill="#fff" {
                        @if let Some(n) = n { (n) (lang.t("개 기관", " institutions")) } @else { (lang.t("미확정", "not confirmed")) }
                    }
                }
            }
            figcaption { (lang.t(
                "단계별 기간. 초록: 대상 기관 확정, 파랑: 미확정. 같은 내용이 아래 표에 있습니다.",
                "Phase windows. Green: cohort confirmed; blue: not yet. The table below gives the same figures.",
            )) }
        }
    }
}

async fn confirm(
    State(st): State<AppState>,
    Path(phase): Path<String>,
    f: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let p = f.portal;
    // Who may confirm (and whether the phase exists) is the planner's answer, before the form's.
    if let Err(e) = st.svc.plan_cohort(&p.actor, &phase).await {
        return p.error(e);
    }
    let mut expected = Vec::new();
    for (k, v) in &f.form {
        if k == "expected" {
            match v.parse::<i64>() {
                Ok(n) => expected.push(n),
                Err(_) => return render(
                    &st,
                    &p,
                    &phase,
                    None,
                    Some(
                        p.t(
                            "확정할 신청 목록이 올바르지 않습니다. 아무것도 변경하지 않았습니다.",
                            "The list of applications to confirm is invalid. Nothing was changed.",
                        )
                        .to_string(),
                    ),
                    StatusCode::UNPROCESSABLE_ENTITY,
                    None,
                )
                .await,
            }
        }
    }
    match st
        .svc
        .confirm_cohort(&p.actor, &phase, Some(&expected))
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "/cohorts?phase={}&notice=confirmed",
            url_encode(&phase)
        ))
        .into_response(),
        Err(e @ (ServiceError::Rule { .. } | ServiceError::Domain(_))) => {
            let status = crate::error::status_of(&e);
            let msg = format!(
                "{} {e}",
                p.t("확정하지 못했습니다:", "The cohort was not confirmed:")
            );
            render(&st, &p, &phase, None, Some(msg), status, None).await
        }
        Err(e) => p.error(e),
    }
}

#[derive(Deserialize, Default)]
pub struct AddForm {
    #[serde(default)]
    application_id: String,
    #[serde(default)]
    reason: String,
}

/// Adds a late approval to the phase's confirmed cohort (the service decides whether it may).
async fn add(
    State(st): State<AppState>,
    Path(phase): Path<String>,
    f: CsrfForm<AddForm>,
) -> Response {
    let p = f.portal;
    let form = f.form;
    // Who may add (and whether the phase exists) is the planner's answer, before the form's.
    if let Err(e) = st.svc.plan_cohort(&p.actor, &phase).await {
        return p.error(e);
    }
    let Ok(application_id) = form.application_id.trim().parse::<i64>() else {
        let msg = p
            .t(
                "추가할 신청이 올바르지 않습니다. 아무것도 변경하지 않았습니다.",
                "The application to add is invalid. Nothing was changed.",
            )
            .to_string();
        return render(
            &st,
            &p,
            &phase,
            None,
            Some(msg),
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
        )
        .await;
    };
    let again = |errors: Vec<FieldError>| AddAgain {
        application_id,
        reason: form.reason.clone(),
        errors,
    };
    if form.reason.trim().is_empty() {
        let e = FieldError::new(
            "reason",
            p.t(
                "확정된 대상 기관에 추가하는 사유를 쓰십시오.",
                "say why the application joins the confirmed cohort",
            ),
        );
        return render(
            &st,
            &p,
            &phase,
            None,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(again(vec![e])),
        )
        .await;
    }
    match st
        .svc
        .add_to_cohort(&p.actor, &phase, application_id, &form.reason)
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "/cohorts?phase={}&notice=member_added",
            url_encode(&phase)
        ))
        .into_response(),
        Err(e @ (ServiceError::Rule { .. } | ServiceError::Domain(_))) => {
            let status = crate::error::status_of(&e);
            let msg = add_refusal(p.lang, &e);
            let errors = e.field_errors().to_vec();
            render(
                &st,
                &p,
                &phase,
                None,
                Some(msg),
                status,
                Some(again(errors)),
            )
            .await
        }
        Err(e) => p.error(e),
    }
}

/// Why a late approval was not added, in the page's language.
fn add_refusal(lang: Lang, e: &ServiceError) -> String {
    let what = match e {
        ServiceError::Rule { code, .. } => match *code {
            "window_closed" => lang.t(
                "이 단계의 기간이 끝나 확정된 대상 기관에 추가할 수 없습니다. 다음 단계의 대상 기관 제안에 포함됩니다.",
                "this phase's window has closed; the application is proposed for the next phase.",
            ),
            "cohort_full" => lang.t(
                "확정된 대상 기관이 이 단계의 정원에 이르렀습니다. 다음 단계의 대상 기관 제안에 포함됩니다.",
                "the confirmed cohort has reached the phase's capacity; the application is proposed for the next phase.",
            ),
            "cohort_not_confirmed" => lang.t(
                "이 단계의 대상 기관이 아직 확정되지 않았습니다. 제안된 대상 기관을 확정하십시오.",
                "this phase's cohort is not confirmed yet; confirm the proposed cohort instead.",
            ),
            "not_a_candidate" | "not_a_late_approval" => lang.t(
                "확정 후 승인된 신청만 추가할 수 있습니다.",
                "only an application approved after the confirmation can be added.",
            ),
            _ => return e.to_string(),
        },
        _ if !e.field_errors().is_empty() => lang.t("입력을 확인하십시오.", "check the form."),
        _ => return e.to_string(),
    };
    format!(
        "{} {what}",
        lang.t("추가하지 못했습니다:", "The application was not added:")
    )
}
