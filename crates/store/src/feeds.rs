//! Queries of patch prioritisation (C13): the offline threat feeds (EPSS, CISA KEV, CVE JSON 5)
//! and their imports, the authorities' emergency advisories, and the bulk read and write of the
//! priorities stored on findings.
//!
//! The feeds and the recompute are bulk paths, written like the findings intake: multi-row
//! statements with anonymous `?` placeholders on SQLite (numbered ones cost O(n²) to bind), one
//! JSON array expanded by `json_to_recordset` on PostgreSQL, and reads that come back as one
//! aggregated text per page instead of one driver row per record (the per-row cost of the `Any`
//! driver dominates a million-row read).

use std::collections::HashMap;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::{Result, StoreError, WriteTx};

/// Rows per multi-row statement of the feed tables (4–6 bound values a row stays below
/// SQLite's 32,766).
const FEED_BATCH: usize = 5000;
/// Findings per page of the recompute read.
const CANDIDATE_PAGE: i64 = 50_000;

/// The integer key of a CVE id: `year * 10^10 + sequence`, so that the feed tables are keyed by
/// an integer (the rowid on SQLite). `None` for anything that is not `CVE-YYYY-NNNN…` with a
/// sequence below 10^10.
pub fn cve_key(cve: &str) -> Option<i64> {
    let rest = cve.strip_prefix("CVE-")?;
    let (year, seq) = rest.split_once('-')?;
    if year.len() != 4 || seq.len() < 4 || seq.len() > 10 {
        return None;
    }
    if !year.bytes().chain(seq.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i64 = year.parse().ok()?;
    let seq: i64 = seq.parse().ok()?;
    Some(year * 10_000_000_000 + seq)
}

fn is_postgres(conn: &mut sqlx::AnyConnection) -> bool {
    conn.backend_name() == "PostgreSQL"
}

/// Rejects text that is spelled into a statement rather than bound.
fn literal(s: &str) -> Result<&str> {
    if s.contains('\'') || s.contains('\\') {
        return Err(StoreError::Corrupt(format!("unexpected quote in {s:?}")));
    }
    Ok(s)
}

// ---------------------------------------------------------------- feed imports

/// One imported feed file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedImportRow {
    pub id: i64,
    /// `epss`, `kev` or `cve`.
    pub kind: String,
    /// The source's own date (EPSS score date, KEV release date, newest CVE update).
    pub source_date: String,
    /// EPSS model version or KEV catalog version.
    pub model_version: Option<String>,
    pub row_count: i64,
    pub sha256: String,
    /// Key id of the regulator key whose signature was verified before the import.
    pub signed_by_key: Option<String>,
    pub file_name: Option<String>,
    pub imported_at: String,
    pub imported_by: String,
}

/// What an import records about its file.
#[derive(Debug, Clone)]
pub struct NewFeedImport<'a> {
    pub kind: &'a str,
    pub source_date: &'a str,
    pub model_version: Option<&'a str>,
    pub sha256: &'a str,
    pub signed_by_key: Option<&'a str>,
    pub file_name: Option<&'a str>,
    pub imported_at: &'a str,
    pub imported_by: &'a str,
}

const FEED_IMPORT_COLUMNS: &str = "id, kind, source_date, model_version, row_count, sha256, signed_by_key, file_name, imported_at, imported_by";

fn feed_import_row(r: &AnyRow) -> Result<FeedImportRow> {
    Ok(FeedImportRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        source_date: r.try_get("source_date")?,
        model_version: r.try_get("model_version")?,
        row_count: r.try_get("row_count")?,
        sha256: r.try_get("sha256")?,
        signed_by_key: r.try_get("signed_by_key")?,
        file_name: r.try_get("file_name")?,
        imported_at: r.try_get("imported_at")?,
        imported_by: r.try_get("imported_by")?,
    })
}

/// The import of this exact file (same kind and SHA-256), if any.
pub async fn feed_import_by_sha<'e, E: Executor<'e, Database = Any>>(
    e: E,
    kind: &str,
    sha256: &str,
) -> Result<Option<FeedImportRow>> {
    let r = sqlx::query(&format!(
        "SELECT {FEED_IMPORT_COLUMNS} FROM feed_imports WHERE kind = $1 AND sha256 = $2"
    ))
    .bind(kind)
    .bind(sha256)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(feed_import_row).transpose()
}

/// The newest import of a kind (by id: the one whose contents are loaded for EPSS and KEV).
pub async fn latest_feed_import<'e, E: Executor<'e, Database = Any>>(
    e: E,
    kind: &str,
) -> Result<Option<FeedImportRow>> {
    let r = sqlx::query(&format!(
        "SELECT {FEED_IMPORT_COLUMNS} FROM feed_imports WHERE kind = $1 ORDER BY id DESC LIMIT 1"
    ))
    .bind(kind)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(feed_import_row).transpose()
}

/// Every feed import, newest first.
pub async fn list_feed_imports<'e, E: Executor<'e, Database = Any>>(
    e: E,
    limit: i64,
) -> Result<Vec<FeedImportRow>> {
    let rs = sqlx::query(&format!(
        "SELECT {FEED_IMPORT_COLUMNS} FROM feed_imports ORDER BY id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(e)
    .await?;
    rs.iter().map(feed_import_row).collect()
}

/// Rows loaded per feed table: (epss, kev, cve records).
pub async fn feed_counts<'e, E: Executor<'e, Database = Any>>(e: E) -> Result<(i64, i64, i64)> {
    let r = sqlx::query("SELECT (SELECT COUNT(*) FROM epss_scores) AS e, (SELECT COUNT(*) FROM kev_entries) AS k, (SELECT COUNT(*) FROM cve_records) AS c")
        .fetch_one(e)
        .await?;
    Ok((r.try_get("e")?, r.try_get("k")?, r.try_get("c")?))
}

// ---------------------------------------------------------------- feed rows

/// One EPSS score.
#[derive(Debug, Clone, PartialEq)]
pub struct EpssWrite {
    pub cve_key: i64,
    pub cve: String,
    pub epss: f64,
    pub percentile: f64,
}

/// One KEV catalog entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KevRow {
    #[serde(skip)]
    pub cve_key: i64,
    pub cve: String,
    pub vendor: String,
    pub product: String,
    pub name: Option<String>,
    pub date_added: String,
    pub due_date: Option<String>,
    /// `Known` or `Unknown`.
    pub ransomware: String,
    pub notes: Option<String>,
}

/// One CVSS metric of a CVE record, with the score recomputed from its vector.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CveMetricRow {
    /// `cna` or `adp:<shortName>`.
    pub source: String,
    /// `3.0`, `3.1` or `4.0`.
    pub version: String,
    pub vector: String,
    pub published_score: Option<f64>,
    pub computed_score: f64,
    pub severity: String,
    pub automatable: Option<bool>,
    /// The published score does not match the vector.
    pub score_disagrees: bool,
    /// JSON path in the record.
    pub path: String,
}

/// A CVE JSON 5 record as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CveRecordRow {
    #[serde(skip)]
    pub cve_key: i64,
    pub cve: String,
    pub state: String,
    pub assigner: Option<String>,
    pub date_published: Option<String>,
    pub date_updated: Option<String>,
    pub description: Option<String>,
    pub cwes: Vec<u32>,
    /// `[{vendor, product, default_status, versions: [...]}]`.
    pub affected: serde_json::Value,
    /// Index into `metrics` of the metric prioritisation uses.
    pub preferred: Option<usize>,
    pub metrics: Vec<CveMetricRow>,
    pub feed_import_id: i64,
}

/// Everything the feeds hold about one CVE.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CveFacts {
    pub cve: String,
    /// (epss, percentile) from the loaded EPSS file.
    pub epss: Option<(f64, f64)>,
    pub kev: Option<KevRow>,
    pub record: Option<CveRecordRow>,
    /// Ids of published advisories listing the CVE.
    pub advisories: Vec<i64>,
}

fn int_bool(v: Option<bool>) -> Option<i64> {
    v.map(i64::from)
}

impl WriteTx {
    pub async fn insert_feed_import(&mut self, n: &NewFeedImport<'_>) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO feed_imports (kind, source_date, model_version, row_count, sha256, signed_by_key, file_name, imported_at, imported_by) \
             VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(n.kind)
        .bind(n.source_date)
        .bind(n.model_version)
        .bind(n.sha256)
        .bind(n.signed_by_key)
        .bind(n.file_name)
        .bind(n.imported_at)
        .bind(n.imported_by)
        .fetch_one(self.conn())
        .await
        .map_err(|e| StoreError::from_write(e, &format!("{} feed file {}", n.kind, n.sha256)))?;
        Ok(r.try_get("id")?)
    }

    pub async fn finish_feed_import(
        &mut self,
        id: i64,
        rows: i64,
        source_date: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE feed_imports SET row_count = $1, source_date = $2 WHERE id = $3")
            .bind(rows)
            .bind(source_date)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Empties the EPSS table: a new EPSS file replaces the previous one entirely.
    pub async fn clear_epss(&mut self) -> Result<()> {
        sqlx::query("DELETE FROM epss_scores")
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Inserts EPSS scores of import `import_id`, [`FEED_BATCH`] per statement.
    pub async fn insert_epss(&mut self, import_id: i64, rows: &[EpssWrite]) -> Result<u64> {
        let pg = is_postgres(self.conn());
        let mut n = 0;
        for chunk in rows.chunks(FEED_BATCH) {
            let done = if pg {
                let items: Vec<serde_json::Value> = chunk
                    .iter()
                    .map(|r| serde_json::json!({"k": r.cve_key, "c": r.cve, "e": r.epss, "p": r.percentile}))
                    .collect();
                sqlx::query(&format!(
                    "INSERT INTO epss_scores (cve_key, cve, epss, percentile, feed_import_id) SELECT t.k, t.c, t.e, t.p, {import_id} \
                     FROM json_to_recordset($1::json) AS t(k bigint, c text, e double precision, p double precision)"
                ))
                .bind(serde_json::Value::Array(items).to_string())
                .execute(self.conn())
                .await
            } else {
                let row = format!("(?, ?, ?, ?, {import_id})");
                let sql = format!(
                    "INSERT INTO epss_scores (cve_key, cve, epss, percentile, feed_import_id) VALUES {}",
                    vec![row.as_str(); chunk.len()].join(", ")
                );
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q
                        .bind(r.cve_key)
                        .bind(&r.cve)
                        .bind(r.epss)
                        .bind(r.percentile);
                }
                q.execute(self.conn()).await
            };
            n += done
                .map_err(|e| StoreError::from_write(e, "EPSS score (CVE listed twice)"))?
                .rows_affected();
        }
        Ok(n)
    }

    /// Replaces the KEV catalog with `rows` of import `import_id`.
    pub async fn replace_kev(&mut self, import_id: i64, rows: &[KevRow]) -> Result<u64> {
        sqlx::query("DELETE FROM kev_entries")
            .execute(self.conn())
            .await?;
        let mut n = 0;
        // The catalog has about 1,500 entries: one statement each is fast enough and simple.
        for r in rows {
            n += sqlx::query(
                "INSERT INTO kev_entries (cve_key, cve, vendor, product, name, date_added, due_date, ransomware, notes, feed_import_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(r.cve_key)
            .bind(&r.cve)
            .bind(&r.vendor)
            .bind(&r.product)
            .bind(r.name.as_deref())
            .bind(&r.date_added)
            .bind(r.due_date.as_deref())
            .bind(&r.ransomware)
            .bind(r.notes.as_deref())
            .bind(import_id)
            .execute(self.conn())
            .await
            .map_err(|e| StoreError::from_write(e, &format!("KEV entry {} (listed twice)", r.cve)))?
            .rows_affected();
        }
        Ok(n)
    }

    /// Stores a CVE record (replacing an older one of the same CVE) with its metrics.
    pub async fn upsert_cve_record(&mut self, import_id: i64, r: &CveRecordRow) -> Result<()> {
        sqlx::query("DELETE FROM cve_metrics WHERE cve_key = $1")
            .bind(r.cve_key)
            .execute(self.conn())
            .await?;
        sqlx::query("DELETE FROM cve_records WHERE cve_key = $1")
            .bind(r.cve_key)
            .execute(self.conn())
            .await?;
        let pref = r.preferred.and_then(|i| r.metrics.get(i));
        let cwes: Vec<String> = r.cwes.iter().map(u32::to_string).collect();
        sqlx::query(
            "INSERT INTO cve_records (cve_key, cve, state, assigner, date_published, date_updated, description, cwes, affected_json, pref_version, pref_source, pref_vector, pref_score, pref_severity, pref_automatable, feed_import_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(r.cve_key)
        .bind(&r.cve)
        .bind(&r.state)
        .bind(r.assigner.as_deref())
        .bind(r.date_published.as_deref())
        .bind(r.date_updated.as_deref())
        .bind(r.description.as_deref())
        .bind(cwes.join(","))
        .bind(r.affected.to_string())
        .bind(pref.map(|m| m.version.as_str()))
        .bind(pref.map(|m| m.source.as_str()))
        .bind(pref.map(|m| m.vector.as_str()))
        .bind(pref.map(|m| m.computed_score))
        .bind(pref.map(|m| m.severity.as_str()))
        .bind(pref.and_then(|m| int_bool(m.automatable)))
        .bind(import_id)
        .execute(self.conn())
        .await?;
        for m in &r.metrics {
            sqlx::query(
                "INSERT INTO cve_metrics (cve_key, source, version, vector, published_score, computed_score, severity, automatable, score_disagrees, path) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(r.cve_key)
            .bind(&m.source)
            .bind(&m.version)
            .bind(&m.vector)
            .bind(m.published_score)
            .bind(m.computed_score)
            .bind(&m.severity)
            .bind(int_bool(m.automatable))
            .bind(i64::from(m.score_disagrees))
            .bind(&m.path)
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }
}

/// `date_updated` of the stored record of a CVE (`Some(None)` when stored without one).
pub async fn cve_record_updated<'e, E: Executor<'e, Database = Any>>(
    e: E,
    key: i64,
) -> Result<Option<Option<String>>> {
    let r = sqlx::query("SELECT date_updated FROM cve_records WHERE cve_key = $1")
        .bind(key)
        .fetch_optional(e)
        .await?;
    r.map(|r| r.try_get::<Option<String>, _>("date_updated"))
        .transpose()
        .map_err(Into::into)
}

/// What the feeds and advisories hold about one CVE.
pub async fn cve_facts<'e, E: Executor<'e, Database = Any> + Copy>(
    e: E,
    cve: &str,
) -> Result<Option<CveFacts>> {
    let Some(key) = cve_key(cve) else {
        return Ok(None);
    };
    let epss = sqlx::query("SELECT epss, percentile FROM epss_scores WHERE cve_key = $1")
        .bind(key)
        .fetch_optional(e)
        .await?
        .map(|r| -> Result<(f64, f64)> { Ok((r.try_get("epss")?, r.try_get("percentile")?)) })
        .transpose()?;
    let kev = sqlx::query("SELECT cve_key, cve, vendor, product, name, date_added, due_date, ransomware, notes FROM kev_entries WHERE cve_key = $1")
        .bind(key)
        .fetch_optional(e)
        .await?
        .map(|r| -> Result<KevRow> {
            Ok(KevRow {
                cve_key: r.try_get("cve_key")?,
                cve: r.try_get("cve")?,
                vendor: r.try_get("vendor")?,
                product: r.try_get("product")?,
                name: r.try_get("name")?,
                date_added: r.try_get("date_added")?,
                due_date: r.try_get("due_date")?,
                ransomware: r.try_get("ransomware")?,
                notes: r.try_get("notes")?,
            })
        })
        .transpose()?;
    let record = match sqlx::query("SELECT cve_key, cve, state, assigner, date_published, date_updated, description, cwes, affected_json, pref_vector, feed_import_id FROM cve_records WHERE cve_key = $1")
        .bind(key)
        .fetch_optional(e)
        .await?
    {
        None => None,
        Some(r) => {
            let metrics: Vec<CveMetricRow> = sqlx::query("SELECT source, version, vector, published_score, computed_score, severity, automatable, score_disagrees, path FROM cve_metrics WHERE cve_key = $1 ORDER BY path")
                .bind(key)
                .fetch_all(e)
                .await?
                .iter()
                .map(|m| -> Result<CveMetricRow> {
                    Ok(CveMetricRow {
                        source: m.try_get("source")?,
                        version: m.try_get("version")?,
                        vector: m.try_get("vector")?,
                        published_score: m.try_get("published_score")?,
                        computed_score: m.try_get("computed_score")?,
                        severity: m.try_get("severity")?,
                        automatable: m.try_get::<Option<i64>, _>("automatable")?.map(|v| v != 0),
                        score_disagrees: m.try_get::<i64, _>("score_disagrees")? != 0,
                        path: m.try_get("path")?,
                    })
                })
                .collect::<Result<_>>()?;
            let pref_vector: Option<String> = r.try_get("pref_vector")?;
            let cwes: String = r.try_get("cwes")?;
            let affected: String = r.try_get("affected_json")?;
            Some(CveRecordRow {
                cve_key: r.try_get("cve_key")?,
                cve: r.try_get("cve")?,
                state: r.try_get("state")?,
                assigner: r.try_get("assigner")?,
                date_published: r.try_get("date_published")?,
                date_updated: r.try_get("date_updated")?,
                description: r.try_get("description")?,
                cwes: cwes.split(',').filter_map(|c| c.parse().ok()).collect(),
                affected: serde_json::from_str(&affected)
                    .map_err(|e| StoreError::Corrupt(format!("affected_json of {cve}: {e}")))?,
                preferred: pref_vector.and_then(|v| metrics.iter().position(|m| m.vector == v)),
                metrics,
                feed_import_id: r.try_get("feed_import_id")?,
            })
        }
    };
    let advisories: Vec<i64> = sqlx::query_scalar("SELECT c.advisory_id FROM advisory_cves c JOIN advisories a ON a.id = c.advisory_id WHERE c.cve_key = $1 AND a.state = 'published' ORDER BY c.advisory_id")
        .bind(key)
        .fetch_all(e)
        .await?;
    if epss.is_none() && kev.is_none() && record.is_none() && advisories.is_empty() {
        return Ok(None);
    }
    Ok(Some(CveFacts {
        cve: cve.to_string(),
        epss,
        kev,
        record,
        advisories,
    }))
}

// ---------------------------------------------------------------- advisories

/// An emergency patch advisory of the authorities (C10).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdvisoryRow {
    pub id: i64,
    pub title_ko: String,
    pub title_en: String,
    pub published_on: String,
    /// `published` or `withdrawn`.
    pub state: String,
    pub cves: Vec<String>,
    pub created_by: String,
    pub created_at: String,
    pub withdrawn_at: Option<String>,
    pub withdrawn_by: Option<String>,
    pub withdraw_reason: Option<String>,
}

impl WriteTx {
    pub async fn insert_advisory(
        &mut self,
        title_ko: &str,
        title_en: &str,
        published_on: &str,
        cves: &[(i64, String)],
        by: &str,
        now: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO advisories (title_ko, title_en, published_on, state, created_by, created_at) VALUES ($1, $2, $3, 'published', $4, $5) RETURNING id",
        )
        .bind(title_ko)
        .bind(title_en)
        .bind(published_on)
        .bind(by)
        .bind(now)
        .fetch_one(self.conn())
        .await?;
        let id: i64 = r.try_get("id")?;
        for (key, cve) in cves {
            sqlx::query(
                "INSERT INTO advisory_cves (advisory_id, cve_key, cve) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(*key)
            .bind(cve)
            .execute(self.conn())
            .await
            .map_err(|e| StoreError::from_write(e, &format!("{cve} listed twice")))?;
        }
        Ok(id)
    }

    /// Withdraws a published advisory; `NotFound` when there is no published one with this id.
    pub async fn withdraw_advisory(
        &mut self,
        id: i64,
        by: &str,
        reason: &str,
        now: &str,
    ) -> Result<()> {
        let done = sqlx::query("UPDATE advisories SET state = 'withdrawn', withdrawn_at = $1, withdrawn_by = $2, withdraw_reason = $3 WHERE id = $4 AND state = 'published'")
            .bind(now)
            .bind(by)
            .bind(reason)
            .bind(id)
            .execute(self.conn())
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

const ADVISORY_COLUMNS: &str = "id, title_ko, title_en, published_on, state, created_by, created_at, withdrawn_at, withdrawn_by, withdraw_reason";

fn advisory_row(r: &AnyRow, cves: Vec<String>) -> Result<AdvisoryRow> {
    Ok(AdvisoryRow {
        id: r.try_get("id")?,
        title_ko: r.try_get("title_ko")?,
        title_en: r.try_get("title_en")?,
        published_on: r.try_get("published_on")?,
        state: r.try_get("state")?,
        cves,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        withdrawn_at: r.try_get("withdrawn_at")?,
        withdrawn_by: r.try_get("withdrawn_by")?,
        withdraw_reason: r.try_get("withdraw_reason")?,
    })
}

async fn advisory_cve_list<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Vec<String>> {
    Ok(
        sqlx::query_scalar("SELECT cve FROM advisory_cves WHERE advisory_id = $1 ORDER BY cve")
            .bind(id)
            .fetch_all(e)
            .await?,
    )
}

pub async fn get_advisory<'e, E: Executor<'e, Database = Any> + Copy>(
    e: E,
    id: i64,
) -> Result<Option<AdvisoryRow>> {
    let r = sqlx::query(&format!(
        "SELECT {ADVISORY_COLUMNS} FROM advisories WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    match r {
        None => Ok(None),
        Some(r) => Ok(Some(advisory_row(&r, advisory_cve_list(e, id).await?)?)),
    }
}

/// Advisories, newest first.
pub async fn list_advisories<'e, E: Executor<'e, Database = Any> + Copy>(
    e: E,
) -> Result<Vec<AdvisoryRow>> {
    let rs = sqlx::query(&format!(
        "SELECT {ADVISORY_COLUMNS} FROM advisories ORDER BY published_on DESC, id DESC"
    ))
    .fetch_all(e)
    .await?;
    let mut out = Vec::with_capacity(rs.len());
    for r in &rs {
        let id: i64 = r.try_get("id")?;
        out.push(advisory_row(r, advisory_cve_list(e, id).await?)?);
    }
    Ok(out)
}

// ---------------------------------------------------------------- prioritisation: bulk read

/// The CVSS metric prioritisation uses for a CVE.
#[derive(Debug, Clone, PartialEq)]
pub struct CvssFact {
    pub version: String,
    pub source: String,
    pub score: f64,
    pub severity: String,
    pub automatable: Option<bool>,
}

/// An advisory listing a CVE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisoryFact {
    pub advisory_id: i64,
    pub published_on: String,
}

/// Everything the feeds say, keyed by [`cve_key`], as the recompute needs it.
#[derive(Debug, Clone, Default)]
pub struct FeedFacts {
    /// (epss, percentile).
    pub epss: HashMap<i64, (f64, f64)>,
    /// KEV `dateAdded`.
    pub kev: HashMap<i64, String>,
    /// The earliest published advisory listing the CVE.
    pub advisories: HashMap<i64, AdvisoryFact>,
    pub cvss: HashMap<i64, CvssFact>,
}

fn bad_agg(what: &str, item: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} item {item:?}"))
}

impl WriteTx {
    /// Loads the feed facts for the CVEs in `keys` (EPSS is looked up by key: the file has
    /// 300,000 rows and a findings estate meets a few tens of thousands), and the small tables
    /// whole.
    pub async fn feed_facts(&mut self, keys: &[i64]) -> Result<FeedFacts> {
        let pg = is_postgres(self.conn());
        let mut facts = FeedFacts::default();
        for chunk in keys.chunks(FEED_BATCH) {
            let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
            let sql = if pg {
                format!("SELECT string_agg(cve_key::text || ':' || epss::text || ':' || percentile::text, ',') FROM epss_scores WHERE cve_key IN ({})", list.join(","))
            } else {
                format!("SELECT group_concat(cve_key || ':' || epss || ':' || percentile, ',') FROM epss_scores WHERE cve_key IN ({})", list.join(","))
            };
            let packed: Option<String> = sqlx::query_scalar(&sql).fetch_one(self.conn()).await?;
            for item in packed
                .as_deref()
                .unwrap_or("")
                .split(',')
                .filter(|i| !i.is_empty())
            {
                let mut parts = item.split(':');
                let (Some(k), Some(e), Some(p)) = (parts.next(), parts.next(), parts.next()) else {
                    return Err(bad_agg("EPSS", item));
                };
                let k: i64 = k.parse().map_err(|_| bad_agg("EPSS", item))?;
                let e: f64 = e.parse().map_err(|_| bad_agg("EPSS", item))?;
                let p: f64 = p.parse().map_err(|_| bad_agg("EPSS", item))?;
                facts.epss.insert(k, (e, p));
            }
        }
        for r in sqlx::query("SELECT cve_key, date_added FROM kev_entries")
            .fetch_all(self.conn())
            .await?
        {
            facts
                .kev
                .insert(r.try_get("cve_key")?, r.try_get("date_added")?);
        }
        for r in sqlx::query("SELECT c.cve_key, a.id, a.published_on FROM advisory_cves c JOIN advisories a ON a.id = c.advisory_id WHERE a.state = 'published' ORDER BY a.published_on DESC, a.id DESC")
            .fetch_all(self.conn())
            .await?
        {
            // Ordered newest first, so the earliest advisory is inserted last and stays.
            facts.advisories.insert(
                r.try_get("cve_key")?,
                AdvisoryFact {
                    advisory_id: r.try_get("id")?,
                    published_on: r.try_get("published_on")?,
                },
            );
        }
        for r in sqlx::query("SELECT cve_key, pref_version, pref_source, pref_score, pref_severity, pref_automatable FROM cve_records WHERE pref_version IS NOT NULL")
            .fetch_all(self.conn())
            .await?
        {
            facts.cvss.insert(
                r.try_get("cve_key")?,
                CvssFact {
                    version: r.try_get("pref_version")?,
                    source: r.try_get("pref_source")?,
                    score: r.try_get("pref_score")?,
                    severity: r.try_get("pref_severity")?,
                    automatable: r.try_get::<Option<i64>, _>("pref_automatable")?.map(|v| v != 0),
                },
            );
        }
        Ok(facts)
    }
}

/// A finding as the recompute reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorityCandidate {
    pub id: i64,
    pub resource_id: Option<i64>,
    /// `,CVE-…,CVE-…,`.
    pub cves: String,
    pub severity: String,
    /// `YYYY-MM-DD` of `created_at`: the SLA clock starts there.
    pub created_on: String,
    /// `,78,89,` and `!` when the tool's exploit evidence counted ([`crate::weakness_facts`]).
    pub weakness: String,
    pub digest: Option<i64>,
}

fn parse_candidate(line: &str) -> Result<PriorityCandidate> {
    let bad = || bad_agg("finding", line);
    let mut f = line.split('|');
    let (
        Some(id),
        Some(res),
        Some(cves),
        Some(sev),
        Some(created),
        Some(weakness),
        Some(digest),
        None,
    ) = (
        f.next(),
        f.next(),
        f.next(),
        f.next(),
        f.next(),
        f.next(),
        f.next(),
        f.next(),
    )
    else {
        return Err(bad());
    };
    Ok(PriorityCandidate {
        id: id.parse().map_err(|_| bad())?,
        resource_id: if res.is_empty() {
            None
        } else {
            Some(res.parse().map_err(|_| bad())?)
        },
        cves: cves.to_string(),
        severity: sev.to_string(),
        created_on: created.to_string(),
        weakness: weakness.to_string(),
        digest: if digest.is_empty() {
            None
        } else {
            Some(digest.parse().map_err(|_| bad())?)
        },
    })
}

/// The statuses whose priority is kept current. A closed finding keeps the priority it was
/// closed under, so that its SLA outcome stays explainable.
pub const PRIORITISED_STATUSES: &str = "'open', 'in_progress', 'risk_accepted'";

/// Which findings a candidate read selects.
#[derive(Debug, Clone, Copy)]
pub enum CandidateFilter<'a> {
    /// Every prioritised finding of one institution (`Some`) or of all, in id pages.
    All(Option<i64>),
    /// Prioritised findings whose CVE set is one of these (without their digest: see
    /// [`WriteTx::priority_candidates`]); the empty set (`,`) is never read this way (see
    /// [`WriteTx::prioritised_cve_sets`]).
    CveSets(&'a [String]),
    /// Prioritised findings (of one institution, or of all) whose decision is missing or stale
    /// (`digest IS NULL`: new, an input changed, or reopened), in id pages.
    Pending(Option<i64>),
}

/// One candidate as text: `id|resource|cves|severity|created_on|weakness|digest`. Without the digest
/// (`with_digest` false, the field left empty) the read is answered by the covering index
/// `finding_priorities_sets` alone, and every candidate counts as changed.
fn candidate_line(pg: bool, with_digest: bool) -> String {
    let text = if pg { "::text" } else { "" };
    let digest = if with_digest {
        format!(" || COALESCE(digest{text}, '')")
    } else {
        String::new()
    };
    format!("finding_id{text} || '|' || COALESCE(resource_id{text}, '') || '|' || cves || '|' || severity || '|' || created_on || '|' || weakness || '|'{digest}")
}

fn aggregate(pg: bool, inner: &str) -> String {
    if pg {
        format!("SELECT string_agg(line, E'\\n') FROM ({inner}) AS t")
    } else {
        format!("SELECT group_concat(line, char(10)) FROM ({inner})")
    }
}

fn parse_candidates(packed: Option<String>) -> Result<Vec<PriorityCandidate>> {
    packed
        .as_deref()
        .unwrap_or("")
        .split('\n')
        .filter(|l| !l.is_empty())
        .map(parse_candidate)
        .collect()
}

/// CVE sets per statement of a [`CandidateFilter::CveSets`] read.
pub const SET_BATCH: usize = 2000;

impl WriteTx {
    /// The distinct CVE sets of the prioritised findings (of one institution, or of all) that
    /// name at least one CVE: the sets a feed can move (a finding without a CVE is decided from
    /// its own inputs alone, and its set is met while reading its page).
    pub async fn prioritised_cve_sets(
        &mut self,
        institution_id: Option<i64>,
    ) -> Result<Vec<String>> {
        // Without an institution the partial index `finding_priorities_sets` answers alone.
        Ok(match institution_id {
            None => sqlx::query_scalar(&format!(
                "SELECT DISTINCT cves FROM finding_priorities WHERE status IN ({PRIORITISED_STATUSES}) AND cves <> ','"
            ))
            .fetch_all(self.conn())
            .await?,
            Some(i) => sqlx::query_scalar(&format!(
                "SELECT DISTINCT cves FROM finding_priorities WHERE status IN ({PRIORITISED_STATUSES}) AND cves <> ',' AND institution_id = $1"
            ))
            .bind(i)
            .fetch_all(self.conn())
            .await?,
        })
    }

    /// Reads candidates: for [`CandidateFilter::All`] and [`CandidateFilter::Pending`] the page
    /// after `after_id` (empty when done), so that memory stays bounded however many findings a
    /// recompute covers; for [`CandidateFilter::CveSets`] everything at once (`after_id`
    /// ignored).
    pub async fn priority_candidates(
        &mut self,
        filter: CandidateFilter<'_>,
        after_id: i64,
    ) -> Result<Vec<PriorityCandidate>> {
        let pg = is_postgres(self.conn());
        // The CVE sets read is one of a feed change: its sets' inputs changed, so their findings
        // are rewritten without comparing digests, and the read stays inside the index.
        let line = candidate_line(pg, !matches!(filter, CandidateFilter::CveSets(_)));
        match filter {
            CandidateFilter::All(institution) => {
                let sql = aggregate(pg, &format!(
                    "SELECT {line} AS line FROM finding_priorities WHERE finding_id > $1 AND ($2 = 0 OR institution_id = $2) AND status IN ({PRIORITISED_STATUSES}) ORDER BY finding_id LIMIT {CANDIDATE_PAGE}"
                ));
                let packed: Option<String> = sqlx::query_scalar(&sql)
                    .bind(after_id)
                    .bind(institution.unwrap_or(0))
                    .fetch_one(self.conn())
                    .await?;
                parse_candidates(packed)
            }
            CandidateFilter::Pending(institution) => {
                let sql = aggregate(pg, &format!(
                    "SELECT {line} AS line FROM finding_priorities WHERE digest IS NULL AND finding_id > $1 AND ($2 = 0 OR institution_id = $2) AND status IN ({PRIORITISED_STATUSES}) ORDER BY finding_id LIMIT {CANDIDATE_PAGE}"
                ));
                let packed: Option<String> = sqlx::query_scalar(&sql)
                    .bind(after_id)
                    .bind(institution.unwrap_or(0))
                    .fetch_one(self.conn())
                    .await?;
                parse_candidates(packed)
            }
            CandidateFilter::CveSets(sets) => {
                let mut out = Vec::new();
                for chunk in sets.chunks(SET_BATCH) {
                    let packed: Option<String> = if pg {
                        let sql = aggregate(pg, &format!(
                            "SELECT {line} AS line FROM finding_priorities WHERE status IN ({PRIORITISED_STATUSES}) AND cves <> ',' AND cves IN (SELECT x FROM json_array_elements_text($1::json) AS x)"
                        ));
                        sqlx::query_scalar(&sql)
                            .bind(serde_json::json!(chunk).to_string())
                            .fetch_one(self.conn())
                            .await?
                    } else {
                        let sql = aggregate(pg, &format!(
                            "SELECT {line} AS line FROM finding_priorities WHERE status IN ({PRIORITISED_STATUSES}) AND cves <> ',' AND cves IN ({})",
                            vec!["?"; chunk.len()].join(", ")
                        ));
                        let mut q = sqlx::query_scalar(&sql);
                        for c in chunk {
                            q = q.bind(c);
                        }
                        q.fetch_one(self.conn()).await?
                    };
                    out.extend(parse_candidates(packed)?);
                }
                Ok(out)
            }
        }
    }

    /// The stored evidence per CVE set: key → (inputs, digest).
    pub async fn stored_evidence(&mut self) -> Result<HashMap<i64, (String, i64)>> {
        let pg = is_postgres(self.conn());
        let sql = if pg {
            "SELECT string_agg(cve_set_key::text || '|' || digest::text || '|' || inputs, E'\\n') FROM priority_evidence"
        } else {
            "SELECT group_concat(cve_set_key || '|' || digest || '|' || inputs, char(10)) FROM priority_evidence"
        };
        let packed: Option<String> = sqlx::query_scalar(sql).fetch_one(self.conn()).await?;
        let mut out = HashMap::new();
        for item in packed
            .as_deref()
            .unwrap_or("")
            .split('\n')
            .filter(|l| !l.is_empty())
        {
            let mut p = item.splitn(3, '|');
            let (Some(k), Some(d), Some(i)) = (p.next(), p.next(), p.next()) else {
                return Err(bad_agg("evidence", item));
            };
            let k: i64 = k.parse().map_err(|_| bad_agg("evidence", item))?;
            let d: i64 = d.parse().map_err(|_| bad_agg("evidence", item))?;
            out.insert(k, (i.to_string(), d));
        }
        Ok(out)
    }

    /// Stores the evidence of CVE sets: replaces the rows of `replace` sets, adds the others.
    pub async fn write_evidence(&mut self, rows: &[EvidenceWrite], now: &str) -> Result<u64> {
        let pg = is_postgres(self.conn());
        let mut n = 0;
        for chunk in rows.chunks(FEED_BATCH / 2) {
            let keys: Vec<String> = chunk.iter().map(|r| r.key.to_string()).collect();
            sqlx::query(&format!(
                "DELETE FROM priority_evidence WHERE cve_set_key IN ({})",
                keys.join(", ")
            ))
            .execute(self.conn())
            .await?;
            let done = if pg {
                let items: Vec<serde_json::Value> = chunk
                    .iter()
                    .map(|r| serde_json::json!({"k": r.key, "c": r.cves, "i": r.inputs, "e": r.evidence_json, "d": r.digest}))
                    .collect();
                sqlx::query("INSERT INTO priority_evidence (cve_set_key, cves, inputs, evidence_json, digest, decided_at) SELECT t.k, t.c, t.i, t.e, t.d, $2 FROM json_to_recordset($1::json) AS t(k bigint, c text, i text, e text, d bigint)")
                    .bind(serde_json::Value::Array(items).to_string())
                    .bind(now)
                    .execute(self.conn())
                    .await
            } else {
                let now = literal(now)?;
                let row = format!("(?, ?, ?, ?, ?, '{now}')");
                let sql = format!(
                    "INSERT INTO priority_evidence (cve_set_key, cves, inputs, evidence_json, digest, decided_at) VALUES {}",
                    vec![row.as_str(); chunk.len()].join(", ")
                );
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q
                        .bind(r.key)
                        .bind(&r.cves)
                        .bind(&r.inputs)
                        .bind(&r.evidence_json)
                        .bind(r.digest);
                }
                q.execute(self.conn()).await
            };
            n += done?.rows_affected();
        }
        Ok(n)
    }
}

/// The evidence of one CVE set.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceWrite {
    pub key: i64,
    pub cves: String,
    /// The set's share of the inputs (advisory, exploitation, automatable, CVSS severity).
    pub inputs: String,
    pub evidence_json: String,
    pub digest: i64,
}

/// The stored evidence of one CVE set: (evidence JSON, decided at).
pub async fn priority_evidence<'e, E: Executor<'e, Database = Any>>(
    e: E,
    key: i64,
) -> Result<Option<(serde_json::Value, String)>> {
    let r = sqlx::query(
        "SELECT evidence_json, decided_at FROM priority_evidence WHERE cve_set_key = $1",
    )
    .bind(key)
    .fetch_optional(e)
    .await?;
    let Some(r) = r else { return Ok(None) };
    let json: String = r.try_get("evidence_json")?;
    Ok(Some((
        serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("evidence_json of CVE set {key}: {e}")))?,
        r.try_get("decided_at")?,
    )))
}

// ---------------------------------------------------------------- prioritisation: bulk write

/// A new decision for one finding.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorityWrite {
    pub id: i64,
    pub priority: &'static str,
    pub due_date: String,
    /// The code of its [`DecisionWrite`] (under the same policy version).
    pub decision: i64,
    pub digest: i64,
}

/// What every finding decided with the same inputs under one policy version shares.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionWrite {
    /// The inputs, packed (the service's code).
    pub decision: i64,
    pub priority: &'static str,
    pub row: String,
    /// The six inputs the table saw.
    pub inputs_json: String,
}

/// Rows per priority update statement (5 bound values a row on SQLite).
const PRIORITY_BATCH: usize = 6000;

impl WriteTx {
    /// Stores the shared part of decisions (a code already stored for the policy version is
    /// kept: the same code under the same policy always means the same decision).
    pub async fn write_decisions(
        &mut self,
        policy_version: i64,
        rows: &[DecisionWrite],
    ) -> Result<u64> {
        let mut n = 0;
        for r in rows {
            n += sqlx::query("INSERT INTO priority_decisions (policy_version, decision, priority, priority_row, inputs) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (policy_version, decision) DO NOTHING")
                .bind(policy_version)
                .bind(r.decision)
                .bind(r.priority)
                .bind(&r.row)
                .bind(&r.inputs_json)
                .execute(self.conn())
                .await?
                .rows_affected();
        }
        Ok(n)
    }

    /// Writes new decisions, one statement per batch: PostgreSQL an `UPDATE … FROM
    /// json_to_recordset`, SQLite an `UPDATE … FROM (VALUES …)`, which it plans as a loop over
    /// the values seeking each row by its primary key (measured faster than staging the rows in
    /// a temporary table and applying them, and than a multi-row upsert). Rows go in id order,
    /// so consecutive updates land on the same pages.
    pub async fn write_priorities(
        &mut self,
        policy_version: i64,
        now: &str,
        rows: &[PriorityWrite],
    ) -> Result<u64> {
        let now = literal(now)?;
        let pg = is_postgres(self.conn());
        let mut sorted: Vec<&PriorityWrite> = rows.iter().collect();
        sorted.sort_unstable_by_key(|w| w.id);
        let mut n = 0;
        for chunk in sorted.chunks(PRIORITY_BATCH) {
            let done = if pg {
                let items: Vec<serde_json::Value> = chunk
                    .iter()
                    .map(|w| serde_json::json!({"id": w.id, "p": w.priority, "d": w.due_date, "c": w.decision, "g": w.digest}))
                    .collect();
                sqlx::query(&format!(
                    "UPDATE finding_priorities SET priority = t.p, due_date = t.d, decision = t.c, digest = t.g, policy_version = {policy_version}, decided_at = '{now}' \
                     FROM json_to_recordset($1::json) AS t(id bigint, p text, d text, c bigint, g bigint) WHERE finding_priorities.finding_id = t.id"
                ))
                .bind(serde_json::Value::Array(items).to_string())
                .execute(self.conn())
                .await
            } else {
                let sql = format!(
                    "UPDATE finding_priorities SET priority = t.column2, due_date = t.column3, decision = t.column4, digest = t.column5, policy_version = {policy_version}, decided_at = '{now}' \
                     FROM (VALUES {}) AS t WHERE finding_priorities.finding_id = t.column1",
                    vec!["(?, ?, ?, ?, ?)"; chunk.len()].join(", ")
                );
                let mut q = sqlx::query(&sql);
                for w in chunk {
                    q = q
                        .bind(w.id)
                        .bind(w.priority)
                        .bind(&w.due_date)
                        .bind(w.decision)
                        .bind(w.digest);
                }
                q.execute(self.conn()).await
            };
            n += done?.rows_affected();
        }
        Ok(n)
    }
}

/// Whether any prioritised finding's decision is missing or stale.
pub async fn has_pending_priorities<'e, E: Executor<'e, Database = Any>>(e: E) -> Result<bool> {
    let n: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT finding_id FROM finding_priorities WHERE digest IS NULL AND status IN ({PRIORITISED_STATUSES}) LIMIT 1"
    ))
    .fetch_optional(e)
    .await?;
    Ok(n.is_some())
}

/// The stored decision of one finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingPriorityRow {
    pub finding_id: i64,
    pub institution_id: i64,
    pub resource_id: Option<i64>,
    /// `,CVE-…,`.
    pub cves: String,
    pub severity: String,
    pub security_severity: Option<f64>,
    pub status: String,
    pub priority: Option<String>,
    pub row: Option<String>,
    pub due_date: Option<String>,
    pub inputs: Option<serde_json::Value>,
    pub policy_version: Option<i64>,
    pub decided_at: Option<String>,
    pub assignee_user_id: Option<i64>,
    pub created_at: String,
    /// `,78,89,`.
    pub cwes: String,
    /// The tool's exploit evidence that counted (`property=value`).
    pub exploit_evidence: Option<String>,
    pub tool_name: String,
    pub ai_model: Option<String>,
    pub ai_model_version: Option<String>,
    pub ai_origin: String,
}

pub async fn finding_priority<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<FindingPriorityRow>> {
    let r = sqlx::query("SELECT f.id, f.institution_id, f.resource_id, f.cves, f.severity, f.security_severity, f.status, p.priority, d.priority_row, p.due_date, d.inputs AS priority_inputs, p.policy_version AS priority_policy_version, p.decided_at AS priority_decided_at, f.assignee_user_id, f.created_at, f.cwes, f.exploit_evidence, f.tool_name, f.ai_model, f.ai_model_version, f.ai_origin \
                         FROM findings f LEFT JOIN finding_priorities p ON p.finding_id = f.id LEFT JOIN priority_decisions d ON d.policy_version = p.policy_version AND d.decision = p.decision WHERE f.id = $1")
        .bind(id)
        .fetch_optional(e)
        .await?;
    let Some(r) = r else { return Ok(None) };
    let inputs: Option<String> = r.try_get("priority_inputs")?;
    Ok(Some(FindingPriorityRow {
        finding_id: r.try_get("id")?,
        institution_id: r.try_get("institution_id")?,
        resource_id: r.try_get("resource_id")?,
        cves: r.try_get("cves")?,
        severity: r.try_get("severity")?,
        security_severity: r.try_get("security_severity")?,
        status: r.try_get("status")?,
        priority: r.try_get("priority")?,
        row: r.try_get("priority_row")?,
        due_date: r.try_get("due_date")?,
        inputs: inputs
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("priority_inputs of finding {id}: {e}")))?,
        policy_version: r.try_get("priority_policy_version")?,
        decided_at: r.try_get("priority_decided_at")?,
        assignee_user_id: r.try_get("assignee_user_id")?,
        created_at: r.try_get("created_at")?,
        cwes: r.try_get("cwes")?,
        exploit_evidence: r.try_get("exploit_evidence")?,
        tool_name: r.try_get("tool_name")?,
        ai_model: r.try_get("ai_model")?,
        ai_model_version: r.try_get("ai_model_version")?,
        ai_origin: r.try_get("ai_origin")?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_keys_are_ordered_and_strict() {
        assert_eq!(cve_key("CVE-2021-44228"), Some(2021_0000044228));
        assert!(cve_key("CVE-2021-44228") < cve_key("CVE-2022-0001"));
        assert_eq!(cve_key("CVE-21-1234"), None);
        assert_eq!(cve_key("CVE-2021-12'4"), None);
        assert_eq!(cve_key("cve-2021-1234"), None);
    }
}
