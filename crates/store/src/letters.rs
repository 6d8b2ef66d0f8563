//! Queries of no-action letters, their signing keys and sequence numbers, reporting obligations,
//! notifications and the full-removal candidate list.

use serde::Serialize;
use sqlx::{Any, Executor, Row};

use crate::{now_text, Result, StoreError, WriteTx};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LetterRow {
    pub id: i64,
    pub letter_number: Option<String>,
    pub application_id: i64,
    pub institution_id: i64,
    pub institution_name: String,
    pub phase_id: Option<String>,
    /// `draft`, `issued` or `revoked`.
    pub state: String,
    #[serde(skip)]
    pub draft_json: String,
    #[serde(skip)]
    pub signed_file: Option<String>,
    pub content_sha256: Option<String>,
    pub key_id: Option<String>,
    pub issued_on: Option<String>,
    pub valid_until: Option<String>,
    pub renews_letter_id: Option<i64>,
    pub revoked_on: Option<String>,
    pub revoked_reason: Option<String>,
    pub revoked_by: Option<String>,
    pub created_at: String,
}

impl LetterRow {
    /// The first day of validity of an issued letter, as signed (a renewal starts after the
    /// letter it renews ends, so this can be later than `issued_on`); the issue day when the
    /// stored content does not say.
    pub fn valid_from(&self) -> Option<String> {
        serde_json::from_str::<serde_json::Value>(&self.draft_json)
            .ok()
            .and_then(|v| v["valid_from"].as_str().map(str::to_string))
            .or_else(|| self.issued_on.clone())
            .filter(|_| self.state != "draft")
    }
}

const LETTER_SELECT: &str = "SELECT l.id, l.letter_number, l.application_id, l.institution_id, i.name_ko AS institution_name, l.phase_id, l.state, l.draft_json, l.signed_file, l.content_sha256, l.key_id, l.issued_on, l.valid_until, l.renews_letter_id, l.revoked_on, l.revoked_reason, l.revoked_by, l.created_at FROM letters l JOIN institutions i ON i.id = l.institution_id";

fn letter_row(r: &sqlx::any::AnyRow) -> Result<LetterRow> {
    Ok(LetterRow {
        id: r.try_get("id")?,
        letter_number: r.try_get("letter_number")?,
        application_id: r.try_get("application_id")?,
        institution_id: r.try_get("institution_id")?,
        institution_name: r.try_get("institution_name")?,
        phase_id: r.try_get("phase_id")?,
        state: r.try_get("state")?,
        draft_json: r.try_get("draft_json")?,
        signed_file: r.try_get("signed_file")?,
        content_sha256: r.try_get("content_sha256")?,
        key_id: r.try_get("key_id")?,
        issued_on: r.try_get("issued_on")?,
        valid_until: r.try_get("valid_until")?,
        renews_letter_id: r.try_get("renews_letter_id")?,
        revoked_on: r.try_get("revoked_on")?,
        revoked_reason: r.try_get("revoked_reason")?,
        revoked_by: r.try_get("revoked_by")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn get_letter<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<LetterRow>> {
    let r = sqlx::query(&format!("{LETTER_SELECT} WHERE l.id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?;
    r.as_ref().map(letter_row).transpose()
}

pub async fn get_letter_by_number<'e, E: Executor<'e, Database = Any>>(
    e: E,
    number: &str,
) -> Result<Option<LetterRow>> {
    let r = sqlx::query(&format!("{LETTER_SELECT} WHERE l.letter_number = $1"))
        .bind(number)
        .fetch_optional(e)
        .await?;
    r.as_ref().map(letter_row).transpose()
}

/// Letters, newest first; `institution_id` 0 means all.
pub async fn list_letters<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: Option<i64>,
) -> Result<Vec<LetterRow>> {
    let rs = sqlx::query(&format!(
        "{LETTER_SELECT} WHERE ($1 = 0 OR l.institution_id = $1) ORDER BY l.id DESC"
    ))
    .bind(institution_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter().map(letter_row).collect()
}

pub async fn signing_keys<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Vec<(String, String)>> {
    let rs = sqlx::query("SELECT key_id, public_pem FROM signing_keys ORDER BY created_at")
        .fetch_all(e)
        .await?;
    rs.iter()
        .map(|r| Ok((r.try_get("key_id")?, r.try_get("public_pem")?)))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObligationRow {
    pub id: i64,
    pub letter_id: i64,
    pub letter_number: Option<String>,
    pub institution_id: i64,
    pub institution_name: String,
    pub kind: String,
    pub sequence: i64,
    pub period_start: String,
    pub period_end: String,
    pub due_on: String,
    /// Stored status: `open`, `submitted`, `accepted`, `returned` or `cancelled`.
    pub status: String,
    pub submitted_at: Option<String>,
    pub decided_at: Option<String>,
    pub note: Option<String>,
    /// The SaaS self-evaluation that fulfilled a `saas_self_evaluation` obligation.
    pub saas_evaluation_id: Option<i64>,
    /// The SaaS entry that evaluation belongs to (for a link to it).
    pub saas_id: Option<i64>,
}

pub async fn list_obligations<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: Option<i64>,
    letter_id: Option<i64>,
) -> Result<Vec<ObligationRow>> {
    let rs = sqlx::query(
        "SELECT o.id, o.letter_id, l.letter_number, o.institution_id, i.name_ko AS institution_name, o.kind, o.sequence, o.period_start, o.period_end, o.due_on, o.status, o.submitted_at, o.decided_at, o.note, o.saas_evaluation_id, (SELECT e.saas_id FROM saas_evaluations e WHERE e.id = o.saas_evaluation_id) AS saas_id \
         FROM obligations o JOIN letters l ON l.id = o.letter_id JOIN institutions i ON i.id = o.institution_id \
         WHERE ($1 = 0 OR o.institution_id = $1) AND ($2 = 0 OR o.letter_id = $2) ORDER BY o.due_on, o.id",
    )
    .bind(institution_id.unwrap_or(0))
    .bind(letter_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(ObligationRow {
                id: r.try_get("id")?,
                letter_id: r.try_get("letter_id")?,
                letter_number: r.try_get("letter_number")?,
                institution_id: r.try_get("institution_id")?,
                institution_name: r.try_get("institution_name")?,
                kind: r.try_get("kind")?,
                sequence: r.try_get("sequence")?,
                period_start: r.try_get("period_start")?,
                period_end: r.try_get("period_end")?,
                due_on: r.try_get("due_on")?,
                status: r.try_get("status")?,
                submitted_at: r.try_get("submitted_at")?,
                decided_at: r.try_get("decided_at")?,
                note: r.try_get("note")?,
                saas_evaluation_id: r.try_get("saas_evaluation_id")?,
                saas_id: r.try_get("saas_id")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotificationRow {
    pub id: i64,
    pub institution_id: Option<i64>,
    pub audience: String,
    pub kind: String,
    pub subject_ko: String,
    pub subject_en: String,
    pub letter_id: Option<i64>,
    pub created_at: String,
    pub read_at: Option<String>,
}

/// Notifications for one institution (`Some`) or for the regulator side (`None`), newest first.
pub async fn list_notifications<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: Option<i64>,
) -> Result<Vec<NotificationRow>> {
    let rs = sqlx::query(
        "SELECT id, institution_id, audience, kind, subject_ko, subject_en, letter_id, created_at, read_at FROM notifications \
         WHERE ($1 = 0 AND audience = 'regulator') OR ($1 <> 0 AND institution_id = $1 AND audience = 'institution') ORDER BY id DESC LIMIT 200",
    )
    .bind(institution_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(NotificationRow {
                id: r.try_get("id")?,
                institution_id: r.try_get("institution_id")?,
                audience: r.try_get("audience")?,
                kind: r.try_get("kind")?,
                subject_ko: r.try_get("subject_ko")?,
                subject_en: r.try_get("subject_en")?,
                letter_id: r.try_get("letter_id")?,
                created_at: r.try_get("created_at")?,
                read_at: r.try_get("read_at")?,
            })
        })
        .collect()
}

pub async fn removal_candidates<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Vec<(i64, i64, String, String)>> {
    let rs = sqlx::query("SELECT institution_id, letter_id, note, added_at FROM removal_candidates ORDER BY added_at").fetch_all(e).await?;
    rs.iter()
        .map(|r| {
            Ok((
                r.try_get("institution_id")?,
                r.try_get("letter_id")?,
                r.try_get("note")?,
                r.try_get("added_at")?,
            ))
        })
        .collect()
}

/// A new notification; `dedupe_key` makes repeated runs of a reminder job write it once.
#[derive(Debug, Clone)]
pub struct NewNotification<'a> {
    pub institution_id: Option<i64>,
    pub audience: &'a str,
    pub kind: &'a str,
    pub subject_ko: String,
    pub subject_en: String,
    pub letter_id: Option<i64>,
    pub dedupe_key: String,
    pub at: Option<String>,
}

impl WriteTx {
    pub async fn insert_signing_key(&mut self, key_id: &str, public_pem: &str) -> Result<bool> {
        let exists: Option<String> =
            sqlx::query_scalar("SELECT key_id FROM signing_keys WHERE key_id = $1")
                .bind(key_id)
                .fetch_optional(self.conn())
                .await?;
        if exists.is_some() {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO signing_keys (key_id, public_pem, created_at) VALUES ($1, $2, $3)",
        )
        .bind(key_id)
        .bind(public_pem)
        .bind(self.now_text())
        .execute(self.conn())
        .await?;
        Ok(true)
    }

    /// The next letter sequence number of `year` (1, 2, …), never reused.
    pub async fn next_letter_seq(&mut self, year: i64) -> Result<i64> {
        let last: Option<i64> =
            sqlx::query_scalar("SELECT last_seq FROM letter_sequences WHERE year = $1")
                .bind(year)
                .fetch_optional(self.conn())
                .await?;
        let next = last.unwrap_or(0) + 1;
        if last.is_some() {
            sqlx::query("UPDATE letter_sequences SET last_seq = $1 WHERE year = $2")
                .bind(next)
                .bind(year)
                .execute(self.conn())
                .await?;
        } else {
            sqlx::query("INSERT INTO letter_sequences (year, last_seq) VALUES ($1, $2)")
                .bind(year)
                .bind(next)
                .execute(self.conn())
                .await?;
        }
        Ok(next)
    }

    pub async fn insert_letter_draft(
        &mut self,
        application_id: i64,
        institution_id: i64,
        phase_id: Option<&str>,
        draft_json: &str,
        renews: Option<i64>,
    ) -> Result<i64> {
        let now = self.now_text();
        let r = sqlx::query(
            "INSERT INTO letters (application_id, institution_id, phase_id, state, draft_json, renews_letter_id, created_at, updated_at) VALUES ($1, $2, $3, 'draft', $4, $5, $6, $6) RETURNING id",
        )
        .bind(application_id)
        .bind(institution_id)
        .bind(phase_id)
        .bind(draft_json)
        .bind(renews)
        .bind(now)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }

    /// Records the signed letter; only a draft can be issued.
    pub async fn issue_letter(
        &mut self,
        id: i64,
        number: &str,
        draft_json: &str,
        signed_file: &str,
        sha256: &str,
        key_id: &str,
        issued_on: &str,
        valid_until: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE letters SET letter_number = $1, draft_json = $2, signed_file = $3, content_sha256 = $4, key_id = $5, issued_on = $6, valid_until = $7, state = 'issued', updated_at = $8 WHERE id = $9 AND state = 'draft'",
        )
        .bind(number)
        .bind(draft_json)
        .bind(signed_file)
        .bind(sha256)
        .bind(key_id)
        .bind(issued_on)
        .bind(valid_until)
        .bind(self.now_text())
        .bind(id)
        .execute(self.conn())
        .await
        .map_err(|e| StoreError::from_write(e, &format!("letter number {number}")))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn revoke_letter(&mut self, id: i64, on: &str, reason: &str, by: &str) -> Result<()> {
        let done = sqlx::query("UPDATE letters SET state = 'revoked', revoked_on = $1, revoked_reason = $2, revoked_by = $3, updated_at = $4 WHERE id = $5 AND state = 'issued'")
            .bind(on)
            .bind(reason)
            .bind(by)
            .bind(self.now_text())
            .bind(id)
            .execute(self.conn())
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn insert_obligation(
        &mut self,
        letter_id: i64,
        institution_id: i64,
        kind: &str,
        sequence: i64,
        period_start: &str,
        period_end: &str,
        due_on: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO obligations (letter_id, institution_id, kind, sequence, period_start, period_end, due_on, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open') RETURNING id",
        )
        .bind(letter_id)
        .bind(institution_id)
        .bind(kind)
        .bind(sequence)
        .bind(period_start)
        .bind(period_end)
        .bind(due_on)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }

    /// Moves an obligation from one stored status to another; `NotFound` when it was not in `from`.
    pub async fn set_obligation_status(
        &mut self,
        id: i64,
        from: &[&str],
        to: &str,
        note: Option<&str>,
        at: &str,
    ) -> Result<()> {
        let placeholders: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 5)).collect();
        let sql = format!(
            "UPDATE obligations SET status = $1, note = COALESCE($2, note), submitted_at = CASE WHEN $1 = 'submitted' THEN $3 ELSE submitted_at END, decided_at = CASE WHEN $1 IN ('accepted', 'returned') THEN $3 ELSE decided_at END WHERE id = $4 AND status IN ({})",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(to).bind(note).bind(at).bind(id);
        for f in from {
            q = q.bind(*f);
        }
        if q.execute(self.conn()).await?.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Marks a `saas_self_evaluation` obligation fulfilled by a self-evaluation; `NotFound`
    /// unless it is still owed (open or returned).
    pub async fn fulfil_obligation(
        &mut self,
        id: i64,
        saas_evaluation_id: i64,
        at: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE obligations SET status = 'fulfilled', saas_evaluation_id = $1, submitted_at = $2, decided_at = $2 WHERE id = $3 AND kind = 'saas_self_evaluation' AND status IN ('open', 'returned')",
        )
        .bind(saas_evaluation_id)
        .bind(at)
        .bind(id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn cancel_open_obligations(&mut self, letter_id: i64) -> Result<u64> {
        let done = sqlx::query("UPDATE obligations SET status = 'cancelled' WHERE letter_id = $1 AND status IN ('open', 'returned')").bind(letter_id).execute(self.conn()).await?;
        Ok(done.rows_affected())
    }

    /// Inserts a notification unless one with the same dedupe key exists; returns whether it did.
    pub async fn notify(&mut self, n: &NewNotification<'_>) -> Result<bool> {
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM notifications WHERE dedupe_key = $1")
                .bind(&n.dedupe_key)
                .fetch_optional(self.conn())
                .await?;
        if exists.is_some() {
            return Ok(false);
        }
        sqlx::query("INSERT INTO notifications (institution_id, audience, kind, subject_ko, subject_en, letter_id, dedupe_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(n.institution_id)
            .bind(n.audience)
            .bind(n.kind)
            .bind(&n.subject_ko)
            .bind(&n.subject_en)
            .bind(n.letter_id)
            .bind(&n.dedupe_key)
            .bind(n.at.clone().unwrap_or_else(now_text))
            .execute(self.conn())
            .await?;
        Ok(true)
    }

    pub async fn insert_removal_candidate(
        &mut self,
        institution_id: i64,
        letter_id: i64,
        note: &str,
        by: &str,
    ) -> Result<()> {
        sqlx::query("INSERT INTO removal_candidates (institution_id, letter_id, note, added_by, added_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(institution_id)
            .bind(letter_id)
            .bind(note)
            .bind(by)
            .bind(self.now_text())
            .execute(self.conn())
            .await
            .map_err(|e| StoreError::from_write(e, "this institution on the full-removal candidate list"))?;
        Ok(())
    }
}
