//! Issue #17 follow-ups on both databases: evidence files of a disruption report (policy limits,
//! hashes, refused once decided, read only by its institution and the regulator side), funding
//! outcome reports and their review, support-center cases through their lifecycle with illegal
//! steps refused, and the self-service rule: a funded small firm uses the findings intake and
//! the patch queue, an unfunded one is refused, a large institution is not concerned.

use chrono::{NaiveDate, NaiveDateTime};
use haechi_core::{Actor, InstitutionInput, Role, Sector, SizeClass};
use haechi_service::bodies::{Eligibility, FundingCallInput};
use haechi_service::immunity::DisruptionInput;
use haechi_service::support::{CaseStep, OutcomeInput, SelfService, Upload};
use haechi_service::{Service, ServiceError};
use haechi_store::FindingFilter;

use crate::{on_both, open};

fn t(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, 0, 0)
        .unwrap()
}

fn person(id: i64, name: &str, role: Role, institution_id: Option<i64>) -> Actor {
    Actor {
        user_id: id,
        username: name.into(),
        role,
        institution_id,
    }
}

fn center() -> Actor {
    person(901, "support", Role::SupportCenter, None)
}

async fn firm(svc: &Service, code: &str, size: SizeClass, sector: Sector) -> i64 {
    let d = NaiveDate::from_ymd_opt(2026, 6, 30).unwrap();
    svc.create_institution(
        &Actor::system(),
        InstitutionInput {
            code: code.into(),
            name_ko: format!("{code} 금융"),
            name_en: format!("{code} Finance"),
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

fn code(r: Result<impl std::fmt::Debug, ServiceError>) -> String {
    match r {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(ServiceError::Forbidden(_)) => "forbidden".into(),
        Err(e) if !e.field_errors().is_empty() => format!(
            "invalid: {}",
            e.field_errors()
                .iter()
                .map(|f| format!("{} {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Err(e) => e.code().to_string(),
    }
}

fn file<'a>(name: &'a str, ct: &'a str, data: &'a [u8]) -> Upload<'a> {
    Upload {
        filename: name,
        content_type: ct,
        data,
    }
}

const SARIF: &str = r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "self-scan", "rules": [{"id": "R1"}, {"id": "R2"}]}},
 "results": [
  {"ruleId": "R1", "level": "error", "message": {"text": "SQL injection"}, "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/pay.rs"}, "region": {"startLine": 3}}}]},
  {"ruleId": "R2", "level": "warning", "message": {"text": "weak hash"}, "locations": [{"physicalLocation": {"artifactLocation": {"uri": "src/login.rs"}, "region": {"startLine": 9}}}]}
 ]}]}"#;

fn upload(institution_id: i64) -> haechi_service::findings::FindingsUpload {
    serde_json::from_value(serde_json::json!({ "institution_id": institution_id })).unwrap()
}

#[tokio::test]
async fn a_funded_small_firm_uses_security_operations_and_others_stay_refused() {
    on_both(|url| async move {
        let (_, svc) = open(&url).await;
        svc.set_clock(Some(t(2026, 11, 10, 1)));
        let funded = firm(&svc, "FIN-F", SizeClass::Small, Sector::Fintech).await;
        let unfunded = firm(&svc, "FIN-U", SizeClass::Medium, Sector::Fintech).await;
        let bank = firm(&svc, "BNK-L", SizeClass::Large, Sector::Bank).await;
        let f = person(11, "staff.f", Role::SecurityStaff, Some(funded));
        let u = person(12, "staff.u", Role::SecurityStaff, Some(unfunded));
        let b = person(13, "staff.b", Role::SecurityStaff, Some(bank));

        // A large institution is the institution side: nothing to do with funding.
        assert_eq!(
            svc.self_service(&b).await.unwrap(),
            SelfService::InstitutionSide
        );
        assert!(svc
            .list_findings(&b, &FindingFilter::default())
            .await
            .is_ok());
        // A small firm with neither a letter nor an award is refused, reading and importing.
        for who in [&f, &u] {
            assert_eq!(svc.self_service(who).await.unwrap(), SelfService::Closed);
            assert_eq!(
                code(svc.list_findings(who, &FindingFilter::default()).await),
                "forbidden"
            );
            let inst = who.institution_id.unwrap();
            assert_eq!(
                code(
                    svc.import_findings(who, &upload(inst), std::io::Cursor::new(SARIF))
                        .await
                ),
                "forbidden"
            );
            assert_eq!(
                code(svc.patch_queue(who, inst, None, 50).await),
                "forbidden"
            );
        }

        // The support center funds one of them.
        let call = svc
            .create_funding_call(
                &center(),
                &FundingCallInput {
                    title: "소규모 금융회사 AI 보안 지원".into(),
                    budget_krw: 100_000_000,
                    eligibility: Eligibility {
                        size_classes: vec![SizeClass::Small],
                        sectors: vec![Sector::Fintech],
                    },
                    opens_on: NaiveDate::from_ymd_opt(2026, 11, 1),
                    closes_on: NaiveDate::from_ymd_opt(2026, 12, 31),
                },
            )
            .await
            .unwrap();
        let app = svc
            .apply_funding(&center(), call, funded, "AI 코드 점검", 40_000_000)
            .await
            .unwrap();
        svc.decide_funding(&center(), app, Some(40_000_000), Some(88), "선정")
            .await
            .unwrap();
        match svc.self_service(&f).await.unwrap() {
            SelfService::Funded {
                application_id,
                award_krw,
                ..
            } => {
                assert_eq!(application_id, app);
                assert_eq!(award_krw, 40_000_000);
            }
            other => panic!("expected funded, got {other:?}"),
        }
        // Now its own scan goes in and its findings reach its patch queue.
        let report = svc
            .import_findings(&f, &upload(funded), std::io::Cursor::new(SARIF))
            .await
            .unwrap();
        assert_eq!(report.findings_new, 2, "{report:?}");
        let all = FindingFilter {
            limit: 50,
            ..Default::default()
        };
        let (rows, _) = svc.list_findings(&f, &all).await.unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.institution_id == funded));
        svc.clusters_settled().await;
        let queue = svc.patch_queue(&f, funded, None, 50).await.unwrap();
        assert_eq!(queue.items.len(), 2);
        assert!(queue
            .items
            .iter()
            .all(|q| rows.iter().any(|r| r.id == q.item.id)));
        // The other firm stays refused, and the funded one still reaches only its own.
        assert_eq!(
            code(svc.list_findings(&u, &FindingFilter::default()).await),
            "forbidden"
        );
        assert!(matches!(
            svc.patch_queue(&f, bank, None, 50).await,
            Err(ServiceError::NotFound)
        ));
        // A cancelled award closes it again.
        svc.cancel_funding(&center(), app, "사업 포기")
            .await
            .unwrap();
        assert_eq!(svc.self_service(&f).await.unwrap(), SelfService::Closed);
        assert_eq!(
            code(svc.patch_queue(&f, funded, None, 50).await),
            "forbidden"
        );
    })
    .await;
}

#[tokio::test]
async fn outcome_reports_follow_a_payment_and_are_reviewed() {
    on_both(|url| async move {
        let (_, svc) = open(&url).await;
        svc.set_clock(Some(t(2026, 11, 10, 1)));
        let a = firm(&svc, "FIN-A", SizeClass::Small, Sector::Fintech).await;
        let other = firm(&svc, "FIN-B", SizeClass::Small, Sector::Fintech).await;
        let ciso = person(21, "ciso.a", Role::Ciso, Some(a));
        let stranger = person(22, "ciso.b", Role::Ciso, Some(other));
        let officer = person(23, "officer", Role::RegulatorOfficer, None);
        let call = svc
            .create_funding_call(
                &center(),
                &FundingCallInput {
                    title: "지원".into(),
                    budget_krw: 10_000_000,
                    eligibility: Eligibility {
                        size_classes: vec![SizeClass::Small],
                        sectors: vec![],
                    },
                    opens_on: NaiveDate::from_ymd_opt(2026, 11, 1),
                    closes_on: NaiveDate::from_ymd_opt(2026, 12, 31),
                },
            )
            .await
            .unwrap();
        let app = svc
            .apply_funding(&ciso, call, a, "AI 점검 도구", 8_000_000)
            .await
            .unwrap();
        svc.decide_funding(&center(), app, Some(8_000_000), None, "선정")
            .await
            .unwrap();
        let report = |used| OutcomeInput {
            achieved_ko: "AI 코드 점검으로 취약점 12건 조치".into(),
            achieved_en: "12 findings fixed after an AI code scan".into(),
            used_krw: used,
        };
        // Not before a payment.
        assert_eq!(
            code(svc.file_funding_outcome(&ciso, app, &report(0)).await),
            "not_disbursed"
        );
        svc.record_disbursement(
            &center(),
            app,
            5_000_000,
            NaiveDate::from_ymd_opt(2026, 11, 12),
            "1차",
        )
        .await
        .unwrap();
        assert_eq!(
            code(
                svc.file_funding_outcome(&ciso, app, &report(6_000_000))
                    .await
            ),
            "invalid: used_krw exceeds what was paid"
        );
        assert_eq!(
            code(
                svc.file_funding_outcome(
                    &ciso,
                    app,
                    &OutcomeInput {
                        achieved_ko: " ".into(),
                        ..report(1)
                    }
                )
                .await
            ),
            "invalid: achieved_ko must not be empty"
        );
        // Another firm's award is not there for it; the center does not file for the firm.
        assert!(matches!(
            svc.file_funding_outcome(&stranger, app, &report(1)).await,
            Err(ServiceError::NotFound)
        ));
        assert_eq!(
            code(svc.file_funding_outcome(&center(), app, &report(1)).await),
            "forbidden"
        );
        let v1 = svc
            .file_funding_outcome(&ciso, app, &report(4_500_000))
            .await
            .unwrap();
        assert_eq!(
            code(svc.file_funding_outcome(&ciso, app, &report(1)).await),
            "outcome_pending"
        );
        // Files: policy type refused, a PDF kept with its hash.
        assert_eq!(
            code(
                svc.add_outcome_file(
                    &ciso,
                    v1,
                    file("run.exe", "application/x-msdownload", b"MZ")
                )
                .await
            ),
            "invalid: file is not of a type the policy accepts"
        );
        let pdf = svc
            .add_outcome_file(
                &ciso,
                v1,
                file("결과.pdf", "application/pdf", b"%PDF-1.4 outcome"),
            )
            .await
            .unwrap();
        assert_eq!(pdf.size_bytes, 16);
        assert_eq!(pdf.sha256.len(), 64);
        let (meta, bytes) = svc.outcome_file(&officer, pdf.id).await.unwrap();
        assert_eq!(
            (meta.id, bytes.as_slice()),
            (pdf.id, &b"%PDF-1.4 outcome"[..])
        );
        assert!(matches!(
            svc.outcome_file(&stranger, pdf.id).await,
            Err(ServiceError::NotFound)
        ));
        // Asking for more needs to say what; the firm files a second version; accepted.
        assert_eq!(
            code(svc.review_funding_outcome(&officer, v1, false, " ").await),
            "invalid: note say what more is needed"
        );
        assert_eq!(
            code(svc.review_funding_outcome(&ciso, v1, true, "").await),
            "forbidden"
        );
        svc.review_funding_outcome(&officer, v1, false, "사용 내역 증빙을 붙여 주십시오")
            .await
            .unwrap();
        assert_eq!(
            code(
                svc.add_outcome_file(&ciso, v1, file("a.pdf", "application/pdf", b"%PDF"))
                    .await
            ),
            "report_decided"
        );
        let v2 = svc
            .file_funding_outcome(&ciso, app, &report(5_000_000))
            .await
            .unwrap();
        svc.review_funding_outcome(&center(), v2, true, "")
            .await
            .unwrap();
        assert_eq!(
            code(svc.review_funding_outcome(&center(), v2, true, "").await),
            "illegal_transition"
        );
        assert_eq!(
            code(svc.file_funding_outcome(&ciso, app, &report(1)).await),
            "outcome_pending"
        );
        let all = svc.funding_outcomes(&ciso, app).await.unwrap();
        let states: Vec<(i64, &str)> = all
            .iter()
            .map(|o| (o.row.version, o.row.state.as_str()))
            .collect();
        assert_eq!(states, vec![(1, "more_requested"), (2, "accepted")]);
        assert_eq!(all[0].files.len(), 1);
        assert!(matches!(
            svc.funding_outcomes(&stranger, app).await,
            Err(ServiceError::NotFound)
        ));
    })
    .await;
}

#[tokio::test]
async fn support_cases_move_through_their_lifecycle_only() {
    on_both(|url| async move {
        let (_, svc) = open(&url).await;
        svc.set_clock(Some(t(2026, 11, 20, 2)));
        let small = firm(&svc, "SAV-S", SizeClass::Small, Sector::SavingsBank).await;
        let other = firm(&svc, "FIN-O", SizeClass::Medium, Sector::Fintech).await;
        let bank = firm(&svc, "BNK-L", SizeClass::Large, Sector::Bank).await;
        let firm_user = person(31, "staff.s", Role::SecurityStaff, Some(small));
        let stranger = person(32, "staff.o", Role::SecurityStaff, Some(other));
        let big = person(33, "ciso.l", Role::Ciso, Some(bank));
        let analyst = person(34, "analyst", Role::Analyst, None);

        assert_eq!(
            code(
                svc.open_support_case(&big, "threat_trend", "문의", "랜섬웨어 동향")
                    .await
            ),
            "not_small_firm"
        );
        assert_eq!(
            code(
                svc.open_support_case(&firm_user, "gossip", "문의", "x")
                    .await
            ),
            "invalid: kind choose what the case is about"
        );
        assert_eq!(
            code(svc.open_support_case(&center(), "other", "문의", "x").await),
            "forbidden"
        );
        let id = svc
            .open_support_case(
                &firm_user,
                "vulnerability_assessment",
                "모바일 앱 취약점 점검 지원 요청",
                "AI 점검 도구 결과 해석을 도와주십시오.",
            )
            .await
            .unwrap();
        // Illegal steps change nothing: the firm cannot triage, the center cannot answer an
        // untriaged case, nobody closes an unanswered one.
        assert_eq!(
            code(svc.support_step(&firm_user, id, CaseStep::Triage, "").await),
            "illegal_transition"
        );
        assert_eq!(
            code(
                svc.support_step(&center(), id, CaseStep::Answer, "답변")
                    .await
            ),
            "illegal_transition"
        );
        assert_eq!(
            code(svc.support_step(&center(), id, CaseStep::Close, "").await),
            "illegal_transition"
        );
        assert_eq!(
            code(svc.support_step(&analyst, id, CaseStep::Comment, "x").await),
            "forbidden"
        );
        assert!(matches!(
            svc.support_step(&stranger, id, CaseStep::Comment, "x")
                .await,
            Err(ServiceError::NotFound)
        ));
        assert!(matches!(
            svc.support_case(&stranger, id).await,
            Err(ServiceError::NotFound)
        ));
        svc.support_step(&center(), id, CaseStep::Triage, "담당자 배정")
            .await
            .unwrap();
        assert_eq!(
            code(
                svc.support_step(&center(), id, CaseStep::Answer, "  ")
                    .await
            ),
            "invalid: message must not be empty"
        );
        svc.set_clock(Some(t(2026, 11, 21, 5)));
        svc.support_step(
            &center(),
            id,
            CaseStep::Answer,
            "결과 해석 가이드를 보냅니다.",
        )
        .await
        .unwrap();
        svc.support_step(
            &firm_user,
            id,
            CaseStep::FollowUp,
            "P1 항목의 조치 순서도 알려 주십시오.",
        )
        .await
        .unwrap();
        svc.support_step(
            &center(),
            id,
            CaseStep::Answer,
            "P1부터 SLA 순서로 조치하십시오.",
        )
        .await
        .unwrap();
        svc.support_step(&firm_user, id, CaseStep::Close, "")
            .await
            .unwrap();
        assert_eq!(
            code(
                svc.support_step(&firm_user, id, CaseStep::Comment, "추가")
                    .await
            ),
            "illegal_transition"
        );
        // Both sides read the same history.
        for who in [&firm_user, &center()] {
            let c = svc.support_case(who, id).await.unwrap();
            assert_eq!(c.row.status, "closed");
            let steps: Vec<(&str, &str)> = c
                .events
                .iter()
                .map(|e| (e.to_status.as_str(), e.side.as_str()))
                .collect();
            assert_eq!(
                steps,
                vec![
                    ("open", "institution"),
                    ("in_progress", "center"),
                    ("answered", "center"),
                    ("in_progress", "institution"),
                    ("answered", "center"),
                    ("closed", "institution"),
                ]
            );
        }
        assert_eq!(svc.support_cases(&firm_user).await.unwrap().len(), 1);
        assert!(svc.support_cases(&stranger).await.unwrap().is_empty());
        assert_eq!(svc.support_cases(&center()).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn disruption_evidence_is_checked_hashed_and_closed_once_decided() {
    on_both(|url| async move {
        let (_, svc) = open(&url).await;
        svc.set_clock(Some(t(2026, 11, 1, 0)));
        let inst = firm(&svc, "BNK-E", SizeClass::Large, Sector::Bank).await;
        let other = firm(&svc, "BNK-F", SizeClass::Large, Sector::Bank).await;
        let staff = person(41, "staff.e", Role::SecurityStaff, Some(inst));
        let stranger = person(42, "staff.f", Role::SecurityStaff, Some(other));
        let officer = person(43, "officer", Role::RegulatorOfficer, None);
        let auditor = person(44, "auditor", Role::Auditor, None);
        let input = DisruptionInput {
            institution_id: inst,
            activity: "ai_security_test".into(),
            title: "AI 모의해킹 중 인터넷뱅킹 지연".into(),
            started_at: Some(t(2026, 10, 1, 1)),
            detected_at: Some(t(2026, 10, 1, 1)),
            recovered_at: Some(t(2026, 10, 1, 2)),
            affected_services: "인터넷뱅킹".into(),
            affected_subscribers: 500,
            recovery_actions: "롤백".into(),
            consumer_actions: "안내".into(),
            ..DisruptionInput::default()
        };
        let report = svc.file_disruption(&staff, &input).await.unwrap();
        let log = b"2026-10-01T01:00 rollback started\n";
        let kept = svc
            .add_disruption_file(
                &staff,
                report,
                file("logs/rollback.txt", "text/plain; charset=utf-8", log),
            )
            .await
            .unwrap();
        assert_eq!(kept.filename, "rollback.txt");
        assert_eq!(kept.content_type, "text/plain");
        assert_eq!(kept.size_bytes, log.len() as i64);
        // sha256sum of the log line above.
        assert_eq!(
            kept.sha256,
            "ed041dbc0a363903e3029aa75b1081878be387fb48eb1595b03f07815a6c9cbb"
        );
        let limit = svc.policy().reporting.attachments.max_bytes as usize;
        let big = vec![b'a'; limit + 1];
        assert_eq!(
            code(
                svc.add_disruption_file(&staff, report, file("big.txt", "text/plain", &big))
                    .await
            ),
            "invalid: file is larger than the policy allows"
        );
        assert_eq!(
            code(
                svc.add_disruption_file(&staff, report, file("x.html", "text/html", b"<p>"))
                    .await
            ),
            "invalid: file is not of a type the policy accepts"
        );
        // Another institution, the analyst and the center do not reach it; the regulator side
        // and the auditor read it.
        assert!(matches!(
            svc.add_disruption_file(&stranger, report, file("a.txt", "text/plain", b"x"))
                .await,
            Err(ServiceError::NotFound)
        ));
        assert!(matches!(
            svc.disruption_file(&stranger, kept.id).await,
            Err(ServiceError::NotFound)
        ));
        for who in [person(45, "analyst", Role::Analyst, None), center()] {
            assert_eq!(code(svc.disruption_file(&who, kept.id).await), "forbidden");
        }
        for who in [&officer, &auditor, &staff] {
            let (meta, bytes) = svc.disruption_file(who, kept.id).await.unwrap();
            assert_eq!(
                (meta.sha256.as_str(), bytes.as_slice()),
                (kept.sha256.as_str(), &log[..])
            );
        }
        assert_eq!(
            svc.disruption_files(&officer, report).await.unwrap().len(),
            1
        );
        // Once the committee decides, nothing more is added.
        svc.decide_immunity(&officer, report, true, "모든 기준 충족")
            .await
            .unwrap();
        assert_eq!(
            code(
                svc.add_disruption_file(&staff, report, file("late.txt", "text/plain", b"late"))
                    .await
            ),
            "report_decided"
        );
        assert_eq!(svc.disruption_files(&staff, report).await.unwrap().len(), 1);
    })
    .await;
}
