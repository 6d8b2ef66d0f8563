//! C6 no-action letters and the C7 reporting schedule: drafting from a confirmed cohort, signing
//! and issuing, verification (public), revocation, renewal, expiry reminders, hand-over to the
//! full-removal track, and the obligations each letter creates with their states and the
//! compliance flags of overdue ones.

use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate};
use haechi_core::{Actor, Role};
use haechi_letter::{
    Condition, ConditionKind, Holder, Issuer, KeyRing, Keypair, LetterStatus, LocalizedText,
    NoActionLetter, PermittedScope, PermittedService, PublicKey, ReportKind, ReportingObligation,
    RevocationInfo, ServiceKind, SignedLetter,
};
use haechi_policy::reporting::{self, ObligationKind};
use haechi_store::{LetterRow, NewNotification, NotificationRow, ObligationRow, WriteTx};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::authz::{self, Action, Owner};
use crate::{record, Result, Service, ServiceError};

/// An obligation with its state as of today: `upcoming`, `due`, `overdue` (open ones, by date),
/// or the stored `submitted`, `accepted`, `returned`, `cancelled`.
#[derive(Debug, Clone, Serialize)]
pub struct ObligationView {
    #[serde(flatten)]
    pub row: ObligationRow,
    pub state: String,
    /// Past its due date and still owed ([`obligation_overdue`]): also a returned report.
    pub overdue: bool,
}

/// Whether an obligation is overdue on `today`: its report is still owed — never submitted
/// (`open`) or returned for correction (`returned`) — and its due date has passed. The one rule
/// behind every overdue count, list, badge and compliance flag.
pub fn obligation_overdue(row: &ObligationRow, today: NaiveDate) -> bool {
    matches!(row.status.as_str(), "open" | "returned")
        && NaiveDate::parse_from_str(row.due_on.get(..10).unwrap_or(&row.due_on), "%Y-%m-%d")
            .is_ok_and(|due| today > due)
}

/// An institution with overdue obligations, or with a security SaaS in its register that its
/// letter in force does not permit (or both).
#[derive(Debug, Clone, Serialize)]
pub struct ComplianceFlag {
    pub institution_id: i64,
    pub institution_name: String,
    pub overdue: usize,
    /// The oldest due date among the overdue obligations (empty when none is overdue).
    pub oldest_due_on: String,
    /// Registered security SaaS products the letter in force does not list.
    pub unpermitted_saas: Vec<String>,
    /// The letter in force those are checked against.
    pub letter_number: Option<String>,
    pub reason_ko: String,
    pub reason_en: String,
}

/// What a verification found, for the CLI, the API and the public page.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LetterCheck {
    /// `valid`, `expired`, `not_yet_valid`, `revoked`, `altered`, `unknown_key`, `malformed`,
    /// `unknown_letter`.
    pub outcome: String,
    pub reason: String,
    pub letter_number: Option<String>,
    pub holder_ko: Option<String>,
    pub holder_en: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub key_id: Option<String>,
}

impl LetterCheck {
    pub fn is_valid(&self) -> bool {
        self.outcome == "valid"
    }

    fn failed(outcome: &str, reason: String) -> LetterCheck {
        LetterCheck {
            outcome: outcome.into(),
            reason,
            letter_number: None,
            holder_ko: None,
            holder_en: None,
            valid_from: None,
            valid_until: None,
            key_id: None,
        }
    }
}

/// Verifies letter file bytes against a key ring, then decides its status for `today` with the
/// revocation (if any) known to the caller. Pure: used offline by the CLI too.
pub fn check_letter(
    bytes: &[u8],
    ring: &KeyRing,
    today: NaiveDate,
    revocation: Option<&RevocationInfo>,
) -> LetterCheck {
    let verified = match haechi_letter::verify(bytes, ring) {
        Ok(v) => v,
        Err(e) => {
            let outcome = match e.code() {
                "letter.bad_signature" => "altered",
                "letter.unknown_key" => "unknown_key",
                _ => "malformed",
            };
            return LetterCheck::failed(outcome, e.to_string());
        }
    };
    let status = haechi_letter::status(&verified, today, revocation);
    let l = verified.letter();
    LetterCheck {
        outcome: match &status {
            LetterStatus::Valid { .. } => "valid",
            LetterStatus::Expired { .. } => "expired",
            LetterStatus::NotYetValid { .. } => "not_yet_valid",
            LetterStatus::Revoked { .. } => "revoked",
        }
        .into(),
        reason: status.reason(),
        letter_number: Some(l.letter_number.clone()),
        holder_ko: Some(l.holder.name.ko.clone()),
        holder_en: Some(l.holder.name.en.clone()),
        valid_from: Some(l.valid_from),
        valid_until: Some(l.valid_until),
        key_id: Some(verified.key_id().to_string()),
    }
}

fn text(ko: &str, en: &str) -> LocalizedText {
    LocalizedText {
        ko: ko.into(),
        en: en.into(),
    }
}

fn parse_date(s: Option<&str>) -> Option<NaiveDate> {
    s.and_then(|s| NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok())
}

fn obligation_state(row: &ObligationRow, today: NaiveDate) -> String {
    if row.status != "open" {
        return row.status.clone();
    }
    let parse = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or(NaiveDate::MAX);
    if obligation_overdue(row, today) {
        "overdue".into()
    } else if today > parse(&row.period_end) {
        "due".into()
    } else {
        "upcoming".into()
    }
}

/// The letter, when it is in `state`; otherwise `illegal_transition` saying what `only` may be.
async fn letter_in_state(
    tx: &mut WriteTx,
    letter_id: i64,
    state: &str,
    only: &str,
) -> Result<LetterRow> {
    let row = haechi_store::get_letter(tx.conn(), letter_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if row.state != state {
        return Err(ServiceError::rule(
            "illegal_transition",
            format!("only {only}; this one is {}", row.state),
        ));
    }
    Ok(row)
}

/// The first day a renewal of `row` may be drafted under `policy` (`None` when the letter has no
/// end date on record).
pub fn renewal_opens_on(policy: &haechi_policy::Policy, row: &LetterRow) -> Option<NaiveDate> {
    parse_date(row.valid_until.as_deref())
        .map(|until| haechi_policy::program::renewal_opens(policy, until))
}

impl Service {
    /// Installs the regulator's signing key and publishes its public part in the database, so
    /// every node can verify letters signed with it (and with every earlier key).
    pub async fn with_signer(mut self, key: Keypair) -> Result<Service> {
        let public = key.public_key();
        let pem = public
            .to_pem()
            .map_err(|e| ServiceError::rule("key_error", e.to_string()))?;
        let mut tx = self.store.begin().await?;
        if tx.insert_signing_key(&key.key_id(), &pem).await? {
            tx.audit(record(
                &Actor::system(),
                "letter.key_added",
                "signing_key",
                &key.key_id(),
                None,
                None,
                Some(serde_json::json!({"key_id": key.key_id()})),
            ))
            .await?;
        }
        tx.commit().await?;
        self.signer = Some(Arc::new(key));
        Ok(self)
    }

    /// Every public key that ever signed a letter here (rotation keeps old letters verifiable).
    pub async fn key_ring(&self) -> Result<KeyRing> {
        let mut ring = KeyRing::new();
        for (_, pem) in haechi_store::signing_keys(self.store.pool()).await? {
            ring.add(
                PublicKey::from_pem(&pem)
                    .map_err(|e| ServiceError::rule("key_error", e.to_string()))?,
            );
        }
        Ok(ring)
    }

    /// The key ring as a PEM bundle, for the well-known URL (public).
    pub async fn public_keys_pem(&self) -> Result<String> {
        self.key_ring()
            .await?
            .to_pem_bundle()
            .map_err(|e| ServiceError::rule("key_error", e.to_string()))
    }

    /// Drafts a letter for each member of a confirmed cohort that has none yet. Called when the
    /// officer confirms a cohort; returns the new draft ids.
    pub(crate) async fn draft_letters_in(
        &self,
        tx: &mut WriteTx,
        actor: &Actor,
        phase_id: &str,
        members: &[i64],
    ) -> Result<Vec<i64>> {
        let mut ids = Vec::new();
        for app_id in members {
            let existing = haechi_store::list_letters(tx.conn(), None).await?;
            if existing.iter().any(|l| l.application_id == *app_id) {
                continue;
            }
            let app = haechi_store::get_application(tx.conn(), *app_id)
                .await?
                .ok_or(ServiceError::NotFound)?;
            let draft = serde_json::json!({"application_id": app.id});
            let id = tx
                .insert_letter_draft(
                    app.id,
                    app.institution_id,
                    Some(phase_id),
                    &draft.to_string(),
                    None,
                )
                .await?;
            tx.audit(record(
                actor,
                "letter.draft",
                "letter",
                &id.to_string(),
                Some(app.institution_id),
                None,
                Some(serde_json::json!({"application_id": app.id, "phase": phase_id})),
            ))
            .await?;
            ids.push(id);
        }
        Ok(ids)
    }

    /// Builds the letter document for a draft as it would be issued today.
    async fn compose(
        &self,
        tx: &mut WriteTx,
        row: &LetterRow,
        number: &str,
        issued_on: NaiveDate,
    ) -> Result<(NoActionLetter, Vec<reporting::Obligation>)> {
        let policy = self.policy_in(tx).await?;
        let app = haechi_store::get_application(tx.conn(), row.application_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let inst = haechi_store::get_institution(tx.conn(), row.institution_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let renewed = match row.renews_letter_id {
            Some(old) => haechi_store::get_letter(tx.conn(), old).await?,
            None => None,
        };
        // A renewal takes over the day after the letter it renews ends: the two never overlap.
        let valid_from = match renewed
            .as_ref()
            .and_then(|l| parse_date(l.valid_until.as_deref()))
        {
            Some(until) => haechi_policy::program::renewal_starts(until, issued_on),
            None => issued_on,
        };
        let valid_until = haechi_policy::program::letter_expiry(&policy, valid_from);
        let schedule = reporting::schedule(&policy, valid_from, valid_until)
            .map_err(|e| ServiceError::rule(e.code(), e.to_string()))?;
        let renews = renewed.and_then(|l| l.letter_number);
        let mut conditions = vec![
            Condition { kind: ConditionKind::InternalControl, text: text(&format!("신청서에 기재한 내부통제 방안을 유지한다: {}", app.content.internal_controls), &format!("Maintain the internal-control measures stated in the application: {}", app.content.internal_controls)) },
            Condition { kind: ConditionKind::CertifiedServicesOnly, text: text("인증을 받은 고성능 AI·보안 SaaS만 이용하며, 허용된 데이터 등급 외의 정보는 전송하지 않는다.", "Use only the certified AI services and security SaaS listed here, and send them no data outside the permitted classes.") },
            Condition { kind: ConditionKind::ReportingDuty, text: text("AI 취약점 점검 결과, 공격적 활용 시 위험, 효과적인 방어 방법을 정해진 일정에 따라 보고한다.", "Report the AI vulnerability-testing results, the risks if such AI were used offensively, and the defences that worked, on the schedule below.") },
            Condition { kind: ConditionKind::SupplementarySecurity, text: text("망분리 완화를 보완하는 보안 규율을 준수한다.", "Comply with the supplementary security discipline that compensates for the relaxed separation.") },
        ];
        if app.content.internal_controls.trim().is_empty() {
            conditions.remove(0);
        }
        let letter = NoActionLetter {
            schema: haechi_letter::SCHEMA_V1.into(),
            letter_number: number.into(),
            issuer: Issuer { id: "FSC".into(), name: text("금융위원회", "Financial Services Commission") },
            holder: Holder { institution_id: inst.input.code.clone(), name: text(&inst.input.name_ko, &inst.input.name_en) },
            issued_on,
            valid_from,
            valid_until,
            scope: PermittedScope {
                services: app
                    .content
                    .services
                    .iter()
                    .map(|s| PermittedService {
                        kind: if s.kind == "saas" { ServiceKind::SaasProduct } else { ServiceKind::AiService },
                        name: s.name.clone(),
                        vendor: s.vendor.clone(),
                        certifications: s.certifications.clone(),
                        data_classes: s.data_classes.clone(),
                    })
                    .collect(),
            },
            conditions,
            // Every obligation issuing creates is printed: the schedule is the letter's promise.
            reporting: schedule
                .iter()
                .map(|o| ReportingObligation {
                    kind: match o.kind {
                        ObligationKind::QuarterlyReport => ReportKind::Periodic,
                        ObligationKind::FinalReport => ReportKind::Final,
                        ObligationKind::SaasSelfEvaluation => ReportKind::SaasSelfEvaluation,
                    },
                    period_start: o.period_start,
                    period_end: o.period_end,
                    due_on: o.due,
                })
                .collect(),
            legal_basis: text(
                "전자금융감독규정 제15조(망분리)에 대한 비조치의견. 금융위원회 고성능 AI 보안위협 대응 방안(2026. 5.)에 따른 보안목적 AI·SaaS 활용 테스트.",
                "No-action opinion on art. 15 (network separation) of the Electronic Financial Supervisory Regulation, under the FSC measures against high-performance AI security threats (May 2026): security-purpose AI and SaaS utilisation test.",
            ),
            renews,
            policy_version: u32::try_from(policy.version).unwrap_or(0),
        };
        Ok((letter, schedule))
    }

    /// The content of a letter: what was signed for an issued one, or, for a draft, the letter
    /// as it would be issued today (its number is assigned at issue), for the officer's review.
    pub async fn letter_content(&self, actor: &Actor, letter_id: i64) -> Result<NoActionLetter> {
        let row = self.get_letter(actor, letter_id).await?;
        if row.state != "draft" {
            return serde_json::from_str(&row.draft_json)
                .map_err(|e| ServiceError::rule("corrupt_letter", e.to_string()));
        }
        // A write transaction gives the same view issuing would have; it is rolled back.
        let mut tx = self.store.begin().await?;
        let (letter, _) = self
            .compose(&mut tx, &row, "(assigned at issue)", self.today())
            .await?;
        Ok(letter)
    }

    /// Signs and issues a drafted letter: assigns its number, stores the signed file, creates
    /// its reporting obligations, and notifies the holder.
    pub async fn issue_letter(&self, actor: &Actor, letter_id: i64) -> Result<LetterRow> {
        authz::authorize(actor, Action::ManageLetters)?;
        let signer = self.signer.clone().ok_or_else(|| {
            ServiceError::rule(
                "no_signing_key",
                "this node has no letter-signing key configured",
            )
        })?;
        let mut tx = self.store.begin().await?;
        let row =
            letter_in_state(&mut tx, letter_id, "draft", "a draft letter can be issued").await?;
        let policy = self.policy_in(&mut tx).await?;
        let issued_on = self.today();
        let seq = tx.next_letter_seq(i64::from(issued_on.year())).await?;
        let number = haechi_policy::program::format_letter_number(
            &policy,
            issued_on.year(),
            u32::try_from(seq).unwrap_or(u32::MAX),
        );
        let (letter, schedule) = self.compose(&mut tx, &row, &number, issued_on).await?;
        let signed = haechi_letter::sign(&letter, &signer)
            .map_err(|e| ServiceError::rule(e.code(), e.to_string()))?;
        let file = signed
            .to_file_bytes()
            .map_err(|e| ServiceError::rule(e.code(), e.to_string()))?;
        let file_text = String::from_utf8(file)
            .map_err(|e| ServiceError::rule("letter_encoding", e.to_string()))?;
        let sha = hex::encode(Sha256::digest(file_text.as_bytes()));
        let letter_json = serde_json::to_string(&letter)
            .map_err(|e| ServiceError::rule("letter_encoding", e.to_string()))?;
        tx.issue_letter(
            letter_id,
            &number,
            &letter_json,
            &file_text,
            &sha,
            &signer.key_id(),
            &issued_on.to_string(),
            &letter.valid_until.to_string(),
        )
        .await?;
        for o in &schedule {
            let kind = match o.kind {
                ObligationKind::QuarterlyReport => "quarterly_report",
                ObligationKind::FinalReport => "final_report",
                ObligationKind::SaasSelfEvaluation => "saas_self_evaluation",
            };
            tx.insert_obligation(
                letter_id,
                row.institution_id,
                kind,
                i64::from(o.sequence),
                &o.period_start.to_string(),
                &o.period_end.to_string(),
                &o.due.to_string(),
            )
            .await?;
        }
        let subject_ko = format!(
            "비조치의견서 {number}가 발급되었습니다 (유효기간 {} ~ {}).",
            letter.valid_from, letter.valid_until
        );
        let subject_en = format!(
            "No-action letter {number} was issued (valid {} to {}).",
            letter.valid_from, letter.valid_until
        );
        tx.notify(&NewNotification {
            institution_id: Some(row.institution_id),
            audience: "institution",
            kind: "letter_issued",
            subject_ko: subject_ko.clone(),
            subject_en: subject_en.clone(),
            letter_id: Some(letter_id),
            dedupe_key: format!("issued:{letter_id}"),
            at: self.clock_text(),
        })
        .await?;
        tx.audit(record(
            actor,
            "letter.issue",
            "letter",
            &letter_id.to_string(),
            Some(row.institution_id),
            Some(serde_json::json!({"state": "draft"})),
            Some(serde_json::json!({"state": "issued", "letter_number": number, "sha256": sha, "key_id": signer.key_id(), "valid_until": letter.valid_until, "obligations": schedule.len(), "policy_version": policy.version})),
        ))
        .await?;
        let out = haechi_store::get_letter(tx.conn(), letter_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        self.mail_institution(row.institution_id, &subject_ko, &subject_en)
            .await;
        Ok(out)
    }

    /// Revokes an issued letter with a reason; its open obligations are cancelled and the holder
    /// is notified. Verification then answers "revoked".
    pub async fn revoke_letter(
        &self,
        actor: &Actor,
        letter_id: i64,
        reason: &str,
    ) -> Result<LetterRow> {
        authz::authorize(actor, Action::ManageLetters)?;
        let reason = reason.trim();
        if reason.len() < 5 {
            return Err(ServiceError::invalid(vec![haechi_core::FieldError::new(
                "reason",
                "say why the letter is revoked",
            )]));
        }
        let mut tx = self.store.begin().await?;
        let row = letter_in_state(
            &mut tx,
            letter_id,
            "issued",
            "an issued letter can be revoked",
        )
        .await?;
        let today = self.today().to_string();
        tx.revoke_letter(letter_id, &today, reason, &actor.username)
            .await?;
        let cancelled = tx.cancel_open_obligations(letter_id).await?;
        let number = row.letter_number.clone().unwrap_or_default();
        let subject_ko = format!("비조치의견서 {number}가 취소되었습니다. 사유: {reason}");
        let subject_en = format!("No-action letter {number} was revoked. Reason: {reason}");
        tx.notify(&NewNotification {
            institution_id: Some(row.institution_id),
            audience: "institution",
            kind: "letter_revoked",
            subject_ko: subject_ko.clone(),
            subject_en: subject_en.clone(),
            letter_id: Some(letter_id),
            dedupe_key: format!("revoked:{letter_id}"),
            at: self.clock_text(),
        })
        .await?;
        tx.audit(record(actor, "letter.revoke", "letter", &letter_id.to_string(), Some(row.institution_id), Some(serde_json::json!({"state": "issued"})), Some(serde_json::json!({"state": "revoked", "reason": reason, "obligations_cancelled": cancelled})))).await?;
        let out = haechi_store::get_letter(tx.conn(), letter_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        self.mail_institution(row.institution_id, &subject_ko, &subject_en)
            .await;
        Ok(out)
    }

    /// Drafts a renewal of an issued (or expired) letter; the new letter references the old one.
    pub async fn renew_letter(&self, actor: &Actor, letter_id: i64) -> Result<LetterRow> {
        authz::authorize(actor, Action::ManageLetters)?;
        let mut tx = self.store.begin().await?;
        let row = letter_in_state(
            &mut tx,
            letter_id,
            "issued",
            "an issued letter can be renewed",
        )
        .await?;
        if haechi_store::list_letters(tx.conn(), Some(row.institution_id))
            .await?
            .iter()
            .any(|l| l.renews_letter_id == Some(letter_id))
        {
            return Err(ServiceError::rule(
                "already_renewed",
                "a renewal of this letter already exists",
            ));
        }
        let policy = self.policy_in(&mut tx).await?;
        if let Some(opens) = renewal_opens_on(&policy, &row) {
            if self.today() < opens {
                return Err(ServiceError::rule(
                    "renewal_not_open",
                    format!(
                        "renewal opens {} days before the letter ends, on {opens}",
                        policy.program.renewal_window_days
                    ),
                ));
            }
        }
        let id = tx
            .insert_letter_draft(
                row.application_id,
                row.institution_id,
                row.phase_id.as_deref(),
                "{}",
                Some(letter_id),
            )
            .await?;
        tx.audit(record(
            actor,
            "letter.renew",
            "letter",
            &id.to_string(),
            Some(row.institution_id),
            None,
            Some(serde_json::json!({"renews": row.letter_number})),
        ))
        .await?;
        let out = haechi_store::get_letter(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(out)
    }

    /// Hands a letter holder over to the full-removal candidate list (C14).
    pub async fn hand_over_to_full_removal(
        &self,
        actor: &Actor,
        letter_id: i64,
        note: &str,
    ) -> Result<()> {
        authz::authorize(actor, Action::ManageLetters)?;
        if note.trim().is_empty() {
            return Err(ServiceError::invalid(vec![haechi_core::FieldError::new(
                "note",
                "say why the holder is handed over",
            )]));
        }
        let mut tx = self.store.begin().await?;
        let row = haechi_store::get_letter(tx.conn(), letter_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if row.state != "issued" {
            return Err(ServiceError::rule(
                "illegal_transition",
                "only the holder of an issued letter can be handed over",
            ));
        }
        tx.insert_removal_candidate(row.institution_id, letter_id, note, &actor.username)
            .await?;
        tx.audit(record(
            actor,
            "letter.hand_over",
            "letter",
            &letter_id.to_string(),
            Some(row.institution_id),
            None,
            Some(serde_json::json!({"note": note})),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The hand-over of the letter's holder to the full-removal track, if it was handed over with
    /// this letter: the note and when. Regulator roles only (it is the regulator's list).
    pub async fn hand_over_of(
        &self,
        actor: &Actor,
        letter_id: i64,
    ) -> Result<Option<(String, String)>> {
        authz::authorize(actor, Action::ReadProgram)?;
        Ok(haechi_store::removal_candidates(self.store.pool())
            .await?
            .into_iter()
            .find(|(_, letter, _, _)| *letter == letter_id)
            .map(|(_, _, note, at)| (note, at)))
    }

    pub async fn list_letters(&self, actor: &Actor) -> Result<Vec<LetterRow>> {
        authz::authorize(actor, Action::ReadLetters)?;
        let scope = if actor.role.is_institution_role() {
            Some(actor.institution_id.unwrap_or(-1))
        } else {
            None
        };
        let mut rows = haechi_store::list_letters(self.store.pool(), scope).await?;
        if actor.role.is_institution_role() {
            rows.retain(|l| l.state != "draft");
        }
        Ok(rows)
    }

    pub async fn get_letter(&self, actor: &Actor, letter_id: i64) -> Result<LetterRow> {
        authz::authorize(actor, Action::ReadLetters)?;
        let row = haechi_store::get_letter(self.store.pool(), letter_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ReadLetters,
            Owner::Institution(row.institution_id),
        )?;
        if actor.role.is_institution_role() && row.state == "draft" {
            return Err(ServiceError::NotFound);
        }
        Ok(row)
    }

    /// The signed letter of an issued (or revoked) letter.
    pub async fn signed_letter(
        &self,
        actor: &Actor,
        letter_id: i64,
    ) -> Result<(LetterRow, SignedLetter, String)> {
        let row = self.get_letter(actor, letter_id).await?;
        let file = row
            .signed_file
            .clone()
            .ok_or_else(|| ServiceError::rule("not_issued", "the letter is not issued yet"))?;
        let signed: SignedLetter = serde_json::from_str(&file)
            .map_err(|e| ServiceError::rule("corrupt_letter", e.to_string()))?;
        Ok((row, signed, file))
    }

    /// Verifies a letter file against the published keys and this instance's revocations. Public.
    pub async fn verify_letter_file(&self, bytes: &[u8]) -> Result<LetterCheck> {
        let ring = self.key_ring().await?;
        let number = serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| v["letter"]["letter_number"].as_str().map(str::to_string));
        let revocation = match number {
            Some(n) => self.revocation_of(&n).await?,
            None => None,
        };
        Ok(check_letter(
            bytes,
            &ring,
            self.today(),
            revocation.as_ref(),
        ))
    }

    /// Verifies a letter known by its number. Public.
    pub async fn verify_letter_number(&self, number: &str) -> Result<LetterCheck> {
        let Some(row) =
            haechi_store::get_letter_by_number(self.store.pool(), number.trim()).await?
        else {
            return Ok(LetterCheck::failed(
                "unknown_letter",
                format!("no letter numbered '{}' was issued here", number.trim()),
            ));
        };
        let file = row.signed_file.unwrap_or_default();
        self.verify_letter_file(file.as_bytes()).await
    }

    async fn revocation_of(&self, number: &str) -> Result<Option<RevocationInfo>> {
        let row = haechi_store::get_letter_by_number(self.store.pool(), number).await?;
        Ok(row.and_then(|r| match (r.revoked_on, r.revoked_reason) {
            (Some(on), Some(reason)) => {
                NaiveDate::parse_from_str(&on, "%Y-%m-%d")
                    .ok()
                    .map(|effective_on| RevocationInfo {
                        letter_number: number.to_string(),
                        effective_on,
                        reason,
                    })
            }
            _ => None,
        }))
    }

    /// Obligations with their state as of today (an institution sees only its own).
    pub async fn obligations(
        &self,
        actor: &Actor,
        letter_id: Option<i64>,
    ) -> Result<Vec<ObligationView>> {
        authz::authorize(actor, Action::ReadLetters)?;
        let scope = if actor.role.is_institution_role() {
            Some(actor.institution_id.unwrap_or(-1))
        } else {
            None
        };
        self.obligation_views(scope, letter_id).await
    }

    /// Obligations (of one institution, or all; of one letter, or all) with their state as of
    /// today. Reads only; the caller has authorised.
    pub(crate) async fn obligation_views(
        &self,
        institution_id: Option<i64>,
        letter_id: Option<i64>,
    ) -> Result<Vec<ObligationView>> {
        let today = self.today();
        Ok(
            haechi_store::list_obligations(self.store.pool(), institution_id, letter_id)
                .await?
                .into_iter()
                .map(|row| ObligationView {
                    state: obligation_state(&row, today),
                    overdue: obligation_overdue(&row, today),
                    row,
                })
                .collect(),
        )
    }

    /// Institutions with overdue obligations.
    pub async fn compliance_flags(&self, actor: &Actor) -> Result<Vec<ComplianceFlag>> {
        authz::authorize(actor, Action::ReadProgram)?;
        let mut flags: Vec<ComplianceFlag> = Vec::new();
        for o in self
            .obligations(actor, None)
            .await?
            .into_iter()
            .filter(|o| o.overdue)
        {
            match flags
                .iter_mut()
                .find(|f| f.institution_id == o.row.institution_id)
            {
                Some(f) => {
                    f.overdue += 1;
                    if o.row.due_on < f.oldest_due_on {
                        f.oldest_due_on = o.row.due_on.clone();
                    }
                }
                None => flags.push(ComplianceFlag {
                    institution_id: o.row.institution_id,
                    institution_name: o.row.institution_name.clone(),
                    overdue: 1,
                    oldest_due_on: o.row.due_on.clone(),
                    unpermitted_saas: Vec::new(),
                    letter_number: None,
                    reason_ko: String::new(),
                    reason_en: String::new(),
                }),
            }
        }
        // Security SaaS the holder's letter in force does not permit (an institution without a
        // letter in force is not under relief: its register is not checked here).
        let pool = self.store.pool();
        let mut saas_by_inst: Vec<(i64, Vec<String>)> = Vec::new();
        for s in haechi_store::list_all_saas(pool).await? {
            match saas_by_inst.last_mut() {
                Some((id, names)) if *id == s.institution_id => names.push(s.product),
                _ => saas_by_inst.push((s.institution_id, vec![s.product])),
            }
        }
        for (inst, products) in saas_by_inst {
            let scope = self.letter_scope(inst).await?;
            if scope.letter_id.is_none() {
                continue;
            }
            let unpermitted: Vec<String> = products
                .into_iter()
                .filter(|p| !scope.permission(p).permitted)
                .collect();
            if unpermitted.is_empty() {
                continue;
            }
            let flag = match flags.iter_mut().position(|f| f.institution_id == inst) {
                Some(i) => &mut flags[i],
                None => {
                    let name = haechi_store::get_institution(pool, inst)
                        .await?
                        .map(|i| i.input.name_ko)
                        .unwrap_or_default();
                    flags.push(ComplianceFlag {
                        institution_id: inst,
                        institution_name: name,
                        overdue: 0,
                        oldest_due_on: String::new(),
                        unpermitted_saas: Vec::new(),
                        letter_number: None,
                        reason_ko: String::new(),
                        reason_en: String::new(),
                    });
                    let last = flags.len() - 1;
                    &mut flags[last]
                }
            };
            flag.unpermitted_saas = unpermitted;
            flag.letter_number = scope.letter_number;
        }
        for f in &mut flags {
            let mut ko = Vec::new();
            let mut en = Vec::new();
            if f.overdue > 0 {
                ko.push(format!(
                    "기한이 지난 미제출 의무 {}건 (가장 오래된 기한 {})",
                    f.overdue, f.oldest_due_on
                ));
                en.push(format!(
                    "{} obligation(s) overdue (oldest due {})",
                    f.overdue, f.oldest_due_on
                ));
            }
            if !f.unpermitted_saas.is_empty() {
                let number = f.letter_number.as_deref().unwrap_or("");
                ko.push(format!(
                    "비조치의견서({number})에서 허용하지 않은 보안 SaaS 이용: {}",
                    f.unpermitted_saas.join(", ")
                ));
                en.push(format!(
                    "security SaaS not permitted by letter {number}: {}",
                    f.unpermitted_saas.join(", ")
                ));
            }
            f.reason_ko = ko.join("; ");
            f.reason_en = en.join("; ");
        }
        Ok(flags)
    }

    /// The CISO submits an obligation (the report content itself is a later feature).
    pub async fn submit_obligation(
        &self,
        actor: &Actor,
        obligation_id: i64,
        note: Option<&str>,
    ) -> Result<()> {
        self.move_obligation(
            actor,
            obligation_id,
            Action::SignApplication,
            &["open", "returned"],
            "submitted",
            note,
        )
        .await
    }

    /// The officer accepts or returns a submitted obligation.
    pub async fn decide_obligation(
        &self,
        actor: &Actor,
        obligation_id: i64,
        accept: bool,
        note: Option<&str>,
    ) -> Result<()> {
        if !accept && note.is_none_or(|n| n.trim().is_empty()) {
            return Err(ServiceError::invalid(vec![haechi_core::FieldError::new(
                "note",
                "say why it is returned",
            )]));
        }
        self.move_obligation(
            actor,
            obligation_id,
            Action::ManageLetters,
            &["submitted"],
            if accept { "accepted" } else { "returned" },
            note,
        )
        .await
    }

    async fn move_obligation(
        &self,
        actor: &Actor,
        obligation_id: i64,
        action: Action,
        from: &[&str],
        to: &str,
        note: Option<&str>,
    ) -> Result<()> {
        authz::authorize(actor, action)?;
        let mut tx = self.store.begin().await?;
        let all = haechi_store::list_obligations(tx.conn(), None, None).await?;
        let o = all
            .into_iter()
            .find(|o| o.id == obligation_id)
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(actor, action, Owner::Institution(o.institution_id))?;
        if !from.contains(&o.status.as_str()) {
            return Err(ServiceError::rule(
                "illegal_transition",
                format!("cannot move an obligation that is {} to {to}", o.status),
            ));
        }
        let at = self.clock_text().unwrap_or_else(haechi_store::now_text);
        tx.set_obligation_status(obligation_id, from, to, note, &at)
            .await?;
        tx.audit(record(
            actor,
            &format!("obligation.{to}"),
            "obligation",
            &obligation_id.to_string(),
            Some(o.institution_id),
            Some(serde_json::json!({"status": o.status})),
            Some(serde_json::json!({"status": to, "note": note})),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes the expiry reminders due by today (policy offsets, e.g. 60/30/7 days), once each,
    /// for the holder and for the regulator. Returns how many were written. Safe to run often.
    pub async fn run_expiry_reminders(&self) -> Result<usize> {
        let policy = self.policy();
        let today = self.today();
        let mut tx = self.store.begin().await?;
        let mut written = 0;
        let mut mails = Vec::new();
        for l in haechi_store::list_letters(tx.conn(), None)
            .await?
            .into_iter()
            .filter(|l| l.state == "issued")
        {
            let Some(until) = l
                .valid_until
                .as_deref()
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            else {
                continue;
            };
            if until < today {
                continue;
            }
            let number = l.letter_number.clone().unwrap_or_default();
            for days in &policy.program.expiry_reminder_days {
                let on = until - Duration::days(i64::from(*days));
                if on > today {
                    continue;
                }
                let subject_ko = format!(
                    "{} 비조치의견서 {number}가 {until}에 만료됩니다 ({days}일 전 알림).",
                    l.institution_name
                );
                let subject_en = format!(
                    "No-action letter {number} of {} expires on {until} ({days}-day reminder).",
                    l.institution_name
                );
                for audience in ["institution", "regulator"] {
                    let new = tx
                        .notify(&NewNotification {
                            institution_id: Some(l.institution_id),
                            audience,
                            kind: "letter_expiry",
                            subject_ko: subject_ko.clone(),
                            subject_en: subject_en.clone(),
                            letter_id: Some(l.id),
                            dedupe_key: format!("expiry:{}:{days}:{audience}", l.id),
                            at: None,
                        })
                        .await?;
                    written += usize::from(new);
                    if new && audience == "institution" {
                        mails.push((l.institution_id, subject_ko.clone(), subject_en.clone()));
                    }
                }
            }
        }
        if written > 0 {
            tx.audit(record(
                &Actor::system(),
                "letter.reminders",
                "letter",
                "*",
                None,
                None,
                Some(serde_json::json!({"written": written, "as_of": today})),
            ))
            .await?;
        }
        tx.commit().await?;
        for (institution_id, ko, en) in mails {
            self.mail_institution(institution_id, &ko, &en).await;
        }
        Ok(written)
    }

    /// The actor's notifications: their institution's, or the regulator side's.
    pub async fn notifications(&self, actor: &Actor) -> Result<Vec<NotificationRow>> {
        let scope = match actor.role {
            r if r.is_institution_role() => Some(actor.institution_id.unwrap_or(-1)),
            Role::RegulatorAdmin | Role::RegulatorOfficer | Role::Auditor => None,
            _ => return Ok(Vec::new()),
        };
        Ok(haechi_store::list_notifications(self.store.pool(), scope).await?)
    }
}
