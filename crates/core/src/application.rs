//! C3: an institution's application for relief and its lifecycle
//! `draft → submitted → screening → under_review → evaluated → approved | rejected`, plus
//! `withdrawn`, and return-for-correction back to `draft`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{DomainError, FieldError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationState {
    Draft,
    Submitted,
    Screening,
    UnderReview,
    Evaluated,
    Approved,
    Rejected,
    Withdrawn,
}

impl ApplicationState {
    pub const ALL: [ApplicationState; 8] = [
        ApplicationState::Draft,
        ApplicationState::Submitted,
        ApplicationState::Screening,
        ApplicationState::UnderReview,
        ApplicationState::Evaluated,
        ApplicationState::Approved,
        ApplicationState::Rejected,
        ApplicationState::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationState::Draft => "draft",
            ApplicationState::Submitted => "submitted",
            ApplicationState::Screening => "screening",
            ApplicationState::UnderReview => "under_review",
            ApplicationState::Evaluated => "evaluated",
            ApplicationState::Approved => "approved",
            ApplicationState::Rejected => "rejected",
            ApplicationState::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn label_ko(self) -> &'static str {
        match self {
            ApplicationState::Draft => "작성 중",
            ApplicationState::Submitted => "제출됨",
            ApplicationState::Screening => "자격 심사",
            ApplicationState::UnderReview => "전문가 평가 중",
            ApplicationState::Evaluated => "평가 완료",
            ApplicationState::Approved => "승인",
            ApplicationState::Rejected => "반려(거절)",
            ApplicationState::Withdrawn => "철회",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            ApplicationState::Approved | ApplicationState::Rejected | ApplicationState::Withdrawn
        )
    }
}

impl std::fmt::Display for ApplicationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What someone asks to do to an application. Who may ask is the service's concern; whether the
/// state allows it is decided here, by [`ApplicationAction::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationAction {
    Submit,
    StartScreening,
    StartReview,
    ReturnForCorrection,
    CompleteEvaluation,
    Approve,
    Reject,
    Withdraw,
}

impl ApplicationAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationAction::Submit => "submit",
            ApplicationAction::StartScreening => "start_screening",
            ApplicationAction::StartReview => "start_review",
            ApplicationAction::ReturnForCorrection => "return_for_correction",
            ApplicationAction::CompleteEvaluation => "complete_evaluation",
            ApplicationAction::Approve => "approve",
            ApplicationAction::Reject => "reject",
            ApplicationAction::Withdraw => "withdraw",
        }
    }

    /// The state after this action, or `illegal_transition` naming both.
    pub fn apply(self, from: ApplicationState) -> Result<ApplicationState, DomainError> {
        use ApplicationAction as A;
        use ApplicationState as S;
        let to = match (self, from) {
            (A::Submit, S::Draft) => S::Submitted,
            (A::StartScreening, S::Submitted) => S::Screening,
            (A::StartReview, S::Screening) => S::UnderReview,
            (A::ReturnForCorrection, S::Submitted | S::Screening | S::UnderReview) => S::Draft,
            (A::CompleteEvaluation, S::UnderReview) => S::Evaluated,
            (A::Approve, S::Evaluated) => S::Approved,
            (A::Reject, S::Screening | S::Evaluated) => S::Rejected,
            (A::Withdraw, s) if !s.is_final() => S::Withdrawn,
            _ => {
                return Err(DomainError::IllegalTransition {
                    from: from.as_str().into(),
                    action: self.as_str().into(),
                })
            }
        };
        Ok(to)
    }
}

/// One AI service or security SaaS product an application asks to use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEntry {
    /// `ai_service` (high-performance AI for vulnerability assessment) or `saas` (security SaaS).
    pub kind: String,
    pub name: String,
    pub vendor: String,
    #[serde(default)]
    pub certifications: Vec<String>,
    /// Data classes (C, S, O) that may reach the service.
    #[serde(default)]
    pub data_classes: Vec<String>,
}

/// The parts of an application a CISO writes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ApplicationContent {
    #[serde(default)]
    pub ai_vulnerability_assessment: bool,
    #[serde(default)]
    pub security_saas: bool,
    #[serde(default)]
    pub services: Vec<ServiceEntry>,
    /// Internal-control measures that replace network separation.
    #[serde(default)]
    pub internal_controls: String,
    /// Self-assessment on the capability rubric: criterion id → maturity level.
    #[serde(default)]
    pub self_assessment: BTreeMap<String, u8>,
}

impl ApplicationContent {
    /// What must hold before submission; `criteria` are the rubric ids the policy defines.
    pub fn validate_for_submission(&self, criteria: &[String]) -> Vec<FieldError> {
        let mut errors = self.validate_draft();
        if !self.ai_vulnerability_assessment && !self.security_saas {
            errors.push(FieldError::new(
                "scope",
                "choose AI vulnerability assessment, security SaaS or both",
            ));
        }
        if self.services.is_empty() {
            errors.push(FieldError::new(
                "services",
                "list at least one AI service or SaaS product",
            ));
        }
        if self.internal_controls.trim().len() < 20 {
            errors.push(FieldError::new(
                "internal_controls",
                "describe the internal-control measures (at least 20 characters)",
            ));
        }
        for c in criteria {
            if !self.self_assessment.contains_key(c) {
                errors.push(FieldError::new(
                    format!("self_assessment.{c}"),
                    "missing self-assessment level",
                ));
            }
        }
        errors
    }

    /// What must hold even for a draft: well-formed entries.
    pub fn validate_draft(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (i, s) in self.services.iter().enumerate() {
            if s.kind != "ai_service" && s.kind != "saas" {
                errors.push(FieldError::new(
                    format!("services[{i}].kind"),
                    "must be ai_service or saas",
                ));
            }
            if s.name.trim().is_empty() {
                errors.push(FieldError::new(
                    format!("services[{i}].name"),
                    "must not be empty",
                ));
            }
            if s.vendor.trim().is_empty() {
                errors.push(FieldError::new(
                    format!("services[{i}].vendor"),
                    "must not be empty",
                ));
            }
            for d in &s.data_classes {
                if !matches!(d.as_str(), "C" | "S" | "O") {
                    errors.push(FieldError::new(
                        format!("services[{i}].data_classes"),
                        format!("unknown data class '{d}' (C, S or O)"),
                    ));
                }
            }
        }
        for (k, v) in &self.self_assessment {
            if !(1..=4).contains(v) {
                errors.push(FieldError::new(
                    format!("self_assessment.{k}"),
                    "maturity level must be 1-4",
                ));
            }
        }
        errors
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: i64,
    pub institution_id: i64,
    pub institution_name: String,
    pub state: ApplicationState,
    pub content: ApplicationContent,
    pub created_at: String,
    pub updated_at: String,
    pub submitted_at: Option<String>,
    /// Phase cohort the application was confirmed into, once approved and planned.
    pub cohort_phase: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ApplicationAction as A;
    use ApplicationState as S;

    fn check(action: A, from: S, expect: Option<S>) {
        assert_eq!(action.apply(from).ok(), expect, "{action:?} from {from:?}");
    }

    #[test]
    fn lifecycle_table() {
        check(A::Submit, S::Draft, Some(S::Submitted));
        check(A::Submit, S::Submitted, None);
        check(A::StartScreening, S::Submitted, Some(S::Screening));
        check(A::StartReview, S::Screening, Some(S::UnderReview));
        check(A::StartReview, S::Draft, None);
        check(A::ReturnForCorrection, S::UnderReview, Some(S::Draft));
        check(A::ReturnForCorrection, S::Evaluated, None);
        check(A::CompleteEvaluation, S::UnderReview, Some(S::Evaluated));
        check(A::Approve, S::Evaluated, Some(S::Approved));
        check(A::Approve, S::UnderReview, None);
        check(A::Reject, S::Screening, Some(S::Rejected));
        check(A::Reject, S::Approved, None);
        check(A::Withdraw, S::Evaluated, Some(S::Withdrawn));
        check(A::Withdraw, S::Approved, None);
        check(A::Withdraw, S::Withdrawn, None);
    }

    #[test]
    fn illegal_transition_names_both() {
        let err = A::Approve.apply(S::Draft).unwrap_err();
        assert_eq!(err.code(), "illegal_transition");
        assert_eq!(
            err.to_string(),
            "cannot approve an application that is draft"
        );
    }
}
