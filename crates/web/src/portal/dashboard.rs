//! The start page: what each role works on first.
//!
//! - Regulator side and auditor (`ReadProgram`): applications by state, phase progress, the phase
//!   timeline chart (phases, cohorts, each letter's validity, today), letters about to expire and
//!   overdue obligations.
//! - Institution users: their institution's application, letter and upcoming report obligations.
//! - Advisors: how many assigned applications wait for them.
//!
//! Every figure comes from a service use case, which decides what the user may see.

use axum::extract::State;
use axum::response::Response;
use chrono::{Datelike, Months, NaiveDate};
use haechi_core::{ApplicationState, Role};
use haechi_service::regulator_views::{LetterSpan, PhaseOverview, ProgramOverview};
use haechi_service::{Action, Dashboard};
use haechi_store::ApplicationFilter;
use maud::{html, Markup};

use super::letters::{
    expiry_window, letter_badge, letter_status, obligation_badges, obligation_kind_label,
};
use super::registry::{day, inst_name, thousands};
use super::{role_name, Lang, PageRoute, Portal};
use crate::{page_get, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![page_get!("/", home)]
}

async fn home(State(st): State<AppState>, p: Portal) -> Response {
    if p.may(Action::ReadProgram) {
        regulator(&st, &p).await
    } else if p.actor.role.is_institution_role() {
        institution(&st, &p).await
    } else if p.actor.role == Role::Advisor {
        advisor(&st, &p).await
    } else {
        let body = html! {
            h1 { (p.t("대시보드", "Dashboard")) }
            p { (p.display_name) " · " (role_name(p.lang, p.actor.role)) }
        };
        p.page(p.t("대시보드", "Dashboard"), body)
    }
}

/// The label of an application state, in both languages.
pub fn state_label(lang: Lang, s: ApplicationState) -> &'static str {
    match s {
        ApplicationState::Draft => lang.t("작성 중", "Draft"),
        ApplicationState::Submitted => lang.t("제출됨", "Submitted"),
        ApplicationState::Screening => lang.t("자격 심사", "Screening"),
        ApplicationState::UnderReview => lang.t("전문가 평가 중", "Under review"),
        ApplicationState::Evaluated => lang.t("평가 완료", "Evaluated"),
        ApplicationState::Approved => lang.t("승인", "Approved"),
        ApplicationState::Rejected => lang.t("반려(거절)", "Rejected"),
        ApplicationState::Withdrawn => lang.t("철회", "Withdrawn"),
    }
}

fn card(figure: impl maud::Render, label: &str) -> Markup {
    html! {
        li class="card" { span class="figure" { (figure) } span class="label" { (label) } }
    }
}

/// Where a phase stands today.
fn phase_status(lang: Lang, ph: &PhaseOverview, today: NaiveDate) -> Markup {
    html! {
        @if ph.members.is_some() {
            span class="badge ok" { (lang.t("확정", "Confirmed")) }
        } @else if today < ph.start {
            span class="badge" { (lang.t("예정", "Upcoming")) }
        } @else if today <= ph.end {
            span class="badge warn" { (lang.t("진행 중", "In progress")) }
        } @else {
            span class="badge bad" { (lang.t("미확정 종료", "Ended unconfirmed")) }
        }
    }
}

fn capacity(lang: Lang, ph: &PhaseOverview) -> String {
    match ph.max {
        Some(max) => format!("{}–{}", ph.min, max),
        None => format!("{}+ ({})", ph.min, lang.t("잔여 전원", "all remaining")),
    }
}

// ================================================================================ regulator

async fn regulator(st: &AppState, p: &Portal) -> Response {
    let counts: Dashboard = match st.svc.dashboard(&p.actor).await {
        Ok(d) => d,
        Err(e) => return p.error(e),
    };
    let window = expiry_window(st);
    let mut ov: ProgramOverview = match st.svc.program_overview(&p.actor, window).await {
        Ok(o) => o,
        Err(e) => return p.error(e),
    };
    // The overview names institutions in Korean; English pages take the registry's English.
    if p.lang == Lang::En {
        let names = super::institution_names(st, p).await;
        for l in ov.letters.iter_mut().chain(ov.expiring.iter_mut()) {
            l.institution_name =
                super::institution_label(p.lang, &names, l.institution_id, &l.institution_name);
        }
        for o in ov.overdue.iter_mut() {
            o.institution_name =
                super::institution_label(p.lang, &names, o.institution_id, &o.institution_name);
        }
    }
    let lang = p.lang;
    let read_letters = p.may(Action::ReadLetters);
    let read_registry = p.may(Action::ReadRegistry);
    // Compliance flags (overdue reports, SaaS a letter does not permit), for roles that read
    // letters; the others see no section.
    let mut flags = st.svc.compliance_flags(&p.actor).await.ok();
    if let (Lang::En, Some(flags)) = (p.lang, flags.as_mut()) {
        let names = super::institution_names(st, p).await;
        for f in flags.iter_mut() {
            f.institution_name =
                super::institution_label(p.lang, &names, f.institution_id, &f.institution_name);
        }
    }
    let applications: i64 = counts.applications_by_state.iter().map(|(_, n)| n).sum();
    let count_of = |s: ApplicationState| {
        counts
            .applications_by_state
            .iter()
            .find(|(k, _)| k == s.as_str())
            .map_or(0, |(_, n)| *n)
    };
    let valid_letters = ov
        .letters
        .iter()
        .filter(|l| l.state == "issued" && l.valid_until >= ov.today && l.issued_on <= ov.today)
        .count();
    let title = p.t("대시보드", "Dashboard");
    let body = html! {
        h1 { (p.t("규제특례 운영 현황", "Program dashboard")) }
        p class="muted" {
            (p.t("기준일 ", "As of ")) (ov.today) " · "
            (p.t("정책 버전 ", "policy version ")) (ov.policy_version)
            " · " (p.display_name) " (" (role_name(lang, p.actor.role)) ")"
        }
        ul class="cards" aria-label=(p.t("주요 수치", "Key figures")) {
            (card(thousands(counts.institutions as i64), p.t("등록 기관", "Institutions registered")))
            (card(thousands(counts.eligible as i64), p.t("적격 기관", "Eligible institutions")))
            (card(thousands(applications), p.t("신청", "Applications")))
            (card(valid_letters, p.t("유효한 비조치의견서", "Letters in force")))
            (card(ov.draft_letters, p.t("발급 대기 초안", "Drafts awaiting issue")))
            (card(ov.overdue.len(), p.t("기한 경과 의무", "Overdue obligations")))
        }

        section aria-labelledby="apps-h" {
            h2 id="apps-h" { (p.t("상태별 신청", "Applications by state")) }
            ul class="cards app-states" {
                @for s in ApplicationState::ALL {
                    (card(count_of(s), state_label(lang, s)))
                }
            }
            @if p.may(Action::ReadApplication) {
                p { a href="/applications" { (p.t("신청 목록 보기", "Open the applications")) " →" } }
            }
        }

        section aria-labelledby="phases-h" {
            h2 id="phases-h" { (p.t("단계별 진행", "Phase progress")) }
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" { (p.t("단계", "Phase")) }
                        th scope="col" { (p.t("기간", "Window")) }
                        th scope="col" class="num" { (p.t("계획 인원", "Planned")) }
                        th scope="col" { (p.t("확정일", "Confirmed on")) }
                        th scope="col" class="num" { (p.t("확정 인원", "Confirmed members")) }
                        th scope="col" class="num" { (p.t("발급 의견서", "Letters issued")) }
                        th scope="col" { (p.t("상태", "Status")) }
                    } }
                    tbody {
                        @for ph in &ov.phases {
                            tr {
                                th scope="row" { (lang.t(&ph.label_ko, &ph.label_en)) }
                                td { (ph.start) " – " (ph.end) }
                                td class="num" { (capacity(lang, ph)) }
                                td { (ph.confirmed_on.map(|d| d.to_string()).unwrap_or_else(|| "—".into())) }
                                td class="num" { (ph.members.map(|m| m.to_string()).unwrap_or_else(|| "—".into())) }
                                td class="num" { (ph.letters_issued) }
                                td { (phase_status(lang, ph, ov.today)) }
                            }
                        }
                    }
                }
            }
            @if p.may(Action::PlanCohorts) {
                p { a href="/cohorts" { (p.t("단계별 대상 확정하기", "Plan and confirm cohorts")) " →" } }
            }
        }

        section aria-labelledby="timeline-h" {
            h2 id="timeline-h" { (p.t("단계별 일정과 의견서 유효기간", "Phase timeline and letter validity")) }
            (timeline(lang, &ov))
        }

        section aria-labelledby="expiring-h" {
            h2 id="expiring-h" { (p.t("만료 예정 의견서", "Letters expiring soon")) " (" (window) (p.t("일 이내", " days")) ")" }
            @if ov.expiring.is_empty() {
                p class="muted" { (p.t("기간 내에 만료되는 의견서가 없습니다.", "No letter expires within this window.")) }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr {
                            th scope="col" { (p.t("의견서 번호", "Letter number")) }
                            th scope="col" { (p.t("대상 기관", "Holder")) }
                            th scope="col" { (p.t("유효기간 종료", "Valid until")) }
                            th scope="col" class="num" { (p.t("남은 일수", "Days left")) }
                        } }
                        tbody {
                            @for l in &ov.expiring {
                                tr {
                                    td {
                                        @if read_letters { a href={ "/letters/" (l.letter_id) } { (l.letter_number) } }
                                        @else { (l.letter_number) }
                                    }
                                    td { (l.institution_name) }
                                    td { (l.valid_until) }
                                    td class="num" { ((l.valid_until - ov.today).num_days()) }
                                }
                            }
                        }
                    }
                }
            }
        }

        section aria-labelledby="overdue-h" {
            h2 id="overdue-h" { (p.t("기한이 지난 보고 의무", "Overdue obligations")) }
            @if ov.overdue.is_empty() {
                p class="muted" { (p.t("기한이 지난 미제출 의무가 없습니다.", "No obligation is overdue.")) }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr {
                            th scope="col" { (p.t("기관", "Institution")) }
                            th scope="col" { (p.t("의견서", "Letter")) }
                            th scope="col" { (p.t("의무", "Obligation")) }
                            th scope="col" { (p.t("기한", "Due on")) }
                            th scope="col" class="num" { (p.t("경과 일수", "Days overdue")) }
                        } }
                        tbody {
                            @for o in &ov.overdue {
                                tr {
                                    td {
                                        @if read_registry { a href={ "/institutions/" (o.institution_id) } { (o.institution_name) } } @else { (o.institution_name) }
                                    }
                                    td {
                                        @let n = o.letter_number.as_deref().unwrap_or("—");
                                        @if read_letters { a href={ "/letters/" (o.letter_id) } { (n) } } @else { (n) }
                                    }
                                    td { (obligation_kind_label(lang, &o.kind)) }
                                    td { (day(&o.due_on)) }
                                    td class="num" {
                                        (NaiveDate::parse_from_str(&day(&o.due_on), "%Y-%m-%d").map(|d| (ov.today - d).num_days().to_string()).unwrap_or_default())
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(flags) = &flags {
            section aria-labelledby="flags-h" {
                h2 id="flags-h" { (p.t("규정 준수 경고", "Compliance flags")) }
                @if flags.is_empty() {
                    p class="muted" { (p.t("경고가 없습니다.", "Nothing is flagged.")) }
                } @else {
                    ul {
                        @for f in flags {
                            li {
                                a href={ "/institutions/" (f.institution_id) } { (f.institution_name) }
                                ": " (p.t(&f.reason_ko, &f.reason_en))
                            }
                        }
                    }
                }
            }
        }
    };
    p.page(title, body)
}

// ================================================================================ timeline chart

const CHART_W: f64 = 960.0;
const LABEL_W: f64 = 170.0;
const RIGHT_PAD: f64 = 16.0;
const TOP: f64 = 34.0;
const PHASE_ROW: f64 = 26.0;
const LETTER_ROW: f64 = 7.0;
const GROUP_GAP: f64 = 10.0;

const COLOR_WINDOW: &str = "#dbe4f3";
const COLOR_COHORT: &str = "#0b3d91";
const COLOR_LETTER: &str = "#1a7f37";
const COLOR_REVOKED: &str = "#b42318";
const COLOR_TODAY: &str = "#d9480f";
const COLOR_GRID: &str = "#d0d7de";
const COLOR_TEXT: &str = "#1b1f24";

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// The axis: from the first day of the month the program (or its first phase) began to the first
/// day of the month after the last phase, letter or today.
fn axis(ov: &ProgramOverview) -> (NaiveDate, NaiveDate) {
    let mut start = ov.effective_from.min(ov.today);
    let mut end = ov.today;
    for ph in &ov.phases {
        start = start.min(ph.start);
        end = end.max(ph.end);
    }
    for l in &ov.letters {
        start = start.min(l.issued_on);
        end = end.max(l.valid_until);
    }
    let start = first_of_month(start);
    let end = first_of_month(end)
        .checked_add_months(Months::new(1))
        .unwrap_or(end);
    (start, end)
}

/// One bar of a phase group in drawing order.
enum Row<'a> {
    Phase(&'a PhaseOverview, Vec<&'a LetterSpan>),
    Unphased(Vec<&'a LetterSpan>),
}

fn timeline(lang: Lang, ov: &ProgramOverview) -> Markup {
    let (start, end) = axis(ov);
    let span_days = (end - start).num_days().max(1) as f64;
    let plot_w = CHART_W - LABEL_W - RIGHT_PAD;
    let x = |d: NaiveDate| LABEL_W + ((d - start).num_days() as f64 / span_days) * plot_w;
    let x = |d: NaiveDate| x(d.clamp(start, end));

    let mut rows: Vec<Row> = ov
        .phases
        .iter()
        .map(|ph| {
            let letters = ov
                .letters
                .iter()
                .filter(|l| l.phase_id.as_deref() == Some(ph.phase_id.as_str()))
                .collect();
            Row::Phase(ph, letters)
        })
        .collect();
    let unphased: Vec<&LetterSpan> = ov
        .letters
        .iter()
        .filter(|l| {
            !ov.phases
                .iter()
                .any(|ph| l.phase_id.as_deref() == Some(ph.phase_id.as_str()))
        })
        .collect();
    if !unphased.is_empty() {
        rows.push(Row::Unphased(unphased));
    }
    let height: f64 = TOP
        + rows
            .iter()
            .map(|r| {
                let n = match r {
                    Row::Phase(_, l) | Row::Unphased(l) => l.len(),
                };
                PHASE_ROW + n as f64 * LETTER_ROW + GROUP_GAP
            })
            .sum::<f64>()
        + 8.0;

    // Month ticks.
    let mut ticks = Vec::new();
    let mut m = start;
    while m <= end {
        ticks.push(m);
        match m.checked_add_months(Months::new(1)) {
            Some(next) => m = next,
            None => break,
        }
    }
    let label = |d: NaiveDate| {
        if d == start || d.month() == 1 {
            format!("{}-{:02}", d.year(), d.month())
        } else {
            format!("{:02}", d.month())
        }
    };

    let aria = format!(
        "{} {} – {}. {} {}: {}.",
        lang.t("단계별 일정 차트", "Phase timeline chart"),
        start,
        end,
        lang.t("오늘", "Today"),
        ov.today,
        ov.phases
            .iter()
            .map(|ph| format!(
                "{} {}",
                lang.t(&ph.label_ko, &ph.label_en),
                match ph.members {
                    Some(n) => format!(
                        "{} {n}, {} {}",
                        lang.t("확정", "confirmed"),
                        lang.t("발급", "letters"),
                        ph.letters_issued
                    ),
                    None => lang.t("미확정", "not confirmed").to_string(),
                }
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );

    let mut y = TOP;
    let today_x = x(ov.today);
    html! {
        figure class="chart timeline" {
            // On a phone the chart keeps a legible size and scrolls inside its own box.
            div class="chart-scroll" {
            svg viewBox={ "0 0 " (CHART_W) " " (height.ceil()) } role="img" aria-label=(aria) xmlns="http://www.w3.org/2000/svg" {
                title { (lang.t("단계별 일정과 의견서 유효기간", "Phase timeline and letter validity")) }
                // Month grid and labels.
                @for t in &ticks {
                    line x1=(fmt(x(*t))) y1=(fmt(TOP - 6.0)) x2=(fmt(x(*t))) y2=(fmt(height - 4.0)) stroke=(COLOR_GRID) stroke-width="1" {}
                    text x=(fmt(x(*t) + 3.0)) y="16" font-size="11" fill=(COLOR_TEXT) { (label(*t)) }
                }
                @for r in &rows {
                    @let (name, window, cohort, letters) = match r {
                        Row::Phase(ph, l) => (lang.t(&ph.label_ko, &ph.label_en).to_string(), Some((ph.start, ph.end)), ph.confirmed_on.map(|c| {
                            let last = l.iter().map(|x| x.valid_until).max().unwrap_or(ph.end).max(c);
                            (c, last)
                        }), l),
                        Row::Unphased(l) => (lang.t("단계 미지정", "No phase").to_string(), None, None, l),
                    };
                    @let top = { let t = y; y += PHASE_ROW + letters.len() as f64 * LETTER_ROW + GROUP_GAP; t };
                    text x="4" y=(fmt(top + 15.0)) font-size="12" font-weight="600" fill=(COLOR_TEXT) { (name) }
                    @if let Some((ws, we)) = window {
                        rect x=(fmt(x(ws))) y=(fmt(top + 2.0)) width=(fmt((x(we) - x(ws)).max(1.0))) height=(fmt(PHASE_ROW - 6.0)) fill=(COLOR_WINDOW) rx="3" {
                            title { (name) ": " (ws) " – " (we) }
                        }
                    }
                    @if let Some((cs, ce)) = cohort {
                        rect x=(fmt(x(cs))) y=(fmt(top + 8.0)) width=(fmt((x(ce) - x(cs)).max(2.0))) height="8" fill=(COLOR_COHORT) rx="2" {
                            title { (name) " — " (lang.t("대상 확정", "cohort confirmed")) " " (cs) }
                        }
                        text x=(fmt((x(cs) - 3.0).max(LABEL_W))) y=(fmt(top + 16.0)) font-size="10" text-anchor="end" fill=(COLOR_TEXT) { "◆" }
                    }
                    @for (k, l) in letters.iter().enumerate() {
                        @let ly = top + PHASE_ROW + k as f64 * LETTER_ROW;
                        @let stop = l.revoked_on.unwrap_or(l.valid_until);
                        rect x=(fmt(x(l.issued_on))) y=(fmt(ly)) width=(fmt((x(stop) - x(l.issued_on)).max(1.0))) height="4"
                            fill=(if l.state == "revoked" { COLOR_REVOKED } else { COLOR_LETTER }) {
                            title { (l.letter_number) " " (l.institution_name) ": " (l.issued_on) " – " (l.valid_until)
                                @if let Some(r) = l.revoked_on { " (" (lang.t("취소", "revoked")) " " (r) ")" } }
                        }
                    }
                }
                line x1=(fmt(today_x)) y1=(fmt(TOP - 10.0)) x2=(fmt(today_x)) y2=(fmt(height - 2.0)) stroke=(COLOR_TODAY) stroke-width="2" stroke-dasharray="5 3" {}
                text x=(fmt(today_x + 3.0)) y=(fmt(TOP - 4.0)) font-size="11" font-weight="600" fill=(COLOR_TODAY) { (lang.t("오늘", "Today")) " " (ov.today) }
            }
            }
            figcaption {
                (lang.t(
                    "옅은 띠는 단계 기간, 진한 막대는 대상 확정일부터 소속 의견서의 마지막 유효일까지, 아래의 가는 막대는 각 의견서의 유효기간(붉은색: 취소)입니다. 주황 점선은 오늘입니다.",
                    "Light band: the phase window. Dark bar: from the cohort's confirmation to the last day its letters are valid. Thin bars below: each letter's validity (red: revoked). Dashed orange line: today.",
                ))
                ul class="legend" {
                    li { span class="swatch tl-window" {} (lang.t("단계 기간", "Phase window")) }
                    li { span class="swatch tl-cohort" {} (lang.t("확정된 대상", "Confirmed cohort")) }
                    li { span class="swatch tl-letter" {} (lang.t("의견서 유효기간", "Letter validity")) }
                    li { span class="swatch tl-revoked" {} (lang.t("취소된 의견서", "Revoked letter")) }
                    li { span class="swatch tl-today" {} (lang.t("오늘", "Today")) }
                }
            }
            details {
                summary { (lang.t("차트 데이터(표)", "Chart data (table)")) }
                div class="table-wrap" {
                    table {
                        caption class="visually-hidden" { (lang.t("단계별 일정 차트의 수치", "Figures of the phase timeline chart")) }
                        thead { tr {
                            th scope="col" { (lang.t("단계", "Phase")) }
                            th scope="col" { (lang.t("기간", "Window")) }
                            th scope="col" { (lang.t("확정일", "Confirmed on")) }
                            th scope="col" class="num" { (lang.t("발급 의견서", "Letters")) }
                            th scope="col" { (lang.t("첫 발급일", "First issued")) }
                            th scope="col" { (lang.t("마지막 유효일", "Last valid day")) }
                        } }
                        tbody {
                            @for ph in &ov.phases {
                                @let ls: Vec<&LetterSpan> = ov.letters.iter().filter(|l| l.phase_id.as_deref() == Some(ph.phase_id.as_str())).collect();
                                tr {
                                    th scope="row" { (lang.t(&ph.label_ko, &ph.label_en)) }
                                    td { (ph.start) " – " (ph.end) }
                                    td { (ph.confirmed_on.map(|d| d.to_string()).unwrap_or_else(|| "—".into())) }
                                    td class="num" { (ls.len()) }
                                    td { (ls.iter().map(|l| l.issued_on).min().map(|d| d.to_string()).unwrap_or_else(|| "—".into())) }
                                    td { (ls.iter().map(|l| l.valid_until).max().map(|d| d.to_string()).unwrap_or_else(|| "—".into())) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// SVG coordinates with one decimal.
fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

// ================================================================================ institution

async fn institution(st: &AppState, p: &Portal) -> Response {
    let lang = p.lang;
    let Some(inst_id) = p.actor.institution_id else {
        return p.error(haechi_service::ServiceError::NotFound);
    };
    let inst = match st.svc.get_institution(&p.actor, inst_id).await {
        Ok(v) => v,
        Err(e) => return p.error(e),
    };
    let (apps, _) = match st
        .svc
        .list_applications(
            &p.actor,
            ApplicationFilter {
                limit: 5,
                ..Default::default()
            },
        )
        .await
    {
        Ok(a) => a,
        Err(e) => return p.error(e),
    };
    let letters = match st.svc.list_letters(&p.actor).await {
        Ok(l) => l,
        Err(e) => return p.error(e),
    };
    let obligations = match st.svc.obligations(&p.actor, None).await {
        Ok(o) => o,
        Err(e) => return p.error(e),
    };
    let today = st.svc.today();
    let window = expiry_window(st);
    let open: Vec<_> = obligations
        .iter()
        .filter(|o| {
            matches!(
                o.state.as_str(),
                "upcoming" | "due" | "overdue" | "returned"
            )
        })
        .take(6)
        .collect();
    let name = inst_name(lang, &inst.institution.input).to_string();
    let title = p.t("대시보드", "Dashboard");
    let body = html! {
        h1 { (name) }
        p class="muted" { (p.display_name) " · " (role_name(lang, p.actor.role)) " · " (p.t("기준일 ", "as of ")) (today) }
        ul class="cards" {
            li class="card" {
                span class="figure" {
                    @match inst.eligibility.as_ref().map(|e| e.eligible) {
                        Some(true) => span class="badge ok" { (p.t("적격", "Eligible")) },
                        Some(false) => span class="badge bad" { (p.t("부적격", "Not eligible")) },
                        None => span class="badge" { (p.t("미심사", "Not screened")) },
                    }
                }
                span class="label" { a href={ "/institutions/" (inst_id) } { (p.t("적격성 심사 결과", "Eligibility screening")) } }
            }
            li class="card" {
                span class="figure" {
                    @match apps.first() {
                        Some(a) => { (state_label(lang, a.state)) },
                        None => { "—" },
                    }
                }
                span class="label" { (p.t("최근 신청 상태", "Latest application")) }
            }
            li class="card" {
                span class="figure" { (letters.iter().filter(|l| letter_status(l, today, window) == "issued" || letter_status(l, today, window) == "expiring").count()) }
                span class="label" { (p.t("유효한 비조치의견서", "Letters in force")) }
            }
            li class="card" {
                span class="figure" { (obligations.iter().filter(|o| o.overdue).count()) }
                span class="label" { (p.t("기한 경과 의무", "Overdue obligations")) }
            }
        }

        section aria-labelledby="app-h" {
            h2 id="app-h" { (p.t("신청", "Application")) }
            @if apps.is_empty() {
                p class="muted" { (p.t("아직 신청이 없습니다.", "No application yet.")) }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr {
                            th scope="col" class="num" { (p.t("번호", "No.")) }
                            th scope="col" { (p.t("상태", "State")) }
                            th scope="col" { (p.t("제출일", "Submitted")) }
                            th scope="col" { (p.t("최종 변경", "Last change")) }
                        } }
                        tbody {
                            @for a in &apps {
                                tr {
                                    td class="num" { a href={ "/applications/" (a.id) } { (a.id) } }
                                    td { (state_label(lang, a.state)) }
                                    td { (a.submitted_at.as_deref().map(day).unwrap_or_else(|| "—".into())) }
                                    td { (day(&a.updated_at)) }
                                }
                            }
                        }
                    }
                }
            }
            p { a href="/applications" { (p.t("신청 관리", "Manage applications")) " →" } }
        }

        section aria-labelledby="letter-h" {
            h2 id="letter-h" { (p.t("비조치의견서", "No-action letter")) }
            @if letters.is_empty() {
                p class="muted" { (p.t("발급된 의견서가 없습니다.", "No letter has been issued to your institution.")) }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr {
                            th scope="col" { (p.t("의견서 번호", "Letter number")) }
                            th scope="col" { (p.t("발급일", "Issued")) }
                            th scope="col" { (p.t("유효기간 종료", "Valid until")) }
                            th scope="col" { (p.t("상태", "Status")) }
                        } }
                        tbody {
                            @for l in &letters {
                                tr {
                                    td { a href={ "/letters/" (l.id) } { (l.letter_number.as_deref().unwrap_or("—")) } }
                                    td { (l.issued_on.as_deref().map(day).unwrap_or_else(|| "—".into())) }
                                    td { (l.valid_until.as_deref().map(day).unwrap_or_else(|| "—".into())) }
                                    td { (letter_badge(lang, letter_status(l, today, window))) }
                                }
                            }
                        }
                    }
                }
            }
        }

        section aria-labelledby="obl-h" {
            h2 id="obl-h" { (p.t("다가오는 보고 의무", "Upcoming report obligations")) }
            @if open.is_empty() {
                p class="muted" { (p.t("처리할 보고 의무가 없습니다.", "No report obligation is open.")) }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr {
                            th scope="col" { (p.t("의무", "Obligation")) }
                            th scope="col" { (p.t("대상 기간", "Period")) }
                            th scope="col" { (p.t("기한", "Due on")) }
                            th scope="col" { (p.t("상태", "State")) }
                        } }
                        tbody {
                            @for o in &open {
                                tr {
                                    td { a href={ "/letters/" (o.row.letter_id) } { (obligation_kind_label(lang, &o.row.kind)) " " (o.row.sequence) } }
                                    td { (day(&o.row.period_start)) " – " (day(&o.row.period_end)) }
                                    td { (day(&o.row.due_on)) }
                                    td { (obligation_badges(lang, o)) }
                                }
                            }
                        }
                    }
                }
            }
        }

        @if p.may(Action::ReadFindings) {
            section aria-labelledby="ops-h" {
                h2 id="ops-h" { (p.t("보안 운영", "Security operations")) }
                ul {
                    li { a href="/resources" { (p.t("전산자원", "Computing resources")) } }
                    li { a href="/findings" { (p.t("취약점", "Findings")) } }
                    li { a href="/queue" { (p.t("패치 대기열", "Patch queue")) } }
                }
            }
        }
    };
    p.page(title, body)
}

// ================================================================================ advisor

async fn advisor(st: &AppState, p: &Portal) -> Response {
    let mine = match st.svc.my_assignments(&p.actor).await {
        Ok(m) => m,
        Err(e) => return p.error(e),
    };
    let undeclared = mine
        .iter()
        .filter(|a| a.assignment.conflict.is_none())
        .count();
    let pending = mine
        .iter()
        .filter(|a| a.assignment.conflict != Some(true) && a.assignment.submitted_at.is_none())
        .count();
    let done = mine
        .iter()
        .filter(|a| a.assignment.submitted_at.is_some())
        .count();
    let title = p.t("대시보드", "Dashboard");
    let body = html! {
        h1 { (p.t("평가위원 대시보드", "Advisor dashboard")) }
        p class="muted" { (p.display_name) " · " (role_name(p.lang, p.actor.role)) }
        ul class="cards" {
            (card(pending, p.t("평가 대기 신청", "Applications awaiting your review")))
            (card(undeclared, p.t("이해상충 미신고", "Conflict declaration pending")))
            (card(done, p.t("평가 제출 완료", "Reviews submitted")))
            (card(mine.len(), p.t("배정된 신청", "Assigned applications")))
        }
        p { a class="button primary" href="/reviews" { (p.t("평가 업무로 이동", "Go to my reviews")) } }
    };
    p.page(title, body)
}
