//! The node's error type.

use crate::chain::ChainError;
use crate::payments::PaymentStoreError;
use crate::wallet::WalletError;

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
    /// Start-up failed.
    #[error("cannot start node: {0}")]
    Startup(String),
    /// Timed out waiting.
    #[error("timed out: {0}")]
    Timeout(String),
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
