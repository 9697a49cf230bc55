//! The responder (edge) side (spec §9.2): price a peer's request with the oracle, check its
//! constraints, persist the quote, and only then accept.

use super::{DropReason, Handled, Negotiator, PeerId};
use crate::constraints::QuoteConstraints;
use crate::oracle::{OracleError, RateQuery};
use crate::quote::{QuoteKind, StoredQuote};
use rfq_wire::{
    BuyAccept, QuoteAccept, QuoteReject, QuoteRequest, QuoteSignature, RejectCode, RfqMessage,
    SellAccept, TypedRequest,
};

/// The reject text for a request id the peer already used (the bLIP's SHOULD; tapd does not
/// check).
pub const DUPLICATE_ID_MESSAGE: &str = "duplicate quote id";

impl Negotiator {
    pub(super) async fn answer_request(
        &self,
        peer: PeerId,
        request: &QuoteRequest,
        now: u64,
    ) -> Handled {
        let typed = match request.validate(now) {
            Ok(typed) => typed,
            Err(e) => return Handled::Dropped(DropReason::InvalidRequest(e)),
        };
        let id = request.id;
        let reject = |code: RejectCode, message: &str| {
            let reject = QuoteReject {
                message: message.to_owned(),
                ..QuoteReject::new(id, code)
            };
            self.orders.emit(crate::order::RfqEvent::QuoteRejected {
                id,
                code,
                message: reject.message.clone(),
            });
            Handled::Reply(RfqMessage::Reject(reject))
        };
        match self.orders.store().note_request_id(peer, id).await {
            Ok(true) => {}
            Ok(false) => return reject(RejectCode::Unspecified, DUPLICATE_ID_MESSAGE),
            Err(e) => {
                tracing::warn!(error = %e, "recording a request id failed");
                return reject(RejectCode::Unspecified, "unknown reject error");
            }
        }
        let Some(oracle) = &self.oracle else {
            let code = RejectCode::PriceOracleUnavailable;
            return reject(code, code.default_message());
        };
        let mut query = match &typed {
            TypedRequest::Buy(buy) => RateQuery::for_buy_request(buy),
            TypedRequest::Sell(sell) => RateQuery::for_sell_request(sell),
        };
        query.node_id = self.config.node_id;
        query.counterparty = self.config.send_peer_id.then_some(peer);
        let rate = match oracle.query_rate(&query).await {
            Ok(rate) if rate.rate.coefficient != 0 && rate.expiry > now => rate,
            Ok(_) => return reject(RejectCode::Unspecified, "unknown reject error"),
            Err(OracleError::UnsupportedAsset { message }) => {
                return reject(RejectCode::Unspecified, &message)
            }
            Err(e) => {
                tracing::info!(error = %e, "price oracle failed");
                return reject(RejectCode::Unspecified, "unknown reject error");
            }
        };
        let constraints = QuoteConstraints::from(&typed);
        if let Err(violation) = constraints.check(rate.rate, None) {
            let code = violation.reject_code();
            return reject(code, code.default_message());
        }
        let (accept, kind, asset, max_amount, min_amount, failure) = match &typed {
            TypedRequest::Buy(buy) => (
                QuoteAccept::from(BuyAccept {
                    id,
                    expiry: rate.expiry,
                    rate: rate.rate,
                    fill_units: None,
                    signature: QuoteSignature::ZERO,
                }),
                QuoteKind::Sale,
                buy.asset,
                buy.max_units,
                buy.min_units,
                "failed to register asset sale policy",
            ),
            TypedRequest::Sell(sell) => (
                QuoteAccept::from(SellAccept {
                    id,
                    expiry: rate.expiry,
                    rate: rate.rate,
                    fill_msat: None,
                    signature: QuoteSignature::ZERO,
                }),
                QuoteKind::Purchase,
                sell.asset,
                sell.max_msat,
                sell.min_msat,
                "failed to register asset purchase policy",
            ),
        };
        let quote = StoredQuote {
            id,
            peer,
            kind,
            asset,
            rate: rate.rate,
            expiry: rate.expiry,
            max_amount,
            min_amount,
            request: request.clone(),
            accept: accept.clone(),
            created_at: now,
        };
        // Persist-then-accept: the accept leaves only once the quote is durable.
        if let Err(e) = self.orders.add_quote(&quote).await {
            tracing::warn!(error = %e, "persisting an accepted quote failed");
            return reject(RejectCode::Unspecified, failure);
        }
        Handled::Reply(RfqMessage::Accept(accept))
    }
}
