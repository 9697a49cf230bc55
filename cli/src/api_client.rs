//! The admin API client the node commands use: hyper-util's client over plain HTTP, the bearer
//! token read from the node's token file. Requests and replies are the API's own types
//! ([`lnedge_node::api::types`]); `{"error": …}` replies ([`ErrorReply`]) become errors.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lnedge_node::api::types::ErrorReply;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Serialize;

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

    /// `GET path`, its reply read as an `R`.
    pub async fn get<R: DeserializeOwned>(&self, path: &str) -> anyhow::Result<R> {
        Ok(self.send(Method::GET, path, None).await?.0)
    }

    /// `GET path`, its reply read as an `R`, and the reply header `header` (e.g. the next-page
    /// cursor of `GET /v1/payments`) if the reply has it.
    pub async fn get_with_header<R: DeserializeOwned>(
        &self,
        path: &str,
        header: &str,
    ) -> anyhow::Result<(R, Option<String>)> {
        let (reply, headers) = self.send(Method::GET, path, None).await?;
        let value = match headers.get(header) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .with_context(|| format!("the API's `{header}` header is not text"))?
                    .to_string(),
            ),
        };
        Ok((reply, value))
    }

    /// `POST path` with `request` as its JSON body, the reply read as an `R`.
    pub async fn post<Q: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        request: &Q,
    ) -> anyhow::Result<R> {
        let body = serde_json::to_vec(request)
            .with_context(|| format!("cannot encode the request to {path}"))?;
        Ok(self.send(Method::POST, path, Some(body)).await?.0)
    }

    async fn send<R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<(R, HeaderMap)> {
        let url = format!("{}{path}", self.base);
        let mut request = Request::builder()
            .method(method)
            .uri(&url)
            .header(AUTHORIZATION, &self.auth);
        let bytes = match body {
            Some(body) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Bytes::from(body)
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
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .with_context(|| format!("reading the reply of {url}"))?
            .to_bytes();
        Ok((decode_reply(status, &body, &url)?, headers))
    }
}

/// Reads a reply: an `R` on success, an error carrying [`ErrorReply::error`] otherwise.
fn decode_reply<R: DeserializeOwned>(
    status: StatusCode,
    body: &[u8],
    url: &str,
) -> anyhow::Result<R> {
    if let Err(e) = serde_json::from_slice::<IgnoredAny>(body) {
        return Err(anyhow::Error::new(e).context(format!(
            "the API answered {status} with something that is not JSON: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )));
    }
    if !status.is_success() {
        let message = match serde_json::from_slice::<ErrorReply>(body) {
            Ok(reply) => reply.error,
            // JSON without an `error` text: show it whole, on one line.
            Err(_) => serde_json::from_slice::<serde_json::Value>(body)?.to_string(),
        };
        bail!("{message} (HTTP {})", status.as_u16());
    }
    serde_json::from_slice(body)
        .with_context(|| format!("the API's reply to {url} is not what this lnedge expects"))
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

#[cfg(test)]
mod tests {
    use lnedge_node::api::types::{NewAddress, Peer};

    use super::*;

    const URL: &str = "http://127.0.0.1:9737/v1/wallet/address";

    fn error_of<R: DeserializeOwned + std::fmt::Debug>(status: StatusCode, body: &str) -> String {
        format!(
            "{:#}",
            decode_reply::<R>(status, body.as_bytes(), URL).unwrap_err()
        )
    }

    #[test]
    fn replies_decode_into_their_type() {
        let reply: NewAddress =
            decode_reply(StatusCode::OK, b"{\"address\":\"bcrt1q\"}\n", URL).unwrap();
        assert_eq!(reply.address, "bcrt1q");
        let peers: Vec<Peer> = decode_reply(StatusCode::OK, b"[]\n", URL).unwrap();
        assert!(peers.is_empty());
    }

    #[test]
    fn error_replies_carry_their_text() {
        assert_eq!(
            error_of::<NewAddress>(StatusCode::NOT_FOUND, "{\"error\":\"no payment\"}\n"),
            "no payment (HTTP 404)"
        );
        assert_eq!(
            error_of::<NewAddress>(StatusCode::BAD_GATEWAY, "{\"oops\":1}"),
            "{\"oops\":1} (HTTP 502)"
        );
        let e = error_of::<NewAddress>(StatusCode::BAD_GATEWAY, "<html>");
        assert!(
            e.starts_with(
                "the API answered 502 Bad Gateway with something that is not JSON: <html>: "
            ),
            "{e}"
        );
        let e = error_of::<NewAddress>(StatusCode::OK, "{\"txid\":\"ab\"}");
        assert!(
            e.starts_with(&format!(
                "the API's reply to {URL} is not what this lnedge expects: missing field `address`"
            )),
            "{e}"
        );
    }
}
