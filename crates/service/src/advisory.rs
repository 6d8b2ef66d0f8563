//! C14 the advisory group: members tied to advisor accounts (field, affiliation, term with its
//! corrections and extensions kept), standing conflict-of-interest declarations (an institution
//! or a whole sector, from a day to a day), meetings with attendance and minutes, and advice on
//! threats and policy.
//!
//! Reviewer proposals: for an application, every member is either proposed — term active on the
//! day, no standing conflict with the applicant or its sector, no conflict declared on the
//! application — ranked by open assignments (fewest first) so the workload evens out, or
//! excluded with why. The number to propose is the policy's `reviewers_per_application`.
//! [`refuse_unfit_reviewer`] is what the assignment use case runs, so a member with a standing
//! conflict or outside their term is refused whichever way the assignment comes.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime};
use haechi_core::{Actor, FieldError, Role, Sector};
use haechi_store::{
    AdviceRow, AdvisoryMeetingRow, AdvisoryMemberRow, AdvisoryTermRow, NewStandingConflict,
    NewTerm, StandingConflictRow, WriteTx,
};
use serde::{Deserialize, Serialize};

use crate::authz::{self, Action};
use crate::{record, Result, Service, ServiceError};

/// The fields a member advises on.
pub const FIELDS: [&str; 3] = ["ai", "security", "law"];
/// What advice is about.
pub const ADVICE_TOPICS: [&str; 2] = ["threat", "policy"];

/// The day in Korea of a UTC time: terms and conflicts run by Korean days.
pub fn korea_day(utc: NaiveDateTime) -> NaiveDate {
    (utc + Duration::hours(9)).date()
}

fn korea_day_of_text(text: &str) -> Option<NaiveDate> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| korea_day(t.naive_utc()))
}

fn day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// Appointing a member.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberInput {
    pub user_id: i64,
    pub field: String,
    pub affiliation: String,
    pub term_start: Option<NaiveDate>,
    pub term_end: Option<NaiveDate>,
}

/// A standing conflict of interest: with one institution or with a whole sector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StandingConflictInput {
    #[serde(default)]
    pub institution_id: Option<i64>,
    #[serde(default)]
    pub sector: Option<Sector>,
    pub reason: String,
    pub valid_from: Option<NaiveDate>,
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
}

/// An advice record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdviceInput {
    #[serde(default)]
    pub meeting_id: Option<i64>,
    pub topic: String,
    pub title: String,
    pub text_ko: String,
    pub text_en: String,
    pub given_on: Option<NaiveDate>,
}

/// One member with the term history, standing conflicts and meetings attended.
#[derive(Debug, Clone, Serialize)]
pub struct MemberView {
    pub member: AdvisoryMemberRow,
    /// Whether the term is active today (in Korea).
    pub active_today: bool,
    pub terms: Vec<AdvisoryTermRow>,
    pub conflicts: Vec<StandingConflictRow>,
    pub meetings: Vec<AdvisoryMeetingRow>,
}

/// Why a member is proposed, or left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ProposalReason {
    /// Proposed: the term runs through the day.
    TermActive { term_end: String },
    /// Proposed: no standing conflict with the institution or its sector.
    NoStandingConflict,
    /// Proposed: the open assignments the member holds (the ranking's key).
    OpenAssignments { count: i64 },
    /// Left out: the term does not cover the day.
    TermNotActive {
        term_start: String,
        term_end: String,
    },
    /// Left out: a standing conflict with the applicant.
    ConflictWithInstitution {
        reason: String,
        valid_from: String,
        valid_to: Option<String>,
    },
    /// Left out: a standing conflict with the applicant's sector.
    ConflictWithSector {
        sector: String,
        reason: String,
        valid_from: String,
        valid_to: Option<String>,
    },
    /// Left out: the member declared a conflict on this very application.
    DeclaredConflict { note: Option<String> },
    /// Left out: already on the panel.
    AlreadyAssigned,
    /// Left out: removed from this application earlier.
    Removed { reason: Option<String> },
    /// Left out: the account is disabled.
    AccountDisabled,
}

#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    pub member_id: i64,
    pub user_id: i64,
    pub display_name: String,
    pub field: String,
    pub affiliation: String,
    pub open_assignments: i64,
    /// Among the first the panel still needs (policy's reviewers per application).
    pub recommended: bool,
    pub reasons: Vec<ProposalReason>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Exclusion {
    pub member_id: i64,
    pub user_id: i64,
    pub display_name: String,
    pub field: String,
    pub reasons: Vec<ProposalReason>,
}

/// The reviewer proposals for one application on one day.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewerProposals {
    pub application_id: i64,
    pub institution_id: i64,
    pub sector: String,
    pub on: NaiveDate,
    /// The policy's reviewers per application, and its version.
    pub reviewers_per_application: u32,
    pub policy_version: i64,
    /// Assigned and not conflicted.
    pub panel: usize,
    /// Proposed, best first.
    pub proposed: Vec<Proposal>,
    pub excluded: Vec<Exclusion>,
}

/// Why a member may not review an institution's application on a day (empty: they may).
fn unfit(
    member: &AdvisoryMemberRow,
    conflicts: &[StandingConflictRow],
    institution_id: i64,
    sector: &str,
    on: NaiveDate,
) -> Vec<ProposalReason> {
    let mut out = Vec::new();
    let covers = |from: &str, to: Option<&str>| {
        day(from).is_some_and(|f| f <= on) && to.and_then(day).is_none_or(|t| on <= t)
    };
    if !covers(&member.term_start, Some(&member.term_end)) {
        out.push(ProposalReason::TermNotActive {
            term_start: member.term_start.clone(),
            term_end: member.term_end.clone(),
        });
    }
    for c in conflicts.iter().filter(|c| c.member_id == member.id) {
        if !covers(&c.valid_from, c.valid_to.as_deref()) {
            continue;
        }
        if c.institution_id == Some(institution_id) {
            out.push(ProposalReason::ConflictWithInstitution {
                reason: c.reason.clone(),
                valid_from: c.valid_from.clone(),
                valid_to: c.valid_to.clone(),
            });
        } else if c.sector.as_deref() == Some(sector) {
            out.push(ProposalReason::ConflictWithSector {
                sector: sector.to_string(),
                reason: c.reason.clone(),
                valid_from: c.valid_from.clone(),
                valid_to: c.valid_to.clone(),
            });
        }
    }
    out
}

/// Refuses, inside an assignment's transaction, an advisor who is a member of the advisory
/// group and whose term does not cover today (in Korea) or who has a standing conflict with the
/// applicant or its sector. An advisor who is not (yet) a member is not refused here.
pub(crate) async fn refuse_unfit_reviewer(
    tx: &mut WriteTx,
    advisor_id: i64,
    institution_id: i64,
    field: &str,
) -> Result<()> {
    let Some(member) = haechi_store::advisory_member_of_user(tx.conn(), advisor_id).await? else {
        return Ok(());
    };
    let on = korea_day_of_text(&tx.now_text())
        .unwrap_or_else(|| korea_day(chrono::Utc::now().naive_utc()));
    let institution = haechi_store::get_institution(tx.conn(), institution_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let conflicts = haechi_store::standing_conflicts(tx.conn(), Some(member.id)).await?;
    let why = unfit(
        &member,
        &conflicts,
        institution_id,
        institution.input.sector.as_str(),
        on,
    );
    let message = match why.first() {
        None => return Ok(()),
        Some(ProposalReason::TermNotActive { .. }) => {
            "the advisor's term in the advisory group does not cover today"
        }
        Some(ProposalReason::ConflictWithSector { .. }) => {
            "the advisor has a standing conflict of interest with this institution's sector"
        }
        Some(_) => "the advisor has a standing conflict of interest with this institution",
    };
    Err(ServiceError::invalid(vec![FieldError::new(field, message)]))
}

fn corrupt(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::rule("corrupt_advisory", e.to_string())
}

fn check_term(
    errors: &mut Vec<FieldError>,
    start: Option<NaiveDate>,
    end: Option<NaiveDate>,
) -> Option<(NaiveDate, NaiveDate)> {
    match (start, end) {
        (None, _) => errors.push(FieldError::new("term_start", "must not be empty")),
        (_, None) => errors.push(FieldError::new("term_end", "must not be empty")),
        (Some(s), Some(e)) if e < s => errors.push(FieldError::new(
            "term_end",
            "must not be before the start of the term",
        )),
        (Some(s), Some(e)) => return Some((s, e)),
    }
    None
}

fn required(errors: &mut Vec<FieldError>, field: &str, v: &str) {
    if v.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    }
}

impl Service {
    fn advisory_stamp(&self) -> String {
        self.clock_text().unwrap_or_else(haechi_store::now_text)
    }

    /// Today in Korea, by the service clock.
    pub fn korea_today(&self) -> NaiveDate {
        korea_day(self.now())
    }

    /// Every member with the open assignments they hold.
    pub async fn advisory_members(&self, actor: &Actor) -> Result<Vec<AdvisoryMemberRow>> {
        authz::authorize(actor, Action::ReadAdvisory)?;
        Ok(haechi_store::list_advisory_members(self.store.pool()).await?)
    }

    async fn member_view(&self, member: AdvisoryMemberRow) -> Result<MemberView> {
        let pool = self.store.pool();
        let terms = haechi_store::advisory_terms(pool, member.id).await?;
        let conflicts = haechi_store::standing_conflicts(pool, Some(member.id)).await?;
        let mut conn = pool
            .acquire()
            .await
            .map_err(haechi_store::StoreError::from)?;
        let meetings = haechi_store::list_advisory_meetings(&mut conn)
            .await?
            .into_iter()
            .filter(|m| m.attendees.contains(&member.id))
            .collect();
        let today = self.korea_today();
        let active_today = day(&member.term_start).is_some_and(|s| s <= today)
            && day(&member.term_end).is_some_and(|e| today <= e);
        Ok(MemberView {
            member,
            active_today,
            terms,
            conflicts,
            meetings,
        })
    }

    /// One member (an advisor: only themselves).
    pub async fn advisory_member(&self, actor: &Actor, id: i64) -> Result<MemberView> {
        let member = haechi_store::get_advisory_member(self.store.pool(), id).await?;
        if actor.role == Role::Advisor {
            authz::authorize(actor, Action::ReadOwnMembership)?;
            match member {
                Some(m) if m.user_id == actor.user_id => return self.member_view(m).await,
                _ => return Err(ServiceError::NotFound),
            }
        }
        authz::authorize(actor, Action::ReadAdvisory)?;
        self.member_view(member.ok_or(ServiceError::NotFound)?)
            .await
    }

    /// The signed-in advisor's own membership, if they are a member.
    pub async fn my_membership(&self, actor: &Actor) -> Result<Option<MemberView>> {
        authz::authorize(actor, Action::ReadOwnMembership)?;
        match haechi_store::advisory_member_of_user(self.store.pool(), actor.user_id).await? {
            Some(m) => Ok(Some(self.member_view(m).await?)),
            None => Ok(None),
        }
    }

    /// Appoints an advisor's account to the advisory group for a term.
    pub async fn appoint_member(&self, actor: &Actor, input: &MemberInput) -> Result<i64> {
        authz::authorize(actor, Action::ManageAdvisory)?;
        let mut errors = Vec::new();
        if !FIELDS.contains(&input.field.as_str()) {
            errors.push(FieldError::new("field", "must be ai, security or law"));
        }
        required(&mut errors, "affiliation", &input.affiliation);
        let term = check_term(&mut errors, input.term_start, input.term_end);
        let user = haechi_store::get_user(self.store.pool(), input.user_id).await?;
        if !matches!(&user, Some(u) if u.role == Role::Advisor && !u.disabled) {
            errors.push(FieldError::new("user_id", "is not an active advisor"));
        }
        let (Some((start, end)), true) = (term, errors.is_empty()) else {
            return Err(ServiceError::invalid(errors));
        };
        let at = self.advisory_stamp();
        let (s, e) = (start.to_string(), end.to_string());
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_advisory_member(
                input.user_id,
                &input.field,
                input.affiliation.trim(),
                &NewTerm {
                    kind: "appoint",
                    term_start: &s,
                    term_end: &e,
                    previous_end: None,
                    reason: "",
                },
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "advisory.appoint",
            "advisory_member",
            &id.to_string(),
            None,
            None,
            Some(serde_json::json!({"user_id": input.user_id, "field": input.field, "affiliation": input.affiliation.trim(), "term_start": s, "term_end": e})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn member_for_change(&self, tx: &mut WriteTx, id: i64) -> Result<AdvisoryMemberRow> {
        haechi_store::get_advisory_member(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)
    }

    /// Corrects a member's term (start and end) with the reason; the earlier term stays in the
    /// history.
    pub async fn correct_term(
        &self,
        actor: &Actor,
        member_id: i64,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
        reason: &str,
    ) -> Result<()> {
        authz::authorize(actor, Action::ManageAdvisory)?;
        let mut errors = Vec::new();
        let term = check_term(&mut errors, start, end);
        required(&mut errors, "reason", reason);
        let (Some((start, end)), true) = (term, errors.is_empty()) else {
            return Err(ServiceError::invalid(errors));
        };
        self.change_term(actor, member_id, "correct", start, end, reason.trim())
            .await
    }

    /// Extends a member's term to a later end, with the reason.
    pub async fn extend_term(
        &self,
        actor: &Actor,
        member_id: i64,
        new_end: Option<NaiveDate>,
        reason: &str,
    ) -> Result<()> {
        authz::authorize(actor, Action::ManageAdvisory)?;
        let member = haechi_store::get_advisory_member(self.store.pool(), member_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let mut errors = Vec::new();
        required(&mut errors, "reason", reason);
        let current = day(&member.term_end).ok_or_else(|| corrupt("term end"))?;
        let start = day(&member.term_start).ok_or_else(|| corrupt("term start"))?;
        match new_end {
            None => errors.push(FieldError::new("term_end", "must not be empty")),
            Some(e) if e <= current => errors.push(FieldError::new(
                "term_end",
                "must be after the current end of the term",
            )),
            _ => {}
        }
        let (Some(end), true) = (new_end, errors.is_empty()) else {
            return Err(ServiceError::invalid(errors));
        };
        self.change_term(actor, member_id, "extend", start, end, reason.trim())
            .await
    }

    async fn change_term(
        &self,
        actor: &Actor,
        member_id: i64,
        kind: &str,
        start: NaiveDate,
        end: NaiveDate,
        reason: &str,
    ) -> Result<()> {
        let at = self.advisory_stamp();
        let mut tx = self.store.begin().await?;
        let member = self.member_for_change(&mut tx, member_id).await?;
        let (s, e) = (start.to_string(), end.to_string());
        tx.insert_advisory_term(
            member_id,
            &NewTerm {
                kind,
                term_start: &s,
                term_end: &e,
                previous_end: Some(&member.term_end),
                reason,
            },
            &actor.username,
            &at,
        )
        .await?;
        tx.audit(record(
            actor,
            &format!("advisory.{kind}"),
            "advisory_member",
            &member_id.to_string(),
            None,
            Some(serde_json::json!({"term_start": member.term_start, "term_end": member.term_end})),
            Some(serde_json::json!({"term_start": s, "term_end": e, "reason": reason})),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Declares a standing conflict of interest of a member (an officer, or the advisor for
    /// themselves).
    pub async fn declare_standing_conflict(
        &self,
        actor: &Actor,
        member_id: i64,
        input: &StandingConflictInput,
    ) -> Result<i64> {
        authz::authorize(actor, Action::DeclareStandingConflict)?;
        let pool = self.store.pool();
        let member = haechi_store::get_advisory_member(pool, member_id).await?;
        let member = match member {
            Some(m) if actor.role != Role::Advisor || m.user_id == actor.user_id => m,
            _ => return Err(ServiceError::NotFound),
        };
        let mut errors = Vec::new();
        match (input.institution_id, input.sector) {
            (None, None) => errors.push(FieldError::new(
                "institution_id",
                "name an institution or a sector",
            )),
            (Some(_), Some(_)) => errors.push(FieldError::new(
                "sector",
                "name an institution or a sector, not both",
            )),
            (Some(i), None) => {
                if haechi_store::get_institution(pool, i).await?.is_none() {
                    errors.push(FieldError::new("institution_id", "no such institution"));
                }
            }
            (None, Some(_)) => {}
        }
        required(&mut errors, "reason", &input.reason);
        match (input.valid_from, input.valid_to) {
            (None, _) => errors.push(FieldError::new("valid_from", "must not be empty")),
            (Some(f), Some(t)) if t < f => errors.push(FieldError::new(
                "valid_to",
                "must not be before the first day",
            )),
            _ => {}
        }
        let (Some(from), true) = (input.valid_from, errors.is_empty()) else {
            return Err(ServiceError::invalid(errors));
        };
        let (from, to) = (from.to_string(), input.valid_to.map(|t| t.to_string()));
        let at = self.advisory_stamp();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_standing_conflict(
                &NewStandingConflict {
                    member_id: member.id,
                    institution_id: input.institution_id,
                    sector: input.sector.map(Sector::as_str),
                    reason: input.reason.trim(),
                    valid_from: &from,
                    valid_to: to.as_deref(),
                },
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "advisory.conflict",
            "advisory_member",
            &member.id.to_string(),
            input.institution_id,
            None,
            Some(serde_json::json!({"conflict_id": id, "institution_id": input.institution_id, "sector": input.sector, "reason": input.reason.trim(), "valid_from": from, "valid_to": to})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every meeting, newest first, with attendance.
    pub async fn advisory_meetings(&self, actor: &Actor) -> Result<Vec<AdvisoryMeetingRow>> {
        authz::authorize(actor, Action::ReadAdvisory)?;
        let mut conn = self
            .store
            .pool()
            .acquire()
            .await
            .map_err(haechi_store::StoreError::from)?;
        Ok(haechi_store::list_advisory_meetings(&mut conn).await?)
    }

    /// One meeting with the advice given at it.
    pub async fn advisory_meeting(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<(AdvisoryMeetingRow, Vec<AdviceRow>)> {
        authz::authorize(actor, Action::ReadAdvisory)?;
        let pool = self.store.pool();
        let mut conn = pool
            .acquire()
            .await
            .map_err(haechi_store::StoreError::from)?;
        let m = haechi_store::get_advisory_meeting(&mut conn, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let advice = haechi_store::list_advice(pool, Some(id)).await?;
        Ok((m, advice))
    }

    /// Schedules a meeting of the advisory group.
    pub async fn schedule_meeting(
        &self,
        actor: &Actor,
        held_on: Option<NaiveDate>,
        title: &str,
        agenda: &str,
    ) -> Result<i64> {
        authz::authorize(actor, Action::ManageAdvisory)?;
        let mut errors = Vec::new();
        if held_on.is_none() {
            errors.push(FieldError::new("held_on", "must not be empty"));
        }
        required(&mut errors, "title", title);
        required(&mut errors, "agenda", agenda);
        let (Some(held_on), true) = (held_on, errors.is_empty()) else {
            return Err(ServiceError::invalid(errors));
        };
        let at = self.advisory_stamp();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_advisory_meeting(
                &held_on.to_string(),
                title.trim(),
                agenda.trim(),
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "advisory.meeting",
            "advisory_meeting",
            &id.to_string(),
            None,
            None,
            Some(serde_json::json!({"held_on": held_on, "title": title.trim(), "agenda": agenda.trim()})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records a meeting's minutes and who of the members attended (the meeting must have
    /// taken place).
    pub async fn record_minutes(
        &self,
        actor: &Actor,
        meeting_id: i64,
        minutes: &str,
        attendees: &[i64],
    ) -> Result<()> {
        authz::authorize(actor, Action::ManageAdvisory)?;
        let pool = self.store.pool();
        let mut conn = pool
            .acquire()
            .await
            .map_err(haechi_store::StoreError::from)?;
        let meeting = haechi_store::get_advisory_meeting(&mut conn, meeting_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        drop(conn);
        let members = haechi_store::list_advisory_members(pool).await?;
        let mut errors = Vec::new();
        required(&mut errors, "minutes", minutes);
        if attendees.is_empty() {
            errors.push(FieldError::new("attendees", "mark who attended"));
        }
        if attendees
            .iter()
            .any(|a| !members.iter().any(|m| m.id == *a))
        {
            errors.push(FieldError::new("attendees", "is not a member"));
        }
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        if day(&meeting.held_on).is_some_and(|d| d > self.korea_today()) {
            return Err(ServiceError::rule(
                "meeting_not_held",
                "the meeting has not taken place yet",
            ));
        }
        let at = self.advisory_stamp();
        let mut tx = self.store.begin().await?;
        tx.record_meeting_minutes(meeting_id, minutes.trim(), attendees, &actor.username, &at)
            .await?;
        tx.audit(record(
            actor,
            "advisory.minutes",
            "advisory_meeting",
            &meeting_id.to_string(),
            None,
            meeting
                .minutes
                .as_ref()
                .map(|m| serde_json::json!({"minutes": m, "attendees": meeting.attendees})),
            Some(serde_json::json!({"minutes": minutes.trim(), "attendees": attendees})),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every advice record, newest first.
    pub async fn advice(&self, actor: &Actor) -> Result<Vec<AdviceRow>> {
        authz::authorize(actor, Action::ReadAdvisory)?;
        Ok(haechi_store::list_advice(self.store.pool(), None).await?)
    }

    /// Records advice on a threat or on policy, in Korean and English.
    pub async fn record_advice(&self, actor: &Actor, input: &AdviceInput) -> Result<i64> {
        authz::authorize(actor, Action::ManageAdvisory)?;
        let mut errors = Vec::new();
        if !ADVICE_TOPICS.contains(&input.topic.as_str()) {
            errors.push(FieldError::new("topic", "must be threat or policy"));
        }
        required(&mut errors, "title", &input.title);
        required(&mut errors, "text_ko", &input.text_ko);
        required(&mut errors, "text_en", &input.text_en);
        if input.given_on.is_none() {
            errors.push(FieldError::new("given_on", "must not be empty"));
        }
        if let Some(m) = input.meeting_id {
            let mut conn = self
                .store
                .pool()
                .acquire()
                .await
                .map_err(haechi_store::StoreError::from)?;
            if haechi_store::get_advisory_meeting(&mut conn, m)
                .await?
                .is_none()
            {
                errors.push(FieldError::new("meeting_id", "no such meeting"));
            }
        }
        let (Some(given_on), true) = (input.given_on, errors.is_empty()) else {
            return Err(ServiceError::invalid(errors));
        };
        let at = self.advisory_stamp();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_advice(
                input.meeting_id,
                &input.topic,
                input.title.trim(),
                input.text_ko.trim(),
                input.text_en.trim(),
                &given_on.to_string(),
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "advisory.advice",
            "advisory_advice",
            &id.to_string(),
            None,
            None,
            Some(serde_json::json!({"meeting_id": input.meeting_id, "topic": input.topic, "title": input.title.trim(), "given_on": given_on})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The members to propose as reviewers of an application today (in Korea), best first, and
    /// the members left out with why.
    pub async fn propose_reviewers(
        &self,
        actor: &Actor,
        application_id: i64,
    ) -> Result<ReviewerProposals> {
        authz::authorize(actor, Action::ReadEvaluation)?;
        let pool = self.store.pool();
        let app = haechi_store::get_application(pool, application_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let institution = haechi_store::get_institution(pool, app.institution_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let sector = institution.input.sector.as_str();
        let on = self.korea_today();
        let policy = self.policy();
        let members = haechi_store::list_advisory_members(pool).await?;
        let conflicts = haechi_store::standing_conflicts(pool, None).await?;
        let assigned = haechi_store::assignments_for_application(pool, application_id).await?;
        let removed =
            haechi_store::removed_assignments_for_application(pool, application_id).await?;
        let panel = assigned.iter().filter(|a| a.conflict != Some(true)).count();
        let mut proposed = Vec::new();
        let mut excluded = Vec::new();
        for m in members {
            let mut why = unfit(&m, &conflicts, app.institution_id, sector, on);
            if m.disabled {
                why.push(ProposalReason::AccountDisabled);
            }
            if let Some(a) = assigned.iter().find(|a| a.advisor_id == m.user_id) {
                why.push(if a.conflict == Some(true) {
                    ProposalReason::DeclaredConflict {
                        note: a.conflict_note.clone(),
                    }
                } else {
                    ProposalReason::AlreadyAssigned
                });
            }
            if let Some(a) = removed.iter().find(|a| a.advisor_id == m.user_id) {
                why.push(if a.conflict == Some(true) {
                    ProposalReason::DeclaredConflict {
                        note: a.conflict_note.clone(),
                    }
                } else {
                    ProposalReason::Removed {
                        reason: a.removed_reason.clone(),
                    }
                });
            }
            if why.is_empty() {
                proposed.push(Proposal {
                    member_id: m.id,
                    user_id: m.user_id,
                    display_name: m.display_name,
                    field: m.field,
                    affiliation: m.affiliation,
                    open_assignments: m.open_assignments,
                    recommended: false,
                    reasons: vec![
                        ProposalReason::TermActive {
                            term_end: m.term_end,
                        },
                        ProposalReason::NoStandingConflict,
                        ProposalReason::OpenAssignments {
                            count: m.open_assignments,
                        },
                    ],
                });
            } else {
                excluded.push(Exclusion {
                    member_id: m.id,
                    user_id: m.user_id,
                    display_name: m.display_name,
                    field: m.field,
                    reasons: why,
                });
            }
        }
        proposed.sort_by_key(|p| (p.open_assignments, p.member_id));
        let need = (policy.evaluation.reviewers_per_application as usize).saturating_sub(panel);
        for p in proposed.iter_mut().take(need) {
            p.recommended = true;
        }
        Ok(ReviewerProposals {
            application_id,
            institution_id: app.institution_id,
            sector: sector.to_string(),
            on,
            reviewers_per_application: policy.evaluation.reviewers_per_application,
            policy_version: policy.version,
            panel,
            proposed,
            excluded,
        })
    }
}
