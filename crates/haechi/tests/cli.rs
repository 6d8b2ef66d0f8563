//! The `haechi` binary as an operator runs it: each test starts the real executable on a data
//! directory of its own (SQLite) and checks exit status, stdout and stderr. `migrate-db` also
//! needs PostgreSQL: a fresh database on the server at `HAECHI_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped afterwards; `HAECHI_TEST_POSTGRES=skip`
//! skips it and says so.

// As clippy.toml says for tests: a panic here is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use haechi_core::Role;
use haechi_service::{Service, ServiceConfig};
use haechi_store::{with_database, Store};
use sqlx::{Connection, Executor};

// ---------------------------------------------------------------- running the binary

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }

    fn expect_ok(self, what: &str) -> Run {
        assert!(
            self.ok(),
            "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    fn expect_failure(self, what: &str) -> Run {
        assert!(
            self.code.is_some_and(|c| c != 0),
            "{what}: expected a non-zero exit, got {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Runs `haechi ARGS` on `data_dir` with a clean `HAECHI_*` environment plus `env`.
fn haechi(data_dir: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_haechi"));
    for (k, _) in std::env::vars() {
        if k.starts_with("HAECHI_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("RUST_LOG", "warn").env("RUST_BACKTRACE", "0");
    if let Some(dir) = data_dir {
        cmd.arg("--data-dir").arg(dir);
    }
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run haechi");
    Run {
        code: status.code(),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}/haechi.db", data_dir.display())
}

/// Opens the data directory's SQLite database the way the binary does.
async fn open(data_dir: &Path) -> (Store, Service) {
    let store = Store::connect(&sqlite_url(data_dir)).await.unwrap();
    store.migrate().await.unwrap();
    let svc = Service::open(store.clone(), ServiceConfig::default())
        .await
        .unwrap();
    (store, svc)
}

/// A data directory holding the demo instance (the binary has no seed-only command).
fn seeded_data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let (store, svc) = open(dir.path()).await;
        let summary = haechi_service::demo::seed(&svc)
            .await
            .expect("seed the demo");
        assert_eq!(summary.eligible, 49);
        store.close().await;
    });
    dir
}

fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}

// ---------------------------------------------------------------- PostgreSQL

fn postgres_admin_url() -> Option<String> {
    if std::env::var("HAECHI_TEST_POSTGRES").as_deref() == Ok("skip") {
        eprintln!("HAECHI_TEST_POSTGRES=skip: the PostgreSQL part is SKIPPED");
        return None;
    }
    Some(
        std::env::var("HAECHI_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string()),
    )
}

/// A fresh PostgreSQL database, dropped (with its connections) when this goes out of scope.
struct PgDb {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDb {
    fn create(admin_url: &str) -> PgDb {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos(),
        );
        let name = format!("haechi_cli_{:016x}", h.finish());
        block_on(async {
            sqlx::any::install_default_drivers();
            let mut admin = sqlx::AnyConnection::connect(admin_url)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} does not answer ({e}); set HAECHI_TEST_POSTGRES=skip to skip it"));
            admin
                .execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .unwrap();
            admin.close().await.unwrap();
        });
        let url = with_database(admin_url, &name);
        PgDb {
            admin_url: admin_url.to_string(),
            name,
            url,
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // A thread of its own: a runtime cannot start inside another one.
        let dropped = std::thread::spawn(move || {
            block_on(async move {
                let mut admin = sqlx::AnyConnection::connect(&admin_url).await?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                admin.close().await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}: {dropped:?}", self.name);
        }
    }
}

// ---------------------------------------------------------------- configuration and secrets

#[test]
fn default_config_is_toml_and_secrets_are_never_printed() {
    let secret_url = "postgres://u:secret@127.0.0.1/x";
    let run = haechi(
        None,
        &["print-default-config"],
        &[("HAECHI_DATABASE_URL", secret_url)],
    )
    .expect_ok("print-default-config");
    let parsed: toml::Table =
        toml::from_str(&run.stdout).unwrap_or_else(|e| panic!("not TOML: {e}\n{}", run.stdout));
    assert!(
        parsed.contains_key("data_dir") && parsed.contains_key("bind"),
        "{parsed:?}"
    );
    assert!(
        run.stdout.contains("database_url"),
        "the default config does not document database_url"
    );
    assert!(!run.stdout.contains("secret") && !run.stderr.contains("secret"));

    // Failing connections: a wrong user on the test server, an unknown host. The password must
    // appear in no error, whichever path reports it.
    let server = postgres_admin_url()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let host = server
        .split("://")
        .nth(1)
        .unwrap()
        .rsplit_once('@')
        .map_or(server.split("://").nth(1).unwrap(), |(_, h)| h);
    let host = host.split('/').next().unwrap();
    let wrong_user = format!("postgres://no_such_role_haechi:secret@{host}/x");
    let unknown_host = "postgres://u:secret@no-such-host.invalid/x".to_string();
    for url in [&wrong_user, &unknown_host] {
        for (how, env, args) in [
            (
                "env",
                vec![("HAECHI_DATABASE_URL", url.as_str())],
                vec!["migrate"],
            ),
            (
                "flag",
                vec![],
                vec!["--database-url", url.as_str(), "migrate"],
            ),
            (
                "flag",
                vec![],
                vec!["--database-url", url.as_str(), "audit", "verify"],
            ),
        ] {
            let run = haechi(None, &args, &env)
                .expect_failure(&format!("{args:?} with a bad URL by {how}"));
            assert!(
                !run.stdout.contains("secret") && !run.stderr.contains("secret"),
                "{args:?} ({how}) printed the password:\n{}{}",
                run.stdout,
                run.stderr
            );
            assert!(run.stderr.contains("error"), "{args:?}: {}", run.stderr);
        }
    }
}

// ---------------------------------------------------------------- policy, OpenAPI, CVSS

#[test]
fn policy_check_accepts_the_default_and_names_field_and_line() {
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policy/default.toml");
    let run =
        haechi(None, &["policy", "check", default], &[]).expect_ok("policy check default.toml");
    assert!(run.stdout.contains("valid"), "{}", run.stdout);

    let broken = fixture("policy-wrong-type.toml");
    let text = std::fs::read_to_string(&broken).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("relief_validity_months"))
        .unwrap()
        + 1;
    let run = haechi(None, &["policy", "check", path_str(&broken)], &[])
        .expect_failure("policy check of a broken policy");
    assert!(
        run.stderr.contains("program.relief_validity_months"),
        "no field path in: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("policy-wrong-type.toml:{line}:")),
        "no line {line} in: {}",
        run.stderr
    );

    let run = haechi(None, &["policy", "check", "/nonexistent/policy.toml"], &[])
        .expect_failure("policy check of a missing file");
    assert!(
        run.stderr.contains("/nonexistent/policy.toml"),
        "{}",
        run.stderr
    );
}

#[test]
fn openapi_is_json_3_1() {
    let run = haechi(None, &["openapi"], &[]).expect_ok("openapi");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(
        doc["paths"].as_object().is_some_and(|p| !p.is_empty()),
        "no paths"
    );
}

#[test]
fn cvss_scores_vectors_and_names_the_bad_metric() {
    let check = |vector: &str, version: &str, score: f64, severity: &str| {
        let run = haechi(None, &["cvss", vector], &[]).expect_ok(vector);
        let got: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
        assert_eq!(
            got,
            serde_json::json!({"vector": vector, "version": version, "base_score": score, "severity": severity}),
            "{vector}"
        );
    };
    check(
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "3.1",
        9.8,
        "critical",
    );
    check(
        "CVSS:3.0/AV:L/AC:H/PR:L/UI:R/S:U/C:L/I:N/A:N",
        "3.0",
        2.2,
        "low",
    );
    check(
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N",
        "3.1",
        0.0,
        "none",
    );
    check(
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        "4.0",
        9.3,
        "critical",
    );

    // Several vectors: one JSON line each, in order.
    let run = haechi(
        None,
        &[
            "cvss",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
        ],
        &[],
    )
    .expect_ok("two vectors");
    let versions: Vec<_> = json_lines(&run.stdout)
        .iter()
        .map(|v| v["version"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(versions, vec!["3.1", "4.0"]);

    for (vector, metric) in [
        ("CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "AV"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", "A"),
        (
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:X",
            "SA",
        ),
    ] {
        let run = haechi(None, &["cvss", vector], &[]).expect_failure(vector);
        assert!(
            run.stderr.contains(&format!("'{metric}'")),
            "{vector}: stderr does not name '{metric}': {}",
            run.stderr
        );
    }
}

// ---------------------------------------------------------------- registry import and export

#[test]
fn registry_import_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = Some(dir.path());
    let good = fixture("registry.csv");
    let run = haechi(
        d,
        &["institutions", "import", path_str(&good), "--json"],
        &[],
    )
    .expect_ok("import registry.csv");
    let report: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(
        report,
        serde_json::json!({"rows": 3, "created": 3, "updated": 0, "unchanged": 0})
    );
    let run = haechi(
        d,
        &["institutions", "import", path_str(&good), "--json"],
        &[],
    )
    .expect_ok("import registry.csv again");
    let report: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(
        report,
        serde_json::json!({"rows": 3, "created": 0, "updated": 0, "unchanged": 3})
    );

    let export = haechi(d, &["institutions", "export"], &[])
        .expect_ok("export")
        .stdout;
    let mut lines = export.lines();
    assert_eq!(
        lines.next().unwrap().split(',').collect::<Vec<_>>(),
        haechi_service::institutions::CSV_COLUMNS.to_vec()
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3, "{export}");
    assert!(rows.iter().any(|r| r.starts_with("CLI-BNK-1,시험은행,Test Bank,bank,12500000000000,2025-12-31,1500,2026-03-31,true,김보안,large")), "{export}");
    assert!(
        rows.iter()
            .any(|r| r.starts_with("CLI-SEC-1,시험증권,Test Securities,securities,9999999999999,")),
        "{export}"
    );

    let bad = fixture("registry-bad-row.csv");
    let run = haechi(
        d,
        &["institutions", "import", path_str(&bad), "--json"],
        &[],
    )
    .expect_failure("import with a bad row");
    assert!(
        run.stderr.contains("row 4") && run.stderr.contains("total_assets_krw"),
        "stderr must name row 4 and the column: {}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing was stored"), "{}", run.stderr);
    assert!(run.stdout.trim().is_empty(), "{}", run.stdout);
    let after = haechi(d, &["institutions", "export"], &[])
        .expect_ok("export after the failed import")
        .stdout;
    assert_eq!(after, export, "the failed import changed the registry");
    for code in ["BAD-OK-1", "BAD-OK-2", "BAD-ROW-3"] {
        assert!(!after.contains(code));
    }

    let run = haechi(d, &["institutions", "import", "/nonexistent.csv"], &[])
        .expect_failure("import of a missing file");
    assert!(run.stderr.contains("/nonexistent.csv"), "{}", run.stderr);
}

// ---------------------------------------------------------------- screening and audit

const SCREENING_KEYS: [&str; 5] = [
    "eligible",
    "institution_id",
    "name",
    "policy_version",
    "rules",
];

/// Checks `eligibility screen --json` output: one object per institution, 49 eligible.
fn check_screening(stdout: &str, institutions: usize) {
    let results = json_lines(stdout);
    assert_eq!(results.len(), institutions, "one line per institution");
    assert!(
        (140..=160).contains(&results.len()),
        "{} institutions",
        results.len()
    );
    for r in &results {
        let keys: BTreeSet<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, SCREENING_KEYS.into_iter().collect(), "{r}");
        let rules = r["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 3, "{r}");
        for rule in rules {
            for k in ["rule", "observed", "threshold", "passed"] {
                assert!(rule.get(k).is_some(), "rule without {k}: {rule}");
            }
        }
        let all_pass = rules.iter().all(|x| x["passed"] == true);
        assert_eq!(
            r["eligible"], all_pass,
            "eligible must be every rule passing: {r}"
        );
        assert!(r["policy_version"].as_i64().is_some_and(|v| v >= 1));
    }
    assert_eq!(results.iter().filter(|r| r["eligible"] == true).count(), 49);
}

#[test]
fn eligibility_screen_json_finds_49_on_the_demo() {
    let dir = seeded_data_dir();
    let d = Some(dir.path());
    let export = haechi(d, &["institutions", "export"], &[])
        .expect_ok("export")
        .stdout;
    let institutions = export.lines().count() - 1;
    let run =
        haechi(d, &["eligibility", "screen", "--json"], &[]).expect_ok("eligibility screen --json");
    check_screening(&run.stdout, institutions);

    // One institution, human output.
    let first = json_lines(&run.stdout)[0].clone();
    let id = first["institution_id"].as_i64().unwrap().to_string();
    let one = haechi(
        d,
        &["eligibility", "screen", "--json", "--institution", &id],
        &[],
    )
    .expect_ok("screen one");
    assert_eq!(json_lines(&one.stdout), vec![first]);
    let human = haechi(d, &["eligibility", "screen"], &[]).expect_ok("screen, human output");
    assert!(
        human
            .stdout
            .contains(&format!("49 of {institutions} eligible")),
        "{}",
        human.stdout
    );
    let missing = haechi(
        d,
        &["eligibility", "screen", "--institution", "999999"],
        &[],
    )
    .expect_failure("screen an unknown institution");
    assert!(missing.stderr.contains("not found"), "{}", missing.stderr);
}

#[test]
fn audit_verify_detects_a_tampered_entry() {
    let dir = seeded_data_dir();
    let d = Some(dir.path());
    let run = haechi(d, &["audit", "verify"], &[]).expect_ok("audit verify on the demo");
    let entries: i64 = run
        .stdout
        .trim()
        .strip_prefix("audit log intact: ")
        .and_then(|s| s.split_once(" entries"))
        .unwrap_or_else(|| panic!("unexpected output: {}", run.stdout))
        .0
        .parse()
        .unwrap();
    assert!(entries > 100, "{entries} entries");
    // The intact check left a checkpoint vouching for the entry it ended on.
    assert!(
        run.stdout.contains(&format!(
            "checkpoint written as entry {}, vouching for entry {entries}",
            entries + 1
        )),
        "{}",
        run.stdout
    );

    block_on(async {
        let store = Store::connect(&sqlite_url(dir.path())).await.unwrap();
        let (_, total) = store
            .audit_entries(&haechi_store::AuditFilter {
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            total,
            entries + 1,
            "the entry count printed is the number of entries (and the checkpoint)"
        );
        let done =
            sqlx::query("UPDATE audit_log SET after_json = '{\"tampered\":true}' WHERE seq = 42")
                .execute(store.pool())
                .await
                .unwrap();
        assert_eq!(done.rows_affected(), 1);
        store.close().await;
    });
    // The incremental check starts at the checkpoint and walks only what came after it; the
    // full walk finds the entry altered in place before it.
    let run = haechi(d, &["audit", "verify"], &[]).expect_ok("incremental verify");
    assert!(
        run.stdout.contains(&format!("entries {}..", entries + 1)),
        "{}",
        run.stdout
    );
    let run = haechi(d, &["audit", "verify", "--full"], &[])
        .expect_failure("audit verify --full after tampering");
    assert!(
        run.stderr.contains("entry 42"),
        "stderr does not name entry 42: {}",
        run.stderr
    );
    // Tampering at or after the checkpoint is found by the incremental check too.
    block_on(async {
        let store = Store::connect(&sqlite_url(dir.path())).await.unwrap();
        sqlx::query("UPDATE audit_log SET actor_name = 'mallory' WHERE seq = $1")
            .bind(entries + 1)
            .execute(store.pool())
            .await
            .unwrap();
        store.close().await;
    });
    let run = haechi(d, &["audit", "verify"], &[]).expect_failure("incremental after tampering");
    assert!(
        run.stderr.contains(&format!("entry {}", entries + 1)),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------- accounts

#[test]
fn admin_create_user_prints_a_working_token() {
    let dir = tempfile::tempdir().unwrap();
    let d = Some(dir.path());
    // (Usernames need 3 or more characters: `--username x` is refused by the service.)
    let run = haechi(
        d,
        &[
            "admin",
            "create-user",
            "--username",
            "officer.x",
            "--role",
            "regulator_officer",
        ],
        &[],
    )
    .expect_ok("create-user");
    let token = run
        .stdout
        .split_whitespace()
        .find(|w| w.starts_with("hct_"))
        .unwrap()
        .to_string();
    assert!(
        run.stdout.contains("API token") && token.len() >= 20,
        "{}",
        run.stdout
    );
    // Without --password-stdin a random initial password is printed once.
    let password = run
        .stdout
        .lines()
        .find(|l| l.starts_with("initial password"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_else(|| panic!("no initial password in: {}", run.stdout))
        .to_string();
    block_on(async {
        let (store, svc) = open(dir.path()).await;
        let actor = svc
            .actor_for_token(&token)
            .await
            .expect("the printed token authenticates");
        assert_eq!(
            (actor.username.as_str(), actor.role),
            ("officer.x", Role::RegulatorOfficer)
        );
        assert!(svc.actor_for_token(&format!("{token}x")).await.is_err());
        let session = svc
            .login("officer.x", &password, None)
            .await
            .expect("the printed password signs in");
        assert_eq!(session.actor.username, "officer.x");
        assert!(svc.login("officer.x", "not-it-at-all", None).await.is_err());
        store.close().await;
    });

    let run = haechi(
        d,
        &[
            "admin",
            "create-user",
            "--username",
            "officer.y",
            "--role",
            "superuser",
        ],
        &[],
    )
    .expect_failure("unknown role");
    for role in Role::ALL {
        assert!(
            run.stderr.contains(role.as_str()),
            "the error does not list {role:?}: {}",
            run.stderr
        );
    }
    let run = haechi(
        d,
        &[
            "admin",
            "create-user",
            "--username",
            "officer.x",
            "--role",
            "auditor",
        ],
        &[],
    )
    .expect_failure("a used username");
    assert!(run.stderr.contains("already exists"), "{}", run.stderr);
    let run = haechi(
        d,
        &[
            "admin",
            "create-user",
            "--username",
            "ciso.z",
            "--role",
            "ciso",
            "--institution",
            "NO-SUCH",
        ],
        &[],
    )
    .expect_failure("unknown institution");
    assert!(run.stderr.contains("NO-SUCH"), "{}", run.stderr);
}

// ---------------------------------------------------------------- SQLite → PostgreSQL

#[test]
fn migrate_db_moves_the_demo_to_postgres() {
    let Some(admin_url) = postgres_admin_url() else {
        return;
    };
    let dir = seeded_data_dir();
    let d = Some(dir.path());
    let before = haechi(d, &["audit", "verify"], &[])
        .expect_ok("audit verify on SQLite")
        .stdout;
    let pg = PgDb::create(&admin_url);
    let from = sqlite_url(dir.path());
    let run = haechi(None, &["migrate-db", "--from", &from, "--to", &pg.url], &[])
        .expect_ok("migrate-db");
    assert!(
        run.stdout.contains("audit chain on the target: intact"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("institutions: "), "{}", run.stdout);

    assert!(
        run.stdout.contains("row counts and content checksums of ")
            && run
                .stdout
                .contains(" tables: identical on source and target"),
        "{}",
        run.stdout
    );
    // The same chain, entry for entry: the checkpoint the SQLite check wrote is the last one
    // copied, and the check on PostgreSQL starts from it.
    let entries = |out: &str| -> i64 {
        out.strip_prefix("audit log intact: ")
            .and_then(|s| s.split_once(" entries"))
            .unwrap_or_else(|| panic!("unexpected output: {out}"))
            .0
            .parse()
            .unwrap()
    };
    let after = haechi(
        None,
        &["--database-url", &pg.url, "audit", "verify", "--full"],
        &[],
    )
    .expect_ok("audit verify on PostgreSQL")
    .stdout;
    assert_eq!(entries(&after), entries(&before) + 1, "{before}\n{after}");
    let export_sqlite = haechi(d, &["institutions", "export"], &[])
        .expect_ok("export SQLite")
        .stdout;
    let export_pg = haechi(
        None,
        &["--database-url", &pg.url, "institutions", "export"],
        &[],
    )
    .expect_ok("export PostgreSQL")
    .stdout;
    assert_eq!(export_pg, export_sqlite);
    let run = haechi(
        None,
        &["eligibility", "screen", "--json", "--database-url", &pg.url],
        &[],
    )
    .expect_ok("screen on PostgreSQL");
    check_screening(&run.stdout, export_sqlite.lines().count() - 1);

    // The target now holds data: a second copy is refused.
    let again = haechi(None, &["migrate-db", "--from", &from, "--to", &pg.url], &[])
        .expect_failure("migrate-db into a non-empty target");
    assert!(
        again.stderr.contains("already holds data"),
        "{}",
        again.stderr
    );
}

// ---------------------------------------------------------------- policy versions, migrations, config file

#[test]
fn policy_versions_migrations_and_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = Some(dir.path());
    let default_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../policy/default.toml"
    ))
    .unwrap();
    let run = haechi(None, &["policy", "default"], &[]).expect_ok("policy default");
    assert_eq!(
        run.stdout, default_text,
        "the embedded default policy is policy/default.toml"
    );

    let first = haechi(d, &["migrate"], &[]).expect_ok("migrate").stdout;
    assert!(first.starts_with("migrations applied: [1"), "{first}");
    let second = haechi(d, &["migrate"], &[])
        .expect_ok("migrate again")
        .stdout;
    assert!(second.starts_with("migrations applied: []"), "{second}");

    let run = haechi(d, &["policy", "show"], &[]).expect_ok("policy show");
    assert_eq!(run.stdout, default_text, "version 1 is the default policy");
    let broken = fixture("policy-wrong-type.toml");
    let run = haechi(d, &["policy", "load", path_str(&broken)], &[])
        .expect_failure("policy load of a broken policy");
    assert!(
        run.stderr.contains("relief_validity_months"),
        "{}",
        run.stderr
    );
    let changed = dir.path().join("policy-v2.toml");
    std::fs::write(
        &changed,
        default_text.replace("relief_validity_months = 12", "relief_validity_months = 6"),
    )
    .unwrap();
    let run = haechi(d, &["policy", "load", path_str(&changed)], &[]).expect_ok("policy load");
    assert!(run.stdout.contains("version 2"), "{}", run.stdout);
    let v1 = haechi(d, &["policy", "show", "--version", "1"], &[])
        .expect_ok("policy show --version 1")
        .stdout;
    assert_eq!(v1, default_text);
    let now = haechi(d, &["policy", "show"], &[])
        .expect_ok("policy show")
        .stdout;
    assert!(now.contains("relief_validity_months = 6"), "{now}");

    // A configuration file names the data directory; a flag wins over it; unknown keys are refused.
    let other = tempfile::tempdir().unwrap();
    let config = dir.path().join("haechi.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\nlog_format = \"json\"\n",
            other.path().display().to_string()
        ),
    )
    .unwrap();
    let run = haechi(None, &["--config", path_str(&config), "migrate"], &[])
        .expect_ok("migrate with --config");
    assert!(
        run.stdout.contains(&sqlite_url(other.path())),
        "{}",
        run.stdout
    );
    let run = haechi(d, &["--config", path_str(&config), "migrate"], &[])
        .expect_ok("migrate with --config and --data-dir");
    assert!(
        run.stdout.contains(&sqlite_url(dir.path())),
        "{}",
        run.stdout
    );
    std::fs::write(&config, "data_dri = \"/tmp\"\n").unwrap();
    let run = haechi(None, &["--config", path_str(&config), "migrate"], &[])
        .expect_failure("a misspelt key");
    assert!(run.stderr.contains("data_dri"), "{}", run.stderr);
}

// ---------------------------------------------------------------- findings intake

/// A SARIF log of three results under three paths.
fn mapped_sarif() -> String {
    let result = |path: &str, line: u32| {
        serde_json::json!({"ruleId": "r1", "message": {"text": format!("issue in {path}")},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": path}, "region": {"startLine": line}}}],
            "partialFingerprints": {"primaryLocationLineHash": format!("h-{path}-{line}")}})
    };
    serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Scanner", "rules": [{"id": "r1"}]}},
        "results": [result("services/api/a.go", 3), result("web/b.js", 4), result("services/api/c.go", 5)]}]})
    .to_string()
}

#[test]
fn findings_import_maps_paths_to_resources() {
    let dir = tempfile::tempdir().unwrap();
    let (inst, api) = block_on(async {
        let (store, svc) = open(dir.path()).await;
        let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        let inst = svc
            .create_institution(
                &haechi_core::Actor::system(),
                haechi_core::InstitutionInput {
                    code: "MAPB".into(),
                    name_ko: "매핑은행".into(),
                    name_en: "Mapping Bank".into(),
                    sector: haechi_core::Sector::Bank,
                    total_assets_krw: 1_000_000_000_000,
                    assets_as_of: day,
                    full_time_employees: 100,
                    employees_as_of: day,
                    dedicated_ciso: true,
                    ciso_name: Some("Kim".into()),
                    size_class: haechi_core::SizeClass::Large,
                    contact_name: None,
                    contact_email: None,
                    contact_phone: None,
                },
            )
            .await
            .unwrap()
            .id;
        let api = svc
            .create_resource(
                &haechi_core::Actor::system(),
                inst,
                haechi_service::findings::ResourceInput {
                    name: "api".into(),
                    kind: "application".into(),
                    business_function: "payments".into(),
                    data_kinds: vec![haechi_policy::DataKind::NonPublicBusiness],
                    network_zone: haechi_policy::NetworkZone::Internal,
                    processes_electronic_transactions: false,
                    dr_tier: None,
                    owner: None,
                },
            )
            .await
            .unwrap()
            .id;
        store.close().await;
        (inst, api)
    });
    let file = dir.path().join("scan.sarif");
    std::fs::write(&file, mapped_sarif()).unwrap();
    let inst_arg = inst.to_string();
    let run = haechi(
        Some(dir.path()),
        &[
            "findings",
            "import",
            "--institution",
            &inst_arg,
            "--map",
            "services/api/=api",
            "--json",
            path_str(&file),
        ],
        &[],
    )
    .expect_ok("findings import --map");
    let report: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(report["findings_new"], 3, "{report}");
    let tied: Vec<(String, Option<i64>)> = block_on(async {
        let (store, svc) = open(dir.path()).await;
        let (rows, _) = svc
            .list_findings(
                &haechi_core::Actor::system(),
                &haechi_store::FindingFilter {
                    limit: 10,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        store.close().await;
        rows.into_iter()
            .map(|r| (r.message, r.resource_id))
            .collect()
    });
    let of = |m: &str| tied.iter().find(|(msg, _)| msg.contains(m)).unwrap().1;
    assert_eq!(of("services/api/a.go"), Some(api));
    assert_eq!(of("services/api/c.go"), Some(api));
    assert_eq!(
        of("web/b.js"),
        None,
        "unmapped paths stay with the institution"
    );

    // A malformed pair or an unknown resource fails, and nothing is stored.
    for bad in ["no-equals-sign", "web/=no-such-resource"] {
        let run = haechi(
            Some(dir.path()),
            &[
                "findings",
                "import",
                "--institution",
                &inst_arg,
                "--map",
                bad,
                path_str(&file),
            ],
            &[],
        )
        .expect_failure(bad);
        assert!(
            run.stderr.contains("PREFIX=RESOURCE") || run.stderr.contains("no-such-resource"),
            "{bad}: {}",
            run.stderr
        );
    }
}

/// Runs `haechi bench KIND --findings N --json` and reads its one JSON object.
fn bench_json(kind: &str, findings: &str) -> serde_json::Value {
    let run = haechi(
        None,
        &["bench", kind, "--findings", findings, "--json"],
        &[],
    )
    .expect_ok(kind);
    serde_json::from_str(run.stdout.trim()).unwrap()
}

#[test]
fn bench_ingest_and_list_run_small() {
    let r = bench_json("ingest", "400");
    assert_eq!(r["first"]["report"]["results_read"], 400, "{r}");
    assert_eq!(r["rows_written_on_reimport"], 0, "{r}");
    assert!(r["peak_rss_bytes"].as_u64().unwrap() > 0);
    let r = bench_json("list", "400");
    assert_eq!(r["findings"], 400, "{r}");
    let queries = r["queries"].as_array().unwrap();
    assert!(queries.iter().all(|q| q["rows"].as_u64().unwrap() <= 50));
    let first = &queries[0];
    assert_eq!(
        (
            first["rows"].as_u64(),
            first["total"]["count"].as_i64(),
            first["total"]["capped"].as_bool()
        ),
        (Some(50), Some(400), Some(false))
    );
}

#[test]
fn feeds_import_is_idempotent_signed_and_refuses_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = Some(dir.path());
    let epss = dir.path().join("epss.csv");
    std::fs::write(
        &epss,
        "#model_version:v2025.03.14,score_date:2026-03-14T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.94358,0.99954\nCVE-1999-0001,5e-05,0.00012\n",
    )
    .unwrap();
    let run = haechi(
        d,
        &["feeds", "import", "epss", path_str(&epss), "--json"],
        &[],
    )
    .expect_ok("feeds import epss");
    let r: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(
        (
            r["rows"].as_u64(),
            r["source_date"].as_str(),
            r["model_version"].as_str()
        ),
        (Some(2), Some("2026-03-14"), Some("v2025.03.14")),
        "{r}"
    );
    let again =
        haechi(d, &["feeds", "import", "epss", path_str(&epss)], &[]).expect_ok("re-import");
    assert!(again.stdout.contains("nothing changed"), "{}", again.stdout);

    // A bad row refuses the file and names the line.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "#model_version:v2025.03.14,score_date:2026-03-15T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,zero,0.5\n").unwrap();
    let run =
        haechi(d, &["feeds", "import", "epss", path_str(&bad)], &[]).expect_failure("bad EPSS");
    assert!(
        run.stderr.contains("line 3") && run.stderr.contains("feed_invalid"),
        "{}",
        run.stderr
    );

    // Signed with the server key: verified; altered after signing: refused.
    let kev = dir.path().join("kev.json");
    std::fs::write(
        &kev,
        std::fs::read(fixture("../../../formats/tests/fixtures/feeds/kev.json")).unwrap(),
    )
    .unwrap();
    haechi(d, &["feeds", "sign", path_str(&kev)], &[]).expect_ok("feeds sign");
    let sig = dir.path().join("kev.json.sig");
    let run = haechi(
        d,
        &[
            "feeds",
            "import",
            "kev",
            path_str(&kev),
            "--signature",
            path_str(&sig),
            "--json",
        ],
        &[],
    )
    .expect_ok("signed import");
    let r: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert!(r["signed_by_key"].is_string(), "{r}");
    let mut altered = std::fs::read(&kev).unwrap();
    altered.extend_from_slice(b"\n ");
    std::fs::write(&kev, altered).unwrap();
    let run = haechi(
        d,
        &[
            "feeds",
            "import",
            "kev",
            path_str(&kev),
            "--signature",
            path_str(&sig),
        ],
        &[],
    )
    .expect_failure("altered file");
    assert!(
        run.stderr.contains("feed_signature_invalid"),
        "{}",
        run.stderr
    );

    let run = haechi(d, &["feeds", "status"], &[]).expect_ok("feeds status");
    assert!(
        run.stdout
            .contains("epss: 2 rows loaded; source date 2026-03-14"),
        "{}",
        run.stdout
    );
}

#[test]
fn bench_prioritise_runs_small() {
    let r = bench_json("prioritise", "300");
    assert_eq!(
        r["kev_import_and_first_prioritisation"]["rows_written"], 300,
        "{r}"
    );
    assert_eq!(r["idle_recompute"]["rows_written"], 0, "{r}");
    assert!(r["queue_first_page_ms"].as_f64().unwrap() >= 0.0);
}

// ---------------------------------------------------------------- backup and restore

/// `haechi backup` writes a snapshot of the running instance and reads it back; `restore` puts
/// it into an empty data directory only after its audit chain and every letter signature
/// verify, and refuses a damaged snapshot, writing nothing.
#[test]
fn backup_and_restore_check_the_chain_and_letters() {
    // The demo with a signing key, so that it issues letters.
    let dir = tempfile::tempdir().unwrap();
    block_on(async {
        let (store, svc) = open(dir.path()).await;
        let svc = svc
            .with_signer(haechi_letter::Keypair::generate())
            .await
            .unwrap();
        haechi_service::demo::seed(&svc)
            .await
            .expect("seed the demo");
        store.close().await;
    });
    let d = Some(dir.path());
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("haechi-backup.db");
    let run = haechi(d, &["backup", "--to", path_str(&file)], &[]).expect_ok("backup");
    assert!(run.stdout.contains("backup written to"), "{}", run.stdout);
    assert!(
        run.stdout.contains("intact: yes") && run.stdout.contains("signatures verified: yes"),
        "{}",
        run.stdout
    );
    assert!(file.is_file());
    // A backup never overwrites.
    let again = haechi(d, &["backup", "--to", path_str(&file)], &[]).expect_failure("overwrite");
    assert!(again.stderr.contains("exists already"), "{}", again.stderr);

    let (letters, institutions) = block_on(async {
        let (store, _) = open(dir.path()).await;
        let n = |sql: &'static str| {
            let pool = store.pool().clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        let l = n("SELECT COUNT(*) FROM letters WHERE signed_file IS NOT NULL").await;
        let i = n("SELECT COUNT(*) FROM institutions").await;
        store.close().await;
        (l, i)
    });
    assert!(letters > 0, "the demo has issued letters");
    assert!(
        run.stdout.contains(&format!("{letters} issued letters")),
        "{}",
        run.stdout
    );

    let restored = tempfile::tempdir().unwrap();
    let target = restored.path().join("data");
    let run = haechi(
        None,
        &[
            "restore",
            "--from",
            path_str(&file),
            "--data-dir",
            path_str(&target),
        ],
        &[],
    )
    .expect_ok("restore");
    assert!(run.stdout.contains("restored "), "{}", run.stdout);
    let export = |d: &Path| {
        haechi(Some(d), &["institutions", "export"], &[])
            .expect_ok("export")
            .stdout
    };
    assert_eq!(export(&target), export(dir.path()));
    assert_eq!(export(&target).lines().count() as i64, institutions + 1);
    haechi(Some(&target), &["audit", "verify", "--full"], &[]).expect_ok("verify restored");
    // Not over an existing instance.
    let run = haechi(
        None,
        &[
            "restore",
            "--from",
            path_str(&file),
            "--data-dir",
            path_str(&target),
        ],
        &[],
    )
    .expect_failure("restore over an instance");
    assert!(run.stderr.contains("exists already"), "{}", run.stderr);

    // A snapshot whose letter was altered, or whose chain was, is refused.
    for (what, sql, word) in [
        (
            "letter",
            "UPDATE letters SET signed_file = replace(signed_file, letter_number, letter_number || 'X') WHERE id = (SELECT MIN(id) FROM letters WHERE signed_file IS NOT NULL)",
            "does not verify",
        ),
        (
            "audit",
            "UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 7",
            "audit log broken at entry 7",
        ),
    ] {
        let bad = out.path().join(format!("bad-{what}.db"));
        std::fs::copy(&file, &bad).unwrap();
        block_on(async {
            let store = Store::connect(&format!("sqlite://{}", bad.display()))
                .await
                .unwrap();
            let done = sqlx::query(sql).execute(store.pool()).await.unwrap();
            assert_eq!(done.rows_affected(), 1, "{what}");
            store.close().await;
        });
        let empty = restored.path().join(format!("empty-{what}"));
        let run = haechi(
            None,
            &["restore", "--from", path_str(&bad), "--data-dir", path_str(&empty)],
            &[],
        )
        .expect_failure("restore a damaged snapshot");
        assert!(run.stderr.contains(word), "{what}: {}", run.stderr);
        assert!(!empty.join("haechi.db").exists(), "{what}: nothing restored");
    }
}

// ---------------------------------------------------------------- crash consistency

/// SIGKILL during a findings import, at random points: every time, the database passes
/// SQLite's integrity check, holds all of the import's findings or none, and its audit chain
/// verifies whole. (Seeded, so a failure replays; bounded to a few seconds of imports.)
#[test]
fn a_killed_findings_import_leaves_all_or_nothing() {
    use rand::{Rng, SeedableRng};
    const RESULTS: usize = 20_000;
    const TRIALS: usize = 8;
    let base = tempfile::tempdir().unwrap();
    let inst = block_on(async {
        let (store, svc) = open(base.path()).await;
        let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
        let inst = svc
            .create_institution(
                &haechi_core::Actor::system(),
                haechi_core::InstitutionInput {
                    code: "KILL".into(),
                    name_ko: "중단은행".into(),
                    name_en: "Kill Bank".into(),
                    sector: haechi_core::Sector::Bank,
                    total_assets_krw: 1_000_000_000_000,
                    assets_as_of: day,
                    full_time_employees: 100,
                    employees_as_of: day,
                    dedicated_ciso: true,
                    ciso_name: Some("Kim".into()),
                    size_class: haechi_core::SizeClass::Large,
                    contact_name: None,
                    contact_email: None,
                    contact_phone: None,
                },
            )
            .await
            .unwrap()
            .id;
        store.close().await;
        inst
    });
    let sarif = base.path().join("big.sarif");
    haechi_formats::sarif::synth::generate(std::fs::File::create(&sarif).unwrap(), RESULTS, 7)
        .unwrap();
    let inst_arg = inst.to_string();
    let args = [
        "findings",
        "import",
        "--institution",
        inst_arg.as_str(),
        path_str(&sarif),
    ];
    // How long a whole import takes here, to spread the kills over it.
    let probe = tempfile::tempdir().unwrap();
    std::fs::copy(
        base.path().join("haechi.db"),
        probe.path().join("haechi.db"),
    )
    .unwrap();
    let started = std::time::Instant::now();
    haechi(Some(probe.path()), &args, &[]).expect_ok("a whole import");
    let whole = started.elapsed();

    let mut rng = rand::rngs::StdRng::seed_from_u64(18);
    let (mut none, mut all, mut stuck) = (0, 0, 0);
    for trial in 0..TRIALS {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(base.path().join("haechi.db"), dir.path().join("haechi.db")).unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_haechi"))
            .env("RUST_LOG", "error")
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let at = whole.mul_f64(rng.gen_range(0.05..1.1));
        std::thread::sleep(at);
        // Child::kill is SIGKILL on Unix: no destructor, no rollback by the process.
        let _ = child.kill();
        let _ = child.wait();
        let (integrity, findings, succeeded) = block_on(async {
            let store = Store::connect(&sqlite_url(dir.path())).await.unwrap();
            let ok = store.integrity_check().await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM findings")
                .fetch_one(store.pool())
                .await
                .unwrap();
            let s: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM finding_imports WHERE state = 'succeeded'",
            )
            .fetch_one(store.pool())
            .await
            .unwrap();
            let q: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM finding_imports WHERE state = 'queued'")
                    .fetch_one(store.pool())
                    .await
                    .unwrap();
            stuck += q;
            store.close().await;
            (ok, n, s)
        });
        assert_eq!(
            integrity.as_deref(),
            Some("ok"),
            "trial {trial} killed at {at:?}"
        );
        match (findings, succeeded) {
            (0, 0) => none += 1,
            (n, 1) if n == RESULTS as i64 => all += 1,
            other => panic!("trial {trial} killed at {at:?}: findings/succeeded {other:?}"),
        }
        haechi(Some(dir.path()), &["audit", "verify", "--full"], &[])
            .expect_ok("the audit chain after a kill");
    }
    // An import whose process died stays 'queued' until a start after its lease (two minutes
    // here) fails it as abandoned; tests/crash.rs runs with a short lease and checks that.
    println!("{TRIALS} kills over a {whole:?} import: {none} left nothing, {all} left everything, {stuck} left an import row 'queued'");
    assert_eq!(none + all, TRIALS);
}

#[test]
fn bench_insight_runs_small() {
    let run = haechi(
        None,
        &[
            "bench",
            "insight",
            "--findings",
            "600",
            "--total-findings",
            "1500",
            "--institutions",
            "4",
            "--runs",
            "2",
            "--json",
        ],
        &[],
    )
    .expect_ok("bench insight");
    let r: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(r["findings_total"], 1500, "{r}");
    assert_eq!(r["compile_findings"], 600, "{r}");
    assert!(r["compile_fixed_p1"].as_i64().unwrap() > 0, "{r}");
    assert_eq!(r["compile"]["runs"], 2, "{r}");
    // Four institutions with four quarterly reports each, all delivered and all read.
    assert_eq!(
        (
            r["quarterly_reports"].as_u64(),
            r["sector_reports"].as_u64()
        ),
        (Some(16), Some(16))
    );
    assert_eq!(r["sector_institutions"], 4, "{r}");
    assert_eq!(r["sector_findings"], 1500, "{r}");
    assert_eq!(r["sector_trend_periods"], 12, "{r}");
    let timings = r["timings"].as_array().unwrap();
    for what in [
        "sector insight, monthly (service)",
        "GET /insight (HTTP",
        "GET /sector (HTTP",
    ] {
        let t = timings
            .iter()
            .find(|t| t["what"].as_str().unwrap().starts_with(what))
            .unwrap_or_else(|| panic!("{what} not timed: {r}"));
        assert!(
            t["median_ms"].as_f64().unwrap() > 0.0
                && t["max_ms"].as_f64() >= t["median_ms"].as_f64()
        );
    }
    assert!(r["peak_rss_bytes"].as_u64().unwrap() > 0);
}
