//! Sanction immunity and incidents (C8), both sides: the institution files a disruption report
//! (from a patch record, an AI test's import, the advisory it answered) and sees each review
//! version's evaluation — every criterion with its observed value, threshold, evidence and
//! outcome, and the policy version — and the committee's decision with its reasons, and appeals a
//! refusal; the committee (regulator officers) decides. Incidents show their reporting clock
//! (initial, interim, final) with what is due and overdue, and take the reports against it; a
//! data-class breach is recorded as an incident tied to its letter.
//!
//! What it must not do: decide who may do what — the service does; the page only hides controls
//! a role could not use.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, NaiveDateTime};
use haechi_core::FieldError;
use haechi_policy::RuleOutcome;
use haechi_service::authz::Action;
use haechi_service::immunity::{
    BreachInput, ClockEntry, Disruption, DisruptionInput, Incident, ReviewVersion,
};
use haechi_service::ServiceError;
use maud::{html, Markup};
use serde::Deserialize;

use super::{kst_minute, money, CsrfForm, Lang, PageRoute, Portal};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/immunity", list),
        page_get!("/immunity/new", new_form),
        page_post!("/immunity", file),
        page_get!("/immunity/{id}", detail),
        page_post!("/immunity/{id}/decision", decision),
        page_post!("/immunity/{id}/appeal", appeal),
        page_get!("/incidents", incidents),
        page_get!("/incidents/new", breach_form),
        page_post!("/incidents", breach),
        page_get!("/incidents/{id}", incident),
        page_post!("/incidents/{id}/reports", incident_report),
    ]
}

// ================================================================================ words

fn activity_label(lang: Lang, a: &str) -> &'static str {
    match a {
        "ai_security_test" => lang.t("AI 보안 테스트", "AI security test"),
        "emergency_patch" => lang.t("긴급 보안패치", "Emergency security patch"),
        _ => lang.t("알 수 없음", "Unknown"),
    }
}

fn review_badge(lang: Lang, state: &str) -> Markup {
    let (class, text) = match state {
        "granted" => ("badge ok", lang.t("면책", "Immunity granted")),
        "refused" => ("badge bad", lang.t("면책 불인정", "Immunity refused")),
        _ => ("badge warn", lang.t("심사 대기", "Awaiting the committee")),
    };
    html! { span class=(class) { (text) } }
}

fn report_kind_label(lang: Lang, kind: &str) -> &'static str {
    match kind {
        "initial" => lang.t("최초 보고", "Initial report"),
        "interim" => lang.t("중간 보고", "Interim report"),
        "final" => lang.t("종결 보고", "Final report"),
        _ => lang.t("보고", "Report"),
    }
}

fn incident_kind_label(lang: Lang, kind: &str) -> &'static str {
    match kind {
        "data_breach" => lang.t("데이터 등급 위반", "Data-class breach"),
        _ => lang.t("전산 장애", "IT disruption"),
    }
}

/// Labels of this area's form fields.
fn label(lang: Lang, field: &str) -> String {
    let (ko, en) = match field {
        "activity" => ("보안 활동", "Security activity"),
        "patch_id" => ("패치 기록", "Patch record"),
        "import_id" => ("AI 테스트(가져오기)", "AI test (import)"),
        "advisory_id" => ("긴급 패치 권고", "Emergency advisory"),
        "title" => ("제목", "Title"),
        "started_at" => ("발생 시각", "Started at"),
        "detected_at" => ("인지 시각", "Detected at"),
        "recovered_at" => ("복구 시각", "Recovered at"),
        "outage_minutes" => ("전산 중단 시간(분)", "Outage (minutes)"),
        "affected_services" => ("영향받은 서비스", "Affected services"),
        "affected_subscribers" => ("영향받은 가입자 수", "Affected subscribers"),
        "financial_damage_krw" => ("금전적 피해(원)", "Financial damage (KRW)"),
        "leaked_records" => ("유출된 고객정보(건)", "Customer records leaked"),
        "recovery_actions" => ("복구 조치", "Recovery actions"),
        "consumer_actions" => ("소비자 보호 조치", "Consumer-protection actions"),
        "rationale" => ("결정 사유", "Rationale"),
        "reason" => ("재심 청구 사유", "Reason for the appeal"),
        "body" => ("보고 내용", "Report"),
        "kind" => ("보고 종류", "Report kind"),
        "aware_at" => ("인지 시각", "Aware at"),
        "letter_id" => ("비조치의견서", "Letter"),
        "institution_id" => ("기관", "Institution"),
        "description" => ("내용", "Description"),
        _ => return super::fields::field_label(lang, field),
    };
    lang.t(ko, en).to_string()
}

/// This area's service messages in the page's language (the shared table for the rest).
fn message(lang: Lang, e: &FieldError) -> String {
    let ko = match e.message.as_str() {
        "choose the activity" => "보안 활동을 고르십시오.",
        "must not be before the start" => "발생 시각보다 앞설 수 없습니다.",
        "must not exceed the time from start to recovery" => {
            "발생부터 복구까지의 시간보다 길 수 없습니다."
        }
        "give the outage or the recovery time" => "중단 시간이나 복구 시각을 쓰십시오.",
        "no such patch record" => "이 기관의 패치 기록이 아닙니다.",
        "no such import" => "이 기관의 가져오기가 아닙니다.",
        "no such advisory" => "없는 권고입니다.",
        "no such letter" => "이 기관의 비조치의견서가 아닙니다.",
        "choose the report" => "보고 종류를 고르십시오.",
        "is not a number" => "숫자를 쓰십시오.",
        "is not a time (YYYY-MM-DDTHH:MM, KST)" => "날짜와 시각을 쓰십시오(KST).",
        m if m.starts_with("at most ") => "너무 깁니다.",
        _ => return super::fields::localized(lang, e),
    };
    lang.t(ko, &e.message).to_string()
}

fn field_error(lang: Lang, errors: &[FieldError], field: &str) -> Option<String> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| message(lang, e))
}

/// A labelled control with its error next to it.
fn ctl(lang: Lang, field: &str, errors: &[FieldError], input: Markup) -> Markup {
    let err = field_error(lang, errors, field);
    html! {
        div class={ "field" @if err.is_some() { " invalid" } } {
            label for=(field) { (label(lang, field)) }
            (input)
            @if let Some(msg) = err {
                p class="field-error" id={ (field) "-error" } role="alert" { (msg) }
            }
        }
    }
}

fn summary(lang: Lang, errors: &[FieldError]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="alert error" role="alert" {
                p { strong { (lang.t("입력을 확인하십시오. 아무것도 저장하지 않았습니다.", "Please check the form. Nothing was saved.")) } }
                ul { @for e in errors { li { a href={ "#" (e.field) } { (label(lang, &e.field)) } ": " (message(lang, e)) } } }
            }
        }
    }
}

/// A rule error of this area in the page's language.
fn rule_message(lang: Lang, e: &ServiceError) -> String {
    match e.code() {
        "illegal_transition" => lang
            .t(
                "현재 상태에서는 할 수 없는 작업입니다.",
                "This cannot be done in the current state.",
            )
            .into(),
        "initial_first" => lang
            .t(
                "최초 보고를 먼저 제출하십시오.",
                "File the initial report first.",
            )
            .into(),
        "initial_filed" => lang
            .t(
                "최초 보고는 이미 제출했습니다.",
                "The initial report was already filed.",
            )
            .into(),
        "incident_closed" => lang
            .t(
                "종결 보고가 제출되어 사고가 종결되었습니다.",
                "The incident is closed: its final report was filed.",
            )
            .into(),
        _ => super::error_text(lang, e),
    }
}

fn parse_id(id: &str) -> Result<i64, ServiceError> {
    id.trim().parse::<i64>().map_err(|_| ServiceError::NotFound)
}

/// A `datetime-local` value, typed in KST, as UTC.
fn kst_input(errors: &mut Vec<FieldError>, field: &str, value: &str) -> Option<NaiveDateTime> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    match NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M"))
    {
        Ok(t) => t.checked_sub_signed(Duration::hours(9)),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "is not a time (YYYY-MM-DDTHH:MM, KST)",
            ));
            None
        }
    }
}

fn number(errors: &mut Vec<FieldError>, field: &str, value: &str) -> Option<i64> {
    let v: String = value.trim().chars().filter(|c| *c != ',').collect();
    if v.is_empty() {
        return None;
    }
    match v.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(FieldError::new(field, "is not a number"));
            None
        }
    }
}

fn id_of(value: &str) -> Option<i64> {
    value.trim().parse::<i64>().ok()
}

fn yes_no(lang: Lang, v: bool) -> Markup {
    html! {
        @if v { span class="badge ok" { "✓ " (lang.t("예", "Yes")) } }
        @else { span class="badge bad" { "✗ " (lang.t("아니요", "No")) } }
    }
}

// ================================================================================ list

async fn list(p: Portal, State(st): State<AppState>) -> Response {
    let items = match st.svc.disruptions(&p.actor).await {
        Ok(i) => i,
        Err(e) => return p.error(e),
    };
    let title = p.t("면책 심사", "Immunity review");
    let body = html! {
        h1 { (title) }
        p class="muted" { (p.t(
            "AI 보안 테스트나 금융당국이 전파한 취약점의 긴급 패치로 생긴 경미한 전산 장애는 기준을 충족하면 제재를 면제받을 수 있습니다(금융위원회, 2026년 6월 30일). 기관이 장애 보고서를 제출하면 면책심의위원회가 심사합니다.",
            "Minor IT disruptions caused by AI security testing or by emergency patches for vulnerabilities the authorities disseminated may be exempt from sanctions when they meet the criteria (FSC, 30 June 2026). The institution files a disruption report; the immunity review committee decides.",
        )) }
        p class="actions" {
            @if p.may(Action::FileImmunity) {
                a class="button primary" href="/immunity/new" { (p.t("장애 보고서 제출", "File a disruption report")) }
            }
            a class="button" href="/incidents" { (p.t("전산사고 보고 현황", "Incident reports")) }
        }
        @if items.is_empty() {
            p class="muted" { (p.t("제출된 장애 보고서가 없습니다.", "No disruption report has been filed.")) }
        } @else {
            div class="table-wrap" { table {
                thead { tr {
                    th scope="col" { (p.t("기관", "Institution")) }
                    th scope="col" { (p.t("제목", "Title")) }
                    th scope="col" { (p.t("보안 활동", "Activity")) }
                    th scope="col" { (p.t("발생", "Started")) }
                    th scope="col" class="num" { (p.t("중단(분)", "Outage (min)")) }
                    th scope="col" { (p.t("정책 평가", "Policy evaluation")) }
                    th scope="col" { (p.t("심사", "Review")) }
                } }
                tbody { @for i in &items { tr {
                    td { (i.row.institution_name) }
                    td { a href={ "/immunity/" (i.row.id) } { (i.row.title) } }
                    td { (activity_label(p.lang, &i.row.activity)) }
                    td { (kst_minute(&i.row.started_at)) }
                    td class="num" { (i.row.outage_minutes) }
                    td { @if let Some(l) = &i.latest {
                        @if l.eligible { span class="badge ok" { (p.t("기준 충족", "Criteria met")) } }
                        @else { span class="badge bad" { (p.t("기준 미충족", "Criteria not met")) } }
                    } }
                    td { @if let Some(l) = &i.latest {
                        (review_badge(p.lang, &l.state)) " " (p.t("제", "v")) (l.version) (p.t("차", ""))
                    } }
                } } }
            } }
        }
    };
    p.page(title, body)
}

// ================================================================================ filing

#[derive(Deserialize, Default, Clone)]
struct DisruptionForm {
    #[serde(default)]
    activity: String,
    #[serde(default)]
    patch_id: String,
    #[serde(default)]
    import_id: String,
    #[serde(default)]
    advisory_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    started_at: String,
    #[serde(default)]
    detected_at: String,
    #[serde(default)]
    recovered_at: String,
    #[serde(default)]
    outage_minutes: String,
    #[serde(default)]
    affected_services: String,
    #[serde(default)]
    affected_subscribers: String,
    #[serde(default)]
    financial_damage_krw: String,
    #[serde(default)]
    leaked_records: String,
    #[serde(default)]
    credit_info_leaked: String,
    #[serde(default)]
    intent: String,
    #[serde(default)]
    pre_testing: String,
    #[serde(default)]
    spread_prevention: String,
    #[serde(default)]
    service_continuity: String,
    #[serde(default)]
    customer_advance_notice: String,
    #[serde(default)]
    recovery_actions: String,
    #[serde(default)]
    consumer_actions: String,
}

const WORK_PLAN: [(&str, &str, &str); 4] = [
    ("pre_testing", "사전 테스트", "Pre-testing"),
    (
        "spread_prevention",
        "피해확산 방지 (롤백, 킬스위치, 서비스 격리)",
        "Damage-spread prevention (rollback, kill switch, isolation)",
    ),
    (
        "service_continuity",
        "서비스 연속성 (복구 및 대체수단)",
        "Service continuity (recovery and alternative means)",
    ),
    (
        "customer_advance_notice",
        "작업 시기·범위 고객 사전 안내",
        "Customers told the timing and scope in advance",
    ),
];

impl DisruptionForm {
    fn checked(&self, field: &str) -> bool {
        let v = match field {
            "credit_info_leaked" => &self.credit_info_leaked,
            "intent" => &self.intent,
            "pre_testing" => &self.pre_testing,
            "spread_prevention" => &self.spread_prevention,
            "service_continuity" => &self.service_continuity,
            "customer_advance_notice" => &self.customer_advance_notice,
            _ => return false,
        };
        !v.is_empty()
    }

    fn input(&self, institution_id: i64) -> Result<DisruptionInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let started_at = kst_input(&mut errors, "started_at", &self.started_at);
        let detected_at = kst_input(&mut errors, "detected_at", &self.detected_at);
        let recovered_at = kst_input(&mut errors, "recovered_at", &self.recovered_at);
        let outage_minutes = number(&mut errors, "outage_minutes", &self.outage_minutes);
        let affected_subscribers = number(
            &mut errors,
            "affected_subscribers",
            &self.affected_subscribers,
        )
        .unwrap_or(0);
        let financial_damage_krw = number(
            &mut errors,
            "financial_damage_krw",
            &self.financial_damage_krw,
        )
        .unwrap_or(0);
        let leaked_records =
            number(&mut errors, "leaked_records", &self.leaked_records).unwrap_or(0);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(DisruptionInput {
            institution_id,
            activity: self.activity.trim().to_string(),
            patch_id: id_of(&self.patch_id),
            import_id: id_of(&self.import_id),
            advisory_id: id_of(&self.advisory_id),
            title: self.title.clone(),
            started_at,
            detected_at,
            recovered_at,
            outage_minutes,
            affected_services: self.affected_services.clone(),
            affected_subscribers,
            financial_damage_krw,
            leaked_records,
            credit_info_leaked: self.checked("credit_info_leaked"),
            intent: self.checked("intent"),
            pre_testing: self.checked("pre_testing"),
            spread_prevention: self.checked("spread_prevention"),
            service_continuity: self.checked("service_continuity"),
            customer_advance_notice: self.checked("customer_advance_notice"),
            recovery_actions: self.recovery_actions.clone(),
            consumer_actions: self.consumer_actions.clone(),
        })
    }
}

#[derive(Deserialize, Default)]
struct NewQuery {
    #[serde(default)]
    patch: String,
    #[serde(default)]
    import: String,
    #[serde(default)]
    advisory: String,
}

async fn new_form(p: Portal, State(st): State<AppState>, Query(q): Query<NewQuery>) -> Response {
    let form = DisruptionForm {
        activity: if q.patch.is_empty() && !q.import.is_empty() {
            "ai_security_test".into()
        } else if !q.patch.is_empty() || !q.advisory.is_empty() {
            "emergency_patch".into()
        } else {
            String::new()
        },
        patch_id: q.patch,
        import_id: q.import,
        advisory_id: q.advisory,
        ..DisruptionForm::default()
    };
    render_form(&st, &p, &form, &[]).await
}

async fn render_form(
    st: &AppState,
    p: &Portal,
    form: &DisruptionForm,
    errors: &[FieldError],
) -> Response {
    if let Err(e) = haechi_service::authz::authorize(&p.actor, Action::FileImmunity) {
        return p.error(e);
    }
    let Some(inst) = p.actor.institution_id else {
        return p.error(ServiceError::NotFound);
    };
    let patches = st
        .svc
        .patch_records(&p.actor, inst)
        .await
        .unwrap_or_default();
    let imports = st
        .svc
        .finding_imports(&p.actor, Some(inst))
        .await
        .unwrap_or_default();
    let advisories = st.svc.advisories(&p.actor).await.unwrap_or_default();
    let linked = id_of(&form.patch_id).and_then(|id| patches.iter().find(|r| r.id == id));
    let title = p.t("장애 보고서 제출", "File a disruption report");
    let lang = p.lang;
    let text = |field: &str, value: &str| {
        html! { input type="text" id=(field) name=(field) value=(value) aria-describedby=[field_error(lang, errors, field).map(|_| format!("{field}-error"))]; }
    };
    let when = |field: &str, value: &str| {
        html! { input type="datetime-local" id=(field) name=(field) value=(value); }
    };
    let body = html! {
        p { a href="/immunity" { "← " (p.t("면책 심사", "Immunity review")) } }
        h1 { (title) }
        p class="muted" { (p.t(
            "시각은 한국 표준시(KST)로 입력합니다. 패치 기록을 연결하면 그 작업계획서가 면책 요건으로 쓰입니다.",
            "Times are in Korea Standard Time (KST). When a patch record is linked, its work plan is the one the immunity rules read.",
        )) }
        (summary(lang, errors))
        form method="post" action="/immunity" class="stack" {
            (p.csrf_field())
            (ctl(lang, "activity", errors, html! {
                select id="activity" name="activity" {
                    option value="" { (p.t("— 고르십시오 —", "— choose —")) }
                    @for a in ["ai_security_test", "emergency_patch"] {
                        option value=(a) selected[form.activity == a] { (activity_label(lang, a)) }
                    }
                }
            }))
            (ctl(lang, "patch_id", errors, html! {
                select id="patch_id" name="patch_id" {
                    option value="" { (p.t("— 없음 —", "— none —")) }
                    @for r in &patches {
                        option value=(r.id) selected[form.patch_id.trim() == r.id.to_string()] { "#" (r.id) " · " (r.applied) " · " (super::kst_day(&r.applied_at)) }
                    }
                }
            }))
            @if let Some(r) = linked {
                p class="small muted" { (p.t("연결된 패치 기록: ", "Linked patch record: ")) a href={ "/patches/" (r.id) } { "#" (r.id) " " (r.applied) } }
            }
            (ctl(lang, "import_id", errors, html! {
                select id="import_id" name="import_id" {
                    option value="" { (p.t("— 없음 —", "— none —")) }
                    @for i in &imports {
                        option value=(i.id) selected[form.import_id.trim() == i.id.to_string()] {
                            "#" (i.id) " · " (i.tool_name.as_deref().unwrap_or("—"))
                            @if let Some(m) = &i.ai_model { " · " (m) }
                            " · " (super::kst_day(&i.uploaded_at))
                        }
                    }
                }
            }))
            (ctl(lang, "advisory_id", errors, html! {
                select id="advisory_id" name="advisory_id" {
                    option value="" { (p.t("— 없음 —", "— none —")) }
                    @for a in &advisories {
                        option value=(a.id) selected[form.advisory_id.trim() == a.id.to_string()] { (p.t(&a.title_ko, &a.title_en)) " · " (a.published_on) }
                    }
                }
            }))
            (ctl(lang, "title", errors, text("title", &form.title)))
            div class="filters" {
                (ctl(lang, "started_at", errors, when("started_at", &form.started_at)))
                (ctl(lang, "detected_at", errors, when("detected_at", &form.detected_at)))
                (ctl(lang, "recovered_at", errors, when("recovered_at", &form.recovered_at)))
            }
            (ctl(lang, "outage_minutes", errors, html! {
                input type="text" inputmode="numeric" id="outage_minutes" name="outage_minutes" value=(form.outage_minutes);
                p class="small muted" { (p.t("비워 두면 발생부터 복구까지의 시간입니다.", "Leave empty for the time from start to recovery.")) }
            }))
            (ctl(lang, "affected_services", errors, text("affected_services", &form.affected_services)))
            div class="filters" {
                (ctl(lang, "affected_subscribers", errors, text("affected_subscribers", &form.affected_subscribers)))
                (ctl(lang, "financial_damage_krw", errors, text("financial_damage_krw", &form.financial_damage_krw)))
                (ctl(lang, "leaked_records", errors, text("leaked_records", &form.leaked_records)))
            }
            fieldset {
                legend { (p.t("유출과 고의", "Leak and intent")) }
                div { label { input type="checkbox" id="credit_info_leaked" name="credit_info_leaked" value="1" checked[form.checked("credit_info_leaked")]; " " (p.t("유출 정보에 개인신용정보가 포함됨", "Personal credit information was among the leaked records")) } }
                div { label { input type="checkbox" id="intent" name="intent" value="1" checked[form.checked("intent")]; " " (p.t("고의로 발생시킴", "Caused intentionally")) } }
            }
            @if linked.is_none() {
                fieldset {
                    legend { (p.t("사전 작업계획서 (패치 기록이 없을 때)", "Work plan beforehand (when no patch record is linked)")) }
                    @for (field, ko, en) in WORK_PLAN {
                        div { label { input type="checkbox" id=(field) name=(field) value="1" checked[form.checked(field)]; " " (p.t(ko, en)) } }
                    }
                }
            }
            (ctl(lang, "recovery_actions", errors, html! {
                textarea id="recovery_actions" name="recovery_actions" rows="3" { (form.recovery_actions) }
            }))
            (ctl(lang, "consumer_actions", errors, html! {
                textarea id="consumer_actions" name="consumer_actions" rows="3" { (form.consumer_actions) }
            }))
            button type="submit" class="primary" { (p.t("제출", "File the report")) }
        }
    };
    p.page(title, body)
}

async fn file(State(st): State<AppState>, f: CsrfForm<DisruptionForm>) -> Response {
    let p = f.portal;
    let Some(inst) = p.actor.institution_id else {
        // Only institution users file; the service refuses the rest.
        let e = haechi_service::authz::authorize(&p.actor, Action::FileImmunity)
            .err()
            .unwrap_or(ServiceError::NotFound);
        return p.error(e);
    };
    let input = match f.form.input(inst) {
        Ok(i) => i,
        Err(errors) => {
            return with_status(render_form(&st, &p, &f.form, &errors).await);
        }
    };
    match st.svc.file_disruption(&p.actor, &input).await {
        Ok(id) => Redirect::to(&format!("/immunity/{id}?done=filed")).into_response(),
        Err(e) if !e.field_errors().is_empty() => {
            with_status(render_form(&st, &p, &f.form, e.field_errors()).await)
        }
        Err(e) => p.error(e),
    }
}

/// A form shown again with its errors answers 422.
fn with_status(r: Response) -> Response {
    if r.status().is_success() {
        (axum::http::StatusCode::UNPROCESSABLE_ENTITY, r).into_response()
    } else {
        r
    }
}

// ================================================================================ detail

#[derive(Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn detail(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    render_detail(&st, &p, &id, &q.done, None, &[]).await
}

/// The report's page again with a failure shown at its top (an evidence upload refused).
pub(crate) async fn render_with_failure(
    st: &AppState,
    p: &Portal,
    id: i64,
    failed: String,
) -> Response {
    render_detail(st, p, &id.to_string(), "", Some(failed), &[]).await
}

async fn render_detail(
    st: &AppState,
    p: &Portal,
    id: &str,
    done: &str,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let d = match parse_id(id) {
        Ok(n) => match st.svc.disruption(&p.actor, n).await {
            Ok(d) => d,
            Err(e) => return p.error(e),
        },
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let r = &d.row;
    let latest = d.latest();
    let pending = latest.is_some_and(|v| v.row.state == "pending");
    let refused = latest.is_some_and(|v| v.row.state == "refused");
    let files = st
        .svc
        .disruption_files(&p.actor, r.id)
        .await
        .unwrap_or_default();
    let notice = match done {
        "filed" => Some(p.t(
            "장애 보고서를 제출했습니다. 정책 평가 결과가 아래에 있으며, 면책심의위원회가 심사합니다.",
            "The disruption report was filed. The policy evaluation is below; the committee will decide.",
        )),
        "decided" => Some(p.t("심사 결과를 기록했습니다.", "The decision was recorded.")),
        "appealed" => Some(p.t(
            "재심을 청구했습니다. 새 심사 차수가 시작되었습니다.",
            "The appeal was filed; a new review version awaits the committee.",
        )),
        _ => None,
    };
    let title = format!("{} — {}", p.t("장애 보고서", "Disruption report"), r.title);
    let body = html! {
        p { a href="/immunity" { "← " (p.t("면책 심사", "Immunity review")) } }
        h1 { (r.title) }
        @if let Some(n) = notice { p class="alert ok" role="status" { (n) } }
        @if let Some(m) = &failed { p class="alert error" role="alert" { (m) } }
        @if let Some(v) = latest {
            p { (review_badge(lang, &v.row.state)) }
            @if let Some(why) = &v.row.rationale {
                section class="card" {
                    h2 { (p.t("면책심의위원회 결정과 사유", "The committee's decision and reasons")) }
                    p class="prewrap" { (why) }
                    p class="small muted" { (v.row.decided_by.as_deref().unwrap_or("—")) " · " (v.row.decided_at.as_deref().map(kst_minute).unwrap_or_default()) }
                }
            }
        }
        section {
            h2 { (p.t("보고 내용", "What was reported")) }
            dl class="facts" {
                dt { (p.t("기관", "Institution")) } dd { (r.institution_name) }
                dt { (p.t("보안 활동", "Security activity")) } dd { (activity_label(lang, &r.activity)) }
                @if let Some(pid) = r.patch_id { dt { (label(lang, "patch_id")) } dd { a href={ "/patches/" (pid) } { "#" (pid) } @if let Some(pr) = &d.patch { " " (pr.applied) } } }
                @if let Some(iid) = r.import_id { dt { (label(lang, "import_id")) } dd { a href={ "/imports/" (iid) } { "#" (iid) } } }
                @if let Some(aid) = r.advisory_id { dt { (label(lang, "advisory_id")) } dd { a href="/advisories" { "#" (aid) } } }
                dt { (label(lang, "started_at")) } dd { (kst_minute(&r.started_at)) }
                dt { (label(lang, "detected_at")) } dd { (kst_minute(&r.detected_at)) }
                dt { (label(lang, "recovered_at")) } dd { (r.recovered_at.as_deref().map(kst_minute).unwrap_or_else(|| p.t("복구 전", "Not recovered").to_string())) }
                dt { (label(lang, "outage_minutes")) } dd { (r.outage_minutes) (p.t("분", " min")) }
                dt { (label(lang, "affected_services")) } dd { (r.affected_services) }
                dt { (label(lang, "affected_subscribers")) } dd { (super::registry::thousands(r.affected_subscribers)) }
                dt { (label(lang, "financial_damage_krw")) } dd { (money(lang, r.financial_damage_krw)) }
                dt { (label(lang, "leaked_records")) } dd { (super::registry::thousands(r.leaked_records)) }
                dt { (p.t("개인신용정보 유출", "Personal credit information leaked")) } dd { (yes_no(lang, r.credit_info_leaked)) }
                dt { (p.t("고의", "Intent")) } dd { (yes_no(lang, r.intent)) }
                dt { (label(lang, "recovery_actions")) } dd class="prewrap" { (r.recovery_actions) }
                dt { (label(lang, "consumer_actions")) } dd class="prewrap" { (r.consumer_actions) }
                dt { (p.t("제출", "Filed")) } dd { (r.filed_by) " · " (kst_minute(&r.filed_at)) }
            }
            @if let Some(i) = d.incident_id {
                p { (p.t("전산사고 보고 대상입니다: ", "This disruption is a reportable incident: ")) a href={ "/incidents/" (i) } { (p.t("보고 기한 보기", "see its reporting clock")) } }
            }
        }
        (super::support::disruption_files_section(st, p, r.id, &files, pending))
        @for v in d.versions.iter().rev() {
            (version_block(p, &d, v))
        }
        @if pending && p.may(Action::DecideImmunity) {
            section {
                h2 { (p.t("면책심의위원회 결정", "Committee decision")) }
                form method="post" action={ "/immunity/" (r.id) "/decision" } class="stack" {
                    (p.csrf_field())
                    fieldset {
                        legend { (p.t("결정", "Decision")) }
                        label { input type="radio" name="decision" value="grant"; " " (p.t("면책", "Grant immunity")) }
                        " "
                        label { input type="radio" name="decision" value="refuse"; " " (p.t("면책 불인정", "Refuse immunity")) }
                    }
                    (ctl(lang, "rationale", errors, html! { textarea id="rationale" name="rationale" rows="4" required {} }))
                    button type="submit" class="primary" { (p.t("결정 기록", "Record the decision")) }
                }
            }
        }
        @if refused && p.may(Action::AppealImmunity) {
            section {
                h2 { (p.t("재심 청구", "Appeal")) }
                form method="post" action={ "/immunity/" (r.id) "/appeal" } class="stack" {
                    (p.csrf_field())
                    (ctl(lang, "reason", errors, html! { textarea id="reason" name="reason" rows="4" required {} }))
                    button type="submit" { (p.t("재심 청구", "Appeal the decision")) }
                }
            }
        }
    };
    p.page(&title, body)
}

fn observed(lang: Lang, c: &RuleOutcome) -> String {
    match &c.observed {
        serde_json::Value::Bool(b) => lang
            .t(
                if *b { "예" } else { "아니요" },
                if *b { "yes" } else { "no" },
            )
            .to_string(),
        serde_json::Value::Number(n) => match (c.field.as_str(), n.as_i64()) {
            ("financial_damage_krw", Some(v)) => money(lang, v),
            ("outage_minutes", Some(v)) => format!("{v}{}", lang.t("분", " min")),
            (_, Some(v)) => super::registry::thousands(v),
            _ => n.to_string(),
        },
        serde_json::Value::Null => lang.t("값 없음", "missing").to_string(),
        other => other.to_string(),
    }
}

fn threshold(lang: Lang, c: &RuleOutcome) -> String {
    use haechi_policy::Comparison as C;
    let value = match (&c.threshold, c.field.as_str()) {
        (serde_json::Value::Number(n), "financial_damage_krw") => {
            n.as_i64().map(|v| money(lang, v))
        }
        (serde_json::Value::Number(n), "outage_minutes") => {
            n.as_i64().map(|v| format!("{v}{}", lang.t("분", " min")))
        }
        (serde_json::Value::Number(n), _) => n.as_i64().map(super::registry::thousands),
        _ => None,
    };
    let op = match c.comparison {
        C::IsTrue => return lang.t("예여야 함", "must be yes").to_string(),
        C::IsFalse => return lang.t("아니요여야 함", "must be no").to_string(),
        C::Lt => "<",
        C::Le => "≤",
        C::Gt => ">",
        C::Ge => "≥",
        C::Eq => "=",
        C::Ne => "≠",
    };
    format!("{op} {}", value.unwrap_or_else(|| c.threshold.to_string()))
}

fn version_block(p: &Portal, d: &Disruption, v: &ReviewVersion) -> Markup {
    let lang = p.lang;
    let e = &v.evaluation.immunity;
    html! {
        section class="card" {
            h2 {
                (p.t("심사 ", "Review version ")) (v.row.version) (p.t("차", "")) " "
                (review_badge(lang, &v.row.state))
            }
            p class="small muted" {
                (p.t("정책 버전 ", "Policy version ")) (v.row.policy_version)
                " · " (v.row.requested_by) " · " (kst_minute(&v.row.requested_at))
            }
            @if let Some(a) = &v.row.appeal_reason {
                p { strong { (p.t("재심 청구 사유: ", "Reason for the appeal: ")) } (a) }
            }
            p {
                @if e.eligible { span class="badge ok" { (p.t("정책상 면책 기준 충족", "The policy's immunity criteria are met")) } }
                @else { span class="badge bad" { (p.t("정책상 면책 기준 미충족", "The policy's immunity criteria are not met")) } }
            }
            ul { @for r in &e.reasons { li { (p.t(&r.ko, &r.en)) } } }
            div class="table-wrap" { table {
                caption { (p.t("면책 기준", "Immunity criteria")) }
                thead { tr {
                    th scope="col" { (p.t("기준", "Criterion")) }
                    th scope="col" { (p.t("확인값", "Observed")) }
                    th scope="col" { (p.t("기준값", "Threshold")) }
                    th scope="col" { (p.t("근거", "Evidence")) }
                    th scope="col" { (p.t("결과", "Outcome")) }
                } }
                tbody {
                    @for c in &e.criteria {
                        @let ev = d.evidence(&c.field);
                        tr {
                            td { (p.t(&c.label_ko, &c.label_en)) }
                            td { (observed(lang, c)) }
                            td { (threshold(lang, c)) }
                            td class="small" {
                                @if c.field == "outage_minutes" {
                                    // The times themselves, in KST like every time on the page.
                                    (p.t("발생 ", "started ")) (kst_minute(&d.row.started_at))
                                    " · " (p.t("복구 ", "recovered ")) (d.row.recovered_at.as_deref().map(kst_minute).unwrap_or_else(|| "—".into()))
                                } @else {
                                    (p.t(&ev.ko, &ev.en))
                                }
                            }
                            td { @if c.passed { span class="badge ok" { (p.t("충족", "Pass")) } } @else { span class="badge bad" { (p.t("미충족", "Fail")) } } }
                        }
                    }
                    @for s in e.work_plan.iter().chain(&e.post_event) {
                        tr {
                            td { (p.t(&s.label_ko, &s.label_en)) }
                            td { (yes_no(lang, s.present)) }
                            td { (p.t("있어야 함", "required")) }
                            td class="small" {
                                @match d.safeguards.from_patch {
                                    Some(pid) if e.work_plan.iter().any(|w| w.id == s.id) => { (p.t("패치 기록 #", "Patch record #")) (pid) (p.t("의 작업계획서", "'s work plan")) }
                                    _ => { (p.t("기관의 보고", "As reported")) }
                                }
                            }
                            td { @if s.present { span class="badge ok" { (p.t("충족", "Pass")) } } @else { span class="badge bad" { (p.t("미충족", "Fail")) } } }
                        }
                    }
                }
            } }
            @let rep = &v.evaluation.reportability;
            p class="small" {
                strong { (p.t("전산사고 보고 대상: ", "Incident report required: ")) }
                (yes_no(lang, rep.reportable)) " "
                @for r in &rep.reasons { (p.t(&r.ko, &r.en)) }
            }
        }
    }
}

#[derive(Deserialize, Default)]
struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    rationale: String,
}

async fn decision(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<DecisionForm>,
) -> Response {
    let p = f.portal;
    let out = match (parse_id(&id), f.form.decision.as_str()) {
        (Err(e), _) => Err(e),
        (Ok(n), "grant" | "refuse") => st
            .svc
            .decide_immunity(&p.actor, n, f.form.decision == "grant", &f.form.rationale)
            .await
            .map(|()| n),
        (Ok(_), _) => {
            // Authorise before saying anything about the form.
            match haechi_service::authz::authorize(&p.actor, Action::DecideImmunity) {
                Err(e) => Err(e),
                Ok(()) => Err(ServiceError::invalid(vec![FieldError::new(
                    "rationale",
                    p.t(
                        "면책 또는 면책 불인정을 고르십시오.",
                        "Choose grant or refuse.",
                    ),
                )])),
            }
        }
    };
    after(&st, &p, &id, out, "decided").await
}

#[derive(Deserialize, Default)]
struct AppealForm {
    #[serde(default)]
    reason: String,
}

async fn appeal(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<AppealForm>,
) -> Response {
    let p = f.portal;
    let out = match parse_id(&id) {
        Ok(n) => st
            .svc
            .appeal_immunity(&p.actor, n, &f.form.reason)
            .await
            .map(|_| n),
        Err(e) => Err(e),
    };
    after(&st, &p, &id, out, "appealed").await
}

/// Redirects to the report after a change; shows it again with the error otherwise.
async fn after(
    st: &AppState,
    p: &Portal,
    id: &str,
    out: Result<i64, ServiceError>,
    done: &str,
) -> Response {
    let e = match out {
        Ok(n) => return Redirect::to(&format!("/immunity/{n}?done={done}")).into_response(),
        Err(e) => e,
    };
    if matches!(
        e,
        ServiceError::NotFound | ServiceError::Forbidden(_) | ServiceError::Unauthenticated
    ) {
        return p.error(e);
    }
    let status = crate::error::status_of(&e);
    let msg = if e.field_errors().is_empty() {
        rule_message(p.lang, &e)
    } else {
        p.t(
            "입력을 확인하십시오. 아무것도 저장하지 않았습니다.",
            "Please check the form. Nothing was saved.",
        )
        .to_string()
    };
    let r = render_detail(st, p, id, "", Some(msg), e.field_errors()).await;
    (status, r).into_response()
}

// ================================================================================ incidents

fn clock_badge(lang: Lang, c: &ClockEntry) -> Markup {
    html! {
        @if c.overdue { span class="badge bad" { (lang.t("기한 경과", "Overdue")) } }
        @else if c.filed.is_some() && c.late { span class="badge warn" { (lang.t("기한 후 제출", "Filed late")) } }
        @else if c.filed.is_some() { span class="badge ok" { (lang.t("제출", "Filed")) } }
        @else { span class="badge" { (lang.t("예정", "Upcoming")) } }
    }
}

fn due_text(lang: Lang, c: &ClockEntry) -> String {
    match c.due {
        Some(d) => kst_minute(&d.and_utc().to_rfc3339()),
        None if c.kind == "final" => lang.t("종결 시", "At closure").to_string(),
        None => "—".to_string(),
    }
}

async fn incidents(p: Portal, State(st): State<AppState>) -> Response {
    let items = match st.svc.incidents(&p.actor).await {
        Ok(i) => i,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let title = p.t("전산사고 보고", "Incident reports");
    let body = html! {
        h1 { (title) }
        p class="muted" { (p.t(
            "전자금융감독규정 시행세칙: 최초 보고는 인지 후 1일 이내, 복구가 길어지면 2개월 이내 중간 보고 후 6개월마다, 종결 시 종결 보고.",
            "Electronic financial supervision rules: the initial report within a day of becoming aware; if recovery takes longer, an interim report within 2 months and then every 6 months; the final report at closure.",
        )) }
        @if p.may(Action::RecordBreach) {
            p class="actions" { a class="button" href="/incidents/new" { (p.t("데이터 등급 위반 기록", "Record a data-class breach")) } }
        }
        @if items.is_empty() {
            p class="muted" { (p.t("보고 대상 사고가 없습니다.", "There are no reportable incidents.")) }
        } @else {
            div class="table-wrap" { table {
                thead { tr {
                    th scope="col" { (p.t("기관", "Institution")) }
                    th scope="col" { (p.t("사고", "Incident")) }
                    th scope="col" { (p.t("종류", "Kind")) }
                    th scope="col" { (p.t("인지", "Aware")) }
                    th scope="col" { (p.t("다음 보고", "Next report")) }
                    th scope="col" { (p.t("상태", "State")) }
                } }
                tbody { @for i in &items { tr {
                    td { (i.row.institution_name) }
                    td { a href={ "/incidents/" (i.row.id) } { (i.row.title) } }
                    td { (incident_kind_label(lang, &i.row.kind)) }
                    td { (kst_minute(&i.row.aware_at)) }
                    td { @if let Some(n) = i.next_due() { (report_kind_label(lang, &n.kind)) " · " (due_text(lang, n)) } @else { "—" } }
                    td {
                        @if i.row.closed_at.is_some() { span class="badge ok" { (p.t("종결", "Closed")) } }
                        @else if i.overdue() { span class="badge bad" { (p.t("보고 기한 경과", "Report overdue")) } }
                        @else { span class="badge warn" { (p.t("진행 중", "Open")) } }
                    }
                } } }
            } }
        }
    };
    p.page(title, body)
}

async fn incident(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    render_incident(&st, &p, &id, &q.done, None, &[]).await
}

async fn render_incident(
    st: &AppState,
    p: &Portal,
    id: &str,
    done: &str,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let i: Incident = match parse_id(id) {
        Ok(n) => match st.svc.incident(&p.actor, n).await {
            Ok(i) => i,
            Err(e) => return p.error(e),
        },
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let r = &i.row;
    let next = i.next_due().map(|c| c.kind.clone());
    let body = html! {
        p { a href="/incidents" { "← " (p.t("전산사고 보고", "Incident reports")) } }
        h1 { (r.title) }
        @if done == "filed" { p class="alert ok" role="status" { (p.t("보고를 제출했습니다.", "The report was filed.")) } }
        @if done == "recorded" { p class="alert ok" role="status" { (p.t("사고를 기록했습니다.", "The incident was recorded.")) } }
        @if let Some(m) = &failed { p class="alert error" role="alert" { (m) } }
        @if i.overdue() { p class="alert warn" role="alert" { (p.t("보고 기한이 지난 보고가 있습니다.", "A report is overdue.")) } }
        dl class="facts" {
            dt { (p.t("기관", "Institution")) } dd { (r.institution_name) }
            dt { (p.t("종류", "Kind")) } dd { (incident_kind_label(lang, &r.kind)) }
            dt { (p.t("인지 시각", "Aware at")) } dd { (kst_minute(&r.aware_at)) }
            dt { (p.t("보고 사유", "Why it is reportable")) } dd { @for x in &i.reportability.reasons { (p.t(&x.ko, &x.en)) } }
            dt { (p.t("정책 버전", "Policy version")) } dd { (r.policy_version) }
            @if !r.description.is_empty() { dt { (p.t("내용", "Description")) } dd class="prewrap" { (r.description) } }
            @if let Some(d) = r.disruption_id { dt { (p.t("장애 보고서", "Disruption report")) } dd { a href={ "/immunity/" (d) } { "#" (d) } } }
            @if let Some(l) = &i.letter {
                dt { (p.t("비조치의견서", "Letter")) }
                dd {
                    a href={ "/letters/" (l.id) } { (l.letter_number.as_deref().unwrap_or("—")) }
                    @if l.state == "revoked" {
                        " " span class="badge bad" { (p.t("취소됨", "Revoked")) }
                        @if let Some(why) = &l.revoked_reason { " " (why) }
                    }
                }
            }
            dt { (p.t("상태", "State")) } dd { @if let Some(c) = &r.closed_at { span class="badge ok" { (p.t("종결", "Closed")) } " " (kst_minute(c)) } @else { span class="badge warn" { (p.t("진행 중", "Open")) } } }
        }
        h2 { (p.t("보고 기한", "Reporting clock")) }
        div class="table-wrap" { table {
            thead { tr {
                th scope="col" { (p.t("보고", "Report")) }
                th scope="col" { (p.t("기한", "Due")) }
                th scope="col" { (p.t("제출", "Filed")) }
                th scope="col" { (p.t("상태", "State")) }
            } }
            tbody { @for c in &i.clock { tr {
                td { (report_kind_label(lang, &c.kind)) @if c.kind == "interim" { " " (c.sequence) } }
                td { (due_text(lang, c)) }
                td { @if let Some(f) = &c.filed { (kst_minute(&f.filed_at)) " · " (f.filed_by) } @else { "—" } }
                td { (clock_badge(lang, c)) }
            } } }
        } }
        @if !i.reports.is_empty() {
            h2 { (p.t("제출한 보고", "Reports filed")) }
            @for f in &i.reports {
                section class="card" {
                    h3 { (report_kind_label(lang, &f.kind)) @if f.kind == "interim" { " " (f.sequence) } }
                    p class="prewrap" { (f.body) }
                    p class="small muted" { (f.filed_by) " · " (kst_minute(&f.filed_at)) }
                }
            }
        }
        @if r.closed_at.is_none() && p.may(Action::FileImmunity) {
            h2 { (p.t("보고 제출", "File a report")) }
            form method="post" action={ "/incidents/" (r.id) "/reports" } class="stack" {
                (p.csrf_field())
                (ctl(lang, "kind", errors, html! {
                    select id="kind" name="kind" {
                        @for k in ["initial", "interim", "final"] {
                            option value=(k) selected[next.as_deref() == Some(k)] { (report_kind_label(lang, k)) }
                        }
                    }
                }))
                (ctl(lang, "body", errors, html! { textarea id="body" name="body" rows="5" required {} }))
                button type="submit" class="primary" { (p.t("제출", "File")) }
            }
        }
    };
    p.page(&r.title, body)
}

#[derive(Deserialize, Default)]
struct IncidentReportForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    body: String,
}

async fn incident_report(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<IncidentReportForm>,
) -> Response {
    let p = f.portal;
    let out = match parse_id(&id) {
        Ok(n) => st
            .svc
            .file_incident_report(&p.actor, n, &f.form.kind, &f.form.body)
            .await
            .map(|_| n),
        Err(e) => Err(e),
    };
    let e = match out {
        Ok(n) => return Redirect::to(&format!("/incidents/{n}?done=filed")).into_response(),
        Err(e) => e,
    };
    if matches!(
        e,
        ServiceError::NotFound | ServiceError::Forbidden(_) | ServiceError::Unauthenticated
    ) {
        return p.error(e);
    }
    let status = crate::error::status_of(&e);
    let msg = rule_message(p.lang, &e);
    let r = render_incident(&st, &p, &id, "", Some(msg), e.field_errors()).await;
    (status, r).into_response()
}

#[derive(Deserialize, Default, Clone)]
struct BreachForm {
    #[serde(default)]
    institution_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    aware_at: String,
    #[serde(default)]
    letter_id: String,
}

async fn breach_form(p: Portal, State(st): State<AppState>) -> Response {
    render_breach(&st, &p, &BreachForm::default(), &[]).await
}

async fn render_breach(
    st: &AppState,
    p: &Portal,
    form: &BreachForm,
    errors: &[FieldError],
) -> Response {
    if let Err(e) = haechi_service::authz::authorize(&p.actor, Action::RecordBreach) {
        return p.error(e);
    }
    let lang = p.lang;
    let institutions = if p.actor.institution_id.is_none() {
        st.svc
            .list_institutions(
                &p.actor,
                &haechi_store::InstitutionFilter {
                    limit: 1000,
                    ..Default::default()
                },
            )
            .await
            .map(|(l, _)| l)
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let letters = st.svc.list_letters(&p.actor).await.unwrap_or_default();
    let title = p.t("데이터 등급 위반 기록", "Record a data-class breach");
    let body = html! {
        p { a href="/incidents" { "← " (p.t("전산사고 보고", "Incident reports")) } }
        h1 { (title) }
        p class="muted" { (p.t(
            "의견서가 허용하지 않은 곳(범위 밖 SaaS 등)으로 고객 데이터가 전송된 사고입니다. 보고 기한은 전산사고와 같습니다. 시각은 KST로 입력합니다.",
            "Customer data sent where the letter does not allow (a SaaS outside its scope, for instance). The reporting clock is the incident clock. Times are in KST.",
        )) }
        (summary(lang, errors))
        form method="post" action="/incidents" class="stack" {
            (p.csrf_field())
            @if !institutions.is_empty() {
                (ctl(lang, "institution_id", errors, html! {
                    select id="institution_id" name="institution_id" {
                        @for i in &institutions {
                            option value=(i.id) selected[form.institution_id.trim() == i.id.to_string()] { (p.t(&i.input.name_ko, &i.input.name_en)) }
                        }
                    }
                }))
            }
            (ctl(lang, "title", errors, html! { input type="text" id="title" name="title" value=(form.title) required; }))
            (ctl(lang, "aware_at", errors, html! { input type="datetime-local" id="aware_at" name="aware_at" value=(form.aware_at) required; }))
            (ctl(lang, "letter_id", errors, html! {
                select id="letter_id" name="letter_id" {
                    option value="" { (p.t("— 없음 —", "— none —")) }
                    @for l in &letters {
                        option value=(l.id) selected[form.letter_id.trim() == l.id.to_string()] {
                            (l.letter_number.as_deref().unwrap_or("—")) " · " (l.institution_name)
                            @if l.state == "revoked" { " · " (p.t("취소됨", "revoked")) }
                        }
                    }
                }
            }))
            (ctl(lang, "description", errors, html! { textarea id="description" name="description" rows="4" { (form.description) } }))
            button type="submit" class="primary" { (p.t("기록", "Record")) }
        }
    };
    p.page(title, body)
}

async fn breach(State(st): State<AppState>, f: CsrfForm<BreachForm>) -> Response {
    let p = f.portal;
    let mut errors = Vec::new();
    let aware_at = kst_input(&mut errors, "aware_at", &f.form.aware_at);
    let institution_id = p
        .actor
        .institution_id
        .or_else(|| id_of(&f.form.institution_id))
        .unwrap_or(0);
    if !errors.is_empty() {
        return with_status(render_breach(&st, &p, &f.form, &errors).await);
    }
    let input = BreachInput {
        institution_id,
        title: f.form.title.clone(),
        description: f.form.description.clone(),
        aware_at,
        letter_id: id_of(&f.form.letter_id),
    };
    match st.svc.record_breach(&p.actor, &input).await {
        Ok(id) => Redirect::to(&format!("/incidents/{id}?done=recorded")).into_response(),
        Err(e) if !e.field_errors().is_empty() => {
            with_status(render_breach(&st, &p, &f.form, e.field_errors()).await)
        }
        Err(e) => p.error(e),
    }
}
