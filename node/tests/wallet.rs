//! The node's BDK wallet on devnet: sees its coins, signs PSBTs for its own inputs, sends, and
//! keeps its state across a restart.

mod harness;

use bitcoin::absolute::LockTime;
use bitcoin::psbt::Psbt;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, Sequence, Transaction, TxIn, TxOut, Witness};
use harness::*;
use lnedge_devnet::anyone_can_spend_script;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn signs_its_inputs_sends_and_survives_restart() {
    init_logs();
    let chain = TestChain::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = chain.node(dir.path(), "wallet").await;
    let address = node.wallet().new_address().unwrap();
    // Unpaid, it is handed out again (a flood of requests reveals no more addresses), unless
    // a caller asks for a fresh one.
    assert_eq!(node.wallet().new_address().unwrap(), address);
    let fresh = node.wallet().reveal_next_address().unwrap();
    assert_ne!(fresh, address);
    assert_eq!(node.wallet().new_address().unwrap(), address);
    let block = chain.devnet.mine(1, &address.script_pubkey()).unwrap()[0];
    chain.mine(100);
    node.sync_chain().await;
    assert_eq!(node.wallet().balance().confirmed_sat, 50 * 100_000_000);
    // Paid now: the next address is the first unpaid one.
    assert_eq!(node.wallet().new_address().unwrap(), fresh);

    // A PSBT spending the wallet's coinbase, built outside the wallet.
    let coinbase = chain.devnet.block(&block).unwrap().txdata[0].clone();
    let unsigned = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint {
                txid: coinbase.compute_txid(),
                vout: 0,
            },
            script_sig: Default::default(),
            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(50 * 100_000_000 - 10_000),
            script_pubkey: anyone_can_spend_script(),
        }],
    };
    let mut psbt = Psbt::from_unsigned_tx(unsigned).unwrap();
    psbt.inputs[0].witness_utxo = Some(coinbase.output[0].clone());
    assert!(node.wallet().sign_psbt(&mut psbt).unwrap(), "finalized");
    let tx = psbt.extract_tx().unwrap();
    chain
        .devnet
        .test_transaction(&tx)
        .expect("devnet's script check accepts the signature");

    // Send through the wallet, confirm, restart: balance and history survive.
    let txid = node
        .wallet()
        .send(
            &chain_address(&node),
            Some(Amount::from_sat(1_000_000)),
            None,
        )
        .await
        .unwrap();
    assert!(chain.devnet.lock().mempool.get(&txid).is_some());
    chain.mine(1);
    node.sync_chain().await;
    let before = node.wallet().balance();
    assert_eq!(before.total_sat, before.confirmed_sat);
    assert!(before.total_sat < 50 * 100_000_000 && before.total_sat > 50 * 100_000_000 - 100_000);
    node.stop().await;
    let node = chain.node(dir.path(), "wallet").await;
    assert_eq!(node.wallet().balance(), before);
    node.stop().await;
    chain.shutdown().await;
}

/// The node's databases and LDK's directory are its owner's only, like the seed: created so,
/// and tightened at start if they were opened up.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    init_logs();
    let chain = TestChain::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mode = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    let private = [
        ("seed", 0o600),
        ("wallet.sqlite", 0o600),
        ("wallet.sqlite-wal", 0o600),
        ("payments.sqlite", 0o600),
        ("payments.sqlite-wal", 0o600),
        ("ldk", 0o700),
    ];
    let node = chain.node(dir.path(), "private").await;
    // Something in every database and under ldk/.
    node.bolt11_payment().receive(Some(1000), "x", 60).unwrap();
    node.wallet().new_address().unwrap();
    for (name, want) in private {
        assert_eq!(mode(name), want, "{name}");
    }
    node.stop().await;

    // Opened up (an older version, a careless copy): tightened at the next start.
    for name in ["wallet.sqlite", "payments.sqlite", "ldk"] {
        let path = dir.path().join(name);
        let open = if path.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(open)).unwrap();
    }
    let node = chain.node(dir.path(), "private").await;
    for (name, want) in private {
        assert_eq!(mode(name), want, "{name} after restart");
    }
    node.stop().await;
    chain.shutdown().await;
}

/// An address of the node's own wallet, as a string (sending to ourselves keeps the sum).
fn chain_address(node: &lnedge_node::Node) -> String {
    node.wallet().new_address().unwrap().to_string()
}
