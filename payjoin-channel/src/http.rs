//! The hyper 1 HTTP/1.1 transport, over TLS ([`serve_tls`]) or plain TCP ([`serve`], for a TLS
//! terminating proxy or an onion service in front). POST an original to the endpoint's path, get
//! a [`Reply`]; every reply carries `Access-Control-Allow-Origin: *` (BIP 78). The state machine
//! lives in [`PayjoinReceiver`]; this module only moves bytes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use crate::chain::ChainWatch;
use crate::opener::ChannelOpener;
use crate::receiver::PayjoinReceiver;
use crate::reply::Reply;
use crate::wallet::ReceiverWallet;

/// Largest original accepted (bytes of base64).
pub const MAX_BODY: usize = 1 << 20;

struct HeaderLookup<'a>(&'a HeaderMap);

impl payjoin::receive::v1::Headers for HeaderLookup<'_> {
    fn get_header(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
}

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections and waits for the accept loop to end (requests in flight
    /// finish on their own tasks).
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
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
    serve_with(listener, receiver, None)
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
    serve_with(listener, receiver, Some(TlsAcceptor::from(tls)))
}

fn serve_with<O, W, C>(
    listener: TcpListener,
    receiver: PayjoinReceiver<O, W, C>,
    tls: Option<TlsAcceptor>,
) -> std::io::Result<ServerHandle>
where
    O: ChannelOpener,
    W: ReceiverWallet,
    C: ChainWatch,
{
    let local_addr = listener.local_addr()?;
    let (shutdown, mut stop) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            let (stream, peer) = tokio::select! {
                _ = stop.changed() => return,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                },
            };
            // Replies are small and latency-bound: do not let Nagle hold them back.
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
            }
            let receiver = receiver.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let receiver = receiver.clone();
                    async move { Ok::<_, Infallible>(handle(receiver, req).await) }
                });
                let served = match tls {
                    None => {
                        http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                    }
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(stream) => {
                            http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await
                        }
                        Err(e) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                    },
                };
                if let Err(e) = served {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
            });
        }
    });
    Ok(ServerHandle {
        local_addr,
        shutdown,
        task,
    })
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
        Method::POST => match Limited::new(body, MAX_BODY).collect().await {
            Ok(collected) => {
                let bytes = collected.to_bytes();
                let query = parts.uri.query().unwrap_or("");
                receiver
                    .handle_original(&bytes, query, HeaderLookup(&parts.headers))
                    .await
            }
            Err(_) => Reply::rejected("body too large or unreadable"),
        },
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
