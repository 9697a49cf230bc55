//! The periodic pruning job.

use super::{unix_now, StaticInvoiceStore};
use std::sync::Arc;
use std::time::Duration;

/// Spawns a task on the current tokio runtime that calls
/// [`StaticInvoiceStore::prune_expired`] with the system clock every `every` (first run at
/// once). Failures are logged and retried at the next tick. Abort the returned handle to stop
/// it. Several server nodes may each run one against a shared database: deleting an expired
/// invoice twice is harmless.
pub fn spawn_pruning(
    store: Arc<dyn StaticInvoiceStore>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every.max(Duration::from_millis(1)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match store.prune_expired(unix_now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, "deleted expired static invoices"),
                Err(e) => tracing::warn!(error = %e, "pruning static invoices failed"),
            }
        }
    })
}
