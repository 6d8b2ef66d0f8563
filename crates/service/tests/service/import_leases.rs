//! Imports never stuck (issue #18 item 2): an import left open by a node that stopped is failed,
//! with its reason and an audit entry, when another node starts (or sweeps); an import whose node
//! still beats is left alone, on both databases.

use std::time::Duration;

use haechi_core::Actor;
use haechi_service::findings::FindingsUpload;
use haechi_service::import_leases::ABANDONED;
use haechi_service::{Service, ServiceConfig};
use haechi_store::Store;

use super::on_both;

const LEASE: Duration = Duration::from_secs(2);

async fn node(store: &Store) -> Service {
    Service::open(
        store.clone(),
        ServiceConfig {
            import_lease: LEASE,
            ..ServiceConfig::default()
        },
    )
    .await
    .expect("open a node")
}

async fn institution(svc: &Service) -> i64 {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
    svc.create_institution(
        &Actor::system(),
        haechi_core::InstitutionInput {
            code: "LEASE".into(),
            name_ko: "임차은행".into(),
            name_en: "Lease Bank".into(),
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
    .id
}

fn upload(institution_id: i64, name: &str) -> FindingsUpload {
    FindingsUpload {
        institution_id,
        resource_id: None,
        close_missing: false,
        file_name: Some(name.into()),
        ai_model: None,
        ai_model_version: None,
        resource_map: Vec::new(),
    }
}

/// Makes import `id` look owned by `node` with its last heartbeat `ago` before now.
async fn owned_by(store: &Store, id: i64, node: &str, ago: Duration) {
    let at = (chrono::Utc::now() - chrono::Duration::from_std(ago).unwrap())
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    sqlx::query("UPDATE finding_imports SET node_id = $1, heartbeat_at = $2 WHERE id = $3")
        .bind(node)
        .bind(at)
        .bind(id)
        .execute(store.pool())
        .await
        .unwrap();
}

async fn state(store: &Store, id: i64) -> (String, Option<String>, Option<String>) {
    sqlx::query_as("SELECT state, error_code, error_message FROM finding_imports WHERE id = $1")
        .bind(id)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

async fn abandoned_entries(store: &Store) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'findings.import_abandoned'")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_import_of_a_dead_node_is_failed_and_a_live_one_is_left_alone() {
    on_both(|url| async move {
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let first = node(&store).await;
        let inst = institution(&first).await;
        let system = Actor::system();
        // Accepted by this (live) node: it owns it and keeps it beating.
        let live = first
            .queue_findings_import(&system, &upload(inst, "live.sarif"), None, None)
            .await
            .unwrap();
        // Two imports of other nodes: one beat a moment ago, one an hour ago (its node died).
        let other = node(&store).await;
        let fresh = other
            .queue_findings_import(&system, &upload(inst, "fresh.sarif"), None, None)
            .await
            .unwrap();
        let dead = other
            .queue_findings_import(&system, &upload(inst, "dead.sarif"), None, None)
            .await
            .unwrap();
        drop(other);
        owned_by(&store, fresh, "node-b/4242/0000000b", Duration::ZERO).await;
        owned_by(&store, dead, "node-c/4343/0000000c", Duration::from_secs(3600)).await;

        // A second node starts: only the dead node's import is failed, with its reason.
        let second = node(&store).await;
        let (s, code, message) = state(&store, dead).await;
        assert_eq!((s.as_str(), code.as_deref()), ("failed", Some(ABANDONED)));
        let message = message.unwrap();
        assert!(
            message.contains("node-c/4343/0000000c") && message.contains("upload the file again"),
            "{message}"
        );
        assert_eq!(state(&store, fresh).await.0, "queued");
        assert_eq!(state(&store, live).await.0, "queued");
        assert_eq!(abandoned_entries(&store).await, 1);

        // Past the lease: the other node's import has stopped beating and is failed by a sweep
        // (this one, or a live node's periodic one); the first node's own import keeps beating
        // and stays queued.
        tokio::time::sleep(LEASE + Duration::from_millis(700)).await;
        let failed = second.fail_stale_imports().await.unwrap();
        assert!(failed.iter().all(|id| *id == fresh), "{failed:?}");
        assert_eq!(state(&store, fresh).await.1.as_deref(), Some(ABANDONED));
        assert_eq!(state(&store, live).await.0, "queued");
        assert_eq!(abandoned_entries(&store).await, 2);
        // A second sweep finds nothing more (the update is conditional).
        assert!(second.fail_stale_imports().await.unwrap().is_empty());

        // The live import runs to the end on its node.
        let sarif = br#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"lease-test"}},"results":[]}]}"#.to_vec();
        first
            .run_findings_import(&system, live, std::io::Cursor::new(sarif))
            .await
            .unwrap();
        assert_eq!(state(&store, live).await.0, "succeeded");

        // The failed imports' institution sees them failed in its history, and can upload again.
        let again = second
            .queue_findings_import(&system, &upload(inst, "dead.sarif"), None, None)
            .await
            .unwrap();
        assert!(again > dead);
        let chain = store.verify_audit().await.unwrap();
        assert!(chain.intact, "{:?}", chain.first_bad);
        store.close().await;
    })
    .await;
}
