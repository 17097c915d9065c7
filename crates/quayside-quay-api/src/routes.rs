//! The `/api/v1` route table: every operation is declared once, with the metadata Quay
//! keeps on its resources (nickname = OpenAPI `operationId`, OAuth scope, fresh-login,
//! internal, anonymous and read-only allowances). The same table routes requests, enforces
//! the cross-cutting rules, and generates `/api/v1/discovery`.
//!
//! Paths use `{name}` for one segment and `{name:repo}` for a repository path
//! `namespace/name[/more]` (Quay's `apirepopath` converter: two or more segments with
//! `FEATURE_EXTENDED_REPOSITORY_NAMES`, exactly two without), which axum's router cannot
//! express in the middle of a path — hence this small matcher.

use std::future::Future;
use std::pin::Pin;

use axum::http::Method;
use axum::response::Response;

use crate::ctx::Ctx;
use crate::QuayApiError;

pub(crate) type ApiResult = Result<Response, QuayApiError>;
pub(crate) type Handler = fn(Ctx) -> Pin<Box<dyn Future<Output = ApiResult> + Send>>;

/// Wraps an `async fn(Ctx) -> ApiResult` into a [`Handler`].
macro_rules! h {
    ($f:path) => {
        (|ctx| Box::pin($f(ctx))) as $crate::routes::Handler
    };
}
pub(crate) use h;

/// A query parameter, for discovery.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueryParam {
    pub name: &'static str,
    /// Swagger type: `string`, `boolean`, `integer`.
    pub kind: &'static str,
    pub description: &'static str,
}

/// One operation of the API.
#[derive(Clone)]
pub(crate) struct Operation {
    pub method: Method,
    pub path: &'static str,
    pub nickname: &'static str,
    /// Swagger tag (Quay: the module, e.g. `repository`, `organization`).
    pub tag: &'static str,
    pub summary: &'static str,
    /// OAuth scope the operation documents (`security`).
    pub scope: Option<&'static str>,
    pub fresh_login: bool,
    pub internal: bool,
    /// Reachable by anonymous callers even with `FEATURE_ANONYMOUS_ACCESS: false`.
    pub anon_allowed: bool,
    pub query: &'static [QueryParam],
    /// The operation takes a JSON body.
    pub body: bool,
    pub handler: Handler,
}

impl Operation {
    pub(crate) fn new(
        method: Method,
        path: &'static str,
        nickname: &'static str,
        handler: Handler,
    ) -> Operation {
        let body = matches!(method, Method::POST | Method::PUT);
        Operation {
            method,
            path,
            nickname,
            tag: "",
            summary: "",
            scope: None,
            fresh_login: false,
            internal: false,
            anon_allowed: false,
            query: &[],
            body,
            handler,
        }
    }
    pub(crate) fn tag(mut self, tag: &'static str) -> Self {
        self.tag = tag;
        self
    }
    pub(crate) fn summary(mut self, s: &'static str) -> Self {
        self.summary = s;
        self
    }
    pub(crate) fn scope(mut self, s: &'static str) -> Self {
        self.scope = Some(s);
        self
    }
    pub(crate) fn fresh_login(mut self) -> Self {
        self.fresh_login = true;
        self
    }
    pub(crate) fn internal(mut self) -> Self {
        self.internal = true;
        self
    }
    pub(crate) fn anon_allowed(mut self) -> Self {
        self.anon_allowed = true;
        self
    }
    pub(crate) fn query(mut self, q: &'static [QueryParam]) -> Self {
        self.query = q;
        self
    }
    pub(crate) fn no_body(mut self) -> Self {
        self.body = false;
        self
    }
}

pub(crate) fn get(path: &'static str, nickname: &'static str, h: Handler) -> Operation {
    Operation::new(Method::GET, path, nickname, h)
}
pub(crate) fn post(path: &'static str, nickname: &'static str, h: Handler) -> Operation {
    Operation::new(Method::POST, path, nickname, h)
}
pub(crate) fn put(path: &'static str, nickname: &'static str, h: Handler) -> Operation {
    Operation::new(Method::PUT, path, nickname, h)
}
pub(crate) fn delete(path: &'static str, nickname: &'static str, h: Handler) -> Operation {
    Operation::new(Method::DELETE, path, nickname, h)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(&'static str),
    Param(&'static str),
    Repo(&'static str),
}

fn compile(path: &'static str) -> Vec<Seg> {
    path.trim_start_matches('/')
        .split('/')
        .map(|s| {
            if let Some(inner) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                match inner.strip_suffix(":repo") {
                    Some(name) => Seg::Repo(name),
                    None => Seg::Param(inner),
                }
            } else {
                Seg::Lit(s)
            }
        })
        .collect()
}

/// Path parameters of a matched operation (percent-decoded).
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(&'static str, String)>);

impl Params {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The compiled table.
pub(crate) struct Table {
    ops: Vec<(Vec<Seg>, Operation)>,
    extended_names: bool,
}

pub(crate) enum Match<'a> {
    Found(&'a Operation, Params),
    /// The path exists with other methods.
    MethodNotAllowed,
    /// The path exists with a trailing slash (Werkzeug's strict-slashes redirect).
    RedirectSlash,
    NotFound,
}

impl Table {
    pub(crate) fn new(ops: Vec<Operation>, extended_names: bool) -> Table {
        Table {
            ops: ops.into_iter().map(|o| (compile(o.path), o)).collect(),
            extended_names,
        }
    }

    pub(crate) fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.ops.iter().map(|(_, o)| o)
    }

    pub(crate) fn find(&self, method: &Method, path: &str) -> Match<'_> {
        let segs: Vec<String> = path
            .trim_start_matches('/')
            .split('/')
            .map(decode)
            .collect();
        // Like Werkzeug, a rule with more literal segments wins over one whose repository
        // path would swallow them (`ns/r/logs` is the logs of `ns/r`, not repository
        // `ns/r/logs`).
        let mut path_found = false;
        let mut best: Option<(usize, &Operation, Params)> = None;
        for (pattern, op) in &self.ops {
            let mut params = Vec::new();
            if !self.matches(pattern, &segs, &mut params) {
                continue;
            }
            path_found = true;
            let method_ok =
                op.method == *method || (*method == Method::HEAD && op.method == Method::GET);
            let literals = pattern.iter().filter(|s| matches!(s, Seg::Lit(_))).count();
            if method_ok && best.as_ref().is_none_or(|(l, _, _)| literals > *l) {
                best = Some((literals, op, Params(params)));
            }
        }
        if let Some((_, op, params)) = best {
            return Match::Found(op, params);
        }
        if path_found {
            return Match::MethodNotAllowed;
        }
        if !path.ends_with('/') {
            let with = format!("{path}/");
            let segs: Vec<String> = with
                .trim_start_matches('/')
                .split('/')
                .map(decode)
                .collect();
            if self
                .ops
                .iter()
                .any(|(p, _)| self.matches(p, &segs, &mut Vec::new()))
            {
                return Match::RedirectSlash;
            }
        }
        Match::NotFound
    }

    fn matches(
        &self,
        pattern: &[Seg],
        segs: &[String],
        params: &mut Vec<(&'static str, String)>,
    ) -> bool {
        match (pattern.first(), segs.first()) {
            (None, None) => true,
            (None, Some(_)) | (Some(_), None) => false,
            (Some(Seg::Lit(l)), Some(s)) => {
                *l == s.as_str() && self.matches(&pattern[1..], &segs[1..], params)
            }
            (Some(Seg::Param(name)), Some(s)) => {
                if s.is_empty() {
                    return false;
                }
                params.push((name, s.clone()));
                if self.matches(&pattern[1..], &segs[1..], params) {
                    return true;
                }
                params.pop();
                false
            }
            (Some(Seg::Repo(name)), Some(_)) => {
                let max = if self.extended_names { segs.len() } else { 2 };
                // Longest repository path first, like a greedy regex with backtracking.
                for n in (2..=max.min(segs.len())).rev() {
                    if segs[..n].iter().any(String::is_empty) {
                        continue;
                    }
                    params.push((name, segs[..n].join("/")));
                    if self.matches(&pattern[1..], &segs[n..], params) {
                        return true;
                    }
                    params.pop();
                }
                false
            }
        }
    }
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn nothing(_: Ctx) -> ApiResult {
        Err(QuayApiError::not_found())
    }

    fn table(extended: bool) -> Table {
        Table::new(
            vec![
                get(
                    "/api/v1/repository/{repository:repo}",
                    "getRepo",
                    h!(nothing),
                ),
                get(
                    "/api/v1/repository/{repository:repo}/tag/",
                    "listRepoTags",
                    h!(nothing),
                ),
                put(
                    "/api/v1/repository/{repository:repo}/tag/{tag}",
                    "changeTag",
                    h!(nothing),
                ),
                get(
                    "/api/v1/organization/{orgname}",
                    "getOrganization",
                    h!(nothing),
                ),
                get("/api/v1/organization/", "nothing", h!(nothing)),
            ],
            extended,
        )
    }

    fn found(t: &Table, m: Method, p: &str) -> Option<(&'static str, Vec<(String, String)>)> {
        match t.find(&m, p) {
            Match::Found(op, params) => Some((
                op.nickname,
                params
                    .0
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            )),
            _ => None,
        }
    }

    #[test]
    fn repository_paths_take_any_number_of_segments() {
        let t = table(true);
        let (n, p) = found(&t, Method::GET, "/api/v1/repository/ns/a/b").expect("match");
        assert_eq!(n, "getRepo");
        assert_eq!(p, vec![("repository".into(), "ns/a/b".into())]);
        let (n, p) = found(&t, Method::GET, "/api/v1/repository/ns/a/b/tag/").expect("match");
        assert_eq!(
            n, "listRepoTags",
            "the literal `tag` wins over a longer repository path"
        );
        assert_eq!(n, "listRepoTags");
        assert_eq!(p[0].1, "ns/a/b");
        let (n, p) = found(&t, Method::PUT, "/api/v1/repository/ns/r/tag/v%2B1").expect("match");
        assert_eq!(n, "changeTag");
        assert_eq!(p[1], ("tag".into(), "v+1".into()));
        assert!(found(&t, Method::GET, "/api/v1/repository/ns").is_none());
    }

    #[test]
    fn without_extended_names_repositories_have_two_segments() {
        let t = table(false);
        assert!(found(&t, Method::GET, "/api/v1/repository/ns/a/b").is_none());
        assert!(found(&t, Method::GET, "/api/v1/repository/ns/a").is_some());
    }

    #[test]
    fn slashes_and_methods() {
        let t = table(true);
        assert!(matches!(
            t.find(&Method::GET, "/api/v1/repository/ns/r/tag"),
            Match::Found(..)
        ));
        assert!(matches!(
            t.find(&Method::GET, "/api/v1/organization"),
            Match::RedirectSlash
        ));
        assert!(matches!(
            t.find(&Method::DELETE, "/api/v1/organization/acme"),
            Match::MethodNotAllowed
        ));
        assert!(matches!(
            t.find(&Method::GET, "/api/v1/nope"),
            Match::NotFound
        ));
    }
}
