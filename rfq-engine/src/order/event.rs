//! Events the RFQ engine publishes on a `tokio::sync::broadcast` channel.

use crate::quote::{CircuitKey, QuoteKind};
use rfq_wire::{RejectCode, RfqId};

/// Something that happened to a quote or an HTLC that uses one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RfqEvent {
    /// A quote was accepted (by us as responder, or by a peer and verified by us).
    QuoteAccepted {
        /// The quote.
        id: RfqId,
        /// Which side.
        kind: QuoteKind,
        /// The counterparty.
        peer: [u8; 33],
    },
    /// A request was rejected (by us, or a peer rejected ours).
    QuoteRejected {
        /// The quote.
        id: RfqId,
        /// The reject code.
        code: RejectCode,
        /// The text sent or received.
        message: String,
    },
    /// A quote reached its expiry and was removed.
    QuoteExpired {
        /// The quote.
        id: RfqId,
    },
    /// A quote was cancelled before its expiry.
    QuoteCancelled {
        /// The quote.
        id: RfqId,
    },
    /// An HTLC was admitted under a quote.
    HtlcAccepted {
        /// The quote.
        id: RfqId,
        /// The HTLC.
        circuit: CircuitKey,
        /// Amount counted in flight.
        msat: u64,
        /// Asset units moved.
        units: u64,
    },
    /// An HTLC that touched a quote was failed.
    HtlcFailed {
        /// The quote, when one matched.
        id: Option<RfqId>,
        /// The HTLC.
        circuit: CircuitKey,
        /// Why.
        reason: String,
    },
    /// An admitted HTLC settled or failed downstream; its amount left the in-flight total.
    HtlcReleased {
        /// The HTLC.
        circuit: CircuitKey,
        /// Amount released.
        msat: u64,
    },
}
