//! Errors of vector parsing, each with a stable machine-readable code and a message that names
//! the offending metric or component.
//!
//! Must not carry anything but the input's own pieces: no internals, no formatting of scores.

use thiserror::Error;

/// Why a CVSS vector string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CvssError {
    /// The input was empty (after trimming, for [`crate::evaluate`]).
    #[error("empty CVSS vector")]
    Empty,
    /// The vector does not start with `CVSS:3.0/`, `CVSS:3.1/` or `CVSS:4.0/`.
    #[error(
        "unsupported or missing CVSS prefix '{prefix}' (expected CVSS:3.0, CVSS:3.1 or CVSS:4.0)"
    )]
    UnknownPrefix { prefix: String },
    /// Two slashes in a row, or a trailing slash.
    #[error("empty component at position {position} (stray '/')")]
    EmptyComponent { position: usize },
    /// A component that is not `METRIC:VALUE`.
    #[error("malformed component '{component}' (expected METRIC:VALUE)")]
    MalformedComponent { component: String },
    /// A metric name that the vector's CVSS version does not define.
    #[error("unknown metric '{metric}' for CVSS {version}")]
    UnknownMetric {
        metric: String,
        version: &'static str,
    },
    /// A value that the metric does not allow.
    #[error("unknown value '{value}' for metric '{metric}'")]
    UnknownValue { metric: String, value: String },
    /// The same metric given twice.
    #[error("duplicate metric '{metric}'")]
    DuplicateMetric { metric: String },
    /// A mandatory base metric is absent.
    #[error("missing mandatory metric '{metric}'")]
    MissingMetric { metric: &'static str },
    /// CVSS v4.0 only: the specification makes every ordering other than Table 23's invalid.
    #[error("metric '{metric}' is out of order: CVSS 4.0 requires it before '{before}'")]
    OutOfOrder { metric: String, before: String },
}

impl CvssError {
    /// Stable code for machines (API responses, import diagnostics).
    pub fn code(&self) -> &'static str {
        match self {
            CvssError::Empty => "empty_vector",
            CvssError::UnknownPrefix { .. } => "unknown_prefix",
            CvssError::EmptyComponent { .. } => "empty_component",
            CvssError::MalformedComponent { .. } => "malformed_component",
            CvssError::UnknownMetric { .. } => "unknown_metric",
            CvssError::UnknownValue { .. } => "unknown_value",
            CvssError::DuplicateMetric { .. } => "duplicate_metric",
            CvssError::MissingMetric { .. } => "missing_metric",
            CvssError::OutOfOrder { .. } => "metric_out_of_order",
        }
    }

    /// The metric the error is about, when there is one.
    pub fn metric(&self) -> Option<&str> {
        match self {
            CvssError::UnknownMetric { metric, .. }
            | CvssError::UnknownValue { metric, .. }
            | CvssError::DuplicateMetric { metric }
            | CvssError::OutOfOrder { metric, .. } => Some(metric),
            CvssError::MissingMetric { metric } => Some(metric),
            CvssError::Empty
            | CvssError::UnknownPrefix { .. }
            | CvssError::EmptyComponent { .. }
            | CvssError::MalformedComponent { .. } => None,
        }
    }
}
