//! A fresh PostgreSQL schema per test on the server named by `LNEDGE_TEST_POSTGRES_URL`
//! (`scripts/with-postgres` provides one), from `lnedge_storage::test_postgres`. Without it a
//! test is skipped with a message, except under `CI=true`, where it fails.

#![allow(dead_code)] // each test crate that includes this file uses part of it

use lnedge_storage::test_postgres::TestSchema;
use rfq_engine::{PostgresOptions, PostgresQuoteStore};
use std::sync::Arc;

/// A fresh schema on the test server (`url`, `schema`, `client()` come from [`TestSchema`]).
pub struct TestDb(TestSchema);

impl std::ops::Deref for TestDb {
    type Target = TestSchema;

    fn deref(&self) -> &TestSchema {
        &self.0
    }
}

impl TestDb {
    /// `None` (after saying why) when no server is configured outside CI.
    pub fn new() -> Option<Self> {
        TestSchema::new().map(TestDb)
    }

    pub async fn store(&self) -> Arc<PostgresQuoteStore> {
        Arc::new(
            PostgresQuoteStore::connect_with(
                &self.url,
                PostgresOptions {
                    pool_size: 4,
                    schema: Some(self.schema.clone()),
                },
            )
            .await
            .unwrap(),
        )
    }

    pub async fn drop_schema(self) {
        self.0.drop_schema().await;
    }
}
