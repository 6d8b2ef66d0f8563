//! The AI security response team (C14): institutions raise field challenges and follow them;
//! officers manage the members (FSC, FSS, FSI, CISOs by sector), assign each challenge an
//! owner, answer it and move its status, and record the regular check-ins with attendance and
//! actions. What is past its due day and not done is flagged on both sides' pages.
//!
//! What it must not do: decide who may do what, or which status move is legal — the service
//! does.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use haechi_core::{FieldError, Sector};
use haechi_service::authz::Action;
use haechi_service::response_team::{
    ActionInput, Challenge, ChallengeChange, ChallengeInput, ChallengeStatus, CheckinAction,
    CheckinInput, MemberInput, Organisation,
};
use haechi_service::ServiceError;
use haechi_store::ResponseMemberRow;
use maud::{html, Markup};
use serde::Deserialize;

use super::{kst_minute, CsrfForm, Lang, PageRoute, Portal};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/response", hub),
        page_post!("/response/members", add_member),
        page_post!("/response-members/{id}/retire", retire_member),
        page_post!("/challenges", raise),
        page_get!("/challenges/{id}", challenge),
        page_post!("/challenges/{id}/update", update),
        page_post!("/checkins", record_checkin),
        page_get!("/checkins/{id}", checkin),
        page_post!("/checkins/{id}/actions", add_action),
        page_post!("/checkin-actions/{id}/done", action_done),
    ]
}

fn label(lang: Lang, field: &str) -> String {
    let (ko, en) = match field {
        "title" => ("제목", "Title"),
        "description" => ("내용", "Description"),
        "due_on" => ("답변 기한", "Due on"),
        "organisation" => ("소속", "Organisation"),
        "name" => ("이름", "Name"),
        "team_role" => ("대응반 역할", "Role in the team"),
        "user_id" => ("금융회사 CISO", "Institution CISO"),
        "status" => ("상태", "Status"),
        "owner_member_id" => ("담당", "Owner"),
        "response" => ("답변", "Response"),
        "held_on" => ("회의일", "Held on"),
        "notes" => ("회의 내용", "Notes"),
        "attendees" => ("참석자", "Attendance"),
        _ => return super::fields::field_label(lang, field),
    };
    lang.t(ko, en).to_string()
}

fn message(lang: Lang, e: &FieldError) -> String {
    let ko = match e.message.as_str() {
        "must not be in the past" => "오늘 이전일 수 없습니다.",
        "must not be in the future" => "오늘 이후일 수 없습니다.",
        "choose an organisation" => "소속을 고르십시오.",
        "choose the CISO (an institution user)" => "금융회사 CISO 사용자를 고르십시오.",
        "only a CISO member is an institution user" => {
            "금융회사 CISO 위원만 기관 사용자를 지정합니다."
        }
        "choose a status" => "상태를 고르십시오.",
        "a resolved challenge needs the team's response" => "해결로 바꾸려면 답변을 쓰십시오.",
        "choose an active member" => "활동 중인 구성원을 고르십시오.",
        "a challenge in progress needs an owner" => "처리 중으로 바꾸려면 담당을 정하십시오.",
        "mark who attended" => "참석자를 한 명 이상 고르십시오.",
        "choose active members" => "활동 중인 구성원만 고를 수 있습니다.",
        "must not be before the check-in" => "회의일보다 앞설 수 없습니다.",
        "is not a date" => "날짜를 쓰십시오.",
        _ => return super::fields::localized(lang, e),
    };
    lang.t(ko, &e.message).to_string()
}

fn rule_message(lang: Lang, e: &ServiceError) -> String {
    let (ko, en) = match e.code() {
        "illegal_transition" => (
            "현재 상태에서는 그 상태로 바꿀 수 없습니다(접수 → 처리 중 → 해결/종결, 접수 상태에서 종결 가능, 해결·종결 후에는 변경 불가).",
            "The status cannot move that way (open → in progress → resolved or closed; an open challenge may be closed; nothing changes after resolved or closed).",
        ),
        _ => return super::error_text(lang, e),
    };
    lang.t(ko, en).to_string()
}

fn failure(lang: Lang, e: &ServiceError) -> String {
    super::fields::form_failure(lang, e, rule_message)
}

fn errors_block(lang: Lang, failed: Option<&str>, errors: &[FieldError]) -> Markup {
    super::fields::form_alerts(lang, failed, errors, label, message)
}

pub fn organisation_label(lang: Lang, o: &str) -> &'static str {
    match Organisation::parse(o) {
        Some(Organisation::Fsc) => lang.t("금융위원회", "FSC"),
        Some(Organisation::Fss) => lang.t("금융감독원", "FSS"),
        Some(Organisation::Fsi) => lang.t("금융보안원", "FSI"),
        Some(Organisation::Ciso) => lang.t("금융회사 CISO", "Institution CISO"),
        None => lang.t("기타", "Other"),
    }
}

fn sector_label(lang: Lang, s: Option<&str>) -> String {
    s.and_then(Sector::parse)
        .map(|s| lang.t(s.label_ko(), s.label_en()).to_string())
        .unwrap_or_else(|| "—".into())
}

fn status_label(lang: Lang, s: ChallengeStatus) -> &'static str {
    match s {
        ChallengeStatus::Open => lang.t("접수", "Open"),
        ChallengeStatus::InProgress => lang.t("처리 중", "In progress"),
        ChallengeStatus::Resolved => lang.t("해결", "Resolved"),
        ChallengeStatus::Closed => lang.t("종결", "Closed"),
    }
}

fn status_badge(lang: Lang, s: &str) -> Markup {
    let status = ChallengeStatus::parse(s).unwrap_or(ChallengeStatus::Open);
    let class = match status {
        ChallengeStatus::Resolved => "badge ok",
        ChallengeStatus::Closed => "badge",
        _ => "badge warn",
    };
    html! { span class=(class) { (status_label(lang, status)) } }
}

/// The due day with how far it is, flagged when overdue.
fn due(lang: Lang, due_on: &str, days_left: i64, open: bool, overdue: bool) -> Markup {
    html! {
        (due_on)
        @if overdue {
            " " span class="badge bad" { (lang.t("기한 경과", "Overdue")) }
            " " span class="small muted" { (match lang { Lang::Ko => format!("{}일 지남", -days_left), Lang::En => format!("{} days past", -days_left) }) }
        } @else if open {
            " " span class="small muted" { (match lang { Lang::Ko => format!("{days_left}일 남음"), Lang::En => format!("{days_left} days left") }) }
        }
    }
}

fn action_due(lang: Lang, a: &CheckinAction) -> Markup {
    html! {
        (a.row.due_on)
        @if a.overdue { " " span class="badge bad" { (lang.t("기한 경과", "Overdue")) } }
        @if let Some(at) = &a.row.done_at { " " span class="badge ok" { (lang.t("완료", "Done")) } " " span class="small muted" { (kst_minute(at)) } }
    }
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

fn id_of(s: &str) -> Result<i64, ServiceError> {
    s.trim().parse::<i64>().map_err(|_| ServiceError::NotFound)
}

// ================================================================================ hub

#[derive(Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn hub(p: Portal, State(st): State<AppState>, Query(q): Query<DoneQuery>) -> Response {
    render_hub(&st, &p, &q.done, None, &[]).await
}

async fn render_hub(
    st: &AppState,
    p: &Portal,
    done: &str,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let challenges = match st.svc.challenges(&p.actor).await {
        Ok(c) => c,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let regulator = p.may(Action::ReadCheckins);
    let manage = p.may(Action::ManageResponseTeam);
    let members = if regulator {
        st.svc.response_members(&p.actor).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let checkins = if regulator {
        st.svc.checkins(&p.actor).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let open_actions = if regulator {
        st.svc
            .open_checkin_actions(&p.actor)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let cisos = if manage {
        st.svc
            .team_ciso_candidates(&p.actor)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let overdue = challenges.iter().filter(|c| c.overdue).count();
    let title = p.t("AI 보안 대응반", "AI security response team");
    let body = html! {
        h1 { (title) }
        p class="muted" { (p.t(
            "금융위원회·금융감독원·금융보안원과 업권별 CISO로 구성된 대응반이 금융회사의 현장 애로사항에 답하고 정기적으로 점검합니다.",
            "The FSC, the FSS, the FSI and CISOs of each sector answer the institutions' field challenges and meet regularly.",
        )) }
        @if !done.is_empty() { p class="alert ok" role="status" { (p.t("저장했습니다.", "Saved.")) } }
        (errors_block(lang, failed.as_deref(), errors))
        h2 { (p.t("현장 애로사항", "Field challenges")) }
        @if overdue > 0 {
            p class="alert warn" role="alert" { (match lang {
                Lang::Ko => format!("답변 기한이 지난 애로사항이 {overdue}건 있습니다."),
                Lang::En => format!("{overdue} challenges are past their due day."),
            }) }
        }
        @if challenges.is_empty() {
            p class="muted" { (p.t("접수된 애로사항이 없습니다.", "No challenges were raised.")) }
        } @else {
            div class="table-wrap" { table {
                thead { tr {
                    th scope="col" { (p.t("제목", "Title")) }
                    @if regulator { th scope="col" { (p.t("기관", "Institution")) } }
                    th scope="col" { (p.t("업권", "Sector")) }
                    th scope="col" { (p.t("담당", "Owner")) }
                    th scope="col" { (p.t("상태", "Status")) }
                    th scope="col" { (p.t("답변 기한", "Due on")) }
                } }
                tbody { @for c in &challenges { tr {
                    td { a href={ "/challenges/" (c.row.id) } { (c.row.title) } }
                    @if regulator { td { (c.row.institution_name) } }
                    td { (sector_label(lang, Some(&c.row.sector))) }
                    td { (c.row.owner_name.clone().unwrap_or_else(|| p.t("미지정", "Not assigned").to_string())) }
                    td { (status_badge(lang, &c.row.status)) }
                    td { (due(lang, &c.row.due_on, c.days_left, !is_final(&c.row.status), c.overdue)) }
                } } }
            } }
        }
        @if p.may(Action::RaiseChallenge) {
            h2 { (p.t("애로사항 접수", "Raise a challenge")) }
            form method="post" action="/challenges" class="stack" {
                (p.csrf_field())
                div class="field" { label for="title" { (label(lang, "title")) } input type="text" id="title" name="title" required; }
                div class="field" { label for="description" { (label(lang, "description")) } textarea id="description" name="description" rows="4" required {} }
                div class="field" { label for="due_on" { (label(lang, "due_on")) } input type="date" id="due_on" name="due_on" required; }
                button type="submit" class="primary" { (p.t("접수", "Raise")) }
            }
        }
        @if regulator {
            h2 { (p.t("미완료 조치", "Open actions")) }
            @if open_actions.is_empty() {
                p class="muted" { (p.t("미완료 조치가 없습니다.", "No open actions.")) }
            } @else {
                div class="table-wrap" { table {
                    thead { tr {
                        th scope="col" { (p.t("조치", "Action")) }
                        th scope="col" { (p.t("담당", "Owner")) }
                        th scope="col" { (p.t("회의", "Check-in")) }
                        th scope="col" { (p.t("기한", "Due on")) }
                    } }
                    tbody { @for a in &open_actions { tr {
                        td { (a.row.description) }
                        td { (a.row.owner_name) }
                        td { a href={ "/checkins/" (a.row.checkin_id) } { (a.row.held_on) } }
                        td { (action_due(lang, a)) }
                    } } }
                } }
            }
            h2 { (p.t("정기 점검 회의", "Check-ins")) }
            @if checkins.is_empty() {
                p class="muted" { (p.t("기록된 회의가 없습니다.", "No check-ins recorded.")) }
            } @else {
                ul { @for k in &checkins {
                    li {
                        a href={ "/checkins/" (k.row.id) } { (k.row.held_on) }
                        " · " (match lang { Lang::Ko => format!("참석 {}명, 조치 {}건", k.attendees.len(), k.actions.len()), Lang::En => format!("{} attended, {} actions", k.attendees.len(), k.actions.len()) })
                        @if k.actions.iter().any(|a| a.overdue) { " " span class="badge bad" { (p.t("기한 경과 조치", "Overdue action")) } }
                    }
                } }
            }
            @if manage {
                form method="post" action="/checkins" class="stack" {
                    (p.csrf_field())
                    div class="field" { label for="held_on" { (label(lang, "held_on")) } input type="date" id="held_on" name="held_on" required; }
                    fieldset {
                        legend { (label(lang, "attendees")) }
                        @for m in members.iter().filter(|m| m.active) {
                            label { input type="checkbox" name="attendee" value=(m.id); " " (m.name) " (" (organisation_label(lang, &m.organisation)) ")" } " "
                        }
                    }
                    div class="field" { label for="notes" { (label(lang, "notes")) } textarea id="notes" name="notes" rows="3" required {} }
                    button type="submit" class="primary" { (p.t("회의 기록", "Record the check-in")) }
                }
            }
            h2 { (p.t("구성원", "Members")) }
            (members_table(p, &members, manage))
            @if manage {
                h3 { (p.t("구성원 추가", "Add a member")) }
                form method="post" action="/response/members" class="stack" {
                    (p.csrf_field())
                    div class="field" {
                        label for="organisation" { (label(lang, "organisation")) }
                        select id="organisation" name="organisation" {
                            @for o in Organisation::ALL { option value=(o.as_str()) { (organisation_label(lang, o.as_str())) } }
                        }
                    }
                    div class="field" { label for="name" { (label(lang, "name")) } input type="text" id="name" name="name"; }
                    div class="field" {
                        label for="user_id" { (label(lang, "user_id")) }
                        select id="user_id" name="user_id" {
                            option value="" { (p.t("해당 없음", "None")) }
                            @for (id, name, inst) in &cisos { option value=(id) { (name) " — " (inst) } }
                        }
                    }
                    div class="field" { label for="team_role" { (label(lang, "team_role")) } input type="text" id="team_role" name="team_role" required; }
                    button type="submit" class="primary" { (p.t("추가", "Add")) }
                }
            }
        }
    };
    p.page(title, body)
}

fn is_final(status: &str) -> bool {
    ChallengeStatus::parse(status).is_some_and(ChallengeStatus::is_final)
}

fn members_table(p: &Portal, members: &[ResponseMemberRow], manage: bool) -> Markup {
    let lang = p.lang;
    html! {
        @if members.is_empty() {
            p class="muted" { (p.t("구성원이 없습니다.", "No members.")) }
        } @else {
            div class="table-wrap" { table {
                thead { tr {
                    th scope="col" { (p.t("소속", "Organisation")) }
                    th scope="col" { (p.t("이름", "Name")) }
                    th scope="col" { (p.t("역할", "Role")) }
                    th scope="col" { (p.t("업권", "Sector")) }
                    th scope="col" { (p.t("상태", "State")) }
                } }
                tbody { @for m in members { tr {
                    td { (organisation_label(lang, &m.organisation)) }
                    td { (m.name) @if let Some(i) = &m.institution_name { br; span class="small muted" { (i) } } }
                    td { (m.team_role) }
                    td { (sector_label(lang, m.sector.as_deref())) }
                    td {
                        @if m.active {
                            span class="badge ok" { (p.t("활동", "Active")) }
                            @if manage {
                                form method="post" action={ "/response-members/" (m.id) "/retire" } class="inline" {
                                    (p.csrf_field())
                                    button type="submit" { (p.t("해촉", "Retire")) }
                                }
                            }
                        } @else {
                            span class="badge" { (p.t("해촉", "Retired")) }
                            @if let Some(at) = &m.retired_at { " " span class="small muted" { (kst_minute(at)) } }
                        }
                    }
                } } }
            } }
        }
    }
}

/// After a hub action: back to the hub, or the hub with what failed.
async fn hub_done(st: &AppState, p: &Portal, out: Result<(), ServiceError>) -> Response {
    match out {
        Ok(()) => Redirect::to("/response?done=saved").into_response(),
        Err(e @ (ServiceError::NotFound | ServiceError::Forbidden(_))) => p.error(e),
        Err(e) => {
            let status = crate::error::status_of(&e);
            let r = render_hub(st, p, "", Some(failure(p.lang, &e)), e.field_errors()).await;
            (status, r).into_response()
        }
    }
}

#[derive(Deserialize, Default)]
struct MemberForm {
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    team_role: String,
    #[serde(default)]
    user_id: String,
}

async fn add_member(State(st): State<AppState>, f: CsrfForm<MemberForm>) -> Response {
    let p = f.portal;
    let input = MemberInput {
        organisation: f.form.organisation,
        name: f.form.name,
        team_role: f.form.team_role,
        user_id: f.form.user_id.trim().parse().ok(),
    };
    let out = st
        .svc
        .add_response_member(&p.actor, &input)
        .await
        .map(|_| ());
    hub_done(&st, &p, out).await
}

#[derive(Deserialize, Default)]
struct EmptyForm {}

async fn retire_member(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<EmptyForm>,
) -> Response {
    let p = f.portal;
    let out = match id_of(&id) {
        Ok(id) => st.svc.retire_response_member(&p.actor, id).await,
        Err(e) => Err(e),
    };
    hub_done(&st, &p, out).await
}

#[derive(Deserialize, Default)]
struct RaiseForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    due_on: String,
}

async fn raise(State(st): State<AppState>, f: CsrfForm<RaiseForm>) -> Response {
    let p = f.portal;
    let mut errors = Vec::new();
    let due_on = date(&mut errors, "due_on", &f.form.due_on);
    let out = if errors.is_empty() {
        st.svc
            .raise_challenge(
                &p.actor,
                &ChallengeInput {
                    institution_id: None,
                    title: f.form.title,
                    description: f.form.description,
                    due_on,
                },
            )
            .await
    } else {
        haechi_service::authz::authorize(&p.actor, Action::RaiseChallenge)
            .and(Err(ServiceError::invalid(errors)))
    };
    match out {
        Ok(id) => Redirect::to(&format!("/challenges/{id}?done=raised")).into_response(),
        Err(e) => hub_done(&st, &p, Err(e)).await,
    }
}

// ================================================================================ one challenge

async fn challenge(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    match id_of(&id) {
        Ok(id) => render_challenge(&st, &p, id, &q.done, None, &[]).await,
        Err(e) => p.error(e),
    }
}

async fn render_challenge(
    st: &AppState,
    p: &Portal,
    id: i64,
    done: &str,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let c: Challenge = match st.svc.challenge(&p.actor, id).await {
        Ok(c) => c,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let manage = p.may(Action::ManageResponseTeam);
    let members = if manage {
        st.svc.response_members(&p.actor).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let status = ChallengeStatus::parse(&c.row.status).unwrap_or(ChallengeStatus::Open);
    let body = html! {
        p { a href="/response" { "← " (p.t("AI 보안 대응반", "Response team")) } }
        h1 { (c.row.title) }
        @if !done.is_empty() { p class="alert ok" role="status" { (p.t("저장했습니다.", "Saved.")) } }
        (errors_block(lang, failed.as_deref(), errors))
        @if c.overdue { p class="alert warn" role="alert" { (p.t("답변 기한이 지났습니다.", "This challenge is past its due day.")) } }
        dl class="facts" {
            dt { (p.t("기관", "Institution")) } dd { (c.row.institution_name) }
            dt { (p.t("업권", "Sector")) } dd { (sector_label(lang, Some(&c.row.sector))) }
            dt { (p.t("상태", "Status")) } dd { (status_badge(lang, &c.row.status)) }
            dt { (p.t("담당", "Owner")) } dd { (c.row.owner_name.clone().unwrap_or_else(|| p.t("미지정", "Not assigned").to_string())) }
            dt { (p.t("답변 기한", "Due on")) } dd { (due(lang, &c.row.due_on, c.days_left, !status.is_final(), c.overdue)) }
            dt { (p.t("접수", "Raised")) } dd { (kst_minute(&c.row.raised_at)) }
            dt { (p.t("최근 변경", "Last changed")) } dd { (kst_minute(&c.row.updated_at)) }
            @if let Some(at) = &c.row.closed_at { dt { (p.t("종료", "Closed at")) } dd { (kst_minute(at)) } }
        }
        h2 { (p.t("내용", "Description")) }
        p { (c.row.description) }
        h2 { (p.t("대응반 답변", "The team's response")) }
        @match &c.row.response {
            Some(r) => p { (r) },
            None => p class="muted" { (p.t("아직 답변이 없습니다.", "No response yet.")) },
        }
        @if manage && !status.is_final() {
            h2 { (p.t("처리", "Handle")) }
            form method="post" action={ "/challenges/" (c.row.id) "/update" } class="stack" {
                (p.csrf_field())
                div class="field" {
                    label for="owner_member_id" { (label(lang, "owner_member_id")) }
                    select id="owner_member_id" name="owner_member_id" {
                        option value="" { (p.t("변경 없음", "Unchanged")) }
                        @for m in members.iter().filter(|m| m.active) {
                            option value=(m.id) selected[c.row.owner_member_id == Some(m.id)] { (m.name) " (" (organisation_label(lang, &m.organisation)) ")" }
                        }
                    }
                }
                div class="field" {
                    label for="status" { (label(lang, "status")) }
                    select id="status" name="status" {
                        @for s in ChallengeStatus::ALL.into_iter().filter(|s| status.may_move_to(*s)) {
                            option value=(s.as_str()) selected[s == status] { (status_label(lang, s)) }
                        }
                    }
                }
                div class="field" { label for="response" { (label(lang, "response")) } textarea id="response" name="response" rows="4" { (c.row.response.clone().unwrap_or_default()) } }
                div class="field" { label for="due_on" { (label(lang, "due_on")) } input type="date" id="due_on" name="due_on" value=(c.row.due_on); }
                button type="submit" class="primary" { (p.t("저장", "Save")) }
            }
        }
    };
    p.page(&c.row.title, body)
}

#[derive(Deserialize, Default)]
struct UpdateForm {
    #[serde(default)]
    owner_member_id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    response: String,
    #[serde(default)]
    due_on: String,
}

async fn update(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<UpdateForm>,
) -> Response {
    let p = f.portal;
    let id = match id_of(&id) {
        Ok(id) => id,
        Err(e) => return p.error(e),
    };
    let mut errors = Vec::new();
    let due_on = date(&mut errors, "due_on", &f.form.due_on);
    let out = if errors.is_empty() {
        st.svc
            .update_challenge(
                &p.actor,
                id,
                &ChallengeChange {
                    owner_member_id: f.form.owner_member_id.trim().parse().ok(),
                    status: f.form.status,
                    response: Some(f.form.response),
                    due_on,
                },
            )
            .await
    } else {
        haechi_service::authz::authorize(&p.actor, Action::ManageResponseTeam)
            .and(Err(ServiceError::invalid(errors)))
    };
    match out {
        Ok(()) => Redirect::to(&format!("/challenges/{id}?done=saved")).into_response(),
        Err(e @ (ServiceError::NotFound | ServiceError::Forbidden(_))) => p.error(e),
        Err(e) => {
            let status = crate::error::status_of(&e);
            let r = render_challenge(&st, &p, id, "", Some(failure(p.lang, &e)), e.field_errors())
                .await;
            (status, r).into_response()
        }
    }
}

// ================================================================================ check-ins

async fn record_checkin(
    State(st): State<AppState>,
    f: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let p = f.portal;
    let value = |k: &str| {
        f.form
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut errors = Vec::new();
    let held_on = date(&mut errors, "held_on", &value("held_on"));
    let attendees = f
        .form
        .iter()
        .filter(|(n, _)| n == "attendee")
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect();
    let out = if errors.is_empty() {
        st.svc
            .record_checkin(
                &p.actor,
                &CheckinInput {
                    held_on,
                    notes: value("notes"),
                    attendees,
                },
            )
            .await
    } else {
        haechi_service::authz::authorize(&p.actor, Action::ManageResponseTeam)
            .and(Err(ServiceError::invalid(errors)))
    };
    match out {
        Ok(id) => Redirect::to(&format!("/checkins/{id}?done=saved")).into_response(),
        Err(e) => hub_done(&st, &p, Err(e)).await,
    }
}

async fn checkin(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    match id_of(&id) {
        Ok(id) => render_checkin(&st, &p, id, &q.done, None, &[]).await,
        Err(e) => p.error(e),
    }
}

async fn render_checkin(
    st: &AppState,
    p: &Portal,
    id: i64,
    done: &str,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let k = match st.svc.checkin(&p.actor, id).await {
        Ok(k) => k,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let manage = p.may(Action::ManageResponseTeam);
    let members = if manage {
        st.svc.response_members(&p.actor).await.unwrap_or_default()
    } else {
        Vec::new()
    };
    let title = match lang {
        Lang::Ko => format!("{} 정기 점검 회의", k.row.held_on),
        Lang::En => format!("Check-in of {}", k.row.held_on),
    };
    let body = html! {
        p { a href="/response" { "← " (p.t("AI 보안 대응반", "Response team")) } }
        h1 { (title) }
        @if !done.is_empty() { p class="alert ok" role="status" { (p.t("저장했습니다.", "Saved.")) } }
        (errors_block(lang, failed.as_deref(), errors))
        dl class="facts" {
            dt { (p.t("회의일", "Held on")) } dd { (k.row.held_on) }
            dt { (p.t("기록", "Recorded")) } dd { (kst_minute(&k.row.recorded_at)) }
        }
        h2 { (p.t("참석자", "Attendance")) }
        ul { @for m in &k.attendees { li { (m.name) " — " (organisation_label(lang, &m.organisation)) ", " (m.team_role) } } }
        h2 { (p.t("회의 내용", "Notes")) }
        p { (k.row.notes) }
        h2 { (p.t("조치 사항", "Actions")) }
        @if k.actions.is_empty() {
            p class="muted" { (p.t("조치 사항이 없습니다.", "No actions.")) }
        } @else {
            div class="table-wrap" { table {
                thead { tr {
                    th scope="col" { (p.t("조치", "Action")) }
                    th scope="col" { (p.t("담당", "Owner")) }
                    th scope="col" { (p.t("기한", "Due on")) }
                    @if manage { th scope="col" { (p.t("처리", "Handle")) } }
                } }
                tbody { @for a in &k.actions { tr {
                    td { (a.row.description) }
                    td { (a.row.owner_name) }
                    td { (action_due(lang, a)) }
                    @if manage { td {
                        @if a.row.done_at.is_none() {
                            form method="post" action={ "/checkin-actions/" (a.row.id) "/done" } class="inline" {
                                (p.csrf_field())
                                button type="submit" { (p.t("완료 처리", "Mark done")) }
                            }
                        }
                    } }
                } } }
            } }
        }
        @if manage {
            h3 { (p.t("조치 추가", "Add an action")) }
            form method="post" action={ "/checkins/" (k.row.id) "/actions" } class="stack" {
                (p.csrf_field())
                div class="field" { label for="description" { (p.t("조치", "Action")) } input type="text" id="description" name="description" required; }
                div class="field" {
                    label for="owner_member_id" { (label(lang, "owner_member_id")) }
                    select id="owner_member_id" name="owner_member_id" {
                        @for m in members.iter().filter(|m| m.active) { option value=(m.id) { (m.name) " (" (organisation_label(lang, &m.organisation)) ")" } }
                    }
                }
                div class="field" { label for="due_on" { (p.t("기한", "Due on")) } input type="date" id="due_on" name="due_on" required; }
                button type="submit" class="primary" { (p.t("추가", "Add")) }
            }
        }
    };
    p.page(&title, body)
}

#[derive(Deserialize, Default)]
struct ActionForm {
    #[serde(default)]
    description: String,
    #[serde(default)]
    owner_member_id: String,
    #[serde(default)]
    due_on: String,
}

async fn add_action(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<ActionForm>,
) -> Response {
    let p = f.portal;
    let id = match id_of(&id) {
        Ok(id) => id,
        Err(e) => return p.error(e),
    };
    let mut errors = Vec::new();
    let due_on = date(&mut errors, "due_on", &f.form.due_on);
    let out = if errors.is_empty() {
        st.svc
            .add_checkin_action(
                &p.actor,
                id,
                &ActionInput {
                    description: f.form.description,
                    owner_member_id: f.form.owner_member_id.trim().parse().ok(),
                    due_on,
                },
            )
            .await
    } else {
        haechi_service::authz::authorize(&p.actor, Action::ManageResponseTeam)
            .and(Err(ServiceError::invalid(errors)))
    };
    match out {
        Ok(_) => Redirect::to(&format!("/checkins/{id}?done=saved")).into_response(),
        Err(e @ (ServiceError::NotFound | ServiceError::Forbidden(_))) => p.error(e),
        Err(e) => {
            let status = crate::error::status_of(&e);
            let r =
                render_checkin(&st, &p, id, "", Some(failure(p.lang, &e)), e.field_errors()).await;
            (status, r).into_response()
        }
    }
}

async fn action_done(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<EmptyForm>,
) -> Response {
    let p = f.portal;
    let out = match id_of(&id) {
        Ok(id) => st.svc.complete_checkin_action(&p.actor, id).await,
        Err(e) => Err(e),
    };
    match out {
        Ok(checkin) => Redirect::to(&format!("/checkins/{checkin}?done=saved")).into_response(),
        Err(e @ (ServiceError::NotFound | ServiceError::Forbidden(_))) => p.error(e),
        Err(e) => hub_done(&st, &p, Err(e)).await,
    }
}
