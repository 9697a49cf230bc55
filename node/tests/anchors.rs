//! Anchor channels on live nodes: a force close with an HTLC in flight. A's commitment goes out
//! with a CPFP child through its anchor, and once the HTLC has expired A's zero-fee
//! HTLC-timeout transaction gets wallet inputs for its fee — both through
//! `Event::BumpTransaction` and the wallet's coin source (`wallet/bump.rs`). The HTLC's value
//! comes back to A's wallet. `HoldingInterceptor` is a test double at the `HtlcInterceptor`
//! boundary that keeps the HTLC at B until the node stops.

mod harness;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use harness::*;
use lnedge_node::hooks::BoxFuture;
use lnedge_node::{HtlcInterceptor, InterceptDecision, InterceptedHtlc};

const LONG: Duration = Duration::from_secs(120);

/// Test double: holds every intercepted HTLC (never decides; the node's decision timeout is
/// set beyond the test).
#[derive(Default)]
struct HoldingInterceptor {
    held: AtomicBool,
}

impl HtlcInterceptor for HoldingInterceptor {
    fn intercept(self: Arc<Self>, _htlc: InterceptedHtlc) -> BoxFuture<'static, InterceptDecision> {
        self.held.store(true, Ordering::SeqCst);
        Box::pin(std::future::pending())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn force_close_with_an_htlc_in_flight_bumps_commitment_and_htlc_timeout() {
    init_logs();
    let chain = TestChain::start().await;
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let hook = Arc::new(HoldingInterceptor::default());
    let a = chain.node(da.path(), "alice").await;
    let b = chain
        .builder(db.path(), "bob")
        .htlc_decision_timeout(Duration::from_secs(3600))
        .htlc_interceptor(hook.clone())
        .start()
        .await
        .unwrap();
    chain.fund(&a.wallet().new_address().unwrap(), 1);
    a.sync_chain().await;
    connect(&a, &b).await;
    let channel_sat = 500_000;
    open_channel(&chain, &a, &b, channel_sat, false).await;
    let channel = a.channels().list().pop().unwrap();
    assert!(channel.anchors, "{channel:?}");
    let wallet_before = a.wallet().balance().total_sat;

    // A pays 100 000 sat over an SCID B does not know: B's hook holds the HTLC.
    let htlc_sat = 100_000;
    let scid = 0x0000_0100_0002_0013;
    let invoice = invoice_over_unknown_scid(b.node_id(), scid, htlc_sat * 1000);
    a.bolt11_payment().send(&invoice, None).unwrap();
    wait_for("B to hold the HTLC", LONG, || async {
        hook.held.load(Ordering::SeqCst).then_some(())
    })
    .await;

    // A force-closes: commitment + anchor child, then (after expiry) the HTLC-timeout.
    a.channels().close(&channel.channel_id, true).await.unwrap();
    wait_for(
        "commitment and its anchor child in the mempool",
        LONG,
        || async { (chain.devnet.lock().mempool.len() >= 2).then_some(()) },
    )
    .await;
    chain.mine(1);
    a.sync_chain().await;
    assert!(
        a.wallet().balance().total_sat < wallet_before + channel_sat - htlc_sat,
        "nothing is back before the timelocks"
    );

    // Everything comes back, the HTLC included, less the fees of the commitment, its CPFP, the
    // HTLC-timeout's inputs and the sweeps (≈ 21 000 sat at devnet's urgent fee rates). Without
    // the HTLC-timeout A would get at most `channel_sat - htlc_sat` back.
    let back = wait_for(
        "A's channel funds and the HTLC back in its wallet",
        LONG,
        || async {
            chain.mine(10);
            a.sync_chain().await;
            let now = a.wallet().balance().total_sat;
            (now > wallet_before + channel_sat - htlc_sat / 2 && a.pending_sweeps() == 0)
                .then_some(now)
        },
    )
    .await;
    assert!(back < wallet_before + channel_sat);

    a.stop().await;
    b.stop().await;
    chain.shutdown().await;
}
