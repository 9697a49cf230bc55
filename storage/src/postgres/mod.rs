//! PostgreSQL: a small fixed connection [`Pool`] with per-connection prepared statements,
//! schema creation under an advisory lock ([`PgSchema`]), and the retry of transactions that
//! lost a serialization or deadlock race ([`Retry`], [`retry`]); the mapping of their failures
//! into a store's own error type ([`PgStoreError`]).
//!
//! Connections are made without TLS (`NoTls`): use a loopback or otherwise protected network.
//! Everything here must run inside a tokio runtime, which drives the connections.

mod pool;
mod retry;

pub use pool::{Pool, PoolOptions, PooledConnection, Prepare, DEFAULT_POOL_SIZE};
pub use retry::{is_conflict, retry, Retry, RetryError};
/// The PostgreSQL client these functions take and return.
pub use tokio_postgres;

use crate::StorageError;
use tokio_postgres::Client;

/// A PostgreSQL failure of the pool or of schema creation.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The pool was configured with a value it cannot use.
    #[error("invalid PostgreSQL store configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: &'static str,
    },
    /// The server or the connection failed (or the URL does not parse).
    #[error("PostgreSQL failed")]
    Postgres(#[from] tokio_postgres::Error),
    /// The database was set up by a newer build, with a schema this build does not know.
    #[error("schema version {found} is newer than the {supported} this build supports")]
    SchemaTooNew {
        /// The version recorded in the database.
        found: i64,
        /// The version this build writes.
        supported: i64,
    },
}

/// A store's error type, as the failures of this module go into it: implement the required
/// methods (or let [`impl_store_error!`](crate::impl_store_error) do it), and map with the
/// provided one.
pub trait PgStoreError: StorageError {
    /// The server or the connection failed.
    fn postgres(e: tokio_postgres::Error) -> Self;

    /// The store was configured with a value it cannot use.
    fn invalid_config(reason: &'static str) -> Self;

    /// The pool or schema creation failed.
    fn from_pg(e: PgError) -> Self {
        match e {
            PgError::InvalidConfig { reason } => Self::invalid_config(reason),
            PgError::Postgres(e) => Self::postgres(e),
            PgError::SchemaTooNew { found, supported } => Self::schema_too_new(found, supported),
        }
    }
}

/// The tables of one store, and how their version is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PgSchema<'a> {
    /// The key of the transaction-scoped advisory lock held while creating the tables, so that
    /// workers starting together do not race. One per store kind.
    pub lock_key: i64,
    /// The table that records the version (`name TEXT PRIMARY KEY, value BIGINT`), created if
    /// missing; the version is its row named `schema_version`.
    pub meta_table: &'a str,
    /// The version [`PgSchema::sql`] creates.
    pub version: i64,
    /// Idempotent statements creating the tables (`CREATE TABLE IF NOT EXISTS …`), run on every
    /// connect.
    pub sql: &'a str,
}

/// Whether `name` can be used as a PostgreSQL schema as is: lower-case ASCII letters, digits
/// and `_`, not starting with a digit, at most 63 bytes (so it needs no quoting).
pub fn valid_schema_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 63
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Creates the tables of `spec` (and the PostgreSQL schema `pg_schema`, if given) unless they
/// exist, in one transaction under `spec.lock_key`'s advisory lock, and records the version.
/// A database whose recorded version is newer than `spec.version` is refused with
/// [`PgError::SchemaTooNew`] and left as it was.
///
/// `client`'s `search_path` should already name `pg_schema` ([`Pool`] sets it on every
/// session). `pg_schema` must pass [`valid_schema_name`] and `spec.meta_table` must be a plain
/// identifier: both are put into SQL as they are.
pub async fn ensure_schema(
    client: &mut Client,
    pg_schema: Option<&str>,
    spec: &PgSchema<'_>,
) -> Result<(), PgError> {
    if let Some(schema) = pg_schema {
        if !valid_schema_name(schema) {
            return Err(PgError::InvalidConfig {
                reason: "schema must be lower-case ASCII letters, digits and '_'",
            });
        }
    }
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&spec.lock_key])
        .await?;
    if let Some(schema) = pg_schema {
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await?;
    }
    let meta = spec.meta_table;
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {meta} (
            name TEXT NOT NULL PRIMARY KEY,
            value BIGINT NOT NULL
        )"
    ))
    .await?;
    let found: Option<i64> = tx
        .query_opt(
            &format!("SELECT value FROM {meta} WHERE name = 'schema_version'"),
            &[],
        )
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    if let Some(found) = found.filter(|v| *v > spec.version) {
        // Dropping the transaction rolls it back as well; this makes it explicit.
        let _ = tx.rollback().await;
        return Err(PgError::SchemaTooNew {
            found,
            supported: spec.version,
        });
    }
    tx.batch_execute(spec.sql).await?;
    tx.execute(
        &format!(
            "INSERT INTO {meta} (name, value) VALUES ('schema_version', $1) \
             ON CONFLICT (name) DO NOTHING"
        ),
        &[&spec.version],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{valid_schema_name, PgError, PgStoreError};
    use crate::error::tests::TestError;

    #[test]
    fn pool_errors_are_mapped_to_the_usual_variants() {
        let bad_url = "postgres://["
            .parse::<tokio_postgres::Config>()
            .unwrap_err();
        let shown = bad_url.to_string();
        assert!(matches!(
            TestError::from_pg(PgError::Postgres(bad_url)),
            TestError::Backend { backend: "postgres", source } if source.to_string() == shown
        ));
        assert!(matches!(
            TestError::from_pg(PgError::InvalidConfig { reason: "why" }),
            TestError::InvalidConfig { reason: "why" }
        ));
        assert!(matches!(
            TestError::from_pg(PgError::SchemaTooNew {
                found: 2,
                supported: 1
            }),
            TestError::SchemaTooNew {
                found: 2,
                supported: 1
            }
        ));
    }

    #[test]
    fn schema_names() {
        assert!(valid_schema_name("test_1"));
        assert!(valid_schema_name("_x"));
        assert!(valid_schema_name(&"a".repeat(63)));
        assert!(!valid_schema_name(&"a".repeat(64)));
        assert!(!valid_schema_name(""));
        assert!(!valid_schema_name("1abc"));
        assert!(!valid_schema_name("Abc"));
        assert!(!valid_schema_name("a-b"));
        assert!(!valid_schema_name("a; DROP TABLE x"));
        assert!(!valid_schema_name("é"));
    }
}
