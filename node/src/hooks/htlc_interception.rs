//! HTLC interception: HTLCs to SCIDs the node does not know (RFQ's quote SCIDs), decided by an
//! [`HtlcInterceptor`] and followed until they resolve (the node's side is
//! `ldk::interception`).
//!
//! LDK 0.3 raises `Event::HTLCIntercepted` for them (`HTLCInterceptionFlags::ToUnknownSCIDs`).
//! The event does not say which channel the HTLC came in on; the node finds it among the
//! channels' pending inbound HTLCs by recomputing LDK's intercept id (SHA-256 of the HTLC id,
//! the incoming channel id and the peer's key), which gives the hook the incoming channel, its
//! SCID and the HTLC's circuit identity (incoming channel id + HTLC id).
//!
//! The decision runs as a task, never on the event loop, and is bounded in time: an HTLC whose
//! hook has not answered within the bound is failed back. Nothing is left hanging across a
//! crash either: the intercept id is written to the node's KV store before the event is
//! acknowledged and removed once the decision was carried out; ids still there at start are
//! failed back. A forwarded HTLC's circuit is written before it is forwarded and removed when
//! it resolves; the hook hears [`resolved`](HtlcInterceptor::resolved) once per circuit:
//! settled when LDK reports the forward claimed (`PaymentForwarded`), failed when the incoming
//! HTLC is being failed back or has gone without a claim on two checks in a row.

use std::sync::Arc;
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use lightning::ln::channelmanager::InterceptId;
use lightning::ln::types::ChannelId;
use lightning::types::payment::PaymentHash;

use super::BoxFuture;

/// How long a hook may take to decide before the HTLC is failed back.
pub const DEFAULT_DECISION_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTLC's identity: the channel it came in on and its id there (what rfq-engine calls a
/// circuit key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HtlcCircuit {
    /// The incoming channel.
    pub channel_id: ChannelId,
    /// The HTLC's id on that channel.
    pub htlc_id: u64,
}

/// Where an intercepted HTLC came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingHtlc {
    /// Its circuit identity.
    pub circuit: HtlcCircuit,
    /// The peer it came from.
    pub counterparty: PublicKey,
    /// The incoming channel's SCID as the peer knows it (its confirmed SCID, else our alias).
    pub scid: Option<u64>,
    /// The incoming HTLC's absolute CLTV expiry.
    pub cltv_expiry: u32,
}

/// An HTLC LDK intercepted because its next hop is an SCID the node does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterceptedHtlc {
    /// LDK's id for forwarding or failing it.
    pub intercept_id: InterceptId,
    /// Where it came from; `None` only if LDK no longer lists the incoming HTLC.
    pub incoming: Option<IncomingHtlc>,
    /// The SCID the sender's onion asks to forward over.
    pub requested_scid: u64,
    /// Payment hash.
    pub payment_hash: PaymentHash,
    /// Amount that arrived.
    pub inbound_msat: u64,
    /// Amount the onion asks to forward.
    pub expected_outbound_msat: u64,
    /// Absolute CLTV expiry of the outgoing HTLC, when LDK knows it.
    pub outgoing_expiry_height: Option<u32>,
}

/// What to do with an intercepted HTLC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterceptDecision {
    /// Forward over this channel to the node the onion names, with this amount (below the
    /// onion's amount, the difference is skimmed; above it, the extra is a gift).
    Forward {
        /// A usable channel to the next node.
        channel_id: ChannelId,
        /// The next node (the onion's next hop).
        next_node: PublicKey,
        /// Amount to forward.
        amount_msat: u64,
    },
    /// Fail it back to the sender.
    Fail,
}

/// How a forwarded HTLC ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HtlcResolution {
    /// Claimed downstream; the incoming HTLC is claimed too.
    Settled,
    /// Failed downstream, or the forward could not be made; the incoming HTLC is failed back.
    Failed,
}

/// What the node asks of an HTLC interception hook (RFQ's order manager, through its adapter).
pub trait HtlcInterceptor: Send + Sync + 'static {
    /// Decides an intercepted HTLC. Runs as a task; may await. An answer later than the node's
    /// decision timeout is ignored and the HTLC failed back.
    fn intercept(self: Arc<Self>, htlc: InterceptedHtlc) -> BoxFuture<'static, InterceptDecision>;

    /// An HTLC this hook decided to forward settled or failed. Called once per circuit, also
    /// for resolutions that happened while the node was down (reported after a restart).
    fn resolved(
        self: Arc<Self>,
        _circuit: HtlcCircuit,
        _resolution: HtlcResolution,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

/// The default hook: fails every intercepted HTLC back (LDK's behaviour without interception).
#[derive(Debug, Default)]
pub struct NoInterception;

impl HtlcInterceptor for NoInterception {
    fn intercept(self: Arc<Self>, _htlc: InterceptedHtlc) -> BoxFuture<'static, InterceptDecision> {
        Box::pin(async { InterceptDecision::Fail })
    }
}
