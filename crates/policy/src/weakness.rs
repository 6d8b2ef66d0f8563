//! C13 inputs for findings judged on what they are rather than on a CVE: the exploitability
//! class of a finding's weakness (its CWE ids through the policy's table and CWE hierarchy),
//! and the tool's own evidence of a working exploit.
//!
//! Each answer names what decided it (the CWE that matched, the ancestor path, the list it comes
//! from; the property and value that counted), so an explanation can show its source.

use serde::Serialize;

use crate::model::{Automatable, WeaknessClass};
use crate::Policy;

/// Depth bound of an ancestor walk (CWE's research view is far shallower; validation rules out
/// cycles, this only keeps a corrupt table from looping).
const MAX_DEPTH: usize = 32;

/// How a finding's CWEs were classified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeaknessMatch {
    pub class: WeaknessClass,
    /// The finding's CWE that gave the class (`None`: the finding names no CWE the table knows).
    pub cwe: Option<u32>,
    /// The CWE the table lists: `cwe` itself, or its nearest listed ancestor.
    pub matched: Option<u32>,
    /// From `cwe` up to `matched` (both included), when inherited.
    pub path: Vec<u32>,
    pub automatable: Automatable,
    pub source: Option<String>,
    pub label_ko: Option<String>,
    pub label_en: Option<String>,
}

impl WeaknessMatch {
    fn unmapped() -> WeaknessMatch {
        WeaknessMatch {
            class: WeaknessClass::Unmapped,
            cwe: None,
            matched: None,
            path: Vec::new(),
            automatable: Automatable::No,
            source: None,
            label_ko: None,
            label_en: None,
        }
    }
}

/// The parent of a CWE in the policy's hierarchy.
pub fn parent(policy: &Policy, cwe: u32) -> Option<u32> {
    policy
        .priority
        .weakness
        .parents
        .iter()
        .find(|[child, _]| *child == cwe)
        .map(|[_, up]| *up)
}

/// `cwe` and its ancestors, nearest first.
pub fn lineage(policy: &Policy, cwe: u32) -> Vec<u32> {
    let mut out = vec![cwe];
    let mut at = cwe;
    while let Some(up) = parent(policy, at) {
        if out.len() > MAX_DEPTH || out.contains(&up) {
            break;
        }
        out.push(up);
        at = up;
    }
    out
}

/// Two CWEs name the same weakness or one refines the other (one is an ancestor of the other).
pub fn related(policy: &Policy, a: u32, b: u32) -> bool {
    a == b || lineage(policy, a).contains(&b) || lineage(policy, b).contains(&a)
}

/// The class of one CWE: its own entry, else its nearest listed ancestor's.
pub fn classify_cwe(policy: &Policy, cwe: u32) -> WeaknessMatch {
    let line = lineage(policy, cwe);
    for (depth, c) in line.iter().enumerate() {
        if let Some(def) = policy
            .priority
            .weakness
            .classes
            .iter()
            .find(|d| d.cwes.contains(c))
        {
            return WeaknessMatch {
                class: def.class,
                cwe: Some(cwe),
                matched: Some(*c),
                path: if depth == 0 {
                    Vec::new()
                } else {
                    line[..=depth].to_vec()
                },
                automatable: def.automatable,
                source: Some(def.source.clone()),
                label_ko: Some(def.label_ko.clone()),
                label_en: Some(def.label_en.clone()),
            };
        }
    }
    WeaknessMatch {
        cwe: Some(cwe),
        ..WeaknessMatch::unmapped()
    }
}

/// The class of a finding: the most dangerous class among its CWEs (the first CWE of that
/// class decides the evidence shown).
pub fn classify(policy: &Policy, cwes: &[u32]) -> WeaknessMatch {
    cwes.iter()
        .map(|c| classify_cwe(policy, *c))
        .filter(|m| m.class != WeaknessClass::Unmapped)
        .min_by_key(|m| m.class)
        .unwrap_or_else(WeaknessMatch::unmapped)
}

/// CWE numbers from the stored `,78,89,` form.
pub fn parse_cwe_list(text: &str) -> Vec<u32> {
    text.split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect()
}

/// The property of a result that counts as the tool's evidence of a working exploit, with its
/// value, when one does: the first listed property name (policy order) present with a truthy
/// value.
pub fn tool_exploit<'a>(
    policy: &Policy,
    properties: &'a [(String, String)],
) -> Option<&'a (String, String)> {
    let t = &policy.priority.tool_evidence;
    t.exploit_properties.iter().find_map(|name| {
        properties
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case(name) && truthy(v, &t.true_values))
    })
}

fn truthy(value: &str, true_values: &[String]) -> bool {
    let v = value.trim();
    v.eq_ignore_ascii_case("true")
        || v.parse::<f64>().is_ok_and(|n| n > 0.0)
        || true_values.iter().any(|t| t.eq_ignore_ascii_case(v))
}
