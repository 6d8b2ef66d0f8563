//! Persistence of issue #17's follow-ups (migration 0020): evidence files on records other than
//! applications (one shape for every such table, chosen by [`EvidenceOf`]), funded firms' outcome
//! reports, and the AI Security Support Center's cases with their history.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::{Result, StoreError, WriteTx};

/// Which record an evidence file belongs to. Every such table has the columns of
/// `attachments`, with its own owner column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceOf {
    /// A disruption report (C8).
    DisruptionReport,
    /// A version of a funding outcome report (C14).
    FundingOutcome,
}

impl EvidenceOf {
    fn table(self) -> (&'static str, &'static str) {
        match self {
            EvidenceOf::DisruptionReport => ("disruption_attachments", "report_id"),
            EvidenceOf::FundingOutcome => ("funding_outcome_attachments", "outcome_id"),
        }
    }
}

/// An evidence file without its bytes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceMeta {
    pub id: i64,
    /// The record it belongs to (the report, the outcome version).
    pub owner_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
}

fn evidence_of(r: &AnyRow) -> Result<EvidenceMeta> {
    Ok(EvidenceMeta {
        id: r.try_get("id")?,
        owner_id: r.try_get("owner_id")?,
        filename: r.try_get("filename")?,
        content_type: r.try_get("content_type")?,
        size_bytes: r.try_get("size_bytes")?,
        sha256: r.try_get("sha256")?,
        uploaded_by: r.try_get("uploaded_by")?,
        uploaded_at: r.try_get("uploaded_at")?,
    })
}

fn evidence_columns(owner: &str) -> String {
    format!("id, {owner} AS owner_id, filename, content_type, size_bytes, sha256, uploaded_by, uploaded_at")
}

/// The evidence files of one record, in upload order.
pub async fn list_evidence<'e, E: Executor<'e, Database = Any>>(
    e: E,
    of: EvidenceOf,
    owner_id: i64,
) -> Result<Vec<EvidenceMeta>> {
    let (table, owner) = of.table();
    let rs = sqlx::query(&format!(
        "SELECT {} FROM {table} WHERE {owner} = $1 ORDER BY id",
        evidence_columns(owner)
    ))
    .bind(owner_id)
    .fetch_all(e)
    .await?;
    rs.iter().map(evidence_of).collect()
}

/// One evidence file with its bytes.
pub async fn get_evidence<'e, E: Executor<'e, Database = Any>>(
    e: E,
    of: EvidenceOf,
    id: i64,
) -> Result<Option<(EvidenceMeta, Vec<u8>)>> {
    let (table, owner) = of.table();
    let r = sqlx::query(&format!(
        "SELECT {}, data FROM {table} WHERE id = $1",
        evidence_columns(owner)
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    match r {
        Some(r) => Ok(Some((evidence_of(&r)?, r.try_get("data")?))),
        None => Ok(None),
    }
}

/// A version of a funded firm's outcome report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FundingOutcomeRow {
    pub id: i64,
    pub application_id: i64,
    pub version: i64,
    pub achieved_ko: String,
    pub achieved_en: String,
    pub used_krw: i64,
    /// `submitted`, `accepted` or `more_requested`.
    pub state: String,
    pub review_note: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<String>,
    pub filed_by: String,
    pub filed_at: String,
}

const OUTCOME_COLUMNS: &str = "id, application_id, version, achieved_ko, achieved_en, used_krw, state, review_note, reviewed_by, reviewed_at, filed_by, filed_at";

fn outcome_of(r: &AnyRow) -> Result<FundingOutcomeRow> {
    Ok(FundingOutcomeRow {
        id: r.try_get("id")?,
        application_id: r.try_get("application_id")?,
        version: r.try_get("version")?,
        achieved_ko: r.try_get("achieved_ko")?,
        achieved_en: r.try_get("achieved_en")?,
        used_krw: r.try_get("used_krw")?,
        state: r.try_get("state")?,
        review_note: r.try_get("review_note")?,
        reviewed_by: r.try_get("reviewed_by")?,
        reviewed_at: r.try_get("reviewed_at")?,
        filed_by: r.try_get("filed_by")?,
        filed_at: r.try_get("filed_at")?,
    })
}

/// Every version of an award's outcome report, oldest first.
pub async fn funding_outcomes<'e, E: Executor<'e, Database = Any>>(
    e: E,
    application_id: i64,
) -> Result<Vec<FundingOutcomeRow>> {
    let rs = sqlx::query(&format!(
        "SELECT {OUTCOME_COLUMNS} FROM funding_outcomes WHERE application_id = $1 ORDER BY version"
    ))
    .bind(application_id)
    .fetch_all(e)
    .await?;
    rs.iter().map(outcome_of).collect()
}

pub async fn get_funding_outcome<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<FundingOutcomeRow>> {
    let r = sqlx::query(&format!(
        "SELECT {OUTCOME_COLUMNS} FROM funding_outcomes WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(outcome_of).transpose()
}

/// Whether the institution holds an award that is not cancelled (awarded, paid or not).
pub async fn has_funding_award<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: i64,
) -> Result<Option<(i64, String, i64)>> {
    let r = sqlx::query(
        "SELECT a.id, c.title, a.award_krw FROM funding_applications a JOIN funding_calls c ON c.id = a.call_id WHERE a.institution_id = $1 AND a.state = 'awarded' ORDER BY a.id LIMIT 1",
    )
    .bind(institution_id)
    .fetch_optional(e)
    .await?;
    match r {
        Some(r) => Ok(Some((
            r.try_get("id")?,
            r.try_get("title")?,
            r.try_get::<Option<i64>, _>("award_krw")?.unwrap_or(0),
        ))),
        None => Ok(None),
    }
}

/// A small firm's support case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupportCaseRow {
    pub id: i64,
    pub institution_id: i64,
    pub institution_name: String,
    /// `vulnerability_assessment`, `threat_trend` or `other`.
    pub kind: String,
    pub subject: String,
    pub description: String,
    /// `open`, `in_progress`, `answered` or `closed`.
    pub status: String,
    pub opened_by: String,
    pub opened_at: String,
    pub updated_at: String,
}

/// One step of a case: its opening, a status change, or a message without one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupportEventRow {
    pub id: i64,
    pub case_id: i64,
    pub from_status: Option<String>,
    pub to_status: String,
    pub body: String,
    pub actor_name: String,
    /// `institution` or `center`.
    pub side: String,
    pub at: String,
}

const CASE_SELECT: &str = "SELECT s.id, s.institution_id, i.name_ko AS institution_name, s.kind, s.subject, s.description, s.status, s.opened_by, s.opened_at, s.updated_at FROM support_cases s JOIN institutions i ON i.id = s.institution_id";

fn case_of(r: &AnyRow) -> Result<SupportCaseRow> {
    Ok(SupportCaseRow {
        id: r.try_get("id")?,
        institution_id: r.try_get("institution_id")?,
        institution_name: r.try_get("institution_name")?,
        kind: r.try_get("kind")?,
        subject: r.try_get("subject")?,
        description: r.try_get("description")?,
        status: r.try_get("status")?,
        opened_by: r.try_get("opened_by")?,
        opened_at: r.try_get("opened_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// Cases of one institution (or all), newest first.
pub async fn list_support_cases<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: Option<i64>,
) -> Result<Vec<SupportCaseRow>> {
    let rs = sqlx::query(&format!(
        "{CASE_SELECT} WHERE ($1 = 0 OR s.institution_id = $1) ORDER BY s.id DESC"
    ))
    .bind(institution_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter().map(case_of).collect()
}

pub async fn get_support_case<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<SupportCaseRow>> {
    let r = sqlx::query(&format!("{CASE_SELECT} WHERE s.id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?;
    r.as_ref().map(case_of).transpose()
}

pub async fn support_case_events<'e, E: Executor<'e, Database = Any>>(
    e: E,
    case_id: i64,
) -> Result<Vec<SupportEventRow>> {
    let rs = sqlx::query(
        "SELECT id, case_id, from_status, to_status, body, actor_name, side, at FROM support_case_events WHERE case_id = $1 ORDER BY id",
    )
    .bind(case_id)
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(SupportEventRow {
                id: r.try_get("id")?,
                case_id: r.try_get("case_id")?,
                from_status: r.try_get("from_status")?,
                to_status: r.try_get("to_status")?,
                body: r.try_get("body")?,
                actor_name: r.try_get("actor_name")?,
                side: r.try_get("side")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}

impl WriteTx {
    /// Stores an evidence file of a record; returns its id.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_evidence(
        &mut self,
        of: EvidenceOf,
        owner_id: i64,
        filename: &str,
        content_type: &str,
        sha256: &str,
        data: &[u8],
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let (table, owner) = of.table();
        let r = sqlx::query(&format!("INSERT INTO {table} ({owner}, filename, content_type, size_bytes, sha256, data, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id"))
            .bind(owner_id)
            .bind(filename)
            .bind(content_type)
            .bind(data.len() as i64)
            .bind(sha256)
            .bind(data.to_vec())
            .bind(by)
            .bind(at)
            .fetch_one(self.conn())
            .await?;
        Ok(r.try_get("id")?)
    }

    /// Files the next version of an award's outcome report.
    pub async fn insert_funding_outcome(
        &mut self,
        application_id: i64,
        achieved_ko: &str,
        achieved_en: &str,
        used_krw: i64,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let next: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(version), 0) + 1 AS BIGINT) FROM funding_outcomes WHERE application_id = $1",
        )
        .bind(application_id)
        .fetch_one(self.conn())
        .await?;
        let r = sqlx::query(
            "INSERT INTO funding_outcomes (application_id, version, achieved_ko, achieved_en, used_krw, state, filed_by, filed_at) VALUES ($1, $2, $3, $4, $5, 'submitted', $6, $7) RETURNING id",
        )
        .bind(application_id)
        .bind(next)
        .bind(achieved_ko)
        .bind(achieved_en)
        .bind(used_krw)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await
        .map_err(|e| StoreError::from_write(e, "this version of the outcome report"))?;
        Ok(r.try_get("id")?)
    }

    /// Accepts an outcome report or asks for more; only a submitted one.
    pub async fn review_funding_outcome(
        &mut self,
        id: i64,
        state: &str,
        note: &str,
        by: &str,
        at: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE funding_outcomes SET state = $1, review_note = $2, reviewed_by = $3, reviewed_at = $4 WHERE id = $5 AND state = 'submitted'",
        )
        .bind(state)
        .bind(note)
        .bind(by)
        .bind(at)
        .bind(id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    /// Opens a case with its first event; returns its id.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_support_case(
        &mut self,
        institution_id: i64,
        kind: &str,
        subject: &str,
        description: &str,
        by: &str,
        side: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO support_cases (institution_id, kind, subject, description, status, opened_by, opened_at, updated_at) VALUES ($1, $2, $3, $4, 'open', $5, $6, $6) RETURNING id",
        )
        .bind(institution_id)
        .bind(kind)
        .bind(subject)
        .bind(description)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        let id: i64 = r.try_get("id")?;
        self.insert_support_event(id, None, "open", description, by, side, at)
            .await?;
        Ok(id)
    }

    /// Moves a case from `from` to `to` (a message keeps the status: `from == to`) and records
    /// the step; refused as "not found" when the case is no longer in `from`.
    #[allow(clippy::too_many_arguments)]
    pub async fn move_support_case(
        &mut self,
        id: i64,
        from: &str,
        to: &str,
        body: &str,
        by: &str,
        side: &str,
        at: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE support_cases SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
        )
        .bind(to)
        .bind(at)
        .bind(id)
        .bind(from)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        self.insert_support_event(id, Some(from), to, body, by, side, at)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_support_event(
        &mut self,
        case_id: i64,
        from: Option<&str>,
        to: &str,
        body: &str,
        by: &str,
        side: &str,
        at: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO support_case_events (case_id, from_status, to_status, body, actor_name, side, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(case_id)
        .bind(from)
        .bind(to)
        .bind(body)
        .bind(by)
        .bind(side)
        .bind(at)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}
