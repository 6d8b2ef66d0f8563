//! `haechi migrate-db`: copies every table of one instance into another, empty one (typically
//! SQLite → PostgreSQL), in one transaction on the target, then moves the identity sequences.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Column, Row, TypeInfo, ValueRef};

use crate::migrate::{IDENTITY_TABLES, TABLES};
use crate::{Dialect, Result, Store, StoreError};

#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    pub tables: Vec<(String, i64)>,
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

impl Store {
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
