//! The admin API client the node commands use: hyper-util's client over plain HTTP, the bearer
//! token read from the node's token file, `{"error": …}` replies turned into errors.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Default address of the admin API (`lnedge node run --api`, `lnedge --api`).
pub const DEFAULT_API_ADDR: &str = "127.0.0.1:9737";

/// The node's data directory when none is given: `~/.lnedge`.
pub fn default_data_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".lnedge")
}

/// Where a node keeps its API token: `<data dir>/api_token`.
pub fn token_path(data_dir: &Path) -> PathBuf {
    data_dir.join(lnedge_node::api::TOKEN_FILE)
}

/// A connection to one node's admin API.
pub struct ApiClient {
    base: String,
    auth: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl ApiClient {
    /// A client for the API at `url` (`http://host:port` or `host:port`) with the token from
    /// `token_file`.
    pub fn new(url: &str, token_file: &Path) -> anyhow::Result<Self> {
        let url = url.trim().trim_end_matches('/');
        let base = if url.contains("://") {
            if !url.starts_with("http://") {
                bail!("--api must be an http:// URL, not `{url}`");
            }
            url.to_string()
        } else {
            format!("http://{url}")
        };
        base.parse::<hyper::Uri>()
            .with_context(|| format!("invalid API URL `{base}`"))?;
        let token = std::fs::read_to_string(token_file).with_context(|| {
            format!(
                "cannot read the API token file {} (give --token-file or --data-dir)",
                token_file.display()
            )
        })?;
        let token = token.trim();
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!(
                "{} does not hold an API token (hex characters expected)",
                token_file.display()
            );
        }
        Ok(Self {
            base,
            auth: format!("Bearer {token}"),
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(Method::POST, path, Some(body)).await
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = Request::builder()
            .method(method)
            .uri(&url)
            .header(AUTHORIZATION, &self.auth);
        let bytes = match body {
            Some(value) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Bytes::from(value.to_string())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(bytes))
            .with_context(|| format!("invalid request to {url}"))?;
        let response = self.client.request(request).await.map_err(|e| {
            anyhow!(
                "cannot reach the node's API at {}: {}",
                self.base,
                chain(&e)
            )
        })?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .with_context(|| format!("reading the reply of {url}"))?
            .to_bytes();
        let value: Value = serde_json::from_slice(&body).with_context(|| {
            format!(
                "the API answered {status} with something that is not JSON: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            )
        })?;
        if !status.is_success() {
            let message = value
                .get("error")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| value.to_string());
            bail!("{message} (HTTP {})", status.as_u16());
        }
        Ok(value)
    }
}

/// An error and its sources on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
