//! Block synchronisation: lightning-block-sync's reorg-safe poller feeding one listener that
//! fans each block out to the ChannelManager, the ChainMonitor, the OutputSweeper, the BDK wallet
//! and the broadcaster's rebroadcast set.

use std::sync::Arc;
use std::time::Duration;

use bitcoin::block::Header;
use bitcoin::{Block, Network};
use lightning::chain::transaction::TransactionData;
use lightning::chain::{BlockLocator, Listen};
use lightning_block_sync::poll::ChainPoller;
use lightning_block_sync::rpc::RpcClient;
use lightning_block_sync::{init, HeaderCache, SpvClient};
use tokio::sync::{watch, Notify};

use super::{ChainClient, ChainError};

/// Everything that is told about blocks, in the order it is told.
pub struct ChainListeners {
    /// Each listener with a name for logs.
    pub listeners: Vec<(&'static str, Arc<dyn Listen + Send + Sync>)>,
    /// The chain client, told which transactions confirmed.
    pub client: Arc<ChainClient>,
    /// Called after every connected block, once all listeners saw it.
    pub after_block: Option<Box<dyn Fn() + Send + Sync>>,
}

impl ChainListeners {
    fn connected(&self) {
        if let Some(after) = &self.after_block {
            after();
        }
    }
}

impl Listen for ChainListeners {
    fn filtered_block_connected(&self, header: &Header, txdata: &TransactionData, height: u32) {
        for (_, listener) in &self.listeners {
            listener.filtered_block_connected(header, txdata, height);
        }
        self.client
            .confirmed(txdata.iter().map(|(_, tx)| tx.compute_txid()));
        self.connected();
    }

    fn block_connected(&self, block: &Block, height: u32) {
        for (_, listener) in &self.listeners {
            listener.block_connected(block, height);
        }
        self.client
            .confirmed(block.txdata.iter().map(|tx| tx.compute_txid()));
        self.connected();
    }

    fn blocks_disconnected(&self, fork_point: BlockLocator) {
        for (_, listener) in &self.listeners {
            listener.blocks_disconnected(fork_point);
        }
    }
}

/// Where the initial catch-up left the chain: the header cache and the tip.
pub struct CaughtUp {
    cache: HeaderCache,
    tip: lightning_block_sync::poll::ValidatedBlockHeader,
}

/// A started block synchroniser.
pub struct ChainSync {
    poke: Arc<Notify>,
    synced: watch::Receiver<u32>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl ChainSync {
    /// Brings every listener from its own best block (the block it last saw) to the backend's
    /// tip. Returns what [`ChainSync::start`] continues from.
    pub async fn catch_up(
        client: &ChainClient,
        network: Network,
        listeners: Vec<(BlockLocator, &(dyn Listen + Send + Sync))>,
    ) -> Result<CaughtUp, ChainError> {
        let (cache, tip) = init::synchronize_listeners(&**client.rpc(), network, listeners)
            .await
            .map_err(|e| ChainError::Sync(format!("{e:?}")))?;
        Ok(CaughtUp { cache, tip })
    }

    /// Polls for new blocks every `interval` (or when poked) until `stop` fires.
    pub fn start(
        client: &ChainClient,
        network: Network,
        caught_up: CaughtUp,
        listeners: Arc<ChainListeners>,
        interval: Duration,
        mut stop: watch::Receiver<bool>,
    ) -> Self {
        let rpc: Arc<RpcClient> = Arc::clone(client.rpc());
        let CaughtUp { cache, tip } = caught_up;
        let poller = ChainPoller::new(Arc::clone(&rpc), network);
        let mut spv = SpvClient::new(tip, poller, cache, Arc::clone(&listeners));
        let poke = Arc::new(Notify::new());
        let (synced_tx, synced) = watch::channel(tip.height);
        let wake = Arc::clone(&poke);
        let task = tokio::spawn(async move {
            loop {
                match spv.poll_best_tip().await {
                    Ok((tip, _)) => {
                        if let lightning_block_sync::poll::ChainTip::Better(h) = tip {
                            synced_tx.send_replace(h.height);
                        } else {
                            // Same tip: still tell waiters a poll completed.
                            synced_tx.send_modify(|_| {});
                        }
                    }
                    Err(e) => tracing::warn!("block poll failed: {e:?}"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = wake.notified() => {}
                    _ = stop.changed() => return,
                }
            }
        });
        Self {
            poke,
            synced,
            task: std::sync::Mutex::new(Some(task)),
        }
    }

    /// Polls now and waits until a poll after this call has completed; returns the height the
    /// listeners are at.
    pub async fn sync_now(&self) -> u32 {
        let mut rx = self.synced.clone();
        rx.mark_unchanged();
        self.poke.notify_one();
        // The first change may be a poll already in flight; wait for a second to be sure the
        // backend's state at the time of this call was seen.
        for _ in 0..2 {
            if rx.changed().await.is_err() {
                break;
            }
            self.poke.notify_one();
        }
        let height = *rx.borrow();
        height
    }

    /// Height the listeners have reached.
    pub fn height(&self) -> u32 {
        *self.synced.borrow()
    }

    /// Waits for the polling task to end (after `stop` fired).
    pub async fn join(&self) {
        let task = self.task.lock().expect("lock").take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}
