//! The two extension points RFQ plugs into (DESIGN.md data flow "RFQ, responder"):
//!
//! - [`PeerMessageHandler`]: custom peer messages (BOLT 1 types ≥ 32768). The node wires it into
//!   LDK's `PeerManager` through [`CustomMessageSlot`]; the default, [`NoPeerMessages`], claims no
//!   type, so LDK ignores odd types and disconnects on unknown even ones, as it would without a
//!   handler.
//! - [`HtlcInterceptor`]: HTLCs to SCIDs the node does not know (`Event::HTLCIntercepted` with
//!   `HTLCInterceptionFlags::ToUnknownSCIDs`). The default, [`NoInterception`], fails every one back,
//!   which is what LDK does without interception.

use std::sync::Mutex;

use bitcoin::secp256k1::PublicKey;
use lightning::io;
use lightning::ln::msgs::{DecodeError, Init, LightningError};
use lightning::ln::peer_handler::CustomMessageHandler;
use lightning::ln::wire::{CustomMessageReader, Type};
use lightning::types::features::{InitFeatures, NodeFeatures};
use lightning::util::ser::{LengthLimitedRead, Writeable, Writer};

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

/// What the node asks of a custom peer message handler (RFQ implements it).
pub trait PeerMessageHandler: Send + Sync {
    /// Whether messages of this type are ours to read.
    fn handles(&self, type_id: u16) -> bool;
    /// A message of a type we handle arrived from `peer`. Replies go through
    /// [`CustomMessageSlot::send`].
    fn handle(&self, peer: PublicKey, message: RawPeerMessage);
    /// A peer connected.
    fn peer_connected(&self, _peer: PublicKey) {}
    /// A peer disconnected.
    fn peer_disconnected(&self, _peer: PublicKey) {}
}

/// The default handler: claims no message type.
#[derive(Debug, Default)]
pub struct NoPeerMessages;

impl PeerMessageHandler for NoPeerMessages {
    fn handles(&self, _type_id: u16) -> bool {
        false
    }
    fn handle(&self, _peer: PublicKey, _message: RawPeerMessage) {}
}

/// LDK's custom message handler slot of the `PeerManager`: reads the types the installed
/// [`PeerMessageHandler`] claims and queues outgoing messages.
pub struct CustomMessageSlot {
    handler: Box<dyn PeerMessageHandler>,
    outbox: Mutex<Vec<(PublicKey, RawPeerMessage)>>,
}

impl std::fmt::Debug for CustomMessageSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomMessageSlot").finish_non_exhaustive()
    }
}

impl CustomMessageSlot {
    /// A slot with `handler` installed.
    pub fn new(handler: Box<dyn PeerMessageHandler>) -> Self {
        Self {
            handler,
            outbox: Mutex::new(Vec::new()),
        }
    }

    /// Queues a message to `peer`; the node flushes the queue (`PeerManager::process_events`)
    /// right after. Dropped by LDK if the peer is not connected.
    pub fn send(&self, peer: PublicKey, message: RawPeerMessage) {
        self.outbox
            .lock()
            .expect("outbox lock")
            .push((peer, message));
    }
}

impl CustomMessageReader for CustomMessageSlot {
    type CustomMessage = RawPeerMessage;

    fn read<R: LengthLimitedRead>(
        &self,
        message_type: u16,
        buffer: &mut R,
    ) -> Result<Option<RawPeerMessage>, DecodeError> {
        if !self.handler.handles(message_type) {
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
        msg: RawPeerMessage,
        sender_node_id: PublicKey,
    ) -> Result<(), LightningError> {
        self.handler.handle(sender_node_id, msg);
        Ok(())
    }

    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, RawPeerMessage)> {
        std::mem::take(&mut *self.outbox.lock().expect("outbox lock"))
    }

    fn peer_disconnected(&self, their_node_id: PublicKey) {
        self.handler.peer_disconnected(their_node_id);
    }

    fn peer_connected(
        &self,
        their_node_id: PublicKey,
        _msg: &Init,
        _inbound: bool,
    ) -> Result<(), ()> {
        self.handler.peer_connected(their_node_id);
        Ok(())
    }

    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }

    fn provided_init_features(&self, _their_node_id: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
}

/// An HTLC LDK intercepted because its next hop is an SCID the node does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterceptedHtlc {
    /// LDK's id for forwarding or failing it.
    pub intercept_id: [u8; 32],
    /// The SCID the sender's onion asks to forward over.
    pub requested_scid: u64,
    /// Payment hash.
    pub payment_hash: [u8; 32],
    /// Amount that arrived.
    pub inbound_msat: u64,
    /// Amount the onion asks to forward.
    pub expected_outbound_msat: u64,
    /// Absolute CLTV expiry of the outgoing HTLC, when LDK knows it.
    pub outgoing_expiry_height: Option<u32>,
}

/// What to do with an intercepted HTLC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterceptDecision {
    /// Forward over the channel with this id to the peer the onion names, with this amount.
    Forward {
        /// Channel id (32 bytes) of a usable channel to the next node.
        channel_id: [u8; 32],
        /// The next node.
        next_node: PublicKey,
        /// Amount to forward (may be below the onion amount; the difference is skimmed).
        amount_msat: u64,
    },
    /// Fail it back to the sender.
    Fail,
}

/// What the node asks of an HTLC interception hook (RFQ's order manager implements it).
pub trait HtlcInterceptor: Send + Sync {
    /// Decides an intercepted HTLC. Called from the event loop; must answer quickly.
    fn intercept(&self, htlc: &InterceptedHtlc) -> InterceptDecision;
    /// An HTLC this hook forwarded was settled (`true`) or failed (`false`) downstream.
    fn resolved(&self, _payment_hash: [u8; 32], _settled: bool) {}
}

/// The default hook: fails every intercepted HTLC back (LDK's behaviour without interception).
#[derive(Debug, Default)]
pub struct NoInterception;

impl HtlcInterceptor for NoInterception {
    fn intercept(&self, _htlc: &InterceptedHtlc) -> InterceptDecision {
        InterceptDecision::Fail
    }
}
