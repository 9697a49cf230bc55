//! The watchdog: after a channel proposal was answered, watch the payjoin and the original.
//!
//! - the payjoin (funding) transaction confirms → [`ScheduleState::Funded`];
//! - the original is seen instead (the payer broadcast the fallback) → channels abandoned with
//!   [`AbandonReason::OriginalBroadcast`]; the payment itself reached our address;
//! - neither is seen within the timeout → channels abandoned with [`AbandonReason::Timeout`].
//!
//! Once the payjoin is in the mempool the watchdog waits for its confirmation without timeout
//! (unless the original confirms instead, which replaces it).

use std::sync::Arc;

use bitcoin::Txid;
use tokio::time::Instant;

use crate::chain::{ChainWatch, TxStatus};
use crate::events::{AbandonReason, ReceiverEvent};
use crate::opener::{ChannelOpener, PendingChannel};
use crate::receiver::{abandon_channels, Inner};
use crate::scheduler::{ScheduleId, ScheduleState};

/// What the watchdog concluded from one look at the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Keep watching.
    Wait,
    /// The funding transaction confirmed.
    Funded,
    /// Abandon the channels.
    Abandon(AbandonReason),
}

/// Decides from the status of both transactions and whether the deadline passed (pure).
pub fn judge(payjoin: TxStatus, original: TxStatus, deadline_passed: bool) -> Verdict {
    match (payjoin, original) {
        (TxStatus::Confirmed(_), _) => Verdict::Funded,
        (_, TxStatus::Confirmed(_)) => Verdict::Abandon(AbandonReason::OriginalBroadcast),
        (TxStatus::Mempool, _) => Verdict::Wait,
        (TxStatus::Unseen, TxStatus::Mempool) => Verdict::Abandon(AbandonReason::OriginalBroadcast),
        (TxStatus::Unseen, TxStatus::Unseen) if deadline_passed => {
            Verdict::Abandon(AbandonReason::Timeout)
        }
        (TxStatus::Unseen, TxStatus::Unseen) => Verdict::Wait,
    }
}

pub(crate) fn spawn<O: ChannelOpener, W: Send + Sync + 'static, C: ChainWatch>(
    inner: Arc<Inner<O, W, C>>,
    id: ScheduleId,
    payjoin_txid: Txid,
    original_txid: Txid,
    channels: Vec<PendingChannel>,
) {
    tokio::spawn(async move {
        let deadline = Instant::now() + inner.config.watchdog_timeout;
        let mut interval = tokio::time::interval(inner.config.watchdog_poll_interval);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let payjoin = inner.chain.tx_status(payjoin_txid).await;
            let original = inner.chain.tx_status(original_txid).await;
            let (payjoin, original) = match (payjoin, original) {
                (Ok(p), Ok(o)) => (p, o),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(%id, error = %e, "chain watch failed; retrying");
                    continue;
                }
            };
            let store = inner.scheduler.store();
            match judge(payjoin, original, Instant::now() >= deadline) {
                Verdict::Wait => {}
                Verdict::Funded => {
                    if let Err(e) = store.transition(id, "proposed", &ScheduleState::Funded) {
                        tracing::error!(%id, error = %e, "cannot record funding");
                    }
                    inner.emit(ReceiverEvent::FundingConfirmed {
                        schedule: id,
                        txid: payjoin_txid,
                    });
                    return;
                }
                Verdict::Abandon(reason) => {
                    abandon_channels(&inner, &channels, reason).await;
                    if let Err(e) =
                        store.transition(id, "proposed", &ScheduleState::Abandoned(reason))
                    {
                        tracing::error!(%id, error = %e, "cannot record abandonment");
                    }
                    inner.emit(ReceiverEvent::ChannelsAbandoned {
                        schedule: id,
                        reason,
                    });
                    return;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use TxStatus::*;

    #[test]
    fn verdicts() {
        assert_eq!(judge(Confirmed(1), Unseen, false), Verdict::Funded);
        assert_eq!(judge(Mempool, Unseen, true), Verdict::Wait);
        assert_eq!(judge(Unseen, Unseen, false), Verdict::Wait);
        assert_eq!(
            judge(Unseen, Unseen, true),
            Verdict::Abandon(AbandonReason::Timeout)
        );
        assert_eq!(
            judge(Unseen, Mempool, false),
            Verdict::Abandon(AbandonReason::OriginalBroadcast)
        );
        assert_eq!(
            judge(Mempool, Confirmed(1), false),
            Verdict::Abandon(AbandonReason::OriginalBroadcast)
        );
    }
}
