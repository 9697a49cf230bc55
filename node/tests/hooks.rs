//! The node's extension points on live nodes over loopback: custom peer messages (handlers
//! that await and send through their own queue), HTLC interception (forwarded, failed, timed
//! out; resolutions reported per circuit), event extensions ahead of the core, and features
//! installed on the builder. `Echo`, `Forwarder`, `Recorder`, `Silent` and `RefuseHash` are
//! test doubles at those trait boundaries.

mod harness;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcoin::secp256k1::{PublicKey, Secp256k1};
use harness::*;
use lightning::events::{Event, ReplayEvent};
use lightning::sign::KeysManager;
use lightning_invoice::{Currency, InvoiceBuilder, RouteHint, RouteHintHop, RoutingFees};
use lnedge_node::hooks::BoxFuture;
use lnedge_node::model::PaymentStatus;
use lnedge_node::{
    BuildError, EventExtension, EventOutcome, FeatureContext, HtlcCircuit, HtlcInterceptor,
    HtlcResolution, InterceptDecision, InterceptedHtlc, Node, NodeError, PeerMessageHandler,
    PeerMessageSender, RawPeerMessage,
};

const WAIT: Duration = Duration::from_secs(30);
/// tapd's RFQ request and accept types (odd: peers without a handler ignore them).
const REQUEST: u16 = 52884;
const ACCEPT: u16 = 52885;

/// Test double: answers every request with an accept carrying the payload reversed, after
/// awaiting (as a negotiation awaits an oracle), and records connects.
struct Echo {
    sender: PeerMessageSender,
    connected: Mutex<Vec<PublicKey>>,
}

impl PeerMessageHandler for Echo {
    fn message_types(&self) -> Vec<u16> {
        vec![REQUEST]
    }
    fn handle(self: Arc<Self>, peer: PublicKey, message: RawPeerMessage) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let mut payload = message.payload;
            payload.reverse();
            self.sender
                .send(
                    peer,
                    RawPeerMessage {
                        type_id: ACCEPT,
                        payload,
                    },
                )
                .expect("peer connected");
        })
    }
    fn peer_connected(&self, peer: PublicKey) {
        self.connected.lock().unwrap().push(peer);
    }
}

/// Test double: records what arrives.
#[derive(Default)]
struct Recorder {
    received: Mutex<Vec<(PublicKey, RawPeerMessage)>>,
}

impl PeerMessageHandler for Recorder {
    fn message_types(&self) -> Vec<u16> {
        vec![ACCEPT]
    }
    fn handle(self: Arc<Self>, peer: PublicKey, message: RawPeerMessage) -> BoxFuture<'static, ()> {
        self.received.lock().unwrap().push((peer, message));
        Box::pin(async {})
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn peer_message_handlers_await_and_answer_through_their_own_queue() {
    init_logs();
    let chain = TestChain::start().await;
    let (da, db, dc) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let recorder = Arc::new(Recorder::default());
    let a = chain
        .builder(da.path(), "alice")
        .peer_message_handler({
            let recorder = Arc::clone(&recorder);
            move |_sender| recorder
        })
        .start()
        .await
        .unwrap();
    let echo: Arc<Mutex<Option<Arc<Echo>>>> = Arc::default();
    let b = chain
        .builder(db.path(), "bob")
        .peer_message_handler({
            let echo = Arc::clone(&echo);
            move |sender| {
                let handler = Arc::new(Echo {
                    sender,
                    connected: Mutex::default(),
                });
                *echo.lock().unwrap() = Some(Arc::clone(&handler));
                handler
            }
        })
        .start()
        .await
        .unwrap();
    let c = chain.node(dc.path(), "carol").await; // no handler
    connect(&a, &b).await;
    connect(&c, &b).await;
    let echo = echo.lock().unwrap().clone().unwrap();
    wait_for("B's handler told of both connects", WAIT, || async {
        (echo.connected.lock().unwrap().len() == 2).then_some(())
    })
    .await;
    assert!(echo.connected.lock().unwrap().contains(&a.node_id()));

    // A asks, B's handler awaits and answers through its own queue, A's handler gets it.
    a.peers()
        .send_custom_message(
            b.node_id(),
            RawPeerMessage {
                type_id: REQUEST,
                payload: vec![1, 2, 3],
            },
        )
        .unwrap();
    let got = wait_for("A to receive B's answer", WAIT, || async {
        recorder.received.lock().unwrap().first().cloned()
    })
    .await;
    assert_eq!(
        got,
        (
            b.node_id(),
            RawPeerMessage {
                type_id: ACCEPT,
                payload: vec![3, 2, 1]
            }
        )
    );

    // C has no handler: B's answer (an odd type) is ignored and the connection stays up.
    c.peers()
        .send_custom_message(
            b.node_id(),
            RawPeerMessage {
                type_id: REQUEST,
                payload: vec![9],
            },
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(c.peers().list().len(), 1, "C stayed connected to B");

    // Refused before anything is sent: a type below the custom range, a peer not connected.
    let err = a
        .peers()
        .send_custom_message(
            b.node_id(),
            RawPeerMessage {
                type_id: 1,
                payload: vec![],
            },
        )
        .unwrap_err();
    assert!(matches!(err, NodeError::InvalidInput(_)), "{err}");
    let err = a
        .peers()
        .send_custom_message(
            c.node_id(),
            RawPeerMessage {
                type_id: REQUEST,
                payload: vec![],
            },
        )
        .unwrap_err();
    assert!(matches!(err, NodeError::NotFound(_)), "{err}");

    for n in [a, b, c] {
        n.stop().await;
    }
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn features_that_conflict_are_refused_with_typed_errors() {
    let chain = TestChain::start().await;
    let dir = tempfile::tempdir().unwrap();
    let err = chain
        .builder(dir.path(), "twice")
        .peer_message_handler(|_| Arc::new(Recorder::default()))
        .peer_message_handler(|_| Arc::new(Recorder::default()))
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, BuildError::MessageTypeTaken(ACCEPT)), "{err}");
    let err = chain
        .builder(dir.path(), "two hooks")
        .htlc_interceptor(Arc::new(Silent::default()))
        .htlc_interceptor(Arc::new(Silent::default()))
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, BuildError::InterceptorTaken), "{err}");
    chain.shutdown().await;
}

/// Test double: forwards every HTLC over its channel to `next` with the onion's amount, and
/// records what it saw and how each circuit resolved.
#[derive(Default)]
struct Forwarder {
    next: Mutex<Option<(lightning::ln::types::ChannelId, PublicKey)>>,
    seen: Mutex<Vec<InterceptedHtlc>>,
    resolved: Mutex<Vec<(HtlcCircuit, HtlcResolution)>>,
}

impl HtlcInterceptor for Forwarder {
    fn intercept(self: Arc<Self>, htlc: InterceptedHtlc) -> BoxFuture<'static, InterceptDecision> {
        Box::pin(async move {
            self.seen.lock().unwrap().push(htlc.clone());
            match *self.next.lock().unwrap() {
                Some((channel_id, next_node)) => InterceptDecision::Forward {
                    channel_id,
                    next_node,
                    amount_msat: htlc.expected_outbound_msat,
                },
                None => InterceptDecision::Fail,
            }
        })
    }
    fn resolved(
        self: Arc<Self>,
        circuit: HtlcCircuit,
        resolution: HtlcResolution,
    ) -> BoxFuture<'static, ()> {
        self.resolved.lock().unwrap().push((circuit, resolution));
        Box::pin(async {})
    }
}

/// Test double: never answers (and notes that it was asked).
#[derive(Default)]
struct Silent {
    asked: std::sync::atomic::AtomicBool,
}

impl HtlcInterceptor for Silent {
    fn intercept(self: Arc<Self>, _htlc: InterceptedHtlc) -> BoxFuture<'static, InterceptDecision> {
        self.asked.store(true, std::sync::atomic::Ordering::SeqCst);
        Box::pin(std::future::pending())
    }
}

/// `recipient`'s own invoice for `amount_msat`, re-issued with a route hint that reaches it
/// from `via` over `scid`, an SCID `via` does not know (signed with the recipient's node key,
/// derived from its seed file as the node derives it).
fn invoice_via(
    recipient: &Node,
    dir: &std::path::Path,
    via: PublicKey,
    scid: u64,
    amount_msat: u64,
) -> lightning_invoice::Bolt11Invoice {
    let real = recipient
        .bolt11_payment()
        .receive(Some(amount_msat), "via an unknown SCID", 3600)
        .unwrap();
    let seed: [u8; 32] = std::fs::read(dir.join("seed")).unwrap().try_into().unwrap();
    let keys = KeysManager::new(&seed, 0, 0, true);
    let hint = RouteHint(vec![RouteHintHop {
        src_node_id: via,
        short_channel_id: scid,
        fees: RoutingFees {
            base_msat: 0,
            proportional_millionths: 0,
        },
        cltv_expiry_delta: 144,
        htlc_minimum_msat: None,
        htlc_maximum_msat: None,
    }]);
    let secp = Secp256k1::new();
    InvoiceBuilder::new(Currency::Regtest)
        .description("via an unknown SCID".into())
        .payment_hash(real.payment_hash())
        .payment_secret(*real.payment_secret())
        .duration_since_epoch(real.duration_since_epoch())
        .min_final_cltv_expiry_delta(real.min_final_cltv_expiry_delta())
        .amount_milli_satoshis(amount_msat)
        .private_route(hint)
        .basic_mpp()
        .build_signed(|hash| secp.sign_ecdsa_recoverable(hash, &keys.get_node_secret_key()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn intercepted_htlcs_are_forwarded_failed_or_timed_out_and_their_resolution_reported() {
    init_logs();
    let chain = TestChain::start().await;
    let (da, db, dc, dd) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let hook = Arc::new(Forwarder::default());
    let a = chain.node(da.path(), "alice").await;
    let b = chain
        .builder(db.path(), "bob")
        .htlc_interceptor(hook.clone())
        .start()
        .await
        .unwrap();
    let c = chain.node(dc.path(), "carol").await;
    // D's hook never answers; its decision timeout is short.
    let d = chain
        .builder(dd.path(), "dave")
        .htlc_decision_timeout(Duration::from_millis(500))
        .htlc_interceptor(Arc::new(Silent::default()))
        .start()
        .await
        .unwrap();
    chain.fund(&a.wallet().new_address().unwrap(), 1);
    chain.fund(&b.wallet().new_address().unwrap(), 1);
    a.sync_chain().await;
    b.sync_chain().await;
    connect(&a, &b).await;
    connect(&b, &c).await;
    connect(&a, &d).await;
    let ab = open_channel(&chain, &a, &b, 500_000, false).await;
    let bc = open_channel(&chain, &b, &c, 500_000, false).await;
    open_channel(&chain, &a, &d, 500_000, false).await;
    *hook.next.lock().unwrap() = Some((bc, c.node_id()));

    // A pays C through B over an SCID B does not know: B's hook forwards it to C. (An output
    // index whose low byte is ≥ 8 never falls in LDK's phantom namespace.)
    let scid = 0x0000_0100_0002_0013;
    let invoice = invoice_via(&c, dc.path(), b.node_id(), scid, 12_345_000);
    let id = a.bolt11_payment().send(&invoice, None).unwrap();
    let paid = a.payments().wait(&id, WAIT).await.unwrap();
    assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
    let seen = hook.seen.lock().unwrap()[0].clone();
    assert_eq!(seen.requested_scid, scid);
    assert_eq!(seen.expected_outbound_msat, 12_345_000);
    let incoming = seen.incoming.clone().expect("the incoming HTLC was found");
    assert_eq!(
        incoming.circuit.channel_id, ab,
        "it came in on the A-B channel"
    );
    assert_eq!(incoming.counterparty, a.node_id());
    assert!(incoming.scid.is_some());
    let settled = wait_for("B's hook told the forward settled", WAIT, || async {
        hook.resolved.lock().unwrap().first().cloned()
    })
    .await;
    assert_eq!(settled, (incoming.circuit, HtlcResolution::Settled));

    // The hook fails the next one: the payment fails, the hook is not told of a circuit it
    // did not forward, the channel stays usable.
    *hook.next.lock().unwrap() = None;
    let invoice = invoice_via(&c, dc.path(), b.node_id(), scid, 1_000_000);
    let id = a.bolt11_payment().send(&invoice, None).unwrap();
    assert_eq!(
        a.payments().wait(&id, WAIT).await.unwrap().status,
        PaymentStatus::Failed
    );
    assert_eq!(hook.seen.lock().unwrap().len(), 2);
    assert_eq!(hook.resolved.lock().unwrap().len(), 1);

    // D's hook never answers: the HTLC is failed back at the timeout, not left hanging.
    let invoice = invoice_via(&c, dc.path(), d.node_id(), scid, 1_000_000);
    let id = a.bolt11_payment().send(&invoice, None).unwrap();
    assert_eq!(
        a.payments().wait(&id, WAIT).await.unwrap().status,
        PaymentStatus::Failed
    );
    assert!(a.channels().list().iter().all(|ch| ch.usable));

    for n in [a, b, c, d] {
        n.stop().await;
    }
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_htlc_left_undecided_by_a_stop_is_failed_back_at_the_next_start() {
    init_logs();
    let chain = TestChain::start().await;
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let hook = Arc::new(Silent::default());
    let a = chain.node(da.path(), "alice").await;
    let b = chain
        .builder(db.path(), "bob")
        .htlc_decision_timeout(Duration::from_secs(3600))
        .htlc_interceptor(hook.clone())
        .start()
        .await
        .unwrap();
    fund_and_open(&chain, &a, &b, 500_000).await;

    let invoice = invoice_over_unknown_scid(b.node_id(), 0x0000_0100_0002_0013, 5_000_000);
    let id = a.bolt11_payment().send(&invoice, None).unwrap();
    wait_for("B's hook to be asked", WAIT, || async {
        hook.asked
            .load(std::sync::atomic::Ordering::SeqCst)
            .then_some(())
    })
    .await;
    // B stops with the decision pending, and comes back without any interceptor.
    let b_addr = b.listen_address().unwrap();
    b.stop().await;
    drop(b);
    let b = chain
        .builder(db.path(), "bob")
        .listen(b_addr)
        .start()
        .await
        .unwrap();
    let failed = a
        .payments()
        .wait(&id, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(failed.status, PaymentStatus::Failed, "{failed:?}");
    wait_for("the channel usable again", WAIT, || async {
        a.channels().list().iter().all(|c| c.usable).then_some(())
    })
    .await;

    a.stop().await;
    b.stop().await;
    chain.shutdown().await;
}

/// Test double: an event extension that claims `PaymentClaimable` for one payment hash and
/// fails it back, so the core never claims it; everything else passes on.
struct RefuseHash {
    hash: Mutex<Option<lightning::types::payment::PaymentHash>>,
    passed_on: Mutex<usize>,
}

impl EventExtension for RefuseHash {
    fn handle_event(
        self: Arc<Self>,
        event: Event,
    ) -> BoxFuture<'static, Result<EventOutcome, ReplayEvent>> {
        Box::pin(async move {
            match &event {
                Event::PaymentClaimable { payment_hash, .. }
                    if Some(*payment_hash) == *self.hash.lock().unwrap() =>
                {
                    Ok(EventOutcome::Handled)
                }
                _ => {
                    *self.passed_on.lock().unwrap() += 1;
                    Ok(EventOutcome::NotMine(Box::new(event)))
                }
            }
        })
    }
}

/// A feature's handle, reachable as `Node::extension`.
struct Counter(Arc<RefuseHash>);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn event_extensions_claim_their_events_and_pass_the_rest_to_the_core() {
    init_logs();
    let chain = TestChain::start().await;
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = chain.node(da.path(), "alice").await;
    let b = chain
        .builder(db.path(), "bob")
        .with_feature(|ctx: &mut FeatureContext<'_>| {
            let refuse = Arc::new(RefuseHash {
                hash: Mutex::default(),
                passed_on: Mutex::default(),
            });
            ctx.add_event_extension(refuse.clone());
            ctx.provide(Arc::new(Counter(refuse)));
            Ok(())
        })
        .start()
        .await
        .unwrap();
    fund_and_open(&chain, &a, &b, 500_000).await;
    let ext = b.extension::<Counter>().expect("the feature's handle");
    assert!(b.extension::<Forwarder>().is_none());

    // Passed on: the core claims.
    let invoice = b.bolt11_payment().receive(Some(10_000), "ok", 600).unwrap();
    let id = a.bolt11_payment().send(&invoice, None).unwrap();
    assert_eq!(
        a.payments().wait(&id, WAIT).await.unwrap().status,
        PaymentStatus::Succeeded
    );
    assert!(*ext.0.passed_on.lock().unwrap() > 0);

    // Claimed by the extension: the core never sees it, so it is never claimed; the HTLC
    // stays held at B (LDK fails it back only near its expiry) and A's payment stays pending.
    let invoice = b
        .bolt11_payment()
        .receive(Some(20_000), "held", 600)
        .unwrap();
    *ext.0.hash.lock().unwrap() = Some(invoice.payment_hash());
    let id = a.bolt11_payment().send(&invoice, None).unwrap();
    let waited = a.payments().wait(&id, Duration::from_secs(3)).await;
    assert!(matches!(waited, Err(NodeError::Timeout(_))), "{waited:?}");
    let received = b
        .payments()
        .get(&lightning::ln::channelmanager::PaymentId(
            invoice.payment_hash().0,
        ))
        .unwrap();
    assert_eq!(received.status, PaymentStatus::Pending);

    a.stop().await;
    b.stop().await;
    chain.shutdown().await;
}
