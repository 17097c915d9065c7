//! Permission model and `/v2/auth` scope evaluation (Quay `auth/permissions.py`,
//! `endpoints/v2/v2auth.py`, `data/model/permission.py`).

use quayside_meta::identity::AccountRow;
use quayside_meta::permissions::RepoRow;
use quayside_meta::{RepositoryKind, RepositoryState};
use serde_json::{json, Map, Value};

use crate::api_perms::TeamRole;
use crate::jwt::{context_and_subject, DISABLED_TUF_ROOT, TOKEN_LIFETIME_S};
use crate::{Auth, AuthError, Grant, Identity, Role};

/// `ns/repo` with Quay's `parse_namespace_repository` library mapping.
pub(crate) fn normalize_repo(name: &str, library_namespace: &str) -> String {
    let trimmed = name.trim_end_matches('/');
    match trimmed.split_once('/') {
        Some(_) => trimmed.to_owned(),
        None => format!("{library_namespace}/{trimmed}"),
    }
}

/// A parsed `repository:<name>:<actions>` scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedScope {
    /// Name as requested, including an optional `SERVER_HOSTNAME/` prefix.
    pub(crate) registry_and_repo: String,
    /// Name without the hostname prefix.
    pub(crate) namespace_and_repo: String,
    pub(crate) actions: Vec<String>,
}

fn is_name_components(s: &str) -> bool {
    !s.is_empty()
        && s.split('/').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        })
}

/// Quay's `SCOPE_REGEX_TEMPLATE` match, written out by hand.
pub(crate) fn parse_scope(scope: &str, server_hostname: &str) -> Option<ParsedScope> {
    let rest = scope.strip_prefix("repository:")?;
    let (name, actions) = rest.rsplit_once(':')?;
    let actions: Vec<String> = actions.split(',').map(str::to_owned).collect();
    if actions
        .iter()
        .any(|a| !matches!(a.as_str(), "push" | "pull" | "*"))
    {
        return None;
    }
    let host_prefix = format!("{server_hostname}/");
    let namespace_and_repo = match name.strip_prefix(&host_prefix) {
        Some(rest) if is_name_components(rest) => rest,
        _ if is_name_components(name) => name,
        _ => return None,
    };
    Some(ParsedScope {
        registry_and_repo: name.to_owned(),
        namespace_and_repo: namespace_and_repo.to_owned(),
        actions,
    })
}

/// Who acts, with the OAuth scope caps that apply.
struct Principal<'a> {
    account_id: i64,
    username: &'a str,
    robot: bool,
    scopes: Option<&'a [String]>,
    superuser: bool,
}

impl Principal<'_> {
    /// `_repo_role_for_scopes`: the cap on repository roles.
    fn repo_cap(&self) -> Option<Role> {
        let Some(scopes) = self.scopes else {
            return Some(Role::Admin);
        };
        scopes
            .iter()
            .filter_map(|s| match s.as_str() {
                "repo:read" => Some(Role::Read),
                "repo:write" => Some(Role::Write),
                "repo:admin" => Some(Role::Admin),
                _ => None,
            })
            .max()
    }

    /// `_team_role_for_scopes`: the cap on organization (team) roles.
    fn team_cap(&self) -> Option<TeamRole> {
        let Some(scopes) = self.scopes else {
            return Some(TeamRole::Admin);
        };
        scopes
            .iter()
            .filter_map(|s| match s.as_str() {
                "repo:create" => Some(TeamRole::Creator),
                "org:admin" => Some(TeamRole::Admin),
                _ => None,
            })
            .max()
    }
}

fn clamp<T: Ord + Copy>(role: Option<T>, cap: Option<T>) -> Option<T> {
    match (role, cap) {
        (Some(r), Some(c)) => Some(r.min(c)),
        _ => None,
    }
}

impl Auth {
    fn principal<'a>(&self, identity: &'a Identity) -> Option<Principal<'a>> {
        let (account_id, username, robot, scopes) = match identity {
            Identity::Anonymous => return None,
            Identity::User { id, username, .. } => (*id, username.as_str(), false, None),
            Identity::Robot { id, username, .. } => (*id, username.as_str(), true, None),
            Identity::OAuthToken {
                user_id,
                username,
                scopes,
                ..
            } => (*user_id, username.as_str(), false, Some(scopes.as_slice())),
            Identity::AppToken {
                user_id, username, ..
            } => (*user_id, username.as_str(), false, None),
        };
        Some(Principal {
            account_id,
            username,
            robot,
            scopes,
            superuser: self.is_superuser(identity),
        })
    }

    /// Role from grants alone (own namespace, admin teams, direct and team permissions,
    /// full-access superuser), capped by OAuth scopes. Public visibility is not included.
    async fn granted_role(
        &self,
        p: &Principal<'_>,
        namespace: &AccountRow,
        repo: Option<&RepoRow>,
    ) -> Result<Option<Role>, AuthError> {
        let db = &self.inner.db;
        let mut best: Option<Role> = None;
        if !p.robot && p.username == namespace.username {
            best = Some(Role::Admin);
        }
        if namespace.organization {
            let teams = db.account_team_roles(p.account_id, namespace.id).await?;
            if teams.iter().any(|t| t == "admin") {
                best = Some(Role::Admin);
            }
        }
        if let Some(repo) = repo {
            for name in db.account_repo_roles(p.account_id, repo.id).await? {
                best = best.max(Role::from_name(&name));
            }
        }
        let mut role = clamp(best, p.repo_cap());
        if p.superuser && self.inner.settings.superusers_full_access {
            role = Some(Role::Admin);
        }
        Ok(role)
    }

    /// Quay's `CreateRepositoryPermission(namespace)`.
    async fn can_create_in(
        &self,
        p: &Principal<'_>,
        namespace: &AccountRow,
    ) -> Result<bool, AuthError> {
        if p.superuser && self.inner.settings.superusers_full_access {
            return Ok(true);
        }
        let mut best: Option<TeamRole> = None;
        if !p.robot && p.username == namespace.username {
            best = Some(TeamRole::Admin);
        }
        if namespace.organization {
            for name in self
                .inner
                .db
                .account_team_roles(p.account_id, namespace.id)
                .await?
            {
                best = best.max(TeamRole::from_name(&name));
            }
        }
        Ok(clamp(best, p.team_cap()).is_some_and(|r| r >= TeamRole::Creator))
    }

    /// Live repository `namespace/name` (a repository marked for deletion counts as absent).
    async fn live_repo(&self, namespace: &str, name: &str) -> Result<Option<RepoRow>, AuthError> {
        Ok(self
            .inner
            .db
            .repository_by_name(namespace, name)
            .await?
            .filter(|r| r.state != RepositoryState::MarkedForDeletion))
    }

    /// Effective role on `namespace/repo`: grants, capped by OAuth scopes, and `read` on
    /// public repositories (for anonymous callers only with `FEATURE_ANONYMOUS_ACCESS`).
    pub async fn repo_role(
        &self,
        identity: &Identity,
        namespace: &str,
        repo: &str,
    ) -> Result<Option<Role>, AuthError> {
        let Some(ns) = self.inner.db.account_by_username(namespace).await? else {
            return Ok(None);
        };
        let repo_row = self.live_repo(namespace, repo).await?;
        let granted = match self.principal(identity) {
            Some(p) => self.granted_role(&p, &ns, repo_row.as_ref()).await?,
            None => None,
        };
        let public = repo_row.as_ref().is_some_and(|r| r.visibility.is_public())
            && (!identity.is_anonymous() || self.inner.settings.anonymous_access);
        let global_reader = self.is_global_readonly_superuser(identity);
        Ok(if public || global_reader {
            granted.max(Some(Role::Read))
        } else {
            granted
        })
    }

    /// Repository ids for `/v2/_catalog` (Quay `get_visible_repositories`): repositories
    /// the caller has a permission on (directly, via a team, or as organization admin),
    /// plus public ones when `FEATURE_PUBLIC_CATALOG`. Anonymous callers see only the
    /// latter.
    pub async fn visible_repo_ids(&self, identity: &Identity) -> Result<Vec<i64>, AuthError> {
        let s = &self.inner.settings;
        let include_public = s.public_catalog && (!identity.is_anonymous() || s.anonymous_access);
        let account = identity.account_id();
        if account.is_none() && !include_public {
            return Ok(Vec::new());
        }
        Ok(self
            .inner
            .db
            .visible_repository_ids(account, include_public)
            .await?)
    }

    /// What `/v2/_catalog` may list for the holder of `grant` (`None`:
    /// anonymous). Superusers see everything; others see what they have
    /// permissions on, plus public repositories with `FEATURE_PUBLIC_CATALOG`;
    /// disabled accounts and anonymous callers without a public catalog see nothing.
    pub async fn catalog_scope(
        &self,
        grant: Option<&Grant>,
    ) -> Result<Option<quayside_meta::CatalogScope>, AuthError> {
        let s = &self.inner.settings;
        let to_scope = |ids: Vec<i64>| {
            quayside_meta::CatalogScope::Only(
                ids.into_iter()
                    .filter_map(|i| i32::try_from(i).ok())
                    .collect(),
            )
        };
        let Some(grant) = grant.filter(|g| !g.is_anonymous()) else {
            if !(s.public_catalog && s.anonymous_access) {
                return Ok(None);
            }
            return Ok(Some(to_scope(
                self.visible_repo_ids(&Identity::Anonymous).await?,
            )));
        };
        let Some(account) = self.inner.db.account_by_username(&grant.subject).await? else {
            return Ok(None);
        };
        if !account.enabled {
            return Ok(None);
        }
        if !account.robot && s.super_users.iter().any(|u| u == &account.username) {
            return Ok(Some(quayside_meta::CatalogScope::All));
        }
        let include_public = s.public_catalog;
        let ids = self
            .inner
            .db
            .visible_repository_ids(Some(account.id), include_public)
            .await?;
        Ok(Some(to_scope(ids)))
    }

    /// `/v2/auth`: evaluates every requested scope (Quay `_authorize_or_downscope_request`)
    /// and signs the token. `service` becomes `aud` verbatim.
    pub async fn issue_registry_token(
        &self,
        identity: &Identity,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<String, AuthError> {
        let s = &self.inner.settings;
        let anonymous = identity.is_anonymous();
        if anonymous && !s.anonymous_access {
            return Err(AuthError::AnonymousNotAllowed);
        }
        if anonymous && scopes.is_empty() {
            return Err(AuthError::Invalid(
                "access to the requested resource is not authorized".into(),
            ));
        }
        let mut access = Vec::new();
        let mut tuf_roots = Map::new();
        for scope in scopes {
            if scope.is_empty() {
                if anonymous {
                    return Err(AuthError::Invalid(
                        "access to the requested resource is not authorized".into(),
                    ));
                }
                continue;
            }
            let (entry, ns_repo) = self.authorize_scope(identity, scope).await?;
            access.push(entry);
            tuf_roots.insert(ns_repo, json!(DISABLED_TUF_ROOT));
        }
        let (context, subject) = context_and_subject(identity, tuf_roots);
        self.sign_bearer(
            service,
            &subject,
            context,
            Value::Array(access),
            TOKEN_LIFETIME_S,
        )
    }

    async fn authorize_scope(
        &self,
        identity: &Identity,
        scope: &str,
    ) -> Result<(Value, String), AuthError> {
        let s = &self.inner.settings;
        let db = &self.inner.db;
        let Some(parsed) = parse_scope(scope, &s.server_hostname) else {
            return Err(AuthError::BadScope(format!(
                "Unable to decode repository and actions: {scope}"
            )));
        };
        let full = normalize_repo(&parsed.namespace_and_repo, &s.library_namespace);
        let (namespace, reponame) = full.split_once('/').unwrap_or((full.as_str(), ""));
        let (namespace, reponame) = (namespace.to_owned(), reponame.to_owned());
        if quayside_oci::name::validate_repository(&reponame, s.extended_repository_names).is_err()
        {
            let nested = parsed.namespace_and_repo.split('/').count() > 1;
            let msg = if !s.extended_repository_names && nested {
                format!(
                    "Nested repositories are not supported. Found: {}",
                    parsed.namespace_and_repo
                )
            } else {
                format!("Invalid repository name: {}", parsed.namespace_and_repo)
            };
            return Err(AuthError::NameInvalid(msg));
        }
        let mut ns_row = db.account_by_username(&namespace).await?;
        if let Some(ns) = &ns_row {
            if !ns.enabled {
                return Err(AuthError::Denied(format!(
                    "Namespace {namespace} has been disabled. Please contact a system administrator."
                )));
            }
        }
        let mut repo = self.live_repo(&namespace, &reponame).await?;
        let repo_is_public = repo.as_ref().is_some_and(|r| r.visibility.is_public());
        let unsupported = |r: &RepoRow| {
            AuthError::Unsupported(format!(
                "This repository is for managing {} and not container images.",
                r.kind
            ))
        };
        let principal = self.principal(identity);
        let mut role = match (&principal, &ns_row) {
            (Some(p), Some(ns)) => self.granted_role(p, ns, repo.as_ref()).await?,
            _ => None,
        };
        let wants = |a: &str| parsed.actions.iter().any(|x| x == a);
        let mut granted: Vec<&str> = Vec::new();

        if wants("push") {
            if let Some(p) = &principal {
                if let Some(r) = &repo {
                    if role >= Some(Role::Write) {
                        if r.kind != RepositoryKind::Image {
                            return Err(unsupported(r));
                        }
                        // Only the repository's mirroring robot pushes to a mirror.
                        let mirror_robot = r.state == RepositoryState::Mirror
                            && p.robot
                            && db.mirror_robot_id(r.id).await? == Some(p.account_id);
                        let may_push =
                            quayside_domain::namespace::accepts_push(r.state, mirror_robot);
                        if may_push {
                            granted.push("push");
                        }
                    }
                } else {
                    if ns_row.is_none() && s.create_namespace_on_push && !p.robot {
                        ns_row = self
                            .namespaces()
                            .create_on_push(&namespace, p.account_id)
                            .await?;
                    }
                    if let Some(ns) = &ns_row {
                        if self.can_create_in(p, ns).await? {
                            let created = self
                                .namespaces()
                                .create_repository_in(
                                    ns,
                                    &reponame,
                                    &quayside_domain::RepositorySpec {
                                        public: !s.create_private_repo_on_push,
                                        kind: RepositoryKind::Image,
                                        description: None,
                                    },
                                    identity.account_id(),
                                )
                                .await?;
                            if created.is_some() {
                                repo = self.live_repo(&namespace, &reponame).await?;
                                if let Some(r) = &repo {
                                    if r.kind != RepositoryKind::Image {
                                        return Err(AuthError::Unsupported(
                                            "Cannot push to an app repository".into(),
                                        ));
                                    }
                                    granted.push("push");
                                    role = self.granted_role(p, ns, Some(r)).await?;
                                }
                            }
                        }
                    }
                }
            }
        }

        if wants("pull") && (role >= Some(Role::Read) || repo_is_public) && ns_row.is_some() {
            if let Some(r) = &repo {
                if r.kind != RepositoryKind::Image {
                    return Err(unsupported(r));
                }
            }
            granted.push("pull");
        }

        if wants("*") && role == Some(Role::Admin) {
            if let Some(r) = &repo {
                if r.kind != RepositoryKind::Image {
                    return Err(unsupported(r));
                }
                if r.state.is_writable() {
                    granted.push("*");
                } else if !matches!(r.state, RepositoryState::ReadOnly | RepositoryState::Mirror) {
                    tracing::debug!(repo = %full, state = %r.state, "no * for repository state");
                }
            }
        }

        let entry = json!({
            "type": "repository",
            "name": parsed.registry_and_repo,
            "actions": granted,
        });
        Ok((entry, format!("{namespace}/{reponame}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_like_quay() {
        let p = parse_scope("repository:acme/app:push,pull", "localhost:5000").expect("valid");
        assert_eq!(p.registry_and_repo, "acme/app");
        assert_eq!(p.namespace_and_repo, "acme/app");
        assert_eq!(p.actions, vec!["push", "pull"]);
        let p =
            parse_scope("repository:localhost:5000/acme/app:pull", "localhost:5000").expect("host");
        assert_eq!(p.registry_and_repo, "localhost:5000/acme/app");
        assert_eq!(p.namespace_and_repo, "acme/app");
        let p = parse_scope("repository:quay.io/acme/app:*", "quay.io").expect("host");
        assert_eq!(p.namespace_and_repo, "acme/app");
        assert!(parse_scope("registry:catalog:*", "h").is_none());
        assert!(parse_scope("repository:acme/app:delete", "h").is_none());
        assert!(parse_scope("repository:acme/app:", "h").is_none());
        assert!(parse_scope("repository:acme//app:pull", "h").is_none());
        assert!(parse_scope("repository:acme/app:pull repository:x/y:pull", "h").is_none());
        assert!(parse_scope("repository:other:5000/acme/app:pull", "h").is_none());
    }

    #[test]
    fn library_mapping() {
        assert_eq!(normalize_repo("ubuntu", "library"), "library/ubuntu");
        assert_eq!(normalize_repo("acme/app/x", "library"), "acme/app/x");
    }
}
