//! Channel policies on live nodes. Inbound channel requests follow the node's
//! `InboundChannelPolicy` (LDK 0.3 asks about every inbound channel): a refusing node's peer sees
//! its open attempt closed. Outbound opens keep the anchor reserve in the wallet.

mod harness;

use std::time::Duration;

use harness::*;
use lnedge_node::InboundChannelPolicy;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refusing_node_turns_channels_down_and_an_accepting_one_takes_them() {
    init_logs();
    let chain = TestChain::start().await;
    let (da, db, dc) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let a = chain.node(da.path(), "alice").await;
    let b = chain
        .builder(db.path(), "bob")
        .inbound_channels(InboundChannelPolicy::RejectAll)
        .start()
        .await
        .unwrap();
    let c = chain
        .builder(dc.path(), "carol")
        .inbound_channels(InboundChannelPolicy::AcceptFrom(vec![a.node_id()]))
        .start()
        .await
        .unwrap();
    chain.fund(&a.wallet().new_address().unwrap(), 1);
    a.sync_chain().await;
    connect(&a, &b).await;
    connect(&a, &c).await;

    let mut events = a.subscribe();
    a.channels().open(b.node_id(), 100_000, 0, false).unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Ok(lnedge_node::model::NodeEvent::ChannelClosed {
                counterparty,
                reason,
                ..
            }) = events.recv().await
            {
                if counterparty == Some(b.node_id()) {
                    return reason;
                }
            }
        }
    })
    .await
    .expect("A's open attempt to B is closed");
    assert!(!closed.is_empty());
    assert!(a.channels().list().is_empty() && b.channels().list().is_empty());

    // C accepts channels from A (listed).
    open_channel(&chain, &a, &c, 100_000, false).await;
    assert_eq!(c.channels().list().len(), 1);

    for n in [a, b, c] {
        n.stop().await;
    }
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opening_a_channel_keeps_the_anchor_reserve() {
    init_logs();
    let chain = TestChain::start().await;
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // One regtest coinbase (50 BTC); keep all of it but 50 000 sat for one anchor channel.
    let coinbase = 5_000_000_000;
    let a = chain
        .builder(da.path(), "alice")
        .anchor_reserve_sat(coinbase - 50_000)
        .start()
        .await
        .unwrap();
    let b = chain.node(db.path(), "bob").await;
    chain.fund(&a.wallet().new_address().unwrap(), 1);
    a.sync_chain().await;
    assert_eq!(a.wallet().balance().confirmed_sat, coinbase);
    connect(&a, &b).await;

    let refused = a
        .channels()
        .open(b.node_id(), 100_000, 0, false)
        .unwrap_err();
    assert!(
        refused.to_string().contains("below the anchor reserve"),
        "{refused}"
    );
    assert!(a.channels().list().is_empty());

    // 40 000 sat leaves the reserve of one anchor channel; a second one would need twice that.
    open_channel(&chain, &a, &b, 40_000, false).await;
    let channels = a.channels().list();
    assert!(channels.len() == 1 && channels[0].anchors, "{channels:?}");
    let refused = a
        .channels()
        .open(b.node_id(), 20_000, 0, false)
        .unwrap_err();
    assert!(
        refused.to_string().contains("below the anchor reserve"),
        "{refused}"
    );

    for n in [a, b] {
        n.stop().await;
    }
    chain.shutdown().await;
}
