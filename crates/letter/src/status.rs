//! Whether a verified letter is in force on a given day.
//!
//! A good signature says who issued the letter, not whether it still holds: expiry depends on
//! the date and revocation on the regulator's revocation list, both of which the caller supplies.
//! This module must not read a clock or a store.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::signing::VerifiedLetter;

/// A revocation of one letter, as recorded by the regulator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationInfo {
    /// Number of the revoked letter.
    pub letter_number: String,
    /// Day from which the revocation takes effect.
    pub effective_on: NaiveDate,
    /// Reason given by the regulator.
    pub reason: String,
}

/// Whether a letter is in force, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LetterStatus {
    /// In force today.
    Valid {
        /// Last day of validity.
        valid_until: NaiveDate,
        /// Days left including today.
        days_left: i64,
    },
    /// Not in force yet.
    NotYetValid {
        /// First day of validity.
        valid_from: NaiveDate,
    },
    /// Its validity ended.
    Expired {
        /// Last day it was valid.
        valid_until: NaiveDate,
    },
    /// Revoked by the regulator.
    Revoked {
        /// Day the revocation took effect.
        effective_on: NaiveDate,
        /// Reason given.
        reason: String,
    },
}

impl LetterStatus {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            LetterStatus::Valid { .. } => "valid",
            LetterStatus::NotYetValid { .. } => "not_yet_valid",
            LetterStatus::Expired { .. } => "expired",
            LetterStatus::Revoked { .. } => "revoked",
        }
    }

    /// True only for [`LetterStatus::Valid`].
    pub fn is_valid(&self) -> bool {
        matches!(self, LetterStatus::Valid { .. })
    }

    /// A one-line reason in English.
    pub fn reason(&self) -> String {
        match self {
            LetterStatus::Valid {
                valid_until,
                days_left,
            } => format!("valid until {valid_until} ({days_left} days left)"),
            LetterStatus::NotYetValid { valid_from } => {
                format!("not yet valid: validity starts on {valid_from}")
            }
            LetterStatus::Expired { valid_until } => {
                format!("expired: validity ended on {valid_until}")
            }
            LetterStatus::Revoked {
                effective_on,
                reason,
            } => format!("revoked with effect from {effective_on}: {reason}"),
        }
    }
}

/// The status of a verified letter on `today`.
///
/// A revocation applies only if it names this letter's number and has taken effect by `today`;
/// it wins over every other state because a revoked letter must never read as merely expired.
/// `valid_until` is inclusive.
pub fn status(
    letter: &VerifiedLetter,
    today: NaiveDate,
    revoked: Option<&RevocationInfo>,
) -> LetterStatus {
    let l = letter.letter();
    if let Some(r) = revoked {
        if r.letter_number == l.letter_number && r.effective_on <= today {
            return LetterStatus::Revoked {
                effective_on: r.effective_on,
                reason: r.reason.clone(),
            };
        }
    }
    if today < l.valid_from {
        LetterStatus::NotYetValid {
            valid_from: l.valid_from,
        }
    } else if today > l.valid_until {
        LetterStatus::Expired {
            valid_until: l.valid_until,
        }
    } else {
        LetterStatus::Valid {
            valid_until: l.valid_until,
            days_left: (l.valid_until - today).num_days() + 1,
        }
    }
}
