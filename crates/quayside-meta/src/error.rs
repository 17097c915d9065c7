/// Errors from the metadata database layer.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// Could not open/connect to the database. `target` is `host:port/db` or a file path,
    /// never containing credentials.
    #[error("cannot connect to database {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    /// Invalid or unparsable `DB_URI` / connection arguments.
    #[error("invalid database configuration: {0}")]
    InvalidConfig(String),
    /// Feature or backend not supported by quayside (e.g. MySQL).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Database content conflicts with the schema quayside expects; nothing was written.
    #[error("schema conflict: {0}")]
    SchemaConflict(String),
    /// The write would move, delete or overwrite an immutable tag (`tag.immutable`);
    /// nothing was written.
    #[error("tag '{tag}' is immutable")]
    TagImmutable { tag: String },
    /// The write would take the namespace over a `Reject` quota threshold; nothing was
    /// written.
    #[error("Quota has been exceeded on namespace")]
    QuotaExceeded,
    /// An id passed in does not fit Quay's `integer` id columns; nothing was read or written.
    #[error("id {0} is out of range for an integer id column")]
    IdOutOfRange(i64),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
}

impl MetaError {
    /// Whether the failure says the database cannot serve right now, rather than that the
    /// request or the data is wrong: no connection within the acquire timeout, a closed pool,
    /// a connection lost mid-request (I/O, TLS, a start-up exchange cut short, the server shutting down or refusing
    /// connections, PostgreSQL's SQLSTATE class 08, 57P01–57P03, 53300), or SQLite still
    /// locked by another writer after `busy_timeout`. Both wire surfaces answer these with
    /// 503, so clients retry instead of treating them as server bugs.
    pub fn is_unavailable(&self) -> bool {
        match self {
            MetaError::Connect { .. } => true,
            MetaError::Query(e) => sqlx_unavailable(e),
            _ => false,
        }
    }
}

fn sqlx_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        // A connection cut during the start-up exchange reads as a protocol error (e.g.
        // "unexpected response from SSLRequest" when the peer closes instead of answering).
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code();
            let code = code.as_deref().unwrap_or("");
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // Primary result code: SQLITE_BUSY (5) or SQLITE_LOCKED (6), with any
                // extended code (e.g. 517, SQLITE_BUSY_SNAPSHOT).
                return code.parse::<i64>().is_ok_and(|c| matches!(c & 0xff, 5 | 6));
            }
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_unavailable_and_the_rest_is_not() {
        assert!(MetaError::Query(sqlx::Error::PoolTimedOut).is_unavailable());
        assert!(MetaError::Query(sqlx::Error::PoolClosed).is_unavailable());
        assert!(MetaError::Query(sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset
        )))
        .is_unavailable());
        assert!(!MetaError::Query(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!MetaError::TagImmutable { tag: "t".into() }.is_unavailable());
        assert!(!MetaError::SchemaConflict("x".into()).is_unavailable());
    }
}
