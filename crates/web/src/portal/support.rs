//! Issue #17's follow-up pages: evidence files of a disruption report (upload while the
//! committee has not decided, listed with their SHA-256, downloaded by the institution and the
//! regulator side), a funding award's page with its payments and outcome reports (the firm files,
//! the reviewer accepts or asks for more), the AI Security Support Center's cases (a small firm
//! opens, the center triages, answers and closes, both read the history), and the note that
//! tells a small firm why the security-operations pages are open to it.
//!
//! What it must not do: decide who may do what, or whether a file or a step is allowed — the
//! service does; the pages only hide buttons a role could not use anyway.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use haechi_core::FieldError;
use haechi_service::authz::Action;
use haechi_service::support::{CaseStep, OutcomeInput, SelfService, Upload, CASE_KINDS};
use haechi_service::ServiceError;
use haechi_store::EvidenceMeta;
use maud::{html, Markup};
use serde::Deserialize;

use super::parse_id;
use super::{kst_minute, money, url_encode, CsrfForm, CsrfMultipart, Lang, PageRoute, Portal};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_post!("/immunity/{id}/files", disruption_upload),
        page_get!("/immunity-files/{id}", disruption_download),
        page_get!("/grants/{id}", grant),
        page_post!("/grants/{id}/outcome", outcome_file_report),
        page_post!("/outcomes/{id}/files", outcome_upload),
        page_post!("/outcomes/{id}/review", outcome_review),
        page_get!("/outcome-files/{id}", outcome_download),
        page_get!("/support", cases),
        page_post!("/support", open_case),
        page_get!("/support/{id}", case),
        page_post!("/support/{id}/step", case_step),
    ]
}

// ================================================================================ words

fn label(lang: Lang, field: &str) -> String {
    let (ko, en) = match field {
        "file" => ("파일", "File"),
        "filename" => ("파일 이름", "File name"),
        "achieved_ko" => ("성과(국문)", "What it achieved (Korean)"),
        "achieved_en" => ("성과(영문)", "What it achieved (English)"),
        "used_krw" => ("사용 금액(원)", "Amount used (KRW)"),
        "note" => ("검토 의견", "Review note"),
        "kind" => ("상담 유형", "Kind of case"),
        "subject" => ("제목", "Subject"),
        "description" => ("내용", "Description"),
        "message" => ("메시지", "Message"),
        _ => return super::fields::field_label(lang, field),
    };
    lang.t(ko, en).to_string()
}

fn message(lang: Lang, e: &FieldError) -> String {
    let ko = match e.message.as_str() {
        "is larger than the policy allows" => "정책이 허용하는 크기보다 큽니다.",
        "is not of a type the policy accepts" => "정책이 허용하는 파일 형식이 아닙니다.",
        "would take the record's files past the policy's total" => {
            "첨부 파일을 모두 합한 크기가 정책 한도를 넘습니다."
        }
        "is empty" => "빈 파일입니다.",
        "must be 1-200 characters" => "1~200자여야 합니다.",
        "must not be negative" => "0 이상이어야 합니다.",
        "exceeds what was paid" => "지급받은 금액보다 많습니다.",
        "say what more is needed" => "무엇을 보완해야 하는지 쓰십시오.",
        "choose what the case is about" => "상담 유형을 고르십시오.",
        "is not a number" => "숫자를 쓰십시오.",
        _ => return super::fields::localized(lang, e),
    };
    lang.t(ko, &e.message).to_string()
}

fn rule_message(lang: Lang, e: &ServiceError) -> String {
    let (ko, en) = match e.code() {
        "report_decided" => (
            "이미 심사(검토)가 끝나 파일을 더 올릴 수 없습니다.",
            "It has been decided; files can no longer be added.",
        ),
        "not_disbursed" => (
            "성과 보고는 지원금을 지급받은 뒤에 제출합니다.",
            "An outcome report follows a payment of the award.",
        ),
        "outcome_pending" => (
            "성과 보고가 검토 중이거나 이미 승인되었습니다.",
            "The outcome report awaits review or was accepted.",
        ),
        "not_small_firm" => (
            "AI 보안지원센터 상담은 소규모 금융회사와 핀테크가 신청합니다.",
            "The support center takes cases from small firms and fintechs.",
        ),
        "illegal_transition" => (
            "현재 상태에서는 할 수 없는 작업입니다.",
            "This cannot be done in the current state.",
        ),
        _ => return super::error_text(lang, e),
    };
    lang.t(ko, en).to_string()
}

fn failure(lang: Lang, e: &ServiceError) -> String {
    super::fields::form_failure(lang, e, rule_message)
}

fn errors_block(lang: Lang, failed: Option<&str>, errors: &[FieldError]) -> Markup {
    super::fields::form_alerts(lang, failed, errors, label, message)
}

/// The policy's limits, shown beside every upload form.
fn limits_note(st: &AppState, lang: Lang) -> Markup {
    let policy = st.svc.policy();
    let a = &policy.reporting.attachments;
    let mib = a.max_bytes as f64 / (1024.0 * 1024.0);
    html! {
        p class="small muted" {
            (lang.t("파일 한 개 최대 ", "Up to "))
            (format!("{mib:.1} MiB"))
            (lang.t(", 허용 형식: ", " per file; accepted types: "))
            (a.content_types.join(", "))
        }
    }
}

/// A table of evidence files with their size and SHA-256; each links to `href_base{id}`.
pub fn files_table(lang: Lang, files: &[EvidenceMeta], href_base: &str) -> Markup {
    html! {
        @if files.is_empty() {
            p class="muted" { (lang.t("첨부한 파일이 없습니다.", "No files attached.")) }
        } @else {
            div class="table-wrap" { table {
                thead { tr {
                    th scope="col" { (lang.t("파일", "File")) }
                    th scope="col" class="num" { (lang.t("크기(바이트)", "Size (bytes)")) }
                    th scope="col" { "SHA-256" }
                    th scope="col" { (lang.t("올린 사람·시각", "Uploaded")) }
                } }
                tbody { @for f in files { tr {
                    td { a href={ (href_base) (f.id) } { (f.filename) } }
                    td class="num" { (super::registry::thousands(f.size_bytes)) }
                    td { code class="small" { (f.sha256) } }
                    td { (f.uploaded_by) " · " (kst_minute(&f.uploaded_at)) }
                } } }
            } }
        }
    }
}

/// The evidence section of a disruption report's page: the files, and the upload form while the
/// committee has not decided.
pub fn disruption_files_section(
    st: &AppState,
    p: &Portal,
    report_id: i64,
    files: &[EvidenceMeta],
    pending: bool,
) -> Markup {
    html! {
        section id="files" {
            h2 { (p.t("증빙 파일", "Evidence files")) }
            (files_table(p.lang, files, "/immunity-files/"))
            @if pending && p.may(Action::FileImmunity) {
                form method="post" action={ "/immunity/" (report_id) "/files" } enctype="multipart/form-data" class="stack" {
                    (p.csrf_field())
                    div class="field" { label for="file" { (label(p.lang, "file")) } input type="file" id="file" name="file" required; }
                    (limits_note(st, p.lang))
                    button type="submit" { (p.t("파일 올리기", "Upload the file")) }
                }
            }
        }
    }
}

/// Why a small firm may use the security-operations pages, shown at their top.
pub async fn self_service_note(st: &AppState, p: &Portal) -> Markup {
    let Ok(s) = st.svc.self_service(&p.actor).await else {
        return html! {};
    };
    match s {
        SelfService::Funded {
            application_id,
            call_title,
            award_krw,
        } => html! {
            p class="alert ok" role="status" {
                (p.t(
                    "AI 보안지원센터의 지원 대상 기관으로 취약점 접수와 패치 대기열을 스스로 이용합니다: ",
                    "Your firm uses the findings intake and the patch queue on its own as a firm funded by the AI Security Support Center: ",
                ))
                a href={ "/grants/" (application_id) } { (call_title) } " (" (money(p.lang, award_krw)) ")"
            }
        },
        SelfService::Letter { letter_number } => html! {
            p class="small muted" {
                (p.t("비조치의견서로 이용합니다: ", "Open under your no-action letter: "))
                span class="nowrap" { (letter_number) }
            }
        },
        _ => html! {},
    }
}

/// Serves a stored evidence file as a download that runs nothing.
fn serve_file(meta: &EvidenceMeta, data: Vec<u8>) -> Response {
    let ascii: String = meta
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        url_encode(&meta.filename)
    );
    let mut resp = data.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&meta.content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&meta.sha256) {
        h.insert("x-content-sha256", v);
    }
    resp
}

/// The fields of a multipart form: text fields by name, and the one file (name, type, bytes).
struct Parts {
    fields: Vec<(String, String)>,
    file: Option<(String, String, Vec<u8>)>,
}

impl Parts {
    fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

async fn read_parts(lang: Lang, multipart: &mut Multipart) -> Result<Parts, ServiceError> {
    let too_large = || {
        ServiceError::TooLarge(
            lang.t(
                "올린 파일이 허용된 크기보다 커서 아무것도 저장하지 않았습니다.",
                "The upload is larger than allowed, so nothing was saved.",
            )
            .to_string(),
        )
    };
    let mut out = Parts {
        fields: Vec::new(),
        file: None,
    };
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(e) => return Err(ServiceError::rule("bad_upload", e.body_text())),
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let filename = field.file_name().unwrap_or("").to_string();
            let ct = field
                .content_type()
                .unwrap_or("application/octet-stream")
                .to_string();
            match field.bytes().await {
                Ok(b) if filename.is_empty() && b.is_empty() => {}
                Ok(b) => out.file = Some((filename, ct, b.to_vec())),
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
                Err(e) => return Err(ServiceError::rule("bad_upload", e.body_text())),
            }
        } else {
            match field.text().await {
                Ok(t) => out.fields.push((name, t)),
                Err(e) => return Err(ServiceError::rule("bad_upload", e.body_text())),
            }
        }
    }
    Ok(out)
}

// ================================================================================ disruption files

async fn disruption_upload(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfMultipart,
) -> Response {
    let CsrfMultipart {
        portal: p,
        mut multipart,
    } = f;
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    let out = match read_parts(p.lang, &mut multipart).await {
        Ok(parts) => {
            let (name, ct, data) = parts.file.unwrap_or_default();
            st.svc
                .add_disruption_file(
                    &p.actor,
                    id,
                    Upload {
                        filename: &name,
                        content_type: &ct,
                        data: &data,
                    },
                )
                .await
                .map(|_| ())
        }
        Err(e) => Err(e),
    };
    match out {
        Ok(()) => Redirect::to(&format!("/immunity/{id}#files")).into_response(),
        Err(e @ (ServiceError::NotFound | ServiceError::Forbidden(_))) => p.error(e),
        Err(e) => {
            // Back on the report's page, the reason next to the files.
            let status = crate::error::status_of(&e);
            let mut text = failure(p.lang, &e);
            for fe in e.field_errors() {
                text.push(' ');
                text.push_str(&format!(
                    "{}: {}",
                    label(p.lang, &fe.field),
                    message(p.lang, fe)
                ));
            }
            let r = super::immunity::render_with_failure(&st, &p, id, text).await;
            (status, r).into_response()
        }
    }
}

async fn disruption_download(
    State(st): State<AppState>,
    p: Portal,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    match st.svc.disruption_file(&p.actor, id).await {
        Ok((meta, data)) => serve_file(&meta, data),
        Err(e) => p.error(e),
    }
}

// ================================================================================ grants

#[derive(Deserialize, Default)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn grant(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    render_grant(&st, &p, id, &q.done, None, &[]).await
}

fn outcome_badge(lang: Lang, s: &str) -> Markup {
    let (class, text) = match s {
        "accepted" => ("badge ok", lang.t("승인", "Accepted")),
        "more_requested" => ("badge bad", lang.t("보완 요청", "More requested")),
        _ => ("badge warn", lang.t("검토 대기", "Awaiting review")),
    };
    html! { span class=(class) { (text) } }
}

async fn render_grant(
    st: &AppState,
    p: &Portal,
    id: i64,
    done: &str,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let app = match st.svc.funding_application(&p.actor, id).await {
        Ok(a) => a,
        Err(e) => return p.error(e),
    };
    let payments = st
        .svc
        .funding_payments(&p.actor, id)
        .await
        .unwrap_or_default();
    let outcomes = match st.svc.funding_outcomes(&p.actor, id).await {
        Ok(o) => o,
        Err(e) => return p.error(e),
    };
    let call = st.svc.funding_call(&p.actor, app.call_id).await.ok();
    let lang = p.lang;
    let last_state = outcomes.last().map(|o| o.row.state.as_str());
    let may_file = p.may(Action::FileFundingOutcome)
        && app.state == "awarded"
        && app.disbursed_krw > 0
        && matches!(last_state, None | Some("more_requested"));
    let title = format!("{} — {}", p.t("지원 결정", "Award"), app.institution_name);
    let body = html! {
        p { a href={ "/funding/" (app.call_id) } { "← " (call.as_ref().map(|c| c.row.title.as_str()).unwrap_or(p.t("지원 공모", "Funding call"))) } }
        h1 { (title) }
        @if !done.is_empty() { p class="alert ok" role="status" { (p.t("저장했습니다.", "Saved.")) } }
        (errors_block(lang, failed.as_deref(), errors))
        dl class="facts" {
            dt { (p.t("기관", "Institution")) } dd { (app.institution_name) }
            dt { (p.t("지원 목적", "Purpose")) } dd { (app.purpose) }
            dt { (p.t("신청 금액", "Requested")) } dd { (money(lang, app.requested_krw)) }
            dt { (p.t("지원 결정액", "Awarded")) } dd { (app.award_krw.map(|v| money(lang, v)).unwrap_or_else(|| "—".into())) }
            dt { (p.t("지급액", "Paid")) } dd { (money(lang, app.disbursed_krw)) }
            @if let Some(n) = &app.decision_note { dt { (p.t("결정 사유", "Decision note")) } dd { (n) } }
        }
        h2 { (p.t("지급 내역", "Payments")) }
        @if payments.is_empty() {
            p class="muted" { (p.t("지급 내역이 없습니다.", "No payments yet.")) }
        } @else {
            ul { @for d in &payments { li { (d.paid_on) " · " (money(lang, d.amount_krw)) @if !d.note.is_empty() { " · " (d.note) } } } }
        }
        h2 { (p.t("성과 보고", "Outcome reports")) }
        @if outcomes.is_empty() {
            p class="muted" { (p.t("제출한 성과 보고가 없습니다.", "No outcome report filed yet.")) }
        }
        @for o in outcomes.iter().rev() {
            section class="card" {
                h3 { (p.t("제", "Version ")) (o.row.version) (p.t("차 성과 보고", "")) " " (outcome_badge(lang, &o.row.state)) }
                dl class="facts" {
                    dt { (label(lang, "achieved_ko")) } dd class="prewrap" { (o.row.achieved_ko) }
                    dt { (label(lang, "achieved_en")) } dd class="prewrap" { (o.row.achieved_en) }
                    dt { (label(lang, "used_krw")) } dd { (money(lang, o.row.used_krw)) }
                    dt { (p.t("제출", "Filed")) } dd { (o.row.filed_by) " · " (kst_minute(&o.row.filed_at)) }
                    @if let Some(by) = &o.row.reviewed_by {
                        dt { (p.t("검토", "Reviewed")) } dd { (by) " · " (o.row.reviewed_at.as_deref().map(kst_minute).unwrap_or_default()) }
                    }
                    @if let Some(n) = o.row.review_note.as_deref().filter(|n| !n.is_empty()) {
                        dt { (label(lang, "note")) } dd class="prewrap" { (n) }
                    }
                }
                (files_table(lang, &o.files, "/outcome-files/"))
                @if o.row.state == "submitted" && p.may(Action::FileFundingOutcome) {
                    form method="post" action={ "/outcomes/" (o.row.id) "/files" } enctype="multipart/form-data" class="inline" {
                        (p.csrf_field())
                        input type="hidden" name="grant" value=(app.id);
                        input type="file" name="file" required aria-label=(label(lang, "file"));
                        button type="submit" { (p.t("파일 추가", "Add a file")) }
                    }
                }
                @if o.row.state == "submitted" && p.may(Action::ReviewFundingOutcome) {
                    form method="post" action={ "/outcomes/" (o.row.id) "/review" } class="stack" {
                        (p.csrf_field())
                        input type="hidden" name="grant" value=(app.id);
                        div class="field" { label for={ "note-" (o.row.id) } { (label(lang, "note")) } textarea id={ "note-" (o.row.id) } name="note" rows="3" {} }
                        div class="actions" {
                            button type="submit" name="decision" value="accept" class="primary" { (p.t("승인", "Accept")) }
                            " "
                            button type="submit" name="decision" value="more" { (p.t("보완 요청", "Ask for more")) }
                        }
                    }
                }
            }
        }
        @if may_file {
            h2 { (p.t("성과 보고 제출", "File the outcome report")) }
            form method="post" action={ "/grants/" (app.id) "/outcome" } enctype="multipart/form-data" class="stack" {
                (p.csrf_field())
                div class="field" { label for="achieved_ko" { (label(lang, "achieved_ko")) } textarea id="achieved_ko" name="achieved_ko" rows="4" required {} }
                div class="field" { label for="achieved_en" { (label(lang, "achieved_en")) } textarea id="achieved_en" name="achieved_en" rows="4" required {} }
                div class="field" { label for="used_krw" { (label(lang, "used_krw")) } input type="text" inputmode="numeric" id="used_krw" name="used_krw" required; }
                div class="field" { label for="file" { (label(lang, "file")) " " span class="muted" { (p.t("(선택)", "(optional)")) } } input type="file" id="file" name="file"; }
                (limits_note(st, lang))
                button type="submit" class="primary" { (p.t("제출", "File")) }
            }
        }
    };
    p.page(&title, body)
}

fn number(errors: &mut Vec<FieldError>, field: &str, v: &str) -> i64 {
    let v: String = v.trim().chars().filter(|c| *c != ',').collect();
    v.parse().unwrap_or_else(|_| {
        errors.push(FieldError::new(field, "is not a number"));
        0
    })
}

async fn grant_done(
    st: &AppState,
    p: &Portal,
    grant: i64,
    out: Result<(), ServiceError>,
) -> Response {
    match out {
        Ok(()) => Redirect::to(&format!("/grants/{grant}?done=1")).into_response(),
        Err(e @ (ServiceError::NotFound | ServiceError::Forbidden(_))) => p.error(e),
        Err(e) => {
            let status = crate::error::status_of(&e);
            let r = render_grant(
                st,
                p,
                grant,
                "",
                Some(failure(p.lang, &e)),
                e.field_errors(),
            )
            .await;
            (status, r).into_response()
        }
    }
}

async fn outcome_file_report(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfMultipart,
) -> Response {
    let CsrfMultipart {
        portal: p,
        mut multipart,
    } = f;
    let Ok(grant) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    let parts = match read_parts(p.lang, &mut multipart).await {
        Ok(parts) => parts,
        Err(e) => return grant_done(&st, &p, grant, Err(e)).await,
    };
    let mut errors = Vec::new();
    let used = number(&mut errors, "used_krw", parts.get("used_krw"));
    let input = OutcomeInput {
        achieved_ko: parts.get("achieved_ko").to_string(),
        achieved_en: parts.get("achieved_en").to_string(),
        used_krw: used,
    };
    if !errors.is_empty() {
        // The role and the record are checked first, as the service would.
        let out = match haechi_service::authz::authorize(&p.actor, Action::FileFundingOutcome) {
            Ok(()) => match st.svc.funding_application(&p.actor, grant).await {
                Ok(_) => Err(ServiceError::invalid(errors)),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        return grant_done(&st, &p, grant, out).await;
    }
    // A file that the policy refuses is checked before the report is stored, so nothing is
    // saved when either is wrong.
    if let Some((name, ct, data)) = &parts.file {
        if let Err(e) = haechi_service::support::check_file(
            &st.svc.policy().reporting.attachments,
            Upload {
                filename: name,
                content_type: ct,
                data,
            },
            0,
        ) {
            let out =
                haechi_service::authz::authorize(&p.actor, Action::FileFundingOutcome).and(Err(e));
            return grant_done(&st, &p, grant, out).await;
        }
    }
    let out = match st.svc.file_funding_outcome(&p.actor, grant, &input).await {
        Ok(outcome) => match &parts.file {
            Some((name, ct, data)) => st
                .svc
                .add_outcome_file(
                    &p.actor,
                    outcome,
                    Upload {
                        filename: name,
                        content_type: ct,
                        data,
                    },
                )
                .await
                .map(|_| ()),
            None => Ok(()),
        },
        Err(e) => Err(e),
    };
    grant_done(&st, &p, grant, out).await
}

async fn outcome_upload(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfMultipart,
) -> Response {
    let CsrfMultipart {
        portal: p,
        mut multipart,
    } = f;
    let Ok(outcome) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    let parts = match read_parts(p.lang, &mut multipart).await {
        Ok(parts) => parts,
        Err(e) => return p.error(e),
    };
    let grant = parts.get("grant").trim().parse::<i64>().unwrap_or(0);
    let (name, ct, data) = parts.file.unwrap_or_default();
    let out = st
        .svc
        .add_outcome_file(
            &p.actor,
            outcome,
            Upload {
                filename: &name,
                content_type: &ct,
                data: &data,
            },
        )
        .await
        .map(|_| ());
    if grant > 0 {
        grant_done(&st, &p, grant, out).await
    } else {
        match out {
            Ok(()) => Redirect::to("/funding").into_response(),
            Err(e) => p.error(e),
        }
    }
}

#[derive(Deserialize, Default)]
struct ReviewForm {
    #[serde(default)]
    grant: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

async fn outcome_review(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<ReviewForm>,
) -> Response {
    let p = f.portal;
    let Ok(outcome) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    let out = st
        .svc
        .review_funding_outcome(&p.actor, outcome, f.form.decision == "accept", &f.form.note)
        .await;
    let grant = f.form.grant.trim().parse::<i64>().unwrap_or(0);
    if grant > 0 {
        grant_done(&st, &p, grant, out).await
    } else {
        match out {
            Ok(()) => Redirect::to("/funding").into_response(),
            Err(e) => p.error(e),
        }
    }
}

async fn outcome_download(
    State(st): State<AppState>,
    p: Portal,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    match st.svc.outcome_file(&p.actor, id).await {
        Ok((meta, data)) => serve_file(&meta, data),
        Err(e) => p.error(e),
    }
}

// ================================================================================ support cases

pub fn kind_label(lang: Lang, kind: &str) -> &'static str {
    match kind {
        "vulnerability_assessment" => lang.t("취약점 점검 지원", "Vulnerability-assessment help"),
        "threat_trend" => lang.t("위협 동향 문의", "Threat-trend question"),
        _ => lang.t("기타", "Other"),
    }
}

pub fn status_badge(lang: Lang, s: &str) -> Markup {
    let (class, text) = match s {
        "open" => ("badge warn", lang.t("접수", "Open")),
        "in_progress" => ("badge", lang.t("처리 중", "In progress")),
        "answered" => ("badge ok", lang.t("답변 완료", "Answered")),
        _ => ("badge", lang.t("종결", "Closed")),
    };
    html! { span class=(class) { (text) } }
}

fn step_label(lang: Lang, step: &str) -> &'static str {
    match step {
        "triage" => lang.t("접수 처리", "Taken up"),
        "answer" => lang.t("답변", "Answer"),
        "follow_up" => lang.t("추가 문의", "Follow-up"),
        "close" => lang.t("종결", "Closed"),
        _ => lang.t("메시지", "Message"),
    }
}

async fn cases(p: Portal, State(st): State<AppState>) -> Response {
    render_cases(&st, &p, None, &[]).await
}

async fn render_cases(
    st: &AppState,
    p: &Portal,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let list = match st.svc.support_cases(&p.actor).await {
        Ok(l) => l,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let title = p.t("AI 보안지원센터 상담", "AI Security Support Center cases");
    let body = html! {
        h1 { (title) }
        p class="muted" { (p.t(
            "소규모 금융회사와 핀테크가 취약점 점검 지원과 위협 동향을 문의하고, 지원센터가 접수·답변합니다.",
            "Small firms and fintechs ask for vulnerability-assessment help and about threat trends; the support center takes the cases up and answers.",
        )) }
        (errors_block(lang, failed.as_deref(), errors))
        @if list.is_empty() {
            p class="muted" { (p.t("상담이 없습니다.", "There are no cases.")) }
        } @else {
            div class="table-wrap" { table {
                thead { tr {
                    th scope="col" { (p.t("제목", "Subject")) }
                    @if !p.actor.role.is_institution_role() { th scope="col" { (p.t("기관", "Institution")) } }
                    th scope="col" { (p.t("유형", "Kind")) }
                    th scope="col" { (p.t("상태", "Status")) }
                    th scope="col" { (p.t("접수", "Opened")) }
                    th scope="col" { (p.t("최근 변경", "Last change")) }
                } }
                tbody { @for c in &list { tr {
                    td { a href={ "/support/" (c.id) } { (c.subject) } }
                    @if !p.actor.role.is_institution_role() { td { (c.institution_name) } }
                    td { (kind_label(lang, &c.kind)) }
                    td { (status_badge(lang, &c.status)) }
                    td { (kst_minute(&c.opened_at)) }
                    td { (kst_minute(&c.updated_at)) }
                } } }
            } }
        }
        @if p.may(Action::OpenSupportCase) {
            h2 { (p.t("상담 신청", "Open a case")) }
            form method="post" action="/support" class="stack" {
                (p.csrf_field())
                div class="field" {
                    label for="kind" { (label(lang, "kind")) }
                    select id="kind" name="kind" {
                        @for k in CASE_KINDS { option value=(k) { (kind_label(lang, k)) } }
                    }
                }
                div class="field" { label for="subject" { (label(lang, "subject")) } input type="text" id="subject" name="subject" required maxlength="200"; }
                div class="field" { label for="description" { (label(lang, "description")) } textarea id="description" name="description" rows="5" required {} }
                button type="submit" class="primary" { (p.t("신청", "Open the case")) }
            }
        }
    };
    p.page(title, body)
}

#[derive(Deserialize, Default)]
struct CaseForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    description: String,
}

async fn open_case(State(st): State<AppState>, f: CsrfForm<CaseForm>) -> Response {
    let p = f.portal;
    match st
        .svc
        .open_support_case(&p.actor, &f.form.kind, &f.form.subject, &f.form.description)
        .await
    {
        Ok(id) => Redirect::to(&format!("/support/{id}?done=1")).into_response(),
        Err(e @ (ServiceError::NotFound | ServiceError::Forbidden(_))) => p.error(e),
        Err(e) => {
            let status = crate::error::status_of(&e);
            let r = render_cases(&st, &p, Some(failure(p.lang, &e)), e.field_errors()).await;
            (status, r).into_response()
        }
    }
}

async fn case(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    render_case(&st, &p, id, &q.done, None, &[]).await
}

async fn render_case(
    st: &AppState,
    p: &Portal,
    id: i64,
    done: &str,
    failed: Option<String>,
    errors: &[FieldError],
) -> Response {
    let c = match st.svc.support_case(&p.actor, id).await {
        Ok(c) => c,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let center = p.may(Action::HandleSupport);
    let firm = p.may(Action::OpenSupportCase);
    let status = c.row.status.as_str();
    // The steps this side may take from here.
    let steps: Vec<CaseStep> = [
        CaseStep::Triage,
        CaseStep::Answer,
        CaseStep::FollowUp,
        CaseStep::Close,
        CaseStep::Comment,
    ]
    .into_iter()
    .filter(|s| match s.apply(status) {
        Some((_, Some(true))) => center,
        Some((_, Some(false))) => firm,
        Some((_, None)) => center || firm,
        None => false,
    })
    .collect();
    let title = c.row.subject.clone();
    let body = html! {
        p { a href="/support" { "← " (p.t("지원센터 상담", "Support cases")) } }
        h1 { (title) " " (status_badge(lang, status)) }
        @if !done.is_empty() { p class="alert ok" role="status" { (p.t("저장했습니다.", "Saved.")) } }
        (errors_block(lang, failed.as_deref(), errors))
        dl class="facts" {
            dt { (p.t("기관", "Institution")) } dd { (c.row.institution_name) }
            dt { (label(lang, "kind")) } dd { (kind_label(lang, &c.row.kind)) }
            dt { (p.t("접수", "Opened")) } dd { (c.row.opened_by) " · " (kst_minute(&c.row.opened_at)) }
        }
        h2 { (p.t("처리 이력", "History")) }
        ol class="timeline" {
            @for e in &c.events {
                li {
                    strong { (if e.side == "center" { p.t("지원센터", "Support center") } else { p.t("기관", "Firm") }) }
                    " · " (e.actor_name) " · " (kst_minute(&e.at)) " · "
                    (status_badge(lang, &e.to_status))
                    @if !e.body.is_empty() { p class="prewrap" { (e.body) } }
                }
            }
        }
        @if !steps.is_empty() {
            h2 { (p.t("처리", "Next step")) }
            form method="post" action={ "/support/" (c.row.id) "/step" } class="stack" {
                (p.csrf_field())
                div class="field" { label for="message" { (label(lang, "message")) } textarea id="message" name="message" rows="4" {} }
                div class="actions" {
                    @for s in &steps {
                        button type="submit" name="step" value=(s.as_str()) class=(if matches!(s, CaseStep::Answer | CaseStep::Triage) { "primary" } else { "" }) { (step_label(lang, s.as_str())) }
                        " "
                    }
                }
            }
        }
    };
    p.page(&title, body)
}

#[derive(Deserialize, Default)]
struct StepForm {
    #[serde(default)]
    step: String,
    #[serde(default)]
    message: String,
}

async fn case_step(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<StepForm>,
) -> Response {
    let p = f.portal;
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    let out = match CaseStep::parse(&f.form.step) {
        Some(step) => {
            st.svc
                .support_step(&p.actor, id, step, &f.form.message)
                .await
        }
        None => haechi_service::authz::authorize(&p.actor, Action::ReadSupport).and(Err(
            ServiceError::rule("illegal_transition", "no such step"),
        )),
    };
    match out {
        Ok(()) => Redirect::to(&format!("/support/{id}?done=1")).into_response(),
        Err(e @ (ServiceError::NotFound | ServiceError::Forbidden(_))) => p.error(e),
        Err(e) => {
            let status = crate::error::status_of(&e);
            let r = render_case(&st, &p, id, "", Some(failure(p.lang, &e)), e.field_errors()).await;
            (status, r).into_response()
        }
    }
}
