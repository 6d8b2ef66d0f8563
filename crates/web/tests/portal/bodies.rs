//! Funding pages (issue 17, C14): the demo's call with its awards, a refusal and a payment; the
//! support center opens a call, awards within the budget and is refused over it; a large bank
//! is refused as ineligible; advisors see none of it.

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
async fn the_support_center_awards_within_the_budget() {
    let app = App::demo().await;
    let center = app.login("support").await;
    // The demo's call: awards, a refusal for the budget, a first payment.
    let list = center.get("/funding").await;
    assert!(
        list.has_text("2026 하반기 소규모 금융회사"),
        "{}",
        list.body
    );
    let demo = scalar(&app, "SELECT MIN(id) FROM funding_calls").await;
    let page = center.get(&format!("/funding/{demo}")).await;
    for text in [
        "지원 결정",
        "남은 예산 부족으로 미선정",
        "60,000,000 원",
        "잔액",
    ] {
        assert!(page.has_text(text), "missing {text:?}");
    }
    // A bad call is shown with its errors and stores nothing.
    let bad = center
        .post(
            "/funding",
            &[
                ("title", "신규"),
                ("budget_krw", "0"),
                ("opens_on", "2026-12-01"),
                ("closes_on", "2026-11-01"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for text in [
        "0보다 커야 합니다.",
        "지원 대상(규모나 업권)을 하나 이상 고르십시오.",
        "접수 시작일보다 앞설 수 없습니다.",
    ] {
        assert!(bad.has_text(text), "missing {text:?}");
    }
    let made = center
        .post(
            "/funding",
            &[
                ("title", "긴급 지원"),
                ("budget_krw", "1,000,000"),
                ("size_large", "1"),
                ("opens_on", "2026-01-01"),
                ("closes_on", "2099-12-31"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let at = made.location.unwrap();
    let call = at.trim_start_matches("/funding/").to_string();
    let ciso = app.login("ciso.hanbit").await;
    let applied = ciso
        .post(
            &format!("/funding/{call}/apply"),
            &[("purpose", "AI 점검"), ("requested_krw", "800,000")],
        )
        .await;
    assert_eq!(applied.status, StatusCode::SEE_OTHER, "{}", applied.body);
    let grant = scalar(
        &app,
        &format!("SELECT id FROM funding_applications WHERE call_id = {call}"),
    )
    .await;
    // Over the budget: refused and nothing changes; within it: awarded.
    let over = center
        .post(
            &format!("/grants/{grant}/decide"),
            &[
                ("call", &call),
                ("decision", "award"),
                ("amount_krw", "800,001"),
                ("note", "x"),
            ],
        )
        .await;
    assert_eq!(over.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(over.has_text("신청 금액보다 많습니다."));
    let ok = center
        .post(
            &format!("/grants/{grant}/decide"),
            &[
                ("call", &call),
                ("decision", "award"),
                ("amount_krw", "800,000"),
                ("score", "88"),
                ("note", "적정"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let page = ciso.get(&format!("/funding/{call}")).await;
    assert!(page.has_text("800,000 원"), "{}", page.body);
    // The institution sees its own application only, and no award controls.
    assert!(!page.has_text("/decide\""));
    assert!(!ciso
        .get(&format!("/funding/{demo}"))
        .await
        .has_text("남은 예산 부족으로 미선정"));
    // A large bank is not eligible for the demo call.
    let refused = ciso
        .post(
            &format!("/funding/{demo}/apply"),
            &[("purpose", "x"), ("requested_krw", "10")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.has_text("이 공모의 지원 대상(규모·업권)이 아닙니다."));
    assert_eq!(
        app.login("advisor1").await.get("/funding").await.status,
        StatusCode::FORBIDDEN
    );
}
