#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Temporary: the patch-queue view queries on PostgreSQL and SQLite (deleted after the check).
use haechi_core::{Actor, InstitutionInput, Role, Sector, SizeClass};
use haechi_policy::{DataKind, NetworkZone};
use haechi_service::findings::{FindingsUpload, ResourceInput};
use haechi_service::{Service, ServiceConfig};
use haechi_store::{with_database, AssigneeFilter, QueueFilter, Store};
use sqlx::{Connection, Executor};

async fn story(url: String) {
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let svc = Service::open(store, ServiceConfig::default()).await.unwrap();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
    let inst = svc.create_institution(&Actor::system(), InstitutionInput { code: "W4".into(), name_ko: "w".into(), name_en: "w".into(), sector: Sector::Bank,
        total_assets_krw: 1, assets_as_of: day, full_time_employees: 1, employees_as_of: day, dedicated_ciso: true, ciso_name: None, size_class: SizeClass::Large,
        contact_name: None, contact_email: None, contact_phone: None }).await.unwrap().id;
    let ciso = Actor { user_id: 5, username: "c".into(), role: Role::Ciso, institution_id: Some(inst) };
    let res = svc.create_resource(&ciso, inst, ResourceInput { name: "r".into(), kind: "server".into(), business_function: "b".into(), data_kinds: vec![DataKind::CustomerPersonal],
        network_zone: NetworkZone::Internet, processes_electronic_transactions: false, dr_tier: None, owner: None }).await.unwrap().id;
    let log = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "d", "rules": []}}, "results": [
        {"ruleId": "a", "level": "error", "message": {"text": "CVE-2021-44228"}, "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a"}}}]},
        {"ruleId": "b", "level": "warning", "message": {"text": "CVE-2021-1"}, "locations": [{"physicalLocation": {"artifactLocation": {"uri": "b"}}}]}]}]});
    let up = FindingsUpload { institution_id: inst, resource_id: Some(res), ..Default::default() };
    svc.import_findings(&ciso, &up, std::io::Cursor::new(serde_json::to_vec(&log).unwrap())).await.unwrap();
    let all = svc.queue_view(&ciso, inst, &QueueFilter { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(all.len(), 2, "{all:?}");
    let p = all[0].item.priority.clone();
    let f = svc.queue_view(&ciso, inst, &QueueFilter { priority: Some(p.clone()), resource_id: Some(res), assignee: AssigneeFilter::Unassigned, limit: 10, ..Default::default() }).await.unwrap();
    assert!(!f.is_empty());
    let f = svc.queue_view(&ciso, inst, &QueueFilter { assignee: AssigneeFilter::User(99), limit: 10, ..Default::default() }).await.unwrap();
    assert!(f.is_empty());
    let f = svc.queue_view(&ciso, inst, &QueueFilter { due_before: Some("2000-01-01".into()), limit: 10, offset: 1, ..Default::default() }).await.unwrap();
    assert!(f.is_empty());
    let s = svc.queue_summary(&ciso, inst).await.unwrap();
    assert_eq!(s.iter().map(|r| r.open).sum::<i64>(), 2, "{s:?}");
    assert!(svc.institution_users(&ciso, inst).await.unwrap().is_empty());
    println!("ok on {url}");
}

#[tokio::test]
async fn w4_queue_views_on_both() {
    let dir = tempfile::tempdir().unwrap();
    story(format!("sqlite://{}/t.db", dir.path().display())).await;
    sqlx::any::install_default_drivers();
    let admin_url = "postgres://postgres@127.0.0.1:5432/postgres".to_string();
    let mut admin = sqlx::AnyConnection::connect(&admin_url).await.unwrap();
    admin.execute("DROP DATABASE IF EXISTS haechi_w4_check WITH (FORCE)").await.unwrap();
    admin.execute("CREATE DATABASE haechi_w4_check").await.unwrap();
    story(with_database(&admin_url, "haechi_w4_check")).await;
    admin.execute("DROP DATABASE IF EXISTS haechi_w4_check WITH (FORCE)").await.unwrap();
}
