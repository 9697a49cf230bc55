//! `HttpOracle` against a real hyper server on 127.0.0.1 (port 0).

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rfq_engine::oracle::schema::{QueryAssetRatesRequest, QueryAssetRatesResponse};
use rfq_engine::{
    FallbackOracle, HttpOracle, Intent, OracleError, OracleRate, PriceOracle, RateHint, RateQuery,
    TransactionType,
};
use rfq_wire::{AssetId, AssetSpecifier, FixedPoint, Metadata};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// What the test server answers.
#[derive(Clone)]
struct Reply {
    status: StatusCode,
    body: String,
    delay: Duration,
}

impl Reply {
    fn json(body: impl Into<String>) -> Self {
        Reply {
            status: StatusCode::OK,
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    content_type: Option<String>,
    body: Bytes,
}

struct OracleServer {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// Serves `reply` to every request until the test's runtime ends.
async fn serve(reply: Reply) -> OracleServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/asset-rates", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (reply, log) = (reply.clone(), log.clone());
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let (reply, log) = (reply.clone(), log.clone());
                async move {
                    let (parts, body) = req.into_parts();
                    let body = body.collect().await.unwrap().to_bytes();
                    log.lock().unwrap().push(Seen {
                        method: parts.method.to_string(),
                        path: parts.uri.path().to_owned(),
                        content_type: parts
                            .headers
                            .get(hyper::header::CONTENT_TYPE)
                            .map(|v| v.to_str().unwrap().to_owned()),
                        body,
                    });
                    tokio::time::sleep(reply.delay).await;
                    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
                    *response.status_mut() = reply.status;
                    Ok::<_, Infallible>(response)
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    OracleServer { url, seen }
}

const USD: AssetSpecifier = AssetSpecifier::AssetId(AssetId([0x11; 32]));

fn query() -> RateQuery {
    RateQuery {
        subject_max_amount: Some(10_000),
        rate_hint: Some(RateHint {
            rate: FixedPoint::new(67_918_900_000, 2),
            expiry: 1_700_000_000,
        }),
        node_id: Some([3; 33]),
        metadata: Metadata(b"vip".to_vec()),
        ..RateQuery::new(TransactionType::Sale, Intent::RecvPayment, USD)
    }
}

fn ok_body(coefficient: &str, scale: u32, expiry: u64) -> String {
    format!(
        r#"{{"ok":{{"asset_rates":{{"subject_asset_rate":{{"coefficient":"{coefficient}","scale":{scale}}},"payment_asset_rate":{{"coefficient":"100000000000","scale":9}},"expiry_timestamp":"{expiry}"}}}}}}"#
    )
}

fn oracle(server: &OracleServer) -> HttpOracle {
    HttpOracle::new(&server.url)
        .unwrap()
        .with_timeout(Duration::from_secs(5))
}

#[tokio::test]
async fn ok_response_gives_the_rate_and_the_request_follows_the_schema() {
    let server = serve(Reply::json(ok_body("67918900000", 2, 1_700_000_600))).await;
    let answer = oracle(&server).query_rate(&query()).await;
    assert_eq!(
        answer,
        Ok(OracleRate {
            rate: FixedPoint::new(67_918_900_000, 2),
            expiry: 1_700_000_600
        })
    );

    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/v1/asset-rates");
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
    let request: QueryAssetRatesRequest = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(request, QueryAssetRatesRequest::from(&query()));
    let raw: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(raw["transaction_type"], "SALE");
    assert_eq!(raw["intent"], "INTENT_RECV_PAYMENT");
    assert_eq!(raw["subject_asset_max_amount"], "10000");
    assert_eq!(raw["payment_asset_max_amount"], "0");
    assert_eq!(raw["node_id"], "03".repeat(33));
    assert_eq!(raw["metadata"], "vip");
    assert!(raw.get("counterparty_id").is_none());
}

#[tokio::test]
async fn error_responses_map_to_unsupported_asset_or_declined() {
    let server = serve(Reply::json(
        r#"{"error":{"message":"asset not supported","code":1}}"#,
    ))
    .await;
    let err = oracle(&server).query_rate(&query()).await.unwrap_err();
    assert_eq!(
        err,
        OracleError::UnsupportedAsset {
            message: "asset not supported".into()
        }
    );
    assert_eq!(err.reject().1, "asset not supported");

    let server = serve(Reply::json(
        r#"{"error":{"message":"maintenance","code":0}}"#,
    ))
    .await;
    let err = oracle(&server).query_rate(&query()).await.unwrap_err();
    assert_eq!(
        err,
        OracleError::Declined {
            code: 0,
            message: "maintenance".into()
        }
    );
    assert_eq!(err.reject().1, "unknown reject error");
}

#[tokio::test]
async fn http_500_is_unavailable() {
    let server = serve(Reply {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        ..Reply::json(ok_body("1", 0, 1))
    })
    .await;
    let err = oracle(&server).query_rate(&query()).await.unwrap_err();
    assert!(
        matches!(&err, OracleError::Unavailable { reason } if reason.contains("500")),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_json_is_an_invalid_response() {
    for body in ["not json", "{\"ok\":", "[]", "{}"] {
        let server = serve(Reply::json(body)).await;
        let err = oracle(&server).query_rate(&query()).await.unwrap_err();
        assert!(
            matches!(err, OracleError::InvalidResponse { .. }),
            "{body}: {err}"
        );
    }
}

#[tokio::test]
async fn zero_and_out_of_range_rates_are_rejected() {
    let server = serve(Reply::json(ok_body("0", 2, 1))).await;
    assert_eq!(
        oracle(&server).query_rate(&query()).await,
        Err(OracleError::ZeroRate)
    );
    for (coefficient, scale) in [("1", 19), ("1", 300), ("12x", 0)] {
        let server = serve(Reply::json(ok_body(coefficient, scale, 1))).await;
        let err = oracle(&server).query_rate(&query()).await.unwrap_err();
        assert!(
            matches!(err, OracleError::InvalidResponse { .. }),
            "{coefficient}/{scale}: {err}"
        );
    }
}

#[tokio::test]
async fn oversized_body_is_an_invalid_response() {
    let server = serve(Reply::json(" ".repeat(HttpOracle::MAX_RESPONSE_BYTES + 1))).await;
    let err = oracle(&server).query_rate(&query()).await.unwrap_err();
    assert!(matches!(err, OracleError::InvalidResponse { .. }), "{err}");
}

#[tokio::test]
async fn slow_oracle_times_out_as_unavailable() {
    let server = serve(Reply {
        delay: Duration::from_secs(30),
        ..Reply::json(ok_body("1", 0, 1))
    })
    .await;
    let started = Instant::now();
    let err = HttpOracle::new(&server.url)
        .unwrap()
        .with_timeout(Duration::from_millis(200))
        .query_rate(&query())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(&err, OracleError::Unavailable { reason } if reason.contains("within")),
        "{err}"
    );
}

#[tokio::test]
async fn connection_refused_is_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let err = HttpOracle::new(&url)
        .unwrap()
        .with_timeout(Duration::from_secs(5))
        .query_rate(&query())
        .await
        .unwrap_err();
    assert!(matches!(err, OracleError::Unavailable { .. }), "{err}");
}

#[tokio::test]
async fn fallback_moves_from_a_failing_http_oracle_to_a_working_one() {
    let broken = serve(Reply {
        status: StatusCode::BAD_GATEWAY,
        ..Reply::json("")
    })
    .await;
    let body = QueryAssetRatesResponse::ok(FixedPoint::new(990_000_000, 2), 42);
    let working = serve(Reply::json(serde_json::to_string(&body).unwrap())).await;
    let chain =
        FallbackOracle::new(Arc::new(oracle(&broken))).with_backup(Arc::new(oracle(&working)));
    let answer = chain.query_rate(&query()).await.unwrap();
    assert_eq!(answer.rate, FixedPoint::new(990_000_000, 2));
    assert_eq!(broken.seen.lock().unwrap().len(), 1);
    assert_eq!(working.seen.lock().unwrap().len(), 1);
}
