//! C14 the AI security response team: members from the FSC, the FSS, the FSI and the
//! institutions' CISOs (by sector; a CISO member is an institution user); field challenges that
//! institutions raise with it and follow (open → in progress → resolved or closed, an open one
//! may be closed directly; nothing leaves resolved or closed), which officers assign to an
//! owner, answer and move; and the team's regular check-ins with attendance and actions, each
//! with an owner and a due day. What is past its due day and not done is flagged as overdue on
//! both sides' pages.

use chrono::NaiveDate;
use haechi_core::{Actor, FieldError, Role};
use haechi_store::{
    ChallengeUpdate, CheckinActionRow, CheckinRow, FieldChallengeRow, NewFieldChallenge,
    NewResponseMember, ResponseMemberRow,
};
use serde::{Deserialize, Serialize};

use crate::authz::{self, Action, Owner};
use crate::{record, Result, Service, ServiceError};

/// Where a member comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Organisation {
    Fsc,
    Fss,
    Fsi,
    Ciso,
}

impl Organisation {
    pub const ALL: [Organisation; 4] = [
        Organisation::Fsc,
        Organisation::Fss,
        Organisation::Fsi,
        Organisation::Ciso,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Organisation::Fsc => "fsc",
            Organisation::Fss => "fss",
            Organisation::Fsi => "fsi",
            Organisation::Ciso => "ciso",
        }
    }

    pub fn parse(s: &str) -> Option<Organisation> {
        Organisation::ALL
            .into_iter()
            .find(|o| o.as_str() == s.trim())
    }
}

/// A challenge's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChallengeStatus {
    Open,
    InProgress,
    Resolved,
    Closed,
}

impl ChallengeStatus {
    pub const ALL: [ChallengeStatus; 4] = [
        ChallengeStatus::Open,
        ChallengeStatus::InProgress,
        ChallengeStatus::Resolved,
        ChallengeStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeStatus::Open => "open",
            ChallengeStatus::InProgress => "in_progress",
            ChallengeStatus::Resolved => "resolved",
            ChallengeStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<ChallengeStatus> {
        ChallengeStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s.trim())
    }

    /// Resolved and closed are final.
    pub fn is_final(self) -> bool {
        matches!(self, ChallengeStatus::Resolved | ChallengeStatus::Closed)
    }

    /// Whether a challenge may move from `self` to `to` (staying is a change of owner, response
    /// or due day, allowed until it is final).
    pub fn may_move_to(self, to: ChallengeStatus) -> bool {
        use ChallengeStatus as S;
        matches!(
            (self, to),
            (S::Open, S::Open | S::InProgress | S::Closed)
                | (S::InProgress, S::InProgress | S::Resolved | S::Closed)
        )
    }
}

/// A new member. A CISO member names the institution user; the others their name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MemberInput {
    pub organisation: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub team_role: String,
    #[serde(default)]
    pub user_id: Option<i64>,
}

/// A challenge an institution raises.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChallengeInput {
    /// Defaults to the caller's institution.
    #[serde(default)]
    pub institution_id: Option<i64>,
    pub title: String,
    pub description: String,
    /// When the institution needs an answer.
    pub due_on: Option<NaiveDate>,
}

/// What an officer sets on a challenge.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChallengeChange {
    #[serde(default)]
    /// `None` keeps the owner the challenge has.
    pub owner_member_id: Option<i64>,
    pub status: String,
    #[serde(default)]
    pub response: Option<String>,
    #[serde(default)]
    pub due_on: Option<NaiveDate>,
}

/// A challenge with its overdue flag.
#[derive(Debug, Clone, Serialize)]
pub struct Challenge {
    #[serde(flatten)]
    pub row: FieldChallengeRow,
    /// Not resolved or closed, and past its due day.
    pub overdue: bool,
    /// Days to the due day (negative: days past it).
    pub days_left: i64,
}

/// A check-in action with its overdue flag.
#[derive(Debug, Clone, Serialize)]
pub struct CheckinAction {
    #[serde(flatten)]
    pub row: CheckinActionRow,
    pub overdue: bool,
}

/// A check-in with who attended and its actions.
#[derive(Debug, Clone, Serialize)]
pub struct Checkin {
    #[serde(flatten)]
    pub row: CheckinRow,
    pub attendees: Vec<ResponseMemberRow>,
    pub actions: Vec<CheckinAction>,
}

/// A new check-in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CheckinInput {
    pub held_on: Option<NaiveDate>,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub attendees: Vec<i64>,
}

/// A new action of a check-in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ActionInput {
    pub description: String,
    pub owner_member_id: Option<i64>,
    pub due_on: Option<NaiveDate>,
}

fn day_of(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

impl Service {
    fn team_stamp(&self) -> String {
        self.clock_text().unwrap_or_else(haechi_store::now_text)
    }

    fn challenge_view(&self, row: FieldChallengeRow) -> Challenge {
        let today = self.today();
        let days_left = day_of(&row.due_on).map_or(0, |d| (d - today).num_days());
        let open = ChallengeStatus::parse(&row.status).is_some_and(|s| !s.is_final());
        Challenge {
            overdue: open && days_left < 0,
            days_left,
            row,
        }
    }

    fn action_view(&self, row: CheckinActionRow) -> CheckinAction {
        let today = self.today();
        let overdue = row.done_at.is_none() && day_of(&row.due_on).is_some_and(|d| d < today);
        CheckinAction { overdue, row }
    }

    /// The team's members, active first.
    pub async fn response_members(&self, actor: &Actor) -> Result<Vec<ResponseMemberRow>> {
        authz::authorize(actor, Action::ReadResponseTeam)?;
        Ok(haechi_store::list_response_members(self.store.pool()).await?)
    }

    /// Adds a member. Returns its id.
    pub async fn add_response_member(&self, actor: &Actor, input: &MemberInput) -> Result<i64> {
        authz::authorize(actor, Action::ManageResponseTeam)?;
        let mut errors = Vec::new();
        let organisation = Organisation::parse(&input.organisation);
        if organisation.is_none() {
            errors.push(FieldError::new("organisation", "choose an organisation"));
        }
        let team_role = input.team_role.trim();
        if team_role.is_empty() {
            errors.push(FieldError::new("team_role", "must not be empty"));
        }
        let pool = self.store.pool();
        let mut name = input.name.trim().to_string();
        let mut sector = None;
        let mut institution_id = None;
        let mut user_id = None;
        if organisation == Some(Organisation::Ciso) {
            let user = match input.user_id {
                Some(id) => haechi_store::get_user(pool, id).await?,
                None => None,
            };
            match user {
                Some(u) if u.role == Role::Ciso && !u.disabled => {
                    if name.is_empty() {
                        name = u.display_name.clone();
                    }
                    institution_id = u.institution_id;
                    user_id = Some(u.id);
                    if let Some(inst) = u.institution_id {
                        sector = haechi_store::get_institution(pool, inst)
                            .await?
                            .map(|i| i.input.sector.as_str().to_string());
                    }
                }
                _ => errors.push(FieldError::new(
                    "user_id",
                    "choose the CISO (an institution user)",
                )),
            }
        } else if input.user_id.is_some() {
            errors.push(FieldError::new(
                "user_id",
                "only a CISO member is an institution user",
            ));
        }
        if name.is_empty() {
            errors.push(FieldError::new("name", "must not be empty"));
        }
        let Some(organisation) = organisation else {
            return Err(ServiceError::invalid(errors));
        };
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let at = self.team_stamp();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_response_member(
                &NewResponseMember {
                    organisation: organisation.as_str(),
                    sector: sector.as_deref(),
                    name: &name,
                    team_role,
                    user_id,
                    institution_id,
                },
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "response.member_add",
            "response_member",
            &id.to_string(),
            institution_id,
            None,
            Some(serde_json::json!({"organisation": organisation, "name": name, "team_role": team_role, "sector": sector, "user_id": user_id})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The institutions' CISOs who could join the team: (user id, name, institution name).
    pub async fn team_ciso_candidates(&self, actor: &Actor) -> Result<Vec<(i64, String, String)>> {
        authz::authorize(actor, Action::ManageResponseTeam)?;
        let pool = self.store.pool();
        let institutions = haechi_store::all_institutions(pool).await?;
        Ok(haechi_store::list_users(pool, Some(Role::Ciso))
            .await?
            .into_iter()
            .filter(|u| !u.disabled)
            .filter_map(|u| {
                let inst = institutions
                    .iter()
                    .find(|i| Some(i.id) == u.institution_id)?;
                Some((u.id, u.display_name, inst.input.name_ko.clone()))
            })
            .collect())
    }

    /// Retires a member (kept for the record of past challenges and check-ins).
    pub async fn retire_response_member(&self, actor: &Actor, id: i64) -> Result<()> {
        authz::authorize(actor, Action::ManageResponseTeam)?;
        let at = self.team_stamp();
        let mut tx = self.store.begin().await?;
        let m = haechi_store::get_response_member(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if !m.active {
            return Err(ServiceError::rule(
                "illegal_transition",
                "the member was already retired",
            ));
        }
        tx.retire_response_member(id, &at).await?;
        tx.audit(record(
            actor,
            "response.member_retire",
            "response_member",
            &id.to_string(),
            m.institution_id,
            Some(serde_json::json!({"active": true})),
            Some(serde_json::json!({"active": false})),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Raises a field challenge for the caller's institution. Returns its id.
    pub async fn raise_challenge(&self, actor: &Actor, input: &ChallengeInput) -> Result<i64> {
        let institution_id = input
            .institution_id
            .or(actor.institution_id)
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::RaiseChallenge,
            Owner::Institution(institution_id),
        )?;
        let institution = haechi_store::get_institution(self.store.pool(), institution_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let title = input.title.trim();
        let description = input.description.trim();
        let mut errors = Vec::new();
        if title.is_empty() {
            errors.push(FieldError::new("title", "must not be empty"));
        }
        if description.is_empty() {
            errors.push(FieldError::new("description", "must not be empty"));
        }
        match input.due_on {
            None => errors.push(FieldError::new("due_on", "must not be empty")),
            Some(d) if d < self.today() => {
                errors.push(FieldError::new("due_on", "must not be in the past"));
            }
            _ => {}
        }
        let Some(due_on) = input.due_on else {
            return Err(ServiceError::invalid(errors));
        };
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let sector = institution.input.sector.as_str();
        let at = self.team_stamp();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_field_challenge(
                &NewFieldChallenge {
                    institution_id,
                    title,
                    description,
                    sector,
                    due_on: &due_on.to_string(),
                },
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "challenge.raise",
            "field_challenge",
            &id.to_string(),
            Some(institution_id),
            None,
            Some(serde_json::json!({"title": title, "sector": sector, "due_on": due_on, "status": "open"})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Challenges the actor may see (an institution user: its own), newest first.
    pub async fn challenges(&self, actor: &Actor) -> Result<Vec<Challenge>> {
        authz::authorize(actor, Action::ReadResponseTeam)?;
        let own = if actor.role.is_institution_role() {
            Some(actor.institution_id.ok_or(ServiceError::NotFound)?)
        } else {
            None
        };
        Ok(haechi_store::list_field_challenges(self.store.pool(), own)
            .await?
            .into_iter()
            .map(|r| self.challenge_view(r))
            .collect())
    }

    /// One challenge (another institution's answers "not found").
    pub async fn challenge(&self, actor: &Actor, id: i64) -> Result<Challenge> {
        authz::authorize(actor, Action::ReadResponseTeam)?;
        let row = haechi_store::get_field_challenge(self.store.pool(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        authz::authorize_record(
            actor,
            Action::ReadResponseTeam,
            Owner::Institution(row.institution_id),
        )?;
        Ok(self.challenge_view(row))
    }

    /// An officer assigns the owner, answers, moves the status or the due day. Illegal moves
    /// (anything out of resolved or closed, open straight to resolved, back to open) are
    /// refused and change nothing.
    pub async fn update_challenge(
        &self,
        actor: &Actor,
        id: i64,
        change: &ChallengeChange,
    ) -> Result<()> {
        authz::authorize(actor, Action::ManageResponseTeam)?;
        let mut errors = Vec::new();
        let to = ChallengeStatus::parse(&change.status);
        if to.is_none() {
            errors.push(FieldError::new("status", "choose a status"));
        }
        let response = change
            .response
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if to == Some(ChallengeStatus::Resolved) && response.is_none() {
            errors.push(FieldError::new(
                "response",
                "a resolved challenge needs the team's response",
            ));
        }
        let mut tx = self.store.begin().await?;
        let row = haechi_store::get_field_challenge(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        // No owner named keeps the one it has.
        let owner = change.owner_member_id.or(row.owner_member_id);
        if let Some(owner) = owner {
            match haechi_store::get_response_member(tx.conn(), owner).await? {
                Some(m) if m.active || Some(owner) == row.owner_member_id => {}
                _ => errors.push(FieldError::new(
                    "owner_member_id",
                    "choose an active member",
                )),
            }
        } else if to == Some(ChallengeStatus::InProgress) {
            errors.push(FieldError::new(
                "owner_member_id",
                "a challenge in progress needs an owner",
            ));
        }
        let Some(to) = to else {
            return Err(ServiceError::invalid(errors));
        };
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let from = ChallengeStatus::parse(&row.status)
            .ok_or_else(|| ServiceError::rule("corrupt_challenge", "unknown stored status"))?;
        if !from.may_move_to(to) {
            return Err(ServiceError::rule(
                "illegal_transition",
                format!(
                    "a challenge cannot move from {} to {}",
                    from.as_str(),
                    to.as_str()
                ),
            ));
        }
        let at = self.team_stamp();
        let due_on = change
            .due_on
            .map_or_else(|| row.due_on.clone(), |d| d.to_string());
        let closed_at = if to.is_final() {
            Some(at.as_str())
        } else {
            None
        };
        let response = response.map(str::to_string).or(row.response.clone());
        tx.update_field_challenge(
            id,
            from.as_str(),
            &ChallengeUpdate {
                owner_member_id: owner,
                status: to.as_str(),
                response: response.as_deref(),
                due_on: &due_on,
                closed_at,
            },
            &actor.username,
            &at,
        )
        .await?;
        let action = if from == to {
            "challenge.update".to_string()
        } else {
            format!("challenge.{}", to.as_str())
        };
        tx.audit(record(
            actor,
            &action,
            "field_challenge",
            &id.to_string(),
            Some(row.institution_id),
            Some(serde_json::json!({"status": row.status, "owner_member_id": row.owner_member_id, "due_on": row.due_on})),
            Some(serde_json::json!({"status": to, "owner_member_id": owner, "due_on": due_on, "response": response})),
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Check-ins, newest first, with attendance and actions.
    pub async fn checkins(&self, actor: &Actor) -> Result<Vec<Checkin>> {
        authz::authorize(actor, Action::ReadCheckins)?;
        let pool = self.store.pool();
        let members = haechi_store::list_response_members(pool).await?;
        let attendance = haechi_store::checkin_attendance(pool, None).await?;
        let actions = haechi_store::list_checkin_actions(pool, None).await?;
        Ok(haechi_store::list_checkins(pool)
            .await?
            .into_iter()
            .map(|row| Checkin {
                attendees: members
                    .iter()
                    .filter(|m| attendance.contains(&(row.id, m.id)))
                    .cloned()
                    .collect(),
                actions: actions
                    .iter()
                    .filter(|a| a.checkin_id == row.id)
                    .cloned()
                    .map(|a| self.action_view(a))
                    .collect(),
                row,
            })
            .collect())
    }

    pub async fn checkin(&self, actor: &Actor, id: i64) -> Result<Checkin> {
        authz::authorize(actor, Action::ReadCheckins)?;
        let pool = self.store.pool();
        let row = haechi_store::get_checkin(pool, id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let attendance = haechi_store::checkin_attendance(pool, Some(id)).await?;
        let attendees = haechi_store::list_response_members(pool)
            .await?
            .into_iter()
            .filter(|m| attendance.contains(&(id, m.id)))
            .collect();
        let actions = haechi_store::list_checkin_actions(pool, Some(id))
            .await?
            .into_iter()
            .map(|a| self.action_view(a))
            .collect();
        Ok(Checkin {
            row,
            attendees,
            actions,
        })
    }

    /// Every action not yet done, overdue ones flagged, by due day.
    pub async fn open_checkin_actions(&self, actor: &Actor) -> Result<Vec<CheckinAction>> {
        authz::authorize(actor, Action::ReadCheckins)?;
        Ok(haechi_store::list_checkin_actions(self.store.pool(), None)
            .await?
            .into_iter()
            .filter(|a| a.done_at.is_none())
            .map(|a| self.action_view(a))
            .collect())
    }

    /// Records a check-in with who attended. Returns its id.
    pub async fn record_checkin(&self, actor: &Actor, input: &CheckinInput) -> Result<i64> {
        authz::authorize(actor, Action::ManageResponseTeam)?;
        let mut errors = Vec::new();
        match input.held_on {
            None => errors.push(FieldError::new("held_on", "must not be empty")),
            Some(d) if d > self.today() => {
                errors.push(FieldError::new("held_on", "must not be in the future"));
            }
            _ => {}
        }
        let notes = input.notes.trim();
        if notes.is_empty() {
            errors.push(FieldError::new("notes", "must not be empty"));
        }
        let mut attendees = input.attendees.clone();
        attendees.sort_unstable();
        attendees.dedup();
        let members = haechi_store::list_response_members(self.store.pool()).await?;
        if attendees.is_empty() {
            errors.push(FieldError::new("attendees", "mark who attended"));
        } else if attendees
            .iter()
            .any(|a| !members.iter().any(|m| m.id == *a && m.active))
        {
            errors.push(FieldError::new("attendees", "choose active members"));
        }
        let Some(held_on) = input.held_on else {
            return Err(ServiceError::invalid(errors));
        };
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let at = self.team_stamp();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_checkin(
                &held_on.to_string(),
                notes,
                &attendees,
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "checkin.record",
            "response_checkin",
            &id.to_string(),
            None,
            None,
            Some(serde_json::json!({"held_on": held_on, "attendees": attendees})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Adds an action to a check-in. Returns its id.
    pub async fn add_checkin_action(
        &self,
        actor: &Actor,
        checkin_id: i64,
        input: &ActionInput,
    ) -> Result<i64> {
        authz::authorize(actor, Action::ManageResponseTeam)?;
        let pool = self.store.pool();
        let checkin = haechi_store::get_checkin(pool, checkin_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let mut errors = Vec::new();
        let description = input.description.trim();
        if description.is_empty() {
            errors.push(FieldError::new("description", "must not be empty"));
        }
        let owner = match input.owner_member_id {
            Some(id) => haechi_store::get_response_member(pool, id).await?,
            None => None,
        };
        match &owner {
            Some(m) if m.active => {}
            _ => errors.push(FieldError::new(
                "owner_member_id",
                "choose an active member",
            )),
        }
        match input.due_on {
            None => errors.push(FieldError::new("due_on", "must not be empty")),
            Some(d) if day_of(&checkin.held_on).is_some_and(|h| d < h) => {
                errors.push(FieldError::new("due_on", "must not be before the check-in"));
            }
            _ => {}
        }
        let (Some(owner), Some(due_on)) = (owner, input.due_on) else {
            return Err(ServiceError::invalid(errors));
        };
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let at = self.team_stamp();
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_checkin_action(
                checkin_id,
                description,
                owner.id,
                &due_on.to_string(),
                &actor.username,
                &at,
            )
            .await?;
        tx.audit(record(
            actor,
            "checkin.action_add",
            "checkin_action",
            &id.to_string(),
            None,
            None,
            Some(serde_json::json!({"checkin_id": checkin_id, "description": description, "owner_member_id": owner.id, "due_on": due_on})),
        ))
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Marks an action done. Returns the check-in it belongs to.
    pub async fn complete_checkin_action(&self, actor: &Actor, id: i64) -> Result<i64> {
        authz::authorize(actor, Action::ManageResponseTeam)?;
        let at = self.team_stamp();
        let mut tx = self.store.begin().await?;
        let action = haechi_store::get_checkin_action(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        if action.done_at.is_some() {
            return Err(ServiceError::rule(
                "illegal_transition",
                "the action is already done",
            ));
        }
        tx.complete_checkin_action(id, &actor.username, &at).await?;
        tx.audit(record(
            actor,
            "checkin.action_done",
            "checkin_action",
            &id.to_string(),
            None,
            Some(serde_json::json!({"done": false})),
            Some(serde_json::json!({"done": true, "checkin_id": action.checkin_id})),
        ))
        .await?;
        tx.commit().await?;
        Ok(action.checkin_id)
    }
}

#[cfg(test)]
mod tests {
    use super::ChallengeStatus as S;

    #[test]
    fn only_the_documented_moves_are_legal() {
        let legal = [
            (S::Open, S::Open),
            (S::Open, S::InProgress),
            (S::Open, S::Closed),
            (S::InProgress, S::InProgress),
            (S::InProgress, S::Resolved),
            (S::InProgress, S::Closed),
        ];
        for from in S::ALL {
            for to in S::ALL {
                assert_eq!(
                    from.may_move_to(to),
                    legal.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }
}
