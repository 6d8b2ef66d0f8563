//! Threshold rules shared by eligibility (C2) and immunity (C8): a field, a comparison and a
//! threshold, evaluated against facts the caller supplies.
//!
//! This module knows nothing about where facts come from; the service maps its records into
//! [`Facts`]. A rule never panics on a fact of the wrong type: it fails, and says so.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// A scalar value: a fact about a case, or a rule's threshold.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Scalar {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

/// A fact about a case (an institution's figure, an incident's measure).
pub type Fact = Scalar;

impl Scalar {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Scalar::Int(v) => serde_json::Value::from(*v),
            Scalar::Float(v) => serde_json::Value::from(*v),
            Scalar::Bool(v) => serde_json::Value::from(*v),
            Scalar::Text(v) => serde_json::Value::from(v.as_str()),
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Scalar::Int(v) => Some(*v as f64),
            Scalar::Float(v) => Some(*v),
            _ => None,
        }
    }

    pub(crate) fn kind(&self) -> FieldType {
        match self {
            Scalar::Int(_) => FieldType::Int,
            Scalar::Float(_) => FieldType::Float,
            Scalar::Bool(_) => FieldType::Bool,
            Scalar::Text(_) => FieldType::Text,
        }
    }
}

/// Where a rule finds its facts.
pub trait Facts {
    /// The value of `field`, or `None` when it is unknown (the rule then fails).
    fn fact(&self, field: &str) -> Option<Fact>;
}

impl Facts for BTreeMap<String, Fact> {
    fn fact(&self, field: &str) -> Option<Fact> {
        self.get(field).cloned()
    }
}

impl Facts for HashMap<String, Fact> {
    fn fact(&self, field: &str) -> Option<Fact> {
        self.get(field).cloned()
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Ne,
    IsTrue,
    IsFalse,
}

impl Comparison {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Ge => "ge",
            Comparison::Gt => "gt",
            Comparison::Le => "le",
            Comparison::Lt => "lt",
            Comparison::Eq => "eq",
            Comparison::Ne => "ne",
            Comparison::IsTrue => "is_true",
            Comparison::IsFalse => "is_false",
        }
    }

    /// Ordering comparisons need a number; `is_true`/`is_false` need no threshold.
    pub(crate) fn needs_threshold(self) -> bool {
        !matches!(self, Comparison::IsTrue | Comparison::IsFalse)
    }

    pub(crate) fn is_ordering(self) -> bool {
        matches!(
            self,
            Comparison::Ge | Comparison::Gt | Comparison::Le | Comparison::Lt
        )
    }
}

/// A threshold rule as written in the policy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub field: String,
    pub comparison: Comparison,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Scalar>,
    pub label_ko: String,
    pub label_en: String,
}

/// One rule applied to one case: what was seen, against what, and whether it passed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RuleOutcome {
    pub rule: String,
    pub label_ko: String,
    pub label_en: String,
    pub field: String,
    pub comparison: Comparison,
    /// `null` when the fact was missing.
    pub observed: serde_json::Value,
    /// `null` for `is_true` / `is_false`.
    pub threshold: serde_json::Value,
    pub passed: bool,
}

impl Rule {
    /// Applies the rule. A missing fact, or a fact of a type the comparison cannot use, fails.
    pub fn check(&self, facts: &dyn Facts) -> RuleOutcome {
        let observed = facts.fact(&self.field);
        let passed = observed
            .as_ref()
            .is_some_and(|seen| compare(seen, self.comparison, self.threshold.as_ref()));
        RuleOutcome {
            rule: self.id.clone(),
            label_ko: self.label_ko.clone(),
            label_en: self.label_en.clone(),
            field: self.field.clone(),
            comparison: self.comparison,
            observed: observed.map_or(serde_json::Value::Null, |v| v.to_json()),
            threshold: self
                .threshold
                .as_ref()
                .map_or(serde_json::Value::Null, Scalar::to_json),
            passed,
        }
    }
}

fn compare(seen: &Scalar, comparison: Comparison, threshold: Option<&Scalar>) -> bool {
    use std::cmp::Ordering;

    match comparison {
        Comparison::IsTrue => matches!(seen, Scalar::Bool(true)),
        Comparison::IsFalse => matches!(seen, Scalar::Bool(false)),
        _ => {
            let Some(threshold) = threshold else {
                return false;
            };
            // Integers compare exactly; a float on either side compares as f64.
            let ordering = match (seen, threshold) {
                (Scalar::Int(a), Scalar::Int(b)) => Some(a.cmp(b)),
                (Scalar::Bool(a), Scalar::Bool(b)) => Some(a.cmp(b)),
                (Scalar::Text(a), Scalar::Text(b)) => Some(a.cmp(b)),
                (a, b) => match (a.as_f64(), b.as_f64()) {
                    (Some(a), Some(b)) => a.partial_cmp(&b),
                    _ => None,
                },
            };
            let Some(ordering) = ordering else {
                return false;
            };
            let textual = matches!(seen, Scalar::Text(_) | Scalar::Bool(_));
            match comparison {
                Comparison::Eq => ordering == Ordering::Equal,
                Comparison::Ne => ordering != Ordering::Equal,
                // Ordering text or booleans has no meaning in a policy; validation rejects it.
                _ if textual => false,
                Comparison::Ge => ordering != Ordering::Less,
                Comparison::Gt => ordering == Ordering::Greater,
                Comparison::Le => ordering != Ordering::Greater,
                Comparison::Lt => ordering == Ordering::Less,
                Comparison::IsTrue | Comparison::IsFalse => false,
            }
        }
    }
}

/// The type of a fact field, so validation can check that a rule's comparison fits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Int,
    Float,
    Bool,
    Text,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Int => "integer",
            FieldType::Float => "number",
            FieldType::Bool => "boolean",
            FieldType::Text => "text",
        }
    }

    fn is_numeric(self) -> bool {
        matches!(self, FieldType::Int | FieldType::Float)
    }
}

/// What is wrong with a rule given the type of its field, if anything.
pub(crate) fn rule_problems(rule: &Rule, field_type: FieldType) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let comparison = rule.comparison;
    match (comparison.needs_threshold(), &rule.threshold) {
        (false, Some(_)) => problems.push((
            "threshold",
            format!("`{}` takes no threshold; remove it", comparison.as_str()),
        )),
        (true, None) => problems.push((
            "threshold",
            format!("`{}` needs a threshold", comparison.as_str()),
        )),
        _ => {}
    }
    match field_type {
        FieldType::Bool if comparison.is_ordering() => problems.push((
            "comparison",
            format!(
                "field `{}` is boolean; use is_true, is_false, eq or ne, not `{}`",
                rule.field,
                comparison.as_str()
            ),
        )),
        FieldType::Text if comparison.is_ordering() || !comparison.needs_threshold() => problems
            .push((
                "comparison",
                format!(
                    "field `{}` is text; use eq or ne, not `{}`",
                    rule.field,
                    comparison.as_str()
                ),
            )),
        FieldType::Int | FieldType::Float if !comparison.needs_threshold() => problems.push((
            "comparison",
            format!(
                "field `{}` is {}; `{}` applies to booleans only",
                rule.field,
                field_type.as_str(),
                comparison.as_str()
            ),
        )),
        _ => {}
    }
    if let Some(threshold) = &rule.threshold {
        let kind = threshold.kind();
        let fits = kind == field_type || (kind.is_numeric() && field_type.is_numeric());
        if !fits {
            problems.push((
                "threshold",
                format!(
                    "field `{}` is {} but the threshold is {}",
                    rule.field,
                    field_type.as_str(),
                    kind.as_str()
                ),
            ));
        }
    }
    problems
}
