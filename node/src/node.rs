//! [`Node`]: a running lnedge node and everything it can be asked to do.

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bitcoin::hex::{DisplayHex, FromHex};
use bitcoin::secp256k1::PublicKey;
use bitcoin::{Address, Amount, FeeRate, Network, Txid};
use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::channelmanager::{
    Bolt11InvoiceParameters, OptionalBolt11PaymentParams, PaymentId,
};
use lightning::ln::msgs::SocketAddress;
use lightning::ln::types::ChannelId;
use lightning::offers::offer::Offer;
use lightning::sign::{EntropySource, KeysManager};
use lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescription, Description};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::chain::{ChainClient, ChainSync};
use crate::config::NodeConfig;
use crate::devnet::RpcServer;
use crate::error::NodeError;
use crate::ldk::peers::KnownPeers;
use crate::ldk::slots::{CustomMessageSlot, HtlcInterceptor, RawPeerMessage};
use crate::ldk::types::{
    BumpHandler, ChainMonitor, ChannelManager, GossipSync, KvStore, Logger, NetworkGraph,
    OnionMessenger, PeerManager, Scorer, Sweeper,
};
use crate::model::{
    ChannelInfo, InvoiceInfo, NodeEvent, NodeInfo, OfferInfo, PaymentDirection, PaymentInfo,
    PaymentKind, PaymentStatus, PeerInfo, WalletBalance,
};
use crate::payments::PaymentStore;
use crate::wallet::OnchainWallet;

/// The parts of a running node, shared by the API, the event handler and background tasks.
pub(crate) struct NodeInner {
    pub(crate) config: NodeConfig,
    pub(crate) keys: Arc<KeysManager>,
    pub(crate) chain: Arc<ChainClient>,
    pub(crate) wallet: Arc<OnchainWallet>,
    pub(crate) channel_manager: Arc<ChannelManager>,
    pub(crate) chain_monitor: Arc<ChainMonitor>,
    pub(crate) peer_manager: Arc<PeerManager>,
    pub(crate) onion_messenger: Arc<OnionMessenger>,
    pub(crate) gossip: Arc<GossipSync>,
    pub(crate) graph: Arc<NetworkGraph>,
    pub(crate) scorer: Arc<RwLock<Scorer>>,
    pub(crate) sweeper: Arc<Sweeper>,
    pub(crate) bump: Arc<BumpHandler>,
    pub(crate) kv: KvStore,
    pub(crate) logger: Logger,
    pub(crate) custom: Arc<CustomMessageSlot>,
    pub(crate) interceptor: Arc<dyn HtlcInterceptor>,
    pub(crate) payments: PaymentStore,
    pub(crate) known_peers: KnownPeers,
    pub(crate) events: broadcast::Sender<NodeEvent>,
    pub(crate) listen_addr: Option<SocketAddr>,
    pub(crate) stop: watch::Sender<bool>,
    pub(crate) stop_background: watch::Sender<bool>,
    pub(crate) tasks: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) background: Mutex<Option<JoinHandle<Result<(), lightning::io::Error>>>>,
    pub(crate) chain_sync: ChainSync,
    pub(crate) devnet: Mutex<Option<RpcServer>>,
    pub(crate) admin: Mutex<Option<crate::api::AdminApi>>,
}

/// A running node. Cheap to clone; every clone drives the same node.
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<NodeInner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("node_id", &self.node_id())
            .finish_non_exhaustive()
    }
}

/// Parses a node id (33-byte compressed public key in hex).
pub fn parse_node_id(s: &str) -> Result<PublicKey, NodeError> {
    PublicKey::from_str(s.trim())
        .map_err(|e| NodeError::invalid(format!("invalid node id `{s}`: {e}")))
}

/// Parses a channel id (32 bytes in hex).
pub fn parse_channel_id(s: &str) -> Result<ChannelId, NodeError> {
    <[u8; 32]>::from_hex(s.trim())
        .map(ChannelId)
        .map_err(|e| NodeError::invalid(format!("invalid channel id `{s}`: {e}")))
}

/// Parses `pubkey@host:port`.
pub fn parse_peer_uri(s: &str) -> Result<(PublicKey, String), NodeError> {
    let (id, addr) = s.split_once('@').ok_or_else(|| {
        NodeError::invalid(format!(
            "peer `{s}` is not of the form <node id>@<host>:<port>"
        ))
    })?;
    Ok((parse_node_id(id)?, addr.to_string()))
}

fn channel_info(c: &ChannelDetails) -> ChannelInfo {
    ChannelInfo {
        channel_id: c.channel_id.to_string(),
        counterparty: c.counterparty.node_id.to_string(),
        funding_outpoint: c.funding_txo.map(|o| format!("{}:{}", o.txid, o.index)),
        short_channel_id: c.short_channel_id.map(scid_string),
        capacity_sat: c.channel_value_satoshis,
        outbound_msat: c.outbound_capacity_msat,
        inbound_msat: c.inbound_capacity_msat,
        confirmations: c.confirmations,
        ready: c.is_channel_ready,
        usable: c.is_usable,
        public: c.is_announced,
        outbound: c.is_outbound,
        anchors: is_anchor_channel(c),
    }
}

/// Whether the channel is an anchor channel (`option_anchors_zero_fee_htlc_tx`).
fn is_anchor_channel(c: &ChannelDetails) -> bool {
    c.channel_type
        .as_ref()
        .is_some_and(|t| t.supports_anchors_zero_fee_htlc_tx())
}

/// Formats a short channel id as `BLOCKxTXxOUTPUT`.
pub fn scid_string(scid: u64) -> String {
    format!(
        "{}x{}x{}",
        scid >> 40,
        (scid >> 16) & 0xff_ffff,
        scid & 0xffff
    )
}

fn network_name(n: Network) -> &'static str {
    match n {
        Network::Bitcoin => "bitcoin",
        Network::Testnet | Network::Testnet4 => "testnet",
        Network::Signet => "signet",
        _ => "regtest",
    }
}

impl Node {
    /// Our node id.
    pub fn node_id(&self) -> PublicKey {
        self.inner.channel_manager.get_our_node_id()
    }

    /// The P2P listen address actually bound (port 0 resolved).
    pub fn listen_address(&self) -> Option<SocketAddr> {
        self.inner.listen_addr
    }

    /// The admin API's base URL (`http://host:port`), when the node serves it.
    pub fn admin_api_url(&self) -> Option<String> {
        self.inner
            .admin
            .lock()
            .expect("lock")
            .as_ref()
            .map(|a| a.url())
    }

    /// The admin API's bearer token file: `<data dir>/api_token`.
    pub fn admin_token_path(&self) -> std::path::PathBuf {
        self.inner.config.data_dir.join(crate::api::TOKEN_FILE)
    }

    /// The node's configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    /// The node at a glance.
    pub fn info(&self) -> NodeInfo {
        let best = self.inner.channel_manager.current_best_block();
        let channels = self.inner.channel_manager.list_channels();
        NodeInfo {
            node_id: self.node_id().to_string(),
            network: network_name(self.inner.config.network).into(),
            alias: self.inner.config.alias.clone(),
            listen_address: self.inner.listen_addr.map(|a| a.to_string()),
            block_height: best.height,
            block_hash: best.block_hash.to_string(),
            peers: self.inner.peer_manager.list_peers().len(),
            channels: channels.len(),
            usable_channels: channels.iter().filter(|c| c.is_usable).count(),
            graph_nodes: self
                .inner
                .graph
                .read_only()
                .nodes()
                .unordered_iter()
                .filter(|(_, n)| n.announcement_info.is_some())
                .count(),
            graph_channels: self
                .inner
                .graph
                .read_only()
                .channels()
                .unordered_iter()
                .filter(|(_, c)| c.one_to_two.is_some() && c.two_to_one.is_some())
                .count(),
        }
    }

    /// A stream of node events.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.events.subscribe()
    }

    // ----- peers -----

    /// Connects to a peer at `address` (`host:port`) and remembers it for reconnection.
    pub async fn connect_peer(&self, node_id: PublicKey, address: &str) -> Result<(), NodeError> {
        let addr = resolve(address).await?;
        crate::ldk::peers::connect(&self.inner.peer_manager, node_id, addr).await?;
        self.inner.known_peers.remember(node_id, address)?;
        Ok(())
    }

    /// Disconnects a peer and forgets it (no reconnection).
    pub fn disconnect_peer(&self, node_id: PublicKey) -> Result<(), NodeError> {
        if self.inner.peer_manager.peer_by_node_id(&node_id).is_none() {
            return Err(NodeError::NotFound(format!(
                "peer {node_id} is not connected"
            )));
        }
        self.inner.known_peers.forget(&node_id)?;
        self.inner.peer_manager.disconnect_by_node_id(node_id);
        Ok(())
    }

    /// Connected peers.
    pub fn list_peers(&self) -> Vec<PeerInfo> {
        self.inner
            .peer_manager
            .list_peers()
            .into_iter()
            .map(|p| PeerInfo {
                node_id: p.counterparty_node_id.to_string(),
                address: p.socket_address.map(|a| a.to_string()),
                inbound: p.is_inbound_connection,
            })
            .collect()
    }

    /// Sends a custom peer message (the RFQ slot's outgoing side).
    pub fn send_peer_message(
        &self,
        peer: PublicKey,
        message: RawPeerMessage,
    ) -> Result<(), NodeError> {
        if message.type_id < 32768 {
            return Err(NodeError::invalid(format!(
                "message type {} is not in the custom range (32768-65535)",
                message.type_id
            )));
        }
        if self.inner.peer_manager.peer_by_node_id(&peer).is_none() {
            return Err(NodeError::NotFound(format!("peer {peer} is not connected")));
        }
        self.inner.custom.send(peer, message);
        self.inner.peer_manager.process_events();
        Ok(())
    }

    // ----- channels -----

    /// Opens a channel of `amount_sat` to a connected peer, pushing `push_msat` to it; `public`
    /// announces it. Returns the temporary channel id; the wallet funds it when LDK asks.
    pub fn open_channel(
        &self,
        node_id: PublicKey,
        amount_sat: u64,
        push_msat: u64,
        public: bool,
    ) -> Result<String, NodeError> {
        if amount_sat == 0 {
            return Err(NodeError::invalid("channel amount must be positive"));
        }
        if push_msat > amount_sat.saturating_mul(1000) {
            return Err(NodeError::invalid("push amount exceeds the channel amount"));
        }
        if self.inner.peer_manager.peer_by_node_id(&node_id).is_none() {
            return Err(NodeError::NotFound(format!(
                "peer {node_id} is not connected; connect first"
            )));
        }
        self.check_anchor_reserve(amount_sat)?;
        let mut config = crate::ldk::user_config();
        config.channel_handshake_config.announce_for_forwarding = public;
        let user_channel_id = u128::from_be_bytes(
            self.inner.keys.get_secure_random_bytes()[..16]
                .try_into()
                .expect("16 bytes"),
        );
        let id = self
            .inner
            .channel_manager
            .create_channel(
                node_id,
                amount_sat,
                push_msat,
                user_channel_id,
                None,
                Some(config),
            )
            .map_err(|e| NodeError::ldk("open channel", e))?;
        Ok(id.to_string())
    }

    /// Refuses a new (anchor) channel of `amount_sat` that would leave the wallet less than the
    /// anchor reserve for every anchor channel, the new one included.
    fn check_anchor_reserve(&self, amount_sat: u64) -> Result<(), NodeError> {
        let per_channel = self.inner.config.anchor_reserve_sat;
        if per_channel == 0 {
            return Ok(());
        }
        let anchor_channels = self
            .inner
            .channel_manager
            .list_channels()
            .iter()
            .filter(|c| is_anchor_channel(c))
            .count() as u64;
        let reserve = per_channel.saturating_mul(anchor_channels + 1);
        let confirmed = self.inner.wallet.balance().confirmed_sat;
        let left = confirmed.saturating_sub(amount_sat);
        if left < reserve {
            return Err(NodeError::invalid(format!(
                "the wallet would keep {left} sat of confirmed coins, below the anchor reserve of \
                 {reserve} sat ({per_channel} sat per anchor channel, to fee-bump a force close); \
                 open a smaller channel or fund the wallet"
            )));
        }
        Ok(())
    }

    fn find_channel(&self, channel_id: &ChannelId) -> Result<ChannelDetails, NodeError> {
        self.inner
            .channel_manager
            .list_channels()
            .into_iter()
            .find(|c| &c.channel_id == channel_id)
            .ok_or_else(|| NodeError::NotFound(format!("no channel {channel_id}")))
    }

    /// Closes a channel cooperatively (`force = false`, the peer must be online) or by
    /// broadcasting our latest commitment (`force = true`).
    pub fn close_channel(&self, channel_id: &ChannelId, force: bool) -> Result<(), NodeError> {
        let channel = self.find_channel(channel_id)?;
        let peer = channel.counterparty.node_id;
        let result = if force {
            self.inner
                .channel_manager
                .force_close_broadcasting_latest_txn(
                    channel_id,
                    &peer,
                    "closed by the operator".into(),
                )
        } else {
            self.inner.channel_manager.close_channel(channel_id, &peer)
        };
        result.map_err(|e| NodeError::ldk("close channel", e))
    }

    /// Every channel.
    pub fn list_channels(&self) -> Vec<ChannelInfo> {
        self.inner
            .channel_manager
            .list_channels()
            .iter()
            .map(channel_info)
            .collect()
    }

    // ----- BOLT 11 -----

    /// Creates a BOLT 11 invoice (`amount_msat = None`: any amount).
    pub fn create_invoice(
        &self,
        amount_msat: Option<u64>,
        description: &str,
        expiry_secs: u32,
    ) -> Result<InvoiceInfo, NodeError> {
        if amount_msat == Some(0) {
            return Err(NodeError::invalid(
                "invoice amount must be positive (or omitted)",
            ));
        }
        let description = Description::new(description.to_string())
            .map_err(|e| NodeError::invalid(format!("invalid description: {e}")))?;
        let params = Bolt11InvoiceParameters {
            amount_msats: amount_msat,
            description: Bolt11InvoiceDescription::Direct(description),
            invoice_expiry_delta_secs: Some(expiry_secs),
            ..Default::default()
        };
        let invoice = self
            .inner
            .channel_manager
            .create_bolt11_invoice(params)
            .map_err(|e| NodeError::ldk("create invoice", e))?;
        let hash = invoice.payment_hash().0.to_lower_hex_string();
        self.inner.payments.insert(&PaymentStore::new_record(
            hash.clone(),
            Some(hash.clone()),
            PaymentDirection::Inbound,
            PaymentKind::Bolt11,
            PaymentStatus::Pending,
            amount_msat,
        ))?;
        Ok(InvoiceInfo {
            invoice: invoice.to_string(),
            payment_hash: hash,
            expiry_secs: invoice.expiry_time().as_secs(),
        })
    }

    /// Pays a BOLT 11 invoice (`amount_msat` only for amount-less invoices). Returns the
    /// payment id; follow it with [`Node::wait_payment`] or the event stream.
    pub fn pay_invoice(
        &self,
        invoice: &str,
        amount_msat: Option<u64>,
    ) -> Result<String, NodeError> {
        let invoice = Bolt11Invoice::from_str(invoice.trim())
            .map_err(|e| NodeError::invalid(format!("invalid BOLT 11 invoice: {e}")))?;
        if invoice.network() != self.inner.config.network {
            return Err(NodeError::invalid(format!(
                "invoice is for {}, this node runs on {}",
                invoice.network(),
                self.inner.config.network
            )));
        }
        match (invoice.amount_milli_satoshis(), amount_msat) {
            (None, None) => {
                return Err(NodeError::invalid(
                    "invoice has no amount; give amount_msat",
                ))
            }
            (_, Some(0)) => return Err(NodeError::invalid("amount_msat must be positive")),
            _ => {}
        }
        let hash = invoice.payment_hash().0;
        let id = PaymentId(hash);
        let amount = amount_msat.or(invoice.amount_milli_satoshis());
        let id_hex = hash.to_lower_hex_string();
        if let Some(existing) = self.inner.payments.get(&id_hex)? {
            if existing.direction == PaymentDirection::Outbound
                && existing.status != PaymentStatus::Failed
            {
                return Err(NodeError::invalid(format!(
                    "invoice {id_hex} is already being paid or paid"
                )));
            }
        }
        self.inner.payments.insert(&PaymentStore::new_record(
            id_hex.clone(),
            Some(id_hex.clone()),
            PaymentDirection::Outbound,
            PaymentKind::Bolt11,
            PaymentStatus::Pending,
            amount,
        ))?;
        let params = OptionalBolt11PaymentParams::default();
        if let Err(e) =
            self.inner
                .channel_manager
                .pay_for_bolt11_invoice(&invoice, id, amount_msat, params)
        {
            let reason = format!("{e:?}");
            self.inner.payments.failed(&id_hex, &reason)?;
            return Err(NodeError::Lightning(format!(
                "cannot pay invoice: {reason}"
            )));
        }
        Ok(id_hex)
    }

    // ----- BOLT 12 -----

    /// Creates a BOLT 12 offer (`amount_msat = None`: any amount).
    pub fn create_offer(
        &self,
        amount_msat: Option<u64>,
        description: &str,
    ) -> Result<OfferInfo, NodeError> {
        if amount_msat == Some(0) {
            return Err(NodeError::invalid(
                "offer amount must be positive (or omitted)",
            ));
        }
        let mut builder = self
            .inner
            .channel_manager
            .create_offer_builder()
            .map_err(|e| NodeError::ldk("create offer", e))?
            .description(description.to_string());
        if let Some(amount) = amount_msat {
            builder = builder.amount_msats(amount);
        }
        let offer = builder
            .build()
            .map_err(|e| NodeError::ldk("create offer", e))?;
        Ok(OfferInfo {
            offer: offer.to_string(),
            offer_id: offer.id().0.to_lower_hex_string(),
        })
    }

    /// Pays a BOLT 12 offer (`amount_msat` required for amount-less offers). Returns the
    /// payment id.
    pub fn pay_offer(&self, offer: &str, amount_msat: Option<u64>) -> Result<String, NodeError> {
        let offer = Offer::from_str(offer.trim())
            .map_err(|e| NodeError::invalid(format!("invalid BOLT 12 offer: {e:?}")))?;
        if amount_msat == Some(0) {
            return Err(NodeError::invalid("amount_msat must be positive"));
        }
        let id = PaymentId(self.inner.keys.get_secure_random_bytes());
        let id_hex = id.0.to_lower_hex_string();
        let amount = amount_msat.or(match offer.amount() {
            Some(lightning::offers::offer::Amount::Bitcoin { amount_msats }) => Some(amount_msats),
            _ => None,
        });
        self.inner.payments.insert(&PaymentStore::new_record(
            id_hex.clone(),
            None,
            PaymentDirection::Outbound,
            PaymentKind::Bolt12,
            PaymentStatus::Pending,
            amount,
        ))?;
        if let Err(e) =
            self.inner
                .channel_manager
                .pay_for_offer(&offer, amount_msat, id, Default::default())
        {
            let reason = format!("{e:?}");
            self.inner.payments.failed(&id_hex, &reason)?;
            return Err(NodeError::invalid(format!("cannot pay offer: {reason}")));
        }
        Ok(id_hex)
    }

    // ----- payments -----

    /// Every payment, newest first.
    pub fn list_payments(&self) -> Result<Vec<PaymentInfo>, NodeError> {
        Ok(self.inner.payments.list()?)
    }

    /// One payment.
    pub fn payment(&self, id: &str) -> Result<PaymentInfo, NodeError> {
        self.inner
            .payments
            .get(id)?
            .ok_or_else(|| NodeError::NotFound(format!("no payment {id}")))
    }

    /// Waits until payment `id` is no longer pending, or `timeout`.
    pub async fn wait_payment(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<PaymentInfo, NodeError> {
        let mut events = self.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let p = self.payment(id)?;
            if p.status != PaymentStatus::Pending {
                return Ok(p);
            }
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Err(_) => return Err(NodeError::Timeout(format!("payment {id} still pending"))),
                Ok(Err(broadcast::error::RecvError::Closed)) => {
                    return Err(NodeError::Timeout("node stopped".into()))
                }
                Ok(_) => {}
            }
        }
    }

    // ----- wallet -----

    /// A new wallet address.
    pub fn wallet_address(&self) -> Result<Address, NodeError> {
        Ok(self.inner.wallet.new_address()?)
    }

    /// Wallet balances.
    pub fn wallet_balance(&self) -> WalletBalance {
        self.inner.wallet.balance()
    }

    /// Sends on chain: `amount = None` sends everything. Returns the txid.
    pub async fn wallet_send(
        &self,
        address: &str,
        amount: Option<Amount>,
        fee_rate: Option<FeeRate>,
    ) -> Result<Txid, NodeError> {
        let address = Address::from_str(address.trim())
            .map_err(|e| NodeError::invalid(format!("invalid address `{address}`: {e}")))?
            .require_network(self.inner.config.network)
            .map_err(|_| {
                NodeError::invalid(format!("address is not for {}", self.inner.config.network))
            })?;
        if amount == Some(Amount::ZERO) {
            return Err(NodeError::invalid(
                "amount must be positive (or omitted to send all)",
            ));
        }
        let tx = self
            .inner
            .wallet
            .send(&address, amount, fee_rate)
            .await
            .map_err(|e| match e {
                crate::wallet::WalletError::Build(m) => NodeError::invalid(m),
                other => other.into(),
            })?;
        Ok(tx.compute_txid())
    }

    /// Signs the wallet's inputs of a PSBT (e.g. a payjoin proposal or a co-funded
    /// transaction); returns whether every input is now finalized.
    pub fn wallet_sign_psbt(&self, psbt: &mut bitcoin::Psbt) -> Result<bool, NodeError> {
        Ok(self.inner.wallet.sign_psbt(psbt)?)
    }

    // ----- chain -----

    /// Polls the chain backend now and returns the height the node has processed.
    pub async fn sync_chain(&self) -> u32 {
        self.inner.chain_sync.sync_now().await
    }

    /// The chain client (fee estimates, broadcasts).
    pub fn chain_client(&self) -> &Arc<ChainClient> {
        &self.inner.chain
    }

    /// The RPC URL of the embedded devnet, when the node runs one.
    pub fn devnet_rpc(&self) -> Option<(String, String)> {
        self.inner
            .devnet
            .lock()
            .expect("lock")
            .as_ref()
            .map(|s| (s.url(), s.credentials_base64()))
    }

    /// Outputs of closed channels not yet swept into the wallet by a confirmed transaction.
    pub fn pending_sweeps(&self) -> usize {
        crate::ldk::unswept_outputs(&self.inner.sweeper)
    }

    // ----- lifecycle -----

    /// Stops the node: no new connections or blocks, peers disconnected, then the background
    /// processor persists the channel manager, graph and scorer on its way out. Idempotent.
    pub async fn stop(&self) {
        let admin = self.inner.admin.lock().expect("lock").take();
        if let Some(api) = admin {
            api.shutdown().await;
        }
        self.inner.stop.send_replace(true);
        self.inner.chain_sync.join().await;
        let tasks: Vec<_> = std::mem::take(&mut *self.inner.tasks.lock().expect("lock"));
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
        self.inner.peer_manager.disconnect_all_peers();
        self.inner.stop_background.send_replace(true);
        let background = self.inner.background.lock().expect("lock").take();
        if let Some(bp) = background {
            match bp.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!("background processor stopped with error: {e}"),
                Err(e) => tracing::error!("background processor panicked: {e}"),
            }
        }
        let devnet = self.inner.devnet.lock().expect("lock").take();
        if let Some(server) = devnet {
            server.shutdown().await;
        }
    }
}

async fn resolve(address: &str) -> Result<SocketAddr, NodeError> {
    let mut addrs = tokio::net::lookup_host(address.trim())
        .await
        .map_err(|e| NodeError::invalid(format!("invalid address `{address}`: {e}")))?;
    addrs
        .next()
        .ok_or_else(|| NodeError::invalid(format!("address `{address}` resolves to nothing")))
}

impl NodeInner {
    /// Broadcasts our node announcement (alias, listen address) when we have a ready public
    /// channel; peers only accept it then, and BOLT 12 payers need it to route onion messages.
    pub(crate) fn announce(&self) {
        let Some(addr) = self.listen_addr else { return };
        if !self
            .channel_manager
            .list_channels()
            .iter()
            .any(|c| c.is_announced && c.is_channel_ready)
        {
            return;
        }
        let mut alias = [0u8; 32];
        let bytes = self.config.alias.as_bytes();
        let n = bytes.len().min(32);
        alias[..n].copy_from_slice(&bytes[..n]);
        let address = match addr {
            SocketAddr::V4(a) => SocketAddress::TcpIpV4 {
                addr: a.ip().octets(),
                port: a.port(),
            },
            SocketAddr::V6(a) => SocketAddress::TcpIpV6 {
                addr: a.ip().octets(),
                port: a.port(),
            },
        };
        self.peer_manager
            .broadcast_node_announcement([0; 3], alias, vec![address]);
    }
}
