//! The static invoice server role: LDK's server events through `async-offers`'
//! [`StaticInvoiceServer`], the mailbox for offline peers, pruning, and the [`AsyncServer`]
//! handle operators reach it by.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_offers::mailbox::{HoldOutcome, MailboxEvent};
use async_offers::server::{Handled, PersistOutcome, RequestOutcome, ServerConfig, ServerError};
use async_offers::store::{spawn_pruning, Recipient, StoreError, StoredInvoice};
use async_offers::{
    Mailbox, MailboxLimits, RegistrationToken, SqliteStaticInvoiceStore, StaticInvoiceServer,
    StaticInvoiceStore,
};
use bitcoin::secp256k1::PublicKey;
use lightning::events::{Event, ReplayEvent};
use lightning::ln::channelmanager::InterceptId;
use lightning::ln::types::ChannelId;
use lightning::util::errors::APIError;

use crate::error::{BuildError, NodeError};
use crate::feature::FeatureContext;
use crate::hooks::events::{EventExtension, EventOutcome, StartupReplay};
use crate::hooks::BoxFuture;
use crate::ldk::types::{ChannelManager, OnionMessenger};
use crate::peers::Peers;

/// File of the static invoice store in the data directory (SQLite backend).
pub const INVOICE_STORE_FILE: &str = "static_invoices.sqlite";
/// File of the mailbox in the data directory.
pub const MAILBOX_FILE: &str = "onion_mailbox.sqlite";

/// Where a server keeps its recipients and invoices.
pub enum InvoiceStore {
    /// SQLite in the data directory ([`INVOICE_STORE_FILE`]).
    DataDir,
    /// A store opened by the caller, such as a `PostgresStaticInvoiceStore` that several
    /// server nodes share.
    Shared(Arc<dyn StaticInvoiceStore>),
}

/// The server role's configuration.
pub struct ServerRole {
    /// Where recipients and invoices live.
    pub store: InvoiceStore,
    /// Rate limits per recipient and the lifetime of registration tokens' paths.
    pub limits: ServerConfig,
    /// How many onion messages the mailbox holds for offline peers.
    pub mailbox: MailboxLimits,
    /// How often expired invoices are deleted.
    pub prune_every: Duration,
}

impl Default for ServerRole {
    /// SQLite in the data directory, `async-offers`' default limits, pruning hourly.
    fn default() -> Self {
        ServerRole {
            store: InvoiceStore::DataDir,
            limits: ServerConfig::default(),
            mailbox: MailboxLimits::default(),
            prune_every: Duration::from_secs(3600),
        }
    }
}

/// A recipient just registered: its id and the token to hand it.
#[derive(Debug, Clone)]
pub struct RegisteredRecipient {
    /// The recipient id (16 random bytes), which `revoke` and `invoices` take.
    pub id: Vec<u8>,
    /// The registration token (`lnasync1…`) the recipient applies.
    pub token: RegistrationToken,
}

/// What the server did since it started (counters, for operators and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
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
}

#[derive(Default)]
struct Counters {
    invoices_stored: AtomicU64,
    refused_unregistered: AtomicU64,
    refused_revoked: AtomicU64,
    refused_over_quota: AtomicU64,
    requests_served: AtomicU64,
    requests_unserved: AtomicU64,
    rate_limited: AtomicU64,
    messages_held: AtomicU64,
    messages_delivered: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    fn snapshot(&self) -> ServerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ServerStats {
            invoices_stored: get(&self.invoices_stored),
            refused_unregistered: get(&self.refused_unregistered),
            refused_revoked: get(&self.refused_revoked),
            refused_over_quota: get(&self.refused_over_quota),
            requests_served: get(&self.requests_served),
            requests_unserved: get(&self.requests_unserved),
            rate_limited: get(&self.rate_limited),
            messages_held: get(&self.messages_held),
            messages_delivered: get(&self.messages_delivered),
        }
    }
}

/// The static invoice server of this node. Reached by
/// [`Node::extension::<AsyncServer>()`](crate::Node::extension).
pub struct AsyncServer {
    server: StaticInvoiceServer<Arc<ChannelManager>>,
    channel_manager: Arc<ChannelManager>,
    waiting: Mutex<Vec<Waiting>>,
    startup: StartupReplay,
    request_times: Mutex<VecDeque<Duration>>,
    mailbox: Mailbox,
    messenger: Arc<OnionMessenger>,
    counters: Counters,
    /// The node's peers, known once it has started.
    peers: OnceLock<Peers>,
}

impl std::fmt::Debug for AsyncServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncServer").finish_non_exhaustive()
    }
}

fn store_error(e: impl Into<ServerError>) -> NodeError {
    match e.into() {
        ServerError::Store(StoreError::UnknownRecipient) => {
            NodeError::NotFound("no such async recipient".into())
        }
        ServerError::Paths(_) => NodeError::NotEnabled(
            "LDK could not build blinded paths to this node: an async payments server needs a \
             public channel (so that it is in its own graph) and a listening address"
                .into(),
        ),
        ServerError::Store(
            e @ (StoreError::Revoked
            | StoreError::AlreadyRegistered
            | StoreError::BadRecipientId { .. }
            | StoreError::QuotaExceeded { .. }
            | StoreError::RecipientLimit { .. }),
        ) => NodeError::InvalidInput(e.to_string()),
        e => NodeError::Feature {
            name: "async payments server",
            source: Box::new(e),
        },
    }
}

impl AsyncServer {
    /// Registers a recipient under `label` (free-form) with an optional slot quota of its own,
    /// and returns its id and the token to hand it.
    pub async fn register(
        &self,
        label: &str,
        slot_quota: Option<u16>,
    ) -> Result<RegisteredRecipient, NodeError> {
        let mut id = vec![0u8; 16];
        getrandom::getrandom(&mut id).map_err(|e| {
            NodeError::io("randomness for a recipient id", std::io::Error::other(e))
        })?;
        let token = self
            .server
            .register(&id, label, slot_quota)
            .await
            .map_err(store_error)?;
        Ok(RegisteredRecipient { id, token })
    }

    /// A new token for a registered, unrevoked recipient: this node's paths (so a recipient
    /// registered through another server node sharing the store can use this one), or fresh
    /// ones when the old paths expire.
    pub async fn token(&self, recipient_id: &[u8]) -> Result<RegistrationToken, NodeError> {
        self.server
            .reissue_token(recipient_id)
            .await
            .map_err(store_error)
    }

    /// Revokes a recipient: its invoices are deleted (how many is returned) and its offers are
    /// no longer served.
    pub async fn revoke(&self, recipient_id: &[u8]) -> Result<u64, NodeError> {
        self.server.revoke(recipient_id).await.map_err(store_error)
    }

    /// Every registered recipient.
    pub async fn recipients(&self) -> Result<Vec<Recipient>, NodeError> {
        self.server
            .store()
            .list_recipients()
            .await
            .map_err(store_error)
    }

    /// The invoices stored for one recipient, or for all.
    pub async fn invoices(
        &self,
        recipient_id: Option<&[u8]>,
    ) -> Result<Vec<StoredInvoice>, NodeError> {
        let store = self.server.store();
        let ids = match recipient_id {
            Some(id) => {
                if store.recipient(id).await.map_err(store_error)?.is_none() {
                    return Err(NodeError::NotFound("no such async recipient".into()));
                }
                vec![id.to_vec()]
            }
            None => store
                .list_recipients()
                .await
                .map_err(store_error)?
                .into_iter()
                .map(|r| r.id)
                .collect(),
        };
        let mut all = Vec::new();
        for id in ids {
            all.extend(store.list_invoices(&id).await.map_err(store_error)?);
        }
        Ok(all)
    }

    /// Onion messages the mailbox holds for offline peers.
    pub async fn held_messages(&self) -> Result<u64, NodeError> {
        self.mailbox.total().await.map_err(|e| NodeError::Feature {
            name: "async payments mailbox",
            source: Box::new(e),
        })
    }

    /// Counters since the node started.
    pub fn stats(&self) -> ServerStats {
        self.counters.snapshot()
    }

    /// How long the server took over each of the last invoice requests (at most 4096), from
    /// the event to LDK having the answer queued: rate limit, store lookup, decode (cached for
    /// recently served invoices), `respond_to_static_invoice_request`.
    pub fn recent_request_times(&self) -> Vec<Duration> {
        lock(&self.request_times).iter().copied().collect()
    }

    /// The mailbox and the server's two events, in that order; anything else is passed on.
    async fn handle(self: &Arc<Self>, event: Event) -> Result<EventOutcome, ReplayEvent> {
        match &event {
            Event::HTLCIntercepted {
                intercept_id,
                requested_next_hop_scid,
                expected_outbound_amount_msat,
                ..
            } => {
                if let Some((channel_id, peer)) = self.our_channel(*requested_next_hop_scid) {
                    let htlc = Waiting {
                        intercept_id: *intercept_id,
                        channel_id,
                        peer,
                        amount_msat: *expected_outbound_amount_msat,
                    };
                    if self.startup.in_progress() {
                        self.wait_for_peer(htlc);
                    } else if self.peers.get().is_some_and(|p| p.is_connected(&peer)) {
                        // Live, and the peer is back but its channel not yet reestablished
                        // (LDK intercepts until then): a recipient that released a held HTLC
                        // the moment it reconnected. Forward it once the channel is usable.
                        self.forward_when_usable(vec![htlc], Duration::ZERO, IfUnusable::Fail);
                    } else {
                        // Live: a held HTLC raises no event, so this one carries no hold flag
                        // and its peer is offline. Fail it back, as LDK would have.
                        let _ = self.channel_manager.fail_intercepted_htlc(*intercept_id);
                    }
                    return Ok(EventOutcome::Handled);
                }
            }
            Event::OnionMessagePeerConnected { peer_node_id } => {
                self.peer_back(*peer_node_id);
                // The held messages stay in the mailbox until forwarded, so acknowledging the
                // event before the delivery loses nothing.
                self.deliver_when_ready(*peer_node_id);
                return Ok(EventOutcome::Handled);
            }
            _ => {}
        }
        if let Some(done) = self.mailbox.handle_event(&event, &self.messenger).await {
            return match done {
                Ok(MailboxEvent::Held(HoldOutcome::Held { dropped })) => {
                    Counters::bump(&self.counters.messages_held, 1);
                    if dropped > 0 {
                        tracing::warn!(dropped, "mailbox full: dropped the oldest messages");
                    }
                    Ok(EventOutcome::Handled)
                }
                Ok(MailboxEvent::Held(HoldOutcome::NotAPeer)) => Ok(EventOutcome::Handled),
                Ok(MailboxEvent::Delivered(delivery)) => {
                    Counters::bump(&self.counters.messages_delivered, delivery.forwarded);
                    if let Some(reason) = delivery.stopped_by {
                        tracing::info!(
                            ?reason,
                            remaining = delivery.remaining,
                            "mailbox delivery stopped"
                        );
                    }
                    Ok(EventOutcome::Handled)
                }
                Err(e) => {
                    // Not durable: LDK hands the event again.
                    tracing::error!(error = %e, "mailbox failed");
                    Err(ReplayEvent())
                }
            };
        }
        let started = Instant::now();
        let handled = self.server.handle_event(event, started).await;
        if let Ok(Handled::Request(_)) = &handled {
            let mut times = lock(&self.request_times);
            if times.len() >= REQUEST_TIMES_KEPT {
                times.pop_front();
            }
            times.push_back(started.elapsed());
        }
        match handled {
            Ok(Handled::NotOurs(event)) => Ok(EventOutcome::NotMine(event)),
            Ok(Handled::Persist(outcome)) => {
                let c = &self.counters;
                if !matches!(outcome, PersistOutcome::Stored(_)) {
                    tracing::info!(?outcome, "static invoice not stored");
                }
                match outcome {
                    PersistOutcome::Stored(_) => Counters::bump(&c.invoices_stored, 1),
                    PersistOutcome::RateLimited | PersistOutcome::LimiterFull => {
                        Counters::bump(&c.rate_limited, 1)
                    }
                    PersistOutcome::UnknownRecipient => Counters::bump(&c.refused_unregistered, 1),
                    PersistOutcome::Revoked => Counters::bump(&c.refused_revoked, 1),
                    PersistOutcome::QuotaExceeded { .. } => {
                        Counters::bump(&c.refused_over_quota, 1)
                    }
                }
                Ok(EventOutcome::Handled)
            }
            Ok(Handled::Request(outcome)) => {
                let c = &self.counters;
                match outcome {
                    RequestOutcome::Responded => Counters::bump(&c.requests_served, 1),
                    RequestOutcome::RateLimited | RequestOutcome::LimiterFull => {
                        Counters::bump(&c.rate_limited, 1)
                    }
                    _ => {
                        tracing::info!(?outcome, "static invoice request not served");
                        Counters::bump(&c.requests_unserved, 1)
                    }
                }
                Ok(EventOutcome::Handled)
            }
            Err(e) => {
                tracing::error!(error = %e, "static invoice store failed");
                Err(ReplayEvent())
            }
        }
    }
}

struct ServerEvents(Arc<AsyncServer>);

impl EventExtension for ServerEvents {
    fn handle_event(
        self: Arc<Self>,
        event: Event,
    ) -> BoxFuture<'static, Result<EventOutcome, ReplayEvent>> {
        Box::pin(async move { self.0.handle(event).await })
    }
}

/// An HTLC to one of our channels whose peer was offline, waiting for it.
///
/// The server has LDK intercept forwards to offline private channels (see `configure`). An HTLC
/// with the hold flag never raises an event while LDK holds it, so one that raises an event
/// while the node runs carries no hold flag and is failed back at once, as LDK would have. But
/// LDK 0.3 raises `HTLCIntercepted` again for every pending intercepted HTLC when the node
/// restarts, held or not, and the event does not say which (forwarding a held one trips a debug
/// assertion in LDK). So none of those replayed at start-up ([`StartupReplay`]) is failed: each
/// waits for its peer. When the peer is back, LDK releases a held one itself as soon as the
/// recipient asks (about a second); one still pending [`RELEASE_GRACE`] later is forwarded.
/// LDK fails intercepted HTLCs that near their expiry.
struct Waiting {
    intercept_id: InterceptId,
    channel_id: ChannelId,
    peer: PublicKey,
    amount_msat: u64,
}

/// Invoice request durations kept for [`AsyncServer::recent_request_times`].
const REQUEST_TIMES_KEPT: usize = 4096;

/// How long the mailbox waits for a returning peer's channels to become usable.
const PEER_READY_WAIT: Duration = Duration::from_secs(10);

/// How long a returning peer's channel may take to become usable.
const FORWARD_RETRY: Duration = Duration::from_secs(30);
/// How long after a peer returns a waiting HTLC is left for LDK to release (held HTLCs).
pub const RELEASE_GRACE: Duration = Duration::from_secs(10);

impl AsyncServer {
    fn our_channel(&self, scid: u64) -> Option<(ChannelId, PublicKey)> {
        self.channel_manager
            .list_channels()
            .into_iter()
            .find(|c| {
                c.short_channel_id == Some(scid)
                    || c.outbound_scid_alias == Some(scid)
                    || c.inbound_scid_alias == Some(scid)
            })
            .map(|c| (c.channel_id, c.counterparty.node_id))
    }

    fn wait_for_peer(&self, htlc: Waiting) {
        let online = self
            .channel_manager
            .list_usable_channels()
            .iter()
            .any(|c| c.channel_id == htlc.channel_id);
        if online {
            self.forward_when_usable(vec![htlc], RELEASE_GRACE, IfUnusable::Leave);
        } else {
            lock(&self.waiting).push(htlc);
        }
    }

    /// Forwards what the mailbox holds for `peer` once its channels with us are usable again
    /// (or at once if it has none, or after [`PEER_READY_WAIT`]). Delivered earlier, a
    /// recipient answers the invoice request it was holding before it can build payment paths
    /// (LDK replies `MissingPaths`, and the payer abandons a payment it could have made), and
    /// releases a held HTLC its channel cannot take yet.
    fn deliver_when_ready(self: &Arc<Self>, peer: PublicKey) {
        let server = Arc::clone(self);
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + PEER_READY_WAIT;
            loop {
                let channels: Vec<_> = server
                    .channel_manager
                    .list_channels()
                    .into_iter()
                    .filter(|c| c.counterparty.node_id == peer)
                    .collect();
                if channels.is_empty()
                    || channels.iter().any(|c| c.is_usable)
                    || tokio::time::Instant::now() > deadline
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            match server.mailbox.deliver(&peer, &server.messenger).await {
                Ok(delivery) => {
                    Counters::bump(&server.counters.messages_delivered, delivery.forwarded);
                    if let Some(reason) = delivery.stopped_by {
                        tracing::info!(
                            ?reason,
                            remaining = delivery.remaining,
                            "mailbox delivery stopped"
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, %peer, "mailbox delivery failed"),
            }
        });
    }

    fn peer_back(&self, peer: PublicKey) {
        let mut waiting = lock(&self.waiting);
        let (back, still): (Vec<_>, Vec<_>) = waiting.drain(..).partition(|w| w.peer == peer);
        *waiting = still;
        drop(waiting);
        if !back.is_empty() {
            self.forward_when_usable(back, RELEASE_GRACE, IfUnusable::Leave);
        }
    }

    /// After `grace`, forwards each HTLC LDK still holds once its channel is usable (after the
    /// peer's reestablish); one that LDK no longer has (released or failed meanwhile) is
    /// dropped, one whose channel stays unusable for [`FORWARD_RETRY`] is left to `if_unusable`.
    fn forward_when_usable(&self, htlcs: Vec<Waiting>, grace: Duration, if_unusable: IfUnusable) {
        let cm = Arc::clone(&self.channel_manager);
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            let deadline = tokio::time::Instant::now() + FORWARD_RETRY;
            for htlc in htlcs {
                loop {
                    match cm.forward_intercepted_htlc(
                        htlc.intercept_id,
                        &htlc.channel_id,
                        htlc.peer,
                        htlc.amount_msat,
                    ) {
                        Err(APIError::ChannelUnavailable { .. })
                            if tokio::time::Instant::now() < deadline =>
                        {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        Ok(()) => break,
                        Err(e @ APIError::ChannelUnavailable { .. })
                            if if_unusable == IfUnusable::Fail =>
                        {
                            tracing::info!(?e, "intercepted HTLC failed back: channel unusable");
                            let _ = cm.fail_intercepted_htlc(htlc.intercept_id);
                            break;
                        }
                        Err(e) => {
                            tracing::debug!(?e, "held HTLC not forwarded (released or gone)");
                            break;
                        }
                    }
                }
            }
        });
    }
}

/// What [`AsyncServer::forward_when_usable`] does with an HTLC whose channel stays unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IfUnusable {
    /// Fail it back (a live HTLC with no hold flag).
    Fail,
    /// Leave it to LDK (possibly held; LDK fails it near its expiry).
    Leave,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn build_error(
    what: &'static str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> BuildError {
    BuildError::Feature {
        name: what,
        source: Box::new(e),
    }
}

/// Opens the store and mailbox, installs the event extension and the pruning task.
pub(super) fn install(
    role: ServerRole,
    ctx: &mut FeatureContext<'_>,
) -> Result<Arc<AsyncServer>, BuildError> {
    let data_dir = &ctx.config().data_dir;
    let store: Arc<dyn StaticInvoiceStore> = match role.store {
        InvoiceStore::DataDir => Arc::new(
            SqliteStaticInvoiceStore::open(data_dir.join(INVOICE_STORE_FILE))
                .map_err(|e| build_error("static invoice store", e))?,
        ),
        InvoiceStore::Shared(store) => store,
    };
    let mailbox = Mailbox::open(data_dir.join(MAILBOX_FILE), role.mailbox)
        .map_err(|e| build_error("onion message mailbox", e))?;
    let server = Arc::new(AsyncServer {
        server: StaticInvoiceServer::new(
            Arc::clone(ctx.channel_manager()),
            Arc::clone(&store),
            role.limits,
        ),
        mailbox,
        channel_manager: Arc::clone(ctx.channel_manager()),
        waiting: Mutex::new(Vec::new()),
        startup: ctx.startup_replay(),
        request_times: Mutex::new(VecDeque::new()),
        messenger: Arc::clone(ctx.onion_messenger()),
        counters: Counters::default(),
        peers: OnceLock::new(),
    });
    ctx.add_event_extension(Arc::new(ServerEvents(Arc::clone(&server))));
    let prune_every = role.prune_every;
    let started = Arc::clone(&server);
    ctx.on_start(move |node, mut stop| {
        let _ = started.peers.set(node.peers().clone());
        tokio::spawn(async move {
            let pruning = spawn_pruning(store, prune_every);
            let _ = stop.wait_for(|stopped| *stopped).await;
            pruning.abort();
        })
    });
    Ok(server)
}
