//! Negotiation (spec §9): the responder side that answers a peer's requests with an accept or a
//! reject, and the requester side that sends requests and verifies the answers.
//!
//! Sans-I/O: [`Negotiator::handle`] takes (peer, decoded message, now) and returns what to send
//! and what changed; the caller owns the peer connection. The price oracle and the quote store
//! come in as traits.

mod requester;
mod responder;

pub use requester::{BuyOrder, SellOrder, VerifyFailure};
pub use responder::DUPLICATE_ID_MESSAGE;

use crate::oracle::PriceOracle;
use crate::order::OrderManager;
use crate::quote::StoredQuote;
use requester::Outstanding;
use rfq_wire::{RejectCode, RfqId, RfqMessage, ValidationError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A peer's node id: the 33-byte compressed public key.
pub type PeerId = [u8; 33];

/// Tunables of both sides, with tapd's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatorConfig {
    /// Our node id, sent to the oracle (tapd sends it by default).
    pub node_id: Option<PeerId>,
    /// Whether the oracle is told who the counterparty is (tapd: off by default).
    pub send_peer_id: bool,
    /// Lifetime of our requests, seconds (tapd: 600).
    pub request_lifetime: u64,
    /// Least lifetime an accept must have left, seconds (tapd: 10).
    pub min_accept_lifetime: u64,
    /// How far a peer's rate may be from our oracle's, parts per million (tapd: 50 000).
    pub tolerance_ppm: u64,
}

impl Default for NegotiatorConfig {
    fn default() -> Self {
        NegotiatorConfig {
            node_id: None,
            send_peer_id: false,
            request_lifetime: 600,
            min_accept_lifetime: 10,
            tolerance_ppm: 50_000,
        }
    }
}

/// What handling one incoming message led to.
#[derive(Debug, Clone, PartialEq, Eq)]
// `Reply` holds a whole message; outcomes are short-lived, one per incoming message.
#[allow(clippy::large_enum_variant)]
pub enum Handled {
    /// We answered a peer's request: send this accept or reject to the peer. An accept is sent
    /// only after its quote is durable.
    Reply(RfqMessage),
    /// A peer accepted our request and the accept passed verification; the quote is stored.
    Accepted(Box<StoredQuote>),
    /// A peer rejected our request.
    Rejected {
        /// The request's id.
        id: RfqId,
        /// The peer's code.
        code: RejectCode,
        /// The peer's text.
        message: String,
    },
    /// A peer accepted our request but the accept failed verification. Nothing is sent back
    /// (as in tapd); the request is closed.
    VerificationFailed {
        /// The request's id.
        id: RfqId,
        /// Which check failed.
        failure: VerifyFailure,
    },
    /// The message was dropped without an answer (logged).
    Dropped(DropReason),
}

/// Why a message was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DropReason {
    /// A request that breaks tapd's validation rules; tapd drops these without a reject.
    #[error("invalid request: {0}")]
    InvalidRequest(ValidationError),
    /// An accept or reject for an id we have no outstanding request for.
    #[error("answer for unknown quote id {0}")]
    UnknownId(RfqId),
    /// An accept or reject from a peer other than the one we asked.
    #[error("answer for {id} from the wrong peer")]
    WrongPeer {
        /// The quote id.
        id: RfqId,
    },
}

/// Both sides of the RFQ negotiation for one node.
pub struct Negotiator {
    oracle: Option<Arc<dyn PriceOracle>>,
    orders: Arc<OrderManager>,
    config: NegotiatorConfig,
    outstanding: Mutex<HashMap<RfqId, Outstanding>>,
}

impl core::fmt::Debug for Negotiator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Negotiator")
            .field("has_oracle", &self.oracle.is_some())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Negotiator {
    /// A negotiator that prices with `oracle` (none: every request is rejected with code 1)
    /// and records quotes through `orders`.
    pub fn new(
        oracle: Option<Arc<dyn PriceOracle>>,
        orders: Arc<OrderManager>,
        config: NegotiatorConfig,
    ) -> Self {
        Negotiator {
            oracle,
            orders,
            config,
            outstanding: Mutex::new(HashMap::new()),
        }
    }

    /// The order manager quotes go to.
    pub fn orders(&self) -> &Arc<OrderManager> {
        &self.orders
    }

    /// Handles one decoded RFQ message from `peer` at `now` (Unix seconds).
    pub async fn handle(&self, peer: PeerId, message: &RfqMessage, now: u64) -> Handled {
        let handled = match message {
            RfqMessage::Request(request) => self.answer_request(peer, request, now).await,
            RfqMessage::Accept(accept) => self.handle_accept(peer, accept, now).await,
            RfqMessage::Reject(reject) => self.handle_reject(peer, reject),
        };
        if let Handled::Dropped(reason) = &handled {
            tracing::info!(peer = %hex(&peer), %reason, "RFQ message dropped");
        }
        handled
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
