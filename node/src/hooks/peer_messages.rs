//! Custom peer messages (BOLT 1 types 32768–65535), the extension point RFQ speaks through.
//!
//! A [`PeerMessageHandler`] claims a set of message types. Messages of those types are read by
//! LDK's `PeerManager` (through the node's `CustomMessageSlot`, `ldk::custom_messages`), handed
//! to a dispatcher task and handled there, off LDK's peer threads, so a handler may await an oracle or a store. Each handler gets
//! its own [`PeerMessageSender`]: a queue it can push to at any time (a reply, or a request of
//! its own), which wakes the node's flush task, which calls `PeerManager::process_events`.
//! (lightning-liquidity's message queue works the same way.) Handlers are told when peers
//! connect and disconnect.
//!
//! With no handler, no type is claimed: LDK ignores odd unknown types and disconnects peers
//! that send even ones, as it does without a custom handler.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use bitcoin::secp256k1::PublicKey;
use lightning::io;
use lightning::ln::wire::Type;
use lightning::util::ser::{Writeable, Writer};
use tokio::sync::Notify;

use super::BoxFuture;

/// Lowest custom message type (BOLT 1).
pub const CUSTOM_TYPE_MIN: u16 = 32768;

/// A custom peer message: its BOLT 1 type and payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPeerMessage {
    /// Message type (custom range 32768–65535).
    pub type_id: u16,
    /// Payload after the type.
    pub payload: Vec<u8>,
}

impl Writeable for RawPeerMessage {
    fn write<W: Writer>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(&self.payload)
    }
}

impl Type for RawPeerMessage {
    fn type_id(&self) -> u16 {
        self.type_id
    }
}

/// What the node asks of a custom peer message handler (RFQ's adapter implements it).
pub trait PeerMessageHandler: Send + Sync + 'static {
    /// The message types this handler reads, fixed for its life. Two handlers may not claim
    /// the same type (the builder refuses).
    fn message_types(&self) -> Vec<u16>;

    /// A message of one of its types arrived from `peer`. Runs as a task on the node's
    /// runtime, not on LDK's threads: it may await. Answers go through the handler's
    /// [`PeerMessageSender`].
    fn handle(self: Arc<Self>, peer: PublicKey, message: RawPeerMessage) -> BoxFuture<'static, ()>;

    /// A peer connected (after the `init` exchange). Called on LDK's thread: must not block.
    fn peer_connected(&self, _peer: PublicKey) {}

    /// A peer disconnected. Called on LDK's thread: must not block.
    fn peer_disconnected(&self, _peer: PublicKey) {}
}

/// Why a message could not be queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The type is below the custom range.
    #[error("message type {0} is not in the custom range (32768-65535)")]
    NotCustomType(u16),
    /// The peer is not connected (LDK would drop the message).
    #[error("peer {0} is not connected")]
    NotConnected(PublicKey),
}

/// One sender's queue of messages to flush.
pub(crate) type Queue = Arc<Mutex<Vec<(PublicKey, RawPeerMessage)>>>;

/// The peers connected right now, as the slot saw them connect and disconnect.
pub(crate) type Connected = Arc<Mutex<HashSet<PublicKey>>>;

/// One handler's outbound queue. Cheap to clone; [`send`](Self::send) may be called at any
/// time, from any thread.
#[derive(Clone)]
pub struct PeerMessageSender {
    pub(crate) queue: Queue,
    pub(crate) connected: Connected,
    pub(crate) wake: Arc<Notify>,
}

impl std::fmt::Debug for PeerMessageSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerMessageSender").finish_non_exhaustive()
    }
}

impl PeerMessageSender {
    /// Queues `message` to `peer` and wakes the flush task. Refused when the type is not a
    /// custom one or the peer is not connected; a peer that disconnects before the flush loses
    /// the message (LDK drops it), as with any Lightning message.
    pub fn send(&self, peer: PublicKey, message: RawPeerMessage) -> Result<(), SendError> {
        if message.type_id < CUSTOM_TYPE_MIN {
            return Err(SendError::NotCustomType(message.type_id));
        }
        if !self.is_connected(&peer) {
            return Err(SendError::NotConnected(peer));
        }
        lock(&self.queue).push((peer, message));
        self.wake.notify_one();
        Ok(())
    }

    /// Whether `peer` is connected.
    pub fn is_connected(&self, peer: &PublicKey) -> bool {
        lock(&self.connected).contains(peer)
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
