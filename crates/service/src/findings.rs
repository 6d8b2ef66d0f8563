//! C11 computing resources (inventory, CSV and CycloneDX import, classification with reasons)
//! and C12 findings intake (streaming SARIF import with deduplication, provenance and the
//! finding lifecycle).
//!
//! An import is all-or-nothing: one [`haechi_store::WriteTx`] holds every finding it writes and
//! its audit entry; a failed import rolls back and records only the failure. The SARIF reader
//! runs on a blocking thread and hands batches of ready-to-store values over a bounded channel to
//! the writer, so parsing and writing use both cores while memory stays at a few batches plus
//! the set of fingerprints seen (16 bytes each).
//!
//! Deduplication: a finding's identity is the reader's fingerprint scoped to the upload's
//! resource (or to the institution when no resource is named), unique per institution. A result
//! whose stored content hash is equal and whose finding is open and still seen is left alone:
//! re-importing a file writes no finding row. Sightings are intervals (see the migration), so an
//! identical re-import writes none either.
//!
//! What it must not do: know SQL or HTTP, or decide classes in code (the policy's rules do).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use haechi_core::{Actor, FieldError};
use haechi_formats::io::{CountingReader, HashingReader};
use haechi_formats::sarif::{
    self, AiOrigin, AiProvenance, Level, ResultKind, ResultSink, RunInfo, SarifError, SarifFinding,
    SarifOptions, SinkError,
};
use haechi_policy::classification::{self, ResourceFacts};
use haechi_policy::{DataKind, NetworkZone, Policy};
use haechi_store::{
    ComponentRow, FindingFilter, FindingImportRow, FindingRow, FindingValues, FindingsWriter,
    Hash16, ImportProvenance, ImportScope, NewDecisions, NewFindingImport, PreparedInsert,
    ResourceRow, ResourceWrite, ScopeIndex, WriteTx,
};
use serde::{Deserialize, Serialize};

use crate::authz::{self, Action, Owner};
use crate::priority::{Decider, Subject};
use crate::{record, to_json, Result, Service, ServiceError};

/// Findings per batch handed from the parser to the writer (and per bulk statement).
const BATCH: usize = haechi_store::MAX_BATCH;

/// Batches the parser may be ahead of the writer: enough to keep both cores busy, small
/// enough that memory stays flat (a batch is ~0.5 MB).
const CHANNEL_BATCHES: usize = 8;

/// SQLite page cache of an import's connection, in MB (the default 2 MB makes the unique
/// fingerprint index re-read pages from the OS on every batch).
const BULK_CACHE_MB: u32 = 32;

/// Largest findings file accepted (compressed size as uploaded).
pub const MAX_FINDINGS_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Resource kinds of SPEC C11.
pub const RESOURCE_KINDS: [&str; 5] = [
    "server",
    "application",
    "network_device",
    "cloud_service",
    "saas",
];

/// The resource CSV columns, in order. `data_kinds` lists kinds separated by `;`.
pub const RESOURCE_CSV_COLUMNS: [&str; 8] = [
    "name",
    "kind",
    "business_function",
    "data_kinds",
    "network_zone",
    "processes_electronic_transactions",
    "dr_tier",
    "owner",
];

// ---------------------------------------------------------------- resources

/// A resource as entered (form, API, CSV row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceInput {
    pub name: String,
    pub kind: String,
    pub business_function: String,
    pub data_kinds: Vec<DataKind>,
    pub network_zone: NetworkZone,
    pub processes_electronic_transactions: bool,
    #[serde(default)]
    pub dr_tier: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
}

impl ResourceInput {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        if self.name.trim().is_empty() {
            out.push(FieldError::new("name", "must not be empty"));
        }
        if !RESOURCE_KINDS.contains(&self.kind.as_str()) {
            out.push(FieldError::new(
                "kind",
                format!(
                    "'{}' is not one of {}",
                    self.kind,
                    RESOURCE_KINDS.join(", ")
                ),
            ));
        }
        if self.business_function.trim().is_empty() {
            out.push(FieldError::new("business_function", "must not be empty"));
        }
        out
    }

    fn facts(&self) -> ResourceFacts {
        ResourceFacts {
            kind: self.kind.clone(),
            network_zone: self.network_zone,
            processes_electronic_transactions: self.processes_electronic_transactions,
            business_function: self.business_function.clone(),
            data_kinds: self.data_kinds.clone(),
        }
    }

    fn from_row(r: &ResourceRow) -> Result<ResourceInput> {
        let corrupt = |what: String| ServiceError::rule("corrupt_resource", what);
        Ok(ResourceInput {
            name: r.name.clone(),
            kind: r.kind.clone(),
            business_function: r.business_function.clone(),
            data_kinds: r
                .data_kinds
                .iter()
                .map(|k| {
                    parse_snake::<DataKind>(k).ok_or_else(|| corrupt(format!("data kind '{k}'")))
                })
                .collect::<Result<_>>()?,
            network_zone: parse_snake(&r.network_zone)
                .ok_or_else(|| corrupt(format!("network zone '{}'", r.network_zone)))?,
            processes_electronic_transactions: r.processes_electronic_transactions,
            dr_tier: r.dr_tier.clone(),
            owner: r.owner.clone(),
        })
    }
}

fn parse_snake<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

fn snake<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A resource with its software components.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceView {
    pub resource: ResourceRow,
    pub components: Vec<ComponentRow>,
    /// False when the stored class was decided under an older policy version.
    pub classification_current: bool,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ResourceImportReport {
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ReclassifyReport {
    pub resources: usize,
    /// Resources whose class changed.
    pub changed: usize,
    pub policy_version: i64,
}

async fn write_resource(
    tx: &mut WriteTx,
    policy: &Policy,
    institution_id: i64,
    existing: Option<i64>,
    input: &ResourceInput,
) -> Result<i64> {
    let c = classification::classify(policy, &input.facts());
    let kinds: Vec<String> = input.data_kinds.iter().map(snake).collect();
    let json = to_json(&c).to_string();
    let zone = snake(&input.network_zone);
    let w = ResourceWrite {
        institution_id,
        name: input.name.trim(),
        kind: &input.kind,
        business_function: input.business_function.trim(),
        data_kinds: &kinds,
        network_zone: &zone,
        processes_electronic_transactions: input.processes_electronic_transactions,
        dr_tier: input.dr_tier.as_deref(),
        owner: input.owner.as_deref(),
        class: c.class.as_str(),
        decided_by: &c.decided_by,
        classification_json: &json,
        policy_version: c.policy_version,
    };
    match existing {
        Some(id) => {
            tx.update_resource(id, &w).await?;
            Ok(id)
        }
        None => Ok(tx.insert_resource(&w).await?),
    }
}

impl Service {
    /// Resources of the actor's institution (institution roles) or of `institution_id`.
    pub async fn list_resources(
        &self,
        actor: &Actor,
        institution_id: Option<i64>,
    ) -> Result<Vec<ResourceRow>> {
        authz::authorize(actor, Action::ReadFindings)?;
        let scope = own_scope(actor, institution_id)?;
        Ok(haechi_store::list_resources(self.store.pool(), scope).await?)
    }

    pub async fn get_resource(&self, actor: &Actor, id: i64) -> Result<ResourceView> {
        authz::authorize(actor, Action::ReadFindings)?;
        let resource = haechi_store::get_resource(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ReadFindings,
            Owner::Institution(resource.institution_id),
        )?;
        let components = haechi_store::resource_components(self.store.pool(), id).await?;
        let classification_current = resource.policy_version == self.policy().version;
        Ok(ResourceView {
            resource,
            components,
            classification_current,
        })
    }

    /// Registers a resource and classifies it under the policy in force.
    pub async fn create_resource(
        &self,
        actor: &Actor,
        institution_id: i64,
        input: ResourceInput,
    ) -> Result<ResourceRow> {
        authz::authorize_record(
            actor,
            Action::ManageFindings,
            Owner::Institution(institution_id),
        )?;
        let errors = input.validate();
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let mut tx = self.store.begin().await?;
        haechi_store::get_institution(tx.conn(), institution_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let policy = self.policy_in(&mut tx).await?;
        let id = write_resource(&mut tx, &policy, institution_id, None, &input).await?;
        let row = haechi_store::get_resource(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.audit(record(
            actor,
            "resource.create",
            "resource",
            &id.to_string(),
            Some(institution_id),
            None,
            Some(to_json(&row)),
        ))
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Changes a resource and classifies it again.
    pub async fn update_resource(
        &self,
        actor: &Actor,
        id: i64,
        input: ResourceInput,
    ) -> Result<ResourceRow> {
        authz::authorize(actor, Action::ManageFindings)?;
        let errors = input.validate();
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let mut tx = self.store.begin().await?;
        let old = haechi_store::get_resource(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ManageFindings,
            Owner::Institution(old.institution_id),
        )?;
        let policy = self.policy_in(&mut tx).await?;
        write_resource(&mut tx, &policy, old.institution_id, Some(id), &input).await?;
        let row = haechi_store::get_resource(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.audit(record(
            actor,
            "resource.update",
            "resource",
            &id.to_string(),
            Some(old.institution_id),
            Some(to_json(&old)),
            Some(to_json(&row)),
        ))
        .await?;
        tx.commit().await?;
        self.refresh_priorities(actor, Some(old.institution_id))
            .await;
        Ok(row)
    }

    /// Imports an institution's resources from CSV: all rows or none. Rows are matched to
    /// stored resources by name; every written resource is classified.
    pub async fn import_resources_csv(
        &self,
        actor: &Actor,
        institution_id: i64,
        bytes: &[u8],
    ) -> Result<ResourceImportReport> {
        authz::authorize_record(
            actor,
            Action::ManageFindings,
            Owner::Institution(institution_id),
        )?;
        if bytes.len() > self.config.max_import_bytes {
            return Err(ServiceError::TooLarge(format!(
                "the CSV is {} bytes; the limit is {} bytes",
                bytes.len(),
                self.config.max_import_bytes
            )));
        }
        let rows = parse_resources_csv(bytes).map_err(ServiceError::invalid)?;
        let mut report = ResourceImportReport {
            rows: rows.len(),
            ..Default::default()
        };
        let mut tx = self.store.begin().await?;
        haechi_store::get_institution(tx.conn(), institution_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let policy = self.policy_in(&mut tx).await?;
        for input in &rows {
            match haechi_store::get_resource_by_name(tx.conn(), institution_id, input.name.trim())
                .await?
            {
                Some(old)
                    if ResourceInput::from_row(&old)? == *input
                        && old.policy_version == policy.version =>
                {
                    report.unchanged += 1
                }
                Some(old) => {
                    write_resource(&mut tx, &policy, institution_id, Some(old.id), input).await?;
                    report.updated += 1;
                }
                None => {
                    write_resource(&mut tx, &policy, institution_id, None, input).await?;
                    report.created += 1;
                }
            }
        }
        tx.audit(record(
            actor,
            "resource.import",
            "resource",
            "*",
            Some(institution_id),
            None,
            Some(to_json(&report)),
        ))
        .await?;
        tx.commit().await?;
        self.refresh_priorities(actor, Some(institution_id)).await;
        Ok(report)
    }

    /// Replaces a resource's software components with those of a CycloneDX 1.5/1.6 JSON BOM.
    pub async fn import_components(
        &self,
        actor: &Actor,
        resource_id: i64,
        bom: impl Read,
    ) -> Result<usize> {
        authz::authorize(actor, Action::ManageFindings)?;
        // Another institution's resource is "not found" before its file is even read.
        let owner = haechi_store::get_resource(self.store.pool(), resource_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ManageFindings,
            Owner::Institution(owner.institution_id),
        )?;
        let bom = haechi_formats::cyclonedx::read_cyclonedx(bom)
            .map_err(|e| ServiceError::invalid(vec![FieldError::new("bom", e.to_string())]))?;
        let components: Vec<ComponentRow> = bom
            .components
            .into_iter()
            .map(|c| ComponentRow {
                kind: c.kind,
                name: c.name,
                group: c.group,
                version: c.version,
                purl: c.purl,
                bom_ref: c.bom_ref,
            })
            .collect();
        let mut tx = self.store.begin().await?;
        let res = haechi_store::get_resource(tx.conn(), resource_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ManageFindings,
            Owner::Institution(res.institution_id),
        )?;
        tx.replace_components(resource_id, &components).await?;
        tx.audit(record(actor, "resource.components", "resource", &resource_id.to_string(), Some(res.institution_id), None, Some(serde_json::json!({"components": components.len(), "serial_number": bom.serial_number, "spec_version": bom.spec_version})))).await?;
        tx.commit().await?;
        Ok(components.len())
    }

    /// Classifies every resource of an institution (or, for the operator, of all) again under the
    /// policy in force.
    pub async fn reclassify_resources(
        &self,
        actor: &Actor,
        institution_id: Option<i64>,
    ) -> Result<ReclassifyReport> {
        authz::authorize(actor, Action::ManageFindings)?;
        let scope = own_scope(actor, institution_id)?;
        if let Some(i) = scope {
            authz::authorize_record(actor, Action::ManageFindings, Owner::Institution(i))?;
        }
        self.reclassify(actor, scope).await
    }

    /// After a policy change: reclassifies every resource whose class was decided under another
    /// version. Called by [`Service::load_policy`].
    pub(crate) async fn reclassify(
        &self,
        actor: &Actor,
        institution_id: Option<i64>,
    ) -> Result<ReclassifyReport> {
        let mut tx = self.store.begin().await?;
        let policy = self.policy_in(&mut tx).await?;
        let all = haechi_store::list_resources(tx.conn(), institution_id).await?;
        let mut report = ReclassifyReport {
            resources: all.len(),
            changed: 0,
            policy_version: policy.version,
        };
        let mut changes = Vec::new();
        let mut written = 0;
        for r in &all {
            let input = ResourceInput::from_row(r)?;
            let c = classification::classify(&policy, &input.facts());
            if c.class.as_str() != r.class || c.decided_by != r.decided_by {
                report.changed += 1;
                changes.push(serde_json::json!({"resource": r.id, "from": r.class, "to": c.class.as_str(), "decided_by": c.decided_by}));
            }
            if r.policy_version != policy.version
                || c.class.as_str() != r.class
                || c.decided_by != r.decided_by
            {
                write_resource(&mut tx, &policy, r.institution_id, Some(r.id), &input).await?;
                written += 1;
            }
        }
        if written == 0 {
            // Nothing was decided under another version: no change, no audit entry.
            return Ok(report);
        }
        tx.audit(record(
            actor,
            "resource.reclassify",
            "resource",
            "*",
            institution_id,
            None,
            Some(serde_json::json!({"report": report, "changes": changes})),
        ))
        .await?;
        tx.commit().await?;
        Ok(report)
    }
}

/// The institution a listing covers: an institution user's own, whatever was asked.
fn own_scope(actor: &Actor, asked: Option<i64>) -> Result<Option<i64>> {
    if actor.role.is_institution_role() {
        match (actor.institution_id, asked) {
            (Some(own), Some(a)) if a != own => Err(ServiceError::NotFound),
            (Some(own), _) => Ok(Some(own)),
            (None, _) => Err(ServiceError::NotFound),
        }
    } else {
        Ok(asked)
    }
}

/// Parses and validates every row of a resource CSV; returns all problems (row, column, what).
pub fn parse_resources_csv(bytes: &[u8]) -> Result<Vec<ResourceInput>, Vec<FieldError>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| vec![FieldError::new("header", e.to_string()).at_row(1)])?
        .clone();
    let index: HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.to_string(), i))
        .collect();
    let missing: Vec<FieldError> = RESOURCE_CSV_COLUMNS
        .iter()
        .take(6)
        .filter(|c| !index.contains_key(**c))
        .map(|c| FieldError::new(*c, "column is missing from the header").at_row(1))
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (n, rec) in reader.records().enumerate() {
        let line = n + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(FieldError::new("*", format!("unreadable row: {e}")).at_row(line));
                continue;
            }
        };
        let get = |c: &str| {
            index
                .get(c)
                .and_then(|i| rec.get(*i))
                .map(haechi_formats::csv_cell::unescape)
                .unwrap_or("")
                .to_string()
        };
        let opt = |c: &str| Some(get(c)).filter(|s| !s.is_empty());
        let mut row_errors = Vec::new();
        let mut data_kinds = Vec::new();
        for k in get("data_kinds")
            .split([';', '|'])
            .map(str::trim)
            .filter(|k| !k.is_empty())
        {
            match parse_snake::<DataKind>(k) {
                Some(d) => data_kinds.push(d),
                None => row_errors.push(FieldError::new("data_kinds", format!("'{k}' is not one of personal_credit, customer_personal, non_public_business, logs_backups, public, pseudonymised")).at_row(line)),
            }
        }
        let network_zone = parse_snake::<NetworkZone>(&get("network_zone")).unwrap_or_else(|| {
            row_errors.push(
                FieldError::new(
                    "network_zone",
                    format!(
                        "'{}' is not one of internal, dmz, internet, external_saas",
                        get("network_zone")
                    ),
                )
                .at_row(line),
            );
            NetworkZone::Internal
        });
        let pet = match get("processes_electronic_transactions")
            .to_ascii_lowercase()
            .as_str()
        {
            "true" | "yes" | "y" | "1" => true,
            "false" | "no" | "n" | "0" => false,
            other => {
                row_errors.push(
                    FieldError::new(
                        "processes_electronic_transactions",
                        format!("'{other}' is not true/false"),
                    )
                    .at_row(line),
                );
                false
            }
        };
        let input = ResourceInput {
            name: get("name"),
            kind: get("kind"),
            business_function: get("business_function"),
            data_kinds,
            network_zone,
            processes_electronic_transactions: pet,
            dr_tier: opt("dr_tier"),
            owner: opt("owner"),
        };
        row_errors.extend(input.validate().into_iter().map(|e| e.at_row(line)));
        if !seen.insert(input.name.clone()) {
            row_errors.push(
                FieldError::new(
                    "name",
                    format!("'{}' appears more than once in the file", input.name),
                )
                .at_row(line),
            );
        }
        if row_errors.is_empty() {
            rows.push(input);
        } else {
            errors.extend(row_errors);
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

// ---------------------------------------------------------------- findings import

/// What an upload says besides its bytes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FindingsUpload {
    pub institution_id: i64,
    /// The resource every finding of the file belongs to; `None` ties them to the institution.
    #[serde(default)]
    pub resource_id: Option<i64>,
    /// Close (as `fixed`) the findings of the same resource and tool that this file no longer
    /// reports. Only a fully successful import closes anything.
    #[serde(default)]
    pub close_missing: bool,
    #[serde(default)]
    pub file_name: Option<String>,
    /// AI model, when the SARIF run properties do not name it.
    #[serde(default)]
    pub ai_model: Option<String>,
    #[serde(default)]
    pub ai_model_version: Option<String>,
    /// Per-upload mapping of artefact path prefixes or hosts to resources: a finding whose
    /// primary location matches a key is tied to that resource (the longest matching key wins),
    /// any other to `resource_id` (or the institution).
    #[serde(default)]
    pub resource_map: Vec<ResourceMapping>,
}

/// One entry of an upload's resource mapping (`PREFIX=RESOURCE` on the command line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceMapping {
    /// A path prefix (`services/payments/`, `file:///srv/app/`) or a host name (`db01.bank.kr`).
    pub prefix: String,
    /// The resource: its id, or its name within the upload's institution.
    pub resource: String,
}

/// Parses `PREFIX=RESOURCE` pairs separated by commas or new lines (the API's `map` field;
/// the CLI passes one pair per `--map`). The last `=` separates, so a prefix may contain `=`.
pub fn parse_resource_map(text: &str) -> Result<Vec<ResourceMapping>> {
    let mut out = Vec::new();
    for (i, pair) in text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .enumerate()
    {
        match pair.rsplit_once('=') {
            Some((prefix, resource))
                if !prefix.trim().is_empty() && !resource.trim().is_empty() =>
            {
                out.push(ResourceMapping {
                    prefix: prefix.trim().to_string(),
                    resource: resource.trim().to_string(),
                })
            }
            _ => {
                return Err(ServiceError::invalid(vec![FieldError::new(
                    format!("map[{i}]"),
                    format!("'{pair}' is not PREFIX=RESOURCE"),
                )]))
            }
        }
    }
    Ok(out)
}

/// A resolved mapping entry: key and resource id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct MappedPrefix {
    prefix: String,
    resource_id: i64,
}

/// The host of `scheme://host[:port]/…`, if the URI has one.
fn uri_host(uri: &str) -> Option<&str> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next()?;
    (!host.is_empty()).then_some(host)
}

/// Chooses the resource of a finding: the longest key of `map` (sorted longest first) that is
/// the host of the primary location's URI or a prefix of its path or URI; else `default`.
fn map_resource(map: &[MappedPrefix], default: Option<i64>, finding: &SarifFinding) -> Option<i64> {
    let Some(l) = finding.locations.first() else {
        return default;
    };
    let host = l.uri.as_deref().and_then(uri_host);
    for m in map {
        let key = m.prefix.as_str();
        let hit = host.is_some_and(|h| h.eq_ignore_ascii_case(key))
            || l.path.as_deref().is_some_and(|p| p.starts_with(key))
            || l.uri.as_deref().is_some_and(|u| u.starts_with(key));
        if hit {
            return Some(m.resource_id);
        }
    }
    default
}

/// The outcome of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingsImportReport {
    /// Results in the file.
    pub results_read: u64,
    pub findings_new: u64,
    /// Findings written again: content changed, reopened (were fixed or verified), or seen again
    /// after an import had missed them.
    pub findings_updated: u64,
    /// Findings left untouched: same content, still open and seen.
    pub findings_unchanged: u64,
    /// Findings closed as `fixed` because the file no longer reports them (`close_missing`).
    pub findings_closed: u64,
    /// Results whose fingerprint an earlier result of the same file already had.
    pub duplicates_in_file: u64,
    /// Results that are not findings (`kind` pass or notApplicable): read, not stored.
    pub rejected: u64,
    pub import_id: i64,
}

/// Live state of an import on this node.
#[derive(Debug, Default)]
pub struct ImportProgress {
    pub bytes_read: Arc<AtomicU64>,
    pub results_processed: AtomicU64,
    /// 0 queued, 1 running.
    state: AtomicU8,
}

/// The imports running on this node, for the status endpoint.
#[derive(Debug, Default)]
pub struct LiveImports(Mutex<HashMap<i64, Arc<ImportProgress>>>);

impl LiveImports {
    fn insert(&self, id: i64) -> Arc<ImportProgress> {
        let p = Arc::new(ImportProgress::default());
        match self.0.lock() {
            Ok(mut m) => m.insert(id, p.clone()),
            Err(poisoned) => poisoned.into_inner().insert(id, p.clone()),
        };
        p
    }
    pub(crate) fn remove(&self, id: i64) {
        match self.0.lock() {
            Ok(mut m) => m.remove(&id),
            Err(poisoned) => poisoned.into_inner().remove(&id),
        };
    }
    /// The imports open on this node.
    pub(crate) fn ids(&self) -> Vec<i64> {
        match self.0.lock() {
            Ok(m) => m.keys().copied().collect(),
            Err(poisoned) => poisoned.into_inner().keys().copied().collect(),
        }
    }
    fn get(&self, id: i64) -> Option<Arc<ImportProgress>> {
        match self.0.lock() {
            Ok(m) => m.get(&id).cloned(),
            Err(poisoned) => poisoned.into_inner().get(&id).cloned(),
        }
    }
}

/// An import's status: the stored row, with live counters while it runs on this node.
#[derive(Debug, Clone, Serialize)]
pub struct ImportStatus {
    #[serde(flatten)]
    pub import: FindingImportRow,
}

/// One result, ready to store.
struct Pending {
    values: FindingValues,
}

/// The severity shown for a finding: GitHub's reading of `security-severity` (≥ 9.0 critical,
/// 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low), else the SARIF level (error high, warning
/// medium, note low, none none).
pub fn severity_of(security_severity: Option<f64>, level: Level) -> &'static str {
    match security_severity {
        Some(s) if s >= 9.0 => "critical",
        Some(s) if s >= 7.0 => "high",
        Some(s) if s >= 4.0 => "medium",
        Some(s) if s > 0.0 => "low",
        _ => match level {
            Level::Error => "high",
            Level::Warning => "medium",
            Level::Note => "low",
            Level::None => "none",
        },
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// The stored form of a result. Built on the parser's thread, which keeps the writer (the
/// bottleneck of a first import) busy only with the database; measured faster both ways.
fn values_of(
    f: SarifFinding,
    fingerprint: Hash16,
    resource_id: Option<i64>,
    ai: &FindingAi,
    policy: &Policy,
) -> FindingValues {
    let exploit_evidence =
        haechi_policy::weakness::tool_exploit(policy, &f.properties).map(|(k, v)| {
            let mut e = format!("{k}={v}");
            e.truncate(200);
            e
        });
    let ai_origin = AiOrigin::effective(f.ai_origin, &ai.run).as_str();
    let primary = f.locations.first();
    let location = primary.and_then(|l| {
        let path = l.path.clone().or_else(|| l.uri.clone())?;
        Some(match (l.start_line, l.placeholder_region) {
            (Some(line), false) => match l.start_column {
                Some(c) => format!("{path}:{line}:{c}"),
                None => format!("{path}:{line}"),
            },
            _ => path,
        })
    });
    let snippet = primary
        .and_then(|l| l.snippet.clone())
        .map(|s| truncate(s, 2000));
    let code_flow = (!f.code_flow.is_empty()).then(|| {
        let mut s = f.code_flow.join(" → ");
        if f.code_flow_total > f.code_flow.len() {
            s.push_str(&format!(
                " (+{} more)",
                f.code_flow_total - f.code_flow.len()
            ));
        }
        s
    });
    let mut cwes = String::from(",");
    for c in &f.cwes {
        cwes.push_str(&c.to_string());
        cwes.push(',');
    }
    let mut cves = String::from(",");
    for c in &f.cves {
        cves.push_str(c);
        cves.push(',');
    }
    FindingValues {
        fingerprint,
        resource_id,
        tool_name: f.tool_name.to_string(),
        ai_model: ai.model.as_deref().map(str::to_string),
        ai_model_version: ai.model_version.as_deref().map(str::to_string),
        ai_origin,
        exploit_evidence,
        rule_id: f.rule_id,
        level: f.level.as_str(),
        severity: severity_of(f.security_severity, f.level),
        security_severity: f.security_severity,
        cwes,
        cves,
        message: truncate(f.message, 8000),
        location,
        snippet,
        code_flow,
        content_hash: f.content_hash.0,
    }
}

/// The AI provenance a run's findings get: the run's model (else the upload's) and the run's
/// `ai/origin`, from which [`AiOrigin::effective`] decides each finding's origin.
#[derive(Debug, Clone, Default)]
struct FindingAi {
    model: Option<Arc<str>>,
    model_version: Option<Arc<str>>,
    run: AiProvenance,
}

impl FindingAi {
    /// Before a run announces itself: what the upload declared.
    fn declared(upload: &(Option<Arc<str>>, Option<Arc<str>>)) -> FindingAi {
        FindingAi {
            model: upload.0.clone(),
            model_version: upload.1.clone(),
            run: AiProvenance {
                model: upload.0.as_deref().map(str::to_string),
                ..AiProvenance::default()
            },
        }
    }
}

/// The parser side: turns results into batches for the writer.
struct BatchSink {
    /// The upload's resource (or `None`: the institution) and its fingerprint scope.
    default_resource: Option<i64>,
    default_scope: String,
    /// The upload's mapping, longest key first, with each resource's fingerprint scope.
    map: Vec<MappedPrefix>,
    scopes: HashMap<i64, String>,
    /// The AI provenance the upload declared (model, version).
    upload_ai: (Option<Arc<str>>, Option<Arc<str>>),
    /// The current run's, with the upload's as fallback.
    ai: FindingAi,
    policy: Arc<Policy>,
    batch: Vec<Pending>,
    out: tokio::sync::mpsc::Sender<Vec<Pending>>,
    seen: HashSet<Hash16>,
    /// Findings per (resource, tool).
    per_scope_tool: BTreeMap<(Option<i64>, Arc<str>), i64>,
    duplicates: u64,
    rejected: u64,
    results: u64,
    runs: Vec<RunInfo>,
    progress: Arc<ImportProgress>,
    /// The stored findings of the import's scopes, handed over by the writer once loaded; with
    /// it the parser drops unchanged findings itself (no stored form built, nothing sent).
    known: Option<Arc<ScopeIndex>>,
    known_rx: Option<std::sync::mpsc::Receiver<Arc<ScopeIndex>>>,
    /// One bit per entry of `known`: reported by this file.
    seen_known: Vec<u64>,
    /// Findings found unchanged by the parser.
    unchanged: u64,
}

/// Whether the file reported a (scoped) fingerprint.
fn reported(parsed: &Parsed, fingerprint: &Hash16) -> bool {
    if parsed.seen.contains(fingerprint) {
        return true;
    }
    parsed
        .known
        .as_ref()
        .and_then(|k| k.position(fingerprint))
        .and_then(|i| {
            parsed
                .seen_known
                .get(i / 64)
                .map(|w| w & (1u64 << (i % 64)) != 0)
        })
        .unwrap_or(false)
}

/// The fingerprint scope of findings tied to a resource, or to the institution.
fn scope_key(institution_id: i64, resource_id: Option<i64>) -> String {
    match resource_id {
        Some(r) => format!("resource:{r}"),
        None => format!("institution:{institution_id}"),
    }
}

impl BatchSink {
    /// Takes the stored findings' index once the writer has loaded it. Parsing does not wait
    /// for it: until it arrives, every result goes to the writer, which compares it with the
    /// index itself. Fingerprints met before are moved into the index's bitmap, so a
    /// duplicate is recognised whichever side of the hand-over its first sighting fell.
    fn poll_known(&mut self) {
        let Some(rx) = &self.known_rx else {
            return;
        };
        let known = match rx.try_recv() {
            Ok(k) => k,
            Err(std::sync::mpsc::TryRecvError::Empty) => return,
            // The writer failed before loading it: carry on without.
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                self.known_rx = None;
                return;
            }
        };
        self.known_rx = None;
        let mut bits = vec![0u64; known.len().div_ceil(64)];
        self.seen.retain(|fp| match known.position(fp) {
            Some(i) => {
                if let Some(w) = bits.get_mut(i / 64) {
                    *w |= 1u64 << (i % 64);
                }
                false
            }
            None => true,
        });
        self.seen_known = bits;
        self.known = Some(known);
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.out
            .blocking_send(batch)
            .map_err(|_| SinkError::msg("the import's writer stopped"))
    }
}

impl ResultSink for BatchSink {
    fn run_started(&mut self, run: &RunInfo) -> Result<(), SinkError> {
        let run_model = run.ai.model.as_deref().map(Arc::from);
        let (model, model_version) = match run_model {
            Some(m) => (Some(m), run.ai.model_version.as_deref().map(Arc::from)),
            None => self.upload_ai.clone(),
        };
        let mut provenance = run.ai.clone();
        if provenance.model.is_none() {
            provenance.model = model.as_deref().map(str::to_string);
        }
        self.ai = FindingAi {
            model,
            model_version,
            run: provenance,
        };
        Ok(())
    }

    fn result(&mut self, finding: SarifFinding) -> Result<(), SinkError> {
        self.results += 1;
        self.progress
            .results_processed
            .store(self.results, Ordering::Relaxed);
        if matches!(finding.kind, ResultKind::Pass | ResultKind::NotApplicable) {
            self.rejected += 1;
            return Ok(());
        }
        let resource = if self.map.is_empty() {
            self.default_resource
        } else {
            map_resource(&self.map, self.default_resource, &finding)
        };
        let scope = match resource {
            Some(r) if Some(r) != self.default_resource => {
                self.scopes.get(&r).unwrap_or(&self.default_scope)
            }
            _ => &self.default_scope,
        };
        let fingerprint = sarif::fingerprint_with_scope(&finding, scope).0;
        self.poll_known();
        // Seen before in this file? Stored findings are marked in a bitmap (one bit each), so
        // a re-import of millions keeps no set of fingerprints; only new ones go in the set.
        let position = self.known.as_ref().and_then(|k| k.position(&fingerprint));
        let first_time = match position {
            Some(i) => match self.seen_known.get_mut(i / 64) {
                Some(word) => {
                    let bit = 1u64 << (i % 64);
                    let first = *word & bit == 0;
                    *word |= bit;
                    first
                }
                None => self.seen.insert(fingerprint),
            },
            None => self.seen.insert(fingerprint),
        };
        if !first_time {
            self.duplicates += 1;
            return Ok(());
        }
        match self
            .per_scope_tool
            .get_mut(&(resource, finding.tool_name.clone()))
        {
            Some(n) => *n += 1,
            None => {
                self.per_scope_tool
                    .insert((resource, finding.tool_name.clone()), 1);
            }
        }
        if let Some(k) = position.and_then(|i| self.known.as_ref().and_then(|k| k.at(i))) {
            if k.content_hash == finding.content_hash.0 && !k.closed && !k.missing {
                self.unchanged += 1;
                return Ok(());
            }
        }
        let values = values_of(finding, fingerprint, resource, &self.ai, &self.policy);
        self.batch.push(Pending { values });
        if self.batch.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn run_finished(&mut self, run: &RunInfo) -> Result<(), SinkError> {
        self.runs.push(run.clone());
        Ok(())
    }
}

struct Parsed {
    result: std::result::Result<sarif::SarifSummary, SarifError>,
    /// Fingerprints reported that were not stored before the import.
    seen: HashSet<Hash16>,
    known: Option<Arc<ScopeIndex>>,
    seen_known: Vec<u64>,
    per_scope_tool: BTreeMap<(Option<i64>, Arc<str>), i64>,
    duplicates: u64,
    rejected: u64,
    results: u64,
    unchanged: u64,
    runs: Vec<RunInfo>,
    sha256: String,
    bytes: u64,
}

fn sarif_error(e: &SarifError) -> (String, String, Option<String>) {
    let location = e
        .path()
        .map(|p| p.to_string())
        .or_else(|| e.offset().map(|o| format!("byte {o}")));
    (e.code().to_string(), e.to_string(), location)
}

/// Why an import failed, as recorded on it.
struct Failure {
    error: ServiceError,
    code: String,
    message: String,
    location: Option<String>,
}

impl From<ServiceError> for Failure {
    fn from(error: ServiceError) -> Self {
        Failure {
            code: error.code().to_string(),
            message: error.to_string(),
            location: None,
            error,
        }
    }
}

impl From<haechi_store::StoreError> for Failure {
    fn from(e: haechi_store::StoreError) -> Self {
        Failure::from(ServiceError::from(e))
    }
}

#[derive(Default)]
struct Counts {
    new: u64,
    updated: u64,
    unchanged: u64,
}

/// The known findings of one batch: compared with the preloaded [`ScopeIndex`] and written only
/// when their content changed, they reopen, or they had gone missing. Unchanged findings cost
/// one in-memory lookup and no statement. Returns the batch's new findings, sorted by
/// fingerprint (so their rows reach the unique index in key order: fewer page visits).
async fn write_known(
    tx: &mut WriteTx,
    scope: &ImportScope,
    known: &ScopeIndex,
    mut batch: Vec<Pending>,
    counts: &mut Counts,
) -> std::result::Result<Vec<FindingValues>, Failure> {
    let mut new = Vec::new();
    for p in batch.drain(..) {
        match known.get(&p.values.fingerprint) {
            None => new.push(p.values),
            Some(k) => {
                let changed = k.content_hash != p.values.content_hash;
                if !changed && !k.closed && !k.missing {
                    counts.unchanged += 1;
                    continue;
                }
                let reason = k
                    .closed
                    .then(|| format!("reported again by import {}", scope.import_id));
                tx.refresh_finding(scope, k.id, changed.then_some(&p.values), reason.as_deref())
                    .await?;
                counts.updated += 1;
            }
        }
    }
    new.sort_unstable_by_key(|v| v.fingerprint);
    Ok(new)
}

/// Decides a batch's new findings (their CVE sets already added to `decider`) and prepares
/// their statements. No database work: this runs while the previous batch is written.
fn prepare_new(
    decider: &mut Decider,
    writer: &mut FindingsWriter,
    scope: &ImportScope,
    new: &[FindingValues],
) -> Result<PreparedInsert> {
    let created_on = scope.now.get(..10).unwrap_or(&scope.now);
    let decided = new
        .iter()
        .map(|v| {
            decider.decide(Subject {
                id: 0,
                resource_id: v.resource_id,
                cves: &v.cves,
                severity: v.severity,
                created_on,
                weakness: &v.weakness(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let decisions = NewDecisions {
        policy_version: decider.policy_version(),
        decided_at: &decider.now,
        rows: &decided,
    };
    Ok(writer.prepare(new, Some(&decisions))?)
}

fn provenance(parsed: &Parsed, upload: &FindingImportRow) -> ImportProvenance {
    let first = parsed.runs.first();
    let ai = parsed.runs.iter().find(|r| !r.ai.is_empty()).map(|r| &r.ai);
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    let tools: Vec<serde_json::Value> = parsed
        .runs
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.driver.name,
                "version": r.driver.version.clone().or(r.driver.semantic_version.clone()),
                "extensions": r.extensions.iter().map(|e| serde_json::json!({"name": e.name, "version": e.version})).collect::<Vec<_>>(),
                "ai_model": r.ai.model, "ai_model_version": r.ai.model_version, "ai_provider": r.ai.provider,
                "automation_id": r.automation_id,
                "results": r.result_count,
            })
        })
        .collect();
    ImportProvenance {
        file_sha256: upload.file_sha256.clone().or(Some(parsed.sha256.clone())),
        file_size: upload.file_size.or(Some(parsed.bytes as i64)),
        tool_name: first.map(|r| r.driver.name.clone()),
        tool_version: first.and_then(|r| {
            r.driver
                .version
                .clone()
                .or(r.driver.semantic_version.clone())
        }),
        tools_json: Some(serde_json::Value::Array(tools).to_string()),
        ai_model: ai.and_then(|a| a.model.clone()),
        ai_model_version: ai.and_then(|a| a.model_version.clone()),
        run_started_at: time(parsed.runs.iter().filter_map(|r| r.start_time_utc).min()),
        run_ended_at: time(parsed.runs.iter().filter_map(|r| r.end_time_utc).max()),
        bytes_read: parsed.bytes as i64,
        results_processed: parsed.results as i64,
    }
}

impl Service {
    /// Records an upload as a queued import (the file is not read yet) and returns its id.
    pub async fn queue_findings_import(
        &self,
        actor: &Actor,
        upload: &FindingsUpload,
        file_size: Option<u64>,
        file_sha256: Option<&str>,
    ) -> Result<i64> {
        authz::authorize_record(
            actor,
            Action::ManageFindings,
            Owner::Institution(upload.institution_id),
        )?;
        // A small firm reaches security operations with a letter or a funding award.
        self.require_self_service(actor).await?;
        if let Some(size) = file_size.filter(|s| *s > MAX_FINDINGS_FILE_BYTES) {
            return Err(ServiceError::TooLarge(format!(
                "the findings file is {size} bytes; the limit is {MAX_FINDINGS_FILE_BYTES} bytes"
            )));
        }
        let mut tx = self.store.begin().await?;
        haechi_store::get_institution(tx.conn(), upload.institution_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if let Some(r) = upload.resource_id {
            let res = haechi_store::get_resource(tx.conn(), r).await?;
            if res.is_none_or(|res| res.institution_id != upload.institution_id) {
                return Err(ServiceError::invalid(vec![FieldError::new(
                    "resource_id",
                    format!(
                        "resource {r} is not a resource of institution {}",
                        upload.institution_id
                    ),
                )]));
            }
        }
        let mut mapped = Vec::new();
        for (i, m) in upload.resource_map.iter().enumerate() {
            if m.prefix.trim().is_empty() {
                return Err(ServiceError::invalid(vec![FieldError::new(
                    format!("resource_map[{i}].prefix"),
                    "must not be empty",
                )]));
            }
            let by_id = match m.resource.parse::<i64>() {
                Ok(rid) => haechi_store::get_resource(tx.conn(), rid).await?,
                Err(_) => None,
            };
            let res = match by_id {
                Some(r) => Some(r),
                None => {
                    haechi_store::get_resource_by_name(
                        tx.conn(),
                        upload.institution_id,
                        m.resource.trim(),
                    )
                    .await?
                }
            };
            match res {
                Some(r) if r.institution_id == upload.institution_id => mapped.push(MappedPrefix {
                    prefix: m.prefix.clone(),
                    resource_id: r.id,
                }),
                _ => {
                    return Err(ServiceError::invalid(vec![FieldError::new(
                        format!("resource_map[{i}]"),
                        format!(
                            "'{}' is not a resource of institution {}",
                            m.resource, upload.institution_id
                        ),
                    )]))
                }
            }
        }
        let map_json = (!mapped.is_empty()).then(|| to_json(&mapped).to_string());
        let id = tx
            .insert_finding_import(&NewFindingImport {
                institution_id: upload.institution_id,
                resource_id: upload.resource_id,
                close_missing: upload.close_missing,
                file_name: upload.file_name.as_deref(),
                file_sha256,
                file_size: file_size.map(|s| s as i64),
                uploaded_by: &actor.username,
                ai_model: upload.ai_model.as_deref(),
                ai_model_version: upload.ai_model_version.as_deref(),
                resource_map: map_json.as_deref(),
            })
            .await?;
        // This node owns it from now on and keeps its heartbeat fresh (`import_leases.rs`).
        tx.claim_finding_import(id, &self.node, &haechi_store::now_text())
            .await?;
        tx.audit(record(
            actor,
            "findings.upload",
            "finding_import",
            &id.to_string(),
            Some(upload.institution_id),
            None,
            Some(to_json(upload)),
        ))
        .await?;
        tx.commit().await?;
        self.imports.insert(id);
        Ok(id)
    }

    /// Imports a SARIF 2.1.0 log (plain or gzip): queues it, then runs it.
    pub async fn import_findings<R: Read + Send + 'static>(
        &self,
        actor: &Actor,
        upload: &FindingsUpload,
        input: R,
    ) -> Result<FindingsImportReport> {
        let id = self
            .queue_findings_import(actor, upload, None, None)
            .await?;
        self.run_findings_import(actor, id, input).await
    }

    /// Runs a queued import: all findings and the outcome in one transaction, or, on any error,
    /// nothing but the failure (state, error code, message and place in the file).
    pub async fn run_findings_import<R: Read + Send + 'static>(
        &self,
        actor: &Actor,
        import_id: i64,
        input: R,
    ) -> Result<FindingsImportReport> {
        authz::authorize(actor, Action::ManageFindings)?;
        let row = haechi_store::get_finding_import(self.store.pool(), import_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ManageFindings,
            Owner::Institution(row.institution_id),
        )?;
        if row.state != "queued" {
            return Err(ServiceError::rule(
                "illegal_transition",
                format!("import {import_id} is {}, not queued", row.state),
            ));
        }
        let progress = self
            .imports
            .get(import_id)
            .unwrap_or_else(|| self.imports.insert(import_id));
        progress.state.store(1, Ordering::Relaxed);
        // From here on the counter measures the file read by the parser (an upload handler may
        // have used it for the bytes received).
        progress.bytes_read.store(0, Ordering::Relaxed);
        let outcome = self.ingest(actor, &row, input, progress.clone()).await;
        let result = match outcome {
            Ok(report) => {
                // Reopened and changed findings have no current decision (new ones were
                // decided in the import); an identical re-import leaves nothing to decide.
                if report.findings_updated > 0 {
                    self.refresh_pending_priorities(actor, row.institution_id)
                        .await;
                }
                // New, reopened or changed findings may form or leave cross-tool clusters
                // (after their priorities: a cluster is led by its most urgent member).
                if report.findings_new + report.findings_updated + report.findings_closed > 0 {
                    self.regroup_in_background(row.institution_id).await;
                }
                // A large import changes the table's shape; fresh planner statistics keep the
                // findings list on its indexes without waiting for autovacuum.
                if report.findings_new >= 10_000 {
                    if let Err(e) = self.store.refresh_statistics().await {
                        tracing::warn!(error = %e, "refreshing planner statistics failed");
                    }
                }
                Ok(report)
            }
            Err(f) => {
                let prov = ImportProvenance {
                    bytes_read: progress.bytes_read.load(Ordering::Relaxed) as i64,
                    results_processed: progress.results_processed.load(Ordering::Relaxed) as i64,
                    ..Default::default()
                };
                let mut tx = self.store.begin().await?;
                tx.finish_finding_import(
                    import_id,
                    "failed",
                    &prov,
                    None,
                    Some(&f.code),
                    Some(&f.message),
                    f.location.as_deref(),
                )
                .await?;
                tx.audit(record(actor, "findings.import_failed", "finding_import", &import_id.to_string(), Some(row.institution_id), None, Some(serde_json::json!({"code": f.code, "message": f.message, "location": f.location})))).await?;
                tx.commit().await?;
                Err(f.error)
            }
        };
        self.imports.remove(import_id);
        result
    }

    async fn ingest<R: Read + Send + 'static>(
        &self,
        actor: &Actor,
        row: &FindingImportRow,
        input: R,
        progress: Arc<ImportProgress>,
    ) -> std::result::Result<FindingsImportReport, Failure> {
        let mut map: Vec<MappedPrefix> = match &row.resource_map {
            serde_json::Value::Null => Vec::new(),
            v => serde_json::from_value(v.clone()).map_err(|e| {
                Failure::from(ServiceError::rule(
                    "corrupt_import",
                    format!("import {}: resource map: {e}", row.id),
                ))
            })?,
        };
        // Longest key first, so the most specific mapping wins.
        map.sort_by_key(|m| std::cmp::Reverse(m.prefix.len()));
        // Every resource this import writes to: findings of these scopes are loaded beforehand,
        // and their unreported findings are missing.
        let mut resources: Vec<Option<i64>> = vec![row.resource_id];
        for m in &map {
            if !resources.contains(&Some(m.resource_id)) {
                resources.push(Some(m.resource_id));
            }
        }
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<Pending>>(CHANNEL_BATCHES);
        let upload_ai: (Option<Arc<str>>, Option<Arc<str>>) = (
            row.ai_model.as_deref().map(Arc::from),
            row.ai_model_version.as_deref().map(Arc::from),
        );
        let policy = self.policy();
        let parse_progress = progress.clone();
        let (known_tx, known_rx) = std::sync::mpsc::sync_channel::<Arc<ScopeIndex>>(1);
        let institution_id = row.institution_id;
        let default_resource = row.resource_id;
        let parser = tokio::task::spawn_blocking(move || {
            let counting = CountingReader::with_counter(input, parse_progress.bytes_read.clone());
            let mut hashing = HashingReader::new(counting);
            let scopes = map
                .iter()
                .map(|m| {
                    (
                        m.resource_id,
                        scope_key(institution_id, Some(m.resource_id)),
                    )
                })
                .collect();
            let mut sink = BatchSink {
                default_resource,
                default_scope: scope_key(institution_id, default_resource),
                map,
                scopes,
                ai: FindingAi::declared(&upload_ai),
                upload_ai,
                policy,
                batch: Vec::with_capacity(BATCH),
                out: sender,
                seen: HashSet::new(),
                per_scope_tool: BTreeMap::new(),
                duplicates: 0,
                rejected: 0,
                results: 0,
                runs: Vec::new(),
                progress: parse_progress.clone(),
                known: None,
                known_rx: Some(known_rx),
                seen_known: Vec::new(),
                unchanged: 0,
            };
            let result = sarif::read_sarif(&mut hashing, &mut sink, &SarifOptions::default())
                .and_then(|s| {
                    sink.flush().map_err(|source| SarifError::Sink {
                        path: "(end)".into(),
                        source,
                    })?;
                    Ok(s)
                });
            Parsed {
                result,
                seen: sink.seen,
                known: sink.known,
                seen_known: sink.seen_known,
                per_scope_tool: sink.per_scope_tool,
                duplicates: sink.duplicates,
                rejected: sink.rejected,
                results: sink.results,
                unchanged: sink.unchanged,
                runs: sink.runs,
                sha256: hashing.sha256_hex(),
                bytes: parse_progress.bytes_read.load(Ordering::Relaxed),
            }
        });

        let mut tx = self.store.begin_bulk(BULK_CACHE_MB).await?;
        let outcome = self
            .ingest_in(
                actor,
                row,
                &mut tx,
                &resources,
                known_tx,
                &mut receiver,
                parser,
            )
            .await;
        // A failure rolls everything back when `tx` is dropped (and its connection closes).
        let report = outcome?;
        tx.commit().await?;
        Ok(report)
    }

    /// The writer side of [`Service::ingest`], inside its transaction.
    async fn ingest_in(
        &self,
        actor: &Actor,
        row: &FindingImportRow,
        tx: &mut WriteTx,
        resources: &[Option<i64>],
        known_tx: std::sync::mpsc::SyncSender<Arc<ScopeIndex>>,
        receiver: &mut tokio::sync::mpsc::Receiver<Vec<Pending>>,
        parser: tokio::task::JoinHandle<Parsed>,
    ) -> std::result::Result<FindingsImportReport, Failure> {
        let scope = ImportScope {
            institution_id: row.institution_id,
            resource_id: row.resource_id,
            import_id: row.id,
            now: self.clock_text().unwrap_or_else(haechi_store::now_text),
        };
        let known = Arc::new(tx.load_scope(row.institution_id, resources).await?);
        // The parser picks this up between results and never waits for it; a full buffer cannot
        // happen (capacity 1, one send), and a parser that already stopped is not an error here.
        let _ = known_tx.try_send(known.clone());
        drop(known_tx);
        let mut counts = Counts::default();
        // New findings are decided as they are inserted, in this transaction; reopened and
        // changed ones are marked stale by the trigger and decided after the commit.
        let mut decider = self.decider(tx, Some(row.institution_id), false).await?;
        let mut writer = tx.findings_writer(&scope).await?;
        // A pipeline of two batches: while the database inserts the new findings of one, this
        // task decides and prepares the next (and receives the one after). What needs the
        // transaction in between (known findings that changed, feed facts of CVE sets met for
        // the first time) runs before the prepared batch is handed over; it never touches the
        // rows that batch inserts.
        let mut ready: Option<PreparedInsert> = None;
        let mut next = receiver.recv().await;
        while let Some(batch) = next.take() {
            let new = write_known(tx, &scope, &known, batch, &mut counts).await?;
            decider
                .add_sets(tx, new.iter().map(|v| v.cves.as_str()))
                .await?;
            let run = async {
                match ready.take() {
                    Some(p) => tx.run_insert(p).await,
                    None => Ok(0),
                }
            };
            let prepare = async {
                let prepared = prepare_new(&mut decider, &mut writer, &scope, &new);
                (prepared, receiver.recv().await)
            };
            let (written, (prepared, following)) = tokio::join!(run, prepare);
            counts.new += written?;
            ready = Some(prepared?);
            next = following;
        }
        if let Some(p) = ready {
            counts.new += tx.run_insert(p).await?;
        }
        tx.run_insert(writer.finish()?).await?;
        drop(known);
        let parsed = parser.await.map_err(|e| {
            Failure::from(ServiceError::rule(
                "import_failed",
                format!("the SARIF reader stopped: {e}"),
            ))
        })?;
        if let Err(e) = &parsed.result {
            let (code, message, location) = sarif_error(e);
            return Err(Failure {
                error: ServiceError::Domain(haechi_core::DomainError::Invalid(vec![
                    FieldError::new(
                        location.clone().unwrap_or_else(|| "file".into()),
                        message.clone(),
                    ),
                ])),
                code,
                message,
                location,
            });
        }

        // Findings of the same scope (resource, tool) that this file no longer reports. Without
        // close-missing only their sightings end, and when as many findings of the scope are
        // marked seen as the file holds, none is missing and nothing is read. An import's scopes
        // are its resource and every resource its mapping names.
        let mut closed = 0u64;
        let mut pairs = parsed.per_scope_tool.clone();
        for r in &parsed.runs {
            for res in resources {
                pairs
                    .entry((*res, Arc::from(r.driver.name.as_str())))
                    .or_insert(0);
            }
        }
        for ((resource_id, tool), present) in &pairs {
            if !row.close_missing {
                let seen_now = tx
                    .count_seen_in_scope(row.institution_id, *resource_id, tool)
                    .await?;
                if seen_now <= *present {
                    continue;
                }
            }
            let missing: Vec<(i64, Hash16, String, Option<i64>)> = tx
                .scope_findings(row.institution_id, *resource_id, tool, row.close_missing)
                .await?
                .into_iter()
                .filter(|(_, fp, _, _)| !reported(&parsed, fp))
                .collect();
            let ends: Vec<(i64, i64)> = missing
                .iter()
                .filter_map(|(id, _, _, since)| since.map(|s| (*id, s)))
                .collect();
            tx.end_sightings(&scope, &ends).await?;
            if row.close_missing {
                let ids: Vec<i64> = missing
                    .iter()
                    .filter(|(_, _, status, _)| matches!(status.as_str(), "open" | "in_progress"))
                    .map(|(id, ..)| *id)
                    .collect();
                closed += tx
                    .set_findings_status(
                        &ids,
                        "fixed",
                        &format!("not reported by import {} (close-missing)", row.id),
                        &scope.now,
                    )
                    .await?;
            }
        }

        let report = FindingsImportReport {
            results_read: parsed.results,
            findings_new: counts.new,
            findings_updated: counts.updated,
            findings_unchanged: counts.unchanged + parsed.unchanged,
            findings_closed: closed,
            duplicates_in_file: parsed.duplicates,
            rejected: parsed.rejected,
            import_id: row.id,
        };
        decider.finish(tx).await?;
        let prov = provenance(&parsed, row);
        let report_json = to_json(&report).to_string();
        tx.finish_finding_import(
            row.id,
            "succeeded",
            &prov,
            Some(&report_json),
            None,
            None,
            None,
        )
        .await?;
        tx.audit(record(actor, "findings.import", "finding_import", &row.id.to_string(), Some(row.institution_id), None, Some(serde_json::json!({"report": report, "file_sha256": prov.file_sha256, "tool": prov.tool_name, "ai_model": prov.ai_model, "policy_version": decider.policy_version(), "new_findings_by_priority": decider.by_priority()})))).await?;
        Ok(report)
    }

    /// An import's state: while it runs on this node, the live byte and result counters.
    pub async fn finding_import(&self, actor: &Actor, id: i64) -> Result<ImportStatus> {
        authz::authorize(actor, Action::ReadFindings)?;
        // A small firm reaches security operations with a letter or a funding award.
        self.require_self_service(actor).await?;
        let mut import = haechi_store::get_finding_import(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ReadFindings,
            Owner::Institution(import.institution_id),
        )?;
        if import.state == "queued" {
            if let Some(p) = self.imports.get(id) {
                if p.state.load(Ordering::Relaxed) == 1 {
                    import.state = "running".into();
                }
                import.bytes_read = p.bytes_read.load(Ordering::Relaxed) as i64;
                import.results_processed = p.results_processed.load(Ordering::Relaxed) as i64;
            }
        }
        Ok(ImportStatus { import })
    }

    /// Import history of the actor's institution (or of `institution_id`), newest first.
    pub async fn finding_imports(
        &self,
        actor: &Actor,
        institution_id: Option<i64>,
    ) -> Result<Vec<FindingImportRow>> {
        authz::authorize(actor, Action::ReadFindings)?;
        // A small firm reaches security operations with a letter or a funding award.
        self.require_self_service(actor).await?;
        let scope = own_scope(actor, institution_id)?;
        Ok(haechi_store::list_finding_imports(self.store.pool(), scope, 200).await?)
    }

    /// The counter an upload handler adds streamed bytes to, so the status shows upload progress.
    pub fn import_byte_counter(&self, id: i64) -> Option<Arc<AtomicU64>> {
        self.imports.get(id).map(|p| p.bytes_read.clone())
    }
}

// ---------------------------------------------------------------- findings: reads and lifecycle

/// A finding with the imports that saw it.
#[derive(Debug, Clone, Serialize)]
pub struct FindingView {
    pub finding: FindingRow,
    /// Ids of the succeeded imports that reported it, oldest first.
    pub seen_by_imports: Vec<i64>,
}

/// A lifecycle step asked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindingTransition {
    /// Target status: open, in_progress, fixed, verified, risk_accepted or false_positive.
    pub status: String,
    #[serde(default)]
    pub reason: Option<String>,
    /// Last day of a risk acceptance (`YYYY-MM-DD`); required for risk_accepted.
    #[serde(default)]
    pub until: Option<chrono::NaiveDate>,
}

/// Finding statuses.
pub const FINDING_STATUSES: [&str; 6] = [
    "open",
    "in_progress",
    "fixed",
    "verified",
    "risk_accepted",
    "false_positive",
];

/// Whether a finding may move from `from` to `to` by hand.
pub fn transition_allowed(from: &str, to: &str) -> bool {
    matches!(
        (from, to),
        (
            "open",
            "in_progress" | "fixed" | "risk_accepted" | "false_positive"
        ) | (
            "in_progress",
            "open" | "fixed" | "risk_accepted" | "false_positive"
        ) | ("fixed", "verified" | "open")
            | ("verified", "open")
            | ("risk_accepted", "open")
            | ("false_positive", "open")
    )
}

impl Service {
    /// A page of findings with filters; institution users see their own institution's only.
    pub async fn list_findings(
        &self,
        actor: &Actor,
        filter: &FindingFilter,
    ) -> Result<(Vec<FindingRow>, haechi_store::FindingTotal)> {
        authz::authorize(actor, Action::ReadFindings)?;
        // A small firm reaches security operations with a letter or a funding award.
        self.require_self_service(actor).await?;
        let mut f = filter.clone();
        f.institution_id = own_scope(actor, filter.institution_id)?;
        Ok(haechi_store::list_findings(self.store.pool(), &f).await?)
    }

    pub async fn get_finding(&self, actor: &Actor, id: i64) -> Result<FindingView> {
        authz::authorize(actor, Action::ReadFindings)?;
        // A small firm reaches security operations with a letter or a funding award.
        self.require_self_service(actor).await?;
        let finding = haechi_store::get_finding(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ReadFindings,
            Owner::Institution(finding.institution_id),
        )?;
        let seen_by_imports = haechi_store::finding_sightings(self.store.pool(), &finding).await?;
        Ok(FindingView {
            finding,
            seen_by_imports,
        })
    }

    /// Moves a finding through its lifecycle; `risk_accepted` needs a reason and a future last
    /// day, `false_positive` a reason.
    pub async fn transition_finding(
        &self,
        actor: &Actor,
        id: i64,
        t: &FindingTransition,
    ) -> Result<FindingRow> {
        authz::authorize(actor, Action::ManageFindings)?;
        // Another institution's finding is "not found" whatever the request says, so its id
        // cannot be probed through validation messages.
        let owner = haechi_store::get_finding(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ManageFindings,
            Owner::Institution(owner.institution_id),
        )?;
        let reason = t.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
        let mut errors = Vec::new();
        if !FINDING_STATUSES.contains(&t.status.as_str()) {
            errors.push(FieldError::new(
                "status",
                format!(
                    "'{}' is not one of {}",
                    t.status,
                    FINDING_STATUSES.join(", ")
                ),
            ));
        }
        if matches!(t.status.as_str(), "risk_accepted" | "false_positive") && reason.is_none() {
            errors.push(FieldError::new(
                "reason",
                format!("a reason is required for {}", t.status),
            ));
        }
        if t.status == "risk_accepted" {
            match t.until {
                None => errors.push(FieldError::new(
                    "until",
                    "the last day of the risk acceptance is required",
                )),
                Some(d) if d < self.today() => {
                    errors.push(FieldError::new("until", format!("{d} is in the past")))
                }
                Some(_) => {}
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let mut tx = self.store.begin().await?;
        let old = haechi_store::get_finding(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ManageFindings,
            Owner::Institution(old.institution_id),
        )?;
        if !transition_allowed(&old.status, &t.status) {
            return Err(ServiceError::rule(
                "illegal_transition",
                format!(
                    "a finding that is {} cannot become {}",
                    old.status, t.status
                ),
            ));
        }
        let until = (t.status == "risk_accepted")
            .then(|| t.until.map(|d| d.to_string()))
            .flatten();
        tx.set_finding_status(id, &old.status, &t.status, reason, until.as_deref())
            .await?;
        tx.audit(record(actor, "finding.transition", "finding", &id.to_string(), Some(old.institution_id), Some(serde_json::json!({"status": old.status, "reason": old.status_reason, "until": old.risk_accepted_until})), Some(serde_json::json!({"status": t.status, "reason": reason, "until": until})))).await?;
        let row = haechi_store::get_finding(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(row)
    }

    /// The expiry job: reopens every risk acceptance whose last day has passed. One audit entry
    /// per run that reopened something. Returns how many it reopened.
    pub async fn reopen_expired_acceptances(&self) -> Result<usize> {
        let today = self.today().to_string();
        let mut tx = self.store.begin().await?;
        let expired = haechi_store::expired_acceptances(tx.conn(), &today).await?;
        if expired.is_empty() {
            return Ok(0);
        }
        for (id, _, until) in &expired {
            tx.set_finding_status(
                *id,
                "risk_accepted",
                "open",
                Some(&format!("risk acceptance expired (accepted until {until})")),
                None,
            )
            .await?;
        }
        let ids: Vec<i64> = expired.iter().map(|(id, ..)| *id).collect();
        tx.audit(record(
            &Actor::system(),
            "finding.acceptance_expired",
            "finding",
            "*",
            None,
            None,
            Some(serde_json::json!({"reopened": ids, "today": today})),
        ))
        .await?;
        tx.commit().await?;
        Ok(expired.len())
    }
}
