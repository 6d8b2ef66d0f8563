//! The web portal: server-rendered pages (maud, compile-time checked, escaped by default) in
//! Korean (default) and English, with sessions kept in the database, CSRF-checked forms and one
//! route table that the authorisation matrix test enumerates.
//!
//! This module is the frame every page shares: the route table, the language, the signed-in
//! user ([`Portal`]), CSRF-checked form bodies ([`CsrfForm`], [`CsrfMultipart`]), the layout,
//! error pages and pagination. Pages live in the submodules, one per area. No page decides what
//! a user may do: it calls the service, which does (`haechi_service::authz`); the navigation
//! only hides links the role could not use anyway.
//!
//! Pages carry no inline script or style (the Content-Security-Policy forbids both): styling is
//! in `assets/haechi.css`, the little progressive-enhancement script in `assets/haechi.js`.

pub mod account;
pub mod advisory;
pub mod applications;
pub mod audit;
pub mod bodies;
pub mod cohorts;
pub mod dashboard;
pub mod fields;
pub mod findings;
pub mod guidelines;
pub mod immunity;
pub mod insight;
pub mod letters;
pub mod patching;
pub mod registry;
pub mod removal;
pub mod reports;
pub mod response_team;
pub mod reviews;
pub mod sharing;
pub mod support;
pub mod users;
pub mod when;

pub use when::{days_ago, kst_day, kst_minute, kst_second, money};

use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use haechi_core::{Actor, FieldError, Role};
use haechi_service::authz::{allows, Action};
use haechi_service::sessions::SessionInfo;
use haechi_service::ServiceError;
use maud::{html, Markup, DOCTYPE};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::AppState;

pub const SESSION_COOKIE: &str = "haechi_session";
pub const LANG_COOKIE: &str = "haechi_lang";
/// Double-submit cookie protecting the sign-in form, which has no session yet.
pub const PRE_COOKIE: &str = "haechi_pre";

// ================================================================================ route table

/// One page route. The authorisation matrix test (`tests/api.rs`) enumerates these with the API
/// routes; a route missing from its matrix fails that test.
pub struct PageRoute {
    pub method: Method,
    pub path: &'static str,
    pub handler: MethodRouter<AppState>,
}

pub fn get(path: &'static str, handler: MethodRouter<AppState>) -> PageRoute {
    PageRoute {
        method: Method::GET,
        path,
        handler,
    }
}

pub fn post(path: &'static str, handler: MethodRouter<AppState>) -> PageRoute {
    PageRoute {
        method: Method::POST,
        path,
        handler,
    }
}

/// Builds a GET route from a handler.
#[macro_export]
macro_rules! page_get {
    ($path:literal, $handler:expr) => {
        $crate::portal::get($path, axum::routing::get($handler))
    };
}

/// Builds a POST route from a handler.
#[macro_export]
macro_rules! page_post {
    ($path:literal, $handler:expr) => {
        $crate::portal::post($path, axum::routing::post($handler))
    };
}

/// Every page of the portal.
pub fn portal_routes() -> Vec<PageRoute> {
    let mut routes = vec![
        PageRoute {
            method: Method::GET,
            path: "/assets/haechi.css",
            handler: on(MethodFilter::GET, css),
        },
        PageRoute {
            method: Method::GET,
            path: "/assets/haechi.js",
            handler: on(MethodFilter::GET, js),
        },
        page_get!("/lang", switch_lang),
    ];
    routes.extend(account::routes());
    routes.extend(dashboard::routes());
    routes.extend(registry::routes());
    routes.extend(applications::routes());
    routes.extend(reviews::routes());
    routes.extend(cohorts::routes());
    routes.extend(letters::routes());
    routes.extend(audit::routes());
    routes.extend(findings::routes());
    routes.extend(patching::routes());
    routes.extend(reports::routes());
    routes.extend(immunity::routes());
    routes.extend(bodies::routes());
    routes.extend(advisory::routes());
    routes.extend(guidelines::routes());
    routes.extend(response_team::routes());
    routes.extend(removal::routes());
    routes.extend(insight::routes());
    routes.extend(users::routes());
    routes.extend(sharing::routes());
    routes.extend(support::routes());
    routes
}

/// Routes anyone may open without signing in (the matrix test expects them to answer 200 to
/// everybody).
pub const PUBLIC_PATHS: &[&str] = &[
    "/assets/haechi.css",
    "/assets/haechi.js",
    "/lang",
    "/login",
    "/verify",
];

async fn css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../assets/haechi.css"),
    )
}

async fn js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../assets/haechi.js"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// Security headers on every page: no framing, no inline script or style, no sniffing.
pub async fn security_headers(req: Request, next: axum::middleware::Next) -> Response {
    let lang = Lang::of_request(req.uri(), req.headers());
    let mut resp = PAGE_LANG.scope(lang, next.run(req)).await;
    let h = resp.headers_mut();
    let is_html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        // A response that set its own policy keeps it (an evidence file is served sandboxed).
        if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
                ),
            );
        }
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

// ================================================================================ language

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Ko,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ko => "ko",
            Lang::En => "en",
        }
    }

    /// Picks the Korean or the English text; both sit side by side in the page code so that
    /// neither language can be forgotten.
    pub fn t<'a>(self, ko: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Ko => ko,
            Lang::En => en,
        }
    }

    fn parse(s: &str) -> Option<Lang> {
        match s {
            "ko" => Some(Lang::Ko),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// `?lang=` first, then the cookie (the user's choice), then the browser's
    /// `Accept-Language`, then Korean.
    pub fn of(parts: &Parts) -> Lang {
        Lang::of_request(&parts.uri, &parts.headers)
    }

    /// [`Lang::of`] over a request's URI and headers.
    pub fn of_request(uri: &axum::http::Uri, headers: &HeaderMap) -> Lang {
        let from_query = uri.query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("lang="))
                .and_then(Lang::parse)
        });
        from_query
            .or_else(|| cookie(headers, LANG_COOKIE).and_then(|v| Lang::parse(&v)))
            .or_else(|| {
                headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Lang::from_accept_language)
            })
            .unwrap_or_default()
    }

    /// The language a browser prefers among Korean and English (`Accept-Language`, by weight,
    /// then by order); `None` when it names neither.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(u32, usize, Lang)> = None;
        for (i, item) in header.split(',').enumerate() {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let lang = match tag.split('-').next().unwrap_or("") {
                "ko" => Lang::Ko,
                "en" => Lang::En,
                _ => continue,
            };
            // Weights in thousandths, so they compare exactly.
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f64>().ok())
                .map_or(1000, |q| (q.clamp(0.0, 1.0) * 1000.0).round() as u32);
            if q == 0 {
                continue;
            }
            if best.is_none_or(|(bq, _, _)| q > bq) {
                best = Some((q, i, lang));
            }
        }
        best.map(|(_, _, l)| l)
    }

    /// The language of the page being answered (set for every request by
    /// [`security_headers`]); Korean outside a request.
    pub fn current() -> Lang {
        PAGE_LANG.try_with(|l| *l).unwrap_or_default()
    }
}

tokio::task_local! {
    /// The language of the request being answered, so that shared helpers (field errors) speak
    /// it without every page passing it down.
    static PAGE_LANG: Lang;
}

/// The value of one cookie of the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// A `Set-Cookie` value: always `HttpOnly`, `SameSite=Lax`, path `/`; `Secure` unless the
/// server runs in demo mode over plain HTTP.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if state.secure_cookies {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// A path to return to after signing in or switching language: only local paths, so that the
/// parameter cannot send the user to another site.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_string(),
        _ => "/".to_string(),
    }
}

#[derive(Deserialize)]
struct LangSwitch {
    to: String,
    next: Option<String>,
}

async fn switch_lang(
    axum::extract::State(st): axum::extract::State<AppState>,
    axum::extract::Query(q): axum::extract::Query<LangSwitch>,
) -> Response {
    let lang = Lang::parse(&q.to).unwrap_or_default();
    let mut resp = Redirect::to(&local_path(q.next.as_deref())).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&st, LANG_COOKIE, lang.code(), Some(365 * 24 * 3600)),
    );
    resp
}

// ================================================================================ the user

/// The signed-in user of a page request, with the page's language. Without a live session the
/// request is redirected to the sign-in page, which then returns here.
pub struct Portal {
    pub lang: Lang,
    pub actor: Actor,
    pub display_name: String,
    pub csrf: String,
    /// The cookie value of the session (for sign-out and password change).
    pub session_cookie: String,
    /// Path and query of this request, for links back to it.
    pub here: String,
}

impl Portal {
    pub fn t<'a>(&self, ko: &'a str, en: &'a str) -> &'a str {
        self.lang.t(ko, en)
    }

    pub fn may(&self, action: Action) -> bool {
        allows(self.actor.role, action)
    }

    /// The hidden CSRF field every form of a signed-in page carries (first, so that multipart
    /// forms can be checked before their files are read).
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="_csrf" value=(self.csrf); }
    }

    /// A complete page in the portal's frame.
    pub fn page(&self, title: &str, body: Markup) -> Response {
        Html200(layout(self.lang, Some(self), title, &self.here, body)).into_response()
    }

    /// A page answered with a status other than 200 (a form with errors: 422).
    pub fn page_with(&self, status: StatusCode, title: &str, body: Markup) -> Response {
        (
            status,
            Html200(layout(self.lang, Some(self), title, &self.here, body)),
        )
            .into_response()
    }

    /// An error page for a service error, in the page's language.
    pub fn error(&self, e: ServiceError) -> Response {
        error_response(self.lang, Some(self), e)
    }
}

/// Why a page request has no user.
pub enum NoSession {
    Redirect(String),
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        match self {
            NoSession::Redirect(to) => Redirect::to(&to).into_response(),
        }
    }
}

fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent-encodes a query value.
/// A record id from the path; anything that is not an id is "not found", like an id that is.
pub(crate) fn parse_id(raw: &str) -> Result<i64, ServiceError> {
    raw.parse::<i64>().map_err(|_| ServiceError::NotFound)
}

pub fn url_encode(s: &str) -> String {
    encode_component(s).replace('/', "%2F")
}

impl FromRequestParts<AppState> for Portal {
    type Rejection = NoSession;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::of(parts);
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let login = |expired: bool| {
            let next = if parts.method == Method::GET {
                here.clone()
            } else {
                "/".into()
            };
            NoSession::Redirect(format!(
                "/login?next={}{}",
                encode_component(&next),
                if expired { "&expired=1" } else { "" }
            ))
        };
        let Some(value) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(login(false));
        };
        match state.svc.session(&value).await {
            Ok(SessionInfo {
                actor,
                display_name,
                csrf_token,
            }) => Ok(Portal {
                lang,
                actor,
                display_name,
                csrf: csrf_token,
                session_cookie: value,
                here,
            }),
            Err(ServiceError::Unauthenticated) => Err(login(true)),
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                Err(login(false))
            }
        }
    }
}

/// The language of a page that needs no user (sign-in, public pages).
pub struct Visitor {
    pub lang: Lang,
    pub here: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Visitor {
            lang: Lang::of(parts),
            here: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into()),
        })
    }
}

// ================================================================================ forms

/// A form post from a signed-in page whose `_csrf` field matched the session's token. A post
/// without it (or with another session's token) is refused with 403 and a page saying so;
/// nothing is changed.
pub struct CsrfForm<T> {
    pub portal: Portal,
    pub form: T,
}

/// Field values of a urlencoded form.
#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

/// A refused form post.
pub struct FormRejection(Response);

impl IntoResponse for FormRejection {
    fn into_response(self) -> Response {
        self.0
    }
}

fn csrf_refused(lang: Lang, portal: Option<&Portal>) -> Response {
    let body = html! {
        h1 { (lang.t("요청을 처리할 수 없습니다", "The request was refused")) }
        p role="alert" class="alert error" {
            (lang.t(
                "보안 토큰(CSRF)이 없거나 맞지 않아 아무것도 변경하지 않았습니다. 페이지를 새로 고친 뒤 다시 시도하십시오.",
                "The form's security token (CSRF) was missing or did not match, so nothing was changed. Reload the page and try again.",
            ))
        }
    };
    let here = portal.map(|p| p.here.clone()).unwrap_or_default();
    (
        StatusCode::FORBIDDEN,
        Html200(layout(
            lang,
            portal,
            lang.t("요청 거부", "Request refused"),
            &here,
            body,
        )),
    )
        .into_response()
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let portal = Portal::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let lang = portal.lang;
        let bytes = axum::body::to_bytes(body, 1024 * 1024).await.map_err(|_| {
            error_response(
                lang,
                Some(&portal),
                ServiceError::TooLarge("the form is larger than 1 MiB".into()),
            )
        })?;
        let token = serde_urlencoded::from_bytes::<CsrfOnly>(&bytes)
            .ok()
            .and_then(|c| c.csrf);
        if !token.is_some_and(|t| constant_time_eq(&t, &portal.csrf)) {
            tracing::warn!(user = %portal.actor.username, path = %portal.here, "form refused: CSRF token missing or wrong");
            return Err(csrf_refused(lang, Some(&portal)));
        }
        let form = serde_urlencoded::from_bytes::<T>(&bytes)
            .map_err(|e| bad_form(lang, Some(&portal), &e.to_string()))?;
        Ok(CsrfForm { portal, form })
    }
}

/// A malformed form body (a field of the wrong type, a missing field): 400, nothing changed.
fn bad_form(lang: Lang, portal: Option<&Portal>, detail: &str) -> Response {
    let body = html! {
        h1 { (lang.t("입력 형식이 올바르지 않습니다", "The form could not be read")) }
        p role="alert" class="alert error" {
            (lang.t("아무것도 변경하지 않았습니다. 원인: ", "Nothing was changed. Reason: ")) (detail)
        }
    };
    let here = portal.map(|p| p.here.clone()).unwrap_or_default();
    (
        StatusCode::BAD_REQUEST,
        Html200(layout(
            lang,
            portal,
            lang.t("잘못된 입력", "Bad input"),
            &here,
            body,
        )),
    )
        .into_response()
}

/// A multipart form post (file uploads) from a signed-in page. The `_csrf` field must come
/// first (every page puts it first), so it is checked before any file is read.
pub struct CsrfMultipart {
    pub portal: Portal,
    pub multipart: Multipart,
}

impl FromRequest<AppState> for CsrfMultipart {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let portal = Portal::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let lang = portal.lang;
        let req = Request::from_parts(parts, body);
        let mut multipart = Multipart::from_request(req, state)
            .await
            .map_err(|e| bad_form(lang, Some(&portal), &e.body_text()))?;
        let first = match multipart.next_field().await {
            // A body over the router's limit fails at once: say so, not "CSRF".
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(error_response(
                    lang,
                    Some(&portal),
                    ServiceError::TooLarge(
                        lang.t(
                            "올린 파일이 허용된 크기보다 커서 아무것도 저장하지 않았습니다.",
                            "The upload is larger than allowed, so nothing was saved.",
                        )
                        .to_string(),
                    ),
                ));
            }
            r => r.ok().flatten(),
        };
        let ok = match first {
            Some(f) if f.name() == Some("_csrf") => f
                .text()
                .await
                .ok()
                .is_some_and(|t| constant_time_eq(&t, &portal.csrf)),
            _ => false,
        };
        if !ok {
            tracing::warn!(user = %portal.actor.username, path = %portal.here, "upload refused: CSRF token missing or wrong");
            return Err(csrf_refused(lang, Some(&portal)));
        }
        Ok(CsrfMultipart { portal, multipart })
    }
}

/// The error of one field, if any, for display next to it, in the page's language
/// ([`fields`] translates the service's messages).
pub fn field_error(errors: &[FieldError], field: &str) -> Option<String> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| fields::localized(Lang::current(), e))
}

/// A service error as one sentence in the page's language: field errors by label (never a raw
/// field path), other errors as the service words them.
pub fn error_text(lang: Lang, e: &ServiceError) -> String {
    if e.field_errors().is_empty() {
        return fields::message(lang, &e.to_string());
    }
    e.field_errors()
        .iter()
        .map(|f| {
            format!(
                "{}: {}",
                fields::field_label(lang, &f.field),
                fields::localized(lang, f)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A labelled form control with its error message next to it (`aria-describedby`).
pub fn control(label: &str, name: &str, errors: &[FieldError], input: Markup) -> Markup {
    let err = field_error(errors, name);
    html! {
        div class={ "field" @if err.is_some() { " invalid" } } {
            label for=(name) { (label) }
            (input)
            @if let Some(msg) = err {
                p class="field-error" id={ (name) "-error" } role="alert" { (msg) }
            }
        }
    }
}

/// A summary of form errors at the top of a form.
pub fn error_summary(lang: Lang, errors: &[FieldError]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="alert error" role="alert" {
                p { strong { (lang.t("입력을 확인하십시오. 아무것도 저장하지 않았습니다.", "Please check the form. Nothing was saved.")) } }
                ul {
                    @for e in errors {
                        li {
                            @if let Some(r) = e.row { (lang.t("행 ", "row ")) (r) " · " }
                            a href={ "#" (e.field) } { (fields::field_label(lang, &e.field)) } ": " (fields::localized(lang, e))
                        }
                    }
                }
            }
        }
    }
}

// ================================================================================ layout

/// An HTML body answered as `text/html; charset=utf-8`.
pub struct Html200(pub Markup);

impl IntoResponse for Html200 {
    fn into_response(self) -> Response {
        (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            self.0.into_string(),
        )
            .into_response()
    }
}

/// One entry of the main navigation: shown only to roles that may take its action.
struct NavItem {
    path: &'static str,
    ko: &'static str,
    en: &'static str,
    shown: fn(Role) -> bool,
}

const NAV: &[NavItem] = &[
    NavItem {
        path: "/",
        ko: "대시보드",
        en: "Dashboard",
        shown: |_| true,
    },
    NavItem {
        path: "/institutions",
        ko: "기관",
        en: "Institutions",
        shown: |r| allows(r, Action::ReadRegistry),
    },
    NavItem {
        path: "/screening",
        ko: "적격성 심사",
        en: "Eligibility",
        shown: |r| allows(r, Action::ReadScreening),
    },
    NavItem {
        path: "/applications",
        ko: "신청",
        en: "Applications",
        shown: |r| allows(r, Action::ReadApplication) && r != Role::Advisor,
    },
    NavItem {
        path: "/reviews",
        ko: "평가",
        en: "Reviews",
        shown: |r| allows(r, Action::Review),
    },
    NavItem {
        path: "/cohorts",
        ko: "단계별 허용",
        en: "Phases",
        shown: |r| allows(r, Action::ReadProgram),
    },
    NavItem {
        path: "/letters",
        ko: "비조치의견서",
        en: "Letters",
        shown: |r| allows(r, Action::ReadLetters),
    },
    NavItem {
        path: "/reports",
        ko: "보고서",
        en: "Reports",
        shown: |r| allows(r, Action::ReadLetters),
    },
    NavItem {
        path: "/insight",
        ko: "업권 인사이트",
        en: "Sector insight",
        shown: |r| allows(r, Action::ReadSectorInsight),
    },
    NavItem {
        path: "/sector",
        ko: "업권 현황",
        en: "Sector view",
        shown: |r| allows(r, Action::ReadSectorView),
    },
    NavItem {
        path: "/immunity",
        ko: "면책 심사",
        en: "Immunity",
        shown: |r| allows(r, Action::ReadImmunity),
    },
    NavItem {
        path: "/incidents",
        ko: "전산사고 보고",
        en: "Incidents",
        shown: |r| allows(r, Action::ReadImmunity),
    },
    NavItem {
        path: "/funding",
        ko: "핀테크 지원",
        en: "Funding",
        shown: |r| allows(r, Action::ReadFunding),
    },
    NavItem {
        path: "/advisory",
        ko: "자문단",
        en: "Advisory group",
        shown: |r| allows(r, Action::ReadAdvisory),
    },
    NavItem {
        path: "/advisory/me",
        ko: "나의 자문단 임기",
        en: "My term",
        shown: |r| allows(r, Action::ReadOwnMembership),
    },
    NavItem {
        path: "/guidelines",
        ko: "가이드라인",
        en: "Guidelines",
        shown: |r| allows(r, Action::ReadGuidelines),
    },
    NavItem {
        path: "/response",
        ko: "AI 보안 대응반",
        en: "Response team",
        shown: |r| allows(r, Action::ReadResponseTeam),
    },
    NavItem {
        path: "/removal",
        ko: "완전 해제 검토",
        en: "Full removal",
        shown: |r| allows(r, Action::ReadRemovalTrack),
    },
    NavItem {
        path: "/support",
        ko: "지원센터 상담",
        en: "Support cases",
        shown: |r| allows(r, Action::ReadSupport),
    },
    NavItem {
        path: "/resources",
        ko: "전산자원",
        en: "Resources",
        shown: |r| allows(r, Action::ReadFindings),
    },
    NavItem {
        path: "/findings",
        ko: "취약점",
        en: "Findings",
        shown: |r| allows(r, Action::ReadFindings),
    },
    NavItem {
        path: "/queue",
        ko: "패치 대기열",
        en: "Patch queue",
        shown: |r| allows(r, Action::ReadFindings),
    },
    NavItem {
        path: "/saas",
        ko: "보안 SaaS",
        en: "Security SaaS",
        shown: |r| allows(r, Action::ReadFindings),
    },
    NavItem {
        path: "/advisories",
        ko: "긴급 패치 권고",
        en: "Advisories",
        shown: |r| allows(r, Action::ReadFeeds) && r != Role::Advisor,
    },
    NavItem {
        path: "/bulletins",
        ko: "보안 정보 공유",
        en: "Bulletins",
        shown: |r| allows(r, Action::ReadBulletins),
    },
    NavItem {
        path: "/feeds",
        ko: "위협 피드",
        en: "Threat feeds",
        shown: |r| allows(r, Action::ReadFeeds) && r != Role::Advisor,
    },
    NavItem {
        path: "/users",
        ko: "사용자",
        en: "Users",
        shown: |r| allows(r, Action::ManageUsers),
    },
    NavItem {
        path: "/audit",
        ko: "감사 로그",
        en: "Audit log",
        shown: |r| allows(r, Action::ReadAudit),
    },
];

/// The role's name in the page's language.
pub fn role_name(lang: Lang, role: Role) -> &'static str {
    match role {
        Role::RegulatorAdmin => lang.t("감독당국 관리자", "Regulator admin"),
        Role::RegulatorOfficer => lang.t("감독당국 담당자", "Regulator officer"),
        Role::Analyst => lang.t("분석가", "Analyst"),
        Role::SupportCenter => lang.t("지원센터", "Support center"),
        Role::Advisor => lang.t("외부 평가위원", "Advisor"),
        Role::Ciso => lang.t("정보보호최고책임자", "CISO"),
        Role::SecurityStaff => lang.t("보안 담당자", "Security staff"),
        Role::Auditor => lang.t("감사인", "Auditor"),
    }
}

/// The frame of every page: header, navigation (by role), language switch, sign-out, content.
pub fn layout(
    lang: Lang,
    portal: Option<&Portal>,
    title: &str,
    here: &str,
    body: Markup,
) -> Markup {
    let other = match lang {
        Lang::Ko => ("en", "English"),
        Lang::En => ("ko", "한국어"),
    };
    let path_only = here.split('?').next().unwrap_or("/");
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Haechi" }
                link rel="stylesheet" href="/assets/haechi.css";
                script src="/assets/haechi.js" defer {}
            }
            body {
                a class="skip" href="#main" { (lang.t("본문 바로가기", "Skip to content")) }
                header class="top" {
                    a class="brand" href="/" {
                        span { "Haechi" }
                        span class="mark" lang="ko" { "해치" }
                        small { (lang.t("금융권 AI 보안 규제특례 관리", "AI security program for the financial sector")) }
                    }
                    div class="tools" {
                        a href={ "/lang?to=" (other.0) "&next=" (url_encode(here)) } lang=(other.0) { (other.1) }
                        @if let Some(p) = portal {
                            a href="/account" class="who" {
                                (p.display_name) " · " (role_name(lang, p.actor.role))
                            }
                            form method="post" action="/logout" class="inline" {
                                (p.csrf_field())
                                button type="submit" class="link" { (lang.t("로그아웃", "Sign out")) }
                            }
                        }
                    }
                }
                @if let Some(p) = portal {
                    nav class="main" aria-label=(lang.t("주 메뉴", "Main menu")) {
                        ul {
                            @for item in NAV.iter().filter(|i| (i.shown)(p.actor.role)) {
                                @let current = if item.path == "/" { path_only == "/" } else { path_only.starts_with(item.path) };
                                li {
                                    a href=(item.path) aria-current=[current.then_some("page")] { (lang.t(item.ko, item.en)) }
                                }
                            }
                        }
                    }
                }
                main id="main" {
                    (body)
                }
                footer {
                    p { (lang.t(
                        "Haechi — 금융위원회 혁신금융 규제특례(비조치의견서) 운영 플랫폼. 공개 소프트웨어(Apache-2.0).",
                        "Haechi — runs the FSC's no-action-letter program for AI and security SaaS. Open source (Apache-2.0).",
                    )) }
                }
            }
        }
    }
}

// ================================================================================ errors

/// The page for a service error. "Not found" is also what another tenant's record answers, so
/// the page never says whether the record exists.
pub fn error_response(lang: Lang, portal: Option<&Portal>, e: ServiceError) -> Response {
    if matches!(e, ServiceError::Unauthenticated) {
        return Redirect::to("/login?expired=1").into_response();
    }
    let status = crate::error::status_of(&e);
    let (title, text) = match &e {
        ServiceError::NotFound => (
            lang.t("페이지를 찾을 수 없습니다", "Page not found"),
            lang.t(
                "요청하신 항목이 없거나 볼 권한이 없습니다.",
                "What you asked for does not exist or is not yours to see.",
            )
            .to_string(),
        ),
        ServiceError::Forbidden(what) if *what == haechi_service::support::SELF_SERVICE_REFUSAL => (
            lang.t("이용할 수 없습니다", "Not open to your firm"),
            lang.t(
                "소규모 금융회사와 핀테크는 비조치의견서가 있거나 AI 보안지원센터의 지원 대상으로 선정되면 취약점 접수와 패치 대기열을 이용할 수 있습니다. 지원센터 상담에서 문의하십시오.",
                "A small firm or fintech uses the findings intake and the patch queue with a no-action letter in force or a funding award of the AI Security Support Center. Ask the support center through a case.",
            )
            .to_string(),
        ),
        ServiceError::Forbidden(what) => (
            lang.t("권한이 없습니다", "Not allowed"),
            format!(
                "{} ({what})",
                lang.t(
                    "이 역할로는 할 수 없는 작업입니다",
                    "Your role may not do this"
                )
            ),
        ),
        ServiceError::Store(inner) => {
            tracing::error!(error = %inner, "storage failure");
            (
                lang.t("내부 오류", "Internal error"),
                lang.t(
                    "내부 오류가 발생하여 기록되었습니다.",
                    "An internal error occurred; it has been logged.",
                )
                .to_string(),
            )
        }
        other if !other.field_errors().is_empty() => (
            lang.t(
                "요청을 처리할 수 없습니다",
                "The request could not be completed",
            ),
            lang.t(
                "입력을 확인하십시오. 아무것도 변경하지 않았습니다.",
                "Please check the input. Nothing was changed.",
            )
            .to_string(),
        ),
        other => (
            lang.t(
                "요청을 처리할 수 없습니다",
                "The request could not be completed",
            ),
            error_text(lang, other),
        ),
    };
    let body = html! {
        h1 { (title) }
        p role="alert" class="alert error" { (text) }
        @if !e.field_errors().is_empty() {
            (error_summary(lang, e.field_errors()))
        }
        p { a href="/" { (lang.t("처음으로", "Back to the start")) } }
    };
    let here = portal.map(|p| p.here.clone()).unwrap_or_default();
    (status, Html200(layout(lang, portal, title, &here, body))).into_response()
}

/// The not-found page for paths no route matches (the API answers JSON instead).
pub async fn fallback(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        return crate::api::not_found().await;
    }
    let (parts, _) = req.into_parts();
    error_response(Lang::of(&parts), None, ServiceError::NotFound)
}

// ================================================================================ names

/// The institutions' names the user may read, by id, in Korean and English: for pages whose
/// rows carry only the stored (Korean) name. Empty when the role reads no institution.
pub async fn institution_names(
    st: &AppState,
    p: &Portal,
) -> std::collections::HashMap<i64, (String, String)> {
    if let Ok(v) = st.svc.finding_institution_names(&p.actor).await {
        if !v.is_empty() {
            return v.into_iter().map(|(id, ko, en)| (id, (ko, en))).collect();
        }
    }
    let filter = haechi_store::InstitutionFilter {
        limit: 1000,
        ..Default::default()
    };
    match st.svc.list_institutions(&p.actor, &filter).await {
        Ok((list, _)) => list
            .into_iter()
            .map(|i| (i.id, (i.input.name_ko, i.input.name_en)))
            .collect(),
        Err(_) => Default::default(),
    }
}

/// An institution's name in the page's language: the registry's English name on English pages
/// when known, else the stored name.
pub fn institution_label(
    lang: Lang,
    names: &std::collections::HashMap<i64, (String, String)>,
    id: i64,
    stored: &str,
) -> String {
    match (lang, names.get(&id)) {
        (Lang::En, Some((_, en))) if !en.trim().is_empty() => en.clone(),
        _ => stored.to_string(),
    }
}

/// A free text written in both languages as `한국어 / English` (the demo's and many
/// institutions' habit) shown in the page's language; any other text as it is.
pub fn bilingual(lang: Lang, text: &str) -> String {
    let has_hangul = |s: &str| s.chars().any(|c| ('\u{AC00}'..='\u{D7A3}').contains(&c));
    match text.split_once(" / ") {
        Some((ko, en)) if has_hangul(ko) && !has_hangul(en) => {
            lang.t(ko.trim(), en.trim()).to_string()
        }
        _ => text.to_string(),
    }
}

// ================================================================================ lists

/// `?page=` of a paginated list (1-based).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct PageNo {
    #[serde(default = "one")]
    pub page: u32,
}

fn one() -> u32 {
    1
}

pub const PER_PAGE: u32 = 50;

impl PageNo {
    pub fn offset(self) -> i64 {
        i64::from(self.page.max(1) - 1) * i64::from(PER_PAGE)
    }
}

/// Previous/next links for a list; `base` is the list URL with its filters and without `page`.
pub fn pager(lang: Lang, base: &str, page: u32, has_next: bool) -> Markup {
    let sep = if base.contains('?') { '&' } else { '?' };
    html! {
        nav class="pager" aria-label=(lang.t("페이지", "Pages")) {
            @if page > 1 {
                a rel="prev" href={ (base) (sep) "page=" (page - 1) } { "← " (lang.t("이전", "Previous")) }
            }
            span { (lang.t("페이지 ", "Page ")) (page) }
            @if has_next {
                a rel="next" href={ (base) (sep) "page=" (page + 1) } { (lang.t("다음", "Next")) " →" }
            }
        }
    }
}
