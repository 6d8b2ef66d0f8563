//! Signing in and out, sessions, CSRF, the login throttle, password change and API tokens.

use super::*;

async fn count(app: &App, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_in_sets_a_database_session_cookie_and_sign_out_ends_it() {
    let app = App::demo().await;
    let s = app.anonymous();
    let page = s.sign_in("officer", PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location.as_deref(), Some("/"));
    let cookie = page
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("haechi_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "demo mode runs over plain HTTP: {cookie}"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sessions").await, 1);

    let home = s.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.has_text("대시보드"), "{}", home.body);
    assert!(home.has_text("lang=\"ko\""));
    let en = s.get("/?lang=en").await;
    assert!(en.has_text("Dashboard") && en.has_text("lang=\"en\""));

    let out = s.post("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sessions").await, 0);
    let after = s.get("/").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after.location.unwrap().starts_with("/login"));
}

#[tokio::test]
async fn cookies_are_secure_outside_demo_mode() {
    let app = App::demo().await;
    let router = haechi_web::router(AppState::new(app.svc.clone()));
    let resp = router
        .oneshot(Request::get("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let c = resp
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(c.contains("; Secure"), "{c}");
}

#[tokio::test]
async fn pages_need_a_session_and_return_after_sign_in() {
    let app = App::demo().await;
    let s = app.anonymous();
    let page = s.get("/account?x=1").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location.as_deref(),
        Some("/login?next=/account%3Fx%3D1")
    );
    // The `next` of the sign-in form only ever leads to a local path.
    let form = s.get("/login?next=//evil.example/").await;
    assert!(form.has_text("name=\"next\" value=\"/\""), "{}", form.body);
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_throttled_and_audited() {
    let app = App::demo().await;
    let s = app.anonymous();
    let before = count(
        &app,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'session.login_failed'",
    )
    .await;
    for i in 0..5 {
        let page = s.sign_in("officer", "not-the-password").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        assert!(
            page.has_text("아이디 또는 비밀번호가 올바르지 않습니다"),
            "{}",
            page.body
        );
    }
    // The sixth attempt waits, even with the right password, and says for how long.
    let page = s.sign_in("officer", PASSWORD).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "{}", page.body);
    assert!(page.has_text("초 후에 다시 시도하십시오"), "{}", page.body);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sessions").await, 0);
    let after = count(
        &app,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'session.login_failed'",
    )
    .await;
    assert_eq!(after - before, 5);
    // Another account is not affected by this one's failures.
    let other = app.anonymous().sign_in("analyst", PASSWORD).await;
    assert_eq!(other.status, StatusCode::SEE_OTHER);
    // An unknown user is refused the same way as a wrong password.
    let unknown = app.anonymous().sign_in("nobody-here", PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_throttle_also_counts_per_address() {
    let app = App::demo().await;
    let addr = Some("192.0.2.7");
    // Failures spread over many accounts from one address.
    for i in 0..20 {
        let r = app
            .svc
            .login(&format!("user{i}"), "wrong-password", addr)
            .await;
        assert!(
            matches!(r, Err(haechi_service::ServiceError::Unauthenticated)),
            "{i}"
        );
    }
    let r = app.svc.login("officer", PASSWORD, addr).await;
    assert!(
        matches!(r, Err(haechi_service::ServiceError::Throttled(_))),
        "{r:?}"
    );
    // From another address the account signs in.
    assert!(app
        .svc
        .login("officer", PASSWORD, Some("192.0.2.8"))
        .await
        .is_ok());
}

#[tokio::test]
async fn sign_in_without_its_csrf_cookie_is_refused() {
    let app = App::demo().await;
    let s = app.anonymous();
    let page = s
        .post_raw(
            "/login",
            &[
                ("_pre", "forged"),
                ("username", "officer"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.has_text("CSRF"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sessions").await, 0);
}

#[tokio::test]
async fn posts_without_the_csrf_token_change_nothing() {
    let app = App::demo().await;
    let s = app.login("ciso.hanbit").await;
    let tokens = count(&app, "SELECT COUNT(*) FROM api_tokens").await;
    let page = s
        .post_without_csrf("/account/tokens", &[("label", "ci")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.has_text("CSRF"), "{}", page.body);
    let page = s
        .post_without_csrf("/account/tokens", &[("_csrf", "0000"), ("label", "ci")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM api_tokens").await, tokens);
    // Another session's token does not pass either.
    let other = app.login("staff.hanbit").await;
    let foreign = other.csrf().await;
    let page = s
        .post_without_csrf("/account/tokens", &[("_csrf", &foreign), ("label", "ci")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM api_tokens").await, tokens);
    // Multipart uploads are checked the same way, before any file is read.
    let page = s
        .post_multipart_raw("/account/tokens", None, &[("label", "ci")], &[])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_expired_session_leads_back_to_sign_in_and_changes_nothing() {
    let app = App::demo().await;
    let s = app.login("officer").await;
    let csrf = s.csrf().await;
    // Idle for longer than the idle limit (30 minutes).
    sqlx::query("UPDATE sessions SET last_seen_at = '2020-01-01T00:00:00.000000Z'")
        .execute(app.svc.store().pool())
        .await
        .unwrap();
    let tokens = count(&app, "SELECT COUNT(*) FROM api_tokens").await;
    let page = s
        .post_without_csrf("/account/tokens", &[("_csrf", &csrf), ("label", "late")])
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location.as_deref().unwrap().contains("expired=1"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM api_tokens").await, tokens);
    let login = s.get(page.location.as_deref().unwrap()).await;
    assert!(login.has_text("세션이 만료되었습니다"), "{}", login.body);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sessions").await, 0);
}

#[tokio::test]
async fn password_change_checks_the_current_one_and_ends_other_sessions() {
    let app = App::demo().await;
    let s = app.login("ciso.hanbit").await;
    let other = app.login("ciso.hanbit").await;
    let hash = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT password_hash FROM users WHERE username = 'ciso.hanbit'",
        )
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap()
    };
    let before = hash().await;
    let page = s
        .post(
            "/account/password",
            &[
                ("current_password", "wrong-one!!"),
                ("new_password", "a-new-long-password"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.has_text("current_password-error"), "{}", page.body);
    let page = s
        .post(
            "/account/password",
            &[("current_password", PASSWORD), ("new_password", "short")],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.has_text("new_password-error"), "{}", page.body);
    assert_eq!(hash().await, before, "nothing changed");

    let page = s
        .post(
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a-new-long-password"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_ne!(hash().await, before);
    assert!(hash().await.starts_with("$argon2id$"));
    assert_eq!(
        s.get("/").await.status,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        other.get("/").await.status,
        StatusCode::SEE_OTHER,
        "the other one ended"
    );
    let relogin = app
        .anonymous()
        .sign_in("ciso.hanbit", "a-new-long-password")
        .await;
    assert_eq!(relogin.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn api_tokens_are_shown_once_stored_hashed_and_revocable() {
    let app = App::demo().await;
    let s = app.login("staff.hanbit").await;
    let page = s.post("/account/tokens", &[("label", "ci-pipeline")]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let start = page.body.find("hct_").expect("the new token is shown");
    let token: String = page.body[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    assert_eq!(token.len(), 4 + 64);
    let stored = count(
        &app,
        &format!(
            "SELECT COUNT(*) FROM api_tokens WHERE token_sha256 = '{}'",
            haechi_service::users::token_sha256(&token)
        ),
    )
    .await;
    assert_eq!(stored, 1);
    assert!(!s.get("/account").await.has_text(&token), "shown only once");

    let api = |t: String| {
        let router = app.router.clone();
        async move {
            router
                .oneshot(
                    Request::get("/api/v1/me")
                        .header(header::AUTHORIZATION, format!("Bearer {t}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(api(token.clone()).await, StatusCode::OK);
    let id: i64 = sqlx::query_scalar("SELECT id FROM api_tokens WHERE label = 'ci-pipeline'")
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap();
    // Another user cannot revoke it: not found, nothing changed.
    let other = app.login("ciso.hanbit").await;
    let page = other
        .post(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(api(token.clone()).await, StatusCode::OK);
    let page = s.post(&format!("/account/tokens/{id}/revoke"), &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(api(token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unknown_pages_answer_the_not_found_page_and_the_api_answers_json() {
    let app = App::demo().await;
    let s = app.login("officer").await;
    let page = s.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.has_text("페이지를 찾을 수 없습니다"), "{}", page.body);
    let api = s.get("/api/v1/no-such").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(api.body.starts_with('{'), "{}", api.body);
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let app = App::demo().await;
    let s = app.login("officer").await;
    let page = s.get("/account").await;
    let csp = page
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(page.headers.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
    assert_eq!(page.headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
}

#[tokio::test]
async fn a_malformed_form_gets_a_clear_message_and_changes_nothing() {
    let app = App::demo().await;
    let s = app.login("ciso.hanbit").await;
    let tokens = count(&app, "SELECT COUNT(*) FROM api_tokens").await;
    // The same field twice is not a form this page sends.
    let page = s
        .post("/account/tokens", &[("label", "a"), ("label", "b")])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    assert!(
        page.has_text("입력 형식이 올바르지 않습니다"),
        "{}",
        page.body
    );
    assert!(
        page.has_text("label"),
        "the message names the field: {}",
        page.body
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM api_tokens").await, tokens);
    // An id that is not a number is refused before anything runs.
    let page = s.post("/account/tokens/not-a-number/revoke", &[]).await;
    assert!(page.status.is_client_error(), "{}", page.status);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NOT NULL"
        )
        .await,
        0
    );
}
