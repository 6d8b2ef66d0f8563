//! Portal pages of patch prioritisation and remediation (SPEC C13, issue 6): the patch queue
//! (priority, then due date; SLA breaches marked; filters; bulk assignment), a finding's priority
//! explanation (the decision-table row that decided it and every input with its source and
//! date), patch records with the work plan the immunity rules ask for, the burn-down and
//! SLA-compliance charts, the feeds page, emergency advisories, and the security-SaaS register.
//!
//! Every page asks the service (`haechi_service::{patching, priority, feeds, patching_views}`),
//! which decides who may see and change what: an institution's users reach only their own
//! records (another institution's id answers "not found"), the auditor reads and changes
//! nothing, the regulator side reads feeds and advisories and publishes advisories but has no
//! access to an institution's queue. The pages only hide buttons a role could not use anyway.

mod charts;
mod feeds;
mod origin;
mod patches;
mod queue;
mod saas;

use axum::response::Response;
use haechi_core::FieldError;
use haechi_service::ServiceError;
use maud::{html, Markup};

use super::{url_encode, Lang, PageRoute, Portal};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/queue", queue::list),
        page_post!("/queue/assign", queue::assign),
        page_get!("/queue/{id}", queue::explain),
        page_get!("/patches", patches::list),
        page_get!("/patches/new", patches::new_form),
        page_post!("/patches", patches::create),
        page_get!("/patches/charts", charts::page),
        page_get!("/patches/{id}", patches::detail),
        page_get!("/feeds", feeds::status),
        page_post!("/feeds", feeds::upload),
        page_get!("/advisories", feeds::advisories),
        page_post!("/advisories", feeds::publish),
        page_post!("/advisories/{id}/withdraw", feeds::withdraw),
        page_get!("/saas", saas::list),
        page_get!("/saas/new", saas::new_form),
        page_post!("/saas", saas::create),
        page_get!("/saas/{id}", saas::detail),
        page_post!("/saas/{id}", saas::update),
        page_post!("/saas/{id}/evaluations", saas::evaluate),
        page_post!("/saas/{id}/delete", saas::delete),
    ]
}

// ================================================================================ labels

pub const PRIORITIES: [&str; 5] = ["P1", "P2", "P3", "P4", "P5"];

/// The label of every enum value these pages show (priorities, finding statuses, severities,
/// the decision table's inputs and their values, evidence sources, feed kinds, advisory states,
/// SaaS evaluation results, data classes), in both languages side by side. An unknown value is
/// shown as stored.
pub fn state_label(lang: Lang, state: &str) -> &str {
    match state {
        // priorities
        "P1" => lang.t("P1 (긴급)", "P1 (emergency)"),
        "P2" => lang.t("P2 (높음)", "P2 (high)"),
        "P3" => lang.t("P3 (보통)", "P3 (medium)"),
        "P4" => lang.t("P4 (낮음)", "P4 (low)"),
        "P5" => lang.t("P5 (정기)", "P5 (routine)"),
        // finding lifecycle
        "open" => lang.t("미조치", "Open"),
        "in_progress" => lang.t("조치 중", "In progress"),
        "fixed" => lang.t("조치 완료", "Fixed"),
        "verified" => lang.t("검증 완료", "Verified"),
        "risk_accepted" => lang.t("위험 수용", "Risk accepted"),
        "false_positive" => lang.t("오탐", "False positive"),
        // severities
        "critical" => lang.t("긴급", "Critical"),
        "high" => lang.t("높음", "High"),
        "medium" => lang.t("보통", "Medium"),
        "low" => lang.t("낮음", "Low"),
        "none" => lang.t("없음", "None"),
        // the decision table's inputs
        "authority_advisory" => lang.t("당국 긴급 권고", "Authority advisory"),
        "exploitation" => lang.t("악용 현황", "Exploitation"),
        "exposure" => lang.t("노출", "Exposure"),
        "automatable" => lang.t("자동화 가능성", "Automatable"),
        "class" => lang.t("자원 등급", "Resource class"),
        "severity" => lang.t("심각도", "Severity"),
        "weakness" => lang.t("약점 유형", "Weakness class"),
        // their values
        "direct" => lang.t(
            "직접 침해형(인젝션·코드 실행·인증 우회 등)",
            "Direct compromise (injection, code execution, auth bypass…)",
        ),
        "indirect" => lang.t("간접 침해형(XSS·SSRF·XXE 등)", "Indirect (XSS, SSRF, XXE…)"),
        "hygiene" => lang.t(
            "보안 위생(설정·정보 노출 등)",
            "Hygiene (configuration, information exposure…)",
        ),
        "unmapped" => lang.t("분류되지 않음", "Unmapped"),
        "active" => lang.t("실제 악용 중", "Active (exploited)"),
        "poc" => lang.t("공개 PoC·악용 가능성 높음", "Public PoC / likely"),
        "open_exposure" => lang.t("인터넷 노출", "Open (internet)"),
        "controlled" => lang.t("통제된 노출", "Controlled"),
        "small" => lang.t("내부(분리망)", "Small (internal)"),
        "yes" => lang.t("예", "Yes"),
        "no" => lang.t("아니요", "No"),
        "true" => lang.t("예", "Yes"),
        "false" => lang.t("아니요", "No"),
        "C" => lang.t("기밀 (C)", "Classified (C)"),
        "S" => lang.t("민감 (S)", "Sensitive (S)"),
        "O" => lang.t("공개 (O)", "Open (O)"),
        // evidence sources
        "KEV" => lang.t("CISA KEV 목록", "CISA KEV catalog"),
        "EPSS" => lang.t("FIRST EPSS 점수", "FIRST EPSS score"),
        "advisory" => lang.t("당국 긴급 패치 권고", "Authority emergency advisory"),
        "resource" => lang.t("전산자원 등록 정보", "Registered resource"),
        "CVSS" => lang.t("CVSS 벡터", "CVSS vector"),
        "SARIF" => lang.t("SARIF 보안 심각도", "SARIF security-severity"),
        "SARIF level" => lang.t("SARIF 결과 수준", "SARIF result level"),
        "default" => lang.t("기본값(근거 없음)", "Default (no evidence)"),
        "tool" => lang.t(
            "분석 도구의 익스플로잇 확인",
            "The tool's exploit confirmation",
        ),
        "policy" => lang.t("정책 약점 표", "Policy weakness table"),
        // AI provenance of a finding
        "ai_generated" => lang.t("AI가 발견", "AI-generated"),
        "ai_annotated" => lang.t("AI가 보강", "AI-annotated"),
        "conventional" => lang.t("기존 도구", "Conventional"),
        // feed kinds
        "epss" => "EPSS",
        "kev" => "KEV",
        "cve" => lang.t("CVE 레코드", "CVE records"),
        // advisory states
        "published" => lang.t("게시", "Published"),
        "withdrawn" => lang.t("철회", "Withdrawn"),
        // SaaS self-evaluation results
        "pass" => lang.t("적합", "Pass"),
        "partial" => lang.t("부분 적합", "Partial"),
        "fail" => lang.t("부적합", "Fail"),
        other => other,
    }
}

/// The label of an input's value: `open` means "internet" for exposure, "open" elsewhere.
pub fn value_label<'a>(lang: Lang, input: &str, value: &'a str) -> &'a str {
    match (input, value) {
        ("exposure", "open") => state_label(lang, "open_exposure"),
        (_, v) => state_label(lang, v),
    }
}

/// Badge class of a priority.
pub fn priority_badge(priority: &str) -> &'static str {
    match priority {
        "P1" => "badge p1",
        "P2" => "badge p2",
        "P3" => "badge p3",
        "P4" => "badge p4",
        "P5" => "badge p5",
        _ => "badge",
    }
}

/// A priority as a badge with its label.
pub fn priority_tag(lang: Lang, priority: &str) -> Markup {
    html! { span class=(priority_badge(priority)) { (state_label(lang, priority)) } }
}

/// The day (`YYYY-MM-DD`) in Korea of a stored RFC 3339 time (a stored date as it is).
pub fn date_of(at: &str) -> String {
    super::kst_day(at)
}

/// `YYYY-MM-DD HH:MM KST` of a stored RFC 3339 time.
pub fn minute_of(at: &str) -> String {
    super::kst_minute(at)
}

/// Keeps a text short for a table cell.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

// ================================================================================ scope

/// The institution a remediation page covers. Institution users get their own; the auditor
/// chooses one (`?institution=`); `Ok(None)` means "show the chooser". The service decides.
pub async fn scope(p: &Portal, st: &AppState, asked: &str) -> Result<Option<i64>, Response> {
    let asked = match asked.trim() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => return Err(p.error(ServiceError::NotFound)),
        },
    };
    st.svc
        .remediation_scope(&p.actor, asked)
        .map_err(|e| p.error(e))
}

/// The chooser of an institution for roles that read every institution (the auditor).
pub async fn institution_chooser(
    p: &Portal,
    st: &AppState,
    action: &str,
    selected: Option<i64>,
) -> Markup {
    let names = st
        .svc
        .finding_institution_names(&p.actor)
        .await
        .unwrap_or_default();
    html! {
        form method="get" action=(action) class="filters" {
            div class="field" {
                label for="institution" { (p.t("기관", "Institution")) }
                select id="institution" name="institution" {
                    option value="" { (p.t("— 기관 선택 —", "— choose an institution —")) }
                    @for (id, ko, en) in &names {
                        option value=(id) selected[selected == Some(*id)] { (p.t(ko, en)) }
                    }
                }
            }
            button type="submit" { (p.t("보기", "Show")) }
        }
    }
}

/// `&institution=ID` for links of a page scoped by the chooser (nothing for institution users,
/// whose institution is implied).
pub fn institution_param(p: &Portal, institution: i64) -> String {
    if p.actor.role.is_institution_role() {
        String::new()
    } else {
        format!("institution={}", url_encode(&institution.to_string()))
    }
}

/// Moves field errors named like `cves[3]` onto their control (`cves`), keeping the message.
pub fn fold_indexed(errors: &[FieldError]) -> Vec<FieldError> {
    errors
        .iter()
        .map(|e| {
            let base = e.field.split('[').next().unwrap_or(&e.field);
            let mut out = e.clone();
            if base != e.field {
                out.message = format!("{}: {}", e.field, e.message);
                out.field = base.to_string();
            }
            out
        })
        .collect()
}
