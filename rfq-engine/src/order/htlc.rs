//! The view of an intercepted HTLC that the order manager judges, and its verdict.

use crate::quote::CircuitKey;
use crate::rate::RateError;
use rfq_wire::{HtlcRecords, RfqId};

/// What the order manager needs to know about an intercepted HTLC. The node adapter fills it
/// from its Lightning implementation's interception event.
#[derive(Debug, Clone, Copy)]
pub struct HtlcView<'a> {
    /// The SCID of the channel the HTLC came in on.
    pub incoming_scid: u64,
    /// The SCID the HTLC asks to be forwarded to (for RFQ buys, the quote's SCID alias).
    pub outgoing_scid: u64,
    /// The amount of the incoming HTLC.
    pub incoming_msat: u64,
    /// The amount the HTLC asks to forward.
    pub outgoing_msat: u64,
    /// The incoming HTLC's custom records, decoded with [`HtlcRecords::decode`].
    pub records: Option<&'a HtlcRecords>,
    /// The HTLC's identity, for in-flight accounting.
    pub circuit: CircuitKey,
    /// Unix seconds.
    pub now: u64,
}

/// The verdict on an intercepted HTLC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HtlcDecision {
    /// No quote applies: forward (or handle) the HTLC as usual.
    Unrelated,
    /// A quote applies and its checks pass: forward as instructed. The HTLC's amount is now
    /// counted in flight against the quote until [`release`](super::OrderManager::release).
    Forward(ForwardInstruction),
    /// A quote applies and a check fails, or the HTLC needs a quote it does not have: fail it.
    Fail(HtlcFailure),
}

/// How to forward an HTLC that uses a quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardInstruction {
    /// The quote (for a forward through two quotes, the outgoing one).
    pub quote_id: RfqId,
    /// The amount to put on the outgoing HTLC (354 000 msat when the asset goes out).
    pub outgoing_msat: u64,
    /// Custom records for the outgoing HTLC (asset balance and quote id when the asset goes
    /// out), or `None` to forward without.
    pub outgoing_records: Option<HtlcRecords>,
    /// When the asset comes in: the msat the incoming HTLC is worth at the quote's rate, so
    /// the fee check can treat it as that amount.
    pub incoming_value_msat: Option<u64>,
    /// Asset units moved by this HTLC.
    pub asset_units: u64,
}

/// Why an HTLC that touches a quote is failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HtlcFailure {
    /// The quote has expired; expired quotes are never honoured.
    #[error("quote {id} expired at {expiry}")]
    Expired {
        /// The quote.
        id: RfqId,
        /// Its expiry.
        expiry: u64,
    },
    /// A sale quote's HTLC is not forwarded to the quote's SCID.
    #[error("quote {id} is for SCID {expected}, HTLC goes to {found}")]
    WrongChannel {
        /// The quote.
        id: RfqId,
        /// The quote's SCID.
        expected: u64,
        /// The HTLC's outgoing SCID.
        found: u64,
    },
    /// Accepting the HTLC would put more in flight than the quote allows.
    #[error("quote {id}: {in_flight} msat in flight + {requested} exceeds the maximum {max}")]
    ExceedsMax {
        /// The quote.
        id: RfqId,
        /// Already in flight.
        in_flight: u64,
        /// This HTLC's amount.
        requested: u64,
        /// The quote's maximum, msat.
        max: u64,
    },
    /// A purchase quote's HTLC does not carry the quote id in its custom records.
    #[error("quote {id}: HTLC does not carry the quote id")]
    MissingRfqId {
        /// The quote.
        id: RfqId,
    },
    /// The asset the HTLC carries is worth less than what it asks to forward.
    #[error("quote {id}: incoming assets worth {offered_msat} msat, {needed_msat} msat asked")]
    InsufficientAssets {
        /// The quote.
        id: RfqId,
        /// Value of the incoming asset balances (plus one unit for rounding).
        offered_msat: u64,
        /// The outgoing amount.
        needed_msat: u64,
    },
    /// The amount maps to no whole asset unit.
    #[error("quote {id}: {msat} msat is less than one asset unit")]
    BelowOneUnit {
        /// The quote.
        id: RfqId,
        /// The HTLC amount.
        msat: u64,
    },
    /// An HTLC flagged noop-add matched no quote.
    #[error("noop-add HTLC without a quote")]
    NoopWithoutQuote,
    /// The quote's rate cannot convert this amount.
    #[error("quote {id}: {source}")]
    Conversion {
        /// The quote.
        id: RfqId,
        /// What the maths said.
        source: RateError,
    },
    /// The shared store refused or failed the in-flight reservation.
    #[error("quote {id}: in-flight reservation failed: {reason}")]
    Reservation {
        /// The quote.
        id: RfqId,
        /// What went wrong.
        reason: String,
    },
}
