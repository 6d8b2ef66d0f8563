//! C13 remediation: the patch queue (open work by priority and due date, SLA breaches flagged,
//! keyset pages), bulk assignment, patch records with the work plan the immunity rules ask for
//! (C8) that move the findings they fix to `fixed`, the burn-down and SLA-compliance charts'
//! data, and the security-SaaS register with its six-monthly self-evaluations.
//!
//! Everything here belongs to one institution: institution users reach only their own (others'
//! ids answer "not found"), auditors read.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate, NaiveDateTime};
use haechi_core::{Actor, FieldError};
use haechi_policy::{Policy, Safeguard, SafeguardItem};
use haechi_store::{
    NewPatchRecord, PatchRecordRow, QueueCursor, QueueItem, SaasEvaluationRow, SaasRow, SaasWrite,
    WorkPlan,
};
use serde::{Deserialize, Serialize};

use crate::authz::{self, Action, Owner};
use crate::{record, to_json, Result, Service, ServiceError};

/// Largest queue page.
pub const MAX_QUEUE_PAGE: i64 = 500;
/// Longest burn-down range, in days.
pub const MAX_BURN_DOWN_DAYS: i64 = 731;

/// One queue entry: the finding and whether its SLA is breached.
#[derive(Debug, Clone, Serialize)]
pub struct QueueEntry {
    #[serde(flatten)]
    pub item: QueueItem,
    /// The due date has passed.
    pub sla_breached: bool,
    /// Days until the due date (negative when breached).
    pub days_left: i64,
}

/// A page of the queue and where the next one starts.
#[derive(Debug, Clone, Serialize)]
pub struct QueuePage {
    pub items: Vec<QueueEntry>,
    pub next: Option<QueueCursor>,
}

/// When a patch was applied: a moment (UTC), or only its day when the time was not given (stored
/// as the bare date, and shown as "time not given" rather than as midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AppliedAt {
    At(NaiveDateTime),
    On(NaiveDate),
}

impl From<NaiveDateTime> for AppliedAt {
    fn from(t: NaiveDateTime) -> AppliedAt {
        AppliedAt::At(t)
    }
}

impl AppliedAt {
    /// As stored: RFC 3339 for a moment, `YYYY-MM-DD` for a day.
    fn stored(self) -> String {
        match self {
            AppliedAt::At(t) => timestamp(t),
            AppliedAt::On(d) => d.to_string(),
        }
    }

    fn is_after(self, now: NaiveDateTime) -> bool {
        match self {
            AppliedAt::At(t) => t > now,
            AppliedAt::On(d) => d > now.date(),
        }
    }
}

/// Whether a patch record's work plan shows a safeguard the immunity rules ask for. Spread
/// prevention is rollback, kill switch or isolation (any of them); what is done after a
/// disruption (recovery, consumer protection) is no part of a plan made beforehand.
fn work_plan_shows(w: &WorkPlan, item: Safeguard) -> bool {
    match item {
        Safeguard::PreTesting => w.pre_testing_done,
        Safeguard::SpreadPrevention => w.rollback_ready || w.kill_switch_ready || w.isolation_ready,
        Safeguard::ServiceContinuity => w.continuity_plan,
        Safeguard::CustomerAdvanceNotice => w.customers_notified_in_advance,
        Safeguard::PromptRecovery | Safeguard::ConsumerProtection => true,
    }
}

/// The policy's work-plan items (`[[immunity.work_plan]]`) that `w` does not show: without them
/// a disruption the patch causes would not be immune (C8).
pub fn work_plan_gaps(policy: &Policy, w: &WorkPlan) -> Vec<SafeguardItem> {
    policy
        .immunity
        .work_plan
        .iter()
        .filter(|item| !work_plan_shows(w, item.id))
        .cloned()
        .collect()
}

/// A patch as recorded by the institution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchInput {
    pub institution_id: i64,
    #[serde(default)]
    pub resource_id: Option<i64>,
    /// What was applied (package and version, vendor advisory, configuration change).
    pub applied: String,
    pub applied_at: AppliedAt,
    /// Who applied it.
    pub applied_by: String,
    #[serde(default)]
    pub work_plan: WorkPlan,
    #[serde(default)]
    pub notes: Option<String>,
    /// The findings it fixes (they move to `fixed`).
    pub finding_ids: Vec<i64>,
}

/// A recorded patch and how many findings it closed.
#[derive(Debug, Clone, Serialize)]
pub struct PatchOutcome {
    pub patch: PatchRecordRow,
    pub findings_fixed: u64,
    /// The immunity rules' work-plan items the record lacks (saved anyway; a warning).
    pub work_plan_missing: Vec<SafeguardItem>,
}

/// Open findings per priority on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BurnDownDay {
    pub date: NaiveDate,
    /// Priority → open (open or in-progress) findings at the end of the day.
    pub open: BTreeMap<String, i64>,
}

/// SLA outcomes of one priority.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SlaCompliance {
    pub priority: String,
    pub fixed_within_sla: i64,
    pub fixed_late: i64,
    pub open_breached: i64,
    pub open_within_sla: i64,
}

/// A SaaS entry with its evaluations and when the next one is due.
#[derive(Debug, Clone, Serialize)]
pub struct SaasView {
    #[serde(flatten)]
    pub saas: SaasRow,
    pub evaluations: Vec<SaasEvaluationRow>,
    /// Last evaluation + the policy's `saas_self_evaluation_months`; from registration when none.
    pub next_evaluation_due: Option<NaiveDate>,
    pub evaluation_overdue: bool,
    /// Whether the institution's no-action letter in force permits it.
    pub permission: SaasPermission,
}

/// What the no-action letter in force says about a SaaS in the register (C6: "only the
/// certified services listed here"). A SaaS no letter permits is flagged, on the institution's
/// register and among the officer's compliance flags.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SaasPermission {
    /// The letter in force today (issued, not revoked, within its validity), if any.
    pub letter_id: Option<i64>,
    pub letter_number: Option<String>,
    /// The letter's permitted scope lists this product.
    pub permitted: bool,
    /// The security SaaS products the letter permits, as it names them.
    pub permitted_products: Vec<String>,
}

/// The words of a product name, lower-case, for comparison.
fn name_words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether a registered product is one a letter names: the same words, or one name the other's
/// first words (the register says "ThreatLens", the letter "ThreatLens 위협인텔리전스").
pub fn saas_named_in(product: &str, permitted: &[String]) -> bool {
    let p = name_words(product);
    !p.is_empty()
        && permitted.iter().any(|name| {
            let n = name_words(name);
            !n.is_empty() && (n.starts_with(&p) || p.starts_with(&n))
        })
}

/// The letter in force for an institution on `today` and the SaaS products it permits.
pub(crate) struct LetterScope {
    pub letter_id: Option<i64>,
    pub letter_number: Option<String>,
    pub saas: Vec<String>,
}

impl LetterScope {
    pub fn permission(&self, product: &str) -> SaasPermission {
        SaasPermission {
            letter_id: self.letter_id,
            letter_number: self.letter_number.clone(),
            permitted: saas_named_in(product, &self.saas),
            permitted_products: self.saas.clone(),
        }
    }
}

/// A self-evaluation as entered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaasEvaluationInput {
    pub evaluated_on: NaiveDate,
    /// `pass`, `fail` or `partial`.
    pub result: String,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub reported_to_ciso_at: Option<NaiveDateTime>,
}

const OPEN_STATUSES: [&str; 2] = ["open", "in_progress"];

fn validate_saas(w: &SaasWrite) -> Vec<FieldError> {
    let mut out = Vec::new();
    for (field, v) in [
        ("product", &w.product),
        ("vendor", &w.vendor),
        ("users", &w.users),
        ("purpose", &w.purpose),
    ] {
        if v.trim().is_empty() {
            out.push(FieldError::new(field, "must not be empty"));
        }
    }
    out
}

fn timestamp(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl Service {
    /// Checks that every finding exists and belongs to `institution_id` (a missing or foreign
    /// one answers "not found", naming nothing).
    async fn own_findings(&self, institution_id: i64, ids: &[i64]) -> Result<Vec<(i64, String)>> {
        let owned = haechi_store::findings_owner(self.store.pool(), ids).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            match owned.iter().find(|(f, _, _)| f == id) {
                Some((_, inst, status)) if *inst == institution_id => {
                    out.push((*id, status.clone()))
                }
                _ => return Err(ServiceError::NotFound),
            }
        }
        Ok(out)
    }

    /// The patch queue of an institution: open and in-progress findings by priority, due date
    /// and id, from `after` on.
    pub async fn patch_queue(
        &self,
        actor: &Actor,
        institution_id: i64,
        after: Option<&QueueCursor>,
        limit: i64,
    ) -> Result<QueuePage> {
        authz::authorize_record(
            actor,
            Action::ReadFindings,
            Owner::Institution(institution_id),
        )?;
        // A small firm reaches security operations with a letter or a funding award.
        self.require_self_service(actor).await?;
        let limit = limit.clamp(1, MAX_QUEUE_PAGE);
        let items =
            haechi_store::patch_queue(self.store.pool(), institution_id, after, limit).await?;
        let today = self.today();
        let next = if i64::try_from(items.len()).unwrap_or(0) == limit {
            items.last().map(|i| QueueCursor {
                priority: i.priority.clone(),
                due_date: i.due_date.clone(),
                id: i.id,
            })
        } else {
            None
        };
        let items = items
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
            .collect();
        Ok(QueuePage { items, next })
    }

    /// Assigns findings of an institution to one of its users (`None` clears).
    pub async fn assign_findings(
        &self,
        actor: &Actor,
        institution_id: i64,
        finding_ids: &[i64],
        assignee: Option<i64>,
    ) -> Result<u64> {
        authz::authorize_record(
            actor,
            Action::ManageFindings,
            Owner::Institution(institution_id),
        )?;
        if finding_ids.is_empty() {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "finding_ids",
                "list at least one finding",
            )]));
        }
        if let Some(uid) = assignee {
            let user = haechi_store::get_user(self.store.pool(), uid).await?;
            if user.as_ref().and_then(|u| u.institution_id) != Some(institution_id) {
                return Err(ServiceError::invalid(vec![FieldError::new(
                    "assignee_user_id",
                    format!("user {uid} is not a user of institution {institution_id}"),
                )]));
            }
        }
        self.own_findings(institution_id, finding_ids).await?;
        let now = self.now_text();
        let mut tx = self.store.begin().await?;
        let n = tx
            .assign_findings(institution_id, finding_ids, assignee, &now)
            .await?;
        tx.audit(record(
            actor,
            "findings.assign",
            "finding",
            "*",
            Some(institution_id),
            None,
            Some(serde_json::json!({"finding_ids": finding_ids, "assignee_user_id": assignee})),
        ))
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Records a patch and moves the findings it fixes to `fixed`.
    pub async fn record_patch(&self, actor: &Actor, input: &PatchInput) -> Result<PatchOutcome> {
        authz::authorize_record(
            actor,
            Action::ManageFindings,
            Owner::Institution(input.institution_id),
        )?;
        let mut errors = Vec::new();
        if input.applied.trim().is_empty() {
            errors.push(FieldError::new("applied", "say what was applied"));
        }
        if input.applied_by.trim().is_empty() {
            errors.push(FieldError::new("applied_by", "say who applied it"));
        }
        if input.finding_ids.is_empty() {
            errors.push(FieldError::new(
                "finding_ids",
                "link at least one finding the patch fixes",
            ));
        }
        let mut ids = input.finding_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != input.finding_ids.len() {
            errors.push(FieldError::new("finding_ids", "a finding is listed twice"));
        }
        if input.applied_at.is_after(self.now()) {
            errors.push(FieldError::new("applied_at", "is in the future"));
        }
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        if let Some(rid) = input.resource_id {
            let r = haechi_store::get_resource(self.store.pool(), rid).await?;
            if r.map(|r| r.institution_id) != Some(input.institution_id) {
                return Err(ServiceError::NotFound);
            }
        }
        let owned = self.own_findings(input.institution_id, &ids).await?;
        let not_open: Vec<String> = owned
            .iter()
            .filter(|(_, s)| !OPEN_STATUSES.contains(&s.as_str()))
            .map(|(id, s)| format!("finding {id} is {s}"))
            .collect();
        if !not_open.is_empty() {
            return Err(ServiceError::rule(
                "finding_not_open",
                format!(
                    "a patch fixes open or in-progress findings only: {}",
                    not_open.join(", ")
                ),
            ));
        }
        // A patch that fixes one finding of a cross-tool cluster fixes the problem every member
        // reports: the open members come along.
        let ids = self
            .with_open_cluster_members(input.institution_id, ids)
            .await?;
        let now = self.now_text();
        let mut tx = self.store.begin().await?;
        let (id, moved) = tx
            .insert_patch_record(
                &NewPatchRecord {
                    institution_id: input.institution_id,
                    resource_id: input.resource_id,
                    applied: input.applied.trim(),
                    applied_at: &input.applied_at.stored(),
                    applied_by: input.applied_by.trim(),
                    work_plan: &input.work_plan,
                    notes: input.notes.as_deref(),
                    recorded_by: &actor.username,
                    now: &now,
                },
                &ids,
            )
            .await?;
        tx.audit(record(
            actor,
            "patch.record",
            "patch_record",
            &id.to_string(),
            Some(input.institution_id),
            None,
            Some(serde_json::json!({"input": to_json(input), "findings_fixed": moved})),
        ))
        .await?;
        tx.commit().await?;
        let patch = haechi_store::get_patch_record(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(PatchOutcome {
            work_plan_missing: work_plan_gaps(&self.policy(), &patch.work_plan),
            patch,
            findings_fixed: moved,
        })
    }

    pub async fn patch_records(
        &self,
        actor: &Actor,
        institution_id: i64,
    ) -> Result<Vec<PatchRecordRow>> {
        authz::authorize_record(
            actor,
            Action::ReadFindings,
            Owner::Institution(institution_id),
        )?;
        Ok(haechi_store::list_patch_records(self.store.pool(), institution_id, 1000).await?)
    }

    /// The work-plan items the immunity rules ask for that `w` lacks, under the policy in force.
    pub fn patch_work_plan_gaps(&self, w: &WorkPlan) -> Vec<SafeguardItem> {
        work_plan_gaps(&self.policy(), w)
    }

    pub async fn patch_record(&self, actor: &Actor, id: i64) -> Result<PatchRecordRow> {
        authz::authorize(actor, Action::ReadFindings)?;
        let p = haechi_store::get_patch_record(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ReadFindings,
            Owner::Institution(p.institution_id),
        )?;
        Ok(p)
    }

    /// Open findings per priority at the end of each day of `from..=to`, derived from when
    /// findings were created and the logged status changes.
    pub async fn burn_down(
        &self,
        actor: &Actor,
        institution_id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<BurnDownDay>> {
        authz::authorize_record(
            actor,
            Action::ReadFindings,
            Owner::Institution(institution_id),
        )?;
        let days = (to - from).num_days();
        if !(0..=MAX_BURN_DOWN_DAYS).contains(&days) {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "to",
                format!("the range must run forward and span at most {MAX_BURN_DOWN_DAYS} days"),
            )]));
        }
        let pool = self.store.pool();
        // (priority, day) → change of the open count on that day.
        let mut delta: BTreeMap<(String, String), i64> = BTreeMap::new();
        for (p, day, n) in haechi_store::created_by_day(pool, institution_id).await? {
            *delta.entry((p, day)).or_default() += n;
        }
        for (p, day, from_s, to_s, n) in
            haechi_store::status_changes_by_day(pool, institution_id).await?
        {
            let was = OPEN_STATUSES.contains(&from_s.as_str());
            let is = OPEN_STATUSES.contains(&to_s.as_str());
            let d = match (was, is) {
                (true, false) => -n,
                (false, true) => n,
                _ => 0,
            };
            *delta.entry((p, day)).or_default() += d;
        }
        let from_text = from.to_string();
        let mut running: BTreeMap<String, i64> = haechi_policy::Priority::ALL
            .iter()
            .map(|p| (p.as_str().to_string(), 0))
            .collect();
        // Everything before the range makes the first day's starting count.
        for ((p, day), d) in &delta {
            if day.as_str() < from_text.as_str() {
                *running.entry(p.clone()).or_default() += d;
            }
        }
        let mut by_day: BTreeMap<&str, Vec<(&str, i64)>> = BTreeMap::new();
        for ((p, day), d) in &delta {
            by_day
                .entry(day.as_str())
                .or_default()
                .push((p.as_str(), *d));
        }
        let mut out = Vec::with_capacity(usize::try_from(days + 1).unwrap_or(0));
        let mut date = from;
        while date <= to {
            let key = date.to_string();
            if let Some(changes) = by_day.get(key.as_str()) {
                for (p, d) in changes {
                    *running.entry((*p).to_string()).or_default() += d;
                }
            }
            out.push(BurnDownDay {
                date,
                open: running.clone(),
            });
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
        Ok(out)
    }

    /// SLA outcomes per priority: fixed within the SLA, fixed late, open and breached, open
    /// within the SLA.
    pub async fn sla_compliance(
        &self,
        actor: &Actor,
        institution_id: i64,
    ) -> Result<Vec<SlaCompliance>> {
        authz::authorize_record(
            actor,
            Action::ReadFindings,
            Owner::Institution(institution_id),
        )?;
        let rows = haechi_store::sla_outcomes(
            self.store.pool(),
            institution_id,
            &self.today().to_string(),
        )
        .await?;
        let mut out: Vec<SlaCompliance> = haechi_policy::Priority::ALL
            .iter()
            .map(|p| SlaCompliance {
                priority: p.as_str().to_string(),
                ..SlaCompliance::default()
            })
            .collect();
        for (p, bucket, n) in rows {
            let Some(s) = out.iter_mut().find(|s| s.priority == p) else {
                continue;
            };
            match bucket.as_str() {
                "fixed_within_sla" => s.fixed_within_sla += n,
                "fixed_late" => s.fixed_late += n,
                "open_breached" => s.open_breached += n,
                _ => s.open_within_sla += n,
            }
        }
        Ok(out)
    }

    // ------------------------------------------------------------ security SaaS register

    /// The letter in force for `institution_id` today (the newest, if several) and the security
    /// SaaS it permits. Reads only; the caller has authorised.
    pub(crate) async fn letter_scope(&self, institution_id: i64) -> Result<LetterScope> {
        let today = self.today().to_string();
        let letters = haechi_store::list_letters(self.store.pool(), Some(institution_id)).await?;
        let in_force = letters.into_iter().find(|l| {
            l.state == "issued"
                && l.issued_on.as_deref().is_some_and(|d| d <= today.as_str())
                && l.valid_until
                    .as_deref()
                    .is_some_and(|d| d >= today.as_str())
        });
        let Some(row) = in_force else {
            return Ok(LetterScope {
                letter_id: None,
                letter_number: None,
                saas: Vec::new(),
            });
        };
        let letter: haechi_letter::NoActionLetter = serde_json::from_str(&row.draft_json)
            .map_err(|e| ServiceError::rule("corrupt_letter", e.to_string()))?;
        Ok(LetterScope {
            letter_id: Some(row.id),
            letter_number: row.letter_number,
            saas: letter
                .scope
                .services
                .into_iter()
                .filter(|s| s.kind == haechi_letter::ServiceKind::SaasProduct)
                .map(|s| s.name)
                .collect(),
        })
    }

    fn saas_view(
        &self,
        saas: SaasRow,
        evaluations: Vec<SaasEvaluationRow>,
        scope: &LetterScope,
    ) -> SaasView {
        let months = self.policy().reporting.saas_self_evaluation_months;
        let base = evaluations
            .first()
            .and_then(|e| NaiveDate::parse_from_str(&e.evaluated_on, "%Y-%m-%d").ok())
            .or_else(|| {
                NaiveDate::parse_from_str(saas.created_at.get(..10).unwrap_or(""), "%Y-%m-%d").ok()
            });
        let next = base.and_then(|d| d.checked_add_months(Months::new(months)));
        SaasView {
            permission: scope.permission(&saas.product),
            evaluation_overdue: next.is_some_and(|n| n < self.today()),
            next_evaluation_due: next,
            saas,
            evaluations,
        }
    }

    async fn saas_of(&self, actor: &Actor, action: Action, id: i64) -> Result<SaasRow> {
        authz::authorize(actor, action)?;
        let s = haechi_store::get_saas(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(actor, action, Owner::Institution(s.institution_id))?;
        Ok(s)
    }

    pub async fn list_saas(&self, actor: &Actor, institution_id: i64) -> Result<Vec<SaasView>> {
        authz::authorize_record(
            actor,
            Action::ReadFindings,
            Owner::Institution(institution_id),
        )?;
        self.saas_register(institution_id).await
    }

    /// An institution's SaaS register with evaluations and what its letter permits. Reads only;
    /// the caller has authorised.
    pub(crate) async fn saas_register(&self, institution_id: i64) -> Result<Vec<SaasView>> {
        let pool = self.store.pool();
        let scope = self.letter_scope(institution_id).await?;
        let mut out = Vec::new();
        for s in haechi_store::list_saas(pool, institution_id).await? {
            let evals = haechi_store::saas_evaluations(pool, s.id).await?;
            out.push(self.saas_view(s, evals, &scope));
        }
        Ok(out)
    }

    pub async fn get_saas(&self, actor: &Actor, id: i64) -> Result<SaasView> {
        let s = self.saas_of(actor, Action::ReadFindings, id).await?;
        let evals = haechi_store::saas_evaluations(self.store.pool(), id).await?;
        let scope = self.letter_scope(s.institution_id).await?;
        Ok(self.saas_view(s, evals, &scope))
    }

    pub async fn create_saas(
        &self,
        actor: &Actor,
        institution_id: i64,
        w: &SaasWrite,
    ) -> Result<SaasView> {
        authz::authorize_record(
            actor,
            Action::ManageFindings,
            Owner::Institution(institution_id),
        )?;
        let errors = validate_saas(w);
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let now = self.now_text();
        let mut tx = self.store.begin().await?;
        let id = tx.insert_saas(institution_id, w, &now).await?;
        tx.audit(record(
            actor,
            "saas.create",
            "saas",
            &id.to_string(),
            Some(institution_id),
            None,
            Some(to_json(w)),
        ))
        .await?;
        tx.commit().await?;
        self.get_saas(actor, id).await
    }

    pub async fn update_saas(&self, actor: &Actor, id: i64, w: &SaasWrite) -> Result<SaasView> {
        let old = self.saas_of(actor, Action::ManageFindings, id).await?;
        let errors = validate_saas(w);
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let now = self.now_text();
        let mut tx = self.store.begin().await?;
        tx.update_saas(id, w, &now).await?;
        tx.audit(record(
            actor,
            "saas.update",
            "saas",
            &id.to_string(),
            Some(old.institution_id),
            Some(to_json(&old)),
            Some(to_json(w)),
        ))
        .await?;
        tx.commit().await?;
        self.get_saas(actor, id).await
    }

    pub async fn delete_saas(&self, actor: &Actor, id: i64) -> Result<()> {
        let old = self.saas_of(actor, Action::ManageFindings, id).await?;
        let mut tx = self.store.begin().await?;
        tx.delete_saas(id).await?;
        tx.audit(record(
            actor,
            "saas.delete",
            "saas",
            &id.to_string(),
            Some(old.institution_id),
            Some(to_json(&old)),
            None,
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a compliance self-evaluation of a SaaS (due every
    /// `saas_self_evaluation_months`, reported to the CISO).
    pub async fn record_saas_evaluation(
        &self,
        actor: &Actor,
        saas_id: i64,
        input: &SaasEvaluationInput,
    ) -> Result<SaasView> {
        let s = self.saas_of(actor, Action::ManageFindings, saas_id).await?;
        let mut errors = Vec::new();
        if !matches!(input.result.as_str(), "pass" | "fail" | "partial") {
            errors.push(FieldError::new(
                "result",
                format!("'{}' is not one of pass, fail, partial", input.result),
            ));
        }
        if input.evaluated_on > self.today() {
            errors.push(FieldError::new("evaluated_on", "is in the future"));
        }
        if let Some(r) = input.reported_to_ciso_at {
            if r.date() < input.evaluated_on {
                errors.push(FieldError::new(
                    "reported_to_ciso_at",
                    "is before the evaluation",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let now = self.now_text();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_saas_evaluation(
                saas_id,
                &input.evaluated_on.to_string(),
                &input.result,
                input.notes.as_deref(),
                input.reported_to_ciso_at.map(timestamp).as_deref(),
                &actor.username,
                &now,
            )
            .await?;
        tx.audit(record(
            actor,
            "saas.evaluate",
            "saas_evaluation",
            &id.to_string(),
            Some(s.institution_id),
            None,
            Some(to_json(input)),
        ))
        .await?;
        // The six-monthly self-evaluation obligation of the letter is fulfilled once the whole
        // register has been evaluated in its window (issue #15).
        self.fulfil_saas_obligation(&mut tx, actor, s.institution_id, id, input.evaluated_on)
            .await?;
        tx.commit().await?;
        self.get_saas(actor, saas_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applied_at_takes_a_moment_or_a_bare_day() {
        let at: AppliedAt = serde_json::from_str("\"2026-11-01T08:30:00\"").unwrap();
        assert_eq!(at.stored(), "2026-11-01T08:30:00.000000Z");
        let on: AppliedAt = serde_json::from_str("\"2026-11-01\"").unwrap();
        assert_eq!(
            on,
            AppliedAt::On(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap())
        );
        assert_eq!(on.stored(), "2026-11-01");
        assert!(serde_json::from_str::<AppliedAt>("\"yesterday\"").is_err());
    }

    #[test]
    fn a_registered_saas_is_permitted_when_the_letter_names_it() {
        let letter = vec![
            "ThreatLens 위협인텔리전스".to_string(),
            "CloudWard CSPM".to_string(),
        ];
        assert!(saas_named_in("ThreatLens", &letter));
        assert!(saas_named_in("cloudward cspm", &letter));
        assert!(saas_named_in("CloudWard CSPM (EU region)", &letter));
        assert!(!saas_named_in("Example Cloud WAF", &letter));
        assert!(!saas_named_in("Cloud", &letter));
        assert!(!saas_named_in("Threat", &letter));
        assert!(!saas_named_in("", &letter));
        assert!(!saas_named_in("ThreatLens", &[]));
    }

    #[test]
    fn work_plan_gaps_name_the_policy_items_missing() {
        let policy = haechi_policy::Policy::default_policy();
        let ids = |w: &WorkPlan| -> Vec<&'static str> {
            work_plan_gaps(&policy, w)
                .iter()
                .map(|i| i.id.as_str())
                .collect()
        };
        let none = WorkPlan::default();
        assert_eq!(
            ids(&none),
            [
                "pre_testing",
                "spread_prevention",
                "service_continuity",
                "customer_advance_notice"
            ]
        );
        let kill_switch_only = WorkPlan {
            kill_switch_ready: true,
            continuity_plan: true,
            ..WorkPlan::default()
        };
        assert_eq!(
            ids(&kill_switch_only),
            ["pre_testing", "customer_advance_notice"]
        );
        let full = WorkPlan {
            pre_testing_done: true,
            isolation_ready: true,
            continuity_plan: true,
            customers_notified_in_advance: true,
            ..WorkPlan::default()
        };
        assert!(ids(&full).is_empty());
    }
}
