//! SARIF uploads: the upload page with its progress bar, the upload itself (queued and run in
//! the background through the same service entries as `POST /api/v1/findings/imports`), the
//! import's self-refreshing status page, and the import history with provenance.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use haechi_core::FieldError;
use haechi_service::findings::{FindingsUpload, ResourceMapping};
use haechi_service::{Action, ServiceError};
use haechi_store::{FindingImportRow, ResourceRow};
use maud::{html, Markup};
use serde::Deserialize;

use super::super::{control, error_summary, pager, CsrfMultipart, Portal, PER_PAGE};
use super::{
    human_bytes, minute_of, read_upload, resource_name, state_badge, state_label, upload_limit,
    upload_refused,
};
use crate::AppState;

/// Rows of path-prefix → resource mapping the upload form offers.
const MAP_ROWS: usize = 3;

#[derive(Deserialize, Default)]
pub struct PageQuery {
    #[serde(default)]
    page: String,
}

/// The report counts of a succeeded import: new, updated, unchanged, closed, rejected.
fn counts(i: &FindingImportRow) -> Option<[u64; 5]> {
    let r = &i.report;
    if r.is_null() {
        return None;
    }
    let n = |k: &str| r[k].as_u64().unwrap_or(0);
    Some([
        n("findings_new"),
        n("findings_updated"),
        n("findings_unchanged"),
        n("findings_closed"),
        n("rejected"),
    ])
}

/// A failed import's reason in the page's language: an import whose server stopped before it
/// finished (failed by the next start, issue #18) is explained in both languages; other failures
/// carry the reader's message.
fn failure_text(p: &Portal, i: &FindingImportRow) -> Option<String> {
    if i.error_code.as_deref() == Some(haechi_service::import_leases::ABANDONED) {
        return Some(p.t(
            "이 파일을 처리하던 서버가 가져오기를 마치기 전에 멈췄습니다. 아무 취약점도 저장하지 않았습니다. 파일을 다시 올리십시오.",
            "The server running this import stopped before it finished; no finding was stored. Upload the file again.",
        ).to_string());
    }
    i.error_message.clone()
}

fn short_hash(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

/// "name version" of a tool or model.
fn name_version(name: Option<&str>, version: Option<&str>) -> String {
    match (name, version) {
        (Some(n), Some(v)) => format!("{n} {v}"),
        (Some(n), None) => n.to_string(),
        _ => String::new(),
    }
}

pub async fn history(
    p: Portal,
    State(st): State<AppState>,
    Query(q): Query<PageQuery>,
) -> Response {
    let page = q
        .page
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let offset = i64::from(page - 1) * i64::from(PER_PAGE);
    let rows = match st
        .svc
        .finding_imports_page(&p.actor, None, i64::from(PER_PAGE) + 1, offset)
        .await
    {
        Ok(r) => r,
        Err(e) => return p.error(e),
    };
    let has_next = rows.len() > PER_PAGE as usize;
    let rows = &rows[..rows.len().min(PER_PAGE as usize)];
    let resources = st
        .svc
        .list_resources(&p.actor, None)
        .await
        .unwrap_or_default();
    let title = p.t("취약점 가져오기 이력", "Findings import history");
    let self_service = crate::portal::support::self_service_note(&st, &p).await;
    let body = html! {
        h1 { (title) }
        (self_service)
        p class="muted" {
            (p.t("각 가져오기의 출처(도구, AI 모델, 실행 시각, 파일 SHA-256·크기, 업로드한 사람)와 결과입니다.",
                 "Each import's provenance (tool, AI model, run time, file SHA-256 and size, uploader) and outcome."))
        }
        @if p.may(Action::ManageFindings) {
            div class="actions" {
                a class="button primary" href="/imports/new" { (p.t("SARIF 업로드", "Upload SARIF")) }
            }
        }
        @if rows.is_empty() {
            p { (p.t("가져오기 이력이 없습니다.", "No imports yet.")) }
        } @else {
            div class="table-wrap" {
                table {
                    caption class="visually-hidden" { (title) }
                    thead { tr {
                        th scope="col" class="num" { "#" }
                        th scope="col" { (p.t("상태", "State")) }
                        th scope="col" { (p.t("업로드", "Uploaded")) }
                        th scope="col" { (p.t("파일", "File")) }
                        th scope="col" { (p.t("도구", "Tool")) }
                        th scope="col" { (p.t("AI 모델", "AI model")) }
                        th scope="col" { (p.t("실행 시각", "Run time")) }
                        th scope="col" { (p.t("전산자원", "Resource")) }
                        th scope="col" class="num" { (p.t("신규", "New")) }
                        th scope="col" class="num" { (p.t("갱신", "Updated")) }
                        th scope="col" class="num" { (p.t("동일", "Unchanged")) }
                        th scope="col" class="num" { (p.t("종료", "Closed")) }
                        th scope="col" class="num" { (p.t("제외", "Rejected")) }
                        th scope="col" { (p.t("오류", "Error")) }
                    } }
                    tbody {
                        @for i in rows {
                            tr {
                                td class="num" { a href={ "/imports/" (i.id) } { (i.id) } }
                                td { span class=(state_badge(&i.state)) { (state_label(p.lang, &i.state)) } }
                                td { (minute_of(&i.uploaded_at)) br; span class="small muted" { (i.uploaded_by) } }
                                td {
                                    (i.file_name.as_deref().unwrap_or("—"))
                                    @if let Some(size) = i.file_size { br; span class="small" { (human_bytes(size)) } }
                                    @if let Some(h) = &i.file_sha256 {
                                        br; span class="small muted" { "SHA-256 " abbr title=(h) { (short_hash(h)) "…" } }
                                    }
                                }
                                td { (name_version(i.tool_name.as_deref(), i.tool_version.as_deref())) }
                                td { (name_version(i.ai_model.as_deref(), i.ai_model_version.as_deref())) }
                                td { (i.run_started_at.as_deref().map(minute_of).unwrap_or_default()) }
                                td {
                                    @match i.resource_id {
                                        Some(r) => a href={ "/resources/" (r) } { (resource_name(&resources, r)) },
                                        None => span class="muted" { (p.t("기관 전체", "Institution")) },
                                    }
                                }
                                @match counts(i) {
                                    Some(c) => { @for n in c { td class="num" { (n) } } },
                                    None => { @for _ in 0..5 { td class="num" { "—" } } },
                                }
                                td {
                                    @if let Some(m) = failure_text(&p, i) {
                                        (m)
                                        @if let Some(l) = &i.error_location { br; span class="small" { (p.t("위치: ", "At: ")) code { (l) } } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            (pager(p.lang, "/imports", page, has_next))
        }
    };
    p.page(title, body)
}

/// What the upload form shows again after a refused post.
#[derive(Default)]
struct FormState {
    errors: Vec<FieldError>,
    resource_id: String,
    close_missing: bool,
    ai_model: String,
    ai_model_version: String,
    map: Vec<(String, String)>,
}

pub async fn upload_form(p: Portal, State(st): State<AppState>) -> Response {
    form_page(&p, &st, StatusCode::OK, FormState::default()).await
}

async fn form_page(p: &Portal, st: &AppState, status: StatusCode, f: FormState) -> Response {
    let resources = match st.svc.list_resources(&p.actor, None).await {
        Ok(r) => r,
        Err(e) => return p.error(e),
    };
    let title = p.t("SARIF 결과 업로드", "Upload SARIF results");
    let body = html! {
        p class="small" { a href="/imports" { "← " (p.t("가져오기 이력", "Import history")) } }
        h1 { (title) }
        @if !p.may(Action::ManageFindings) {
            p class="alert warn" role="status" {
                (p.t("이 역할은 취약점을 가져올 수 없습니다(열람 전용).", "Your role cannot import findings (read only)."))
            }
        } @else {
            (upload_form_markup(p, &resources, &f, upload_limit(st)))
        }
    };
    p.page_with(status, title, body)
}

fn upload_form_markup(p: &Portal, resources: &[ResourceRow], f: &FormState, limit: u64) -> Markup {
    let errs = &f.errors;
    html! {
        p {
            (p.t("AI 기반·기존 점검 도구의 SARIF 2.1.0 결과(.sarif, .json, gzip .gz)를 가져옵니다. 가져오기는 전부 저장되거나 전혀 저장되지 않으며, 같은 결과를 다시 가져오면 아무것도 바뀌지 않습니다. 최대 ",
                 "Imports SARIF 2.1.0 results of AI-based or conventional testing tools (.sarif, .json, gzip .gz). An import is stored whole or not at all; importing the same results again changes nothing. At most "))
            (human_bytes(limit as i64)) "."
        }
        (error_summary(p.lang, errs))
        @if !errs.is_empty() {
            p class="small" { (p.t("보안상 파일은 다시 선택해야 합니다.", "For security, choose the file again.")) }
        }
        form method="post" action="/imports" enctype="multipart/form-data" class="stack" data-progress {
            (p.csrf_field())
            (control(p.t("SARIF 파일", "SARIF file"), "sarif_file", errs, html! {
                input type="file" id="sarif_file" name="sarif_file" required
                    accept=".sarif,.json,.gz,application/json,application/gzip,application/sarif+json";
            }))
            (control(p.t("대상 전산자원", "Target resource"), "resource_id", errs, html! {
                select id="resource_id" name="resource_id" {
                    option value="" { (p.t("(지정 안 함 — 기관 전체)", "(none — the institution)")) }
                    @for r in resources {
                        option value=(r.id) selected[f.resource_id == r.id.to_string()] { (r.name) " (" (r.class) ")" }
                    }
                }
            }))
            div class="field" {
                label for="close_missing" {
                    input type="checkbox" id="close_missing" name="close_missing" value="1" checked[f.close_missing];
                    " " (p.t("이 파일에 없는 같은 자원·도구의 취약점을 조치 완료로 종료", "Close (as fixed) findings of the same resource and tool that this file no longer reports"))
                }
            }
            fieldset {
                legend { (p.t("AI 모델 (SARIF에 없을 때)", "AI model (when the SARIF does not name it)")) }
                div class="filters" {
                    (control(p.t("모델 이름", "Model name"), "ai_model", errs, html! {
                        input type="text" id="ai_model" name="ai_model" value=(f.ai_model) maxlength="200";
                    }))
                    (control(p.t("모델 버전", "Model version"), "ai_model_version", errs, html! {
                        input type="text" id="ai_model_version" name="ai_model_version" value=(f.ai_model_version) maxlength="100";
                    }))
                }
            }
            fieldset {
                legend { (p.t("경로·호스트별 전산자원 (선택)", "Resources by path prefix or host (optional)")) }
                p class="small muted" {
                    (p.t("결과의 위치가 이 접두사(예: services/payments/, file:///srv/app/) 또는 호스트로 시작하면 그 전산자원에 연결합니다. 가장 긴 접두사가 우선합니다.",
                         "A result whose location starts with the prefix (e.g. services/payments/, file:///srv/app/) or names the host is tied to that resource; the longest prefix wins."))
                }
                @for i in 0..MAP_ROWS {
                    @let (prefix, res) = f.map.get(i).cloned().unwrap_or_default();
                    div class="filters" {
                        (control(&format!("{} {}", p.t("접두사·호스트", "Prefix or host"), i + 1), &format!("map_prefix_{i}"), errs, html! {
                            input type="text" id={ "map_prefix_" (i) } name={ "map_prefix_" (i) } value=(prefix) maxlength="500";
                        }))
                        (control(&format!("{} {}", p.t("전산자원", "Resource"), i + 1), &format!("map_resource_{i}"), errs, html! {
                            select id={ "map_resource_" (i) } name={ "map_resource_" (i) } {
                                option value="" { "—" }
                                @for r in resources {
                                    option value=(r.id) selected[res == r.id.to_string()] { (r.name) }
                                }
                            }
                        }))
                    }
                }
            }
            div class="field" {
                label for="upload-progress" { (p.t("전송 진행률", "Upload progress")) }
                progress id="upload-progress" max="100" value="0" {}
                span data-progress-label aria-live="polite" class="small" { "0%" }
            }
            div class="actions" {
                button type="submit" class="primary" { (p.t("업로드하고 가져오기", "Upload and import")) }
            }
        }
    }
}

pub async fn upload(State(st): State<AppState>, m: CsrfMultipart) -> Response {
    let p = m.portal;
    if let Err(e) = st
        .svc
        .authorize_findings_upload(&p.actor, p.actor.institution_id)
    {
        return p.error(e);
    }
    let upload = match read_upload(m.multipart, "sarif_file", upload_limit(&st)).await {
        Ok(u) => u,
        Err(e) => return upload_refused(&p, e),
    };
    let mut f = FormState {
        resource_id: upload.text("resource_id").to_string(),
        close_missing: !upload.text("close_missing").is_empty(),
        ai_model: upload.text("ai_model").to_string(),
        ai_model_version: upload.text("ai_model_version").to_string(),
        map: (0..MAP_ROWS)
            .map(|i| {
                (
                    upload.text(&format!("map_prefix_{i}")).to_string(),
                    upload.text(&format!("map_resource_{i}")).to_string(),
                )
            })
            .collect(),
        ..Default::default()
    };
    let mut errors = Vec::new();
    if upload.file.as_ref().is_none_or(|f| f.size == 0) {
        errors.push(FieldError::new(
            "sarif_file",
            p.t(
                "SARIF 파일을 선택하십시오(빈 파일은 가져올 수 없습니다).",
                "Choose a SARIF file (an empty file cannot be imported).",
            ),
        ));
    }
    let resource_id = match f.resource_id.as_str() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(id) => Some(id),
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
    // Mapping rows as entered; `rows[k]` is the form row of the service's `resource_map[k]`.
    let mut mapping = Vec::new();
    let mut rows = Vec::new();
    for (i, (prefix, res)) in f.map.iter().enumerate() {
        match (prefix.is_empty(), res.is_empty()) {
            (true, true) => {}
            (false, false) => {
                mapping.push(ResourceMapping {
                    prefix: prefix.clone(),
                    resource: res.clone(),
                });
                rows.push(i);
            }
            (true, false) => errors.push(FieldError::new(
                format!("map_prefix_{i}"),
                p.t(
                    "접두사나 호스트를 입력하십시오.",
                    "Enter a path prefix or host.",
                ),
            )),
            (false, true) => errors.push(FieldError::new(
                format!("map_resource_{i}"),
                p.t("전산자원을 고르십시오.", "Choose a resource."),
            )),
        }
    }
    let opt = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
    let (true, Some(file)) = (errors.is_empty(), upload.file) else {
        f.errors = errors;
        return form_page(&p, &st, StatusCode::UNPROCESSABLE_ENTITY, f).await;
    };
    let spec = FindingsUpload {
        institution_id: p.actor.institution_id.unwrap_or(0),
        resource_id,
        close_missing: f.close_missing,
        file_name: file.file_name.clone(),
        ai_model: opt(&f.ai_model),
        ai_model_version: opt(&f.ai_model_version),
        resource_map: mapping,
    };
    let id = match st
        .svc
        .queue_findings_import(&p.actor, &spec, Some(file.size), Some(&file.sha256))
        .await
    {
        Ok(id) => id,
        Err(e) if !e.field_errors().is_empty() => {
            // The service names mapping rows by their place among the filled rows.
            f.errors = e
                .field_errors()
                .iter()
                .map(|fe| FieldError::new(form_field(&fe.field, &rows), fe.message.clone()))
                .collect();
            return form_page(&p, &st, StatusCode::UNPROCESSABLE_ENTITY, f).await;
        }
        Err(e) => return p.error(e),
    };
    let Some(path) = file.keep() else {
        st.svc
            .abandon_findings_import(&p.actor, id, "upload_failed", "the upload was lost")
            .await;
        return p.error(ServiceError::rule("upload_failed", "the upload was lost"));
    };
    let svc = st.svc.clone();
    let actor = p.actor.clone();
    tokio::spawn(async move {
        match std::fs::File::open(&path) {
            Ok(fh) => {
                let input = std::io::BufReader::with_capacity(256 * 1024, fh);
                if let Err(e) = svc.run_findings_import(&actor, id, input).await {
                    tracing::info!(import = id, error = %e, "findings import failed");
                }
            }
            Err(e) => {
                tracing::warn!(import = id, error = %e, "cannot reopen an uploaded findings file");
                // The queued import ends as failed, with nothing stored.
                let _ = svc
                    .run_findings_import(&actor, id, std::io::Cursor::new(Vec::new()))
                    .await;
            }
        }
        let _ = std::fs::remove_file(&path);
    });
    Redirect::to(&format!("/imports/{id}")).into_response()
}

/// The form field of a service field error: `resource_map[k]…` names the k-th filled mapping
/// row; everything else keeps its name.
fn form_field(field: &str, rows: &[usize]) -> String {
    if let Some(rest) = field.strip_prefix("resource_map[") {
        let (k, tail) = rest.split_once(']').unwrap_or((rest, ""));
        let row = k.parse::<usize>().ok().and_then(|k| rows.get(k).copied());
        if let Some(i) = row {
            return if tail == ".prefix" {
                format!("map_prefix_{i}")
            } else {
                format!("map_resource_{i}")
            };
        }
    }
    field.to_string()
}

pub async fn status(p: Portal, State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return p.error(ServiceError::NotFound);
    };
    let i = match st.svc.finding_import(&p.actor, id).await {
        Ok(s) => s.import,
        Err(e) => return p.error(e),
    };
    let resources = st
        .svc
        .list_resources(&p.actor, Some(i.institution_id))
        .await
        .unwrap_or_default();
    let live = matches!(i.state.as_str(), "queued" | "running");
    let title = format!("{} #{}", p.t("취약점 가져오기", "Findings import"), i.id);
    let map: Vec<(String, i64)> = i
        .resource_map
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| {
                    Some((
                        m["prefix"].as_str()?.to_string(),
                        m["resource_id"].as_i64()?,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let tools: Vec<String> = i
        .tools
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| {
                    let name = t["name"].as_str()?;
                    Some(name_version(Some(name), t["version"].as_str()))
                })
                .collect()
        })
        .unwrap_or_default();
    let body = html! {
        p class="small" { a href="/imports" { "← " (p.t("가져오기 이력", "Import history")) } }
        h1 { (title) " " span class=(state_badge(&i.state)) { (state_label(p.lang, &i.state)) } }
        @if live {
            section data-refresh="2" aria-live="polite" {
                h2 { (p.t("진행 상황", "Progress")) }
                p class="muted small" { (p.t("이 페이지는 2초마다 새로 고쳐집니다.", "This page refreshes every 2 seconds.")) }
                @match i.file_size.filter(|s| *s > 0) {
                    Some(size) => {
                        label for="import-progress" { (p.t("읽은 양", "Read")) " " (human_bytes(i.bytes_read)) " / " (human_bytes(size)) }
                        progress id="import-progress" max=(size) value=(i.bytes_read.min(size)) {}
                    },
                    None => {
                        label for="import-progress" { (p.t("읽은 양", "Read")) " " (human_bytes(i.bytes_read)) }
                        progress id="import-progress" {}
                    },
                }
                p { (p.t("처리한 결과: ", "Results processed: ")) strong { (i.results_processed) } }
            }
        }
        @if i.state == "failed" {
            div class="alert error" role="alert" {
                p { strong { (p.t("가져오기에 실패하여 아무 취약점도 저장하지 않았습니다.", "The import failed; no finding was stored.")) } }
                @if let Some(m) = failure_text(&p, &i) { p { (m) } }
                @if i.error_code.as_deref() == Some(haechi_service::import_leases::ABANDONED) {
                    p { a class="button primary" href="/imports/new" { (p.t("파일 다시 올리기", "Upload the file again")) } }
                }
                @if let Some(l) = &i.error_location { p { (p.t("위치: ", "At: ")) code { (l) } } }
                @if let Some(c) = &i.error_code { p class="small" { (p.t("오류 코드: ", "Error code: ")) code { (c) } } }
            }
        }
        @if let Some(c) = counts(&i) {
            p class="alert ok" role="status" { (p.t("가져오기를 마쳤습니다.", "The import has finished.")) }
            ul class="cards" {
                @for (n, (ko, en)) in c.iter().zip([("신규", "New"), ("갱신", "Updated"), ("동일", "Unchanged"), ("종료", "Closed"), ("제외", "Rejected")]) {
                    li class="card" { span class="figure" { (n) } span class="label" { (p.t(ko, en)) } }
                }
            }
            p {
                (p.t("결과 수: ", "Results read: ")) (i.report["results_read"].as_u64().unwrap_or(0))
                " · " (p.t("파일 내 중복: ", "Duplicates in the file: ")) (i.report["duplicates_in_file"].as_u64().unwrap_or(0))
            }
        }
        section {
            h2 { (p.t("출처", "Provenance")) }
            dl class="facts" {
                dt { (p.t("파일", "File")) } dd { (i.file_name.as_deref().unwrap_or("—")) }
                dt { (p.t("크기", "Size")) } dd { (i.file_size.map(|s| format!("{} ({s} bytes)", human_bytes(s))).unwrap_or_else(|| "—".into())) }
                dt { "SHA-256" } dd { code { (i.file_sha256.as_deref().unwrap_or("—")) } }
                dt { (p.t("업로드", "Uploaded")) } dd { (minute_of(&i.uploaded_at)) " · " (i.uploaded_by) }
                dt { (p.t("종료", "Finished")) } dd { (i.finished_at.as_deref().map(minute_of).unwrap_or_else(|| "—".into())) }
                dt { (p.t("도구", "Tool")) }
                dd {
                    @if tools.is_empty() { (name_version(i.tool_name.as_deref(), i.tool_version.as_deref())) }
                    @for (k, t) in tools.iter().enumerate() { @if k > 0 { ", " } (t) }
                }
                dt { (p.t("AI 모델", "AI model")) } dd { (name_version(i.ai_model.as_deref(), i.ai_model_version.as_deref())) }
                dt { (p.t("실행 시각", "Run time")) }
                dd {
                    (i.run_started_at.as_deref().map(minute_of).unwrap_or_else(|| "—".into()))
                    @if let Some(e) = &i.run_ended_at { " – " (minute_of(e)) }
                }
                dt { (p.t("대상 전산자원", "Target resource")) }
                dd {
                    @match i.resource_id {
                        Some(r) => a href={ "/resources/" (r) } { (resource_name(&resources, r)) },
                        None => (p.t("기관 전체", "The institution")),
                    }
                }
                dt { (p.t("없어진 결과 종료", "Close missing")) } dd { (if i.close_missing { p.t("예", "Yes") } else { p.t("아니오", "No") }) }
                dt { (p.t("읽은 바이트", "Bytes read")) } dd { (i.bytes_read) }
                dt { (p.t("처리한 결과", "Results processed")) } dd { (i.results_processed) }
            }
            @if !map.is_empty() {
                h3 { (p.t("경로·호스트별 전산자원", "Resources by path prefix or host")) }
                div class="table-wrap" {
                    table {
                        thead { tr {
                            th scope="col" { (p.t("접두사·호스트", "Prefix or host")) }
                            th scope="col" { (p.t("전산자원", "Resource")) }
                        } }
                        tbody {
                            @for (prefix, r) in &map {
                                tr { td { code { (prefix) } } td { a href={ "/resources/" (r) } { (resource_name(&resources, *r)) } } }
                            }
                        }
                    }
                }
            }
        }
        div class="actions" {
            a href="/findings" { (p.t("취약점 목록", "Findings")) }
            @if p.may(Action::ManageFindings) {
                a href="/imports/new" { (p.t("다른 파일 업로드", "Upload another file")) }
            }
        }
    };
    p.page(&title, body)
}
