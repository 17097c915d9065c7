//! Entity autocomplete (Quay `endpoints/api/search.py` `EntitySearch`): the users, robots,
//! teams and organization a permission or team dialog offers for a typed prefix.
//!
//! As in Quay:
//! * the prefix is transliterated to ASCII, stripped of spaces and lower-cased;
//! * with `namespace` naming an organization the caller is a member of, its robots
//!   (`<org>+<prefix>…`), with `includeTeams` its teams, and with `includeOrgs` the
//!   organization itself (when its name starts with the prefix) are offered too; with
//!   `namespace` naming the caller's own account, its robots;
//! * users match by prefix, or only exactly with `FEATURE_PARTIAL_USER_AUTOCOMPLETE: false`;
//!   an exact match always comes first; at most 10 users and robots;
//! * results are teams, then users and robots, then the organization.
//!
//! Difference: `is_org_member` says whether the account is on one of the organization's
//! teams; Quay's query reads the wrong column and answers `true` for everyone.

use serde_json::{json, Value};

use crate::ctx::{ok, Ctx};
use crate::endpoints::user::truthy_query;
use crate::routes::{get, h, ApiResult, Operation, QueryParam};
use crate::views::{avatar, team_avatar};
use crate::QuayApiSettings;
use quayside_meta::search::UserMatch;

const ENTITY_PARAMS: &[QueryParam] = &[
    QueryParam {
        name: "includeOrgs",
        kind: "boolean",
        description: "Whether to include orgs names.",
    },
    QueryParam {
        name: "includeTeams",
        kind: "boolean",
        description: "Whether to include team names.",
    },
    QueryParam {
        name: "namespace",
        kind: "string",
        description: "Namespace to use when querying for org entities.",
    },
];

pub(crate) fn operations(_settings: &QuayApiSettings) -> Vec<Operation> {
    vec![get(
        "/api/v1/entities/{prefix}",
        "getMatchingEntities",
        h!(matching_entities),
    )
    .tag("search")
    .summary("Get a list of entities that match the specified prefix.")
    .query(ENTITY_PARAMS)]
}

/// Quay's normalisation of the typed prefix (`unidecode(prefix).replace(" ", "").lower()`).
fn normalise_prefix(prefix: &str) -> String {
    deunicode::deunicode(prefix).replace(' ', "").to_lowercase()
}

async fn matching_entities(ctx: Ctx) -> ApiResult {
    let prefix = normalise_prefix(ctx.param("prefix"));
    let namespace = ctx.query_str("namespace").unwrap_or("");
    let include_teams = ctx.query_str("includeTeams").is_some_and(truthy_query);
    let include_orgs = ctx.query_str("includeOrgs").is_some_and(truthy_query);
    let auth = ctx.auth();
    let db = auth.db();

    let mut teams: Vec<Value> = Vec::new();
    let mut orgs: Vec<Value> = Vec::new();
    let mut robot_namespace: Option<&str> = None;
    let mut organization_id: Option<i64> = None;
    let account = if namespace.is_empty() {
        None
    } else {
        db.account_by_username(namespace).await?
    };
    match account {
        Some(org) if org.organization && !org.robot => {
            organization_id = Some(org.id);
            if auth.is_namespace_member(ctx.identity(), &org).await? {
                robot_namespace = Some(namespace);
                if include_teams {
                    teams = db
                        .matching_teams(&prefix, org.id)
                        .await?
                        .iter()
                        .map(|name| {
                            json!({
                                "name": name,
                                "kind": "team",
                                "is_org_member": true,
                                "avatar": team_avatar(name),
                            })
                        })
                        .collect();
                }
                if include_orgs && namespace.starts_with(&prefix) {
                    orgs.push(json!({
                        "name": org.username,
                        "kind": "org",
                        "is_org_member": true,
                        "avatar": avatar(&org.username, Some(org.email.as_str()), "org"),
                    }));
                }
            }
        }
        _ => {
            if ctx.user_role(namespace) == Some(quayside_auth::UserRole::Admin) {
                robot_namespace = Some(namespace);
            }
        }
    }

    let users = db
        .matching_users(UserMatch {
            prefix: &prefix,
            exact_users_only: !ctx
                .state
                .settings
                .config
                .feature("PARTIAL_USER_AUTOCOMPLETE"),
            robot_namespace,
            organization_id,
            limit: 10,
        })
        .await?;
    let users = users.iter().map(|u| {
        let kind = if u.robot { "robot" } else { "user" };
        let mut v = json!({
            "name": u.username,
            "kind": "user",
            "is_robot": u.robot,
            "avatar": avatar(&u.username, Some(u.email.as_str()), kind),
        });
        if let Some(member) = u.org_member {
            v["is_org_member"] = Value::Bool(u.robot || member);
        }
        v
    });
    let results: Vec<Value> = teams.into_iter().chain(users).chain(orgs).collect();
    Ok(ok(json!({ "results": results })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_normalised_as_quay_does() {
        assert_eq!(normalise_prefix("Dev Table"), "devtable");
        assert_eq!(normalise_prefix("Clé"), "cle");
    }
}
