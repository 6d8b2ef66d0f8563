//! C14 persistence of the program's bodies: fintech funding calls of the AI Security Support
//! Center, the applications to them, awards and disbursements (migration 0015). An award moves
//! the call's `awarded_krw` by a conditional update that refuses to pass the budget, and a check
//! constraint refuses it on both databases whatever the path.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::{Result, StoreError, WriteTx};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FundingCallRow {
    pub id: i64,
    pub title: String,
    pub budget_krw: i64,
    pub awarded_krw: i64,
    /// `{"size_classes": [...], "sectors": [...]}`.
    pub eligible_json: String,
    pub opens_on: String,
    pub closes_on: String,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FundingApplicationRow {
    pub id: i64,
    pub call_id: i64,
    pub institution_id: i64,
    pub institution_name: String,
    pub purpose: String,
    pub requested_krw: i64,
    /// `submitted`, `awarded`, `rejected` or `cancelled`.
    pub state: String,
    pub score: Option<i64>,
    pub award_krw: Option<i64>,
    pub decision_note: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub filed_by: String,
    pub filed_at: String,
    /// Paid so far.
    pub disbursed_krw: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DisbursementRow {
    pub id: i64,
    pub application_id: i64,
    pub amount_krw: i64,
    pub paid_on: String,
    pub note: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

const CALL_COLUMNS: &str =
    "id, title, budget_krw, awarded_krw, eligible_json, opens_on, closes_on, created_by, created_at";

fn call_of(r: &AnyRow) -> Result<FundingCallRow> {
    Ok(FundingCallRow {
        id: r.try_get("id")?,
        title: r.try_get("title")?,
        budget_krw: r.try_get("budget_krw")?,
        awarded_krw: r.try_get("awarded_krw")?,
        eligible_json: r.try_get("eligible_json")?,
        opens_on: r.try_get("opens_on")?,
        closes_on: r.try_get("closes_on")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

const APPLICATION_SELECT: &str = "SELECT a.id, a.call_id, a.institution_id, i.name_ko AS institution_name, a.purpose, a.requested_krw, a.state, a.score, a.award_krw, a.decision_note, a.decided_by, a.decided_at, a.filed_by, a.filed_at, \
     CAST(COALESCE((SELECT SUM(d.amount_krw) FROM funding_disbursements d WHERE d.application_id = a.id), 0) AS BIGINT) AS disbursed_krw \
     FROM funding_applications a JOIN institutions i ON i.id = a.institution_id";

fn application_of(r: &AnyRow) -> Result<FundingApplicationRow> {
    Ok(FundingApplicationRow {
        id: r.try_get("id")?,
        call_id: r.try_get("call_id")?,
        institution_id: r.try_get("institution_id")?,
        institution_name: r.try_get("institution_name")?,
        purpose: r.try_get("purpose")?,
        requested_krw: r.try_get("requested_krw")?,
        state: r.try_get("state")?,
        score: r.try_get("score")?,
        award_krw: r.try_get("award_krw")?,
        decision_note: r.try_get("decision_note")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        filed_by: r.try_get("filed_by")?,
        filed_at: r.try_get("filed_at")?,
        disbursed_krw: r.try_get("disbursed_krw")?,
    })
}

pub async fn list_funding_calls<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Vec<FundingCallRow>> {
    let rs = sqlx::query(&format!(
        "SELECT {CALL_COLUMNS} FROM funding_calls ORDER BY opens_on DESC, id DESC"
    ))
    .fetch_all(e)
    .await?;
    rs.iter().map(call_of).collect()
}

pub async fn get_funding_call<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<FundingCallRow>> {
    let r = sqlx::query(&format!(
        "SELECT {CALL_COLUMNS} FROM funding_calls WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(call_of).transpose()
}

/// Applications of a call (or all), of one institution (or all), in filing order.
pub async fn list_funding_applications<'e, E: Executor<'e, Database = Any>>(
    e: E,
    call_id: Option<i64>,
    institution_id: Option<i64>,
) -> Result<Vec<FundingApplicationRow>> {
    let rs = sqlx::query(&format!(
        "{APPLICATION_SELECT} WHERE ($1 = 0 OR a.call_id = $1) AND ($2 = 0 OR a.institution_id = $2) ORDER BY a.id"
    ))
    .bind(call_id.unwrap_or(0))
    .bind(institution_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter().map(application_of).collect()
}

pub async fn get_funding_application<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<FundingApplicationRow>> {
    let r = sqlx::query(&format!("{APPLICATION_SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?;
    r.as_ref().map(application_of).transpose()
}

pub async fn funding_disbursements<'e, E: Executor<'e, Database = Any>>(
    e: E,
    application_id: i64,
) -> Result<Vec<DisbursementRow>> {
    let rs = sqlx::query(
        "SELECT id, application_id, amount_krw, paid_on, note, recorded_by, recorded_at FROM funding_disbursements WHERE application_id = $1 ORDER BY paid_on, id",
    )
    .bind(application_id)
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(DisbursementRow {
                id: r.try_get("id")?,
                application_id: r.try_get("application_id")?,
                amount_krw: r.try_get("amount_krw")?,
                paid_on: r.try_get("paid_on")?,
                note: r.try_get("note")?,
                recorded_by: r.try_get("recorded_by")?,
                recorded_at: r.try_get("recorded_at")?,
            })
        })
        .collect()
}

fn one(rows: u64) -> Result<()> {
    if rows == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

impl WriteTx {
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_funding_call(
        &mut self,
        title: &str,
        budget_krw: i64,
        eligible_json: &str,
        opens_on: &str,
        closes_on: &str,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO funding_calls (title, budget_krw, awarded_krw, eligible_json, opens_on, closes_on, created_by, created_at) VALUES ($1, $2, 0, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(title)
        .bind(budget_krw)
        .bind(eligible_json)
        .bind(opens_on)
        .bind(closes_on)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }

    pub async fn insert_funding_application(
        &mut self,
        call_id: i64,
        institution_id: i64,
        purpose: &str,
        requested_krw: i64,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO funding_applications (call_id, institution_id, purpose, requested_krw, state, filed_by, filed_at) VALUES ($1, $2, $3, $4, 'submitted', $5, $6) RETURNING id",
        )
        .bind(call_id)
        .bind(institution_id)
        .bind(purpose)
        .bind(requested_krw)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await
        .map_err(|e| StoreError::from_write(e, "an application of this institution to this call"))?;
        Ok(r.try_get("id")?)
    }

    /// Awards `amount` to a submitted application when the call's remaining budget allows it;
    /// `Ok(false)` (nothing changed) when it does not.
    #[allow(clippy::too_many_arguments)]
    pub async fn award_funding(
        &mut self,
        application_id: i64,
        call_id: i64,
        amount: i64,
        score: Option<i64>,
        note: &str,
        by: &str,
        at: &str,
    ) -> Result<bool> {
        let moved = sqlx::query(
            "UPDATE funding_calls SET awarded_krw = awarded_krw + $1 WHERE id = $2 AND awarded_krw + $1 <= budget_krw",
        )
        .bind(amount)
        .bind(call_id)
        .execute(self.conn())
        .await?;
        if moved.rows_affected() != 1 {
            return Ok(false);
        }
        let done = sqlx::query(
            "UPDATE funding_applications SET state = 'awarded', award_krw = $1, score = $2, decision_note = $3, decided_by = $4, decided_at = $5 WHERE id = $6 AND call_id = $7 AND state = 'submitted'",
        )
        .bind(amount)
        .bind(score)
        .bind(note)
        .bind(by)
        .bind(at)
        .bind(application_id)
        .bind(call_id)
        .execute(self.conn())
        .await?;
        one(done.rows_affected())?;
        Ok(true)
    }

    /// Refuses a submitted application.
    pub async fn reject_funding(
        &mut self,
        application_id: i64,
        score: Option<i64>,
        note: &str,
        by: &str,
        at: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE funding_applications SET state = 'rejected', score = $1, decision_note = $2, decided_by = $3, decided_at = $4 WHERE id = $5 AND state = 'submitted'",
        )
        .bind(score)
        .bind(note)
        .bind(by)
        .bind(at)
        .bind(application_id)
        .execute(self.conn())
        .await?;
        one(done.rows_affected())
    }

    /// Cancels an award and gives its amount back to the call's budget.
    pub async fn cancel_funding(
        &mut self,
        application_id: i64,
        note: &str,
        by: &str,
        at: &str,
    ) -> Result<()> {
        let app = sqlx::query(
            "SELECT call_id, award_krw FROM funding_applications WHERE id = $1 AND state = 'awarded'",
        )
        .bind(application_id)
        .fetch_optional(self.conn())
        .await?
        .ok_or(StoreError::NotFound)?;
        let call_id: i64 = app.try_get("call_id")?;
        let amount: Option<i64> = app.try_get("award_krw")?;
        let done = sqlx::query(
            "UPDATE funding_applications SET state = 'cancelled', decision_note = $1, decided_by = $2, decided_at = $3 WHERE id = $4 AND state = 'awarded'",
        )
        .bind(note)
        .bind(by)
        .bind(at)
        .bind(application_id)
        .execute(self.conn())
        .await?;
        one(done.rows_affected())?;
        let back =
            sqlx::query("UPDATE funding_calls SET awarded_krw = awarded_krw - $1 WHERE id = $2")
                .bind(amount.unwrap_or(0))
                .bind(call_id)
                .execute(self.conn())
                .await?;
        one(back.rows_affected())
    }

    pub async fn insert_disbursement(
        &mut self,
        application_id: i64,
        amount_krw: i64,
        paid_on: &str,
        note: &str,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO funding_disbursements (application_id, amount_krw, paid_on, note, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(application_id)
        .bind(amount_krw)
        .bind(paid_on)
        .bind(note)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }
}
