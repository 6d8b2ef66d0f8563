//! The no-action letter (비조치의견서) document: what the FSC grants one institution.
//!
//! This is the signed content, so every field here is part of the legal record. It must not hold
//! anything that changes after issue (status, revocation, reminders live with the caller), and it
//! must not grow fields silently: a new field means a new schema version, because old verifiers
//! reject unknown fields.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Schema id of version 1 of the letter format.
pub const SCHEMA_V1: &str = "haechi.no-action-letter/1";

/// Text in both official languages; Korean is the authoritative one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalizedText {
    /// Korean text (authoritative).
    pub ko: String,
    /// English text (courtesy translation).
    pub en: String,
}

impl LocalizedText {
    /// Both texts at once.
    pub fn new(ko: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            ko: ko.into(),
            en: en.into(),
        }
    }
}

/// The authority that issues the letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Issuer {
    /// Short id, e.g. `FSC`.
    pub id: String,
    /// Full name.
    pub name: LocalizedText,
}

/// The institution the letter is granted to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holder {
    /// Haechi's institution id.
    pub institution_id: String,
    /// Legal name.
    pub name: LocalizedText,
}

/// What kind of external service the relief lets the holder use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// A high-performance AI model or service used for vulnerability assessment.
    AiService,
    /// A certified security SaaS product.
    SaasProduct,
}

impl ServiceKind {
    /// Label in both languages.
    pub fn label(self) -> LocalizedText {
        match self {
            ServiceKind::AiService => LocalizedText::new("AI 서비스", "AI service"),
            ServiceKind::SaasProduct => LocalizedText::new("보안 SaaS", "Security SaaS"),
        }
    }
}

/// One service the holder may use despite network separation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermittedService {
    /// AI service or SaaS product.
    pub kind: ServiceKind,
    /// Product or model name, with version where it matters.
    pub name: String,
    /// Vendor.
    pub vendor: String,
    /// Certifications the permission relies on (e.g. `ISO/IEC 27001`, `CSAP`).
    pub certifications: Vec<String>,
    /// Resource data classes (policy's classes, e.g. `O`, `S`) whose data may reach the service.
    pub data_classes: Vec<String>,
}

/// The scope of the relief.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermittedScope {
    /// Services permitted; anything not listed stays under network separation.
    pub services: Vec<PermittedService>,
}

/// Category of a condition attached to the relief.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionKind {
    /// Internal-control measures that replace separation.
    InternalControl,
    /// Only the certified services listed in the scope may be used.
    CertifiedServicesOnly,
    /// Duties to report to the authorities.
    ReportingDuty,
    /// Supplementary security discipline.
    SupplementarySecurity,
    /// Anything else the commission attached.
    Other,
}

/// A condition the holder must keep for the relief to stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Category.
    pub kind: ConditionKind,
    /// The condition's text.
    pub text: LocalizedText,
}

/// Kind of a report owed under the letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Periodic (by default quarterly) report.
    Periodic,
    /// Final report at expiry.
    Final,
    /// The six-monthly SaaS compliance self-evaluation (reported to the CISO, on the letter's
    /// schedule like the reports to the regulator).
    SaasSelfEvaluation,
}

impl ReportKind {
    /// Label in both languages.
    pub fn label(self) -> LocalizedText {
        match self {
            ReportKind::Periodic => LocalizedText::new("정기 보고", "Periodic report"),
            ReportKind::Final => LocalizedText::new("최종 보고", "Final report"),
            ReportKind::SaasSelfEvaluation => {
                LocalizedText::new("SaaS 자체 점검", "SaaS self-evaluation")
            }
        }
    }
}

/// One reporting obligation in the letter's schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportingObligation {
    /// Periodic, final or SaaS self-evaluation.
    pub kind: ReportKind,
    /// First day of the period covered.
    pub period_start: NaiveDate,
    /// Last day of the period covered (inclusive).
    pub period_end: NaiveDate,
    /// Day the report is due.
    pub due_on: NaiveDate,
}

/// The no-action letter document (the content that is signed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoActionLetter {
    /// Schema id; [`SCHEMA_V1`].
    pub schema: String,
    /// Letter number, e.g. `FSC-NAL-2026-0001`.
    pub letter_number: String,
    /// Issuing authority.
    pub issuer: Issuer,
    /// Institution granted the relief.
    pub holder: Holder,
    /// Date of issue.
    pub issued_on: NaiveDate,
    /// First day of validity.
    pub valid_from: NaiveDate,
    /// Last day of validity (inclusive).
    pub valid_until: NaiveDate,
    /// What the holder may use.
    pub scope: PermittedScope,
    /// Conditions of the relief.
    pub conditions: Vec<Condition>,
    /// Reports owed.
    pub reporting: Vec<ReportingObligation>,
    /// Legal basis of the relief.
    pub legal_basis: LocalizedText,
    /// Number of the letter this one renews, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renews: Option<String>,
    /// Policy version under which the letter was issued.
    pub policy_version: u32,
}

/// Why a letter's content is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LetterError {
    /// A required text is empty.
    #[error("letter field {field} is empty")]
    EmptyField {
        /// Field path, e.g. `holder.name.ko`.
        field: String,
    },
    /// Dates are out of order.
    #[error("letter dates out of order: {detail}")]
    DateOrder {
        /// Which dates, and their values.
        detail: String,
    },
    /// The schema id is not one this build understands.
    #[error("letter schema {found:?} is not supported (expected {SCHEMA_V1:?})")]
    UnsupportedSchema {
        /// The schema id found.
        found: String,
    },
}

impl LetterError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            LetterError::EmptyField { .. } => "letter.empty_field",
            LetterError::DateOrder { .. } => "letter.date_order",
            LetterError::UnsupportedSchema { .. } => "letter.unsupported_schema",
        }
    }
}

impl NoActionLetter {
    /// Check the letter is internally consistent: schema known, required texts present,
    /// `issued_on <= valid_from <= valid_until`, reporting periods ordered.
    pub fn validate(&self) -> Result<(), LetterError> {
        if self.schema != SCHEMA_V1 {
            return Err(LetterError::UnsupportedSchema {
                found: self.schema.clone(),
            });
        }
        let texts = [
            ("letter_number", &self.letter_number),
            ("issuer.id", &self.issuer.id),
            ("issuer.name.ko", &self.issuer.name.ko),
            ("issuer.name.en", &self.issuer.name.en),
            ("holder.institution_id", &self.holder.institution_id),
            ("holder.name.ko", &self.holder.name.ko),
            ("holder.name.en", &self.holder.name.en),
            ("legal_basis.ko", &self.legal_basis.ko),
            ("legal_basis.en", &self.legal_basis.en),
        ];
        for (field, text) in texts {
            if text.trim().is_empty() {
                return Err(LetterError::EmptyField {
                    field: field.to_owned(),
                });
            }
        }
        for (i, s) in self.scope.services.iter().enumerate() {
            if s.name.trim().is_empty() {
                return Err(LetterError::EmptyField {
                    field: format!("scope.services[{i}].name"),
                });
            }
        }
        if self.issued_on > self.valid_from {
            return Err(LetterError::DateOrder {
                detail: format!(
                    "issued_on {} is after valid_from {}",
                    self.issued_on, self.valid_from
                ),
            });
        }
        if self.valid_from > self.valid_until {
            return Err(LetterError::DateOrder {
                detail: format!(
                    "valid_from {} is after valid_until {}",
                    self.valid_from, self.valid_until
                ),
            });
        }
        for (i, r) in self.reporting.iter().enumerate() {
            if r.period_start > r.period_end || r.period_end > r.due_on {
                return Err(LetterError::DateOrder {
                    detail: format!(
                        "reporting[{i}]: period {}..{} due {} is out of order",
                        r.period_start, r.period_end, r.due_on
                    ),
                });
            }
        }
        Ok(())
    }
}
