//! Cross-tool clusters of findings (issue #13): what the clustering reads, its stored result
//! (`finding_clusters`, migration 0011) and the reads that pages and patch records need.

use serde::Serialize;
use sqlx::{Any, Executor, Row};

use crate::{Result, WriteTx};

/// What the clustering reads of one open finding with a location and a CWE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterCandidateRow {
    pub id: i64,
    pub resource_id: Option<i64>,
    pub location: String,
    pub cwes: String,
    pub tool_name: String,
    pub ai_model: Option<String>,
    pub priority: Option<String>,
}

/// Calls `f` with each open or in-progress finding of an institution that could be grouped
/// (with a location and at least one CWE), ordered by resource and location, so that the
/// findings of one file of one resource come one after the other: a caller holds one file's
/// findings at a time however many the institution has. Streamed, not collected.
pub async fn each_cluster_candidate<F>(
    pool: &sqlx::AnyPool,
    institution_id: i64,
    mut f: F,
) -> Result<()>
where
    F: FnMut(ClusterCandidateRow),
{
    use futures_util::TryStreamExt;
    // Byte order keeps the locations of one path together (a locale's collation, which
    // PostgreSQL may use, can interleave `a.py:9` with `ab.py:1`); SQLite compares bytes anyway.
    let sqlite = pool
        .connect_options()
        .database_url
        .scheme()
        .starts_with("sqlite");
    let collate = if sqlite { "" } else { " COLLATE \"C\"" };
    let sql = format!(
        "SELECT f.id, f.resource_id, f.location, f.cwes, f.tool_name, f.ai_model, p.priority \
         FROM findings f LEFT JOIN finding_priorities p ON p.finding_id = f.id \
         WHERE f.institution_id = $1 AND f.status IN ('open', 'in_progress') \
         AND f.location IS NOT NULL AND f.cwes <> ',' ORDER BY f.resource_id, f.location{collate}"
    );
    let mut rows = sqlx::query(&sql).bind(institution_id).fetch(pool);
    while let Some(r) = rows.try_next().await? {
        f(ClusterCandidateRow {
            id: r.try_get("id")?,
            resource_id: r.try_get("resource_id")?,
            location: r.try_get("location")?,
            cwes: r.try_get("cwes")?,
            tool_name: r.try_get("tool_name")?,
            ai_model: r.try_get("ai_model")?,
            priority: r.try_get("priority")?,
        });
    }
    Ok(())
}

/// Whether an institution's findings come from more than one producer (tool, AI model): only
/// then can a cluster exist. Four probes of the list's `(institution_id, tool_name, id)` and
/// `(institution_id, ai_model, id)` indexes, whatever the number of findings (the extremes of
/// each column differ exactly when it has two values; NULL sorts at one end on both databases).
pub async fn has_several_producers(pool: &sqlx::AnyPool, institution_id: i64) -> Result<bool> {
    for column in ["tool_name", "ai_model"] {
        let mut ends: Vec<Option<String>> = Vec::with_capacity(2);
        for dir in ["ASC", "DESC"] {
            let end: Option<Option<String>> = sqlx::query_scalar(&format!(
                "SELECT {column} FROM findings WHERE institution_id = $1 ORDER BY {column} {dir} LIMIT 1"
            ))
            .bind(institution_id)
            .fetch_optional(pool)
            .await?;
            match end {
                Some(v) => ends.push(v),
                None => return Ok(false),
            }
        }
        if ends[0] != ends[1] {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether an institution has any stored cluster.
pub async fn has_clusters(pool: &sqlx::AnyPool, institution_id: i64) -> Result<bool> {
    let one: Option<i64> = sqlx::query_scalar(
        "SELECT finding_id FROM finding_clusters WHERE institution_id = $1 LIMIT 1",
    )
    .bind(institution_id)
    .fetch_optional(pool)
    .await?;
    Ok(one.is_some())
}

/// One stored membership: (finding, cluster leader, reason JSON).
pub type ClusterRow = (i64, i64, Option<String>);

impl WriteTx {
    /// Replaces the clusters of an institution; returns whether anything changed.
    pub async fn replace_clusters(
        &mut self,
        institution_id: i64,
        rows: &[ClusterRow],
    ) -> Result<bool> {
        let old: Vec<(i64, i64, Option<String>)> = sqlx::query(
            "SELECT finding_id, cluster_id, reason FROM finding_clusters WHERE institution_id = $1 ORDER BY finding_id",
        )
        .bind(institution_id)
        .fetch_all(self.conn())
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect::<Result<_>>()?;
        let mut new = rows.to_vec();
        new.sort_by_key(|r| r.0);
        if old == new {
            return Ok(false);
        }
        sqlx::query("DELETE FROM finding_clusters WHERE institution_id = $1")
            .bind(institution_id)
            .execute(self.conn())
            .await?;
        for chunk in new.chunks(500) {
            let mut sql = String::from(
                "INSERT INTO finding_clusters (finding_id, institution_id, cluster_id, reason) VALUES ",
            );
            for (i, _) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                let b = i * 4;
                sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
            }
            let mut q = sqlx::query(&sql);
            for (f, c, reason) in chunk {
                q = q
                    .bind(*f)
                    .bind(institution_id)
                    .bind(*c)
                    .bind(reason.clone());
            }
            q.execute(self.conn()).await?;
        }
        Ok(true)
    }
}

/// One finding of a cluster, as its page shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterMember {
    pub finding_id: i64,
    pub cluster_id: i64,
    pub tool_name: String,
    pub ai_model: Option<String>,
    pub ai_origin: String,
    pub rule_id: Option<String>,
    pub location: Option<String>,
    pub cwes: String,
    pub status: String,
    pub priority: Option<String>,
    pub reason: Option<String>,
}

/// Every member of the cluster `finding_id` is in (leader first, then by id); empty when it is
/// in none.
pub async fn cluster_of<'e, E: Executor<'e, Database = Any>>(
    e: E,
    finding_id: i64,
) -> Result<Vec<ClusterMember>> {
    let rs = sqlx::query(
        "SELECT c.finding_id, c.cluster_id, c.reason, f.tool_name, f.ai_model, f.ai_origin, f.rule_id, f.location, f.cwes, f.status, p.priority \
         FROM finding_clusters c JOIN findings f ON f.id = c.finding_id LEFT JOIN finding_priorities p ON p.finding_id = c.finding_id \
         WHERE c.cluster_id = (SELECT cluster_id FROM finding_clusters WHERE finding_id = $1) \
         ORDER BY CASE WHEN c.finding_id = c.cluster_id THEN 0 ELSE 1 END, c.finding_id",
    )
    .bind(finding_id)
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(ClusterMember {
                finding_id: r.try_get("finding_id")?,
                cluster_id: r.try_get("cluster_id")?,
                tool_name: r.try_get("tool_name")?,
                ai_model: r.try_get("ai_model")?,
                ai_origin: r.try_get("ai_origin")?,
                rule_id: r.try_get("rule_id")?,
                location: r.try_get("location")?,
                cwes: r.try_get("cwes")?,
                status: r.try_get("status")?,
                priority: r.try_get("priority")?,
                reason: r.try_get("reason")?,
            })
        })
        .collect()
}

/// `ids` with every other member of their clusters (sorted, without repeats).
pub async fn with_cluster_members<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: i64,
    ids: &[i64],
) -> Result<Vec<i64>> {
    let mut out = ids.to_vec();
    if !ids.is_empty() {
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let more: Vec<i64> = sqlx::query_scalar(&format!(
            "SELECT finding_id FROM finding_clusters WHERE institution_id = $1 AND cluster_id IN \
             (SELECT cluster_id FROM finding_clusters WHERE institution_id = $1 AND finding_id IN ({}))",
            list.join(", ")
        ))
        .bind(institution_id)
        .fetch_all(e)
        .await?;
        out.extend(more);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Ids of an institution's open findings whose location contains `file` (the demo's way of
/// naming a flaw).
pub async fn open_finding_ids_at<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: i64,
    file: &str,
) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM findings WHERE institution_id = $1 AND status = 'open' AND location LIKE $2 ORDER BY id",
    )
    .bind(institution_id)
    .bind(format!("%{file}%"))
    .fetch_all(e)
    .await?)
}
