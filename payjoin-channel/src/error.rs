//! Error types.

use std::error::Error as StdError;

use crate::types::UnknownValue;

/// An error reported by an implementation of one of the boundary traits
/// ([`ChannelOpener`](crate::ChannelOpener), [`ReceiverWallet`](crate::ReceiverWallet),
/// [`ChainWatch`](crate::ChainWatch)). Its details are logged, never sent to the payer.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct BackendError(Box<dyn StdError + Send + Sync>);

impl BackendError {
    /// Wraps any error of the implementation.
    pub fn new(error: impl StdError + Send + Sync + 'static) -> Self {
        Self(Box::new(error))
    }

    /// Wraps an already boxed error.
    pub fn from_boxed(error: Box<dyn StdError + Send + Sync>) -> Self {
        Self(error)
    }
}

/// Errors of the durable store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored row could not be decoded (the database was edited or is from another version).
    #[error("corrupt row in {table}: {what}")]
    Corrupt {
        /// Table of the row.
        table: &'static str,
        /// What could not be decoded.
        what: &'static str,
    },
    /// A stored schedule state or abandon reason is not one this version knows.
    #[error("corrupt row in schedules: {0}")]
    UnknownValue(#[from] UnknownValue),
    /// The blocking task that ran the store call (off the async workers) did not finish: it
    /// panicked, or the runtime is shutting down.
    #[error("store task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Errors when scheduling channels.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// No channel in the request.
    #[error("a schedule needs at least one channel")]
    NoChannels,
    /// A channel amount is zero, or the sum overflows.
    #[error("invalid channel amount")]
    InvalidAmount,
    /// The payjoin endpoint or address could not form a BIP 21 URI.
    #[error("cannot build the BIP 21 URI: {0}")]
    Uri(String),
    /// The wallet could not give a fresh address.
    #[error("wallet: {0}")]
    Wallet(#[source] BackendError),
    /// The schedule does not exist.
    #[error("no such schedule")]
    NotFound,
    /// The schedule was already used or cancelled.
    #[error("schedule is no longer open")]
    NotOpen,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
