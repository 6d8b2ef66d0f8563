//! Threat sharing (C10): bulletins, their published versions and acknowledgements, and the STIX
//! objects TAXII serves, kept per collection in the order they were added so that a page is one
//! keyset range of `stix_objects_page` (or `stix_objects_latest` for the default `last` version).

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::{Result, StoreError, WriteTx};

/// A bulletin as stored (its current version; published versions are in `bulletin_versions`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulletinRow {
    pub id: i64,
    pub uuid: String,
    pub kind: String,
    /// `draft`, `in_review`, `published`, `withdrawn`.
    pub state: String,
    /// The published version number (0 before the first publication).
    pub version: i64,
    pub title_ko: String,
    pub title_en: Option<String>,
    pub body_ko: String,
    pub body_en: Option<String>,
    pub severity: String,
    /// Sources, products, CVEs, CWEs, indicators, recommended actions (JSON).
    pub content_json: String,
    pub tlp: String,
    /// `all`, `sector`, `named`, `regulator`.
    pub audience: String,
    pub audience_sector: Option<String>,
    /// Institution ids (JSON array) of a `named` audience.
    pub audience_institutions: String,
    /// `fsi` (research institute) or `support_center`.
    pub publisher: String,
    pub change_note: Option<String>,
    pub advisory_id: Option<i64>,
    pub ack_due_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub submitted_by: Option<String>,
    pub submitted_at: Option<String>,
    pub review_comment: Option<String>,
    pub first_published_at: Option<String>,
    pub published_at: Option<String>,
    pub published_by: Option<String>,
    pub reviewed_by: Option<String>,
    pub withdrawn_at: Option<String>,
    pub withdrawn_by: Option<String>,
    pub withdraw_reason: Option<String>,
}

/// The editable content of a bulletin.
#[derive(Debug, Clone, PartialEq)]
pub struct BulletinWrite<'a> {
    pub kind: &'a str,
    pub title_ko: &'a str,
    pub title_en: Option<&'a str>,
    pub body_ko: &'a str,
    pub body_en: Option<&'a str>,
    pub severity: &'a str,
    pub content_json: &'a str,
    pub tlp: &'a str,
    pub audience: &'a str,
    pub audience_sector: Option<&'a str>,
    pub audience_institutions: &'a str,
    pub change_note: Option<&'a str>,
}

const BULLETIN_COLUMNS: &str = "id, uuid, kind, state, version, title_ko, title_en, body_ko, body_en, severity, content_json, tlp, audience, audience_sector, audience_institutions, publisher, change_note, advisory_id, ack_due_at, created_by, created_at, updated_at, submitted_by, submitted_at, review_comment, first_published_at, published_at, published_by, reviewed_by, withdrawn_at, withdrawn_by, withdraw_reason";

fn bulletin_row(r: &AnyRow) -> Result<BulletinRow> {
    Ok(BulletinRow {
        id: r.try_get("id")?,
        uuid: r.try_get("uuid")?,
        kind: r.try_get("kind")?,
        state: r.try_get("state")?,
        version: r.try_get("version")?,
        title_ko: r.try_get("title_ko")?,
        title_en: r.try_get("title_en")?,
        body_ko: r.try_get("body_ko")?,
        body_en: r.try_get("body_en")?,
        severity: r.try_get("severity")?,
        content_json: r.try_get("content_json")?,
        tlp: r.try_get("tlp")?,
        audience: r.try_get("audience")?,
        audience_sector: r.try_get("audience_sector")?,
        audience_institutions: r.try_get("audience_institutions")?,
        publisher: r.try_get("publisher")?,
        change_note: r.try_get("change_note")?,
        advisory_id: r.try_get("advisory_id")?,
        ack_due_at: r.try_get("ack_due_at")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        submitted_by: r.try_get("submitted_by")?,
        submitted_at: r.try_get("submitted_at")?,
        review_comment: r.try_get("review_comment")?,
        first_published_at: r.try_get("first_published_at")?,
        published_at: r.try_get("published_at")?,
        published_by: r.try_get("published_by")?,
        reviewed_by: r.try_get("reviewed_by")?,
        withdrawn_at: r.try_get("withdrawn_at")?,
        withdrawn_by: r.try_get("withdrawn_by")?,
        withdraw_reason: r.try_get("withdraw_reason")?,
    })
}

/// One published version of a bulletin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulletinVersionRow {
    pub bulletin_id: i64,
    pub version: i64,
    pub published_at: String,
    pub published_by: String,
    pub reviewed_by: String,
    pub change_note: Option<String>,
    /// The bulletin's content as published (JSON).
    pub snapshot_json: String,
    /// The STIX 2.1 bundle of this version.
    pub bundle_json: String,
}

/// An institution's acknowledgement of a bulletin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulletinAckRow {
    pub bulletin_id: i64,
    pub institution_id: i64,
    pub version: i64,
    pub acknowledged_by: String,
    pub acknowledged_at: String,
}

/// One STIX object version in a TAXII collection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StixObjectRow {
    /// Position in the collection (the keyset).
    pub seq: i64,
    pub object_id: String,
    pub object_type: String,
    pub version: String,
    pub spec_version: String,
    pub date_added: String,
    pub body: String,
}

/// A STIX object to add to collections.
#[derive(Debug, Clone, PartialEq)]
pub struct StixWrite {
    pub object_id: String,
    pub object_type: String,
    pub version: String,
    pub spec_version: String,
    pub body: String,
}

/// `match[version]` of TAXII.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum VersionMatch {
    Last,
    First,
    All,
    /// These exact versions (`modified` timestamps).
    Exact(Vec<String>),
}

/// A page request over one collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StixQuery {
    pub collection: String,
    /// Objects after this position (the cursor's keyset).
    pub after_seq: i64,
    /// `added_after`, as stored text (exclusive).
    pub added_after: Option<String>,
    pub ids: Vec<String>,
    pub types: Vec<String>,
    pub versions: VersionMatch,
    pub spec_versions: Vec<String>,
    pub limit: i64,
}

impl WriteTx {
    pub async fn insert_bulletin(
        &mut self,
        uuid: &str,
        w: &BulletinWrite<'_>,
        publisher: &str,
        by: &str,
        now: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO bulletins (uuid, kind, state, version, title_ko, title_en, body_ko, body_en, severity, content_json, tlp, audience, audience_sector, audience_institutions, publisher, change_note, created_by, created_at, updated_at) \
             VALUES ($1, $2, 'draft', 0, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING id",
        )
        .bind(uuid)
        .bind(w.kind)
        .bind(w.title_ko)
        .bind(w.title_en)
        .bind(w.body_ko)
        .bind(w.body_en)
        .bind(w.severity)
        .bind(w.content_json)
        .bind(w.tlp)
        .bind(w.audience)
        .bind(w.audience_sector)
        .bind(w.audience_institutions)
        .bind(publisher)
        .bind(w.change_note)
        .bind(by)
        .bind(now)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }

    /// Replaces the content of a bulletin being drafted (a new one, or a correction of a
    /// published one, which stays published until the correction is published).
    pub async fn update_bulletin_content(
        &mut self,
        id: i64,
        w: &BulletinWrite<'_>,
        now: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE bulletins SET kind = $1, title_ko = $2, title_en = $3, body_ko = $4, body_en = $5, severity = $6, content_json = $7, tlp = $8, audience = $9, audience_sector = $10, audience_institutions = $11, change_note = $12, updated_at = $13 WHERE id = $14",
        )
        .bind(w.kind)
        .bind(w.title_ko)
        .bind(w.title_en)
        .bind(w.body_ko)
        .bind(w.body_en)
        .bind(w.severity)
        .bind(w.content_json)
        .bind(w.tlp)
        .bind(w.audience)
        .bind(w.audience_sector)
        .bind(w.audience_institutions)
        .bind(w.change_note)
        .bind(now)
        .bind(id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Moves a bulletin from one state to another (`NotFound` when it is not in `from`): to
    /// review (`by` asked for it), withdrawn (`by`, with the reason in `comment`), or back to
    /// drafting (a reviewer's return note in `comment`).
    pub async fn move_bulletin(
        &mut self,
        id: i64,
        from: &str,
        to: &str,
        by: &str,
        comment: Option<&str>,
        now: &str,
    ) -> Result<()> {
        let done = match to {
            "in_review" | "withdrawn" => {
                let sql = if to == "in_review" {
                    "UPDATE bulletins SET state = $1, submitted_by = $2, submitted_at = $3, review_comment = $4, updated_at = $3 WHERE id = $5 AND state = $6"
                } else {
                    "UPDATE bulletins SET state = $1, withdrawn_by = $2, withdrawn_at = $3, withdraw_reason = $4, updated_at = $3 WHERE id = $5 AND state = $6"
                };
                sqlx::query(sql)
                    .bind(to)
                    .bind(by)
                    .bind(now)
                    .bind(comment)
                    .bind(id)
                    .bind(from)
                    .execute(self.conn())
                    .await?
            }
            // Back to drafting: returned by a reviewer (with the comment) or a correction begun.
            _ => {
                sqlx::query("UPDATE bulletins SET state = $1, review_comment = $2, updated_at = $3 WHERE id = $4 AND state = $5")
                    .bind(to)
                    .bind(comment)
                    .bind(now)
                    .bind(id)
                    .bind(from)
                    .execute(self.conn())
                    .await?
            }
        };
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Publishes the bulletin's next version: its row and the version's snapshot and bundle.
    #[allow(clippy::too_many_arguments)]
    pub async fn publish_bulletin(
        &mut self,
        id: i64,
        version: i64,
        published_by: &str,
        reviewed_by: &str,
        advisory_id: Option<i64>,
        ack_due_at: Option<&str>,
        snapshot_json: &str,
        bundle_json: &str,
        now: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE bulletins SET state = 'published', version = $1, published_at = $2, published_by = $3, reviewed_by = $4, first_published_at = COALESCE(first_published_at, $2), advisory_id = COALESCE($5, advisory_id), ack_due_at = COALESCE(ack_due_at, $6), review_comment = NULL, updated_at = $2 WHERE id = $7 AND state = 'in_review'",
        )
        .bind(version)
        .bind(now)
        .bind(published_by)
        .bind(reviewed_by)
        .bind(advisory_id)
        .bind(ack_due_at)
        .bind(id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        let change_note: Option<String> =
            sqlx::query_scalar("SELECT change_note FROM bulletins WHERE id = $1")
                .bind(id)
                .fetch_one(self.conn())
                .await?;
        sqlx::query("INSERT INTO bulletin_versions (bulletin_id, version, published_at, published_by, reviewed_by, change_note, snapshot_json, bundle_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(id)
            .bind(version)
            .bind(now)
            .bind(published_by)
            .bind(reviewed_by)
            .bind(change_note)
            .bind(snapshot_json)
            .bind(bundle_json)
            .execute(self.conn())
            .await
            .map_err(|e| StoreError::from_write(e, "bulletin version"))?;
        Ok(())
    }

    /// Links a bulletin to the advisory record its publication created.
    pub async fn set_bulletin_advisory(&mut self, id: i64, advisory_id: i64) -> Result<()> {
        sqlx::query("UPDATE bulletins SET advisory_id = $1 WHERE id = $2")
            .bind(advisory_id)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Records (or renews, for a later version) an institution's acknowledgement.
    pub async fn acknowledge_bulletin(
        &mut self,
        bulletin_id: i64,
        institution_id: i64,
        version: i64,
        by: &str,
        now: &str,
    ) -> Result<()> {
        sqlx::query("DELETE FROM bulletin_acks WHERE bulletin_id = $1 AND institution_id = $2")
            .bind(bulletin_id)
            .bind(institution_id)
            .execute(self.conn())
            .await?;
        sqlx::query("INSERT INTO bulletin_acks (bulletin_id, institution_id, version, acknowledged_by, acknowledged_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(bulletin_id)
            .bind(institution_id)
            .bind(version)
            .bind(by)
            .bind(now)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Adds object versions to collections; a version already in a collection is left as it
    /// is (the publisher's identity and the TLP markings recur in every bundle). Returns how
    /// many rows were added. Their `date_added` is the transaction's own time, taken under the
    /// write lock, so it never goes backwards as positions grow (TAXII's `added_after` is a
    /// position bound: a row added later with an earlier time would be skipped by a client).
    pub async fn add_stix_objects(
        &mut self,
        collections: &[String],
        objects: &[StixWrite],
        bulletin_id: Option<i64>,
    ) -> Result<u64> {
        let last: Option<String> = sqlx::query_scalar("SELECT MAX(date_added) FROM stix_objects")
            .fetch_one(self.conn())
            .await?;
        let mut now = self.now_text();
        if let Some(l) = last.filter(|l| *l > now) {
            // A fixed clock behind what is stored (demo history) never reorders positions.
            now = l;
        }
        let now = now.as_str();
        let mut added = 0;
        for c in collections {
            register_collection(self, c, now).await?;
            for o in objects {
                let have: Option<i64> = sqlx::query_scalar("SELECT id FROM stix_objects WHERE collection = $1 AND object_id = $2 AND version = $3")
                    .bind(c)
                    .bind(&o.object_id)
                    .bind(&o.version)
                    .fetch_optional(self.conn())
                    .await?;
                if have.is_some() {
                    continue;
                }
                // A version older than the newest one stored is added but is not the latest.
                let newer: Option<i64> = sqlx::query_scalar("SELECT id FROM stix_objects WHERE collection = $1 AND object_id = $2 AND latest = 1 AND version > $3")
                    .bind(c)
                    .bind(&o.object_id)
                    .bind(&o.version)
                    .fetch_optional(self.conn())
                    .await?;
                if newer.is_none() {
                    sqlx::query("UPDATE stix_objects SET latest = 0 WHERE collection = $1 AND object_id = $2 AND latest = 1")
                        .bind(c)
                        .bind(&o.object_id)
                        .execute(self.conn())
                        .await?;
                }
                sqlx::query("INSERT INTO stix_objects (collection, object_id, object_type, version, spec_version, date_added, latest, bulletin_id, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                    .bind(c)
                    .bind(&o.object_id)
                    .bind(&o.object_type)
                    .bind(&o.version)
                    .bind(&o.spec_version)
                    .bind(now)
                    .bind(i64::from(newer.is_none()))
                    .bind(bulletin_id)
                    .bind(&o.body)
                    .execute(self.conn())
                    .await?;
                added += 1;
            }
        }
        Ok(added)
    }

    pub async fn insert_taxii_status(
        &mut self,
        id: &str,
        user_id: i64,
        body_json: &str,
        now: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO taxii_status (id, user_id, body_json, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(user_id)
        .bind(body_json)
        .bind(now)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

pub async fn get_bulletin<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<BulletinRow>> {
    let r = sqlx::query(&format!(
        "SELECT {BULLETIN_COLUMNS} FROM bulletins WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(bulletin_row).transpose()
}

/// Every bulletin, newest first (the service filters by reach; there are hundreds, not millions).
pub async fn list_bulletins<'e, E: Executor<'e, Database = Any>>(e: E) -> Result<Vec<BulletinRow>> {
    let rs = sqlx::query(&format!(
        "SELECT {BULLETIN_COLUMNS} FROM bulletins ORDER BY COALESCE(published_at, updated_at) DESC, id DESC"
    ))
    .fetch_all(e)
    .await?;
    rs.iter().map(bulletin_row).collect()
}

pub async fn bulletin_versions<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Vec<BulletinVersionRow>> {
    let rs = sqlx::query("SELECT bulletin_id, version, published_at, published_by, reviewed_by, change_note, snapshot_json, bundle_json FROM bulletin_versions WHERE bulletin_id = $1 ORDER BY version DESC")
        .bind(id)
        .fetch_all(e)
        .await?;
    rs.iter()
        .map(|r| {
            Ok(BulletinVersionRow {
                bulletin_id: r.try_get("bulletin_id")?,
                version: r.try_get("version")?,
                published_at: r.try_get("published_at")?,
                published_by: r.try_get("published_by")?,
                reviewed_by: r.try_get("reviewed_by")?,
                change_note: r.try_get("change_note")?,
                snapshot_json: r.try_get("snapshot_json")?,
                bundle_json: r.try_get("bundle_json")?,
            })
        })
        .collect()
}

/// Acknowledgements of one bulletin, or of every bulletin (`None`).
pub async fn bulletin_acks<'e, E: Executor<'e, Database = Any>>(
    e: E,
    bulletin_id: Option<i64>,
) -> Result<Vec<BulletinAckRow>> {
    let rs = sqlx::query("SELECT bulletin_id, institution_id, version, acknowledged_by, acknowledged_at FROM bulletin_acks WHERE ($1 IS NULL OR bulletin_id = $1) ORDER BY acknowledged_at")
        .bind(bulletin_id)
        .fetch_all(e)
        .await?;
    rs.iter()
        .map(|r| {
            Ok(BulletinAckRow {
                bulletin_id: r.try_get("bulletin_id")?,
                institution_id: r.try_get("institution_id")?,
                version: r.try_get("version")?,
                acknowledged_by: r.try_get("acknowledged_by")?,
                acknowledged_at: r.try_get("acknowledged_at")?,
            })
        })
        .collect()
}

/// An institution's open findings that name one of the CVEs or CWEs: (finding id, resource id),
/// in id order.
pub async fn findings_matching<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: i64,
    cves: &[String],
    cwes: &[u32],
) -> Result<Vec<(i64, Option<i64>)>> {
    if cves.is_empty() && cwes.is_empty() {
        return Ok(Vec::new());
    }
    let mut conds = Vec::new();
    let mut n = 1;
    for _ in cves {
        n += 1;
        conds.push(format!("cves LIKE ${n}"));
    }
    for _ in cwes {
        n += 1;
        conds.push(format!("cwes LIKE ${n}"));
    }
    let sql = format!(
        "SELECT id, resource_id FROM findings WHERE institution_id = $1 AND status IN ('open', 'in_progress', 'risk_accepted') AND ({}) ORDER BY id",
        conds.join(" OR ")
    );
    let mut q = sqlx::query(&sql).bind(institution_id);
    for c in cves {
        q = q.bind(format!("%,{c},%"));
    }
    for c in cwes {
        q = q.bind(format!("%,{c},%"));
    }
    let rs = q.fetch_all(e).await?;
    rs.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("resource_id")?)))
        .collect()
}

/// The collections that hold objects, in the order of their keys.
pub async fn stix_collections<'e, E: Executor<'e, Database = Any>>(e: E) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT collection FROM taxii_collections ORDER BY collection")
            .fetch_all(e)
            .await?,
    )
}

async fn register_collection(tx: &mut WriteTx, collection: &str, now: &str) -> Result<()> {
    sqlx::query("INSERT INTO taxii_collections (collection, created_at) VALUES ($1, $2) ON CONFLICT (collection) DO NOTHING")
        .bind(collection)
        .bind(now)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// One page of a collection: up to `limit + 1` rows (the extra one says there is more).
pub async fn stix_page<'e, E: Executor<'e, Database = Any> + Copy>(
    e: E,
    q: &StixQuery,
) -> Result<Vec<StixObjectRow>> {
    let mut after_seq = q.after_seq;
    if let Some(a) = &q.added_after {
        // date_added grows with the position: the bound is the position before the first row
        // added after the time (one index probe), so the page stays one keyset range.
        let first: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(id) FROM stix_objects WHERE collection = $1 AND date_added > $2",
        )
        .bind(&q.collection)
        .bind(a)
        .fetch_one(e)
        .await?;
        match first {
            Some(f) => after_seq = after_seq.max(f - 1),
            None => return Ok(Vec::new()),
        }
    }
    let mut sql = String::from("SELECT o.id, o.object_id, o.object_type, o.version, o.spec_version, o.date_added, o.body FROM stix_objects o WHERE o.collection = $1 AND o.id > $2");
    let mut binds: Vec<String> = Vec::new();
    let mut p = binds.len() + 3;
    let mut push_in = |sql: &mut String, col: &str, vals: &[String], binds: &mut Vec<String>| {
        if vals.is_empty() {
            return;
        }
        let ps: Vec<String> = vals
            .iter()
            .map(|v| {
                binds.push(v.clone());
                let s = format!("${p}");
                p += 1;
                s
            })
            .collect();
        sql.push_str(&format!(" AND {col} IN ({})", ps.join(", ")));
    };
    push_in(&mut sql, "o.object_id", &q.ids, &mut binds);
    push_in(&mut sql, "o.object_type", &q.types, &mut binds);
    push_in(&mut sql, "o.spec_version", &q.spec_versions, &mut binds);
    match &q.versions {
        VersionMatch::Last => sql.push_str(" AND o.latest = 1"),
        VersionMatch::All => {}
        VersionMatch::First => sql.push_str(" AND NOT EXISTS (SELECT 1 FROM stix_objects f WHERE f.collection = o.collection AND f.object_id = o.object_id AND f.version < o.version)"),
        VersionMatch::Exact(v) => push_in(&mut sql, "o.version", v, &mut binds),
    }
    sql.push_str(&format!(" ORDER BY o.id LIMIT {}", q.limit.max(1) + 1));
    let mut query = sqlx::query(&sql).bind(&q.collection).bind(after_seq);
    for b in &binds {
        query = query.bind(b);
    }
    let rs = query.fetch_all(e).await?;
    rs.iter()
        .map(|r| {
            Ok(StixObjectRow {
                seq: r.try_get("id")?,
                object_id: r.try_get("object_id")?,
                object_type: r.try_get("object_type")?,
                version: r.try_get("version")?,
                spec_version: r.try_get("spec_version")?,
                date_added: r.try_get("date_added")?,
                body: r.try_get("body")?,
            })
        })
        .collect()
}

/// A stored TAXII status: (user id, JSON body).
pub async fn get_taxii_status<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: &str,
) -> Result<Option<(i64, String)>> {
    let r = sqlx::query("SELECT user_id, body_json FROM taxii_status WHERE id = $1")
        .bind(id)
        .fetch_optional(e)
        .await?;
    match r {
        Some(r) => Ok(Some((r.try_get("user_id")?, r.try_get("body_json")?))),
        None => Ok(None),
    }
}

impl WriteTx {
    /// Benchmark data: `n` synthetic indicator and report versions appended to a collection in
    /// multi-row statements (every tenth a report; every fifth a second version of the object
    /// before it, so `last` filters out a share), added one second apart from `start`.
    pub async fn fill_synthetic_stix(
        &mut self,
        collection: &str,
        n: i64,
        start: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        const BATCH: i64 = 200;
        register_collection(self, collection, &self.now_text()).await?;
        let mut i = 0;
        while i < n {
            let m = BATCH.min(n - i);
            let mut sql = String::from("INSERT INTO stix_objects (collection, object_id, object_type, version, spec_version, date_added, latest, bulletin_id, body) VALUES ");
            let mut rows = Vec::with_capacity(m as usize);
            for k in i..i + m {
                // Every fifth row is a newer version of the object of the row before it.
                let obj = if k % 5 == 4 { k - 1 } else { k };
                let superseded = k % 5 == 3 && k + 1 < n;
                let latest = i64::from(!superseded);
                let ty = if obj % 10 == 0 { "report" } else { "indicator" };
                let version = start + chrono::Duration::seconds(k);
                let id = format!("{ty}--00000000-0000-4000-8000-{obj:012}");
                let v = version.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let added = version.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                let body = format!("{{\"type\":\"{ty}\",\"spec_version\":\"2.1\",\"id\":\"{id}\",\"created\":\"{v}\",\"modified\":\"{v}\",\"name\":\"bench {k}\",\"pattern\":\"[ipv4-addr:value = '10.0.0.1']\",\"pattern_type\":\"stix\",\"valid_from\":\"{v}\"}}");
                rows.push(format!(
                    "('{}', '{id}', '{ty}', '{v}', '2.1', '{added}', {latest}, NULL, '{}')",
                    collection.replace('\'', "''"),
                    body.replace('\'', "''")
                ));
            }
            sql.push_str(&rows.join(", "));
            sqlx::raw_sql(&sql).execute(self.conn()).await?;
            i += m;
        }
        Ok(())
    }
}
