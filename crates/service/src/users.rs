//! Accounts and API tokens. Tokens are random, shown once, and stored as their SHA-256 (they are
//! high-entropy, so a fast hash suffices).

use haechi_core::{Actor, FieldError, Role};
use haechi_store::{NewUser, User, WriteTx};
use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::authz::{self, Action};
use crate::{record, Result, Service, ServiceError};

pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An account as the administration page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct UserAccount {
    pub user: User,
    /// The institution's Korean and English names, for institution roles.
    pub institution_name: Option<(String, String)>,
    /// The last portal sign-in, if any (from the audit log).
    pub last_sign_in: Option<String>,
}

/// A password handed out once (new account or reset): 16 characters without look-alikes.
fn initial_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    (0..16)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// A role's institution rule: institution roles need one, the others must not have one.
fn role_institution_errors(role: Role, institution_id: Option<i64>) -> Vec<FieldError> {
    if role.is_institution_role() == institution_id.is_some() {
        return Vec::new();
    }
    vec![FieldError::new(
        "institution_id",
        "required for institution roles (ciso, security_staff) and only for them",
    )]
}

/// The institution named for an account must exist.
async fn institution_exists(tx: &mut WriteTx, institution_id: Option<i64>) -> Result<()> {
    if let Some(i) = institution_id {
        haechi_store::get_institution(tx.conn(), i)
            .await?
            .ok_or_else(|| {
                ServiceError::invalid(vec![FieldError::new(
                    "institution_id",
                    "no such institution",
                )])
            })?;
    }
    Ok(())
}

impl Service {
    /// Every account with its institution and last sign-in (regulator admin).
    pub async fn list_user_accounts(&self, actor: &Actor) -> Result<Vec<UserAccount>> {
        authz::authorize(actor, Action::ManageUsers)?;
        let pool = self.store.pool();
        let users = haechi_store::list_users(pool, None).await?;
        let last = haechi_store::last_sign_ins(pool).await?;
        let institutions = haechi_store::all_institutions(pool).await?;
        Ok(users
            .into_iter()
            .map(|user| UserAccount {
                institution_name: user.institution_id.and_then(|id| {
                    institutions
                        .iter()
                        .find(|i| i.id == id)
                        .map(|i| (i.input.name_ko.clone(), i.input.name_en.clone()))
                }),
                last_sign_in: last
                    .iter()
                    .find(|(id, _)| *id == user.id)
                    .map(|(_, at)| at.clone()),
                user,
            })
            .collect())
    }

    /// One account (regulator admin).
    pub async fn user_account(&self, actor: &Actor, user_id: i64) -> Result<UserAccount> {
        self.list_user_accounts(actor)
            .await?
            .into_iter()
            .find(|a| a.user.id == user_id)
            .ok_or(ServiceError::NotFound)
    }

    /// Creates an account with a random initial password, returned once (never stored in clear).
    pub async fn create_user_with_password(
        &self,
        actor: &Actor,
        username: &str,
        display_name: &str,
        role: Role,
        institution_id: Option<i64>,
    ) -> Result<(User, String)> {
        authz::authorize(actor, Action::ManageUsers)?;
        let username = username.trim();
        let display_name = display_name.trim();
        let mut errors = username_errors(username);
        if display_name.is_empty() || display_name.chars().count() > 100 {
            errors.push(FieldError::new("display_name", "1 to 100 characters"));
        }
        errors.extend(role_institution_errors(role, institution_id));
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let password = initial_password();
        let hash = {
            let p = password.clone();
            tokio::task::spawn_blocking(move || crate::sessions::hash_password(&p))
                .await
                .map_err(|e| ServiceError::rule("password_hash", e.to_string()))??
        };
        let mut tx = self.store.begin().await?;
        institution_exists(&mut tx, institution_id).await?;
        if haechi_store::get_user_by_username(tx.conn(), username)
            .await?
            .is_some()
        {
            return Err(ServiceError::invalid(vec![FieldError::new(
                "username",
                "is already taken",
            )]));
        }
        let id = tx
            .insert_user(&NewUser {
                username: username.into(),
                display_name: display_name.into(),
                role,
                institution_id,
                password_hash: Some(hash),
            })
            .await?;
        tx.audit(record(
            actor,
            "user.create",
            "user",
            &id.to_string(),
            institution_id,
            None,
            Some(serde_json::json!({"username": username, "display_name": display_name, "role": role, "institution_id": institution_id, "initial_password": "set"})),
        ))
        .await?;
        let u = haechi_store::get_user(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok((u, password))
    }

    /// Disables or enables an account; disabling ends its sessions. An admin cannot disable
    /// their own account.
    pub async fn set_user_active(&self, actor: &Actor, user_id: i64, active: bool) -> Result<User> {
        authz::authorize(actor, Action::ManageUsers)?;
        if user_id == actor.user_id && !active {
            return Err(ServiceError::rule(
                "own_account",
                "you cannot disable your own account",
            ));
        }
        let mut tx = self.store.begin().await?;
        let user = haechi_store::get_user(tx.conn(), user_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.set_user_disabled(user_id, !active).await?;
        if !active {
            haechi_store::delete_sessions_of_user(tx.conn(), user_id, None).await?;
        }
        tx.audit(record(
            actor,
            if active {
                "user.enable"
            } else {
                "user.disable"
            },
            "user",
            &user_id.to_string(),
            user.institution_id,
            Some(serde_json::json!({"disabled": user.disabled})),
            Some(serde_json::json!({"disabled": !active})),
        ))
        .await?;
        let u = haechi_store::get_user(tx.conn(), user_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(u)
    }

    /// Sets a new random password for an account, returned once; the account's sessions end.
    pub async fn reset_password(&self, actor: &Actor, user_id: i64) -> Result<String> {
        authz::authorize(actor, Action::ManageUsers)?;
        let password = initial_password();
        self.set_password(actor, user_id, &password).await?;
        Ok(password)
    }

    /// Changes an account's role and institution; the account's sessions end so that the next
    /// sign-in starts with the new role. An admin cannot change their own role.
    pub async fn change_user_role(
        &self,
        actor: &Actor,
        user_id: i64,
        role: Role,
        institution_id: Option<i64>,
    ) -> Result<User> {
        authz::authorize(actor, Action::ManageUsers)?;
        if user_id == actor.user_id {
            return Err(ServiceError::rule(
                "own_account",
                "you cannot change your own role",
            ));
        }
        let mut tx = self.store.begin().await?;
        let user = haechi_store::get_user(tx.conn(), user_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let errors = role_institution_errors(role, institution_id);
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        institution_exists(&mut tx, institution_id).await?;
        tx.set_user_role(user_id, role, institution_id).await?;
        haechi_store::delete_sessions_of_user(tx.conn(), user_id, None).await?;
        tx.audit(record(
            actor,
            "user.role_change",
            "user",
            &user_id.to_string(),
            institution_id.or(user.institution_id),
            Some(serde_json::json!({"role": user.role, "institution_id": user.institution_id})),
            Some(serde_json::json!({"role": role, "institution_id": institution_id})),
        ))
        .await?;
        let u = haechi_store::get_user(tx.conn(), user_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(u)
    }

    /// Resolves a bearer token to its user.
    pub async fn actor_for_token(&self, token: &str) -> Result<Actor> {
        let user = haechi_store::user_by_token_sha256(self.store.pool(), &token_sha256(token))
            .await?
            .ok_or(ServiceError::Unauthenticated)?;
        Ok(Actor {
            user_id: user.id,
            username: user.username,
            role: user.role,
            institution_id: user.institution_id,
        })
    }

    pub async fn create_user(
        &self,
        actor: &Actor,
        username: &str,
        display_name: &str,
        role: Role,
        institution_id: Option<i64>,
    ) -> Result<User> {
        authz::authorize(actor, Action::ManageUsers)?;
        let mut errors = username_errors(username);
        errors.extend(role_institution_errors(role, institution_id));
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let mut tx = self.store.begin().await?;
        institution_exists(&mut tx, institution_id).await?;
        let id = tx
            .insert_user(&NewUser {
                username: username.into(),
                display_name: display_name.into(),
                role,
                institution_id,
                password_hash: None,
            })
            .await?;
        tx.audit(record(
            actor,
            "user.create",
            "user",
            &id.to_string(),
            institution_id,
            None,
            Some(serde_json::json!({"username": username, "role": role})),
        ))
        .await?;
        let u = haechi_store::get_user(tx.conn(), id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        tx.commit().await?;
        Ok(u)
    }

    /// Issues a new API token for a user; the token is returned once and never stored.
    pub async fn issue_token(&self, actor: &Actor, user_id: i64, label: &str) -> Result<String> {
        authz::authorize(actor, Action::ManageUsers)?;
        let user = haechi_store::get_user(self.store.pool(), user_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        self.write_token(actor, user_id, user.institution_id, label)
            .await
    }

    /// Stores a new random token for `user_id` with its audit entry; returns it, once.
    pub(crate) async fn write_token(
        &self,
        actor: &Actor,
        user_id: i64,
        institution_id: Option<i64>,
        label: &str,
    ) -> Result<String> {
        let token = crate::sessions::random_hex("hct_");
        let mut tx = self.store.begin().await?;
        tx.insert_token(user_id, &token_sha256(&token), label)
            .await?;
        tx.audit(record(
            actor,
            "token.issue",
            "user",
            &user_id.to_string(),
            institution_id,
            None,
            Some(serde_json::json!({"label": label})),
        ))
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    pub async fn list_users(&self, actor: &Actor, role: Option<Role>) -> Result<Vec<User>> {
        authz::authorize(actor, Action::ManageUsers)?;
        Ok(haechi_store::list_users(self.store.pool(), role).await?)
    }

    /// Advisors, for the officer's assignment form.
    pub async fn list_advisors(&self, actor: &Actor) -> Result<Vec<User>> {
        authz::authorize(actor, Action::ManageApplications)?;
        Ok(haechi_store::list_users(self.store.pool(), Some(Role::Advisor)).await?)
    }
}

fn username_errors(username: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if username.len() < 3
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        errors.push(FieldError::new(
            "username",
            "3 to 64 letters, digits, '.', '_' or '-'",
        ));
    }
    errors
}
