//! Issue #17 follow-up pages on the demo: the funded fintech's self-service findings and patch
//! queue (with the reason shown) while an unfunded small firm is refused in Korean; support
//! cases from both sides with illegal steps refused; the outcome report accepted with its file
//! and hash; evidence files on a disruption report (policy type refused, kept with SHA-256,
//! closed once decided); another institution's ids answer 404; Korean pages show KST.

use axum::http::StatusCode;
use haechi_core::{Actor, Role};

use crate::App;

async fn scalar(app: &App, sql: &str) -> i64 {
    sqlx::query_scalar::<_, Option<i64>>(sql)
        .fetch_optional(app.svc.store().pool())
        .await
        .unwrap()
        .flatten()
        .unwrap_or_else(|| panic!("no row for: {sql}"))
}

/// No English words of these pages' own, no UTC, no raw field names on a Korean page.
fn korean_only(body: &str) {
    for english in [
        "Support cases",
        "Outcome reports",
        "Evidence files",
        "Awaiting review",
        "UTC",
        "achieved_ko",
        "used_krw",
        "in_progress",
    ] {
        assert!(!body.contains(english), "a Korean page shows {english:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_funded_firm_works_on_its_own_and_an_unfunded_one_is_refused() {
    let app = App::demo().await;
    let firm = app.login("staff.fintech").await;
    for path in ["/findings", "/queue", "/imports"] {
        let page = firm.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(
            page.has_text("AI 보안지원센터의 지원 대상 기관으로"),
            "{path} does not say why it is open"
        );
    }
    let findings = firm.get("/findings").await;
    assert!(findings.has_text("가맹점 조회 API"), "{}", findings.body);

    // A small firm without a letter or an award: refused, in Korean, with the way out.
    let unfunded = scalar(
        &app,
        "SELECT MIN(i.id) FROM institutions i WHERE (i.size_class = 'small' OR i.sector = 'fintech') \
         AND NOT EXISTS (SELECT 1 FROM funding_applications a WHERE a.institution_id = i.id AND a.state = 'awarded') \
         AND NOT EXISTS (SELECT 1 FROM letters l WHERE l.institution_id = i.id AND l.state = 'issued')",
    )
    .await;
    let user = app
        .svc
        .create_user(
            &Actor::system(),
            "staff.unfunded",
            "미지원 기관 담당자",
            Role::SecurityStaff,
            Some(unfunded),
        )
        .await
        .unwrap();
    app.svc
        .set_password(&Actor::system(), user.id, crate::PASSWORD)
        .await
        .unwrap();
    let other = app.login("staff.unfunded").await;
    for path in ["/findings", "/queue", "/imports"] {
        let page = other.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.has_text("이용할 수 없습니다"), "{path}: {}", page.body);
        assert!(page.has_text("지원센터 상담에서 문의하십시오"));
        assert!(
            !page.has_text("a small firm needs"),
            "English on a Korean page"
        );
    }
    // A large bank is not concerned.
    let bank = app.login("staff.hanbit").await;
    let page = bank.get("/findings").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.has_text("AI 보안지원센터의 지원 대상 기관으로"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_cases_from_both_sides() {
    let app = App::demo().await;
    let firm = app.login("ciso.fintech").await;
    let list = firm.get("/support").await;
    assert_eq!(list.status, StatusCode::OK);
    for text in [
        "AI 코드 점검 결과 해석 지원 요청",
        "간편결제 앱 대상 AI 피싱 동향 문의",
        "답변 완료",
        "접수",
        "KST",
    ] {
        assert!(list.has_text(text), "missing {text:?}");
    }
    korean_only(&list.body);
    let open = scalar(
        &app,
        "SELECT MAX(id) FROM support_cases WHERE status = 'open'",
    )
    .await;
    let answered = scalar(
        &app,
        "SELECT MIN(id) FROM support_cases WHERE status = 'answered'",
    )
    .await;
    let page = firm.get(&format!("/support/{answered}")).await;
    assert!(page.has_text("CWE-89, CWE-798 항목부터"), "{}", page.body);
    assert!(page.has_text("지원센터"));
    korean_only(&page.body);

    // The center takes the open case up and answers; an empty answer is refused in Korean.
    let center = app.login("support").await;
    let taken = center
        .post(
            &format!("/support/{open}/step"),
            &[("step", "triage"), ("message", "")],
        )
        .await;
    assert_eq!(taken.status, StatusCode::SEE_OTHER, "{}", taken.body);
    let empty = center
        .post(
            &format!("/support/{open}/step"),
            &[("step", "answer"), ("message", " ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.has_text("메시지"), "{}", empty.body);
    // An illegal step is refused and changes nothing.
    let illegal = firm
        .post(
            &format!("/support/{open}/step"),
            &[("step", "triage"), ("message", "")],
        )
        .await;
    assert_eq!(illegal.status, StatusCode::CONFLICT);
    assert!(illegal.has_text("현재 상태에서는 할 수 없는 작업입니다."));
    let answer = center
        .post(
            &format!("/support/{open}/step"),
            &[
                ("step", "answer"),
                ("message", "금융보안원 위협 동향 보고서를 참고하십시오."),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let seen = firm.get(&format!("/support/{open}")).await;
    assert!(seen.has_text("금융보안원 위협 동향 보고서"));
    assert!(seen.has_text("답변 완료"));
    // The firm closes it.
    let closed = firm
        .post(
            &format!("/support/{open}/step"),
            &[("step", "close"), ("message", "")],
        )
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    assert!(firm.get(&format!("/support/{open}")).await.has_text("종결"));

    // Another institution's case is not there; a large bank's case is refused with the reason.
    let bank = app.login("ciso.hanbit").await;
    assert_eq!(
        bank.get(&format!("/support/{answered}")).await.status,
        StatusCode::NOT_FOUND
    );
    let refused = bank
        .post(
            "/support",
            &[
                ("kind", "threat_trend"),
                ("subject", "문의"),
                ("description", "동향"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.has_text("소규모 금융회사와 핀테크가 신청합니다"));
    // The nav shows the entry to those who read cases.
    assert!(firm.get("/").await.has_text("지원센터 상담"));
    assert!(!app
        .login("analyst")
        .await
        .get("/")
        .await
        .has_text("href=\"/support\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outcome_report_is_filed_reviewed_and_private() {
    let app = App::demo().await;
    let grant = scalar(&app, "SELECT MIN(application_id) FROM funding_outcomes").await;
    let firm = app.login("ciso.fintech").await;
    let page = firm.get(&format!("/grants/{grant}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "성과 보고",
        "승인",
        "사용내역-2026-11.csv",
        "2차 지급 진행",
        "KST",
    ] {
        assert!(page.has_text(text), "missing {text:?}");
    }
    korean_only(&page.body);
    let sha = scalar(&app, "SELECT MIN(id) FROM funding_outcome_attachments").await;
    let stored: String =
        sqlx::query_scalar("SELECT sha256 FROM funding_outcome_attachments WHERE id = $1")
            .bind(sha)
            .fetch_one(app.svc.store().pool())
            .await
            .unwrap();
    assert!(page.has_text(&stored));
    let file = firm.get(&format!("/outcome-files/{sha}")).await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(file.body.starts_with("항목,금액(원)"));
    assert_eq!(file.headers["x-content-sha256"].to_str().unwrap(), stored);
    // Accepted: no second report can be filed, and the form is gone.
    assert!(!page.has_text("성과 보고 제출"));
    // Another institution sees neither the award's page nor its file.
    let bank = app.login("ciso.hanbit").await;
    assert_eq!(
        bank.get(&format!("/grants/{grant}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bank.get(&format!("/outcome-files/{sha}")).await.status,
        StatusCode::NOT_FOUND
    );
    // The center sees it and links it from the call.
    let center = app.login("support").await;
    assert!(center
        .get(&format!("/grants/{grant}"))
        .await
        .has_text("사용내역-2026-11.csv"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_files_on_a_disruption_report() {
    let app = App::demo().await;
    let hanbit = scalar(&app, "SELECT id FROM institutions WHERE code = 'BNK-001'").await;
    // A fresh report of the bank, awaiting the committee.
    let staff = app.login("staff.hanbit").await;
    let filed = staff
        .post(
            "/immunity",
            &[
                ("activity", "ai_security_test"),
                ("title", "증빙 첨부 점검"),
                ("started_at", "2026-11-20T10:00"),
                ("detected_at", "2026-11-20T10:05"),
                ("recovered_at", "2026-11-20T10:25"),
                ("outage_minutes", "25"),
                ("affected_services", "인터넷뱅킹"),
                ("affected_subscribers", "100"),
                ("financial_damage_krw", "0"),
                ("leaked_records", "0"),
                ("recovery_actions", "롤백"),
                ("consumer_actions", "안내"),
            ],
        )
        .await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER, "{}", filed.body);
    let report = scalar(
        &app,
        &format!("SELECT MAX(id) FROM disruption_reports WHERE institution_id = {hanbit}"),
    )
    .await;
    let path = format!("/immunity/{report}/files");
    let wrong = staff
        .post_multipart(&path, &[], &[("file", "run.exe", b"MZ".to_vec())])
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.has_text("정책이 허용하는 파일 형식이 아닙니다."),
        "{}",
        wrong.body
    );
    let log = b"10:00 rollback\n".to_vec();
    let ok = staff
        .post_multipart(&path, &[], &[("file", "rollback.txt", log.clone())])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let page = staff.get(&format!("/immunity/{report}")).await;
    assert!(page.has_text("증빙 파일"));
    assert!(page.has_text("rollback.txt"));
    let sha: String =
        sqlx::query_scalar("SELECT sha256 FROM disruption_attachments WHERE report_id = $1")
            .bind(report)
            .fetch_one(app.svc.store().pool())
            .await
            .unwrap();
    assert!(page.has_text(&sha));
    korean_only(&page.body);
    let id = scalar(
        &app,
        &format!("SELECT MAX(id) FROM disruption_attachments WHERE report_id = {report}"),
    )
    .await;
    // The regulator side downloads it; another institution and the analyst do not.
    let officer = app.login("officer").await;
    let got = officer.get(&format!("/immunity-files/{id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body.as_bytes(), &log[..]);
    assert_eq!(
        app.login("staff.saebom")
            .await
            .get(&format!("/immunity-files/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.login("analyst")
            .await
            .get(&format!("/immunity-files/{id}"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Decided: the form goes and an upload is refused in Korean.
    let decided = officer
        .post(
            &format!("/immunity/{report}/decision"),
            &[("decision", "grant"), ("rationale", "기준 충족")],
        )
        .await;
    assert_eq!(decided.status, StatusCode::SEE_OTHER, "{}", decided.body);
    assert!(!staff
        .get(&format!("/immunity/{report}"))
        .await
        .has_text("파일 올리기"));
    let late = staff
        .post_multipart(&path, &[], &[("file", "late.txt", b"late".to_vec())])
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.has_text("이미 심사(검토)가 끝나 파일을 더 올릴 수 없습니다."));
}
