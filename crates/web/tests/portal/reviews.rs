//! Expert evaluation (C4) and phase planning (C5) pages: the advisor's workspace (no content
//! before a "no conflict" declaration, nothing of unassigned applications, scoring with errors
//! next to the fields), the officer's review (steps, reviewer assignment, aggregated scores with
//! disagreement flags, the decision with its rationale) and the cohort planner.

use haechi_core::{Actor, ApplicationState};
use haechi_service::applications::ApplicationView;
use haechi_store::ApplicationFilter;

use super::applications::{actor, count};
use super::*;

async fn in_state(app: &App, state: ApplicationState) -> Vec<ApplicationView> {
    let system = Actor::system();
    let (items, _) = app
        .svc
        .list_applications(
            &system,
            ApplicationFilter {
                state: Some(state),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    for a in items {
        out.push(app.svc.get_application(&system, a.id).await.unwrap());
    }
    out
}

async fn username_of(app: &App, user_id: i64) -> String {
    app.svc
        .list_users(&Actor::system(), None)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.id == user_id)
        .unwrap()
        .username
}

async fn advisors(app: &App) -> Vec<haechi_store::User> {
    app.svc
        .list_users(&Actor::system(), Some(haechi_core::Role::Advisor))
        .await
        .unwrap()
}

/// Values of every hidden input named `name`.
fn hidden_all(page: &Page, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" value=\"");
    page.body
        .match_indices(&marker)
        .map(|(i, _)| {
            let start = i + marker.len();
            let end = page.body[start..].find('"').unwrap() + start;
            page.body[start..end].to_string()
        })
        .collect()
}

/// An application under review with an advisor who has not declared yet, and an advisor who is
/// not assigned to it.
async fn undeclared(app: &App) -> (ApplicationView, String, String) {
    for v in in_state(app, ApplicationState::UnderReview).await {
        let assigned = v.assignments.clone().unwrap();
        if let Some(a) = assigned.iter().find(|a| a.conflict.is_none()) {
            let other = advisors(app)
                .await
                .into_iter()
                .find(|u| assigned.iter().all(|a| a.advisor_id != u.id))
                .unwrap();
            let name = username_of(app, a.advisor_id).await;
            return (v, name, other.username);
        }
    }
    panic!("the demo has no undeclared reviewer");
}

#[tokio::test]
async fn advisor_sees_an_application_only_when_assigned_and_declared() {
    let app = App::demo().await;
    let (view, advisor, stranger) = undeclared(&app).await;
    let id = view.application.id;
    let secret = view.application.content.internal_controls.clone();
    assert!(!secret.is_empty());

    // A stranger: not assigned, so the application does not exist for them.
    let s = app.login(&stranger).await;
    for path in [format!("/reviews/{id}"), format!("/applications/{id}")] {
        let page = s.get(&path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!page.has_text(&secret));
    }
    let mine = s.get("/reviews").await;
    assert!(!mine.has_text(&format!("href=\"/reviews/{id}\"")));

    // Assigned but undeclared: the declaration form, no content.
    let s = app.login(&advisor).await;
    let mine = s.get("/reviews").await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(
        mine.has_text(&format!("href=\"/reviews/{id}\"")),
        "{}",
        mine.body
    );
    assert!(mine.has_text("신고 전"));
    let page = s.get(&format!("/reviews/{id}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has_text("이해충돌 신고") && page.has_text("name=\"conflict\""));
    assert!(
        !page.has_text(&secret),
        "content shown before the declaration"
    );
    assert!(
        !page.has_text("name=\"scores."),
        "no scoring before the declaration"
    );
    let direct = s.get(&format!("/applications/{id}")).await;
    assert_eq!(direct.status, StatusCode::NOT_FOUND);

    // A declaration must choose, and a conflict must be described.
    let audit = count(&app, "SELECT COUNT(*) FROM audit_log").await;
    let bad = s
        .post(&format!("/reviews/{id}/conflict"), &[("note", "")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.has_text("id=\"conflict-error\""), "{}", bad.body);
    let bad = s
        .post(
            &format!("/reviews/{id}/conflict"),
            &[("conflict", "yes"), ("note", " ")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.has_text("id=\"note-error\""), "{}", bad.body);
    assert!(bad.has_text("checked"), "the choice is kept");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log").await, audit);
    let me = actor(&app, &advisor).await;
    let a = app.svc.my_assignments(&me).await.unwrap();
    assert!(a
        .iter()
        .any(|m| m.assignment.application_id == id && m.assignment.conflict.is_none()));

    // No conflict: now the content and the scoring form.
    let ok = s
        .post(&format!("/reviews/{id}/conflict"), &[("conflict", "no")])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let page = s.get(&format!("/reviews/{id}")).await;
    assert!(page.has_text(&secret), "{}", page.body);
    assert!(page.has_text("name=\"scores.governance\""));
    assert!(page.has_text("이해충돌 없음"));
    let direct = s.get(&format!("/applications/{id}")).await;
    assert_eq!(direct.status, StatusCode::OK);

    // Declared once only.
    let again = s
        .post(
            &format!("/reviews/{id}/conflict"),
            &[("conflict", "yes"), ("note", "변심")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);

    // An officer's URL is not the advisor's.
    let officer_page = s.get(&format!("/applications/{id}/review")).await;
    assert_eq!(officer_page.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn scoring_errors_are_shown_next_to_the_fields_and_a_full_review_submits() {
    let app = App::demo().await;
    let (view, advisor, _) = undeclared(&app).await;
    let id = view.application.id;
    let s = app.login(&advisor).await;
    let me = actor(&app, &advisor).await;
    app.svc
        .declare_conflict(&me, id, false, None)
        .await
        .unwrap();
    let criteria: Vec<String> = app
        .svc
        .policy()
        .evaluation
        .criteria
        .iter()
        .map(|c| c.id.clone())
        .collect();
    let path = format!("/reviews/{id}/scores");

    // A score that is not a number.
    let bad = s
        .post(
            &path,
            &[
                ("scores.governance", "abc"),
                ("scores.governance.justification", "근거를 씁니다 충분히"),
                ("intent", "save"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.has_text("id=\"scores.governance-error\""));
    assert!(
        bad.has_text("근거를 씁니다 충분히"),
        "the typed justification is kept"
    );

    // A score outside the scale (the service's check), next to its field.
    let bad = s
        .post(&path, &[("scores.identify", "7"), ("intent", "save")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.has_text("id=\"scores.identify-error\""), "{}", bad.body);

    // Submitting with one justification too short and one criterion unscored.
    let mut fields: Vec<(String, String)> = Vec::new();
    for (i, c) in criteria.iter().enumerate().skip(1) {
        fields.push((format!("scores.{c}"), "3".into()));
        let j = if i == 1 {
            "짧음".to_string()
        } else {
            format!("{c} 영역 통제가 문서화되어 운영 중임")
        };
        fields.push((format!("scores.{c}.justification"), j));
    }
    fields.push(("intent".into(), "submit".into()));
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let bad = s.post(&path, &refs).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(
        bad.has_text(&format!(
            "id=\"scores.{}.justification-error\"",
            criteria[1]
        )),
        "{}",
        bad.body
    );
    assert!(
        bad.has_text(&format!("id=\"scores.{}-error\"", criteria[0])),
        "the unscored criterion"
    );
    let mine = app.svc.my_assignments(&me).await.unwrap();
    let a = mine
        .iter()
        .find(|m| m.assignment.application_id == id)
        .unwrap();
    assert!(a.assignment.submitted_at.is_none(), "nothing submitted");
    assert!(a.scores.is_empty(), "nothing saved");

    // Saved as a draft, then submitted whole.
    let draft = s
        .post(&path, &[("scores.governance", "2"), ("intent", "save")])
        .await;
    assert_eq!(draft.status, StatusCode::SEE_OTHER, "{}", draft.body);
    let page = s.get(draft.location.as_deref().unwrap()).await;
    assert!(page.has_text("점수를 임시 저장했습니다."));
    assert!(page.has_text("value=\"2\" selected"), "{}", page.body);

    let mut fields: Vec<(String, String)> = Vec::new();
    for c in &criteria {
        fields.push((format!("scores.{c}"), "4".into()));
        fields.push((
            format!("scores.{c}.justification"),
            format!("{c}: 증빙으로 확인된 고도화 수준"),
        ));
    }
    fields.push(("intent".into(), "submit".into()));
    let refs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let done = s.post(&path, &refs).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let mine = app.svc.my_assignments(&me).await.unwrap();
    let a = mine
        .iter()
        .find(|m| m.assignment.application_id == id)
        .unwrap();
    assert!(a.assignment.submitted_at.is_some());
    assert_eq!(a.scores.len(), criteria.len());
    assert!(a.scores.iter().all(|s| s.score == 4));
    let page = s.get(done.location.as_deref().unwrap()).await;
    assert!(page.has_text("평가를 제출했습니다."));
    assert!(
        !page.has_text("name=\"scores.governance\""),
        "no form after submission"
    );
    assert!(page.has_text("증빙으로 확인된 고도화 수준"));
}

#[tokio::test]
async fn officer_decision_is_recorded_with_its_rationale() {
    let app = App::demo().await;
    let evaluated = in_state(&app, ApplicationState::Evaluated).await;
    assert!(evaluated.len() >= 2);
    let s = app.login("officer").await;

    // The aggregated scores, the pass/fail reasons and a disagreement flag somewhere.
    let mut flagged = false;
    for v in &evaluated {
        let page = s
            .get(&format!("/applications/{}/review", v.application.id))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(
            page.has_text("평가 집계") && page.has_text("가중 평균"),
            "{}",
            page.body
        );
        assert!(page.has_text("figure class=\"chart"));
        let e = v.evaluation.as_ref().unwrap();
        assert!(page.has_text(if e.passed { "통과" } else { "미달" }));
        assert!(page.has_text(&format!("{:.2}", e.score)));
        flagged |= page.has_text("의견 차 큼");
        assert!(page.has_text("name=\"rationale\""));
    }
    assert!(flagged, "the demo's disagreement is flagged");

    let v = &evaluated[0];
    let id = v.application.id;
    let passed = v.evaluation.as_ref().unwrap().passed;
    let action = if passed { "approve" } else { "reject" };
    let path = format!("/applications/{id}/transition");

    // Without a rationale: refused next to the field, nothing recorded.
    let bad = s
        .post(&path, &[("action", action), ("rationale", "  ")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.has_text("id=\"rationale-error\""), "{}", bad.body);
    let now = app.svc.get_application(&Actor::system(), id).await.unwrap();
    assert_eq!(now.application.state, ApplicationState::Evaluated);
    assert!(now.decision.is_none());

    // The auditor reads the review page but cannot decide.
    let auditor = app.login("auditor").await;
    let page = auditor.get(&format!("/applications/{id}/review")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.has_text("name=\"rationale\""),
        "no decision form for the auditor"
    );
    let refused = auditor
        .post(
            &path,
            &[("action", action), ("rationale", "감사인은 결정할 수 없음")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let rationale = "전문가 평가 결과와 내부통제 방안을 검토하여 결정함. 분기별 보고 조건.";
    let ok = s
        .post(&path, &[("action", action), ("rationale", rationale)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let now = app.svc.get_application(&Actor::system(), id).await.unwrap();
    let expected = if passed {
        ApplicationState::Approved
    } else {
        ApplicationState::Rejected
    };
    assert_eq!(now.application.state, expected);
    let d = now.decision.unwrap();
    assert_eq!(d.rationale, rationale);
    assert_eq!(d.decided_by, "officer");
    assert!(d.follows_evaluation);
    let page = s
        .get(&format!("/applications/{id}/review?notice=decided"))
        .await;
    assert!(page.has_text("결정을 기록했습니다.") && page.has_text(rationale));
    let view = s.get(&format!("/applications/{id}")).await;
    assert!(view.has_text(rationale));
}

#[tokio::test]
async fn officer_screens_assigns_reviewers_and_returns_for_correction() {
    let app = App::demo().await;
    let submitted = in_state(&app, ApplicationState::Submitted).await;
    let id = submitted[0].application.id;
    let s = app.login("officer").await;
    let transition = format!("/applications/{id}/transition");

    let page = s.get(&format!("/applications/{id}/review")).await;
    assert!(page.has_text("자격 심사 시작"), "{}", page.body);
    let ok = s.post(&transition, &[("action", "start_screening")]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let sys = Actor::system();
    assert_eq!(
        app.svc
            .get_application(&sys, id)
            .await
            .unwrap()
            .application
            .state,
        ApplicationState::Screening
    );

    // Review cannot start without the policy's reviewers: said on the page, nothing changes.
    let refused = s.post(&transition, &[("action", "start_review")]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.has_text("role=\"alert\""));
    assert_eq!(
        app.svc
            .get_application(&sys, id)
            .await
            .unwrap()
            .application
            .state,
        ApplicationState::Screening
    );

    // Assigning nobody is an error next to the choice.
    let page = s.get(&format!("/applications/{id}/review")).await;
    assert!(page.has_text("name=\"advisor_id\""));
    let none = s.post(&format!("/applications/{id}/reviewers"), &[]).await;
    assert_eq!(none.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(none.has_text("id=\"advisor_id-error\""));

    let ids: Vec<String> = advisors(&app)
        .await
        .iter()
        .take(3)
        .map(|u| u.id.to_string())
        .collect();
    let form: Vec<(&str, &str)> = ids.iter().map(|i| ("advisor_id", i.as_str())).collect();
    let ok = s
        .post(&format!("/applications/{id}/reviewers"), &form)
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let v = app.svc.get_application(&sys, id).await.unwrap();
    assert_eq!(v.assignments.unwrap().len(), 3);
    let page = s
        .get(&format!("/applications/{id}/review?notice=assigned"))
        .await;
    assert!(page.has_text("평가위원을 배정했습니다."));
    assert!(page.has_text("신고 전"));

    // Return for correction needs a comment; the comment reaches the CISO's view.
    let bad = s
        .post(&transition, &[("action", "return_for_correction")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.has_text("id=\"comment-error\""));
    let comment = "자체평가 근거 자료를 보완하여 다시 제출하십시오.";
    let ok = s
        .post(
            &transition,
            &[("action", "return_for_correction"), ("comment", comment)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let v = app.svc.get_application(&sys, id).await.unwrap();
    assert_eq!(v.application.state, ApplicationState::Draft);
    assert!(v
        .events
        .iter()
        .any(|e| e.comment.as_deref() == Some(comment)));
}

#[tokio::test]
async fn cohort_planner_shows_reasons_and_confirms() {
    let app = App::demo().await;
    let sys = Actor::system();
    let before = app.svc.list_cohorts(&sys).await.unwrap();
    assert!(before.iter().all(|c| c.phase_id != "phase-3"));
    let letters = count(&app, "SELECT COUNT(*) FROM letters").await;

    let s = app.login("officer").await;
    let page = s.get("/cohorts").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.has_text("대상 기관 제안") && page.has_text("3차"),
        "{}",
        page.body
    );
    assert!(
        page.has_text("확정된 대상 기관"),
        "phases 1 and 2 are listed"
    );
    assert!(page.has_text("figure class=\"chart"));
    let plan = app.svc.plan_cohort(&sys, "phase-3").await.unwrap();
    for c in &plan.candidates {
        assert!(
            page.has_text(&c.reason.ko),
            "reason of #{} missing",
            c.application_id
        );
    }
    let expected = hidden_all(&page, "expected");
    let included: Vec<String> = plan
        .candidates
        .iter()
        .filter(|c| c.included)
        .map(|c| c.application_id.to_string())
        .collect();
    assert!(!included.is_empty());
    assert_eq!(expected, included);
    let en = s.get("/cohorts?lang=en").await;
    assert!(en.has_text("Proposed cohort") && en.has_text(&plan.candidates[0].reason.en));

    // Analysts read; institutions may not.
    let analyst = app.login("analyst").await;
    let page = analyst.get("/cohorts").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.has_text("/confirm\""),
        "no confirm form for an analyst"
    );
    let ciso = app.login("ciso.hanbit").await;
    assert_eq!(ciso.get("/cohorts").await.status, StatusCode::FORBIDDEN);
    let refused = analyst
        .post(
            "/cohorts/phase-3/confirm",
            &[("expected", included[0].as_str())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // A plan that is not the one shown is refused.
    let stale = s
        .post("/cohorts/phase-3/confirm", &[("expected", "999999")])
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.body);
    assert!(stale.has_text("확정하지 못했습니다"));
    assert!(app
        .svc
        .list_cohorts(&sys)
        .await
        .unwrap()
        .iter()
        .all(|c| c.phase_id != "phase-3"));

    let form: Vec<(&str, &str)> = expected.iter().map(|e| ("expected", e.as_str())).collect();
    let ok = s.post("/cohorts/phase-3/confirm", &form).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let after = app.svc.list_cohorts(&sys).await.unwrap();
    let c = after.iter().find(|c| c.phase_id == "phase-3").unwrap();
    assert_eq!(c.members.len(), included.len());
    assert!(
        count(&app, "SELECT COUNT(*) FROM letters").await > letters,
        "letters drafted"
    );
    let page = s.get(ok.location.as_deref().unwrap()).await;
    assert!(page.has_text("대상 기관을 확정했습니다"));
    assert!(page.has_text("이미 확정되었습니다"));
}

#[tokio::test]
async fn refused_roles_are_refused_before_their_form_is_read() {
    let app = App::demo().await;
    let submitted = in_state(&app, ApplicationState::Submitted).await;
    let id = submitted[0].application.id;
    let auditor = app.login("auditor").await;
    // An advisor not assigned to the application: it does not exist for them.
    let (_, _, stranger) = undeclared(&app).await;
    let s = app.login(&stranger).await;
    let audit = count(&app, "SELECT COUNT(*) FROM audit_log").await;

    for (path, form) in [
        (
            "/applications/new".to_string(),
            vec![("self_assessment.governance", "x")],
        ),
        (
            format!("/applications/{id}/edit"),
            vec![("self_assessment.governance", "x")],
        ),
        (format!("/applications/{id}/reviewers"), vec![]),
        (
            format!("/applications/{id}/transition"),
            vec![("action", "start_screening")],
        ),
        (
            "/cohorts/phase-3/confirm".to_string(),
            vec![("expected", "x")],
        ),
        (format!("/reviews/{id}/conflict"), vec![]),
    ] {
        let page = auditor.post(&path, &form).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}: {}", page.body);
    }
    let up = auditor
        .post_multipart(&format!("/applications/{id}/attachments"), &[], &[])
        .await;
    assert_eq!(up.status, StatusCode::FORBIDDEN, "{}", up.body);

    let page = s.post(&format!("/reviews/{id}/conflict"), &[]).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let page = s
        .post(
            &format!("/reviews/{id}/scores"),
            &[("scores.governance", "x")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    let now = app.svc.get_application(&Actor::system(), id).await.unwrap();
    assert_eq!(now.application.state, ApplicationState::Submitted);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM audit_log").await,
        audit,
        "nothing changed"
    );
}

/// The demo's evaluated applications: (passed, failed).
async fn evaluated_pair(app: &App) -> (ApplicationView, ApplicationView) {
    let evaluated = in_state(app, ApplicationState::Evaluated).await;
    let passed = evaluated
        .iter()
        .find(|v| v.evaluation.as_ref().unwrap().passed)
        .cloned()
        .expect("the demo has an evaluated application that passed");
    let failed = evaluated
        .iter()
        .find(|v| !v.evaluation.as_ref().unwrap().passed)
        .cloned()
        .expect("the demo has an evaluated application that failed");
    (passed, failed)
}

fn kst(y: i32, m: u32, d: u32) -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(1, 0, 0)
        .unwrap()
}

#[tokio::test]
async fn approving_a_failed_evaluation_needs_an_override_reason_shown_to_the_planner() {
    let app = App::demo().await;
    let sys = Actor::system();
    let (_, failed) = evaluated_pair(&app).await;
    let id = failed.application.id;
    let s = app.login("officer").await;
    let page = s.get(&format!("/applications/{id}/review")).await;
    assert!(page.has_text("id=\"override-warning\""), "{}", page.body);
    assert!(page.has_text("name=\"override_reason\""));
    assert!(page.has_text("예외 승인"));

    // A rationale alone does not approve a failed evaluation: said next to the field.
    let path = format!("/applications/{id}/transition");
    let rationale = "내부통제 보완 계획을 검토하여 승인함.";
    let bad = s
        .post(&path, &[("action", "approve"), ("rationale", rationale)])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.has_text("id=\"override_reason-error\""), "{}", bad.body);
    assert!(bad.has_text("예외 승인 사유를 쓰십시오"));
    let now = app.svc.get_application(&sys, id).await.unwrap();
    assert_eq!(now.application.state, ApplicationState::Evaluated);
    assert!(now.decision.is_none());

    let why = "보안관리 평균이 기준에 0.1 못 미치나 3개월 내 보완 조건으로 예외 승인";
    let ok = s
        .post(
            &path,
            &[
                ("action", "approve"),
                ("rationale", rationale),
                ("override_reason", why),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let now = app.svc.get_application(&sys, id).await.unwrap();
    assert_eq!(now.application.state, ApplicationState::Approved);
    assert_eq!(now.override_reason.as_deref(), Some(why));
    assert!(!now.decision.unwrap().follows_evaluation);
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'application.approve' AND entity_id = '{id}' AND after_json LIKE '%override_reason%'")
        )
        .await,
        1,
        "the override is audited"
    );
    // Shown on the application, and to the planner, which ranks it with its reason.
    let view = s.get(&format!("/applications/{id}")).await;
    assert!(view.has_text("data-override=\"true\"") && view.has_text(why));
    let plan = app.svc.plan_cohort(&sys, "phase-3").await.unwrap();
    let c = plan
        .candidates
        .iter()
        .find(|c| c.application_id == id)
        .unwrap();
    assert!(c.included, "{c:?}");
    assert_eq!(c.override_reason.as_deref(), Some(why));
    let page = s.get("/cohorts?phase=phase-3").await;
    assert!(page.has_text(&c.reason.ko) && c.reason.ko.contains(why));
}

#[tokio::test]
async fn a_late_approval_joins_the_confirmed_cohort_while_the_window_is_open() {
    let app = App::demo().await;
    let sys = Actor::system();
    let (passed, _) = evaluated_pair(&app).await;
    let id = passed.application.id;
    app.svc.set_clock(Some(kst(2026, 12, 1)));
    app.svc.confirm_cohort(&sys, "phase-3", None).await.unwrap();
    app.svc.set_clock(Some(kst(2026, 12, 10)));
    app.svc
        .transition(
            &sys,
            id,
            haechi_core::ApplicationAction::Approve,
            Some("평가 통과, 승인"),
        )
        .await
        .unwrap();

    let s = app.login("officer").await;
    let page = s.get("/cohorts?phase=phase-3").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.has_text("확정 후 승인된 신청"), "{}", page.body);
    assert!(page.has_text(&format!("data-late=\"{id}\"")));
    assert!(page.has_text("action=\"/cohorts/phase-3/add\""));
    assert!(page.has_text("확정된 대상에 추가할 수 있음"));

    // After the window closed: refused with a clear message, nothing added.
    app.svc.set_clock(Some(kst(2027, 1, 5)));
    let id_s = id.to_string();
    let closed = s
        .post(
            "/cohorts/phase-3/add",
            &[("application_id", id_s.as_str()), ("reason", "늦은 승인")],
        )
        .await;
    assert_eq!(closed.status, StatusCode::CONFLICT, "{}", closed.body);
    assert!(closed.has_text("기간이 끝나"), "{}", closed.body);
    let letters_before = count(
        &app,
        &format!("SELECT COUNT(*) FROM letters WHERE application_id = {id}"),
    )
    .await;
    assert_eq!(letters_before, 0);

    // While open: a reason is required, then it joins and its letter is drafted.
    app.svc.set_clock(Some(kst(2026, 12, 11)));
    let bad = s
        .post("/cohorts/phase-3/add", &[("application_id", id_s.as_str())])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.has_text("추가하는 사유를 쓰십시오"));
    let why = "확정 이후 평가가 끝나 같은 단계 기간 안에 승인됨";
    let ok = s
        .post(
            "/cohorts/phase-3/add",
            &[("application_id", id_s.as_str()), ("reason", why)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let cohorts = app.svc.list_cohorts(&sys).await.unwrap();
    let c = cohorts.iter().find(|c| c.phase_id == "phase-3").unwrap();
    assert!(c.members.contains(&id));
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM letters WHERE application_id = {id}"),
        )
        .await,
        1,
        "its letter is drafted"
    );
    let page = s.get(ok.location.as_deref().unwrap()).await;
    assert!(
        page.has_text("확정된 대상 기관에 추가하고"),
        "{}",
        page.body
    );
    assert!(page.has_text("확정 후 추가") && page.has_text(why));
    assert!(!page.has_text(&format!("data-late=\"{id}\"")));
    // An analyst may read but not add.
    let analyst = app.login("analyst").await;
    let refused = analyst
        .post(
            "/cohorts/phase-3/add",
            &[("application_id", id_s.as_str()), ("reason", why)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn cohort_reasons_name_phases_and_capacity_in_the_page_language() {
    let app = App::demo().await;
    let s = app.login("officer").await;
    for (lang, label, none) in [
        ("ko", "1차 (6~7월)", "정원 제한 없음"),
        ("en", "Phase 1 (June-July)", "no capacity limit"),
    ] {
        let page = s.get(&format!("/cohorts?phase=phase-3&lang={lang}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.has_text("∞"), "{lang}: {}", page.body);
        assert!(!page.has_text("`phase-"), "{lang}: raw phase id");
        assert!(page.has_text(label), "{lang}: {}", page.body);
        assert!(page.has_text(none), "{lang}: {}", page.body);
    }
    let en = s.get("/cohorts?phase=phase-3&lang=en").await;
    assert!(!en.has_text("대상 기관으로 확정됨") && !en.has_text("평가점수"));
}

#[tokio::test]
async fn reviewer_count_is_of_declarations_and_a_removed_advisor_neither_sees_nor_counts() {
    let app = App::demo().await;
    let sys = Actor::system();
    let s = app.login("officer").await;
    // An application with advisors assigned who have not declared: they do not count.
    let (undeclared_view, _, _) = undeclared(&app).await;
    let assigned = undeclared_view.assignments.clone().unwrap();
    let declared = assigned
        .iter()
        .filter(|a| a.conflict == Some(false))
        .count();
    assert!(declared < assigned.len());
    let page = s
        .get(&format!(
            "/applications/{}/review",
            undeclared_view.application.id
        ))
        .await;
    assert!(
        page.has_text(&format!("data-cleared=\"{declared}\"")),
        "{}",
        page.body
    );
    assert!(page.has_text("신고 전 "));

    // An application under review with a submitted review: its advisor is removed and replaced.
    let v = in_state(&app, ApplicationState::UnderReview)
        .await
        .into_iter()
        .find(|v| {
            v.assignments
                .as_ref()
                .unwrap()
                .iter()
                .any(|a| a.submitted_at.is_some())
        })
        .expect("the demo has a submitted review under way");
    let id = v.application.id;
    let gone = v
        .assignments
        .as_ref()
        .unwrap()
        .iter()
        .find(|a| a.submitted_at.is_some())
        .unwrap()
        .clone();
    let gone_name = username_of(&app, gone.advisor_id).await;
    let replacement = advisors(&app)
        .await
        .into_iter()
        .find(|u| {
            v.assignments
                .as_ref()
                .unwrap()
                .iter()
                .all(|a| a.advisor_id != u.id)
        })
        .unwrap();
    let adv = app.login(&gone_name).await;
    assert_eq!(
        adv.get(&format!("/reviews/{id}")).await.status,
        StatusCode::OK
    );

    let page = s.get(&format!("/applications/{id}/review")).await;
    assert!(page.has_text("/reviewers/remove\""), "{}", page.body);
    let path = format!("/applications/{id}/reviewers/remove");
    let gone_id = gone.advisor_id.to_string();
    let bad = s.post(&path, &[("advisor_id", gone_id.as_str())]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.has_text("제외하는 사유를 쓰십시오"));
    assert_eq!(
        app.svc.get_application(&sys, id).await.unwrap().assignments,
        v.assignments
    );

    let why = "신청 기관과의 자문 계약이 뒤늦게 확인됨";
    let rep = replacement.id.to_string();
    let ok = s
        .post(
            &path,
            &[
                ("advisor_id", gone_id.as_str()),
                ("reason", why),
                ("replacement", rep.as_str()),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let now = app.svc.get_application(&sys, id).await.unwrap();
    let active = now.assignments.unwrap();
    assert!(active.iter().all(|a| a.advisor_id != gone.advisor_id));
    assert!(active.iter().any(|a| a.advisor_id == replacement.id));
    let removed = now.removed_assignments.unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].removed_reason.as_deref(), Some(why));
    // The removed advisor's scores no longer count.
    let scored = haechi_store::submitted_scores(app.svc.store().pool(), id)
        .await
        .unwrap();
    assert!(scored.iter().all(|r| r.advisor_id != gone.advisor_id));
    // The removed advisor no longer sees it; the page shows the removal with its reason.
    assert_eq!(
        adv.get(&format!("/reviews/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!adv
        .get("/reviews")
        .await
        .has_text(&format!("/reviews/{id}\"")));
    let page = s.get(ok.location.as_deref().unwrap()).await;
    assert!(page.has_text("평가위원을 배정에서 제외했습니다."));
    assert!(page.has_text("id=\"removed-reviewers\"") && page.has_text(why));
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'review.remove' AND entity_id = '{id}'")
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_advisor_sees_evidence_links_once_declared() {
    let app = App::demo().await;
    let (v, advisor, _) = undeclared(&app).await;
    let id = v.application.id;
    let att = v.attachments.first().expect("demo evidence").clone();
    let s = app.login(&advisor).await;
    let link = format!("href=\"/attachments/{}\"", att.id);
    let before = s.get(&format!("/reviews/{id}")).await;
    assert!(!before.has_text(&link), "{}", before.body);
    let ok = s
        .post(&format!("/reviews/{id}/conflict"), &[("conflict", "no")])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let after = s.get(&format!("/reviews/{id}")).await;
    assert!(after.has_text(&link), "{}", after.body);
    assert!(after.has_text(&att.filename));
    let file = s.get(&format!("/attachments/{}", att.id)).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(
        file.headers.get(header::CONTENT_TYPE).unwrap(),
        "text/plain; charset=utf-8"
    );
}
