//! # lnedge-http
//!
//! One hardened HTTP/1.1 serve loop on hyper 1, written once and used by every lnedge server
//! (the payjoin endpoint, devnet's RPC server, the node's admin API).
//!
//! Give [`serve()`] (a hyper [`Service`](hyper::service::Service)) or [`serve_fn`] (an async
//! function) a bound [`tokio::net::TcpListener`] and a [`ServeConfig`]; get a [`ServerHandle`].
//! The loop:
//!
//! - backs off on accept errors (out of file descriptors and the like): it sleeps and retries,
//!   the delay doubling up to a cap, logged, never a busy loop and never an exit;
//! - closes connections whose request headers do not arrive within the header-read timeout
//!   (idle keep-alive connections included);
//! - bounds concurrent connections with a semaphore: over the bound it **waits** (stops
//!   accepting, new connections queue in the kernel's listen backlog) rather than refusing —
//!   see [`ServeConfig::max_connections`] for why;
//! - sets `TCP_NODELAY` on every accepted socket;
//! - terminates TLS (rustls through tokio-rustls, feature `tls`) with a handshake timeout;
//! - shuts down gracefully: [`ServerHandle::shutdown`] stops accepting (the listener is closed),
//!   lets requests in flight finish for a bounded drain time, then aborts what is left; dropping
//!   the handle does the same in the background.
//!
//! Every request carries a [`ConnectionInfo`] and a [`ShutdownSignal`] in its extensions;
//! [`UntilShutdown`] ends a never-ending response body (server-sent events) cleanly when the
//! server shuts down, so such streams do not hold the drain for its full length.
//!
//! Table of contents:
//!
//! - [`config`]: [`ServeConfig`], every limit and timeout with its default.
//! - [`serve`](mod@serve): [`serve()`], [`serve_fn`], the accept loop.
//! - [`handle`]: [`ServerHandle`], [`ServerStats`], [`ShutdownReport`].
//! - [`shutdown`]: [`ShutdownSignal`] and the [`UntilShutdown`] body.
//! - [`conn`]: [`ConnectionInfo`], what a handler knows about its connection.
//! - [`error`]: the error type, [`ServeError`].
#![warn(missing_docs)]

mod backoff;
pub mod config;
pub mod conn;
pub mod error;
pub mod handle;
pub mod serve;
pub mod shutdown;

pub use config::ServeConfig;
pub use conn::ConnectionInfo;
pub use error::ServeError;
pub use handle::{ServerHandle, ServerStats, ShutdownReport};
pub use serve::{serve, serve_fn};
pub use shutdown::{ShutdownSignal, UntilShutdown};

/// The tokio-rustls crate the `tls` feature serves with (re-exported so callers build their
/// `rustls::ServerConfig` with the same version).
#[cfg(feature = "tls")]
pub use tokio_rustls;

/// The error type hyper accepts from services and bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
