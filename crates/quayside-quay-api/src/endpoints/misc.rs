//! `GET /api/v1/discovery`, `GET /api/v1/error/<error_type>` and
//! `GET /api/v1/registry/capabilities`.

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
        get(
            "/api/v1/registry/capabilities",
            "getRegistryCapabilities",
            h!(registry_capabilities),
        )
        .tag("capabilities")
        .summary("Get registry capabilities.")
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

/// The architectures a repository mirror may filter on (Quay's `VALID_ARCHITECTURES`),
/// sorted.
pub(crate) const MIRROR_ARCHITECTURES: &[&str] = &["amd64", "arm64", "ppc64le", "s390x"];

/// What clients may rely on: sparse indexes (`FEATURE_SPARSE_INDEX` and the architectures
/// whose children an index must carry) and the mirror architecture filter's values.
async fn registry_capabilities(ctx: Ctx) -> ApiResult {
    let config = &ctx.state.settings.config;
    let sparse = config.feature("SPARSE_INDEX");
    let required: &[String] = if sparse {
        &config.sparse_index_required_archs
    } else {
        &[]
    };
    Ok(ok(serde_json::json!({
        "sparse_manifests": {
            "supported": sparse,
            "required_architectures": required,
            "optional_architectures_allowed": sparse && !required.is_empty(),
        },
        "mirror_architectures": MIRROR_ARCHITECTURES,
    })))
}

async fn error_description(ctx: Ctx) -> ApiResult {
    let kind = ErrorType::parse(ctx.param("error_type")).ok_or_else(QuayApiError::not_found)?;
    Ok(ok(crate::error_type_view(kind)))
}
