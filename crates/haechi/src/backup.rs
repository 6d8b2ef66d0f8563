//! `haechi backup`, `haechi restore` and the check `haechi migrate-db` runs after its copy: a
//! backup or copy is only worth having if it is known to hold everything, so each one is read
//! back and checked — SQLite's integrity check, the audit hash chain walked whole, every issued
//! letter's signature against the instance's published keys, and per-table row counts with a
//! content checksum.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use haechi_letter::{KeyRing, PublicKey};
use haechi_store::Store;

/// What reading a database back found.
pub struct Check {
    pub problems: Vec<String>,
    pub letters: usize,
    pub audit_entries: i64,
}

/// Integrity check, the whole audit chain, and every issued letter's signature.
pub async fn check_instance(store: &Store) -> anyhow::Result<Check> {
    let mut problems = Vec::new();
    if let Some(ok) = store.integrity_check().await? {
        if ok != "ok" {
            problems.push(format!("SQLite integrity check: {ok}"));
        }
    }
    let audit = store.verify_audit().await?;
    if let Some((seq, why)) = &audit.first_bad {
        problems.push(format!("audit log broken at entry {seq}: {why}"));
    }
    let mut ring = KeyRing::new();
    for (key_id, pem) in haechi_store::signing_keys(store.pool()).await? {
        match PublicKey::from_pem(&pem) {
            Ok(k) => ring.add(k),
            Err(e) => problems.push(format!("signing key {key_id} does not read: {e}")),
        }
    }
    let mut letters = 0;
    for l in haechi_store::list_letters(store.pool(), None).await? {
        let Some(file) = &l.signed_file else { continue };
        letters += 1;
        if let Err(e) = haechi_letter::verify(file.as_bytes(), &ring) {
            problems.push(format!(
                "letter {} does not verify: {e}",
                l.letter_number.as_deref().unwrap_or("(no number)")
            ));
        }
    }
    Ok(Check {
        problems,
        letters,
        audit_entries: audit.entries,
    })
}

fn report(what: &str, check: &Check) {
    println!(
        "{what}: audit chain of {} entries intact: {}; {} issued letters, signatures verified: {}",
        check.audit_entries,
        yes(!check.problems.iter().any(|p| p.starts_with("audit"))),
        check.letters,
        yes(!check.problems.iter().any(|p| p.starts_with("letter"))),
    );
    for p in &check.problems {
        eprintln!("{what}: PROBLEM: {p}");
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "NO"
    }
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// `haechi backup --to FILE`.
pub async fn backup(database_url: &str, to: &Path) -> anyhow::Result<ExitCode> {
    if !database_url.starts_with("sqlite:") {
        eprintln!(
            "haechi backup snapshots SQLite instances. For PostgreSQL use its own tool, which takes a consistent snapshot while Haechi runs:\n  \
             pg_dump --format=custom --file=haechi.dump '{}'\n\
             and restore into an empty database with\n  \
             pg_restore --no-owner --dbname=<new database> haechi.dump\n\
             then check the restored instance with `haechi --database-url <new database> audit verify --full`.",
            haechi_store::redact_url(database_url)
        );
        return Ok(ExitCode::FAILURE);
    }
    if to.exists() {
        bail!(
            "{} exists already; a backup never overwrites a file",
            to.display()
        );
    }
    let source = Store::connect(database_url)
        .await
        .with_context(|| format!("connecting to {}", haechi_store::redact_url(database_url)))?;
    let started = std::time::Instant::now();
    source
        .snapshot_into(&to.display().to_string())
        .await
        .context("writing the snapshot")?;
    source.close().await;
    let took = started.elapsed().as_secs_f64();
    // Read the snapshot back before calling it a backup.
    let copy = Store::connect(&sqlite_url(to)).await?;
    let check = check_instance(&copy).await?;
    let sums = copy.table_checksums().await?;
    copy.close().await;
    let size = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    println!(
        "backup written to {} ({size} bytes, {} rows in {} tables) in {took:.2} s",
        to.display(),
        sums.iter().map(|s| s.rows).sum::<i64>(),
        sums.len()
    );
    report("backup", &check);
    if check.problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

/// `haechi restore --from FILE --data-dir DIR`: the snapshot becomes `DIR/haechi.db` only after
/// it passed every check.
pub async fn restore(from: &Path, data_dir: &Path) -> anyhow::Result<ExitCode> {
    if !from.is_file() {
        bail!("{} is not a file", from.display());
    }
    let target = data_dir.join("haechi.db");
    if target.exists() {
        bail!(
            "{} exists already; restore into an empty data directory (move the old one aside first)",
            target.display()
        );
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let staging = data_dir.join("haechi.db.restoring");
    let _ = std::fs::remove_file(&staging);
    std::fs::copy(from, &staging)
        .with_context(|| format!("copying {} to {}", from.display(), staging.display()))?;
    let outcome = async {
        let store = Store::connect(&sqlite_url(&staging)).await?;
        // A snapshot taken by an older version gains the newer migrations here.
        store.migrate().await.context("running migrations")?;
        let check = check_instance(&store).await?;
        let sums = store.table_checksums().await?;
        store.close().await;
        anyhow::Ok((check, sums))
    }
    .await;
    let (check, sums) = match outcome {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&staging);
            return Err(e.context(format!(
                "{} is not a readable Haechi snapshot",
                from.display()
            )));
        }
    };
    report("restore", &check);
    if !check.problems.is_empty() {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", staging.display()));
        }
        eprintln!(
            "restore refused: nothing was written to {}",
            data_dir.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    // The last connection to close copies the log into the file and removes it; the store's
    // checkpointer closes its own connection just after the pool. Should a log remain, it moves
    // with the file (SQLite finds it by name).
    let wal = format!("{}-wal", staging.display());
    for _ in 0..30 {
        if !Path::new(&wal).exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = std::fs::remove_file(format!("{}-shm", staging.display()));
    if Path::new(&wal).exists() {
        std::fs::rename(&wal, format!("{}-wal", target.display()))
            .context("moving the restored file's log")?;
    }
    std::fs::rename(&staging, &target)
        .with_context(|| format!("moving the restored file to {}", target.display()))?;
    println!(
        "restored {} into {} ({} rows in {} tables)",
        from.display(),
        target.display(),
        sums.iter().map(|s| s.rows).sum::<i64>(),
        sums.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// After `migrate-db`: row counts and content checksums of every table, source against target.
pub async fn compare_copy(source: &Store, target: &Store) -> anyhow::Result<bool> {
    let a = source.table_checksums().await?;
    let b = target.table_checksums().await?;
    let mut same = a.len() == b.len();
    for (s, t) in a.iter().zip(&b) {
        let ok = s == t;
        same &= ok;
        if !ok {
            eprintln!(
                "{}: source {} rows (checksum {}), target {} rows (checksum {}): DIFFERENT",
                s.table,
                s.rows,
                &s.sha256[..12],
                t.rows,
                &t.sha256[..12]
            );
        }
    }
    println!(
        "row counts and content checksums of {} tables: {}",
        a.len(),
        if same {
            "identical on source and target"
        } else {
            "DIFFERENT"
        }
    );
    Ok(same)
}
