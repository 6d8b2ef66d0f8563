//! What a report is compiled from (C7): the aggregates of one institution's findings, imports,
//! remediation and patch records of one period, read so that a compile of a million findings
//! costs a few index scans and no finding rows.
//!
//! - Counts by severity, status, origin, tool and AI model and CWE come from one `GROUP BY` over
//!   the covering index `findings_report` (migration 0017), whose column order is the grouping's,
//!   so SQLite groups while it scans instead of sorting every finding; the CWE counts split each
//!   group's `,79,89,` list (the finding's own copy that `finding_cwes` is written from).
//! - Findings per month and origin: one index range per month of the period over
//!   `findings_report_months`.
//! - Findings per priority: `finding_priorities_report`, counting the findings without a
//!   priority as the rest of the period's findings.
//! - Time to remediate and SLA outcome: the first fix of each finding (`finding_status_changes`
//!   through `finding_status_changes_first_fix`, grouped in index order), in whole seconds
//!   computed by the database, per priority P1–P5 — the only ones a report shows.
//!
//! The queries run side by side on the pool's connections.

use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use crate::{Dialect, Result, StoreError};

/// A count per key (or pair of keys).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KeyCount {
    pub key: String,
    pub sub: String,
    pub n: i64,
}

/// The findings of one priority (P1–P5) first fixed in the period: how long each took, in whole
/// seconds from its creation (sorted, negative ones as 0), and how many of those with a due date
/// were fixed by it or after it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FixedByPriority {
    pub priority: String,
    pub seconds: Vec<i64>,
    pub fixed_in_time: i64,
    pub fixed_late: i64,
}

/// The AI testing runs and imports of a period, per tool and model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImportSummary {
    pub tool: String,
    pub tool_version: Option<String>,
    pub ai_model: Option<String>,
    pub ai_model_version: Option<String>,
    pub runs: i64,
    pub results: i64,
}

/// Patch records of a period with how many had each safeguard of the work plan.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PatchSummary {
    pub records: i64,
    pub pre_testing_done: i64,
    pub rollback_ready: i64,
    pub kill_switch_ready: i64,
    pub isolation_ready: i64,
    pub continuity_plan: i64,
    pub customers_notified_in_advance: i64,
    pub findings_fixed: i64,
}

/// The raw aggregates of one institution's period, `[from, until)` as stored timestamps compare.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportSource {
    pub by_severity: Vec<KeyCount>,
    pub by_status: Vec<KeyCount>,
    pub by_priority: Vec<KeyCount>,
    pub by_origin: Vec<KeyCount>,
    /// (CWE number, count), most frequent first (then by number), at most 15.
    pub by_cwe: Vec<KeyCount>,
    /// (tool, AI model or ``) counts of findings.
    pub by_tool: Vec<KeyCount>,
    /// (month `YYYY-MM`, origin) counts.
    pub by_month: Vec<KeyCount>,
    /// Per priority P1–P5 with findings first fixed in the period.
    pub fixed: Vec<FixedByPriority>,
    /// Still open (open, in progress) at compile time and due before the period's end, per
    /// priority P1–P5.
    pub open_breached: Vec<KeyCount>,
    pub imports: Vec<ImportSummary>,
    pub patches: PatchSummary,
}

fn dialect_of(pool: &AnyPool) -> Dialect {
    if pool
        .connect_options()
        .database_url
        .scheme()
        .starts_with("postgres")
    {
        Dialect::Postgres
    } else {
        Dialect::Sqlite
    }
}

/// Unix seconds (whole) of a stored timestamp column.
fn epoch(d: Dialect, col: &str) -> String {
    match d {
        Dialect::Sqlite => format!("CAST(strftime('%s', {col}) AS BIGINT)"),
        Dialect::Postgres => {
            format!("CAST(FLOOR(EXTRACT(EPOCH FROM CAST({col} AS TIMESTAMPTZ))) AS BIGINT)")
        }
    }
}

/// `[lo, hi)` bounds of each month of the period, with the month's key, when both ends are
/// dates (`YYYY-MM-DD`).
fn months(from: &str, until: &str) -> Option<Vec<(String, String, String)>> {
    use chrono::{Datelike, NaiveDate};
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let (start, end) = (day(from)?, day(until)?);
    let mut out = Vec::new();
    let mut lo = start;
    while lo < end {
        let next = if lo.month() == 12 {
            NaiveDate::from_ymd_opt(lo.year() + 1, 1, 1)?
        } else {
            NaiveDate::from_ymd_opt(lo.year(), lo.month() + 1, 1)?
        };
        let hi = next.min(end);
        out.push((
            lo.format("%Y-%m").to_string(),
            lo.format("%Y-%m-%d").to_string(),
            hi.format("%Y-%m-%d").to_string(),
        ));
        lo = hi;
    }
    Some(out)
}

fn text(r: &AnyRow, col: &str) -> Result<String> {
    Ok(r.try_get::<Option<String>, _>(col)?.unwrap_or_default())
}

fn add(v: &mut Vec<KeyCount>, key: &str, sub: &str, n: i64) {
    match v.iter_mut().find(|c| c.key == key && c.sub == sub) {
        Some(c) => c.n += n,
        None => v.push(KeyCount {
            key: key.to_string(),
            sub: sub.to_string(),
            n,
        }),
    }
}

/// Reads everything a report's figures are computed from, for one institution and period.
pub async fn report_source(
    pool: &AnyPool,
    institution_id: i64,
    from: &str,
    until: &str,
) -> Result<ReportSource> {
    let d = dialect_of(pool);
    const IN_PERIOD: &str = "f.institution_id = $1 AND f.created_at >= $2 AND f.created_at < $3";
    // SQLite would rather take the period's range on `findings_report_months` and look every
    // finding up; the unary `+` keeps the range out of the index choice, so the covering index
    // in GROUP BY order is the one left.
    let unindexed = if d == Dialect::Sqlite { "+" } else { "" };
    let groups = async {
        sqlx::query(&format!(
            "SELECT f.severity, f.status, f.ai_origin, f.tool_name, f.ai_model, f.cwes, COUNT(*) AS n FROM findings f \
             WHERE f.institution_id = $1 AND {unindexed}f.created_at >= $2 AND {unindexed}f.created_at < $3 \
             GROUP BY f.severity, f.status, f.ai_origin, f.tool_name, f.ai_model, f.cwes"
        ))
        .bind(institution_id)
        .bind(from)
        .bind(until)
        .fetch_all(pool)
        .await
        .map_err(StoreError::from)
    };
    let month_bounds = months(from, until);
    let by_month = async {
        match &month_bounds {
            Some(bounds) if !bounds.is_empty() => {
                let sql = (0..bounds.len())
                    .map(|i| {
                        format!(
                            "SELECT ${} AS k, COUNT(*) AS n, SUM(CASE WHEN f.ai_origin = 'ai_generated' THEN 1 ELSE 0 END) AS ai FROM findings f \
                             WHERE f.institution_id = $1 AND f.created_at >= ${} AND f.created_at < ${}",
                            3 * i + 2,
                            3 * i + 3,
                            3 * i + 4
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" UNION ALL ");
                let mut q = sqlx::query(&sql).bind(institution_id);
                for (k, lo, hi) in bounds {
                    q = q.bind(k).bind(lo).bind(hi);
                }
                let mut out = Vec::new();
                for r in q.fetch_all(pool).await? {
                    let k = text(&r, "k")?;
                    let n: i64 = r.try_get("n")?;
                    let ai = r.try_get::<Option<i64>, _>("ai")?.unwrap_or(0);
                    if ai > 0 {
                        add(&mut out, &k, "ai_generated", ai);
                    }
                    if n > ai {
                        add(&mut out, &k, "conventional", n - ai);
                    }
                }
                Ok(out)
            }
            // Bounds that are not dates: group by the month text.
            _ => {
                let rs = sqlx::query(&format!(
                    "SELECT substr(f.created_at, 1, 7) AS k, f.ai_origin AS s, COUNT(*) AS n FROM findings f WHERE {IN_PERIOD} GROUP BY substr(f.created_at, 1, 7), f.ai_origin"
                ))
                .bind(institution_id)
                .bind(from)
                .bind(until)
                .fetch_all(pool)
                .await?;
                rs.iter()
                    .map(|r| {
                        Ok(KeyCount {
                            key: text(r, "k")?,
                            sub: text(r, "s")?,
                            n: r.try_get("n")?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()
            }
        }
    };
    // `created_on` is the day of `created_at`, so the day bounds select the same findings.
    let priorities = async {
        sqlx::query(
            "SELECT p.priority AS k, COUNT(*) AS n FROM finding_priorities p WHERE p.institution_id = $1 AND p.priority IS NOT NULL \
             AND p.created_on >= substr($2, 1, 10) AND p.created_on < substr($3, 1, 10) GROUP BY p.priority",
        )
        .bind(institution_id)
        .bind(from)
        .bind(until)
        .fetch_all(pool)
        .await
        .map_err(StoreError::from)
    };
    let open_breached = async {
        sqlx::query(
            "SELECT p.priority AS k, COUNT(*) AS n FROM finding_priorities p WHERE p.institution_id = $1 AND p.status IN ('open', 'in_progress') \
             AND p.priority IN ('P1', 'P2', 'P3', 'P4', 'P5') AND p.due_date >= '0000' AND p.due_date < substr($2, 1, 10) GROUP BY p.priority",
        )
        .bind(institution_id)
        .bind(until)
        .fetch_all(pool)
        .await
        .map_err(StoreError::from)
    };
    let fixed = async {
        sqlx::query(&format!(
            "SELECT CASE p.priority WHEN 'P1' THEN 1 WHEN 'P2' THEN 2 WHEN 'P3' THEN 3 WHEN 'P4' THEN 4 ELSE 5 END AS pr, \
             {} - {} AS secs, \
             CASE WHEN p.due_date IS NULL THEN 0 WHEN substr(x.fixed_at, 1, 10) <= p.due_date THEN 1 ELSE 2 END AS sla \
             FROM (SELECT c.finding_id, MIN(c.changed_at) AS fixed_at FROM finding_status_changes c WHERE c.institution_id = $1 AND c.to_status IN ('fixed', 'verified') GROUP BY c.finding_id) x \
             JOIN finding_priorities p ON p.finding_id = x.finding_id JOIN findings f ON f.id = x.finding_id \
             WHERE x.fixed_at >= $2 AND x.fixed_at < $3 AND p.priority IN ('P1', 'P2', 'P3', 'P4', 'P5')",
            epoch(d, "x.fixed_at"),
            epoch(d, "f.created_at")
        ))
        .bind(institution_id)
        .bind(from)
        .bind(until)
        .fetch_all(pool)
        .await
        .map_err(StoreError::from)
    };
    let imports = async {
        sqlx::query(
            "SELECT COALESCE(tool_name, '') AS tool, tool_version, ai_model, ai_model_version, COUNT(*) AS runs, CAST(SUM(results_processed) AS BIGINT) AS results FROM finding_imports \
             WHERE institution_id = $1 AND state = 'succeeded' AND uploaded_at >= $2 AND uploaded_at < $3 GROUP BY COALESCE(tool_name, ''), tool_version, ai_model, ai_model_version ORDER BY COUNT(*) DESC",
        )
        .bind(institution_id)
        .bind(from)
        .bind(until)
        .fetch_all(pool)
        .await
        .map_err(StoreError::from)
    };
    let patches = async {
        sqlx::query(
            "SELECT COUNT(*) AS records, CAST(SUM(pre_testing_done) AS BIGINT) AS a, CAST(SUM(rollback_ready) AS BIGINT) AS b, CAST(SUM(kill_switch_ready) AS BIGINT) AS c, CAST(SUM(isolation_ready) AS BIGINT) AS d, CAST(SUM(continuity_plan) AS BIGINT) AS e, CAST(SUM(customers_notified_in_advance) AS BIGINT) AS f, \
             (SELECT COUNT(*) FROM patch_record_findings pf JOIN patch_records q ON q.id = pf.patch_id WHERE q.institution_id = $1 AND q.applied_at >= $2 AND q.applied_at < $3) AS g \
             FROM patch_records WHERE institution_id = $1 AND applied_at >= $2 AND applied_at < $3",
        )
        .bind(institution_id)
        .bind(from)
        .bind(until)
        .fetch_one(pool)
        .await
        .map_err(StoreError::from)
    };
    let (groups, by_month, priorities, open_breached, fixed, imports, patches) = tokio::try_join!(
        groups,
        by_month,
        priorities,
        open_breached,
        fixed,
        imports,
        patches
    )?;

    let mut s = ReportSource {
        by_month,
        ..ReportSource::default()
    };
    let mut total = 0;
    let mut cwes: std::collections::BTreeMap<u32, i64> = std::collections::BTreeMap::new();
    for r in &groups {
        let n: i64 = r.try_get("n")?;
        total += n;
        add(&mut s.by_severity, &text(r, "severity")?, "", n);
        add(&mut s.by_status, &text(r, "status")?, "", n);
        add(&mut s.by_origin, &text(r, "ai_origin")?, "", n);
        add(
            &mut s.by_tool,
            &text(r, "tool_name")?,
            &text(r, "ai_model")?,
            n,
        );
        // Each CWE of the list once, as `finding_cwes` holds it.
        let list: std::collections::BTreeSet<u32> = text(r, "cwes")?
            .split(',')
            .filter_map(|c| c.parse().ok())
            .collect();
        for c in list {
            *cwes.entry(c).or_insert(0) += n;
        }
    }
    s.by_tool
        .sort_by(|a, b| a.key.cmp(&b.key).then(a.sub.cmp(&b.sub)));
    let mut by_cwe: Vec<(u32, i64)> = cwes.into_iter().collect();
    by_cwe.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    by_cwe.truncate(15);
    s.by_cwe = by_cwe
        .into_iter()
        .map(|(c, n)| KeyCount {
            key: c.to_string(),
            sub: String::new(),
            n,
        })
        .collect();
    let mut prioritised = 0;
    for r in &priorities {
        let n: i64 = r.try_get("n")?;
        prioritised += n;
        add(&mut s.by_priority, &text(r, "k")?, "", n);
    }
    if total > prioritised {
        add(&mut s.by_priority, "", "", total - prioritised);
    }
    for r in &open_breached {
        add(&mut s.open_breached, &text(r, "k")?, "", r.try_get("n")?);
    }
    let mut by_priority: [FixedByPriority; 5] = Default::default();
    for (i, f) in by_priority.iter_mut().enumerate() {
        f.priority = format!("P{}", i + 1);
    }
    for r in &fixed {
        let pr: i64 = r.try_get("pr")?;
        let f = &mut by_priority[(pr.clamp(1, 5) - 1) as usize];
        f.seconds
            .push(r.try_get::<Option<i64>, _>("secs")?.unwrap_or(0).max(0));
        match r.try_get::<i64, _>("sla")? {
            1 => f.fixed_in_time += 1,
            2 => f.fixed_late += 1,
            _ => {}
        }
    }
    s.fixed = by_priority
        .into_iter()
        .filter(|f| !f.seconds.is_empty())
        .map(|mut f| {
            f.seconds.sort_unstable();
            f
        })
        .collect();
    for r in &imports {
        s.imports.push(ImportSummary {
            tool: r.try_get("tool")?,
            tool_version: r.try_get("tool_version")?,
            ai_model: r.try_get("ai_model")?,
            ai_model_version: r.try_get("ai_model_version")?,
            runs: r.try_get("runs")?,
            results: r.try_get::<Option<i64>, _>("results")?.unwrap_or(0),
        });
    }
    let r = &patches;
    let opt = |k: &str| -> Result<i64> { Ok(r.try_get::<Option<i64>, _>(k)?.unwrap_or(0)) };
    s.patches = PatchSummary {
        records: opt("records")?,
        pre_testing_done: opt("a")?,
        rollback_ready: opt("b")?,
        kill_switch_ready: opt("c")?,
        isolation_ready: opt("d")?,
        continuity_plan: opt("e")?,
        customers_notified_in_advance: opt("f")?,
        findings_fixed: opt("g")?,
    };
    Ok(s)
}
