//! What the node reports, in typed Rust values (keys, ids, hashes, outpoints as their types).
//! The admin API's JSON shapes of them live in [`api::types`](crate::api::types).

use std::net::SocketAddr;

use bitcoin::secp256k1::PublicKey;
use bitcoin::{BlockHash, Network, OutPoint};
pub use lightning::ln::channelmanager::PaymentId;
pub use lightning::ln::types::ChannelId;
pub use lightning::types::payment::{PaymentHash, PaymentPreimage};

pub use crate::wallet::WalletBalance;

/// The node at a glance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// Our node id.
    pub node_id: PublicKey,
    /// The Bitcoin network.
    pub network: Network,
    /// Node alias (announced with public channels).
    pub alias: String,
    /// Address the P2P listener is bound to, if any.
    pub listen_address: Option<SocketAddr>,
    /// Height of the best block the node has processed.
    pub block_height: u32,
    /// Hash of that block.
    pub block_hash: BlockHash,
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's node id.
    pub node_id: PublicKey,
    /// Its socket address as seen by us, if known.
    pub address: Option<String>,
    /// Whether it connected to us.
    pub inbound: bool,
}

/// A channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelInfo {
    /// Channel id (the temporary id until the funding transaction is known).
    pub channel_id: ChannelId,
    /// The peer.
    pub counterparty: PublicKey,
    /// Funding outpoint, once known.
    pub funding_outpoint: Option<OutPoint>,
    /// Short channel id, once confirmed.
    pub short_channel_id: Option<u64>,
    /// Channel capacity.
    pub capacity_sat: u64,
    /// What we can send now.
    pub outbound_msat: u64,
    /// What we can receive now.
    pub inbound_msat: u64,
    /// Confirmations of the funding transaction.
    pub confirmations: Option<u32>,
    /// `channel_ready` exchanged.
    pub ready: bool,
    /// Ready and the peer connected.
    pub usable: bool,
    /// Announced to the network.
    pub public: bool,
    /// We opened it.
    pub outbound: bool,
    /// An anchor channel (`option_anchors_zero_fee_htlc_tx`).
    pub anchors: bool,
}

/// Which way a payment went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentDirection {
    /// We received it.
    Inbound,
    /// We sent it.
    Outbound,
}

/// Where a payment stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    /// In flight (or an invoice not paid yet).
    Pending,
    /// Completed.
    Succeeded,
    /// Gave up.
    Failed,
}

/// What kind of payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentKind {
    /// BOLT 11 invoice.
    Bolt11,
    /// BOLT 12 offer.
    Bolt12,
    /// Keysend (spontaneous): no invoice, the payer chose the preimage. Stored as `keysend`;
    /// rows that lnedge wrote as `other` before keysend had a kind of its own (received keysend
    /// payments, the only ones it recorded under that name) read as this too.
    Keysend,
}

/// Each enum's lowercase name, used in storage and JSON; `legacy` names are names older
/// versions wrote, still read (never written).
macro_rules! names {
    (
        $t:ty { $($v:ident => $s:literal),* $(,)? }
        $(legacy { $($ls:literal => $lv:ident),* $(,)? })?
    ) => {
        impl $t {
            /// The lowercase name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            /// Parses the lowercase name (or a name an older version wrote).
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($s => Some(Self::$v),)*
                    $($($ls => Some(Self::$lv),)*)?
                    _ => None,
                }
            }
        }
    };
}
names!(PaymentDirection { Inbound => "inbound", Outbound => "outbound" });
names!(PaymentStatus { Pending => "pending", Succeeded => "succeeded", Failed => "failed" });
names!(
    PaymentKind { Bolt11 => "bolt11", Bolt12 => "bolt12", Keysend => "keysend" }
    legacy { "other" => Keysend }
);

/// A payment, sent or received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentInfo {
    /// Payment id (BOLT 11 and keysend: the payment hash; BOLT 12: random).
    pub id: PaymentId,
    /// Payment hash, once known (BOLT 12 learns it from the invoice).
    pub payment_hash: Option<PaymentHash>,
    /// Which way.
    pub direction: PaymentDirection,
    /// What kind.
    pub kind: PaymentKind,
    /// Where it stands.
    pub status: PaymentStatus,
    /// Amount (for received payments: what arrived).
    pub amount_msat: Option<u64>,
    /// Routing fee paid (sent payments).
    pub fee_msat: Option<u64>,
    /// Preimage, once known.
    pub preimage: Option<PaymentPreimage>,
    /// Why it failed.
    pub failure: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}

/// Something that happened, published to [`Node::subscribe`](crate::Node::subscribe).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeEvent {
    /// A channel's funding transaction was negotiated.
    ChannelPending {
        /// The channel.
        channel_id: ChannelId,
        /// The peer.
        counterparty: PublicKey,
        /// The funding outpoint.
        funding_outpoint: OutPoint,
    },
    /// A channel can be used.
    ChannelReady {
        /// The channel.
        channel_id: ChannelId,
        /// The peer.
        counterparty: PublicKey,
    },
    /// A channel closed.
    ChannelClosed {
        /// The channel.
        channel_id: ChannelId,
        /// The peer, when known.
        counterparty: Option<PublicKey>,
        /// Why.
        reason: String,
    },
    /// A payment arrived and was claimed.
    PaymentReceived {
        /// Its hash.
        payment_hash: PaymentHash,
        /// What arrived.
        amount_msat: u64,
    },
    /// A payment we sent succeeded.
    PaymentSucceeded {
        /// Its id.
        payment_id: PaymentId,
        /// Its hash.
        payment_hash: PaymentHash,
        /// Fee paid.
        fee_msat: Option<u64>,
    },
    /// A payment we sent failed.
    PaymentFailed {
        /// Its id.
        payment_id: PaymentId,
        /// Why.
        reason: String,
    },
    /// We forwarded a payment.
    PaymentForwarded {
        /// Fee earned.
        fee_msat: Option<u64>,
    },
    /// Outputs of closed channels are being swept into the wallet.
    OutputsSwept {
        /// Outputs tracked.
        outputs: usize,
    },
}
