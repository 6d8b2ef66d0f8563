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
//! Identity ([`SarifFinding::fingerprint`], 16 bytes, shown as 32 hex digits), first match wins:
//! 1. `fingerprints[k]` for the first key `k` in sorted order whose value looks like a hash (no
//!    whitespace, 6..=512 bytes; Semgrep writes a "requires login" sentence there when logged
//!    out): SHA-256 over (tool name, rule id, key, value);
//! 2. `partialFingerprints.primaryLocationLineHash`, else the first other hash-like key in
//!    sorted order: SHA-256 over (tool name, rule id, primary path, key, value), since partial
//!    fingerprints such as CodeQL's line hash do not include the file;
//! 3. otherwise SHA-256 over (tool name, rule id, primary path, start line, snippet with
//!    whitespace collapsed, message).
//!
//! Each hash has its own domain tag and length-prefixed fields, and is truncated to 16 bytes.
//! The caller adds the resource (or institution) with [`fingerprint_with_scope`]. The
//! [`SarifFinding::content_hash`] covers what may change while identity stays (level, kind,
//! message, security severity, primary region and snippet, suppression, baseline state, CWEs),
//! so a re-import can tell "unchanged" from "updated" without reading the stored row.
//!
//! Performance: a small structural scanner (module `scan`) cuts the log into one slice per result and
//! serde_json parses each slice with its fast slice reader into compact wire structs; no
//! `serde_json::Value` on the per-result path.
//!
//! What it must not do: touch files, the network or a database; collect results.

mod error;
mod model;
mod raw;
mod resolve;
mod scan;
mod stream;
pub mod synth;

pub use error::SarifError;
pub use model::{
    AiOrigin, AiProvenance, Fingerprint, FingerprintSource, Level, LevelSource, Location,
    LogicalLocation, ResultKind, ResultSink, RuleInfo, RunInfo, SarifFinding, SarifSummary,
    SinkError, ToolComponentInfo,
};
pub use resolve::fingerprint_with_scope;
pub use stream::{read_sarif, SarifOptions};
