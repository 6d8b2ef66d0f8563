//! Authorisation, in one place: which role may do what (SPEC §2), and whose records an actor may
//! touch. Every use case calls [`authorize`] for its action and, for a record that belongs to an
//! institution or is assigned to an advisor, [`authorize_record`].
//!
//! A refusal on a record the actor may not see answers "not found" (so ids of other tenants do
//! not leak); a refusal of a whole action answers "forbidden". Every refusal is logged.

use haechi_core::{Actor, Role};

use crate::{Result, ServiceError};

/// Every use case, as an action to authorise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Program overview: dashboard, cohorts, phases.
    ReadProgram,
    /// The whole registry (all institutions).
    ReadRegistry,
    /// One institution's record (an institution user: only their own).
    ReadInstitution,
    ManageInstitutions,
    RunScreening,
    ReadScreening,
    /// Create, edit and upload evidence for an institution's application.
    DraftApplication,
    /// Submit or withdraw on behalf of the institution.
    SignApplication,
    ReadApplication,
    /// Officer steps: screening, review, return, complete evaluation, decisions, reviewer assignment.
    ManageApplications,
    ReadEvaluation,
    /// An advisor's own review: conflict declaration and scores.
    Review,
    PlanCohorts,
    /// Issue, revoke, renew letters; accept or return obligations.
    ManageLetters,
    /// Letters and obligations (an institution user: only their own, issued ones).
    ReadLetters,
    ReadPolicy,
    ManagePolicy,
    ReadAudit,
    ManageUsers,
    /// Computing resources, finding imports and findings (an institution user: only their own).
    ReadFindings,
    /// Register and classify resources, import findings, move findings through their lifecycle.
    ManageFindings,
    /// Import threat feeds (EPSS, KEV, CVE), sign feed files, re-prioritise every institution.
    ManageFeeds,
    /// What the feeds hold and which files are loaded (public data; every signed-in role).
    ReadFeeds,
    /// Publish or withdraw an emergency patch advisory (C10, C13).
    PublishAdvisory,
    /// Read threat-sharing bulletins, TAXII and Atom (each bulletin within its audience and TLP).
    ReadBulletins,
    /// Write, review, publish, correct and withdraw bulletins (C10).
    WriteBulletins,
    /// Acknowledge a bulletin on behalf of one's institution.
    AcknowledgeBulletins,
    /// Compile a report and write its narrative (C7; an institution's own).
    DraftReport,
    /// Sign off and submit a report (the CISO).
    SubmitReport,
    /// Accept or return a submitted report.
    ReviewReport,
    /// Sector insight over every institution's reports (C9, regulator side).
    ReadSectorInsight,
    /// The anonymised sector view beside the institution's own figures (C9).
    ReadSectorView,
    /// Disruption reports, immunity reviews and incidents (C8; an institution user: its own).
    ReadImmunity,
    /// File a disruption report and the incident reports against the clock (C8).
    FileImmunity,
    /// Appeal the committee's refusal (the CISO).
    AppealImmunity,
    /// Record the immunity review committee's decision.
    DecideImmunity,
    /// Record a data-class breach incident (the institution, or the regulator that found it).
    RecordBreach,
    /// Fintech funding calls and awards (C14; an institution user: its own applications).
    ReadFunding,
    /// Apply to a funding call (the institution, or the support center on a small firm's behalf).
    ApplyFunding,
    /// Open funding calls, score and award applications, cancel awards, record disbursements.
    ManageFunding,
    /// The advisory group: members, terms, standing conflicts, meetings, advice (C14).
    ReadAdvisory,
    /// Appoint members, correct and extend terms, hold meetings, record minutes and advice.
    ManageAdvisory,
    /// An advisor's own membership: term and standing conflicts.
    ReadOwnMembership,
    /// Declare a standing conflict of interest (an officer, or the advisor for themselves).
    DeclareStandingConflict,
    /// Published guidelines (drafts: only those who manage them).
    ReadGuidelines,
    /// Draft and publish guidelines, schedule briefings and record attendance, answer
    /// tailored-support requests.
    ManageGuidelines,
    /// Acknowledge a published guideline on behalf of one's institution (the CISO).
    AcknowledgeGuidelines,
    /// On-site briefings and tailored-support requests (an institution user: its own).
    ReadGuidanceSupport,
    /// Request tailored support for one's institution.
    RequestGuidanceSupport,
    /// File a funding outcome report and its files (the funded institution).
    FileFundingOutcome,
    /// Accept an outcome report or ask for more.
    ReviewFundingOutcome,
    /// Support-center cases (an institution user: its own).
    ReadSupport,
    /// Open a case with the support center, follow up, close (a small firm).
    OpenSupportCase,
    /// Triage, answer and close cases (the support center).
    HandleSupport,
    /// The response team's members and field challenges (an institution user: its own
    /// challenges).
    ReadResponseTeam,
    /// Raise a field challenge with the response team (an institution's own).
    RaiseChallenge,
    /// Manage the response team: members, challenges (owner, response, status), check-ins and
    /// their actions.
    ManageResponseTeam,
    /// The response team's check-ins and actions (regulator side).
    ReadCheckins,
    /// The full-removal ranking and its decisions.
    ReadRemovalTrack,
    /// Shortlist candidates for full removal and decide on them.
    DecideRemoval,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::ReadProgram => "read the program overview",
            Action::ReadRegistry => "read the institution registry",
            Action::ReadInstitution => "read an institution",
            Action::ManageInstitutions => "change the institution registry",
            Action::RunScreening => "run eligibility screening",
            Action::ReadScreening => "read screening results",
            Action::DraftApplication => "draft an application",
            Action::SignApplication => "submit or withdraw an application",
            Action::ReadApplication => "read applications",
            Action::ManageApplications => "process applications",
            Action::ReadEvaluation => "read evaluations",
            Action::Review => "review applications",
            Action::PlanCohorts => "plan and confirm cohorts",
            Action::ManageLetters => "issue, revoke or renew no-action letters",
            Action::ReadLetters => "read no-action letters and obligations",
            Action::ReadPolicy => "read the policy",
            Action::ManagePolicy => "change the policy",
            Action::ReadAudit => "read the audit log",
            Action::ManageUsers => "manage users",
            Action::ReadFindings => "read resources and findings",
            Action::ManageFindings => "manage resources and findings",
            Action::ManageFeeds => "import threat feeds",
            Action::ReadFeeds => "read threat feeds and advisories",
            Action::PublishAdvisory => "publish emergency patch advisories",
            Action::ReadBulletins => "read threat-sharing bulletins",
            Action::WriteBulletins => "write and publish threat-sharing bulletins",
            Action::AcknowledgeBulletins => "acknowledge bulletins",
            Action::DraftReport => "compile and write reports",
            Action::SubmitReport => "sign off and submit reports",
            Action::ReviewReport => "accept or return reports",
            Action::ReadSectorInsight => "read sector insight",
            Action::ReadSectorView => "read the anonymised sector view",
            Action::ReadImmunity => "read disruption reports, immunity reviews and incidents",
            Action::FileImmunity => "file disruption and incident reports",
            Action::AppealImmunity => "appeal an immunity decision",
            Action::DecideImmunity => "decide immunity",
            Action::RecordBreach => "record a data-class breach incident",
            Action::ReadFunding => "read funding calls",
            Action::ApplyFunding => "apply for funding",
            Action::ManageFunding => "manage funding calls and awards",
            Action::ReadAdvisory => "read the advisory group",
            Action::ManageAdvisory => "manage the advisory group",
            Action::ReadOwnMembership => "read one's advisory-group membership",
            Action::DeclareStandingConflict => "declare a standing conflict of interest",
            Action::ReadGuidelines => "read guidelines",
            Action::ManageGuidelines => "draft and publish guidelines, briefings and support",
            Action::AcknowledgeGuidelines => "acknowledge guidelines",
            Action::ReadGuidanceSupport => "read briefings and support requests",
            Action::RequestGuidanceSupport => "request tailored support",
            Action::FileFundingOutcome => "file funding outcome reports",
            Action::ReviewFundingOutcome => "review funding outcome reports",
            Action::ReadSupport => "read support-center cases",
            Action::OpenSupportCase => "open support-center cases",
            Action::HandleSupport => "handle support-center cases",
            Action::ReadResponseTeam => "read the response team and field challenges",
            Action::RaiseChallenge => "raise field challenges",
            Action::ManageResponseTeam => "manage the response team",
            Action::ReadCheckins => "read the response team's check-ins",
            Action::ReadRemovalTrack => "read the full-removal track",
            Action::DecideRemoval => "shortlist and decide full-removal candidates",
        }
    }
}

/// The role table of SPEC §2.
pub fn allows(role: Role, action: Action) -> bool {
    use Action as A;
    use Role as R;
    match action {
        A::ReadPolicy => true,
        A::ReadProgram => matches!(
            role,
            R::RegulatorAdmin | R::RegulatorOfficer | R::Analyst | R::SupportCenter | R::Auditor
        ),
        A::ReadRegistry | A::ReadScreening => {
            matches!(
                role,
                R::RegulatorAdmin
                    | R::RegulatorOfficer
                    | R::Analyst
                    | R::SupportCenter
                    | R::Auditor
            )
        }
        A::ReadInstitution => !matches!(role, R::Advisor),
        A::ManageInstitutions
        | A::RunScreening
        | A::ManageApplications
        | A::PlanCohorts
        | A::ManageLetters => {
            matches!(role, R::RegulatorAdmin | R::RegulatorOfficer)
        }
        A::DraftApplication => matches!(role, R::Ciso | R::SecurityStaff),
        A::SignApplication => matches!(role, R::Ciso),
        A::ReadApplication => matches!(
            role,
            R::RegulatorAdmin
                | R::RegulatorOfficer
                | R::Auditor
                | R::Ciso
                | R::SecurityStaff
                | R::Advisor
        ),
        A::ReadLetters => matches!(
            role,
            R::RegulatorAdmin
                | R::RegulatorOfficer
                | R::Analyst
                | R::Auditor
                | R::Ciso
                | R::SecurityStaff
        ),
        A::ReadEvaluation => matches!(role, R::RegulatorAdmin | R::RegulatorOfficer | R::Auditor),
        A::Review => matches!(role, R::Advisor),
        A::ManagePolicy | A::ManageUsers => matches!(role, R::RegulatorAdmin),
        A::ReadAudit => matches!(role, R::RegulatorAdmin | R::Auditor),
        // Findings are the institution's own; the regulator side sees aggregates only (C9).
        A::ReadFindings => matches!(role, R::Ciso | R::SecurityStaff | R::Auditor),
        A::ManageFindings => matches!(role, R::Ciso | R::SecurityStaff),
        A::ManageFeeds | A::PublishAdvisory => {
            matches!(role, R::RegulatorAdmin | R::RegulatorOfficer)
        }
        A::ReadFeeds => true,
        // Every signed-in role reads bulletins; which ones is their audience and TLP
        // (`sharing::reaches`). Advisors are outside the sharing community.
        A::ReadBulletins => !matches!(role, R::Advisor),
        A::WriteBulletins => matches!(role, R::Analyst | R::SupportCenter),
        A::AcknowledgeBulletins => matches!(role, R::Ciso | R::SecurityStaff),
        A::DraftReport => matches!(role, R::Ciso | R::SecurityStaff),
        A::SubmitReport => matches!(role, R::Ciso),
        A::ReviewReport => matches!(role, R::RegulatorAdmin | R::RegulatorOfficer),
        A::ReadSectorInsight => matches!(
            role,
            R::RegulatorAdmin | R::RegulatorOfficer | R::Analyst | R::Auditor
        ),
        A::ReadSectorView => matches!(role, R::Ciso | R::SecurityStaff),
        A::ReadImmunity => matches!(
            role,
            R::RegulatorAdmin | R::RegulatorOfficer | R::Auditor | R::Ciso | R::SecurityStaff
        ),
        A::FileImmunity => matches!(role, R::Ciso | R::SecurityStaff),
        A::AppealImmunity => matches!(role, R::Ciso),
        A::DecideImmunity => matches!(role, R::RegulatorAdmin | R::RegulatorOfficer),
        A::RecordBreach => matches!(
            role,
            R::RegulatorAdmin | R::RegulatorOfficer | R::Ciso | R::SecurityStaff
        ),
        A::ReadFunding => !matches!(role, R::Advisor),
        A::ApplyFunding => matches!(role, R::Ciso | R::SecurityStaff | R::SupportCenter),
        A::ManageFunding => matches!(role, R::RegulatorAdmin | R::SupportCenter),
        A::ReadAdvisory => matches!(role, R::RegulatorAdmin | R::RegulatorOfficer | R::Auditor),
        A::ManageAdvisory | A::ManageGuidelines => {
            matches!(role, R::RegulatorAdmin | R::RegulatorOfficer)
        }
        A::ReadOwnMembership => matches!(role, R::Advisor),
        A::DeclareStandingConflict => {
            matches!(role, R::RegulatorAdmin | R::RegulatorOfficer | R::Advisor)
        }
        A::ReadGuidelines => true,
        A::AcknowledgeGuidelines => matches!(role, R::Ciso),
        A::ReadGuidanceSupport => matches!(
            role,
            R::RegulatorAdmin | R::RegulatorOfficer | R::Auditor | R::Ciso | R::SecurityStaff
        ),
        A::RequestGuidanceSupport => matches!(role, R::Ciso | R::SecurityStaff),
        A::FileFundingOutcome | A::OpenSupportCase => matches!(role, R::Ciso | R::SecurityStaff),
        A::ReviewFundingOutcome => matches!(
            role,
            R::RegulatorAdmin | R::RegulatorOfficer | R::SupportCenter
        ),
        A::ReadSupport => matches!(
            role,
            R::RegulatorAdmin | R::SupportCenter | R::Auditor | R::Ciso | R::SecurityStaff
        ),
        A::HandleSupport => matches!(role, R::SupportCenter),
        // The response team (C14): the regulator side and the FSI read it, institutions follow
        // their own challenges; officers run it. Advisors are outside it.
        A::ReadResponseTeam => !matches!(role, R::Advisor),
        A::RaiseChallenge => matches!(role, R::Ciso | R::SecurityStaff),
        A::ManageResponseTeam | A::DecideRemoval => {
            matches!(role, R::RegulatorAdmin | R::RegulatorOfficer)
        }
        A::ReadCheckins => matches!(
            role,
            R::RegulatorAdmin | R::RegulatorOfficer | R::Analyst | R::SupportCenter | R::Auditor
        ),
        A::ReadRemovalTrack => matches!(role, R::RegulatorAdmin | R::RegulatorOfficer | R::Auditor),
    }
}

/// The server's own batch commands (`Actor::system()`: user id 0, which no login or token can
/// carry) import resources and findings on an institution's behalf, with the files it hands
/// over to the operator.
fn operator_may(actor: &Actor, action: Action) -> bool {
    actor.user_id == 0
        && actor.role == Role::RegulatorAdmin
        && matches!(action, Action::ReadFindings | Action::ManageFindings)
}

/// Refuses an action the actor's role may not take at all.
pub fn authorize(actor: &Actor, action: Action) -> Result<()> {
    if allows(actor.role, action) || operator_may(actor, action) {
        return Ok(());
    }
    tracing::warn!(user = %actor.username, role = %actor.role, action = action.as_str(), "refused: role may not");
    Err(ServiceError::Forbidden(action.as_str()))
}

/// Whose record a use case touches.
#[derive(Debug, Clone, Copy)]
pub enum Owner {
    /// A record of one institution.
    Institution(i64),
    /// An application: its institution, and whether the actor is an assigned advisor who has
    /// declared no conflict (`Some(true)`), is assigned but undeclared or conflicted
    /// (`Some(false)`), or is not assigned (`None`).
    Application {
        institution_id: i64,
        advisor_cleared: Option<bool>,
    },
}

/// Refuses, as "not found", a record outside the actor's reach.
pub fn authorize_record(actor: &Actor, action: Action, owner: Owner) -> Result<()> {
    authorize(actor, action)?;
    let ok = match (actor.role, owner) {
        (r, Owner::Institution(id))
        | (
            r,
            Owner::Application {
                institution_id: id, ..
            },
        ) if r.is_institution_role() => actor.institution_id == Some(id),
        (
            Role::Advisor,
            Owner::Application {
                advisor_cleared, ..
            },
        ) => advisor_cleared == Some(true),
        (Role::Advisor, Owner::Institution(_)) => false,
        _ => true,
    };
    if ok {
        return Ok(());
    }
    tracing::warn!(user = %actor.username, role = %actor.role, action = action.as_str(), ?owner, "refused: record outside the actor's reach");
    Err(ServiceError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, inst: Option<i64>) -> Actor {
        Actor {
            user_id: 1,
            username: "u".into(),
            role,
            institution_id: inst,
        }
    }

    #[test]
    fn institution_users_reach_only_their_own() {
        let ciso = actor(Role::Ciso, Some(7));
        assert!(authorize_record(&ciso, Action::ReadInstitution, Owner::Institution(7)).is_ok());
        assert!(matches!(
            authorize_record(&ciso, Action::ReadInstitution, Owner::Institution(8)),
            Err(ServiceError::NotFound)
        ));
        assert!(matches!(
            authorize(&ciso, Action::ReadRegistry),
            Err(ServiceError::Forbidden(_))
        ));
    }

    #[test]
    fn advisors_see_only_cleared_assignments() {
        let adv = actor(Role::Advisor, None);
        let owner = |c| Owner::Application {
            institution_id: 1,
            advisor_cleared: c,
        };
        assert!(authorize_record(&adv, Action::ReadApplication, owner(Some(true))).is_ok());
        assert!(authorize_record(&adv, Action::ReadApplication, owner(Some(false))).is_err());
        assert!(authorize_record(&adv, Action::ReadApplication, owner(None)).is_err());
    }

    #[test]
    fn auditor_reads_everything_and_changes_nothing() {
        for a in [
            Action::ReadRegistry,
            Action::ReadApplication,
            Action::ReadEvaluation,
            Action::ReadAudit,
        ] {
            assert!(allows(Role::Auditor, a), "{a:?}");
        }
        for a in [
            Action::ManageInstitutions,
            Action::RunScreening,
            Action::ManageApplications,
            Action::PlanCohorts,
            Action::ManagePolicy,
            Action::DraftApplication,
            Action::Review,
        ] {
            assert!(!allows(Role::Auditor, a), "{a:?}");
        }
    }
}
