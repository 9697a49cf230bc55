//! lightning-block-sync's own RPC client follows the devnet through a reorganisation made with
//! `invalidateblock`.

use std::sync::Mutex;

use bitcoin::{Block, BlockHash, Network};
use lightning::chain::{BlockLocator, Listen};
use lightning_block_sync::init::validate_best_block_header;
use lightning_block_sync::poll::ChainPoller;
use lightning_block_sync::rpc::RpcClient;
use lightning_block_sync::{BlockData, BlockSource, HeaderCache, SpvClient};
use lnedge_devnet::{anyone_can_spend_script, Devnet, RpcAuth, RpcServer, RpcServerConfig};

/// Records what the SPV client tells it.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
}

impl Listen for Recorder {
    fn filtered_block_connected(
        &self,
        header: &bitcoin::block::Header,
        _txdata: &lightning::chain::transaction::TransactionData,
        height: u32,
    ) {
        self.events
            .lock()
            .unwrap()
            .push(format!("connect {height} {}", header.block_hash()));
    }

    fn block_connected(&self, block: &Block, height: u32) {
        self.events
            .lock()
            .unwrap()
            .push(format!("connect {height} {}", block.block_hash()));
    }

    fn blocks_disconnected(&self, fork_point: BlockLocator) {
        self.events.lock().unwrap().push(format!(
            "disconnect-to {} {}",
            fork_point.height, fork_point.block_hash
        ));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lightning_block_sync_follows_a_reorg() {
    let devnet = Devnet::in_memory();
    let cookie_dir = tempfile::tempdir().unwrap();
    let server = RpcServer::start(
        devnet.clone(),
        RpcServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            auth: RpcAuth::Cookie {
                dir: cookie_dir.path().into(),
            },
        },
    )
    .await
    .unwrap();
    let client = RpcClient::new(&server.credentials_base64(), server.url());
    let script = anyone_can_spend_script();
    devnet.mine(10, &script).unwrap();

    // BlockSource calls one by one.
    let (best, height) = client.get_best_block().await.unwrap();
    assert_eq!((best, height), (devnet.tip(), Some(10)));
    let header = client.get_header(&best, height).await.unwrap();
    assert_eq!(header.height, 10);
    assert_eq!(header.header.block_hash(), best);
    match client.get_block(&best).await.unwrap() {
        BlockData::FullBlock(block) => assert_eq!(block.block_hash(), best),
        BlockData::HeaderOnly(_) => panic!("expected a full block"),
    }
    let genesis: BlockHash =
        lightning_block_sync::gossip::UtxoSource::get_block_hash_by_height(&client, 0)
            .await
            .unwrap();
    assert_eq!(Some(genesis), devnet.lock().chain.hash_at(0));

    // Follow the chain with an SPV client from height 10.
    let tip = validate_best_block_header(&client).await.unwrap();
    assert_eq!(tip.height, 10);
    let recorder = Recorder::default();
    let poller = ChainPoller::new(&client, Network::Regtest);
    let mut spv = SpvClient::new(tip, poller, HeaderCache::new(), &recorder);

    devnet.mine(2, &script).unwrap();
    let (_, changed) = spv.poll_best_tip().await.unwrap();
    assert!(changed);
    let old_11 = devnet.lock().chain.hash_at(11).unwrap();
    let old_12 = devnet.tip();

    // Reorg: drop blocks 11 and 12, mine a longer branch 11'..13'.
    devnet.invalidate_block(&old_11).unwrap();
    let fork_point = devnet.tip();
    let new_blocks = devnet.mine(3, &script).unwrap();
    let (_, changed) = spv.poll_best_tip().await.unwrap();
    assert!(changed);

    let events = recorder.events.lock().unwrap().clone();
    let expected = vec![
        format!("connect 11 {old_11}"),
        format!("connect 12 {old_12}"),
        format!("disconnect-to 10 {fork_point}"),
        format!("connect 11 {}", new_blocks[0]),
        format!("connect 12 {}", new_blocks[1]),
        format!("connect 13 {}", new_blocks[2]),
    ];
    assert_eq!(events, expected);

    // The invalidated block is still served, with -1 confirmations, as Core does.
    let old = client.get_header(&old_12, None).await.unwrap();
    assert_eq!(old.height, 12);
    server.shutdown().await;
}
