//! C4 expert evaluation: reviewer assignment, conflict-of-interest declaration, scoring, and the
//! aggregation of scores by the policy's rubric.

use haechi_core::{Actor, ApplicationState, FieldError, Role};
use haechi_policy::evaluation::{self, CriterionScore, ReviewerScores};
use haechi_policy::Policy;
use haechi_store::{Assignment, EvaluationRecord, ScoreRow, WriteTx};
use serde::{Deserialize, Serialize};

use crate::authz::{self, Action};
use crate::{record, to_json, Result, Service, ServiceError};

/// One criterion's score with the reviewer's written justification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreInput {
    pub criterion: String,
    pub score: i64,
    pub justification: String,
}

/// An advisor's assignment with what they may see before and after declaring.
#[derive(Debug, Clone, Serialize)]
pub struct MyAssignment {
    pub assignment: Assignment,
    pub institution_name: String,
    pub application_state: ApplicationState,
    pub scores: Vec<ScoreRow>,
}

impl Service {
    /// Assigns an advisor to an application (officer).
    pub async fn assign_reviewer(
        &self,
        actor: &Actor,
        application_id: i64,
        advisor_id: i64,
    ) -> Result<Assignment> {
        authz::authorize(actor, Action::ManageApplications)?;
        let mut tx = self.store.begin().await?;
        let app = panel_open(&mut tx, application_id).await?;
        let id = assign_in(
            &mut tx,
            actor,
            (application_id, app.institution_id),
            advisor_id,
            "advisor_id",
        )
        .await?;
        let a = haechi_store::assignments_for_application(tx.conn(), application_id)
            .await?
            .into_iter()
            .find(|a| a.id == id)
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(a)
    }

    /// Removes an advisor from an application (officer), with a reason, and optionally assigns a
    /// replacement in the same step. The removed advisor no longer sees the application and
    /// their scores no longer count; the assignment stays on record with who removed it and why.
    pub async fn remove_reviewer(
        &self,
        actor: &Actor,
        application_id: i64,
        advisor_id: i64,
        reason: &str,
        replacement: Option<i64>,
    ) -> Result<Option<Assignment>> {
        authz::authorize(actor, Action::ManageApplications)?;
        let reason = reason.trim();
        let mut tx = self.store.begin().await?;
        let app = panel_open(&mut tx, application_id).await?;
        let Some(current) = haechi_store::assignments_for_application(tx.conn(), application_id)
            .await?
            .into_iter()
            .find(|a| a.advisor_id == advisor_id)
        else {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "advisor_id",
                "is not assigned to this application",
            )]));
        };
        if reason.is_empty() {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "reason",
                "say why the advisor is removed",
            )]));
        }
        let at = self.clock_text().unwrap_or_else(haechi_store::now_text);
        tx.remove_assignment(current.id, &actor.username, reason, &at)
            .await?;
        tx.audit(record(
            actor,
            "review.remove",
            "application",
            &application_id.to_string(),
            Some(app.institution_id),
            Some(serde_json::json!({"assignment_id": current.id, "advisor_id": advisor_id, "conflict": current.conflict, "submitted_at": current.submitted_at})),
            Some(serde_json::json!({"reason": reason, "replacement": replacement})),
        ))
        .await?;
        let added = match replacement {
            Some(r) => {
                let id = assign_in(
                    &mut tx,
                    actor,
                    (application_id, app.institution_id),
                    r,
                    "replacement",
                )
                .await?;
                haechi_store::assignments_for_application(tx.conn(), application_id)
                    .await?
                    .into_iter()
                    .find(|a| a.id == id)
            }
            None => None,
        };
        tx.commit().await?;
        Ok(added)
    }

    /// The advisor's own assignments (institution name and state only until they declare).
    pub async fn my_assignments(&self, actor: &Actor) -> Result<Vec<MyAssignment>> {
        authz::authorize(actor, Action::Review)?;
        let pool = self.store.pool();
        let mut out = Vec::new();
        for a in haechi_store::assignments_for_advisor(pool, actor.user_id).await? {
            let app = haechi_store::get_application(pool, a.application_id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            let scores = haechi_store::scores_of_assignment(pool, a.id).await?;
            out.push(MyAssignment {
                institution_name: app.institution_name,
                application_state: app.state,
                scores,
                assignment: a,
            });
        }
        Ok(out)
    }

    async fn my_assignment(
        &self,
        tx: &mut WriteTx,
        actor: &Actor,
        application_id: i64,
    ) -> Result<Assignment> {
        authz::authorize(actor, Action::Review)?;
        let all = haechi_store::assignments_for_application(tx.conn(), application_id).await?;
        // Not assigned: the application does not exist for this advisor.
        all.into_iter()
            .find(|a| a.advisor_id == actor.user_id)
            .ok_or(ServiceError::NotFound)
    }

    /// The advisor declares whether they have a conflict of interest. A conflict blocks them.
    pub async fn declare_conflict(
        &self,
        actor: &Actor,
        application_id: i64,
        conflict: bool,
        note: Option<&str>,
    ) -> Result<Assignment> {
        let mut tx = self.store.begin().await?;
        let a = self.my_assignment(&mut tx, actor, application_id).await?;
        if a.conflict.is_some() {
            return Err(ServiceError::rule(
                "already_declared",
                "the conflict-of-interest declaration was already made",
            ));
        }
        if conflict && note.is_none_or(|n| n.trim().is_empty()) {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "note",
                "describe the conflict",
            )]));
        }
        tx.declare_conflict(a.id, conflict, note).await?;
        let app = haechi_store::get_application(tx.conn(), application_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.audit(record(
            actor,
            "review.declare",
            "application",
            &application_id.to_string(),
            Some(app.institution_id),
            None,
            Some(serde_json::json!({"conflict": conflict, "note": note})),
        ))
        .await?;
        let a = haechi_store::assignments_for_application(tx.conn(), application_id)
            .await?
            .into_iter()
            .find(|x| x.id == a.id)
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(a)
    }

    /// Saves the advisor's scores; with `submit`, every criterion must be scored and justified.
    pub async fn save_scores(
        &self,
        actor: &Actor,
        application_id: i64,
        scores: &[ScoreInput],
        submit: bool,
    ) -> Result<Vec<ScoreRow>> {
        let mut tx = self.store.begin().await?;
        let a = self.my_assignment(&mut tx, actor, application_id).await?;
        match a.conflict {
            None => {
                return Err(ServiceError::rule(
                    "conflict_not_declared",
                    "declare conflict of interest before scoring",
                ))
            }
            Some(true) => {
                return Err(ServiceError::rule(
                    "conflicted",
                    "a declared conflict of interest blocks this review",
                ))
            }
            Some(false) => {}
        }
        if a.submitted_at.is_some() {
            return Err(ServiceError::rule(
                "already_submitted",
                "the review was already submitted",
            ));
        }
        let app = haechi_store::get_application(tx.conn(), application_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if app.state != ApplicationState::UnderReview {
            return Err(ServiceError::rule(
                "illegal_transition",
                format!(
                    "scores are accepted while the application is under review; it is {}",
                    app.state
                ),
            ));
        }
        let policy = self.policy_in(&mut tx).await?;
        let errors = check_scores(&policy, scores, submit);
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let rows: Vec<(String, i64, String)> = scores
            .iter()
            .map(|s| {
                (
                    s.criterion.clone(),
                    s.score,
                    s.justification.trim().to_string(),
                )
            })
            .collect();
        tx.save_scores(a.id, &rows, submit).await?;
        tx.audit(record(
            actor,
            if submit {
                "review.submit"
            } else {
                "review.save"
            },
            "application",
            &application_id.to_string(),
            Some(app.institution_id),
            None,
            Some(to_json(&scores)),
        ))
        .await?;
        let saved = haechi_store::scores_of_assignment(tx.conn(), a.id).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Aggregates the submitted reviews under the policy; every cleared reviewer must have submitted.
    pub(crate) async fn evaluate_in(
        &self,
        tx: &mut WriteTx,
        policy: &Policy,
        application_id: i64,
    ) -> Result<EvaluationRecord> {
        let assignments =
            haechi_store::assignments_for_application(tx.conn(), application_id).await?;
        let pending: Vec<&str> = assignments
            .iter()
            .filter(|a| a.conflict != Some(true) && a.submitted_at.is_none())
            .map(|a| a.advisor_name.as_str())
            .collect();
        if !pending.is_empty() {
            return Err(ServiceError::rule(
                "reviews_pending",
                format!("reviews not yet submitted by: {}", pending.join(", ")),
            ));
        }
        let rows = haechi_store::submitted_scores(tx.conn(), application_id).await?;
        let mut sheets: Vec<ReviewerScores> = Vec::new();
        for r in rows {
            let score = u8::try_from(r.score).unwrap_or(0);
            let entry = CriterionScore {
                criterion: r.criterion,
                score,
            };
            match sheets.iter_mut().find(|s| s.reviewer_id == r.advisor_id) {
                Some(s) => s.scores.push(entry),
                None => sheets.push(ReviewerScores {
                    reviewer_id: r.advisor_id,
                    scores: vec![entry],
                }),
            }
        }
        let need = policy.evaluation.reviewers_per_application as usize;
        if sheets.len() < need {
            return Err(ServiceError::rule(
                "reviews_pending",
                format!(
                    "{} submitted review(s); the policy asks for {need}",
                    sheets.len()
                ),
            ));
        }
        let result = evaluation::aggregate(policy, &sheets)
            .map_err(|e| ServiceError::rule(e.code(), e.to_string()))?;
        Ok(EvaluationRecord {
            application_id,
            policy_version: policy.version,
            passed: result.passed,
            score: result.overall_score,
            disagreement: result.any_disagreement,
            result: to_json(&result),
            computed_at: self.clock_text().unwrap_or_else(haechi_store::now_text),
        })
    }
}

/// The application, if its reviewers may change now (during screening or review).
async fn panel_open(tx: &mut WriteTx, application_id: i64) -> Result<haechi_core::Application> {
    let app = haechi_store::get_application(tx.conn(), application_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !matches!(
        app.state,
        ApplicationState::Screening | ApplicationState::UnderReview
    ) {
        return Err(ServiceError::rule(
            "illegal_transition",
            format!(
                "reviewers are assigned or changed during screening or review; this application is {}",
                app.state
            ),
        ));
    }
    Ok(app)
}

/// Assigns an active advisor inside the caller's transaction, with its audit entry.
async fn assign_in(
    tx: &mut WriteTx,
    actor: &Actor,
    (application_id, institution_id): (i64, i64),
    advisor_id: i64,
    field: &str,
) -> Result<i64> {
    let advisor = haechi_store::get_user(tx.conn(), advisor_id).await?;
    match advisor {
        Some(u) if u.role == Role::Advisor && !u.disabled => {}
        _ => {
            return Err(ServiceError::invalid(vec![FieldError::new(
                field,
                "is not an active advisor",
            )]))
        }
    }
    // A member of the advisory group outside their term or with a standing conflict is refused.
    crate::advisory::refuse_unfit_reviewer(tx, advisor_id, institution_id, field).await?;
    let id = tx
        .insert_assignment(application_id, advisor_id, &actor.username)
        .await?;
    tx.audit(record(
        actor,
        "review.assign",
        "application",
        &application_id.to_string(),
        Some(institution_id),
        None,
        Some(serde_json::json!({"assignment_id": id, "advisor_id": advisor_id})),
    ))
    .await?;
    Ok(id)
}

fn check_scores(policy: &Policy, scores: &[ScoreInput], submit: bool) -> Vec<FieldError> {
    let top = policy.evaluation.scale.len() as i64;
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for s in scores {
        let field = format!("scores.{}", s.criterion);
        if !policy
            .evaluation
            .criteria
            .iter()
            .any(|c| c.id == s.criterion)
        {
            errors.push(FieldError::new(
                field.clone(),
                "is not a criterion of the policy",
            ));
        }
        if !seen.insert(s.criterion.clone()) {
            errors.push(FieldError::new(field.clone(), "is scored twice"));
        }
        if !(1..=top).contains(&s.score) {
            errors.push(FieldError::new(
                field.clone(),
                format!("score must be 1-{top}"),
            ));
        }
        if submit && s.justification.trim().len() < 10 {
            errors.push(FieldError::new(
                format!("{field}.justification"),
                "write a justification (at least 10 characters)",
            ));
        }
    }
    if submit {
        for c in &policy.evaluation.criteria {
            if !seen.contains(&c.id) {
                errors.push(FieldError::new(format!("scores.{}", c.id), "is not scored"));
            }
        }
    }
    errors
}
