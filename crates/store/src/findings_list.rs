//! The findings list (issue #5): one page of an institution's findings in the asked order, and
//! how many match, over millions of rows.
//!
//! Every filter has an index that starts with the institution (migration 0006), so a page is
//! read from the front of one index range, by keyset after a cursor. The total is counted, not
//! estimated, but only up to [`FINDINGS_COUNT_CAP`]: past the cap the list says "more than
//! 10,000", so that no request pays for counting a million index entries (or, with several
//! filters, checking a million rows) that nobody reads.

use serde::Serialize;

use crate::findings::{finding_row, FindingRow, FINDING_COLUMNS};
use crate::{severity_rank, Result, SEVERITIES};

/// How far the findings list counts its matches: beyond this it reports "more than 10,000".
pub const FINDINGS_COUNT_CAP: i64 = 10_000;

/// Order of the findings list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingOrder {
    /// Newest first (id descending).
    #[default]
    Newest,
    /// Most severe first (critical, high, medium, low, none), newest first within a severity.
    Severity,
}

/// Where the previous page ended, for keyset pagination: the last finding's id and severity
/// rank ([`severity_rank`]). A page after a cursor costs the same however deep it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FindingCursor {
    pub id: i64,
    #[serde(default)]
    pub severity_rank: i64,
}

impl FindingCursor {
    /// The cursor of the page after `row`.
    pub fn after(row: &FindingRow) -> FindingCursor {
        FindingCursor {
            id: row.id,
            severity_rank: severity_rank(&row.severity),
        }
    }
}

/// Filters of the findings list; every given one must hold.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    pub institution_id: Option<i64>,
    pub severity: Option<String>,
    pub status: Option<String>,
    pub cwe: Option<u32>,
    pub resource_id: Option<i64>,
    pub tool: Option<String>,
    pub ai_model: Option<String>,
    /// `ai_generated`, `ai_annotated` or `conventional`.
    pub ai_origin: Option<String>,
    pub limit: i64,
    /// Rows skipped (page-number paging); with [`FindingFilter::after`] prefer 0.
    pub offset: i64,
    pub order: FindingOrder,
    /// Keyset pagination: only findings after this one in [`FindingFilter::order`].
    pub after: Option<FindingCursor>,
    /// Count the matches up to this many; `None` is [`FINDINGS_COUNT_CAP`].
    pub count_cap: Option<i64>,
}

/// How many findings match a filter, counted up to a cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FindingTotal {
    /// The number of matching findings, or the cap when `capped`.
    pub count: i64,
    /// Counting stopped at the cap: more than `count` findings match.
    pub capped: bool,
}

impl FindingTotal {
    /// An exact total.
    pub fn exact(count: i64) -> FindingTotal {
        FindingTotal {
            count,
            capped: false,
        }
    }
}

/// `12,345`, or `10,000+` when more match than were counted.
impl std::fmt::Display for FindingTotal {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.count.unsigned_abs().to_string();
        let mut grouped = String::new();
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(d);
        }
        let sign = if self.count < 0 { "-" } else { "" };
        let more = if self.capped { "+" } else { "" };
        write!(out, "{sign}{grouped}{more}")
    }
}

/// A page of findings (in the filter's order) and how many match ([`FindingTotal`]).
///
/// One filter is one index range: the page is its first rows and the total a count over at
/// most the cap's worth of it; a CWE filter is driven by the `finding_cwes` side table in id
/// order. Several filters of one institution, newest first, on SQLite: each filter's range
/// yields ids in descending order and SQLite merges them (`INTERSECT` with `ORDER BY`), reading
/// index entries only, so the work is bounded by the ranges' lengths however few rows match;
/// checking the other filters on table rows instead costs a row read per candidate, which on a
/// rare combination means every row of the driving range. PostgreSQL plans the conjunction
/// itself from its statistics (bitmap AND, or one index and a filter).
pub async fn list_findings(
    pool: &sqlx::AnyPool,
    f: &FindingFilter,
) -> Result<(Vec<FindingRow>, FindingTotal)> {
    // Each filter as a condition on the row (`f.`) and, with an institution, as its index range:
    // a query of ids and the name of its id column (for the cursor).
    let mut clauses: Vec<String> = Vec::new();
    let mut ranges: Vec<(String, &str)> = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    let inst = f.institution_id;
    if let Some(c) = f.cwe {
        let i = inst
            .map(|i| format!(" AND c.institution_id = {i}"))
            .unwrap_or_default();
        clauses.push(format!("c.cwe = {c}{i}"));
        if let Some(i) = inst {
            ranges.push((
                format!(
                    "SELECT finding_id AS id FROM finding_cwes WHERE institution_id = {i} AND cwe = {c}"
                ),
                "finding_id",
            ));
        }
    }
    if let Some(i) = inst {
        clauses.push(format!("f.institution_id = {i}"));
    }
    let mut add = |clauses: &mut Vec<String>, cond: String| {
        clauses.push(format!("f.{cond}"));
        if let Some(i) = inst {
            ranges.push((
                format!("SELECT id FROM findings WHERE institution_id = {i} AND {cond}"),
                "id",
            ));
        }
    };
    if let Some(r) = f.resource_id {
        add(&mut clauses, format!("resource_id = {r}"));
    }
    if let Some(s) = &f.severity {
        // Filtered by rank, the (institution, severity_rank, id) index answers page and count
        // without reading rows; a severity that is not one of the five matches nothing (no
        // rank is negative).
        let rank = if SEVERITIES.contains(&s.as_str()) {
            severity_rank(s)
        } else {
            -1
        };
        add(&mut clauses, format!("severity_rank = {rank}"));
    }
    for (col, v) in [
        ("status", &f.status),
        ("tool_name", &f.tool),
        ("ai_model", &f.ai_model),
        ("ai_origin", &f.ai_origin),
    ] {
        if let Some(v) = v {
            binds.push(v.clone());
            add(&mut clauses, format!("{col} = ${}", binds.len()));
        }
    }
    let cap = f.count_cap.unwrap_or(FINDINGS_COUNT_CAP).max(0);
    let limit = f.limit.clamp(1, 1000);
    let offset = f.offset.max(0);
    // With one severity asked for, "most severe first" is "newest first".
    let order = match (f.order, &f.severity) {
        (FindingOrder::Severity, Some(_)) => FindingOrder::Newest,
        (o, _) => o,
    };
    let columns: Vec<String> = FINDING_COLUMNS
        .split(", ")
        .map(|c| format!("f.{c}"))
        .collect();
    let columns = columns.join(", ");
    let sqlite = pool
        .connect_options()
        .database_url
        .scheme()
        .starts_with("sqlite");
    let (list_sql, count_sql) = if sqlite && ranges.len() >= 2 && order == FindingOrder::Newest {
        let paged: Vec<String> = ranges
            .iter()
            .map(|(range, id)| match f.after {
                Some(a) => format!("{range} AND {id} < {}", a.id),
                None => range.clone(),
            })
            .collect();
        let ranges: Vec<&str> = ranges.iter().map(|(range, _)| range.as_str()).collect();
        (
            format!(
                "SELECT {columns} FROM ({} ORDER BY 1 DESC LIMIT {limit} OFFSET {offset}) p JOIN findings f ON f.id = p.id ORDER BY f.id DESC",
                paged.join(" INTERSECT ")
            ),
            // Counting stops one past the cap, which tells "exactly the cap" from "more".
            format!(
                "SELECT COUNT(*) FROM ({} ORDER BY 1 DESC LIMIT {}) t",
                ranges.join(" INTERSECT "),
                cap + 1
            ),
        )
    } else {
        let (from, id_col) = match f.cwe {
            Some(_) => (
                "finding_cwes c JOIN findings f ON f.id = c.finding_id",
                "c.finding_id",
            ),
            None => ("findings f", "f.id"),
        };
        let filter_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        // A CWE alone is counted in the side table, without the join.
        let count_from = match (f.cwe, clauses.len() - usize::from(f.cwe.is_some())) {
            (Some(_), n) if n == usize::from(inst.is_some()) => match ranges.first() {
                Some((range, _)) => format!("({range}) c"),
                None => format!("finding_cwes c{filter_sql}"),
            },
            _ => format!("{from}{filter_sql}"),
        };
        let mut page_clauses = clauses.clone();
        let order_sql = match order {
            FindingOrder::Newest => {
                if let Some(a) = f.after {
                    page_clauses.push(format!("{id_col} < {}", a.id));
                }
                format!("{id_col} DESC")
            }
            FindingOrder::Severity => {
                if let Some(a) = f.after {
                    page_clauses.push(format!(
                        "(f.severity_rank < {r} OR (f.severity_rank = {r} AND {id_col} < {id}))",
                        r = a.severity_rank,
                        id = a.id
                    ));
                }
                format!("f.severity_rank DESC, {id_col} DESC")
            }
        };
        let page_where = if page_clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", page_clauses.join(" AND "))
        };
        (
            format!(
                "SELECT {columns} FROM {from}{page_where} ORDER BY {order_sql} LIMIT {limit} OFFSET {offset}"
            ),
            format!(
                "SELECT COUNT(*) FROM (SELECT 1 FROM {count_from} LIMIT {}) t",
                cap + 1
            ),
        )
    };
    let mut list = sqlx::query(&list_sql);
    for b in &binds {
        list = list.bind(b.clone());
    }
    let rows = list
        .fetch_all(pool)
        .await?
        .iter()
        .map(finding_row)
        .collect::<Result<Vec<_>>>()?;
    // A short page from the front of the range (or one that has rows) ends the range: the total
    // is what came before it plus its rows, without counting again.
    let n = rows.len() as i64;
    if f.after.is_none() && n < limit && (n > 0 || offset == 0) {
        return Ok((rows, FindingTotal::exact(offset + n)));
    }
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    for b in &binds {
        count = count.bind(b.clone());
    }
    let counted = count.fetch_one(pool).await?;
    let total = if counted > cap {
        FindingTotal {
            count: cap,
            capped: true,
        }
    } else {
        FindingTotal::exact(counted)
    };
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::FindingTotal;

    #[test]
    fn totals_print_grouped_and_say_when_capped() {
        for (count, capped, want) in [
            (0, false, "0"),
            (999, false, "999"),
            (1_000, false, "1,000"),
            (123_456, false, "123,456"),
            (1_234_567, false, "1,234,567"),
            (10_000, true, "10,000+"),
        ] {
            assert_eq!(FindingTotal { count, capped }.to_string(), want);
        }
    }
}
