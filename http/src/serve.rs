//! [`serve`] and [`serve_fn`]: the accept loop.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::TokioTimer;
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::{JoinError, JoinSet};

use crate::backoff::{is_per_connection, Backoff};
use crate::config::ServeConfig;
use crate::conn::{self, ConnectionInfo, Shared, WithContext};
use crate::error::ServeError;
use crate::handle::{Counters, ServerHandle};
use crate::shutdown::ShutdownSignal;
use crate::BoxError;

/// Serves `service` on `listener` with `config`, on the current tokio runtime, until the
/// returned handle is shut down or dropped. Each connection gets a clone of `service`.
///
/// Errors: [`ServeError::NoRuntime`] outside a runtime, [`ServeError::InvalidConfig`],
/// [`ServeError::LocalAddr`].
pub fn serve<S, B>(
    listener: TcpListener,
    service: S,
    config: ServeConfig,
) -> Result<ServerHandle, ServeError>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| ServeError::NoRuntime)?;
    config.validate().map_err(ServeError::InvalidConfig)?;
    let local_addr = listener.local_addr().map_err(ServeError::LocalAddr)?;

    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .keep_alive(config.keep_alive);
    let shared = Arc::new(Shared {
        name: config.name,
        http,
        #[cfg(feature = "tls")]
        tls: config.tls.clone().map(tokio_rustls::TlsAcceptor::from),
        #[cfg(feature = "tls")]
        tls_handshake_timeout: config.tls_handshake_timeout,
    });
    let (stop, stopped) = watch::channel(false);
    let counters = Arc::new(Counters::default());
    let task = runtime.spawn(accept_loop(
        listener,
        local_addr,
        service,
        config,
        shared,
        ShutdownSignal::new(stopped),
        counters.clone(),
    ));
    tracing::debug!(%local_addr, "serving HTTP");
    Ok(ServerHandle {
        local_addr,
        stop,
        task: Some(task),
        counters,
    })
}

/// [`serve`] with an async function as the service: `handler` answers every request (it
/// cannot fail; turn errors into responses). The body type `B` is the caller's, so streaming
/// bodies work.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use http_body_util::Full;
/// use hyper::body::Bytes;
/// use hyper::Response;
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let server = lnedge_http::serve_fn(
///     listener,
///     |_req| async { Response::new(Full::new(Bytes::from_static(b"hello\n"))) },
///     lnedge_http::ServeConfig::new("hello"),
/// )?;
/// println!("listening on {}", server.local_addr());
/// server.shutdown().await?;
/// # Ok(()) }
/// ```
pub fn serve_fn<F, Fut, B>(
    listener: TcpListener,
    handler: F,
    config: ServeConfig,
) -> Result<ServerHandle, ServeError>
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    serve(
        listener,
        FnService {
            handler: Arc::new(handler),
        },
        config,
    )
}

/// An async function as an infallible hyper service.
struct FnService<F> {
    handler: Arc<F>,
}

impl<F> Clone for FnService<F> {
    fn clone(&self) -> Self {
        Self {
            handler: self.handler.clone(),
        }
    }
}

impl<F, Fut, B> Service<Request<Incoming>> for FnService<F>
where
    F: Fn(Request<Incoming>) -> Fut,
    Fut: Future<Output = Response<B>>,
{
    type Response = Response<B>;
    type Error = Infallible;
    type Future = Infallibly<Fut>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        Infallibly {
            inner: (self.handler)(req),
        }
    }
}

pin_project_lite::pin_project! {
    /// A future's output as `Ok`.
    struct Infallibly<Fut> {
        #[pin]
        inner: Fut,
    }
}

impl<Fut: Future> Future for Infallibly<Fut> {
    type Output = Result<Fut::Output, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map(Ok)
    }
}

/// Releases a connection slot (and its count) when the connection task ends or is aborted.
struct Slot {
    _permit: OwnedSemaphorePermit,
    counters: Arc<Counters>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.counters.active.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn accept_loop<S, B>(
    listener: TcpListener,
    local_addr: std::net::SocketAddr,
    service: S,
    config: ServeConfig,
    shared: Arc<Shared>,
    signal: ShutdownSignal,
    counters: Arc<Counters>,
) -> usize
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let name = config.name;
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let mut backoff = Backoff::new(config.accept_backoff_min, config.accept_backoff_max);
    let mut connections = JoinSet::new();
    loop {
        // Finished connection tasks are collected here, so the set never holds more than the
        // bound plus those that ended since the last accept.
        while let Some(done) = connections.try_join_next() {
            note_connection_end(name, done);
        }
        let permit = tokio::select! {
            biased;
            _ = signal.triggered() => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => unreachable!("the semaphore is never closed"),
            },
        };
        let (stream, peer_addr) = tokio::select! {
            biased;
            _ = signal.triggered() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    backoff.reset();
                    accepted
                }
                Err(e) if is_per_connection(&e) => {
                    counters.accept_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(server = name, error = %e, "accept failed for one connection");
                    continue;
                }
                Err(e) => {
                    counters.accept_errors.fetch_add(1, Ordering::Relaxed);
                    let delay = backoff.step();
                    tracing::warn!(
                        server = name,
                        error = %e,
                        retry_in_ms = delay.as_millis() as u64,
                        "accept failed; backing off"
                    );
                    tokio::select! {
                        biased;
                        _ = signal.triggered() => break,
                        _ = tokio::time::sleep(delay) => continue,
                    }
                }
            },
        };
        counters.accepted.fetch_add(1, Ordering::Relaxed);
        counters.active.fetch_add(1, Ordering::Relaxed);
        let slot = Slot {
            _permit: permit,
            counters: counters.clone(),
        };
        // Replies are small and latency-bound: do not let Nagle's algorithm hold them back.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(server = name, peer = %peer_addr, error = %e, "cannot set TCP_NODELAY");
        }
        let info = ConnectionInfo {
            peer_addr,
            // The listener's address, unless it is a wildcard the socket knows better.
            local_addr: stream.local_addr().unwrap_or(local_addr),
        };
        if let Some(hook) = &config.on_accept {
            hook(&stream, &info);
        }
        let service = WithContext {
            inner: service.clone(),
            info,
            signal: signal.clone(),
        };
        let shared = shared.clone();
        connections.spawn(async move {
            let _slot = slot;
            conn::run(stream, service, shared).await;
        });
    }
    // New connections are refused from here on.
    drop(listener);
    drain(name, connections, config.drain_timeout).await
}

/// Waits up to `timeout` for the connections (already told to shut down) to close, then aborts
/// the rest; returns how many it aborted.
async fn drain(
    name: &'static str,
    mut connections: JoinSet<()>,
    timeout: std::time::Duration,
) -> usize {
    while let Some(done) = connections.try_join_next() {
        note_connection_end(name, done);
    }
    let open = connections.len();
    if open > 0 {
        tracing::debug!(server = name, open, "draining connections");
    }
    let _ = tokio::time::timeout(timeout, async {
        while let Some(done) = connections.join_next().await {
            note_connection_end(name, done);
        }
    })
    .await;
    let aborted = connections.len();
    if aborted > 0 {
        tracing::info!(
            server = name,
            aborted,
            "connections still busy after the drain time; aborting them"
        );
    }
    connections.shutdown().await;
    aborted
}

fn note_connection_end(name: &'static str, done: Result<(), JoinError>) {
    if let Err(e) = done {
        if e.is_panic() {
            tracing::error!(server = name, error = %e, "a connection task panicked");
        }
    }
}
