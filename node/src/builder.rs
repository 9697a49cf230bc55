//! [`NodeBuilder`]: assembles and starts a [`Node`] — seed, chain client, LDK objects (read back
//! from the KV store on restart), wallet, block sync, P2P listener, background processor.

use std::io::Cursor;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::{BlockHash, Network};
use lightning::chain::{BlockLocator, Filter, Listen, Watch};
use lightning::ln::channelmanager::{ChainParameters, ChannelManagerReadArgs};
use lightning::ln::peer_handler::{IgnoringMessageHandler, MessageHandler};
use lightning::routing::gossip::P2PGossipSync;
use lightning::routing::router::DefaultRouter;
use lightning::routing::scoring::{
    ProbabilisticScorer, ProbabilisticScoringDecayParameters, ProbabilisticScoringFeeParameters,
};
use lightning::routing::utxo::UtxoLookup;
use lightning::sign::{EntropySource, KeysManager, NodeSigner};
use lightning::util::persist::{
    read_channel_monitors, KVStoreSync, CHANNEL_MANAGER_PERSISTENCE_KEY,
    NETWORK_GRAPH_PERSISTENCE_KEY, OUTPUT_SWEEPER_PERSISTENCE_KEY, SCORER_PERSISTENCE_KEY,
};
use lightning::util::ser::ReadableArgs;
use lightning_background_processor::{
    process_events_async_with_kv_store_sync, GossipSync as BpGossipSync, NO_LIQUIDITY_MANAGER,
};
use lightning_persister::fs_store::v1::FilesystemStore;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};

use crate::chain::sync::ChainListeners;
use crate::chain::{ChainClient, ChainSync};
use crate::config::{ChainSource, InboundChannelPolicy, NodeConfig, RpcCredentials};
use crate::devnet::{Devnet, DevnetConfig, RpcAuth, RpcServer, RpcServerConfig};
use crate::error::NodeError;
use lightning::util::wallet_utils::WalletSync;

use crate::ldk::keys::NodeKeys;
use crate::ldk::logger::TracingLogger;
use crate::ldk::peers::KnownPeers;
use crate::ldk::slots::{
    CustomMessageSlot, HtlcInterceptor, NoInterception, NoPeerMessages, PeerMessageHandler,
};
use crate::ldk::types::{
    BumpHandler, ChainMonitor, ChannelManager, GossipSync, MessageRouter, NetworkGraph,
    OnionMessenger, PeerManager, Router, Scorer, Sweeper,
};
use crate::node::{Node, NodeInner};
use crate::payments::PaymentStore;
use crate::seed;
use crate::wallet::OnchainWallet;

/// Builds a [`Node`] from a [`NodeConfig`] plus the extension slots.
pub struct NodeBuilder {
    config: NodeConfig,
    peer_messages: Box<dyn PeerMessageHandler>,
    interceptor: Arc<dyn HtlcInterceptor>,
}

impl std::fmt::Debug for NodeBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
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
            peer_messages: Box::new(NoPeerMessages),
            interceptor: Arc::new(NoInterception),
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

    /// Run an embedded devnet inside the node.
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

    /// Install a custom peer message handler (RFQ).
    pub fn peer_message_handler(mut self, handler: Box<dyn PeerMessageHandler>) -> Self {
        self.peer_messages = handler;
        self
    }

    /// Install an HTLC interception hook (RFQ).
    pub fn htlc_interceptor(mut self, hook: Arc<dyn HtlcInterceptor>) -> Self {
        self.interceptor = hook;
        self
    }

    /// Starts the node. Must be called inside a multi-threaded tokio runtime.
    pub async fn build(self) -> Result<Node, NodeError> {
        start(self).await
    }
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

async fn chain_client(
    config: &NodeConfig,
) -> Result<(Arc<ChainClient>, Option<RpcServer>), NodeError> {
    use base64::Engine;
    let runtime = tokio::runtime::Handle::current();
    match &config.chain {
        ChainSource::BitcoindRpc { url, auth } => {
            let creds = match auth {
                RpcCredentials::UserPass { user, password } => {
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
                }
                RpcCredentials::CookieFile(path) => {
                    let text = std::fs::read_to_string(path).map_err(|e| {
                        NodeError::io(format!("reading RPC cookie {}", path.display()), e)
                    })?;
                    base64::engine::general_purpose::STANDARD.encode(text.trim())
                }
            };
            Ok((Arc::new(ChainClient::new(url, &creds, runtime)), None))
        }
        ChainSource::EmbeddedDevnet => {
            if config.network != Network::Regtest {
                return Err(NodeError::invalid(
                    "the embedded devnet is a regtest chain; set network = regtest",
                ));
            }
            let devnet = Devnet::new(DevnetConfig {
                data_dir: Some(config.data_dir.join("devnet")),
                ..Default::default()
            })
            .map_err(|e| NodeError::Startup(format!("devnet: {e}")))?;
            let server = RpcServer::start(
                devnet,
                RpcServerConfig {
                    bind: SocketAddr::from(([127, 0, 0, 1], 0)),
                    auth: RpcAuth::Cookie {
                        dir: config.data_dir.join("devnet"),
                    },
                },
            )
            .await
            .map_err(|e| NodeError::Startup(format!("devnet RPC: {e}")))?;
            let client = ChainClient::new(&server.url(), &server.credentials_base64(), runtime);
            Ok((Arc::new(client), Some(server)))
        }
    }
}

async fn tip(chain: &ChainClient) -> Result<BlockLocator, NodeError> {
    let hash = chain.call("getbestblockhash", &[]).await?;
    let hash: BlockHash = hash
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| NodeError::Startup(format!("getbestblockhash answered {hash}")))?;
    let height = chain.block_count().await?;
    Ok(BlockLocator::new(hash, height))
}

fn read_kv(kv: &FilesystemStore, key: &str) -> Result<Option<Vec<u8>>, NodeError> {
    match KVStoreSync::read(kv, "", "", key) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(NodeError::io(format!("reading {key}"), e)),
    }
}

async fn start(builder: NodeBuilder) -> Result<Node, NodeError> {
    let NodeBuilder {
        config,
        peer_messages,
        interceptor,
    } = builder;
    let network = config.network;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| NodeError::io(format!("creating {}", config.data_dir.display()), e))?;
    let seed = seed::load_or_create(&config.data_dir.join("seed"))?;
    let logger = Arc::new(TracingLogger {
        label: config.alias.clone(),
    });
    let kv = Arc::new(FilesystemStore::new(config.data_dir.join("ldk")));

    let (chain, devnet) = chain_client(&config).await?;
    chain.refresh_fees().await?;
    let tip = tip(&chain).await?;

    let started = now();
    let keys = Arc::new(KeysManager::new(
        &seed,
        started.as_secs(),
        started.subsec_nanos(),
        true,
    ));

    // Gossip graph and scorer.
    let graph = match read_kv(&kv, NETWORK_GRAPH_PERSISTENCE_KEY)? {
        Some(bytes) => Arc::new(
            NetworkGraph::read(&mut Cursor::new(bytes), Arc::clone(&logger))
                .map_err(|e| NodeError::Startup(format!("network graph: {e:?}")))?,
        ),
        None => Arc::new(NetworkGraph::new(network, Arc::clone(&logger))),
    };
    let decay = ProbabilisticScoringDecayParameters::default();
    let scorer: Scorer = match read_kv(&kv, SCORER_PERSISTENCE_KEY)? {
        Some(bytes) => ProbabilisticScorer::read(
            &mut Cursor::new(bytes),
            (decay, Arc::clone(&graph), Arc::clone(&logger)),
        )
        .map_err(|e| NodeError::Startup(format!("scorer: {e:?}")))?,
        None => ProbabilisticScorer::new(decay, Arc::clone(&graph), Arc::clone(&logger)),
    };
    let scorer = Arc::new(RwLock::new(scorer));
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
        Arc::clone(&kv),
        Arc::clone(&keys),
        keys.get_peer_storage_key(),
        false,
    ));

    let mut monitors = read_channel_monitors(Arc::clone(&kv), Arc::clone(&keys), Arc::clone(&keys))
        .map_err(|e| NodeError::io("reading channel monitors", e))?;

    let wallet = Arc::new(OnchainWallet::open(
        &config.data_dir.join("wallet.sqlite"),
        &seed,
        network,
        tip,
        Arc::clone(&chain),
    )?);
    // Closing scripts pay the wallet directly.
    let signer = Arc::new(NodeKeys::new(Arc::clone(&keys), Arc::clone(&wallet)));

    let user_config = crate::ldk::user_config();
    let (manager_best, channel_manager) = match read_kv(&kv, CHANNEL_MANAGER_PERSISTENCE_KEY)? {
        Some(bytes) => {
            let monitor_refs = monitors.iter().map(|(_, m)| m).collect();
            let args = ChannelManagerReadArgs::new(
                Arc::clone(&keys),
                Arc::clone(&keys),
                Arc::clone(&signer),
                Arc::clone(&chain),
                Arc::clone(&chain_monitor),
                Arc::clone(&chain),
                Arc::clone(&router),
                Arc::clone(&message_router),
                Arc::clone(&logger),
                user_config,
                monitor_refs,
            );
            let (best, manager) =
                <(BlockLocator, ChannelManager)>::read(&mut Cursor::new(bytes), args)
                    .map_err(|e| NodeError::Startup(format!("channel manager: {e:?}")))?;
            (best, Arc::new(manager))
        }
        None => {
            let params = ChainParameters {
                network,
                best_block: tip,
            };
            let manager = ChannelManager::new(
                Arc::clone(&chain),
                Arc::clone(&chain_monitor),
                Arc::clone(&chain),
                Arc::clone(&router),
                Arc::clone(&message_router),
                Arc::clone(&logger),
                Arc::clone(&keys),
                Arc::clone(&keys),
                Arc::clone(&signer),
                user_config,
                params,
                started.as_secs() as u32,
            );
            (tip, Arc::new(manager))
        }
    };

    let no_filter: Option<Arc<dyn Filter + Send + Sync>> = None;
    let sweeper: Arc<Sweeper> = match read_kv(&kv, OUTPUT_SWEEPER_PERSISTENCE_KEY)? {
        Some(bytes) => {
            let (_, sweeper) = <(BlockLocator, Sweeper)>::read(
                &mut Cursor::new(bytes),
                (
                    Arc::clone(&chain),
                    Arc::clone(&chain),
                    no_filter.clone(),
                    Arc::clone(&keys),
                    Arc::clone(&wallet),
                    Arc::clone(&kv),
                    Arc::clone(&logger),
                ),
            )
            .map_err(|e| NodeError::Startup(format!("output sweeper: {e:?}")))?;
            Arc::new(sweeper)
        }
        None => Arc::new(Sweeper::new(
            tip,
            Arc::clone(&chain),
            Arc::clone(&chain),
            no_filter.clone(),
            Arc::clone(&keys),
            Arc::clone(&wallet),
            Arc::clone(&kv),
            Arc::clone(&logger),
        )),
    };

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
            chain_monitor
                .watch_channel(channel_id, monitor)
                .map_err(|e| NodeError::Startup(format!("watching channel {channel_id}: {e:?}")))?;
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
    let gossip: Arc<GossipSync> = Arc::new(P2PGossipSync::new(
        Arc::clone(&graph),
        None::<Arc<dyn UtxoLookup + Send + Sync>>,
        Arc::clone(&logger),
    ));
    let custom = Arc::new(CustomMessageSlot::new(peer_messages));
    let handlers = MessageHandler {
        chan_handler: Arc::clone(&channel_manager),
        route_handler: Arc::clone(&gossip),
        onion_message_handler: Arc::clone(&onion_messenger),
        custom_message_handler: Arc::clone(&custom),
        send_only_message_handler: Arc::clone(&chain_monitor),
    };
    let peer_manager: Arc<PeerManager> = Arc::new(PeerManager::new(
        handlers,
        started.as_secs() as u32,
        &keys.get_secure_random_bytes(),
        Arc::clone(&logger),
        Arc::clone(&keys),
    ));

    let (stop, stop_rx) = watch::channel(false);
    // The background processor stops last, after peers are gone, so its final persistence of
    // the channel manager sees every monitor update.
    let (stop_background, stop_background_rx) = watch::channel(false);
    let mut tasks = Vec::new();

    // Blocks: one listener fanning out to everything that follows the chain.
    let listeners = Arc::new(ChainListeners {
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
    let chain_sync = ChainSync::start(
        &chain,
        network,
        caught_up,
        listeners,
        config.chain_poll_interval,
        stop_rx.clone(),
    );
    tasks.push(chain.spawn_maintenance(config.maintenance_interval, stop_rx.clone()));

    // P2P listener.
    let listen_addr = match config.listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|e| NodeError::io(format!("listening on {addr}"), e))?;
            let bound = listener
                .local_addr()
                .map_err(|e| NodeError::io("listener address", e))?;
            tasks.push(crate::ldk::peers::spawn_listener(
                Arc::clone(&peer_manager),
                listener,
                stop_rx.clone(),
            ));
            Some(bound)
        }
        None => None,
    };

    let payments = PaymentStore::open(&config.data_dir.join("payments.sqlite"))?;
    let known_peers = KnownPeers::load(Arc::clone(&kv));
    let (events, _) = broadcast::channel(1024);

    // Anchor channels: fee bumps paid from confirmed wallet coins.
    let bump = Arc::new(BumpHandler::new(
        Arc::clone(&chain),
        Arc::new(WalletSync::new(Arc::clone(&wallet), Arc::clone(&logger))),
        Arc::clone(&signer),
        Arc::clone(&logger),
    ));

    let inner = Arc::new(NodeInner {
        config,
        keys,
        chain,
        wallet,
        channel_manager,
        chain_monitor,
        peer_manager,
        onion_messenger,
        gossip,
        graph,
        scorer,
        sweeper,
        bump,
        kv,
        logger,
        custom,
        interceptor,
        payments,
        known_peers,
        events,
        listen_addr,
        stop,
        stop_background,
        tasks: Mutex::new(Vec::new()),
        background: Mutex::new(None),
        chain_sync,
        devnet: Mutex::new(devnet),
        admin: Mutex::new(None),
    });

    // The background processor: event handling, persistence, timers.
    let handler_inner = Arc::clone(&inner);
    let event_handler = move |event| Arc::clone(&handler_inner).handle_event(event);
    let sleeper_stop = stop_background_rx;
    let sleeper = move |d: Duration| {
        let mut stop = sleeper_stop.clone();
        Box::pin(async move {
            tokio::select! {
                _ = tokio::time::sleep(d) => false,
                _ = stop.wait_for(|s| *s) => true,
            }
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>
    };
    let bp = tokio::spawn(process_events_async_with_kv_store_sync(
        Arc::clone(&inner.kv),
        event_handler,
        Arc::clone(&inner.chain_monitor),
        Arc::clone(&inner.channel_manager),
        Some(Arc::clone(&inner.onion_messenger)),
        BpGossipSync::p2p(Arc::clone(&inner.gossip)),
        Arc::clone(&inner.peer_manager),
        NO_LIQUIDITY_MANAGER,
        Some(Arc::clone(&inner.sweeper)),
        Arc::clone(&inner.logger),
        Some(Arc::clone(&inner.scorer)),
        sleeper,
        false,
        || Some(now()),
    ));
    *inner.background.lock().expect("lock") = Some(bp);

    if inner.config.immediate_htlc_processing {
        tasks.push(spawn_immediate_htlc_processing(
            Arc::clone(&inner),
            stop_rx.clone(),
        ));
    }
    tasks.push(spawn_peer_upkeep(Arc::clone(&inner), stop_rx));
    inner.tasks.lock().expect("lock").extend(tasks);
    let node = Node { inner };
    if let Some(addr) = node.inner.config.admin_api {
        match crate::api::AdminApi::start(node.clone(), addr, &node.admin_token_path()).await {
            Ok(api) => *node.inner.admin.lock().expect("lock") = Some(api),
            Err(e) => {
                node.stop().await;
                return Err(NodeError::Startup(format!("admin API: {e}")));
            }
        }
    }
    Ok(node)
}

/// Processes pending HTLCs every 2 ms, ahead of the background processor's randomly delayed
/// batch. (It polls a flag rather than waiting on the channel manager's update future: that
/// future's notifier wakes one waiter, and taking it would delay the background processor.)
fn spawn_immediate_htlc_processing(
    inner: Arc<NodeInner>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(2));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            if inner.channel_manager.needs_pending_htlc_processing() {
                inner.channel_manager.process_pending_htlc_forwards();
                inner.peer_manager.process_events();
            }
        }
    })
}

/// Reconnects remembered peers and re-announces the node (public channels need a node
/// announcement to be routable) every maintenance interval.
fn spawn_peer_upkeep(
    inner: Arc<NodeInner>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let every = inner
            .config
            .maintenance_interval
            .min(Duration::from_secs(10));
        loop {
            for (id, addr) in inner.known_peers.all() {
                if inner.peer_manager.peer_by_node_id(&id).is_some() {
                    continue;
                }
                if let Ok(Some(sock)) = tokio::net::lookup_host(addr.as_str())
                    .await
                    .map(|mut a| a.next())
                {
                    let _ = crate::ldk::peers::connect(&inner.peer_manager, id, sock).await;
                }
            }
            inner.announce();
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
        }
    })
}
