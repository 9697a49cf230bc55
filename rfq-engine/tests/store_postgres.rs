//! The quote store conformance suite against PostgreSQL, including two stores (two workers)
//! racing on one database.
//!
//! Needs a server: `LNEDGE_TEST_POSTGRES_URL` (set by `scripts/with-postgres`, which
//! `scripts/test` uses). Without it the tests say why and pass — except under `CI=true`, where
//! they fail. Each test works in a schema of its own, so tests run in parallel and repeatedly.

mod common;
#[path = "common/test_db.rs"]
mod test_db;

use common::store_suite as suite;
use rfq_engine::{PostgresOptions, PostgresQuoteStore, QuoteStore, StoreError};
use test_db::TestDb;

#[tokio::test]
async fn crud() {
    let Some(db) = TestDb::new() else { return };
    suite::crud(&*db.store().await).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn extreme_values() {
    let Some(db) = TestDb::new() else { return };
    suite::extreme_values(&*db.store().await).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn duplicates() {
    let Some(db) = TestDb::new() else { return };
    suite::duplicates(&*db.store().await).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn concurrent_inserts() {
    let Some(db) = TestDb::new() else { return };
    suite::concurrent_inserts(db.store().await).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn expiry() {
    let Some(db) = TestDb::new() else { return };
    suite::expiry(&*db.store().await).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn request_ids() {
    let Some(db) = TestDb::new() else { return };
    suite::request_ids(&*db.store().await).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn reservations() {
    let Some(db) = TestDb::new() else { return };
    suite::reservations(&*db.store().await).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn restart_reload() {
    let Some(db) = TestDb::new() else { return };
    let before = suite::before_restart(db.store().await).await;
    suite::after_restart(&*db.store().await, before).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn two_workers_share_one_database() {
    let Some(db) = TestDb::new() else { return };
    suite::shared(&*db.store().await, &*db.store().await).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn ha_race_on_one_database() {
    let Some(db) = TestDb::new() else { return };
    // Started together: the schema is created under an advisory lock, not raced.
    let (a, b) = tokio::join!(db.store(), db.store());
    suite::ha_race(a, b).await;
    db.drop_schema().await;
}

#[tokio::test]
async fn tables_live_in_the_configured_schema() {
    let Some(db) = TestDb::new() else { return };
    drop(db.store().await);
    let client = db.client().await;
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = $1 \
             ORDER BY table_name",
            &[&db.schema],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        tables,
        [
            "rfq_in_flight",
            "rfq_quotes",
            "rfq_seen_requests",
            "rfq_store_meta"
        ]
    );
    db.drop_schema().await;
}

#[tokio::test]
async fn newer_schema_is_refused() {
    let Some(db) = TestDb::new() else { return };
    drop(db.store().await);
    db.client()
        .await
        .execute(
            "UPDATE rfq_store_meta SET value = 2 WHERE name = 'schema_version'",
            &[],
        )
        .await
        .unwrap();
    match PostgresQuoteStore::connect_with(
        &db.url,
        PostgresOptions {
            pool_size: 1,
            schema: Some(db.schema.clone()),
        },
    )
    .await
    {
        Err(StoreError::SchemaTooNew {
            found: 2,
            supported: 1,
        }) => {}
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    db.drop_schema().await;
}

#[tokio::test]
async fn bad_options_are_refused() {
    let Some(db) = TestDb::new() else { return };
    for options in [
        PostgresOptions {
            pool_size: 0,
            schema: None,
        },
        PostgresOptions {
            pool_size: 1,
            schema: Some("x; DROP TABLE y".into()),
        },
    ] {
        assert!(matches!(
            PostgresQuoteStore::connect_with(&db.url, options).await,
            Err(StoreError::InvalidConfig { .. })
        ));
    }
}

#[tokio::test]
async fn reconnects_after_the_server_drops_a_connection() {
    let Some(db) = TestDb::new() else { return };
    // Tagged so that only this store's session is terminated below.
    let separator = if db.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{separator}application_name={}", db.url, db.schema);
    let store = PostgresQuoteStore::connect_with(
        &url,
        PostgresOptions {
            pool_size: 1,
            schema: Some(db.schema.clone()),
        },
    )
    .await
    .unwrap();
    let q = suite::quote(1, rfq_engine::QuoteKind::Sale, suite::NOW);
    store.insert_quote(&q).await.unwrap();
    let admin = db.client().await;
    let killed = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&db.schema],
        )
        .await
        .unwrap();
    assert_eq!(killed.len(), 1);
    // The first call may still meet the dead session; then the store reconnects.
    let mut found = None;
    for _ in 0..50 {
        match store.get_quote(q.id).await {
            Ok(got) => {
                found = got;
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
    assert_eq!(found, Some(q));
    db.drop_schema().await;
}
