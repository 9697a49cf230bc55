//! Transactions built and signed with the `bitcoin` crate, sent over RPC: accepted or rejected
//! with Bitcoin Core's error codes and messages.

mod common;

use bitcoin::absolute::LockTime;
use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{Amount, Sequence, TxOut};
use common::{coinbase_at, prevout, unknown_outpoint, Rpc, Wallet};
use lnedge_devnet::{Devnet, RpcAuth, RpcServer, RpcServerConfig};
use serde_json::json;

async fn setup(blocks: u32) -> (Devnet, RpcServer, Rpc, Wallet) {
    let devnet = Devnet::in_memory();
    let server = RpcServer::start(
        devnet.clone(),
        RpcServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            auth: RpcAuth::UserPass {
                user: "u".into(),
                password: "p".into(),
            },
        },
    )
    .await
    .unwrap();
    let rpc = Rpc {
        addr: server.local_addr(),
        auth: server.credentials_base64(),
    };
    let wallet = Wallet::new(1);
    rpc.call(
        "generatetoaddress",
        json!([blocks, wallet.address.to_string()]),
    )
    .await;
    (devnet, server, rpc, wallet)
}

#[tokio::test(flavor = "multi_thread")]
async fn valid_spend_confirms_and_leaves_mempool() {
    let (devnet, _server, rpc, wallet) = setup(101).await;
    let coin = coinbase_at(&devnet, 1);
    let tx = wallet.spend(
        &[coin],
        vec![wallet.output(4_900_000_000), wallet.output(99_999_000)],
    );
    let txid = rpc
        .call("sendrawtransaction", json!([serialize_hex(&tx)]))
        .await;
    assert_eq!(txid, json!(tx.compute_txid().to_string()));
    // Sending it again answers the txid, as Core does for a transaction already in its mempool.
    assert_eq!(
        rpc.call("sendrawtransaction", json!([serialize_hex(&tx)]))
            .await,
        txid
    );
    assert_eq!(rpc.call("getrawmempool", json!([])).await, json!([txid]));
    let entry = rpc.call("getmempoolentry", json!([txid])).await;
    assert_eq!(entry["fees"]["base"], json!(0.00001));
    assert_eq!(entry["vsize"], json!(tx.vsize()));

    // A child spending the unconfirmed output is accepted too.
    let child = wallet.spend(&[prevout(&tx, 1)], vec![wallet.output(99_998_000)]);
    rpc.call("sendrawtransaction", json!([serialize_hex(&child)]))
        .await;
    let entry = rpc.call("getmempoolentry", json!([txid])).await;
    assert_eq!(entry["spentby"], json!([child.compute_txid().to_string()]));

    let hashes = rpc
        .call("generatetoaddress", json!([1, wallet.address.to_string()]))
        .await;
    assert_eq!(rpc.call("getrawmempool", json!([])).await, json!([]));
    let verbose = rpc.call("getrawtransaction", json!([txid, true])).await;
    assert_eq!(verbose["confirmations"], json!(1));
    assert_eq!(verbose["blockhash"], hashes[0]);
    let block = rpc.call("getblock", json!([hashes[0], 2])).await;
    assert_eq!(block["tx"].as_array().unwrap().len(), 3);
    assert_eq!(block["tx"][1]["fee"], json!(0.00001));
    // Coinbase = subsidy + both fees.
    assert_eq!(block["tx"][0]["vout"][0]["value"], json!(50.00002));
    let out = rpc.call("gettxout", json!([txid, 0])).await;
    assert_eq!(out["value"], json!(49.0));
    let out = rpc.call("gettxout", json!([txid, 0])).await;
    assert_eq!(out["confirmations"], json!(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_signature_is_rejected() {
    let (devnet, _server, rpc, wallet) = setup(101).await;
    let coin = coinbase_at(&devnet, 1);
    let mut tx = wallet.spend(
        std::slice::from_ref(&coin),
        vec![wallet.output(4_999_000_000)],
    );
    // Sign for different outputs, then swap them in: the signature no longer commits.
    tx.output[0].value = Amount::from_sat(4_999_999_000);
    let (code, message) = rpc
        .error("sendrawtransaction", json!([serialize_hex(&tx)]))
        .await;
    assert_eq!(code, -26);
    assert!(
        message.starts_with("mandatory-script-verify-flag-failed ("),
        "{message}"
    );
    // Someone else's key.
    let thief = Wallet::new(2);
    let tx = thief.spend(&[coin], vec![thief.output(4_999_000_000)]);
    let (code, message) = rpc
        .error("sendrawtransaction", json!([serialize_hex(&tx)]))
        .await;
    assert_eq!(code, -26);
    assert!(
        message.starts_with("mandatory-script-verify-flag-failed"),
        "{message}"
    );
    let accept = rpc
        .call("testmempoolaccept", json!([[serialize_hex(&tx)]]))
        .await;
    assert_eq!(accept[0]["allowed"], json!(false));
}

#[tokio::test(flavor = "multi_thread")]
async fn double_spends_are_rejected() {
    let (devnet, _server, rpc, wallet) = setup(101).await;
    let coin = coinbase_at(&devnet, 1);
    let first = wallet.spend(
        std::slice::from_ref(&coin),
        vec![wallet.output(4_999_000_000)],
    );
    let second = wallet.spend(&[coin], vec![wallet.output(4_998_000_000)]);
    rpc.call("sendrawtransaction", json!([serialize_hex(&first)]))
        .await;
    let (code, message) = rpc
        .error("sendrawtransaction", json!([serialize_hex(&second)]))
        .await;
    assert_eq!((code, message.as_str()), (-26, "txn-mempool-conflict"));
    rpc.call("generatetoaddress", json!([1, wallet.address.to_string()]))
        .await;
    let (code, message) = rpc
        .error("sendrawtransaction", json!([serialize_hex(&second)]))
        .await;
    assert_eq!(
        (code, message.as_str()),
        (-25, "bad-txns-inputs-missingorspent")
    );
    // The confirmed one itself: its outputs are in the UTXO set.
    let (code, message) = rpc
        .error("sendrawtransaction", json!([serialize_hex(&first)]))
        .await;
    assert_eq!(
        (code, message.as_str()),
        (-27, "Transaction already in block chain")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn immature_coinbase_spend_is_rejected() {
    let (devnet, _server, rpc, wallet) = setup(101).await;
    // Block 2's coinbase is at depth 100 for the next block (102): still immature.
    let coin = coinbase_at(&devnet, 3);
    let tx = wallet.spend(&[coin], vec![wallet.output(4_999_000_000)]);
    let (code, message) = rpc
        .error("sendrawtransaction", json!([serialize_hex(&tx)]))
        .await;
    assert_eq!(code, -26);
    assert_eq!(
        message,
        "bad-txns-premature-spend-of-coinbase, tried to spend coinbase at depth 99"
    );
    let accept = rpc
        .call("testmempoolaccept", json!([[serialize_hex(&tx)]]))
        .await;
    assert_eq!(
        accept[0]["reject-reason"],
        json!("bad-txns-premature-spend-of-coinbase")
    );
    rpc.call("generatetoaddress", json!([1, wallet.address.to_string()]))
        .await;
    rpc.call("sendrawtransaction", json!([serialize_hex(&tx)]))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_input_is_rejected() {
    let (_devnet, _server, rpc, wallet) = setup(1).await;
    let fake = (unknown_outpoint(), wallet.output(100_000));
    let tx = wallet.spend(&[fake], vec![wallet.output(90_000)]);
    let (code, message) = rpc
        .error("sendrawtransaction", json!([serialize_hex(&tx)]))
        .await;
    assert_eq!(
        (code, message.as_str()),
        (-25, "bad-txns-inputs-missingorspent")
    );
    let accept = rpc
        .call("testmempoolaccept", json!([[serialize_hex(&tx)]]))
        .await;
    assert_eq!(accept[0]["allowed"], json!(false));
    assert_eq!(accept[0]["reject-reason"], json!("missing-inputs"));
}

#[tokio::test(flavor = "multi_thread")]
async fn overspend_is_rejected() {
    let (devnet, _server, rpc, wallet) = setup(101).await;
    let coin = coinbase_at(&devnet, 1);
    let tx = wallet.spend(&[coin], vec![wallet.output(5_100_000_000)]);
    let (code, message) = rpc
        .error("sendrawtransaction", json!([serialize_hex(&tx)]))
        .await;
    assert_eq!(code, -26);
    assert_eq!(
        message,
        "bad-txns-in-belowout, value in (50.00) < value out (51.00)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn policy_rejections_match_core() {
    let (devnet, _server, rpc, wallet) = setup(105).await;
    let send = |tx: bitcoin::Transaction| {
        let rpc = &rpc;
        async move {
            rpc.error("sendrawtransaction", json!([serialize_hex(&tx)]))
                .await
        }
    };
    // No fee at all.
    let tx = wallet.spend(
        &[coinbase_at(&devnet, 1)],
        vec![wallet.output(5_000_000_000)],
    );
    let vsize = tx.vsize();
    assert_eq!(
        send(tx).await,
        (-26, format!("min relay fee not met, 0 < {vsize}"))
    );
    // Dust output.
    let tx = wallet.spend(
        &[coinbase_at(&devnet, 1)],
        vec![wallet.output(4_999_000_000), wallet.output(293)],
    );
    assert_eq!(send(tx).await, (-26, "dust".to_string()));
    // Absolute locktime in the future.
    let tx = wallet.spend_with(
        &[coinbase_at(&devnet, 1)],
        vec![wallet.output(4_999_000_000)],
        LockTime::from_height(200).unwrap(),
        Sequence::ENABLE_LOCKTIME_NO_RBF,
    );
    assert_eq!(send(tx).await, (-26, "non-final".to_string()));
    // BIP 68: the coin (height 1) needs 200 confirmations.
    let tx = wallet.spend_with(
        &[coinbase_at(&devnet, 1)],
        vec![wallet.output(4_999_000_000)],
        LockTime::ZERO,
        Sequence::from_height(200),
    );
    assert_eq!(send(tx).await, (-26, "non-BIP68-final".to_string()));
    // ... and 100 are enough at height 106 (coin at 1: 1 + 100 - 1 < 106).
    let tx = wallet.spend_with(
        &[coinbase_at(&devnet, 1)],
        vec![wallet.output(4_999_000_000)],
        LockTime::ZERO,
        Sequence::from_height(100),
    );
    rpc.call("sendrawtransaction", json!([serialize_hex(&tx)]))
        .await;
    // Fee above maxfeerate.
    let tx = wallet.spend(
        &[coinbase_at(&devnet, 2)],
        vec![wallet.output(1_000_000_000)],
    );
    assert_eq!(
        send(tx.clone()).await,
        (
            -25,
            "Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)".to_string()
        )
    );
    rpc.call("sendrawtransaction", json!([serialize_hex(&tx), 0]))
        .await;
    // An OP_RETURN output carrying value.
    let burn = TxOut {
        value: Amount::from_sat(1000),
        script_pubkey: bitcoin::ScriptBuf::new_op_return([1u8; 4]),
    };
    let tx = wallet.spend(
        &[coinbase_at(&devnet, 3)],
        vec![wallet.output(4_999_000_000), burn],
    );
    assert_eq!(
        send(tx).await,
        (
            -25,
            "Unspendable output exceeds maximum configured by user (maxburnamount)".to_string()
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn testmempoolaccept_reports_like_core() {
    let (devnet, _server, rpc, wallet) = setup(101).await;
    let parent = wallet.spend(
        &[coinbase_at(&devnet, 1)],
        vec![wallet.output(4_999_000_000)],
    );
    let child = wallet.spend(&[prevout(&parent, 0)], vec![wallet.output(4_998_000_000)]);
    let result = rpc
        .call(
            "testmempoolaccept",
            json!([[serialize_hex(&parent), serialize_hex(&child)]]),
        )
        .await;
    assert_eq!(result[0]["allowed"], json!(true));
    assert_eq!(result[0]["fees"]["base"], json!(0.01));
    assert_eq!(
        result[0]["wtxid"],
        json!(parent.compute_wtxid().to_string())
    );
    assert_eq!(result[1]["allowed"], json!(true));
    // Nothing was added.
    assert_eq!(rpc.call("getrawmempool", json!([])).await, json!([]));
    let (code, _) = rpc.error("testmempoolaccept", json!([[]])).await;
    assert_eq!(code, -8);
    let (code, _) = rpc.error("testmempoolaccept", json!([["zz"]])).await;
    assert_eq!(code, -22);
}

#[tokio::test(flavor = "multi_thread")]
async fn reorg_returns_transactions_to_the_mempool() {
    let (devnet, _server, rpc, wallet) = setup(101).await;
    let tx = wallet.spend(
        &[coinbase_at(&devnet, 1)],
        vec![wallet.output(4_999_000_000)],
    );
    // Spends the coinbase of block 2, which becomes immature when block 102 goes away.
    let fragile = wallet.spend(
        &[coinbase_at(&devnet, 2)],
        vec![wallet.output(4_999_000_000)],
    );
    rpc.call("generatetoaddress", json!([1, wallet.address.to_string()]))
        .await;
    rpc.call("sendrawtransaction", json!([serialize_hex(&tx)]))
        .await;
    rpc.call("sendrawtransaction", json!([serialize_hex(&fragile)]))
        .await;
    let hashes = rpc
        .call("generatetoaddress", json!([1, wallet.address.to_string()]))
        .await;
    assert_eq!(rpc.call("getblockcount", json!([])).await, json!(103));
    assert_eq!(rpc.call("getrawmempool", json!([])).await, json!([]));
    let tip_102 = rpc.call("getblockhash", json!([102])).await;
    assert_eq!(
        rpc.call("invalidateblock", json!([tip_102])).await,
        json!(null)
    );
    assert_eq!(rpc.call("getblockcount", json!([])).await, json!(101));
    // `tx` is valid again at height 102; `fragile` spends block 2's coinbase at depth 100 - still
    // fine; both return.
    let mut pool: Vec<String> =
        serde_json::from_value(rpc.call("getrawmempool", json!([])).await).unwrap();
    pool.sort();
    let mut want = vec![
        tx.compute_txid().to_string(),
        fragile.compute_txid().to_string(),
    ];
    want.sort();
    assert_eq!(pool, want);
    let header = rpc.call("getblockheader", json!([hashes[0]])).await;
    assert_eq!(header["confirmations"], json!(-1));
    let tips = rpc.call("getchaintips", json!([])).await;
    assert!(tips
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["status"] == "invalid"));
    // Invalidate one more: block 101 goes, so block 2's coinbase is too young for `fragile`.
    let tip_101 = rpc.call("getblockhash", json!([101])).await;
    rpc.call("invalidateblock", json!([tip_101])).await;
    assert_eq!(
        rpc.call("getrawmempool", json!([])).await,
        json!([tx.compute_txid().to_string()])
    );
    // Reconsidering brings the longer chain back and confirms both again.
    rpc.call("reconsiderblock", json!([tip_101])).await;
    assert_eq!(rpc.call("getblockcount", json!([])).await, json!(103));
    assert_eq!(rpc.call("getrawmempool", json!([])).await, json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn generateblock_mines_given_transactions() {
    let (devnet, _server, rpc, wallet) = setup(101).await;
    let a = wallet.spend(
        &[coinbase_at(&devnet, 1)],
        vec![wallet.output(4_999_000_000)],
    );
    let b = wallet.spend(
        &[coinbase_at(&devnet, 2)],
        vec![wallet.output(4_999_000_000)],
    );
    rpc.call("sendrawtransaction", json!([serialize_hex(&a)]))
        .await;
    let result = rpc
        .call(
            "generateblock",
            json!([
                wallet.address.to_string(),
                [a.compute_txid().to_string(), serialize_hex(&b)]
            ]),
        )
        .await;
    let block = rpc.call("getblock", json!([result["hash"], 1])).await;
    assert_eq!(block["tx"].as_array().unwrap().len(), 3);
    assert_eq!(rpc.call("getrawmempool", json!([])).await, json!([]));
    // A block with an invalid transaction is refused.
    let bad = wallet.spend(
        &[coinbase_at(&devnet, 1)],
        vec![wallet.output(4_999_000_000)],
    );
    let (code, message) = rpc
        .error(
            "generateblock",
            json!([wallet.address.to_string(), [serialize_hex(&bad)]]),
        )
        .await;
    assert_eq!(code, -25);
    assert!(
        message.contains("bad-txns-inputs-missingorspent"),
        "{message}"
    );
    assert_eq!(devnet.height(), 102);
}

#[tokio::test(flavor = "multi_thread")]
async fn unconfirmed_chains_stop_at_core_limit() {
    let (devnet, _server, rpc, wallet) = setup(101).await;
    let mut prev = coinbase_at(&devnet, 1);
    let mut value = prev.1.value.to_sat();
    for _ in 0..25 {
        value -= 1_000;
        let tx = wallet.spend(&[prev], vec![wallet.output(value)]);
        rpc.call("sendrawtransaction", json!([serialize_hex(&tx)]))
            .await;
        prev = prevout(&tx, 0);
    }
    let tx = wallet.spend(&[prev], vec![wallet.output(value - 1_000)]);
    let (code, message) = rpc
        .error("sendrawtransaction", json!([serialize_hex(&tx)]))
        .await;
    assert_eq!(code, -26);
    assert_eq!(
        message,
        "too-long-mempool-chain, too many unconfirmed ancestors [limit: 25]"
    );
    // The whole chain fits in one block.
    rpc.call("generatetoaddress", json!([1, wallet.address.to_string()]))
        .await;
    assert_eq!(rpc.call("getrawmempool", json!([])).await, json!([]));
    rpc.call("sendrawtransaction", json!([serialize_hex(&tx)]))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn getrawtransaction_verbosity_2_shows_prevouts() {
    let (devnet, _server, rpc, wallet) = setup(101).await;
    let tx = wallet.spend(
        &[coinbase_at(&devnet, 1)],
        vec![wallet.output(4_999_000_000)],
    );
    let txid = rpc
        .call("sendrawtransaction", json!([serialize_hex(&tx)]))
        .await;
    for mined in [false, true] {
        let v = rpc.call("getrawtransaction", json!([txid, 2])).await;
        assert_eq!(v["fee"], json!(0.01), "mined: {mined}");
        assert_eq!(v["vin"][0]["prevout"]["generated"], json!(true));
        assert_eq!(v["vin"][0]["prevout"]["height"], json!(1));
        assert_eq!(v["vin"][0]["prevout"]["value"], json!(50.0));
        assert_eq!(
            v["vin"][0]["prevout"]["scriptPubKey"]["address"],
            json!(wallet.address.to_string())
        );
        rpc.call("generatetoaddress", json!([1, wallet.address.to_string()]))
            .await;
    }
    let v = rpc.call("getrawtransaction", json!([txid, 1])).await;
    assert!(v.get("fee").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn interval_miner_mines_until_stopped() {
    let devnet = Devnet::in_memory();
    let miner = lnedge_devnet::IntervalMiner::spawn(
        devnet.clone(),
        std::time::Duration::from_millis(20),
        lnedge_devnet::anyone_can_spend_script(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    miner.stop();
    let height = devnet.height();
    assert!(height >= 3, "only {height} blocks");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(devnet.height(), height);
}

#[test]
fn time_based_relative_locks_follow_median_time_past() {
    let devnet = Devnet::in_memory();
    let wallet = Wallet::new(11);
    devnet.mine(300, &wallet.script).unwrap();
    // Block 200's coinbase: its lock counts from the median time past of block 199. Blocks
    // are one second apart when mined this fast, so 1024 s takes about 1024 more blocks.
    let tx = wallet.spend_with(
        &[coinbase_at(&devnet, 200)],
        vec![wallet.output(2_499_000_000)],
        LockTime::ZERO,
        Sequence::from_512_second_intervals(2),
    );
    let err = devnet.send_transaction(&tx).unwrap_err().to_string();
    assert!(err.contains("non-BIP68-final"), "{err}");
    // Consensus refuses it in a block too.
    let err = devnet
        .mine_block_with(vec![tx.clone()], &wallet.script)
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad-txns-nonfinal"), "{err}");
    let start = {
        let state = devnet.lock();
        state.chain.median_time_past(199)
    };
    let tip_mtp = |devnet: &Devnet| {
        let state = devnet.lock();
        state.chain.median_time_past(state.chain.height())
    };
    while tip_mtp(&devnet) <= start + 1023 {
        devnet.mine(1, &wallet.script).unwrap();
    }
    devnet.send_transaction(&tx).unwrap();
}
