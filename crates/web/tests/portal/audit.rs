//! The audit log page: only the regulator admin and the auditor may open it; filters narrow it,
//! newest first, paginated; the hash-chain verification is shown, and a tampered entry is
//! reported.

use super::registry::{haechi_web_thousands as thousands, institution_id, scalar};
use super::*;

/// The sequence numbers listed on a page of the log, in order.
fn seqs(page: &Page) -> Vec<i64> {
    let Some(start) = page.body.find("<tbody>") else {
        return Vec::new();
    };
    let end = page.body[start..].find("</tbody>").unwrap() + start;
    page.body[start..end]
        .split("<tr><td class=\"num\">")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().parse::<i64>().unwrap())
        .collect()
}

#[tokio::test]
async fn audit_log_is_for_admin_and_auditor_only() {
    let app = App::demo().await;
    for user in ["admin", "auditor"] {
        let s = app.login(user).await;
        let ko = s.get("/audit").await;
        assert_eq!(ko.status, StatusCode::OK, "{user}");
        assert!(ko.has_text("<h1>감사 로그</h1>"));
        assert!(ko.has_text("해시 체인 검증: 이상 없음"));
        let en = s.get("/audit?lang=en").await;
        assert!(en.has_text("<h1>Audit log</h1>"));
        assert!(en.has_text("Hash chain verified: intact"));
    }
    for user in [
        "officer",
        "analyst",
        "support",
        "advisor1",
        "ciso.hanbit",
        "staff.hanbit",
    ] {
        let s = app.login(user).await;
        let page = s.get("/audit").await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{user}");
        assert!(!page.has_text("<table class=\"audit\""), "{user}");
    }
}

#[tokio::test]
async fn audit_log_is_newest_first_and_paginated() {
    let app = App::demo().await;
    let total = scalar(&app, "SELECT COUNT(*) FROM audit_log").await;
    assert!(total > 100, "the demo writes a long log");
    let s = app.login("auditor").await;

    let first = s.get("/audit").await;
    let page1 = seqs(&first);
    assert_eq!(page1.len(), 50);
    assert!(page1.windows(2).all(|w| w[0] > w[1]), "newest first");
    // The newest entry is the auditor's own sign-in or the latest change.
    assert_eq!(
        page1[0],
        scalar(&app, "SELECT MAX(seq) FROM audit_log").await
    );
    assert!(first.has_text("rel=\"next\" href=\"/audit?page=2\""));

    let second = s.get("/audit?page=2").await;
    let page2 = seqs(&second);
    assert_eq!(page2.len(), 50);
    assert!(page2[0] < *page1.last().unwrap());
    assert!(second.has_text("rel=\"prev\" href=\"/audit?page=1\""));
}

#[tokio::test]
async fn audit_filters_narrow_the_log() {
    let app = App::demo().await;
    let s = app.login("admin").await;

    // By action: only letter issues.
    let issued = scalar(
        &app,
        "SELECT COUNT(*) FROM audit_log WHERE action = 'letter.issue'",
    )
    .await;
    assert!(issued > 0);
    let page = s.get("/audit?action=letter.issue").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(seqs(&page).len() as i64, issued.min(50));
    assert!(page.has_text("title=\"letter.issue\">의견서 발급</a>"));
    assert!(!page.has_text("title=\"institution.create\""));
    assert!(page.has_text(&format!("<strong>{}</strong>", thousands(issued))));

    // By actor.
    let by_officer = scalar(
        &app,
        "SELECT COUNT(*) FROM audit_log WHERE actor_name = 'officer'",
    )
    .await;
    let page = s.get("/audit?actor=officer").await;
    assert!(page.has_text(&format!("<strong>{}</strong>", thousands(by_officer))));

    // By institution: every entry listed is that institution's.
    let hanbit = institution_id(&app, "BNK-001").await;
    let expected: Vec<i64> = sqlx::query_scalar::<_, i64>(
        "SELECT seq FROM audit_log WHERE institution_id = $1 ORDER BY seq DESC LIMIT 50",
    )
    .bind(hanbit)
    .fetch_all(app.svc.store().pool())
    .await
    .unwrap();
    assert!(!expected.is_empty());
    let page = s.get(&format!("/audit?institution={hanbit}")).await;
    assert_eq!(seqs(&page), expected);
    assert!(page.has_text(&format!("<option value=\"{hanbit}\" selected>")));

    // By entity and id, combined with the action; the pager keeps the filters.
    let page = s
        .get(&format!("/audit?entity=institution&entity_id={hanbit}"))
        .await;
    let n = scalar(
        &app,
        &format!("SELECT COUNT(*) FROM audit_log WHERE entity = 'institution' AND entity_id = '{hanbit}'"),
    )
    .await;
    assert!(n > 0);
    assert_eq!(seqs(&page).len() as i64, n.min(50));
    let many = s.get("/audit?entity=institution").await;
    assert!(many.has_text("href=\"/audit?entity=institution&amp;page=2\""));

    // No match: a message, no table.
    let none = s.get("/audit?actor=nobody-at-all").await;
    assert!(none.has_text("조건에 맞는 기록이 없습니다"));
    assert!(seqs(&none).is_empty());
}

#[tokio::test]
async fn a_tampered_entry_is_reported() {
    let app = App::demo().await;
    sqlx::query("UPDATE audit_log SET actor_name = 'mallory' WHERE seq = 5")
        .execute(app.svc.store().pool())
        .await
        .unwrap();
    let s = app.login("auditor").await;
    let page = s.get("/audit?lang=en").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has_text("Hash chain verification FAILED"));
    assert!(page.has_text("First failing entry: #5"));
    assert!(!page.has_text("Hash chain verified: intact"));
}

#[tokio::test]
async fn audit_actions_and_times_are_shown_for_people() {
    let app = App::demo().await;
    let admin = app.login("admin").await;
    let ko = admin.get("/audit?action=session.login").await;
    assert_eq!(ko.status, StatusCode::OK);
    assert!(
        ko.has_text(">로그인</a>"),
        "the action by its name: {}",
        ko.body
    );
    assert!(!ko.has_text(">session.login<"), "no action code as text");
    let en = admin.get("/audit?action=session.login&lang=en").await;
    assert!(en.has_text(">Signed in</a>"));
    assert!(!en.has_text("로그인</a>"));
    // An application step is named by the step.
    let steps = admin.get("/audit?action=application.approve").await;
    assert!(steps.has_text("신청 — 승인"), "{}", steps.body);

    // Times are in Korea Standard Time with the zone, never UTC.
    let (seq, at): (i64, String) =
        sqlx::query_as("SELECT seq, at FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_one(app.svc.store().pool())
            .await
            .unwrap();
    let utc = chrono::DateTime::parse_from_rfc3339(&at)
        .unwrap()
        .naive_utc();
    let kst = (utc + chrono::Duration::hours(9))
        .format("%Y-%m-%d %H:%M:%S KST")
        .to_string();
    let page = admin.get("/audit").await;
    let row_at = page
        .body
        .find(&format!("<tr><td class=\"num\">{seq}</td>"))
        .unwrap();
    let row = &page.body[row_at..row_at + page.body[row_at..].find("</tr>").unwrap()];
    assert!(row.contains(&kst), "{kst} in {row}");
    assert!(!page.has_text("UTC"), "no UTC times on the page");
}

/// After a checkpoint the page's check walks only the entries after it, says so, and still
/// reports an entry altered after the checkpoint.
#[tokio::test]
async fn the_check_starts_at_the_newest_checkpoint() {
    let app = App::demo().await;
    let system = haechi_core::Actor::system();
    let (v, cp) = app.svc.checkpoint_audit(&system, false).await.unwrap();
    assert!(v.intact);
    let cp = cp.expect("a checkpoint is written");
    assert_eq!(cp, v.entries + 1);
    let s = app.login("auditor").await;
    let page = s.get("/audit").await;
    assert!(page.has_text("해시 체인 검증: 이상 없음"), "{}", page.body);
    assert!(
        page.has_text(&format!(
            "#{}까지는 검증 지점을 기록할 때 검증했고",
            v.entries
        )),
        "{}",
        page.body
    );
    assert!(page.has_text(">감사 기록 검증 지점</a>"), "{}", page.body);
    // Login wrote one more entry; alter it.
    sqlx::query("UPDATE audit_log SET actor_name = 'mallory' WHERE seq = $1")
        .bind(cp + 1)
        .execute(app.svc.store().pool())
        .await
        .unwrap();
    let page = s.get("/audit?lang=en").await;
    assert!(page.has_text("Hash chain verification FAILED"));
    assert!(
        page.has_text(&format!("First failing entry: #{}", cp + 1)),
        "{}",
        page.body
    );
}

/// Every action and entity kind the demo's history records has a label in both languages: the
/// log never shows a Korean reader `report.submit` (issue #14 item 17).
#[tokio::test]
async fn every_recorded_action_has_a_label_in_both_languages() {
    use haechi_web::portal::audit::{action_label, entity_label};
    use haechi_web::portal::Lang;
    let app = App::demo().await;
    let pool = app.svc.store().pool();
    let hangul = |s: &str| s.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c));
    let actions: Vec<String> = sqlx::query_scalar("SELECT DISTINCT action FROM audit_log")
        .fetch_all(pool)
        .await
        .unwrap();
    let entities: Vec<String> = sqlx::query_scalar("SELECT DISTINCT entity FROM audit_log")
        .fetch_all(pool)
        .await
        .unwrap();
    assert!(actions.len() > 20, "{actions:?}");
    let mut missing = Vec::new();
    for (code, ko, en) in actions
        .iter()
        .map(|a| (a, action_label(Lang::Ko, a), action_label(Lang::En, a)))
        .chain(
            entities
                .iter()
                .map(|e| (e, entity_label(Lang::Ko, e), entity_label(Lang::En, e))),
        )
    {
        if !hangul(&ko) || hangul(&en) || en == *code {
            missing.push(format!("{code}: {ko} / {en}"));
        }
    }
    assert!(missing.is_empty(), "unlabelled: {missing:#?}");
}
