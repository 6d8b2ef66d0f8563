//! haechi-policy: the program policy (SPEC §5) and the decisions made from it.
//!
//! One TOML document ([`Policy`]) holds every number of the relief program: eligibility rules,
//! phases, evaluation pass marks, reporting clocks, immunity criteria, resource classes, the
//! patch-priority table and sharing thresholds. It is validated on load, with errors that name a
//! field path and a line. The engines (one module each) are pure functions of a policy and a
//! small input type defined here; each returns a serialisable decision carrying its reasons, the
//! id of the rule or row that decided it and the `policy_version` it was made under.
//!
//! This crate must not do I/O, know about storage, HTTP or other Haechi crates: the service maps
//! its records into the input types here and stores the decisions as JSON.

pub mod anonymity;
pub mod classification;
pub mod cluster;
pub mod cohort;
pub mod eligibility;
pub mod evaluation;
pub mod immunity;
pub mod incident;
mod load;
pub mod model;
pub mod priority;
pub mod program;
pub mod removal;
pub mod reporting;
pub mod rule;
mod validate;
pub mod weakness;

use serde::{Deserialize, Serialize};

pub use load::{PolicyError, PolicyErrorKind, PolicyErrors};
pub use model::*;
pub use rule::{Comparison, Fact, Facts, Rule, RuleOutcome, Scalar};
pub use validate::Violation;

/// The default policy document, embedded so the binary needs no file to start.
pub const DEFAULT_POLICY_TOML: &str = include_str!("../../../policy/default.toml");

impl Policy {
    /// Parses and validates a policy document. `version` is 0: the store sets it.
    pub fn from_toml_str(text: &str) -> Result<Policy, PolicyErrors> {
        load::parse(text)
    }

    /// The embedded default policy ([`DEFAULT_POLICY_TOML`]); a test keeps it valid.
    pub fn default_policy() -> Policy {
        match Policy::from_toml_str(DEFAULT_POLICY_TOML) {
            Ok(policy) => policy,
            // The default is checked by this crate's tests; reaching this means the file was
            // edited without running them. Refusing to start is the only honest answer.
            #[allow(clippy::panic)]
            Err(e) => panic!("the embedded default policy is invalid: {e}"),
        }
    }

    /// The policy as a TOML document (comments are not kept; dates are written as strings).
    pub fn to_toml_string(&self) -> Result<String, toml::ser::Error> {
        toml::to_string_pretty(self)
    }

    /// The phase with this id.
    pub fn phase(&self, id: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.id == id)
    }

    /// The phase whose window (inclusive) contains `day`.
    pub fn phase_on(&self, day: chrono::NaiveDate) -> Option<&Phase> {
        self.phases.iter().find(|p| p.start <= day && day <= p.end)
    }
}

/// A reason given for a decision, with a stable code and a sentence in Korean and English.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reason {
    pub code: String,
    pub ko: String,
    pub en: String,
}

impl Reason {
    pub(crate) fn new(code: &str, ko: impl Into<String>, en: impl Into<String>) -> Reason {
        Reason {
            code: code.to_string(),
            ko: ko.into(),
            en: en.into(),
        }
    }
}

/// Input an engine cannot decide on. Codes are stable and machine-readable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    #[error("no phase `{0}` in the policy")]
    UnknownPhase(String),
    #[error("no reviewer scores were given")]
    NoScores,
    #[error("reviewer {reviewer} is listed twice")]
    DuplicateReviewer { reviewer: i64 },
    #[error("reviewer {reviewer} scored unknown criterion `{criterion}`")]
    UnknownCriterion { reviewer: i64, criterion: String },
    #[error("reviewer {reviewer} scored criterion `{criterion}` more than once")]
    DuplicateScore { reviewer: i64, criterion: String },
    #[error("reviewer {reviewer} gave {score} on `{criterion}`, outside the scale 1..={top}")]
    ScoreOutsideScale {
        reviewer: i64,
        criterion: String,
        score: u8,
        top: u8,
    },
    #[error("reviewer {reviewer} did not score {}", .missing.join(", "))]
    IncompleteScores { reviewer: i64, missing: Vec<String> },
    #[error("no priority row matched (the policy has no catch-all row)")]
    NoPriorityRow,
    #[error("the policy has no SLA for {0}")]
    MissingSla(String),
    #[error("the period ends ({end}) before it starts ({start})")]
    InvalidPeriod {
        start: chrono::NaiveDate,
        end: chrono::NaiveDate,
    },
}

impl DecisionError {
    pub fn code(&self) -> &'static str {
        match self {
            DecisionError::UnknownPhase(_) => "unknown_phase",
            DecisionError::NoScores => "no_scores",
            DecisionError::DuplicateReviewer { .. } => "duplicate_reviewer",
            DecisionError::UnknownCriterion { .. } => "unknown_criterion",
            DecisionError::DuplicateScore { .. } => "duplicate_score",
            DecisionError::ScoreOutsideScale { .. } => "score_outside_scale",
            DecisionError::IncompleteScores { .. } => "incomplete_scores",
            DecisionError::NoPriorityRow => "no_priority_row",
            DecisionError::MissingSla(_) => "missing_sla",
            DecisionError::InvalidPeriod { .. } => "invalid_period",
        }
    }
}
