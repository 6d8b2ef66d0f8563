//! Findings imports are never left open by a dead process.
//!
//! An import is owned by the node (host, process, start nonce) that accepted it; while the import
//! is queued or running there, the node refreshes its heartbeat every quarter of the lease
//! ([`crate::ServiceConfig::import_lease`]). An import whose heartbeat is older than the lease
//! belongs to a node that died (killed, crashed, host lost): the next node to start, and every
//! running node's periodic sweep, marks it failed with the reason and records that in the audit
//! log. The failure is a conditional update (still open, heartbeat still old), so a live node's
//! import, whose heartbeat is fresh, is never failed by another node sharing the database, and an
//! import that finished meanwhile is left alone. Nothing of a dead import was stored: its findings
//! are written in one transaction that died with the process.
//!
//! On SQLite a running import holds the database's write lock; the heartbeat waits behind it, but
//! so does any sweep, which then finds the import finished.

use std::sync::Arc;
use std::time::Duration;

use haechi_core::Actor;

use crate::findings::LiveImports;
use crate::{record, Result, Service};

/// The error code of an import whose node stopped while it was open.
pub const ABANDONED: &str = "import_abandoned";

/// A name for this process among the nodes sharing a database: `host/pid/nonce`.
pub(crate) fn node_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    let nonce: u32 = rand::random();
    format!("{host}/{}/{nonce:08x}", std::process::id())
}

/// RFC 3339 UTC text (as stored) of `ago` before now.
fn before_now(ago: Duration) -> String {
    let ago = chrono::Duration::from_std(ago).unwrap_or(chrono::Duration::MAX);
    let at = chrono::Utc::now()
        .checked_sub_signed(ago)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// What the heartbeat and the sweep need of a service, so the keeper task does not keep the
/// whole service alive.
struct Keeper {
    store: haechi_store::Store,
    imports: Arc<LiveImports>,
    node: Arc<str>,
    lease: Duration,
}

impl Keeper {
    async fn refresh(&self) -> Result<u64> {
        let ids = self.imports.ids();
        Ok(haechi_store::touch_finding_imports(
            self.store.pool(),
            &self.node,
            &ids,
            &haechi_store::now_text(),
        )
        .await?)
    }

    async fn sweep(&self) -> Result<Vec<i64>> {
        let cutoff = before_now(self.lease);
        // A read first: the write lock is taken only when there is something to fail.
        let stale = haechi_store::stale_finding_imports(self.store.pool(), &cutoff).await?;
        // Imports open here are alive (their heartbeat is late only because the database was
        // busy, e.g. behind this node's own import on SQLite).
        let mine = self.imports.ids();
        let stale: Vec<_> = stale
            .into_iter()
            .filter(|s| !(s.node_id.as_deref() == Some(&*self.node) && mine.contains(&s.id)))
            .collect();
        if stale.is_empty() {
            return Ok(Vec::new());
        }
        let system = Actor::system();
        let mut failed = Vec::new();
        let mut tx = self.store.begin().await?;
        for s in &stale {
            let node = s.node_id.as_deref().unwrap_or("unknown");
            let message = format!(
                "the node that ran this import ({node}) stopped before it finished: no heartbeat since {}, over the {}-second lease; nothing of it was stored; upload the file again",
                s.last_seen,
                self.lease.as_secs()
            );
            if tx
                .fail_stale_finding_import(s.id, &cutoff, ABANDONED, &message)
                .await?
            {
                tx.audit(record(
                    &system,
                    "findings.import_abandoned",
                    "finding_import",
                    &s.id.to_string(),
                    Some(s.institution_id),
                    None,
                    Some(serde_json::json!({
                        "code": ABANDONED,
                        "message": message,
                        "node": s.node_id,
                        "last_heartbeat": s.last_seen,
                        "lease_seconds": self.lease.as_secs(),
                        "failed_by": &*self.node,
                    })),
                ))
                .await?;
                failed.push(s.id);
            }
        }
        tx.commit().await?;
        for id in &failed {
            tracing::warn!(
                import = id,
                "a findings import left open by a stopped node is marked failed"
            );
        }
        Ok(failed)
    }
}

impl Service {
    fn keeper(&self) -> Keeper {
        Keeper {
            store: self.store.clone(),
            imports: self.imports.clone(),
            node: self.node.clone(),
            lease: self.config.import_lease,
        }
    }

    /// This node's name, as recorded on the imports it accepts.
    pub fn node_name(&self) -> &str {
        &self.node
    }

    /// Refreshes the heartbeat of the imports open on this node; returns how many were touched.
    pub async fn refresh_import_heartbeats(&self) -> Result<u64> {
        self.keeper().refresh().await
    }

    /// Fails every open import whose heartbeat is older than the lease, each with its reason and
    /// an audit entry; returns their ids. Run when the service opens and by the keeper task.
    pub async fn fail_stale_imports(&self) -> Result<Vec<i64>> {
        self.keeper().sweep().await
    }

    /// Ends an import that this node accepted but can no longer run (its upload broke off): it
    /// is failed with `code` and `message`, audited, and no longer heartbeated. Best-effort.
    pub async fn abandon_findings_import(&self, actor: &Actor, id: i64, code: &str, message: &str) {
        self.imports.remove(id);
        let ended = async {
            let mut tx = self.store.begin().await?;
            let row = haechi_store::get_finding_import(tx.conn(), id).await?;
            // Any heartbeat counts as old: the import is open on this node and nobody runs it.
            let far = "9999-12-31T23:59:59.999999Z";
            if tx.fail_stale_finding_import(id, far, code, message).await? {
                tx.audit(record(
                    actor,
                    "findings.import_failed",
                    "finding_import",
                    &id.to_string(),
                    row.map(|r| r.institution_id),
                    None,
                    Some(serde_json::json!({"code": code, "message": message})),
                ))
                .await?;
            }
            tx.commit().await?;
            Ok::<(), crate::ServiceError>(())
        };
        if let Err(e) = ended.await {
            tracing::warn!(import = id, error = %e, "an interrupted import was not marked failed; the lease sweep will");
        }
    }

    /// Starts this node's import keeper: every quarter of the lease it refreshes the heartbeat
    /// of the imports open here and fails those of dead nodes. It ends when the store is closed
    /// or the service is dropped.
    pub(crate) fn spawn_import_keeper(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let tick = (self.config.import_lease / 4)
            .clamp(Duration::from_millis(200), Duration::from_secs(30));
        let store = self.store.clone();
        let imports = Arc::downgrade(&self.imports);
        let node = self.node.clone();
        let lease = self.config.import_lease;
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(tick).await;
                // Dropped with the last handle of the service.
                let Some(imports) = imports.upgrade() else {
                    break;
                };
                if store.pool().is_closed() {
                    break;
                }
                let keeper = Keeper {
                    store: store.clone(),
                    imports,
                    node: node.clone(),
                    lease,
                };
                if let Err(e) = keeper.refresh().await {
                    tracing::debug!(error = %e, "import heartbeat not written; retried next tick");
                }
                if let Err(e) = keeper.sweep().await {
                    tracing::debug!(error = %e, "abandoned imports not swept; retried next tick");
                }
            }
        });
    }
}
