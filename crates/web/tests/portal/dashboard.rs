//! The start page for each kind of user (regulator side, institution, advisor) with the phase
//! timeline chart, and the no-action letter pages (list, detail as printed, downloads) with their
//! tenant isolation.

use chrono::{NaiveDate, NaiveDateTime};

use super::registry::{institution_id, scalar, table_rows};
use super::*;

fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap()
}

fn card(figure: i64, label: &str) -> String {
    format!("<span class=\"figure\">{figure}</span><span class=\"label\">{label}</span>")
}

async fn rows(app: &App, sql: &str) -> Vec<(i64, String)> {
    sqlx::query_as::<_, (i64, String)>(sql)
        .fetch_all(app.svc.store().pool())
        .await
        .unwrap()
}

/// The part of a page from the heading with `id` to the next section's end.
fn section<'a>(page: &'a Page, id: &str) -> &'a str {
    let start = page
        .body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let end = page.body[start..].find("</section>").unwrap() + start;
    &page.body[start..end]
}

#[tokio::test]
async fn regulator_dashboard_shows_counts_phases_and_the_timeline() {
    let app = App::demo().await;
    app.svc.set_clock(Some(at(2026, 11, 25)));
    let s = app.login("officer").await;

    let page = s.get("/").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has_text("<h1>규제특례 운영 현황</h1>"));
    assert!(page.has_text("기준일 2026-11-25"));
    assert!(page.has_text(&card(49, "적격 기관")));
    let approved = scalar(
        &app,
        "SELECT COUNT(*) FROM applications WHERE state = 'approved'",
    )
    .await;
    assert!(approved > 0);
    assert!(page.has_text(&card(approved, "승인")));
    let under_review = scalar(
        &app,
        "SELECT COUNT(*) FROM applications WHERE state = 'under_review'",
    )
    .await;
    assert!(page.has_text(&card(under_review, "전문가 평가 중")));

    // Phase progress: labels, confirmed members and letters issued per phase.
    let phases = section(&page, "phases-h");
    assert!(phases.contains("1차 (6~7월)"));
    let members = scalar(
        &app,
        "SELECT COUNT(*) FROM cohort_members WHERE phase_id = 'phase-1'",
    )
    .await;
    let issued = scalar(
        &app,
        "SELECT COUNT(*) FROM letters WHERE phase_id = 'phase-1' AND state <> 'draft'",
    )
    .await;
    assert!(
        phases.contains(&format!(
            "<td class=\"num\">{members}</td><td class=\"num\">{issued}</td>"
        )),
        "{phases}"
    );

    // The timeline: an SVG image with a caption, one thin bar per issued letter, today marked,
    // and the same figures in a table.
    let timeline = section(&page, "timeline-h");
    assert!(timeline.contains("<figure class=\"chart timeline\">"));
    assert!(timeline.contains("role=\"img\""));
    assert!(timeline.contains("<figcaption>"));
    let letters = scalar(&app, "SELECT COUNT(*) FROM letters WHERE state <> 'draft'").await;
    assert!(letters >= 25);
    assert_eq!(timeline.matches("height=\"4\"").count() as i64, letters);
    assert_eq!(
        timeline.matches("fill=\"#b42318\"").count() as i64,
        scalar(&app, "SELECT COUNT(*) FROM letters WHERE state = 'revoked'").await
    );
    assert!(timeline.contains("오늘 2026-11-25"));
    assert!(timeline.contains("<th scope=\"row\">2차 (8~9월)</th>"));

    // Overdue obligations (the demo leaves two phase-1 reports unsent), with links to letters.
    let overdue: Vec<(i64, String)> = rows(
        &app,
        "SELECT o.letter_id, l.letter_number FROM obligations o JOIN letters l ON l.id = o.letter_id WHERE o.status IN ('open', 'returned') AND o.due_on < '2026-11-25'",
    )
    .await;
    assert!(!overdue.is_empty());
    assert!(page.has_text(&card(overdue.len() as i64, "기한 경과 의무")));
    let section_overdue = section(&page, "overdue-h");
    for (id, number) in &overdue {
        assert!(section_overdue.contains(&format!("<a href=\"/letters/{id}\">{number}</a>")));
    }

    let en = s.get("/?lang=en").await;
    assert_eq!(en.status, StatusCode::OK);
    assert!(en.has_text("<h1>Program dashboard</h1>"));
    assert!(en.has_text("Phase timeline and letter validity"));
    assert!(en.has_text("Today 2026-11-25"));
    assert!(en.has_text("Phase 1 (June-July)"));
}

#[tokio::test]
async fn letters_about_to_expire_are_listed_with_links() {
    let app = App::demo().await;
    let s = app.login("officer").await;

    app.svc.set_clock(Some(at(2026, 11, 25)));
    let soon = scalar(&app, "SELECT COUNT(*) FROM letters WHERE state = 'issued' AND valid_until BETWEEN '2026-11-25' AND '2027-01-24'").await;
    assert_eq!(soon, 0);
    let page = s.get("/").await;
    assert!(section(&page, "expiring-h").contains("기간 내에 만료되는 의견서가 없습니다"));

    app.svc.set_clock(Some(at(2027, 5, 1)));
    let expiring = rows(
        &app,
        "SELECT id, letter_number FROM letters WHERE state = 'issued' AND valid_until BETWEEN '2027-05-01' AND '2027-06-30' ORDER BY valid_until",
    )
    .await;
    assert!(!expiring.is_empty());
    let page = s.get("/").await;
    let list = section(&page, "expiring-h");
    assert_eq!(list.matches("<tr>").count(), expiring.len() + 1);
    for (id, number) in &expiring {
        assert!(list.contains(&format!("<a href=\"/letters/{id}\">{number}</a>")));
    }
    // The revoked letter is not "expiring".
    let revoked = rows(
        &app,
        "SELECT id, letter_number FROM letters WHERE state = 'revoked'",
    )
    .await;
    for (_, number) in &revoked {
        assert!(!list.contains(number.as_str()));
    }
}

#[tokio::test]
async fn every_role_gets_its_own_start_page() {
    let app = App::demo().await;
    app.svc.set_clock(Some(at(2026, 11, 25)));

    // Support center and analyst: the program view, without links into letters they may not read
    // (support) — and the auditor reads it too.
    let support = app.login("support").await.get("/").await;
    assert_eq!(support.status, StatusCode::OK);
    assert!(support.has_text("<h1>규제특례 운영 현황</h1>"));
    assert!(!support.has_text("href=\"/letters/"));
    for user in ["analyst", "auditor", "admin"] {
        let page = app.login(user).await.get("/").await;
        assert_eq!(page.status, StatusCode::OK, "{user}");
        assert!(page.has_text("<svg"), "{user}");
    }

    // An institution's CISO: their institution, their letter, their obligations.
    let hanbit = institution_id(&app, "BNK-001").await;
    let name = haechi_store::get_institution(app.svc.store().pool(), hanbit)
        .await
        .unwrap()
        .unwrap()
        .input
        .name_ko;
    let own = rows(&app, &format!("SELECT id, letter_number FROM letters WHERE institution_id = {hanbit} AND state <> 'draft'")).await;
    // Saebom (the other demo login) has no letter yet: any other institution's will do.
    let other = rows(&app, &format!("SELECT id, letter_number FROM letters WHERE institution_id <> {hanbit} AND state <> 'draft'")).await;
    assert!(!own.is_empty() && !other.is_empty());
    let s = app.login("ciso.hanbit").await;
    let page = s.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_text(&format!("<h1>{name}</h1>")));
    assert!(!page.has_text("규제특례 운영 현황"));
    for (id, number) in &own {
        assert!(page.has_text(&format!("<a href=\"/letters/{id}\">{number}</a>")));
    }
    for (_, number) in &other {
        assert!(!page.has_text(number.as_str()));
    }
    for link in ["/resources", "/findings", "/queue", "/applications"] {
        assert!(page.has_text(&format!("href=\"{link}\"")), "{link}");
    }
    let en = s.get("/?lang=en").await;
    assert!(en.has_text("Upcoming report obligations"));
    assert!(en.has_text("No-action letter"));

    // An advisor: how many assigned applications wait, and the way to them.
    let advisor = scalar(&app, "SELECT id FROM users WHERE username = 'advisor1'").await;
    let pending = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM review_assignments WHERE advisor_id = {advisor} AND submitted_at IS NULL AND (conflict IS NULL OR conflict = 0)"),
    )
    .await;
    let page = app.login("advisor1").await.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_text(&card(pending, "평가 대기 신청")));
    assert!(page.has_text("href=\"/reviews\""));
    assert!(!page.has_text("<svg"));
}

// ================================================================================ letters

#[tokio::test]
async fn officer_reads_the_letter_register_and_each_letter_as_printed() {
    let app = App::demo().await;
    app.svc.set_clock(Some(at(2026, 11, 25)));
    let s = app.login("officer").await;
    let all = scalar(&app, "SELECT COUNT(*) FROM letters").await;
    assert!(all <= 50);

    let list = s.get("/letters").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.has_text("<h1>비조치의견서</h1>"));
    assert_eq!(table_rows(&list) as i64, all);
    assert!(list.has_text("FSC-NAL-2026-0001"));
    let en = s.get("/letters?lang=en").await;
    assert!(en.has_text("<h1>No-action letters</h1>"));
    assert!(en.has_text("Valid until"));

    // Filters: the revoked one, a search by number.
    let revoked = rows(
        &app,
        "SELECT id, letter_number FROM letters WHERE state = 'revoked'",
    )
    .await;
    assert_eq!(revoked.len(), 1);
    let page = s.get("/letters?status=revoked").await;
    assert_eq!(table_rows(&page), 1);
    assert!(page.has_text(&revoked[0].1));
    assert!(page.has_text("badge bad"));
    let page = s.get("/letters?q=FSC-NAL-2026-0002").await;
    assert_eq!(table_rows(&page), 1);

    // One letter, as printed, with its obligations and downloads.
    let (id, number) = rows(
        &app,
        "SELECT id, letter_number FROM letters WHERE letter_number = 'FSC-NAL-2026-0001'",
    )
    .await
    .remove(0);
    let obligations = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM obligations WHERE letter_id = {id}"),
    )
    .await;
    assert!(obligations > 0);
    let page = s.get(&format!("/letters/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_text(&number));
    assert!(page.has_text("No-Action Letter"));
    assert!(page.has_text("허용 범위"));
    assert!(page.has_text("보고 일정"));
    assert!(page.has_text("전자금융감독규정 제15조"));
    let obligation_rows = section(&page, "letter-title"); // the printed letter comes first
    assert!(obligation_rows.contains("분기 보고") || obligation_rows.contains("정기 보고"));
    assert!(page.has_text("<h2>보고 의무</h2>"));
    assert!(page.has_text(&format!("href=\"/letters/{id}/pdf\"")));
    let en = s.get(&format!("/letters/{id}?lang=en")).await;
    assert!(en.has_text("Reporting obligations"));
    assert!(en.has_text("Permitted scope"));

    let pdf = s.get(&format!("/letters/{id}/pdf")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert_eq!(pdf.headers[header::CONTENT_TYPE], "application/pdf");
    assert!(pdf.body.starts_with("%PDF"));
    let file = s.get(&format!("/letters/{id}/file")).await;
    assert_eq!(file.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&file.body).unwrap();
    assert_eq!(json["letter"]["letter_number"], number.as_str());

    // The revoked letter says when, why and by whom.
    let page = s.get(&format!("/letters/{}", revoked[0].0)).await;
    assert!(page.has_text("취소 사유"));
    assert!(page.has_text("승인 범위를 벗어난"));

    // Unknown ids.
    assert_eq!(s.get("/letters/999999").await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/letters/x").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn institutions_see_only_their_own_letters() {
    let app = App::demo().await;
    let hanbit = institution_id(&app, "BNK-001").await;
    let own = rows(&app, &format!("SELECT id, letter_number FROM letters WHERE institution_id = {hanbit} AND state <> 'draft'")).await;
    // Saebom (the other demo login) has no letter yet: any other institution's will do.
    let other = rows(&app, &format!("SELECT id, letter_number FROM letters WHERE institution_id <> {hanbit} AND state <> 'draft'")).await;

    for user in ["ciso.hanbit", "staff.hanbit"] {
        let s = app.login(user).await;
        let list = s.get("/letters").await;
        assert_eq!(list.status, StatusCode::OK, "{user}");
        assert_eq!(table_rows(&list), own.len(), "{user}");
        for (_, n) in &other {
            assert!(!list.has_text(n.as_str()), "{user}");
        }
        assert_eq!(
            s.get(&format!("/letters/{}", own[0].0)).await.status,
            StatusCode::OK
        );
        for suffix in ["", "/pdf", "/file"] {
            let page = s.get(&format!("/letters/{}{suffix}", other[0].0)).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND, "{user} {suffix}");
            assert!(!page.has_text(other[0].1.as_str()));
        }
    }
    for user in ["support", "advisor1"] {
        let s = app.login(user).await;
        assert_eq!(
            s.get("/letters").await.status,
            StatusCode::FORBIDDEN,
            "{user}"
        );
        assert_eq!(
            s.get(&format!("/letters/{}", own[0].0)).await.status,
            StatusCode::FORBIDDEN,
            "{user}"
        );
    }
}

/// A page fetched with an `Accept-Language` header, as a browser sends it.
async fn get_accepting(s: &Session, path: &str, accept: &str) -> Page {
    s.send(
        Request::get(path)
            .header(header::ACCEPT_LANGUAGE, accept)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn accept_language_decides_until_the_user_chooses_a_language() {
    let app = App::demo().await;
    let anon = app.anonymous();
    let en = get_accepting(&anon, "/login", "en-US,en;q=0.9,ko;q=0.8").await;
    assert!(en.has_text("<html lang=\"en\""), "{}", en.body);
    for accept in ["ko-KR,ko;q=0.9,en-US;q=0.8", "fr-FR,de;q=0.5", ""] {
        let ko = get_accepting(&anon, "/login", accept).await;
        assert!(ko.has_text("<html lang=\"ko\""), "{accept:?}");
    }
    // Korean preferred by weight even when listed second.
    let ko = get_accepting(&anon, "/login", "en;q=0.3, ko;q=0.9").await;
    assert!(ko.has_text("<html lang=\"ko\""));

    let officer = app.login("officer").await;
    let page = get_accepting(&officer, "/", "en-GB,en;q=0.9").await;
    assert!(page.has_text("<html lang=\"en\"") && page.has_text("Dashboard"));
    // The user's choice (the language switch's cookie) wins over the browser's.
    let switched = officer.get("/lang?to=ko&next=/").await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    let page = get_accepting(&officer, "/", "en-GB,en;q=0.9").await;
    assert!(page.has_text("<html lang=\"ko\"") && page.has_text("대시보드"));
}

#[tokio::test]
async fn field_errors_are_in_the_page_language_without_field_paths() {
    let app = App::demo().await;
    let staff = app.login("staff.hanbit").await;
    let finding: i64 = sqlx::query_scalar(
        "SELECT f.id FROM findings f JOIN users u ON u.institution_id = f.institution_id \
         WHERE u.username = 'staff.hanbit' AND f.status = 'open' ORDER BY f.id LIMIT 1",
    )
    .fetch_one(app.svc.store().pool())
    .await
    .unwrap();
    let finding = finding.to_string();
    // A time in the future: refused by the service, whose message is English.
    let form = [
        ("applied", "openssl 3.0.13"),
        ("applied_at", "2999-01-01"),
        ("applied_by", "Kim"),
        ("finding_ids", finding.as_str()),
    ];
    let ko = staff.post("/patches", &form).await;
    assert_eq!(ko.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", ko.body);
    assert!(ko.has_text("id=\"applied_at-error\""));
    assert!(
        ko.has_text("미래의 시점일 수 없습니다."),
        "the service's message in Korean: {}",
        ko.body
    );
    assert!(
        !ko.has_text("is in the future"),
        "no English on the Korean page"
    );
    assert!(
        !ko.has_text(">applied_at<") && !ko.has_text("applied_at:"),
        "no field path"
    );
    assert!(
        ko.has_text(">적용 일시</a>"),
        "the summary names the field by its label"
    );

    let en = staff.post("/patches?lang=en", &form).await;
    assert_eq!(en.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(en.has_text("is in the future"));
    assert!(!en.has_text("미래의 시점"), "no Korean on the English page");
    assert!(!en.has_text(">applied_at<") && en.has_text(">Applied at</a>"));
}

#[tokio::test]
async fn english_pages_name_institutions_and_resources_in_english() {
    let app = App::demo().await;
    // The regulator's overdue list: the registry's English names on the English page.
    let officer = app.login("officer").await;
    let en = officer.get("/?lang=en").await;
    assert_eq!(en.status, StatusCode::OK);
    let overdue = section(&en, "overdue-h");
    let names: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT i.name_ko, i.name_en FROM obligations o JOIN institutions i ON i.id = o.institution_id \
         WHERE o.status IN ('open', 'returned') AND o.due_on < $1",
    )
    .bind(app.svc.today().to_string())
    .fetch_all(app.svc.store().pool())
    .await
    .unwrap();
    assert!(!names.is_empty());
    for (ko, en_name) in &names {
        assert!(
            overdue.contains(en_name.as_str()),
            "{en_name} missing: {overdue}"
        );
        assert!(!overdue.contains(ko.as_str()), "{ko} on the English page");
    }
    let ko = officer.get("/?lang=ko").await;
    assert!(section(&ko, "overdue-h").contains(names[0].0.as_str()));

    // A resource's business function and owner in the page's language.
    let ciso = app.login("ciso.hanbit").await;
    let en = ciso.get("/resources?lang=en").await;
    assert!(en.has_text("Internet banking"), "{}", en.body);
    assert!(!en.has_text("인터넷뱅킹"));
    let ko = ciso.get("/resources").await;
    assert!(ko.has_text("인터넷뱅킹") && !ko.has_text("Internet banking"));
}

#[tokio::test]
async fn money_is_in_one_unit_style_and_ages_say_today() {
    use haechi_web::portal::{days_ago, money, Lang};
    let app = App::demo().await;
    let officer = app.login("officer").await;
    let id = institution_id(&app, "BNK-001").await;
    let krw = scalar(
        &app,
        &format!("SELECT total_assets_krw FROM institutions WHERE id = {id}"),
    )
    .await;
    let ko = officer.get(&format!("/institutions/{id}")).await;
    assert_eq!(ko.status, StatusCode::OK);
    let shown = money(Lang::Ko, krw);
    assert!(
        shown.ends_with("조 원") || shown.ends_with("억 원"),
        "{shown}"
    );
    assert!(ko.has_text(&shown), "{shown} not on the page");
    let en = officer.get(&format!("/institutions/{id}?lang=en")).await;
    assert!(en.has_text(&money(Lang::En, krw)));
    assert_eq!(days_ago(Lang::Ko, 0), "오늘");
    // The feeds the demo loaded today are "today", not "0 days ago".
    let feeds = officer.get("/feeds").await;
    assert!(feeds.has_text(">오늘<"), "{}", feeds.body);
    assert!(!feeds.has_text("0일 전"));
}
