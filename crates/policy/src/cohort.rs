//! C5 phase planning: which approved applications a phase's cohort should take, and why each
//! was or was not included. The officer confirms the proposal; this module only proposes.

use std::cmp::Ordering;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{DecisionError, Policy, Reason};

/// An application the planner may place in the cohort.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Candidate {
    pub application_id: i64,
    pub institution_id: i64,
    pub institution_name: String,
    /// The evaluation's overall score (see `evaluation::EvaluationResult::overall_score`).
    pub score: f64,
    /// The evaluation passed.
    pub passed: bool,
    /// The day the application was decided (approved).
    pub decided_on: NaiveDate,
    /// The phase id of a cohort the application already belongs to.
    pub already_in_cohort: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum CohortReason {
    /// Already confirmed in this very phase's cohort: keeps its place and uses capacity.
    AlreadyInThisCohort,
    RankedWithinCapacity,
    OverCapacity,
    EvaluationNotPassed,
    /// Belongs to another phase's cohort.
    AlreadyInCohort,
    /// Decided after the phase window closed: belongs to a later phase.
    DecidedAfterWindow,
}

impl CohortReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CohortReason::AlreadyInThisCohort => "already_in_this_cohort",
            CohortReason::RankedWithinCapacity => "ranked_within_capacity",
            CohortReason::OverCapacity => "over_capacity",
            CohortReason::EvaluationNotPassed => "evaluation_not_passed",
            CohortReason::AlreadyInCohort => "already_in_cohort",
            CohortReason::DecidedAfterWindow => "decided_after_window",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CandidateOutcome {
    pub application_id: i64,
    pub institution_id: i64,
    pub institution_name: String,
    pub score: f64,
    /// 1-based place among the candidates that could be included; `None` for the others.
    pub rank: Option<u32>,
    pub included: bool,
    pub code: CohortReason,
    pub reason: Reason,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CohortPlan {
    pub phase: String,
    pub window_start: NaiveDate,
    pub window_end: NaiveDate,
    pub min: u32,
    /// `None`: no limit (the phase takes every remaining applicant).
    pub max: Option<u32>,
    pub included_count: u32,
    /// Fewer included than the phase's minimum.
    pub below_minimum: bool,
    /// Ranked candidates first, in rank order, then the others by application id.
    pub candidates: Vec<CandidateOutcome>,
    pub policy_version: i64,
}

/// Proposes the cohort of `phase_id`. Ranking: score (highest first), then the earlier
/// decision, then the lower application id, so the order is total and reproducible.
pub fn plan(
    policy: &Policy,
    phase_id: &str,
    candidates: &[Candidate],
) -> Result<CohortPlan, DecisionError> {
    let phase = policy
        .phase(phase_id)
        .ok_or_else(|| DecisionError::UnknownPhase(phase_id.to_string()))?;
    let capacity = phase.max.map_or(usize::MAX, |m| m as usize);

    let mut ranked: Vec<&Candidate> = Vec::new();
    let mut others: Vec<(&Candidate, CohortReason)> = Vec::new();
    for c in candidates {
        match c.already_in_cohort.as_deref() {
            Some(id) if id == phase.id => ranked.push(c),
            Some(_) => others.push((c, CohortReason::AlreadyInCohort)),
            None if !c.passed => others.push((c, CohortReason::EvaluationNotPassed)),
            None if c.decided_on > phase.end => others.push((c, CohortReason::DecidedAfterWindow)),
            None => ranked.push(c),
        }
    }
    // Members already confirmed in this cohort keep their places ahead of new proposals.
    let confirmed = |c: &Candidate| c.already_in_cohort.as_deref() == Some(phase.id.as_str());
    ranked.sort_by(|a, b| {
        confirmed(b)
            .cmp(&confirmed(a))
            .then(b.score.partial_cmp(&a.score).unwrap_or(Ordering::Equal))
            .then(a.decided_on.cmp(&b.decided_on))
            .then(a.application_id.cmp(&b.application_id))
    });
    others.sort_by_key(|(c, _)| c.application_id);

    let mut out = Vec::with_capacity(candidates.len());
    for (i, c) in ranked.iter().enumerate() {
        let rank = i + 1;
        let code = if confirmed(c) {
            CohortReason::AlreadyInThisCohort
        } else if i < capacity {
            CohortReason::RankedWithinCapacity
        } else {
            CohortReason::OverCapacity
        };
        out.push(outcome(c, Some(rank as u32), code, phase));
    }
    for (c, code) in others {
        out.push(outcome(c, None, code, phase));
    }

    let included_count = out.iter().filter(|o| o.included).count() as u32;
    Ok(CohortPlan {
        phase: phase.id.clone(),
        window_start: phase.start,
        window_end: phase.end,
        min: phase.min,
        max: phase.max,
        included_count,
        below_minimum: included_count < phase.min,
        candidates: out,
        policy_version: policy.version,
    })
}

fn outcome(
    c: &Candidate,
    rank: Option<u32>,
    code: CohortReason,
    phase: &crate::Phase,
) -> CandidateOutcome {
    let place = rank.unwrap_or_default();
    let max = phase.max.map_or_else(|| "∞".to_string(), |m| m.to_string());
    let other = c.already_in_cohort.clone().unwrap_or_default();
    let (ko, en) = match code {
        CohortReason::AlreadyInThisCohort => (
            "이 차수 참여기관으로 이미 확정됨".to_string(),
            "Already confirmed in this phase's cohort".to_string(),
        ),
        CohortReason::RankedWithinCapacity => (
            format!("평가점수 {:.2}, 순위 {place} (정원 {max} 이내)", c.score),
            format!(
                "Score {:.2}, rank {place} within the capacity of {max}",
                c.score
            ),
        ),
        CohortReason::OverCapacity => (
            format!("평가점수 {:.2}, 순위 {place}: 정원 {max} 초과", c.score),
            format!(
                "Score {:.2}, rank {place}: beyond the capacity of {max}",
                c.score
            ),
        ),
        CohortReason::EvaluationNotPassed => (
            "전문가 평가 미통과".to_string(),
            "The evaluation did not pass".to_string(),
        ),
        CohortReason::AlreadyInCohort => (
            format!("이미 `{other}` 참여기관으로 확정됨"),
            format!("Already in the `{other}` cohort"),
        ),
        CohortReason::DecidedAfterWindow => (
            format!("결정일 {}이 차수 기간(~{}) 이후", c.decided_on, phase.end),
            format!(
                "Decided on {}, after the phase window closed on {}",
                c.decided_on, phase.end
            ),
        ),
    };
    CandidateOutcome {
        application_id: c.application_id,
        institution_id: c.institution_id,
        institution_name: c.institution_name.clone(),
        score: c.score,
        rank,
        included: matches!(
            code,
            CohortReason::AlreadyInThisCohort | CohortReason::RankedWithinCapacity
        ),
        code,
        reason: Reason::new(code.as_str(), ko, en),
    }
}
