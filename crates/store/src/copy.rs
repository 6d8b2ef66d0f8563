//! `haechi migrate-db`: copies every table of one instance into another, empty one (typically
//! SQLite → PostgreSQL), in one transaction on the target, then moves the identity sequences;
//! and per-table row counts with a content checksum (the same on both databases for the same
//! rows), which `migrate-db` compares after the copy and `haechi backup`/`restore` print.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Column, Row, TypeInfo, ValueRef};

use crate::migrate::{IDENTITY_TABLES, TABLES};
use crate::{Dialect, Result, Store, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    pub tables: Vec<(String, i64)>,
}

/// One table's row count and content checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableChecksum {
    pub table: String,
    pub rows: i64,
    /// SHA-256 over the sorted SHA-256 digests of the rows (so the order the database returns
    /// them in does not matter), each over the row's cells with their kind (integer, float
    /// bits, text, bytes, NULL) and length.
    pub sha256: String,
}

enum Cell {
    /// A NULL, typed by its column: PostgreSQL refuses a text NULL in a BIGINT column.
    NullInt,
    NullFloat,
    NullBytes,
    NullText,
    Int(i64),
    Float(f64),
    Text(String),
    Bytes(Vec<u8>),
}

fn cells(row: &AnyRow) -> Result<Vec<Cell>> {
    let mut out = Vec::with_capacity(row.columns().len());
    for (i, col) in row.columns().iter().enumerate() {
        let ty = col.type_info().name().to_ascii_uppercase();
        let int = ty.contains("INT");
        let float = ty.contains("DOUBLE") || ty.contains("REAL") || ty.contains("FLOAT");
        let bytes = ty.contains("BLOB") || ty.contains("BYTEA") || ty.contains("BINARY");
        if row.try_get_raw(i)?.is_null() {
            out.push(match (int, float, bytes) {
                (true, _, _) => Cell::NullInt,
                (_, true, _) => Cell::NullFloat,
                (_, _, true) => Cell::NullBytes,
                _ => Cell::NullText,
            });
            continue;
        }
        let cell = if int {
            Cell::Int(row.try_get(i)?)
        } else if float {
            Cell::Float(row.try_get(i)?)
        } else if bytes {
            Cell::Bytes(row.try_get(i)?)
        } else {
            Cell::Text(row.try_get(i)?)
        };
        out.push(cell);
    }
    Ok(out)
}

fn row_digest(row: &AnyRow) -> Result<[u8; 32]> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for cell in cells(row)? {
        let (tag, bytes): (u8, Vec<u8>) = match cell {
            Cell::NullInt | Cell::NullFloat | Cell::NullBytes | Cell::NullText => (0, Vec::new()),
            Cell::Int(v) => (1, v.to_be_bytes().to_vec()),
            Cell::Float(v) => (2, v.to_bits().to_be_bytes().to_vec()),
            Cell::Text(v) => (3, v.into_bytes()),
            Cell::Bytes(v) => (4, v),
        };
        h.update([tag]);
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(&bytes);
    }
    Ok(h.finalize().into())
}

impl Store {
    /// Row count and content checksum of every table of the instance, in migration order.
    pub async fn table_checksums(&self) -> Result<Vec<TableChecksum>> {
        use sha2::{Digest, Sha256};
        let mut out = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let rows = sqlx::query(&format!("SELECT * FROM {table}"))
                .fetch_all(self.pool())
                .await?;
            let mut digests = rows.iter().map(row_digest).collect::<Result<Vec<_>>>()?;
            digests.sort_unstable();
            let mut h = Sha256::new();
            for d in &digests {
                h.update(d);
            }
            out.push(TableChecksum {
                table: table.to_string(),
                rows: digests.len() as i64,
                sha256: hex::encode(h.finalize()),
            });
        }
        Ok(out)
    }

    /// Copies all data of `self` into `target`, which must be migrated and hold no data.
    pub async fn copy_into(&self, target: &Store) -> Result<CopyReport> {
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM institutions")
            .fetch_one(target.pool())
            .await?;
        let audit: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
            .fetch_one(target.pool())
            .await?;
        if existing > 0 || audit > 0 {
            return Err(StoreError::Config("the target database already holds data; migrate-db copies into an empty instance only".into()));
        }
        let mut tx = target.pool().begin().await?;
        sqlx::query("DELETE FROM audit_head")
            .execute(&mut *tx)
            .await?;
        let mut report = CopyReport { tables: Vec::new() };
        for table in TABLES {
            let rows = sqlx::query(&format!("SELECT * FROM {table} ORDER BY 1"))
                .fetch_all(self.pool())
                .await?;
            let Some(first) = rows.first() else {
                report.tables.push((table.to_string(), 0));
                continue;
            };
            let cols: Vec<String> = first
                .columns()
                .iter()
                .map(|c| c.name().to_string())
                .collect();
            let placeholders: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                cols.join(", "),
                placeholders.join(", ")
            );
            for row in &rows {
                let mut q = sqlx::query(&sql);
                for cell in cells(row)? {
                    q = match cell {
                        Cell::NullInt => q.bind(Option::<i64>::None),
                        Cell::NullFloat => q.bind(Option::<f64>::None),
                        Cell::NullBytes => q.bind(Option::<Vec<u8>>::None),
                        Cell::NullText => q.bind(Option::<String>::None),
                        Cell::Int(v) => q.bind(v),
                        Cell::Float(v) => q.bind(v),
                        Cell::Text(v) => q.bind(v),
                        Cell::Bytes(v) => q.bind(v),
                    };
                }
                q.execute(&mut *tx).await?;
            }
            report.tables.push((table.to_string(), rows.len() as i64));
        }
        if target.dialect() == Dialect::Postgres {
            for table in IDENTITY_TABLES {
                sqlx::raw_sql(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                ))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(report)
    }
}

impl Store {
    /// Writes a consistent snapshot of a SQLite instance to `path` (`VACUUM INTO`: one read
    /// transaction, so writers carry on and the copy holds every committed transaction up to its
    /// start, whole). Refused on PostgreSQL, whose own tool (`pg_dump`) does this.
    pub async fn snapshot_into(&self, path: &str) -> Result<()> {
        if self.dialect() != Dialect::Sqlite {
            return Err(StoreError::Config(
                "snapshots are for SQLite; use pg_dump for PostgreSQL".into(),
            ));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// SQLite's `PRAGMA integrity_check` ("ok" when the file is sound); `None` on PostgreSQL.
    pub async fn integrity_check(&self) -> Result<Option<String>> {
        if self.dialect() != Dialect::Sqlite {
            return Ok(None);
        }
        let lines: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(self.pool())
            .await?;
        Ok(Some(lines.join("; ")))
    }
}
