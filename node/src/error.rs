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
