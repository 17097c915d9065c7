//! `/api/v1/discovery`: a Swagger 2.0 document generated from the route table, so it
//! lists exactly what this build serves (Quay `endpoints/api/discovery.py`).

use std::collections::BTreeMap;

use axum::http::Method;
use serde_json::{json, Map, Value};

use crate::routes::Table;
use crate::QuayApiSettings;

/// OAuth scopes with their descriptions (Quay `auth/scopes.py`, written here).
const SCOPES: &[(&str, &str)] = &[
    (
        "repo:read",
        "Read access to repositories the granting user can read",
    ),
    (
        "repo:write",
        "Read and write access to repositories the granting user can write",
    ),
    (
        "repo:admin",
        "Administration of repositories the granting user administers",
    ),
    (
        "repo:create",
        "Creation of repositories in namespaces the granting user may create in",
    ),
    (
        "user:read",
        "Read access to the granting user's account information",
    ),
    (
        "user:admin",
        "Administration of the granting user's account",
    ),
    (
        "org:admin",
        "Administration of organizations the granting user administers",
    ),
    (
        "super:user",
        "Superuser operations, for users listed in SUPER_USERS",
    ),
];

fn swagger_path(path: &str) -> String {
    path.split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(inner) => format!("{{{}}}", inner.trim_end_matches(":repo")),
                None => seg.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|inner| {
            let repo = inner.ends_with(":repo");
            let name = inner.trim_end_matches(":repo");
            json!({
                "name": name,
                "in": "path",
                "required": true,
                "type": "string",
                "description": if repo {
                    "The full path of the repository. e.g. namespace/name"
                } else {
                    ""
                },
            })
        })
        .collect()
}

pub(crate) fn document(table: &Table, settings: &QuayApiSettings, internal: bool) -> Value {
    let super_users = settings.config.feature("SUPER_USERS");
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut tags: BTreeMap<&str, ()> = BTreeMap::new();
    for op in table.operations() {
        if op.internal && !internal {
            continue;
        }
        let key = swagger_path(op.path);
        let entry = paths.entry(key.clone()).or_insert_with(|| {
            let mut m = Map::new();
            m.insert("x-path".into(), Value::from(key.clone()));
            m.insert("x-name".into(), Value::from(format!("{}{}", op.tag, key)));
            m.insert("x-tag".into(), Value::from(op.tag));
            m.insert("parameters".into(), Value::from(path_params(op.path)));
            m
        });
        tags.insert(op.tag, ());
        let mut parameters: Vec<Value> = op
            .query
            .iter()
            .map(|q| {
                json!({
                    "name": q.name,
                    "in": "query",
                    "required": false,
                    "type": q.kind,
                    "description": q.description,
                })
            })
            .collect();
        if op.body {
            parameters.push(json!({
                "name": "body",
                "in": "body",
                "required": true,
                "schema": {"type": "object"},
                "description": "Request body contents.",
            }));
        }
        let mut responses = Map::new();
        let ok_code = match op.method {
            Method::POST => "201",
            Method::DELETE => "204",
            _ => "200",
        };
        responses.insert(
            ok_code.into(),
            json!({"description": "Successful invocation"}),
        );
        for (code, text) in [
            ("400", "Bad Request"),
            ("401", "Session required"),
            ("403", "Unauthorized access"),
            ("404", "Not found"),
        ] {
            responses.insert(
                code.into(),
                json!({"description": text, "schema": {"$ref": "#/definitions/ApiError"}}),
            );
        }
        let mut operation = json!({
            "operationId": op.nickname,
            "description": op.summary,
            "tags": [op.tag],
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(scope) = op.scope.filter(|s| super_users || *s != "super:user") {
            operation["security"] = json!([{ "oauth2_implicit": [scope] }]);
        }
        if op.fresh_login {
            operation["x-requires-fresh-login"] = Value::from(true);
        }
        if op.internal {
            operation["x-internal"] = Value::from(true);
        }
        entry.insert(op.method.as_str().to_ascii_lowercase(), operation);
    }
    let scopes: Map<String, Value> = SCOPES
        .iter()
        .filter(|(name, _)| super_users || *name != "super:user")
        .map(|(n, d)| ((*n).to_owned(), Value::from(*d)))
        .collect();
    let c = &settings.config;
    json!({
        "swagger": "2.0",
        "host": c.server_hostname,
        "basePath": "/",
        "schemes": [c.preferred_url_scheme],
        "info": {
            "version": "v1",
            "title": "Quay Frontend",
            "description": "This API allows you to perform many of the operations required to work with Quay repositories, users, and organizations.",
            "termsOfService": "",
            "contact": {},
        },
        "securityDefinitions": {
            "oauth2_implicit": {
                "type": "oauth2",
                "flow": "implicit",
                "authorizationUrl": format!("{}/oauth/authorize", settings.base_url()),
                "scopes": scopes,
            }
        },
        "paths": paths,
        "definitions": {
            "ApiError": {
                "type": "object",
                "required": ["status", "type", "title"],
                "properties": {
                    "status": {"type": "integer", "description": "Status code of the response."},
                    "type": {"type": "string", "description": "Reference to the type of the error."},
                    "detail": {"type": "string", "description": "Details about the specific instance of the error."},
                    "title": {"type": "string", "description": "Unique error code to identify the type of error."},
                    "error_message": {"type": "string", "description": "Deprecated; alias for detail"},
                    "error_type": {"type": "string", "description": "Deprecated; alias for detail"},
                }
            }
        },
        "tags": tags.keys().map(|t| json!({"name": t, "description": ""})).collect::<Vec<_>>(),
    })
}
