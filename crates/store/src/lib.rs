//! Storage of Haechi on SQLite (embedded, the demo and single-node default) and PostgreSQL
//! (multi-node production), through one SQL implementation over sqlx's `Any` driver.
//!
//! Only this crate knows SQL. The backend is chosen once, from the database URL, in
//! [`Store::connect`]. Every mutating use case runs in one [`WriteTx`], which takes the
//! database-wide write lock first (so reads inside it are current on both backends) and appends
//! the hash-chained audit entry in the same transaction as the change it records.

mod accounts;
mod advisory;
mod audit;
mod bodies;
mod clusters;
mod copy;
mod feeds;
mod findings;
mod findings_list;
mod findings_views;
mod guidelines;
mod immunity;
mod import_leases;
mod letters;
mod migrate;
mod patching;
mod patching_views;
mod program;
mod regulator_views;
mod removal;
mod report_source;
mod reports;
mod response_team;
mod rows;
mod sharing;
mod support;
mod synthetic;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Connection, Executor};
use tokio::sync::Notify;

pub use accounts::*;
pub use advisory::*;
pub use audit::{
    AuditCheckpoint, AuditEntry, AuditFilter, AuditRecord, AuditVerification, CHECKPOINT_ACTION,
};
pub use bodies::*;
pub use clusters::*;
pub use copy::{CopyReport, TableChecksum};
pub use feeds::*;
pub use findings::*;
pub use findings_list::*;
pub use findings_views::*;
pub use guidelines::*;
pub use immunity::*;
pub use import_leases::*;
pub use letters::*;
pub use patching::*;
pub use patching_views::*;
pub use program::*;
pub use regulator_views::*;
pub use removal::*;
pub use report_source::*;
pub use reports::*;
pub use response_team::*;
pub use sharing::*;
pub use support::*;
pub use synthetic::{SyntheticCounts, SyntheticIndexes, SYNTHETIC_YEAR_START};

/// Which SQL dialect the URL selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn from_url(url: &str) -> Result<Dialect, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Dialect::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL '{}': use sqlite://FILE or postgres://…",
                redact_url(url)
            )))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists: {0}")]
    Duplicate(String),
    #[error("database configuration: {0}")]
    Config(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

impl StoreError {
    /// Maps a unique-constraint violation to [`StoreError::Duplicate`], leaving others as they are.
    pub(crate) fn from_write(e: sqlx::Error, what: &str) -> StoreError {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::Duplicate(what.to_string());
            }
        }
        StoreError::Db(e)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Hides the password of a database URL for logs and errors.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}://{}:***{}",
                    &url[..scheme_end],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where bulk work connects (see [`Store::begin_bulk`]): on SQLite a pool of its own whose
    /// connections are opened from a thread of lowered priority; on PostgreSQL `pool` again.
    bulk: AnyPool,
    dialect: Dialect,
    /// SQLite: wakes the background checkpointer after a commit.
    checkpoint: Option<Arc<Notify>>,
    /// The time write transactions stamp their rows with, when fixed (the service's clock while
    /// the demo writes its history); `None` means "now".
    clock: Arc<std::sync::RwLock<Option<String>>>,
}

/// How long the SQLite checkpointer waits for a commit before it checkpoints anyway (writes made
/// outside a [`WriteTx`], such as session updates, only wake it this way).
const CHECKPOINT_IDLE: Duration = Duration::from_secs(30);

/// SQLite's checkpoints, moved out of the commits. With the automatic checkpoint a commit that
/// pushed the write-ahead log past 1,000 pages also copied the whole log into the database file
/// and synced it before returning: a fifth of a large import's time. Here every connection has
/// `wal_autocheckpoint = 0`, and one task runs a PASSIVE checkpoint (it never blocks readers or
/// the writer) after each [`WriteTx::commit`] and at least every [`CHECKPOINT_IDLE`], on the
/// other core while the next request runs. Durability is unchanged: with `synchronous = NORMAL`
/// a commit was never synced before its checkpoint. The task ends when the pool is closed or the
/// last handle of the store is dropped.
///
/// It checkpoints on a connection of its own, not the pool's: it never takes a connection a
/// request waits for, and copying a large import's log back (seconds for a gigabyte of SARIF) is
/// routine, not a slow statement to warn about.
fn spawn_checkpointer(pool: AnyPool, url: String) -> Arc<Notify> {
    let wake = Arc::new(Notify::new());
    let notified = wake.clone();
    tokio::spawn(async move {
        let mut conn: Option<AnyConnection> = None;
        loop {
            // A timeout is the idle tick, not an error.
            let _ = tokio::time::timeout(CHECKPOINT_IDLE, notified.notified()).await;
            // Closed, or every store handle dropped (only this task holds the signal).
            if pool.is_closed() || Arc::strong_count(&notified) == 1 {
                break;
            }
            if let Err(e) = checkpoint(&mut conn, &url).await {
                // Opened again for the next one.
                conn = None;
                if pool.is_closed() {
                    break;
                }
                tracing::warn!(error = %e, "SQLite checkpoint failed; the next commit retries");
            }
        }
        if let Some(c) = conn {
            // The database is being closed; a failure to close cleanly changes nothing.
            let _ = c.close().await;
        }
    });
    wake
}

/// One PASSIVE checkpoint on the checkpointer's connection, opened when missing.
async fn checkpoint(conn: &mut Option<AnyConnection>, url: &str) -> Result<()> {
    let c = match conn {
        Some(c) => c,
        None => {
            let options = AnyConnectOptions::from_str(url)?.disable_statement_logging();
            conn.insert(AnyConnection::connect_with(&options).await?)
        }
    };
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .execute(c)
        .await?;
    Ok(())
}

impl Store {
    /// Connects to the database named by `url`. A SQLite file is created when missing.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::from_url(url)?;
        let (url, max) = match dialect {
            Dialect::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                (format!("{url}{sep}mode=rwc"), 8)
            }
            Dialect::Sqlite => (url.to_string(), 8),
            Dialect::Postgres => (url.to_string(), 16),
        };
        let options = || {
            AnyPoolOptions::new().after_connect(move |conn: &mut AnyConnection, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // WAL lets readers run beside the one writer; the busy timeout makes a
                        // second writer wait for the lock instead of failing. Temporary tables
                        // (the prioritisation's staging table) and sort b-trees stay in memory.
                        // 16 KiB pages (set before the first table; an existing file keeps its own):
                        // a bulk import of wide finding rows into a dozen indexes splits and
                        // writes fewer pages (measured: 100k findings imported ~20% faster, list
                        // queries unchanged). No checkpoint inside a commit: the store's
                        // checkpointer copies the log back in the background (see `spawn_checkpointer`).
                        conn.execute("PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0;")
                            .await?;
                    }
                    Ok(())
                })
            })
        };
        let pool = options().max_connections(max).connect(&url).await?;
        // Opened on demand only (lazily), so that every connection of it is opened by
        // `begin_bulk`'s lowered-priority thread. An in-memory database exists once per
        // connection pool, and PostgreSQL runs the work in its server: both share `pool`.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let bulk = match dialect {
            Dialect::Sqlite if !in_memory => options().max_connections(2).connect_lazy(&url)?,
            _ => pool.clone(),
        };
        let checkpoint =
            (dialect == Dialect::Sqlite).then(|| spawn_checkpointer(pool.clone(), url));
        Ok(Store {
            pool,
            bulk,
            dialect,
            checkpoint,
            clock: Arc::default(),
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Connections open for bulk work (see [`Store::begin_bulk`]; on PostgreSQL, the pool's).
    pub fn bulk_connections(&self) -> u32 {
        self.bulk.size()
    }

    /// Refreshes the query planner's statistics of the findings tables (PostgreSQL; SQLite's
    /// planner needs none for these indexes).
    pub async fn refresh_statistics(&self) -> Result<()> {
        if self.dialect == Dialect::Postgres {
            sqlx::raw_sql("ANALYZE findings; ANALYZE finding_cwes")
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Runs the pending migrations; returns the versions applied now.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        migrate::run(&self.pool, self.dialect).await
    }

    /// Answers whether the database is reachable (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Starts a write transaction holding the database-wide write lock.
    pub async fn begin(&self) -> Result<WriteTx> {
        let tx = self.pool.begin().await?;
        self.locked(tx).await
    }

    /// Starts a write transaction for bulk work (an import, a recompute): as [`Store::begin`],
    /// on a connection with a page cache of `cache_mb` (SQLite; its default is 2 MB) that is
    /// closed when the transaction ends instead of going back to the pool. Bulk statements carry
    /// the work's constants (institution, import, time) and hold up to a few megabytes each in
    /// the connection's statement cache (on PostgreSQL, on the server); the driver's `Any`
    /// connection cannot drop them, so a pooled connection would keep a hundred of them after
    /// as many imports. Closing it frees them and the page cache.
    ///
    /// Bulk work yields the processor to requests: on SQLite the statements run on the
    /// connection's own thread, which is opened from a thread of lowered priority and inherits
    /// it (Linux), so while an import writes, pages and API calls on the same cores still answer
    /// promptly (`haechi bench serve` saw their latency rise to seconds during a soak without it).
    pub async fn begin_bulk(&self, cache_mb: u32) -> Result<WriteTx> {
        let mut conn = match self.dialect {
            Dialect::Sqlite => open_in_background(&self.bulk).await?,
            Dialect::Postgres => self.bulk.acquire().await?,
        };
        conn.close_on_drop();
        let tx = sqlx::Transaction::begin(conn, None).await?;
        let mut tx = self.locked(tx).await?;
        if self.dialect == Dialect::Sqlite {
            sqlx::query(&format!(
                "PRAGMA cache_size = -{}",
                u64::from(cache_mb) * 1024
            ))
            .execute(tx.conn())
            .await?;
        }
        Ok(tx)
    }

    /// Takes the write lock as the first statement of `tx`: every later read in the transaction
    /// then sees the latest committed state (SQLite), and writers across nodes are serialised
    /// (PostgreSQL row lock), which the audit hash chain needs.
    async fn locked(&self, mut tx: sqlx::Transaction<'static, Any>) -> Result<WriteTx> {
        sqlx::query("UPDATE audit_head SET seq = seq WHERE singleton = 1")
            .execute(&mut *tx)
            .await?;
        let now = match self.clock.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        Ok(WriteTx {
            tx,
            checkpoint: self.checkpoint.clone(),
            now,
        })
    }

    /// Fixes the time that write transactions begun from now on stamp their rows with (stored
    /// text, RFC 3339 UTC), or back to "now" with `None`. The service sets it with its clock.
    pub fn set_clock(&self, at: Option<String>) {
        match self.clock.write() {
            Ok(mut g) => *g = at,
            Err(p) => *p.into_inner() = at,
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.bulk.close().await;
        // The checkpointer sees the closed pool and closes its own connection.
        if let Some(wake) = &self.checkpoint {
            wake.notify_one();
        }
    }
}

/// The nice value of the threads bulk work runs on: the scheduler then gives request threads
/// (nice 0) about nine tenths of a contended core.
const BULK_NICE: i32 = 10;

/// A new connection of `pool`, opened from a thread whose priority is lowered first. SQLite runs
/// a connection's statements on a thread the driver starts when it opens the connection; the
/// new thread inherits the opener's nice value. Where the priority cannot be lowered, the
/// connection is opened all the same.
async fn open_in_background(pool: &AnyPool) -> Result<sqlx::pool::PoolConnection<Any>> {
    let pool = pool.clone();
    let runtime = tokio::runtime::Handle::current();
    let (send, receive) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("haechi-bulk-open".into())
        .spawn(move || {
            lower_thread_priority();
            let _ = send.send(runtime.block_on(pool.acquire()));
        })
        .map_err(sqlx::Error::Io)?;
    // The thread ends only after it has sent; a closed channel means it panicked.
    let conn = receive.await.map_err(|_| sqlx::Error::WorkerCrashed)??;
    Ok(conn)
}

#[cfg(target_os = "linux")]
fn lower_thread_priority() {
    // On Linux the nice value belongs to the thread, and threads it starts inherit it.
    let tid = rustix::thread::gettid();
    if let Err(e) = rustix::process::setpriority_process(Some(tid), BULK_NICE) {
        tracing::debug!(error = %e, "could not lower the priority of bulk work");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_thread_priority() {
    let _ = BULK_NICE;
}

/// One mutating use case's transaction. Dropping it without [`WriteTx::commit`] rolls back.
pub struct WriteTx {
    tx: sqlx::Transaction<'static, Any>,
    checkpoint: Option<Arc<Notify>>,
    /// The store's fixed clock when the transaction began.
    now: Option<String>,
}

impl WriteTx {
    /// The time this transaction stamps its rows with: the store's fixed clock, else now.
    pub fn now_text(&self) -> String {
        self.now.clone().unwrap_or_else(now_text)
    }

    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        if let Some(wake) = &self.checkpoint {
            wake.notify_one();
        }
        Ok(())
    }
}

/// The current time as stored: RFC 3339, UTC, microseconds.
pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced_in_urls() {
        for (url, expect) in [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/x",
            ),
            (
                "postgres://u:p@h/db?sslmode=disable",
                "postgres://u:p@h/x?sslmode=disable",
            ),
            ("postgres://h:5432", "postgres://h:5432/x"),
        ] {
            assert_eq!(with_database(url, "x"), expect);
        }
    }

    /// `.cargo/config.toml` builds the bundled SQLite without memory statistics (a global mutex
    /// on every allocation); a build that ignored it would be slower without failing anything
    /// else.
    #[tokio::test]
    async fn sqlite_is_built_without_memory_statistics() {
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect("sqlite::memory:").await.unwrap();
        let options: Vec<String> =
            sqlx::query_scalar("SELECT compile_options FROM pragma_compile_options")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
    }

    #[test]
    fn redacts_password() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }
}
