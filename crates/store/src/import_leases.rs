//! Leases of finding imports: the node that accepted an import refreshes its heartbeat while the
//! import is queued or running there; an import whose heartbeat is older than the lease belongs
//! to a node that died and is failed by a conditional update (migration 0021).

use sqlx::{Any, Executor, Row};

use crate::{Result, WriteTx};

/// An import whose heartbeat is older than a cutoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleImport {
    pub id: i64,
    pub institution_id: i64,
    /// The node that accepted it (`None` for imports stored before migration 0021).
    pub node_id: Option<String>,
    /// Its last heartbeat (else its upload time), RFC 3339 UTC.
    pub last_seen: String,
}

/// Imports still `queued` or `running` whose last heartbeat (else upload time) is before
/// `cutoff` (RFC 3339 UTC text, compared as stored).
pub async fn stale_finding_imports<'e, E: Executor<'e, Database = Any>>(
    e: E,
    cutoff: &str,
) -> Result<Vec<StaleImport>> {
    let rows = sqlx::query(
        "SELECT id, institution_id, node_id, COALESCE(heartbeat_at, uploaded_at) AS last_seen FROM finding_imports \
         WHERE state IN ('queued', 'running') AND COALESCE(heartbeat_at, uploaded_at) < $1 ORDER BY id LIMIT 1000",
    )
    .bind(cutoff)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StaleImport {
                id: r.try_get("id")?,
                institution_id: r.try_get("institution_id")?,
                node_id: r.try_get("node_id")?,
                last_seen: r.try_get("last_seen")?,
            })
        })
        .collect()
}

/// Refreshes the heartbeat of the given imports of `node` that are still open; returns how many.
/// A plain statement outside the write lock: it never waits for another node's import.
pub async fn touch_finding_imports<'e, E: Executor<'e, Database = Any>>(
    e: E,
    node: &str,
    ids: &[i64],
    now: &str,
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    // Integers only, so the list is spelled inline.
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let done = sqlx::query(&format!(
        "UPDATE finding_imports SET heartbeat_at = $1 WHERE node_id = $2 AND state IN ('queued', 'running') AND id IN ({list})"
    ))
    .bind(now)
    .bind(node)
    .execute(e)
    .await?;
    Ok(done.rows_affected())
}

impl WriteTx {
    /// Names `node` as the owner of import `id`, with a first heartbeat at `now`.
    pub async fn claim_finding_import(&mut self, id: i64, node: &str, now: &str) -> Result<()> {
        sqlx::query("UPDATE finding_imports SET node_id = $1, heartbeat_at = $2 WHERE id = $3")
            .bind(node)
            .bind(now)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Fails import `id` if it is still open and its heartbeat (else upload time) is still before
    /// `cutoff`: the condition is checked by the update itself, so an import whose node came
    /// back, or that finished meanwhile, is left alone. Returns whether it was failed.
    pub async fn fail_stale_finding_import(
        &mut self,
        id: i64,
        cutoff: &str,
        code: &str,
        message: &str,
    ) -> Result<bool> {
        let now = self.now_text();
        let done = sqlx::query(
            "UPDATE finding_imports SET state = 'failed', finished_at = $1, error_code = $2, error_message = $3 \
             WHERE id = $4 AND state IN ('queued', 'running') AND COALESCE(heartbeat_at, uploaded_at) < $5",
        )
        .bind(now)
        .bind(code)
        .bind(message)
        .bind(id)
        .bind(cutoff)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
