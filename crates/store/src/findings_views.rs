//! Read queries behind the portal's resource, import and finding pages: pages of ids (the rows
//! themselves are read with the functions of `findings.rs`), a finding's status history with
//! the audited transitions that explain it, and the names the list filters offer.
//!
//! What it must not do: write anything.

use serde::Serialize;
use sqlx::{Any, Executor, Row};

use crate::Result;

/// Ids of a page of resources of one institution (`Some`) or of all, in the order of
/// [`crate::list_resources`] (institution, name); `class` keeps one class (C, S or O).
pub async fn resource_ids_page<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: Option<i64>,
    class: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<i64>> {
    let rs = sqlx::query(&format!(
        "SELECT id FROM resources WHERE ($1 = 0 OR institution_id = $1) AND ($2 = '' OR class = $2) ORDER BY institution_id, name, id LIMIT {} OFFSET {}",
        limit.clamp(1, 1000),
        offset.max(0)
    ))
    .bind(institution_id.unwrap_or(0))
    .bind(class.unwrap_or(""))
    .fetch_all(e)
    .await?;
    rs.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

/// Ids of a page of finding imports of one institution (`Some`) or of all, newest first.
pub async fn finding_import_ids_page<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: Option<i64>,
    limit: i64,
    offset: i64,
) -> Result<Vec<i64>> {
    let rs = sqlx::query(&format!(
        "SELECT id FROM finding_imports WHERE ($1 = 0 OR institution_id = $1) ORDER BY id DESC LIMIT {} OFFSET {}",
        limit.clamp(1, 1000),
        offset.max(0)
    ))
    .bind(institution_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter().map(|r| Ok(r.try_get("id")?)).collect()
}

/// One change of a finding's status, as the status trigger recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChangeRow {
    pub from_status: String,
    pub to_status: String,
    pub changed_at: String,
}

/// Every status change of a finding, oldest first.
pub async fn finding_status_changes<'e, E: Executor<'e, Database = Any>>(
    e: E,
    finding_id: i64,
) -> Result<Vec<StatusChangeRow>> {
    let rs = sqlx::query(
        "SELECT from_status, to_status, changed_at FROM finding_status_changes WHERE finding_id = $1 ORDER BY changed_at",
    )
    .bind(finding_id)
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(StatusChangeRow {
                from_status: r.try_get("from_status")?,
                to_status: r.try_get("to_status")?,
                changed_at: r.try_get("changed_at")?,
            })
        })
        .collect()
}

/// An audited lifecycle step of one finding (`finding.transition`): who, when, and the before
/// and after values (status, reason, until) as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionAuditRow {
    pub at: String,
    pub actor_name: String,
    pub actor_role: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// The audited transitions of a finding, oldest first.
pub async fn finding_transition_audits<'e, E: Executor<'e, Database = Any>>(
    e: E,
    finding_id: i64,
) -> Result<Vec<TransitionAuditRow>> {
    let rs = sqlx::query(
        "SELECT at, actor_name, actor_role, before_json, after_json FROM audit_log WHERE entity = 'finding' AND entity_id = $1 AND action = 'finding.transition' ORDER BY seq",
    )
    .bind(finding_id.to_string())
    .fetch_all(e)
    .await?;
    let json = |s: Option<String>| {
        s.and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(serde_json::Value::Null)
    };
    rs.iter()
        .map(|r| {
            Ok(TransitionAuditRow {
                at: r.try_get("at")?,
                actor_name: r.try_get("actor_name")?,
                actor_role: r.try_get("actor_role")?,
                before: json(r.try_get("before_json")?),
                after: json(r.try_get("after_json")?),
            })
        })
        .collect()
}

/// Tool names and AI model names that the succeeded imports of one institution (`Some`) or of
/// all recorded, each sorted and without repeats (choices for the findings list's filters).
pub async fn import_tool_and_model_names<'e, E: Executor<'e, Database = Any> + Copy>(
    e: E,
    institution_id: Option<i64>,
) -> Result<(Vec<String>, Vec<String>)> {
    let names = |col: &'static str| async move {
        let rs = sqlx::query(&format!(
            "SELECT DISTINCT {col} AS name FROM finding_imports WHERE ($1 = 0 OR institution_id = $1) AND state = 'succeeded' AND {col} IS NOT NULL ORDER BY name LIMIT 200"
        ))
        .bind(institution_id.unwrap_or(0))
        .fetch_all(e)
        .await?;
        rs.iter()
            .map(|r| Ok(r.try_get::<String, _>("name")?))
            .collect::<Result<Vec<String>>>()
    };
    let tools = names("tool_name").await?;
    let models = names("ai_model").await?;
    Ok((tools, models))
}

/// Names of institutions by id (Korean, English), for lists that span institutions.
pub async fn institution_names<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Vec<(i64, String, String)>> {
    let rs = sqlx::query("SELECT id, name_ko, name_en FROM institutions ORDER BY id")
        .fetch_all(e)
        .await?;
    rs.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("name_ko")?,
                r.try_get("name_en")?,
            ))
        })
        .collect()
}

/// Findings of one priority and AI origin: how many are open (or in progress) and how many in
/// all. For the "AI-found vs conventionally found" chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OriginCount {
    /// `P1`…`P5`, or empty for findings not decided yet.
    pub priority: String,
    pub ai_origin: String,
    pub open: i64,
    pub total: i64,
}

/// [`OriginCount`]s of one institution (`Some`) or of all, by priority and origin.
pub async fn findings_by_origin<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: Option<i64>,
) -> Result<Vec<OriginCount>> {
    let rs = sqlx::query(
        "SELECT COALESCE(p.priority, '') AS priority, f.ai_origin, \
         SUM(CASE WHEN f.status IN ('open', 'in_progress') THEN 1 ELSE 0 END) AS open, COUNT(*) AS total \
         FROM findings f LEFT JOIN finding_priorities p ON p.finding_id = f.id \
         WHERE ($1 = 0 OR f.institution_id = $1) GROUP BY COALESCE(p.priority, ''), f.ai_origin ORDER BY 1, 2",
    )
    .bind(institution_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(OriginCount {
                priority: r.try_get("priority")?,
                ai_origin: r.try_get("ai_origin")?,
                open: r.try_get("open")?,
                total: r.try_get("total")?,
            })
        })
        .collect()
}
