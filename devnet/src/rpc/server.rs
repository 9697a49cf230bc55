//! The HTTP server: hyper 1 over tokio, HTTP basic auth (user/password or Core's cookie file),
//! JSON-RPC 1.0 and 2.0 request and reply shapes and status codes as Bitcoin Core uses them.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use http_body_util::BodyExt;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use lnedge_http::ServeConfig;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::error::{RpcError, RPC_INVALID_REQUEST, RPC_METHOD_NOT_FOUND, RPC_PARSE_ERROR};
use super::methods::dispatch;
use crate::Devnet;

/// Name of Core's cookie file.
pub const COOKIE_FILE: &str = ".cookie";
/// User name of cookie authentication.
pub const COOKIE_USER: &str = "__cookie__";
/// Largest request body accepted (Core's limit is also 32 MB).
const MAX_BODY: usize = 32 * 1024 * 1024;
/// How long [`RpcServer::shutdown`] lets calls in flight finish before closing their
/// connections.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// How clients authenticate.
#[derive(Clone, Debug)]
pub enum RpcAuth {
    /// A fixed user name and password (`-rpcuser`/`-rpcpassword`).
    UserPass {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// A random password written to `<dir>/.cookie` as `__cookie__:<hex>` (mode 0600) and
    /// removed on shutdown.
    Cookie {
        /// Directory of the cookie file.
        dir: PathBuf,
    },
}

/// How to start an [`RpcServer`].
#[derive(Clone, Debug)]
pub struct RpcServerConfig {
    /// Address to listen on (port 0 picks a free port).
    pub bind: SocketAddr,
    /// Authentication.
    pub auth: RpcAuth,
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum RpcServerError {
    /// Binding the listener failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing the cookie file failed.
    #[error("cannot write cookie file {path}: {source}")]
    Cookie {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// No randomness for the cookie.
    #[error("no randomness for the RPC cookie: {0}")]
    Random(String),
    /// The HTTP server could not start.
    #[error("RPC server: {0}")]
    Serve(#[source] lnedge_http::ServeError),
}

/// A running JSON-RPC server; stops on [`shutdown`](Self::shutdown) or when dropped.
#[derive(Debug)]
pub struct RpcServer {
    addr: SocketAddr,
    user: String,
    password: String,
    cookie_path: Option<PathBuf>,
    server: Option<lnedge_http::ServerHandle>,
}

impl RpcServer {
    /// Binds, writes the cookie if asked to, and serves `devnet` on the current tokio runtime.
    pub async fn start(devnet: Devnet, config: RpcServerConfig) -> Result<Self, RpcServerError> {
        let (user, password, cookie_path) = match config.auth {
            RpcAuth::UserPass { user, password } => (user, password, None),
            RpcAuth::Cookie { dir } => {
                let password = random_hex()?;
                let path = write_cookie(&dir, &password)?;
                (COOKIE_USER.to_string(), password, Some(path))
            }
        };
        let listener =
            TcpListener::bind(config.bind)
                .await
                .map_err(|source| RpcServerError::Bind {
                    addr: config.bind,
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|source| RpcServerError::Bind {
                addr: config.bind,
                source,
            })?;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        );
        let service =
            hyper::service::service_fn(move |req| handle(devnet.clone(), expected.clone(), req));
        // Accept backoff, 30 s header-read timeout (idle keep-alive too, like Core's
        // -rpcservertimeout), connection bound, TCP_NODELAY, bounded drain on shutdown.
        let config = ServeConfig::new("devnet RPC").drain_timeout(DRAIN_TIMEOUT);
        let server =
            lnedge_http::serve(listener, service, config).map_err(RpcServerError::Serve)?;
        Ok(RpcServer {
            addr,
            user,
            password,
            cookie_path,
            server: Some(server),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://host:port`, the base URL for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// User name clients must send.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Password clients must send.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// `base64(user:password)`, as lightning-block-sync's `RpcClient::new` takes it.
    pub fn credentials_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.user, self.password))
    }

    /// The cookie file, with cookie authentication.
    pub fn cookie_path(&self) -> Option<&Path> {
        self.cookie_path.as_deref()
    }

    /// Stops accepting, lets calls in flight finish for up to [`DRAIN_TIMEOUT`], closes
    /// connections, removes the cookie file.
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            // lnedge-http logs what it had to abort.
            if let Err(e) = server.shutdown().await {
                tracing::warn!(error = %e, "RPC server did not stop cleanly");
            }
        }
        self.remove_cookie();
    }

    fn remove_cookie(&mut self) {
        if let Some(path) = self.cookie_path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Drop for RpcServer {
    fn drop(&mut self) {
        // Dropping the server handle stops it.
        self.server.take();
        self.remove_cookie();
    }
}

fn random_hex() -> Result<String, RpcServerError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| RpcServerError::Random(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn write_cookie(dir: &Path, password: &str) -> Result<PathBuf, RpcServerError> {
    use std::io::Write;
    let path = dir.join(COOKIE_FILE);
    let err = |source| RpcServerError::Cookie {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(err)?;
    }
    file.write_all(format!("{COOKIE_USER}:{password}").as_bytes())
        .map_err(err)?;
    Ok(path)
}

type Body = Full<Bytes>;

fn reply(status: StatusCode, body: Option<Value>) -> Response<Body> {
    let text = body.map(|b| format!("{b}\n")).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    if status != StatusCode::UNAUTHORIZED && status != StatusCode::NO_CONTENT {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    response
}

/// Constant-time comparison of the Authorization header with the expected value.
fn authorized(header: Option<&HeaderValue>, expected: &str) -> bool {
    let Some(got) = header.map(HeaderValue::as_bytes) else {
        return false;
    };
    let want = expected.as_bytes();
    if got.len() != want.len() {
        return false;
    }
    got.iter().zip(want).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

async fn handle(
    devnet: Devnet,
    expected: String,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    if req.method() != Method::POST {
        let mut response = Response::new(Full::new(Bytes::from_static(
            b"JSONRPC server handles only POST requests",
        )));
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        return Ok(response);
    }
    if !authorized(req.headers().get(AUTHORIZATION), &expected) {
        let mut response = reply(StatusCode::UNAUTHORIZED, None);
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"jsonrpc\""),
        );
        return Ok(response);
    }
    if req.uri().path() != "/" {
        return Ok(reply(StatusCode::NOT_FOUND, None));
    }
    let body = match http_body_util::Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(reply(StatusCode::BAD_REQUEST, None)),
    };
    // Method calls may mine many blocks or verify many scripts: keep them off the reactor.
    let result = tokio::task::spawn_blocking(move || answer_body(&devnet, &body)).await;
    Ok(match result {
        Ok((status, body)) => reply(status, body),
        Err(_) => {
            let e = RpcError::new(super::error::RPC_MISC_ERROR, "internal error");
            reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(json!({"result": null, "error": e.to_json(), "id": null})),
            )
        }
    })
}

/// Answers a raw JSON-RPC request body (one call or a batch) as the server does after
/// authentication: the HTTP status and the reply body (none for a JSON-RPC 2.0 notification).
pub fn answer_body(devnet: &Devnet, body: &[u8]) -> (StatusCode, Option<Value>) {
    match serde_json::from_slice(body) {
        Ok(request) => answer(devnet, request),
        Err(_) => {
            let e = RpcError::new(RPC_PARSE_ERROR, "Parse error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(json!({"result": null, "error": e.to_json(), "id": null})),
            )
        }
    }
}

/// Answers a parsed request body: one call or a batch.
fn answer(devnet: &Devnet, request: Value) -> (StatusCode, Option<Value>) {
    match request {
        Value::Object(_) => {
            let (status, body) = call(devnet, &request);
            (status, body)
        }
        Value::Array(batch) => {
            let replies: Vec<Value> = batch.iter().filter_map(|r| call(devnet, r).1).collect();
            (StatusCode::OK, Some(Value::Array(replies)))
        }
        _ => {
            let e = RpcError::new(RPC_PARSE_ERROR, "Top-level object parse error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(json!({"result": null, "error": e.to_json(), "id": null})),
            )
        }
    }
}

/// One JSON-RPC call: the HTTP status Core would use and the reply (none for a 2.0
/// notification).
fn call(devnet: &Devnet, request: &Value) -> (StatusCode, Option<Value>) {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let version = request.get("jsonrpc");
    let v2 = version.and_then(Value::as_str) == Some("2.0");
    let legacy_error = |e: RpcError| {
        let status = match e.code {
            RPC_INVALID_REQUEST => StatusCode::BAD_REQUEST,
            RPC_METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (
            status,
            Some(json!({"result": null, "error": e.to_json(), "id": id})),
        )
    };
    let Value::Object(obj) = request else {
        return legacy_error(RpcError::new(RPC_INVALID_REQUEST, "Invalid Request object"));
    };
    if let Some(v) = version {
        if !v2 && v.as_str() != Some("1.0") {
            return legacy_error(RpcError::new(
                RPC_INVALID_REQUEST,
                "JSON-RPC version not supported",
            ));
        }
    }
    let result = match obj.get("method") {
        Some(Value::String(method)) => {
            dispatch(devnet, method, obj.get("params").unwrap_or(&Value::Null))
        }
        None => Err(RpcError::new(RPC_INVALID_REQUEST, "Missing method")),
        Some(_) => Err(RpcError::new(
            RPC_INVALID_REQUEST,
            "Method must be a string",
        )),
    };
    if v2 {
        if !obj.contains_key("id") {
            return (StatusCode::NO_CONTENT, None);
        }
        let body = match result {
            Ok(r) => json!({"jsonrpc": "2.0", "result": r, "id": id}),
            Err(e) => json!({"jsonrpc": "2.0", "error": e.to_json(), "id": id}),
        };
        return (StatusCode::OK, Some(body));
    }
    match result {
        Ok(r) => (
            StatusCode::OK,
            Some(json!({"result": r, "error": null, "id": id})),
        ),
        Err(e) => legacy_error(e),
    }
}
