//! [`ServeConfig`]: limits, timeouts and TLS for one server.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::conn::ConnectionInfo;

/// A hook run on every accepted socket (see [`ServeConfig::on_accept`]).
pub type AcceptHook = Arc<dyn Fn(&TcpStream, &ConnectionInfo) + Send + Sync>;

/// How a server behaves. Start from [`ServeConfig::new`] (or `default()`) and change what
/// differs; every setter documents its default.
///
/// ```
/// use std::time::Duration;
/// let config = lnedge_http::ServeConfig::new("admin API")
///     .max_connections(64)
///     .drain_timeout(Duration::from_secs(5));
/// assert_eq!(config.name(), "admin API");
/// ```
#[derive(Clone)]
pub struct ServeConfig {
    pub(crate) name: &'static str,
    pub(crate) max_connections: usize,
    pub(crate) header_read_timeout: Duration,
    pub(crate) keep_alive: bool,
    pub(crate) drain_timeout: Duration,
    pub(crate) accept_backoff_min: Duration,
    pub(crate) accept_backoff_max: Duration,
    pub(crate) on_accept: Option<AcceptHook>,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    #[cfg(feature = "tls")]
    pub(crate) tls_handshake_timeout: Duration,
}

/// Default of [`ServeConfig::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Default of [`ServeConfig::header_read_timeout`] (hyper's own default).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default of [`ServeConfig::drain_timeout`].
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Default first delay of [`ServeConfig::accept_backoff`].
pub const DEFAULT_ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// Default cap of [`ServeConfig::accept_backoff`].
pub const DEFAULT_ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Default of `ServeConfig::tls_handshake_timeout` (feature `tls`).
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for ServeConfig {
    fn default() -> Self {
        Self::new("http")
    }
}

impl ServeConfig {
    /// The defaults, with `name` labelling the server's log lines (`server = name`).
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            keep_alive: true,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
            accept_backoff_min: DEFAULT_ACCEPT_BACKOFF_MIN,
            accept_backoff_max: DEFAULT_ACCEPT_BACKOFF_MAX,
            on_accept: None,
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "tls")]
            tls_handshake_timeout: DEFAULT_TLS_HANDSHAKE_TIMEOUT,
        }
    }

    /// The label of the server's log lines.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// At most `max` connections are served at once (default [`DEFAULT_MAX_CONNECTIONS`]; at
    /// least 1). A connection holds its slot from accept (TLS handshake included) to close.
    ///
    /// Over the bound the server **waits**: it stops calling `accept` until a slot frees, and new
    /// connections queue in the kernel's listen backlog (once that is full the kernel drops new
    /// SYNs and clients retry with TCP's own backoff). It does not accept-and-refuse, because
    /// refusing costs the same accept and file descriptor the bound is there to save, and a
    /// refused client typically reconnects at once, turning overload into a busy loop on both
    /// sides. Waiting is safe because every slot is released within a bounded time unless a
    /// request is really being served: a client that sends no complete request head (slow
    /// headers, idle keep-alive) is dropped after the [header-read
    /// timeout](Self::header_read_timeout), a TLS client after the handshake timeout.
    /// Handlers that read request bodies should bound that read themselves.
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// A connection whose next request head is not complete this long after the server started
    /// waiting for it is closed (default [`DEFAULT_HEADER_READ_TIMEOUT`]; must not be zero).
    /// The clock runs while a keep-alive connection sits idle, so this is also the idle timeout.
    /// It does not limit request bodies or handlers.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// HTTP/1.1 keep-alive (default on).
    pub fn keep_alive(mut self, on: bool) -> Self {
        self.keep_alive = on;
        self
    }

    /// How long [`ServerHandle::shutdown`](crate::ServerHandle::shutdown) lets requests in
    /// flight finish before aborting their connections (default [`DEFAULT_DRAIN_TIMEOUT`]).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// After an accept error about the process or system (out of file descriptors, buffers,
    /// memory) the loop sleeps `min`, then twice as long after each further error, up to `max`;
    /// an accepted connection resets it (default [`DEFAULT_ACCEPT_BACKOFF_MIN`] to
    /// [`DEFAULT_ACCEPT_BACKOFF_MAX`]; `min` must not be zero or above `max`).
    pub fn accept_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.accept_backoff_min = min;
        self.accept_backoff_max = max;
        self
    }

    /// Runs `hook` on every accepted socket, after `TCP_NODELAY` is set and before TLS and
    /// HTTP (metrics, extra socket options, tests). It runs on the accept loop: keep it short.
    pub fn on_accept(
        mut self,
        hook: impl Fn(&TcpStream, &ConnectionInfo) + Send + Sync + 'static,
    ) -> Self {
        self.on_accept = Some(Arc::new(hook));
        self
    }

    /// Serves HTTPS with `tls` (feature `tls`). Its ALPN list must be empty or offer only
    /// `http/1.1` (and `http/1.0`): the server speaks HTTP/1 only.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: Arc<tokio_rustls::rustls::ServerConfig>) -> Self {
        self.tls = Some(tls);
        self
    }

    /// A TLS client that has not finished its handshake this long after accept is dropped
    /// (default [`DEFAULT_TLS_HANDSHAKE_TIMEOUT`]; must not be zero; feature `tls`).
    #[cfg(feature = "tls")]
    pub fn tls_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.tls_handshake_timeout = timeout;
        self
    }

    /// Checks the values [`serve`](crate::serve()) cannot work with.
    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        if self.max_connections == 0 {
            return Err("max_connections must be at least 1");
        }
        if self.max_connections > tokio::sync::Semaphore::MAX_PERMITS {
            return Err("max_connections is above tokio's semaphore limit");
        }
        if self.header_read_timeout.is_zero() {
            return Err("header_read_timeout must not be zero");
        }
        if self.accept_backoff_min.is_zero() {
            return Err("the accept backoff must not start at zero");
        }
        if self.accept_backoff_min > self.accept_backoff_max {
            return Err("the accept backoff starts above its cap");
        }
        #[cfg(feature = "tls")]
        {
            if self.tls_handshake_timeout.is_zero() {
                return Err("tls_handshake_timeout must not be zero");
            }
            if let Some(tls) = &self.tls {
                let http1 =
                    |p: &Vec<u8>| p.as_slice() == b"http/1.1" || p.as_slice() == b"http/1.0";
                if !tls.alpn_protocols.iter().all(http1) {
                    return Err("the TLS configuration offers an ALPN protocol other than HTTP/1");
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for ServeConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ServeConfig");
        d.field("name", &self.name)
            .field("max_connections", &self.max_connections)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("keep_alive", &self.keep_alive)
            .field("drain_timeout", &self.drain_timeout)
            .field("accept_backoff_min", &self.accept_backoff_min)
            .field("accept_backoff_max", &self.accept_backoff_max)
            .field("on_accept", &self.on_accept.is_some());
        #[cfg(feature = "tls")]
        d.field("tls", &self.tls.is_some())
            .field("tls_handshake_timeout", &self.tls_handshake_timeout);
        d.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_caught() {
        assert!(ServeConfig::default().validate().is_ok());
        assert!(ServeConfig::default()
            .max_connections(0)
            .validate()
            .is_err());
        assert!(ServeConfig::default()
            .header_read_timeout(Duration::ZERO)
            .validate()
            .is_err());
        assert!(ServeConfig::default()
            .accept_backoff(Duration::from_secs(2), Duration::from_secs(1))
            .validate()
            .is_err());
        assert!(ServeConfig::default()
            .accept_backoff(Duration::ZERO, Duration::from_secs(1))
            .validate()
            .is_err());
    }
}
