//! The concrete LDK types of the node: every generic parameter chosen once, here.

use std::sync::{Arc, RwLock};

use lightning::chain::chainmonitor;
use lightning::chain::Filter;
use lightning::events::bump_transaction::sync::BumpTransactionEventHandlerSync;
use lightning::ln::peer_handler::IgnoringMessageHandler;
use lightning::onion_message::messenger::OnionMessenger as LdkOnionMessenger;
use lightning::routing::gossip::{NetworkGraph as LdkNetworkGraph, P2PGossipSync};
use lightning::routing::router::DefaultRouter;
use lightning::routing::scoring::{ProbabilisticScorer, ProbabilisticScoringFeeParameters};
use lightning::routing::utxo::UtxoLookup;
use lightning::sign::{InMemorySigner, KeysManager};
use lightning::util::sweep::OutputSweeperSync;
use lightning::util::wallet_utils::WalletSync;
use lightning_net_tokio::SocketDescriptor;

use crate::chain::ChainClient;
use crate::ldk::custom_messages::CustomMessageSlot;
use crate::ldk::keys::NodeKeys;
use crate::ldk::logger::TracingLogger;
use crate::ldk::message_router::ReachableMessageRouter;
use crate::ldk::persist::{MonitorPersister, NodeStore};
use crate::wallet::OnchainWallet;

/// LDK's logger, bridged into `tracing`.
pub type Logger = Arc<TracingLogger>;
/// LDK's key-value store: lightning-persister's filesystem store, with the channel manager's
/// writes ordered ([`NodeStore`]).
pub type KvStore = Arc<NodeStore>;
/// The network graph, filled by P2P gossip.
pub type NetworkGraph = LdkNetworkGraph<Logger>;
/// The probabilistic scorer over the graph.
pub type Scorer = ProbabilisticScorer<Arc<NetworkGraph>, Logger>;
/// The payment router.
pub type Router = DefaultRouter<
    Arc<NetworkGraph>,
    Logger,
    Arc<KeysManager>,
    Arc<RwLock<Scorer>>,
    ProbabilisticScoringFeeParameters,
    Scorer,
>;
/// The onion-message router (blinded paths for offers): LDK's, except that a node nobody can
/// connect to blinds its paths through its channel peers ([`ReachableMessageRouter`]).
pub type MessageRouter = ReachableMessageRouter;
/// The chain monitor (no [`Filter`]: the node reads whole blocks; monitors written after the
/// manager that knows of them, by [`MonitorPersister`]).
pub type ChainMonitor = chainmonitor::ChainMonitor<
    InMemorySigner,
    Arc<dyn Filter + Send + Sync>,
    Arc<ChainClient>,
    Arc<ChainClient>,
    Logger,
    Arc<MonitorPersister>,
    Arc<KeysManager>,
>;
/// The channel manager (channel keys from `KeysManager`, closing scripts from the wallet).
pub type ChannelManager = lightning::ln::channelmanager::ChannelManager<
    Arc<ChainMonitor>,
    Arc<ChainClient>,
    Arc<KeysManager>,
    Arc<KeysManager>,
    Arc<NodeKeys>,
    Arc<ChainClient>,
    Arc<Router>,
    Arc<MessageRouter>,
    Logger,
>;
/// The onion messenger (offers, async payments; offline-peer interception on).
pub type OnionMessenger = LdkOnionMessenger<
    Arc<KeysManager>,
    Arc<KeysManager>,
    Logger,
    Arc<ChannelManager>,
    Arc<MessageRouter>,
    Arc<ChannelManager>,
    Arc<ChannelManager>,
    IgnoringMessageHandler,
    IgnoringMessageHandler,
>;
/// P2P gossip (no UTXO lookup: announcements are not checked against the chain).
pub type GossipSync = P2PGossipSync<Arc<NetworkGraph>, Arc<dyn UtxoLookup + Send + Sync>, Logger>;
/// The peer manager (Noise transport over lightning-net-tokio).
pub type PeerManager = lightning::ln::peer_handler::PeerManager<
    SocketDescriptor,
    Arc<ChannelManager>,
    Arc<GossipSync>,
    Arc<OnionMessenger>,
    Logger,
    Arc<CustomMessageSlot>,
    Arc<KeysManager>,
    Arc<ChainMonitor>,
>;
/// The output sweeper: claims outputs of closed channels into the wallet.
pub type Sweeper = OutputSweeperSync<
    Arc<ChainClient>,
    Arc<OnchainWallet>,
    Arc<ChainClient>,
    Arc<dyn Filter + Send + Sync>,
    KvStore,
    Logger,
    Arc<KeysManager>,
>;
/// Fee bumping for anchor channels: LDK's handler with the wallet as its coin source.
pub type BumpHandler = BumpTransactionEventHandlerSync<
    Arc<ChainClient>,
    Arc<WalletSync<Arc<OnchainWallet>, Logger>>,
    Arc<NodeKeys>,
    Logger,
>;
