//! A throw-away PostgreSQL schema per test, on the server named by
//! `LNEDGE_TEST_POSTGRES_URL` (`scripts/with-postgres` starts one and sets it).
//!
//! Without that variable a test is skipped — [`TestSchema::new`] says why and returns `None` —
//! except under `CI=true`, where it fails: the PostgreSQL tests must run in CI. Each test gets
//! a schema of its own, so tests run in parallel and repeatedly on one server.
//!
//! ```ignore
//! let Some(db) = TestSchema::new() else { return };
//! let store = MyStore::connect(&db.url, Some(db.schema.clone())).await?;
//! // ...
//! db.drop_schema().await;
//! ```

use std::sync::atomic::{AtomicU32, Ordering};

/// The variable naming the test server (`postgres://user@host:port/db`).
pub const URL_VAR: &str = "LNEDGE_TEST_POSTGRES_URL";

/// A fresh schema name on the test server (created by whatever the test connects with, dropped
/// by [`TestSchema::drop_schema`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSchema {
    /// The server, from [`URL_VAR`].
    pub url: String,
    /// This test's own schema: `test_<pid>_<nanos>_<counter>`, a plain identifier.
    pub schema: String,
}

impl TestSchema {
    /// A new schema on the configured server; `None` (after saying why on stderr) when none
    /// is configured.
    ///
    /// # Panics
    ///
    /// When no server is configured and `CI` is `true`.
    pub fn new() -> Option<Self> {
        let url = std::env::var(URL_VAR).ok();
        let ci = std::env::var("CI").as_deref() == Ok("true");
        Self::from_env(url, ci)
    }

    fn from_env(url: Option<String>, ci: bool) -> Option<Self> {
        let url = match url {
            Some(url) if !url.is_empty() => url,
            _ => {
                assert!(
                    !ci,
                    "LNEDGE_TEST_POSTGRES_URL is not set but CI=true: the PostgreSQL tests must \
                     run in CI (run the tests under scripts/with-postgres)"
                );
                eprintln!(
                    "skipping PostgreSQL test: LNEDGE_TEST_POSTGRES_URL is not set \
                     (run under scripts/with-postgres to include it)"
                );
                return None;
            }
        };
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = crate::clock::since_epoch().subsec_nanos();
        let schema = format!(
            "test_{}_{}_{}",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        Some(TestSchema { url, schema })
    }

    /// A plain session outside any store, working in this schema (to inspect or damage it).
    ///
    /// # Panics
    ///
    /// When the server cannot be reached.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test PostgreSQL server");
        tokio::spawn(connection);
        client
            .batch_execute(&format!("SET search_path TO {}", self.schema))
            .await
            .expect("set the search path");
        client
    }

    /// Drops the schema and everything in it.
    ///
    /// # Panics
    ///
    /// When the server cannot be reached or the schema does not exist.
    pub async fn drop_schema(self) {
        let client = self.client().await;
        client
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await
            .expect("drop the test schema");
    }
}

#[cfg(test)]
mod tests {
    use super::TestSchema;
    use crate::postgres::valid_schema_name;

    #[test]
    fn skipped_without_a_server_outside_ci() {
        assert_eq!(TestSchema::from_env(None, false), None);
        assert_eq!(TestSchema::from_env(Some(String::new()), false), None);
    }

    #[test]
    #[should_panic(expected = "CI=true")]
    fn fails_without_a_server_in_ci() {
        TestSchema::from_env(None, true);
    }

    #[test]
    fn each_call_names_a_new_valid_schema() {
        let url = "postgres://postgres@127.0.0.1:1/postgres".to_string();
        let a = TestSchema::from_env(Some(url.clone()), true).unwrap();
        let b = TestSchema::from_env(Some(url.clone()), false).unwrap();
        assert_eq!(a.url, url);
        assert_ne!(a.schema, b.schema);
        assert!(valid_schema_name(&a.schema) && valid_schema_name(&b.schema));
    }
}
