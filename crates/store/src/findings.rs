//! Queries of the security-operations side (C11, C12): computing resources and their software
//! components, finding imports with their provenance, findings and their sightings.
//!
//! The bulk path of an import ([`WriteTx::lookup_findings`], [`FindingsWriter`] with
//! [`WriteTx::run_insert`]) works on batches: one statement per batch, the per-import constants
//! (institution, import id, time) spelled into it so that only the per-finding values are bound
//! and it is prepared once per import and reused for every full batch. SQLite allows 32,766
//! bound values per statement (a batch of [`MAX_BATCH`] findings binds 17,000 in its findings
//! insert), PostgreSQL 65,535 (it gets one JSON parameter per batch).

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Arguments, Executor, Row};

use crate::{PriorityWrite, Result, StoreError, WriteTx};

/// Largest number of findings one bulk statement carries.
pub const MAX_BATCH: usize = 1000;

/// `finding_cwes` rows per statement (SQLite).
const CWE_BATCH: usize = 2000;

// ---------------------------------------------------------------- resources

/// A computing resource of an institution, with its stored classification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceRow {
    pub id: i64,
    pub institution_id: i64,
    pub name: String,
    pub kind: String,
    pub business_function: String,
    /// snake_case data kinds (`personal_credit`, `customer_personal`, …).
    pub data_kinds: Vec<String>,
    pub network_zone: String,
    pub processes_electronic_transactions: bool,
    pub dr_tier: Option<String>,
    pub owner: Option<String>,
    /// `C`, `S` or `O`.
    pub class: String,
    /// The rule (or the policy default's id) that decided the class.
    pub decided_by: String,
    /// The whole decision: matched rules and reasons.
    pub classification: serde_json::Value,
    pub policy_version: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// What a resource write stores.
#[derive(Debug, Clone)]
pub struct ResourceWrite<'a> {
    pub institution_id: i64,
    pub name: &'a str,
    pub kind: &'a str,
    pub business_function: &'a str,
    pub data_kinds: &'a [String],
    pub network_zone: &'a str,
    pub processes_electronic_transactions: bool,
    pub dr_tier: Option<&'a str>,
    pub owner: Option<&'a str>,
    pub class: &'a str,
    pub decided_by: &'a str,
    pub classification_json: &'a str,
    pub policy_version: i64,
}

const RESOURCE_COLUMNS: &str = "id, institution_id, name, kind, business_function, data_kinds, network_zone, processes_electronic_transactions, dr_tier, owner, class, decided_by, classification_json, policy_version, created_at, updated_at";

fn resource_row(r: &AnyRow) -> Result<ResourceRow> {
    let kinds: String = r.try_get("data_kinds")?;
    let json: String = r.try_get("classification_json")?;
    Ok(ResourceRow {
        id: r.try_get("id")?,
        institution_id: r.try_get("institution_id")?,
        name: r.try_get("name")?,
        kind: r.try_get("kind")?,
        business_function: r.try_get("business_function")?,
        data_kinds: kinds
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        network_zone: r.try_get("network_zone")?,
        processes_electronic_transactions: r
            .try_get::<i64, _>("processes_electronic_transactions")?
            != 0,
        dr_tier: r.try_get("dr_tier")?,
        owner: r.try_get("owner")?,
        class: r.try_get("class")?,
        decided_by: r.try_get("decided_by")?,
        classification: serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("classification_json: {e}")))?,
        policy_version: r.try_get("policy_version")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn get_resource<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<ResourceRow>> {
    let r = sqlx::query(&format!(
        "SELECT {RESOURCE_COLUMNS} FROM resources WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(resource_row).transpose()
}

pub async fn get_resource_by_name<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: i64,
    name: &str,
) -> Result<Option<ResourceRow>> {
    let r = sqlx::query(&format!(
        "SELECT {RESOURCE_COLUMNS} FROM resources WHERE institution_id = $1 AND name = $2"
    ))
    .bind(institution_id)
    .bind(name)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(resource_row).transpose()
}

/// Resources of one institution (`Some`) or of all, by name.
pub async fn list_resources<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: Option<i64>,
) -> Result<Vec<ResourceRow>> {
    let rs = sqlx::query(&format!(
        "SELECT {RESOURCE_COLUMNS} FROM resources WHERE ($1 = 0 OR institution_id = $1) ORDER BY institution_id, name"
    ))
    .bind(institution_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter().map(resource_row).collect()
}

/// A software component of a resource (from a CycloneDX BOM).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentRow {
    pub kind: String,
    pub name: String,
    pub group: Option<String>,
    pub version: Option<String>,
    pub purl: Option<String>,
    pub bom_ref: Option<String>,
}

pub async fn resource_components<'e, E: Executor<'e, Database = Any>>(
    e: E,
    resource_id: i64,
) -> Result<Vec<ComponentRow>> {
    let rs = sqlx::query("SELECT kind, name, grp, version, purl, bom_ref FROM resource_components WHERE resource_id = $1 ORDER BY id")
        .bind(resource_id)
        .fetch_all(e)
        .await?;
    rs.iter()
        .map(|r| {
            Ok(ComponentRow {
                kind: r.try_get("kind")?,
                name: r.try_get("name")?,
                group: r.try_get("grp")?,
                version: r.try_get("version")?,
                purl: r.try_get("purl")?,
                bom_ref: r.try_get("bom_ref")?,
            })
        })
        .collect()
}

impl WriteTx {
    pub async fn insert_resource(&mut self, w: &ResourceWrite<'_>) -> Result<i64> {
        let now = self.now_text();
        let r = sqlx::query(
            "INSERT INTO resources (institution_id, name, kind, business_function, data_kinds, network_zone, processes_electronic_transactions, dr_tier, owner, class, decided_by, classification_json, policy_version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
        )
        .bind(w.institution_id)
        .bind(w.name)
        .bind(w.kind)
        .bind(w.business_function)
        .bind(w.data_kinds.join(","))
        .bind(w.network_zone)
        .bind(i64::from(w.processes_electronic_transactions))
        .bind(w.dr_tier)
        .bind(w.owner)
        .bind(w.class)
        .bind(w.decided_by)
        .bind(w.classification_json)
        .bind(w.policy_version)
        .bind(now)
        .fetch_one(self.conn())
        .await
        .map_err(|e| StoreError::from_write(e, &format!("resource '{}'", w.name)))?;
        Ok(r.try_get("id")?)
    }

    pub async fn update_resource(&mut self, id: i64, w: &ResourceWrite<'_>) -> Result<()> {
        let done = sqlx::query(
            "UPDATE resources SET name = $1, kind = $2, business_function = $3, data_kinds = $4, network_zone = $5, processes_electronic_transactions = $6, dr_tier = $7, owner = $8, class = $9, decided_by = $10, classification_json = $11, policy_version = $12, updated_at = $13 WHERE id = $14",
        )
        .bind(w.name)
        .bind(w.kind)
        .bind(w.business_function)
        .bind(w.data_kinds.join(","))
        .bind(w.network_zone)
        .bind(i64::from(w.processes_electronic_transactions))
        .bind(w.dr_tier)
        .bind(w.owner)
        .bind(w.class)
        .bind(w.decided_by)
        .bind(w.classification_json)
        .bind(w.policy_version)
        .bind(self.now_text())
        .bind(id)
        .execute(self.conn())
        .await
        .map_err(|e| StoreError::from_write(e, &format!("resource '{}'", w.name)))?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Replaces the software components of a resource.
    pub async fn replace_components(
        &mut self,
        resource_id: i64,
        components: &[ComponentRow],
    ) -> Result<()> {
        sqlx::query("DELETE FROM resource_components WHERE resource_id = $1")
            .bind(resource_id)
            .execute(self.conn())
            .await?;
        for c in components {
            sqlx::query("INSERT INTO resource_components (resource_id, kind, name, grp, version, purl, bom_ref) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(resource_id)
                .bind(&c.kind)
                .bind(&c.name)
                .bind(c.group.as_deref())
                .bind(c.version.as_deref())
                .bind(c.purl.as_deref())
                .bind(c.bom_ref.as_deref())
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- finding imports

/// An import as queued: who uploaded what.
#[derive(Debug, Clone)]
pub struct NewFindingImport<'a> {
    pub institution_id: i64,
    pub resource_id: Option<i64>,
    pub close_missing: bool,
    pub file_name: Option<&'a str>,
    pub file_sha256: Option<&'a str>,
    pub file_size: Option<i64>,
    pub uploaded_by: &'a str,
    pub ai_model: Option<&'a str>,
    pub ai_model_version: Option<&'a str>,
    /// The resolved resource mapping as JSON (`[{"prefix", "resource_id"}]`), if any.
    pub resource_map: Option<&'a str>,
}

/// What a finished import records about itself.
#[derive(Debug, Clone, Default)]
pub struct ImportProvenance {
    pub file_sha256: Option<String>,
    pub file_size: Option<i64>,
    pub tool_name: Option<String>,
    pub tool_version: Option<String>,
    pub tools_json: Option<String>,
    pub ai_model: Option<String>,
    pub ai_model_version: Option<String>,
    pub run_started_at: Option<String>,
    pub run_ended_at: Option<String>,
    pub bytes_read: i64,
    pub results_processed: i64,
}

/// A finding import with its provenance, state and outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingImportRow {
    pub id: i64,
    pub institution_id: i64,
    pub resource_id: Option<i64>,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub state: String,
    pub close_missing: bool,
    pub file_name: Option<String>,
    pub file_sha256: Option<String>,
    pub file_size: Option<i64>,
    pub uploaded_by: String,
    pub uploaded_at: String,
    pub finished_at: Option<String>,
    pub tool_name: Option<String>,
    pub tool_version: Option<String>,
    /// Every run's tool: `[{"name", "version", "extensions"}]`.
    pub tools: serde_json::Value,
    pub ai_model: Option<String>,
    pub ai_model_version: Option<String>,
    pub run_started_at: Option<String>,
    pub run_ended_at: Option<String>,
    pub bytes_read: i64,
    pub results_processed: i64,
    /// The import report of a succeeded import.
    pub report: serde_json::Value,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// JSON path or byte offset of the failure.
    pub error_location: Option<String>,
    /// The upload's mapping of path prefixes or hosts to resources: `[{"prefix",
    /// "resource_id"}]`, or null.
    pub resource_map: serde_json::Value,
}

const IMPORT_COLUMNS: &str = "id, institution_id, resource_id, state, close_missing, file_name, file_sha256, file_size, uploaded_by, uploaded_at, finished_at, tool_name, tool_version, tools_json, ai_model, ai_model_version, run_started_at, run_ended_at, bytes_read, results_processed, report_json, error_code, error_message, error_location, resource_map";

fn json_or_null(s: Option<String>) -> serde_json::Value {
    s.and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(serde_json::Value::Null)
}

fn import_row(r: &AnyRow) -> Result<FindingImportRow> {
    Ok(FindingImportRow {
        id: r.try_get("id")?,
        institution_id: r.try_get("institution_id")?,
        resource_id: r.try_get("resource_id")?,
        state: r.try_get("state")?,
        close_missing: r.try_get::<i64, _>("close_missing")? != 0,
        file_name: r.try_get("file_name")?,
        file_sha256: r.try_get("file_sha256")?,
        file_size: r.try_get("file_size")?,
        uploaded_by: r.try_get("uploaded_by")?,
        uploaded_at: r.try_get("uploaded_at")?,
        finished_at: r.try_get("finished_at")?,
        tool_name: r.try_get("tool_name")?,
        tool_version: r.try_get("tool_version")?,
        tools: json_or_null(r.try_get("tools_json")?),
        ai_model: r.try_get("ai_model")?,
        ai_model_version: r.try_get("ai_model_version")?,
        run_started_at: r.try_get("run_started_at")?,
        run_ended_at: r.try_get("run_ended_at")?,
        bytes_read: r.try_get("bytes_read")?,
        results_processed: r.try_get("results_processed")?,
        report: json_or_null(r.try_get("report_json")?),
        error_code: r.try_get("error_code")?,
        error_message: r.try_get("error_message")?,
        error_location: r.try_get("error_location")?,
        resource_map: json_or_null(r.try_get("resource_map")?),
    })
}

pub async fn get_finding_import<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<FindingImportRow>> {
    let r = sqlx::query(&format!(
        "SELECT {IMPORT_COLUMNS} FROM finding_imports WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(import_row).transpose()
}

/// Imports of one institution (`Some`) or of all, newest first.
pub async fn list_finding_imports<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: Option<i64>,
    limit: i64,
) -> Result<Vec<FindingImportRow>> {
    let rs = sqlx::query(&format!(
        "SELECT {IMPORT_COLUMNS} FROM finding_imports WHERE ($1 = 0 OR institution_id = $1) ORDER BY id DESC LIMIT {}",
        limit.clamp(1, 1000)
    ))
    .bind(institution_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter().map(import_row).collect()
}

impl WriteTx {
    /// Records a queued import and returns its id.
    pub async fn insert_finding_import(&mut self, n: &NewFindingImport<'_>) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO finding_imports (institution_id, resource_id, state, close_missing, file_name, file_sha256, file_size, uploaded_by, uploaded_at, ai_model, ai_model_version, bytes_read, results_processed, resource_map) \
             VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, $10, 0, 0, $11) RETURNING id",
        )
        .bind(n.institution_id)
        .bind(n.resource_id)
        .bind(i64::from(n.close_missing))
        .bind(n.file_name)
        .bind(n.file_sha256)
        .bind(n.file_size)
        .bind(n.uploaded_by)
        .bind(self.now_text())
        .bind(n.ai_model)
        .bind(n.ai_model_version)
        .bind(n.resource_map)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }

    /// Records the end of an import: `succeeded` with its report, or `failed` with the error.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_finding_import(
        &mut self,
        id: i64,
        state: &str,
        p: &ImportProvenance,
        report_json: Option<&str>,
        error_code: Option<&str>,
        error_message: Option<&str>,
        error_location: Option<&str>,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE finding_imports SET state = $1, finished_at = $2, file_sha256 = COALESCE($3, file_sha256), file_size = COALESCE($4, file_size), tool_name = $5, tool_version = $6, tools_json = $7, \
             ai_model = COALESCE(ai_model, $8), ai_model_version = COALESCE(ai_model_version, $9), run_started_at = $10, run_ended_at = $11, bytes_read = $12, results_processed = $13, \
             report_json = $14, error_code = $15, error_message = $16, error_location = $17 WHERE id = $18 AND state = 'queued'",
        )
        .bind(state)
        .bind(self.now_text())
        .bind(p.file_sha256.as_deref())
        .bind(p.file_size)
        .bind(p.tool_name.as_deref())
        .bind(p.tool_version.as_deref())
        .bind(p.tools_json.as_deref())
        .bind(p.ai_model.as_deref())
        .bind(p.ai_model_version.as_deref())
        .bind(p.run_started_at.as_deref())
        .bind(p.run_ended_at.as_deref())
        .bind(p.bytes_read)
        .bind(p.results_processed)
        .bind(report_json)
        .bind(error_code)
        .bind(error_message)
        .bind(error_location)
        .bind(id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- findings: bulk path

/// A 16-byte fingerprint or content hash.
pub type Hash16 = [u8; 16];

/// The per-finding values an import writes.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingValues {
    pub fingerprint: Hash16,
    /// The resource the finding is tied to (the upload's, or one its mapping chose); `None` ties
    /// it to the institution.
    pub resource_id: Option<i64>,
    pub tool_name: String,
    pub ai_model: Option<String>,
    pub rule_id: Option<String>,
    pub level: &'static str,
    pub severity: &'static str,
    pub security_severity: Option<f64>,
    /// `,79,89,` (comma-delimited, so that one CWE can be matched with LIKE).
    pub cwes: String,
    /// `,CVE-2021-44228,`.
    pub cves: String,
    pub message: String,
    pub location: Option<String>,
    pub snippet: Option<String>,
    pub code_flow: Option<String>,
    pub content_hash: Hash16,
    /// The AI model's version (from the run's provenance).
    pub ai_model_version: Option<String>,
    /// `ai_generated`, `ai_annotated` or `conventional`.
    pub ai_origin: &'static str,
    /// The tool's evidence of a working exploit that counted under the policy
    /// (`property=value`), if any.
    pub exploit_evidence: Option<String>,
}

impl FindingValues {
    /// The decision's weakness input as `finding_priorities.weakness` stores it: the CWE list,
    /// then `!` when the tool's exploit evidence counted (the trigger of 0010 spells the same).
    pub fn weakness(&self) -> String {
        weakness_facts(&self.cwes, self.exploit_evidence.is_some())
    }
}

/// `finding_priorities.weakness` from a CWE list and whether exploit evidence counted.
pub fn weakness_facts(cwes: &str, exploit: bool) -> String {
    if exploit {
        format!("{cwes}!")
    } else {
        cwes.to_string()
    }
}

/// What the bulk path needs to know of a stored finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIdentity {
    pub id: i64,
    pub fingerprint: Hash16,
    pub content_hash: Hash16,
    pub status: String,
    pub seen_since_import_id: Option<i64>,
}

/// The decisions made with the findings an import inserts: one per finding, in the same order
/// (their `id` is not used: the store assigns the finding ids).
#[derive(Debug, Clone)]
pub struct NewDecisions<'a> {
    pub policy_version: i64,
    pub decided_at: &'a str,
    pub rows: &'a [PriorityWrite],
}

/// One batch's share of [`NewDecisions`]: the decisions and the rows they belong to.
type BatchDecisions<'a, 'b> = Option<(&'a NewDecisions<'b>, &'a [PriorityWrite])>;

/// The policy version and decision time of a batch's decisions as SQL literals (`NULL` when the
/// batch is inserted undecided).
fn decision_literals(decided: BatchDecisions<'_, '_>) -> (String, String) {
    decided
        .map(|(d, _)| (d.policy_version.to_string(), sql_text(d.decided_at)))
        .unwrap_or_else(|| ("NULL".into(), "NULL".into()))
}

/// The constants of one import's writes.
#[derive(Debug, Clone)]
pub struct ImportScope {
    pub institution_id: i64,
    pub resource_id: Option<i64>,
    pub import_id: i64,
    pub now: String,
}

/// The CWE numbers of a `,79,89,` column.
fn cwe_list(cwes: &str) -> impl Iterator<Item = u32> + '_ {
    cwes.split(',').filter_map(|s| s.parse().ok())
}

fn hash16(v: Vec<u8>, col: &str) -> Result<Hash16> {
    v.try_into()
        .map_err(|v: Vec<u8>| StoreError::Corrupt(format!("{col} has {} bytes, not 16", v.len())))
}

/// Parses `<32 hex fingerprint><32 hex content hash>:<status>:<seen since>:<id>`.
fn unpack_identity(item: &str) -> Result<StoredIdentity> {
    let bad = || StoreError::Corrupt(format!("finding identity '{item}'"));
    let mut parts = item.splitn(4, ':');
    let hashes = parts.next().ok_or_else(bad)?;
    let status = parts.next().ok_or_else(bad)?;
    let since = parts.next().ok_or_else(bad)?;
    let id = parts.next().ok_or_else(bad)?;
    if hashes.len() != 64 {
        return Err(bad());
    }
    let mut fingerprint = [0u8; 16];
    let mut content_hash = [0u8; 16];
    hex::decode_to_slice(&hashes[..32], &mut fingerprint).map_err(|_| bad())?;
    hex::decode_to_slice(&hashes[32..], &mut content_hash).map_err(|_| bad())?;
    Ok(StoredIdentity {
        id: id.parse().map_err(|_| bad())?,
        fingerprint,
        content_hash,
        status: status.to_string(),
        seen_since_import_id: if since.is_empty() {
            None
        } else {
            Some(since.parse().map_err(|_| bad())?)
        },
    })
}

/// The severities a finding can have, most severe first.
pub const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "none"];

/// Severity as a number, for ordering and its index: critical 4, high 3, medium 2, low 1,
/// anything else 0.
pub fn severity_rank(severity: &str) -> i64 {
    match severity {
        "critical" => 4,
        "high" => 3,
        "medium" => 2,
        "low" => 1,
        _ => 0,
    }
}

/// A stored finding as the bulk path sees it: 41 bytes, no allocation.
#[derive(Debug, Clone, Copy)]
struct ScopeEntry {
    fingerprint: Hash16,
    content_hash: Hash16,
    id: [u8; 8],
    /// Bit 0: fixed or verified (seen again, it reopens). Bit 1: not seen by the latest import of
    /// its scope.
    flags: u8,
}

/// What an import needs to know of a stored finding it meets again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownFinding {
    pub id: i64,
    pub content_hash: Hash16,
    /// `fixed` or `verified`: reported again, it reopens.
    pub closed: bool,
    /// The latest import of its scope did not report it (`seen_since_import_id` is NULL).
    pub missing: bool,
}

/// The stored findings of an import's scope (its institution and the resources it writes to),
/// loaded once before the first batch so that a re-import compares content hashes in memory
/// instead of querying per batch.
///
/// Compact on purpose: one sorted array of 41-byte entries plus a directory over the first two
/// fingerprint bytes (fingerprints are uniform hashes, so each directory slot holds n/65,536
/// entries and a lookup is a short binary search). 1,000,000 stored findings take ~41 MB.
#[derive(Debug, Default)]
pub struct ScopeIndex {
    entries: Vec<ScopeEntry>,
    /// `dir[p]..dir[p + 1]` are the entries whose fingerprint starts with the 16-bit prefix `p`.
    dir: Vec<u32>,
}

impl ScopeIndex {
    fn build(mut entries: Vec<ScopeEntry>) -> Result<ScopeIndex> {
        if entries.len() >= u32::MAX as usize {
            return Err(StoreError::Corrupt("too many findings in one scope".into()));
        }
        entries.sort_unstable_by_key(|e| e.fingerprint);
        entries.shrink_to_fit();
        let mut dir = vec![0u32; 65_537];
        for e in &entries {
            let p = usize::from(u16::from_be_bytes([e.fingerprint[0], e.fingerprint[1]]));
            dir[p + 1] += 1;
        }
        for p in 1..dir.len() {
            dir[p] += dir[p - 1];
        }
        Ok(ScopeIndex { entries, dir })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where the stored finding with this fingerprint sits (`0..len()`), if there is one; lets
    /// a caller keep one bit per stored finding instead of a set of fingerprints.
    pub fn position(&self, fingerprint: &Hash16) -> Option<usize> {
        if self.entries.is_empty() {
            return None;
        }
        let p = usize::from(u16::from_be_bytes([fingerprint[0], fingerprint[1]]));
        let (lo, hi) = (*self.dir.get(p)? as usize, *self.dir.get(p + 1)? as usize);
        let slot = self.entries.get(lo..hi)?;
        let i = slot
            .binary_search_by(|e| e.fingerprint.cmp(fingerprint))
            .ok()?;
        Some(lo + i)
    }

    /// The stored finding at a [`ScopeIndex::position`].
    pub fn at(&self, position: usize) -> Option<KnownFinding> {
        let e = self.entries.get(position)?;
        Some(KnownFinding {
            id: i64::from_le_bytes(e.id),
            content_hash: e.content_hash,
            closed: e.flags & 1 != 0,
            missing: e.flags & 2 != 0,
        })
    }

    /// The stored finding with this fingerprint, if any.
    pub fn get(&self, fingerprint: &Hash16) -> Option<KnownFinding> {
        self.at(self.position(fingerprint)?)
    }
}

/// Parses one `<32 hex fingerprint><32 hex content hash>:<id>:<flags>` item.
fn unpack_entry(item: &str) -> Result<ScopeEntry> {
    let bad = || StoreError::Corrupt(format!("finding identity '{item}'"));
    let mut parts = item.splitn(3, ':');
    let hashes = parts.next().ok_or_else(bad)?;
    let id: i64 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    let flags: u8 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
    if hashes.len() != 64 {
        return Err(bad());
    }
    let mut fingerprint = [0u8; 16];
    let mut content_hash = [0u8; 16];
    hex::decode_to_slice(&hashes[..32], &mut fingerprint).map_err(|_| bad())?;
    hex::decode_to_slice(&hashes[32..], &mut content_hash).map_err(|_| bad())?;
    Ok(ScopeEntry {
        fingerprint,
        content_hash,
        id: id.to_le_bytes(),
        flags,
    })
}

/// The columns an import's insert writes (all but the id).
const INSERT_COLUMNS: &str = "institution_id, resource_id, fingerprint, tool_name, ai_model, rule_id, level, severity, severity_rank, security_severity, cwes, cves, message, location, snippet, code_flow, content_hash, status, first_seen_import_id, last_changed_import_id, seen_since_import_id, created_at, updated_at, ai_model_version, ai_origin, exploit_evidence";

/// Rows of the scope loaded per round trip (bounds the aggregated text to a few MB).
const SCOPE_CHUNK: i64 = 50_000;

/// Quotes a text literal for SQL (single quotes doubled).
fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl WriteTx {
    fn is_postgres(&mut self) -> bool {
        self.conn().backend_name() == "PostgreSQL"
    }

    /// Loads the stored findings of an institution tied to any of `resources` (`None`: tied to
    /// the institution itself) into a [`ScopeIndex`]. Read in chunks by id; each chunk comes
    /// back as one aggregated text row, because the driver's per-row cost would dominate.
    pub async fn load_scope(
        &mut self,
        institution_id: i64,
        resources: &[Option<i64>],
    ) -> Result<ScopeIndex> {
        let postgres = self.is_postgres();
        // Sized exactly up front: growing by doubling would briefly need twice the memory.
        let mut total = 0i64;
        for resource in resources {
            let res = match resource {
                Some(r) => format!("resource_id = {r}"),
                None => "resource_id IS NULL".to_string(),
            };
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM findings WHERE institution_id = {institution_id} AND {res}"
            ))
            .fetch_one(self.conn())
            .await?;
            total += n;
        }
        let mut entries = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        for resource in resources {
            let res = match resource {
                Some(r) => format!("resource_id = {r}"),
                None => "resource_id IS NULL".to_string(),
            };
            let mut after = 0i64;
            loop {
                let inner = format!(
                    "SELECT id, fingerprint, content_hash, (CASE WHEN status IN ('fixed', 'verified') THEN 1 ELSE 0 END) + (CASE WHEN seen_since_import_id IS NULL THEN 2 ELSE 0 END) AS flags \
                     FROM findings WHERE {res} AND institution_id = {institution_id} AND id > {after} ORDER BY id LIMIT {SCOPE_CHUNK}"
                );
                let sql = if postgres {
                    format!("SELECT string_agg(encode(fingerprint, 'hex') || encode(content_hash, 'hex') || ':' || id::text || ':' || flags::text, ',') FROM ({inner}) AS s")
                } else {
                    format!("SELECT group_concat(hex(fingerprint) || hex(content_hash) || ':' || id || ':' || flags, ',') FROM ({inner})")
                };
                let packed: Option<String> =
                    sqlx::query_scalar(&sql).fetch_one(self.conn()).await?;
                let before = entries.len();
                for item in packed
                    .as_deref()
                    .unwrap_or("")
                    .split(',')
                    .filter(|s| !s.is_empty())
                {
                    let e = unpack_entry(item)?;
                    after = after.max(i64::from_le_bytes(e.id));
                    entries.push(e);
                }
                if ((entries.len() - before) as i64) < SCOPE_CHUNK {
                    break;
                }
            }
        }
        ScopeIndex::build(entries)
    }

    /// The stored findings of an institution among `fingerprints`.
    ///
    /// The answer comes back as one aggregated text row, not one row per finding: the per-row
    /// cost of the driver dominated a re-import. SQLite gets anonymous `?` placeholders (it
    /// resolves a numbered parameter's name by a linear scan, which makes binding n numbered
    /// values O(n²)); PostgreSQL gets one text parameter that the server splits.
    pub async fn lookup_findings(
        &mut self,
        institution_id: i64,
        fingerprints: &[Hash16],
    ) -> Result<Vec<StoredIdentity>> {
        let mut out = Vec::with_capacity(fingerprints.len());
        for chunk in fingerprints.chunks(MAX_BATCH) {
            let packed: Option<String> = if self.is_postgres() {
                let list: Vec<String> = chunk.iter().map(hex::encode).collect();
                sqlx::query_scalar(&format!(
                    "SELECT string_agg(encode(fingerprint, 'hex') || encode(content_hash, 'hex') || ':' || status || ':' || COALESCE(seen_since_import_id::text, '') || ':' || id::text, ',') \
                     FROM findings WHERE institution_id = {institution_id} AND fingerprint IN (SELECT decode(x, 'hex') FROM unnest(string_to_array($1, ',')) AS x)"
                ))
                .bind(list.join(","))
                .fetch_one(self.conn())
                .await?
            } else {
                let marks = vec!["?"; chunk.len()].join(", ");
                let sql = format!(
                    "SELECT group_concat(hex(fingerprint) || hex(content_hash) || ':' || status || ':' || COALESCE(seen_since_import_id, '') || ':' || id, ',') \
                     FROM findings WHERE institution_id = {institution_id} AND fingerprint IN ({marks})"
                );
                let mut q = sqlx::query_scalar(&sql);
                for fp in chunk {
                    q = q.bind(&fp[..]);
                }
                q.fetch_one(self.conn()).await?
            };
            for item in packed
                .as_deref()
                .unwrap_or("")
                .split(',')
                .filter(|s| !s.is_empty())
            {
                out.push(unpack_identity(item)?);
            }
        }
        Ok(out)
    }

    /// Inserts new findings (status `open`, seen since this import), [`MAX_BATCH`] per
    /// statement, with their `finding_cwes` rows and their `finding_priorities` rows: decided
    /// when `decided` is given (one decision per row, in the same order), otherwise undecided
    /// (a NULL digest: the next recompute decides them). One call, one [`FindingsWriter`]; an
    /// import that writes batch after batch keeps one writer (see [`FindingsWriter`]).
    pub async fn insert_findings(
        &mut self,
        scope: &ImportScope,
        rows: &[FindingValues],
        decided: Option<&NewDecisions<'_>>,
    ) -> Result<u64> {
        let mut writer = self.findings_writer(scope).await?;
        let batch = writer.prepare(rows, decided)?;
        let written = self.run_insert(batch).await?;
        self.run_insert(writer.finish()?).await?;
        Ok(written)
    }

    /// A [`FindingsWriter`] for this import's new findings. On SQLite it reads the largest
    /// finding id: this transaction holds the database-wide write lock, so the ids it assigns
    /// from there are free until it commits.
    pub async fn findings_writer(&mut self, scope: &ImportScope) -> Result<FindingsWriter> {
        let postgres = self.is_postgres();
        let next_id = if postgres {
            0
        } else {
            sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(id), 0) FROM findings")
                .fetch_one(self.conn())
                .await?
                + 1
        };
        Ok(FindingsWriter {
            scope: scope.clone(),
            postgres,
            next_id,
            cwes: Vec::new(),
            sql: HashMap::new(),
        })
    }

    /// Runs the statements of a [`PreparedInsert`] (in the order its writer prepared them);
    /// returns the number of findings inserted.
    pub async fn run_insert(&mut self, batch: PreparedInsert) -> Result<u64> {
        let mut written = 0;
        for s in batch.statements {
            let q = sqlx::query_with(&s.sql, s.args).persistent(s.persistent);
            match s.count {
                Count::Rows(n) => {
                    q.execute(self.conn())
                        .await
                        .map_err(|e| StoreError::from_write(e, "finding fingerprint"))?;
                    written += n;
                }
                Count::Answered => {
                    let row = q
                        .fetch_one(self.conn())
                        .await
                        .map_err(|e| StoreError::from_write(e, "finding fingerprint"))?;
                    written += row.try_get::<i64, _>(0)? as u64;
                }
            }
        }
        Ok(written)
    }

    /// Rewrites a stored finding seen again by this import: its content when `values` is given,
    /// reopening it when `reopen_reason` is given, and marking it seen since this import when it
    /// had gone missing.
    pub async fn refresh_finding(
        &mut self,
        scope: &ImportScope,
        id: i64,
        values: Option<&FindingValues>,
        reopen_reason: Option<&str>,
    ) -> Result<()> {
        let imp = scope.import_id;
        let status = if reopen_reason.is_some() {
            "'open', status_reason = $2, risk_accepted_until = NULL"
        } else {
            "status, status_reason = COALESCE($2, status_reason)"
        };
        match values {
            Some(f) => {
                let old_cwes: Option<String> =
                    sqlx::query_scalar("SELECT cwes FROM findings WHERE id = $1")
                        .bind(id)
                        .fetch_optional(self.conn())
                        .await?;
                let sql = format!(
                    "UPDATE findings SET updated_at = $1, status = {status}, seen_since_import_id = COALESCE(seen_since_import_id, {imp}), last_changed_import_id = {imp}, \
                     tool_name = $3, ai_model = $4, rule_id = $5, level = $6, severity = $7, security_severity = $8, cwes = $9, cves = $10, message = $11, location = $12, snippet = $13, code_flow = $14, content_hash = $15, severity_rank = $16, \
                     ai_model_version = $18, ai_origin = $19, exploit_evidence = $20 WHERE id = $17"
                );
                sqlx::query(&sql)
                    .bind(&scope.now)
                    .bind(reopen_reason)
                    .bind(&f.tool_name)
                    .bind(f.ai_model.as_deref())
                    .bind(f.rule_id.as_deref())
                    .bind(f.level)
                    .bind(f.severity)
                    .bind(f.security_severity)
                    .bind(&f.cwes)
                    .bind(&f.cves)
                    .bind(&f.message)
                    .bind(f.location.as_deref())
                    .bind(f.snippet.as_deref())
                    .bind(f.code_flow.as_deref())
                    .bind(&f.content_hash[..])
                    .bind(severity_rank(f.severity))
                    .bind(id)
                    .bind(f.ai_model_version.as_deref())
                    .bind(f.ai_origin)
                    .bind(f.exploit_evidence.as_deref())
                    .execute(self.conn())
                    .await?;
                if old_cwes.as_deref() != Some(f.cwes.as_str()) {
                    let inst = scope.institution_id;
                    for c in cwe_list(old_cwes.as_deref().unwrap_or("")) {
                        sqlx::query(&format!("DELETE FROM finding_cwes WHERE institution_id = {inst} AND cwe = {c} AND finding_id = {id}"))
                            .execute(self.conn())
                            .await?;
                    }
                    for c in cwe_list(&f.cwes) {
                        sqlx::query(&format!("INSERT INTO finding_cwes (institution_id, cwe, finding_id) SELECT institution_id, {c}, id FROM findings WHERE id = {id}"))
                            .execute(self.conn())
                            .await?;
                    }
                }
            }
            None => {
                let sql = format!(
                    "UPDATE findings SET updated_at = $1, status = {status}, seen_since_import_id = COALESCE(seen_since_import_id, {imp}) WHERE id = $3"
                );
                sqlx::query(&sql)
                    .bind(&scope.now)
                    .bind(reopen_reason)
                    .bind(id)
                    .execute(self.conn())
                    .await?;
            }
        }
        Ok(())
    }

    /// How many findings of a scope (institution, resource, tool) the latest import saw.
    pub async fn count_seen_in_scope(
        &mut self,
        institution_id: i64,
        resource_id: Option<i64>,
        tool_name: &str,
    ) -> Result<i64> {
        let res = match resource_id {
            Some(r) => format!("resource_id = {r}"),
            None => "resource_id IS NULL".to_string(),
        };
        let n: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM findings WHERE institution_id = $1 AND tool_name = $2 AND {res} AND seen_since_import_id IS NOT NULL"
        ))
        .bind(institution_id)
        .bind(tool_name)
        .fetch_one(self.conn())
        .await?;
        Ok(n)
    }

    /// The findings of a scope (institution, resource, tool) that the latest import saw, and,
    /// with `open_too`, also those open or in progress: id, fingerprint, status, seen since.
    pub async fn scope_findings(
        &mut self,
        institution_id: i64,
        resource_id: Option<i64>,
        tool_name: &str,
        open_too: bool,
    ) -> Result<Vec<(i64, Hash16, String, Option<i64>)>> {
        let res = match resource_id {
            Some(r) => format!("resource_id = {r}"),
            None => "resource_id IS NULL".to_string(),
        };
        let which = if open_too {
            "(seen_since_import_id IS NOT NULL OR status IN ('open', 'in_progress'))"
        } else {
            "seen_since_import_id IS NOT NULL"
        };
        let rs = sqlx::query(&format!(
            "SELECT id, fingerprint, status, seen_since_import_id FROM findings WHERE institution_id = $1 AND tool_name = $2 AND {res} AND {which}"
        ))
        .bind(institution_id)
        .bind(tool_name)
        .fetch_all(self.conn())
        .await?;
        rs.iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    hash16(r.try_get("fingerprint")?, "fingerprint")?,
                    r.try_get("status")?,
                    r.try_get("seen_since_import_id")?,
                ))
            })
            .collect()
    }

    /// Ends the sightings of findings this import did not see: records the closed interval
    /// and clears `seen_since_import_id`. `missing` holds (id, seen since).
    pub async fn end_sightings(
        &mut self,
        scope: &ImportScope,
        missing: &[(i64, i64)],
    ) -> Result<()> {
        for chunk in missing.chunks(MAX_BATCH) {
            let mut sql = String::from(
                "INSERT INTO finding_sightings (finding_id, from_import_id, until_import_id) VALUES ",
            );
            for (i, (id, from)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("({id}, {from}, {})", scope.import_id));
            }
            sqlx::query(&sql).execute(self.conn()).await?;
            let ids: Vec<String> = chunk.iter().map(|(id, _)| id.to_string()).collect();
            sqlx::query(&format!(
                "UPDATE findings SET seen_since_import_id = NULL WHERE id IN ({})",
                ids.join(", ")
            ))
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    /// Sets the status of many findings at once (close-missing, expiry job); returns how many.
    pub async fn set_findings_status(
        &mut self,
        ids: &[i64],
        status: &str,
        reason: &str,
        now: &str,
    ) -> Result<u64> {
        let mut n = 0;
        for chunk in ids.chunks(MAX_BATCH) {
            let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
            n += sqlx::query(&format!(
                "UPDATE findings SET status = $1, status_reason = $2, risk_accepted_until = NULL, updated_at = $3 WHERE id IN ({})",
                list.join(", ")
            ))
            .bind(status)
            .bind(reason)
            .bind(now)
            .execute(self.conn())
            .await?
            .rows_affected();
        }
        Ok(n)
    }

    /// Moves one finding from `from` to `to`; `NotFound` when it is not in `from`.
    pub async fn set_finding_status(
        &mut self,
        id: i64,
        from: &str,
        to: &str,
        reason: Option<&str>,
        risk_accepted_until: Option<&str>,
    ) -> Result<()> {
        let done = sqlx::query("UPDATE findings SET status = $1, status_reason = $2, risk_accepted_until = $3, updated_at = $4 WHERE id = $5 AND status = $6")
            .bind(to)
            .bind(reason)
            .bind(risk_accepted_until)
            .bind(self.now_text())
            .bind(id)
            .bind(from)
            .execute(self.conn())
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- findings: reads

/// A stored finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingRow {
    pub id: i64,
    pub institution_id: i64,
    pub resource_id: Option<i64>,
    /// 32 lowercase hex digits.
    pub fingerprint: String,
    pub tool_name: String,
    pub ai_model: Option<String>,
    pub ai_model_version: Option<String>,
    /// `ai_generated`, `ai_annotated` or `conventional`.
    pub ai_origin: String,
    /// The tool's evidence of a working exploit that counted (`property=value`).
    pub exploit_evidence: Option<String>,
    pub rule_id: Option<String>,
    pub level: String,
    pub severity: String,
    pub security_severity: Option<f64>,
    pub cwes: Vec<u32>,
    pub cves: Vec<String>,
    pub message: String,
    pub location: Option<String>,
    pub snippet: Option<String>,
    pub code_flow: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub risk_accepted_until: Option<String>,
    pub first_seen_import_id: i64,
    pub last_changed_import_id: i64,
    /// The import since which every import of the finding's scope has seen it; `None` when the
    /// latest import of its scope did not report it.
    pub seen_since_import_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

pub(crate) const FINDING_COLUMNS: &str = "id, institution_id, resource_id, fingerprint, tool_name, ai_model, ai_model_version, ai_origin, exploit_evidence, rule_id, level, severity, security_severity, cwes, cves, message, location, snippet, code_flow, status, status_reason, risk_accepted_until, first_seen_import_id, last_changed_import_id, seen_since_import_id, created_at, updated_at";

pub(crate) fn finding_row(r: &AnyRow) -> Result<FindingRow> {
    let fp: Vec<u8> = r.try_get("fingerprint")?;
    let cwes: String = r.try_get("cwes")?;
    let cves: String = r.try_get("cves")?;
    Ok(FindingRow {
        id: r.try_get("id")?,
        institution_id: r.try_get("institution_id")?,
        resource_id: r.try_get("resource_id")?,
        fingerprint: hex::encode(fp),
        tool_name: r.try_get("tool_name")?,
        ai_model: r.try_get("ai_model")?,
        ai_model_version: r.try_get("ai_model_version")?,
        ai_origin: r.try_get("ai_origin")?,
        exploit_evidence: r.try_get("exploit_evidence")?,
        rule_id: r.try_get("rule_id")?,
        level: r.try_get("level")?,
        severity: r.try_get("severity")?,
        security_severity: r.try_get("security_severity")?,
        cwes: cwes.split(',').filter_map(|s| s.parse().ok()).collect(),
        cves: cves
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        message: r.try_get("message")?,
        location: r.try_get("location")?,
        snippet: r.try_get("snippet")?,
        code_flow: r.try_get("code_flow")?,
        status: r.try_get("status")?,
        status_reason: r.try_get("status_reason")?,
        risk_accepted_until: r.try_get("risk_accepted_until")?,
        first_seen_import_id: r.try_get("first_seen_import_id")?,
        last_changed_import_id: r.try_get("last_changed_import_id")?,
        seen_since_import_id: r.try_get("seen_since_import_id")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

pub async fn get_finding<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<FindingRow>> {
    let r = sqlx::query(&format!(
        "SELECT {FINDING_COLUMNS} FROM findings WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(finding_row).transpose()
}

/// The ids of the succeeded imports that saw a finding: those of its scope (institution,
/// resource, tool) inside one of its sighting intervals, oldest first.
pub async fn finding_sightings<'e, E: Executor<'e, Database = Any> + Copy>(
    e: E,
    f: &FindingRow,
) -> Result<Vec<i64>> {
    let mut intervals: Vec<(i64, Option<i64>)> = sqlx::query(
        "SELECT from_import_id, until_import_id FROM finding_sightings WHERE finding_id = $1 ORDER BY from_import_id",
    )
    .bind(f.id)
    .fetch_all(e)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("from_import_id")?, Some(r.try_get("until_import_id")?))))
    .collect::<Result<_>>()?;
    if let Some(since) = f.seen_since_import_id {
        intervals.push((since, None));
    }
    // An import covers its own resource and every resource its mapping names.
    let rs = sqlx::query(
        "SELECT id, resource_id, tools_json, resource_map FROM finding_imports WHERE institution_id = $1 AND state = 'succeeded' AND id >= $2 ORDER BY id",
    )
    .bind(f.institution_id)
    .bind(f.first_seen_import_id)
    .fetch_all(e)
    .await?;
    let mut out = Vec::new();
    for r in &rs {
        let id: i64 = r.try_get("id")?;
        let own: Option<i64> = r.try_get("resource_id")?;
        let map = json_or_null(r.try_get("resource_map")?);
        let covers = own == f.resource_id
            || f.resource_id.is_some_and(|fr| {
                map.as_array()
                    .is_some_and(|a| a.iter().any(|m| m["resource_id"].as_i64() == Some(fr)))
            });
        if !covers {
            continue;
        }
        let tools = json_or_null(r.try_get("tools_json")?);
        let has_tool = tools
            .as_array()
            .is_some_and(|a| a.iter().any(|t| t["name"] == f.tool_name.as_str()));
        let inside = intervals
            .iter()
            .any(|(from, until)| id >= *from && until.is_none_or(|u| id < u));
        if has_tool && inside {
            out.push(id);
        }
    }
    Ok(out)
}

/// Risk acceptances that ended before `today` (`YYYY-MM-DD`): (id, institution id, until).
pub async fn expired_acceptances<'e, E: Executor<'e, Database = Any>>(
    e: E,
    today: &str,
) -> Result<Vec<(i64, i64, String)>> {
    let rs = sqlx::query("SELECT id, institution_id, risk_accepted_until FROM findings WHERE status = 'risk_accepted' AND risk_accepted_until < $1 ORDER BY id")
        .bind(today)
        .fetch_all(e)
        .await?;
    rs.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("institution_id")?,
                r.try_get("risk_accepted_until")?,
            ))
        })
        .collect()
}

/// Number of findings of an institution (all statuses).
pub async fn count_findings<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: i64,
) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM findings WHERE institution_id = $1")
            .bind(institution_id)
            .fetch_one(e)
            .await?,
    )
}

// ---------------------------------------------------------------- scratch databases (benchmarks)

/// `url` with its database name replaced (PostgreSQL URLs; used for scratch databases and tests).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Creates an empty PostgreSQL database `name` on the server of `admin_url` and returns its URL
/// (for `haechi bench`, which must not touch a real instance). `name` must be a plain
/// identifier.
pub async fn create_scratch_postgres(admin_url: &str, name: &str) -> Result<String> {
    use sqlx::Connection;
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(StoreError::Config(format!(
            "'{name}' is not a plain database name"
        )));
    }
    sqlx::any::install_default_drivers();
    let mut admin = sqlx::AnyConnection::connect(admin_url).await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(with_database(admin_url, name))
}

/// Drops a database made by [`create_scratch_postgres`].
pub async fn drop_scratch_postgres(admin_url: &str, name: &str) -> Result<()> {
    use sqlx::Connection;
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(StoreError::Config(format!(
            "'{name}' is not a plain database name"
        )));
    }
    let mut admin = sqlx::AnyConnection::connect(admin_url).await?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(())
}

// ---------------------------------------------------------------- bulk insert of new findings

/// Turns an import's new findings into statements, apart from its transaction: an import
/// prepares the next batch while the database runs the statements of the one before (see the
/// service's import loop), then hands them to [`WriteTx::run_insert`] in the order prepared.
///
/// SQLite gets, per batch, one script of multi-row `INSERT … VALUES` statements (findings,
/// their priorities, and a full statement of CWE rows when one is due) with anonymous
/// placeholders (see [`WriteTx::lookup_findings`] on why not numbered ones) and explicit ids, so
/// the `finding_cwes` and `finding_priorities` rows are bound from the same values instead of
/// read back. One script is one round trip: the database never waits for the next statement of
/// a batch while this side prepares the following batch. CWE rows are carried from batch to
/// batch until a full statement of [`CWE_BATCH`] rows can go ([`FindingsWriter::finish`]
/// flushes the rest), so nearly every script has one of a few shapes and is prepared once per
/// import. PostgreSQL gets each batch as one JSON text parameter (an array of arrays) that the
/// server expands, with the side rows written from the inserted rows in the same statement
/// (`RETURNING` in a CTE).
///
/// The arguments are owned, which costs a copy of each text value here instead of one where the
/// driver sends them: the copy moves off the path the database waits on.
pub struct FindingsWriter {
    scope: ImportScope,
    postgres: bool,
    /// SQLite: the id the next finding gets.
    next_id: i64,
    /// SQLite: `(finding id, CWE)` rows not yet in a statement (fewer than [`CWE_BATCH`]).
    cwes: Vec<(i64, u32)>,
    /// Statement texts built so far, by shape and row count.
    sql: HashMap<(Shape, usize), Arc<str>>,
}

/// The shape of a statement text (with the row count, its cache key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Shape {
    /// SQLite: findings and priorities, decided or not, with a full CWE statement or not.
    Sqlite { decided: bool, cwes: bool },
    /// SQLite: the CWE rows left at the end.
    SqliteCwes,
    /// PostgreSQL's statement, decided or not.
    Postgres { decided: bool },
}

/// Statements of one batch of new findings, ready to run ([`WriteTx::run_insert`]).
pub struct PreparedInsert {
    statements: Vec<PreparedStatement>,
}

struct PreparedStatement {
    sql: Arc<str>,
    args: AnyArguments<'static>,
    /// Kept prepared on the connection (the full-size shapes; one of another size is rarely
    /// met again, and a cached statement of thousands of placeholders holds about a megabyte).
    persistent: bool,
    /// How it tells the number of findings it inserted.
    count: Count,
}

enum Count {
    /// Known when prepared: a multi-row insert inserts all its rows or fails.
    Rows(u64),
    /// Answered by the statement (PostgreSQL's CTE).
    Answered,
}

/// Adds one owned value to statement arguments. Encoding a value the driver supports cannot
/// fail; the error is mapped all the same.
fn arg<T>(args: &mut AnyArguments<'static>, value: T) -> Result<()>
where
    T: 'static + sqlx::Encode<'static, Any> + sqlx::Type<Any>,
{
    args.add(value)
        .map_err(|e| StoreError::Corrupt(format!("binding a finding value: {e}")))
}

/// The arguments of CWE rows `(finding id, CWE)`, in the order of [`cwe_sql`]'s placeholders.
fn cwe_args(
    args: &mut AnyArguments<'static>,
    rows: impl IntoIterator<Item = (i64, u32)>,
) -> Result<()> {
    for (id, c) in rows {
        arg(args, i64::from(c))?;
        arg(args, id)?;
    }
    Ok(())
}

/// A multi-row insert of `rows` CWE rows of institution `inst`.
fn cwe_sql(inst: i64, rows: usize) -> String {
    format!(
        "INSERT INTO finding_cwes (institution_id, cwe, finding_id) VALUES {}",
        vec![format!("({inst}, ?, ?)"); rows].join(", ")
    )
}

impl FindingsWriter {
    /// The statements inserting `rows` (decided with `decided`, one decision per row in the
    /// same order, or undecided). Findings get their ids here, in order.
    pub fn prepare(
        &mut self,
        rows: &[FindingValues],
        decided: Option<&NewDecisions<'_>>,
    ) -> Result<PreparedInsert> {
        if let Some(d) = decided {
            if d.rows.len() != rows.len() {
                return Err(StoreError::Corrupt(format!(
                    "{} decisions for {} new findings",
                    d.rows.len(),
                    rows.len()
                )));
            }
        }
        let mut statements = Vec::new();
        for (n, chunk) in rows.chunks(MAX_BATCH).enumerate() {
            let decisions = decided.map(|d| {
                let end = ((n + 1) * MAX_BATCH).min(d.rows.len());
                (d, &d.rows[n * MAX_BATCH..end])
            });
            statements.push(if self.postgres {
                self.postgres_statement(chunk, decisions)?
            } else {
                self.sqlite_statement(chunk, decisions)?
            });
        }
        Ok(PreparedInsert { statements })
    }

    /// The statement of the CWE rows still carried (none on PostgreSQL, or when none are left).
    pub fn finish(&mut self) -> Result<PreparedInsert> {
        let mut statements = Vec::new();
        if !self.cwes.is_empty() {
            let rows = std::mem::take(&mut self.cwes);
            let inst = self.scope.institution_id;
            let sql = self.text(Shape::SqliteCwes, rows.len(), || cwe_sql(inst, rows.len()));
            let mut args = AnyArguments::default();
            args.reserve(rows.len() * 2, 0);
            cwe_args(&mut args, rows)?;
            statements.push(PreparedStatement {
                sql,
                args,
                persistent: false,
                count: Count::Rows(0),
            });
        }
        Ok(PreparedInsert { statements })
    }

    /// The import's constants as SQL literals: institution, import id, time.
    fn constants(&self) -> (i64, i64, String) {
        let s = &self.scope;
        (s.institution_id, s.import_id, sql_text(&s.now))
    }

    /// The text of a statement of `rows` rows of a shape, built once per writer.
    fn text(&mut self, shape: Shape, rows: usize, build: impl FnOnce() -> String) -> Arc<str> {
        self.sql
            .entry((shape, rows))
            .or_insert_with(|| Arc::from(build()))
            .clone()
    }

    fn sqlite_statement(
        &mut self,
        chunk: &[FindingValues],
        decided: BatchDecisions<'_, '_>,
    ) -> Result<PreparedStatement> {
        let (inst, imp, now) = self.constants();
        let n = chunk.len();
        let first = self.next_id;
        self.next_id += n as i64;
        let mut args = AnyArguments::default();
        args.reserve(n * 29 + 2 * CWE_BATCH, 0);
        for (i, f) in chunk.iter().enumerate() {
            arg(&mut args, first + i as i64)?;
            arg(&mut args, f.resource_id)?;
            arg(&mut args, f.fingerprint.to_vec())?;
            arg(&mut args, f.tool_name.clone())?;
            arg(&mut args, f.ai_model.clone())?;
            arg(&mut args, f.rule_id.clone())?;
            arg(&mut args, f.level)?;
            arg(&mut args, f.severity)?;
            arg(&mut args, severity_rank(f.severity))?;
            arg(&mut args, f.security_severity)?;
            arg(&mut args, f.cwes.clone())?;
            arg(&mut args, f.cves.clone())?;
            arg(&mut args, f.message.clone())?;
            arg(&mut args, f.location.clone())?;
            arg(&mut args, f.snippet.clone())?;
            arg(&mut args, f.code_flow.clone())?;
            arg(&mut args, f.content_hash.to_vec())?;
            arg(&mut args, f.ai_model_version.clone())?;
            arg(&mut args, f.ai_origin)?;
            arg(&mut args, f.exploit_evidence.clone())?;
        }
        for (i, f) in chunk.iter().enumerate() {
            let w = decided.and_then(|(_, rows)| rows.get(i));
            arg(&mut args, first + i as i64)?;
            arg(&mut args, f.cves.clone())?;
            arg(&mut args, f.weakness())?;
            arg(&mut args, f.resource_id)?;
            arg(&mut args, f.severity)?;
            arg(&mut args, w.map(|w| w.priority))?;
            arg(&mut args, w.map(|w| w.due_date.clone()))?;
            arg(&mut args, w.map(|w| w.decision))?;
            arg(&mut args, w.map(|w| w.digest))?;
        }
        self.cwes.extend(
            chunk
                .iter()
                .enumerate()
                .flat_map(|(i, f)| cwe_list(&f.cwes).map(move |c| (first + i as i64, c))),
        );
        // At most one full CWE statement per batch; the rows past it wait for the next batch.
        let cwes = self.cwes.len() >= CWE_BATCH;
        if cwes {
            cwe_args(&mut args, self.cwes.drain(..CWE_BATCH))?;
        }
        let day = sql_text(self.scope.now.get(..10).unwrap_or(&self.scope.now));
        let (version, at) = decision_literals(decided);
        let shape = Shape::Sqlite {
            decided: decided.is_some(),
            cwes,
        };
        let sql = self.text(shape, n, || {
            let row = format!("(?, {inst}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', {imp}, {imp}, {imp}, {now}, {now}, ?, ?, ?)");
            let mut sql = format!(
                "INSERT INTO findings (id, {INSERT_COLUMNS}) VALUES {}; \
                 INSERT INTO finding_priorities (finding_id, institution_id, status, cves, weakness, resource_id, severity, created_on, priority, due_date, decision, digest, policy_version, decided_at) VALUES {}",
                vec![row.as_str(); n].join(", "),
                vec![format!("(?, {inst}, 'open', ?, ?, ?, ?, {day}, ?, ?, ?, ?, {version}, {at})"); n].join(", ")
            );
            if cwes {
                sql.push_str("; ");
                sql.push_str(&cwe_sql(inst, CWE_BATCH));
            }
            sql
        });
        Ok(PreparedStatement {
            sql,
            args,
            persistent: n == MAX_BATCH,
            count: Count::Rows(n as u64),
        })
    }

    fn postgres_statement(
        &mut self,
        chunk: &[FindingValues],
        decided: BatchDecisions<'_, '_>,
    ) -> Result<PreparedStatement> {
        let (inst, imp, now) = self.constants();
        let (version, at) = decision_literals(decided);
        let mut json = String::with_capacity(chunk.len() * 600);
        json.push('[');
        for (i, f) in chunk.iter().enumerate() {
            if i > 0 {
                json.push(',');
            }
            let w = decided.and_then(|(_, rows)| rows.get(i));
            let item = (
                (
                    f.resource_id,
                    hex::encode(f.fingerprint),
                    f.tool_name.as_str(),
                    f.ai_model.as_deref(),
                    f.rule_id.as_deref(),
                    f.level,
                    f.severity,
                    severity_rank(f.severity),
                    f.security_severity,
                    f.cwes.as_str(),
                    f.cves.as_str(),
                    f.message.as_str(),
                ),
                (
                    f.location.as_deref(),
                    f.snippet.as_deref(),
                    f.code_flow.as_deref(),
                    hex::encode(f.content_hash),
                    w.map(|w| w.priority),
                    w.map(|w| w.due_date.as_str()),
                    w.map(|w| w.decision),
                    w.map(|w| w.digest),
                ),
                (
                    f.ai_model_version.as_deref(),
                    f.ai_origin,
                    f.exploit_evidence.as_deref(),
                ),
            );
            // Serialising into a String cannot fail for these types; map it anyway.
            let text = serde_json::to_string(&item)
                .map_err(|e| StoreError::Corrupt(format!("finding values as JSON: {e}")))?;
            json.push_str(&text);
        }
        json.push(']');
        // Each item is `[[12 values], [8 values], [3 values]]` (serde's tuples stop at 12).
        let shape = Shape::Postgres {
            decided: decided.is_some(),
        };
        let sql = self.text(shape, 0, || format!(
            "WITH items AS (SELECT t->0 AS a, t->1 AS b, t->2 AS c FROM jsonb_array_elements($1::jsonb) AS t), \
             ins AS (INSERT INTO findings ({INSERT_COLUMNS}) SELECT {inst}, CAST(a->>0 AS BIGINT), decode(a->>1, 'hex'), a->>2, a->>3, a->>4, a->>5, a->>6, CAST(a->>7 AS BIGINT), CAST(a->>8 AS DOUBLE PRECISION), a->>9, a->>10, a->>11, b->>0, b->>1, b->>2, decode(b->>3, 'hex'), 'open', {imp}, {imp}, {imp}, {now}, {now}, c->>0, c->>1, c->>2 \
             FROM items RETURNING id, fingerprint, cwes, cves, resource_id, severity, exploit_evidence), \
             cw AS (INSERT INTO finding_cwes (institution_id, cwe, finding_id) SELECT {inst}, CAST(c AS BIGINT), ins.id FROM ins, unnest(string_to_array(trim(both ',' from ins.cwes), ',')) AS c WHERE ins.cwes <> ','), \
             pr AS (INSERT INTO finding_priorities (finding_id, institution_id, status, cves, weakness, resource_id, severity, created_on, priority, due_date, decision, digest, policy_version, decided_at) \
             SELECT ins.id, {inst}, 'open', ins.cves, ins.cwes || CASE WHEN ins.exploit_evidence IS NULL THEN '' ELSE '!' END, ins.resource_id, ins.severity, substr({now}, 1, 10), items.b->>4, items.b->>5, CAST(items.b->>6 AS BIGINT), CAST(items.b->>7 AS BIGINT), {version}, {at} \
             FROM ins JOIN items ON decode(items.a->>1, 'hex') = ins.fingerprint) \
             SELECT COUNT(*) FROM ins"
        ));
        let mut args = AnyArguments::default();
        arg(&mut args, json)?;
        Ok(PreparedStatement {
            sql,
            args,
            persistent: true,
            count: Count::Answered,
        })
    }
}
