//! Robot accounts as the robots API manages them (Quay `data/model/user.py`:
//! `create_robot`, `get_robot_and_metadata`, `regenerate_robot_token`, `delete_robot`,
//! `list_entity_robot_permission_teams`). Tokens are 64 characters of `[A-Z0-9]`,
//! stored encrypted under `DATABASE_SECRET_KEY` in `robotaccounttoken`.

use quayside_meta::identity::{AccountRow, NewRobot};
use quayside_meta::robots::RobotRow;
use serde_json::Value;

use crate::random::random_string;
use crate::{Auth, AuthError};
use quayside_domain::namespace::namespace_name_issue;

/// Length of a robot token.
pub const ROBOT_TOKEN_LEN: usize = 64;
/// Longest stored robot description (`robotaccountmetadata.description`).
const DESCRIPTION_MAX: usize = 255;

/// A robot with its token in clear.
#[derive(Debug, Clone)]
pub struct RobotWithToken {
    pub robot: RobotRow,
    pub token: String,
}

/// One robot of a namespace listing.
#[derive(Debug, Clone)]
pub struct RobotListing {
    pub robot: RobotRow,
    /// The token in clear, when asked for.
    pub token: Option<String>,
    /// Team names (deduplicated, in join order), when permissions were asked for.
    pub teams: Vec<String>,
    /// Repository names (deduplicated, in join order), when permissions were asked for.
    pub repositories: Vec<String>,
}

/// Python's `json.dumps(value)` (default separators, ASCII escaping): how Quay's
/// `JSONField` stores `robotaccountmetadata.unstructured_json`.
pub fn python_json_dumps(value: &Value) -> String {
    quayside_oci::pyjson::dumps(value, quayside_oci::pyjson::Style::Python)
}

impl Auth {
    fn decrypt_robot_token(&self, robot: &RobotRow) -> Result<String, AuthError> {
        let Some(stored) = robot.token.as_deref() else {
            return Err(AuthError::Internal(format!(
                "robot {} has no token row",
                robot.username
            )));
        };
        self.encrypter()?.decrypt(stored).map_err(|e| {
            AuthError::Internal(format!(
                "robot {} token cannot be decrypted: {e}",
                robot.username
            ))
        })
    }

    /// Quay `create_robot(shortname, parent, description, unstructured_metadata)`: the
    /// robot `user` row, its token, `quayrobot` federated login and metadata
    /// (description cut to 255 characters; `unstructured_metadata` or `{}`).
    /// Refusals carry Quay's messages as [`AuthError::BadRequest`].
    pub async fn create_robot_account(
        &self,
        parent: &AccountRow,
        shortname: &str,
        description: &str,
        unstructured_metadata: Option<&Value>,
    ) -> Result<RobotWithToken, AuthError> {
        if let Err(issue) = namespace_name_issue(shortname) {
            return Err(AuthError::BadRequest(format!(
                "The name for the robot '{shortname}' is invalid: {issue}"
            )));
        }
        let db = self.db();
        let username = format!("{}+{shortname}", parent.username);
        if db.account_by_username(&username).await?.is_some() {
            return Err(AuthError::BadRequest(format!(
                "Existing robot with name: {username}"
            )));
        }
        let token = random_string(ROBOT_TOKEN_LEN);
        let encrypted_token = self.encrypter()?.encrypt(&token);
        let description: String = description.chars().take(DESCRIPTION_MAX).collect();
        let mut account = self.new_robot_account(&username);
        account.robot = true;
        let robot_id = db
            .insert_robot(&NewRobot {
                account,
                encrypted_token,
                description: description.clone(),
            })
            .await?;
        let unstructured = unstructured_metadata
            .filter(|v| !is_falsy(v))
            .map_or_else(|| "{}".to_owned(), python_json_dumps);
        if unstructured != "{}" {
            db.set_robot_metadata(robot_id, &description, &unstructured)
                .await?;
        }
        let robot = db
            .robot_by_username(&username)
            .await?
            .ok_or_else(|| AuthError::Internal(format!("robot {username} vanished")))?;
        Ok(RobotWithToken { robot, token })
    }

    /// Quay `get_robot_and_metadata`: the robot (its metadata row created when missing)
    /// with its decrypted token; `None` when there is no such robot.
    pub async fn robot_with_token(
        &self,
        robot_username: &str,
    ) -> Result<Option<RobotWithToken>, AuthError> {
        let db = self.db();
        let Some(robot) = db.robot_by_username(robot_username).await? else {
            return Ok(None);
        };
        let robot = if robot.description.is_none() {
            db.ensure_robot_metadata(robot.id).await?;
            db.robot_by_username(robot_username).await?.unwrap_or(robot)
        } else {
            robot
        };
        let token = self.decrypt_robot_token(&robot)?;
        Ok(Some(RobotWithToken { robot, token }))
    }

    /// Quay `regenerate_robot_token`: a new token (old one stops working at once), new
    /// `email` and `uuid` on the robot, its federated login ident reset. `None` when there
    /// is no such robot.
    pub async fn regenerate_robot_token(
        &self,
        robot_username: &str,
    ) -> Result<Option<RobotWithToken>, AuthError> {
        let db = self.db();
        let Some(robot) = db.robot_by_username(robot_username).await? else {
            return Ok(None);
        };
        db.ensure_robot_metadata(robot.id).await?;
        let token = random_string(ROBOT_TOKEN_LEN);
        let encrypted = self.encrypter()?.encrypt(&token);
        db.replace_robot_token(
            robot.id,
            &encrypted,
            &uuid::Uuid::new_v4().to_string(),
            &uuid::Uuid::new_v4().to_string(),
        )
        .await?;
        self.invalidate_credentials();
        let robot = db
            .robot_by_username(robot_username)
            .await?
            .ok_or_else(|| AuthError::Internal(format!("robot {robot_username} vanished")))?;
        Ok(Some(RobotWithToken { robot, token }))
    }

    /// Quay `delete_robot`: the robot and every row referencing it. False when there is
    /// no such robot.
    pub async fn delete_robot_account(&self, robot_id: i64) -> Result<bool, AuthError> {
        let deleted = self.db().delete_robot_account(robot_id).await?;
        self.invalidate_credentials();
        Ok(deleted)
    }

    /// The robots of `namespace` as Quay's robots list builds them (see
    /// [`quayside_meta::Db::list_namespace_robots`]): one entry per robot in first-seen
    /// order, tokens decrypted only when `include_token`.
    pub async fn list_robots(
        &self,
        namespace: &str,
        include_token: bool,
        include_permissions: bool,
        limit: Option<i64>,
    ) -> Result<Vec<RobotListing>, AuthError> {
        let rows = self
            .db()
            .list_namespace_robots(namespace, include_permissions, limit)
            .await?;
        let mut out: Vec<RobotListing> = Vec::new();
        for row in rows {
            let idx = match out.iter().position(|r| r.robot.id == row.robot.id) {
                Some(i) => i,
                None => {
                    let token = if include_token && row.robot.token.is_some() {
                        Some(self.decrypt_robot_token(&row.robot)?)
                    } else {
                        None
                    };
                    out.push(RobotListing {
                        robot: row.robot.clone(),
                        token,
                        teams: Vec::new(),
                        repositories: Vec::new(),
                    });
                    out.len() - 1
                }
            };
            let entry = &mut out[idx];
            if let Some(team) = row.team_name {
                if !entry.teams.contains(&team) {
                    entry.teams.push(team);
                }
            }
            if let Some(repo) = row.repository_name {
                if !entry.repositories.contains(&repo) {
                    entry.repositories.push(repo);
                }
            }
        }
        Ok(out)
    }

    fn new_robot_account(&self, username: &str) -> quayside_meta::identity::NewAccount {
        quayside_meta::identity::NewAccount {
            uuid: uuid::Uuid::new_v4().to_string(),
            username: username.to_owned(),
            email: uuid::Uuid::new_v4().to_string(),
            password_hash: None,
            verified: false,
            organization: false,
            robot: true,
            removed_tag_expiration_s: self.settings().default_tag_expiration_s,
            now: crate::utc_now(),
        }
    }
}

/// Python falsiness of a JSON value (`x or {}`).
fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_dumps_format() {
        let v = serde_json::json!({"a": [1, "é"], "b": {"c": null}});
        assert_eq!(
            python_json_dumps(&v),
            r#"{"a": [1, "\u00e9"], "b": {"c": null}}"#
        );
    }
}
