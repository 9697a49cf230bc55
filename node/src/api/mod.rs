//! The admin HTTP API: JSON over hyper 1, every request authenticated
//! with a bearer token kept in a 0600 file. The `lnedge` CLI is a client of it; `docs/api.md`
//! lists every endpoint with an example.
//!
//! The endpoints are listed in one table ([`route`]'s `ROUTES`), each served by one handler
//! (`handlers/`); request and reply shapes are in [`types`], which the `lnedge` CLI uses too.
//! `docs/api.md` documents each endpoint.
//!
//! Errors are `{"error": "<text>"}` with 400 (bad input), 401 (no or wrong token), 404 (unknown
//! route or thing), 405 (wrong method), 408 (a body not received within
//! [`BODY_READ_TIMEOUT`]), 413 (body over 64 KiB), 500 (the node failed) or 504 (a payment still
//! pending after `wait_secs`).

mod events;
mod failure;
mod handlers;
mod route;
mod token;
pub mod types;

pub use handlers::{DEFAULT_INVOICE_EXPIRY_SECS, MAX_WAIT_SECS};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    HeaderValue, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE,
    WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use lnedge_http::{ServeConfig, ShutdownSignal, UntilShutdown};
use serde_json::Value;
use tokio::net::TcpListener;

use std::sync::Arc;

use crate::error::BuildError;
use crate::feature::{Feature, FeatureContext};
use crate::Node;
use events::EventStream;
use failure::Failure;
use route::{Handler, NoRoute};
use types::ErrorReply;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Name of the bearer token file in the node's data directory.
pub const TOKEN_FILE: &str = "api_token";

/// How long [`AdminApi::shutdown`] lets calls in flight finish before closing their
/// connections (event streams end at once).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request's body may take to arrive, counted from when its headers are in; a
/// slower one is answered 408 and its connection closed. The same bound as for the headers
/// (lnedge-http's header-read timeout), so a client that stalls mid-body cannot hold a
/// connection slot longer than one that stalls mid-headers.
pub const BODY_READ_TIMEOUT: Duration = lnedge_http::config::DEFAULT_HEADER_READ_TIMEOUT;

/// Settings of an [`AdminApi`] beyond its address and token; `default()` is what
/// [`AdminApi::start`] and the node's own API use.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ApiOptions {
    /// See [`BODY_READ_TIMEOUT`] (the default).
    pub body_read_timeout: Duration,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self {
            body_read_timeout: BODY_READ_TIMEOUT,
        }
    }
}

impl ApiOptions {
    /// Sets [`body_read_timeout`](Self::body_read_timeout) (must not be zero).
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }
}

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
    /// The HTTP server could not start.
    #[error("admin API server: {0}")]
    Serve(#[source] lnedge_http::ServeError),
}

/// A running admin API server; stops on [`shutdown`](Self::shutdown) or when dropped.
pub struct AdminApi {
    addr: SocketAddr,
    token: String,
    server: lnedge_http::ServerHandle,
}

impl std::fmt::Debug for AdminApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminApi")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

type ApiBody = Either<Full<Bytes>, EventStream>;
/// [`ApiBody`] as served: event streams end when the server shuts down.
type ServedBody = Either<Full<Bytes>, UntilShutdown<EventStream>>;

impl AdminApi {
    /// Loads the token from `token_path` (creating the file, mode 0600, at first start), binds
    /// `addr` (port 0 picks a free port) and serves `node` on the current tokio runtime.
    pub async fn start(node: Node, addr: SocketAddr, token_path: &Path) -> Result<Self, ApiError> {
        Self::start_with(node, addr, token_path, ApiOptions::default()).await
    }

    /// [`start`](Self::start) with `options`.
    pub async fn start_with(
        node: Node,
        addr: SocketAddr,
        token_path: &Path,
        options: ApiOptions,
    ) -> Result<Self, ApiError> {
        let token = token::load_or_create(token_path)?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ApiError::Bind { addr, source })?;
        Self::serve(node, listener, token, options)
    }

    /// Serves `node` on a bound `listener` with `token`.
    fn serve(
        node: Node,
        listener: TcpListener,
        token: String,
        options: ApiOptions,
    ) -> Result<Self, ApiError> {
        let local = listener.local_addr().map_err(|source| ApiError::Bind {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            source,
        })?;
        if options.body_read_timeout.is_zero() {
            return Err(ApiError::Serve(lnedge_http::ServeError::InvalidConfig(
                "body_read_timeout must not be zero",
            )));
        }
        let shared_token = token.clone();
        let body_timeout = options.body_read_timeout;
        let handler = move |req: Request<Incoming>| {
            let node = node.clone();
            let token = shared_token.clone();
            let shutdown = req.extensions().get::<ShutdownSignal>().cloned();
            async move {
                handle(&node, &token, body_timeout, req)
                    .await
                    .map(|body| -> ServedBody {
                        match body {
                            Either::Left(full) => Either::Left(full),
                            Either::Right(events) => {
                                Either::Right(UntilShutdown::new(events, shutdown))
                            }
                        }
                    })
            }
        };
        // Accept backoff, 30 s header-read timeout (idle keep-alive too), connection bound,
        // TCP_NODELAY, bounded drain on shutdown: lnedge-http's serve loop. Bodies are bounded
        // here (`read_body`).
        let config = ServeConfig::new("admin API").drain_timeout(DRAIN_TIMEOUT);
        let server = lnedge_http::serve_fn(listener, handler, config).map_err(ApiError::Serve)?;
        tracing::info!(addr = %local, "admin API listening");
        Ok(Self {
            addr: local,
            token,
            server,
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

    /// Stops accepting, ends event streams, lets calls in flight finish for up to
    /// [`DRAIN_TIMEOUT`] and closes every connection.
    pub async fn shutdown(self) {
        // lnedge-http logs what it had to abort.
        if let Err(e) = self.server.shutdown().await {
            tracing::warn!(error = %e, "admin API did not stop cleanly");
        }
    }
}

/// Where the node's own admin API listens ([`Node::admin_api_url`]).
#[derive(Debug)]
struct Listening(SocketAddr);

/// The admin API as a node [`Feature`]: the token is loaded and `addr` bound while the node is
/// built (so a taken port is a build error), it serves once the node starts and drains when the
/// node stops. `NodeBuilder::admin_api` installs it.
pub(crate) fn feature(addr: SocketAddr) -> impl Feature {
    move |ctx: &mut FeatureContext<'_>| {
        let failed = |e: ApiError| BuildError::Feature {
            name: "admin API",
            source: Box::new(e),
        };
        let token =
            token::load_or_create(&ctx.config().data_dir.join(TOKEN_FILE)).map_err(failed)?;
        let listener = std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .map_err(|source| failed(ApiError::Bind { addr, source }))?;
        let local = listener
            .local_addr()
            .map_err(|source| failed(ApiError::Bind { addr, source }))?;
        ctx.provide(Arc::new(Listening(local)));
        ctx.on_start(move |node, mut stop| {
            tokio::spawn(async move {
                let served = TcpListener::from_std(listener)
                    .map_err(|source| ApiError::Bind { addr, source })
                    .and_then(|listener| {
                        AdminApi::serve(node, listener, token, ApiOptions::default())
                    });
                match served {
                    Ok(api) => {
                        let _ = stop.changed().await;
                        api.shutdown().await;
                    }
                    Err(e) => tracing::error!("admin API: {e}"),
                }
            })
        });
        Ok(())
    }
}

impl Node {
    /// The admin API's base URL (`http://host:port`), when the node serves it.
    pub fn admin_api_url(&self) -> Option<String> {
        self.extension::<Listening>()
            .map(|l| format!("http://{}", l.0))
    }

    /// The admin API's bearer token file: `<data dir>/api_token`.
    pub fn admin_token_path(&self) -> PathBuf {
        self.config().data_dir.join(TOKEN_FILE)
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
    let reply = ErrorReply {
        error: failure.message.clone(),
    };
    json_reply(
        failure.status,
        &serde_json::to_value(reply).unwrap_or(Value::Null),
    )
}

async fn handle(
    node: &Node,
    token: &str,
    body_timeout: Duration,
    req: Request<Incoming>,
) -> Response<ApiBody> {
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
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let (handler, param) = match route::route(req.method(), &path) {
        Ok(found) => found,
        Err(no_route) => {
            let mut response = error_reply(&no_route_failure(&no_route, req.method(), &path));
            if let NoRoute::MethodNotAllowed(allowed) = no_route {
                if let Ok(value) = HeaderValue::from_str(allowed.as_str()) {
                    response.headers_mut().insert(ALLOW, value);
                }
            }
            return response;
        }
    };
    let (decode, param) = match handler {
        Handler::Events => {
            let mut response = Response::new(Either::Right(EventStream::new(node.subscribe())));
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            return response;
        }
        Handler::Json(decode) => (decode, param),
        Handler::JsonQuery(decode) => (decode, query.as_str()),
    };
    let body = match read_body(req, body_timeout).await {
        Ok(body) => body,
        Err(failure) => {
            // The rest of the body may still come: it must not be read as the next request,
            // and a client must not send another one on this connection.
            let mut response = error_reply(&failure);
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
    };
    let call = match decode(&body, param) {
        Ok(call) => call,
        Err(failure) => return error_reply(&failure),
    };
    match call(node.clone()).await {
        Ok(reply) => {
            let mut response = json_reply(StatusCode::OK, &reply.body);
            for (name, value) in reply.headers {
                response.headers_mut().insert(name, value);
            }
            response
        }
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
/// route (method and path, which may carry a query: `/v1/payments?limit=2`) and the body (at
/// most [`MAX_BODY_BYTES`], strict JSON, ids, amounts and limits checked) — and returns the status and message the API would refuse it with.
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
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let (handler, param) =
        route::route(&method, path).map_err(|n| refuse(no_route_failure(&n, &method, path)))?;
    let (decode, param) = match handler {
        Handler::Json(decode) => (decode, param),
        Handler::JsonQuery(decode) => (decode, query),
        Handler::Events => return Ok(()),
    };
    if body.len() > MAX_BODY_BYTES {
        return Err(refuse(body_too_large()));
    }
    decode(body, param).map(drop).map_err(refuse)
}

fn body_too_large() -> Failure {
    Failure::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body is larger than {MAX_BODY_BYTES} bytes"),
    )
}

/// A body declared over [`MAX_BODY_BYTES`] but at most this long is read and dropped before the
/// 413; a longer one is answered at once (and the connection closed).
const MAX_DRAINED_BYTES: u64 = 1 << 20;

/// The request's body: at most [`MAX_BODY_BYTES`], all of it within `timeout`.
async fn read_body(req: Request<Incoming>, timeout: Duration) -> Result<Bytes, Failure> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared.filter(|len| *len > MAX_BODY_BYTES as u64) {
        if len <= MAX_DRAINED_BYTES {
            // Read and drop it, so that a client still writing gets the 413 rather than a
            // connection reset under its feet.
            let drain = Limited::new(req.into_body(), MAX_DRAINED_BYTES as usize).collect();
            let _ = tokio::time::timeout(timeout, drain).await;
        }
        return Err(body_too_large());
    }
    let read = Limited::new(req.into_body(), MAX_BODY_BYTES).collect();
    let Ok(result) = tokio::time::timeout(timeout, read).await else {
        return Err(Failure::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "request body not received within {} s",
                timeout.as_secs_f64()
            ),
        ));
    };
    match result {
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
        assert_eq!(
            status(
                "GET",
                &format!("/v1/payments?limit=2&after={}", "ab".repeat(32)),
                ""
            ),
            Ok(())
        );
        assert_eq!(status("GET", "/v1/payments?limit=1001", ""), Err(400));
        assert_eq!(status("GET", "/v1/payments?after=ab", ""), Err(400));
        assert_eq!(
            status(
                "POST",
                "/v1/invoices",
                r#"{"amount_msat":2100000000000000000}"#
            ),
            Err(400)
        );
        assert_eq!(
            status("POST", "/v1/async/recipients", r#"{"label":"alice"}"#),
            Ok(())
        );
        assert_eq!(status("POST", "/v1/async/revoke/0a0b", ""), Ok(()));
        assert_eq!(status("POST", "/v1/async/revoke/0a0", ""), Err(400));
        assert_eq!(status("GET", "/v1/async/invoices/zz", ""), Err(400));
        assert_eq!(
            status("POST", "/v1/async/apply", r#"{"token":"lnasync1x"}"#),
            Err(400)
        );
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
}
