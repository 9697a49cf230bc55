//! The two RFQ slots of the node, wired into live nodes over loopback: custom peer messages
//! (`PeerMessageHandler`) and HTLC interception for unknown SCIDs (`HtlcInterceptor`).
//! `RecordingPeerMessages` and `RecordingInterceptor` are test doubles at those trait
//! boundaries; the defaults (`NoPeerMessages`, `NoInterception`) are the no-ops.

mod harness;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use harness::*;
use lnedge_node::model::PaymentStatus;
use lnedge_node::{
    HtlcInterceptor, InterceptDecision, InterceptedHtlc, NodeError, PeerMessageHandler,
    RawPeerMessage,
};

const WAIT: Duration = Duration::from_secs(30);
/// tapd's RFQ accept message type (odd: peers without a handler ignore it).
const RFQ_ACCEPT: u16 = 52885;

/// Test double: claims one message type and records what arrives.
#[derive(Default)]
struct RecordingPeerMessages {
    received: Arc<Mutex<Vec<(PublicKey, RawPeerMessage)>>>,
}

impl PeerMessageHandler for RecordingPeerMessages {
    fn handles(&self, type_id: u16) -> bool {
        type_id == RFQ_ACCEPT
    }
    fn handle(&self, peer: PublicKey, message: RawPeerMessage) {
        self.received.lock().unwrap().push((peer, message));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn custom_messages_reach_the_handler_and_are_ignored_by_the_no_op() {
    init_logs();
    let chain = TestChain::start().await;
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let recorder = RecordingPeerMessages::default();
    let received = Arc::clone(&recorder.received);
    let a = chain.node(da.path(), "alice").await; // default: NoPeerMessages
    let b = chain
        .builder(db.path(), "bob")
        .peer_message_handler(Box::new(recorder))
        .build()
        .await
        .unwrap();
    connect(&a, &b).await;

    // A → B: B's handler gets the exact payload.
    let payload = vec![0x00, 0x01, 0x02, 0xff];
    a.send_peer_message(
        b.node_id(),
        RawPeerMessage {
            type_id: RFQ_ACCEPT,
            payload: payload.clone(),
        },
    )
    .unwrap();
    let got = wait_for("B to receive the message", WAIT, || async {
        received.lock().unwrap().first().cloned()
    })
    .await;
    assert_eq!(
        got,
        (
            a.node_id(),
            RawPeerMessage {
                type_id: RFQ_ACCEPT,
                payload
            }
        )
    );

    // B → A: A has no handler; the odd type is ignored and the connection stays up.
    b.send_peer_message(
        a.node_id(),
        RawPeerMessage {
            type_id: RFQ_ACCEPT,
            payload: vec![1],
        },
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(a.list_peers().len(), 1, "A stayed connected to B");
    a.send_peer_message(
        b.node_id(),
        RawPeerMessage {
            type_id: RFQ_ACCEPT,
            payload: vec![2],
        },
    )
    .unwrap();
    wait_for(
        "a second message over the same connection",
        WAIT,
        || async { (received.lock().unwrap().len() == 2).then_some(()) },
    )
    .await;

    // Types below the custom range are refused before anything is sent.
    let err = a
        .send_peer_message(
            b.node_id(),
            RawPeerMessage {
                type_id: 1,
                payload: vec![],
            },
        )
        .unwrap_err();
    assert!(matches!(err, NodeError::InvalidInput(_)), "{err}");

    a.stop().await;
    b.stop().await;
    chain.shutdown().await;
}

/// Test double: records intercepted HTLCs and fails them.
#[derive(Default)]
struct RecordingInterceptor {
    seen: Mutex<Vec<InterceptedHtlc>>,
}

impl HtlcInterceptor for RecordingInterceptor {
    fn intercept(&self, htlc: &InterceptedHtlc) -> InterceptDecision {
        self.seen.lock().unwrap().push(htlc.clone());
        InterceptDecision::Fail
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn htlcs_to_unknown_scids_reach_the_interceptor_and_the_no_op_fails_them() {
    init_logs();
    let chain = TestChain::start().await;
    let (da, db, dc) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let hook = Arc::new(RecordingInterceptor::default());
    let a = chain.node(da.path(), "alice").await;
    let b = chain
        .builder(db.path(), "bob")
        .htlc_interceptor(hook.clone())
        .build()
        .await
        .unwrap();
    let c = chain.node(dc.path(), "carol").await; // default: NoInterception
    chain.fund(&a.wallet_address().unwrap(), 1);
    a.sync_chain().await;
    connect(&a, &b).await;
    connect(&a, &c).await;
    open_channel(&chain, &a, &b, 500_000, false).await;
    open_channel(&chain, &a, &c, 500_000, false).await;

    // Through B (recording hook): intercepted with the SCID and amount the sender chose.
    // An output index whose low byte is ≥ 8 can never fall in LDK's phantom namespace (LDK
    // compares 3 bits of it), so the SCID is "unknown" for every node key.
    let scid = 0x0000_0100_0002_0013;
    let id = a
        .pay_invoice(
            &invoice_over_unknown_scid(b.node_id(), scid, 12_345_000),
            None,
        )
        .unwrap();
    let failed = a.wait_payment(&id, WAIT).await.unwrap();
    assert_eq!(failed.status, PaymentStatus::Failed, "{failed:?}");
    let seen = hook.seen.lock().unwrap().clone();
    assert!(
        !seen.is_empty(),
        "B's hook saw the HTLC; the payment: {failed:?}"
    );
    assert_eq!(seen[0].requested_scid, scid);
    assert_eq!(seen[0].expected_outbound_msat, 12_345_000);
    assert!(seen[0].inbound_msat >= 12_345_000);

    // Through C (no-op hook): failed back, the payment fails, the channel stays usable.
    let id = a
        .pay_invoice(
            &invoice_over_unknown_scid(c.node_id(), scid, 1_000_000),
            None,
        )
        .unwrap();
    assert_eq!(
        a.wait_payment(&id, WAIT).await.unwrap().status,
        PaymentStatus::Failed
    );
    assert!(a.list_channels().iter().all(|ch| ch.usable));

    for n in [a, b, c] {
        n.stop().await;
    }
    chain.shutdown().await;
}
