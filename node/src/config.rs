//! How a node is configured: where it keeps its state, which chain it follows, where it listens,
//! and its policies. Built in code with [`NodeBuilder`](crate::NodeBuilder) or read from
//! `lnedge.toml` by the CLI.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use bitcoin::Network;

pub use crate::ldk::persist::PersistenceOrder;

/// Where blocks, fee estimates and broadcasts go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainSource {
    /// A Bitcoin Core (or devnet) JSON-RPC server.
    BitcoindRpc {
        /// `http://host:port`.
        url: String,
        /// How to authenticate.
        auth: RpcCredentials,
    },
    /// An embedded devnet (regtest) started inside the node, keeping its chain in
    /// `<data dir>/devnet` and serving its RPC on a loopback port (feature `devnet`).
    #[cfg(feature = "devnet")]
    EmbeddedDevnet,
}

/// Credentials for the JSON-RPC server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RpcCredentials {
    /// User name and password.
    UserPass {
        /// User.
        user: String,
        /// Password.
        password: String,
    },
    /// Core's cookie file (`__cookie__:<hex>`), read at start-up.
    CookieFile(PathBuf),
}

/// Which inbound channel requests to accept (LDK 0.3 asks about every one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InboundChannelPolicy {
    /// Accept every request of at least `min_channel_sat`.
    AcceptAll {
        /// Smallest channel accepted.
        min_channel_sat: u64,
    },
    /// Accept only from these peers.
    AcceptFrom(Vec<PublicKey>),
    /// Refuse every inbound channel.
    RejectAll,
}

impl InboundChannelPolicy {
    /// The smallest channel the default policy accepts.
    pub const DEFAULT_MIN_CHANNEL_SAT: u64 = 20_000;
}

impl Default for InboundChannelPolicy {
    fn default() -> Self {
        Self::AcceptAll {
            min_channel_sat: Self::DEFAULT_MIN_CHANNEL_SAT,
        }
    }
}

impl InboundChannelPolicy {
    /// Whether a request from `peer` for `funding_sat` is accepted; `Err` says why not.
    pub fn decide(&self, peer: &PublicKey, funding_sat: u64) -> Result<(), String> {
        match self {
            Self::AcceptAll { min_channel_sat } if funding_sat < *min_channel_sat => Err(format!(
                "channel of {funding_sat} sat is below the minimum of {min_channel_sat} sat"
            )),
            Self::AcceptAll { .. } => Ok(()),
            Self::AcceptFrom(peers) if peers.contains(peer) => Ok(()),
            Self::AcceptFrom(_) => {
                Err("inbound channels are accepted from listed peers only".into())
            }
            Self::RejectAll => Err("this node accepts no inbound channels".into()),
        }
    }
}

/// Everything a node needs to start.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Directory of the seed, LDK's state, the wallet and the payment database.
    pub data_dir: PathBuf,
    /// Bitcoin network.
    pub network: Network,
    /// Alias announced with public channels (at most 32 bytes).
    pub alias: String,
    /// P2P listen address (`None`: outbound connections only). Port 0 picks a free port.
    pub listen: Option<SocketAddr>,
    /// Chain backend.
    pub chain: ChainSource,
    /// Admin HTTP API address (`None`: no API). Port 0 picks a free port.
    pub admin_api: Option<SocketAddr>,
    /// Inbound channel policy.
    pub inbound_channels: InboundChannelPolicy,
    /// How often to poll the chain backend for new blocks.
    pub chain_poll_interval: Duration,
    /// How often to refresh fee estimates, rebroadcast, reconnect peers and re-announce.
    pub maintenance_interval: Duration,
    /// Process received and forwarded HTLCs as soon as they are irrevocably committed, instead
    /// of after LDK's random batching delay (log-normal, mean ≈ 50 ms, which hides the timing
    /// of forwards from observers). Off by default; a merchant or wallet that mostly receives,
    /// or a test network, can turn it on for ~10× lower payment latency.
    pub immediate_htlc_processing: bool,
    /// How long an installed HTLC interceptor may take to decide an intercepted HTLC before
    /// the node fails it back (default 10 s; LDK asks that intercepted HTLCs be resolved within
    /// seconds).
    pub htlc_decision_timeout: Duration,
    /// Confirmed wallet coins kept back per anchor channel, to fee-bump its commitment if it is
    /// force-closed: opening a channel is refused when the wallet would keep less than this times
    /// the number of anchor channels (the new one included). 0 turns the check off.
    pub anchor_reserve_sat: u64,
    /// Rebuild a missing (or empty) wallet database from the seed, rescanning the chain from
    /// this height: start-up refuses a lost `wallet.sqlite` on a node with history (a new
    /// wallet would start at the tip and miss older coins), and this is the way out. Give a
    /// height at or below the wallet's first transaction (0: the whole chain). Refused when the
    /// wallet exists. `None` (default): a new wallet starts at the tip.
    pub restore_wallet_from_height: Option<u32>,
    /// The order in which channel state reaches the disk. The default,
    /// [`PersistenceOrder::ManagerFirst`], writes the channel manager before every monitor
    /// update it knows of, so a crash never force-closes a channel on restart.
    pub persistence_order: PersistenceOrder,
}

impl NodeConfig {
    /// Default [`NodeConfig::anchor_reserve_sat`]: enough for a commitment CPFP at a high fee rate.
    pub const DEFAULT_ANCHOR_RESERVE_SAT: u64 = 25_000;

    /// Defaults for a node keeping its state in `data_dir`: regtest, alias `lnedge`, no
    /// listener, no API, an embedded devnet (without the `devnet` feature: a local regtest
    /// `bitcoind` at `http://127.0.0.1:18443` with its cookie in `$HOME/.bitcoin/regtest`).
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            network: Network::Regtest,
            alias: "lnedge".into(),
            listen: None,
            #[cfg(feature = "devnet")]
            chain: ChainSource::EmbeddedDevnet,
            #[cfg(not(feature = "devnet"))]
            chain: ChainSource::BitcoindRpc {
                url: "http://127.0.0.1:18443".into(),
                auth: RpcCredentials::CookieFile(
                    std::env::var_os("HOME")
                        .map(PathBuf::from)
                        .unwrap_or_default()
                        .join(".bitcoin/regtest/.cookie"),
                ),
            },
            admin_api: None,
            inbound_channels: InboundChannelPolicy::default(),
            chain_poll_interval: Duration::from_millis(500),
            maintenance_interval: Duration::from_secs(30),
            immediate_htlc_processing: false,
            persistence_order: PersistenceOrder::default(),
            htlc_decision_timeout: crate::hooks::htlc_interception::DEFAULT_DECISION_TIMEOUT,
            anchor_reserve_sat: Self::DEFAULT_ANCHOR_RESERVE_SAT,
            restore_wallet_from_height: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::{Secp256k1, SecretKey};

    fn key(byte: u8) -> PublicKey {
        PublicKey::from_secret_key(
            &Secp256k1::new(),
            &SecretKey::from_slice(&[byte; 32]).unwrap(),
        )
    }

    #[test]
    fn inbound_channel_policies_decide_and_say_why() {
        let (friend, stranger) = (key(1), key(2));
        let default = InboundChannelPolicy::default();
        assert!(default.decide(&stranger, 20_000).is_ok());
        let small = default.decide(&stranger, 19_999).unwrap_err();
        assert!(small.contains("below the minimum"), "{small}");
        let listed = InboundChannelPolicy::AcceptFrom(vec![friend]);
        assert!(listed.decide(&friend, 1).is_ok());
        assert!(listed
            .decide(&stranger, 1_000_000)
            .unwrap_err()
            .contains("listed peers"));
        assert!(InboundChannelPolicy::RejectAll
            .decide(&friend, 1_000_000)
            .is_err());
    }
}
