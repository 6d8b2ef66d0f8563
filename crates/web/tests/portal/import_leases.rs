//! An import whose server stopped before it finished (issue #18 item 2) shows as failed, with the
//! reason in the page's language and a way to upload the file again.

use axum::http::StatusCode;
use haechi_service::findings::FindingsUpload;
use haechi_service::{Service, ServiceConfig};

use super::applications::actor;
use super::App;

#[tokio::test]
async fn an_import_abandoned_by_a_stopped_server_shows_as_failed_with_its_reason() {
    let app = App::demo().await;
    let staff = actor(&app, "staff.hanbit").await;
    let upload = FindingsUpload {
        institution_id: staff.institution_id.unwrap(),
        file_name: Some("lost.sarif".into()),
        ..Default::default()
    };
    let id = app
        .svc
        .queue_findings_import(&staff, &upload, Some(1000), Some("ab"))
        .await
        .unwrap();
    // The node that accepted it stopped long ago.
    sqlx::query("UPDATE finding_imports SET node_id = 'node-gone/1/00000000', heartbeat_at = '2026-01-01T00:00:00.000000Z' WHERE id = $1")
        .bind(id)
        .execute(app.svc.store().pool())
        .await
        .unwrap();
    // Another node starts on the same database and fails it.
    drop(
        Service::open(app.svc.store().clone(), ServiceConfig::default())
            .await
            .unwrap(),
    );

    let s = app.login("ciso.hanbit").await;
    let page = s.get(&format!("/imports/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.has_text("이 파일을 처리하던 서버가 가져오기를 마치기 전에 멈췄습니다"),
        "{}",
        page.body
    );
    assert!(page.has_text("파일 다시 올리기") && page.has_text("href=\"/imports/new\""));
    // Finished: no more refreshing, and no English or node names on the Korean page.
    assert!(!page.has_text("data-refresh"), "{}", page.body);
    assert!(!page.has_text("stopped before") && !page.has_text("node-gone"));
    let history = s.get("/imports").await;
    assert!(history.has_text("서버가 가져오기를 마치기 전에 멈췄습니다"));

    let en = s.get(&format!("/imports/{id}?lang=en")).await;
    assert!(
        en.has_text("The server running this import stopped before it finished")
            && en.has_text("Upload the file again"),
        "{}",
        en.body
    );
}
