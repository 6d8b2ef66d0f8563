//! C8 sanction immunity: whether a disruption caused by a security activity is a "minor
//! disruption" that the FSC's 30 June 2026 measure exempts from sanctions.
//!
//! The committee decides; this module evaluates the policy criteria and shows each with its
//! evidence, so the committee sees what the rules say.

use serde::{Deserialize, Serialize};

use crate::model::{ActivityKind, Safeguard};
use crate::rule::{Fact, Facts, FieldType, RuleOutcome};
use crate::{Policy, Reason};

/// The fields immunity criteria may name, with their types.
pub const FIELDS: &[(&str, FieldType)] = &[
    ("intent", FieldType::Bool),
    ("financial_damage_krw", FieldType::Int),
    ("outage_minutes", FieldType::Int),
    ("leaked_customer_records", FieldType::Int),
    ("personal_credit_info_leaked", FieldType::Bool),
];

/// What the institution's disruption report says.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImmunityFacts {
    pub activity: ActivityKind,
    /// For an emergency patch: the vulnerability was disseminated by the FSC, FSS or FSI.
    pub advisory_disseminated_by_authority: bool,
    pub intent: bool,
    pub financial_damage_krw: i64,
    pub outage_minutes: i64,
    pub leaked_customer_records: i64,
    pub personal_credit_info_leaked: bool,
    // The work plan that existed beforehand.
    pub pre_testing: bool,
    pub spread_prevention: bool,
    pub service_continuity: bool,
    pub customer_advance_notice: bool,
    // What was done after the disruption.
    pub prompt_recovery: bool,
    pub consumer_protection: bool,
}

impl ImmunityFacts {
    pub fn safeguard(&self, item: Safeguard) -> bool {
        match item {
            Safeguard::PreTesting => self.pre_testing,
            Safeguard::SpreadPrevention => self.spread_prevention,
            Safeguard::ServiceContinuity => self.service_continuity,
            Safeguard::CustomerAdvanceNotice => self.customer_advance_notice,
            Safeguard::PromptRecovery => self.prompt_recovery,
            Safeguard::ConsumerProtection => self.consumer_protection,
        }
    }
}

impl Facts for ImmunityFacts {
    fn fact(&self, field: &str) -> Option<Fact> {
        Some(match field {
            "intent" => Fact::Bool(self.intent),
            "financial_damage_krw" => Fact::Int(self.financial_damage_krw),
            "outage_minutes" => Fact::Int(self.outage_minutes),
            "leaked_customer_records" => Fact::Int(self.leaked_customer_records),
            "personal_credit_info_leaked" => Fact::Bool(self.personal_credit_info_leaked),
            _ => return None,
        })
    }
}

/// A required precaution and whether it was in place.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SafeguardOutcome {
    pub id: Safeguard,
    pub label_ko: String,
    pub label_en: String,
    pub present: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImmunityDecision {
    /// In scope, every criterion passed and every required safeguard present.
    pub eligible: bool,
    pub in_scope: bool,
    pub criteria: Vec<RuleOutcome>,
    pub work_plan: Vec<SafeguardOutcome>,
    pub post_event: Vec<SafeguardOutcome>,
    /// The scope finding first, then one reason per failure (or one saying all passed).
    pub reasons: Vec<Reason>,
    pub policy_version: i64,
}

pub fn evaluate(policy: &Policy, facts: &ImmunityFacts) -> ImmunityDecision {
    let m = &policy.immunity;
    let mut reasons = Vec::new();

    let listed = m.scope.contains(&facts.activity);
    let needs_advisory = facts.activity == ActivityKind::EmergencyPatch
        && m.emergency_patch_requires_authority_advisory
        && !facts.advisory_disseminated_by_authority;
    let in_scope = listed && !needs_advisory;
    reasons.push(if !listed {
        Reason::new(
            "activity_out_of_scope",
            format!("`{}` 활동은 면책 대상이 아님", facts.activity.as_str()),
            format!(
                "Activity `{}` is not within the immunity scope",
                facts.activity.as_str()
            ),
        )
    } else if needs_advisory {
        Reason::new(
            "advisory_not_from_authority",
            "금융당국(금융위·금감원·금융보안원)이 전파한 취약점에 대한 긴급 보안패치가 아님",
            "The emergency patch is not for a vulnerability disseminated by the FSC, FSS or FSI",
        )
    } else {
        Reason::new(
            "in_scope",
            "면책 대상 활동",
            "The activity is within the immunity scope",
        )
    });

    let criteria: Vec<RuleOutcome> = m.criteria.iter().map(|r| r.check(facts)).collect();
    for failed in criteria.iter().filter(|c| !c.passed) {
        reasons.push(Reason::new(
            "criterion_failed",
            format!(
                "기준 미충족: {} (확인값 {})",
                failed.label_ko, failed.observed
            ),
            format!(
                "Criterion not met: {} (observed {})",
                failed.label_en, failed.observed
            ),
        ));
    }

    let outcomes = |items: &[crate::model::SafeguardItem]| -> Vec<SafeguardOutcome> {
        items
            .iter()
            .map(|item| SafeguardOutcome {
                id: item.id,
                label_ko: item.label_ko.clone(),
                label_en: item.label_en.clone(),
                present: facts.safeguard(item.id),
            })
            .collect()
    };
    let work_plan = outcomes(&m.work_plan);
    let post_event = outcomes(&m.post_event);
    for (code, list) in [
        ("work_plan_item_missing", &work_plan),
        ("post_event_action_missing", &post_event),
    ] {
        for missing in list.iter().filter(|s| !s.present) {
            reasons.push(Reason::new(
                code,
                format!("필수 조치 없음: {}", missing.label_ko),
                format!("Required measure missing: {}", missing.label_en),
            ));
        }
    }

    let eligible = in_scope
        && criteria.iter().all(|c| c.passed)
        && work_plan.iter().chain(&post_event).all(|s| s.present);
    if eligible {
        reasons.push(Reason::new(
            "all_criteria_met",
            "모든 면책 기준과 필수 조치를 충족",
            "Every immunity criterion and required measure is met",
        ));
    }
    ImmunityDecision {
        eligible,
        in_scope,
        criteria,
        work_plan,
        post_event,
        reasons,
        policy_version: policy.version,
    }
}
