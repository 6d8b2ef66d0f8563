//! Computing resources: the list with class and deciding rule, the detail with the
//! classification's reasons and software components, and the CSV and CycloneDX imports.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use haechi_core::FieldError;
use haechi_policy::classification::Classification;
use haechi_service::findings::RESOURCE_CSV_COLUMNS;
use haechi_service::{Action, ServiceError};
use maud::html;
use serde::Deserialize;

use super::super::{control, error_summary, pager, CsrfMultipart, Portal, PER_PAGE};
use super::{class_badge, date_of, read_upload, state_label, upload_limit, upload_refused, Upload};
use crate::AppState;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    class: String,
    #[serde(default)]
    page: String,
    /// Counts of a CSV import that just succeeded (Post/Redirect/Get).
    #[serde(default)]
    created: Option<usize>,
    #[serde(default)]
    updated: Option<usize>,
    #[serde(default)]
    unchanged: Option<usize>,
}

fn page_number(s: &str) -> u32 {
    s.trim()
        .parse::<u32>()
        .ok()
        .filter(|p| *p >= 1)
        .unwrap_or(1)
}

pub async fn list(p: Portal, State(st): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    let class = match q.class.trim() {
        c @ ("C" | "S" | "O") => Some(c),
        _ => None,
    };
    let page = page_number(&q.page);
    let offset = i64::from(page - 1) * i64::from(PER_PAGE);
    let rows = match st
        .svc
        .resources_page(&p.actor, None, class, i64::from(PER_PAGE) + 1, offset)
        .await
    {
        Ok(r) => r,
        Err(e) => return p.error(e),
    };
    let has_next = rows.len() > PER_PAGE as usize;
    let rows = &rows[..rows.len().min(PER_PAGE as usize)];
    let across = !p.actor.role.is_institution_role();
    let names = if across {
        st.svc
            .finding_institution_names(&p.actor)
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let inst_name = |id: i64| {
        names
            .iter()
            .find(|(i, ..)| *i == id)
            .map(|(_, ko, en)| p.t(ko, en).to_string())
            .unwrap_or_else(|| format!("#{id}"))
    };
    let base = match class {
        Some(c) => format!("/resources?class={c}"),
        None => "/resources".to_string(),
    };
    let title = p.t("전산자원", "Computing resources");
    let body = html! {
        h1 { (title) }
        @if let (Some(c), Some(u), Some(n)) = (q.created, q.updated, q.unchanged) {
            p class="alert ok" role="status" {
                (p.t("CSV를 가져왔습니다. ", "The CSV was imported. "))
                (p.t("신규 ", "Created ")) (c) " · " (p.t("변경 ", "updated ")) (u) " · " (p.t("동일 ", "unchanged ")) (n)
            }
        }
        p class="muted" {
            (p.t(
                "전산자원 분류 기준(C 기밀 · S 민감 · O 공개)은 정책의 규칙이 정하며, 각 자원은 분류를 결정한 규칙을 함께 보여 줍니다.",
                "Classes (C classified · S sensitive · O open) are decided by the policy's rules; each resource shows the rule that decided its class.",
            ))
        }
        @if p.may(Action::ManageFindings) {
            div class="actions" {
                a class="button primary" href="/resources/import" { (p.t("CSV · CycloneDX 가져오기", "Import CSV · CycloneDX")) }
            }
        }
        form method="get" action="/resources" class="filters" {
            div class="field" {
                label for="class" { (p.t("분류", "Class")) }
                select id="class" name="class" {
                    option value="" { (p.t("전체", "All")) }
                    @for c in ["C", "S", "O"] {
                        option value=(c) selected[class == Some(c)] { (state_label(p.lang, c)) }
                    }
                }
            }
            button type="submit" { (p.t("적용", "Apply")) }
        }
        @if rows.is_empty() {
            p { (p.t("등록된 전산자원이 없습니다.", "No computing resources are registered.")) }
        } @else {
            div class="table-wrap" {
                table {
                    caption class="visually-hidden" { (title) }
                    thead { tr {
                        th scope="col" { (p.t("이름", "Name")) }
                        @if across { th scope="col" { (p.t("기관", "Institution")) } }
                        th scope="col" { (p.t("유형", "Kind")) }
                        th scope="col" { (p.t("업무 기능", "Business function")) }
                        th scope="col" { (p.t("네트워크 영역", "Network zone")) }
                        th scope="col" { (p.t("전자금융거래", "E-financial transactions")) }
                        th scope="col" { (p.t("분류", "Class")) }
                        th scope="col" { (p.t("결정 규칙", "Deciding rule")) }
                        th scope="col" class="num" { (p.t("정책 버전", "Policy version")) }
                    } }
                    tbody {
                        @for r in rows {
                            tr {
                                td { a href={ "/resources/" (r.id) } { (r.name) } }
                                @if across { td { (inst_name(r.institution_id)) } }
                                td { (state_label(p.lang, &r.kind)) }
                                td { (super::super::bilingual(p.lang, &r.business_function)) }
                                td { (state_label(p.lang, &r.network_zone)) }
                                td { (yes_no(&p, r.processes_electronic_transactions)) }
                                td { (class_badge(p.lang, &r.class)) }
                                td { code { (r.decided_by) } }
                                td class="num" { (r.policy_version) }
                            }
                        }
                    }
                }
            }
            (pager(p.lang, &base, page, has_next))
        }
    };
    p.page(title, body)
}

fn yes_no(p: &Portal, v: bool) -> &str {
    if v {
        p.t("예", "Yes")
    } else {
        p.t("아니오", "No")
    }
}

#[derive(Deserialize, Default)]
pub struct DetailQuery {
    /// Components just imported from a BOM (Post/Redirect/Get).
    #[serde(default)]
    components: Option<usize>,
}

pub async fn detail(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return p.error(ServiceError::NotFound);
    };
    let view = match st.svc.get_resource(&p.actor, id).await {
        Ok(v) => v,
        Err(e) => return p.error(e),
    };
    let r = &view.resource;
    let classification: Option<Classification> =
        serde_json::from_value(r.classification.clone()).ok();
    let inst = st
        .svc
        .finding_institution_names(&p.actor)
        .await
        .unwrap_or_default()
        .into_iter()
        .find(|(i, ..)| *i == r.institution_id)
        .map(|(_, ko, en)| p.t(&ko, &en).to_string())
        .unwrap_or_else(|| format!("#{}", r.institution_id));
    let title = format!("{} — {}", p.t("전산자원", "Computing resource"), r.name);
    let body = html! {
        p class="small" { a href="/resources" { "← " (p.t("전산자원 목록", "All resources")) } }
        h1 { (r.name) " " (class_badge(p.lang, &r.class)) }
        @if let Some(n) = q.components {
            p class="alert ok" role="status" {
                (p.t("CycloneDX SBOM에서 소프트웨어 구성요소를 가져왔습니다: ", "Software components imported from the CycloneDX SBOM: ")) (n)
            }
        }
        @if !view.classification_current {
            p class="alert warn" role="status" {
                (p.t(
                    "이 분류는 현재 정책 이전 버전으로 결정되었습니다. 재분류하면 현재 정책으로 다시 결정됩니다.",
                    "This class was decided under an older policy version; reclassifying decides it again under the policy in force.",
                ))
            }
        }
        section {
            h2 { (p.t("자원 정보", "Resource")) }
            dl class="facts" {
                dt { (p.t("기관", "Institution")) } dd { (inst) }
                dt { (p.t("유형", "Kind")) } dd { (state_label(p.lang, &r.kind)) }
                dt { (p.t("업무 기능", "Business function")) } dd { (super::super::bilingual(p.lang, &r.business_function)) }
                dt { (p.t("처리 정보", "Data handled")) }
                dd {
                    @if r.data_kinds.is_empty() { span class="muted" { "—" } }
                    @for (i, k) in r.data_kinds.iter().enumerate() {
                        @if i > 0 { ", " }
                        (state_label(p.lang, k))
                    }
                }
                dt { (p.t("네트워크 영역", "Network zone")) } dd { (state_label(p.lang, &r.network_zone)) }
                dt { (p.t("전자금융거래 처리", "Processes e-financial transactions")) } dd { (yes_no(&p, r.processes_electronic_transactions)) }
                dt { (p.t("재해복구 등급", "DR tier")) } dd { (r.dr_tier.as_deref().unwrap_or("—")) }
                dt { (p.t("담당자", "Owner")) } dd { (r.owner.as_deref().map_or_else(|| "—".to_string(), |o| super::super::bilingual(p.lang, o))) }
                dt { (p.t("등록일", "Registered")) } dd { (date_of(&r.created_at)) }
                dt { (p.t("수정일", "Updated")) } dd { (date_of(&r.updated_at)) }
            }
            div class="actions" {
                a href={ "/findings?resource=" (r.id) } { (p.t("이 자원의 취약점 보기", "Findings of this resource")) }
            }
        }
        section {
            h2 { (p.t("분류", "Classification")) }
            dl class="facts" {
                dt { (p.t("분류", "Class")) } dd { (class_badge(p.lang, &r.class)) }
                dt { (p.t("결정 규칙", "Deciding rule")) } dd { code { (r.decided_by) } }
                dt { (p.t("정책 버전", "Policy version")) } dd { (r.policy_version) }
            }
            @if let Some(c) = &classification {
                h3 { (p.t("근거", "Reasons")) }
                ul {
                    @for reason in &c.reasons {
                        li { (p.t(&reason.ko, &reason.en)) }
                    }
                }
                @if !c.matched.is_empty() {
                    h3 { (p.t("일치한 규칙", "Matching rules")) }
                    div class="table-wrap" {
                        table {
                            thead { tr {
                                th scope="col" { (p.t("규칙", "Rule")) }
                                th scope="col" { (p.t("분류", "Class")) }
                                th scope="col" { (p.t("설명", "Description")) }
                            } }
                            tbody {
                                @for m in &c.matched {
                                    tr {
                                        td { code { (m.rule) } }
                                        td { (class_badge(p.lang, m.class.as_str())) }
                                        td { (p.t(&m.label_ko, &m.label_en)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section {
            h2 { (p.t("소프트웨어 구성요소", "Software components")) }
            @if p.may(Action::ManageFindings) {
                div class="actions" {
                    a href={ "/resources/import?resource=" (r.id) "#bom_file" } { (p.t("CycloneDX SBOM 가져오기", "Import a CycloneDX SBOM")) }
                }
            }
            @if view.components.is_empty() {
                p class="muted" { (p.t("등록된 구성요소가 없습니다.", "No components are recorded.")) }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr {
                            th scope="col" { (p.t("유형", "Type")) }
                            th scope="col" { (p.t("그룹", "Group")) }
                            th scope="col" { (p.t("이름", "Name")) }
                            th scope="col" { (p.t("버전", "Version")) }
                            th scope="col" { "purl" }
                        } }
                        tbody {
                            @for c in &view.components {
                                tr {
                                    td { (c.kind) }
                                    td { (c.group.as_deref().unwrap_or("")) }
                                    td { (c.name) }
                                    td { (c.version.as_deref().unwrap_or("")) }
                                    td { code { (c.purl.as_deref().unwrap_or("")) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    p.page(&title, body)
}

#[derive(Deserialize, Default)]
pub struct ImportQuery {
    /// Resource preselected for the CycloneDX form.
    #[serde(default)]
    resource: String,
}

/// The state of the two import forms when the page is shown again.
#[derive(Default)]
struct ImportState {
    csv_errors: Vec<FieldError>,
    bom_errors: Vec<FieldError>,
    bom_resource: Option<i64>,
}

pub async fn import_form(
    p: Portal,
    State(st): State<AppState>,
    Query(q): Query<ImportQuery>,
) -> Response {
    let state = ImportState {
        bom_resource: q.resource.trim().parse().ok(),
        ..Default::default()
    };
    import_page(&p, &st, StatusCode::OK, state).await
}

async fn import_page(p: &Portal, st: &AppState, status: StatusCode, s: ImportState) -> Response {
    let resources = match st.svc.list_resources(&p.actor, None).await {
        Ok(r) => r,
        Err(e) => return p.error(e),
    };
    let title = p.t("전산자원 가져오기", "Import computing resources");
    let limit = super::human_bytes(upload_limit(st) as i64);
    // CSV problems are listed per row and column below the form.
    let csv_file_error: Vec<FieldError> = if s.csv_errors.is_empty() {
        Vec::new()
    } else {
        vec![FieldError::new(
            "csv_file",
            format!(
                "{} {}",
                s.csv_errors.len(),
                p.t(
                    "개의 오류가 있어 아무 행도 가져오지 않았습니다.",
                    "problems found; no row was imported."
                )
            ),
        )]
    };
    let body = html! {
        p class="small" { a href="/resources" { "← " (p.t("전산자원 목록", "All resources")) } }
        h1 { (title) }
        @if !p.may(Action::ManageFindings) {
            p class="alert warn" role="status" {
                (p.t("이 역할은 전산자원을 가져올 수 없습니다(열람 전용).", "Your role cannot import resources (read only)."))
            }
        } @else {
        section {
            h2 { (p.t("자원 목록 CSV", "Resource inventory (CSV)")) }
            p {
                (p.t("파일의 모든 행을 가져오거나, 오류가 하나라도 있으면 아무것도 가져오지 않습니다. 이름이 같은 자원은 갱신됩니다. 열: ",
                     "Every row of the file is imported, or none if any row has a problem. A resource with the same name is updated. Columns: "))
                code { (RESOURCE_CSV_COLUMNS.join(",")) }
            }
            p class="muted small" {
                (p.t("data_kinds는 ;로 구분합니다 (personal_credit, customer_personal, non_public_business, logs_backups, public, pseudonymised). network_zone: internal, dmz, internet, external_saas. 최대 ",
                     "Separate data_kinds with ; (personal_credit, customer_personal, non_public_business, logs_backups, public, pseudonymised). network_zone: internal, dmz, internet, external_saas. At most "))
                (limit)
            }
            (error_summary(p.lang, &csv_file_error))
            form method="post" action="/resources/import" enctype="multipart/form-data" class="stack" {
                (p.csrf_field())
                (control(p.t("CSV 파일", "CSV file"), "csv_file", &csv_file_error, html! {
                    input type="file" id="csv_file" name="csv_file" accept=".csv,text/csv" required
                        aria-describedby=[(!csv_file_error.is_empty()).then_some("csv_file-error")];
                }))
                div class="actions" {
                    button type="submit" class="primary" { (p.t("CSV 가져오기", "Import CSV")) }
                }
            }
            @if !s.csv_errors.is_empty() {
                h3 { (p.t("행별 오류", "Problems by row")) }
                div class="table-wrap" {
                    table {
                        thead { tr {
                            th scope="col" class="num" { (p.t("행", "Row")) }
                            th scope="col" { (p.t("열", "Column")) }
                            th scope="col" { (p.t("내용", "Problem")) }
                        } }
                        tbody {
                            @for e in &s.csv_errors {
                                tr {
                                    td class="num" { (e.row.map(|r| r.to_string()).unwrap_or_default()) }
                                    td { code { (e.field) } }
                                    td { (e.message) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section {
            h2 { (p.t("소프트웨어 구성요소 (CycloneDX SBOM)", "Software components (CycloneDX SBOM)")) }
            p { (p.t("CycloneDX 1.5/1.6 JSON 파일로 자원의 구성요소 목록을 교체합니다.",
                     "Replaces a resource's components with those of a CycloneDX 1.5/1.6 JSON file.")) }
            (error_summary(p.lang, &s.bom_errors))
            @if resources.is_empty() {
                p class="muted" { (p.t("먼저 자원을 등록하십시오.", "Register a resource first.")) }
            } @else {
                form method="post" action="/resources/components" enctype="multipart/form-data" class="stack" {
                    (p.csrf_field())
                    (control(p.t("전산자원", "Computing resource"), "bom_resource", &s.bom_errors, html! {
                        select id="bom_resource" name="bom_resource" required {
                            @for r in &resources {
                                option value=(r.id) selected[s.bom_resource == Some(r.id)] { (r.name) }
                            }
                        }
                    }))
                    (control(p.t("CycloneDX JSON 파일", "CycloneDX JSON file"), "bom_file", &s.bom_errors, html! {
                        input type="file" id="bom_file" name="bom_file" accept=".json,.cdx.json,application/json" required;
                    }))
                    div class="actions" {
                        button type="submit" class="primary" { (p.t("구성요소 가져오기", "Import components")) }
                    }
                }
            }
        }
        }
    };
    p.page_with(status, title, body)
}

pub async fn import_csv(State(st): State<AppState>, m: CsrfMultipart) -> Response {
    let p = m.portal;
    if let Err(e) = st
        .svc
        .authorize_findings_upload(&p.actor, p.actor.institution_id)
    {
        return p.error(e);
    }
    let upload = match read_upload(m.multipart, "csv_file", upload_limit(&st)).await {
        Ok(u) => u,
        Err(e) => return upload_refused(&p, e),
    };
    let Some(file) = &upload.file else {
        let state = ImportState {
            csv_errors: vec![FieldError::new(
                "csv_file",
                p.t("CSV 파일을 선택하십시오.", "Choose a CSV file."),
            )],
            ..Default::default()
        };
        return import_page(&p, &st, StatusCode::UNPROCESSABLE_ENTITY, state).await;
    };
    let bytes = match file.read().await {
        Ok(b) => b,
        Err(e) => {
            return p.error(ServiceError::rule(
                "upload_failed",
                format!("cannot read the upload: {e}"),
            ))
        }
    };
    let institution = p.actor.institution_id.unwrap_or(0);
    match st
        .svc
        .import_resources_csv(&p.actor, institution, &bytes)
        .await
    {
        Ok(r) => Redirect::to(&format!(
            "/resources?created={}&updated={}&unchanged={}",
            r.created, r.updated, r.unchanged
        ))
        .into_response(),
        Err(e) if !e.field_errors().is_empty() => {
            let state = ImportState {
                csv_errors: e.field_errors().to_vec(),
                ..Default::default()
            };
            import_page(&p, &st, StatusCode::UNPROCESSABLE_ENTITY, state).await
        }
        Err(e) => p.error(e),
    }
}

pub async fn import_components(State(st): State<AppState>, m: CsrfMultipart) -> Response {
    let p = m.portal;
    if let Err(e) = st
        .svc
        .authorize_findings_upload(&p.actor, p.actor.institution_id)
    {
        return p.error(e);
    }
    let upload: Upload = match read_upload(m.multipart, "bom_file", upload_limit(&st)).await {
        Ok(u) => u,
        Err(e) => return upload_refused(&p, e),
    };
    let resource = upload.text("bom_resource").parse::<i64>().ok();
    let mut errors = Vec::new();
    if resource.is_none() {
        errors.push(FieldError::new(
            "bom_resource",
            p.t("전산자원을 선택하십시오.", "Choose a computing resource."),
        ));
    }
    if upload.file.is_none() {
        errors.push(FieldError::new(
            "bom_file",
            p.t(
                "CycloneDX JSON 파일을 선택하십시오.",
                "Choose a CycloneDX JSON file.",
            ),
        ));
    }
    let (Some(resource), Some(file), true) = (resource, &upload.file, errors.is_empty()) else {
        let state = ImportState {
            bom_errors: errors,
            bom_resource: resource,
            ..Default::default()
        };
        return import_page(&p, &st, StatusCode::UNPROCESSABLE_ENTITY, state).await;
    };
    let bytes = match file.read().await {
        Ok(b) => b,
        Err(e) => {
            return p.error(ServiceError::rule(
                "upload_failed",
                format!("cannot read the upload: {e}"),
            ))
        }
    };
    match st
        .svc
        .import_components(&p.actor, resource, &bytes[..])
        .await
    {
        Ok(n) => Redirect::to(&format!("/resources/{resource}?components={n}")).into_response(),
        Err(e) if !e.field_errors().is_empty() => {
            let errors = e
                .field_errors()
                .iter()
                .map(|f| {
                    FieldError::new(
                        if f.field == "bom" {
                            "bom_file".to_string()
                        } else {
                            f.field.clone()
                        },
                        f.message.clone(),
                    )
                })
                .collect();
            let state = ImportState {
                bom_errors: errors,
                bom_resource: Some(resource),
                ..Default::default()
            };
            import_page(&p, &st, StatusCode::UNPROCESSABLE_ENTITY, state).await
        }
        Err(e) => p.error(e),
    }
}
