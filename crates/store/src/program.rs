//! Queries of the program spine: policy versions, institutions, eligibility decisions, users and
//! tokens, applications and their events and attachments, reviews, evaluations, decisions and
//! cohorts. Reads take any executor (the pool, or a [`WriteTx`]'s connection so that a use case
//! reads what it is about to change); writes take the [`WriteTx`].

use haechi_core::institution::FigureChange;
use haechi_core::{Application, ApplicationState, Institution, InstitutionInput, Role};
use serde::{Deserialize, Serialize};
use sqlx::{Any, Executor, Row};

use crate::rows::{self, APPLICATION_SELECT, INSTITUTION_COLUMNS};
use crate::{now_text, Result, StoreError, WriteTx};

// ---------------------------------------------------------------- policy versions

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyVersionRow {
    pub version: i64,
    pub effective_from: String,
    pub loaded_at: String,
    pub loaded_by: String,
    pub sha256: String,
    #[serde(skip)]
    pub source_toml: String,
}

fn policy_row(r: &sqlx::any::AnyRow) -> Result<PolicyVersionRow> {
    Ok(PolicyVersionRow {
        version: r.try_get("version")?,
        effective_from: r.try_get("effective_from")?,
        loaded_at: r.try_get("loaded_at")?,
        loaded_by: r.try_get("loaded_by")?,
        sha256: r.try_get("sha256")?,
        source_toml: r.try_get("source_toml")?,
    })
}

const POLICY_COLUMNS: &str = "version, effective_from, loaded_at, loaded_by, sha256, source_toml";

pub async fn latest_policy_version<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Option<PolicyVersionRow>> {
    let r = sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM policy_versions ORDER BY version DESC LIMIT 1"
    ))
    .fetch_optional(e)
    .await?;
    r.as_ref().map(policy_row).transpose()
}

pub async fn get_policy_version<'e, E: Executor<'e, Database = Any>>(
    e: E,
    version: i64,
) -> Result<Option<PolicyVersionRow>> {
    let r = sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM policy_versions WHERE version = $1"
    ))
    .bind(version)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(policy_row).transpose()
}

pub async fn list_policy_versions<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Vec<PolicyVersionRow>> {
    let rs = sqlx::query(&format!(
        "SELECT {POLICY_COLUMNS} FROM policy_versions ORDER BY version DESC"
    ))
    .fetch_all(e)
    .await?;
    rs.iter().map(policy_row).collect()
}

impl WriteTx {
    /// Stores a new policy version numbered one above the latest.
    pub async fn insert_policy_version(
        &mut self,
        effective_from: &str,
        loaded_by: &str,
        sha256: &str,
        toml: &str,
    ) -> Result<i64> {
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM policy_versions")
            .fetch_one(self.conn())
            .await?;
        let version = max.unwrap_or(0) + 1;
        sqlx::query("INSERT INTO policy_versions (version, effective_from, loaded_at, loaded_by, sha256, source_toml) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(version)
            .bind(effective_from)
            .bind(self.now_text())
            .bind(loaded_by)
            .bind(sha256)
            .bind(toml)
            .execute(self.conn())
            .await?;
        Ok(version)
    }
}

// ---------------------------------------------------------------- institutions

#[derive(Debug, Clone, Default)]
pub struct InstitutionFilter {
    /// Matches the code or either name, case-insensitively.
    pub search: Option<String>,
    pub sector: Option<String>,
    /// Only institutions whose latest screening said eligible (true) or not (false).
    pub eligible: Option<bool>,
    pub limit: i64,
    pub offset: i64,
}

pub async fn get_institution<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<Institution>> {
    let r = sqlx::query(&format!(
        "SELECT {INSTITUTION_COLUMNS} FROM institutions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(rows::institution).transpose()
}

pub async fn get_institution_by_code<'e, E: Executor<'e, Database = Any>>(
    e: E,
    code: &str,
) -> Result<Option<Institution>> {
    let r = sqlx::query(&format!(
        "SELECT {INSTITUTION_COLUMNS} FROM institutions WHERE code = $1"
    ))
    .bind(code)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(rows::institution).transpose()
}

pub async fn all_institutions<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Vec<Institution>> {
    let rs = sqlx::query(&format!(
        "SELECT {INSTITUTION_COLUMNS} FROM institutions ORDER BY id"
    ))
    .fetch_all(e)
    .await?;
    rs.iter().map(rows::institution).collect()
}

/// A page of institutions matching the filter, and the total count.
pub async fn list_institutions(
    pool: &sqlx::AnyPool,
    f: &InstitutionFilter,
) -> Result<(Vec<Institution>, i64)> {
    let mut clauses = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    if let Some(s) = f.search.as_ref().filter(|s| !s.trim().is_empty()) {
        binds.push(format!("%{}%", s.trim().to_lowercase()));
        let n = binds.len();
        clauses.push(format!(
            "(LOWER(code) LIKE ${n} OR LOWER(name_ko) LIKE ${n} OR LOWER(name_en) LIKE ${n})"
        ));
    }
    if let Some(s) = &f.sector {
        binds.push(s.clone());
        clauses.push(format!("sector = ${}", binds.len()));
    }
    if let Some(el) = f.eligible {
        clauses.push(format!(
            "(SELECT d.eligible FROM eligibility_decisions d WHERE d.institution_id = institutions.id ORDER BY d.id DESC LIMIT 1) = {}",
            i64::from(el)
        ));
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    let count_sql = format!("SELECT COUNT(*) FROM institutions{where_sql}");
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    let list_sql = format!(
        "SELECT {INSTITUTION_COLUMNS} FROM institutions{where_sql} ORDER BY total_assets_krw DESC, id LIMIT {} OFFSET {}",
        f.limit.clamp(1, 1000),
        f.offset.max(0)
    );
    let mut list = sqlx::query(&list_sql);
    for b in &binds {
        count = count.bind(b.clone());
        list = list.bind(b.clone());
    }
    let total = count.fetch_one(pool).await?;
    let rs = list.fetch_all(pool).await?;
    Ok((
        rs.iter()
            .map(rows::institution)
            .collect::<Result<Vec<_>>>()?,
        total,
    ))
}

pub async fn institution_history<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Vec<FigureChange>> {
    let rs = sqlx::query("SELECT institution_id, field, old_value, new_value, as_of, changed_at, changed_by FROM institution_history WHERE institution_id = $1 ORDER BY id DESC")
        .bind(id)
        .fetch_all(e)
        .await?;
    rs.iter()
        .map(|r| {
            let as_of: Option<String> = r.try_get("as_of")?;
            Ok(FigureChange {
                institution_id: r.try_get("institution_id")?,
                field: r.try_get("field")?,
                old_value: r.try_get("old_value")?,
                new_value: r.try_get("new_value")?,
                as_of: as_of.and_then(|s| chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()),
                changed_at: r.try_get("changed_at")?,
                changed_by: r.try_get("changed_by")?,
            })
        })
        .collect()
}

fn bind_institution<'q>(
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    i: &'q InstitutionInput,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    q.bind(&i.code)
        .bind(&i.name_ko)
        .bind(&i.name_en)
        .bind(i.sector.as_str())
        .bind(i.total_assets_krw)
        .bind(i.assets_as_of.to_string())
        .bind(i.full_time_employees)
        .bind(i.employees_as_of.to_string())
        .bind(i64::from(i.dedicated_ciso))
        .bind(&i.ciso_name)
        .bind(i.size_class.as_str())
        .bind(&i.contact_name)
        .bind(&i.contact_email)
        .bind(&i.contact_phone)
}

impl WriteTx {
    pub async fn insert_institution(&mut self, i: &InstitutionInput) -> Result<i64> {
        let now = self.now_text();
        let q = sqlx::query(
            "INSERT INTO institutions (code, name_ko, name_en, sector, total_assets_krw, assets_as_of, full_time_employees, employees_as_of, dedicated_ciso, ciso_name, size_class, contact_name, contact_email, contact_phone, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING id",
        );
        let row = bind_institution(q, i)
            .bind(now)
            .fetch_one(self.conn())
            .await
            .map_err(|e| StoreError::from_write(e, &format!("institution code '{}'", i.code)))?;
        Ok(row.try_get("id")?)
    }

    pub async fn update_institution(&mut self, id: i64, i: &InstitutionInput) -> Result<()> {
        let q = sqlx::query(
            "UPDATE institutions SET code = $1, name_ko = $2, name_en = $3, sector = $4, total_assets_krw = $5, assets_as_of = $6, full_time_employees = $7, employees_as_of = $8, dedicated_ciso = $9, ciso_name = $10, size_class = $11, contact_name = $12, contact_email = $13, contact_phone = $14, updated_at = $15 WHERE id = $16",
        );
        let done = bind_institution(q, i)
            .bind(self.now_text())
            .bind(id)
            .execute(self.conn())
            .await
            .map_err(|e| StoreError::from_write(e, &format!("institution code '{}'", i.code)))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn insert_figure_change(&mut self, c: &FigureChange) -> Result<()> {
        sqlx::query("INSERT INTO institution_history (institution_id, field, old_value, new_value, as_of, changed_at, changed_by) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(c.institution_id)
            .bind(&c.field)
            .bind(&c.old_value)
            .bind(&c.new_value)
            .bind(c.as_of.map(|d| d.to_string()))
            .bind(&c.changed_at)
            .bind(&c.changed_by)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

// ---------------------------------------------------------------- eligibility decisions

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EligibilityRecord {
    pub institution_id: i64,
    pub policy_version: i64,
    pub eligible: bool,
    pub decision: serde_json::Value,
    pub decided_at: String,
}

impl WriteTx {
    pub async fn insert_eligibility(
        &mut self,
        institution_id: i64,
        policy_version: i64,
        eligible: bool,
        decision: &serde_json::Value,
    ) -> Result<()> {
        sqlx::query("INSERT INTO eligibility_decisions (institution_id, policy_version, eligible, decision_json, decided_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(institution_id)
            .bind(policy_version)
            .bind(i64::from(eligible))
            .bind(decision.to_string())
            .bind(self.now_text())
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

/// The latest screening of each institution that has one.
pub async fn latest_eligibility<'e, E: Executor<'e, Database = Any>>(
    e: E,
    institution_id: Option<i64>,
) -> Result<Vec<EligibilityRecord>> {
    let sql = "SELECT d.institution_id, d.policy_version, d.eligible, d.decision_json, d.decided_at FROM eligibility_decisions d \
               WHERE d.id = (SELECT MAX(x.id) FROM eligibility_decisions x WHERE x.institution_id = d.institution_id) \
               AND ($1 = 0 OR d.institution_id = $1) ORDER BY d.institution_id";
    let rs = sqlx::query(sql)
        .bind(institution_id.unwrap_or(0))
        .fetch_all(e)
        .await?;
    rs.iter()
        .map(|r| {
            Ok(EligibilityRecord {
                institution_id: r.try_get("institution_id")?,
                policy_version: r.try_get("policy_version")?,
                eligible: r.try_get::<i64, _>("eligible")? != 0,
                decision: rows::json(r, "decision_json")?,
                decided_at: r.try_get("decided_at")?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------- users and API tokens

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub institution_id: Option<i64>,
    pub disabled: bool,
    pub created_at: String,
}

impl User {
    /// The user as the acting user of a use case.
    pub fn actor(&self) -> haechi_core::Actor {
        haechi_core::Actor {
            user_id: self.id,
            username: self.username.clone(),
            role: self.role,
            institution_id: self.institution_id,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub institution_id: Option<i64>,
    pub password_hash: Option<String>,
}

pub(crate) const USER_COLUMNS: &str =
    "u.id, u.username, u.display_name, u.role, u.institution_id, u.disabled, u.created_at";

pub(crate) fn user_row(r: &sqlx::any::AnyRow) -> Result<User> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role '{role}'")))?,
        institution_id: r.try_get("institution_id")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

pub async fn get_user<'e, E: Executor<'e, Database = Any>>(e: E, id: i64) -> Result<Option<User>> {
    let r = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(user_row).transpose()
}

pub async fn get_user_by_username<'e, E: Executor<'e, Database = Any>>(
    e: E,
    username: &str,
) -> Result<Option<User>> {
    let r = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.username = $1"
    ))
    .bind(username)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(user_row).transpose()
}

pub async fn list_users<'e, E: Executor<'e, Database = Any>>(
    e: E,
    role: Option<Role>,
) -> Result<Vec<User>> {
    let rs = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE ($1 = '' OR u.role = $1) ORDER BY u.id"
    ))
    .bind(role.map(|r| r.as_str()).unwrap_or(""))
    .fetch_all(e)
    .await?;
    rs.iter().map(user_row).collect()
}

/// The enabled user owning an unrevoked token with this SHA-256.
pub async fn user_by_token_sha256<'e, E: Executor<'e, Database = Any>>(
    e: E,
    sha256: &str,
) -> Result<Option<User>> {
    let r = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users u JOIN api_tokens t ON t.user_id = u.id WHERE t.token_sha256 = $1 AND t.revoked_at IS NULL AND u.disabled = 0"
    ))
    .bind(sha256)
    .fetch_optional(e)
    .await?;
    r.as_ref().map(user_row).transpose()
}

impl WriteTx {
    pub async fn insert_user(&mut self, u: &NewUser) -> Result<i64> {
        let r = sqlx::query("INSERT INTO users (username, display_name, role, institution_id, password_hash, disabled, created_at) VALUES ($1, $2, $3, $4, $5, 0, $6) RETURNING id")
            .bind(&u.username)
            .bind(&u.display_name)
            .bind(u.role.as_str())
            .bind(u.institution_id)
            .bind(&u.password_hash)
            .bind(self.now_text())
            .fetch_one(self.conn())
            .await
            .map_err(|e| StoreError::from_write(e, &format!("user '{}'", u.username)))?;
        Ok(r.try_get("id")?)
    }

    pub async fn insert_token(&mut self, user_id: i64, sha256: &str, label: &str) -> Result<i64> {
        let r = sqlx::query("INSERT INTO api_tokens (user_id, token_sha256, label, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(user_id)
            .bind(sha256)
            .bind(label)
            .bind(self.now_text())
            .fetch_one(self.conn())
            .await?;
        Ok(r.try_get("id")?)
    }
}

// ---------------------------------------------------------------- applications

#[derive(Debug, Clone, Default)]
pub struct ApplicationFilter {
    pub institution_id: Option<i64>,
    pub state: Option<ApplicationState>,
    /// Only applications assigned to this advisor.
    pub advisor_id: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

pub async fn get_application<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<Application>> {
    let r = sqlx::query(&format!("{APPLICATION_SELECT} WHERE a.id = $1"))
        .bind(id)
        .fetch_optional(e)
        .await?;
    r.as_ref().map(rows::application).transpose()
}

pub async fn list_applications(
    pool: &sqlx::AnyPool,
    f: &ApplicationFilter,
) -> Result<(Vec<Application>, i64)> {
    let where_sql = " WHERE ($1 = 0 OR a.institution_id = $1) AND ($2 = '' OR a.state = $2) \
                     AND ($3 = 0 OR EXISTS (SELECT 1 FROM review_assignments r WHERE r.application_id = a.id AND r.advisor_id = $3 AND r.removed_at IS NULL))";
    let inst = f.institution_id.unwrap_or(0);
    let state = f.state.map(|s| s.as_str()).unwrap_or("");
    let adv = f.advisor_id.unwrap_or(0);
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM applications a{where_sql}"))
        .bind(inst)
        .bind(state)
        .bind(adv)
        .fetch_one(pool)
        .await?;
    let rs = sqlx::query(&format!(
        "{APPLICATION_SELECT}{where_sql} ORDER BY a.id DESC LIMIT {} OFFSET {}",
        f.limit.clamp(1, 1000),
        f.offset.max(0)
    ))
    .bind(inst)
    .bind(state)
    .bind(adv)
    .fetch_all(pool)
    .await?;
    Ok((
        rs.iter()
            .map(rows::application)
            .collect::<Result<Vec<_>>>()?,
        total,
    ))
}

pub async fn count_applications_by_state<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Vec<(String, i64)>> {
    let rs =
        sqlx::query("SELECT state, COUNT(*) AS n FROM applications GROUP BY state ORDER BY state")
            .fetch_all(e)
            .await?;
    rs.iter()
        .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplicationEvent {
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub actor_name: String,
    pub comment: Option<String>,
    pub at: String,
}

pub async fn application_events<'e, E: Executor<'e, Database = Any>>(
    e: E,
    application_id: i64,
) -> Result<Vec<ApplicationEvent>> {
    let rs = sqlx::query("SELECT action, from_state, to_state, actor_name, comment, at FROM application_events WHERE application_id = $1 ORDER BY id")
        .bind(application_id)
        .fetch_all(e)
        .await?;
    rs.iter()
        .map(|r| {
            Ok(ApplicationEvent {
                action: r.try_get("action")?,
                from_state: r.try_get("from_state")?,
                to_state: r.try_get("to_state")?,
                actor_name: r.try_get("actor_name")?,
                comment: r.try_get("comment")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttachmentMeta {
    pub id: i64,
    pub application_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
}

const ATTACHMENT_COLUMNS: &str =
    "id, application_id, filename, content_type, size_bytes, sha256, uploaded_by, uploaded_at";

fn attachment_row(r: &sqlx::any::AnyRow) -> Result<AttachmentMeta> {
    Ok(AttachmentMeta {
        id: r.try_get("id")?,
        application_id: r.try_get("application_id")?,
        filename: r.try_get("filename")?,
        content_type: r.try_get("content_type")?,
        size_bytes: r.try_get("size_bytes")?,
        sha256: r.try_get("sha256")?,
        uploaded_by: r.try_get("uploaded_by")?,
        uploaded_at: r.try_get("uploaded_at")?,
    })
}

pub async fn list_attachments<'e, E: Executor<'e, Database = Any>>(
    e: E,
    application_id: i64,
) -> Result<Vec<AttachmentMeta>> {
    let rs = sqlx::query(&format!(
        "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE application_id = $1 ORDER BY id"
    ))
    .bind(application_id)
    .fetch_all(e)
    .await?;
    rs.iter().map(attachment_row).collect()
}

pub async fn get_attachment<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: i64,
) -> Result<Option<(AttachmentMeta, Vec<u8>)>> {
    let r = sqlx::query(&format!(
        "SELECT {ATTACHMENT_COLUMNS}, data FROM attachments WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(e)
    .await?;
    match r {
        Some(r) => Ok(Some((attachment_row(&r)?, r.try_get("data")?))),
        None => Ok(None),
    }
}

impl WriteTx {
    /// `at` is the service's clock (the demo writes history with past dates).
    pub async fn insert_application(
        &mut self,
        institution_id: i64,
        content: &serde_json::Value,
        at: &str,
    ) -> Result<i64> {
        let now = at.to_string();
        let r = sqlx::query("INSERT INTO applications (institution_id, state, content_json, created_at, updated_at) VALUES ($1, 'draft', $2, $3, $3) RETURNING id")
            .bind(institution_id)
            .bind(content.to_string())
            .bind(now)
            .fetch_one(self.conn())
            .await?;
        Ok(r.try_get("id")?)
    }

    pub async fn update_application_content(
        &mut self,
        id: i64,
        content: &serde_json::Value,
        at: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE applications SET content_json = $1, updated_at = $2 WHERE id = $3")
            .bind(content.to_string())
            .bind(at)
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Moves an application to `to` and records the event. `at` lets the demo write history.
    pub async fn transition_application(
        &mut self,
        id: i64,
        action: &str,
        from: ApplicationState,
        to: ApplicationState,
        actor_name: &str,
        comment: Option<&str>,
        at: Option<&str>,
    ) -> Result<()> {
        let at = at.map(str::to_string).unwrap_or_else(now_text);
        let submitted = (to == ApplicationState::Submitted).then(|| at.clone());
        // The state in the WHERE clause makes a concurrent change of the same application fail
        // instead of being overwritten.
        let done = sqlx::query("UPDATE applications SET state = $1, updated_at = $2, submitted_at = COALESCE($3, submitted_at) WHERE id = $4 AND state = $5")
            .bind(to.as_str())
            .bind(&at)
            .bind(submitted)
            .bind(id)
            .bind(from.as_str())
            .execute(self.conn())
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("INSERT INTO application_events (application_id, action, from_state, to_state, actor_name, comment, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(id)
            .bind(action)
            .bind(from.as_str())
            .bind(to.as_str())
            .bind(actor_name)
            .bind(comment)
            .bind(&at)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn insert_attachment(
        &mut self,
        application_id: i64,
        filename: &str,
        content_type: &str,
        sha256: &str,
        data: &[u8],
        uploaded_by: &str,
    ) -> Result<i64> {
        let r = sqlx::query("INSERT INTO attachments (application_id, filename, content_type, size_bytes, sha256, data, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
            .bind(application_id)
            .bind(filename)
            .bind(content_type)
            .bind(data.len() as i64)
            .bind(sha256)
            .bind(data.to_vec())
            .bind(uploaded_by)
            .bind(self.now_text())
            .fetch_one(self.conn())
            .await?;
        Ok(r.try_get("id")?)
    }

    pub async fn set_cohort_phase(&mut self, application_id: i64, phase_id: &str) -> Result<()> {
        sqlx::query("UPDATE applications SET cohort_phase = $1 WHERE id = $2")
            .bind(phase_id)
            .bind(application_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

// ---------------------------------------------------------------- reviews and evaluations

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    pub id: i64,
    pub application_id: i64,
    pub advisor_id: i64,
    pub advisor_name: String,
    pub assigned_by: String,
    pub assigned_at: String,
    /// `None` until declared; `Some(true)` blocks the assignment.
    pub conflict: Option<bool>,
    pub conflict_note: Option<String>,
    pub declared_at: Option<String>,
    pub submitted_at: Option<String>,
    /// Set when an officer removed the advisor from the application (issue #14): the row stays
    /// for the record, but the advisor no longer sees the application and the scores no
    /// longer count.
    pub removed_at: Option<String>,
    pub removed_by: Option<String>,
    pub removed_reason: Option<String>,
}

const ASSIGNMENT_SELECT: &str = "SELECT r.id, r.application_id, r.advisor_id, u.display_name AS advisor_name, r.assigned_by, r.assigned_at, r.conflict, r.conflict_note, r.declared_at, r.submitted_at, r.removed_at, r.removed_by, r.removed_reason FROM review_assignments r JOIN users u ON u.id = r.advisor_id";

fn assignment_row(r: &sqlx::any::AnyRow) -> Result<Assignment> {
    let conflict: Option<i64> = r.try_get("conflict")?;
    Ok(Assignment {
        id: r.try_get("id")?,
        application_id: r.try_get("application_id")?,
        advisor_id: r.try_get("advisor_id")?,
        advisor_name: r.try_get("advisor_name")?,
        assigned_by: r.try_get("assigned_by")?,
        assigned_at: r.try_get("assigned_at")?,
        conflict: conflict.map(|c| c != 0),
        conflict_note: r.try_get("conflict_note")?,
        declared_at: r.try_get("declared_at")?,
        submitted_at: r.try_get("submitted_at")?,
        removed_at: r.try_get("removed_at")?,
        removed_by: r.try_get("removed_by")?,
        removed_reason: r.try_get("removed_reason")?,
    })
}

pub async fn assignments_for_application<'e, E: Executor<'e, Database = Any>>(
    e: E,
    application_id: i64,
) -> Result<Vec<Assignment>> {
    let rs = sqlx::query(&format!(
        "{ASSIGNMENT_SELECT} WHERE r.application_id = $1 AND r.removed_at IS NULL ORDER BY r.id"
    ))
    .bind(application_id)
    .fetch_all(e)
    .await?;
    rs.iter().map(assignment_row).collect()
}

/// The advisors an officer removed from the application, for the record.
pub async fn removed_assignments_for_application<'e, E: Executor<'e, Database = Any>>(
    e: E,
    application_id: i64,
) -> Result<Vec<Assignment>> {
    let rs = sqlx::query(&format!(
        "{ASSIGNMENT_SELECT} WHERE r.application_id = $1 AND r.removed_at IS NOT NULL ORDER BY r.id"
    ))
    .bind(application_id)
    .fetch_all(e)
    .await?;
    rs.iter().map(assignment_row).collect()
}

pub async fn assignments_for_advisor<'e, E: Executor<'e, Database = Any>>(
    e: E,
    advisor_id: i64,
) -> Result<Vec<Assignment>> {
    let rs = sqlx::query(&format!(
        "{ASSIGNMENT_SELECT} WHERE r.advisor_id = $1 AND r.removed_at IS NULL ORDER BY r.id DESC"
    ))
    .bind(advisor_id)
    .fetch_all(e)
    .await?;
    rs.iter().map(assignment_row).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreRow {
    pub advisor_id: i64,
    pub criterion: String,
    pub score: i64,
    pub justification: String,
}

/// Scores of submitted reviews only: a draft review does not count.
pub async fn submitted_scores<'e, E: Executor<'e, Database = Any>>(
    e: E,
    application_id: i64,
) -> Result<Vec<ScoreRow>> {
    let rs = sqlx::query(
        "SELECT r.advisor_id, s.criterion, s.score, s.justification FROM review_scores s JOIN review_assignments r ON r.id = s.assignment_id \
         WHERE r.application_id = $1 AND r.submitted_at IS NOT NULL AND r.conflict = 0 AND r.removed_at IS NULL ORDER BY r.advisor_id, s.criterion",
    )
    .bind(application_id)
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(ScoreRow {
                advisor_id: r.try_get("advisor_id")?,
                criterion: r.try_get("criterion")?,
                score: r.try_get("score")?,
                justification: r.try_get("justification")?,
            })
        })
        .collect()
}

pub async fn scores_of_assignment<'e, E: Executor<'e, Database = Any>>(
    e: E,
    assignment_id: i64,
) -> Result<Vec<ScoreRow>> {
    let rs = sqlx::query(
        "SELECT r.advisor_id, s.criterion, s.score, s.justification FROM review_scores s JOIN review_assignments r ON r.id = s.assignment_id WHERE r.id = $1 ORDER BY s.criterion",
    )
    .bind(assignment_id)
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(ScoreRow {
                advisor_id: r.try_get("advisor_id")?,
                criterion: r.try_get("criterion")?,
                score: r.try_get("score")?,
                justification: r.try_get("justification")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvaluationRecord {
    pub application_id: i64,
    pub policy_version: i64,
    pub passed: bool,
    pub score: f64,
    pub disagreement: bool,
    pub result: serde_json::Value,
    pub computed_at: String,
}

pub async fn get_evaluation<'e, E: Executor<'e, Database = Any>>(
    e: E,
    application_id: i64,
) -> Result<Option<EvaluationRecord>> {
    let r = sqlx::query("SELECT application_id, policy_version, passed, score, disagreement, result_json, computed_at FROM evaluations WHERE application_id = $1")
        .bind(application_id)
        .fetch_optional(e)
        .await?;
    r.map(|r| {
        Ok(EvaluationRecord {
            application_id: r.try_get("application_id")?,
            policy_version: r.try_get("policy_version")?,
            passed: r.try_get::<i64, _>("passed")? != 0,
            score: r.try_get("score")?,
            disagreement: r.try_get::<i64, _>("disagreement")? != 0,
            result: rows::json(&r, "result_json")?,
            computed_at: r.try_get("computed_at")?,
        })
    })
    .transpose()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRecord {
    pub application_id: i64,
    pub outcome: String,
    pub rationale: String,
    pub follows_evaluation: bool,
    pub policy_version: i64,
    pub decided_by: String,
    pub decided_on: String,
    pub decided_at: String,
}

/// The officer's reason for approving against a failed evaluation, if the decision was one.
pub async fn decision_override<'e, E: Executor<'e, Database = Any>>(
    e: E,
    application_id: i64,
) -> Result<Option<String>> {
    let r = sqlx::query("SELECT override_reason FROM decisions WHERE application_id = $1")
        .bind(application_id)
        .fetch_optional(e)
        .await?;
    Ok(match r {
        Some(r) => r.try_get("override_reason")?,
        None => None,
    })
}

pub async fn get_decision<'e, E: Executor<'e, Database = Any>>(
    e: E,
    application_id: i64,
) -> Result<Option<DecisionRecord>> {
    let r = sqlx::query("SELECT application_id, outcome, rationale, follows_evaluation, policy_version, decided_by, decided_on, decided_at FROM decisions WHERE application_id = $1")
        .bind(application_id)
        .fetch_optional(e)
        .await?;
    r.map(|r| {
        Ok(DecisionRecord {
            application_id: r.try_get("application_id")?,
            outcome: r.try_get("outcome")?,
            rationale: r.try_get("rationale")?,
            follows_evaluation: r.try_get::<i64, _>("follows_evaluation")? != 0,
            policy_version: r.try_get("policy_version")?,
            decided_by: r.try_get("decided_by")?,
            decided_on: r.try_get("decided_on")?,
            decided_at: r.try_get("decided_at")?,
        })
    })
    .transpose()
}

impl WriteTx {
    pub async fn insert_assignment(
        &mut self,
        application_id: i64,
        advisor_id: i64,
        assigned_by: &str,
    ) -> Result<i64> {
        let r = sqlx::query("INSERT INTO review_assignments (application_id, advisor_id, assigned_by, assigned_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(application_id)
            .bind(advisor_id)
            .bind(assigned_by)
            .bind(self.now_text())
            .fetch_one(self.conn())
            .await
            .map_err(|e| StoreError::from_write(e, "this advisor is already assigned to the application"))?;
        Ok(r.try_get("id")?)
    }

    pub async fn declare_conflict(
        &mut self,
        assignment_id: i64,
        conflict: bool,
        note: Option<&str>,
    ) -> Result<()> {
        sqlx::query("UPDATE review_assignments SET conflict = $1, conflict_note = $2, declared_at = $3 WHERE id = $4")
            .bind(i64::from(conflict))
            .bind(note)
            .bind(self.now_text())
            .bind(assignment_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Replaces the assignment's scores; `submit` marks the review final.
    pub async fn save_scores(
        &mut self,
        assignment_id: i64,
        scores: &[(String, i64, String)],
        submit: bool,
    ) -> Result<()> {
        sqlx::query("DELETE FROM review_scores WHERE assignment_id = $1")
            .bind(assignment_id)
            .execute(self.conn())
            .await?;
        for (criterion, score, justification) in scores {
            sqlx::query("INSERT INTO review_scores (assignment_id, criterion, score, justification) VALUES ($1, $2, $3, $4)")
                .bind(assignment_id)
                .bind(criterion)
                .bind(*score)
                .bind(justification)
                .execute(self.conn())
                .await?;
        }
        if submit {
            sqlx::query("UPDATE review_assignments SET submitted_at = $1 WHERE id = $2")
                .bind(self.now_text())
                .bind(assignment_id)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    pub async fn upsert_evaluation(&mut self, e: &EvaluationRecord) -> Result<()> {
        sqlx::query("DELETE FROM evaluations WHERE application_id = $1")
            .bind(e.application_id)
            .execute(self.conn())
            .await?;
        sqlx::query("INSERT INTO evaluations (application_id, policy_version, passed, score, disagreement, result_json, computed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(e.application_id)
            .bind(e.policy_version)
            .bind(i64::from(e.passed))
            .bind(e.score)
            .bind(i64::from(e.disagreement))
            .bind(e.result.to_string())
            .bind(&e.computed_at)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Records why an approval overrides a failed evaluation (same transaction as the decision).
    pub async fn set_decision_override(&mut self, application_id: i64, reason: &str) -> Result<()> {
        sqlx::query("UPDATE decisions SET override_reason = $1 WHERE application_id = $2")
            .bind(reason)
            .bind(application_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Removes an advisor from an application, keeping the row for the record.
    pub async fn remove_assignment(
        &mut self,
        assignment_id: i64,
        removed_by: &str,
        reason: &str,
        at: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE review_assignments SET removed_at = $1, removed_by = $2, removed_reason = $3 WHERE id = $4 AND removed_at IS NULL")
            .bind(at)
            .bind(removed_by)
            .bind(reason)
            .bind(assignment_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn insert_decision(&mut self, d: &DecisionRecord) -> Result<()> {
        sqlx::query("INSERT INTO decisions (application_id, outcome, rationale, follows_evaluation, policy_version, decided_by, decided_on, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(d.application_id)
            .bind(&d.outcome)
            .bind(&d.rationale)
            .bind(i64::from(d.follows_evaluation))
            .bind(d.policy_version)
            .bind(&d.decided_by)
            .bind(&d.decided_on)
            .bind(&d.decided_at)
            .execute(self.conn())
            .await
            .map_err(|e| StoreError::from_write(e, "a decision on this application"))?;
        Ok(())
    }
}

// ---------------------------------------------------------------- cohorts

/// An approved application as the cohort planner sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortCandidateRow {
    pub application_id: i64,
    pub institution_id: i64,
    pub institution_name: String,
    pub score: f64,
    pub passed: bool,
    pub decided_on: String,
    /// When the decision was recorded (RFC 3339 UTC).
    pub decided_at: String,
    pub cohort_phase: Option<String>,
    /// The officer's reason for approving against a failed evaluation.
    pub override_reason: Option<String>,
}

pub async fn approved_applications<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Vec<CohortCandidateRow>> {
    let rs = sqlx::query(
        "SELECT a.id, a.institution_id, i.name_ko, e.score, e.passed, d.decided_on, d.decided_at, d.override_reason, a.cohort_phase FROM applications a \
         JOIN institutions i ON i.id = a.institution_id JOIN evaluations e ON e.application_id = a.id JOIN decisions d ON d.application_id = a.id \
         WHERE a.state = 'approved' ORDER BY a.id",
    )
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(CohortCandidateRow {
                application_id: r.try_get("id")?,
                institution_id: r.try_get("institution_id")?,
                institution_name: r.try_get("name_ko")?,
                score: r.try_get("score")?,
                passed: r.try_get::<i64, _>("passed")? != 0,
                decided_on: r.try_get("decided_on")?,
                decided_at: r.try_get("decided_at")?,
                cohort_phase: r.try_get("cohort_phase")?,
                override_reason: r.try_get("override_reason")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortRecord {
    pub phase_id: String,
    pub policy_version: i64,
    pub plan: serde_json::Value,
    pub confirmed_by: String,
    pub confirmed_at: String,
    pub members: Vec<i64>,
}

pub async fn list_cohorts<'e, E: Executor<'e, Database = Any> + Copy>(
    e: E,
) -> Result<Vec<CohortRecord>> {
    let rs = sqlx::query("SELECT phase_id, policy_version, plan_json, confirmed_by, confirmed_at FROM cohorts ORDER BY phase_id").fetch_all(e).await?;
    let members =
        sqlx::query("SELECT phase_id, application_id FROM cohort_members ORDER BY phase_id, rank")
            .fetch_all(e)
            .await?;
    rs.iter()
        .map(|r| {
            let phase_id: String = r.try_get("phase_id")?;
            let m = members
                .iter()
                .filter(|m| {
                    m.try_get::<String, _>("phase_id").ok().as_deref() == Some(phase_id.as_str())
                })
                .map(|m| m.try_get::<i64, _>("application_id"))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(CohortRecord {
                phase_id,
                policy_version: r.try_get("policy_version")?,
                plan: rows::json(r, "plan_json")?,
                confirmed_by: r.try_get("confirmed_by")?,
                confirmed_at: r.try_get("confirmed_at")?,
                members: m,
            })
        })
        .collect()
}

/// When the phase's cohort was confirmed, if it was.
pub async fn cohort_confirmed_at<'e, E: Executor<'e, Database = Any>>(
    e: E,
    phase_id: &str,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT confirmed_at FROM cohorts WHERE phase_id = $1")
            .bind(phase_id)
            .fetch_optional(e)
            .await?,
    )
}

/// A member added to a confirmed cohort after its confirmation (an application approved late).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CohortAddition {
    pub phase_id: String,
    pub application_id: i64,
    pub institution_name_ko: String,
    pub institution_name_en: String,
    pub rank: i64,
    pub reason: String,
    pub added_by: String,
    pub added_at: String,
}

pub async fn cohort_additions<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Vec<CohortAddition>> {
    let rs = sqlx::query("SELECT m.phase_id, m.application_id, i.name_ko, i.name_en, m.rank, m.added_reason, m.added_by, m.added_at FROM cohort_members m \
         JOIN applications a ON a.id = m.application_id JOIN institutions i ON i.id = a.institution_id WHERE m.added_at IS NOT NULL ORDER BY m.phase_id, m.rank")
        .fetch_all(e)
        .await?;
    rs.iter()
        .map(|r| {
            Ok(CohortAddition {
                phase_id: r.try_get("phase_id")?,
                application_id: r.try_get("application_id")?,
                institution_name_ko: r.try_get("name_ko")?,
                institution_name_en: r.try_get("name_en")?,
                rank: r.try_get("rank")?,
                reason: r
                    .try_get::<Option<String>, _>("added_reason")?
                    .unwrap_or_default(),
                added_by: r
                    .try_get::<Option<String>, _>("added_by")?
                    .unwrap_or_default(),
                added_at: r
                    .try_get::<Option<String>, _>("added_at")?
                    .unwrap_or_default(),
            })
        })
        .collect()
}

impl WriteTx {
    /// Adds a late member to a confirmed cohort, after its last member.
    pub async fn add_cohort_member(
        &mut self,
        phase_id: &str,
        application_id: i64,
        reason: &str,
        added_by: &str,
        at: &str,
    ) -> Result<()> {
        let max: Option<i64> =
            sqlx::query_scalar("SELECT MAX(rank) FROM cohort_members WHERE phase_id = $1")
                .bind(phase_id)
                .fetch_one(self.conn())
                .await?;
        sqlx::query("INSERT INTO cohort_members (phase_id, application_id, rank, added_reason, added_by, added_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(phase_id)
            .bind(application_id)
            .bind(max.unwrap_or(0) + 1)
            .bind(reason)
            .bind(added_by)
            .bind(at)
            .execute(self.conn())
            .await
            .map_err(|e| StoreError::from_write(e, "this application in the cohort"))?;
        self.set_cohort_phase(application_id, phase_id).await
    }

    pub async fn insert_cohort(
        &mut self,
        phase_id: &str,
        policy_version: i64,
        plan: &serde_json::Value,
        confirmed_by: &str,
        members: &[i64],
        at: Option<&str>,
    ) -> Result<()> {
        let at = at.map(str::to_string).unwrap_or_else(now_text);
        sqlx::query("INSERT INTO cohorts (phase_id, policy_version, plan_json, confirmed_by, confirmed_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(phase_id)
            .bind(policy_version)
            .bind(plan.to_string())
            .bind(confirmed_by)
            .bind(at)
            .execute(self.conn())
            .await
            .map_err(|e| StoreError::from_write(e, &format!("a confirmed cohort for {phase_id}")))?;
        for (rank, app) in members.iter().enumerate() {
            sqlx::query(
                "INSERT INTO cohort_members (phase_id, application_id, rank) VALUES ($1, $2, $3)",
            )
            .bind(phase_id)
            .bind(*app)
            .bind(rank as i64 + 1)
            .execute(self.conn())
            .await?;
            self.set_cohort_phase(*app, phase_id).await?;
        }
        Ok(())
    }
}
