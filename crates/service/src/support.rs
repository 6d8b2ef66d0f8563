//! Issue #17's follow-ups: evidence files on disruption reports (C8) and on funding outcome
//! reports (C14) under the policy's `[attachments]` limits; the outcome reports funded firms
//! file after a payment and the review that accepts them or asks for more; the AI Security
//! Support Center's cases from small firms (open → in progress → answered → closed, with every
//! step kept); and the self-service rule of the security-operations pages: a small firm (size
//! class small, or a fintech) reaches the findings intake and the patch queue with a no-action
//! letter in force or a support-center funding award, and is told which one opened them.
//!
//! What it must not do: store a file it did not check against the policy, or let a record change
//! once it is decided.

use haechi_core::{Actor, FieldError, Role, Sector, SizeClass};
use haechi_policy::reporting::ReportAttachmentPolicy;
use haechi_store::{EvidenceMeta, EvidenceOf, FundingOutcomeRow, SupportCaseRow, SupportEventRow};
use serde::{Deserialize, Serialize};

use crate::authz::{self, Action, Owner};
use crate::{record, Result, Service, ServiceError};

// ================================================================================ evidence files

/// An evidence file as uploaded.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    pub filename: &'a str,
    pub content_type: &'a str,
    pub data: &'a [u8],
}

/// A file that passed the policy: its name without any directory part, and its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFile {
    pub filename: String,
    pub content_type: String,
    pub sha256: String,
}

/// Checks an evidence file against the policy's limits for evidence of reports
/// (`[reporting.attachments]`: one file's size, all files of the record together — `present`
/// bytes are there already —, media types), then names and hashes it with the helper
/// application and report evidence share.
pub fn check_file(
    limits: &ReportAttachmentPolicy,
    upload: Upload<'_>,
    present: u64,
) -> Result<CheckedFile> {
    let size = upload.data.len() as u64;
    let content_type = media_type(upload.content_type, upload.filename);
    let mut errors = Vec::new();
    if size > limits.max_bytes {
        errors.push(FieldError::new("file", "is larger than the policy allows"));
    } else if present + size > limits.max_total_bytes {
        errors.push(FieldError::new(
            "file",
            "would take the record's files past the policy's total",
        ));
    }
    if size > 0 && !limits.accepts_type(&content_type) {
        errors.push(FieldError::new(
            "file",
            "is not of a type the policy accepts",
        ));
    }
    if !errors.is_empty() {
        return Err(ServiceError::invalid(errors));
    }
    let (filename, sha256) = crate::applications::evidence_file(upload.filename, upload.data)?;
    Ok(CheckedFile {
        filename,
        content_type,
        sha256,
    })
}

/// The media type a file is checked and stored under: the declared one, or — when the sender
/// declared none or the generic `application/octet-stream`, as browsers do for many files — the
/// one its name's extension stands for.
pub fn media_type(declared: &str, filename: &str) -> String {
    let bare = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !bare.is_empty() && bare != "application/octet-stream" {
        return bare;
    }
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "zip" => "application/zip",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "hwp" => "application/x-hwp",
        _ => return bare,
    }
    .to_string()
}

fn total(files: &[EvidenceMeta]) -> u64 {
    files.iter().map(|f| f.size_bytes.max(0) as u64).sum()
}

// ================================================================================ outcome reports

/// What a funded firm reports the award achieved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutcomeInput {
    pub achieved_ko: String,
    pub achieved_en: String,
    /// Of the amount paid, how much was used.
    pub used_krw: i64,
}

/// A version of an outcome report with its files.
#[derive(Debug, Clone, Serialize)]
pub struct FundingOutcome {
    pub row: FundingOutcomeRow,
    pub files: Vec<EvidenceMeta>,
}

// ================================================================================ support cases

/// What a case asks for.
pub const CASE_KINDS: [&str; 3] = ["vulnerability_assessment", "threat_trend", "other"];

/// A step of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStep {
    /// The center takes the case up: open → in_progress.
    Triage,
    /// The center answers: in_progress → answered (a message is required).
    Answer,
    /// The firm asks again after an answer: answered → in_progress (a message is required).
    FollowUp,
    /// Either side closes an answered case: answered → closed.
    Close,
    /// A message that leaves the status as it is (not on a closed case).
    Comment,
}

impl CaseStep {
    pub fn parse(s: &str) -> Option<CaseStep> {
        Some(match s {
            "triage" => CaseStep::Triage,
            "answer" => CaseStep::Answer,
            "follow_up" => CaseStep::FollowUp,
            "close" => CaseStep::Close,
            "comment" => CaseStep::Comment,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CaseStep::Triage => "triage",
            CaseStep::Answer => "answer",
            CaseStep::FollowUp => "follow_up",
            CaseStep::Close => "close",
            CaseStep::Comment => "comment",
        }
    }

    /// The status this step moves a case in `from` to, and whether the center (`true`) or the
    /// firm (`false`) may take it (`None`: both); `None` when the step is illegal from there.
    pub fn apply(self, from: &str) -> Option<(&'static str, Option<bool>)> {
        match (self, from) {
            (CaseStep::Triage, "open") => Some(("in_progress", Some(true))),
            (CaseStep::Answer, "in_progress") => Some(("answered", Some(true))),
            (CaseStep::FollowUp, "answered") => Some(("in_progress", Some(false))),
            (CaseStep::Close, "answered") => Some(("closed", None)),
            (CaseStep::Comment, "open") => Some(("open", None)),
            (CaseStep::Comment, "in_progress") => Some(("in_progress", None)),
            (CaseStep::Comment, "answered") => Some(("answered", None)),
            _ => None,
        }
    }
}

/// A case with its history, as both sides see it.
#[derive(Debug, Clone, Serialize)]
pub struct SupportCase {
    pub row: SupportCaseRow,
    pub events: Vec<SupportEventRow>,
}

// ================================================================================ self-service

/// Why an institution user may (or may not) use the findings intake and the patch queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum SelfService {
    /// Not a small firm: the security-operations side is every institution's.
    InstitutionSide,
    /// A small firm with a no-action letter in force.
    Letter { letter_number: String },
    /// A small firm funded by the support center (an award not cancelled).
    Funded {
        application_id: i64,
        call_title: String,
        award_krw: i64,
    },
    /// A small firm with neither: refused.
    Closed,
}

impl SelfService {
    pub fn open(&self) -> bool {
        !matches!(self, SelfService::Closed)
    }
}

/// Whether the registry's figures make an institution a small firm for the support center.
pub fn small_firm(size: SizeClass, sector: Sector) -> bool {
    size == SizeClass::Small || sector == Sector::Fintech
}

fn corrupt(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::rule("corrupt_support", e.to_string())
}

impl Service {
    fn support_stamp(&self) -> String {
        self.clock_text().unwrap_or_else(haechi_store::now_text)
    }

    // ---------------------------------------------------------------- disruption evidence

    /// Adds an evidence file to a disruption report while its review awaits the committee.
    pub async fn add_disruption_file(
        &self,
        actor: &Actor,
        report_id: i64,
        upload: Upload<'_>,
    ) -> Result<EvidenceMeta> {
        authz::authorize(actor, Action::FileImmunity)?;
        let pool = self.store.pool();
        let report = haechi_store::get_disruption(pool, report_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::FileImmunity,
            Owner::Institution(report.institution_id),
        )?;
        let present = total(
            &haechi_store::list_evidence(pool, EvidenceOf::DisruptionReport, report_id).await?,
        );
        let file = check_file(&self.policy().reporting.attachments, upload, present)?;
        let mut tx = self.store.begin().await?;
        let latest = haechi_store::immunity_reviews(tx.conn(), report_id)
            .await?
            .pop()
            .ok_or_else(|| corrupt("a report without a review version"))?;
        if latest.state != "pending" {
            return Err(ServiceError::rule(
                "report_decided",
                "the committee has decided this report; evidence can no longer be added",
            ));
        }
        let at = self.support_stamp();
        let id = tx
            .insert_evidence(
                EvidenceOf::DisruptionReport,
                report_id,
                &file.filename,
                &file.content_type,
                &file.sha256,
                upload.data,
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "immunity.attach",
            "disruption_report",
            &report_id.to_string(),
            Some(report.institution_id),
            None,
            Some(serde_json::json!({"file_id": id, "filename": file.filename, "content_type": file.content_type, "sha256": file.sha256, "size": upload.data.len()})),
        ))
        .await?;
        tx.commit().await?;
        let files =
            haechi_store::list_evidence(pool, EvidenceOf::DisruptionReport, report_id).await?;
        files
            .into_iter()
            .find(|f| f.id == id)
            .ok_or(ServiceError::NotFound)
    }

    /// The evidence files of a disruption report (its institution and the regulator side).
    pub async fn disruption_files(
        &self,
        actor: &Actor,
        report_id: i64,
    ) -> Result<Vec<EvidenceMeta>> {
        authz::authorize(actor, Action::ReadImmunity)?;
        let pool = self.store.pool();
        let report = haechi_store::get_disruption(pool, report_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ReadImmunity,
            Owner::Institution(report.institution_id),
        )?;
        Ok(haechi_store::list_evidence(pool, EvidenceOf::DisruptionReport, report_id).await?)
    }

    /// One evidence file of a disruption report, with its bytes.
    pub async fn disruption_file(&self, actor: &Actor, id: i64) -> Result<(EvidenceMeta, Vec<u8>)> {
        authz::authorize(actor, Action::ReadImmunity)?;
        let pool = self.store.pool();
        let (meta, data) = haechi_store::get_evidence(pool, EvidenceOf::DisruptionReport, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        self.disruption_files(actor, meta.owner_id).await?;
        Ok((meta, data))
    }

    // ---------------------------------------------------------------- outcome reports

    /// Files the next version of an award's outcome report; an award with a payment, and only
    /// when no version awaits review or was accepted.
    pub async fn file_funding_outcome(
        &self,
        actor: &Actor,
        application_id: i64,
        input: &OutcomeInput,
    ) -> Result<i64> {
        authz::authorize(actor, Action::FileFundingOutcome)?;
        let mut tx = self.store.begin().await?;
        let app = haechi_store::get_funding_application(tx.conn(), application_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::FileFundingOutcome,
            Owner::Institution(app.institution_id),
        )?;
        let ko = input.achieved_ko.trim();
        let en = input.achieved_en.trim();
        let mut errors = Vec::new();
        if ko.is_empty() {
            errors.push(FieldError::new("achieved_ko", "must not be empty"));
        }
        if en.is_empty() {
            errors.push(FieldError::new("achieved_en", "must not be empty"));
        }
        if input.used_krw < 0 {
            errors.push(FieldError::new("used_krw", "must not be negative"));
        } else if input.used_krw > app.disbursed_krw {
            errors.push(FieldError::new("used_krw", "exceeds what was paid"));
        }
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        if app.state != "awarded" || app.disbursed_krw == 0 {
            return Err(ServiceError::rule(
                "not_disbursed",
                "an outcome report follows a payment of an award",
            ));
        }
        let versions = haechi_store::funding_outcomes(tx.conn(), application_id).await?;
        if let Some(last) = versions.last() {
            if last.state != "more_requested" {
                return Err(ServiceError::rule(
                    "outcome_pending",
                    "the outcome report awaits review or was accepted",
                ));
            }
        }
        let at = self.support_stamp();
        let id = tx
            .insert_funding_outcome(application_id, ko, en, input.used_krw, &actor.username, &at)
            .await?;
        tx.audit(record(
            actor,
            "funding.outcome",
            "funding_application",
            &application_id.to_string(),
            Some(app.institution_id),
            None,
            Some(serde_json::json!({"outcome_id": id, "version": versions.len() + 1, "used_krw": input.used_krw})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn outcome_in_reach(
        &self,
        actor: &Actor,
        action: Action,
        outcome_id: i64,
    ) -> Result<(FundingOutcomeRow, i64)> {
        authz::authorize(actor, action)?;
        let pool = self.store.pool();
        let row = haechi_store::get_funding_outcome(pool, outcome_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let app = haechi_store::get_funding_application(pool, row.application_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(actor, action, Owner::Institution(app.institution_id))?;
        Ok((row, app.institution_id))
    }

    /// Adds a file to an outcome report version while it awaits review.
    pub async fn add_outcome_file(
        &self,
        actor: &Actor,
        outcome_id: i64,
        upload: Upload<'_>,
    ) -> Result<EvidenceMeta> {
        let (row, institution) = self
            .outcome_in_reach(actor, Action::FileFundingOutcome, outcome_id)
            .await?;
        let present = total(
            &haechi_store::list_evidence(self.store.pool(), EvidenceOf::FundingOutcome, outcome_id)
                .await?,
        );
        let file = check_file(&self.policy().reporting.attachments, upload, present)?;
        if row.state != "submitted" {
            return Err(ServiceError::rule(
                "report_decided",
                "the outcome report was reviewed; files can no longer be added",
            ));
        }
        let at = self.support_stamp();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_evidence(
                EvidenceOf::FundingOutcome,
                outcome_id,
                &file.filename,
                &file.content_type,
                &file.sha256,
                upload.data,
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "funding.outcome_attach",
            "funding_application",
            &row.application_id.to_string(),
            Some(institution),
            None,
            Some(serde_json::json!({"outcome_id": outcome_id, "file_id": id, "filename": file.filename, "sha256": file.sha256, "size": upload.data.len()})),
        ))
        .await?;
        tx.commit().await?;
        haechi_store::list_evidence(self.store.pool(), EvidenceOf::FundingOutcome, outcome_id)
            .await?
            .into_iter()
            .find(|f| f.id == id)
            .ok_or(ServiceError::NotFound)
    }

    /// The reviewer accepts a submitted outcome report or asks for more (saying what).
    pub async fn review_funding_outcome(
        &self,
        actor: &Actor,
        outcome_id: i64,
        accept: bool,
        note: &str,
    ) -> Result<()> {
        let (row, institution) = self
            .outcome_in_reach(actor, Action::ReviewFundingOutcome, outcome_id)
            .await?;
        let note = note.trim();
        if !accept && note.is_empty() {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "note",
                "say what more is needed",
            )]));
        }
        if row.state != "submitted" {
            return Err(ServiceError::rule(
                "illegal_transition",
                "the outcome report was already reviewed",
            ));
        }
        let to = if accept { "accepted" } else { "more_requested" };
        let at = self.support_stamp();
        let mut tx = self.store.begin().await?;
        tx.review_funding_outcome(outcome_id, to, note, &actor.username, &at)
            .await?;
        tx.audit(record(
            actor,
            &format!("funding.outcome_{to}"),
            "funding_application",
            &row.application_id.to_string(),
            Some(institution),
            Some(serde_json::json!({"outcome_id": outcome_id, "state": "submitted"})),
            Some(serde_json::json!({"outcome_id": outcome_id, "state": to, "note": note})),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every version of an award's outcome report with its files.
    pub async fn funding_outcomes(
        &self,
        actor: &Actor,
        application_id: i64,
    ) -> Result<Vec<FundingOutcome>> {
        self.funding_application(actor, application_id).await?;
        let pool = self.store.pool();
        let mut out = Vec::new();
        for row in haechi_store::funding_outcomes(pool, application_id).await? {
            let files =
                haechi_store::list_evidence(pool, EvidenceOf::FundingOutcome, row.id).await?;
            out.push(FundingOutcome { row, files });
        }
        Ok(out)
    }

    /// One application to a call (an institution user: only their own).
    pub async fn funding_application(
        &self,
        actor: &Actor,
        application_id: i64,
    ) -> Result<haechi_store::FundingApplicationRow> {
        authz::authorize(actor, Action::ReadFunding)?;
        let app = haechi_store::get_funding_application(self.store.pool(), application_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ReadFunding,
            Owner::Institution(app.institution_id),
        )?;
        Ok(app)
    }

    /// One file of an outcome report, with its bytes.
    pub async fn outcome_file(&self, actor: &Actor, id: i64) -> Result<(EvidenceMeta, Vec<u8>)> {
        authz::authorize(actor, Action::ReadFunding)?;
        let (meta, data) =
            haechi_store::get_evidence(self.store.pool(), EvidenceOf::FundingOutcome, id)
                .await?
                .ok_or(ServiceError::NotFound)?;
        self.outcome_in_reach(actor, Action::ReadFunding, meta.owner_id)
            .await?;
        Ok((meta, data))
    }

    // ---------------------------------------------------------------- support cases

    /// A small firm opens a case with the support center. Returns its id.
    pub async fn open_support_case(
        &self,
        actor: &Actor,
        kind: &str,
        subject: &str,
        description: &str,
    ) -> Result<i64> {
        authz::authorize(actor, Action::OpenSupportCase)?;
        let institution_id = actor.institution_id.ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::OpenSupportCase,
            Owner::Institution(institution_id),
        )?;
        let pool = self.store.pool();
        let inst = haechi_store::get_institution(pool, institution_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let subject = subject.trim();
        let description = description.trim();
        let mut errors = Vec::new();
        if !CASE_KINDS.contains(&kind) {
            errors.push(FieldError::new("kind", "choose what the case is about"));
        }
        if subject.is_empty() {
            errors.push(FieldError::new("subject", "must not be empty"));
        } else if subject.chars().count() > 200 {
            errors.push(FieldError::new("subject", "must be 1-200 characters"));
        }
        if description.is_empty() {
            errors.push(FieldError::new("description", "must not be empty"));
        }
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        if !small_firm(inst.input.size_class, inst.input.sector) {
            return Err(ServiceError::rule(
                "not_small_firm",
                "the support center takes cases from small firms and fintechs",
            ));
        }
        let at = self.support_stamp();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_support_case(
                institution_id,
                kind,
                subject,
                description,
                &actor.username,
                "institution",
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "support.open",
            "support_case",
            &id.to_string(),
            Some(institution_id),
            None,
            Some(serde_json::json!({"kind": kind, "subject": subject, "status": "open"})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Cases the actor may see: a firm its own, the center and the regulator side all.
    pub async fn support_cases(&self, actor: &Actor) -> Result<Vec<SupportCaseRow>> {
        authz::authorize(actor, Action::ReadSupport)?;
        let whose = if actor.role.is_institution_role() {
            Some(actor.institution_id.ok_or(ServiceError::NotFound)?)
        } else {
            None
        };
        Ok(haechi_store::list_support_cases(self.store.pool(), whose).await?)
    }

    pub async fn support_case(&self, actor: &Actor, id: i64) -> Result<SupportCase> {
        authz::authorize(actor, Action::ReadSupport)?;
        let pool = self.store.pool();
        let row = haechi_store::get_support_case(pool, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ReadSupport,
            Owner::Institution(row.institution_id),
        )?;
        let events = haechi_store::support_case_events(pool, id).await?;
        Ok(SupportCase { row, events })
    }

    /// A step of a case by the center or by the firm; an illegal one is refused and changes
    /// nothing.
    pub async fn support_step(
        &self,
        actor: &Actor,
        id: i64,
        step: CaseStep,
        message: &str,
    ) -> Result<()> {
        let center = actor.role == Role::SupportCenter;
        let action = if center {
            Action::HandleSupport
        } else {
            Action::OpenSupportCase
        };
        authz::authorize(actor, action)?;
        let pool = self.store.pool();
        let row = haechi_store::get_support_case(pool, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(actor, action, Owner::Institution(row.institution_id))?;
        let message = message.trim();
        let Some((to, who)) = step.apply(&row.status) else {
            return Err(ServiceError::rule(
                "illegal_transition",
                format!("a case that is {} cannot be {}", row.status, step.as_str()),
            ));
        };
        if who.is_some_and(|c| c != center) {
            return Err(ServiceError::rule(
                "illegal_transition",
                format!(
                    "the {} takes this step",
                    if center { "firm" } else { "support center" }
                ),
            ));
        }
        if message.is_empty()
            && matches!(
                step,
                CaseStep::Answer | CaseStep::FollowUp | CaseStep::Comment
            )
        {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "message",
                "must not be empty",
            )]));
        }
        let at = self.support_stamp();
        let side = if center { "center" } else { "institution" };
        let mut tx = self.store.begin().await?;
        tx.move_support_case(id, &row.status, to, message, &actor.username, side, &at)
            .await
            .map_err(|e| match e {
                haechi_store::StoreError::NotFound => ServiceError::rule(
                    "illegal_transition",
                    "the case changed meanwhile; reload it",
                ),
                other => other.into(),
            })?;
        tx.audit(record(
            actor,
            &format!("support.{}", step.as_str()),
            "support_case",
            &id.to_string(),
            Some(row.institution_id),
            Some(serde_json::json!({"status": row.status})),
            Some(serde_json::json!({"status": to, "message": message})),
        ))
        .await?;
        tx.commit().await?;
        if center && step == CaseStep::Answer {
            self.mail_institution(
                row.institution_id,
                &format!("AI 보안지원센터 답변: {}", row.subject),
                &format!("The AI Security Support Center answered: {}", row.subject),
            )
            .await;
        }
        Ok(())
    }

    // ---------------------------------------------------------------- self-service

    /// Why the actor may use the findings intake and the patch queue (or why not). The
    /// regulator side and auditors read as the institution side; their own rules apply.
    pub async fn self_service(&self, actor: &Actor) -> Result<SelfService> {
        let Some(institution_id) = actor
            .institution_id
            .filter(|_| actor.role.is_institution_role())
        else {
            return Ok(SelfService::InstitutionSide);
        };
        let pool = self.store.pool();
        let inst = haechi_store::get_institution(pool, institution_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if !small_firm(inst.input.size_class, inst.input.sector) {
            return Ok(SelfService::InstitutionSide);
        }
        let scope = self.letter_scope(institution_id).await?;
        if let (Some(_), Some(n)) = (scope.letter_id, scope.letter_number) {
            return Ok(SelfService::Letter { letter_number: n });
        }
        if let Some((application_id, call_title, award_krw)) =
            haechi_store::has_funding_award(pool, institution_id).await?
        {
            return Ok(SelfService::Funded {
                application_id,
                call_title,
                award_krw,
            });
        }
        Ok(SelfService::Closed)
    }

    /// Refuses a small firm without a letter or a funding award the security-operations pages.
    pub(crate) async fn require_self_service(&self, actor: &Actor) -> Result<()> {
        if !actor.role.is_institution_role() {
            return Ok(());
        }
        if self.self_service(actor).await?.open() {
            return Ok(());
        }
        tracing::warn!(user = %actor.username, "refused: small firm without letter or funding");
        Err(ServiceError::Forbidden(SELF_SERVICE_REFUSAL))
    }
}

/// What a refused small firm is told (the portal words it in Korean too).
pub const SELF_SERVICE_REFUSAL: &str =
    "use the findings intake and patch queue: a small firm needs a no-action letter in force or a support-center funding award";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_steps_follow_the_lifecycle() {
        let all = [
            CaseStep::Triage,
            CaseStep::Answer,
            CaseStep::FollowUp,
            CaseStep::Close,
            CaseStep::Comment,
        ];
        let legal: Vec<(&str, &str, &str)> = ["open", "in_progress", "answered", "closed"]
            .iter()
            .flat_map(|from| {
                all.iter()
                    .filter_map(move |s| s.apply(from).map(|(to, _)| (*from, s.as_str(), to)))
            })
            .collect();
        assert_eq!(
            legal,
            vec![
                ("open", "triage", "in_progress"),
                ("open", "comment", "open"),
                ("in_progress", "answer", "answered"),
                ("in_progress", "comment", "in_progress"),
                ("answered", "follow_up", "in_progress"),
                ("answered", "close", "closed"),
                ("answered", "comment", "answered"),
            ]
        );
        for s in all {
            assert_eq!(CaseStep::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn files_are_checked_against_the_policy() {
        let limits = ReportAttachmentPolicy {
            max_bytes: 4,
            max_total_bytes: 6,
            content_types: vec!["application/pdf".into()],
        };
        let up = |name, ct, data| Upload {
            filename: name,
            content_type: ct,
            data,
        };
        let ok = check_file(
            &limits,
            up("C:\\x\\a.pdf", "Application/PDF; q=1", b"%PDF"),
            0,
        )
        .unwrap();
        assert_eq!(ok.filename, "a.pdf");
        assert_eq!(ok.content_type, "application/pdf");
        // sha256sum of the four bytes "%PDF".
        assert_eq!(
            ok.sha256,
            "315d429b7714cedb6ad04ac31240145257692630457f3c88253c5beceac76027"
        );
        let fields = |r: Result<CheckedFile>| -> Vec<String> {
            r.unwrap_err()
                .field_errors()
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect()
        };
        assert_eq!(
            fields(check_file(
                &limits,
                up("a.pdf", "application/pdf", b"%PDF1"),
                0
            )),
            vec!["file: is larger than the policy allows"]
        );
        assert_eq!(
            fields(check_file(
                &limits,
                up("a.pdf", "application/pdf", b"%PDF"),
                3
            )),
            vec!["file: would take the record's files past the policy's total"]
        );
        assert!(check_file(&limits, up("a.pdf", "application/pdf", b"%PDF"), 2).is_ok());
        assert_eq!(
            fields(check_file(
                &limits,
                up("a.exe", "application/x-msdownload", b"MZ"),
                0
            )),
            vec!["file: is not of a type the policy accepts"]
        );
        assert_eq!(
            fields(check_file(&limits, up("a.pdf", "application/pdf", b""), 0)),
            vec!["file: is empty"]
        );
        // A generic declared type is read from the name; a declared one is kept.
        assert_eq!(
            check_file(&limits, up("b.PDF", "application/octet-stream", b"%PDF"), 0)
                .unwrap()
                .content_type,
            "application/pdf"
        );
        assert_eq!(
            fields(check_file(
                &limits,
                up("b.bin", "application/octet-stream", b"%PDF"),
                0
            )),
            vec!["file: is not of a type the policy accepts"]
        );
    }
}
