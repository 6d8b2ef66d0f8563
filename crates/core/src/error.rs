//! Domain errors: what a caller did wrong, in words that name the place. Each has a stable
//! machine code that the web layer maps to an HTTP status once.

use serde::Serialize;

/// One invalid field, named the way the caller spelled it (a form field, a CSV column, a JSON key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// 1-based row of a batch (CSV line) when the error comes from an import.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            row: None,
        }
    }
    pub fn at_row(mut self, row: usize) -> Self {
        self.row = Some(row);
        self
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.row {
            Some(row) => write!(f, "row {row}, column '{}': {}", self.field, self.message),
            None => write!(f, "field '{}': {}", self.field, self.message),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    #[error("invalid input: {}", join(.0))]
    Invalid(Vec<FieldError>),
    #[error("cannot {action} an application that is {from}")]
    IllegalTransition { from: String, action: String },
    #[error("{0}")]
    Conflict(String),
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid(vec![FieldError::new(field, message)])
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::Invalid(_) => "invalid_input",
            DomainError::IllegalTransition { .. } => "illegal_transition",
            DomainError::Conflict(_) => "conflict",
        }
    }
}
