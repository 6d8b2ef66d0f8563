//! One-decimal CVSS scores and the qualitative severity scale shared by v3.x and v4.0.
//!
//! A score is held as whole tenths so that no float drift can creep in after rounding; floats
//! appear only at the boundary (`value()`, serialisation). Must not compute CVSS formulas.

use std::fmt;

use serde::{Serialize, Serializer};

/// A CVSS score from 0.0 to 10.0, stored as tenths (`75` is 7.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(u8);

impl Score {
    /// The highest score, 10.0.
    pub const MAX: Score = Score(100);
    /// The lowest score, 0.0.
    pub const ZERO: Score = Score(0);

    /// A score from tenths; `None` above 100 (10.0).
    pub fn from_tenths(tenths: u8) -> Option<Score> {
        (tenths <= 100).then_some(Score(tenths))
    }

    /// The nearest score to a published float (`7.5`, `9.8`), if it is within 0.0..=10.0 and
    /// within 0.001 of a one-decimal value; published scores are one-decimal by definition.
    pub fn from_f64(value: f64) -> Option<Score> {
        if !value.is_finite() {
            return None;
        }
        let scaled = value * 10.0;
        let tenths = scaled.round();
        if (scaled - tenths).abs() > 0.01 || !(0.0..=100.0).contains(&tenths) {
            return None;
        }
        // In range 0..=100 by the check above, so the cast is exact.
        Score::from_tenths(tenths as u8)
    }

    /// Tenths of a point: `75` for 7.5.
    pub fn tenths(self) -> u8 {
        self.0
    }

    /// The score as a float, the nearest double to the one-decimal value (`7.5`, `9.8`).
    pub fn value(self) -> f64 {
        f64::from(self.0) / 10.0
    }

    /// Qualitative rating of this score (FIRST's scale, identical for v3.x and v4.0).
    pub fn severity(self) -> Severity {
        match self.0 {
            0 => Severity::None,
            1..=39 => Severity::Low,
            40..=69 => Severity::Medium,
            70..=89 => Severity::High,
            _ => Severity::Critical,
        }
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0 / 10, self.0 % 10)
    }
}

impl Serialize for Score {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.value())
    }
}

/// Qualitative severity rating: None 0.0, Low 0.1–3.9, Medium 4.0–6.9, High 7.0–8.9,
/// Critical 9.0–10.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Lower-case name, as serialised: `none`, `low`, `medium`, `high`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::None => "none",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(tenths: u8, display: &str, severity: &str) {
        let score = Score::from_tenths(tenths).unwrap();
        assert_eq!(score.to_string(), display);
        assert_eq!(score.severity().as_str(), severity);
        assert_eq!(Score::from_f64(score.value()), Some(score));
    }

    #[test]
    fn bands_and_display() {
        check(0, "0.0", "none");
        check(1, "0.1", "low");
        check(39, "3.9", "low");
        check(40, "4.0", "medium");
        check(69, "6.9", "medium");
        check(70, "7.0", "high");
        check(89, "8.9", "high");
        check(90, "9.0", "critical");
        check(100, "10.0", "critical");
        assert_eq!(Score::from_tenths(101), None);
        assert_eq!(Score::from_f64(10.1), None);
        assert_eq!(Score::from_f64(7.55), None);
        assert_eq!(Score::from_f64(f64::NAN), None);
    }
}
