//! Portal pages of the security-operations side (SPEC C11, C12): computing resources with their
//! class and the rule that decided it, resource CSV and CycloneDX imports, SARIF uploads with a
//! progress bar and a self-refreshing status page, the import history with provenance, and the
//! findings list and detail with their lifecycle actions.
//!
//! Every page asks the service (`haechi_service::findings`, `findings_views`), which decides who
//! may see and change what: an institution's users reach only their own records (another
//! institution's id answers "not found"), the auditor reads everything and changes nothing, the
//! regulator side has no access to an institution's findings. The pages only hide buttons a role
//! could not use anyway.
//!
//! Uploads are spooled to a temporary file while they are read (hashing and counting on the
//! way, within the configured import limit), so nothing is recorded for a refused upload.

pub mod cluster;
mod imports;
mod list;
mod resources;

use std::path::PathBuf;

use axum::extract::multipart::MultipartError;
use axum::extract::Multipart;
use axum::http::StatusCode;
use haechi_service::ServiceError;
use maud::{html, Markup};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::{Lang, PageRoute, Portal};
use crate::{page_get, page_post};

pub fn routes() -> Vec<PageRoute> {
    vec![
        page_get!("/resources", resources::list),
        page_get!("/resources/import", resources::import_form),
        page_post!("/resources/import", resources::import_csv),
        page_post!("/resources/components", resources::import_components),
        page_get!("/resources/{id}", resources::detail),
        page_get!("/imports", imports::history),
        page_get!("/imports/new", imports::upload_form),
        page_post!("/imports", imports::upload),
        page_get!("/imports/{id}", imports::status),
        page_get!("/findings", list::list),
        page_get!("/findings/{id}", list::detail),
        page_post!("/findings/{id}/status", list::transition),
    ]
}

// ================================================================================ labels

/// The label of every enum value these pages show (finding statuses, severities, import states,
/// resource classes, kinds, network zones, data kinds), in both languages side by side. An
/// unknown value is shown as stored.
pub fn state_label(lang: Lang, state: &str) -> &str {
    match state {
        // finding lifecycle
        "open" => lang.t("미조치", "Open"),
        "in_progress" => lang.t("조치 중", "In progress"),
        "fixed" => lang.t("조치 완료", "Fixed"),
        "verified" => lang.t("검증 완료", "Verified"),
        "risk_accepted" => lang.t("위험 수용", "Risk accepted"),
        "false_positive" => lang.t("오탐", "False positive"),
        // severities
        "critical" => lang.t("긴급", "Critical"),
        "high" => lang.t("높음", "High"),
        "medium" => lang.t("보통", "Medium"),
        "low" => lang.t("낮음", "Low"),
        "none" => lang.t("없음", "None"),
        // import states
        "queued" => lang.t("대기", "Queued"),
        "running" => lang.t("진행 중", "Running"),
        "succeeded" => lang.t("완료", "Succeeded"),
        "failed" => lang.t("실패", "Failed"),
        // resource classes (national MLS model)
        "C" => lang.t("기밀 (C)", "Classified (C)"),
        "S" => lang.t("민감 (S)", "Sensitive (S)"),
        "O" => lang.t("공개 (O)", "Open (O)"),
        // resource kinds
        "server" => lang.t("서버", "Server"),
        "application" => lang.t("응용프로그램", "Application"),
        "network_device" => lang.t("네트워크 장비", "Network device"),
        "cloud_service" => lang.t("클라우드 서비스", "Cloud service"),
        "saas" => lang.t("SaaS", "SaaS"),
        // network zones
        "internal" => lang.t("내부 업무망(분리망)", "Internal separated network"),
        "dmz" => lang.t("DMZ", "DMZ"),
        "internet" => lang.t("인터넷 접점", "Internet-facing"),
        "external_saas" => lang.t("외부 SaaS", "External SaaS"),
        // data kinds
        "personal_credit" => lang.t("개인신용정보", "Personal credit information"),
        "customer_personal" => lang.t("고객 개인정보", "Customer personal data"),
        "non_public_business" => lang.t("비공개 업무정보", "Non-public business data"),
        "logs_backups" => lang.t("로그·백업", "Logs and backups"),
        "public" => lang.t("공개정보", "Public data"),
        "pseudonymised" => lang.t("가명정보", "Pseudonymised data"),
        // the rest (AI origins, priorities, decision inputs) as the patching pages say them
        other => super::patching::state_label(lang, other),
    }
}

/// Badge class of a severity (critical reads like priority 1).
pub fn severity_badge(severity: &str) -> &'static str {
    match severity {
        "critical" => "badge p1",
        "high" => "badge p2",
        "medium" => "badge p3",
        "low" => "badge p4",
        _ => "badge p5",
    }
}

/// Badge class of a finding status or an import state.
pub fn state_badge(state: &str) -> &'static str {
    match state {
        "fixed" | "verified" | "succeeded" => "badge ok",
        "failed" => "badge bad",
        "in_progress" | "queued" | "running" | "risk_accepted" => "badge warn",
        _ => "badge",
    }
}

/// A resource class as a badge: C red, S amber, O green.
pub fn class_badge(lang: Lang, class: &str) -> Markup {
    let css = match class {
        "C" => "badge bad",
        "S" => "badge warn",
        "O" => "badge ok",
        _ => "badge",
    };
    html! { span class=(css) { (state_label(lang, class)) } }
}

/// The day (`YYYY-MM-DD`) in Korea of a stored RFC 3339 time (a stored date as it is).
pub fn date_of(at: &str) -> String {
    super::kst_day(at)
}

/// `YYYY-MM-DD HH:MM KST` of a stored RFC 3339 time.
pub fn minute_of(at: &str) -> String {
    super::kst_minute(at)
}

/// A byte count for people: bytes below 1 KiB, else KiB/MiB/GiB with one decimal.
pub fn human_bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if n < 1024.0 {
        return format!("{n} B");
    }
    let mut v = n / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// The name of a resource from a list of rows, else `#id`.
pub fn resource_name(resources: &[haechi_store::ResourceRow], id: i64) -> String {
    resources
        .iter()
        .find(|r| r.id == id)
        .map(|r| r.name.clone())
        .unwrap_or_else(|| format!("#{id}"))
}

// ================================================================================ uploads

/// A file of a multipart upload, spooled to a temporary file while it was read. The file is
/// removed when this value is dropped, unless it was handed on with [`SpooledFile::keep`].
pub struct SpooledFile {
    pub file_name: Option<String>,
    pub size: u64,
    pub sha256: String,
    path: Option<PathBuf>,
}

impl SpooledFile {
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    /// Hands the file on: the caller removes it.
    pub fn keep(mut self) -> Option<PathBuf> {
        self.path.take()
    }

    pub async fn read(&self) -> std::io::Result<Vec<u8>> {
        match &self.path {
            Some(p) => tokio::fs::read(p).await,
            None => Ok(Vec::new()),
        }
    }
}

impl Drop for SpooledFile {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The text fields and the file of a multipart upload.
pub struct Upload {
    fields: Vec<(String, String)>,
    pub file: Option<SpooledFile>,
}

impl Upload {
    /// A text field's value (trimmed), `""` when absent.
    pub fn text(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }
}

/// Why an upload could not be read.
pub enum UploadError {
    /// Larger than `limit` bytes; nothing kept.
    TooLarge { limit: u64 },
    /// The body is not a readable multipart form.
    Unreadable(String),
}

impl UploadError {
    pub fn into_service_error(self, lang: Lang) -> ServiceError {
        match self {
            UploadError::TooLarge { limit } => ServiceError::TooLarge(format!(
                "{} {} ({limit} bytes). {}",
                lang.t("파일이 업로드 한도를 넘습니다:", "The file is larger than the upload limit of"),
                human_bytes(limit as i64),
                lang.t(
                    "아무것도 저장하지 않았습니다. 더 큰 파일은 API(/api/v1/findings/imports) 또는 CLI(haechi findings import)로 가져오십시오.",
                    "Nothing was stored. Import larger files through the API (/api/v1/findings/imports) or the CLI (haechi findings import).",
                )
            )),
            UploadError::Unreadable(why) => ServiceError::rule(
                "bad_upload",
                format!(
                    "{} {why}",
                    lang.t("업로드를 읽을 수 없습니다:", "The upload could not be read:")
                ),
            ),
        }
    }
}

fn multipart_error(e: MultipartError, limit: u64) -> UploadError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        UploadError::TooLarge { limit }
    } else {
        UploadError::Unreadable(e.body_text())
    }
}

fn spool_path() -> PathBuf {
    use rand::RngCore;
    let mut raw = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut raw);
    crate::spool::path("portal", &hex::encode(raw))
}

/// Reads the rest of a multipart form (its `_csrf` was checked already): text fields into
/// memory (at most 64 KiB each), the file field `file_field` to a temporary file, hashed and
/// counted, refused beyond `limit` bytes. A file input left empty counts as no file.
pub async fn read_upload(
    mut mp: Multipart,
    file_field: &str,
    limit: u64,
) -> Result<Upload, UploadError> {
    let mut fields = Vec::new();
    let mut file: Option<SpooledFile> = None;
    while let Some(mut field) = mp
        .next_field()
        .await
        .map_err(|e| multipart_error(e, limit))?
    {
        let name = field.name().unwrap_or("").to_string();
        if name == file_field && field.file_name().is_some() {
            let file_name = field
                .file_name()
                .map(str::to_string)
                .filter(|n| !n.is_empty());
            let path = spool_path();
            let mut out = tokio::fs::File::create(&path)
                .await
                .map_err(|e| UploadError::Unreadable(format!("cannot store the upload: {e}")))?;
            let mut spooled = SpooledFile {
                file_name,
                size: 0,
                sha256: String::new(),
                path: Some(path),
            };
            let mut hash = Sha256::new();
            while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, limit))? {
                spooled.size += chunk.len() as u64;
                if spooled.size > limit {
                    return Err(UploadError::TooLarge { limit });
                }
                hash.update(&chunk);
                out.write_all(&chunk).await.map_err(|e| {
                    UploadError::Unreadable(format!("cannot store the upload: {e}"))
                })?;
            }
            out.flush()
                .await
                .map_err(|e| UploadError::Unreadable(format!("cannot store the upload: {e}")))?;
            spooled.sha256 = hex::encode(hash.finalize());
            if spooled.size > 0 || spooled.file_name.is_some() {
                file = Some(spooled);
            }
        } else {
            let mut value = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, limit))? {
                value.extend_from_slice(&chunk);
                if value.len() > 64 * 1024 {
                    return Err(UploadError::Unreadable(format!(
                        "the field '{name}' is longer than 64 KiB"
                    )));
                }
            }
            fields.push((name, String::from_utf8_lossy(&value).into_owned()));
        }
    }
    Ok(Upload { fields, file })
}

/// The upload limit of portal forms: the configured import limit.
pub fn upload_limit(st: &crate::AppState) -> u64 {
    st.svc.config().max_import_bytes as u64
}

/// The page of a refused upload (too large: 413; unreadable: 409), nothing stored.
pub fn upload_refused(p: &Portal, e: UploadError) -> axum::response::Response {
    p.error(e.into_service_error(p.lang))
}
