//! Patch prioritisation and remediation pages (issue 6): the queue's order and breach marking,
//! filters and bulk assignment, a finding's priority explanation, the patch form (errors next to
//! the fields, nothing stored; success fixes the findings), charts, feeds, advisories and the
//! SaaS register, and who may see and do what (another institution's records answer 404, the
//! regulator side has no queue but publishes advisories, the auditor reads and posts nothing).
//!
//! Each test seeds its own findings on the demo institution of `ciso.hanbit` through the
//! service (resources, a SARIF import, KEV and EPSS files), some of them created ten days ago so
//! that their SLA has passed.

use axum::http::StatusCode;
use chrono::Utc;
use haechi_core::Actor;
use haechi_policy::{DataKind, NetworkZone};
use haechi_service::feeds::{FeedFile, FeedKind};
use haechi_service::findings::{FindingsUpload, ResourceInput};
use haechi_service::Service;

use crate::App;

const KEV_CVE: &str = "CVE-2021-44228";
const EPSS_CVE: &str = "CVE-2023-0001";
const PLAIN_CVE: &str = "CVE-2023-0002";
const LATE_CVE: &str = "CVE-2022-22965";

async fn actor(svc: &Service, username: &str) -> Actor {
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

fn sarif(results: &[(&str, &str, &str)]) -> Vec<u8> {
    let results: Vec<serde_json::Value> = results
        .iter()
        .map(|(rule, path, cve)| {
            serde_json::json!({"ruleId": rule, "level": "error", "message": {"text": format!("Vulnerable dependency {cve}")},
                "properties": {"security-severity": "7.5"},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": path}, "region": {"startLine": 1}}}],
                "partialFingerprints": {"primaryLocationLineHash": format!("{rule}-{path}")}})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "depscan", "version": "1.0", "rules": []}}, "results": results}]})).unwrap()
}

fn kev(date: &str, cves: &[&str]) -> Vec<u8> {
    let vulns: Vec<serde_json::Value> = cves
        .iter()
        .map(|c| serde_json::json!({"cveID": c, "vendorProject": "Apache", "product": "Log4j2", "vulnerabilityName": "Log4Shell",
            "dateAdded": "2021-12-10", "shortDescription": "RCE", "requiredAction": "Patch", "dueDate": "2021-12-24",
            "knownRansomwareCampaignUse": "Known", "notes": "https://example.invalid"}))
        .collect();
    serde_json::to_vec(&serde_json::json!({"title": "KEV", "catalogVersion": date, "dateReleased": format!("{date}T12:00:00.000Z"), "count": cves.len(), "vulnerabilities": vulns})).unwrap()
}

fn epss(date: &str, rows: &[(&str, &str)]) -> Vec<u8> {
    let mut s = format!(
        "#model_version:v2025.03.14,score_date:{date}T00:00:00+0000\ncve,epss,percentile\n"
    );
    for (cve, e) in rows {
        s.push_str(&format!("{cve},{e},0.5\n"));
    }
    s.into_bytes()
}

async fn resource(svc: &Service, who: &Actor, name: &str, zone: NetworkZone) -> i64 {
    svc.create_resource(
        who,
        who.institution_id.unwrap(),
        ResourceInput {
            name: name.into(),
            kind: "server".into(),
            business_function: "internet banking".into(),
            data_kinds: vec![DataKind::CustomerPersonal],
            network_zone: zone,
            processes_electronic_transactions: false,
            dr_tier: None,
            owner: None,
        },
    )
    .await
    .unwrap()
    .id
}

async fn import(svc: &Service, who: &Actor, res: i64, log: Vec<u8>) {
    let up = FindingsUpload {
        institution_id: who.institution_id.unwrap(),
        resource_id: Some(res),
        file_name: Some("deps.sarif".into()),
        ..Default::default()
    };
    svc.import_findings(who, &up, std::io::Cursor::new(log))
        .await
        .unwrap();
}

/// What a test seeded.
struct Seeded {
    inst: i64,
    /// KEV-listed on the internet-facing resource, created ten days ago: P1, breached.
    late_p1: i64,
    /// KEV-listed on the internet-facing resource, created today: P1 within its SLA.
    p1: i64,
    /// EPSS 0.5 on the internet-facing resource: P3.
    p3: i64,
    /// No feed, severe, on the internet-facing resource too: P4.
    p4: i64,
    /// The internet-facing resource all of them are on (the demo may hold other findings:
    /// pages filter by it).
    web: i64,
}

async fn seed(app: &App) -> Seeded {
    let svc = &app.svc;
    let ciso = actor(svc, "ciso.hanbit").await;
    let officer = actor(svc, "officer").await;
    let web = resource(svc, &ciso, "pt-web-gateway", NetworkZone::Internet).await;
    // Ten days ago: its P1 SLA (3 days) has passed.
    let past = Utc::now().naive_utc() - chrono::Duration::days(10);
    svc.set_clock(Some(past));
    import(svc, &ciso, web, sarif(&[("dep0", "old/pom.xml", LATE_CVE)])).await;
    svc.set_clock(None);
    import(
        svc,
        &ciso,
        web,
        sarif(&[("dep1", "pom.xml", KEV_CVE), ("dep2", "pom.xml", EPSS_CVE)]),
    )
    .await;
    import(svc, &ciso, web, sarif(&[("dep3", "lib.jar", PLAIN_CVE)])).await;
    // The feeds' date: today, or the demo's loaded files' date if later (an older file is
    // refused).
    let status = svc.feed_status(&officer).await.unwrap();
    let day = [
        Some(svc.today().to_string()),
        status.kev.map(|k| k.source_date),
        status.epss.map(|e| e.source_date),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap();
    let file = |name: &str, bytes: Vec<u8>| {
        vec![FeedFile {
            name: name.into(),
            bytes,
        }]
    };
    svc.import_feed(
        &officer,
        FeedKind::Kev,
        file("kev.json", kev(&day, &[KEV_CVE, LATE_CVE])),
        None,
    )
    .await
    .unwrap();
    svc.import_feed(
        &officer,
        FeedKind::Epss,
        file("epss.csv", epss(&day, &[(EPSS_CVE, "0.5")])),
        None,
    )
    .await
    .unwrap();
    let inst = ciso.institution_id.unwrap();
    let id_of = |cve: &'static str| {
        let pool = svc.store().pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT id FROM findings WHERE institution_id = $1 AND resource_id = $2 AND cves LIKE $3",
            )
            .bind(inst)
            .bind(web)
            .bind(format!("%,{cve},%"))
            .fetch_one(&pool)
            .await
            .unwrap_or_else(|e| panic!("no finding on {cve}: {e}"))
        }
    };
    Seeded {
        inst,
        late_p1: id_of(LATE_CVE).await,
        p1: id_of(KEV_CVE).await,
        p3: id_of(EPSS_CVE).await,
        p4: id_of(PLAIN_CVE).await,
        web,
    }
}

async fn count(app: &App, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap()
}

async fn status_of(app: &App, id: i64) -> String {
    let who = actor(&app.svc, "ciso.hanbit").await;
    app.svc.get_finding(&who, id).await.unwrap().finding.status
}

/// The table row of a finding in the queue page (from its `<tr` to `</tr>`).
fn row_of(body: &str, id: i64) -> String {
    let link = format!("href=\"/queue/{id}\"");
    let at = body
        .find(&link)
        .unwrap_or_else(|| panic!("finding {id} is not in the page"));
    let start = body[..at].rfind("<tr").unwrap();
    let end = at + body[at..].find("</tr>").unwrap();
    body[start..end].to_string()
}

#[tokio::test]
async fn queue_is_ordered_by_priority_then_due_date_and_marks_breaches() {
    let app = App::demo().await;
    let s = seed(&app).await;
    let page = app
        .login("ciso.hanbit")
        .await
        .get(&format!("/queue?resource={}", s.web))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let pos = |id: i64| page.body.find(&format!("href=\"/queue/{id}\"")).unwrap();
    // P1 (the older one first: earlier due date), then P3, then P4.
    assert!(pos(s.late_p1) < pos(s.p1), "the breached P1 is due first");
    assert!(
        pos(s.p1) < pos(s.p3) && pos(s.p3) < pos(s.p4),
        "priority order"
    );
    let late = row_of(&page.body, s.late_p1);
    assert!(late.contains("class=\"breach\""), "{late}");
    assert!(
        late.contains("기한 초과"),
        "the breach is said in words too: {late}"
    );
    assert!(late.contains("p1-kev-exposed"), "{late}");
    // The summary card of P1 counts the breach (a number, where the rows say days).
    let cards = &page.body[page.body.find("class=\"cards\"").unwrap()..];
    let cards = &cards[..cards.find("</ul>").unwrap()];
    let counted = cards.split("기한 초과 ").skip(1).any(|rest| {
        let n = rest.split("</span>").next().unwrap();
        !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) && n != "0"
    });
    assert!(counted, "the P1 card counts the breach: {cards}");
    let fine = row_of(&page.body, s.p1);
    assert!(!fine.contains("breach"), "{fine}");
    assert!(!row_of(&page.body, s.p4).contains("기한 초과"));

    // Filters: breached only, one priority; a malformed one gets a message.
    let ciso = app.login("ciso.hanbit").await;
    let breached = ciso
        .get(&format!("/queue?breached=1&lang=en&resource={}", s.web))
        .await;
    assert!(breached.has_text(&format!("href=\"/queue/{}\"", s.late_p1)));
    assert!(!breached.has_text(&format!("href=\"/queue/{}\"", s.p1)));
    assert!(breached.has_text("SLA breached by"));
    let p4 = ciso
        .get(&format!("/queue?priority=P4&resource={}", s.web))
        .await;
    assert!(p4.has_text(&format!("href=\"/queue/{}\"", s.p4)));
    assert!(!p4.has_text(&format!("href=\"/queue/{}\"", s.p1)));
    let bad = ciso.get("/queue?priority=P9").await;
    assert_eq!(bad.status, StatusCode::OK);
    assert!(bad.has_text("P1–P5 중에서 고르십시오"), "{}", bad.body);
    assert!(bad.has_text("class=\"field invalid\""));
}

#[tokio::test]
async fn bulk_assignment_sets_the_assignee_and_refuses_an_empty_selection() {
    let app = App::demo().await;
    let s = seed(&app).await;
    let staff = app.login("staff.hanbit").await;
    let ciso = actor(&app.svc, "ciso.hanbit").await;
    let id = |n: i64| n.to_string();
    let page = staff
        .post(
            "/queue/assign",
            &[
                ("return", "/queue?priority=P1"),
                ("assignee_user_id", &id(ciso.user_id)),
                ("finding", &id(s.p1)),
                ("finding", &id(s.late_p1)),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(
        page.location.as_deref(),
        Some("/queue?priority=P1&assigned=2")
    );
    let assigned = count(
        &app,
        &format!(
            "SELECT COUNT(*) FROM findings WHERE assignee_user_id = {} AND id IN ({}, {})",
            ciso.user_id, s.p1, s.late_p1
        ),
    )
    .await;
    assert_eq!(assigned, 2);
    let mine = staff
        .get(&format!(
            "/queue?assignee={}&resource={}",
            ciso.user_id, s.web
        ))
        .await;
    assert!(mine.has_text(&format!("href=\"/queue/{}\"", s.p1)));
    assert!(!mine.has_text(&format!("href=\"/queue/{}\"", s.p4)));

    // Nothing selected: 422 with the message, nothing changed.
    let audit = count(&app, "SELECT COUNT(*) FROM audit_log").await;
    let none = staff
        .post(
            "/queue/assign",
            &[("return", "/queue"), ("assignee_user_id", "none")],
        )
        .await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(none.has_text("하나 이상 선택"), "{}", none.body);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log").await, audit);
    // Without the CSRF token: refused, nothing changed.
    let forged = staff
        .post_without_csrf(
            "/queue/assign",
            &[("assignee_user_id", "none"), ("finding", &id(s.p1))],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM findings WHERE id = {} AND assignee_user_id IS NULL",
                s.p1
            )
        )
        .await,
        0
    );
}

#[tokio::test]
async fn explanation_shows_the_deciding_row_and_every_input_with_its_source() {
    let app = App::demo().await;
    let s = seed(&app).await;
    let ciso = app.login("ciso.hanbit").await;
    let page = ciso.get(&format!("/queue/{}", s.p1)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has_text("p1-kev-exposed"));
    assert!(page.has_text("이 행이 결정"), "the deciding row is marked");
    assert!(page.has_text("class=\"decided\""));
    // Its condition, in words.
    assert!(page.has_text("실제 악용 중"));
    // Every input with its source and date.
    for text in [
        "당국 긴급 권고",
        "악용 현황",
        "CISA KEV 목록",
        "2021-12-10",
        "노출",
        "인터넷 접점",
        "pt-web-gateway",
        "자동화 가능성",
        "자원 등급",
        "심각도",
        "SARIF 보안 심각도",
        "정책 버전",
    ] {
        assert!(page.has_text(text), "the explanation lacks {text:?}");
    }
    assert!(
        page.has_text(&format!("/patches/new?finding={}", s.p1)),
        "a record-a-patch link"
    );
    let due = app
        .svc
        .finding_priority(&actor(&app.svc, "ciso.hanbit").await, s.p1)
        .await
        .unwrap()
        .stored
        .due_date
        .unwrap();
    assert!(page.has_text(&due));

    // EPSS: model version and score date.
    let en = ciso.get(&format!("/queue/{}?lang=en", s.p3)).await;
    assert!(en.has_text("FIRST EPSS score"), "{}", en.body);
    assert!(en.has_text("v2025.03.14"));
    assert!(en.has_text("EPSS model version"));
    assert!(en.has_text("This row decided"));
    assert!(en.has_text("p3-poc-severe"));
}

#[tokio::test]
async fn another_institutions_records_answer_not_found() {
    let app = App::demo().await;
    let s = seed(&app).await;
    let other = app.login("ciso.saebom").await;
    for path in [
        format!("/queue/{}", s.p1),
        format!("/queue?institution={}", s.inst),
        format!("/patches?institution={}", s.inst),
    ] {
        let page = other.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.body);
        assert!(!page.has_text("pt-web-gateway"));
    }
    // Nor can a patch record claim them: nothing stored, the finding stays open.
    let patches = count(&app, "SELECT COUNT(*) FROM patch_records").await;
    let page = other
        .post(
            "/patches",
            &[
                ("applied", "log4j 2.17.1"),
                ("applied_at", "2026-01-05"),
                ("applied_by", "Lee"),
                ("finding_ids", &s.p1.to_string()),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM patch_records").await,
        patches
    );
    assert_eq!(status_of(&app, s.p1).await, "open");
}

#[tokio::test]
async fn patch_form_shows_errors_next_to_fields_and_stores_nothing() {
    let app = App::demo().await;
    let s = seed(&app).await;
    let staff = app.login("staff.hanbit").await;
    let form = staff
        .get(&format!(
            "/patches/new?finding={}&finding={}",
            s.p1, s.late_p1
        ))
        .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.has_text(&format!("value=\"{}, {}\"", s.p1, s.late_p1)),
        "the findings are pre-filled"
    );
    assert!(form.has_text("사전 테스트 완료") && form.has_text("고객 사전 안내"));

    let patches = count(&app, "SELECT COUNT(*) FROM patch_records").await;
    let audit = count(&app, "SELECT COUNT(*) FROM audit_log").await;
    let page = staff
        .post(
            "/patches",
            &[
                ("applied", " "),
                ("applied_at", "2026-13-45"),
                ("applied_by", ""),
                ("finding_ids", "12, x"),
                ("notes", "keep me"),
            ],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    for field in ["applied", "applied_at", "applied_by", "finding_ids"] {
        assert!(
            page.has_text(&format!("id=\"{field}-error\"")),
            "no error next to {field}: {}",
            page.body
        );
    }
    assert!(page.has_text("keep me"), "the input is kept");
    assert!(page.has_text("'x'"));
    // No findings at all.
    let page = staff
        .post(
            "/patches",
            &[
                ("applied", "openssl 3.0.13"),
                ("applied_at", "2026-01-05"),
                ("applied_by", "Kim"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.has_text("id=\"finding_ids-error\""));
    assert!(page.has_text("value=\"openssl 3.0.13\""));
    // A date in the future: the service's message, next to the date.
    let page = staff
        .post(
            "/patches",
            &[
                ("applied", "openssl 3.0.13"),
                ("applied_at", "2999-01-01"),
                ("applied_by", "Kim"),
                ("finding_ids", &s.p1.to_string()),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.has_text("id=\"applied_at-error\""), "{}", page.body);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM patch_records").await,
        patches
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log").await, audit);
    assert_eq!(status_of(&app, s.p1).await, "open");
}

#[tokio::test]
async fn recording_a_patch_fixes_its_findings_and_shows_the_record() {
    let app = App::demo().await;
    let s = seed(&app).await;
    let staff = app.login("staff.hanbit").await;
    let ids = format!("{}, {}", s.p1, s.late_p1);
    let today = Utc::now().date_naive().to_string();
    let page = staff
        .post(
            "/patches",
            &[
                ("applied", "log4j-core 2.17.1"),
                ("applied_at", &today),
                ("applied_by", "보안팀 김하늘"),
                ("finding_ids", &ids),
                ("pre_testing_done", "1"),
                ("rollback_ready", "1"),
                ("continuity_plan", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let to = page.location.unwrap();
    assert!(
        to.starts_with("/patches/") && to.ends_with("?recorded=2"),
        "{to}"
    );
    assert_eq!(status_of(&app, s.p1).await, "fixed");
    assert_eq!(status_of(&app, s.late_p1).await, "fixed");
    assert_eq!(status_of(&app, s.p3).await, "open");

    let detail = staff.get(&to).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.has_text("log4j-core 2.17.1"));
    assert!(detail.has_text("조치 완료로 바뀐 취약점: 2"));
    assert!(detail.has_text(&format!("href=\"/queue/{}\"", s.p1)));
    let queue = staff.get(&format!("/queue?resource={}", s.web)).await;
    assert!(
        !queue.has_text(&format!("href=\"/queue/{}\"", s.p1)),
        "the fixed finding left the queue"
    );
    assert!(queue.has_text(&format!("href=\"/queue/{}\"", s.p3)));
    let list = staff.get("/patches").await;
    assert!(list.has_text("log4j-core 2.17.1"));
    assert!(list.has_text("3/6"), "work plan items done");
    // Fixing it twice is refused, next to the findings field.
    let again = staff
        .post(
            "/patches",
            &[
                ("applied", "again"),
                ("applied_at", &today),
                ("applied_by", "x"),
                ("finding_ids", &s.p1.to_string()),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.has_text("id=\"finding_ids-error\""));
    // The charts see the fix.
    let charts = staff.get("/patches/charts?lang=en").await;
    assert_eq!(charts.status, StatusCode::OK);
    assert!(charts.has_text("<svg") && charts.has_text("role=\"img\""));
    assert!(charts.has_text("Burn-down data"));
    assert!(charts.has_text("SLA compliance data"));
    assert!(charts.has_text("figcaption"));
}

#[tokio::test]
async fn regulator_officer_has_no_queue_but_publishes_and_withdraws_advisories() {
    let app = App::demo().await;
    let s = seed(&app).await;
    let officer = app.login("officer").await;
    assert_eq!(officer.get("/queue").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        officer.get(&format!("/queue/{}", s.p4)).await.status,
        StatusCode::FORBIDDEN
    );
    let feeds = officer.get("/feeds").await;
    assert_eq!(feeds.status, StatusCode::OK);
    assert!(feeds.has_text("v2025.03.14"), "the EPSS model version");
    assert!(feeds.has_text("서명 없음"));

    // A bad CVE: the error next to the CVE field, nothing published.
    let before = count(&app, "SELECT COUNT(*) FROM advisories").await;
    let bad = officer
        .post(
            "/advisories",
            &[
                ("title_ko", "긴급"),
                ("title_en", ""),
                ("cves", "CVE-2023-0002 log4j"),
                ("published_on", "2026-01-05"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(
        bad.has_text("id=\"cves-error\"") && bad.has_text("id=\"title_en-error\""),
        "{}",
        bad.body
    );
    assert!(bad.has_text("value=\"긴급\""));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM advisories").await, before);

    let today = Utc::now().date_naive().to_string();
    let ok = officer
        .post(
            "/advisories",
            &[
                ("title_ko", "스프링 긴급 패치"),
                ("title_en", "Spring emergency patch"),
                ("cves", PLAIN_CVE),
                ("published_on", &today),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM advisories").await,
        before + 1
    );
    let ciso = actor(&app.svc, "ciso.hanbit").await;
    let why = app.svc.finding_priority(&ciso, s.p4).await.unwrap().stored;
    assert_eq!(
        (why.priority.as_deref(), why.row.as_deref()),
        (Some("P1"), Some("p1-authority"))
    );
    let list = officer.get("/advisories").await;
    assert!(list.has_text("스프링 긴급 패치") && list.has_text(PLAIN_CVE));
    // The CISO sees it and the explanation names it; they cannot publish.
    let c = app.login("ciso.hanbit").await;
    assert!(c.get("/advisories").await.has_text("스프링 긴급 패치"));
    assert!(c
        .get(&format!("/queue/{}", s.p4))
        .await
        .has_text("당국 긴급 패치 권고"));
    let refused = c
        .post(
            "/advisories",
            &[
                ("title_ko", "x"),
                ("title_en", "x"),
                ("cves", PLAIN_CVE),
                ("published_on", &today),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM advisories").await,
        before + 1
    );

    // Withdraw: a reason is needed.
    let id: i64 = sqlx::query_scalar("SELECT MAX(id) FROM advisories")
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap();
    let no_reason = officer
        .post(&format!("/advisories/{id}/withdraw"), &[("reason", " ")])
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_reason.has_text("철회 사유"));
    let done = officer
        .post(
            &format!("/advisories/{id}/withdraw"),
            &[("reason", "superseded")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let why = app.svc.finding_priority(&ciso, s.p4).await.unwrap().stored;
    assert_eq!(why.priority.as_deref(), Some("P4"));
}

#[tokio::test]
async fn auditor_reads_everything_but_posts_nothing() {
    let app = App::demo().await;
    let s = seed(&app).await;
    let auditor = app.login("auditor").await;
    let chooser = auditor.get("/queue").await;
    assert_eq!(chooser.status, StatusCode::OK);
    assert!(chooser.has_text("name=\"institution\""));
    let queue = auditor
        .get(&format!("/queue?institution={}&resource={}", s.inst, s.web))
        .await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.has_text(&format!("href=\"/queue/{}\"", s.p1)));
    assert!(
        !queue.has_text("name=\"finding\""),
        "no assignment checkboxes"
    );
    let why = auditor.get(&format!("/queue/{}", s.p1)).await;
    assert_eq!(why.status, StatusCode::OK);
    assert!(why.has_text("p1-kev-exposed"));
    assert!(!why.has_text("/patches/new"), "no record-a-patch link");
    for path in ["/feeds", "/advisories"] {
        assert_eq!(auditor.get(path).await.status, StatusCode::OK, "{path}");
    }
    assert_eq!(
        auditor
            .get(&format!("/patches/charts?institution={}", s.inst))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        auditor
            .get(&format!("/saas?institution={}", s.inst))
            .await
            .status,
        StatusCode::OK
    );

    let audit = count(&app, "SELECT COUNT(*) FROM audit_log").await;
    let refused = [
        auditor
            .post(
                "/queue/assign",
                &[
                    ("return", &format!("/queue?institution={}", s.inst)),
                    ("assignee_user_id", "none"),
                    ("finding", &s.p1.to_string()),
                ],
            )
            .await,
        auditor
            .post(
                "/patches",
                &[
                    ("applied", "x"),
                    ("applied_at", "2026-01-05"),
                    ("applied_by", "x"),
                    ("finding_ids", &s.p1.to_string()),
                ],
            )
            .await,
        auditor
            .post(
                "/advisories",
                &[
                    ("title_ko", "x"),
                    ("title_en", "x"),
                    ("cves", PLAIN_CVE),
                    ("published_on", "2026-01-05"),
                ],
            )
            .await,
        auditor
            .post(
                "/saas",
                &[
                    ("product", "x"),
                    ("vendor", "x"),
                    ("users", "x"),
                    ("purpose", "x"),
                ],
            )
            .await,
    ];
    for page in refused {
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    }
    assert_eq!(
        auditor.get("/patches/new").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log").await, audit);
    assert_eq!(status_of(&app, s.p1).await, "open");
}

#[tokio::test]
async fn saas_register_entries_and_self_evaluations() {
    let app = App::demo().await;
    let staff = app.login("staff.hanbit").await;
    let before = count(&app, "SELECT COUNT(*) FROM saas_services").await;
    let bad = staff
        .post(
            "/saas",
            &[
                ("product", "CodeGuard AI"),
                ("vendor", ""),
                ("users", ""),
                ("purpose", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    for field in ["vendor", "users", "purpose"] {
        assert!(bad.has_text(&format!("id=\"{field}-error\"")), "{field}");
    }
    assert!(bad.has_text("value=\"CodeGuard AI\""));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM saas_services").await,
        before
    );

    let ok = staff
        .post(
            "/saas",
            &[
                ("product", "CodeGuard AI"),
                ("vendor", "Guardian Labs"),
                ("certifications", "ISO/IEC 27001, CSAP"),
                ("class_o", "1"),
                ("data_other", "access logs"),
                ("users", "보안팀 12명"),
                ("purpose", "소스코드 취약점 점검"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let to = ok.location.unwrap();
    let id = to.trim_start_matches("/saas/").to_string();
    let detail = staff.get(&to).await;
    assert!(detail.has_text("Guardian Labs") && detail.has_text("ISO/IEC 27001, CSAP"));
    assert!(detail.has_text("기록된 자체평가가 없습니다"));
    assert!(
        detail.has_text("value=\"access logs\""),
        "other data kept for editing"
    );

    // A self-evaluation: a missing result is refused next to its field; then recorded.
    let today = Utc::now().date_naive().to_string();
    let bad = staff
        .post(
            &format!("/saas/{id}/evaluations"),
            &[("evaluated_on", &today), ("result", "")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.has_text("id=\"result-error\""));
    let done = staff
        .post(
            &format!("/saas/{id}/evaluations"),
            &[
                ("evaluated_on", &today),
                ("result", "partial"),
                ("reported_to_ciso_on", &today),
                ("notes", "로그 보존 기간 보완 필요"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM saas_evaluations WHERE saas_id = {id}")
        )
        .await,
        1
    );
    let list = staff.get("/saas").await;
    assert!(list.has_text("CodeGuard AI") && list.has_text("부분 적합"));

    // Edit, then the other institution cannot see it.
    let edit = staff
        .post(
            &format!("/saas/{id}"),
            &[
                ("product", "CodeGuard AI 2"),
                ("vendor", "Guardian Labs"),
                ("users", "보안팀"),
                ("purpose", "점검"),
            ],
        )
        .await;
    assert_eq!(edit.status, StatusCode::SEE_OTHER);
    assert!(staff.get(&to).await.has_text("CodeGuard AI 2"));
    let other = app.login("ciso.saebom").await;
    assert_eq!(other.get(&to).await.status, StatusCode::NOT_FOUND);
    assert!(!other.get("/saas").await.has_text("CodeGuard"));
}

/// Issue #14 item 14: the findings a patch record fixes show who recorded it (not "system"), a
/// patch saved without a time says "time not given" (not midnight UTC), and a work plan lacking
/// what the immunity rules require is named in a warning, in the page's language.
#[tokio::test]
async fn a_patch_record_names_its_recorder_the_missing_time_and_work_plan_gaps() {
    let app = App::demo().await;
    let s = seed(&app).await;
    let staff = app.login("staff.hanbit").await;
    let today = Utc::now().date_naive().to_string();
    let page = staff
        .post(
            "/patches",
            &[
                ("applied", "openssl 3.0.15"),
                ("applied_at", &today),
                ("applied_time", ""),
                ("applied_by", "보안팀 김하늘"),
                ("finding_ids", &s.p1.to_string()),
                ("kill_switch_ready", "1"),
                ("continuity_plan", "1"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let to = page.location.unwrap();
    let detail = staff.get(&to).await;
    assert!(
        detail.has_text(&format!("{today} (시각 미입력)")),
        "{}",
        detail.body
    );
    assert!(!detail.has_text(&format!("{today} 00:00")));
    // Pre-testing and the customer notice are missing; spread prevention (a kill switch) and
    // continuity are there.
    assert!(detail.has_text("면책 기준이 요구하는 항목이 빠져 있습니다"));
    let warning = &detail.body[detail.body.find("alert warn").unwrap()..];
    let warning = &warning[..warning.find("</div>").unwrap()];
    assert!(warning.contains("<li>사전 테스트</li>"), "{warning}");
    assert!(warning.contains("<li>작업 시기·범위 고객 사전 안내</li>"));
    assert!(!warning.contains("피해확산 방지"));
    assert!(!warning.contains("서비스 연속성"));
    let en = staff.get(&format!("{to}&lang=en")).await;
    assert!(en.has_text(&format!("{today} (time not given)")));
    assert!(en.has_text("<li>Pre-testing</li>"));
    assert!(!en.has_text("사전 테스트"));

    // The finding's history: fixed by the recording user, through the patch record.
    let pid = to
        .trim_start_matches("/patches/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let finding = staff.get(&format!("/findings/{}", s.p1)).await;
    let history = &finding.body[finding.body.find("상태 이력").unwrap()..];
    let row = &history[history
        .find(&format!("href=\"/patches/{pid}\""))
        .unwrap()
        .saturating_sub(400)..];
    assert!(
        row.contains("staff.hanbit") || row.contains("보안담당"),
        "{row}"
    );
    assert!(!history.contains(">시스템<"), "{history}");

    // A complete work plan gets no warning.
    let full = staff
        .post(
            "/patches",
            &[
                ("applied", "nginx 1.27.1"),
                ("applied_at", &today),
                ("applied_time", "08:00"),
                ("applied_by", "보안팀"),
                ("finding_ids", &s.p3.to_string()),
                ("pre_testing_done", "1"),
                ("rollback_ready", "1"),
                ("continuity_plan", "1"),
                ("customers_notified_in_advance", "1"),
            ],
        )
        .await;
    assert_eq!(full.status, StatusCode::SEE_OTHER, "{}", full.body);
    let detail = staff.get(&full.location.unwrap()).await;
    assert!(!detail.has_text("alert warn"));
    assert!(detail.has_text(&format!("{today} 08:00 KST")));
}

/// The number in a cell `data-part="{part}"` of the SLA table's row of `priority`.
fn sla_cell(body: &str, priority: &str, part: &str) -> String {
    let row_at = body
        .find(&format!("<tr data-priority=\"{priority}\">"))
        .unwrap_or_else(|| panic!("no SLA row for {priority}"));
    let row = &body[row_at..row_at + body[row_at..].find("</tr>").unwrap()];
    let cell = format!("data-part=\"{part}\">");
    let at = row.find(&cell).unwrap_or_else(|| panic!("no {part} cell")) + cell.len();
    row[at..at + row[at..].find('<').unwrap()].to_string()
}

#[tokio::test]
async fn sla_chart_counts_open_findings_instead_of_a_rate_over_closed_ones() {
    let app = App::demo().await;
    let ciso = app.login("ciso.hanbit").await;
    let page = ciso.get("/patches/charts").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.has_text("준수율"),
        "no rate over closed findings only"
    );
    let n = |p: &str, part: &str| sla_cell(&page.body, p, part).parse::<i64>().unwrap();
    let mut open_somewhere = false;
    for p in ["P1", "P2", "P3", "P4", "P5"] {
        let parts = n(p, "fixed_within_sla")
            + n(p, "fixed_late")
            + n(p, "open_breached")
            + n(p, "open_within_sla");
        assert_eq!(
            parts,
            n(p, "total"),
            "{p}: the four outcomes make the total"
        );
        let open = n(p, "open_breached") + n(p, "open_within_sla");
        assert_eq!(
            sla_cell(&page.body, p, "open"),
            format!("{open} / {parts}"),
            "{p}: open of all"
        );
        if parts > 0 {
            let share = sla_cell(&page.body, p, "in_time_share");
            let expected = format!(
                "{:.0}%",
                100.0 * n(p, "fixed_within_sla") as f64 / parts as f64
            );
            assert_eq!(share, expected, "{p}: closed in time of all findings");
        }
        open_somewhere |= open > 0;
    }
    assert!(open_somewhere, "the demo leaves findings open");
    // The demo's history reaches every outcome.
    let sum = |part: &str| -> i64 {
        ["P1", "P2", "P3", "P4", "P5"]
            .iter()
            .map(|p| n(p, part))
            .sum()
    };
    for part in [
        "fixed_within_sla",
        "fixed_late",
        "open_breached",
        "open_within_sla",
    ] {
        assert!(sum(part) > 0, "no finding is {part}: {}", page.body);
    }
    let en = ciso.get("/patches/charts?lang=en").await;
    assert!(en.has_text("Closed in time (of all)") && en.has_text("Still open"));
}

#[tokio::test]
async fn demo_findings_have_months_of_consistent_history_and_the_burn_down_shows_it() {
    let app = App::demo().await;
    let inst: i64 =
        sqlx::query_scalar("SELECT institution_id FROM users WHERE username = 'ciso.hanbit'")
            .fetch_one(app.svc.store().pool())
            .await
            .unwrap();
    let today = app.svc.today().to_string();
    let days = count(
        &app,
        &format!("SELECT COUNT(DISTINCT created_on) FROM finding_priorities WHERE institution_id = {inst}"),
    )
    .await;
    assert!(days >= 6, "findings were found on {days} days only");
    let (first, last): (String, String) = sqlx::query_as(&format!(
        "SELECT MIN(created_on), MAX(created_on) FROM finding_priorities WHERE institution_id = {inst}"
    ))
    .fetch_one(app.svc.store().pool())
    .await
    .unwrap();
    assert!(
        first.as_str() >= "2026-06-01",
        "found before the program: {first}"
    );
    assert!(last <= today, "found in the future: {last}");
    // Nothing is fixed before it was found, nor after today.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM finding_status_changes c JOIN findings f ON f.id = c.finding_id \
             WHERE c.changed_at < f.created_at",
        )
        .await,
        0
    );
    let fixed_days = count(
        &app,
        &format!("SELECT COUNT(DISTINCT substr(changed_at, 1, 10)) FROM finding_status_changes WHERE institution_id = {inst} AND to_status = 'fixed'"),
    )
    .await;
    assert!(
        fixed_days >= 8,
        "findings were fixed on {fixed_days} days only"
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM finding_status_changes WHERE substr(changed_at, 1, 10) > '{today}'"),
        )
        .await,
        0
    );
    // Patch records are dated when they were applied, not on the seeding day.
    assert!(
        count(
            &app,
            &format!("SELECT COUNT(DISTINCT substr(applied_at, 1, 10)) FROM patch_records WHERE institution_id = {inst}"),
        )
        .await
            >= 8
    );

    // The burn-down over a year: the open total moves (a curve, not a step on one day), and the
    // findings closed in the range are counted.
    let ciso = app.login("ciso.hanbit").await;
    let page = ciso.get("/patches/charts?days=365").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_text("조치 완료(누적)"));
    let start = page.body.find("번다운 데이터").unwrap();
    let table = &page.body[start..start + page.body[start..].find("</table>").unwrap()];
    let rows: Vec<Vec<i64>> = table
        .split("<tr>")
        .skip(2)
        .map(|r| {
            r.split("<td class=\"num\">")
                .skip(1)
                .map(|c| c.split('<').next().unwrap().parse::<i64>().unwrap())
                .collect()
        })
        .collect();
    let totals: std::collections::BTreeSet<i64> = rows.iter().map(|r| r[5]).collect();
    assert!(totals.len() >= 5, "the open total takes {totals:?} only");
    let closed = rows.last().unwrap()[6];
    assert!(closed > 20, "closed in the range: {closed}");
}

/// Issue #14 item 12: a security SaaS in the register that the institution's letter in force
/// does not permit is flagged on the CISO's register (list and entry) with the letter and what
/// it permits; one the letter names is marked permitted.
#[tokio::test]
async fn saas_the_letter_does_not_permit_is_flagged() {
    let app = App::demo().await;
    let hanbit: i64 = sqlx::query_scalar("SELECT id FROM institutions WHERE code = 'BNK-001'")
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap();
    let (number, doc): (String, String) = sqlx::query_as(&format!(
        "SELECT letter_number, draft_json FROM letters WHERE institution_id = {hanbit} AND state = 'issued' ORDER BY id DESC LIMIT 1"
    ))
    .fetch_one(app.svc.store().pool())
    .await
    .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let permitted: Vec<String> = doc["scope"]["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "saas_product")
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert!(!permitted.is_empty());
    let unlisted: String = sqlx::query_scalar(&format!(
        "SELECT product FROM saas_services WHERE institution_id = {hanbit} ORDER BY id LIMIT 1"
    ))
    .fetch_one(app.svc.store().pool())
    .await
    .unwrap();
    assert!(!permitted.contains(&unlisted), "{unlisted} {permitted:?}");

    let ciso = app.login("ciso.hanbit").await;
    let list = ciso.get("/saas").await;
    assert_eq!(list.status, StatusCode::OK);
    let warning = &list.body[list.body.find("alert warn").unwrap()..];
    let warning = &warning[..warning.find("</div>").unwrap()];
    assert!(warning.contains(&number), "{warning}");
    assert!(
        warning.contains(&format!("<strong>{unlisted}</strong>")),
        "{warning}"
    );
    for name in &permitted {
        assert!(warning.contains(name.as_str()), "{warning}");
    }
    assert!(list.has_text("의견서 허용 범위 밖"));
    let en = ciso.get("/saas?lang=en").await;
    assert!(en.has_text("does not permit these security SaaS in use"));
    assert!(en.has_text("Not permitted by the letter"));

    // A product the letter names (by its first words) is permitted, and not in the warning.
    let short = permitted[0].split_whitespace().next().unwrap().to_string();
    let ok = ciso
        .post(
            "/saas",
            &[
                ("product", &short),
                ("vendor", "Vendor"),
                ("users", "보안팀"),
                ("purpose", "위협 인텔리전스"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let entry = ciso.get(&ok.location.unwrap()).await;
    assert!(!entry.has_text("alert warn"), "{}", entry.body);
    assert!(entry.has_text("<span class=\"badge ok\">허용</span>"));
    let list = ciso.get("/saas").await;
    let warning = &list.body[list.body.find("alert warn").unwrap()..];
    let warning = &warning[..warning.find("</div>").unwrap()];
    assert!(!warning.contains(&format!("<strong>{short}</strong>")));
}

/// Issue #14 item 3: the officer uploads EPSS, KEV and CVE files (with an optional detached
/// signature) on /feeds, with a progress bar; a wrong kind, a malformed file or a bad signature
/// is explained next to its field in the page's language and changes nothing.
#[tokio::test]
async fn feed_files_are_uploaded_from_the_feeds_page() {
    let app = App::demo().await;
    let officer = app.login("officer").await;
    let page = officer.get("/feeds").await;
    assert_eq!(page.status, StatusCode::OK);
    let form_at = page
        .body
        .find("<form method=\"post\" action=\"/feeds\" enctype=\"multipart/form-data\"")
        .expect("the upload form");
    let form = &page.body[form_at..];
    let form = &form[..form.find("</form>").unwrap()];
    assert!(form.contains("data-progress"));
    assert!(form.contains("<progress"));
    assert!(
        form.find("name=\"_csrf\"").unwrap() < form.find("name=\"feed_file\"").unwrap(),
        "CSRF first"
    );
    assert!(form.contains("name=\"signature_file\""));

    let imports = || count(&app, "SELECT COUNT(*) FROM feed_imports");
    let kev_rows = || count(&app, "SELECT COUNT(*) FROM kev_entries");
    let today = Utc::now().date_naive().to_string();
    let before = imports().await;
    let before_kev = kev_rows().await;

    // A KEV file: stored, the page says so.
    let file = kev(&today, &["CVE-2021-44228", "CVE-2024-3094"]);
    let ok = officer
        .post_multipart(
            "/feeds",
            &[("kind", "kev")],
            &[("feed_file", "kev.json", file.clone())],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let to = ok.location.unwrap();
    assert!(to.starts_with("/feeds?imported="), "{to}");
    assert_eq!(imports().await, before + 1);
    assert_eq!(kev_rows().await, 2);
    let done = officer.get(&to).await;
    assert!(done.has_text("반입했습니다: KEV"), "{}", done.body);
    // The same file again changes nothing and says so.
    let again = officer
        .post_multipart(
            "/feeds",
            &[("kind", "kev")],
            &[("feed_file", "kev.json", file)],
        )
        .await;
    assert!(again.location.unwrap().starts_with("/feeds?unchanged="));
    assert_eq!(imports().await, before + 1);

    // Signed by the regulator's key: verified and shown.
    let admin = actor(&app.svc, "admin").await;
    let signed = epss(&today, &[("CVE-2023-0001", "0.91")]);
    let sig = app
        .svc
        .sign_feed(
            &admin,
            &[FeedFile {
                name: "epss.csv".into(),
                bytes: signed.clone(),
            }],
        )
        .await
        .unwrap();
    let ok = officer
        .post_multipart(
            "/feeds",
            &[("kind", "epss")],
            &[
                ("feed_file", "epss.csv", signed.clone()),
                ("signature_file", "epss.csv.sig.json", sig.clone()),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let done = officer.get(&ok.location.unwrap()).await;
    assert!(done.has_text("서명 검증됨"));
    let stored = imports().await;

    // Refusals: each next to its field, nothing stored.
    let mut tampered = signed.clone();
    tampered.extend_from_slice(b"CVE-2023-0002,0.5,0.5\n");
    let bad_sig = officer
        .post_multipart(
            "/feeds",
            &[("kind", "epss")],
            &[
                ("feed_file", "epss.csv", tampered),
                ("signature_file", "epss.csv.sig.json", sig),
            ],
        )
        .await;
    assert_eq!(bad_sig.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad_sig.has_text("id=\"signature_file-error\""),
        "{}",
        bad_sig.body
    );
    assert!(bad_sig.has_text("서명이 공개된 금융당국 키로 검증되지 않거나"));
    let wrong_kind = officer
        .post_multipart(
            "/feeds",
            &[("kind", "epss")],
            &[("feed_file", "kev.json", kev(&today, &["CVE-2021-44228"]))],
        )
        .await;
    assert_eq!(wrong_kind.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong_kind.has_text("id=\"feed_file-error\""));
    assert!(
        wrong_kind.has_text("EPSS 파일로 읽을 수 없습니다"),
        "{}",
        wrong_kind.body
    );
    assert!(wrong_kind.has_text("<option value=\"epss\" selected>"));
    let malformed = officer
        .post_multipart(
            "/feeds?lang=en",
            &[("kind", "kev")],
            &[("feed_file", "kev.json", b"{\"vulnerabilities\": [".to_vec())],
        )
        .await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let missing = officer
        .post_multipart("/feeds", &[("kind", "cve")], &[])
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing.has_text("피드 파일을 선택하십시오"));
    assert_eq!(imports().await, stored);
    assert_eq!(kev_rows().await, 2);
    let _ = before_kev;

    // English, and the roles that may not import feeds.
    let en = officer.get("/feeds?lang=en").await;
    assert!(en.has_text("Import a feed file") && !en.has_text("피드 파일 반입"));
    let staff = app.login("staff.hanbit").await;
    assert!(!staff.get("/feeds").await.has_text("action=\"/feeds\""));
    let refused = staff
        .post_multipart(
            "/feeds",
            &[("kind", "kev")],
            &[("feed_file", "kev.json", kev(&today, &["CVE-2021-44228"]))],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(imports().await, stored);
}

/// A feed file over the upload limit is refused next to the file field (413), naming the CLI
/// and the API for larger files, and nothing is imported.
#[tokio::test]
async fn an_over_size_feed_file_is_refused_next_to_its_field() {
    let app = App::demo_with(haechi_service::ServiceConfig {
        max_import_bytes: 4096,
        ..haechi_service::ServiceConfig::default()
    })
    .await;
    let before = count(&app, "SELECT COUNT(*) FROM feed_imports").await;
    let officer = app.login("officer").await;
    let rows: Vec<(String, String)> = (0..400)
        .map(|i| (format!("CVE-2024-{:05}", 10_000 + i), "0.5".to_string()))
        .collect();
    let refs: Vec<(&str, &str)> = rows.iter().map(|(c, e)| (c.as_str(), e.as_str())).collect();
    let big = epss(&Utc::now().date_naive().to_string(), &refs);
    assert!(big.len() > 8192);
    let page = officer
        .post_multipart(
            "/feeds",
            &[("kind", "epss")],
            &[("feed_file", "epss.csv", big)],
        )
        .await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", page.body);
    assert!(page.has_text("id=\"feed_file-error\""));
    assert!(page.has_text("haechi feeds import"));
    assert!(!page.has_text("haechi findings import"));
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM feed_imports").await,
        before
    );
}
