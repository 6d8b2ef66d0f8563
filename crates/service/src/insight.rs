//! Sector insight (C9) from the reports the institutions delivered (the latest submitted or
//! accepted version of each obligation's report): for the regulator, trends by CWE, severity,
//! priority, sector, AI-found vs conventional, tool and AI model, time to remediate and SLA
//! compliance on a month or quarter axis, with a comparison between sectors and institutions and
//! a CSV export; for institution users, the anonymised sector view — sectors' figures with every
//! cell the policy's anonymity rules withhold (k institutions, dominance, complementary
//! suppression; `haechi_policy::anonymity`) — beside their own figures.
//!
//! Reading the stored report figures, not the findings, keeps the regulator's page independent
//! of how many findings the sector holds: it reads one row per delivered report.
//!
//! What it must not do: change anything, or let an institution user see any other
//! institution's figure except through [`anonymity::protect`].

use std::collections::{BTreeMap, BTreeSet};

use haechi_core::Actor;
use haechi_policy::anonymity::{self, AnonymityRule, Cell, PublishedTable};
use serde::Serialize;

use crate::authz::{self, Action};
use crate::reports::{Count, Figures, PRIORITIES};
use crate::{Result, Service, ServiceError};

/// The time axis of the trends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Axis {
    #[default]
    Month,
    Quarter,
}

impl Axis {
    pub fn parse(s: &str) -> Axis {
        if s == "quarter" {
            Axis::Quarter
        } else {
            Axis::Month
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Axis::Month => "month",
            Axis::Quarter => "quarter",
        }
    }

    /// The axis label of a month `YYYY-MM`.
    pub fn label(self, month: &str) -> String {
        match self {
            Axis::Month => month.to_string(),
            Axis::Quarter => {
                let m: u32 = month.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
                format!("{}-Q{}", month.get(..4).unwrap_or(month), m.div_ceil(3))
            }
        }
    }
}

/// What the regulator's page is asked for.
#[derive(Debug, Clone, Default)]
pub struct InsightQuery {
    pub axis: Axis,
    /// One sector's code, or every sector.
    pub sector: Option<String>,
}

/// Findings of one period of the axis.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TrendPoint {
    pub period: String,
    pub ai: i64,
    pub conventional: i64,
    pub institutions: usize,
}

/// Findings of one tool and AI model across the sector.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ToolRow {
    pub tool: String,
    pub ai_model: Option<String>,
    pub n: i64,
    pub institutions: usize,
}

/// The figures of one sector or one institution, side by side.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Comparison {
    /// Sector code, or the institution's name.
    pub name: String,
    pub sector: String,
    pub institutions: usize,
    pub reports: usize,
    pub findings: i64,
    pub ai_found: i64,
    pub fixed_in_time: i64,
    pub fixed_late: i64,
    pub open_breached: i64,
    /// Median over the reports of their P1/P2 median time to remediate, in days.
    pub median_days_p1_p2: Option<f64>,
}

impl Comparison {
    pub fn ai_share(&self) -> Option<f64> {
        (self.findings > 0).then(|| 100.0 * self.ai_found as f64 / self.findings as f64)
    }

    pub fn sla_rate(&self) -> Option<f64> {
        let all = self.fixed_in_time + self.fixed_late + self.open_breached;
        (all > 0).then(|| 100.0 * self.fixed_in_time as f64 / all as f64)
    }
}

/// Time to remediate across institutions for one priority.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RemediationRow {
    pub priority: String,
    pub institutions: usize,
    pub fixed: i64,
    /// Median of the reports' medians, and of their p90s, in days.
    pub median_days: Option<f64>,
    pub p90_days: Option<f64>,
}

/// A security SaaS product in use across the sector.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SaasRow {
    pub product: String,
    pub institutions: usize,
    pub outside_scope: usize,
}

/// The regulator's sector insight.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SectorInsight {
    pub axis: Axis,
    pub sector: Option<String>,
    pub sectors: Vec<String>,
    pub reports: usize,
    pub institutions: usize,
    pub trend: Vec<TrendPoint>,
    pub by_severity: Vec<Count>,
    pub by_priority: Vec<Count>,
    pub by_cwe: Vec<Count>,
    pub by_tool: Vec<ToolRow>,
    pub remediation: Vec<RemediationRow>,
    pub by_sector: Vec<Comparison>,
    pub by_institution: Vec<Comparison>,
    pub saas: Vec<SaasRow>,
}

/// Time to remediate of one priority, gathered over the reports.
#[derive(Default)]
struct RemAcc {
    institutions: BTreeSet<i64>,
    fixed: i64,
    medians: Vec<f64>,
    p90s: Vec<f64>,
}

/// One report's figures with whose they are.
struct Delivered {
    institution_id: i64,
    institution_name: String,
    sector: String,
    figures: Figures,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let m = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some((m * 10.0).round() / 10.0)
}

fn add(map: &mut BTreeMap<String, i64>, key: &str, n: i64) {
    *map.entry(key.to_string()).or_insert(0) += n;
}

fn sorted(map: BTreeMap<String, i64>, limit: usize) -> Vec<Count> {
    let mut v: Vec<Count> = map.into_iter().map(|(key, n)| Count { key, n }).collect();
    v.sort_by(|a, b| b.n.cmp(&a.n).then(a.key.cmp(&b.key)));
    v.truncate(limit);
    v
}

fn compare<'a>(
    name: &str,
    sector: &str,
    reports: impl Iterator<Item = &'a Delivered>,
) -> Comparison {
    let mut c = Comparison {
        name: name.to_string(),
        sector: sector.to_string(),
        ..Comparison::default()
    };
    let mut institutions = BTreeSet::new();
    let mut medians = Vec::new();
    for d in reports {
        institutions.insert(d.institution_id);
        c.reports += 1;
        c.findings += d.figures.findings;
        c.ai_found += d.figures.ai_found;
        for s in &d.figures.sla {
            c.fixed_in_time += s.fixed_in_time;
            c.fixed_late += s.fixed_late;
            c.open_breached += s.open_breached;
        }
        medians.extend(
            d.figures
                .remediation
                .iter()
                .filter(|r| r.priority == "P1" || r.priority == "P2")
                .filter_map(|r| r.median_days),
        );
    }
    c.institutions = institutions.len();
    c.median_days_p1_p2 = median(medians);
    c
}

impl Service {
    async fn delivered(&self, sector: Option<&str>) -> Result<Vec<Delivered>> {
        let mut out = Vec::new();
        for d in haechi_store::delivered_reports(self.store.pool(), None).await? {
            if sector.is_some_and(|s| s != d.sector) {
                continue;
            }
            let figures: Figures = serde_json::from_str(&d.report.figures_json)
                .map_err(|e| ServiceError::rule("corrupt_report", e.to_string()))?;
            out.push(Delivered {
                institution_id: d.report.institution_id,
                institution_name: d.institution_name,
                sector: d.sector,
                figures,
            });
        }
        Ok(out)
    }

    /// The regulator's sector insight over every delivered report (or one sector's).
    pub async fn sector_insight(&self, actor: &Actor, q: &InsightQuery) -> Result<SectorInsight> {
        authz::authorize(actor, Action::ReadSectorInsight)?;
        let all = self.delivered(None).await?;
        let sectors: Vec<String> = all
            .iter()
            .map(|d| d.sector.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let data: Vec<&Delivered> = all
            .iter()
            .filter(|d| q.sector.as_deref().is_none_or(|s| s == d.sector))
            .collect();
        let mut trend: BTreeMap<String, (TrendPoint, BTreeSet<i64>)> = BTreeMap::new();
        let (mut sev, mut pri, mut cwe) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let mut tools: BTreeMap<(String, Option<String>), (i64, BTreeSet<i64>)> = BTreeMap::new();
        let mut rem: BTreeMap<String, RemAcc> = BTreeMap::new();
        let mut saas: BTreeMap<String, (BTreeSet<i64>, BTreeSet<i64>)> = BTreeMap::new();
        for d in &data {
            let f = &d.figures;
            for m in &f.by_month {
                let period = q.axis.label(&m.month);
                let e = trend.entry(period.clone()).or_insert_with(|| {
                    (
                        TrendPoint {
                            period,
                            ..TrendPoint::default()
                        },
                        BTreeSet::new(),
                    )
                });
                e.0.ai += m.ai;
                e.0.conventional += m.conventional;
                e.1.insert(d.institution_id);
            }
            for c in &f.by_severity {
                add(&mut sev, &c.key, c.n);
            }
            for c in &f.by_priority {
                add(&mut pri, &c.key, c.n);
            }
            for c in &f.by_cwe {
                add(&mut cwe, &c.key, c.n);
            }
            for t in &f.by_tool {
                let e = tools
                    .entry((t.tool.clone(), t.ai_model.clone()))
                    .or_default();
                e.0 += t.n;
                e.1.insert(d.institution_id);
            }
            for r in &f.remediation {
                let e = rem.entry(r.priority.clone()).or_default();
                e.institutions.insert(d.institution_id);
                e.fixed += r.fixed;
                e.medians.extend(r.median_days);
                e.p90s.extend(r.p90_days);
            }
            for s in &f.saas {
                let e = saas.entry(s.product.clone()).or_default();
                e.0.insert(d.institution_id);
                if !s.in_letter_scope {
                    e.1.insert(d.institution_id);
                }
            }
        }
        let mut by_tool: Vec<ToolRow> = tools
            .into_iter()
            .map(|((tool, ai_model), (n, inst))| ToolRow {
                tool,
                ai_model,
                n,
                institutions: inst.len(),
            })
            .collect();
        by_tool.sort_by_key(|t| std::cmp::Reverse(t.n));
        let mut by_priority = sorted(pri, 10);
        by_priority.sort_by(|a, b| a.key.cmp(&b.key));
        let by_sector = sectors
            .iter()
            .filter(|s| q.sector.as_deref().is_none_or(|x| x == s.as_str()))
            .map(|s| compare(s, s, data.iter().copied().filter(|d| &d.sector == s)))
            .collect();
        let mut names: BTreeMap<i64, (&str, &str)> = BTreeMap::new();
        for d in &data {
            names.insert(d.institution_id, (&d.institution_name, &d.sector));
        }
        let by_institution = names
            .iter()
            .map(|(id, (name, sector))| {
                compare(
                    name,
                    sector,
                    data.iter().copied().filter(|d| d.institution_id == *id),
                )
            })
            .collect();
        Ok(SectorInsight {
            axis: q.axis,
            sector: q.sector.clone(),
            sectors,
            reports: data.len(),
            institutions: names.len(),
            trend: trend
                .into_values()
                .map(|(mut t, inst)| {
                    t.institutions = inst.len();
                    t
                })
                .collect(),
            by_severity: sorted(sev, 10),
            by_priority,
            by_cwe: sorted(cwe, 15),
            by_tool,
            remediation: PRIORITIES
                .iter()
                .filter_map(|p| {
                    let acc = rem.remove(*p)?;
                    Some(RemediationRow {
                        priority: p.to_string(),
                        institutions: acc.institutions.len(),
                        fixed: acc.fixed,
                        median_days: median(acc.medians),
                        p90_days: median(acc.p90s),
                    })
                })
                .collect(),
            by_sector,
            by_institution,
            saas: {
                let mut v: Vec<SaasRow> = saas
                    .into_iter()
                    .map(|(product, (inst, out))| SaasRow {
                        product,
                        institutions: inst.len(),
                        outside_scope: out.len(),
                    })
                    .collect();
                v.sort_by_key(|r| std::cmp::Reverse(r.institutions));
                v
            },
        })
    }

    /// The regulator's insight as CSV rows (dimension, key, sub-key, value); cells a spreadsheet
    /// would run as formulas are escaped.
    pub async fn sector_insight_csv(&self, actor: &Actor, q: &InsightQuery) -> Result<String> {
        let s = self.sector_insight(actor, q).await?;
        let mut rows: Vec<[String; 4]> = Vec::new();
        let mut push = |a: &str, b: &str, c: &str, d: String| {
            rows.push([a.to_string(), b.to_string(), c.to_string(), d])
        };
        for t in &s.trend {
            push("trend", &t.period, "ai_generated", t.ai.to_string());
            push(
                "trend",
                &t.period,
                "conventional",
                t.conventional.to_string(),
            );
        }
        for (dim, list) in [("severity", &s.by_severity), ("priority", &s.by_priority)] {
            for c in list.iter() {
                push(dim, &c.key, "", c.n.to_string());
            }
        }
        for c in &s.by_cwe {
            push("cwe", &format!("CWE-{}", c.key), "", c.n.to_string());
        }
        for t in &s.by_tool {
            push(
                "tool",
                &t.tool,
                t.ai_model.as_deref().unwrap_or(""),
                t.n.to_string(),
            );
        }
        for r in &s.remediation {
            let days = |v: Option<f64>| v.map(|d| format!("{d:.1}")).unwrap_or_default();
            push(
                "time_to_remediate_median_days",
                &r.priority,
                "",
                days(r.median_days),
            );
            push(
                "time_to_remediate_p90_days",
                &r.priority,
                "",
                days(r.p90_days),
            );
        }
        for (dim, list) in [("sector", &s.by_sector), ("institution", &s.by_institution)] {
            for c in list.iter() {
                push(dim, &c.name, "findings", c.findings.to_string());
                push(dim, &c.name, "ai_found", c.ai_found.to_string());
                push(dim, &c.name, "fixed_in_time", c.fixed_in_time.to_string());
                push(dim, &c.name, "fixed_late", c.fixed_late.to_string());
                push(dim, &c.name, "open_breached", c.open_breached.to_string());
            }
        }
        for r in &s.saas {
            push(
                "saas",
                &r.product,
                "institutions",
                r.institutions.to_string(),
            );
            push(
                "saas",
                &r.product,
                "outside_letter_scope",
                r.outside_scope.to_string(),
            );
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        let io = |e: csv::Error| ServiceError::rule("csv", e.to_string());
        w.write_record(["dimension", "key", "sub", "value"])
            .map_err(io)?;
        for r in &rows {
            w.write_record(r.iter().map(|c| csv_cell(c).into_bytes()))
                .map_err(io)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| ServiceError::rule("csv", e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| ServiceError::rule("csv", e.to_string()))
    }

    /// The anonymised sector view for an institution user: findings by severity, priority and
    /// origin, and SLA outcomes, per sector, with every cell the anonymity rules withhold; and
    /// the institution's own figures beside them.
    pub async fn sector_view(&self, actor: &Actor) -> Result<SectorView> {
        authz::authorize(actor, Action::ReadSectorView)?;
        let own = actor.institution_id.ok_or(ServiceError::NotFound)?;
        let policy = self.policy();
        let rule = AnonymityRule::of(&policy);
        let all = self.delivered(None).await?;
        let sectors: Vec<String> = all
            .iter()
            .map(|d| d.sector.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let own_sector = haechi_store::get_institution(self.store.pool(), own)
            .await?
            .map(|i| i.input.sector.as_str().to_string());
        type Pick = fn(&Figures) -> Vec<(String, i64)>;
        let dims: [(&'static str, Vec<String>, Pick); 4] = [
            (
                "severity",
                ["critical", "high", "medium", "low"]
                    .map(String::from)
                    .to_vec(),
                |f| f.by_severity.iter().map(|c| (c.key.clone(), c.n)).collect(),
            ),
            ("priority", PRIORITIES.map(String::from).to_vec(), |f| {
                f.by_priority.iter().map(|c| (c.key.clone(), c.n)).collect()
            }),
            (
                "origin",
                vec!["ai_generated".into(), "conventional".into()],
                |f| {
                    vec![
                        ("ai_generated".into(), f.ai_found),
                        ("conventional".into(), f.conventional),
                    ]
                },
            ),
            (
                "sla",
                vec![
                    "fixed_in_time".into(),
                    "fixed_late".into(),
                    "open_breached".into(),
                ],
                |f| {
                    let mut v = Vec::new();
                    for s in &f.sla {
                        v.push(("fixed_in_time".into(), s.fixed_in_time));
                        v.push(("fixed_late".into(), s.fixed_late));
                        v.push(("open_breached".into(), s.open_breached));
                    }
                    v
                },
            ),
        ];
        let mut tables = Vec::new();
        for (dimension, rows, pick) in dims {
            let mut cells = vec![vec![Cell::default(); sectors.len()]; rows.len()];
            let mut mine = vec![0i64; rows.len()];
            for d in &all {
                let Some(c) = sectors.iter().position(|s| *s == d.sector) else {
                    continue;
                };
                for (key, n) in pick(&d.figures) {
                    if let Some(r) = rows.iter().position(|k| *k == key) {
                        cells[r][c].add(d.institution_id, n as f64);
                        if d.institution_id == own {
                            mine[r] += n;
                        }
                    }
                }
            }
            tables.push(AnonymisedTable {
                dimension,
                table: anonymity::protect(&rule, &cells),
                rows,
                own: mine,
            });
        }
        Ok(SectorView {
            k: rule.k,
            dominance_top_n: rule.dominance.top_n,
            dominance_max_percent: rule.dominance.max_percent,
            own_sector,
            sectors,
            tables,
        })
    }
}

/// A cell for CSV: formula-like cells escaped (`haechi_formats::csv_cell`).
fn csv_cell(c: &str) -> String {
    haechi_formats::csv_cell::escape(c).into_owned()
}

/// One anonymised table: rows (keys of a dimension) by sector columns, and the institution's own
/// figure per row.
#[derive(Debug, Clone)]
pub struct AnonymisedTable {
    /// `severity`, `priority`, `origin` or `sla`.
    pub dimension: &'static str,
    pub rows: Vec<String>,
    pub table: PublishedTable,
    pub own: Vec<i64>,
}

/// The anonymised sector view.
#[derive(Debug, Clone)]
pub struct SectorView {
    pub k: u32,
    pub dominance_top_n: u32,
    pub dominance_max_percent: f64,
    pub own_sector: Option<String>,
    pub sectors: Vec<String>,
    pub tables: Vec<AnonymisedTable>,
}
