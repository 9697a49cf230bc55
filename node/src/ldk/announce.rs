//! The node announcement: alias and listen address, broadcast when we have a ready public
//! channel (peers only accept it then, and BOLT 12 payers need it to route onion messages).

use std::net::SocketAddr;
use std::sync::Arc;

use lightning::ln::msgs::SocketAddress;

use crate::ldk::types::{ChannelManager, PeerManager};

/// Broadcasts our node announcement when it would be accepted.
#[derive(Clone)]
pub(crate) struct Announcer {
    pub(crate) channel_manager: Arc<ChannelManager>,
    pub(crate) peer_manager: Arc<PeerManager>,
    pub(crate) alias: String,
    pub(crate) listen_addr: Option<SocketAddr>,
}

impl Announcer {
    /// Broadcasts the announcement if we listen and have a ready public channel.
    pub(crate) fn announce(&self) {
        let Some(addr) = self.listen_addr else { return };
        if !self
            .channel_manager
            .list_channels()
            .iter()
            .any(|c| c.is_announced && c.is_channel_ready)
        {
            return;
        }
        let mut alias = [0u8; 32];
        let bytes = self.alias.as_bytes();
        let n = bytes.len().min(32);
        alias[..n].copy_from_slice(&bytes[..n]);
        let address = match addr {
            SocketAddr::V4(a) => SocketAddress::TcpIpV4 {
                addr: a.ip().octets(),
                port: a.port(),
            },
            SocketAddr::V6(a) => SocketAddress::TcpIpV6 {
                addr: a.ip().octets(),
                port: a.port(),
            },
        };
        self.peer_manager
            .broadcast_node_announcement([0; 3], alias, vec![address]);
    }
}
