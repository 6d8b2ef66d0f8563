//! Queries of remediation (C13): the patch queue (keyset-paginated over the
//! `finding_priorities_queue` partial index), bulk assignment, patch records and the findings
//! they fix, the data behind the burn-down and SLA-compliance charts, and the security-SaaS
//! register.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::{Result, StoreError, WriteTx};

// ---------------------------------------------------------------- queue

/// Where a queue page starts: the last item of the previous page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCursor {
    pub priority: String,
    pub due_date: String,
    pub id: i64,
}

/// One open finding in the queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueItem {
    pub id: i64,
    pub priority: String,
    pub due_date: String,
    pub priority_row: Option<String>,
    pub status: String,
    pub severity: String,
    pub rule_id: Option<String>,
    pub tool_name: String,
    pub cves: Vec<String>,
    pub message: String,
    pub location: Option<String>,
    pub resource_id: Option<i64>,
    pub resource_name: Option<String>,
    pub assignee_user_id: Option<i64>,
    pub created_at: String,
    /// When the finding leads a cross-tool cluster: how many findings, tools and AI models
    /// report the problem (0 when it leads none).
    pub cluster_size: i64,
    pub cluster_tools: i64,
    pub cluster_ai_models: i64,
}

/// The queue of one institution: open and in-progress findings that have a priority, by
/// priority, due date and id, after `after`. The predicate repeats the partial index's
/// `status IN (…)` verbatim so that both planners pick `finding_priorities_queue`. A member of a
/// cross-tool cluster whose leader is itself in the queue is left out: the leader stands for the
/// problem and carries the cluster's counts.
pub async fn patch_queue<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: i64,
    after: Option<&QueueCursor>,
    limit: i64,
) -> Result<Vec<QueueItem>> {
    let (p, d, id) = match after {
        Some(c) => (c.priority.as_str(), c.due_date.as_str(), c.id),
        None => ("", "", 0),
    };
    let rs = sqlx::query(&format!(
        "SELECT {QUEUE_COLUMNS} \
         FROM (SELECT p.finding_id, p.priority, p.due_date, p.decision, p.policy_version FROM finding_priorities p WHERE p.institution_id = $1 AND p.status IN ('open', 'in_progress') AND p.priority IS NOT NULL \
               AND (p.priority, p.due_date, p.finding_id) > ($2, $3, $4) AND {NOT_HIDDEN_BY_CLUSTER} \
               ORDER BY p.priority, p.due_date, p.finding_id LIMIT $5) AS q \
         {QUEUE_JOINS}"
    ))
    .bind(institution_id)
    .bind(p)
    .bind(d)
    .bind(id)
    .bind(limit)
    .fetch_all(e)
    .await?;
    rs.iter().map(queue_item).collect()
}

/// The columns of a [`QueueItem`], over the page's priorities `q` joined by [`QUEUE_JOINS`].
pub(crate) const QUEUE_COLUMNS: &str = "f.id, q.priority, q.due_date, d.priority_row, f.status, f.severity, f.rule_id, f.tool_name, f.cves, substr(f.message, 1, 300) AS message, f.location, f.resource_id, r.name AS resource_name, f.assignee_user_id, f.created_at, \
    (SELECT COUNT(*) FROM finding_clusters c WHERE c.cluster_id = f.id) AS cluster_size, \
    (SELECT COUNT(DISTINCT m.tool_name) FROM finding_clusters c JOIN findings m ON m.id = c.finding_id WHERE c.cluster_id = f.id) AS cluster_tools, \
    (SELECT COUNT(DISTINCT m.ai_model) FROM finding_clusters c JOIN findings m ON m.id = c.finding_id WHERE c.cluster_id = f.id) AS cluster_ai_models";

pub(crate) const QUEUE_JOINS: &str = "JOIN findings f ON f.id = q.finding_id \
    LEFT JOIN priority_decisions d ON d.policy_version = q.policy_version AND d.decision = q.decision \
    LEFT JOIN resources r ON r.id = f.resource_id ORDER BY q.priority, q.due_date, q.finding_id";

/// A queue predicate over `finding_priorities p`: the finding is not a member of a cross-tool
/// cluster whose leader is itself in the queue (the leader stands for the problem).
pub(crate) const NOT_HIDDEN_BY_CLUSTER: &str = "NOT EXISTS (SELECT 1 FROM finding_clusters c JOIN finding_priorities lp ON lp.finding_id = c.cluster_id \
    WHERE c.finding_id = p.finding_id AND c.cluster_id <> c.finding_id AND lp.status IN ('open', 'in_progress') AND lp.priority IS NOT NULL)";

pub(crate) fn queue_item(r: &AnyRow) -> Result<QueueItem> {
    let cves: String = r.try_get("cves")?;
    Ok(QueueItem {
        id: r.try_get("id")?,
        priority: r.try_get("priority")?,
        due_date: r.try_get("due_date")?,
        priority_row: r.try_get("priority_row")?,
        status: r.try_get("status")?,
        severity: r.try_get("severity")?,
        rule_id: r.try_get("rule_id")?,
        tool_name: r.try_get("tool_name")?,
        cves: cves
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        message: r.try_get("message")?,
        location: r.try_get("location")?,
        resource_id: r.try_get("resource_id")?,
        resource_name: r.try_get("resource_name")?,
        assignee_user_id: r.try_get("assignee_user_id")?,
        created_at: r.try_get("created_at")?,
        cluster_size: r.try_get("cluster_size")?,
        cluster_tools: r.try_get("cluster_tools")?,
        cluster_ai_models: r.try_get("cluster_ai_models")?,
    })
}

/// (finding id, institution id, status) of the given findings that exist.
pub async fn findings_owner<'e, E: Executor<'e, Database = Any>>(
    e: E,
    ids: &[i64],
) -> Result<Vec<(i64, i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    let rs = sqlx::query(&format!(
        "SELECT id, institution_id, status FROM findings WHERE id IN ({})",
        list.join(", ")
    ))
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("institution_id")?,
                r.try_get("status")?,
            ))
        })
        .collect()
}

impl WriteTx {
    /// Assigns findings (all of `institution_id`) to a user, or clears with `None`.
    pub async fn assign_findings(
        &mut self,
        institution_id: i64,
        ids: &[i64],
        assignee: Option<i64>,
        now: &str,
    ) -> Result<u64> {
        let mut n = 0;
        for chunk in ids.chunks(1000) {
            let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
            n += sqlx::query(&format!(
                "UPDATE findings SET assignee_user_id = $1, updated_at = $2 WHERE institution_id = $3 AND id IN ({})",
                list.join(", ")
            ))
            .bind(assignee)
            .bind(now)
            .bind(institution_id)
            .execute(self.conn())
            .await?
            .rows_affected();
        }
        Ok(n)
    }
}

// ---------------------------------------------------------------- patch records

/// The work plan of a patch, as the immunity rules ask for it (C8).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkPlan {
    pub pre_testing_done: bool,
    pub rollback_ready: bool,
    pub kill_switch_ready: bool,
    pub isolation_ready: bool,
    pub continuity_plan: bool,
    pub customers_notified_in_advance: bool,
}

/// A recorded patch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatchRecordRow {
    pub id: i64,
    pub institution_id: i64,
    pub resource_id: Option<i64>,
    /// What was applied (package and version, vendor patch id, configuration change).
    pub applied: String,
    pub applied_at: String,
    pub applied_by: String,
    pub work_plan: WorkPlan,
    pub notes: Option<String>,
    pub finding_ids: Vec<i64>,
    pub recorded_by: String,
    pub created_at: String,
}

/// What a patch record stores.
#[derive(Debug, Clone)]
pub struct NewPatchRecord<'a> {
    pub institution_id: i64,
    pub resource_id: Option<i64>,
    pub applied: &'a str,
    pub applied_at: &'a str,
    pub applied_by: &'a str,
    pub work_plan: &'a WorkPlan,
    pub notes: Option<&'a str>,
    pub recorded_by: &'a str,
    pub now: &'a str,
}

impl WriteTx {
    /// Stores a patch record linked to `finding_ids` and moves those still open or in progress
    /// to `fixed`; returns the record id and how many findings moved.
    pub async fn insert_patch_record(
        &mut self,
        n: &NewPatchRecord<'_>,
        finding_ids: &[i64],
    ) -> Result<(i64, u64)> {
        let w = n.work_plan;
        let r = sqlx::query(
            "INSERT INTO patch_records (institution_id, resource_id, applied, applied_at, applied_by, pre_testing_done, rollback_ready, kill_switch_ready, isolation_ready, continuity_plan, customers_notified_in_advance, notes, recorded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(n.institution_id)
        .bind(n.resource_id)
        .bind(n.applied)
        .bind(n.applied_at)
        .bind(n.applied_by)
        .bind(i64::from(w.pre_testing_done))
        .bind(i64::from(w.rollback_ready))
        .bind(i64::from(w.kill_switch_ready))
        .bind(i64::from(w.isolation_ready))
        .bind(i64::from(w.continuity_plan))
        .bind(i64::from(w.customers_notified_in_advance))
        .bind(n.notes)
        .bind(n.recorded_by)
        .bind(n.now)
        .fetch_one(self.conn())
        .await?;
        let id: i64 = r.try_get("id")?;
        let mut moved = 0;
        for fid in finding_ids {
            sqlx::query("INSERT INTO patch_record_findings (patch_id, finding_id) VALUES ($1, $2)")
                .bind(id)
                .bind(*fid)
                .execute(self.conn())
                .await
                .map_err(|e| StoreError::from_write(e, &format!("finding {fid} listed twice")))?;
            moved += sqlx::query("UPDATE findings SET status = 'fixed', status_reason = $1, risk_accepted_until = NULL, updated_at = $2 WHERE id = $3 AND institution_id = $4 AND status IN ('open', 'in_progress')")
                .bind(format!("patch record {id}: {}", n.applied))
                .bind(n.now)
                .bind(*fid)
                .bind(n.institution_id)
                .execute(self.conn())
                .await?
                .rows_affected();
        }
        Ok((id, moved))
    }
}

const PATCH_COLUMNS: &str = "id, institution_id, resource_id, applied, applied_at, applied_by, pre_testing_done, rollback_ready, kill_switch_ready, isolation_ready, continuity_plan, customers_notified_in_advance, notes, recorded_by, created_at";

fn patch_row(r: &AnyRow, finding_ids: Vec<i64>) -> Result<PatchRecordRow> {
    let b = |c: &str| -> Result<bool> { Ok(r.try_get::<i64, _>(c)? != 0) };
    Ok(PatchRecordRow {
        id: r.try_get("id")?,
        institution_id: r.try_get("institution_id")?,
        resource_id: r.try_get("resource_id")?,
        applied: r.try_get("applied")?,
        applied_at: r.try_get("applied_at")?,
        applied_by: r.try_get("applied_by")?,
        work_plan: WorkPlan {
            pre_testing_done: b("pre_testing_done")?,
            rollback_ready: b("rollback_ready")?,
            kill_switch_ready: b("kill_switch_ready")?,
            isolation_ready: b("isolation_ready")?,
            continuity_plan: b("continuity_plan")?,
            customers_notified_in_advance: b("customers_notified_in_advance")?,
        },
        notes: r.try_get("notes")?,
        finding_ids,
        recorded_by: r.try_get("recorded_by")?,
        created_at: r.try_get("created_at")?,
    })
}

async fn patch_findings<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT finding_id FROM patch_record_findings WHERE patch_id = $1 ORDER BY finding_id",
    )
    .bind(id)
    .fetch_all(e)
    .await?)
}

pub async fn get_patch_record<'e, E: Executor<'e, Database = Any> + Copy>(
    e: E,
    id: i64,
) -> Result<Option<PatchRecordRow>> {
    let r = sqlx::query(&format!(
        "SELECT {PATCH_COLUMNS} FROM patch_records WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    match r {
        None => Ok(None),
        Some(r) => Ok(Some(patch_row(&r, patch_findings(e, id).await?)?)),
    }
}

/// Patch records of an institution, newest first.
pub async fn list_patch_records<'e, E: Executor<'e, Database = Any> + Copy>(
    e: E,
    institution_id: i64,
    limit: i64,
) -> Result<Vec<PatchRecordRow>> {
    let rs = sqlx::query(&format!(
        "SELECT {PATCH_COLUMNS} FROM patch_records WHERE institution_id = $1 ORDER BY applied_at DESC, id DESC LIMIT $2"
    ))
    .bind(institution_id)
    .bind(limit)
    .fetch_all(e)
    .await?;
    // The records' findings in one statement, not one per record (42 round trips made the
    // patch page the slowest of `haechi bench serve`'s mix).
    let ids = rs
        .iter()
        .map(|r| r.try_get::<i64, _>("id").map(|id| id.to_string()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let links: Vec<(i64, i64)> = if ids.is_empty() {
        Vec::new()
    } else {
        // Ids read from the database: integers, safe to write into the statement.
        sqlx::query_as(&format!(
            "SELECT patch_id, finding_id FROM patch_record_findings WHERE patch_id IN ({}) ORDER BY patch_id, finding_id",
            ids.join(", ")
        ))
        .fetch_all(e)
        .await?
    };
    let mut out = Vec::with_capacity(rs.len());
    for r in &rs {
        let id: i64 = r.try_get("id")?;
        let from = links.partition_point(|(p, _)| *p < id);
        let to = links.partition_point(|(p, _)| *p <= id);
        let findings = links[from..to].iter().map(|(_, f)| *f).collect();
        out.push(patch_row(r, findings)?);
    }
    Ok(out)
}

/// Patch records that fixed a finding.
pub async fn patches_of_finding<'e, E: Executor<'e, Database = Any>>(
    e: E,
    finding_id: i64,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT patch_id FROM patch_record_findings WHERE finding_id = $1 ORDER BY patch_id",
    )
    .bind(finding_id)
    .fetch_all(e)
    .await?)
}

// ---------------------------------------------------------------- charts

/// Findings created per (priority, day) of an institution: the burn-down's inflow.
pub async fn created_by_day<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: i64,
) -> Result<Vec<(String, String, i64)>> {
    let rs = sqlx::query("SELECT priority, created_on AS day, COUNT(*) AS n FROM finding_priorities WHERE institution_id = $1 AND priority IS NOT NULL GROUP BY priority, created_on")
        .bind(institution_id)
        .fetch_all(e)
        .await?;
    rs.iter()
        .map(|r| Ok((r.try_get("priority")?, r.try_get("day")?, r.try_get("n")?)))
        .collect()
}

/// Status changes per (priority, day, from, to) of an institution: the burn-down's outflow
/// (and reopenings).
pub async fn status_changes_by_day<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: i64,
) -> Result<Vec<(String, String, String, String, i64)>> {
    let rs = sqlx::query("SELECT p.priority, substr(c.changed_at, 1, 10) AS day, c.from_status, c.to_status, COUNT(*) AS n FROM finding_status_changes c JOIN finding_priorities p ON p.finding_id = c.finding_id \
                          WHERE c.institution_id = $1 AND p.priority IS NOT NULL GROUP BY p.priority, substr(c.changed_at, 1, 10), c.from_status, c.to_status")
        .bind(institution_id)
        .fetch_all(e)
        .await?;
    rs.iter()
        .map(|r| {
            Ok((
                r.try_get("priority")?,
                r.try_get("day")?,
                r.try_get("from_status")?,
                r.try_get("to_status")?,
                r.try_get("n")?,
            ))
        })
        .collect()
}

/// SLA outcome counts per priority: (priority, bucket, count), bucket one of
/// `fixed_within_sla`, `fixed_late`, `open_breached`, `open_within_sla`. A fixed finding's fix
/// time is its first change to `fixed` or `verified`.
pub async fn sla_outcomes<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: i64,
    today: &str,
) -> Result<Vec<(String, String, i64)>> {
    let rs = sqlx::query(
        "SELECT priority, bucket, COUNT(*) AS n FROM (SELECT p.priority, CASE \
            WHEN p.status IN ('fixed', 'verified') AND substr(COALESCE(c.fixed_at, f.updated_at), 1, 10) <= p.due_date THEN 'fixed_within_sla' \
            WHEN p.status IN ('fixed', 'verified') THEN 'fixed_late' \
            WHEN p.due_date < $2 THEN 'open_breached' \
            ELSE 'open_within_sla' END AS bucket \
         FROM finding_priorities p JOIN findings f ON f.id = p.finding_id LEFT JOIN (SELECT finding_id, MIN(changed_at) AS fixed_at FROM finding_status_changes WHERE institution_id = $1 AND to_status IN ('fixed', 'verified') GROUP BY finding_id) c ON c.finding_id = p.finding_id \
         WHERE p.institution_id = $1 AND p.priority IS NOT NULL AND p.status IN ('open', 'in_progress', 'fixed', 'verified')) AS t \
         GROUP BY priority, bucket",
    )
    .bind(institution_id)
    .bind(today)
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok((
                r.try_get("priority")?,
                r.try_get("bucket")?,
                r.try_get("n")?,
            ))
        })
        .collect()
}

// ---------------------------------------------------------------- security SaaS register

/// A security SaaS an institution uses (end of C13).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SaasRow {
    pub id: i64,
    pub institution_id: i64,
    pub product: String,
    pub vendor: String,
    pub certifications: Vec<String>,
    pub data_classes: Vec<String>,
    pub users: String,
    pub purpose: String,
    pub created_at: String,
    pub updated_at: String,
}

/// What a SaaS entry stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaasWrite {
    pub product: String,
    pub vendor: String,
    #[serde(default)]
    pub certifications: Vec<String>,
    #[serde(default)]
    pub data_classes: Vec<String>,
    pub users: String,
    pub purpose: String,
}

/// A six-monthly compliance self-evaluation of a SaaS.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SaasEvaluationRow {
    pub id: i64,
    pub saas_id: i64,
    pub evaluated_on: String,
    /// `pass`, `fail` or `partial`.
    pub result: String,
    pub notes: Option<String>,
    pub reported_to_ciso_at: Option<String>,
    pub recorded_by: String,
    pub created_at: String,
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn saas_row(r: &AnyRow) -> Result<SaasRow> {
    let list = |c: &str| -> Result<Vec<String>> {
        let s: String = r.try_get(c)?;
        serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("saas {c}: {e}")))
    };
    Ok(SaasRow {
        id: r.try_get("id")?,
        institution_id: r.try_get("institution_id")?,
        product: r.try_get("product")?,
        vendor: r.try_get("vendor")?,
        certifications: list("certifications")?,
        data_classes: list("data_classes")?,
        users: r.try_get("users")?,
        purpose: r.try_get("purpose")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const SAAS_COLUMNS: &str = "id, institution_id, product, vendor, certifications, data_classes, users, purpose, created_at, updated_at";

impl WriteTx {
    pub async fn insert_saas(
        &mut self,
        institution_id: i64,
        w: &SaasWrite,
        now: &str,
    ) -> Result<i64> {
        let r = sqlx::query("INSERT INTO saas_services (institution_id, product, vendor, certifications, data_classes, users, purpose, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id")
            .bind(institution_id)
            .bind(&w.product)
            .bind(&w.vendor)
            .bind(json_list(&w.certifications))
            .bind(json_list(&w.data_classes))
            .bind(&w.users)
            .bind(&w.purpose)
            .bind(now)
            .fetch_one(self.conn())
            .await
            .map_err(|e| StoreError::from_write(e, &format!("SaaS '{}' of '{}'", w.product, w.vendor)))?;
        Ok(r.try_get("id")?)
    }

    pub async fn update_saas(&mut self, id: i64, w: &SaasWrite, now: &str) -> Result<()> {
        let done = sqlx::query("UPDATE saas_services SET product = $1, vendor = $2, certifications = $3, data_classes = $4, users = $5, purpose = $6, updated_at = $7 WHERE id = $8")
            .bind(&w.product)
            .bind(&w.vendor)
            .bind(json_list(&w.certifications))
            .bind(json_list(&w.data_classes))
            .bind(&w.users)
            .bind(&w.purpose)
            .bind(now)
            .bind(id)
            .execute(self.conn())
            .await
            .map_err(|e| StoreError::from_write(e, &format!("SaaS '{}' of '{}'", w.product, w.vendor)))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Deletes a SaaS entry and its evaluations.
    pub async fn delete_saas(&mut self, id: i64) -> Result<()> {
        sqlx::query("DELETE FROM saas_evaluations WHERE saas_id = $1")
            .bind(id)
            .execute(self.conn())
            .await?;
        let done = sqlx::query("DELETE FROM saas_services WHERE id = $1")
            .bind(id)
            .execute(self.conn())
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn insert_saas_evaluation(
        &mut self,
        saas_id: i64,
        evaluated_on: &str,
        result: &str,
        notes: Option<&str>,
        reported_to_ciso_at: Option<&str>,
        by: &str,
        now: &str,
    ) -> Result<i64> {
        let r = sqlx::query("INSERT INTO saas_evaluations (saas_id, evaluated_on, result, notes, reported_to_ciso_at, recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
            .bind(saas_id)
            .bind(evaluated_on)
            .bind(result)
            .bind(notes)
            .bind(reported_to_ciso_at)
            .bind(by)
            .bind(now)
            .fetch_one(self.conn())
            .await?;
        Ok(r.try_get("id")?)
    }
}

pub async fn get_saas<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<SaasRow>> {
    let r = sqlx::query(&format!(
        "SELECT {SAAS_COLUMNS} FROM saas_services WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(saas_row).transpose()
}

pub async fn list_saas<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: i64,
) -> Result<Vec<SaasRow>> {
    let rs = sqlx::query(&format!(
        "SELECT {SAAS_COLUMNS} FROM saas_services WHERE institution_id = $1 ORDER BY product, vendor"
    ))
    .bind(institution_id)
    .fetch_all(e)
    .await?;
    rs.iter().map(saas_row).collect()
}

/// Every institution's security-SaaS register, by institution then product (the officer's
/// compliance flags check each entry against the institution's letter).
pub async fn list_all_saas<'e, E: Executor<'e, Database = Any>>(e: E) -> Result<Vec<SaasRow>> {
    let rs = sqlx::query(&format!(
        "SELECT {SAAS_COLUMNS} FROM saas_services ORDER BY institution_id, product, vendor"
    ))
    .fetch_all(e)
    .await?;
    rs.iter().map(saas_row).collect()
}

pub async fn saas_evaluations<'e, E: Executor<'e, Database = Any>>(
    e: E,
    saas_id: i64,
) -> Result<Vec<SaasEvaluationRow>> {
    let rs = sqlx::query("SELECT id, saas_id, evaluated_on, result, notes, reported_to_ciso_at, recorded_by, created_at FROM saas_evaluations WHERE saas_id = $1 ORDER BY evaluated_on DESC, id DESC")
        .bind(saas_id)
        .fetch_all(e)
        .await?;
    rs.iter()
        .map(|r| {
            Ok(SaasEvaluationRow {
                id: r.try_get("id")?,
                saas_id: r.try_get("saas_id")?,
                evaluated_on: r.try_get("evaluated_on")?,
                result: r.try_get("result")?,
                notes: r.try_get("notes")?,
                reported_to_ciso_at: r.try_get("reported_to_ciso_at")?,
                recorded_by: r.try_get("recorded_by")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}
