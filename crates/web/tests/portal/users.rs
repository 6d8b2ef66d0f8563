//! Accounts and roles in the portal (regulator admin): the list, creating an account with its
//! initial password shown once, disabling and enabling, resetting a password (the old sessions
//! end), changing role and institution; other roles are refused.

use super::applications::count;
use super::*;

/// The password shown once on a page.
fn shown_password(page: &Page) -> String {
    let marker = "<code class=\"secret\">";
    let start = page.body.find(marker).expect("a password is shown") + marker.len();
    let end = page.body[start..].find('<').unwrap() + start;
    page.body[start..end].to_string()
}

async fn user_id(app: &App, username: &str) -> i64 {
    count(
        app,
        &format!("SELECT id FROM users WHERE username = '{username}'"),
    )
    .await
}

#[tokio::test]
async fn admin_lists_creates_disables_resets_and_changes_roles() {
    let app = App::demo().await;
    let admin = app.login("admin").await;
    let list = admin.get("/users").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.has_text("href=\"/users\""), "the admin's navigation");
    assert!(list.has_text("data-user=\"ciso.hanbit\"") && list.has_text("정보보호최고책임자"));
    assert!(list.has_text("KST"), "last sign-in in Korean time");

    // Bad input: next to the fields, nothing created.
    let users = count(&app, "SELECT COUNT(*) FROM users").await;
    let bad = admin
        .post(
            "/users",
            &[
                ("username", "x"),
                ("display_name", "엑스"),
                ("role", "ciso"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.has_text("id=\"institution_id-error\""), "{}", bad.body);
    let taken = admin
        .post(
            "/users",
            &[
                ("username", "officer"),
                ("display_name", "중복"),
                ("role", "analyst"),
            ],
        )
        .await;
    assert_eq!(
        taken.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        taken.body
    );
    assert!(taken.has_text("id=\"username-error\"") && taken.has_text("이미 있는 사용자 ID"));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, users);

    // Created: the initial password is shown once and signs in.
    let made = admin
        .post(
            "/users",
            &[
                ("username", "analyst.kim"),
                ("display_name", "김분석"),
                ("role", "analyst"),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let password = shown_password(&made);
    assert_eq!(password.len(), 16);
    assert!(!admin.get("/users").await.has_text(&password), "shown once");
    let kim = app.anonymous();
    assert_eq!(
        kim.sign_in("analyst.kim", &password).await.status,
        StatusCode::SEE_OTHER
    );
    let id = user_id(&app, "analyst.kim").await;
    assert_eq!(
        count(&app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'user.create' AND entity_id = '{id}'")).await,
        1
    );

    // Disabled: the session ends and signing in fails; enabled again, it signs in.
    let off = admin
        .post(&format!("/users/{id}/active"), &[("active", "no")])
        .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    assert_eq!(
        kim.get("/").await.status,
        StatusCode::SEE_OTHER,
        "signed out"
    );
    assert_ne!(
        app.anonymous()
            .sign_in("analyst.kim", &password)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let page = admin.get(&format!("/users/{id}")).await;
    assert!(page.has_text("사용 중지"));
    let on = admin
        .post(&format!("/users/{id}/active"), &[("active", "yes")])
        .await;
    assert_eq!(on.status, StatusCode::SEE_OTHER);
    let kim = app.anonymous();
    assert_eq!(
        kim.sign_in("analyst.kim", &password).await.status,
        StatusCode::SEE_OTHER
    );

    // Reset: a new password shown once; the old one and the old session stop working.
    let reset = admin
        .post(&format!("/users/{id}/password"), &[("confirm", "yes")])
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    let fresh = shown_password(&reset);
    assert_ne!(fresh, password);
    assert_eq!(kim.get("/").await.status, StatusCode::SEE_OTHER);
    assert_ne!(
        app.anonymous()
            .sign_in("analyst.kim", &password)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.anonymous().sign_in("analyst.kim", &fresh).await.status,
        StatusCode::SEE_OTHER
    );

    // Role change: an institution role needs its institution.
    let hanbit = count(&app, "SELECT id FROM institutions WHERE code = 'BNK-001'").await;
    let bad = admin
        .post(&format!("/users/{id}/role"), &[("role", "security_staff")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.has_text("id=\"institution_id-error\""));
    let inst = hanbit.to_string();
    let ok = admin
        .post(
            &format!("/users/{id}/role"),
            &[
                ("role", "security_staff"),
                ("institution_id", inst.as_str()),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let u = haechi_store::get_user(app.svc.store().pool(), id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (u.role, u.institution_id),
        (haechi_core::Role::SecurityStaff, Some(hanbit))
    );
    let page = admin.get(ok.location.as_deref().unwrap()).await;
    assert!(page.has_text("보안 담당자") && page.has_text("역할과 소속을 바꾸고"));
    let en = admin.get(&format!("/users/{id}?lang=en")).await;
    assert!(en.has_text("Security staff") && en.has_text("Change role and institution"));

    // The admin cannot lock themself out.
    let me = user_id(&app, "admin").await;
    assert_eq!(
        me, 1,
        "the matrix's probes of /users/1 name the admin's own account"
    );
    let own = admin
        .post(&format!("/users/{me}/active"), &[("active", "no")])
        .await;
    assert_eq!(own.status, StatusCode::CONFLICT, "{}", own.body);
    assert_eq!(admin.get("/users").await.status, StatusCode::OK);
}

#[tokio::test]
async fn only_the_regulator_admin_manages_users() {
    let app = App::demo().await;
    let officer = app.login("officer").await;
    let home = officer.get("/").await;
    assert!(!home.has_text("href=\"/users\""), "no link for an officer");
    assert_eq!(officer.get("/users").await.status, StatusCode::FORBIDDEN);
    let users = count(&app, "SELECT COUNT(*) FROM users").await;
    let refused = officer
        .post(
            "/users",
            &[
                ("username", "sneaky"),
                ("display_name", "x"),
                ("role", "regulator_admin"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, users);
}
