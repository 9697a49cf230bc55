//! The static invoice store suite against PostgreSQL, including two stores (two server nodes)
//! on one database.
//!
//! Needs a server: `LNEDGE_TEST_POSTGRES_URL` (set by `scripts/with-postgres`, which
//! `scripts/test` uses). Without it the tests say why and pass — except under `CI=true`, where
//! they fail. Each test works in a schema of its own.

mod common;
#[path = "common/test_db.rs"]
mod test_db;

use async_offers::store::{
    PostgresOptions, PostgresStaticInvoiceStore, StaticInvoiceStore, StoreError, StoreLimits,
};
use common::store_suite as suite;
use std::sync::Arc;
use test_db::TestDb;

#[tokio::test]
async fn registry() {
    let Some(db) = TestDb::new() else { return };
    suite::registry(&*db.store().await).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn persist_replace_and_get() {
    let Some(db) = TestDb::new() else { return };
    suite::persist_replace_and_get(&*db.store().await).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn quotas() {
    let Some(db) = TestDb::new() else { return };
    suite::quotas(&*db.store().await).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn recipient_limit() {
    let Some(db) = TestDb::new() else { return };
    let limits = StoreLimits {
        max_recipients: 3,
        ..StoreLimits::default()
    };
    suite::recipient_limit(&*db.store_with(limits).await).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn revoke_and_remove() {
    let Some(db) = TestDb::new() else { return };
    suite::revoke_and_remove(&*db.store().await).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn pruning() {
    let Some(db) = TestDb::new() else { return };
    suite::pruning(&*db.store().await).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn restart_reconnects() {
    let Some(db) = TestDb::new() else { return };
    let store = db.store().await;
    let kept = suite::before_restart(store.clone()).await;
    drop(store);
    suite::after_restart(&*db.store().await, kept).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn two_servers_share_one_database() {
    let Some(db) = TestDb::new() else { return };
    suite::shared(&*db.store().await, &*db.store().await).await;
    db.drop_schema().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_race_on_one_database() {
    let Some(db) = TestDb::new() else { return };
    let (a, b) = tokio::join!(db.store(), db.store());
    let (a, b): (Arc<dyn StaticInvoiceStore>, Arc<dyn StaticInvoiceStore>) = (a, b);
    suite::quota_race(a, b).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn newer_schema_is_refused() {
    let Some(db) = TestDb::new() else { return };
    drop(db.store().await);
    db.client()
        .await
        .execute(
            "UPDATE ao_store_meta SET value = 2 WHERE name = 'schema_version'",
            &[],
        )
        .await
        .unwrap();
    let result = PostgresStaticInvoiceStore::connect(
        &db.url,
        PostgresOptions {
            pool_size: 1,
            schema: Some(db.schema.clone()),
            limits: StoreLimits::default(),
        },
    )
    .await;
    assert!(matches!(
        result,
        Err(StoreError::SchemaTooNew {
            found: 2,
            supported: 1
        })
    ));
    db.drop_schema().await;
}

#[tokio::test]
async fn bad_options_are_refused() {
    let Some(db) = TestDb::new() else { return };
    for options in [
        PostgresOptions {
            pool_size: 0,
            ..PostgresOptions::default()
        },
        PostgresOptions {
            schema: Some("x; DROP TABLE y".into()),
            ..PostgresOptions::default()
        },
    ] {
        assert!(matches!(
            PostgresStaticInvoiceStore::connect(&db.url, options).await,
            Err(StoreError::InvalidConfig { .. })
        ));
    }
}
