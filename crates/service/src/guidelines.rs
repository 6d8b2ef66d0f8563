//! C14 the program's guidelines: versioned documents (resource classification, patch priority,
//! other) in Korean and English, each version tied to the policy versions it describes. A
//! version is drafted, then published; a published version never changes (the store's trigger
//! refuses it too) and the next published version supersedes it. Institutions' CISOs
//! acknowledge the version in force and the regulator sees who has and who has not; on-site
//! briefings are scheduled with invited institutions and their attendance; institutions request
//! tailored support and the regulator answers (open → scheduled → done).

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};
use haechi_core::{Actor, FieldError};
use haechi_store::{
    AcknowledgerRow, BriefingRow, GuidelineAckRow, GuidelineRow, GuidelineText,
    GuidelineVersionRow, TailoredSupportRow,
};
use serde::{Deserialize, Serialize};

use crate::authz::{self, Action, Owner};
use crate::{record, Result, Service, ServiceError};

/// The kinds of guideline.
pub const KINDS: [&str; 3] = ["resource_classification", "patch_priority", "other"];

/// A version's content as drafted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuidelineDraft {
    pub title_ko: String,
    pub title_en: String,
    pub body_ko: String,
    pub body_en: String,
    /// The policy versions the text describes (at least one, each stored).
    pub policy_versions: Vec<i64>,
}

/// A guideline with the versions the actor may see.
#[derive(Debug, Clone, Serialize)]
pub struct GuidelineView {
    pub guideline: GuidelineRow,
    /// Oldest first; drafts only for those who manage guidelines.
    pub versions: Vec<GuidelineVersionRow>,
    /// The version in force.
    pub current: Option<GuidelineVersionRow>,
    /// The draft in progress (managers only).
    pub draft: Option<GuidelineVersionRow>,
    /// Acknowledgements of the version in force (an institution user: its own only).
    pub acks: Vec<GuidelineAckRow>,
    /// Institutions expected to acknowledge that have not (regulator side only).
    pub pending: Vec<AcknowledgerRow>,
}

/// Scheduling an on-site briefing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BriefingInput {
    /// With its offset (the portal sends Korean time).
    pub starts_at: Option<DateTime<FixedOffset>>,
    pub place: String,
    pub topic: String,
    #[serde(default)]
    pub guideline_id: Option<i64>,
    pub institution_ids: Vec<i64>,
}

fn required(errors: &mut Vec<FieldError>, field: &str, v: &str) {
    if v.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    }
}

impl Service {
    fn guideline_stamp(&self) -> String {
        self.clock_text().unwrap_or_else(haechi_store::now_text)
    }

    async fn draft_errors(&self, d: &GuidelineDraft) -> Result<Vec<FieldError>> {
        let mut errors = Vec::new();
        required(&mut errors, "title_ko", &d.title_ko);
        required(&mut errors, "title_en", &d.title_en);
        required(&mut errors, "body_ko", &d.body_ko);
        required(&mut errors, "body_en", &d.body_en);
        let stored = haechi_store::list_policy_versions(self.store.pool()).await?;
        if d.policy_versions.is_empty() {
            errors.push(FieldError::new(
                "policy_versions",
                "name the policy versions the guideline describes",
            ));
        } else if d
            .policy_versions
            .iter()
            .any(|v| !stored.iter().any(|s| s.version == *v))
        {
            errors.push(FieldError::new(
                "policy_versions",
                "is not a stored policy version",
            ));
        }
        Ok(errors)
    }

    fn text(d: &GuidelineDraft) -> GuidelineText<'_> {
        GuidelineText {
            title_ko: d.title_ko.trim(),
            title_en: d.title_en.trim(),
            body_ko: d.body_ko.trim(),
            body_en: d.body_en.trim(),
        }
    }

    /// Starts a guideline with its first draft. Returns the guideline's id.
    pub async fn create_guideline(
        &self,
        actor: &Actor,
        kind: &str,
        draft: &GuidelineDraft,
    ) -> Result<i64> {
        authz::authorize(actor, Action::ManageGuidelines)?;
        let mut errors = self.draft_errors(draft).await?;
        if !KINDS.contains(&kind) {
            errors.push(FieldError::new(
                "kind",
                "must be resource_classification, patch_priority or other",
            ));
        }
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let at = self.guideline_stamp();
        let mut tx = self.store.begin().await?;
        let id = tx.insert_guideline(kind, &actor.username, &at).await?;
        let version = tx
            .insert_guideline_draft(
                id,
                1,
                &Self::text(draft),
                &draft.policy_versions,
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "guideline.create",
            "guideline",
            &id.to_string(),
            None,
            None,
            Some(serde_json::json!({"kind": kind, "version_id": version, "title_ko": draft.title_ko.trim(), "policy_versions": draft.policy_versions})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Saves the guideline's draft: rewrites the draft in progress, or starts the next version
    /// when the latest is published. Returns the draft version's id.
    pub async fn save_guideline_draft(
        &self,
        actor: &Actor,
        guideline_id: i64,
        draft: &GuidelineDraft,
    ) -> Result<i64> {
        authz::authorize(actor, Action::ManageGuidelines)?;
        let errors = self.draft_errors(draft).await?;
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let at = self.guideline_stamp();
        let mut tx = self.store.begin().await?;
        haechi_store::get_guideline(tx.conn(), guideline_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let versions = haechi_store::guideline_versions(tx.conn(), guideline_id).await?;
        let (id, version) = match versions.iter().find(|v| v.state == "draft") {
            Some(d) => {
                tx.update_guideline_draft(
                    d.id,
                    &Self::text(draft),
                    &draft.policy_versions,
                    &actor.username,
                    &at,
                )
                .await?;
                (d.id, d.version)
            }
            None => {
                let next = versions.iter().map(|v| v.version).max().unwrap_or(0) + 1;
                let id = tx
                    .insert_guideline_draft(
                        guideline_id,
                        next,
                        &Self::text(draft),
                        &draft.policy_versions,
                        &actor.username,
                        &at,
                    )
                    .await?;
                (id, next)
            }
        };
        tx.audit(record(
            actor,
            "guideline.draft",
            "guideline",
            &guideline_id.to_string(),
            None,
            None,
            Some(serde_json::json!({"version": version, "version_id": id, "title_ko": draft.title_ko.trim(), "policy_versions": draft.policy_versions})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Publishes the guideline's draft; the version in force until now is superseded. Returns
    /// the published version number.
    pub async fn publish_guideline(&self, actor: &Actor, guideline_id: i64) -> Result<i64> {
        authz::authorize(actor, Action::ManageGuidelines)?;
        let at = self.guideline_stamp();
        let mut tx = self.store.begin().await?;
        haechi_store::get_guideline(tx.conn(), guideline_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let versions = haechi_store::guideline_versions(tx.conn(), guideline_id).await?;
        let Some(draft) = versions.iter().find(|v| v.state == "draft") else {
            return Err(ServiceError::rule(
                "no_draft",
                "there is no draft to publish; a published version does not change, save a new draft first",
            ));
        };
        let previous = versions
            .iter()
            .find(|v| v.state == "published")
            .map(|v| v.version);
        tx.publish_guideline_version(guideline_id, draft.id, &actor.username, &at)
            .await?;
        tx.audit(record(
            actor,
            "guideline.publish",
            "guideline",
            &guideline_id.to_string(),
            None,
            previous.map(|v| serde_json::json!({"published_version": v})),
            Some(serde_json::json!({"published_version": draft.version, "version_id": draft.id, "policy_versions": draft.policy_versions})),
        ))
        .await?;
        tx.commit().await?;
        Ok(draft.version)
    }

    async fn guideline_view(&self, actor: &Actor, g: GuidelineRow) -> Result<GuidelineView> {
        let pool = self.store.pool();
        let manage = authz::allows(actor.role, Action::ManageGuidelines);
        let mut conn = pool
            .acquire()
            .await
            .map_err(haechi_store::StoreError::from)?;
        let versions: Vec<GuidelineVersionRow> = haechi_store::guideline_versions(&mut conn, g.id)
            .await?
            .into_iter()
            .filter(|v| manage || v.state != "draft")
            .collect();
        drop(conn);
        let current = versions.iter().find(|v| v.state == "published").cloned();
        let draft = versions.iter().find(|v| v.state == "draft").cloned();
        let (acks, pending) = match &current {
            Some(c) => {
                let all = haechi_store::guideline_acks(pool, c.id).await?;
                if actor.role.is_institution_role() {
                    let own = actor.institution_id.unwrap_or(0);
                    (
                        all.into_iter()
                            .filter(|a| a.institution_id == own)
                            .collect(),
                        Vec::new(),
                    )
                } else {
                    let pending = haechi_store::institutions_with_ciso(pool)
                        .await?
                        .into_iter()
                        .filter(|i| !all.iter().any(|a| a.institution_id == i.institution_id))
                        .collect();
                    (all, pending)
                }
            }
            None => (Vec::new(), Vec::new()),
        };
        Ok(GuidelineView {
            guideline: g,
            versions,
            current,
            draft,
            acks,
            pending,
        })
    }

    /// Every guideline the actor may see (a guideline never published: managers only).
    pub async fn guidelines(&self, actor: &Actor) -> Result<Vec<GuidelineView>> {
        authz::authorize(actor, Action::ReadGuidelines)?;
        let mut out = Vec::new();
        for g in haechi_store::list_guidelines(self.store.pool()).await? {
            let v = self.guideline_view(actor, g).await?;
            if !v.versions.is_empty() {
                out.push(v);
            }
        }
        Ok(out)
    }

    pub async fn guideline(&self, actor: &Actor, id: i64) -> Result<GuidelineView> {
        authz::authorize(actor, Action::ReadGuidelines)?;
        let g = haechi_store::get_guideline(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let v = self.guideline_view(actor, g).await?;
        if v.versions.is_empty() {
            return Err(ServiceError::NotFound);
        }
        Ok(v)
    }

    /// The CISO acknowledges the version in force on behalf of the institution.
    pub async fn acknowledge_guideline(&self, actor: &Actor, guideline_id: i64) -> Result<i64> {
        authz::authorize(actor, Action::AcknowledgeGuidelines)?;
        let institution = actor.institution_id.ok_or(ServiceError::NotFound)?;
        let at = self.guideline_stamp();
        let mut tx = self.store.begin().await?;
        let versions = haechi_store::guideline_versions(tx.conn(), guideline_id).await?;
        let Some(current) = versions.iter().find(|v| v.state == "published") else {
            return Err(ServiceError::NotFound);
        };
        let done = haechi_store::guideline_acks(tx.conn(), current.id).await?;
        if done.iter().any(|a| a.institution_id == institution) {
            return Err(ServiceError::rule(
                "already_acknowledged",
                "your institution already acknowledged this version",
            ));
        }
        tx.insert_guideline_ack(current.id, institution, &actor.username, &at)
            .await?;
        tx.audit(record(
            actor,
            "guideline.acknowledge",
            "guideline",
            &guideline_id.to_string(),
            Some(institution),
            None,
            Some(serde_json::json!({"version": current.version, "version_id": current.id})),
        ))
        .await?;
        tx.commit().await?;
        Ok(current.version)
    }

    // ---------------------------------------------------------------- briefings

    /// Briefings, newest first (an institution user: those its institution is invited to).
    pub async fn briefings(&self, actor: &Actor) -> Result<Vec<BriefingRow>> {
        authz::authorize(actor, Action::ReadGuidanceSupport)?;
        let own = if actor.role.is_institution_role() {
            Some(actor.institution_id.ok_or(ServiceError::NotFound)?)
        } else {
            None
        };
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(haechi_store::StoreError::from)?;
        Ok(haechi_store::list_briefings(&mut conn, own, None).await?)
    }

    pub async fn briefing(&self, actor: &Actor, id: i64) -> Result<BriefingRow> {
        authz::authorize(actor, Action::ReadGuidanceSupport)?;
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(haechi_store::StoreError::from)?;
        let b = haechi_store::list_briefings(&mut conn, None, Some(id))
            .await?
            .into_iter()
            .next()
            .ok_or(ServiceError::NotFound)?;
        if actor.role.is_institution_role()
            && !b
                .invitees
                .iter()
                .any(|i| Some(i.institution_id) == actor.institution_id)
        {
            return Err(ServiceError::NotFound);
        }
        Ok(b)
    }

    /// Schedules an on-site briefing with the institutions invited.
    pub async fn schedule_briefing(&self, actor: &Actor, input: &BriefingInput) -> Result<i64> {
        authz::authorize(actor, Action::ManageGuidelines)?;
        let pool = self.store.pool();
        let mut errors = Vec::new();
        if input.starts_at.is_none() {
            errors.push(FieldError::new("starts_at", "must not be empty"));
        }
        required(&mut errors, "place", &input.place);
        required(&mut errors, "topic", &input.topic);
        if input.institution_ids.is_empty() {
            errors.push(FieldError::new(
                "institution_ids",
                "invite at least one institution",
            ));
        }
        let known = haechi_store::all_institutions(pool).await?;
        if input
            .institution_ids
            .iter()
            .any(|i| !known.iter().any(|k| k.id == *i))
        {
            errors.push(FieldError::new("institution_ids", "no such institution"));
        }
        if let Some(g) = input.guideline_id {
            if haechi_store::get_guideline(pool, g).await?.is_none() {
                errors.push(FieldError::new("guideline_id", "no such guideline"));
            }
        }
        let (Some(starts), true) = (input.starts_at, errors.is_empty()) else {
            return Err(ServiceError::invalid(errors));
        };
        let starts = starts
            .with_timezone(&Utc)
            .to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut invited = input.institution_ids.clone();
        invited.sort_unstable();
        invited.dedup();
        let at = self.guideline_stamp();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_briefing(
                &starts,
                input.place.trim(),
                input.topic.trim(),
                input.guideline_id,
                &invited,
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "briefing.schedule",
            "briefing",
            &id.to_string(),
            None,
            None,
            Some(serde_json::json!({"starts_at": starts, "place": input.place.trim(), "topic": input.topic.trim(), "guideline_id": input.guideline_id, "invited": invited})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records which invited institutions attended (once the briefing has begun).
    pub async fn record_briefing_attendance(
        &self,
        actor: &Actor,
        id: i64,
        attended: &[i64],
    ) -> Result<()> {
        authz::authorize(actor, Action::ManageGuidelines)?;
        let b = self.briefing(actor, id).await?;
        if attended
            .iter()
            .any(|a| !b.invitees.iter().any(|i| i.institution_id == *a))
        {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "attended",
                "is not an invited institution",
            )]));
        }
        let now = self.guideline_stamp();
        if b.starts_at > now {
            return Err(ServiceError::rule(
                "briefing_not_held",
                "the briefing has not taken place yet",
            ));
        }
        let mut tx = self.store.begin().await?;
        tx.record_briefing_attendance(id, attended, &actor.username, &now)
            .await?;
        tx.audit(record(
            actor,
            "briefing.attendance",
            "briefing",
            &id.to_string(),
            None,
            None,
            Some(serde_json::json!({"attended": attended, "invited": b.invitees.iter().map(|i| i.institution_id).collect::<Vec<_>>()})),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    // ---------------------------------------------------------------- tailored support

    /// Tailored-support requests, newest first (an institution user: its own).
    pub async fn support_requests(&self, actor: &Actor) -> Result<Vec<TailoredSupportRow>> {
        authz::authorize(actor, Action::ReadGuidanceSupport)?;
        let own = if actor.role.is_institution_role() {
            Some(actor.institution_id.ok_or(ServiceError::NotFound)?)
        } else {
            None
        };
        Ok(haechi_store::list_tailored_support(self.store.pool(), own, None).await?)
    }

    pub async fn support_request(&self, actor: &Actor, id: i64) -> Result<TailoredSupportRow> {
        authz::authorize(actor, Action::ReadGuidanceSupport)?;
        let r = haechi_store::list_tailored_support(self.store.pool(), None, Some(id))
            .await?
            .into_iter()
            .next()
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ReadGuidanceSupport,
            Owner::Institution(r.institution_id),
        )?;
        Ok(r)
    }

    /// An institution asks for tailored support on applying the guidelines.
    pub async fn request_support(
        &self,
        actor: &Actor,
        topic: &str,
        description: &str,
    ) -> Result<i64> {
        authz::authorize(actor, Action::RequestGuidanceSupport)?;
        let institution = actor.institution_id.ok_or(ServiceError::NotFound)?;
        let mut errors = Vec::new();
        required(&mut errors, "topic", topic);
        required(&mut errors, "description", description);
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let at = self.guideline_stamp();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_tailored_support(
                institution,
                topic.trim(),
                description.trim(),
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "guidance.request",
            "support_request",
            &id.to_string(),
            Some(institution),
            None,
            Some(serde_json::json!({"topic": topic.trim()})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The regulator answers a request: scheduled (with the day) or done, with the response.
    pub async fn answer_support(
        &self,
        actor: &Actor,
        id: i64,
        state: &str,
        scheduled_on: Option<NaiveDate>,
        response: &str,
    ) -> Result<()> {
        authz::authorize(actor, Action::ManageGuidelines)?;
        let r = self.support_request(actor, id).await?;
        let mut errors = Vec::new();
        required(&mut errors, "response", response);
        match state {
            "scheduled" if scheduled_on.is_none() => {
                errors.push(FieldError::new("scheduled_on", "must not be empty"))
            }
            "scheduled" | "done" => {}
            _ => errors.push(FieldError::new("state", "must be scheduled or done")),
        }
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        if r.state == "done" {
            return Err(ServiceError::rule(
                "illegal_transition",
                "the request is already done",
            ));
        }
        let at = self.guideline_stamp();
        let day = scheduled_on.map(|d| d.to_string());
        let mut tx = self.store.begin().await?;
        tx.answer_tailored_support(
            id,
            state,
            day.as_deref(),
            response.trim(),
            &actor.username,
            &at,
        )
        .await?;
        tx.audit(record(
            actor,
            &format!("guidance.{state}"),
            "support_request",
            &id.to_string(),
            Some(r.institution_id),
            Some(serde_json::json!({"state": r.state})),
            Some(serde_json::json!({"state": state, "scheduled_on": day, "response": response.trim()})),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
