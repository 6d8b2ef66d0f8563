//! C6 letter arithmetic from `[program]`: validity and letter numbers.

use chrono::{Datelike, Days, Months, NaiveDate};

use crate::Policy;

/// The last day a letter issued on `issued` is valid, counting the issue day (the letter takes
/// effect from 00:00): the day before the same calendar day `relief_validity_months` later
/// (issued 2026-06-23, 12 months -> 2027-06-22). When that month has no such day the period
/// ends on its last day (issued 2026-08-31, 6 months -> 2027-02-28), as in Civil Act art. 160.
pub fn letter_expiry(policy: &Policy, issued: NaiveDate) -> NaiveDate {
    period_end(issued, policy.program.relief_validity_months)
}

/// The last day of a period of `months` starting on `start` (see [`letter_expiry`]).
pub(crate) fn period_end(start: NaiveDate, months: u32) -> NaiveDate {
    let same_day_later = add_months(start, months);
    if same_day_later.day() < start.day() {
        // Clamped to the month's end: no corresponding day, so the month's last day ends it.
        same_day_later
    } else {
        same_day_later
            .checked_sub_days(Days::new(1))
            .unwrap_or(NaiveDate::MAX)
    }
}

/// The first day a renewal of a letter valid until `expires` may be drafted: `renewal_window_days`
/// before it ends (90 days by default; a letter ending 2027-06-22 opens on 2027-03-24).
pub fn renewal_opens(policy: &Policy, expires: NaiveDate) -> NaiveDate {
    expires
        .checked_sub_days(Days::new(policy.program.renewal_window_days.into()))
        .unwrap_or(NaiveDate::MIN)
}

/// The first day of a renewal's validity: the day after the letter it renews ends, so the two
/// never overlap; a renewal issued after that day (a lapsed letter) starts on its issue day.
pub fn renewal_starts(renewed_until: NaiveDate, issued: NaiveDate) -> NaiveDate {
    renewed_until
        .checked_add_days(Days::new(1))
        .unwrap_or(NaiveDate::MAX)
        .max(issued)
}

/// The days on which expiry reminders fall, latest reminder last (60, 30, 7 days before).
pub fn reminder_dates(policy: &Policy, expires: NaiveDate) -> Vec<NaiveDate> {
    let mut days = policy.program.expiry_reminder_days.clone();
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.into_iter()
        .filter_map(|d| expires.checked_sub_days(Days::new(d.into())))
        .collect()
}

/// The letter number for sequence `seq` in `year`, e.g. `FSC-NAL-2026-0007`.
pub fn format_letter_number(policy: &Policy, year: i32, seq: u32) -> String {
    let format = &policy.program.letter_number_format;
    // A validated policy always parses; an unvalidated one is shown as written rather than lost.
    let Ok(pieces) = letter_format(format) else {
        return format.clone();
    };
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(text) => text.clone(),
            Piece::Year => year.to_string(),
            Piece::Seq { width } => format!("{seq:0width$}"),
        })
        .collect()
}

pub(crate) enum Piece {
    Text(String),
    Year,
    Seq { width: usize },
}

/// Parses a letter-number format; the error says what is wrong with it.
pub(crate) fn letter_format(format: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = format;
    let mut has_seq = false;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("`{{` at `{rest}` is never closed"))?;
        let placeholder = &after[..close];
        let piece = match placeholder {
            "year" => Piece::Year,
            "seq" => Piece::Seq { width: 0 },
            _ => match placeholder.strip_prefix("seq:0").map(str::parse::<usize>) {
                Some(Ok(width)) if (1..=12).contains(&width) => Piece::Seq { width },
                _ => {
                    return Err(format!(
                    "unknown placeholder `{{{placeholder}}}`; use {{year}}, {{seq}} or {{seq:0N}}"
                ))
                }
            },
        };
        has_seq |= matches!(piece, Piece::Seq { .. });
        pieces.push(piece);
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err(format!("`}}` in `{rest}` has no opening `{{`"));
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    if !has_seq {
        return Err("the format needs {seq} so that letter numbers are unique".to_string());
    }
    Ok(pieces)
}

pub(crate) fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_add_months(Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}
