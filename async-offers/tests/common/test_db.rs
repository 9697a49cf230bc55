//! A fresh PostgreSQL schema per test on the server named by `LNEDGE_TEST_POSTGRES_URL`
//! (`scripts/with-postgres` provides one). Without it a test is skipped with a message, except
//! under `CI=true`, where it fails.

#![allow(dead_code)] // each test crate that includes this file uses part of it

use async_offers::store::{PostgresOptions, PostgresStaticInvoiceStore, StoreLimits};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A fresh schema on the test server.
pub struct TestDb {
    /// The server, from `LNEDGE_TEST_POSTGRES_URL`.
    pub url: String,
    /// This test's own schema.
    pub schema: String,
}

impl TestDb {
    /// `None` (after saying why) when no server is configured outside CI.
    pub fn new() -> Option<Self> {
        let url = match std::env::var("LNEDGE_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
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
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let schema = format!(
            "test_{}_{}_{}",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        Some(TestDb { url, schema })
    }

    pub async fn store(&self) -> Arc<PostgresStaticInvoiceStore> {
        self.store_with(StoreLimits::default()).await
    }

    pub async fn store_with(&self, limits: StoreLimits) -> Arc<PostgresStaticInvoiceStore> {
        Arc::new(
            PostgresStaticInvoiceStore::connect(
                &self.url,
                PostgresOptions {
                    pool_size: 4,
                    schema: Some(self.schema.clone()),
                    limits,
                },
            )
            .await
            .unwrap(),
        )
    }

    /// A plain client, outside the store, to inspect or damage the schema.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!("SET search_path TO {}", self.schema))
            .await
            .unwrap();
        client
    }

    pub async fn drop_schema(self) {
        let client = self.client().await;
        client
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await
            .unwrap();
    }
}
