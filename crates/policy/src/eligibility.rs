//! C2 eligibility screening: every `[eligibility]` rule applied to one institution's figures.
//!
//! The service supplies the figures through [`Facts`]; this module does not know the registry.

use serde::{Deserialize, Serialize};

use crate::rule::{Facts, FieldType, RuleOutcome};
use crate::Policy;

/// The institution fields a rule may name, with their types. The service must provide each.
pub const FIELDS: &[(&str, FieldType)] = &[
    ("total_assets_krw", FieldType::Int),
    ("full_time_employees", FieldType::Int),
    ("dedicated_ciso", FieldType::Bool),
    ("sector", FieldType::Text),
    ("size_class", FieldType::Text),
];

/// The outcome of screening one institution: eligible only if every rule passed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EligibilityDecision {
    pub eligible: bool,
    pub policy_version: i64,
    /// Every rule in policy order, passed or not.
    pub rules: Vec<RuleOutcome>,
}

impl EligibilityDecision {
    /// The ids of the rules that failed (the reasons for ineligibility).
    pub fn failed_rules(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|r| !r.passed)
            .map(|r| r.rule.as_str())
            .collect()
    }
}

/// Screens one institution. A missing figure fails its rule (observed `null`).
pub fn screen(policy: &Policy, facts: &impl Facts) -> EligibilityDecision {
    let rules: Vec<RuleOutcome> = policy
        .eligibility
        .rules
        .iter()
        .map(|r| r.check(facts))
        .collect();
    EligibilityDecision {
        eligible: rules.iter().all(|r| r.passed),
        policy_version: policy.version,
        rules,
    }
}
