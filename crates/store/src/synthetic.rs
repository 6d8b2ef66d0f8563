//! Synthetic findings for the benchmarks (`haechi bench insight`): an institution's findings of
//! one year written in bulk with `INSERT … SELECT` over a generated sequence, straight into the
//! tables the intake and prioritisation fill — findings of four tools (two of them AI models)
//! with severity, CWE and status, their priorities and SLA due dates, the status changes of the
//! fixed ones (so time to remediate and SLA compliance have something to measure), the imports
//! they came from and patch records linked to some of the fixed findings.
//!
//! Every value is a function of the finding's sequence number, so two runs of the same size
//! write the same data. Nothing outside the benchmarks calls this: it bypasses the intake's
//! checks and the audit log on purpose, to fill ten million findings in minutes.

use sqlx::Row;

use crate::{Dialect, Result, Store};

/// 2025-01-01T00:00:00Z: the synthetic year starts here.
pub const SYNTHETIC_YEAR_START: i64 = 1_735_689_600;

/// Rows written for one institution.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyntheticCounts {
    pub findings: i64,
    pub status_changes: i64,
    pub patch_records: i64,
}

/// The tools: (name, AI model, model version, origin).
const TOOLS: [(&str, Option<&str>, Option<&str>, &str); 4] = [
    (
        "HaechiSynth AI Pentest",
        Some("sec-llm"),
        Some("2.1"),
        "ai_generated",
    ),
    (
        "AI Code Reviewer",
        Some("code-guard"),
        Some("1.4"),
        "ai_generated",
    ),
    ("Semgrep", None, None, "conventional"),
    ("OWASP ZAP", None, None, "conventional"),
];

/// The CWEs the findings carry, one each.
const CWES: [i64; 20] = [
    79, 89, 22, 78, 352, 434, 862, 863, 287, 798, 502, 918, 94, 20, 200, 306, 601, 611, 77, 327,
];

/// Findings written per statement.
const CHUNK: i64 = 250_000;

/// RFC 3339 UTC text (seconds) of a Unix time expression.
fn ts(d: Dialect, secs: &str) -> String {
    match d {
        Dialect::Sqlite => format!("strftime('%Y-%m-%dT%H:%M:%SZ', {secs}, 'unixepoch')"),
        Dialect::Postgres => format!(
            "to_char(to_timestamp({secs}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
        ),
    }
}

/// A 16-byte key unique per sequence number (the fingerprint and content hash).
fn key16(d: Dialect, n: &str) -> String {
    match d {
        Dialect::Sqlite => format!("CAST(printf('%016d', {n}) AS BLOB)"),
        Dialect::Postgres => format!("decode(lpad(CAST({n} AS TEXT), 32, '0'), 'hex')"),
    }
}

/// The generated sequence `$2 <= n < $3` with every derived value of finding `n`: tool `t`,
/// severity bucket `sv`, CWE `cwe`, status bucket `st`, priority `pr` and its SLA days `sla`,
/// remediation share `du` (‰ of 1.6 × SLA), creation time `c` (Unix seconds in the year) and
/// the hash `h` the others come from.
fn sequence() -> String {
    let cwe = CWES
        .iter()
        .enumerate()
        .map(|(i, c)| format!("WHEN {i} THEN {c}"))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "WITH RECURSIVE s(n) AS (SELECT CAST($2 AS BIGINT) UNION ALL SELECT n + 1 FROM s WHERE n + 1 < $3), \
         hh AS (SELECT n, (n * 2654435761) % 4294967296 AS h FROM s), \
         x AS (SELECT n, h, n % 4 AS t, (h / 7) % 20 AS sv, (h / 131) % 20 AS cw, (h / 1009) % 100 AS st, (h / 65537) % 1000 AS du, h % 3 AS sp, \
               {SYNTHETIC_YEAR_START} + h % 31536000 AS c FROM hh), \
         y AS (SELECT x.*, CASE WHEN sv < 2 THEN (CASE WHEN sp = 0 THEN 2 ELSE 1 END) WHEN sv < 7 THEN (CASE WHEN sp = 0 THEN 3 ELSE 2 END) \
               WHEN sv < 15 THEN (CASE WHEN sp = 0 THEN 4 ELSE 3 END) ELSE (CASE WHEN sp = 0 THEN 5 ELSE 4 END) END AS pr, \
               CASE cw {cwe} END AS cwe FROM x), \
         z AS (SELECT y.*, CASE pr WHEN 1 THEN 3 WHEN 2 THEN 7 WHEN 3 THEN 30 WHEN 4 THEN 90 ELSE 180 END AS sla FROM y) "
    )
}

const SEVERITY: &str = "CASE WHEN sv < 2 THEN 'critical' WHEN sv < 7 THEN 'high' WHEN sv < 15 THEN 'medium' ELSE 'low' END";
const STATUS: &str = "CASE WHEN st < 40 THEN 'fixed' WHEN st < 45 THEN 'verified' WHEN st < 85 THEN 'open' WHEN st < 92 THEN 'in_progress' WHEN st < 97 THEN 'risk_accepted' ELSE 'false_positive' END";

fn text_or_null(v: Option<&str>) -> String {
    v.map(|s| format!("'{s}'")).unwrap_or_else(|| "NULL".into())
}

/// Secondary indexes of the tables the generator fills, dropped while it writes and built again
/// afterwards (`CREATE INDEX` over ten million rows sorts once instead of inserting into a dozen
/// b-trees per row). The fingerprint index stays: the generator joins on it.
#[derive(Debug, Clone, Default)]
pub struct SyntheticIndexes(Vec<String>);

const FILLED_TABLES: &str =
    "'findings', 'finding_priorities', 'finding_status_changes', 'patch_record_findings'";

impl Store {
    /// Drops the secondary indexes of the generated tables (for the benchmarks only); give the
    /// result to [`Store::restore_synthetic_indexes`] once the data are written.
    pub async fn drop_synthetic_indexes(&self) -> Result<SyntheticIndexes> {
        let sql = match self.dialect {
            Dialect::Sqlite => format!(
                "SELECT name, sql AS def FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({FILLED_TABLES}) AND name <> 'findings_fingerprint' ORDER BY name"
            ),
            Dialect::Postgres => format!(
                "SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ({FILLED_TABLES}) \
                 AND indexname <> 'findings_fingerprint' AND indexname NOT LIKE '%_pkey' ORDER BY indexname"
            ),
        };
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        let mut defs = Vec::new();
        for r in &rows {
            let name: String = r.try_get("name")?;
            defs.push(r.try_get::<String, _>("def")?);
            sqlx::query(&format!("DROP INDEX {name}"))
                .execute(&self.pool)
                .await?;
        }
        Ok(SyntheticIndexes(defs))
    }

    /// Builds the indexes [`Store::drop_synthetic_indexes`] dropped.
    pub async fn restore_synthetic_indexes(&self, indexes: SyntheticIndexes) -> Result<()> {
        for def in indexes.0 {
            sqlx::query(&def).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Writes `n` synthetic findings of one year (from [`SYNTHETIC_YEAR_START`]) for an
    /// institution, with everything a report is compiled from. For the benchmarks only.
    pub async fn fill_synthetic_findings(
        &self,
        institution_id: i64,
        n: i64,
    ) -> Result<SyntheticCounts> {
        let d = self.dialect;
        // One import per tool and month.
        let mut first_import = Vec::new();
        {
            let mut tx = self.begin_bulk(256).await?;
            for (tool, model, model_version, _) in TOOLS {
                let mut first = None;
                for month in 0..12 {
                    let at = chrono::DateTime::from_timestamp(
                        SYNTHETIC_YEAR_START + month * 2_628_000 + 86_400,
                        0,
                    )
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                    let id: i64 = sqlx::query(
                        "INSERT INTO finding_imports (institution_id, state, close_missing, file_name, uploaded_by, uploaded_at, finished_at, tool_name, tool_version, ai_model, ai_model_version, bytes_read, results_processed) \
                         VALUES ($1, 'succeeded', 0, 'synthetic.sarif.gz', 'bench', $2, $2, $3, '1.0', $4, $5, $6, $7) RETURNING id",
                    )
                    .bind(institution_id)
                    .bind(&at)
                    .bind(tool)
                    .bind(model)
                    .bind(model_version)
                    .bind(n * 300 / 48)
                    .bind(n / 48)
                    .fetch_one(tx.conn())
                    .await?
                    .try_get("id")?;
                    first.get_or_insert(id);
                }
                first_import.push(first.unwrap_or(0));
            }
            tx.commit().await?;
        }
        let case_tool = |f: &dyn Fn(usize) -> String| {
            let arms: String = (0..TOOLS.len())
                .map(|i| format!(" WHEN {i} THEN {}", f(i)))
                .collect();
            format!("CASE t{arms} END")
        };
        let tool = case_tool(&|i| format!("'{}'", TOOLS[i].0));
        let model = case_tool(&|i| text_or_null(TOOLS[i].1));
        let model_version = case_tool(&|i| text_or_null(TOOLS[i].2));
        let origin = case_tool(&|i| format!("'{}'", TOOLS[i].3));
        let import = case_tool(&|i| first_import[i].to_string());
        let seq = sequence();
        let key = key16(d, "n");
        let join = format!(
            "FROM z JOIN findings f ON f.institution_id = $1 AND f.fingerprint = {}",
            key16(d, "z.n")
        );
        let created = ts(d, "c");
        let findings_sql = format!(
            "{seq}INSERT INTO findings (institution_id, fingerprint, tool_name, ai_model, ai_model_version, ai_origin, rule_id, level, severity, severity_rank, cwes, cves, message, location, content_hash, status, first_seen_import_id, last_changed_import_id, seen_since_import_id, created_at, updated_at) \
             SELECT $1, {key}, {tool}, {model}, {model_version}, {origin}, 'rule-' || CAST(cwe AS TEXT), \
             CASE WHEN sv < 7 THEN 'error' WHEN sv < 15 THEN 'warning' ELSE 'note' END, {SEVERITY}, \
             CASE WHEN sv < 2 THEN 4 WHEN sv < 7 THEN 3 WHEN sv < 15 THEN 2 ELSE 1 END, ',' || CAST(cwe AS TEXT) || ',', ',', \
             'Synthetic finding ' || CAST(n AS TEXT), 'src/app/module' || CAST(n % 500 AS TEXT) || '.java', {key}, {STATUS}, {import}, {import}, {import}, {created}, {created} FROM z"
        );
        let priorities_sql = format!(
            "{seq}INSERT INTO finding_priorities (finding_id, institution_id, status, cves, resource_id, severity, created_on, priority, due_date, digest, decided_at, weakness) \
             SELECT f.id, $1, f.status, ',', NULL, f.severity, substr(f.created_at, 1, 10), 'P' || CAST(pr AS TEXT), substr({}, 1, 10), 1, f.created_at, f.cwes {join}",
            ts(d, "c + sla * 86400")
        );
        let cwes_sql = format!(
            "{seq}INSERT INTO finding_cwes (institution_id, cwe, finding_id) SELECT $1, cwe, f.id {join}"
        );
        let changes_sql = format!(
            "{seq}INSERT INTO finding_status_changes (finding_id, institution_id, from_status, to_status, changed_at) \
             SELECT f.id, $1, 'open', f.status, {} {join} WHERE z.st < 45",
            ts(d, "c + 3600 + (sla * 86400 * du * 16) / 10000")
        );
        let mut counts = SyntheticCounts::default();
        let mut lo = 0;
        while lo < n {
            let hi = (lo + CHUNK).min(n);
            let mut tx = self.begin_bulk(256).await?;
            for (i, sql) in [&findings_sql, &priorities_sql, &cwes_sql, &changes_sql]
                .into_iter()
                .enumerate()
            {
                let rows = sqlx::query(sql)
                    .bind(institution_id)
                    .bind(lo)
                    .bind(hi)
                    .execute(tx.conn())
                    .await?
                    .rows_affected() as i64;
                match i {
                    0 => counts.findings += rows,
                    3 => counts.status_changes += rows,
                    _ => {}
                }
            }
            tx.commit().await?;
            lo = hi;
        }
        // Patch records through the year, one per ~500 fixed findings, with safeguards that
        // vary; one fixed finding in twenty is linked to one of them.
        let records = (counts.status_changes / 500).max(1);
        let mut tx = self.begin_bulk(256).await?;
        sqlx::query(&format!(
            "WITH RECURSIVE s(n) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT n + 1 FROM s WHERE n + 1 < $2) \
             INSERT INTO patch_records (institution_id, resource_id, applied, applied_at, applied_by, pre_testing_done, rollback_ready, kill_switch_ready, isolation_ready, continuity_plan, customers_notified_in_advance, notes, recorded_by, created_at) \
             SELECT $1, NULL, 'synthetic patch ' || CAST(n AS TEXT), {at}, 'bench', CASE WHEN n % 10 < 9 THEN 1 ELSE 0 END, CASE WHEN n % 5 < 4 THEN 1 ELSE 0 END, \
             CASE WHEN n % 3 = 0 THEN 1 ELSE 0 END, CASE WHEN n % 4 = 0 THEN 1 ELSE 0 END, CASE WHEN n % 2 = 0 THEN 1 ELSE 0 END, CASE WHEN n % 7 = 0 THEN 1 ELSE 0 END, NULL, 'bench', {at} FROM s",
            at = ts(d, &format!("{SYNTHETIC_YEAR_START} + (n * 31536000) / $2 + 43200"))
        ))
        .bind(institution_id)
        .bind(records)
        .execute(tx.conn())
        .await?;
        let r = sqlx::query(
            "SELECT MIN(id) AS lo, MAX(id) AS hi, COUNT(*) AS n FROM patch_records WHERE institution_id = $1 AND applied_by = 'bench'",
        )
        .bind(institution_id)
        .fetch_one(tx.conn())
        .await?;
        let (first, last, count): (Option<i64>, Option<i64>, i64) =
            (r.try_get("lo")?, r.try_get("hi")?, r.try_get("n")?);
        counts.patch_records = count;
        // Links only when the ids are contiguous (they are on a fresh database).
        if let (Some(first), Some(last)) = (first, last) {
            if last - first + 1 == count {
                let mut lo = 0;
                while lo < n {
                    let hi = (lo + CHUNK).min(n);
                    sqlx::query(&format!(
                        "{seq}INSERT INTO patch_record_findings (patch_id, finding_id) SELECT {first} + z.n % {count}, f.id {join} WHERE z.st < 45 AND z.h % 20 = 0"
                    ))
                    .bind(institution_id)
                    .bind(lo)
                    .bind(hi)
                    .execute(tx.conn())
                    .await?;
                    lo = hi;
                }
            }
        }
        tx.commit().await?;
        Ok(counts)
    }
}
