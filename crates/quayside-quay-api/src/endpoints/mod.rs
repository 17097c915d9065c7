//! The operations of `/api/v1`, one module per area of Quay's API (`endpoints/api/*.py`).
//! Each module exposes `operations(settings)`: its part of the route table, leaving out
//! what a feature flag turns off (absent operations answer 404, as in Quay).

use crate::routes::Operation;
use crate::QuayApiSettings;

pub(crate) mod misc;
pub(crate) mod user_initialize;

pub(crate) fn operations(settings: &QuayApiSettings) -> Vec<Operation> {
    let mut ops = Vec::new();
    ops.extend(misc::operations(settings));
    ops.extend(user_initialize::operations(settings));
    ops
}
