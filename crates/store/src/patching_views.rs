//! Read queries behind the portal's patch-queue page that `patching.rs` does not offer: the
//! queue with filters (priority, resource, assignee, SLA-breached only) in numbered pages, a
//! per-priority summary of the open queue, and the users of an institution (the assignee choice).
//!
//! What it must not do: change anything.

use serde::Serialize;
use sqlx::{Any, Executor, Row};

use crate::patching::{queue_item, NOT_HIDDEN_BY_CLUSTER, QUEUE_COLUMNS, QUEUE_JOINS};
use crate::{QueueItem, Result};

/// Who a filtered queue keeps by assignee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AssigneeFilter {
    #[default]
    Any,
    /// No one is assigned.
    Unassigned,
    User(i64),
}

/// Filters and page of the queue.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueFilter {
    /// `P1`..`P5`.
    pub priority: Option<String>,
    pub resource_id: Option<i64>,
    pub assignee: AssigneeFilter,
    /// Only findings due before this day (`YYYY-MM-DD`, today): SLA breached.
    pub due_before: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// The open queue of one priority (items as the queue shows them: a cross-tool cluster once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueSummaryRow {
    pub priority: String,
    pub open: i64,
    pub breached: i64,
}

/// A user of an institution (for the assignee choice and names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstitutionUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
}

/// One page of an institution's queue (open and in-progress findings with a priority), by
/// priority, due date and id, with the filters applied.
pub async fn queue_filtered<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: i64,
    f: &QueueFilter,
) -> Result<Vec<QueueItem>> {
    let (assignee_mode, assignee_id) = match f.assignee {
        AssigneeFilter::Any => (0_i64, 0_i64),
        AssigneeFilter::Unassigned => (1, 0),
        AssigneeFilter::User(u) => (2, u),
    };
    let rs = sqlx::query(&format!(
        "SELECT {QUEUE_COLUMNS} \
         FROM (SELECT p.finding_id, p.priority, p.due_date, p.decision, p.policy_version FROM finding_priorities p JOIN findings a ON a.id = p.finding_id \
               WHERE p.institution_id = $1 AND p.status IN ('open', 'in_progress') AND p.priority IS NOT NULL \
               AND ($2 = '' OR p.priority = $2) \
               AND ($3 = 0 OR p.resource_id = $3) \
               AND ($4 = 0 OR ($4 = 1 AND a.assignee_user_id IS NULL) OR ($4 = 2 AND a.assignee_user_id = $5)) \
               AND ($6 = '' OR p.due_date < $6) AND {NOT_HIDDEN_BY_CLUSTER} \
               ORDER BY p.priority, p.due_date, p.finding_id LIMIT $7 OFFSET $8) AS q \
         {QUEUE_JOINS}"
    ))
    .bind(institution_id)
    .bind(f.priority.as_deref().unwrap_or(""))
    .bind(f.resource_id.unwrap_or(0))
    .bind(assignee_mode)
    .bind(assignee_id)
    .bind(f.due_before.as_deref().unwrap_or(""))
    .bind(f.limit)
    .bind(f.offset)
    .fetch_all(e)
    .await?;
    rs.iter().map(queue_item).collect()
}

/// Counts of the queue summary stop here (a count above it is shown as "more than"), so that the
/// summary costs at most a few bounded index scans even over a million open findings.
pub const QUEUE_COUNT_CAP: i64 = 10_000;

/// Open queue per priority of an institution, and how many are due before `today`; each count
/// stops at [`QUEUE_COUNT_CAP`] + 1.
///
/// Two statements for the five cards (there were twenty: the queue page, the heaviest of
/// `haechi bench serve`'s mix, spent most of its time in round trips). The queue hides cluster
/// members whose leader is queued; checking that per row of a capped count costs a lookup per
/// row, so the hidden members (few: they come from `finding_clusters`) are counted first, per
/// priority, and each raw count goes up to the cap plus them. CROSS JOIN makes SQLite start from
/// the institution's cluster rows (joined the other way it walked every open finding).
/// Each raw count reads the first rows of its priority in due-date order from the queue index:
/// the past-due ones come first, so the breached count among them is exact up to the cap too.
pub async fn queue_summary<'e, E: Executor<'e, Database = Any> + Copy>(
    e: E,
    institution_id: i64,
    today: &str,
) -> Result<Vec<QueueSummaryRow>> {
    const PRIORITIES: [&str; 5] = ["P1", "P2", "P3", "P4", "P5"];
    let hidden: Vec<(String, i64, i64)> = sqlx::query_as(&format!(
        "SELECT p.priority, COUNT(*), COALESCE(SUM(CASE WHEN p.due_date < $2 THEN 1 ELSE 0 END), 0) \
         FROM finding_clusters c CROSS JOIN finding_priorities p \
         WHERE c.finding_id = p.finding_id AND c.institution_id = $1 AND p.institution_id = $1 \
         AND p.status IN ('open', 'in_progress') AND p.priority IS NOT NULL AND NOT {NOT_HIDDEN_BY_CLUSTER} \
         GROUP BY p.priority"
    ))
    .bind(institution_id)
    .bind(today)
    .fetch_all(e)
    .await?;
    let hidden_of = |priority: &str| {
        hidden
            .iter()
            .find(|(p, _, _)| p == priority)
            .map_or((0, 0), |(_, open, breached)| (*open, *breached))
    };
    // Priorities are our own constants and the limits integers: safe to write into the statement.
    let branches: Vec<String> = PRIORITIES
        .iter()
        .map(|priority| {
            format!(
                "SELECT '{priority}' AS priority, COUNT(*) AS open, COALESCE(SUM(CASE WHEN due_date < $2 THEN 1 ELSE 0 END), 0) AS breached \
                 FROM (SELECT due_date FROM finding_priorities WHERE institution_id = $1 AND status IN ('open', 'in_progress') \
                 AND priority = '{priority}' ORDER BY due_date LIMIT {}) AS t",
                QUEUE_COUNT_CAP + 1 + hidden_of(priority).0
            )
        })
        .collect();
    let raw: Vec<(String, i64, i64)> = sqlx::query_as(&branches.join(" UNION ALL "))
        .bind(institution_id)
        .bind(today)
        .fetch_all(e)
        .await?;
    let mut out = Vec::with_capacity(PRIORITIES.len());
    for priority in PRIORITIES {
        let (open, breached) = raw
            .iter()
            .find(|(p, _, _)| p == priority)
            .map_or((0, 0), |(_, o, b)| (*o, *b));
        let (hidden_open, hidden_breached) = hidden_of(priority);
        out.push(QueueSummaryRow {
            priority: priority.to_string(),
            open: (open - hidden_open).min(QUEUE_COUNT_CAP + 1),
            breached: (breached - hidden_breached).min(QUEUE_COUNT_CAP + 1),
        });
    }
    Ok(out)
}

/// Enabled users of an institution, by display name.
pub async fn institution_users<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: i64,
) -> Result<Vec<InstitutionUser>> {
    let rs = sqlx::query(
        "SELECT id, username, display_name FROM users WHERE institution_id = $1 AND disabled = 0 ORDER BY display_name, id",
    )
    .bind(institution_id)
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(InstitutionUser {
                id: r.try_get("id")?,
                username: r.try_get("username")?,
                display_name: r.try_get("display_name")?,
            })
        })
        .collect()
}

/// Findings of an institution closed (moved from open or in progress to fixed or verified) per
/// day from `from` (`YYYY-MM-DD`) on: the burn-down's outflow, as (day, count) by day.
pub async fn closed_by_day<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: i64,
    from: &str,
) -> Result<Vec<(String, i64)>> {
    let rs = sqlx::query(
        "SELECT substr(changed_at, 1, 10) AS day, COUNT(*) AS n FROM finding_status_changes \
         WHERE institution_id = $1 AND from_status IN ('open', 'in_progress') AND to_status IN ('fixed', 'verified') \
         AND changed_at >= $2 GROUP BY substr(changed_at, 1, 10) ORDER BY day",
    )
    .bind(institution_id)
    .bind(from)
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| Ok((r.try_get("day")?, r.try_get("n")?)))
        .collect()
}
