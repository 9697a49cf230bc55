//! Start-up refuses a data directory that would lose money silently (monitors without the
//! manager, a manager without its monitors, a lost wallet on a node with history) and restores
//! a wallet from the seed with a rescan; payments a crash left pending are settled with LDK;
//! an invoice whose payment failed can be paid again.

mod harness;

use std::path::Path;
use std::time::Duration;

use harness::*;
use lightning::ln::channelmanager::PaymentId;
use lnedge_node::builder::UNKNOWN_AFTER_RESTART;
use lnedge_node::model::{PaymentDirection, PaymentKind, PaymentStatus};
use lnedge_node::payment::store::PaymentStore;
use lnedge_node::BuildError;

const WAIT: Duration = Duration::from_secs(60);

fn rename(from: &Path, to: &Path) {
    std::fs::rename(from, to)
        .unwrap_or_else(|e| panic!("{} → {}: {e}", from.display(), to.display()));
}

async fn build(chain: &TestChain, dir: &Path) -> Result<lnedge_node::Node, BuildError> {
    chain.builder(dir, "alice").build().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refuses_lost_state_and_restores_the_wallet_from_the_seed() {
    init_logs();
    let chain = TestChain::start().await;
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = chain.node(da.path(), "alice").await;
    let b = chain.node(db.path(), "bob").await;
    let channel = fund_and_open(&chain, &a, &b, 200_000).await;
    let balance = a.wallet().balance();
    assert!(balance.confirmed_sat > 0 && balance.confirmed_sat < 50 * 100_000_000);
    a.stop().await;
    drop(a);

    let dir = da.path();
    let ldk = dir.join("ldk");

    // A manager whose channel's monitor is gone: refused, naming the channel.
    rename(&ldk.join("monitors"), &dir.join("monitors.away"));
    let e = build(&chain, dir).await.unwrap_err();
    match &e {
        BuildError::MissingChannelMonitors { channels } => assert_eq!(channels, &vec![channel]),
        other => panic!("expected MissingChannelMonitors, got {other:?}"),
    }
    let text = e.to_string();
    assert!(text.contains(&channel.to_string()), "{text}");
    assert!(
        text.contains("restore ldk/monitors from a backup"),
        "{text}"
    );
    rename(&dir.join("monitors.away"), &ldk.join("monitors"));

    // Monitors without the manager: refused.
    rename(&ldk.join("manager"), &dir.join("manager.away"));
    let e = build(&chain, dir).await.unwrap_err();
    assert!(
        matches!(e, BuildError::MissingChannelManager { monitors: 1 }),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(text.contains("would start with no channels"), "{text}");
    assert!(text.contains("restore ldk/manager from a backup"), "{text}");
    rename(&dir.join("manager.away"), &ldk.join("manager"));

    // The wallet emptied (0 bytes), then deleted: refused, saying how to restore it.
    let wallet = dir.join("wallet.sqlite");
    std::fs::File::create(&wallet).unwrap();
    let e = build(&chain, dir).await.unwrap_err();
    assert!(matches!(e, BuildError::WalletMissing { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("channel monitor") && text.contains("a channel manager"),
        "{text}"
    );
    assert!(text.contains("--restore-wallet-from-height"), "{text}");
    std::fs::remove_file(&wallet).unwrap();
    for extra in ["wallet.sqlite-wal", "wallet.sqlite-shm"] {
        let _ = std::fs::remove_file(dir.join(extra));
    }
    assert!(matches!(
        build(&chain, dir).await.unwrap_err(),
        BuildError::WalletMissing { .. }
    ));
    // A restore height above the tip is a configuration error.
    let e = chain
        .builder(dir, "alice")
        .restore_wallet_from_height(chain.devnet.height() + 1)
        .build()
        .await
        .unwrap_err();
    assert!(matches!(e, BuildError::InvalidConfig(_)), "{e:?}");

    // Restored from the seed with a rescan from genesis: the balance and the channel are back.
    let a = chain
        .builder(dir, "alice")
        .restore_wallet_from_height(0)
        .start()
        .await
        .expect("starts with the wallet restored");
    a.sync_chain().await;
    assert_eq!(a.wallet().balance(), balance);
    assert_eq!(
        a.channels()
            .list()
            .iter()
            .map(|c| c.channel_id)
            .collect::<Vec<_>>(),
        vec![channel]
    );
    a.stop().await;
    drop(a);
    // The option only creates a missing wallet.
    let e = chain
        .builder(dir, "alice")
        .restore_wallet_from_height(0)
        .build()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("holds one"), "{e}");
    let a = chain.node(dir, "alice").await;
    assert_eq!(a.wallet().balance(), balance);

    a.stop().await;
    b.stop().await;
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pending_payment_unknown_to_ldk_is_failed_at_start() {
    init_logs();
    let chain = TestChain::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = chain.node(dir.path(), "alice").await;
    node.stop().await;
    drop(node);

    // What a crash between recording a payment and LDK persisting it leaves behind.
    let lost = PaymentId([9; 32]);
    let invoice = PaymentId([8; 32]);
    {
        let store = PaymentStore::open(&dir.path().join("payments.sqlite")).unwrap();
        for (id, direction) in [
            (lost, PaymentDirection::Outbound),
            (invoice, PaymentDirection::Inbound),
        ] {
            store
                .insert(&PaymentStore::new_record(
                    id,
                    None,
                    direction,
                    PaymentKind::Bolt11,
                    PaymentStatus::Pending,
                    Some(1_000),
                ))
                .unwrap();
        }
    }
    let node = chain.node(dir.path(), "alice").await;
    let p = node.payments().get(&lost).unwrap();
    assert_eq!(p.status, PaymentStatus::Failed, "{p:?}");
    assert_eq!(p.failure.as_deref(), Some(UNKNOWN_AFTER_RESTART));
    // An open invoice of ours is not an outbound payment: left alone.
    assert_eq!(
        node.payments().get(&invoice).unwrap().status,
        PaymentStatus::Pending
    );
    node.stop().await;
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_invoice_can_be_paid_again() {
    init_logs();
    let chain = TestChain::start().await;
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = chain.node(da.path(), "alice").await;
    let b = chain.node(db.path(), "bob").await;
    fund_and_open(&chain, &a, &b, 500_000).await;

    // A payment LDK sends and that fails on the way (B knows no such SCID): LDK forgets it
    // once it failed, so paying the same invoice again is accepted, by LDK too.
    let nowhere = invoice_over_unknown_scid(b.node_id(), 0x0000_0100_0002_0013, 1_000_000);
    for attempt in 0..2 {
        let id = a.bolt11_payment().send(&nowhere, None).unwrap_or_else(|e| {
            panic!("attempt {attempt} accepted: {e}");
        });
        let p = a.payments().wait(&id, WAIT).await.unwrap();
        assert_eq!(p.status, PaymentStatus::Failed, "{p:?}");
    }

    // The payee offline: no route, the payment fails at once.
    let invoice = b
        .bolt11_payment()
        .receive(Some(2_000_000), "retry", 3600)
        .unwrap();
    let b_addr = b.listen_address().unwrap();
    b.stop().await;
    drop(b);
    wait_for("A sees B gone", WAIT, || async {
        a.channels().list().iter().all(|c| !c.usable).then_some(())
    })
    .await;
    let id = PaymentId(invoice.payment_hash().0);
    let failed = match a.bolt11_payment().send(&invoice, None) {
        Err(e) => a
            .payments()
            .get(&id)
            .unwrap_or_else(|_| panic!("refused before it was recorded: {e}")),
        Ok(sent) => a.payments().wait(&sent, WAIT).await.unwrap(),
    };
    assert_eq!(failed.status, PaymentStatus::Failed, "{failed:?}");

    // The payee back: the same invoice is paid, and its record tells the new attempt's story.
    let b = chain.restart(db.path(), "bob", b_addr).await;
    wait_for("the channel usable again", WAIT, || async {
        a.channels().list().iter().all(|c| c.usable).then_some(())
    })
    .await;
    let again = a.bolt11_payment().send(&invoice, None).expect("accepted");
    assert_eq!(again, id);
    let paid = a.payments().wait(&id, WAIT).await.unwrap();
    assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
    assert_eq!(paid.failure, None);
    let e = a.bolt11_payment().send(&invoice, None).unwrap_err();
    assert!(e.to_string().contains("paid already"), "{e}");

    a.stop().await;
    b.stop().await;
    chain.shutdown().await;
}
