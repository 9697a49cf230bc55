//! Outcomes as events ([`ReceiverEvent`]).

use bitcoin::Txid;

use crate::scheduler::ScheduleId;

/// Why channels were abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbandonReason {
    /// The peer did not accept, or another channel of the same schedule failed.
    OpenFailed,
    /// The payjoin could not be built with the funding outputs (fees, dust, wallet).
    ProposalFailed,
    /// The peer's funding signature did not come in time (or failed).
    FundingSignatureFailed,
    /// The payer broadcast the original transaction instead of the payjoin.
    OriginalBroadcast,
    /// Neither the payjoin nor the original appeared within the watchdog timeout.
    Timeout,
    /// The receiver shut the schedule down.
    Cancelled,
    /// The receiver restarted while the payer's request was open (the answer was lost; the
    /// payer broadcasts the original or nothing).
    Interrupted,
}

impl AbandonReason {
    /// Stable text form (stored).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenFailed => "open-failed",
            Self::ProposalFailed => "proposal-failed",
            Self::FundingSignatureFailed => "funding-signature-failed",
            Self::OriginalBroadcast => "original-broadcast",
            Self::Timeout => "timeout",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }

    /// Parses [`Self::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "open-failed" => Self::OpenFailed,
            "proposal-failed" => Self::ProposalFailed,
            "funding-signature-failed" => Self::FundingSignatureFailed,
            "original-broadcast" => Self::OriginalBroadcast,
            "timeout" => Self::Timeout,
            "cancelled" => Self::Cancelled,
            "interrupted" => Self::Interrupted,
            _ => return None,
        })
    }
}

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

#[cfg(test)]
mod tests {
    use super::AbandonReason::{self, *};

    #[test]
    fn reasons_round_trip() {
        for r in [
            OpenFailed,
            ProposalFailed,
            FundingSignatureFailed,
            OriginalBroadcast,
            Timeout,
            Cancelled,
        ] {
            assert_eq!(AbandonReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(AbandonReason::parse("nope"), None);
    }
}
