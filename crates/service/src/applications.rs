//! C3 applications: drafting, evidence, the lifecycle, and the officer's decision (C4 end).

use haechi_core::application::ApplicationContent;
use haechi_core::{Actor, Application, ApplicationAction, ApplicationState, Role};
use haechi_store::{
    ApplicationEvent, ApplicationFilter, Assignment, AttachmentMeta, DecisionRecord,
    EvaluationRecord,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::authz::{self, Action, Owner};
use crate::{record, to_json, Result, Service, ServiceError};

/// Everything a screen shows about one application, cut to what the actor may see.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationView {
    pub application: Application,
    pub events: Vec<ApplicationEvent>,
    pub attachments: Vec<AttachmentMeta>,
    /// Officers and auditors only.
    pub assignments: Option<Vec<Assignment>>,
    pub evaluation: Option<EvaluationRecord>,
    pub decision: Option<DecisionRecord>,
    /// The officer's reason for approving against a failed evaluation, if it was such an
    /// approval.
    pub override_reason: Option<String>,
    /// Advisors an officer removed from the application, with the reason (officers and
    /// auditors only).
    pub removed_assignments: Option<Vec<Assignment>>,
}

impl Service {
    /// Who owns the application, from the actor's point of view.
    pub(crate) async fn application_owner(
        &self,
        actor: &Actor,
        app: &Application,
    ) -> Result<Owner> {
        let advisor_cleared = if actor.role == Role::Advisor {
            let all = haechi_store::assignments_for_application(self.store.pool(), app.id).await?;
            all.iter()
                .find(|a| a.advisor_id == actor.user_id)
                .map(|a| a.conflict == Some(false))
        } else {
            None
        };
        Ok(Owner::Application {
            institution_id: app.institution_id,
            advisor_cleared,
        })
    }

    async fn load_for(&self, actor: &Actor, action: Action, id: i64) -> Result<Application> {
        authz::authorize(actor, action)?;
        let app = haechi_store::get_application(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let owner = self.application_owner(actor, &app).await?;
        authz::authorize_record(actor, action, owner)?;
        Ok(app)
    }

    pub async fn list_applications(
        &self,
        actor: &Actor,
        mut filter: ApplicationFilter,
    ) -> Result<(Vec<Application>, i64)> {
        authz::authorize(actor, Action::ReadApplication)?;
        if actor.role.is_institution_role() {
            filter.institution_id = actor.institution_id.or(Some(-1));
        }
        if actor.role == Role::Advisor {
            filter.advisor_id = Some(actor.user_id);
        }
        let (mut items, total) =
            haechi_store::list_applications(self.store.pool(), &filter).await?;
        if actor.role == Role::Advisor {
            // An advisor sees which applications are assigned to them, but their content only
            // after declaring no conflict of interest.
            for app in &mut items {
                if !matches!(
                    self.application_owner(actor, app).await?,
                    Owner::Application {
                        advisor_cleared: Some(true),
                        ..
                    }
                ) {
                    app.content = ApplicationContent::default();
                }
            }
        }
        Ok((items, total))
    }

    pub async fn get_application(&self, actor: &Actor, id: i64) -> Result<ApplicationView> {
        let application = self.load_for(actor, Action::ReadApplication, id).await?;
        let pool = self.store.pool();
        let regulator = authz::allows(actor.role, Action::ReadEvaluation);
        Ok(ApplicationView {
            events: haechi_store::application_events(pool, id).await?,
            attachments: haechi_store::list_attachments(pool, id).await?,
            assignments: if regulator {
                Some(haechi_store::assignments_for_application(pool, id).await?)
            } else {
                None
            },
            evaluation: if regulator {
                haechi_store::get_evaluation(pool, id).await?
            } else {
                None
            },
            decision: haechi_store::get_decision(pool, id).await?,
            override_reason: haechi_store::decision_override(pool, id).await?,
            removed_assignments: if regulator {
                Some(haechi_store::removed_assignments_for_application(pool, id).await?)
            } else {
                None
            },
            application,
        })
    }

    /// A CISO or staff member starts a draft for their institution, which must be eligible now.
    pub async fn create_application(
        &self,
        actor: &Actor,
        content: ApplicationContent,
    ) -> Result<Application> {
        authz::authorize(actor, Action::DraftApplication)?;
        let institution_id = actor.institution_id.ok_or(ServiceError::NotFound)?;
        let errors = content.validate_draft();
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let mut tx = self.store.begin().await?;
        let (_, eligibility) = self.eligibility_now(&mut tx, institution_id).await?;
        if !eligibility.eligible {
            return Err(ServiceError::rule(
                "not_eligible",
                format!(
                    "the institution does not meet the eligibility rules of policy version {}: {}",
                    eligibility.policy_version,
                    eligibility.failed_rules().join(", ")
                ),
            ));
        }
        let id = tx
            .insert_application(institution_id, &to_json(&content), &self.now_text())
            .await?;
        tx.audit(record(
            actor,
            "application.create",
            "application",
            &id.to_string(),
            Some(institution_id),
            None,
            Some(to_json(&content)),
        ))
        .await?;
        let app = haechi_store::get_application(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(app)
    }

    /// Saves a draft; only drafts can be edited.
    pub async fn update_application(
        &self,
        actor: &Actor,
        id: i64,
        content: ApplicationContent,
    ) -> Result<Application> {
        let app = self.load_for(actor, Action::DraftApplication, id).await?;
        if app.state != ApplicationState::Draft {
            return Err(ServiceError::rule(
                "not_editable",
                format!(
                    "only a draft can be edited; this application is {}",
                    app.state
                ),
            ));
        }
        let errors = content.validate_draft();
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let mut tx = self.store.begin().await?;
        tx.update_application_content(id, &to_json(&content), &self.now_text())
            .await?;
        tx.audit(record(
            actor,
            "application.update",
            "application",
            &id.to_string(),
            Some(app.institution_id),
            Some(to_json(&app.content)),
            Some(to_json(&content)),
        ))
        .await?;
        let app = haechi_store::get_application(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(app)
    }

    /// Stores an evidence file with its SHA-256; refused over the size limit.
    pub async fn add_attachment(
        &self,
        actor: &Actor,
        id: i64,
        filename: &str,
        content_type: &str,
        data: &[u8],
    ) -> Result<AttachmentMeta> {
        let app = self.load_for(actor, Action::DraftApplication, id).await?;
        if data.len() > self.config.max_attachment_bytes {
            return Err(ServiceError::TooLarge(format!(
                "the file is {} bytes; the limit is {} bytes",
                data.len(),
                self.config.max_attachment_bytes
            )));
        }
        let (filename, sha) = evidence_file(filename, data)?;
        let filename = filename.as_str();
        if app.state.is_final() {
            return Err(ServiceError::rule(
                "not_editable",
                format!(
                    "evidence cannot be added to an application that is {}",
                    app.state
                ),
            ));
        }
        let mut tx = self.store.begin().await?;
        let att_id = tx
            .insert_attachment(id, filename, content_type, &sha, data, &actor.username)
            .await?;
        tx.audit(record(actor, "application.attach", "application", &id.to_string(), Some(app.institution_id), None, Some(serde_json::json!({"attachment_id": att_id, "filename": filename, "sha256": sha, "size": data.len()})))).await?;
        tx.commit().await?;
        let all = haechi_store::list_attachments(self.store.pool(), id).await?;
        all.into_iter()
            .find(|a| a.id == att_id)
            .ok_or(ServiceError::NotFound)
    }

    pub async fn get_attachment(
        &self,
        actor: &Actor,
        attachment_id: i64,
    ) -> Result<(AttachmentMeta, Vec<u8>)> {
        authz::authorize(actor, Action::ReadApplication)?;
        let (meta, data) = haechi_store::get_attachment(self.store.pool(), attachment_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        self.load_for(actor, Action::ReadApplication, meta.application_id)
            .await?;
        Ok((meta, data))
    }

    /// Moves an application through its lifecycle. `comment` is the officer's comment on a
    /// return, or the rationale of a decision (required for both).
    pub async fn transition(
        &self,
        actor: &Actor,
        id: i64,
        action: ApplicationAction,
        comment: Option<&str>,
    ) -> Result<Application> {
        self.transition_with_override(actor, id, action, comment, None)
            .await
    }

    /// [`Service::transition`] with the officer's explicit override reason, which approving an
    /// application whose evaluation failed requires (issue #14): the reason is stored with the
    /// decision, audited, and shown on the application and to the cohort planner, which then
    /// ranks the application like a passed one.
    pub async fn transition_with_override(
        &self,
        actor: &Actor,
        id: i64,
        action: ApplicationAction,
        comment: Option<&str>,
        override_reason: Option<&str>,
    ) -> Result<Application> {
        use ApplicationAction as A;
        let override_reason = override_reason.map(str::trim).filter(|c| !c.is_empty());
        let needed = match action {
            A::Submit | A::Withdraw => Action::SignApplication,
            _ => Action::ManageApplications,
        };
        let app = self.load_for(actor, needed, id).await?;
        let to = action.apply(app.state)?;
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        let mut tx = self.store.begin().await?;
        let policy = self.policy_in(&mut tx).await?;
        let mut stored_override = None;
        match action {
            A::Submit => {
                let criteria: Vec<String> = policy
                    .evaluation
                    .criteria
                    .iter()
                    .map(|c| c.id.clone())
                    .collect();
                let errors = app.content.validate_for_submission(&criteria);
                if !errors.is_empty() {
                    return Err(ServiceError::invalid(errors));
                }
            }
            A::StartScreening | A::StartReview => {
                let (_, d) = self.eligibility_now(&mut tx, app.institution_id).await?;
                if !d.eligible {
                    return Err(ServiceError::rule(
                        "not_eligible",
                        format!(
                            "the institution no longer meets the eligibility rules: {}",
                            d.failed_rules().join(", ")
                        ),
                    ));
                }
                if action == A::StartReview {
                    let cleared = haechi_store::assignments_for_application(tx.conn(), id)
                        .await?
                        .iter()
                        .filter(|a| a.conflict != Some(true))
                        .count();
                    let need = policy.evaluation.reviewers_per_application as usize;
                    if cleared < need {
                        return Err(ServiceError::rule("reviewers_missing", format!("{cleared} reviewer(s) assigned without conflict; the policy asks for {need}")));
                    }
                }
            }
            A::ReturnForCorrection if comment.is_none() => {
                return Err(ServiceError::invalid(vec![haechi_core::FieldError::new(
                    "comment",
                    "say what must be corrected",
                )]));
            }
            A::CompleteEvaluation => {
                let result = self.evaluate_in(&mut tx, &policy, id).await?;
                tx.upsert_evaluation(&result).await?;
            }
            A::Approve | A::Reject => {
                let Some(rationale) = comment else {
                    return Err(ServiceError::invalid(vec![haechi_core::FieldError::new(
                        "rationale",
                        "a decision needs its rationale",
                    )]));
                };
                let evaluation = haechi_store::get_evaluation(tx.conn(), id).await?;
                let failed = evaluation.as_ref().is_some_and(|e| !e.passed);
                if action == A::Approve && failed && override_reason.is_none() {
                    return Err(ServiceError::invalid(vec![haechi_core::FieldError::new(
                        "override_reason",
                        "the evaluation did not pass the policy's marks: approving it needs an explicit override reason",
                    )]));
                }
                let follows = match (&evaluation, action) {
                    (Some(e), A::Approve) => e.passed,
                    (Some(e), _) => !e.passed,
                    (None, _) => action == A::Reject,
                };
                tx.insert_decision(&DecisionRecord {
                    application_id: id,
                    outcome: to.as_str().into(),
                    rationale: rationale.into(),
                    follows_evaluation: follows,
                    policy_version: policy.version,
                    decided_by: actor.username.clone(),
                    decided_on: self.today().to_string(),
                    decided_at: self.clock_text().unwrap_or_else(haechi_store::now_text),
                })
                .await?;
                if let (A::Approve, true, Some(why)) = (action, failed, override_reason) {
                    tx.set_decision_override(id, why).await?;
                    stored_override = Some(why);
                }
            }
            _ => {}
        }
        tx.transition_application(
            id,
            action.as_str(),
            app.state,
            to,
            &actor.username,
            comment,
            self.clock_text().as_deref(),
        )
        .await?;
        tx.audit(record(
            actor,
            &format!("application.{}", action.as_str()),
            "application",
            &id.to_string(),
            Some(app.institution_id),
            Some(serde_json::json!({"state": app.state})),
            Some(match stored_override {
                Some(why) => serde_json::json!({"state": to, "comment": comment, "override_reason": why, "policy_version": policy.version}),
                None => serde_json::json!({"state": to, "comment": comment, "policy_version": policy.version}),
            }),
        ))
        .await?;
        let out = haechi_store::get_application(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(out)
    }
}

/// An evidence file's name as stored (its last path segment, trimmed) and its SHA-256, for
/// every kind of evidence (applications, report versions); refused when empty or unnamed.
pub(crate) fn evidence_file(filename: &str, data: &[u8]) -> Result<(String, String)> {
    if data.is_empty() {
        return Err(ServiceError::invalid(vec![haechi_core::FieldError::new(
            "file", "is empty",
        )]));
    }
    let filename = filename
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(filename)
        .trim();
    if filename.is_empty() || filename.len() > 200 {
        return Err(ServiceError::invalid(vec![haechi_core::FieldError::new(
            "filename",
            "must be 1-200 characters",
        )]));
    }
    Ok((filename.to_string(), hex::encode(Sha256::digest(data))))
}
