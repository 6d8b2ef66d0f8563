//! Full-removal track pages (issue 17, C14): the demo's ranking with the policy version, the
//! candidate handed over with its letter and shortlisted; a candidate's factors with their
//! reasons; shortlisting before deciding, a missing reason refused; only the regulator's
//! officers decide, auditors read.

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
async fn officers_rank_shortlist_and_decide_with_reasons() {
    let app = App::demo().await;
    let officer = app.login("officer").await;
    let page = officer.get("/removal").await;
    assert_eq!(page.status, StatusCode::OK);
    let version = app.svc.policy().version;
    for t in [
        format!("정책 버전 {version}"),
        "전문가 평가".to_string(),
        "보고 의무 이행".to_string(),
        "사고·면책".to_string(),
        "패치 기한 준수".to_string(),
        "자체 성숙도".to_string(),
        "후보 선정".to_string(),
        "의견서와 함께 인계".to_string(),
    ] {
        assert!(page.has_text(&t), "missing {t:?}: {}", page.body);
    }
    // Every phase 1 and 2 letter holder is ranked.
    let holders = scalar(
        &app,
        "SELECT COUNT(DISTINCT institution_id) FROM letters WHERE state = 'issued'",
    )
    .await;
    assert!(holders >= 10, "{holders}");
    assert_eq!(
        page.body.matches("href=\"/removal/").count() as i64,
        holders,
        "one row per holder"
    );

    // The shortlisted candidate: reasons per factor, the hand-over, the shortlisting in KST.
    let shortlisted = scalar(
        &app,
        "SELECT institution_id FROM removal_decisions WHERE kind = 'shortlist'",
    )
    .await;
    let detail = officer.get(&format!("/removal/{shortlisted}")).await;
    for t in [
        "판정 근거",
        "요소별 평가",
        "전문가 평가 종합 점수",
        "완전 해제 검토 인계",
        "종합 점수 1위",
        "KST",
        "완전 해제 권고",
        "보류",
    ] {
        assert!(detail.has_text(t), "missing {t:?}: {}", detail.body);
    }
    assert!(!detail.has_text("UTC"));
    assert!(!detail.has_text("Expert evaluation"));

    // Deciding without a reason is refused and stores nothing; with one it is recorded.
    let before = scalar(&app, "SELECT COUNT(*) FROM removal_decisions").await;
    let bad = officer
        .post(
            &format!("/removal/{shortlisted}/decision"),
            &[("step", "recommend"), ("reason", " ")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.has_text("사유를 쓰십시오."), "{}", bad.body);
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM removal_decisions").await,
        before
    );
    let ok = officer
        .post(
            &format!("/removal/{shortlisted}/decision"),
            &[("step", "recommend"), ("reason", "현장 점검 결과 적정")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let detail = officer.get(&format!("/removal/{shortlisted}")).await;
    assert!(detail.has_text("현장 점검 결과 적정"));
    assert!(
        detail.has_text("badge ok\">완전 해제 권고"),
        "{}",
        detail.body
    );

    // Another candidate must be shortlisted before a decision.
    let other = scalar(
        &app,
        &format!("SELECT MIN(institution_id) FROM letters WHERE state = 'issued' AND institution_id <> {shortlisted}"),
    )
    .await;
    let early = officer
        .post(
            &format!("/removal/{other}/decision"),
            &[("step", "not_now"), ("reason", "시기상조")],
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(early.has_text("먼저 후보로 선정한 뒤 결정하십시오."));
    // Not on the track: not found.
    let none = scalar(
        &app,
        "SELECT MIN(id) FROM institutions WHERE id NOT IN (SELECT institution_id FROM letters)",
    )
    .await;
    assert_eq!(
        officer.get(&format!("/removal/{none}")).await.status,
        StatusCode::NOT_FOUND
    );
    // English.
    let en = officer
        .get(&format!("/removal/{shortlisted}?lang=en"))
        .await;
    assert!(en.has_text("Expert evaluation"));
    assert!(en.has_text("Policy version"));

    // The audit log names the steps.
    let admin = app.login("admin").await;
    let log = admin.get("/audit?action=removal.recommend").await;
    assert!(log.has_text("완전 해제 권고"), "{}", log.body);

    // Auditors read, and cannot decide; institutions and analysts see nothing.
    let auditor = app.login("auditor").await;
    assert_eq!(auditor.get("/removal").await.status, StatusCode::OK);
    assert!(!auditor
        .get(&format!("/removal/{shortlisted}"))
        .await
        .has_text("/decision\""));
    for who in ["ciso.hanbit", "analyst"] {
        assert_eq!(
            app.login(who).await.get("/removal").await.status,
            StatusCode::FORBIDDEN,
            "{who}"
        );
    }
}
