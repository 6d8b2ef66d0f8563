//! C8 sanction immunity and the incident clock: each SPEC §5 criterion at, just above and just
//! below its threshold through the filing use case; the incident trigger; the committee's
//! decision, the appeal as a new version and tenant isolation; the reporting clock's deadlines
//! (initial, interim after 2 months, then every 6 months, final at closure).

use chrono::{NaiveDate, NaiveDateTime};
use haechi_core::{Actor, Role};
use haechi_policy::incident;
use haechi_policy::Policy;
use haechi_service::immunity::{clock, BreachInput, DisruptionInput};
use haechi_service::{Service, ServiceError};
use haechi_store::IncidentReportRow;

use crate::patching::{ciso, institution};
use crate::{on_both, open};

fn t(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, min, 0)
        .unwrap()
}

fn officer() -> Actor {
    Actor {
        user_id: 900,
        username: "officer".into(),
        role: Role::RegulatorOfficer,
        institution_id: None,
    }
}

fn staff(institution_id: i64) -> Actor {
    Actor {
        user_id: 2000 + institution_id,
        username: format!("staff{institution_id}"),
        role: Role::SecurityStaff,
        institution_id: Some(institution_id),
    }
}

/// A report that meets every criterion and names every safeguard: an AI security test that
/// stopped a service for 20 minutes.
fn minor(institution_id: i64) -> DisruptionInput {
    DisruptionInput {
        institution_id,
        activity: "ai_security_test".into(),
        title: "AI 모의해킹 중 인터넷뱅킹 지연".into(),
        started_at: Some(t(2026, 10, 1, 1, 0)),
        detected_at: Some(t(2026, 10, 1, 1, 5)),
        recovered_at: Some(t(2026, 10, 1, 1, 20)),
        affected_services: "인터넷뱅킹".into(),
        affected_subscribers: 500,
        pre_testing: true,
        spread_prevention: true,
        service_continuity: true,
        customer_advance_notice: true,
        recovery_actions: "롤백".into(),
        consumer_actions: "안내 문자 발송".into(),
        ..DisruptionInput::default()
    }
}

async fn setup(url: &str) -> (Service, i64) {
    let (_, svc) = open(url).await;
    let inst = institution(&svc, "IMM-1").await;
    svc.set_clock(Some(t(2026, 11, 1, 0, 0)));
    (svc, inst)
}

/// One fixture per criterion: the change to the minor report, the criterion it moves, and
/// whether that criterion passes.
type Change = fn(&mut DisruptionInput);

const CASES: &[(&str, Change, &str, bool)] = &[
    // Outage: <= 4 hours (240 minutes).
    (
        "outage 239",
        |d| d.outage_minutes = Some(239),
        "outage-duration",
        true,
    ),
    (
        "outage 240",
        |d| d.outage_minutes = Some(240),
        "outage-duration",
        true,
    ),
    (
        "outage 241",
        |d| d.outage_minutes = Some(241),
        "outage-duration",
        false,
    ),
    // Financial damage: < KRW 100 million.
    (
        "damage 99,999,999",
        |d| d.financial_damage_krw = 99_999_999,
        "financial-damage",
        true,
    ),
    (
        "damage 100,000,000",
        |d| d.financial_damage_krw = 100_000_000,
        "financial-damage",
        false,
    ),
    (
        "damage 100,000,001",
        |d| d.financial_damage_krw = 100_000_001,
        "financial-damage",
        false,
    ),
    // Leaked customer records: < 10,000.
    (
        "records 9,999",
        |d| d.leaked_records = 9_999,
        "customer-records",
        true,
    ),
    (
        "records 10,000",
        |d| d.leaked_records = 10_000,
        "customer-records",
        false,
    ),
    (
        "records 10,001",
        |d| d.leaked_records = 10_001,
        "customer-records",
        false,
    ),
    // No personal credit information; no intent.
    (
        "no credit info",
        |d| d.credit_info_leaked = false,
        "no-credit-info-leak",
        true,
    ),
    (
        "credit info",
        |d| d.credit_info_leaked = true,
        "no-credit-info-leak",
        false,
    ),
    ("no intent", |d| d.intent = false, "no-intent", true),
    ("intent", |d| d.intent = true, "no-intent", false),
];

#[tokio::test]
async fn each_criterion_at_and_around_its_threshold() {
    on_both(|url| async move {
        let (svc, inst) = setup(&url).await;
        let me = ciso(inst);
        for (name, change, rule, expect) in CASES {
            let mut input = minor(inst);
            // Long enough a recovery for any outage the fixtures give.
            input.recovered_at = Some(t(2026, 10, 1, 6, 0));
            input.outage_minutes = Some(20);
            change(&mut input);
            let id = svc.file_disruption(&me, &input).await.unwrap();
            let d = svc.disruption(&me, id).await.unwrap();
            let v = d.latest().unwrap();
            assert_eq!(v.row.state, "pending", "{name}");
            assert_eq!(v.row.policy_version, svc.policy().version, "{name}");
            let c = v
                .evaluation
                .immunity
                .criteria
                .iter()
                .find(|c| c.rule == *rule)
                .unwrap_or_else(|| panic!("{name}: no criterion {rule}"));
            assert_eq!(c.passed, *expect, "{name}: {c:?}");
            // Every other criterion passes, so the report is eligible exactly when this one does.
            let others = v
                .evaluation
                .immunity
                .criteria
                .iter()
                .filter(|o| o.rule != *rule);
            assert!(others.clone().all(|o| o.passed), "{name}");
            assert_eq!(v.row.eligible, *expect, "{name}");
            assert_eq!(v.evaluation.immunity.eligible, *expect, "{name}");
            if !expect {
                assert!(
                    v.evaluation
                        .immunity
                        .reasons
                        .iter()
                        .any(|r| r.code == "criterion_failed"),
                    "{name}"
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn preconditions_and_scope_decide_eligibility_with_reasons() {
    on_both(|url| async move {
        let (svc, inst) = setup(&url).await;
        let me = ciso(inst);
        let eligible = |d: &haechi_service::immunity::Disruption| d.latest().unwrap().row.eligible;
        let id = svc.file_disruption(&me, &minor(inst)).await.unwrap();
        assert!(eligible(&svc.disruption(&me, id).await.unwrap()));
        // Each work-plan item missing, and each measure afterwards missing.
        let drops: &[(&str, Change, &str)] = &[
            (
                "pre-testing",
                |d| d.pre_testing = false,
                "work_plan_item_missing",
            ),
            (
                "spread prevention",
                |d| d.spread_prevention = false,
                "work_plan_item_missing",
            ),
            (
                "continuity",
                |d| d.service_continuity = false,
                "work_plan_item_missing",
            ),
            (
                "advance notice",
                |d| d.customer_advance_notice = false,
                "work_plan_item_missing",
            ),
            (
                "no recovery time",
                |d| {
                    d.recovered_at = None;
                    d.outage_minutes = Some(20);
                },
                "post_event_action_missing",
            ),
            (
                "no recovery actions",
                |d| d.recovery_actions.clear(),
                "post_event_action_missing",
            ),
            (
                "no consumer protection",
                |d| d.consumer_actions.clear(),
                "post_event_action_missing",
            ),
            // An emergency patch is in scope only for an authority's advisory.
            (
                "patch without advisory",
                |d| d.activity = "emergency_patch".into(),
                "advisory_not_from_authority",
            ),
        ];
        for (name, change, code) in drops {
            let mut input = minor(inst);
            change(&mut input);
            let id = svc.file_disruption(&me, &input).await.unwrap();
            let d = svc.disruption(&me, id).await.unwrap();
            assert!(!eligible(&d), "{name}");
            let reasons = &d.latest().unwrap().evaluation.immunity.reasons;
            assert!(
                reasons.iter().any(|r| r.code == *code),
                "{name}: {reasons:?}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn bad_reports_change_nothing() {
    on_both(|url| async move {
        let (svc, inst) = setup(&url).await;
        let me = ciso(inst);
        let bad: &[(Change, &str)] = &[
            (|d| d.activity = "fishing".into(), "activity"),
            (|d| d.title = " ".into(), "title"),
            (
                |d| d.detected_at = Some(t(2026, 9, 30, 0, 0)),
                "detected_at",
            ),
            (
                |d| d.recovered_at = Some(t(2026, 9, 30, 0, 0)),
                "recovered_at",
            ),
            (|d| d.started_at = Some(t(2027, 1, 1, 0, 0)), "started_at"),
            (|d| d.outage_minutes = Some(-1), "outage_minutes"),
            // Longer than from start to recovery.
            (|d| d.outage_minutes = Some(21), "outage_minutes"),
            (|d| d.financial_damage_krw = -5, "financial_damage_krw"),
            (|d| d.patch_id = Some(999_999), "patch_id"),
            (|d| d.advisory_id = Some(999_999), "advisory_id"),
        ];
        for (change, field) in bad {
            let mut input = minor(inst);
            change(&mut input);
            let e = svc.file_disruption(&me, &input).await.unwrap_err();
            assert!(
                e.field_errors().iter().any(|f| f.field == *field),
                "{field}: {e:?}"
            );
        }
        assert!(svc.disruptions(&me).await.unwrap().is_empty());
        // Another institution's report cannot be filed, an officer cannot file one.
        let other = institution(&svc, "IMM-2").await;
        assert!(matches!(
            svc.file_disruption(&me, &minor(other)).await,
            Err(ServiceError::NotFound)
        ));
        assert!(matches!(
            svc.file_disruption(&officer(), &minor(inst)).await,
            Err(ServiceError::Forbidden(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn the_committee_decides_the_institution_appeals_and_sees_the_reasons() {
    on_both(|url| async move {
        let (svc, inst) = setup(&url).await;
        let me = ciso(inst);
        let mut input = minor(inst);
        input.financial_damage_krw = 150_000_000;
        let id = svc.file_disruption(&staff(inst), &input).await.unwrap();
        // Only the committee decides, and only with a rationale.
        assert!(matches!(
            svc.decide_immunity(&me, id, true, "x").await,
            Err(ServiceError::Forbidden(_))
        ));
        let e = svc
            .decide_immunity(&officer(), id, false, "  ")
            .await
            .unwrap_err();
        assert!(e.field_errors().iter().any(|f| f.field == "rationale"));
        svc.decide_immunity(&officer(), id, false, "피해액 1억 원 이상")
            .await
            .unwrap();
        assert_eq!(
            svc.decide_immunity(&officer(), id, true, "again")
                .await
                .unwrap_err()
                .code(),
            "illegal_transition"
        );
        let d = svc.disruption(&me, id).await.unwrap();
        let v1 = d.latest().unwrap();
        assert_eq!(v1.row.state, "refused");
        assert_eq!(v1.row.rationale.as_deref(), Some("피해액 1억 원 이상"));
        assert_eq!(v1.row.decided_by.as_deref(), Some("officer"));
        // Staff may not appeal; the CISO does, with a reason, and a second version awaits.
        assert!(matches!(
            svc.appeal_immunity(&staff(inst), id, "r").await,
            Err(ServiceError::Forbidden(_))
        ));
        assert!(svc.appeal_immunity(&me, id, "").await.is_err());
        assert_eq!(
            svc.appeal_immunity(&me, id, "보험 보전으로 실제 피해 없음")
                .await
                .unwrap(),
            2
        );
        assert_eq!(
            svc.appeal_immunity(&me, id, "twice")
                .await
                .unwrap_err()
                .code(),
            "illegal_transition"
        );
        svc.decide_immunity(&officer(), id, true, "보험 보전 확인, 재심 인용")
            .await
            .unwrap();
        let d = svc.disruption(&me, id).await.unwrap();
        assert_eq!(d.versions.len(), 2);
        assert_eq!(d.versions[0].row.state, "refused");
        assert_eq!(d.versions[1].row.state, "granted");
        assert_eq!(
            d.versions[1].row.appeal_reason.as_deref(),
            Some("보험 보전으로 실제 피해 없음")
        );
        // Another institution sees nothing of it.
        let other = institution(&svc, "IMM-2").await;
        assert!(matches!(
            svc.disruption(&ciso(other), id).await,
            Err(ServiceError::NotFound)
        ));
        assert!(svc.disruptions(&ciso(other)).await.unwrap().is_empty());
        assert_eq!(svc.disruptions(&officer()).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn the_outage_decides_whether_an_incident_is_opened() {
    on_both(|url| async move {
        let (svc, inst) = setup(&url).await;
        let me = ciso(inst);
        // (outage minutes, subscribers, incident opened): 30 min, or 10 min with 10,000.
        for (minutes, subscribers, expect) in [
            (29, 0, false),
            (30, 0, true),
            (31, 0, true),
            (9, 10_000, false),
            (10, 9_999, false),
            (10, 10_000, true),
            (11, 10_001, true),
        ] {
            let mut input = minor(inst);
            input.recovered_at = Some(t(2026, 10, 1, 2, 0));
            input.outage_minutes = Some(minutes);
            input.affected_subscribers = subscribers;
            let id = svc.file_disruption(&me, &input).await.unwrap();
            let d = svc.disruption(&me, id).await.unwrap();
            assert_eq!(
                d.incident_id.is_some(),
                expect,
                "{minutes} min, {subscribers}"
            );
            assert_eq!(
                d.latest().unwrap().evaluation.reportability.reportable,
                expect
            );
            if let Some(i) = d.incident_id {
                let inc = svc.incident(&me, i).await.unwrap();
                // Aware when detected (01:05 UTC): initial report within a day.
                assert_eq!(inc.clock[0].due, Some(t(2026, 10, 2, 1, 5)));
                // A month on, nothing filed: the initial report is overdue on both sides.
                assert!(inc.clock[0].overdue && inc.overdue());
                assert!(svc
                    .incidents(&officer())
                    .await
                    .unwrap()
                    .iter()
                    .any(|x| x.row.id == i && x.overdue()));
            }
        }
    })
    .await;
}

#[tokio::test]
async fn incident_reports_are_filed_in_order_and_the_final_closes() {
    on_both(|url| async move {
        let (svc, inst) = setup(&url).await;
        let me = ciso(inst);
        let mut input = minor(inst);
        input.outage_minutes = None;
        input.recovered_at = Some(t(2026, 10, 1, 3, 0));
        let d = svc.file_disruption(&me, &input).await.unwrap();
        let i = svc.disruption(&me, d).await.unwrap().incident_id.unwrap();
        assert_eq!(
            svc.file_incident_report(&me, i, "interim", "x")
                .await
                .unwrap_err()
                .code(),
            "initial_first"
        );
        assert!(svc
            .file_incident_report(&me, i, "initial", " ")
            .await
            .is_err());
        assert!(matches!(
            svc.file_incident_report(&officer(), i, "initial", "x")
                .await,
            Err(ServiceError::Forbidden(_))
        ));
        svc.file_incident_report(&staff(inst), i, "initial", "최초 보고")
            .await
            .unwrap();
        assert_eq!(
            svc.file_incident_report(&me, i, "initial", "x")
                .await
                .unwrap_err()
                .code(),
            "initial_filed"
        );
        let inc = svc.incident(&me, i).await.unwrap();
        assert!(
            !inc.clock[0].overdue && inc.clock[0].late,
            "filed a month after its due time"
        );
        svc.file_incident_report(&me, i, "interim", "중간 보고")
            .await
            .unwrap();
        svc.file_incident_report(&me, i, "final", "종결 보고")
            .await
            .unwrap();
        let inc = svc.incident(&me, i).await.unwrap();
        assert!(inc.row.closed_at.is_some());
        assert!(!inc.overdue());
        assert_eq!(
            svc.file_incident_report(&me, i, "interim", "x")
                .await
                .unwrap_err()
                .code(),
            "incident_closed"
        );
        let other = institution(&svc, "IMM-2").await;
        assert!(matches!(
            svc.incident(&ciso(other), i).await,
            Err(ServiceError::NotFound)
        ));
        assert!(matches!(
            svc.file_incident_report(&ciso(other), i, "interim", "x")
                .await,
            Err(ServiceError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn a_data_class_breach_is_an_incident_of_its_own_kind() {
    on_both(|url| async move {
        let (svc, inst) = setup(&url).await;
        let breach = BreachInput {
            institution_id: inst,
            title: "고객정보 외부 SaaS 전송".into(),
            description: "승인 범위 밖".into(),
            aware_at: Some(t(2026, 10, 20, 0, 0)),
            letter_id: Some(999_999),
        };
        let e = svc.record_breach(&officer(), &breach).await.unwrap_err();
        assert!(e.field_errors().iter().any(|f| f.field == "letter_id"));
        let id = svc
            .record_breach(
                &officer(),
                &BreachInput {
                    letter_id: None,
                    ..breach.clone()
                },
            )
            .await
            .unwrap();
        let inc = svc.incident(&ciso(inst), id).await.unwrap();
        assert_eq!(inc.row.kind, "data_breach");
        assert_eq!(inc.reportability.trigger, "data_breach");
        assert_eq!(inc.clock[0].due, Some(t(2026, 10, 21, 0, 0)));
        assert!(matches!(
            svc.record_breach(
                &Actor {
                    role: Role::Auditor,
                    institution_id: None,
                    ..officer()
                },
                &breach
            )
            .await,
            Err(ServiceError::Forbidden(_))
        ));
    })
    .await;
}

// ---------------------------------------------------------------- the clock, as a pure function

fn report(kind: &str, seq: i64, at: NaiveDateTime) -> IncidentReportRow {
    IncidentReportRow {
        id: seq,
        incident_id: 1,
        kind: kind.into(),
        sequence: seq,
        body: "b".into(),
        filed_by: "u".into(),
        filed_at: at.and_utc().to_rfc3339(),
    }
}

/// (kind, due, overdue) of each entry.
fn check(
    filed: &[IncidentReportRow],
    closed: Option<NaiveDateTime>,
    now: NaiveDateTime,
    expect: &[(&str, Option<NaiveDateTime>, bool)],
) {
    let d = incident::deadlines(&Policy::default_policy(), t(2026, 7, 1, 0, 0));
    let got: Vec<(String, Option<NaiveDateTime>, bool)> = clock(&d, filed, closed, now)
        .into_iter()
        .map(|c| (c.kind, c.due, c.overdue))
        .collect();
    let expect: Vec<(String, Option<NaiveDateTime>, bool)> = expect
        .iter()
        .map(|(k, d, o)| (k.to_string(), *d, *o))
        .collect();
    assert_eq!(got, expect, "now {now}");
}

#[test]
fn the_clock_moves_from_two_months_to_every_six() {
    let initial = Some(t(2026, 7, 2, 0, 0));
    let first = Some(t(2026, 9, 1, 0, 0));
    let second = Some(t(2027, 3, 1, 0, 0));
    let third = Some(t(2027, 9, 1, 0, 0));
    // Just aware: initial due in a day, first interim in two months, final at closure.
    check(
        &[],
        None,
        t(2026, 7, 1, 12, 0),
        &[
            ("initial", initial, false),
            ("interim", first, false),
            ("final", None, false),
        ],
    );
    // A minute past a day without the initial report: overdue.
    check(
        &[],
        None,
        t(2026, 7, 2, 0, 1),
        &[
            ("initial", initial, true),
            ("interim", first, false),
            ("final", None, false),
        ],
    );
    let init = report("initial", 1, t(2026, 7, 1, 6, 0));
    // Two months and a day, no interim: overdue; the next is six months after it, not two.
    check(
        std::slice::from_ref(&init),
        None,
        t(2026, 9, 2, 0, 0),
        &[
            ("initial", initial, false),
            ("interim", first, true),
            ("interim", second, false),
            ("final", None, false),
        ],
    );
    // The first interim filed on time; the second is overdue a day after 1 March 2027, the
    // third due 1 September 2027.
    let interim = report("interim", 1, t(2026, 8, 30, 0, 0));
    check(
        &[init.clone(), interim.clone()],
        None,
        t(2027, 3, 2, 0, 0),
        &[
            ("initial", initial, false),
            ("interim", first, false),
            ("interim", second, true),
            ("interim", third, false),
            ("final", None, false),
        ],
    );
    // Closed within two months: no interim report is owed; the final report was filed.
    let fin = report("final", 1, t(2026, 8, 15, 0, 0));
    check(
        &[init.clone(), fin],
        Some(t(2026, 8, 15, 0, 0)),
        t(2027, 1, 1, 0, 0),
        &[("initial", initial, false), ("final", None, false)],
    );
}
