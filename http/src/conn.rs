//! One connection: [`ConnectionInfo`], TLS, and hyper with graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
#[cfg(feature = "tls")]
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::rt::{Read, Write};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::shutdown::ShutdownSignal;
use crate::BoxError;

/// What a handler knows about its connection: every request carries one in its extensions
/// (`req.extensions().get::<ConnectionInfo>()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The client's address.
    pub peer_addr: SocketAddr,
    /// The server's address the client connected to.
    pub local_addr: SocketAddr,
}

/// Per-server settings every connection task shares.
pub(crate) struct Shared {
    pub(crate) name: &'static str,
    pub(crate) http: http1::Builder,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
    #[cfg(feature = "tls")]
    pub(crate) tls_handshake_timeout: Duration,
}

/// The caller's service, with the connection's [`ConnectionInfo`] and [`ShutdownSignal`]
/// added to each request.
#[derive(Clone)]
pub(crate) struct WithContext<S> {
    pub(crate) inner: S,
    pub(crate) info: ConnectionInfo,
    pub(crate) signal: ShutdownSignal,
}

impl<S> Service<Request<Incoming>> for WithContext<S>
where
    S: Service<Request<Incoming>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(self.info);
        req.extensions_mut().insert(self.signal.clone());
        self.inner.call(req)
    }
}

/// Serves one accepted connection until it closes, or until shutdown has drained it.
pub(crate) async fn run<S, B>(stream: TcpStream, service: WithContext<S>, shared: Arc<Shared>)
where
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    #[cfg(feature = "tls")]
    if let Some(acceptor) = &shared.tls {
        let signal = service.signal.clone();
        let peer = service.info.peer_addr;
        let handshake = tokio::select! {
            biased;
            // Nothing was asked yet: nothing to drain.
            _ = signal.triggered() => return,
            handshake = tokio::time::timeout(shared.tls_handshake_timeout, acceptor.accept(stream)) => handshake,
        };
        match handshake {
            Ok(Ok(tls)) => drive(TokioIo::new(tls), service, &shared).await,
            Ok(Err(e)) => {
                tracing::debug!(server = shared.name, %peer, error = %e, "TLS handshake failed")
            }
            Err(_) => {
                tracing::debug!(server = shared.name, %peer, "TLS handshake timed out")
            }
        }
        return;
    }
    drive(TokioIo::new(stream), service, &shared).await;
}

async fn drive<I, S, B>(io: I, service: WithContext<S>, shared: &Shared)
where
    I: Read + Write + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let signal = service.signal.clone();
    let peer = service.info.peer_addr;
    let conn = shared.http.serve_connection(io, service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = signal.triggered() => {
            // Closes the connection if idle, else after the response in flight (no more
            // keep-alive); the accept loop aborts it if that takes longer than the drain time.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        if e.is_timeout() {
            tracing::debug!(server = shared.name, %peer, "request headers timed out; connection closed");
        } else {
            tracing::debug!(server = shared.name, %peer, error = %e, "connection ended with an error");
        }
    }
}
