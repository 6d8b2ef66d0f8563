//! Threat-sharing bulletins (C10): the list an institution or the regulator side may see, the
//! writers' form, the bulletin page (TLP with FIRST's definition, what it touches in the
//! reader's estate, acknowledgements, versions, the STIX bundle) and the review steps.
//! Who may see or do what is the service's decision.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use haechi_core::{FieldError, Sector};

use haechi_service::sharing::{
    self, kind_label, BulletinContent, BulletinInput, Tlp, AUDIENCES, KINDS, SEVERITIES,
};
use haechi_service::{Action, ServiceError};
use maud::{html, Markup};
use serde::Deserialize;

use super::{control, error_summary, kst_minute, CsrfForm, PageRoute, Portal};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/bulletins", list),
        page_get!("/bulletins/new", new_form),
        page_post!("/bulletins/new", create),
        page_get!("/bulletins/{id}", show),
        page_get!("/bulletins/{id}/edit", edit_form),
        page_post!("/bulletins/{id}/edit", update),
        page_get!("/bulletins/{id}/stix", stix),
        page_post!("/bulletins/{id}/submit", submit),
        page_post!("/bulletins/{id}/return", return_to_writer),
        page_post!("/bulletins/{id}/publish", publish),
        page_post!("/bulletins/{id}/correct", correct),
        page_post!("/bulletins/{id}/withdraw", withdraw),
        page_post!("/bulletins/{id}/acknowledge", acknowledge),
    ]
}

fn tlp_badge(tlp: &str) -> Markup {
    let t = Tlp::parse(tlp).unwrap_or(Tlp::Red);
    let css = match t {
        Tlp::Clear => "badge",
        Tlp::Green => "badge ok",
        Tlp::Amber | Tlp::AmberStrict => "badge warn",
        Tlp::Red => "badge bad",
    };
    html! { span class=(css) { (t.label()) } }
}

fn kind_text(p: &Portal, kind: &str) -> String {
    let (ko, en) = kind_label(kind);
    p.t(ko, en).to_string()
}

fn severity_text(p: &Portal, s: &str) -> String {
    match s {
        "low" => p.t("낮음", "Low"),
        "medium" => p.t("중간", "Medium"),
        "high" => p.t("높음", "High"),
        "critical" => p.t("긴급", "Critical"),
        _ => "—",
    }
    .to_string()
}

fn state_text(p: &Portal, s: &str) -> String {
    let (ko, en) = sharing::state_label(s);
    p.t(ko, en).to_string()
}

fn audience_text(p: &Portal, c: &BulletinContent, codes: &[String]) -> String {
    match c.audience.as_str() {
        "all" => p.t("모든 금융회사", "All institutions").to_string(),
        "sector" => {
            let s = c.audience_sector.as_deref().and_then(Sector::parse);
            format!(
                "{}: {}",
                p.t("업권", "Sector"),
                s.map_or("—", |s| p.t(s.label_ko(), s.label_en()))
            )
        }
        "named" => format!(
            "{}: {}",
            p.t("지정 기관", "Named institutions"),
            codes.join(", ")
        ),
        _ => p.t("감독당국 한정", "Regulator only").to_string(),
    }
}

fn title_of<'a>(p: &Portal, c: &'a BulletinContent) -> &'a str {
    match (&c.title_en, p.lang) {
        (Some(en), super::Lang::En) => en,
        _ => &c.title_ko,
    }
}

// ================================================================================ list

pub async fn list(p: Portal, State(st): State<AppState>) -> Response {
    let items = match st.svc.bulletins(&p.actor).await {
        Ok(v) => v,
        Err(e) => return p.error(e),
    };
    let overdue = st
        .svc
        .overdue_acknowledgements(&p.actor)
        .await
        .unwrap_or_default();
    let title = p.t("보안 정보 공유", "Threat-sharing bulletins");
    let body = html! {
        h1 { (title) }
        p class="muted" { (p.t(
            "금융 AI 보안 연구소와 AI 보안 지원센터가 전파하는 AI 공격 동향, 취약점, 침해지표와 대응 권고입니다. 각 공지는 TLP 2.0 등급과 수신 대상에 따라 보입니다.",
            "AI-attack trends, vulnerabilities, indicators and recommended actions shared by the Financial AI Security Research Institute and the AI Security Support Center. Each bulletin reaches whom its TLP 2.0 marking and audience allow.")) }
        @if p.may(Action::WriteBulletins) {
            p { a class="button primary" href="/bulletins/new" { (p.t("새 공지 작성", "Write a bulletin")) } }
        }
        @if !overdue.is_empty() {
            div class="alert error" role="alert" {
                p { strong { (p.t("확인 기한이 지난 긴급 보안패치 권고", "Emergency advisories with overdue acknowledgements")) } }
                ul { @for (b, n) in &overdue {
                    li { a href={ "/bulletins/" (b.id) } { (b.title_ko) } " — " (n) (p.t("개 기관 미확인", " institutions have not acknowledged")) }
                } }
            }
        }
        @if items.is_empty() {
            p class="muted" { (p.t("볼 수 있는 공지가 없습니다.", "No bulletins to show.")) }
        } @else {
            div class="table-wrap" { table {
                thead { tr {
                    th scope="col" { (p.t("제목", "Title")) }
                    th scope="col" { (p.t("종류", "Kind")) }
                    th scope="col" { (p.t("심각도", "Severity")) }
                    th scope="col" { "TLP" }
                    th scope="col" { (p.t("상태", "State")) }
                    th scope="col" { (p.t("게시", "Published")) }
                } }
                tbody { @for v in &items {
                    @let c = v.published.clone().unwrap_or_else(|| BulletinContent::from_row(&v.row));
                    tr {
                        td { a href={ "/bulletins/" (v.row.id) } { (title_of(&p, &c)) } }
                        td { (kind_text(&p, &c.kind)) }
                        td { (severity_text(&p, &c.severity)) }
                        td { (tlp_badge(&c.tlp)) }
                        td { (state_text(&p, &v.row.state)) @if v.row.version > 0 { " · v" (v.row.version) } }
                        td { @if let Some(t) = &v.row.published_at { (kst_minute(t)) } @else { "—" } }
                    }
                } }
            } }
        }
    };
    p.page(title, body)
}

// ================================================================================ form

/// The bulletin form as typed: lists one per line.
#[derive(Deserialize, Default, Clone)]
pub struct BulletinForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title_ko: String,
    #[serde(default)]
    title_en: String,
    #[serde(default)]
    body_ko: String,
    #[serde(default)]
    body_en: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    sources: String,
    #[serde(default)]
    products: String,
    #[serde(default)]
    cves: String,
    #[serde(default)]
    cwes: String,
    #[serde(default)]
    indicators: String,
    #[serde(default)]
    actions: String,
    #[serde(default)]
    tlp: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    audience_sector: String,
    /// Institution codes, separated by commas or lines.
    #[serde(default)]
    audience_institutions: String,
    #[serde(default)]
    change_note: String,
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

impl BulletinForm {
    fn from_content(c: &BulletinContent, codes: &[String]) -> BulletinForm {
        let i = sharing::input_of(c);
        BulletinForm {
            kind: i.kind,
            title_ko: i.title_ko,
            title_en: i.title_en,
            body_ko: i.body_ko,
            body_en: i.body_en,
            severity: i.severity,
            sources: i.sources.join("\n"),
            products: i.products.join("\n"),
            cves: i.cves.join("\n"),
            cwes: i
                .cwes
                .iter()
                .map(|c| format!("CWE-{c}"))
                .collect::<Vec<_>>()
                .join("\n"),
            indicators: i.indicators.join("\n"),
            actions: i.actions.join("\n"),
            tlp: i.tlp,
            audience: i.audience,
            audience_sector: i.audience_sector,
            audience_institutions: codes.join(", "),
            change_note: String::new(),
        }
    }

    async fn input(&self, p: &Portal, st: &AppState) -> Result<BulletinInput, ServiceError> {
        let ids = if self.audience.trim() == "named" {
            st.svc
                .institutions_by_code(&p.actor, &tokens(&self.audience_institutions))
                .await?
        } else {
            Vec::new()
        };
        Ok(BulletinInput {
            kind: self.kind.clone(),
            title_ko: self.title_ko.clone(),
            title_en: self.title_en.clone(),
            body_ko: self.body_ko.clone(),
            body_en: self.body_en.clone(),
            severity: self.severity.clone(),
            sources: lines(&self.sources),
            products: lines(&self.products),
            cves: tokens(&self.cves),
            cwes: tokens(&self.cwes),
            indicators: lines(&self.indicators),
            actions: lines(&self.actions),
            tlp: self.tlp.clone(),
            audience: self.audience.clone(),
            audience_sector: self.audience_sector.clone(),
            audience_institutions: ids,
            change_note: self.change_note.clone(),
        })
    }
}

/// Field errors of indexed list items (`cves[2]`) shown at their list.
fn folded(errors: &[FieldError]) -> Vec<FieldError> {
    errors
        .iter()
        .map(|e| {
            let base = e.field.split('[').next().unwrap_or(&e.field);
            FieldError::new(base, &e.message)
        })
        .collect()
}

fn select(name: &str, current: &str, options: &[(String, String)]) -> Markup {
    html! {
        select id=(name) name=(name) {
            @for (v, label) in options {
                option value=(v) selected[v == current] { (label) }
            }
        }
    }
}

fn form_page(
    p: &Portal,
    action: &str,
    form: &BulletinForm,
    errors: &[FieldError],
    correction: bool,
) -> Markup {
    let kinds: Vec<(String, String)> = KINDS
        .iter()
        .map(|k| (k.to_string(), kind_text(p, k)))
        .collect();
    let sevs: Vec<(String, String)> = SEVERITIES
        .iter()
        .map(|s| (s.to_string(), severity_text(p, s)))
        .collect();
    let tlps: Vec<(String, String)> = Tlp::ALL
        .iter()
        .map(|t| (t.as_str().to_string(), t.label().to_string()))
        .collect();
    let auds: Vec<(String, String)> = AUDIENCES
        .iter()
        .map(|a| {
            let l = match *a {
                "all" => p.t("모든 금융회사", "All institutions"),
                "sector" => p.t("특정 업권", "One sector"),
                "named" => p.t("지정 기관", "Named institutions"),
                _ => p.t("감독당국 한정", "Regulator only"),
            };
            (a.to_string(), l.to_string())
        })
        .collect();
    let mut sectors: Vec<(String, String)> = vec![(String::new(), "—".into())];
    sectors.extend(Sector::ALL.iter().map(|s| {
        (
            s.as_str().to_string(),
            p.t(s.label_ko(), s.label_en()).to_string(),
        )
    }));
    html! {
        (error_summary(p.lang, errors))
        form method="post" action=(action) class="stack" novalidate {
            (p.csrf_field())
            (control(p.t("종류", "Kind"), "kind", errors, select("kind", &form.kind, &kinds)))
            (control(p.t("제목 (한국어)", "Title (Korean)"), "title_ko", errors, html! { input type="text" id="title_ko" name="title_ko" value=(form.title_ko) lang="ko"; }))
            (control(p.t("제목 (영어, 선택)", "Title (English, optional)"), "title_en", errors, html! { input type="text" id="title_en" name="title_en" value=(form.title_en) lang="en"; }))
            (control(p.t("본문 (한국어)", "Body (Korean)"), "body_ko", errors, html! { textarea id="body_ko" name="body_ko" rows="8" lang="ko" { (form.body_ko) } }))
            (control(p.t("본문 (영어, 선택)", "Body (English, optional)"), "body_en", errors, html! { textarea id="body_en" name="body_en" rows="5" lang="en" { (form.body_en) } }))
            (control(p.t("심각도", "Severity"), "severity", errors, select("severity", &form.severity, &sevs)))
            (control(p.t("CVE (쉼표·줄바꿈으로 구분)", "CVEs (commas or lines)"), "cves", errors, html! { textarea id="cves" name="cves" rows="2" { (form.cves) } }))
            (control(p.t("CWE (예: CWE-79)", "CWEs (e.g. CWE-79)"), "cwes", errors, html! { textarea id="cwes" name="cwes" rows="2" { (form.cwes) } }))
            (control(p.t("영향받는 제품 (한 줄에 하나)", "Affected products (one per line)"), "products", errors, html! { textarea id="products" name="products" rows="2" { (form.products) } }))
            (control(p.t("침해지표 (한 줄에 하나: 종류 값 설명, 종류는 ipv4·ipv6·domain·url·email·sha256·md5)", "Indicators (one per line: kind value note; kinds ipv4, ipv6, domain, url, email, sha256, md5)"), "indicators", errors, html! { textarea id="indicators" name="indicators" rows="3" { (form.indicators) } }))
            (control(p.t("대응 권고 (한 줄에 하나)", "Recommended actions (one per line)"), "actions", errors, html! { textarea id="actions" name="actions" rows="3" { (form.actions) } }))
            (control(p.t("출처 (한 줄에 하나)", "Sources (one per line)"), "sources", errors, html! { textarea id="sources" name="sources" rows="2" { (form.sources) } }))
            (control(p.t("TLP 2.0 등급", "TLP 2.0 marking"), "tlp", errors, select("tlp", &form.tlp, &tlps)))
            details {
                summary { (p.t("TLP 2.0 정의 (FIRST)", "TLP 2.0 definitions (FIRST)")) }
                dl { @for t in Tlp::ALL {
                    dt { (t.label()) }
                    dd { (p.t(t.definition_ko(), t.definition_en())) }
                } }
            }
            (control(p.t("수신 대상", "Audience"), "audience", errors, select("audience", &form.audience, &auds)))
            (control(p.t("업권 (특정 업권일 때)", "Sector (for one sector)"), "audience_sector", errors, select("audience_sector", &form.audience_sector, &sectors)))
            (control(p.t("기관 코드 (지정 기관일 때, 쉼표로 구분)", "Institution codes (for named institutions, separated by commas)"), "audience_institutions", errors, html! { input type="text" id="audience_institutions" name="audience_institutions" value=(form.audience_institutions); }))
            @if correction {
                (control(p.t("정정 내용 (무엇이 바뀌었는지)", "What this correction changes"), "change_note", errors, html! { textarea id="change_note" name="change_note" rows="2" { (form.change_note) } }))
            }
            div class="actions" { button type="submit" class="primary" { (p.t("저장", "Save")) } }
        }
    }
}

pub async fn new_form(p: Portal, State(st): State<AppState>) -> Response {
    if let Err(e) = haechi_service::authz::authorize(&p.actor, Action::WriteBulletins) {
        return p.error(e);
    }
    let policy = st.svc.policy();
    let kind = "ai_attack_trend";
    let tlp = policy
        .sharing
        .default_tlp_for(kind)
        .and_then(|t| serde_json::to_value(t).ok())
        .and_then(|v| v.as_str().and_then(Tlp::parse))
        .unwrap_or(Tlp::Green);
    let form = BulletinForm {
        kind: kind.into(),
        severity: "medium".into(),
        tlp: tlp.as_str().into(),
        audience: "all".into(),
        ..BulletinForm::default()
    };
    let title = p.t("새 공지 작성", "Write a bulletin");
    p.page(
        title,
        html! { h1 { (title) } (form_page(&p, "/bulletins/new", &form, &[], false)) },
    )
}

pub async fn create(State(st): State<AppState>, f: CsrfForm<BulletinForm>) -> Response {
    let p = f.portal;
    let form = f.form;
    let result = match form.input(&p, &st).await {
        Ok(input) => st.svc.create_bulletin(&p.actor, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(id) => Redirect::to(&format!("/bulletins/{id}")).into_response(),
        Err(e) if !e.field_errors().is_empty() => {
            let title = p.t("새 공지 작성", "Write a bulletin");
            let errors = folded(e.field_errors());
            p.page_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                title,
                html! { h1 { (title) } (form_page(&p, "/bulletins/new", &form, &errors, false)) },
            )
        }
        Err(e) => p.error(e),
    }
}

/// A bulletin id from the path; anything else is "not found" (boxed: the refusal is a whole
/// response).
fn parse_id(p: &Portal, id: &str) -> Result<i64, Box<Response>> {
    id.parse()
        .map_err(|_| Box::new(p.error(ServiceError::NotFound)))
}

pub async fn edit_form(p: Portal, State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    if let Err(e) = haechi_service::authz::authorize(&p.actor, Action::WriteBulletins) {
        return p.error(e);
    }
    let d = match st.svc.bulletin_detail(&p.actor, id).await {
        Ok(d) => d,
        Err(e) => return p.error(e),
    };
    let Some(draft) = d.draft else {
        return p.error(ServiceError::rule(
            "bulletin_not_draft",
            "only a draft can be changed: begin a correction of a published bulletin first",
        ));
    };
    let codes = st
        .svc
        .institution_codes(&draft.audience_institutions)
        .await
        .unwrap_or_default();
    let mut form = BulletinForm::from_content(&draft, &codes);
    form.change_note = draft.change_note.clone().unwrap_or_default();
    let title = p.t("공지 수정", "Edit the bulletin");
    let action = format!("/bulletins/{id}/edit");
    p.page(
        title,
        html! { h1 { (title) } (form_page(&p, &action, &form, &[], d.view.row.version > 0)) },
    )
}

pub async fn update(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<BulletinForm>,
) -> Response {
    let p = f.portal;
    let form = f.form;
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let result = match form.input(&p, &st).await {
        Ok(input) => st.svc.update_bulletin(&p.actor, id, &input).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to(&format!("/bulletins/{id}")).into_response(),
        Err(e) if !e.field_errors().is_empty() => {
            let title = p.t("공지 수정", "Edit the bulletin");
            let errors = folded(e.field_errors());
            let correction = st
                .svc
                .bulletin_view(&p.actor, id)
                .await
                .is_ok_and(|v| v.row.version > 0);
            let action = format!("/bulletins/{id}/edit");
            p.page_with(
                StatusCode::UNPROCESSABLE_ENTITY,
                title,
                html! { h1 { (title) } (form_page(&p, &action, &form, &errors, correction)) },
            )
        }
        Err(e) => p.error(e),
    }
}

// ================================================================================ the page

fn content_block(p: &Portal, c: &BulletinContent, codes: &[String]) -> Markup {
    let tlp = c.tlp();
    html! {
        dl class="facts" {
            dt { (p.t("종류", "Kind")) } dd { (kind_text(p, &c.kind)) }
            dt { (p.t("심각도", "Severity")) } dd { (severity_text(p, &c.severity)) }
            dt { (p.t("수신 대상", "Audience")) } dd { (audience_text(p, c, codes)) }
            dt { "TLP" } dd { (tlp_badge(&c.tlp)) " " span class="small" { (p.t(tlp.definition_ko(), tlp.definition_en())) } }
        }
        div class="prose" lang="ko" { @for para in c.body_ko.split("\n\n") { p { (para) } } }
        @if let Some(en) = &c.body_en {
            @if p.lang == super::Lang::En {
                div class="prose" lang="en" { @for para in en.split("\n\n") { p { (para) } } }
            }
        }
        @if !c.lists.cves.is_empty() || !c.lists.cwes.is_empty() {
            h2 { (p.t("취약점", "Vulnerabilities")) }
            ul {
                @for cve in &c.lists.cves { li { code { (cve) } } }
                @for cwe in &c.lists.cwes { li { "CWE-" (cwe) } }
            }
        }
        @if !c.lists.products.is_empty() {
            h2 { (p.t("영향받는 제품", "Affected products")) }
            ul { @for x in &c.lists.products { li { (x) } } }
        }
        @if !c.lists.indicators.is_empty() {
            h2 { (p.t("침해지표", "Indicators")) }
            div class="table-wrap" { table {
                thead { tr { th scope="col" { (p.t("종류", "Kind")) } th scope="col" { (p.t("값", "Value")) } th scope="col" { (p.t("설명", "Note")) } } }
                tbody { @for i in &c.lists.indicators { tr { td { (i.kind) } td { code { (i.value) } } td { (i.note) } } } }
            } }
        }
        @if !c.lists.actions.is_empty() {
            h2 { (p.t("대응 권고", "Recommended actions")) }
            ol { @for a in &c.lists.actions { li { (a) } } }
        }
        @if !c.lists.sources.is_empty() {
            h2 { (p.t("출처", "Sources")) }
            ul { @for s in &c.lists.sources { li { (s) } } }
        }
    }
}

fn step_form(
    p: &Portal,
    id: i64,
    step: &str,
    label: &str,
    field: Option<(&str, &str)>,
    css: &str,
) -> Markup {
    html! {
        form method="post" action={ "/bulletins/" (id) "/" (step) } class="row" {
            (p.csrf_field())
            @if let Some((name, l)) = field {
                div class="field" {
                    label for={ (step) "-" (name) } { (l) }
                    input type="text" id={ (step) "-" (name) } name=(name);
                }
            }
            button type="submit" class=(css) { (label) }
        }
    }
}

pub async fn show(p: Portal, State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let d = match st.svc.bulletin_detail(&p.actor, id).await {
        Ok(d) => d,
        Err(e) => return p.error(e),
    };
    let row = &d.view.row;
    let shown = d
        .view
        .published
        .clone()
        .or_else(|| d.draft.clone())
        .unwrap_or_else(|| BulletinContent::from_row(row));
    let codes = st
        .svc
        .institution_codes(&shown.audience_institutions)
        .await
        .unwrap_or_default();
    let writer = p.may(Action::WriteBulletins);
    let title = title_of(&p, &shown).to_string();
    let body = html! {
        p { a href="/bulletins" { "← " (p.t("공지 목록", "All bulletins")) } }
        h1 { (title) }
        p {
            span class="badge" { (state_text(&p, &row.state)) }
            @if row.version > 0 { " " (p.t("판", "version")) " " (row.version) }
            @if let Some(t) = &row.published_at { " · " (kst_minute(t)) }
        }
        @if row.state == "withdrawn" {
            div class="alert error" role="alert" { p {
                (p.t("철회된 공지입니다. 사유: ", "This bulletin was withdrawn. Reason: "))
                (row.withdraw_reason.as_deref().unwrap_or("—"))
            } }
        }
        @if let Some(a) = &d.affected {
            section class="card" {
                h2 { (p.t("우리 기관 영향", "Affected in your estate")) }
                p { strong { (a.findings) } (p.t("건의 취약점 / ", " findings / ")) strong { (a.resources) } (p.t("개 전산자원", " resources")) }
                @if !a.finding_ids.is_empty() {
                    ul class="inline" { @for f in &a.finding_ids { li { a href={ "/findings/" (f) } { "#" (f) } } } }
                }
                @for cwe in &shown.lists.cwes { a href={ "/findings?cwe=" (cwe) } { "CWE-" (cwe) } " " }
            }
        }
        @if p.may(Action::AcknowledgeBulletins) && row.version > 0 && row.state != "withdrawn" {
            section {
                @match &d.my_ack {
                    Some(a) => p { span class="badge ok" { (p.t("확인함", "Acknowledged")) } " " (a.acknowledged_by) " · " (kst_minute(&a.acknowledged_at)) }
                    None => {
                        @if let Some(due) = &row.ack_due_at { p class="muted" { (p.t("확인 기한: ", "Acknowledge by: ")) (kst_minute(due)) } }
                        (step_form(&p, id, "acknowledge", p.t("확인", "Acknowledge"), None, "primary"))
                    }
                }
            }
        }
        (content_block(&p, &shown, &codes))
        @if let Some(draft) = &d.draft {
            @if d.view.published.is_some() {
                section class="card" {
                    h2 { (p.t("작성 중인 정정안", "Correction under way")) }
                    (content_block(&p, draft, &codes))
                }
            }
        }
        @if let Some(c) = &row.review_comment {
            @if row.state == "draft" { div class="alert" { p { (p.t("검토 의견: ", "Reviewer's comment: ")) (c) } } }
        }
        @if writer {
            section {
                h2 { (p.t("처리", "Steps")) }
                @match row.state.as_str() {
                    "draft" => {
                        p { a href={ "/bulletins/" (id) "/edit" } { (p.t("수정", "Edit")) } }
                        (step_form(&p, id, "submit", p.t("검토 요청", "Ask for review"), None, "primary"))
                    }
                    "in_review" => {
                        p class="muted" { (p.t("다른 담당자가 검토한 뒤 게시합니다. 검토 요청자: ", "A second person reviews and publishes. Submitted by: ")) (row.submitted_by.as_deref().unwrap_or("—")) }
                        (step_form(&p, id, "publish", p.t("검토 완료·게시", "Reviewed — publish"), None, "primary"))
                        (step_form(&p, id, "return", p.t("보완 요청", "Return for changes"), Some(("comment", p.t("보완할 내용", "What must change"))), ""))
                    }
                    "published" => {
                        (step_form(&p, id, "correct", p.t("정정 작성", "Write a correction"), None, ""))
                        (step_form(&p, id, "withdraw", p.t("철회", "Withdraw"), Some(("reason", p.t("철회 사유", "Reason"))), "danger"))
                    }
                    _ => {}
                }
            }
        }
        @if !d.acks.is_empty() {
            section {
                h2 { (p.t("기관별 확인 현황", "Acknowledgements by institution")) }
                p { (d.acks.iter().filter(|a| a.ack.is_some()).count()) " / " (d.acks.len()) (p.t(" 기관 확인", " institutions acknowledged")) }
                div class="table-wrap" { table {
                    thead { tr { th scope="col" { (p.t("기관", "Institution")) } th scope="col" { (p.t("확인자", "By")) } th scope="col" { (p.t("확인 시각", "At")) } th scope="col" { (p.t("상태", "State")) } } }
                    tbody { @for a in &d.acks {
                        tr {
                            td { (p.t(&a.institution_name_ko, &a.institution_name_en)) }
                            td { @if let Some(k) = &a.ack { (k.acknowledged_by) } @else { "—" } }
                            td { @if let Some(k) = &a.ack { (kst_minute(&k.acknowledged_at)) } @else { "—" } }
                            td { @if a.overdue { span class="badge bad" { (p.t("기한 경과", "Overdue")) } } @else if a.ack.is_some() { span class="badge ok" { (p.t("확인", "Acknowledged")) } } @else { span class="badge" { (p.t("미확인", "Not yet")) } } }
                        }
                    } }
                } }
            }
        }
        @if !d.versions.is_empty() {
            section {
                h2 { (p.t("게시 이력", "Versions")) }
                ul { @for v in &d.versions {
                    li {
                        (p.t("판 ", "Version ")) (v.version) " · " (kst_minute(&v.published_at)) " · " (p.t("작성 ", "written by ")) (v.published_by) ", " (p.t("검토·게시 ", "reviewed by ")) (v.reviewed_by)
                        @if let Some(n) = &v.change_note { " — " (p.t("정정: ", "changed: ")) (n) }
                        " · " a href={ "/bulletins/" (id) "/stix?version=" (v.version) } { "STIX 2.1" }
                    }
                } }
            }
        }
    };
    p.page(&title, body)
}

#[derive(Deserialize)]
pub struct VersionQuery {
    version: Option<i64>,
}

pub async fn stix(
    p: Portal,
    State(st): State<AppState>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<VersionQuery>,
) -> Response {
    let id = match parse_id(&p, &id) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    match st.svc.bulletin_bundle(&p.actor, id, q.version).await {
        Ok(json) => (
            [
                (header::CONTENT_TYPE, "application/stix+json;version=2.1"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"bulletin.stix.json\"",
                ),
            ],
            json,
        )
            .into_response(),
        Err(e) => p.error(e),
    }
}

#[derive(Deserialize, Default)]
pub struct StepForm {
    #[serde(default)]
    comment: String,
    #[serde(default)]
    reason: String,
}

async fn step(st: &AppState, f: CsrfForm<StepForm>, id: &str, which: &str) -> Response {
    let p = f.portal;
    let id = match parse_id(&p, id) {
        Ok(i) => i,
        Err(r) => return *r,
    };
    let svc = &st.svc;
    let r = match which {
        "submit" => svc.submit_bulletin(&p.actor, id).await,
        "return" => svc.return_bulletin(&p.actor, id, &f.form.comment).await,
        "publish" => svc.publish_bulletin(&p.actor, id).await.map(|_| ()),
        "correct" => svc.correct_bulletin(&p.actor, id).await,
        "withdraw" => svc.withdraw_bulletin(&p.actor, id, &f.form.reason).await,
        _ => svc.acknowledge_bulletin(&p.actor, id).await,
    };
    match r {
        Ok(()) if which == "correct" => {
            Redirect::to(&format!("/bulletins/{id}/edit")).into_response()
        }
        Ok(()) => Redirect::to(&format!("/bulletins/{id}")).into_response(),
        Err(e) => p.error(e),
    }
}

pub async fn submit(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<StepForm>,
) -> Response {
    step(&st, f, &id, "submit").await
}
pub async fn return_to_writer(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<StepForm>,
) -> Response {
    step(&st, f, &id, "return").await
}
pub async fn publish(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<StepForm>,
) -> Response {
    step(&st, f, &id, "publish").await
}
pub async fn correct(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<StepForm>,
) -> Response {
    step(&st, f, &id, "correct").await
}
pub async fn withdraw(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<StepForm>,
) -> Response {
    step(&st, f, &id, "withdraw").await
}
pub async fn acknowledge(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<StepForm>,
) -> Response {
    step(&st, f, &id, "acknowledge").await
}
