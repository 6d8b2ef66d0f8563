//! A session's last use is written off the request's path, and by one writer: while a long
//! write transaction (a large import) holds SQLite's write lock, requests of sessions due a
//! last-use write still read at once instead of queueing for pooled connections that waiting
//! writes hold (`haechi bench serve` saw every page time out that way during a soak).

use std::time::Duration;

use chrono::Utc;
use haechi_core::{Actor, Role};

use super::open;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_on_while_an_import_holds_the_write_lock() {
    let dir = tempfile::tempdir().unwrap();
    let (store, svc) = open(&format!("sqlite://{}/test.db", dir.path().display())).await;
    let system = Actor::system();
    let mut cookies = Vec::new();
    for name in ["officer.a", "officer.b", "officer.c"] {
        let u = svc
            .create_user(&system, name, name, Role::RegulatorOfficer, None)
            .await
            .unwrap();
        svc.set_password(&system, u.id, "correct horse battery staple")
            .await
            .unwrap();
        let s = svc
            .login(name, "correct horse battery staple", None)
            .await
            .unwrap();
        cookies.push(s.cookie_value);
    }
    // Last used two minutes ago: every request from now on is due a last-use write.
    let before = (Utc::now() - chrono::Duration::minutes(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    sqlx::query("UPDATE sessions SET last_seen_at = $1")
        .bind(&before)
        .execute(store.pool())
        .await
        .unwrap();

    // The import's place: a write transaction holding the lock.
    let held = store.begin().await.unwrap();
    // Far more requests than the pool has connections (8), all due a write.
    for round in 0..20 {
        for cookie in &cookies {
            let info = tokio::time::timeout(Duration::from_secs(3), svc.session(cookie))
                .await
                .unwrap_or_else(|_| {
                    panic!("request {round} waited behind the held write lock for a connection")
                })
                .unwrap();
            assert!(info.actor.username.starts_with("officer."));
        }
    }
    // Nothing was written while the lock was held.
    let seen: Vec<String> = sqlx::query_scalar("SELECT last_seen_at FROM sessions")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert!(seen.iter().all(|s| *s == before), "{seen:?}");

    // Once the lock is free, every session's last use is written.
    drop(held);
    let started = std::time::Instant::now();
    loop {
        let stale: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE last_seen_at = $1")
                .bind(&before)
                .fetch_one(store.pool())
                .await
                .unwrap();
        if stale == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{stale} sessions' last use never written"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
