//! LDK event extensions: a chain of handlers, each claiming the events it owns and answering
//! "not mine" for the rest, in front of the node's core handler (payments, channels, sweeps).
//!
//! A feature claims the events of what it started (funding of the channels it opened,
//! `FundingTxBroadcastSafe`, static-invoice events, intercepted onion messages, ...). An
//! extension may also look at an event and pass it on (`NotMine` with the event), so several
//! parts can follow one event; the core handles whatever reaches the end of the chain.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use lightning::events::{Event, ReplayEvent};

use super::BoxFuture;

/// What an [`EventExtension`] did with an event.
#[derive(Debug)]
pub enum EventOutcome {
    /// Claimed and handled: the chain stops here.
    Handled,
    /// Not (only) this extension's: handed to the next one, and at the end to the core.
    NotMine(Box<Event>),
}

/// A link of the event chain.
pub trait EventExtension: Send + Sync + 'static {
    /// Handles or passes on `event`. `Err(ReplayEvent)` makes LDK hand the event again later:
    /// only for failures that may heal (persistence), and only before anything irreversible.
    fn handle_event(
        self: Arc<Self>,
        event: Event,
    ) -> BoxFuture<'static, Result<EventOutcome, ReplayEvent>>;
}

/// Whether the events being handled were queued before the node started: those LDK kept
/// across a restart, and those it regenerates when it reads its state (an `HTLCIntercepted`
/// for every pending intercepted HTLC, held ones included). [`Node::start`](crate::Node::start)
/// hands them to the event chain in one pass before the background processor starts. Get it
/// from [`FeatureContext::startup_replay`](crate::FeatureContext::startup_replay).
#[derive(Clone, Debug, Default)]
pub struct StartupReplay(Arc<AtomicBool>);

impl StartupReplay {
    /// `true` while `Node::start` hands the events queued before it to the chain.
    pub fn in_progress(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    pub(crate) fn set(&self, on: bool) {
        self.0.store(on, Ordering::Release);
    }
}

/// The extensions in the order they were installed.
#[derive(Default, Clone)]
pub(crate) struct EventChain {
    links: Vec<Arc<dyn EventExtension>>,
}

impl EventChain {
    /// Appends a link.
    pub(crate) fn push(&mut self, link: Arc<dyn EventExtension>) {
        self.links.push(link);
    }

    /// Appends every link of `other`.
    pub(crate) fn append(&mut self, other: EventChain) {
        self.links.extend(other.links);
    }

    /// Runs `event` through the links; `Some(event)` when none claimed it.
    pub(crate) async fn dispatch(&self, mut event: Event) -> Result<Option<Event>, ReplayEvent> {
        for link in &self.links {
            match Arc::clone(link).handle_event(event).await? {
                EventOutcome::Handled => return Ok(None),
                EventOutcome::NotMine(e) => event = *e,
            }
        }
        Ok(Some(event))
    }
}
