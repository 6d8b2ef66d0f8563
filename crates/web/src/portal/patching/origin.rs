//! The "AI-found vs conventionally found" chart (issue #13): per priority, the open findings an
//! AI model generated, an AI model annotated, and a conventional tool found, with the totals
//! including closed ones in a table beside it.

use haechi_store::OriginCount;
use maud::{html, Markup};

use super::super::Portal;
use super::{state_label, PRIORITIES};

/// Left margin of the bars (the priority labels stand in it).
const L: f64 = 110.0;

/// (origin as stored, fill, label ko, label en).
const ORIGINS: [(&str, &str, &str, &str); 3] = [
    ("ai_generated", "#8250df", "AI가 발견", "AI-generated"),
    ("ai_annotated", "#bf8700", "AI가 보강", "AI-annotated"),
    ("conventional", "#57606a", "기존 도구", "Conventional"),
];

fn count(rows: &[OriginCount], priority: &str, origin: &str, open: bool) -> i64 {
    rows.iter()
        .filter(|r| r.priority == priority && r.ai_origin == origin)
        .map(|r| if open { r.open } else { r.total })
        .sum()
}

/// The drawn parts of one priority's bar: (x, width, value, fill, label ko, label en).
fn segments(
    rows: &[OriginCount],
    priority: &str,
    pw: f64,
    max: i64,
) -> Vec<(f64, f64, i64, &'static str, &'static str, &'static str)> {
    let mut x = L;
    let mut out = Vec::new();
    for (o, fill, ko, en) in ORIGINS {
        let v = count(rows, priority, o, true);
        let w = pw * v as f64 / max as f64;
        if v > 0 {
            out.push((x, w, v, fill, ko, en));
        }
        x += w;
    }
    out
}

/// One stacked horizontal bar per priority of the open findings, by origin.
pub fn origin_chart(p: &Portal, rows: &[OriginCount]) -> Markup {
    const W: f64 = 720.0;
    const R: f64 = 60.0;
    const BAR: f64 = 22.0;
    const GAP: f64 = 12.0;
    const T: f64 = 8.0;
    let bar_total = |pr: &str| {
        ORIGINS
            .iter()
            .map(|(o, ..)| count(rows, pr, o, true))
            .sum::<i64>()
    };
    let max = PRIORITIES
        .iter()
        .map(|pr| bar_total(pr))
        .max()
        .unwrap_or(0)
        .max(1);
    let pw = W - L - R;
    let h = T + (BAR + GAP) * PRIORITIES.len() as f64 + 6.0;
    let ai_open: i64 = rows
        .iter()
        .filter(|r| r.ai_origin != "conventional")
        .map(|r| r.open)
        .sum();
    let all_open: i64 = rows.iter().map(|r| r.open).sum();
    let summary = format!(
        "{} {ai_open} / {} {all_open}",
        p.t("AI가 발견·보강한 미조치", "open AI-found or AI-annotated"),
        p.t("전체 미조치", "all open"),
    );
    html! {
        figure class="chart patching" {
            svg viewBox={ "0 0 " (W) " " (h) } role="img" aria-label=(summary) {
                @for (i, pr) in PRIORITIES.iter().enumerate() {
                    @let y = T + (BAR + GAP) * i as f64;
                    text x=(L - 8.0) y=(y + BAR / 2.0 + 4.0) text-anchor="end" font-size="12" fill="#1b1f24" { (state_label(p.lang, pr)) }
                    @let parts = segments(rows, pr, pw, max);
                    @for (x, w, v, fill, ko, en) in &parts {
                        rect x=(format!("{x:.1}")) y=(y) width=(format!("{w:.1}")) height=(BAR) fill=(fill) {
                            title { (p.t(ko, en)) ": " (v) }
                        }
                    }
                    @let x = L + pw * bar_total(pr) as f64 / max as f64;
                    text x=(format!("{:.1}", x + 6.0)) y=(y + BAR / 2.0 + 4.0) font-size="12" fill="#59636e" { (bar_total(pr)) }
                }
            }
            figcaption {
                (p.t("우선순위별 미조치 취약점을 발견 방식으로 나눈 것입니다. ", "Open findings per priority by how they were found. "))
                (summary)
            }
            ul class="legend" {
                @for (_, fill, ko, en) in ORIGINS {
                    li { svg class="swatch" viewBox="0 0 10 10" width="10" height="10" aria-hidden="true" { rect width="10" height="10" fill=(fill) {} } " " (p.t(ko, en)) }
                }
            }
        }
        div class="table-wrap" {
            table class="small" {
                caption { (p.t("발견 방식별 취약점 (미조치 / 전체)", "Findings by how they were found (open / all)")) }
                thead { tr {
                    th scope="col" { (p.t("우선순위", "Priority")) }
                    @for (_, _, ko, en) in ORIGINS { th scope="col" class="num" { (p.t(ko, en)) } }
                } }
                tbody {
                    @for pr in PRIORITIES {
                        tr {
                            th scope="row" { (state_label(p.lang, pr)) }
                            @for (o, ..) in ORIGINS {
                                td class="num" { (count(rows, pr, o, true)) " / " (count(rows, pr, o, false)) }
                            }
                        }
                    }
                }
            }
        }
    }
}
