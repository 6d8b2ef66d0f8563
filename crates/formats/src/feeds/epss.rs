//! FIRST EPSS daily CSV, streamed row by row.
//!
//! Shape (standards.md §5.1): an optional first-line comment
//! `#model_version:v2025.03.14,score_date:2025-09-24T12:55:00Z` (older files write the date as
//! `…T00:00:00+0000`), the header `cve,epss,percentile`, then one row per CVE. Scores may be in
//! scientific notation (`5e-05`). The file is ~300k rows: never collect it here.

use std::io::{BufRead, BufReader, Read};

use chrono::{DateTime, Utc};

use super::{is_cve_id, parse_datetime, FeedError};
use crate::io::MaybeGz;

/// What the comment line says about the scores.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EpssHeader {
    /// `model_version`, e.g. `v2025.03.14`.
    pub model_version: Option<String>,
    /// `score_date`, in UTC.
    pub score_date: Option<DateTime<Utc>>,
}

/// One row.
#[derive(Debug, Clone, PartialEq)]
pub struct EpssScore {
    /// CVE id, upper case.
    pub cve: String,
    /// Probability of exploitation in the next 30 days, 0..=1.
    pub epss: f64,
    /// Percentile among all scored CVEs, 0..=1.
    pub percentile: f64,
    /// 1-based line in the file.
    pub line: u64,
}

/// Streaming reader; iterate it for the rows.
pub struct EpssReader<R: Read> {
    header: EpssHeader,
    csv: csv::Reader<BufReader<MaybeGz<R>>>,
    /// Lines consumed before the CSV reader started (the comment).
    line_offset: u64,
    record: csv::StringRecord,
    /// Line of the next row. Counted here because the csv crate's record positions are off by
    /// one line after a CRLF header; EPSS rows never contain quoted newlines.
    next_line: u64,
    done: bool,
}

const EXPECTED_HEADER: &str = "cve,epss,percentile";

impl<R: Read> EpssReader<R> {
    /// Reads the comment and the header. Fails if the header is not `cve,epss,percentile`.
    pub fn new(input: R) -> Result<Self, FeedError> {
        let gz = MaybeGz::new(input).map_err(|source| FeedError::Io {
            line: Some(1),
            source,
        })?;
        let mut buf = BufReader::with_capacity(64 * 1024, gz);
        let mut header = EpssHeader::default();
        let mut line_offset = 0;
        let first = buf
            .fill_buf()
            .map_err(|source| FeedError::Io {
                line: Some(1),
                source,
            })?
            .first()
            .copied();
        if first == Some(b'#') {
            let mut line = String::new();
            // The comment is short; cap it so a binary file cannot make us read it all.
            (&mut buf)
                .take(4096)
                .read_line(&mut line)
                .map_err(|source| FeedError::Io {
                    line: Some(1),
                    source,
                })?;
            header = parse_comment(line.trim_end())?;
            line_offset = 1;
        }
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(buf);
        let line = line_offset + 1;
        let headers = csv
            .headers()
            .map_err(|e| csv_error(e, Some(line), line_offset))?;
        let found = headers.iter().collect::<Vec<_>>().join(",");
        if !found.eq_ignore_ascii_case(EXPECTED_HEADER) {
            return Err(FeedError::BadHeader {
                line,
                expected: EXPECTED_HEADER,
                found,
            });
        }
        Ok(Self {
            header,
            csv,
            line_offset,
            record: csv::StringRecord::new(),
            next_line: line + 1,
            done: false,
        })
    }

    /// Model version and score date from the comment line.
    pub fn header(&self) -> &EpssHeader {
        &self.header
    }

    fn next_score(&mut self) -> Result<Option<EpssScore>, FeedError> {
        let line = self.next_line;
        if !self
            .csv
            .read_record(&mut self.record)
            .map_err(|e| csv_error(e, Some(line), self.line_offset))?
        {
            return Ok(None);
        }
        self.next_line += 1;
        let cve = &self.record[0];
        if !is_cve_id(cve) {
            return Err(FeedError::BadRow {
                line,
                column: "cve",
                message: format!("{cve:?} is not a CVE id"),
            });
        }
        let epss = probability(&self.record[1], line, "epss")?;
        let percentile = probability(&self.record[2], line, "percentile")?;
        Ok(Some(EpssScore {
            cve: cve.to_ascii_uppercase(),
            epss,
            percentile,
            line,
        }))
    }
}

impl<R: Read> Iterator for EpssReader<R> {
    type Item = Result<EpssScore, FeedError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_score() {
            Ok(Some(s)) => Some(Ok(s)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                // Stop after the first error: the caller makes the import all-or-nothing.
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

fn probability(s: &str, line: u64, column: &'static str) -> Result<f64, FeedError> {
    let v: f64 = s.parse().map_err(|_| FeedError::BadRow {
        line,
        column,
        message: format!("{s:?} is not a number"),
    })?;
    if !(0.0..=1.0).contains(&v) {
        return Err(FeedError::BadRow {
            line,
            column,
            message: format!("{v} is outside 0..=1"),
        });
    }
    Ok(v)
}

fn csv_error(e: csv::Error, line: Option<u64>, line_offset: u64) -> FeedError {
    let line = line.unwrap_or_else(|| e.position().map_or(0, |p| p.line()) + line_offset);
    match e.into_kind() {
        csv::ErrorKind::Io(source) => FeedError::Io {
            line: Some(line),
            source,
        },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => FeedError::BadRow {
            line,
            column: "*",
            message: format!("expected {expected_len} fields, found {len}"),
        },
        csv::ErrorKind::Utf8 { err, .. } => FeedError::BadRow {
            line,
            column: "*",
            message: format!("not UTF-8: {err}"),
        },
        other => FeedError::BadRow {
            line,
            column: "*",
            message: format!("{other:?}"),
        },
    }
}

fn parse_comment(line: &str) -> Result<EpssHeader, FeedError> {
    let body = line.trim_start_matches('#');
    let mut header = EpssHeader::default();
    for part in body.split(',') {
        let Some((k, v)) = part.split_once(':') else {
            return Err(FeedError::BadComment {
                line: 1,
                message: format!("{part:?} is not key:value"),
            });
        };
        match k.trim() {
            "model_version" => header.model_version = Some(v.trim().to_owned()),
            "score_date" => {
                header.score_date =
                    Some(parse_datetime(v).ok_or_else(|| FeedError::BadComment {
                        line: 1,
                        message: format!("score_date {:?} is not a date", v.trim()),
                    })?)
            }
            _ => {}
        }
    }
    Ok(header)
}
