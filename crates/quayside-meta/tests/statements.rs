//! Every constant SQL statement of the data layer prepares on both backends.
//!
//! The statements are read from the crate's own sources: the string literal (or the `const`
//! it names) that each `sqlx::query`, `query_as` or `query_scalar` call is given, inside
//! `with_pool!` blocks and macro bodies too. Each is prepared against a migrated database on
//! SQLite and on PostgreSQL, so a column misspelt, a table renamed, or SQL one engine does not
//! speak fails here even when no test runs that path on that backend. Statements assembled
//! with `format!` are not constant and are not covered here.

use std::collections::BTreeSet;
use std::path::Path;
use std::str::FromStr;

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quayside_meta::with_pool;
use quayside_testkit::{backends, Backend, TestDb};
use sqlx::Executor;

const QUERY_FNS: &[&str] = &["query", "query_as", "query_scalar"];

/// One statement, where it was read, and the one backend it is for when it sits in a match
/// arm of that backend (`Pool::Postgres(pool) => …`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Statement {
    file: String,
    sql: String,
    only: Option<Backend>,
}

/// A `const NAME: &str = "…";` seen at token position `at`.
struct ConstDef {
    name: String,
    at: usize,
    sql: String,
}

fn lit_str(tt: &TokenTree) -> Option<String> {
    let TokenTree::Literal(lit) = tt else {
        return None;
    };
    syn::parse_str::<syn::LitStr>(&lit.to_string())
        .ok()
        .map(|l| l.value())
}

fn is_punct(tt: Option<&TokenTree>, c: char) -> bool {
    matches!(tt, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

/// Flattens a token stream depth-first (a group's delimiter is one token, followed by its
/// contents), so positions order definitions before the uses that follow them. Each token
/// carries the backend of the match arm it is in: after a `=>` whose pattern (since the last
/// `,` or `;` of the same level) names `Postgres` or `Sqlite`, up to the arm's end.
fn flatten(stream: TokenStream, arm: Option<Backend>, out: &mut Vec<(TokenTree, Option<Backend>)>) {
    let mut pattern: Option<Backend> = None;
    let mut current = arm;
    let mut prev_eq = false;
    for tt in stream {
        match &tt {
            TokenTree::Ident(id) if id == "Postgres" => pattern = Some(Backend::Postgres),
            TokenTree::Ident(id) if id == "Sqlite" => pattern = Some(Backend::Sqlite),
            TokenTree::Punct(p) if p.as_char() == ',' || p.as_char() == ';' => {
                pattern = None;
                current = arm;
            }
            TokenTree::Punct(p) if p.as_char() == '>' && prev_eq => {
                if let Some(b) = pattern.take() {
                    current = Some(b);
                }
            }
            _ => {}
        }
        prev_eq = matches!(&tt, TokenTree::Punct(p) if p.as_char() == '=');
        if let TokenTree::Group(g) = &tt {
            out.push((tt.clone(), current));
            flatten(g.stream(), current, out);
        } else {
            out.push((tt, current));
        }
    }
}

/// What a query call at `i` (the ident) is given first: a literal, or the name of a const.
enum Arg {
    Literal(String),
    Const(String),
}

fn query_arg(tokens: &[TokenTree], i: usize) -> Option<Arg> {
    let mut j = i + 1;
    // `query_as::<_, T>(…)`: skip the turbofish.
    if is_punct(tokens.get(j), ':') && is_punct(tokens.get(j + 1), ':') {
        j += 2;
        if !is_punct(tokens.get(j), '<') {
            return None;
        }
        let mut depth = 0usize;
        while let Some(tt) = tokens.get(j) {
            if is_punct(Some(tt), '<') {
                depth += 1;
            } else if is_punct(Some(tt), '>') {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            j += 1;
        }
        j += 1;
    }
    let TokenTree::Group(g) = tokens.get(j)? else {
        return None;
    };
    if g.delimiter() != Delimiter::Parenthesis {
        return None;
    }
    let first = g.stream().into_iter().next()?;
    if let Some(sql) = lit_str(&first) {
        return Some(Arg::Literal(sql));
    }
    match first {
        TokenTree::Ident(id) => Some(Arg::Const(id.to_string())),
        _ => None,
    }
}

fn statements_of(file: &str, source: &str) -> (Vec<Statement>, Vec<String>) {
    let stream = TokenStream::from_str(source).expect("source tokenizes");
    let mut flat = Vec::new();
    flatten(stream, None, &mut flat);
    let (tokens, arms): (Vec<TokenTree>, Vec<Option<Backend>>) = flat.into_iter().unzip();
    let mut consts = Vec::new();
    for (i, tt) in tokens.iter().enumerate() {
        // const NAME : & [ 'static ] str = "…" ;
        let TokenTree::Ident(kw) = tt else { continue };
        if kw != "const" {
            continue;
        }
        let Some(TokenTree::Ident(name)) = tokens.get(i + 1) else {
            continue;
        };
        let rest: Vec<String> = tokens[i + 2..]
            .iter()
            .take_while(|t| !is_punct(Some(t), '='))
            .map(ToString::to_string)
            .collect();
        if rest.last().map(String::as_str) != Some("str") {
            continue;
        }
        let eq = i + 2 + rest.len();
        if let Some(sql) = tokens.get(eq + 1).and_then(lit_str) {
            consts.push(ConstDef {
                name: name.to_string(),
                at: i,
                sql,
            });
        }
    }
    let mut found = Vec::new();
    let mut unresolved = Vec::new();
    for (i, tt) in tokens.iter().enumerate() {
        let TokenTree::Ident(id) = tt else { continue };
        if !QUERY_FNS.iter().any(|f| id == f) {
            continue;
        }
        let sql = match query_arg(&tokens, i) {
            Some(Arg::Literal(sql)) => sql,
            Some(Arg::Const(name)) => {
                // The nearest definition before the use (a const local to the function), else
                // any of the file's.
                let def = consts
                    .iter()
                    .rev()
                    .find(|c| c.name == name && c.at < i)
                    .or_else(|| consts.iter().find(|c| c.name == name));
                match def {
                    Some(c) => c.sql.clone(),
                    None => {
                        // A variable (SQL chosen per backend, or built with `format!`).
                        unresolved.push(name);
                        continue;
                    }
                }
            }
            None => continue,
        };
        found.push(Statement {
            file: file.to_owned(),
            sql,
            only: arms[i],
        });
    }
    (found, unresolved)
}

fn all_statements() -> BTreeSet<Statement> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeSet::new();
    let mut entries: Vec<_> = std::fs::read_dir(&src)
        .expect("src dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    entries.sort();
    for path in entries {
        let source = std::fs::read_to_string(&path).expect("read source");
        let file = path.file_name().expect("file name").to_string_lossy();
        let (found, _) = statements_of(&file, &source);
        out.extend(found);
    }
    out
}

#[test]
fn the_scanner_finds_literals_consts_turbofish_and_macro_bodies() {
    let source = r#"
        const TOP: &str = "SELECT 2";
        fn f() {
            const SQL: &str = "SELECT 1";
            with_pool!(db, pool => sqlx::query_scalar(SQL).fetch_one(pool));
            sqlx::query_as::<_, (i32,)>("SELECT 3 \
                 FROM x");
            sqlx::query(TOP);
            let sql = format!("SELECT {}", 4);
            sqlx::query(&sql);
        }
        fn g() {
            const SQL: &str = "SELECT 5";
            sqlx::query(SQL);
            match pool {
                Pool::Postgres(p) => sqlx::query("SELECT 6").fetch_one(p),
                Pool::Sqlite(p) => { sqlx::query("SELECT 7"); }
            }
            sqlx::query("SELECT 8");
        }
    "#;
    let (found, unresolved) = statements_of("t.rs", source);
    let sqls: Vec<&str> = found.iter().map(|s| s.sql.as_str()).collect();
    assert_eq!(
        sqls,
        [
            "SELECT 1",
            "SELECT 3 FROM x",
            "SELECT 2",
            "SELECT 5",
            "SELECT 6",
            "SELECT 7",
            "SELECT 8"
        ],
        "each call's statement, a const resolved to the nearest definition"
    );
    let only: Vec<Option<Backend>> = found.iter().map(|s| s.only).collect();
    assert_eq!(
        only,
        [
            None,
            None,
            None,
            None,
            Some(Backend::Postgres),
            Some(Backend::Sqlite),
            None
        ],
        "a statement in a backend's match arm is for that backend only"
    );
    // `&sql` starts with a punct, not an ident: neither found nor unresolved.
    assert!(unresolved.is_empty(), "{unresolved:?}");
}

#[tokio::test]
async fn every_constant_statement_prepares_on_both_backends() {
    let statements = all_statements();
    // The data layer has well over a hundred constant statements; a scanner that stopped
    // seeing them must not pass by finding none.
    assert!(
        statements.len() > 150,
        "only {} constant statements found in quayside-meta/src",
        statements.len()
    );
    for backend in backends() {
        let t = TestDb::new(backend).await;
        let mut failures = Vec::new();
        let mut checked = 0;
        for s in statements
            .iter()
            .filter(|s| s.only.is_none_or(|b| b == backend))
        {
            checked += 1;
            let prepared =
                with_pool!(t.db(), pool => pool.prepare(s.sql.as_str()).await.map(|_| ()));
            if let Err(e) = prepared {
                failures.push(format!("{} [{}]: {}\n    {}", s.file, backend, e, s.sql));
            }
        }
        t.cleanup().await;
        assert!(
            failures.is_empty(),
            "{} of {checked} statements do not prepare on {backend}:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}
