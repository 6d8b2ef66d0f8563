//! C14 the advisory group and the guidelines: reviewer proposals (expired term, standing
//! conflicts with the institution or its sector, a conflict declared on the application, the
//! workload order), assignments of a conflicted member refused with nothing stored, term
//! extensions kept in the history; guideline publication (published versions immutable, also
//! to SQL; the next version supersedes), acknowledgements, briefings and tailored support.

use chrono::NaiveDate;
use haechi_core::application::ApplicationContent;
use haechi_core::{Actor, InstitutionInput, Role, Sector, SizeClass};
use haechi_service::advisory::{MemberInput, ProposalReason, StandingConflictInput};
use haechi_service::guidelines::{BriefingInput, GuidelineDraft};
use haechi_service::{Service, ServiceError};

use crate::{on_both, open};

fn officer() -> Actor {
    Actor {
        user_id: 902,
        username: "officer".into(),
        role: Role::RegulatorOfficer,
        institution_id: None,
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn institution(svc: &Service, code: &str, sector: Sector) -> i64 {
    let d = day(2026, 6, 30);
    svc.create_institution(
        &Actor::system(),
        InstitutionInput {
            code: code.into(),
            name_ko: format!("{code} 금융"),
            name_en: format!("{code} Finance"),
            sector,
            total_assets_krw: 5_000_000_000_000,
            assets_as_of: d,
            full_time_employees: 900,
            employees_as_of: d,
            dedicated_ciso: true,
            ciso_name: Some("김보안".into()),
            size_class: SizeClass::Medium,
            contact_name: None,
            contact_email: None,
            contact_phone: None,
        },
    )
    .await
    .unwrap()
    .id
}

/// An application of the institution waiting in screening (its content is not at issue here).
async fn application_in_screening(svc: &Service, institution_id: i64) -> i64 {
    let content = serde_json::to_string(&ApplicationContent::default()).unwrap();
    sqlx::query("INSERT INTO applications (institution_id, state, content_json, created_at, updated_at) VALUES ($1, 'screening', $2, '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z')")
        .bind(institution_id)
        .bind(content)
        .execute(svc.store().pool())
        .await
        .unwrap();
    sqlx::query_scalar::<_, i64>("SELECT MAX(id) FROM applications")
        .fetch_one(svc.store().pool())
        .await
        .unwrap()
}

/// An advisor account appointed to the group for `term`; returns (member id, advisor actor).
async fn member(svc: &Service, name: &str, term: (NaiveDate, NaiveDate)) -> (i64, Actor) {
    let u = svc
        .create_user(&Actor::system(), name, name, Role::Advisor, None)
        .await
        .unwrap();
    let id = svc
        .appoint_member(
            &officer(),
            &MemberInput {
                user_id: u.id,
                field: "ai".into(),
                affiliation: "가람대학교".into(),
                term_start: Some(term.0),
                term_end: Some(term.1),
            },
        )
        .await
        .unwrap();
    (id, u.actor())
}

fn conflict_with(
    institution: Option<i64>,
    sector: Option<Sector>,
    to: Option<NaiveDate>,
) -> StandingConflictInput {
    StandingConflictInput {
        institution_id: institution,
        sector,
        reason: "자문 계약".into(),
        valid_from: Some(day(2026, 1, 1)),
        valid_to: to,
    }
}

fn invalid_message(e: &ServiceError, field: &str) -> String {
    e.field_errors()
        .iter()
        .find(|f| f.field == field)
        .map(|f| f.message.clone())
        .unwrap_or_else(|| panic!("no error on {field}: {e:?}"))
}

#[tokio::test]
async fn proposals_leave_out_the_unfit_and_balance_the_workload() {
    on_both(|url| async move {
        let (_, svc) = open(&url).await;
        svc.set_clock(Some(day(2026, 12, 1).and_hms_opt(1, 0, 0).unwrap()));
        let off = officer();
        let bank = institution(&svc, "BNK-T1", Sector::Bank).await;
        let insurer = institution(&svc, "INS-T1", Sector::Insurance).await;
        let target = application_in_screening(&svc, bank).await;
        let year = (day(2026, 1, 1), day(2026, 12, 31));
        let (fresh, fresh_actor) = member(&svc, "adv.fresh", year).await;
        let (expired, _) = member(&svc, "adv.expired", (day(2025, 1, 1), day(2025, 12, 31))).await;
        let (with_bank, _) = member(&svc, "adv.inst", year).await;
        let (with_sector, _) = member(&svc, "adv.sector", year).await;
        let (busy, busy_actor) = member(&svc, "adv.busy", year).await;
        let (some, some_actor) = member(&svc, "adv.some", year).await;
        let (ended, _) = member(&svc, "adv.ended", year).await;
        svc.declare_standing_conflict(&off, with_bank, &conflict_with(Some(bank), None, None))
            .await
            .unwrap();
        svc.declare_standing_conflict(
            &off,
            with_sector,
            &conflict_with(None, Some(Sector::Bank), Some(day(2026, 12, 31))),
        )
        .await
        .unwrap();
        // A conflict that ended before today no longer counts.
        svc.declare_standing_conflict(
            &off,
            ended,
            &conflict_with(Some(bank), None, Some(day(2026, 11, 30))),
        )
        .await
        .unwrap();
        // Workload: busy holds two open assignments, some one (on the insurer's applications).
        for (who, n) in [(busy_actor.user_id, 2), (some_actor.user_id, 1)] {
            for _ in 0..n {
                let other = application_in_screening(&svc, insurer).await;
                svc.assign_reviewer(&off, other, who).await.unwrap();
            }
        }
        let p = svc.propose_reviewers(&off, target).await.unwrap();
        assert_eq!(
            p.reviewers_per_application,
            svc.policy().evaluation.reviewers_per_application
        );
        let order: Vec<i64> = p.proposed.iter().map(|x| x.member_id).collect();
        assert_eq!(order, vec![fresh, ended, some, busy], "{p:#?}");
        let need = p.reviewers_per_application as usize;
        assert_eq!(
            p.proposed.iter().filter(|x| x.recommended).count(),
            need.min(4)
        );
        assert!(p.proposed[0]
            .reasons
            .contains(&ProposalReason::OpenAssignments { count: 0 }));
        assert!(p.proposed[3]
            .reasons
            .contains(&ProposalReason::OpenAssignments { count: 2 }));
        let why = |m: i64| {
            p.excluded
                .iter()
                .find(|x| x.member_id == m)
                .unwrap_or_else(|| panic!("member {m} not excluded: {p:#?}"))
                .reasons
                .clone()
        };
        assert!(matches!(
            why(expired)[..],
            [ProposalReason::TermNotActive { .. }]
        ));
        assert!(matches!(
            why(with_bank)[..],
            [ProposalReason::ConflictWithInstitution { .. }]
        ));
        assert!(matches!(
            why(with_sector)[..],
            [ProposalReason::ConflictWithSector { .. }]
        ));
        assert_eq!(p.excluded.len(), 3);

        // Assigning a member with a standing conflict, or outside their term, is refused and
        // nothing is stored.
        let user_of = |m: i64| {
            let svc = svc.clone();
            async move {
                svc.advisory_member(&officer(), m)
                    .await
                    .unwrap()
                    .member
                    .user_id
            }
        };
        let e = svc
            .assign_reviewer(&off, target, user_of(with_bank).await)
            .await
            .unwrap_err();
        assert!(
            invalid_message(&e, "advisor_id")
                .contains("standing conflict of interest with this institution"),
            "{e:?}"
        );
        let e = svc
            .assign_reviewer(&off, target, user_of(with_sector).await)
            .await
            .unwrap_err();
        assert!(
            invalid_message(&e, "advisor_id").contains("sector"),
            "{e:?}"
        );
        let e = svc
            .assign_reviewer(&off, target, user_of(expired).await)
            .await
            .unwrap_err();
        assert!(invalid_message(&e, "advisor_id").contains("term"), "{e:?}");
        let stored = haechi_store::assignments_for_application(svc.store().pool(), target)
            .await
            .unwrap();
        assert!(stored.is_empty(), "{stored:?}");

        // A conflict declared on the application leaves the member out too.
        svc.assign_reviewer(&off, target, fresh_actor.user_id)
            .await
            .unwrap();
        svc.declare_conflict(&fresh_actor, target, true, Some("공동 연구 수행 중"))
            .await
            .unwrap();
        let p = svc.propose_reviewers(&off, target).await.unwrap();
        assert!(matches!(
            p.excluded
                .iter()
                .find(|x| x.member_id == fresh)
                .unwrap()
                .reasons[..],
            [ProposalReason::DeclaredConflict { .. }]
        ));
        assert_eq!(p.panel, 0);

        // Extending the expired term brings the member back; the history keeps both terms.
        let e = svc
            .extend_term(&off, expired, Some(day(2025, 6, 30)), "연장")
            .await
            .unwrap_err();
        assert_eq!(
            invalid_message(&e, "term_end"),
            "must be after the current end of the term"
        );
        svc.extend_term(&off, expired, Some(day(2026, 12, 31)), "상설화에 따른 연장")
            .await
            .unwrap();
        let view = svc.advisory_member(&off, expired).await.unwrap();
        assert!(view.active_today);
        assert_eq!(view.terms.len(), 2);
        assert_eq!(view.terms[1].kind, "extend");
        assert_eq!(view.terms[1].previous_end.as_deref(), Some("2025-12-31"));
        let p = svc.propose_reviewers(&off, target).await.unwrap();
        assert!(p.proposed.iter().any(|x| x.member_id == expired));

        // An advisor sees their own membership and no one else's.
        let mine = svc.my_membership(&busy_actor).await.unwrap().unwrap();
        assert_eq!(mine.member.id, busy);
        assert!(matches!(
            svc.advisory_member(&busy_actor, some).await,
            Err(ServiceError::NotFound)
        ));
        assert!(matches!(
            svc.advisory_members(&busy_actor).await,
            Err(ServiceError::Forbidden(_))
        ));
        // Only officers appoint.
        assert!(matches!(
            svc.extend_term(&busy_actor, busy, Some(day(2027, 6, 30)), "x")
                .await,
            Err(ServiceError::Forbidden(_))
        ));
    })
    .await;
}

fn draft(title: &str, policy: i64) -> GuidelineDraft {
    GuidelineDraft {
        title_ko: format!("{title} 가이드라인"),
        title_en: format!("{title} guideline"),
        body_ko: "본문".into(),
        body_en: "Body".into(),
        policy_versions: vec![policy],
    }
}

#[tokio::test]
async fn published_guidelines_never_change_and_are_acknowledged() {
    on_both(|url| async move {
        let (_, svc) = open(&url).await;
        let off = officer();
        let policy = svc.policy().version;
        let bank = institution(&svc, "BNK-G1", Sector::Bank).await;
        let other = institution(&svc, "BNK-G2", Sector::Bank).await;
        let ciso = svc
            .create_user(&Actor::system(), "ciso.g1", "CISO", Role::Ciso, Some(bank))
            .await
            .unwrap()
            .actor();
        svc.create_user(&Actor::system(), "ciso.g2", "CISO", Role::Ciso, Some(other))
            .await
            .unwrap();

        let mut bad = draft("패치", 999_999);
        bad.title_en = " ".into();
        let e = svc
            .create_guideline(&off, "patch_priority", &bad)
            .await
            .unwrap_err();
        assert_eq!(
            invalid_message(&e, "policy_versions"),
            "is not a stored policy version"
        );
        assert_eq!(invalid_message(&e, "title_en"), "must not be empty");
        let g = svc
            .create_guideline(&off, "patch_priority", &draft("패치", policy))
            .await
            .unwrap();
        // A draft is the regulator's alone.
        assert!(svc.guidelines(&ciso).await.unwrap().is_empty());
        assert!(matches!(
            svc.guideline(&ciso, g).await,
            Err(ServiceError::NotFound)
        ));
        assert!(matches!(
            svc.acknowledge_guideline(&ciso, g).await,
            Err(ServiceError::NotFound)
        ));
        assert_eq!(svc.publish_guideline(&off, g).await.unwrap(), 1);
        let e = svc.publish_guideline(&off, g).await.unwrap_err();
        assert_eq!(e.code(), "no_draft");

        // The published version does not change, not even by SQL.
        let pool = svc.store().pool();
        let v1: i64 = sqlx::query_scalar(
            "SELECT id FROM guideline_versions WHERE guideline_id = $1 AND version = 1",
        )
        .bind(g)
        .fetch_one(pool)
        .await
        .unwrap();
        let changed =
            sqlx::query("UPDATE guideline_versions SET body_ko = 'changed' WHERE id = $1")
                .bind(v1)
                .execute(pool)
                .await;
        assert!(changed.is_err(), "a published version was rewritten");
        // Saving a draft starts version 2 and leaves version 1 as it was.
        let mut next = draft("패치", policy);
        next.body_ko = "개정 본문".into();
        let v2 = svc.save_guideline_draft(&off, g, &next).await.unwrap();
        assert_ne!(v2, v1);
        let view = svc.guideline(&off, g).await.unwrap();
        assert_eq!(view.current.as_ref().unwrap().body_ko, "본문");
        assert_eq!(view.draft.as_ref().unwrap().version, 2);
        // The CISO sees only the published version.
        let seen = svc.guideline(&ciso, g).await.unwrap();
        assert_eq!(seen.versions.len(), 1);
        assert!(seen.draft.is_none());

        assert_eq!(svc.acknowledge_guideline(&ciso, g).await.unwrap(), 1);
        assert_eq!(svc.publish_guideline(&off, g).await.unwrap(), 2);
        let view = svc.guideline(&off, g).await.unwrap();
        assert_eq!(view.current.as_ref().unwrap().body_ko, "개정 본문");
        assert_eq!(view.versions[0].state, "superseded");
        assert_eq!(view.current.as_ref().unwrap().policy_versions, vec![policy]);
        // Version 2 needs its own acknowledgement; the regulator sees who has not.
        assert!(view.acks.is_empty());
        assert_eq!(view.pending.len(), 2);
        assert_eq!(svc.acknowledge_guideline(&ciso, g).await.unwrap(), 2);
        let e = svc.acknowledge_guideline(&ciso, g).await.unwrap_err();
        assert_eq!(e.code(), "already_acknowledged");
        let view = svc.guideline(&off, g).await.unwrap();
        assert_eq!(view.acks.len(), 1);
        assert_eq!(
            view.pending
                .iter()
                .map(|p| p.institution_id)
                .collect::<Vec<_>>(),
            vec![other]
        );
        // Staff may not acknowledge; only the CISO.
        let staff = svc
            .create_user(
                &Actor::system(),
                "staff.g1",
                "Staff",
                Role::SecurityStaff,
                Some(bank),
            )
            .await
            .unwrap()
            .actor();
        assert!(matches!(
            svc.acknowledge_guideline(&staff, g).await,
            Err(ServiceError::Forbidden(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn briefings_and_tailored_support() {
    on_both(|url| async move {
        let (_, svc) = open(&url).await;
        let off = officer();
        let bank = institution(&svc, "BNK-B1", Sector::Bank).await;
        let other = institution(&svc, "BNK-B2", Sector::Bank).await;
        let ciso = svc
            .create_user(&Actor::system(), "ciso.b1", "CISO", Role::Ciso, Some(bank))
            .await
            .unwrap()
            .actor();
        let outsider = svc
            .create_user(&Actor::system(), "ciso.b2", "CISO", Role::Ciso, Some(other))
            .await
            .unwrap()
            .actor();
        svc.set_clock(Some(day(2026, 11, 1).and_hms_opt(1, 0, 0).unwrap()));
        let starts = chrono::DateTime::parse_from_rfc3339("2026-11-19T14:00:00+09:00").unwrap();
        let input = BriefingInput {
            starts_at: Some(starts),
            place: "설명회장".into(),
            topic: "가이드라인 설명".into(),
            guideline_id: None,
            institution_ids: vec![bank],
        };
        let b = svc.schedule_briefing(&off, &input).await.unwrap();
        let row = svc.briefing(&off, b).await.unwrap();
        assert_eq!(row.starts_at, "2026-11-19T05:00:00Z");
        // Attendance waits for the briefing.
        let e = svc
            .record_briefing_attendance(&off, b, &[bank])
            .await
            .unwrap_err();
        assert_eq!(e.code(), "briefing_not_held");
        svc.set_clock(Some(day(2026, 11, 19).and_hms_opt(9, 0, 0).unwrap()));
        let e = svc
            .record_briefing_attendance(&off, b, &[other])
            .await
            .unwrap_err();
        assert_eq!(
            invalid_message(&e, "attended"),
            "is not an invited institution"
        );
        svc.record_briefing_attendance(&off, b, &[bank])
            .await
            .unwrap();
        assert_eq!(
            svc.briefing(&ciso, b).await.unwrap().invitees[0].attended,
            Some(true)
        );
        assert!(matches!(
            svc.briefing(&outsider, b).await,
            Err(ServiceError::NotFound)
        ));
        assert!(svc.briefings(&outsider).await.unwrap().is_empty());

        let e = svc.request_support(&ciso, "", "").await.unwrap_err();
        assert_eq!(e.field_errors().len(), 2);
        let r = svc
            .request_support(&ciso, "등급 판단", "현장 자문 요청")
            .await
            .unwrap();
        assert!(matches!(
            svc.support_request(&outsider, r).await,
            Err(ServiceError::NotFound)
        ));
        let e = svc
            .answer_support(&off, r, "scheduled", None, "방문 예정")
            .await
            .unwrap_err();
        assert_eq!(invalid_message(&e, "scheduled_on"), "must not be empty");
        svc.answer_support(
            &off,
            r,
            "scheduled",
            Some(day(2026, 12, 10)),
            "12월 10일 방문",
        )
        .await
        .unwrap();
        svc.answer_support(&off, r, "done", None, "방문 자문 완료")
            .await
            .unwrap();
        let done = svc.support_request(&ciso, r).await.unwrap();
        assert_eq!(
            (done.state.as_str(), done.scheduled_on.as_deref()),
            ("done", Some("2026-12-10"))
        );
        let e = svc
            .answer_support(&off, r, "done", None, "다시")
            .await
            .unwrap_err();
        assert_eq!(e.code(), "illegal_transition");
    })
    .await;
}
