//! The program's guidelines (C14): versioned documents tied to the policy versions they
//! describe, drafted and published by the regulator (a published version never changes; the
//! next one supersedes it), acknowledged by institutions' CISOs (the regulator sees who has and
//! who has not); on-site briefings with invitations and attendance; institutions' requests for
//! tailored support and the regulator's answers.
//!
//! What it must not do: decide who may do what, or what may change — the service does.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use haechi_core::FieldError;
use haechi_service::authz::Action;
use haechi_service::guidelines::{BriefingInput, GuidelineDraft, GuidelineView};
use haechi_service::ServiceError;
use maud::{html, Markup};
use serde::Deserialize;

use super::parse_id;
use super::{kst_day, kst_minute, CsrfForm, Lang, PageRoute, Portal};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/guidelines", list),
        page_post!("/guidelines", create),
        page_get!("/guidelines/{id}", detail),
        page_post!("/guidelines/{id}/draft", save_draft),
        page_post!("/guidelines/{id}/publish", publish),
        page_post!("/guidelines/{id}/acknowledge", acknowledge),
        page_get!("/briefings", briefings),
        page_post!("/briefings", schedule),
        page_get!("/briefings/{id}", briefing),
        page_post!("/briefings/{id}/attendance", attendance),
        page_get!("/support-requests", requests),
        page_post!("/support-requests", request),
        page_get!("/support-requests/{id}", support),
        page_post!("/support-requests/{id}/answer", answer),
    ]
}

pub fn kind_name(lang: Lang, kind: &str) -> &'static str {
    match kind {
        "resource_classification" => lang.t("전산자원 분류", "Resource classification"),
        "patch_priority" => lang.t("패치 우선순위", "Patch priority"),
        _ => lang.t("기타", "Other"),
    }
}

fn state_badge(lang: Lang, state: &str) -> Markup {
    let (class, text) = match state {
        "published" => ("badge ok", lang.t("시행 중", "In force")),
        "superseded" => ("badge", lang.t("대체됨", "Superseded")),
        "draft" => ("badge warn", lang.t("초안", "Draft")),
        "open" => ("badge warn", lang.t("접수", "Open")),
        "scheduled" => ("badge", lang.t("일정 확정", "Scheduled")),
        "done" => ("badge ok", lang.t("완료", "Done")),
        _ => ("badge", state),
    };
    html! { span class=(class) { (text) } }
}

fn label(lang: Lang, field: &str) -> String {
    let (ko, en) = match field {
        "kind" => ("종류", "Kind"),
        "title_ko" => ("제목(한국어)", "Title (Korean)"),
        "title_en" => ("제목(영어)", "Title (English)"),
        "body_ko" => ("본문(한국어)", "Text (Korean)"),
        "body_en" => ("본문(영어)", "Text (English)"),
        "policy_versions" => ("설명하는 정책 버전", "Policy versions described"),
        "starts_at" => ("일시(한국 시간)", "Starts (Korean time)"),
        "place" => ("장소", "Place"),
        "topic" => ("주제", "Topic"),
        "guideline_id" => ("가이드라인", "Guideline"),
        "institution_ids" => ("초청 기관", "Invited institutions"),
        "attended" => ("참석 기관", "Attended"),
        "description" => ("요청 내용", "What is needed"),
        "state" => ("처리", "Answer"),
        "scheduled_on" => ("지원 예정일", "Scheduled for"),
        "response" => ("답변", "Response"),
        _ => return super::fields::field_label(lang, field),
    };
    lang.t(ko, en).to_string()
}

fn message(lang: Lang, e: &FieldError) -> String {
    let ko = match e.message.as_str() {
        "must not be empty" => "비어 있을 수 없습니다.",
        "name the policy versions the guideline describes" => {
            "가이드라인이 설명하는 정책 버전을 하나 이상 고르십시오."
        }
        "is not a stored policy version" => "저장된 정책 버전이 아닙니다.",
        "must be resource_classification, patch_priority or other" => {
            "전산자원 분류, 패치 우선순위, 기타 중 하나를 고르십시오."
        }
        "invite at least one institution" => "초청할 기관을 하나 이상 고르십시오.",
        "no such institution" => "없는 기관입니다.",
        "no such guideline" => "없는 가이드라인입니다.",
        "is not an invited institution" => "초청한 기관이 아닙니다.",
        "must be scheduled or done" => "일정 확정이나 완료 중 하나를 고르십시오.",
        "is not a date" => "날짜를 쓰십시오.",
        "is not a time" => "날짜와 시각을 쓰십시오.",
        _ => return super::fields::localized(lang, e),
    };
    lang.t(ko, &e.message).to_string()
}

fn rule_message(lang: Lang, e: &ServiceError) -> String {
    let (ko, en) = match e.code() {
        "no_draft" => (
            "게시할 초안이 없습니다. 게시된 버전은 바꿀 수 없으니 새 초안을 먼저 저장하십시오.",
            "There is no draft to publish; a published version does not change, save a new draft first.",
        ),
        "already_acknowledged" => (
            "이미 이 버전을 확인했습니다.",
            "Your institution already acknowledged this version.",
        ),
        "briefing_not_held" => (
            "아직 열리지 않은 설명회입니다. 설명회가 시작된 뒤 참석을 기록하십시오.",
            "The briefing has not taken place yet; record attendance after it starts.",
        ),
        "illegal_transition" => (
            "이미 완료된 요청입니다.",
            "The request is already done.",
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

fn refuse(p: &Portal, action: Action, errors: Vec<FieldError>) -> Result<(), ServiceError> {
    haechi_service::authz::authorize(&p.actor, action).and(Err(ServiceError::invalid(errors)))
}

#[derive(Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// Renders a failed step again (status and message), or redirects on success.
async fn done_or<F, Fut>(p: &Portal, out: Result<String, ServiceError>, again: F) -> Response
where
    F: FnOnce(Option<String>, Vec<FieldError>) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    match out {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(e @ (ServiceError::NotFound | ServiceError::Forbidden(_))) => p.error(e),
        Err(e) => {
            let status = crate::error::status_of(&e);
            let r = again(Some(failure(p.lang, &e)), e.field_errors().to_vec()).await;
            (status, r).into_response()
        }
    }
}

fn draft_form(
    p: &Portal,
    action: &str,
    kinds: bool,
    versions: &[i64],
    d: Option<&haechi_store::GuidelineVersionRow>,
) -> Markup {
    let lang = p.lang;
    let chosen: Vec<i64> = d.map(|d| d.policy_versions.clone()).unwrap_or_default();
    html! {
        form method="post" action=(action) class="stack" {
            (p.csrf_field())
            @if kinds {
                div class="field" { label for="kind" { (label(lang, "kind")) }
                    select id="kind" name="kind" { @for k in haechi_service::guidelines::KINDS { option value=(k) { (kind_name(lang, k)) } } } }
            }
            div class="field" { label for="title_ko" { (label(lang, "title_ko")) } input type="text" id="title_ko" name="title_ko" value=(d.map(|d| d.title_ko.as_str()).unwrap_or("")) required; }
            div class="field" { label for="title_en" { (label(lang, "title_en")) } input type="text" id="title_en" name="title_en" value=(d.map(|d| d.title_en.as_str()).unwrap_or("")) required; }
            div class="field" { label for="body_ko" { (label(lang, "body_ko")) } textarea id="body_ko" name="body_ko" rows="8" required { (d.map(|d| d.body_ko.as_str()).unwrap_or("")) } }
            div class="field" { label for="body_en" { (label(lang, "body_en")) } textarea id="body_en" name="body_en" rows="8" required { (d.map(|d| d.body_en.as_str()).unwrap_or("")) } }
            fieldset id="policy_versions" {
                legend { (label(lang, "policy_versions")) }
                @for v in versions {
                    label class="check" {
                        @if chosen.contains(v) { input type="checkbox" name="policy_version" value=(v) checked; }
                        @else { input type="checkbox" name="policy_version" value=(v); }
                        " " (p.t("정책 버전 ", "Policy version ")) (v)
                    }
                }
            }
            button type="submit" class="primary" { (p.t("초안 저장", "Save the draft")) }
        }
    }
}

fn form_value<'a>(form: &'a [(String, String)], key: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

fn draft_of(form: &[(String, String)]) -> GuidelineDraft {
    GuidelineDraft {
        title_ko: form_value(form, "title_ko").to_string(),
        title_en: form_value(form, "title_en").to_string(),
        body_ko: form_value(form, "body_ko").to_string(),
        body_en: form_value(form, "body_en").to_string(),
        policy_versions: form
            .iter()
            .filter(|(k, _)| k == "policy_version")
            .filter_map(|(_, v)| v.trim().parse().ok())
            .collect(),
    }
}

// ================================================================================ guidelines

async fn list(p: Portal, State(st): State<AppState>) -> Response {
    render_list(&st, &p, None, &[]).await
}

async fn render_list(
    st: &AppState,
    p: &Portal,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let all = match st.svc.guidelines(&p.actor).await {
        Ok(g) => g,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let manage = p.may(Action::ManageGuidelines);
    let versions: Vec<i64> = st
        .svc
        .policy_versions(&p.actor)
        .await
        .unwrap_or_default()
        .iter()
        .map(|v| v.version)
        .collect();
    let title = p.t("가이드라인", "Guidelines");
    let body = html! {
        h1 { (title) }
        p class="muted" { (p.t(
            "감독당국이 정책 버전에 맞춰 게시하는 운영 가이드라인입니다. 게시된 버전은 바뀌지 않고 새 버전이 대체합니다. 각 기관의 정보보호최고책임자는 시행 중인 버전을 확인합니다.",
            "Operating guidelines the regulator publishes for the policy versions they describe. A published version does not change; a new version supersedes it. Each institution's CISO acknowledges the version in force.",
        )) }
        @if p.may(Action::ReadGuidanceSupport) {
            p { a href="/briefings" { (p.t("현장 설명회", "On-site briefings")) } " · " a href="/support-requests" { (p.t("맞춤형 지원 요청", "Tailored support")) } }
        }
        (errors_block(lang, failed.as_deref(), errors))
        @if all.is_empty() {
            p class="muted" { (p.t("게시된 가이드라인이 없습니다.", "No guideline is published.")) }
        } @else {
            div class="table-wrap" { table id="guidelines" {
                thead { tr {
                    th scope="col" { (p.t("가이드라인", "Guideline")) }
                    th scope="col" { (p.t("종류", "Kind")) }
                    th scope="col" { (p.t("시행 버전", "In force")) }
                    th scope="col" { (p.t("게시일", "Published")) }
                    th scope="col" { (p.t("확인", "Acknowledged")) }
                } }
                tbody { @for g in &all { tr {
                    @let shown = g.current.as_ref().or(g.draft.as_ref());
                    td { a href={ "/guidelines/" (g.guideline.id) } { (shown.map(|v| lang.t(&v.title_ko, &v.title_en)).unwrap_or("—")) } }
                    td { (kind_name(lang, &g.guideline.kind)) }
                    td { @if let Some(c) = &g.current { "v" (c.version) } @else { (state_badge(lang, "draft")) } }
                    td { (g.current.as_ref().and_then(|c| c.published_at.as_deref()).map(kst_day).unwrap_or_else(|| "—".into())) }
                    td {
                        @if g.current.is_none() { "—" }
                        @else if p.actor.institution_id.is_some() {
                            @if g.acks.is_empty() { span class="badge warn" { (p.t("확인 전", "Not yet")) } } @else { span class="badge ok" { (p.t("확인함", "Acknowledged")) } }
                        } @else {
                            (g.acks.len()) " / " (g.acks.len() + g.pending.len())
                        }
                    }
                } } }
            } }
        }
        @if manage {
            h2 { (p.t("새 가이드라인", "New guideline")) }
            (draft_form(p, "/guidelines", true, &versions, None))
        }
    };
    p.page(title, body)
}

async fn create(State(st): State<AppState>, f: CsrfForm<Vec<(String, String)>>) -> Response {
    let p = f.portal;
    let kind = form_value(&f.form, "kind").to_string();
    let out = st
        .svc
        .create_guideline(&p.actor, &kind, &draft_of(&f.form))
        .await
        .map(|id| format!("/guidelines/{id}?done=1"));
    done_or(&p, out, |m, e| {
        let (st, p) = (&st, &p);
        async move { render_list(st, p, m, &e).await }
    })
    .await
}

async fn detail(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return p.error(e),
    };
    render_detail(&st, &p, id, !q.done.is_empty(), None, &[]).await
}

fn version_text(lang: Lang, v: &haechi_store::GuidelineVersionRow) -> Markup {
    html! {
        p class="small muted" {
            (lang.t("설명하는 정책 버전: ", "Describes policy version(s): "))
            (v.policy_versions.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "))
            @if let Some(at) = &v.published_at { " · " (lang.t("게시 ", "published ")) (kst_minute(at)) }
            @if let Some(at) = &v.superseded_at { " · " (lang.t("대체 ", "superseded ")) (kst_minute(at)) }
        }
        pre class="wrap" { (lang.t(&v.body_ko, &v.body_en)) }
    }
}

async fn render_detail(
    st: &AppState,
    p: &Portal,
    id: i64,
    done: bool,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let g: GuidelineView = match st.svc.guideline(&p.actor, id).await {
        Ok(g) => g,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let manage = p.may(Action::ManageGuidelines);
    let versions: Vec<i64> = if manage {
        st.svc
            .policy_versions(&p.actor)
            .await
            .unwrap_or_default()
            .iter()
            .map(|v| v.version)
            .collect()
    } else {
        Vec::new()
    };
    let shown = g.current.as_ref().or(g.draft.as_ref());
    let title = shown
        .map(|v| lang.t(&v.title_ko, &v.title_en).to_string())
        .unwrap_or_default();
    let body = html! {
        p { a href="/guidelines" { "← " (p.t("가이드라인", "Guidelines")) } }
        h1 { (title) }
        @if done { p class="alert ok" role="status" { (p.t("저장했습니다.", "Saved.")) } }
        (errors_block(lang, failed.as_deref(), errors))
        dl class="facts" {
            dt { (p.t("종류", "Kind")) } dd { (kind_name(lang, &g.guideline.kind)) }
            dt { (p.t("시행 버전", "In force")) }
            dd { @if let Some(c) = &g.current { "v" (c.version) " " (state_badge(lang, "published")) } @else { (p.t("아직 게시되지 않음", "Not yet published")) } }
        }
        @if let Some(c) = &g.current {
            section id="current" {
                h2 { (p.t("시행 중인 버전", "Version in force")) " v" (c.version) }
                (version_text(lang, c))
            }
            @if p.may(Action::AcknowledgeGuidelines) {
                @if g.acks.is_empty() {
                    form method="post" action={ "/guidelines/" (g.guideline.id) "/acknowledge" } class="inline" {
                        (p.csrf_field())
                        button type="submit" class="primary" { (p.t("이 버전을 확인했습니다", "Acknowledge this version")) }
                    }
                } @else {
                    p class="alert ok" role="status" { (p.t("기관에서 확인했습니다: ", "Your institution acknowledged it: ")) (kst_minute(&g.acks[0].acknowledged_at)) }
                }
            } @else if p.actor.institution_id.is_some() {
                @if g.acks.is_empty() { p class="muted" { (p.t("기관의 정보보호최고책임자가 아직 확인하지 않았습니다.", "Your institution's CISO has not acknowledged it yet.")) } }
                @else { p class="alert ok" role="status" { (p.t("기관에서 확인했습니다: ", "Your institution acknowledged it: ")) (kst_minute(&g.acks[0].acknowledged_at)) } }
            }
            @if p.actor.institution_id.is_none() {
                section id="acknowledgements" {
                    h2 { (p.t("기관 확인 현황", "Acknowledgements")) " (" (g.acks.len()) " / " (g.acks.len() + g.pending.len()) ")" }
                    h3 { (p.t("확인한 기관", "Acknowledged")) }
                    @if g.acks.is_empty() { p class="muted" { (p.t("없음", "None")) } }
                    @else { ul id="acked" { @for a in &g.acks { li { (lang.t(&a.institution_name_ko, &a.institution_name_en)) " · " span class="small muted" { (kst_minute(&a.acknowledged_at)) } } } } }
                    h3 { (p.t("확인하지 않은 기관", "Not yet acknowledged")) }
                    @if g.pending.is_empty() { p class="muted" { (p.t("없음", "None")) } }
                    @else { ul id="pending" { @for i in &g.pending { li { (lang.t(&i.name_ko, &i.name_en)) } } } }
                }
            }
        }
        @if manage {
            section id="draft" {
                h2 { (p.t("초안", "Draft")) }
                @if let Some(d) = &g.draft {
                    p class="muted" { "v" (d.version) " · " (p.t("마지막 저장 ", "last saved ")) (kst_minute(&d.drafted_at)) }
                    form method="post" action={ "/guidelines/" (g.guideline.id) "/publish" } class="inline" {
                        (p.csrf_field())
                        button type="submit" class="primary" data-confirm=(p.t("게시하면 이 버전은 더 이상 바꿀 수 없습니다. 게시하시겠습니까?", "Once published this version cannot change. Publish?")) { (p.t("게시", "Publish")) }
                    }
                } @else {
                    p class="muted" { (p.t("게시된 버전은 바꿀 수 없습니다. 고치려면 새 버전의 초안을 저장하십시오.", "A published version does not change; to revise it, save a draft of the next version.")) }
                }
                (draft_form(p, &format!("/guidelines/{}/draft", g.guideline.id), false, &versions, g.draft.as_ref().or(g.current.as_ref())))
            }
        }
        section id="versions" {
            h2 { (p.t("버전 이력", "Versions")) }
            @for v in g.versions.iter().rev() {
                details {
                    summary { "v" (v.version) " " (state_badge(lang, &v.state)) " " (lang.t(&v.title_ko, &v.title_en)) }
                    (version_text(lang, v))
                }
            }
        }
    };
    p.page(&title, body)
}

async fn save_draft(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let p = f.portal;
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return p.error(e),
    };
    let out = st
        .svc
        .save_guideline_draft(&p.actor, id, &draft_of(&f.form))
        .await
        .map(|_| format!("/guidelines/{id}?done=1"));
    done_or(&p, out, |m, e| {
        let (st, p) = (&st, &p);
        async move { render_detail(st, p, id, false, m, &e).await }
    })
    .await
}

async fn publish(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let p = f.portal;
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return p.error(e),
    };
    let out = st
        .svc
        .publish_guideline(&p.actor, id)
        .await
        .map(|_| format!("/guidelines/{id}?done=1"));
    done_or(&p, out, |m, e| {
        let (st, p) = (&st, &p);
        async move { render_detail(st, p, id, false, m, &e).await }
    })
    .await
}

async fn acknowledge(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let p = f.portal;
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return p.error(e),
    };
    let out = st
        .svc
        .acknowledge_guideline(&p.actor, id)
        .await
        .map(|_| format!("/guidelines/{id}?done=1"));
    done_or(&p, out, |m, e| {
        let (st, p) = (&st, &p);
        async move { render_detail(st, p, id, false, m, &e).await }
    })
    .await
}

// ================================================================================ briefings

async fn briefings(p: Portal, State(st): State<AppState>) -> Response {
    render_briefings(&st, &p, None, &[]).await
}

async fn render_briefings(
    st: &AppState,
    p: &Portal,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let all = match st.svc.briefings(&p.actor).await {
        Ok(b) => b,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let manage = p.may(Action::ManageGuidelines);
    let (institutions, guidelines) = if manage {
        (
            haechi_store::all_institutions(st.svc.store().pool())
                .await
                .unwrap_or_default(),
            st.svc.guidelines(&p.actor).await.unwrap_or_default(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let title = p.t("현장 설명회", "On-site briefings");
    let body = html! {
        p { a href="/guidelines" { "← " (p.t("가이드라인", "Guidelines")) } }
        h1 { (title) }
        (errors_block(lang, failed.as_deref(), errors))
        @if all.is_empty() {
            p class="muted" { (p.t("예정되거나 열린 설명회가 없습니다.", "No briefings.")) }
        } @else {
            div class="table-wrap" { table id="briefings" {
                thead { tr {
                    th scope="col" { (p.t("일시", "When")) }
                    th scope="col" { (p.t("주제", "Topic")) }
                    th scope="col" { (p.t("장소", "Place")) }
                    th scope="col" class="num" { (p.t("초청", "Invited")) }
                    th scope="col" class="num" { (p.t("참석", "Attended")) }
                } }
                tbody { @for b in &all { tr {
                    td { (kst_minute(&b.starts_at)) }
                    td { a href={ "/briefings/" (b.id) } { (b.topic) } }
                    td { (b.place) }
                    td class="num" { (b.invitees.len()) }
                    td class="num" { @if b.attendance_at.is_some() { (b.invitees.iter().filter(|i| i.attended == Some(true)).count()) } @else { "—" } }
                } } }
            } }
        }
        @if manage {
            h2 { (p.t("설명회 일정 등록", "Schedule a briefing")) }
            form method="post" action="/briefings" class="stack" {
                (p.csrf_field())
                div class="field" { label for="starts_at" { (label(lang, "starts_at")) } input type="datetime-local" id="starts_at" name="starts_at" required; }
                div class="field" { label for="place" { (label(lang, "place")) } input type="text" id="place" name="place" required; }
                div class="field" { label for="topic" { (label(lang, "topic")) } input type="text" id="topic" name="topic" required; }
                div class="field" { label for="guideline_id" { (label(lang, "guideline_id")) }
                    select id="guideline_id" name="guideline_id" {
                        option value="" { "—" }
                        @for g in &guidelines { @if let Some(v) = g.current.as_ref().or(g.draft.as_ref()) { option value=(g.guideline.id) { (lang.t(&v.title_ko, &v.title_en)) } } }
                    } }
                div class="field" { label for="institution_ids" { (label(lang, "institution_ids")) }
                    select id="institution_ids" name="institution_id" multiple size="8" {
                        @for i in &institutions { option value=(i.id) { (lang.t(&i.input.name_ko, &i.input.name_en)) } }
                    } }
                button type="submit" class="primary" { (p.t("등록", "Schedule")) }
            }
        }
    };
    p.page(title, body)
}

/// A `datetime-local` value, read as Korean time.
fn korean_time(errors: &mut Vec<FieldError>, v: &str) -> Option<chrono::DateTime<FixedOffset>> {
    if v.trim().is_empty() {
        return None;
    }
    let kst = FixedOffset::east_opt(9 * 3600)?;
    ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(v.trim(), f).ok())
        .and_then(|t| kst.from_local_datetime(&t).single())
        .or_else(|| {
            errors.push(FieldError::new("starts_at", "is not a time"));
            None
        })
}

async fn schedule(State(st): State<AppState>, f: CsrfForm<Vec<(String, String)>>) -> Response {
    let p = f.portal;
    let mut errors = Vec::new();
    let starts_at = korean_time(&mut errors, form_value(&f.form, "starts_at"));
    let out = if errors.is_empty() {
        let input = BriefingInput {
            starts_at,
            place: form_value(&f.form, "place").to_string(),
            topic: form_value(&f.form, "topic").to_string(),
            guideline_id: form_value(&f.form, "guideline_id").trim().parse().ok(),
            institution_ids: f
                .form
                .iter()
                .filter(|(k, _)| k == "institution_id")
                .filter_map(|(_, v)| v.trim().parse().ok())
                .collect(),
        };
        st.svc
            .schedule_briefing(&p.actor, &input)
            .await
            .map(|id| format!("/briefings/{id}?done=1"))
    } else {
        refuse(&p, Action::ManageGuidelines, errors).map(|_| String::new())
    };
    done_or(&p, out, |m, e| {
        let (st, p) = (&st, &p);
        async move { render_briefings(st, p, m, &e).await }
    })
    .await
}

async fn briefing(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return p.error(e),
    };
    render_briefing(&st, &p, id, !q.done.is_empty(), None, &[]).await
}

async fn render_briefing(
    st: &AppState,
    p: &Portal,
    id: i64,
    done: bool,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let b = match st.svc.briefing(&p.actor, id).await {
        Ok(b) => b,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let manage = p.may(Action::ManageGuidelines);
    let started = b.starts_at <= haechi_store::now_text();
    let own = p.actor.institution_id;
    let body = html! {
        p { a href="/briefings" { "← " (p.t("현장 설명회", "On-site briefings")) } }
        h1 { (b.topic) }
        @if done { p class="alert ok" role="status" { (p.t("저장했습니다.", "Saved.")) } }
        (errors_block(lang, failed.as_deref(), errors))
        dl class="facts" {
            dt { (p.t("일시", "When")) } dd { (kst_minute(&b.starts_at)) }
            dt { (p.t("장소", "Place")) } dd { (b.place) }
            @if let Some(g) = b.guideline_id { dt { (p.t("가이드라인", "Guideline")) } dd { a href={ "/guidelines/" (g) } { (p.t("관련 가이드라인", "The guideline")) } } }
            @if let Some(at) = &b.attendance_at { dt { (p.t("참석 기록", "Attendance recorded")) } dd { (kst_minute(at)) } }
        }
        h2 { (p.t("초청 기관", "Invited institutions")) }
        @if manage && started {
            form method="post" action={ "/briefings/" (b.id) "/attendance" } class="stack" {
                (p.csrf_field())
                fieldset id="attended" {
                    legend { (label(lang, "attended")) }
                    @for i in &b.invitees {
                        label class="check" {
                            @if i.attended == Some(true) { input type="checkbox" name="attended" value=(i.institution_id) checked; }
                            @else { input type="checkbox" name="attended" value=(i.institution_id); }
                            " " (lang.t(&i.name_ko, &i.name_en))
                        }
                    }
                }
                button type="submit" class="primary" { (p.t("참석 기록", "Record attendance")) }
            }
        } @else {
            @if manage { p class="muted" { (p.t("설명회가 시작된 뒤 참석을 기록할 수 있습니다.", "Attendance can be recorded once the briefing has begun.")) } }
            ul id="invitees" { @for i in b.invitees.iter().filter(|i| own.is_none() || own == Some(i.institution_id)) { li {
                (lang.t(&i.name_ko, &i.name_en)) " "
                @match i.attended {
                    Some(true) => span class="badge ok" { (p.t("참석", "Attended")) },
                    Some(false) => span class="badge bad" { (p.t("불참", "Absent")) },
                    None => span class="badge" { (p.t("기록 전", "Not recorded")) },
                }
            } } }
        }
    };
    p.page(&b.topic, body)
}

async fn attendance(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let p = f.portal;
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return p.error(e),
    };
    let attended: Vec<i64> = f
        .form
        .iter()
        .filter(|(k, _)| k == "attended")
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect();
    let out = st
        .svc
        .record_briefing_attendance(&p.actor, id, &attended)
        .await
        .map(|_| format!("/briefings/{id}?done=1"));
    done_or(&p, out, |m, e| {
        let (st, p) = (&st, &p);
        async move { render_briefing(st, p, id, false, m, &e).await }
    })
    .await
}

// ================================================================================ tailored support

async fn requests(p: Portal, State(st): State<AppState>) -> Response {
    render_requests(&st, &p, None, &[]).await
}

async fn render_requests(
    st: &AppState,
    p: &Portal,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let all = match st.svc.support_requests(&p.actor).await {
        Ok(r) => r,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let title = p.t("맞춤형 지원 요청", "Tailored support");
    let body = html! {
        p { a href="/guidelines" { "← " (p.t("가이드라인", "Guidelines")) } }
        h1 { (title) }
        p class="muted" { (p.t("가이드라인 적용에 관해 기관이 현장 자문이나 설명을 요청하고 감독당국이 답합니다.", "Institutions ask for on-site advice or explanation on applying the guidelines; the regulator answers.")) }
        (errors_block(lang, failed.as_deref(), errors))
        @if all.is_empty() {
            p class="muted" { (p.t("요청이 없습니다.", "No requests.")) }
        } @else {
            div class="table-wrap" { table id="requests" {
                thead { tr {
                    th scope="col" { (p.t("주제", "Topic")) }
                    th scope="col" { (p.t("기관", "Institution")) }
                    th scope="col" { (p.t("요청일", "Filed")) }
                    th scope="col" { (p.t("상태", "State")) }
                    th scope="col" { (p.t("지원 예정일", "Scheduled for")) }
                } }
                tbody { @for r in &all { tr {
                    td { a href={ "/support-requests/" (r.id) } { (r.topic) } }
                    td { (lang.t(&r.institution_name_ko, &r.institution_name_en)) }
                    td { (kst_day(&r.filed_at)) }
                    td { (state_badge(lang, &r.state)) }
                    td { (r.scheduled_on.as_deref().unwrap_or("—")) }
                } } }
            } }
        }
        @if p.may(Action::RequestGuidanceSupport) {
            h2 { (p.t("지원 요청", "Request support")) }
            form method="post" action="/support-requests" class="stack" {
                (p.csrf_field())
                div class="field" { label for="topic" { (label(lang, "topic")) } input type="text" id="topic" name="topic" required; }
                div class="field" { label for="description" { (label(lang, "description")) } textarea id="description" name="description" rows="4" required {} }
                button type="submit" class="primary" { (p.t("요청", "Request")) }
            }
        }
    };
    p.page(title, body)
}

async fn request(State(st): State<AppState>, f: CsrfForm<Vec<(String, String)>>) -> Response {
    let p = f.portal;
    let out = st
        .svc
        .request_support(
            &p.actor,
            form_value(&f.form, "topic"),
            form_value(&f.form, "description"),
        )
        .await
        .map(|id| format!("/support-requests/{id}?done=1"));
    done_or(&p, out, |m, e| {
        let (st, p) = (&st, &p);
        async move { render_requests(st, p, m, &e).await }
    })
    .await
}

async fn support(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return p.error(e),
    };
    render_support(&st, &p, id, !q.done.is_empty(), None, &[]).await
}

async fn render_support(
    st: &AppState,
    p: &Portal,
    id: i64,
    done: bool,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let r = match st.svc.support_request(&p.actor, id).await {
        Ok(r) => r,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let body = html! {
        p { a href="/support-requests" { "← " (p.t("맞춤형 지원 요청", "Tailored support")) } }
        h1 { (r.topic) }
        @if done { p class="alert ok" role="status" { (p.t("저장했습니다.", "Saved.")) } }
        (errors_block(lang, failed.as_deref(), errors))
        dl class="facts" {
            dt { (p.t("기관", "Institution")) } dd { (lang.t(&r.institution_name_ko, &r.institution_name_en)) }
            dt { (p.t("요청", "Filed")) } dd { (kst_minute(&r.filed_at)) }
            dt { (p.t("상태", "State")) } dd id="state" { (state_badge(lang, &r.state)) }
            dt { (p.t("요청 내용", "What is needed")) } dd { (r.description) }
            @if let Some(d) = &r.scheduled_on { dt { (p.t("지원 예정일", "Scheduled for")) } dd { (d) } }
            @if let Some(a) = &r.response {
                dt { (p.t("감독당국 답변", "The regulator's answer")) }
                dd id="response" { (a) @if let Some(at) = &r.answered_at { br; span class="small muted" { (kst_minute(at)) } } }
            }
        }
        @if p.may(Action::ManageGuidelines) && r.state != "done" {
            h2 { (p.t("답변", "Answer")) }
            form method="post" action={ "/support-requests/" (r.id) "/answer" } class="stack" {
                (p.csrf_field())
                div class="field" { label for="state_choice" { (label(lang, "state")) }
                    select id="state_choice" name="state" {
                        option value="scheduled" { (p.t("일정 확정", "Scheduled")) }
                        option value="done" { (p.t("완료", "Done")) }
                    } }
                div class="field" { label for="scheduled_on" { (label(lang, "scheduled_on")) } input type="date" id="scheduled_on" name="scheduled_on" value=(r.scheduled_on.as_deref().unwrap_or("")); }
                div class="field" { label for="response_text" { (label(lang, "response")) } textarea id="response_text" name="response" rows="4" required {} }
                button type="submit" class="primary" { (p.t("답변 저장", "Save the answer")) }
            }
        }
    };
    p.page(&r.topic, body)
}

async fn answer(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<Vec<(String, String)>>,
) -> Response {
    let p = f.portal;
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return p.error(e),
    };
    let mut errors = Vec::new();
    let raw = form_value(&f.form, "scheduled_on").trim();
    let day = if raw.is_empty() {
        None
    } else {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map(Some)
            .unwrap_or_else(|_| {
                errors.push(FieldError::new("scheduled_on", "is not a date"));
                None
            })
    };
    let out = if errors.is_empty() {
        st.svc
            .answer_support(
                &p.actor,
                id,
                form_value(&f.form, "state"),
                day,
                form_value(&f.form, "response"),
            )
            .await
            .map(|_| format!("/support-requests/{id}?done=1"))
    } else {
        refuse(&p, Action::ManageGuidelines, errors).map(|_| String::new())
    };
    done_or(&p, out, |m, e| {
        let (st, p) = (&st, &p);
        async move { render_support(st, p, id, false, m, &e).await }
    })
    .await
}
