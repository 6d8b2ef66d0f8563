//! The institution registry (C1) and eligibility screening (C2) pages: list with search, filters
//! and pagination; the CSV import (all or nothing, with a per-row error report) and export; the
//! detail page with the latest screening's reasons and the figure history; the screening results
//! and the "run screening" button; who may open each.

use super::*;

pub async fn scalar(app: &App, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap()
}

pub async fn institution_id(app: &App, code: &str) -> i64 {
    scalar(
        app,
        &format!("SELECT id FROM institutions WHERE code = '{code}'"),
    )
    .await
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

/// The number of body rows of the page's first table.
pub fn table_rows(page: &Page) -> usize {
    let Some(start) = page.body.find("<tbody>") else {
        return 0;
    };
    let end = page.body[start..].find("</tbody>").unwrap() + start;
    page.body[start..end].matches("<tr>").count()
}

#[tokio::test]
async fn registry_lists_searches_filters_and_paginates() {
    let app = App::demo().await;
    let s = app.login("officer").await;

    let ko = s.get("/institutions").await;
    assert_eq!(ko.status, StatusCode::OK, "{}", ko.body);
    assert!(ko.has_text("<h1>기관 등록부</h1>"));
    assert!(ko.has_text("aria-current=\"page\""));
    let total = scalar(&app, "SELECT COUNT(*) FROM institutions").await;
    assert!(total > 50, "the demo registry fills more than one page");
    assert!(ko.has_text(&format!("<strong>{total}</strong>")));
    assert_eq!(table_rows(&ko), 50);
    assert!(ko.has_text("rel=\"next\" href=\"/institutions?page=2\""));
    assert!(!ko.has_text("rel=\"prev\""));

    let en = s.get("/institutions?lang=en").await;
    assert_eq!(en.status, StatusCode::OK);
    assert!(en.has_text("<h1>Institution registry</h1>"));
    assert!(en.has_text("Total assets (KRW bn)"));

    // Page 2 goes on where page 1 stopped, and links back.
    let p2 = s.get("/institutions?page=2").await;
    assert_eq!(p2.status, StatusCode::OK);
    assert!(p2.has_text("rel=\"prev\" href=\"/institutions?page=1\""));
    let last = (total as usize).div_ceil(50);
    let tail = s.get(&format!("/institutions?page={last}")).await;
    assert_eq!(table_rows(&tail), total as usize - (last - 1) * 50);
    assert!(!tail.has_text("rel=\"next\""));

    // Search by code finds exactly that institution.
    let one = s.get("/institutions?q=bnk-001").await;
    let hanbit = haechi_store::get_institution_by_code(app.svc.store().pool(), "BNK-001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(table_rows(&one), 1);
    assert!(one.has_text(&hanbit.input.name_ko));
    assert!(one.has_text("<strong>1</strong>"));

    // Sector filter: only card companies.
    let cards = s.get("/institutions?sector=card").await;
    let n_cards = scalar(
        &app,
        "SELECT COUNT(*) FROM institutions WHERE sector = 'card'",
    )
    .await;
    assert!(n_cards > 0);
    assert_eq!(table_rows(&cards) as i64, n_cards.min(50));
    assert!(!cards.has_text(&hanbit.input.name_ko));
    assert!(cards.has_text("<option value=\"card\" selected>"));

    // Size class filter.
    let small = s.get("/institutions?size=small").await;
    let n_small = scalar(
        &app,
        "SELECT COUNT(*) FROM institutions WHERE size_class = 'small'",
    )
    .await;
    assert!(small.has_text(&format!("<strong>{n_small}</strong>")));

    // Eligibility filter: the demo's 49, and the rest; the pager keeps the filter.
    let yes = s.get("/institutions?eligible=yes").await;
    assert!(yes.has_text("<strong>49</strong>"), "{}", yes.body);
    assert!(!yes.has_text("badge bad"));
    let no = s.get("/institutions?eligible=no").await;
    assert!(no.has_text(&format!("<strong>{}</strong>", total - 49)));
    assert!(!no.has_text("badge ok"));
    assert!(no.has_text("href=\"/institutions?eligible=no&amp;page=2\""));

    // Nothing matches: a clear message, no table.
    let none = s.get("/institutions?q=no-such-institution-xyz").await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.has_text("조건에 맞는 기관이 없습니다"));
    assert_eq!(table_rows(&none), 0);

    // Nonsense parameters are ignored rather than failing.
    let odd = s
        .get("/institutions?page=abc&sector=nope&eligible=maybe")
        .await;
    assert_eq!(odd.status, StatusCode::OK);
    assert_eq!(table_rows(&odd), 50);
}

#[tokio::test]
async fn registry_is_closed_to_institutions_and_advisors() {
    let app = App::demo().await;
    for user in ["ciso.hanbit", "staff.saebom", "advisor1"] {
        let s = app.login(user).await;
        for path in ["/institutions", "/screening", "/institutions/export.csv"] {
            let page = s.get(path).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{user} {path}");
            assert!(page.has_text("role=\"alert\""));
        }
    }
    // Read-only regulator roles see the registry but not the import.
    for user in ["analyst", "support", "auditor"] {
        let s = app.login(user).await;
        let list = s.get("/institutions").await;
        assert_eq!(list.status, StatusCode::OK, "{user}");
        assert!(!list.has_text("href=\"/institutions/import\""), "{user}");
        assert_eq!(
            s.get("/institutions/import").await.status,
            StatusCode::FORBIDDEN,
            "{user}"
        );
    }
}

#[tokio::test]
async fn detail_shows_fields_screening_reasons_and_tenancy() {
    let app = App::demo().await;
    let hanbit = institution_id(&app, "BNK-001").await;
    let saebom = institution_id(&app, "INS-001").await;
    let inst = haechi_store::get_institution(app.svc.store().pool(), hanbit)
        .await
        .unwrap()
        .unwrap();

    let s = app.login("officer").await;
    let page = s.get(&format!("/institutions/{hanbit}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_text("BNK-001"));
    assert!(page.has_text(&inst.input.name_en));
    assert!(page.has_text("최근 적격성 심사"));
    // Every rule with its label, the value seen and the result.
    assert!(page.has_text("총자산 10조 원 이상"));
    assert!(page.has_text("상시 종업원 1,000명 이상"));
    assert!(page.has_text(&haechi_web_thousands(inst.input.full_time_employees)));
    assert!(page.has_text("정책 버전 1"));
    assert!(page.has_text("수치 변경 이력"));
    let en = s.get(&format!("/institutions/{hanbit}?lang=en")).await;
    assert!(en.has_text("Latest eligibility screening"));
    assert!(en.has_text("Total assets of at least KRW 10 trillion"));
    assert!(en.has_text("Figure history"));

    // Unknown and malformed ids: the not-found page.
    assert_eq!(
        s.get("/institutions/999999").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.get("/institutions/abc").await.status,
        StatusCode::NOT_FOUND
    );

    // An institution's CISO sees their own record and not another's (not found, not forbidden).
    let ciso = app.login("ciso.hanbit").await;
    assert_eq!(
        ciso.get(&format!("/institutions/{hanbit}")).await.status,
        StatusCode::OK
    );
    let foreign = ciso.get(&format!("/institutions/{saebom}")).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert!(!foreign.has_text("INS-001"));
    // An advisor sees no institution.
    let adv = app.login("advisor1").await;
    assert_eq!(
        adv.get(&format!("/institutions/{hanbit}")).await.status,
        StatusCode::FORBIDDEN
    );
}

/// `1234` → `1,234` (as the pages print numbers).
pub fn haechi_web_thousands(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[tokio::test]
async fn import_with_a_bad_row_reports_row_and_column_and_stores_nothing() {
    let app = App::demo().await;
    let before = scalar(&app, "SELECT COUNT(*) FROM institutions").await;
    let s = app.login("officer").await;
    let audit_before = scalar(&app, "SELECT COUNT(*) FROM audit_log").await;

    let form = s.get("/institutions/import").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.has_text("enctype=\"multipart/form-data\""));
    assert!(form.has_text("<label for=\"file\">"));

    let page = s
        .post_multipart(
            "/institutions/import",
            &[],
            &[(
                "file",
                "registry_bad_row.csv",
                fixture("registry_bad_row.csv"),
            )],
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.has_text("아무것도 저장하지 않았습니다"));
    assert!(page.has_text("role=\"alert\""));
    // The report names the row (line 3 of the file), the column and what is wrong.
    assert!(page.has_text("<td class=\"num\">3</td>"), "{}", page.body);
    assert!(page.has_text("<code>total_assets_krw</code>"));
    assert!(
        page.has_text("&#39;lots-of-won&#39; is not a whole number")
            || page.has_text("'lots-of-won' is not a whole number")
    );

    // All or nothing: the valid first row was not stored either.
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM institutions").await,
        before
    );
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM institutions WHERE code IN ('TST-911', 'TST-912')"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM audit_log").await,
        audit_before
    );

    // A post without a file: the message sits next to the file control.
    let empty = s.post_multipart("/institutions/import", &[], &[]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.has_text("id=\"file-error\""));
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM institutions").await,
        before
    );
}

#[tokio::test]
async fn import_is_refused_without_csrf_or_the_right_role() {
    let app = App::demo().await;
    let before = scalar(&app, "SELECT COUNT(*) FROM institutions").await;
    let good = fixture("registry_new.csv");

    let officer = app.login("officer").await;
    let no_csrf = officer
        .post_multipart_raw(
            "/institutions/import",
            None,
            &[],
            &[("file", "r.csv", good.clone())],
        )
        .await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);

    for user in ["analyst", "auditor", "ciso.hanbit"] {
        let s = app.login(user).await;
        let page = s
            .post_multipart(
                "/institutions/import",
                &[],
                &[("file", "r.csv", good.clone())],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{user}");
    }
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM institutions").await,
        before
    );
}

#[tokio::test]
async fn import_creates_and_updates_and_history_shows_on_the_detail_page() {
    let app = App::demo().await;
    let before = scalar(&app, "SELECT COUNT(*) FROM institutions").await;
    let s = app.login("officer").await;

    let done = s
        .post_multipart(
            "/institutions/import",
            &[],
            &[("file", "registry_new.csv", fixture("registry_new.csv"))],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let location = done.location.unwrap();
    assert!(
        location.starts_with("/institutions/import?rows="),
        "{location}"
    );
    let report = s.get(&location).await;
    assert!(report.has_text("가져오기를 마쳤습니다"));
    let created = scalar(&app, "SELECT COUNT(*) FROM institutions").await - before;
    assert!(created > 0);
    assert!(report.has_text(&format!("신규 {created}")));
    assert!(
        haechi_store::get_institution_by_code(app.svc.store().pool(), "TST-901")
            .await
            .unwrap()
            .is_some()
    );

    // Export, change one institution's staff figure, import again: the detail page shows the
    // change in the figure history.
    let export = s.get("/institutions/export.csv").await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(export.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let mut lines: Vec<String> = export.body.lines().map(str::to_string).collect();
    let header_line = lines[0].clone();
    let cols: Vec<&str> = header_line.split(',').collect();
    let fte = cols
        .iter()
        .position(|c| *c == "full_time_employees")
        .unwrap();
    let row = lines
        .iter()
        .position(|l| l.starts_with("TST-901,"))
        .unwrap();
    let mut fields: Vec<String> = lines[row].split(',').map(str::to_string).collect();
    let old = fields[fte].clone();
    fields[fte] = "4321".into();
    lines[row] = fields.join(",");
    let csv = format!("{header_line}\n{}\n", lines[row]);
    let again = s
        .post_multipart(
            "/institutions/import",
            &[],
            &[("file", "u.csv", csv.into_bytes())],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let id = institution_id(&app, "TST-901").await;
    let detail = s.get(&format!("/institutions/{id}")).await;
    assert!(detail.has_text("상시 종업원 수"));
    assert!(detail.has_text("4,321"));
    assert!(detail.has_text(&format!(">{}<", haechi_web_thousands(old.parse().unwrap()))));
    assert!(detail.has_text("officer"));
}

#[tokio::test]
async fn screening_shows_every_rule_and_runs_for_officers_only() {
    let app = App::demo().await;
    let institutions = scalar(&app, "SELECT COUNT(*) FROM institutions").await;

    let s = app.login("officer").await;
    let page = s.get("/screening").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_text("<h1>적격성 심사 결과</h1>"));
    assert!(page.has_text("총자산 10조 원 이상"));
    assert!(page.has_text("전담 정보보호최고책임자(CISO) 지정"));
    assert!(page.has_text("<span class=\"figure\">49</span>"));
    assert!(page.has_text("v1"));
    assert!(page.has_text("action=\"/screening/run\""));
    assert_eq!(table_rows(&page), 50);
    assert!(page.has_text("rel=\"next\" href=\"/screening?page=2\""));
    let en = s.get("/screening?lang=en").await;
    assert!(en.has_text("<h1>Eligibility screening</h1>"));
    assert!(en.has_text("At least 1,000 full-time employees"));

    // Filters: eligible ones only (no failed rule badge can show), then the others.
    let yes = s.get("/screening?eligible=yes").await;
    assert_eq!(table_rows(&yes), 49);
    assert!(!yes.has_text("badge bad"));
    assert!(!yes.has_text("rel=\"next\""));
    let no = s.get("/screening?eligible=no&lang=en").await;
    assert!(no.has_text("Not met"));
    assert!(no.has_text("href=\"/screening?eligible=no&amp;lang=en&amp;page=2\""));

    // Running screening records a decision for every institution and says so.
    let decisions = scalar(&app, "SELECT COUNT(*) FROM eligibility_decisions").await;
    let ran = s.post("/screening/run", &[]).await;
    assert_eq!(ran.status, StatusCode::SEE_OTHER);
    assert_eq!(ran.location.as_deref(), Some("/screening?ran=1"));
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM eligibility_decisions").await,
        decisions + institutions
    );
    assert!(s
        .get("/screening?ran=1")
        .await
        .has_text("심사를 마쳤습니다"));

    // One institution, from its detail page: one new decision, back to that page.
    let hanbit = institution_id(&app, "BNK-001").await;
    let detail = s.get(&format!("/institutions/{hanbit}")).await;
    assert!(detail.has_text(&format!("name=\"institution_id\" value=\"{hanbit}\"")));
    let decisions = scalar(&app, "SELECT COUNT(*) FROM eligibility_decisions").await;
    let own = format!("SELECT COUNT(*) FROM eligibility_decisions WHERE institution_id = {hanbit}");
    let own_before = scalar(&app, &own).await;
    let ran = s
        .post("/screening/run", &[("institution_id", &hanbit.to_string())])
        .await;
    assert_eq!(ran.status, StatusCode::SEE_OTHER);
    assert_eq!(
        ran.location.as_deref(),
        Some(format!("/institutions/{hanbit}?screened=1").as_str())
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM eligibility_decisions").await,
        decisions + 1
    );
    assert_eq!(scalar(&app, &own).await, own_before + 1);
    assert!(s
        .get(&format!("/institutions/{hanbit}?screened=1"))
        .await
        .has_text("현재 정책으로 다시 심사했습니다"));

    // Read-only roles see the results but no button, and a forged post changes nothing.
    let decisions = scalar(&app, "SELECT COUNT(*) FROM eligibility_decisions").await;
    for user in ["analyst", "auditor"] {
        let r = app.login(user).await;
        let page = r.get("/screening").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.has_text("action=\"/screening/run\""));
        assert_eq!(
            r.post("/screening/run", &[]).await.status,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        s.post_without_csrf("/screening/run", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM eligibility_decisions").await,
        decisions
    );
}

/// Issue #14 item 11: a report returned for correction and past its due date is overdue on the
/// CISO's dashboard, on the letter's page and in the officer's list, counted by one rule.
#[tokio::test]
async fn a_returned_report_past_its_due_date_is_overdue_everywhere() {
    let app = App::demo().await;
    let hanbit = institution_id(&app, "BNK-001").await;
    let pool = app.svc.store().pool();
    let (oid, letter_id, due): (i64, i64, String) = sqlx::query_as(&format!(
        "SELECT id, letter_id, due_on FROM obligations WHERE institution_id = {hanbit} AND kind = 'quarterly_report' ORDER BY due_on LIMIT 1"
    ))
    .fetch_one(pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE obligations SET status = 'returned', note = '보완 요청 사유' WHERE id = $1",
    )
    .bind(oid)
    .execute(pool)
    .await
    .unwrap();
    let due_day = chrono::NaiveDate::parse_from_str(&due, "%Y-%m-%d").unwrap();
    let today = due_day + chrono::Duration::days(44);
    app.svc.set_clock(Some(today.and_hms_opt(9, 0, 0).unwrap()));
    let expected = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM obligations WHERE institution_id = {hanbit} AND status IN ('open', 'returned') AND due_on < '{today}'"),
    )
    .await;
    assert!(expected >= 1);

    let ciso = app.login("ciso.hanbit").await;
    let home = ciso.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        home.has_text(&format!(
            "<span class=\"figure\">{expected}</span><span class=\"label\">기한 경과 의무</span>"
        )),
        "{}",
        home.body
    );
    // The returned one says both: returned, and overdue.
    let letter = ciso.get(&format!("/letters/{letter_id}")).await;
    let row_start = letter.body.find("보완 요청 사유").unwrap();
    let row = &letter.body[letter.body[..row_start].rfind("<tr>").unwrap()..row_start];
    assert!(row.contains("보완 요청"), "{row}");
    assert!(row.contains("기한 경과"), "{row}");

    // The officer's list carries it too.
    let officer = app.login("officer").await;
    let dash = officer.get("/").await;
    let start = dash.body.find("id=\"overdue-h\"").unwrap();
    let end = dash.body[start..].find("</section>").unwrap() + start;
    assert!(
        dash.body[start..end].contains(&due),
        "{}",
        &dash.body[start..end]
    );
}

/// Spreadsheet formula injection (OWASP): an exported cell that begins with `=`, `+`, `-` or
/// `@` is written with a leading `'` so a spreadsheet shows it as text, and importing the export
/// back gives the same values.
#[tokio::test]
async fn export_escapes_formula_cells_and_imports_back_unchanged() {
    let app = App::demo().await;
    let s = app.login("officer").await;
    let header = "code,name_ko,name_en,sector,total_assets_krw,assets_as_of,full_time_employees,employees_as_of,dedicated_ciso,ciso_name,size_class,contact_name,contact_email,contact_phone";
    let csv = format!(
        "{header}\nTST-931,수식시험,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",fintech,120000000000,2025-12-31,85,2025-12-31,false,,small,@SUM(A1),contact@formula.example,+82-2-0000-0931\n"
    );
    let done = s
        .post_multipart(
            "/institutions/import",
            &[],
            &[("file", "f.csv", csv.into_bytes())],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let stored = haechi_store::get_institution_by_code(app.svc.store().pool(), "TST-931")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.input.name_en,
        "=HYPERLINK(\"http://evil.example\",\"x\")"
    );
    assert_eq!(
        stored.input.contact_phone.as_deref(),
        Some("+82-2-0000-0931")
    );

    let export = s.get("/institutions/export.csv").await;
    assert_eq!(export.status, StatusCode::OK);
    let line = export
        .body
        .lines()
        .find(|l| l.starts_with("TST-931,"))
        .unwrap()
        .to_string();
    assert!(
        line.contains(",\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\","),
        "{line}"
    );
    assert!(line.contains(",'@SUM(A1),"), "{line}");
    assert!(line.ends_with(",'+82-2-0000-0931"), "{line}");
    for cell in line.split(',') {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "{cell} in {line}"
        );
    }

    // The export imports back to the same values (the quote is not stored).
    let again = s
        .post_multipart(
            "/institutions/import",
            &[],
            &[("file", "e.csv", format!("{header}\n{line}\n").into_bytes())],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let after = haechi_store::get_institution_by_code(app.svc.store().pool(), "TST-931")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.input, stored.input);
}

/// The part of a page from the heading with `id` to the end of its section.
fn section_of<'a>(page: &'a Page, id: &str) -> &'a str {
    let start = page
        .body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let end = page.body[start..].find("</section>").unwrap() + start;
    &page.body[start..end]
}

/// Issue #14 item 4: the regulator's institution page is the whole institution — figures and
/// eligibility, applications, letters, obligations with the overdue ones marked, the compliance
/// flag (overdue reports, SaaS the letter does not permit), the SaaS register and a findings
/// summary — each linking to its records where the role may open them.
#[tokio::test]
async fn the_institution_page_shows_the_whole_institution_to_the_regulator() {
    let app = App::demo().await;
    let hanbit = institution_id(&app, "BNK-001").await;
    let today = chrono::Utc::now().date_naive().to_string();
    let s = app.login("officer").await;
    let page = s.get(&format!("/institutions/{hanbit}")).await;
    assert_eq!(page.status, StatusCode::OK);
    // Figures and eligibility stay.
    assert!(page.has_text("최근 적격성 심사"));

    let apps = sqlx::query_scalar::<_, i64>(&format!(
        "SELECT id FROM applications WHERE institution_id = {hanbit}"
    ))
    .fetch_all(app.svc.store().pool())
    .await
    .unwrap();
    assert!(!apps.is_empty());
    let section = section_of(&page, "apps-h");
    for a in &apps {
        assert!(
            section.contains(&format!("href=\"/applications/{a}\"")),
            "{section}"
        );
    }
    let letters = sqlx::query_as::<_, (i64, String)>(&format!(
        "SELECT id, letter_number FROM letters WHERE institution_id = {hanbit} AND letter_number IS NOT NULL"
    ))
    .fetch_all(app.svc.store().pool())
    .await
    .unwrap();
    assert!(!letters.is_empty());
    let section = section_of(&page, "letters-h");
    for (id, number) in &letters {
        assert!(section.contains(&format!("<a href=\"/letters/{id}\">{number}</a>")));
    }
    // Obligations: every one listed, the overdue ones marked (open or returned, past due).
    let total = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM obligations WHERE institution_id = {hanbit}"),
    )
    .await;
    let overdue = scalar(&app, &format!("SELECT COUNT(*) FROM obligations WHERE institution_id = {hanbit} AND status IN ('open', 'returned') AND due_on < '{today}'")).await;
    let section = section_of(&page, "obligations-h");
    assert_eq!(
        section.matches("<tr").count() as i64,
        total + 1,
        "{section}"
    );
    assert_eq!(
        section.matches("<tr class=\"breach\">").count() as i64,
        overdue
    );
    assert!(section.contains(&format!("기한 경과 의무: <strong>{overdue}</strong>")));
    // The SaaS register, with the one the letter does not permit, and the compliance flag.
    let product: String = sqlx::query_scalar(&format!(
        "SELECT product FROM saas_services WHERE institution_id = {hanbit} ORDER BY id LIMIT 1"
    ))
    .fetch_one(app.svc.store().pool())
    .await
    .unwrap();
    let section = section_of(&page, "saas-h");
    assert!(section.contains(&product));
    assert!(section.contains("의견서 허용 범위 밖"));
    assert!(
        !section.contains("href=\"/saas/"),
        "the officer cannot open the register's entries"
    );
    let flag = &page.body[page.body.find("id=\"compliance-flag\"").unwrap()..];
    let flag = &flag[..flag.find("</div>").unwrap()];
    assert!(flag.contains("허용하지 않은 보안 SaaS"), "{flag}");
    assert!(flag.contains(&product));
    if overdue > 0 {
        assert!(
            flag.contains(&format!("기한이 지난 미제출 의무 {overdue}건")),
            "{flag}"
        );
    }
    // The findings summary: counts only, consistent with the store.
    let all = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM finding_priorities WHERE institution_id = {hanbit}"),
    )
    .await;
    let p1 = scalar(&app, &format!("SELECT COUNT(*) FROM finding_priorities WHERE institution_id = {hanbit} AND priority = 'P1' AND status IN ('open', 'in_progress')")).await;
    let breached = scalar(&app, &format!("SELECT COUNT(*) FROM finding_priorities WHERE institution_id = {hanbit} AND status IN ('open', 'in_progress') AND due_date < '{today}'")).await;
    assert!(all > 0);
    let section = section_of(&page, "findings-h");
    let card = |n: i64, label: &str| {
        format!(
            "<span class=\"figure\">{}</span><span class=\"label\">{label}</span>",
            haechi_web_thousands(n)
        )
    };
    assert!(section.contains(&card(all, "전체 취약점")), "{section}");
    assert!(section.contains(&card(p1, "미조치 P1")));
    assert!(section.contains(&card(breached, "조치 기한 초과")));
    assert!(
        !section.contains("href=\"/findings"),
        "the officer reads no findings list"
    );

    let en = s.get(&format!("/institutions/{hanbit}?lang=en")).await;
    assert!(en.has_text("Findings summary") && en.has_text("Compliance flag"));
    assert!(en.has_text("security SaaS not permitted by letter"));
    assert!(!en.has_text("취약점 요약"));

    // The auditor reads the findings behind the summary; an analyst sees no applications.
    let auditor = app.login("auditor").await;
    let page = auditor.get(&format!("/institutions/{hanbit}")).await;
    assert!(section_of(&page, "findings-h")
        .contains(&format!("href=\"/findings?institution={hanbit}\"")));
    assert!(section_of(&page, "saas-h").contains("href=\"/saas/"));
    let analyst = app.login("analyst").await;
    let page = analyst.get(&format!("/institutions/{hanbit}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.has_text("id=\"apps-h\"") && page.has_text("id=\"findings-h\""));
    // The institution's own CISO sees its record, not the regulator's view.
    let ciso = app.login("ciso.hanbit").await;
    let own = ciso.get(&format!("/institutions/{hanbit}")).await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(!own.has_text("id=\"findings-h\"") && !own.has_text("compliance-flag"));
}

/// Issue #14 item 12, the officer's side: the dashboard lists the compliance flags — a holder
/// using a security SaaS its letter does not permit among them — each linking to the
/// institution's page.
#[tokio::test]
async fn the_officer_sees_compliance_flags_on_the_dashboard() {
    let app = App::demo().await;
    let hanbit = institution_id(&app, "BNK-001").await;
    let product: String = sqlx::query_scalar(&format!(
        "SELECT product FROM saas_services WHERE institution_id = {hanbit} ORDER BY id LIMIT 1"
    ))
    .fetch_one(app.svc.store().pool())
    .await
    .unwrap();
    let s = app.login("officer").await;
    let page = s.get("/").await;
    let flags = section_of(&page, "flags-h");
    let at = flags
        .find(&format!("<a href=\"/institutions/{hanbit}\">"))
        .unwrap_or_else(|| panic!("{flags}"));
    let item = &flags[at..];
    let item = &item[..item.find("</li>").unwrap()];
    assert!(item.contains("허용하지 않은 보안 SaaS"), "{item}");
    assert!(item.contains(&product));
    let en = s.get("/?lang=en").await;
    let flags = section_of(&en, "flags-h");
    assert!(flags.contains("security SaaS not permitted by letter"));
    assert!(!flags.contains("허용하지"));
}
