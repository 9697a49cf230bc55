//! An ldk-node in this process, configured for devnet, with its events logged.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ldk_node::bitcoin::secp256k1::PublicKey;
use ldk_node::bitcoin::Network;
use ldk_node::config::Config;
use ldk_node::lightning::ln::msgs::SocketAddress;
use ldk_node::logger::LogLevel;
use ldk_node::payment::{PaymentDirection, PaymentKind, PaymentStatus};
use ldk_node::{Builder, ChannelDetails, Event, Node, UserChannelId};

use crate::devnet::{Devnet, RPC_PASSWORD, RPC_USER};
use crate::lnedge::Lnedge;
use crate::wait::wait_until;

/// Adjusts ldk-node's builder (kept to build the node again on restart).
pub type Configure = Box<dyn Fn(&mut Builder) + Send + Sync>;

/// An ldk-node with its default configuration (anchor channels on), its chain from devnet.
pub struct Ldk {
    /// Name in messages.
    pub name: String,
    /// The node.
    pub node: Arc<Node>,
    /// Its listening address (kept across restarts).
    pub addr: SocketAddress,
    /// Every event it raised, in order (the drain thread marks them handled).
    pub events: Arc<Mutex<Vec<Event>>>,
    root: PathBuf,
    rpc_port: u16,
    configure: Configure,
    draining: Arc<AtomicBool>,
    drain: Option<JoinHandle<()>>,
}

impl Ldk {
    /// Builds and starts an ldk-node in `root/name`; `configure` adjusts the builder.
    pub fn start(
        root: &Path,
        name: &str,
        devnet: &Devnet,
        configure: impl Fn(&mut Builder) + Send + Sync + 'static,
    ) -> Ldk {
        let listen = crate::free_loopback_addr();
        let addr = SocketAddress::TcpIpV4 {
            addr: match listen.ip() {
                std::net::IpAddr::V4(ip) => ip.octets(),
                std::net::IpAddr::V6(_) => unreachable!("bound on 127.0.0.1"),
            },
            port: listen.port(),
        };
        let configure: Configure = Box::new(configure);
        let node = build_and_start(root, name, devnet.port, &addr, &configure);
        let mut ldk = Ldk {
            name: name.to_string(),
            node,
            addr,
            events: Arc::default(),
            root: root.to_path_buf(),
            rpc_port: devnet.port,
            configure,
            draining: Arc::new(AtomicBool::new(false)),
            drain: None,
        };
        ldk.drain_events();
        ldk
    }

    /// Stops the node and starts it again from its storage, on the same address.
    pub fn restart(&mut self) {
        self.stop();
        self.node = build_and_start(
            &self.root,
            &self.name,
            self.rpc_port,
            &self.addr,
            &self.configure,
        );
        self.drain_events();
    }

    fn drain_events(&mut self) {
        self.draining = Arc::new(AtomicBool::new(true));
        let (node, events, draining) = (
            Arc::clone(&self.node),
            Arc::clone(&self.events),
            Arc::clone(&self.draining),
        );
        self.drain = Some(std::thread::spawn(move || {
            while draining.load(Ordering::Relaxed) {
                match node.next_event() {
                    Some(event) => {
                        events.lock().expect("events").push(event);
                        let _ = node.event_handled();
                    }
                    None => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }));
    }

    /// The node id.
    pub fn node_id(&self) -> PublicKey {
        self.node.node_id()
    }

    /// `node_id@addr` for `lnedge peer connect`.
    pub fn uri(&self) -> String {
        format!("{}@{}", self.node_id(), self.addr)
    }

    /// Funds the wallet with a mature coinbase and waits until the node sees it.
    pub fn fund(&self, devnet: &Devnet) {
        let address = self.node.onchain_payment().new_address().expect("address");
        devnet.fund(&address, 1);
        wait_until(&format!("{} sees its coins", self.name), || {
            (self.node.list_balances().spendable_onchain_balance_sats > 0).then_some(())
        });
    }

    /// Connects to an lnedge node (and keeps reconnecting to it).
    pub fn connect(&self, peer: &Lnedge) {
        let addr: SocketAddress = peer.p2p.parse().expect("p2p address");
        self.node
            .connect(peer.node_id, addr, true)
            .expect("ldk-node connects");
    }

    /// Opens a channel of `sat` (giving `push_msat` to the peer) to a connected peer at `addr`:
    /// its user channel id and channel id (hex), once the funding transaction is broadcast.
    pub fn open(
        &self,
        devnet: &Devnet,
        peer: PublicKey,
        addr: SocketAddress,
        sat: u64,
        push_msat: u64,
    ) -> (UserChannelId, String) {
        let ucid = self
            .node
            .open_channel(peer, addr, sat, Some(push_msat), None)
            .expect("ldk-node opens a channel");
        let (channel_id, txid) = wait_until(&format!("{}'s channel is funded", self.name), || {
            let c = self.channel_by(|c| c.user_channel_id == ucid)?;
            Some((c.channel_id.to_string(), c.funding_txo?.txid))
        });
        devnet.wait_for_tx(&txid.to_string());
        (ucid, channel_id)
    }

    /// The first channel that `pick` chooses.
    pub fn channel_by(&self, pick: impl Fn(&ChannelDetails) -> bool) -> Option<ChannelDetails> {
        self.node.list_channels().into_iter().find(|c| pick(c))
    }

    /// The channel with `channel_id` (hex), if the node still has it.
    pub fn channel(&self, channel_id: &str) -> Option<ChannelDetails> {
        self.channel_by(|c| c.channel_id.to_string() == channel_id)
    }

    /// Waits until a Lightning payment with `payment_hash` (hex) was received; its amount.
    pub fn wait_received(&self, payment_hash: &str) -> u64 {
        wait_until(&format!("{} receives {payment_hash}", self.name), || {
            self.node
                .list_payments_with_filter(|p| {
                    p.direction == PaymentDirection::Inbound
                        && p.status == PaymentStatus::Succeeded
                        && hash_of(&p.kind).is_some_and(|h| h == payment_hash)
                })
                .first()
                .and_then(|p| p.amount_msat)
        })
    }

    /// Waits until the outbound payment `id` ended; panics unless it succeeded.
    pub fn wait_sent(&self, id: &ldk_node::lightning::ln::channelmanager::PaymentId) {
        let status = wait_until(&format!("{} payment ends", self.name), || {
            self.node
                .payment(id)
                .map(|p| p.status)
                .filter(|s| *s != PaymentStatus::Pending)
        });
        assert_eq!(
            status,
            PaymentStatus::Succeeded,
            "{}: payment {id:?}: {:?}; events: {:?}",
            self.name,
            self.node.payment(id),
            self.events
                .lock()
                .expect("events")
                .iter()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
        );
    }

    /// Stops the node (and the event drain).
    pub fn stop(&mut self) {
        self.draining.store(false, Ordering::Relaxed);
        if let Some(drain) = self.drain.take() {
            let _ = drain.join();
        }
        let _ = self.node.stop();
    }
}

/// The payment hash (hex) of a Lightning payment.
fn hash_of(kind: &PaymentKind) -> Option<String> {
    match kind {
        PaymentKind::Bolt11 { hash, .. } | PaymentKind::Bolt11Jit { hash, .. } => {
            Some(hash.to_string())
        }
        PaymentKind::Spontaneous { hash, .. } => Some(hash.to_string()),
        PaymentKind::Bolt12Offer { hash, .. } | PaymentKind::Bolt12Refund { hash, .. } => {
            hash.map(|h| h.to_string())
        }
        PaymentKind::Onchain { .. } => None,
    }
}

fn build_and_start(
    root: &Path,
    name: &str,
    rpc_port: u16,
    addr: &SocketAddress,
    configure: &Configure,
) -> Arc<Node> {
    let config = Config {
        network: Network::Regtest,
        ..Config::default()
    };
    let mut builder = Builder::from_config(config);
    builder
        .set_storage_dir_path(root.join(name).to_string_lossy().into_owned())
        .set_filesystem_logger(
            Some(
                root.join(format!("{name}.log"))
                    .to_string_lossy()
                    .into_owned(),
            ),
            // INTEROP_LOG (any value) turns on LDK's trace logs here too.
            Some(match std::env::var_os("INTEROP_LOG") {
                Some(_) => LogLevel::Trace,
                None => LogLevel::Debug,
            }),
        )
        .set_chain_source_bitcoind_rpc(
            "127.0.0.1".to_string(),
            rpc_port,
            RPC_USER.to_string(),
            RPC_PASSWORD.to_string(),
        );
    builder
        .set_listening_addresses(vec![addr.clone()])
        .expect("listening address");
    builder
        .set_node_alias(name.to_string())
        .expect("node alias");
    configure(&mut builder);
    let node = Arc::new(builder.build().expect("ldk-node builds"));
    node.start().expect("ldk-node starts");
    node
}

impl Drop for Ldk {
    fn drop(&mut self) {
        self.stop();
    }
}
