//! Sector insight pages (C9): the regulator's view over every delivered report — a trend of
//! AI-found and conventionally found findings on a month or quarter axis and the weaknesses most
//! reported (inline SVG with the same numbers in tables), severity, priority, tool and AI model,
//! time to remediate, SLA compliance, sectors and institutions side by side, SaaS in use, and a
//! CSV export — and the institutions' anonymised sector view, where every withheld cell says why.
//!
//! What it must not do: compute or withhold anything itself; the service decides (and the
//! anonymity engine of `haechi_policy` withholds).

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use haechi_core::Sector;
use haechi_policy::anonymity::{Published, Withheld};
use haechi_service::insight::{Axis, InsightQuery, SectorInsight, TrendPoint};
use haechi_service::reports::Count;
use maud::{html, Markup};
use serde::Deserialize;

use super::registry::sector_label;
use super::{PageRoute, Portal};
use crate::{page_get, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/insight", regulator),
        page_get!("/insight/export.csv", export),
        page_get!("/sector", institution),
    ]
}

/// (fill, label ko, label en) of AI-found and conventional findings.
const AI: (&str, &str, &str) = ("#8250df", "AI가 발견", "Found by AI");
const CONVENTIONAL: (&str, &str, &str) = ("#57606a", "기존 도구", "Conventional tools");

#[derive(Deserialize, Default)]
struct InsightParams {
    #[serde(default)]
    axis: String,
    #[serde(default)]
    sector: String,
}

impl InsightParams {
    fn query(&self) -> InsightQuery {
        InsightQuery {
            axis: Axis::parse(&self.axis),
            sector: Some(self.sector.trim().to_string()).filter(|s| !s.is_empty()),
        }
    }
}

fn sector_name(p: &Portal, code: &str) -> String {
    Sector::parse(code)
        .map(|s| sector_label(p.lang, s).to_string())
        .unwrap_or_else(|| code.to_string())
}

fn label(p: &Portal, key: &str) -> String {
    super::findings::state_label(p.lang, key).to_string()
}

fn pct(v: Option<f64>) -> String {
    v.map(|r| format!("{r:.0}%")).unwrap_or_else(|| "—".into())
}

fn days(v: Option<f64>) -> String {
    v.map(|d| format!("{d:.1}")).unwrap_or_else(|| "—".into())
}

/// The axis top: the maximum rounded up to a multiple of a tenth of its power of ten.
fn axis_top(max: i64) -> i64 {
    let max = max.max(1);
    let step = 10_i64.pow((max as f64).log10().floor() as u32).max(1);
    (max + step - 1) / step * step
}

fn swatch(fill: &str) -> Markup {
    html! { svg class="swatch" viewBox="0 0 10 10" width="10" height="10" aria-hidden="true" { rect width="10" height="10" fill=(fill) {} } }
}

/// Stacked columns per period: AI-found below, conventional above.
fn trend_chart(p: &Portal, points: &[TrendPoint]) -> Markup {
    const W: f64 = 720.0;
    const H: f64 = 260.0;
    const L: f64 = 48.0;
    const R: f64 = 12.0;
    const T: f64 = 12.0;
    const B: f64 = 40.0;
    let pw = W - L - R;
    let ph = H - T - B;
    let top = axis_top(
        points
            .iter()
            .map(|t| t.ai + t.conventional)
            .max()
            .unwrap_or(0),
    );
    let n = points.len().max(1) as f64;
    let slot = pw / n;
    let bw = (slot * 0.6).min(48.0);
    let y = |v: i64| T + ph - ph * v as f64 / top as f64;
    let total_ai: i64 = points.iter().map(|t| t.ai).sum();
    let total: i64 = points.iter().map(|t| t.ai + t.conventional).sum();
    let summary = format!(
        "{} {total_ai} / {} {total}",
        p.t(AI.1, AI.2),
        p.t("전체", "all")
    );
    html! {
        figure class="chart patching" {
            svg viewBox={ "0 0 " (W) " " (H) } role="img" aria-label=(summary) {
                @for t in [0, top / 2, top] {
                    line x1=(L) x2=(W - R) y1=(y(t)) y2=(y(t)) stroke="#d0d7de" stroke-width="1" {}
                    text x=(L - 6.0) y=(y(t) + 4.0) text-anchor="end" font-size="11" fill="#59636e" { (t) }
                }
                @if points.is_empty() {
                    text x=(W / 2.0) y=(H / 2.0) text-anchor="middle" font-size="13" fill="#59636e" { (p.t("데이터 없음", "No data")) }
                }
                @for (i, t) in points.iter().enumerate() {
                    @let x = L + slot * i as f64 + (slot - bw) / 2.0;
                    rect x=(format!("{x:.1}")) y=(format!("{:.1}", y(t.ai))) width=(format!("{bw:.1}")) height=(format!("{:.1}", y(0) - y(t.ai))) fill=(AI.0) {
                        title { (t.period) " · " (p.t(AI.1, AI.2)) ": " (t.ai) }
                    }
                    rect x=(format!("{x:.1}")) y=(format!("{:.1}", y(t.ai + t.conventional))) width=(format!("{bw:.1}")) height=(format!("{:.1}", y(t.ai) - y(t.ai + t.conventional))) fill=(CONVENTIONAL.0) {
                        title { (t.period) " · " (p.t(CONVENTIONAL.1, CONVENTIONAL.2)) ": " (t.conventional) }
                    }
                    text x=(format!("{:.1}", x + bw / 2.0)) y=(H - 16.0) text-anchor="middle" font-size="11" fill="#59636e" { (t.period) }
                }
                line x1=(L) x2=(W - R) y1=(y(0)) y2=(y(0)) stroke="#59636e" stroke-width="1" {}
            }
            figcaption {
                (p.t("기간별 신규 취약점을 AI가 발견한 것과 기존 도구가 발견한 것으로 나누어 쌓았습니다. ", "New findings per period, found by AI (below) and by conventional tools (above). "))
                (summary)
            }
            ul class="legend" {
                li { (swatch(AI.0)) " " (p.t(AI.1, AI.2)) }
                li { (swatch(CONVENTIONAL.0)) " " (p.t(CONVENTIONAL.1, CONVENTIONAL.2)) }
            }
        }
    }
}

/// One horizontal bar per CWE.
fn cwe_chart(p: &Portal, rows: &[Count]) -> Markup {
    const W: f64 = 720.0;
    const L: f64 = 90.0;
    const R: f64 = 60.0;
    const BAR: f64 = 16.0;
    const GAP: f64 = 8.0;
    const T: f64 = 8.0;
    let max = rows.iter().map(|c| c.n).max().unwrap_or(0).max(1);
    let h = T + (BAR + GAP) * rows.len().max(1) as f64 + 4.0;
    let pw = W - L - R;
    html! {
        figure class="chart patching" {
            svg viewBox={ "0 0 " (W) " " (h) } role="img" aria-label=(p.t("CWE별 취약점 수", "Findings per CWE")) {
                @for (i, c) in rows.iter().enumerate() {
                    @let y = T + (BAR + GAP) * i as f64;
                    @let w = pw * c.n as f64 / max as f64;
                    text x=(L - 8.0) y=(y + BAR / 2.0 + 4.0) text-anchor="end" font-size="12" fill="#1b1f24" { "CWE-" (c.key) }
                    rect x=(L) y=(y) width=(format!("{w:.1}")) height=(BAR) fill="#0b3d91" { title { "CWE-" (c.key) ": " (c.n) } }
                    text x=(format!("{:.1}", L + w + 6.0)) y=(y + BAR / 2.0 + 4.0) font-size="12" fill="#59636e" { (c.n) }
                }
            }
            figcaption { (p.t("제출된 보고서에서 가장 많이 보고된 약점(CWE) 상위 15개입니다.", "The 15 weaknesses (CWE) reported most in the delivered reports.")) }
        }
    }
}

fn count_table(p: &Portal, caption: &str, rows: &[Count], key: &dyn Fn(&str) -> String) -> Markup {
    html! {
        div class="table-wrap" { table class="small" {
            caption { (caption) }
            thead { tr { th scope="col" { (p.t("구분", "Value")) } th scope="col" class="num" { (p.t("건수", "Count")) } } }
            tbody {
                @if rows.is_empty() { tr { td colspan="2" class="muted" { (p.t("해당 없음", "None")) } } }
                @for c in rows { tr { th scope="row" { (key(&c.key)) } td class="num" { (c.n) } } }
            }
        } }
    }
}

fn comparison_table(
    p: &Portal,
    caption: &str,
    first: &str,
    rows: &[haechi_service::insight::Comparison],
    sector_col: bool,
) -> Markup {
    html! {
        div class="table-wrap" { table class="small" {
            caption { (caption) }
            thead { tr {
                th scope="col" { (first) }
                @if sector_col { th scope="col" { (p.t("업권", "Sector")) } }
                th scope="col" class="num" { (p.t("기관", "Institutions")) }
                th scope="col" class="num" { (p.t("보고서", "Reports")) }
                th scope="col" class="num" { (p.t("신규 취약점", "New findings")) }
                th scope="col" class="num" { (p.t("AI 발견 비율", "Found by AI")) }
                th scope="col" class="num" { (p.t("SLA 준수율", "SLA compliance")) }
                th scope="col" class="num" { (p.t("P1·P2 조치 기간(일, 보고서별 중앙값의 중앙값)", "P1/P2 days to fix (median of the reports' medians)")) }
            } }
            tbody {
                @if rows.is_empty() { tr { td colspan="8" class="muted" { (p.t("해당 없음", "None")) } } }
                @for c in rows { tr {
                    th scope="row" { @if sector_col { (c.name) } @else { (sector_name(p, &c.name)) } }
                    @if sector_col { td { (sector_name(p, &c.sector)) } }
                    td class="num" { (c.institutions) }
                    td class="num" { (c.reports) }
                    td class="num" { (c.findings) }
                    td class="num" { (pct(c.ai_share())) }
                    td class="num" { (pct(c.sla_rate())) }
                    td class="num" { (days(c.median_days_p1_p2)) }
                } }
            }
        } }
    }
}

async fn regulator(
    p: Portal,
    State(st): State<AppState>,
    Query(q): Query<InsightParams>,
) -> Response {
    let query = q.query();
    let s: SectorInsight = match st.svc.sector_insight(&p.actor, &query).await {
        Ok(s) => s,
        Err(e) => return p.error(e),
    };
    let title = p.t("업권 인사이트", "Sector insight");
    let export = format!(
        "/insight/export.csv?axis={}&sector={}",
        s.axis.as_str(),
        super::url_encode(s.sector.as_deref().unwrap_or(""))
    );
    let body = html! {
        h1 { (title) }
        p class="muted" { (p.t(
            "기관이 제출(또는 수리된) 보고서의 최신판을 모아 고성능 AI 보안위험의 특성과 대응 현황을 봅니다. 감독당국 내부용으로 기관별 수치가 포함됩니다.",
            "The latest delivered (submitted or accepted) version of every report, gathered into the sector's picture of high-performance-AI security risks and responses. For the regulator only: figures per institution are shown.",
        )) }
        form method="get" action="/insight" class="filters" {
            label for="axis" { (p.t("시간 축", "Time axis")) }
            select id="axis" name="axis" {
                option value="month" selected[s.axis == Axis::Month] { (p.t("월별", "Monthly")) }
                option value="quarter" selected[s.axis == Axis::Quarter] { (p.t("분기별", "Quarterly")) }
            }
            label for="sector" { (p.t("업권", "Sector")) }
            select id="sector" name="sector" {
                option value="" { (p.t("전체 업권", "All sectors")) }
                @for code in &s.sectors {
                    option value=(code) selected[s.sector.as_deref() == Some(code.as_str())] { (sector_name(&p, code)) }
                }
            }
            button type="submit" { (p.t("보기", "Show")) }
            " "
            a href=(export) download { (p.t("CSV 내려받기", "Download CSV")) }
        }
        dl class="facts" {
            dt { (p.t("보고서", "Reports")) } dd { (s.reports) }
            dt { (p.t("기관", "Institutions")) } dd { (s.institutions) }
        }
        section {
            h2 { (p.t("AI 발견과 기존 도구 발견 추이", "Found by AI vs conventional tools over time")) }
            (trend_chart(&p, &s.trend))
            div class="table-wrap" { table class="small" {
                caption { (p.t("추이 데이터", "Trend data")) }
                thead { tr {
                    th scope="col" { (p.t("기간", "Period")) }
                    th scope="col" class="num" { (p.t(AI.1, AI.2)) }
                    th scope="col" class="num" { (p.t(CONVENTIONAL.1, CONVENTIONAL.2)) }
                    th scope="col" class="num" { (p.t("기관", "Institutions")) }
                } }
                tbody { @for t in &s.trend { tr { th scope="row" { (t.period) } td class="num" { (t.ai) } td class="num" { (t.conventional) } td class="num" { (t.institutions) } } } }
            } }
        }
        section {
            h2 { (p.t("약점 유형(CWE)", "Weaknesses (CWE)")) }
            (cwe_chart(&p, &s.by_cwe))
        }
        section {
            h2 { (p.t("심각도·우선순위", "Severity and priority")) }
            (count_table(&p, p.t("심각도별", "By severity"), &s.by_severity, &|k| label(&p, k)))
            (count_table(&p, p.t("우선순위별", "By priority"), &s.by_priority, &|k| if k == "none" { p.t("미산정", "Not prioritised").into() } else { label(&p, k) }))
        }
        section {
            h2 { (p.t("도구·AI 모델", "Tools and AI models")) }
            div class="table-wrap" { table class="small" {
                thead { tr {
                    th scope="col" { (p.t("도구", "Tool")) }
                    th scope="col" { (p.t("AI 모델", "AI model")) }
                    th scope="col" class="num" { (p.t("취약점", "Findings")) }
                    th scope="col" class="num" { (p.t("기관", "Institutions")) }
                } }
                tbody { @for t in &s.by_tool { tr { td { (t.tool) } td { (t.ai_model.as_deref().unwrap_or("—")) } td class="num" { (t.n) } td class="num" { (t.institutions) } } } }
            } }
        }
        section {
            h2 { (p.t("조치 소요 기간", "Time to remediate")) }
            div class="table-wrap" { table class="small" {
                caption { (p.t("보고서별 중앙값·p90의 중앙값(일)", "Median over the reports of their median and p90 (days)")) }
                thead { tr {
                    th scope="col" { (p.t("우선순위", "Priority")) }
                    th scope="col" class="num" { (p.t("기관", "Institutions")) }
                    th scope="col" class="num" { (p.t("조치 건수", "Fixed")) }
                    th scope="col" class="num" { (p.t("중앙값", "Median")) }
                    th scope="col" class="num" { "p90" }
                } }
                tbody { @for r in &s.remediation { tr {
                    th scope="row" { (label(&p, &r.priority)) }
                    td class="num" { (r.institutions) } td class="num" { (r.fixed) }
                    td class="num" { (days(r.median_days)) } td class="num" { (days(r.p90_days)) }
                } } }
            } }
        }
        section {
            h2 { (p.t("업권·기관 비교", "Sectors and institutions compared")) }
            (comparison_table(&p, p.t("업권별", "By sector"), p.t("업권", "Sector"), &s.by_sector, false))
            (comparison_table(&p, p.t("기관별", "By institution"), p.t("기관", "Institution"), &s.by_institution, true))
        }
        section {
            h2 { (p.t("보안 SaaS 이용", "Security SaaS in use")) }
            div class="table-wrap" { table class="small" {
                thead { tr {
                    th scope="col" { (p.t("제품", "Product")) }
                    th scope="col" class="num" { (p.t("이용 기관", "Institutions")) }
                    th scope="col" class="num" { (p.t("의견서 범위 밖 이용", "Used outside the letter's scope")) }
                } }
                tbody { @for r in &s.saas { tr { td { (r.product) } td class="num" { (r.institutions) } td class="num" { (r.outside_scope) } } } }
            } }
        }
    };
    p.page(title, body)
}

async fn export(p: Portal, State(st): State<AppState>, Query(q): Query<InsightParams>) -> Response {
    match st.svc.sector_insight_csv(&p.actor, &q.query()).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"haechi-sector-insight.csv\"",
                ),
            ],
            csv,
        )
            .into_response(),
        Err(e) => p.error(e),
    }
}

fn withheld_text(p: &Portal, w: Withheld) -> &'static str {
    match w {
        Withheld::TooFewInstitutions => {
            p.t("비공개(기관 수 부족)", "Withheld (too few institutions)")
        }
        Withheld::Dominated => p.t(
            "비공개(소수 기관 편중)",
            "Withheld (dominated by one or two)",
        ),
        Withheld::Complementary => p.t("비공개(역산 방지)", "Withheld (would reveal another)"),
    }
}

fn cell(p: &Portal, c: &Published) -> Markup {
    html! {
        @match (c.value, c.withheld) {
            (Some(v), _) => td class="num" { (format!("{v:.0}")) },
            (None, Some(w)) => td class="num withheld" { span class="muted" { (withheld_text(p, w)) } },
            (None, None) => td class="num" { "—" },
        }
    }
}

fn dimension_title(p: &Portal, d: &str) -> &'static str {
    match d {
        "severity" => p.t("심각도별 신규 취약점", "New findings by severity"),
        "priority" => p.t("우선순위별 신규 취약점", "New findings by priority"),
        "origin" => p.t(
            "발견 방식별 신규 취약점",
            "New findings by how they were found",
        ),
        _ => p.t("SLA 조치 결과", "SLA outcomes"),
    }
}

fn row_label(p: &Portal, key: &str) -> String {
    match key {
        "fixed_in_time" => p.t("기한 내 조치", "Fixed in time").into(),
        "fixed_late" => p.t("기한 후 조치", "Fixed late").into(),
        "open_breached" => p.t("기한 초과 미조치", "Open, SLA breached").into(),
        other => label(p, other),
    }
}

async fn institution(p: Portal, State(st): State<AppState>) -> Response {
    let v = match st.svc.sector_view(&p.actor).await {
        Ok(v) => v,
        Err(e) => return p.error(e),
    };
    let title = p.t("업권 현황(익명 통계)", "Sector view (anonymised)");
    let body = html! {
        h1 { (title) }
        p { (p.t("각 업권 값은 제출된 보고서를 합산한 것이며, 다음 규칙에 맞지 않는 칸은 공개하지 않습니다: ", "Each sector's figures add up the delivered reports; a cell is withheld when it breaks one of these rules: ")) }
        ul {
            li { (p.t("한 칸은 최소 ", "a cell rests on at least ")) (v.k) (p.t("개 기관의 값으로 이루어져야 합니다.", " institutions;")) }
            li { (p.t("상위 ", "its largest ")) (v.dominance_top_n) (p.t("개 기관의 합이 ", " institutions make up at most ")) (format!("{:.0}%", v.dominance_max_percent)) (p.t(" 이하여야 합니다.", " of it;")) }
            li { (p.t("비공개 칸을 합계에서 역산할 수 없도록 다른 칸도 함께 비공개할 수 있습니다.", "other cells may be withheld too, so that a withheld cell cannot be recomputed from the totals.")) }
        }
        @for t in &v.tables {
            section {
                h2 { (dimension_title(&p, t.dimension)) }
                div class="table-wrap" { table class="small" {
                    thead { tr {
                        th scope="col" { (p.t("구분", "Value")) }
                        th scope="col" class="num" { (p.t("우리 기관", "Our institution")) }
                        @for s in &v.sectors {
                            th scope="col" class="num" {
                                (sector_name(&p, s))
                                @if v.own_sector.as_deref() == Some(s.as_str()) { " " span class="badge" { (p.t("소속", "ours")) } }
                            }
                        }
                        th scope="col" class="num" { (p.t("전체", "All sectors")) }
                    } }
                    tbody {
                        @for (i, key) in t.rows.iter().enumerate() {
                            tr {
                                th scope="row" { (row_label(&p, key)) }
                                td class="num" { (t.own.get(i).copied().unwrap_or(0)) }
                                @for c in t.table.cells.get(i).map(Vec::as_slice).unwrap_or(&[]) { (cell(&p, c)) }
                                @if let Some(c) = t.table.row_totals.get(i) { (cell(&p, c)) }
                            }
                        }
                        tr {
                            th scope="row" { (p.t("합계", "Total")) }
                            td class="num" { (t.own.iter().sum::<i64>()) }
                            @for c in &t.table.column_totals { (cell(&p, c)) }
                            (cell(&p, &t.table.total))
                        }
                    }
                } }
            }
        }
    };
    p.page(title, body)
}
