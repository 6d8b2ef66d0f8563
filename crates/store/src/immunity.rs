//! C8 persistence: disruption reports, the versions of their immunity review, incidents under
//! the ordinary reporting clock and the reports filed against it (migration 0015). A filed
//! disruption report never changes; a review version changes once, when the committee decides.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::{Result, StoreError, WriteTx};

/// A filed disruption report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DisruptionRow {
    pub id: i64,
    pub institution_id: i64,
    pub institution_name: String,
    /// `ai_security_test` or `emergency_patch`.
    pub activity: String,
    pub patch_id: Option<i64>,
    pub import_id: Option<i64>,
    pub advisory_id: Option<i64>,
    pub title: String,
    pub started_at: String,
    pub detected_at: String,
    pub recovered_at: Option<String>,
    pub outage_minutes: i64,
    pub affected_services: String,
    pub affected_subscribers: i64,
    pub financial_damage_krw: i64,
    pub leaked_records: i64,
    pub credit_info_leaked: bool,
    pub intent: bool,
    /// The work plan beforehand and the measures afterwards (JSON of the immunity facts' flags).
    pub safeguards_json: String,
    pub recovery_actions: String,
    pub consumer_actions: String,
    pub filed_by: String,
    pub filed_at: String,
}

/// What a new disruption report stores.
#[derive(Debug, Clone)]
pub struct NewDisruption<'a> {
    pub institution_id: i64,
    pub activity: &'a str,
    pub patch_id: Option<i64>,
    pub import_id: Option<i64>,
    pub advisory_id: Option<i64>,
    pub title: &'a str,
    pub started_at: &'a str,
    pub detected_at: &'a str,
    pub recovered_at: Option<&'a str>,
    pub outage_minutes: i64,
    pub affected_services: &'a str,
    pub affected_subscribers: i64,
    pub financial_damage_krw: i64,
    pub leaked_records: i64,
    pub credit_info_leaked: bool,
    pub intent: bool,
    pub safeguards_json: &'a str,
    pub recovery_actions: &'a str,
    pub consumer_actions: &'a str,
    pub by: &'a str,
    pub at: &'a str,
}

/// One version of a report's immunity review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImmunityReviewRow {
    pub id: i64,
    pub report_id: i64,
    pub version: i64,
    /// The policy engine's decision (JSON of `haechi_policy::immunity::ImmunityDecision`).
    pub evaluation_json: String,
    pub eligible: bool,
    pub policy_version: i64,
    /// `pending`, `granted` or `refused`.
    pub state: String,
    pub requested_by: String,
    pub requested_at: String,
    pub appeal_reason: Option<String>,
    pub rationale: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

/// An incident under the reporting clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentRow {
    pub id: i64,
    pub institution_id: i64,
    pub institution_name: String,
    /// `disruption` or `data_breach`.
    pub kind: String,
    pub disruption_id: Option<i64>,
    pub letter_id: Option<i64>,
    pub title: String,
    pub description: String,
    pub aware_at: String,
    /// Why it is reportable (JSON of `haechi_policy::incident::Reportability`).
    pub trigger_json: String,
    pub initial_due: String,
    pub first_interim_due: String,
    pub interim_every_months: i64,
    pub policy_version: i64,
    pub closed_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
}

/// What a new incident stores.
#[derive(Debug, Clone)]
pub struct NewIncident<'a> {
    pub institution_id: i64,
    pub kind: &'a str,
    pub disruption_id: Option<i64>,
    pub letter_id: Option<i64>,
    pub title: &'a str,
    pub description: &'a str,
    pub aware_at: &'a str,
    pub trigger_json: &'a str,
    pub initial_due: &'a str,
    pub first_interim_due: &'a str,
    pub interim_every_months: i64,
    pub policy_version: i64,
    pub by: &'a str,
    pub at: &'a str,
}

/// A report filed against an incident's clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentReportRow {
    pub id: i64,
    pub incident_id: i64,
    /// `initial`, `interim` or `final`.
    pub kind: String,
    /// 1 for the first of its kind.
    pub sequence: i64,
    pub body: String,
    pub filed_by: String,
    pub filed_at: String,
}

const DISRUPTION_SELECT: &str = "SELECT d.id, d.institution_id, i.name_ko AS institution_name, d.activity, d.patch_id, d.import_id, d.advisory_id, d.title, d.started_at, d.detected_at, d.recovered_at, d.outage_minutes, d.affected_services, d.affected_subscribers, d.financial_damage_krw, d.leaked_records, d.credit_info_leaked, d.intent, d.safeguards_json, d.recovery_actions, d.consumer_actions, d.filed_by, d.filed_at FROM disruption_reports d JOIN institutions i ON i.id = d.institution_id";

fn disruption_of(r: &AnyRow) -> Result<DisruptionRow> {
    Ok(DisruptionRow {
        id: r.try_get("id")?,
        institution_id: r.try_get("institution_id")?,
        institution_name: r.try_get("institution_name")?,
        activity: r.try_get("activity")?,
        patch_id: r.try_get("patch_id")?,
        import_id: r.try_get("import_id")?,
        advisory_id: r.try_get("advisory_id")?,
        title: r.try_get("title")?,
        started_at: r.try_get("started_at")?,
        detected_at: r.try_get("detected_at")?,
        recovered_at: r.try_get("recovered_at")?,
        outage_minutes: r.try_get("outage_minutes")?,
        affected_services: r.try_get("affected_services")?,
        affected_subscribers: r.try_get("affected_subscribers")?,
        financial_damage_krw: r.try_get("financial_damage_krw")?,
        leaked_records: r.try_get("leaked_records")?,
        credit_info_leaked: r.try_get::<i64, _>("credit_info_leaked")? != 0,
        intent: r.try_get::<i64, _>("intent")? != 0,
        safeguards_json: r.try_get("safeguards_json")?,
        recovery_actions: r.try_get("recovery_actions")?,
        consumer_actions: r.try_get("consumer_actions")?,
        filed_by: r.try_get("filed_by")?,
        filed_at: r.try_get("filed_at")?,
    })
}

const REVIEW_COLUMNS: &str = "id, report_id, version, evaluation_json, eligible, policy_version, state, requested_by, requested_at, appeal_reason, rationale, decided_by, decided_at";

fn review_of(r: &AnyRow) -> Result<ImmunityReviewRow> {
    Ok(ImmunityReviewRow {
        id: r.try_get("id")?,
        report_id: r.try_get("report_id")?,
        version: r.try_get("version")?,
        evaluation_json: r.try_get("evaluation_json")?,
        eligible: r.try_get::<i64, _>("eligible")? != 0,
        policy_version: r.try_get("policy_version")?,
        state: r.try_get("state")?,
        requested_by: r.try_get("requested_by")?,
        requested_at: r.try_get("requested_at")?,
        appeal_reason: r.try_get("appeal_reason")?,
        rationale: r.try_get("rationale")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
    })
}

const INCIDENT_SELECT: &str = "SELECT x.id, x.institution_id, i.name_ko AS institution_name, x.kind, x.disruption_id, x.letter_id, x.title, x.description, x.aware_at, x.trigger_json, x.initial_due, x.first_interim_due, x.interim_every_months, x.policy_version, x.closed_at, x.created_by, x.created_at FROM incidents x JOIN institutions i ON i.id = x.institution_id";

fn incident_of(r: &AnyRow) -> Result<IncidentRow> {
    Ok(IncidentRow {
        id: r.try_get("id")?,
        institution_id: r.try_get("institution_id")?,
        institution_name: r.try_get("institution_name")?,
        kind: r.try_get("kind")?,
        disruption_id: r.try_get("disruption_id")?,
        letter_id: r.try_get("letter_id")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        aware_at: r.try_get("aware_at")?,
        trigger_json: r.try_get("trigger_json")?,
        initial_due: r.try_get("initial_due")?,
        first_interim_due: r.try_get("first_interim_due")?,
        interim_every_months: r.try_get("interim_every_months")?,
        policy_version: r.try_get("policy_version")?,
        closed_at: r.try_get("closed_at")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Disruption reports of one institution (or all), newest first.
pub async fn list_disruptions<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: Option<i64>,
) -> Result<Vec<DisruptionRow>> {
    let rs = sqlx::query(&format!(
        "{DISRUPTION_SELECT} WHERE ($1 = 0 OR d.institution_id = $1) ORDER BY d.id DESC"
    ))
    .bind(institution_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter().map(disruption_of).collect()
}

pub async fn get_disruption<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<DisruptionRow>> {
    let r = sqlx::query(&format!("{DISRUPTION_SELECT} WHERE d.id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?;
    r.as_ref().map(disruption_of).transpose()
}

/// Every review version of a report, oldest first.
pub async fn immunity_reviews<'e, E: Executor<'e, Database = Any>>(
    e: E,
    report_id: i64,
) -> Result<Vec<ImmunityReviewRow>> {
    let rs = sqlx::query(&format!(
        "SELECT {REVIEW_COLUMNS} FROM immunity_reviews WHERE report_id = $1 ORDER BY version"
    ))
    .bind(report_id)
    .fetch_all(e)
    .await?;
    rs.iter().map(review_of).collect()
}

/// The latest review version of every report (report id → row), for lists.
pub async fn latest_immunity_reviews<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Vec<ImmunityReviewRow>> {
    let rs = sqlx::query(&format!(
        "SELECT {REVIEW_COLUMNS} FROM immunity_reviews r WHERE version = (SELECT MAX(x.version) FROM immunity_reviews x WHERE x.report_id = r.report_id) ORDER BY report_id"
    ))
    .fetch_all(e)
    .await?;
    rs.iter().map(review_of).collect()
}

/// Incidents of one institution (or all), newest first.
pub async fn list_incidents<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: Option<i64>,
) -> Result<Vec<IncidentRow>> {
    let rs = sqlx::query(&format!(
        "{INCIDENT_SELECT} WHERE ($1 = 0 OR x.institution_id = $1) ORDER BY x.id DESC"
    ))
    .bind(institution_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter().map(incident_of).collect()
}

pub async fn get_incident<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<IncidentRow>> {
    let r = sqlx::query(&format!("{INCIDENT_SELECT} WHERE x.id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?;
    r.as_ref().map(incident_of).transpose()
}

/// The incident opened for a disruption report, if any.
pub async fn incident_of_disruption<'e, E: Executor<'e, Database = Any>>(
    e: E,
    disruption_id: i64,
) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM incidents WHERE disruption_id = $1")
            .bind(disruption_id)
            .fetch_optional(e)
            .await?,
    )
}

/// Reports filed against an incident, in filing order.
pub async fn incident_reports<'e, E: Executor<'e, Database = Any>>(
    e: E,
    incident_id: i64,
) -> Result<Vec<IncidentReportRow>> {
    let rs = sqlx::query(
        "SELECT id, incident_id, kind, sequence, body, filed_by, filed_at FROM incident_reports WHERE incident_id = $1 ORDER BY filed_at, id",
    )
    .bind(incident_id)
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(IncidentReportRow {
                id: r.try_get("id")?,
                incident_id: r.try_get("incident_id")?,
                kind: r.try_get("kind")?,
                sequence: r.try_get("sequence")?,
                body: r.try_get("body")?,
                filed_by: r.try_get("filed_by")?,
                filed_at: r.try_get("filed_at")?,
            })
        })
        .collect()
}

impl WriteTx {
    pub async fn insert_disruption(&mut self, d: &NewDisruption<'_>) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO disruption_reports (institution_id, activity, patch_id, import_id, advisory_id, title, started_at, detected_at, recovered_at, outage_minutes, affected_services, affected_subscribers, financial_damage_krw, leaked_records, credit_info_leaked, intent, safeguards_json, recovery_actions, consumer_actions, filed_by, filed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING id",
        )
        .bind(d.institution_id)
        .bind(d.activity)
        .bind(d.patch_id)
        .bind(d.import_id)
        .bind(d.advisory_id)
        .bind(d.title)
        .bind(d.started_at)
        .bind(d.detected_at)
        .bind(d.recovered_at)
        .bind(d.outage_minutes)
        .bind(d.affected_services)
        .bind(d.affected_subscribers)
        .bind(d.financial_damage_krw)
        .bind(d.leaked_records)
        .bind(i64::from(d.credit_info_leaked))
        .bind(i64::from(d.intent))
        .bind(d.safeguards_json)
        .bind(d.recovery_actions)
        .bind(d.consumer_actions)
        .bind(d.by)
        .bind(d.at)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }

    /// Starts a review version awaiting the committee.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_immunity_review(
        &mut self,
        report_id: i64,
        version: i64,
        evaluation_json: &str,
        eligible: bool,
        policy_version: i64,
        appeal_reason: Option<&str>,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO immunity_reviews (report_id, version, evaluation_json, eligible, policy_version, state, requested_by, requested_at, appeal_reason) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8) RETURNING id",
        )
        .bind(report_id)
        .bind(version)
        .bind(evaluation_json)
        .bind(i64::from(eligible))
        .bind(policy_version)
        .bind(by)
        .bind(at)
        .bind(appeal_reason)
        .fetch_one(self.conn())
        .await
        .map_err(|e| StoreError::from_write(e, "review version"))?;
        Ok(r.try_get("id")?)
    }

    /// The committee's decision on a pending version; `NotFound` unless it is pending.
    pub async fn decide_immunity_review(
        &mut self,
        id: i64,
        to: &str,
        rationale: &str,
        by: &str,
        at: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE immunity_reviews SET state = $1, rationale = $2, decided_by = $3, decided_at = $4 WHERE id = $5 AND state = 'pending'",
        )
        .bind(to)
        .bind(rationale)
        .bind(by)
        .bind(at)
        .bind(id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    pub async fn insert_incident(&mut self, n: &NewIncident<'_>) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO incidents (institution_id, kind, disruption_id, letter_id, title, description, aware_at, trigger_json, initial_due, first_interim_due, interim_every_months, policy_version, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
        )
        .bind(n.institution_id)
        .bind(n.kind)
        .bind(n.disruption_id)
        .bind(n.letter_id)
        .bind(n.title)
        .bind(n.description)
        .bind(n.aware_at)
        .bind(n.trigger_json)
        .bind(n.initial_due)
        .bind(n.first_interim_due)
        .bind(n.interim_every_months)
        .bind(n.policy_version)
        .bind(n.by)
        .bind(n.at)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }

    /// Files a report against an incident; a final report closes it (`NotFound` when closed).
    pub async fn insert_incident_report(
        &mut self,
        incident_id: i64,
        kind: &str,
        sequence: i64,
        body: &str,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO incident_reports (incident_id, kind, sequence, body, filed_by, filed_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(incident_id)
        .bind(kind)
        .bind(sequence)
        .bind(body)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await
        .map_err(|e| StoreError::from_write(e, "incident report"))?;
        if kind == "final" {
            let done = sqlx::query(
                "UPDATE incidents SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL",
            )
            .bind(at)
            .bind(incident_id)
            .execute(self.conn())
            .await?;
            if done.rows_affected() != 1 {
                return Err(StoreError::NotFound);
            }
        }
        Ok(r.try_get("id")?)
    }
}
