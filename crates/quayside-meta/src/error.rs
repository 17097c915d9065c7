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
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
}
