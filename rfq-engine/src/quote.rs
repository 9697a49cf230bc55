//! Accepted quotes as they are stored: the data model shared by every [`QuoteStore`]
//! backend and by the order manager that enforces quotes on HTLCs (spec §10).
//!
//! A quote is stored once it has been accepted — by us (we answered a peer's request) or by a
//! peer (it answered ours) — and before anyone acts on it (persist-then-accept, docs/design.md
//! §4). The request and the accept are kept whole, as their wire bytes, so that nothing
//! the peer sent is lost; the fields next to them are the ones the order manager needs on every
//! HTLC, already normalised.
//!
//! [`QuoteStore`]: crate::store::QuoteStore

use rfq_wire::{AssetSpecifier, FixedPoint, QuoteAccept, QuoteRequest, RfqId, Scid};

/// Which side of which quote this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuoteKind {
    /// We accepted a peer's BUY request: we sell the asset (tapd `AssetSalePolicy`).
    /// `max_amount` is in asset units.
    Sale,
    /// We accepted a peer's SELL request: we buy the asset (tapd `AssetPurchasePolicy`).
    /// `max_amount` is in msat.
    Purchase,
    /// A peer accepted our BUY request: we receive the asset. `max_amount` is in asset units.
    PeerAcceptedBuy,
    /// A peer accepted our SELL request: we pay with the asset. `max_amount` is in msat.
    PeerAcceptedSell,
}

/// An accepted quote, with everything needed to enforce it after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredQuote {
    /// The quote id (chosen by the requester); its last 8 bytes are the quote's SCID alias.
    pub id: RfqId,
    /// The counterparty's node id (compressed public key bytes).
    pub peer: [u8; 33],
    /// Which side of which quote this is.
    pub kind: QuoteKind,
    /// The asset the quote prices.
    pub asset: AssetSpecifier,
    /// The accepted rate, in asset units per BTC.
    pub rate: FixedPoint,
    /// Unix seconds; the quote holds through this second (tapd: expired once `now > expiry`).
    pub expiry: u64,
    /// Asset units ([`QuoteKind::Sale`], [`QuoteKind::PeerAcceptedBuy`]) or msat
    /// ([`QuoteKind::Purchase`], [`QuoteKind::PeerAcceptedSell`]): already the smaller of the
    /// request's maximum and the accept's fill cap.
    pub max_amount: u64,
    /// The request's minimum, in the same unit as `max_amount`, if it set one.
    pub min_amount: Option<u64>,
    /// The request, stored as its wire bytes ([`QuoteRequest::encode`]).
    pub request: QuoteRequest,
    /// The accept, stored as its wire bytes ([`QuoteAccept::encode`]).
    pub accept: QuoteAccept,
    /// Unix seconds at which the quote was stored.
    pub created_at: u64,
}

impl StoredQuote {
    /// The quote's SCID alias: the last 8 bytes of its id (spec §8).
    pub fn scid(&self) -> Scid {
        self.id.scid()
    }
}

/// An HTLC's identity across restarts: the incoming channel (its 32-byte channel id, or an SCID
/// written into the first 8 bytes, as the caller chooses) and the HTLC id on that channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CircuitKey {
    /// The incoming channel's id.
    pub channel: [u8; 32],
    /// The HTLC's id on the incoming channel.
    pub htlc_id: u64,
}
