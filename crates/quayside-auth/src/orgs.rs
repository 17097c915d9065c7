//! Organization and team rules of Quay's data model (`data/model/organization.py`,
//! `team.py`): creating an organization with its contact e-mail, team-name validation and
//! invite tokens.

use quayside_meta::identity::NewAccount;

use crate::accounts::{validate_email, validate_username};
use crate::{utc_now, Auth, AuthError};

/// Quay's `VALID_TEAMNAME_REGEX`, as printed in its messages.
pub const TEAM_NAME_REGEX_TEXT: &str = "^([a-z0-9]+(?:[._-][a-z0-9]+)*)$";

/// Whether `s` matches `^([a-z0-9]+(?:[._-][a-z0-9]+)*)$`: runs of lower-case letters and
/// digits joined by single `.`, `_` or `-`.
fn matches_name_regex(s: &str) -> bool {
    let mut prev_sep = true;
    for c in s.chars() {
        match c {
            'a'..='z' | '0'..='9' => prev_sep = false,
            '.' | '_' | '-' if !prev_sep => prev_sep = true,
            _ => return false,
        }
    }
    !prev_sep
}

/// Quay's `validate_team_name`: the pattern first, then 2..=255 characters. The error is
/// the issue text Quay puts after "Invalid team name <name>: ".
pub fn validate_team_name(name: &str) -> Result<(), String> {
    if !matches_name_regex(name) {
        return Err(format!(
            "Namespace must match expression {TEAM_NAME_REGEX_TEXT}"
        ));
    }
    let len = name.chars().count();
    if !(2..=255).contains(&len) {
        return Err("Team must be between 2 and 255 characters in length".into());
    }
    Ok(())
}

/// Quay's `validate_email`.
pub fn is_valid_email(email: &str) -> bool {
    validate_email(email)
}

/// A new team invite token (the `teammemberinvite.invite_token` default,
/// `urn:teaminvite:<uuid4>`).
pub fn new_team_invite_token() -> String {
    format!("urn:teaminvite:{}", uuid::Uuid::new_v4())
}

impl Auth {
    /// Quay's `create_organization(name, email, creator, contact_email=…)`: the
    /// organization's own `email` is an internal uuid4, the contact e-mail (if any) lives in
    /// `organizationcontactemail`; team `owners` (role `admin`) holds the creator. Name rules
    /// and uniqueness fail with Quay's messages as [`AuthError::BadRequest`].
    pub async fn create_organization(
        &self,
        name: &str,
        contact_email: Option<&str>,
        creator_id: i64,
    ) -> Result<i64, AuthError> {
        if let Err(issue) = validate_username(name) {
            return Err(AuthError::BadRequest(format!(
                "Invalid namespace {name}: {issue}"
            )));
        }
        let taken = |organization: bool| {
            AuthError::BadRequest(if organization {
                format!(
                    "Username has already been taken by an organization and cannot be reused: {name}"
                )
            } else {
                format!("Username has already been taken by user cannot be reused: {name}")
            })
        };
        let db = self.db();
        if let Some(existing) = db.account_by_username(name).await? {
            return Err(taken(existing.organization));
        }
        let now = utc_now();
        let org = NewAccount {
            uuid: uuid::Uuid::new_v4().to_string(),
            username: name.to_owned(),
            email: uuid::Uuid::new_v4().to_string(),
            password_hash: None,
            verified: false,
            organization: true,
            robot: false,
            removed_tag_expiration_s: self.settings().default_tag_expiration_s,
            now,
        };
        match db
            .insert_organization_with_contact(&org, contact_email, creator_id)
            .await?
        {
            Some(id) => Ok(id),
            None => Err(taken(true)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn team_names() {
        assert!(validate_team_name("owners").is_ok());
        assert!(validate_team_name("a.b-c_d9").is_ok());
        assert_eq!(
            validate_team_name("a").expect_err("short"),
            "Team must be between 2 and 255 characters in length"
        );
        for bad in ["", "Ab", "a..b", "-ab", "ab-", "a b", "ab/c"] {
            assert_eq!(
                validate_team_name(bad).expect_err(bad),
                format!("Namespace must match expression {TEAM_NAME_REGEX_TEXT}")
            );
        }
        assert!(validate_team_name(&"a".repeat(256)).is_err());
        assert!(new_team_invite_token().starts_with("urn:teaminvite:"));
    }
}
