//! C14 persistence of the advisory group (migration 0018): members tied to advisor accounts, the
//! history of their terms, standing conflict-of-interest declarations, meetings with attendance
//! and minutes, and advice records. Each member row carries how many open review assignments
//! the advisor holds, which the reviewer proposals balance.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::{Result, StoreError, WriteTx};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdvisoryMemberRow {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    /// `ai`, `security` or `law`.
    pub field: String,
    pub affiliation: String,
    /// The term in force (YYYY-MM-DD), after every extension.
    pub term_start: String,
    pub term_end: String,
    pub created_by: String,
    pub created_at: String,
    /// Assignments not removed, not declared conflicted and not yet submitted, on applications
    /// still in screening or review.
    pub open_assignments: i64,
}

const MEMBER_SELECT: &str = "SELECT m.id, m.user_id, u.username, u.display_name, u.disabled, m.field, m.affiliation, m.term_start, m.term_end, m.created_by, m.created_at, \
     CAST((SELECT COUNT(*) FROM review_assignments r JOIN applications a ON a.id = r.application_id \
       WHERE r.advisor_id = m.user_id AND r.removed_at IS NULL AND r.submitted_at IS NULL AND (r.conflict IS NULL OR r.conflict = 0) \
       AND a.state IN ('screening', 'under_review')) AS BIGINT) AS open_assignments \
     FROM advisory_members m JOIN users u ON u.id = m.user_id";

fn member_of(r: &AnyRow) -> Result<AdvisoryMemberRow> {
    let disabled: i64 = r.try_get("disabled")?;
    Ok(AdvisoryMemberRow {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        disabled: disabled != 0,
        field: r.try_get("field")?,
        affiliation: r.try_get("affiliation")?,
        term_start: r.try_get("term_start")?,
        term_end: r.try_get("term_end")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        open_assignments: r.try_get("open_assignments")?,
    })
}

pub async fn list_advisory_members<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Vec<AdvisoryMemberRow>> {
    let rs = sqlx::query(&format!("{MEMBER_SELECT} ORDER BY m.id"))
        .fetch_all(e)
        .await?;
    rs.iter().map(member_of).collect()
}

pub async fn get_advisory_member<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<AdvisoryMemberRow>> {
    let r = sqlx::query(&format!("{MEMBER_SELECT} WHERE m.id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?;
    r.as_ref().map(member_of).transpose()
}

pub async fn advisory_member_of_user<'e, E: Executor<'e, Database = Any>>(
    e: E,
    user_id: i64,
) -> Result<Option<AdvisoryMemberRow>> {
    let r = sqlx::query(&format!("{MEMBER_SELECT} WHERE m.user_id = $1"))
        .bind(user_id)
        .fetch_optional(e)
        .await?;
    r.as_ref().map(member_of).transpose()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdvisoryTermRow {
    pub id: i64,
    pub member_id: i64,
    /// `appoint`, `extend` or `correct`.
    pub kind: String,
    pub term_start: String,
    pub term_end: String,
    pub previous_end: Option<String>,
    pub reason: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

pub async fn advisory_terms<'e, E: Executor<'e, Database = Any>>(
    e: E,
    member_id: i64,
) -> Result<Vec<AdvisoryTermRow>> {
    let rs = sqlx::query(
        "SELECT id, member_id, kind, term_start, term_end, previous_end, reason, recorded_by, recorded_at FROM advisory_terms WHERE member_id = $1 ORDER BY id",
    )
    .bind(member_id)
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(AdvisoryTermRow {
                id: r.try_get("id")?,
                member_id: r.try_get("member_id")?,
                kind: r.try_get("kind")?,
                term_start: r.try_get("term_start")?,
                term_end: r.try_get("term_end")?,
                previous_end: r.try_get("previous_end")?,
                reason: r.try_get("reason")?,
                recorded_by: r.try_get("recorded_by")?,
                recorded_at: r.try_get("recorded_at")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StandingConflictRow {
    pub id: i64,
    pub member_id: i64,
    pub institution_id: Option<i64>,
    pub institution_name_ko: Option<String>,
    pub institution_name_en: Option<String>,
    /// A sector code, when the conflict covers a whole sector.
    pub sector: Option<String>,
    pub reason: String,
    pub valid_from: String,
    /// The last day; `None` while open-ended.
    pub valid_to: Option<String>,
    pub declared_by: String,
    pub declared_at: String,
}

/// Standing conflicts of one member, or of every member.
pub async fn standing_conflicts<'e, E: Executor<'e, Database = Any>>(
    e: E,
    member_id: Option<i64>,
) -> Result<Vec<StandingConflictRow>> {
    let rs = sqlx::query(
        "SELECT c.id, c.member_id, c.institution_id, i.name_ko, i.name_en, c.sector, c.reason, c.valid_from, c.valid_to, c.declared_by, c.declared_at \
         FROM advisory_conflicts c LEFT JOIN institutions i ON i.id = c.institution_id \
         WHERE ($1 = 0 OR c.member_id = $1) ORDER BY c.valid_from, c.id",
    )
    .bind(member_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(StandingConflictRow {
                id: r.try_get("id")?,
                member_id: r.try_get("member_id")?,
                institution_id: r.try_get("institution_id")?,
                institution_name_ko: r.try_get("name_ko")?,
                institution_name_en: r.try_get("name_en")?,
                sector: r.try_get("sector")?,
                reason: r.try_get("reason")?,
                valid_from: r.try_get("valid_from")?,
                valid_to: r.try_get("valid_to")?,
                declared_by: r.try_get("declared_by")?,
                declared_at: r.try_get("declared_at")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdvisoryMeetingRow {
    pub id: i64,
    pub held_on: String,
    pub title: String,
    pub agenda: String,
    pub minutes: Option<String>,
    pub minutes_by: Option<String>,
    pub minutes_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
    /// Member ids of those who attended (empty until the minutes are recorded).
    pub attendees: Vec<i64>,
}

async fn meetings_where(
    e: &mut sqlx::AnyConnection,
    filter: &str,
    id: i64,
) -> Result<Vec<AdvisoryMeetingRow>> {
    let rs = sqlx::query(&format!(
        "SELECT id, held_on, title, agenda, minutes, minutes_by, minutes_at, created_by, created_at FROM advisory_meetings WHERE {filter} ORDER BY held_on DESC, id DESC"
    ))
    .bind(id)
    .fetch_all(&mut *e)
    .await?;
    let att =
        sqlx::query("SELECT meeting_id, member_id FROM advisory_attendance ORDER BY member_id")
            .fetch_all(&mut *e)
            .await?;
    let mut pairs = Vec::with_capacity(att.len());
    for r in &att {
        pairs.push((
            r.try_get::<i64, _>("meeting_id")?,
            r.try_get::<i64, _>("member_id")?,
        ));
    }
    rs.iter()
        .map(|r| {
            let id: i64 = r.try_get("id")?;
            Ok(AdvisoryMeetingRow {
                id,
                held_on: r.try_get("held_on")?,
                title: r.try_get("title")?,
                agenda: r.try_get("agenda")?,
                minutes: r.try_get("minutes")?,
                minutes_by: r.try_get("minutes_by")?,
                minutes_at: r.try_get("minutes_at")?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
                attendees: pairs
                    .iter()
                    .filter(|(m, _)| *m == id)
                    .map(|(_, member)| *member)
                    .collect(),
            })
        })
        .collect()
}

/// Every meeting, newest first, with its attendance.
pub async fn list_advisory_meetings(
    conn: &mut sqlx::AnyConnection,
) -> Result<Vec<AdvisoryMeetingRow>> {
    meetings_where(conn, "$1 = 0", 0).await
}

pub async fn get_advisory_meeting(
    conn: &mut sqlx::AnyConnection,
    id: i64,
) -> Result<Option<AdvisoryMeetingRow>> {
    Ok(meetings_where(conn, "id = $1", id)
        .await?
        .into_iter()
        .next())
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdviceRow {
    pub id: i64,
    pub meeting_id: Option<i64>,
    /// `threat` or `policy`.
    pub topic: String,
    pub title: String,
    pub text_ko: String,
    pub text_en: String,
    pub given_on: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

/// Advice records (of one meeting, or all), newest first.
pub async fn list_advice<'e, E: Executor<'e, Database = Any>>(
    e: E,
    meeting_id: Option<i64>,
) -> Result<Vec<AdviceRow>> {
    let rs = sqlx::query(
        "SELECT id, meeting_id, topic, title, text_ko, text_en, given_on, recorded_by, recorded_at FROM advisory_advice WHERE ($1 = 0 OR meeting_id = $1) ORDER BY given_on DESC, id DESC",
    )
    .bind(meeting_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(AdviceRow {
                id: r.try_get("id")?,
                meeting_id: r.try_get("meeting_id")?,
                topic: r.try_get("topic")?,
                title: r.try_get("title")?,
                text_ko: r.try_get("text_ko")?,
                text_en: r.try_get("text_en")?,
                given_on: r.try_get("given_on")?,
                recorded_by: r.try_get("recorded_by")?,
                recorded_at: r.try_get("recorded_at")?,
            })
        })
        .collect()
}

/// A standing conflict as written.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStandingConflict<'a> {
    pub member_id: i64,
    pub institution_id: Option<i64>,
    pub sector: Option<&'a str>,
    pub reason: &'a str,
    pub valid_from: &'a str,
    pub valid_to: Option<&'a str>,
}

/// One term change as written (the member's term in force moves with it).
#[derive(Debug, Clone, PartialEq)]
pub struct NewTerm<'a> {
    pub kind: &'a str,
    pub term_start: &'a str,
    pub term_end: &'a str,
    pub previous_end: Option<&'a str>,
    pub reason: &'a str,
}

impl WriteTx {
    pub async fn insert_advisory_member(
        &mut self,
        user_id: i64,
        field: &str,
        affiliation: &str,
        term: &NewTerm<'_>,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO advisory_members (user_id, field, affiliation, term_start, term_end, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(user_id)
        .bind(field)
        .bind(affiliation)
        .bind(term.term_start)
        .bind(term.term_end)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await
        .map_err(|e| StoreError::from_write(e, "a member for this advisor"))?;
        let id: i64 = r.try_get("id")?;
        self.insert_advisory_term(id, term, by, at).await?;
        Ok(id)
    }

    /// Records a term change and moves the member's term in force to it.
    pub async fn insert_advisory_term(
        &mut self,
        member_id: i64,
        term: &NewTerm<'_>,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let moved =
            sqlx::query("UPDATE advisory_members SET term_start = $1, term_end = $2 WHERE id = $3")
                .bind(term.term_start)
                .bind(term.term_end)
                .bind(member_id)
                .execute(self.conn())
                .await?;
        if moved.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        let r = sqlx::query(
            "INSERT INTO advisory_terms (member_id, kind, term_start, term_end, previous_end, reason, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(member_id)
        .bind(term.kind)
        .bind(term.term_start)
        .bind(term.term_end)
        .bind(term.previous_end)
        .bind(term.reason)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }

    pub async fn update_advisory_member(
        &mut self,
        member_id: i64,
        field: &str,
        affiliation: &str,
    ) -> Result<()> {
        let done =
            sqlx::query("UPDATE advisory_members SET field = $1, affiliation = $2 WHERE id = $3")
                .bind(field)
                .bind(affiliation)
                .bind(member_id)
                .execute(self.conn())
                .await?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    pub async fn insert_standing_conflict(
        &mut self,
        c: &NewStandingConflict<'_>,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO advisory_conflicts (member_id, institution_id, sector, reason, valid_from, valid_to, declared_by, declared_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(c.member_id)
        .bind(c.institution_id)
        .bind(c.sector)
        .bind(c.reason)
        .bind(c.valid_from)
        .bind(c.valid_to)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }

    pub async fn insert_advisory_meeting(
        &mut self,
        held_on: &str,
        title: &str,
        agenda: &str,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO advisory_meetings (held_on, title, agenda, created_by, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(held_on)
        .bind(title)
        .bind(agenda)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }

    /// Records (or corrects) a meeting's minutes and who attended.
    pub async fn record_meeting_minutes(
        &mut self,
        meeting_id: i64,
        minutes: &str,
        attendees: &[i64],
        by: &str,
        at: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE advisory_meetings SET minutes = $1, minutes_by = $2, minutes_at = $3 WHERE id = $4",
        )
        .bind(minutes)
        .bind(by)
        .bind(at)
        .bind(meeting_id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM advisory_attendance WHERE meeting_id = $1")
            .bind(meeting_id)
            .execute(self.conn())
            .await?;
        for m in attendees {
            sqlx::query("INSERT INTO advisory_attendance (meeting_id, member_id) VALUES ($1, $2)")
                .bind(meeting_id)
                .bind(*m)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_advice(
        &mut self,
        meeting_id: Option<i64>,
        topic: &str,
        title: &str,
        text_ko: &str,
        text_en: &str,
        given_on: &str,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO advisory_advice (meeting_id, topic, title, text_ko, text_en, given_on, recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(meeting_id)
        .bind(topic)
        .bind(title)
        .bind(text_ko)
        .bind(text_en)
        .bind(given_on)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }
}
