//! The interval miner: a tokio task that mines a block every so often.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcoin::ScriptBuf;
use tokio::task::JoinHandle;

use super::Devnet;

/// A running interval miner; stops when dropped or [`stop`](Self::stop)ped.
#[derive(Debug)]
pub struct IntervalMiner {
    task: JoinHandle<()>,
    /// Held while a block is mined; `true` once stopped, so that no block follows `stop`.
    stopped: Arc<Mutex<bool>>,
}

impl IntervalMiner {
    /// Spawns a task on the current tokio runtime that mines one block (with the mempool's
    /// transactions, paying `script`) every `every`. The first block comes after one interval.
    pub fn spawn(devnet: Devnet, every: Duration, script: ScriptBuf) -> Self {
        let stopped = Arc::new(Mutex::new(false));
        let flag = Arc::clone(&stopped);
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every.max(Duration::from_millis(1)));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let stopped = flag.lock().unwrap_or_else(|p| p.into_inner());
                if *stopped {
                    return;
                }
                match devnet.mine(1, &script) {
                    Ok(hashes) => {
                        tracing::info!(height = devnet.height(), hash = ?hashes.first(), "mined a block");
                    }
                    Err(e) => tracing::warn!(error = %e, "interval miner failed to mine"),
                }
                drop(stopped);
            }
        });
        IntervalMiner { task, stopped }
    }

    /// Stops the miner: once this returns, no further block is mined (a block being mined
    /// when it is called is finished first).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for IntervalMiner {
    fn drop(&mut self) {
        *self.stopped.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.task.abort();
    }
}
