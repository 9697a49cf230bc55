//! [`Peers`]: connecting to peers, remembering them for reconnection, and custom messages.

use std::net::SocketAddr;
use std::sync::Arc;

use bitcoin::secp256k1::PublicKey;

use crate::error::NodeError;
use crate::hooks::peer_messages::{PeerMessageSender, RawPeerMessage, SendError};
use crate::ldk::peers::KnownPeers;
use crate::ldk::types::PeerManager;
use crate::model::PeerInfo;

/// The node's peers. Reached by [`Node::peers`](crate::Node::peers).
#[derive(Clone)]
pub struct Peers {
    pub(crate) peer_manager: Arc<PeerManager>,
    pub(crate) known: Arc<KnownPeers>,
    pub(crate) messages: PeerMessageSender,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peers").finish_non_exhaustive()
    }
}

impl Peers {
    /// Connects to a peer at `address` (`host:port`) and remembers it for reconnection.
    pub async fn connect(&self, node_id: PublicKey, address: &str) -> Result<(), NodeError> {
        let addr = resolve(address).await?;
        crate::ldk::peers::connect(&self.peer_manager, node_id, addr).await?;
        self.known.remember(node_id, address)?;
        Ok(())
    }

    /// Disconnects a peer and forgets it (no reconnection).
    pub fn disconnect(&self, node_id: PublicKey) -> Result<(), NodeError> {
        if !self.is_connected(&node_id) {
            return Err(NodeError::NotFound(format!(
                "peer {node_id} is not connected"
            )));
        }
        self.known.forget(&node_id)?;
        self.peer_manager.disconnect_by_node_id(node_id);
        Ok(())
    }

    /// Whether `node_id` is connected.
    pub fn is_connected(&self, node_id: &PublicKey) -> bool {
        self.peer_manager.peer_by_node_id(node_id).is_some()
    }

    /// Connected peers.
    pub fn list(&self) -> Vec<PeerInfo> {
        self.peer_manager
            .list_peers()
            .into_iter()
            .map(|p| PeerInfo {
                node_id: p.counterparty_node_id,
                address: p.socket_address.map(|a| a.to_string()),
                inbound: p.is_inbound_connection,
            })
            .collect()
    }

    /// Sends a custom peer message through the node's own queue (features have their own, see
    /// [`PeerMessageSender`]).
    pub fn send_custom_message(
        &self,
        peer: PublicKey,
        message: RawPeerMessage,
    ) -> Result<(), NodeError> {
        self.messages.send(peer, message).map_err(|e| match e {
            SendError::NotCustomType(_) => NodeError::invalid(e.to_string()),
            SendError::NotConnected(_) => NodeError::NotFound(e.to_string()),
        })
    }

    /// Remembered peers not connected right now, and their addresses.
    pub(crate) fn disconnected_known(&self) -> Vec<(PublicKey, String)> {
        self.known
            .all()
            .into_iter()
            .filter(|(id, _)| !self.is_connected(id))
            .collect()
    }
}

/// Resolves `host:port`.
pub(crate) async fn resolve(address: &str) -> Result<SocketAddr, NodeError> {
    let mut addrs = tokio::net::lookup_host(address.trim())
        .await
        .map_err(|e| NodeError::invalid(format!("invalid address `{address}`: {e}")))?;
    addrs
        .next()
        .ok_or_else(|| NodeError::invalid(format!("address `{address}` resolves to nothing")))
}
