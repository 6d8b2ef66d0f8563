//! Immunity and incident pages (issue 17, C8): the institution files a disruption report from a
//! patch record and sees each criterion with its observed value, threshold, evidence, outcome and
//! policy version; the committee refuses with its reasons, which the institution sees; the CISO
//! appeals and a second version is granted. Bad input stays next to its field and stores nothing;
//! another institution's report answers 404; a reportable outage opens an incident whose clock
//! takes the initial report; a data-class breach is recorded against a revoked letter.

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

async fn hanbit_patch(app: &App) -> i64 {
    scalar(
        app,
        "SELECT MAX(id) FROM patch_records WHERE institution_id = (SELECT id FROM institutions WHERE code = 'BNK-001')",
    )
    .await
}

/// A report form of a 45-minute outage on 20 November (KST) tied to `patch`.
fn form(patch: &str, outage: &'static str) -> Vec<(&'static str, String)> {
    vec![
        ("activity", "emergency_patch".into()),
        ("patch_id", patch.into()),
        ("title", "긴급 패치 후 모바일뱅킹 접속 장애".into()),
        ("started_at", "2026-11-20T10:00".into()),
        ("detected_at", "2026-11-20T10:05".into()),
        ("recovered_at", "2026-11-20T10:45".into()),
        ("outage_minutes", outage.into()),
        ("affected_services", "모바일뱅킹".into()),
        ("affected_subscribers", "12,000".into()),
        ("financial_damage_krw", "150000000".into()),
        ("leaked_records", "0".into()),
        ("recovery_actions", "킬스위치로 이전 버전 복귀".into()),
        ("consumer_actions", "지연 이체 수수료 면제".into()),
    ]
}

async fn file(app: &App, who: &str, fields: &[(&'static str, String)]) -> crate::Page {
    let s = app.login(who).await;
    let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    s.post("/immunity", &f).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_institution_files_from_a_patch_record_and_the_committee_decides() {
    let app = App::demo().await;
    let patch = hanbit_patch(&app).await;
    let ciso = app.login("ciso.hanbit").await;
    // The patch record leads to the form, with the record chosen.
    let record = ciso.get(&format!("/patches/{patch}")).await;
    assert!(
        record.has_text(&format!("/immunity/new?patch={patch}")),
        "{}",
        record.body
    );
    let new = ciso.get(&format!("/immunity/new?patch={patch}")).await;
    assert_eq!(new.status, StatusCode::OK);
    assert!(
        new.has_text(&format!("value=\"{patch}\" selected")),
        "{}",
        new.body
    );
    assert!(
        new.has_text("긴급 보안패치\" selected")
            || new.has_text("value=\"emergency_patch\" selected")
    );

    let page = file(&app, "staff.hanbit", &form(&patch.to_string(), "")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let at = page.location.unwrap();
    assert!(at.ends_with("?done=filed"), "{at}");
    let id = at
        .trim_start_matches("/immunity/")
        .trim_end_matches("?done=filed")
        .to_string();
    let shown = ciso.get(&at).await;
    // Every criterion with observed value, threshold, outcome; the policy version; evidence.
    for text in [
        "면책 기준",
        "금전적 피해 1억 원 미만",
        "1억 원",
        "&lt; 1억 원",
        "≤ 240분",
        "40분",
        "미충족",
        "충족",
        "정책 버전 ",
        &format!("패치 기록 #{patch}의 작업계획서"),
        "심사 대기",
        "정책상 면책 기준 미충족",
        "전산사고 보고 대상입니다",
        "발생 2026-11-20 10:00 KST · 복구 2026-11-20 10:45 KST",
    ] {
        assert!(shown.has_text(text), "missing {text:?}");
    }
    // No decision form for the institution.
    assert!(!shown.has_text("/decision\""));

    // The committee refuses with its reasons; the institution sees them.
    let officer = app.login("officer").await;
    let page = officer.get(&format!("/immunity/{id}")).await;
    assert!(page.has_text(&format!("/immunity/{id}/decision")));
    let bad = officer
        .post(
            &format!("/immunity/{id}/decision"),
            &[("decision", "refuse"), ("rationale", " ")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.has_text("비워 둘 수 없습니다."), "{}", bad.body);
    let done = officer
        .post(
            &format!("/immunity/{id}/decision"),
            &[
                ("decision", "refuse"),
                (
                    "rationale",
                    "금전적 피해가 1억 원 이상으로 면책 기준 미충족",
                ),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let seen = ciso.get(&format!("/immunity/{id}")).await;
    assert!(seen.has_text("면책 불인정"));
    assert!(seen.has_text("금전적 피해가 1억 원 이상으로 면책 기준 미충족"));
    assert!(seen.has_text(&format!("/immunity/{id}/appeal")));
    // Staff do not get the appeal form; the CISO appeals; a second version is granted.
    let staff = app.login("staff.hanbit").await;
    assert!(!staff
        .get(&format!("/immunity/{id}"))
        .await
        .has_text("/appeal\""));
    let appealed = ciso
        .post(
            &format!("/immunity/{id}/appeal"),
            &[("reason", "보험으로 피해 전액 보전")],
        )
        .await;
    assert_eq!(appealed.status, StatusCode::SEE_OTHER, "{}", appealed.body);
    officer
        .post(
            &format!("/immunity/{id}/decision"),
            &[("decision", "grant"), ("rationale", "재심: 보험 보전 확인")],
        )
        .await;
    let seen = ciso.get(&format!("/immunity/{id}?lang=en")).await;
    for text in [
        "Review version 2",
        "Review version 1",
        "Immunity granted",
        "Immunity refused",
        "재심: 보험 보전 확인",
        "Reason for the appeal",
        "Immunity criteria",
    ] {
        assert!(seen.has_text(text), "missing {text:?}");
    }
    // The list shows it to both sides; another institution gets 404.
    assert!(officer
        .get("/immunity")
        .await
        .has_text("긴급 패치 후 모바일뱅킹 접속 장애"));
    let other = app.login("ciso.saebom").await;
    assert_eq!(
        other.get(&format!("/immunity/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!other
        .get("/immunity")
        .await
        .has_text("긴급 패치 후 모바일뱅킹 접속 장애"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_shown_next_to_its_field_and_stores_nothing() {
    let app = App::demo().await;
    let before = scalar(&app, "SELECT COUNT(*) FROM disruption_reports").await;
    let mut f = form("", "");
    f.retain(|(k, _)| *k != "title");
    f.push(("title", String::new()));
    f.retain(|(k, _)| *k != "detected_at");
    f.push(("detected_at", "2026-11-20T09:00".into()));
    f.push(("pre_testing", "1".into()));
    let page = file(&app, "ciso.hanbit", &f).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.has_text("발생 시각보다 앞설 수 없습니다."),
        "{}",
        page.body
    );
    assert!(page.has_text("비워 둘 수 없습니다."));
    assert!(page.has_text("id=\"title-error\""));
    // What was typed stays.
    assert!(page.has_text("모바일뱅킹"));
    let mut f = form("", "abc");
    f.retain(|(k, _)| *k != "started_at");
    f.push(("started_at", "어제".into()));
    let page = file(&app, "ciso.hanbit", &f).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.has_text("숫자를 쓰십시오."));
    assert!(page.has_text("날짜와 시각을 쓰십시오(KST)."));
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM disruption_reports").await,
        before
    );
    // The regulator side and auditors do not file.
    let officer = app.login("officer").await;
    assert_eq!(
        officer.get("/immunity/new").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reportable_outage_runs_the_incident_clock() {
    let app = App::demo().await;
    let patch = hanbit_patch(&app).await;
    let page = file(&app, "ciso.hanbit", &form(&patch.to_string(), "")).await;
    let id = page
        .location
        .unwrap()
        .trim_start_matches("/immunity/")
        .trim_end_matches("?done=filed")
        .parse::<i64>()
        .unwrap();
    let incident = scalar(
        &app,
        &format!("SELECT id FROM incidents WHERE disruption_id = {id}"),
    )
    .await;
    let ciso = app.login("ciso.hanbit").await;
    let page = ciso.get(&format!("/incidents/{incident}")).await;
    // Aware 20 Nov 10:05 KST: initial report due a day later, overdue by now; interim after 2 months.
    for text in [
        "최초 보고",
        "2026-11-21 10:05 KST",
        "기한 경과",
        "중간 보고",
        "2027-01-20 10:05 KST",
        "종결 시",
    ] {
        assert!(page.has_text(text), "missing {text:?}");
    }
    assert!(app
        .login("officer")
        .await
        .get("/incidents")
        .await
        .has_text("보고 기한 경과"));
    let filed = ciso
        .post(
            &format!("/incidents/{incident}/reports"),
            &[("kind", "initial"), ("body", "최초 보고: 원인 분석 중")],
        )
        .await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.body);
    let page = ciso.get(&format!("/incidents/{incident}")).await;
    assert!(page.has_text("기한 후 제출"));
    assert!(page.has_text("최초 보고: 원인 분석 중"));
    let again = ciso
        .post(
            &format!("/incidents/{incident}/reports"),
            &[("kind", "initial"), ("body", "x")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.has_text("최초 보고는 이미 제출했습니다."));
    let other = app.login("staff.saebom").await;
    assert_eq!(
        other.get(&format!("/incidents/{incident}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_class_breach_is_recorded_against_the_revoked_letter() {
    let app = App::demo().await;
    let letter = scalar(&app, "SELECT MAX(id) FROM letters WHERE state = 'revoked'").await;
    let inst = scalar(
        &app,
        &format!("SELECT institution_id FROM letters WHERE id = {letter}"),
    )
    .await;
    let officer = app.login("officer").await;
    assert_eq!(officer.get("/incidents/new").await.status, StatusCode::OK);
    let page = officer
        .post(
            "/incidents",
            &[
                ("institution_id", &inst.to_string()),
                ("title", "범위 밖 SaaS로 고객정보 전송"),
                ("aware_at", "2026-11-10T09:00"),
                ("letter_id", &letter.to_string()),
                ("description", "S등급 고객 개인정보"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let shown = officer.get(page.location.as_deref().unwrap()).await;
    for text in [
        "데이터 등급 위반",
        "취소됨",
        "최초 보고",
        "2026-11-11 09:00 KST",
    ] {
        assert!(shown.has_text(text), "missing {text:?}");
    }
    let auditor = app.login("auditor").await;
    assert_eq!(
        auditor.get("/incidents/new").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_has_a_granted_and_a_refused_case_and_an_incident_with_its_reports() {
    let app = App::demo().await;
    let officer = app.login("officer").await;
    let list = officer.get("/immunity").await;
    assert!(
        list.has_text("면책</span>") || list.has_text("badge ok\">면책"),
        "{}",
        list.body
    );
    assert!(list.has_text("면책 불인정"));
    let refused = scalar(
        &app,
        "SELECT report_id FROM immunity_reviews WHERE state = 'refused'",
    )
    .await;
    let page = app
        .login("ciso.hanbit")
        .await
        .get(&format!("/immunity/{refused}"))
        .await;
    for text in ["면책 불인정", "4시간 40분", "미충족", "정책 버전 "] {
        assert!(page.has_text(text), "missing {text:?}");
    }
    let granted = scalar(
        &app,
        "SELECT report_id FROM immunity_reviews WHERE state = 'granted'",
    )
    .await;
    let incident = scalar(
        &app,
        &format!("SELECT id FROM incidents WHERE disruption_id = {granted}"),
    )
    .await;
    let page = officer.get(&format!("/immunity/{granted}")).await;
    assert!(page.has_text("정책상 면책 기준 충족"), "{}", page.body);
    assert!(page.has_text("의 작업계획서"));
    let page = officer.get(&format!("/incidents/{incident}")).await;
    for text in ["최초 보고:", "중간 보고:", "2027-05-15"] {
        assert!(page.has_text(text), "missing {text:?}");
    }
    // The breach behind the revoked letter is overdue: no initial report was filed.
    let incidents = officer.get("/incidents").await;
    assert!(incidents.has_text("데이터 등급 위반"));
    assert!(incidents.has_text("보고 기한 경과"));
}
