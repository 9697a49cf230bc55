//! Block acceptance: blocks built with the `bitcoin` crate and devnet's block builder are
//! accepted or refused as Core would, with Core's reject reasons.

mod common;

use bitcoin::hashes::Hash;
use bitcoin::{Amount, Block, BlockHash, ScriptBuf, TxMerkleNode};
use lnedge_devnet::block::{assemble, coinbase, grind};
use lnedge_devnet::chain::Chain;
use lnedge_devnet::params::subsidy;

fn next_block(chain: &Chain, value: Amount, txs: Vec<bitcoin::Transaction>) -> Block {
    let height = chain.height() + 1;
    let cb = coinbase(height, 0, ScriptBuf::new_op_return([]), value);
    let time = chain.tip().block.header.time + 1;
    assemble(chain.tip_hash(), time, cb, txs)
}

fn reason(chain: &mut Chain, block: Block) -> String {
    chain
        .accept_block(block)
        .expect_err("block should be refused")
        .reason
}

#[test]
fn good_blocks_connect_and_bad_ones_are_refused() {
    let mut chain = Chain::new();
    let good = next_block(&chain, subsidy(1), vec![]);
    chain.accept_block(good.clone()).unwrap();
    assert_eq!(chain.height(), 1);
    assert_eq!(reason(&mut chain, good), "duplicate");

    // Coinbase claims more than subsidy + fees.
    let greedy = next_block(&chain, subsidy(2) + Amount::from_sat(1), vec![]);
    assert_eq!(reason(&mut chain, greedy), "bad-cb-amount");
    assert_eq!(chain.height(), 1);

    // Merkle root that does not match.
    let mut block = next_block(&chain, subsidy(2), vec![]);
    block.header.merkle_root = TxMerkleNode::all_zeros();
    grind(&mut block.header);
    assert_eq!(reason(&mut chain, block), "bad-txnmrklroot");

    // Proof of work not met: find a nonce whose hash is above the target.
    let mut block = next_block(&chain, subsidy(2), vec![]);
    while block.header.validate_pow(block.header.target()).is_ok() {
        block.header.nonce = block.header.nonce.wrapping_add(1);
    }
    assert_eq!(reason(&mut chain, block), "high-hash");

    // Wrong difficulty bits.
    let mut block = next_block(&chain, subsidy(2), vec![]);
    block.header.bits = bitcoin::CompactTarget::from_consensus(0x1d00_ffff);
    assert_eq!(reason(&mut chain, block), "bad-diffbits");

    // Time not after the median time past.
    let mut block = next_block(&chain, subsidy(2), vec![]);
    block.header.time = chain.median_time_past(chain.height());
    grind(&mut block.header);
    assert_eq!(reason(&mut chain, block), "time-too-old");

    // BIP 34: a coinbase claiming the wrong height.
    let cb = coinbase(7, 0, ScriptBuf::new(), subsidy(2));
    let block = assemble(
        chain.tip_hash(),
        chain.tip().block.header.time + 1,
        cb,
        vec![],
    );
    assert_eq!(reason(&mut chain, block), "bad-cb-height");

    // Unknown parent.
    let cb = coinbase(2, 0, ScriptBuf::new(), subsidy(2));
    let block = assemble(
        BlockHash::all_zeros(),
        chain.tip().block.header.time + 1,
        cb,
        vec![],
    );
    assert_eq!(reason(&mut chain, block), "prev-blk-not-found");

    // A transaction spending a coin that does not exist.
    let wallet = common::Wallet::new(8);
    let tx = wallet.spend(
        &[(common::unknown_outpoint(), wallet.output(1000))],
        vec![wallet.output(500)],
    );
    let block = next_block(&chain, subsidy(2), vec![tx]);
    assert_eq!(reason(&mut chain, block), "bad-txns-inputs-missingorspent");
    assert_eq!(chain.height(), 1);
}

#[test]
fn side_branch_with_more_work_takes_over() {
    let mut chain = Chain::new();
    let a1 = next_block(&chain, subsidy(1), vec![]);
    chain.accept_block(a1.clone()).unwrap();
    let a2 = next_block(&chain, subsidy(2), vec![]);
    chain.accept_block(a2.clone()).unwrap();

    // A competing branch from genesis: equal work does not reorg, more work does.
    let genesis = chain.hash_at(0).unwrap();
    let time = chain.tip().block.header.time;
    let b1 = assemble(
        genesis,
        time + 1,
        coinbase(1, 1, ScriptBuf::new(), subsidy(1)),
        vec![],
    );
    let b2 = assemble(
        b1.block_hash(),
        time + 2,
        coinbase(2, 1, ScriptBuf::new(), subsidy(2)),
        vec![],
    );
    let b3 = assemble(
        b2.block_hash(),
        time + 3,
        coinbase(3, 1, ScriptBuf::new(), subsidy(3)),
        vec![],
    );
    let reorg = chain.accept_block(b1.clone()).unwrap();
    assert!(reorg.connected.is_empty());
    chain.accept_block(b2.clone()).unwrap();
    assert_eq!(
        chain.tip_hash(),
        a2.block_hash(),
        "first seen wins among equal work"
    );
    let reorg = chain.accept_block(b3.clone()).unwrap();
    assert_eq!(chain.tip_hash(), b3.block_hash());
    assert_eq!(reorg.disconnected.len(), 2);
    assert_eq!(reorg.connected.len(), 3);
    assert!(!chain.is_active(&a1.block_hash()));
    assert_eq!(chain.tips().len(), 2);
    assert_eq!(chain.fork_height(&a2.block_hash()), 0);

    // Invalidate the new branch's first block: back to the `a` branch.
    chain.invalidate(&b1.block_hash()).unwrap();
    assert_eq!(chain.tip_hash(), a2.block_hash());
    assert!(chain.entry(&b3.block_hash()).unwrap().invalid);
    chain.reconsider(&b1.block_hash()).unwrap();
    assert_eq!(chain.tip_hash(), b3.block_hash());
    assert_eq!(
        chain.invalidate(&genesis).unwrap_err(),
        lnedge_devnet::ChainError::Genesis
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn submitblock_answers_like_core() {
    use bitcoin::consensus::encode::serialize_hex;
    use lnedge_devnet::{Devnet, RpcAuth, RpcServer, RpcServerConfig};
    use serde_json::json;

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
    let rpc = common::Rpc {
        addr: server.local_addr(),
        auth: server.credentials_base64(),
    };
    let block = {
        let state = devnet.lock();
        next_block(&state.chain, subsidy(1), vec![])
    };
    let hex = serialize_hex(&block);
    assert_eq!(rpc.call("submitblock", json!([hex])).await, json!(null));
    assert_eq!(devnet.tip(), block.block_hash());
    assert_eq!(
        rpc.call("submitblock", json!([hex])).await,
        json!("duplicate")
    );
    // A sibling with the same work goes on a side branch.
    let genesis = devnet.lock().chain.hash_at(0).unwrap();
    let sibling = assemble(
        genesis,
        block.header.time,
        coinbase(1, 9, ScriptBuf::new(), subsidy(1)),
        vec![],
    );
    assert_eq!(
        rpc.call("submitblock", json!([serialize_hex(&sibling)]))
            .await,
        json!("inconclusive")
    );
    let mut bad = {
        let state = devnet.lock();
        next_block(&state.chain, subsidy(2), vec![])
    };
    bad.header.merkle_root = TxMerkleNode::all_zeros();
    grind(&mut bad.header);
    assert_eq!(
        rpc.call("submitblock", json!([serialize_hex(&bad)])).await,
        json!("bad-txnmrklroot")
    );
    let (code, _) = rpc.error("submitblock", json!(["00"])).await;
    assert_eq!(code, -22);
    server.shutdown().await;
}
