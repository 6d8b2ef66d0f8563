//! Read models of the regulator's portal pages: the registry list with every filter the page
//! offers, and the program overview behind the dashboard (phases and their cohorts, the validity
//! of every issued letter, letters about to expire, overdue obligations). Reads only: nothing here
//! changes a record or writes an audit entry.

use chrono::{Duration, NaiveDate};
use haechi_core::{Actor, Application, Institution};
use haechi_store::{ApplicationFilter, FindingCount, LetterRow, RegistryFilter};
use serde::Serialize;

use crate::authz::{self, Action};
use crate::institutions::InstitutionView;
use crate::letters::{ComplianceFlag, ObligationView};
use crate::patching::SaasView;
use crate::{Result, Service};

/// An institution's findings in figures, for the regulator's institution page: no finding's
/// content, only counts (the regulator side reads findings as aggregates, SPEC C9).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FindingsSummary {
    pub total: i64,
    /// Counts by priority (`""` when not prioritised yet) and status.
    pub counts: Vec<FindingCount>,
    /// Open or in-progress P1 and P2 findings.
    pub open_p1: i64,
    pub open_p2: i64,
    /// Open or in-progress findings past their due date.
    pub sla_breached: i64,
}

/// Everything the regulator side knows of one institution (the "360°" page): its figures,
/// screening and figure history, and — each where the actor's role may read it — its
/// applications, letters, obligations (overdue ones marked), compliance flag, security-SaaS
/// register and a findings summary.
#[derive(Debug, Clone, Serialize)]
pub struct InstitutionOverview {
    #[serde(flatten)]
    pub view: InstitutionView,
    pub applications: Option<Vec<Application>>,
    pub letters: Option<Vec<LetterRow>>,
    pub obligations: Option<Vec<ObligationView>>,
    /// `Some(None)`: read, and nothing flagged.
    pub compliance: Option<Option<ComplianceFlag>>,
    pub saas: Vec<SaasView>,
    pub findings: FindingsSummary,
}

/// One phase of the policy with its confirmed cohort (if any) and the letters issued to it.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseOverview {
    pub phase_id: String,
    pub label_ko: String,
    pub label_en: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub min: u32,
    pub max: Option<u32>,
    /// Day the officer confirmed the cohort; `None` until then.
    pub confirmed_on: Option<NaiveDate>,
    /// Members of the confirmed cohort; `None` until confirmed.
    pub members: Option<usize>,
    /// Letters issued (or issued and later revoked) to members of this phase.
    pub letters_issued: usize,
}

/// An issued (or revoked) letter's validity, for the timeline and the expiry list.
#[derive(Debug, Clone, Serialize)]
pub struct LetterSpan {
    pub letter_id: i64,
    pub letter_number: String,
    pub institution_id: i64,
    pub institution_name: String,
    pub phase_id: Option<String>,
    /// `issued` or `revoked`.
    pub state: String,
    pub issued_on: NaiveDate,
    pub valid_until: NaiveDate,
    pub revoked_on: Option<NaiveDate>,
}

/// An open obligation whose due date has passed.
#[derive(Debug, Clone, Serialize)]
pub struct OverdueObligation {
    pub obligation_id: i64,
    pub letter_id: i64,
    pub letter_number: Option<String>,
    pub institution_id: i64,
    pub institution_name: String,
    pub kind: String,
    pub due_on: String,
}

/// Everything the regulator dashboard shows beyond the counts of [`crate::Dashboard`].
#[derive(Debug, Clone, Serialize)]
pub struct ProgramOverview {
    pub today: NaiveDate,
    pub policy_version: i64,
    pub effective_from: NaiveDate,
    pub phases: Vec<PhaseOverview>,
    /// Issued and revoked letters, by phase then number.
    pub letters: Vec<LetterSpan>,
    /// Letters drafted for a confirmed cohort and not issued yet.
    pub draft_letters: usize,
    /// Issued, unrevoked letters whose validity ends within `expiry_window_days` of today,
    /// soonest first.
    pub expiring: Vec<LetterSpan>,
    pub expiry_window_days: i64,
    /// Oldest due date first.
    pub overdue: Vec<OverdueObligation>,
}

fn date(s: Option<&str>) -> Option<NaiveDate> {
    s.and_then(|s| NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok())
}

impl Service {
    /// A page of the registry with its filters (search, sector, size class, eligibility).
    pub async fn registry_page(
        &self,
        actor: &Actor,
        filter: &RegistryFilter,
    ) -> Result<(Vec<Institution>, i64)> {
        authz::authorize(actor, Action::ReadRegistry)?;
        Ok(haechi_store::registry_page(self.store.pool(), filter).await?)
    }

    /// One institution as the regulator side sees it (see [`InstitutionOverview`]): refused to
    /// roles that do not read the registry; each section is present only when the actor's role
    /// may read its records.
    pub async fn institution_overview(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<InstitutionOverview> {
        authz::authorize(actor, Action::ReadRegistry)?;
        let view = self.get_institution(actor, id).await?;
        let pool = self.store.pool();
        let may = |a: Action| authz::allows(actor.role, a);
        let applications = if may(Action::ReadApplication) {
            let filter = ApplicationFilter {
                institution_id: Some(id),
                limit: 200,
                ..ApplicationFilter::default()
            };
            Some(haechi_store::list_applications(pool, &filter).await?.0)
        } else {
            None
        };
        let (letters, obligations) = if may(Action::ReadLetters) {
            (
                Some(haechi_store::list_letters(pool, Some(id)).await?),
                Some(self.obligation_views(Some(id), None).await?),
            )
        } else {
            (None, None)
        };
        let compliance = if may(Action::ReadProgram) && may(Action::ReadLetters) {
            Some(
                self.compliance_flags(actor)
                    .await?
                    .into_iter()
                    .find(|f| f.institution_id == id),
            )
        } else {
            None
        };
        let saas = self.saas_register(id).await?;
        let counts =
            haechi_store::institution_finding_counts(pool, id, &self.today().to_string()).await?;
        let open = |c: &&FindingCount| matches!(c.status.as_str(), "open" | "in_progress");
        let findings = FindingsSummary {
            total: counts.iter().map(|c| c.count).sum(),
            open_p1: counts
                .iter()
                .filter(open)
                .filter(|c| c.priority == "P1")
                .map(|c| c.count)
                .sum(),
            open_p2: counts
                .iter()
                .filter(open)
                .filter(|c| c.priority == "P2")
                .map(|c| c.count)
                .sum(),
            sla_breached: counts.iter().map(|c| c.breached).sum(),
            counts,
        };
        Ok(InstitutionOverview {
            view,
            applications,
            letters,
            obligations,
            compliance,
            saas,
            findings,
        })
    }

    /// The program overview: phases, cohorts, letter validity, expiring letters (within
    /// `expiry_window_days`) and overdue obligations, as of today.
    pub async fn program_overview(
        &self,
        actor: &Actor,
        expiry_window_days: i64,
    ) -> Result<ProgramOverview> {
        authz::authorize(actor, Action::ReadProgram)?;
        let pool = self.store.pool();
        let today = self.today();
        let policy = self.policy();
        let cohorts = haechi_store::list_cohorts(pool).await?;
        let rows = haechi_store::list_letters(pool, None).await?;
        let draft_letters = rows.iter().filter(|l| l.state == "draft").count();
        let mut letters: Vec<LetterSpan> = rows
            .iter()
            .filter(|l| l.state != "draft")
            .filter_map(|l| {
                Some(LetterSpan {
                    letter_id: l.id,
                    letter_number: l.letter_number.clone()?,
                    institution_id: l.institution_id,
                    institution_name: l.institution_name.clone(),
                    phase_id: l.phase_id.clone(),
                    state: l.state.clone(),
                    issued_on: date(l.issued_on.as_deref())?,
                    valid_until: date(l.valid_until.as_deref())?,
                    revoked_on: date(l.revoked_on.as_deref()),
                })
            })
            .collect();
        letters
            .sort_by(|a, b| (&a.phase_id, &a.letter_number).cmp(&(&b.phase_id, &b.letter_number)));
        let phases = policy
            .phases
            .iter()
            .map(|p| {
                let cohort = cohorts.iter().find(|c| c.phase_id == p.id);
                PhaseOverview {
                    phase_id: p.id.clone(),
                    label_ko: p.label_ko.clone(),
                    label_en: p.label_en.clone(),
                    start: p.start,
                    end: p.end,
                    min: p.min,
                    max: p.max,
                    confirmed_on: cohort.and_then(|c| date(Some(&c.confirmed_at))),
                    members: cohort.map(|c| c.members.len()),
                    letters_issued: letters
                        .iter()
                        .filter(|l| l.phase_id.as_deref() == Some(p.id.as_str()))
                        .count(),
                }
            })
            .collect();
        let horizon = today + Duration::days(expiry_window_days.max(0));
        let mut expiring: Vec<LetterSpan> = letters
            .iter()
            .filter(|l| l.state == "issued" && l.valid_until >= today && l.valid_until <= horizon)
            .cloned()
            .collect();
        expiring.sort_by_key(|l| l.valid_until);
        let mut overdue: Vec<OverdueObligation> = haechi_store::list_obligations(pool, None, None)
            .await?
            .into_iter()
            .filter(|o| crate::letters::obligation_overdue(o, today))
            .map(|o| OverdueObligation {
                obligation_id: o.id,
                letter_id: o.letter_id,
                letter_number: o.letter_number,
                institution_id: o.institution_id,
                institution_name: o.institution_name,
                kind: o.kind,
                due_on: o.due_on,
            })
            .collect();
        overdue.sort_by(|a, b| a.due_on.cmp(&b.due_on));
        Ok(ProgramOverview {
            today,
            policy_version: policy.version,
            effective_from: policy.program.effective_from,
            phases,
            letters,
            draft_letters,
            expiring,
            expiry_window_days,
            overdue,
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use haechi_store::ObligationRow;

    use crate::letters::obligation_overdue;

    fn row(status: &str, due_on: &str) -> ObligationRow {
        ObligationRow {
            id: 1,
            letter_id: 1,
            letter_number: None,
            institution_id: 1,
            institution_name: String::new(),
            kind: "quarterly_report".into(),
            sequence: 1,
            period_start: "2026-07-01".into(),
            period_end: "2026-09-30".into(),
            due_on: due_on.into(),
            status: status.into(),
            submitted_at: None,
            decided_at: None,
            note: None,
            saas_evaluation_id: None,
            saas_id: None,
        }
    }

    #[test]
    fn a_report_still_owed_past_its_due_date_is_overdue() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 13).unwrap_or_default();
        // Owed: never submitted, or returned for correction.
        assert!(obligation_overdue(&row("open", "2026-10-30"), today));
        assert!(obligation_overdue(&row("returned", "2026-10-30"), today));
        // Due today is not late yet.
        assert!(!obligation_overdue(&row("open", "2026-11-13"), today));
        assert!(!obligation_overdue(&row("returned", "2026-11-14"), today));
        // Not owed.
        for status in ["submitted", "accepted", "cancelled"] {
            assert!(
                !obligation_overdue(&row(status, "2026-10-30"), today),
                "{status}"
            );
        }
    }
}
