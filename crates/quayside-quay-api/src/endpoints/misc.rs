//! `GET /api/v1/discovery` and `GET /api/v1/error/<error_type>`.

use crate::ctx::{ok, Ctx};
use crate::error::ErrorType;
use crate::routes::{get, h, ApiResult, Operation, QueryParam};
use crate::{QuayApiError, QuayApiSettings};

pub(crate) fn operations(_settings: &QuayApiSettings) -> Vec<Operation> {
    vec![
        get("/api/v1/discovery", "discovery", h!(discovery))
            .tag("discovery")
            .summary("List all of the API endpoints available in the swagger API format.")
            .anon_allowed()
            .query(&[QueryParam {
                name: "internal",
                kind: "boolean",
                description: "Whether to include internal APIs.",
            }]),
        get(
            "/api/v1/error/{error_type}",
            "getErrorDescription",
            h!(error_description),
        )
        .tag("error")
        .summary("Get a detailed description of the error.")
        .anon_allowed(),
    ]
}

async fn discovery(ctx: Ctx) -> ApiResult {
    let internal = ctx.query_bool("internal", false)?;
    Ok(ok(crate::discovery::document(
        &ctx.state.table,
        &ctx.state.settings,
        internal,
    )))
}

async fn error_description(ctx: Ctx) -> ApiResult {
    let kind = ErrorType::parse(ctx.param("error_type")).ok_or_else(QuayApiError::not_found)?;
    Ok(ok(crate::error_type_view(kind)))
}
