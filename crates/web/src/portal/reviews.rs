//! Portal pages: expert evaluation (C4). The advisor's workspace (`/reviews`: assigned
//! applications, the conflict-of-interest declaration, the scoring form with a justification per
//! criterion) and the officer's review of one application (`/applications/{id}/review`: state
//! steps, reviewer assignment, the aggregated scores with disagreement flags and the policy's
//! pass/fail reasons, and the decision with its rationale).
//!
//! What an advisor may see is the service's decision: the application's content is asked for on
//! every request and shown only when the service hands it over (after "no conflict").

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use haechi_core::{ApplicationAction, ApplicationState, FieldError};
use haechi_policy::evaluation::EvaluationResult;
use haechi_service::applications::ApplicationView;
use haechi_service::authz::Action;
use haechi_service::reviews::{MyAssignment, ScoreInput};
use haechi_service::ServiceError;
use haechi_store::{Assignment, ScoreRow};
use maud::{html, Markup};
use serde::Deserialize;

use super::applications::{
    attachments_table, content_section, day, decision_facts, notice, rubric_label, state_badge,
    ViewQuery,
};
use super::parse_id;
use super::{control, error_summary, field_error, CsrfForm, Lang, PageRoute, Portal};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/reviews", my_reviews),
        page_get!("/reviews/{id}", review_page),
        page_post!("/reviews/{id}/conflict", declare),
        page_post!("/reviews/{id}/scores", score),
        page_get!("/applications/{id}/review", officer_review),
        page_post!("/applications/{id}/reviewers", assign),
        page_post!("/applications/{id}/reviewers/remove", remove),
    ]
}

fn declaration_label(lang: Lang, a: &Assignment) -> Markup {
    html! {
        @match a.conflict {
            None => span class="badge warn" { (lang.t("신고 전", "Not declared")) },
            Some(false) => span class="badge ok" { (lang.t("이해충돌 없음", "No conflict")) },
            Some(true) => span class="badge bad" { (lang.t("이해충돌 있음", "Conflict")) },
        }
    }
}

fn review_status(lang: Lang, a: &Assignment, scored: usize, total: usize) -> Markup {
    html! {
        @if let Some(s) = &a.submitted_at {
            span class="badge ok" { (lang.t("제출함", "Submitted")) } " " (day(s))
        } @else if a.conflict == Some(true) {
            "—"
        } @else {
            (scored) " / " (total) " " (lang.t("항목 채점", "scored"))
        }
    }
}

// ================================================================================ advisor

async fn my_reviews(State(st): State<AppState>, p: Portal, Query(q): Query<ViewQuery>) -> Response {
    let mine = match st.svc.my_assignments(&p.actor).await {
        Ok(m) => m,
        Err(e) => return p.error(e),
    };
    let total = st.svc.policy().evaluation.criteria.len();
    let title = p.t("평가", "Reviews");
    let body = html! {
        h1 { (p.t("배정된 평가", "My reviews")) }
        (notice(p.lang, Some(q_notice(&q))))
        p class="muted" { (p.t(
            "신청서 내용은 이해충돌이 없음을 신고한 뒤에 볼 수 있습니다.",
            "You can read an application after declaring that you have no conflict of interest.",
        )) }
        @if mine.is_empty() {
            p { (p.t("배정된 신청이 없습니다.", "No applications are assigned to you.")) }
        } @else {
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" class="num" { (p.t("신청 번호", "Application")) }
                        th scope="col" { (p.t("기관", "Institution")) }
                        th scope="col" { (p.t("신청 상태", "State")) }
                        th scope="col" { (p.t("배정일", "Assigned")) }
                        th scope="col" { (p.t("이해충돌", "Conflict of interest")) }
                        th scope="col" { (p.t("평가", "Review")) }
                    } }
                    tbody {
                        @for m in &mine {
                            @let a = &m.assignment;
                            tr {
                                td class="num" { a href={ "/reviews/" (a.application_id) } { "#" (a.application_id) } }
                                td { a href={ "/reviews/" (a.application_id) } { (m.institution_name) } }
                                td { (state_badge(p.lang, m.application_state)) }
                                td { (day(&a.assigned_at)) }
                                td { (declaration_label(p.lang, a)) }
                                td { (review_status(p.lang, a, m.scores.len(), total)) }
                            }
                        }
                    }
                }
            }
        }
    };
    p.page(title, body)
}

fn q_notice(q: &ViewQuery) -> &str {
    q.notice_code()
}

/// The scoring form as typed: criterion → (score, justification).
type ScoreDraft = BTreeMap<String, (String, String)>;

fn draft_of(rows: &[ScoreRow]) -> ScoreDraft {
    rows.iter()
        .map(|r| {
            (
                r.criterion.clone(),
                (r.score.to_string(), r.justification.clone()),
            )
        })
        .collect()
}

/// What the advisor's page shows besides the assignment.
#[derive(Default)]
struct AdvisorPage {
    errors: Vec<FieldError>,
    alert: Option<String>,
    /// Scores as typed, when a post is shown again.
    scores: Option<ScoreDraft>,
    /// The declaration as typed.
    declaration: Option<(String, String)>,
    notice: Option<String>,
}

async fn find_mine(st: &AppState, p: &Portal, id: i64) -> Result<MyAssignment, ServiceError> {
    st.svc
        .my_assignments(&p.actor)
        .await?
        .into_iter()
        .find(|m| m.assignment.application_id == id)
        // Not assigned: for this advisor the application does not exist.
        .ok_or(ServiceError::NotFound)
}

async fn advisor_page(
    st: &AppState,
    p: &Portal,
    id: i64,
    view: AdvisorPage,
    status: StatusCode,
) -> Response {
    let mine = match find_mine(st, p, id).await {
        Ok(m) => m,
        Err(e) => return p.error(e),
    };
    // Asked every time: the service hands the content over only after "no conflict".
    let content = match st.svc.get_application(&p.actor, id).await {
        Ok(v) => Some(v),
        Err(ServiceError::NotFound) => None,
        Err(e) => return p.error(e),
    };
    let policy = st.svc.policy();
    let a = &mine.assignment;
    let errors = &view.errors;
    let title = format!(
        "{} #{} · {}",
        p.t("평가", "Review"),
        id,
        mine.institution_name
    );
    let scoring_open = a.conflict == Some(false)
        && a.submitted_at.is_none()
        && mine.application_state == ApplicationState::UnderReview;
    let scores = view
        .scores
        .clone()
        .unwrap_or_else(|| draft_of(&mine.scores));
    let (decl_choice, decl_note) = view.declaration.clone().unwrap_or_default();
    let body = html! {
        h1 { (title) }
        p { a href="/reviews" { "← " (p.t("배정된 평가 목록", "My reviews")) } }
        (notice(p.lang, view.notice.as_deref()))
        @if let Some(m) = &view.alert { p class="alert error" role="alert" { (m) } }
        (error_summary(p.lang, errors))
        dl class="facts" {
            dt { (p.t("기관", "Institution")) } dd { (mine.institution_name) }
            dt { (p.t("신청 상태", "State")) } dd { (state_badge(p.lang, mine.application_state)) }
            dt { (p.t("배정", "Assigned")) } dd { (day(&a.assigned_at)) " · " (a.assigned_by) }
            dt { (p.t("이해충돌", "Conflict of interest")) } dd { (declaration_label(p.lang, a)) @if let Some(d) = &a.declared_at { " " (day(d)) } }
            dt { (p.t("평가 제출", "Review submitted")) } dd { @if let Some(s) = &a.submitted_at { (day(s)) } @else { (p.t("아니오", "No")) } }
        }
        @match a.conflict {
            None => {
                section id="declaration" {
                    h2 { (p.t("이해충돌 신고", "Conflict-of-interest declaration")) }
                    p { (p.t(
                        "신청 기관과 이해관계(재직, 자문, 지분, 가족 관계 등)가 있는지 신고하십시오. 이해충돌이 없다고 신고해야 신청서 내용을 볼 수 있고, 이해충돌이 있으면 이 평가는 진행할 수 없습니다. 신고는 바꿀 수 없습니다.",
                        "Declare whether you have any interest in the applicant (employment, advisory work, shares, family ties). You can read the application only after declaring no conflict; a declared conflict blocks this review. The declaration cannot be changed.",
                    )) }
                    @let err = field_error(errors, "conflict");
                    form method="post" action={ "/reviews/" (id) "/conflict" } class="stack" {
                        (p.csrf_field())
                        fieldset id="conflict" class={ "field" @if err.is_some() { " invalid" } } {
                            legend { (p.t("신고", "Declaration")) }
                            label { input type="radio" name="conflict" value="no" checked[decl_choice == "no"]; " " (p.t("이해충돌이 없습니다", "I have no conflict of interest")) }
                            label { input type="radio" name="conflict" value="yes" checked[decl_choice == "yes"]; " " (p.t("이해충돌이 있습니다", "I have a conflict of interest")) }
                            @if let Some(m) = err { p class="field-error" id="conflict-error" role="alert" { (m) } }
                        }
                        (control(p.t("이해충돌 내용 (있는 경우)", "The conflict (if any)"), "note", errors, html! {
                            textarea id="note" name="note" rows="3" maxlength="2000" { (decl_note) }
                        }))
                        div class="actions" {
                            button type="submit" class="primary" { (p.t("신고", "Declare")) }
                        }
                    }
                }
            }
            Some(true) => {
                p class="alert warn" role="status" {
                    (p.t("이해충돌을 신고하여 이 평가에서 제외되었습니다.", "You declared a conflict of interest, so this review is closed to you."))
                    @if let Some(n) = &a.conflict_note { " (" (n) ")" }
                }
            }
            Some(false) => {}
        }
        @if let Some(v) = &content {
            (content_section(st, p.lang, &v.application.content))
            section id="attachments" {
                h2 { (p.t("증빙 자료", "Evidence")) }
                (attachments_table(p.lang, &v.attachments))
            }
        }
        @if a.conflict == Some(false) {
            section id="scoring" {
                h2 { (p.t("채점", "Scores")) }
                @if scoring_open {
                    p class="muted" { (p.t(
                        "각 항목을 성숙도 1~4로 채점하고 근거를 쓰십시오(제출 시 10자 이상). 임시 저장한 점수는 집계되지 않습니다.",
                        "Score every criterion on the maturity scale 1-4 with a written justification (10 characters or more to submit). Saved drafts are not counted.",
                    )) }
                    form method="post" action={ "/reviews/" (id) "/scores" } class="stack" novalidate {
                        (p.csrf_field())
                        @for c in &policy.evaluation.criteria {
                            @let sname = format!("scores.{}", c.id);
                            @let jname = format!("scores.{}.justification", c.id);
                            @let (sv, jv) = scores.get(&c.id).cloned().unwrap_or_default();
                            fieldset class="criterion" {
                                legend { (p.t(&c.label_ko, &c.label_en)) " · " span class="muted small" { (rubric_label(p.lang, c.rubric)) } }
                                (control(p.t("점수", "Score"), &sname, errors, html! {
                                    select id=(sname) name=(sname) {
                                        option value="" { (p.t("선택", "Choose")) }
                                        @for l in &policy.evaluation.scale {
                                            @let v = l.level.to_string();
                                            option value=(v) selected[sv == v] { (l.level) " · " (p.t(&l.label_ko, &l.label_en)) }
                                        }
                                    }
                                }))
                                (control(p.t("근거", "Justification"), &jname, errors, html! {
                                    textarea id=(jname) name=(jname) rows="2" maxlength="4000" { (jv) }
                                }))
                            }
                        }
                        div class="actions" {
                            button type="submit" name="intent" value="save" { (p.t("임시 저장", "Save draft")) }
                            button type="submit" name="intent" value="submit" class="primary" data-confirm=(p.t("평가를 제출하시겠습니까? 제출 후에는 바꿀 수 없습니다.", "Submit your review? It cannot be changed afterwards.")) { (p.t("평가 제출", "Submit review")) }
                        }
                    }
                } @else {
                    @if a.submitted_at.is_none() {
                        p class="muted" { (p.t("신청이 전문가 평가 단계일 때 채점할 수 있습니다.", "Scores can be given while the application is under review.")) }
                    }
                    (scores_table(st, p.lang, &mine.scores))
                }
            }
        }
    };
    p.page_with(status, &title, body)
}

fn scores_table(st: &AppState, lang: Lang, rows: &[ScoreRow]) -> Markup {
    let policy = st.svc.policy();
    html! {
        @if !rows.is_empty() {
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" { (lang.t("항목", "Criterion")) }
                        th scope="col" class="num" { (lang.t("점수", "Score")) }
                        th scope="col" { (lang.t("근거", "Justification")) }
                    } }
                    tbody {
                        @for r in rows {
                            @let label = policy.evaluation.criteria.iter().find(|c| c.id == r.criterion).map(|c| lang.t(&c.label_ko, &c.label_en).to_string()).unwrap_or_else(|| r.criterion.clone());
                            tr {
                                td { (label) }
                                td class="num" { (r.score) }
                                td class="prewrap" { (r.justification) }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn review_page(
    State(st): State<AppState>,
    p: Portal,
    Path(id): Path<String>,
    Query(q): Query<ViewQuery>,
) -> Response {
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    let view = AdvisorPage {
        notice: Some(q.notice_code().to_string()),
        ..Default::default()
    };
    advisor_page(&st, &p, id, view, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
pub struct DeclareForm {
    #[serde(default)]
    conflict: String,
    #[serde(default)]
    note: String,
}

async fn declare(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<DeclareForm>,
) -> Response {
    let p = f.portal;
    let form = f.form;
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    let again = |errors: Vec<FieldError>, alert: Option<String>| AdvisorPage {
        errors,
        alert,
        declaration: Some((form.conflict.clone(), form.note.clone())),
        ..Default::default()
    };
    let conflict = match form.conflict.as_str() {
        "no" => false,
        "yes" => true,
        _ => {
            let e = FieldError::new(
                "conflict",
                p.t(
                    "이해충돌이 있는지 없는지 고르십시오.",
                    "choose whether you have a conflict of interest",
                ),
            );
            return advisor_page(
                &st,
                &p,
                id,
                again(vec![e], None),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let note = Some(form.note.trim()).filter(|n| !n.is_empty());
    match st.svc.declare_conflict(&p.actor, id, conflict, note).await {
        Ok(_) => Redirect::to(&format!("/reviews/{id}?notice=declared")).into_response(),
        Err(e) if !e.field_errors().is_empty() => {
            advisor_page(
                &st,
                &p,
                id,
                again(e.field_errors().to_vec(), None),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e @ (ServiceError::Rule { .. } | ServiceError::Domain(_))) => {
            let status = crate::error::status_of(&e);
            advisor_page(&st, &p, id, again(vec![], Some(e.to_string())), status).await
        }
        Err(e) => p.error(e),
    }
}

async fn score(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let p = f.portal;
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    let get = |k: &str| {
        f.form
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let submit = get("intent") == "submit";
    let policy = st.svc.policy();
    let mut typed = ScoreDraft::new();
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for c in &policy.evaluation.criteria {
        let sname = format!("scores.{}", c.id);
        let raw = get(&sname).trim().to_string();
        let justification = get(&format!("{sname}.justification"));
        typed.insert(c.id.clone(), (raw.clone(), justification.clone()));
        if raw.is_empty() {
            // Left blank: not saved; on submit the service names every criterion not scored.
            continue;
        }
        match raw.parse::<i64>() {
            Ok(score) => inputs.push(ScoreInput {
                criterion: c.id.clone(),
                score,
                justification,
            }),
            Err(_) => errors.push(FieldError::new(
                sname,
                p.t(
                    "1~4 사이의 점수를 고르십시오.",
                    "choose a score from 1 to 4",
                ),
            )),
        }
    }
    let again = |errors: Vec<FieldError>, alert: Option<String>| AdvisorPage {
        errors,
        alert,
        scores: Some(typed.clone()),
        ..Default::default()
    };
    if !errors.is_empty() {
        return advisor_page(
            &st,
            &p,
            id,
            again(errors, None),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    match st.svc.save_scores(&p.actor, id, &inputs, submit).await {
        Ok(_) => {
            let code = if submit {
                "scores_submitted"
            } else {
                "scores_saved"
            };
            Redirect::to(&format!("/reviews/{id}?notice={code}")).into_response()
        }
        Err(e) if !e.field_errors().is_empty() => {
            advisor_page(
                &st,
                &p,
                id,
                again(e.field_errors().to_vec(), None),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e @ (ServiceError::Rule { .. } | ServiceError::Domain(_))) => {
            let status = crate::error::status_of(&e);
            advisor_page(&st, &p, id, again(vec![], Some(e.to_string())), status).await
        }
        Err(e) => p.error(e),
    }
}

// ================================================================================ officer

/// What the officer's review page shows besides the application.
pub struct OfficerPage {
    pub errors: Vec<FieldError>,
    pub alert: Option<String>,
    /// The action and comment as typed, when a refused step is shown again.
    pub form: Option<(ApplicationAction, String)>,
    pub status: StatusCode,
    pub notice: Option<String>,
    /// The override reason as typed, when a refused approval is shown again.
    pub override_typed: String,
}

async fn officer_review(
    State(st): State<AppState>,
    p: Portal,
    Path(id): Path<String>,
    Query(q): Query<ViewQuery>,
) -> Response {
    let view = match parse_id(&id) {
        Ok(id) => st.svc.get_application(&p.actor, id).await,
        Err(e) => Err(e),
    };
    let view = match view {
        Ok(v) => v,
        Err(e) => return p.error(e),
    };
    officer_page(
        &st,
        &p,
        &view,
        OfficerPage {
            errors: vec![],
            alert: None,
            form: None,
            status: StatusCode::OK,
            notice: Some(q.notice_code().to_string()),
            override_typed: String::new(),
        },
    )
    .await
}

/// The officer's review of one application. Shown to the roles the service gives the
/// evaluation to (officers, admins, auditors); the steps are offered to those who may take them.
pub async fn officer_page(
    st: &AppState,
    p: &Portal,
    view: &ApplicationView,
    page: OfficerPage,
) -> Response {
    // The service hands assignments and evaluations only to the roles that may read them.
    let Some(assignments) = &view.assignments else {
        return p.error(ServiceError::Forbidden(Action::ReadEvaluation.as_str()));
    };
    let app = &view.application;
    let policy = st.svc.policy();
    let manage = p.may(Action::ManageApplications);
    let advisors = if manage {
        st.svc.list_advisors(&p.actor).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let unassigned: Vec<_> = advisors
        .iter()
        .filter(|u| {
            // A removed advisor stays on record and is not offered again.
            let removed = view.removed_assignments.as_deref().unwrap_or_default();
            !u.disabled
                && !assignments.iter().any(|a| a.advisor_id == u.id)
                && !removed.iter().any(|a| a.advisor_id == u.id)
        })
        .collect();
    let errors = &page.errors;
    let can = |a: ApplicationAction| a.apply(app.state).is_ok();
    let typed = |a: ApplicationAction| -> String {
        match &page.form {
            Some((x, c)) if *x == a => c.clone(),
            _ => String::new(),
        }
    };
    let decision_typed = match &page.form {
        Some((ApplicationAction::Approve | ApplicationAction::Reject, c)) => c.clone(),
        _ => String::new(),
    };
    // Counted from the declarations: an assigned advisor counts once they declared no conflict.
    let cleared = assignments
        .iter()
        .filter(|a| a.conflict == Some(false))
        .count();
    let undeclared = assignments.iter().filter(|a| a.conflict.is_none()).count();
    let changeable = manage
        && matches!(
            app.state,
            ApplicationState::Screening | ApplicationState::UnderReview
        );
    // The advisory group's members proposed for this panel, each with why (C14).
    let proposals = if changeable {
        st.svc.propose_reviewers(&p.actor, app.id).await.ok()
    } else {
        None
    };
    let failed = view.evaluation.as_ref().is_some_and(|e| !e.passed);
    let need = policy.evaluation.reviewers_per_application;
    let title = format!(
        "{} #{} · {}",
        p.t("심사·평가", "Review"),
        app.id,
        app.institution_name
    );
    let evaluation = view
        .evaluation
        .as_ref()
        .and_then(|e| serde_json::from_value::<EvaluationResult>(e.result.clone()).ok());
    let body = html! {
        h1 { (title) }
        p { a href={ "/applications/" (app.id) } { "← " (p.t("신청서 내용", "The application")) } }
        (notice(p.lang, page.notice.as_deref()))
        @if let Some(m) = &page.alert { p class="alert error" role="alert" { (m) } }
        (error_summary(p.lang, errors))
        dl class="facts" {
            dt { (p.t("상태", "State")) } dd { (state_badge(p.lang, app.state)) }
            dt { (p.t("평가위원", "Reviewers")) }
            dd data-cleared=(cleared) {
                (cleared) " / " (need) " " (p.t("(이해충돌 없음을 신고한 위원 / 정책상 인원)", "(declared no conflict / required by policy)"))
                @if undeclared > 0 { " · " (p.t("신고 전 ", "not yet declared: ")) (undeclared) (p.t("명", "")) }
            }
            @if let Some(e) = &view.evaluation {
                dt { (p.t("평가 결과", "Evaluation")) }
                dd {
                    @if e.passed { span class="badge ok" { (p.t("통과", "Passed")) } } @else { span class="badge bad" { (p.t("미달", "Not passed")) } }
                    " " (format!("{:.2}", e.score))
                    @if e.disagreement { " " span class="badge warn" { (p.t("평가위원 간 의견 차", "Reviewer disagreement")) } }
                }
            }
        }
        @if let (Some(rec), Some(ev)) = (&view.evaluation, &evaluation) {
            (evaluation_section(p.lang, rec, ev))
        } @else {
            section id="evaluation" {
                h2 { (p.t("평가 집계", "Aggregated scores")) }
                p class="muted" { (p.t(
                    "모든 평가위원이 제출한 뒤 '평가 집계'를 하면 항목별 점수와 통과 여부가 표시됩니다.",
                    "Once every reviewer has submitted, 'Complete the evaluation' shows the scores per criterion and the pass/fail result.",
                )) }
            }
        }
        @if manage && !app.state.is_final() {
            section id="steps" {
                h2 { (p.t("처리", "Steps")) }
                @let steps = [
                    (ApplicationAction::StartScreening, "자격 심사 시작", "Start screening"),
                    (ApplicationAction::StartReview, "전문가 평가 시작", "Start expert review"),
                    (ApplicationAction::CompleteEvaluation, "평가 집계", "Complete the evaluation"),
                ];
                @if steps.iter().any(|(a, _, _)| can(*a)) {
                div class="actions" {
                    @for (a, ko, en) in steps {
                        @if can(a) {
                            form method="post" action={ "/applications/" (app.id) "/transition" } class="inline" {
                                (p.csrf_field())
                                input type="hidden" name="action" value=(a.as_str());
                                button type="submit" class="primary" { (p.t(ko, en)) }
                            }
                        }
                    }
                }
                }
                @if matches!(app.state, ApplicationState::Screening | ApplicationState::UnderReview) {
                    h3 { (p.t("평가위원 배정", "Assign reviewers")) }
                    @if let Some(x) = &proposals { (super::advisory::proposals_section(p, x, true)) }
                    @if unassigned.is_empty() {
                        p class="muted" { (p.t("배정할 수 있는 평가위원이 없습니다.", "No advisor is left to assign.")) }
                    } @else {
                        @let err = field_error(errors, "advisor_id");
                        form method="post" action={ "/applications/" (app.id) "/reviewers" } class="stack" {
                            (p.csrf_field())
                            fieldset id="advisor_id" class={ "field" @if err.is_some() { " invalid" } } {
                                legend { (p.t("평가위원 선택", "Choose advisors")) }
                                @for u in &unassigned {
                                    label class="check" {
                                        input type="checkbox" name="advisor_id" value=(u.id);
                                        " " (u.display_name)
                                    }
                                }
                                @if let Some(m) = err { p class="field-error" id="advisor_id-error" role="alert" { (m) } }
                            }
                            div class="actions" { button type="submit" { (p.t("배정", "Assign")) } }
                        }
                    }
                }
                @if can(ApplicationAction::Approve) || can(ApplicationAction::Reject) {
                    h3 { (p.t("결정", "Decision")) }
                    form method="post" action={ "/applications/" (app.id) "/transition" } class="stack" {
                        (p.csrf_field())
                        (control(p.t("결정 사유", "Rationale"), "rationale", errors, html! {
                            textarea id="rationale" name="rationale" rows="4" maxlength="10000" { (decision_typed) }
                        }))
                        @if failed && can(ApplicationAction::Approve) {
                            p class="alert warn" role="status" id="override-warning" { (p.t(
                                "전문가 평가가 정책의 통과 기준에 미달했습니다. 그래도 승인하려면 예외 승인 사유를 쓰십시오. 사유는 결정과 함께 기록되고 감사 로그, 신청서, 단계별 허용 대상 제안에 표시됩니다.",
                                "The evaluation did not meet the policy's pass marks. To approve it anyway, write the reason for the override: it is recorded with the decision and shown in the audit log, on the application and to the cohort planner.",
                            )) }
                            (control(p.t("평가 미달 승인 사유 (승인할 때만)", "Override reason (to approve only)"), "override_reason", errors, html! {
                                textarea id="override_reason" name="override_reason" rows="3" maxlength="10000" { (page.override_typed) }
                            }))
                        }
                        div class="actions" {
                            @if can(ApplicationAction::Approve) {
                                @if failed {
                                    button type="submit" name="action" value="approve" class="primary" data-confirm=(p.t("평가 미달인 신청을 예외로 승인하시겠습니까?", "Approve this application although its evaluation failed?")) { (p.t("예외 승인", "Approve with override")) }
                                } @else {
                                    button type="submit" name="action" value="approve" class="primary" data-confirm=(p.t("승인하시겠습니까?", "Approve the application?")) { (p.t("승인", "Approve")) }
                                }
                            }
                            button type="submit" name="action" value="reject" class="danger" data-confirm=(p.t("거절하시겠습니까?", "Reject the application?")) { (p.t("거절", "Reject")) }
                        }
                    }
                }
                @if can(ApplicationAction::ReturnForCorrection) {
                    h3 { (p.t("보완 요청(반송)", "Return for correction")) }
                    form method="post" action={ "/applications/" (app.id) "/transition" } class="stack" {
                        (p.csrf_field())
                        input type="hidden" name="action" value="return_for_correction";
                        (control(p.t("보완할 내용", "What must be corrected"), "comment", errors, html! {
                            textarea id="comment" name="comment" rows="3" maxlength="10000" { (typed(ApplicationAction::ReturnForCorrection)) }
                        }))
                        div class="actions" { button type="submit" { (p.t("반송", "Return")) } }
                    }
                }
            }
        }
        section id="reviewers" {
            h2 { (p.t("평가위원", "Reviewers")) }
            @if assignments.is_empty() {
                p class="muted" { (p.t("배정된 평가위원이 없습니다.", "No reviewers assigned.")) }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr {
                            th scope="col" { (p.t("평가위원", "Advisor")) }
                            th scope="col" { (p.t("배정", "Assigned")) }
                            th scope="col" { (p.t("이해충돌", "Conflict of interest")) }
                            th scope="col" { (p.t("평가 제출", "Submitted")) }
                            @if changeable { th scope="col" { (p.t("제외·교체", "Remove or replace")) } }
                        } }
                        tbody {
                            @for a in assignments {
                                tr {
                                    td { (a.advisor_name) }
                                    td { (day(&a.assigned_at)) " · " (a.assigned_by) }
                                    td { (declaration_label(p.lang, a)) @if let Some(n) = &a.conflict_note { " " span class="small" { (n) } } }
                                    td { @if let Some(s) = &a.submitted_at { (day(s)) } @else { "—" } }
                                    @if changeable {
                                        td { (remove_form(p, app.id, a, &unassigned, errors)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(removed) = view.removed_assignments.as_ref().filter(|r| !r.is_empty()) {
                h3 { (p.t("제외된 평가위원", "Removed advisors")) }
                p class="muted" { (p.t("제외된 평가위원의 점수는 집계되지 않고, 해당 위원은 이 신청을 더 이상 볼 수 없습니다.", "A removed advisor's scores do not count, and the advisor no longer sees this application.")) }
                ul id="removed-reviewers" {
                    @for a in removed {
                        li {
                            (a.advisor_name) " · "
                            @if let Some(at) = &a.removed_at { (day(at)) " " }
                            @if let Some(by) = &a.removed_by { (by) }
                            @if let Some(why) = &a.removed_reason { " — " span class="prewrap" { (why) } }
                        }
                    }
                }
            }
        }
        @if let Some(d) = &view.decision {
            section id="decision" {
                h2 { (p.t("결정", "Decision")) }
                (decision_facts(p.lang, d, view.override_reason.as_deref()))
            }
        }
    };
    p.page_with(page.status, &title, body)
}

fn evaluation_section(
    lang: Lang,
    rec: &haechi_store::EvaluationRecord,
    ev: &EvaluationResult,
) -> Markup {
    html! {
        section id="evaluation" {
            h2 { (lang.t("평가 집계", "Aggregated scores")) }
            p {
                @if ev.passed { span class="badge ok" { (lang.t("통과", "Passed")) } } @else { span class="badge bad" { (lang.t("미달", "Not passed")) } }
                " " (lang.t("종합 점수 ", "Overall score ")) strong { (format!("{:.2}", ev.overall_score)) }
                " · " (lang.t("평가위원 ", "Reviewers ")) (ev.reviewers) "/" (ev.reviewers_expected)
                " · " (lang.t("정책 버전 ", "Policy version ")) (rec.policy_version)
                " · " (day(&rec.computed_at))
            }
            h3 { (lang.t("판단 근거", "Reasons")) }
            ul {
                @for r in &ev.reasons { li { (lang.t(&r.ko, &r.en)) } }
            }
            div class="table-wrap" {
                table {
                    caption class="visually-hidden" { (lang.t("역량별 결과", "Result per rubric")) }
                    thead { tr {
                        th scope="col" { (lang.t("역량", "Rubric")) }
                        th scope="col" class="num" { (lang.t("가중 평균", "Weighted mean")) }
                        th scope="col" class="num" { (lang.t("통과 기준", "Pass mark")) }
                        th scope="col" class="num" { (lang.t("최저 항목 기준", "Lowest criterion at least")) }
                        th scope="col" { (lang.t("결과", "Result")) }
                    } }
                    tbody {
                        @for r in &ev.rubrics {
                            tr {
                                td { (rubric_label(lang, r.rubric)) }
                                td class="num" { (format!("{:.2}", r.weighted_mean)) }
                                td class="num" { (format!("{:.1}", r.min_mean)) }
                                td class="num" { @if let Some(m) = r.min_criterion_mean { (format!("{m:.1}")) } @else { "—" } }
                                td { @if r.passed { span class="badge ok" { (lang.t("통과", "Passed")) } } @else { span class="badge bad" { (lang.t("미달", "Not passed")) } } }
                            }
                        }
                    }
                }
            }
            (criteria_chart(lang, ev))
            div class="table-wrap" {
                table {
                    caption class="visually-hidden" { (lang.t("항목별 점수", "Scores per criterion")) }
                    thead { tr {
                        th scope="col" { (lang.t("항목", "Criterion")) }
                        th scope="col" { (lang.t("역량", "Rubric")) }
                        th scope="col" class="num" { (lang.t("평균", "Mean")) }
                        th scope="col" class="num" { (lang.t("최저", "Min")) }
                        th scope="col" class="num" { (lang.t("최고", "Max")) }
                        th scope="col" class="num" { (lang.t("편차", "Spread")) }
                        th scope="col" { (lang.t("의견 차", "Disagreement")) }
                    } }
                    tbody {
                        @for c in &ev.criteria {
                            tr {
                                td { (lang.t(&c.label_ko, &c.label_en)) }
                                td { (rubric_label(lang, c.rubric)) }
                                td class="num" { (format!("{:.2}", c.mean)) }
                                td class="num" { (c.min) }
                                td class="num" { (c.max) }
                                td class="num" { (c.spread) }
                                td { @if c.disagreement { span class="badge warn" { (lang.t("의견 차 큼", "Large disagreement")) } } @else { "—" } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Mean score per criterion as horizontal bars on the 1–4 scale, with each criterion's
/// lowest-to-highest reviewer score as a line; flagged disagreements in the warning colour.
fn criteria_chart(lang: Lang, ev: &EvaluationResult) -> Markup {
    const LEFT: f64 = 170.0;
    const WIDTH: f64 = 440.0;
    const ROW: f64 = 26.0;
    const TOP: f64 = 24.0;
    let x = |v: f64| LEFT + (v / 4.0) * WIDTH;
    let height = TOP + ROW * ev.criteria.len() as f64 + 10.0;
    html! {
        figure class="chart compact" {
            svg viewBox={ "0 0 640 " (height) } role="img" aria-label=(lang.t("항목별 평균 점수 (1~4), 선은 평가위원 최저~최고", "Mean score per criterion (1-4); the line spans the reviewers' lowest to highest")) {
                @for level in 1..=4u8 {
                    @let gx = x(f64::from(level));
                    line x1=(gx) y1=(TOP - 6.0) x2=(gx) y2=(height - 8.0) stroke="#d0d7de" stroke-width="1" {}
                    text x=(gx) y="14" font-size="11" text-anchor="middle" fill="#59636e" { (level) }
                }
                @for (i, c) in ev.criteria.iter().enumerate() {
                    @let y = TOP + ROW * i as f64;
                    @let fill = if c.disagreement { "#9a6700" } else { "#0b3d91" };
                    text x=(LEFT - 8.0) y=(y + 14.0) font-size="12" text-anchor="end" fill="#1b1f24" { (lang.t(&c.label_ko, &c.label_en)) }
                    rect x=(LEFT) y=(y + 3.0) width=(x(c.mean) - LEFT) height=(ROW - 10.0) fill=(fill) opacity="0.85" {}
                    // The reviewers' range runs under the bar, with end ticks, so that it never
                    // strikes through the value written after the bar.
                    @let wy = y + ROW - 4.5;
                    line x1=(x(f64::from(c.min))) y1=(wy) x2=(x(f64::from(c.max))) y2=(wy) stroke="#1b1f24" stroke-width="1.5" {}
                    line x1=(x(f64::from(c.min))) y1=(wy - 3.0) x2=(x(f64::from(c.min))) y2=(wy + 1.5) stroke="#1b1f24" stroke-width="1.5" {}
                    line x1=(x(f64::from(c.max))) y1=(wy - 3.0) x2=(x(f64::from(c.max))) y2=(wy + 1.5) stroke="#1b1f24" stroke-width="1.5" {}
                    text x=(x(c.mean) + 4.0) y=(y + 14.0) font-size="11" fill="#1b1f24" { (format!("{:.2}", c.mean)) }
                }
            }
            figcaption { (lang.t(
                "막대: 항목별 평균 점수. 막대 아래 검은 선: 평가위원 최저~최고 점수. 주황 막대: 의견 차가 큰 항목.",
                "Bars: mean score per criterion. Black line under each bar: lowest to highest reviewer score. Amber bars: large reviewer disagreement.",
            )) }
        }
    }
}

async fn assign(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let p = f.portal;
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    // The advisors to choose from are the officers'; a role that may not assign stops here.
    if let Err(e) = st.svc.list_advisors(&p.actor).await {
        return p.error(e);
    }
    let mut errors = Vec::new();
    let mut ids = Vec::new();
    for (k, v) in &f.form {
        if k == "advisor_id" {
            match v.parse::<i64>() {
                Ok(n) => ids.push(n),
                Err(_) => errors.push(FieldError::new(
                    "advisor_id",
                    p.t(
                        "평가위원 선택이 올바르지 않습니다.",
                        "an advisor choice is invalid",
                    ),
                )),
            }
        }
    }
    if ids.is_empty() && errors.is_empty() {
        errors.push(FieldError::new(
            "advisor_id",
            p.t(
                "평가위원을 한 명 이상 고르십시오.",
                "choose at least one advisor",
            ),
        ));
    }
    let mut alert = None;
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if errors.is_empty() {
        let mut done = 0usize;
        for advisor in &ids {
            match st.svc.assign_reviewer(&p.actor, id, *advisor).await {
                Ok(_) => done += 1,
                Err(
                    e @ (ServiceError::NotFound
                    | ServiceError::Forbidden(_)
                    | ServiceError::Store(_)),
                ) => return p.error(e),
                Err(e) => {
                    errors.extend(e.field_errors().iter().cloned());
                    status = crate::error::status_of(&e);
                    alert = Some(match p.lang {
                        Lang::Ko => format!(
                            "{done}명을 배정한 뒤 중단했습니다: {}",
                            super::error_text(p.lang, &e)
                        ),
                        Lang::En => format!(
                            "Stopped after assigning {done}: {}",
                            super::error_text(p.lang, &e)
                        ),
                    });
                    break;
                }
            }
        }
        if alert.is_none() {
            return Redirect::to(&format!("/applications/{id}/review?notice=assigned"))
                .into_response();
        }
    }
    officer_page_again(&st, &p, id, errors, alert, status).await
}

/// The officer's form to remove an advisor from the application, with a reason and an optional
/// replacement chosen from the advisors not yet assigned.
fn remove_form(
    p: &Portal,
    application_id: i64,
    a: &Assignment,
    unassigned: &[&haechi_store::User],
    errors: &[FieldError],
) -> Markup {
    let reason_id = format!("reason-{}", a.advisor_id);
    let replacement_id = format!("replacement-{}", a.advisor_id);
    html! {
        details class="remove-reviewer" {
            summary { (p.t("제외 또는 교체", "Remove or replace")) }
            form method="post" action={ "/applications/" (application_id) "/reviewers/remove" } class="stack" data-confirm=(p.t("이 평가위원을 배정에서 제외하시겠습니까? 제출한 점수는 집계되지 않습니다.", "Remove this advisor? Their scores will no longer count.")) {
                (p.csrf_field())
                input type="hidden" name="advisor_id" value=(a.advisor_id);
                div class={ "field" @if field_error(errors, "reason").is_some() { " invalid" } } {
                    label for=(reason_id) { (p.t("사유", "Reason")) }
                    textarea id=(reason_id) name="reason" rows="2" maxlength="2000" required {}
                }
                div class="field" {
                    label for=(replacement_id) { (p.t("교체할 평가위원 (선택)", "Replacement advisor (optional)")) }
                    select id=(replacement_id) name="replacement" {
                        option value="" { (p.t("교체하지 않음", "No replacement")) }
                        @for u in unassigned {
                            option value=(u.id) { (u.display_name) }
                        }
                    }
                }
                div class="actions" { button type="submit" class="danger" { (p.t("제외", "Remove")) } }
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct RemoveForm {
    #[serde(default)]
    advisor_id: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    replacement: String,
}

async fn remove(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<RemoveForm>,
) -> Response {
    let p = f.portal;
    let form = f.form;
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    // A role that may not change reviewers stops here, before the form is read.
    if let Err(e) = st.svc.list_advisors(&p.actor).await {
        return p.error(e);
    }
    let mut errors = Vec::new();
    let advisor = form.advisor_id.trim().parse::<i64>().ok();
    if advisor.is_none() {
        errors.push(FieldError::new(
            "advisor_id",
            p.t(
                "제외할 평가위원을 고르십시오.",
                "choose the advisor to remove",
            ),
        ));
    }
    let replacement = match form.replacement.trim() {
        "" => None,
        r => match r.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(FieldError::new(
                    "replacement",
                    p.t(
                        "교체할 평가위원 선택이 올바르지 않습니다.",
                        "the replacement choice is invalid",
                    ),
                ));
                None
            }
        },
    };
    if form.reason.trim().is_empty() {
        errors.push(FieldError::new(
            "reason",
            p.t(
                "평가위원을 제외하는 사유를 쓰십시오.",
                "say why the advisor is removed",
            ),
        ));
    }
    let mut alert = None;
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if let (Some(advisor), true) = (advisor, errors.is_empty()) {
        match st
            .svc
            .remove_reviewer(&p.actor, id, advisor, &form.reason, replacement)
            .await
        {
            Ok(_) => {
                return Redirect::to(&format!(
                    "/applications/{id}/review?notice=reviewer_removed#reviewers"
                ))
                .into_response()
            }
            Err(
                e @ (ServiceError::NotFound | ServiceError::Forbidden(_) | ServiceError::Store(_)),
            ) => return p.error(e),
            Err(e) => {
                status = crate::error::status_of(&e);
                if e.field_errors().is_empty() {
                    alert = Some(format!(
                        "{} {e}",
                        p.t("제외하지 못했습니다:", "The advisor was not removed:")
                    ));
                }
                errors.extend(e.field_errors().iter().cloned());
            }
        }
    }
    officer_page_again(&st, &p, id, errors, alert, status).await
}

/// The officer's page again after a refused reviewer change, with what went wrong.
async fn officer_page_again(
    st: &AppState,
    p: &Portal,
    id: i64,
    errors: Vec<FieldError>,
    alert: Option<String>,
    status: StatusCode,
) -> Response {
    let view = match st.svc.get_application(&p.actor, id).await {
        Ok(v) => v,
        Err(e) => return p.error(e),
    };
    officer_page(
        st,
        p,
        &view,
        OfficerPage {
            errors,
            alert,
            form: None,
            status,
            notice: None,
            override_typed: String::new(),
        },
    )
    .await
}
