//! The storage conformance suite: one set of stories that every backend must pass. Each story
//! takes a migrated, empty [`Store`] and runs on SQLite (a temp file, always) and on PostgreSQL
//! (a fresh `haechi_conf_<hex>` database on the server at `HAECHI_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, dropped afterwards). `HAECHI_TEST_POSTGRES=skip`
//! skips PostgreSQL and says so; otherwise an unreachable server fails the PostgreSQL tests.
//!
//! Beside the stories: copying a whole instance (`copy_into`, behind `haechi migrate-db`) and
//! values that must read back identically from both backends.

// As clippy.toml says for tests: a panic here is the test failing. Clippy only sees `#[test]`
// functions as tests, not the story helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use chrono::NaiveDate;
use haechi_core::application::ApplicationContent;
use haechi_core::institution::FigureChange;
use haechi_core::{ApplicationState, InstitutionInput, Role, Sector, ServiceEntry, SizeClass};
use haechi_store::{
    with_database, ApplicationFilter, AuditFilter, AuditRecord, DecisionRecord, Dialect,
    EvaluationRecord, InstitutionFilter, NewUser, Store, StoreError,
};
use sha2::{Digest, Sha256};
use sqlx::{Connection, Executor};

// ---------------------------------------------------------------- backends

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}/haechi.db", dir.path().display())
}

async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&sqlite_url(&dir))
        .await
        .expect("connect to SQLite");
    assert_eq!(store.dialect(), Dialect::Sqlite);
    let applied = store.migrate().await.expect("migrate SQLite");
    assert!(
        !applied.is_empty(),
        "a fresh SQLite database applied no migration"
    );
    (store, dir)
}

/// The PostgreSQL server's admin URL, or `None` when the run is told to skip PostgreSQL.
fn postgres_admin_url() -> Option<String> {
    if std::env::var("HAECHI_TEST_POSTGRES").as_deref() == Ok("skip") {
        eprintln!("HAECHI_TEST_POSTGRES=skip: the PostgreSQL run is SKIPPED");
        return None;
    }
    Some(
        std::env::var("HAECHI_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string()),
    )
}

fn random_hex() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

/// A fresh PostgreSQL database, dropped by [`PgDb::drop_database`].
struct PgDb {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDb {
    async fn create(admin_url: &str) -> PgDb {
        sqlx::any::install_default_drivers();
        let name = format!("haechi_conf_{}", random_hex());
        let mut admin = sqlx::AnyConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} does not answer ({e}); set HAECHI_TEST_POSTGRES=skip to skip it"));
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create database");
        admin.close().await.unwrap();
        let url = with_database(admin_url, &name);
        PgDb {
            admin_url: admin_url.to_string(),
            name,
            url,
        }
    }

    async fn store(&self) -> Store {
        let store = Store::connect(&self.url)
            .await
            .expect("connect to PostgreSQL");
        assert_eq!(store.dialect(), Dialect::Postgres);
        let applied = store.migrate().await.expect("migrate PostgreSQL");
        assert!(
            !applied.is_empty(),
            "a fresh PostgreSQL database applied no migration"
        );
        store
    }

    async fn drop_database(self) {
        let mut admin = sqlx::AnyConnection::connect(&self.admin_url)
            .await
            .expect("reconnect to PostgreSQL");
        admin
            .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await
            .expect("drop database");
        admin.close().await.unwrap();
    }
}

/// Runs `body` with a fresh PostgreSQL store, dropping the database even when `body` fails.
async fn on_postgres<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    let Some(admin_url) = postgres_admin_url() else {
        return;
    };
    let db = PgDb::create(&admin_url).await;
    let store = db.store().await;
    // A local task: the stories' futures are not `Send` for every lifetime (sqlx executors), and
    // a task is what lets the database be dropped when the story panics.
    let local = tokio::task::LocalSet::new();
    let fut = body(store.clone());
    let outcome = local
        .run_until(async move { tokio::task::spawn_local(fut).await })
        .await;
    store.close().await;
    db.drop_database().await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Every story runs once per backend, each on its own fresh database.
macro_rules! stories {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    let (store, _dir) = super::sqlite_store().await;
                    super::$story(&store).await;
                    store.close().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    super::on_postgres(|s| async move { super::$story(&s).await }).await;
                }
            )*
        }
    };
}

stories!(
    migrations_are_idempotent,
    policy_versions,
    institutions_and_eligibility,
    users_and_tokens,
    applications,
    reviews_evaluations_decisions,
    cohorts,
    rolled_back_write_leaves_no_trace,
    audit_chain_detects_tampering,
    audit_checkpoint_verifies_incrementally,
    bulk_insert_in_batches,
    report_lifecycle,
);

// ---------------------------------------------------------------- helpers

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn institution(
    code: &str,
    name_ko: &str,
    name_en: &str,
    sector: Sector,
    assets: i64,
    employees: i64,
    ciso: bool,
) -> InstitutionInput {
    InstitutionInput {
        code: code.to_string(),
        name_ko: name_ko.to_string(),
        name_en: name_en.to_string(),
        sector,
        total_assets_krw: assets,
        assets_as_of: date("2025-12-31"),
        full_time_employees: employees,
        employees_as_of: date("2026-03-31"),
        dedicated_ciso: ciso,
        ciso_name: ciso.then(|| "김보안".to_string()),
        size_class: SizeClass::Large,
        contact_name: Some("담당자".to_string()),
        contact_email: Some("security@example.kr".to_string()),
        contact_phone: None,
    }
}

fn record(
    actor: &str,
    action: &str,
    entity: &str,
    entity_id: &str,
    institution_id: Option<i64>,
    after: serde_json::Value,
) -> AuditRecord {
    AuditRecord {
        actor_id: 7,
        actor_name: actor.to_string(),
        actor_role: "regulator_officer".to_string(),
        action: action.to_string(),
        entity: entity.to_string(),
        entity_id: entity_id.to_string(),
        institution_id,
        before: None,
        after: Some(after),
    }
}

/// The latest policy version, storing one first when there is none (foreign keys need it).
async fn policy_version(store: &Store) -> i64 {
    if let Some(p) = haechi_store::latest_policy_version(store.pool())
        .await
        .unwrap()
    {
        return p.version;
    }
    let mut tx = store.begin().await.unwrap();
    let v = tx
        .insert_policy_version("2026-05-22", "system", &"ab".repeat(32), "[program]\n")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    v
}

async fn add_institution(store: &Store, input: &InstitutionInput) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let id = tx.insert_institution(input).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn add_user(store: &Store, username: &str, role: Role, institution_id: Option<i64>) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let id = tx
        .insert_user(&NewUser {
            username: username.to_string(),
            display_name: format!("{username} 님"),
            role,
            institution_id,
            password_hash: Some("$argon2id$fake".to_string()),
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

fn content(internal_controls: &str) -> serde_json::Value {
    serde_json::to_value(ApplicationContent {
        ai_vulnerability_assessment: true,
        security_saas: false,
        services: vec![ServiceEntry {
            kind: "ai_service".into(),
            name: "코드 진단 AI".into(),
            vendor: "Example AI".into(),
            certifications: vec!["ISO/IEC 27001".into()],
            data_classes: vec!["O".into()],
        }],
        internal_controls: internal_controls.to_string(),
        self_assessment: [("governance".to_string(), 3u8)].into_iter().collect(),
    })
    .unwrap()
}

async fn add_application(store: &Store, institution_id: i64) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let id = tx
        .insert_application(
            institution_id,
            &content("망분리 대체 통제: 접근통제와 로그 점검"),
            &haechi_store::now_text(),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

/// Walks an application along `path` (each step from the previous state).
async fn walk(store: &Store, id: i64, path: &[ApplicationState]) {
    let mut from = haechi_store::get_application(store.pool(), id)
        .await
        .unwrap()
        .unwrap()
        .state;
    for to in path {
        let mut tx = store.begin().await.unwrap();
        tx.transition_application(id, "step", from, *to, "officer", None, None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        from = *to;
    }
}

const TO_UNDER_REVIEW: [ApplicationState; 3] = [
    ApplicationState::Submitted,
    ApplicationState::Screening,
    ApplicationState::UnderReview,
];

fn assert_duplicate<T: std::fmt::Debug>(r: Result<T, StoreError>, what: &str) {
    assert!(
        matches!(r, Err(StoreError::Duplicate(_))),
        "{what}: expected Duplicate, got {r:?}"
    );
}

async fn audit_total(store: &Store) -> i64 {
    store
        .audit_entries(&AuditFilter {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .1
}

// ---------------------------------------------------------------- stories

async fn migrations_are_idempotent(store: &Store) {
    store.ping().await.unwrap();
    let again = store.migrate().await.unwrap();
    assert_eq!(
        again,
        Vec::<i64>::new(),
        "a second migrate() applied {again:?}"
    );
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(
        versions,
        (1..=versions.len() as i64).collect::<Vec<_>>(),
        "versions are 1..n without gaps"
    );
    // The fresh instance holds no data but the audit head.
    let v = store.verify_audit().await.unwrap();
    assert!(v.intact && v.entries == 0 && v.first_bad.is_none(), "{v:?}");
}

async fn policy_versions(store: &Store) {
    assert!(haechi_store::latest_policy_version(store.pool())
        .await
        .unwrap()
        .is_none());
    let toml1 = "# v1\n[program]\nname_ko = \"특례\"\n";
    let toml2 = "# v2\n[program]\nname_ko = \"특례 2\"\n";
    let mut tx = store.begin().await.unwrap();
    let v1 = tx
        .insert_policy_version("2026-05-22", "admin", &"1".repeat(64), toml1)
        .await
        .unwrap();
    let v2 = tx
        .insert_policy_version("2026-09-01", "admin", &"2".repeat(64), toml2)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!((v1, v2), (1, 2));
    let latest = haechi_store::latest_policy_version(store.pool())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            latest.version,
            latest.effective_from.as_str(),
            latest.source_toml.as_str()
        ),
        (2, "2026-09-01", toml2)
    );
    let first = haechi_store::get_policy_version(store.pool(), 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.source_toml, toml1);
    assert_eq!(first.sha256, "1".repeat(64));
    assert_eq!(first.loaded_by, "admin");
    assert!(haechi_store::get_policy_version(store.pool(), 3)
        .await
        .unwrap()
        .is_none());
    let all = haechi_store::list_policy_versions(store.pool())
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|p| p.version).collect::<Vec<_>>(),
        vec![2, 1],
        "newest first"
    );
    assert_eq!(all[1], first);
}

/// One `list_institutions` expectation: the filter, the codes of the page in order, the total.
async fn check_list(store: &Store, f: InstitutionFilter, codes: &[&str], total: i64) {
    let (page, n) = haechi_store::list_institutions(store.pool(), &f)
        .await
        .unwrap();
    let got: Vec<&str> = page.iter().map(|i| i.input.code.as_str()).collect();
    assert_eq!((got.as_slice(), n), (codes, total), "filter {f:?}");
}

async fn institutions_and_eligibility(store: &Store) {
    let pv = policy_version(store).await;
    let hanbit = institution(
        "BNK-001",
        "한빛은행",
        "Hanbit Bank",
        Sector::Bank,
        52_000_000_000_000,
        3_100,
        true,
    );
    let nuri = institution(
        "SEC-001",
        "누리증권",
        "Nuri Securities",
        Sector::Securities,
        12_000_000_000_000,
        1_200,
        true,
    );
    let mut dasol = institution(
        "INS-001",
        "다솔생명",
        "Dasol Life",
        Sector::Insurance,
        9_999_999_999_999,
        800,
        false,
    );
    dasol.size_class = SizeClass::Medium;
    let mut tx = store.begin().await.unwrap();
    let hanbit_id = tx.insert_institution(&hanbit).await.unwrap();
    let nuri_id = tx.insert_institution(&nuri).await.unwrap();
    let dasol_id = tx.insert_institution(&dasol).await.unwrap();
    tx.commit().await.unwrap();

    // Read back by id and by code, all fields.
    let got = haechi_store::get_institution(store.pool(), hanbit_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.id, &got.input), (hanbit_id, &hanbit));
    assert_eq!(got.created_at, got.updated_at);
    assert_eq!(
        haechi_store::get_institution_by_code(store.pool(), "SEC-001")
            .await
            .unwrap()
            .unwrap()
            .input,
        nuri
    );
    assert!(haechi_store::get_institution(store.pool(), dasol_id + 1000)
        .await
        .unwrap()
        .is_none());
    assert!(haechi_store::get_institution_by_code(store.pool(), "NOPE")
        .await
        .unwrap()
        .is_none());

    // A duplicate code is refused, on insert and on update.
    let mut tx = store.begin().await.unwrap();
    assert_duplicate(
        tx.insert_institution(&hanbit).await,
        "insert with a used code",
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    let mut renamed = nuri.clone();
    renamed.code = "BNK-001".into();
    assert_duplicate(
        tx.update_institution(nuri_id, &renamed).await,
        "update to a used code",
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.update_institution(dasol_id + 1000, &nuri).await,
        Err(StoreError::NotFound)
    ));
    drop(tx);

    // Update, with the figure history written beside it.
    let mut grown = hanbit.clone();
    grown.total_assets_krw = 55_500_000_000_000;
    grown.assets_as_of = date("2026-06-30");
    grown.name_en = "Hanbit Bank Co.".into();
    grown.contact_phone = Some("02-000-0000".into());
    let mut tx = store.begin().await.unwrap();
    tx.update_institution(hanbit_id, &grown).await.unwrap();
    let changes = [
        (
            "total_assets_krw",
            "52000000000000",
            "55500000000000",
            Some(date("2026-06-30")),
            "2026-07-01T09:00:00.000000Z",
        ),
        (
            "ciso_name",
            "",
            "김보안",
            None,
            "2026-07-02T09:00:00.000000Z",
        ),
    ];
    for (field, old, new, as_of, at) in changes {
        tx.insert_figure_change(&FigureChange {
            institution_id: hanbit_id,
            field: field.into(),
            old_value: old.into(),
            new_value: new.into(),
            as_of,
            changed_at: at.into(),
            changed_by: "officer.kim".into(),
        })
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let got = haechi_store::get_institution(store.pool(), hanbit_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.input, grown);
    assert!(got.updated_at >= got.created_at);
    let history = haechi_store::institution_history(store.pool(), hanbit_id)
        .await
        .unwrap();
    let seen: Vec<_> = history
        .iter()
        .map(|c| {
            (
                c.field.as_str(),
                c.old_value.as_str(),
                c.new_value.as_str(),
                c.as_of,
                c.changed_at.as_str(),
            )
        })
        .collect();
    let mut expected = changes.to_vec();
    expected.reverse();
    assert_eq!(seen, expected, "history, newest first");
    assert!(history
        .iter()
        .all(|c| c.changed_by == "officer.kim" && c.institution_id == hanbit_id));
    assert!(haechi_store::institution_history(store.pool(), nuri_id)
        .await
        .unwrap()
        .is_empty());

    let all = haechi_store::all_institutions(store.pool()).await.unwrap();
    assert_eq!(
        all.iter().map(|i| i.id).collect::<Vec<_>>(),
        vec![hanbit_id, nuri_id, dasol_id]
    );

    // Eligibility decisions: the newest per institution wins.
    let mut tx = store.begin().await.unwrap();
    tx.insert_eligibility(hanbit_id, pv, false, &serde_json::json!({"run": 1}))
        .await
        .unwrap();
    tx.insert_eligibility(nuri_id, pv, false, &serde_json::json!({"run": 1}))
        .await
        .unwrap();
    tx.insert_eligibility(
        hanbit_id,
        pv,
        true,
        &serde_json::json!({"run": 2, "rules": [{"rule": "total-assets", "passed": true}]}),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let latest = haechi_store::latest_eligibility(store.pool(), None)
        .await
        .unwrap();
    let seen: Vec<_> = latest
        .iter()
        .map(|r| {
            (
                r.institution_id,
                r.eligible,
                r.decision["run"].as_i64(),
                r.policy_version,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (hanbit_id, true, Some(2), pv),
            (nuri_id, false, Some(1), pv)
        ]
    );
    assert_eq!(latest[0].decision["rules"][0]["rule"], "total-assets");
    let one = haechi_store::latest_eligibility(store.pool(), Some(nuri_id))
        .await
        .unwrap();
    assert_eq!(
        one.iter().map(|r| r.institution_id).collect::<Vec<_>>(),
        vec![nuri_id]
    );
    assert!(
        haechi_store::latest_eligibility(store.pool(), Some(dasol_id))
            .await
            .unwrap()
            .is_empty()
    );

    // Listing: search (code, Korean and English names, any case), sector, eligibility, pages.
    let f = |search: Option<&str>,
             sector: Option<&str>,
             eligible: Option<bool>,
             limit: i64,
             offset: i64| InstitutionFilter {
        search: search.map(str::to_string),
        sector: sector.map(str::to_string),
        eligible,
        limit,
        offset,
    };
    check_list(
        store,
        f(None, None, None, 100, 0),
        &["BNK-001", "SEC-001", "INS-001"],
        3,
    )
    .await;
    check_list(store, f(None, None, None, 1, 1), &["SEC-001"], 3).await;
    check_list(store, f(None, None, None, 2, 2), &["INS-001"], 3).await;
    check_list(store, f(None, None, None, 10, 5), &[], 3).await;
    check_list(
        store,
        f(Some("hanbit"), None, None, 100, 0),
        &["BNK-001"],
        1,
    )
    .await;
    check_list(store, f(Some("NURI"), None, None, 100, 0), &["SEC-001"], 1).await;
    check_list(store, f(Some("다솔"), None, None, 100, 0), &["INS-001"], 1).await;
    check_list(store, f(Some("sec-0"), None, None, 100, 0), &["SEC-001"], 1).await;
    check_list(
        store,
        f(Some("   "), None, None, 100, 0),
        &["BNK-001", "SEC-001", "INS-001"],
        3,
    )
    .await;
    check_list(
        store,
        f(Some("nothing like it"), None, None, 100, 0),
        &[],
        0,
    )
    .await;
    check_list(
        store,
        f(None, Some("insurance"), None, 100, 0),
        &["INS-001"],
        1,
    )
    .await;
    check_list(
        store,
        f(Some("bank"), Some("bank"), None, 100, 0),
        &["BNK-001"],
        1,
    )
    .await;
    check_list(store, f(None, None, Some(true), 100, 0), &["BNK-001"], 1).await;
    check_list(store, f(None, None, Some(false), 100, 0), &["SEC-001"], 1).await;
    check_list(store, f(Some("누리"), None, Some(true), 100, 0), &[], 0).await;
}

async fn users_and_tokens(store: &Store) {
    let inst = add_institution(
        store,
        &institution(
            "BNK-002",
            "가람은행",
            "Garam Bank",
            Sector::Bank,
            1,
            1,
            false,
        ),
    )
    .await;
    let officer = add_user(store, "officer.lee", Role::RegulatorOfficer, None).await;
    let ciso = add_user(store, "ciso.garam", Role::Ciso, Some(inst)).await;
    let mut tx = store.begin().await.unwrap();
    let dup = tx
        .insert_user(&NewUser {
            username: "officer.lee".into(),
            display_name: "another".into(),
            role: Role::Auditor,
            institution_id: None,
            password_hash: None,
        })
        .await;
    assert_duplicate(dup, "second user with the same username");
    drop(tx);

    let u = haechi_store::get_user(store.pool(), ciso)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            u.username.as_str(),
            u.display_name.as_str(),
            u.role,
            u.institution_id,
            u.disabled
        ),
        ("ciso.garam", "ciso.garam 님", Role::Ciso, Some(inst), false)
    );
    assert_eq!(
        haechi_store::get_user_by_username(store.pool(), "officer.lee")
            .await
            .unwrap()
            .unwrap()
            .id,
        officer
    );
    assert!(haechi_store::get_user_by_username(store.pool(), "nobody")
        .await
        .unwrap()
        .is_none());
    assert!(haechi_store::get_user(store.pool(), ciso + 100)
        .await
        .unwrap()
        .is_none());
    let ids = |v: Vec<haechi_store::User>| v.into_iter().map(|u| u.id).collect::<Vec<_>>();
    assert_eq!(
        ids(haechi_store::list_users(store.pool(), None).await.unwrap()),
        vec![officer, ciso]
    );
    assert_eq!(
        ids(haechi_store::list_users(store.pool(), Some(Role::Ciso))
            .await
            .unwrap()),
        vec![ciso]
    );
    assert!(haechi_store::list_users(store.pool(), Some(Role::Advisor))
        .await
        .unwrap()
        .is_empty());

    let sha_ciso = hex::encode(Sha256::digest(b"token-of-the-ciso"));
    let sha_officer = hex::encode(Sha256::digest(b"token-of-the-officer"));
    let mut tx = store.begin().await.unwrap();
    let t1 = tx.insert_token(ciso, &sha_ciso, "uploader").await.unwrap();
    let t2 = tx
        .insert_token(officer, &sha_officer, "batch")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_ne!(t1, t2);
    assert_eq!(
        haechi_store::user_by_token_sha256(store.pool(), &sha_ciso)
            .await
            .unwrap(),
        Some(u)
    );
    assert_eq!(
        haechi_store::user_by_token_sha256(store.pool(), &sha_officer)
            .await
            .unwrap()
            .unwrap()
            .id,
        officer
    );
    let unknown = hex::encode(Sha256::digest(b"never issued"));
    assert!(haechi_store::user_by_token_sha256(store.pool(), &unknown)
        .await
        .unwrap()
        .is_none());
    // The store has no revocation use case yet; a revoked token (and a disabled user) must not
    // authenticate, whoever set the column.
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2")
        .bind(haechi_store::now_text())
        .bind(t1)
        .execute(store.pool())
        .await
        .unwrap();
    assert!(
        haechi_store::user_by_token_sha256(store.pool(), &sha_ciso)
            .await
            .unwrap()
            .is_none(),
        "revoked token"
    );
    sqlx::query("UPDATE users SET disabled = 1 WHERE id = $1")
        .bind(officer)
        .execute(store.pool())
        .await
        .unwrap();
    assert!(
        haechi_store::user_by_token_sha256(store.pool(), &sha_officer)
            .await
            .unwrap()
            .is_none(),
        "disabled user"
    );
    assert!(
        haechi_store::get_user(store.pool(), officer)
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
}

async fn applications(store: &Store) {
    use ApplicationState as S;
    let a = add_institution(
        store,
        &institution(
            "BNK-003",
            "바다은행",
            "Bada Bank",
            Sector::Bank,
            20,
            2000,
            true,
        ),
    )
    .await;
    let b = add_institution(
        store,
        &institution(
            "CRD-001",
            "별카드",
            "Byeol Card",
            Sector::Card,
            10,
            1000,
            true,
        ),
    )
    .await;
    let app = add_application(store, a).await;
    let got = haechi_store::get_application(store.pool(), app)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (got.institution_id, got.institution_name.as_str(), got.state),
        (a, "바다은행", S::Draft)
    );
    assert_eq!(
        (got.submitted_at.as_deref(), got.cohort_phase.as_deref()),
        (None, None)
    );
    assert_eq!(
        serde_json::to_value(&got.content).unwrap(),
        content("망분리 대체 통제: 접근통제와 로그 점검")
    );
    assert!(haechi_store::get_application(store.pool(), app + 100)
        .await
        .unwrap()
        .is_none());

    let mut tx = store.begin().await.unwrap();
    tx.update_application_content(
        app,
        &content("개정된 내부통제: 망 간 자료 전송 승인 절차"),
        &haechi_store::now_text(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let edited = haechi_store::get_application(store.pool(), app)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        edited.content.internal_controls,
        "개정된 내부통제: 망 간 자료 전송 승인 절차"
    );
    assert!(edited.updated_at >= got.updated_at);

    // A transition from the right state works and records its event.
    let at = "2026-07-01T10:00:00.000000Z";
    let mut tx = store.begin().await.unwrap();
    tx.transition_application(
        app,
        "submit",
        S::Draft,
        S::Submitted,
        "ciso.bada",
        None,
        Some(at),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let sub = haechi_store::get_application(store.pool(), app)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            sub.state,
            sub.submitted_at.as_deref(),
            sub.updated_at.as_str()
        ),
        (S::Submitted, Some(at), at)
    );

    // From a stale state: NotFound, and nothing changes (no state, no event).
    let mut tx = store.begin().await.unwrap();
    let stale = tx
        .transition_application(
            app,
            "submit",
            S::Draft,
            S::Submitted,
            "ciso.bada",
            None,
            None,
        )
        .await;
    assert!(matches!(stale, Err(StoreError::NotFound)), "{stale:?}");
    let missing = tx
        .transition_application(app + 100, "submit", S::Draft, S::Submitted, "x", None, None)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    tx.commit().await.unwrap();
    assert_eq!(
        haechi_store::get_application(store.pool(), app)
            .await
            .unwrap()
            .unwrap(),
        sub
    );
    assert_eq!(
        haechi_store::application_events(store.pool(), app)
            .await
            .unwrap()
            .len(),
        1
    );

    // Returned for correction: back to draft, the comment kept, the first submission time too.
    let mut tx = store.begin().await.unwrap();
    tx.transition_application(
        app,
        "return_for_correction",
        S::Submitted,
        S::Draft,
        "officer.kim",
        Some("증빙 보완 필요"),
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let back = haechi_store::get_application(store.pool(), app)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (back.state, back.submitted_at.as_deref()),
        (S::Draft, Some(at))
    );
    let events = haechi_store::application_events(store.pool(), app)
        .await
        .unwrap();
    let seen: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.from_state.as_str(),
                e.to_state.as_str(),
                e.actor_name.as_str(),
                e.comment.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("submit", "draft", "submitted", "ciso.bada", None),
            (
                "return_for_correction",
                "submitted",
                "draft",
                "officer.kim",
                Some("증빙 보완 필요")
            ),
        ]
    );
    assert_eq!(events[0].at, at);

    // Attachments keep their bytes exactly, including bytes that are not UTF-8.
    let mut pdf: Vec<u8> = b"%PDF-1.7\n\xff\xfe\x00\x80".to_vec();
    pdf.extend((0..=255u8).rev());
    pdf.extend("증빙 자료".as_bytes());
    let files: [(&str, &str, Vec<u8>); 3] = [
        ("evidence.pdf", "application/pdf", pdf),
        ("빈 파일.txt", "text/plain", Vec::new()),
        ("zeros.bin", "application/octet-stream", vec![0u8; 70_000]),
    ];
    let mut ids = Vec::new();
    let mut tx = store.begin().await.unwrap();
    for (name, ctype, data) in &files {
        let sha = hex::encode(Sha256::digest(data));
        ids.push(
            tx.insert_attachment(app, name, ctype, &sha, data, "staff.bada")
                .await
                .unwrap(),
        );
    }
    tx.commit().await.unwrap();
    let listed = haechi_store::list_attachments(store.pool(), app)
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|m| m.id).collect::<Vec<_>>(), ids);
    for ((name, ctype, data), id) in files.iter().zip(&ids) {
        let (meta, bytes) = haechi_store::get_attachment(store.pool(), *id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&bytes, data, "{name}: bytes");
        assert_eq!(
            (
                meta.filename.as_str(),
                meta.content_type.as_str(),
                meta.size_bytes,
                meta.sha256.clone(),
                meta.application_id
            ),
            (
                *name,
                *ctype,
                data.len() as i64,
                hex::encode(Sha256::digest(data)),
                app
            )
        );
        assert_eq!(listed.iter().find(|m| m.id == *id), Some(&meta));
    }
    assert!(haechi_store::get_attachment(store.pool(), ids[2] + 100)
        .await
        .unwrap()
        .is_none());
    assert!(haechi_store::list_attachments(store.pool(), app + 100)
        .await
        .unwrap()
        .is_empty());

    // Counts by state, and the list filters.
    let app2 = add_application(store, a).await;
    walk(store, app2, &TO_UNDER_REVIEW).await;
    let app3 = add_application(store, b).await;
    walk(store, app3, &[S::Submitted]).await;
    let app4 = add_application(store, b).await;
    walk(store, app4, &[S::Withdrawn]).await;
    let counts = haechi_store::count_applications_by_state(store.pool())
        .await
        .unwrap();
    let expected: Vec<(String, i64)> = [
        ("draft", 1),
        ("submitted", 1),
        ("under_review", 1),
        ("withdrawn", 1),
    ]
    .iter()
    .map(|(s, n)| (s.to_string(), *n))
    .collect();
    assert_eq!(counts, expected);
    let advisor = add_user(store, "advisor.choi", Role::Advisor, None).await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_assignment(app2, advisor, "officer.kim")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let cases: [(ApplicationFilter, &[i64], i64); 8] = [
        (
            ApplicationFilter {
                limit: 100,
                ..Default::default()
            },
            &[app4, app3, app2, app],
            4,
        ),
        (
            ApplicationFilter {
                limit: 2,
                offset: 1,
                ..Default::default()
            },
            &[app3, app2],
            4,
        ),
        (
            ApplicationFilter {
                institution_id: Some(a),
                limit: 100,
                ..Default::default()
            },
            &[app2, app],
            2,
        ),
        (
            ApplicationFilter {
                state: Some(S::Submitted),
                limit: 100,
                ..Default::default()
            },
            &[app3],
            1,
        ),
        (
            ApplicationFilter {
                institution_id: Some(b),
                state: Some(S::Draft),
                limit: 100,
                ..Default::default()
            },
            &[],
            0,
        ),
        (
            ApplicationFilter {
                advisor_id: Some(advisor),
                limit: 100,
                ..Default::default()
            },
            &[app2],
            1,
        ),
        (
            ApplicationFilter {
                advisor_id: Some(advisor + 100),
                limit: 100,
                ..Default::default()
            },
            &[],
            0,
        ),
        (
            ApplicationFilter {
                institution_id: Some(b),
                limit: 0,
                ..Default::default()
            },
            &[app4],
            2,
        ),
    ];
    for (f, expect, total) in cases {
        let (page, n) = haechi_store::list_applications(store.pool(), &f)
            .await
            .unwrap();
        assert_eq!(
            (page.iter().map(|x| x.id).collect::<Vec<_>>().as_slice(), n),
            (expect, total),
            "{f:?}"
        );
    }
}

async fn reviews_evaluations_decisions(store: &Store) {
    let pv = policy_version(store).await;
    let inst = add_institution(
        store,
        &institution(
            "SEC-002",
            "하늘증권",
            "Haneul Securities",
            Sector::Securities,
            15,
            1500,
            true,
        ),
    )
    .await;
    let app = add_application(store, inst).await;
    walk(store, app, &TO_UNDER_REVIEW).await;
    let a1 = add_user(store, "advisor.one", Role::Advisor, None).await;
    let a2 = add_user(store, "advisor.two", Role::Advisor, None).await;
    let a3 = add_user(store, "advisor.three", Role::Advisor, None).await;
    let mut tx = store.begin().await.unwrap();
    let s1 = tx.insert_assignment(app, a1, "officer.kim").await.unwrap();
    let s2 = tx.insert_assignment(app, a2, "officer.kim").await.unwrap();
    let s3 = tx.insert_assignment(app, a3, "officer.kim").await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_duplicate(
        tx.insert_assignment(app, a1, "officer.park").await,
        "the same advisor twice",
    );
    drop(tx);

    let listed = haechi_store::assignments_for_application(store.pool(), app)
        .await
        .unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|x| (x.id, x.advisor_id))
            .collect::<Vec<_>>(),
        vec![(s1, a1), (s2, a2), (s3, a3)]
    );
    assert_eq!(listed[0].advisor_name, "advisor.one 님");
    assert!(listed
        .iter()
        .all(|x| x.conflict.is_none() && x.declared_at.is_none() && x.submitted_at.is_none()));

    let mut tx = store.begin().await.unwrap();
    tx.declare_conflict(s1, false, None).await.unwrap();
    tx.declare_conflict(s2, false, None).await.unwrap();
    tx.declare_conflict(s3, true, Some("최근 3년 내 해당 기관 자문"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let third = &haechi_store::assignments_for_advisor(store.pool(), a3)
        .await
        .unwrap()[0];
    assert_eq!(
        (third.conflict, third.conflict_note.as_deref()),
        (Some(true), Some("최근 3년 내 해당 기관 자문"))
    );
    assert!(third.declared_at.is_some());

    let sc = |c: &str, s: i64, j: &str| (c.to_string(), s, j.to_string());
    // A draft review: stored, but not counted.
    let mut tx = store.begin().await.unwrap();
    tx.save_scores(
        s1,
        &[sc("governance", 3, "체계 수립"), sc("protect", 4, "우수")],
        false,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        haechi_store::scores_of_assignment(store.pool(), s1)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(
        haechi_store::submitted_scores(store.pool(), app)
            .await
            .unwrap()
            .is_empty(),
        "a draft review counted"
    );
    // Saving again replaces; submitting makes it count. The conflicted review never counts.
    let mut tx = store.begin().await.unwrap();
    tx.save_scores(s1, &[sc("governance", 2, "보완 필요")], true)
        .await
        .unwrap();
    tx.save_scores(
        s2,
        &[sc("governance", 4, "선도적"), sc("detect", 1, "미흡")],
        true,
    )
    .await
    .unwrap();
    tx.save_scores(s3, &[sc("governance", 1, "conflicted")], true)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mine: Vec<_> = haechi_store::scores_of_assignment(store.pool(), s1)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.advisor_id, r.criterion, r.score, r.justification))
        .collect();
    assert_eq!(
        mine,
        vec![(a1, "governance".to_string(), 2, "보완 필요".to_string())]
    );
    let counted: Vec<_> = haechi_store::submitted_scores(store.pool(), app)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.advisor_id, r.criterion, r.score))
        .collect();
    assert_eq!(
        counted,
        vec![
            (a1, "governance".to_string(), 2),
            (a2, "detect".to_string(), 1),
            (a2, "governance".to_string(), 4)
        ]
    );
    let by_a1 = haechi_store::assignments_for_advisor(store.pool(), a1)
        .await
        .unwrap();
    assert_eq!(by_a1.len(), 1);
    assert!(by_a1[0].submitted_at.is_some());

    // Evaluation: upsert replaces; floats and booleans round-trip.
    assert!(haechi_store::get_evaluation(store.pool(), app)
        .await
        .unwrap()
        .is_none());
    let mut eval = EvaluationRecord {
        application_id: app,
        policy_version: pv,
        passed: false,
        score: 2.5,
        disagreement: true,
        result: serde_json::json!({"mean": 2.5, "flags": ["spread"]}),
        computed_at: "2026-08-01T10:00:00.000001Z".into(),
    };
    let mut tx = store.begin().await.unwrap();
    tx.upsert_evaluation(&eval).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        haechi_store::get_evaluation(store.pool(), app)
            .await
            .unwrap(),
        Some(eval.clone())
    );
    eval.score = 5.0 / 3.0;
    eval.passed = true;
    eval.disagreement = false;
    eval.result = serde_json::json!({"mean": 5.0 / 3.0});
    let mut tx = store.begin().await.unwrap();
    tx.upsert_evaluation(&eval).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        haechi_store::get_evaluation(store.pool(), app)
            .await
            .unwrap(),
        Some(eval)
    );
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM evaluations")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(n, 1);

    // Decision: one per application.
    assert!(haechi_store::get_decision(store.pool(), app)
        .await
        .unwrap()
        .is_none());
    let decision = DecisionRecord {
        application_id: app,
        outcome: "approved".into(),
        rationale: "평가 기준 충족; 내부통제 계획 적정".into(),
        follows_evaluation: true,
        policy_version: pv,
        decided_by: "officer.kim".into(),
        decided_on: "2026-08-10".into(),
        decided_at: "2026-08-10T15:30:00.000000Z".into(),
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_decision(&decision).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        haechi_store::get_decision(store.pool(), app).await.unwrap(),
        Some(decision.clone())
    );
    let mut tx = store.begin().await.unwrap();
    assert_duplicate(
        tx.insert_decision(&DecisionRecord {
            outcome: "rejected".into(),
            ..decision.clone()
        })
        .await,
        "second decision",
    );
    drop(tx);
    assert_eq!(
        haechi_store::get_decision(store.pool(), app).await.unwrap(),
        Some(decision)
    );
}

/// An approved application with its evaluation score and decision.
async fn approved(
    store: &Store,
    pv: i64,
    institution_id: i64,
    score: f64,
    decided_on: &str,
) -> i64 {
    use ApplicationState as S;
    let app = add_application(store, institution_id).await;
    walk(
        store,
        app,
        &[
            S::Submitted,
            S::Screening,
            S::UnderReview,
            S::Evaluated,
            S::Approved,
        ],
    )
    .await;
    let mut tx = store.begin().await.unwrap();
    tx.upsert_evaluation(&EvaluationRecord {
        application_id: app,
        policy_version: pv,
        passed: true,
        score,
        disagreement: false,
        result: serde_json::json!({}),
        computed_at: haechi_store::now_text(),
    })
    .await
    .unwrap();
    tx.insert_decision(&DecisionRecord {
        application_id: app,
        outcome: "approved".into(),
        rationale: "ok".into(),
        follows_evaluation: true,
        policy_version: pv,
        decided_by: "officer.kim".into(),
        decided_on: decided_on.into(),
        decided_at: haechi_store::now_text(),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
    app
}

async fn cohorts(store: &Store) {
    let pv = policy_version(store).await;
    let i1 = add_institution(
        store,
        &institution("BNK-010", "가은행", "Ga Bank", Sector::Bank, 30, 3000, true),
    )
    .await;
    let i2 = add_institution(
        store,
        &institution("BNK-011", "나은행", "Na Bank", Sector::Bank, 20, 2000, true),
    )
    .await;
    let i3 = add_institution(
        store,
        &institution("BNK-012", "다은행", "Da Bank", Sector::Bank, 10, 1000, true),
    )
    .await;
    let x1 = approved(store, pv, i1, 3.1, "2026-06-10").await;
    let x2 = approved(store, pv, i2, 2.75, "2026-06-11").await;
    let x3 = approved(store, pv, i3, 3.9, "2026-06-12").await;
    let draft = add_application(store, i3).await;

    let candidates = haechi_store::approved_applications(store.pool())
        .await
        .unwrap();
    let seen: Vec<_> = candidates
        .iter()
        .map(|c| {
            (
                c.application_id,
                c.institution_id,
                c.institution_name.as_str(),
                c.score,
                c.passed,
                c.decided_on.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (x1, i1, "가은행", 3.1, true, "2026-06-10"),
            (x2, i2, "나은행", 2.75, true, "2026-06-11"),
            (x3, i3, "다은행", 3.9, true, "2026-06-12")
        ]
    );
    assert!(candidates.iter().all(|c| c.cohort_phase.is_none()));
    assert!(!candidates.iter().any(|c| c.application_id == draft));

    let plan = serde_json::json!({"included": [x3, x1], "excluded": [{"application_id": x2, "reason": "capacity"}]});
    let at = "2026-06-20T09:00:00.000000Z";
    let mut tx = store.begin().await.unwrap();
    tx.insert_cohort("phase-1", pv, &plan, "officer.kim", &[x3, x1], Some(at))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let cohorts = haechi_store::list_cohorts(store.pool()).await.unwrap();
    assert_eq!(cohorts.len(), 1);
    let c = &cohorts[0];
    assert_eq!(
        (
            c.phase_id.as_str(),
            c.policy_version,
            &c.plan,
            c.confirmed_by.as_str(),
            c.confirmed_at.as_str()
        ),
        ("phase-1", pv, &plan, "officer.kim", at)
    );
    assert_eq!(
        c.members,
        vec![x3, x1],
        "members in rank order, not id order"
    );
    let phase = |id| async move {
        haechi_store::get_application(store.pool(), id)
            .await
            .unwrap()
            .unwrap()
            .cohort_phase
    };
    assert_eq!(
        (phase(x1).await, phase(x2).await, phase(x3).await),
        (Some("phase-1".into()), None, Some("phase-1".into()))
    );
    let candidates = haechi_store::approved_applications(store.pool())
        .await
        .unwrap();
    assert_eq!(
        candidates
            .iter()
            .map(|c| c.cohort_phase.clone())
            .collect::<Vec<_>>(),
        vec![Some("phase-1".into()), None, Some("phase-1".into())]
    );

    // A second cohort for the same phase is refused, and its members are left alone.
    let mut tx = store.begin().await.unwrap();
    assert_duplicate(
        tx.insert_cohort("phase-1", pv, &plan, "officer.park", &[x2], None)
            .await,
        "second cohort for phase-1",
    );
    drop(tx);
    assert_eq!(phase(x2).await, None);
    assert_eq!(
        haechi_store::list_cohorts(store.pool()).await.unwrap(),
        cohorts
    );

    let mut tx = store.begin().await.unwrap();
    tx.insert_cohort(
        "phase-2",
        pv,
        &serde_json::json!({}),
        "officer.park",
        &[x2],
        None,
    )
    .await
    .unwrap();
    tx.set_cohort_phase(draft, "phase-2").await.unwrap();
    tx.commit().await.unwrap();
    let all = haechi_store::list_cohorts(store.pool()).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|c| (c.phase_id.as_str(), c.members.clone()))
            .collect::<Vec<_>>(),
        vec![("phase-1", vec![x3, x1]), ("phase-2", vec![x2])]
    );
    assert_eq!(phase(draft).await, Some("phase-2".into()));
}

/// New findings written batch after batch through one `FindingsWriter`, as an import does:
/// contiguous ids in order, each finding with exactly its CWE rows (carried from batch to batch
/// until a full statement can go, the rest at the end) and its priority row, and the bulk
/// transaction's connection closed when it ends.
async fn bulk_insert_in_batches(store: &Store) {
    let inst = add_institution(
        store,
        &institution("BLK", "벌크", "Bulk", Sector::Bank, 1, 1, true),
    )
    .await;
    let cwe_sets = [",", ",79,", ",79,89,", ",22,"];
    let rows: Vec<haechi_store::FindingValues> = (0..2500u32)
        .map(|i| {
            let mut fingerprint = [0u8; 16];
            fingerprint[..4].copy_from_slice(&i.to_be_bytes());
            haechi_store::FindingValues {
                fingerprint,
                resource_id: None,
                tool_name: "tool".into(),
                ai_model: None,
                ai_model_version: None,
                ai_origin: "conventional",
                exploit_evidence: None,
                rule_id: Some(format!("rule-{}", i % 7)),
                level: "warning",
                severity: "medium",
                security_severity: None,
                cwes: cwe_sets[(i % 4) as usize].into(),
                cves: if i % 5 == 0 {
                    ",CVE-2024-0001,".into()
                } else {
                    ",".into()
                },
                message: format!("finding {i}"),
                location: Some(format!("src/f{i}.rs:1:1")),
                snippet: None,
                code_flow: None,
                content_hash: fingerprint,
            }
        })
        .collect();
    let expected_cwes: usize = rows
        .iter()
        .map(|r| r.cwes.split(',').filter(|c| !c.is_empty()).count())
        .sum();

    let scope = haechi_store::ImportScope {
        institution_id: inst,
        resource_id: None,
        import_id: 1,
        now: haechi_store::now_text(),
    };
    // Two idle connections, so that whatever else uses the pool meanwhile (SQLite's
    // checkpointer) finds one and opens none.
    let (c1, c2) = (
        store.pool().acquire().await.unwrap(),
        store.pool().acquire().await.unwrap(),
    );
    drop((c1, c2));
    let mut tx = store.begin_bulk(8).await.unwrap();
    let open_during = store.bulk_connections();
    assert!(open_during >= 1);
    // SQLite on Linux: the thread that runs the bulk connection's statements works at a lower
    // priority (nice 10) than the request threads of the process (nice 0).
    #[cfg(target_os = "linux")]
    if store.dialect() == Dialect::Sqlite {
        let niced = sqlite_thread_nice_values();
        assert!(
            niced.contains(&10),
            "no SQLite thread at nice 10: {niced:?}"
        );
    }
    let mut writer = tx.findings_writer(&scope).await.unwrap();
    let mut written = 0;
    for batch in rows.chunks(haechi_store::MAX_BATCH) {
        let prepared = writer.prepare(batch, None).unwrap();
        written += tx.run_insert(prepared).await.unwrap();
    }
    written += tx.run_insert(writer.finish().unwrap()).await.unwrap();
    assert_eq!(written, 2500);
    tx.commit().await.unwrap();
    // The bulk connection (its prepared statements, its page cache) is closed, not pooled.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.bulk_connections() >= open_during {
        assert!(
            std::time::Instant::now() < deadline,
            "the bulk transaction's connection went back to the pool ({} open)",
            store.bulk_connections()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let pool = store.pool();
    let (n, min, max): (i64, i64, i64) =
        sqlx::query_as("SELECT COUNT(*), MIN(id), MAX(id) FROM findings WHERE institution_id = $1")
            .bind(inst)
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!((n, max - min + 1), (2500, 2500), "contiguous ids");
    let in_order: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM findings WHERE message = 'finding ' || CAST(id - $1 AS TEXT)",
    )
    .bind(min)
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(in_order, 2500, "ids given in the order of the rows");
    let cwes: (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(CASE WHEN f.cwes LIKE '%,' || CAST(c.cwe AS TEXT) || ',%' AND c.institution_id = f.institution_id THEN 1 END) \
         FROM finding_cwes c JOIN findings f ON f.id = c.finding_id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        cwes,
        (expected_cwes as i64, expected_cwes as i64),
        "each finding has exactly its CWE rows"
    );
    let priorities: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM finding_priorities p JOIN findings f ON f.id = p.finding_id \
         WHERE p.cves = f.cves AND p.severity = f.severity AND p.status = 'open' AND p.digest IS NULL",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        priorities, 2500,
        "each finding has its (undecided) priority row"
    );
}

async fn rolled_back_write_leaves_no_trace(store: &Store) {
    let mut tx = store.begin().await.unwrap();
    tx.audit(record(
        "officer.kim",
        "institution.create",
        "institution",
        "1",
        None,
        serde_json::json!({"n": 1}),
    ))
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let before = store.verify_audit().await.unwrap();
    assert_eq!((before.entries, before.intact), (1, true));

    let mut tx = store.begin().await.unwrap();
    let id = tx
        .insert_institution(&institution(
            "GONE-1",
            "사라질은행",
            "Vanishing Bank",
            Sector::Bank,
            1,
            1,
            false,
        ))
        .await
        .unwrap();
    tx.insert_user(&NewUser {
        username: "ghost".into(),
        display_name: "ghost".into(),
        role: Role::Auditor,
        institution_id: Some(id),
        password_hash: None,
    })
    .await
    .unwrap();
    let seq = tx
        .audit(record(
            "officer.kim",
            "institution.create",
            "institution",
            &id.to_string(),
            Some(id),
            serde_json::json!({}),
        ))
        .await
        .unwrap();
    assert_eq!(seq, 2);
    // Reads inside the transaction see its own writes.
    assert!(haechi_store::get_institution(tx.conn(), id)
        .await
        .unwrap()
        .is_some());
    drop(tx);

    assert!(
        haechi_store::get_institution_by_code(store.pool(), "GONE-1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(haechi_store::get_user_by_username(store.pool(), "ghost")
        .await
        .unwrap()
        .is_none());
    assert_eq!(audit_total(store).await, 1);
    assert_eq!(store.verify_audit().await.unwrap(), before);

    // The next writer is not blocked by the abandoned one and continues the chain at 2.
    let next = tokio::time::timeout(Duration::from_secs(20), async {
        let mut tx = store.begin().await.unwrap();
        let seq = tx
            .audit(record(
                "officer.kim",
                "note",
                "institution",
                "x",
                None,
                serde_json::json!({}),
            ))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        seq
    })
    .await
    .expect("a write after a dropped transaction waited more than 20 s for the write lock");
    assert_eq!(next, 2);
    let after = store.verify_audit().await.unwrap();
    assert_eq!((after.entries, after.intact), (2, true));
}

/// Appends the story's five entries: (actor, action, entity, entity_id, institution).
async fn append_entries(store: &Store) -> Vec<haechi_store::AuditEntry> {
    let rows: [(&str, &str, &str, &str, Option<i64>); 5] = [
        (
            "officer.kim",
            "institution.create",
            "institution",
            "1",
            Some(1),
        ),
        (
            "officer.kim",
            "institution.update",
            "institution",
            "1",
            Some(1),
        ),
        (
            "ciso.hanbit",
            "application.submit",
            "application",
            "9",
            Some(1),
        ),
        (
            "officer.park",
            "institution.create",
            "institution",
            "2",
            Some(2),
        ),
        ("system", "policy.load", "policy", "1", None),
    ];
    for (i, (actor, action, entity, entity_id, inst)) in rows.into_iter().enumerate() {
        let mut tx = store.begin().await.unwrap();
        let mut rec = record(
            actor,
            action,
            entity,
            entity_id,
            inst,
            serde_json::json!({"step": i, "이름": "한빛"}),
        );
        if i == 1 {
            rec.before = Some(serde_json::json!({"step": 0}));
        }
        if i == 4 {
            rec.after = None;
        }
        let seq = tx.audit(rec).await.unwrap();
        assert_eq!(seq, i as i64 + 1);
        tx.commit().await.unwrap();
    }
    let (mut entries, total) = store
        .audit_entries(&AuditFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(total, 5);
    entries.reverse();
    entries
}

async fn audit_chain_detects_tampering(store: &Store) {
    let entries = append_entries(store).await;
    assert_eq!(
        entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(entries[0].prev_hash, "0".repeat(64));
    for w in entries.windows(2) {
        assert_eq!(
            w[1].prev_hash, w[0].hash,
            "entry {} links to {}",
            w[1].seq, w[0].seq
        );
    }
    assert_eq!(
        entries[1].before_json.as_deref(),
        Some(serde_json::json!({"step": 0}).to_string().as_str())
    );
    assert_eq!(
        entries[2].after_json.as_deref(),
        Some(
            serde_json::json!({"step": 2, "이름": "한빛"})
                .to_string()
                .as_str()
        )
    );
    assert_eq!(
        (entries[4].after_json.as_deref(), entries[4].institution_id),
        (None, None)
    );
    assert_eq!(
        (entries[2].actor_id, entries[2].actor_role.as_str()),
        (7, "regulator_officer")
    );
    let intact = store.verify_audit().await.unwrap();
    assert_eq!(
        intact,
        haechi_store::AuditVerification {
            entries: 5,
            intact: true,
            first_bad: None,
            verified_from: 0,
            last_hash: entries[4].hash.clone(),
        }
    );

    // Filters and pages, newest first.
    let filter = |entity: Option<&str>,
                  entity_id: Option<&str>,
                  actor: Option<&str>,
                  action: Option<&str>,
                  inst: Option<i64>,
                  limit: i64,
                  offset: i64| AuditFilter {
        entity: entity.map(str::to_string),
        entity_id: entity_id.map(str::to_string),
        actor_name: actor.map(str::to_string),
        action: action.map(str::to_string),
        institution_id: inst,
        limit,
        offset,
    };
    let cases: [(AuditFilter, &[i64], i64); 9] = [
        (
            filter(None, None, None, None, None, 100, 0),
            &[5, 4, 3, 2, 1],
            5,
        ),
        (filter(None, None, None, None, None, 2, 1), &[4, 3], 5),
        (filter(None, None, None, None, None, 0, 0), &[5], 5),
        (
            filter(Some("institution"), None, None, None, None, 100, 0),
            &[4, 2, 1],
            3,
        ),
        (
            filter(Some("institution"), Some("1"), None, None, None, 100, 0),
            &[2, 1],
            2,
        ),
        (
            filter(None, None, Some("officer.kim"), None, None, 100, 0),
            &[2, 1],
            2,
        ),
        (
            filter(None, None, None, Some("institution.create"), None, 100, 0),
            &[4, 1],
            2,
        ),
        (filter(None, None, None, None, Some(1), 1, 1), &[2], 3),
        (
            filter(
                Some("application"),
                None,
                Some("ciso.hanbit"),
                Some("application.submit"),
                Some(1),
                100,
                0,
            ),
            &[3],
            1,
        ),
    ];
    for (f, seqs, total) in cases {
        let (page, n) = store.audit_entries(&f).await.unwrap();
        assert_eq!(
            (page.iter().map(|e| e.seq).collect::<Vec<_>>().as_slice(), n),
            (seqs, total),
            "{f:?}"
        );
    }

    // Tampering through SQL, each case undone before the next: (what, the change, the entry
    // the verifier must name, a word of its reason).
    let e3 = entries[2].clone();
    let e5 = entries[4].clone();
    let update_after = |seq: i64, v: &str| {
        sqlx::query("UPDATE audit_log SET after_json = $1 WHERE seq = $2")
            .bind(v.to_string())
            .bind(seq)
            .execute(store.pool())
    };
    update_after(3, r#"{"step":2,"이름":"누리"}"#)
        .await
        .unwrap();
    check_broken(store, "after_json of entry 3 altered", 3, "altered").await;
    update_after(3, e3.after_json.as_deref().unwrap())
        .await
        .unwrap();
    assert!(
        store.verify_audit().await.unwrap().intact,
        "restoring entry 3 restores the chain"
    );

    sqlx::query("UPDATE audit_log SET actor_name = 'someone.else' WHERE seq = 1")
        .execute(store.pool())
        .await
        .unwrap();
    check_broken(store, "actor of entry 1 altered", 1, "altered").await;
    sqlx::query("UPDATE audit_log SET actor_name = 'officer.kim' WHERE seq = 1")
        .execute(store.pool())
        .await
        .unwrap();

    sqlx::query("DELETE FROM audit_log WHERE seq = 3")
        .execute(store.pool())
        .await
        .unwrap();
    check_broken(store, "entry 3 deleted", 3, "missing").await;
    reinsert(store, &e3).await;
    assert!(store.verify_audit().await.unwrap().intact);

    sqlx::query("DELETE FROM audit_log WHERE seq = 5")
        .execute(store.pool())
        .await
        .unwrap();
    check_broken(store, "newest entry deleted, audit_head left", 5, "removed").await;
    reinsert(store, &e5).await;
    assert_eq!(store.verify_audit().await.unwrap(), intact);

    // Re-hashing an altered entry does not help: the next entry's link names it.
    sqlx::query("UPDATE audit_log SET hash = $1 WHERE seq = 2")
        .bind("f".repeat(64))
        .execute(store.pool())
        .await
        .unwrap();
    let v = store.verify_audit().await.unwrap();
    assert!(!v.intact);
    assert!(matches!(v.first_bad, Some((2, _)) | Some((3, _))), "{v:?}");
}

async fn check_broken(store: &Store, what: &str, seq: i64, word: &str) {
    let v = store.verify_audit().await.unwrap();
    assert!(!v.intact, "{what}: verify_audit says intact");
    let (bad, why) = v
        .first_bad
        .clone()
        .unwrap_or_else(|| panic!("{what}: no first_bad in {v:?}"));
    assert_eq!(bad, seq, "{what}: {why}");
    assert!(why.contains(word), "{what}: reason '{why}' lacks '{word}'");
}

async fn reinsert(store: &Store, e: &haechi_store::AuditEntry) {
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor_id, actor_name, actor_role, action, entity, entity_id, institution_id, before_json, after_json, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(e.seq)
    .bind(&e.at)
    .bind(e.actor_id)
    .bind(&e.actor_name)
    .bind(&e.actor_role)
    .bind(&e.action)
    .bind(&e.entity)
    .bind(&e.entity_id)
    .bind(e.institution_id)
    .bind(&e.before_json)
    .bind(&e.after_json)
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .execute(store.pool())
    .await
    .unwrap();
}

// ---------------------------------------------------------------- copying an instance

/// Fills `store` through the stories that leave an intact chain, plus audit entries.
async fn fill(store: &Store) {
    policy_versions(store).await;
    institutions_and_eligibility(store).await;
    users_and_tokens(store).await;
    // The remaining stories assume their own fresh counts; their data is written directly.
    let pv = policy_version(store).await;
    let inst = haechi_store::get_institution_by_code(store.pool(), "BNK-001")
        .await
        .unwrap()
        .unwrap()
        .id;
    let app = add_application(store, inst).await;
    walk(store, app, &TO_UNDER_REVIEW).await;
    let advisor = add_user(store, "advisor.copy", Role::Advisor, None).await;
    let mut tx = store.begin().await.unwrap();
    let s = tx
        .insert_assignment(app, advisor, "officer.kim")
        .await
        .unwrap();
    tx.declare_conflict(s, false, None).await.unwrap();
    tx.save_scores(s, &[("governance".into(), 3, "양호".into())], true)
        .await
        .unwrap();
    tx.insert_attachment(
        app,
        "증빙.bin",
        "application/octet-stream",
        &"0".repeat(64),
        b"\x00\xff\xfe\x80 bytes",
        "staff",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let x = approved(store, pv, inst, 3.25, "2026-06-10").await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_cohort(
        "phase-1",
        pv,
        &serde_json::json!({"included": [x]}),
        "officer.kim",
        &[x],
        Some("2026-06-20T09:00:00.000000Z"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    append_entries_after(store).await;
}

async fn append_entries_after(store: &Store) {
    for i in 0..3 {
        let mut tx = store.begin().await.unwrap();
        tx.audit(record(
            "officer.kim",
            "note",
            "institution",
            &i.to_string(),
            Some(1),
            serde_json::json!({"i": i, "메모": "복사"}),
        ))
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
}

async fn table_names(store: &Store) -> Vec<String> {
    let sql = match store.dialect() {
        Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        Dialect::Postgres => "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    };
    sqlx::query_scalar(sql)
        .fetch_all(store.pool())
        .await
        .unwrap()
}

async fn row_counts(store: &Store) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for t in table_names(store).await {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {t}"))
            .fetch_one(store.pool())
            .await
            .unwrap();
        out.insert(t, n);
    }
    out
}

/// Copies a filled SQLite instance into `target` (migrated, empty) and checks the copy.
async fn copy_story(target: &Store) {
    let (source, _dir) = sqlite_store().await;
    fill(&source).await;
    assert!(source.verify_audit().await.unwrap().intact);
    let report = source
        .copy_into(target)
        .await
        .expect("copy_into an empty target");

    // Every table of the schema, with the same number of rows (schema_migrations is each
    // instance's own and was written by its migrate()).
    let (src, dst) = (row_counts(&source).await, row_counts(target).await);
    assert_eq!(
        src.keys().collect::<Vec<_>>(),
        dst.keys().collect::<Vec<_>>(),
        "same tables"
    );
    assert_eq!(src, dst, "row counts (source, target)");
    for (table, rows) in &report.tables {
        assert_eq!(src.get(table), Some(rows), "report for {table}");
    }
    let reported: Vec<&str> = report.tables.iter().map(|(t, _)| t.as_str()).collect();
    for t in src.keys().filter(|t| *t != "schema_migrations") {
        assert!(
            reported.contains(&t.as_str()),
            "table {t} is not copied by copy_into"
        );
    }

    // Records field by field.
    let (s, t) = (source.pool(), target.pool());
    assert_eq!(
        haechi_store::all_institutions(s).await.unwrap(),
        haechi_store::all_institutions(t).await.unwrap()
    );
    assert_eq!(
        haechi_store::list_users(s, None).await.unwrap(),
        haechi_store::list_users(t, None).await.unwrap()
    );
    assert_eq!(
        haechi_store::list_policy_versions(s).await.unwrap(),
        haechi_store::list_policy_versions(t).await.unwrap()
    );
    assert_eq!(
        haechi_store::latest_eligibility(s, None).await.unwrap(),
        haechi_store::latest_eligibility(t, None).await.unwrap()
    );
    assert_eq!(
        haechi_store::list_cohorts(s).await.unwrap(),
        haechi_store::list_cohorts(t).await.unwrap()
    );
    assert_eq!(
        haechi_store::approved_applications(s).await.unwrap(),
        haechi_store::approved_applications(t).await.unwrap()
    );
    let hanbit = haechi_store::get_institution_by_code(t, "BNK-001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        haechi_store::institution_history(s, hanbit.id)
            .await
            .unwrap(),
        haechi_store::institution_history(t, hanbit.id)
            .await
            .unwrap()
    );
    let all = ApplicationFilter {
        limit: 1000,
        ..Default::default()
    };
    let (apps, _) = haechi_store::list_applications(s, &all).await.unwrap();
    assert_eq!(
        apps,
        haechi_store::list_applications(t, &all).await.unwrap().0
    );
    for app in &apps {
        assert_eq!(
            haechi_store::application_events(s, app.id).await.unwrap(),
            haechi_store::application_events(t, app.id).await.unwrap()
        );
        assert_eq!(
            haechi_store::get_evaluation(s, app.id).await.unwrap(),
            haechi_store::get_evaluation(t, app.id).await.unwrap()
        );
        assert_eq!(
            haechi_store::get_decision(s, app.id).await.unwrap(),
            haechi_store::get_decision(t, app.id).await.unwrap()
        );
        assert_eq!(
            haechi_store::assignments_for_application(s, app.id)
                .await
                .unwrap(),
            haechi_store::assignments_for_application(t, app.id)
                .await
                .unwrap()
        );
        assert_eq!(
            haechi_store::submitted_scores(s, app.id).await.unwrap(),
            haechi_store::submitted_scores(t, app.id).await.unwrap()
        );
        for m in haechi_store::list_attachments(s, app.id).await.unwrap() {
            assert_eq!(
                haechi_store::get_attachment(s, m.id).await.unwrap(),
                haechi_store::get_attachment(t, m.id).await.unwrap()
            );
        }
    }
    let sha = hex::encode(Sha256::digest(b"token-of-the-officer"));
    let officer = haechi_store::get_user_by_username(t, "officer.lee")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        haechi_store::user_by_token_sha256(t, &sha).await.unwrap(),
        None,
        "the officer was disabled in the source"
    );
    assert!(officer.disabled);
    let every = AuditFilter {
        limit: 500,
        ..Default::default()
    };
    assert_eq!(
        source.audit_entries(&every).await.unwrap(),
        target.audit_entries(&every).await.unwrap()
    );
    let v = target.verify_audit().await.unwrap();
    assert_eq!(v, source.verify_audit().await.unwrap());
    assert!(v.intact && v.entries > 0, "{v:?}");
    // Row counts and content checksums agree table by table, whichever database each is on.
    let sums = source.table_checksums().await.unwrap();
    assert_eq!(sums, target.table_checksums().await.unwrap());
    assert!(sums.iter().any(|c| c.table == "audit_log" && c.rows > 0));

    // The copy is a working instance: new rows get fresh ids, the chain continues.
    let max_id = |table: &'static str| async move {
        sqlx::query_scalar::<_, Option<i64>>(&format!("SELECT MAX(id) FROM {table}"))
            .fetch_one(t)
            .await
            .unwrap()
            .unwrap_or(0)
    };
    let before: Vec<i64> = {
        let mut v = Vec::new();
        for table in [
            "institutions",
            "users",
            "applications",
            "attachments",
            "review_assignments",
            "application_events",
            "institution_history",
            "eligibility_decisions",
            "api_tokens",
        ] {
            v.push(max_id(table).await);
        }
        v
    };
    let pv = policy_version(target).await;
    let mut tx = target.begin().await.unwrap();
    let inst = tx
        .insert_institution(&institution(
            "NEW-001",
            "새은행",
            "New Bank",
            Sector::Bank,
            1,
            1,
            false,
        ))
        .await
        .expect("insert on the copy");
    let user = tx
        .insert_user(&NewUser {
            username: "new.user".into(),
            display_name: "new".into(),
            role: Role::Advisor,
            institution_id: None,
            password_hash: None,
        })
        .await
        .expect("insert user on the copy");
    let app = tx
        .insert_application(inst, &content("새 신청"), &haechi_store::now_text())
        .await
        .expect("insert application on the copy");
    let att = tx
        .insert_attachment(app, "a.txt", "text/plain", &"0".repeat(64), b"a", "x")
        .await
        .expect("attachment on the copy");
    let asg = tx
        .insert_assignment(app, user, "x")
        .await
        .expect("assignment on the copy");
    tx.transition_application(
        app,
        "submit",
        ApplicationState::Draft,
        ApplicationState::Submitted,
        "x",
        None,
        None,
    )
    .await
    .expect("event on the copy");
    tx.insert_figure_change(&FigureChange {
        institution_id: inst,
        field: "total_assets_krw".into(),
        old_value: "1".into(),
        new_value: "2".into(),
        as_of: None,
        changed_at: haechi_store::now_text(),
        changed_by: "x".into(),
    })
    .await
    .expect("history on the copy");
    tx.insert_eligibility(inst, pv, false, &serde_json::json!({}))
        .await
        .expect("eligibility on the copy");
    let tok = tx
        .insert_token(user, &"9".repeat(64), "x")
        .await
        .expect("token on the copy");
    let seq = tx
        .audit(record(
            "x",
            "institution.create",
            "institution",
            &inst.to_string(),
            Some(inst),
            serde_json::json!({}),
        ))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        (inst, user, app, att, asg),
        (
            before[0] + 1,
            before[1] + 1,
            before[2] + 1,
            before[3] + 1,
            before[4] + 1
        )
    );
    assert!(tok > before[8]);
    assert_eq!(seq, v.entries + 1);
    assert!(target.verify_audit().await.unwrap().intact);

    // A target that holds data is refused, and left as it was.
    let counts = row_counts(target).await;
    let again = source.copy_into(target).await;
    assert!(
        matches!(again, Err(StoreError::Config(_))),
        "copy into a non-empty target: {again:?}"
    );
    assert_eq!(row_counts(target).await, counts);
    source.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_sqlite_into_sqlite() {
    let (target, _dir) = sqlite_store().await;
    copy_story(&target).await;
    target.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_sqlite_into_postgres() {
    on_postgres(|target| async move { copy_story(&target).await }).await;
}

// ---------------------------------------------------------------- identical values

/// What a story wrote, as read back, with the backend-chosen parts (clock times) left out.
async fn written_values(store: &Store) -> serde_json::Value {
    let pv = policy_version(store).await;
    let mut big = institution(
        "BIG-001",
        "초대형 금융지주 ‘한울’ 🏦",
        "Hanul \"Mega\" Holdings; O'Neil & Co.",
        Sector::Fintech,
        9_000_000_000_000_000,
        i64::MAX,
        true,
    );
    big.assets_as_of = date("2024-02-29");
    big.employees_as_of = date("1999-12-31");
    big.size_class = SizeClass::Small;
    big.contact_email = None;
    big.contact_phone = Some("+82-2-0000-0000".into());
    let small = institution("ZERO-1", "영", "Zero", Sector::SavingsBank, 0, 0, false);
    let mut tx = store.begin().await.unwrap();
    let b = tx.insert_institution(&big).await.unwrap();
    let z = tx.insert_institution(&small).await.unwrap();
    tx.insert_eligibility(
        b,
        pv,
        true,
        &serde_json::json!({"observed": 9_000_000_000_000_000i64, "ratio": 0.1, "한글": "값"}),
    )
    .await
    .unwrap();
    tx.insert_eligibility(z, pv, false, &serde_json::json!(null))
        .await
        .unwrap();
    let app = tx
        .insert_application(
            b,
            &content("줄바꿈\n탭\t따옴표 \" 역슬래시 \\ 끝"),
            &haechi_store::now_text(),
        )
        .await
        .unwrap();
    tx.transition_application(
        app,
        "submit",
        ApplicationState::Draft,
        ApplicationState::Submitted,
        "시스템",
        Some("코멘트"),
        Some("2026-02-28T23:59:59.999999Z"),
    )
    .await
    .unwrap();
    tx.upsert_evaluation(&EvaluationRecord {
        application_id: app,
        policy_version: pv,
        passed: true,
        score: 0.1 + 0.2,
        disagreement: true,
        result: serde_json::json!({"min": f64::MIN_POSITIVE, "max": 1.0e300}),
        computed_at: "2026-03-01T00:00:00.000000Z".into(),
    })
    .await
    .unwrap();
    tx.insert_decision(&DecisionRecord {
        application_id: app,
        outcome: "approved".into(),
        rationale: "근거: 평가 결과 충족 ✓".into(),
        follows_evaluation: false,
        policy_version: pv,
        decided_by: "officer.kim".into(),
        decided_on: "2026-03-02".into(),
        decided_at: "2026-03-02T09:00:00+09:00".into(),
    })
    .await
    .unwrap();
    tx.insert_attachment(
        app,
        "파일.bin",
        "application/octet-stream",
        &"0".repeat(64),
        &[0, 255, 128, 10, 13, 0],
        "x",
    )
    .await
    .unwrap();
    tx.audit(AuditRecord {
        before: Some(serde_json::json!({"큰수": 9_000_000_000_000_000i64})),
        ..record(
            "시스템",
            "값.기록",
            "값",
            "1",
            Some(b),
            serde_json::json!([true, false, null]),
        )
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let strip = |mut v: serde_json::Value| {
        if let Some(o) = v.as_object_mut() {
            for k in [
                "created_at",
                "updated_at",
                "uploaded_at",
                "at",
                "hash",
                "prev_hash",
            ] {
                o.remove(k);
            }
        }
        v
    };
    fn to<T: serde::Serialize>(v: &T) -> serde_json::Value {
        serde_json::to_value(v).unwrap()
    }
    let inst_b = haechi_store::get_institution(store.pool(), b)
        .await
        .unwrap()
        .unwrap();
    let inst_z = haechi_store::get_institution(store.pool(), z)
        .await
        .unwrap()
        .unwrap();
    let elig: Vec<_> = haechi_store::latest_eligibility(store.pool(), None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| strip(to(&(e.eligible, e.decision, e.policy_version))))
        .collect();
    let application = haechi_store::get_application(store.pool(), app)
        .await
        .unwrap()
        .unwrap();
    let events = haechi_store::application_events(store.pool(), app)
        .await
        .unwrap();
    let eval = haechi_store::get_evaluation(store.pool(), app)
        .await
        .unwrap()
        .unwrap();
    let decision = haechi_store::get_decision(store.pool(), app)
        .await
        .unwrap()
        .unwrap();
    let (meta, bytes) = haechi_store::get_attachment(
        store.pool(),
        haechi_store::list_attachments(store.pool(), app)
            .await
            .unwrap()[0]
            .id,
    )
    .await
    .unwrap()
    .unwrap();
    let (audit, _) = store
        .audit_entries(&AuditFilter {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    serde_json::json!({
        "institution_big": strip(to(&inst_b)),
        "institution_zero": strip(to(&inst_z)),
        "eligibility": elig,
        "application": strip(to(&application)),
        "events": events.into_iter().map(|e| to(&e)).collect::<Vec<_>>(),
        "evaluation_score_bits": eval.score.to_bits().to_string(),
        "evaluation": to(&eval),
        "decision": to(&decision),
        "attachment": strip(to(&meta)),
        "bytes": bytes,
        "audit": strip(to(&audit[0])),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_read_back_identically_on_both_backends() {
    let (sqlite, _dir) = sqlite_store().await;
    let on_sqlite = written_values(&sqlite).await;
    sqlite.close().await;
    // The values themselves, on SQLite.
    assert_eq!(
        on_sqlite["institution_big"]["total_assets_krw"],
        9_000_000_000_000_000i64
    );
    assert_eq!(
        on_sqlite["institution_big"]["full_time_employees"],
        i64::MAX
    );
    assert_eq!(on_sqlite["institution_big"]["assets_as_of"], "2024-02-29");
    assert_eq!(
        on_sqlite["institution_big"]["name_ko"],
        "초대형 금융지주 ‘한울’ 🏦"
    );
    assert_eq!(on_sqlite["institution_big"]["dedicated_ciso"], true);
    assert_eq!(on_sqlite["institution_zero"]["dedicated_ciso"], false);
    assert_eq!(on_sqlite["evaluation"]["score"], 0.1 + 0.2);
    assert_eq!(
        on_sqlite["decision"]["decided_at"],
        "2026-03-02T09:00:00+09:00"
    );
    assert_eq!(on_sqlite["events"][0]["at"], "2026-02-28T23:59:59.999999Z");
    assert_eq!(
        on_sqlite["bytes"],
        serde_json::json!([0, 255, 128, 10, 13, 0])
    );
    on_postgres(move |pg| async move {
        let on_pg = written_values(&pg).await;
        let (a, b) = (on_sqlite.as_object().unwrap(), on_pg.as_object().unwrap());
        for (key, sqlite_value) in a {
            assert_eq!(
                Some(sqlite_value),
                b.get(key),
                "'{key}' differs between SQLite (left) and PostgreSQL (right)"
            );
        }
        assert_eq!(a.len(), b.len());
    })
    .await;
}

#[test]
fn urls_name_their_backend_and_hide_passwords() {
    let check = |url: &str, expect: Option<Dialect>| {
        assert_eq!(Dialect::from_url(url).ok(), expect, "{url}");
    };
    check("sqlite:///tmp/x.db", Some(Dialect::Sqlite));
    check("sqlite://x.db?mode=ro", Some(Dialect::Sqlite));
    check("postgres://u@h/db", Some(Dialect::Postgres));
    check("postgresql://u@h/db", Some(Dialect::Postgres));
    check("mysql://u@h/db", None);
    check("", None);
    let err = Dialect::from_url("mysql://u:hunter2@h/db")
        .unwrap_err()
        .to_string();
    assert!(
        !err.contains("hunter2") && err.contains("mysql://u:***@h/db"),
        "{err}"
    );
    assert_eq!(
        haechi_store::redact_url("postgres://u:p%40ss@h:5432/db?sslmode=disable"),
        "postgres://u:***@h:5432/db?sslmode=disable"
    );
    assert_eq!(
        haechi_store::redact_url("postgres://u@h/db"),
        "postgres://u@h/db"
    );
    let now = haechi_store::now_text();
    assert!(
        chrono::DateTime::parse_from_rfc3339(&now).is_ok() && now.ends_with('Z') && now.len() == 27,
        "{now}"
    );
}

// ---------------------------------------------------------------- reports (issue #15)

/// A report's versions: compile -> recompile keeps the figures before -> submit freezes it (no
/// path changes a frozen version: the store's draft writes answer "not found" and a raw UPDATE
/// of its content is refused by the database) -> return -> a new version, the old one kept ->
/// accept; only the latest delivered version counts for sector insight.
async fn report_lifecycle(store: &Store) {
    policy_version(store).await;
    let inst = add_institution(
        store,
        &institution(
            "RPT-001",
            "보고은행",
            "Report Bank",
            Sector::Bank,
            20_000_000_000_000,
            2_000,
            true,
        ),
    )
    .await;
    let application = add_application(store, inst).await;
    let mut tx = store.begin().await.unwrap();
    let letter = tx
        .insert_letter_draft(application, inst, Some("phase-1"), "{}", None)
        .await
        .unwrap();
    let obligation = tx
        .insert_obligation(
            letter,
            inst,
            "quarterly",
            1,
            "2026-07-01",
            "2026-09-30",
            "2026-10-30",
        )
        .await
        .unwrap();
    let at = haechi_store::now_text();
    let first = tx
        .insert_report(&haechi_store::NewReport {
            obligation_id: obligation,
            institution_id: inst,
            version: 1,
            figures_json: r#"{"findings":1}"#,
            previous_figures_json: None,
            narrative_json: "{}",
            by: "ciso",
            at: &at,
        })
        .await
        .unwrap();
    tx.recompile_report(first, r#"{"findings":2}"#, r#"{"findings":1}"#, &at)
        .await
        .unwrap();
    tx.write_report_narrative(first, r#"{"risk_ko":"위험"}"#, &at)
        .await
        .unwrap();
    tx.freeze_report(first, &"ab".repeat(32), "ciso", &at)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Frozen: no store path and no raw UPDATE changes its content.
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(
        tx.write_report_narrative(first, "{}", &at).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        tx.recompile_report(first, "{}", "{}", &at).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        tx.freeze_report(first, &"cd".repeat(32), "ciso", &at).await,
        Err(StoreError::NotFound)
    ));
    drop(tx);
    for sql in [
        "UPDATE reports SET figures_json = '{}' WHERE id = $1",
        "UPDATE reports SET narrative_json = '{}' WHERE id = $1",
        "UPDATE reports SET content_hash = NULL WHERE id = $1",
    ] {
        let mut tx = store.begin().await.unwrap();
        let r = sqlx::query(sql).bind(first).execute(tx.conn()).await;
        assert!(r.is_err(), "the database let a frozen report change: {sql}");
    }
    let v = haechi_store::report_versions(store.pool(), obligation)
        .await
        .unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].state, "submitted");
    assert_eq!(v[0].figures_json, r#"{"findings":2}"#);
    assert_eq!(
        v[0].previous_figures_json.as_deref(),
        Some(r#"{"findings":1}"#)
    );
    assert_eq!(v[0].content_hash.as_deref(), Some("ab".repeat(32).as_str()));
    assert_eq!(
        haechi_store::delivered_reports(store.pool(), None)
            .await
            .unwrap()
            .len(),
        1
    );

    // Returned with comments, then a new version is accepted; the old one stays.
    let mut tx = store.begin().await.unwrap();
    tx.decide_report(
        first,
        "returned",
        Some(r#"{"general":"보완"}"#),
        "officer",
        &at,
    )
    .await
    .unwrap();
    assert!(matches!(
        tx.decide_report(first, "accepted", None, "officer", &at)
            .await,
        Err(StoreError::NotFound)
    ));
    let second = tx
        .insert_report(&haechi_store::NewReport {
            obligation_id: obligation,
            institution_id: inst,
            version: 2,
            figures_json: r#"{"findings":3}"#,
            previous_figures_json: Some(r#"{"findings":2}"#),
            narrative_json: r#"{"risk_ko":"위험 보완"}"#,
            by: "ciso",
            at: &at,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // On its own transaction: a failed statement ends a PostgreSQL transaction.
    let mut tx = store.begin().await.unwrap();
    assert!(
        tx.insert_report(&haechi_store::NewReport {
            obligation_id: obligation,
            institution_id: inst,
            version: 2,
            figures_json: "{}",
            previous_figures_json: None,
            narrative_json: "{}",
            by: "ciso",
            at: &at,
        })
        .await
        .is_err(),
        "two versions 2 of one report"
    );
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    tx.freeze_report(second, &"cd".repeat(32), "ciso", &at)
        .await
        .unwrap();
    tx.decide_report(second, "accepted", None, "officer", &at)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let v = haechi_store::report_versions(store.pool(), obligation)
        .await
        .unwrap();
    let states: Vec<(i64, &str)> = v.iter().map(|r| (r.version, r.state.as_str())).collect();
    assert_eq!(states, vec![(1, "returned"), (2, "accepted")]);
    assert_eq!(v[0].review_json.as_deref(), Some(r#"{"general":"보완"}"#));
    let delivered = haechi_store::delivered_reports(store.pool(), Some(inst))
        .await
        .unwrap();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].report.version, 2);
    assert_eq!(delivered[0].sector, "bank");
    assert_eq!(delivered[0].institution_name, "보고은행");

    // The aggregates of an institution with nothing in the period read as zeros.
    let src = haechi_store::report_source(store.pool(), inst, "2026-07-01", "2026-10-01")
        .await
        .unwrap();
    assert!(src.by_severity.is_empty() && src.fixed.is_empty() && src.imports.is_empty());
    assert_eq!(src.patches.records, 0);
}

/// A checkpoint is an entry of the chain vouching for the entry a passing check ended on; the
/// incremental check starts there, still sees any change at or after it (the checkpoint entry
/// included), and refuses a checkpoint whose vouched entry changed; the full walk sees an
/// older entry altered in place, which the incremental one is not meant to see.
async fn audit_checkpoint_verifies_incrementally(store: &Store) {
    let entries = append_entries(store).await;
    // No checkpoint yet: the incremental check is the full walk.
    let first = store.verify_audit_incremental().await.unwrap();
    assert_eq!(first, store.verify_audit().await.unwrap());
    assert_eq!(first.verified_from, 0);

    let rec = |action: &str| haechi_store::AuditRecord {
        actor_id: 0,
        actor_name: "system".into(),
        actor_role: "system".into(),
        action: action.into(),
        entity: "test".into(),
        entity_id: "1".into(),
        institution_id: None,
        before: None,
        after: None,
    };
    // A hash that is not entry 5's is refused; the right one is written as entry 6.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.audit_checkpoint(rec(""), 5, &"f".repeat(64))
            .await
            .unwrap(),
        None
    );
    let cp = tx
        .audit_checkpoint(rec(""), 5, &entries[4].hash)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(cp, Some(6));
    // The same claim again adds nothing.
    let mut tx = store.begin().await.unwrap();
    assert_eq!(
        tx.audit_checkpoint(rec(""), 5, &entries[4].hash)
            .await
            .unwrap(),
        None
    );
    tx.commit().await.unwrap();
    let latest = store.latest_audit_checkpoint().await.unwrap().unwrap();
    assert_eq!(
        (latest.seq, latest.through_seq, latest.through_hash.as_str()),
        (6, 5, entries[4].hash.as_str())
    );
    let mut tx = store.begin().await.unwrap();
    tx.audit(rec("after.checkpoint")).await.unwrap();
    tx.commit().await.unwrap();

    let v = store.verify_audit_incremental().await.unwrap();
    assert!(v.intact, "{v:?}");
    assert_eq!((v.entries, v.verified_from), (7, 5));
    // A checkpoint vouching for the newest checkpoint alone is not written (an idle log).
    let mut tx = store.begin().await.unwrap();
    let six: String = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = 6")
        .fetch_one(tx.conn())
        .await
        .unwrap();
    assert_eq!(tx.audit_checkpoint(rec(""), 6, &six).await.unwrap(), None);
    tx.commit().await.unwrap();

    // The checkpoint entry itself is covered: altering its claim breaks the walk at it.
    let claim: String = sqlx::query_scalar("SELECT after_json FROM audit_log WHERE seq = 6")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let forged = claim.replace("\"through_seq\":5", "\"through_seq\":4");
    assert_ne!(forged, claim);
    sqlx::query("UPDATE audit_log SET after_json = $1 WHERE seq = 6")
        .bind(&forged)
        .execute(store.pool())
        .await
        .unwrap();
    let v = store.verify_audit_incremental().await.unwrap();
    assert!(!v.intact, "{v:?}");
    sqlx::query("UPDATE audit_log SET after_json = $1 WHERE seq = 6")
        .bind(&claim)
        .execute(store.pool())
        .await
        .unwrap();
    assert!(store.verify_audit_incremental().await.unwrap().intact);

    // The vouched entry altered (content and hash): the checkpoint no longer holds.
    sqlx::query("UPDATE audit_log SET hash = $1 WHERE seq = 5")
        .bind("e".repeat(64))
        .execute(store.pool())
        .await
        .unwrap();
    let v = store.verify_audit_incremental().await.unwrap();
    assert!(!v.intact);
    assert_eq!(v.first_bad.as_ref().map(|b| b.0), Some(5), "{v:?}");
    sqlx::query("UPDATE audit_log SET hash = $1 WHERE seq = 5")
        .bind(&entries[4].hash)
        .execute(store.pool())
        .await
        .unwrap();

    // An older entry altered in place: only the full walk sees it.
    sqlx::query("UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 2")
        .execute(store.pool())
        .await
        .unwrap();
    assert!(store.verify_audit_incremental().await.unwrap().intact);
    let full = store.verify_audit().await.unwrap();
    assert!(!full.intact);
    assert_eq!(full.first_bad.map(|b| b.0), Some(2));
}

/// The nice values of this process's SQLite driver threads (`/proc/self/task/*/stat`).
#[cfg(target_os = "linux")]
fn sqlite_thread_nice_values() -> Vec<i64> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = task.unwrap().path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !comm.starts_with("sqlx-sqlite") {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        // After the command's closing parenthesis: state is field 3, nice field 19.
        if let Some(nice) = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(16))
            .and_then(|n| n.parse().ok())
        {
            out.push(nice);
        }
    }
    out
}
