//! [`Node`]: a built lnedge node, its handles (peers, channels, payments by kind, wallet,
//! features' extensions) and its lifecycle (`start`, `stop`).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use lightning_background_processor::{
    process_events_async_with_kv_store_sync, GossipSync as BpGossipSync, NO_LIQUIDITY_MANAGER,
};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::chain::sync::{CaughtUp, ChainListeners};
use crate::chain::{ChainClient, ChainSync};
use crate::channels::Channels;
use crate::config::NodeConfig;
use crate::error::StartError;
use crate::events::EventHandler;
use crate::hooks::events::StartupReplay;
use crate::ldk::announce::Announcer;
use crate::ldk::custom_messages::PeerMessageDispatcher;
use crate::ldk::interception::InterceptionService;
use crate::ldk::persist::MonitorPersister;
use crate::ldk::types::{
    ChainMonitor, ChannelManager, GossipSync, KvStore, Logger, NetworkGraph, OnionMessenger,
    PeerManager, Scorer, Sweeper,
};
use crate::model::{NodeEvent, NodeInfo};
use crate::payment::{Bolt11Payments, Bolt12Payments, Payments, SpontaneousPayments};
use crate::peers::Peers;
use crate::wallet::Wallet;

/// How long [`Node::stop`] waits for tasks to finish before aborting them.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// A task a feature runs while the node runs: started by `Node::start` with the node and a
/// stop signal (true when the node stops), awaited (then aborted) by `Node::stop`.
pub type StartTask = Box<dyn FnOnce(Node, watch::Receiver<bool>) -> JoinHandle<()> + Send>;

/// Handles features put on the node, by type.
#[derive(Default, Clone)]
pub(crate) struct Extensions {
    pub(crate) by_type: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl Extensions {
    pub(crate) fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.by_type
            .get(&TypeId::of::<T>())
            .and_then(|h| Arc::clone(h).downcast::<T>().ok())
    }
}

/// The LDK objects the background processor drives.
pub(crate) struct LdkParts {
    pub(crate) channel_manager: Arc<ChannelManager>,
    pub(crate) chain_monitor: Arc<ChainMonitor>,
    pub(crate) peer_manager: Arc<PeerManager>,
    pub(crate) onion_messenger: Arc<OnionMessenger>,
    pub(crate) gossip: Arc<GossipSync>,
    pub(crate) graph: Arc<NetworkGraph>,
    pub(crate) scorer: Arc<RwLock<Scorer>>,
    pub(crate) sweeper: Arc<Sweeper>,
    pub(crate) kv: KvStore,
    pub(crate) persister: Arc<MonitorPersister>,
    pub(crate) logger: Logger,
}

/// What `build` prepared and `start` sets running.
pub(crate) struct StartParts {
    pub(crate) listener: Option<TcpListener>,
    pub(crate) caught_up: CaughtUp,
    pub(crate) chain_listeners: Arc<ChainListeners>,
    pub(crate) event_handler: Arc<EventHandler>,
    pub(crate) dispatcher: PeerMessageDispatcher,
    pub(crate) interception: Option<Arc<InterceptionService>>,
    pub(crate) start_tasks: Vec<StartTask>,
    pub(crate) startup: StartupReplay,
}

/// A node: its handles, and what runs once it is started.
pub(crate) struct NodeInner {
    pub(crate) config: NodeConfig,
    pub(crate) peers: Peers,
    pub(crate) channels: Channels,
    pub(crate) bolt11: Bolt11Payments,
    pub(crate) bolt12: Bolt12Payments,
    pub(crate) spontaneous: SpontaneousPayments,
    pub(crate) payments: Payments,
    pub(crate) wallet: Wallet,
    pub(crate) ldk: LdkParts,
    pub(crate) chain: Arc<ChainClient>,
    pub(crate) chain_sync: OnceLock<ChainSync>,
    pub(crate) announcer: Announcer,
    pub(crate) events: broadcast::Sender<NodeEvent>,
    pub(crate) extensions: Extensions,
    pub(crate) listen_addr: Option<SocketAddr>,
    pub(crate) pending: Mutex<Option<StartParts>>,
    pub(crate) stop: watch::Sender<bool>,
    pub(crate) stop_background: watch::Sender<bool>,
    pub(crate) tasks: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) background: Mutex<Option<JoinHandle<Result<(), lightning::io::Error>>>>,
    #[cfg(feature = "devnet")]
    pub(crate) devnet: Mutex<Option<lnedge_devnet::RpcServer>>,
    /// The data dir's lock (`<data dir>/lock`): taken first by `build`, released at the end of
    /// `stop` (or with the last handle, for a node never stopped).
    pub(crate) data_dir_lock: Mutex<Option<lnedge_storage::dir_lock::DirLock>>,
}

/// A node. Cheap to clone; every clone drives the same node.
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Node {
    /// Our node id.
    pub fn node_id(&self) -> PublicKey {
        self.inner.ldk.channel_manager.get_our_node_id()
    }

    /// The P2P listen address actually bound (port 0 resolved).
    pub fn listen_address(&self) -> Option<SocketAddr> {
        self.inner.listen_addr
    }

    /// The node's configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    /// Peers: connect, disconnect, list, custom messages.
    pub fn peers(&self) -> &Peers {
        &self.inner.peers
    }

    /// Channels: open, close, list.
    pub fn channels(&self) -> &Channels {
        &self.inner.channels
    }

    /// BOLT 11 invoices: receive and send.
    pub fn bolt11_payment(&self) -> &Bolt11Payments {
        &self.inner.bolt11
    }

    /// BOLT 12 offers: receive and send.
    pub fn bolt12_payment(&self) -> &Bolt12Payments {
        &self.inner.bolt12
    }

    /// Keysend (spontaneous) payments: send to a node id, no invoice.
    pub fn spontaneous_payment(&self) -> &SpontaneousPayments {
        &self.inner.spontaneous
    }

    /// The payment history, and waiting for outcomes.
    pub fn payments(&self) -> &Payments {
        &self.inner.payments
    }

    /// The on-chain wallet.
    pub fn wallet(&self) -> &Wallet {
        &self.inner.wallet
    }

    /// The handle a [`Feature`](crate::feature::Feature) provided, by its type.
    pub fn extension<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.inner.extensions.get::<T>()
    }

    /// The node at a glance.
    pub fn info(&self) -> NodeInfo {
        let ldk = &self.inner.ldk;
        let best = ldk.channel_manager.current_best_block();
        let channels = ldk.channel_manager.list_channels();
        // The graph's read lock is released before the peer manager is asked for its peers:
        // the peer manager takes the graph's lock while it holds a peer's (gossip sync), so
        // holding both here in the other order deadlocked a test.
        let (graph_nodes, graph_channels) = {
            let graph = ldk.graph.read_only();
            let nodes = graph
                .nodes()
                .unordered_iter()
                .filter(|(_, n)| n.announcement_info.is_some())
                .count();
            let channels = graph
                .channels()
                .unordered_iter()
                .filter(|(_, c)| c.one_to_two.is_some() && c.two_to_one.is_some())
                .count();
            (nodes, channels)
        };
        NodeInfo {
            node_id: self.node_id(),
            network: self.inner.config.network,
            alias: self.inner.config.alias.clone(),
            listen_address: self.inner.listen_addr,
            block_height: best.height,
            block_hash: best.block_hash,
            peers: ldk.peer_manager.list_peers().len(),
            channels: channels.len(),
            usable_channels: channels.iter().filter(|c| c.is_usable).count(),
            graph_nodes,
            graph_channels,
        }
    }

    /// A stream of node events.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.events.subscribe()
    }

    /// Polls the chain backend now and returns the height the node has processed.
    pub async fn sync_chain(&self) -> u32 {
        match self.inner.chain_sync.get() {
            Some(sync) => sync.sync_now().await,
            None => self.inner.ldk.channel_manager.current_best_block().height,
        }
    }

    /// The chain client (fee estimates, broadcasts).
    pub fn chain_client(&self) -> &Arc<ChainClient> {
        &self.inner.chain
    }

    /// The RPC URL and credentials (base64 `user:password`) of the embedded devnet, when the
    /// node runs one.
    #[cfg(feature = "devnet")]
    pub fn devnet_rpc(&self) -> Option<(String, String)> {
        lock(&self.inner.devnet)
            .as_ref()
            .map(|s| (s.url(), s.credentials_base64()))
    }

    /// Broadcasts our node announcement now (if the node listens and has a ready public
    /// channel) and sends what the peer manager has queued, without waiting for the node's own
    /// timers (it re-announces every maintenance interval).
    pub fn announce(&self) {
        self.inner.announcer.announce();
        self.inner.ldk.peer_manager.process_events();
    }

    /// Outputs of closed channels not yet swept into the wallet by a confirmed transaction.
    pub fn pending_sweeps(&self) -> usize {
        crate::ldk::unswept_outputs(&self.inner.ldk.sweeper)
    }

    // ----- lifecycle -----

    /// Starts the node: block sync, the P2P listener, custom message dispatch, HTLC
    /// interception, the background processor (events, persistence, timers), peer upkeep,
    /// the features' tasks (the admin API among them). Fails if called twice.
    pub async fn start(&self) -> Result<(), StartError> {
        let parts = lock(&self.inner.pending)
            .take()
            .ok_or(StartError::AlreadyStarted)?;
        let StartParts {
            listener,
            caught_up,
            chain_listeners,
            event_handler,
            dispatcher,
            interception,
            start_tasks,
            startup,
        } = parts;
        let inner = &self.inner;
        let ldk = &inner.ldk;
        let stop_rx = inner.stop.subscribe();
        let mut tasks = Vec::new();

        // Intercepted HTLCs a crash left undecided are failed back before any event runs.
        crate::ldk::interception::fail_undecided(&ldk.channel_manager, &ldk.kv).map_err(|e| {
            StartError::Io {
                what: "failing back undecided intercepted HTLCs".into(),
                source: e.into(),
            }
        })?;
        if let Some(service) = &interception {
            tasks.push(tokio::spawn(Arc::clone(service).run(stop_rx.clone())));
        }

        let sync = ChainSync::start(
            &inner.chain,
            inner.config.network,
            caught_up,
            chain_listeners,
            inner.config.chain_poll_interval,
            stop_rx.clone(),
        );
        let _ = inner.chain_sync.set(sync);
        tasks.push(
            inner
                .chain
                .spawn_maintenance(inner.config.maintenance_interval, stop_rx.clone()),
        );
        if let Some(listener) = listener {
            tasks.push(crate::ldk::peers::spawn_listener(
                Arc::clone(&ldk.peer_manager),
                listener,
                stop_rx.clone(),
            ));
        }
        let pm = Arc::clone(&ldk.peer_manager);
        tasks.push(tokio::spawn(
            dispatcher.run(move || pm.process_events(), stop_rx.clone()),
        ));

        // The background processor: event handling, persistence, timers. It stops last, after
        // peers are gone, so its final persistence of the channel manager sees every monitor
        // update.
        // Events queued before the start (kept across a restart, or regenerated when LDK read
        // its state) go through the chain in one pass, flagged, before anything else handles
        // events.
        startup.set(true);
        ldk.channel_manager
            .process_pending_events_async(|event| Arc::clone(&event_handler).handle_event(event))
            .await;
        startup.set(false);
        let pumped = Arc::clone(&event_handler);
        let event_handler = move |event| Arc::clone(&event_handler).handle_event(event);
        let sleeper_stop = inner.stop_background.subscribe();
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
            Arc::clone(&ldk.kv),
            event_handler,
            Arc::clone(&ldk.chain_monitor),
            Arc::clone(&ldk.channel_manager),
            Some(Arc::clone(&ldk.onion_messenger)),
            BpGossipSync::p2p(Arc::clone(&ldk.gossip)),
            Arc::clone(&ldk.peer_manager),
            NO_LIQUIDITY_MANAGER,
            Some(Arc::clone(&ldk.sweeper)),
            Arc::clone(&ldk.logger),
            Some(Arc::clone(&ldk.scorer)),
            sleeper,
            false,
            || Some(lnedge_storage::clock::since_epoch()),
        ));
        *lock(&inner.background) = Some(bp);

        tasks.push(spawn_event_pump(
            Arc::clone(&ldk.channel_manager),
            pumped,
            stop_rx.clone(),
        ));
        if inner.config.immediate_htlc_processing {
            tasks.push(spawn_immediate_htlc_processing(
                Arc::clone(&ldk.channel_manager),
                Arc::clone(&ldk.peer_manager),
                stop_rx.clone(),
            ));
        }
        tasks.push(spawn_peer_upkeep(
            inner.peers.clone(),
            inner.announcer.clone(),
            inner.config.maintenance_interval,
            stop_rx.clone(),
        ));
        for task in start_tasks {
            tasks.push(task(self.clone(), stop_rx.clone()));
        }
        lock(&inner.tasks).extend(tasks);

        Ok(())
    }

    /// Stops the node: every task is told to stop (features' tasks, such as the admin API,
    /// drain what is in flight, for at most [`STOP_GRACE`]), then peers are disconnected, then
    /// the background processor persists the channel manager, graph and scorer on its way out;
    /// last, the data dir's lock is released, so that another node may open it (this node's
    /// handles must not be used after `stop`). Idempotent.
    pub async fn stop(&self) {
        self.inner.stop.send_replace(true);
        if let Some(sync) = self.inner.chain_sync.get() {
            sync.join().await;
        }
        let tasks: Vec<_> = std::mem::take(&mut *lock(&self.inner.tasks));
        let deadline = tokio::time::Instant::now() + STOP_GRACE;
        // Latest first: features' tasks were started last.
        for mut task in tasks.into_iter().rev() {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
        self.inner.ldk.peer_manager.disconnect_all_peers();
        self.inner.stop_background.send_replace(true);
        let background = lock(&self.inner.background).take();
        if let Some(bp) = background {
            match bp.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!("background processor stopped with error: {e}"),
                Err(e) => tracing::error!("background processor panicked: {e}"),
            }
        }
        // Monitor writes still queued land before the node reports it stopped.
        let persister = Arc::clone(&self.inner.ldk.persister);
        let _ = tokio::task::spawn_blocking(move || persister.flush()).await;
        #[cfg(feature = "devnet")]
        {
            let devnet = lock(&self.inner.devnet).take();
            if let Some(server) = devnet {
                server.shutdown().await;
            }
        }
        lock(&self.inner.data_dir_lock).take();
    }
}

/// Processes pending HTLCs every 2 ms, ahead of the background processor's randomly delayed
/// batch. (It polls a flag rather than waiting on the channel manager's update future: that
/// future's notifier wakes one waiter, and taking it would delay the background processor.)
fn spawn_immediate_htlc_processing(
    manager: Arc<ChannelManager>,
    peer_manager: Arc<PeerManager>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(2));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            if manager.needs_pending_htlc_processing() {
                manager.process_pending_htlc_forwards();
                peer_manager.process_events();
            }
        }
    })
}

/// LDK 0.3 queues some events without waking the background processor (the static invoice
/// server's `PersistStaticInvoice` and `StaticInvoiceRequested`, among others), which then
/// handles them at its next timer: up to 30 s later in debug builds, 10 s in release. This pump
/// hands queued events to the same handler every 100 ms. LDK runs one event processor at a
/// time (a second caller returns at once), so the pump and the background processor never
/// handle events concurrently.
fn spawn_event_pump(
    manager: Arc<ChannelManager>,
    handler: Arc<crate::events::EventHandler>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            manager
                .process_pending_events_async(|event| Arc::clone(&handler).handle_event(event))
                .await;
        }
    })
}

/// Reconnects remembered peers and re-announces the node (public channels need a node
/// announcement to be routable) every maintenance interval, at most every 10 s.
fn spawn_peer_upkeep(
    peers: Peers,
    announcer: Announcer,
    maintenance_interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let every = maintenance_interval.min(Duration::from_secs(10));
        loop {
            for (id, addr) in peers.disconnected_known() {
                if let Ok(sock) = crate::peers::resolve(&addr).await {
                    let _ = crate::ldk::peers::connect(&peers.peer_manager, id, sock).await;
                }
            }
            announcer.announce();
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
        }
    })
}
