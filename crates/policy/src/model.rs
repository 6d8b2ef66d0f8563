//! The serde model of the policy document (`policy/default.toml`): one struct per TOML section.
//!
//! Types here only describe the document. Whether the values make sense together is decided in
//! `validate`, and what they mean for a case in the engine modules. Unknown keys are rejected so
//! that a typo in the file is an error rather than a silently ignored rule.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use serde::de::{self, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::rule::Rule;

/// The whole program policy. Build it with [`Policy::from_toml_str`] or
/// [`Policy::default_policy`]; both validate it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The stored version number. Not part of the document: the store assigns it on save and
    /// every decision copies it, so 0 means "not stored yet".
    #[serde(skip)]
    pub version: i64,
    pub program: Program,
    pub eligibility: EligibilityPolicy,
    #[serde(rename = "phase")]
    pub phases: Vec<Phase>,
    pub evaluation: EvaluationPolicy,
    pub reporting: ReportingPolicy,
    pub immunity: ImmunityPolicy,
    pub classification: ClassificationPolicy,
    pub priority: PriorityPolicy,
    pub sharing: SharingPolicy,
    /// `[removal]`: the full-removal ranking (absent in versions before it existed: then the
    /// track cannot rank, and says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removal: Option<crate::removal::RemovalPolicy>,
}

/// `[program]`: the relief program as a whole.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub name_ko: String,
    pub name_en: String,
    /// The first day this policy version applies to new decisions.
    #[serde(deserialize_with = "date")]
    pub effective_from: NaiveDate,
    pub relief_validity_months: u32,
    /// Letter numbers; placeholders `{year}`, `{seq}`, `{seq:0N}`.
    pub letter_number_format: String,
    /// Days before expiry on which reminders go out.
    pub expiry_reminder_days: Vec<u32>,
    /// How many days before a letter ends its renewal may be drafted (a renewal is valid from
    /// the day after the letter it renews ends). Policies stored before this field read as 90.
    #[serde(default = "default_renewal_window_days")]
    pub renewal_window_days: u32,
}

fn default_renewal_window_days() -> u32 {
    90
}

/// `[eligibility]`: every rule must pass.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EligibilityPolicy {
    pub rules: Vec<Rule>,
}

/// `[[phase]]`: a date window (inclusive) and the size of its cohort.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub id: String,
    pub label_ko: String,
    pub label_en: String,
    #[serde(deserialize_with = "date")]
    pub start: NaiveDate,
    #[serde(deserialize_with = "date")]
    pub end: NaiveDate,
    #[serde(default)]
    pub min: u32,
    /// `None`: the phase takes every remaining approved applicant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
}

/// `[evaluation]`: expert evaluation of an application (C4).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EvaluationPolicy {
    pub reviewers_per_application: u32,
    /// A criterion is flagged when max − min of its scores reaches this.
    pub disagreement_spread: u8,
    pub scale: Vec<ScaleLevel>,
    pub criteria: Vec<Criterion>,
    pub pass_marks: PassMarks,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScaleLevel {
    pub level: u8,
    pub label_ko: String,
    pub label_en: String,
}

/// The two rubrics of C4.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Rubric {
    /// Security-management capability (the FSI diagnosis framework's areas).
    Security,
    /// AI-utilisation capability.
    Ai,
}

impl Rubric {
    pub const ALL: [Rubric; 2] = [Rubric::Security, Rubric::Ai];

    pub fn as_str(self) -> &'static str {
        match self {
            Rubric::Security => "security",
            Rubric::Ai => "ai",
        }
    }

    pub fn label_ko(self) -> &'static str {
        match self {
            Rubric::Security => "보안관리 역량",
            Rubric::Ai => "AI 활용 역량",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Rubric::Security => "Security-management capability",
            Rubric::Ai => "AI-utilisation capability",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub id: String,
    pub rubric: Rubric,
    pub weight: f64,
    pub label_ko: String,
    pub label_en: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PassMarks {
    pub security: PassMark,
    pub ai: PassMark,
}

impl PassMarks {
    pub fn get(&self, rubric: Rubric) -> &PassMark {
        match rubric {
            Rubric::Security => &self.security,
            Rubric::Ai => &self.ai,
        }
    }
}

/// A rubric passes when its weighted mean reaches `min_mean` and, if set, no criterion's mean
/// is below `min_criterion_mean`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PassMark {
    pub min_mean: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_criterion_mean: Option<f64>,
}

/// `[reporting]`: obligations under a letter and the incident clock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReportingPolicy {
    pub cadence_months: u32,
    pub due_days_after_period: u32,
    pub final_report_at_expiry: bool,
    pub saas_self_evaluation_months: u32,
    #[serde(default)]
    pub saas_self_evaluation_due_days: u32,
    /// Days before a report's due date on which its institution is reminded (each once).
    #[serde(default = "crate::reporting::default_reminder_days")]
    pub report_reminder_days: Vec<u32>,
    /// Evidence files of a report version (`[reporting.attachments]`).
    #[serde(default)]
    pub attachments: crate::reporting::ReportAttachmentPolicy,
    pub incident: IncidentPolicy,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IncidentPolicy {
    pub initial_report_days: u32,
    pub interim_report_months: u32,
    pub interim_repeat_months: u32,
    pub trigger: IncidentTrigger,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IncidentTrigger {
    pub outage_minutes: u32,
    pub large_service_outage_minutes: u32,
    pub large_service_subscribers: u64,
}

/// `[immunity]`: sanction immunity for minor disruptions (C8).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImmunityPolicy {
    pub scope: Vec<ActivityKind>,
    pub emergency_patch_requires_authority_advisory: bool,
    pub criteria: Vec<Rule>,
    pub work_plan: Vec<SafeguardItem>,
    pub post_event: Vec<SafeguardItem>,
}

/// The security activity that caused a disruption.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    AiSecurityTest,
    EmergencyPatch,
}

impl ActivityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityKind::AiSecurityTest => "ai_security_test",
            ActivityKind::EmergencyPatch => "emergency_patch",
        }
    }
}

/// A precaution the immunity criteria require, before (work plan) or after the event.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Safeguard {
    PreTesting,
    SpreadPrevention,
    ServiceContinuity,
    CustomerAdvanceNotice,
    PromptRecovery,
    ConsumerProtection,
}

impl Safeguard {
    pub fn as_str(self) -> &'static str {
        match self {
            Safeguard::PreTesting => "pre_testing",
            Safeguard::SpreadPrevention => "spread_prevention",
            Safeguard::ServiceContinuity => "service_continuity",
            Safeguard::CustomerAdvanceNotice => "customer_advance_notice",
            Safeguard::PromptRecovery => "prompt_recovery",
            Safeguard::ConsumerProtection => "consumer_protection",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SafeguardItem {
    pub id: Safeguard,
    pub label_ko: String,
    pub label_en: String,
}

/// `[classification]`: classes of computing resources (C11).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClassificationPolicy {
    /// Applies when no rule matches.
    pub default: ClassDefault,
    pub rules: Vec<ClassRule>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClassDefault {
    pub id: String,
    pub class: ResourceClass,
    pub label_ko: String,
    pub label_en: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClassRule {
    pub id: String,
    pub class: ResourceClass,
    pub when: ResourceCondition,
    pub label_ko: String,
    pub label_en: String,
}

/// Conditions on a resource; all given ones must hold. A list means "any of".
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResourceCondition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AnyOf<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_zone: Option<AnyOf<NetworkZone>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes_electronic_transactions: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_function: Option<AnyOf<String>>,
    /// Matches when the resource handles any of these kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_kinds: Option<AnyOf<DataKind>>,
}

impl ResourceCondition {
    pub fn is_empty(&self) -> bool {
        self == &ResourceCondition::default()
    }
}

/// Resource classes after the national MLS model, ordered so that `O < S < C`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceClass {
    /// Open (공개): public or pseudonymised.
    O,
    /// Sensitive (민감): customer personal or non-public business data, logs, backups.
    S,
    /// Classified (기밀): electronic financial transactions, core functions, credit information.
    C,
}

impl ResourceClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceClass::O => "O",
            ResourceClass::S => "S",
            ResourceClass::C => "C",
        }
    }

    pub fn label_ko(self) -> &'static str {
        match self {
            ResourceClass::O => "공개",
            ResourceClass::S => "민감",
            ResourceClass::C => "기밀",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            ResourceClass::O => "Open",
            ResourceClass::S => "Sensitive",
            ResourceClass::C => "Classified",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum NetworkZone {
    /// The internal, separated business network.
    Internal,
    Dmz,
    Internet,
    ExternalSaas,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    PersonalCredit,
    CustomerPersonal,
    NonPublicBusiness,
    LogsBackups,
    Public,
    Pseudonymised,
}

/// `[priority]`: the patch-priority decision table (C13).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriorityPolicy {
    /// EPSS at or above this makes a non-KEV CVE count as `poc`.
    pub epss_poc_threshold: f64,
    pub rows: Vec<PriorityRow>,
    pub sla_days: BTreeMap<Priority, u32>,
    /// Per-class overrides of `sla_days`; a priority missing here falls back to `sla_days`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sla_days_by_class: BTreeMap<ResourceClass, BTreeMap<Priority, u32>>,
    /// How a finding's CWEs give it a weakness class (absent in versions before it existed:
    /// then every finding is `unmapped`, and those versions decide as they always did).
    #[serde(default)]
    pub weakness: WeaknessPolicy,
    /// Which properties of a tool's result count as evidence of a working exploit.
    #[serde(default)]
    pub tool_evidence: ToolEvidencePolicy,
    /// How findings of several tools that report one real problem are grouped (absent in
    /// versions before it existed: then no finding is grouped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clustering: Option<ClusteringPolicy>,
}

/// `[priority.clustering]`: when two findings of one institution are one real problem. Both
/// must be on the same resource and file, start within `line_tolerance` lines of the cluster's
/// first finding, name related CWEs (the same, or one an ancestor of the other in
/// `[priority.weakness].parents`), and come from different producers (tool and AI model: what
/// one producer reports twice means two places).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClusteringPolicy {
    pub line_tolerance: u32,
}

/// `[priority.weakness]`: CWE ids mapped to an exploitability class, with the CWE hierarchy so
/// that a child inherits the class of its nearest mapped ancestor.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WeaknessPolicy {
    /// `[child, parent]` pairs (one parent per child: the primary `ChildOf` of MITRE's research
    /// view, CWE-1000).
    #[serde(default)]
    pub parents: Vec<[u32; 2]>,
    #[serde(default)]
    pub classes: Vec<WeaknessClassDef>,
}

/// One exploitability class and the CWEs that are in it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WeaknessClassDef {
    pub class: WeaknessClass,
    pub label_ko: String,
    pub label_en: String,
    /// SSVC "automatable" for a weakness of this class when no CVSS vector says so.
    pub automatable: Automatable,
    /// The public list the CWEs were taken from, with its year.
    pub source: String,
    pub cwes: Vec<u32>,
}

/// Exploitability class of a finding's weakness, most dangerous first.
#[derive(
    Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
#[serde(rename_all = "snake_case")]
pub enum WeaknessClass {
    /// An attacker's input leads straight to code execution, data access or control beyond
    /// what was granted: injection, code execution, authentication or authorisation bypass,
    /// memory corruption, unsafe deserialisation, path traversal, hard-coded credentials.
    Direct,
    /// Needs a victim, a second system or a further step: XSS, CSRF, SSRF, XXE, redirects,
    /// information exposure, certificate validation, denial of service.
    Indirect,
    /// Weakens defences without an attack path of its own: weak cryptography or randomness,
    /// error handling, temporary files, logging.
    Hygiene,
    /// No CWE, or none the table knows.
    #[default]
    Unmapped,
}

impl WeaknessClass {
    pub const ALL: [WeaknessClass; 4] = [
        WeaknessClass::Direct,
        WeaknessClass::Indirect,
        WeaknessClass::Hygiene,
        WeaknessClass::Unmapped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WeaknessClass::Direct => "direct",
            WeaknessClass::Indirect => "indirect",
            WeaknessClass::Hygiene => "hygiene",
            WeaknessClass::Unmapped => "unmapped",
        }
    }
}

/// `[priority.tool_evidence]`: result properties by which a testing tool (typically an AI
/// model) says it confirmed or generated a working exploit. Names are compared without regard to
/// case; a property counts when its value is `true`, a positive number, or one of
/// `true_values` (also without regard to case).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ToolEvidencePolicy {
    #[serde(default)]
    pub exploit_properties: Vec<String>,
    #[serde(default)]
    pub true_values: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriorityRow {
    pub id: String,
    pub when: PriorityCondition,
    pub priority: Priority,
}

/// Conditions of a priority row; all given ones must hold, a list means "any of", and an empty
/// condition matches everything.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriorityCondition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_advisory: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exploitation: Option<AnyOf<Exploitation>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<AnyOf<Exposure>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatable: Option<AnyOf<Automatable>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<AnyOf<ResourceClass>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<AnyOf<Severity>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weakness: Option<AnyOf<WeaknessClass>>,
}

impl PriorityCondition {
    pub fn is_catch_all(&self) -> bool {
        self == &PriorityCondition::default()
    }
}

/// Patch priority, `P1` most urgent; ordered so that `P1 < P5`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
    P5,
}

impl Priority {
    pub const ALL: [Priority; 5] = [
        Priority::P1,
        Priority::P2,
        Priority::P3,
        Priority::P4,
        Priority::P5,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
            Priority::P5 => "P5",
        }
    }
}

/// SSVC "exploitation".
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Exploitation {
    /// Exploited in the wild (CISA KEV).
    Active,
    /// A public proof of concept or a likely exploit (EPSS at or above the threshold).
    Poc,
    None,
}

/// SSVC "exposure" of the affected resource.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Exposure {
    Open,
    Controlled,
    Small,
}

/// SSVC "automatable".
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Automatable {
    Yes,
    No,
}

/// CVSS qualitative severity.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    None,
}

/// `[sharing]`: anonymity of statistics and TLP defaults (C9, C10).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SharingPolicy {
    pub anonymity_k: u32,
    /// Dominance rule of published statistics: a cell is withheld when its largest
    /// `dominance_top_n` contributors make up more than `dominance_max_percent` of its value.
    #[serde(default)]
    pub dominance: DominanceRule,
    /// Bulletin kind -> default marking.
    pub default_tlp: BTreeMap<String, Tlp>,
}

/// `[sharing.dominance]`: the (n, p) dominance rule of statistical disclosure control.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DominanceRule {
    pub top_n: u32,
    pub max_percent: f64,
}

impl Default for DominanceRule {
    fn default() -> Self {
        DominanceRule {
            top_n: 2,
            max_percent: 90.0,
        }
    }
}

/// TLP 2.0 markings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
pub enum Tlp {
    #[serde(rename = "TLP:CLEAR")]
    Clear,
    #[serde(rename = "TLP:GREEN")]
    Green,
    #[serde(rename = "TLP:AMBER")]
    Amber,
    #[serde(rename = "TLP:AMBER+STRICT")]
    AmberStrict,
    #[serde(rename = "TLP:RED")]
    Red,
}

impl SharingPolicy {
    /// The default marking for a bulletin kind, if the policy names one.
    pub fn default_tlp_for(&self, kind: &str) -> Option<Tlp> {
        self.default_tlp.get(kind).copied()
    }
}

/// One value or a list of values, any of which matches. Written in TOML either as
/// `exposure = "open"` or `exposure = ["open", "controlled"]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AnyOf<T>(pub Vec<T>);

impl<T: PartialEq> AnyOf<T> {
    pub fn contains(&self, value: &T) -> bool {
        self.0.contains(value)
    }
}

impl<T: Serialize> Serialize for AnyOf<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for AnyOf<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AnyOfVisitor<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for AnyOfVisitor<T> {
            type Value = AnyOf<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value or a list of values")
            }

            // Going through the value's own deserializer keeps serde's precise message, e.g.
            // "unknown variant `opne`, expected one of `open`, `controlled`, `small`".
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(AnyOf(vec![T::deserialize(v.into_deserializer())?]))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(AnyOf(vec![T::deserialize(v.into_deserializer())?]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(AnyOf(items))
            }
        }

        deserializer.deserialize_any(AnyOfVisitor(std::marker::PhantomData))
    }
}

/// Reads a date written either as a TOML local date (`2026-06-01`) or as a string. chrono's own
/// deserializer only takes strings, and the TOML deserializer hands dates over as a map.
pub(crate) fn date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    struct DateVisitor;

    impl<'de> Visitor<'de> for DateVisitor {
        type Value = NaiveDate;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a local date such as 2026-06-01")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<NaiveDate, E> {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| E::custom(format!("`{v}` is not a local date such as 2026-06-01")))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<NaiveDate, A::Error> {
            match map.next_entry::<String, String>()? {
                Some((_, text)) => self.visit_str(&text),
                None => Err(de::Error::custom(
                    "expected a local date such as 2026-06-01",
                )),
            }
        }
    }

    deserializer.deserialize_any(DateVisitor)
}
