//! A peer's commitment feerate below our own estimate: an anchor channel opened at the mempool
//! minimum is accepted (issue #18: an ldk-node peer opening at its 1008-block estimate, the relay
//! floor, was refused with "Peer's feerate much too low. Actual: 253. Our expected lower limit:
//! 500", our 144-block estimate). Both nodes follow one devnet, so they would estimate alike;
//! B keeps the estimates it read at start (no refresh for an hour) while the curve is lowered
//! and A refreshes, so A proposes less than B's own estimate.

mod harness;

use std::time::Duration;

use harness::*;
use lightning::chain::chaininterface::{ConfirmationTarget, FeeEstimator};
use lnedge_devnet::FeeCurve;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn anchor_channel_opened_at_the_mempool_minimum_is_accepted() {
    init_logs();
    let chain = TestChain::start().await;
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let no_refresh = Duration::from_secs(3600);
    let a = chain
        .builder(da.path(), "alice")
        .maintenance_interval(no_refresh)
        .start()
        .await
        .unwrap();
    let b = chain
        .builder(db.path(), "bob")
        .maintenance_interval(no_refresh)
        .start()
        .await
        .unwrap();

    // devnet's default curve: 2 sat/vB for 144 blocks; the mempool minimum is 1 sat/vB.
    let fee =
        |node: &lnedge_node::Node, target| node.chain_client().get_est_sat_per_1000_weight(target);
    assert_eq!(fee(&b, ConfirmationTarget::AnchorChannelFee), 500);
    assert_eq!(
        fee(&b, ConfirmationTarget::MinAllowedAnchorChannelRemoteFee),
        253
    );

    // Fees drop; A sees it, B not yet.
    chain.devnet.lock().fee_curve = FeeCurve::flat(1.0);
    a.chain_client().refresh_fees().await.unwrap();
    assert_eq!(fee(&a, ConfirmationTarget::AnchorChannelFee), 253);
    assert_eq!(fee(&b, ConfirmationTarget::AnchorChannelFee), 500);

    // A opens at 253 sat/kW, below B's own estimate: B accepts. (Were it refused, LDK at A
    // would try again without anchors, and a non-anchor channel would open.)
    fund_and_open(&chain, &a, &b, 200_000).await;
    let channel = b.channels().list().pop().unwrap();
    assert!(channel.anchors && channel.usable, "{channel:?}");

    a.stop().await;
    b.stop().await;
    chain.shutdown().await;
}
