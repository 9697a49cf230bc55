//! [`NodeBuilder`]: composes a [`Node`] from a [`NodeConfig`] and [`Feature`]s.
//!
//! `build` constructs: seed, chain client, LDK objects (read back from the KV store on restart),
//! wallet, every listener caught up with the chain, the features' hooks, the P2P listener bound.
//! [`Node::start`] spawns: block sync, peers, the background processor, the admin API.

mod chain_source;
mod ldk_state;
mod restart;

pub use restart::UNKNOWN_AFTER_RESTART;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use bitcoin::Network;
use lightning::chain::{BlockLocator, Listen};
use lightning::ln::peer_handler::{IgnoringMessageHandler, MessageHandler};
use lightning::routing::gossip::P2PGossipSync;
use lightning::routing::router::DefaultRouter;
use lightning::routing::scoring::ProbabilisticScoringFeeParameters;
use lightning::routing::utxo::UtxoLookup;
use lightning::sign::{EntropySource, KeysManager, NodeSigner};
use lightning::util::persist::read_channel_monitors;
use lightning::util::wallet_utils::WalletSync;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};

use crate::chain::sync::ChainListeners;
use crate::chain::ChainSync;
use crate::channels::Channels;
use crate::config::{
    ChainSource, InboundChannelPolicy, NodeConfig, PersistenceOrder, RpcCredentials,
};
use crate::error::{BuildError, NodeError};
use crate::events::EventHandler;
use crate::feature::{Feature, FeatureContext, Installed};
use crate::hooks::events::EventChain;
use crate::hooks::htlc_interception::HtlcInterceptor;
use crate::hooks::peer_messages::{PeerMessageHandler, PeerMessageSender};
use crate::ldk::announce::Announcer;
use crate::ldk::interception::InterceptionService;
use crate::ldk::keys::NodeKeys;
use crate::ldk::logger::TracingLogger;
use crate::ldk::peers::KnownPeers;
use crate::ldk::persist::{MonitorPersister, NodeStore};
use crate::ldk::types::{BumpHandler, ChainMonitor, GossipSync, MessageRouter, OnionMessenger};
use crate::ldk::types::{PeerManager, Router};
use crate::node::{LdkParts, Node, NodeInner, StartParts};
use crate::payment::store::PaymentStore;
use crate::payment::{Bolt11Payments, Bolt12Payments, Payments, SpontaneousPayments};
use crate::peers::Peers;
use crate::seed;
use crate::wallet::{OnchainWallet, Wallet};

/// Builds a [`Node`] from a [`NodeConfig`] plus [`Feature`]s.
pub struct NodeBuilder {
    config: NodeConfig,
    features: Vec<Box<dyn Feature>>,
}

impl std::fmt::Debug for NodeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeBuilder")
            .field("config", &self.config)
            .field("features", &self.features.len())
            .finish()
    }
}

impl NodeBuilder {
    /// A builder for a node keeping its state in `data_dir` (defaults of [`NodeConfig::new`]).
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self::from_config(NodeConfig::new(data_dir))
    }

    /// A builder from a complete configuration.
    pub fn from_config(config: NodeConfig) -> Self {
        Self {
            config,
            features: Vec::new(),
        }
    }

    /// Bitcoin network.
    pub fn network(mut self, network: Network) -> Self {
        self.config.network = network;
        self
    }

    /// Node alias.
    pub fn alias(mut self, alias: impl Into<String>) -> Self {
        self.config.alias = alias.into();
        self
    }

    /// P2P listen address.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.config.listen = Some(addr);
        self
    }

    /// Follow a Bitcoin Core (or devnet) RPC server with user and password.
    pub fn bitcoind_rpc(
        mut self,
        url: impl Into<String>,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.config.chain = ChainSource::BitcoindRpc {
            url: url.into(),
            auth: RpcCredentials::UserPass {
                user: user.into(),
                password: password.into(),
            },
        };
        self
    }

    /// Follow a Bitcoin Core (or devnet) RPC server authenticating with its cookie file.
    pub fn bitcoind_rpc_cookie(
        mut self,
        url: impl Into<String>,
        cookie: impl Into<PathBuf>,
    ) -> Self {
        self.config.chain = ChainSource::BitcoindRpc {
            url: url.into(),
            auth: RpcCredentials::CookieFile(cookie.into()),
        };
        self
    }

    /// Run an embedded devnet inside the node (feature `devnet`).
    #[cfg(feature = "devnet")]
    pub fn embedded_devnet(mut self) -> Self {
        self.config.chain = ChainSource::EmbeddedDevnet;
        self
    }

    /// Serve the admin HTTP API on `addr` (token in `<data dir>/api_token`, created at first
    /// start with mode 0600).
    pub fn admin_api(mut self, addr: SocketAddr) -> Self {
        self.config.admin_api = Some(addr);
        self
    }

    /// Inbound channel policy.
    pub fn inbound_channels(mut self, policy: InboundChannelPolicy) -> Self {
        self.config.inbound_channels = policy;
        self
    }

    /// How often to poll for blocks.
    pub fn chain_poll_interval(mut self, every: Duration) -> Self {
        self.config.chain_poll_interval = every;
        self
    }

    /// How often to refresh fees, rebroadcast, reconnect peers and re-announce the node.
    pub fn maintenance_interval(mut self, every: Duration) -> Self {
        self.config.maintenance_interval = every;
        self
    }

    /// Confirmed coins kept back per anchor channel (see [`NodeConfig::anchor_reserve_sat`]).
    pub fn anchor_reserve_sat(mut self, sat: u64) -> Self {
        self.config.anchor_reserve_sat = sat;
        self
    }

    /// Process HTLCs without LDK's random batching delay (see
    /// [`NodeConfig::immediate_htlc_processing`]).
    pub fn immediate_htlc_processing(mut self, on: bool) -> Self {
        self.config.immediate_htlc_processing = on;
        self
    }

    /// The order channel manager and monitor writes take (see
    /// [`NodeConfig::persistence_order`]).
    pub fn persistence_order(mut self, order: PersistenceOrder) -> Self {
        self.config.persistence_order = order;
        self
    }

    /// Rebuild a missing or empty wallet database from the seed, rescanning from block
    /// `height` (see [`NodeConfig::restore_wallet_from_height`]).
    pub fn restore_wallet_from_height(mut self, height: u32) -> Self {
        self.config.restore_wallet_from_height = Some(height);
        self
    }

    /// Adds a feature: a library's adapter (or any `FnOnce(&mut FeatureContext)`), installed
    /// by `build` in the order added.
    pub fn with_feature(mut self, feature: impl Feature) -> Self {
        self.features.push(Box::new(feature));
        self
    }

    /// Adds a custom peer message handler made with its own outbound queue (a one-line
    /// [`Feature`]).
    pub fn peer_message_handler(
        self,
        make: impl FnOnce(PeerMessageSender) -> Arc<dyn PeerMessageHandler> + Send + 'static,
    ) -> Self {
        self.with_feature(move |ctx: &mut FeatureContext<'_>| {
            ctx.add_peer_message_handler(make).map(|_| ())
        })
    }

    /// How long the HTLC interceptor may take per HTLC before it is failed back (see
    /// [`NodeConfig::htlc_decision_timeout`]).
    pub fn htlc_decision_timeout(mut self, timeout: Duration) -> Self {
        self.config.htlc_decision_timeout = timeout;
        self
    }

    /// Installs an HTLC interception hook (a one-line [`Feature`]).
    pub fn htlc_interceptor(self, hook: Arc<dyn HtlcInterceptor>) -> Self {
        self.with_feature(move |ctx: &mut FeatureContext<'_>| ctx.set_htlc_interceptor(hook))
    }

    /// Builds and starts the node (`build` then [`Node::start`]). Must be called inside a
    /// multi-threaded tokio runtime.
    pub async fn start(self) -> Result<Node, NodeError> {
        let node = self.build().await?;
        node.start().await?;
        Ok(node)
    }

    /// Constructs the node without starting it. Must be called inside a multi-threaded tokio
    /// runtime.
    pub async fn build(self) -> Result<Node, BuildError> {
        build(self).await
    }
}

async fn build(builder: NodeBuilder) -> Result<Node, BuildError> {
    let NodeBuilder {
        config,
        mut features,
    } = builder;
    if let Some(addr) = config.admin_api {
        features.push(Box::new(crate::api::feature(addr)));
    }
    let network = config.network;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| BuildError::io(format!("creating {}", config.data_dir.display()), e))?;
    // One node per data dir: locked before anything in it is opened, until `Node::stop`.
    let data_dir_lock = lnedge_storage::dir_lock::DirLock::acquire(&config.data_dir)?;
    let seed = seed::load_or_create(&config.data_dir.join("seed"))?;
    let logger = Arc::new(TracingLogger {
        label: config.alias.clone(),
    });
    // LDK's state (channel monitors, the channel manager) is its owner's only, like the seed.
    let ldk_dir = config.data_dir.join("ldk");
    crate::private_fs::dir(&ldk_dir)
        .map_err(|e| BuildError::io(format!("creating {}", ldk_dir.display()), e))?;
    let kv = Arc::new(NodeStore::new(ldk_dir));
    let persister = Arc::new(
        MonitorPersister::new(Arc::clone(&kv), config.persistence_order)
            .map_err(|e| BuildError::io("starting the channel persistence thread", e))?,
    );

    let (chain, devnet) = chain_source::connect(&config).await?;
    chain.refresh_fees().await?;
    let tip = chain_source::tip(&chain).await?;

    let started = lnedge_storage::clock::since_epoch();
    let keys = Arc::new(KeysManager::new(
        &seed,
        started.as_secs(),
        started.subsec_nanos(),
        true,
    ));

    let graph = ldk_state::network_graph(&kv, network, &logger)?;
    let scorer = Arc::new(RwLock::new(ldk_state::scorer(&kv, &graph, &logger)?));
    let router: Arc<Router> = Arc::new(DefaultRouter::new(
        Arc::clone(&graph),
        Arc::clone(&logger),
        Arc::clone(&keys),
        Arc::clone(&scorer),
        ProbabilisticScoringFeeParameters::default(),
    ));
    let message_router = Arc::new(MessageRouter::new(Arc::clone(&graph), Arc::clone(&keys)));

    let chain_monitor: Arc<ChainMonitor> = Arc::new(ChainMonitor::new(
        None,
        Arc::clone(&chain),
        Arc::clone(&logger),
        Arc::clone(&chain),
        Arc::clone(&persister),
        Arc::clone(&keys),
        keys.get_peer_storage_key(),
        false,
    ));
    let mut monitors = read_channel_monitors(Arc::clone(&kv), Arc::clone(&keys), Arc::clone(&keys))
        .map_err(|e| BuildError::io("reading channel monitors", e))?;

    // Refuse what would lose money silently; a restored wallet is born at the given height.
    let birthday = restart::check_before_wallet(&config, &kv, monitors.len(), &chain, tip).await?;
    let wallet = Arc::new(OnchainWallet::open(
        &config.data_dir.join("wallet.sqlite"),
        &seed,
        network,
        birthday,
        Arc::clone(&chain),
    )?);
    // Closing scripts pay the wallet directly.
    let signer = Arc::new(NodeKeys::new(Arc::clone(&keys), Arc::clone(&wallet)));

    let mut user_config = crate::ldk::user_config();
    for feature in &features {
        feature.configure(&mut user_config);
    }
    let (manager_best, channel_manager) = ldk_state::channel_manager(
        &ldk_state::ManagerParts {
            kv: &kv,
            keys: &keys,
            signer: &signer,
            chain: &chain,
            chain_monitor: &chain_monitor,
            router: &router,
            message_router: &message_router,
            logger: &logger,
        },
        &monitors,
        user_config,
        network,
        tip,
        started,
    )?;
    persister.set_chain_monitor(&chain_monitor);
    kv.set_manager(&channel_manager);
    let sweeper = ldk_state::sweeper(&kv, &chain, &keys, &wallet, &logger, tip)?;

    // Catch every listener up with the chain, then hand the monitors to the chain monitor.
    let caught_up = {
        let monitor_listeners: Vec<_> = monitors
            .drain(..)
            .map(|(best, monitor)| {
                (
                    best,
                    (
                        monitor,
                        Arc::clone(&chain),
                        Arc::clone(&chain),
                        Arc::clone(&logger),
                    ),
                )
            })
            .collect();
        let mut listeners: Vec<(BlockLocator, &(dyn Listen + Send + Sync))> = Vec::new();
        for (best, listener) in &monitor_listeners {
            listeners.push((*best, listener as &(dyn Listen + Send + Sync)));
        }
        listeners.push((
            manager_best,
            &*channel_manager as &(dyn Listen + Send + Sync),
        ));
        listeners.push((
            sweeper.current_best_block(),
            &*sweeper as &(dyn Listen + Send + Sync),
        ));
        listeners.push((wallet.best_block(), &*wallet as &(dyn Listen + Send + Sync)));
        let caught_up = ChainSync::catch_up(&chain, network, listeners).await?;
        for (_, (monitor, ..)) in monitor_listeners {
            let channel_id = monitor.channel_id();
            // Monitors written by LDK 0.1 or later load without being written again.
            chain_monitor
                .load_existing_monitor(channel_id, monitor)
                .map_err(|_| BuildError::WatchChannel(channel_id))?;
        }
        caught_up
    };

    let onion_messenger: Arc<OnionMessenger> =
        Arc::new(OnionMessenger::new_with_offline_peer_interception(
            Arc::clone(&keys),
            Arc::clone(&keys),
            Arc::clone(&logger),
            Arc::clone(&channel_manager),
            Arc::clone(&message_router),
            Arc::clone(&channel_manager),
            Arc::clone(&channel_manager),
            IgnoringMessageHandler {},
            IgnoringMessageHandler {},
            false,
        ));

    // Features install their hooks now that the LDK objects exist.
    let mut installed = Installed::default();
    let node_messages = installed.peer_messages.new_sender();
    for feature in features {
        feature.install(&mut FeatureContext {
            config: &config,
            channel_manager: &channel_manager,
            onion_messenger: &onion_messenger,
            wallet: &wallet,
            chain: &chain,
            kv: &kv,
            installed: &mut installed,
        })?;
    }
    let Installed {
        events: feature_events,
        peer_messages,
        interceptor,
        start_tasks,
        extensions,
        startup,
    } = installed;
    let interception = match interceptor {
        Some(hook) => Some(Arc::new(
            InterceptionService::new(
                hook,
                Arc::clone(&channel_manager),
                Arc::clone(&kv),
                config.htlc_decision_timeout,
            )
            .map_err(|e| BuildError::io("reading forwarded circuits", e))?,
        )),
        None => None,
    };
    let mut event_chain = EventChain::default();
    if let Some(service) = &interception {
        event_chain.push(Arc::clone(service) as _);
    }
    event_chain.append(feature_events);

    let gossip: Arc<GossipSync> = Arc::new(P2PGossipSync::new(
        Arc::clone(&graph),
        None::<Arc<dyn UtxoLookup + Send + Sync>>,
        Arc::clone(&logger),
    ));
    let (custom, dispatcher) = peer_messages.into_slot();
    let peer_manager: Arc<PeerManager> = Arc::new(PeerManager::new(
        MessageHandler {
            chan_handler: Arc::clone(&channel_manager),
            route_handler: Arc::clone(&gossip),
            onion_message_handler: Arc::clone(&onion_messenger),
            custom_message_handler: Arc::new(custom),
            send_only_message_handler: Arc::clone(&chain_monitor),
        },
        started.as_secs() as u32,
        &keys.get_secure_random_bytes(),
        Arc::clone(&logger),
        Arc::clone(&keys),
    ));

    let listener = match config.listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|e| BuildError::io(format!("listening on {addr}"), e))?,
        ),
        None => None,
    };
    let listen_addr = match &listener {
        Some(l) => Some(
            l.local_addr()
                .map_err(|e| BuildError::io("listener address", e))?,
        ),
        None => None,
    };

    let payments_store = Arc::new(PaymentStore::open(
        &config.data_dir.join("payments.sqlite"),
    )?);
    restart::reconcile_payments(&payments_store, &channel_manager)?;
    let (events, _) = broadcast::channel(1024);

    // Anchor channels: fee bumps paid from confirmed wallet coins.
    let bump = Arc::new(BumpHandler::new(
        Arc::clone(&chain),
        Arc::new(WalletSync::new(Arc::clone(&wallet), Arc::clone(&logger))),
        Arc::clone(&signer),
        Arc::clone(&logger),
    ));
    let announcer = Announcer {
        channel_manager: Arc::clone(&channel_manager),
        peer_manager: Arc::clone(&peer_manager),
        alias: config.alias.clone(),
        listen_addr,
    };
    let event_handler = Arc::new(EventHandler {
        chain: event_chain,
        channel_manager: Arc::clone(&channel_manager),
        peer_manager: Arc::clone(&peer_manager),
        keys: Arc::clone(&keys),
        wallet: Arc::clone(&wallet),
        sweeper: Arc::clone(&sweeper),
        bump,
        payments: Arc::clone(&payments_store),
        inbound_channels: config.inbound_channels.clone(),
        announcer: announcer.clone(),
        events: events.clone(),
    });

    // Blocks: one listener fanning out to everything that follows the chain.
    let chain_listeners = Arc::new(ChainListeners {
        listeners: vec![
            (
                "chain monitor",
                Arc::clone(&chain_monitor) as Arc<dyn Listen + Send + Sync>,
            ),
            (
                "channel manager",
                Arc::clone(&channel_manager) as Arc<dyn Listen + Send + Sync>,
            ),
            (
                "sweeper",
                Arc::clone(&sweeper) as Arc<dyn Listen + Send + Sync>,
            ),
            (
                "wallet",
                Arc::clone(&wallet) as Arc<dyn Listen + Send + Sync>,
            ),
        ],
        client: Arc::clone(&chain),
        after_block: Some(Box::new({
            // Sweep matured outputs of closed channels as soon as a block makes them spendable
            // (the background processor's own sweep timer runs every 30 s).
            let sweeper = Arc::clone(&sweeper);
            move || {
                if crate::ldk::unswept_outputs(&sweeper) > 0 {
                    let _ = sweeper.regenerate_and_broadcast_spend_if_necessary();
                }
            }
        })),
    });

    let (stop, _) = watch::channel(false);
    let (stop_background, _) = watch::channel(false);
    let inner = NodeInner {
        peers: Peers {
            peer_manager: Arc::clone(&peer_manager),
            known: Arc::new(KnownPeers::load(Arc::clone(&kv))),
            messages: node_messages,
        },
        channels: Channels {
            channel_manager: Arc::clone(&channel_manager),
            peer_manager: Arc::clone(&peer_manager),
            wallet: Arc::clone(&wallet),
            keys: Arc::clone(&keys),
            anchor_reserve_sat: config.anchor_reserve_sat,
        },
        bolt11: Bolt11Payments {
            channel_manager: Arc::clone(&channel_manager),
            store: Arc::clone(&payments_store),
            network,
        },
        bolt12: Bolt12Payments {
            channel_manager: Arc::clone(&channel_manager),
            store: Arc::clone(&payments_store),
            keys: Arc::clone(&keys),
        },
        spontaneous: SpontaneousPayments {
            channel_manager: Arc::clone(&channel_manager),
            store: Arc::clone(&payments_store),
            keys: Arc::clone(&keys),
        },
        payments: Payments {
            store: payments_store,
            events: events.clone(),
        },
        wallet: Wallet { wallet, network },
        ldk: LdkParts {
            channel_manager,
            chain_monitor,
            peer_manager,
            onion_messenger,
            gossip,
            graph,
            scorer,
            sweeper,
            kv,
            persister,
            logger,
        },
        chain,
        chain_sync: OnceLock::new(),
        announcer,
        events,
        extensions,
        listen_addr,
        pending: Mutex::new(Some(StartParts {
            listener,
            caught_up,
            chain_listeners,
            event_handler,
            dispatcher,
            interception,
            start_tasks,
            startup,
        })),
        stop,
        stop_background,
        tasks: Mutex::new(Vec::new()),
        background: Mutex::new(None),
        #[cfg(feature = "devnet")]
        devnet: Mutex::new(devnet),
        data_dir_lock: Mutex::new(Some(data_dir_lock)),
        config,
    };
    #[cfg(not(feature = "devnet"))]
    let () = devnet;
    Ok(Node {
        inner: Arc::new(inner),
    })
}
