//! The node's errors, one enum per boundary: [`NodeError`] for what the handles do,
//! [`BuildError`] and [`StartError`] for the lifecycle, and the wallet's and stores' own.

use crate::chain::ChainError;
use bitcoin::Network;

/// Errors of [`Node`](crate::Node) operations. `InvalidInput` and `NotFound` are the caller's
/// fault (the admin API answers them with 400 and 404); the rest are the node's.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A parameter was wrong; the text says which and why.
    #[error("{0}")]
    InvalidInput(String),
    /// The named thing (peer, channel, payment) does not exist.
    #[error("{0}")]
    NotFound(String),
    /// LDK refused the operation.
    #[error("{0}")]
    Lightning(String),
    /// Connecting to a peer failed.
    #[error("cannot connect to {peer}: {reason}")]
    Connect {
        /// The peer.
        peer: String,
        /// What went wrong.
        reason: String,
    },
    /// The on-chain wallet failed.
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// The chain backend failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The payment database failed.
    #[error(transparent)]
    Payments(#[from] PaymentStoreError),
    /// Reading or writing the node's files failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Building the node failed.
    #[error("cannot build the node: {0}")]
    Build(#[from] BuildError),
    /// Starting the node failed.
    #[error("cannot start the node: {0}")]
    Start(#[from] StartError),
    /// Timed out waiting.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The node was not configured for this (a feature or role it does not have).
    #[error("{0}")]
    NotEnabled(String),
    /// A feature's own machinery failed (its store, its library).
    #[error("{name}: {source}")]
    Feature {
        /// The feature.
        name: &'static str,
        /// What went wrong (the feature's own error type).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl NodeError {
    pub(crate) fn invalid(text: impl Into<String>) -> Self {
        Self::InvalidInput(text.into())
    }

    pub(crate) fn ldk(what: &str, e: impl std::fmt::Debug) -> Self {
        Self::Lightning(format!("{what}: {e:?}"))
    }

    pub(crate) fn io(what: impl Into<String>, source: impl Into<std::io::Error>) -> Self {
        Self::Io {
            what: what.into(),
            source: source.into(),
        }
    }
}

/// Why [`NodeBuilder::build`](crate::NodeBuilder::build) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The configuration cannot work; the text says why.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Another node (in this process or another) has the data directory open.
    #[error("data dir {} is in use by {}", dir.display(), holder.map_or_else(|| "another process".to_string(), |pid| format!("process {pid}")))]
    DataDirInUse {
        /// The data directory.
        dir: std::path::PathBuf,
        /// The holder's process id, when it could be read from `<data dir>/lock`.
        holder: Option<u32>,
    },
    /// The chain source follows another network than the one configured.
    #[error("network mismatch: the node is configured for {configured} but the chain source at {url} is on {chain}")]
    NetworkMismatch {
        /// The configured network.
        configured: Network,
        /// The chain source's `getblockchaininfo.chain` (`main`, `test`, `testnet4`,
        /// `signet`, `regtest`).
        chain: String,
        /// The chain source's URL.
        url: String,
    },
    /// Reading or writing the node's files failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The seed file is not 32 bytes long.
    #[error("seed file {path} holds {len} bytes, expected 32")]
    BadSeed {
        /// The file.
        path: std::path::PathBuf,
        /// Its length.
        len: usize,
    },
    /// A piece of LDK state on disk does not decode.
    #[error("cannot read the {what} from the data directory: {reason:?}")]
    CorruptState {
        /// Which state (channel manager, network graph, scorer, sweeper).
        what: &'static str,
        /// LDK's decode error.
        reason: lightning::ln::msgs::DecodeError,
    },
    /// Channel monitors are on disk (`ldk/monitors/`) but the channel manager (`ldk/manager`)
    /// is not: a new manager would know none of those channels.
    #[error(
        "ldk/monitors holds {monitors} channel monitor(s) but ldk/manager is missing: the node \
         would start with no channels, unable to use, close or be paid from them; restore \
         ldk/manager from a backup (one at least as new as the monitors) and start again"
    )]
    MissingChannelManager {
        /// How many monitors are on disk.
        monitors: usize,
    },
    /// The channel manager has channels whose monitors are not on disk; LDK cannot run them
    /// without risking their funds.
    #[error(
        "ldk/manager has channels whose monitors are missing from ldk/monitors (at least: {}): \
         the node could not watch the chain for them; restore ldk/monitors from a backup (each \
         monitor at least as new as the manager) and start again",
        channel_list(channels)
    )]
    MissingChannelMonitors {
        /// The channels found without a monitor (LDK stops at the first).
        channels: Vec<lightning::ln::types::ChannelId>,
    },
    /// The wallet database is missing or holds no wallet, but the node has history: a new
    /// wallet would be born at the chain tip and not see the coins the old one had.
    #[error(
        "the wallet database {} is missing or empty, but this node has {history}: a new wallet \
         would start at the chain tip and miss the coins it had; restore wallet.sqlite from a \
         backup, or rebuild the wallet from the seed with a rescan from a height at or below its \
         first transaction: `lnedge node run --restore-wallet-from-height H` \
         (`restore_wallet_from_height` in lnedge.toml, \
         `NodeBuilder::restore_wallet_from_height`; 0 scans the whole chain)",
        path.display()
    )]
    WalletMissing {
        /// The wallet database.
        path: std::path::PathBuf,
        /// What the node has (channel monitors, a channel manager, payments).
        history: String,
    },
    /// The chain monitor refused a channel monitor read from disk.
    #[error("cannot watch channel {0}")]
    WatchChannel(lightning::ln::types::ChannelId),
    /// The chain backend failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The on-chain wallet failed to open.
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// The payment database failed to open.
    #[error(transparent)]
    Payments(#[from] PaymentStoreError),
    /// Two peer message handlers claim this type, or it is not a custom type (< 32768).
    #[error("custom message type {0} is claimed twice or is not a custom type")]
    MessageTypeTaken(u16),
    /// A second HTLC interceptor was installed.
    #[error("an HTLC interceptor is already installed")]
    InterceptorTaken,
    /// A feature failed to install.
    #[error("{name}: {source}")]
    Feature {
        /// The feature.
        name: &'static str,
        /// What went wrong (the feature's own error type).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The embedded devnet failed to start.
    #[cfg(feature = "devnet")]
    #[error("embedded devnet: {0}")]
    Devnet(String),
}

fn channel_list(channels: &[lightning::ln::types::ChannelId]) -> String {
    channels
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<lnedge_storage::dir_lock::DirLockError> for BuildError {
    fn from(e: lnedge_storage::dir_lock::DirLockError) -> Self {
        use lnedge_storage::dir_lock::DirLockError;
        match e {
            DirLockError::InUse { dir, holder } => BuildError::DataDirInUse { dir, holder },
            DirLockError::Io { dir, source } => {
                BuildError::io(format!("locking data dir {}", dir.display()), source)
            }
        }
    }
}

impl BuildError {
    pub(crate) fn io(what: impl Into<String>, source: impl Into<std::io::Error>) -> Self {
        Self::Io {
            what: what.into(),
            source: source.into(),
        }
    }
}

/// Why [`Node::start`](crate::Node::start) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The node was started before.
    #[error("the node is already started")]
    AlreadyStarted,
    /// Reading the node's own records failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Errors of the on-chain wallet.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// Persistence failed.
    #[error(transparent)]
    Store(#[from] WalletStoreError),
    /// The wallet could not be created or loaded.
    #[error("wallet: {0}")]
    Setup(String),
    /// Building the transaction failed (e.g. insufficient funds).
    #[error("cannot build transaction: {0}")]
    Build(String),
    /// Signing failed or left inputs unsigned.
    #[error("cannot sign transaction: {0}")]
    Sign(String),
    /// The address is for another network.
    #[error("address is not valid for {0}")]
    WrongNetwork(Network),
    /// Broadcasting failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
}

/// Errors of the wallet store.
#[derive(Debug, thiserror::Error)]
pub enum WalletStoreError {
    /// SQLite failed.
    #[error("wallet database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored change set could not be read back.
    #[error("wallet database holds an unreadable change set: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// Errors of the payment store.
#[derive(Debug, thiserror::Error)]
#[error("payment database: {0}")]
pub struct PaymentStoreError(#[from] rusqlite::Error);
