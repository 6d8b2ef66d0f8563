//! Applications (C3): the list, the application form (validation next to the fields, save as
//! draft, submit), evidence upload and download with the size limit, the status history, and
//! tenant isolation (another institution's application is "not found").

use haechi_core::{Actor, ApplicationState};
use haechi_service::ServiceConfig;
use haechi_store::ApplicationFilter;

use super::*;

pub async fn actor(app: &App, username: &str) -> Actor {
    let u = app
        .svc
        .list_users(&Actor::system(), None)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == username)
        .unwrap_or_else(|| panic!("no demo user {username}"));
    Actor {
        user_id: u.id,
        username: u.username,
        role: u.role,
        institution_id: u.institution_id,
    }
}

pub async fn count(app: &App, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap()
}

/// Applications of an institution, newest first.
async fn applications_of(app: &App, institution_id: i64) -> Vec<haechi_core::Application> {
    app.svc
        .list_applications(
            &Actor::system(),
            ApplicationFilter {
                institution_id: Some(institution_id),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .0
}

/// The id in a `Location` like `/applications/12?notice=saved`.
pub fn id_in(location: &str) -> i64 {
    location
        .trim_start_matches("/applications/")
        .split(['?', '/', '#'])
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no id in {location}"))
}

/// A complete application form: every field a submission needs.
pub fn complete_form(criteria: &[String]) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = vec![
        ("ai_vulnerability_assessment".into(), "on".into()),
        ("security_saas".into(), "on".into()),
        ("services[0].kind".into(), "ai_service".into()),
        ("services[0].name".into(), "가온 취약점 분석 AI v3".into()),
        ("services[0].vendor".into(), "가온랩스".into()),
        (
            "services[0].certifications".into(),
            "ISO/IEC 27001, SOC 2".into(),
        ),
        ("services[0].data_classes".into(), "S".into()),
        ("services[0].data_classes".into(), "O".into()),
        ("services[1].kind".into(), "saas".into()),
        ("services[1].name".into(), "".into()),
        ("services[1].vendor".into(), "".into()),
        (
            "internal_controls".into(),
            "C등급 데이터 전송 금지, S등급 비식별 후 전송, 접속기록 1년 보관.".into(),
        ),
    ];
    for c in criteria {
        f.push((format!("self_assessment.{c}"), "3".into()));
    }
    f
}

pub fn as_refs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

pub fn criteria(app: &App) -> Vec<String> {
    app.svc
        .policy()
        .evaluation
        .criteria
        .iter()
        .map(|c| c.id.clone())
        .collect()
}

#[tokio::test]
async fn invalid_form_shows_errors_next_to_the_fields_and_saves_nothing() {
    let app = App::demo().await;
    let ciso = actor(&app, "ciso.hanbit").await;
    let inst = ciso.institution_id.unwrap();
    let s = app.login("ciso.hanbit").await;
    let before = applications_of(&app, inst).await.len();
    let audit = count(&app, "SELECT COUNT(*) FROM audit_log").await;

    let form = s.get("/applications/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    for label in [
        "신청 범위",
        "내부통제",
        "자체 평가",
        "임시 저장",
        "저장 후 제출",
    ] {
        assert!(form.has_text(label), "the form lacks {label:?}");
    }

    // A level that is not a number: caught by the page, next to its control.
    let page = s
        .post(
            "/applications/new",
            &[
                ("internal_controls", "내 입력은 유지되어야 합니다"),
                ("self_assessment.governance", "9x"),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        page.has_text("id=\"self_assessment.governance-error\""),
        "{}",
        page.body
    );
    assert!(page.has_text("1~4 사이의 숫자를 고르십시오."));
    assert!(
        page.has_text("내 입력은 유지되어야 합니다"),
        "the user's input is kept"
    );
    assert!(page.has_text("아무것도 저장하지 않았습니다"));

    // A services row with a product but no vendor, below a blank row: the service's error is
    // shown next to the row the user typed in (row 1), and the input is kept.
    let page = s
        .post(
            "/applications/new",
            &[
                ("services[0].kind", "ai_service"),
                ("services[0].name", ""),
                ("services[0].vendor", ""),
                ("services[1].kind", "saas"),
                ("services[1].name", "해솔 보안관제 SaaS"),
                ("services[1].vendor", "  "),
                ("services[1].data_classes", "O"),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        page.has_text("id=\"services[1].vendor-error\""),
        "{}",
        page.body
    );
    assert!(page.has_text("비워 둘 수 없습니다."), "{}", page.body);
    assert!(
        !page.has_text("must not be empty"),
        "no English on a Korean page"
    );
    assert!(!page.has_text("id=\"services[0].vendor-error\""));
    assert!(
        page.has_text("value=\"해솔 보안관제 SaaS\""),
        "the typed product is kept"
    );

    assert_eq!(
        applications_of(&app, inst).await.len(),
        before,
        "nothing saved"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM audit_log").await,
        audit,
        "no audit entry for a refused form"
    );
}

#[tokio::test]
async fn staff_saves_a_draft_but_cannot_submit_it() {
    let app = App::demo().await;
    let staff = actor(&app, "staff.hanbit").await;
    let inst = staff.institution_id.unwrap();
    let s = app.login("staff.hanbit").await;
    let before = applications_of(&app, inst).await.len();

    let form = s.get("/applications/new").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.has_text("임시 저장"));
    assert!(
        !form.has_text("저장 후 제출"),
        "staff are not offered submit"
    );

    let fields = complete_form(&criteria(&app));
    let mut with_intent = as_refs(&fields);
    with_intent.push(("intent", "save"));
    let saved = s.post("/applications/new", &with_intent).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let loc = saved.location.unwrap();
    let id = id_in(&loc);
    assert!(loc.ends_with("notice=saved"), "{loc}");
    let apps = applications_of(&app, inst).await;
    assert_eq!(apps.len(), before + 1);
    let stored = apps.iter().find(|a| a.id == id).unwrap();
    assert_eq!(stored.state, ApplicationState::Draft);
    assert_eq!(
        stored.content.services.len(),
        1,
        "the blank row is not saved"
    );
    assert_eq!(
        stored.content.services[0].certifications,
        ["ISO/IEC 27001", "SOC 2"]
    );
    assert_eq!(stored.content.services[0].data_classes, ["S", "O"]);
    assert_eq!(stored.content.self_assessment.len(), criteria(&app).len());

    let view = s.get(&loc).await;
    assert_eq!(view.status, StatusCode::OK);
    assert!(view.has_text("임시 저장했습니다."));
    assert!(view.has_text("가온 취약점 분석 AI v3"));
    assert!(view.has_text("처리 이력"));

    // Submitting is the CISO's: refused with the 403 page, nothing changes.
    let refused = s
        .post(
            &format!("/applications/{id}/transition"),
            &[("action", "submit")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.has_text("권한이 없습니다"));
    let mut again = as_refs(&fields);
    again.push(("intent", "submit"));
    let refused = s.post(&format!("/applications/{id}/edit"), &again).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let now = app.svc.get_application(&staff, id).await.unwrap();
    assert_eq!(now.application.state, ApplicationState::Draft);
    assert!(now.events.iter().all(|e| e.action != "submit"));
}

#[tokio::test]
async fn ciso_submits_and_the_history_shows_it() {
    let app = App::demo().await;
    let ciso = actor(&app, "ciso.hanbit").await;
    let s = app.login("ciso.hanbit").await;

    // Incomplete: saved as a draft, not submitted; the reasons sit next to the fields.
    let created = s
        .post(
            "/applications/new",
            &[("internal_controls", "짧음"), ("intent", "submit")],
        )
        .await;
    assert_eq!(
        created.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        created.body
    );
    assert!(
        created.has_text("id=\"internal_controls-error\""),
        "{}",
        created.body
    );
    assert!(created.has_text("id=\"scope-error\""));
    assert!(created.has_text("id=\"self_assessment.governance-error\""));
    assert!(created.has_text("제출하지 못했습니다"));
    let (apps, _) = app
        .svc
        .list_applications(
            &ciso,
            ApplicationFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let draft = apps.iter().max_by_key(|a| a.id).unwrap();
    assert_eq!(draft.state, ApplicationState::Draft);
    assert_eq!(draft.content.internal_controls, "짧음");

    // Completed on the edit page and submitted.
    let fields = complete_form(&criteria(&app));
    let mut post = as_refs(&fields);
    post.push(("intent", "submit"));
    let done = s
        .post(&format!("/applications/{}/edit", draft.id), &post)
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(done
        .location
        .as_deref()
        .unwrap()
        .ends_with("notice=submitted"));
    let view = app.svc.get_application(&ciso, draft.id).await.unwrap();
    assert_eq!(view.application.state, ApplicationState::Submitted);

    let page = s.get(&format!("/applications/{}", draft.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_text("처리 이력"));
    assert!(page.has_text("작성 중 → 제출됨"), "{}", page.body);
    assert!(
        !page.has_text(&format!("/applications/{}/edit", draft.id)),
        "no edit once submitted"
    );
    let en = s.get(&format!("/applications/{}?lang=en", draft.id)).await;
    assert!(
        en.has_text("Status history") && en.has_text("Draft → Submitted"),
        "{}",
        en.body
    );

    // A submitted application cannot be edited any more.
    let refused = s
        .post(&format!("/applications/{}/edit", draft.id), &post)
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.has_text("only a draft can be edited"));

    // Withdrawn by the CISO.
    let w = s
        .post(
            &format!("/applications/{}/transition", draft.id),
            &[("action", "withdraw")],
        )
        .await;
    assert_eq!(w.status, StatusCode::SEE_OTHER, "{}", w.body);
    let view = app.svc.get_application(&ciso, draft.id).await.unwrap();
    assert_eq!(view.application.state, ApplicationState::Withdrawn);
}

#[tokio::test]
async fn another_institutions_application_is_not_found() {
    let app = App::demo().await;
    let saebom = actor(&app, "ciso.saebom").await;
    let theirs = applications_of(&app, saebom.institution_id.unwrap()).await;
    let target = theirs
        .iter()
        .find(|a| !a.state.is_final())
        .expect("saebom has an open application");
    let s = app.login("ciso.hanbit").await;
    for path in [
        format!("/applications/{}", target.id),
        format!("/applications/{}/edit", target.id),
        format!("/applications/{}/review", target.id),
        "/applications/999999".to_string(),
        "/applications/not-a-number".to_string(),
    ] {
        let page = s.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.body);
        assert!(page.has_text("페이지를 찾을 수 없습니다"), "{path}");
        assert!(
            !page.has_text(&target.institution_name),
            "{path} leaks the name"
        );
    }
    let w = s
        .post(
            &format!("/applications/{}/transition", target.id),
            &[("action", "withdraw")],
        )
        .await;
    assert_eq!(w.status, StatusCode::NOT_FOUND);
    let after = app.svc.get_application(&saebom, target.id).await.unwrap();
    assert_eq!(after.application.state, target.state, "nothing changed");

    // Their list shows only their own.
    let list = s.get("/applications").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(!list.has_text(&format!("href=\"/applications/{}\"", target.id)));
}

#[tokio::test]
async fn returned_draft_shows_the_officers_comments() {
    let app = App::demo().await;
    let saebom = actor(&app, "ciso.saebom").await;
    let returned = applications_of(&app, saebom.institution_id.unwrap())
        .await
        .into_iter()
        .find(|a| a.state == ApplicationState::Draft)
        .expect("the demo returns saebom's application");
    let s = app.login("ciso.saebom").await;
    let page = s.get(&format!("/applications/{}", returned.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_text("보완 요청"), "{}", page.body);
    assert!(page.has_text("공급망 보안(supply_chain)"));
    let edit = s.get(&format!("/applications/{}/edit", returned.id)).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(
        edit.has_text("공급망 보안(supply_chain)"),
        "the edit form shows the comments"
    );
    assert!(
        edit.has_text("internal-controls-plan.txt"),
        "the evidence is listed"
    );
}

#[tokio::test]
async fn evidence_upload_download_and_size_limit() {
    let app = App::demo_with(ServiceConfig {
        max_attachment_bytes: 1024,
        // The router's body limit follows the larger of the two limits (+64 KiB).
        max_import_bytes: 1024,
        ..ServiceConfig::default()
    })
    .await;
    let ciso = actor(&app, "ciso.hanbit").await;
    let s = app.login("ciso.hanbit").await;
    let fields = complete_form(&criteria(&app));
    let mut post = as_refs(&fields);
    post.push(("intent", "save"));
    let id = id_in(&s.post("/applications/new", &post).await.location.unwrap());

    let data = b"internal controls plan v1".to_vec();
    let up = s
        .post_multipart(
            &format!("/applications/{id}/attachments"),
            &[],
            &[("file", "통제계획.txt", data.clone())],
        )
        .await;
    assert_eq!(up.status, StatusCode::SEE_OTHER, "{}", up.body);
    let view = app.svc.get_application(&ciso, id).await.unwrap();
    assert_eq!(view.attachments.len(), 1);
    let att = &view.attachments[0];
    let page = s.get(&format!("/applications/{id}")).await;
    assert!(
        page.has_text("통제계획.txt") && page.has_text(&att.sha256),
        "{}",
        page.body
    );

    let file = s.get(&format!("/attachments/{}", att.id)).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body.as_bytes(), data.as_slice());
    // Uploaded without a type: served as what its name says, shown in place, sandboxed.
    assert_eq!(
        file.headers.get(header::CONTENT_TYPE).unwrap(),
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        file.headers
            .get(header::CONTENT_DISPOSITION)
            .unwrap()
            .to_str()
            .unwrap(),
        "inline; filename=\"____.txt\"; filename*=UTF-8''%ED%86%B5%EC%A0%9C%EA%B3%84%ED%9A%8D.txt"
    );
    assert!(file
        .headers
        .get(header::CONTENT_SECURITY_POLICY)
        .unwrap()
        .to_str()
        .unwrap()
        .contains("sandbox"));

    // Over the limit: 413 with a clear message, nothing stored.
    let big = vec![b'x'; 2048];
    let refused = s
        .post_multipart(
            &format!("/applications/{id}/attachments"),
            &[],
            &[("file", "big.bin", big)],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        refused.body
    );
    assert!(refused.has_text("파일이 너무 큽니다"), "{}", refused.body);
    assert!(refused.has_text("아무것도 저장하지 않았습니다"));
    let view = app.svc.get_application(&ciso, id).await.unwrap();
    assert_eq!(
        view.attachments.len(),
        1,
        "the over-size file was not stored"
    );

    // Over the router's body limit too: refused before anything is read.
    let huge = vec![b'x'; 200 * 1024];
    let refused = s
        .post_multipart(
            &format!("/applications/{id}/attachments"),
            &[],
            &[("file", "huge.bin", huge)],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        refused.body
    );
    assert!(
        refused.has_text("올린 파일이 허용된 크기보다 커서 아무것도 저장하지 않았습니다."),
        "{}",
        refused.body
    );
    let view = app.svc.get_application(&ciso, id).await.unwrap();
    assert_eq!(view.attachments.len(), 1);

    // Without the CSRF field: refused, nothing stored.
    let forged = s
        .post_multipart_raw(
            &format!("/applications/{id}/attachments"),
            None,
            &[],
            &[("file", "x.txt", b"x".to_vec())],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.svc
            .get_application(&ciso, id)
            .await
            .unwrap()
            .attachments
            .len(),
        1
    );

    // Another institution's user cannot download it.
    let other = app.login("ciso.saebom").await;
    let page = other.get(&format!("/attachments/{}", att.id)).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn officer_lists_every_application_with_a_state_filter() {
    let app = App::demo().await;
    let s = app.login("officer").await;
    let all = s.get("/applications").await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(all.has_text("페이지 1"), "the list has a pager");
    assert!(!all.has_text("새 신청서 작성"), "officers do not draft");

    let under = s.get("/applications?state=under_review").await;
    assert_eq!(under.status, StatusCode::OK);
    let officer = actor(&app, "officer").await;
    let (items, total) = app
        .svc
        .list_applications(
            &officer,
            ApplicationFilter {
                state: Some(ApplicationState::UnderReview),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(total >= 1);
    for a in &items {
        assert!(under.has_text(&format!("href=\"/applications/{}\"", a.id)));
    }
    assert!(!under.has_text("data-state=\"approved\""), "{}", under.body);

    let far = s.get("/applications?page=99").await;
    assert_eq!(far.status, StatusCode::OK);
    assert!(far.has_text("해당하는 신청이 없습니다."));

    let bad = s.get("/applications?state=nonsense").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.has_text("id=\"state-error\""));

    // The officer does not see the institution's buttons but the review link.
    let one = &items[0];
    let page = s.get(&format!("/applications/{}", one.id)).await;
    assert!(page.has_text(&format!("/applications/{}/review", one.id)));
}

#[tokio::test]
async fn evidence_is_served_with_its_real_type_and_a_safe_disposition() {
    let app = App::demo().await;
    let ciso = actor(&app, "ciso.hanbit").await;
    let s = app.login("ciso.hanbit").await;
    let fields = complete_form(&criteria(&app));
    let mut post = as_refs(&fields);
    post.push(("intent", "save"));
    let id = id_in(&s.post("/applications/new", &post).await.location.unwrap());
    // The test client uploads every file as application/octet-stream: the name decides.
    for (name, served, disposition) in [
        ("보고서.pdf", "application/pdf", "inline"),
        ("page.html", "text/html; charset=utf-8", "attachment"),
        ("payload.bin", "application/octet-stream", "attachment"),
        ("chart.PNG", "image/png", "inline"),
    ] {
        let up = s
            .post_multipart(
                &format!("/applications/{id}/attachments"),
                &[],
                &[("file", name, b"<script>alert(1)</script>".to_vec())],
            )
            .await;
        assert_eq!(up.status, StatusCode::SEE_OTHER, "{}", up.body);
        let view = app.svc.get_application(&ciso, id).await.unwrap();
        let att = view
            .attachments
            .iter()
            .find(|a| a.filename == name)
            .unwrap();
        let file = s.get(&format!("/attachments/{}", att.id)).await;
        assert_eq!(file.status, StatusCode::OK);
        assert_eq!(
            file.headers.get(header::CONTENT_TYPE).unwrap(),
            served,
            "{name}"
        );
        let d = file
            .headers
            .get(header::CONTENT_DISPOSITION)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(d.starts_with(&format!("{disposition};")), "{name}: {d}");
        assert!(d.contains("filename*=UTF-8''"), "{d}");
        assert_eq!(
            file.headers.get("x-content-type-options").unwrap(),
            "nosniff"
        );
        if served != "application/pdf" {
            let csp = file.headers.get(header::CONTENT_SECURITY_POLICY).unwrap();
            assert!(csp.to_str().unwrap().contains("sandbox"), "{name}");
        }
    }
}
