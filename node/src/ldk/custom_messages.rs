//! The LDK side of custom peer messages: the handlers a node has, LDK's custom message handler
//! slot of the `PeerManager` that reads their types and drains their queues, and the tasks that
//! run handlers and flush queued messages ([`hooks::peer_messages`](crate::hooks::peer_messages)
//! has the interface).

use std::collections::HashMap;
use std::sync::Arc;

use bitcoin::secp256k1::PublicKey;
use lightning::ln::msgs::{DecodeError, ErrorAction, Init, LightningError};
use lightning::ln::peer_handler::CustomMessageHandler;
use lightning::ln::wire::CustomMessageReader;
use lightning::types::features::{InitFeatures, NodeFeatures};
use lightning::util::ser::LengthLimitedRead;
use tokio::sync::{mpsc, Notify, Semaphore};

use crate::hooks::peer_messages::{
    lock, Connected, PeerMessageHandler, PeerMessageSender, Queue, RawPeerMessage, CUSTOM_TYPE_MIN,
};

/// Messages received but not yet taken by the dispatcher; beyond this, new ones are dropped
/// (and logged) rather than queued without bound.
const INBOX_CAPACITY: usize = 4096;

/// Handler calls running at once.
const MAX_CONCURRENT_HANDLERS: usize = 256;

/// A message on its way from LDK's thread to the dispatcher.
struct Inbound {
    handler: Arc<dyn PeerMessageHandler>,
    peer: PublicKey,
    message: RawPeerMessage,
}

/// The handlers of a node, assembled by the builder.
#[derive(Default)]
pub(crate) struct PeerMessageHandlers {
    handlers: Vec<Arc<dyn PeerMessageHandler>>,
    queues: Vec<Queue>,
    by_type: HashMap<u16, usize>,
    connected: Connected,
    wake: Arc<Notify>,
}

impl PeerMessageHandlers {
    /// A new outbound queue, flushed with the others (for a handler about to be added, or the
    /// node's own sends).
    pub(crate) fn new_sender(&mut self) -> PeerMessageSender {
        let queue = Queue::default();
        self.queues.push(Arc::clone(&queue));
        PeerMessageSender {
            queue,
            connected: Arc::clone(&self.connected),
            wake: Arc::clone(&self.wake),
        }
    }

    /// Adds a handler. Fails with the first type already claimed, or one outside the custom
    /// range.
    pub(crate) fn add(&mut self, handler: Arc<dyn PeerMessageHandler>) -> Result<(), u16> {
        let types = handler.message_types();
        if let Some(&t) = types
            .iter()
            .find(|t| **t < CUSTOM_TYPE_MIN || self.by_type.contains_key(t))
        {
            return Err(t);
        }
        let index = self.handlers.len();
        for t in types {
            self.by_type.insert(t, index);
        }
        self.handlers.push(handler);
        Ok(())
    }

    /// The LDK slot and the dispatcher's end of its inbox.
    pub(crate) fn into_slot(self) -> (CustomMessageSlot, PeerMessageDispatcher) {
        let (tx, rx) = mpsc::channel(INBOX_CAPACITY);
        let wake = Arc::clone(&self.wake);
        (
            CustomMessageSlot {
                handlers: self,
                inbox: tx,
            },
            PeerMessageDispatcher { inbox: rx, wake },
        )
    }
}

/// LDK's custom message handler slot of the `PeerManager`: reads the claimed types, hands
/// them to the dispatcher, and drains every handler's queue when LDK flushes.
pub struct CustomMessageSlot {
    handlers: PeerMessageHandlers,
    inbox: mpsc::Sender<Inbound>,
}

impl std::fmt::Debug for CustomMessageSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomMessageSlot")
            .field("types", &self.handlers.by_type.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl CustomMessageReader for CustomMessageSlot {
    type CustomMessage = RawPeerMessage;

    fn read<R: LengthLimitedRead>(
        &self,
        message_type: u16,
        buffer: &mut R,
    ) -> Result<Option<RawPeerMessage>, DecodeError> {
        if !self.handlers.by_type.contains_key(&message_type) {
            return Ok(None);
        }
        // A Lightning message is at most 65535 bytes; the reader is limited to this one.
        let len = buffer.remaining_bytes().min(u64::from(u16::MAX)) as usize;
        let mut payload = vec![0u8; len];
        buffer
            .read_exact(&mut payload)
            .map_err(|_| DecodeError::ShortRead)?;
        Ok(Some(RawPeerMessage {
            type_id: message_type,
            payload,
        }))
    }
}

impl CustomMessageHandler for CustomMessageSlot {
    fn handle_custom_message(
        &self,
        message: RawPeerMessage,
        peer: PublicKey,
    ) -> Result<(), LightningError> {
        let Some(&index) = self.handlers.by_type.get(&message.type_id) else {
            return Ok(());
        };
        let handler = Arc::clone(&self.handlers.handlers[index]);
        let type_id = message.type_id;
        self.inbox
            .try_send(Inbound {
                handler,
                peer,
                message,
            })
            .map_err(|_| LightningError {
                err: format!("custom message inbox full: dropped a type {type_id} message"),
                action: ErrorAction::IgnoreAndLog(lightning::util::logger::Level::Warn),
            })
    }

    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, RawPeerMessage)> {
        let mut out = Vec::new();
        for queue in &self.handlers.queues {
            out.append(&mut lock(queue));
        }
        out
    }

    fn peer_disconnected(&self, peer: PublicKey) {
        lock(&self.handlers.connected).remove(&peer);
        for handler in &self.handlers.handlers {
            handler.peer_disconnected(peer);
        }
    }

    fn peer_connected(&self, peer: PublicKey, _msg: &Init, _inbound: bool) -> Result<(), ()> {
        lock(&self.handlers.connected).insert(peer);
        for handler in &self.handlers.handlers {
            handler.peer_connected(peer);
        }
        Ok(())
    }

    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }

    fn provided_init_features(&self, _their_node_id: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
}

/// The tasks behind the slot: one runs handlers as messages arrive, one flushes queued
/// messages to the peers when a handler sends.
pub(crate) struct PeerMessageDispatcher {
    inbox: mpsc::Receiver<Inbound>,
    wake: Arc<Notify>,
}

impl PeerMessageDispatcher {
    /// Runs both loops until `stop`; `flush` is `PeerManager::process_events`.
    pub(crate) async fn run(
        self,
        flush: impl Fn() + Send + 'static,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let Self { mut inbox, wake } = self;
        let limit = Arc::new(Semaphore::new(MAX_CONCURRENT_HANDLERS));
        let mut running = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = wake.notified() => flush(),
                received = inbox.recv() => {
                    let Some(Inbound { handler, peer, message }) = received else { break };
                    let Ok(permit) = Arc::clone(&limit).acquire_owned().await else { break };
                    running.spawn(async move {
                        handler.handle(peer, message).await;
                        drop(permit);
                    });
                }
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        running.abort_all();
    }
}
