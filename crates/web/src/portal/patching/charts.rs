//! The burn-down chart (open findings per priority over time, stacked areas, with the findings
//! closed in the range as a line) and the SLA chart (per priority: fixed in time, fixed late, open
//! and breached, open within the SLA), as inline SVG, each with the same numbers in a table.
//!
//! No single "compliance rate" is shown: a rate over closed findings alone says 100% while most
//! findings are still open. The table gives the four outcomes with the total, and the share of
//! all findings that were closed in time.

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{Days, NaiveDate};
use haechi_service::patching::{BurnDownDay, SlaCompliance};
use maud::{html, Markup};
use serde::Deserialize;

use super::super::Portal;
use super::{institution_chooser, institution_param, scope, state_label, PRIORITIES};
use crate::AppState;

/// Fill colours of the priorities (the same as the `--p1`..`--p5` CSS variables).
const PRIORITY_FILL: [&str; 5] = ["#b42318", "#d9480f", "#b08800", "#1f6feb", "#59636e"];

/// The SLA outcomes with their colours and labels.
const SLA_PARTS: [(&str, &str, &str, &str); 4] = [
    (
        "fixed_within_sla",
        "#1a7f37",
        "기한 내 조치",
        "Fixed in time",
    ),
    ("fixed_late", "#9a6700", "기한 후 조치", "Fixed late"),
    (
        "open_breached",
        "#b42318",
        "미조치·기한 초과",
        "Open, SLA breached",
    ),
    (
        "open_within_sla",
        "#1f6feb",
        "미조치·기한 내",
        "Open, within SLA",
    ),
];

const RANGES: [i64; 4] = [30, 90, 180, 365];

#[derive(Deserialize, Default)]
pub struct ChartQuery {
    #[serde(default)]
    institution: String,
    #[serde(default)]
    days: String,
}

pub async fn page(p: Portal, State(st): State<AppState>, Query(q): Query<ChartQuery>) -> Response {
    let title = p.t("번다운·SLA 준수 차트", "Burn-down and SLA compliance");
    let inst = match scope(&p, &st, &q.institution).await {
        Ok(Some(i)) => i,
        Ok(None) => {
            return p.page(
                title,
                html! {
                    h1 { (title) }
                    (institution_chooser(&p, &st, "/patches/charts", None).await)
                },
            )
        }
        Err(resp) => return resp,
    };
    // A year is read once; the range shown is the one asked for, else the shortest that covers
    // the whole history (plus a week before it).
    let longest = RANGES[RANGES.len() - 1];
    let to = st.svc.today();
    let from = to
        .checked_sub_days(Days::new(longest.unsigned_abs().saturating_sub(1)))
        .unwrap_or(to);
    let mut burn = match st.svc.burn_down(&p.actor, inst, from, to).await {
        Ok(b) => b,
        Err(e) => return p.error(e),
    };
    let asked = q
        .days
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| RANGES.contains(d));
    let days = asked.unwrap_or_else(|| {
        let first = burn
            .iter()
            .position(|d| PRIORITIES.iter().any(|pr| open_of(d, pr) > 0))
            .unwrap_or(burn.len());
        let needed = i64::try_from(burn.len() - first).unwrap_or(longest) + 7;
        RANGES
            .iter()
            .copied()
            .find(|r| *r >= needed)
            .unwrap_or(longest)
    });
    let keep = usize::try_from(days).unwrap_or(burn.len()).min(burn.len());
    burn.drain(..burn.len() - keep);
    let closed = match (burn.first(), burn.last()) {
        (Some(a), Some(b)) => match st.svc.closed_by_day(&p.actor, inst, a.date, b.date).await {
            Ok(c) => c,
            Err(e) => return p.error(e),
        },
        _ => Vec::new(),
    };
    let sla = match st.svc.sla_compliance(&p.actor, inst).await {
        Ok(s) => s,
        Err(e) => return p.error(e),
    };
    let origins = match st.svc.findings_by_origin(&p.actor, Some(inst)).await {
        Ok(o) => o,
        Err(e) => return p.error(e),
    };
    let inst_q = institution_param(&p, inst);
    let body = html! {
        h1 { (title) }
        @if !p.actor.role.is_institution_role() {
            (institution_chooser(&p, &st, "/patches/charts", Some(inst)).await)
        }
        nav class="actions ranges" aria-label=(p.t("기간", "Range")) {
            @for d in RANGES {
                a href={ "/patches/charts?days=" (d) @if !inst_q.is_empty() { "&" (inst_q) } }
                    aria-current=[(d == days).then_some("page")] {
                    (p.t("최근 ", "Last ")) (d) (p.t("일", " days"))
                }
            }
            a href={ "/queue" @if !inst_q.is_empty() { "?" (inst_q) } } { (p.t("패치 대기열", "Patch queue")) }
        }
        h2 { (p.t("미조치 취약점 번다운", "Burn-down of open findings")) }
        (burn_down_chart(&p, &burn, &closed))
        h2 { (p.t("우선순위별 SLA 준수", "SLA compliance by priority")) }
        (sla_chart(&p, &sla))
        h2 { (p.t("AI가 발견한 취약점과 기존 도구가 발견한 취약점", "AI-found vs conventionally found")) }
        (super::origin::origin_chart(&p, &origins))
    };
    p.page(title, body)
}

fn open_of(day: &BurnDownDay, priority: &str) -> i64 {
    day.open.get(priority).copied().unwrap_or(0).max(0)
}

/// A "nice" upper bound of the axis: 1, 2 or 5 times a power of ten, at least `max`.
fn nice_max(max: i64) -> i64 {
    let max = max.max(1);
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if step * m >= max {
                return step * m;
            }
        }
        step *= 10;
    }
}

/// Colour of the line of findings closed in the range.
const CLOSED_STROKE: &str = "#1b1f24";

/// Stacked areas of open findings per priority (P1 at the bottom), one point per day, and the
/// findings closed since the range's first day as a line.
fn burn_down_chart(p: &Portal, days: &[BurnDownDay], closed: &[(NaiveDate, i64)]) -> Markup {
    const W: f64 = 720.0;
    const H: f64 = 300.0;
    const L: f64 = 48.0;
    const R: f64 = 12.0;
    const T: f64 = 12.0;
    const B: f64 = 36.0;
    let pw = W - L - R;
    let ph = H - T - B;
    let totals: Vec<i64> = days
        .iter()
        .map(|d| PRIORITIES.iter().map(|pr| open_of(d, pr)).sum())
        .collect();
    // Closed since the first day of the range, at the end of each day.
    let closed_cum: Vec<i64> = days
        .iter()
        .scan(0_i64, |acc, d| {
            *acc += closed
                .iter()
                .find(|(day, _)| *day == d.date)
                .map_or(0, |(_, n)| *n);
            Some(*acc)
        })
        .collect();
    let top = nice_max(
        totals
            .iter()
            .chain(closed_cum.iter())
            .copied()
            .max()
            .unwrap_or(0),
    );
    let n = days.len().max(1);
    let x = |i: usize| {
        if n <= 1 {
            L + pw / 2.0
        } else {
            L + pw * (i as f64) / ((n - 1) as f64)
        }
    };
    let y = |v: i64| T + ph - ph * (v as f64) / (top as f64);
    // cumulative[k][i]: P1..=Pk open on day i.
    let mut cumulative: Vec<Vec<i64>> = Vec::with_capacity(PRIORITIES.len());
    for (k, pr) in PRIORITIES.iter().enumerate() {
        let row: Vec<i64> = days
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let below = if k == 0 { 0 } else { cumulative[k - 1][i] };
                below + open_of(d, pr)
            })
            .collect();
        cumulative.push(row);
    }
    let area = |k: usize| -> String {
        let mut s = String::new();
        for (i, v) in cumulative[k].iter().enumerate() {
            s.push_str(&format!(
                "{}{:.1},{:.1} ",
                if i == 0 { 'M' } else { 'L' },
                x(i),
                y(*v)
            ));
        }
        for i in (0..days.len()).rev() {
            let v = if k == 0 { 0 } else { cumulative[k - 1][i] };
            s.push_str(&format!("L{:.1},{:.1} ", x(i), y(v)));
        }
        s.push('Z');
        s
    };
    let mut ticks = vec![0, top / 2, top];
    ticks.dedup();
    let label_days: Vec<usize> = if days.is_empty() {
        Vec::new()
    } else {
        let mut v = vec![0, days.len() / 2, days.len() - 1];
        v.dedup();
        v
    };
    let closed_line: String = closed_cum
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{}{:.1},{:.1}", if i == 0 { 'M' } else { 'L' }, x(i), y(*v)))
        .collect::<Vec<_>>()
        .join(" ");
    let last = days.last();
    let summary = match (days.first(), last) {
        (Some(a), Some(b)) => format!(
            "{} {} → {}: {} → {}; {} {}",
            p.t("미조치 취약점", "Open findings"),
            a.date,
            b.date,
            totals.first().copied().unwrap_or(0),
            totals.last().copied().unwrap_or(0),
            p.t("같은 기간 조치 완료", "closed in the period"),
            closed_cum.last().copied().unwrap_or(0)
        ),
        _ => p.t("데이터 없음", "No data").to_string(),
    };
    // The table: every 7th day counted back from the last, oldest first.
    let mut sampled: Vec<usize> = (0..days.len()).rev().step_by(7).collect();
    sampled.reverse();
    html! {
        figure class="chart patching" {
            svg viewBox={ "0 0 " (W) " " (H) } role="img" aria-label=(summary) {
                @for t in ticks {
                    line x1=(L) x2=(W - R) y1=(y(t)) y2=(y(t)) stroke="#d0d7de" stroke-width="1" {}
                    text x=(L - 6.0) y=(y(t) + 4.0) text-anchor="end" font-size="11" fill="#59636e" { (t) }
                }
                @if days.is_empty() {
                    text x=(W / 2.0) y=(H / 2.0) text-anchor="middle" font-size="13" fill="#59636e" { (p.t("데이터 없음", "No data")) }
                } @else {
                    @for k in (0..PRIORITIES.len()).rev() {
                        path d=(area(k)) fill=(PRIORITY_FILL[k]) fill-opacity="0.85" stroke=(PRIORITY_FILL[k]) stroke-width="1" {}
                    }
                    path d=(closed_line) fill="none" stroke=(CLOSED_STROKE) stroke-width="2" stroke-dasharray="6 3" {}
                    @for i in &label_days {
                        text x=(x(*i)) y=(H - 12.0) text-anchor=(if *i == 0 { "start" } else if *i + 1 == days.len() { "end" } else { "middle" }) font-size="11" fill="#59636e" { (days[*i].date) }
                    }
                }
                line x1=(L) x2=(W - R) y1=(y(0)) y2=(y(0)) stroke="#59636e" stroke-width="1" {}
            }
            figcaption {
                (p.t("일자별 미조치(미조치·조치 중) 취약점 수를 우선순위별로 쌓아 표시하고, 점선은 기간 첫날부터 조치 완료한 취약점의 누적 수입니다. ", "Open (open or in-progress) findings at the end of each day, stacked by priority; the dashed line counts the findings closed since the first day shown. "))
                (summary)
            }
            ul class="legend" {
                @for pr in PRIORITIES {
                    li { span class={ "swatch " (pr.to_lowercase()) } {} (state_label(p.lang, pr)) }
                }
                li { span class="swatch closed-line" {} (p.t("조치 완료(누적)", "Closed (cumulative)")) }
            }
        }
        div class="table-wrap" {
            table class="small" {
                caption { (p.t("번다운 데이터 (7일 간격)", "Burn-down data (every 7 days)")) }
                thead { tr {
                    th scope="col" { (p.t("일자", "Date")) }
                    @for pr in PRIORITIES { th scope="col" class="num" { (pr) } }
                    th scope="col" class="num" { (p.t("미조치 합계", "Open, total")) }
                    th scope="col" class="num" { (p.t("조치 완료(누적)", "Closed (cumulative)")) }
                } }
                tbody {
                    @for i in &sampled {
                        tr {
                            th scope="row" class="nowrap" { (days[*i].date) }
                            @for pr in PRIORITIES { td class="num" { (open_of(&days[*i], pr)) } }
                            td class="num" { (totals[*i]) }
                            td class="num" { (closed_cum[*i]) }
                        }
                    }
                }
            }
        }
    }
}

fn part(s: &SlaCompliance, key: &str) -> i64 {
    match key {
        "fixed_within_sla" => s.fixed_within_sla,
        "fixed_late" => s.fixed_late,
        "open_breached" => s.open_breached,
        _ => s.open_within_sla,
    }
    .max(0)
}

type Segment = (f64, f64, i64, &'static str, &'static str, &'static str);

/// The drawn parts of one bar: (x, width, value, fill, label ko, label en).
fn segments(r: &SlaCompliance, pw: f64, max: i64) -> Vec<Segment> {
    const L: f64 = 110.0;
    let mut x = L;
    let mut out = Vec::new();
    for (key, fill, ko, en) in SLA_PARTS {
        let v = part(r, key);
        let w = pw * v as f64 / max as f64;
        if v > 0 {
            out.push((x, w, v, fill, ko, en));
        }
        x += w;
    }
    out
}

/// One horizontal bar per priority, split into the four SLA outcomes.
fn sla_chart(p: &Portal, rows: &[SlaCompliance]) -> Markup {
    const W: f64 = 720.0;
    const L: f64 = 110.0;
    const R: f64 = 60.0;
    const BAR: f64 = 26.0;
    const GAP: f64 = 14.0;
    const T: f64 = 10.0;
    let h = T + (BAR + GAP) * rows.len().max(1) as f64 + 10.0;
    let max = rows
        .iter()
        .map(|r| SLA_PARTS.iter().map(|(k, ..)| part(r, k)).sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let pw = W - L - R;
    let total_breached: i64 = rows.iter().map(|r| r.open_breached).sum();
    let total_late: i64 = rows.iter().map(|r| r.fixed_late).sum();
    let total_in_time: i64 = rows.iter().map(|r| r.fixed_within_sla).sum();
    let total_open_in_time: i64 = rows.iter().map(|r| r.open_within_sla).sum();
    let summary = format!(
        "{} {total_in_time}, {} {total_late}, {} {total_breached}, {} {total_open_in_time}",
        p.t("기한 내 조치", "fixed in time"),
        p.t("기한 후 조치", "fixed late"),
        p.t("기한 초과 미조치", "open and breached"),
        p.t("기한 내 미조치", "open within the SLA"),
    );
    html! {
        figure class="chart patching" {
            svg viewBox={ "0 0 " (W) " " (h) } role="img" aria-label=(summary) {
                @for (i, r) in rows.iter().enumerate() {
                    @let y = T + (BAR + GAP) * i as f64;
                    text x=(L - 8.0) y=(y + BAR / 2.0 + 4.0) text-anchor="end" font-size="12" fill="#1b1f24" { (state_label(p.lang, &r.priority)) }
                    @for (x, w, v, fill, ko, en) in segments(r, pw, max) {
                        rect x=(format!("{x:.1}")) y=(y) width=(format!("{w:.1}")) height=(BAR) fill=(fill) {
                            title { (p.t(ko, en)) ": " (v) }
                        }
                    }
                    @let x = L + pw * SLA_PARTS.iter().map(|(k, ..)| part(r, k)).sum::<i64>() as f64 / max as f64;
                    text x=(format!("{:.1}", x + 6.0)) y=(y + BAR / 2.0 + 4.0) font-size="12" fill="#59636e" {
                        (SLA_PARTS.iter().map(|(k, ..)| part(r, k)).sum::<i64>())
                    }
                }
            }
            figcaption {
                (p.t("우선순위별 조치 결과: 기한 내 조치, 기한 후 조치, 기한을 넘긴 미조치, 기한 내 미조치. ", "Outcome per priority: fixed within the SLA, fixed late, open past the due date, open within the SLA. "))
                (summary)
            }
            ul class="legend" {
                @for (key, _, ko, en) in SLA_PARTS {
                    li { span class={ "swatch sla-" (key) } {} (p.t(ko, en)) }
                }
            }
        }
        div class="table-wrap" {
            table class="small" {
                caption { (p.t("SLA 준수 데이터", "SLA compliance data")) }
                thead { tr {
                    th scope="col" { (p.t("우선순위", "Priority")) }
                    @for (_, _, ko, en) in SLA_PARTS { th scope="col" class="num" { (p.t(ko, en)) } }
                    th scope="col" class="num" { (p.t("전체", "Total")) }
                    th scope="col" class="num" { (p.t("미조치", "Still open")) }
                    th scope="col" class="num" { (p.t("기한 내 조치 (전체 대비)", "Closed in time (of all)")) }
                } }
                tbody {
                    @for r in rows {
                        @let total = SLA_PARTS.iter().map(|(k, ..)| part(r, k)).sum::<i64>();
                        @let open = part(r, "open_breached") + part(r, "open_within_sla");
                        tr data-priority=(r.priority) {
                            th scope="row" { (state_label(p.lang, &r.priority)) }
                            @for (key, ..) in SLA_PARTS { td class="num" data-part=(key) { (part(r, key)) } }
                            td class="num" data-part="total" { (total) }
                            td class="num" data-part="open" { (open) " / " (total) }
                            td class="num" data-part="in_time_share" {
                                @if total > 0 {
                                    (format!("{:.0}%", 100.0 * part(r, "fixed_within_sla") as f64 / total as f64))
                                } @else { "—" }
                            }
                        }
                    }
                }
            }
        }
    }
}
