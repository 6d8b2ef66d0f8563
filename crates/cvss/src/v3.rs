//! CVSS v3.0 and v3.1 base, temporal and environmental scores (FIRST specification §7 of each
//! version, and v3.1 Appendix A for Roundup).
//!
//! The formulas are evaluated in `f64` exactly as the specification writes them; the only
//! differences between the versions are the Roundup function and the scope-changed modified
//! impact (v3.1: `7.52·(MISS−0.029) − 3.25·(MISS·0.9731−0.02)^13`; v3.0:
//! `7.52·(MISS−0.029) − 3.25·(MISS−0.02)^15`). Must not parse: it reads a validated [`Vector`].

use crate::score::Score;
use crate::vector::{Vector, Version};

/// The three v3.x scores. Temporal and environmental are always computable (Not Defined
/// metrics weigh 1); whether to show them is the caller's choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct V3Scores {
    pub(crate) base: Score,
    pub(crate) temporal: Score,
    pub(crate) environmental: Score,
}

/// Roundup: the smallest one-decimal number not below `x`.
///
/// v3.1 defines it by the integer method of its Appendix A: round `x` to 1e-5 units first, so
/// that float noise such as 4.000000000000001 does not push the result up a tenth. v3.0 defines
/// the same function in words ("the smallest number, specified to one decimal place, that is
/// equal to or higher than its input") and gives no algorithm; a naive float `ceil(x·10)/10`
/// (FIRST's old v3.0 calculator did this) turns the exact 5.0 × 0.92 = 4.6 into 4.7 because the
/// float product is 4.6000000000000005. So v3.0 uses the Appendix A method too, which is the
/// float-safe way to compute exactly what the v3.0 text defines.
fn roundup(x: f64) -> Score {
    // Scores are clamped to 0..=10 by the formulas, so the integer fits comfortably.
    let int_input = (x * 100_000.0).round() as i64;
    let tenths = if int_input % 10_000 == 0 {
        int_input / 10_000
    } else {
        int_input / 10_000 + 1
    };
    to_score(tenths)
}

fn to_score(tenths: i64) -> Score {
    let clamped = tenths.clamp(0, 100);
    // Clamped to 0..=100 just above, so both conversions succeed.
    Score::from_tenths(u8::try_from(clamped).unwrap_or(100)).unwrap_or(Score::MAX)
}

fn av(v: &str) -> f64 {
    match v {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        _ => 0.2, // P
    }
}

fn ac(v: &str) -> f64 {
    match v {
        "L" => 0.77,
        _ => 0.44, // H
    }
}

/// Privileges Required weighs more when the scope is changed.
fn pr(v: &str, scope_changed: bool) -> f64 {
    match (v, scope_changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        (_, false) => 0.27, // H
        (_, true) => 0.5,
    }
}

fn ui(v: &str) -> f64 {
    match v {
        "N" => 0.85,
        _ => 0.62, // R
    }
}

fn cia(v: &str) -> f64 {
    match v {
        "H" => 0.56,
        "L" => 0.22,
        _ => 0.0, // N
    }
}

fn exploit_maturity(v: &str) -> f64 {
    match v {
        "F" => 0.97,
        "P" => 0.94,
        "U" => 0.91,
        _ => 1.0, // X, H
    }
}

fn remediation_level(v: &str) -> f64 {
    match v {
        "W" => 0.97,
        "T" => 0.96,
        "O" => 0.95,
        _ => 1.0, // X, U
    }
}

fn report_confidence(v: &str) -> f64 {
    match v {
        "R" => 0.96,
        "U" => 0.92,
        _ => 1.0, // X, C
    }
}

fn requirement(v: &str) -> f64 {
    match v {
        "H" => 1.5,
        "L" => 0.5,
        _ => 1.0, // X, M
    }
}

/// Computes base, temporal and environmental scores of a v3.0 or v3.1 vector.
pub(crate) fn scores(vector: &Vector) -> V3Scores {
    let v31 = vector.version() == Version::V3_1;
    let base_metric = |m: &str| vector.get(m).unwrap_or("X");
    // A modified metric left Not Defined takes the base metric's value.
    let modified = |m: &str, b: &str| match vector.get_or_x(m) {
        "X" => base_metric(b),
        v => v,
    };

    // Base.
    let scope_changed = base_metric("S") == "C";
    let iss = 1.0
        - (1.0 - cia(base_metric("C")))
            * (1.0 - cia(base_metric("I")))
            * (1.0 - cia(base_metric("A")));
    let impact = if scope_changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powf(15.0)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22
        * av(base_metric("AV"))
        * ac(base_metric("AC"))
        * pr(base_metric("PR"), scope_changed)
        * ui(base_metric("UI"));
    let base = if impact <= 0.0 {
        Score::ZERO
    } else if scope_changed {
        roundup(f64::min(1.08 * (impact + exploitability), 10.0))
    } else {
        roundup(f64::min(impact + exploitability, 10.0))
    };

    // Temporal.
    let temporal_factor = exploit_maturity(vector.get_or_x("E"))
        * remediation_level(vector.get_or_x("RL"))
        * report_confidence(vector.get_or_x("RC"));
    let temporal = roundup(base.value() * temporal_factor);

    // Environmental.
    let m_scope_changed = modified("MS", "S") == "C";
    let miss = f64::min(
        1.0 - (1.0 - requirement(vector.get_or_x("CR")) * cia(modified("MC", "C")))
            * (1.0 - requirement(vector.get_or_x("IR")) * cia(modified("MI", "I")))
            * (1.0 - requirement(vector.get_or_x("AR")) * cia(modified("MA", "A"))),
        0.915,
    );
    let m_impact = if !m_scope_changed {
        6.42 * miss
    } else if v31 {
        7.52 * (miss - 0.029) - 3.25 * (miss * 0.9731 - 0.02).powf(13.0)
    } else {
        7.52 * (miss - 0.029) - 3.25 * (miss - 0.02).powf(15.0)
    };
    let m_exploitability = 8.22
        * av(modified("MAV", "AV"))
        * ac(modified("MAC", "AC"))
        * pr(modified("MPR", "PR"), m_scope_changed)
        * ui(modified("MUI", "UI"));
    let environmental = if m_impact <= 0.0 {
        Score::ZERO
    } else {
        let m_base = if m_scope_changed {
            roundup(f64::min(1.08 * (m_impact + m_exploitability), 10.0))
        } else {
            roundup(f64::min(m_impact + m_exploitability, 10.0))
        };
        roundup(m_base.value() * temporal_factor)
    };

    V3Scores {
        base,
        temporal,
        environmental,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(x: f64, expect: &str) {
        assert_eq!(roundup(x).to_string(), expect, "Roundup({x})");
    }

    #[test]
    fn roundup_is_float_safe() {
        check(4.0, "4.0");
        check(4.02, "4.1");
        check(4.000_000_000_000_001, "4.0");
        check(4.000_01, "4.1");
        check(5.0 * 0.92, "4.6");
        check(0.0, "0.0");
        check(10.0, "10.0");
    }
}
