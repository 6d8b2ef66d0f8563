//! The advisory group (C14): members with field, affiliation and term (corrections and
//! extensions kept), standing conflicts of interest, meetings with attendance and minutes,
//! advice on threats and policy; an advisor's own view of their term and conflicts; and the
//! reviewer proposals shown on the officer's review page.
//!
//! What it must not do: decide who may do what, or who is fit to review — the service does.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use haechi_core::{FieldError, Sector};
use haechi_service::advisory::{
    AdviceInput, MemberInput, MemberView, ProposalReason, ReviewerProposals, StandingConflictInput,
};
use haechi_service::authz::Action;
use haechi_service::ServiceError;
use maud::{html, Markup};
use serde::Deserialize;

use super::parse_id;
use super::{kst_minute, CsrfForm, Lang, PageRoute, Portal};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/advisory", index),
        page_get!("/advisory/me", mine),
        page_post!("/advisory/members", appoint),
        page_get!("/advisory/members/{id}", member),
        page_post!("/advisory/members/{id}/term", correct),
        page_post!("/advisory/members/{id}/extend", extend),
        page_post!("/advisory/members/{id}/conflicts", conflict),
        page_post!("/advisory/meetings", schedule),
        page_get!("/advisory/meetings/{id}", meeting),
        page_post!("/advisory/meetings/{id}/minutes", minutes),
        page_post!("/advisory/advice", advice),
    ]
}

pub fn field_name(lang: Lang, field: &str) -> &'static str {
    match field {
        "ai" => lang.t("인공지능", "AI"),
        "security" => lang.t("보안", "Security"),
        "law" => lang.t("법률", "Law"),
        _ => lang.t("기타", "Other"),
    }
}

fn topic_name(lang: Lang, topic: &str) -> &'static str {
    match topic {
        "threat" => lang.t("위협", "Threat"),
        _ => lang.t("정책", "Policy"),
    }
}

fn term_kind(lang: Lang, kind: &str) -> &'static str {
    match kind {
        "appoint" => lang.t("위촉", "Appointed"),
        "extend" => lang.t("연장", "Extended"),
        _ => lang.t("정정", "Corrected"),
    }
}

fn label(lang: Lang, field: &str) -> String {
    let (ko, en) = match field {
        "user_id" => ("평가위원 계정", "Advisor account"),
        "field" => ("분야", "Field"),
        "affiliation" => ("소속", "Affiliation"),
        "term_start" => ("임기 시작일", "Term starts"),
        "term_end" => ("임기 종료일", "Term ends"),
        "reason" => ("사유", "Reason"),
        "institution_id" => ("기관", "Institution"),
        "sector" => ("업권", "Sector"),
        "valid_from" => ("적용 시작일", "From"),
        "valid_to" => ("적용 종료일", "To"),
        "held_on" => ("회의일", "Meeting day"),
        "title" => ("제목", "Title"),
        "agenda" => ("안건", "Agenda"),
        "minutes" => ("회의록", "Minutes"),
        "attendees" => ("참석자", "Attendees"),
        "topic" => ("주제", "Topic"),
        "text_ko" => ("자문 내용(한국어)", "Advice (Korean)"),
        "text_en" => ("자문 내용(영어)", "Advice (English)"),
        "given_on" => ("자문일", "Given on"),
        "meeting_id" => ("회의", "Meeting"),
        _ => return super::fields::field_label(lang, field),
    };
    lang.t(ko, en).to_string()
}

fn message(lang: Lang, e: &FieldError) -> String {
    let ko = match e.message.as_str() {
        "must not be empty" => "비어 있을 수 없습니다.",
        "must be ai, security or law" => "인공지능, 보안, 법률 중 하나를 고르십시오.",
        "is not an active advisor" => "활성화된 평가위원 계정이 아닙니다.",
        "must not be before the start of the term" => "임기 시작일보다 앞설 수 없습니다.",
        "must be after the current end of the term" => "현재 임기 종료일보다 뒤여야 합니다.",
        "name an institution or a sector" => "기관이나 업권 중 하나를 고르십시오.",
        "name an institution or a sector, not both" => "기관과 업권 중 하나만 고르십시오.",
        "no such institution" => "없는 기관입니다.",
        "must not be before the first day" => "적용 시작일보다 앞설 수 없습니다.",
        "mark who attended" => "참석한 위원을 한 명 이상 고르십시오.",
        "is not a member" => "자문단 위원이 아닙니다.",
        "must be threat or policy" => "위협이나 정책 중 하나를 고르십시오.",
        "no such meeting" => "없는 회의입니다.",
        "is not a date" => "날짜를 쓰십시오.",
        "is not a number" => "숫자를 쓰십시오.",
        _ => return super::fields::localized(lang, e),
    };
    lang.t(ko, &e.message).to_string()
}

fn rule_message(lang: Lang, e: &ServiceError) -> String {
    let (ko, en) = match e.code() {
        "meeting_not_held" => (
            "아직 열리지 않은 회의입니다. 회의가 끝난 뒤 회의록을 기록하십시오.",
            "The meeting has not taken place yet; record the minutes after it.",
        ),
        "duplicate" | "conflict" => (
            "이 평가위원은 이미 자문단 위원입니다.",
            "This advisor is already a member.",
        ),
        _ => return super::error_text(lang, e),
    };
    lang.t(ko, en).to_string()
}

fn errors_block(lang: Lang, failed: Option<&str>, errors: &[FieldError]) -> Markup {
    super::fields::form_alerts(lang, failed, errors, label, message)
}

fn failure(lang: Lang, e: &ServiceError) -> String {
    super::fields::form_failure(lang, e, rule_message)
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

fn term_badge(lang: Lang, active: bool) -> Markup {
    html! {
        @if active { span class="badge ok" { (lang.t("임기 중", "In term")) } }
        @else { span class="badge bad" { (lang.t("임기 외", "Out of term")) } }
    }
}

fn sector_name(lang: Lang, code: &str) -> String {
    Sector::parse(code)
        .map(|s| lang.t(s.label_ko(), s.label_en()).to_string())
        .unwrap_or_else(|| code.to_string())
}

fn until(lang: Lang, to: Option<&str>) -> String {
    match to {
        Some(t) => t.to_string(),
        None => lang.t("기한 없음", "open-ended").to_string(),
    }
}

// ================================================================================ index

#[derive(Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn index(p: Portal, State(st): State<AppState>, Query(q): Query<DoneQuery>) -> Response {
    render_index(&st, &p, !q.done.is_empty(), None, &[]).await
}

async fn render_index(
    st: &AppState,
    p: &Portal,
    done: bool,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let members = match st.svc.advisory_members(&p.actor).await {
        Ok(m) => m,
        Err(e) => return p.error(e),
    };
    let meetings = st.svc.advisory_meetings(&p.actor).await.unwrap_or_default();
    let advice = st.svc.advice(&p.actor).await.unwrap_or_default();
    let lang = p.lang;
    let manage = p.may(Action::ManageAdvisory);
    let today = st.svc.korea_today().to_string();
    let candidates: Vec<_> = if manage {
        st.svc
            .list_advisors(&p.actor)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|u| !u.disabled && !members.iter().any(|m| m.user_id == u.id))
            .collect()
    } else {
        Vec::new()
    };
    let title = p.t("AI 보안 자문단", "AI security advisory group");
    let body = html! {
        h1 { (title) }
        p class="muted" { (p.t(
            "자문단 위원은 신청 평가를 맡고, 위협과 정책에 관해 자문합니다. 평가위원 배정 화면은 임기 중이고 이해충돌이 없는 위원을 업무량이 적은 순으로 제안합니다.",
            "Members review applications and advise on threats and policy. The reviewer assignment page proposes members in term and without a conflict, fewest open assignments first.",
        )) }
        @if done { p class="alert ok" role="status" { (p.t("저장했습니다.", "Saved.")) } }
        (errors_block(lang, failed.as_deref(), errors))
        h2 { (p.t("위원", "Members")) }
        @if members.is_empty() {
            p class="muted" { (p.t("위촉된 위원이 없습니다.", "No members are appointed.")) }
        } @else {
            div class="table-wrap" { table id="members" {
                thead { tr {
                    th scope="col" { (p.t("위원", "Member")) }
                    th scope="col" { (p.t("분야", "Field")) }
                    th scope="col" { (p.t("소속", "Affiliation")) }
                    th scope="col" { (p.t("임기", "Term")) }
                    th scope="col" class="num" { (p.t("진행 중 평가", "Open reviews")) }
                } }
                tbody { @for m in &members { tr {
                    td { a href={ "/advisory/members/" (m.id) } { (m.display_name) } }
                    td { (field_name(lang, &m.field)) }
                    td { (m.affiliation) }
                    td {
                        (m.term_start) " – " (m.term_end) " "
                        (term_badge(lang, m.term_start <= today && today <= m.term_end))
                    }
                    td class="num" { (m.open_assignments) }
                } } }
            } }
        }
        @if manage {
            h3 { (p.t("위원 위촉", "Appoint a member")) }
            @if candidates.is_empty() {
                p class="muted" { (p.t("위촉할 수 있는 평가위원 계정이 없습니다. 사용자 화면에서 평가위원 계정을 먼저 만드십시오.", "No advisor account is left to appoint; create one on the users page first.")) }
            } @else {
                form method="post" action="/advisory/members" class="stack" {
                    (p.csrf_field())
                    div class="field" { label for="user_id" { (label(lang, "user_id")) }
                        select id="user_id" name="user_id" { @for u in &candidates { option value=(u.id) { (u.display_name) } } } }
                    div class="field" { label for="field" { (label(lang, "field")) }
                        select id="field" name="field" { @for f in haechi_service::advisory::FIELDS { option value=(f) { (field_name(lang, f)) } } } }
                    div class="field" { label for="affiliation" { (label(lang, "affiliation")) } input type="text" id="affiliation" name="affiliation" required; }
                    div class="filters" {
                        div class="field" { label for="term_start" { (label(lang, "term_start")) } input type="date" id="term_start" name="term_start" required; }
                        div class="field" { label for="term_end" { (label(lang, "term_end")) } input type="date" id="term_end" name="term_end" required; }
                    }
                    button type="submit" class="primary" { (p.t("위촉", "Appoint")) }
                }
            }
        }
        h2 { (p.t("회의", "Meetings")) }
        @if meetings.is_empty() {
            p class="muted" { (p.t("회의가 없습니다.", "No meetings.")) }
        } @else {
            div class="table-wrap" { table id="meetings" {
                thead { tr {
                    th scope="col" { (p.t("회의일", "Day")) }
                    th scope="col" { (p.t("회의", "Meeting")) }
                    th scope="col" class="num" { (p.t("참석", "Attended")) }
                    th scope="col" { (p.t("회의록", "Minutes")) }
                } }
                tbody { @for m in &meetings { tr {
                    td { (m.held_on) }
                    td { a href={ "/advisory/meetings/" (m.id) } { (m.title) } }
                    td class="num" { (m.attendees.len()) }
                    td { @if m.minutes.is_some() { span class="badge ok" { (p.t("기록됨", "Recorded")) } } @else { span class="badge warn" { (p.t("기록 전", "Not yet")) } } }
                } } }
            } }
        }
        @if manage {
            h3 { (p.t("회의 소집", "Schedule a meeting")) }
            form method="post" action="/advisory/meetings" class="stack" {
                (p.csrf_field())
                div class="field" { label for="held_on" { (label(lang, "held_on")) } input type="date" id="held_on" name="held_on" required; }
                div class="field" { label for="title" { (label(lang, "title")) } input type="text" id="title" name="title" required; }
                div class="field" { label for="agenda" { (label(lang, "agenda")) } textarea id="agenda" name="agenda" rows="3" required {} }
                button type="submit" class="primary" { (p.t("소집", "Schedule")) }
            }
        }
        h2 { (p.t("자문 기록", "Advice")) }
        (advice_list(lang, &advice))
        @if manage {
            h3 { (p.t("자문 기록 추가", "Record advice")) }
            (advice_form(p, &meetings, None))
        }
    };
    p.page(title, body)
}

fn advice_list(lang: Lang, advice: &[haechi_store::AdviceRow]) -> Markup {
    html! {
        @if advice.is_empty() {
            p class="muted" { (lang.t("자문 기록이 없습니다.", "No advice recorded.")) }
        } @else {
            ul class="stack" id="advice" { @for a in advice { li {
                strong { (a.title) } " "
                span class="badge" { (topic_name(lang, &a.topic)) } " "
                span class="small muted" { (a.given_on) }
                br;
                (lang.t(&a.text_ko, &a.text_en))
                @if let Some(m) = a.meeting_id { " " a href={ "/advisory/meetings/" (m) } { (lang.t("회의", "Meeting")) } }
            } } }
        }
    }
}

fn advice_form(
    p: &Portal,
    meetings: &[haechi_store::AdvisoryMeetingRow],
    fixed: Option<i64>,
) -> Markup {
    let lang = p.lang;
    html! {
        form method="post" action="/advisory/advice" class="stack" {
            (p.csrf_field())
            @if let Some(m) = fixed {
                input type="hidden" name="meeting_id" value=(m);
            } @else {
                div class="field" { label for="meeting_id" { (label(lang, "meeting_id")) }
                    select id="meeting_id" name="meeting_id" {
                        option value="" { (p.t("회의 밖 자문", "Outside a meeting")) }
                        @for m in meetings { option value=(m.id) { (m.held_on) " " (m.title) } }
                    } }
            }
            div class="field" { label for="topic" { (label(lang, "topic")) }
                select id="topic" name="topic" { @for t in haechi_service::advisory::ADVICE_TOPICS { option value=(t) { (topic_name(lang, t)) } } } }
            div class="field" { label for="advice_title" { (label(lang, "title")) } input type="text" id="advice_title" name="title" required; }
            div class="field" { label for="text_ko" { (label(lang, "text_ko")) } textarea id="text_ko" name="text_ko" rows="3" required {} }
            div class="field" { label for="text_en" { (label(lang, "text_en")) } textarea id="text_en" name="text_en" rows="3" required {} }
            div class="field" { label for="given_on" { (label(lang, "given_on")) } input type="date" id="given_on" name="given_on" required; }
            button type="submit" class="primary" { (p.t("기록", "Record")) }
        }
    }
}

#[derive(Deserialize, Default)]
struct AppointForm {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    affiliation: String,
    #[serde(default)]
    term_start: String,
    #[serde(default)]
    term_end: String,
}

async fn back_to_index(st: &AppState, p: &Portal, out: Result<(), ServiceError>) -> Response {
    match out {
        Ok(()) => Redirect::to("/advisory?done=1").into_response(),
        Err(e @ (ServiceError::NotFound | ServiceError::Forbidden(_))) => p.error(e),
        Err(e) => {
            let status = crate::error::status_of(&e);
            let r = render_index(st, p, false, Some(failure(p.lang, &e)), e.field_errors()).await;
            (status, r).into_response()
        }
    }
}

fn refuse(p: &Portal, action: Action, errors: Vec<FieldError>) -> Result<(), ServiceError> {
    haechi_service::authz::authorize(&p.actor, action).and(Err(ServiceError::invalid(errors)))
}

async fn appoint(State(st): State<AppState>, f: CsrfForm<AppointForm>) -> Response {
    let p = f.portal;
    let mut errors = Vec::new();
    let term_start = date(&mut errors, "term_start", &f.form.term_start);
    let term_end = date(&mut errors, "term_end", &f.form.term_end);
    let out = if errors.is_empty() {
        let input = MemberInput {
            user_id: f.form.user_id.trim().parse().unwrap_or(0),
            field: f.form.field.clone(),
            affiliation: f.form.affiliation.clone(),
            term_start,
            term_end,
        };
        st.svc.appoint_member(&p.actor, &input).await.map(|_| ())
    } else {
        refuse(&p, Action::ManageAdvisory, errors)
    };
    back_to_index(&st, &p, out).await
}

#[derive(Deserialize, Default)]
struct MeetingForm {
    #[serde(default)]
    held_on: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    agenda: String,
}

async fn schedule(State(st): State<AppState>, f: CsrfForm<MeetingForm>) -> Response {
    let p = f.portal;
    let mut errors = Vec::new();
    let held_on = date(&mut errors, "held_on", &f.form.held_on);
    let out = if errors.is_empty() {
        st.svc
            .schedule_meeting(&p.actor, held_on, &f.form.title, &f.form.agenda)
            .await
    } else {
        refuse(&p, Action::ManageAdvisory, errors).map(|_| 0)
    };
    match out {
        Ok(id) => Redirect::to(&format!("/advisory/meetings/{id}")).into_response(),
        Err(e) => back_to_index(&st, &p, Err(e)).await,
    }
}

#[derive(Deserialize, Default)]
struct AdviceForm {
    #[serde(default)]
    meeting_id: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    text_ko: String,
    #[serde(default)]
    text_en: String,
    #[serde(default)]
    given_on: String,
}

async fn advice(State(st): State<AppState>, f: CsrfForm<AdviceForm>) -> Response {
    let p = f.portal;
    let mut errors = Vec::new();
    let given_on = date(&mut errors, "given_on", &f.form.given_on);
    let meeting_id = f.form.meeting_id.trim().parse::<i64>().ok();
    let out = if errors.is_empty() {
        let input = AdviceInput {
            meeting_id,
            topic: f.form.topic.clone(),
            title: f.form.title.clone(),
            text_ko: f.form.text_ko.clone(),
            text_en: f.form.text_en.clone(),
            given_on,
        };
        st.svc.record_advice(&p.actor, &input).await.map(|_| ())
    } else {
        refuse(&p, Action::ManageAdvisory, errors)
    };
    match (out, meeting_id) {
        (Ok(()), Some(m)) => {
            Redirect::to(&format!("/advisory/meetings/{m}?done=1")).into_response()
        }
        (Err(e), Some(m)) if !matches!(e, ServiceError::NotFound | ServiceError::Forbidden(_)) => {
            let status = crate::error::status_of(&e);
            let r = render_meeting(
                &st,
                &p,
                m,
                false,
                Some(failure(p.lang, &e)),
                e.field_errors(),
            )
            .await;
            (status, r).into_response()
        }
        (out, _) => back_to_index(&st, &p, out).await,
    }
}

// ================================================================================ a member

async fn member(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return p.error(e),
    };
    render_member(&st, &p, id, !q.done.is_empty(), None, &[]).await
}

async fn mine(p: Portal, State(st): State<AppState>, Query(q): Query<DoneQuery>) -> Response {
    match st.svc.my_membership(&p.actor).await {
        Ok(Some(v)) => member_page(&st, &p, v, !q.done.is_empty(), None, &[]).await,
        Ok(None) => {
            let title = p.t("나의 자문단 임기", "My advisory-group term");
            p.page(
                title,
                html! {
                    h1 { (title) }
                    p class="muted" { (p.t("자문단 위원으로 위촉되지 않았습니다. 위촉은 금융위원회 담당자가 합니다.", "You are not a member of the advisory group; officers appoint members.")) }
                },
            )
        }
        Err(e) => p.error(e),
    }
}

async fn render_member(
    st: &AppState,
    p: &Portal,
    id: i64,
    done: bool,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    match st.svc.advisory_member(&p.actor, id).await {
        Ok(v) => member_page(st, p, v, done, failed, errors).await,
        Err(e) => p.error(e),
    }
}

async fn member_page(
    st: &AppState,
    p: &Portal,
    v: MemberView,
    done: bool,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let lang = p.lang;
    let m = &v.member;
    let manage = p.may(Action::ManageAdvisory);
    let own = p.actor.user_id == m.user_id;
    let declare = manage || own;
    let institutions = if declare {
        haechi_store::all_institutions(st.svc.store().pool())
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let title = if own {
        p.t("나의 자문단 임기", "My advisory-group term")
            .to_string()
    } else {
        m.display_name.clone()
    };
    let body = html! {
        @if manage || p.may(Action::ReadAdvisory) { p { a href="/advisory" { "← " (p.t("AI 보안 자문단", "Advisory group")) } } }
        h1 { (title) }
        @if done { p class="alert ok" role="status" { (p.t("저장했습니다.", "Saved.")) } }
        (errors_block(lang, failed.as_deref(), errors))
        dl class="facts" {
            dt { (p.t("위원", "Member")) } dd { (m.display_name) }
            dt { (p.t("분야", "Field")) } dd { (field_name(lang, &m.field)) }
            dt { (p.t("소속", "Affiliation")) } dd { (m.affiliation) }
            dt { (p.t("임기", "Term")) } dd id="term" { (m.term_start) " – " (m.term_end) " " (term_badge(lang, v.active_today)) }
            dt { (p.t("진행 중 평가", "Open reviews")) } dd { (m.open_assignments) }
        }
        h2 { (p.t("임기 이력", "Term history")) }
        div class="table-wrap" { table id="terms" {
            thead { tr {
                th scope="col" { (p.t("구분", "Change")) }
                th scope="col" { (p.t("임기", "Term")) }
                th scope="col" { (p.t("이전 종료일", "Previous end")) }
                th scope="col" { (p.t("사유", "Reason")) }
                th scope="col" { (p.t("기록", "Recorded")) }
            } }
            tbody { @for t in &v.terms { tr {
                td { (term_kind(lang, &t.kind)) }
                td { (t.term_start) " – " (t.term_end) }
                td { (t.previous_end.as_deref().unwrap_or("—")) }
                td { @if t.reason.is_empty() { "—" } @else { (t.reason) } }
                td { (kst_minute(&t.recorded_at)) }
            } } }
        } }
        @if manage {
            div class="filters" {
                form method="post" action={ "/advisory/members/" (m.id) "/extend" } class="stack" {
                    (p.csrf_field())
                    h3 { (p.t("임기 연장", "Extend the term")) }
                    div class="field" { label for="extend_end" { (p.t("새 임기 종료일", "New end")) } input type="date" id="extend_end" name="term_end" required; }
                    div class="field" { label for="extend_reason" { (label(lang, "reason")) } input type="text" id="extend_reason" name="reason" required; }
                    button type="submit" class="primary" { (p.t("연장", "Extend")) }
                }
                form method="post" action={ "/advisory/members/" (m.id) "/term" } class="stack" {
                    (p.csrf_field())
                    h3 { (p.t("임기 정정", "Correct the term")) }
                    div class="field" { label for="term_start" { (label(lang, "term_start")) } input type="date" id="term_start" name="term_start" value=(m.term_start) required; }
                    div class="field" { label for="term_end" { (label(lang, "term_end")) } input type="date" id="term_end" name="term_end" value=(m.term_end) required; }
                    div class="field" { label for="term_reason" { (label(lang, "reason")) } input type="text" id="term_reason" name="reason" required; }
                    button type="submit" { (p.t("정정", "Correct")) }
                }
            }
        }
        h2 { (p.t("상시 이해충돌 신고", "Standing conflicts of interest")) }
        @if v.conflicts.is_empty() {
            p class="muted" { (p.t("신고한 상시 이해충돌이 없습니다.", "No standing conflicts declared.")) }
        } @else {
            div class="table-wrap" { table id="conflicts" {
                thead { tr {
                    th scope="col" { (p.t("대상", "With")) }
                    th scope="col" { (p.t("사유", "Reason")) }
                    th scope="col" { (p.t("기간", "Period")) }
                    th scope="col" { (p.t("신고", "Declared")) }
                } }
                tbody { @for c in &v.conflicts { tr {
                    td {
                        @if let Some(s) = &c.sector { (p.t("업권: ", "Sector: ")) (sector_name(lang, s)) }
                        @else { (lang.t(c.institution_name_ko.as_deref().unwrap_or(""), c.institution_name_en.as_deref().unwrap_or(""))) }
                    }
                    td { (c.reason) }
                    td { (c.valid_from) " – " (until(lang, c.valid_to.as_deref())) }
                    td { (kst_minute(&c.declared_at)) }
                } } }
            } }
        }
        @if declare {
            h3 { (p.t("상시 이해충돌 신고", "Declare a standing conflict")) }
            p class="muted" { (p.t("기관이나 업권 중 하나를 고르십시오. 신고 기간 동안 해당 기관(업권)의 신청에는 평가위원으로 제안·배정되지 않습니다.", "Choose an institution or a sector. During the period the member is neither proposed nor assigned as a reviewer of its applications.")) }
            form method="post" action={ "/advisory/members/" (m.id) "/conflicts" } class="stack" {
                (p.csrf_field())
                div class="filters" {
                    div class="field" { label for="institution_id" { (label(lang, "institution_id")) }
                        select id="institution_id" name="institution_id" {
                            option value="" { "—" }
                            @for i in &institutions { option value=(i.id) { (lang.t(&i.input.name_ko, &i.input.name_en)) } }
                        } }
                    div class="field" { label for="sector" { (label(lang, "sector")) }
                        select id="sector" name="sector" {
                            option value="" { "—" }
                            @for s in Sector::ALL { option value=(s.as_str()) { (lang.t(s.label_ko(), s.label_en())) } }
                        } }
                }
                div class="field" { label for="conflict_reason" { (label(lang, "reason")) } input type="text" id="conflict_reason" name="reason" required; }
                div class="filters" {
                    div class="field" { label for="valid_from" { (label(lang, "valid_from")) } input type="date" id="valid_from" name="valid_from" required; }
                    div class="field" { label for="valid_to" { (label(lang, "valid_to")) " " span class="small muted" { (p.t("(비우면 기한 없음)", "(empty: open-ended)")) } } input type="date" id="valid_to" name="valid_to"; }
                }
                button type="submit" class="primary" { (p.t("신고", "Declare")) }
            }
        }
        h2 { (p.t("참석한 회의", "Meetings attended")) }
        @if v.meetings.is_empty() {
            p class="muted" { (p.t("참석 기록이 없습니다.", "No attendance recorded.")) }
        } @else {
            ul { @for mt in &v.meetings { li {
                (mt.held_on) " "
                @if p.may(Action::ReadAdvisory) { a href={ "/advisory/meetings/" (mt.id) } { (mt.title) } } @else { (mt.title) }
            } } }
        }
    };
    p.page(&title, body)
}

#[derive(Deserialize, Default)]
struct TermForm {
    #[serde(default)]
    term_start: String,
    #[serde(default)]
    term_end: String,
    #[serde(default)]
    reason: String,
}

async fn member_done(
    st: &AppState,
    p: &Portal,
    id: i64,
    out: Result<(), ServiceError>,
) -> Response {
    match out {
        Ok(()) if p.actor.role == haechi_core::Role::Advisor => {
            Redirect::to("/advisory/me?done=1").into_response()
        }
        Ok(()) => Redirect::to(&format!("/advisory/members/{id}?done=1")).into_response(),
        Err(e @ (ServiceError::NotFound | ServiceError::Forbidden(_))) => p.error(e),
        Err(e) => {
            let status = crate::error::status_of(&e);
            let r = render_member(
                st,
                p,
                id,
                false,
                Some(failure(p.lang, &e)),
                e.field_errors(),
            )
            .await;
            (status, r).into_response()
        }
    }
}

async fn correct(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<TermForm>,
) -> Response {
    let p = f.portal;
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return p.error(e),
    };
    let mut errors = Vec::new();
    let start = date(&mut errors, "term_start", &f.form.term_start);
    let end = date(&mut errors, "term_end", &f.form.term_end);
    let out = if errors.is_empty() {
        st.svc
            .correct_term(&p.actor, id, start, end, &f.form.reason)
            .await
    } else {
        refuse(&p, Action::ManageAdvisory, errors)
    };
    member_done(&st, &p, id, out).await
}

async fn extend(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<TermForm>,
) -> Response {
    let p = f.portal;
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return p.error(e),
    };
    let mut errors = Vec::new();
    let end = date(&mut errors, "term_end", &f.form.term_end);
    let out = if errors.is_empty() {
        st.svc.extend_term(&p.actor, id, end, &f.form.reason).await
    } else {
        refuse(&p, Action::ManageAdvisory, errors)
    };
    member_done(&st, &p, id, out).await
}

#[derive(Deserialize, Default)]
struct ConflictForm {
    #[serde(default)]
    institution_id: String,
    #[serde(default)]
    sector: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_to: String,
}

async fn conflict(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<ConflictForm>,
) -> Response {
    let p = f.portal;
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return p.error(e),
    };
    let mut errors = Vec::new();
    let valid_from = date(&mut errors, "valid_from", &f.form.valid_from);
    let valid_to = date(&mut errors, "valid_to", &f.form.valid_to);
    let out = if errors.is_empty() {
        let input = StandingConflictInput {
            institution_id: f.form.institution_id.trim().parse().ok(),
            sector: Sector::parse(&f.form.sector),
            reason: f.form.reason.clone(),
            valid_from,
            valid_to,
        };
        st.svc
            .declare_standing_conflict(&p.actor, id, &input)
            .await
            .map(|_| ())
    } else {
        refuse(&p, Action::DeclareStandingConflict, errors)
    };
    member_done(&st, &p, id, out).await
}

// ================================================================================ a meeting

async fn meeting(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return p.error(e),
    };
    render_meeting(&st, &p, id, !q.done.is_empty(), None, &[]).await
}

async fn render_meeting(
    st: &AppState,
    p: &Portal,
    id: i64,
    done: bool,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let (m, advice) = match st.svc.advisory_meeting(&p.actor, id).await {
        Ok(x) => x,
        Err(e) => return p.error(e),
    };
    let members = st.svc.advisory_members(&p.actor).await.unwrap_or_default();
    let lang = p.lang;
    let manage = p.may(Action::ManageAdvisory);
    let held = m.held_on <= st.svc.korea_today().to_string();
    let body = html! {
        p { a href="/advisory" { "← " (p.t("AI 보안 자문단", "Advisory group")) } }
        h1 { (m.title) }
        @if done { p class="alert ok" role="status" { (p.t("저장했습니다.", "Saved.")) } }
        (errors_block(lang, failed.as_deref(), errors))
        dl class="facts" {
            dt { (p.t("회의일", "Day")) } dd { (m.held_on) }
            dt { (p.t("안건", "Agenda")) } dd { pre class="wrap" { (m.agenda) } }
            dt { (p.t("참석", "Attended")) }
            dd id="attendance" {
                @if m.attendees.is_empty() { (p.t("기록 전", "Not yet recorded")) }
                @else {
                    @for (k, a) in m.attendees.iter().enumerate() {
                        @if k > 0 { ", " }
                        (members.iter().find(|x| x.id == *a).map(|x| x.display_name.as_str()).unwrap_or("—"))
                    }
                }
            }
        }
        h2 { (p.t("회의록", "Minutes")) }
        @if let Some(text) = &m.minutes {
            p id="minutes" { (text) }
            @if let Some(at) = &m.minutes_at { p class="small muted" { (p.t("기록: ", "Recorded: ")) (kst_minute(at)) } }
        } @else {
            p class="muted" { (p.t("회의록이 아직 없습니다.", "No minutes yet.")) }
        }
        @if manage {
            @if held {
                form method="post" action={ "/advisory/meetings/" (m.id) "/minutes" } class="stack" {
                    (p.csrf_field())
                    fieldset id="attendees" {
                        legend { (label(lang, "attendees")) }
                        @for x in &members {
                            label class="check" {
                                @if m.attendees.contains(&x.id) { input type="checkbox" name="attendee" value=(x.id) checked; }
                                @else { input type="checkbox" name="attendee" value=(x.id); }
                                " " (x.display_name)
                            }
                        }
                    }
                    div class="field" { label for="minutes_text" { (label(lang, "minutes")) } textarea id="minutes_text" name="minutes" rows="5" required { (m.minutes.clone().unwrap_or_default()) } }
                    button type="submit" class="primary" { (p.t("회의록 기록", "Record the minutes")) }
                }
            } @else {
                p class="muted" { (p.t("회의가 열린 뒤 참석자와 회의록을 기록할 수 있습니다.", "Attendance and minutes can be recorded once the meeting has taken place.")) }
            }
        }
        h2 { (p.t("이 회의의 자문", "Advice given")) }
        (advice_list(lang, &advice))
        @if manage {
            h3 { (p.t("자문 기록 추가", "Record advice")) }
            (advice_form(p, &[], Some(m.id)))
        }
    };
    p.page(&m.title, body)
}

async fn minutes(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let p = f.portal;
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return p.error(e),
    };
    let attendees: Vec<i64> = f
        .form
        .iter()
        .filter(|(k, _)| k == "attendee")
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect();
    let text = f
        .form
        .iter()
        .find(|(k, _)| k == "minutes")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    match st.svc.record_minutes(&p.actor, id, text, &attendees).await {
        Ok(()) => Redirect::to(&format!("/advisory/meetings/{id}?done=1")).into_response(),
        Err(e @ (ServiceError::NotFound | ServiceError::Forbidden(_))) => p.error(e),
        Err(e) => {
            let status = crate::error::status_of(&e);
            let r = render_meeting(
                &st,
                &p,
                id,
                false,
                Some(failure(p.lang, &e)),
                e.field_errors(),
            )
            .await;
            (status, r).into_response()
        }
    }
}

// ================================================================================ proposals

fn reason_text(lang: Lang, r: &ProposalReason) -> String {
    match (r, lang) {
        (ProposalReason::TermActive { term_end }, Lang::Ko) => format!("임기 중({term_end}까지)"),
        (ProposalReason::TermActive { term_end }, Lang::En) => format!("in term (to {term_end})"),
        (ProposalReason::NoStandingConflict, _) => lang
            .t(
                "기관·업권과 상시 이해충돌 없음",
                "no standing conflict with the institution or its sector",
            )
            .to_string(),
        (ProposalReason::OpenAssignments { count }, Lang::Ko) => format!("진행 중 평가 {count}건"),
        (ProposalReason::OpenAssignments { count }, Lang::En) => format!("{count} open review(s)"),
        (
            ProposalReason::TermNotActive {
                term_start,
                term_end,
            },
            Lang::Ko,
        ) => {
            format!("오늘은 임기({term_start} – {term_end}) 밖입니다")
        }
        (
            ProposalReason::TermNotActive {
                term_start,
                term_end,
            },
            Lang::En,
        ) => {
            format!("today is outside the term ({term_start} – {term_end})")
        }
        (
            ProposalReason::ConflictWithInstitution {
                reason,
                valid_from,
                valid_to,
            },
            Lang::Ko,
        ) => format!(
            "이 기관과 상시 이해충돌({reason}; {valid_from} – {})",
            until(lang, valid_to.as_deref())
        ),
        (
            ProposalReason::ConflictWithInstitution {
                reason,
                valid_from,
                valid_to,
            },
            Lang::En,
        ) => format!(
            "standing conflict with this institution ({reason}; {valid_from} – {})",
            until(lang, valid_to.as_deref())
        ),
        (
            ProposalReason::ConflictWithSector {
                sector,
                reason,
                valid_from,
                valid_to,
            },
            Lang::Ko,
        ) => format!(
            "{} 업권과 상시 이해충돌({reason}; {valid_from} – {})",
            sector_name(lang, sector),
            until(lang, valid_to.as_deref())
        ),
        (
            ProposalReason::ConflictWithSector {
                sector,
                reason,
                valid_from,
                valid_to,
            },
            Lang::En,
        ) => format!(
            "standing conflict with the {} sector ({reason}; {valid_from} – {})",
            sector_name(lang, sector),
            until(lang, valid_to.as_deref())
        ),
        (ProposalReason::DeclaredConflict { note }, Lang::Ko) => format!(
            "이 신청에 이해충돌을 신고함{}",
            note.as_deref()
                .map(|n| format!("({n})"))
                .unwrap_or_default()
        ),
        (ProposalReason::DeclaredConflict { note }, Lang::En) => format!(
            "declared a conflict on this application{}",
            note.as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ),
        (ProposalReason::AlreadyAssigned, _) => {
            lang.t("이미 배정됨", "already assigned").to_string()
        }
        (ProposalReason::Removed { reason }, Lang::Ko) => format!(
            "이 신청에서 배정 해제됨{}",
            reason
                .as_deref()
                .map(|n| format!("({n})"))
                .unwrap_or_default()
        ),
        (ProposalReason::Removed { reason }, Lang::En) => format!(
            "removed from this application{}",
            reason
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ),
        (ProposalReason::AccountDisabled, _) => {
            lang.t("계정 비활성", "account disabled").to_string()
        }
    }
}

/// The proposals section of the officer's review page: the members to propose, best first
/// (the first ones the panel still needs marked), each with why, and those left out with why;
/// a form assigns the checked proposals.
pub fn proposals_section(p: &Portal, x: &ReviewerProposals, assign: bool) -> Markup {
    let lang = p.lang;
    html! {
        section id="proposals" {
            h3 { (p.t("평가위원 제안", "Proposed reviewers")) }
            p class="muted" {
                (match lang {
                    Lang::Ko => format!(
                        "{}(한국 날짜) 기준으로 임기 중이고 이해충돌이 없는 자문단 위원을 진행 중 평가가 적은 순으로 제안합니다. 정책(버전 {})의 평가위원 수는 {}명이고, 이해충돌 없이 배정된 위원은 {}명입니다.",
                        x.on, x.policy_version, x.reviewers_per_application, x.panel
                    ),
                    Lang::En => format!(
                        "Members in term on {} (Korean day) and without a conflict, fewest open reviews first. The policy (version {}) asks for {} reviewers; {} are assigned without a conflict.",
                        x.on, x.policy_version, x.reviewers_per_application, x.panel
                    ),
                })
            }
            @if x.proposed.is_empty() {
                p class="alert warn" role="status" { (p.t("제안할 수 있는 위원이 없습니다.", "No member can be proposed.")) }
            } @else {
                form method="post" action={ "/applications/" (x.application_id) "/reviewers" } class="stack" {
                    (p.csrf_field())
                    ol id="proposed" { @for m in &x.proposed { li {
                        @if assign {
                            label class="check" {
                                @if m.recommended { input type="checkbox" name="advisor_id" value=(m.user_id) checked; }
                                @else { input type="checkbox" name="advisor_id" value=(m.user_id); }
                                " " strong { (m.display_name) }
                            }
                        } @else { strong { (m.display_name) } }
                        " · " (field_name(lang, &m.field)) " · " (m.affiliation)
                        @if m.recommended { " " span class="badge ok" { (p.t("추천", "Recommended")) } }
                        br;
                        span class="small muted" { (m.reasons.iter().map(|r| reason_text(lang, r)).collect::<Vec<_>>().join(" · ")) }
                    } } }
                    @if assign { div class="actions" { button type="submit" class="primary" { (p.t("제안대로 배정", "Assign the checked")) } } }
                }
            }
            @if !x.excluded.is_empty() {
                h4 { (p.t("제외된 위원", "Left out")) }
                ul id="excluded" { @for m in &x.excluded { li {
                    strong { (m.display_name) } " · " (field_name(lang, &m.field)) ": "
                    (m.reasons.iter().map(|r| reason_text(lang, r)).collect::<Vec<_>>().join(" · "))
                } } }
            }
        }
    }
}
