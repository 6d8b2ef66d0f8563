//! C13 threat feeds and C10 emergency advisories: importing FIRST EPSS, CISA KEV and CVE JSON 5
//! files carried into the separated network, verifying the regulator's detached signature over
//! them, and publishing or withdrawing the authorities' emergency patch advisories. Every change
//! here re-prioritises the findings it can affect ([`crate::priority`]).
//!
//! An import is stamped with the source's own date (EPSS score date, KEV release date, newest
//! CVE update), parses the whole file before it writes anything (a bad row refuses the file),
//! writes in one transaction with its audit entry, and is idempotent: a file whose SHA-256 was
//! imported before changes nothing. A newer EPSS or KEV file replaces the previous contents; an
//! older one is refused so that a stale file carried in late cannot roll the scores back.
//!
//! What it must not do: know SQL or HTTP, or decide priorities (the policy table does).

use std::collections::HashSet;

use chrono::NaiveDate;
use haechi_core::{Actor, FieldError};
use haechi_formats::feeds::cve::{CveRecord, MetricSource};
use haechi_formats::feeds::epss::EpssReader;
use haechi_formats::feeds::kev::{read_kev, RansomwareUse};
use haechi_formats::feeds::{cve, FeedError};
use haechi_letter::Signature;
use haechi_store::{
    cve_key, AdvisoryRow, CveFacts, CveMetricRow, CveRecordRow, EpssWrite, FeedImportRow, KevRow,
    NewFeedImport,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::authz::{self, Action};
use crate::priority::RecomputeReport;
use crate::{record, Result, Service, ServiceError};

/// Largest feed file accepted (the full EPSS CSV is about 10 MB, the KEV catalog about 1 MB).
pub const MAX_FEED_BYTES: usize = 512 * 1024 * 1024;

/// The domain tag a feed signature covers before the file's SHA-256, so that a feed signature
/// can never be mistaken for a letter signature (those cover canonical JSON, which starts `{`).
const FEED_SIGNATURE_TAG: &str = "haechi-feed-v1:";

/// Which feed a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    Epss,
    Kev,
    Cve,
}

impl FeedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Epss => "epss",
            FeedKind::Kev => "kev",
            FeedKind::Cve => "cve",
        }
    }

    pub fn parse(s: &str) -> Option<FeedKind> {
        match s {
            "epss" => Some(FeedKind::Epss),
            "kev" => Some(FeedKind::Kev),
            "cve" => Some(FeedKind::Cve),
            _ => None,
        }
    }
}

/// One file handed to an import (a CVE import may carry many: a directory of records).
#[derive(Debug, Clone)]
pub struct FeedFile {
    /// Name for messages and the import record (the path as given).
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct FeedImportReport {
    pub kind: FeedKind,
    /// `None` when the file had been imported before (nothing changed).
    pub import_id: Option<i64>,
    /// The identical file was imported before (import id in `previous_import_id`).
    pub unchanged: bool,
    pub previous_import_id: Option<i64>,
    pub rows: u64,
    pub source_date: String,
    pub model_version: Option<String>,
    /// SHA-256 of the file (of the sorted `sha256  name` lines for a directory).
    pub sha256: String,
    /// Key id of the verified signature, when one was given.
    pub signed_by_key: Option<String>,
    /// CVE imports: metrics whose published score disagrees with their vector.
    pub score_disagreements: u64,
    /// CVE imports: records not stored because a newer version is loaded.
    pub skipped_older: u64,
    pub recompute: Option<RecomputeReport>,
}

/// The SHA-256 a feed signature covers: of the file, or, for several files, of their sorted
/// `sha256  name` lines (as `sha256sum` prints them).
pub fn feed_digest(files: &[FeedFile]) -> String {
    match files {
        [one] => hex::encode(Sha256::digest(&one.bytes)),
        many => {
            let mut lines: Vec<String> = many
                .iter()
                .map(|f| format!("{}  {}\n", hex::encode(Sha256::digest(&f.bytes)), f.name))
                .collect();
            lines.sort();
            hex::encode(Sha256::digest(lines.concat().as_bytes()))
        }
    }
}

/// The message a feed signature signs.
pub fn feed_signature_message(sha256_hex: &str) -> Vec<u8> {
    format!("{FEED_SIGNATURE_TAG}{sha256_hex}").into_bytes()
}

fn invalid_feed(kind: FeedKind, file: &str, e: &FeedError) -> ServiceError {
    ServiceError::rule(
        "feed_invalid",
        format!(
            "{} file {file} refused, nothing was imported: {e}",
            kind.as_str().to_uppercase()
        ),
    )
}

/// An advisory as published by an officer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdvisoryInput {
    pub title_ko: String,
    pub title_en: String,
    pub published_on: NaiveDate,
    pub cves: Vec<String>,
}

/// A published advisory with what publishing it changed.
#[derive(Debug, Clone, Serialize)]
pub struct AdvisoryOutcome {
    pub advisory: AdvisoryRow,
    pub recompute: Option<RecomputeReport>,
}

/// What is loaded, per feed, and how old it is.
#[derive(Debug, Clone, Serialize)]
pub struct FeedStatus {
    pub epss: Option<FeedImportRow>,
    pub kev: Option<FeedImportRow>,
    pub cve: Option<FeedImportRow>,
    pub epss_rows: i64,
    pub kev_rows: i64,
    pub cve_records: i64,
    /// Days between each feed's source date and today.
    pub epss_age_days: Option<i64>,
    pub kev_age_days: Option<i64>,
    pub cve_age_days: Option<i64>,
    pub recent_imports: Vec<FeedImportRow>,
    pub published_advisories: usize,
}

fn severity_text(s: haechi_cvss::Severity) -> String {
    // The CVSS crate serialises severities lower-case; the policy and the store use the same.
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "none".into())
}

/// A CVE record as stored: every metric rescored from its vector, the preferred one marked.
fn cve_row(rec: &CveRecord, file: &str) -> Result<(CveRecordRow, u64)> {
    let key = cve_key(&rec.cve_id).ok_or_else(|| {
        ServiceError::rule(
            "feed_invalid",
            format!(
                "CVE file {file}: {:?} is not a CVE id Haechi can key",
                rec.cve_id
            ),
        )
    })?;
    let mut metrics = Vec::with_capacity(rec.metrics.len());
    let mut disagreements = 0;
    for m in &rec.metrics {
        let eval = haechi_cvss::evaluate(&m.vector).map_err(|e| {
            ServiceError::rule(
                "feed_invalid",
                format!(
                    "CVE file {file}, {} at {}: bad CVSS vector {:?}: {e}",
                    rec.cve_id, m.path, m.vector
                ),
            )
        })?;
        let disagrees = match m.base_score {
            Some(p) => haechi_cvss::score_disagrees(&m.vector, p).unwrap_or(true),
            None => false,
        };
        disagreements += u64::from(disagrees);
        metrics.push(CveMetricRow {
            source: match &m.source {
                MetricSource::Cna => "cna".to_string(),
                MetricSource::Adp { short_name, index } => format!(
                    "adp:{}",
                    short_name.clone().unwrap_or_else(|| index.to_string())
                ),
            },
            version: eval.version.to_string(),
            vector: m.vector.clone(),
            published_score: m.base_score,
            computed_score: eval.base_score,
            severity: severity_text(eval.severity),
            automatable: eval.automatable,
            score_disagrees: disagrees,
            path: m.path.clone(),
        });
    }
    let preferred = rec
        .preferred_metric()
        .and_then(|p| rec.metrics.iter().position(|m| m.path == p.path));
    let mut cwes: Vec<u32> = rec.cwes.iter().map(|c| c.id).collect();
    cwes.sort_unstable();
    cwes.dedup();
    let affected: Vec<serde_json::Value> = rec
        .affected
        .iter()
        .map(|a| {
            serde_json::json!({
                "vendor": a.vendor, "product": a.product, "default_status": a.default_status,
                "versions": a.versions.iter().map(|v| serde_json::json!({
                    "version": v.version, "status": v.status, "version_type": v.version_type,
                    "less_than": v.less_than, "less_than_or_equal": v.less_than_or_equal,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let ts = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    Ok((
        CveRecordRow {
            cve_key: key,
            cve: rec.cve_id.clone(),
            state: rec.state.clone(),
            assigner: rec.assigner_short_name.clone(),
            date_published: ts(rec.date_published),
            date_updated: ts(rec.date_updated),
            description: rec.description.clone(),
            cwes,
            affected: serde_json::Value::Array(affected),
            preferred,
            metrics,
            feed_import_id: 0,
        },
        disagreements,
    ))
}

impl Service {
    /// Verifies a detached feed signature against every published regulator key; returns the
    /// signing key's id. A bad signature refuses the import with what and which file.
    async fn verify_feed_signature(
        &self,
        files: &[FeedFile],
        digest: &str,
        signature: &[u8],
    ) -> Result<String> {
        let what = files.first().map(|f| f.name.clone()).unwrap_or_default();
        let sig: Signature = serde_json::from_slice(signature).map_err(|e| {
            ServiceError::rule(
                "feed_signature_invalid",
                format!("the signature for {what} is not a Haechi feed signature file (JSON with alg, key_id, value): {e}"),
            )
        })?;
        let ring = self.key_ring().await?;
        ring.verify_detached(&feed_signature_message(digest), &sig)
            .map_err(|e| {
                ServiceError::rule(
                    "feed_signature_invalid",
                    format!("signature check failed for {what} (SHA-256 {digest}): {e}; nothing was imported"),
                )
            })?;
        Ok(sig.key_id)
    }

    /// Signs a feed file (or a directory's files) with this node's regulator key; the JSON is
    /// what `--signature` takes.
    pub async fn sign_feed(&self, actor: &Actor, files: &[FeedFile]) -> Result<Vec<u8>> {
        authz::authorize(actor, Action::ManageFeeds)?;
        let key = self.signer.as_ref().ok_or_else(|| {
            ServiceError::rule("no_signing_key", "this node has no regulator signing key")
        })?;
        let digest = feed_digest(files);
        let sig = key.sign_detached(&feed_signature_message(&digest));
        let mut out = serde_json::to_vec_pretty(&sig)
            .map_err(|e| ServiceError::rule("key_error", e.to_string()))?;
        out.push(b'\n');
        Ok(out)
    }

    /// Imports one feed (see the module documentation). `signature`, when given, must verify
    /// against a published regulator key before anything is read.
    pub async fn import_feed(
        &self,
        actor: &Actor,
        kind: FeedKind,
        files: Vec<FeedFile>,
        signature: Option<&[u8]>,
    ) -> Result<FeedImportReport> {
        authz::authorize(actor, Action::ManageFeeds)?;
        if files.is_empty() {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "file",
                "no feed file given",
            )]));
        }
        if kind != FeedKind::Cve && files.len() != 1 {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "file",
                format!("a {} import takes exactly one file", kind.as_str()),
            )]));
        }
        let total: usize = files.iter().map(|f| f.bytes.len()).sum();
        if total > MAX_FEED_BYTES {
            return Err(ServiceError::TooLarge(format!(
                "feed files of {total} bytes exceed the limit of {MAX_FEED_BYTES}"
            )));
        }
        let digest = feed_digest(&files);
        let signed_by_key = match signature {
            Some(sig) => Some(self.verify_feed_signature(&files, &digest, sig).await?),
            None => None,
        };
        let mut report = FeedImportReport {
            kind,
            import_id: None,
            unchanged: false,
            previous_import_id: None,
            rows: 0,
            source_date: String::new(),
            model_version: None,
            sha256: digest.clone(),
            signed_by_key: signed_by_key.clone(),
            score_disagreements: 0,
            skipped_older: 0,
            recompute: None,
        };
        if let Some(prev) =
            haechi_store::feed_import_by_sha(self.store.pool(), kind.as_str(), &digest).await?
        {
            report.unchanged = true;
            report.previous_import_id = Some(prev.id);
            report.rows = u64::try_from(prev.row_count).unwrap_or(0);
            report.source_date = prev.source_date;
            report.model_version = prev.model_version;
            return Ok(report);
        }
        let file_name = if files.len() == 1 {
            files.first().map(|f| f.name.clone())
        } else {
            Some(format!("{} files", files.len()))
        };
        let now = self.now_text();
        match kind {
            FeedKind::Epss => {
                let Some(file) = files.into_iter().next() else {
                    return Err(ServiceError::NotFound);
                };
                let name = file.name.clone();
                // Parse everything before writing: a bad row refuses the whole file.
                let parsed = tokio::task::spawn_blocking(move || parse_epss(&file))
                    .await
                    .map_err(|e| ServiceError::rule("internal_error", e.to_string()))??;
                let (model, score_date, rows) = parsed;
                let mut tx = self.store.begin().await?;
                if let Some(latest) = haechi_store::latest_feed_import(tx.conn(), "epss").await? {
                    if latest.source_date.as_str() > score_date.as_str() {
                        return Err(ServiceError::rule(
                            "feed_older",
                            format!("EPSS file {name} has score date {score_date}, older than the loaded {} (import {}); nothing was imported", latest.source_date, latest.id),
                        ));
                    }
                }
                let id = tx
                    .insert_feed_import(&NewFeedImport {
                        kind: "epss",
                        source_date: &score_date,
                        model_version: model.as_deref(),
                        sha256: &digest,
                        signed_by_key: signed_by_key.as_deref(),
                        file_name: file_name.as_deref(),
                        imported_at: &now,
                        imported_by: &actor.username,
                    })
                    .await?;
                tx.clear_epss().await?;
                let n = tx.insert_epss(id, &rows).await?;
                tx.finish_feed_import(id, i64::try_from(n).unwrap_or(i64::MAX), &score_date)
                    .await?;
                report.import_id = Some(id);
                report.rows = n;
                report.source_date = score_date;
                report.model_version = model;
                tx.audit(record(actor, "feeds.import", "feed_import", &id.to_string(), None, None, Some(serde_json::json!({"kind": "epss", "rows": n, "sha256": digest, "source_date": report.source_date, "model_version": report.model_version, "signed_by_key": signed_by_key})))).await?;
                tx.commit().await?;
            }
            FeedKind::Kev => {
                let Some(file) = files.into_iter().next() else {
                    return Err(ServiceError::NotFound);
                };
                let catalog = read_kev(file.bytes.as_slice())
                    .map_err(|e| invalid_feed(kind, &file.name, &e))?;
                let mut seen = HashSet::new();
                let mut rows = Vec::with_capacity(catalog.vulnerabilities.len());
                for (i, v) in catalog.vulnerabilities.iter().enumerate() {
                    let key = cve_key(&v.cve_id).ok_or_else(|| {
                        ServiceError::rule("feed_invalid", format!("KEV file {}: vulnerabilities[{i}].cveID {:?} is not a CVE id; nothing was imported", file.name, v.cve_id))
                    })?;
                    if !seen.insert(key) {
                        return Err(ServiceError::rule("feed_invalid", format!("KEV file {}: vulnerabilities[{i}].cveID {} is listed twice; nothing was imported", file.name, v.cve_id)));
                    }
                    rows.push(KevRow {
                        cve_key: key,
                        cve: v.cve_id.clone(),
                        vendor: v.vendor_project.clone(),
                        product: v.product.clone(),
                        name: v.vulnerability_name.clone(),
                        date_added: v.date_added.to_string(),
                        due_date: v.due_date.map(|d| d.to_string()),
                        ransomware: match &v.known_ransomware_campaign_use {
                            RansomwareUse::Known => "Known".to_string(),
                            RansomwareUse::Unknown => "Unknown".to_string(),
                            RansomwareUse::Other(s) => s.clone(),
                        },
                        notes: v.notes.clone(),
                    });
                }
                let released = catalog.date_released.date_naive().to_string();
                let mut tx = self.store.begin().await?;
                if let Some(latest) = haechi_store::latest_feed_import(tx.conn(), "kev").await? {
                    if latest.source_date.as_str() > released.as_str() {
                        return Err(ServiceError::rule(
                            "feed_older",
                            format!("KEV file {} was released {released}, older than the loaded {} (import {}); nothing was imported", file.name, latest.source_date, latest.id),
                        ));
                    }
                }
                let id = tx
                    .insert_feed_import(&NewFeedImport {
                        kind: "kev",
                        source_date: &released,
                        model_version: Some(&catalog.catalog_version),
                        sha256: &digest,
                        signed_by_key: signed_by_key.as_deref(),
                        file_name: file_name.as_deref(),
                        imported_at: &now,
                        imported_by: &actor.username,
                    })
                    .await?;
                let n = tx.replace_kev(id, &rows).await?;
                tx.finish_feed_import(id, i64::try_from(n).unwrap_or(i64::MAX), &released)
                    .await?;
                report.import_id = Some(id);
                report.rows = n;
                report.source_date = released;
                report.model_version = Some(catalog.catalog_version.clone());
                tx.audit(record(actor, "feeds.import", "feed_import", &id.to_string(), None, None, Some(serde_json::json!({"kind": "kev", "rows": n, "sha256": digest, "source_date": report.source_date, "catalog_version": catalog.catalog_version, "signed_by_key": signed_by_key})))).await?;
                tx.commit().await?;
            }
            FeedKind::Cve => {
                let mut parsed = Vec::with_capacity(files.len());
                let mut seen = HashSet::new();
                let mut disagreements = 0;
                for f in &files {
                    let rec = cve::read_cve_record(f.bytes.as_slice())
                        .map_err(|e| invalid_feed(kind, &f.name, &e))?;
                    let (row, d) = cve_row(&rec, &f.name)?;
                    if !seen.insert(row.cve_key) {
                        return Err(ServiceError::rule("feed_invalid", format!("CVE file {}: {} appears in more than one file; nothing was imported", f.name, row.cve)));
                    }
                    disagreements += d;
                    parsed.push(row);
                }
                let source_date = parsed
                    .iter()
                    .filter_map(|r| r.date_updated.clone().or_else(|| r.date_published.clone()))
                    .max()
                    .map(|d| d.chars().take(10).collect::<String>())
                    .ok_or_else(|| {
                        ServiceError::rule("feed_invalid", "no CVE record carries dateUpdated or datePublished, so the import cannot be stamped with the source's date; nothing was imported")
                    })?;
                let mut tx = self.store.begin().await?;
                let id = tx
                    .insert_feed_import(&NewFeedImport {
                        kind: "cve",
                        source_date: &source_date,
                        model_version: None,
                        sha256: &digest,
                        signed_by_key: signed_by_key.as_deref(),
                        file_name: file_name.as_deref(),
                        imported_at: &now,
                        imported_by: &actor.username,
                    })
                    .await?;
                let mut stored = 0u64;
                for row in &mut parsed {
                    if let Some(existing) =
                        haechi_store::cve_record_updated(tx.conn(), row.cve_key).await?
                    {
                        // Keep a newer stored version (records arrive from several dumps).
                        if existing.is_some() && existing > row.date_updated {
                            report.skipped_older += 1;
                            continue;
                        }
                    }
                    row.feed_import_id = id;
                    tx.upsert_cve_record(id, row).await?;
                    stored += 1;
                }
                tx.finish_feed_import(id, i64::try_from(stored).unwrap_or(i64::MAX), &source_date)
                    .await?;
                report.import_id = Some(id);
                report.rows = stored;
                report.source_date = source_date;
                report.score_disagreements = disagreements;
                tx.audit(record(actor, "feeds.import", "feed_import", &id.to_string(), None, None, Some(serde_json::json!({"kind": "cve", "rows": stored, "skipped_older": report.skipped_older, "score_disagreements": disagreements, "sha256": digest, "source_date": report.source_date, "signed_by_key": signed_by_key})))).await?;
                tx.commit().await?;
            }
        }
        report.recompute = Some(self.recompute_after_feeds(actor).await?);
        Ok(report)
    }

    /// What is loaded and how old it is (the feeds page).
    pub async fn feed_status(&self, actor: &Actor) -> Result<FeedStatus> {
        authz::authorize(actor, Action::ReadFeeds)?;
        let pool = self.store.pool();
        let epss = haechi_store::latest_feed_import(pool, "epss").await?;
        let kev = haechi_store::latest_feed_import(pool, "kev").await?;
        let cve = haechi_store::latest_feed_import(pool, "cve").await?;
        let (epss_rows, kev_rows, cve_records) = haechi_store::feed_counts(pool).await?;
        let today = self.today();
        let age = |r: &Option<FeedImportRow>| {
            r.as_ref()
                .and_then(|r| NaiveDate::parse_from_str(&r.source_date, "%Y-%m-%d").ok())
                .map(|d| (today - d).num_days())
        };
        let published_advisories = haechi_store::list_advisories(pool)
            .await?
            .iter()
            .filter(|a| a.state == "published")
            .count();
        Ok(FeedStatus {
            epss_age_days: age(&epss),
            kev_age_days: age(&kev),
            cve_age_days: age(&cve),
            epss,
            kev,
            cve,
            epss_rows,
            kev_rows,
            cve_records,
            recent_imports: haechi_store::list_feed_imports(pool, 20).await?,
            published_advisories,
        })
    }

    /// Everything the feeds and advisories say about one CVE.
    pub async fn cve_facts(&self, actor: &Actor, cve: &str) -> Result<CveFacts> {
        authz::authorize(actor, Action::ReadFeeds)?;
        haechi_store::cve_facts(self.store.pool(), cve.trim())
            .await?
            .ok_or(ServiceError::NotFound)
    }

    // ------------------------------------------------------------ advisories

    /// Publishes an emergency patch advisory: findings on its CVEs become P1
    /// (`authority_advisory`).
    pub async fn publish_advisory(
        &self,
        actor: &Actor,
        input: &AdvisoryInput,
    ) -> Result<AdvisoryOutcome> {
        authz::authorize(actor, Action::PublishAdvisory)?;
        let mut errors = Vec::new();
        if input.title_ko.trim().is_empty() {
            errors.push(FieldError::new("title_ko", "must not be empty"));
        }
        if input.title_en.trim().is_empty() {
            errors.push(FieldError::new("title_en", "must not be empty"));
        }
        if input.cves.is_empty() {
            errors.push(FieldError::new("cves", "list at least one CVE"));
        }
        let mut cves: Vec<(i64, String)> = Vec::new();
        for (i, c) in input.cves.iter().enumerate() {
            let c = c.trim().to_uppercase();
            match cve_key(&c) {
                Some(k) if !cves.iter().any(|(x, _)| *x == k) => cves.push((k, c)),
                Some(_) => errors.push(FieldError::new(
                    format!("cves[{i}]"),
                    format!("{c} is listed twice"),
                )),
                None => errors.push(FieldError::new(
                    format!("cves[{i}]"),
                    format!("{c:?} is not a CVE id (CVE-YYYY-NNNN)"),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let now = self.now_text();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_advisory(
                input.title_ko.trim(),
                input.title_en.trim(),
                &input.published_on.to_string(),
                &cves,
                &actor.username,
                &now,
            )
            .await?;
        tx.audit(record(
            actor,
            "advisory.publish",
            "advisory",
            &id.to_string(),
            None,
            None,
            Some(crate::to_json(input)),
        ))
        .await?;
        tx.commit().await?;
        let recompute = Some(self.recompute_after_feeds(actor).await?);
        let advisory = haechi_store::get_advisory(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(AdvisoryOutcome {
            advisory,
            recompute,
        })
    }

    /// Withdraws a published advisory; its findings fall back to what the feeds say.
    pub async fn withdraw_advisory(
        &self,
        actor: &Actor,
        id: i64,
        reason: &str,
    ) -> Result<AdvisoryOutcome> {
        authz::authorize(actor, Action::PublishAdvisory)?;
        if reason.trim().is_empty() {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "reason",
                "say why the advisory is withdrawn",
            )]));
        }
        let now = self.now_text();
        let mut tx = self.store.begin().await?;
        tx.withdraw_advisory(id, &actor.username, reason.trim(), &now)
            .await?;
        tx.audit(record(
            actor,
            "advisory.withdraw",
            "advisory",
            &id.to_string(),
            None,
            Some(serde_json::json!({"state": "published"})),
            Some(serde_json::json!({"state": "withdrawn", "reason": reason.trim()})),
        ))
        .await?;
        tx.commit().await?;
        let recompute = Some(self.recompute_after_feeds(actor).await?);
        let advisory = haechi_store::get_advisory(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(AdvisoryOutcome {
            advisory,
            recompute,
        })
    }

    pub async fn advisories(&self, actor: &Actor) -> Result<Vec<AdvisoryRow>> {
        authz::authorize(actor, Action::ReadFeeds)?;
        Ok(haechi_store::list_advisories(self.store.pool()).await?)
    }

    pub async fn advisory(&self, actor: &Actor, id: i64) -> Result<AdvisoryRow> {
        authz::authorize(actor, Action::ReadFeeds)?;
        haechi_store::get_advisory(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// The clock as stored text (the demo's fixed clock, else now).
    pub(crate) fn now_text(&self) -> String {
        self.clock_text().unwrap_or_else(haechi_store::now_text)
    }
}

/// Reads a whole EPSS file: (model version, score date, rows). Refuses a file without a score
/// date (the import must carry the source's own date) and a CVE listed twice (with its line).
fn parse_epss(file: &FeedFile) -> Result<(Option<String>, String, Vec<EpssWrite>)> {
    let kind = FeedKind::Epss;
    let mut reader =
        EpssReader::new(file.bytes.as_slice()).map_err(|e| invalid_feed(kind, &file.name, &e))?;
    let header = reader.header().clone();
    let score_date = header
        .score_date
        .map(|d| d.date_naive().to_string())
        .ok_or_else(|| {
            ServiceError::rule(
                "feed_invalid",
                format!("EPSS file {} has no `#model_version:…,score_date:…` comment line, so the import cannot be stamped with the score date; nothing was imported", file.name),
            )
        })?;
    let mut rows = Vec::with_capacity(file.bytes.len() / 30);
    let mut seen = HashSet::with_capacity(file.bytes.len() / 30);
    for item in &mut reader {
        let s = item.map_err(|e| invalid_feed(kind, &file.name, &e))?;
        let key = cve_key(&s.cve).ok_or_else(|| {
            ServiceError::rule(
                "feed_invalid",
                format!("EPSS file {}: line {}: {:?} is not a CVE id Haechi can key; nothing was imported", file.name, s.line, s.cve),
            )
        })?;
        if !seen.insert(key) {
            return Err(ServiceError::rule(
                "feed_invalid",
                format!(
                    "EPSS file {}: line {}: {} is listed twice; nothing was imported",
                    file.name, s.line, s.cve
                ),
            ));
        }
        rows.push(EpssWrite {
            cve_key: key,
            cve: s.cve,
            epss: s.epss,
            percentile: s.percentile,
        });
    }
    Ok((header.model_version, score_date, rows))
}
