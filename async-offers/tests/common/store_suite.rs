//! The conformance suite every `StaticInvoiceStore` backend passes. Each backend's test file
//! runs each function against a fresh store (or two stores on one fresh database). Stores
//! passed in use `StoreLimits::default()` unless a function says otherwise.

#![allow(dead_code)]

use super::ldk::{self, Recipient, TestEntropy};
use async_offers::store::{Persisted, StaticInvoiceStore, StoreError, StoredInvoice};
use std::sync::Arc;

/// The "now" of every test, Unix seconds.
pub const NOW: u64 = 1_700_000_000;

/// A recipient id.
pub fn rid(n: u8) -> Vec<u8> {
    let mut id = b"recipient-".to_vec();
    id.push(n);
    id
}

/// A stored invoice for recipient `n`'s slot, with a real static invoice created at NOW lasting
/// one day, and a real invoice request path.
pub fn invoice(n: u8, slot: u16) -> StoredInvoice {
    let r = Recipient::new(n, 1, None);
    let entropy = TestEntropy::new(u64::from(slot));
    StoredInvoice::new(
        rid(n),
        slot,
        r.invoice(NOW, 86_400),
        ldk::plain_path(&entropy, n),
        NOW,
    )
}

/// The same, but with the given expiry.
pub fn invoice_expiring(n: u8, slot: u16, expires_at: u64) -> StoredInvoice {
    let mut i = invoice(n, slot);
    i.expires_at = expires_at;
    i
}

pub async fn registry(store: &dyn StaticInvoiceStore) {
    let r = store
        .register_recipient(&rid(2), "bob", Some(3), NOW)
        .await
        .unwrap();
    assert_eq!(r.slot_quota, Some(3));
    assert!(!r.revoked);
    store
        .register_recipient(&rid(1), "alice", None, NOW + 1)
        .await
        .unwrap();
    assert!(matches!(
        store.register_recipient(&rid(1), "again", None, NOW).await,
        Err(StoreError::AlreadyRegistered)
    ));
    for bad in [vec![], vec![0u8; 1025]] {
        assert!(matches!(
            store.register_recipient(&bad, "bad", None, NOW).await,
            Err(StoreError::BadRecipientId { .. })
        ));
    }
    store
        .register_recipient(&[0xff; 1024], "longest id", None, NOW)
        .await
        .unwrap();
    assert_eq!(store.recipient(&rid(2)).await.unwrap(), Some(r));
    assert_eq!(store.recipient(&rid(9)).await.unwrap(), None);
    let all = store.list_recipients().await.unwrap();
    let ids: Vec<_> = all.iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids, vec![rid(1), rid(2), vec![0xff; 1024]]);
    assert_eq!(all[0].label, "alice");
    assert_eq!(all[0].registered_at, NOW + 1);
}

pub async fn persist_replace_and_get(store: &dyn StaticInvoiceStore) {
    let first = invoice(1, 0);
    // Unregistered recipients are never stored.
    assert!(matches!(
        store.persist_invoice(&first).await,
        Err(StoreError::UnknownRecipient)
    ));
    assert_eq!(store.invoice_count().await.unwrap(), 0);

    store
        .register_recipient(&rid(1), "alice", None, NOW)
        .await
        .unwrap();
    assert_eq!(
        store.persist_invoice(&first).await.unwrap(),
        Persisted::Inserted
    );
    assert_eq!(
        store.get_invoice(&rid(1), 0).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(store.get_invoice(&rid(1), 1).await.unwrap(), None);
    assert_eq!(store.get_invoice(&rid(2), 0).await.unwrap(), None);
    assert_eq!(first.expires_at, NOW + 86_400);
    let bytes = store.get_invoice_bytes(&rid(1), 0).await.unwrap().unwrap();
    assert_eq!(bytes.slot, 0);
    assert_eq!(bytes.decode().unwrap(), first);

    // Same slot replaces.
    let mut second = invoice(1, 0);
    second.invoice = Recipient::new(1, 1, None).invoice(NOW + 10, 3_600);
    second.created_at = NOW + 10;
    second.expires_at = NOW + 10 + 3_600;
    assert_ne!(first, second);
    assert_eq!(
        store.persist_invoice(&second).await.unwrap(),
        Persisted::Replaced
    );
    assert_eq!(
        store.get_invoice(&rid(1), 0).await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(store.invoice_count().await.unwrap(), 1);

    let other = invoice(1, 7);
    store.persist_invoice(&other).await.unwrap();
    assert_eq!(
        store.list_invoices(&rid(1)).await.unwrap(),
        vec![second, other]
    );
    assert_eq!(store.list_invoices(&rid(2)).await.unwrap(), vec![]);
}

pub async fn quotas(store: &dyn StaticInvoiceStore) {
    store
        .register_recipient(&rid(1), "default quota", None, NOW)
        .await
        .unwrap();
    store
        .register_recipient(&rid(2), "own quota", Some(2), NOW)
        .await
        .unwrap();
    let base = invoice(1, 0);
    for slot in 0..10u16 {
        let mut i = base.clone();
        i.slot = slot * 100; // slots need not be contiguous
        assert_eq!(
            store.persist_invoice(&i).await.unwrap(),
            Persisted::Inserted
        );
    }
    let mut extra = base.clone();
    extra.slot = 5;
    assert!(matches!(
        store.persist_invoice(&extra).await,
        Err(StoreError::QuotaExceeded { quota: 10 })
    ));
    // Replacing a filled slot is always allowed.
    extra.slot = 300;
    assert_eq!(
        store.persist_invoice(&extra).await.unwrap(),
        Persisted::Replaced
    );
    assert_eq!(store.list_invoices(&rid(1)).await.unwrap().len(), 10);

    let mut own = invoice(2, 0);
    store.persist_invoice(&own).await.unwrap();
    own.slot = u16::MAX;
    store.persist_invoice(&own).await.unwrap();
    own.slot = 1;
    assert!(matches!(
        store.persist_invoice(&own).await,
        Err(StoreError::QuotaExceeded { quota: 2 })
    ));
    assert_eq!(
        store
            .get_invoice(&rid(2), u16::MAX)
            .await
            .unwrap()
            .map(|i| i.slot),
        Some(u16::MAX)
    );
}

/// `store` must have been opened with `max_recipients = 3`.
pub async fn recipient_limit(store: &dyn StaticInvoiceStore) {
    for n in 0..3 {
        store
            .register_recipient(&rid(n), "r", None, NOW)
            .await
            .unwrap();
    }
    assert!(matches!(
        store.register_recipient(&rid(3), "r", None, NOW).await,
        Err(StoreError::RecipientLimit { limit: 3 })
    ));
    // Removing one makes room; revoking does not.
    store.revoke_recipient(&rid(0)).await.unwrap();
    assert!(matches!(
        store.register_recipient(&rid(3), "r", None, NOW).await,
        Err(StoreError::RecipientLimit { limit: 3 })
    ));
    assert!(store.remove_recipient(&rid(0)).await.unwrap());
    store
        .register_recipient(&rid(3), "r", None, NOW)
        .await
        .unwrap();
}

pub async fn revoke_and_remove(store: &dyn StaticInvoiceStore) {
    store
        .register_recipient(&rid(1), "a", None, NOW)
        .await
        .unwrap();
    store
        .register_recipient(&rid(2), "b", None, NOW)
        .await
        .unwrap();
    store.persist_invoice(&invoice(1, 0)).await.unwrap();
    store.persist_invoice(&invoice(1, 1)).await.unwrap();
    store.persist_invoice(&invoice(2, 0)).await.unwrap();

    assert_eq!(store.revoke_recipient(&rid(1)).await.unwrap(), 2);
    assert_eq!(store.get_invoice(&rid(1), 0).await.unwrap(), None);
    assert!(matches!(
        store.persist_invoice(&invoice(1, 0)).await,
        Err(StoreError::Revoked)
    ));
    assert!(store.recipient(&rid(1)).await.unwrap().unwrap().revoked);
    assert!(matches!(
        store.register_recipient(&rid(1), "back", None, NOW).await,
        Err(StoreError::AlreadyRegistered)
    ));
    assert!(matches!(
        store.revoke_recipient(&rid(9)).await,
        Err(StoreError::UnknownRecipient)
    ));
    // The other recipient is untouched.
    assert!(store.get_invoice(&rid(2), 0).await.unwrap().is_some());

    assert!(store.remove_recipient(&rid(2)).await.unwrap());
    assert!(!store.remove_recipient(&rid(2)).await.unwrap());
    assert_eq!(store.invoice_count().await.unwrap(), 0);
    assert!(matches!(
        store.persist_invoice(&invoice(2, 0)).await,
        Err(StoreError::UnknownRecipient)
    ));
}

pub async fn pruning(store: &dyn StaticInvoiceStore) {
    store
        .register_recipient(&rid(1), "a", None, NOW)
        .await
        .unwrap();
    store
        .register_recipient(&rid(2), "b", None, NOW)
        .await
        .unwrap();
    store
        .persist_invoice(&invoice_expiring(1, 0, NOW - 1))
        .await
        .unwrap();
    store
        .persist_invoice(&invoice_expiring(1, 1, NOW))
        .await
        .unwrap();
    store
        .persist_invoice(&invoice_expiring(1, 2, NOW + 1))
        .await
        .unwrap();
    store
        .persist_invoice(&invoice_expiring(2, 0, NOW - 100))
        .await
        .unwrap();
    store
        .persist_invoice(&invoice_expiring(2, 1, i64::MAX as u64))
        .await
        .unwrap();

    // Servable through the expiry second.
    assert_eq!(store.prune_expired(NOW).await.unwrap(), 2);
    let left = [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1)];
    let mut present = Vec::new();
    for (n, slot) in left {
        if store.get_invoice(&rid(n), slot).await.unwrap().is_some() {
            present.push((n, slot));
        }
    }
    assert_eq!(present, vec![(1, 1), (1, 2), (2, 1)]);
    assert_eq!(store.prune_expired(NOW).await.unwrap(), 0);
    assert_eq!(store.prune_expired(u64::MAX).await.unwrap(), 2);
    assert_eq!(store.invoice_count().await.unwrap(), 1);
    // Pruning leaves registrations alone.
    assert_eq!(store.list_recipients().await.unwrap().len(), 2);
}

/// Writes through one store, for [`after_restart`] to read through a new one.
pub async fn before_restart(store: Arc<dyn StaticInvoiceStore>) -> Vec<StoredInvoice> {
    store
        .register_recipient(&rid(1), "a", Some(4), NOW)
        .await
        .unwrap();
    store
        .register_recipient(&rid(2), "b", None, NOW)
        .await
        .unwrap();
    let invoices = vec![invoice(1, 0), invoice(1, 3), invoice(2, 9)];
    for i in &invoices {
        store.persist_invoice(i).await.unwrap();
    }
    store.revoke_recipient(&rid(2)).await.unwrap();
    invoices[..2].to_vec()
}

pub async fn after_restart(store: &dyn StaticInvoiceStore, kept: Vec<StoredInvoice>) {
    assert_eq!(store.list_invoices(&rid(1)).await.unwrap(), kept);
    assert_eq!(store.list_invoices(&rid(2)).await.unwrap(), vec![]);
    let r1 = store.recipient(&rid(1)).await.unwrap().unwrap();
    assert_eq!(r1.slot_quota, Some(4));
    assert!(store.recipient(&rid(2)).await.unwrap().unwrap().revoked);
    assert!(matches!(
        store.persist_invoice(&invoice(2, 0)).await,
        Err(StoreError::Revoked)
    ));
}

/// Two stores (two server nodes) on one database see each other's writes.
pub async fn shared(a: &dyn StaticInvoiceStore, b: &dyn StaticInvoiceStore) {
    a.register_recipient(&rid(1), "a", Some(2), NOW)
        .await
        .unwrap();
    assert!(matches!(
        b.register_recipient(&rid(1), "a", None, NOW).await,
        Err(StoreError::AlreadyRegistered)
    ));
    b.persist_invoice(&invoice(1, 0)).await.unwrap();
    assert_eq!(
        a.get_invoice(&rid(1), 0).await.unwrap(),
        Some(invoice_same(&b, 1, 0).await)
    );
    a.persist_invoice(&invoice(1, 1)).await.unwrap();
    // The quota counts both nodes' writes.
    assert!(matches!(
        b.persist_invoice(&invoice(1, 2)).await,
        Err(StoreError::QuotaExceeded { quota: 2 })
    ));
    assert_eq!(b.revoke_recipient(&rid(1)).await.unwrap(), 2);
    assert_eq!(a.get_invoice(&rid(1), 0).await.unwrap(), None);
    assert!(matches!(
        a.persist_invoice(&invoice(1, 0)).await,
        Err(StoreError::Revoked)
    ));
    b.register_recipient(&rid(2), "b", None, NOW).await.unwrap();
    a.persist_invoice(&invoice_expiring(2, 0, NOW - 5))
        .await
        .unwrap();
    assert_eq!(b.prune_expired(NOW).await.unwrap(), 1);
    assert_eq!(a.invoice_count().await.unwrap(), 0);
}

async fn invoice_same(store: &&dyn StaticInvoiceStore, n: u8, slot: u16) -> StoredInvoice {
    store.get_invoice(&rid(n), slot).await.unwrap().unwrap()
}

/// Two stores race to fill one recipient's slots: the quota holds across both.
pub async fn quota_race(a: Arc<dyn StaticInvoiceStore>, b: Arc<dyn StaticInvoiceStore>) {
    a.register_recipient(&rid(1), "racer", Some(5), NOW)
        .await
        .unwrap();
    let base = invoice(1, 0);
    let mut tasks = tokio::task::JoinSet::new();
    for slot in 0..20u16 {
        let store = if slot % 2 == 0 { a.clone() } else { b.clone() };
        let mut i = base.clone();
        i.slot = slot;
        tasks.spawn(async move { store.persist_invoice(&i).await });
    }
    let mut stored = 0;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Ok(Persisted::Inserted) => stored += 1,
            Err(StoreError::QuotaExceeded { quota: 5 }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(stored, 5);
    assert_eq!(a.list_invoices(&rid(1)).await.unwrap().len(), 5);
}
