//! Reports of institutions under relief (C7) and the reads behind sector insight (C9): the
//! versions of each obligation's report, the writes of their lifecycle (each refuses a version
//! in the wrong state, and migration 0013's trigger refuses any change of a frozen version's
//! content whatever the path). What a report is compiled from is read in `report_source.rs`.

use serde::Serialize;
use sqlx::{Any, Executor, Row};

use crate::{Result, StoreError, WriteTx};

/// One version of an obligation's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    pub id: i64,
    pub obligation_id: i64,
    pub institution_id: i64,
    pub version: i64,
    /// `draft`, `submitted`, `accepted` or `returned`.
    pub state: String,
    pub figures_json: String,
    /// The figures of the compile before the current one (what a recompile changed).
    pub previous_figures_json: Option<String>,
    pub compiled_at: String,
    pub narrative_json: String,
    /// SHA-256 of the canonical content, set when the version is submitted (frozen).
    pub content_hash: Option<String>,
    pub submitted_by: Option<String>,
    pub submitted_at: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    /// The officer's comments per section (JSON), when returned or accepted with remarks.
    pub review_json: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "id, obligation_id, institution_id, version, state, figures_json, previous_figures_json, compiled_at, narrative_json, content_hash, submitted_by, submitted_at, decided_by, decided_at, review_json, created_by, created_at, updated_at";

fn report_of(r: &sqlx::any::AnyRow) -> Result<ReportRow> {
    Ok(ReportRow {
        id: r.try_get("id")?,
        obligation_id: r.try_get("obligation_id")?,
        institution_id: r.try_get("institution_id")?,
        version: r.try_get("version")?,
        state: r.try_get("state")?,
        figures_json: r.try_get("figures_json")?,
        previous_figures_json: r.try_get("previous_figures_json")?,
        compiled_at: r.try_get("compiled_at")?,
        narrative_json: r.try_get("narrative_json")?,
        content_hash: r.try_get("content_hash")?,
        submitted_by: r.try_get("submitted_by")?,
        submitted_at: r.try_get("submitted_at")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        review_json: r.try_get("review_json")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Every version of an obligation's report, oldest first.
pub async fn report_versions<'e, E: Executor<'e, Database = Any>>(
    e: E,
    obligation_id: i64,
) -> Result<Vec<ReportRow>> {
    let rs = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM reports WHERE obligation_id = $1 ORDER BY version"
    ))
    .bind(obligation_id)
    .fetch_all(e)
    .await?;
    rs.iter().map(report_of).collect()
}

/// The obligations of a letter that have a report (any version).
pub async fn reported_obligations<'e, E: Executor<'e, Database = Any>>(
    e: E,
    letter_id: i64,
) -> Result<Vec<i64>> {
    let rs = sqlx::query(
        "SELECT DISTINCT r.obligation_id FROM reports r JOIN obligations o ON o.id = r.obligation_id WHERE o.letter_id = $1 ORDER BY r.obligation_id",
    )
    .bind(letter_id)
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| Ok(r.try_get::<i64, _>("obligation_id")?))
        .collect()
}

/// A delivered report with its institution's sector and name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveredReport {
    pub report: ReportRow,
    pub sector: String,
    pub institution_name: String,
}

/// The latest submitted or accepted version of every report (of one institution, or all), the
/// material of sector insight.
pub async fn delivered_reports<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: Option<i64>,
) -> Result<Vec<DeliveredReport>> {
    let rs = sqlx::query(
        "SELECT r.id, r.obligation_id, r.institution_id, r.version, r.state, r.figures_json, r.previous_figures_json, r.compiled_at, r.narrative_json, r.content_hash, r.submitted_by, r.submitted_at, r.decided_by, r.decided_at, r.review_json, r.created_by, r.created_at, r.updated_at, i.sector, i.name_ko \
         FROM reports r JOIN institutions i ON i.id = r.institution_id \
         WHERE r.state IN ('submitted', 'accepted') AND ($1 = 0 OR r.institution_id = $1) \
         AND r.version = (SELECT MAX(x.version) FROM reports x WHERE x.obligation_id = r.obligation_id AND x.state IN ('submitted', 'accepted')) \
         ORDER BY r.institution_id, r.obligation_id",
    )
    .bind(institution_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(DeliveredReport {
                report: report_of(r)?,
                sector: r.try_get("sector")?,
                institution_name: r.try_get("name_ko")?,
            })
        })
        .collect()
}

/// What a new version stores.
#[derive(Debug, Clone)]
pub struct NewReport<'a> {
    pub obligation_id: i64,
    pub institution_id: i64,
    pub version: i64,
    pub figures_json: &'a str,
    pub previous_figures_json: Option<&'a str>,
    pub narrative_json: &'a str,
    pub by: &'a str,
    pub at: &'a str,
}

impl WriteTx {
    pub async fn insert_report(&mut self, r: &NewReport<'_>) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO reports (obligation_id, institution_id, version, state, figures_json, previous_figures_json, compiled_at, narrative_json, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, 'draft', $4, $5, $6, $7, $8, $6, $6) RETURNING id",
        )
        .bind(r.obligation_id)
        .bind(r.institution_id)
        .bind(r.version)
        .bind(r.figures_json)
        .bind(r.previous_figures_json)
        .bind(r.at)
        .bind(r.narrative_json)
        .bind(r.by)
        .fetch_one(self.conn())
        .await?;
        Ok(row.try_get("id")?)
    }

    /// Replaces a draft's figures (keeping the ones before); `NotFound` unless it is a draft.
    pub async fn recompile_report(
        &mut self,
        id: i64,
        figures_json: &str,
        previous_figures_json: &str,
        at: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE reports SET figures_json = $1, previous_figures_json = $2, compiled_at = $3, updated_at = $3 WHERE id = $4 AND state = 'draft' AND content_hash IS NULL",
        )
        .bind(figures_json)
        .bind(previous_figures_json)
        .bind(at)
        .bind(id)
        .execute(self.conn())
        .await?;
        one(done.rows_affected())
    }

    /// Replaces a draft's narrative; `NotFound` unless it is a draft.
    pub async fn write_report_narrative(
        &mut self,
        id: i64,
        narrative_json: &str,
        at: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE reports SET narrative_json = $1, updated_at = $2 WHERE id = $3 AND state = 'draft' AND content_hash IS NULL",
        )
        .bind(narrative_json)
        .bind(at)
        .bind(id)
        .execute(self.conn())
        .await?;
        one(done.rows_affected())
    }

    /// Freezes a draft as submitted with its content hash; `NotFound` unless it is a draft.
    pub async fn freeze_report(
        &mut self,
        id: i64,
        content_hash: &str,
        by: &str,
        at: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE reports SET state = 'submitted', content_hash = $1, submitted_by = $2, submitted_at = $3, updated_at = $3 WHERE id = $4 AND state = 'draft' AND content_hash IS NULL",
        )
        .bind(content_hash)
        .bind(by)
        .bind(at)
        .bind(id)
        .execute(self.conn())
        .await?;
        one(done.rows_affected())
    }

    /// The officer's decision on a submitted version (`accepted` or `returned`).
    pub async fn decide_report(
        &mut self,
        id: i64,
        to: &str,
        review_json: Option<&str>,
        by: &str,
        at: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE reports SET state = $1, review_json = $2, decided_by = $3, decided_at = $4, updated_at = $4 WHERE id = $5 AND state = 'submitted'",
        )
        .bind(to)
        .bind(review_json)
        .bind(by)
        .bind(at)
        .bind(id)
        .execute(self.conn())
        .await?;
        one(done.rows_affected())
    }
}

// ---------------------------------------------------------------- evidence files of a version

/// An evidence file of a report version, without its bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportAttachment {
    pub id: i64,
    pub report_id: i64,
    /// The obligation whose report the version is.
    pub obligation_id: i64,
    pub institution_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
}

const ATTACHMENT_COLUMNS: &str = "a.id, a.report_id, r.obligation_id, a.institution_id, a.filename, a.content_type, a.size_bytes, a.sha256, a.uploaded_by, a.uploaded_at";

fn report_attachment_of(r: &sqlx::any::AnyRow) -> Result<ReportAttachment> {
    Ok(ReportAttachment {
        id: r.try_get("id")?,
        report_id: r.try_get("report_id")?,
        obligation_id: r.try_get("obligation_id")?,
        institution_id: r.try_get("institution_id")?,
        filename: r.try_get("filename")?,
        content_type: r.try_get("content_type")?,
        size_bytes: r.try_get("size_bytes")?,
        sha256: r.try_get("sha256")?,
        uploaded_by: r.try_get("uploaded_by")?,
        uploaded_at: r.try_get("uploaded_at")?,
    })
}

/// The files of the versions of one obligation's report, in upload order.
pub async fn report_attachments<'e, E: Executor<'e, Database = Any>>(
    e: E,
    obligation_id: i64,
) -> Result<Vec<ReportAttachment>> {
    let rs = sqlx::query(&format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM report_attachments a JOIN reports r ON r.id = a.report_id WHERE r.obligation_id = $1 ORDER BY a.id"
    ))
    .bind(obligation_id)
    .fetch_all(e)
    .await?;
    rs.iter().map(report_attachment_of).collect()
}

/// One file with its bytes.
pub async fn get_report_attachment<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<(ReportAttachment, Vec<u8>)>> {
    let r = sqlx::query(&format!(
        "SELECT {ATTACHMENT_COLUMNS}, a.data FROM report_attachments a JOIN reports r ON r.id = a.report_id WHERE a.id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    match r {
        Some(r) => Ok(Some((report_attachment_of(&r)?, r.try_get("data")?))),
        None => Ok(None),
    }
}

/// A file to store.
#[derive(Debug, Clone)]
pub struct NewReportAttachment<'a> {
    pub report_id: i64,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub sha256: &'a str,
    pub data: &'a [u8],
    pub by: &'a str,
    pub at: &'a str,
}

impl WriteTx {
    /// Adds a file to a version that is still an unfrozen draft; `NotFound` otherwise (the
    /// condition is part of the INSERT, so a concurrent submit cannot slip a file in).
    pub async fn insert_report_attachment(&mut self, a: &NewReportAttachment<'_>) -> Result<i64> {
        let row = sqlx::query(
            "INSERT INTO report_attachments (report_id, institution_id, filename, content_type, size_bytes, sha256, data, uploaded_by, uploaded_at) \
             SELECT r.id, r.institution_id, $2, $3, $4, $5, $6, $7, $8 FROM reports r WHERE r.id = $1 AND r.state = 'draft' AND r.content_hash IS NULL RETURNING id",
        )
        .bind(a.report_id)
        .bind(a.filename)
        .bind(a.content_type)
        .bind(a.data.len() as i64)
        .bind(a.sha256)
        .bind(a.data.to_vec())
        .bind(a.by)
        .bind(a.at)
        .fetch_optional(self.conn())
        .await?;
        match row {
            Some(r) => Ok(r.try_get("id")?),
            None => Err(StoreError::NotFound),
        }
    }

    /// Removes a file of an unfrozen draft; the trigger of 0016 refuses it for a frozen version.
    pub async fn delete_report_attachment(&mut self, id: i64) -> Result<()> {
        let done = sqlx::query("DELETE FROM report_attachments WHERE id = $1")
            .bind(id)
            .execute(self.conn())
            .await?;
        one(done.rows_affected())
    }

    /// Copies the files of one version to the next (a new version after a return starts with
    /// the evidence of the returned one). Returns how many were copied.
    pub async fn copy_report_attachments(&mut self, from: i64, to: i64) -> Result<u64> {
        let done = sqlx::query(
            "INSERT INTO report_attachments (report_id, institution_id, filename, content_type, size_bytes, sha256, data, uploaded_by, uploaded_at) \
             SELECT $2, institution_id, filename, content_type, size_bytes, sha256, data, uploaded_by, uploaded_at FROM report_attachments WHERE report_id = $1 ORDER BY id",
        )
        .bind(from)
        .bind(to)
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected())
    }
}

fn one(rows: u64) -> Result<()> {
    if rows == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}
