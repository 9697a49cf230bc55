//! The admin HTTP API (DESIGN.md decision 6): JSON over hyper 1, every request authenticated
//! with a bearer token kept in a 0600 file. The `lnedge` CLI is a client of it; `docs/api.md`
//! lists every endpoint with an example.
//!
//! | Method | Path | Node call |
//! |---|---|---|
//! | GET | `/v1/info` | [`Node::info`] |
//! | GET | `/v1/peers` | [`Node::list_peers`] |
//! | POST | `/v1/peers/connect` | [`Node::connect_peer`] |
//! | POST | `/v1/peers/disconnect` | [`Node::disconnect_peer`] |
//! | GET | `/v1/channels` | [`Node::list_channels`] |
//! | POST | `/v1/channels/open` | [`Node::open_channel`] |
//! | POST | `/v1/channels/close` | [`Node::close_channel`] |
//! | POST | `/v1/invoices` | [`Node::create_invoice`] |
//! | POST | `/v1/invoices/pay` | [`Node::pay_invoice`] (+ [`Node::wait_payment`]) |
//! | POST | `/v1/offers` | [`Node::create_offer`] |
//! | POST | `/v1/offers/pay` | [`Node::pay_offer`] (+ [`Node::wait_payment`]) |
//! | GET | `/v1/payments` | [`Node::list_payments`] |
//! | GET | `/v1/payments/{id}` | [`Node::payment`] |
//! | POST | `/v1/wallet/address` | [`Node::wallet_address`] |
//! | GET | `/v1/wallet/balance` | [`Node::wallet_balance`] |
//! | POST | `/v1/wallet/send` | [`Node::wallet_send`] |
//! | GET | `/v1/events` | [`Node::subscribe`] as server-sent events |
//!
//! Errors are `{"error": "<text>"}` with 400 (bad input), 401 (no or wrong token), 404 (unknown
//! route or thing), 405 (wrong method), 413 (body over 64 KiB), 500 (the node failed) or 504
//! (a payment still pending after `wait_secs`).

mod events;
mod routes;
mod token;

pub use routes::{DEFAULT_INVOICE_EXPIRY_SECS, MAX_WAIT_SECS};

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    HeaderValue, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE,
    WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::Node;
use events::EventStream;
use routes::{Endpoint, Failure, NoRoute};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Name of the bearer token file in the node's data directory.
pub const TOKEN_FILE: &str = "api_token";

/// Errors starting the admin API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Binding the listener failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Creating or reading the token file failed.
    #[error("token file {path}: {source}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The token file exists but holds no valid token.
    #[error("token file {path} is not valid: {reason}")]
    BadTokenFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No randomness for a new token.
    #[error("no randomness for the API token: {0}")]
    Random(String),
}

/// A running admin API server; stops on [`shutdown`](Self::shutdown) or when dropped.
pub struct AdminApi {
    addr: SocketAddr,
    token: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for AdminApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminApi")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

type ApiBody = Either<Full<Bytes>, EventStream>;

impl AdminApi {
    /// Loads the token from `token_path` (creating the file, mode 0600, at first start), binds
    /// `addr` (port 0 picks a free port) and serves `node` on the current tokio runtime.
    pub async fn start(node: Node, addr: SocketAddr, token_path: &Path) -> Result<Self, ApiError> {
        let token = token::load_or_create(token_path)?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ApiError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| ApiError::Bind { addr, source })?;
        let (stop, mut stopped) = oneshot::channel();
        let shared_token = token.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        let stream = match accepted {
                            Ok((stream, _)) => stream,
                            Err(e) => {
                                tracing::warn!(error = %e, "admin API accept failed");
                                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                                continue;
                            }
                        };
                        let node = node.clone();
                        let token = shared_token.clone();
                        connections.spawn(async move {
                            let service = hyper::service::service_fn(move |req| {
                                let node = node.clone();
                                let token = token.clone();
                                async move { Ok::<_, Infallible>(handle(&node, &token, req).await) }
                            });
                            // The timer arms hyper's 30 s limit on reading a request's
                            // headers: a client that never finishes them is dropped.
                            let conn = hyper::server::conn::http1::Builder::new()
                                .timer(TokioTimer::new())
                                .serve_connection(TokioIo::new(stream), service);
                            if let Err(e) = conn.await {
                                tracing::debug!(error = %e, "admin API connection ended with an error");
                            }
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
            connections.shutdown().await;
        });
        tracing::info!(addr = %local, "admin API listening");
        Ok(Self {
            addr: local,
            token,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address it listens on (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port`, the base URL for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bearer token clients must send (`Authorization: Bearer <token>`).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Stops accepting and closes every connection (event streams included).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for AdminApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn json_reply(status: StatusCode, value: &Value) -> Response<ApiBody> {
    let mut response = Response::new(Either::Left(Full::new(Bytes::from(format!("{value}\n")))));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error_reply(failure: &Failure) -> Response<ApiBody> {
    json_reply(failure.status, &json!({ "error": failure.message }))
}

async fn handle(node: &Node, token: &str, req: Request<Incoming>) -> Response<ApiBody> {
    let header = req.headers().get(AUTHORIZATION).map(HeaderValue::as_bytes);
    if !token::authorized(header, token) {
        let mut response = error_reply(&Failure::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized: send `Authorization: Bearer <token>` with the token from the node's api_token file",
        ));
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let endpoint = match routes::route(req.method(), req.uri().path()) {
        Ok(endpoint) => endpoint,
        Err(no_route) => {
            let mut response =
                error_reply(&no_route_failure(&no_route, req.method(), req.uri().path()));
            if let NoRoute::MethodNotAllowed(allowed) = no_route {
                if let Ok(value) = HeaderValue::from_str(allowed.as_str()) {
                    response.headers_mut().insert(ALLOW, value);
                }
            }
            return response;
        }
    };
    if endpoint == Endpoint::Events {
        let mut response = Response::new(Either::Right(EventStream::new(node.subscribe())));
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        return response;
    }
    let body = match read_body(req).await {
        Ok(body) => body,
        Err(failure) => return error_reply(&failure),
    };
    let command = match routes::decode(endpoint, &body) {
        Ok(command) => command,
        Err(failure) => return error_reply(&failure),
    };
    match routes::execute(node, command).await {
        Ok(value) => json_reply(StatusCode::OK, &value),
        Err(failure) => {
            if failure.status.is_server_error() {
                tracing::warn!(status = %failure.status, error = %failure.message, "admin API call failed");
            }
            error_reply(&failure)
        }
    }
}

/// The refusal of a request that reaches no endpoint.
fn no_route_failure(no_route: &NoRoute, method: &Method, path: &str) -> Failure {
    match no_route {
        NoRoute::NotFound => {
            Failure::new(StatusCode::NOT_FOUND, format!("no such endpoint: {path}"))
        }
        NoRoute::MethodNotAllowed(allowed) => Failure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{path} does not accept {method}; use {allowed}"),
        ),
    }
}

/// Decodes an authorized request the way the server does before it touches the node — the
/// route (method and path) and the body (at most [`MAX_BODY_BYTES`], strict JSON, ids, amounts
/// and limits checked) — and returns the status and message the API would refuse it with.
/// `Ok` means the request would reach the node. For the fuzz target
/// (`fuzz/fuzz_targets/admin_api_request.rs`); not a stable interface.
#[doc(hidden)]
pub fn check_request(method: &[u8], path: &str, body: &[u8]) -> Result<(), (u16, String)> {
    let refuse = |f: Failure| (f.status.as_u16(), f.message);
    let method = Method::from_bytes(method).map_err(|e| {
        (
            StatusCode::BAD_REQUEST.as_u16(),
            format!("invalid method: {e}"),
        )
    })?;
    let endpoint =
        routes::route(&method, path).map_err(|n| refuse(no_route_failure(&n, &method, path)))?;
    if endpoint == Endpoint::Events {
        return Ok(());
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(refuse(body_too_large()));
    }
    routes::decode(endpoint, body).map(drop).map_err(refuse)
}

fn body_too_large() -> Failure {
    Failure::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body is larger than {MAX_BODY_BYTES} bytes"),
    )
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, Failure> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Err(body_too_large());
    }
    match Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(body_too_large()),
        Err(e) => Err(Failure::bad_request(format!(
            "cannot read request body: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619";

    fn status(method: &str, path: &str, body: &str) -> Result<(), u16> {
        check_request(method.as_bytes(), path, body.as_bytes()).map_err(|(status, message)| {
            assert!(!message.is_empty());
            status
        })
    }

    #[test]
    fn requests_are_decoded_without_a_node() {
        assert_eq!(status("GET", "/v1/info", ""), Ok(()));
        assert_eq!(status("GET", "/v1/events", ""), Ok(()));
        assert_eq!(status("GET", "/v1/nope", ""), Err(404));
        assert_eq!(status("DELETE", "/v1/info", ""), Err(405));
        assert_eq!(status("G ET", "/v1/info", ""), Err(400));
        let open = |body: String| status("POST", "/v1/channels/open", &body);
        assert_eq!(
            open(format!(r#"{{"node_id":"{ID}","amount_sat":100000}}"#)),
            Ok(())
        );
        assert_eq!(
            open(format!(
                r#"{{"node_id":"{ID}","amount_sat":1,"push_msat":1001}}"#
            )),
            Err(400)
        );
        assert_eq!(open(r#"{"node_id":"02","amount_sat":1}"#.into()), Err(400));
        assert_eq!(
            status("POST", "/v1/peers/connect", &format!(r#"{{"uri":"{ID}"}}"#)),
            Err(400)
        );
        assert_eq!(
            status("GET", &format!("/v1/payments/{}", "AB".repeat(32)), ""),
            Ok(())
        );
        assert_eq!(status("GET", "/v1/payments/abc", ""), Err(400));
        let big = format!(r#"{{"description":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        assert_eq!(status("POST", "/v1/offers", &big), Err(413));
        assert_eq!(
            status(
                "POST",
                "/v1/wallet/send",
                r#"{"address":"a","send_all":true,"amount_sat":5}"#
            ),
            Err(400)
        );
    }

    #[test]
    fn decoded_commands_carry_the_checked_values() {
        let body = format!(r#"{{"node_id":"{ID}","amount_sat":5000,"push_msat":7}}"#);
        match routes::decode(Endpoint::ChannelOpen, body.as_bytes()).unwrap() {
            routes::Command::ChannelOpen {
                node_id,
                amount,
                push_msat,
                public,
            } => {
                assert_eq!(node_id.to_string(), ID);
                assert_eq!(amount.to_sat(), 5000);
                assert_eq!(push_msat, 7);
                assert!(!public);
            }
            other => panic!("decoded as {other:?}"),
        }
        match routes::decode(Endpoint::Payment("AB".repeat(32)), b"").unwrap() {
            routes::Command::Payment(id) => assert_eq!(id, "ab".repeat(32)),
            other => panic!("decoded as {other:?}"),
        }
        match routes::decode(Endpoint::InvoiceCreate, b"").unwrap() {
            routes::Command::InvoiceCreate {
                amount_msat: None,
                description,
                expiry_secs,
            } => {
                assert_eq!(description, "");
                assert_eq!(expiry_secs, DEFAULT_INVOICE_EXPIRY_SECS);
            }
            other => panic!("decoded as {other:?}"),
        }
    }
}
