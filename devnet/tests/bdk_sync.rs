//! BDK's bitcoind RPC emitter (`bdk_bitcoind_rpc`, on `bitcoincore-rpc`) reads blocks and the
//! mempool from devnet and follows a reorganisation.

mod common;

use bdk_bitcoind_rpc::bitcoincore_rpc::{Auth, Client};
use bdk_bitcoind_rpc::{Emitter, NO_EXPECTED_MEMPOOL_TXS};
use bdk_core::{BlockId, CheckPoint};
use common::{coinbase_at, Wallet};
use lnedge_devnet::{Devnet, RpcAuth, RpcServer, RpcServerConfig};

/// Drains the emitter; returns (height, hash) of every emitted block.
fn drain(emitter: &mut Emitter<&Client>) -> Vec<(u32, bitcoin::BlockHash)> {
    let mut out = Vec::new();
    while let Some(event) = emitter.next_block().expect("next_block") {
        assert_eq!(event.block.block_hash(), event.block_hash());
        out.push((event.block_height(), event.block_hash()));
    }
    out
}

#[test]
fn bdk_emitter_follows_blocks_mempool_and_reorg() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let devnet = Devnet::in_memory();
    let server = runtime
        .block_on(RpcServer::start(
            devnet.clone(),
            RpcServerConfig {
                bind: "127.0.0.1:0".parse().unwrap(),
                auth: RpcAuth::UserPass {
                    user: "bdk".into(),
                    password: "pw".into(),
                },
            },
        ))
        .unwrap();
    let client = Client::new(&server.url(), Auth::UserPass("bdk".into(), "pw".into())).unwrap();
    let genesis = devnet.lock().chain.hash_at(0).unwrap();
    let mut emitter = Emitter::new(
        &client,
        CheckPoint::new(BlockId {
            height: 0,
            hash: genesis,
        }),
        0,
        NO_EXPECTED_MEMPOOL_TXS,
    );

    let wallet = Wallet::new(6);
    let mined = devnet.mine(101, &wallet.script).unwrap();
    let emitted = drain(&mut emitter);
    assert_eq!(emitted.len(), 101);
    assert_eq!(emitted.last(), Some(&(101, *mined.last().unwrap())));

    // Mempool.
    let tx = wallet.spend(
        &[coinbase_at(&devnet, 1)],
        vec![wallet.output(4_999_000_000)],
    );
    devnet.send_transaction(&tx).unwrap();
    let event = emitter.mempool().expect("mempool");
    assert_eq!(event.update.len(), 1);
    assert_eq!(event.update[0].0.compute_txid(), tx.compute_txid());

    // Confirm it, then reorganise: blocks 101 and 102 replaced by three new ones.
    devnet.mine(1, &wallet.script).unwrap();
    assert_eq!(drain(&mut emitter).len(), 1);
    devnet.invalidate_block(&mined[100]).unwrap();
    let new = devnet.mine(3, &wallet.script).unwrap();
    let emitted = drain(&mut emitter);
    assert_eq!(emitted, vec![(101, new[0]), (102, new[1]), (103, new[2])]);
    runtime.block_on(server.shutdown());
}

/// `bitcoincore-rpc`'s typed results (strict serde structs written for Core) parse devnet's
/// answers.
#[test]
fn bitcoincore_rpc_typed_results_parse() {
    use bdk_bitcoind_rpc::bitcoincore_rpc::RpcApi;

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let devnet = Devnet::in_memory();
    let server = runtime
        .block_on(RpcServer::start(
            devnet.clone(),
            RpcServerConfig {
                bind: "127.0.0.1:0".parse().unwrap(),
                auth: RpcAuth::UserPass {
                    user: "u".into(),
                    password: "p".into(),
                },
            },
        ))
        .unwrap();
    let client = Client::new(&server.url(), Auth::UserPass("u".into(), "p".into())).unwrap();
    let wallet = Wallet::new(7);
    let hashes = client.generate_to_address(101, &wallet.address).unwrap();
    assert_eq!(hashes.len(), 101);
    assert_eq!(client.get_block_count().unwrap(), 101);
    assert_eq!(client.get_best_block_hash().unwrap(), hashes[100]);

    let info = client.get_blockchain_info().unwrap();
    assert_eq!(info.chain, bitcoin::Network::Regtest);
    assert_eq!(info.blocks, 101);
    let net = client.get_network_info().unwrap();
    assert_eq!(net.version, 250_100);
    let header = client.get_block_header_info(&hashes[50]).unwrap();
    assert_eq!(header.height, 51);
    assert_eq!(header.next_block_hash, Some(hashes[51]));
    let block = client.get_block_info(&hashes[50]).unwrap();
    assert_eq!(block.tx.len(), 1);
    let tips = client.get_chain_tips().unwrap();
    assert_eq!(tips.len(), 1);

    let tx = wallet.spend(
        &[coinbase_at(&devnet, 1)],
        vec![wallet.output(4_999_000_000)],
    );
    let accept = client.test_mempool_accept(&[&tx]).unwrap();
    assert!(accept[0].allowed);
    let txid = client.send_raw_transaction(&tx).unwrap();
    assert_eq!(txid, tx.compute_txid());
    let entry = client.get_mempool_entry(&txid).unwrap();
    assert_eq!(entry.fees.base, bitcoin::Amount::from_sat(1_000_000));
    let verbose = client.get_raw_mempool_verbose().unwrap();
    assert!(verbose.contains_key(&txid));
    let pool = client.get_mempool_info().unwrap();
    assert_eq!(pool.size, 1);
    let out = client
        .get_tx_out(&txid, 0, Some(true))
        .unwrap()
        .expect("unspent");
    assert_eq!(out.confirmations, 0);
    let raw = client.get_raw_transaction_info(&txid, None).unwrap();
    assert_eq!(raw.txid, txid);
    let fee = client.estimate_smart_fee(6, None).unwrap();
    assert_eq!(fee.blocks, 6);
    assert!(fee.fee_rate.is_some());
    assert!(client.uptime().is_ok());

    let mined = client.generate_to_address(1, &wallet.address).unwrap();
    let raw = client.get_raw_transaction_info(&txid, None).unwrap();
    assert_eq!(raw.blockhash, Some(mined[0]));
    assert_eq!(raw.confirmations, Some(1));
    // A Core error arrives as a typed JSON-RPC error.
    match client.send_raw_transaction(&tx) {
        Err(bdk_bitcoind_rpc::bitcoincore_rpc::Error::JsonRpc(e)) => {
            assert!(
                e.to_string().contains("Transaction already in block chain"),
                "{e}"
            )
        }
        other => panic!("expected an RPC error, got {other:?}"),
    }
    runtime.block_on(server.shutdown());
}
