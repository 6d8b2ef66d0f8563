//! Cross-tool clustering (C12): findings of one institution that several tools or AI models
//! report about the same place and the same weakness are grouped into one cluster, so the patch
//! queue shows one item per real problem. A cluster has at most one finding per producer (tool
//! and AI model): what one producer reports twice is two places.
//!
//! The rules are deterministic and each grouping carries its reason (the file, both lines, both
//! CWEs and how they relate), so a reader can check why two findings were put together. The
//! numbers come from `[priority.clustering]`; without that section nothing is grouped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{weakness, Policy};

/// What the clustering reads of one finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterCandidate {
    pub finding_id: i64,
    pub resource_id: Option<i64>,
    /// The primary location's path.
    pub path: String,
    pub line: u32,
    pub cwes: Vec<u32>,
    pub tool: String,
    pub ai_model: Option<String>,
    /// 1 (P1) … 5 (P5); 9 when undecided. The cluster's leader is its most urgent member.
    pub priority_rank: u8,
}

/// How a member's CWE relates to the leader's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CweRelation {
    Same,
    /// The member's CWE is a child (or deeper) of the leader's.
    Narrower,
    /// The member's CWE is a parent (or higher) of the leader's.
    Broader,
}

/// Why a finding is in its cluster: compared with the cluster's anchor (its first finding by
/// line), which is where the rule was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterReason {
    pub anchor_id: i64,
    pub path: String,
    pub anchor_line: u32,
    pub line: u32,
    pub anchor_cwe: u32,
    pub cwe: u32,
    pub relation: CweRelation,
    pub line_tolerance: u32,
}

/// One finding's place in a cluster of two or more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub finding_id: i64,
    /// The cluster's leader: its most urgent member (then the lowest id).
    pub cluster_id: i64,
    /// `None` for the anchor itself.
    pub reason: Option<ClusterReason>,
}

struct Open {
    anchor: usize,
    members: Vec<(usize, Option<ClusterReason>)>,
}

/// Groups `candidates` (any order); returns the members of clusters of two or more, ordered by
/// finding id. Singletons are left out: most findings are in none.
pub fn cluster(policy: &Policy, candidates: &[ClusterCandidate]) -> Vec<Membership> {
    let Some(rules) = &policy.priority.clustering else {
        return Vec::new();
    };
    let tol = rules.line_tolerance;
    let mut groups: BTreeMap<(Option<i64>, &str), Vec<usize>> = BTreeMap::new();
    for (i, c) in candidates.iter().enumerate() {
        if !c.cwes.is_empty() {
            groups.entry((c.resource_id, &c.path)).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for (_, mut idx) in groups {
        idx.sort_by_key(|&i| (candidates[i].line, candidates[i].finding_id));
        let mut open: Vec<Open> = Vec::new();
        for i in idx {
            let c = &candidates[i];
            let joined = open.iter_mut().find_map(|o| {
                // Sorted by line: the anchor is never below.
                if c.line - candidates[o.anchor].line > tol {
                    return None;
                }
                // One member per producer: a tool (or AI model) that reports two results here
                // means two places, and its own duplicates are its own business.
                let same_producer = o.members.iter().any(|(m, _)| {
                    let m = &candidates[*m];
                    m.tool == c.tool && m.ai_model == c.ai_model
                });
                if same_producer {
                    return None;
                }
                let reason = relate(policy, &candidates[o.anchor], c, tol)?;
                o.members.push((i, Some(reason)));
                Some(())
            });
            if joined.is_none() {
                open.push(Open {
                    anchor: i,
                    members: vec![(i, None)],
                });
            }
            flush(candidates, &mut open, c.line, tol, &mut out);
        }
        flush(candidates, &mut open, u32::MAX, 0, &mut out);
    }
    out.sort_by_key(|m| m.finding_id);
    out
}

/// Moves clusters that can no longer grow (anchor more than `tol` lines above `line`) to `out`.
fn flush(
    candidates: &[ClusterCandidate],
    open: &mut Vec<Open>,
    line: u32,
    tol: u32,
    out: &mut Vec<Membership>,
) {
    let mut keep = Vec::new();
    for o in open.drain(..) {
        if line != u32::MAX && line.saturating_sub(candidates[o.anchor].line) <= tol {
            keep.push(o);
            continue;
        }
        if o.members.len() < 2 {
            continue;
        }
        let leader = o
            .members
            .iter()
            .map(|(m, _)| &candidates[*m])
            .min_by_key(|m| (m.priority_rank, m.finding_id))
            .map(|m| m.finding_id)
            .unwrap_or(candidates[o.anchor].finding_id);
        for (m, reason) in o.members {
            out.push(Membership {
                finding_id: candidates[m].finding_id,
                cluster_id: leader,
                reason,
            });
        }
    }
    *open = keep;
}

/// The reason `c` belongs with `anchor`, when it does: the first pair of related CWEs.
fn relate(
    policy: &Policy,
    anchor: &ClusterCandidate,
    c: &ClusterCandidate,
    tol: u32,
) -> Option<ClusterReason> {
    for &a in &anchor.cwes {
        for &b in &c.cwes {
            let relation = if a == b {
                CweRelation::Same
            } else if weakness::lineage(policy, b).contains(&a) {
                CweRelation::Narrower
            } else if weakness::lineage(policy, a).contains(&b) {
                CweRelation::Broader
            } else {
                continue;
            };
            return Some(ClusterReason {
                anchor_id: anchor.finding_id,
                path: c.path.clone(),
                anchor_line: anchor.line,
                line: c.line,
                anchor_cwe: a,
                cwe: b,
                relation,
                line_tolerance: tol,
            });
        }
    }
    None
}

/// Path and start line of a stored location (`path:line[:column]`); `None` without a line.
pub fn split_location(location: &str) -> Option<(&str, u32)> {
    let mut parts = location.rsplitn(3, ':');
    let last = parts.next()?;
    let mid = parts.next()?;
    match (parts.next(), mid.parse::<u32>(), last.parse::<u32>()) {
        // path:line:column
        (Some(path), Ok(line), Ok(_)) if !path.is_empty() => Some((path, line)),
        // path:line (the path itself may hold a colon)
        (_, _, Ok(line)) => {
            let path = &location[..location.len() - last.len() - 1];
            (!path.is_empty()).then_some((path, line))
        }
        _ => None,
    }
}
