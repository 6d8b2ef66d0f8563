//! Reports of institutions under relief (C7): what an obligation of a letter is answered with.
//!
//! A report is compiled from the institution's own data for the obligation's period (findings by
//! severity, CWE, priority, status and AI-found vs conventional, time to remediate, SLA
//! compliance, AI testing runs with tool and model, patch records, the security-SaaS register
//! with its self-evaluations, and the letter's scope against that register); the numbers are
//! stored with the report and a recompile keeps the figures before, so the page shows what
//! changed. Staff write the three narrative sections the FSC asks for (risk characteristics
//! found; risks if such AI were used offensively; defences that worked) in Korean, optionally
//! English. The CISO signs off and submits: the version is frozen with the SHA-256 of its RFC 8785
//! canonical content (in the audit entry too) and nothing can change it; the officer accepts it,
//! or returns it with comments per section, and the next compile starts a new version while the
//! old one stays readable.
//!
//! What it must not do: change an obligation's status other than through the store's
//! `set_obligation_status`, in the same transaction as the report's change.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate, NaiveDateTime};
use haechi_core::{Actor, FieldError};
use haechi_letter::{NoActionLetter, ServiceKind};
use haechi_store::{
    ImportSummary, NewReport, NewReportAttachment, ObligationRow, PatchSummary, ReportAttachment,
    ReportRow, WriteTx,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::authz::{self, Action, Owner};
use crate::{record, Result, Service, ServiceError};

/// Priorities in order, for the per-priority figures.
pub const PRIORITIES: [&str; 5] = ["P1", "P2", "P3", "P4", "P5"];

/// The three narrative sections, by key.
pub const SECTIONS: [&str; 3] = ["risk", "offensive", "defences"];

/// Longest narrative section accepted, in characters.
pub const MAX_SECTION_CHARS: usize = 20_000;

/// A count of one key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Count {
    pub key: String,
    pub n: i64,
}

/// Findings of one tool (and AI model, when one ran it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCount {
    pub tool: String,
    pub ai_model: Option<String>,
    pub n: i64,
}

/// Findings first seen in one month, AI-found and conventional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonthCount {
    pub month: String,
    pub ai: i64,
    pub conventional: i64,
}

/// Time to remediate the findings of one priority fixed in the period, in days.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Remediation {
    pub priority: String,
    pub fixed: i64,
    pub median_days: Option<f64>,
    pub p90_days: Option<f64>,
}

/// SLA outcome of one priority: fixed in the period in time or late, and still open past due.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sla {
    pub priority: String,
    pub fixed_in_time: i64,
    pub fixed_late: i64,
    pub open_breached: i64,
}

impl Sla {
    /// Share handled in time, in percent, when anything was due.
    pub fn rate(&self) -> Option<f64> {
        let all = self.fixed_in_time + self.fixed_late + self.open_breached;
        (all > 0).then(|| 100.0 * self.fixed_in_time as f64 / all as f64)
    }
}

/// An AI testing run or import summary of the period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub tool: String,
    pub tool_version: Option<String>,
    pub ai_model: Option<String>,
    pub ai_model_version: Option<String>,
    pub runs: i64,
    pub results: i64,
}

/// Patch records of the period and their safeguards.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Patches {
    pub records: i64,
    pub pre_testing_done: i64,
    pub rollback_ready: i64,
    pub kill_switch_ready: i64,
    pub isolation_ready: i64,
    pub continuity_plan: i64,
    pub customers_notified_in_advance: i64,
    pub findings_fixed: i64,
}

/// A security SaaS of the register, its latest self-evaluation and whether the letter permits it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SaasUse {
    pub product: String,
    pub vendor: String,
    pub certifications: Vec<String>,
    pub data_classes: Vec<String>,
    pub last_evaluated_on: Option<String>,
    pub last_result: Option<String>,
    pub evaluated_in_period: bool,
    pub in_letter_scope: bool,
}

/// The numbers of a report, computed at compile time and stored with it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub period_start: String,
    pub period_end: String,
    pub findings: i64,
    pub ai_found: i64,
    pub conventional: i64,
    pub by_severity: Vec<Count>,
    pub by_priority: Vec<Count>,
    pub by_status: Vec<Count>,
    pub by_cwe: Vec<Count>,
    pub by_tool: Vec<ToolCount>,
    pub by_month: Vec<MonthCount>,
    pub remediation: Vec<Remediation>,
    pub sla: Vec<Sla>,
    pub runs: Vec<Run>,
    pub patches: Patches,
    pub saas: Vec<SaasUse>,
    /// SaaS products the letter permits that the register does not list.
    pub scope_not_in_register: Vec<String>,
}

/// One figure that a recompile changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FigureChange {
    pub figure: String,
    pub before: String,
    pub after: String,
}

/// The narrative sections: Korean required at submission, English optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Narrative {
    #[serde(default)]
    pub risk_ko: String,
    #[serde(default)]
    pub risk_en: String,
    #[serde(default)]
    pub offensive_ko: String,
    #[serde(default)]
    pub offensive_en: String,
    #[serde(default)]
    pub defences_ko: String,
    #[serde(default)]
    pub defences_en: String,
}

impl Narrative {
    /// (Korean, English) of a section by key.
    pub fn section(&self, key: &str) -> (&str, &str) {
        match key {
            "risk" => (&self.risk_ko, &self.risk_en),
            "offensive" => (&self.offensive_ko, &self.offensive_en),
            _ => (&self.defences_ko, &self.defences_en),
        }
    }

    fn fields(&self) -> [(&'static str, &str); 6] {
        [
            ("risk_ko", &self.risk_ko),
            ("risk_en", &self.risk_en),
            ("offensive_ko", &self.offensive_ko),
            ("offensive_en", &self.offensive_en),
            ("defences_ko", &self.defences_ko),
            ("defences_en", &self.defences_en),
        ]
    }
}

/// The officer's decision: a comment per section (`figures` and the narrative keys) and overall.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Review {
    #[serde(default)]
    pub general: String,
    #[serde(default)]
    pub sections: BTreeMap<String, String>,
}

impl Review {
    fn is_empty(&self) -> bool {
        self.general.trim().is_empty() && self.sections.values().all(|c| c.trim().is_empty())
    }
}

/// One version of a report, read.
#[derive(Debug, Clone, Serialize)]
pub struct ReportVersion {
    #[serde(flatten)]
    pub row: ReportRow,
    pub figures: Figures,
    pub narrative: Narrative,
    pub review: Option<Review>,
    /// What the last recompile changed (empty when nothing or never recompiled).
    pub changes: Vec<FigureChange>,
    /// The version's evidence files (their hashes are part of the frozen content).
    pub attachments: Vec<ReportAttachment>,
}

impl ReportVersion {
    pub fn frozen(&self) -> bool {
        self.row.content_hash.is_some()
    }
}

/// An obligation with every version of its report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub obligation: crate::letters::ObligationView,
    pub versions: Vec<ReportVersion>,
}

impl Report {
    pub fn latest(&self) -> Option<&ReportVersion> {
        self.versions.last()
    }
}

/// An obligation with the state of its latest report version, for the lists.
#[derive(Debug, Clone, Serialize)]
pub struct ReportListItem {
    pub obligation: crate::letters::ObligationView,
    pub version: Option<i64>,
    pub report_state: Option<String>,
}

fn read_version(row: ReportRow, attachments: Vec<ReportAttachment>) -> Result<ReportVersion> {
    let figures: Figures = serde_json::from_str(&row.figures_json)
        .map_err(|e| ServiceError::rule("corrupt_report", e.to_string()))?;
    let narrative: Narrative = serde_json::from_str(&row.narrative_json)
        .map_err(|e| ServiceError::rule("corrupt_report", e.to_string()))?;
    let review = row
        .review_json
        .as_deref()
        .and_then(|j| serde_json::from_str(j).ok());
    let changes = row
        .previous_figures_json
        .as_deref()
        .and_then(|j| serde_json::from_str::<Figures>(j).ok())
        .map(|before| figure_changes(&before, &figures))
        .unwrap_or_default();
    Ok(ReportVersion {
        row,
        figures,
        narrative,
        review,
        changes,
        attachments,
    })
}

/// The figures that differ between two compiles, flattened to `path = value` pairs.
pub fn figure_changes(before: &Figures, after: &Figures) -> Vec<FigureChange> {
    let flat = |f: &Figures| {
        let mut out = BTreeMap::new();
        flatten("", &crate::to_json(f), &mut out);
        out
    };
    let (a, b) = (flat(before), flat(after));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| FigureChange {
            figure: k.clone(),
            before: a.get(k).cloned().unwrap_or_else(|| "—".into()),
            after: b.get(k).cloned().unwrap_or_else(|| "—".into()),
        })
        .collect()
}

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, v, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                // Items with a natural key are named by it, so a reordering is no change.
                let name = ["key", "priority", "month", "product", "tool"]
                    .iter()
                    .find_map(|k| item.get(*k).and_then(Value::as_str))
                    .map(|s| {
                        let model = item
                            .get("ai_model")
                            .and_then(Value::as_str)
                            .map(|m| format!("/{m}"))
                            .unwrap_or_default();
                        format!("{s}{model}")
                    })
                    .unwrap_or_else(|| i.to_string());
                flatten(&format!("{prefix}[{name}]"), item, out);
            }
        }
        Value::Null => {
            out.insert(prefix.to_string(), "—".into());
        }
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// The `p`-quantile (0..=1) of sorted values, by linear interpolation.
fn quantile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = p * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let (a, b) = (sorted[lo], sorted[hi.min(sorted.len() - 1)]);
    Some(((a + (b - a) * (pos - lo as f64)) * 10.0).round() / 10.0)
}

fn parse_time(s: &str) -> Option<NaiveDateTime> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.naive_utc())
        .or_else(|| {
            NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

fn counts(rows: &[haechi_store::KeyCount], none: &str) -> Vec<Count> {
    let mut out: Vec<Count> = rows
        .iter()
        .map(|r| Count {
            key: if r.key.is_empty() {
                none.to_string()
            } else {
                r.key.clone()
            },
            n: r.n,
        })
        .collect();
    out.sort_by(|a, b| b.n.cmp(&a.n).then(a.key.cmp(&b.key)));
    out
}

/// The canonical content a submitted version's hash covers: the version's identity, figures and
/// narrative, and — when it has any — its evidence files (name, type, size and SHA-256 each, in
/// upload order). A version without files hashes exactly as before files existed.
pub fn content_hash(
    row: &ReportRow,
    figures: &Figures,
    narrative: &Narrative,
    attachments: &[ReportAttachment],
) -> Result<String> {
    let mut doc = serde_json::json!({
        "schema": "haechi-report-v1",
        "obligation_id": row.obligation_id,
        "institution_id": row.institution_id,
        "version": row.version,
        "compiled_at": row.compiled_at,
        "figures": figures,
        "narrative": narrative,
    });
    if !attachments.is_empty() {
        doc["attachments"] = attachments
            .iter()
            .map(|a| {
                serde_json::json!({
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "size_bytes": a.size_bytes,
                    "sha256": a.sha256,
                })
            })
            .collect();
    }
    let bytes = haechi_letter::jcs::canonicalize(&doc)
        .map_err(|e| ServiceError::rule("corrupt_report", e.to_string()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

impl Service {
    /// The obligation behind a report, authorised for `action` on its institution.
    async fn report_obligation(
        &self,
        tx: &mut WriteTx,
        actor: &Actor,
        action: Action,
        obligation_id: i64,
    ) -> Result<ObligationRow> {
        authz::authorize(actor, action)?;
        let o = haechi_store::list_obligations(tx.conn(), None, None)
            .await?
            .into_iter()
            .find(|o| o.id == obligation_id)
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(actor, action, Owner::Institution(o.institution_id))?;
        Ok(o)
    }

    fn stamp(&self) -> String {
        self.clock_text().unwrap_or_else(haechi_store::now_text)
    }

    /// Computes a report's figures from the institution's own data for the obligation's period.
    pub(crate) async fn compile_figures(&self, o: &ObligationRow) -> Result<Figures> {
        let pool = self.store.pool();
        let start = o.period_start.get(..10).unwrap_or(&o.period_start);
        let end = o.period_end.get(..10).unwrap_or(&o.period_end);
        let until = NaiveDate::parse_from_str(end, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.checked_add_days(Days::new(1)))
            .map(|d| d.format("%Y-%m-%d").to_string())
            .ok_or_else(|| ServiceError::rule("corrupt_obligation", "period end is not a date"))?;
        let src = haechi_store::report_source(pool, o.institution_id, start, &until).await?;
        let origin = |k: &str| {
            src.by_origin
                .iter()
                .filter(|c| (c.key == "ai_generated") == (k == "ai"))
                .map(|c| c.n)
                .sum::<i64>()
        };
        let mut months: BTreeMap<String, MonthCount> = BTreeMap::new();
        for m in &src.by_month {
            let e = months.entry(m.key.clone()).or_insert_with(|| MonthCount {
                month: m.key.clone(),
                ..MonthCount::default()
            });
            if m.sub == "ai_generated" {
                e.ai += m.n;
            } else {
                e.conventional += m.n;
            }
        }
        let mut days: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut sla: BTreeMap<String, Sla> = BTreeMap::new();
        for f in &src.fixed {
            let v = f.seconds.iter().map(|s| *s as f64 / 86_400.0).collect();
            days.insert(f.priority.clone(), v);
            if f.fixed_in_time + f.fixed_late > 0 {
                let e = sla.entry(f.priority.clone()).or_default();
                e.fixed_in_time += f.fixed_in_time;
                e.fixed_late += f.fixed_late;
            }
        }
        for b in &src.open_breached {
            sla.entry(b.key.clone()).or_default().open_breached += b.n;
        }
        let remediation = PRIORITIES
            .iter()
            .filter_map(|p| {
                let mut v = days.remove(*p)?;
                v.sort_by(f64::total_cmp);
                Some(Remediation {
                    priority: p.to_string(),
                    fixed: v.len() as i64,
                    median_days: quantile(&v, 0.5),
                    p90_days: quantile(&v, 0.9),
                })
            })
            .collect();
        let sla = PRIORITIES
            .iter()
            .filter_map(|p| {
                sla.remove(*p).map(|s| Sla {
                    priority: p.to_string(),
                    ..s
                })
            })
            .collect();
        // The register against the letter's scope.
        let letter: Option<NoActionLetter> = haechi_store::get_letter(pool, o.letter_id)
            .await?
            .and_then(|l| serde_json::from_str(&l.draft_json).ok());
        let permitted: Vec<(String, String)> = letter
            .map(|l| {
                l.scope
                    .services
                    .into_iter()
                    .filter(|s| s.kind == ServiceKind::SaasProduct)
                    .map(|s| (s.name, s.vendor))
                    .collect()
            })
            .unwrap_or_default();
        let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        let mut saas = Vec::new();
        for s in haechi_store::list_saas(pool, o.institution_id).await? {
            let evals = haechi_store::saas_evaluations(pool, s.id).await?;
            let last = evals.first();
            saas.push(SaasUse {
                in_letter_scope: permitted.iter().any(|(n, _)| same(n, &s.product)),
                evaluated_in_period: evals.iter().any(|e| {
                    e.evaluated_on.as_str() >= start
                        && e.evaluated_on.get(..10).unwrap_or("") <= end
                }),
                last_evaluated_on: last.map(|e| e.evaluated_on.clone()),
                last_result: last.map(|e| e.result.clone()),
                product: s.product,
                vendor: s.vendor,
                certifications: s.certifications,
                data_classes: s.data_classes,
            });
        }
        let scope_not_in_register = permitted
            .iter()
            .filter(|(n, _)| !saas.iter().any(|s| same(n, &s.product)))
            .map(|(n, v)| format!("{n} ({v})"))
            .collect();
        let run = |i: &ImportSummary| Run {
            tool: i.tool.clone(),
            tool_version: i.tool_version.clone(),
            ai_model: i.ai_model.clone(),
            ai_model_version: i.ai_model_version.clone(),
            runs: i.runs,
            results: i.results,
        };
        let p: &PatchSummary = &src.patches;
        Ok(Figures {
            period_start: start.to_string(),
            period_end: end.to_string(),
            findings: src.by_severity.iter().map(|c| c.n).sum(),
            ai_found: origin("ai"),
            conventional: origin("conventional"),
            by_severity: counts(&src.by_severity, "none"),
            by_priority: {
                let mut v = counts(&src.by_priority, "none");
                v.sort_by(|a, b| a.key.cmp(&b.key));
                v
            },
            by_status: counts(&src.by_status, "none"),
            by_cwe: counts(&src.by_cwe, "none"),
            by_tool: src
                .by_tool
                .iter()
                .map(|t| ToolCount {
                    tool: t.key.clone(),
                    ai_model: (!t.sub.is_empty()).then(|| t.sub.clone()),
                    n: t.n,
                })
                .collect(),
            by_month: months.into_values().collect(),
            remediation,
            sla,
            runs: src.imports.iter().map(run).collect(),
            patches: Patches {
                records: p.records,
                pre_testing_done: p.pre_testing_done,
                rollback_ready: p.rollback_ready,
                kill_switch_ready: p.kill_switch_ready,
                isolation_ready: p.isolation_ready,
                continuity_plan: p.continuity_plan,
                customers_notified_in_advance: p.customers_notified_in_advance,
                findings_fixed: p.findings_fixed,
            },
            saas,
            scope_not_in_register,
        })
    }

    /// An obligation's report with every version (an institution user: only their own).
    pub async fn report(&self, actor: &Actor, obligation_id: i64) -> Result<Report> {
        authz::authorize(actor, Action::ReadLetters)?;
        let obligation = self
            .obligations(actor, None)
            .await?
            .into_iter()
            .find(|o| o.row.id == obligation_id)
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ReadLetters,
            Owner::Institution(obligation.row.institution_id),
        )?;
        let mut files = haechi_store::report_attachments(self.store.pool(), obligation_id).await?;
        let versions = haechi_store::report_versions(self.store.pool(), obligation_id)
            .await?
            .into_iter()
            .map(|row| {
                let (mine, rest) = files.drain(..).partition(|a| a.report_id == row.id);
                files = rest;
                read_version(row, mine)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Report {
            obligation,
            versions,
        })
    }

    /// The obligations of a letter the actor may read that have a report.
    pub async fn reported_obligations(&self, actor: &Actor, letter_id: i64) -> Result<Vec<i64>> {
        authz::authorize(actor, Action::ReadLetters)?;
        let visible: Vec<i64> = self
            .obligations(actor, Some(letter_id))
            .await?
            .iter()
            .map(|o| o.row.id)
            .collect();
        Ok(
            haechi_store::reported_obligations(self.store.pool(), letter_id)
                .await?
                .into_iter()
                .filter(|id| visible.contains(id))
                .collect(),
        )
    }

    /// Every obligation the actor may see with its report's latest state.
    pub async fn report_list(&self, actor: &Actor) -> Result<Vec<ReportListItem>> {
        let obligations = self.obligations(actor, None).await?;
        let mut out = Vec::with_capacity(obligations.len());
        for o in obligations {
            let latest = haechi_store::report_versions(self.store.pool(), o.row.id)
                .await?
                .pop();
            out.push(ReportListItem {
                version: latest.as_ref().map(|r| r.version),
                report_state: latest.map(|r| r.state),
                obligation: o,
            });
        }
        Ok(out)
    }

    /// Compiles the report of an obligation: the first compile (or the first after a return)
    /// starts a new draft version; a compile of a draft replaces its figures and keeps the ones
    /// before. Returns the version's id.
    pub async fn compile_report(&self, actor: &Actor, obligation_id: i64) -> Result<i64> {
        let mut tx = self.store.begin().await?;
        let o = self
            .report_obligation(&mut tx, actor, Action::DraftReport, obligation_id)
            .await?;
        if !matches!(o.status.as_str(), "open" | "returned") {
            return Err(ServiceError::rule(
                "illegal_transition",
                format!(
                    "a report cannot be compiled for an obligation that is {}",
                    o.status
                ),
            ));
        }
        let figures = self.compile_figures(&o).await?;
        let figures_json = serde_json::to_string(&figures)
            .map_err(|e| ServiceError::rule("corrupt_report", e.to_string()))?;
        let at = self.stamp();
        let latest = haechi_store::report_versions(tx.conn(), obligation_id)
            .await?
            .pop();
        let (id, version, recompiled) = match latest {
            Some(r) if r.state == "draft" => {
                if r.content_hash.is_some() {
                    return Err(frozen());
                }
                tx.recompile_report(r.id, &figures_json, &r.figures_json, &at)
                    .await?;
                (r.id, r.version, true)
            }
            Some(r) if r.state == "returned" => {
                let id = tx
                    .insert_report(&NewReport {
                        obligation_id,
                        institution_id: o.institution_id,
                        version: r.version + 1,
                        figures_json: &figures_json,
                        previous_figures_json: Some(&r.figures_json),
                        narrative_json: &r.narrative_json,
                        by: &actor.username,
                        at: &at,
                    })
                    .await?;
                tx.copy_report_attachments(r.id, id).await?;
                (id, r.version + 1, false)
            }
            Some(r) => {
                return Err(ServiceError::rule(
                    "illegal_transition",
                    format!(
                        "version {} is {}; it cannot be compiled again",
                        r.version, r.state
                    ),
                ))
            }
            None => {
                let id = tx
                    .insert_report(&NewReport {
                        obligation_id,
                        institution_id: o.institution_id,
                        version: 1,
                        figures_json: &figures_json,
                        previous_figures_json: None,
                        narrative_json: "{}",
                        by: &actor.username,
                        at: &at,
                    })
                    .await?;
                (id, 1, false)
            }
        };
        tx.audit(record(
            actor,
            "report.compile",
            "report",
            &id.to_string(),
            Some(o.institution_id),
            None,
            Some(serde_json::json!({"obligation_id": obligation_id, "version": version, "recompiled": recompiled, "findings": figures.findings, "period": [figures.period_start, figures.period_end]})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Writes the narrative of the obligation's draft version.
    pub async fn write_report(
        &self,
        actor: &Actor,
        obligation_id: i64,
        narrative: &Narrative,
    ) -> Result<()> {
        let mut errors = Vec::new();
        for (field, text) in narrative.fields() {
            if text.chars().count() > MAX_SECTION_CHARS {
                errors.push(FieldError::new(
                    field,
                    format!("at most {MAX_SECTION_CHARS} characters"),
                ));
            }
        }
        let mut tx = self.store.begin().await?;
        let o = self
            .report_obligation(&mut tx, actor, Action::DraftReport, obligation_id)
            .await?;
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let draft = self.draft_of(&mut tx, obligation_id).await?;
        let json = serde_json::to_string(narrative)
            .map_err(|e| ServiceError::rule("corrupt_report", e.to_string()))?;
        let at = self.stamp();
        tx.write_report_narrative(draft.id, &json, &at).await?;
        tx.audit(record(
            actor,
            "report.write",
            "report",
            &draft.id.to_string(),
            Some(o.institution_id),
            None,
            Some(serde_json::json!({"obligation_id": obligation_id, "version": draft.version})),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The obligation's latest version, which must be an unfrozen draft.
    async fn draft_of(&self, tx: &mut WriteTx, obligation_id: i64) -> Result<ReportRow> {
        match haechi_store::report_versions(tx.conn(), obligation_id)
            .await?
            .pop()
        {
            Some(r) if r.state == "draft" && r.content_hash.is_none() => Ok(r),
            Some(r) if r.content_hash.is_some() => Err(frozen()),
            Some(_) => Err(ServiceError::rule(
                "no_draft",
                "the report has no draft; compile it to start a new version",
            )),
            None => Err(ServiceError::rule(
                "no_draft",
                "the report has not been compiled yet",
            )),
        }
    }

    /// The CISO signs off and submits the draft: it is frozen with its content hash and the
    /// obligation becomes submitted. Returns the content hash.
    pub async fn submit_report(&self, actor: &Actor, obligation_id: i64) -> Result<String> {
        let mut tx = self.store.begin().await?;
        let o = self
            .report_obligation(&mut tx, actor, Action::SubmitReport, obligation_id)
            .await?;
        let draft = self.draft_of(&mut tx, obligation_id).await?;
        let files: Vec<ReportAttachment> =
            haechi_store::report_attachments(tx.conn(), obligation_id)
                .await?
                .into_iter()
                .filter(|a| a.report_id == draft.id)
                .collect();
        let v = read_version(draft, files)?;
        let errors: Vec<FieldError> = SECTIONS
            .iter()
            .filter(|k| v.narrative.section(k).0.trim().is_empty())
            .map(|k| FieldError::new(format!("{k}_ko"), "write this section before submitting"))
            .collect();
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let hash = content_hash(&v.row, &v.figures, &v.narrative, &v.attachments)?;
        let at = self.stamp();
        tx.freeze_report(v.row.id, &hash, &actor.username, &at)
            .await?;
        tx.set_obligation_status(obligation_id, &["open", "returned"], "submitted", None, &at)
            .await
            .map_err(|_| {
                ServiceError::rule(
                    "illegal_transition",
                    format!(
                        "cannot submit a report for an obligation that is {}",
                        o.status
                    ),
                )
            })?;
        tx.audit(record(
            actor,
            "report.submit",
            "report",
            &v.row.id.to_string(),
            Some(o.institution_id),
            Some(serde_json::json!({"state": "draft"})),
            Some(serde_json::json!({"state": "submitted", "obligation_id": obligation_id, "version": v.row.version, "content_hash": hash, "attachments": v.attachments.iter().map(|a| serde_json::json!({"filename": a.filename, "sha256": a.sha256})).collect::<Vec<_>>()})),
        ))
        .await?;
        tx.commit().await?;
        Ok(hash)
    }

    /// The officer accepts the submitted version, or returns it with comments (at least one).
    pub async fn decide_report(
        &self,
        actor: &Actor,
        obligation_id: i64,
        accept: bool,
        review: &Review,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let o = self
            .report_obligation(&mut tx, actor, Action::ReviewReport, obligation_id)
            .await?;
        if !accept && review.is_empty() {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "general",
                "say why it is returned",
            )]));
        }
        let latest = haechi_store::report_versions(tx.conn(), obligation_id)
            .await?
            .pop()
            .filter(|r| r.state == "submitted")
            .ok_or_else(|| {
                ServiceError::rule(
                    "illegal_transition",
                    "no submitted report awaits a decision",
                )
            })?;
        let to = if accept { "accepted" } else { "returned" };
        let json = (!review.is_empty())
            .then(|| serde_json::to_string(review))
            .transpose()
            .map_err(|e| ServiceError::rule("corrupt_report", e.to_string()))?;
        let at = self.stamp();
        tx.decide_report(latest.id, to, json.as_deref(), &actor.username, &at)
            .await?;
        let note = (!review.general.trim().is_empty()).then_some(review.general.trim());
        tx.set_obligation_status(obligation_id, &["submitted"], to, note, &at)
            .await?;
        tx.audit(record(
            actor,
            &format!("report.{to}"),
            "report",
            &latest.id.to_string(),
            Some(o.institution_id),
            Some(serde_json::json!({"state": "submitted"})),
            Some(serde_json::json!({"state": to, "obligation_id": obligation_id, "version": latest.version, "content_hash": latest.content_hash, "review": review})),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A refused evidence file: why, with the numbers the page words it with.
fn file_refused(code: &'static str, message: String) -> ServiceError {
    ServiceError::rule(code, message)
}

impl Service {
    /// Attaches an evidence file to the obligation's draft version: stored with its SHA-256 and
    /// size, within the policy's limits (one file, all files of the version, media types).
    /// Refused once the version is frozen.
    pub async fn add_report_attachment(
        &self,
        actor: &Actor,
        obligation_id: i64,
        filename: &str,
        content_type: &str,
        data: &[u8],
    ) -> Result<ReportAttachment> {
        let limits = self.policy().reporting.attachments.clone();
        let mut tx = self.store.begin().await?;
        let o = self
            .report_obligation(&mut tx, actor, Action::DraftReport, obligation_id)
            .await?;
        let draft = self.draft_of(&mut tx, obligation_id).await?;
        if data.len() as u64 > limits.max_bytes {
            return Err(ServiceError::TooLarge(format!(
                "the file is {} bytes; the limit is {} bytes",
                data.len(),
                limits.max_bytes
            )));
        }
        let (filename, sha) = crate::applications::evidence_file(filename, data)?;
        let content_type = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !limits.accepts_type(&content_type) {
            return Err(file_refused(
                "file_type_refused",
                format!(
                    "files of type '{}' are not accepted; accepted: {}",
                    if content_type.is_empty() {
                        "unknown"
                    } else {
                        &content_type
                    },
                    limits.content_types.join(", ")
                ),
            ));
        }
        let present: i64 = haechi_store::report_attachments(tx.conn(), obligation_id)
            .await?
            .iter()
            .filter(|a| a.report_id == draft.id)
            .map(|a| a.size_bytes)
            .sum();
        if present as u64 + data.len() as u64 > limits.max_total_bytes {
            return Err(file_refused(
                "report_files_too_large",
                format!(
                    "the version's files would weigh {} bytes; the limit is {} bytes",
                    present as u64 + data.len() as u64,
                    limits.max_total_bytes
                ),
            ));
        }
        let at = self.stamp();
        let id = tx
            .insert_report_attachment(&NewReportAttachment {
                report_id: draft.id,
                filename: &filename,
                content_type: &content_type,
                sha256: &sha,
                data,
                by: &actor.username,
                at: &at,
            })
            .await
            .map_err(|e| match e {
                haechi_store::StoreError::NotFound => frozen(),
                e => e.into(),
            })?;
        tx.audit(record(
            actor,
            "report.attach",
            "report",
            &draft.id.to_string(),
            Some(o.institution_id),
            None,
            Some(serde_json::json!({"obligation_id": obligation_id, "version": draft.version, "attachment_id": id, "filename": filename, "sha256": sha, "size": data.len()})),
        ))
        .await?;
        let meta = haechi_store::get_report_attachment(tx.conn(), id)
            .await?
            .map(|(m, _)| m)
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(meta)
    }

    /// Removes an evidence file from its report's draft version (never from a frozen one).
    /// Returns the obligation whose report it was.
    pub async fn remove_report_attachment(&self, actor: &Actor, attachment_id: i64) -> Result<i64> {
        authz::authorize(actor, Action::DraftReport)?;
        let obligation_id = haechi_store::get_report_attachment(self.store.pool(), attachment_id)
            .await?
            .map(|(m, _)| m.obligation_id)
            .ok_or(ServiceError::NotFound)?;
        let mut tx = self.store.begin().await?;
        let o = self
            .report_obligation(&mut tx, actor, Action::DraftReport, obligation_id)
            .await?;
        let draft = self.draft_of(&mut tx, obligation_id).await?;
        let (meta, _) = haechi_store::get_report_attachment(tx.conn(), attachment_id)
            .await?
            .filter(|(m, _)| m.obligation_id == obligation_id)
            .ok_or(ServiceError::NotFound)?;
        if meta.report_id != draft.id {
            return Err(frozen());
        }
        tx.delete_report_attachment(attachment_id).await?;
        tx.audit(record(
            actor,
            "report.detach",
            "report",
            &draft.id.to_string(),
            Some(o.institution_id),
            Some(serde_json::json!({"attachment_id": attachment_id, "filename": meta.filename, "sha256": meta.sha256})),
            None,
        ))
        .await?;
        tx.commit().await?;
        Ok(obligation_id)
    }

    /// An evidence file with its bytes, for the institution's own users and the regulator side
    /// (anyone else: not found).
    pub async fn report_attachment(
        &self,
        actor: &Actor,
        attachment_id: i64,
    ) -> Result<(ReportAttachment, Vec<u8>)> {
        authz::authorize(actor, Action::ReadLetters)?;
        let (meta, data) = haechi_store::get_report_attachment(self.store.pool(), attachment_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ReadLetters,
            Owner::Institution(meta.institution_id),
        )?;
        Ok((meta, data))
    }
}

/// One delivered version of a report in the demo's history: its narrative and the decision.
pub(crate) struct DeliveredVersion {
    pub narrative: Narrative,
    /// `None` accepts it; a review returns it.
    pub returned: Option<Review>,
}

impl Service {
    /// Demo history only: the delivered versions of a report whose obligation the letters' demo
    /// history already decided (submitted with a note and accepted, before reports existed in
    /// the portal). Each version is compiled from the institution's data, frozen with its content
    /// hash and decided, with the same audit entries the use cases write, at the demo's clock;
    /// the obligation's own status is left as the history set it.
    pub(crate) async fn record_delivered_report(
        &self,
        ciso: &Actor,
        officer: &Actor,
        obligation_id: i64,
        versions: &[DeliveredVersion],
    ) -> Result<()> {
        let o = haechi_store::list_obligations(self.store.pool(), None, None)
            .await?
            .into_iter()
            .find(|o| o.id == obligation_id)
            .ok_or(ServiceError::NotFound)?;
        let figures = self.compile_figures(&o).await?;
        let figures_json = serde_json::to_string(&figures)
            .map_err(|e| ServiceError::rule("corrupt_report", e.to_string()))?;
        for (i, v) in versions.iter().enumerate() {
            let version = i as i64 + 1;
            let narrative_json = serde_json::to_string(&v.narrative)
                .map_err(|e| ServiceError::rule("corrupt_report", e.to_string()))?;
            let at = self.stamp();
            let mut tx = self.store.begin().await?;
            let id = tx
                .insert_report(&NewReport {
                    obligation_id,
                    institution_id: o.institution_id,
                    version,
                    figures_json: &figures_json,
                    previous_figures_json: None,
                    narrative_json: &narrative_json,
                    by: &ciso.username,
                    at: &at,
                })
                .await?;
            let row = haechi_store::report_versions(tx.conn(), obligation_id)
                .await?
                .into_iter()
                .find(|r| r.id == id)
                .ok_or(ServiceError::NotFound)?;
            let hash = content_hash(&row, &figures, &v.narrative, &[])?;
            tx.freeze_report(id, &hash, &ciso.username, &at).await?;
            let to = if v.returned.is_some() {
                "returned"
            } else {
                "accepted"
            };
            let review = v
                .returned
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|e| ServiceError::rule("corrupt_report", e.to_string()))?;
            tx.decide_report(id, to, review.as_deref(), &officer.username, &at)
                .await?;
            tx.audit(record(
                ciso,
                "report.submit",
                "report",
                &id.to_string(),
                Some(o.institution_id),
                Some(serde_json::json!({"state": "draft"})),
                Some(serde_json::json!({"state": "submitted", "obligation_id": obligation_id, "version": version, "content_hash": hash})),
            ))
            .await?;
            tx.audit(record(
                officer,
                &format!("report.{to}"),
                "report",
                &id.to_string(),
                Some(o.institution_id),
                Some(serde_json::json!({"state": "submitted"})),
                Some(serde_json::json!({"state": to, "obligation_id": obligation_id, "version": version, "content_hash": hash, "review": v.returned})),
            ))
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }
}

fn frozen() -> ServiceError {
    ServiceError::rule(
        "report_frozen",
        "this version was submitted and is frozen; it cannot change",
    )
}

// ---------------------------------------------------------------- the PDF of a submitted version

/// `YYYY-MM-DD HH:MM KST` of a stored UTC time.
fn kst(at: &str) -> String {
    parse_time(at)
        .map(|t| {
            (t + chrono::Duration::hours(9))
                .format("%Y-%m-%d %H:%M KST")
                .to_string()
        })
        .unwrap_or_else(|| at.to_string())
}

fn severity_both(key: &str) -> String {
    let ko = match key {
        "critical" => "긴급",
        "high" => "높음",
        "medium" => "중간",
        "low" => "낮음",
        "info" | "informational" => "정보",
        "none" => "미분류",
        _ => key,
    };
    if ko == key {
        key.to_string()
    } else {
        format!("{ko} {key}")
    }
}

fn section_titles(key: &str) -> (&'static str, &'static str) {
    match key {
        "risk" => (
            "1. 발견된 고성능 AI 보안위험의 특성",
            "Characteristics of the high-performance-AI security risks found",
        ),
        "offensive" => (
            "2. 해당 AI가 공격에 악용될 경우의 위험",
            "Risks if such AI were used offensively",
        ),
        "defences" => ("3. 효과가 있었던 대응 방안", "Defences that worked"),
        _ => ("수치", "Figures"),
    }
}

fn obligation_kind_both(kind: &str) -> &'static str {
    match kind {
        "quarterly_report" => "분기 보고 Quarterly report",
        "final_report" => "최종 보고 Final report",
        "saas_self_evaluation" => "SaaS 자체 점검 SaaS self-evaluation",
        _ => "보고 Report",
    }
}

/// The bilingual document of a frozen version: obligation, figures, narrative (Korean, and the
/// English where given), evidence files with their hashes, the content hash, who submitted it
/// and when (KST), and the review outcome if any.
pub fn report_document(o: &ObligationRow, v: &ReportVersion) -> haechi_letter::TextDocument {
    use haechi_letter::Block as B;
    let field = |ko: &str, en: &str, value: String| B::Field {
        ko: ko.into(),
        en: en.into(),
        value,
    };
    let f = &v.figures;
    let hash = v.row.content_hash.clone().unwrap_or_default();
    let mut b = vec![
        B::Title("보고서".into()),
        B::Subtitle(format!(
            "Report — {} {}",
            obligation_kind_both(&o.kind),
            o.sequence
        )),
        B::Gap(4.0),
        B::Rule,
        field("기관", "Institution", o.institution_name.clone()),
        field(
            "비조치의견서",
            "Letter",
            o.letter_number.clone().unwrap_or_else(|| "—".into()),
        ),
        field(
            "대상 기간",
            "Period",
            format!("{} – {}", f.period_start, f.period_end),
        ),
        field(
            "기한",
            "Due on",
            o.due_on.get(..10).unwrap_or(&o.due_on).to_string(),
        ),
        field("판", "Version", v.row.version.to_string()),
        field("집계 시각", "Compiled at", kst(&v.row.compiled_at)),
        field(
            "제출",
            "Submitted",
            format!(
                "{} · {}",
                v.row.submitted_at.as_deref().map(kst).unwrap_or_default(),
                v.row.submitted_by.clone().unwrap_or_default()
            ),
        ),
        field("내용 해시 (SHA-256)", "Content hash", hash.clone()),
    ];
    b.push(B::Heading("기관 데이터 집계".into(), "Figures".into()));
    b.push(field("신규 취약점", "New findings", f.findings.to_string()));
    b.push(field(
        "AI 발견 / 기존 도구",
        "Found by AI / conventional",
        format!("{} / {}", f.ai_found, f.conventional),
    ));
    let counts = |c: &[Count], label: &dyn Fn(&str) -> String| {
        if c.is_empty() {
            "—".to_string()
        } else {
            c.iter()
                .map(|c| format!("{} {}", label(&c.key), c.n))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    b.push(field(
        "심각도별",
        "By severity",
        counts(&f.by_severity, &severity_both),
    ));
    b.push(field(
        "우선순위별",
        "By priority",
        counts(&f.by_priority, &|k| k.to_string()),
    ));
    b.push(field(
        "상태별",
        "By status",
        counts(&f.by_status, &|k| k.to_string()),
    ));
    b.push(field(
        "CWE별",
        "By CWE",
        counts(&f.by_cwe, &|k| format!("CWE-{k}")),
    ));
    if !f.runs.is_empty() {
        b.push(B::Subheading("AI 점검 실행 AI testing runs".into()));
        for r in &f.runs {
            b.push(B::Paragraph(format!(
                "{}{} · {}{} · 실행 runs {} · 결과 results {}",
                r.tool,
                r.tool_version
                    .as_deref()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default(),
                r.ai_model.as_deref().unwrap_or("—"),
                r.ai_model_version
                    .as_deref()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default(),
                r.runs,
                r.results
            )));
        }
    }
    if !f.remediation.is_empty() || !f.sla.is_empty() {
        b.push(B::Subheading(
            "조치 소요 기간(일)과 SLA 준수 Time to remediate (days) and SLA".into(),
        ));
        for pr in PRIORITIES {
            let r = f.remediation.iter().find(|r| r.priority == pr);
            let s = f.sla.iter().find(|s| s.priority == pr);
            if r.is_none() && s.is_none() {
                continue;
            }
            let d = |x: Option<f64>| x.map(|d| format!("{d:.1}")).unwrap_or_else(|| "—".into());
            b.push(B::Paragraph(format!(
                "{pr}: 조치 fixed {} · 중앙값 median {} · p90 {} · 기한 내 in time {} · 기한 후 late {} · 기한 초과 미조치 open breached {}",
                r.map(|r| r.fixed).unwrap_or(0),
                d(r.and_then(|r| r.median_days)),
                d(r.and_then(|r| r.p90_days)),
                s.map(|s| s.fixed_in_time).unwrap_or(0),
                s.map(|s| s.fixed_late).unwrap_or(0),
                s.map(|s| s.open_breached).unwrap_or(0),
            )));
        }
    }
    b.push(field(
        "패치 기록 / 조치한 취약점",
        "Patch records / findings fixed",
        format!("{} / {}", f.patches.records, f.patches.findings_fixed),
    ));
    if !f.saas.is_empty() {
        b.push(B::Subheading("보안 SaaS Security SaaS".into()));
        for s in &f.saas {
            b.push(B::Paragraph(format!(
                "{} ({}) · 최근 자체 점검 last self-evaluation {} · 의견서 허용 permitted: {}",
                s.product,
                s.vendor,
                s.last_evaluated_on.as_deref().unwrap_or("—"),
                if s.in_letter_scope {
                    "예 yes"
                } else {
                    "아니오 no"
                }
            )));
        }
    }
    b.push(B::Heading("서술 보고".into(), "Narrative".into()));
    for key in SECTIONS {
        let (ko, en) = v.narrative.section(key);
        let (tko, ten) = section_titles(key);
        b.push(B::Subheading(format!("{tko}  {ten}")));
        b.push(B::Paragraph(if ko.trim().is_empty() {
            "—".into()
        } else {
            ko.to_string()
        }));
        if !en.trim().is_empty() {
            b.push(B::Gap(2.0));
            b.push(B::Small(en.to_string()));
        }
    }
    b.push(B::Heading("증빙 자료".into(), "Evidence files".into()));
    if v.attachments.is_empty() {
        b.push(B::Paragraph("없음 None".into()));
    }
    for a in &v.attachments {
        b.push(B::Paragraph(format!(
            "{} ({} bytes, {})",
            a.filename, a.size_bytes, a.content_type
        )));
        b.push(B::Small(format!("SHA-256 {}", a.sha256)));
    }
    if let (Some(by), Some(at)) = (&v.row.decided_by, &v.row.decided_at) {
        b.push(B::KeepTogether(80.0));
        b.push(B::Heading("검토 결과".into(), "Review".into()));
        let outcome = match v.row.state.as_str() {
            "accepted" => "수리 Accepted",
            "returned" => "보완 요청 Returned",
            _ => "검토 중 Under review",
        };
        b.push(field("결과", "Outcome", outcome.into()));
        b.push(field("검토", "Reviewed", format!("{} · {by}", kst(at))));
        if let Some(r) = &v.review {
            if !r.general.trim().is_empty() {
                b.push(B::Paragraph(r.general.clone()));
            }
            for key in std::iter::once("figures").chain(SECTIONS) {
                if let Some(c) = r.sections.get(key).filter(|c| !c.trim().is_empty()) {
                    let (tko, ten) = section_titles(key);
                    b.push(B::Subheading(format!("{tko}  {ten}")));
                    b.push(B::Paragraph(c.clone()));
                }
            }
        }
    }
    b.push(B::KeepTogether(60.0));
    b.push(B::Rule);
    b.push(B::Small(
        "이 문서는 제출되어 동결된 판을 인쇄한 것입니다. 원본 내용은 위 SHA-256 해시로 확인할 수 있습니다. / This prints a submitted, frozen version; its content is identified by the SHA-256 hash above.".into(),
    ));
    haechi_letter::TextDocument {
        title: format!("보고서 Report — {} v{}", o.institution_name, v.row.version),
        footer: format!(
            "{} v{} · SHA-256 {}",
            o.institution_name,
            v.row.version,
            hash.get(..16).unwrap_or(&hash)
        ),
        blocks: b,
        info: vec![
            ("HaechiReportContentHash".into(), hash),
            ("HaechiReportVersion".into(), v.row.version.to_string()),
        ],
    }
}

impl Service {
    /// The bilingual PDF of a submitted (frozen) version — the latest one unless `version` is
    /// given — with the file name to serve it under. A draft has no PDF.
    pub async fn report_pdf(
        &self,
        actor: &Actor,
        obligation_id: i64,
        version: Option<i64>,
    ) -> Result<(String, Vec<u8>)> {
        let report = self.report(actor, obligation_id).await?;
        let v = match version {
            Some(n) => report
                .versions
                .iter()
                .find(|v| v.row.version == n)
                .ok_or(ServiceError::NotFound)?,
            None => report
                .versions
                .iter()
                .rev()
                .find(|v| v.frozen())
                .ok_or_else(|| {
                    ServiceError::rule(
                        "not_submitted",
                        "no version of this report has been submitted; a draft has no PDF",
                    )
                })?,
        };
        if !v.frozen() {
            return Err(ServiceError::rule(
                "not_submitted",
                format!(
                    "version {} is a draft; only a submitted version has a PDF",
                    v.row.version
                ),
            ));
        }
        let doc = report_document(&report.obligation.row, v);
        let bytes = haechi_letter::render_text_document(&doc)
            .map_err(|e| ServiceError::rule("pdf_failed", e.to_string()))?;
        Ok((
            format!(
                "report-{}-{}-v{}.pdf",
                report.obligation.row.kind, report.obligation.row.sequence, v.row.version
            ),
            bytes,
        ))
    }
}

// ---------------------------------------------------------------- reminders and self-evaluations

impl Service {
    /// Reminds institutions of reports still owed (open or returned) before their due date, on
    /// the policy's offsets (`report_reminder_days`, e.g. 30, 7 and 1 days before): one in-app
    /// notification (and e-mail, when a relay is configured) per obligation and offset, never
    /// twice. When several offsets have come at once (the sweep did not run for a while) only
    /// the nearest is written. Returns how many were written; safe to run often.
    pub async fn run_report_reminders(&self) -> Result<usize> {
        let policy = self.policy();
        let today = self.today();
        let mut tx = self.store.begin().await?;
        let mut written = 0;
        let mut mails = Vec::new();
        for o in haechi_store::list_obligations(tx.conn(), None, None).await? {
            if !matches!(o.status.as_str(), "open" | "returned") {
                continue;
            }
            let Ok(due) =
                NaiveDate::parse_from_str(o.due_on.get(..10).unwrap_or(&o.due_on), "%Y-%m-%d")
            else {
                continue;
            };
            let Some(days) = haechi_policy::reporting::reminders_due(&policy, due, today)
                .last()
                .copied()
            else {
                continue;
            };
            let (kind_ko, kind_en) = match o.kind.as_str() {
                "quarterly_report" => ("분기 보고", "quarterly report"),
                "final_report" => ("최종 보고", "final report"),
                "saas_self_evaluation" => ("SaaS 자체 점검", "SaaS self-evaluation"),
                _ => ("보고", "report"),
            };
            let subject_ko = format!(
                "{} {kind_ko} {}회차의 기한이 {due}입니다 ({days}일 전 알림).",
                o.institution_name, o.sequence
            );
            let subject_en = format!(
                "The {kind_en} no. {} of {} is due on {due} ({days}-day reminder).",
                o.sequence, o.institution_name
            );
            let new = tx
                .notify(&haechi_store::NewNotification {
                    institution_id: Some(o.institution_id),
                    audience: "institution",
                    kind: "report_due",
                    subject_ko: subject_ko.clone(),
                    subject_en: subject_en.clone(),
                    letter_id: Some(o.letter_id),
                    dedupe_key: format!("report-due:{}:{days}", o.id),
                    at: self.clock_text(),
                })
                .await?;
            if new {
                written += 1;
                mails.push((o.institution_id, subject_ko, subject_en));
            }
        }
        if written > 0 {
            tx.audit(record(
                &Actor::system(),
                "report.reminders",
                "report",
                "*",
                None,
                None,
                Some(serde_json::json!({"written": written, "as_of": today})),
            ))
            .await?;
        }
        tx.commit().await?;
        for (institution_id, ko, en) in mails {
            self.mail_institution(institution_id, &ko, &en).await;
        }
        Ok(written)
    }

    /// After a self-evaluation of a security SaaS is recorded (in `tx`): the institution's
    /// SaaS self-evaluation obligation still owed whose window holds the evaluation's day (from
    /// the period's start to the due date) is fulfilled once every SaaS of the register has
    /// been evaluated in that window, and links to this evaluation. Returns the obligation
    /// fulfilled, if any.
    pub(crate) async fn fulfil_saas_obligation(
        &self,
        tx: &mut WriteTx,
        actor: &Actor,
        institution_id: i64,
        evaluation_id: i64,
        evaluated_on: NaiveDate,
    ) -> Result<Option<i64>> {
        let day = evaluated_on.to_string();
        let Some(o) = haechi_store::list_obligations(tx.conn(), Some(institution_id), None)
            .await?
            .into_iter()
            .find(|o| {
                o.kind == "saas_self_evaluation"
                    && matches!(o.status.as_str(), "open" | "returned")
                    && o.period_start.get(..10).unwrap_or(&o.period_start) <= day.as_str()
                    && day.as_str() <= o.due_on.get(..10).unwrap_or(&o.due_on)
            })
        else {
            return Ok(None);
        };
        let from = o
            .period_start
            .get(..10)
            .unwrap_or(&o.period_start)
            .to_string();
        let until = o.due_on.get(..10).unwrap_or(&o.due_on).to_string();
        let register = haechi_store::list_saas(tx.conn(), institution_id).await?;
        let mut missing = Vec::new();
        for s in &register {
            let evaluated = haechi_store::saas_evaluations(tx.conn(), s.id)
                .await?
                .iter()
                .any(|e| {
                    let d = e.evaluated_on.get(..10).unwrap_or(&e.evaluated_on);
                    from.as_str() <= d && d <= until.as_str()
                });
            if !evaluated {
                missing.push(s.product.clone());
            }
        }
        if !missing.is_empty() {
            return Ok(None);
        }
        let at = self.stamp();
        tx.fulfil_obligation(o.id, evaluation_id, &at).await?;
        tx.audit(record(
            actor,
            "obligation.fulfilled",
            "obligation",
            &o.id.to_string(),
            Some(institution_id),
            Some(serde_json::json!({"status": o.status})),
            Some(serde_json::json!({"status": "fulfilled", "saas_evaluation_id": evaluation_id, "saas_evaluated": register.len(), "window": [from, until]})),
        ))
        .await?;
        Ok(Some(o.id))
    }
}
