//! C14 persistence of the full-removal track (migration 0019): who is a candidate (a holder of
//! an issued letter, or an institution handed over with its letter), the evaluation each
//! candidate's ranking starts from, and the officer's shortlistings and decisions, each stored
//! with the ranking it saw.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::{Result, WriteTx};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemovalDecisionRow {
    pub id: i64,
    pub institution_id: i64,
    /// `shortlist`, `recommend` or `not_now`.
    pub kind: String,
    pub reason: String,
    pub score: f64,
    /// The candidate's ranking (factors, reasons, policy version) when decided.
    pub ranking_json: String,
    pub policy_version: i64,
    pub decided_by: String,
    pub decided_at: String,
}

fn decision_of(r: &AnyRow) -> Result<RemovalDecisionRow> {
    Ok(RemovalDecisionRow {
        id: r.try_get("id")?,
        institution_id: r.try_get("institution_id")?,
        kind: r.try_get("kind")?,
        reason: r.try_get("reason")?,
        score: r.try_get("score")?,
        ranking_json: r.try_get("ranking_json")?,
        policy_version: r.try_get("policy_version")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
    })
}

/// Institutions on the track: holders of an issued letter, and those handed over.
pub async fn removal_candidate_ids<'e, E: Executor<'e, Database = Any>>(e: E) -> Result<Vec<i64>> {
    let rs = sqlx::query(
        "SELECT institution_id FROM letters WHERE state = 'issued' UNION SELECT institution_id FROM removal_candidates ORDER BY institution_id",
    )
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| Ok(r.try_get("institution_id")?))
        .collect()
}

/// The latest evaluated application of each institution: (institution id, overall score,
/// application content JSON).
pub async fn latest_evaluated_applications<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Vec<(i64, f64, String)>> {
    let rs = sqlx::query(
        "SELECT a.institution_id, e.score, a.content_json FROM evaluations e JOIN applications a ON a.id = e.application_id \
         WHERE a.id = (SELECT MAX(x.id) FROM applications x JOIN evaluations y ON y.application_id = x.id WHERE x.institution_id = a.institution_id) \
         ORDER BY a.institution_id",
    )
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok((
                r.try_get("institution_id")?,
                r.try_get("score")?,
                r.try_get("content_json")?,
            ))
        })
        .collect()
}

/// Shortlistings and decisions of one institution (or all), oldest first.
pub async fn list_removal_decisions<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: Option<i64>,
) -> Result<Vec<RemovalDecisionRow>> {
    let rs = sqlx::query(
        "SELECT id, institution_id, kind, reason, score, ranking_json, policy_version, decided_by, decided_at FROM removal_decisions WHERE ($1 = 0 OR institution_id = $1) ORDER BY id",
    )
    .bind(institution_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter().map(decision_of).collect()
}

/// A new shortlisting or decision.
#[derive(Debug, Clone)]
pub struct NewRemovalDecision<'a> {
    pub institution_id: i64,
    pub kind: &'a str,
    pub reason: &'a str,
    pub score: f64,
    pub ranking_json: &'a str,
    pub policy_version: i64,
}

impl WriteTx {
    pub async fn insert_removal_decision(
        &mut self,
        d: &NewRemovalDecision<'_>,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO removal_decisions (institution_id, kind, reason, score, ranking_json, policy_version, decided_by, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(d.institution_id)
        .bind(d.kind)
        .bind(d.reason)
        .bind(d.score)
        .bind(d.ranking_json)
        .bind(d.policy_version)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }
}
