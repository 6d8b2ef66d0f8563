//! Reports (C7), both sides: the list of obligations with their report's state, and one
//! obligation's report — its figures compiled from the institution's own data (and what a
//! recompile changed), the three narrative sections (a form while it is a draft), the CISO's
//! sign-off, the frozen version's content hash, the officer's acceptance or return with comments
//! per section, and every earlier version (`?version=`); each version's evidence files (upload
//! while a draft, download with their SHA-256) and the bilingual PDF of a submitted version.
//!
//! What it must not do: decide who may do what — the service does; the page only hides controls
//! a role could not use.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use haechi_core::FieldError;
use haechi_service::authz::Action;
use haechi_service::reports::{Figures, Narrative, Report, ReportVersion, Review, SECTIONS};
use haechi_service::ServiceError;
use maud::{html, Markup};
use serde::Deserialize;

use super::applications::{evidence_response, served_type};
use super::letters::{obligation_badges, obligation_kind_label};
use super::parse_id;
use super::{kst_minute, CsrfForm, CsrfMultipart, PageRoute, Portal};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/reports", list),
        page_get!("/reports/{id}", detail),
        page_post!("/reports/{id}/compile", compile),
        page_post!("/reports/{id}/narrative", narrative),
        page_post!("/reports/{id}/submit", submit),
        page_post!("/reports/{id}/decision", decision),
        page_post!("/reports/{id}/attachments", upload),
        page_post!("/report-files/{id}/delete", remove),
        page_get!("/report-files/{id}", download),
        page_get!("/reports/{id}/pdf", pdf),
    ]
}

// ================================================================================ labels

/// A report version's state.
pub fn report_state_label(p: &Portal, state: &str) -> &'static str {
    match state {
        "draft" => p.lang.t("작성 중", "Draft"),
        "submitted" => p.lang.t("제출됨(검토 대기)", "Submitted (awaiting review)"),
        "accepted" => p.lang.t("수리", "Accepted"),
        "returned" => p.lang.t("보완 요청", "Returned"),
        _ => p.lang.t("알 수 없음", "Unknown"),
    }
}

fn report_badge(p: &Portal, state: &str) -> Markup {
    let class = match state {
        "accepted" | "submitted" => "badge ok",
        "returned" => "badge bad",
        _ => "badge warn",
    };
    html! { span class=(class) { (report_state_label(p, state)) } }
}

fn section_title(p: &Portal, key: &str) -> &'static str {
    match key {
        "risk" => p.t(
            "1. 발견된 고성능 AI 보안위험의 특성",
            "1. Characteristics of the high-performance-AI security risks found",
        ),
        "offensive" => p.t(
            "2. 해당 AI가 공격에 악용될 경우의 위험",
            "2. Risks if such AI were used offensively",
        ),
        "defences" => p.t("3. 효과가 있었던 대응 방안", "3. Defences that worked"),
        _ => p.t("수치", "Figures"),
    }
}

/// A service error in the page's language (the report's own rules; the rest as the service says).
fn error_message(st: &AppState, p: &Portal, e: &ServiceError) -> String {
    let limits = &st.svc.policy().reporting.attachments;
    let mb = |b: u64| format!("{:.0}", b as f64 / (1024.0 * 1024.0));
    match e.code() {
        "payload_too_large" => match p.lang {
            super::Lang::Ko => format!(
                "파일이 너무 큽니다. 증빙 파일은 한 개에 {} MB까지 올릴 수 있습니다. 아무것도 저장하지 않았습니다.",
                mb(limits.max_bytes)
            ),
            super::Lang::En => format!(
                "The file is too large. Evidence files may be up to {} MB each. Nothing was saved.",
                mb(limits.max_bytes)
            ),
        },
        "report_files_too_large" => match p.lang {
            super::Lang::Ko => format!(
                "이 판의 증빙 파일은 합계 {} MB까지입니다. 이 파일을 더하면 넘으므로 저장하지 않았습니다.",
                mb(limits.max_total_bytes)
            ),
            super::Lang::En => format!(
                "A version's evidence files may weigh {} MB together; this file would exceed that, so it was not saved.",
                mb(limits.max_total_bytes)
            ),
        },
        "file_type_refused" => format!(
            "{} {}",
            p.t(
                "이 형식의 파일은 받을 수 없습니다. 아무것도 저장하지 않았습니다. 허용 형식:",
                "Files of this type are not accepted. Nothing was saved. Accepted types:",
            ),
            limits.content_types.join(", ")
        ),
        "not_submitted" => p
            .t(
                "제출된 판만 PDF로 받을 수 있습니다. 작성 중인 판은 제출한 뒤 PDF로 받으십시오.",
                "Only a submitted version has a PDF; submit the draft first.",
            )
            .into(),
        "report_frozen" => p
            .t(
                "제출된 판은 동결되어 변경할 수 없습니다.",
                "This version was submitted and is frozen; it cannot change.",
            )
            .into(),
        "no_draft" => p
            .t(
                "작성 중인 판이 없습니다. 먼저 집계하여 새 판을 시작하십시오.",
                "There is no draft; compile the report to start a version.",
            )
            .into(),
        "illegal_transition" => p
            .t(
                "현재 상태에서는 할 수 없는 작업입니다.",
                "This cannot be done in the report's current state.",
            )
            .into(),
        _ => super::error_text(p.lang, e),
    }
}

fn field_message(p: &Portal, errors: &[FieldError], field: &str) -> Option<String> {
    errors.iter().find(|e| e.field == field).map(|e| {
        if e.message.starts_with("write this section") {
            p.t(
                "제출하기 전에 이 항목(한국어)을 작성하십시오.",
                "Write this section (Korean) before submitting.",
            )
            .to_string()
        } else if e.message.starts_with("say why") {
            p.t(
                "보완 요청 사유를 한 가지 이상 적으십시오.",
                "Say what must be corrected (at least one comment).",
            )
            .to_string()
        } else if e.field == "file" && e.message.starts_with("is empty") {
            p.t(
                "파일을 고르십시오(빈 파일은 올릴 수 없습니다).",
                "Choose a file (an empty file cannot be attached).",
            )
            .to_string()
        } else if e.field == "filename" {
            p.t(
                "파일 이름은 1–200자여야 합니다.",
                "The file name must be 1–200 characters.",
            )
            .to_string()
        } else if e.message.starts_with("at most") {
            format!(
                "{} {}",
                p.t(
                    "너무 깁니다. 최대 글자 수:",
                    "Too long. At most characters:"
                ),
                haechi_service::reports::MAX_SECTION_CHARS
            )
        } else {
            super::fields::localized(p.lang, e)
        }
    })
}

/// A figure's name in the page's language, from the path a recompile's comparison gives it
/// (`by_severity[high].n`, `remediation[P1].median_days`, `patches.records`, …).
fn figure_label(p: &Portal, path: &str) -> String {
    let (head, rest) = match path.find(['[', '.']) {
        Some(i) => path.split_at(i),
        None => (path, ""),
    };
    let (key, field) = match rest.strip_prefix('[') {
        Some(r) => match r.split_once(']') {
            Some((k, f)) => (Some(k), f.trim_start_matches('.')),
            None => (None, r),
        },
        None => (None, rest.trim_start_matches('.')),
    };
    let group = match head {
        "period_start" => p.t("집계 시작일", "Period start"),
        "period_end" => p.t("집계 종료일", "Period end"),
        "findings" => p.t("신규 취약점", "New findings"),
        "ai_found" => p.t("AI가 발견", "Found by AI"),
        "conventional" => p.t("기존 도구", "Conventional tools"),
        "by_severity" => p.t("심각도별", "By severity"),
        "by_priority" => p.t("우선순위별", "By priority"),
        "by_status" => p.t("현재 상태별", "By status now"),
        "by_cwe" => p.t("CWE별", "By CWE"),
        "by_tool" => p.t("도구·AI 모델별", "By tool and AI model"),
        "by_month" => p.t("월별", "By month"),
        "remediation" => p.t("조치 소요 기간", "Time to remediate"),
        "sla" => p.t("SLA 준수", "SLA compliance"),
        "runs" => p.t("AI 점검 실행", "AI testing runs"),
        "patches" => p.t("패치 기록", "Patch records"),
        "saas" => p.t("보안 SaaS", "Security SaaS"),
        "scope_not_in_register" => p.t(
            "등록부에 없는 허용 SaaS",
            "Permitted SaaS not in the register",
        ),
        _ => p.t("수치", "Figure"),
    };
    let key = key.map(|k| match head {
        "by_cwe" => format!("CWE-{k}"),
        "by_severity" | "by_priority" | "by_status" | "remediation" | "sla" => label(p, k),
        _ => k.to_string(),
    });
    let field = match field {
        "" | "n" | "key" | "priority" | "month" | "product" | "tool" => None,
        "median_days" => Some(p.t("중앙값(일)", "median (days)")),
        "p90_days" => Some("p90"),
        "fixed" => Some(p.t("조치 건수", "fixed")),
        "fixed_in_time" => Some(p.t("기한 내 조치", "fixed in time")),
        "fixed_late" => Some(p.t("기한 후 조치", "fixed late")),
        "open_breached" => Some(p.t("기한 초과 미조치", "open, breached")),
        "ai" => Some(p.t("AI가 발견", "found by AI")),
        "runs" => Some(p.t("실행", "runs")),
        "results" => Some(p.t("결과", "results")),
        "records" => Some(p.t("기록", "records")),
        "findings_fixed" => Some(p.t("조치한 취약점", "findings fixed")),
        "last_evaluated_on" => Some(p.t("최근 자체 점검일", "last self-evaluation")),
        "last_result" => Some(p.t("최근 점검 결과", "last result")),
        "evaluated_in_period" => Some(p.t("기간 내 점검", "evaluated in period")),
        "in_letter_scope" => Some(p.t("의견서 허용", "permitted by the letter")),
        _ => Some(p.t("세부 항목", "detail")),
    };
    [Some(group.to_string()), key, field.map(str::to_string)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ")
}

fn period(o: &haechi_store::ObligationRow) -> String {
    format!(
        "{} – {}",
        o.period_start.get(..10).unwrap_or(&o.period_start),
        o.period_end.get(..10).unwrap_or(&o.period_end)
    )
}

// ================================================================================ list

async fn list(p: Portal, State(st): State<AppState>) -> Response {
    let items = match st.svc.report_list(&p.actor).await {
        Ok(i) => i,
        Err(e) => return p.error(e),
    };
    let title = p.t("보고서", "Reports");
    let reviewer = p.may(Action::ReviewReport);
    let mut items = items;
    // The officer's work first: submitted reports awaiting a decision.
    if reviewer {
        items.sort_by_key(|i| i.report_state.as_deref() != Some("submitted"));
    }
    let body = html! {
        h1 { (title) }
        p class="muted" { (p.t(
            "비조치의견서의 보고 의무마다 기관 자체 데이터로 집계한 보고서를 작성·제출하고, 감독당국이 검토합니다.",
            "Each reporting obligation of a letter is answered by a report compiled from the institution's own data; the regulator reviews it.",
        )) }
        @if items.is_empty() {
            p class="muted" { (p.t("보고 의무가 없습니다.", "There are no reporting obligations.")) }
        } @else {
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" { (p.t("기관", "Institution")) }
                        th scope="col" { (p.t("의무", "Obligation")) }
                        th scope="col" { (p.t("대상 기간", "Period")) }
                        th scope="col" { (p.t("기한", "Due on")) }
                        th scope="col" { (p.t("의무 상태", "Obligation")) }
                        th scope="col" { (p.t("보고서", "Report")) }
                    } }
                    tbody {
                        @for i in &items {
                            tr {
                                td { (i.obligation.row.institution_name) }
                                td { a href={ "/reports/" (i.obligation.row.id) } { (obligation_kind_label(p.lang, &i.obligation.row.kind)) " " (i.obligation.row.sequence) } }
                                td { (period(&i.obligation.row)) }
                                td { (i.obligation.row.due_on.get(..10).unwrap_or(&i.obligation.row.due_on)) }
                                td { (obligation_badges(p.lang, &i.obligation)) }
                                td {
                                    @match (&i.report_state, i.version) {
                                        (Some(s), Some(v)) => { (report_badge(&p, s)) " " (p.t("제", "v")) (v) (p.t("판", "")) }
                                        _ => span class="muted" { (p.t("작성 전", "Not started")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    p.page(title, body)
}

// ================================================================================ detail

#[derive(Deserialize, Default)]
struct DetailQuery {
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    done: String,
}

/// What a failed post left to show.
#[derive(Default)]
struct Failed {
    message: Option<String>,
    errors: Vec<FieldError>,
    narrative: Option<Narrative>,
    review: Option<Review>,
}

async fn detail(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    match render(&st, &p, &id, q.version, &q.done, Failed::default()).await {
        Ok(r) => r,
        Err(e) => p.error(e),
    }
}

async fn render(
    st: &AppState,
    p: &Portal,
    id: &str,
    version: Option<i64>,
    done: &str,
    failed: Failed,
) -> Result<Response, ServiceError> {
    let id = parse_id(id)?;
    let report = st.svc.report(&p.actor, id).await?;
    let o = &report.obligation.row;
    let latest = report.latest();
    let shown = match version {
        Some(v) => Some(
            report
                .versions
                .iter()
                .find(|r| r.row.version == v)
                .ok_or(ServiceError::NotFound)?,
        ),
        None => latest,
    };
    let is_latest = shown.map(|s| s.row.id) == latest.map(|l| l.row.id);
    let title = format!(
        "{} {} — {}",
        obligation_kind_label(p.lang, &o.kind),
        o.sequence,
        o.institution_name
    );
    let notice = match done {
        "compiled" => Some(p.t(
            "기관 데이터로 수치를 집계했습니다.",
            "The figures were compiled from the institution's data.",
        )),
        "saved" => Some(p.t("서술 내용을 저장했습니다.", "The narrative was saved.")),
        "submitted" => Some(p.t(
            "보고서를 제출했습니다. 제출된 판은 동결되어 변경할 수 없습니다.",
            "The report was submitted. The submitted version is frozen and cannot change.",
        )),
        "accepted" => Some(p.t("보고서를 수리했습니다.", "The report was accepted.")),
        "attached" => Some(p.t(
            "증빙 파일을 올렸습니다. SHA-256 해시가 기록되었습니다.",
            "The evidence file was attached; its SHA-256 was recorded.",
        )),
        "detached" => Some(p.t(
            "증빙 파일을 삭제했습니다.",
            "The evidence file was removed.",
        )),
        "returned" => Some(p.t(
            "보고서를 보완 요청과 함께 반려했습니다.",
            "The report was returned with comments.",
        )),
        _ => None,
    };
    let obligation_open = matches!(o.status.as_str(), "open" | "returned");
    let may_compile = p.may(Action::DraftReport)
        && obligation_open
        && latest.is_none_or(|l| matches!(l.row.state.as_str(), "draft" | "returned"));
    let editable = p.may(Action::DraftReport)
        && is_latest
        && shown.is_some_and(|s| s.row.state == "draft" && !s.frozen());
    let may_submit = p.may(Action::SubmitReport) && editable;
    let may_decide = p.may(Action::ReviewReport)
        && is_latest
        && shown.is_some_and(|s| s.row.state == "submitted");
    let body = html! {
        p { a href="/reports" { "← " (p.t("보고서 목록", "All reports")) } }
        h1 { (title) }
        @if let Some(n) = notice { p class="alert ok" role="status" { (n) } }
        @if let Some(m) = &failed.message { p class="alert error" role="alert" { (m) } }
        section {
            h2 { (p.t("보고 의무", "Obligation")) }
            dl class="facts" {
                dt { (p.t("기관", "Institution")) } dd { (o.institution_name) }
                dt { (p.t("비조치의견서", "Letter")) } dd { a href={ "/letters/" (o.letter_id) } { (o.letter_number.as_deref().unwrap_or("—")) } }
                dt { (p.t("대상 기간", "Period")) } dd { (period(o)) }
                dt { (p.t("기한", "Due on")) } dd { (o.due_on.get(..10).unwrap_or(&o.due_on)) }
                dt { (p.t("상태", "State")) } dd { (obligation_badges(p.lang, &report.obligation)) }
            }
            @if may_compile {
                form method="post" action={ "/reports/" (o.id) "/compile" } class="inline" {
                    (p.csrf_field())
                    button type="submit" {
                        @if latest.is_some_and(|l| l.row.state == "draft") { (p.t("수치 다시 집계", "Recompile the figures")) }
                        @else if latest.is_some() { (p.t("새 판 작성(수치 집계)", "Start a new version (compile)")) }
                        @else { (p.t("보고서 집계 시작", "Compile the report")) }
                    }
                }
            }
        }
        (versions_nav(p, &report, shown.map(|s| s.row.version)))
        @match shown {
            None => p class="muted" { (p.t("아직 보고서가 작성되지 않았습니다.", "No report has been compiled yet.")) },
            Some(v) => {
                (version_header(p, v))
                @if let Some(r) = &v.review { (review_block(p, r)) }
                (figures_block(p, &v.figures))
                @if !v.changes.is_empty() {
                    section {
                        h2 { (p.t("재집계로 바뀐 수치", "What the last recompile changed")) }
                        div class="table-wrap" { table class="small" {
                            thead { tr {
                                th scope="col" { (p.t("항목", "Figure")) }
                                th scope="col" { (p.t("이전", "Before")) }
                                th scope="col" { (p.t("이후", "After")) }
                            } }
                            tbody { @for c in &v.changes { tr { td { (figure_label(p, &c.figure)) } td { (c.before) } td { (c.after) } } } }
                        } }
                    }
                }
                @if editable {
                    (narrative_form(p, o.id, failed.narrative.as_ref().unwrap_or(&v.narrative), &failed.errors))
                } @else {
                    (narrative_block(p, &v.narrative))
                }
                (attachments_block(st, p, o.id, v, editable, &failed.errors))
                @if v.frozen() {
                    p { a href={ "/reports/" (o.id) "/pdf?version=" (v.row.version) } download {
                        (p.t("이 판의 PDF 내려받기 (한국어·영어)", "Download this version as PDF (Korean and English)"))
                    } }
                }
                @if may_submit {
                    section {
                        h2 { (p.t("CISO 확인 및 제출", "CISO sign-off and submission")) }
                        p { (p.t(
                            "제출하면 이 판의 수치와 서술이 정규화된 내용의 SHA-256 해시와 함께 동결되어 더 이상 바꿀 수 없습니다. 보완 요청을 받으면 새 판으로 다시 작성합니다.",
                            "Submitting freezes this version's figures and narrative with the SHA-256 of their canonical content; nothing can change them afterwards. If it is returned, a new version is written.",
                        )) }
                        form method="post" action={ "/reports/" (o.id) "/submit" } {
                            (p.csrf_field())
                            button type="submit" { (p.t("확인하고 제출", "Sign off and submit")) }
                        }
                    }
                }
                @if may_decide {
                    (decision_form(p, o.id, failed.review.as_ref(), &failed.errors))
                }
            }
        }
    };
    Ok(p.page(&title, body))
}

fn versions_nav(p: &Portal, report: &Report, shown: Option<i64>) -> Markup {
    html! {
        @if report.versions.len() > 1 {
            nav aria-label=(p.t("판 목록", "Versions")) {
                h2 { (p.t("판 이력", "Versions")) }
                ul {
                    @for v in &report.versions {
                        li {
                            @if Some(v.row.version) == shown {
                                strong aria-current="page" { (p.t("제", "Version ")) (v.row.version) (p.t("판", "")) }
                            } @else {
                                a href={ "/reports/" (report.obligation.row.id) "?version=" (v.row.version) } { (p.t("제", "Version ")) (v.row.version) (p.t("판", "")) }
                            }
                            " " (report_badge(p, &v.row.state))
                            @if let Some(h) = &v.row.content_hash { " " code { (h.get(..12).unwrap_or(h)) "…" } }
                        }
                    }
                }
            }
        }
    }
}

fn version_header(p: &Portal, v: &ReportVersion) -> Markup {
    html! {
        section {
            h2 { (p.t("제", "Version ")) (v.row.version) (p.t("판", "")) " " (report_badge(p, &v.row.state)) }
            dl class="facts" {
                dt { (p.t("집계 시각", "Compiled at")) } dd { (kst_minute(&v.row.compiled_at)) }
                @if let (Some(by), Some(at)) = (&v.row.submitted_by, &v.row.submitted_at) {
                    dt { (p.t("제출", "Submitted")) } dd { (kst_minute(at)) " · " (by) }
                }
                @if let Some(h) = &v.row.content_hash {
                    dt { (p.t("내용 해시 (SHA-256)", "Content hash (SHA-256)")) } dd { code class="hash" { (h) } }
                }
                @if let (Some(by), Some(at)) = (&v.row.decided_by, &v.row.decided_at) {
                    dt { (p.t("검토", "Reviewed")) } dd { (kst_minute(at)) " · " (by) }
                }
            }
            @if v.frozen() {
                p class="muted" { (p.t("이 판은 제출되어 동결되었습니다. 내용은 변경할 수 없습니다.", "This version was submitted and is frozen; its content cannot change.")) }
            }
        }
    }
}

fn review_block(p: &Portal, r: &Review) -> Markup {
    html! {
        section class="alert" {
            h2 { (p.t("감독당국 검토 의견", "The regulator's comments")) }
            @if !r.general.trim().is_empty() { p class="prewrap" { (r.general) } }
            @for key in std::iter::once("figures").chain(SECTIONS) {
                @if let Some(c) = r.sections.get(key).filter(|c| !c.trim().is_empty()) {
                    h3 { (section_title(p, key)) }
                    p class="prewrap" data-review-section=(key) { (c) }
                }
            }
        }
    }
}

fn label(p: &Portal, key: &str) -> String {
    super::findings::state_label(p.lang, key).to_string()
}

fn count_table(
    p: &Portal,
    caption: &str,
    rows: &[haechi_service::reports::Count],
    key_label: &dyn Fn(&str) -> String,
) -> Markup {
    html! {
        div class="table-wrap" { table class="small" {
            caption { (caption) }
            thead { tr { th scope="col" { (p.t("구분", "Value")) } th scope="col" class="num" { (p.t("건수", "Count")) } } }
            tbody {
                @if rows.is_empty() { tr { td colspan="2" class="muted" { (p.t("해당 없음", "None")) } } }
                @for c in rows { tr { th scope="row" { (key_label(&c.key)) } td class="num" { (c.n) } } }
            }
        } }
    }
}

fn days(v: Option<f64>) -> String {
    v.map(|d| format!("{d:.1}")).unwrap_or_else(|| "—".into())
}

fn figures_block(p: &Portal, f: &Figures) -> Markup {
    let yes_no = |b: bool| {
        if b {
            p.t("예", "Yes")
        } else {
            p.t("아니오", "No")
        }
    };
    html! {
        section {
            h2 { (p.t("기관 데이터 집계", "Figures from the institution's data")) }
            dl class="facts" {
                dt { (p.t("집계 기간", "Period")) } dd { (f.period_start) " – " (f.period_end) }
                dt { (p.t("신규 취약점", "New findings")) } dd { (f.findings) }
                dt { (p.t("AI가 발견", "Found by AI")) } dd { (f.ai_found) }
                dt { (p.t("기존 도구", "Conventional tools")) } dd { (f.conventional) }
            }
            (count_table(p, p.t("심각도별", "By severity"), &f.by_severity, &|k| label(p, k)))
            (count_table(p, p.t("우선순위별", "By priority"), &f.by_priority, &|k| if k == "none" { p.t("미산정", "Not prioritised").into() } else { label(p, k) }))
            (count_table(p, p.t("현재 상태별", "By status now"), &f.by_status, &|k| label(p, k)))
            (count_table(p, p.t("CWE별 (상위 15)", "By CWE (top 15)"), &f.by_cwe, &|k| format!("CWE-{k}")))
            div class="table-wrap" { table class="small" {
                caption { (p.t("도구·AI 모델별 취약점", "Findings by tool and AI model")) }
                thead { tr { th scope="col" { (p.t("도구", "Tool")) } th scope="col" { (p.t("AI 모델", "AI model")) } th scope="col" class="num" { (p.t("건수", "Count")) } } }
                tbody {
                    @if f.by_tool.is_empty() { tr { td colspan="3" class="muted" { (p.t("해당 없음", "None")) } } }
                    @for t in &f.by_tool { tr { td { (t.tool) } td { (t.ai_model.as_deref().unwrap_or("—")) } td class="num" { (t.n) } } }
                }
            } }
            div class="table-wrap" { table class="small" {
                caption { (p.t("AI 점검 실행·결과 반입", "AI testing runs and imports")) }
                thead { tr { th scope="col" { (p.t("도구", "Tool")) } th scope="col" { (p.t("AI 모델", "AI model")) } th scope="col" class="num" { (p.t("실행", "Runs")) } th scope="col" class="num" { (p.t("결과", "Results")) } } }
                tbody {
                    @if f.runs.is_empty() { tr { td colspan="4" class="muted" { (p.t("해당 없음", "None")) } } }
                    @for r in &f.runs { tr {
                        td { (r.tool) @if let Some(v) = &r.tool_version { " " (v) } }
                        td { (r.ai_model.as_deref().unwrap_or("—")) @if let Some(v) = &r.ai_model_version { " " (v) } }
                        td class="num" { (r.runs) } td class="num" { (r.results) }
                    } }
                }
            } }
            div class="table-wrap" { table class="small" {
                caption { (p.t("조치 소요 기간(일)과 SLA 준수", "Time to remediate (days) and SLA compliance")) }
                thead { tr {
                    th scope="col" { (p.t("우선순위", "Priority")) }
                    th scope="col" class="num" { (p.t("조치 건수", "Fixed")) }
                    th scope="col" class="num" { (p.t("중앙값", "Median")) }
                    th scope="col" class="num" { "p90" }
                    th scope="col" class="num" { (p.t("기한 내", "In time")) }
                    th scope="col" class="num" { (p.t("기한 후", "Late")) }
                    th scope="col" class="num" { (p.t("기한 초과 미조치", "Open, breached")) }
                    th scope="col" class="num" { (p.t("준수율", "Compliance")) }
                } }
                tbody {
                    @for pr in haechi_service::reports::PRIORITIES {
                        @let r = f.remediation.iter().find(|r| r.priority == pr);
                        @let s = f.sla.iter().find(|s| s.priority == pr);
                        @if r.is_some() || s.is_some() {
                            tr {
                                th scope="row" { (label(p, pr)) }
                                td class="num" { (r.map(|r| r.fixed).unwrap_or(0)) }
                                td class="num" { (days(r.and_then(|r| r.median_days))) }
                                td class="num" { (days(r.and_then(|r| r.p90_days))) }
                                td class="num" { (s.map(|s| s.fixed_in_time).unwrap_or(0)) }
                                td class="num" { (s.map(|s| s.fixed_late).unwrap_or(0)) }
                                td class="num" { (s.map(|s| s.open_breached).unwrap_or(0)) }
                                td class="num" { (s.and_then(|s| s.rate()).map(|r| format!("{r:.0}%")).unwrap_or_else(|| "—".into())) }
                            }
                        }
                    }
                }
            } }
            dl class="facts" {
                dt { (p.t("패치 기록", "Patch records")) } dd { (f.patches.records) }
                dt { (p.t("패치로 조치한 취약점", "Findings fixed by patches")) } dd { (f.patches.findings_fixed) }
                dt { (p.t("사전 테스트", "Pre-tested")) } dd { (f.patches.pre_testing_done) }
                dt { (p.t("롤백 준비", "Rollback ready")) } dd { (f.patches.rollback_ready) }
                dt { (p.t("킬 스위치 준비", "Kill switch ready")) } dd { (f.patches.kill_switch_ready) }
                dt { (p.t("격리 준비", "Isolation ready")) } dd { (f.patches.isolation_ready) }
                dt { (p.t("서비스 연속성 계획", "Continuity plan")) } dd { (f.patches.continuity_plan) }
                dt { (p.t("고객 사전 안내", "Customers told in advance")) } dd { (f.patches.customers_notified_in_advance) }
            }
            div class="table-wrap" { table class="small" {
                caption { (p.t("보안 SaaS 이용 현황과 의견서 허용 범위", "Security SaaS in use against the letter's scope")) }
                thead { tr {
                    th scope="col" { (p.t("제품", "Product")) }
                    th scope="col" { (p.t("공급사", "Vendor")) }
                    th scope="col" { (p.t("인증", "Certifications")) }
                    th scope="col" { (p.t("최근 자체 점검", "Last self-evaluation")) }
                    th scope="col" { (p.t("기간 내 점검", "Evaluated in period")) }
                    th scope="col" { (p.t("의견서 허용", "Permitted by the letter")) }
                } }
                tbody {
                    @if f.saas.is_empty() { tr { td colspan="6" class="muted" { (p.t("등록된 보안 SaaS가 없습니다.", "No security SaaS registered.")) } } }
                    @for s in &f.saas { tr {
                        td { (s.product) } td { (s.vendor) } td { (s.certifications.join(", ")) }
                        td { (s.last_evaluated_on.as_deref().unwrap_or("—")) @if let Some(r) = &s.last_result { " · " (label(p, r)) } }
                        td { (yes_no(s.evaluated_in_period)) }
                        td { @if s.in_letter_scope { span class="badge ok" { (yes_no(true)) } } @else { span class="badge bad" { (p.t("범위 밖", "Outside the scope")) } } }
                    } }
                }
            } }
            @if !f.scope_not_in_register.is_empty() {
                p { (p.t("의견서가 허용했지만 등록부에 없는 SaaS: ", "Permitted by the letter but not in the register: ")) (f.scope_not_in_register.join(", ")) }
            }
        }
    }
}

fn narrative_block(p: &Portal, n: &Narrative) -> Markup {
    html! {
        section {
            h2 { (p.t("서술 보고", "Narrative")) }
            @for key in SECTIONS {
                @let (ko, en) = n.section(key);
                h3 { (section_title(p, key)) }
                @if ko.trim().is_empty() { p class="muted" { (p.t("작성되지 않음", "Not written")) } }
                @else { p class="prewrap" lang="ko" { (ko) } }
                @if !en.trim().is_empty() { p class="prewrap" lang="en" { (en) } }
            }
        }
    }
}

fn textarea(p: &Portal, name: &str, label: &str, value: &str, errors: &[FieldError]) -> Markup {
    let err = field_message(p, errors, name);
    html! {
        div class={ "field" @if err.is_some() { " invalid" } } {
            label for=(name) { (label) }
            textarea id=(name) name=(name) rows="6" aria-describedby=[err.as_ref().map(|_| format!("{name}-error"))] { (value) }
            @if let Some(m) = err { p class="field-error" id={ (name) "-error" } role="alert" { (m) } }
        }
    }
}

fn narrative_form(p: &Portal, id: i64, n: &Narrative, errors: &[FieldError]) -> Markup {
    html! {
        section {
            h2 { (p.t("서술 보고 작성", "Write the narrative")) }
            form method="post" action={ "/reports/" (id) "/narrative" } {
                (p.csrf_field())
                @for key in SECTIONS {
                    @let (ko, en) = n.section(key);
                    fieldset {
                        legend { (section_title(p, key)) }
                        (textarea(p, &format!("{key}_ko"), p.t("한국어 (필수)", "Korean (required)"), ko, errors))
                        (textarea(p, &format!("{key}_en"), p.t("영어 (선택)", "English (optional)"), en, errors))
                    }
                }
                button type="submit" { (p.t("저장", "Save")) }
            }
        }
    }
}

fn decision_form(p: &Portal, id: i64, review: Option<&Review>, errors: &[FieldError]) -> Markup {
    let empty = Review::default();
    let r = review.unwrap_or(&empty);
    let section = |k: &str| r.sections.get(k).cloned().unwrap_or_default();
    html! {
        section {
            h2 { (p.t("검토 결정", "Decision")) }
            p { (p.t(
                "수리하거나, 항목별 의견과 함께 보완을 요청합니다. 보완 요청 시 기관은 새 판을 작성하며 이 판은 그대로 보존됩니다.",
                "Accept the report, or return it with comments per section. A returned report is followed by a new version; this one is kept as it is.",
            )) }
            form method="post" action={ "/reports/" (id) "/decision" } {
                (p.csrf_field())
                (textarea(p, "general", p.t("전체 의견", "Overall comment"), &r.general, errors))
                @for key in std::iter::once("figures").chain(SECTIONS) {
                    (textarea(p, &format!("c_{key}"), section_title(p, key), &section(key), errors))
                }
                div class="actions" {
                    button type="submit" name="decision" value="accept" { (p.t("수리", "Accept")) }
                    " "
                    button type="submit" name="decision" value="return" class="danger" { (p.t("보완 요청(반려)", "Return for correction")) }
                }
            }
        }
    }
}

// ================================================================================ posts

#[derive(Deserialize, Default)]
struct Empty {}

async fn compile(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<Empty>,
) -> Response {
    let p = f.portal;
    let out = match parse_id(&id) {
        Ok(n) => st.svc.compile_report(&p.actor, n).await.map(|_| n),
        Err(e) => Err(e),
    };
    after(&st, &p, &id, out, "compiled", Failed::default()).await
}

async fn narrative(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<Narrative>,
) -> Response {
    let p = f.portal;
    let out = match parse_id(&id) {
        Ok(n) => st.svc.write_report(&p.actor, n, &f.form).await.map(|()| n),
        Err(e) => Err(e),
    };
    let failed = Failed {
        narrative: Some(f.form),
        ..Failed::default()
    };
    after(&st, &p, &id, out, "saved", failed).await
}

async fn submit(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<Empty>,
) -> Response {
    let p = f.portal;
    let out = match parse_id(&id) {
        Ok(n) => st.svc.submit_report(&p.actor, n).await.map(|_| n),
        Err(e) => Err(e),
    };
    after(&st, &p, &id, out, "submitted", Failed::default()).await
}

#[derive(Deserialize, Default)]
struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    general: String,
    #[serde(default)]
    c_figures: String,
    #[serde(default)]
    c_risk: String,
    #[serde(default)]
    c_offensive: String,
    #[serde(default)]
    c_defences: String,
}

async fn decision(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<DecisionForm>,
) -> Response {
    let p = f.portal;
    let form = f.form;
    let review = Review {
        general: form.general.trim().to_string(),
        sections: [
            ("figures", form.c_figures),
            ("risk", form.c_risk),
            ("offensive", form.c_offensive),
            ("defences", form.c_defences),
        ]
        .into_iter()
        .filter(|(_, c)| !c.trim().is_empty())
        .map(|(k, c)| (k.to_string(), c.trim().to_string()))
        .collect(),
    };
    let accept = match form.decision.as_str() {
        "accept" => true,
        "return" => false,
        _ => {
            return after(
                &st,
                &p,
                &id,
                Err(ServiceError::invalid(vec![FieldError::new(
                    "decision",
                    "choose accept or return",
                )])),
                "",
                Failed::default(),
            )
            .await
        }
    };
    let out = match parse_id(&id) {
        Ok(n) => st
            .svc
            .decide_report(&p.actor, n, accept, &review)
            .await
            .map(|()| n),
        Err(e) => Err(e),
    };
    let done = if accept { "accepted" } else { "returned" };
    let failed = Failed {
        review: Some(review),
        ..Failed::default()
    };
    after(&st, &p, &id, out, done, failed).await
}

/// Redirects to the report after a change; shows the page again with the error otherwise
/// (nothing was changed). Authorisation refusals and unknown ids answer as errors.
async fn after(
    st: &AppState,
    p: &Portal,
    id: &str,
    out: Result<i64, ServiceError>,
    done: &str,
    mut failed: Failed,
) -> Response {
    let e = match out {
        Ok(n) => return Redirect::to(&format!("/reports/{n}?done={done}")).into_response(),
        Err(e) => e,
    };
    if matches!(
        e,
        ServiceError::NotFound | ServiceError::Forbidden(_) | ServiceError::Unauthenticated
    ) {
        return p.error(e);
    }
    let status = crate::error::status_of(&e);
    failed.errors = e.field_errors().to_vec();
    failed.message = Some(if failed.errors.is_empty() {
        error_message(st, p, &e)
    } else {
        p.t(
            "입력을 확인하십시오. 아무것도 저장하지 않았습니다.",
            "Please check the form. Nothing was saved.",
        )
        .to_string()
    });
    match render(st, p, id, None, "", failed).await {
        Ok(r) => (status, r).into_response(),
        Err(e) => p.error(e),
    }
}

// ================================================================================ evidence and PDF

fn attachments_block(
    st: &AppState,
    p: &Portal,
    id: i64,
    v: &ReportVersion,
    editable: bool,
    errors: &[FieldError],
) -> Markup {
    let limits = &st.svc.policy().reporting.attachments;
    let mb = |b: u64| b / (1024 * 1024);
    let err = field_message(p, errors, "file").or_else(|| field_message(p, errors, "filename"));
    html! {
        section id="attachments" {
            h2 { (p.t("증빙 자료", "Evidence files")) }
            @if v.attachments.is_empty() {
                p class="muted" { (p.t("이 판에 올린 파일이 없습니다.", "No files are attached to this version.")) }
            } @else {
                div class="table-wrap" { table class="small" {
                    thead { tr {
                        th scope="col" { (p.t("파일", "File")) }
                        th scope="col" class="num" { (p.t("크기(바이트)", "Size (bytes)")) }
                        th scope="col" { "SHA-256" }
                        th scope="col" { (p.t("올린 사람", "Uploaded by")) }
                        th scope="col" { (p.t("올린 시각", "Uploaded at")) }
                        @if editable { th scope="col" { span class="visually-hidden" { (p.t("삭제", "Remove")) } } }
                    } }
                    tbody {
                        @for a in &v.attachments { tr {
                            td { a href={ "/report-files/" (a.id) } { (a.filename) } }
                            td class="num" { (a.size_bytes) }
                            td { code class="hash" { (a.sha256) } }
                            td { (a.uploaded_by) }
                            td { (kst_minute(&a.uploaded_at)) }
                            @if editable { td {
                                form method="post" action={ "/report-files/" (a.id) "/delete" } class="inline" {
                                    (p.csrf_field())
                                    button type="submit" class="danger" { (p.t("삭제", "Remove")) }
                                }
                            } }
                        } }
                    }
                } }
                @if v.frozen() {
                    p class="muted" { (p.t(
                        "파일의 해시는 제출 시 내용 해시에 포함되어 함께 동결되었습니다.",
                        "The files' hashes are part of the content hash and were frozen with it.",
                    )) }
                }
            }
            @if editable {
                form method="post" action={ "/reports/" (id) "/attachments" } enctype="multipart/form-data" class="row" {
                    (p.csrf_field())
                    div class={ "field" @if err.is_some() { " invalid" } } {
                        label for="file" {
                            (p.t("파일 추가", "Add a file")) " ("
                            (p.t("한 파일 최대 ", "up to ")) (mb(limits.max_bytes)) " MB"
                            (p.t(", 합계 최대 ", " each, ")) (mb(limits.max_total_bytes)) " MB" (p.t("", " in all"))
                            ")"
                        }
                        input type="file" id="file" name="file" required aria-describedby=[err.as_ref().map(|_| "file-error")];
                        @if let Some(m) = &err { p class="field-error" id="file-error" role="alert" { (m) } }
                    }
                    button type="submit" { (p.t("올리기", "Upload")) }
                }
            }
        }
    }
}

async fn upload(State(st): State<AppState>, Path(id): Path<String>, f: CsrfMultipart) -> Response {
    let CsrfMultipart {
        portal: p,
        mut multipart,
    } = f;
    let mut file: Option<(String, String, bytes::Bytes)> = None;
    let mut refused: Option<ServiceError> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                refused = Some(ServiceError::TooLarge(e.body_text()));
                break;
            }
            Err(e) => return p.error(ServiceError::rule("bad_upload", e.body_text())),
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("").to_string();
        let ct = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_string();
        match field.bytes().await {
            Ok(b) => file = Some((name, ct, b)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                refused = Some(ServiceError::TooLarge(e.body_text()));
                break;
            }
            Err(e) => return p.error(ServiceError::rule("bad_upload", e.body_text())),
        }
    }
    let out = match (parse_id(&id), refused) {
        (Err(e), _) | (_, Some(e)) => Err(e),
        (Ok(n), None) => {
            // No file: the service still decides first whether this user may attach anything.
            let (name, ct, data) = file.unwrap_or_default();
            // The type a browser declares, or the one the name says when it declares none.
            let served = served_type(&name, &ct);
            st.svc
                .add_report_attachment(&p.actor, n, &name, &served, &data)
                .await
                .map(|_| n)
        }
    };
    after(&st, &p, &id, out, "attached", Failed::default()).await
}

async fn remove(
    State(st): State<AppState>,
    Path(file): Path<String>,
    f: CsrfForm<Empty>,
) -> Response {
    let p = f.portal;
    let out = match parse_id(&file) {
        Ok(a) => st.svc.remove_report_attachment(&p.actor, a).await,
        Err(e) => Err(e),
    };
    match out {
        Ok(n) => Redirect::to(&format!("/reports/{n}?done=detached#attachments")).into_response(),
        Err(e) => {
            // The report the file belongs to, to show the refusal on (when the user may see it).
            let report = match parse_id(&file) {
                Ok(a) => st.svc.report_attachment(&p.actor, a).await.ok(),
                Err(_) => None,
            };
            match report {
                Some((meta, _)) => {
                    let id = meta.obligation_id.to_string();
                    after(&st, &p, &id, Err(e), "detached", Failed::default()).await
                }
                None => p.error(e),
            }
        }
    }
}

async fn download(State(st): State<AppState>, p: Portal, Path(id): Path<String>) -> Response {
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    match st.svc.report_attachment(&p.actor, id).await {
        Ok((meta, data)) => {
            evidence_response(&meta.filename, &meta.content_type, &meta.sha256, data)
        }
        Err(e) => p.error(e),
    }
}

#[derive(Deserialize, Default)]
struct PdfQuery {
    #[serde(default)]
    version: Option<i64>,
}

async fn pdf(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PdfQuery>,
) -> Response {
    let n = match parse_id(&id) {
        Ok(n) => n,
        Err(e) => return p.error(e),
    };
    match st.svc.report_pdf(&p.actor, n, q.version).await {
        Ok((name, bytes)) => {
            let mut resp = bytes.into_response();
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            resp
        }
        Err(e) if e.code() == "not_submitted" => {
            let failed = Failed {
                message: Some(error_message(&st, &p, &e)),
                ..Failed::default()
            };
            match render(&st, &p, &id, q.version, "", failed).await {
                Ok(r) => (StatusCode::CONFLICT, r).into_response(),
                Err(e) => p.error(e),
            }
        }
        Err(e) => p.error(e),
    }
}
