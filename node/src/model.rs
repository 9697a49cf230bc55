//! What the node reports: plain serde types shared by the Rust API, the admin HTTP API and the
//! CLI. Keys, ids and hashes are lowercase hex; amounts carry their unit in the field name.

use serde::{Deserialize, Serialize};

pub use crate::wallet::WalletBalance;

/// The node at a glance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Our node id (compressed public key, hex).
    pub node_id: String,
    /// `bitcoin`, `testnet`, `signet` or `regtest`.
    pub network: String,
    /// Node alias (announced with public channels).
    pub alias: String,
    /// Address the P2P listener is bound to, if any.
    pub listen_address: Option<String>,
    /// Height of the best block the node has processed.
    pub block_height: u32,
    /// Hash of that block.
    pub block_hash: String,
    /// Connected peers.
    pub peers: usize,
    /// Channels in any state.
    pub channels: usize,
    /// Channels that can send or receive now.
    pub usable_channels: usize,
    /// Nodes in the gossip graph that announced themselves (needed to route onion messages).
    pub graph_nodes: usize,
    /// Channels in the gossip graph with both directions' updates known (routable).
    pub graph_channels: usize,
}

/// A connected peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// The peer's node id.
    pub node_id: String,
    /// Its socket address as seen by us, if known.
    pub address: Option<String>,
    /// Whether it connected to us.
    pub inbound: bool,
}

/// A channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelInfo {
    /// Channel id (hex).
    pub channel_id: String,
    /// The peer.
    pub counterparty: String,
    /// Funding outpoint `txid:vout`, once known.
    pub funding_outpoint: Option<String>,
    /// Short channel id once confirmed (`BLOCKxTXxOUT`).
    pub short_channel_id: Option<String>,
    /// Channel size.
    pub capacity_sat: u64,
    /// What we can send now.
    pub outbound_msat: u64,
    /// What we can receive now.
    pub inbound_msat: u64,
    /// Confirmations of the funding transaction.
    pub confirmations: Option<u32>,
    /// `channel_ready` exchanged.
    pub ready: bool,
    /// Ready and the peer is connected.
    pub usable: bool,
    /// Announced to the network.
    pub public: bool,
    /// We opened it.
    pub outbound: bool,
    /// An anchor channel (`option_anchors_zero_fee_htlc_tx`): a force close is fee-bumped from
    /// the wallet.
    #[serde(default)]
    pub anchors: bool,
}

/// Direction of a payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentDirection {
    /// We received it.
    Inbound,
    /// We sent it.
    Outbound,
}

/// State of a payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Under way.
    Pending,
    /// Done.
    Succeeded,
    /// Given up.
    Failed,
}

/// What was paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentKind {
    /// A BOLT 11 invoice.
    Bolt11,
    /// A BOLT 12 offer.
    Bolt12,
    /// Anything else LDK reports (spontaneous payments).
    Other,
}

impl PaymentDirection {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        }
    }
}

impl PaymentStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

impl PaymentKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bolt11 => "bolt11",
            Self::Bolt12 => "bolt12",
            Self::Other => "other",
        }
    }
}

/// A payment, sent or received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentInfo {
    /// Payment id (hex): LDK's payment id for outbound payments, the payment hash for inbound.
    pub id: String,
    /// Payment hash, once known (BOLT 12 payments learn it from the invoice).
    pub payment_hash: Option<String>,
    /// Inbound or outbound.
    pub direction: PaymentDirection,
    /// BOLT 11, BOLT 12, other.
    pub kind: PaymentKind,
    /// Pending, succeeded, failed.
    pub status: PaymentStatus,
    /// Amount (sent to the recipient, or received).
    pub amount_msat: Option<u64>,
    /// Routing fees paid (outbound, once known).
    pub fee_msat: Option<u64>,
    /// Preimage once known (hex).
    pub preimage: Option<String>,
    /// Why it failed.
    pub failure: Option<String>,
    /// Unix seconds created.
    pub created_at: u64,
    /// Unix seconds last changed.
    pub updated_at: u64,
}

/// A BOLT 11 invoice the node created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceInfo {
    /// The invoice string.
    pub invoice: String,
    /// Its payment hash.
    pub payment_hash: String,
    /// Seconds until it expires.
    pub expiry_secs: u64,
}

/// A BOLT 12 offer the node created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferInfo {
    /// The offer string (`lno1…`).
    pub offer: String,
    /// Offer id (hex).
    pub offer_id: String,
}

/// Something that happened in the node (the event stream).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NodeEvent {
    /// A channel's funding transaction is out; waiting for confirmations.
    ChannelPending {
        /// Channel id.
        channel_id: String,
        /// The peer.
        counterparty: String,
        /// Funding outpoint.
        funding_outpoint: String,
    },
    /// A channel can be used.
    ChannelReady {
        /// Channel id.
        channel_id: String,
        /// The peer.
        counterparty: String,
    },
    /// A channel closed.
    ChannelClosed {
        /// Channel id.
        channel_id: String,
        /// The peer, when known.
        counterparty: Option<String>,
        /// Why.
        reason: String,
    },
    /// We were paid.
    PaymentReceived {
        /// Payment hash.
        payment_hash: String,
        /// Amount received.
        amount_msat: u64,
    },
    /// An outgoing payment succeeded.
    PaymentSucceeded {
        /// Payment id.
        payment_id: String,
        /// Payment hash.
        payment_hash: String,
        /// Routing fees paid.
        fee_msat: Option<u64>,
    },
    /// An outgoing payment failed.
    PaymentFailed {
        /// Payment id.
        payment_id: String,
        /// Why.
        reason: String,
    },
    /// We forwarded a payment.
    PaymentForwarded {
        /// Fee earned.
        fee_msat: Option<u64>,
    },
    /// Closed-channel funds were swept back to the wallet (sweep transaction broadcast).
    OutputsSwept {
        /// How many outputs the sweeper now tracks.
        outputs: usize,
    },
}
