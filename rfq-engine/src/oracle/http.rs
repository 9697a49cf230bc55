//! [`HttpOracle`]: a price oracle reached with a JSON `POST` over plain HTTP/1.1.

use super::schema::{QueryAssetRatesRequest, QueryAssetRatesResponse};
use super::{OracleError, OracleFuture, OracleRate, PriceOracle, RateQuery};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{header, Method, Request, Uri};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// An [`HttpOracle`] URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpOracleConfigError {
    /// Not a URL.
    #[error("invalid oracle URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// Not `http://host[:port]/path`: only plain HTTP is supported.
    #[error("oracle URL {url:?} must be http://host[:port]/path")]
    UnsupportedUrl {
        /// The URL given.
        url: String,
    },
}

/// Queries an oracle service by `POST`ing a [`QueryAssetRatesRequest`] as JSON to a fixed URL
/// and reading a [`QueryAssetRatesResponse`] (see `docs/price-oracle.md`).
///
/// Errors: no answer within the timeout, a connection failure or a non-2xx status is
/// [`OracleError::Unavailable`]; a body that is not the schema (or exceeds 64 KiB) is
/// [`OracleError::InvalidResponse`]; error code 1 is [`OracleError::UnsupportedAsset`]. Needs a
/// Tokio runtime with the time driver enabled.
#[derive(Debug, Clone)]
pub struct HttpOracle {
    url: Uri,
    timeout: Duration,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl HttpOracle {
    /// The timeout used unless [`HttpOracle::with_timeout`] sets another: 10 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// The largest response body read.
    pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

    /// An oracle at `url` (`http://host[:port]/path`).
    pub fn new(url: &str) -> Result<Self, HttpOracleConfigError> {
        let parsed: Uri = url.parse().map_err(|e: hyper::http::uri::InvalidUri| {
            HttpOracleConfigError::InvalidUrl {
                url: url.to_owned(),
                reason: e.to_string(),
            }
        })?;
        if parsed.scheme_str() != Some("http") || parsed.host().is_none() {
            return Err(HttpOracleConfigError::UnsupportedUrl {
                url: url.to_owned(),
            });
        }
        Ok(HttpOracle {
            url: parsed,
            timeout: Self::DEFAULT_TIMEOUT,
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    /// Sets the time allowed for a whole query: connect, send, and read the response.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The oracle's URL.
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// The time allowed for a whole query.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn query(&self, query: &RateQuery) -> Result<OracleRate, OracleError> {
        let body = serde_json::to_vec(&QueryAssetRatesRequest::from(query)).map_err(|e| {
            OracleError::Unavailable {
                reason: format!("cannot encode the request: {e}"),
            }
        })?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.url.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| OracleError::Unavailable {
                reason: format!("cannot build the request: {e}"),
            })?;

        let exchange = async {
            let response =
                self.client
                    .request(request)
                    .await
                    .map_err(|e| OracleError::Unavailable {
                        reason: format!("request to {} failed: {e}", self.url),
                    })?;
            let status = response.status();
            if !status.is_success() {
                return Err(OracleError::Unavailable {
                    reason: format!("{} answered HTTP {status}", self.url),
                });
            }
            let body = Limited::new(response.into_body(), Self::MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| OracleError::InvalidResponse {
                    reason: format!("cannot read the body: {e}"),
                })?
                .to_bytes();
            Ok(body)
        };
        let body = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| OracleError::Unavailable {
                reason: format!("no answer from {} within {:?}", self.url, self.timeout),
            })??;

        serde_json::from_slice::<QueryAssetRatesResponse>(&body)
            .map_err(|e| OracleError::InvalidResponse {
                reason: format!("malformed JSON: {e}"),
            })?
            .into_result()
    }
}

impl PriceOracle for HttpOracle {
    fn query_rate<'a>(&'a self, query: &'a RateQuery) -> OracleFuture<'a> {
        Box::pin(self.query(query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let oracle = HttpOracle::new("http://127.0.0.1:8095/v1/rates").unwrap();
        assert_eq!(oracle.url().path(), "/v1/rates");
        assert_eq!(oracle.timeout(), HttpOracle::DEFAULT_TIMEOUT);
        assert_eq!(
            oracle.with_timeout(Duration::from_millis(5)).timeout(),
            Duration::from_millis(5)
        );
        for bad in ["https://oracle.example/rates", "/rates", "rfqrpc://host:1"] {
            assert!(
                matches!(
                    HttpOracle::new(bad),
                    Err(HttpOracleConfigError::UnsupportedUrl { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            HttpOracle::new("http://bad host/"),
            Err(HttpOracleConfigError::InvalidUrl { .. })
        ));
    }
}
