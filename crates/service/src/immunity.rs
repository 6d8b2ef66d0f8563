//! C8 sanction immunity and the ordinary incident-report clock.
//!
//! An institution files a **disruption report** tied to the security activity that caused it (an
//! AI security test's import, a patch record, the emergency advisory it answered). Filing runs
//! the policy's immunity engine (`haechi_policy::immunity`) and the incident trigger
//! (`haechi_policy::incident`) and stores both with the policy version as the first review
//! version; the immunity review committee (regulator officers) decides with a rationale; a refusal
//! may be appealed by the CISO, which starts the next version, evaluated again under the policy
//! then in force. A reportable disruption opens an **incident** whose deadlines (initial,
//! interim, final) are stored as decided; the reports filed against them and what is overdue are
//! derived by [`clock`]. A data-class breach is an incident of its own kind, which may name the
//! letter it led to revoke.
//!
//! What it must not do: decide immunity — the committee does; the engine only shows what the
//! rules say.

use chrono::{DateTime, NaiveDateTime};
use haechi_core::{Actor, FieldError};
use haechi_policy::immunity::{evaluate, ImmunityDecision, ImmunityFacts};
use haechi_policy::incident::{self, IncidentDeadlines, Reportability};
use haechi_policy::{ActivityKind, Reason, Safeguard};
use haechi_store::{
    DisruptionRow, ImmunityReviewRow, IncidentReportRow, IncidentRow, LetterRow, NewDisruption,
    NewIncident, PatchRecordRow, WriteTx,
};
use serde::{Deserialize, Serialize};

use crate::authz::{self, Action, Owner};
use crate::{record, Result, Service, ServiceError};

/// Longest free text of a report field.
pub const MAX_TEXT_CHARS: usize = 5_000;

/// What the institution files.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DisruptionInput {
    pub institution_id: i64,
    /// `ai_security_test` or `emergency_patch`.
    pub activity: String,
    #[serde(default)]
    pub patch_id: Option<i64>,
    #[serde(default)]
    pub import_id: Option<i64>,
    #[serde(default)]
    pub advisory_id: Option<i64>,
    pub title: String,
    /// UTC.
    pub started_at: Option<NaiveDateTime>,
    pub detected_at: Option<NaiveDateTime>,
    #[serde(default)]
    pub recovered_at: Option<NaiveDateTime>,
    /// The outage; when not given, from start to recovery.
    #[serde(default)]
    pub outage_minutes: Option<i64>,
    pub affected_services: String,
    #[serde(default)]
    pub affected_subscribers: i64,
    #[serde(default)]
    pub financial_damage_krw: i64,
    #[serde(default)]
    pub leaked_records: i64,
    #[serde(default)]
    pub credit_info_leaked: bool,
    #[serde(default)]
    pub intent: bool,
    /// The work plan beforehand, when no patch record is linked (a linked record's plan wins).
    #[serde(default)]
    pub pre_testing: bool,
    #[serde(default)]
    pub spread_prevention: bool,
    #[serde(default)]
    pub service_continuity: bool,
    #[serde(default)]
    pub customer_advance_notice: bool,
    /// What was done to recover (prompt recovery needs a recovery time and this).
    #[serde(default)]
    pub recovery_actions: String,
    /// Consumer-protection measures taken (compensation, notices, helpdesk).
    #[serde(default)]
    pub consumer_actions: String,
}

/// The work plan and measures as stored with a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Safeguards {
    pub pre_testing: bool,
    pub spread_prevention: bool,
    pub service_continuity: bool,
    pub customer_advance_notice: bool,
    pub prompt_recovery: bool,
    pub consumer_protection: bool,
    /// The patch record the work plan was taken from.
    #[serde(default)]
    pub from_patch: Option<i64>,
    /// The authority's advisory the emergency patch answered was found published.
    #[serde(default)]
    pub advisory_by_authority: bool,
}

/// What the engines said when a version was started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub immunity: ImmunityDecision,
    pub reportability: Reportability,
}

/// One review version, read back.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewVersion {
    pub row: ImmunityReviewRow,
    pub evaluation: Evaluation,
}

/// A criterion as the committee sees it: the rule's outcome and where the value comes from.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub ko: String,
    pub en: String,
}

/// A disruption report with its review versions.
#[derive(Debug, Clone, Serialize)]
pub struct Disruption {
    pub row: DisruptionRow,
    pub safeguards: Safeguards,
    pub versions: Vec<ReviewVersion>,
    pub patch: Option<PatchRecordRow>,
    pub incident_id: Option<i64>,
}

impl Disruption {
    pub fn latest(&self) -> Option<&ReviewVersion> {
        self.versions.last()
    }

    /// Where a criterion's observed value comes from in the report (by the fact it reads).
    pub fn evidence(&self, field: &str) -> Evidence {
        let (ko, en) = match field {
            "outage_minutes" => (
                "기관이 보고한 발생·복구 시각(중단 시간)".to_string(),
                "Start and recovery times (outage) as reported".to_string(),
            ),
            "financial_damage_krw" => (
                "기관이 보고한 금전적 피해액".to_string(),
                "Financial damage as reported by the institution".to_string(),
            ),
            "leaked_customer_records" | "personal_credit_info_leaked" => (
                "기관이 보고한 고객정보 유출 건수와 신용정보 포함 여부".to_string(),
                "Leaked customer records and credit information as reported".to_string(),
            ),
            "intent" => (
                "기관의 고의 여부 진술".to_string(),
                "The institution's statement on intent".to_string(),
            ),
            _ => (String::new(), String::new()),
        };
        Evidence { ko, en }
    }
}

/// A list entry: the report and its latest review version's state.
#[derive(Debug, Clone, Serialize)]
pub struct DisruptionListItem {
    pub row: DisruptionRow,
    pub latest: Option<ImmunityReviewRow>,
}

/// One report the clock expects.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClockEntry {
    /// `initial`, `interim` or `final`.
    pub kind: String,
    pub sequence: i64,
    /// `None` for the final report (due at closure).
    pub due: Option<NaiveDateTime>,
    pub filed: Option<IncidentReportRow>,
    /// Due, passed and not filed.
    pub overdue: bool,
    /// Filed after its due time.
    pub late: bool,
}

/// An incident with its clock.
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    pub row: IncidentRow,
    pub reportability: Reportability,
    pub clock: Vec<ClockEntry>,
    pub reports: Vec<IncidentReportRow>,
    pub letter: Option<LetterRow>,
}

impl Incident {
    pub fn overdue(&self) -> bool {
        self.clock.iter().any(|c| c.overdue)
    }

    /// The next report to file: the first expected one not filed yet.
    pub fn next_due(&self) -> Option<&ClockEntry> {
        self.clock.iter().find(|c| c.filed.is_none())
    }
}

/// A data-class breach as recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BreachInput {
    pub institution_id: i64,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// UTC.
    pub aware_at: Option<NaiveDateTime>,
    /// The letter whose scope the data left (and which may have been revoked for it).
    #[serde(default)]
    pub letter_id: Option<i64>,
}

/// Stored text of a UTC time.
fn stored(t: NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A stored time back as UTC.
pub fn parse_stored(at: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(at)
        .map(|t| t.naive_utc())
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S%.f").ok())
}

/// The reports an incident's clock expects by `now`, matched with those filed: the initial
/// report; one interim report per due date up to closure (or up to now, plus the next one while
/// it is open) — the first `interim_report_months` after awareness, then every
/// `interim_every_months`; the final report at closure. An entry is overdue when its due time
/// has passed without a report (and, for an interim one, before the incident closed).
pub fn clock(
    d: &IncidentDeadlines,
    reports: &[IncidentReportRow],
    closed_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Vec<ClockEntry> {
    let of_kind = |k: &'static str| reports.iter().filter(move |r| r.kind == k);
    let filed_at = |r: &IncidentReportRow| parse_stored(&r.filed_at);
    let entry =
        |kind: &str, seq: i64, due: Option<NaiveDateTime>, filed: Option<&IncidentReportRow>| {
            let late = match (due, filed.and_then(filed_at)) {
                (Some(due), Some(at)) => at > due,
                _ => false,
            };
            ClockEntry {
                kind: kind.to_string(),
                sequence: seq,
                due,
                filed: filed.cloned(),
                overdue: filed.is_none() && due.is_some_and(|due| due < now),
                late,
            }
        };
    let mut out = vec![entry(
        "initial",
        1,
        Some(d.initial_due),
        of_kind("initial").next(),
    )];
    let until = closed_at.unwrap_or(now);
    let mut dues = d.interim_dues_until(until);
    if closed_at.is_none() {
        // The next interim report while the incident is open (not overdue yet).
        let next = match dues.last() {
            None => Some(d.first_interim_due),
            Some(_) => d.first_interim_due.checked_add_months(chrono::Months::new(
                d.interim_every_months.saturating_mul(dues.len() as u32),
            )),
        };
        if let Some(n) = next.filter(|n| *n > now && d.interim_every_months > 0) {
            dues.push(n);
        }
    }
    let interims: Vec<&IncidentReportRow> = of_kind("interim").collect();
    for (i, due) in dues.iter().enumerate() {
        out.push(entry(
            "interim",
            i as i64 + 1,
            Some(*due),
            interims.get(i).copied(),
        ));
    }
    // Interim reports filed beyond the expected ones still show.
    for (i, r) in interims.iter().enumerate().skip(dues.len()) {
        out.push(entry("interim", i as i64 + 1, None, Some(r)));
    }
    out.push(entry("final", 1, None, of_kind("final").next()));
    out
}

fn deadlines_of(row: &IncidentRow) -> Result<IncidentDeadlines> {
    let t = |s: &str| {
        parse_stored(s).ok_or_else(|| ServiceError::rule("corrupt_incident", format!("time '{s}'")))
    };
    Ok(IncidentDeadlines {
        aware_at: t(&row.aware_at)?,
        initial_due: t(&row.initial_due)?,
        first_interim_due: t(&row.first_interim_due)?,
        interim_every_months: u32::try_from(row.interim_every_months).unwrap_or(0),
        final_at_closure: true,
        policy_version: row.policy_version,
    })
}

fn corrupt(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::rule("corrupt_immunity", e.to_string())
}

fn text_errors(errors: &mut Vec<FieldError>, fields: &[(&str, &str)]) {
    for (field, text) in fields {
        if text.chars().count() > MAX_TEXT_CHARS {
            errors.push(FieldError::new(
                *field,
                format!("at most {MAX_TEXT_CHARS} characters"),
            ));
        }
    }
}

impl Service {
    fn immunity_stamp(&self) -> String {
        self.clock_text().unwrap_or_else(haechi_store::now_text)
    }

    /// Files a disruption report: validated, its work plan taken from the linked patch record,
    /// evaluated under the policy in force (review version 1, awaiting the committee) and, when
    /// the outage reaches the incident trigger, an incident opened with its deadlines. Returns the
    /// report's id.
    pub async fn file_disruption(&self, actor: &Actor, input: &DisruptionInput) -> Result<i64> {
        authz::authorize_record(
            actor,
            Action::FileImmunity,
            Owner::Institution(input.institution_id),
        )?;
        let mut errors = Vec::new();
        let activity = match input.activity.as_str() {
            "ai_security_test" => Some(ActivityKind::AiSecurityTest),
            "emergency_patch" => Some(ActivityKind::EmergencyPatch),
            _ => {
                errors.push(FieldError::new("activity", "choose the activity"));
                None
            }
        };
        let title = input.title.trim();
        if title.is_empty() {
            errors.push(FieldError::new("title", "must not be empty"));
        }
        if input.affected_services.trim().is_empty() {
            errors.push(FieldError::new("affected_services", "must not be empty"));
        }
        text_errors(
            &mut errors,
            &[
                ("title", title),
                ("affected_services", &input.affected_services),
                ("recovery_actions", &input.recovery_actions),
                ("consumer_actions", &input.consumer_actions),
            ],
        );
        let now = self.now();
        match input.started_at {
            None => errors.push(FieldError::new("started_at", "must not be empty")),
            Some(s) if s > now => errors.push(FieldError::new("started_at", "is in the future")),
            _ => {}
        }
        match (input.started_at, input.detected_at) {
            (_, None) => errors.push(FieldError::new("detected_at", "must not be empty")),
            (Some(s), Some(d)) if d < s => errors.push(FieldError::new(
                "detected_at",
                "must not be before the start",
            )),
            (_, Some(d)) if d > now => {
                errors.push(FieldError::new("detected_at", "is in the future"))
            }
            _ => {}
        }
        if let (Some(s), Some(r)) = (input.started_at, input.recovered_at) {
            if r < s {
                errors.push(FieldError::new(
                    "recovered_at",
                    "must not be before the start",
                ));
            } else if r > now {
                errors.push(FieldError::new("recovered_at", "is in the future"));
            }
        }
        let span = match (input.started_at, input.recovered_at) {
            (Some(s), Some(r)) if r >= s => Some((r - s).num_minutes()),
            _ => None,
        };
        let outage = match (input.outage_minutes, span) {
            (Some(m), _) if m < 0 => {
                errors.push(FieldError::new("outage_minutes", "must not be negative"));
                0
            }
            (Some(m), Some(s)) if m > s => {
                errors.push(FieldError::new(
                    "outage_minutes",
                    "must not exceed the time from start to recovery",
                ));
                0
            }
            (Some(m), _) => m,
            (None, Some(s)) => s,
            (None, None) => {
                errors.push(FieldError::new(
                    "outage_minutes",
                    "give the outage or the recovery time",
                ));
                0
            }
        };
        for (field, v) in [
            ("affected_subscribers", input.affected_subscribers),
            ("financial_damage_krw", input.financial_damage_krw),
            ("leaked_records", input.leaked_records),
        ] {
            if v < 0 {
                errors.push(FieldError::new(field, "must not be negative"));
            }
        }
        let pool = self.store.pool();
        // Linked records must be the institution's own (or, for an advisory, published).
        let patch = match input.patch_id {
            Some(id) => match haechi_store::get_patch_record(pool, id).await? {
                Some(p) if p.institution_id == input.institution_id => Some(p),
                _ => {
                    errors.push(FieldError::new("patch_id", "no such patch record"));
                    None
                }
            },
            None => None,
        };
        if let Some(id) = input.import_id {
            match haechi_store::get_finding_import(pool, id).await? {
                Some(i) if i.institution_id == input.institution_id => {}
                _ => errors.push(FieldError::new("import_id", "no such import")),
            }
        }
        let advisory_by_authority = match input.advisory_id {
            Some(id) => match haechi_store::get_advisory(pool, id).await? {
                Some(a) => a.state == "published",
                None => {
                    errors.push(FieldError::new("advisory_id", "no such advisory"));
                    false
                }
            },
            None => false,
        };
        let (Some(activity), Some(started), Some(detected)) =
            (activity, input.started_at, input.detected_at)
        else {
            return Err(ServiceError::invalid(errors));
        };
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let mut safeguards = Safeguards {
            pre_testing: input.pre_testing,
            spread_prevention: input.spread_prevention,
            service_continuity: input.service_continuity,
            customer_advance_notice: input.customer_advance_notice,
            prompt_recovery: input.recovered_at.is_some()
                && !input.recovery_actions.trim().is_empty(),
            consumer_protection: !input.consumer_actions.trim().is_empty(),
            from_patch: None,
            advisory_by_authority,
        };
        let policy = self.policy();
        if let Some(p) = &patch {
            let gaps = crate::patching::work_plan_gaps(&policy, &p.work_plan);
            let has = |s: Safeguard| !gaps.iter().any(|g| g.id == s);
            safeguards.pre_testing = has(Safeguard::PreTesting);
            safeguards.spread_prevention = has(Safeguard::SpreadPrevention);
            safeguards.service_continuity = has(Safeguard::ServiceContinuity);
            safeguards.customer_advance_notice = has(Safeguard::CustomerAdvanceNotice);
            safeguards.from_patch = Some(p.id);
        }
        let safeguards_json = serde_json::to_string(&safeguards).map_err(corrupt)?;
        let at = self.immunity_stamp();
        let mut tx = self.store.begin().await?;
        let policy = self.policy_in(&mut tx).await?;
        let (started_text, detected_text) = (stored(started), stored(detected));
        let recovered_text = input.recovered_at.map(stored);
        let row = NewDisruption {
            institution_id: input.institution_id,
            activity: activity.as_str(),
            patch_id: input.patch_id,
            import_id: input.import_id,
            advisory_id: input.advisory_id,
            title,
            started_at: &started_text,
            detected_at: &detected_text,
            recovered_at: recovered_text.as_deref(),
            outage_minutes: outage,
            affected_services: input.affected_services.trim(),
            affected_subscribers: input.affected_subscribers,
            financial_damage_krw: input.financial_damage_krw,
            leaked_records: input.leaked_records,
            credit_info_leaked: input.credit_info_leaked,
            intent: input.intent,
            safeguards_json: &safeguards_json,
            recovery_actions: input.recovery_actions.trim(),
            consumer_actions: input.consumer_actions.trim(),
            by: &actor.username,
            at: &at,
        };
        let id = tx.insert_disruption(&row).await?;
        let facts = facts_of(
            activity,
            &Harm {
                intent: row.intent,
                financial_damage_krw: row.financial_damage_krw,
                outage_minutes: row.outage_minutes,
                leaked_records: row.leaked_records,
                credit_info_leaked: row.credit_info_leaked,
            },
            &safeguards,
        );
        let evaluation = Evaluation {
            immunity: evaluate(&policy, &facts),
            reportability: incident::is_reportable(
                &policy,
                u32::try_from(outage).unwrap_or(u32::MAX),
                u64::try_from(input.affected_subscribers).unwrap_or(0),
            ),
        };
        let eval_json = serde_json::to_string(&evaluation).map_err(corrupt)?;
        tx.insert_immunity_review(
            id,
            1,
            &eval_json,
            evaluation.immunity.eligible,
            policy.version,
            None,
            &actor.username,
            &at,
        )
        .await?;
        let incident_id = if evaluation.reportability.reportable {
            let d = incident::deadlines(&policy, detected);
            let trigger = serde_json::to_string(&evaluation.reportability).map_err(corrupt)?;
            Some(
                tx.insert_incident(&NewIncident {
                    institution_id: input.institution_id,
                    kind: "disruption",
                    disruption_id: Some(id),
                    letter_id: None,
                    title,
                    description: input.affected_services.trim(),
                    aware_at: &stored(detected),
                    trigger_json: &trigger,
                    initial_due: &stored(d.initial_due),
                    first_interim_due: &stored(d.first_interim_due),
                    interim_every_months: i64::from(d.interim_every_months),
                    policy_version: d.policy_version,
                    by: &actor.username,
                    at: &at,
                })
                .await?,
            )
        } else {
            None
        };
        tx.audit(record(
            actor,
            "immunity.file",
            "disruption_report",
            &id.to_string(),
            Some(input.institution_id),
            None,
            Some(serde_json::json!({
                "activity": activity.as_str(), "patch_id": input.patch_id, "import_id": input.import_id,
                "advisory_id": input.advisory_id, "outage_minutes": outage,
                "eligible": evaluation.immunity.eligible, "policy_version": policy.version,
                "reportable": evaluation.reportability.reportable, "incident_id": incident_id,
            })),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A disruption report with every review version (an institution user: only their own).
    pub async fn disruption(&self, actor: &Actor, id: i64) -> Result<Disruption> {
        authz::authorize(actor, Action::ReadImmunity)?;
        let pool = self.store.pool();
        let row = haechi_store::get_disruption(pool, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ReadImmunity,
            Owner::Institution(row.institution_id),
        )?;
        let safeguards: Safeguards = serde_json::from_str(&row.safeguards_json).map_err(corrupt)?;
        let versions = haechi_store::immunity_reviews(pool, id)
            .await?
            .into_iter()
            .map(|row| {
                let evaluation = serde_json::from_str(&row.evaluation_json).map_err(corrupt)?;
                Ok(ReviewVersion { row, evaluation })
            })
            .collect::<Result<Vec<_>>>()?;
        let patch = match row.patch_id {
            Some(p) => haechi_store::get_patch_record(pool, p).await?,
            None => None,
        };
        let incident_id = haechi_store::incident_of_disruption(pool, id).await?;
        Ok(Disruption {
            row,
            safeguards,
            versions,
            patch,
            incident_id,
        })
    }

    /// Disruption reports the actor may see, with their latest review version; awaiting the
    /// committee first.
    pub async fn disruptions(&self, actor: &Actor) -> Result<Vec<DisruptionListItem>> {
        authz::authorize(actor, Action::ReadImmunity)?;
        let whose = self.whose(actor)?;
        let pool = self.store.pool();
        let rows = haechi_store::list_disruptions(pool, whose).await?;
        let latest = haechi_store::latest_immunity_reviews(pool).await?;
        let mut out: Vec<DisruptionListItem> = rows
            .into_iter()
            .map(|row| DisruptionListItem {
                latest: latest.iter().find(|r| r.report_id == row.id).cloned(),
                row,
            })
            .collect();
        out.sort_by_key(|i| i.latest.as_ref().map(|l| l.state != "pending"));
        Ok(out)
    }

    /// The institution whose records an institution user reads; `None` (all) for the others.
    fn whose(&self, actor: &Actor) -> Result<Option<i64>> {
        if actor.role.is_institution_role() {
            actor.institution_id.map(Some).ok_or(ServiceError::NotFound)
        } else {
            Ok(None)
        }
    }

    async fn disruption_in(
        &self,
        tx: &mut WriteTx,
        actor: &Actor,
        action: Action,
        id: i64,
    ) -> Result<(DisruptionRow, ImmunityReviewRow)> {
        authz::authorize(actor, action)?;
        let row = haechi_store::get_disruption(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(actor, action, Owner::Institution(row.institution_id))?;
        let latest = haechi_store::immunity_reviews(tx.conn(), id)
            .await?
            .pop()
            .ok_or_else(|| corrupt("a report without a review version"))?;
        Ok((row, latest))
    }

    /// The committee's decision on the pending version, with its rationale (required).
    pub async fn decide_immunity(
        &self,
        actor: &Actor,
        id: i64,
        grant: bool,
        rationale: &str,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let (row, latest) = self
            .disruption_in(&mut tx, actor, Action::DecideImmunity, id)
            .await?;
        let rationale = rationale.trim();
        let mut errors = Vec::new();
        if rationale.is_empty() {
            errors.push(FieldError::new("rationale", "must not be empty"));
        }
        text_errors(&mut errors, &[("rationale", rationale)]);
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        if latest.state != "pending" {
            return Err(ServiceError::rule(
                "illegal_transition",
                "no review version awaits a decision",
            ));
        }
        let to = if grant { "granted" } else { "refused" };
        let at = self.immunity_stamp();
        tx.decide_immunity_review(latest.id, to, rationale, &actor.username, &at)
            .await?;
        tx.audit(record(
            actor,
            &format!("immunity.{to}"),
            "disruption_report",
            &id.to_string(),
            Some(row.institution_id),
            Some(serde_json::json!({"state": "pending", "version": latest.version})),
            Some(serde_json::json!({"state": to, "version": latest.version, "rationale": rationale, "eligible": latest.eligible, "policy_version": latest.policy_version})),
        ))
        .await?;
        tx.commit().await?;
        self.mail_institution(
            row.institution_id,
            &format!(
                "면책 심사 결과: {}",
                if grant { "면책" } else { "면책 불인정" }
            ),
            &format!(
                "Immunity review decided: {}",
                if grant { "granted" } else { "refused" }
            ),
        )
        .await;
        Ok(())
    }

    /// The CISO appeals a refusal: a new review version, evaluated under the policy in force,
    /// awaits the committee. Returns the new version number.
    pub async fn appeal_immunity(&self, actor: &Actor, id: i64, reason: &str) -> Result<i64> {
        let mut tx = self.store.begin().await?;
        let (row, latest) = self
            .disruption_in(&mut tx, actor, Action::AppealImmunity, id)
            .await?;
        let reason = reason.trim();
        let mut errors = Vec::new();
        if reason.is_empty() {
            errors.push(FieldError::new("reason", "must not be empty"));
        }
        text_errors(&mut errors, &[("reason", reason)]);
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        if latest.state != "refused" {
            return Err(ServiceError::rule(
                "illegal_transition",
                "only a refusal can be appealed",
            ));
        }
        let policy = self.policy_in(&mut tx).await?;
        let safeguards: Safeguards = serde_json::from_str(&row.safeguards_json).map_err(corrupt)?;
        let activity = match row.activity.as_str() {
            "emergency_patch" => ActivityKind::EmergencyPatch,
            _ => ActivityKind::AiSecurityTest,
        };
        let facts = facts_of(
            activity,
            &Harm {
                intent: row.intent,
                financial_damage_krw: row.financial_damage_krw,
                outage_minutes: row.outage_minutes,
                leaked_records: row.leaked_records,
                credit_info_leaked: row.credit_info_leaked,
            },
            &safeguards,
        );
        let evaluation = Evaluation {
            immunity: evaluate(&policy, &facts),
            reportability: incident::is_reportable(
                &policy,
                u32::try_from(row.outage_minutes).unwrap_or(u32::MAX),
                u64::try_from(row.affected_subscribers).unwrap_or(0),
            ),
        };
        let json = serde_json::to_string(&evaluation).map_err(corrupt)?;
        let version = latest.version + 1;
        let at = self.immunity_stamp();
        tx.insert_immunity_review(
            id,
            version,
            &json,
            evaluation.immunity.eligible,
            policy.version,
            Some(reason),
            &actor.username,
            &at,
        )
        .await?;
        tx.audit(record(
            actor,
            "immunity.appeal",
            "disruption_report",
            &id.to_string(),
            Some(row.institution_id),
            Some(serde_json::json!({"state": "refused", "version": latest.version})),
            Some(serde_json::json!({"state": "pending", "version": version, "reason": reason, "policy_version": policy.version})),
        ))
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    // ------------------------------------------------------------------------------ incidents

    async fn incident_view(&self, row: IncidentRow) -> Result<Incident> {
        let pool = self.store.pool();
        let reports = haechi_store::incident_reports(pool, row.id).await?;
        let d = deadlines_of(&row)?;
        let closed = row.closed_at.as_deref().and_then(parse_stored);
        let clock = clock(&d, &reports, closed, self.now());
        let reportability = serde_json::from_str(&row.trigger_json).map_err(corrupt)?;
        let letter = match row.letter_id {
            Some(l) => haechi_store::get_letter(pool, l).await?,
            None => None,
        };
        Ok(Incident {
            row,
            reportability,
            clock,
            reports,
            letter,
        })
    }

    /// An incident with its clock (an institution user: only their own).
    pub async fn incident(&self, actor: &Actor, id: i64) -> Result<Incident> {
        authz::authorize(actor, Action::ReadImmunity)?;
        let row = haechi_store::get_incident(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ReadImmunity,
            Owner::Institution(row.institution_id),
        )?;
        self.incident_view(row).await
    }

    /// The incidents the actor may see, each with its clock; overdue ones first.
    pub async fn incidents(&self, actor: &Actor) -> Result<Vec<Incident>> {
        authz::authorize(actor, Action::ReadImmunity)?;
        let whose = self.whose(actor)?;
        let rows = haechi_store::list_incidents(self.store.pool(), whose).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.incident_view(row).await?);
        }
        out.sort_by_key(|i| (!i.overdue(), i.row.closed_at.is_some()));
        Ok(out)
    }

    /// Files the initial, an interim or the final report against an incident's clock. The
    /// initial report comes first; the final report closes the incident.
    pub async fn file_incident_report(
        &self,
        actor: &Actor,
        incident_id: i64,
        kind: &str,
        body: &str,
    ) -> Result<i64> {
        authz::authorize(actor, Action::FileImmunity)?;
        let mut tx = self.store.begin().await?;
        let row = haechi_store::get_incident(tx.conn(), incident_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::FileImmunity,
            Owner::Institution(row.institution_id),
        )?;
        let body = body.trim();
        let mut errors = Vec::new();
        if !matches!(kind, "initial" | "interim" | "final") {
            errors.push(FieldError::new("kind", "choose the report"));
        }
        if body.is_empty() {
            errors.push(FieldError::new("body", "must not be empty"));
        }
        text_errors(&mut errors, &[("body", body)]);
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        if row.closed_at.is_some() {
            return Err(ServiceError::rule(
                "incident_closed",
                "the incident is closed; its final report was filed",
            ));
        }
        let filed = haechi_store::incident_reports(tx.conn(), incident_id).await?;
        let has_initial = filed.iter().any(|r| r.kind == "initial");
        let sequence = match kind {
            "initial" if has_initial => {
                return Err(ServiceError::rule(
                    "initial_filed",
                    "the initial report was already filed",
                ))
            }
            _ if kind != "initial" && !has_initial => {
                return Err(ServiceError::rule(
                    "initial_first",
                    "file the initial report first",
                ))
            }
            _ => filed.iter().filter(|r| r.kind == kind).count() as i64 + 1,
        };
        let at = self.immunity_stamp();
        let id = tx
            .insert_incident_report(incident_id, kind, sequence, body, &actor.username, &at)
            .await?;
        tx.audit(record(
            actor,
            &format!("incident.report_{kind}"),
            "incident",
            &incident_id.to_string(),
            Some(row.institution_id),
            None,
            Some(serde_json::json!({"kind": kind, "sequence": sequence, "report_id": id})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records a data-class breach (customer data sent where the letter does not allow) as an
    /// incident of its own kind, optionally tied to the institution's letter. Returns its id.
    pub async fn record_breach(&self, actor: &Actor, input: &BreachInput) -> Result<i64> {
        authz::authorize_record(
            actor,
            Action::RecordBreach,
            Owner::Institution(input.institution_id),
        )?;
        let title = input.title.trim();
        let mut errors = Vec::new();
        if title.is_empty() {
            errors.push(FieldError::new("title", "must not be empty"));
        }
        text_errors(
            &mut errors,
            &[("title", title), ("description", &input.description)],
        );
        match input.aware_at {
            None => errors.push(FieldError::new("aware_at", "must not be empty")),
            Some(t) if t > self.now() => {
                errors.push(FieldError::new("aware_at", "is in the future"))
            }
            _ => {}
        }
        if let Some(l) = input.letter_id {
            match haechi_store::get_letter(self.store.pool(), l).await? {
                Some(letter) if letter.institution_id == input.institution_id => {}
                _ => errors.push(FieldError::new("letter_id", "no such letter")),
            }
        }
        let Some(aware) = input.aware_at.filter(|_| errors.is_empty()) else {
            return Err(ServiceError::invalid(errors));
        };
        let mut tx = self.store.begin().await?;
        let policy = self.policy_in(&mut tx).await?;
        let d = incident::deadlines(&policy, aware);
        let reportability = Reportability {
            reportable: true,
            trigger: "data_breach".to_string(),
            reasons: vec![Reason {
                code: "data_breach".to_string(),
                ko: "의견서 범위를 벗어난 데이터 등급 위반(고객정보 외부 전송)".to_string(),
                en: "Data-class breach: customer data sent outside the letter's scope".to_string(),
            }],
            policy_version: policy.version,
        };
        let trigger = serde_json::to_string(&reportability).map_err(corrupt)?;
        let at = self.immunity_stamp();
        let id = tx
            .insert_incident(&NewIncident {
                institution_id: input.institution_id,
                kind: "data_breach",
                disruption_id: None,
                letter_id: input.letter_id,
                title,
                description: input.description.trim(),
                aware_at: &stored(aware),
                trigger_json: &trigger,
                initial_due: &stored(d.initial_due),
                first_interim_due: &stored(d.first_interim_due),
                interim_every_months: i64::from(d.interim_every_months),
                policy_version: d.policy_version,
                by: &actor.username,
                at: &at,
            })
            .await?;
        tx.audit(record(
            actor,
            "incident.breach",
            "incident",
            &id.to_string(),
            Some(input.institution_id),
            None,
            Some(serde_json::json!({"kind": "data_breach", "letter_id": input.letter_id, "policy_version": policy.version})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }
}

/// What a disruption did, as the immunity criteria read it.
struct Harm {
    intent: bool,
    financial_damage_krw: i64,
    outage_minutes: i64,
    leaked_records: i64,
    credit_info_leaked: bool,
}

fn facts_of(activity: ActivityKind, h: &Harm, s: &Safeguards) -> ImmunityFacts {
    ImmunityFacts {
        activity,
        advisory_disseminated_by_authority: s.advisory_by_authority,
        intent: h.intent,
        financial_damage_krw: h.financial_damage_krw,
        outage_minutes: h.outage_minutes,
        leaked_customer_records: h.leaked_records,
        personal_credit_info_leaked: h.credit_info_leaked,
        pre_testing: s.pre_testing,
        spread_prevention: s.spread_prevention,
        service_continuity: s.service_continuity,
        customer_advance_notice: s.customer_advance_notice,
        prompt_recovery: s.prompt_recovery,
        consumer_protection: s.consumer_protection,
    }
}
