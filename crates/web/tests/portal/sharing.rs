//! Threat-sharing bulletins (issue 16): the writer's form (errors next to the fields, in
//! Korean), review by a second person, publication, correction as a new version, withdrawal;
//! reach by audience and TLP (another institution's bulletin answers 404, TLP:RED reaches the
//! CISO only); an emergency advisory bulletin making findings P1 and the regulator tracking
//! acknowledgements; every STIX bundle passing `stix2-validator` in strict mode.

use std::path::PathBuf;

use axum::http::StatusCode;
use haechi_core::Actor;
use haechi_service::sharing::BulletinInput;
use haechi_service::Service;
use serde_json::json;

use crate::App;

pub async fn actor(svc: &Service, username: &str) -> Actor {
    let u = svc
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

pub async fn institution(app: &App, code: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM institutions WHERE code = $1")
        .bind(code)
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap()
}

pub fn input(kind: &str, tlp: &str, audience: &str) -> BulletinInput {
    BulletinInput {
        kind: kind.into(),
        title_ko: format!("시험 공지 {kind} {tlp}"),
        title_en: "Test bulletin".into(),
        body_ko: "AI 모델 서빙 게이트웨이를 노린 공격이 늘고 있습니다.".into(),
        body_en: "Attacks on AI model-serving gateways are rising.".into(),
        severity: "high".into(),
        sources: vec!["금융보안원 관제 자료".into()],
        products: vec!["ModelGate 2.3".into()],
        cves: vec!["CVE-2021-44228".into()],
        cwes: vec!["CWE-502".into()],
        indicators: vec![
            "ipv4 203.0.113.7 C2 server".into(),
            "domain update-check.example 유포지".into(),
            format!("sha256 {} loader", "ab".repeat(32)),
            "url https://evil.example/p?q='x' payload".into(),
        ],
        actions: vec!["로그4j 2.17.1 이상으로 올리십시오.".into()],
        tlp: tlp.into(),
        audience: audience.into(),
        ..BulletinInput::default()
    }
}

/// A bulletin written by the analyst, reviewed and published by the support center.
pub async fn published(svc: &Service, input: &BulletinInput) -> i64 {
    let analyst = actor(svc, "analyst").await;
    let support = actor(svc, "support").await;
    let id = svc.create_bulletin(&analyst, input).await.unwrap();
    svc.submit_bulletin(&analyst, id).await.unwrap();
    svc.publish_bulletin(&support, id).await.unwrap();
    id
}

/// The Python of the virtual environment `scripts/sharing.sh` installs (stix2-validator,
/// taxii2-client).
pub fn python() -> PathBuf {
    let venv = std::env::var("HAECHI_TEST_SHARING_VENV").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/sharing-venv"),
        PathBuf::from,
    );
    let py = venv.join("bin/python");
    assert!(
        py.exists(),
        "{} is missing: run scripts/sharing.sh (scripts/test.sh does) to install stix2-validator and taxii2-client",
        py.display()
    );
    py
}

/// Validates bundles with stix2-validator in strict mode; panics with its report otherwise.
pub fn validate_strict(bundles: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, b) in bundles.iter().enumerate() {
        let p = dir.path().join(format!("bundle-{i}.json"));
        std::fs::write(&p, b).unwrap();
        paths.push(p);
    }
    let out = std::process::Command::new(python())
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/stix_validate.py"))
        .args(&paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stix2-validator (strict) refused a bundle:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_second_person_reviews_before_publication() {
    let app = App::demo().await;
    let analyst = app.login("analyst").await;
    let page = analyst
        .post(
            "/bulletins/new",
            &[
                ("kind", "vulnerability"),
                ("title_ko", "시험용 게이트웨이 취약점 공지"),
                ("body_ko", "역직렬화 취약점이 확인되었습니다."),
                ("severity", "high"),
                ("cves", "CVE-2021-44228"),
                ("tlp", "green"),
                ("audience", "all"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let at = page.location.unwrap();
    let draft = analyst.get(&at).await;
    assert!(draft.has_text("작성 중"), "{}", draft.body);
    // Institutions see no draft.
    let ciso = app.login("ciso.hanbit").await;
    assert_eq!(ciso.get(&at).await.status, StatusCode::NOT_FOUND);
    assert!(!ciso
        .get("/bulletins")
        .await
        .has_text("시험용 게이트웨이 취약점 공지"));
    assert_eq!(
        analyst.post(&format!("{at}/submit"), &[]).await.status,
        StatusCode::SEE_OTHER
    );
    // The writer cannot publish what they submitted.
    let own = analyst.post(&format!("{at}/publish"), &[]).await;
    assert_eq!(own.status, StatusCode::CONFLICT);
    assert!(
        own.has_text("다른 담당자가 검토하고 게시해야 합니다"),
        "{}",
        own.body
    );
    let support = app.login("support").await;
    assert_eq!(
        support.post(&format!("{at}/publish"), &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let shown = ciso.get(&at).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.has_text("TLP:GREEN"));
    // FIRST's definition is shown with the marking.
    assert!(shown.has_text("공동체"), "{}", shown.body);
    assert!(ciso
        .get("/bulletins")
        .await
        .has_text("시험용 게이트웨이 취약점 공지"));
    // The auditor and the officer read it; they write nothing.
    let officer = app.login("officer").await;
    assert_eq!(officer.get(&at).await.status, StatusCode::OK);
    assert_eq!(
        officer.get("/bulletins/new").await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn form_errors_are_shown_next_to_their_fields_and_nothing_is_stored() {
    let app = App::demo().await;
    let analyst = app.login("analyst").await;
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bulletins")
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap();
    let page = analyst
        .post(
            "/bulletins/new",
            &[
                ("kind", "indicators"),
                ("title_ko", ""),
                ("body_ko", "본문"),
                ("severity", "high"),
                ("cves", "CVE-20X-1"),
                ("indicators", "ipv4 10.0.0.300 bad"),
                ("tlp", "red"),
                ("audience", "all"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for text in [
        "비워 둘 수 없습니다",
        "CVE 번호(CVE-YYYY-NNNN)가 아닙니다",
        "IPv4 주소가 아닙니다",
        "TLP:RED는 지정 기관이나 감독당국만",
    ] {
        assert!(page.has_text(text), "missing {text}: {}", page.body);
    }
    assert!(page.has_text("id=\"title_ko-error\""));
    let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bulletins")
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn institutions_see_only_what_audience_and_tlp_allow() {
    let app = App::demo().await;
    let hanbit = institution(&app, "BNK-001").await;
    let saebom = institution(&app, "INS-001").await;
    let mut named_other = input("vulnerability", "amber", "named");
    named_other.audience_institutions = vec![saebom];
    let mut insurance = input("ai_attack_trend", "green", "sector");
    insurance.audience_sector = "insurance".into();
    let mut banks = input("ai_attack_trend", "amber+strict", "sector");
    banks.audience_sector = "bank".into();
    let mut red = input("indicators", "red", "named");
    red.audience_institutions = vec![hanbit];
    let regulator = input("ai_attack_trend", "amber", "regulator");
    let other = published(&app.svc, &named_other).await;
    let ins = published(&app.svc, &insurance).await;
    let bank = published(&app.svc, &banks).await;
    let red = published(&app.svc, &red).await;
    let reg = published(&app.svc, &regulator).await;
    let ciso = app.login("ciso.hanbit").await;
    let staff = app.login("staff.hanbit").await;
    let officer = app.login("officer").await;
    let status = |s: &crate::Session, id: i64| {
        let s = s.clone();
        async move { s.get(&format!("/bulletins/{id}")).await.status }
    };
    assert_eq!(status(&ciso, other).await, StatusCode::NOT_FOUND);
    assert_eq!(status(&ciso, ins).await, StatusCode::NOT_FOUND);
    assert_eq!(status(&ciso, bank).await, StatusCode::OK);
    assert_eq!(status(&staff, bank).await, StatusCode::OK);
    // TLP:RED: the named institution's CISO, not its staff.
    assert_eq!(status(&ciso, red).await, StatusCode::OK);
    assert_eq!(status(&staff, red).await, StatusCode::NOT_FOUND);
    assert_eq!(status(&ciso, reg).await, StatusCode::NOT_FOUND);
    for id in [other, ins, bank, red, reg] {
        assert_eq!(status(&officer, id).await, StatusCode::OK);
    }
    // The STIX bundle follows the same reach.
    assert_eq!(
        ciso.get(&format!("/bulletins/{other}/stix")).await.status,
        StatusCode::NOT_FOUND
    );
    let b = ciso.get(&format!("/bulletins/{bank}/stix")).await;
    assert_eq!(b.status, StatusCode::OK);
    assert!(b.has_text("marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"));
    let advisor = app.login("advisor1").await;
    assert_eq!(status(&advisor, bank).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_emergency_advisory_makes_findings_p1_and_its_acknowledgements_are_tracked() {
    let app = App::demo().await;
    let hanbit = institution(&app, "BNK-001").await;
    // A finding on the advisory's CVE in hanbit's estate.
    let resource: haechi_service::findings::ResourceInput = serde_json::from_value(json!({
        "name": "sharing-gateway", "kind": "server", "business_function": "AI gateway",
        "data_kinds": [], "network_zone": "internal", "processes_electronic_transactions": false
    }))
    .unwrap();
    app.svc
        .create_resource(&Actor::system(), hanbit, resource)
        .await
        .unwrap();
    let sarif = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "depscan", "rules": []}}, "results": [
        {"ruleId": "CVE-2019-17571", "level": "warning", "message": {"text": "Vulnerable log4j CVE-2019-17571"},
         "locations": [{"physicalLocation": {"artifactLocation": {"uri": "lib/log4j.jar"}, "region": {"startLine": 1}}}]}]}]});
    let upload: haechi_service::findings::FindingsUpload =
        serde_json::from_value(json!({ "institution_id": hanbit })).unwrap();
    app.svc
        .import_findings(
            &Actor::system(),
            &upload,
            std::io::Cursor::new(serde_json::to_vec(&sarif).unwrap()),
        )
        .await
        .unwrap();
    let mut emergency = input("emergency_patch_advisory", "green", "all");
    emergency.cves = vec!["CVE-2019-17571".into()];
    emergency.cwes = vec![];
    let id = published(&app.svc, &emergency).await;
    let advisory: Option<i64> =
        sqlx::query_scalar("SELECT advisory_id FROM bulletins WHERE id = $1")
            .bind(id)
            .fetch_one(app.svc.store().pool())
            .await
            .unwrap();
    let advisory = advisory.expect("an emergency bulletin publishes an advisory record");
    let p1: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM finding_priorities p JOIN findings f ON f.id = p.finding_id WHERE f.institution_id = $1 AND f.cves LIKE '%,CVE-2019-17571,%' AND p.priority = 'P1'")
        .bind(hanbit)
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap();
    assert_eq!(p1, 1, "the advisory's finding is P1");
    let ciso = app.login("ciso.hanbit").await;
    let page = ciso.get(&format!("/bulletins/{id}")).await;
    assert!(page.has_text("우리 기관 영향"), "{}", page.body);
    assert!(
        page.has_text("<strong>1</strong>건의 취약점"),
        "{}",
        page.body
    );
    assert!(page.has_text("확인 기한"));
    // The regulator sees it outstanding, then overdue once the P1 SLA has passed.
    let officer = app.login("officer").await;
    let before = officer.get(&format!("/bulletins/{id}")).await;
    assert!(before.has_text("기관별 확인 현황"));
    assert!(before.has_text("미확인"));
    assert_eq!(
        ciso.post(&format!("/bulletins/{id}/acknowledge"), &[])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let later = chrono::Utc::now().naive_utc() + chrono::Duration::days(10);
    app.svc.set_clock(Some(later));
    let after = officer.get(&format!("/bulletins/{id}")).await;
    assert!(after.has_text("기한 경과"), "{}", after.body);
    assert!(after.has_text("ciso.hanbit"));
    let list = officer.get("/bulletins").await;
    assert!(list.has_text("확인 기한이 지난 긴급 보안패치 권고"));
    app.svc.set_clock(None);
    // Withdrawing the bulletin withdraws the advisory record; the finding leaves P1.
    let support = actor(&app.svc, "support").await;
    app.svc
        .withdraw_bulletin(&support, id, "벤더 패치 배포 완료")
        .await
        .unwrap();
    let state: String = sqlx::query_scalar("SELECT state FROM advisories WHERE id = $1")
        .bind(advisory)
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap();
    assert_eq!(state, "withdrawn");
}

#[tokio::test]
async fn a_correction_is_a_new_version_and_every_bundle_passes_the_strict_validator() {
    let app = App::demo().await;
    let id = published(&app.svc, &input("indicators", "amber", "all")).await;
    let analyst = app.login("analyst").await;
    let at = format!("/bulletins/{id}");
    assert_eq!(
        analyst.post(&format!("{at}/correct"), &[]).await.status,
        StatusCode::SEE_OTHER
    );
    // A correction must say what it changes.
    let refused = analyst
        .post(
            &format!("{at}/edit"),
            &[
                ("kind", "indicators"),
                ("title_ko", "정정된 침해지표"),
                ("body_ko", "C2 주소를 추가했습니다."),
                ("severity", "critical"),
                ("indicators", "ipv4 203.0.113.8 두 번째 C2"),
                ("tlp", "amber"),
                ("audience", "all"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.has_text("정정으로 무엇이 바뀌는지"));
    let ok = analyst
        .post(
            &format!("{at}/edit"),
            &[
                ("kind", "indicators"),
                ("title_ko", "정정된 침해지표"),
                ("body_ko", "C2 주소를 추가했습니다."),
                ("severity", "critical"),
                ("indicators", "ipv4 203.0.113.8 두 번째 C2"),
                ("tlp", "amber"),
                ("audience", "all"),
                ("change_note", "C2 주소 추가, 심각도 상향"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    // Institutions still see version 1 while the correction is under way.
    let ciso = app.login("ciso.hanbit").await;
    assert!(!ciso.get(&at).await.has_text("정정된 침해지표"));
    analyst.post(&format!("{at}/submit"), &[]).await;
    let support = app.login("support").await;
    support.post(&format!("{at}/publish"), &[]).await;
    let page = ciso.get(&at).await;
    assert!(page.has_text("정정된 침해지표"));
    assert!(page.has_text("C2 주소 추가, 심각도 상향"));
    let v1 = ciso.get(&format!("{at}/stix?version=1")).await.body;
    let v2 = ciso.get(&format!("{at}/stix?version=2")).await.body;
    let (b1, b2): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&v1).unwrap(),
        serde_json::from_str(&v2).unwrap(),
    );
    let report = |b: &serde_json::Value| b["objects"][0].clone();
    assert_eq!(report(&b1)["id"], report(&b2)["id"]);
    assert!(report(&b2)["modified"].as_str() > report(&b1)["modified"].as_str());
    assert_eq!(report(&b2)["created"], report(&b1)["created"]);
    // Withdrawn: every object re-issued revoked.
    let sup = actor(&app.svc, "support").await;
    app.svc
        .withdraw_bulletin(&sup, id, "오탐으로 확인")
        .await
        .unwrap();
    let revoked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM stix_objects WHERE bulletin_id = $1 AND latest = 1 AND object_type = 'report' AND body LIKE '%\"revoked\":true%'")
        .bind(id)
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap();
    assert_eq!(revoked, 1);
    assert!(ciso.get(&at).await.has_text("철회된 공지입니다"));
    // Every kind and TLP, every version: strict validation.
    let mut bundles = vec![v1, v2];
    let saebom = institution(&app, "INS-001").await;
    for (kind, tlp, aud) in [
        ("ai_attack_trend", "clear", "all"),
        ("vulnerability", "green", "all"),
        ("recommended_actions", "amber+strict", "regulator"),
        ("emergency_patch_advisory", "amber", "all"),
        ("indicators", "red", "named"),
    ] {
        let mut i = input(kind, tlp, aud);
        i.audience_institutions = vec![saebom];
        let id = published(&app.svc, &i).await;
        let officer = actor(&app.svc, "officer").await;
        bundles.push(app.svc.bulletin_bundle(&officer, id, None).await.unwrap());
    }
    validate_strict(&bundles);
}

/// A TAXII request with a bearer token (or none), through the router.
async fn taxii(app: &App, token: Option<&str>, path: &str, accept: &str) -> (StatusCode, String) {
    use axum::body::Body;
    use axum::http::{header, Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut req = Request::get(path).header(header::ACCEPT, accept);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let resp = app
        .router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    if status == StatusCode::OK {
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            "application/taxii+json;version=2.1"
        );
    }
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn token_of(app: &App, username: &str) -> String {
    let a = actor(&app.svc, username).await;
    app.svc
        .issue_token(&Actor::system(), a.user_id, "taxii test")
        .await
        .unwrap()
}

const TAXII: &str = "application/taxii+json;version=2.1";

#[tokio::test]
async fn taxii_lists_only_the_collections_an_institution_may_read() {
    let app = App::demo().await;
    let saebom = institution(&app, "INS-001").await;
    let mut other = input("indicators", "amber", "named");
    other.audience_institutions = vec![saebom];
    let other_id = published(&app.svc, &other).await;
    let other_key = format!("institution-{saebom}/amber");
    let other_coll = haechi_web::taxii::collection_id(&other_key);
    let hanbit = token_of(&app, "ciso.hanbit").await;
    let (s, _) = taxii(&app, None, "/taxii2/", TAXII).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = taxii(&app, Some(&hanbit), "/taxii2/", "text/html").await;
    assert_eq!(s, StatusCode::NOT_ACCEPTABLE);
    let (s, body) = taxii(&app, Some(&hanbit), "/taxii2/haechi/collections/", TAXII).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!body.contains(&other_coll), "{body}");
    assert!(body.contains(&haechi_web::taxii::collection_id("all/clear")));
    for path in [
        format!("/taxii2/haechi/collections/{other_coll}/"),
        format!("/taxii2/haechi/collections/{other_coll}/objects/"),
        format!("/taxii2/haechi/collections/{other_coll}/manifest/"),
    ] {
        assert_eq!(
            taxii(&app, Some(&hanbit), &path, TAXII).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // The named institution reads it, with the bulletin's report.
    let saebom_token = token_of(&app, "ciso.saebom").await;
    let (s, body) = taxii(
        &app,
        Some(&saebom_token),
        &format!("/taxii2/haechi/collections/{other_coll}/objects/?match[type]=report"),
        TAXII,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let env: serde_json::Value = serde_json::from_str(&body).unwrap();
    let uuid: String = sqlx::query_scalar("SELECT uuid FROM bulletins WHERE id = $1")
        .bind(other_id)
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap();
    assert_eq!(env["objects"][0]["id"], format!("report--{uuid}"));
    assert_eq!(env["more"], false);
    // A cursor carries its filters: page through one object at a time.
    let mut next: Option<String> = None;
    let mut seen = 0;
    loop {
        let path = match &next {
            Some(n) => format!("/taxii2/haechi/collections/{other_coll}/objects/?limit=1&next={n}"),
            None => format!(
                "/taxii2/haechi/collections/{other_coll}/objects/?limit=1&match[type]=indicator"
            ),
        };
        let (s, body) = taxii(&app, Some(&saebom_token), &path, TAXII).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let env: serde_json::Value = serde_json::from_str(&body).unwrap();
        for o in env["objects"].as_array().unwrap() {
            assert_eq!(o["type"], "indicator");
            seen += 1;
        }
        match env["next"].as_str() {
            Some(n) => next = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, 4);
    // A bad limit is a 400.
    let (s, _) = taxii(
        &app,
        Some(&saebom_token),
        &format!("/taxii2/haechi/collections/{other_coll}/objects/?limit=0"),
        TAXII,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_atom_feed_shows_clear_bulletins_to_everyone_and_more_with_a_token() {
    let app = App::demo().await;
    let clear = published(&app.svc, &input("ai_attack_trend", "clear", "all")).await;
    let amber = published(&app.svc, &input("vulnerability", "amber", "all")).await;
    let anon = app.anonymous().get("/bulletins.atom").await;
    assert_eq!(anon.status, StatusCode::OK);
    let uuid = |id: i64| {
        let pool = app.svc.store().pool().clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT uuid FROM bulletins WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert!(anon.has_text(&uuid(clear).await));
    assert!(!anon.has_text(&uuid(amber).await));
    let token = token_of(&app, "ciso.hanbit").await;
    use axum::body::Body;
    use axum::http::{header, Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let resp = app
        .router
        .clone()
        .oneshot(
            Request::get("/bulletins.atom")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains(&uuid(amber).await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taxii2_client_reads_pages_and_posts_against_a_real_server() {
    let app = App::demo().await;
    let hanbit = actor(&app.svc, "ciso.hanbit").await;
    let token = token_of(&app, "ciso.hanbit").await;
    let keys: Vec<String> = app.svc.taxii_collections(&hanbit).await.unwrap();
    let mut expected = 0i64;
    for k in &keys {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM stix_objects WHERE collection = $1 AND latest = 1",
        )
        .bind(k)
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap();
        expected += n;
    }
    assert!(expected > 10, "the demo publishes bulletins: {expected}");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/taxii_interop.py");
    let args = [base, "ciso.hanbit".to_string(), token, expected.to_string()];
    let py = python();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(py)
            .arg(script)
            .args(&args)
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        out.status.success(),
        "taxii2-client:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // What it posted is in the contributions collection, not in any institution's.
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM stix_objects WHERE collection = 'contributions'")
            .fetch_one(app.svc.store().pool())
            .await
            .unwrap();
    assert_eq!(n, 1);
}
