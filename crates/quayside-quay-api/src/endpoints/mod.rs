//! The operations of `/api/v1`, one module per area of Quay's API (`endpoints/api/*.py`).
//! Each module exposes `operations(settings)`: its part of the route table, leaving out
//! what a feature flag turns off (absent operations answer 404, as in Quay).

use crate::routes::Operation;
use crate::QuayApiSettings;

pub(crate) mod apptoken;
pub(crate) mod logs;
pub(crate) mod manifest;
pub(crate) mod messages;
pub(crate) mod mirror;
pub(crate) mod misc;
pub(crate) mod organization;
pub(crate) mod permission;
pub(crate) mod prototype;
pub(crate) mod quota;
pub(crate) mod repository;
pub(crate) mod robot;
pub(crate) mod search;
pub(crate) mod service_keys;
pub(crate) mod star;
pub(crate) mod superuser;
pub(crate) mod tag;
pub(crate) mod tag_expiration;
pub(crate) mod team;
pub(crate) mod user;
pub(crate) mod user_initialize;

pub(crate) fn operations(settings: &QuayApiSettings) -> Vec<Operation> {
    let mut ops = Vec::new();
    ops.extend(misc::operations(settings));
    ops.extend(organization::operations(settings));
    ops.extend(team::operations(settings));
    ops.extend(prototype::operations(settings));
    ops.extend(robot::operations(settings));
    ops.extend(repository::operations(settings));
    ops.extend(permission::operations(settings));
    ops.extend(logs::operations(settings));
    ops.extend(user_initialize::operations(settings));
    ops.extend(user::operations(settings));
    ops.extend(superuser::operations(settings));
    ops.extend(service_keys::operations(settings));
    ops.extend(apptoken::operations(settings));
    ops.extend(star::operations(settings));
    ops.extend(search::operations(settings));
    ops.extend(messages::operations(settings));
    ops.extend(tag::operations(settings));
    ops.extend(manifest::operations(settings));
    ops.extend(quota::operations(settings));
    ops.extend(mirror::operations(settings));
    ops
}
