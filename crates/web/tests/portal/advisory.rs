//! Advisory group and guideline pages (issue 17, C14): the demo's seven members with their terms
//! and the standing conflict; the officer's review page proposes reviewers with reasons and
//! leaves the conflicted member out, and assigning them anyway is refused in Korean with nothing
//! stored; an advisor's own term; guidelines acknowledged by a CISO and seen by the regulator;
//! briefings and tailored support.

use axum::http::StatusCode;

use crate::App;

async fn scalar(app: &App, sql: &str) -> i64 {
    sqlx::query_scalar::<_, Option<i64>>(sql)
        .fetch_optional(app.svc.store().pool())
        .await
        .unwrap()
        .flatten()
        .unwrap_or_else(|| panic!("no row for: {sql}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_advisory_group_and_its_proposals() {
    let app = App::demo().await;
    let officer = app.login("officer").await;
    let list = officer.get("/advisory").await;
    assert_eq!(list.status, StatusCode::OK);
    for text in [
        "AI 보안 자문단",
        "법무법인 청람",
        "가람대학교 인공지능학과",
        "2026-12-31",
        "2026년 제1차 AI 보안 자문단 회의",
        "업무 시스템과 연결된 AI 서비스의 프롬프트 주입",
    ] {
        assert!(list.has_text(text), "missing {text:?}");
    }
    assert!(!list.has_text("In term"), "English on a Korean page");
    let advisor7 = scalar(
        &app,
        "SELECT m.id FROM advisory_members m JOIN users u ON u.id = m.user_id WHERE u.username = 'advisor7'",
    )
    .await;
    let page = officer.get(&format!("/advisory/members/{advisor7}")).await;
    for text in ["상시 이해충돌 신고", "재위촉", "정정", "위촉", "KST"] {
        assert!(page.has_text(text), "missing {text:?}");
    }
    let meeting = scalar(&app, "SELECT MIN(id) FROM advisory_meetings").await;
    let page = officer.get(&format!("/advisory/meetings/{meeting}")).await;
    assert!(page.has_text("프롬프트 주입 공격"), "{}", page.body);

    // The application waiting in screening of the institution advisor7 is conflicted with.
    let institution = scalar(
        &app,
        &format!("SELECT institution_id FROM advisory_conflicts WHERE member_id = {advisor7}"),
    )
    .await;
    let application = scalar(
        &app,
        &format!("SELECT MIN(id) FROM applications WHERE institution_id = {institution} AND state = 'screening'"),
    )
    .await;
    let review = officer
        .get(&format!("/applications/{application}/review"))
        .await;
    for text in [
        "평가위원 제안",
        "추천",
        "진행 중 평가",
        "제외된 위원",
        "한재민 변호사",
        "이 기관과 상시 이해충돌",
    ] {
        assert!(review.has_text(text), "missing {text:?}");
    }
    let user7 = scalar(&app, "SELECT id FROM users WHERE username = 'advisor7'").await;
    let before = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM review_assignments WHERE application_id = {application}"),
    )
    .await;
    let refused = officer
        .post(
            &format!("/applications/{application}/reviewers"),
            &[("advisor_id", &user7.to_string())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.has_text("이 위원은 이 기관과 상시 이해충돌을 신고했습니다."),
        "{}",
        refused.body
    );
    let after = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM review_assignments WHERE application_id = {application}"),
    )
    .await;
    assert_eq!(before, after);

    // A bad extension says what is wrong and stores nothing.
    let bad = officer
        .post(
            &format!("/advisory/members/{advisor7}/extend"),
            &[("term_end", "2026-06-30"), ("reason", "연장")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.has_text("현재 임기 종료일보다 뒤여야 합니다."));
    let ok = officer
        .post(
            &format!("/advisory/members/{advisor7}/extend"),
            &[
                ("term_end", "2027-06-30"),
                ("reason", "2027년 상반기 평가 지원"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);

    // The advisor sees their own term and conflict, not the group's register.
    let adv = app.login("advisor7").await;
    let mine = adv.get("/advisory/me").await;
    assert!(mine.has_text("2027-06-30"), "{}", mine.body);
    assert!(mine.has_text("정보보호 법률 자문"));
    assert_eq!(adv.get("/advisory").await.status, StatusCode::FORBIDDEN);
    let other = scalar(&app, "SELECT MIN(id) FROM advisory_members").await;
    assert_eq!(
        adv.get(&format!("/advisory/members/{other}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guidelines_are_acknowledged_and_briefed() {
    let app = App::demo().await;
    let priority = scalar(
        &app,
        "SELECT id FROM guidelines WHERE kind = 'patch_priority'",
    )
    .await;
    let officer = app.login("officer").await;
    let page = officer.get(&format!("/guidelines/{priority}")).await;
    for text in [
        "시행 중인 버전",
        "v2",
        "대체됨",
        "확인하지 않은 기관",
        "정책 버전",
    ] {
        assert!(page.has_text(text), "missing {text:?}");
    }
    // A published version does not change: with no draft there is nothing to publish.
    let again = officer
        .post(&format!("/guidelines/{priority}/publish"), &[])
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.has_text("게시할 초안이 없습니다."));
    let bad = officer
        .post(
            &format!("/guidelines/{priority}/draft"),
            &[("title_ko", "제목")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.has_text("가이드라인이 설명하는 정책 버전을 하나 이상 고르십시오."));

    // saebom's CISO acknowledges version 2; the regulator sees it.
    let ciso = app.login("ciso.saebom").await;
    let seen = ciso.get(&format!("/guidelines/{priority}")).await;
    assert!(seen.has_text("이 버전을 확인했습니다"), "{}", seen.body);
    assert!(!seen.has_text("확인하지 않은 기관"));
    let done = ciso
        .post(&format!("/guidelines/{priority}/acknowledge"), &[])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let twice = ciso
        .post(&format!("/guidelines/{priority}/acknowledge"), &[])
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let saebom = scalar(&app, "SELECT id FROM institutions WHERE code = 'INS-001'").await;
    let acked = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM guideline_acks a JOIN guideline_versions v ON v.id = a.version_id WHERE v.guideline_id = {priority} AND v.version = 2 AND a.institution_id = {saebom}"),
    )
    .await;
    assert_eq!(acked, 1);

    // The briefing with its attendance; tailored support answered for hanbit.
    let briefings = officer.get("/briefings").await;
    assert!(briefings.has_text("패치 우선순위 가이드라인 v2 현장 설명회"));
    assert!(
        briefings.has_text("2026-11-19 14:00 KST"),
        "{}",
        briefings.body
    );
    let hanbit = app.login("ciso.hanbit").await;
    let requests = hanbit.get("/support-requests").await;
    assert!(requests.has_text("AI 개발 지원 서비스의 자원 등급 판단"));
    assert!(requests.has_text("일정 확정"));
    assert!(
        !requests.has_text("보험금 심사 AI"),
        "another institution's request"
    );
    let empty = hanbit.post("/support-requests", &[("topic", "")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.has_text("비어 있을 수 없습니다."));
}
