//! No-action letters through the use cases, on both databases: the demo's 25 letters, genuine /
//! altered / unknown-key / revoked verification, canonical files, renewal, reminders, obligation
//! states and compliance flags, and who may see and do what.

use chrono::NaiveDate;
use haechi_core::{Actor, Role};
use haechi_letter::Keypair;
use haechi_service::{Service, ServiceError};

use crate::{on_both, open};

fn day(y: i32, m: u32, d: u32) -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap()
}

async fn actor_of(svc: &Service, role: Role, institution_id: Option<i64>) -> Actor {
    let users = haechi_store::list_users(svc.store().pool(), Some(role))
        .await
        .unwrap();
    let u = users
        .into_iter()
        .find(|u| institution_id.is_none() || u.institution_id == institution_id)
        .expect("a user of that role");
    Actor {
        user_id: u.id,
        username: u.username,
        role: u.role,
        institution_id: u.institution_id,
    }
}

async fn letters_story(url: String) {
    let (store, svc) = open(&url).await;
    let system = Actor::system();
    haechi_service::demo::seed(&svc).await.expect("seed");
    let officer = actor_of(&svc, Role::RegulatorOfficer, None).await;

    // The demo issued phase 1 and phase 2: 25 letters, numbered in sequence, one revoked.
    let letters = svc.list_letters(&officer).await.unwrap();
    assert_eq!(letters.len(), 25);
    let mut numbers: Vec<String> = letters
        .iter()
        .filter_map(|l| l.letter_number.clone())
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=25).map(|n| format!("FSC-NAL-2026-{n:04}")).collect();
    assert_eq!(numbers, expected);
    let revoked: Vec<_> = letters.iter().filter(|l| l.state == "revoked").collect();
    assert_eq!(revoked.len(), 1, "one revoked letter");
    assert!(revoked[0].revoked_reason.as_deref().unwrap_or("").len() > 5);
    let genuine = letters.iter().find(|l| l.state == "issued").unwrap();

    // Genuine, by file and by number.
    let (_, signed, file) = svc.signed_letter(&officer, genuine.id).await.unwrap();
    svc.set_clock(Some(day(2026, 11, 25)));
    let check = svc.verify_letter_file(file.as_bytes()).await.unwrap();
    assert_eq!(check.outcome, "valid", "{check:?}");
    assert_eq!(check.letter_number, genuine.letter_number);
    assert_eq!(
        svc.verify_letter_number(genuine.letter_number.as_deref().unwrap())
            .await
            .unwrap()
            .outcome,
        "valid"
    );
    assert_eq!(
        svc.verify_letter_number("FSC-NAL-1999-0001")
            .await
            .unwrap()
            .outcome,
        "unknown_letter"
    );

    // The stored file is exactly the RFC 8785 form of the letter (the same bytes on both databases).
    let canonical = haechi_letter::jcs::canonicalize_str(file.trim_end()).unwrap();
    assert_eq!(canonical, file.trim_end().as_bytes());
    assert_eq!(signed.letter.holder.name.ko, genuine.institution_name);
    assert_eq!(
        signed.letter.valid_until.to_string(),
        genuine.valid_until.clone().unwrap()
    );

    // Altered content: a changed holder name keeps valid JSON but breaks the signature.
    let altered = file.replacen(&signed.letter.holder.name.ko, "가짜은행", 1);
    assert_ne!(altered, file);
    assert_eq!(
        svc.verify_letter_file(altered.as_bytes())
            .await
            .unwrap()
            .outcome,
        "altered"
    );
    assert_eq!(
        svc.verify_letter_file(b"{not json").await.unwrap().outcome,
        "malformed"
    );

    // A letter signed by a key this regulator never published.
    let forged = haechi_letter::sign(&signed.letter, &Keypair::generate())
        .unwrap()
        .to_file_bytes()
        .unwrap();
    assert_eq!(
        svc.verify_letter_file(&forged).await.unwrap().outcome,
        "unknown_key"
    );

    // The revoked letter says so, with the reason.
    let (_, _, revoked_file) = svc.signed_letter(&officer, revoked[0].id).await.unwrap();
    let check = svc
        .verify_letter_file(revoked_file.as_bytes())
        .await
        .unwrap();
    assert_eq!(check.outcome, "revoked");
    assert!(
        check
            .reason
            .contains(revoked[0].revoked_reason.as_deref().unwrap()),
        "{}",
        check.reason
    );

    // After expiry a genuine letter is reported expired.
    svc.set_clock(Some(day(2028, 1, 1)));
    assert_eq!(
        svc.verify_letter_file(file.as_bytes())
            .await
            .unwrap()
            .outcome,
        "expired"
    );
    svc.set_clock(Some(day(2026, 11, 25)));

    // Illegal steps change nothing.
    assert!(matches!(
        svc.revoke_letter(&officer, revoked[0].id, "again, for a reason")
            .await,
        Err(ServiceError::Rule {
            code: "illegal_transition",
            ..
        })
    ));
    assert!(matches!(
        svc.issue_letter(&officer, genuine.id).await,
        Err(ServiceError::Rule {
            code: "illegal_transition",
            ..
        })
    ));
    assert!(matches!(
        svc.revoke_letter(&officer, genuine.id, "no").await,
        Err(ServiceError::Domain(_))
    ));

    // Institutions see their own issued letters only; other tenants' ids are "not found".
    let holder_ciso = actor_of(&svc, Role::Ciso, Some(genuine.institution_id)).await;
    let own = svc.list_letters(&holder_ciso).await.unwrap();
    assert!(
        !own.is_empty()
            && own
                .iter()
                .all(|l| l.institution_id == genuine.institution_id)
    );
    let other = letters
        .iter()
        .find(|l| l.institution_id != genuine.institution_id)
        .unwrap();
    assert!(matches!(
        svc.get_letter(&holder_ciso, other.id).await,
        Err(ServiceError::NotFound)
    ));
    assert!(matches!(
        svc.issue_letter(&holder_ciso, genuine.id).await,
        Err(ServiceError::Forbidden(_))
    ));
    let notes = svc.notifications(&holder_ciso).await.unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.kind == "letter_issued" && n.letter_id == Some(genuine.id)),
        "{notes:?}"
    );

    // Obligations: quarterly reports, the final report, the SaaS self-evaluations.
    let obligations = svc.obligations(&officer, Some(genuine.id)).await.unwrap();
    let kinds: Vec<&str> = obligations.iter().map(|o| o.row.kind.as_str()).collect();
    assert!(
        kinds.contains(&"quarterly_report")
            && kinds.contains(&"final_report")
            && kinds.contains(&"saas_self_evaluation"),
        "{kinds:?}"
    );
    // Two phase-1 institutions did not report their first quarter, and a third's report was
    // returned and is still owed past its due date: all three are flagged.
    let flags = svc.compliance_flags(&officer).await.unwrap();
    assert_eq!(flags.len(), 3, "{flags:?}");
    assert!(flags
        .iter()
        .all(|f| f.overdue >= 1 && f.oldest_due_on.as_str() < "2026-11-25"));
    let all = svc.obligations(&officer, None).await.unwrap();
    for state in ["overdue", "upcoming", "accepted", "returned", "cancelled"] {
        assert!(
            all.iter().any(|o| o.state == state),
            "no obligation is {state}"
        );
    }
    // Submitting an overdue one clears the flag; accepting twice is refused.
    let overdue = all.iter().find(|o| o.state == "overdue").unwrap();
    let ciso = actor_of(&svc, Role::Ciso, Some(overdue.row.institution_id)).await;
    svc.submit_obligation(&ciso, overdue.row.id, Some("late report"))
        .await
        .unwrap();
    assert_eq!(svc.compliance_flags(&officer).await.unwrap().len(), 2);
    svc.decide_obligation(&officer, overdue.row.id, true, None)
        .await
        .unwrap();
    assert!(matches!(
        svc.decide_obligation(&officer, overdue.row.id, true, None)
            .await,
        Err(ServiceError::Rule {
            code: "illegal_transition",
            ..
        })
    ));
    assert!(
        matches!(
            svc.submit_obligation(&holder_ciso, overdue.row.id, None)
                .await,
            Err(ServiceError::NotFound)
        ) || holder_ciso.institution_id == ciso.institution_id
    );

    // Expiry reminders at the policy's offsets, written once.
    svc.set_clock(Some(day(2027, 4, 24)));
    let written = svc.run_expiry_reminders().await.unwrap();
    let phase1_in_force = letters
        .iter()
        .filter(|l| l.state == "issued" && l.valid_until.as_deref() == Some("2027-06-22"))
        .count();
    assert!(phase1_in_force >= 9);
    assert_eq!(
        written,
        phase1_in_force * 2,
        "a 60-day reminder for the holder and for the regulator"
    );
    assert_eq!(svc.run_expiry_reminders().await.unwrap(), 0);

    // Renewal (once its window before expiry opened): a draft referencing the old letter,
    // issued with the next number.
    let genuine_until =
        NaiveDate::parse_from_str(genuine.valid_until.as_deref().unwrap(), "%Y-%m-%d").unwrap();
    svc.set_clock(Some(
        (genuine_until - chrono::Duration::days(10))
            .and_hms_opt(9, 0, 0)
            .unwrap(),
    ));
    let renewal = svc.renew_letter(&officer, genuine.id).await.unwrap();
    assert_eq!(renewal.state, "draft");
    assert_eq!(renewal.renews_letter_id, Some(genuine.id));
    assert!(matches!(
        svc.renew_letter(&officer, genuine.id).await,
        Err(ServiceError::Rule {
            code: "already_renewed",
            ..
        })
    ));
    let issued = svc.issue_letter(&officer, renewal.id).await.unwrap();
    assert_eq!(issued.letter_number.as_deref(), Some("FSC-NAL-2027-0001"));
    let (_, renewed, _) = svc.signed_letter(&officer, renewal.id).await.unwrap();
    assert_eq!(renewed.letter.renews, genuine.letter_number);

    // Hand-over to the full-removal track, once.
    svc.hand_over_to_full_removal(&officer, genuine.id, "advanced capability shown")
        .await
        .unwrap();
    assert!(svc
        .hand_over_to_full_removal(&officer, genuine.id, "again")
        .await
        .is_err());

    // Key rotation: a node with a new key signs new letters; letters signed with the old key
    // still verify, because every published key stays in the ring.
    let rotated = Service::open(store.clone(), haechi_service::ServiceConfig::default())
        .await
        .unwrap()
        .with_signer(Keypair::generate())
        .await
        .unwrap();
    rotated.set_clock(Some(day(2026, 11, 25)));
    assert_eq!(rotated.key_ring().await.unwrap().keys().len(), 2);
    assert_eq!(
        rotated
            .verify_letter_file(file.as_bytes())
            .await
            .unwrap()
            .outcome,
        "valid"
    );
    let second = letters
        .iter()
        .find(|l| l.state == "issued" && l.id != genuine.id)
        .unwrap();
    let second_until =
        NaiveDate::parse_from_str(second.valid_until.as_deref().unwrap(), "%Y-%m-%d").unwrap();
    rotated.set_clock(Some(
        (second_until - chrono::Duration::days(10))
            .and_hms_opt(9, 0, 0)
            .unwrap(),
    ));
    let again = rotated.renew_letter(&officer, second.id).await.unwrap();
    let reissued = rotated.issue_letter(&officer, again.id).await.unwrap();
    assert_ne!(reissued.key_id, genuine.key_id);
    let (_, _, new_file) = rotated.signed_letter(&officer, again.id).await.unwrap();
    // The renewal takes effect the day after the renewed letter ends.
    svc.set_clock(Some(
        (second_until + chrono::Duration::days(1))
            .and_hms_opt(9, 0, 0)
            .unwrap(),
    ));
    assert_eq!(
        svc.verify_letter_file(new_file.as_bytes())
            .await
            .unwrap()
            .outcome,
        "valid"
    );

    svc.set_clock(None);
    assert!(svc.verify_audit(&system).await.unwrap().intact);
    store.close().await;
}

#[tokio::test]
async fn letters_lifecycle() {
    on_both(letters_story).await;
}

/// A node without a signing key cannot issue, and says why.
#[tokio::test]
async fn issuing_needs_a_signing_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = haechi_store::Store::connect(&format!("sqlite://{}/k.db", dir.path().display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let svc = Service::open(store, haechi_service::ServiceConfig::default())
        .await
        .unwrap();
    assert!(!svc.has_signer());
    let err = svc.issue_letter(&Actor::system(), 1).await.unwrap_err();
    assert_eq!(err.code(), "no_signing_key");
}

/// Issue #14 items 9 and 10: a renewal opens only within the policy's window before expiry (and
/// says from when), is valid from the day after the renewed letter ends, and every letter prints
/// exactly the obligations issuing it creates.
async fn renewal_story(url: String) {
    let (store, svc) = open(&url).await;
    haechi_service::demo::seed(&svc).await.expect("seed");
    let officer = actor_of(&svc, Role::RegulatorOfficer, None).await;
    let letters = svc.list_letters(&officer).await.unwrap();
    let old = letters
        .iter()
        .find(|l| l.state == "issued" && l.valid_until.as_deref() == Some("2027-06-22"))
        .expect("a phase-1 letter in force");
    let window = svc.policy().program.renewal_window_days;
    assert_eq!(window, 90, "the default policy's renewal window");

    // A day before the window: refused, naming the day it opens; nothing is drafted.
    svc.set_clock(Some(day(2027, 3, 23)));
    match svc.renew_letter(&officer, old.id).await {
        Err(ServiceError::Rule {
            code: "renewal_not_open",
            message,
        }) => assert!(message.contains("2027-03-24"), "{message}"),
        other => panic!("expected renewal_not_open, got {other:?}"),
    }
    assert_eq!(
        svc.list_letters(&officer).await.unwrap().len(),
        letters.len()
    );

    // The first day of the window: drafted; its preview already starts after the old letter.
    svc.set_clock(Some(day(2027, 3, 24)));
    let draft = svc.renew_letter(&officer, old.id).await.unwrap();
    let preview = svc.letter_content(&officer, draft.id).await.unwrap();
    assert_eq!(
        preview.valid_from,
        NaiveDate::from_ymd_opt(2027, 6, 23).unwrap()
    );

    // Issued in April: valid from the day after the old one ends, for the policy's 12 months,
    // with its reporting counted from that day.
    svc.set_clock(Some(day(2027, 4, 10)));
    let issued = svc.issue_letter(&officer, draft.id).await.unwrap();
    let (_, signed, _) = svc.signed_letter(&officer, issued.id).await.unwrap();
    let l = &signed.letter;
    assert_eq!(l.issued_on, NaiveDate::from_ymd_opt(2027, 4, 10).unwrap());
    assert_eq!(l.valid_from, NaiveDate::from_ymd_opt(2027, 6, 23).unwrap());
    assert_eq!(l.valid_until, NaiveDate::from_ymd_opt(2028, 6, 22).unwrap());
    assert_eq!(issued.valid_until.as_deref(), Some("2028-06-22"));
    assert!(l.reporting.iter().all(|r| r.period_start >= l.valid_from));

    // The printed schedule is the obligations created: same count, kinds and dates.
    let obligations = svc.obligations(&officer, Some(issued.id)).await.unwrap();
    assert_eq!(l.reporting.len(), obligations.len());
    let kind = |k: haechi_letter::ReportKind| match k {
        haechi_letter::ReportKind::Periodic => "quarterly_report",
        haechi_letter::ReportKind::Final => "final_report",
        haechi_letter::ReportKind::SaasSelfEvaluation => "saas_self_evaluation",
    };
    let mut printed: Vec<(String, String, String)> = l
        .reporting
        .iter()
        .map(|r| {
            (
                kind(r.kind).to_string(),
                r.period_start.to_string(),
                r.due_on.to_string(),
            )
        })
        .collect();
    let mut created: Vec<(String, String, String)> = obligations
        .iter()
        .map(|o| {
            (
                o.row.kind.clone(),
                o.row.period_start.clone(),
                o.row.due_on.clone(),
            )
        })
        .collect();
    printed.sort();
    created.sort();
    assert_eq!(printed, created);
    assert_eq!(
        printed
            .iter()
            .filter(|p| p.0 == "saas_self_evaluation")
            .count(),
        2,
        "two six-monthly SaaS self-evaluations in a year"
    );

    // A letter whose end is recorded more than the window away, renewed once: the second try
    // is "already renewed", not a window refusal.
    assert!(matches!(
        svc.renew_letter(&officer, old.id).await,
        Err(ServiceError::Rule {
            code: "already_renewed",
            ..
        })
    ));
    svc.set_clock(None);
    store.close().await;
}

#[tokio::test]
async fn renewal_window_and_validity() {
    on_both(renewal_story).await;
}
