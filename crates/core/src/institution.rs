//! C1: the financial institutions in the registry, with the figures that eligibility reads.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::FieldError;

macro_rules! labelled_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $code:literal, $ko:literal, $en:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant,)+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $code,)+ } }
            pub fn label_ko(self) -> &'static str { match self { $($name::$variant => $ko,)+ } }
            pub fn label_en(self) -> &'static str { match self { $($name::$variant => $en,)+ } }
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s))
            }
        }
    };
}

labelled_enum! {
    /// Supervisory sector of an institution.
    Sector {
        Bank = "bank", "은행", "Bank";
        Securities = "securities", "증권", "Securities";
        Insurance = "insurance", "보험", "Insurance";
        Card = "card", "카드", "Card";
        SavingsBank = "savings_bank", "저축은행", "Savings bank";
        Fintech = "fintech", "전자금융업자", "Fintech / electronic financial business";
    }
}

labelled_enum! {
    /// Size class as filed with the supervisor.
    SizeClass {
        Large = "large", "대형", "Large";
        Medium = "medium", "중형", "Medium";
        Small = "small", "소형", "Small";
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Institution {
    pub id: i64,
    #[serde(flatten)]
    pub input: InstitutionInput,
    pub created_at: String,
    pub updated_at: String,
}

/// The editable part of an institution: what a form, an API call or a CSV row provides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstitutionInput {
    /// The supervisor's code for the institution; unique, used to match CSV re-imports.
    pub code: String,
    pub name_ko: String,
    pub name_en: String,
    pub sector: Sector,
    pub total_assets_krw: i64,
    pub assets_as_of: NaiveDate,
    pub full_time_employees: i64,
    pub employees_as_of: NaiveDate,
    pub dedicated_ciso: bool,
    #[serde(default)]
    pub ciso_name: Option<String>,
    pub size_class: SizeClass,
    #[serde(default)]
    pub contact_name: Option<String>,
    #[serde(default)]
    pub contact_email: Option<String>,
    #[serde(default)]
    pub contact_phone: Option<String>,
}

impl InstitutionInput {
    /// Checks what the types cannot: non-empty names, non-negative figures, a CISO name when a
    /// dedicated CISO is declared.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let code_ok = !self.code.trim().is_empty()
            && self.code.len() <= 32
            && self
                .code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !code_ok {
            errors.push(FieldError::new(
                "code",
                "must be 1-32 letters, digits, '-' or '_'",
            ));
        }
        if self.name_ko.trim().is_empty() {
            errors.push(FieldError::new("name_ko", "must not be empty"));
        }
        if self.name_en.trim().is_empty() {
            errors.push(FieldError::new("name_en", "must not be empty"));
        }
        if self.total_assets_krw < 0 {
            errors.push(FieldError::new("total_assets_krw", "must not be negative"));
        }
        if self.full_time_employees < 0 {
            errors.push(FieldError::new(
                "full_time_employees",
                "must not be negative",
            ));
        }
        if self.dedicated_ciso
            && self
                .ciso_name
                .as_deref()
                .is_none_or(|n| n.trim().is_empty())
        {
            errors.push(FieldError::new(
                "ciso_name",
                "required when dedicated_ciso is true",
            ));
        }
        if let Some(email) = &self.contact_email {
            if !email.is_empty() && !email.contains('@') {
                errors.push(FieldError::new("contact_email", "is not an e-mail address"));
            }
        }
        errors
    }
}

/// One recorded change of a tracked figure (assets, employees, CISO), kept as history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FigureChange {
    pub institution_id: i64,
    pub field: String,
    pub old_value: String,
    pub new_value: String,
    pub as_of: Option<NaiveDate>,
    pub changed_at: String,
    pub changed_by: String,
}
