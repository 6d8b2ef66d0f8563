//! TAXII 2.1 under `/taxii2/` (discovery, one API root, collections per audience and TLP,
//! objects, manifest, versions, status) and the Atom feed of bulletins (`/bulletins.atom`).
//!
//! Authentication is an existing API token, as HTTP Basic (user name and the token as password)
//! or as a bearer token. Which collections and objects a user may read is the service's decision
//! (the same audience/TLP reach as the portal); a collection outside it answers 404, as one
//! that does not exist. Paging is a keyset cursor that carries its own position and filters
//! (hex-encoded JSON), so any node can answer the next page without server-side state.

// Each step of a handler either goes on or answers at once with the finished TAXII error
// response; boxing it would only add an allocation to a path that ends the request.
#![allow(clippy::result_large_err)]

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use haechi_core::Actor;
use haechi_service::sharing::{self, CONTRIBUTIONS};
use haechi_service::ServiceError;
use haechi_store::{StixObjectRow, StixQuery, VersionMatch};
use serde_json::{json, Value};

use crate::AppState;

pub const MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";
const API_ROOT: &str = "/taxii2/haechi/";
/// Largest page (and the default when a client names none: 100).
pub const MAX_PAGE: i64 = 1000;
const DEFAULT_PAGE: i64 = 100;
const MAX_CONTENT_LENGTH: usize = 10 * 1024 * 1024;

/// The TAXII and Atom routes (merged into the router beside the API).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/taxii2/", get(discovery))
        .route("/taxii2/haechi/", get(api_root))
        .route("/taxii2/haechi/collections/", get(collections))
        .route("/taxii2/haechi/collections/{id}/", get(collection))
        .route(
            "/taxii2/haechi/collections/{id}/objects/",
            get(objects).post(add_objects),
        )
        .route(
            "/taxii2/haechi/collections/{id}/objects/{object_id}/",
            get(object),
        )
        .route(
            "/taxii2/haechi/collections/{id}/objects/{object_id}/versions/",
            get(versions),
        )
        .route("/taxii2/haechi/collections/{id}/manifest/", get(manifest))
        .route("/taxii2/haechi/status/{id}", get(status))
        .route("/taxii2/haechi/status/{id}/", get(status))
        .route("/bulletins.atom", get(atom))
}

/// Every TAXII route, for the authorisation matrix.
pub const TAXII_PATHS: &[(&str, &str)] = &[
    ("GET", "/taxii2/"),
    ("GET", "/taxii2/haechi/"),
    ("GET", "/taxii2/haechi/collections/"),
    ("GET", "/taxii2/haechi/collections/{id}/"),
    ("GET", "/taxii2/haechi/collections/{id}/objects/"),
    ("POST", "/taxii2/haechi/collections/{id}/objects/"),
    (
        "GET",
        "/taxii2/haechi/collections/{id}/objects/{object_id}/",
    ),
    (
        "GET",
        "/taxii2/haechi/collections/{id}/objects/{object_id}/versions/",
    ),
    ("GET", "/taxii2/haechi/collections/{id}/manifest/"),
    ("GET", "/taxii2/haechi/status/{id}"),
    ("GET", "/taxii2/haechi/status/{id}/"),
    ("GET", "/bulletins.atom"),
];

// ================================================================================ plumbing

/// A TAXII error resource with its status.
fn error(status: StatusCode, title: &str, description: &str) -> Response {
    let mut r = taxii_json(
        status,
        json!({"title": title, "description": description, "http_status": status.as_u16().to_string()}),
    );
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Haechi TAXII\", Bearer"),
        );
    }
    r
}

fn service_error(e: ServiceError) -> Response {
    match e {
        ServiceError::NotFound => error(
            StatusCode::NOT_FOUND,
            "Not found",
            "no such resource, or not one you may read",
        ),
        ServiceError::Unauthenticated => error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "send an API token as HTTP Basic password or bearer token",
        ),
        ServiceError::Forbidden(what) => error(
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!("your role may not {what}"),
        ),
        ServiceError::Store(s) => {
            tracing::error!(error = %s, "TAXII storage failure");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal error",
                "an internal error occurred; it has been logged",
            )
        }
        other => error(StatusCode::BAD_REQUEST, "Bad request", &other.to_string()),
    }
}

fn taxii_json(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, MEDIA_TYPE)],
        body.to_string(),
    )
        .into_response()
}

/// Refuses an `Accept` that names neither TAXII 2.1 nor anything (406).
fn check_accept(headers: &HeaderMap) -> Result<(), Response> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let ok = accept.split(',').any(|item| {
        let item: String = item
            .split(";q=")
            .next()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let item = item.to_ascii_lowercase();
        item == "*/*"
            || item == "application/*"
            || item == "application/taxii+json"
            || item == "application/taxii+json;version=2.1"
    });
    if ok {
        Ok(())
    } else {
        Err(error(
            StatusCode::NOT_ACCEPTABLE,
            "Not acceptable",
            "this server speaks application/taxii+json;version=2.1",
        ))
    }
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.trim().bytes().filter(|c| *c != b'=') {
        let v = A.iter().position(|a| *a == c)? as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The user of a TAXII request: an API token as HTTP Basic password (any user name; it must be
/// the token's user when given) or as a bearer token.
async fn actor(st: &AppState, headers: &HeaderMap) -> Result<Actor, Response> {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (user, token) = if let Some(t) = auth.strip_prefix("Bearer ") {
        (None, t.trim().to_string())
    } else if let Some(b) = auth.strip_prefix("Basic ") {
        let decoded = b64_decode(b)
            .and_then(|v| String::from_utf8(v).ok())
            .unwrap_or_default();
        match decoded.split_once(':') {
            Some((u, p)) => (Some(u.to_string()).filter(|u| !u.is_empty()), p.to_string()),
            None => (None, String::new()),
        }
    } else {
        (None, String::new())
    };
    if token.is_empty() {
        return Err(service_error(ServiceError::Unauthenticated));
    }
    let a = st
        .svc
        .actor_for_token(&token)
        .await
        .map_err(|_| service_error(ServiceError::Unauthenticated))?;
    if user.is_some_and(|u| u != a.username) {
        return Err(service_error(ServiceError::Unauthenticated));
    }
    Ok(a)
}

/// A user who may read bulletins at all (advisors, outside the sharing community, may not).
async fn reader(st: &AppState, headers: &HeaderMap) -> Result<Actor, Response> {
    let a = actor(st, headers).await?;
    st.svc.taxii_collections(&a).await.map_err(service_error)?;
    Ok(a)
}

/// The stable id of a collection key.
pub fn collection_id(key: &str) -> String {
    sharing::uuid_from(&format!("haechi-taxii-collection:{key}"))
}

fn collection_title(key: &str) -> String {
    if key == CONTRIBUTIONS {
        return "기관 제보 (Contributions from institutions)".into();
    }
    let Some((aud, sector, inst, tlp)) = sharing::reach_of_collection(key) else {
        return key.to_string();
    };
    let who = match aud.as_str() {
        "all" => "모든 금융회사 (All institutions)".to_string(),
        "sector" => format!("업권 {} (Sector)", sector.unwrap_or_default()),
        "named" => format!(
            "지정 기관 #{} (Named institution)",
            inst.unwrap_or_default()
        ),
        _ => "감독당국 한정 (Regulator only)".to_string(),
    };
    format!("{who} · {}", tlp.label())
}

struct CollectionInfo {
    key: String,
    can_read: bool,
    can_write: bool,
}

async fn visible_collections(st: &AppState, a: &Actor) -> Result<Vec<CollectionInfo>, Response> {
    let readable = st.svc.taxii_collections(a).await.map_err(service_error)?;
    let mut out: Vec<CollectionInfo> = readable
        .into_iter()
        .map(|key| CollectionInfo {
            can_write: st.svc.taxii_may_write(a, &key),
            can_read: true,
            key,
        })
        .collect();
    if st.svc.taxii_may_write(a, CONTRIBUTIONS) && !out.iter().any(|c| c.key == CONTRIBUTIONS) {
        out.push(CollectionInfo {
            key: CONTRIBUTIONS.into(),
            can_read: false,
            can_write: true,
        });
    }
    Ok(out)
}

fn collection_resource(c: &CollectionInfo) -> Value {
    json!({
        "id": collection_id(&c.key),
        "title": collection_title(&c.key),
        "description": match sharing::reach_of_collection(&c.key) {
            Some((_, _, _, tlp)) => format!("{} — {}", tlp.label(), tlp.definition_en()),
            None => "STIX objects contributed by institutions, read by the research institute and the support center".into(),
        },
        "can_read": c.can_read,
        "can_write": c.can_write,
        "media_types": [STIX_MEDIA_TYPE],
    })
}

/// The collection of an id that the actor may see (404 otherwise).
async fn find_collection(st: &AppState, a: &Actor, id: &str) -> Result<CollectionInfo, Response> {
    visible_collections(st, a)
        .await?
        .into_iter()
        .find(|c| collection_id(&c.key) == id)
        .ok_or_else(|| service_error(ServiceError::NotFound))
}

// ================================================================================ resources

async fn discovery(State(st): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = check_accept(&headers) {
        return r;
    }
    if let Err(r) = reader(&st, &headers).await {
        return r;
    }
    taxii_json(
        StatusCode::OK,
        json!({
            "title": "Haechi TAXII 2.1",
            "description": "금융 AI 보안 연구소·AI 보안 지원센터 보안 정보 공유 (threat-sharing bulletins of the FSI)",
            "default": API_ROOT,
            "api_roots": [API_ROOT],
        }),
    )
}

async fn api_root(State(st): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = check_accept(&headers) {
        return r;
    }
    if let Err(r) = reader(&st, &headers).await {
        return r;
    }
    taxii_json(
        StatusCode::OK,
        json!({
            "title": "Haechi threat sharing",
            "description": "Bulletins as STIX 2.1, one collection per audience and TLP 2.0 marking",
            "versions": [MEDIA_TYPE],
            "max_content_length": MAX_CONTENT_LENGTH,
        }),
    )
}

async fn collections(State(st): State<AppState>, headers: HeaderMap) -> Response {
    if let Err(r) = check_accept(&headers) {
        return r;
    }
    let a = match actor(&st, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match visible_collections(&st, &a).await {
        Ok(list) => taxii_json(
            StatusCode::OK,
            json!({"collections": list.iter().map(collection_resource).collect::<Vec<_>>()}),
        ),
        Err(r) => r,
    }
}

async fn collection(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = check_accept(&headers) {
        return r;
    }
    let a = match actor(&st, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match find_collection(&st, &a, &id).await {
        Ok(c) => taxii_json(StatusCode::OK, collection_resource(&c)),
        Err(r) => r,
    }
}

/// The query parameters of a TAXII request, as (name, value) pairs.
fn params(q: Option<&str>) -> Vec<(String, String)> {
    q.and_then(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).ok())
        .unwrap_or_default()
}

fn list_param(ps: &[(String, String)], name: &str) -> Vec<String> {
    ps.iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

fn one_param<'a>(ps: &'a [(String, String)], name: &str) -> Option<&'a str> {
    ps.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// A STIX/TAXII timestamp as stored text (microseconds, `Z`), for comparisons.
fn stored_time(s: &str) -> Option<String> {
    DateTime::parse_from_rfc3339(s.trim()).ok().map(|t| {
        t.with_timezone(&Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    })
}

/// A STIX version (`modified`) as the objects carry it (milliseconds).
fn stix_time(s: &str) -> Option<String> {
    DateTime::parse_from_rfc3339(s.trim()).ok().map(|t| {
        t.with_timezone(&Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    })
}

fn encode_cursor(q: &StixQuery) -> String {
    hex::encode(serde_json::to_vec(q).unwrap_or_default())
}

fn decode_cursor(s: &str) -> Option<StixQuery> {
    serde_json::from_slice(&hex::decode(s.trim()).ok()?).ok()
}

/// The page query of a request: the cursor's own (position and filters) when `next` is given,
/// else the filters of the request. `object` fixes one object (object and versions endpoints).
fn page_query(
    key: &str,
    ps: &[(String, String)],
    object: Option<&str>,
    default_versions: VersionMatch,
) -> Result<StixQuery, Response> {
    let bad = |what: &str| error(StatusCode::BAD_REQUEST, "Bad request", what);
    let limit = match one_param(ps, "limit") {
        None => DEFAULT_PAGE,
        Some(l) => match l.trim().parse::<i64>() {
            Ok(n) if n > 0 => n.min(MAX_PAGE),
            _ => return Err(bad("limit must be a positive whole number")),
        },
    };
    if let Some(n) = one_param(ps, "next") {
        let mut q =
            decode_cursor(n).ok_or_else(|| bad("next is not a cursor this server issued"))?;
        if q.collection != key || object.is_some_and(|o| q.ids != [o.to_string()]) {
            return Err(bad("next belongs to another request"));
        }
        q.limit = limit;
        return Ok(q);
    }
    let added_after = match one_param(ps, "added_after") {
        None => None,
        Some(a) => {
            Some(stored_time(a).ok_or_else(|| bad("added_after is not an RFC 3339 timestamp"))?)
        }
    };
    let versions = list_param(ps, "match[version]");
    let versions = if versions.is_empty() {
        default_versions
    } else if versions.iter().any(|v| v == "all") {
        VersionMatch::All
    } else if versions == ["last"] {
        VersionMatch::Last
    } else if versions == ["first"] {
        VersionMatch::First
    } else {
        let mut exact = Vec::new();
        for v in &versions {
            exact.push(
                stix_time(v)
                    .ok_or_else(|| bad("match[version] takes last, first, all or timestamps"))?,
            );
        }
        VersionMatch::Exact(exact)
    };
    let mut ids = list_param(ps, "match[id]");
    if let Some(o) = object {
        ids = vec![o.to_string()];
    }
    Ok(StixQuery {
        collection: key.to_string(),
        after_seq: 0,
        added_after,
        ids,
        types: list_param(ps, "match[type]"),
        versions,
        spec_versions: list_param(ps, "match[spec_version]"),
        limit,
    })
}

/// One page and whether there is more (with the cursor of the next page).
async fn page(
    st: &AppState,
    a: &Actor,
    q: &StixQuery,
) -> Result<(Vec<StixObjectRow>, Option<String>), Response> {
    let mut rows = st.svc.taxii_page(a, q).await.map_err(service_error)?;
    let more = rows.len() as i64 > q.limit;
    rows.truncate(q.limit.max(0) as usize);
    let next = if more {
        rows.last().map(|last| {
            let mut n = q.clone();
            n.after_seq = last.seq;
            encode_cursor(&n)
        })
    } else {
        None
    };
    Ok((rows, next))
}

fn with_date_headers(mut r: Response, rows: &[StixObjectRow]) -> Response {
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&first.date_added) {
            h.insert("X-TAXII-Date-Added-First", v);
        }
        if let Ok(v) = HeaderValue::from_str(&last.date_added) {
            h.insert("X-TAXII-Date-Added-Last", v);
        }
    }
    r
}

fn envelope(rows: &[StixObjectRow], next: Option<String>) -> Value {
    let objects: Vec<Value> = rows
        .iter()
        .filter_map(|r| serde_json::from_str(&r.body).ok())
        .collect();
    let mut e = json!({"more": next.is_some(), "objects": objects});
    if let Some(n) = next {
        e["next"] = json!(n);
    }
    e
}

async fn readable(
    st: &AppState,
    headers: &HeaderMap,
    id: &str,
) -> Result<(Actor, CollectionInfo), Response> {
    check_accept(headers)?;
    let a = actor(st, headers).await?;
    let c = find_collection(st, &a, id).await?;
    if !c.can_read {
        return Err(service_error(ServiceError::Forbidden(
            "read this collection",
        )));
    }
    Ok((a, c))
}

async fn objects(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (a, c) = match readable(&st, &headers, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let q = match page_query(&c.key, &params(q.as_deref()), None, VersionMatch::Last) {
        Ok(q) => q,
        Err(r) => return r,
    };
    match page(&st, &a, &q).await {
        Ok((rows, next)) => {
            with_date_headers(taxii_json(StatusCode::OK, envelope(&rows, next)), &rows)
        }
        Err(r) => r,
    }
}

/// The versions of one object in a readable collection (its latest, or all), paged; "not found"
/// when the object has none there.
async fn object_page(
    st: &AppState,
    headers: &HeaderMap,
    id: &str,
    object_id: &str,
    raw: Option<&str>,
    versions: VersionMatch,
) -> Result<(Vec<StixObjectRow>, Option<String>), Response> {
    let (a, c) = readable(st, headers, id).await?;
    let q = page_query(&c.key, &params(raw), Some(object_id), versions)?;
    match page(st, &a, &q).await? {
        (rows, _) if rows.is_empty() && q.after_seq == 0 => {
            Err(service_error(ServiceError::NotFound))
        }
        found => Ok(found),
    }
}

async fn object(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((id, object_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    match object_page(
        &st,
        &headers,
        &id,
        &object_id,
        q.as_deref(),
        VersionMatch::Last,
    )
    .await
    {
        Ok((rows, next)) => {
            with_date_headers(taxii_json(StatusCode::OK, envelope(&rows, next)), &rows)
        }
        Err(r) => r,
    }
}

async fn versions(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((id, object_id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    match object_page(
        &st,
        &headers,
        &id,
        &object_id,
        q.as_deref(),
        VersionMatch::All,
    )
    .await
    {
        Ok((rows, next)) => {
            let mut v = json!({"more": next.is_some(), "versions": rows.iter().map(|r| r.version.clone()).collect::<Vec<_>>()});
            if let Some(n) = next {
                v["next"] = json!(n);
            }
            with_date_headers(taxii_json(StatusCode::OK, v), &rows)
        }
        Err(r) => r,
    }
}

async fn manifest(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let (a, c) = match readable(&st, &headers, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let q = match page_query(&c.key, &params(q.as_deref()), None, VersionMatch::Last) {
        Ok(q) => q,
        Err(r) => return r,
    };
    match page(&st, &a, &q).await {
        Ok((rows, next)) => {
            let objects: Vec<Value> = rows
                .iter()
                .map(|r| json!({"id": r.object_id, "date_added": r.date_added, "version": r.version, "media_type": STIX_MEDIA_TYPE}))
                .collect();
            let mut m = json!({"more": next.is_some(), "objects": objects});
            if let Some(n) = next {
                m["next"] = json!(n);
            }
            with_date_headers(taxii_json(StatusCode::OK, m), &rows)
        }
        Err(r) => r,
    }
}

async fn add_objects(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(r) = check_accept(&headers) {
        return r;
    }
    let a = match actor(&st, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let c = match find_collection(&st, &a, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !c.can_write {
        return service_error(ServiceError::Forbidden("add objects to this collection"));
    }
    let ctype: String = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    if ctype != "application/taxii+json;version=2.1" && ctype != "application/taxii+json" {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            "post an envelope as application/taxii+json;version=2.1",
        );
    }
    if body.len() > MAX_CONTENT_LENGTH {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too large",
            "the envelope is larger than the API root's max_content_length",
        );
    }
    let env: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "Bad request",
                &format!("not JSON: {e}"),
            )
        }
    };
    let Some(objs) = env.get("objects").and_then(Value::as_array) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "an envelope has an objects array",
        );
    };
    match st.svc.taxii_add(&a, &c.key, objs).await {
        Ok(s) => taxii_json(StatusCode::ACCEPTED, s),
        Err(e) => service_error(e),
    }
}

async fn status(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = check_accept(&headers) {
        return r;
    }
    let a = match actor(&st, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    match st.svc.taxii_status(&a, id.trim_end_matches('/')).await {
        Ok(s) => taxii_json(StatusCode::OK, s),
        Err(e) => service_error(e),
    }
}

// ================================================================================ Atom

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The bulletins a reader may see as an Atom feed: without a token, TLP:CLEAR bulletins for
/// all institutions; with one (Basic or bearer), everything within the reader's reach;
/// `?audience=all|sector|named|regulator` narrows it to one audience.
async fn atom(State(st): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let ps = params(q.as_deref());
    let audience = one_param(&ps, "audience").map(str::to_string);
    let signed_in = headers.contains_key(header::AUTHORIZATION);
    let reader = if signed_in {
        match actor(&st, &headers).await {
            Ok(a) => Some(a),
            Err(r) => return r,
        }
    } else {
        None
    };
    let list = match st.svc.public_or_reachable_bulletins(reader.as_ref()).await {
        Ok(l) => l,
        Err(e) => return service_error(e),
    };
    let updated = list
        .iter()
        .filter_map(|(r, _)| r.published_at.clone())
        .max()
        .unwrap_or_else(|| "2026-01-01T00:00:00Z".into());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"ko\">\n");
    out.push_str("<title>Haechi 보안 정보 공유 (threat-sharing bulletins)</title>\n");
    out.push_str("<id>urn:uuid:");
    out.push_str(&collection_id(&format!(
        "atom:{}",
        audience.as_deref().unwrap_or("*")
    )));
    out.push_str("</id>\n<updated>");
    out.push_str(&xml(&updated));
    out.push_str("</updated>\n<link rel=\"self\" href=\"/bulletins.atom\"/>\n");
    for (row, c) in &list {
        if audience.as_deref().is_some_and(|a| a != c.audience) {
            continue;
        }
        let tlp = c.tlp();
        out.push_str("<entry>\n<id>urn:uuid:");
        out.push_str(&row.uuid);
        out.push_str("</id>\n<title>");
        out.push_str(&xml(&format!("[{}] {}", tlp.label(), c.title_ko)));
        out.push_str("</title>\n<updated>");
        out.push_str(&xml(row.published_at.as_deref().unwrap_or(&row.updated_at)));
        out.push_str("</updated>\n<link href=\"/bulletins/");
        out.push_str(&row.id.to_string());
        out.push_str("\"/>\n<category term=\"");
        out.push_str(&xml(tlp.label()));
        out.push_str("\"/>\n<summary>");
        let mut summary: String = c.body_ko.chars().take(400).collect();
        if row.state == "withdrawn" {
            summary = format!("[철회됨 withdrawn] {summary}");
        }
        out.push_str(&xml(&summary));
        out.push_str("</summary>\n</entry>\n");
    }
    out.push_str("</feed>\n");
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        out,
    )
        .into_response()
}
