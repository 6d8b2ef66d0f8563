//! C14 full-removal track: which letter holders are the best candidates for removing the
//! network-separation rule altogether, ranked from what the program already knows of them —
//! their expert evaluation, how they kept their reporting obligations (C7), the incidents and
//! immunity cases of their security activities (C8), how they kept patch SLAs (C13) and their
//! self-assessed maturity.
//!
//! Each factor becomes a value from 0 to 100 with a sentence saying why; its contribution is
//! the value times its weight (the weights of `[removal.weights]` add up to 100), and the score
//! is the sum of the contributions. A candidate is ready for a recommendation when the score
//! reaches `min_score` and no threshold blocks it (reports overdue, an SLA rate below the
//! floor). No evidence gives no credit: a factor without data counts 0, and says so.
//!
//! The officer decides; this module ranks and explains.

use serde::{Deserialize, Serialize};

use crate::{Policy, Reason};

/// `[removal]`: weights and thresholds of the full-removal ranking.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RemovalPolicy {
    /// A candidate whose score reaches this (0-100) and is not blocked is ready.
    pub min_score: f64,
    /// Points (of 100) the incidents factor loses per incident of the candidate.
    pub incident_penalty: f64,
    /// Points (of 100) the incidents factor loses per refused immunity case.
    pub refused_immunity_penalty: f64,
    /// More reports overdue than this blocks a recommendation.
    pub max_overdue_reports: u32,
    /// A patch-SLA rate (percent of due findings fixed in time) below this blocks it.
    pub min_sla_percent: f64,
    pub weights: RemovalWeights,
}

/// `[removal.weights]`: how much each factor counts; they add up to 100.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RemovalWeights {
    pub evaluation: f64,
    pub reports: f64,
    pub incidents: f64,
    pub sla: f64,
    pub maturity: f64,
}

impl RemovalWeights {
    pub fn of(&self, factor: Factor) -> f64 {
        match factor {
            Factor::Evaluation => self.evaluation,
            Factor::Reports => self.reports,
            Factor::Incidents => self.incidents,
            Factor::Sla => self.sla,
            Factor::Maturity => self.maturity,
        }
    }
}

/// The problems of a `[removal]` section: (field path, message).
pub(crate) fn problems(p: &RemovalPolicy) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let share = |v: f64| v.is_finite() && (0.0..=100.0).contains(&v);
    for (key, v) in [
        ("min_score", p.min_score),
        ("incident_penalty", p.incident_penalty),
        ("refused_immunity_penalty", p.refused_immunity_penalty),
        ("min_sla_percent", p.min_sla_percent),
    ] {
        if !share(v) {
            out.push((
                format!("removal.{key}"),
                format!("{v} is outside 0-100 (points of a score of 100)"),
            ));
        }
    }
    let mut sum = 0.0;
    for f in Factor::ALL {
        let w = p.weights.of(f);
        if !share(w) {
            out.push((
                format!("removal.weights.{}", f.as_str()),
                format!("{w} is outside 0-100"),
            ));
        }
        sum += w;
    }
    if (sum - 100.0).abs() > 1e-6 {
        out.push((
            "removal.weights".to_string(),
            format!("the weights add up to {sum}; they must add up to 100"),
        ));
    }
    out
}

/// The factors of the ranking, in the order they are shown.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    Evaluation,
    Reports,
    Incidents,
    Sla,
    Maturity,
}

impl Factor {
    pub const ALL: [Factor; 5] = [
        Factor::Evaluation,
        Factor::Reports,
        Factor::Incidents,
        Factor::Sla,
        Factor::Maturity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Factor::Evaluation => "evaluation",
            Factor::Reports => "reports",
            Factor::Incidents => "incidents",
            Factor::Sla => "sla",
            Factor::Maturity => "maturity",
        }
    }

    pub fn label_ko(self) -> &'static str {
        match self {
            Factor::Evaluation => "전문가 평가",
            Factor::Reports => "보고 의무 이행",
            Factor::Incidents => "사고·면책",
            Factor::Sla => "패치 기한 준수",
            Factor::Maturity => "자체 성숙도",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Factor::Evaluation => "Expert evaluation",
            Factor::Reports => "Reporting compliance",
            Factor::Incidents => "Incidents and immunity",
            Factor::Sla => "Patch SLA",
            Factor::Maturity => "Self-assessed maturity",
        }
    }
}

/// What the program knows of one candidate.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RemovalInput {
    pub institution_id: i64,
    /// The overall score of its latest evaluation, on the policy's scale (1 to the top level).
    pub evaluation_score: Option<f64>,
    /// Reporting obligations whose due day has passed or that were submitted.
    pub reports_due: u32,
    /// Of those, submitted on or before the due day.
    pub reports_on_time: u32,
    pub reports_accepted: u32,
    /// Due day passed, not submitted (or returned and not resubmitted).
    pub reports_overdue: u32,
    pub incidents: u32,
    pub immunity_granted: u32,
    pub immunity_refused: u32,
    /// Findings fixed within their SLA.
    pub sla_met: u64,
    /// Findings fixed late, or open past their due day.
    pub sla_missed: u64,
    /// The mean of its self-assessment levels (1 to the top level).
    pub maturity: Option<f64>,
}

/// One factor of a candidate: its value (0-100), weight, contribution and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FactorScore {
    pub factor: Factor,
    /// What was observed, as a short figure (e.g. "3.4 / 4", "2 / 3", "95.0%").
    pub observed: String,
    pub value: f64,
    pub weight: f64,
    pub contribution: f64,
    pub reason: Reason,
}

/// A ranked candidate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RankedCandidate {
    pub institution_id: i64,
    /// 1 is the best candidate.
    pub rank: u32,
    pub score: f64,
    pub ready: bool,
    pub factors: Vec<FactorScore>,
    /// The verdict first, then what blocks it, if anything.
    pub reasons: Vec<Reason>,
    pub policy_version: i64,
}

/// Input the ranking cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemovalError {
    #[error("the policy (version {0}) has no [removal] section")]
    NoPolicy(i64),
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn clamp(v: f64) -> f64 {
    v.clamp(0.0, 100.0)
}

/// The top level of the evaluation scale (4 in the default policy).
fn scale_top(policy: &Policy) -> f64 {
    f64::from(
        policy
            .evaluation
            .scale
            .iter()
            .map(|l| l.level)
            .max()
            .unwrap_or(4)
            .max(2),
    )
}

fn on_scale(v: f64, top: f64) -> f64 {
    clamp((v - 1.0) / (top - 1.0) * 100.0)
}

fn factor(
    p: &RemovalPolicy,
    f: Factor,
    observed: String,
    value: f64,
    reason: Reason,
) -> FactorScore {
    let weight = p.weights.of(f);
    let value = round1(clamp(value));
    FactorScore {
        factor: f,
        observed,
        value,
        weight,
        contribution: round1(value * weight / 100.0),
        reason,
    }
}

/// The factors of one candidate, and what blocks it.
fn score(policy: &Policy, p: &RemovalPolicy, c: &RemovalInput) -> (Vec<FactorScore>, Vec<Reason>) {
    let top = scale_top(policy);
    let mut blockers = Vec::new();
    let evaluation = match c.evaluation_score {
        Some(s) => factor(
            p,
            Factor::Evaluation,
            format!("{s:.2} / {top}"),
            on_scale(s, top),
            Reason::new(
                "evaluation",
                format!("전문가 평가 종합 점수 {s:.2}점({top}점 척도)."),
                format!("Expert evaluation overall score {s:.2} on the {top}-level scale."),
            ),
        ),
        None => factor(
            p,
            Factor::Evaluation,
            "—".into(),
            0.0,
            Reason::new(
                "evaluation_missing",
                "전문가 평가 결과가 없어 반영하지 않았습니다(0점).",
                "No expert evaluation: no credit (0).",
            ),
        ),
    };
    let reports = if c.reports_due == 0 {
        factor(
            p,
            Factor::Reports,
            "0 / 0".into(),
            100.0,
            Reason::new(
                "reports_none_due",
                "아직 기한이 된 보고가 없어 지연도 없습니다.",
                "No report has fallen due yet, so none was late.",
            ),
        )
    } else {
        factor(
            p,
            Factor::Reports,
            format!("{} / {}", c.reports_on_time, c.reports_due),
            f64::from(c.reports_on_time) / f64::from(c.reports_due) * 100.0,
            Reason::new(
                "reports",
                format!(
                    "기한이 된 보고 {}건 중 {}건 기한 내 제출, {}건 수리, {}건 기한 경과 미제출.",
                    c.reports_due, c.reports_on_time, c.reports_accepted, c.reports_overdue
                ),
                format!(
                    "{} of {} reports due were submitted on time, {} accepted, {} overdue.",
                    c.reports_on_time, c.reports_due, c.reports_accepted, c.reports_overdue
                ),
            ),
        )
    };
    if c.reports_overdue > p.max_overdue_reports {
        blockers.push(Reason::new(
            "blocked_overdue_reports",
            format!(
                "기한이 지난 미제출 보고가 {}건으로 허용 한도 {}건을 넘습니다.",
                c.reports_overdue, p.max_overdue_reports
            ),
            format!(
                "{} reports are overdue, more than the {} allowed.",
                c.reports_overdue, p.max_overdue_reports
            ),
        ));
    }
    let lost = f64::from(c.incidents) * p.incident_penalty
        + f64::from(c.immunity_refused) * p.refused_immunity_penalty;
    let incidents = factor(
        p,
        Factor::Incidents,
        format!("{} / {}", c.incidents, c.immunity_refused),
        100.0 - lost,
        Reason::new(
            "incidents",
            format!(
                "전산사고 {}건(건당 -{}점), 면책 불인정 {}건(건당 -{}점), 면책 인정 {}건(감점 없음).",
                c.incidents,
                p.incident_penalty,
                c.immunity_refused,
                p.refused_immunity_penalty,
                c.immunity_granted
            ),
            format!(
                "{} incidents (-{} each), {} immunity refused (-{} each), {} granted (no deduction).",
                c.incidents,
                p.incident_penalty,
                c.immunity_refused,
                p.refused_immunity_penalty,
                c.immunity_granted
            ),
        ),
    );
    let due = c.sla_met + c.sla_missed;
    let sla = if due == 0 {
        factor(
            p,
            Factor::Sla,
            "—".into(),
            0.0,
            Reason::new(
                "sla_missing",
                "기한이 된 패치 기록이 없어 반영하지 않았습니다(0점).",
                "No patch has fallen due: no credit (0).",
            ),
        )
    } else {
        // Counts of findings are far below 2^52: exact as floating point.
        #[allow(clippy::cast_precision_loss)]
        let rate = c.sla_met as f64 / due as f64 * 100.0;
        if rate < p.min_sla_percent {
            blockers.push(Reason::new(
                "blocked_sla",
                format!(
                    "패치 기한 준수율 {rate:.1}%가 최저 기준 {}%에 못 미칩니다.",
                    p.min_sla_percent
                ),
                format!(
                    "A patch-SLA rate of {rate:.1}% is below the floor of {}%.",
                    p.min_sla_percent
                ),
            ));
        }
        factor(
            p,
            Factor::Sla,
            format!("{rate:.1}%"),
            rate,
            Reason::new(
                "sla",
                format!(
                    "기한이 된 취약점 {due}건 중 {}건을 기한 내 조치({rate:.1}%).",
                    c.sla_met
                ),
                format!(
                    "{} of {due} findings due were fixed within their SLA ({rate:.1}%).",
                    c.sla_met
                ),
            ),
        )
    };
    let maturity = match c.maturity {
        Some(m) => factor(
            p,
            Factor::Maturity,
            format!("{m:.2} / {top}"),
            on_scale(m, top),
            Reason::new(
                "maturity",
                format!("자체 평가 성숙도 평균 {m:.2}({top}단계)."),
                format!("Self-assessed maturity averages {m:.2} of {top}."),
            ),
        ),
        None => factor(
            p,
            Factor::Maturity,
            "—".into(),
            0.0,
            Reason::new(
                "maturity_missing",
                "자체 평가가 없어 반영하지 않았습니다(0점).",
                "No self-assessment: no credit (0).",
            ),
        ),
    };
    (
        vec![evaluation, reports, incidents, sla, maturity],
        blockers,
    )
}

/// Ranks the candidates: ready ones first, then by score (highest first), then by id.
pub fn rank(
    policy: &Policy,
    candidates: &[RemovalInput],
) -> Result<Vec<RankedCandidate>, RemovalError> {
    let p = policy
        .removal
        .as_ref()
        .ok_or(RemovalError::NoPolicy(policy.version))?;
    let mut out: Vec<RankedCandidate> = candidates
        .iter()
        .map(|c| {
            let (factors, blockers) = score(policy, p, c);
            let score = round1(factors.iter().map(|f| f.contribution).sum());
            let ready = score >= p.min_score && blockers.is_empty();
            let verdict = if ready {
                Reason::new(
                    "ready",
                    format!(
                        "종합 {score:.1}점으로 기준 {}점 이상이고 제한 사유가 없습니다.",
                        p.min_score
                    ),
                    format!(
                        "A score of {score:.1} reaches the {} required, and nothing blocks it.",
                        p.min_score
                    ),
                )
            } else if score < p.min_score {
                Reason::new(
                    "below_min_score",
                    format!(
                        "종합 {score:.1}점으로 기준 {}점에 못 미칩니다.",
                        p.min_score
                    ),
                    format!(
                        "A score of {score:.1} is below the {} required.",
                        p.min_score
                    ),
                )
            } else {
                Reason::new(
                    "blocked",
                    format!(
                        "종합 {score:.1}점으로 기준 {}점 이상이지만 제한 사유가 있습니다.",
                        p.min_score
                    ),
                    format!(
                        "A score of {score:.1} reaches the {} required, but something blocks it.",
                        p.min_score
                    ),
                )
            };
            let mut reasons = vec![verdict];
            reasons.extend(blockers);
            RankedCandidate {
                institution_id: c.institution_id,
                rank: 0,
                score,
                ready,
                factors,
                reasons,
                policy_version: policy.version,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.ready
            .cmp(&a.ready)
            .then(b.score.total_cmp(&a.score))
            .then(a.institution_id.cmp(&b.institution_id))
    });
    for (i, c) in out.iter_mut().enumerate() {
        c.rank = u32::try_from(i + 1).unwrap_or(u32::MAX);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        let mut p = Policy::default_policy();
        p.version = 7;
        p
    }

    fn strong(id: i64) -> RemovalInput {
        RemovalInput {
            institution_id: id,
            evaluation_score: Some(3.7),
            reports_due: 2,
            reports_on_time: 2,
            reports_accepted: 2,
            reports_overdue: 0,
            incidents: 0,
            immunity_granted: 1,
            immunity_refused: 0,
            sla_met: 19,
            sla_missed: 1,
            maturity: Some(3.5),
        }
    }

    fn of(c: &RankedCandidate, f: Factor) -> &FactorScore {
        c.factors.iter().find(|x| x.factor == f).unwrap()
    }

    #[test]
    fn the_default_policy_weights_add_up_to_100() {
        let p = policy();
        let r = p
            .removal
            .as_ref()
            .expect("the default policy has [removal]");
        let sum: f64 = Factor::ALL.iter().map(|f| r.weights.of(*f)).sum();
        assert!((sum - 100.0).abs() < 1e-9, "{sum}");
        assert!(problems(r).is_empty());
    }

    #[test]
    fn each_factor_contributes_its_value_times_its_weight() {
        let p = policy();
        let w = p.removal.as_ref().unwrap().weights;
        let ranked = rank(&p, &[strong(1)]).unwrap();
        let c = &ranked[0];
        assert_eq!(c.policy_version, 7);
        assert_eq!(c.rank, 1);
        // 3.7 on a 1-4 scale is 90% of the way.
        assert!((of(c, Factor::Evaluation).value - 90.0).abs() < 1e-9);
        assert!((of(c, Factor::Reports).value - 100.0).abs() < 1e-9);
        assert!((of(c, Factor::Sla).value - 95.0).abs() < 1e-9);
        assert!((of(c, Factor::Maturity).value - 83.3).abs() < 1e-9);
        let expected = 90.0 * w.evaluation / 100.0
            + 100.0 * w.reports / 100.0
            + 100.0 * w.incidents / 100.0
            + 95.0 * w.sla / 100.0
            + 83.3 * w.maturity / 100.0;
        assert!(
            (c.score - round1(expected)).abs() < 0.11,
            "{} vs {expected}",
            c.score
        );
        assert!(c.ready);
        assert_eq!(c.reasons[0].code, "ready");
        assert!(of(c, Factor::Sla).reason.en.contains("19 of 20"));
    }

    #[test]
    fn incidents_and_refused_immunity_count_against() {
        let p = policy();
        let r = p.removal.clone().unwrap();
        let mut worse = strong(2);
        worse.incidents = 1;
        worse.immunity_refused = 1;
        let ranked = rank(&p, &[worse, strong(1)]).unwrap();
        assert_eq!(ranked[0].institution_id, 1, "the clean record ranks first");
        let v = of(&ranked[1], Factor::Incidents).value;
        assert!(
            (v - clamp(100.0 - r.incident_penalty - r.refused_immunity_penalty)).abs() < 1e-9,
            "{v}"
        );
        assert!(of(&ranked[1], Factor::Incidents)
            .reason
            .ko
            .contains("면책 불인정 1건"));
    }

    #[test]
    fn overdue_reports_and_a_low_sla_block_even_a_high_score() {
        let p = policy();
        let r = p.removal.clone().unwrap();
        let mut late = strong(3);
        late.reports_overdue = r.max_overdue_reports + 1;
        late.reports_due = 3;
        late.reports_on_time = 2;
        let mut slow = strong(4);
        slow.sla_met = 1;
        slow.sla_missed = 9;
        let ranked = rank(&p, &[late, slow, strong(5)]).unwrap();
        assert_eq!(ranked[0].institution_id, 5);
        let late = ranked.iter().find(|c| c.institution_id == 3).unwrap();
        assert!(!late.ready);
        assert!(late
            .reasons
            .iter()
            .any(|x| x.code == "blocked_overdue_reports"));
        let slow = ranked.iter().find(|c| c.institution_id == 4).unwrap();
        assert!(!slow.ready);
        assert!(slow.reasons.iter().any(|x| x.code == "blocked_sla"));
    }

    #[test]
    fn no_evidence_gives_no_credit_and_says_so() {
        let p = policy();
        let bare = RemovalInput {
            institution_id: 9,
            ..RemovalInput::default()
        };
        let ranked = rank(&p, &[bare]).unwrap();
        let c = &ranked[0];
        assert_eq!(of(c, Factor::Evaluation).contribution, 0.0);
        assert_eq!(of(c, Factor::Evaluation).reason.code, "evaluation_missing");
        assert_eq!(of(c, Factor::Sla).reason.code, "sla_missing");
        assert_eq!(of(c, Factor::Maturity).reason.code, "maturity_missing");
        assert!(!c.ready);
        assert_eq!(c.reasons[0].code, "below_min_score");
    }

    #[test]
    fn the_threshold_is_inclusive() {
        let mut p = policy();
        let ranked = rank(&p, &[strong(1)]).unwrap();
        let at = ranked[0].score;
        p.removal.as_mut().unwrap().min_score = at;
        assert!(rank(&p, &[strong(1)]).unwrap()[0].ready);
        p.removal.as_mut().unwrap().min_score = at + 0.1;
        assert!(!rank(&p, &[strong(1)]).unwrap()[0].ready);
    }

    #[test]
    fn a_policy_without_the_section_cannot_rank() {
        let mut p = policy();
        p.removal = None;
        assert_eq!(rank(&p, &[strong(1)]), Err(RemovalError::NoPolicy(7)));
    }

    #[test]
    fn weights_that_do_not_add_up_are_refused_with_their_path() {
        let mut r = policy().removal.unwrap();
        r.weights.sla += 5.0;
        r.min_score = 120.0;
        let found = problems(&r);
        assert!(found.iter().any(|(path, _)| path == "removal.weights"));
        assert!(found.iter().any(|(path, _)| path == "removal.min_score"));
    }
}
