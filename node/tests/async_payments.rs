//! BOLT 12 async payments between real nodes on devnet, the recipient's node really stopped.
//!
//! Topology (what an LSP deployment looks like): server S has a public channel to X, so S is
//! in the graph and LDK builds its blinded paths with S as introduction node; payer P and
//! recipient R are private wallets with one channel each to S.

mod harness;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use async_offers::RegistrationToken;
use harness::*;
use lnedge_node::adapters::async_payments::{
    self, AsyncPaymentsConfig, AsyncRecipient, AsyncServer, InvoiceStore, ServerRole,
};
use lnedge_node::model::{PaymentDirection, PaymentStatus};
use lnedge_node::Node;

const LONG: Duration = Duration::from_secs(60);

struct Net {
    chain: TestChain,
    s: Node,
    p: Node,
    r: Node,
    _x: Node,
    dirs: [tempfile::TempDir; 4],
}

fn server_role() -> ServerRole {
    ServerRole::default()
}

async fn start_server(chain: &TestChain, dir: &Path, listen: SocketAddr, role: ServerRole) -> Node {
    chain
        .builder(dir, "server")
        .listen(listen)
        .immediate_htlc_processing(true)
        .with_feature(async_payments::feature(AsyncPaymentsConfig {
            server: Some(role),
            ..Default::default()
        }))
        .start()
        .await
        .expect("server starts")
}

async fn start_wallet(chain: &TestChain, dir: &Path, alias: &str, often_offline: bool) -> Node {
    chain
        .builder(dir, alias)
        .immediate_htlc_processing(true)
        .with_feature(async_payments::feature(AsyncPaymentsConfig {
            often_offline,
            ..Default::default()
        }))
        .start()
        .await
        .expect("wallet starts")
}

/// S, X, P, R with channels S–X (public), P→S and S→R (private), S in its own graph.
async fn network(payer_often_offline: bool) -> Net {
    init_logs();
    let chain = TestChain::start().await;
    let dirs = [(); 4].map(|()| tempfile::tempdir().unwrap());
    let s = start_server(&chain, dirs[0].path(), loopback(), server_role()).await;
    let x = chain.node(dirs[1].path(), "x").await;
    let p = start_wallet(&chain, dirs[2].path(), "payer", payer_often_offline).await;
    let r = start_wallet(&chain, dirs[3].path(), "recipient", true).await;
    chain.fund(&s.wallet().new_address().unwrap(), 1);
    chain.fund(&p.wallet().new_address().unwrap(), 1);
    for n in [&s, &p] {
        n.sync_chain().await;
    }
    connect(&s, &x).await;
    connect(&p, &s).await;
    connect(&r, &s).await;
    open_channel(&chain, &s, &x, 500_000, true).await;
    open_channel(&chain, &p, &s, 1_000_000, false).await;
    open_channel(&chain, &s, &r, 1_000_000, false).await;
    // The public channel's announcement puts S in its own graph.
    wait_for("S in its own graph", LONG, || async {
        (s.info().graph_channels >= 1).then_some(())
    })
    .await;
    Net {
        chain,
        s,
        p,
        r,
        _x: x,
        dirs,
    }
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn server(node: &Node) -> std::sync::Arc<AsyncServer> {
    node.extension::<AsyncServer>().expect("server role")
}

fn recipient(node: &Node) -> std::sync::Arc<AsyncRecipient> {
    node.extension::<AsyncRecipient>()
        .expect("recipient handle")
}

/// Registers R at S, applies the token and waits for R's first async offer.
async fn register(s: &Node, r: &Node, label: &str) -> (Vec<u8>, lightning::offers::offer::Offer) {
    let registered = server(s).register(label, None).await.expect("register");
    // The token travels as text.
    let token: RegistrationToken = registered.token.as_str().parse().expect("token parses");
    recipient(r).apply(&token).expect("apply token");
    let offer = recipient(r)
        .wait_for_offer(LONG)
        .await
        .expect("async offer ready");
    (registered.id, offer)
}

async fn wait_received(r: &Node, amount_msat: u64) -> lnedge_node::model::PaymentInfo {
    wait_for("payment received", LONG, || async {
        r.payments().list().unwrap().into_iter().find(|p| {
            p.direction == PaymentDirection::Inbound
                && p.status == PaymentStatus::Succeeded
                && p.amount_msat == Some(amount_msat)
        })
    })
    .await
}

/// Flows 1 and 5: R registers, goes offline, P pays; R comes back and claims. Then, R online,
/// the same offer is paid with an ordinary invoice and nothing waits in the mailbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offline_recipient_is_paid_when_it_returns() {
    let net = network(false).await;
    let (s, p, r) = (&net.s, &net.p, &net.r);
    let (id, offer) = register(s, r, "alice").await;
    assert!(!offer.paths().is_empty(), "the offer is reached through S");
    let stored = server(s).invoices(Some(&id)).await.unwrap();
    assert!(!stored.is_empty(), "S stores R's static invoice");
    assert_eq!(recipient(r).offers().unwrap(), vec![offer.clone()]);

    // R goes offline: its node really stops.
    let r_dir = net.dirs[3].path().to_path_buf();
    r.stop().await;
    wait_for("S sees R gone", LONG, || async {
        (!s.peers().is_connected(&r.node_id())).then_some(())
    })
    .await;

    let held_before = server(s).stats().messages_held;
    let id_p = p.bolt12_payment().send(&offer, Some(21_000_000)).unwrap();
    // S answers with R's static invoice and holds P's message for R.
    wait_for(
        "S serves the static invoice and holds a message",
        LONG,
        || async {
            let st = server(s).stats();
            (st.requests_served >= 1 && st.messages_held > held_before).then_some(())
        },
    )
    .await;
    assert_eq!(
        p.payments().get(&id_p).unwrap().status,
        PaymentStatus::Pending
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        p.payments().get(&id_p).unwrap().status,
        PaymentStatus::Pending,
        "held while R is away"
    );

    // R comes back.
    let r = start_wallet(&net.chain, &r_dir, "recipient", true).await;
    let back = Instant::now();
    connect(&r, s).await;
    let received = wait_received(&r, 21_000_000).await;
    let claimed_after = back.elapsed();
    let sent = p.payments().wait(&id_p, LONG).await.unwrap();
    assert_eq!(sent.status, PaymentStatus::Succeeded, "{sent:?}");
    assert_eq!(sent.amount_msat, Some(21_000_000));
    assert_eq!(received.payment_hash, sent.payment_hash);
    eprintln!("R reconnected → payment claimed: {claimed_after:?}");
    assert!(server(s).stats().messages_delivered >= 1);

    // Flow 5: R online, the same offer is paid at once.
    let held_before = server(s).stats().messages_held;
    let id_2 = p.bolt12_payment().send(&offer, Some(5_000_000)).unwrap();
    let second = p.payments().wait(&id_2, LONG).await.unwrap();
    assert_eq!(second.status, PaymentStatus::Succeeded, "{second:?}");
    wait_received(&r, 5_000_000).await;
    assert_eq!(server(s).stats().messages_held, held_before, "nothing held");

    r.stop().await;
    for n in [&net.s, &net.p, &net._x] {
        n.stop().await;
    }
    net.chain.shutdown().await;
}
