//! Lookups behind Quay's entity autocomplete (`data/model/user.py` `get_matching_users`,
//! `data/model/team.py` `get_matching_teams`): prefix matches on names, case-insensitive,
//! with `%`, `_` and `!` in the query matched literally.

use crate::{with_pool, Db, MetaError};

/// A user or robot matching a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchingUser {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub robot: bool,
    /// In a search for an organization: whether the account is on one of its teams.
    pub org_member: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct MatchingDb {
    id: i32,
    username: String,
    email: String,
    robot: bool,
    org_member: Option<bool>,
}

/// What [`Db::matching_users`] looks for.
#[derive(Debug, Clone, Copy)]
pub struct UserMatch<'a> {
    pub prefix: &'a str,
    /// Users must be named exactly `prefix` (robots still match by prefix).
    pub exact_users_only: bool,
    /// Also robots `<namespace>+<prefix>…`.
    pub robot_namespace: Option<&'a str>,
    /// Report membership in this organization's teams (robots first then).
    pub organization_id: Option<i64>,
    pub limit: i64,
}

/// The `LIKE … ESCAPE '!'` pattern matching names starting with `prefix`.
pub fn prefix_pattern(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.to_lowercase().chars() {
        if matches!(c, '!' | '%' | '_' | '[') {
            out.push('!');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl Db {
    /// Quay's `get_matching_users`: an exact username match first (so the limit never
    /// cuts it off), then the other matches, `limit` in all. (Quay's exact lookup also
    /// admits robots, so in an organization a robot can take the first place; here the
    /// first place is the user typed in full.)
    pub async fn matching_users(&self, m: UserMatch<'_>) -> Result<Vec<MatchingUser>, MetaError> {
        let mut out = self.matching_users_once(m, true, 1, true).await?;
        let exact = out.first().map(|u| u.username.clone());
        let rest = m.limit - i64::try_from(out.len()).unwrap_or(0);
        if rest > 0 {
            for u in self
                .matching_users_once(m, m.exact_users_only, rest, false)
                .await?
            {
                if exact.as_deref() != Some(u.username.as_str()) {
                    out.push(u);
                }
            }
        }
        Ok(out)
    }

    async fn matching_users_once(
        &self,
        m: UserMatch<'_>,
        exact: bool,
        limit: i64,
        first: bool,
    ) -> Result<Vec<MatchingUser>, MetaError> {
        let user_match = if exact {
            "u.username = $1"
        } else {
            "LOWER(u.username) LIKE $2 ESCAPE '!'"
        };
        // The exact lookup is for the user typed in full, not for robots.
        let robot_match = if m.robot_namespace.is_some() && !first {
            " OR (LOWER(u.username) LIKE $3 ESCAPE '!' AND u.robot = $5)"
        } else {
            ""
        };
        let (member, order) = if m.organization_id.is_some() {
            (
                "EXISTS (SELECT 1 FROM teammember tm JOIN team t ON t.id = tm.team_id \
                 WHERE tm.user_id = u.id AND t.organization_id = $6)",
                "u.robot DESC, u.id",
            )
        } else {
            ("NULL", "u.id")
        };
        let sql = format!(
            r#"SELECT u.id, u.username, u.email, u.robot, {member} AS org_member FROM "user" u
               WHERE (({user_match}) AND u.organization = $4 AND u.robot = $4){robot_match}
               ORDER BY {order} LIMIT $7"#
        );
        let robot_pattern = m
            .robot_namespace
            .map(|ns| prefix_pattern(&format!("{ns}+{}", m.prefix)))
            .unwrap_or_default();
        let rows: Vec<MatchingDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(m.prefix)
                .bind(prefix_pattern(m.prefix))
                .bind(&robot_pattern)
                .bind(false)
                .bind(true)
                .bind(m.organization_id.unwrap_or(0))
                .bind(limit)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|r| MatchingUser {
                id: r.id.into(),
                username: r.username,
                email: r.email,
                robot: r.robot,
                org_member: m.organization_id.map(|_| r.org_member.unwrap_or(false)),
            })
            .collect())
    }

    /// Quay's `get_matching_teams`: up to 10 teams of the organization whose name starts
    /// with `prefix`.
    pub async fn matching_teams(
        &self,
        prefix: &str,
        organization_id: i64,
    ) -> Result<Vec<String>, MetaError> {
        const SQL: &str = "SELECT name FROM team WHERE LOWER(name) LIKE $1 ESCAPE '!' \
                           AND organization_id = $2 ORDER BY id LIMIT 10";
        let names: Vec<String> = with_pool!(self, pool => {
            sqlx::query_scalar(SQL)
                .bind(prefix_pattern(prefix))
                .bind(organization_id)
                .fetch_all(pool)
                .await
        })?;
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_literal() {
        assert_eq!(prefix_pattern("Dev"), "dev%");
        assert_eq!(prefix_pattern("a_b%c!"), "a!_b!%c!!%");
    }
}
