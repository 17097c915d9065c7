//! Robot accounts beyond login (Quay `data/model/user.py`, `data/model/permission.py`):
//! lookups with token and metadata, the listing behind the robots API, token
//! regeneration, a robot's repository permissions and deleting a robot with everything
//! that references it.
//!
//! Tokens are moved as stored (`v0$$…`); quayside-auth encrypts and decrypts them.

use crate::db::begin_write;
use std::collections::HashSet;

use chrono::NaiveDateTime;

use crate::identity::id32;
use crate::schema::TABLES;
use crate::{with_pool, Db, MetaError};

/// A robot with its token and metadata rows (either may be missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RobotRow {
    pub id: i64,
    pub username: String,
    pub creation_date: Option<NaiveDateTime>,
    pub last_accessed: Option<NaiveDateTime>,
    /// `robotaccounttoken.token`, encrypted.
    pub token: Option<String>,
    pub description: Option<String>,
    /// `robotaccountmetadata.unstructured_json` as stored (JSON text).
    pub unstructured_json: Option<String>,
}

/// One row of the robots listing: a robot, and when permissions were asked for, one
/// repository it has a permission on and one team it is on (a join, as in Quay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RobotListRow {
    pub robot: RobotRow,
    pub repository_name: Option<String>,
    pub team_name: Option<String>,
}

/// A robot's direct repository permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RobotPermissionRow {
    pub repository_name: String,
    pub visibility: crate::Visibility,
    pub role: String,
}

type RobotDb = (
    i32,
    String,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn robot_from(r: RobotDb) -> RobotRow {
    RobotRow {
        id: r.0.into(),
        username: r.1,
        creation_date: r.2,
        last_accessed: r.3,
        token: r.4,
        description: r.5,
        unstructured_json: r.6,
    }
}

const ROBOT_COLS: &str = "u.id, u.username, u.creation_date, u.last_accessed, t.token, \
     m.description, m.unstructured_json";

impl Db {
    /// Robot account `username` (`ns+short`) with its token and metadata, if it exists.
    pub async fn robot_by_username(&self, username: &str) -> Result<Option<RobotRow>, MetaError> {
        let sql = format!(
            r#"SELECT {ROBOT_COLS} FROM "user" u
               LEFT JOIN robotaccounttoken t ON t.robot_account_id = u.id
               LEFT JOIN robotaccountmetadata m ON m.robot_account_id = u.id
               WHERE u.username = $1 AND u.robot = $2
               ORDER BY m.id LIMIT 1"#
        );
        let row: Option<RobotDb> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(username).bind(true).fetch_optional(pool).await
        })?;
        Ok(row.map(robot_from))
    }

    /// Quay's `list_entity_robot_permission_teams`: robots whose name starts with
    /// `<namespace>+` (a case-insensitive LIKE, as Quay's `**`), only those with a token
    /// row, most recently accessed first (never-accessed first, as PostgreSQL orders
    /// NULLs). With `include_permissions` each row is joined with the robot's direct
    /// repository permissions and team memberships; `limit` applies to the joined rows.
    pub async fn list_namespace_robots(
        &self,
        namespace: &str,
        include_permissions: bool,
        limit: Option<i64>,
    ) -> Result<Vec<RobotListRow>, MetaError> {
        let joins = if include_permissions {
            "LEFT JOIN repositorypermission p ON p.user_id = t.robot_account_id \
             LEFT JOIN repository r ON r.id = p.repository_id \
             LEFT JOIN teammember tm ON tm.user_id = u.id \
             LEFT JOIN team tt ON tt.id = tm.team_id"
        } else {
            ""
        };
        let extra = if include_permissions {
            "r.name, tt.name"
        } else {
            "NULL, NULL"
        };
        let limit_sql = match limit {
            Some(n) if n >= 0 => format!(" LIMIT {n}"),
            _ => String::new(),
        };
        let sql = format!(
            r#"SELECT {ROBOT_COLS}, {extra} FROM "user" u
               LEFT JOIN robotaccountmetadata m ON m.robot_account_id = u.id
               JOIN robotaccounttoken t ON t.robot_account_id = u.id
               {joins}
               WHERE u.robot = $1 AND LOWER(u.username) LIKE LOWER($2)
               ORDER BY CASE WHEN u.last_accessed IS NULL THEN 0 ELSE 1 END,
                        u.last_accessed DESC, u.id{limit_sql}"#
        );
        let pattern = format!("{namespace}+%");
        type Row = (
            i32,
            String,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(true).bind(&pattern).fetch_all(pool).await
        })?;
        Ok(rows
            .into_iter()
            .map(|r| RobotListRow {
                robot: robot_from((r.0, r.1, r.2, r.3, r.4, r.5, r.6)),
                repository_name: r.7,
                team_name: r.8,
            })
            .collect())
    }

    /// Quay's `get_or_create_robot_metadata`: a `robotaccountmetadata` row for the robot
    /// (description `""`, `{}`) unless it has one.
    pub async fn ensure_robot_metadata(&self, robot_id: i64) -> Result<(), MetaError> {
        const SQL: &str =
            "INSERT INTO robotaccountmetadata (robot_account_id, description, unstructured_json) \
             SELECT $1, $2, $3 WHERE NOT EXISTS \
             (SELECT 1 FROM robotaccountmetadata WHERE robot_account_id = $1)";
        with_pool!(self, pool => {
            sqlx::query(SQL).bind(id32(robot_id)?).bind("").bind("{}").execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Replaces a robot's metadata (description and unstructured JSON text).
    pub async fn set_robot_metadata(
        &self,
        robot_id: i64,
        description: &str,
        unstructured_json: &str,
    ) -> Result<(), MetaError> {
        const SQL: &str =
            "UPDATE robotaccountmetadata SET description = $2, unstructured_json = $3 \
             WHERE robot_account_id = $1";
        with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(id32(robot_id)?)
                .bind(description)
                .bind(unstructured_json)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Quay's `regenerate_robot_token`, in one transaction: the new encrypted token (a
    /// token row is created when missing), the `quayrobot` federated login's ident reset
    /// to `robot:<id>`, and fresh `email` / `uuid` on the robot's `user` row.
    pub async fn replace_robot_token(
        &self,
        robot_id: i64,
        encrypted_token: &str,
        new_email: &str,
        new_uuid: &str,
    ) -> Result<(), MetaError> {
        with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let updated = sqlx::query("UPDATE robotaccounttoken SET token = $2 WHERE robot_account_id = $1")
                .bind(id32(robot_id)?)
                .bind(encrypted_token)
                .execute(&mut *tx)
                .await?;
            if updated.rows_affected() == 0 {
                sqlx::query(
                    "INSERT INTO robotaccounttoken (robot_account_id, token, fully_migrated) \
                     VALUES ($1, $2, $3)",
                )
                .bind(id32(robot_id)?)
                .bind(encrypted_token)
                .bind(false)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "UPDATE federatedlogin SET service_ident = $2 WHERE user_id = $1 \
                 AND service_id = (SELECT id FROM loginservice WHERE name = $3)",
            )
            .bind(id32(robot_id)?)
            .bind(format!("robot:{robot_id}"))
            .bind("quayrobot")
            .execute(&mut *tx)
            .await?;
            sqlx::query(r#"UPDATE "user" SET email = $2, uuid = $3 WHERE id = $1"#)
                .bind(id32(robot_id)?)
                .bind(new_email)
                .bind(new_uuid)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Quay's `list_robot_permissions`: the robot's direct repository permissions.
    pub async fn robot_permissions(
        &self,
        robot_username: &str,
    ) -> Result<Vec<RobotPermissionRow>, MetaError> {
        const SQL: &str = r#"SELECT r.name, v.name, ro.name FROM repositorypermission p
            JOIN repository r ON r.id = p.repository_id
            JOIN visibility v ON v.id = r.visibility_id
            JOIN role ro ON ro.id = p.role_id
            JOIN "user" u ON u.id = p.user_id
            WHERE u.username = $1 AND u.robot = $2 ORDER BY p.id"#;
        let rows: Vec<(String, crate::Visibility, String)> = with_pool!(self, pool => {
            sqlx::query_as(SQL).bind(robot_username).bind(true).fetch_all(pool).await
        })?;
        Ok(rows
            .into_iter()
            .map(|(repository_name, visibility, role)| RobotPermissionRow {
                repository_name,
                visibility,
                role,
            })
            .collect())
    }

    /// Whether a repository mirror uses the robot (Quay's `robot_has_mirror`).
    pub async fn robot_has_mirror(&self, robot_id: i64) -> Result<bool, MetaError> {
        const SQL: &str = "SELECT COUNT(*) FROM repomirrorconfig WHERE internal_robot_id = $1";
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar(SQL).bind(id32(robot_id)?).fetch_one(pool).await
        })?;
        Ok(n > 0)
    }

    /// Quay's `delete_robot` (`delete_instance(recursive=True, delete_nullable=True)`):
    /// every row that references the robot through a foreign key — and, recursively,
    /// the rows referencing those — is deleted, deepest first, then the robot itself, in
    /// one transaction. Returns false when there is no such robot.
    pub async fn delete_robot_account(&self, robot_id: i64) -> Result<bool, MetaError> {
        let mut statements = Vec::new();
        let mut seen = HashSet::new();
        dependent_deletes("user", "$1", &mut seen, &mut statements);
        with_pool!(self, pool => {
            let mut tx = begin_write!(pool);
            let found: i64 = sqlx::query_scalar(r#"SELECT COUNT(*) FROM "user" WHERE id = $1 AND robot = $2"#)
                .bind(id32(robot_id)?)
                .bind(true)
                .fetch_one(&mut *tx)
                .await?;
            if found == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            for sql in &statements {
                sqlx::query(sql).bind(id32(robot_id)?).execute(&mut *tx).await?;
            }
            sqlx::query(r#"DELETE FROM "user" WHERE id = $1"#)
                .bind(id32(robot_id)?)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(true)
    }
}

/// Appends, deepest first, the `DELETE` statements for every row that references a row
/// of `table` selected by `selector` (an SQL expression yielding ids). Each foreign key
/// is followed once, as peewee's dependency search does.
fn dependent_deletes(
    table: &str,
    selector: &str,
    seen: &mut HashSet<&'static str>,
    out: &mut Vec<String>,
) {
    for t in TABLES {
        for fk in t.fks.iter().filter(|fk| fk.ref_table == table) {
            if !seen.insert(fk.name) {
                continue;
            }
            let child_selector = format!(
                "SELECT \"{}\" FROM \"{}\" WHERE \"{}\" IN ({selector})",
                t.pk_column, t.name, fk.column
            );
            dependent_deletes(t.name, &child_selector, seen, out);
            out.push(format!(
                "DELETE FROM \"{}\" WHERE \"{}\" IN ({selector})",
                t.name, fk.column
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependents_of_a_user_are_deleted_before_it() {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        dependent_deletes("user", "$1", &mut seen, &mut out);
        let pos = |needle: &str| {
            out.iter()
                .position(|s| s.starts_with(needle))
                .unwrap_or(usize::MAX)
        };
        assert!(pos("DELETE FROM \"robotaccounttoken\"") < usize::MAX);
        assert!(pos("DELETE FROM \"teammember\" WHERE \"user_id\"") < usize::MAX);
        // Tags of a repository go before the repository.
        assert!(pos("DELETE FROM \"tag\"") < pos("DELETE FROM \"repository\""));
    }
}
