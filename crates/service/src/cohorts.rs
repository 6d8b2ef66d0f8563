//! C5 phase planning: the planner proposes a cohort from approved applications and explains every
//! inclusion and exclusion; the officer confirms it.

use chrono::NaiveDate;
use haechi_core::{Actor, FieldError};
use haechi_policy::cohort::{self, Candidate, CohortPlan, CohortReason, PlanContext};
use haechi_store::{CohortAddition, CohortRecord};

use crate::authz::{self, Action};
use crate::{record, to_json, Result, Service, ServiceError};

impl Service {
    async fn plan_in(&self, tx: &mut haechi_store::WriteTx, phase_id: &str) -> Result<CohortPlan> {
        let policy = self.policy_in(tx).await?;
        let rows = haechi_store::approved_applications(tx.conn()).await?;
        let confirmed_at = haechi_store::cohort_confirmed_at(tx.conn(), phase_id).await?;
        let ctx = PlanContext {
            confirmed: confirmed_at.is_some(),
            // Both times are the store's RFC 3339 UTC text, which sorts in time order.
            approved_after_confirmation: rows
                .iter()
                .filter(|r| confirmed_at.as_ref().is_some_and(|c| r.decided_at > *c))
                .map(|r| r.application_id)
                .collect(),
            today: Some(self.today()),
            overrides: rows
                .iter()
                .filter_map(|r| Some((r.application_id, r.override_reason.clone()?)))
                .collect(),
        };
        let candidates: Vec<Candidate> = rows
            .into_iter()
            .map(|r| Candidate {
                application_id: r.application_id,
                institution_id: r.institution_id,
                institution_name: r.institution_name,
                score: r.score,
                passed: r.passed,
                decided_on: NaiveDate::parse_from_str(&r.decided_on, "%Y-%m-%d")
                    .unwrap_or(NaiveDate::MAX),
                already_in_cohort: r.cohort_phase,
            })
            .collect();
        cohort::plan_with(&policy, phase_id, &candidates, &ctx).map_err(|e| match e {
            haechi_policy::DecisionError::UnknownPhase(_) => ServiceError::NotFound,
            other => ServiceError::rule(other.code(), other.to_string()),
        })
    }

    /// The proposed cohort of a phase, with the reason for every candidate. Changes nothing.
    pub async fn plan_cohort(&self, actor: &Actor, phase_id: &str) -> Result<CohortPlan> {
        authz::authorize(actor, Action::PlanCohorts)?;
        // A write transaction gives a consistent view; it is rolled back.
        let mut tx = self.store.begin().await?;
        self.plan_in(&mut tx, phase_id).await
    }

    /// Confirms the proposed cohort. `expected` (the application ids the officer saw) guards
    /// against confirming a plan that changed meanwhile.
    pub async fn confirm_cohort(
        &self,
        actor: &Actor,
        phase_id: &str,
        expected: Option<&[i64]>,
    ) -> Result<CohortRecord> {
        authz::authorize(actor, Action::PlanCohorts)?;
        let mut tx = self.store.begin().await?;
        let plan = self.plan_in(&mut tx, phase_id).await?;
        let members: Vec<i64> = plan
            .candidates
            .iter()
            .filter(|c| c.included)
            .map(|c| c.application_id)
            .collect();
        if let Some(expected) = expected {
            let mut a = expected.to_vec();
            let mut b = members.clone();
            a.sort_unstable();
            b.sort_unstable();
            if a != b {
                return Err(ServiceError::rule(
                    "plan_changed",
                    "the proposed cohort changed since it was shown; review it again",
                ));
            }
        }
        if members.is_empty() {
            return Err(ServiceError::rule(
                "empty_cohort",
                "no approved application can enter this phase",
            ));
        }
        tx.insert_cohort(
            phase_id,
            plan.policy_version,
            &to_json(&plan),
            &actor.username,
            &members,
            self.clock_text().as_deref(),
        )
        .await?;
        tx.audit(record(actor, "cohort.confirm", "cohort", phase_id, None, None, Some(serde_json::json!({"members": members, "policy_version": plan.policy_version, "below_minimum": plan.below_minimum})))).await?;
        // Each member's letter is drafted now; the officer reviews and issues it.
        self.draft_letters_in(&mut tx, actor, phase_id, &members)
            .await?;
        tx.commit().await?;
        haechi_store::list_cohorts(self.store.pool())
            .await?
            .into_iter()
            .find(|c| c.phase_id == phase_id)
            .ok_or(ServiceError::NotFound)
    }

    /// Adds an application approved after its phase's cohort was confirmed to that cohort, while
    /// the phase's window is open and the cohort has room; its letter is drafted like the other
    /// members'. A closed window or a full cohort is refused: the application then goes to the
    /// next phase's plan.
    pub async fn add_to_cohort(
        &self,
        actor: &Actor,
        phase_id: &str,
        application_id: i64,
        reason: &str,
    ) -> Result<CohortRecord> {
        authz::authorize(actor, Action::PlanCohorts)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "reason",
                "say why the application joins the confirmed cohort",
            )]));
        }
        let mut tx = self.store.begin().await?;
        let plan = self.plan_in(&mut tx, phase_id).await?;
        if haechi_store::cohort_confirmed_at(tx.conn(), phase_id)
            .await?
            .is_none()
        {
            return Err(ServiceError::rule(
                "cohort_not_confirmed",
                "this phase's cohort is not confirmed yet: confirm the proposed cohort instead",
            ));
        }
        let Some(c) = plan
            .candidates
            .iter()
            .find(|c| c.application_id == application_id)
        else {
            return Err(ServiceError::rule(
                "not_a_candidate",
                "only an approved application can join a cohort",
            ));
        };
        if c.code != CohortReason::ApprovedAfterConfirmation {
            return Err(ServiceError::rule(
                "not_a_late_approval",
                format!(
                    "this application cannot be added to the confirmed cohort: {}",
                    c.reason.en
                ),
            ));
        }
        if self.today() > plan.window_end {
            return Err(ServiceError::rule(
                "window_closed",
                format!(
                    "the phase's window closed on {}; the application is proposed for the next phase",
                    plan.window_end
                ),
            ));
        }
        if !c.can_add {
            return Err(ServiceError::rule(
                "cohort_full",
                "the confirmed cohort has reached the phase's capacity; the application is proposed for the next phase",
            ));
        }
        let at = self.clock_text().unwrap_or_else(haechi_store::now_text);
        tx.add_cohort_member(phase_id, application_id, reason, &actor.username, &at)
            .await?;
        tx.audit(record(
            actor,
            "cohort.add_member",
            "cohort",
            phase_id,
            Some(c.institution_id),
            None,
            Some(serde_json::json!({"application_id": application_id, "reason": reason, "policy_version": plan.policy_version})),
        ))
        .await?;
        self.draft_letters_in(&mut tx, actor, phase_id, &[application_id])
            .await?;
        tx.commit().await?;
        haechi_store::list_cohorts(self.store.pool())
            .await?
            .into_iter()
            .find(|c| c.phase_id == phase_id)
            .ok_or(ServiceError::NotFound)
    }

    /// Members added to confirmed cohorts after confirmation, with who added them and why.
    pub async fn cohort_additions(&self, actor: &Actor) -> Result<Vec<CohortAddition>> {
        authz::authorize(actor, Action::ReadProgram)?;
        Ok(haechi_store::cohort_additions(self.store.pool()).await?)
    }

    pub async fn list_cohorts(&self, actor: &Actor) -> Result<Vec<CohortRecord>> {
        authz::authorize(actor, Action::ReadProgram)?;
        Ok(haechi_store::list_cohorts(self.store.pool()).await?)
    }
}
