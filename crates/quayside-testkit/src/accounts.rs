//! Accounts made through quayside-auth's own paths, as the API would make them.

use quayside_auth::{Auth, AuthError, Identity};
use quayside_domain::{DomainError, RepositorySpec};
use quayside_meta::RepositoryKind;

/// A robot under the account `namespace_id`, made by the robot API's own path
/// (`Auth::create_robot_account`): (`namespace+short`, token).
pub async fn robot(
    auth: &Auth,
    namespace_id: i64,
    short: &str,
) -> Result<(String, String), AuthError> {
    let parent = auth
        .db()
        .account_by_id(namespace_id)
        .await?
        .expect("robot parent account");
    let made = auth.create_robot_account(&parent, short, "", None).await?;
    Ok((made.robot.username, made.token))
}

/// An `image` repository with no description, made by the production path
/// (`Namespaces::create_repository`, as the API and a push through `/v2/auth` make one), by
/// `creator` when given.
pub async fn repository(
    auth: &Auth,
    namespace: &str,
    name: &str,
    public: bool,
    creator: Option<&Identity>,
) -> Result<i64, DomainError> {
    let spec = RepositorySpec {
        public,
        kind: RepositoryKind::Image,
        description: None,
    };
    auth.namespaces()
        .create_repository(
            namespace,
            name,
            &spec,
            creator.and_then(Identity::account_id),
        )
        .await
}
