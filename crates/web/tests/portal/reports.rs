//! Report pages (issue 15): the CISO compiles a report from the institution's own data, writes
//! the narrative and submits it (frozen, its content hash on the page and in the audit log); the
//! officer returns it with a comment per section; a new version follows and is accepted while
//! the old one stays readable. Errors stay next to their fields and change nothing; staff may
//! draft but not submit; a recompile shows what changed; the sector pages show figures (the
//! regulator's with charts and a CSV whose formula-like cells are escaped, the institution's with
//! cells withheld under the anonymity rules).

use axum::http::StatusCode;
use haechi_core::Actor;
use haechi_service::findings::FindingsUpload;

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
    sqlx::query_scalar::<_, Option<String>>(sql)
        .fetch_optional(app.svc.store().pool())
        .await
        .unwrap()
        .flatten()
        .unwrap_or_else(|| panic!("no row for: {sql}"))
}

/// An obligation of hanbit (the institution of `ciso.hanbit`) with no report yet; `current`
/// picks the one whose period holds today.
async fn hanbit_obligation(app: &App, current: bool) -> i64 {
    let today = app.svc.today().format("%Y-%m-%d").to_string();
    let when = if current {
        format!("AND period_start <= '{today}' AND period_end >= '{today}'")
    } else {
        String::new()
    };
    scalar(
        app,
        &format!(
            "SELECT MIN(id) FROM obligations WHERE institution_id = (SELECT id FROM institutions WHERE code = 'BNK-001') \
             AND status = 'open' AND id NOT IN (SELECT obligation_id FROM reports) {when}"
        ),
    )
    .await
}

const NARRATIVE: &[(&str, &str)] = &[
    (
        "risk_ko",
        "AI 점검 도구가 인증 우회 경로를 사람보다 빠르게 연결했습니다.",
    ),
    (
        "risk_en",
        "The AI tool chained authentication bypasses faster than people.",
    ),
    (
        "offensive_ko",
        "공격자가 같은 도구를 쓰면 공개 API의 취약점이 몇 시간 안에 악용될 수 있습니다.",
    ),
    ("offensive_en", ""),
    (
        "defences_ko",
        "WAF 가상 패치와 배포 전 자동 점검이 효과적이었습니다.",
    ),
    ("defences_en", ""),
];

#[tokio::test]
async fn ciso_submits_officer_returns_new_version_is_accepted() {
    let app = App::demo().await;
    let id = hanbit_obligation(&app, false).await;
    let ciso = app.login("ciso.hanbit").await;
    let page = ciso.get("/reports").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_text(&format!("/reports/{id}")));

    // Compile: the figures are on the page.
    let done = ciso.post(&format!("/reports/{id}/compile"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = ciso.get(&format!("/reports/{id}")).await;
    assert!(page.has_text("기관 데이터 집계"));
    assert!(page.has_text("조치 소요 기간"));
    assert!(page.has_text("보안 SaaS 이용 현황과 의견서 허용 범위"));

    // Submitting an empty narrative fails next to the fields, and changes nothing.
    let refused = ciso.post(&format!("/reports/{id}/submit"), &[]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.has_text("제출하기 전에 이 항목(한국어)을 작성하십시오."));
    assert!(refused.has_text("id=\"risk_ko-error\""));
    let state = text(
        &app,
        &format!("SELECT state FROM reports WHERE obligation_id = {id}"),
    )
    .await;
    assert_eq!(state, "draft");

    let saved = ciso
        .post(&format!("/reports/{id}/narrative"), NARRATIVE)
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let submitted = ciso.post(&format!("/reports/{id}/submit"), &[]).await;
    assert_eq!(
        submitted.status,
        StatusCode::SEE_OTHER,
        "{}",
        submitted.body
    );
    let hash = text(
        &app,
        &format!("SELECT content_hash FROM reports WHERE obligation_id = {id}"),
    )
    .await;
    assert_eq!(hash.len(), 64);
    let page = ciso.get(&format!("/reports/{id}")).await;
    assert!(page.has_text(&hash), "the content hash is on the page");
    assert!(page.has_text("동결"));
    let audited = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'report.submit' AND after_json LIKE '%{hash}%'"),
    )
    .await;
    assert_eq!(audited, 1, "the hash is in the audit log");
    let obligation = text(
        &app,
        &format!("SELECT status FROM obligations WHERE id = {id}"),
    )
    .await;
    assert_eq!(obligation, "submitted");

    // Frozen: no change through the pages.
    let frozen = ciso
        .post(&format!("/reports/{id}/narrative"), NARRATIVE)
        .await;
    assert_eq!(frozen.status, StatusCode::CONFLICT);
    assert!(frozen.has_text("동결되어 변경할 수 없습니다"));

    // The officer returns it: without a comment it is refused.
    let officer = app.login("officer").await;
    let page = officer.get(&format!("/reports/{id}")).await;
    assert!(page.has_text("검토 결정"));
    assert!(page.has_text("AI 점검 도구가 인증 우회"));
    let refused = officer
        .post(
            &format!("/reports/{id}/decision"),
            &[("decision", "return")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.has_text("보완 요청 사유를 한 가지 이상 적으십시오."));
    let returned = officer
        .post(
            &format!("/reports/{id}/decision"),
            &[
                ("decision", "return"),
                ("c_offensive", "공격 시나리오를 구체적으로 보완하십시오."),
            ],
        )
        .await;
    assert_eq!(returned.status, StatusCode::SEE_OTHER, "{}", returned.body);
    let page = ciso.get(&format!("/reports/{id}")).await;
    assert!(page.has_text("공격 시나리오를 구체적으로 보완하십시오."));
    assert!(page.has_text("보완 요청"));

    // A new version, its narrative carried over, submitted and accepted; version 1 stays.
    let again = ciso.post(&format!("/reports/{id}/compile"), &[]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let page = ciso.get(&format!("/reports/{id}")).await;
    assert!(page.has_text("제2판"));
    assert!(page.has_text("AI 점검 도구가 인증 우회"));
    let submitted = ciso.post(&format!("/reports/{id}/submit"), &[]).await;
    assert_eq!(
        submitted.status,
        StatusCode::SEE_OTHER,
        "{}",
        submitted.body
    );
    let accepted = officer
        .post(
            &format!("/reports/{id}/decision"),
            &[("decision", "accept")],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    let obligation = text(
        &app,
        &format!("SELECT status FROM obligations WHERE id = {id}"),
    )
    .await;
    assert_eq!(obligation, "accepted");
    let old = ciso.get(&format!("/reports/{id}?version=1")).await;
    assert_eq!(old.status, StatusCode::OK);
    assert!(old.has_text(&hash));
    assert!(old.has_text("공격 시나리오를 구체적으로 보완하십시오."));
    let versions = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM reports WHERE obligation_id = {id}"),
    )
    .await;
    assert_eq!(versions, 2);
}

#[tokio::test]
async fn staff_drafts_but_only_the_ciso_submits() {
    let app = App::demo().await;
    let id = hanbit_obligation(&app, false).await;
    let staff = app.login("staff.hanbit").await;
    assert_eq!(
        staff
            .post(&format!("/reports/{id}/compile"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        staff
            .post(&format!("/reports/{id}/narrative"), NARRATIVE)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let page = staff.get(&format!("/reports/{id}")).await;
    assert!(
        !page.has_text("확인하고 제출"),
        "staff see no submit button"
    );
    assert_eq!(
        staff
            .post(&format!("/reports/{id}/submit"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // Too long a section is refused next to it, and the draft keeps its text.
    let long = "가".repeat(haechi_service::reports::MAX_SECTION_CHARS + 1);
    let refused = staff
        .post(
            &format!("/reports/{id}/narrative"),
            &[("risk_ko", long.as_str())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.has_text("너무 깁니다"));
    let kept = text(
        &app,
        &format!("SELECT narrative_json FROM reports WHERE obligation_id = {id}"),
    )
    .await;
    assert!(kept.contains("인증 우회"));
}

#[tokio::test]
async fn recompile_shows_what_changed() {
    let app = App::demo().await;
    let id = hanbit_obligation(&app, true).await;
    let ciso = app.login("ciso.hanbit").await;
    assert_eq!(
        ciso.post(&format!("/reports/{id}/compile"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let inst = scalar(&app, "SELECT id FROM institutions WHERE code = 'BNK-001'").await;
    let sarif = serde_json::json!({
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "report-probe", "rules": [{"id": "R9"}]}},
            "results": [{
                "ruleId": "R9", "level": "error", "message": {"text": "probe"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/report.rs"}, "region": {"startLine": 9}}}]
            }]
        }]
    })
    .to_string();
    let upload: FindingsUpload =
        serde_json::from_value(serde_json::json!({ "institution_id": inst })).unwrap();
    app.svc
        .import_findings(
            &Actor::system(),
            &upload,
            std::io::Cursor::new(sarif.into_bytes()),
        )
        .await
        .unwrap();
    assert_eq!(
        ciso.post(&format!("/reports/{id}/compile"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let page = ciso.get(&format!("/reports/{id}")).await;
    assert!(page.has_text("재집계로 바뀐 수치"), "{}", page.body);
    assert!(page.has_text("report-probe"));
    assert!(
        page.has_text("신규 취약점"),
        "a changed figure is named in Korean"
    );
    assert!(
        !page.has_text("by_tool["),
        "no raw figure paths: {}",
        page.body
    );
}

/// Compiles, submits and accepts hanbit's open report whose period holds today, after importing
/// findings of a tool named like a spreadsheet formula.
async fn deliver_formula_tool_report(app: &App) {
    let id = hanbit_obligation(app, true).await;
    let inst = scalar(app, "SELECT id FROM institutions WHERE code = 'BNK-001'").await;
    let sarif = serde_json::json!({
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "=HYPERLINK(\"http://x.invalid\")", "rules": [{"id": "F1"}]}},
            "results": [{
                "ruleId": "F1", "level": "error", "message": {"text": "formula"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/formula.rs"}, "region": {"startLine": 1}}}]
            }]
        }]
    })
    .to_string();
    let upload: FindingsUpload =
        serde_json::from_value(serde_json::json!({ "institution_id": inst })).unwrap();
    app.svc
        .import_findings(
            &Actor::system(),
            &upload,
            std::io::Cursor::new(sarif.into_bytes()),
        )
        .await
        .unwrap();
    let ciso = app.login("ciso.hanbit").await;
    assert_eq!(
        ciso.post(&format!("/reports/{id}/compile"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        ciso.post(&format!("/reports/{id}/narrative"), NARRATIVE)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        ciso.post(&format!("/reports/{id}/submit"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let officer = app.login("officer").await;
    assert_eq!(
        officer
            .post(
                &format!("/reports/{id}/decision"),
                &[("decision", "accept")]
            )
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn regulator_insight_has_charts_axes_and_a_safe_csv() {
    let app = App::demo().await;
    deliver_formula_tool_report(&app).await;
    let officer = app.login("officer").await;
    let page = officer.get("/insight").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_text("AI 발견과 기존 도구 발견 추이"));
    assert!(page.has_text("<svg"));
    assert!(page.has_text("CWE-"));
    assert!(page.has_text("업권별"));
    let quarterly = officer.get("/insight?axis=quarter").await;
    assert!(quarterly.has_text("-Q4"), "quarter labels on the axis");
    let banks = officer.get("/insight?sector=bank").await;
    assert_eq!(banks.status, StatusCode::OK);
    let csv = officer.get("/insight/export.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(csv.body.starts_with("dimension,key,sub,value"));
    assert!(
        csv.body.contains("'=HYPERLINK"),
        "formula cells are escaped: {}",
        csv.body
    );
    assert!(!csv.body.contains(",=HYPERLINK") && !csv.body.contains("\"=HYPERLINK"));
    // Institutions have no regulator insight, the regulator no institution view.
    let ciso = app.login("ciso.hanbit").await;
    assert_eq!(ciso.get("/insight").await.status, StatusCode::FORBIDDEN);
    assert_eq!(officer.get("/sector").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn institution_sector_view_withholds_small_cells_and_shows_its_own() {
    let app = App::demo().await;
    deliver_formula_tool_report(&app).await;
    let ciso = app.login("ciso.hanbit").await;
    let page = ciso.get("/sector").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_text("우리 기관"));
    assert!(page.has_text("비공개(기관 수 부족)"), "{}", page.body);
    assert!(page.has_text("최소 3개 기관"));
    // No other institution's name appears.
    let other = text(&app, "SELECT name_ko FROM institutions i WHERE EXISTS (SELECT 1 FROM reports r WHERE r.institution_id = i.id) AND code <> 'BNK-001' LIMIT 1").await;
    assert!(!page.has_text(&other));
    let en = ciso.get("/sector?lang=en").await;
    assert!(en.has_text("Withheld (too few institutions)"));
}

/// Evidence files on the report page: uploaded to the draft with their SHA-256 shown, refused
/// with a clear message for a type outside the policy and once the version is frozen; the
/// narrative keeps its line breaks; a draft has no PDF, a submitted version's PDF names its
/// content hash; the letter page links the obligation to its report.
#[tokio::test]
async fn evidence_files_pdf_and_line_breaks() {
    let app = App::demo().await;
    let id = hanbit_obligation(&app, false).await;
    let ciso = app.login("ciso.hanbit").await;
    let done = ciso.post(&format!("/reports/{id}/compile"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);

    let draft_pdf = ciso.get(&format!("/reports/{id}/pdf")).await;
    assert_eq!(draft_pdf.status, StatusCode::CONFLICT);
    assert!(draft_pdf.has_text("제출된 판만 PDF로 받을 수 있습니다"));

    let evidence = b"%PDF-1.4 scan of the AI test plan".to_vec();
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&evidence))
    };
    let up = ciso
        .post_multipart(
            &format!("/reports/{id}/attachments"),
            &[],
            &[("file", "test-plan.pdf", evidence.clone())],
        )
        .await;
    assert_eq!(up.status, StatusCode::SEE_OTHER, "{}", up.body);
    let page = ciso.get(&format!("/reports/{id}")).await;
    assert!(page.has_text("test-plan.pdf"));
    assert!(page.has_text(&sha), "the file's SHA-256 is on the page");
    let file_id = scalar(
        &app,
        &format!("SELECT MAX(id) FROM report_attachments WHERE sha256 = '{sha}'"),
    )
    .await;
    let got = ciso.get(&format!("/report-files/{file_id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.headers["x-content-sha256"], sha.as_str());
    let officer = app.login("officer").await;
    assert_eq!(
        officer
            .get(&format!("/report-files/{file_id}"))
            .await
            .status,
        StatusCode::OK
    );

    let html = ciso
        .post_multipart(
            &format!("/reports/{id}/attachments"),
            &[],
            &[("file", "page.html", b"<p>x</p>".to_vec())],
        )
        .await;
    assert_eq!(html.status, StatusCode::CONFLICT, "{}", html.body);
    assert!(html.has_text("이 형식의 파일은 받을 수 없습니다"));
    assert!(
        html.has_text("application/pdf"),
        "the accepted types are named"
    );
    let files = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM report_attachments WHERE report_id IN (SELECT id FROM reports WHERE obligation_id = {id})"),
    )
    .await;
    assert_eq!(files, 1, "the refused file changed nothing");

    let mut narrative: Vec<(&str, &str)> = NARRATIVE.to_vec();
    narrative[0] = ("risk_ko", "첫째 줄입니다.\n둘째 줄입니다.");
    let saved = ciso
        .post(&format!("/reports/{id}/narrative"), &narrative)
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let submitted = ciso.post(&format!("/reports/{id}/submit"), &[]).await;
    assert_eq!(
        submitted.status,
        StatusCode::SEE_OTHER,
        "{}",
        submitted.body
    );
    let page = ciso.get(&format!("/reports/{id}")).await;
    assert!(
        page.has_text("<p class=\"prewrap\" lang=\"ko\">첫째 줄입니다.\n둘째 줄입니다.</p>"),
        "the line break is kept in a pre-wrap paragraph"
    );
    assert!(page.has_text(&format!("/reports/{id}/pdf?version=1")));
    let late = ciso
        .post_multipart(
            &format!("/reports/{id}/attachments"),
            &[],
            &[("file", "late.pdf", b"%PDF-1.4 late".to_vec())],
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.has_text("제출된 판은 동결되어 변경할 수 없습니다."));

    let hash = text(
        &app,
        &format!("SELECT content_hash FROM reports WHERE obligation_id = {id}"),
    )
    .await;
    let pdf = officer.get(&format!("/reports/{id}/pdf?version=1")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    assert!(pdf.body.starts_with("%PDF-"));
    assert!(pdf.has_text(&format!("/HaechiReportContentHash ({hash})")));

    let letter = scalar(
        &app,
        &format!("SELECT letter_id FROM obligations WHERE id = {id}"),
    )
    .await;
    let page = ciso.get(&format!("/letters/{letter}")).await;
    assert!(
        page.has_text(&format!("href=\"/reports/{id}\"")),
        "the obligation links to its report"
    );
}
