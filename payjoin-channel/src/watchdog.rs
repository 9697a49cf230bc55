//! The watchdog: after a channel proposal was answered, watch the payjoin and the original.
//!
//! - the payjoin (funding) transaction confirms → [`Verdict::Funded`] (the receiver records
//!   [`ScheduleState::Funded`](crate::ScheduleState::Funded));
//! - the original is seen instead (the payer broadcast the fallback) → channels abandoned with
//!   [`AbandonReason::OriginalBroadcast`]; the payment itself reached our address;
//! - neither is seen within the timeout → channels abandoned with [`AbandonReason::Timeout`].
//!
//! Once the payjoin is in the mempool the watchdog waits for its confirmation without timeout
//! (unless the original confirms instead, which replaces it).
//!
//! This module only watches the chain ([`judge`] on every look); the receiver acts on the verdict
//! (records it, abandons the channels, emits the event).

use std::time::Duration;

use bitcoin::Txid;
use tokio::time::Instant;

use crate::chain::{ChainWatch, TxStatus};
use crate::types::{AbandonReason, ScheduleId};

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

/// Asks `chain` about both transactions every `poll_interval` until [`judge`] concludes
/// (never [`Verdict::Wait`]); the deadline is `timeout` from now. A failing chain watch is
/// logged and asked again at the next tick.
pub(crate) async fn watch<C: ChainWatch>(
    chain: &C,
    id: ScheduleId,
    payjoin_txid: Txid,
    original_txid: Txid,
    poll_interval: Duration,
    timeout: Duration,
) -> Verdict {
    let deadline = Instant::now() + timeout;
    let mut interval = tokio::time::interval(poll_interval);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let payjoin = chain.tx_status(payjoin_txid).await;
        let original = chain.tx_status(original_txid).await;
        let (payjoin, original) = match (payjoin, original) {
            (Ok(p), Ok(o)) => (p, o),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(%id, error = %e, "chain watch failed; retrying");
                continue;
            }
        };
        match judge(payjoin, original, Instant::now() >= deadline) {
            Verdict::Wait => {}
            verdict => return verdict,
        }
    }
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
