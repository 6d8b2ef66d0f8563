//! C14 persistence of the program's guidelines (migration 0018): versioned documents tied to the
//! policy versions they describe, whose published versions a trigger keeps unchanged on both
//! databases; institutions' acknowledgements; on-site briefings with invitations and attendance;
//! institutions' requests for tailored support and the regulator's answers.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::{Result, StoreError, WriteTx};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuidelineRow {
    pub id: i64,
    /// `resource_classification`, `patch_priority` or `other`.
    pub kind: String,
    pub created_by: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuidelineVersionRow {
    pub id: i64,
    pub guideline_id: i64,
    pub version: i64,
    pub title_ko: String,
    pub title_en: String,
    pub body_ko: String,
    pub body_en: String,
    /// `draft`, `published` or `superseded`.
    pub state: String,
    pub drafted_by: String,
    pub drafted_at: String,
    pub published_by: Option<String>,
    pub published_at: Option<String>,
    pub superseded_at: Option<String>,
    /// The policy versions this version describes.
    pub policy_versions: Vec<i64>,
}

pub async fn list_guidelines<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Vec<GuidelineRow>> {
    let rs = sqlx::query("SELECT id, kind, created_by, created_at FROM guidelines ORDER BY id")
        .fetch_all(e)
        .await?;
    rs.iter().map(guideline_of).collect()
}

fn guideline_of(r: &AnyRow) -> Result<GuidelineRow> {
    Ok(GuidelineRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn get_guideline<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<GuidelineRow>> {
    let r = sqlx::query("SELECT id, kind, created_by, created_at FROM guidelines WHERE id = $1")
        .bind(id)
        .fetch_optional(e)
        .await?;
    r.as_ref().map(guideline_of).transpose()
}

/// The versions of one guideline (or of all, with 0), oldest first, with their policy versions.
pub async fn guideline_versions(
    conn: &mut sqlx::AnyConnection,
    guideline_id: i64,
) -> Result<Vec<GuidelineVersionRow>> {
    let rs = sqlx::query(
        "SELECT id, guideline_id, version, title_ko, title_en, body_ko, body_en, state, drafted_by, drafted_at, published_by, published_at, superseded_at \
         FROM guideline_versions WHERE ($1 = 0 OR guideline_id = $1) ORDER BY guideline_id, version",
    )
    .bind(guideline_id)
    .fetch_all(&mut *conn)
    .await?;
    let pv = sqlx::query(
        "SELECT p.version_id, p.policy_version FROM guideline_policy_versions p JOIN guideline_versions v ON v.id = p.version_id \
         WHERE ($1 = 0 OR v.guideline_id = $1) ORDER BY p.policy_version",
    )
    .bind(guideline_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut pairs = Vec::with_capacity(pv.len());
    for r in &pv {
        pairs.push((
            r.try_get::<i64, _>("version_id")?,
            r.try_get::<i64, _>("policy_version")?,
        ));
    }
    rs.iter()
        .map(|r| {
            let id: i64 = r.try_get("id")?;
            Ok(GuidelineVersionRow {
                id,
                guideline_id: r.try_get("guideline_id")?,
                version: r.try_get("version")?,
                title_ko: r.try_get("title_ko")?,
                title_en: r.try_get("title_en")?,
                body_ko: r.try_get("body_ko")?,
                body_en: r.try_get("body_en")?,
                state: r.try_get("state")?,
                drafted_by: r.try_get("drafted_by")?,
                drafted_at: r.try_get("drafted_at")?,
                published_by: r.try_get("published_by")?,
                published_at: r.try_get("published_at")?,
                superseded_at: r.try_get("superseded_at")?,
                policy_versions: pairs
                    .iter()
                    .filter(|(v, _)| *v == id)
                    .map(|(_, p)| *p)
                    .collect(),
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuidelineAckRow {
    pub version_id: i64,
    pub institution_id: i64,
    pub institution_name_ko: String,
    pub institution_name_en: String,
    pub acknowledged_by: String,
    pub acknowledged_at: String,
}

/// Acknowledgements of one version (or of every version with 0), by institution name.
pub async fn guideline_acks<'e, E: Executor<'e, Database = Any>>(
    e: E,
    version_id: i64,
) -> Result<Vec<GuidelineAckRow>> {
    let rs = sqlx::query(
        "SELECT a.version_id, a.institution_id, i.name_ko, i.name_en, a.acknowledged_by, a.acknowledged_at \
         FROM guideline_acks a JOIN institutions i ON i.id = a.institution_id WHERE ($1 = 0 OR a.version_id = $1) ORDER BY i.name_ko",
    )
    .bind(version_id)
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(GuidelineAckRow {
                version_id: r.try_get("version_id")?,
                institution_id: r.try_get("institution_id")?,
                institution_name_ko: r.try_get("name_ko")?,
                institution_name_en: r.try_get("name_en")?,
                acknowledged_by: r.try_get("acknowledged_by")?,
                acknowledged_at: r.try_get("acknowledged_at")?,
            })
        })
        .collect()
}

/// An institution expected to acknowledge guidelines: one whose CISO has an account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AcknowledgerRow {
    pub institution_id: i64,
    pub name_ko: String,
    pub name_en: String,
}

pub async fn institutions_with_ciso<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Vec<AcknowledgerRow>> {
    let rs = sqlx::query(
        "SELECT i.id, i.name_ko, i.name_en FROM institutions i WHERE EXISTS (SELECT 1 FROM users u WHERE u.institution_id = i.id AND u.role = 'ciso' AND u.disabled = 0) ORDER BY i.name_ko",
    )
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(AcknowledgerRow {
                institution_id: r.try_get("id")?,
                name_ko: r.try_get("name_ko")?,
                name_en: r.try_get("name_en")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BriefingRow {
    pub id: i64,
    /// RFC 3339 UTC.
    pub starts_at: String,
    pub place: String,
    pub topic: String,
    pub guideline_id: Option<i64>,
    pub attendance_by: Option<String>,
    pub attendance_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub invitees: Vec<BriefingInviteeRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BriefingInviteeRow {
    pub institution_id: i64,
    pub name_ko: String,
    pub name_en: String,
    /// `None` until the attendance is recorded.
    pub attended: Option<bool>,
}

/// Briefings (all, or those an institution is invited to), newest first, with their invitees.
pub async fn list_briefings(
    conn: &mut sqlx::AnyConnection,
    institution_id: Option<i64>,
    id: Option<i64>,
) -> Result<Vec<BriefingRow>> {
    let rs = sqlx::query(
        "SELECT b.id, b.starts_at, b.place, b.topic, b.guideline_id, b.attendance_by, b.attendance_at, b.created_by, b.created_at FROM briefings b \
         WHERE ($1 = 0 OR EXISTS (SELECT 1 FROM briefing_invitees x WHERE x.briefing_id = b.id AND x.institution_id = $1)) AND ($2 = 0 OR b.id = $2) \
         ORDER BY b.starts_at DESC, b.id DESC",
    )
    .bind(institution_id.unwrap_or(0))
    .bind(id.unwrap_or(0))
    .fetch_all(&mut *conn)
    .await?;
    let inv = sqlx::query(
        "SELECT x.briefing_id, x.institution_id, i.name_ko, i.name_en, x.attended FROM briefing_invitees x JOIN institutions i ON i.id = x.institution_id \
         WHERE ($1 = 0 OR x.briefing_id = $1) ORDER BY i.name_ko",
    )
    .bind(id.unwrap_or(0))
    .fetch_all(&mut *conn)
    .await?;
    let mut invitees = Vec::with_capacity(inv.len());
    for r in &inv {
        let attended: Option<i64> = r.try_get("attended")?;
        invitees.push((
            r.try_get::<i64, _>("briefing_id")?,
            BriefingInviteeRow {
                institution_id: r.try_get("institution_id")?,
                name_ko: r.try_get("name_ko")?,
                name_en: r.try_get("name_en")?,
                attended: attended.map(|a| a != 0),
            },
        ));
    }
    rs.iter()
        .map(|r| {
            let id: i64 = r.try_get("id")?;
            Ok(BriefingRow {
                id,
                starts_at: r.try_get("starts_at")?,
                place: r.try_get("place")?,
                topic: r.try_get("topic")?,
                guideline_id: r.try_get("guideline_id")?,
                attendance_by: r.try_get("attendance_by")?,
                attendance_at: r.try_get("attendance_at")?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
                invitees: invitees
                    .iter()
                    .filter(|(b, _)| *b == id)
                    .map(|(_, x)| x.clone())
                    .collect(),
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TailoredSupportRow {
    pub id: i64,
    pub institution_id: i64,
    pub institution_name_ko: String,
    pub institution_name_en: String,
    pub topic: String,
    pub description: String,
    /// `open`, `scheduled` or `done`.
    pub state: String,
    pub scheduled_on: Option<String>,
    pub response: Option<String>,
    pub answered_by: Option<String>,
    pub answered_at: Option<String>,
    pub filed_by: String,
    pub filed_at: String,
}

/// Tailored-support requests (all, of one institution, or one), newest first.
pub async fn list_tailored_support<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: Option<i64>,
    id: Option<i64>,
) -> Result<Vec<TailoredSupportRow>> {
    let rs = sqlx::query(
        "SELECT s.id, s.institution_id, i.name_ko, i.name_en, s.topic, s.description, s.state, s.scheduled_on, s.response, s.answered_by, s.answered_at, s.filed_by, s.filed_at \
         FROM support_requests s JOIN institutions i ON i.id = s.institution_id WHERE ($1 = 0 OR s.institution_id = $1) AND ($2 = 0 OR s.id = $2) ORDER BY s.id DESC",
    )
    .bind(institution_id.unwrap_or(0))
    .bind(id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(TailoredSupportRow {
                id: r.try_get("id")?,
                institution_id: r.try_get("institution_id")?,
                institution_name_ko: r.try_get("name_ko")?,
                institution_name_en: r.try_get("name_en")?,
                topic: r.try_get("topic")?,
                description: r.try_get("description")?,
                state: r.try_get("state")?,
                scheduled_on: r.try_get("scheduled_on")?,
                response: r.try_get("response")?,
                answered_by: r.try_get("answered_by")?,
                answered_at: r.try_get("answered_at")?,
                filed_by: r.try_get("filed_by")?,
                filed_at: r.try_get("filed_at")?,
            })
        })
        .collect()
}

/// A guideline version's content as written.
#[derive(Debug, Clone, PartialEq)]
pub struct GuidelineText<'a> {
    pub title_ko: &'a str,
    pub title_en: &'a str,
    pub body_ko: &'a str,
    pub body_en: &'a str,
}

fn one(rows: u64) -> Result<()> {
    if rows == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}

impl WriteTx {
    pub async fn insert_guideline(&mut self, kind: &str, by: &str, at: &str) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO guidelines (kind, created_by, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(kind)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }

    /// A new draft version of a guideline with the policy versions it describes.
    pub async fn insert_guideline_draft(
        &mut self,
        guideline_id: i64,
        version: i64,
        text: &GuidelineText<'_>,
        policy_versions: &[i64],
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO guideline_versions (guideline_id, version, title_ko, title_en, body_ko, body_en, state, drafted_by, drafted_at) VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $8) RETURNING id",
        )
        .bind(guideline_id)
        .bind(version)
        .bind(text.title_ko)
        .bind(text.title_en)
        .bind(text.body_ko)
        .bind(text.body_en)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await
        .map_err(|e| StoreError::from_write(e, "this version of the guideline"))?;
        let id: i64 = r.try_get("id")?;
        self.set_guideline_policy_versions(id, policy_versions)
            .await?;
        Ok(id)
    }

    /// Rewrites a draft; a version that is no longer a draft is not touched (`NotFound`).
    pub async fn update_guideline_draft(
        &mut self,
        version_id: i64,
        text: &GuidelineText<'_>,
        policy_versions: &[i64],
        by: &str,
        at: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE guideline_versions SET title_ko = $1, title_en = $2, body_ko = $3, body_en = $4, drafted_by = $5, drafted_at = $6 WHERE id = $7 AND state = 'draft'",
        )
        .bind(text.title_ko)
        .bind(text.title_en)
        .bind(text.body_ko)
        .bind(text.body_en)
        .bind(by)
        .bind(at)
        .bind(version_id)
        .execute(self.conn())
        .await?;
        one(done.rows_affected())?;
        self.set_guideline_policy_versions(version_id, policy_versions)
            .await
    }

    async fn set_guideline_policy_versions(
        &mut self,
        version_id: i64,
        policy_versions: &[i64],
    ) -> Result<()> {
        sqlx::query("DELETE FROM guideline_policy_versions WHERE version_id = $1")
            .bind(version_id)
            .execute(self.conn())
            .await?;
        for v in policy_versions {
            sqlx::query(
                "INSERT INTO guideline_policy_versions (version_id, policy_version) VALUES ($1, $2)",
            )
            .bind(version_id)
            .bind(*v)
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    /// Publishes a draft and marks the guideline's previously published version superseded.
    pub async fn publish_guideline_version(
        &mut self,
        guideline_id: i64,
        version_id: i64,
        by: &str,
        at: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE guideline_versions SET state = 'superseded', superseded_at = $1 WHERE guideline_id = $2 AND state = 'published'",
        )
        .bind(at)
        .bind(guideline_id)
        .execute(self.conn())
        .await?;
        let done = sqlx::query(
            "UPDATE guideline_versions SET state = 'published', published_by = $1, published_at = $2 WHERE id = $3 AND guideline_id = $4 AND state = 'draft'",
        )
        .bind(by)
        .bind(at)
        .bind(version_id)
        .bind(guideline_id)
        .execute(self.conn())
        .await?;
        one(done.rows_affected())
    }

    pub async fn insert_guideline_ack(
        &mut self,
        version_id: i64,
        institution_id: i64,
        by: &str,
        at: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO guideline_acks (version_id, institution_id, acknowledged_by, acknowledged_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(version_id)
        .bind(institution_id)
        .bind(by)
        .bind(at)
        .execute(self.conn())
        .await
        .map_err(|e| StoreError::from_write(e, "this institution's acknowledgement"))?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_briefing(
        &mut self,
        starts_at: &str,
        place: &str,
        topic: &str,
        guideline_id: Option<i64>,
        invitees: &[i64],
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO briefings (starts_at, place, topic, guideline_id, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(starts_at)
        .bind(place)
        .bind(topic)
        .bind(guideline_id)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        let id: i64 = r.try_get("id")?;
        for i in invitees {
            sqlx::query(
                "INSERT INTO briefing_invitees (briefing_id, institution_id) VALUES ($1, $2)",
            )
            .bind(id)
            .bind(*i)
            .execute(self.conn())
            .await?;
        }
        Ok(id)
    }

    /// Records who of the invited came (every invitee not listed did not).
    pub async fn record_briefing_attendance(
        &mut self,
        briefing_id: i64,
        attended: &[i64],
        by: &str,
        at: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE briefings SET attendance_by = $1, attendance_at = $2 WHERE id = $3",
        )
        .bind(by)
        .bind(at)
        .bind(briefing_id)
        .execute(self.conn())
        .await?;
        one(done.rows_affected())?;
        sqlx::query("UPDATE briefing_invitees SET attended = 0 WHERE briefing_id = $1")
            .bind(briefing_id)
            .execute(self.conn())
            .await?;
        for i in attended {
            sqlx::query(
                "UPDATE briefing_invitees SET attended = 1 WHERE briefing_id = $1 AND institution_id = $2",
            )
            .bind(briefing_id)
            .bind(*i)
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    pub async fn insert_tailored_support(
        &mut self,
        institution_id: i64,
        topic: &str,
        description: &str,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO support_requests (institution_id, topic, description, state, filed_by, filed_at) VALUES ($1, $2, $3, 'open', $4, $5) RETURNING id",
        )
        .bind(institution_id)
        .bind(topic)
        .bind(description)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }

    /// The regulator's answer: the request moves to `state` (scheduled or done) unless done.
    pub async fn answer_tailored_support(
        &mut self,
        id: i64,
        state: &str,
        scheduled_on: Option<&str>,
        response: &str,
        by: &str,
        at: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE support_requests SET state = $1, scheduled_on = COALESCE($2, scheduled_on), response = $3, answered_by = $4, answered_at = $5 WHERE id = $6 AND state <> 'done'",
        )
        .bind(state)
        .bind(scheduled_on)
        .bind(response)
        .bind(by)
        .bind(at)
        .bind(id)
        .execute(self.conn())
        .await?;
        one(done.rows_affected())
    }
}
