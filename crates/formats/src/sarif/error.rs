//! Errors of the SARIF reader. Each names the place in the file: a byte offset (of the
//! decompressed JSON) and, where it makes sense, line/column and a JSON path such as
//! `runs[0].results[1234].ruleIndex`.

use super::model::SinkError;

/// Why a SARIF log was rejected. The reader stops at the first one.
#[derive(Debug, thiserror::Error)]
pub enum SarifError {
    /// Reading the underlying stream failed.
    #[error("read error after {offset} bytes: {source}")]
    Io {
        /// Decompressed bytes parsed before the failure.
        offset: u64,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The stream starts with the gzip magic but does not decompress.
    #[error("corrupt gzip data after {offset} decompressed bytes: {message}")]
    InvalidGzip {
        /// Decompressed bytes produced before the failure.
        offset: u64,
        /// The decoder's message.
        message: String,
    },
    /// The bytes are not JSON.
    #[error("invalid JSON at byte {offset} (line {line}, column {column}): {message}")]
    InvalidJson {
        /// Byte offset of the offending byte (decompressed, 0-based, approximate by one byte).
        offset: u64,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the JSON parser expected.
        message: String,
    },
    /// The stream ended inside the JSON document.
    #[error("truncated file: the JSON ends early at byte {offset} (line {line}, column {column})")]
    Truncated {
        /// Bytes parsed.
        offset: u64,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// The top-level `version` member is absent.
    #[error("missing required `version` (expected \"2.1.0\")")]
    MissingVersion,
    /// `version` is not `2.1.0`.
    #[error("unsupported SARIF version {found:?} at `{path}`: only \"2.1.0\" is accepted")]
    UnsupportedVersion {
        /// Always `version`.
        path: String,
        /// The value found.
        found: String,
    },
    /// A member has the wrong JSON type or an invalid value.
    #[error(
        "wrong type or value at `{path}` (byte {offset}, line {line}, column {column}): {message}"
    )]
    WrongType {
        /// JSON path of the innermost object being read.
        path: String,
        /// Byte offset.
        offset: u64,
        /// 1-based line (0 when unknown).
        line: usize,
        /// 1-based column (0 when unknown).
        column: usize,
        /// What was expected.
        message: String,
    },
    /// A required member is absent.
    #[error("missing required `{path}`")]
    MissingField {
        /// JSON path of the missing member.
        path: String,
        /// Byte offset where the enclosing object ended.
        offset: u64,
    },
    /// A result references a rule the tool does not declare.
    #[error("`{path}` refers to rule {reference} which the tool does not declare (byte {offset})")]
    UnknownRule {
        /// JSON path of the reference (e.g. `runs[0].results[7].ruleIndex`).
        path: String,
        /// The index or id as written.
        reference: String,
        /// Byte offset at the end of the result.
        offset: u64,
    },
    /// A result references a tool component the run does not declare.
    #[error("`{path}` refers to tool component {reference} which the run does not declare (byte {offset})")]
    UnknownToolComponent {
        /// JSON path of the reference.
        path: String,
        /// The index, name or guid as written.
        reference: String,
        /// Byte offset at the end of the result.
        offset: u64,
    },
    /// `ruleId` and `ruleIndex` (or `rule.index`) name different rules.
    #[error("`{path}`: ruleId {rule_id:?} does not match the rule {indexed:?} at the given index (byte {offset})")]
    RuleMismatch {
        /// JSON path of the result.
        path: String,
        /// `ruleId` as written.
        rule_id: String,
        /// Id of the rule at the index.
        indexed: String,
        /// Byte offset at the end of the result.
        offset: u64,
    },
    /// A run's `results` came before its `tool` and there were too many to hold.
    #[error("`{path}`: more than {limit} results before the run's `tool`; put `tool` first or raise the limit")]
    TooManyPendingResults {
        /// JSON path of the run's results.
        path: String,
        /// The configured limit.
        limit: usize,
    },
    /// The gzip stream inflates past the configured limit (a gzip bomb, or a log too large).
    #[error("the gzip stream inflates to more than {limit} bytes (the configured limit); refused")]
    InflatedTooLarge {
        /// The configured limit ([`super::SarifOptions::max_inflated_bytes`]).
        limit: u64,
    },
    /// The caller's sink refused a result.
    #[error("import stopped at `{path}`: {source}")]
    Sink {
        /// JSON path of the result (or run) being delivered.
        path: String,
        /// The sink's error.
        source: SinkError,
    },
}

impl SarifError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SarifError::Io { .. } => "sarif.io",
            SarifError::InvalidGzip { .. } => "sarif.invalid_gzip",
            SarifError::InvalidJson { .. } => "sarif.invalid_json",
            SarifError::Truncated { .. } => "sarif.truncated",
            SarifError::MissingVersion => "sarif.missing_version",
            SarifError::UnsupportedVersion { .. } => "sarif.unsupported_version",
            SarifError::WrongType { .. } => "sarif.wrong_type",
            SarifError::MissingField { .. } => "sarif.missing_field",
            SarifError::UnknownRule { .. } => "sarif.unknown_rule",
            SarifError::UnknownToolComponent { .. } => "sarif.unknown_tool_component",
            SarifError::RuleMismatch { .. } => "sarif.rule_mismatch",
            SarifError::TooManyPendingResults { .. } => "sarif.too_many_pending_results",
            SarifError::InflatedTooLarge { .. } => "sarif.inflated_too_large",
            SarifError::Sink { .. } => "sarif.sink",
        }
    }

    /// JSON path of the problem, when it has one.
    pub fn path(&self) -> Option<&str> {
        match self {
            SarifError::UnsupportedVersion { path, .. }
            | SarifError::WrongType { path, .. }
            | SarifError::MissingField { path, .. }
            | SarifError::UnknownRule { path, .. }
            | SarifError::UnknownToolComponent { path, .. }
            | SarifError::RuleMismatch { path, .. }
            | SarifError::TooManyPendingResults { path, .. }
            | SarifError::Sink { path, .. } => Some(path),
            SarifError::MissingVersion => Some("version"),
            _ => None,
        }
    }

    /// Byte offset of the problem (decompressed), when known.
    pub fn offset(&self) -> Option<u64> {
        match self {
            SarifError::Io { offset, .. }
            | SarifError::InvalidGzip { offset, .. }
            | SarifError::InvalidJson { offset, .. }
            | SarifError::Truncated { offset, .. }
            | SarifError::WrongType { offset, .. }
            | SarifError::MissingField { offset, .. }
            | SarifError::UnknownRule { offset, .. }
            | SarifError::UnknownToolComponent { offset, .. }
            | SarifError::RuleMismatch { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}
