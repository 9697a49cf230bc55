//! Peer connections: outbound connects over lightning-net-tokio, the inbound listener, and the
//! list of peers to reconnect to (persisted in LDK's KV store).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use lightning::util::persist::KVStoreSync;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::error::NodeError;
use crate::ldk::types::{KvStore, PeerManager};

const NAMESPACE: &str = "lnedge";
const KEY: &str = "peers";

/// How long an outbound TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Hands a connected socket to lightning-net-tokio with Nagle's algorithm off. Lightning's
/// exchanges are several small messages written back to back (`commitment_signed` then
/// `revoke_and_ack`, …); with Nagle on, the second write waits for the peer's (delayed) ACK of the
/// first — up to 40 ms per exchange on Linux. lightning-net-tokio leaves the option alone.
fn into_std_nodelay(stream: tokio::net::TcpStream) -> std::io::Result<std::net::TcpStream> {
    stream.set_nodelay(true)?;
    stream.into_std()
}

/// Connects to `node_id` at `addr` and waits until the handshake completed.
pub async fn connect(
    pm: &Arc<PeerManager>,
    node_id: PublicKey,
    addr: SocketAddr,
) -> Result<(), NodeError> {
    if pm.peer_by_node_id(&node_id).is_some() {
        return Ok(());
    }
    let err = |reason: String| NodeError::Connect {
        peer: format!("{node_id}@{addr}"),
        reason,
    };
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| err("TCP connection timed out".into()))?
        .and_then(into_std_nodelay)
        .map_err(|e| err(format!("TCP connection failed: {e}")))?;
    let connection = lightning_net_tokio::setup_outbound(Arc::clone(pm), node_id, stream);
    let mut connection = Box::pin(tokio::spawn(connection));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if pm.peer_by_node_id(&node_id).is_some() {
            return Ok(());
        }
        tokio::select! {
            _ = &mut connection => {
                // LDK closes one of two connections to the same peer: ours may lose to one
                // the node's reconnection (or the peer) opened at the same moment.
                for _ in 0..100 {
                    if pm.peer_by_node_id(&node_id).is_some() {
                        return Ok(());
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                return Err(err("connection closed during the handshake (wrong node id?)".into()));
            }
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
        if tokio::time::Instant::now() > deadline {
            return Err(err("handshake timed out".into()));
        }
    }
}

/// Accepts inbound P2P connections on `listener` until `stop` fires.
pub fn spawn_listener(
    pm: Arc<PeerManager>,
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stop.changed() => return,
            };
            match accepted {
                Ok((stream, _)) => match into_std_nodelay(stream) {
                    Ok(std_stream) => {
                        let pm = Arc::clone(&pm);
                        tokio::spawn(lightning_net_tokio::setup_inbound(pm, std_stream));
                    }
                    Err(e) => tracing::warn!("inbound connection: {e}"),
                },
                Err(e) => tracing::warn!("accept failed: {e}"),
            }
        }
    })
}

/// Peers to keep connected to: node id → `host:port`.
pub struct KnownPeers {
    kv: KvStore,
    peers: Mutex<BTreeMap<PublicKey, String>>,
}

impl KnownPeers {
    /// Loads the list.
    pub fn load(kv: KvStore) -> Self {
        let mut peers = BTreeMap::new();
        if let Ok(bytes) = KVStoreSync::read(&*kv, NAMESPACE, "", KEY) {
            for line in String::from_utf8_lossy(&bytes).lines() {
                if let Some((id, addr)) = line.split_once('@') {
                    if let Ok(id) = PublicKey::from_str(id) {
                        peers.insert(id, addr.to_string());
                    }
                }
            }
        }
        Self {
            kv,
            peers: Mutex::new(peers),
        }
    }

    fn save(&self, peers: &BTreeMap<PublicKey, String>) -> Result<(), NodeError> {
        let text: String = peers
            .iter()
            .map(|(id, addr)| format!("{id}@{addr}\n"))
            .collect();
        KVStoreSync::write(&*self.kv, NAMESPACE, "", KEY, text.into_bytes())
            .map_err(|e| NodeError::io("saving the peer list", e))
    }

    /// Remembers a peer.
    pub fn remember(&self, id: PublicKey, addr: &str) -> Result<(), NodeError> {
        let mut peers = self.peers.lock().expect("lock");
        if peers.get(&id).map(String::as_str) != Some(addr) {
            peers.insert(id, addr.to_string());
            self.save(&peers)?;
        }
        Ok(())
    }

    /// Forgets a peer.
    pub fn forget(&self, id: &PublicKey) -> Result<(), NodeError> {
        let mut peers = self.peers.lock().expect("lock");
        if peers.remove(id).is_some() {
            self.save(&peers)?;
        }
        Ok(())
    }

    /// The list.
    pub fn all(&self) -> Vec<(PublicKey, String)> {
        self.peers
            .lock()
            .expect("lock")
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }
}
