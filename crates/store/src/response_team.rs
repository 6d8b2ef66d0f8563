//! C14 persistence of the AI security response team (migration 0019): its members, the field
//! challenges institutions raise with it, and its check-ins with attendance and actions. A
//! challenge's status moves by a conditional update on the status it was read in, so two
//! officers acting at once cannot both move it.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};

use crate::{Result, StoreError, WriteTx};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseMemberRow {
    pub id: i64,
    /// `fsc`, `fss`, `fsi` or `ciso`.
    pub organisation: String,
    /// A CISO member's sector (its institution's).
    pub sector: Option<String>,
    pub name: String,
    /// The member's role in the team (lead, coordinator, member...).
    pub team_role: String,
    pub user_id: Option<i64>,
    pub institution_id: Option<i64>,
    pub institution_name: Option<String>,
    pub active: bool,
    pub added_by: String,
    pub added_at: String,
    pub retired_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChallengeRow {
    pub id: i64,
    pub institution_id: i64,
    pub institution_name: String,
    pub title: String,
    pub description: String,
    pub sector: String,
    pub owner_member_id: Option<i64>,
    pub owner_name: Option<String>,
    /// `open`, `in_progress`, `resolved` or `closed`.
    pub status: String,
    pub response: Option<String>,
    pub due_on: String,
    pub raised_by: String,
    pub raised_at: String,
    pub updated_by: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckinRow {
    pub id: i64,
    pub held_on: String,
    pub notes: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckinActionRow {
    pub id: i64,
    pub checkin_id: i64,
    pub held_on: String,
    pub description: String,
    pub owner_member_id: i64,
    pub owner_name: String,
    pub due_on: String,
    pub done_at: Option<String>,
    pub done_by: Option<String>,
    pub created_by: String,
    pub created_at: String,
}

const MEMBER_SELECT: &str = "SELECT m.id, m.organisation, m.sector, m.name, m.team_role, m.user_id, m.institution_id, i.name_ko AS institution_name, m.active, m.added_by, m.added_at, m.retired_at FROM response_members m LEFT JOIN institutions i ON i.id = m.institution_id";

fn member_of(r: &AnyRow) -> Result<ResponseMemberRow> {
    Ok(ResponseMemberRow {
        id: r.try_get("id")?,
        organisation: r.try_get("organisation")?,
        sector: r.try_get("sector")?,
        name: r.try_get("name")?,
        team_role: r.try_get("team_role")?,
        user_id: r.try_get("user_id")?,
        institution_id: r.try_get("institution_id")?,
        institution_name: r.try_get("institution_name")?,
        active: r.try_get::<i64, _>("active")? != 0,
        added_by: r.try_get("added_by")?,
        added_at: r.try_get("added_at")?,
        retired_at: r.try_get("retired_at")?,
    })
}

const CHALLENGE_SELECT: &str = "SELECT c.id, c.institution_id, i.name_ko AS institution_name, c.title, c.description, c.sector, c.owner_member_id, m.name AS owner_name, c.status, c.response, c.due_on, c.raised_by, c.raised_at, c.updated_by, c.updated_at, c.closed_at FROM field_challenges c JOIN institutions i ON i.id = c.institution_id LEFT JOIN response_members m ON m.id = c.owner_member_id";

fn challenge_of(r: &AnyRow) -> Result<FieldChallengeRow> {
    Ok(FieldChallengeRow {
        id: r.try_get("id")?,
        institution_id: r.try_get("institution_id")?,
        institution_name: r.try_get("institution_name")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        sector: r.try_get("sector")?,
        owner_member_id: r.try_get("owner_member_id")?,
        owner_name: r.try_get("owner_name")?,
        status: r.try_get("status")?,
        response: r.try_get("response")?,
        due_on: r.try_get("due_on")?,
        raised_by: r.try_get("raised_by")?,
        raised_at: r.try_get("raised_at")?,
        updated_by: r.try_get("updated_by")?,
        updated_at: r.try_get("updated_at")?,
        closed_at: r.try_get("closed_at")?,
    })
}

const ACTION_SELECT: &str = "SELECT a.id, a.checkin_id, k.held_on, a.description, a.owner_member_id, m.name AS owner_name, a.due_on, a.done_at, a.done_by, a.created_by, a.created_at FROM checkin_actions a JOIN response_checkins k ON k.id = a.checkin_id JOIN response_members m ON m.id = a.owner_member_id";

fn action_of(r: &AnyRow) -> Result<CheckinActionRow> {
    Ok(CheckinActionRow {
        id: r.try_get("id")?,
        checkin_id: r.try_get("checkin_id")?,
        held_on: r.try_get("held_on")?,
        description: r.try_get("description")?,
        owner_member_id: r.try_get("owner_member_id")?,
        owner_name: r.try_get("owner_name")?,
        due_on: r.try_get("due_on")?,
        done_at: r.try_get("done_at")?,
        done_by: r.try_get("done_by")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

fn checkin_of(r: &AnyRow) -> Result<CheckinRow> {
    Ok(CheckinRow {
        id: r.try_get("id")?,
        held_on: r.try_get("held_on")?,
        notes: r.try_get("notes")?,
        recorded_by: r.try_get("recorded_by")?,
        recorded_at: r.try_get("recorded_at")?,
    })
}

/// Every member, active ones first, by organisation and name.
pub async fn list_response_members<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Vec<ResponseMemberRow>> {
    let rs = sqlx::query(&format!(
        "{MEMBER_SELECT} ORDER BY m.active DESC, m.organisation, m.name, m.id"
    ))
    .fetch_all(e)
    .await?;
    rs.iter().map(member_of).collect()
}

pub async fn get_response_member<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<ResponseMemberRow>> {
    let r = sqlx::query(&format!("{MEMBER_SELECT} WHERE m.id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?;
    r.as_ref().map(member_of).transpose()
}

/// Challenges of one institution (or all), newest first.
pub async fn list_field_challenges<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: Option<i64>,
) -> Result<Vec<FieldChallengeRow>> {
    let rs = sqlx::query(&format!(
        "{CHALLENGE_SELECT} WHERE ($1 = 0 OR c.institution_id = $1) ORDER BY c.id DESC"
    ))
    .bind(institution_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter().map(challenge_of).collect()
}

pub async fn get_field_challenge<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<FieldChallengeRow>> {
    let r = sqlx::query(&format!("{CHALLENGE_SELECT} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?;
    r.as_ref().map(challenge_of).transpose()
}

/// Check-ins, newest first.
pub async fn list_checkins<'e, E: Executor<'e, Database = Any>>(e: E) -> Result<Vec<CheckinRow>> {
    let rs = sqlx::query(
        "SELECT id, held_on, notes, recorded_by, recorded_at FROM response_checkins ORDER BY held_on DESC, id DESC",
    )
    .fetch_all(e)
    .await?;
    rs.iter().map(checkin_of).collect()
}

pub async fn get_checkin<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<CheckinRow>> {
    let r = sqlx::query(
        "SELECT id, held_on, notes, recorded_by, recorded_at FROM response_checkins WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(checkin_of).transpose()
}

/// (check-in id, member id) of every attendance, or of one check-in's.
pub async fn checkin_attendance<'e, E: Executor<'e, Database = Any>>(
    e: E,
    checkin_id: Option<i64>,
) -> Result<Vec<(i64, i64)>> {
    let rs = sqlx::query(
        "SELECT checkin_id, member_id FROM checkin_attendance WHERE ($1 = 0 OR checkin_id = $1) ORDER BY checkin_id, member_id",
    )
    .bind(checkin_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| Ok((r.try_get("checkin_id")?, r.try_get("member_id")?)))
        .collect()
}

/// Actions of one check-in (or all), by due day.
pub async fn list_checkin_actions<'e, E: Executor<'e, Database = Any>>(
    e: E,
    checkin_id: Option<i64>,
) -> Result<Vec<CheckinActionRow>> {
    let rs = sqlx::query(&format!(
        "{ACTION_SELECT} WHERE ($1 = 0 OR a.checkin_id = $1) ORDER BY a.due_on, a.id"
    ))
    .bind(checkin_id.unwrap_or(0))
    .fetch_all(e)
    .await?;
    rs.iter().map(action_of).collect()
}

pub async fn get_checkin_action<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<CheckinActionRow>> {
    let r = sqlx::query(&format!("{ACTION_SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?;
    r.as_ref().map(action_of).transpose()
}

/// A new member.
#[derive(Debug, Clone)]
pub struct NewResponseMember<'a> {
    pub organisation: &'a str,
    pub sector: Option<&'a str>,
    pub name: &'a str,
    pub team_role: &'a str,
    pub user_id: Option<i64>,
    pub institution_id: Option<i64>,
}

/// A new field challenge.
#[derive(Debug, Clone)]
pub struct NewFieldChallenge<'a> {
    pub institution_id: i64,
    pub title: &'a str,
    pub description: &'a str,
    pub sector: &'a str,
    pub due_on: &'a str,
}

/// What an officer changes on a challenge (the whole new state).
#[derive(Debug, Clone)]
pub struct ChallengeUpdate<'a> {
    pub owner_member_id: Option<i64>,
    pub status: &'a str,
    pub response: Option<&'a str>,
    pub due_on: &'a str,
    pub closed_at: Option<&'a str>,
}

impl WriteTx {
    pub async fn insert_response_member(
        &mut self,
        m: &NewResponseMember<'_>,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO response_members (organisation, sector, name, team_role, user_id, institution_id, active, added_by, added_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8) RETURNING id",
        )
        .bind(m.organisation)
        .bind(m.sector)
        .bind(m.name)
        .bind(m.team_role)
        .bind(m.user_id)
        .bind(m.institution_id)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }

    /// Retires an active member; "not found" when there is no such active member.
    pub async fn retire_response_member(&mut self, id: i64, at: &str) -> Result<()> {
        let done = sqlx::query(
            "UPDATE response_members SET active = 0, retired_at = $1 WHERE id = $2 AND active = 1",
        )
        .bind(at)
        .bind(id)
        .execute(self.conn())
        .await?;
        one(done.rows_affected())
    }

    pub async fn insert_field_challenge(
        &mut self,
        c: &NewFieldChallenge<'_>,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO field_challenges (institution_id, title, description, sector, status, due_on, raised_by, raised_at, updated_by, updated_at) VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $6, $7) RETURNING id",
        )
        .bind(c.institution_id)
        .bind(c.title)
        .bind(c.description)
        .bind(c.sector)
        .bind(c.due_on)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }

    /// Writes a challenge's new state when it is still in `from`; "not found" otherwise.
    pub async fn update_field_challenge(
        &mut self,
        id: i64,
        from: &str,
        u: &ChallengeUpdate<'_>,
        by: &str,
        at: &str,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE field_challenges SET owner_member_id = $1, status = $2, response = $3, due_on = $4, closed_at = $5, updated_by = $6, updated_at = $7 WHERE id = $8 AND status = $9",
        )
        .bind(u.owner_member_id)
        .bind(u.status)
        .bind(u.response)
        .bind(u.due_on)
        .bind(u.closed_at)
        .bind(by)
        .bind(at)
        .bind(id)
        .bind(from)
        .execute(self.conn())
        .await?;
        one(done.rows_affected())
    }

    /// A check-in with the members who attended.
    pub async fn insert_checkin(
        &mut self,
        held_on: &str,
        notes: &str,
        attendees: &[i64],
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO response_checkins (held_on, notes, recorded_by, recorded_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(held_on)
        .bind(notes)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        let id: i64 = r.try_get("id")?;
        for m in attendees {
            sqlx::query("INSERT INTO checkin_attendance (checkin_id, member_id) VALUES ($1, $2)")
                .bind(id)
                .bind(*m)
                .execute(self.conn())
                .await
                .map_err(|e| StoreError::from_write(e, "this member's attendance"))?;
        }
        Ok(id)
    }

    pub async fn insert_checkin_action(
        &mut self,
        checkin_id: i64,
        description: &str,
        owner_member_id: i64,
        due_on: &str,
        by: &str,
        at: &str,
    ) -> Result<i64> {
        let r = sqlx::query(
            "INSERT INTO checkin_actions (checkin_id, description, owner_member_id, due_on, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(checkin_id)
        .bind(description)
        .bind(owner_member_id)
        .bind(due_on)
        .bind(by)
        .bind(at)
        .fetch_one(self.conn())
        .await?;
        Ok(r.try_get("id")?)
    }

    /// Marks an open action done; "not found" when it is not open.
    pub async fn complete_checkin_action(&mut self, id: i64, by: &str, at: &str) -> Result<()> {
        let done = sqlx::query(
            "UPDATE checkin_actions SET done_at = $1, done_by = $2 WHERE id = $3 AND done_at IS NULL",
        )
        .bind(at)
        .bind(by)
        .bind(id)
        .execute(self.conn())
        .await?;
        one(done.rows_affected())
    }
}

fn one(rows: u64) -> Result<()> {
    if rows == 1 {
        Ok(())
    } else {
        Err(StoreError::NotFound)
    }
}
