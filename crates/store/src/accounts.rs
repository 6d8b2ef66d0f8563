//! Passwords, browser sessions, the login throttle and API-token management (issue 3).
//!
//! Session and throttle rows are written straight on the pool, not in a [`WriteTx`]: they are
//! bookkeeping of who is signed in, not program records, so they neither take the audit write
//! lock nor enter the audit chain (the service audits sign-ins and sign-outs itself).

use sqlx::{Any, Executor, Row};

use crate::program::{user_row, USER_COLUMNS};
use crate::{Result, User, WriteTx};

/// A stored browser session.
#[derive(Debug, Clone)]
pub struct Session {
    pub id_sha256: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
}

/// The throttle state of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    pub failures: i64,
    pub last_failure_at: String,
    pub locked_until: Option<String>,
}

/// An API token as listed to its owner (never the token itself).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApiTokenInfo {
    pub id: i64,
    pub user_id: i64,
    pub label: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// The user with this username and their password hash (`None` when no password is set).
pub async fn user_with_password<'e, E: Executor<'e, Database = Any>>(
    e: E,
    username: &str,
) -> Result<Option<(User, Option<String>)>> {
    let r = sqlx::query(&format!(
        "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = $1"
    ))
    .bind(username)
    .fetch_optional(e)
    .await?;
    match r {
        None => Ok(None),
        Some(r) => Ok(Some((user_row(&r)?, r.try_get("password_hash")?))),
    }
}

pub async fn password_hash_of<'e, E: Executor<'e, Database = Any>>(
    e: E,
    user_id: i64,
) -> Result<Option<String>> {
    let r = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(e)
        .await?;
    Ok(match r {
        Some(r) => r.try_get("password_hash")?,
        None => None,
    })
}

pub async fn insert_session<'e, E: Executor<'e, Database = Any>>(
    e: E,
    s: &Session,
    address: Option<&str>,
) -> Result<()> {
    sqlx::query("INSERT INTO sessions (id_sha256, user_id, csrf_token, created_at, last_seen_at, expires_at, address) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(&s.id_sha256)
        .bind(s.user_id)
        .bind(&s.csrf_token)
        .bind(&s.created_at)
        .bind(&s.last_seen_at)
        .bind(&s.expires_at)
        .bind(address)
        .execute(e)
        .await?;
    Ok(())
}

/// The session with this id hash and its enabled user.
pub async fn session_with_user<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id_sha256: &str,
) -> Result<Option<(Session, User)>> {
    let r = sqlx::query(&format!(
        "SELECT {USER_COLUMNS}, s.id_sha256, s.user_id, s.csrf_token, s.created_at AS s_created_at, s.last_seen_at, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_sha256 = $1 AND u.disabled = 0"
    ))
    .bind(id_sha256)
    .fetch_optional(e)
    .await?;
    let Some(r) = r else { return Ok(None) };
    let session = Session {
        id_sha256: r.try_get("id_sha256")?,
        user_id: r.try_get("user_id")?,
        csrf_token: r.try_get("csrf_token")?,
        created_at: r.try_get("s_created_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
        expires_at: r.try_get("expires_at")?,
    };
    Ok(Some((session, user_row(&r)?)))
}

pub async fn touch_session<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id_sha256: &str,
    last_seen_at: &str,
) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_sha256 = $2")
        .bind(last_seen_at)
        .bind(id_sha256)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn delete_session<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id_sha256: &str,
) -> Result<bool> {
    let r = sqlx::query("DELETE FROM sessions WHERE id_sha256 = $1")
        .bind(id_sha256)
        .execute(e)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Ends every session of a user except `keep` (after a password change).
pub async fn delete_sessions_of_user<'e, E: Executor<'e, Database = Any>>(
    e: E,
    user_id: i64,
    keep: Option<&str>,
) -> Result<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_sha256 <> $2")
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(e)
        .await?;
    Ok(r.rows_affected())
}

/// Removes sessions that ended before `now` (RFC 3339 text compares in time order).
pub async fn delete_expired_sessions<'e, E: Executor<'e, Database = Any>>(
    e: E,
    now: &str,
) -> Result<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(now)
        .execute(e)
        .await?;
    Ok(r.rows_affected())
}

pub async fn throttle<'e, E: Executor<'e, Database = Any>>(
    e: E,
    key: &str,
) -> Result<Option<Throttle>> {
    let r = sqlx::query(
        "SELECT failures, last_failure_at, locked_until FROM login_throttle WHERE throttle_key = $1",
    )
    .bind(key)
    .fetch_optional(e)
    .await?;
    let Some(r) = r else { return Ok(None) };
    Ok(Some(Throttle {
        failures: r.try_get("failures")?,
        last_failure_at: r.try_get("last_failure_at")?,
        locked_until: r.try_get("locked_until")?,
    }))
}

pub async fn put_throttle<'e, E: Executor<'e, Database = Any>>(
    e: E,
    key: &str,
    t: &Throttle,
) -> Result<()> {
    sqlx::query("INSERT INTO login_throttle (throttle_key, failures, last_failure_at, locked_until) VALUES ($1, $2, $3, $4) ON CONFLICT (throttle_key) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until")
        .bind(key)
        .bind(t.failures)
        .bind(&t.last_failure_at)
        .bind(&t.locked_until)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn clear_throttle<'e, E: Executor<'e, Database = Any>>(e: E, key: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE throttle_key = $1")
        .bind(key)
        .execute(e)
        .await?;
    Ok(())
}

pub async fn list_tokens<'e, E: Executor<'e, Database = Any>>(
    e: E,
    user_id: i64,
) -> Result<Vec<ApiTokenInfo>> {
    let rs = sqlx::query(
        "SELECT id, user_id, label, created_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| {
            Ok(ApiTokenInfo {
                id: r.try_get("id")?,
                user_id: r.try_get("user_id")?,
                label: r.try_get("label")?,
                created_at: r.try_get("created_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .collect()
}

impl WriteTx {
    pub async fn set_password_hash(&mut self, user_id: i64, hash: &str, at: &str) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(at)
            .bind(user_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Revokes a token of this user; false when the user has no such unrevoked token.
    pub async fn revoke_token(&mut self, user_id: i64, token_id: i64, at: &str) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(token_id)
        .bind(user_id)
        .execute(self.conn())
        .await?;
        Ok(r.rows_affected() > 0)
    }
}

/// When each user last signed in through the portal (from the audit log, which keeps every
/// sign-in), by user id.
pub async fn last_sign_ins<'e, E: Executor<'e, Database = Any>>(
    e: E,
) -> Result<Vec<(i64, String)>> {
    let rs = sqlx::query(
        "SELECT actor_id, MAX(at) AS last_at FROM audit_log WHERE action = 'session.login' GROUP BY actor_id",
    )
    .fetch_all(e)
    .await?;
    rs.iter()
        .map(|r| Ok((r.try_get("actor_id")?, r.try_get("last_at")?)))
        .collect()
}

impl WriteTx {
    /// Disables or enables an account (a disabled user's sessions and tokens stop working).
    pub async fn set_user_disabled(&mut self, user_id: i64, disabled: bool) -> Result<()> {
        sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(user_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Changes an account's role and institution.
    pub async fn set_user_role(
        &mut self,
        user_id: i64,
        role: haechi_core::Role,
        institution_id: Option<i64>,
    ) -> Result<()> {
        sqlx::query("UPDATE users SET role = $1, institution_id = $2 WHERE id = $3")
            .bind(role.as_str())
            .bind(institution_id)
            .bind(user_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}
