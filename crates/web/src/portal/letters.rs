//! No-action letters (C6) and their reporting obligations (C7): the list (an institution's users
//! see only their own issued letters) and one letter as it reads when printed, with its
//! obligation schedule and each obligation's state, downloads of the signed file and PDF (with
//! its verification URL and QR code), and the print page.
//!
//! The officer's actions on a letter (issue a draft, revoke with a reason, renew, hand the holder
//! over to the full-removal track) are forms on the letter's page, each behind a confirmation
//! step (`<details>`: open it, then confirm; no script needed). The service decides who may and
//! whether the letter's state allows it; the page shows the buttons only to roles that may.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use haechi_core::FieldError;
use haechi_letter::{ConditionKind, NoActionLetter};
use haechi_service::letters::ObligationView;
use haechi_service::{Action, ServiceError};
use haechi_store::LetterRow;
use maud::{html, Markup};
use serde::Deserialize;

use super::parse_id;
use super::registry::{day, moment};
use super::{control, pager, url_encode, CsrfForm, Lang, PageRoute, Portal, PER_PAGE};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/letters", list),
        page_get!("/letters/{id}", detail),
        page_get!("/letters/{id}/file", file),
        page_get!("/letters/{id}/pdf", pdf),
        page_get!("/letters/{id}/print", print),
        page_post!("/letters/{id}/issue", issue),
        page_post!("/letters/{id}/revoke", revoke),
        page_post!("/letters/{id}/renew", renew),
        page_post!("/letters/{id}/hand-over", hand_over),
        page_get!("/assets/letter-print.css", print_css),
    ]
}

// ================================================================================ labels

/// The label of a letter's status, derived from its stored state and today's date: `draft`,
/// `issued` (valid), `expiring` (valid, ends within the reminder window), `expired`, `not_yet_valid`,
/// `revoked`.
pub fn state_label(lang: Lang, state: &str) -> &'static str {
    match state {
        "draft" => lang.t("초안", "Draft"),
        "issued" => lang.t("유효", "Valid"),
        "expiring" => lang.t("만료 임박", "Expiring soon"),
        "expired" => lang.t("만료", "Expired"),
        "not_yet_valid" => lang.t("효력 발생 전", "Not yet valid"),
        "revoked" => lang.t("취소", "Revoked"),
        _ => lang.t("알 수 없음", "Unknown"),
    }
}

/// An obligation's state label: the open ones by date (`upcoming`, `due`, `overdue`), then the
/// stored `submitted`, `accepted`, `returned`, `cancelled`.
pub fn obligation_state_label(lang: Lang, state: &str) -> &'static str {
    match state {
        "upcoming" => lang.t("예정", "Upcoming"),
        "due" => lang.t("제출 기간", "Due"),
        "overdue" => lang.t("기한 경과", "Overdue"),
        "submitted" => lang.t("제출됨", "Submitted"),
        "accepted" => lang.t("수리", "Accepted"),
        "returned" => lang.t("보완 요청", "Returned"),
        "cancelled" => lang.t("취소", "Cancelled"),
        "fulfilled" => lang.t("이행 완료", "Fulfilled"),
        "open" => lang.t("미제출", "Open"),
        _ => lang.t("알 수 없음", "Unknown"),
    }
}

pub fn obligation_kind_label(lang: Lang, kind: &str) -> &'static str {
    match kind {
        "quarterly_report" => lang.t("분기 보고", "Quarterly report"),
        "final_report" => lang.t("최종 보고", "Final report"),
        "saas_self_evaluation" => lang.t("SaaS 자체 점검", "SaaS self-evaluation"),
        _ => lang.t("보고", "Report"),
    }
}

fn badge_class(state: &str) -> &'static str {
    match state {
        "issued" | "accepted" | "submitted" | "fulfilled" => "badge ok",
        "revoked" | "expired" | "overdue" | "returned" => "badge bad",
        "draft" | "expiring" | "due" | "not_yet_valid" => "badge warn",
        _ => "badge",
    }
}

pub fn letter_badge(lang: Lang, state: &str) -> Markup {
    html! { span class=(badge_class(state)) { (state_label(lang, state)) } }
}

pub fn obligation_badge(lang: Lang, state: &str) -> Markup {
    html! { span class=(badge_class(state)) { (obligation_state_label(lang, state)) } }
}

/// An obligation's state badge, and the overdue one beside it when a report still owed in
/// another state (returned for correction) is past its due date.
pub fn obligation_badges(lang: Lang, o: &ObligationView) -> Markup {
    html! {
        (obligation_badge(lang, &o.state))
        @if o.overdue && o.state != "overdue" { " " (obligation_badge(lang, "overdue")) }
    }
}

fn parse_day(s: Option<&str>) -> Option<NaiveDate> {
    s.and_then(|s| NaiveDate::parse_from_str(&day(s), "%Y-%m-%d").ok())
}

/// The "expiring soon" window: the earliest expiry reminder of the policy (60 days by default).
pub fn expiry_window(st: &AppState) -> i64 {
    st.svc
        .policy()
        .program
        .expiry_reminder_days
        .iter()
        .max()
        .map_or(60, |d| i64::from(*d))
}

/// What a reader needs to know of a letter today (see [`state_label`]); `window` is the number
/// of days before the end of validity from which a letter counts as expiring.
pub fn letter_status(l: &LetterRow, today: NaiveDate, window: i64) -> &'static str {
    match l.state.as_str() {
        "draft" => "draft",
        "revoked" => "revoked",
        "issued" => {
            let from = parse_day(l.valid_from().as_deref());
            let until = parse_day(l.valid_until.as_deref());
            match (from, until) {
                (_, Some(u)) if u < today => "expired",
                (Some(f), _) if f > today => "not_yet_valid",
                (_, Some(u)) if (u - today).num_days() <= window => "expiring",
                _ => "issued",
            }
        }
        _ => "unknown",
    }
}

fn condition_label(lang: Lang, k: ConditionKind) -> &'static str {
    match k {
        ConditionKind::InternalControl => lang.t("내부통제", "Internal control"),
        ConditionKind::CertifiedServicesOnly => {
            lang.t("인증 서비스만 이용", "Certified services only")
        }
        ConditionKind::ReportingDuty => lang.t("보고 의무", "Reporting duty"),
        ConditionKind::SupplementarySecurity => lang.t("보완 보안대책", "Supplementary security"),
        ConditionKind::Other => lang.t("기타", "Other"),
    }
}

fn phase_label(st: &AppState, lang: Lang, phase_id: Option<&str>) -> String {
    let Some(id) = phase_id else {
        return "—".into();
    };
    st.svc
        .policy()
        .phases
        .iter()
        .find(|p| p.id == id)
        .map(|p| lang.t(&p.label_ko, &p.label_en).to_string())
        .unwrap_or_else(|| id.to_string())
}

// ================================================================================ list

const STATUS_FILTERS: [&str; 6] = [
    "issued",
    "expiring",
    "expired",
    "not_yet_valid",
    "revoked",
    "draft",
];

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    lang: String,
}

async fn list(State(st): State<AppState>, p: Portal, Query(q): Query<ListQuery>) -> Response {
    let letters = match st.svc.list_letters(&p.actor).await {
        Ok(l) => l,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let today = st.svc.today();
    let window = expiry_window(&st);
    let page = q
        .page
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .unwrap_or(1);
    let status = STATUS_FILTERS
        .iter()
        .copied()
        .find(|s| *s == q.status)
        .unwrap_or("");
    let needle = q.q.trim().to_lowercase();
    let matching: Vec<&LetterRow> = letters
        .iter()
        .filter(|l| status.is_empty() || letter_status(l, today, window) == status)
        .filter(|l| {
            needle.is_empty()
                || l.institution_name.to_lowercase().contains(&needle)
                || l.letter_number
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase().contains(&needle))
        })
        .collect();
    let start = (page as usize - 1) * PER_PAGE as usize;
    let shown: Vec<&LetterRow> = matching
        .iter()
        .skip(start)
        .take(PER_PAGE as usize)
        .copied()
        .collect();
    let has_next = matching.len() > start + shown.len();
    let mut params = Vec::new();
    for (k, v) in [
        ("q", q.q.trim()),
        ("status", status),
        ("lang", q.lang.as_str()),
    ] {
        if !v.is_empty() {
            params.push(format!("{k}={}", url_encode(v)));
        }
    }
    let base = if params.is_empty() {
        "/letters".to_string()
    } else {
        format!("/letters?{}", params.join("&"))
    };
    let institution_user = p.actor.role.is_institution_role();
    let title = p.t("비조치의견서", "No-action letters");
    let body = html! {
        h1 { (title) }
        @if institution_user {
            p class="muted" { (p.t("우리 기관에 발급된 비조치의견서입니다.", "The no-action letters issued to your institution.")) }
        }
        form method="get" action="/letters" class="filters" role="search" aria-label=(p.t("의견서 검색", "Search letters")) {
            @if !q.lang.is_empty() { input type="hidden" name="lang" value=(q.lang); }
            (control(p.t("번호 또는 기관명", "Number or holder"), "q", &[], html! {
                input type="search" id="q" name="q" value=(q.q);
            }))
            (control(p.t("상태", "Status"), "status", &[], html! {
                select id="status" name="status" {
                    option value="" selected[status.is_empty()] { (p.t("전체", "All")) }
                    @for s in STATUS_FILTERS {
                        @if !(institution_user && s == "draft") {
                            option value=(s) selected[status == s] { (state_label(lang, s)) }
                        }
                    }
                }
            }))
            button type="submit" class="primary" { (p.t("검색", "Search")) }
            a href="/letters" { (p.t("조건 지우기", "Clear filters")) }
        }
        @if shown.is_empty() {
            p class="alert warn" { (p.t("해당하는 비조치의견서가 없습니다.", "No letter matches.")) }
        } @else {
            div class="table-wrap" {
                table {
                    caption class="visually-hidden" { (title) }
                    thead { tr {
                        th scope="col" { (p.t("의견서 번호", "Letter number")) }
                        th scope="col" { (p.t("대상 기관", "Holder")) }
                        th scope="col" { (p.t("단계", "Phase")) }
                        th scope="col" { (p.t("발급일", "Issued")) }
                        th scope="col" { (p.t("유효기간 종료", "Valid until")) }
                        th scope="col" { (p.t("상태", "Status")) }
                    } }
                    tbody {
                        @for l in &shown {
                            tr {
                                td { a href={ "/letters/" (l.id) } {
                                    @match &l.letter_number { Some(n) => { (n) }, None => { (p.t("(번호 미부여 초안)", "(draft, no number yet)")) } }
                                } }
                                td { (l.institution_name) }
                                td { (phase_label(&st, lang, l.phase_id.as_deref())) }
                                td { (l.issued_on.as_deref().map(day).unwrap_or_else(|| "—".into())) }
                                td { (l.valid_until.as_deref().map(day).unwrap_or_else(|| "—".into())) }
                                td { (letter_badge(lang, letter_status(l, today, window))) }
                            }
                        }
                    }
                }
            }
        }
        (pager(lang, &base, page, has_next))
        p class="small muted" {
            (p.t("발급된 의견서의 진위는 누구나 ", "Anyone can check an issued letter at "))
            a href="/verify" { "/verify" }
            (p.t("에서 확인할 수 있습니다.", "."))
        }
    };
    p.page(title, body)
}

// ================================================================================ detail

fn printed(lang: Lang, l: &NoActionLetter, draft: bool) -> Markup {
    // Korean is the authoritative text; both languages are always printed, the page's first.
    let both = |ko: &str, en: &str| -> Markup {
        html! {
            @match lang {
                Lang::Ko => { span lang="ko" { (ko) } br; span class="small muted" lang="en" { (en) } },
                Lang::En => { span lang="en" { (en) } br; span class="small muted" lang="ko" { (ko) } },
            }
        }
    };
    html! {
        article class="panel letter" aria-labelledby="letter-title" {
            h2 id="letter-title" class="letter-title" {
                "비조치의견서" br; span class="small" { "No-Action Letter" }
            }
            @if draft {
                p class="alert warn" { (lang.t(
                    "서명 전 초안입니다. 번호는 발급할 때 부여되며 아래 날짜는 오늘 발급한다고 가정한 것입니다.",
                    "Unsigned draft. The number is assigned at issue; the dates assume it were issued today.",
                )) }
            }
            dl class="facts" {
                dt { (lang.t("의견서 번호", "Letter number")) } dd { code { (l.letter_number) } }
                dt { (lang.t("발급 기관", "Issuer")) } dd { (both(&l.issuer.name.ko, &l.issuer.name.en)) }
                dt { (lang.t("대상 기관", "Holder")) } dd { (both(&l.holder.name.ko, &l.holder.name.en)) }
                dt { (lang.t("발급일", "Issued on")) } dd { (l.issued_on) }
                dt { (lang.t("유효기간", "Validity")) } dd { (l.valid_from) " – " (l.valid_until) }
                @if let Some(r) = &l.renews {
                    dt { (lang.t("갱신 대상", "Renews")) } dd { code { (r) } }
                }
                dt { (lang.t("정책 버전", "Policy version")) } dd { (l.policy_version) }
            }
            h3 { (lang.t("허용 범위", "Permitted scope")) }
            @if l.scope.services.is_empty() {
                p class="muted" { "—" }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr {
                            th scope="col" { (lang.t("구분", "Kind")) }
                            th scope="col" { (lang.t("서비스", "Service")) }
                            th scope="col" { (lang.t("제공자", "Vendor")) }
                            th scope="col" { (lang.t("인증", "Certifications")) }
                            th scope="col" { (lang.t("허용 데이터 등급", "Data classes")) }
                        } }
                        tbody {
                            @for s in &l.scope.services {
                                @let k = s.kind.label();
                                tr {
                                    td { (lang.t(&k.ko, &k.en)) }
                                    td { (s.name) }
                                    td { (s.vendor) }
                                    td { (s.certifications.join(", ")) }
                                    td { (s.data_classes.join(", ")) }
                                }
                            }
                        }
                    }
                }
            }
            h3 { (lang.t("조건", "Conditions")) }
            ol {
                @for c in &l.conditions {
                    li { strong { (condition_label(lang, c.kind)) } ": " (both(&c.text.ko, &c.text.en)) }
                }
            }
            h3 { (lang.t("보고 일정", "Reporting schedule")) }
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" { (lang.t("구분", "Kind")) }
                        th scope="col" { (lang.t("대상 기간", "Period")) }
                        th scope="col" { (lang.t("제출 기한", "Due on")) }
                    } }
                    tbody {
                        @for r in &l.reporting {
                            @let k = r.kind.label();
                            tr {
                                td { (lang.t(&k.ko, &k.en)) }
                                td { (r.period_start) " – " (r.period_end) }
                                td { (r.due_on) }
                            }
                        }
                    }
                }
            }
            h3 { (lang.t("근거", "Legal basis")) }
            p { (both(&l.legal_basis.ko, &l.legal_basis.en)) }
        }
    }
}

/// The obligations of a letter; `reported` are those with a report (each links to it), and a
/// fulfilled self-evaluation links to the SaaS entry whose evaluation fulfilled it.
fn obligations_table(p: &Portal, obligations: &[ObligationView], reported: &[i64]) -> Markup {
    let lang = p.lang;
    html! {
        @if obligations.is_empty() {
            p class="muted" { (p.t("아직 의무가 없습니다(발급 시 생성됩니다).", "No obligations yet (they are created at issue).")) }
        } @else {
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" { (p.t("의무", "Obligation")) }
                        th scope="col" class="num" { (p.t("회차", "No.")) }
                        th scope="col" { (p.t("대상 기간", "Period")) }
                        th scope="col" { (p.t("기한", "Due on")) }
                        th scope="col" { (p.t("상태", "State")) }
                        th scope="col" { (p.t("제출", "Submitted")) }
                        th scope="col" { (p.t("처리", "Decided")) }
                        th scope="col" { (p.t("메모", "Note")) }
                    } }
                    tbody {
                        @for o in obligations {
                            tr {
                                td {
                                    @if reported.contains(&o.row.id) {
                                        a href={ "/reports/" (o.row.id) } { (obligation_kind_label(lang, &o.row.kind)) }
                                    } @else {
                                        (obligation_kind_label(lang, &o.row.kind))
                                    }
                                }
                                td class="num" { (o.row.sequence) }
                                td { (day(&o.row.period_start)) " – " (day(&o.row.period_end)) }
                                td { (day(&o.row.due_on)) }
                                td { (obligation_badges(lang, o)) }
                                td { (o.row.submitted_at.as_deref().map(day).unwrap_or_else(|| "—".into())) }
                                td { (o.row.decided_at.as_deref().map(day).unwrap_or_else(|| "—".into())) }
                                td {
                                    (o.row.note.as_deref().unwrap_or(""))
                                    @if let Some(saas) = o.row.saas_id {
                                        @if o.row.note.is_some() { " " }
                                        a href={ "/saas/" (saas) } { (p.t("자체 점검 기록", "The self-evaluation")) }
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

#[derive(Deserialize, Default)]
pub struct DetailQuery {
    #[serde(default)]
    done: String,
}

async fn detail(
    State(st): State<AppState>,
    p: Portal,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(e) => return p.error(e),
    };
    render_detail(&st, &p, id, &q.done, None)
        .await
        .unwrap_or_else(|e| p.error(e))
}

/// What an action on the letter answered, to show next to its form (which stays open).
struct Failure {
    action: &'static str,
    status: StatusCode,
    /// The message of the form as a whole.
    message: Option<String>,
    /// Field messages, already in the page's language.
    fields: Vec<FieldError>,
    /// What the user typed, shown again.
    text: String,
}

/// The outcome of an action in the page's language: field errors next to their field, a rule
/// refusal in one sentence. Unknown refusals keep the service's words after a localised lead.
fn failure(
    p: &Portal,
    action: &'static str,
    e: ServiceError,
    text: &str,
    renewal_opens: Option<NaiveDate>,
    window: u32,
) -> Result<Failure, ServiceError> {
    let mut fields = Vec::new();
    let mut message = None;
    match &e {
        ServiceError::NotFound
        | ServiceError::Forbidden(_)
        | ServiceError::Unauthenticated
        | ServiceError::Store(_) => return Err(e),
        _ if !e.field_errors().is_empty() => {
            for f in e.field_errors() {
                let msg = match f.field.as_str() {
                    "reason" => p.t("취소 사유를 5자 이상 적으십시오. 사유는 기관에 통지되고 진위 확인 결과에 표시됩니다.", "Give the reason for revoking, at least 5 characters. It is sent to the holder and shown by verification."),
                    "note" => p.t("넘기는 사유를 적으십시오.", "Say why the holder is handed over."),
                    _ => p.t("입력을 확인하십시오.", "Check this field."),
                };
                fields.push(FieldError::new(f.field.clone(), msg));
            }
        }
        _ => {
            message = Some(match e.code() {
                "renewal_not_open" => match renewal_opens {
                    Some(d) => match p.lang {
                        Lang::Ko => format!("아직 갱신할 수 없습니다. 갱신은 만료 {window}일 전인 {d}부터 가능합니다."),
                        Lang::En => format!("Renewal is not open yet: it opens {window} days before expiry, on {d}."),
                    },
                    None => p.t("아직 갱신할 수 없습니다.", "Renewal is not open yet.").to_string(),
                },
                "already_renewed" => p.t("이 의견서의 갱신본이 이미 있습니다.", "This letter already has a renewal.").to_string(),
                "illegal_transition" => p.t("의견서의 현재 상태에서는 할 수 없는 작업입니다. 페이지를 새로 고쳐 상태를 확인하십시오.", "The letter's current state does not allow this. Reload the page to see its state.").to_string(),
                "no_signing_key" => p.t("이 서버에 의견서 서명 키가 설정되어 있지 않아 발급할 수 없습니다. 관리자에게 문의하십시오.", "This server has no letter-signing key configured, so it cannot issue. Ask the administrator.").to_string(),
                "conflict" => p.t("이 기관은 이미 완전 해제 검토 대상으로 넘겨졌습니다.", "This institution was already handed over to the full-removal track.").to_string(),
                _ => format!("{} ({})", p.t("요청을 처리할 수 없습니다", "The request could not be completed"), e),
            });
        }
    }
    Ok(Failure {
        action,
        status: crate::error::status_of(&e),
        message,
        fields,
        text: text.to_string(),
    })
}

/// The letter's public verification address, from the address this request came to (the PDF's
/// reader opens it from outside, so it must be absolute).
pub fn verify_url(st: &AppState, headers: &HeaderMap, number: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("localhost");
    let scheme = if st.secure_cookies { "https" } else { "http" };
    format!("{scheme}://{host}/verify?number={}", url_encode(number))
}

async fn render_detail(
    st: &AppState,
    p: &Portal,
    id: i64,
    done: &str,
    failed: Option<Failure>,
) -> Result<Response, ServiceError> {
    let row = st.svc.get_letter(&p.actor, id).await?;
    let content = match st.svc.letter_content(&p.actor, id).await {
        Ok(c) => Some(c),
        // A draft of a holder that can no longer be composed still shows its register entry.
        Err(ServiceError::Rule { .. }) => None,
        Err(e) => return Err(e),
    };
    let obligations = st.svc.obligations(&p.actor, Some(id)).await?;
    let reported = st.svc.reported_obligations(&p.actor, id).await?;
    let manage = p.may(Action::ManageLetters);
    let renewal = if manage {
        st.svc
            .list_letters(&p.actor)
            .await?
            .into_iter()
            .find(|l| l.renews_letter_id == Some(id))
    } else {
        None
    };
    let handed_over = if p.may(Action::ReadProgram) {
        st.svc.hand_over_of(&p.actor, id).await?
    } else {
        None
    };
    let policy = st.svc.policy();
    let renewal_opens = haechi_service::letters::renewal_opens_on(&policy, &row);
    let lang = p.lang;
    let today = st.svc.today();
    let status = letter_status(&row, today, expiry_window(st));
    let title = match &row.letter_number {
        Some(n) => format!("{} {n}", p.t("비조치의견서", "No-action letter")),
        None => format!(
            "{} ({})",
            p.t("비조치의견서", "No-action letter"),
            p.t("초안", "draft")
        ),
    };
    let signed = row.signed_file.is_some();
    let notice = match done {
        "issued" => Some(p.t("의견서를 서명하여 발급했습니다. 보고 의무가 생성되고 기관에 통지되었습니다.", "The letter was signed and issued. Its reporting obligations were created and the holder notified.")),
        "revoked" => Some(p.t("의견서를 취소했습니다. 미제출 보고 의무는 취소되고 기관에 통지되었습니다.", "The letter was revoked. Its open obligations were cancelled and the holder notified.")),
        "renewed" => Some(p.t("갱신 초안을 작성했습니다. 내용을 검토한 뒤 발급하십시오.", "The renewal was drafted. Review it, then issue it.")),
        "handed_over" => Some(p.t("기관을 완전 해제 검토 대상으로 넘겼습니다.", "The holder was handed over to the full-removal track.")),
        _ => None,
    };
    let failed_for = |action: &str| failed.as_ref().filter(|f| f.action == action);
    let no_errors: Vec<FieldError> = Vec::new();
    let body = html! {
        p { a href="/letters" { "← " (p.t("비조치의견서 목록", "All letters")) } }
        h1 { (title) " " (letter_badge(lang, status)) }
        @if let Some(n) = notice {
            p class="alert ok" role="status" { (n) }
        }
        section {
            h2 { (p.t("등록부 기록", "Register entry")) }
            dl class="facts" {
                dt { (p.t("대상 기관", "Holder")) }
                dd {
                    @if p.may(Action::ReadRegistry) || p.actor.institution_id == Some(row.institution_id) {
                        a href={ "/institutions/" (row.institution_id) } { (row.institution_name) }
                    } @else { (row.institution_name) }
                }
                dt { (p.t("단계", "Phase")) } dd { (phase_label(st, lang, row.phase_id.as_deref())) }
                dt { (p.t("상태", "Status")) } dd { (letter_badge(lang, status)) }
                dt { (p.t("발급일", "Issued on")) } dd { (row.issued_on.as_deref().map(day).unwrap_or_else(|| "—".into())) }
                dt { (p.t("유효기간", "Validity")) } dd {
                    (row.valid_from().as_deref().map(day).unwrap_or_else(|| "—".into())) " – " (row.valid_until.as_deref().map(day).unwrap_or_else(|| "—".into()))
                }
                @if let Some(on) = &row.revoked_on {
                    dt { (p.t("취소일", "Revoked on")) } dd { (day(on)) }
                    dt { (p.t("취소 사유", "Reason")) } dd class="revoked-reason" { (row.revoked_reason.as_deref().unwrap_or("—")) }
                    dt { (p.t("취소자", "Revoked by")) } dd { (row.revoked_by.as_deref().unwrap_or("—")) }
                }
                @if let Some(r) = &renewal {
                    dt { (p.t("갱신본", "Renewal")) }
                    dd { a href={ "/letters/" (r.id) } { @match &r.letter_number { Some(n) => { (n) }, None => { (p.t("갱신 초안", "renewal draft")) } } } }
                }
                @if let Some((note, at)) = &handed_over {
                    dt { (p.t("완전 해제 검토", "Full-removal track")) }
                    dd { (moment(at)) " · " (note) }
                }
                @if let Some(k) = &row.key_id {
                    dt { (p.t("서명 키", "Signing key")) } dd { code { (k) } }
                }
                @if let Some(h) = &row.content_sha256 {
                    dt { "SHA-256" } dd { code class="small" { (h) } }
                }
                dt { (p.t("등록", "Created")) } dd { (moment(&row.created_at)) }
            }
            @if signed {
                div class="actions" {
                    a class="button primary" href={ "/letters/" (row.id) "/pdf" } { (p.t("PDF 내려받기", "Download PDF")) }
                    a class="button" href={ "/letters/" (row.id) "/print" } { (p.t("인쇄용 보기", "Print view")) }
                    a class="button" href={ "/letters/" (row.id) "/file" } download { (p.t("서명된 파일(JSON)", "Signed file (JSON)")) }
                    @if let Some(n) = &row.letter_number {
                        a class="button" href={ "/verify?number=" (url_encode(n)) @if lang == Lang::En { "&lang=en" } } { (p.t("진위 확인", "Verify")) }
                    }
                }
                p class="small muted" { (p.t(
                    "취소 여부는 등록부에 기록되며 파일에는 들어 있지 않습니다. 오프라인 확인은 서명과 날짜만 검사합니다.",
                    "Revocation lives in this register, not in the file: an offline check verifies the signature and dates only.",
                )) }
            }
        }
        @if manage && (row.state == "draft" || row.state == "issued") {
            section class="letter-actions" aria-labelledby="letter-actions" {
                h2 id="letter-actions" { (p.t("처리", "Actions")) }
                @if row.state == "draft" {
                    @let f = failed_for("issue");
                    details class="confirm" id="issue" open[f.is_some()] {
                        summary class="button primary" { (p.t("발급…", "Issue…")) }
                        form method="post" action={ "/letters/" (row.id) "/issue" } class="stack" {
                            (p.csrf_field())
                            p { (p.t(
                                "이 초안에 금융위원회 키로 서명하여 발급합니다. 번호가 부여되고, 보고 의무가 생성되며, 기관에 통지됩니다. 발급 후에는 내용을 고칠 수 없습니다.",
                                "This signs the draft with the regulator's key and issues it: a number is assigned, the reporting obligations are created and the holder is notified. An issued letter cannot be edited.",
                            )) }
                            @if let Some(m) = f.and_then(|f| f.message.as_deref()) { p class="alert error" role="alert" { (m) } }
                            div class="actions" { button type="submit" class="primary" { (p.t("서명하여 발급", "Sign and issue")) } }
                        }
                    }
                }
                @if row.state == "issued" {
                    @let f = failed_for("revoke");
                    details class="confirm" id="revoke" open[f.is_some()] {
                        summary class="button danger" { (p.t("취소…", "Revoke…")) }
                        form method="post" action={ "/letters/" (row.id) "/revoke" } class="stack" {
                            (p.csrf_field())
                            p { (p.t(
                                "의견서를 취소하면 진위 확인에서 \"취소됨\"으로 나오고, 미제출 보고 의무가 취소되며, 기관에 사유와 함께 통지됩니다. 되돌릴 수 없습니다.",
                                "Revoking makes verification answer \"revoked\", cancels the open obligations and notifies the holder with the reason. It cannot be undone.",
                            )) }
                            @if let Some(m) = f.and_then(|f| f.message.as_deref()) { p class="alert error" role="alert" { (m) } }
                            (control(p.t("취소 사유 (필수)", "Reason (required)"), "reason", f.map_or(&no_errors, |f| &f.fields), html! {
                                textarea id="reason" name="reason" rows="3" required minlength="5" aria-describedby="reason-error" { (f.map_or("", |f| f.text.as_str())) }
                            }))
                            div class="actions" { button type="submit" class="danger" { (p.t("취소 확정", "Revoke the letter")) } }
                        }
                    }
                    @if renewal.is_none() {
                        @let f = failed_for("renew");
                        details class="confirm" id="renew" open[f.is_some()] {
                            summary class="button" { (p.t("갱신…", "Renew…")) }
                            form method="post" action={ "/letters/" (row.id) "/renew" } class="stack" {
                                (p.csrf_field())
                                p { (p.t(
                                    "같은 기관과 범위로 갱신 초안을 작성합니다. 갱신본은 이 의견서가 끝난 다음 날부터 유효하며, 검토 후 따로 발급합니다.",
                                    "This drafts a renewal for the same holder and scope. The renewal is valid from the day after this letter ends; you issue it after review.",
                                )) }
                                @if let Some(d) = renewal_opens {
                                    p class="small muted" {
                                        (p.t("갱신 가능 시작일: ", "Renewal opens on: ")) (d)
                                        (p.t(" (만료 ", " (")) (policy.program.renewal_window_days) (p.t("일 전)", " days before expiry)"))
                                    }
                                }
                                @if let Some(m) = f.and_then(|f| f.message.as_deref()) { p class="alert error" role="alert" { (m) } }
                                div class="actions" { button type="submit" class="primary" { (p.t("갱신 초안 작성", "Draft the renewal")) } }
                            }
                        }
                    }
                    @if handed_over.is_none() {
                        @let f = failed_for("hand_over");
                        details class="confirm" id="hand-over" open[f.is_some()] {
                            summary class="button" { (p.t("완전 해제 검토로 넘기기…", "Hand over to full removal…")) }
                            form method="post" action={ "/letters/" (row.id) "/hand-over" } class="stack" {
                                (p.csrf_field())
                                p { (p.t(
                                    "이 기관을 망분리 규제 완전 해제 검토 대상 목록에 올립니다. 의견서는 그대로 유효합니다.",
                                    "This puts the holder on the list of candidates for full removal of the network-separation rule. The letter stays in force.",
                                )) }
                                @if let Some(m) = f.and_then(|f| f.message.as_deref()) { p class="alert error" role="alert" { (m) } }
                                (control(p.t("사유 (필수)", "Reason (required)"), "note", f.map_or(&no_errors, |f| &f.fields), html! {
                                    textarea id="note" name="note" rows="2" required aria-describedby="note-error" { (f.map_or("", |f| f.text.as_str())) }
                                }))
                                div class="actions" { button type="submit" class="primary" { (p.t("넘기기 확정", "Hand over")) } }
                            }
                        }
                    }
                }
            }
        }
        @match &content {
            Some(c) => { (printed(lang, c, !signed)) },
            None => {
                p class="alert warn" role="status" { (p.t("의견서 내용을 지금 구성할 수 없습니다.", "The letter's content cannot be composed right now.")) }
            },
        }
        section {
            h2 { (p.t("보고 의무", "Reporting obligations")) }
            (obligations_table(p, &obligations, &reported))
        }
    };
    let status = failed.as_ref().map_or(StatusCode::OK, |f| f.status);
    Ok(p.page_with(status, &title, body))
}

// ================================================================================ actions

#[derive(Deserialize, Default)]
pub struct ActionForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
}

/// An officer's action on a letter; its name is the form's (and the `<details>`') id.
#[derive(Clone, Copy)]
enum Step {
    Issue,
    Revoke,
    Renew,
    HandOver,
}

/// Runs an action through the service and answers the letter's page: a redirect with a notice
/// when it worked, or the page again with the refusal next to the action's form.
async fn act(st: &AppState, f: CsrfForm<ActionForm>, id: &str, step: Step) -> Response {
    let p = f.portal;
    let Ok(id) = parse_id(id) else {
        return p.error(ServiceError::NotFound);
    };
    let svc = &st.svc;
    let (action, text, outcome) = match step {
        Step::Issue => (
            "issue",
            "",
            svc.issue_letter(&p.actor, id)
                .await
                .map(|l| (l.id, "issued")),
        ),
        Step::Revoke => (
            "revoke",
            f.form.reason.as_str(),
            svc.revoke_letter(&p.actor, id, &f.form.reason)
                .await
                .map(|l| (l.id, "revoked")),
        ),
        Step::Renew => (
            "renew",
            "",
            svc.renew_letter(&p.actor, id)
                .await
                .map(|l| (l.id, "renewed")),
        ),
        Step::HandOver => (
            "hand_over",
            f.form.note.as_str(),
            svc.hand_over_to_full_removal(&p.actor, id, &f.form.note)
                .await
                .map(|()| (id, "handed_over")),
        ),
    };
    let e = match outcome {
        Ok((target, done)) => {
            return Redirect::to(&format!("/letters/{target}?done={done}")).into_response()
        }
        Err(e) => e,
    };
    let policy = svc.policy();
    let opens = match svc.get_letter(&p.actor, id).await {
        Ok(row) => haechi_service::letters::renewal_opens_on(&policy, &row),
        Err(_) => None,
    };
    let window = policy.program.renewal_window_days;
    match failure(&p, action, e, text, opens, window) {
        Ok(failed) => render_detail(st, &p, id, "", Some(failed))
            .await
            .unwrap_or_else(|e| p.error(e)),
        Err(e) => p.error(e),
    }
}

async fn issue(st: State<AppState>, Path(id): Path<String>, f: CsrfForm<ActionForm>) -> Response {
    act(&st, f, &id, Step::Issue).await
}

async fn revoke(st: State<AppState>, Path(id): Path<String>, f: CsrfForm<ActionForm>) -> Response {
    act(&st, f, &id, Step::Revoke).await
}

async fn renew(st: State<AppState>, Path(id): Path<String>, f: CsrfForm<ActionForm>) -> Response {
    act(&st, f, &id, Step::Renew).await
}

async fn hand_over(
    st: State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<ActionForm>,
) -> Response {
    act(&st, f, &id, Step::HandOver).await
}

// ================================================================================ downloads

async fn file(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(i) => i,
        Err(e) => return p.error(e),
    };
    match st.svc.signed_letter(&p.actor, id).await {
        Ok((row, _, file)) => (
            [
                (header::CONTENT_TYPE, "application/json".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"{}.json\"",
                        row.letter_number.unwrap_or_default()
                    ),
                ),
            ],
            file,
        )
            .into_response(),
        Err(e) => p.error(e),
    }
}

/// The signed letter the user may see, with its verification address, for the PDF and the print
/// page.
async fn signed_for_print(
    st: &AppState,
    p: &Portal,
    headers: &HeaderMap,
    id: &str,
) -> Result<(LetterRow, haechi_letter::SignedLetter, String), ServiceError> {
    let (row, signed, _) = st.svc.signed_letter(&p.actor, parse_id(id)?).await?;
    let url = verify_url(st, headers, &signed.letter.letter_number);
    Ok((row, signed, url))
}

async fn pdf(
    State(st): State<AppState>,
    p: Portal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (row, signed, url) = match signed_for_print(&st, &p, &headers, &id).await {
        Ok(s) => s,
        Err(e) => return p.error(e),
    };
    let options = haechi_letter::PdfOptions {
        verify_url: Some(&url),
    };
    match haechi_letter::render_pdf_with(&signed, &options) {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "inline; filename=\"{}.pdf\"",
                        row.letter_number.unwrap_or_default()
                    ),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => p.error(ServiceError::rule("render_failed", e.to_string())),
    }
}

/// The signed letter as the letter crate prints it (A4, both languages, the page's first), with
/// its verification address and QR code; the stylesheet is linked, as the portal's
/// Content-Security-Policy allows no inline style.
async fn print(
    State(st): State<AppState>,
    p: Portal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (_, signed, url) = match signed_for_print(&st, &p, &headers, &id).await {
        Ok(s) => s,
        Err(e) => return p.error(e),
    };
    let lang = match p.lang {
        Lang::Ko => haechi_letter::Lang::Ko,
        Lang::En => haechi_letter::Lang::En,
    };
    let page = haechi_letter::render_html_with(
        &signed.letter,
        Some(&signed.signature),
        lang,
        &haechi_letter::HtmlOptions {
            stylesheet: Some("/assets/letter-print.css"),
            verify_url: Some(&url),
        },
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

async fn print_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        haechi_letter::print_css(),
    )
        .into_response()
}
