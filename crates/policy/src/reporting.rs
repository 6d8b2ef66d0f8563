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

/// The default `report_reminder_days`: a month, a week and a day before the due date.
pub fn default_reminder_days() -> Vec<u32> {
    vec![30, 7, 1]
}

/// `[reporting.attachments]`: evidence files of a report version — the largest file, the most
/// all files of one version may weigh together, and the media types accepted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReportAttachmentPolicy {
    pub max_bytes: u64,
    pub max_total_bytes: u64,
    /// Media types (`application/pdf`, …), compared without parameters and case.
    pub content_types: Vec<String>,
}

impl Default for ReportAttachmentPolicy {
    fn default() -> Self {
        ReportAttachmentPolicy {
            max_bytes: 10 * 1024 * 1024,
            max_total_bytes: 50 * 1024 * 1024,
            content_types: [
                "application/pdf",
                "image/png",
                "image/jpeg",
                "text/plain",
                "text/csv",
                "application/json",
                "application/zip",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl ReportAttachmentPolicy {
    /// Whether a file's media type is one the policy accepts (parameters such as `charset`
    /// ignored).
    pub fn accepts_type(&self, content_type: &str) -> bool {
        let bare = content_type.split(';').next().unwrap_or("").trim();
        self.content_types
            .iter()
            .any(|t| t.trim().eq_ignore_ascii_case(bare))
    }
}

/// The days on which an obligation due on `due` is reminded, as of `today`: each policy offset
/// whose day has come while the due date has not passed (the sweep writes each once).
pub fn reminders_due(policy: &Policy, due: NaiveDate, today: NaiveDate) -> Vec<u32> {
    if today > due {
        return Vec::new();
    }
    let mut out: Vec<u32> = policy
        .reporting
        .report_reminder_days
        .iter()
        .copied()
        .filter(|d| {
            due.checked_sub_days(Days::new((*d).into()))
                .is_some_and(|on| on <= today)
        })
        .collect();
    out.sort_unstable_by(|a, b| b.cmp(a));
    out
}

#[cfg(test)]
mod reminder_tests {
    use super::*;

    #[test]
    fn reminders_come_by_offset_and_stop_after_the_due_date() {
        let policy = Policy::default_policy();
        let due = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        let on = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        assert!(reminders_due(&policy, due, on(11, 30)).is_empty());
        assert_eq!(reminders_due(&policy, due, on(12, 1)), vec![30]);
        assert_eq!(reminders_due(&policy, due, on(12, 24)), vec![30, 7]);
        assert_eq!(reminders_due(&policy, due, on(12, 31)), vec![30, 7, 1]);
        assert!(reminders_due(&policy, due, on(12, 31).succ_opt().unwrap()).is_empty());
    }

    #[test]
    fn attachment_types_compare_without_parameters() {
        let a = ReportAttachmentPolicy::default();
        assert!(a.accepts_type("text/plain; charset=utf-8"));
        assert!(a.accepts_type("Application/PDF"));
        assert!(!a.accepts_type("text/html"));
        assert!(!a.accepts_type(""));
    }
}
