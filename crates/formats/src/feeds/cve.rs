//! CVE JSON 5 records (CVE Record Format 5.x), standards.md §5.3.
//!
//! Extracts what patch prioritisation needs: ids and dates, CVSS v4.0/v3.1/v3.0 vectors from
//! `containers.cna.metrics` and every `containers.adp[].metrics` (CISA-ADP "vulnrichment" often
//! has the only score) with the container recorded, CWE ids from `problemTypes`, and the
//! affected vendor/product/versions. Scores are kept as published; recomputing them from the
//! vector (they sometimes disagree) is the `cvss` crate's job.

use std::io::Read;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{is_cve_id, parse_datetime, read_json, FeedError};

/// Which CVSS version a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CvssVersion {
    /// `cvssV3_0`.
    V3_0,
    /// `cvssV3_1`.
    V3_1,
    /// `cvssV4_0`.
    V4_0,
}

/// Which container published a metric or CWE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricSource {
    /// `containers.cna`.
    Cna,
    /// `containers.adp[index]`, with its `providerMetadata.shortName` (e.g. `CISA-ADP`).
    Adp {
        /// Position in `containers.adp`.
        index: usize,
        /// `providerMetadata.shortName`.
        short_name: Option<String>,
    },
}

/// One CVSS metric as published.
#[derive(Debug, Clone, PartialEq)]
pub struct CvssMetric {
    /// Version.
    pub version: CvssVersion,
    /// `vectorString`.
    pub vector: String,
    /// `baseScore` as published.
    pub base_score: Option<f64>,
    /// `baseSeverity` as published.
    pub base_severity: Option<String>,
    /// Container it came from.
    pub source: MetricSource,
    /// JSON path, e.g. `containers.adp[0].metrics[1].cvssV3_1`.
    pub path: String,
}

/// A CWE reference from `problemTypes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CweRef {
    /// CWE number.
    pub id: u32,
    /// Container it came from.
    pub source: MetricSource,
}

/// One `affected[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Affected {
    /// `vendor`.
    pub vendor: Option<String>,
    /// `product`.
    pub product: Option<String>,
    /// `defaultStatus` (`affected`, `unaffected`, `unknown`).
    pub default_status: Option<String>,
    /// `versions[]`.
    pub versions: Vec<AffectedVersion>,
}

/// One `versions[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AffectedVersion {
    /// `version`.
    pub version: String,
    /// `status` (`affected`, `unaffected`, `unknown`).
    pub status: String,
    /// `versionType` (e.g. `semver`).
    pub version_type: Option<String>,
    /// `lessThan`.
    pub less_than: Option<String>,
    /// `lessThanOrEqual`.
    pub less_than_or_equal: Option<String>,
}

/// The parts of a CVE record Haechi uses.
#[derive(Debug, Clone, PartialEq)]
pub struct CveRecord {
    /// `cveMetadata.cveId`.
    pub cve_id: String,
    /// `cveMetadata.state` (`PUBLISHED` or `REJECTED`).
    pub state: String,
    /// `dataVersion`.
    pub data_version: String,
    /// `cveMetadata.assignerShortName`.
    pub assigner_short_name: Option<String>,
    /// `cveMetadata.datePublished`.
    pub date_published: Option<DateTime<Utc>>,
    /// `cveMetadata.dateUpdated`.
    pub date_updated: Option<DateTime<Utc>>,
    /// English (else first) CNA description.
    pub description: Option<String>,
    /// CVSS metrics from the CNA and every ADP container, in file order.
    pub metrics: Vec<CvssMetric>,
    /// CWE ids from the CNA and ADP `problemTypes`.
    pub cwes: Vec<CweRef>,
    /// CNA `affected[]`.
    pub affected: Vec<Affected>,
}

impl CveRecord {
    /// The metric to prefer: highest version first, CNA before ADP within a version.
    pub fn preferred_metric(&self) -> Option<&CvssMetric> {
        self.metrics
            .iter()
            .max_by_key(|m| (m.version, matches!(m.source, MetricSource::Cna)))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecord {
    data_type: String,
    data_version: String,
    cve_metadata: RawMetadata,
    #[serde(default)]
    containers: RawContainers,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetadata {
    cve_id: String,
    state: String,
    assigner_short_name: Option<String>,
    date_published: Option<String>,
    date_updated: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawContainers {
    cna: RawContainer,
    adp: Vec<RawContainer>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawContainer {
    provider_metadata: Option<RawProvider>,
    descriptions: Vec<RawDescription>,
    metrics: Vec<RawMetrics>,
    problem_types: Vec<RawProblemType>,
    affected: Vec<RawAffected>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawProvider {
    short_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawDescription {
    lang: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawMetrics {
    #[serde(rename = "cvssV4_0")]
    v4_0: Option<RawCvss>,
    #[serde(rename = "cvssV3_1")]
    v3_1: Option<RawCvss>,
    #[serde(rename = "cvssV3_0")]
    v3_0: Option<RawCvss>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCvss {
    vector_string: String,
    base_score: Option<f64>,
    base_severity: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawProblemType {
    descriptions: Vec<RawProblemDescription>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawProblemDescription {
    cwe_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawAffected {
    vendor: Option<String>,
    product: Option<String>,
    default_status: Option<String>,
    versions: Vec<RawVersion>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RawVersion {
    version: String,
    status: String,
    version_type: Option<String>,
    less_than: Option<String>,
    less_than_or_equal: Option<String>,
}

fn cwe_number(s: &str) -> Option<u32> {
    let t = s.trim();
    let rest = t
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("cwe-"))
        .map(|_| &t[4..])?;
    rest.parse().ok()
}

fn date(s: Option<String>, path: &str) -> Result<Option<DateTime<Utc>>, FeedError> {
    match s {
        None => Ok(None),
        Some(s) => parse_datetime(&s)
            .map(Some)
            .ok_or_else(|| FeedError::Invalid {
                path: path.to_owned(),
                message: format!("{s:?} is not a date-time"),
            }),
    }
}

/// Reads one CVE JSON 5 record (gzip accepted).
pub fn read_cve_record<R: Read>(input: R) -> Result<CveRecord, FeedError> {
    let raw: RawRecord = read_json(input)?;
    if raw.data_type != "CVE_RECORD" {
        return Err(FeedError::Unsupported {
            path: "dataType".to_owned(),
            found: raw.data_type,
            supported: "CVE_RECORD",
        });
    }
    if !raw.data_version.starts_with("5.") {
        return Err(FeedError::Unsupported {
            path: "dataVersion".to_owned(),
            found: raw.data_version,
            supported: "5.x",
        });
    }
    let md = raw.cve_metadata;
    if !is_cve_id(&md.cve_id) {
        return Err(FeedError::Invalid {
            path: "cveMetadata.cveId".to_owned(),
            message: format!("{:?} is not a CVE id", md.cve_id),
        });
    }
    let date_published = date(md.date_published, "cveMetadata.datePublished")?;
    let date_updated = date(md.date_updated, "cveMetadata.dateUpdated")?;

    let cna = raw.containers.cna;
    let description = cna
        .descriptions
        .iter()
        .find(|d| d.lang.as_deref().is_some_and(|l| l.starts_with("en")))
        .or_else(|| cna.descriptions.first())
        .and_then(|d| d.value.clone());
    let affected = cna
        .affected
        .iter()
        .map(|a| Affected {
            vendor: a.vendor.clone(),
            product: a.product.clone(),
            default_status: a.default_status.clone(),
            versions: a
                .versions
                .iter()
                .map(|v| AffectedVersion {
                    version: v.version.clone(),
                    status: v.status.clone(),
                    version_type: v.version_type.clone(),
                    less_than: v.less_than.clone(),
                    less_than_or_equal: v.less_than_or_equal.clone(),
                })
                .collect(),
        })
        .collect();

    let mut metrics = Vec::new();
    let mut cwes = Vec::new();
    let containers = std::iter::once(("containers.cna".to_owned(), MetricSource::Cna, &cna)).chain(
        raw.containers.adp.iter().enumerate().map(|(i, c)| {
            (
                format!("containers.adp[{i}]"),
                MetricSource::Adp {
                    index: i,
                    short_name: c
                        .provider_metadata
                        .as_ref()
                        .and_then(|p| p.short_name.clone()),
                },
                c,
            )
        }),
    );
    for (base, source, c) in containers {
        for (mi, m) in c.metrics.iter().enumerate() {
            for (version, key, cvss) in [
                (CvssVersion::V4_0, "cvssV4_0", &m.v4_0),
                (CvssVersion::V3_1, "cvssV3_1", &m.v3_1),
                (CvssVersion::V3_0, "cvssV3_0", &m.v3_0),
            ] {
                let Some(cvss) = cvss else { continue };
                let path = format!("{base}.metrics[{mi}].{key}");
                let prefix = match version {
                    CvssVersion::V4_0 => "CVSS:4.0/",
                    CvssVersion::V3_1 => "CVSS:3.1/",
                    CvssVersion::V3_0 => "CVSS:3.0/",
                };
                if !cvss.vector_string.starts_with(prefix) {
                    return Err(FeedError::Invalid {
                        path: format!("{path}.vectorString"),
                        message: format!("{:?} does not start with {prefix:?}", cvss.vector_string),
                    });
                }
                metrics.push(CvssMetric {
                    version,
                    vector: cvss.vector_string.clone(),
                    base_score: cvss.base_score,
                    base_severity: cvss.base_severity.clone(),
                    source: source.clone(),
                    path,
                });
            }
        }
        for pt in &c.problem_types {
            for d in &pt.descriptions {
                let id = d
                    .cwe_id
                    .as_deref()
                    .and_then(cwe_number)
                    // Some CNAs only fill `description: "CWE-79 Cross-site Scripting"`.
                    .or_else(|| {
                        (d.kind.as_deref() == Some("CWE"))
                            .then(|| {
                                d.description.as_deref().and_then(|s| {
                                    let n =
                                        s.get(4..)?.split(|c: char| !c.is_ascii_digit()).next()?;
                                    s.get(..4)?.eq_ignore_ascii_case("cwe-").then_some(())?;
                                    n.parse().ok()
                                })
                            })
                            .flatten()
                    });
                if let Some(id) = id {
                    if !cwes
                        .iter()
                        .any(|c: &CweRef| c.id == id && c.source == source)
                    {
                        cwes.push(CweRef {
                            id,
                            source: source.clone(),
                        });
                    }
                }
            }
        }
    }

    Ok(CveRecord {
        cve_id: md.cve_id.to_ascii_uppercase(),
        state: md.state,
        data_version: raw.data_version,
        assigner_short_name: md.assigner_short_name,
        date_published,
        date_updated,
        description,
        metrics,
        cwes,
        affected,
    })
}
