//! The officer's actions on a no-action letter in the portal (issue #14 items 1, 9, 10, 20):
//! revoke with a reason, renew within the policy's window (the renewal starts when the renewed
//! letter ends), issue the drafted renewal, hand the holder over to the full-removal track, each
//! behind a confirmation step and refused next to its form; the printed schedule lists every
//! obligation issuing created; the print page and the PDF carry the verification address; the
//! public verification page is in the portal's stylesheet and accepts the PDF.

use chrono::{NaiveDate, NaiveDateTime};

use super::registry::{institution_id, scalar};
use super::*;

fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap()
}

async fn text(app: &App, sql: &str) -> String {
    sqlx::query_scalar::<_, String>(sql)
        .fetch_one(app.svc.store().pool())
        .await
        .unwrap()
}

/// The hanbit bank's issued letter (its CISO is a demo login), with its end of validity.
async fn hanbit_letter(app: &App) -> (i64, NaiveDate) {
    let hanbit = institution_id(app, "BNK-001").await;
    let id = scalar(
        app,
        &format!(
            "SELECT MAX(id) FROM letters WHERE institution_id = {hanbit} AND state = 'issued'"
        ),
    )
    .await;
    let until = text(
        app,
        &format!("SELECT valid_until FROM letters WHERE id = {id}"),
    )
    .await;
    (id, NaiveDate::parse_from_str(&until, "%Y-%m-%d").unwrap())
}

/// The rows of the letter's printed reporting schedule, and of its obligations table.
fn schedule_rows(page: &Page) -> (usize, usize) {
    let count = |from: &str| {
        let start = page.body.find(from).unwrap_or_else(|| panic!("no {from}"));
        let body = &page.body[start..];
        let end = body.find("</tbody>").unwrap();
        body[..end].matches("<tr>").count() - 1 // the header row
    };
    (count(">보고 일정</h3>"), count(">보고 의무</h2>"))
}

#[tokio::test]
async fn officer_revokes_renews_issues_and_hands_over_from_the_letter_page() {
    let app = App::demo().await;
    let (id, until) = hanbit_letter(&app).await;
    let letters_before = scalar(&app, "SELECT COUNT(*) FROM letters").await;
    let s = app.login("officer").await;

    // The actions are there for the officer, each behind a confirmation step (a <details>).
    let page = s.get(&format!("/letters/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    for (summary, action) in [
        ("취소…", "revoke"),
        ("갱신…", "renew"),
        ("완전 해제 검토로 넘기기…", "hand-over"),
    ] {
        assert!(page.has_text(summary), "no {summary}");
        assert!(page.has_text(&format!("action=\"/letters/{id}/{action}\"")));
    }
    assert!(
        page.has_text("<details class=\"confirm\" id=\"revoke\">"),
        "closed until opened"
    );
    // Not for the holder, nor for an auditor (read-only).
    for who in ["ciso.hanbit", "auditor"] {
        let other = app.login(who).await.get(&format!("/letters/{id}")).await;
        assert_eq!(other.status, StatusCode::OK, "{who}");
        assert!(!other.has_text("letter-actions"), "{who} sees the actions");
    }

    // Revoking without a reason: refused next to the field, in the page's language; the form
    // stays open; nothing changes.
    let bad = s
        .post(&format!("/letters/{id}/revoke"), &[("reason", "  ")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.has_text("<details class=\"confirm\" id=\"revoke\" open>"));
    assert!(bad.has_text("id=\"reason-error\""));
    assert!(bad.has_text("취소 사유를 5자 이상 적으십시오"));
    assert!(!bad.has_text("say why the letter is revoked"));
    let bad_en = s
        .post(
            &format!("/letters/{id}/revoke?lang=en"),
            &[("reason", "no")],
        )
        .await;
    assert!(
        bad_en.has_text("Give the reason for revoking"),
        "{}",
        bad_en.body
    );
    assert_eq!(
        text(&app, &format!("SELECT state FROM letters WHERE id = {id}")).await,
        "issued"
    );

    // Renewing before the policy's window (90 days before the end): refused with the day it opens.
    app.svc.set_clock(Some(at(2026, 11, 25)));
    let opens = until - chrono::Duration::days(90);
    let early = s.post(&format!("/letters/{id}/renew"), &[]).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert!(
        early.has_text(&format!("갱신은 만료 90일 전인 {opens}부터 가능합니다")),
        "{}",
        early.body
    );
    assert!(early.has_text("<details class=\"confirm\" id=\"renew\" open>"));
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM letters").await,
        letters_before
    );

    // Inside the window: a draft renewal, shown for review with the validity that follows on.
    app.svc.set_clock(Some(at(2027, 4, 1)));
    let done = s.post(&format!("/letters/{id}/renew"), &[]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let draft_path = done.location.clone().unwrap();
    assert!(draft_path.ends_with("?done=renewed"), "{draft_path}");
    let draft_id = scalar(
        &app,
        &format!("SELECT id FROM letters WHERE renews_letter_id = {id}"),
    )
    .await;
    let draft = s.get(&draft_path).await;
    assert!(draft.has_text("갱신 초안을 작성했습니다"));
    assert!(draft.has_text("발급…"));
    let starts = until + chrono::Duration::days(1);
    assert!(draft.has_text(&format!("{starts} – ")), "{}", draft.body);
    // The original now links to its renewal and offers no second one.
    let original = s.get(&format!("/letters/{id}")).await;
    assert!(original.has_text(&format!("href=\"/letters/{draft_id}\"")));
    assert!(!original.has_text("갱신…"));

    // Issued: valid from the day after the renewed letter ends (not yet in force today).
    let issued = s.post(&format!("/letters/{draft_id}/issue"), &[]).await;
    assert_eq!(issued.status, StatusCode::SEE_OTHER, "{}", issued.body);
    let page = s.get(issued.location.as_deref().unwrap()).await;
    assert!(page.has_text("서명하여 발급했습니다"));
    assert!(page.has_text("효력 발생 전"), "{}", page.body);
    assert_eq!(
        text(
            &app,
            &format!("SELECT valid_until FROM letters WHERE id = {draft_id}")
        )
        .await,
        (starts + chrono::Months::new(12) - chrono::Duration::days(1)).to_string()
    );
    // Item 10: the printed schedule lists every obligation issuing created, SaaS included.
    let (printed, created) = schedule_rows(&page);
    assert_eq!(
        created as i64,
        scalar(
            &app,
            &format!("SELECT COUNT(*) FROM obligations WHERE letter_id = {draft_id}")
        )
        .await
    );
    assert_eq!(printed, created);
    let printed_part = &page.body
        [page.body.find(">보고 일정</h3>").unwrap()..page.body.find(">근거</h3>").unwrap()];
    assert_eq!(
        printed_part.matches("SaaS 자체 점검").count(),
        2,
        "{printed_part}"
    );
    // Issuing twice is refused in words.
    let again = s.post(&format!("/letters/{draft_id}/issue"), &[]).await;
    assert!(!again.has_text("letter-actions") || again.status == StatusCode::CONFLICT);

    // Revoked with a reason: the reason is on the page and verification answers "revoked".
    let reason = "보고 의무를 두 차례 이행하지 않음";
    let revoked = s
        .post(&format!("/letters/{id}/revoke"), &[("reason", reason)])
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    let page = s.get(revoked.location.as_deref().unwrap()).await;
    assert!(page.has_text("의견서를 취소했습니다"));
    assert!(page.has_text(reason));
    assert!(
        !page.has_text("letter-actions"),
        "a revoked letter has no more actions"
    );
    let number = text(
        &app,
        &format!("SELECT letter_number FROM letters WHERE id = {id}"),
    )
    .await;
    let check = app
        .anonymous()
        .get(&format!("/verify?number={number}"))
        .await;
    assert!(check.has_text("data-outcome=\"revoked\""), "{}", check.body);
    assert!(check.has_text("취소된 의견서입니다"));
    // In Korean, with the reason, not the engine's English sentence.
    assert!(
        check.has_text(&format!("취소 사유: {reason}")),
        "{}",
        check.body
    );
    assert!(!check.has_text("revoked with effect"));

    // Handing over (the renewal's holder): a reason is required, then it is on record.
    let empty = s
        .post(&format!("/letters/{draft_id}/hand-over"), &[("note", "")])
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.has_text("넘기는 사유를 적으십시오"));
    let handed = s
        .post(
            &format!("/letters/{draft_id}/hand-over"),
            &[("note", "고도화 역량 입증")],
        )
        .await;
    assert_eq!(handed.status, StatusCode::SEE_OTHER, "{}", handed.body);
    let page = s.get(handed.location.as_deref().unwrap()).await;
    assert!(page.has_text("완전 해제 검토 대상으로 넘겼습니다"));
    assert!(page.has_text("고도화 역량 입증"));
    assert!(!page.has_text("완전 해제 검토로 넘기기…"));

    // The holder's CISO may not act, whatever the page shows: the service refuses.
    let ciso = app.login("ciso.hanbit").await;
    let refused = ciso
        .post(
            &format!("/letters/{draft_id}/revoke"),
            &[("reason", "not mine to do")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    app.svc.set_clock(None);
}

#[tokio::test]
async fn every_demo_letter_prints_the_obligations_it_created() {
    let app = App::demo().await;
    let s = app.login("officer").await;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM letters WHERE state <> 'draft'")
        .fetch_all(app.svc.store().pool())
        .await
        .unwrap();
    assert!(ids.len() >= 20);
    for id in ids {
        let page = s.get(&format!("/letters/{id}")).await;
        let (printed, created) = schedule_rows(&page);
        let stored = scalar(
            &app,
            &format!("SELECT COUNT(*) FROM obligations WHERE letter_id = {id}"),
        )
        .await;
        assert_eq!(
            (printed as i64, created as i64),
            (stored, stored),
            "letter {id}"
        );
        assert!(page.has_text("SaaS 자체 점검"), "letter {id}");
    }
}

#[tokio::test]
async fn print_page_and_pdf_carry_the_verification_address() {
    let app = App::demo().await;
    let (id, _) = hanbit_letter(&app).await;
    let number = text(
        &app,
        &format!("SELECT letter_number FROM letters WHERE id = {id}"),
    )
    .await;
    let s = app.login("ciso.hanbit").await;

    let print = s.get(&format!("/letters/{id}/print")).await;
    assert_eq!(print.status, StatusCode::OK, "{}", print.body);
    assert!(print.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(print.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    assert!(
        !print.has_text("<style"),
        "inline style is blocked by the CSP"
    );
    assert!(print.has_text("href=\"/assets/letter-print.css\""));
    assert!(print.has_text(&format!("/verify?number={number}")));
    assert!(print.has_text("<svg"), "the QR code");
    assert!(print.has_text("SaaS 자체 점검"));
    let css = app.anonymous().get("/assets/letter-print.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    // Another institution's letter is "not found".
    let foreign = scalar(
        &app,
        &format!(
            "SELECT MAX(id) FROM letters WHERE institution_id <> {} AND state = 'issued'",
            institution_id(&app, "BNK-001").await
        ),
    )
    .await;
    assert_eq!(
        s.get(&format!("/letters/{foreign}/print")).await.status,
        StatusCode::NOT_FOUND
    );

    // The PDF carries its number where the verification page finds it.
    let pdf = s.get(&format!("/letters/{id}/pdf")).await;
    assert_eq!(pdf.status, StatusCode::OK);
    // (The test client reads bodies as text: the ASCII parts of the PDF survive.)
    let bytes = pdf.body.as_bytes().to_vec();
    assert_eq!(
        haechi_letter::letter_number_of_pdf(&bytes).as_deref(),
        Some(number.as_str())
    );
}

#[tokio::test]
async fn verify_page_uses_the_portal_stylesheet_and_accepts_the_pdf() {
    let app = App::demo().await;
    let (id, _) = hanbit_letter(&app).await;
    let number = text(
        &app,
        &format!("SELECT letter_number FROM letters WHERE id = {id}"),
    )
    .await;
    let visitor = app.anonymous();

    let page = visitor.get("/verify").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.has_text("<style"), "the CSP blocks inline style");
    assert!(page.has_text("href=\"/assets/haechi.css\""));
    assert!(
        page.has_text("서명된 파일(JSON)"),
        "says which file is the signed original"
    );
    assert!(!page.has_text("철회"), "one word for revocation: 취소");
    let en = visitor.get("/verify?lang=en").await;
    assert!(en.has_text("Signed file (JSON)") && !en.has_text("서명된 파일"));

    // The address a PDF and its QR code carry answers at once.
    let by_url = visitor.get(&format!("/verify?number={number}")).await;
    assert!(by_url.has_text("data-outcome=\"valid\""), "{}", by_url.body);
    assert!(by_url.has_text(&number));

    // A PDF upload is checked by the number it carries, and says the PDF is not the signed file.
    let s = app.login("officer").await;
    let pdf = s.get(&format!("/letters/{id}/pdf")).await;
    let resp = visitor
        .post_multipart_raw(
            "/verify",
            None,
            &[],
            &[("file", "letter.pdf", pdf.body.into_bytes())],
        )
        .await;
    assert!(resp.has_text("data-checked=\"pdf\""), "{}", resp.body);
    assert!(resp.has_text("data-outcome=\"valid\""));
    assert!(resp.has_text("PDF에는 서명이 없어"));
    // A PDF from elsewhere: told exactly which file to use.
    let other = visitor
        .post_multipart_raw(
            "/verify",
            None,
            &[],
            &[("file", "x.pdf", b"%PDF-1.7\n%nothing".to_vec())],
        )
        .await;
    assert!(
        other.has_text("data-outcome=\"unreadable_pdf\""),
        "{}",
        other.body
    );
    assert!(other.has_text("서명된 파일(JSON)"));
}
