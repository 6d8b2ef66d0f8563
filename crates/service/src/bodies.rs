//! C14 the program's bodies: fintech funding of the AI Security Support Center. The center (or
//! a regulator admin) opens a call with a budget and the size classes and sectors it is open
//! to; small firms apply (or the center records an application on their behalf); the center
//! scores and awards against the remaining budget — never over it, which the store guarantees
//! under concurrent awards — cancels awards (the amount returns to the budget) and records
//! disbursements, never more than the award.

use chrono::NaiveDate;
use haechi_core::{Actor, FieldError, Sector, SizeClass};
use haechi_store::{DisbursementRow, FundingApplicationRow, FundingCallRow};
use serde::{Deserialize, Serialize};

use crate::authz::{self, Action, Owner};
use crate::{record, Result, Service, ServiceError};

/// Who may apply to a call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eligibility {
    #[serde(default)]
    pub size_classes: Vec<SizeClass>,
    #[serde(default)]
    pub sectors: Vec<Sector>,
}

impl Eligibility {
    /// An institution of a listed size class or of a listed sector.
    pub fn admits(&self, size: SizeClass, sector: Sector) -> bool {
        self.size_classes.contains(&size) || self.sectors.contains(&sector)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FundingCallInput {
    pub title: String,
    pub budget_krw: i64,
    pub eligibility: Eligibility,
    pub opens_on: Option<NaiveDate>,
    pub closes_on: Option<NaiveDate>,
}

/// A call with what is left of its budget and the applications the actor may see.
#[derive(Debug, Clone, Serialize)]
pub struct FundingCall {
    pub row: FundingCallRow,
    pub eligibility: Eligibility,
    pub remaining_krw: i64,
    pub applications: Vec<FundingApplicationRow>,
}

fn corrupt(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::rule("corrupt_funding", e.to_string())
}

impl Service {
    fn bodies_stamp(&self) -> String {
        self.clock_text().unwrap_or_else(haechi_store::now_text)
    }

    /// Opens a funding call.
    pub async fn create_funding_call(
        &self,
        actor: &Actor,
        input: &FundingCallInput,
    ) -> Result<i64> {
        authz::authorize(actor, Action::ManageFunding)?;
        let title = input.title.trim();
        let mut errors = Vec::new();
        if title.is_empty() {
            errors.push(FieldError::new("title", "must not be empty"));
        }
        if input.budget_krw <= 0 {
            errors.push(FieldError::new("budget_krw", "must be more than zero"));
        }
        if input.eligibility.size_classes.is_empty() && input.eligibility.sectors.is_empty() {
            errors.push(FieldError::new("eligibility", "name who may apply"));
        }
        match (input.opens_on, input.closes_on) {
            (None, _) => errors.push(FieldError::new("opens_on", "must not be empty")),
            (_, None) => errors.push(FieldError::new("closes_on", "must not be empty")),
            (Some(o), Some(c)) if c < o => errors.push(FieldError::new(
                "closes_on",
                "must not be before the opening",
            )),
            _ => {}
        }
        let (Some(opens), Some(closes)) = (input.opens_on, input.closes_on) else {
            return Err(ServiceError::invalid(errors));
        };
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let eligible = serde_json::to_string(&input.eligibility).map_err(corrupt)?;
        let at = self.bodies_stamp();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_funding_call(
                title,
                input.budget_krw,
                &eligible,
                &opens.to_string(),
                &closes.to_string(),
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "funding.call",
            "funding_call",
            &id.to_string(),
            None,
            None,
            Some(serde_json::json!({"title": title, "budget_krw": input.budget_krw, "eligibility": input.eligibility, "opens_on": opens, "closes_on": closes})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    fn call_view(
        &self,
        row: FundingCallRow,
        applications: Vec<FundingApplicationRow>,
    ) -> Result<FundingCall> {
        let eligibility = serde_json::from_str(&row.eligible_json).map_err(corrupt)?;
        Ok(FundingCall {
            remaining_krw: row.budget_krw - row.awarded_krw,
            eligibility,
            applications,
            row,
        })
    }

    /// Every call, newest first, with the applications the actor may see.
    pub async fn funding_calls(&self, actor: &Actor) -> Result<Vec<FundingCall>> {
        authz::authorize(actor, Action::ReadFunding)?;
        let pool = self.store.pool();
        let own = if actor.role.is_institution_role() {
            Some(actor.institution_id.ok_or(ServiceError::NotFound)?)
        } else {
            None
        };
        let apps = haechi_store::list_funding_applications(pool, None, own).await?;
        haechi_store::list_funding_calls(pool)
            .await?
            .into_iter()
            .map(|row| {
                let mine = apps
                    .iter()
                    .filter(|a| a.call_id == row.id)
                    .cloned()
                    .collect();
                self.call_view(row, mine)
            })
            .collect()
    }

    pub async fn funding_call(&self, actor: &Actor, id: i64) -> Result<FundingCall> {
        authz::authorize(actor, Action::ReadFunding)?;
        let pool = self.store.pool();
        let row = haechi_store::get_funding_call(pool, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let own = if actor.role.is_institution_role() {
            Some(actor.institution_id.ok_or(ServiceError::NotFound)?)
        } else {
            None
        };
        let apps = haechi_store::list_funding_applications(pool, Some(id), own).await?;
        self.call_view(row, apps)
    }

    /// Applies to an open call for an eligible institution. Returns the application's id.
    pub async fn apply_funding(
        &self,
        actor: &Actor,
        call_id: i64,
        institution_id: i64,
        purpose: &str,
        requested_krw: i64,
    ) -> Result<i64> {
        authz::authorize_record(
            actor,
            Action::ApplyFunding,
            Owner::Institution(institution_id),
        )?;
        let pool = self.store.pool();
        let call = haechi_store::get_funding_call(pool, call_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let institution = haechi_store::get_institution(pool, institution_id)
            .await?
            .ok_or_else(|| {
                ServiceError::invalid(vec![FieldError::new(
                    "institution_id",
                    "no such institution",
                )])
            })?;
        let eligibility: Eligibility =
            serde_json::from_str(&call.eligible_json).map_err(corrupt)?;
        let purpose = purpose.trim();
        let mut errors = Vec::new();
        if purpose.is_empty() {
            errors.push(FieldError::new("purpose", "must not be empty"));
        }
        if requested_krw <= 0 {
            errors.push(FieldError::new("requested_krw", "must be more than zero"));
        } else if requested_krw > call.budget_krw {
            errors.push(FieldError::new(
                "requested_krw",
                "exceeds the call's budget",
            ));
        }
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        if !eligibility.admits(institution.input.size_class, institution.input.sector) {
            return Err(ServiceError::rule(
                "not_eligible",
                "the call is not open to this institution's size class or sector",
            ));
        }
        let today = self.today().to_string();
        if today < call.opens_on || today > call.closes_on {
            return Err(ServiceError::rule(
                "call_closed",
                "the call is not open today",
            ));
        }
        let at = self.bodies_stamp();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_funding_application(
                call_id,
                institution_id,
                purpose,
                requested_krw,
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "funding.apply",
            "funding_application",
            &id.to_string(),
            Some(institution_id),
            None,
            Some(serde_json::json!({"call_id": call_id, "requested_krw": requested_krw})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Awards `amount` (≤ requested, within the remaining budget) or, with `None`, rejects; the
    /// note says why.
    pub async fn decide_funding(
        &self,
        actor: &Actor,
        application_id: i64,
        amount: Option<i64>,
        score: Option<i64>,
        note: &str,
    ) -> Result<()> {
        authz::authorize(actor, Action::ManageFunding)?;
        let note = note.trim();
        let mut tx = self.store.begin().await?;
        let app = haechi_store::get_funding_application(tx.conn(), application_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let mut errors = Vec::new();
        if note.is_empty() {
            errors.push(FieldError::new("note", "must not be empty"));
        }
        if let Some(a) = amount {
            if a <= 0 {
                errors.push(FieldError::new("amount_krw", "must be more than zero"));
            } else if a > app.requested_krw {
                errors.push(FieldError::new(
                    "amount_krw",
                    "exceeds the amount requested",
                ));
            }
        }
        if score.is_some_and(|s| !(0..=100).contains(&s)) {
            errors.push(FieldError::new("score", "must be 0-100"));
        }
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        if app.state != "submitted" {
            return Err(ServiceError::rule(
                "illegal_transition",
                "the application was already decided",
            ));
        }
        let at = self.bodies_stamp();
        let to = match amount {
            Some(a) => {
                if !tx
                    .award_funding(
                        application_id,
                        app.call_id,
                        a,
                        score,
                        note,
                        &actor.username,
                        &at,
                    )
                    .await?
                {
                    let call = haechi_store::get_funding_call(tx.conn(), app.call_id)
                        .await?
                        .ok_or(ServiceError::NotFound)?;
                    return Err(ServiceError::rule(
                        "over_budget",
                        format!(
                            "the award exceeds the call's remaining budget of {} KRW",
                            call.budget_krw - call.awarded_krw
                        ),
                    ));
                }
                "awarded"
            }
            None => {
                tx.reject_funding(application_id, score, note, &actor.username, &at)
                    .await?;
                "rejected"
            }
        };
        tx.audit(record(
            actor,
            &format!("funding.{to}"),
            "funding_application",
            &application_id.to_string(),
            Some(app.institution_id),
            Some(serde_json::json!({"state": "submitted"})),
            Some(serde_json::json!({"state": to, "call_id": app.call_id, "amount_krw": amount, "score": score, "note": note})),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Cancels an award (its amount returns to the call's budget); nothing may have been paid.
    pub async fn cancel_funding(
        &self,
        actor: &Actor,
        application_id: i64,
        note: &str,
    ) -> Result<()> {
        authz::authorize(actor, Action::ManageFunding)?;
        let note = note.trim();
        if note.is_empty() {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "note",
                "must not be empty",
            )]));
        }
        let mut tx = self.store.begin().await?;
        let app = haechi_store::get_funding_application(tx.conn(), application_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if app.state != "awarded" {
            return Err(ServiceError::rule(
                "illegal_transition",
                "only an award can be cancelled",
            ));
        }
        if app.disbursed_krw > 0 {
            return Err(ServiceError::rule(
                "already_disbursed",
                "part of the award was paid; it cannot be cancelled",
            ));
        }
        let at = self.bodies_stamp();
        tx.cancel_funding(application_id, note, &actor.username, &at)
            .await?;
        tx.audit(record(
            actor,
            "funding.cancel",
            "funding_application",
            &application_id.to_string(),
            Some(app.institution_id),
            Some(serde_json::json!({"state": "awarded", "amount_krw": app.award_krw})),
            Some(serde_json::json!({"state": "cancelled", "note": note})),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a payment of an award; the payments never exceed it.
    pub async fn record_disbursement(
        &self,
        actor: &Actor,
        application_id: i64,
        amount_krw: i64,
        paid_on: Option<NaiveDate>,
        note: &str,
    ) -> Result<i64> {
        authz::authorize(actor, Action::ManageFunding)?;
        let mut tx = self.store.begin().await?;
        let app = haechi_store::get_funding_application(tx.conn(), application_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let mut errors = Vec::new();
        if amount_krw <= 0 {
            errors.push(FieldError::new("amount_krw", "must be more than zero"));
        } else if amount_krw > app.award_krw.unwrap_or(0) - app.disbursed_krw {
            errors.push(FieldError::new(
                "amount_krw",
                "exceeds what is left of the award",
            ));
        }
        let Some(paid_on) = paid_on else {
            errors.push(FieldError::new("paid_on", "must not be empty"));
            return Err(ServiceError::invalid(errors));
        };
        if app.state != "awarded" {
            return Err(ServiceError::rule(
                "illegal_transition",
                "only an award is paid",
            ));
        }
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let at = self.bodies_stamp();
        let id = tx
            .insert_disbursement(
                application_id,
                amount_krw,
                &paid_on.to_string(),
                note.trim(),
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "funding.disburse",
            "funding_application",
            &application_id.to_string(),
            Some(app.institution_id),
            None,
            Some(serde_json::json!({"amount_krw": amount_krw, "paid_on": paid_on})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The payments of an application (an institution user: only their own).
    pub async fn funding_payments(
        &self,
        actor: &Actor,
        application_id: i64,
    ) -> Result<Vec<DisbursementRow>> {
        self.funding_application(actor, application_id).await?;
        let pool = self.store.pool();
        Ok(haechi_store::funding_disbursements(pool, application_id).await?)
    }
}
