//! CVSS v4.0 scoring: the macrovector method of the FIRST specification (§8) and its reference
//! calculator (`cvss_score.js`).
//!
//! Steps: effective metric values (modified metrics override base ones; `E:X` counts as `A`,
//! `CR/IR/AR:X` as `H`), the six equivalence classes EQ1–EQ6 that name a macrovector, the
//! macrovector's score from the lookup table, then a step down towards the next-lower
//! macrovectors in proportion to the vector's severity distance from the macrovector's
//! highest-severity vectors.
//!
//! The interpolation is done in exact integer arithmetic (tenths over a common denominator), and
//! the result is rounded half-up to one decimal. The reference calculator does it in floats and
//! adds 1e-6 before rounding to make up for float error; the exact form needs no such fudge and
//! agrees with it on all 104,976 base vectors (see the integration test). Supplemental metrics
//! are parsed by `vector` but never read here: the specification says they do not change the
//! score. Must not parse.

use crate::score::Score;
use crate::v4_lookup::MACROVECTOR_SCORES;
use crate::vector::Vector;

/// Number of slots in the dense macrovector index: EQ1(3)·EQ2(2)·EQ3(3)·EQ4(3)·EQ5(3)·EQ6(2).
const INDEX_SLOTS: usize = 324;

const fn slot(eq: [u8; 6]) -> usize {
    ((((eq[0] as usize * 2 + eq[1] as usize) * 3 + eq[2] as usize) * 3 + eq[3] as usize) * 3
        + eq[4] as usize)
        * 2
        + eq[5] as usize
}

/// Dense form of the lookup table, built at compile time; 0 marks a macrovector that does not
/// exist (EQ3=2 with EQ6=0). No real macrovector scores 0.0, the lowest is 0.1.
const INDEX: [u8; INDEX_SLOTS] = build_index();

const fn build_index() -> [u8; INDEX_SLOTS] {
    let mut index = [0u8; INDEX_SLOTS];
    let mut i = 0;
    while i < MACROVECTOR_SCORES.len() {
        let (key, tenths) = MACROVECTOR_SCORES[i];
        let eq = [
            key[0] - b'0',
            key[1] - b'0',
            key[2] - b'0',
            key[3] - b'0',
            key[4] - b'0',
            key[5] - b'0',
        ];
        let s = slot(eq);
        // Compile-time checks of the transcribed data: each key once, each score in range.
        assert!(index[s] == 0, "duplicate macrovector in the lookup table");
        assert!(
            tenths >= 1 && tenths <= 100,
            "macrovector score out of range"
        );
        assert!(
            !(eq[2] == 2 && eq[5] == 0),
            "impossible macrovector in the lookup table"
        );
        index[s] = tenths;
        i += 1;
    }
    index
}

/// Score of a macrovector in tenths, `None` when it does not exist (off the edge of a class).
fn lookup(eq: [u8; 6]) -> Option<i64> {
    let limits = [3, 2, 3, 3, 3, 2];
    if eq.iter().zip(limits).any(|(v, limit)| *v >= limit) {
        return None;
    }
    match INDEX[slot(eq)] {
        0 => None,
        tenths => Some(i64::from(tenths)),
    }
}

/// Effective metric values as severity levels in tenths, lowest = most severe, exactly the
/// `*_levels` tables of the reference calculator (AV N0/A1/L2/P3, SC H1/L2/N3, SI S0/H1/L2/N3…).
#[derive(Debug, Clone, Copy)]
struct Levels {
    av: i64,
    ac: i64,
    at: i64,
    pr: i64,
    ui: i64,
    vc: i64,
    vi: i64,
    va: i64,
    sc: i64,
    si: i64,
    sa: i64,
    e: i64,
    cr: i64,
    ir: i64,
    ar: i64,
}

fn level(value: &str, scale: &[&str], offset: i64) -> i64 {
    // `scale` lists every value the parser accepts for the metric, so the search succeeds; the
    // fallback is the least severe level and never taken.
    let position = scale
        .iter()
        .position(|s| *s == value)
        .unwrap_or(scale.len() - 1);
    position as i64 + offset
}

impl Levels {
    /// Effective levels, reading the threat metric (E) only when `threat` is set and the
    /// environmental metrics only when `environmental` is set; left out, a group counts as Not
    /// Defined, which is how the specification defines CVSS-B, -BT and -BE.
    fn of(vector: &Vector, threat: bool, environmental: bool) -> Levels {
        let m = |metric: &'static str, modified: &'static str| -> &'static str {
            match vector.get(modified) {
                Some(v) if environmental && v != "X" => v,
                _ => vector.get(metric).unwrap_or("X"),
            }
        };
        let or = |metric: &str, default: &'static str| {
            let wanted = if metric == "E" { threat } else { environmental };
            match vector.get(metric) {
                Some(v) if wanted && v != "X" => v,
                _ => default,
            }
        };
        const VULN: &[&str] = &["H", "L", "N"];
        const SUBSEQUENT: &[&str] = &["S", "H", "L", "N"];
        const REQ: &[&str] = &["H", "M", "L"];
        Levels {
            av: level(m("AV", "MAV"), &["N", "A", "L", "P"], 0),
            ac: level(m("AC", "MAC"), &["L", "H"], 0),
            at: level(m("AT", "MAT"), &["N", "P"], 0),
            pr: level(m("PR", "MPR"), &["N", "L", "H"], 0),
            ui: level(m("UI", "MUI"), &["N", "P", "A"], 0),
            vc: level(m("VC", "MVC"), VULN, 0),
            vi: level(m("VI", "MVI"), VULN, 0),
            va: level(m("VA", "MVA"), VULN, 0),
            // SC has no Safety value; its levels still start at H = 1, as in the reference.
            sc: level(m("SC", "MSC"), &["H", "L", "N"], 1),
            si: level(m("SI", "MSI"), SUBSEQUENT, 0),
            sa: level(m("SA", "MSA"), SUBSEQUENT, 0),
            e: level(or("E", "A"), &["A", "P", "U"], 0),
            cr: level(or("CR", "H"), REQ, 0),
            ir: level(or("IR", "H"), REQ, 0),
            ar: level(or("AR", "H"), REQ, 0),
        }
    }

    /// The macrovector: EQ1..EQ6 (specification Tables 24–29).
    fn macrovector(&self) -> [u8; 6] {
        const N: i64 = 0; // AV/PR/UI:N
        const H: i64 = 0; // VC/VI/VA:H, CR/IR/AR:H
        let eq1 = if self.av == N && self.pr == N && self.ui == N {
            0
        } else if (self.av == N || self.pr == N || self.ui == N) && self.av != 3 {
            1
        } else {
            2
        };
        let eq2 = if self.ac == 0 && self.at == 0 { 0 } else { 1 };
        let eq3 = if self.vc == H && self.vi == H {
            0
        } else if self.vc == H || self.vi == H || self.va == H {
            1
        } else {
            2
        };
        let eq4 = if self.si == 0 || self.sa == 0 {
            0 // MSI:S or MSA:S
        } else if self.sc == 1 || self.si == 1 || self.sa == 1 {
            1 // SC:H or SI:H or SA:H
        } else {
            2
        };
        let eq5 = self.e as u8;
        let eq6 = if (self.cr == H && self.vc == H)
            || (self.ir == H && self.vi == H)
            || (self.ar == H && self.va == H)
        {
            0
        } else {
            1
        };
        [eq1, eq2, eq3, eq4, eq5, eq6]
    }
}

/// Highest-severity vectors of each class, as levels, in the reference calculator's order
/// (`max_composed.js`); the first one that the scored vector does not exceed is used.
/// EQ1: (AV, PR, UI).
const EQ1_MAX: [&[[i64; 3]]; 3] = [
    &[[0, 0, 0]],
    &[[1, 0, 0], [0, 1, 0], [0, 0, 1]],
    &[[3, 0, 0], [1, 1, 1]],
];
/// EQ2: (AC, AT).
const EQ2_MAX: [&[[i64; 2]]; 2] = [&[[0, 0]], &[[1, 0], [0, 1]]];
/// EQ3+EQ6, indexed [EQ3][EQ6]: (VC, VI, VA, CR, IR, AR).
const EQ3EQ6_MAX: [[&[[i64; 6]]; 2]; 3] = [
    [
        &[[0, 0, 0, 0, 0, 0]],
        &[[0, 0, 1, 1, 1, 0], [0, 0, 0, 1, 1, 1]],
    ],
    [
        &[[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0]],
        &[
            [1, 0, 1, 0, 1, 0],
            [1, 0, 0, 0, 1, 1],
            [0, 1, 0, 1, 0, 1],
            [0, 1, 1, 1, 0, 0],
            [1, 1, 0, 0, 0, 1],
        ],
    ],
    [&[], &[[1, 1, 1, 0, 0, 0]]],
];
/// EQ4: (SC, SI, SA).
const EQ4_MAX: [[i64; 3]; 3] = [[1, 0, 0], [1, 1, 1], [2, 2, 2]];

/// Depth of each class in severity steps (`max_severity.js`).
const EQ1_DEPTH: [i64; 3] = [1, 4, 5];
const EQ2_DEPTH: [i64; 2] = [1, 2];
const EQ3EQ6_DEPTH: [[i64; 2]; 3] = [[7, 6], [8, 8], [0, 10]];
const EQ4_DEPTH: [i64; 3] = [6, 5, 4];

/// Score of a v4.0 vector reading the chosen metric groups; base metrics are always read.
/// `(false, false)` is CVSS-B, `(true, false)` CVSS-BT, `(false, true)` CVSS-BE and
/// `(true, true)` the score of everything the vector carries (what FIRST's calculator shows).
pub(crate) fn score(vector: &Vector, threat: bool, environmental: bool) -> Score {
    score_levels(&Levels::of(vector, threat, environmental))
}

fn score_levels(l: &Levels) -> Score {
    // No impact on either system: the specification's shortcut to 0.0.
    if l.vc == 2 && l.vi == 2 && l.va == 2 && l.sc == 3 && l.si == 3 && l.sa == 3 {
        return Score::ZERO;
    }
    let mv = l.macrovector();
    let [eq1, eq2, eq3, eq4, _, eq6] = mv;
    // Every macrovector the EQs can produce is in the table.
    let Some(value) = lookup(mv) else {
        return Score::ZERO;
    };

    let bump = |i: usize| {
        let mut next = mv;
        next[i] += 1;
        lookup(next)
    };
    let lower_eq1 = bump(0);
    let lower_eq2 = bump(1);
    let lower_eq3eq6 = match (eq3, eq6) {
        // 00 has two next-lower macrovectors (01 and 10): take the higher-scoring one.
        (0, 0) => match (bump(5), bump(2)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        },
        (1, 0) => bump(5),
        (2, _) => None,
        _ => bump(2),
    };
    let lower_eq4 = bump(3);
    let lower_eq5 = bump(4);

    // Severity distances from the first highest-severity vector that the scored vector does
    // not exceed; if none qualifies the last one is used, as the reference calculator does.
    let eq1_max = EQ1_MAX[usize::from(eq1)];
    let eq2_max = EQ2_MAX[usize::from(eq2)];
    let eq3eq6_max = EQ3EQ6_MAX[usize::from(eq3)][usize::from(eq6)];
    let eq4_max = EQ4_MAX[usize::from(eq4)];
    let mut chosen: Option<[i64; 14]> = None;
    'search: for m1 in eq1_max {
        for m2 in eq2_max {
            for m36 in eq3eq6_max {
                let d = [
                    l.av - m1[0],
                    l.pr - m1[1],
                    l.ui - m1[2],
                    l.ac - m2[0],
                    l.at - m2[1],
                    l.vc - m36[0],
                    l.vi - m36[1],
                    l.va - m36[2],
                    l.sc - eq4_max[0],
                    l.si - eq4_max[1],
                    l.sa - eq4_max[2],
                    l.cr - m36[3],
                    l.ir - m36[4],
                    l.ar - m36[5],
                ];
                chosen = Some(d);
                if d.iter().all(|x| *x >= 0) {
                    break 'search;
                }
            }
        }
    }
    let Some(d) = chosen else {
        return Score::ZERO;
    };
    let dist_eq1 = d[0] + d[1] + d[2];
    let dist_eq2 = d[3] + d[4];
    let dist_eq3eq6 = d[5] + d[6] + d[7] + d[11] + d[12] + d[13];
    let dist_eq4 = d[8] + d[9] + d[10];

    // Each term is (value − lower) · distance / depth, in tenths. Sum them over a common
    // denominator so the mean is exact.
    let depth1 = EQ1_DEPTH[usize::from(eq1)];
    let depth2 = EQ2_DEPTH[usize::from(eq2)];
    let depth36 = EQ3EQ6_DEPTH[usize::from(eq3)][usize::from(eq6)];
    let depth4 = EQ4_DEPTH[usize::from(eq4)];
    let common = depth1 * depth2 * depth36.max(1) * depth4;
    let mut numerator = 0i64;
    let mut existing = 0i64;
    for (lower, distance, depth) in [
        (lower_eq1, dist_eq1, depth1),
        (lower_eq2, dist_eq2, depth2),
        (lower_eq3eq6, dist_eq3eq6, depth36),
        (lower_eq4, dist_eq4, depth4),
    ] {
        if let Some(lower) = lower {
            existing += 1;
            numerator += (value - lower) * distance * (common / depth);
        }
    }
    // EQ5 counts towards the mean but always contributes 0: its proportion is defined as 0.
    if lower_eq5.is_some() {
        existing += 1;
    }

    // score = value − numerator / (common · existing), in tenths, clamped to 0..=100.
    let denominator = common * existing.max(1);
    let exact = value * denominator - numerator;
    let clamped = exact.clamp(0, 100 * denominator);
    // Round half up: floor(exact / denominator + 1/2).
    let tenths = (2 * clamped + denominator) / (2 * denominator);
    Score::from_tenths(u8::try_from(tenths).unwrap_or(100)).unwrap_or(Score::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(macrovector: [u8; 6], expect: Option<i64>) {
        assert_eq!(lookup(macrovector), expect, "{macrovector:?}");
    }

    #[test]
    fn lookup_table_is_complete() {
        assert_eq!(INDEX.iter().filter(|t| **t != 0).count(), 270);
        check([0, 0, 0, 0, 0, 0], Some(100));
        check([1, 1, 2, 2, 2, 1], Some(6));
        check([0, 0, 2, 0, 0, 0], None); // EQ3=2 forces EQ6=1
        check([3, 0, 0, 0, 0, 0], None); // past the last EQ1 class
        check([0, 2, 0, 0, 0, 0], None);
        check([0, 0, 0, 0, 3, 0], None);
    }
}
