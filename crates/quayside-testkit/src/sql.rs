//! Raw SQL for test fixtures and assertions: one statement with typed bind arguments, on
//! either backend. Panics with the statement on failure (tests only).

use quayside_meta::{with_pool, Db};

/// A bind argument. Ids are `I` (bound as a 64-bit integer, which both backends compare
/// with and store into Quay's `integer` columns).
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    S(&'a str),
    I(i64),
    B(bool),
    T(chrono::NaiveDateTime),
}

/// Binds `args` in order onto a `sqlx` query or scalar query.
macro_rules! bind_all {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::S(s) => q.bind(s.to_string()),
                Arg::I(i) => q.bind(*i),
                Arg::B(b) => q.bind(*b),
                Arg::T(t) => q.bind(*t),
            };
        }
        q
    }};
}

/// Runs one statement.
pub async fn exec(db: &Db, sql: &str, args: &[Arg<'_>]) {
    with_pool!(db, pool => bind_all!(sqlx::query(sql), args).execute(pool).await.map(|_| ()))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The one integer a query returns (e.g. a `COUNT(*)`).
pub async fn scalar_i64(db: &Db, sql: &str, args: &[Arg<'_>]) -> i64 {
    with_pool!(db, pool => {
        bind_all!(sqlx::query_scalar::<_, i64>(sql), args).fetch_one(pool).await
    })
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The text a query returns, `None` when it returns no row.
pub async fn scalar_string(db: &Db, sql: &str, args: &[Arg<'_>]) -> Option<String> {
    with_pool!(db, pool => {
        bind_all!(sqlx::query_scalar::<_, String>(sql), args).fetch_optional(pool).await
    })
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}
