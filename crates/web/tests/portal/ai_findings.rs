//! Issue 13 in the portal, on the demo's AI assessment and conventional scan: the queue shows a
//! cross-tool cluster once with who reported it, the explanation lists the cluster's members
//! with why each was grouped (in the page's language), the findings list filters by how a
//! finding was found, and the charts count AI-found against conventionally found findings.

use crate::App;

async fn scalar(app: &App, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap()
}

/// The leader and another member of an open cluster of the institution of `ciso.hanbit`.
async fn hanbit_cluster(app: &App) -> (i64, i64) {
    let leader = scalar(
        app,
        "SELECT c.cluster_id FROM finding_clusters c JOIN findings f ON f.id = c.finding_id JOIN users u ON u.institution_id = f.institution_id \
         WHERE u.username = 'ciso.hanbit' AND f.status = 'open' AND c.finding_id <> c.cluster_id ORDER BY c.cluster_id LIMIT 1",
    )
    .await;
    let member = scalar(
        app,
        &format!("SELECT MIN(finding_id) FROM finding_clusters WHERE cluster_id = {leader} AND finding_id <> {leader}"),
    )
    .await;
    (leader, member)
}

#[tokio::test]
async fn queue_shows_a_cluster_once_with_its_reporters() {
    let app = App::demo().await;
    let (leader, member) = hanbit_cluster(&app).await;
    let s = app.login("ciso.hanbit").await;
    // The queue's pages together hold the leader and never the member.
    let mut seen_leader = false;
    for page in 1..=20 {
        let q = s.get(&format!("/queue?page={page}")).await;
        assert_eq!(q.status, 200);
        assert!(
            !q.has_text(&format!("href=\"/queue/{member}\"")),
            "member #{member} is queued beside its leader"
        );
        if q.has_text(&format!("href=\"/queue/{leader}\"")) {
            seen_leader = true;
            assert!(
                q.has_text("도구 2개 · AI 모델 1개가 보고"),
                "no reporters badge"
            );
        }
        if !q.has_text("page=") || !q.has_text(&format!("page={}", page + 1)) {
            break;
        }
    }
    assert!(seen_leader, "leader #{leader} is not in the queue");

    // The explanation of the member lists both, and why they were grouped.
    let x = s.get(&format!("/queue/{member}")).await;
    assert_eq!(x.status, 200);
    assert!(x.has_text("교차 도구 묶음"));
    assert!(x.has_text("묶은 이유"));
    assert!(x.has_text("Haetae AI Code Auditor") && x.has_text("CodeGuard SAST"));
    assert!(!x.has_text("Why grouped"), "English on a Korean page");
    s.get("/lang?to=en&next=/").await;
    let x = s.get(&format!("/queue/{member}")).await;
    assert!(x.has_text("Why grouped") && x.has_text("same file as #"));
    assert!(!x.has_text("묶은 이유"), "Korean on an English page");

    // Another institution cannot open it.
    let other = app.login("ciso.saebom").await;
    assert_eq!(other.get(&format!("/queue/{member}")).await.status, 404);
}

#[tokio::test]
async fn findings_filter_and_chart_by_how_they_were_found() {
    let app = App::demo().await;
    let s = app.login("ciso.hanbit").await;
    let ai = s.get("/findings?ai_origin=ai_generated").await;
    assert_eq!(ai.status, 200);
    // (The tool names also stand in the filter's choices; a row shows its tool in a cell.)
    assert!(ai.has_text("<td>Haetae AI Code Auditor</td>"));
    assert!(
        !ai.has_text("<td>CodeGuard SAST</td>"),
        "a conventional finding under the AI filter"
    );
    let conv = s.get("/findings?ai_origin=conventional").await;
    assert!(conv.has_text("<td>CodeGuard SAST</td>"));
    assert!(!conv.has_text("<td>Haetae AI Code Auditor</td>"));
    let bad = s.get("/findings?ai_origin=robot").await;
    assert!(
        bad.has_text("발견 방식을 목록에서 고르십시오."),
        "{}",
        bad.body
    );

    let charts = s.get("/patches/charts").await;
    assert_eq!(charts.status, 200);
    assert!(charts.has_text("AI가 발견한 취약점과 기존 도구가 발견한 취약점"));
    let open_ai = scalar(
        &app,
        "SELECT COUNT(*) FROM findings f JOIN users u ON u.institution_id = f.institution_id \
         WHERE u.username = 'ciso.hanbit' AND f.status IN ('open', 'in_progress') AND f.ai_origin <> 'conventional'",
    )
    .await;
    assert!(open_ai > 0);
    assert!(
        charts.has_text(&format!("AI가 발견·보강한 미조치 {open_ai} /")),
        "the chart's summary does not count {open_ai} open AI-found findings"
    );
}
