//! Read queries behind the regulator's portal pages (registry list with every filter the page
//! offers). Reads only: nothing here changes a row.

use haechi_core::Institution;

use crate::rows::{self, INSTITUTION_COLUMNS};
use crate::Result;

/// Filters of the registry page. Empty strings count as "no filter".
#[derive(Debug, Clone, Default)]
pub struct RegistryFilter {
    /// Matches the code or either name, case-insensitively.
    pub search: Option<String>,
    pub sector: Option<String>,
    pub size_class: Option<String>,
    /// Only institutions whose latest screening said eligible (true) or not (false).
    pub eligible: Option<bool>,
    pub limit: i64,
    pub offset: i64,
}

/// A page of institutions matching the filter (largest assets first), and the total count.
pub async fn registry_page(
    pool: &sqlx::AnyPool,
    f: &RegistryFilter,
) -> Result<(Vec<Institution>, i64)> {
    let mut clauses = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    if let Some(s) = f.search.as_ref().filter(|s| !s.trim().is_empty()) {
        binds.push(format!("%{}%", s.trim().to_lowercase()));
        let n = binds.len();
        clauses.push(format!(
            "(LOWER(code) LIKE ${n} OR LOWER(name_ko) LIKE ${n} OR LOWER(name_en) LIKE ${n})"
        ));
    }
    for (col, v) in [("sector", &f.sector), ("size_class", &f.size_class)] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            binds.push(v.clone());
            clauses.push(format!("{col} = ${}", binds.len()));
        }
    }
    if let Some(el) = f.eligible {
        clauses.push(format!(
            "(SELECT d.eligible FROM eligibility_decisions d WHERE d.institution_id = institutions.id ORDER BY d.id DESC LIMIT 1) = {}",
            i64::from(el)
        ));
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    let count_sql = format!("SELECT COUNT(*) FROM institutions{where_sql}");
    let list_sql = format!(
        "SELECT {INSTITUTION_COLUMNS} FROM institutions{where_sql} ORDER BY total_assets_krw DESC, id LIMIT {} OFFSET {}",
        f.limit.clamp(1, 1000),
        f.offset.max(0)
    );
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    let mut list = sqlx::query(&list_sql);
    for b in &binds {
        count = count.bind(b.clone());
        list = list.bind(b.clone());
    }
    let total = count.fetch_one(pool).await?;
    let rs = list.fetch_all(pool).await?;
    Ok((
        rs.iter()
            .map(rows::institution)
            .collect::<Result<Vec<_>>>()?,
        total,
    ))
}

/// Findings of one institution counted by priority (`""` when not prioritised yet) and status,
/// with how many of each open group are past their due date on `today` (`YYYY-MM-DD`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FindingCount {
    pub priority: String,
    pub status: String,
    pub count: i64,
    pub breached: i64,
}

pub async fn institution_finding_counts<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    e: E,
    institution_id: i64,
    today: &str,
) -> Result<Vec<FindingCount>> {
    use sqlx::Row;
    let rs = sqlx::query(
        "SELECT COALESCE(priority, '') AS priority, status, COUNT(*) AS n, \
         SUM(CASE WHEN status IN ('open', 'in_progress') AND due_date IS NOT NULL AND due_date < $2 THEN 1 ELSE 0 END) AS breached \
         FROM finding_priorities WHERE institution_id = $1 GROUP BY COALESCE(priority, ''), status ORDER BY 1, 2",
    )
    .bind(institution_id)
    .bind(today)
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(FindingCount {
                priority: r.try_get("priority")?,
                status: r.try_get("status")?,
                count: r.try_get("n")?,
                breached: r.try_get("breached")?,
            })
        })
        .collect()
}
