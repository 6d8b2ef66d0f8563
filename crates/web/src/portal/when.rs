//! Times, ages and money as every page shows them: times in Korea Standard Time with the zone
//! named ("2026-06-23 23:00 KST"), dates of a timestamp on the Korean calendar day, ages as
//! "오늘"/"어제"/"N일 전", and amounts of won in 억 원 / 조 원 (KRW billion / trillion in English).
//!
//! Stored times are RFC 3339 in UTC (or `YYYY-MM-DD HH:MM:SS`, also UTC); stored dates
//! (`YYYY-MM-DD`) are calendar days and are shown as they are.

use chrono::{DateTime, Duration, NaiveDateTime};

use super::registry::thousands;
use super::Lang;

/// A stored timestamp as the wall-clock time in Korea (UTC+9, no daylight saving), when it is
/// one (a bare date is not).
pub fn to_kst(at: &str) -> Option<NaiveDateTime> {
    let at = at.trim();
    let utc = DateTime::parse_from_rfc3339(at)
        .map(|t| t.naive_utc())
        .ok()
        .or_else(|| {
            [
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M",
            ]
            .iter()
            .find_map(|fmt| NaiveDateTime::parse_from_str(at, fmt).ok())
        })?;
    utc.checked_add_signed(Duration::hours(9))
}

/// `YYYY-MM-DD HH:MM KST` of a stored time; a bare date or unreadable text as it is.
pub fn kst_minute(at: &str) -> String {
    match to_kst(at) {
        Some(t) => t.format("%Y-%m-%d %H:%M KST").to_string(),
        None => at.to_string(),
    }
}

/// `YYYY-MM-DD HH:MM:SS KST` of a stored time (the audit log).
pub fn kst_second(at: &str) -> String {
    match to_kst(at) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S KST").to_string(),
        None => at.to_string(),
    }
}

/// The Korean calendar day (`YYYY-MM-DD`) of a stored time; a stored date as it is.
pub fn kst_day(at: &str) -> String {
    match to_kst(at) {
        Some(t) => t.format("%Y-%m-%d").to_string(),
        None => at.get(..10).unwrap_or(at).to_string(),
    }
}

/// How long ago a day was, in words: "오늘" / "today", "어제" / "yesterday", "N일 전" /
/// "N days ago"; a day ahead "N일 후" / "in N days".
pub fn days_ago(lang: Lang, days: i64) -> String {
    match days {
        0 => lang.t("오늘", "today").to_string(),
        1 => lang.t("어제", "yesterday").to_string(),
        -1 => lang.t("내일", "tomorrow").to_string(),
        d if d > 1 => match lang {
            Lang::Ko => format!("{d}일 전"),
            Lang::En => format!("{d} days ago"),
        },
        d => match lang {
            Lang::Ko => format!("{}일 후", -d),
            Lang::En => format!("in {} days", -d),
        },
    }
}

const EOK: i64 = 100_000_000;
const JO: i64 = 10_000 * EOK;

/// An amount of won in one style on every page: `12.3조 원` / `4,560억 원` / `5,000 원`
/// (English: `KRW 12.3 trillion` / `KRW 456.0 billion` / `KRW 5,000`).
pub fn money(lang: Lang, krw: i64) -> String {
    let sign = if krw < 0 { "-" } else { "" };
    let n = krw.unsigned_abs();
    let one = |v: f64| {
        let s = format!("{v:.1}");
        s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
    };
    match lang {
        Lang::Ko => {
            if n >= JO.unsigned_abs() {
                format!("{sign}{}조 원", one(n as f64 / JO as f64))
            } else if n >= EOK.unsigned_abs() {
                format!("{sign}{}억 원", thousands((n / EOK.unsigned_abs()) as i64))
            } else {
                format!("{sign}{} 원", thousands(n as i64))
            }
        }
        Lang::En => {
            if n >= JO.unsigned_abs() {
                format!("KRW {sign}{} trillion", one(n as f64 / JO as f64))
            } else if n >= 1_000_000_000 {
                format!("KRW {sign}{} billion", one(n as f64 / 1e9))
            } else {
                format!("KRW {sign}{}", thousands(n as i64))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_in_kst_with_the_zone() {
        assert_eq!(
            kst_minute("2026-06-23T14:05:00.000000Z"),
            "2026-06-23 23:05 KST"
        );
        assert_eq!(
            kst_second("2026-06-23T20:00:01Z"),
            "2026-06-24 05:00:01 KST"
        );
        assert_eq!(kst_day("2026-06-23T20:00:01Z"), "2026-06-24");
        assert_eq!(kst_day("2026-06-23"), "2026-06-23");
        assert_eq!(kst_minute("2026-06-23"), "2026-06-23");
    }

    #[test]
    fn ages_and_money() {
        assert_eq!(days_ago(Lang::Ko, 0), "오늘");
        assert_eq!(days_ago(Lang::En, 3), "3 days ago");
        assert_eq!(money(Lang::Ko, 12_300_000_000_000), "12.3조 원");
        assert_eq!(money(Lang::Ko, 10_000_000_000_000), "10조 원");
        assert_eq!(money(Lang::Ko, 456_000_000_000), "4,560억 원");
        assert_eq!(money(Lang::En, 456_000_000_000), "KRW 456 billion");
        assert_eq!(money(Lang::Ko, 5_000), "5,000 원");
    }
}
