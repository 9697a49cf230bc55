//! [`ServeError`].

/// Why a server could not start, or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listener's local address could not be read.
    #[error("cannot read the listener's address: {0}")]
    LocalAddr(#[source] std::io::Error),
    /// [`serve`](crate::serve()) was called outside a tokio runtime.
    #[error("not inside a tokio runtime")]
    NoRuntime,
    /// A [`ServeConfig`](crate::ServeConfig) value the server cannot work with.
    #[error("invalid server configuration: {0}")]
    InvalidConfig(&'static str),
    /// The accept loop's task did not finish normally (it panicked, or the runtime shut down
    /// under it).
    #[error("the accept loop failed: {0}")]
    LoopFailed(#[source] tokio::task::JoinError),
}
