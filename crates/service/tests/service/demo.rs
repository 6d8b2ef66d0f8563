//! The demo data generator, end to end: seeding an empty instance through the use cases gives the
//! program history SPEC §4 promises, and seeding again changes nothing.

use std::collections::BTreeMap;

use haechi_core::{Actor, ApplicationState};
use haechi_service::demo::{self, DEMO_PASSWORD};
use haechi_service::Service;
use haechi_store::{ApplicationFilter, AuditFilter, InstitutionFilter};

use crate::{on_both, open};

async fn audit_entries(svc: &Service) -> i64 {
    let (_, total) = svc
        .audit_log(
            &Actor::system(),
            &AuditFilter {
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    total
}

/// Seeds `url` and checks everything the demo promises.
async fn demo_story(url: &str) {
    let (store, svc) = open(url).await;
    let system = Actor::system();
    let summary = demo::seed(&svc).await.expect("seed");

    // The service clock is back to real time.
    assert_eq!(svc.today(), chrono::Utc::now().date_naive());

    // History is written on the demo clock: no application was created after its last change.
    let out_of_order: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM applications WHERE created_at > updated_at")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(
        out_of_order, 0,
        "applications created after their last change"
    );

    // Registry and screening.
    assert!(summary.seeded);
    assert!(
        (140..=160).contains(&summary.institutions),
        "{} institutions",
        summary.institutions
    );
    assert_eq!(summary.eligible, 49);
    let screening = svc.screening_results(&system).await.unwrap();
    assert_eq!(screening.len(), summary.institutions);
    assert_eq!(screening.iter().filter(|r| r.eligible).count(), 49);
    let (institutions, _) = svc
        .list_institutions(
            &system,
            &InstitutionFilter {
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let sectors: std::collections::HashSet<_> =
        institutions.iter().map(|i| i.input.sector).collect();
    assert_eq!(
        sectors.len(),
        haechi_core::Sector::ALL.len(),
        "every sector is represented"
    );
    let eligible_of = |pred: &dyn Fn(&haechi_core::InstitutionInput) -> bool| -> Vec<bool> {
        institutions
            .iter()
            .filter(|i| pred(&i.input))
            .map(|i| {
                screening
                    .iter()
                    .find(|r| r.institution_id == i.id)
                    .map(|r| r.eligible)
                    .unwrap()
            })
            .collect()
    };
    // The near-misses that show the rules.
    assert_eq!(
        eligible_of(&|i| i.total_assets_krw == 10_000_000_000_000),
        vec![true]
    );
    assert_eq!(
        eligible_of(&|i| i.total_assets_krw == 9_999_999_999_999),
        vec![false]
    );
    let staff_999 =
        eligible_of(&|i| i.full_time_employees == 999 && i.total_assets_krw >= 10_000_000_000_000);
    assert!(
        staff_999.len() >= 3 && staff_999.iter().all(|e| !e),
        "{staff_999:?}"
    );
    let no_ciso = eligible_of(&|i| {
        !i.dedicated_ciso
            && i.total_assets_krw >= 10_000_000_000_000
            && i.full_time_employees >= 1_000
    });
    assert_eq!(no_ciso, vec![false]);
    // Fictional names and codes.
    let hanbit = institutions
        .iter()
        .find(|i| i.input.code == "BNK-001")
        .unwrap();
    assert_eq!(hanbit.input.name_ko, "한빛은행");
    assert_eq!(hanbit.input.name_en, "Hanbit Bank");
    // Figure history from the mid-year update.
    let view = svc.get_institution(&system, hanbit.id).await.unwrap();
    assert!(!view.history.is_empty());

    // Accounts: one per role at least, and every token logs in.
    let roles: std::collections::BTreeSet<_> =
        summary.accounts.iter().map(|a| a.role.as_str()).collect();
    for role in haechi_core::Role::ALL {
        assert!(roles.contains(role.as_str()), "no demo account for {role}");
    }
    assert_eq!(
        summary
            .accounts
            .iter()
            .filter(|a| a.role == "advisor")
            .count(),
        7
    );
    for a in &summary.accounts {
        assert_eq!(a.password, DEMO_PASSWORD);
        let actor = svc
            .actor_for_token(a.token.as_deref().expect("token issued"))
            .await
            .unwrap();
        assert_eq!(actor.username, a.username);
        assert_eq!(a.institution.is_some(), actor.institution_id.is_some());
    }
    assert!(summary.accounts.iter().any(|a| a.username == "ciso.hanbit"));
    assert!(summary
        .accounts
        .iter()
        .any(|a| a.username == "staff.hanbit"));
    // The funded fintech's accounts, opened by a later chapter, are in the summary too (they
    // were missing), each with a token checked above.
    for name in ["ciso.fintech", "staff.fintech"] {
        assert!(
            summary.accounts.iter().any(|a| a.username == name),
            "{name} is not in the demo's account summary"
        );
    }

    // Cohorts: phase 1 with 10, phase 2 with 15, members decided inside their windows.
    let cohorts: BTreeMap<String, usize> = summary.cohorts.iter().cloned().collect();
    assert_eq!(cohorts.get("phase-1"), Some(&10));
    assert_eq!(cohorts.get("phase-2"), Some(&15));
    assert_eq!(cohorts.len(), 2);
    let records = svc.list_cohorts(&system).await.unwrap();
    for c in &records {
        assert!(
            c.confirmed_at.starts_with(if c.phase_id == "phase-1" {
                "2026-06-"
            } else {
                "2026-09-"
            }),
            "{}",
            c.confirmed_at
        );
        for id in &c.members {
            let v = svc.get_application(&system, *id).await.unwrap();
            assert_eq!(v.application.state, ApplicationState::Approved);
            let decided = v.decision.unwrap().decided_on;
            let month = if c.phase_id == "phase-1" {
                "2026-06-"
            } else {
                "2026-08-"
            };
            assert!(
                decided.starts_with(month),
                "{} decided on {decided}",
                c.phase_id
            );
        }
    }

    // Every state of the lifecycle is present.
    let by_state: BTreeMap<String, i64> = summary.applications_by_state.iter().cloned().collect();
    for s in ApplicationState::ALL {
        assert!(
            by_state.get(s.as_str()).copied().unwrap_or(0) > 0,
            "no application is {s}: {by_state:?}"
        );
    }

    // The evaluation history: a flagged disagreement, a conflict, a return with its comment,
    // rejections that follow failed evaluations, and approvals that follow passed ones.
    let (apps, total) = svc
        .list_applications(
            &system,
            ApplicationFilter {
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(usize::try_from(total).unwrap(), apps.len());
    let (mut disagreement, mut conflict, mut returned, mut partial_review) =
        (false, false, false, false);
    for app in &apps {
        let v = svc.get_application(&system, app.id).await.unwrap();
        if let Some(e) = &v.evaluation {
            disagreement |= e.disagreement;
        }
        let assignments = v.assignments.unwrap();
        conflict |= assignments.iter().any(|a| a.conflict == Some(true));
        if app.state == ApplicationState::UnderReview {
            partial_review |= assignments.iter().any(|a| a.submitted_at.is_some())
                && assignments.iter().any(|a| a.submitted_at.is_none());
        }
        if app.state == ApplicationState::Draft {
            returned |= v.events.iter().any(|e| {
                e.action == "return_for_correction"
                    && e.comment.as_deref().is_some_and(|c| !c.is_empty())
            });
        }
        if let Some(d) = &v.decision {
            assert!(
                d.follows_evaluation,
                "application {} decision does not follow its evaluation",
                app.id
            );
            assert!(d.rationale.len() > 20);
        }
        if matches!(
            app.state,
            ApplicationState::Approved | ApplicationState::Rejected
        ) {
            let e = v.evaluation.as_ref().unwrap();
            assert_eq!(e.passed, app.state == ApplicationState::Approved);
        }
    }
    assert!(disagreement, "no evaluation flags a reviewer disagreement");
    assert!(conflict, "no advisor declared a conflict");
    assert!(returned, "no application was returned for correction");
    assert!(partial_review, "no review is partly submitted");

    // Issue #13: the AI model's assessment puts AI-found flaws at the top of the queue, several
    // of them reported by the conventional scanner too (one cluster each).
    let by_origin: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT f.ai_origin, p.priority, COUNT(*) FROM findings f JOIN finding_priorities p ON p.finding_id = f.id \
         WHERE f.status IN ('open', 'in_progress') AND f.cwes <> ',' GROUP BY f.ai_origin, p.priority ORDER BY 1, 2",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    eprintln!("open code findings by origin and priority: {by_origin:?}");
    let count = |o: &str, p: &str| {
        by_origin
            .iter()
            .find(|(a, b, _)| a == o && b == p)
            .map_or(0, |r| r.2)
    };
    assert!(count("ai_generated", "P1") >= 2, "{by_origin:?}");
    assert!(count("ai_generated", "P2") >= 2, "{by_origin:?}");
    assert!(count("conventional", "P5") >= 1, "{by_origin:?}");
    let clusters: i64 =
        sqlx::query_scalar("SELECT COUNT(DISTINCT cluster_id) FROM finding_clusters")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert!(clusters >= 8, "{clusters} clusters");

    // The audit log is intact.
    let check = svc.verify_audit(&system).await.unwrap();
    assert!(check.intact, "{:?}", check.first_bad);
    let entries = audit_entries(&svc).await;
    assert_eq!(check.entries, entries);

    // Seeding again changes nothing.
    let again = demo::seed(&svc).await.expect("second seed");
    assert!(!again.seeded);
    assert_eq!(again.institutions, summary.institutions);
    assert_eq!(again.eligible, summary.eligible);
    assert_eq!(again.applications_by_state, summary.applications_by_state);
    assert_eq!(again.cohorts, summary.cohorts);
    let names = |s: &demo::DemoSummary| {
        s.accounts
            .iter()
            .map(|a| a.username.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&again), names(&summary));
    assert!(again.accounts.iter().all(|a| a.token.is_none()));
    assert_eq!(audit_entries(&svc).await, entries);

    store.close().await;
}

#[tokio::test]
async fn demo_seed() {
    on_both(|url| async move { demo_story(&url).await }).await;
}

/// The binary may run the seeding on any runtime thread.
#[allow(dead_code)]
fn seed_future_is_send(svc: &Service) {
    fn is_send<T: Send>(_: &T) {}
    is_send(&demo::seed(svc));
}
