//! The static invoice store suite against SQLite: in memory, in a file, after reopening the
//! file, and with two stores racing on one file.

mod common;

use async_offers::store::{SqliteStaticInvoiceStore, StaticInvoiceStore, StoreError, StoreLimits};
use common::store_suite as suite;
use std::path::Path;
use std::sync::Arc;

fn in_memory() -> SqliteStaticInvoiceStore {
    SqliteStaticInvoiceStore::open_in_memory(StoreLimits::default()).unwrap()
}

fn file(dir: &Path) -> Arc<dyn StaticInvoiceStore> {
    Arc::new(SqliteStaticInvoiceStore::open(dir.join("invoices.sqlite")).unwrap())
}

#[tokio::test]
async fn registry() {
    suite::registry(&in_memory()).await;
    let dir = tempfile::tempdir().unwrap();
    suite::registry(&*file(dir.path())).await;
}

#[tokio::test]
async fn persist_replace_and_get() {
    suite::persist_replace_and_get(&in_memory()).await;
    let dir = tempfile::tempdir().unwrap();
    suite::persist_replace_and_get(&*file(dir.path())).await;
}

#[tokio::test]
async fn quotas() {
    suite::quotas(&in_memory()).await;
    let dir = tempfile::tempdir().unwrap();
    suite::quotas(&*file(dir.path())).await;
}

#[tokio::test]
async fn recipient_limit() {
    let limits = StoreLimits {
        max_recipients: 3,
        ..StoreLimits::default()
    };
    suite::recipient_limit(&SqliteStaticInvoiceStore::open_in_memory(limits).unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStaticInvoiceStore::open_with(dir.path().join("i.sqlite"), limits).unwrap();
    suite::recipient_limit(&store).await;
}

#[tokio::test]
async fn revoke_and_remove() {
    suite::revoke_and_remove(&in_memory()).await;
    let dir = tempfile::tempdir().unwrap();
    suite::revoke_and_remove(&*file(dir.path())).await;
}

#[tokio::test]
async fn pruning() {
    suite::pruning(&in_memory()).await;
    let dir = tempfile::tempdir().unwrap();
    suite::pruning(&*file(dir.path())).await;
}

#[tokio::test]
async fn restart_reopens_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = file(dir.path());
    let kept = suite::before_restart(store.clone()).await;
    drop(store);
    suite::after_restart(&*file(dir.path()), kept).await;
}

#[tokio::test]
async fn two_stores_share_one_file() {
    let dir = tempfile::tempdir().unwrap();
    suite::shared(&*file(dir.path()), &*file(dir.path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_race_on_one_file() {
    let dir = tempfile::tempdir().unwrap();
    suite::quota_race(file(dir.path()), file(dir.path())).await;
}

#[tokio::test]
async fn periodic_pruning_job_deletes_expired_invoices() {
    let store: Arc<dyn StaticInvoiceStore> = Arc::new(in_memory());
    store
        .register_recipient(&suite::rid(1), "a", None, suite::NOW)
        .await
        .unwrap();
    // Expired long ago by the real clock; the other expires far in the future.
    store
        .persist_invoice(&suite::invoice_expiring(1, 0, 1_000))
        .await
        .unwrap();
    store
        .persist_invoice(&suite::invoice_expiring(1, 1, u64::MAX))
        .await
        .unwrap();
    let job =
        async_offers::store::spawn_pruning(store.clone(), std::time::Duration::from_millis(10));
    for _ in 0..200 {
        if store.invoice_count().await.unwrap() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    job.abort();
    assert_eq!(store.invoice_count().await.unwrap(), 1);
    assert!(store
        .get_invoice(&suite::rid(1), 1)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.sqlite");
    drop(SqliteStaticInvoiceStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 2).unwrap();
    drop(conn);
    assert!(matches!(
        SqliteStaticInvoiceStore::open(&path),
        Err(StoreError::SchemaTooNew {
            found: 2,
            supported: 1
        })
    ));
}

#[tokio::test]
async fn file_is_wal_with_full_sync() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.sqlite");
    drop(SqliteStaticInvoiceStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn corrupt_rows_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("i.sqlite");
    let store = SqliteStaticInvoiceStore::open(&path).unwrap();
    store
        .register_recipient(&suite::rid(1), "a", None, suite::NOW)
        .await
        .unwrap();
    store.persist_invoice(&suite::invoice(1, 0)).await.unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE ao_invoices SET invoice = x'00'", [])
        .unwrap();
    assert!(matches!(
        store.get_invoice(&suite::rid(1), 0).await,
        Err(StoreError::Corrupt(
            async_offers::store::CorruptField::Invoice
        ))
    ));
}
