//! The audit log: every state change, who made it, before and after, in a hash chain so that
//! altering or removing a stored entry is detectable (`haechi audit verify`).
//!
//! Entry hash = SHA-256 over the length-prefixed fields of the entry and the previous entry's
//! hash; `audit_head` holds the last sequence number and hash so that removing the newest entry
//! is detected too.
//!
//! Checkpoints keep verification fast on a long log. A checkpoint is itself an entry of the
//! chain (action [`CHECKPOINT_ACTION`]) whose `after_json` names the entry it vouches for, by
//! sequence number and hash, written only after the chain up to that entry verified intact. The
//! incremental check ([`Store::verify_audit_incremental`]) finds the newest checkpoint entry,
//! checks that the entry it vouches for still carries the hash it names, and walks the chain
//! from there to the head — a walk that passes through the checkpoint entry itself, so the
//! checkpoint is covered by its own hash and by the next entries' links like any other entry.
//! No key is involved: forging a checkpoint means inserting an entry into the chain, which needs
//! every later entry re-hashed — the same rewrite that a plain chain cannot stop either (anchor
//! the head hash outside the database against that). What the incremental check does not see
//! is a silent edit of an entry older than the checkpoint that leaves its stored hash alone;
//! the full walk ([`Store::verify_audit`], `haechi audit verify --full`) does, and stays
//! available for a scheduled run.

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
    /// The entry the walk started after: 0 for a full walk, else the entry the newest checkpoint
    /// vouches for (entries up to it were verified when that checkpoint was written).
    pub verified_from: i64,
    /// The hash of entry `entries` (what a checkpoint written after this check vouches for).
    #[serde(skip)]
    pub last_hash: String,
}

/// The action of a checkpoint entry (see the module documentation).
pub const CHECKPOINT_ACTION: &str = "audit.checkpoint";
const CHECKPOINT_ENTITY: &str = "audit_log";

/// A checkpoint entry's claim: the chain up to entry `through_seq`, whose hash is `through_hash`,
/// verified intact.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct AuditCheckpoint {
    /// The checkpoint entry's own sequence number.
    #[serde(skip_deserializing)]
    pub seq: i64,
    pub through_seq: i64,
    pub through_hash: String,
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
        // Unfiltered, the head's sequence number is the count (entries are numbered from 1
        // without gaps; the chain check reports any gap): no scan of a long log per page.
        let count_sql = if clauses.is_empty() {
            "SELECT seq FROM audit_head WHERE singleton = 1".to_string()
        } else {
            format!("SELECT COUNT(*) FROM audit_log{where_sql}")
        };
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
        self.verify_audit_after(0, "0".repeat(64)).await
    }

    /// Verifies from the newest checkpoint to the head (see the module documentation); the
    /// whole chain when there is none yet.
    pub async fn verify_audit_incremental(&self) -> Result<AuditVerification> {
        let Some(cp) = self.latest_audit_checkpoint().await? else {
            return self.verify_audit().await;
        };
        let vouched = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq = $1"
        ))
        .bind(cp.through_seq)
        .fetch_optional(&self.pool)
        .await?;
        let problem = match vouched.as_ref().map(entry_from_row).transpose()? {
            None => Some(format!(
                "entry {} that the checkpoint at entry {} vouches for is missing",
                cp.through_seq, cp.seq
            )),
            Some(e) if e.hash != cp.through_hash || e.compute_hash() != e.hash => Some(format!(
                "entry {} no longer matches the checkpoint at entry {} (it or an earlier entry was altered)",
                cp.through_seq, cp.seq
            )),
            Some(_) => None,
        };
        if let Some(why) = problem {
            return Ok(AuditVerification {
                entries: cp.through_seq,
                intact: false,
                first_bad: Some((cp.through_seq, why)),
                verified_from: cp.through_seq,
                last_hash: String::new(),
            });
        }
        self.verify_audit_after(cp.through_seq, cp.through_hash)
            .await
    }

    /// The newest checkpoint entry and what it vouches for. A checkpoint entry whose content
    /// does not parse is not a checkpoint (the walk over it reports it if it was altered).
    pub async fn latest_audit_checkpoint(&self) -> Result<Option<AuditCheckpoint>> {
        let row = sqlx::query(
            "SELECT seq, after_json FROM audit_log WHERE entity = $1 AND action = $2 ORDER BY seq DESC LIMIT 1",
        )
        .bind(CHECKPOINT_ENTITY)
        .bind(CHECKPOINT_ACTION)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let seq: i64 = row.try_get("seq")?;
        let after: Option<String> = row.try_get("after_json")?;
        Ok(after
            .and_then(|a| serde_json::from_str::<AuditCheckpoint>(&a).ok())
            .filter(|c| c.through_seq < seq)
            .map(|c| AuditCheckpoint { seq, ..c }))
    }

    /// Walks the chain from entry `after + 1` (whose link must be `expected_prev`) to the head.
    async fn verify_audit_after(
        &self,
        after: i64,
        mut expected_prev: String,
    ) -> Result<AuditVerification> {
        let mut expected_seq = after + 1;
        let mut last_seq = after;
        let mut first_bad = None;
        let mut from = after;
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
                expected_prev = e.hash;
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
            verified_from: after,
            last_hash: expected_prev,
        })
    }
}

impl WriteTx {
    /// Appends a checkpoint entry vouching for entry `through_seq`, which a verification that
    /// just passed ended on: refused (returns `None`, writes nothing) when that entry no longer
    /// carries `through_hash` or a newer checkpoint already vouches for it or a later entry.
    pub async fn audit_checkpoint(
        &mut self,
        rec: AuditRecord,
        through_seq: i64,
        through_hash: &str,
    ) -> Result<Option<i64>> {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1")
                .bind(through_seq)
                .fetch_optional(self.conn())
                .await?;
        if stored.as_deref() != Some(through_hash) {
            return Ok(None);
        }
        let newest = sqlx::query(
            "SELECT seq, after_json FROM audit_log WHERE entity = $1 AND action = $2 ORDER BY seq DESC LIMIT 1",
        )
        .bind(CHECKPOINT_ENTITY)
        .bind(CHECKPOINT_ACTION)
        .fetch_optional(self.conn())
        .await?;
        if let Some(row) = newest {
            // Nothing but the newest checkpoint itself since it: an idle log gains no entries.
            let seq: i64 = row.try_get("seq")?;
            let after: Option<String> = row.try_get("after_json")?;
            let covered = after
                .and_then(|a| serde_json::from_str::<AuditCheckpoint>(&a).ok())
                .map_or(0, |c| c.through_seq);
            if covered >= through_seq || seq >= through_seq {
                return Ok(None);
            }
        }
        let claim = serde_json::json!({"through_seq": through_seq, "through_hash": through_hash});
        let seq = self
            .audit(AuditRecord {
                action: CHECKPOINT_ACTION.to_string(),
                entity: CHECKPOINT_ENTITY.to_string(),
                entity_id: through_seq.to_string(),
                institution_id: None,
                before: None,
                after: Some(claim),
                ..rec
            })
            .await?;
        Ok(Some(seq))
    }
}

impl Store {
    /// Appends `n` synthetic entries to the chain in one transaction, in multi-row statements
    /// (for `haechi bench audit`: a log of millions of entries in minutes, not hours). Each entry
    /// is linked and hashed exactly as [`WriteTx::audit`] does it.
    pub async fn append_synthetic_audit(&self, n: i64) -> Result<()> {
        const ROWS: usize = 400;
        // A cache large enough for the five audit indexes of ten million entries: without it
        // every row's random index positions go to disk and the fill takes an hour.
        let mut tx = self.begin_bulk(4096).await?;
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE singleton = 1")
            .fetch_one(tx.conn())
            .await?;
        let mut seq: i64 = head.try_get("seq")?;
        let mut prev: String = head.try_get("hash")?;
        let at = tx.now_text();
        let end = seq + n;
        let placeholders = |rows: usize| {
            (0..rows)
                .map(|r| {
                    let cols: Vec<String> = (1..=13).map(|c| format!("${}", r * 13 + c)).collect();
                    format!("({})", cols.join(", "))
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let full_sql = format!(
            "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES {}",
            placeholders(ROWS)
        );
        while seq < end {
            let rows = usize::try_from(end - seq).map_or(ROWS, |left| left.min(ROWS));
            let mut batch = Vec::with_capacity(rows);
            for _ in 0..rows {
                seq += 1;
                let mut e = AuditEntry {
                    seq,
                    at: at.clone(),
                    actor_id: 1 + seq % 7,
                    actor_name: format!("officer{}", seq % 7),
                    actor_role: "regulator_officer".into(),
                    action: "finding.status".into(),
                    entity: "finding".into(),
                    entity_id: (seq * 31 % 1_000_003).to_string(),
                    institution_id: Some(1 + seq % 40),
                    before_json: Some(r#"{"status":"open"}"#.into()),
                    after_json: Some(format!(r#"{{"status":"fixed","note":"synthetic {seq}"}}"#)),
                    prev_hash: prev,
                    hash: String::new(),
                };
                e.hash = e.compute_hash();
                prev = e.hash.clone();
                batch.push(e);
            }
            let sql = if rows == ROWS {
                full_sql.clone()
            } else {
                format!(
                    "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES {}",
                    placeholders(rows)
                )
            };
            let mut q = sqlx::query(&sql);
            for e in batch {
                q = q
                    .bind(e.seq)
                    .bind(e.at)
                    .bind(e.actor_id)
                    .bind(e.actor_name)
                    .bind(e.actor_role)
                    .bind(e.action)
                    .bind(e.entity)
                    .bind(e.entity_id)
                    .bind(e.institution_id)
                    .bind(e.before_json)
                    .bind(e.after_json)
                    .bind(e.prev_hash)
                    .bind(e.hash);
            }
            q.execute(tx.conn()).await?;
        }
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE singleton = 1")
            .bind(seq)
            .bind(&prev)
            .execute(tx.conn())
            .await?;
        tx.commit().await
    }
}
