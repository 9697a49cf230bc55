//! Inbound channel requests follow the node's `InboundChannelPolicy` (LDK 0.3 asks about every
//! inbound channel): a refusing node's peer sees its open attempt closed.

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
        .build()
        .await
        .unwrap();
    let c = chain
        .builder(dc.path(), "carol")
        .inbound_channels(InboundChannelPolicy::AcceptFrom(vec![a.node_id()]))
        .build()
        .await
        .unwrap();
    chain.fund(&a.wallet_address().unwrap(), 1);
    a.sync_chain().await;
    connect(&a, &b).await;
    connect(&a, &c).await;

    let mut events = a.subscribe();
    a.open_channel(b.node_id(), 100_000, 0, false).unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Ok(lnedge_node::model::NodeEvent::ChannelClosed {
                counterparty,
                reason,
                ..
            }) = events.recv().await
            {
                if counterparty.as_deref() == Some(&b.node_id().to_string()) {
                    return reason;
                }
            }
        }
    })
    .await
    .expect("A's open attempt to B is closed");
    assert!(!closed.is_empty());
    assert!(a.list_channels().is_empty() && b.list_channels().is_empty());

    // C accepts channels from A (listed).
    open_channel(&chain, &a, &c, 100_000, false).await;
    assert_eq!(c.list_channels().len(), 1);

    for n in [a, b, c] {
        n.stop().await;
    }
    chain.shutdown().await;
}
