//! The interval miner: a tokio task that mines a block every so often.

use std::time::Duration;

use bitcoin::ScriptBuf;
use tokio::task::JoinHandle;

use super::Devnet;

/// A running interval miner; stops when dropped or [`stop`](Self::stop)ped.
#[derive(Debug)]
pub struct IntervalMiner {
    task: JoinHandle<()>,
}

impl IntervalMiner {
    /// Spawns a task on the current tokio runtime that mines one block (with the mempool's
    /// transactions, paying `script`) every `every`. The first block comes after one interval.
    pub fn spawn(devnet: Devnet, every: Duration, script: ScriptBuf) -> Self {
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every.max(Duration::from_millis(1)));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                match devnet.mine(1, &script) {
                    Ok(hashes) => {
                        tracing::info!(height = devnet.height(), hash = ?hashes.first(), "mined a block");
                    }
                    Err(e) => tracing::warn!(error = %e, "interval miner failed to mine"),
                }
            }
        });
        IntervalMiner { task }
    }

    /// Stops the miner.
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for IntervalMiner {
    fn drop(&mut self) {
        self.task.abort();
    }
}
