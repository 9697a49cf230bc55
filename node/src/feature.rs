//! [`Feature`]: how a library's adapter installs itself on the node.
//!
//! [`NodeBuilder::with_feature`](crate::NodeBuilder::with_feature) takes features; `build` runs
//! each one's [`install`](Feature::install) once the LDK objects exist and before the peer
//! manager does, with a [`FeatureContext`] that hands out the node's parts and takes the
//! feature's event extensions, peer message handlers, HTLC interceptor, start-up tasks and the
//! handle users reach it by ([`Node::extension`](crate::Node::extension)).

use std::any::{Any, TypeId};
use std::sync::Arc;

use lightning::util::config::UserConfig;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::chain::ChainClient;
use crate::config::NodeConfig;
use crate::error::BuildError;
use crate::hooks::events::{EventChain, EventExtension, StartupReplay};
use crate::hooks::htlc_interception::HtlcInterceptor;
use crate::hooks::peer_messages::{PeerMessageHandler, PeerMessageSender};
use crate::ldk::custom_messages::PeerMessageHandlers;
use crate::ldk::types::{ChannelManager, KvStore, OnionMessenger};
use crate::node::{Extensions, StartTask};
use crate::wallet::OnchainWallet;
use crate::Node;

/// A part of the node that a library brings (RFQ, payjoin-funded channels, async payments).
///
/// Any `FnOnce(&mut FeatureContext) -> Result<(), BuildError>` is a feature, which is handy for
/// small ones and tests.
pub trait Feature: Send + 'static {
    /// Adjusts LDK's configuration before the channel manager is built or read back (for
    /// example an async payments server turns on `enable_htlc_hold`). Runs once, before
    /// [`install`](Feature::install); does nothing by default.
    fn configure(&self, _config: &mut UserConfig) {}

    /// Installs the feature's hooks and handle. Runs once, inside `NodeBuilder::build`.
    fn install(self: Box<Self>, ctx: &mut FeatureContext<'_>) -> Result<(), BuildError>;
}

impl<F> Feature for F
where
    F: FnOnce(&mut FeatureContext<'_>) -> Result<(), BuildError> + Send + 'static,
{
    fn install(self: Box<Self>, ctx: &mut FeatureContext<'_>) -> Result<(), BuildError> {
        (*self)(ctx)
    }
}

/// What features installed, collected by the builder.
#[derive(Default)]
pub(crate) struct Installed {
    pub(crate) events: EventChain,
    pub(crate) peer_messages: PeerMessageHandlers,
    pub(crate) interceptor: Option<Arc<dyn HtlcInterceptor>>,
    pub(crate) start_tasks: Vec<StartTask>,
    pub(crate) extensions: Extensions,
    pub(crate) startup: StartupReplay,
}

/// The node's parts as a feature sees them while it installs, and where it registers.
pub struct FeatureContext<'a> {
    pub(crate) config: &'a NodeConfig,
    pub(crate) channel_manager: &'a Arc<ChannelManager>,
    pub(crate) onion_messenger: &'a Arc<OnionMessenger>,
    pub(crate) wallet: &'a Arc<OnchainWallet>,
    pub(crate) chain: &'a Arc<ChainClient>,
    pub(crate) kv: &'a KvStore,
    pub(crate) installed: &'a mut Installed,
}

impl std::fmt::Debug for FeatureContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureContext").finish_non_exhaustive()
    }
}

impl FeatureContext<'_> {
    /// The node's configuration (its data directory holds a feature's own files).
    pub fn config(&self) -> &NodeConfig {
        self.config
    }

    /// LDK's channel manager.
    pub fn channel_manager(&self) -> &Arc<ChannelManager> {
        self.channel_manager
    }

    /// LDK's onion messenger.
    pub fn onion_messenger(&self) -> &Arc<OnionMessenger> {
        self.onion_messenger
    }

    /// The on-chain wallet.
    pub fn wallet(&self) -> &Arc<OnchainWallet> {
        self.wallet
    }

    /// The chain client (fees, broadcasts, blocks).
    pub fn chain(&self) -> &Arc<ChainClient> {
        self.chain
    }

    /// LDK's key-value store, for a feature's small records (namespaces other than LDK's).
    pub fn kv_store(&self) -> &KvStore {
        self.kv
    }

    /// Tells an event extension whether the event it handles was queued before the node
    /// started (see [`StartupReplay`]).
    pub fn startup_replay(&self) -> StartupReplay {
        self.installed.startup.clone()
    }

    /// Appends an event extension to the chain (features run in the order they were added,
    /// the core handler last).
    pub fn add_event_extension(&mut self, extension: Arc<dyn EventExtension>) {
        self.installed.events.push(extension);
    }

    /// Adds a custom peer message handler, made with its own outbound queue.
    pub fn add_peer_message_handler(
        &mut self,
        make: impl FnOnce(PeerMessageSender) -> Arc<dyn PeerMessageHandler>,
    ) -> Result<PeerMessageSender, BuildError> {
        let sender = self.installed.peer_messages.new_sender();
        let handler = make(sender.clone());
        self.installed
            .peer_messages
            .add(handler)
            .map_err(BuildError::MessageTypeTaken)?;
        Ok(sender)
    }

    /// Installs the HTLC interception hook (one per node).
    pub fn set_htlc_interceptor(
        &mut self,
        hook: Arc<dyn HtlcInterceptor>,
    ) -> Result<(), BuildError> {
        if self.installed.interceptor.is_some() {
            return Err(BuildError::InterceptorTaken);
        }
        self.installed.interceptor = Some(hook);
        Ok(())
    }

    /// Runs `task` when the node starts.
    pub fn on_start(
        &mut self,
        task: impl FnOnce(Node, watch::Receiver<bool>) -> JoinHandle<()> + Send + 'static,
    ) {
        self.installed.start_tasks.push(Box::new(task));
    }

    /// Makes `handle` reachable as [`Node::extension::<T>()`](crate::Node::extension).
    pub fn provide<T: Any + Send + Sync>(&mut self, handle: Arc<T>) {
        self.installed
            .extensions
            .by_type
            .insert(TypeId::of::<T>(), handle);
    }
}
