//! Signing in and out, the user's own account: password change and API tokens.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use haechi_core::FieldError;
use haechi_service::ServiceError;
use maud::{html, Markup};
use serde::Deserialize;

use super::{
    control, cookie, error_summary, layout, local_path, role_name, set_cookie, CsrfForm, Html200,
    Lang, PageRoute, Portal, Visitor, PRE_COOKIE, SESSION_COOKIE,
};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/login", login_form),
        page_post!("/login", login_submit),
        page_post!("/logout", logout),
        page_get!("/account", account_page),
        page_post!("/account/password", change_password),
        page_post!("/account/tokens", issue_token),
        page_post!("/account/tokens/{id}/revoke", revoke_token),
    ]
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

fn random_pre() -> String {
    use rand::RngCore;
    let mut raw = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut raw);
    hex::encode(raw)
}

/// The sign-in page. `status` and `message` come from a failed attempt.
fn login_page(
    st: &AppState,
    lang: Lang,
    pre: Option<String>,
    next: &str,
    username: &str,
    message: Option<String>,
    status: StatusCode,
) -> Response {
    let pre_value = pre.unwrap_or_else(random_pre);
    let body = html! {
        section class="narrow" {
            h1 { (lang.t("로그인", "Sign in")) }
            @if let Some(m) = &message {
                p class="alert error" role="alert" { (m) }
            }
            form method="post" action="/login" class="stack" {
                input type="hidden" name="_pre" value=(pre_value);
                input type="hidden" name="next" value=(next);
                div class="field" {
                    label for="username" { (lang.t("아이디", "Username")) }
                    input id="username" name="username" type="text" autocomplete="username" required value=(username);
                }
                div class="field" {
                    label for="password" { (lang.t("비밀번호", "Password")) }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                }
                button type="submit" class="primary" { (lang.t("로그인", "Sign in")) }
            }
            p class="muted" {
                (lang.t("비조치의견서 진위 확인은 로그인 없이 ", "Anyone can check a no-action letter without signing in at "))
                a href="/verify" { "/verify" }
                (lang.t("에서 할 수 있습니다.", "."))
            }
        }
    };
    let mut resp = (
        status,
        Html200(layout(
            lang,
            None,
            lang.t("로그인", "Sign in"),
            "/login",
            body,
        )),
    )
        .into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(st, PRE_COOKIE, &pre_value, None),
    );
    resp
}

async fn login_form(
    State(st): State<AppState>,
    v: Visitor,
    Query(q): Query<LoginQuery>,
    req: Request,
) -> Response {
    let message = q.expired.as_ref().map(|_| {
        v.lang
            .t(
                "세션이 만료되었습니다. 다시 로그인하십시오.",
                "Your session has ended. Please sign in again.",
            )
            .to_string()
    });
    let pre = cookie(req.headers(), PRE_COOKIE);
    login_page(
        &st,
        v.lang,
        pre,
        &local_path(q.next.as_deref()),
        "",
        message,
        StatusCode::OK,
    )
}

/// The peer address of the connection (for the per-address login throttle), when the server
/// was started with connect info.
pub struct ClientAddr(Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
        ))
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(rename = "_pre", default)]
    pre: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login_submit(
    State(st): State<AppState>,
    v: Visitor,
    ClientAddr(address): ClientAddr,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let lang = v.lang;
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&body) else {
        return login_page(
            &st,
            lang,
            None,
            "/",
            "",
            Some(
                lang.t(
                    "입력 형식이 올바르지 않습니다.",
                    "The form could not be read.",
                )
                .into(),
            ),
            StatusCode::BAD_REQUEST,
        );
    };
    let next = local_path(form.next.as_deref());
    let pre_cookie = cookie(&headers, PRE_COOKIE);
    if pre_cookie.as_deref() != Some(form.pre.as_str()) || form.pre.is_empty() {
        tracing::warn!("sign-in refused: CSRF cookie missing or wrong");
        return login_page(
            &st,
            lang,
            None,
            &next,
            &form.username,
            Some(
                lang.t(
                    "보안 토큰(CSRF)이 맞지 않습니다. 다시 시도하십시오.",
                    "The form's security token (CSRF) did not match. Please try again.",
                )
                .into(),
            ),
            StatusCode::FORBIDDEN,
        );
    }
    match st
        .svc
        .login(form.username.trim(), &form.password, address.as_deref())
        .await
    {
        Ok(s) => {
            let mut resp = Redirect::to(&next).into_response();
            let h = resp.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(&st, SESSION_COOKIE, &s.cookie_value, None),
            );
            h.append(header::SET_COOKIE, set_cookie(&st, PRE_COOKIE, "", Some(0)));
            resp
        }
        Err(ServiceError::Throttled(secs)) => login_page(
            &st,
            lang,
            pre_cookie,
            &next,
            &form.username,
            Some(match lang {
                Lang::Ko => format!(
                    "로그인 실패가 반복되어 잠시 제한되었습니다. {secs}초 후에 다시 시도하십시오."
                ),
                Lang::En => format!("Too many failed sign-ins. Try again in {secs} seconds."),
            }),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(ServiceError::Unauthenticated) => login_page(
            &st,
            lang,
            pre_cookie,
            &next,
            &form.username,
            Some(
                lang.t(
                    "아이디 또는 비밀번호가 올바르지 않습니다.",
                    "Wrong username or password.",
                )
                .into(),
            ),
            StatusCode::UNAUTHORIZED,
        ),
        Err(e) => super::error_response(lang, None, e),
    }
}

#[derive(Deserialize)]
pub struct Empty {}

async fn logout(State(st): State<AppState>, f: CsrfForm<Empty>) -> Response {
    if let Err(e) = st.svc.logout(&f.portal.session_cookie).await {
        return f.portal.error(e);
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&st, SESSION_COOKIE, "", Some(0)),
    );
    resp
}

/// What the account page shows besides the user: a just-issued token, form errors, a notice.
#[derive(Default)]
struct AccountView {
    new_token: Option<String>,
    errors: Vec<FieldError>,
    notice: Option<String>,
}

async fn account_view(
    st: &AppState,
    p: &Portal,
    view: AccountView,
    status: StatusCode,
) -> Response {
    let tokens = match st.svc.my_tokens(&p.actor).await {
        Ok(t) => t,
        Err(e) => return p.error(e),
    };
    let lang = p.lang;
    let body: Markup = html! {
        h1 { (p.t("내 계정", "My account")) }
        @if let Some(n) = &view.notice { p class="alert ok" role="status" { (n) } }
        dl class="facts" {
            dt { (p.t("아이디", "Username")) } dd { (p.actor.username) }
            dt { (p.t("이름", "Name")) } dd { (p.display_name) }
            dt { (p.t("역할", "Role")) } dd { (role_name(lang, p.actor.role)) }
        }
        section {
            h2 { (p.t("비밀번호 변경", "Change password")) }
            (error_summary(lang, &view.errors))
            form method="post" action="/account/password" class="stack" {
                (p.csrf_field())
                (control(p.t("현재 비밀번호", "Current password"), "current_password", &view.errors, html! {
                    input id="current_password" name="current_password" type="password" autocomplete="current-password" required;
                }))
                (control(p.t("새 비밀번호 (10자 이상)", "New password (10 characters or more)"), "new_password", &view.errors, html! {
                    input id="new_password" name="new_password" type="password" autocomplete="new-password" required minlength="10";
                }))
                button type="submit" class="primary" { (p.t("변경", "Change")) }
            }
        }
        section {
            h2 { (p.t("API 토큰", "API tokens")) }
            p class="muted" { (p.t(
                "CI 파이프라인 등 기계 클라이언트용입니다. 토큰은 발급할 때 한 번만 표시되며 해시로만 저장됩니다.",
                "For machine clients such as CI pipelines. A token is shown once when issued and stored only as a hash.",
            )) }
            @if let Some(t) = &view.new_token {
                div class="alert ok" role="status" {
                    p { (p.t("새 토큰 (지금 복사하십시오. 다시 표시되지 않습니다):", "New token (copy it now; it will not be shown again):")) }
                    code class="token" { (t) }
                }
            }
            table {
                thead { tr {
                    th scope="col" { (p.t("이름", "Label")) }
                    th scope="col" { (p.t("발급", "Issued")) }
                    th scope="col" { (p.t("상태", "State")) }
                    th scope="col" { span class="visually-hidden" { (p.t("작업", "Actions")) } }
                } }
                tbody {
                    @for t in &tokens {
                        tr {
                            td { (t.label) }
                            td { (t.created_at.get(..10).unwrap_or(&t.created_at)) }
                            td { @if let Some(r) = &t.revoked_at { (p.t("폐기됨 ", "revoked ")) (r.get(..10).unwrap_or(r)) } @else { (p.t("사용 중", "active")) } }
                            td {
                                @if t.revoked_at.is_none() {
                                    form method="post" action={ "/account/tokens/" (t.id) "/revoke" } class="inline" {
                                        (p.csrf_field())
                                        button type="submit" class="danger" { (p.t("폐기", "Revoke")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form method="post" action="/account/tokens" class="row" {
                (p.csrf_field())
                (control(p.t("새 토큰 이름", "New token label"), "label", &view.errors, html! {
                    input id="label" name="label" type="text" required maxlength="100" placeholder="ci-pipeline";
                }))
                button type="submit" { (p.t("발급", "Issue")) }
            }
        }
    };
    p.page_with(status, p.t("내 계정", "My account"), body)
}

async fn account_page(State(st): State<AppState>, p: Portal) -> Response {
    account_view(&st, &p, AccountView::default(), StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

async fn change_password(State(st): State<AppState>, f: CsrfForm<PasswordForm>) -> Response {
    let p = f.portal;
    match st
        .svc
        .change_password(
            &p.actor,
            Some(&p.session_cookie),
            &f.form.current_password,
            &f.form.new_password,
        )
        .await
    {
        Ok(()) => {
            let notice = Some(
                p.t(
                    "비밀번호를 변경했습니다. 다른 기기의 세션은 종료되었습니다.",
                    "Password changed. Your other sessions have been ended.",
                )
                .to_string(),
            );
            account_view(
                &st,
                &p,
                AccountView {
                    notice,
                    ..Default::default()
                },
                StatusCode::OK,
            )
            .await
        }
        Err(e) if !e.field_errors().is_empty() => {
            let errors = e.field_errors().to_vec();
            account_view(
                &st,
                &p,
                AccountView {
                    errors,
                    ..Default::default()
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => p.error(e),
    }
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    label: String,
}

async fn issue_token(State(st): State<AppState>, f: CsrfForm<TokenForm>) -> Response {
    let p = f.portal;
    match st.svc.issue_own_token(&p.actor, &f.form.label).await {
        Ok(t) => {
            account_view(
                &st,
                &p,
                AccountView {
                    new_token: Some(t),
                    ..Default::default()
                },
                StatusCode::OK,
            )
            .await
        }
        Err(e) if !e.field_errors().is_empty() => {
            let errors = e.field_errors().to_vec();
            account_view(
                &st,
                &p,
                AccountView {
                    errors,
                    ..Default::default()
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => p.error(e),
    }
}

async fn revoke_token(
    State(st): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    f: CsrfForm<Empty>,
) -> Response {
    let p = f.portal;
    match st.svc.revoke_own_token(&p.actor, id).await {
        Ok(()) => Redirect::to("/account").into_response(),
        Err(e) => p.error(e),
    }
}
