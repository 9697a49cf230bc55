//! Keysend sends (`Node::spontaneous_payment`) between two lnedge nodes on a devnet chain: A
//! keysends to B over their channel and both list the payment (kind `keysend`); requests the
//! node refuses (zero, itself, more than its channels hold) and a keysend to a node it has no
//! route to fail with a clear error; and rows an older version stored as `other` read as
//! keysend.

mod harness;

use std::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use harness::{fund_and_open, wait_for, TestChain};
use lnedge_node::model::{PaymentDirection, PaymentKind, PaymentStatus};
use lnedge_node::payment::store::PaymentStore;
use lnedge_node::NodeError;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keysend_over_a_channel_and_without_a_route() {
    harness::init_logs();
    let chain = TestChain::start().await;
    let dir = tempfile::tempdir().unwrap();
    let a = chain.node(&dir.path().join("a"), "a").await;
    let b = chain.node(&dir.path().join("b"), "b").await;
    fund_and_open(&chain, &a, &b, 1_000_000).await;

    // A keysends to B: recorded pending before it is sent, then succeeded with its preimage.
    let amount = 12_345_000;
    let id = a
        .spontaneous_payment()
        .send(b.node_id(), amount)
        .expect("keysend");
    let started = a.payments().get(&id).unwrap();
    assert_eq!(started.direction, PaymentDirection::Outbound);
    assert_eq!(started.kind, PaymentKind::Keysend);
    assert_eq!(started.amount_msat, Some(amount));
    assert_eq!(
        started.payment_hash.map(|h| h.0),
        Some(id.0),
        "the id is the hash"
    );
    let sent = a
        .payments()
        .wait(&id, Duration::from_secs(30))
        .await
        .expect("outcome");
    assert_eq!(sent.status, PaymentStatus::Succeeded, "{sent:?}");
    assert_eq!(sent.amount_msat, Some(amount));
    assert_eq!(sent.fee_msat, Some(0), "a direct channel takes no fee");
    let preimage = sent.preimage.expect("preimage known once paid");
    assert_eq!(sha256::Hash::hash(&preimage.0).to_byte_array(), id.0);

    // B lists it as a received keysend payment, under the same hash.
    let received = wait_for("B lists the keysend", Duration::from_secs(20), || async {
        b.payments()
            .get(&id)
            .ok()
            .filter(|p| p.status == PaymentStatus::Succeeded)
    })
    .await;
    assert_eq!(received.direction, PaymentDirection::Inbound);
    assert_eq!(received.kind, PaymentKind::Keysend);
    assert_eq!(received.amount_msat, Some(amount));
    assert_eq!(received.preimage, Some(preimage));

    // Refused before anything is sent or recorded.
    let before = a.payments().list().unwrap().len();
    let refused = |e: NodeError, text: &str| match e {
        NodeError::InvalidInput(message) => {
            assert!(message.contains(text), "expected `{text}` in `{message}`")
        }
        other => panic!("expected InvalidInput with `{text}`, got {other:?}"),
    };
    let e = a.spontaneous_payment().send(b.node_id(), 0).unwrap_err();
    refused(e, "amount_msat must be positive");
    let e = a.spontaneous_payment().send(a.node_id(), 1000).unwrap_err();
    refused(e, "a node cannot pay itself");
    assert_eq!(a.payments().list().unwrap().len(), before);

    // More than the channel holds: the request's to fix, and the text says how much A can send.
    let e = a
        .spontaneous_payment()
        .send(b.node_id(), 2_000_000_000)
        .unwrap_err();
    refused(e, "2000000000 msat is more than this node can send now");

    // A node A has no route to: a clear failure, and the payment is listed as failed.
    let nowhere = PublicKey::from_secret_key(
        &Secp256k1::new(),
        &SecretKey::from_slice(&[0x42; 32]).unwrap(),
    );
    let e = a.spontaneous_payment().send(nowhere, 1000).unwrap_err();
    match &e {
        NodeError::Lightning(message) => assert_eq!(
            message,
            &format!(
                "cannot send keysend payment: no route to {nowhere} for 1000 msat (RouteNotFound)"
            )
        ),
        other => panic!("expected a Lightning error, got {other:?}"),
    }
    let failed = a.payments().list().unwrap()[0].clone();
    assert_eq!(failed.kind, PaymentKind::Keysend);
    assert_eq!(failed.direction, PaymentDirection::Outbound);
    assert_eq!(failed.status, PaymentStatus::Failed);
    assert_eq!(failed.amount_msat, Some(1000));
    assert_eq!(failed.failure.as_deref(), Some("RouteNotFound"));

    a.stop().await;
    b.stop().await;
    chain.shutdown().await;
}

/// Before keysend had a kind of its own, received keysend payments were stored as `other`:
/// such rows still read, as keysend.
#[test]
fn rows_stored_as_other_read_as_keysend() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payments.sqlite");
    let store = PaymentStore::open(&path).unwrap();
    let id = lnedge_node::model::PaymentId([7; 32]);
    store
        .insert(&PaymentStore::new_record(
            id,
            Some(lnedge_node::model::PaymentHash([7; 32])),
            PaymentDirection::Inbound,
            PaymentKind::Keysend,
            PaymentStatus::Succeeded,
            Some(5000),
        ))
        .unwrap();
    let kind = |conn: &rusqlite::Connection| -> String {
        conn.query_row("SELECT kind FROM payments", [], |r| r.get(0))
            .unwrap()
    };
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(kind(&conn), "keysend");
    conn.execute("UPDATE payments SET kind = 'other'", [])
        .unwrap();
    let p = store.get(&id).unwrap().expect("the row reads");
    assert_eq!(p.kind, PaymentKind::Keysend);
    assert_eq!(p.kind.as_str(), "keysend");
    assert_eq!(store.list().unwrap().len(), 1);
    assert_eq!(PaymentKind::from_name("other"), Some(PaymentKind::Keysend));
    assert_eq!(
        PaymentKind::from_name("keysend"),
        Some(PaymentKind::Keysend)
    );
}
