//! Async payments networks for the tests and the bench: server S with a public channel to X
//! (so S is in its own graph and LDK makes it the introduction node of its blinded paths),
//! payer P and recipient R with one private channel each to S.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use async_offers::RegistrationToken;
use lnedge_node::adapters::async_payments::{
    self, AsyncPaymentsConfig, AsyncRecipient, AsyncServer, ServerRole,
};
use lnedge_node::model::{PaymentDirection, PaymentStatus};
use lnedge_node::Node;

use super::*;

const LONG: Duration = Duration::from_secs(60);

pub struct Net {
    pub chain: TestChain,
    pub s: Node,
    pub p: Node,
    pub r: Node,
    pub x: Node,
    pub dirs: [tempfile::TempDir; 4],
}

pub async fn start_server(
    chain: &TestChain,
    dir: &Path,
    listen: SocketAddr,
    role: ServerRole,
) -> Node {
    let alias = format!("{}-server", tag(dir));
    chain
        .builder(dir, &alias)
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

pub async fn start_wallet(chain: &TestChain, dir: &Path, alias: &str, often_offline: bool) -> Node {
    let alias = format!("{}-{alias}", tag(dir));
    chain
        .builder(dir, &alias)
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
pub async fn network(
    payer_often_offline: bool,
    channel_sat: u64,
    role: impl FnOnce(&Path) -> ServerRole,
) -> Net {
    init_logs();
    let chain = TestChain::start().await;
    let dirs = [(); 4].map(|()| tempfile::tempdir().unwrap());
    let s = start_server(&chain, dirs[0].path(), loopback(), role(dirs[0].path())).await;
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
    reconnect(&r, &s).await;
    open_channel(&chain, &s, &x, 500_000, true).await;
    open_channel(&chain, &p, &s, channel_sat, false).await;
    open_channel(&chain, &s, &r, channel_sat, false).await;
    // R gets some outbound liquidity, P some inbound.
    for (payer, payee) in [(&s, &r), (&p, &s)] {
        let invoice = payee
            .bolt11_payment()
            .receive(Some(100_000_000), "liquidity", 3600)
            .unwrap();
        let id = payer.bolt11_payment().send(&invoice, None).unwrap();
        let paid = payer.payments().wait(&id, LONG).await.unwrap();
        assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
    }
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
        x,
        dirs,
    }
}

/// The test a node belongs to, for its log alias (from its data directory's name).
pub fn tag(dir: &Path) -> String {
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    name.chars().rev().take(4).collect()
}

pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

pub fn server(node: &Node) -> std::sync::Arc<AsyncServer> {
    node.extension::<AsyncServer>().expect("server role")
}

pub fn recipient(node: &Node) -> std::sync::Arc<AsyncRecipient> {
    node.extension::<AsyncRecipient>()
        .expect("recipient handle")
}

/// Registers R at S, applies the token and waits for R's first async offer.
pub async fn register(
    s: &Node,
    r: &Node,
    label: &str,
) -> (Vec<u8>, lightning::offers::offer::Offer) {
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

/// `a` reconnects to `b` (a restarted node reconnects to its channel peers itself; a second
/// connection racing that one may be closed, which is fine).
pub async fn reconnect(a: &Node, b: &Node) {
    if !a.peers().is_connected(&b.node_id()) {
        let _ = a.peers().connect(b.node_id(), &peer_address(b)).await;
    }
    wait_for("reconnected", LONG, || async {
        a.peers().is_connected(&b.node_id()).then_some(())
    })
    .await;
}

pub async fn wait_received(r: &Node, amount_msat: u64) -> lnedge_node::model::PaymentInfo {
    wait_for("payment received", LONG, || async {
        r.payments().list().unwrap().into_iter().find(|p| {
            p.direction == PaymentDirection::Inbound
                && p.status == PaymentStatus::Succeeded
                && p.amount_msat == Some(amount_msat)
        })
    })
    .await
}
