//! C5 phase planning: which approved applications a phase's cohort should take, and why each
//! was or was not included. The officer confirms the proposal; this module only proposes.

use std::cmp::Ordering;
use std::collections::BTreeMap;

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
    /// Approved after this phase's cohort was confirmed: the officer may add it to the confirmed
    /// cohort while the window is open, or it goes to the next phase.
    ApprovedAfterConfirmation,
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
            CohortReason::ApprovedAfterConfirmation => "approved_after_confirmation",
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
    /// The officer's reason for approving against a failed evaluation (issue #14): such an
    /// approval is ranked like any other, and this reason is shown with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<String>,
    /// A late approval that may be added to the confirmed cohort now (window open, capacity left).
    #[serde(default)]
    pub can_add: bool,
}

/// What the planner knows besides the candidates.
#[derive(Debug, Clone, Default)]
pub struct PlanContext {
    /// The phase's cohort is already confirmed: a candidate that is not a member was approved
    /// after the confirmation.
    pub confirmed: bool,
    /// Applications approved after the confirmation (an application decided before it but left
    /// out, e.g. over capacity, is not one of them).
    pub approved_after_confirmation: std::collections::BTreeSet<i64>,
    /// The day of the plan: a late approval may join a confirmed cohort only while the phase's
    /// window is open. `None`: no late addition is offered.
    pub today: Option<NaiveDate>,
    /// Approvals against a failed evaluation, by application id, with the officer's reason.
    pub overrides: BTreeMap<i64, String>,
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
    /// The cohort is confirmed and its window is still open: late approvals may be added.
    #[serde(default)]
    pub late_additions_open: bool,
}

/// Proposes the cohort of `phase_id`. Ranking: score (highest first), then the earlier
/// decision, then the lower application id, so the order is total and reproducible.
pub fn plan(
    policy: &Policy,
    phase_id: &str,
    candidates: &[Candidate],
) -> Result<CohortPlan, DecisionError> {
    plan_with(policy, phase_id, candidates, &PlanContext::default())
}

/// [`plan`] with what the service knows besides the candidates: whether the cohort is
/// confirmed, today's date, and the approvals that override a failed evaluation.
pub fn plan_with(
    policy: &Policy,
    phase_id: &str,
    candidates: &[Candidate],
    ctx: &PlanContext,
) -> Result<CohortPlan, DecisionError> {
    let phase = policy
        .phase(phase_id)
        .ok_or_else(|| DecisionError::UnknownPhase(phase_id.to_string()))?;
    let capacity = phase.max.map_or(usize::MAX, |m| m as usize);

    let mut ranked: Vec<&Candidate> = Vec::new();
    let mut others: Vec<(&Candidate, CohortReason)> = Vec::new();
    let mut late: Vec<&Candidate> = Vec::new();
    for c in candidates {
        let overridden = ctx.overrides.contains_key(&c.application_id);
        match c.already_in_cohort.as_deref() {
            Some(id) if id == phase.id => ranked.push(c),
            Some(_) => others.push((c, CohortReason::AlreadyInCohort)),
            None if !c.passed && !overridden => others.push((c, CohortReason::EvaluationNotPassed)),
            None if c.decided_on > phase.end => others.push((c, CohortReason::DecidedAfterWindow)),
            None if ctx.confirmed
                && ctx.approved_after_confirmation.contains(&c.application_id) =>
            {
                late.push(c)
            }
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
    late.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(Ordering::Equal)
            .then(a.decided_on.cmp(&b.decided_on))
            .then(a.application_id.cmp(&b.application_id))
    });
    let window_open = ctx.today.is_some_and(|d| d <= phase.end);
    let room = ranked.len() < capacity;

    let outcome = |c: &Candidate, rank: Option<u32>, code: CohortReason| {
        outcome(policy, c, rank, code, phase, ctx, window_open && room)
    };
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
        out.push(outcome(c, Some(rank as u32), code));
    }
    for c in late {
        out.push(outcome(c, None, CohortReason::ApprovedAfterConfirmation));
    }
    for (c, code) in others {
        out.push(outcome(c, None, code));
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
        late_additions_open: ctx.confirmed && window_open,
    })
}

/// The phase's label in both languages (its id only if the policy no longer has it).
fn phase_labels(policy: &Policy, id: &str) -> (String, String) {
    policy.phase(id).map_or_else(
        || (id.to_string(), id.to_string()),
        |p| (p.label_ko.clone(), p.label_en.clone()),
    )
}

fn outcome(
    policy: &Policy,
    c: &Candidate,
    rank: Option<u32>,
    code: CohortReason,
    phase: &crate::Phase,
    ctx: &PlanContext,
    may_add: bool,
) -> CandidateOutcome {
    let place = rank.unwrap_or_default();
    let (cap_ko, cap_en) = phase.max.map_or_else(
        || {
            (
                "정원 제한 없음".to_string(),
                "no capacity limit".to_string(),
            )
        },
        |m| (format!("정원 {m}"), format!("capacity {m}")),
    );
    let override_reason = ctx.overrides.get(&c.application_id).cloned();
    let (ko, en) = match code {
        CohortReason::AlreadyInThisCohort => (
            "이 단계 대상 기관으로 이미 확정됨".to_string(),
            "Already confirmed in this phase's cohort".to_string(),
        ),
        CohortReason::RankedWithinCapacity => (
            format!("평가점수 {:.2}, 순위 {place} ({cap_ko} 이내)", c.score),
            format!("Score {:.2}, rank {place}, within {cap_en}", c.score),
        ),
        CohortReason::OverCapacity => (
            format!("평가점수 {:.2}, 순위 {place}: {cap_ko} 초과", c.score),
            format!("Score {:.2}, rank {place}: beyond {cap_en}", c.score),
        ),
        CohortReason::EvaluationNotPassed => (
            "전문가 평가 미통과".to_string(),
            "The evaluation did not pass".to_string(),
        ),
        CohortReason::AlreadyInCohort => {
            let (lko, len) = phase_labels(policy, c.already_in_cohort.as_deref().unwrap_or(""));
            (
                format!("이미 {lko} 대상 기관으로 확정됨"),
                format!("Already in the cohort of {len}"),
            )
        }
        CohortReason::DecidedAfterWindow => (
            format!("결정일 {}이 단계 기간(~{}) 이후", c.decided_on, phase.end),
            format!(
                "Decided on {}, after the phase window closed on {}",
                c.decided_on, phase.end
            ),
        ),
        CohortReason::ApprovedAfterConfirmation if may_add => (
            format!(
                "평가점수 {:.2}, 대상 기관 확정 후 {} 승인: 단계 기간(~{}) 중이므로 확정된 대상에 추가할 수 있음",
                c.score, c.decided_on, phase.end
            ),
            format!(
                "Score {:.2}, approved on {} after the cohort was confirmed: it can be added to the confirmed cohort while the window is open (until {})",
                c.score, c.decided_on, phase.end
            ),
        ),
        CohortReason::ApprovedAfterConfirmation => (
            format!(
                "평가점수 {:.2}, 대상 기관 확정 후 {} 승인: 단계 기간이 끝났거나 정원이 차서 이 단계에 추가할 수 없음, 다음 단계 대상으로 제안됨",
                c.score, c.decided_on
            ),
            format!(
                "Score {:.2}, approved on {} after the cohort was confirmed: the window has closed or the cohort is full, so it is proposed for the next phase",
                c.score, c.decided_on
            ),
        ),
    };
    let (ko, en) = match &override_reason {
        Some(why) if !c.passed => (
            format!("{ko} · 평가 미달이나 예외 승인됨 (사유: {why})"),
            format!("{en} · approved despite the failed evaluation (override: {why})"),
        ),
        _ => (ko, en),
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
        override_reason: override_reason.filter(|_| !c.passed),
        can_add: code == CohortReason::ApprovedAfterConfirmation && may_add,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn candidate(
        id: i64,
        score: f64,
        passed: bool,
        decided: &str,
        cohort: Option<&str>,
    ) -> Candidate {
        Candidate {
            application_id: id,
            institution_id: id,
            institution_name: format!("Institution {id}"),
            score,
            passed,
            decided_on: day(decided),
            already_in_cohort: cohort.map(str::to_string),
        }
    }

    fn codes(plan: &CohortPlan) -> Vec<(i64, CohortReason, bool)> {
        plan.candidates
            .iter()
            .map(|c| (c.application_id, c.code, c.can_add))
            .collect()
    }

    #[test]
    fn late_approvals_of_a_confirmed_cohort_may_join_only_while_its_window_is_open() {
        let policy = Policy::default_policy();
        let candidates = [
            candidate(1, 3.5, true, "2026-10-10", Some("phase-3")),
            // Left out before the confirmation (it was never approved late): ranked as before.
            candidate(2, 3.1, true, "2026-10-11", None),
            candidate(3, 3.3, true, "2026-12-10", None),
        ];
        let mut ctx = PlanContext {
            confirmed: true,
            approved_after_confirmation: [3].into_iter().collect(),
            today: Some(day("2026-12-11")),
            overrides: BTreeMap::new(),
        };
        let open = plan_with(&policy, "phase-3", &candidates, &ctx).unwrap();
        assert!(open.late_additions_open);
        assert_eq!(
            codes(&open),
            vec![
                (1, CohortReason::AlreadyInThisCohort, false),
                (2, CohortReason::RankedWithinCapacity, false),
                (3, CohortReason::ApprovedAfterConfirmation, true),
            ]
        );
        ctx.today = Some(day("2027-01-02"));
        let closed = plan_with(&policy, "phase-3", &candidates, &ctx).unwrap();
        assert!(!closed.late_additions_open);
        let late = &closed.candidates[2];
        assert!(
            !late.can_add && late.reason.ko.contains("다음 단계"),
            "{late:?}"
        );
    }

    #[test]
    fn an_overridden_approval_is_ranked_with_its_reason_and_reasons_name_no_ids() {
        let policy = Policy::default_policy();
        let candidates = [
            candidate(1, 2.9, false, "2026-10-10", None),
            candidate(2, 2.8, false, "2026-10-11", None),
            candidate(3, 3.4, true, "2026-06-10", Some("phase-1")),
        ];
        let ctx = PlanContext {
            overrides: [(1, "보완 조건부".to_string())].into_iter().collect(),
            ..PlanContext::default()
        };
        let plan = plan_with(&policy, "phase-3", &candidates, &ctx).unwrap();
        assert_eq!(
            codes(&plan),
            vec![
                (1, CohortReason::RankedWithinCapacity, false),
                (2, CohortReason::EvaluationNotPassed, false),
                (3, CohortReason::AlreadyInCohort, false),
            ]
        );
        let first = &plan.candidates[0];
        assert_eq!(first.override_reason.as_deref(), Some("보완 조건부"));
        assert!(
            first.reason.ko.contains("보완 조건부") && first.reason.ko.contains("정원 제한 없음")
        );
        assert!(first.reason.en.contains("no capacity limit"));
        for c in &plan.candidates {
            for text in [&c.reason.ko, &c.reason.en] {
                assert!(!text.contains('∞') && !text.contains("phase-"), "{text}");
            }
        }
        assert!(plan.candidates[2].reason.ko.contains("1차"));
    }
}
