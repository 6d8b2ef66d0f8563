//! C11 classification of computing resources into C/S/O by the policy's rules.
//!
//! Every matching rule is reported; the highest class wins (a resource holding several kinds of
//! data is as sensitive as the most sensitive of them), and among the rules of that class the
//! first in policy order is the one that decided.

use serde::{Deserialize, Serialize};

use crate::model::{DataKind, NetworkZone, ResourceClass, ResourceCondition};
use crate::{Policy, Reason};

/// What the inventory knows about a resource.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ResourceFacts {
    /// server, application, network_device, cloud_service, saas, …
    pub kind: String,
    pub network_zone: NetworkZone,
    pub processes_electronic_transactions: bool,
    /// core_ledger, payment, trading, or any other function name.
    pub business_function: String,
    pub data_kinds: Vec<DataKind>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MatchedRule {
    pub rule: String,
    pub class: ResourceClass,
    pub label_ko: String,
    pub label_en: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Classification {
    pub class: ResourceClass,
    /// The rule (or the default's id) that decided the class.
    pub decided_by: String,
    /// Every rule that matched, in policy order.
    pub matched: Vec<MatchedRule>,
    pub reasons: Vec<Reason>,
    pub policy_version: i64,
}

pub fn classify(policy: &Policy, resource: &ResourceFacts) -> Classification {
    let k = &policy.classification;
    let matched: Vec<MatchedRule> = k
        .rules
        .iter()
        .filter(|rule| matches(&rule.when, resource))
        .map(|rule| MatchedRule {
            rule: rule.id.clone(),
            class: rule.class,
            label_ko: rule.label_ko.clone(),
            label_en: rule.label_en.clone(),
        })
        .collect();

    // `max_by_key` keeps the last maximum; iterate in reverse so the first rule of the highest
    // class decides.
    let decider = matched.iter().rev().max_by_key(|m| m.class);
    let (class, decided_by, mut reasons) = match decider {
        Some(d) => (
            d.class,
            d.rule.clone(),
            vec![Reason::new(
                "decided_by_rule",
                format!(
                    "{}({}) — 규칙 `{}`: {}",
                    d.class.label_ko(),
                    d.class.as_str(),
                    d.rule,
                    d.label_ko
                ),
                format!(
                    "{} ({}) by rule `{}`: {}",
                    d.class.label_en(),
                    d.class.as_str(),
                    d.rule,
                    d.label_en
                ),
            )],
        ),
        None => (
            k.default.class,
            k.default.id.clone(),
            vec![Reason::new(
                "no_rule_matched",
                format!("일치하는 규칙 없음 — 기본값: {}", k.default.label_ko),
                format!("No rule matched; default: {}", k.default.label_en),
            )],
        ),
    };
    for m in matched.iter().filter(|m| m.rule != decided_by) {
        reasons.push(Reason::new(
            "also_matched",
            format!(
                "규칙 `{}`({})도 일치: {}",
                m.rule,
                m.class.as_str(),
                m.label_ko
            ),
            format!(
                "Rule `{}` ({}) also matched: {}",
                m.rule,
                m.class.as_str(),
                m.label_en
            ),
        ));
    }
    Classification {
        class,
        decided_by,
        matched,
        reasons,
        policy_version: policy.version,
    }
}

fn matches(when: &ResourceCondition, r: &ResourceFacts) -> bool {
    when.kind.as_ref().is_none_or(|any| any.contains(&r.kind))
        && when
            .network_zone
            .as_ref()
            .is_none_or(|any| any.contains(&r.network_zone))
        && when
            .processes_electronic_transactions
            .is_none_or(|want| want == r.processes_electronic_transactions)
        && when
            .business_function
            .as_ref()
            .is_none_or(|any| any.contains(&r.business_function))
        && when
            .data_kinds
            .as_ref()
            .is_none_or(|any| r.data_kinds.iter().any(|d| any.contains(d)))
}
