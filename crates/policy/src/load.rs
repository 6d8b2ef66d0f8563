//! Loading a policy document: TOML syntax, the serde model, then semantic validation, with every
//! error pointing at a field path (`phase[1].max`) and a 1-based line and column.
//!
//! Array indices in paths are 0-based, as in the document's own order; lines and columns are
//! 1-based, columns counted in characters. Syntax and shape errors stop at the first one (the
//! TOML parser cannot go on); semantic errors are all collected.

use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml_edit::{ImDocument, Item, Table, Value};

use crate::model::Policy;
use crate::validate::Violation;

/// The three stages a document can fail in.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum PolicyErrorKind {
    /// Not TOML.
    Syntax,
    /// TOML, but not the shape of a policy: unknown or missing key, wrong type, unknown value.
    Schema,
    /// The right shape, but values that do not make sense (overlapping phases, …).
    Invalid,
}

impl PolicyErrorKind {
    /// Stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            PolicyErrorKind::Syntax => "policy_syntax",
            PolicyErrorKind::Schema => "policy_schema",
            PolicyErrorKind::Invalid => "policy_invalid",
        }
    }
}

/// One thing wrong with a policy document, and where.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PolicyError {
    pub kind: PolicyErrorKind,
    /// Field path such as `phase[1].max`; empty when the place has no path (top of the file).
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.message
            )
        } else {
            write!(
                f,
                "{} (line {}, column {}): {}",
                self.path, self.line, self.column, self.message
            )
        }
    }
}

/// Everything wrong with a policy document; never empty.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.0))]
pub struct PolicyErrors(pub Vec<PolicyError>);

fn render(errors: &[PolicyError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    format!("the policy is not valid: {}", lines.join("; "))
}

impl PolicyErrors {
    /// Stable machine-readable code of the whole failure: the first error's kind.
    pub fn code(&self) -> &'static str {
        self.0
            .first()
            .map_or(PolicyErrorKind::Invalid.code(), |e| e.kind.code())
    }
}

pub(crate) fn parse(text: &str) -> Result<Policy, PolicyErrors> {
    let doc = match ImDocument::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            let (line, column) = line_column(text, offset);
            return Err(PolicyErrors(vec![PolicyError {
                kind: PolicyErrorKind::Syntax,
                path: enclosing_header(text, offset),
                line,
                column,
                message: one_line(e.message()),
            }]));
        }
    };
    let policy: Policy = match toml::from_str(text) {
        Ok(policy) => policy,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            let (line, column) = line_column(text, offset);
            let path = e
                .span()
                .and_then(|span| path_at(&doc, &span))
                .unwrap_or_else(|| enclosing_header(text, offset));
            return Err(PolicyErrors(vec![PolicyError {
                kind: PolicyErrorKind::Schema,
                path,
                line,
                column,
                message: one_line(e.message()),
            }]));
        }
    };
    let violations = policy.validate();
    if violations.is_empty() {
        return Ok(policy);
    }
    let mut errors: Vec<PolicyError> = violations
        .into_iter()
        .map(|Violation { path, message }| {
            let offset = span_of(&doc, &path).map_or(0, |s| s.start);
            let (line, column) = line_column(text, offset);
            PolicyError {
                kind: PolicyErrorKind::Invalid,
                path,
                line,
                column,
                message,
            }
        })
        .collect();
    // In reading order, as an editor would list them.
    errors.sort_by_key(|e| (e.line, e.column));
    Err(PolicyErrors(errors))
}

/// The TOML parser's messages span lines ("invalid string\nexpected ..."); one line reads better
/// in a list of errors and in logs.
fn one_line(message: &str) -> String {
    message
        .trim()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// 1-based line and character column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// The span of the value at `path`, or of its nearest ancestor present in the document (a
/// missing key is reported where its table starts).
fn span_of(doc: &ImDocument<&str>, path: &str) -> Option<Range<usize>> {
    let mut item = doc.as_item();
    let mut best = None;
    for segment in segments(path) {
        let next = match segment {
            Segment::Key(key) => item.get(key),
            Segment::Index(index) => item.get(index),
        };
        let Some(next) = next else { break };
        item = next;
        best = item.span().or(best);
    }
    best
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// `phase[1].max` -> Key(phase), Index(1), Key(max).
fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut pieces = part.split('[');
        if let Some(key) = pieces.next().filter(|k| !k.is_empty()) {
            out.push(Segment::Key(key));
        }
        for index in pieces {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                out.push(Segment::Index(i));
            }
        }
    }
    out
}

/// The path of the innermost key or value whose span contains `span.start`.
fn path_at(doc: &ImDocument<&str>, span: &Range<usize>) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    visit(doc.as_item(), String::new(), &mut |path, range| {
        if range.start <= span.start && span.start < range.end.max(range.start + 1) {
            let len = range.end - range.start;
            if best.as_ref().is_none_or(|(l, _)| len <= *l) {
                best = Some((len, path.to_string()));
            }
        }
    });
    best.map(|(_, path)| path)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn visit(item: &Item, path: String, on: &mut dyn FnMut(&str, Range<usize>)) {
    match item {
        Item::Table(table) => visit_table(table, path, on),
        Item::ArrayOfTables(tables) => {
            for (i, table) in tables.iter().enumerate() {
                visit_table(table, format!("{path}[{i}]"), on);
            }
        }
        Item::Value(value) => visit_value(value, path, on),
        Item::None => {}
    }
}

fn visit_table(table: &Table, path: String, on: &mut dyn FnMut(&str, Range<usize>)) {
    if let Some(span) = table.span() {
        on(&path, span);
    }
    for (key, child) in table.iter() {
        let child_path = join(&path, key);
        if let Some(span) = table.key(key).and_then(|k| k.span()) {
            on(&child_path, span);
        }
        visit(child, child_path, on);
    }
}

fn visit_value(value: &Value, path: String, on: &mut dyn FnMut(&str, Range<usize>)) {
    if let Some(span) = value.span() {
        on(&path, span);
    }
    match value {
        Value::InlineTable(table) => {
            for (key, child) in table.iter() {
                let child_path = join(&path, key);
                if let Some(span) = table.key(key).and_then(|k| k.span()) {
                    on(&child_path, span);
                }
                visit_value(child, child_path, on);
            }
        }
        Value::Array(array) => {
            for (i, child) in array.iter().enumerate() {
                visit_value(child, format!("{path}[{i}]"), on);
            }
        }
        _ => {}
    }
}

/// For a syntax error there is no document to walk: name the table header above the error,
/// counting `[[array]]` headers so the index is right.
fn enclosing_header(text: &str, offset: usize) -> String {
    // Only whole lines above the error: a broken header line names no table.
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let before = before
        .get(..before.rfind('\n').map_or(0, |i| i + 1))
        .unwrap_or_default();
    let headers: Vec<&str> = before
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('['))
        .collect();
    let Some(last) = headers.last() else {
        return String::new();
    };
    let name = |h: &str| {
        h.trim_start_matches('[')
            .split(']')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let current = name(last);
    if last.starts_with("[[") {
        let index = headers
            .iter()
            .filter(|h| h.starts_with("[[") && name(h) == current)
            .count()
            - 1;
        format!("{current}[{index}]")
    } else {
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters() {
        let text = "a = 1\n이름 = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        // The second `=` is byte 13 but character 4 of line 2: Hangul takes 3 bytes a character.
        assert_eq!(text.rfind('='), Some(13));
        assert_eq!(line_column(text, 13), (2, 4));
    }

    #[test]
    fn enclosing_header_counts_array_tables() {
        let text = "[program]\n[[phase]]\nid='a'\n[[phase]]\nid=\n";
        assert_eq!(enclosing_header(text, text.len() - 1), "phase[1]");
        assert_eq!(enclosing_header(text, 3), "");
    }
}
