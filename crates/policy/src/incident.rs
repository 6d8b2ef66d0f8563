//! C8 the ordinary IT-incident clock (EFSR detailed rules): when a disruption must be reported
//! and by when.

use chrono::{Days, Months, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::{Policy, Reason};

/// Report deadlines counted from the moment the institution became aware of the incident.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IncidentDeadlines {
    pub aware_at: NaiveDateTime,
    pub initial_due: NaiveDateTime,
    /// Due if remediation is still running by then.
    pub first_interim_due: NaiveDateTime,
    /// After the first interim report, one more every this many months until closure.
    pub interim_every_months: u32,
    /// The final report is due at closure, whose date is not known in advance.
    pub final_at_closure: bool,
    pub policy_version: i64,
}

impl IncidentDeadlines {
    /// Interim reports due up to and including `closed_at`.
    pub fn interim_dues_until(&self, closed_at: NaiveDateTime) -> Vec<NaiveDateTime> {
        let mut out = Vec::new();
        let mut due = self.first_interim_due;
        let mut step = 0u32;
        while due <= closed_at && self.interim_every_months > 0 {
            out.push(due);
            step += 1;
            match self
                .first_interim_due
                .checked_add_months(Months::new(self.interim_every_months * step))
            {
                Some(next) => due = next,
                None => break,
            }
        }
        out
    }
}

pub fn deadlines(policy: &Policy, aware_at: NaiveDateTime) -> IncidentDeadlines {
    let i = &policy.reporting.incident;
    IncidentDeadlines {
        aware_at,
        initial_due: aware_at
            .checked_add_days(Days::new(i.initial_report_days.into()))
            .unwrap_or(NaiveDateTime::MAX),
        first_interim_due: aware_at
            .checked_add_months(Months::new(i.interim_report_months))
            .unwrap_or(NaiveDateTime::MAX),
        interim_every_months: i.interim_repeat_months,
        final_at_closure: true,
        policy_version: policy.version,
    }
}

/// Whether an outage must be reported, and by which trigger.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reportability {
    pub reportable: bool,
    /// `outage`, `large_service_outage`, or `below_thresholds`.
    pub trigger: String,
    pub reasons: Vec<Reason>,
    pub policy_version: i64,
}

pub fn is_reportable(policy: &Policy, outage_minutes: u32, subscribers: u64) -> Reportability {
    let t = &policy.reporting.incident.trigger;
    let (reportable, trigger, reason) = if outage_minutes >= t.outage_minutes {
        (
            true,
            "outage",
            Reason::new(
                "outage",
                format!(
                    "전산 중단 {outage_minutes}분: 보고 기준 {}분 이상",
                    t.outage_minutes
                ),
                format!(
                    "Outage of {outage_minutes} min reaches the {} min trigger",
                    t.outage_minutes
                ),
            ),
        )
    } else if outage_minutes >= t.large_service_outage_minutes
        && subscribers >= t.large_service_subscribers
    {
        (
            true,
            "large_service_outage",
            Reason::new(
                "large_service_outage",
                format!(
                    "가입자 {subscribers}명 서비스의 전산 중단 {outage_minutes}분: 기준 {}분·{}명 이상",
                    t.large_service_outage_minutes, t.large_service_subscribers
                ),
                format!(
                    "Outage of {outage_minutes} min on a service with {subscribers} subscribers reaches the {} min / {} subscriber trigger",
                    t.large_service_outage_minutes, t.large_service_subscribers
                ),
            ),
        )
    } else {
        (
            false,
            "below_thresholds",
            Reason::new(
                "below_thresholds",
                format!(
                    "전산 중단 {outage_minutes}분(가입자 {subscribers}명): 보고 기준({}분, 또는 가입자 {}명 이상 서비스 {}분) 미만",
                    t.outage_minutes, t.large_service_subscribers, t.large_service_outage_minutes
                ),
                format!(
                    "Outage of {outage_minutes} min ({subscribers} subscribers) is below the triggers ({} min, or {} min with {} subscribers)",
                    t.outage_minutes, t.large_service_outage_minutes, t.large_service_subscribers
                ),
            ),
        )
    };
    Reportability {
        reportable,
        trigger: trigger.to_string(),
        reasons: vec![reason],
        policy_version: policy.version,
    }
}
