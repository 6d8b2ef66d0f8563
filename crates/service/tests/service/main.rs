//! Integration tests of the use cases over real databases: every story runs on SQLite (a temp
//! file) and on PostgreSQL (a fresh database on the server at `HAECHI_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`; the README's test command provides one). Set
//! `HAECHI_TEST_POSTGRES=skip` to run SQLite only; otherwise an unreachable PostgreSQL fails.

// As clippy.toml says for tests: a panic here is the test failing. Clippy only sees `#[test]`
// functions as tests, not the story helpers beside them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod advisory;
mod bodies;
mod demo;
mod findings;
mod immunity;
mod import_leases;
mod letters;
mod mail;
mod patching;
mod producers;
mod program_admin;
mod report_compile;
mod reports;
mod response_team;
mod sessions;
mod sharing;
mod support;

use std::future::Future;

use haechi_service::{Service, ServiceConfig};
use haechi_store::{with_database, Store};
use rand::Rng;
use sqlx::{Connection, Executor};

/// Opens a migrated store and a service with a fresh letter-signing key.
pub async fn open(url: &str) -> (Store, Service) {
    let store = Store::connect(url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let svc = Service::open(store.clone(), ServiceConfig::default())
        .await
        .expect("open service");
    let svc = svc
        .with_signer(haechi_letter::Keypair::generate())
        .await
        .expect("install signing key");
    (store, svc)
}

/// Runs `story` on a fresh SQLite file, then on a fresh PostgreSQL database (dropped afterwards,
/// even when the story fails).
pub async fn on_both<F, Fut>(story: F)
where
    F: Fn(String) -> Fut + Clone + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    story(format!("sqlite://{}/test.db", dir.path().display())).await;

    if std::env::var("HAECHI_TEST_POSTGRES").as_deref() == Ok("skip") {
        eprintln!("HAECHI_TEST_POSTGRES=skip: the PostgreSQL run of this story is skipped");
        return;
    }
    let admin_url = std::env::var("HAECHI_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    sqlx::any::install_default_drivers();
    let name = format!("haechi_svc_{:016x}", rand::thread_rng().gen::<u64>());
    let mut admin = sqlx::AnyConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} does not answer ({e}); run scripts/test.sh, or set HAECHI_TEST_POSTGRES=skip"));
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database");
    let url = with_database(&admin_url, &name);
    let local = tokio::task::LocalSet::new();
    let outcome = local
        .run_until(async move { tokio::task::spawn_local(async move { story(url).await }).await })
        .await;
    admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
        .expect("drop database");
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
