//! Accounts and API tokens. Tokens are random, shown once, and stored as their SHA-256 (they are
//! high-entropy, so a fast hash suffices).

use haechi_core::{Actor, FieldError, Role};
use haechi_store::{NewUser, User};
use sha2::{Digest, Sha256};

use crate::authz::{self, Action};
use crate::{record, Result, Service, ServiceError};

pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

impl Service {
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
        let mut errors = Vec::new();
        if username.len() < 3
            || !username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            errors.push(FieldError::new(
                "username",
                "3 or more letters, digits, '.', '_' or '-'",
            ));
        }
        if role.is_institution_role() != institution_id.is_some() {
            errors.push(FieldError::new(
                "institution_id",
                "required for institution roles (ciso, security_staff) and only for them",
            ));
        }
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let mut tx = self.store.begin().await?;
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
