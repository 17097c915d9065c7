//! Namespaces and what is made inside them, as Quay's data model makes them
//! (`data/model/user.py`, `organization.py`, `team.py`, `repository.py`): the name rules
//! with Quay's messages, organizations (by the API and on push), and repositories with their
//! default permissions. `/v2` (a push that creates, through `/v2/auth`) and `/api/v1` call
//! the same [`Namespaces`] handle, so each rule has one home.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use quayside_meta::identity::{AccountRow, NewAccount};
use quayside_meta::permissions::NewRepository;
use quayside_meta::{Db, RepositoryKind, RepositoryState, Visibility};

use crate::DomainError;

/// Quay's `VALID_USERNAME_REGEX` (namespaces and robot short names), as printed in its
/// messages.
pub const NAMESPACE_REGEX_TEXT: &str = "^([a-z0-9]+(?:[._-][a-z0-9]+)*)$";

/// Quay's `VALID_TEAMNAME_REGEX`, as printed in its messages.
pub const TEAM_NAME_REGEX_TEXT: &str = "^([a-z0-9]+(?:[._-][a-z0-9]+)*)$";

/// Quay's `validate_username` (namespaces, robot short names): the issue text Quay puts
/// after "Invalid namespace <name>: ".
pub fn namespace_name_issue(name: &str) -> Result<(), String> {
    use quayside_oci::name::{validate_namespace, NameError};
    match validate_namespace(name) {
        Ok(()) => Ok(()),
        Err(NameError::NamespaceLength(_)) => {
            Err("Namespace must be between 2 and 255 characters in length".into())
        }
        Err(_) => Err(format!(
            "Namespace must match expression {NAMESPACE_REGEX_TEXT}"
        )),
    }
}

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

/// Quay's `validate_email`: `[^@]+@[^@]+\.[^@]+` anywhere at the start.
pub fn is_valid_email(email: &str) -> bool {
    let Some((local, rest)) = email.split_once('@') else {
        return false;
    };
    if local.is_empty() {
        return false;
    }
    // The domain part up to the next '@' must contain a '.' with something on both sides.
    let domain = rest.split('@').next().unwrap_or_default();
    match domain.find('.') {
        Some(i) => i > 0 && i + 1 < domain.len(),
        None => false,
    }
}

/// A new team invite token (the `teammemberinvite.invite_token` default,
/// `urn:teaminvite:<uuid4>`).
pub fn new_team_invite_token() -> String {
    format!("urn:teaminvite:{}", uuid::Uuid::new_v4())
}

/// Whether a push may write to a repository in `state`: a normal repository takes pushes; a
/// mirror only from its mirroring robot (`pusher_is_mirror_robot`); read-only and
/// marked-for-deletion ones never.
pub fn accepts_push(state: RepositoryState, pusher_is_mirror_robot: bool) -> bool {
    match state {
        RepositoryState::Normal => true,
        RepositoryState::Mirror => pusher_is_mirror_robot,
        _ => false,
    }
}

/// What a new repository is made with (Quay's `create_repository` arguments).
#[derive(Debug, Clone, Copy)]
pub struct RepositorySpec<'a> {
    pub public: bool,
    pub kind: RepositoryKind,
    pub description: Option<&'a str>,
}

/// The settings the namespace rules read.
#[derive(Debug, Clone, Copy, Default)]
pub struct NamespaceSettings {
    /// `DEFAULT_TAG_EXPIRATION` in seconds: a new namespace's time-machine window.
    pub default_tag_expiration_s: i64,
    /// `FEATURE_EXTENDED_REPOSITORY_NAMES`.
    pub extended_repository_names: bool,
}

/// The one way namespaces, organizations and repositories are created.
#[derive(Debug, Clone)]
pub struct Namespaces {
    db: Db,
    settings: NamespaceSettings,
}

fn utc_now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

impl Namespaces {
    pub fn new(db: Db, settings: NamespaceSettings) -> Namespaces {
        Namespaces { db, settings }
    }

    pub fn settings(&self) -> &NamespaceSettings {
        &self.settings
    }

    /// A namespace account row as Quay's `create_user_noverify` starts one: unverified, no
    /// password, a user (the caller changes what differs).
    pub fn new_account(&self, username: &str, email: &str) -> NewAccount {
        NewAccount {
            uuid: uuid::Uuid::new_v4().to_string(),
            username: username.to_owned(),
            email: email.to_owned(),
            password_hash: None,
            verified: false,
            organization: false,
            robot: false,
            removed_tag_expiration_s: self.settings.default_tag_expiration_s,
            now: utc_now(),
        }
    }

    /// The name rule and then uniqueness, with Quay's messages, for a new user or
    /// organization named `name`.
    pub async fn check_new_name(&self, name: &str) -> Result<(), DomainError> {
        if let Err(issue) = namespace_name_issue(name) {
            return Err(DomainError::Invalid(format!(
                "Invalid namespace {name}: {issue}"
            )));
        }
        if let Some(existing) = self.db.account_by_username(name).await? {
            return Err(name_taken(name, existing.organization));
        }
        Ok(())
    }

    /// Quay's `create_organization(name, email, creator, contact_email=…)`: the
    /// organization's own `email` is an internal uuid4, the contact e-mail (if any) lives in
    /// `organizationcontactemail`; team `owners` (role `admin`) holds the creator. Name rules
    /// and uniqueness fail with Quay's messages as [`DomainError::Invalid`].
    pub async fn create_organization(
        &self,
        name: &str,
        contact_email: Option<&str>,
        creator_id: i64,
    ) -> Result<i64, DomainError> {
        self.check_new_name(name).await?;
        let mut org = self.new_account(name, &uuid::Uuid::new_v4().to_string());
        org.organization = true;
        match self
            .db
            .insert_organization_with_contact(&org, contact_email, creator_id)
            .await?
        {
            Some(id) => Ok(id),
            None => Err(name_taken(name, true)),
        }
    }

    /// `CREATE_NAMESPACE_ON_PUSH`: the organization `name` owned by `owner_id` (org row,
    /// `owners` team with role admin holding the owner; its e-mail derived from the owner's
    /// as `<local>+<org>@<domain>`, or a random UUID when the owner is a robot). Returns
    /// the namespace row as it now is: when the name is invalid or taken (also by a
    /// concurrent push), whatever holds the name, if anything.
    pub async fn create_on_push(
        &self,
        name: &str,
        owner_id: i64,
    ) -> Result<Option<AccountRow>, DomainError> {
        let Some(owner) = self.db.account_by_id(owner_id).await? else {
            return Ok(None);
        };
        match self.check_new_name(name).await {
            Ok(()) => {
                let email = match owner.email.split_once('@') {
                    Some((local, domain)) if !owner.robot => format!("{local}+{name}@{domain}"),
                    _ => uuid::Uuid::new_v4().to_string(),
                };
                let mut org = self.new_account(name, &email);
                org.organization = true;
                self.db.insert_organization(&org, owner.id).await?;
            }
            Err(DomainError::Invalid(reason)) => {
                tracing::debug!(namespace = name, %reason, "namespace not created on push");
            }
            Err(e) => return Err(e),
        }
        Ok(self.db.account_by_username(name).await?)
    }

    /// Quay's `create_repository`: the name rule, then the repository with its kind and
    /// description, its counters and the creator's `admin` permission (unless the creator is
    /// an organization) in one transaction; then the namespace's default permissions when the
    /// creator is not the namespace itself. `creator_id` is the creating account.
    pub async fn create_repository(
        &self,
        namespace: &str,
        name: &str,
        spec: &RepositorySpec<'_>,
        creator_id: Option<i64>,
    ) -> Result<i64, DomainError> {
        if let Err(e) =
            quayside_oci::name::validate_repository(name, self.settings.extended_repository_names)
        {
            return Err(DomainError::NameInvalid(e.to_string()));
        }
        let Some(ns) = self.db.account_by_username(namespace).await? else {
            return Err(DomainError::NamespaceUnknown(namespace.to_owned()));
        };
        match self
            .create_repository_in(&ns, name, spec, creator_id)
            .await?
        {
            Some(id) => Ok(id),
            None => Err(DomainError::RepositoryExists(format!("{namespace}/{name}"))),
        }
    }

    /// [`Namespaces::create_repository`] in the namespace row `ns`, with a name already
    /// checked. `None` when the repository exists (nothing is written then).
    pub async fn create_repository_in(
        &self,
        ns: &AccountRow,
        name: &str,
        spec: &RepositorySpec<'_>,
        creator_id: Option<i64>,
    ) -> Result<Option<i64>, DomainError> {
        let db = &self.db;
        let creator = match creator_id {
            Some(id) => db.account_by_id(id).await?,
            None => None,
        };
        let admin_user_id = creator.as_ref().filter(|c| !c.organization).map(|c| c.id);
        let yesterday = (utc_now() - chrono::Duration::days(1)).date();
        let Some(repo_id) = db
            .insert_repository(&NewRepository {
                namespace_id: ns.id,
                name: name.to_owned(),
                visibility: Visibility::public_if(spec.public),
                kind: spec.kind,
                description: spec.description.map(str::to_owned),
                badge_token: uuid::Uuid::new_v4().to_string(),
                admin_user_id,
                action_count_date: yesterday,
            })
            .await?
        else {
            return Ok(None);
        };
        if let Some(c) = creator.filter(|c| !c.organization && c.username != ns.username) {
            self.apply_default_permissions(repo_id, ns.id, c.id).await?;
        }
        Ok(Some(repo_id))
    }

    /// Quay's `apply_default_permissions`: per delegate, a prototype bound to the creating
    /// user wins over a general one; the creator itself is skipped (it already is admin).
    async fn apply_default_permissions(
        &self,
        repo_id: i64,
        org_id: i64,
        creator_id: i64,
    ) -> Result<(), DomainError> {
        let db = &self.db;
        let protos = db.permission_prototypes(org_id, creator_id).await?;
        let mut teams: BTreeMap<i64, String> = BTreeMap::new();
        let mut users: BTreeMap<i64, String> = BTreeMap::new();
        for p in protos {
            let (map, key) = match (p.delegate_team_id, p.delegate_user_id) {
                (Some(t), None) => (&mut teams, t),
                (None, Some(u)) => (&mut users, u),
                _ => continue,
            };
            if map.contains_key(&key) && p.activating_user_id.is_none() {
                continue;
            }
            map.insert(key, p.role);
        }
        for (team_id, role) in teams {
            db.add_team_repo_role_if_missing(repo_id, team_id, &role)
                .await?;
        }
        for (user_id, role) in users {
            if user_id != creator_id {
                db.add_user_repo_role_if_missing(repo_id, user_id, &role)
                    .await?;
            }
        }
        Ok(())
    }
}

/// Quay's uniqueness message for a taken namespace name.
fn name_taken(name: &str, by_organization: bool) -> DomainError {
    DomainError::Invalid(if by_organization {
        format!("Username has already been taken by an organization and cannot be reused: {name}")
    } else {
        format!("Username has already been taken by user cannot be reused: {name}")
    })
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

    #[test]
    fn push_by_state() {
        assert!(accepts_push(RepositoryState::Normal, false));
        assert!(accepts_push(RepositoryState::Mirror, true));
        assert!(!accepts_push(RepositoryState::Mirror, false));
        assert!(!accepts_push(RepositoryState::ReadOnly, true));
        assert!(!accepts_push(RepositoryState::MarkedForDeletion, true));
    }
}
