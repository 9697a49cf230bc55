//! Three nodes in one process over loopback TCP on devnet: channels A–B and B–C, two-hop
//! payments by BOLT 11 and BOLT 12, cooperative and force close with the funds back in the
//! wallet, and a restart in the middle.

mod harness;

use std::time::Duration;

use bitcoin::Amount;
use harness::*;
use lightning::ln::channelmanager::PaymentId;
use lightning::ln::types::ChannelId;
use lnedge_node::model::PaymentStatus;

const LONG: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_route_pay_close_and_restart() {
    init_logs();
    let chain = TestChain::start().await;
    let (da, db, dc) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let a = chain.node(da.path(), "alice").await;
    let b = chain.node(db.path(), "bob").await;
    let c = chain.node(dc.path(), "carol").await;

    // Wallets: one coinbase (50 BTC) each for A and B.
    chain.fund(&a.wallet().new_address().unwrap(), 1);
    chain.fund(&b.wallet().new_address().unwrap(), 1);
    for n in [&a, &b] {
        n.sync_chain().await;
        assert_eq!(n.wallet().balance().confirmed_sat, 50 * 100_000_000);
    }

    connect(&a, &b).await;
    connect(&b, &c).await;
    open_channel(&chain, &a, &b, 1_000_000, true).await;
    open_channel(&chain, &b, &c, 1_000_000, true).await;
    let spent_on_channels = 50 * 100_000_000 - a.wallet().balance().total_sat;
    assert!(
        spent_on_channels > 1_000_000 && spent_on_channels < 1_010_000,
        "{spent_on_channels}"
    );

    // A learns the B–C channel by gossip (announced after 6 confirmations). LDK drops a
    // channel_update or node_announcement that reaches a node before the channel_announcement
    // it refers to. Rather than wait for the nodes' own re-announcement timer (which a busy
    // machine delays), the test drives gossip: every 100 ms each node announces itself and
    // flushes its peer queues (`Node::announce`). If the graph is still incomplete after 20 s,
    // A reconnects to B, which makes B send A its whole graph (the gossip sync LDK requests on
    // every connection), and 6 blocks are mined, after which LDK re-broadcasts its channels'
    // announcements.
    let graph_complete = || {
        let info = a.info();
        info.graph_channels >= 2 && info.graph_nodes >= 3
    };
    let drive_gossip = || {
        for n in [&a, &b, &c] {
            n.announce();
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !graph_complete() && tokio::time::Instant::now() < deadline {
        drive_gossip();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !graph_complete() {
        // Seen on a busy machine: B's graph lacked its own B–C channel while C's had it, so B
        // had nothing to forward. LDK re-broadcasts a public channel's announcement every 6
        // blocks after its confirmation: mine them, so C (and B) announce again.
        a.peers().disconnect(b.node_id()).unwrap();
        connect(&a, &b).await;
        chain.mine(6);
        for n in [&a, &b, &c] {
            n.sync_chain().await;
        }
    }
    let deadline = tokio::time::Instant::now() + LONG;
    while !graph_complete() {
        drive_gossip();
        if tokio::time::Instant::now() > deadline {
            // What each node has, to tell a gossip delay from a channel that never got announced.
            let state: Vec<String> = [("A", &a), ("B", &b), ("C", &c)]
                .iter()
                .map(|(name, n)| {
                    let info = n.info();
                    let channels: Vec<String> = n
                        .channels()
                        .list()
                        .iter()
                        .map(|ch| {
                            format!(
                                "{} conf {:?} ready {} usable {} public {}",
                                ch.channel_id,
                                ch.confirmations,
                                ch.ready,
                                ch.usable,
                                ch.public
                            )
                        })
                        .collect();
                    format!(
                        "{name}: height {}, peers {}, graph {} channels {} nodes, channels {channels:?}",
                        info.block_height, info.peers, info.graph_channels, info.graph_nodes
                    )
                })
                .collect();
            panic!(
                "timed out waiting for A's graph to have both channels and all three node \
                 announcements:\n{}",
                state.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Two-hop BOLT 11.
    let invoice = c
        .bolt11_payment()
        .receive(Some(50_000_000), "coffee", 3600)
        .unwrap();
    let id = a.bolt11_payment().send(&invoice, None).unwrap();
    let paid = a.payments().wait(&id, LONG).await.unwrap();
    assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
    assert!(
        paid.fee_msat.unwrap_or(0) > 0,
        "B charged a forwarding fee: {paid:?}"
    );
    let received = wait_for("C records the payment", LONG, || async {
        c.payments()
            .get(&PaymentId(invoice.payment_hash().0))
            .ok()
            .filter(|p| p.status == PaymentStatus::Succeeded)
    })
    .await;
    assert_eq!(received.amount_msat, Some(50_000_000));

    // Two-hop BOLT 12.
    let offer = c.bolt12_payment().receive(None, "tip jar").unwrap();
    let id = a.bolt12_payment().send(&offer, Some(20_000_000)).unwrap();
    let paid = a.payments().wait(&id, LONG).await.unwrap();
    assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");

    // Restart B mid-way: channels and balances survive.
    let b_channels_before: Vec<_> = b
        .channels()
        .list()
        .into_iter()
        .map(|c| (c.channel_id, c.outbound_msat))
        .collect();
    let b_wallet_before = b.wallet().balance();
    let b_addr = b.listen_address().unwrap();
    b.stop().await;
    drop(b);
    // Same address: A reconnects to where it last reached B.
    let b = chain.restart(db.path(), "bob", b_addr).await;
    let b_channels_after: Vec<_> = b
        .channels()
        .list()
        .into_iter()
        .map(|c| (c.channel_id, c.outbound_msat))
        .collect();
    assert_eq!(sorted(b_channels_before), sorted(b_channels_after));
    assert_eq!(b.wallet().balance(), b_wallet_before);
    // A and C reconnect (they remember B); the channels become usable again and route.
    wait_for("B's channels usable after restart", LONG, || async {
        let ch = b.channels().list();
        (ch.len() == 2 && ch.iter().all(|c| c.usable)).then_some(())
    })
    .await;
    let invoice = c
        .bolt11_payment()
        .receive(Some(10_000_000), "after restart", 3600)
        .unwrap();
    let id = a.bolt11_payment().send(&invoice, None).unwrap();
    assert_eq!(
        a.payments().wait(&id, LONG).await.unwrap().status,
        PaymentStatus::Succeeded
    );

    // Cooperative close A–B: A's side comes back to A's wallet.
    let ab = a
        .channels()
        .list()
        .into_iter()
        .find(|c| c.counterparty == b.node_id())
        .unwrap();
    let a_before = a.wallet().balance().total_sat;
    // B's side of the same channel, which comes back to B's wallet too.
    let b_side_msat = b
        .channels()
        .list()
        .into_iter()
        .find(|c| c.channel_id == ab.channel_id)
        .unwrap()
        .outbound_msat;
    let b_wallet_before_close = b.wallet().balance().total_sat;
    a.channels().close(&ab.channel_id, false).await.unwrap();
    wait_for("coop close in mempool", LONG, || async {
        (!chain.devnet.lock().mempool.is_empty()).then_some(())
    })
    .await;
    chain.mine(1);
    // The closing transaction pays both wallets directly (closing scripts come from the
    // wallets): no further block, no sweep.
    let back = wait_for("A's channel balance back in its wallet", LONG, || async {
        a.sync_chain().await;
        let now = a.wallet().balance().total_sat;
        (now > a_before + ab.outbound_msat / 1000 - 10_000 && a.pending_sweeps() == 0)
            .then_some(now)
    })
    .await;
    // At most our balance: what we could send plus the reserve the peer held us to (1%).
    assert!(back <= a_before + ab.outbound_msat / 1000 + ab.capacity_sat / 100);

    let b_before = wait_for("B's side of A–B back in B's wallet", LONG, || async {
        b.sync_chain().await;
        let now = b.wallet().balance().total_sat;
        (now > b_wallet_before_close + b_side_msat / 1000 - 10_000 && b.pending_sweeps() == 0)
            .then_some(now)
    })
    .await;

    // Force close B–C from B (B's to_self output waits for C's to_self_delay, 144 blocks).
    let bc = b
        .channels()
        .list()
        .into_iter()
        .find(|ch| ch.counterparty == c.node_id())
        .unwrap();
    assert!(bc.anchors, "channels are anchor channels: {bc:?}");
    b.channels().close(&bc.channel_id, true).await.unwrap();
    wait_for("commitment in mempool", LONG, || async {
        (!chain.devnet.lock().mempool.is_empty()).then_some(())
    })
    .await;
    chain.mine(1);
    b.sync_chain().await;
    assert!(
        b.wallet().balance().total_sat < b_before + bc.outbound_msat / 1000 - 10_000,
        "not swept yet"
    );
    chain.mine(150);
    let swept = wait_for(
        "B's funds swept to its wallet after the delay",
        LONG,
        || async {
            chain.mine(1);
            b.sync_chain().await;
            let now = b.wallet().balance().total_sat;
            (now > b_before + bc.outbound_msat / 1000 - 20_000 && b.pending_sweeps() == 0)
                .then_some(now)
        },
    )
    .await;
    assert!(swept <= b_before + bc.outbound_msat / 1000 + bc.capacity_sat / 100);

    for n in [a, b, c] {
        n.stop().await;
    }
    chain.shutdown().await;
    let _ = Amount::ZERO;
}

fn sorted(mut v: Vec<(ChannelId, u64)>) -> Vec<(ChannelId, u64)> {
    v.sort();
    v
}
