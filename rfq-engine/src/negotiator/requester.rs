//! The requester (wallet) side (spec §9.1, §9.3): build requests whose ids map into the SCID
//! alias range, and verify the answers against our own oracle before storing them.

use super::{DropReason, Handled, Negotiator, PeerId};
use crate::constraints::{ConstraintViolation, QuoteConstraints};
use crate::oracle::{Intent, OracleError, RateHint, RateQuery, TransactionType};
use crate::quote::{QuoteKind, StoredQuote};
use crate::rate;
use rfq_wire::{
    AssetSpecifier, BuyRequest, ExecutionPolicy, FixedPoint, Metadata, QuoteAccept, QuoteReject,
    QuoteRequest, RfqId, SellRequest, TypedRequest, ValidationError,
};

/// We want to receive `max_units` of an asset (a buy request; the peer sells).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuyOrder {
    /// The asset.
    pub asset: AssetSpecifier,
    /// Most units.
    pub max_units: u64,
    /// Least units worth it.
    pub min_units: Option<u64>,
    /// Least acceptable rate (units per BTC).
    pub rate_floor: Option<FixedPoint>,
    /// Fill policy.
    pub execution_policy: ExecutionPolicy,
    /// Optional rate hint to send.
    pub rate_hint: Option<FixedPoint>,
    /// Metadata for the peer's oracle.
    pub metadata: Metadata,
}

/// We want to pay up to `max_msat` with an asset (a sell request; the peer buys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellOrder {
    /// The asset.
    pub asset: AssetSpecifier,
    /// Most msat to pay.
    pub max_msat: u64,
    /// Least msat worth it.
    pub min_msat: Option<u64>,
    /// Highest acceptable rate (units per BTC).
    pub rate_ceiling: Option<FixedPoint>,
    /// Fill policy.
    pub execution_policy: ExecutionPolicy,
    /// Optional rate hint to send.
    pub rate_hint: Option<FixedPoint>,
    /// Metadata for the peer's oracle.
    pub metadata: Metadata,
}

/// Why a peer's accept was not taken (tapd's `QuoteRespStatus` failures).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyFailure {
    /// The accept is malformed or already expired.
    #[error("invalid accept: {0}")]
    Invalid(ValidationError),
    /// Less than the minimum lifetime left (INVALID_EXPIRY).
    #[error("accept expires in {left} s, at least {min} s required")]
    InvalidExpiry {
        /// Seconds left.
        left: u64,
        /// Seconds required.
        min: u64,
    },
    /// No oracle, or our oracle failed (PRICE_ORACLE_QUERY_ERR).
    #[error("price oracle query failed: {0}")]
    OracleQuery(String),
    /// The peer's rate is outside our tolerance of our oracle's (INVALID_ASSET_RATES).
    #[error("peer rate {peer} is more than {ppm} ppm from our oracle's {ours}")]
    InvalidAssetRates {
        /// The accepted rate.
        peer: FixedPoint,
        /// Our oracle's rate.
        ours: FixedPoint,
        /// The tolerance.
        ppm: u64,
    },
    /// The accept breaks the request's constraints (MIN_FILL_NOT_MET, RATE_BOUND_MISS, …).
    #[error("constraint violated: {0}")]
    Constraint(ConstraintViolation),
    /// The verified quote could not be stored.
    #[error("storing the quote failed: {0}")]
    Store(String),
}

/// A request we sent and wait on.
#[derive(Debug, Clone)]
pub(super) struct Outstanding {
    peer: PeerId,
    request: TypedRequest,
    wire: QuoteRequest,
}

impl Negotiator {
    /// Builds a buy request for `peer` and records it as outstanding. `entropy` must be 32
    /// bytes from a CSPRNG; the id's SCID lands in the alias range. Send the returned message.
    pub fn request_buy(
        &self,
        peer: PeerId,
        order: BuyOrder,
        now: u64,
        entropy: [u8; 32],
    ) -> QuoteRequest {
        let request = TypedRequest::Buy(BuyRequest {
            id: RfqId::with_alias_scid(entropy),
            expiry: now + self.config.request_lifetime,
            asset: order.asset,
            max_units: order.max_units,
            min_units: order.min_units,
            rate_hint: order.rate_hint,
            rate_limit: order.rate_floor,
            execution_policy: order.execution_policy,
            metadata: order.metadata,
        });
        self.track(peer, request)
    }

    /// Builds a sell request for `peer` and records it as outstanding (see
    /// [`request_buy`](Self::request_buy)).
    pub fn request_sell(
        &self,
        peer: PeerId,
        order: SellOrder,
        now: u64,
        entropy: [u8; 32],
    ) -> QuoteRequest {
        let request = TypedRequest::Sell(SellRequest {
            id: RfqId::with_alias_scid(entropy),
            expiry: now + self.config.request_lifetime,
            asset: order.asset,
            max_msat: order.max_msat,
            min_msat: order.min_msat,
            rate_hint: order.rate_hint,
            rate_limit: order.rate_ceiling,
            execution_policy: order.execution_policy,
            metadata: order.metadata,
        });
        self.track(peer, request)
    }

    /// Forgets an outstanding request (timed out or abandoned). True when it was outstanding.
    pub fn forget_request(&self, id: RfqId) -> bool {
        self.outstanding_map().remove(&id).is_some()
    }

    /// How many requests wait on an answer.
    pub fn outstanding_count(&self) -> usize {
        self.outstanding_map().len()
    }

    fn track(&self, peer: PeerId, request: TypedRequest) -> QuoteRequest {
        let wire = QuoteRequest::from(request.clone());
        self.outstanding_map().insert(
            request.id(),
            Outstanding {
                peer,
                request,
                wire: wire.clone(),
            },
        );
        wire
    }

    fn outstanding_map(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<RfqId, Outstanding>> {
        self.outstanding.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The first answer for an id closes the request; answers from another peer are dropped
    /// and leave it open.
    fn take_outstanding(&self, peer: PeerId, id: RfqId) -> Result<Outstanding, DropReason> {
        let mut map = self.outstanding_map();
        match map.get(&id) {
            None => Err(DropReason::UnknownId(id)),
            Some(o) if o.peer != peer => Err(DropReason::WrongPeer { id }),
            Some(_) => Ok(map.remove(&id).expect("present")),
        }
    }

    pub(super) fn handle_reject(&self, peer: PeerId, reject: &QuoteReject) -> Handled {
        if let Err(reason) = self.take_outstanding(peer, reject.id) {
            return Handled::Dropped(reason);
        }
        self.orders.emit(crate::order::RfqEvent::QuoteRejected {
            id: reject.id,
            code: reject.code,
            message: reject.message.clone(),
        });
        Handled::Rejected {
            id: reject.id,
            code: reject.code,
            message: reject.message.clone(),
        }
    }

    pub(super) async fn handle_accept(
        &self,
        peer: PeerId,
        accept: &QuoteAccept,
        now: u64,
    ) -> Handled {
        let outstanding = match self.take_outstanding(peer, accept.id) {
            Ok(o) => o,
            Err(reason) => return Handled::Dropped(reason),
        };
        match self.verify(&outstanding, accept, now).await {
            Ok(quote) => Handled::Accepted(Box::new(quote)),
            Err(failure) => {
                tracing::info!(id = %accept.id, %failure, "peer accept failed verification");
                Handled::VerificationFailed {
                    id: accept.id,
                    failure,
                }
            }
        }
    }

    async fn verify(
        &self,
        outstanding: &Outstanding,
        accept: &QuoteAccept,
        now: u64,
    ) -> Result<StoredQuote, VerifyFailure> {
        accept.validate(now).map_err(VerifyFailure::Invalid)?;
        let left = accept.expiry - now;
        if left < self.config.min_accept_lifetime {
            return Err(VerifyFailure::InvalidExpiry {
                left,
                min: self.config.min_accept_lifetime,
            });
        }
        let oracle = self
            .oracle
            .as_ref()
            .ok_or_else(|| VerifyFailure::OracleQuery("no price oracle configured".into()))?;
        let (peer_rate, fill, kind, mut query) = match &outstanding.request {
            TypedRequest::Buy(buy) => {
                let view = accept.as_buy();
                let mut q = RateQuery::new(
                    TransactionType::Purchase,
                    Intent::RecvPaymentQualify,
                    buy.asset,
                );
                q.subject_max_amount = Some(buy.max_units);
                q.metadata = buy.metadata.clone();
                (view.rate, view.fill_units, QuoteKind::PeerAcceptedBuy, q)
            }
            TypedRequest::Sell(sell) => {
                let view = accept.as_sell();
                let mut q =
                    RateQuery::new(TransactionType::Sale, Intent::PayInvoiceQualify, sell.asset);
                q.payment_max_msat = Some(sell.max_msat);
                q.metadata = sell.metadata.clone();
                (view.rate, view.fill_msat, QuoteKind::PeerAcceptedSell, q)
            }
        };
        query.rate_hint = Some(RateHint {
            rate: peer_rate,
            expiry: accept.expiry,
        });
        query.node_id = self.config.node_id;
        query.counterparty = self.config.send_peer_id.then_some(outstanding.peer);
        let ours = oracle
            .query_rate(&query)
            .await
            .map_err(|e: OracleError| VerifyFailure::OracleQuery(e.to_string()))?;
        let ppm = self.config.tolerance_ppm;
        let within = rate::within_tolerance(peer_rate, ours.rate, ppm).unwrap_or(false);
        if !within {
            return Err(VerifyFailure::InvalidAssetRates {
                peer: peer_rate,
                ours: ours.rate,
                ppm,
            });
        }
        let constraints = QuoteConstraints::from(&outstanding.request);
        constraints
            .check(peer_rate, fill)
            .map_err(VerifyFailure::Constraint)?;
        let max_amount = fill.map_or(constraints.max_amount, |f| f.min(constraints.max_amount));
        let quote = StoredQuote {
            id: accept.id,
            peer: outstanding.peer,
            kind,
            asset: match &outstanding.request {
                TypedRequest::Buy(b) => b.asset,
                TypedRequest::Sell(s) => s.asset,
            },
            rate: peer_rate,
            expiry: accept.expiry,
            max_amount,
            min_amount: constraints.min_amount.filter(|&m| m != 0),
            request: outstanding.wire.clone(),
            accept: accept.clone(),
            created_at: now,
        };
        self.orders
            .add_quote(&quote)
            .await
            .map_err(|e| VerifyFailure::Store(e.to_string()))?;
        Ok(quote)
    }
}
