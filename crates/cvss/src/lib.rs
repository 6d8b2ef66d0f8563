//! CVSS v3.0, v3.1 and v4.0 calculators, exact to the FIRST specifications: strict vector
//! parsing, base/temporal/environmental scores (v3.x), the macrovector score (v4.0), the
//! qualitative severity scale, and a one-call [`evaluate`] for the CLI and the importers.
//!
//! Pure computation: no I/O, no clock, no global state, no async. Scores are one-decimal
//! [`Score`] values held as tenths so that nothing drifts after rounding.
//!
//! Choices worth knowing:
//! - Ordering: any order is accepted for v3.x (its §6 says readers must), the Table 23 order is
//!   required for v4.0 (its §7 says every other ordering is invalid). See [`Vector::parse`].
//! - v3.x temporal/environmental scores are reported only when the vector defines at least one
//!   metric of that group (a value other than `X`); v4.0 likewise for the threat metric (`E`,
//!   reported as `temporal_score`, i.e. CVSS-BT) and the environmental group (CVSS-BE/BTE).
//! - For v4.0 `base_score` is CVSS-B (base metrics only); [`Vector::score`] is the score of
//!   everything the vector carries, which is what FIRST's calculator shows.
//! - `automatable`: v4.0 reads the supplemental metric AU (`Y`/`N`, `None` when absent or X).
//!   v3.x has no such metric; it is derived as AV:N ∧ AC:L ∧ PR:N ∧ UI:N on the base metrics,
//!   the same reading as SSVC's "Automatable" for network-reachable, unauthenticated,
//!   no-interaction flaws.

mod error;
mod score;
mod v3;
mod v4;
mod v4_lookup;
mod vector;

use serde::Serialize;

pub use error::CvssError;
pub use score::{Score, Severity};
pub use vector::{Vector, Version};

impl Vector {
    /// Base score: v3.x base score; v4.0 CVSS-B (base metrics only).
    pub fn base_score(&self) -> Score {
        match self.version() {
            Version::V3_0 | Version::V3_1 => v3::scores(self).base,
            Version::V4_0 => v4::score(self, false, false),
        }
    }

    /// Qualitative severity of [`Vector::base_score`].
    pub fn severity(&self) -> Severity {
        self.base_score().severity()
    }

    /// v3.x temporal score, or v4.0 CVSS-BT; `None` when the vector defines no temporal/threat
    /// metric.
    pub fn temporal_score(&self) -> Option<Score> {
        match self.version() {
            Version::V3_0 | Version::V3_1 => self
                .any_defined(V3_TEMPORAL)
                .then(|| v3::scores(self).temporal),
            Version::V4_0 => self
                .any_defined(&["E"])
                .then(|| v4::score(self, true, false)),
        }
    }

    /// v3.x environmental score (which includes the temporal metrics), or v4.0 CVSS-BE /
    /// CVSS-BTE; `None` when the vector defines no environmental metric.
    pub fn environmental_score(&self) -> Option<Score> {
        match self.version() {
            Version::V3_0 | Version::V3_1 => self
                .any_defined(V3_ENVIRONMENTAL)
                .then(|| v3::scores(self).environmental),
            Version::V4_0 => self
                .any_defined(V4_ENVIRONMENTAL)
                .then(|| v4::score(self, true, true)),
        }
    }

    /// The score of everything the vector carries: for v4.0 the CVSS-B/BT/BE/BTE score that
    /// FIRST's calculator shows; for v3.x the environmental score if that group is defined,
    /// else the temporal score if defined, else the base score (FIRST's "overall" score).
    pub fn score(&self) -> Score {
        match self.version() {
            Version::V4_0 => v4::score(self, true, true),
            Version::V3_0 | Version::V3_1 => self
                .environmental_score()
                .or_else(|| self.temporal_score())
                .unwrap_or_else(|| self.base_score()),
        }
    }

    /// Whether exploitation can be automated: v4.0 AU (`None` when absent or X); v3.x derived
    /// as AV:N ∧ AC:L ∧ PR:N ∧ UI:N on the base metrics.
    pub fn automatable(&self) -> Option<bool> {
        match self.version() {
            Version::V4_0 => match self.get("AU") {
                Some("Y") => Some(true),
                Some("N") => Some(false),
                _ => None,
            },
            Version::V3_0 | Version::V3_1 => Some(
                self.get("AV") == Some("N")
                    && self.get("AC") == Some("L")
                    && self.get("PR") == Some("N")
                    && self.get("UI") == Some("N"),
            ),
        }
    }

    /// CVSS v4.0 nomenclature of [`Vector::score`]: `CVSS-B`, `CVSS-BT`, `CVSS-BE` or
    /// `CVSS-BTE`; `None` for v3.x, which has no such names.
    pub fn nomenclature(&self) -> Option<&'static str> {
        if self.version() != Version::V4_0 {
            return None;
        }
        Some(
            match (self.any_defined(&["E"]), self.any_defined(V4_ENVIRONMENTAL)) {
                (false, false) => "CVSS-B",
                (true, false) => "CVSS-BT",
                (false, true) => "CVSS-BE",
                (true, true) => "CVSS-BTE",
            },
        )
    }
}

const V3_TEMPORAL: &[&str] = &["E", "RL", "RC"];
const V3_ENVIRONMENTAL: &[&str] = &[
    "CR", "IR", "AR", "MAV", "MAC", "MPR", "MUI", "MS", "MC", "MI", "MA",
];
const V4_ENVIRONMENTAL: &[&str] = &[
    "CR", "IR", "AR", "MAV", "MAC", "MAT", "MPR", "MUI", "MVC", "MVI", "MVA", "MSC", "MSI", "MSA",
];

/// Everything the CLI and the importers need from one vector, ready to serialise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The normalised vector: specification order, Not Defined optional metrics left out.
    pub vector: String,
    /// `"3.0"`, `"3.1"` or `"4.0"`.
    pub version: &'static str,
    /// v3.x base score; v4.0 CVSS-B.
    pub base_score: f64,
    /// Severity of `base_score`, serialised lower-case.
    pub severity: Severity,
    /// v3.x temporal score or v4.0 CVSS-BT, when the vector defines that group.
    pub temporal_score: Option<f64>,
    /// v3.x environmental score or v4.0 CVSS-BE/BTE, when the vector defines that group.
    pub environmental_score: Option<f64>,
    /// v4.0 AU; v3.x derived as AV:N ∧ AC:L ∧ PR:N ∧ UI:N.
    pub automatable: Option<bool>,
}

/// Parses and scores one vector. Surrounding whitespace is ignored (importers meet it often);
/// everything else is strict, as [`Vector::parse`].
pub fn evaluate(vector: &str) -> Result<Evaluation, CvssError> {
    let parsed = Vector::parse(vector.trim())?;
    let base = parsed.base_score();
    Ok(Evaluation {
        vector: parsed.to_string(),
        version: parsed.version().as_str(),
        base_score: base.value(),
        severity: base.severity(),
        temporal_score: parsed.temporal_score().map(Score::value),
        environmental_score: parsed.environmental_score().map(Score::value),
        automatable: parsed.automatable(),
    })
}

/// True when a published score does not match the vector. v3.x: compared with the base score.
/// v4.0: publishers put either the CVSS-B score or the score of the whole vector in their
/// "baseScore" field, so either one counts as agreeing. A published value that is not a
/// one-decimal number within 0.0–10.0 always disagrees.
pub fn score_disagrees(vector: &str, published: f64) -> Result<bool, CvssError> {
    let parsed = Vector::parse(vector.trim())?;
    let Some(published) = Score::from_f64(published) else {
        return Ok(true);
    };
    let agrees = match parsed.version() {
        Version::V3_0 | Version::V3_1 => parsed.base_score() == published,
        Version::V4_0 => parsed.base_score() == published || parsed.score() == published,
    };
    Ok(!agrees)
}
