//! Issue #14's program rules as use cases, on both databases: approving a failed evaluation needs
//! an override reason (stored, audited, ranked by the planner with it); a removed advisor's
//! scores no longer count and the advisor no longer sees the application; a late approval joins
//! a confirmed cohort only while its window is open, with its letter drafted; accounts are
//! created, disabled, reset and re-roled by the regulator admin only.

use chrono::NaiveDate;
use haechi_core::{Actor, ApplicationAction, ApplicationState, Role};
use haechi_policy::cohort::CohortReason;
use haechi_service::{Service, ServiceError};
use haechi_store::ApplicationFilter;

use crate::{on_both, open};

async fn in_state(svc: &Service, state: ApplicationState) -> Vec<i64> {
    let (items, _) = svc
        .list_applications(
            &Actor::system(),
            ApplicationFilter {
                state: Some(state),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    items.into_iter().map(|a| a.id).collect()
}

fn day(y: i32, m: u32, d: u32) -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(3, 0, 0)
        .unwrap()
}

async fn story(url: String) {
    let (store, svc) = open(&url).await;
    haechi_service::demo::seed(&svc).await.unwrap();
    let sys = Actor::system();
    let mut passed = None;
    let mut failed = None;
    for id in in_state(&svc, ApplicationState::Evaluated).await {
        let v = svc.get_application(&sys, id).await.unwrap();
        if v.evaluation.unwrap().passed {
            passed = Some(id);
        } else {
            failed = Some(id);
        }
    }
    let (passed, failed) = (passed.unwrap(), failed.unwrap());

    // 1. A failed evaluation is approved only with an override reason.
    svc.set_clock(Some(day(2026, 11, 30)));
    let refused = svc
        .transition(&sys, failed, ApplicationAction::Approve, Some("승인"))
        .await
        .unwrap_err();
    assert_eq!(refused.field_errors()[0].field, "override_reason");
    svc.transition_with_override(
        &sys,
        failed,
        ApplicationAction::Approve,
        Some("승인"),
        Some("보완 조건부 예외 승인"),
    )
    .await
    .unwrap();
    let v = svc.get_application(&sys, failed).await.unwrap();
    assert_eq!(v.override_reason.as_deref(), Some("보완 조건부 예외 승인"));
    let plan = svc.plan_cohort(&sys, "phase-3").await.unwrap();
    let c = plan
        .candidates
        .iter()
        .find(|c| c.application_id == failed)
        .unwrap();
    assert!(c.included && c.override_reason.is_some(), "{c:?}");
    assert!(plan.candidates.iter().all(|c| !c.reason.ko.contains('∞')
        && !c.reason.en.contains('∞')
        && !c.reason.ko.contains("phase-")));

    // 2. A removed advisor neither counts nor sees the application.
    let under = in_state(&svc, ApplicationState::UnderReview).await;
    let (app_id, gone) = {
        let mut found = None;
        for id in under {
            let v = svc.get_application(&sys, id).await.unwrap();
            if let Some(a) = v
                .assignments
                .unwrap()
                .into_iter()
                .find(|a| a.submitted_at.is_some())
            {
                found = Some((id, a));
                break;
            }
        }
        found.unwrap()
    };
    let advisor = Actor {
        user_id: gone.advisor_id,
        username: "x".into(),
        role: Role::Advisor,
        institution_id: None,
    };
    assert!(svc.get_application(&advisor, app_id).await.is_ok());
    let empty = svc
        .remove_reviewer(&sys, app_id, gone.advisor_id, "  ", None)
        .await
        .unwrap_err();
    assert_eq!(empty.field_errors()[0].field, "reason");
    svc.remove_reviewer(&sys, app_id, gone.advisor_id, "이해관계 확인", None)
        .await
        .unwrap();
    assert!(matches!(
        svc.get_application(&advisor, app_id).await,
        Err(ServiceError::NotFound)
    ));
    assert!(svc
        .my_assignments(&advisor)
        .await
        .unwrap()
        .iter()
        .all(|m| m.assignment.application_id != app_id));
    let scores = haechi_store::submitted_scores(store.pool(), app_id)
        .await
        .unwrap();
    assert!(scores.iter().all(|s| s.advisor_id != gone.advisor_id));
    let v = svc.get_application(&sys, app_id).await.unwrap();
    assert_eq!(v.removed_assignments.unwrap().len(), 1);

    // 3. A late approval joins the confirmed cohort while the window is open.
    svc.set_clock(Some(day(2026, 12, 1)));
    let cohort = svc.confirm_cohort(&sys, "phase-3", None).await.unwrap();
    assert!(cohort.members.contains(&failed));
    svc.set_clock(Some(day(2026, 12, 10)));
    svc.transition(&sys, passed, ApplicationAction::Approve, Some("승인"))
        .await
        .unwrap();
    let plan = svc.plan_cohort(&sys, "phase-3").await.unwrap();
    let late = plan
        .candidates
        .iter()
        .find(|c| c.application_id == passed)
        .unwrap();
    assert_eq!(late.code, CohortReason::ApprovedAfterConfirmation);
    assert!(late.can_add && plan.late_additions_open);
    svc.set_clock(Some(day(2027, 1, 2)));
    let closed = svc
        .add_to_cohort(&sys, "phase-3", passed, "늦은 승인")
        .await
        .unwrap_err();
    assert!(
        matches!(
            closed,
            ServiceError::Rule {
                code: "window_closed",
                ..
            }
        ),
        "{closed:?}"
    );
    svc.set_clock(Some(day(2026, 12, 11)));
    let cohort = svc
        .add_to_cohort(&sys, "phase-3", passed, "늦은 승인")
        .await
        .unwrap();
    assert_eq!(cohort.members.last(), Some(&passed));
    let letters: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM letters WHERE application_id = $1")
        .bind(passed)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(letters, 1);
    let additions = svc.cohort_additions(&sys).await.unwrap();
    assert_eq!(additions.len(), 1);
    assert_eq!(additions[0].reason, "늦은 승인");
    let again = svc
        .add_to_cohort(&sys, "phase-3", passed, "두 번째")
        .await
        .unwrap_err();
    assert!(matches!(again, ServiceError::Rule { .. }), "{again:?}");
    svc.set_clock(None);

    // 4. Accounts.
    let (u, password) = svc
        .create_user_with_password(&sys, "new.analyst", "새 분석가", Role::Analyst, None)
        .await
        .unwrap();
    assert_eq!(password.len(), 16);
    let officer = Actor {
        user_id: -5,
        username: "o".into(),
        role: Role::RegulatorOfficer,
        institution_id: None,
    };
    assert!(matches!(
        svc.set_user_active(&officer, u.id, false).await,
        Err(ServiceError::Forbidden(_))
    ));
    assert!(
        svc.set_user_active(&sys, u.id, false)
            .await
            .unwrap()
            .disabled
    );
    assert!(
        !svc.set_user_active(&sys, u.id, true)
            .await
            .unwrap()
            .disabled
    );
    let fresh = svc.reset_password(&sys, u.id).await.unwrap();
    assert_ne!(fresh, password);
    let bad = svc
        .change_user_role(&sys, u.id, Role::Ciso, None)
        .await
        .unwrap_err();
    assert_eq!(bad.field_errors()[0].field, "institution_id");
    let changed = svc
        .change_user_role(&sys, u.id, Role::Auditor, None)
        .await
        .unwrap();
    assert_eq!(changed.role, Role::Auditor);
    let accounts = svc.list_user_accounts(&sys).await.unwrap();
    assert!(accounts.iter().any(|a| a.user.id == u.id));
}

#[tokio::test]
async fn program_rules_and_accounts_of_issue_14() {
    on_both(|url| async move { story(url).await }).await;
}
