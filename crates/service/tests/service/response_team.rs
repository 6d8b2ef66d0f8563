//! C14 the AI security response team and the full-removal track: members (a CISO member is an
//! institution user), field challenges that only move forward (illegal moves refused and
//! nothing changed), overdue challenges and check-in actions flagged, another institution's
//! challenge answering "not found"; the full-removal ranking with every factor's value,
//! contribution and reason and the policy version, the hand-over of a letter holder appearing
//! on the track, and shortlisting before deciding, each step audited.

use chrono::{NaiveDate, NaiveDateTime};
use haechi_core::{Actor, InstitutionInput, Role, Sector, SizeClass};
use haechi_policy::removal::Factor;
use haechi_service::removal::RemovalStep;
use haechi_service::response_team::{
    ActionInput, ChallengeChange, ChallengeInput, CheckinInput, MemberInput,
};
use haechi_service::{Service, ServiceError};
use haechi_store::Store;

use crate::{on_both, open};

fn officer() -> Actor {
    Actor {
        user_id: 900,
        username: "officer".into(),
        role: Role::RegulatorOfficer,
        institution_id: None,
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
    day(y, m, d).and_hms_opt(1, 0, 0).unwrap()
}

async fn institution(svc: &Service, code: &str, sector: Sector) -> i64 {
    let d = day(2026, 6, 30);
    svc.create_institution(
        &Actor::system(),
        InstitutionInput {
            code: code.into(),
            name_ko: format!("{code} 은행"),
            name_en: format!("{code} Bank"),
            sector,
            total_assets_krw: 50_000_000_000_000,
            assets_as_of: d,
            full_time_employees: 4000,
            employees_as_of: d,
            dedicated_ciso: true,
            ciso_name: Some("김보안".into()),
            size_class: SizeClass::Large,
            contact_name: None,
            contact_email: None,
            contact_phone: None,
        },
    )
    .await
    .unwrap()
    .id
}

/// A CISO user of the institution (a real user row) as an actor.
async fn ciso(svc: &Service, username: &str, institution_id: i64) -> Actor {
    svc.create_user(
        &Actor::system(),
        username,
        &format!("{username} 이사"),
        Role::Ciso,
        Some(institution_id),
    )
    .await
    .unwrap()
    .actor()
}

fn member(organisation: &str, name: &str, user_id: Option<i64>) -> MemberInput {
    MemberInput {
        organisation: organisation.into(),
        name: name.into(),
        team_role: "위원".into(),
        user_id,
    }
}

fn change(owner: Option<i64>, status: &str, response: Option<&str>) -> ChallengeChange {
    ChallengeChange {
        owner_member_id: owner,
        status: status.into(),
        response: response.map(str::to_string),
        due_on: None,
    }
}

fn fields(e: &ServiceError) -> Vec<String> {
    e.field_errors().iter().map(|f| f.field.clone()).collect()
}

async fn audited(store: &Store, action: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM audit_log WHERE action = $1")
        .bind(action)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn challenges_move_only_forward_and_overdue_ones_are_flagged() {
    on_both(|url| async move {
        let (store, svc) = open(&url).await;
        svc.set_clock(Some(at(2026, 11, 1)));
        let a = institution(&svc, "BNK-A", Sector::Bank).await;
        let b = institution(&svc, "INS-B", Sector::Insurance).await;
        let ciso_a = ciso(&svc, "ciso.a", a).await;
        let ciso_b = ciso(&svc, "ciso.b", b).await;

        // Members: a CISO member is an institution user, with its sector; the others are not.
        let fsi = svc
            .add_response_member(&officer(), &member("fsi", "박민호", None))
            .await
            .unwrap();
        let cm = svc
            .add_response_member(&officer(), &member("ciso", "", Some(ciso_a.user_id)))
            .await
            .unwrap();
        let members = svc.response_members(&officer()).await.unwrap();
        let c = members.iter().find(|m| m.id == cm).unwrap();
        assert_eq!(c.sector.as_deref(), Some("bank"));
        assert_eq!(c.name, "ciso.a 이사");
        assert_eq!(c.institution_id, Some(a));
        let e = svc
            .add_response_member(&officer(), &member("ciso", "x", None))
            .await
            .unwrap_err();
        assert_eq!(fields(&e), ["user_id"]);
        let e = svc
            .add_response_member(&officer(), &member("fss", "x", Some(ciso_a.user_id)))
            .await
            .unwrap_err();
        assert_eq!(fields(&e), ["user_id"]);
        assert!(matches!(
            svc.add_response_member(&ciso_a, &member("fsc", "x", None))
                .await,
            Err(ServiceError::Forbidden(_))
        ));

        // The institution raises a challenge; a due day in the past is refused.
        let raise = |due: NaiveDate| ChallengeInput {
            institution_id: None,
            title: "AI 코딩 도우미 SaaS 범위".into(),
            description: "소스코드 전송이 허용 범위인지".into(),
            due_on: Some(due),
        };
        let e = svc
            .raise_challenge(&ciso_a, &raise(day(2026, 10, 31)))
            .await
            .unwrap_err();
        assert_eq!(fields(&e), ["due_on"]);
        let first = svc
            .raise_challenge(&ciso_a, &raise(day(2026, 11, 10)))
            .await
            .unwrap();
        // For another institution: not found; officers cannot raise.
        assert!(matches!(
            svc.raise_challenge(
                &ciso_b,
                &ChallengeInput {
                    institution_id: Some(a),
                    ..raise(day(2026, 11, 10))
                }
            )
            .await,
            Err(ServiceError::NotFound)
        ));
        assert!(matches!(
            svc.raise_challenge(&officer(), &raise(day(2026, 11, 10)))
                .await,
            Err(ServiceError::NotFound | ServiceError::Forbidden(_))
        ));
        let row = svc.challenge(&ciso_a, first).await.unwrap();
        assert_eq!(row.row.sector, "bank");
        assert_eq!(row.row.status, "open");
        assert!(matches!(
            svc.challenge(&ciso_b, first).await,
            Err(ServiceError::NotFound)
        ));
        assert!(svc.challenges(&ciso_b).await.unwrap().is_empty());
        assert_eq!(svc.challenges(&ciso_a).await.unwrap().len(), 1);

        // Illegal moves are refused and change nothing.
        let e = svc
            .update_challenge(
                &officer(),
                first,
                &change(Some(fsi), "resolved", Some("답")),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "illegal_transition");
        let e = svc
            .update_challenge(&officer(), first, &change(None, "in_progress", None))
            .await
            .unwrap_err();
        assert_eq!(fields(&e), ["owner_member_id"]);
        let still = svc.challenge(&officer(), first).await.unwrap();
        assert_eq!(still.row.status, "open");
        assert_eq!(still.row.owner_member_id, None);
        assert!(matches!(
            svc.update_challenge(&ciso_a, first, &change(Some(fsi), "in_progress", None))
                .await,
            Err(ServiceError::Forbidden(_))
        ));
        svc.update_challenge(&officer(), first, &change(Some(fsi), "in_progress", None))
            .await
            .unwrap();
        let e = svc
            .update_challenge(&officer(), first, &change(None, "resolved", Some("  ")))
            .await
            .unwrap_err();
        assert_eq!(fields(&e), ["response"]);
        svc.update_challenge(
            &officer(),
            first,
            &change(None, "resolved", Some("O등급으로 보아 허용 범위입니다.")),
        )
        .await
        .unwrap();
        for to in ["in_progress", "closed", "open", "resolved"] {
            let e = svc
                .update_challenge(&officer(), first, &change(None, to, Some("다시")))
                .await
                .unwrap_err();
            assert_eq!(e.code(), "illegal_transition", "resolved -> {to}");
        }
        let done = svc.challenge(&ciso_a, first).await.unwrap();
        assert_eq!(done.row.status, "resolved");
        assert_eq!(done.row.owner_member_id, Some(fsi), "the owner is kept");
        assert_eq!(
            done.row.response.as_deref(),
            Some("O등급으로 보아 허용 범위입니다.")
        );
        assert!(done.row.closed_at.is_some());
        assert_eq!(audited(&store, "challenge.in_progress").await, 1);
        assert_eq!(audited(&store, "challenge.resolved").await, 1);

        // Open may be closed directly. A challenge past its due day is overdue for both sides;
        // a resolved one never is.
        let second = svc
            .raise_challenge(&ciso_a, &raise(day(2026, 11, 5)))
            .await
            .unwrap();
        let third = svc
            .raise_challenge(&ciso_a, &raise(day(2026, 11, 5)))
            .await
            .unwrap();
        svc.update_challenge(&officer(), third, &change(None, "closed", None))
            .await
            .unwrap();
        svc.set_clock(Some(at(2026, 11, 7)));
        for who in [&ciso_a, &officer()] {
            let all = svc.challenges(who).await.unwrap();
            let s = all.iter().find(|c| c.row.id == second).unwrap();
            assert!(s.overdue);
            assert_eq!(s.days_left, -2);
            assert!(!all.iter().find(|c| c.row.id == first).unwrap().overdue);
            assert!(!all.iter().find(|c| c.row.id == third).unwrap().overdue);
        }
        svc.set_clock(None);
    })
    .await;
}

#[tokio::test]
async fn check_ins_record_attendance_and_flag_overdue_actions() {
    on_both(|url| async move {
        let (store, svc) = open(&url).await;
        svc.set_clock(Some(at(2026, 11, 18)));
        let fsc = svc
            .add_response_member(&officer(), &member("fsc", "정하늘", None))
            .await
            .unwrap();
        let fss = svc
            .add_response_member(&officer(), &member("fss", "이수진", None))
            .await
            .unwrap();
        let gone = svc
            .add_response_member(&officer(), &member("fsi", "퇴임 위원", None))
            .await
            .unwrap();
        svc.retire_response_member(&officer(), gone).await.unwrap();
        assert_eq!(
            svc.retire_response_member(&officer(), gone)
                .await
                .unwrap_err()
                .code(),
            "illegal_transition"
        );
        let input = |held: NaiveDate, attendees: Vec<i64>| CheckinInput {
            held_on: Some(held),
            notes: "가이드 개정 방향 논의".into(),
            attendees,
        };
        let e = svc
            .record_checkin(&officer(), &input(day(2026, 11, 19), vec![fsc]))
            .await
            .unwrap_err();
        assert_eq!(fields(&e), ["held_on"]);
        let e = svc
            .record_checkin(&officer(), &input(day(2026, 11, 18), vec![]))
            .await
            .unwrap_err();
        assert_eq!(fields(&e), ["attendees"]);
        let e = svc
            .record_checkin(&officer(), &input(day(2026, 11, 18), vec![fsc, gone]))
            .await
            .unwrap_err();
        assert_eq!(fields(&e), ["attendees"]);
        let k = svc
            .record_checkin(&officer(), &input(day(2026, 11, 18), vec![fsc, fss, fsc]))
            .await
            .unwrap();
        let action = |desc: &str, owner: i64, due: NaiveDate| ActionInput {
            description: desc.into(),
            owner_member_id: Some(owner),
            due_on: Some(due),
        };
        let e = svc
            .add_checkin_action(&officer(), k, &action("의견 취합", fss, day(2026, 11, 1)))
            .await
            .unwrap_err();
        assert_eq!(fields(&e), ["due_on"]);
        let e = svc
            .add_checkin_action(&officer(), k, &action("의견 취합", gone, day(2026, 11, 30)))
            .await
            .unwrap_err();
        assert_eq!(fields(&e), ["owner_member_id"]);
        let late = svc
            .add_checkin_action(&officer(), k, &action("의견 취합", fss, day(2026, 11, 30)))
            .await
            .unwrap();
        let later = svc
            .add_checkin_action(&officer(), k, &action("동향 공유", fsc, day(2026, 12, 15)))
            .await
            .unwrap();
        let checkin = svc.checkin(&officer(), k).await.unwrap();
        let names: Vec<&str> = checkin.attendees.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(checkin.actions.iter().all(|a| !a.overdue));

        svc.set_clock(Some(at(2026, 12, 6)));
        let open = svc.open_checkin_actions(&officer()).await.unwrap();
        assert!(open.iter().find(|a| a.row.id == late).unwrap().overdue);
        assert!(!open.iter().find(|a| a.row.id == later).unwrap().overdue);
        assert_eq!(
            svc.complete_checkin_action(&officer(), late).await.unwrap(),
            k
        );
        assert_eq!(
            svc.complete_checkin_action(&officer(), late)
                .await
                .unwrap_err()
                .code(),
            "illegal_transition"
        );
        let open = svc.open_checkin_actions(&officer()).await.unwrap();
        assert_eq!(open.len(), 1);
        let done = svc.checkin(&officer(), k).await.unwrap();
        assert!(
            !done.actions.iter().any(|a| a.overdue),
            "done is not overdue"
        );
        assert_eq!(audited(&store, "checkin.action_done").await, 1);
        // Institutions do not see the check-ins.
        let staff = Actor {
            user_id: 77,
            username: "staff".into(),
            role: Role::SecurityStaff,
            institution_id: Some(1),
        };
        assert!(matches!(
            svc.checkins(&staff).await,
            Err(ServiceError::Forbidden(_))
        ));
        svc.set_clock(None);
    })
    .await;
}

/// An evaluated application, an issued letter and its obligations, written as the earlier
/// steps of the program would have stored them.
async fn letter_holder(store: &Store, institution: i64, score: f64, levels: &[u8]) -> i64 {
    let pool = store.pool();
    let assessment: serde_json::Map<String, serde_json::Value> = levels
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("c{i}"), serde_json::json!(l)))
        .collect();
    let content = serde_json::json!({ "self_assessment": assessment }).to_string();
    let app: i64 = sqlx::query_scalar("INSERT INTO applications (institution_id, state, content_json, created_at, updated_at) VALUES ($1, 'approved', $2, '2026-05-21T00:00:00Z', '2026-06-20T00:00:00Z') RETURNING id")
        .bind(institution)
        .bind(content)
        .fetch_one(pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO evaluations (application_id, policy_version, passed, score, disagreement, result_json, computed_at) VALUES ($1, 1, 1, $2, 0, '{}', '2026-06-10T00:00:00Z')")
        .bind(app)
        .bind(score)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query_scalar("INSERT INTO letters (letter_number, application_id, institution_id, phase_id, state, draft_json, issued_on, valid_until, created_at, updated_at) VALUES ($1, $2, $3, 'phase-1', 'issued', '{}', '2026-06-23', '2028-06-22', '2026-06-23T05:00:00Z', '2026-06-23T05:00:00Z') RETURNING id")
        .bind(format!("FSC-2026-{institution:04}"))
        .bind(app)
        .bind(institution)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn obligation(
    store: &Store,
    letter: i64,
    institution: i64,
    status: &str,
    submitted: Option<&str>,
) {
    sqlx::query("INSERT INTO obligations (letter_id, institution_id, kind, sequence, period_start, period_end, due_on, status, submitted_at) VALUES ($1, $2, 'quarterly_report', 1, '2026-07-01', '2026-09-30', '2026-10-15', $3, $4)")
        .bind(letter)
        .bind(institution)
        .bind(status)
        .bind(submitted)
        .execute(store.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn the_removal_ranking_gives_every_factor_its_reason_and_the_policy_version() {
    on_both(|url| async move {
        let (store, svc) = open(&url).await;
        svc.set_clock(Some(at(2026, 12, 1)));
        let a = institution(&svc, "BNK-A", Sector::Bank).await;
        let b = institution(&svc, "BNK-B", Sector::Bank).await;
        let c = institution(&svc, "INS-C", Sector::Insurance).await;
        let la = letter_holder(&store, a, 3.5, &[3, 4]).await;
        let lb = letter_holder(&store, b, 3.5, &[3, 4]).await;
        let lc = letter_holder(&store, c, 3.0, &[3]).await;
        // A reported on time (23:30 KST on the due day) and was accepted; B did not report.
        obligation(&store, la, a, "accepted", Some("2026-10-15T14:30:00Z")).await;
        obligation(&store, lb, b, "open", None).await;
        // B's AI security test stopped a service for 45 minutes: an incident, and immunity
        // refused.
        let ciso_b = ciso(&svc, "ciso.b", b).await;
        let report: haechi_service::immunity::DisruptionInput =
            serde_json::from_value(serde_json::json!({
                "institution_id": b, "activity": "ai_security_test", "title": "점검 중 장애",
                "started_at": "2026-11-01T00:00:00", "detected_at": "2026-11-01T00:05:00",
                "outage_minutes": 45, "affected_services": "모바일 뱅킹"
            }))
            .unwrap();
        let disruption = svc.file_disruption(&ciso_b, &report).await.unwrap();
        svc.decide_immunity(&officer(), disruption, false, "사전 점검 계획 미비")
            .await
            .unwrap();
        // C was handed over with its letter, which was revoked afterwards: still on the track.
        svc.hand_over_to_full_removal(&officer(), lc, "보안 수준 우수")
            .await
            .unwrap();
        sqlx::query("UPDATE letters SET state = 'revoked' WHERE id = $1")
            .bind(lc)
            .execute(store.pool())
            .await
            .unwrap();

        let track = svc.removal_track(&officer()).await.unwrap();
        let version = svc.policy().version;
        assert_eq!(track.policy_version, version);
        assert_eq!(track.candidates.len(), 3);
        let of = |id: i64| {
            track
                .candidates
                .iter()
                .find(|x| x.institution_id == id)
                .unwrap()
        };
        let (ca, cb, cc) = (of(a), of(b), of(c));
        assert_eq!(ca.ranked.rank, 1, "the clean record ranks first");
        assert!(ca.ranked.ready, "{:?}", ca.ranked.reasons);
        assert_eq!(ca.ranked.policy_version, version);
        assert_eq!(ca.input.reports_on_time, 1);
        assert_eq!(
            ca.letter_number.as_deref(),
            Some(&*format!("FSC-2026-{a:04}"))
        );
        // Every factor with value, weight, contribution and a reason in both languages.
        assert_eq!(ca.ranked.factors.len(), Factor::ALL.len());
        for f in &ca.ranked.factors {
            assert!(
                (f.contribution - f.value * f.weight / 100.0).abs() < 0.06,
                "{f:?}"
            );
            assert!(!f.reason.ko.is_empty() && !f.reason.en.is_empty());
        }
        let sum: f64 = ca.ranked.factors.iter().map(|f| f.contribution).sum();
        assert!((ca.ranked.score - sum).abs() < 0.06);
        let factor = |x: &haechi_service::removal::RemovalCandidate, f: Factor| {
            x.ranked
                .factors
                .iter()
                .find(|s| s.factor == f)
                .unwrap()
                .clone()
        };
        assert_eq!(factor(ca, Factor::Sla).reason.code, "sla_missing");
        assert!((factor(ca, Factor::Maturity).value - 83.3).abs() < 1e-9);
        // B: the overdue report blocks it; the incident and the refusal count against it.
        assert!(!cb.ranked.ready);
        assert!(cb
            .ranked
            .reasons
            .iter()
            .any(|r| r.code == "blocked_overdue_reports"));
        assert_eq!(cb.input.reports_overdue, 1);
        assert_eq!((cb.input.incidents, cb.input.immunity_refused), (1, 1));
        assert!(factor(cb, Factor::Incidents).value < factor(ca, Factor::Incidents).value);
        assert!(factor(cb, Factor::Incidents)
            .reason
            .ko
            .contains("면책 불인정 1건"));
        // C: on the track through its hand-over.
        let h = cc.handed_over.as_ref().expect("handed over");
        assert_eq!((h.letter_id, h.note.as_str()), (lc, "보안 수준 우수"));

        // Shortlist first, with a reason; then decide. Each step is stored with its ranking.
        assert_eq!(
            svc.decide_removal(&officer(), a, RemovalStep::Recommend, "우수")
                .await
                .unwrap_err()
                .code(),
            "not_shortlisted"
        );
        let e = svc
            .decide_removal(&officer(), a, RemovalStep::Shortlist, "  ")
            .await
            .unwrap_err();
        assert_eq!(fields(&e), ["reason"]);
        svc.decide_removal(&officer(), a, RemovalStep::Shortlist, "점수 1위")
            .await
            .unwrap();
        assert_eq!(
            svc.decide_removal(&officer(), a, RemovalStep::Shortlist, "다시")
                .await
                .unwrap_err()
                .code(),
            "illegal_transition"
        );
        svc.decide_removal(&officer(), a, RemovalStep::Recommend, "현장 점검 결과 적정")
            .await
            .unwrap();
        let now = svc.removal_candidate(&officer(), a).await.unwrap();
        assert_eq!(now.history.len(), 2);
        assert_eq!(now.decision.as_ref().unwrap().kind, "recommend");
        assert_eq!(now.shortlisted.as_ref().unwrap().reason, "점수 1위");
        let stored: serde_json::Value = serde_json::from_str(&now.history[0].ranking_json).unwrap();
        assert_eq!(stored["policy_version"], serde_json::json!(version));
        assert_eq!(now.history[0].policy_version, version);
        assert_eq!(audited(&store, "removal.shortlist").await, 1);
        assert_eq!(audited(&store, "removal.recommend").await, 1);
        // Not a candidate: not found. Other roles: refused.
        let d = institution(&svc, "BNK-D", Sector::Bank).await;
        assert!(matches!(
            svc.removal_candidate(&officer(), d).await,
            Err(ServiceError::NotFound)
        ));
        for role in [
            Role::Analyst,
            Role::Ciso,
            Role::Advisor,
            Role::SupportCenter,
        ] {
            let who = Actor {
                user_id: 5,
                username: "x".into(),
                role,
                institution_id: None,
            };
            assert!(matches!(
                svc.removal_track(&who).await,
                Err(ServiceError::Forbidden(_))
            ));
        }
        let auditor = Actor {
            user_id: 6,
            username: "auditor".into(),
            role: Role::Auditor,
            institution_id: None,
        };
        assert!(svc.removal_track(&auditor).await.is_ok());
        assert!(matches!(
            svc.decide_removal(&auditor, a, RemovalStep::NotNow, "x")
                .await,
            Err(ServiceError::Forbidden(_))
        ));

        // A policy without the section cannot rank, and says so.
        let text = haechi_policy::DEFAULT_POLICY_TOML;
        let start = text.find("[removal]\n").unwrap();
        let end =
            start + text[start..].find("maturity = 10.0\n").unwrap() + "maturity = 10.0\n".len();
        let without = format!("{}{}", &text[..start], &text[end..]);
        svc.load_policy(&Actor::system(), &without).await.unwrap();
        assert_eq!(
            svc.removal_track(&officer()).await.unwrap_err().code(),
            "no_removal_policy"
        );
        svc.set_clock(None);
    })
    .await;
}
