//! The feeds page (what is loaded and how old it is) and the emergency patch advisories (list,
//! publish, withdraw).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use haechi_core::FieldError;
use haechi_service::feeds::{AdvisoryInput, FeedFile, FeedKind, MAX_FEED_BYTES};
use haechi_service::{Action, ServiceError};
use haechi_store::FeedImportRow;
use maud::{html, Markup};
use serde::Deserialize;

use super::super::findings::{read_upload, upload_limit, upload_refused, UploadError};
use super::super::{control, error_summary, field_error, CsrfForm, CsrfMultipart, Portal};
use super::{fold_indexed, minute_of, state_label};
use crate::AppState;

fn age_text(p: &Portal, days: Option<i64>) -> Markup {
    match days {
        None => html! { span class="muted" { "—" } },
        Some(d) => {
            let css = if d > 7 { "badge warn" } else { "badge ok" };
            html! { span class=(css) { (super::super::days_ago(p.lang, d)) } }
        }
    }
}

fn signature(p: &Portal, r: &FeedImportRow) -> Markup {
    match &r.signed_by_key {
        Some(k) => {
            html! { span class="badge ok" { "✓ " (p.t("서명 검증됨", "Signature verified")) } " " code class="small" { (k) } }
        }
        None => html! { span class="badge warn" { (p.t("서명 없음", "Unsigned")) } },
    }
}

/// What the feeds page says after an upload: `?imported=ID` (stored) or `?unchanged=ID` (the
/// same file was imported before).
#[derive(Deserialize, Default)]
pub struct StatusQuery {
    #[serde(default)]
    imported: String,
    #[serde(default)]
    unchanged: String,
}

/// The upload form as refused: the kind chosen, the errors by field, and the service's own
/// words (a parser's location) for whoever needs them.
#[derive(Default)]
struct UploadState {
    kind: String,
    errors: Vec<FieldError>,
    detail: Option<String>,
}

const FEED_KINDS: [&str; 3] = ["epss", "kev", "cve"];

pub async fn status(
    p: Portal,
    State(st): State<AppState>,
    Query(q): Query<StatusQuery>,
) -> Response {
    render_status(&p, &st, &q, UploadState::default(), StatusCode::OK).await
}

fn upload_form(p: &Portal, st: &AppState, u: &UploadState) -> Markup {
    let limit = upload_limit(st).min(MAX_FEED_BYTES as u64);
    html! {
        section aria-labelledby="feed-upload-h" {
            h2 id="feed-upload-h" { (p.t("피드 파일 반입", "Import a feed file")) }
            p class="small muted" {
                (p.t("FIRST EPSS CSV(.csv, .csv.gz), CISA KEV JSON, CVE JSON 5 레코드 하나를 올립니다. 금융당국이 서명한 파일이면 분리 서명(.sig.json)을 함께 올리면 검증합니다. 파일 전체를 읽은 뒤에 저장하므로 잘못된 파일은 아무것도 바꾸지 않습니다. 최대 ",
                     "Upload a FIRST EPSS CSV (.csv, .csv.gz), a CISA KEV JSON or one CVE JSON 5 record. With the authorities' detached signature (.sig.json) the file is verified first. The whole file is read before anything is stored, so a bad file changes nothing. At most "))
                (super::super::findings::human_bytes(limit as i64)) "."
            }
            (error_summary(p.lang, &u.errors))
            @if let Some(d) = &u.detail {
                details class="small" {
                    summary { (p.t("검사 결과 원문", "What the check reported")) }
                    code { (d) }
                }
            }
            form method="post" action="/feeds" enctype="multipart/form-data" class="stack" data-progress {
                (p.csrf_field())
                (control(p.t("피드 종류", "Feed kind"), "kind", &u.errors, html! {
                    select id="kind" name="kind" required {
                        @for k in FEED_KINDS {
                            option value=(k) selected[u.kind == k] { (state_label(p.lang, k)) }
                        }
                    }
                }))
                (control(p.t("피드 파일", "Feed file"), "feed_file", &u.errors, html! {
                    input type="file" id="feed_file" name="feed_file" required
                        accept=".csv,.gz,.json,text/csv,application/json,application/gzip";
                }))
                (control(p.t("분리 서명 파일 (선택)", "Detached signature file (optional)"), "signature_file", &u.errors, html! {
                    input type="file" id="signature_file" name="signature_file" accept=".json,application/json";
                }))
                div class="field" {
                    label for="feed-progress" { (p.t("전송 진행률", "Upload progress")) }
                    progress id="feed-progress" max="100" value="0" {}
                    span data-progress-label aria-live="polite" class="small" { "0%" }
                }
                div class="actions" {
                    button type="submit" class="primary" { (p.t("올리고 반입", "Upload and import")) }
                }
            }
        }
    }
}

async fn render_status(
    p: &Portal,
    st: &AppState,
    q: &StatusQuery,
    upload: UploadState,
    code: StatusCode,
) -> Response {
    let s = match st.svc.feed_status(&p.actor).await {
        Ok(s) => s,
        Err(e) => return p.error(e),
    };
    let imported = q.imported.trim().parse::<i64>().ok();
    let unchanged = q.unchanged.trim().parse::<i64>().ok();
    let title = p.t("위협 피드", "Threat feeds");
    let feeds: [(&str, &Option<FeedImportRow>, i64, Option<i64>); 3] = [
        ("epss", &s.epss, s.epss_rows, s.epss_age_days),
        ("kev", &s.kev, s.kev_rows, s.kev_age_days),
        ("cve", &s.cve, s.cve_records, s.cve_age_days),
    ];
    let body = html! {
        h1 { (title) }
        p class="muted" {
            (p.t("망분리 환경으로 반입한 EPSS·KEV·CVE 파일입니다. 날짜는 각 출처가 밝힌 기준일이며, 우선순위는 새 피드를 불러올 때마다 다시 계산됩니다.",
                 "EPSS, KEV and CVE files carried into the separated network. Dates are each source's own; priorities are recomputed whenever a feed is loaded."))
        }
        @if let Some(id) = imported {
            @if let Some(r) = s.recent_imports.iter().find(|r| r.id == id) {
                p class="alert ok" role="status" {
                    (p.t("반입했습니다: ", "Imported: ")) (state_label(p.lang, &r.kind)) " #" (r.id) " · "
                    (r.row_count) (p.t("행 · 기준일 ", " rows · source date ")) (r.source_date)
                    @if r.signed_by_key.is_some() { " · " (p.t("서명 검증됨", "signature verified")) }
                    ". " (p.t("우선순위를 다시 계산했습니다.", "Priorities were recomputed."))
                }
            }
        }
        @if let Some(id) = unchanged {
            p class="alert ok" role="status" {
                (p.t("같은 파일을 이미 반입했습니다(반입 #", "The same file was imported before (import #")) (id)
                (p.t("). 바뀐 것은 없습니다.", "). Nothing changed."))
            }
        }
        div class="table-wrap" {
            table {
                thead { tr {
                    th scope="col" { (p.t("피드", "Feed")) }
                    th scope="col" { (p.t("기준일", "Source date")) }
                    th scope="col" { (p.t("경과", "Age")) }
                    th scope="col" { (p.t("모델·카탈로그 버전", "Model / catalog version")) }
                    th scope="col" class="num" { (p.t("행 수", "Rows")) }
                    th scope="col" { (p.t("반입 시각·담당자", "Imported at / by")) }
                    th scope="col" { (p.t("서명", "Signature")) }
                } }
                tbody {
                    @for (kind, row, rows, age) in &feeds {
                        tr {
                            th scope="row" { (state_label(p.lang, kind)) }
                            @match row {
                                Some(r) => {
                                    td { (r.source_date) }
                                    td { (age_text(p, *age)) }
                                    td { (r.model_version.as_deref().unwrap_or("—")) }
                                    td class="num" { (rows) }
                                    td { (minute_of(&r.imported_at)) br; span class="small" { (r.imported_by) } }
                                    td { (signature(p, r)) }
                                }
                                None => {
                                    td colspan="6" class="muted" { (p.t("아직 불러오지 않았습니다.", "Not loaded yet.")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        p {
            (p.t("게시 중인 긴급 패치 권고: ", "Emergency advisories in force: "))
            a href="/advisories" { (s.published_advisories) }
        }
        @if p.may(Action::ManageFeeds) {
            (upload_form(p, st, &upload))
        }
        h2 { (p.t("최근 반입 이력", "Recent imports")) }
        @if s.recent_imports.is_empty() {
            p class="muted" { (p.t("반입 이력이 없습니다.", "No imports yet.")) }
        } @else {
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" { "#" }
                        th scope="col" { (p.t("피드", "Feed")) }
                        th scope="col" { (p.t("파일", "File")) }
                        th scope="col" { (p.t("기준일", "Source date")) }
                        th scope="col" { (p.t("버전", "Version")) }
                        th scope="col" class="num" { (p.t("행 수", "Rows")) }
                        th scope="col" { (p.t("반입 시각·담당자", "Imported at / by")) }
                        th scope="col" { (p.t("서명", "Signature")) }
                    } }
                    tbody {
                        @for r in &s.recent_imports {
                            tr {
                                td class="num" { (r.id) }
                                td { (state_label(p.lang, &r.kind)) }
                                td { (r.file_name.as_deref().unwrap_or("—")) }
                                td { (r.source_date) }
                                td { (r.model_version.as_deref().unwrap_or("—")) }
                                td class="num" { (r.row_count) }
                                td { (minute_of(&r.imported_at)) " · " (r.imported_by) }
                                td { (signature(p, r)) }
                            }
                        }
                    }
                }
            }
        }
    };
    p.page_with(code, title, body)
}

/// A feed file (with its optional detached signature) uploaded from the feeds page: imported
/// through the same use case as `haechi feeds import`, which authorises, verifies the signature,
/// parses the whole file and stores it in one transaction — or refuses it and changes nothing.
pub async fn upload(State(st): State<AppState>, m: CsrfMultipart) -> Response {
    let p = m.portal;
    // Refused before the file is read (the use case checks again).
    if let Err(e) = haechi_service::authz::authorize(&p.actor, Action::ManageFeeds) {
        return p.error(e);
    }
    let limit = upload_limit(&st).min(MAX_FEED_BYTES as u64);
    let q = StatusQuery::default();
    let upload = match read_upload(m.multipart, "feed_file", limit).await {
        Ok(u) => u,
        // Too large: said next to the file, with the ways that take larger files.
        Err(UploadError::TooLarge { limit }) => {
            let state = UploadState {
                errors: vec![FieldError::new(
                    "feed_file",
                    format!(
                        "{} {}. {}",
                        p.t("파일이 업로드 한도를 넘습니다:", "The file is larger than the upload limit of"),
                        super::super::findings::human_bytes(limit as i64),
                        p.t(
                            "아무것도 반입하지 않았습니다. 더 큰 파일은 CLI(haechi feeds import)나 API(/api/v1/feeds/{kind})로 반입하십시오.",
                            "Nothing was imported. Import larger files with the CLI (haechi feeds import) or the API (/api/v1/feeds/{kind}).",
                        )
                    ),
                )],
                ..UploadState::default()
            };
            return render_status(&p, &st, &q, state, StatusCode::PAYLOAD_TOO_LARGE).await;
        }
        Err(e) => return upload_refused(&p, e),
    };
    let mut state = UploadState {
        kind: upload.text("kind").to_string(),
        ..UploadState::default()
    };
    let kind = FeedKind::parse(&state.kind);
    if kind.is_none() {
        state.errors.push(FieldError::new(
            "kind",
            p.t(
                "피드 종류를 목록에서 고르십시오.",
                "Choose the feed kind from the list.",
            ),
        ));
    }
    let file = upload.file.as_ref().filter(|f| f.size > 0);
    if file.is_none() {
        state.errors.push(FieldError::new(
            "feed_file",
            p.t(
                "피드 파일을 선택하십시오(빈 파일은 반입할 수 없습니다).",
                "Choose a feed file (an empty file cannot be imported).",
            ),
        ));
    }
    let (Some(kind), Some(file)) = (kind, file) else {
        return render_status(&p, &st, &q, state, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let bytes = match file.read().await {
        Ok(b) => b,
        Err(e) => {
            return p.error(ServiceError::rule("bad_upload", e.to_string()));
        }
    };
    let name = file.file_name.clone().unwrap_or_else(|| "upload".into());
    let signature = upload.text("signature_file");
    let signature = (!signature.is_empty()).then(|| signature.as_bytes().to_vec());
    let files = vec![FeedFile { name, bytes }];
    match st
        .svc
        .import_feed(&p.actor, kind, files, signature.as_deref())
        .await
    {
        Ok(r) => match (r.import_id, r.previous_import_id) {
            (Some(id), _) => Redirect::to(&format!("/feeds?imported={id}")).into_response(),
            (None, Some(prev)) => Redirect::to(&format!("/feeds?unchanged={prev}")).into_response(),
            (None, None) => Redirect::to("/feeds").into_response(),
        },
        Err(e) => {
            let kind_name = state_label(p.lang, kind.as_str()).to_string();
            let (field, message) = match &e {
                ServiceError::Rule { code: "feed_signature_invalid", .. } => (
                    "signature_file",
                    p.t(
                        "서명이 공개된 금융당국 키로 검증되지 않거나 피드 서명 파일이 아닙니다. 아무것도 반입하지 않았습니다.",
                        "The signature does not verify against a published regulator key, or is not a feed signature file. Nothing was imported.",
                    )
                    .to_string(),
                ),
                ServiceError::Rule { code: "feed_older", .. } => (
                    "feed_file",
                    p.t(
                        "이미 반입한 파일보다 기준일이 오래된 파일입니다. 아무것도 반입하지 않았습니다.",
                        "The file is older than the one already loaded. Nothing was imported.",
                    )
                    .to_string(),
                ),
                ServiceError::Rule { code: "feed_invalid", .. } => (
                    "feed_file",
                    format!(
                        "{kind_name} {}",
                        p.t(
                            "파일로 읽을 수 없습니다. 피드 종류와 파일이 맞는지 확인하십시오. 아무것도 반입하지 않았습니다.",
                            "could not be read from this file. Check that the feed kind matches the file. Nothing was imported.",
                        )
                    ),
                ),
                _ if !e.field_errors().is_empty() => (
                    "feed_file",
                    p.t(
                        "피드 파일을 선택하십시오. 아무것도 반입하지 않았습니다.",
                        "Choose a feed file. Nothing was imported.",
                    )
                    .to_string(),
                ),
                _ => return p.error(e),
            };
            state.detail = Some(e.to_string());
            state.errors.push(FieldError::new(field, message));
            render_status(&p, &st, &q, state, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

// ================================================================================ advisories

/// The publish form as typed.
#[derive(Deserialize, Default, Clone)]
pub struct AdvisoryForm {
    #[serde(default)]
    title_ko: String,
    #[serde(default)]
    title_en: String,
    #[serde(default)]
    published_on: String,
    /// CVE ids separated by commas, spaces or new lines.
    #[serde(default)]
    cves: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct WithdrawForm {
    #[serde(default)]
    reason: String,
}

/// What a re-rendered advisories page shows of a refused post.
#[derive(Default)]
struct Refused {
    publish: Option<(AdvisoryForm, Vec<FieldError>)>,
    withdraw: Option<(i64, String, String)>,
}

pub async fn advisories(p: Portal, State(st): State<AppState>) -> Response {
    render(&p, &st, Refused::default(), StatusCode::OK).await
}

async fn render(p: &Portal, st: &AppState, refused: Refused, status: StatusCode) -> Response {
    let list = match st.svc.advisories(&p.actor).await {
        Ok(l) => l,
        Err(e) => return p.error(e),
    };
    let title = p.t("긴급 패치 권고", "Emergency patch advisories");
    let publisher = p.may(Action::PublishAdvisory);
    let (form, errors) = refused.publish.unwrap_or_else(|| {
        (
            AdvisoryForm {
                published_on: st.svc.today().to_string(),
                ..AdvisoryForm::default()
            },
            Vec::new(),
        )
    });
    let body = html! {
        h1 { (title) }
        p class="muted" {
            (p.t("금융위원회·금융감독원·금융보안원이 전파한 취약점입니다. 해당 CVE의 취약점은 최우선(P1)이며 긴급 패치 면책 범위에 듭니다.",
                 "Vulnerabilities disseminated by the FSC, FSS or FSI. Findings on these CVEs are top priority (P1) and within the scope of patch-disruption immunity."))
        }
        @if let Some((_, _, msg)) = &refused.withdraw {
            div class="alert error" role="alert" { p { (msg) } }
        }
        @if list.is_empty() {
            p class="muted" { (p.t("게시된 권고가 없습니다.", "No advisories yet.")) }
        } @else {
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" { "#" }
                        th scope="col" { (p.t("제목", "Title")) }
                        th scope="col" { "CVE" }
                        th scope="col" { (p.t("게시일", "Published on")) }
                        th scope="col" { (p.t("상태", "State")) }
                        @if publisher { th scope="col" { (p.t("철회", "Withdraw")) } }
                    } }
                    tbody {
                        @for a in &list {
                            tr {
                                td class="num" { (a.id) }
                                td { (p.t(&a.title_ko, &a.title_en)) }
                                td { @for c in &a.cves { (c) br; } }
                                td { (a.published_on) }
                                td {
                                    span class=(if a.state == "published" { "badge bad" } else { "badge" }) { (state_label(p.lang, &a.state)) }
                                    @if let Some(r) = &a.withdraw_reason {
                                        br; span class="small muted" { (r) }
                                    }
                                }
                                @if publisher {
                                    td {
                                        @if a.state == "published" {
                                            @let fid = format!("reason-{}", a.id);
                                            @let err = refused.withdraw.as_ref().filter(|(id, ..)| *id == a.id);
                                            form method="post" action={ "/advisories/" (a.id) "/withdraw" } class="row" {
                                                (p.csrf_field())
                                                div class={ "field" @if err.is_some() { " invalid" } } {
                                                    label for=(fid) { (p.t("철회 사유", "Reason")) }
                                                    input type="text" id=(fid) name="reason" value=(err.map(|e| e.1.as_str()).unwrap_or(""));
                                                    @if let Some((_, _, m)) = err {
                                                        p class="field-error" role="alert" { (m) }
                                                    }
                                                }
                                                button type="submit" class="danger" { (p.t("철회", "Withdraw")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if publisher {
            section {
                h2 { (p.t("새 긴급 패치 권고 게시", "Publish an emergency advisory")) }
                (error_summary(p.lang, &errors))
                form method="post" action="/advisories" class="stack" novalidate {
                    (p.csrf_field())
                    (control(p.t("제목 (한국어)", "Title (Korean)"), "title_ko", &errors, html! {
                        input type="text" id="title_ko" name="title_ko" value=(form.title_ko) required lang="ko";
                    }))
                    (control(p.t("제목 (영어)", "Title (English)"), "title_en", &errors, html! {
                        input type="text" id="title_en" name="title_en" value=(form.title_en) required lang="en";
                    }))
                    (control(p.t("CVE 목록 (쉼표·공백·줄바꿈으로 구분)", "CVEs (separated by commas, spaces or lines)"), "cves", &errors, html! {
                        textarea id="cves" name="cves" required { (form.cves) }
                    }))
                    (control(p.t("게시일", "Published on"), "published_on", &errors, html! {
                        input type="date" id="published_on" name="published_on" value=(form.published_on) required;
                    }))
                    div class="actions" {
                        button type="submit" class="primary" { (p.t("게시", "Publish")) }
                    }
                }
            }
        }
        p { a href="/feeds" { (p.t("위협 피드 현황", "Threat feeds")) } }
    };
    p.page_with(status, title, body)
}

pub async fn publish(State(st): State<AppState>, f: CsrfForm<AdvisoryForm>) -> Response {
    let p = f.portal;
    let form = f.form;
    if let Err(e) = haechi_service::authz::authorize(&p.actor, Action::PublishAdvisory) {
        return p.error(e);
    }
    let mut errors = Vec::new();
    let published_on = match NaiveDate::parse_from_str(form.published_on.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.push(FieldError::new(
                "published_on",
                p.t(
                    "게시일을 YYYY-MM-DD 형식으로 입력하십시오.",
                    "Enter the publication date as YYYY-MM-DD.",
                ),
            ));
            None
        }
    };
    let cves: Vec<String> = form
        .cves
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect();
    let input = AdvisoryInput {
        title_ko: form.title_ko.clone(),
        title_en: form.title_en.clone(),
        published_on: published_on.unwrap_or_default(),
        cves,
    };
    if published_on.is_none() {
        // The service is not asked without a date (it would publish); the other fields' plain
        // checks are repeated here so that every error shows at once.
        if input.title_ko.trim().is_empty() {
            errors.push(FieldError::new(
                "title_ko",
                p.t("비워 둘 수 없습니다.", "must not be empty"),
            ));
        }
        if input.title_en.trim().is_empty() {
            errors.push(FieldError::new(
                "title_en",
                p.t("비워 둘 수 없습니다.", "must not be empty"),
            ));
        }
        if input.cves.is_empty() {
            errors.push(FieldError::new(
                "cves",
                p.t("CVE를 하나 이상 입력하십시오.", "list at least one CVE"),
            ));
        }
        let refused = Refused {
            publish: Some((form, errors)),
            withdraw: None,
        };
        return render(&p, &st, refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match st.svc.publish_advisory(&p.actor, &input).await {
        Ok(_) => Redirect::to("/advisories").into_response(),
        Err(e) if !e.field_errors().is_empty() => {
            let refused = Refused {
                publish: Some((form, fold_indexed(e.field_errors()))),
                withdraw: None,
            };
            render(&p, &st, refused, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => p.error(e),
    }
}

pub async fn withdraw(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<WithdrawForm>,
) -> Response {
    let p = f.portal;
    let Ok(id) = id.trim().parse::<i64>() else {
        return p.error(ServiceError::NotFound);
    };
    match st.svc.withdraw_advisory(&p.actor, id, &f.form.reason).await {
        Ok(_) => Redirect::to("/advisories").into_response(),
        Err(e) if !e.field_errors().is_empty() => {
            let msg = field_error(e.field_errors(), "reason")
                .map(|m| format!("{}: {m}", p.t("철회 사유", "Reason")))
                .unwrap_or_else(|| e.to_string());
            let refused = Refused {
                publish: None,
                withdraw: Some((id, f.form.reason.clone(), msg)),
            };
            render(&p, &st, refused, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => p.error(e),
    }
}
