//! An accepted quote as an HTLC policy (spec §10): the compact in-memory form the order
//! manager keeps per SCID, and the checks tapd applies.

use super::htlc::{ForwardInstruction, HtlcFailure, HtlcView};
use crate::quote::{QuoteKind, StoredQuote};
use crate::rate;
use core::sync::atomic::{AtomicU64, Ordering};
use rfq_wire::htlc::AssetBalance;
use rfq_wire::tlv::ExtraRecords;
use rfq_wire::{AssetId, FixedPoint, HtlcRecords, RfqId};

/// The HTLC amount tapd puts on an HTLC whose value travels as an asset: the dust limit for an
/// unknown witness size.
pub const ASSET_HTLC_MSAT: u64 = 354_000;

/// Which way the asset moves under a policy we enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// From a buy accept we sent: BTC comes in, the asset goes out to the peer.
    Sale,
    /// From a sell accept we sent: the asset comes in, BTC goes out.
    Purchase,
}

/// One enforced quote. About 160 bytes; the full quote lives in the store.
#[derive(Debug)]
pub struct Policy {
    /// The quote id.
    pub id: RfqId,
    /// Sale or purchase.
    pub kind: PolicyKind,
    /// The 32 bytes naming the asset in HTLC balances (asset id or x-only group key).
    pub balance_id: [u8; 32],
    /// Asset units per BTC.
    pub rate: FixedPoint,
    /// Unix seconds; honoured while `now <= expiry`.
    pub expiry: u64,
    /// The most msat that may be in flight at once.
    pub max_msat: u64,
    in_flight_msat: AtomicU64,
}

impl Policy {
    /// The policy of a quote we accepted, or `None` for a quote a peer accepted (those are
    /// used when we pay or invoice, not enforced on forwards).
    pub fn from_quote(q: &StoredQuote) -> Option<Self> {
        let (kind, max_msat) = match q.kind {
            // Max units converted at the rate; a maximum too large for u64 msat is no limit.
            QuoteKind::Sale => (
                PolicyKind::Sale,
                rate::whole_units_to_msat(q.max_amount, q.rate).unwrap_or(u64::MAX),
            ),
            QuoteKind::Purchase => (PolicyKind::Purchase, q.max_amount),
            QuoteKind::PeerAcceptedBuy | QuoteKind::PeerAcceptedSell => return None,
        };
        Some(Policy {
            id: q.id,
            kind,
            balance_id: q.asset.balance_id(),
            rate: q.rate,
            expiry: q.expiry,
            max_msat,
            in_flight_msat: AtomicU64::new(0),
        })
    }

    /// The SCID alias the policy is keyed on.
    pub fn scid(&self) -> u64 {
        self.id.scid().0
    }

    /// Msat currently in flight.
    pub fn in_flight(&self) -> u64 {
        self.in_flight_msat.load(Ordering::Acquire)
    }

    /// Whether the quote is past its expiry at `now`.
    pub fn is_expired(&self, now: u64) -> bool {
        now > self.expiry
    }

    /// Adds `msat` to the in-flight total if it stays within the maximum.
    pub(crate) fn try_reserve(&self, msat: u64) -> Result<(), HtlcFailure> {
        self.in_flight_msat
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                current
                    .checked_add(msat)
                    .filter(|&total| total <= self.max_msat)
            })
            .map(|_| ())
            .map_err(|in_flight| HtlcFailure::ExceedsMax {
                id: self.id,
                in_flight,
                requested: msat,
                max: self.max_msat,
            })
    }

    /// Removes `msat` from the in-flight total.
    pub(crate) fn release(&self, msat: u64) {
        let _ = self
            .in_flight_msat
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                Some(current.saturating_sub(msat))
            });
    }

    /// Sets the in-flight total (restart reload).
    pub(crate) fn set_in_flight(&self, msat: u64) {
        self.in_flight_msat.store(msat, Ordering::Release);
    }

    /// The checks of spec §10 for this policy, except the in-flight maximum, which
    /// [`try_reserve`](Self::try_reserve) enforces atomically. Returns how to forward and the
    /// msat to count in flight.
    pub(crate) fn check(
        &self,
        htlc: &HtlcView<'_>,
    ) -> Result<(ForwardInstruction, u64), HtlcFailure> {
        if self.is_expired(htlc.now) {
            return Err(HtlcFailure::Expired {
                id: self.id,
                expiry: self.expiry,
            });
        }
        let conversion = |source| HtlcFailure::Conversion {
            id: self.id,
            source,
        };
        match self.kind {
            PolicyKind::Sale => {
                if htlc.outgoing_scid != self.scid() {
                    return Err(HtlcFailure::WrongChannel {
                        id: self.id,
                        expected: self.scid(),
                        found: htlc.outgoing_scid,
                    });
                }
                let units =
                    rate::msat_to_whole_units(htlc.outgoing_msat, self.rate).map_err(conversion)?;
                if units == 0 {
                    return Err(HtlcFailure::BelowOneUnit {
                        id: self.id,
                        msat: htlc.outgoing_msat,
                    });
                }
                let records = HtlcRecords {
                    asset_balances: Some(vec![AssetBalance {
                        asset_id: AssetId(self.balance_id),
                        amount: units,
                        extra: ExtraRecords::new(),
                    }]),
                    rfq_id: Some(self.id),
                    ..HtlcRecords::default()
                };
                Ok((
                    ForwardInstruction {
                        quote_id: self.id,
                        outgoing_msat: ASSET_HTLC_MSAT,
                        outgoing_records: Some(records),
                        incoming_value_msat: None,
                        asset_units: units,
                    },
                    htlc.outgoing_msat,
                ))
            }
            PolicyKind::Purchase => {
                let records = htlc.records.filter(|r| r.rfq_id == Some(self.id));
                let Some(records) = records else {
                    return Err(HtlcFailure::MissingRfqId { id: self.id });
                };
                // One unit on top covers the sender's rounding down.
                let units = records.units_of(&self.balance_id);
                let offered_msat = rate::whole_units_to_msat(units.saturating_add(1), self.rate)
                    .map_err(conversion)?;
                if offered_msat < htlc.outgoing_msat {
                    return Err(HtlcFailure::InsufficientAssets {
                        id: self.id,
                        offered_msat,
                        needed_msat: htlc.outgoing_msat,
                    });
                }
                Ok((
                    ForwardInstruction {
                        quote_id: self.id,
                        outgoing_msat: htlc.outgoing_msat,
                        outgoing_records: None,
                        incoming_value_msat: Some(offered_msat),
                        asset_units: units,
                    },
                    htlc.outgoing_msat,
                ))
            }
        }
    }
}
