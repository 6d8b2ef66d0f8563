//! Response team pages (issue 17, C14): the demo's members, challenges and check-ins; an
//! institution raises a challenge and follows it, sees only its own (another's answers 404);
//! the officer assigns, answers and resolves it, and an illegal move is refused with the reason
//! and changes nothing; overdue check-in actions are flagged; times in KST.

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

async fn text(app: &App, sql: &str) -> String {
    sqlx::query_scalar::<_, String>(sql)
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn institutions_raise_and_follow_their_own_challenges() {
    let app = App::demo().await;
    let ciso = app.login("ciso.hanbit").await;
    let hub = ciso.get("/response").await;
    assert_eq!(hub.status, StatusCode::OK);
    // The demo bank's resolved question, not the insurer's; no regulator-side sections.
    assert!(
        hub.has_text("생성형 AI 코딩 도우미의 SaaS 이용 범위"),
        "{}",
        hub.body
    );
    assert!(hub.has_text("해결"));
    assert!(!hub.has_text("AI 모델 취약점 점검 결과의 분기 보고 양식"));
    assert!(!hub.has_text("정기 점검 회의"));
    assert!(!hub.has_text("구성원 추가"));
    let resolved = scalar(
        &app,
        "SELECT id FROM field_challenges WHERE status = 'resolved'",
    )
    .await;
    let page = ciso.get(&format!("/challenges/{resolved}")).await;
    assert!(
        page.has_text("O등급으로 보아 허용 범위에 포함됩니다"),
        "{}",
        page.body
    );
    assert!(page.has_text("KST"));
    assert!(!page.has_text("UTC"));
    assert!(!page.has_text("in_progress"));
    let theirs = scalar(
        &app,
        "SELECT id FROM field_challenges WHERE status = 'open'",
    )
    .await;
    assert_eq!(
        ciso.get(&format!("/challenges/{theirs}")).await.status,
        StatusCode::NOT_FOUND
    );

    // A due day in the past is refused, in Korean, next to what failed; nothing is stored.
    let before = scalar(&app, "SELECT COUNT(*) FROM field_challenges").await;
    let bad = ciso
        .post(
            "/challenges",
            &[
                ("title", "점검 도구 반입"),
                ("description", "내부망 반입 절차 문의"),
                ("due_on", "2020-01-01"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.has_text("답변 기한: 오늘 이전일 수 없습니다."),
        "{}",
        bad.body
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM field_challenges").await,
        before
    );
    let made = ciso
        .post(
            "/challenges",
            &[
                ("title", "점검 도구 반입"),
                ("description", "내부망 반입 절차 문의"),
                ("due_on", "2099-01-31"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let at = made.location.unwrap();
    let id = at
        .trim_start_matches("/challenges/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let page = ciso.get(&at).await;
    assert!(page.has_text("접수"));
    assert!(page.has_text("미지정"));
    assert_eq!(
        text(
            &app,
            &format!("SELECT sector FROM field_challenges WHERE id = {id}")
        )
        .await,
        "bank"
    );

    // The officer: open straight to resolved is refused with the reason, nothing changes.
    let officer = app.login("officer").await;
    let owner = scalar(
        &app,
        "SELECT MIN(id) FROM response_members WHERE organisation = 'fsi'",
    )
    .await
    .to_string();
    let refused = officer
        .post(
            &format!("/challenges/{id}/update"),
            &[
                ("owner_member_id", &owner),
                ("status", "resolved"),
                ("response", "답변"),
                ("due_on", "2099-01-31"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(
        refused.has_text("현재 상태에서는 그 상태로 바꿀 수 없습니다"),
        "{}",
        refused.body
    );
    assert_eq!(
        text(
            &app,
            &format!("SELECT status FROM field_challenges WHERE id = {id}")
        )
        .await,
        "open"
    );
    for (status, response) in [
        ("in_progress", ""),
        ("resolved", "반입 전 악성코드 검사 후 허용"),
    ] {
        let ok = officer
            .post(
                &format!("/challenges/{id}/update"),
                &[
                    ("owner_member_id", &owner),
                    ("status", status),
                    ("response", response),
                    ("due_on", "2099-01-31"),
                ],
            )
            .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{status}: {}", ok.body);
    }
    let page = ciso.get(&format!("/challenges/{id}")).await;
    assert!(page.has_text("반입 전 악성코드 검사 후 허용"));
    assert!(page.has_text("해결"));
    // Institution users cannot change a challenge.
    assert_eq!(
        ciso.post(&format!("/challenges/{id}/update"), &[("status", "closed")])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officers_manage_members_and_check_ins_with_overdue_actions_flagged() {
    let app = App::demo().await;
    let officer = app.login("officer").await;
    let hub = officer.get("/response").await;
    for t in [
        "금융위원회",
        "금융감독원",
        "금융보안원",
        "금융회사 CISO",
        "AI 모델 취약점 점검 결과의 분기 보고 양식",
        "생성형 AI 코딩 도우미의 SaaS 이용 범위",
        "AI 보안 점검 가이드 개정안에 대한 업권 의견 취합",
        "기한 경과",
        "정기 점검 회의",
    ] {
        assert!(hub.has_text(t), "missing {t:?}");
    }
    assert!(!hub.has_text("Overdue"));
    let november = scalar(
        &app,
        "SELECT id FROM response_checkins WHERE held_on = '2026-11-18'",
    )
    .await;
    let page = officer.get(&format!("/checkins/{november}")).await;
    assert!(page.has_text("참석자"));
    let flagged = page.body.matches("기한 경과").count();
    assert!(flagged >= 1, "{}", page.body);
    assert!(page.has_text("KST"));
    // Marking the overdue action done clears its flag.
    let late = scalar(
        &app,
        &format!("SELECT id FROM checkin_actions WHERE checkin_id = {november} AND due_on = '2026-11-30'"),
    )
    .await;
    let done = officer
        .post(&format!("/checkin-actions/{late}/done"), &[])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = officer.get(&format!("/checkins/{november}")).await;
    assert_eq!(page.body.matches("기한 경과").count(), flagged - 1);
    assert!(
        page.has_text("<span class=\"badge ok\">완료</span>"),
        "{}",
        page.body
    );

    // A check-in without attendance is refused with the reason.
    let bad = officer
        .post("/checkins", &[("held_on", "2026-12-01"), ("notes", "점검")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.has_text("참석자를 한 명 이상 고르십시오."),
        "{}",
        bad.body
    );
    // A member: a CISO must be an institution user.
    let bad = officer
        .post(
            "/response/members",
            &[
                ("organisation", "ciso"),
                ("name", "홍길동"),
                ("team_role", "위원"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.has_text("금융회사 CISO 사용자를 고르십시오."));
    let ok = officer
        .post(
            "/response/members",
            &[
                ("organisation", "fss"),
                ("name", "최보안"),
                ("team_role", "검사역"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert!(officer.get("/response").await.has_text("최보안"));
    // English page.
    let en = officer.get("/response?lang=en").await;
    assert!(en.has_text("Field challenges"));
    assert!(en.has_text("Check-ins"));
    // Check-ins are the regulator side's; advisors see nothing of the team.
    let ciso = app.login("ciso.hanbit").await;
    assert_eq!(
        ciso.get(&format!("/checkins/{november}")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.login("advisor1").await.get("/response").await.status,
        StatusCode::FORBIDDEN
    );
}
