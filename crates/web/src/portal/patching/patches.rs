//! Patch records: the form (what was applied, where, when, by whom, the work plan the immunity
//! rules ask for, the findings it fixes), the list and the detail page.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, NaiveTime};
use haechi_core::FieldError;
use haechi_service::patching::{AppliedAt, PatchInput};
use haechi_service::{Action, ServiceError};
use haechi_store::{PatchRecordRow, WorkPlan};
use maud::{html, Markup};
use serde::Deserialize;

use super::super::{control, error_summary, kst_day, pager, CsrfForm, Portal, PER_PAGE};
use super::{
    clip, institution_chooser, institution_param, minute_of, priority_tag, scope, state_label,
};
use crate::AppState;

/// The work-plan items, with the form field and the label in both languages.
const WORK_PLAN: [(&str, &str, &str); 6] = [
    ("pre_testing_done", "사전 테스트 완료", "Pre-testing done"),
    ("rollback_ready", "원복(롤백) 준비", "Rollback ready"),
    (
        "kill_switch_ready",
        "긴급 차단(킬 스위치) 준비",
        "Kill switch ready",
    ),
    (
        "isolation_ready",
        "격리(확산 방지) 준비",
        "Isolation ready (spread prevention)",
    ),
    (
        "continuity_plan",
        "업무 연속성 계획",
        "Business continuity plan",
    ),
    (
        "customers_notified_in_advance",
        "고객 사전 안내",
        "Customers told in advance",
    ),
];

fn plan_value(w: &WorkPlan, field: &str) -> bool {
    match field {
        "pre_testing_done" => w.pre_testing_done,
        "rollback_ready" => w.rollback_ready,
        "kill_switch_ready" => w.kill_switch_ready,
        "isolation_ready" => w.isolation_ready,
        "continuity_plan" => w.continuity_plan,
        "customers_notified_in_advance" => w.customers_notified_in_advance,
        _ => false,
    }
}

fn plan_done(w: &WorkPlan) -> usize {
    WORK_PLAN.iter().filter(|(f, ..)| plan_value(w, f)).count()
}

/// The patch form as typed: every field text (or an absent checkbox), parsed here so that a
/// malformed value gets a message next to its field.
#[derive(Deserialize, Default, Clone)]
pub struct PatchForm {
    #[serde(default)]
    applied: String,
    #[serde(default)]
    resource_id: String,
    #[serde(default)]
    applied_at: String,
    #[serde(default)]
    applied_time: String,
    #[serde(default)]
    applied_by: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    finding_ids: String,
    #[serde(default)]
    pre_testing_done: Option<String>,
    #[serde(default)]
    rollback_ready: Option<String>,
    #[serde(default)]
    kill_switch_ready: Option<String>,
    #[serde(default)]
    isolation_ready: Option<String>,
    #[serde(default)]
    continuity_plan: Option<String>,
    #[serde(default)]
    customers_notified_in_advance: Option<String>,
}

impl PatchForm {
    fn checked(&self, field: &str) -> bool {
        let v = match field {
            "pre_testing_done" => &self.pre_testing_done,
            "rollback_ready" => &self.rollback_ready,
            "kill_switch_ready" => &self.kill_switch_ready,
            "isolation_ready" => &self.isolation_ready,
            "continuity_plan" => &self.continuity_plan,
            "customers_notified_in_advance" => &self.customers_notified_in_advance,
            _ => &None,
        };
        v.is_some()
    }

    fn work_plan(&self) -> WorkPlan {
        WorkPlan {
            pre_testing_done: self.checked("pre_testing_done"),
            rollback_ready: self.checked("rollback_ready"),
            kill_switch_ready: self.checked("kill_switch_ready"),
            isolation_ready: self.checked("isolation_ready"),
            continuity_plan: self.checked("continuity_plan"),
            customers_notified_in_advance: self.checked("customers_notified_in_advance"),
        }
    }
}

/// Finding numbers typed as "12, 15 #18".
fn parse_ids(text: &str) -> Result<Vec<i64>, String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .map(|s| s.trim().trim_start_matches('#'))
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<i64>().map_err(|_| s.to_string()))
        .collect()
}

pub async fn new_form(
    p: Portal,
    State(st): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    if let Err(e) = haechi_service::authz::authorize(&p.actor, Action::ManageFindings) {
        return p.error(e);
    }
    let ids: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "finding")
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    let today = st.svc.today();
    let form = PatchForm {
        applied_at: today.to_string(),
        applied_by: p.display_name.clone(),
        finding_ids: ids.join(", "),
        ..PatchForm::default()
    };
    // The resource of the first linked finding, when it has one.
    let mut form = form;
    if let Some(first) = ids.first().and_then(|s| s.parse::<i64>().ok()) {
        if let Ok(f) = st.svc.get_finding(&p.actor, first).await {
            if let Some(r) = f.finding.resource_id {
                form.resource_id = r.to_string();
            }
        }
    }
    render_form(&p, &st, &form, &[], StatusCode::OK).await
}

async fn render_form(
    p: &Portal,
    st: &AppState,
    form: &PatchForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Response {
    let title = p.t("패치 기록", "Record a patch");
    let resources = st
        .svc
        .list_resources(&p.actor, p.actor.institution_id)
        .await
        .unwrap_or_default();
    let ids = parse_ids(&form.finding_ids).unwrap_or_default();
    let mut linked = Vec::new();
    for id in ids.iter().take(50) {
        if let Ok(why) = st.svc.finding_priority(&p.actor, *id).await {
            if let Ok(f) = st.svc.get_finding(&p.actor, *id).await {
                linked.push((why.stored, f.finding));
            }
        }
    }
    let body = html! {
        h1 { (title) }
        p class="muted" {
            (p.t("적용한 패치와 작업계획서 항목(면책 요건)을 기록합니다. 연결한 취약점은 '조치 완료'가 됩니다.",
                 "Records what was applied and the work-plan items the immunity rules ask for. The linked findings become 'fixed'."))
        }
        (error_summary(p.lang, errors))
        form method="post" action="/patches" class="stack" novalidate {
            (p.csrf_field())
            (control(p.t("적용 내용 (패키지·버전, 벤더 패치 번호, 설정 변경)", "What was applied (package and version, vendor patch id, configuration change)"), "applied", errors, html! {
                input type="text" id="applied" name="applied" value=(form.applied) required
                    aria-describedby=[super::super::field_error(errors, "applied").map(|_| "applied-error")];
            }))
            (control(p.t("적용 대상 전산자원", "Resource patched"), "resource_id", errors, html! {
                select id="resource_id" name="resource_id" {
                    option value="" { (p.t("— 선택 안 함 —", "— none —")) }
                    @for r in &resources {
                        option value=(r.id) selected[form.resource_id.trim() == r.id.to_string()] { (r.name) }
                    }
                }
            }))
            div class="filters" {
                (control(p.t("적용일", "Applied on"), "applied_at", errors, html! {
                    input type="date" id="applied_at" name="applied_at" value=(form.applied_at) required
                        aria-describedby=[super::super::field_error(errors, "applied_at").map(|_| "applied_at-error")];
                }))
                (control(p.t("적용 시각 (KST, 선택)", "Time (KST, optional)"), "applied_time", errors, html! {
                    input type="time" id="applied_time" name="applied_time" value=(form.applied_time);
                }))
            }
            (control(p.t("적용한 사람", "Applied by"), "applied_by", errors, html! {
                input type="text" id="applied_by" name="applied_by" value=(form.applied_by) required
                    aria-describedby=[super::super::field_error(errors, "applied_by").map(|_| "applied_by-error")];
            }))
            fieldset {
                legend { (p.t("작업계획서 (면책 요건)", "Work plan (immunity preconditions)")) }
                @for (field, ko, en) in WORK_PLAN {
                    div {
                        label {
                            input type="checkbox" id=(field) name=(field) value="1" checked[form.checked(field)];
                            " " (p.t(ko, en))
                        }
                    }
                }
            }
            (control(p.t("이 패치가 고친 취약점 번호 (쉼표로 구분)", "Findings this patch fixes (numbers, comma-separated)"), "finding_ids", errors, html! {
                input type="text" id="finding_ids" name="finding_ids" value=(form.finding_ids) inputmode="numeric" required
                    aria-describedby=[super::super::field_error(errors, "finding_ids").map(|_| "finding_ids-error")];
            }))
            @if !linked.is_empty() {
                div class="table-wrap" {
                    table {
                        caption { (p.t("연결할 취약점", "Findings to link")) }
                        thead { tr {
                            th scope="col" { "#" }
                            th scope="col" { (p.t("우선순위", "Priority")) }
                            th scope="col" { (p.t("조치 기한", "Due")) }
                            th scope="col" { (p.t("내용", "Finding")) }
                            th scope="col" { (p.t("상태", "Status")) }
                        } }
                        tbody {
                            @for (why, f) in &linked {
                                tr {
                                    td class="num" { a href={ "/queue/" (f.id) } { (f.id) } }
                                    td { @if let Some(pr) = &why.priority { (priority_tag(p.lang, pr)) } }
                                    td { (why.due_date.as_deref().unwrap_or("—")) }
                                    td { (clip(&f.message, 80)) }
                                    td { (state_label(p.lang, &f.status)) }
                                }
                            }
                        }
                    }
                }
            }
            (control(p.t("비고", "Notes"), "notes", errors, html! {
                textarea id="notes" name="notes" { (form.notes) }
            }))
            div class="actions" {
                button type="submit" class="primary" { (p.t("패치 기록 저장", "Save the patch record")) }
                a href="/queue" { (p.t("취소", "Cancel")) }
            }
        }
    };
    p.page_with(status, title, body)
}

pub async fn create(State(st): State<AppState>, f: CsrfForm<PatchForm>) -> Response {
    let p = f.portal;
    let form = f.form;
    if let Err(e) = haechi_service::authz::authorize(&p.actor, Action::ManageFindings) {
        return p.error(e);
    }
    let Some(institution_id) = p.actor.institution_id else {
        return p.error(ServiceError::NotFound);
    };
    let mut errors = Vec::new();
    let date = match form.applied_at.trim() {
        "" => {
            errors.push(FieldError::new(
                "applied_at",
                p.t("적용일을 입력하십시오.", "Enter the day it was applied."),
            ));
            None
        }
        d => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError::new(
                    "applied_at",
                    format!(
                        "'{d}': {}",
                        p.t(
                            "YYYY-MM-DD 형식의 날짜가 아닙니다.",
                            "not a date (YYYY-MM-DD)."
                        )
                    ),
                ));
                None
            }
        },
    };
    // No time: only the day is recorded (shown as "time not given", never as midnight).
    let time = match form.applied_time.trim() {
        "" => Some(None),
        t => match NaiveTime::parse_from_str(t, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M:%S"))
        {
            Ok(t) => Some(Some(t)),
            Err(_) => {
                errors.push(FieldError::new(
                    "applied_time",
                    format!(
                        "'{t}': {}",
                        p.t("HH:MM 형식의 시각이 아닙니다.", "not a time (HH:MM).")
                    ),
                ));
                None
            }
        },
    };
    let resource_id = match form.resource_id.trim() {
        "" => None,
        r => match r.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(FieldError::new(
                    "resource_id",
                    p.t(
                        "전산자원을 목록에서 고르십시오.",
                        "Choose a resource from the list.",
                    ),
                ));
                None
            }
        },
    };
    let finding_ids = match parse_ids(&form.finding_ids) {
        Ok(ids) => ids,
        Err(bad) => {
            errors.push(FieldError::new(
                "finding_ids",
                format!(
                    "'{bad}': {}",
                    p.t("취약점 번호가 아닙니다.", "not a finding number.")
                ),
            ));
            Vec::new()
        }
    };
    if form.applied.trim().is_empty() {
        errors.push(FieldError::new(
            "applied",
            p.t("무엇을 적용했는지 입력하십시오.", "Say what was applied."),
        ));
    }
    if form.applied_by.trim().is_empty() {
        errors.push(FieldError::new(
            "applied_by",
            p.t("누가 적용했는지 입력하십시오.", "Say who applied it."),
        ));
    }
    if finding_ids.is_empty() && !errors.iter().any(|e| e.field == "finding_ids") {
        errors.push(FieldError::new(
            "finding_ids",
            p.t(
                "이 패치가 고친 취약점을 하나 이상 입력하십시오.",
                "Link at least one finding the patch fixes.",
            ),
        ));
    }
    let (Some(date), Some(time)) = (date, time) else {
        return render_form(&p, &st, &form, &errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    if !errors.is_empty() {
        return render_form(&p, &st, &form, &errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let notes = Some(form.notes.trim().to_string()).filter(|n| !n.is_empty());
    let input = PatchInput {
        institution_id,
        resource_id,
        applied: form.applied.trim().to_string(),
        applied_at: match time {
            // Typed in Korea Standard Time (UTC+9), stored in UTC.
            Some(t) => AppliedAt::At(date.and_time(t) - chrono::Duration::hours(9)),
            None => AppliedAt::On(date),
        },
        applied_by: form.applied_by.trim().to_string(),
        work_plan: form.work_plan(),
        notes,
        finding_ids,
    };
    match st.svc.record_patch(&p.actor, &input).await {
        Ok(out) => Redirect::to(&format!(
            "/patches/{}?recorded={}",
            out.patch.id, out.findings_fixed
        ))
        .into_response(),
        Err(e) if !e.field_errors().is_empty() => {
            let errs = e.field_errors().to_vec();
            render_form(&p, &st, &form, &errs, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        // A finding that is not open, or not the institution's (answered "not found" so that
        // ids of others do not leak): shown next to the findings field, nothing stored.
        Err(ServiceError::NotFound) => {
            let errs = vec![FieldError::new(
                "finding_ids",
                p.t(
                    "없는 취약점이나 이 기관의 것이 아닌 취약점 또는 전산자원이 있습니다.",
                    "A finding or resource does not exist or is not this institution's.",
                ),
            )];
            render_form(&p, &st, &form, &errs, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(ServiceError::Rule {
            code: "finding_not_open",
            message,
        }) => {
            let errs = vec![FieldError::new("finding_ids", message)];
            render_form(&p, &st, &form, &errs, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => p.error(e),
    }
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    institution: String,
    #[serde(default)]
    page: String,
}

pub async fn list(p: Portal, State(st): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    let title = p.t("패치 기록", "Patch records");
    let inst = match scope(&p, &st, &q.institution).await {
        Ok(Some(i)) => i,
        Ok(None) => {
            return p.page(
                title,
                html! {
                    h1 { (title) }
                    (institution_chooser(&p, &st, "/patches", None).await)
                },
            )
        }
        Err(resp) => return resp,
    };
    let records = match st.svc.patch_records(&p.actor, inst).await {
        Ok(r) => r,
        Err(e) => return p.error(e),
    };
    let resources = st
        .svc
        .list_resources(&p.actor, Some(inst))
        .await
        .unwrap_or_default();
    let page = q
        .page
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| *n >= 1)
        .unwrap_or(1);
    let start = (page as usize - 1) * PER_PAGE as usize;
    let shown: Vec<&PatchRecordRow> = records.iter().skip(start).take(PER_PAGE as usize).collect();
    let has_next = records.len() > start + PER_PAGE as usize;
    let inst_q = institution_param(&p, inst);
    let base = if inst_q.is_empty() {
        "/patches".to_string()
    } else {
        format!("/patches?{inst_q}")
    };
    let body = html! {
        h1 { (title) }
        @if !p.actor.role.is_institution_role() {
            (institution_chooser(&p, &st, "/patches", Some(inst)).await)
        }
        p class="actions" {
            @if p.may(Action::ManageFindings) {
                a class="button primary" href="/patches/new" { (p.t("패치 기록하기", "Record a patch")) }
            }
            a href={ "/patches/charts" @if !inst_q.is_empty() { "?" (inst_q) } } { (p.t("번다운·SLA 준수 차트", "Burn-down and SLA charts")) }
            a href={ "/queue" @if !inst_q.is_empty() { "?" (inst_q) } } { (p.t("패치 대기열", "Patch queue")) }
        }
        @if shown.is_empty() {
            p class="muted" { (p.t("기록된 패치가 없습니다.", "No patches recorded yet.")) }
        } @else {
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" { "#" }
                        th scope="col" { (p.t("적용일", "Applied on")) }
                        th scope="col" { (p.t("적용 내용", "Applied")) }
                        th scope="col" { (p.t("전산자원", "Resource")) }
                        th scope="col" { (p.t("적용한 사람", "Applied by")) }
                        th scope="col" class="num" { (p.t("조치한 취약점", "Findings fixed")) }
                        th scope="col" { (p.t("작업계획서", "Work plan")) }
                    } }
                    tbody {
                        @for r in shown {
                            tr {
                                td class="num" { a href={ "/patches/" (r.id) } { (r.id) } }
                                td { (kst_day(&r.applied_at)) }
                                td { (clip(&r.applied, 80)) }
                                td { (r.resource_id.map(|id| resource_label(&resources, id)).unwrap_or_else(|| "—".into())) }
                                td { (r.applied_by) }
                                td class="num" { (r.finding_ids.len()) }
                                td { (plan_badge(&p, &r.work_plan)) }
                            }
                        }
                    }
                }
            }
        }
        (pager(p.lang, &base, page, has_next))
    };
    p.page(title, body)
}

/// When a patch was applied: the moment, or the day with "time not given" when only the day was.
fn applied_at_text(p: &Portal, at: &str) -> String {
    if at.len() == 10 {
        format!("{at} ({})", p.t("시각 미입력", "time not given"))
    } else {
        minute_of(at)
    }
}

fn resource_label(resources: &[haechi_store::ResourceRow], id: i64) -> String {
    resources
        .iter()
        .find(|r| r.id == id)
        .map(|r| r.name.clone())
        .unwrap_or_else(|| format!("#{id}"))
}

fn plan_badge(p: &Portal, w: &WorkPlan) -> Markup {
    let done = plan_done(w);
    let css = if done == WORK_PLAN.len() {
        "badge ok"
    } else {
        "badge warn"
    };
    html! { span class=(css) { (done) "/" (WORK_PLAN.len()) " " (p.t("항목", "items")) } }
}

#[derive(Deserialize, Default)]
pub struct DetailQuery {
    #[serde(default)]
    recorded: String,
}

pub async fn detail(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let Ok(id) = id.trim().parse::<i64>() else {
        return p.error(ServiceError::NotFound);
    };
    let r = match st.svc.patch_record(&p.actor, id).await {
        Ok(r) => r,
        Err(e) => return p.error(e),
    };
    let resources = st
        .svc
        .list_resources(&p.actor, Some(r.institution_id))
        .await
        .unwrap_or_default();
    let mut findings = Vec::new();
    for fid in &r.finding_ids {
        if let Ok(why) = st.svc.finding_priority(&p.actor, *fid).await {
            findings.push(why.stored);
        }
    }
    let gaps = st.svc.patch_work_plan_gaps(&r.work_plan);
    let title = format!("{} #{}", p.t("패치 기록", "Patch record"), r.id);
    let body = html! {
        h1 { (title) }
        @if let Ok(n) = q.recorded.trim().parse::<u64>() {
            p class="alert ok" role="status" {
                (p.t("패치를 기록했습니다. 조치 완료로 바뀐 취약점: ", "The patch was recorded. Findings now fixed: ")) (n)
            }
        }
        @if !gaps.is_empty() {
            div class="alert warn" role="alert" {
                p {
                    (p.t("작업계획서에 면책 기준이 요구하는 항목이 빠져 있습니다. 이 패치로 장애가 나면 면책 대상이 되지 않을 수 있습니다:",
                         "The work plan lacks items the immunity rules require; a disruption this patch causes may not be immune:"))
                }
                ul { @for g in &gaps { li { (p.t(&g.label_ko, &g.label_en)) } } }
            }
        }
        dl class="facts" {
            dt { (p.t("적용 내용", "Applied")) }
            dd { (r.applied) }
            dt { (p.t("전산자원", "Resource")) }
            dd { (r.resource_id.map(|id| resource_label(&resources, id)).unwrap_or_else(|| "—".into())) }
            dt { (p.t("적용 시각", "Applied at")) }
            dd { (applied_at_text(&p, &r.applied_at)) }
            dt { (p.t("적용한 사람", "Applied by")) }
            dd { (r.applied_by) }
            dt { (p.t("기록한 사용자", "Recorded by")) }
            dd { (r.recorded_by) " · " (minute_of(&r.created_at)) }
            @if let Some(n) = &r.notes {
                dt { (p.t("비고", "Notes")) }
                dd { (n) }
            }
        }
        h2 { (p.t("작업계획서 (면책 요건)", "Work plan (immunity preconditions)")) }
        dl class="facts" {
            @for (field, ko, en) in WORK_PLAN {
                dt { (p.t(ko, en)) }
                dd {
                    @if plan_value(&r.work_plan, field) {
                        span class="badge ok" { "✓ " (p.t("예", "Yes")) }
                    } @else {
                        span class="badge bad" { "✗ " (p.t("아니요", "No")) }
                    }
                }
            }
        }
        h2 { (p.t("조치한 취약점", "Findings fixed")) }
        div class="table-wrap" {
            table {
                thead { tr {
                    th scope="col" { "#" }
                    th scope="col" { (p.t("우선순위", "Priority")) }
                    th scope="col" { (p.t("조치 기한", "Due")) }
                    th scope="col" { (p.t("상태", "Status")) }
                } }
                tbody {
                    @for f in &findings {
                        tr {
                            td class="num" { a href={ "/queue/" (f.finding_id) } { (f.finding_id) } }
                            td { @if let Some(pr) = &f.priority { (priority_tag(p.lang, pr)) } }
                            td { (f.due_date.as_deref().unwrap_or("—")) }
                            td { (state_label(p.lang, &f.status)) }
                        }
                    }
                }
            }
        }
        p class="actions" {
            a href="/patches" { (p.t("패치 기록 목록", "All patch records")) }
            @if p.may(Action::FileImmunity) {
                " "
                a class="button" href={ "/immunity/new?patch=" (r.id) } { (p.t("이 패치로 생긴 장애 보고", "File a disruption report for this patch")) }
            }
        }
    };
    p.page(&title, body)
}
