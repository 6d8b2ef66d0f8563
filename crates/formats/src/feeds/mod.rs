//! Vulnerability-intelligence feeds imported as files (network separation: no live internet):
//! FIRST EPSS CSV ([`epss`]), CISA KEV JSON ([`kev`]) and CVE JSON 5 records ([`cve`]).
//!
//! Each reader takes a `std::io::Read` (gzip detected by its magic bytes), returns typed values
//! stamped with the feed's own date/version, and fails with a [`FeedError`] that names the CSV
//! line or the JSON path. No scoring or prioritisation here: that is `policy`'s job.

pub mod cve;
pub mod epss;
pub mod kev;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// Why a feed (or a CycloneDX BOM) was rejected.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// Reading the stream failed (including corrupt gzip).
    #[error("read error{}: {source}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Io {
        /// CSV line being read, when known.
        line: Option<u64>,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The EPSS `#model_version:…,score_date:…` comment is malformed.
    #[error("line {line}: bad EPSS header comment: {message}")]
    BadComment {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The CSV header is not the expected one.
    #[error("line {line}: expected header {expected:?}, found {found:?}")]
    BadHeader {
        /// 1-based line.
        line: u64,
        /// The expected header.
        expected: &'static str,
        /// The header found.
        found: String,
    },
    /// A CSV row is malformed.
    #[error("line {line}, column `{column}`: {message}")]
    BadRow {
        /// 1-based line.
        line: u64,
        /// Column name (or `*` for the whole row).
        column: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The JSON is malformed, truncated or has a wrong type.
    #[error("invalid JSON at `{path}` (line {line}, column {column}): {message}")]
    Json {
        /// JSON path (`.` for the root).
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// A value is well-typed but invalid (bad CVE id, bad date...).
    #[error("`{path}`: {message}")]
    Invalid {
        /// JSON path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The document declares a format or version this reader does not support.
    #[error("`{path}`: unsupported value {found:?} (supported: {supported})")]
    Unsupported {
        /// JSON path.
        path: String,
        /// The value found.
        found: String,
        /// What is supported.
        supported: &'static str,
    },
}

impl FeedError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            FeedError::Io { .. } => "feed.io",
            FeedError::BadComment { .. } => "feed.bad_comment",
            FeedError::BadHeader { .. } => "feed.bad_header",
            FeedError::BadRow { .. } => "feed.bad_row",
            FeedError::Json { .. } => "feed.invalid_json",
            FeedError::Invalid { .. } => "feed.invalid_value",
            FeedError::Unsupported { .. } => "feed.unsupported",
        }
    }

    /// JSON path, for JSON documents.
    pub fn path(&self) -> Option<&str> {
        match self {
            FeedError::Json { path, .. }
            | FeedError::Invalid { path, .. }
            | FeedError::Unsupported { path, .. } => Some(path),
            _ => None,
        }
    }

    /// 1-based line, for CSV feeds and JSON syntax errors.
    pub fn line(&self) -> Option<u64> {
        match self {
            FeedError::Io { line, .. } => *line,
            FeedError::BadComment { line, .. }
            | FeedError::BadHeader { line, .. }
            | FeedError::BadRow { line, .. } => Some(*line),
            FeedError::Json { line, .. } => Some(*line as u64),
            _ => None,
        }
    }
}

/// Parses a whole JSON document from `r` (gunzipping if needed), with the JSON path of any
/// error.
pub(crate) fn read_json<T: serde::de::DeserializeOwned, R: std::io::Read>(
    r: R,
) -> Result<T, FeedError> {
    let gz = crate::io::MaybeGz::new(r).map_err(|source| FeedError::Io { line: None, source })?;
    let reader = std::io::BufReader::with_capacity(64 * 1024, gz);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        json_error(path, e.into_inner())
    })?;
    de.end().map_err(|e| json_error(".".to_owned(), e))?;
    Ok(value)
}

fn json_error(path: String, e: serde_json::Error) -> FeedError {
    if e.is_io() {
        return FeedError::Io {
            line: None,
            source: std::io::Error::from(e),
        };
    }
    let msg = e.to_string();
    let message = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    };
    FeedError::Json {
        path,
        line: e.line(),
        column: e.column(),
        message,
    }
}

/// `CVE-YYYY-NNNN…` (four-digit year, at least four digits).
pub fn is_cve_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 13
        && b[..4].eq_ignore_ascii_case(b"CVE-")
        && b[4..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'-'
        && b[9..].iter().all(u8::is_ascii_digit)
}

/// RFC 3339, or `…+0000` offsets without a colon, or a naive date-time taken as UTC, or a bare
/// date at midnight UTC. Feeds in the wild use all four.
pub(crate) fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(t.with_timezone(&Utc));
        }
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes() {
        for (s, want) in [
            ("2025-09-24T12:55:00Z", Some("2025-09-24T12:55:00+00:00")),
            (
                "2026-11-24T00:00:00+0000",
                Some("2026-11-24T00:00:00+00:00"),
            ),
            (
                "2026-11-24T09:00:00+09:00",
                Some("2026-11-24T00:00:00+00:00"),
            ),
            ("2021-12-10T00:00:00.000", Some("2021-12-10T00:00:00+00:00")),
            ("2021-12-10", Some("2021-12-10T00:00:00+00:00")),
            ("yesterday", None),
        ] {
            assert_eq!(
                parse_datetime(s).map(|t| t.to_rfc3339()).as_deref(),
                want,
                "{s}"
            );
        }
    }

    #[test]
    fn cve_ids() {
        assert!(is_cve_id("CVE-2021-44228"));
        assert!(is_cve_id("CVE-2024-1234567"));
        assert!(!is_cve_id("CVE-2021-442"));
        assert!(!is_cve_id("GHSA-xxxx-yyyy-zzzz"));
        assert!(!is_cve_id("CVE-2021-44228 "));
    }
}
