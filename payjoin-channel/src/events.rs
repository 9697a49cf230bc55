//! Outcomes as events ([`ReceiverEvent`]).

use bitcoin::Txid;

pub use crate::types::AbandonReason;
use crate::types::ScheduleId;

/// Something the receiver did or saw; sent on a tokio broadcast channel
/// ([`PayjoinReceiver::subscribe`](crate::PayjoinReceiver::subscribe)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceiverEvent {
    /// A plain payjoin proposal was answered (no channel).
    PlainPayjoinProposed {
        /// Txid of the proposal (final if all inputs are segwit).
        payjoin_txid: Txid,
        /// Txid of the payer's original.
        original_txid: Txid,
    },
    /// A channel-funding proposal was answered: the peers hold funding signatures.
    ChannelsProposed {
        /// The schedule.
        schedule: ScheduleId,
        /// Txid of the funding (payjoin) transaction.
        payjoin_txid: Txid,
        /// Txid of the payer's original.
        original_txid: Txid,
    },
    /// The schedule's channels were abandoned before the proposal was answered; the payer got a
    /// plain payjoin or an error instead.
    ChannelsFellBack {
        /// The schedule.
        schedule: ScheduleId,
        /// Why.
        reason: AbandonReason,
    },
    /// The funding transaction confirmed.
    FundingConfirmed {
        /// The schedule.
        schedule: ScheduleId,
        /// Txid of the funding transaction.
        txid: Txid,
    },
    /// The channels of a proposed schedule were abandoned by the watchdog.
    ChannelsAbandoned {
        /// The schedule.
        schedule: ScheduleId,
        /// Why.
        reason: AbandonReason,
    },
}
