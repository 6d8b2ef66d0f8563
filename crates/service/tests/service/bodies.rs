//! C14 fintech funding: eligibility by size class and sector, the call's window, awards never
//! over the budget — a seeded property test of random awards and cancellations run concurrently
//! on both databases —, cancellation returning the amount, disbursements never over the award.

use chrono::NaiveDate;
use haechi_core::{Actor, InstitutionInput, Role, Sector, SizeClass};
use haechi_service::bodies::{Eligibility, FundingCallInput};
use haechi_service::{Service, ServiceError};
use rand::{Rng, SeedableRng};

use crate::{on_both, open};

fn support() -> Actor {
    Actor {
        user_id: 901,
        username: "support".into(),
        role: Role::SupportCenter,
        institution_id: None,
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn firm(svc: &Service, code: &str, size: SizeClass, sector: Sector) -> i64 {
    let d = day(2026, 6, 30);
    svc.create_institution(
        &Actor::system(),
        InstitutionInput {
            code: code.into(),
            name_ko: format!("{code} 핀테크"),
            name_en: format!("{code} Fintech"),
            sector,
            total_assets_krw: 50_000_000_000,
            assets_as_of: d,
            full_time_employees: 40,
            employees_as_of: d,
            dedicated_ciso: false,
            ciso_name: None,
            size_class: size,
            contact_name: None,
            contact_email: None,
            contact_phone: None,
        },
    )
    .await
    .unwrap()
    .id
}

async fn call(svc: &Service, budget: i64) -> i64 {
    svc.create_funding_call(
        &support(),
        &FundingCallInput {
            title: "소규모 금융회사 AI 보안 지원".into(),
            budget_krw: budget,
            eligibility: Eligibility {
                size_classes: vec![SizeClass::Small],
                sectors: vec![Sector::Fintech],
            },
            opens_on: Some(day(2026, 11, 1)),
            closes_on: Some(day(2026, 12, 31)),
        },
    )
    .await
    .unwrap()
}

async fn awarded_total(svc: &Service, call_id: i64) -> (i64, i64, i64) {
    let c = svc.funding_call(&support(), call_id).await.unwrap();
    let sum: i64 = c
        .applications
        .iter()
        .filter(|a| a.state == "awarded")
        .map(|a| a.award_krw.unwrap())
        .sum();
    (c.row.awarded_krw, sum, c.row.budget_krw)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sequence_of_concurrent_awards_and_cancellations_exceeds_the_budget() {
    on_both(|url| async move {
        let (_, svc) = open(&url).await;
        svc.set_clock(Some(day(2026, 11, 15).and_hms_opt(1, 0, 0).unwrap()));
        let mut firms = Vec::new();
        for i in 0..10 {
            firms.push(
                firm(
                    &svc,
                    &format!("FIN-{i:02}"),
                    SizeClass::Small,
                    Sector::Fintech,
                )
                .await,
            );
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(17);
        for round in 0..4 {
            let budget = rng.gen_range(300_000..1_200_000);
            let c = call(&svc, budget).await;
            let mut apps = Vec::new();
            for f in &firms {
                let requested = rng.gen_range(50_000..400_000);
                let id = svc
                    .apply_funding(&support(), c, *f, "AI 취약점 점검 지원", requested)
                    .await
                    .unwrap();
                apps.push((id, requested));
            }
            // Awards for every application and cancellations of some, all at once.
            let mut tasks = tokio::task::JoinSet::new();
            for (id, requested) in &apps {
                let amount = rng.gen_range(1..=*requested);
                let (award, id) = (svc.clone(), *id);
                tasks.spawn(async move {
                    award
                        .decide_funding(&support(), id, Some(amount), Some(80), "심사 통과")
                        .await
                        .map_err(|e| e.code())
                });
                if rng.gen_bool(0.4) {
                    let cancel = svc.clone();
                    tasks.spawn(async move {
                        cancel
                            .cancel_funding(&support(), id, "사업 포기")
                            .await
                            .map_err(|e| e.code())
                    });
                }
            }
            let mut over = 0;
            while let Some(r) = tasks.join_next().await {
                match r.unwrap() {
                    Ok(()) => {}
                    Err("over_budget") => over += 1,
                    // A cancellation that ran before its award.
                    Err("illegal_transition") => {}
                    Err(other) => panic!("round {round}: {other}"),
                }
            }
            let (awarded, sum, budget) = awarded_total(&svc, c).await;
            assert!(awarded <= budget, "round {round}: {awarded} > {budget}");
            assert_eq!(
                awarded, sum,
                "round {round}: the counter and the awards agree"
            );
            // Whatever was refused for the budget did not fit what was left then: the sum of all
            // awards tried exceeded the budget.
            if over > 0 {
                assert!(apps.iter().map(|a| a.1).sum::<i64>() > budget - awarded);
            }
        }
    })
    .await;
}

#[tokio::test]
async fn awards_cancellations_and_payments_keep_their_limits() {
    on_both(|url| async move {
        let (_, svc) = open(&url).await;
        svc.set_clock(Some(day(2026, 11, 15).and_hms_opt(1, 0, 0).unwrap()));
        let c = call(&svc, 1_000_000).await;
        let a = firm(&svc, "FIN-A", SizeClass::Small, Sector::Bank).await;
        let b = firm(&svc, "FIN-B", SizeClass::Medium, Sector::Fintech).await;
        let big = firm(&svc, "BNK-X", SizeClass::Large, Sector::Bank).await;
        // Eligibility: a small firm or a fintech; not a large bank.
        assert_eq!(
            svc.apply_funding(&support(), c, big, "x", 10)
                .await
                .unwrap_err()
                .code(),
            "not_eligible"
        );
        let own = Actor {
            user_id: 5,
            username: "ciso.a".into(),
            role: Role::Ciso,
            institution_id: Some(a),
        };
        let app_a = svc
            .apply_funding(&own, c, a, "AI 점검", 700_000)
            .await
            .unwrap();
        // An institution applies only for itself, once per call.
        assert!(matches!(
            svc.apply_funding(&own, c, b, "x", 10).await,
            Err(ServiceError::NotFound)
        ));
        assert!(svc.apply_funding(&own, c, a, "again", 10).await.is_err());
        let app_b = svc
            .apply_funding(&support(), c, b, "위협 동향 자문", 600_000)
            .await
            .unwrap();
        assert!(matches!(
            svc.decide_funding(&own, app_a, Some(1), None, "x").await,
            Err(ServiceError::Forbidden(_))
        ));
        let e = svc
            .decide_funding(&support(), app_a, Some(800_000), None, "x")
            .await
            .unwrap_err();
        assert!(e.field_errors().iter().any(|f| f.field == "amount_krw"));
        svc.decide_funding(&support(), app_a, Some(700_000), Some(90), "우수")
            .await
            .unwrap();
        // 300,000 left: 600,000 does not fit, and nothing changes.
        assert_eq!(
            svc.decide_funding(&support(), app_b, Some(600_000), Some(70), "적정")
                .await
                .unwrap_err()
                .code(),
            "over_budget"
        );
        assert_eq!(
            svc.funding_call(&support(), c).await.unwrap().remaining_krw,
            300_000
        );
        // Payments never exceed the award; a paid award is not cancelled.
        svc.record_disbursement(&support(), app_a, 400_000, Some(day(2026, 11, 20)), "1차")
            .await
            .unwrap();
        let e = svc
            .record_disbursement(&support(), app_a, 300_001, Some(day(2026, 11, 21)), "2차")
            .await
            .unwrap_err();
        assert!(e.field_errors().iter().any(|f| f.field == "amount_krw"));
        assert_eq!(
            svc.cancel_funding(&support(), app_a, "취소")
                .await
                .unwrap_err()
                .code(),
            "already_disbursed"
        );
        // The institution sees its own application and payments only.
        let seen = svc.funding_call(&own, c).await.unwrap();
        assert_eq!(seen.applications.len(), 1);
        assert_eq!(svc.funding_payments(&own, app_a).await.unwrap().len(), 1);
        assert!(matches!(
            svc.funding_payments(&own, app_b).await,
            Err(ServiceError::NotFound)
        ));
        // A cancelled award gives its amount back.
        svc.decide_funding(&support(), app_b, Some(300_000), Some(70), "감액 지원")
            .await
            .unwrap();
        assert_eq!(
            svc.funding_call(&support(), c).await.unwrap().remaining_krw,
            0
        );
        svc.cancel_funding(&support(), app_b, "사업 포기")
            .await
            .unwrap();
        assert_eq!(
            svc.funding_call(&support(), c).await.unwrap().remaining_krw,
            300_000
        );
        // Outside the call's window nobody applies.
        svc.set_clock(Some(day(2027, 1, 2).and_hms_opt(1, 0, 0).unwrap()));
        let late = firm(&svc, "FIN-C", SizeClass::Small, Sector::Fintech).await;
        assert_eq!(
            svc.apply_funding(&support(), c, late, "x", 10)
                .await
                .unwrap_err()
                .code(),
            "call_closed"
        );
    })
    .await;
}
