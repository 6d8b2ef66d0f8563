//! Read use cases behind the portal's resource, import and finding pages that `findings.rs` does
//! not offer: paginated lists, a finding's status history with who moved it and why, and the
//! names the findings list offers as filters. Each is authorised like the use cases it sits
//! beside: `ReadFindings`, an institution user only within their own institution.
//!
//! What it must not do: change anything.

use haechi_core::Actor;
use haechi_store::{FindingImportRow, ResourceRow, StatusChangeRow, TransitionAuditRow};
use serde::Serialize;

use crate::authz::{self, Action, Owner};
use crate::{Result, Service, ServiceError};

/// One step of a finding's status history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingHistoryEntry {
    /// When the status changed (RFC 3339).
    pub at: String,
    pub from_status: String,
    pub to_status: String,
    /// Who moved it by hand; `None` for an import's close-missing or the expiry job.
    pub actor_name: Option<String>,
    pub actor_role: Option<String>,
    pub reason: Option<String>,
    /// Last day of a risk acceptance.
    pub until: Option<String>,
    /// The patch record whose saving fixed the finding (then `actor_name` is who recorded it).
    pub patch_id: Option<i64>,
}

/// Choices the findings list offers for its tool and AI model filters.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FindingFilterChoices {
    pub tools: Vec<String>,
    pub ai_models: Vec<String>,
    /// Resources the actor may filter by (their institution's, or all for read-everything roles).
    pub resources: Vec<ResourceRow>,
}

/// The institution a listing covers: an institution user's own, whatever was asked (the same
/// rule as the listings of `findings.rs`).
fn own_scope(actor: &Actor, asked: Option<i64>) -> Result<Option<i64>> {
    if actor.role.is_institution_role() {
        match (actor.institution_id, asked) {
            (Some(own), Some(a)) if a != own => Err(ServiceError::NotFound),
            (Some(own), _) => Ok(Some(own)),
            (None, _) => Err(ServiceError::NotFound),
        }
    } else {
        Ok(asked)
    }
}

/// Pairs the recorded status changes with the audited transitions that caused them: the
/// transitions are a subsequence of the changes (imports and the expiry job move findings
/// without a per-finding audit entry), so each is matched greedily, in order, to the next change
/// with the same from and to status. The last change, when unexplained, takes the finding's
/// current reason (for example "not reported by import 12 (close-missing)").
pub fn merge_history(
    changes: Vec<StatusChangeRow>,
    transitions: Vec<TransitionAuditRow>,
    current_reason: Option<&str>,
) -> Vec<FindingHistoryEntry> {
    let text = |v: &serde_json::Value, key: &str| v[key].as_str().map(str::to_string);
    let mut pending = transitions.into_iter().peekable();
    let last = changes.len().saturating_sub(1);
    let mut out = Vec::with_capacity(changes.len());
    for (i, c) in changes.into_iter().enumerate() {
        let matched = pending.next_if(|t| {
            text(&t.before, "status").as_deref() == Some(c.from_status.as_str())
                && text(&t.after, "status").as_deref() == Some(c.to_status.as_str())
        });
        let entry = match matched {
            Some(t) => FindingHistoryEntry {
                at: c.changed_at,
                from_status: c.from_status,
                to_status: c.to_status,
                actor_name: Some(t.actor_name),
                actor_role: Some(t.actor_role),
                reason: text(&t.after, "reason"),
                until: text(&t.after, "until"),
                patch_id: None,
            },
            None => FindingHistoryEntry {
                at: c.changed_at,
                from_status: c.from_status,
                to_status: c.to_status,
                actor_name: None,
                actor_role: None,
                reason: (i == last)
                    .then(|| current_reason.map(str::to_string))
                    .flatten(),
                until: None,
                patch_id: None,
            },
        };
        out.push(entry);
    }
    out
}

impl Service {
    /// Refuses, before an upload page reads a file, an actor who may not import into the
    /// institution's resources and findings (the import use cases check again).
    pub fn authorize_findings_upload(
        &self,
        actor: &Actor,
        institution_id: Option<i64>,
    ) -> Result<()> {
        authz::authorize(actor, Action::ManageFindings)?;
        let institution_id = institution_id.ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ManageFindings,
            Owner::Institution(institution_id),
        )
    }

    /// A page of resources (institution, then name); institution users see their own only.
    pub async fn resources_page(
        &self,
        actor: &Actor,
        institution_id: Option<i64>,
        class: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<ResourceRow>> {
        authz::authorize(actor, Action::ReadFindings)?;
        let scope = own_scope(actor, institution_id)?;
        let pool = self.store.pool();
        let ids = haechi_store::resource_ids_page(pool, scope, class, limit, offset).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(r) = haechi_store::get_resource(pool, id).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// A page of the import history, newest first; institution users see their own only.
    pub async fn finding_imports_page(
        &self,
        actor: &Actor,
        institution_id: Option<i64>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<FindingImportRow>> {
        authz::authorize(actor, Action::ReadFindings)?;
        // A small firm reaches security operations with a letter or a funding award.
        self.require_self_service(actor).await?;
        let scope = own_scope(actor, institution_id)?;
        let pool = self.store.pool();
        let ids = haechi_store::finding_import_ids_page(pool, scope, limit, offset).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(r) = haechi_store::get_finding_import(pool, id).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// A finding's status history, oldest first, with who moved it and why.
    pub async fn finding_history(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<Vec<FindingHistoryEntry>> {
        authz::authorize(actor, Action::ReadFindings)?;
        let pool = self.store.pool();
        let finding = haechi_store::get_finding(pool, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ReadFindings,
            Owner::Institution(finding.institution_id),
        )?;
        let changes = haechi_store::finding_status_changes(pool, id).await?;
        let transitions = haechi_store::finding_transition_audits(pool, id).await?;
        let mut history = merge_history(changes, transitions, finding.status_reason.as_deref());
        // A patch record moves the findings it fixes with one audit entry of its own: the change
        // to `fixed` made when it was saved is the recording user's.
        for patch_id in haechi_store::patches_of_finding(pool, id).await? {
            let Some(patch) = haechi_store::get_patch_record(pool, patch_id).await? else {
                continue;
            };
            if let Some(h) = history.iter_mut().find(|h| {
                h.actor_name.is_none() && h.to_status == "fixed" && h.at == patch.created_at
            }) {
                h.actor_name = Some(patch.recorded_by);
                h.patch_id = Some(patch.id);
                h.reason = None;
            }
        }
        Ok(history)
    }

    /// Tools, AI models and resources the findings list can filter by.
    pub async fn finding_filter_choices(
        &self,
        actor: &Actor,
        institution_id: Option<i64>,
    ) -> Result<FindingFilterChoices> {
        authz::authorize(actor, Action::ReadFindings)?;
        let scope = own_scope(actor, institution_id)?;
        let pool = self.store.pool();
        let (tools, ai_models) = haechi_store::import_tool_and_model_names(pool, scope).await?;
        let resources = haechi_store::list_resources(pool, scope).await?;
        Ok(FindingFilterChoices {
            tools,
            ai_models,
            resources,
        })
    }

    /// Findings by priority and AI origin (AI-generated, AI-annotated, conventional), open and in
    /// all: the "AI-found vs conventionally found" chart.
    pub async fn findings_by_origin(
        &self,
        actor: &Actor,
        institution_id: Option<i64>,
    ) -> Result<Vec<haechi_store::OriginCount>> {
        authz::authorize(actor, Action::ReadFindings)?;
        let scope = own_scope(actor, institution_id)?;
        Ok(haechi_store::findings_by_origin(self.store.pool(), scope).await?)
    }

    /// Names (Korean, English) of the institutions whose records the actor may read: their own
    /// for institution users, every institution for read-everything roles. For lists that span
    /// institutions.
    pub async fn finding_institution_names(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(i64, String, String)>> {
        authz::authorize(actor, Action::ReadFindings)?;
        let scope = own_scope(actor, None)?;
        let all = haechi_store::institution_names(self.store.pool()).await?;
        Ok(all
            .into_iter()
            .filter(|(id, ..)| scope.is_none_or(|s| s == *id))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(from: &str, to: &str, at: &str) -> StatusChangeRow {
        StatusChangeRow {
            from_status: from.into(),
            to_status: to.into(),
            changed_at: at.into(),
        }
    }

    fn transition(from: &str, to: &str, reason: Option<&str>) -> TransitionAuditRow {
        TransitionAuditRow {
            at: String::new(),
            actor_name: "staff.hanbit".into(),
            actor_role: "security_staff".into(),
            before: json!({"status": from}),
            after: json!({"status": to, "reason": reason}),
        }
    }

    #[test]
    fn transitions_explain_their_changes_and_the_rest_stay_anonymous() {
        let h = merge_history(
            vec![
                change("open", "in_progress", "1"),
                change("in_progress", "fixed", "2"),
                change("fixed", "open", "3"),
            ],
            vec![
                transition("open", "in_progress", None),
                transition("fixed", "open", Some("regressed")),
            ],
            Some("regressed"),
        );
        assert_eq!(h.len(), 3);
        assert_eq!(h[0].actor_name.as_deref(), Some("staff.hanbit"));
        assert_eq!(h[1].actor_name, None);
        assert_eq!(h[1].reason, None);
        assert_eq!(h[2].reason.as_deref(), Some("regressed"));
        assert_eq!(h[2].actor_role.as_deref(), Some("security_staff"));
    }

    #[test]
    fn an_unexplained_last_change_takes_the_current_reason() {
        let h = merge_history(
            vec![change("open", "fixed", "1")],
            vec![],
            Some("not reported by import 4 (close-missing)"),
        );
        assert_eq!(
            h[0].reason.as_deref(),
            Some("not reported by import 4 (close-missing)")
        );
        assert_eq!(h[0].actor_name, None);
    }
}
