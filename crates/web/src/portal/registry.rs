//! The institution registry (C1) and eligibility screening (C2): the searchable, filtered list;
//! the CSV import with its per-row error report (all rows or none); the CSV export; one
//! institution with its latest screening and figure history; the screening results of every
//! institution with each rule's reasons, and the button that runs a new screening.
//!
//! Nothing here decides who may see or change what: every handler calls the service, which
//! authorises (`haechi_service::authz`).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use haechi_core::{FieldError, InstitutionInput, Sector, SizeClass};
use haechi_policy::eligibility::EligibilityDecision;
use haechi_policy::rule::Comparison;
use haechi_service::authz::{self, Action};
use haechi_service::findings::FINDING_STATUSES;
use haechi_service::institutions::{ScreeningResult, CSV_COLUMNS};
use haechi_service::regulator_views::InstitutionOverview;
use haechi_service::ServiceError;
use haechi_store::RegistryFilter;
use maud::{html, Markup};
use serde::Deserialize;

use super::patching::state_label as finding_state_label;
use super::{
    control, error_summary, pager, url_encode, CsrfForm, CsrfMultipart, Lang, PageRoute, Portal,
    PER_PAGE,
};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/institutions", list),
        page_get!("/institutions/import", import_form),
        page_post!("/institutions/import", import_submit),
        page_get!("/institutions/export.csv", export_csv),
        page_get!("/institutions/{id}", detail),
        page_get!("/screening", screening),
        page_post!("/screening/run", run_screening),
    ]
}

// ================================================================================ helpers

/// `1234567` → `1,234,567`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The day (YYYY-MM-DD) in Korea of a stored date or RFC 3339 timestamp.
pub fn day(s: &str) -> String {
    super::kst_day(s)
}

/// A stored RFC 3339 timestamp as `YYYY-MM-DD HH:MM:SS KST`.
pub fn moment(s: &str) -> String {
    super::kst_second(s)
}

/// The institution's name in the page's language.
pub fn inst_name(lang: Lang, i: &InstitutionInput) -> &str {
    lang.t(&i.name_ko, &i.name_en)
}

pub fn sector_label(lang: Lang, s: Sector) -> &'static str {
    lang.t(s.label_ko(), s.label_en())
}

pub fn size_label(lang: Lang, s: SizeClass) -> &'static str {
    lang.t(s.label_ko(), s.label_en())
}

fn yes_no(lang: Lang, b: bool) -> &'static str {
    if b {
        lang.t("예", "Yes")
    } else {
        lang.t("아니요", "No")
    }
}

fn eligible_badge(lang: Lang, eligible: Option<bool>) -> Markup {
    html! {
        @match eligible {
            Some(true) => span class="badge ok" { (lang.t("적격", "Eligible")) },
            Some(false) => span class="badge bad" { (lang.t("부적격", "Not eligible")) },
            None => span class="badge" { (lang.t("미심사", "Not screened")) },
        }
    }
}

fn pass_badge(lang: Lang, passed: bool) -> Markup {
    html! {
        @if passed {
            span class="badge ok" { "✓ " (lang.t("충족", "Met")) }
        } @else {
            span class="badge bad" { "✗ " (lang.t("미충족", "Not met")) }
        }
    }
}

/// A rule's observed value or threshold as a person reads it.
fn json_value(lang: Lang, v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "—".into(),
        serde_json::Value::Bool(b) => yes_no(lang, *b).into(),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => thousands(i),
            None => n.to_string(),
        },
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn comparison_symbol(lang: Lang, c: Comparison) -> &'static str {
    match c {
        Comparison::Ge => "≥",
        Comparison::Gt => ">",
        Comparison::Le => "≤",
        Comparison::Lt => "<",
        Comparison::Eq => "=",
        Comparison::Ne => "≠",
        Comparison::IsTrue => lang.t("예여야 함", "must be yes"),
        Comparison::IsFalse => lang.t("아니요여야 함", "must be no"),
    }
}

fn figure_label(lang: Lang, field: &str) -> &str {
    match field {
        "total_assets_krw" => lang.t("총자산(원)", "Total assets (KRW)"),
        "full_time_employees" => lang.t("상시 종업원 수", "Full-time employees"),
        "dedicated_ciso" => lang.t("전담 CISO", "Dedicated CISO"),
        "ciso_name" => lang.t("CISO 성명", "CISO name"),
        other => other,
    }
}

/// Total assets in the table's unit: 억 원 in Korean, KRW billion in English.
fn assets_short(lang: Lang, krw: i64) -> String {
    match lang {
        Lang::Ko => thousands(krw / 100_000_000),
        Lang::En => thousands(krw / 1_000_000_000),
    }
}

/// `page` from a query string value; anything unreadable is page 1.
fn page_of(s: &str) -> u32 {
    s.trim()
        .parse::<u32>()
        .ok()
        .filter(|p| *p >= 1)
        .unwrap_or(1)
}

fn yes_no_filter(s: &str) -> Option<bool> {
    match s {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// Appends `key=value` to a query string under construction when `value` is not empty.
fn push_param(out: &mut Vec<String>, key: &str, value: &str) {
    if !value.is_empty() {
        out.push(format!("{key}={}", url_encode(value)));
    }
}

fn with_query(path: &str, params: &[String]) -> String {
    if params.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", params.join("&"))
    }
}

fn eligible_select(lang: Lang, current: &str) -> Markup {
    html! {
        select id="eligible" name="eligible" {
            option value="" selected[current.is_empty()] { (lang.t("전체", "All")) }
            option value="yes" selected[current == "yes"] { (lang.t("적격", "Eligible")) }
            option value="no" selected[current == "no"] { (lang.t("부적격", "Not eligible")) }
        }
    }
}

// ================================================================================ registry list

#[derive(Deserialize, Default)]
pub struct RegistryQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sector: String,
    #[serde(default)]
    size: String,
    #[serde(default)]
    eligible: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    lang: String,
}

async fn list(State(st): State<AppState>, p: Portal, Query(q): Query<RegistryQuery>) -> Response {
    let page = page_of(&q.page);
    let sector = Sector::parse(&q.sector);
    let size = SizeClass::parse(&q.size);
    let filter = RegistryFilter {
        search: Some(q.q.trim().to_string()).filter(|s| !s.is_empty()),
        sector: sector.map(|s| s.as_str().to_string()),
        size_class: size.map(|s| s.as_str().to_string()),
        eligible: yes_no_filter(&q.eligible),
        limit: i64::from(PER_PAGE) + 1,
        offset: i64::from(page - 1) * i64::from(PER_PAGE),
    };
    let (mut rows, total) = match st.svc.registry_page(&p.actor, &filter).await {
        Ok(r) => r,
        Err(e) => return p.error(e),
    };
    let has_next = rows.len() > PER_PAGE as usize;
    rows.truncate(PER_PAGE as usize);
    let eligibility: HashMap<i64, bool> = match st.svc.screening_results(&p.actor).await {
        Ok(results) => results
            .into_iter()
            .map(|r| (r.institution_id, r.eligible))
            .collect(),
        Err(e) => return p.error(e),
    };
    let mut params = Vec::new();
    push_param(&mut params, "q", q.q.trim());
    push_param(&mut params, "sector", sector.map_or("", |s| s.as_str()));
    push_param(&mut params, "size", size.map_or("", |s| s.as_str()));
    push_param(
        &mut params,
        "eligible",
        match filter.eligible {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        },
    );
    push_param(&mut params, "lang", &q.lang);
    let base = with_query("/institutions", &params);
    let lang = p.lang;
    let title = p.t("기관 등록부", "Institution registry");
    let body = html! {
        h1 { (title) }
        div class="actions" {
            @if p.may(Action::ManageInstitutions) {
                a class="button primary" href="/institutions/import" { (p.t("CSV 가져오기", "Import CSV")) }
            }
            a class="button" href="/institutions/export.csv" download="institutions.csv" { (p.t("CSV 내보내기", "Export CSV")) }
            a class="button" href="/screening" { (p.t("적격성 심사 결과", "Eligibility results")) }
        }
        form method="get" action="/institutions" class="filters" role="search" aria-label=(p.t("기관 검색", "Search institutions")) {
            @if !q.lang.is_empty() { input type="hidden" name="lang" value=(q.lang); }
            (control(p.t("기관명 또는 코드", "Name or code"), "q", &[], html! {
                input type="search" id="q" name="q" value=(q.q);
            }))
            (control(p.t("업권", "Sector"), "sector", &[], html! {
                select id="sector" name="sector" {
                    option value="" selected[sector.is_none()] { (p.t("전체", "All")) }
                    @for s in Sector::ALL {
                        option value=(s.as_str()) selected[sector == Some(*s)] { (sector_label(lang, *s)) }
                    }
                }
            }))
            (control(p.t("규모", "Size class"), "size", &[], html! {
                select id="size" name="size" {
                    option value="" selected[size.is_none()] { (p.t("전체", "All")) }
                    @for s in SizeClass::ALL {
                        option value=(s.as_str()) selected[size == Some(*s)] { (size_label(lang, *s)) }
                    }
                }
            }))
            (control(p.t("적격 여부", "Eligible"), "eligible", &[], eligible_select(lang, &q.eligible)))
            button type="submit" class="primary" { (p.t("검색", "Search")) }
            a href="/institutions" { (p.t("조건 지우기", "Clear filters")) }
        }
        p class="muted" { (p.t("검색 결과 ", "Matching institutions: ")) strong { (thousands(total)) } (p.t("개 기관", "")) }
        @if rows.is_empty() {
            p class="alert warn" { (p.t("조건에 맞는 기관이 없습니다.", "No institution matches these filters.")) }
        } @else {
            div class="table-wrap" {
                table {
                    caption class="visually-hidden" { (title) }
                    thead { tr {
                        th scope="col" { (p.t("코드", "Code")) }
                        th scope="col" { (p.t("기관명", "Name")) }
                        th scope="col" { (p.t("업권", "Sector")) }
                        th scope="col" { (p.t("규모", "Size")) }
                        th scope="col" class="num" { (p.t("총자산(억 원)", "Total assets (KRW bn)")) }
                        th scope="col" class="num" { (p.t("상시 종업원", "Employees")) }
                        th scope="col" { (p.t("전담 CISO", "Dedicated CISO")) }
                        th scope="col" { (p.t("적격성", "Eligibility")) }
                    } }
                    tbody {
                        @for i in &rows {
                            tr {
                                td { code { (i.input.code) } }
                                td { a href={ "/institutions/" (i.id) } { (inst_name(lang, &i.input)) } }
                                td { (sector_label(lang, i.input.sector)) }
                                td { (size_label(lang, i.input.size_class)) }
                                td class="num" { (assets_short(lang, i.input.total_assets_krw)) }
                                td class="num" { (thousands(i.input.full_time_employees)) }
                                td { (yes_no(lang, i.input.dedicated_ciso)) }
                                td { (eligible_badge(lang, eligibility.get(&i.id).copied())) }
                            }
                        }
                    }
                }
            }
        }
        (pager(lang, &base, page, has_next))
    };
    p.page(title, body)
}

// ================================================================================ export

async fn export_csv(State(st): State<AppState>, p: Portal) -> Response {
    match st.svc.export_institutions_csv(&p.actor).await {
        Ok(csv) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"institutions.csv\"",
                ),
            ],
            csv,
        )
            .into_response(),
        Err(e) => p.error(e),
    }
}

// ================================================================================ import

#[derive(Deserialize, Default)]
pub struct ImportDone {
    #[serde(default)]
    rows: String,
    #[serde(default)]
    created: String,
    #[serde(default)]
    updated: String,
    #[serde(default)]
    unchanged: String,
}

fn import_page(p: &Portal, errors: &[FieldError], done: Option<&ImportDone>) -> Markup {
    let row_errors: Vec<&FieldError> = errors.iter().filter(|e| e.field != "file").collect();
    let file_errors: Vec<FieldError> = errors
        .iter()
        .filter(|e| e.field == "file")
        .cloned()
        .collect();
    html! {
        h1 { (p.t("기관 CSV 가져오기", "Import institutions from CSV")) }
        p { a href="/institutions" { "← " (p.t("기관 등록부", "Institution registry")) } }
        @if let Some(d) = done {
            div class="alert ok" role="status" {
                p { strong { (p.t("가져오기를 마쳤습니다.", "The import is complete.")) } }
                p {
                    (p.t("행 ", "Rows: ")) (d.rows) " · "
                    (p.t("신규 ", "created: ")) (d.created) " · "
                    (p.t("변경 ", "updated: ")) (d.updated) " · "
                    (p.t("변경 없음 ", "unchanged: ")) (d.unchanged)
                }
            }
        }
        @if !row_errors.is_empty() {
            div class="alert error" role="alert" {
                p { strong { (p.t(
                    "파일에 오류가 있어 아무것도 저장하지 않았습니다. 아래 행을 고친 뒤 파일 전체를 다시 올리십시오.",
                    "The file has errors, so nothing was stored. Correct the rows below and upload the whole file again.",
                )) } }
                p { (p.t("오류 ", "Errors: ")) (row_errors.len()) }
            }
            h2 id="report" { (p.t("행별 오류", "Errors by row")) }
            div class="table-wrap import-report" {
                table {
                    thead { tr {
                        th scope="col" class="num" { (p.t("행", "Row")) }
                        th scope="col" { (p.t("열", "Column")) }
                        th scope="col" { (p.t("내용", "Message")) }
                    } }
                    tbody {
                        @for e in &row_errors {
                            tr {
                                td class="num" { (e.row.map(|r| r.to_string()).unwrap_or_else(|| "—".into())) }
                                td { code { (e.field) } }
                                td { (e.message) }
                            }
                        }
                    }
                }
            }
        }
        (error_summary(p.lang, &file_errors))
        section {
            h2 { (p.t("파일 선택", "Choose a file")) }
            p { (p.t(
                "모든 행이 올바를 때에만 전체가 저장됩니다(전부 또는 전무). 코드가 같은 기관은 갱신되고, 바뀐 수치는 이력에 남습니다.",
                "The file is stored only when every row is valid (all or nothing). Institutions with an existing code are updated, and changed figures are kept in their history.",
            )) }
            form method="post" action="/institutions/import" enctype="multipart/form-data" class="stack" {
                (p.csrf_field())
                (control(p.t("CSV 파일 (UTF-8)", "CSV file (UTF-8)"), "file", &file_errors, html! {
                    input type="file" id="file" name="file" accept=".csv,text/csv" required aria-describedby="columns";
                }))
                p id="columns" class="small muted" {
                    (p.t("머리글 열: ", "Header columns: "))
                    @for (n, c) in CSV_COLUMNS.iter().enumerate() {
                        @if n > 0 { ", " }
                        code { (c) }
                    }
                    (p.t(" (contact_* 열은 선택)", " (the contact_* columns are optional)"))
                }
                div class="actions" {
                    button type="submit" class="primary" { (p.t("가져오기", "Import")) }
                }
            }
        }
    }
}

async fn import_form(p: Portal, Query(done): Query<ImportDone>) -> Response {
    if let Err(e) = authz::authorize(&p.actor, Action::ManageInstitutions) {
        return p.error(e);
    }
    let done = (!done.rows.is_empty()).then_some(&done);
    p.page(
        p.t("기관 CSV 가져오기", "Import institutions"),
        import_page(&p, &[], done),
    )
}

async fn import_submit(State(st): State<AppState>, f: CsrfMultipart) -> Response {
    let CsrfMultipart {
        portal: p,
        mut multipart,
    } = f;
    let mut file: Option<Vec<u8>> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                if field.name() == Some("file") {
                    match field.bytes().await {
                        Ok(b) => file = Some(b.to_vec()),
                        Err(_) => {
                            return p.error(ServiceError::TooLarge(
                                "the upload could not be read completely (too large?)".into(),
                            ))
                        }
                    }
                }
            }
            Ok(None) => break,
            Err(_) => {
                return p.error(ServiceError::TooLarge(
                    "the upload could not be read completely (too large?)".into(),
                ))
            }
        }
    }
    let title = p.t("기관 CSV 가져오기", "Import institutions");
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        // The role is checked before the missing file is reported.
        if let Err(e) = authz::authorize(&p.actor, Action::ManageInstitutions) {
            return p.error(e);
        }
        let errors = vec![FieldError::new(
            "file",
            p.t("CSV 파일을 선택하십시오.", "Choose a CSV file."),
        )];
        return p.page_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            title,
            import_page(&p, &errors, None),
        );
    };
    match st.svc.import_institutions_csv(&p.actor, &bytes).await {
        Ok(r) => Redirect::to(&format!(
            "/institutions/import?rows={}&created={}&updated={}&unchanged={}",
            r.rows, r.created, r.updated, r.unchanged
        ))
        .into_response(),
        Err(e) if !e.field_errors().is_empty() => p.page_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            title,
            import_page(&p, e.field_errors(), None),
        ),
        Err(e) => p.error(e),
    }
}

// ================================================================================ detail

#[derive(Deserialize, Default)]
pub struct DetailQuery {
    #[serde(default)]
    screened: String,
}

async fn detail(
    State(st): State<AppState>,
    p: Portal,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return p.error(ServiceError::NotFound);
    };
    // The regulator side (and the auditor) see the whole institution; its own users the record.
    let (view, overview) = if p.may(Action::ReadRegistry) {
        match st.svc.institution_overview(&p.actor, id).await {
            Ok(o) => (o.view.clone(), Some(o)),
            Err(e) => return p.error(e),
        }
    } else {
        match st.svc.get_institution(&p.actor, id).await {
            Ok(v) => (v, None),
            Err(e) => return p.error(e),
        }
    };
    let lang = p.lang;
    let i = &view.institution.input;
    let decision: Option<EligibilityDecision> = view
        .eligibility
        .as_ref()
        .and_then(|r| serde_json::from_value(r.decision.clone()).ok());
    let title = inst_name(lang, i).to_string();
    let body = html! {
        @if p.may(Action::ReadRegistry) {
            p { a href="/institutions" { "← " (p.t("기관 등록부", "Institution registry")) } }
        }
        h1 { (title) " " (eligible_badge(lang, view.eligibility.as_ref().map(|e| e.eligible))) }
        @if let Some(flag) = overview.as_ref().and_then(|o| o.compliance.as_ref()).and_then(Option::as_ref) {
            div class="alert warn" role="alert" id="compliance-flag" {
                p { strong { (p.t("규정 준수 경고", "Compliance flag")) } ": " (p.t(&flag.reason_ko, &flag.reason_en)) }
            }
        }
        section {
            h2 { (p.t("기본 정보", "Details")) }
            dl class="facts" {
                dt { (p.t("코드", "Code")) } dd { code { (i.code) } }
                dt { (p.t("기관명(국문)", "Name (Korean)")) } dd lang="ko" { (i.name_ko) }
                dt { (p.t("기관명(영문)", "Name (English)")) } dd lang="en" { (i.name_en) }
                dt { (p.t("업권", "Sector")) } dd { (sector_label(lang, i.sector)) }
                dt { (p.t("규모", "Size class")) } dd { (size_label(lang, i.size_class)) }
                dt { (p.t("총자산", "Total assets")) }
                dd { span title={ (thousands(i.total_assets_krw)) (p.t(" 원", " KRW")) } { (super::money(lang, i.total_assets_krw)) } " (" (p.t("기준일 ", "as of ")) (i.assets_as_of) ")" }
                dt { (p.t("상시 종업원", "Full-time employees")) }
                dd { (thousands(i.full_time_employees)) (p.t("명", "")) " (" (p.t("기준일 ", "as of ")) (i.employees_as_of) ")" }
                dt { (p.t("전담 CISO 지정", "Dedicated CISO")) } dd { (yes_no(lang, i.dedicated_ciso)) }
                dt { (p.t("CISO 성명", "CISO name")) } dd { (i.ciso_name.as_deref().unwrap_or("—")) }
                dt { (p.t("담당자", "Contact")) } dd { (i.contact_name.as_deref().unwrap_or("—")) }
                dt { (p.t("담당자 이메일", "Contact e-mail")) } dd { (i.contact_email.as_deref().unwrap_or("—")) }
                dt { (p.t("담당자 전화", "Contact phone")) } dd { (i.contact_phone.as_deref().unwrap_or("—")) }
                dt { (p.t("등록일", "Registered")) } dd { (day(&view.institution.created_at)) }
                dt { (p.t("최종 수정일", "Last updated")) } dd { (day(&view.institution.updated_at)) }
            }
        }
        section {
            h2 { (p.t("최근 적격성 심사", "Latest eligibility screening")) }
            @if !q.screened.is_empty() {
                p class="alert ok" role="status" { (p.t("현재 정책으로 다시 심사했습니다.", "Screened again under the policy in force.")) }
            }
            @match (&view.eligibility, &decision) {
                (Some(rec), Some(d)) => {
                    p {
                        (eligible_badge(lang, Some(d.eligible))) " "
                        (p.t("정책 버전 ", "Policy version ")) (d.policy_version) " · "
                        (p.t("심사일 ", "Screened on ")) (day(&rec.decided_at))
                    }
                    div class="table-wrap" {
                        table {
                            thead { tr {
                                th scope="col" { (p.t("규칙", "Rule")) }
                                th scope="col" class="num" { (p.t("확인된 값", "Value seen")) }
                                th scope="col" { (p.t("기준", "Threshold")) }
                                th scope="col" { (p.t("결과", "Result")) }
                            } }
                            tbody {
                                @for r in &d.rules {
                                    tr {
                                        td { (lang.t(&r.label_ko, &r.label_en)) br; span class="small muted" { code { (r.rule) } } }
                                        td class="num" { (json_value(lang, &r.observed)) }
                                        td { (comparison_symbol(lang, r.comparison)) " " @if !r.threshold.is_null() { (json_value(lang, &r.threshold)) } }
                                        td { (pass_badge(lang, r.passed)) }
                                    }
                                }
                            }
                        }
                    }
                }
                _ => {
                    p class="muted" { (p.t("아직 심사하지 않았습니다.", "Not screened yet.")) }
                }
            }
            @if p.may(Action::RunScreening) {
                form method="post" action="/screening/run" class="row" {
                    (p.csrf_field())
                    input type="hidden" name="institution_id" value=(id);
                    button type="submit" { (p.t("이 기관 다시 심사", "Screen this institution again")) }
                }
            }
        }
        @if let Some(o) = &overview {
            (overview_sections(&p, &st, id, o))
        }
        section {
            h2 { (p.t("수치 변경 이력", "Figure history")) }
            @if view.history.is_empty() {
                p class="muted" { (p.t("변경 이력이 없습니다.", "No figure has changed since registration.")) }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr {
                            th scope="col" { (p.t("변경일", "Changed on")) }
                            th scope="col" { (p.t("항목", "Figure")) }
                            th scope="col" class="num" { (p.t("이전 값", "Before")) }
                            th scope="col" class="num" { (p.t("새 값", "After")) }
                            th scope="col" { (p.t("기준일", "As of")) }
                            th scope="col" { (p.t("변경자", "Changed by")) }
                        } }
                        tbody {
                            @for h in &view.history {
                                tr {
                                    td { (day(&h.changed_at)) }
                                    td { (figure_label(lang, &h.field)) }
                                    td class="num" { (figure_value(lang, &h.old_value)) }
                                    td class="num" { (figure_value(lang, &h.new_value)) }
                                    td { (h.as_of.map(|d| d.to_string()).unwrap_or_else(|| "—".into())) }
                                    td { (h.changed_by) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if p.may(Action::ReadAudit) {
            p { a href={ "/audit?institution=" (id) } { (p.t("이 기관의 감사 로그", "Audit log of this institution")) } }
        }
    };
    p.page(&title, body)
}

/// The regulator's view of an institution beyond its record: applications, letters, obligations
/// (overdue ones marked), the security-SaaS register and a findings summary, each linking to its
/// records where the reader's role may open them.
fn overview_sections(p: &Portal, st: &AppState, id: i64, o: &InstitutionOverview) -> Markup {
    use super::applications::state_label as application_state;
    use super::letters::{
        expiry_window, letter_badge, letter_status, obligation_badges, obligation_kind_label,
    };
    let lang = p.lang;
    let today = st.svc.today();
    let window = expiry_window(st);
    let read_findings = p.may(Action::ReadFindings);
    let f = &o.findings;
    let count_of = |priority: &str, status: &str| -> i64 {
        f.counts
            .iter()
            .filter(|c| c.priority == priority && c.status == status)
            .map(|c| c.count)
            .sum()
    };
    let priorities: Vec<&str> = ["P1", "P2", "P3", "P4", "P5", ""]
        .into_iter()
        .filter(|pr| f.counts.iter().any(|c| c.priority == *pr))
        .collect();
    let statuses: Vec<&str> = FINDING_STATUSES
        .iter()
        .copied()
        .filter(|s| f.counts.iter().any(|c| c.status == *s))
        .collect();
    html! {
        @if let Some(apps) = &o.applications {
            section aria-labelledby="apps-h" {
                h2 id="apps-h" { (p.t("신청", "Applications")) }
                @if apps.is_empty() {
                    p class="muted" { (p.t("신청이 없습니다.", "No applications.")) }
                } @else {
                    div class="table-wrap" { table {
                        thead { tr {
                            th scope="col" class="num" { (p.t("번호", "No.")) }
                            th scope="col" { (p.t("상태", "State")) }
                            th scope="col" { (p.t("제출일", "Submitted")) }
                            th scope="col" { (p.t("최종 변경", "Last change")) }
                        } }
                        tbody {
                            @for a in apps {
                                tr {
                                    td class="num" { a href={ "/applications/" (a.id) } { (a.id) } }
                                    td { (application_state(lang, a.state)) }
                                    td { (a.submitted_at.as_deref().map(day).unwrap_or_else(|| "—".into())) }
                                    td { (day(&a.updated_at)) }
                                }
                            }
                        }
                    } }
                }
            }
        }
        @if let Some(letters) = &o.letters {
            section aria-labelledby="letters-h" {
                h2 id="letters-h" { (p.t("비조치의견서", "No-action letters")) }
                @if letters.is_empty() {
                    p class="muted" { (p.t("의견서가 없습니다.", "No letters.")) }
                } @else {
                    div class="table-wrap" { table {
                        thead { tr {
                            th scope="col" { (p.t("의견서 번호", "Letter number")) }
                            th scope="col" { (p.t("상태", "State")) }
                            th scope="col" { (p.t("발급일", "Issued on")) }
                            th scope="col" { (p.t("유효기간 종료", "Valid until")) }
                        } }
                        tbody {
                            @for l in letters {
                                tr {
                                    td { a href={ "/letters/" (l.id) } { (l.letter_number.as_deref().unwrap_or(p.t("(발급 전)", "(not issued)"))) } }
                                    td { (letter_badge(lang, letter_status(l, today, window))) }
                                    td { (l.issued_on.as_deref().map(day).unwrap_or_else(|| "—".into())) }
                                    td { (l.valid_until.as_deref().map(day).unwrap_or_else(|| "—".into())) }
                                }
                            }
                        }
                    } }
                }
            }
        }
        @if let Some(obligations) = &o.obligations {
            section aria-labelledby="obligations-h" {
                h2 id="obligations-h" { (p.t("보고 의무", "Reporting obligations")) }
                p {
                    (p.t("기한 경과 의무: ", "Overdue obligations: "))
                    strong { (obligations.iter().filter(|ob| ob.overdue).count()) }
                }
                @if obligations.is_empty() {
                    p class="muted" { (p.t("보고 의무가 없습니다.", "No obligations.")) }
                } @else {
                    div class="table-wrap" { table {
                        thead { tr {
                            th scope="col" { (p.t("의견서", "Letter")) }
                            th scope="col" { (p.t("의무", "Obligation")) }
                            th scope="col" { (p.t("대상 기간", "Period")) }
                            th scope="col" { (p.t("기한", "Due on")) }
                            th scope="col" { (p.t("상태", "State")) }
                        } }
                        tbody {
                            @for ob in obligations {
                                tr class=[ob.overdue.then_some("breach")] {
                                    td { a href={ "/letters/" (ob.row.letter_id) } { (ob.row.letter_number.as_deref().unwrap_or("—")) } }
                                    td { (obligation_kind_label(lang, &ob.row.kind)) " " (ob.row.sequence) }
                                    td { (day(&ob.row.period_start)) " – " (day(&ob.row.period_end)) }
                                    td { (day(&ob.row.due_on)) }
                                    td { (obligation_badges(lang, ob)) }
                                }
                            }
                        }
                    } }
                }
            }
        }
        section aria-labelledby="saas-h" {
            h2 id="saas-h" { (p.t("보안 SaaS 이용 현황", "Security SaaS register")) }
            @if o.saas.is_empty() {
                p class="muted" { (p.t("등록된 SaaS가 없습니다.", "No SaaS registered.")) }
            } @else {
                div class="table-wrap" { table {
                    thead { tr {
                        th scope="col" { (p.t("제품", "Product")) }
                        th scope="col" { (p.t("공급사", "Vendor")) }
                        th scope="col" { (p.t("의견서 허용", "Letter permits")) }
                        th scope="col" { (p.t("다음 자체평가 기한", "Next self-evaluation due")) }
                    } }
                    tbody {
                        @for v in &o.saas {
                            tr class=[(!v.permission.permitted).then_some("breach")] {
                                td {
                                    @if read_findings { a href={ "/saas/" (v.saas.id) } { (v.saas.product) } } @else { (v.saas.product) }
                                }
                                td { (v.saas.vendor) }
                                td {
                                    @if v.permission.permitted {
                                        span class="badge ok" { (p.t("허용", "Permitted")) }
                                    } @else if v.permission.letter_number.is_some() {
                                        span class="badge bad" { (p.t("의견서 허용 범위 밖", "Not permitted by the letter")) }
                                    } @else {
                                        span class="badge bad" { (p.t("유효한 의견서 없음", "No letter in force")) }
                                    }
                                }
                                td {
                                    (v.next_evaluation_due.map(|d| d.to_string()).unwrap_or_else(|| "—".into()))
                                    @if v.evaluation_overdue { " " span class="badge bad" { (p.t("기한 지남", "Overdue")) } }
                                }
                            }
                        }
                    }
                } }
            }
        }
        section aria-labelledby="findings-h" {
            h2 id="findings-h" { (p.t("취약점 요약", "Findings summary")) }
            ul class="cards" {
                li class="card" { span class="figure" { (thousands(f.total)) } span class="label" { (p.t("전체 취약점", "All findings")) } }
                li class="card" { span class="figure" { (thousands(f.open_p1)) } span class="label" { (p.t("미조치 P1", "Open P1")) } }
                li class="card" { span class="figure" { (thousands(f.open_p2)) } span class="label" { (p.t("미조치 P2", "Open P2")) } }
                li class="card" { span class="figure" { (thousands(f.sla_breached)) } span class="label" { (p.t("조치 기한 초과", "SLA breaches")) } }
            }
            @if !f.counts.is_empty() {
                div class="table-wrap" { table {
                    caption { (p.t("우선순위·상태별 건수", "Findings by priority and status")) }
                    thead { tr {
                        th scope="col" { (p.t("우선순위", "Priority")) }
                        @for s in &statuses { th scope="col" class="num" { (finding_state_label(lang, s)) } }
                    } }
                    tbody {
                        @for pr in &priorities {
                            tr {
                                th scope="row" {
                                    @if pr.is_empty() { (p.t("미산정", "Not prioritised")) } @else { (finding_state_label(lang, pr)) }
                                }
                                @for s in &statuses { td class="num" { (thousands(count_of(pr, s))) } }
                            }
                        }
                    }
                } }
            }
            @if read_findings {
                p { a href={ "/findings?institution=" (id) } { (p.t("이 기관의 취약점 목록", "Findings of this institution")) } }
            }
        }
    }
}

fn figure_value(lang: Lang, v: &str) -> String {
    match v {
        "true" => yes_no(lang, true).into(),
        "false" => yes_no(lang, false).into(),
        "" => "—".into(),
        other => other
            .parse::<i64>()
            .map(thousands)
            .unwrap_or_else(|_| other.to_string()),
    }
}

// ================================================================================ screening

#[derive(Deserialize, Default)]
pub struct ScreeningQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    eligible: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    ran: String,
    #[serde(default)]
    lang: String,
}

async fn screening(
    State(st): State<AppState>,
    p: Portal,
    Query(q): Query<ScreeningQuery>,
) -> Response {
    let results = match st.svc.screening_results(&p.actor).await {
        Ok(r) => r,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let page = page_of(&q.page);
    let total = results.len();
    let eligible_total = results.iter().filter(|r| r.eligible).count();
    let mut versions: Vec<i64> = results.iter().map(|r| r.policy_version).collect();
    versions.sort_unstable();
    versions.dedup();
    let want = yes_no_filter(&q.eligible);
    let needle = q.q.trim().to_lowercase();
    let matching: Vec<&ScreeningResult> = results
        .iter()
        .filter(|r| want.is_none_or(|w| r.eligible == w))
        .filter(|r| needle.is_empty() || r.name.to_lowercase().contains(&needle))
        .collect();
    let start = (page as usize - 1) * PER_PAGE as usize;
    let shown: Vec<&ScreeningResult> = matching
        .iter()
        .skip(start)
        .take(PER_PAGE as usize)
        .copied()
        .collect();
    let has_next = matching.len() > start + shown.len();
    // The rules as the newest policy version states them (every result lists all of them).
    let columns: Vec<(String, String, String)> = results
        .iter()
        .max_by_key(|r| r.policy_version)
        .map(|r| {
            r.rules
                .iter()
                .map(|x| (x.rule.clone(), x.label_ko.clone(), x.label_en.clone()))
                .collect()
        })
        .unwrap_or_default();
    let mut params = Vec::new();
    push_param(&mut params, "q", q.q.trim());
    push_param(
        &mut params,
        "eligible",
        match want {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        },
    );
    push_param(&mut params, "lang", &q.lang);
    let base = with_query("/screening", &params);
    let title = p.t("적격성 심사 결과", "Eligibility screening");
    let body = html! {
        h1 { (title) }
        @if !q.ran.is_empty() {
            p class="alert ok" role="status" {
                (p.t("심사를 마쳤습니다. 모든 기관의 결과가 현재 정책으로 새로 기록되었습니다.",
                     "Screening is complete: every institution's result was recorded again under the policy in force."))
            }
        }
        ul class="cards" {
            li class="card" { span class="figure" { (total) } span class="label" { (p.t("심사한 기관", "Institutions screened")) } }
            li class="card" { span class="figure" { (eligible_total) } span class="label" { (p.t("적격", "Eligible")) } }
            li class="card" { span class="figure" { (total - eligible_total) } span class="label" { (p.t("부적격", "Not eligible")) } }
            li class="card" {
                span class="figure" { @for (n, v) in versions.iter().enumerate() { @if n > 0 { ", " } "v" (v) } @if versions.is_empty() { "—" } }
                span class="label" { (p.t("적용 정책 버전", "Policy version applied")) }
            }
        }
        @if p.may(Action::RunScreening) {
            form method="post" action="/screening/run" class="row" {
                (p.csrf_field())
                button type="submit" class="primary" { (p.t("전체 기관 심사 실행", "Run screening for all institutions")) }
                span class="small muted" { (p.t("현재 정책으로 모든 기관을 다시 심사하고 결과와 사유를 기록합니다.",
                    "Screens every institution again under the policy in force and records each result with its reasons.")) }
            }
        }
        form method="get" action="/screening" class="filters" role="search" aria-label=(p.t("심사 결과 검색", "Search results")) {
            @if !q.lang.is_empty() { input type="hidden" name="lang" value=(q.lang); }
            (control(p.t("기관명", "Institution"), "q", &[], html! {
                input type="search" id="q" name="q" value=(q.q);
            }))
            (control(p.t("결과", "Result"), "eligible", &[], eligible_select(lang, &q.eligible)))
            button type="submit" class="primary" { (p.t("검색", "Search")) }
            a href="/screening" { (p.t("조건 지우기", "Clear filters")) }
        }
        p class="muted" { (p.t("검색 결과 ", "Matching results: ")) strong { (matching.len()) } (p.t("개 기관", "")) }
        @if shown.is_empty() {
            p class="alert warn" { (p.t("조건에 맞는 심사 결과가 없습니다.", "No screening result matches these filters.")) }
        } @else {
            div class="table-wrap" {
                table {
                    caption class="visually-hidden" { (title) }
                    thead { tr {
                        th scope="col" { (p.t("기관", "Institution")) }
                        th scope="col" { (p.t("결과", "Result")) }
                        @for (_, ko, en) in &columns { th scope="col" { (lang.t(ko, en)) } }
                        th scope="col" class="num" { (p.t("정책 버전", "Policy version")) }
                    } }
                    tbody {
                        @for r in &shown {
                            tr {
                                td { a href={ "/institutions/" (r.institution_id) } { (r.name) } }
                                td { (eligible_badge(lang, Some(r.eligible))) }
                                @for (id, _, _) in &columns {
                                    td {
                                        @match r.rules.iter().find(|x| &x.rule == id) {
                                            Some(x) => { (json_value(lang, &x.observed)) " " (pass_badge(lang, x.passed)) },
                                            None => { "—" },
                                        }
                                    }
                                }
                                td class="num" { (r.policy_version) }
                            }
                        }
                    }
                }
            }
        }
        (pager(lang, &base, page, has_next))
    };
    p.page(title, body)
}

/// Screens one institution (`institution_id`, from its detail page) or, without one, all.
#[derive(Deserialize)]
pub struct RunForm {
    #[serde(default)]
    institution_id: String,
}

async fn run_screening(State(st): State<AppState>, f: CsrfForm<RunForm>) -> Response {
    let p = f.portal;
    let one = f
        .form
        .institution_id
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|i| *i > 0);
    match st.svc.screen(&p.actor, one).await {
        Ok(_) => Redirect::to(&match one {
            Some(id) => format!("/institutions/{id}?screened=1"),
            None => "/screening?ran=1".to_string(),
        })
        .into_response(),
        Err(e) => p.error(e),
    }
}
