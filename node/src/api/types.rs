//! The admin API's JSON: every request body and reply, shared by the server and the `lnedge`
//! client. Keys, ids and hashes are lowercase hex; amounts carry their unit in the field name;
//! request bodies refuse unknown fields. The typed values the node works with are in
//! [`model`](crate::model); `From` conversions turn them into these shapes.

use bitcoin::hex::DisplayHex;
use serde::{Deserialize, Serialize};

use crate::channels::scid_string;
use crate::model;

// ----- requests -----

/// `POST /v1/peers/connect`: `{node_id, address}` or `{uri}` (`<node id>@<host>:<port>`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectPeerRequest {
    /// The peer's node id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// Its `host:port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Both in one: `<node id>@<host>:<port>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// `POST /v1/peers/disconnect`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisconnectPeerRequest {
    /// The peer's node id.
    pub node_id: String,
}

/// `POST /v1/channels/open`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenChannelRequest {
    /// The (connected) peer.
    pub node_id: String,
    /// Channel capacity.
    pub amount_sat: u64,
    /// Amount given to the peer at opening.
    #[serde(default)]
    pub push_msat: u64,
    /// Announce the channel.
    #[serde(default)]
    pub public: bool,
}

/// `POST /v1/channels/close`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseChannelRequest {
    /// The channel.
    pub channel_id: String,
    /// Broadcast our commitment instead of negotiating.
    #[serde(default)]
    pub force: bool,
}

/// `POST /v1/invoices`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInvoiceRequest {
    /// Amount; absent for any amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_msat: Option<u64>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Expiry (default 3600 s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_secs: Option<u32>,
}

/// `POST /v1/invoices/pay`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayInvoiceRequest {
    /// The BOLT 11 invoice.
    pub invoice: String,
    /// Amount, for amount-less invoices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_msat: Option<u64>,
    /// Wait up to this long for the outcome (at most 600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_secs: Option<u64>,
}

/// `POST /v1/offers`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOfferRequest {
    /// Amount; absent for any amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_msat: Option<u64>,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `POST /v1/offers/pay`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayOfferRequest {
    /// The BOLT 12 offer.
    pub offer: String,
    /// Amount, required for amount-less offers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_msat: Option<u64>,
    /// Wait up to this long for the outcome (at most 600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_secs: Option<u64>,
}

/// `POST /v1/keysend`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysendRequest {
    /// The recipient's node id.
    pub node_id: String,
    /// Amount.
    pub amount_msat: u64,
    /// Wait up to this long for the outcome (at most 600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_secs: Option<u64>,
}

/// A request without fields (`POST /v1/wallet/address`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyRequest {}

/// `POST /v1/wallet/send`: `amount_sat`, or `send_all: true` to empty the wallet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletSendRequest {
    /// Destination address.
    pub address: String,
    /// Amount to send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_sat: Option<u64>,
    /// Send everything (instead of `amount_sat`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub send_all: bool,
    /// Fee rate; the node's estimate if absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee_rate_sat_per_vb: Option<u64>,
}

/// `POST /v1/async/recipients`: register an async payments recipient at this server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterAsyncRecipientRequest {
    /// A free-form name for operators (1 to 256 bytes).
    pub label: String,
    /// Its own slot quota (invoices it may keep stored); the store's default if absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slots: Option<u16>,
}

/// `POST /v1/async/apply`: apply a server's registration token on this (recipient) node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyAsyncTokenRequest {
    /// The registration token, `lnasync1…`, or the hex of LDK's serialized paths (what a
    /// static invoice server on LDK or ldk-node hands out).
    pub token: String,
}

/// `POST /v1/async/offer`: an offer payable while this node is offline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsyncOfferRequest {
    /// Wait up to this long for the server to confirm an invoice (at most 600); absent or 0:
    /// answer at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_secs: Option<u64>,
}

// ----- replies -----

/// Every refusal and failure: `{"error": "<text>"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// What went wrong.
    pub error: String,
}

/// `GET /v1/info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Our node id.
    pub node_id: String,
    /// `bitcoin`, `testnet`, `signet` or `regtest`.
    pub network: String,
    /// Node alias.
    pub alias: String,
    /// P2P listen address, if any.
    pub listen_address: Option<String>,
    /// Height of the best block processed.
    pub block_height: u32,
    /// Its hash.
    pub block_hash: String,
    /// Connected peers.
    pub peers: usize,
    /// Channels in any state.
    pub channels: usize,
    /// Channels that can send or receive now.
    pub usable_channels: usize,
    /// Announced nodes in the gossip graph.
    pub graph_nodes: usize,
    /// Routable channels in the gossip graph.
    pub graph_channels: usize,
}

/// An entry of `GET /v1/peers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// The peer's node id.
    pub node_id: String,
    /// Its address as seen by us.
    pub address: Option<String>,
    /// It connected to us.
    pub inbound: bool,
}

/// Reply of `POST /v1/peers/connect`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectedPeer {
    /// The peer.
    pub node_id: String,
    /// The address connected to.
    pub address: String,
}

/// Reply of `POST /v1/peers/disconnect`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisconnectedPeer {
    /// The peer.
    pub node_id: String,
    /// Always `true`.
    pub disconnected: bool,
}

/// An entry of `GET /v1/channels`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    /// Channel id.
    pub channel_id: String,
    /// The peer.
    pub counterparty: String,
    /// `txid:vout`, once known.
    pub funding_outpoint: Option<String>,
    /// `BLOCKxTXxOUTPUT`, once confirmed.
    pub short_channel_id: Option<String>,
    /// Capacity.
    pub capacity_sat: u64,
    /// What we can send.
    pub outbound_msat: u64,
    /// What we can receive.
    pub inbound_msat: u64,
    /// Funding confirmations.
    pub confirmations: Option<u32>,
    /// `channel_ready` exchanged.
    pub ready: bool,
    /// Ready and the peer connected.
    pub usable: bool,
    /// Announced.
    pub public: bool,
    /// We opened it.
    pub outbound: bool,
    /// Anchor channel.
    #[serde(default)]
    pub anchors: bool,
}

/// Reply of `POST /v1/channels/open`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenedChannel {
    /// The temporary channel id.
    pub channel_id: String,
    /// The peer.
    pub counterparty: String,
}

/// Reply of `POST /v1/channels/close`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosingChannel {
    /// The channel.
    pub channel_id: String,
    /// Whether it was force-closed.
    pub force: bool,
    /// Always `true`.
    pub closing: bool,
}

/// Reply of `POST /v1/invoices`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// The BOLT 11 invoice.
    pub invoice: String,
    /// Its payment hash (also the payment id).
    pub payment_hash: String,
    /// Its expiry.
    pub expiry_secs: u64,
}

/// Reply of `POST /v1/offers` and `POST /v1/async/offer`; an entry of `GET /v1/async/offers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// The BOLT 12 offer.
    pub offer: String,
    /// Its id.
    pub offer_id: String,
}

/// Reply of `POST /v1/async/recipients`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredAsyncRecipient {
    /// The recipient id (hex), which the other server endpoints take.
    pub recipient_id: String,
    /// Its label.
    pub label: String,
    /// The registration token (`lnasync1…`) to hand the recipient.
    pub token: String,
    /// The same paths in LDK's serialization (hex), for a recipient on LDK or ldk-node
    /// (`set_paths_to_static_invoice_server`).
    pub ldk_paths_hex: String,
}

/// An entry of `GET /v1/async/recipients`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncRecipient {
    /// The recipient id (hex).
    pub recipient_id: String,
    /// Its label.
    pub label: String,
    /// Its own slot quota; `null`: the store's default.
    pub slot_quota: Option<u16>,
    /// Revoked: no invoices, none accepted.
    pub revoked: bool,
    /// Unix seconds.
    pub registered_at: u64,
}

/// Reply of `GET /v1/async/recipients`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncRecipients {
    /// Every registered recipient, by id.
    pub recipients: Vec<AsyncRecipient>,
}

/// Reply of `POST /v1/async/revoke/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedAsyncRecipient {
    /// The recipient id (hex).
    pub recipient_id: String,
    /// How many of its stored invoices were deleted.
    pub invoices_deleted: u64,
}

/// Reply of `POST /v1/async/token/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncToken {
    /// The recipient id (hex).
    pub recipient_id: String,
    /// A new registration token (`lnasync1…`) with this node's paths.
    pub token: String,
    /// The same paths in LDK's serialization (hex), for a recipient on LDK or ldk-node.
    pub ldk_paths_hex: String,
}

/// An entry of `GET /v1/async/invoices`: a static invoice stored for a recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncInvoice {
    /// The recipient id (hex).
    pub recipient_id: String,
    /// The invoice slot.
    pub slot: u16,
    /// When it was stored, Unix seconds.
    pub created_at: u64,
    /// When it stops being served, Unix seconds.
    pub expires_at: u64,
}

/// Reply of `GET /v1/async/invoices` and `GET /v1/async/invoices/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncInvoices {
    /// The stored invoices, by recipient and slot.
    pub invoices: Vec<AsyncInvoice>,
}

/// Reply of `GET /v1/async/server`: counters since the node started, and the mailbox.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncServerStats {
    /// Invoices stored (new or replacing a slot).
    pub invoices_stored: u64,
    /// Invoices refused because their recipient is not registered.
    pub refused_unregistered: u64,
    /// Invoices refused because their recipient was revoked.
    pub refused_revoked: u64,
    /// Invoices refused because they would take a slot beyond the recipient's quota.
    pub refused_over_quota: u64,
    /// Invoice requests answered with a static invoice.
    pub requests_served: u64,
    /// Invoice requests with no invoice to serve, or refused by LDK (expired).
    pub requests_unserved: u64,
    /// Persists and requests dropped by the per-recipient rate limits.
    pub rate_limited: u64,
    /// Onion messages held for offline peers.
    pub messages_held: u64,
    /// Held onion messages forwarded once their peer came back.
    pub messages_delivered: u64,
    /// Onion messages in the mailbox now.
    pub held_messages: u64,
}

/// Reply of `POST /v1/async/apply`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedAsyncToken {
    /// Always `true`.
    pub applied: bool,
}

/// Reply of `GET /v1/async/offers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsyncOffers {
    /// The async offers this node has handed out.
    pub offers: Vec<Offer>,
}

/// How many payments a page of `GET /v1/payments` holds when the query gives no `limit`.
pub const DEFAULT_PAYMENTS_LIMIT: usize = 100;
/// The largest `limit` `GET /v1/payments` accepts.
pub const MAX_PAYMENTS_LIMIT: usize = 1000;
/// The reply header of `GET /v1/payments` naming the cursor of the next page (the id of the
/// page's last payment: pass it as `after`); absent on the last page.
pub const NEXT_CURSOR_HEADER: &str = "next-cursor";

/// A payment: entries of `GET /v1/payments`, `GET /v1/payments/{id}`, and the reply of the
/// pay endpoints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// Payment id.
    pub id: String,
    /// Payment hash, once known.
    pub payment_hash: Option<String>,
    /// `inbound` or `outbound`.
    pub direction: String,
    /// `bolt11`, `bolt12` or `keysend`.
    pub kind: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// Amount.
    pub amount_msat: Option<u64>,
    /// Fee paid.
    pub fee_msat: Option<u64>,
    /// Preimage, once known.
    pub preimage: Option<String>,
    /// Why it failed.
    pub failure: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
}

/// Reply of `POST /v1/wallet/address`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAddress {
    /// The first receive address not yet paid (the same until coins arrive at it).
    pub address: String,
}

/// Reply of `GET /v1/wallet/balance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletBalance {
    /// Confirmed and spendable.
    pub confirmed_sat: u64,
    /// Unconfirmed change of our own.
    pub trusted_pending_sat: u64,
    /// Unconfirmed, from others.
    pub untrusted_pending_sat: u64,
    /// Immature coinbase outputs.
    pub immature_sat: u64,
    /// The sum.
    pub total_sat: u64,
}

/// Reply of `POST /v1/wallet/send`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentTransaction {
    /// The transaction id.
    pub txid: String,
}

/// A record of `GET /v1/events` (server-sent events; the record's `event:` is `type`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A channel's funding was negotiated.
    ChannelPending {
        /// The channel.
        channel_id: String,
        /// The peer.
        counterparty: String,
        /// `txid:vout`.
        funding_outpoint: String,
    },
    /// A channel can be used.
    ChannelReady {
        /// The channel.
        channel_id: String,
        /// The peer.
        counterparty: String,
    },
    /// A channel closed.
    ChannelClosed {
        /// The channel.
        channel_id: String,
        /// The peer, when known.
        counterparty: Option<String>,
        /// Why.
        reason: String,
    },
    /// A payment arrived.
    PaymentReceived {
        /// Its hash.
        payment_hash: String,
        /// What arrived.
        amount_msat: u64,
    },
    /// A payment we sent succeeded.
    PaymentSucceeded {
        /// Its id.
        payment_id: String,
        /// Its hash.
        payment_hash: String,
        /// Fee paid.
        fee_msat: Option<u64>,
    },
    /// A payment we sent failed.
    PaymentFailed {
        /// Its id.
        payment_id: String,
        /// Why.
        reason: String,
    },
    /// We forwarded a payment.
    PaymentForwarded {
        /// Fee earned.
        fee_msat: Option<u64>,
    },
    /// Outputs of closed channels are being swept.
    OutputsSwept {
        /// Outputs tracked.
        outputs: usize,
    },
}

// ----- from the node's typed values -----

fn network_name(n: bitcoin::Network) -> &'static str {
    match n {
        bitcoin::Network::Bitcoin => "bitcoin",
        bitcoin::Network::Testnet | bitcoin::Network::Testnet4 => "testnet",
        bitcoin::Network::Signet => "signet",
        _ => "regtest",
    }
}

impl From<&model::NodeInfo> for NodeInfo {
    fn from(i: &model::NodeInfo) -> Self {
        Self {
            node_id: i.node_id.to_string(),
            network: network_name(i.network).into(),
            alias: i.alias.clone(),
            listen_address: i.listen_address.map(|a| a.to_string()),
            block_height: i.block_height,
            block_hash: i.block_hash.to_string(),
            peers: i.peers,
            channels: i.channels,
            usable_channels: i.usable_channels,
            graph_nodes: i.graph_nodes,
            graph_channels: i.graph_channels,
        }
    }
}

impl From<&model::PeerInfo> for Peer {
    fn from(p: &model::PeerInfo) -> Self {
        Self {
            node_id: p.node_id.to_string(),
            address: p.address.clone(),
            inbound: p.inbound,
        }
    }
}

impl From<&model::ChannelInfo> for Channel {
    fn from(c: &model::ChannelInfo) -> Self {
        Self {
            channel_id: c.channel_id.to_string(),
            counterparty: c.counterparty.to_string(),
            funding_outpoint: c.funding_outpoint.map(|o| o.to_string()),
            short_channel_id: c.short_channel_id.map(scid_string),
            capacity_sat: c.capacity_sat,
            outbound_msat: c.outbound_msat,
            inbound_msat: c.inbound_msat,
            confirmations: c.confirmations,
            ready: c.ready,
            usable: c.usable,
            public: c.public,
            outbound: c.outbound,
            anchors: c.anchors,
        }
    }
}

impl From<&model::PaymentInfo> for Payment {
    fn from(p: &model::PaymentInfo) -> Self {
        Self {
            id: p.id.0.to_lower_hex_string(),
            payment_hash: p.payment_hash.map(|h| h.0.to_lower_hex_string()),
            direction: p.direction.as_str().into(),
            kind: p.kind.as_str().into(),
            status: p.status.as_str().into(),
            amount_msat: p.amount_msat,
            fee_msat: p.fee_msat,
            preimage: p.preimage.map(|h| h.0.to_lower_hex_string()),
            failure: p.failure.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

impl From<&model::WalletBalance> for WalletBalance {
    fn from(b: &model::WalletBalance) -> Self {
        Self {
            confirmed_sat: b.confirmed_sat,
            trusted_pending_sat: b.trusted_pending_sat,
            untrusted_pending_sat: b.untrusted_pending_sat,
            immature_sat: b.immature_sat,
            total_sat: b.total_sat,
        }
    }
}

impl From<&model::NodeEvent> for Event {
    fn from(e: &model::NodeEvent) -> Self {
        use model::NodeEvent as E;
        match e {
            E::ChannelPending {
                channel_id,
                counterparty,
                funding_outpoint,
            } => Self::ChannelPending {
                channel_id: channel_id.to_string(),
                counterparty: counterparty.to_string(),
                funding_outpoint: funding_outpoint.to_string(),
            },
            E::ChannelReady {
                channel_id,
                counterparty,
            } => Self::ChannelReady {
                channel_id: channel_id.to_string(),
                counterparty: counterparty.to_string(),
            },
            E::ChannelClosed {
                channel_id,
                counterparty,
                reason,
            } => Self::ChannelClosed {
                channel_id: channel_id.to_string(),
                counterparty: counterparty.map(|c| c.to_string()),
                reason: reason.clone(),
            },
            E::PaymentReceived {
                payment_hash,
                amount_msat,
            } => Self::PaymentReceived {
                payment_hash: payment_hash.0.to_lower_hex_string(),
                amount_msat: *amount_msat,
            },
            E::PaymentSucceeded {
                payment_id,
                payment_hash,
                fee_msat,
            } => Self::PaymentSucceeded {
                payment_id: payment_id.0.to_lower_hex_string(),
                payment_hash: payment_hash.0.to_lower_hex_string(),
                fee_msat: *fee_msat,
            },
            E::PaymentFailed { payment_id, reason } => Self::PaymentFailed {
                payment_id: payment_id.0.to_lower_hex_string(),
                reason: reason.clone(),
            },
            E::PaymentForwarded { fee_msat } => Self::PaymentForwarded {
                fee_msat: *fee_msat,
            },
            E::OutputsSwept { outputs } => Self::OutputsSwept { outputs: *outputs },
        }
    }
}
