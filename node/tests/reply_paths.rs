//! Issue #18, finding 2: an unannounced payer's invoice request must carry reply paths the
//! recipient can use.
//!
//! Topology: payer P with private channels to S and Q; recipient R with a private channel to S
//! only, so its offer is reached through S; R is not P's peer and knows no address for P. LDK's
//! own `DefaultMessageRouter` fails both tests: with P outside its own graph it has no reply
//! path at all (neither S nor Q is in P's graph, and P has two peers), so `pay_for_offer`
//! fails with `MissingPaths`; with P in its own graph (a public channel to Q) but without an
//! address, the reply path is P itself, R cannot reach it and the payment hangs (what was seen
//! with a foreign recipient). The node's router blinds the reply paths through P's channel
//! peers.

mod harness;

use std::time::Duration;

use harness::async_net::wait_received;
use harness::*;
use lnedge_node::model::PaymentStatus;
use lnedge_node::{Node, NodeBuilder};

const LONG: Duration = Duration::from_secs(60);
const AMOUNT_MSAT: u64 = 20_000_000;

struct Net {
    chain: TestChain,
    p: Node,
    s: Node,
    q: Node,
    r: Node,
    _dirs: [tempfile::TempDir; 4],
}

/// P, S, Q, R and the channels P→S, S→R (private) and P→Q (public if `p_q_public`). P listens
/// only if `p_listens`.
async fn network(p_listens: bool, p_q_public: bool) -> Net {
    init_logs();
    let chain = TestChain::start().await;
    let dirs = [(); 4].map(|()| tempfile::tempdir().unwrap());
    let p = if p_listens {
        chain.node(dirs[0].path(), "payer").await
    } else {
        NodeBuilder::new(dirs[0].path())
            .alias("payer")
            .bitcoind_rpc(chain.rpc.url(), "test", "test")
            .chain_poll_interval(Duration::from_millis(50))
            .maintenance_interval(Duration::from_secs(1))
            .start()
            .await
            .expect("payer starts")
    };
    let s = chain.node(dirs[1].path(), "s").await;
    let q = chain.node(dirs[2].path(), "q").await;
    let r = chain.node(dirs[3].path(), "recipient").await;
    chain.fund(&p.wallet().new_address().unwrap(), 1);
    chain.fund(&s.wallet().new_address().unwrap(), 1);
    for n in [&p, &s] {
        n.sync_chain().await;
    }
    connect(&p, &s).await;
    connect(&p, &q).await;
    connect(&r, &s).await;
    open_channel(&chain, &p, &s, 1_000_000, false).await;
    open_channel(&chain, &p, &q, 1_000_000, p_q_public).await;
    open_channel(&chain, &s, &r, 1_000_000, false).await;
    Net {
        chain,
        p,
        s,
        q,
        r,
        _dirs: dirs,
    }
}

/// P pays R's offer; both sides must see it through.
async fn pay_offer(net: &Net) {
    let (p, r) = (&net.p, &net.r);
    assert!(
        !p.peers().is_connected(&r.node_id()),
        "R is not P's peer: it answers over the reply path"
    );
    let offer = r.bolt12_payment().receive(None, "reply paths").unwrap();
    let id = p
        .bolt12_payment()
        .send(&offer, Some(AMOUNT_MSAT))
        .expect("P has reply paths for its invoice request");
    let paid = p.payments().wait(&id, LONG).await.expect("payment ends");
    assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
    let received = wait_received(r, AMOUNT_MSAT).await;
    assert_eq!(received.amount_msat, Some(AMOUNT_MSAT));
}

async fn shut_down(net: Net) {
    for n in [&net.p, &net.s, &net.q, &net.r] {
        n.stop().await;
    }
    net.chain.shutdown().await;
}

/// All channels private: no graph knows anyone, P's peers included.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unannounced_payer_with_private_peers_pays_an_offer() {
    let net = network(true, false).await;
    let info = net.p.info();
    assert_eq!(
        (info.graph_nodes, info.graph_channels),
        (0, 0),
        "neither S nor Q is in P's graph"
    );
    pay_offer(&net).await;
    shut_down(net).await;
}

/// P has a public channel to Q (so P is in its own graph) but no listening address, so no
/// node announcement: nobody can connect to P.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payer_in_graph_without_address_pays_an_offer() {
    let net = network(false, true).await;
    wait_for("the P–Q channel in P's graph", LONG, || async {
        (net.p.info().graph_channels >= 1).then_some(())
    })
    .await;
    pay_offer(&net).await;
    shut_down(net).await;
}
