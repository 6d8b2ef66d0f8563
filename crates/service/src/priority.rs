//! C13 prioritisation of findings: the policy's decision table applied to every open finding,
//! with each input's value, source and date stored beside the priority, the row that decided it,
//! the SLA due date and the policy version.
//!
//! A findings import decides its new findings itself, in its own transaction, with the same
//! `Decider`. A recompute runs after anything else that can change an input: a feed import, an
//! advisory, a resource change, a findings import that reopened or changed findings, a policy
//! load. It is set-based where it matters for a
//! million findings: the feeds are loaded once into maps, the findings are read in pages of one
//! aggregated text each, the table is evaluated once per distinct combination of inputs (there
//! are at most a few hundred), the per-CVE-set and per-resource evidence is built once, and a
//! 64-bit digest of everything a finding stores is compared with the stored one so that only
//! changed rows are written, in multi-row `UPDATE … FROM` statements. All of it reads and writes
//! the narrow `finding_priorities` table, never the wide finding rows; what findings with the
//! same inputs share is written once per policy version (`priority_decisions`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Days, NaiveDate};
use haechi_core::Actor;
use haechi_policy::priority::{decide, exploitation_from, exposure_from_zone, PriorityInputs};
use haechi_policy::{
    Automatable, Exploitation, Exposure, NetworkZone, Policy, Priority, ResourceClass, Severity,
    WeaknessClass,
};
use haechi_store::{
    cve_key, CandidateFilter, DecisionWrite, FeedFacts, FeedImportRow, PriorityCandidate,
    PriorityWrite,
};
use serde::Serialize;

use crate::authz::{self, Action, Owner};
use crate::{record, Result, Service, ServiceError};

/// Decisions written per store call (bounds memory; the store writes a call's rows in id order).
const WRITE_BATCH: usize = 100_000;

/// What a recompute did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RecomputeReport {
    /// Open, in-progress and risk-accepted findings read.
    pub findings_read: u64,
    /// Findings written: their priority, deciding row, due date or inputs changed.
    pub rows_written: u64,
    /// CVE-set evidence rows written.
    pub evidence_written: u64,
    pub policy_version: i64,
    /// Findings read, by their (new) priority.
    pub by_priority: BTreeMap<String, u64>,
    pub seconds: f64,
}

/// FNV-1a, 64-bit: a stable digest (unlike `DefaultHasher`, which may change between Rust
/// releases and would then make one recompute rewrite every row).
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

fn severity_rank(s: Severity) -> u8 {
    match s {
        Severity::Critical => 4,
        Severity::High => 3,
        Severity::Medium => 2,
        Severity::Low => 1,
        Severity::None => 0,
    }
}

fn parse_snake<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

fn snake<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// JSON string literal.
fn js(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// What the feeds say about one finding's set of CVEs, with its JSON evidence.
pub(crate) struct CveEvidence {
    authority_advisory: bool,
    exploitation: Exploitation,
    automatable: Automatable,
    /// The automatable input came from a CVSS vector (else the weakness class may give it).
    automatable_from_cvss: bool,
    /// `Some` when a CVE record gives a CVSS severity (the highest among the CVEs).
    severity: Option<Severity>,
    /// `"authority_advisory":…,"exploitation":…,"automatable":…` (and `"severity":…`).
    json: String,
    digest: u64,
}

impl CveEvidence {
    /// The set's share of the table's inputs, as stored beside its evidence: a set whose
    /// summary is unchanged needs none of its findings re-decided.
    fn summary(&self) -> String {
        format!(
            "{}|{}|{}|{}",
            self.authority_advisory,
            snake(&self.exploitation),
            snake(&self.automatable),
            self.severity.map(|s| snake(&s)).unwrap_or_default()
        )
    }
}

/// What the resource says: exposure and class.
struct ResourceEvidence {
    exposure: Exposure,
    class: ResourceClass,
    json: String,
}

/// The feed context of a recompute.
struct Context {
    policy: Arc<Policy>,
    facts: FeedFacts,
    epss_meta: Option<FeedImportRow>,
    kev_meta: Option<FeedImportRow>,
}

impl Context {
    fn cve_evidence(&self, cves: &str) -> CveEvidence {
        let list: Vec<(&str, i64)> = cves
            .split(',')
            .filter(|c| !c.is_empty())
            .filter_map(|c| cve_key(c).map(|k| (c, k)))
            .collect();
        let advisory = list
            .iter()
            .filter_map(|(c, k)| self.facts.advisories.get(k).map(|a| (*c, a)))
            .min_by(|a, b| a.1.published_on.cmp(&b.1.published_on));
        let kev = list
            .iter()
            .filter_map(|(c, k)| self.facts.kev.get(k).map(|d| (*c, d)))
            .min_by(|a, b| a.1.cmp(b.1));
        let epss = list
            .iter()
            .filter_map(|(c, k)| self.facts.epss.get(k).map(|e| (*c, *e)))
            .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0));
        let cvss = list
            .iter()
            .filter_map(|(c, k)| self.facts.cvss.get(k).map(|m| (*c, m)))
            .filter_map(|(c, m)| parse_snake::<Severity>(&m.severity).map(|s| (c, m, s)))
            .max_by_key(|(_, m, s)| (severity_rank(*s), (m.score * 10.0) as i64));
        let authority_advisory = advisory.is_some();
        let exploitation = exploitation_from(
            kev.is_some(),
            authority_advisory,
            epss.map(|e| e.1 .0),
            &self.policy,
        );

        let mut json = String::with_capacity(400);
        match advisory {
            Some((c, a)) => {
                let _ = write!(json, "\"authority_advisory\":{{\"value\":true,\"source\":\"advisory\",\"advisory_id\":{},\"cve\":{},\"date\":{}}}", a.advisory_id, js(c), js(&a.published_on));
            }
            None => {
                json.push_str("\"authority_advisory\":{\"value\":false,\"source\":\"advisory\"}")
            }
        }
        let epss_part = |json: &mut String| {
            if let Some((c, (e, p))) = epss {
                let (model, date) = self
                    .epss_meta
                    .as_ref()
                    .map(|m| {
                        (
                            m.model_version.clone().unwrap_or_default(),
                            m.source_date.clone(),
                        )
                    })
                    .unwrap_or_default();
                let _ = write!(json, ",\"cve\":{},\"epss\":{e},\"percentile\":{p},\"threshold\":{},\"model_version\":{},\"date\":{}", js(c), self.policy.priority.epss_poc_threshold, js(&model), js(&date));
            }
        };
        let _ = write!(
            json,
            ",\"exploitation\":{{\"value\":\"{}\"",
            snake(&exploitation)
        );
        match (exploitation, kev, advisory) {
            (Exploitation::Active, Some((c, added)), _) => {
                let catalog = self
                    .kev_meta
                    .as_ref()
                    .map(|m| m.source_date.clone())
                    .unwrap_or_default();
                let _ = write!(
                    json,
                    ",\"source\":\"KEV\",\"cve\":{},\"date\":{},\"catalog_date\":{}",
                    js(c),
                    js(added),
                    js(&catalog)
                );
            }
            (Exploitation::Poc, None, Some((c, a))) => {
                let _ = write!(
                    json,
                    ",\"source\":\"advisory\",\"advisory_id\":{},\"cve\":{},\"date\":{}",
                    a.advisory_id,
                    js(c),
                    js(&a.published_on)
                );
            }
            _ if epss.is_some() => {
                json.push_str(",\"source\":\"EPSS\"");
                epss_part(&mut json);
            }
            _ => json.push_str(
                ",\"source\":\"none\",\"note\":\"not in KEV, no advisory, no EPSS score\"",
            ),
        }
        json.push('}');
        let (automatable, automatable_from_cvss) = match cvss
            .as_ref()
            .and_then(|(c, m, _)| m.automatable.map(|a| (c, m, a)))
        {
            Some((c, m, a)) => {
                let value = if a { Automatable::Yes } else { Automatable::No };
                let _ = write!(json, ",\"automatable\":{{\"value\":\"{}\",\"source\":\"CVSS\",\"cve\":{},\"version\":{},\"metric\":{}}}", snake(&value), js(c), js(&m.version), js(&m.source));
                (value, true)
            }
            None => {
                json.push_str(",\"automatable\":{\"value\":\"no\",\"source\":\"default\",\"note\":\"no CVSS vector says the attack can be automated\"}");
                (Automatable::No, false)
            }
        };
        let severity = cvss.as_ref().map(|(c, m, s)| {
            let _ = write!(json, ",\"severity\":{{\"value\":\"{}\",\"source\":\"CVSS\",\"cve\":{},\"score\":{},\"version\":{},\"metric\":{}}}", snake(s), js(c), m.score, js(&m.version), js(&m.source));
            *s
        });
        let digest = fnv(FNV_START, json.as_bytes());
        CveEvidence {
            authority_advisory,
            exploitation,
            automatable,
            automatable_from_cvss,
            severity,
            json,
            digest,
        }
    }
}

/// What a decision reads of one finding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    /// The finding's id (0 before it is stored; only named in errors).
    pub id: i64,
    pub resource_id: Option<i64>,
    /// `,CVE-…,CVE-…,`.
    pub cves: &'a str,
    pub severity: &'a str,
    /// `YYYY-MM-DD`: the SLA clock starts there.
    pub created_on: &'a str,
    /// `,78,89,` then `!` when the tool's exploit evidence counted
    /// ([`haechi_store::weakness_facts`]).
    pub weakness: &'a str,
}

impl<'a> From<&'a PriorityCandidate> for Subject<'a> {
    fn from(c: &'a PriorityCandidate) -> Self {
        Subject {
            id: c.id,
            resource_id: c.resource_id,
            cves: &c.cves,
            severity: &c.severity,
            created_on: &c.created_on,
            weakness: &c.weakness,
        }
    }
}

/// What the weakness input of one finding comes to: the class of its CWEs and whether the
/// tool's exploit evidence counted.
#[derive(Debug, Clone, Copy)]
struct WeaknessFacts {
    class: WeaknessClass,
    automatable: Automatable,
    exploit: bool,
}

impl WeaknessFacts {
    fn of(policy: &Policy, weakness: &str) -> WeaknessFacts {
        let (cwes, exploit) = match weakness.strip_suffix('!') {
            Some(c) => (c, true),
            None => (weakness, false),
        };
        let m = haechi_policy::weakness::classify(
            policy,
            &haechi_policy::weakness::parse_cwe_list(cwes),
        );
        WeaknessFacts {
            class: m.class,
            automatable: m.automatable,
            exploit,
        }
    }
}

/// Decides findings' priorities one by one, doing each piece of work once: the feed facts and
/// evidence per CVE set, the exposure and class per resource, the table per distinct combination
/// of inputs, the due date per (SLA, creation day). A recompute and a findings import (which
/// decides its new findings in its own transaction) share it. [`Decider::finish`] stores what
/// the decisions share: the deciding rows and the evidence of new (or, for a global recompute,
/// changed) CVE sets.
pub(crate) struct Decider {
    ctx: Context,
    global: bool,
    /// The decision time stored with every decision.
    pub(crate) now: String,
    resources: HashMap<i64, haechi_store::ResourceRow>,
    /// The stored evidence per CVE-set key: (inputs summary, digest).
    stored: HashMap<i64, (String, i64)>,
    /// CVE keys whose feed facts are loaded.
    loaded: HashSet<i64>,
    by_cves: HashMap<String, CveEvidence>,
    evidence: Vec<haechi_store::EvidenceWrite>,
    decisions: HashMap<InputsKey, (Priority, u32)>,
    shared: Vec<DecisionWrite>,
    /// Due date by SLA days and creation day.
    due_dates: HashMap<u32, HashMap<String, String>>,
    by_resource: HashMap<Option<i64>, (Exposure, ResourceClass)>,
    /// The weakness facts per stored weakness text (a few distinct CWE sets per import).
    by_weakness: HashMap<String, WeaknessFacts>,
    counts: [u64; 5],
}

impl Decider {
    pub(crate) fn policy_version(&self) -> i64 {
        self.ctx.policy.version
    }

    /// Loads the feed facts of CVE sets not seen yet and builds their evidence; returns the sets
    /// whose inputs differ from their stored evidence (or have none stored).
    pub(crate) async fn add_sets<I, S>(
        &mut self,
        tx: &mut haechi_store::WriteTx,
        sets: I,
    ) -> Result<Vec<String>>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let fresh: Vec<String> = sets
            .into_iter()
            .filter(|s| !self.by_cves.contains_key(s.as_ref()))
            .map(|s| s.as_ref().to_string())
            .collect::<std::collections::BTreeSet<String>>()
            .into_iter()
            .collect();
        if fresh.is_empty() {
            return Ok(Vec::new());
        }
        let mut keys: Vec<i64> = fresh
            .iter()
            .flat_map(|s| s.split(',').filter_map(cve_key))
            .filter(|k| !self.loaded.contains(k))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        if !keys.is_empty() {
            let facts = tx.feed_facts(&keys).await?;
            self.ctx.facts.epss.extend(facts.epss);
            self.ctx.facts.kev.extend(facts.kev);
            self.ctx.facts.advisories.extend(facts.advisories);
            self.ctx.facts.cvss.extend(facts.cvss);
            self.loaded.extend(keys);
        }
        let mut dirty = Vec::new();
        for set in fresh {
            let ev = self.ctx.cve_evidence(&set);
            let key = cve_set_key(&set);
            let digest = ev.digest as i64;
            let summary = ev.summary();
            let (write, changed) = match self.stored.get(&key) {
                None => (true, true),
                Some((s, d)) => (self.global && *d != digest, *s != summary),
            };
            if write {
                self.evidence.push(haechi_store::EvidenceWrite {
                    key,
                    cves: set.clone(),
                    inputs: summary,
                    evidence_json: format!("{{{}}}", ev.json),
                    digest,
                });
            }
            if changed {
                dirty.push(set.clone());
            }
            self.by_cves.insert(set, ev);
        }
        Ok(dirty)
    }

    /// Decides one finding (its CVE set added before); the caller compares the digest with the
    /// stored one.
    pub(crate) fn decide(&mut self, c: Subject<'_>) -> Result<PriorityWrite> {
        let cv = self.by_cves.get(c.cves).ok_or_else(|| {
            ServiceError::rule(
                "priority_evidence",
                format!("finding {}: CVE set {:?} was not prepared", c.id, c.cves),
            )
        })?;
        let resources = &self.resources;
        let (exposure, class) = *self.by_resource.entry(c.resource_id).or_insert_with(|| {
            let r = resource_evidence(c.resource_id.and_then(|id| resources.get(&id)));
            (r.exposure, r.class)
        });
        let severity = cv
            .severity
            .unwrap_or_else(|| parse_snake(c.severity).unwrap_or(Severity::None));
        let policy = &self.ctx.policy;
        let w = match self.by_weakness.get(c.weakness) {
            Some(w) => *w,
            None => {
                let w = WeaknessFacts::of(policy, c.weakness);
                self.by_weakness.insert(c.weakness.to_string(), w);
                w
            }
        };
        let inputs = PriorityInputs {
            authority_advisory: cv.authority_advisory,
            exploitation: combined_exploitation(cv.exploitation, w.exploit),
            exposure,
            automatable: if cv.automatable_from_cvss {
                cv.automatable
            } else {
                w.automatable
            },
            class,
            severity,
            weakness: w.class,
        };
        let key = inputs_key(&inputs);
        let (priority, sla_days) = match self.decisions.get(&key) {
            Some(d) => *d,
            None => {
                // The date only matters for the due date, which is computed per finding.
                let d = decide(policy, &inputs, NaiveDate::MIN).map_err(|e| {
                    ServiceError::rule(
                        "priority_table",
                        format!("policy version {}: {e}", policy.version),
                    )
                })?;
                self.decisions.insert(key, (d.priority, d.sla_days));
                self.shared.push(DecisionWrite {
                    decision: decision_code(key),
                    priority: d.priority.as_str(),
                    row: d.row,
                    inputs_json: serde_json::to_string(&inputs).unwrap_or_default(),
                });
                (d.priority, d.sla_days)
            }
        };
        self.counts[priority as usize] += 1;
        // Findings are created on a few distinct days: each day's due dates once.
        let days = self.due_dates.entry(sla_days).or_default();
        let due = match days.get(c.created_on) {
            Some(d) => d.clone(),
            None => {
                let created = NaiveDate::parse_from_str(c.created_on, "%Y-%m-%d").map_err(|e| {
                    ServiceError::rule(
                        "corrupt_finding",
                        format!("finding {}: created_at {:?}: {e}", c.id, c.created_on),
                    )
                })?;
                let due = created
                    .checked_add_days(Days::new(sla_days.into()))
                    .unwrap_or(NaiveDate::MAX)
                    .to_string();
                days.insert(c.created_on.to_string(), due.clone());
                due
            }
        };
        let k = [key.0 as u8, key.1, key.2, key.3, key.4, key.5, key.6];
        let mut h = fnv(FNV_START, &k);
        h = fnv(h, due.as_bytes());
        h = fnv(h, &policy.version.to_le_bytes());
        Ok(PriorityWrite {
            id: c.id,
            priority: priority.as_str(),
            due_date: due,
            decision: decision_code(key),
            // Stored as BIGINT: the bits of the digest, reinterpreted.
            digest: h as i64,
        })
    }

    /// Findings decided so far, by priority.
    pub(crate) fn by_priority(&self) -> BTreeMap<String, u64> {
        Priority::ALL
            .into_iter()
            .filter(|p| self.counts[*p as usize] > 0)
            .map(|p| (p.as_str().to_string(), self.counts[p as usize]))
            .collect()
    }

    /// Stores the shared rows of the decisions made and the evidence of new CVE sets; returns
    /// the evidence rows written.
    pub(crate) async fn finish(&mut self, tx: &mut haechi_store::WriteTx) -> Result<u64> {
        tx.write_decisions(self.policy_version(), &std::mem::take(&mut self.shared))
            .await?;
        Ok(tx
            .write_evidence(&std::mem::take(&mut self.evidence), &self.now)
            .await?)
    }
}

fn resource_evidence(r: Option<&haechi_store::ResourceRow>) -> ResourceEvidence {
    let (exposure, class, json) = match r {
        Some(r) => {
            let zone: Option<NetworkZone> = parse_snake(&r.network_zone);
            // A resource whose stored zone or class no longer parses is treated as exposed and
            // classified: the safe side of a data error.
            let exposure = zone.map(exposure_from_zone).unwrap_or(Exposure::Open);
            let class = match r.class.as_str() {
                "O" => ResourceClass::O,
                "S" => ResourceClass::S,
                _ => ResourceClass::C,
            };
            let json = format!(
                ",\"exposure\":{{\"value\":\"{}\",\"source\":\"resource\",\"resource_id\":{},\"resource\":{},\"network_zone\":{}}},\"class\":{{\"value\":\"{}\",\"source\":\"resource\",\"resource_id\":{},\"decided_by\":{},\"policy_version\":{}}}",
                snake(&exposure), r.id, js(&r.name), js(&r.network_zone), class.as_str(), r.id, js(&r.decided_by), r.policy_version
            );
            (exposure, class, json)
        }
        None => (
            Exposure::Open,
            ResourceClass::C,
            ",\"exposure\":{\"value\":\"open\",\"source\":\"default\",\"note\":\"no resource linked: assumed internet-facing\"},\"class\":{\"value\":\"C\",\"source\":\"default\",\"note\":\"no resource linked: assumed class C\"}".to_string(),
        ),
    };
    ResourceEvidence {
        exposure,
        class,
        json,
    }
}

type InputsKey = (bool, u8, u8, u8, u8, u8, u8);

/// The exploitation input: the feeds' answer, raised to `poc` when the tool's own evidence of a
/// working exploit counted (KEV's `active` stays).
pub(crate) fn combined_exploitation(feeds: Exploitation, tool_exploit: bool) -> Exploitation {
    match feeds {
        Exploitation::None if tool_exploit => Exploitation::Poc,
        e => e,
    }
}

fn inputs_key(i: &PriorityInputs) -> InputsKey {
    (
        i.authority_advisory,
        i.exploitation as u8,
        i.exposure as u8,
        i.automatable as u8,
        i.class as u8,
        i.severity as u8,
        i.weakness as u8,
    )
}

/// The stored code of a combination of inputs (`priority_decisions.decision`): the seven
/// inputs, four bits each.
fn decision_code(k: InputsKey) -> i64 {
    i64::from(k.0)
        | i64::from(k.1) << 4
        | i64::from(k.2) << 8
        | i64::from(k.3) << 12
        | i64::from(k.4) << 16
        | i64::from(k.5) << 20
        | i64::from(k.6) << 24
}

/// The explanation's weakness input, and the exploitation and automatable inputs where the
/// finding's own facts (the tool's exploit evidence, the weakness class) decided them rather
/// than the feeds. Each names its source as the feed inputs do.
fn weakness_evidence(
    policy: &Policy,
    row: &haechi_store::FindingPriorityRow,
) -> Vec<(&'static str, serde_json::Value)> {
    use haechi_policy::weakness::{classify, parse_cwe_list};
    let cwes = parse_cwe_list(&row.cwes);
    let m = classify(policy, &cwes);
    let mut out = vec![(
        "weakness",
        serde_json::json!({
            "value": m.class,
            "source": m.source.clone().unwrap_or_else(|| "policy".into()),
            "cwes": cwes,
            "cwe": m.cwe,
            "matched": m.matched,
            "path": m.path,
            "label_ko": m.label_ko,
            "label_en": m.label_en,
        }),
    )];
    if let Some(ev) = &row.exploit_evidence {
        let (property, value) = ev.split_once('=').unwrap_or((ev.as_str(), ""));
        out.push((
            "exploitation",
            serde_json::json!({
                "value": "poc",
                "source": "tool",
                "tool": row.tool_name,
                "ai_model": row.ai_model,
                "property": property,
                "property_value": value,
            }),
        ));
    }
    if m.class != WeaknessClass::Unmapped {
        out.push((
            "automatable",
            serde_json::json!({
                "value": m.automatable,
                "source": "weakness",
                "cwe": m.matched,
            }),
        ));
    }
    out
}

/// Who may recompute: the regulator's feed managers anything, an institution's own staff their
/// institution's findings.
fn authorize_recompute(actor: &Actor, institution: Option<i64>) -> Result<()> {
    match institution {
        Some(i) if !authz::allows(actor.role, Action::ManageFeeds) => {
            authz::authorize_record(actor, Action::ManageFindings, Owner::Institution(i))
        }
        _ => authz::authorize(actor, Action::ManageFeeds),
    }
}

/// The key of a CVE set in `priority_evidence`: FNV-1a of the findings' `cves` text, its bits
/// read as a signed integer.
pub fn cve_set_key(cves: &str) -> i64 {
    fnv(FNV_START, cves.as_bytes()) as i64
}

/// What a recompute covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Every prioritised finding of one institution (`Some`) or of all.
    Full(Option<i64>),
    /// After a feed or advisory change: only the CVE sets whose inputs changed, plus findings
    /// whose decision is missing or stale.
    Feeds,
    /// After a findings import: only the findings (of one institution, or of all) whose
    /// decision is missing or stale (new, reopened, or an input such as the severity changed).
    Pending(Option<i64>),
}

/// A finding's decision with the evidence behind each input (its explanation).
#[derive(Debug, Clone, Serialize)]
pub struct PriorityExplanation {
    #[serde(flatten)]
    pub stored: haechi_store::FindingPriorityRow,
    /// Per input: value, source and date (EPSS model and score date, KEV date added, advisory,
    /// CVSS metric, resource zone and class, SARIF severity).
    pub evidence: serde_json::Value,
    /// When the CVE evidence was last computed (`None`: no feed evidence stored yet).
    pub evidence_decided_at: Option<String>,
}

impl Service {
    /// Recomputes the priority of every open finding of one institution (`Some`) or of all,
    /// writing only the findings whose priority, due date or inputs changed, in one
    /// transaction with one audit entry (none when nothing changed).
    pub async fn recompute_priorities(
        &self,
        actor: &Actor,
        institution: Option<i64>,
    ) -> Result<RecomputeReport> {
        authorize_recompute(actor, institution)?;
        self.recompute(actor, Mode::Full(institution)).await
    }

    /// Re-prioritises after a feed import or an advisory: only the findings whose CVE set's
    /// inputs changed are re-read.
    pub(crate) async fn recompute_after_feeds(&self, actor: &Actor) -> Result<RecomputeReport> {
        authz::authorize(actor, Action::ManageFeeds)?;
        self.recompute(actor, Mode::Feeds).await
    }

    async fn recompute(&self, actor: &Actor, mode: Mode) -> Result<RecomputeReport> {
        let started = Instant::now();
        // A big page cache for the read and the writes of a million findings (SQLite only).
        let mut tx = self.store.begin_bulk(256).await?;
        let report = self.recompute_in(&mut tx, actor, mode, started).await?;
        if report.rows_written == 0 && report.evidence_written == 0 {
            // Nothing changed: no audit entry either (the transaction rolls back empty).
            return Ok(report);
        }
        let institution = match mode {
            Mode::Full(i) => i,
            Mode::Pending(i) => i,
            Mode::Feeds => None,
        };
        tx.audit(record(actor, "priorities.recompute", "finding", "*", institution, None, Some(serde_json::json!({"mode": format!("{mode:?}"), "findings_read": report.findings_read, "rows_written": report.rows_written, "evidence_written": report.evidence_written, "policy_version": report.policy_version, "by_priority": report.by_priority})))).await?;
        tx.commit().await?;
        let mut report = report;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    async fn recompute_in(
        &self,
        tx: &mut haechi_store::WriteTx,
        _actor: &Actor,
        mode: Mode,
        started: Instant,
    ) -> Result<RecomputeReport> {
        let scope = match mode {
            Mode::Full(i) => i,
            Mode::Pending(i) => i,
            Mode::Feeds => None,
        };
        // A pending recompute needs only the CVE sets of its findings, added page by page; the
        // others start from every set in use (a feed change must know which sets moved).
        let sets = match mode {
            Mode::Pending(_) => Vec::new(),
            _ => tx.prioritised_cve_sets(scope).await?,
        };
        // Only a recompute over every institution may replace stored evidence: the evidence of
        // a set must be what every finding of that set was decided with.
        let global = matches!(mode, Mode::Full(None) | Mode::Feeds);
        let mut decider = self.decider(tx, scope, global).await?;
        let dirty = decider.add_sets(tx, sets).await?;
        let mut report = RecomputeReport {
            policy_version: decider.policy_version(),
            ..RecomputeReport::default()
        };
        let dirty_set: std::collections::HashSet<String> = dirty.iter().cloned().collect();
        let mut writes: Vec<PriorityWrite> = Vec::new();
        // A feed change reads the findings of the sets that moved, a few thousand sets at a time,
        // then (second stage) those left pending; the other modes read id pages of one kind.
        let mut moved = dirty.chunks(haechi_store::SET_BATCH);
        let mut second_stage = false;
        let mut after = 0;
        loop {
            let pending_after_feeds = matches!(mode, Mode::Feeds) && second_stage;
            let page = match mode {
                Mode::Full(i) => {
                    tx.priority_candidates(CandidateFilter::All(i), after)
                        .await?
                }
                Mode::Pending(i) => {
                    tx.priority_candidates(CandidateFilter::Pending(i), after)
                        .await?
                }
                Mode::Feeds if second_stage => {
                    tx.priority_candidates(CandidateFilter::Pending(None), after)
                        .await?
                }
                Mode::Feeds => match moved.next() {
                    Some(sets) => {
                        tx.priority_candidates(CandidateFilter::CveSets(sets), 0)
                            .await?
                    }
                    None => {
                        // The pending stage pages from the start.
                        second_stage = true;
                        continue;
                    }
                },
            };
            if !matches!(mode, Mode::Feeds) || second_stage {
                match page.last() {
                    Some(c) => after = c.id,
                    None => break,
                }
            }
            // Sets met only now: a pending page's (the sets above cover every other candidate).
            decider
                .add_sets(tx, page.iter().map(|c| c.cves.as_str()))
                .await?;
            for c in &page {
                // In the pending stage after a feed change, those of a re-read set were decided
                // in the first stage.
                if pending_after_feeds && dirty_set.contains(c.cves.as_str()) {
                    continue;
                }
                report.findings_read += 1;
                let w = decider.decide(Subject::from(c))?;
                if c.digest == Some(w.digest) {
                    continue;
                }
                writes.push(w);
                if writes.len() >= WRITE_BATCH {
                    report.rows_written += tx
                        .write_priorities(decider.policy_version(), &decider.now, &writes)
                        .await?;
                    writes.clear();
                }
            }
        }
        report.rows_written += tx
            .write_priorities(decider.policy_version(), &decider.now, &writes)
            .await?;
        report.evidence_written = decider.finish(tx).await?;
        report.by_priority = decider.by_priority();
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// A [`Decider`] for the findings of one institution (`Some`) or of all, under the policy in
    /// force; `global` lets it replace the stored evidence of CVE sets.
    pub(crate) async fn decider(
        &self,
        tx: &mut haechi_store::WriteTx,
        scope: Option<i64>,
        global: bool,
    ) -> Result<Decider> {
        let policy = self.policy_in(tx).await?;
        let epss_meta = haechi_store::latest_feed_import(tx.conn(), "epss").await?;
        let kev_meta = haechi_store::latest_feed_import(tx.conn(), "kev").await?;
        let resources = haechi_store::list_resources(tx.conn(), scope)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let stored = tx.stored_evidence().await?;
        Ok(Decider {
            ctx: Context {
                policy,
                facts: FeedFacts::default(),
                epss_meta,
                kev_meta,
            },
            global,
            now: self.now_text(),
            resources,
            stored,
            loaded: HashSet::new(),
            by_cves: HashMap::new(),
            evidence: Vec::new(),
            decisions: HashMap::new(),
            shared: Vec::new(),
            due_dates: HashMap::new(),
            by_resource: HashMap::new(),
            by_weakness: HashMap::new(),
            counts: [0; 5],
        })
    }

    /// Recompute after a change that has already been committed (a resource change, a policy
    /// load): every finding of one institution (`Some`) or of all.
    pub(crate) async fn refresh_priorities(&self, actor: &Actor, institution: Option<i64>) {
        self.refresh(actor, institution, Mode::Full(institution))
            .await;
    }

    /// Decides the findings of one institution whose decision is missing or stale, after a
    /// committed findings import.
    pub(crate) async fn refresh_pending_priorities(&self, actor: &Actor, institution: i64) {
        self.refresh(actor, Some(institution), Mode::Pending(Some(institution)))
            .await;
    }

    /// On start: decides whatever was left undecided or stale (a crash between an import and its
    /// recompute, or decisions carried over by a schema migration). Costs one index probe when
    /// there is nothing to do.
    pub(crate) async fn decide_pending_on_start(&self) -> Result<()> {
        if haechi_store::has_pending_priorities(self.store.pool()).await? {
            self.refresh(&Actor::system(), None, Mode::Pending(None))
                .await;
        }
        Ok(())
    }

    /// A recompute after a change that has already been committed: a failure is logged, not
    /// returned, because the change itself stands and the next recompute catches up.
    async fn refresh(&self, actor: &Actor, institution: Option<i64>, mode: Mode) {
        let outcome = match authorize_recompute(actor, institution) {
            Ok(()) => self.recompute(actor, mode).await,
            Err(e) => Err(e),
        };
        if let Err(e) = outcome {
            tracing::warn!(mode = ?mode, error = %e, "re-prioritising findings failed; the next change retries");
        }
    }

    /// The stored decision on one finding with the evidence behind every input (its
    /// explanation).
    pub async fn finding_priority(&self, actor: &Actor, id: i64) -> Result<PriorityExplanation> {
        authz::authorize(actor, Action::ReadFindings)?;
        let pool = self.store.pool();
        let row = haechi_store::finding_priority(pool, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ReadFindings,
            Owner::Institution(row.institution_id),
        )?;
        let stored = haechi_store::priority_evidence(pool, cve_set_key(&row.cves)).await?;
        let resource = match row.resource_id {
            Some(r) => haechi_store::get_resource(pool, r).await?,
            None => None,
        };
        let (mut evidence, decided_at) = match stored {
            Some((v, at)) => (v, Some(at)),
            None => (serde_json::json!({}), None),
        };
        let res: serde_json::Value = serde_json::from_str(&format!(
            "{{{}}}",
            resource_evidence(resource.as_ref())
                .json
                .trim_start_matches(',')
        ))
        .unwrap_or(serde_json::Value::Null);
        if let (Some(obj), Some(res)) = (evidence.as_object_mut(), res.as_object()) {
            for (k, v) in res {
                obj.insert(k.clone(), v.clone());
            }
            let policy = self.policy();
            for (k, v) in weakness_evidence(&policy, &row) {
                // The finding's own facts stand in where the feeds had nothing to say.
                let feeds_silent = obj
                    .get(k)
                    .and_then(|e| e.get("source"))
                    .and_then(|s| s.as_str())
                    .is_none_or(|s| s == "none" || s == "default");
                if k == "weakness" || feeds_silent {
                    obj.insert(k.into(), v);
                }
            }
            if !obj.contains_key("severity") {
                let sev = match row.security_severity {
                    Some(ss) => {
                        serde_json::json!({"value": row.severity, "source": "SARIF", "security_severity": ss})
                    }
                    None => serde_json::json!({"value": row.severity, "source": "SARIF level"}),
                };
                obj.insert("severity".into(), sev);
            }
        }
        Ok(PriorityExplanation {
            stored: row,
            evidence,
            evidence_decided_at: decided_at,
        })
    }
}
