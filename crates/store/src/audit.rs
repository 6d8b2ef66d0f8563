//! The audit log: every state change, who made it, before and after, in a hash chain so that
//! altering or removing a stored entry is detectable (`haechi audit verify`).
//!
//! Entry hash = SHA-256 over the length-prefixed fields of the entry and the previous entry's
//! hash; `audit_head` holds the last sequence number and hash so that removing the newest entry
//! is detected too.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Result, Store, WriteTx};

/// What a use case records.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub actor_id: i64,
    pub actor_name: String,
    pub actor_role: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub institution_id: Option<i64>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor_id: i64,
    pub actor_name: String,
    pub actor_role: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub institution_id: Option<i64>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        let inst = self.institution_id.map(|i| i.to_string());
        let fields: [Option<&str>; 11] = [
            Some(&self.at),
            Some(&self.actor_name),
            Some(&self.actor_role),
            Some(&self.action),
            Some(&self.entity),
            Some(&self.entity_id),
            inst.as_deref(),
            self.before_json.as_deref(),
            self.after_json.as_deref(),
            Some(&self.prev_hash),
            None,
        ];
        h.update(self.seq.to_be_bytes());
        h.update(self.actor_id.to_be_bytes());
        for f in fields {
            match f {
                Some(s) => {
                    h.update((s.len() as u64).to_be_bytes());
                    h.update(s.as_bytes());
                }
                None => h.update(u64::MAX.to_be_bytes()),
            }
        }
        hex::encode(h.finalize())
    }
}

/// Filters for the audit log view.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor_name: Option<String>,
    pub action: Option<String>,
    pub institution_id: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditVerification {
    pub entries: i64,
    pub intact: bool,
    /// Sequence number of the first entry that fails, and why.
    pub first_bad: Option<(i64, String)>,
}

impl WriteTx {
    /// Appends one entry to the chain, inside this transaction.
    pub async fn audit(&mut self, rec: AuditRecord) -> Result<i64> {
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE singleton = 1")
            .fetch_one(self.conn())
            .await?;
        let seq: i64 = head.try_get::<i64, _>("seq")? + 1;
        let prev_hash: String = head.try_get("hash")?;
        let mut entry = AuditEntry {
            seq,
            at: self.now_text(),
            actor_id: rec.actor_id,
            actor_name: rec.actor_name,
            actor_role: rec.actor_role,
            action: rec.action,
            entity: rec.entity,
            entity_id: rec.entity_id,
            institution_id: rec.institution_id,
            before_json: rec.before.map(|v| v.to_string()),
            after_json: rec.after.map(|v| v.to_string()),
            prev_hash,
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor_id, actor_name, actor_role, action, entity, entity_id, institution_id, before_json, after_json, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(entry.seq)
        .bind(&entry.at)
        .bind(entry.actor_id)
        .bind(&entry.actor_name)
        .bind(&entry.actor_role)
        .bind(&entry.action)
        .bind(&entry.entity)
        .bind(&entry.entity_id)
        .bind(entry.institution_id)
        .bind(&entry.before_json)
        .bind(&entry.after_json)
        .bind(&entry.prev_hash)
        .bind(&entry.hash)
        .execute(self.conn())
        .await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE singleton = 1")
            .bind(seq)
            .bind(&entry.hash)
            .execute(self.conn())
            .await?;
        Ok(seq)
    }
}

fn entry_from_row(r: &sqlx::any::AnyRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        actor_id: r.try_get("actor_id")?,
        actor_name: r.try_get("actor_name")?,
        actor_role: r.try_get("actor_role")?,
        action: r.try_get("action")?,
        entity: r.try_get("entity")?,
        entity_id: r.try_get("entity_id")?,
        institution_id: r.try_get("institution_id")?,
        before_json: r.try_get("before_json")?,
        after_json: r.try_get("after_json")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

const AUDIT_COLUMNS: &str = "seq, at, actor_id, actor_name, actor_role, action, entity, entity_id, institution_id, before_json, after_json, prev_hash, hash";

impl Store {
    /// Newest first.
    pub async fn audit_entries(&self, f: &AuditFilter) -> Result<(Vec<AuditEntry>, i64)> {
        let mut clauses = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let mut n = 0;
        let mut next = |col: &str| {
            n += 1;
            format!("{col} = ${n}")
        };
        for (col, v) in [
            ("entity", &f.entity),
            ("entity_id", &f.entity_id),
            ("actor_name", &f.actor_name),
            ("action", &f.action),
        ] {
            if let Some(v) = v {
                clauses.push(next(col));
                texts.push(v.clone());
            }
        }
        if f.institution_id.is_some() {
            clauses.push(next("institution_id"));
        }
        let where_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        let count_sql = format!("SELECT COUNT(*) FROM audit_log{where_sql}");
        let list_sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log{where_sql} ORDER BY seq DESC LIMIT {} OFFSET {}",
            f.limit.clamp(1, 500),
            f.offset.max(0)
        );
        let mut count_q = sqlx::query_scalar::<_, i64>(&count_sql);
        let mut list_q = sqlx::query(&list_sql);
        for t in &texts {
            count_q = count_q.bind(t.clone());
            list_q = list_q.bind(t.clone());
        }
        if let Some(i) = f.institution_id {
            count_q = count_q.bind(i);
            list_q = list_q.bind(i);
        }
        let total = count_q.fetch_one(&self.pool).await?;
        let rows = list_q.fetch_all(&self.pool).await?;
        let entries = rows
            .iter()
            .map(entry_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok((entries, total))
    }

    /// Walks the whole chain in order and reports the first entry that does not hold.
    pub async fn verify_audit(&self) -> Result<AuditVerification> {
        let mut expected_prev = "0".repeat(64);
        let mut expected_seq = 1;
        let mut last_seq = 0;
        let mut first_bad = None;
        let mut from = 0i64;
        // Paged so that a long log is never held whole in memory.
        'outer: loop {
            let rows = sqlx::query(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 5000"
            ))
            .bind(from)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let e = entry_from_row(r)?;
                from = e.seq;
                let problem = if e.seq != expected_seq {
                    Some((
                        expected_seq,
                        format!(
                            "entry {expected_seq} is missing (next stored entry is {})",
                            e.seq
                        ),
                    ))
                } else if e.prev_hash != expected_prev {
                    Some((e.seq, "its link to the previous entry does not match (an earlier entry was altered or removed)".to_string()))
                } else if e.compute_hash() != e.hash {
                    Some((
                        e.seq,
                        "its content does not match its hash (the entry was altered)".to_string(),
                    ))
                } else {
                    None
                };
                if let Some(p) = problem {
                    first_bad = Some(p);
                    break 'outer;
                }
                expected_prev = e.hash.clone();
                expected_seq += 1;
                last_seq = e.seq;
            }
        }
        if first_bad.is_none() {
            let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE singleton = 1")
                .fetch_one(&self.pool)
                .await?;
            let head_seq: i64 = head.try_get("seq")?;
            let head_hash: String = head.try_get("hash")?;
            if head_seq != last_seq || head_hash != expected_prev {
                first_bad = Some((last_seq + 1, format!("the log ends at entry {last_seq} but {head_seq} entries were written (newest entries removed)")));
            }
        }
        Ok(AuditVerification {
            entries: last_seq,
            intact: first_bad.is_none(),
            first_bad,
        })
    }
}
