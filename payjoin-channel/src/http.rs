//! The hyper 1 HTTP/1.1 transport, over TLS ([`serve_tls`]) or plain TCP ([`serve`], for a TLS
//! terminating proxy or an onion service in front). POST an original to the endpoint's path, get
//! a [`Reply`]; every reply carries `Access-Control-Allow-Origin: *` (BIP 78). The state machine
//! lives in [`PayjoinReceiver`]; this module only moves bytes.
//!
//! The accept loop is `lnedge-http`'s: accept errors back off, request heads must arrive within
//! 30 s (idle keep-alive connections too), at most [`MAX_CONNECTIONS`] connections are served at
//! once (more wait in the listen backlog), TLS handshakes must finish within 10 s, `TCP_NODELAY`
//! is set, and shutdown drains requests in flight for up to [`DRAIN_TIMEOUT`]. This module adds a
//! body limit ([`MAX_BODY`]) and a body deadline ([`BODY_READ_TIMEOUT`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Request, Response};
use lnedge_http::ServeConfig;
use tokio::net::TcpListener;
use tokio_rustls::rustls::ServerConfig;

use crate::chain::ChainWatch;
use crate::opener::ChannelOpener;
use crate::receiver::PayjoinReceiver;
use crate::reply::Reply;
use crate::wallet::ReceiverWallet;

/// Largest original accepted (bytes of base64).
pub const MAX_BODY: usize = 1 << 20;

/// A request body (the original) not fully received this long after its head is refused, so a
/// slow sender cannot hold a connection slot.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections served at once; more wait in the listen backlog until one closes.
pub const MAX_CONNECTIONS: usize = 512;

/// How long [`ServerHandle::shutdown`] lets requests in flight finish before aborting them (an
/// aborted proposal's channels are abandoned by [`PayjoinReceiver::recover`] at the next start).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

struct HeaderLookup<'a>(&'a HeaderMap);

impl payjoin::receive::v1::Headers for HeaderLookup<'_> {
    fn get_header(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
}

/// A running server; dropping it stops it too.
#[derive(Debug)]
pub struct ServerHandle {
    inner: lnedge_http::ServerHandle,
}

impl ServerHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr()
    }

    /// Stops accepting connections (new ones are refused), lets requests in flight finish for
    /// up to [`DRAIN_TIMEOUT`], then closes what is left.
    pub async fn shutdown(self) {
        // lnedge-http logs what it had to abort.
        if let Err(e) = self.inner.shutdown().await {
            tracing::warn!(error = %e, "payjoin server did not stop cleanly");
        }
    }
}

/// Serves `receiver` on `listener` over plain HTTP/1.1 (behind a TLS terminating proxy or an
/// onion service: BIP 78 senders only talk to https or onion endpoints).
pub fn serve<O, W, C>(
    listener: TcpListener,
    receiver: PayjoinReceiver<O, W, C>,
) -> std::io::Result<ServerHandle>
where
    O: ChannelOpener,
    W: ReceiverWallet,
    C: ChainWatch,
{
    serve_with(listener, receiver, config())
}

/// Serves `receiver` on `listener` over HTTPS (HTTP/1.1 in TLS) with `tls`
/// (see [`crate::tls`]).
pub fn serve_tls<O, W, C>(
    listener: TcpListener,
    receiver: PayjoinReceiver<O, W, C>,
    tls: Arc<ServerConfig>,
) -> std::io::Result<ServerHandle>
where
    O: ChannelOpener,
    W: ReceiverWallet,
    C: ChainWatch,
{
    serve_with(listener, receiver, config().tls(tls))
}

fn config() -> ServeConfig {
    ServeConfig::new("payjoin")
        .max_connections(MAX_CONNECTIONS)
        .drain_timeout(DRAIN_TIMEOUT)
}

fn serve_with<O, W, C>(
    listener: TcpListener,
    receiver: PayjoinReceiver<O, W, C>,
    config: ServeConfig,
) -> std::io::Result<ServerHandle>
where
    O: ChannelOpener,
    W: ReceiverWallet,
    C: ChainWatch,
{
    let handler = move |req| handle(receiver.clone(), req);
    let inner = lnedge_http::serve_fn(listener, handler, config).map_err(|e| match e {
        lnedge_http::ServeError::LocalAddr(e) => e,
        other => std::io::Error::other(other),
    })?;
    Ok(ServerHandle { inner })
}

async fn handle<O, W, C>(
    receiver: PayjoinReceiver<O, W, C>,
    req: Request<Incoming>,
) -> Response<Full<Bytes>>
where
    O: ChannelOpener,
    W: ReceiverWallet,
    C: ChainWatch,
{
    let (parts, body) = req.into_parts();
    let on_endpoint = parts.uri.path() == receiver.scheduler().endpoint_path();
    let reply = match parts.method {
        _ if !on_endpoint => Reply::not_found(),
        Method::POST => {
            match tokio::time::timeout(BODY_READ_TIMEOUT, Limited::new(body, MAX_BODY).collect())
                .await
            {
                Err(_) => Reply::rejected("body not received in time"),
                Ok(Ok(collected)) => {
                    let bytes = collected.to_bytes();
                    let query = parts.uri.query().unwrap_or("");
                    receiver
                        .handle_original(&bytes, query, HeaderLookup(&parts.headers))
                        .await
                }
                Ok(Err(_)) => Reply::rejected("body too large or unreadable"),
            }
        }
        Method::OPTIONS => {
            let mut response = to_response(Reply {
                status: 204,
                content_type: "text/plain",
                body: String::new(),
            });
            let h = response.headers_mut();
            h.insert(
                "access-control-allow-methods",
                HeaderValue::from_static("POST, OPTIONS"),
            );
            h.insert(
                "access-control-allow-headers",
                HeaderValue::from_static("content-type"),
            );
            return response;
        }
        _ => Reply::not_found(),
    };
    to_response(reply)
}

fn to_response(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let h = response.headers_mut();
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert("content-type", HeaderValue::from_static(reply.content_type));
    response
}
