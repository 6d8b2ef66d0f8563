//! The full-removal track (C14), for the regulator's officers: the letter holders ranked as
//! candidates for removing the network-separation rule altogether, each factor with its value,
//! weight, contribution and reason, the policy version; those handed over with their letter;
//! and per candidate the officer's shortlisting and decision (recommend, or not now) with the
//! reasons, each kept with the ranking it saw.
//!
//! What it must not do: rank or decide — the policy engine ranks, the service decides.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use haechi_core::{FieldError, Sector};
use haechi_policy::removal::{Factor, RankedCandidate};
use haechi_service::authz::Action;
use haechi_service::removal::{RemovalCandidate, RemovalStep};
use haechi_service::ServiceError;
use haechi_store::RemovalDecisionRow;
use maud::{html, Markup};
use serde::Deserialize;

use super::{kst_minute, CsrfForm, Lang, PageRoute, Portal};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/removal", ranking),
        page_get!("/removal/{id}", detail),
        page_post!("/removal/{id}/decision", decide),
    ]
}

fn step_label(lang: Lang, kind: &str) -> &'static str {
    match RemovalStep::parse(kind) {
        Some(RemovalStep::Shortlist) => lang.t("후보 선정", "Shortlisted"),
        Some(RemovalStep::Recommend) => lang.t("완전 해제 권고", "Recommended"),
        Some(RemovalStep::NotNow) => lang.t("보류", "Not now"),
        None => lang.t("기타", "Other"),
    }
}

fn step_badge(lang: Lang, d: &RemovalDecisionRow) -> Markup {
    let class = match d.kind.as_str() {
        "recommend" => "badge ok",
        "not_now" => "badge bad",
        _ => "badge warn",
    };
    html! { span class=(class) { (step_label(lang, &d.kind)) } }
}

fn factor_label(lang: Lang, f: Factor) -> &'static str {
    lang.t(f.label_ko(), f.label_en())
}

fn ready_badge(lang: Lang, r: &RankedCandidate) -> Markup {
    if r.ready {
        html! { span class="badge ok" { (lang.t("권고 가능", "Ready")) } }
    } else {
        html! { span class="badge" { (lang.t("기준 미달", "Not ready")) } }
    }
}

fn sector_label(lang: Lang, s: &str) -> String {
    Sector::parse(s)
        .map(|s| lang.t(s.label_ko(), s.label_en()).to_string())
        .unwrap_or_default()
}

fn name(lang: Lang, c: &RemovalCandidate) -> String {
    lang.t(&c.name_ko, &c.name_en).to_string()
}

fn state_of(lang: Lang, c: &RemovalCandidate) -> Markup {
    html! {
        @if let Some(d) = &c.decision { (step_badge(lang, d)) }
        @else if let Some(d) = &c.shortlisted { (step_badge(lang, d)) }
        @else { span class="muted" { "—" } }
        @if c.handed_over.is_some() { " " span class="badge" { (lang.t("의견서와 함께 인계", "Handed over")) } }
    }
}

async fn ranking(p: Portal, State(st): State<AppState>) -> Response {
    let track = match st.svc.removal_track(&p.actor).await {
        Ok(t) => t,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let title = p.t("망분리 완전 해제 검토", "Full-removal track");
    let body = html! {
        h1 { (title) }
        p class="muted" { (p.t(
            "비조치의견서를 받은 기관을 전문가 평가, 보고 의무 이행, 사고·면책, 패치 기한 준수, 자체 성숙도로 평가해 망분리 규제 완전 해제 후보 순위를 보여 줍니다. 담당자가 후보를 선정하고 권고 여부를 결정합니다.",
            "Letter holders ranked as candidates for removing the network-separation rule altogether, from their evaluation, reporting compliance, incidents and immunity, patch SLA and self-assessed maturity. The officer shortlists and decides.",
        )) }
        p { (match lang {
            Lang::Ko => format!("정책 버전 {} · {} 기준 · 후보 {}곳", track.policy_version, track.computed_on, track.candidates.len()),
            Lang::En => format!("Policy version {} · as of {} · {} candidates", track.policy_version, track.computed_on, track.candidates.len()),
        }) }
        @if track.candidates.is_empty() {
            p class="muted" { (p.t("후보가 없습니다(발급된 비조치의견서가 없습니다).", "There are no candidates (no letter is issued).")) }
        } @else {
            div class="table-wrap" { table {
                thead { tr {
                    th scope="col" class="num" { (p.t("순위", "Rank")) }
                    th scope="col" { (p.t("기관", "Institution")) }
                    th scope="col" { (p.t("업권", "Sector")) }
                    @for f in Factor::ALL { th scope="col" class="num" { (factor_label(lang, f)) } }
                    th scope="col" class="num" { (p.t("종합", "Score")) }
                    th scope="col" { (p.t("판정", "Verdict")) }
                    th scope="col" { (p.t("진행", "Steps")) }
                } }
                tbody { @for c in &track.candidates { tr {
                    td class="num" { (c.ranked.rank) }
                    td { a href={ "/removal/" (c.institution_id) } { (name(lang, c)) } }
                    td { (sector_label(lang, &c.sector)) }
                    @for f in &c.ranked.factors { td class="num" { (format!("{:.1}", f.contribution)) } }
                    td class="num" { strong { (format!("{:.1}", c.ranked.score)) } }
                    td { (ready_badge(lang, &c.ranked)) }
                    td { (state_of(lang, c)) }
                } } }
            } }
            p class="small muted" { (p.t(
                "각 요소 칸은 가중치를 곱한 기여 점수입니다(합계 100점). 기관을 누르면 요소별 근거를 봅니다.",
                "Each factor column is its weighted contribution (of 100). Open an institution for the reasons.",
            )) }
        }
    };
    p.page(title, body)
}

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
    render_detail(&st, &p, id, &q.done, None, &[]).await
}

fn failure(lang: Lang, e: &ServiceError) -> String {
    match e.code() {
        "illegal_transition" => lang
            .t(
                "이미 후보로 선정했습니다.",
                "The candidate is already shortlisted.",
            )
            .to_string(),
        "not_shortlisted" => lang
            .t(
                "먼저 후보로 선정한 뒤 결정하십시오.",
                "Shortlist the candidate before deciding.",
            )
            .to_string(),
        "policy_changed" => lang
            .t(
                "그사이 정책이 바뀌었습니다. 새 순위를 확인하고 다시 결정하십시오.",
                "The policy changed meanwhile; look at the new ranking and decide again.",
            )
            .to_string(),
        _ if !e.field_errors().is_empty() => lang
            .t(
                "사유를 쓰십시오. 아무것도 저장하지 않았습니다.",
                "Give the reason. Nothing was saved.",
            )
            .to_string(),
        _ => super::error_text(lang, e),
    }
}

async fn render_detail(
    st: &AppState,
    p: &Portal,
    id: i64,
    done: &str,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let c = match st.svc.removal_candidate(&p.actor, id).await {
        Ok(c) => c,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let title = name(lang, &c);
    let decide = p.may(Action::DecideRemoval);
    let body = html! {
        p { a href="/removal" { "← " (p.t("완전 해제 검토", "Full-removal track")) } }
        h1 { (title) }
        @if !done.is_empty() { p class="alert ok" role="status" { (p.t("저장했습니다.", "Saved.")) } }
        @if let Some(m) = &failed { p class="alert error" role="alert" { (m) } }
        @if !errors.is_empty() { ul class="alert error" role="alert" { @for e in errors { li { (p.t("사유", "Reason")) ": " (super::fields::localized(lang, e)) } } } }
        dl class="facts" {
            dt { (p.t("순위", "Rank")) } dd { (c.ranked.rank) }
            dt { (p.t("종합 점수", "Score")) } dd { strong { (format!("{:.1}", c.ranked.score)) } " / 100 " (ready_badge(lang, &c.ranked)) }
            dt { (p.t("정책 버전", "Policy version")) } dd { (c.ranked.policy_version) }
            dt { (p.t("업권", "Sector")) } dd { (sector_label(lang, &c.sector)) }
            @if let Some(n) = &c.letter_number { dt { (p.t("비조치의견서", "Letter")) } dd { (n) } }
            @if let Some(h) = &c.handed_over {
                dt { (p.t("완전 해제 검토 인계", "Handed over")) }
                dd { (kst_minute(&h.at)) " — " (h.note) }
            }
        }
        h2 { (p.t("판정 근거", "Reasons")) }
        ul { @for r in &c.ranked.reasons { li { (lang.t(&r.ko, &r.en)) } } }
        h2 { (p.t("요소별 평가", "Factors")) }
        div class="table-wrap" { table {
            thead { tr {
                th scope="col" { (p.t("요소", "Factor")) }
                th scope="col" class="num" { (p.t("관측값", "Observed")) }
                th scope="col" class="num" { (p.t("점수(0–100)", "Value (0–100)")) }
                th scope="col" class="num" { (p.t("가중치", "Weight")) }
                th scope="col" class="num" { (p.t("기여", "Contribution")) }
                th scope="col" { (p.t("근거", "Reason")) }
            } }
            tbody { @for f in &c.ranked.factors { tr {
                td { (factor_label(lang, f.factor)) }
                td class="num" { (f.observed) }
                td class="num" { (format!("{:.1}", f.value)) }
                td class="num" { (format!("{:.0}", f.weight)) }
                td class="num" { (format!("{:.1}", f.contribution)) }
                td { (lang.t(&f.reason.ko, &f.reason.en)) }
            } } }
        } }
        h2 { (p.t("검토 이력", "Steps")) }
        @if c.history.is_empty() {
            p class="muted" { (p.t("아직 선정·결정이 없습니다.", "Not shortlisted or decided yet.")) }
        } @else {
            ul { @for d in &c.history {
                li {
                    (step_badge(lang, d)) " " (kst_minute(&d.decided_at)) " · " (d.decided_by)
                    " · " (match lang { Lang::Ko => format!("당시 {:.1}점, 정책 버전 {}", d.score, d.policy_version), Lang::En => format!("score {:.1} then, policy version {}", d.score, d.policy_version) })
                    br; (d.reason)
                }
            } }
        }
        @if decide {
            h2 { (p.t("선정·결정", "Shortlist or decide")) }
            form method="post" action={ "/removal/" (c.institution_id) "/decision" } class="stack" {
                (p.csrf_field())
                div class="field" { label for="reason" { (p.t("사유", "Reason")) } textarea id="reason" name="reason" rows="3" required {} }
                @if c.shortlisted.is_none() {
                    button type="submit" name="step" value="shortlist" class="primary" { (p.t("후보로 선정", "Shortlist")) }
                } @else {
                    button type="submit" name="step" value="recommend" class="primary" { (p.t("완전 해제 권고", "Recommend")) }
                    " "
                    button type="submit" name="step" value="not_now" { (p.t("보류", "Not now")) }
                }
            }
        }
    };
    p.page(&title, body)
}

#[derive(Deserialize, Default)]
struct DecisionForm {
    #[serde(default)]
    step: String,
    #[serde(default)]
    reason: String,
}

async fn decide(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<DecisionForm>,
) -> Response {
    let p = f.portal;
    let Ok(id) = id.trim().parse::<i64>() else {
        return p.error(ServiceError::NotFound);
    };
    let out = match RemovalStep::parse(&f.form.step) {
        Some(step) => st
            .svc
            .decide_removal(&p.actor, id, step, &f.form.reason)
            .await
            .map(|_| ()),
        None => haechi_service::authz::authorize(&p.actor, Action::DecideRemoval).and(Err(
            ServiceError::invalid(vec![FieldError::new("step", "choose a step")]),
        )),
    };
    match out {
        Ok(()) => Redirect::to(&format!("/removal/{id}?done=saved")).into_response(),
        Err(e @ (ServiceError::NotFound | ServiceError::Forbidden(_))) => p.error(e),
        Err(e) => {
            let status = crate::error::status_of(&e);
            let r =
                render_detail(&st, &p, id, "", Some(failure(p.lang, &e)), e.field_errors()).await;
            (status, r).into_response()
        }
    }
}
