//! C7 reporting obligations of a letter: periodic reports, the final report and the six-monthly
//! SaaS self-evaluation, all counted from the letter's issue date.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::program::period_end;
use crate::{DecisionError, Policy};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ObligationKind {
    /// The periodic report to the FSC (quarterly by default).
    QuarterlyReport,
    /// The report covering the whole validity, due after expiry.
    FinalReport,
    /// The SaaS compliance self-evaluation reported to the CISO.
    SaasSelfEvaluation,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Obligation {
    pub kind: ObligationKind,
    /// 1-based number within its kind (quarter 1, 2, …).
    pub sequence: u32,
    pub period_start: NaiveDate,
    /// Inclusive.
    pub period_end: NaiveDate,
    pub due: NaiveDate,
}

/// Every obligation of a letter valid from `issued` to `expires` (both inclusive), ordered by
/// due date. A last period cut short by expiry still gets its report.
pub fn schedule(
    policy: &Policy,
    issued: NaiveDate,
    expires: NaiveDate,
) -> Result<Vec<Obligation>, DecisionError> {
    if expires < issued {
        return Err(DecisionError::InvalidPeriod {
            start: issued,
            end: expires,
        });
    }
    let r = &policy.reporting;
    let mut out = periods(
        issued,
        expires,
        r.cadence_months,
        ObligationKind::QuarterlyReport,
        r.due_days_after_period,
    );
    if r.final_report_at_expiry {
        out.push(Obligation {
            kind: ObligationKind::FinalReport,
            sequence: 1,
            period_start: issued,
            period_end: expires,
            due: plus_days(expires, r.due_days_after_period),
        });
    }
    out.extend(periods(
        issued,
        expires,
        r.saas_self_evaluation_months,
        ObligationKind::SaasSelfEvaluation,
        r.saas_self_evaluation_due_days,
    ));
    out.sort_by_key(|o| (o.due, o.kind, o.sequence));
    Ok(out)
}

fn periods(
    issued: NaiveDate,
    expires: NaiveDate,
    months: u32,
    kind: ObligationKind,
    due_days: u32,
) -> Vec<Obligation> {
    let mut out = Vec::new();
    if months == 0 {
        return out;
    }
    let mut start = issued;
    let mut sequence = 1u32;
    while start <= expires {
        // Each end is counted from the issue date, not chained, so month-end clamping never drifts.
        let end = period_end(issued, months.saturating_mul(sequence)).min(expires);
        out.push(Obligation {
            kind,
            sequence,
            period_start: start,
            period_end: end,
            due: plus_days(end, due_days),
        });
        match end.checked_add_days(Days::new(1)) {
            Some(next) => start = next,
            None => break,
        }
        sequence += 1;
    }
    out
}

fn plus_days(date: NaiveDate, days: u32) -> NaiveDate {
    date.checked_add_days(Days::new(days.into()))
        .unwrap_or(NaiveDate::MAX)
}
