//! [`ServerHandle`]: the running server.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::ServeError;
use crate::shutdown::ShutdownSignal;

/// A running server. [`shutdown`](Self::shutdown) stops it and waits; dropping the handle
/// stops it too (the drain then runs in the background, with the same bound).
#[derive(Debug)]
pub struct ServerHandle {
    pub(crate) local_addr: SocketAddr,
    pub(crate) stop: watch::Sender<bool>,
    pub(crate) task: Option<JoinHandle<usize>>,
    pub(crate) counters: Arc<Counters>,
}

/// What [`ServerHandle::shutdown`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Connections that were open when shutdown began and closed within the drain time (idle
    /// ones close at once).
    pub drained: usize,
    /// Connections still open at the end of the drain time, aborted.
    pub aborted: usize,
}

/// Counters of a running server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Connections accepted so far.
    pub accepted: u64,
    /// Accept errors so far (each one followed by a backoff delay, except errors about one
    /// connection the peer already gave up on).
    pub accept_errors: u64,
    /// Connections open now (TLS handshakes included).
    pub active_connections: usize,
}

/// The counters behind [`ServerStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) accept_errors: AtomicU64,
    pub(crate) active: AtomicUsize,
}

impl ServerHandle {
    /// The address the server listens on (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Counters: accepted connections, accept errors, open connections.
    pub fn stats(&self) -> ServerStats {
        ServerStats {
            accepted: self.counters.accepted.load(Ordering::Relaxed),
            accept_errors: self.counters.accept_errors.load(Ordering::Relaxed),
            active_connections: self.counters.active.load(Ordering::Relaxed),
        }
    }

    /// A signal that fires when this server starts shutting down.
    pub fn shutdown_signal(&self) -> ShutdownSignal {
        ShutdownSignal::new(self.stop.subscribe())
    }

    /// Stops accepting (the listener is closed at once, so new connections are refused), lets
    /// requests in flight finish within the drain time (idle connections close at once, busy
    /// ones after their current response), aborts the connections still open after it, and
    /// returns what happened.
    pub async fn shutdown(mut self) -> Result<ShutdownReport, ServeError> {
        let open = self.counters.active.load(Ordering::SeqCst);
        self.stop.send_replace(true);
        let aborted = match self.task.take() {
            Some(task) => task.await.map_err(ServeError::LoopFailed)?,
            None => 0,
        };
        Ok(ShutdownReport {
            // A connection accepted while the loop noticed the signal is not in `open`.
            drained: open.saturating_sub(aborted),
            aborted,
        })
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}
