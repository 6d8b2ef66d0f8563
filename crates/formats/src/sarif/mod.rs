//! Streaming SARIF 2.1.0 reader.
//!
//! Bytes in (any `std::io::Read`, gzip detected by its magic bytes), one [`SarifFinding`] at a
//! time out to a caller-supplied [`ResultSink`]. The log is never held whole: only the current
//! result, the current run's rule table and, when a run puts `tool` after `results`, that run's
//! compact results are in memory (see `stream` for the ordering strategy).
//!
//! What it checks, to the letter of SARIF 2.1.0 and the producer notes in standards.md §1:
//! `version` must be `"2.1.0"` whatever `$schema` says; rules resolve from `tool.driver.rules`
//! and `tool.extensions[].rules` via `ruleId`, `ruleIndex`, `rule.id`, `rule.index` and
//! `rule.toolComponent`; a reference to an undeclared rule is an error naming its JSON path.
//!
//! What it must not do: touch files, the network or a database; collect results; use
//! `serde_json::Value` on the per-result path.

mod error;
mod model;
mod raw;
mod resolve;
mod scan;
mod stream;
pub mod synth;

pub use error::SarifError;
pub use model::{
    AiProvenance, Fingerprint, FingerprintSource, Level, LevelSource, Location, LogicalLocation,
    ResultKind, ResultSink, RuleInfo, RunInfo, SarifFinding, SarifSummary, SinkError,
    ToolComponentInfo,
};
pub use resolve::fingerprint_with_scope;
pub use stream::{read_sarif, SarifOptions};
