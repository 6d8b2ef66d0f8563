//! CISA Known Exploited Vulnerabilities catalog (JSON), standards.md §5.2.
//!
//! The catalog is ~1–2 MB, so it is read whole; every entry is checked (CVE id, dates) and an
//! error names its JSON path, e.g. `vulnerabilities[12].dateAdded`.

use std::io::Read;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::{is_cve_id, parse_datetime, read_json, FeedError};

/// The catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct KevCatalog {
    /// `title`.
    pub title: Option<String>,
    /// `catalogVersion`, e.g. `2026.11.24`.
    pub catalog_version: String,
    /// `dateReleased`.
    pub date_released: DateTime<Utc>,
    /// `count` as declared (may differ from `vulnerabilities.len()` in a broken file).
    pub count: Option<u64>,
    /// The entries, in file order.
    pub vulnerabilities: Vec<KevEntry>,
}

/// `knownRansomwareCampaignUse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RansomwareUse {
    /// `Known`.
    Known,
    /// `Unknown`.
    Unknown,
    /// Any other value, kept as written.
    Other(String),
}

/// One catalog entry.
#[derive(Debug, Clone, PartialEq)]
pub struct KevEntry {
    /// `cveID`, upper case.
    pub cve_id: String,
    /// `vendorProject`.
    pub vendor_project: String,
    /// `product`.
    pub product: String,
    /// `vulnerabilityName`.
    pub vulnerability_name: Option<String>,
    /// `dateAdded`.
    pub date_added: NaiveDate,
    /// `shortDescription`.
    pub short_description: Option<String>,
    /// `requiredAction`.
    pub required_action: Option<String>,
    /// `dueDate`.
    pub due_date: Option<NaiveDate>,
    /// `knownRansomwareCampaignUse`.
    pub known_ransomware_campaign_use: RansomwareUse,
    /// `notes`.
    pub notes: Option<String>,
    /// `cwes`, e.g. `["CWE-502"]`, as written.
    pub cwes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCatalog {
    title: Option<String>,
    catalog_version: String,
    date_released: String,
    count: Option<u64>,
    vulnerabilities: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    #[serde(rename = "cveID")]
    cve_id: String,
    vendor_project: String,
    product: String,
    vulnerability_name: Option<String>,
    date_added: String,
    short_description: Option<String>,
    required_action: Option<String>,
    due_date: Option<String>,
    known_ransomware_campaign_use: Option<String>,
    notes: Option<String>,
    #[serde(default)]
    cwes: Vec<String>,
}

fn date(s: &str, path: impl FnOnce() -> String) -> Result<NaiveDate, FeedError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| FeedError::Invalid {
        path: path(),
        message: format!("{s:?} is not a YYYY-MM-DD date"),
    })
}

/// Reads a KEV catalog (gzip accepted).
pub fn read_kev<R: Read>(input: R) -> Result<KevCatalog, FeedError> {
    let raw: RawCatalog = read_json(input)?;
    let date_released = parse_datetime(&raw.date_released).ok_or_else(|| FeedError::Invalid {
        path: "dateReleased".to_owned(),
        message: format!("{:?} is not a date-time", raw.date_released),
    })?;
    let mut vulnerabilities = Vec::with_capacity(raw.vulnerabilities.len());
    for (i, e) in raw.vulnerabilities.into_iter().enumerate() {
        let p = |field: &str| format!("vulnerabilities[{i}].{field}");
        if !is_cve_id(&e.cve_id) {
            return Err(FeedError::Invalid {
                path: p("cveID"),
                message: format!("{:?} is not a CVE id", e.cve_id),
            });
        }
        let date_added = date(&e.date_added, || p("dateAdded"))?;
        let due_date = match e.due_date.as_deref() {
            Some(d) if !d.trim().is_empty() => Some(date(d, || p("dueDate"))?),
            _ => None,
        };
        let ransomware = match e.known_ransomware_campaign_use.as_deref() {
            Some("Known") => RansomwareUse::Known,
            Some("Unknown") | None => RansomwareUse::Unknown,
            Some(other) => RansomwareUse::Other(other.to_owned()),
        };
        vulnerabilities.push(KevEntry {
            cve_id: e.cve_id.to_ascii_uppercase(),
            vendor_project: e.vendor_project,
            product: e.product,
            vulnerability_name: e.vulnerability_name,
            date_added,
            short_description: e.short_description,
            required_action: e.required_action,
            due_date,
            known_ransomware_campaign_use: ransomware,
            notes: e.notes,
            cwes: e.cwes,
        });
    }
    Ok(KevCatalog {
        title: raw.title,
        catalog_version: raw.catalog_version,
        date_released,
        count: raw.count,
        vulnerabilities,
    })
}
