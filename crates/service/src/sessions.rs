//! Signing in to the web portal: Argon2id passwords, database-backed sessions (so that several
//! nodes behind a load balancer share them), the login throttle, password changes and each
//! user's own API tokens.
//!
//! The session cookie value and API tokens are random and high-entropy, so they are stored as
//! their SHA-256; passwords are low-entropy and are stored only as Argon2id hashes. Sign-ins,
//! failed sign-ins, sign-outs and password changes enter the audit log.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use haechi_core::{Actor, FieldError};
use haechi_store::{ApiTokenInfo, AuditRecord, Session, Store, Throttle};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::users::token_sha256;
use crate::{record, Result, Service, ServiceError};

/// Session lifetime and throttle settings (the `[accounts]` table of the configuration file).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountsConfig {
    /// A session unused for this long ends.
    pub session_idle_minutes: i64,
    /// A session ends this long after sign-in, however busy.
    pub session_max_hours: i64,
    /// Consecutive failures on one account before each further attempt waits.
    pub max_failures_per_account: i64,
    /// Consecutive failures from one address before each further attempt waits.
    pub max_failures_per_address: i64,
    /// The first wait; it doubles with every further failure, up to `lock_max_seconds`.
    pub lock_base_seconds: i64,
    pub lock_max_seconds: i64,
    /// Failures older than this are forgotten.
    pub failure_window_minutes: i64,
    pub min_password_chars: usize,
}

impl AccountsConfig {
    /// Refuses settings that would make sessions or the throttle meaningless.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let positive = [
            ("session_idle_minutes", self.session_idle_minutes),
            ("session_max_hours", self.session_max_hours),
            ("max_failures_per_account", self.max_failures_per_account),
            ("max_failures_per_address", self.max_failures_per_address),
            ("lock_base_seconds", self.lock_base_seconds),
            ("lock_max_seconds", self.lock_max_seconds),
            ("failure_window_minutes", self.failure_window_minutes),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v <= 0) {
            return Err(format!("accounts.{name} must be positive"));
        }
        if self.min_password_chars < 8 {
            return Err("accounts.min_password_chars must be at least 8".into());
        }
        Ok(())
    }
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            session_idle_minutes: 30,
            session_max_hours: 12,
            max_failures_per_account: 5,
            max_failures_per_address: 20,
            lock_base_seconds: 30,
            lock_max_seconds: 900,
            failure_window_minutes: 15,
            min_password_chars: 10,
        }
    }
}

/// A session just created: the cookie value is returned once and never stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub cookie_value: String,
    pub csrf_token: String,
    pub actor: Actor,
    pub expires_at: DateTime<Utc>,
}

/// The signed-in user of a live session.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub actor: Actor,
    pub display_name: String,
    pub csrf_token: String,
}

/// 32 random bytes as hex after `prefix` (session cookies, CSRF and API tokens).
pub(crate) fn random_hex(prefix: &str) -> String {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    format!("{prefix}{}", hex::encode(raw))
}

fn text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Argon2id with the crate's defaults (m = 19 MiB, t = 2, p = 1: OWASP's minimum), salted.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Rule {
            code: "password_hash",
            message: format!("cannot hash the password: {e}"),
        })
}

fn password_matches(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(h) => Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// A real Argon2id hash of a random secret, verified for unknown users (and users without a
/// password) so that a reply's timing does not tell which usernames exist.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_hex("")).unwrap_or_default())
}

async fn verify_off_thread(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let found = stored.is_some();
        let ok = password_matches(&password, stored.as_deref().unwrap_or(dummy_hash()));
        found && ok
    })
    .await
    .unwrap_or(false)
}

async fn hash_off_thread(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ServiceError::Rule {
            code: "password_hash",
            message: format!("cannot hash the password: {e}"),
        })?
}

/// Seconds to wait before the key may try again, if it must wait.
fn wait_seconds(t: &Option<Throttle>, now: DateTime<Utc>) -> Option<u64> {
    let until = parse(t.as_ref()?.locked_until.as_deref()?)?;
    let secs = (until - now).num_seconds();
    (secs > 0).then_some(secs as u64)
}

impl Service {
    /// Checks a password against the rules; errors name the field.
    fn password_rules(&self, field: &str, username: &str, password: &str) -> Result<()> {
        let min = self.config.accounts.min_password_chars;
        let n = password.chars().count();
        let mut errors = Vec::new();
        if n < min {
            errors.push(FieldError::new(
                field,
                format!("at least {min} characters (this one has {n})"),
            ));
        } else if n > 256 {
            errors.push(FieldError::new(field, "at most 256 characters"));
        } else if password.eq_ignore_ascii_case(username) {
            errors.push(FieldError::new(field, "must differ from the username"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::invalid(errors))
        }
    }

    /// Signs a user in. Wrong credentials answer [`ServiceError::Unauthenticated`] whether the
    /// username exists or not; repeated failures per account and per address answer
    /// [`ServiceError::Throttled`] without checking the password.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        address: Option<&str>,
    ) -> Result<NewSession> {
        let cfg = &self.config.accounts;
        let pool = self.store.pool();
        let now = Utc::now();
        let account_key = format!("account:{}", username.to_lowercase());
        let address_key = address.map(|a| format!("address:{a}"));
        let account_t = haechi_store::throttle(pool, &account_key).await?;
        let address_t = match &address_key {
            Some(k) => haechi_store::throttle(pool, k).await?,
            None => None,
        };
        if let Some(wait) = wait_seconds(&account_t, now).max(wait_seconds(&address_t, now)) {
            tracing::warn!(username, address, wait, "sign-in refused: throttled");
            return Err(ServiceError::Throttled(wait));
        }
        let found = haechi_store::user_with_password(pool, username).await?;
        let (user, stored) = match found {
            Some((u, h)) if !u.disabled => (Some(u), h),
            _ => (None, None),
        };
        let ok = verify_off_thread(password.to_string(), stored).await;
        let user = match (ok, user) {
            (true, Some(u)) => u,
            (_, user) => {
                self.record_failure(&account_key, account_t, cfg.max_failures_per_account, now)
                    .await?;
                if let Some(k) = &address_key {
                    self.record_failure(k, address_t, cfg.max_failures_per_address, now)
                        .await?;
                }
                let mut tx = self.store.begin().await?;
                tx.audit(AuditRecord {
                    actor_id: user.as_ref().map(|u| u.id).unwrap_or(-1),
                    actor_name: username.chars().take(64).collect(),
                    actor_role: "anonymous".into(),
                    action: "session.login_failed".into(),
                    entity: "user".into(),
                    entity_id: user.as_ref().map(|u| u.id.to_string()).unwrap_or_default(),
                    institution_id: user.as_ref().and_then(|u| u.institution_id),
                    before: None,
                    after: Some(serde_json::json!({ "address": address })),
                })
                .await?;
                tx.commit().await?;
                tracing::warn!(username, address, "sign-in failed");
                return Err(ServiceError::Unauthenticated);
            }
        };
        haechi_store::clear_throttle(pool, &account_key).await?;
        let cookie_value = random_hex("hcs_");
        let csrf_token = random_hex("");
        let expires_at = now + Duration::hours(cfg.session_max_hours);
        let session = Session {
            id_sha256: token_sha256(&cookie_value),
            user_id: user.id,
            csrf_token: csrf_token.clone(),
            created_at: text(now),
            last_seen_at: text(now),
            expires_at: text(expires_at),
        };
        haechi_store::delete_expired_sessions(pool, &text(now)).await?;
        let actor = user.actor();
        let mut tx = self.store.begin().await?;
        haechi_store::insert_session(tx.conn(), &session, address).await?;
        tx.audit(record(
            &actor,
            "session.login",
            "user",
            &user.id.to_string(),
            user.institution_id,
            None,
            Some(serde_json::json!({ "address": address })),
        ))
        .await?;
        tx.commit().await?;
        Ok(NewSession {
            cookie_value,
            csrf_token,
            actor,
            expires_at,
        })
    }

    async fn record_failure(
        &self,
        key: &str,
        previous: Option<Throttle>,
        max: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let cfg = &self.config.accounts;
        let window = Duration::minutes(cfg.failure_window_minutes);
        let failures = match previous
            .as_ref()
            .and_then(|t| Some((t.failures, parse(&t.last_failure_at)?)))
        {
            Some((n, last)) if now - last < window => n + 1,
            _ => 1,
        };
        let locked_until = (failures >= max).then(|| {
            let doublings = (failures - max).min(20) as u32;
            let secs = cfg
                .lock_base_seconds
                .saturating_mul(1i64 << doublings)
                .min(cfg.lock_max_seconds);
            text(now + Duration::seconds(secs))
        });
        haechi_store::put_throttle(
            self.store.pool(),
            key,
            &Throttle {
                failures,
                last_failure_at: text(now),
                locked_until,
            },
        )
        .await?;
        Ok(())
    }

    /// The live session for a cookie value; expired (idle or too old) or unknown sessions
    /// answer [`ServiceError::Unauthenticated`].
    pub async fn session(&self, cookie_value: &str) -> Result<SessionInfo> {
        let pool = self.store.pool();
        let id = token_sha256(cookie_value);
        let (session, user) = haechi_store::session_with_user(pool, &id)
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        let now = Utc::now();
        let idle = Duration::minutes(self.config.accounts.session_idle_minutes);
        let last_seen = parse(&session.last_seen_at).ok_or(ServiceError::Unauthenticated)?;
        let expires = parse(&session.expires_at).ok_or(ServiceError::Unauthenticated)?;
        if now >= expires || now - last_seen >= idle {
            haechi_store::delete_session(pool, &id).await?;
            return Err(ServiceError::Unauthenticated);
        }
        // One write a minute at most per session, not one per request, and off the request's
        // path: a large import holds the write lock for tens of seconds, and a page that only
        // reads must not wait behind it (`haechi bench serve` saw page requests time out there).
        if now - last_seen >= Duration::minutes(1) {
            self.touches.record(&self.store, id, text(now));
        }
        Ok(SessionInfo {
            actor: user.actor(),
            display_name: user.display_name,
            csrf_token: session.csrf_token,
        })
    }

    /// Ends a session (signing out); unknown sessions are already ended.
    pub async fn logout(&self, cookie_value: &str) -> Result<()> {
        let info = self.session(cookie_value).await.ok();
        haechi_store::delete_session(self.store.pool(), &token_sha256(cookie_value)).await?;
        if let Some(info) = info {
            let mut tx = self.store.begin().await?;
            tx.audit(record(
                &info.actor,
                "session.logout",
                "user",
                &info.actor.user_id.to_string(),
                info.actor.institution_id,
                None,
                None,
            ))
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Changes the actor's own password after checking the current one; ends the user's other
    /// sessions.
    pub async fn change_password(
        &self,
        actor: &Actor,
        current_session: Option<&str>,
        current: &str,
        new: &str,
    ) -> Result<()> {
        if actor.user_id <= 0 {
            return Err(ServiceError::Unauthenticated);
        }
        let stored = haechi_store::password_hash_of(self.store.pool(), actor.user_id).await?;
        if !verify_off_thread(current.to_string(), stored).await {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "current_password",
                "does not match your current password",
            )]));
        }
        self.password_rules("new_password", &actor.username, new)?;
        let hash = hash_off_thread(new.to_string()).await?;
        let mut tx = self.store.begin().await?;
        tx.set_password_hash(actor.user_id, &hash, &text(Utc::now()))
            .await?;
        let keep = current_session.map(token_sha256);
        haechi_store::delete_sessions_of_user(tx.conn(), actor.user_id, keep.as_deref()).await?;
        tx.audit(record(
            actor,
            "user.password_change",
            "user",
            &actor.user_id.to_string(),
            actor.institution_id,
            None,
            None,
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a user's password (regulator admin, or the operator bootstrapping accounts); ends
    /// that user's sessions.
    pub async fn set_password(&self, actor: &Actor, user_id: i64, new: &str) -> Result<()> {
        crate::authz::authorize(actor, crate::authz::Action::ManageUsers)?;
        let user = haechi_store::get_user(self.store.pool(), user_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        self.password_rules("password", &user.username, new)?;
        let hash = hash_off_thread(new.to_string()).await?;
        let mut tx = self.store.begin().await?;
        tx.set_password_hash(user_id, &hash, &text(Utc::now()))
            .await?;
        haechi_store::delete_sessions_of_user(tx.conn(), user_id, None).await?;
        tx.audit(record(
            actor,
            "user.password_set",
            "user",
            &user_id.to_string(),
            user.institution_id,
            None,
            None,
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The actor's own API tokens (labels and dates, never the tokens).
    pub async fn my_tokens(&self, actor: &Actor) -> Result<Vec<ApiTokenInfo>> {
        Ok(haechi_store::list_tokens(self.store.pool(), actor.user_id).await?)
    }

    /// Issues an API token to the actor themself; shown once.
    pub async fn issue_own_token(&self, actor: &Actor, label: &str) -> Result<String> {
        if actor.user_id <= 0 {
            return Err(ServiceError::Unauthenticated);
        }
        let label = label.trim();
        if label.is_empty() || label.chars().count() > 100 {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "label",
                "1 to 100 characters",
            )]));
        }
        self.write_token(actor, actor.user_id, actor.institution_id, label)
            .await
    }

    /// Revokes one of the actor's own tokens; another user's token id answers not found.
    pub async fn revoke_own_token(&self, actor: &Actor, token_id: i64) -> Result<()> {
        let mut tx = self.store.begin().await?;
        if !tx
            .revoke_token(actor.user_id, token_id, &text(Utc::now()))
            .await?
        {
            return Err(ServiceError::NotFound);
        }
        tx.audit(record(
            actor,
            "token.revoke",
            "api_token",
            &token_id.to_string(),
            actor.institution_id,
            None,
            None,
        ))
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hashes_verify_and_differ_per_salt() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(password_matches("correct horse battery", &a));
        assert!(!password_matches("correct horse batterz", &a));
        assert!(dummy_hash().starts_with("$argon2id$"));
        assert!(!password_matches("anything", dummy_hash()));
    }

    #[test]
    fn wait_is_counted_from_the_lock() {
        let now = Utc::now();
        let t = Some(Throttle {
            failures: 5,
            last_failure_at: text(now),
            locked_until: Some(text(now + Duration::seconds(30))),
        });
        let w = wait_seconds(&t, now).unwrap();
        assert!((29..=30).contains(&w), "{w}");
        assert_eq!(wait_seconds(&t, now + Duration::seconds(31)), None);
        assert_eq!(wait_seconds(&None, now), None);
    }
}

/// Sessions' last-use times waiting to be written. One task writes them, one at a time: while a
/// large import holds the write lock, that task is the only one waiting for it. (A task per
/// request held a pooled connection each while it waited, and with all of them taken page reads
/// timed out behind the import.)
#[derive(Default)]
pub(crate) struct PendingTouches {
    due: std::sync::Mutex<HashMap<String, String>>,
    writing: AtomicBool,
}

impl PendingTouches {
    /// Notes that session `id` was used `at`; starts the writer unless it runs already.
    fn record(self: &Arc<Self>, store: &Store, id: String, at: String) {
        self.lock().insert(id, at);
        if !self.writing.swap(true, Ordering::AcqRel) {
            let (me, store) = (self.clone(), store.clone());
            tokio::spawn(async move { me.write_all(&store).await });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.due.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn write_all(&self, store: &Store) {
        loop {
            let due = std::mem::take(&mut *self.lock());
            if due.is_empty() {
                self.writing.store(false, Ordering::Release);
                // A use noted between the take and the store found the writer still running.
                if self.lock().is_empty() || self.writing.swap(true, Ordering::AcqRel) {
                    return;
                }
                continue;
            }
            for (id, at) in due {
                if let Err(e) = haechi_store::touch_session(store.pool(), &id, &at).await {
                    tracing::warn!(error = %e, "recording a session's last use failed");
                }
            }
        }
    }
}
