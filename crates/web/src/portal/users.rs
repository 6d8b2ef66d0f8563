//! Portal pages: accounts and roles (program administration, regulator admin). The list of
//! accounts (role, institution, active, last sign-in), creating one with an initial password shown
//! once, and per account: disable or enable, reset the password (a new one shown once; the
//! account's sessions end), change the role and institution.
//!
//! Who may do any of this is the service's decision (`ManageUsers`); the page asks it first.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use haechi_core::{FieldError, Role};
use haechi_service::users::UserAccount;
use haechi_service::ServiceError;
use haechi_store::InstitutionFilter;
use maud::{html, Markup};
use serde::Deserialize;

use super::applications::notice;
use super::applications::ViewQuery;
use super::parse_id;
use super::when::kst_minute;
use super::{control, error_summary, role_name, CsrfForm, Lang, PageRoute, Portal};
use crate::{page_get, page_post, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/users", list),
        page_post!("/users", create),
        page_get!("/users/{id}", detail),
        page_post!("/users/{id}/active", set_active),
        page_post!("/users/{id}/password", reset_password),
        page_post!("/users/{id}/role", change_role),
    ]
}

fn institution_label(lang: Lang, a: &UserAccount) -> String {
    match &a.institution_name {
        Some((ko, en)) => lang.t(ko, en).to_string(),
        None => "—".to_string(),
    }
}

fn active_badge(lang: Lang, disabled: bool) -> Markup {
    html! {
        @if disabled { span class="badge bad" { (lang.t("사용 중지", "Disabled")) } }
        @else { span class="badge ok" { (lang.t("사용 중", "Active")) } }
    }
}

/// The institutions to choose from, by Korean or English name.
async fn institutions(st: &AppState, p: &Portal) -> Result<Vec<(i64, String)>, ServiceError> {
    let (items, _) = st
        .svc
        .list_institutions(
            &p.actor,
            &InstitutionFilter {
                limit: 1000,
                ..Default::default()
            },
        )
        .await?;
    let mut out: Vec<(i64, String)> = items
        .into_iter()
        .map(|i| (i.id, p.t(&i.input.name_ko, &i.input.name_en).to_string()))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// The role and institution choices, shared by the create and the change forms.
fn role_fields(
    p: &Portal,
    errors: &[FieldError],
    institutions: &[(i64, String)],
    role: &str,
    institution: &str,
) -> Markup {
    html! {
        (control(p.t("역할", "Role"), "role", errors, html! {
            select id="role" name="role" required {
                option value="" { (p.t("선택", "Choose")) }
                @for r in Role::ALL {
                    option value=(r.as_str()) selected[role == r.as_str()] { (role_name(p.lang, r)) }
                }
            }
        }))
        (control(p.t("소속 기관 (기관 역할만)", "Institution (institution roles only)"), "institution_id", errors, html! {
            select id="institution_id" name="institution_id" {
                option value="" { (p.t("없음 (감독당국·평가위원·감사인)", "None (regulator, advisor, auditor)")) }
                @for (id, name) in institutions {
                    @let v = id.to_string();
                    option value=(v) selected[institution == v] { (name) }
                }
            }
        }))
    }
}

/// The form of a new account as typed.
#[derive(Deserialize, Default, Clone)]
pub struct CreateForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    institution_id: String,
}

/// A password shown once, with whose it is.
struct ShownOnce {
    username: String,
    password: String,
    created: bool,
}

async fn list(
    State(st): State<AppState>,
    p: Portal,
    q: axum::extract::Query<ViewQuery>,
) -> Response {
    list_page(
        &st,
        &p,
        &CreateForm::default(),
        &[],
        None,
        Some(q.notice_code()),
        StatusCode::OK,
    )
    .await
}

async fn list_page(
    st: &AppState,
    p: &Portal,
    typed: &CreateForm,
    errors: &[FieldError],
    shown: Option<ShownOnce>,
    notice_code: Option<&str>,
    status: StatusCode,
) -> Response {
    let accounts = match st.svc.list_user_accounts(&p.actor).await {
        Ok(a) => a,
        Err(e) => return p.error(e),
    };
    let institutions = match institutions(st, p).await {
        Ok(i) => i,
        Err(e) => return p.error(e),
    };
    let title = p.t("사용자와 역할", "Users and roles");
    let body = html! {
        h1 { (title) }
        (notice(p.lang, notice_code))
        @if let Some(s) = &shown { (password_once(p, s)) }
        section id="users" {
            div class="table-wrap" {
                table {
                    thead { tr {
                        th scope="col" { (p.t("사용자 ID", "Username")) }
                        th scope="col" { (p.t("이름", "Name")) }
                        th scope="col" { (p.t("역할", "Role")) }
                        th scope="col" { (p.t("소속 기관", "Institution")) }
                        th scope="col" { (p.t("상태", "Status")) }
                        th scope="col" { (p.t("최근 로그인", "Last sign-in")) }
                    } }
                    tbody {
                        @for a in &accounts {
                            tr data-user=(a.user.username) {
                                td { a href={ "/users/" (a.user.id) } { (a.user.username) } }
                                td { (a.user.display_name) }
                                td { (role_name(p.lang, a.user.role)) }
                                td { (institution_label(p.lang, a)) }
                                td { (active_badge(p.lang, a.user.disabled)) }
                                td { @if let Some(at) = &a.last_sign_in { (kst_minute(at)) } @else { (p.t("없음", "never")) } }
                            }
                        }
                    }
                }
            }
        }
        section id="new-user" {
            h2 { (p.t("사용자 추가", "Add a user")) }
            p class="muted" { (p.t(
                "초기 비밀번호는 만든 직후 한 번만 표시됩니다. 사용자에게 안전하게 전달하고, 첫 로그인 후 바꾸도록 안내하십시오.",
                "The initial password is shown once, right after the account is created. Hand it over safely and ask the user to change it after signing in.",
            )) }
            (error_summary(p.lang, errors))
            form method="post" action="/users" class="stack" novalidate {
                (p.csrf_field())
                (control(p.t("사용자 ID", "Username"), "username", errors, html! {
                    input type="text" id="username" name="username" value=(typed.username) maxlength="64" autocomplete="off" required;
                }))
                (control(p.t("이름", "Name"), "display_name", errors, html! {
                    input type="text" id="display_name" name="display_name" value=(typed.display_name) maxlength="100" required;
                }))
                (role_fields(p, errors, &institutions, &typed.role, &typed.institution_id))
                div class="actions" { button type="submit" class="primary" { (p.t("사용자 추가", "Add the user")) } }
            }
        }
    };
    p.page_with(status, title, body)
}

fn password_once(p: &Portal, s: &ShownOnce) -> Markup {
    html! {
        div class="alert ok" role="status" id="password-once" {
            p {
                strong { (s.username) } " · "
                @if s.created { (p.t("사용자를 만들었습니다. 초기 비밀번호:", "The user was created. Initial password:")) }
                @else { (p.t("비밀번호를 재설정했습니다. 이 사용자의 로그인 세션은 모두 종료되었습니다. 새 비밀번호:", "The password was reset and the user's sessions were ended. New password:")) }
                " " code class="secret" { (s.password) }
            }
            p class="small" { (p.t("이 비밀번호는 다시 표시되지 않습니다.", "This password will not be shown again.")) }
        }
    }
}

/// Reads the role and institution of a form; errors are next to the fields.
fn role_of(
    lang: Lang,
    role: &str,
    institution: &str,
    errors: &mut Vec<FieldError>,
) -> Option<(Role, Option<i64>)> {
    let role = Role::parse(role.trim());
    if role.is_none() {
        errors.push(FieldError::new(
            "role",
            lang.t("역할을 고르십시오.", "choose a role"),
        ));
    }
    let institution = match institution.trim() {
        "" => None,
        v => match v.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(FieldError::new(
                    "institution_id",
                    lang.t(
                        "기관 선택이 올바르지 않습니다.",
                        "the institution choice is invalid",
                    ),
                ));
                return None;
            }
        },
    };
    let role = role?;
    if role.is_institution_role() != institution.is_some() {
        errors.push(FieldError::new(
            "institution_id",
            lang.t(
                "정보보호최고책임자와 보안 담당자는 소속 기관이 있어야 하고, 다른 역할은 소속 기관이 없어야 합니다.",
                "CISOs and security staff need their institution; the other roles have none",
            ),
        ));
        return None;
    }
    Some((role, institution))
}

/// A service's field messages in the page's language (the service speaks English).
fn localise(lang: Lang, errors: &[FieldError]) -> Vec<FieldError> {
    errors
        .iter()
        .map(|e| {
            let msg = match (e.field.as_str(), e.message.as_str()) {
                ("username", "is already taken") => {
                    lang.t("이미 있는 사용자 ID입니다.", "is already taken")
                }
                ("username", _) => lang.t(
                    "영문자·숫자·'.'·'_'·'-'로 3~64자여야 합니다.",
                    "3 to 64 letters, digits, '.', '_' or '-'",
                ),
                ("display_name", _) => lang.t("1~100자로 쓰십시오.", "1 to 100 characters"),
                ("institution_id", "no such institution") => {
                    lang.t("없는 기관입니다.", "no such institution")
                }
                ("institution_id", _) => lang.t(
                    "정보보호최고책임자와 보안 담당자는 소속 기관이 있어야 하고, 다른 역할은 소속 기관이 없어야 합니다.",
                    "CISOs and security staff need their institution; the other roles have none",
                ),
                _ => e.message.as_str(),
            };
            FieldError::new(e.field.clone(), msg)
        })
        .collect()
}

async fn create(State(st): State<AppState>, f: CsrfForm<CreateForm>) -> Response {
    let p = f.portal;
    let form = f.form;
    // Whether this role may manage accounts is the service's answer, before the form's.
    if let Err(e) = st.svc.list_user_accounts(&p.actor).await {
        return p.error(e);
    }
    let mut errors = Vec::new();
    let chosen = role_of(p.lang, &form.role, &form.institution_id, &mut errors);
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let Some((role, institution)) = chosen.filter(|_| errors.is_empty()) else {
        return list_page(&st, &p, &form, &errors, None, None, unprocessable).await;
    };
    match st
        .svc
        .create_user_with_password(
            &p.actor,
            &form.username,
            &form.display_name,
            role,
            institution,
        )
        .await
    {
        Ok((user, password)) => {
            list_page(
                &st,
                &p,
                &CreateForm::default(),
                &[],
                Some(ShownOnce {
                    username: user.username,
                    password,
                    created: true,
                }),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(e) if !e.field_errors().is_empty() => {
            let errors = localise(p.lang, e.field_errors());
            list_page(&st, &p, &form, &errors, None, None, unprocessable).await
        }
        Err(e) => p.error(e),
    }
}

async fn detail(
    State(st): State<AppState>,
    p: Portal,
    Path(id): Path<String>,
    q: axum::extract::Query<ViewQuery>,
) -> Response {
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    detail_page(
        &st,
        &p,
        id,
        DetailPage {
            notice: Some(q.notice_code().to_string()),
            ..Default::default()
        },
    )
    .await
}

#[derive(Default)]
struct DetailPage {
    errors: Vec<FieldError>,
    alert: Option<String>,
    notice: Option<String>,
    shown: Option<ShownOnce>,
    status: Option<StatusCode>,
}

async fn detail_page(st: &AppState, p: &Portal, id: i64, page: DetailPage) -> Response {
    let account = match st.svc.user_account(&p.actor, id).await {
        Ok(a) => a,
        Err(e) => return p.error(e),
    };
    let institutions = match institutions(st, p).await {
        Ok(i) => i,
        Err(e) => return p.error(e),
    };
    let u = &account.user;
    let own = u.id == p.actor.user_id;
    let title = format!("{} · {}", p.t("사용자", "User"), u.username);
    let errors = &page.errors;
    let body = html! {
        h1 { (title) }
        p { a href="/users" { "← " (p.t("사용자 목록", "All users")) } }
        (notice(p.lang, page.notice.as_deref()))
        @if let Some(m) = &page.alert { p class="alert error" role="alert" { (m) } }
        @if let Some(s) = &page.shown { (password_once(p, s)) }
        (error_summary(p.lang, errors))
        dl class="facts" {
            dt { (p.t("이름", "Name")) } dd { (u.display_name) }
            dt { (p.t("역할", "Role")) } dd { (role_name(p.lang, u.role)) }
            dt { (p.t("소속 기관", "Institution")) } dd { (institution_label(p.lang, &account)) }
            dt { (p.t("상태", "Status")) } dd { (active_badge(p.lang, u.disabled)) }
            dt { (p.t("만든 날", "Created")) } dd { (kst_minute(&u.created_at)) }
            dt { (p.t("최근 로그인", "Last sign-in")) } dd { @if let Some(at) = &account.last_sign_in { (kst_minute(at)) } @else { (p.t("없음", "never")) } }
        }
        @if own {
            p class="muted" { (p.t(
                "자신의 계정은 사용 중지하거나 역할을 바꿀 수 없습니다. 비밀번호는 내 계정 페이지에서 바꾸십시오.",
                "You cannot disable your own account or change your own role. Change your password on your account page.",
            )) }
        } @else {
            section id="active" {
                h2 { (p.t("사용 여부", "Access")) }
                form method="post" action={ "/users/" (u.id) "/active" } class="inline" data-confirm=(if u.disabled { p.t("이 사용자를 다시 사용하게 하시겠습니까?", "Enable this user?") } else { p.t("이 사용자를 사용 중지하시겠습니까? 로그인 세션이 모두 종료됩니다.", "Disable this user? Their sessions end at once.") }) {
                    (p.csrf_field())
                    @if u.disabled {
                        input type="hidden" name="active" value="yes";
                        button type="submit" class="primary" { (p.t("사용 재개", "Enable")) }
                    } @else {
                        input type="hidden" name="active" value="no";
                        button type="submit" class="danger" { (p.t("사용 중지", "Disable")) }
                    }
                }
            }
            section id="password" {
                h2 { (p.t("비밀번호 재설정", "Reset the password")) }
                p class="muted" { (p.t(
                    "새 비밀번호를 만들어 한 번만 보여 줍니다. 이 사용자의 로그인 세션은 모두 종료됩니다.",
                    "A new password is made and shown once; the user's sessions end.",
                )) }
                form method="post" action={ "/users/" (u.id) "/password" } class="inline" data-confirm=(p.t("비밀번호를 재설정하시겠습니까?", "Reset the password?")) {
                    (p.csrf_field())
                    input type="hidden" name="confirm" value="yes";
                    button type="submit" { (p.t("비밀번호 재설정", "Reset the password")) }
                }
            }
            section id="role-change" {
                h2 { (p.t("역할·소속 변경", "Change role and institution")) }
                form method="post" action={ "/users/" (u.id) "/role" } class="stack" data-confirm=(p.t("역할을 바꾸시겠습니까? 이 사용자의 로그인 세션이 종료됩니다.", "Change the role? The user's sessions end.")) {
                    (p.csrf_field())
                    (role_fields(p, errors, &institutions, u.role.as_str(), &u.institution_id.map(|i| i.to_string()).unwrap_or_default()))
                    div class="actions" { button type="submit" class="primary" { (p.t("변경", "Change")) } }
                }
            }
        }
    };
    p.page_with(page.status.unwrap_or(StatusCode::OK), &title, body)
}

/// A refused step shown on the account's page.
async fn refused(st: &AppState, p: &Portal, id: i64, e: ServiceError) -> Response {
    match e {
        e @ (ServiceError::NotFound | ServiceError::Forbidden(_) | ServiceError::Store(_)) => {
            p.error(e)
        }
        e => {
            let status = crate::error::status_of(&e);
            let alert = match &e {
                ServiceError::Rule {
                    code: "own_account",
                    ..
                } => p
                    .t(
                        "자신의 계정은 사용 중지하거나 역할을 바꿀 수 없습니다.",
                        "You cannot disable your own account or change your own role.",
                    )
                    .to_string(),
                e if !e.field_errors().is_empty() => p
                    .t(
                        "입력을 확인하십시오. 아무것도 바꾸지 않았습니다.",
                        "Please check the form. Nothing was changed.",
                    )
                    .to_string(),
                e => e.to_string(),
            };
            let errors = localise(p.lang, e.field_errors());
            detail_page(
                st,
                p,
                id,
                DetailPage {
                    errors,
                    alert: Some(alert),
                    status: Some(status),
                    ..Default::default()
                },
            )
            .await
        }
    }
}

#[derive(Deserialize, Default)]
pub struct ActiveForm {
    #[serde(default)]
    active: String,
}

async fn set_active(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<ActiveForm>,
) -> Response {
    let p = f.portal;
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    if let Err(e) = st.svc.user_account(&p.actor, id).await {
        return p.error(e);
    }
    let active = match f.form.active.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            let e = ServiceError::invalid(vec![FieldError::new(
                "active",
                p.t(
                    "사용 재개 또는 사용 중지를 고르십시오.",
                    "choose enable or disable",
                ),
            )]);
            return refused(&st, &p, id, e).await;
        }
    };
    match st.svc.set_user_active(&p.actor, id, active).await {
        Ok(_) => Redirect::to(&format!(
            "/users/{id}?notice={}",
            if active {
                "user_enabled"
            } else {
                "user_disabled"
            }
        ))
        .into_response(),
        Err(e) => refused(&st, &p, id, e).await,
    }
}

#[derive(Deserialize, Default)]
pub struct ResetForm {
    #[serde(default)]
    confirm: String,
}

async fn reset_password(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<ResetForm>,
) -> Response {
    let p = f.portal;
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    let account = match st.svc.user_account(&p.actor, id).await {
        Ok(a) => a,
        Err(e) => return p.error(e),
    };
    if f.form.confirm != "yes" {
        let e = ServiceError::invalid(vec![FieldError::new(
            "confirm",
            p.t("재설정을 확인하십시오.", "confirm the reset"),
        )]);
        return refused(&st, &p, id, e).await;
    }
    match st.svc.reset_password(&p.actor, id).await {
        Ok(password) => {
            detail_page(
                &st,
                &p,
                id,
                DetailPage {
                    shown: Some(ShownOnce {
                        username: account.user.username,
                        password,
                        created: false,
                    }),
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) => refused(&st, &p, id, e).await,
    }
}

#[derive(Deserialize, Default)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    institution_id: String,
}

async fn change_role(
    State(st): State<AppState>,
    Path(id): Path<String>,
    f: CsrfForm<RoleForm>,
) -> Response {
    let p = f.portal;
    let Ok(id) = parse_id(&id) else {
        return p.error(ServiceError::NotFound);
    };
    if let Err(e) = st.svc.user_account(&p.actor, id).await {
        return p.error(e);
    }
    let mut errors = Vec::new();
    let Some((role, institution)) =
        role_of(p.lang, &f.form.role, &f.form.institution_id, &mut errors)
    else {
        return refused(&st, &p, id, ServiceError::invalid(errors)).await;
    };
    match st
        .svc
        .change_user_role(&p.actor, id, role, institution)
        .await
    {
        Ok(_) => Redirect::to(&format!("/users/{id}?notice=role_changed")).into_response(),
        Err(e) => refused(&st, &p, id, e).await,
    }
}
