//! Haechi's use cases: every operation the web, the API and the CLI offer, each taking the acting
//! user, authorised in one place ([`authz`]), run in one store transaction and recorded in the
//! audit log. Decisions are made by the pure engines of `haechi-policy` with the policy version
//! in force, and stored with that version and their reasons.
//!
//! This crate knows neither HTTP nor SQL.

pub mod advisory;
pub mod applications;
pub mod authz;
pub mod bodies;
pub mod clusters;
pub mod cohorts;
pub mod demo;
pub mod demo_ai;
pub mod demo_bodies;
pub mod demo_immunity;
pub mod demo_patching;
pub mod demo_reports;
pub mod demo_response;
pub mod demo_sharing;
pub mod demo_support;
pub mod feeds;
pub mod findings;
pub mod findings_views;
pub mod guidelines;
pub mod immunity;
pub mod import_leases;
pub mod insight;
pub mod institutions;
pub mod letters;
pub mod mail;
pub mod patching;
pub mod patching_views;
pub mod priority;
pub mod regulator_views;
pub mod removal;
pub mod reports;
pub mod response_team;
pub mod reviews;
pub mod sessions;
pub mod sharing;
pub mod support;
pub mod users;

use std::sync::{Arc, RwLock};

use chrono::{NaiveDate, NaiveDateTime, Utc};
use haechi_core::{Actor, DomainError, FieldError};
use haechi_policy::Policy;
use haechi_store::{AuditRecord, Store, StoreError, WriteTx};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use authz::Action;

/// Errors of a use case, each with a stable code; the web layer maps them to HTTP statuses once.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("not found")]
    NotFound,
    #[error("not authenticated")]
    Unauthenticated,
    #[error("your role may not {0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("{message}")]
    Rule { code: &'static str, message: String },
    #[error("{0}")]
    TooLarge(String),
    #[error("policy is invalid: {0}")]
    Policy(haechi_policy::PolicyErrors),
    #[error("too many failed sign-ins; try again in {0} seconds")]
    Throttled(u64),
    #[error("storage failure")]
    Store(#[source] StoreError),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound,
            StoreError::Duplicate(what) => {
                ServiceError::Domain(DomainError::Conflict(format!("already exists: {what}")))
            }
            other => ServiceError::Store(other),
        }
    }
}

impl ServiceError {
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::NotFound => "not_found",
            ServiceError::Unauthenticated => "unauthenticated",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::Domain(d) => d.code(),
            ServiceError::Rule { code, .. } => code,
            ServiceError::TooLarge(_) => "payload_too_large",
            ServiceError::Policy(_) => "invalid_policy",
            ServiceError::Throttled(_) => "throttled",
            ServiceError::Store(_) => "internal_error",
        }
    }

    pub fn invalid(errors: Vec<FieldError>) -> ServiceError {
        ServiceError::Domain(DomainError::Invalid(errors))
    }

    pub fn rule(code: &'static str, message: impl Into<String>) -> ServiceError {
        ServiceError::Rule {
            code,
            message: message.into(),
        }
    }

    /// The field errors, for forms and API bodies.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            ServiceError::Domain(DomainError::Invalid(errs)) => errs,
            _ => &[],
        }
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Largest evidence attachment accepted, in bytes.
    pub max_attachment_bytes: usize,
    /// Largest CSV import accepted, in bytes.
    pub max_import_bytes: usize,
    /// Sign-in sessions and the login throttle.
    pub accounts: sessions::AccountsConfig,
    /// How long a findings import may go without a heartbeat from its node before it counts as
    /// abandoned and is failed (see `import_leases.rs`).
    pub import_lease: std::time::Duration,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            max_attachment_bytes: 10 * 1024 * 1024,
            max_import_bytes: 20 * 1024 * 1024,
            accounts: sessions::AccountsConfig::default(),
            import_lease: std::time::Duration::from_secs(120),
        }
    }
}

/// The use cases over one store.
#[derive(Clone)]
pub struct Service {
    store: Store,
    policy: Arc<RwLock<Arc<Policy>>>,
    config: ServiceConfig,
    /// Set only while the demo writes history with past dates.
    clock: Arc<RwLock<Option<NaiveDateTime>>>,
    /// The regulator's letter-signing key; `None` on a node that does not issue letters.
    signer: Option<Arc<haechi_letter::Keypair>>,
    /// Delivers notification e-mail when an SMTP relay is configured.
    mailer: Option<Arc<dyn mail::Mailer>>,
    /// Finding imports running on this node (live progress for the status endpoint).
    imports: Arc<findings::LiveImports>,
    /// Held by the cross-tool regrouping in flight (`clusters.rs`), which runs after an import
    /// has committed, off the import's path; readers that need current clusters wait for it.
    regrouping: Arc<tokio::sync::Mutex<()>>,
    /// Sessions' last-use times on their way to the database (`sessions.rs`).
    touches: Arc<sessions::PendingTouches>,
    /// This process's name among the nodes sharing the database: host, process id and a random
    /// start nonce; the owner of the imports it accepts.
    node: Arc<str>,
}

impl Service {
    /// Opens the service: the store must be migrated. Stores the embedded default policy as
    /// version 1 when the database has none.
    pub async fn open(store: Store, config: ServiceConfig) -> Result<Service> {
        let svc = Service {
            store,
            policy: Arc::new(RwLock::new(Arc::new(Policy::default_policy()))),
            config,
            clock: Arc::new(RwLock::new(None)),
            signer: None,
            mailer: None,
            imports: Arc::default(),
            regrouping: Arc::default(),
            touches: Arc::default(),
            node: import_leases::node_name().into(),
        };
        match haechi_store::latest_policy_version(svc.store.pool()).await? {
            Some(row) => {
                svc.install_policy_row(&row)?;
            }
            None => {
                let text = haechi_policy::DEFAULT_POLICY_TOML;
                svc.store_policy(&Actor::system(), text).await?;
            }
        }
        svc.decide_pending_on_start().await?;
        // Imports a dead node left open are failed now, then swept again while this runs.
        if let Err(e) = svc.fail_stale_imports().await {
            tracing::warn!(error = %e, "abandoned imports not swept at start; the next sweep retries");
        }
        svc.spawn_import_keeper();
        Ok(svc)
    }

    /// Sends notification e-mail through `mailer` from now on.
    pub fn with_mailer(mut self, mailer: Arc<dyn mail::Mailer>) -> Service {
        self.mailer = Some(mailer);
        self
    }

    /// E-mails an institution's contact (when a mailer is configured and the contact has an
    /// address). Best-effort: failures are logged, never returned.
    pub(crate) async fn mail_institution(
        &self,
        institution_id: i64,
        subject_ko: &str,
        subject_en: &str,
    ) {
        let Some(mailer) = &self.mailer else { return };
        let to = match haechi_store::get_institution(self.store.pool(), institution_id).await {
            Ok(Some(i)) => i.input.contact_email.filter(|e| e.contains('@')),
            _ => None,
        };
        let Some(to) = to else { return };
        let mail = mail::OutgoingMail {
            to: to.clone(),
            subject: format!("[Haechi] {subject_ko}"),
            body: format!("{subject_ko}\n\n{subject_en}\n\n-- 해치 Haechi (금융위원회 망분리 규제 특례 / FSC network-separation relief)\n"),
        };
        if let Err(e) = mailer.send(&mail).await {
            tracing::warn!(to = %to, error = %e, "notification e-mail not sent");
        }
    }

    /// Whether this node can sign letters.
    pub fn has_signer(&self) -> bool {
        self.signer.is_some()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The policy in force (as last seen by this node).
    pub fn policy(&self) -> Arc<Policy> {
        match self.policy.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn install_policy_row(&self, row: &haechi_store::PolicyVersionRow) -> Result<Arc<Policy>> {
        let mut p = Policy::from_toml_str(&row.source_toml).map_err(ServiceError::Policy)?;
        p.version = row.version;
        let p = Arc::new(p);
        match self.policy.write() {
            Ok(mut g) => *g = p.clone(),
            Err(poisoned) => *poisoned.into_inner() = p.clone(),
        }
        Ok(p)
    }

    /// The policy in force for a decision made inside `tx`: re-read when another node stored a
    /// newer version, so every node decides with the same rules.
    pub(crate) async fn policy_in(&self, tx: &mut WriteTx) -> Result<Arc<Policy>> {
        let current = self.policy();
        let latest = haechi_store::latest_policy_version(tx.conn()).await?;
        match latest {
            Some(row) if row.version != current.version => self.install_policy_row(&row),
            _ => Ok(current),
        }
    }

    async fn store_policy(&self, actor: &Actor, text: &str) -> Result<i64> {
        let policy = Policy::from_toml_str(text).map_err(ServiceError::Policy)?;
        let sha = hex::encode(Sha256::digest(text.as_bytes()));
        let mut tx = self.store.begin().await?;
        if let Some(latest) = haechi_store::latest_policy_version(tx.conn()).await? {
            if latest.sha256 == sha {
                return Ok(latest.version);
            }
        }
        let version = tx
            .insert_policy_version(
                &policy.program.effective_from.to_string(),
                &actor.username,
                &sha,
                text,
            )
            .await?;
        tx.audit(record(actor, "policy.load", "policy", &version.to_string(), None, None, Some(serde_json::json!({"version": version, "sha256": sha, "effective_from": policy.program.effective_from})))).await?;
        tx.commit().await?;
        let row = haechi_store::get_policy_version(self.store.pool(), version)
            .await?
            .ok_or(ServiceError::NotFound)?;
        self.install_policy_row(&row)?;
        Ok(version)
    }

    /// Validates and stores a new policy version; it applies to every later decision.
    pub async fn load_policy(&self, actor: &Actor, text: &str) -> Result<i64> {
        authz::authorize(actor, Action::ManagePolicy)?;
        let version = self.store_policy(actor, text).await?;
        // Resource classes follow the policy: reclassify what an older version decided.
        self.reclassify(actor, None).await?;
        // Priorities follow the policy's decision table and SLAs.
        self.refresh_priorities(actor, None).await;
        Ok(version)
    }

    pub async fn policy_versions(
        &self,
        actor: &Actor,
    ) -> Result<Vec<haechi_store::PolicyVersionRow>> {
        authz::authorize(actor, Action::ReadPolicy)?;
        Ok(haechi_store::list_policy_versions(self.store.pool()).await?)
    }

    /// One stored version: its row and its TOML source.
    pub async fn policy_version(
        &self,
        actor: &Actor,
        version: i64,
    ) -> Result<(haechi_store::PolicyVersionRow, String)> {
        authz::authorize(actor, Action::ReadPolicy)?;
        let row = haechi_store::get_policy_version(self.store.pool(), version)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let text = row.source_toml.clone();
        Ok((row, text))
    }

    /// Sets (or clears) a fixed "now" for writing demo history.
    pub fn set_clock(&self, at: Option<NaiveDateTime>) {
        match self.clock.write() {
            Ok(mut g) => *g = at,
            Err(p) => *p.into_inner() = at,
        }
        // The rows the store stamps itself (created, assigned, issued, audited) follow it.
        self.store.set_clock(self.clock_text());
    }

    pub(crate) fn now(&self) -> NaiveDateTime {
        let fixed = match self.clock.read() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        };
        fixed.unwrap_or_else(|| Utc::now().naive_utc())
    }

    pub fn today(&self) -> NaiveDate {
        self.now().date()
    }

    /// The clock as stored text, when fixed (demo history); `None` means "now".
    pub(crate) fn clock_text(&self) -> Option<String> {
        let fixed = match self.clock.read() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        };
        fixed.map(|t| {
            t.and_utc()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        })
    }

    /// Verifies the audit hash chain from its newest checkpoint to the head (the whole chain
    /// when there is no checkpoint yet); see `haechi_store::audit`.
    pub async fn verify_audit(&self, actor: &Actor) -> Result<haechi_store::AuditVerification> {
        authz::authorize(actor, Action::ReadAudit)?;
        Ok(self.store.verify_audit_incremental().await?)
    }

    /// Verifies the whole audit hash chain, every entry from the first.
    pub async fn verify_audit_full(
        &self,
        actor: &Actor,
    ) -> Result<haechi_store::AuditVerification> {
        authz::authorize(actor, Action::ReadAudit)?;
        Ok(self.store.verify_audit().await?)
    }

    /// Verifies the chain (from the newest checkpoint, or whole with `full`) and, when it is
    /// intact and has grown since, appends a checkpoint entry vouching for the entry the check
    /// ended on, so the next check starts there. Returns the check and the checkpoint's entry.
    pub async fn checkpoint_audit(
        &self,
        actor: &Actor,
        full: bool,
    ) -> Result<(haechi_store::AuditVerification, Option<i64>)> {
        let v = if full {
            self.verify_audit_full(actor).await?
        } else {
            self.verify_audit(actor).await?
        };
        if !v.intact || v.entries == 0 {
            return Ok((v, None));
        }
        let mut tx = self.store.begin().await?;
        let rec = record(actor, "", "", "", None, None, None);
        let seq = tx.audit_checkpoint(rec, v.entries, &v.last_hash).await?;
        tx.commit().await?;
        Ok((v, seq))
    }

    pub async fn audit_log(
        &self,
        actor: &Actor,
        filter: &haechi_store::AuditFilter,
    ) -> Result<(Vec<haechi_store::AuditEntry>, i64)> {
        authz::authorize(actor, Action::ReadAudit)?;
        Ok(self.store.audit_entries(filter).await?)
    }

    /// Counts for the regulator dashboard.
    pub async fn dashboard(&self, actor: &Actor) -> Result<Dashboard> {
        authz::authorize(actor, Action::ReadProgram)?;
        let by_state = haechi_store::count_applications_by_state(self.store.pool()).await?;
        let eligible = haechi_store::latest_eligibility(self.store.pool(), None)
            .await?
            .iter()
            .filter(|e| e.eligible)
            .count();
        let institutions = haechi_store::all_institutions(self.store.pool())
            .await?
            .len();
        let cohorts = haechi_store::list_cohorts(self.store.pool()).await?;
        let policy = self.policy();
        let phases = policy
            .phases
            .iter()
            .map(|p| PhaseProgress {
                phase_id: p.id.clone(),
                label_ko: p.label_ko.clone(),
                label_en: p.label_en.clone(),
                start: p.start,
                end: p.end,
                min: p.min,
                max: p.max,
                confirmed_members: cohorts
                    .iter()
                    .find(|c| c.phase_id == p.id)
                    .map(|c| c.members.len()),
            })
            .collect();
        Ok(Dashboard {
            institutions,
            eligible,
            applications_by_state: by_state,
            phases,
            policy_version: policy.version,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub institutions: usize,
    pub eligible: usize,
    pub applications_by_state: Vec<(String, i64)>,
    pub phases: Vec<PhaseProgress>,
    pub policy_version: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseProgress {
    pub phase_id: String,
    pub label_ko: String,
    pub label_en: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub min: u32,
    pub max: Option<u32>,
    /// `None` until the officer confirms the cohort.
    pub confirmed_members: Option<usize>,
}

/// Builds an audit record for `actor`.
pub(crate) fn record(
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: &str,
    institution_id: Option<i64>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> AuditRecord {
    AuditRecord {
        actor_id: actor.user_id,
        actor_name: actor.username.clone(),
        actor_role: actor.role.as_str().to_string(),
        action: action.to_string(),
        entity: entity.to_string(),
        entity_id: entity_id.to_string(),
        institution_id,
        before,
        after,
    }
}

/// Serialises a value for the audit log; a value that cannot be serialised is recorded as null
/// rather than failing the use case.
pub(crate) fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}
