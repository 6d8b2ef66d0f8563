//! Public, resolved SARIF shapes handed to a [`ResultSink`]: one [`RunInfo`] per run and one
//! [`SarifFinding`] per result, with rules already resolved and identity already computed.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// SARIF `level` (§3.27.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Not a failure (pass, informational...).
    None,
    /// A minor problem or an opportunity for improvement.
    Note,
    /// A problem that is not severe enough to stop the build. SARIF's default.
    Warning,
    /// A serious problem.
    Error,
}

impl Level {
    /// The SARIF spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// Where a finding's effective level came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelSource {
    /// `result.level` was present.
    Result,
    /// `defaultConfiguration.level` of the resolved rule.
    RuleDefault,
    /// `kind` was not `fail`, so SARIF §3.27.10 makes the absent level `none`.
    KindNotFail,
    /// Nothing said anything: SARIF's default `warning`.
    Default,
}

/// SARIF `kind` (§3.27.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ResultKind {
    /// The rule was not evaluated because it does not apply.
    NotApplicable,
    /// The rule was evaluated and no problem was found.
    Pass,
    /// A problem was found. SARIF's default.
    Fail,
    /// A human must review.
    Review,
    /// The tool could not decide.
    Open,
    /// Information only.
    Informational,
}

impl ResultKind {
    /// The SARIF spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ResultKind::NotApplicable => "notApplicable",
            ResultKind::Pass => "pass",
            ResultKind::Fail => "fail",
            ResultKind::Review => "review",
            ResultKind::Open => "open",
            ResultKind::Informational => "informational",
        }
    }
}

/// Deserializes a closed set of strings via `deserialize_str`, so a number or object is an
/// "invalid type" error at its position (derived enums make serde_json report a syntax error).
macro_rules! str_enum_deserialize {
    ($ty:ident, $expecting:literal, $($s:literal => $v:ident),+ $(,)?) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        match v {
                            $($s => Ok($ty::$v),)+
                            other => Err(E::invalid_value(serde::de::Unexpected::Str(other), &self)),
                        }
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

str_enum_deserialize!(Level, "one of none, note, warning, error",
    "none" => None, "note" => Note, "warning" => Warning, "error" => Error);
str_enum_deserialize!(ResultKind, "one of notApplicable, pass, fail, review, open, informational",
    "notApplicable" => NotApplicable, "pass" => Pass, "fail" => Fail, "review" => Review,
    "open" => Open, "informational" => Informational);

/// A tool component (the driver or an extension) as announced in `RunInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ToolComponentInfo {
    /// `name`.
    pub name: String,
    /// `version`.
    pub version: Option<String>,
    /// `semanticVersion`.
    pub semantic_version: Option<String>,
    /// `organization`.
    pub organization: Option<String>,
    /// `informationUri`.
    pub information_uri: Option<String>,
    /// Number of rules the component declares.
    pub rule_count: usize,
}

/// Which AI model produced a run, read from `run.properties`.
///
/// Keys read, first match wins (case-sensitive):
/// - model: `ai.model`, `aiModel`, `ai_model`, `ai-model`, `model`, `modelName`, or `model`/`name`
///   inside an `ai` object;
/// - version: `ai.modelVersion`, `aiModelVersion`, `ai_model_version`, `ai.model_version`,
///   `ai-model-version`, `modelVersion`, or `modelVersion`/`version` inside an `ai` object;
/// - provider: `ai.provider`, `aiProvider`, `ai_provider`, `ai-provider`, `provider`, or
///   `provider`/`vendor` inside an `ai` object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AiProvenance {
    /// Model name, e.g. `gpt-4.1` or `claude-sonnet-4`.
    pub model: Option<String>,
    /// Model version or snapshot date.
    pub model_version: Option<String>,
    /// Organisation that serves the model.
    pub provider: Option<String>,
    /// The run's `ai/origin` (also `aiOrigin`, `ai_origin`, `ai.origin`), when it states one.
    pub origin: Option<AiOrigin>,
}

/// Whether a result was found by an AI model, annotated by one, or found conventionally — the
/// values of the draft SARIF AI profile's `ai/origin` property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AiOrigin {
    /// The result was found (generated) by an AI model.
    AiGenerated,
    /// A conventional tool found it; an AI model triaged, explained or enriched it.
    AiAnnotated,
    /// No AI was involved.
    Conventional,
}

impl AiOrigin {
    pub const ALL: [AiOrigin; 3] = [
        AiOrigin::AiGenerated,
        AiOrigin::AiAnnotated,
        AiOrigin::Conventional,
    ];

    /// The property keys that carry an origin.
    pub const KEYS: [&'static str; 4] = ["ai/origin", "aiOrigin", "ai_origin", "ai.origin"];

    /// Reads a stated origin: `ai-generated`, `aiGenerated`, `ai_generated`, `generated`, `ai`;
    /// `ai-annotated`, `annotated`, `ai-assisted`; `conventional`, `human`, `none`, `tool`
    /// (without regard to case and separators).
    pub fn parse(text: &str) -> Option<AiOrigin> {
        let t: String = text
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        match t.as_str() {
            "aigenerated" | "generated" | "ai" | "aifound" => Some(AiOrigin::AiGenerated),
            "aiannotated" | "annotated" | "aiassisted" | "assisted" => Some(AiOrigin::AiAnnotated),
            "conventional" | "human" | "none" | "tool" | "nonai" => Some(AiOrigin::Conventional),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AiOrigin::AiGenerated => "ai_generated",
            AiOrigin::AiAnnotated => "ai_annotated",
            AiOrigin::Conventional => "conventional",
        }
    }

    /// A finding's origin: what its result states, else what its run states, else AI-generated
    /// when the run names an AI model, else conventional.
    pub fn effective(result: Option<AiOrigin>, run: &AiProvenance) -> AiOrigin {
        result.or(run.origin).unwrap_or(if run.model.is_some() {
            AiOrigin::AiGenerated
        } else {
            AiOrigin::Conventional
        })
    }
}

impl AiProvenance {
    /// True when no key was found.
    pub fn is_empty(&self) -> bool {
        self.model.is_none() && self.model_version.is_none() && self.provider.is_none()
    }
}

/// Run-level provenance. Announced by [`ResultSink::run_started`] before the run's first result,
/// and again, complete, by [`ResultSink::run_finished`]: SARIF does not order object members,
/// so `invocations` or `properties` may only arrive after the results.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunInfo {
    /// Position of the run in `runs`.
    pub run_index: usize,
    /// `tool.driver`.
    pub driver: ToolComponentInfo,
    /// `tool.extensions[]`, in order.
    pub extensions: Vec<ToolComponentInfo>,
    /// `automationDetails.id` (e.g. `my-analysis/2026-11-24`).
    pub automation_id: Option<String>,
    /// `automationDetails.guid`.
    pub automation_guid: Option<String>,
    /// `automationDetails.description.text`.
    pub automation_description: Option<String>,
    /// Earliest `invocations[].startTimeUtc`.
    pub start_time_utc: Option<DateTime<Utc>>,
    /// Latest `invocations[].endTimeUtc`.
    pub end_time_utc: Option<DateTime<Utc>>,
    /// False when any invocation reported `executionSuccessful: false`.
    pub execution_successful: Option<bool>,
    /// AI provenance from `run.properties`.
    pub ai: AiProvenance,
    /// `columnKind`.
    pub column_kind: Option<String>,
    /// `originalUriBaseIds`: base id → uri.
    pub original_uri_base_ids: BTreeMap<String, String>,
    /// `run.properties` as given (e.g. Trivy's `imageName`).
    pub properties: Option<serde_json::Map<String, serde_json::Value>>,
    /// Results delivered for this run so far.
    pub result_count: u64,
}

/// A resolved rule (`reportingDescriptor`), shared by all results that reference it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuleInfo {
    /// `id`.
    pub id: String,
    /// `name`.
    pub name: Option<String>,
    /// `shortDescription.text`.
    pub short_description: Option<String>,
    /// `helpUri`.
    pub help_uri: Option<String>,
    /// `defaultConfiguration.level`.
    pub default_level: Option<Level>,
    /// `defaultConfiguration.enabled` (default true).
    pub enabled: bool,
    /// `properties["security-severity"]` when it is a number in (0, 10].
    pub security_severity: Option<f64>,
    /// `properties.precision`.
    pub precision: Option<String>,
    /// `properties["problem.severity"]` (CodeQL).
    pub problem_severity: Option<String>,
    /// `properties.tags`.
    pub tags: Vec<String>,
    /// CWE numbers from tags, `properties.cwe` and relationships to a CWE taxonomy.
    pub cwes: Vec<u32>,
    /// CVE ids in the rule id, name or tags (Trivy names rules after the CVE).
    pub cves: Vec<String>,
    /// Trivy's `cvssv3_vector`, when present.
    pub cvss_v3_vector: Option<String>,
    /// Trivy's `cvssv40_vector`, when present.
    pub cvss_v4_vector: Option<String>,
    /// Name of the extension that declares the rule; `None` for the driver.
    pub component: Option<String>,
    /// `messageStrings`: id → text, for results that use `message.id`.
    pub message_strings: BTreeMap<String, String>,
}

/// One physical location of a finding.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Location {
    /// `artifactLocation.uri` as given (or from `run.artifacts[index]`).
    pub uri: Option<String>,
    /// `artifactLocation.uriBaseId` (e.g. `%SRCROOT%`, `ROOTPATH`).
    pub uri_base_id: Option<String>,
    /// The uri as a path: `file://` scheme removed, percent-escapes decoded, `./` dropped.
    pub path: Option<String>,
    /// `region.startLine` (1-based).
    pub start_line: Option<u32>,
    /// `region.startColumn` (1-based).
    pub start_column: Option<u32>,
    /// `region.endLine`.
    pub end_line: Option<u32>,
    /// `region.endColumn`.
    pub end_column: Option<u32>,
    /// `region.snippet.text`.
    pub snippet: Option<String>,
    /// True when the region is the 1:1–1:1 placeholder Trivy writes when it has no real line.
    pub placeholder_region: bool,
}

/// A logical location (function, class, package...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogicalLocation {
    /// `fullyQualifiedName`, else `name`.
    pub name: String,
    /// `kind` (e.g. `function`).
    pub kind: Option<String>,
}

/// Where the finding's identity came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "source")]
pub enum FingerprintSource {
    /// From `fingerprints[key]`.
    Fingerprints {
        /// The key used.
        key: String,
    },
    /// From `partialFingerprints[key]`, combined with the path.
    PartialFingerprints {
        /// The key used.
        key: String,
    },
    /// Computed from tool, rule, location, snippet and message.
    Computed,
}

/// A 16-byte identity (truncated SHA-256). Shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint(pub [u8; 16]);

impl Fingerprint {
    /// Lowercase hex, 32 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// The raw bytes (store as a 16-byte BLOB).
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_hex())
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

/// One SARIF result, resolved against its run's rules.
#[derive(Debug, Clone, Serialize)]
pub struct SarifFinding {
    /// Position of the run in `runs`.
    pub run_index: usize,
    /// Position of the result in `runs[run_index].results`.
    pub result_index: usize,
    /// `tool.driver.name` of the run (shared, not copied).
    pub tool_name: Arc<str>,
    /// `ruleId`, else `rule.id`, else the resolved rule's id.
    pub rule_id: Option<String>,
    /// The resolved rule, if the result references one.
    pub rule: Option<Arc<RuleInfo>>,
    /// `kind` (default `fail`).
    pub kind: ResultKind,
    /// Effective level (see [`LevelSource`]).
    pub level: Level,
    /// Where `level` came from.
    pub level_source: LevelSource,
    /// `message.text`, else the rule's `messageStrings[message.id]`, else `message.markdown`,
    /// with `{n}` placeholders filled from `message.arguments`.
    pub message: String,
    /// `properties["security-severity"]` of the result, else of the rule; only values in (0, 10].
    pub security_severity: Option<f64>,
    /// CWE numbers: rule ones, plus the result's `taxa` and `properties.tags`. Sorted, unique.
    pub cwes: Vec<u32>,
    /// CVE ids: from the rule and the message. Sorted, unique, upper case.
    pub cves: Vec<String>,
    /// Physical locations (at most 100 kept); the first is the primary one.
    pub locations: Vec<Location>,
    /// Logical locations of the primary location.
    pub logical_locations: Vec<LogicalLocation>,
    /// Code-flow steps as `path:line`, first flows first, capped by
    /// [`super::SarifOptions::max_code_flow_steps`].
    pub code_flow: Vec<String>,
    /// Total code-flow steps seen (before the cap).
    pub code_flow_total: usize,
    /// `fingerprints`, sorted by key.
    pub fingerprints: BTreeMap<String, String>,
    /// `partialFingerprints`, sorted by key.
    pub partial_fingerprints: BTreeMap<String, String>,
    /// Identity of the finding within its tool; see [`super::fingerprint_with_scope`].
    pub fingerprint: Fingerprint,
    /// Where [`Self::fingerprint`] came from.
    pub fingerprint_source: FingerprintSource,
    /// Hash of the fields that may change while the identity stays (level, message, severity,
    /// snippet, region, suppression...). Equal hash means "unchanged" on re-import.
    pub content_hash: Fingerprint,
    /// The result's short scalar properties (`properties`, at most 16, keys and values of at
    /// most 128 bytes; booleans and numbers as text), in file order, except `security-severity`
    /// and `tags`: the tool's own evidence, which the policy reads.
    pub properties: Vec<(String, String)>,
    /// The result's `ai/origin` property, when it states one.
    pub ai_origin: Option<AiOrigin>,
    /// `guid`.
    pub guid: Option<String>,
    /// `correlationGuid`.
    pub correlation_guid: Option<String>,
    /// True when a suppression is present whose status is not `rejected`/`underReview`.
    pub suppressed: bool,
    /// `baselineState`.
    pub baseline_state: Option<String>,
    /// `occurrenceCount`.
    pub occurrence_count: Option<u64>,
}

impl SarifFinding {
    /// The primary location, if any.
    pub fn primary_location(&self) -> Option<&Location> {
        self.locations.first()
    }
}

/// An error returned by a sink; it stops the parse and is reported with the result's path.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub Box<dyn std::error::Error + Send + Sync + 'static>);

impl SinkError {
    /// A sink error from a message.
    pub fn msg(message: impl Into<String>) -> Self {
        SinkError(message.into().into())
    }
    /// Wraps any error.
    pub fn new(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        SinkError(Box::new(err))
    }
}

/// Receives a SARIF log as it streams by.
pub trait ResultSink {
    /// Called once per run, before its first result (or at the run's end if it has none).
    fn run_started(&mut self, run: &RunInfo) -> Result<(), SinkError>;
    /// Called for each result, in file order (except when a run's `tool` comes after its
    /// `results`: then that run's results arrive at the end of the run, still in order).
    fn result(&mut self, finding: SarifFinding) -> Result<(), SinkError>;
    /// Called at the end of each run with everything the run declared.
    fn run_finished(&mut self, run: &RunInfo) -> Result<(), SinkError> {
        let _ = run;
        Ok(())
    }
}

/// What a complete parse saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SarifSummary {
    /// Number of runs.
    pub runs: usize,
    /// Number of results delivered.
    pub results: u64,
    /// Decompressed bytes parsed.
    pub bytes: u64,
    /// Whether the input was gzip.
    pub gzip: bool,
}
