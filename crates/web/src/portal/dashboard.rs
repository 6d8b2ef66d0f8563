//! The start page: what each role works on first.

use axum::extract::State;
use axum::response::Response;
use maud::html;

use super::{role_name, PageRoute, Portal};
use crate::{page_get, AppState};

pub fn routes() -> Vec<PageRoute> {
    vec![page_get!("/", home)]
}

async fn home(State(_st): State<AppState>, p: Portal) -> Response {
    let body = html! {
        h1 { (p.t("대시보드", "Dashboard")) }
        p { (p.display_name) " · " (role_name(p.lang, p.actor.role)) }
    };
    p.page(p.t("대시보드", "Dashboard"), body)
}
