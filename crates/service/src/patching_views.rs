//! Read use cases behind the portal's patch-queue pages that `patching.rs` does not offer: the
//! queue with filters in numbered pages, its per-priority summary, the users of an institution
//! (who findings can be assigned to), and which institution a page covers. Each is authorised
//! like the use cases beside it: `ReadFindings`, an institution user only within their own
//! institution (another institution's id answers "not found").
//!
//! What it must not do: change anything.

use chrono::NaiveDate;
use haechi_core::Actor;
use haechi_store::{InstitutionUser, QueueFilter, QueueSummaryRow};

use crate::authz::{self, Action, Owner};
use crate::patching::QueueEntry;
use crate::{Result, Service, ServiceError};

/// Largest page of the filtered queue.
pub const MAX_QUEUE_VIEW_PAGE: i64 = 501;

impl Service {
    /// The institution a remediation page covers: an institution user's own (another one asked
    /// for answers "not found"); for read-everything roles the one asked for, if any.
    pub fn remediation_scope(&self, actor: &Actor, asked: Option<i64>) -> Result<Option<i64>> {
        authz::authorize(actor, Action::ReadFindings)?;
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

    /// A page of an institution's patch queue with filters, SLA breaches flagged.
    pub async fn queue_view(
        &self,
        actor: &Actor,
        institution_id: i64,
        filter: &QueueFilter,
    ) -> Result<Vec<QueueEntry>> {
        authz::authorize_record(
            actor,
            Action::ReadFindings,
            Owner::Institution(institution_id),
        )?;
        // A small firm reaches security operations with a letter or a funding award.
        self.require_self_service(actor).await?;
        let mut f = filter.clone();
        f.limit = f.limit.clamp(1, MAX_QUEUE_VIEW_PAGE);
        f.offset = f.offset.max(0);
        let items = haechi_store::queue_filtered(self.store.pool(), institution_id, &f).await?;
        let today = self.today();
        Ok(items
            .into_iter()
            .map(|item| {
                let days_left = NaiveDate::parse_from_str(&item.due_date, "%Y-%m-%d")
                    .map(|d| (d - today).num_days())
                    .unwrap_or(0);
                QueueEntry {
                    sla_breached: days_left < 0,
                    days_left,
                    item,
                }
            })
            .collect())
    }

    /// Open findings per priority and how many of them are past their due date.
    pub async fn queue_summary(
        &self,
        actor: &Actor,
        institution_id: i64,
    ) -> Result<Vec<QueueSummaryRow>> {
        authz::authorize_record(
            actor,
            Action::ReadFindings,
            Owner::Institution(institution_id),
        )?;
        Ok(haechi_store::queue_summary(
            self.store.pool(),
            institution_id,
            &self.today().to_string(),
        )
        .await?)
    }

    /// Findings of an institution closed (fixed or verified) per day from `from` to `to`, one
    /// entry per day (zero on days without one): the burn-down's outflow beside its open count.
    pub async fn closed_by_day(
        &self,
        actor: &Actor,
        institution_id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, i64)>> {
        authz::authorize_record(
            actor,
            Action::ReadFindings,
            Owner::Institution(institution_id),
        )?;
        let rows =
            haechi_store::closed_by_day(self.store.pool(), institution_id, &from.to_string())
                .await?;
        let mut out = Vec::new();
        let mut day = from;
        while day <= to {
            let key = day.to_string();
            let n = rows.iter().find(|(d, _)| *d == key).map_or(0, |(_, n)| *n);
            out.push((day, n));
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        Ok(out)
    }

    /// The users of an institution: who its findings can be assigned to.
    pub async fn institution_users(
        &self,
        actor: &Actor,
        institution_id: i64,
    ) -> Result<Vec<InstitutionUser>> {
        authz::authorize_record(
            actor,
            Action::ReadFindings,
            Owner::Institution(institution_id),
        )?;
        Ok(haechi_store::institution_users(self.store.pool(), institution_id).await?)
    }
}
