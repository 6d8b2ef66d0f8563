//! C14 full-removal track: the holders of issued letters (and those handed over with their
//! letter, `removal_candidates`) ranked by `policy::removal` from their evaluation, reporting
//! compliance, incidents and immunity cases, patch-SLA record and self-assessed maturity; the
//! officer shortlists a candidate with a reason, then decides (recommend, or not now) with a
//! rationale. Each step stores the candidate's ranking as seen then, with its policy version,
//! and is audited.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use haechi_core::{Actor, FieldError};
use haechi_policy::removal::{rank, RankedCandidate, RemovalInput};
use haechi_store::{NewRemovalDecision, RemovalDecisionRow};
use serde::{Deserialize, Serialize};

use crate::authz::{self, Action};
use crate::{record, Result, Service, ServiceError};

/// An officer's step on the track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalStep {
    Shortlist,
    Recommend,
    NotNow,
}

impl RemovalStep {
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalStep::Shortlist => "shortlist",
            RemovalStep::Recommend => "recommend",
            RemovalStep::NotNow => "not_now",
        }
    }

    pub fn parse(s: &str) -> Option<RemovalStep> {
        [
            RemovalStep::Shortlist,
            RemovalStep::Recommend,
            RemovalStep::NotNow,
        ]
        .into_iter()
        .find(|k| k.as_str() == s.trim())
    }
}

/// A hand-over of the holder with its letter (C6), which put it on the track.
#[derive(Debug, Clone, Serialize)]
pub struct HandOver {
    pub letter_id: i64,
    pub note: String,
    pub at: String,
}

/// One candidate: who, its ranking (every factor with value, contribution and reason, and the
/// policy version), what it was computed from, and the officer's steps so far.
#[derive(Debug, Clone, Serialize)]
pub struct RemovalCandidate {
    pub institution_id: i64,
    pub name_ko: String,
    pub name_en: String,
    pub sector: String,
    pub letter_number: Option<String>,
    pub phase_id: Option<String>,
    pub handed_over: Option<HandOver>,
    pub ranked: RankedCandidate,
    pub input: RemovalInput,
    /// The shortlisting, if any.
    pub shortlisted: Option<RemovalDecisionRow>,
    /// The latest decision (recommend or not now), if any.
    pub decision: Option<RemovalDecisionRow>,
    /// Every step, oldest first.
    pub history: Vec<RemovalDecisionRow>,
}

/// The ranking as a whole.
#[derive(Debug, Clone, Serialize)]
pub struct RemovalTrack {
    pub policy_version: i64,
    pub computed_on: NaiveDate,
    pub candidates: Vec<RemovalCandidate>,
}

/// The Korean calendar day of a stored UTC time (an obligation is on time when it was
/// submitted on or before its due day in Korea).
fn kst_day(at: &str) -> Option<String> {
    chrono::DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| {
            (t.naive_utc() + chrono::Duration::hours(9))
                .date()
                .to_string()
        })
        .or_else(|| at.get(..10).map(str::to_string))
}

/// The mean of the self-assessment levels of an application's content.
fn self_assessment_mean(content_json: &str) -> Option<f64> {
    let v: serde_json::Value = serde_json::from_str(content_json).ok()?;
    let levels: Vec<f64> = v
        .get("self_assessment")?
        .as_object()?
        .values()
        .filter_map(serde_json::Value::as_f64)
        .collect();
    if levels.is_empty() {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let n = levels.len() as f64;
    Some(levels.iter().sum::<f64>() / n)
}

impl Service {
    /// What the program knows of every candidate, ranked.
    pub async fn removal_track(&self, actor: &Actor) -> Result<RemovalTrack> {
        authz::authorize(actor, Action::ReadRemovalTrack)?;
        self.compute_removal_track().await
    }

    async fn compute_removal_track(&self) -> Result<RemovalTrack> {
        let pool = self.store.pool();
        let policy = self.policy();
        let today = self.today();
        let today_text = today.to_string();
        let ids = haechi_store::removal_candidate_ids(pool).await?;
        let evaluations: BTreeMap<i64, (f64, String)> =
            haechi_store::latest_evaluated_applications(pool)
                .await?
                .into_iter()
                .map(|(inst, score, content)| (inst, (score, content)))
                .collect();
        let obligations = haechi_store::list_obligations(pool, None, None).await?;
        let incidents = haechi_store::list_incidents(pool, None).await?;
        let disruptions = haechi_store::list_disruptions(pool, None).await?;
        let reviews: BTreeMap<i64, String> = haechi_store::latest_immunity_reviews(pool)
            .await?
            .into_iter()
            .map(|r| (r.report_id, r.state))
            .collect();
        let handed: Vec<(i64, i64, String, String)> =
            haechi_store::removal_candidates(pool).await?;
        let letters = haechi_store::list_letters(pool, None).await?;
        let decisions = haechi_store::list_removal_decisions(pool, None).await?;
        let institutions = haechi_store::all_institutions(pool).await?;
        let mut inputs = Vec::new();
        for id in &ids {
            let mut input = RemovalInput {
                institution_id: *id,
                ..RemovalInput::default()
            };
            if let Some((score, content)) = evaluations.get(id) {
                input.evaluation_score = Some(*score);
                input.maturity = self_assessment_mean(content);
            }
            for o in obligations
                .iter()
                .filter(|o| o.institution_id == *id && o.status != "cancelled")
            {
                let past_due = o.due_on < today_text;
                if !past_due && o.submitted_at.is_none() {
                    continue;
                }
                input.reports_due += 1;
                if o.submitted_at
                    .as_deref()
                    .and_then(kst_day)
                    .is_some_and(|d| d <= o.due_on)
                {
                    input.reports_on_time += 1;
                }
                if o.status == "accepted" {
                    input.reports_accepted += 1;
                }
                if past_due && matches!(o.status.as_str(), "open" | "returned") {
                    input.reports_overdue += 1;
                }
            }
            input.incidents =
                u32::try_from(incidents.iter().filter(|i| i.institution_id == *id).count())
                    .unwrap_or(u32::MAX);
            for d in disruptions.iter().filter(|d| d.institution_id == *id) {
                match reviews.get(&d.id).map(String::as_str) {
                    Some("granted") => input.immunity_granted += 1,
                    Some("refused") => input.immunity_refused += 1,
                    _ => {}
                }
            }
            for (_, bucket, n) in haechi_store::sla_outcomes(pool, *id, &today_text).await? {
                let n = u64::try_from(n).unwrap_or(0);
                match bucket.as_str() {
                    "fixed_within_sla" => input.sla_met += n,
                    "fixed_late" | "open_breached" => input.sla_missed += n,
                    _ => {}
                }
            }
            inputs.push(input);
        }
        let ranked = rank(&policy, &inputs)
            .map_err(|e| ServiceError::rule("no_removal_policy", e.to_string()))?;
        let candidates = ranked
            .into_iter()
            .map(|ranked| {
                let id = ranked.institution_id;
                let inst = institutions.iter().find(|i| i.id == id);
                let letter = letters
                    .iter()
                    .filter(|l| l.institution_id == id && l.state == "issued")
                    .max_by_key(|l| l.id);
                let history: Vec<RemovalDecisionRow> = decisions
                    .iter()
                    .filter(|d| d.institution_id == id)
                    .cloned()
                    .collect();
                RemovalCandidate {
                    institution_id: id,
                    name_ko: inst.map(|i| i.input.name_ko.clone()).unwrap_or_default(),
                    name_en: inst.map(|i| i.input.name_en.clone()).unwrap_or_default(),
                    sector: inst
                        .map(|i| i.input.sector.as_str().to_string())
                        .unwrap_or_default(),
                    letter_number: letter.and_then(|l| l.letter_number.clone()),
                    phase_id: letter.and_then(|l| l.phase_id.clone()),
                    handed_over: handed.iter().find(|(inst, ..)| *inst == id).map(
                        |(_, letter_id, note, at)| HandOver {
                            letter_id: *letter_id,
                            note: note.clone(),
                            at: at.clone(),
                        },
                    ),
                    input: inputs
                        .iter()
                        .find(|i| i.institution_id == id)
                        .cloned()
                        .unwrap_or_default(),
                    shortlisted: history.iter().find(|d| d.kind == "shortlist").cloned(),
                    decision: history
                        .iter()
                        .rev()
                        .find(|d| d.kind != "shortlist")
                        .cloned(),
                    history,
                    ranked,
                }
            })
            .collect();
        Ok(RemovalTrack {
            policy_version: policy.version,
            computed_on: today,
            candidates,
        })
    }

    /// One candidate (an institution not on the track answers "not found").
    pub async fn removal_candidate(
        &self,
        actor: &Actor,
        institution_id: i64,
    ) -> Result<RemovalCandidate> {
        authz::authorize(actor, Action::ReadRemovalTrack)?;
        self.compute_removal_track()
            .await?
            .candidates
            .into_iter()
            .find(|c| c.institution_id == institution_id)
            .ok_or(ServiceError::NotFound)
    }

    /// Shortlists a candidate, or decides on a shortlisted one; the reason is required. The
    /// candidate's ranking at this moment is stored with the step.
    pub async fn decide_removal(
        &self,
        actor: &Actor,
        institution_id: i64,
        step: RemovalStep,
        reason: &str,
    ) -> Result<i64> {
        authz::authorize(actor, Action::DecideRemoval)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "reason",
                "must not be empty",
            )]));
        }
        let candidate = self.removal_candidate(actor, institution_id).await?;
        match step {
            RemovalStep::Shortlist if candidate.shortlisted.is_some() => {
                return Err(ServiceError::rule(
                    "illegal_transition",
                    "the candidate is already shortlisted",
                ));
            }
            RemovalStep::Recommend | RemovalStep::NotNow if candidate.shortlisted.is_none() => {
                return Err(ServiceError::rule(
                    "not_shortlisted",
                    "shortlist the candidate before deciding",
                ));
            }
            _ => {}
        }
        let ranking = serde_json::to_string(&candidate.ranked)
            .map_err(|e| ServiceError::rule("corrupt_ranking", e.to_string()))?;
        let at = self.clock_text().unwrap_or_else(haechi_store::now_text);
        let mut tx = self.store.begin().await?;
        // The step is decided on the ranking just computed; if the policy changed meanwhile,
        // decide again on the new one.
        let policy = self.policy_in(&mut tx).await?;
        if policy.version != candidate.ranked.policy_version {
            return Err(ServiceError::rule(
                "policy_changed",
                "the policy changed while deciding; look at the new ranking and decide again",
            ));
        }
        let id = tx
            .insert_removal_decision(
                &NewRemovalDecision {
                    institution_id,
                    kind: step.as_str(),
                    reason,
                    score: candidate.ranked.score,
                    ranking_json: &ranking,
                    policy_version: candidate.ranked.policy_version,
                },
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            &format!("removal.{}", step.as_str()),
            "removal_candidate",
            &institution_id.to_string(),
            Some(institution_id),
            candidate
                .decision
                .as_ref()
                .map(|d| serde_json::json!({"decision": d.kind})),
            Some(serde_json::json!({
                "step": step,
                "reason": reason,
                "rank": candidate.ranked.rank,
                "score": candidate.ranked.score,
                "ready": candidate.ranked.ready,
                "policy_version": candidate.ranked.policy_version,
            })),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submissions_are_dated_on_the_korean_day() {
        // 16:00 UTC is 01:00 the next day in Korea.
        assert_eq!(
            kst_day("2026-10-14T16:00:00.000000Z").as_deref(),
            Some("2026-10-15")
        );
        assert_eq!(kst_day("2026-10-14").as_deref(), Some("2026-10-14"));
    }

    #[test]
    fn maturity_is_the_mean_of_the_levels() {
        let m = self_assessment_mean(r#"{"self_assessment": {"a": 3, "b": 4}}"#).unwrap();
        assert!((m - 3.5).abs() < 1e-9);
        assert_eq!(self_assessment_mean(r#"{"self_assessment": {}}"#), None);
        assert_eq!(self_assessment_mean("{}"), None);
    }
}
