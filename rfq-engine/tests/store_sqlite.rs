//! The quote store conformance suite against SQLite: in memory, in a file, after reopening the
//! file, and with two stores (two connections) racing on one file.

mod common;

use common::store_suite as suite;
use rfq_engine::{QuoteStore, SqliteQuoteStore, StoreError};
use std::path::Path;
use std::sync::Arc;

fn in_memory() -> SqliteQuoteStore {
    SqliteQuoteStore::open_in_memory().unwrap()
}

fn file(dir: &Path) -> Arc<dyn QuoteStore> {
    Arc::new(SqliteQuoteStore::open(dir.join("quotes.sqlite")).unwrap())
}

#[tokio::test]
async fn crud() {
    suite::crud(&in_memory()).await;
    let dir = tempfile::tempdir().unwrap();
    suite::crud(&*file(dir.path())).await;
}

#[tokio::test]
async fn extreme_values() {
    suite::extreme_values(&in_memory()).await;
    let dir = tempfile::tempdir().unwrap();
    suite::extreme_values(&*file(dir.path())).await;
}

#[tokio::test]
async fn duplicates() {
    suite::duplicates(&in_memory()).await;
    let dir = tempfile::tempdir().unwrap();
    suite::duplicates(&*file(dir.path())).await;
}

#[tokio::test]
async fn concurrent_inserts() {
    suite::concurrent_inserts(Arc::new(in_memory())).await;
    let dir = tempfile::tempdir().unwrap();
    suite::concurrent_inserts(file(dir.path())).await;
}

#[tokio::test]
async fn expiry() {
    suite::expiry(&in_memory()).await;
    let dir = tempfile::tempdir().unwrap();
    suite::expiry(&*file(dir.path())).await;
}

#[tokio::test]
async fn request_ids() {
    suite::request_ids(&in_memory()).await;
    let dir = tempfile::tempdir().unwrap();
    suite::request_ids(&*file(dir.path())).await;
}

#[tokio::test]
async fn reservations() {
    suite::reservations(&in_memory()).await;
    let dir = tempfile::tempdir().unwrap();
    suite::reservations(&*file(dir.path())).await;
}

#[tokio::test]
async fn restart_reload() {
    let dir = tempfile::tempdir().unwrap();
    let before = suite::before_restart(file(dir.path())).await;
    suite::after_restart(&*file(dir.path()), before).await;
}

#[tokio::test]
async fn two_stores_share_one_file() {
    let dir = tempfile::tempdir().unwrap();
    suite::shared(&*file(dir.path()), &*file(dir.path())).await;
}

#[tokio::test]
async fn ha_race_on_one_file() {
    let dir = tempfile::tempdir().unwrap();
    suite::ha_race(file(dir.path()), file(dir.path())).await;
}

#[tokio::test]
async fn in_memory_stores_are_separate() {
    let (a, b) = (in_memory(), in_memory());
    a.insert_quote(&suite::quote(1, rfq_engine::QuoteKind::Sale, suite::NOW))
        .await
        .unwrap();
    assert_eq!(b.list_quotes().await.unwrap(), vec![]);
}

#[tokio::test]
async fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quotes.sqlite");
    drop(SqliteQuoteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 2).unwrap();
    drop(conn);
    match SqliteQuoteStore::open(&path) {
        Err(StoreError::SchemaTooNew {
            found: 2,
            supported: 1,
        }) => {}
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[tokio::test]
async fn file_is_wal_with_a_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quotes.sqlite");
    drop(SqliteQuoteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 1);
}

#[tokio::test]
async fn corrupt_row_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quotes.sqlite");
    let store = SqliteQuoteStore::open(&path).unwrap();
    let q = suite::quote(1, rfq_engine::QuoteKind::Sale, suite::NOW);
    store.insert_quote(&q).await.unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE rfq_quotes SET kind = 9", []).unwrap();
    match store.get_quote(q.id).await {
        Err(StoreError::Corrupt { field: "kind", .. }) => {}
        other => panic!("expected Corrupt, got {other:?}"),
    }
    conn.execute("UPDATE rfq_quotes SET kind = 0, accept = x'00'", [])
        .unwrap();
    match store.list_quotes().await {
        Err(StoreError::Corrupt {
            field: "accept", ..
        }) => {}
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
