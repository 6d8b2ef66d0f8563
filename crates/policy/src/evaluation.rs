//! C4 expert evaluation: the reviewers' scores aggregated per criterion and per rubric, judged
//! against the policy's pass marks, with large disagreement flagged.
//!
//! It refuses incomplete or out-of-scale input rather than guessing: an evaluation the officer
//! decides on must rest on every reviewer's full score sheet.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::model::Rubric;
use crate::{DecisionError, Policy, Reason};

/// Means are compared with this much slack so that a weighted mean that is 3.0 on paper is not
/// failed by floating-point rounding (2.9999999999).
const EPSILON: f64 = 1e-9;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CriterionScore {
    pub criterion: String,
    pub score: u8,
}

/// One reviewer's full score sheet.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReviewerScores {
    pub reviewer_id: i64,
    pub scores: Vec<CriterionScore>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CriterionResult {
    pub criterion: String,
    pub rubric: Rubric,
    pub label_ko: String,
    pub label_en: String,
    pub weight: f64,
    pub mean: f64,
    pub min: u8,
    pub max: u8,
    /// max − min.
    pub spread: u8,
    /// `spread >= disagreement_spread`.
    pub disagreement: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RubricResult {
    pub rubric: Rubric,
    pub weighted_mean: f64,
    pub lowest_criterion: String,
    pub lowest_criterion_mean: f64,
    pub min_mean: f64,
    pub min_criterion_mean: Option<f64>,
    pub passed: bool,
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EvaluationResult {
    pub passed: bool,
    /// Weighted mean over every criterion of every rubric: the score cohorts are ranked by.
    pub overall_score: f64,
    pub criteria: Vec<CriterionResult>,
    pub rubrics: Vec<RubricResult>,
    pub any_disagreement: bool,
    pub reviewers: usize,
    pub reviewers_expected: u32,
    /// The rubric findings, then a note on disagreement and on the panel size.
    pub reasons: Vec<Reason>,
    pub policy_version: i64,
}

pub fn aggregate(
    policy: &Policy,
    sheets: &[ReviewerScores],
) -> Result<EvaluationResult, DecisionError> {
    let e = &policy.evaluation;
    let top = u8::try_from(e.scale.len()).unwrap_or(u8::MAX);
    if sheets.is_empty() {
        return Err(DecisionError::NoScores);
    }

    // Scores per criterion id, checked sheet by sheet.
    let mut by_criterion: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    let mut reviewers = HashSet::new();
    for sheet in sheets {
        let reviewer = sheet.reviewer_id;
        if !reviewers.insert(reviewer) {
            return Err(DecisionError::DuplicateReviewer { reviewer });
        }
        let mut scored = HashSet::new();
        for s in &sheet.scores {
            let Some(criterion) = e.criteria.iter().find(|k| k.id == s.criterion) else {
                return Err(DecisionError::UnknownCriterion {
                    reviewer,
                    criterion: s.criterion.clone(),
                });
            };
            if !scored.insert(criterion.id.as_str()) {
                return Err(DecisionError::DuplicateScore {
                    reviewer,
                    criterion: s.criterion.clone(),
                });
            }
            if s.score < 1 || s.score > top {
                return Err(DecisionError::ScoreOutsideScale {
                    reviewer,
                    criterion: s.criterion.clone(),
                    score: s.score,
                    top,
                });
            }
            by_criterion
                .entry(criterion.id.as_str())
                .or_default()
                .push(s.score);
        }
        let missing: Vec<String> = e
            .criteria
            .iter()
            .filter(|k| !scored.contains(k.id.as_str()))
            .map(|k| k.id.clone())
            .collect();
        if !missing.is_empty() {
            return Err(DecisionError::IncompleteScores { reviewer, missing });
        }
    }

    let criteria: Vec<CriterionResult> = e
        .criteria
        .iter()
        .map(|k| {
            let scores = by_criterion
                .get(k.id.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            let min = scores.iter().copied().min().unwrap_or(0);
            let max = scores.iter().copied().max().unwrap_or(0);
            let mean =
                scores.iter().map(|&s| f64::from(s)).sum::<f64>() / scores.len().max(1) as f64;
            CriterionResult {
                criterion: k.id.clone(),
                rubric: k.rubric,
                label_ko: k.label_ko.clone(),
                label_en: k.label_en.clone(),
                weight: k.weight,
                mean,
                min,
                max,
                spread: max - min,
                disagreement: max - min >= e.disagreement_spread,
            }
        })
        .collect();

    let rubrics: Vec<RubricResult> = Rubric::ALL
        .iter()
        .filter_map(|&rubric| judge_rubric(policy, rubric, &criteria))
        .collect();
    let overall_score = weighted_mean(criteria.iter());
    let passed = rubrics.iter().all(|r| r.passed);
    let any_disagreement = criteria.iter().any(|c| c.disagreement);

    let mut reasons: Vec<Reason> = rubrics
        .iter()
        .flat_map(|r| r.reasons.iter().cloned())
        .collect();
    for c in criteria.iter().filter(|c| c.disagreement) {
        reasons.push(Reason::new(
            "reviewer_disagreement",
            format!(
                "평가위원 간 이견: {} (최저 {}, 최고 {})",
                c.label_ko, c.min, c.max
            ),
            format!(
                "Reviewers disagree on {} (lowest {}, highest {})",
                c.label_en, c.min, c.max
            ),
        ));
    }
    if sheets.len() != e.reviewers_per_application as usize {
        reasons.push(Reason::new(
            "panel_size",
            format!(
                "평가위원 {}명 (기준 {}명)",
                sheets.len(),
                e.reviewers_per_application
            ),
            format!(
                "{} reviewers scored (policy: {})",
                sheets.len(),
                e.reviewers_per_application
            ),
        ));
    }

    Ok(EvaluationResult {
        passed,
        overall_score,
        criteria,
        rubrics,
        any_disagreement,
        reviewers: sheets.len(),
        reviewers_expected: e.reviewers_per_application,
        reasons,
        policy_version: policy.version,
    })
}

fn weighted_mean<'a>(criteria: impl Iterator<Item = &'a CriterionResult>) -> f64 {
    let (sum, weights) = criteria.fold((0.0, 0.0), |(s, w), c| {
        (s + c.mean * c.weight, w + c.weight)
    });
    if weights > 0.0 {
        sum / weights
    } else {
        0.0
    }
}

fn judge_rubric(
    policy: &Policy,
    rubric: Rubric,
    criteria: &[CriterionResult],
) -> Option<RubricResult> {
    let mine: Vec<&CriterionResult> = criteria.iter().filter(|c| c.rubric == rubric).collect();
    let lowest = mine.iter().min_by(|a, b| a.mean.total_cmp(&b.mean))?;
    let mark = policy.evaluation.pass_marks.get(rubric);
    let weighted = weighted_mean(mine.iter().copied());
    let mut reasons = Vec::new();

    let mean_ok = weighted + EPSILON >= mark.min_mean;
    reasons.push(if mean_ok {
        Reason::new(
            "rubric_mean_met",
            format!(
                "{} 평균 {weighted:.2} ≥ 기준 {:.2}",
                rubric.label_ko(),
                mark.min_mean
            ),
            format!(
                "{} mean {weighted:.2} ≥ pass mark {:.2}",
                rubric.label_en(),
                mark.min_mean
            ),
        )
    } else {
        Reason::new(
            "rubric_mean_below_mark",
            format!(
                "{} 평균 {weighted:.2} < 기준 {:.2}",
                rubric.label_ko(),
                mark.min_mean
            ),
            format!(
                "{} mean {weighted:.2} is below the pass mark {:.2}",
                rubric.label_en(),
                mark.min_mean
            ),
        )
    });

    let mut floor_ok = true;
    if let Some(floor) = mark.min_criterion_mean {
        for c in mine.iter().filter(|c| c.mean + EPSILON < floor) {
            floor_ok = false;
            reasons.push(Reason::new(
                "criterion_below_floor",
                format!(
                    "{} 평균 {:.2} < 항목 최저기준 {floor:.2}",
                    c.label_ko, c.mean
                ),
                format!(
                    "{} mean {:.2} is below the per-criterion floor {floor:.2}",
                    c.label_en, c.mean
                ),
            ));
        }
    }

    Some(RubricResult {
        rubric,
        weighted_mean: weighted,
        lowest_criterion: lowest.criterion.clone(),
        lowest_criterion_mean: lowest.mean,
        min_mean: mark.min_mean,
        min_criterion_mean: mark.min_criterion_mean,
        passed: mean_ok && floor_ok,
        reasons,
    })
}
