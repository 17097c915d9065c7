//! The permission questions Quay's REST API asks (`auth/permissions.py`): who is a
//! superuser, what a caller may do on a user account, an organization, a team and a
//! repository — each with OAuth scopes clamping the role (`_translate_role_for_scopes`).

use quayside_meta::identity::AccountRow;

use crate::{Auth, AuthError, Identity, Role};

/// Team (organization-wide) role, ascending (`TEAM_ROLES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TeamRole {
    Member,
    Creator,
    Admin,
}

impl TeamRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::Member => "member",
            TeamRole::Creator => "creator",
            TeamRole::Admin => "admin",
        }
    }

    pub fn from_name(name: &str) -> Option<TeamRole> {
        match name {
            "member" => Some(TeamRole::Member),
            "creator" => Some(TeamRole::Creator),
            "admin" => Some(TeamRole::Admin),
            _ => None,
        }
    }
}

/// Role on a user account (`USER_ROLES`): `read` < `admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum UserRole {
    Read,
    Admin,
}

/// The scopes an identity carries: `None` for direct logins (Quay's implicit
/// `direct_user_login`, which caps nothing).
fn scopes(identity: &Identity) -> Option<&[String]> {
    match identity {
        Identity::OAuthToken { scopes, .. } => Some(scopes),
        _ => None,
    }
}

fn max_scoped<T: Ord + Copy>(
    identity: &Identity,
    map: impl Fn(&str) -> Option<T>,
    top: T,
) -> Option<T> {
    match scopes(identity) {
        None => Some(top),
        Some(s) => s.iter().filter_map(|x| map(x)).max(),
    }
}

fn clamp<T: Ord + Copy>(role: Option<T>, cap: Option<T>) -> Option<T> {
    match (role, cap) {
        (Some(r), Some(c)) => Some(r.min(c)),
        _ => None,
    }
}

/// The cap OAuth scopes put on repository roles.
pub fn repo_cap(identity: &Identity) -> Option<Role> {
    max_scoped(
        identity,
        |s| match s {
            "repo:read" => Some(Role::Read),
            "repo:write" => Some(Role::Write),
            "repo:admin" => Some(Role::Admin),
            _ => None,
        },
        Role::Admin,
    )
}

/// The cap OAuth scopes put on organization (team) roles.
pub fn team_cap(identity: &Identity) -> Option<TeamRole> {
    max_scoped(
        identity,
        |s| match s {
            "repo:create" => Some(TeamRole::Creator),
            "org:admin" => Some(TeamRole::Admin),
            _ => None,
        },
        TeamRole::Admin,
    )
}

/// The cap OAuth scopes put on the caller's own account.
pub fn user_cap(identity: &Identity) -> Option<UserRole> {
    max_scoped(
        identity,
        |s| match s {
            "user:read" => Some(UserRole::Read),
            "user:admin" => Some(UserRole::Admin),
            _ => None,
        },
        UserRole::Admin,
    )
}

/// Whether the identity's scopes include `scope` (always true for direct logins).
pub fn has_scope(identity: &Identity, scope: &str) -> bool {
    scopes(identity).is_none_or(|s| s.iter().any(|x| x == scope))
}

impl Auth {
    /// `FEATURE_SUPER_USERS` and the user in `SUPER_USERS` (and not a global read-only
    /// superuser, which takes precedence), with `super:user` for OAuth tokens.
    pub fn is_superuser(&self, identity: &Identity) -> bool {
        let s = &self.inner.settings;
        let Some(name) = identity.username() else {
            return false;
        };
        s.super_users_enabled
            && !identity.is_robot()
            && !self.is_global_readonly_superuser(identity)
            && s.super_users.iter().any(|u| u == name)
            && has_scope(identity, "super:user")
    }

    /// In `GLOBAL_READONLY_SUPER_USERS`.
    pub fn is_global_readonly_superuser(&self, identity: &Identity) -> bool {
        let s = &self.inner.settings;
        match identity.username() {
            Some(name) if !identity.is_robot() => {
                s.global_readonly_super_users.iter().any(|u| u == name)
            }
            _ => false,
        }
    }

    /// Whether a username is a (configured) superuser, for views.
    pub fn is_superuser_name(&self, username: &str) -> bool {
        let s = &self.inner.settings;
        s.super_users_enabled
            && !s.global_readonly_super_users.iter().any(|u| u == username)
            && s.super_users.iter().any(|u| u == username)
    }

    /// Whether a username is a global read-only superuser, for views.
    pub fn is_global_readonly_name(&self, username: &str) -> bool {
        self.inner
            .settings
            .global_readonly_super_users
            .iter()
            .any(|u| u == username)
    }

    /// Superuser with `FEATURE_SUPERUSERS_FULL_ACCESS`: may act on any namespace.
    pub fn is_full_access_superuser(&self, identity: &Identity) -> bool {
        self.inner.settings.superusers_full_access && self.is_superuser(identity)
    }

    /// `UserAdminPermission` / `UserReadPermission` on `username`: only the user itself,
    /// capped by `user:*` scopes. Robots have no user role.
    pub fn user_role(&self, identity: &Identity, username: &str) -> Option<UserRole> {
        if identity.is_robot() || identity.username() != Some(username) {
            return None;
        }
        user_cap(identity)
    }

    /// The caller's organization-wide role in `namespace` (`_OrganizationNeed`): admin
    /// of its own namespace, else the best team role it holds there, capped by scopes.
    pub async fn namespace_role(
        &self,
        identity: &Identity,
        namespace: &AccountRow,
    ) -> Result<Option<TeamRole>, AuthError> {
        let Some(account_id) = identity.account_id() else {
            return Ok(None);
        };
        let mut best = None;
        if !identity.is_robot() && identity.username() == Some(namespace.username.as_str()) {
            best = Some(TeamRole::Admin);
        }
        if namespace.organization {
            for name in self
                .inner
                .db
                .account_team_roles(account_id, namespace.id)
                .await?
            {
                best = best.max(TeamRole::from_name(&name));
            }
        }
        Ok(clamp(best, team_cap(identity)))
    }

    /// `AdministerOrganizationPermission(namespace)`; full-access superusers too.
    pub async fn can_admin_namespace(
        &self,
        identity: &Identity,
        namespace: &AccountRow,
    ) -> Result<bool, AuthError> {
        if self.is_full_access_superuser(identity) {
            return Ok(true);
        }
        Ok(self.namespace_role(identity, namespace).await? == Some(TeamRole::Admin))
    }

    /// `OrganizationMemberPermission(namespace)`.
    pub async fn is_namespace_member(
        &self,
        identity: &Identity,
        namespace: &AccountRow,
    ) -> Result<bool, AuthError> {
        if self.is_full_access_superuser(identity) {
            return Ok(true);
        }
        Ok(self.namespace_role(identity, namespace).await?.is_some())
    }

    /// `CreateRepositoryPermission(namespace)`.
    pub async fn can_create_repo_in(
        &self,
        identity: &Identity,
        namespace: &AccountRow,
    ) -> Result<bool, AuthError> {
        if self.is_full_access_superuser(identity) {
            return Ok(true);
        }
        Ok(self
            .namespace_role(identity, namespace)
            .await?
            .is_some_and(|r| r >= TeamRole::Creator))
    }

    /// `ViewTeamPermission(org, team)`: on the team (any role) or org admin.
    pub async fn can_view_team(
        &self,
        identity: &Identity,
        org: &AccountRow,
        team_name: &str,
    ) -> Result<bool, AuthError> {
        if self.can_admin_namespace(identity, org).await? {
            return Ok(true);
        }
        let Some(account_id) = identity.account_id() else {
            return Ok(false);
        };
        if team_cap(identity).is_none() {
            return Ok(false);
        }
        Ok(self
            .inner
            .db
            .account_team_names(account_id, org.id)
            .await?
            .iter()
            .any(|t| t == team_name))
    }

    /// Forgets every remembered credential, so a revoked token, changed password,
    /// regenerated robot token or disabled account stops working at once in this process.
    pub fn invalidate_credentials(&self) {
        self.inner.credentials.clear();
    }

    /// An OAuth access token presented as `Authorization: Bearer` on `/api/v1`
    /// (Quay `validate_bearer_auth`), verified once and then remembered like Basic
    /// credentials.
    pub async fn verify_api_bearer(&self, token: &str) -> Result<Identity, AuthError> {
        self.verify_basic(crate::credentials::OAUTH_TOKEN_USERNAME, token)
            .await
    }
}
