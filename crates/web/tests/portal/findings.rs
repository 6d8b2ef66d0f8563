//! Computing resources, SARIF uploads with their status page and import history, findings list
//! and detail with the lifecycle (SPEC C11, C12): who sees what, uploads through the multipart
//! forms, invalid input that changes nothing.

use haechi_core::{Actor, Role};
use haechi_service::findings::{FindingsUpload, ResourceInput};
use haechi_service::ServiceConfig;

use super::*;

/// The acting user of a demo login, for preparing data through the service.
async fn actor(app: &App, username: &str) -> Actor {
    let row: (i64, String, Option<i64>) =
        sqlx::query_as("SELECT id, role, institution_id FROM users WHERE username = $1")
            .bind(username)
            .fetch_one(app.svc.store().pool())
            .await
            .unwrap();
    Actor {
        user_id: row.0,
        username: username.to_string(),
        role: Role::parse(&row.1).unwrap(),
        institution_id: row.2,
    }
}

async fn count(app: &App, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap()
}

/// A CodeQL-like SARIF log of one run with an AI model: one result per (rule index, path,
/// line). Rule 0 is SQL injection (CWE-89, 8.8 → high), rule 1 is XSS (CWE-79, 9.3 → critical).
fn sarif(results: &[(usize, &str, u32)]) -> Vec<u8> {
    let results: Vec<serde_json::Value> = results
        .iter()
        .map(|(rule, path, line)| {
            let rule_id = ["js/sql-injection", "js/reflected-xss"][*rule];
            serde_json::json!({
                "ruleIndex": rule,
                "ruleId": rule_id,
                "message": {"text": format!("Untrusted data reaches a sink in {path}")},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": path},
                    "region": {"startLine": line, "snippet": {"text": "db.query(req.query.q)"}}
                }}],
                "partialFingerprints": {"primaryLocationLineHash": format!("{path}:{line}:{rule}")},
                // XSS results carry a code flow from the request to the page.
                "codeFlows": if *rule == 1 { serde_json::json!([{"threadFlows": [{"locations": [
                    {"location": {"physicalLocation": {"artifactLocation": {"uri": "src/http/input.js"}, "region": {"startLine": 5}}}},
                    {"location": {"physicalLocation": {"artifactLocation": {"uri": path}, "region": {"startLine": line}}}}
                ]}]}]) } else { serde_json::json!([]) }
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "CodeQL", "version": "2.17.0", "rules": [
                {"id": "js/sql-injection", "properties": {"tags": ["security", "external/cwe/cwe-089"], "security-severity": "8.8"}},
                {"id": "js/reflected-xss", "properties": {"tags": ["security", "external/cwe/cwe-079"], "security-severity": "9.3"}}
            ]}},
            "properties": {"ai": {"model": "Aegis Reasoner 3", "modelVersion": "2026-05"}},
            "invocations": [{"executionSuccessful": true, "startTimeUtc": "2026-06-01T01:00:00Z", "endTimeUtc": "2026-06-01T01:05:00Z"}],
            "results": results
        }]
    }))
    .unwrap()
}

/// Waits until an import has finished (the upload runs it in the background).
async fn finished(app: &App, who: &Actor, id: i64) -> String {
    for _ in 0..200 {
        let s = app.svc.finding_import(who, id).await.unwrap();
        if !matches!(s.import.state.as_str(), "queued" | "running") {
            return s.import.state;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("import {id} did not finish");
}

fn import_id(page: &Page) -> i64 {
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    page.location
        .as_deref()
        .and_then(|l| l.strip_prefix("/imports/"))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not an import's page: {:?}", page.location))
}

/// Hanbit's data: a core-ledger resource (class C) and two findings imported into it.
struct Hanbit {
    staff: Actor,
    institution_id: i64,
    resource_id: i64,
    import_id: i64,
    /// The SQL-injection finding (high) and the XSS finding (critical).
    sqli: i64,
    xss: i64,
}

async fn hanbit(app: &App) -> Hanbit {
    let staff = actor(app, "staff.hanbit").await;
    let institution_id = staff.institution_id.unwrap();
    let res = app
        .svc
        .create_resource(
            &staff,
            institution_id,
            ResourceInput {
                name: "portal-core-ledger".into(),
                kind: "server".into(),
                business_function: "core_ledger".into(),
                data_kinds: vec![haechi_policy::DataKind::PersonalCredit],
                network_zone: haechi_policy::NetworkZone::Internal,
                processes_electronic_transactions: true,
                dr_tier: Some("1".into()),
                owner: Some("IT운영부".into()),
            },
        )
        .await
        .unwrap();
    let upload = FindingsUpload {
        institution_id,
        resource_id: Some(res.id),
        file_name: Some("ledger.sarif".into()),
        ..Default::default()
    };
    let report = app
        .svc
        .import_findings(
            &staff,
            &upload,
            std::io::Cursor::new(sarif(&[
                (0, "src/ledger/query.js", 12),
                (1, "src/ledger/view.js", 40),
            ])),
        )
        .await
        .unwrap();
    assert_eq!(report.findings_new, 2);
    let id_of = |rule: &'static str| {
        let pool = app.svc.store().pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT id FROM findings WHERE rule_id = $1 AND resource_id = $2",
            )
            .bind(rule)
            .bind(res.id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    Hanbit {
        staff,
        institution_id,
        resource_id: res.id,
        import_id: report.import_id,
        sqli: id_of("js/sql-injection").await,
        xss: id_of("js/reflected-xss").await,
    }
}

async fn status_of(app: &App, finding: i64) -> String {
    sqlx::query_scalar::<_, String>("SELECT status FROM findings WHERE id = $1")
        .bind(finding)
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn pages_render_for_ciso_and_staff_in_both_languages() {
    let app = App::demo().await;
    let h = hanbit(&app).await;
    let paths = [
        ("/resources".to_string(), "전산자원", "Computing resources"),
        (
            format!("/resources/{}", h.resource_id),
            "분류",
            "Classification",
        ),
        (
            "/resources/import".to_string(),
            "전산자원 가져오기",
            "Import computing resources",
        ),
        (
            "/imports".to_string(),
            "취약점 가져오기 이력",
            "Findings import history",
        ),
        (
            "/imports/new".to_string(),
            "SARIF 결과 업로드",
            "Upload SARIF results",
        ),
        (format!("/imports/{}", h.import_id), "출처", "Provenance"),
        ("/findings".to_string(), "검색 결과", "Matching"),
        (
            format!("/findings/{}", h.sqli),
            "상태 이력",
            "Status history",
        ),
    ];
    for user in ["ciso.hanbit", "staff.hanbit"] {
        let s = app.login(user).await;
        for (path, ko, en) in &paths {
            let page = s.get(path).await;
            assert_eq!(page.status, StatusCode::OK, "{user} {path}: {}", page.body);
            assert!(page.has_text(ko), "{user} {path} lacks {ko}");
            assert_eq!(page.body.matches("<h1").count(), 1, "{user} {path}: one h1");
            let sep = if path.contains('?') { '&' } else { '?' };
            let page = s.get(&format!("{path}{sep}lang=en")).await;
            assert_eq!(page.status, StatusCode::OK, "{user} {path} en");
            assert!(page.has_text(en), "{user} {path} (en) lacks {en}");
            assert!(!page.body.contains("style="), "{path}: no inline style");
        }
    }
}

#[tokio::test]
async fn resources_show_class_rule_reasons_and_policy_version() {
    let app = App::demo().await;
    let h = hanbit(&app).await;
    let s = app.login("ciso.hanbit").await;
    let list = s.get("/resources").await;
    assert!(list.has_text("portal-core-ledger"), "{}", list.body);
    assert!(list.has_text("기밀 (C)"), "{}", list.body);
    let row = app
        .svc
        .get_resource(&h.staff, h.resource_id)
        .await
        .unwrap()
        .resource;
    assert!(
        list.has_text(&format!("<code>{}</code>", row.decided_by)),
        "the deciding rule is shown"
    );
    let only_open = s.get("/resources?class=O").await;
    assert!(
        !only_open.has_text("portal-core-ledger"),
        "the class filter applies"
    );

    let detail = s
        .get(&format!("/resources/{}?lang=en", h.resource_id))
        .await;
    assert!(detail.has_text("Classified (C)"));
    assert!(
        detail.has_text(&format!("by rule `{}`", row.decided_by)),
        "{}",
        detail.body
    );
    assert!(detail.has_text("Policy version"));
    assert!(detail.has_text("Personal credit information"));
    assert!(detail.has_text(&format!("/findings?resource={}", h.resource_id)));
}

#[tokio::test]
async fn resource_csv_import_is_all_or_nothing_and_names_row_and_column() {
    let app = App::demo().await;
    let staff = actor(&app, "staff.hanbit").await;
    let inst = staff.institution_id.unwrap();
    let count_sql = format!("SELECT COUNT(*) FROM resources WHERE institution_id = {inst}");
    let before = count(&app, &count_sql).await;
    let s = app.login("staff.hanbit").await;
    let bad = "name,kind,business_function,data_kinds,network_zone,processes_electronic_transactions,dr_tier,owner\n\
               csv-payments,server,payment,personal_credit,internal,yes,1,ops\n\
               csv-homepage,server,website,public,the-moon,no,3,web\n";
    let page = s
        .post_multipart(
            "/resources/import",
            &[],
            &[("csv_file", "resources.csv", bad.as_bytes().to_vec())],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        page.has_text("csv_file-error"),
        "the error sits next to the file input"
    );
    assert!(
        page.has_text("<td class=\"num\">3</td>"),
        "row 3 is named: {}",
        page.body
    );
    assert!(page.has_text("network_zone") && page.has_text("the-moon"));
    assert_eq!(
        count(&app, &count_sql).await,
        before,
        "nothing was imported"
    );

    let good = bad.replace("the-moon", "internet");
    let page = s
        .post_multipart(
            "/resources/import",
            &[],
            &[("csv_file", "resources.csv", good.into_bytes())],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        page.location.as_deref(),
        Some("/resources?created=2&updated=0&unchanged=0")
    );
    assert_eq!(count(&app, &count_sql).await, before + 2);
    let list = s.get(page.location.as_deref().unwrap()).await;
    assert!(list.has_text("csv-payments") && list.has_text("csv-homepage"));
    assert!(list.has_text("alert ok"));

    // A form without a file says so next to the input.
    let page = s.post_multipart("/resources/import", &[], &[]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.has_text("csv_file-error"));
}

#[tokio::test]
async fn cyclonedx_upload_replaces_components_and_bad_boms_change_nothing() {
    let app = App::demo().await;
    let h = hanbit(&app).await;
    let s = app.login("staff.hanbit").await;
    let bom = serde_json::json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "components": [
            {"type": "library", "name": "log4j-core", "group": "org.apache.logging.log4j", "version": "2.17.1",
             "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1"}
        ]
    });
    let rid = h.resource_id.to_string();
    let page = s
        .post_multipart(
            "/resources/components",
            &[("bom_resource", &rid)],
            &[("bom_file", "bom.json", serde_json::to_vec(&bom).unwrap())],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let detail = s.get(page.location.as_deref().unwrap()).await;
    assert!(
        detail.has_text("pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1"),
        "{}",
        detail.body
    );

    let page = s
        .post_multipart(
            "/resources/components",
            &[("bom_resource", &rid)],
            &[(
                "bom_file",
                "bom.json",
                b"{\"bomFormat\": \"SPDX\"}".to_vec(),
            )],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.has_text("bom_file-error"), "{}", page.body);
    let view = app.svc.get_resource(&h.staff, h.resource_id).await.unwrap();
    assert_eq!(view.components.len(), 1, "the earlier components stay");
}

#[tokio::test]
async fn the_upload_page_has_a_progress_bar_and_csrf_first() {
    let app = App::demo().await;
    let _ = hanbit(&app).await;
    let s = app.login("staff.hanbit").await;
    let page = s.get("/imports/new").await;
    assert_eq!(page.status, StatusCode::OK);
    let form_start = page
        .body
        .find("<form method=\"post\" action=\"/imports\"")
        .expect("the upload form");
    let form = &page.body[form_start..];
    assert!(form
        .starts_with("<form method=\"post\" action=\"/imports\" enctype=\"multipart/form-data\""));
    assert!(form[..200].contains("data-progress"), "{}", &form[..200]);
    let first_input = form.find("<input").unwrap();
    assert!(
        form[first_input..].starts_with("<input type=\"hidden\" name=\"_csrf\""),
        "_csrf comes first"
    );
    assert!(form.contains("<progress") && form.contains("data-progress-label"));
    for field in [
        "sarif_file",
        "resource_id",
        "close_missing",
        "ai_model",
        "ai_model_version",
        "map_prefix_0",
        "map_resource_0",
    ] {
        assert!(
            form.contains(&format!("<label for=\"{field}\"")),
            "{field} is labelled"
        );
    }
    assert!(
        form.contains("portal-core-ledger"),
        "the target resource can be chosen"
    );
}

#[tokio::test]
async fn a_sarif_upload_through_the_form_creates_an_import_and_its_findings_appear() {
    let app = App::demo().await;
    let h = hanbit(&app).await;
    let s = app.login("staff.hanbit").await;
    let count_sql = format!(
        "SELECT COUNT(*) FROM findings WHERE institution_id = {}",
        h.institution_id
    );
    // The demo's own findings (and any fixture's) are already there.
    let before = count(&app, &count_sql).await;
    let file = sarif(&[
        (0, "services/pay/api.js", 7),
        (1, "web/index.js", 3),
        (1, "web/other.js", 9),
    ]);
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&file));
    let rid = h.resource_id.to_string();
    let page = s
        .post_multipart(
            "/imports",
            &[
                ("resource_id", &rid),
                ("map_prefix_0", "services/pay/"),
                ("map_resource_0", &rid),
            ],
            &[("sarif_file", "scan.sarif", file.clone())],
        )
        .await;
    let id = import_id(&page);
    assert_eq!(finished(&app, &h.staff, id).await, "succeeded");
    let status = s.get(&format!("/imports/{id}")).await;
    assert_eq!(status.status, StatusCode::OK);
    assert!(
        !status.has_text("data-refresh"),
        "a finished import does not refresh"
    );
    assert!(status.has_text(&sha), "the file's SHA-256: {}", status.body);
    assert!(status.has_text(&format!("({} bytes)", file.len())));
    assert!(status.has_text("CodeQL 2.17.0") && status.has_text("Aegis Reasoner 3 2026-05"));
    assert!(status.has_text("staff.hanbit") && status.has_text("2026-06-01 10:00 KST"));
    assert!(status.has_text("services/pay/"), "the mapping is shown");
    assert!(
        status.has_text("<span class=\"figure\">3</span><span class=\"label\">신규</span>"),
        "{}",
        status.body
    );

    let history = s.get("/imports").await;
    assert!(history.has_text(&format!("href=\"/imports/{id}\"")));
    assert!(history.has_text("scan.sarif") && history.has_text(&sha[..12]));

    let list = s.get("/findings").await;
    assert!(list.has_text("services/pay/api.js:7"), "{}", list.body);
    assert!(list.has_text("web/other.js:9"));
    let stored = count(&app, &count_sql).await;
    assert_eq!(
        stored - before,
        3,
        "the three results of the file are new findings"
    );
}

#[tokio::test]
async fn a_queued_import_page_refreshes_itself() {
    let app = App::demo().await;
    let h = hanbit(&app).await;
    let upload = FindingsUpload {
        institution_id: h.institution_id,
        file_name: Some("waiting.sarif".into()),
        ..Default::default()
    };
    let id = app
        .svc
        .queue_findings_import(&h.staff, &upload, Some(1000), Some("ab"))
        .await
        .unwrap();
    let s = app.login("ciso.hanbit").await;
    let page = s.get(&format!("/imports/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_text("data-refresh=\"2\""), "{}", page.body);
    assert!(
        page.has_text("<progress id=\"import-progress\" max=\"1000\""),
        "{}",
        page.body
    );
    assert!(page.has_text("대기"));
}

#[tokio::test]
async fn an_invalid_sarif_shows_the_error_with_its_place_and_stores_nothing() {
    let app = App::demo().await;
    let h = hanbit(&app).await;
    let findings_sql = format!(
        "SELECT COUNT(*) FROM findings WHERE institution_id = {}",
        h.institution_id
    );
    let before = count(&app, &findings_sql).await;
    let s = app.login("staff.hanbit").await;
    // The first result is fine; the second names a rule that does not exist.
    let bad = br#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"T","rules":[{"id":"A"},{"id":"B"}]}},"results":[{"ruleIndex":1,"message":{"text":"ok"}},{"ruleIndex":5,"message":{"text":"bad"}}]}]}"#;
    let page = s
        .post_multipart(
            "/imports",
            &[],
            &[("sarif_file", "bad.sarif", bad.to_vec())],
        )
        .await;
    let id = import_id(&page);
    assert_eq!(finished(&app, &h.staff, id).await, "failed");
    let status = s.get(&format!("/imports/{id}?lang=en")).await;
    assert!(
        status.has_text("The import failed; no finding was stored."),
        "{}",
        status.body
    );
    assert!(
        status.has_text("runs[0].results[1].ruleIndex"),
        "{}",
        status.body
    );
    assert!(status.has_text("role=\"alert\""));
    assert_eq!(
        count(&app, &findings_sql).await,
        before,
        "nothing was stored"
    );
    let history = s.get("/imports").await;
    assert!(
        history.has_text("runs[0].results[1].ruleIndex"),
        "the history names the place too"
    );

    // A form without a file, or with a mapping row half filled, is refused before anything is
    // recorded.
    let imports_sql = format!(
        "SELECT COUNT(*) FROM finding_imports WHERE institution_id = {}",
        h.institution_id
    );
    let imports = count(&app, &imports_sql).await;
    let page = s
        .post_multipart("/imports", &[("map_prefix_1", "web/")], &[])
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(
        page.has_text("sarif_file-error") && page.has_text("map_resource_1-error"),
        "{}",
        page.body
    );
    assert!(page.has_text("value=\"web/\""), "the input is kept");
    assert_eq!(count(&app, &imports_sql).await, imports);
}

#[tokio::test]
async fn an_over_size_upload_gets_413_and_nothing_is_stored() {
    let app = App::demo_with(ServiceConfig {
        max_import_bytes: 4096,
        max_attachment_bytes: 4096,
        ..ServiceConfig::default()
    })
    .await;
    let h = hanbit(&app).await;
    let imports_sql = format!(
        "SELECT COUNT(*) FROM finding_imports WHERE institution_id = {}",
        h.institution_id
    );
    let imports = count(&app, &imports_sql).await;
    let s = app.login("staff.hanbit").await;
    let many: Vec<(usize, String, u32)> =
        (0..200).map(|i| (0, format!("src/f{i}.js"), i)).collect();
    let refs: Vec<(usize, &str, u32)> = many.iter().map(|(r, p, l)| (*r, p.as_str(), *l)).collect();
    let big = sarif(&refs);
    assert!(big.len() > 10_000);
    let page = s
        .post_multipart("/imports", &[], &[("sarif_file", "big.sarif", big)])
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", page.body);
    assert!(page.has_text("업로드 한도"), "{}", page.body);
    assert!(page.has_text("role=\"alert\""));
    assert_eq!(
        count(&app, &imports_sql).await,
        imports,
        "no import was recorded"
    );
}

#[tokio::test]
async fn the_findings_list_filters_and_pages_and_explains_bad_filters() {
    let app = App::demo().await;
    let h = hanbit(&app).await;
    let s = app.login("ciso.hanbit").await;
    let all = s.get("/findings").await;
    assert!(all.has_text(&format!("href=\"/findings/{}\"", h.sqli)));
    assert!(all.has_text(&format!("href=\"/findings/{}\"", h.xss)));
    assert!(all.has_text("<div class=\"table-wrap\">"));

    let high = s.get("/findings?severity=high").await;
    assert!(high.has_text(&format!("href=\"/findings/{}\"", h.sqli)));
    assert!(
        !high.has_text(&format!("href=\"/findings/{}\"", h.xss)),
        "critical is filtered out"
    );
    let xss = s.get("/findings?cwe=CWE-79").await;
    assert!(xss.has_text(&format!("href=\"/findings/{}\"", h.xss)));
    assert!(!xss.has_text(&format!("href=\"/findings/{}\"", h.sqli)));
    let by_model = s
        .get("/findings?ai_model=Aegis+Reasoner+3&tool=CodeQL&status=open")
        .await;
    assert!(by_model.has_text(&format!("href=\"/findings/{}\"", h.sqli)));
    let other_tool = s.get("/findings?tool=Semgrep").await;
    assert!(!other_tool.has_text(&format!("href=\"/findings/{}\"", h.sqli)));
    let by_resource = s
        .get(&format!("/findings?resource={}", h.resource_id))
        .await;
    assert!(by_resource.has_text(&format!("href=\"/findings/{}\"", h.xss)));

    let bad = s.get("/findings?cwe=abc&severity=huge").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.has_text("cwe-error") && bad.has_text("severity-error"),
        "{}",
        bad.body
    );
    assert!(bad.has_text("value=\"abc\""), "the input is kept");

    // Pages of 50: 60 more findings make a second page whose links keep the filter.
    let many: Vec<(usize, String, u32)> = (0..60)
        .map(|i| (0, format!("src/p{i}.js"), i + 1))
        .collect();
    let refs: Vec<(usize, &str, u32)> = many.iter().map(|(r, p, l)| (*r, p.as_str(), *l)).collect();
    let upload = FindingsUpload {
        institution_id: h.institution_id,
        resource_id: Some(h.resource_id),
        ..Default::default()
    };
    app.svc
        .import_findings(&h.staff, &upload, std::io::Cursor::new(sarif(&refs)))
        .await
        .unwrap();
    let first = s.get("/findings?severity=high").await;
    assert!(
        first.has_text("href=\"/findings?severity=high&amp;page=2\""),
        "{}",
        first.body
    );
    let second = s.get("/findings?severity=high&page=2").await;
    assert_eq!(second.status, StatusCode::OK);
    assert!(second.has_text("rel=\"prev\""));
}

#[tokio::test]
async fn the_finding_detail_shows_rule_location_snippet_cwe_and_provenance() {
    let app = App::demo().await;
    let h = hanbit(&app).await;
    let s = app.login("staff.hanbit").await;
    let page = s.get(&format!("/findings/{}?lang=en", h.sqli)).await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "js/sql-injection",
        "src/ledger/query.js:12",
        "db.query(req.query.q)",
        "CWE-89",
        "Aegis Reasoner 3",
        "portal-core-ledger",
        "security-severity 8.8",
    ] {
        assert!(page.has_text(text), "lacks {text}: {}", page.body);
    }
    assert!(
        page.has_text(&format!("href=\"/imports/{}\"", h.import_id)),
        "which imports saw it"
    );
    assert!(page.has_text("Accept the risk") && page.has_text("Mark as false positive"));
    assert!(page.has_text(&format!("action=\"/findings/{}/status\"", h.sqli)));
    let xss = s.get(&format!("/findings/{}?lang=en", h.xss)).await;
    assert!(xss.has_text("Code flow"), "{}", xss.body);
    assert!(xss.has_text("src/http/input.js"), "{}", xss.body);
    assert!(xss.has_text("CWE-79") && xss.has_text("Critical"));
}

#[tokio::test]
async fn a_lifecycle_change_is_recorded_and_an_invalid_one_changes_nothing() {
    let app = App::demo().await;
    let h = hanbit(&app).await;
    let s = app.login("staff.hanbit").await;
    let url = format!("/findings/{}/status", h.sqli);
    let audits = || {
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'finding.transition'",
        )
    };

    // Risk acceptance without its last day: the error sits next to the date, input kept.
    let before = audits().await;
    let page = s
        .post(
            &url,
            &[
                ("status", "risk_accepted"),
                ("risk_reason", "compensating WAF rule"),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.has_text("risk_until-error"), "{}", page.body);
    assert!(page.has_text("compensating WAF rule"), "the reason is kept");
    // An unreadable date and a missing false-positive reason likewise.
    let page = s
        .post(
            &url,
            &[
                ("status", "risk_accepted"),
                ("risk_reason", "x"),
                ("risk_until", "next week"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.has_text("risk_until-error") && page.has_text("next week"));
    let page = s.post(&url, &[("status", "false_positive")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.has_text("fp_reason-error"));
    // A step the lifecycle does not allow.
    let page = s.post(&url, &[("status", "verified")]).await;
    assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    assert!(page.has_text("cannot become verified"), "{}", page.body);
    assert_eq!(status_of(&app, h.sqli).await, "open");
    assert_eq!(audits().await, before, "nothing was changed or audited");

    let page = s.post(&url, &[("status", "in_progress")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        page.location.as_deref(),
        Some(format!("/findings/{}", h.sqli).as_str())
    );
    assert_eq!(status_of(&app, h.sqli).await, "in_progress");
    let until = (chrono::Utc::now().date_naive() + chrono::Days::new(90)).to_string();
    let page = s
        .post(
            &url,
            &[
                ("status", "risk_accepted"),
                ("risk_reason", "compensating WAF rule"),
                ("risk_until", &until),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let row = haechi_store::get_finding(app.svc.store().pool(), h.sqli)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "risk_accepted");
    assert_eq!(row.risk_accepted_until.as_deref(), Some(until.as_str()));
    assert_eq!(audits().await, before + 2);

    let detail = s.get(&format!("/findings/{}", h.sqli)).await;
    assert!(detail.has_text("미조치 → 조치 중"), "{}", detail.body);
    assert!(detail.has_text("조치 중 → 위험 수용"));
    assert!(detail.has_text("staff.hanbit"));
    assert!(
        detail.has_text(&format!("compensating WAF rule (기한 {until})")),
        "{}",
        detail.body
    );
}

#[tokio::test]
async fn the_auditor_reads_everything_sees_no_actions_and_is_refused() {
    let app = App::demo().await;
    let h = hanbit(&app).await;
    let s = app.login("auditor").await;
    for path in [
        "/resources".to_string(),
        format!("/resources/{}", h.resource_id),
        "/imports".to_string(),
        format!("/imports/{}", h.import_id),
        "/findings".to_string(),
        format!("/findings/{}", h.sqli),
    ] {
        let page = s.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert!(!page.has_text("/status\""), "{path}: no lifecycle form");
        assert!(
            !page.has_text("href=\"/imports/new\""),
            "{path}: no upload button"
        );
        assert!(
            !page.has_text("href=\"/resources/import\""),
            "{path}: no import button"
        );
    }
    let detail = s.get(&format!("/findings/{}", h.sqli)).await;
    assert!(detail.has_text("js/sql-injection"));
    let upload = s.get("/imports/new").await;
    assert!(
        !upload.has_text("<form method=\"post\" action=\"/imports\""),
        "no upload form"
    );

    let audits = count(
        &app,
        "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'finding%'",
    )
    .await;
    let page = s
        .post(
            &format!("/findings/{}/status", h.sqli),
            &[("status", "in_progress")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert_eq!(status_of(&app, h.sqli).await, "open");
    let imports = count(&app, "SELECT COUNT(*) FROM finding_imports").await;
    let page = s
        .post_multipart(
            "/imports",
            &[],
            &[("sarif_file", "a.sarif", sarif(&[(0, "a.js", 1)]))],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM finding_imports").await,
        imports
    );
    let csv = "name,kind,business_function,data_kinds,network_zone,processes_electronic_transactions\nx,server,y,public,dmz,no\n";
    let resources = count(&app, "SELECT COUNT(*) FROM resources").await;
    let page = s
        .post_multipart(
            "/resources/import",
            &[],
            &[("csv_file", "r.csv", csv.as_bytes().to_vec())],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM resources").await,
        resources
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'finding%'"
        )
        .await,
        audits
    );
}

#[tokio::test]
async fn a_regulator_officer_may_not_see_institutions_findings() {
    let app = App::demo().await;
    let h = hanbit(&app).await;
    let s = app.login("officer").await;
    for path in [
        "/resources".to_string(),
        format!("/resources/{}", h.resource_id),
        "/imports".to_string(),
        "/imports/new".to_string(),
        format!("/imports/{}", h.import_id),
        "/findings".to_string(),
        format!("/findings/{}", h.sqli),
    ] {
        let page = s.get(&path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}: {}", page.body);
        assert!(!page.has_text("js/sql-injection"), "{path}");
    }
    let home = s.get("/").await;
    assert!(!home.has_text("href=\"/findings\""), "no menu entry");
}

#[tokio::test]
async fn another_institutions_records_answer_not_found() {
    let app = App::demo().await;
    let h = hanbit(&app).await;
    let s = app.login("ciso.saebom").await;
    for path in [
        format!("/resources/{}", h.resource_id),
        format!("/imports/{}", h.import_id),
        format!("/findings/{}", h.sqli),
        "/findings/not-a-number".to_string(),
    ] {
        let page = s.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.body);
        assert!(page.has_text("페이지를 찾을 수 없습니다"));
    }
    let list = s.get("/findings").await;
    assert!(
        !list.has_text(&format!("href=\"/findings/{}\"", h.sqli)),
        "lists hold only their own"
    );
    let resources = s.get("/resources").await;
    assert!(!resources.has_text("portal-core-ledger"));
    let page = s
        .post(
            &format!("/findings/{}/status", h.sqli),
            &[("status", "in_progress")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(status_of(&app, h.sqli).await, "open");
    // Another institution's resource as the target of an upload is refused next to the field.
    let imports = count(&app, "SELECT COUNT(*) FROM finding_imports").await;
    let rid = h.resource_id.to_string();
    let page = s
        .post_multipart(
            "/imports",
            &[("resource_id", &rid)],
            &[("sarif_file", "a.sarif", sarif(&[(0, "a.js", 1)]))],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.has_text("resource_id-error"));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM finding_imports").await,
        imports
    );
}

/// Issue #14 item 15: the auditor's findings list names each finding's institution and filters
/// by it; an unknown institution is explained next to the filter.
#[tokio::test]
async fn the_auditors_findings_list_shows_and_filters_by_institution() {
    let app = App::demo().await;
    let pool = app.svc.store().pool();
    let (a, a_ko): (i64, String) = sqlx::query_as(
        "SELECT i.id, i.name_ko FROM institutions i WHERE EXISTS (SELECT 1 FROM findings f WHERE f.institution_id = i.id) ORDER BY i.id LIMIT 1",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let s = app.login("auditor").await;
    let all = s.get("/findings").await;
    assert_eq!(all.status, StatusCode::OK);
    assert!(all.has_text("<th scope=\"col\">기관</th>"), "{}", all.body);
    assert!(all.has_text("<select id=\"institution\" name=\"institution\">"));

    let one = s.get(&format!("/findings?institution={a}")).await;
    assert_eq!(one.status, StatusCode::OK);
    let expected = count(
        &app,
        &format!("SELECT COUNT(*) FROM findings WHERE institution_id = {a}"),
    )
    .await;
    assert!(
        one.has_text(&format!("<strong>{}</strong>", expected.min(10_000))) || expected > 10_000,
        "{}",
        one.body
    );
    assert!(one.has_text(&format!("<option value=\"{a}\" selected>{a_ko}</option>")));
    let tbody = &one.body[one.body.find("<tbody>").unwrap()..one.body.find("</tbody>").unwrap()];
    assert_eq!(
        tbody.matches(&format!(">{a_ko}</a>")).count(),
        tbody.matches("<tr>").count(),
        "every row is the chosen institution's"
    );
    let en = s.get(&format!("/findings?institution={a}&lang=en")).await;
    assert!(en.has_text("<th scope=\"col\">Institution</th>"));
    assert!(
        !en.has_text(&format!(">{a_ko}</a>")),
        "names in English mode"
    );

    let bad = s.get("/findings?institution=abc").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.has_text("기관을 목록에서 고르십시오."));

    // An institution's own users see no institution column or filter.
    let staff = app.login("staff.hanbit").await;
    let own = staff.get("/findings").await;
    assert!(!own.has_text("<th scope=\"col\">기관</th>"));
    assert!(!own.has_text("name=\"institution\""));
}
