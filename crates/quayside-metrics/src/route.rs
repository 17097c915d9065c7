//! Request path → Quay's `route` label.
//!
//! Quay labels `quay_request_duration_seconds` with Flask's `request.endpoint`:
//! `<blueprint>.<view function>` (for example `v2.download_blob`), or for `/api/v1`
//! resources `api.<resource class, lower case>` (for example `api.repository`). The same
//! names are used here, so dashboards grouped `by (route)` read the same for Quay and
//! quayside. The set of values is fixed: a path that matches no known route is
//! [`UNKNOWN_ROUTE`], never the path itself.

/// The route label for a request that matches no known route.
pub const UNKNOWN_ROUTE: &str = "unknown";

/// What the path says about a request: its route label and the namespace it addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo<'a> {
    /// Quay's endpoint name, or [`UNKNOWN_ROUTE`].
    pub route: &'static str,
    /// The namespace in the path (`/v2/<ns>/<repo>/…`, `/api/v1/repository/<ns>/…`,
    /// `/api/v1/organization/<ns>`), when there is one.
    pub namespace: Option<&'a str>,
}

impl RouteInfo<'_> {
    fn route(route: &'static str) -> RouteInfo<'static> {
        RouteInfo {
            route,
            namespace: None,
        }
    }
}

/// A route label set by a handler on its **response** (`response.extensions_mut()
/// .insert(RouteName("api.user"))`). The HTTP layer prefers it over [`route_for`], so a
/// surface can name its routes precisely without this crate knowing its paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteName(pub &'static str);

/// Maps method + path to Quay's route name (and the namespace in the path, if any).
pub fn route_for<'a>(method: &str, path: &'a str) -> RouteInfo<'a> {
    if path == "/v2" || path.starts_with("/v2/") {
        return v2_route(method, path);
    }
    // Quay serves user/initialize from its web blueprint, not the API.
    if path == "/api/v1/user/initialize" {
        return RouteInfo::route("web.user_initialize");
    }
    if let Some(rest) = path.strip_prefix("/api/v1/") {
        return api_route(rest);
    }
    RouteInfo::route(match path {
        "/health" | "/health/instance" => "web.instance_health",
        "/health/endtoend" | "/status" => "web.endtoend_health",
        "/health/warning" => "web.warning_health",
        "/_internal_ping" => "web.internal_ping",
        "/v1/_internal_ping" => "v1.internal_ping",
        _ => UNKNOWN_ROUTE,
    })
}

fn is_get(method: &str) -> bool {
    method == "GET" || method == "HEAD"
}

fn looks_like_digest(reference: &str) -> bool {
    reference.contains(':')
}

/// The namespace of a `/v2` repository name: its first segment when it has more than one.
fn namespace_of(name: &str) -> Option<&str> {
    match name.split_once('/') {
        Some((ns, repo)) if !ns.is_empty() && !repo.is_empty() => Some(ns),
        _ => None,
    }
}

fn v2_route<'a>(method: &str, path: &'a str) -> RouteInfo<'a> {
    let rest = path.strip_prefix("/v2").unwrap_or(path);
    let rest = rest.strip_prefix('/').unwrap_or(rest);
    let fixed = match rest {
        "" => Some(is_get(method).then_some("v2.v2_support_enabled")),
        "auth" => Some(is_get(method).then_some("v2.generate_registry_jwt")),
        "_catalog" => Some(is_get(method).then_some("v2.catalog_search")),
        _ => None,
    };
    if let Some(route) = fixed {
        return RouteInfo::route(route.unwrap_or(UNKNOWN_ROUTE));
    }

    // Routes are recognised from the right: a repository name may contain any segment.
    let (name, route): (&str, Option<&'static str>) =
        if let Some(name) = rest.strip_suffix("/tags/list") {
            (name, is_get(method).then_some("v2.list_all_tags"))
        } else if let Some(name) = rest
            .strip_suffix("/blobs/uploads/")
            .or_else(|| rest.strip_suffix("/blobs/uploads"))
        {
            (name, (method == "POST").then_some("v2.start_blob_upload"))
        } else if let Some((name, kind, last)) = split_tail(rest) {
            match kind {
                Tail::Upload => (
                    name,
                    match method {
                        "GET" | "HEAD" => Some("v2.fetch_existing_upload"),
                        "PATCH" => Some("v2.upload_chunk"),
                        "PUT" => Some("v2.monolithic_upload_or_last_chunk"),
                        "DELETE" => Some("v2.cancel_upload"),
                        _ => None,
                    },
                ),
                Tail::Manifest => {
                    let digest = looks_like_digest(last);
                    (
                        name,
                        match (method, digest) {
                            ("GET" | "HEAD", false) => Some("v2.fetch_manifest_by_tagname"),
                            ("GET" | "HEAD", true) => Some("v2.fetch_manifest_by_digest"),
                            ("PUT", false) => Some("v2.write_manifest_by_tagname"),
                            ("PUT", true) => Some("v2.write_manifest_by_digest"),
                            ("DELETE", false) => Some("v2.delete_manifest_by_tag"),
                            ("DELETE", true) => Some("v2.delete_manifest_by_digest"),
                            _ => None,
                        },
                    )
                }
                Tail::Blob => (
                    name,
                    match method {
                        "HEAD" => Some("v2.check_blob_exists"),
                        "GET" => Some("v2.download_blob"),
                        "DELETE" => Some("v2.delete_digest"),
                        _ => None,
                    },
                ),
                Tail::Referrers => (name, is_get(method).then_some("v2.list_manifest_referrers")),
            }
        } else {
            ("", None)
        };
    match route {
        Some(route) if !name.is_empty() => RouteInfo {
            route,
            namespace: namespace_of(name),
        },
        _ => RouteInfo::route(UNKNOWN_ROUTE),
    }
}

enum Tail {
    Upload,
    Manifest,
    Blob,
    Referrers,
}

/// Splits `<name>/<kind>/<last>` for the routes whose last segment is a value.
fn split_tail(rest: &str) -> Option<(&str, Tail, &str)> {
    let (head, last) = rest.rsplit_once('/')?;
    if last.is_empty() {
        return None;
    }
    if let Some(name) = head.strip_suffix("/blobs/uploads") {
        return Some((name, Tail::Upload, last));
    }
    let (name, kind) = head.rsplit_once('/')?;
    let kind = match kind {
        "manifests" => Tail::Manifest,
        "blobs" => Tail::Blob,
        "referrers" => Tail::Referrers,
        _ => return None,
    };
    Some((name, kind, last))
}

fn api_route(rest: &str) -> RouteInfo<'_> {
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match segments.as_slice() {
        ["discovery"] => RouteInfo::route("api.discovery"),
        ["user"] => RouteInfo::route("api.user"),
        ["repository"] => RouteInfo::route("api.repositorylist"),
        ["organization", org] if !org.is_empty() => RouteInfo {
            route: "api.organization",
            namespace: Some(org),
        },
        ["repository", ns, repo] if !ns.is_empty() && !repo.is_empty() => RouteInfo {
            route: "api.repository",
            namespace: Some(ns),
        },
        ["repository", ns, repo, "tag"] if !ns.is_empty() && !repo.is_empty() => RouteInfo {
            route: "api.listrepositorytags",
            namespace: Some(ns),
        },
        ["repository", ns, ..] if !ns.is_empty() => RouteInfo {
            route: UNKNOWN_ROUTE,
            namespace: Some(ns),
        },
        _ => RouteInfo::route(UNKNOWN_ROUTE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn route_table() {
        let manifest_digest = format!("/v2/acme/app/manifests/{D}");
        let blob = format!("/v2/acme/app/blobs/{D}");
        let nested_blob = format!("/v2/acme/team/manifests/blobs/{D}");
        let referrers = format!("/v2/acme/app/referrers/{D}");
        let cases: Vec<(&str, &str, &str, Option<&str>)> = vec![
            ("GET", "/v2/", "v2.v2_support_enabled", None),
            ("GET", "/v2", "v2.v2_support_enabled", None),
            ("HEAD", "/v2/", "v2.v2_support_enabled", None),
            ("GET", "/v2/auth", "v2.generate_registry_jwt", None),
            ("GET", "/v2/_catalog", "v2.catalog_search", None),
            (
                "GET",
                "/v2/acme/app/tags/list",
                "v2.list_all_tags",
                Some("acme"),
            ),
            (
                "GET",
                "/v2/acme/app/manifests/latest",
                "v2.fetch_manifest_by_tagname",
                Some("acme"),
            ),
            (
                "HEAD",
                "/v2/acme/app/manifests/latest",
                "v2.fetch_manifest_by_tagname",
                Some("acme"),
            ),
            (
                "GET",
                &manifest_digest,
                "v2.fetch_manifest_by_digest",
                Some("acme"),
            ),
            (
                "PUT",
                "/v2/acme/app/manifests/v1",
                "v2.write_manifest_by_tagname",
                Some("acme"),
            ),
            (
                "PUT",
                &manifest_digest,
                "v2.write_manifest_by_digest",
                Some("acme"),
            ),
            (
                "DELETE",
                "/v2/acme/app/manifests/v1",
                "v2.delete_manifest_by_tag",
                Some("acme"),
            ),
            (
                "DELETE",
                &manifest_digest,
                "v2.delete_manifest_by_digest",
                Some("acme"),
            ),
            ("HEAD", &blob, "v2.check_blob_exists", Some("acme")),
            ("GET", &blob, "v2.download_blob", Some("acme")),
            ("DELETE", &blob, "v2.delete_digest", Some("acme")),
            ("GET", &nested_blob, "v2.download_blob", Some("acme")),
            (
                "POST",
                "/v2/acme/app/blobs/uploads/",
                "v2.start_blob_upload",
                Some("acme"),
            ),
            (
                "POST",
                "/v2/acme/app/blobs/uploads",
                "v2.start_blob_upload",
                Some("acme"),
            ),
            (
                "GET",
                "/v2/acme/app/blobs/uploads/u-1",
                "v2.fetch_existing_upload",
                Some("acme"),
            ),
            (
                "PATCH",
                "/v2/acme/app/blobs/uploads/u-1",
                "v2.upload_chunk",
                Some("acme"),
            ),
            (
                "PUT",
                "/v2/acme/app/blobs/uploads/u-1",
                "v2.monolithic_upload_or_last_chunk",
                Some("acme"),
            ),
            (
                "DELETE",
                "/v2/acme/app/blobs/uploads/u-1",
                "v2.cancel_upload",
                Some("acme"),
            ),
            (
                "GET",
                &referrers,
                "v2.list_manifest_referrers",
                Some("acme"),
            ),
            // A single-segment name has no explicit namespace.
            ("GET", "/v2/app/tags/list", "v2.list_all_tags", None),
            // Unknown shapes and methods.
            ("POST", "/v2/acme/app/manifests/latest", UNKNOWN_ROUTE, None),
            ("GET", "/v2/acme/app/nothing/here", UNKNOWN_ROUTE, None),
            ("GET", "/v2/manifests/latest", UNKNOWN_ROUTE, None),
            ("POST", "/v2/", UNKNOWN_ROUTE, None),
            ("GET", "/v2/acme/app/manifests/", UNKNOWN_ROUTE, None),
            // Health and pings.
            ("GET", "/health", "web.instance_health", None),
            ("GET", "/health/instance", "web.instance_health", None),
            ("GET", "/health/endtoend", "web.endtoend_health", None),
            (
                "POST",
                "/api/v1/user/initialize",
                "web.user_initialize",
                None,
            ),
            ("GET", "/status", "web.endtoend_health", None),
            ("GET", "/health/warning", "web.warning_health", None),
            ("GET", "/_internal_ping", "web.internal_ping", None),
            ("GET", "/v1/_internal_ping", "v1.internal_ping", None),
            // API.
            ("GET", "/api/v1/discovery", "api.discovery", None),
            ("GET", "/api/v1/user/", "api.user", None),
            ("GET", "/api/v1/repository", "api.repositorylist", None),
            (
                "GET",
                "/api/v1/repository/acme/app",
                "api.repository",
                Some("acme"),
            ),
            (
                "GET",
                "/api/v1/repository/acme/app/tag/",
                "api.listrepositorytags",
                Some("acme"),
            ),
            (
                "GET",
                "/api/v1/repository/acme/app/build/",
                UNKNOWN_ROUTE,
                Some("acme"),
            ),
            (
                "GET",
                "/api/v1/organization/acme",
                "api.organization",
                Some("acme"),
            ),
            ("GET", "/api/v1/superuser/users/", UNKNOWN_ROUTE, None),
            // Anything else.
            ("GET", "/", UNKNOWN_ROUTE, None),
            ("GET", "/random/../../etc/passwd", UNKNOWN_ROUTE, None),
            ("GET", "", UNKNOWN_ROUTE, None),
        ];
        for (method, path, route, namespace) in cases {
            assert_eq!(
                route_for(method, path),
                RouteInfo { route, namespace },
                "{method} {path}"
            );
        }
    }
}
