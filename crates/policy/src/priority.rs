//! C13 patch priority: the policy's SSVC-style decision table applied to one finding, giving a
//! priority, its SLA and due date, and the row that decided.
//!
//! Feeds (KEV, EPSS, advisories) are read by the service; the helpers here only turn what it
//! found into the table's inputs, by the documented mappings.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::model::{
    Automatable, Exploitation, Exposure, NetworkZone, Priority, PriorityCondition, ResourceClass,
    Severity, WeaknessClass,
};
use crate::{DecisionError, Policy, Reason};

/// The decision table's inputs for one finding on one resource.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PriorityInputs {
    /// An FSC/FSS/FSI emergency patch advisory lists the vulnerability.
    pub authority_advisory: bool,
    pub exploitation: Exploitation,
    pub exposure: Exposure,
    pub automatable: Automatable,
    pub class: ResourceClass,
    pub severity: Severity,
    /// The exploitability class of the finding's CWEs (`unmapped` in decisions made before the
    /// input existed).
    #[serde(default)]
    pub weakness: WeaknessClass,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PriorityDecision {
    pub priority: Priority,
    pub sla_days: u32,
    /// `found_on` + `sla_days`.
    pub due_date: NaiveDate,
    /// Id of the row that decided.
    pub row: String,
    pub inputs: PriorityInputs,
    pub reasons: Vec<Reason>,
    pub policy_version: i64,
}

/// Applies the table: the first row whose conditions all hold decides. `found_on` is the day
/// the clock starts (the finding's discovery, or the decision if later facts changed it).
pub fn decide(
    policy: &Policy,
    inputs: &PriorityInputs,
    found_on: NaiveDate,
) -> Result<PriorityDecision, DecisionError> {
    let p = &policy.priority;
    let row = p
        .rows
        .iter()
        .find(|row| matches(&row.when, inputs))
        .ok_or(DecisionError::NoPriorityRow)?;
    let priority = row.priority;
    let (sla_days, by_class) = match p
        .sla_days_by_class
        .get(&inputs.class)
        .and_then(|t| t.get(&priority))
    {
        Some(days) => (*days, true),
        None => (
            *p.sla_days
                .get(&priority)
                .ok_or_else(|| DecisionError::MissingSla(priority.as_str().to_string()))?,
            false,
        ),
    };
    let due_date = found_on
        .checked_add_days(Days::new(sla_days.into()))
        .unwrap_or(NaiveDate::MAX);
    let sla_ko = if by_class {
        format!("{}등급 자원 기준 ", inputs.class.as_str())
    } else {
        String::new()
    };
    let sla_en = if by_class {
        format!(" for class {}", inputs.class.as_str())
    } else {
        String::new()
    };
    let reasons = vec![
        Reason::new(
            "row_matched",
            format!("결정표 `{}` 행 일치 → {}", row.id, priority.as_str()),
            format!("Decision row `{}` matched -> {}", row.id, priority.as_str()),
        ),
        Reason::new(
            "sla",
            format!("{sla_ko}{}일 이내 조치, 기한 {due_date}", sla_days),
            format!("Patch within {sla_days} days{sla_en}, due {due_date}"),
        ),
    ];
    Ok(PriorityDecision {
        priority,
        sla_days,
        due_date,
        row: row.id.clone(),
        inputs: inputs.clone(),
        reasons,
        policy_version: policy.version,
    })
}

fn matches(when: &PriorityCondition, i: &PriorityInputs) -> bool {
    when.authority_advisory
        .is_none_or(|want| want == i.authority_advisory)
        && when
            .exploitation
            .as_ref()
            .is_none_or(|any| any.contains(&i.exploitation))
        && when
            .exposure
            .as_ref()
            .is_none_or(|any| any.contains(&i.exposure))
        && when
            .automatable
            .as_ref()
            .is_none_or(|any| any.contains(&i.automatable))
        && when.class.as_ref().is_none_or(|any| any.contains(&i.class))
        && when
            .severity
            .as_ref()
            .is_none_or(|any| any.contains(&i.severity))
        && when
            .weakness
            .as_ref()
            .is_none_or(|any| any.contains(&i.weakness))
}

/// Exposure of a resource from its network zone:
/// internet and external SaaS are `open` (reachable by anyone on the internet), the DMZ is
/// `controlled` (reachable through filtering), the internal separated network is `small`.
pub fn exposure_from_zone(zone: NetworkZone) -> Exposure {
    match zone {
        NetworkZone::Internet | NetworkZone::ExternalSaas => Exposure::Open,
        NetworkZone::Dmz => Exposure::Controlled,
        NetworkZone::Internal => Exposure::Small,
    }
}

/// Exploitation from the feeds:
/// KEV-listed -> `active` (exploited in the wild);
/// otherwise listed in an authority advisory -> `poc` (the authorities have circulated its
/// details, so a working exploit must be assumed within reach);
/// otherwise EPSS at or above the policy's `epss_poc_threshold` -> `poc`;
/// otherwise (including no EPSS score) -> `none`.
pub fn exploitation_from(
    kev: bool,
    authority_advisory: bool,
    epss: Option<f64>,
    policy: &Policy,
) -> Exploitation {
    if kev {
        Exploitation::Active
    } else if authority_advisory || epss.is_some_and(|e| e >= policy.priority.epss_poc_threshold) {
        Exploitation::Poc
    } else {
        Exploitation::None
    }
}
