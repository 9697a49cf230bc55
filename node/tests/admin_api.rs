//! The admin HTTP API against a real node (on a devnet chain) over loopback HTTP: authentication,
//! the read endpoints, 400/404/405/413 on bad requests, and the async payments endpoints (409
//! without the role).

use std::path::PathBuf;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use lnedge_devnet::{anyone_can_spend_script, Devnet, RpcAuth, RpcServer, RpcServerConfig};
use lnedge_node::adapters::async_payments::{self, AsyncPaymentsConfig, ServerRole};
use lnedge_node::api::{AdminApi, ApiOptions};
use lnedge_node::{Node, NodeBuilder};
use serde_json::Value;

struct Harness {
    node: Node,
    api: AdminApi,
    client: Client<HttpConnector, Full<Bytes>>,
    token_path: PathBuf,
    /// The node's own devnet, when it has one (`start`); shut down with the node.
    chain: Option<RpcServer>,
    _dir: tempfile::TempDir,
}

/// A devnet chain served over loopback RPC (user `test`, password `test`).
async fn start_chain() -> (Devnet, RpcServer) {
    let devnet = Devnet::in_memory();
    let rpc = RpcServer::start(
        devnet.clone(),
        RpcServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            auth: RpcAuth::UserPass {
                user: "test".into(),
                password: "test".into(),
            },
        },
    )
    .await
    .unwrap();
    (devnet, rpc)
}

/// A node on a devnet chain of its own, with its API.
async fn start() -> Harness {
    start_with(|b| b).await
}

/// A node on a devnet chain of its own, built with `features` added, with its API.
async fn start_with(features: impl FnOnce(NodeBuilder) -> NodeBuilder) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let (_, rpc) = start_chain().await;
    let node = features(NodeBuilder::new(dir.path().join("node")))
        .bitcoind_rpc(rpc.url(), "test", "test")
        .start()
        .await
        .expect("node starts");
    let token_path = dir.path().join("node").join("api_token");
    let api = AdminApi::start(node.clone(), "127.0.0.1:0".parse().unwrap(), &token_path)
        .await
        .expect("API starts");
    let client = Client::builder(TokioExecutor::new()).build_http();
    Harness {
        node,
        api,
        client,
        token_path,
        chain: Some(rpc),
        _dir: dir,
    }
}

impl Harness {
    async fn raw(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        body: &str,
    ) -> (StatusCode, hyper::HeaderMap, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.api.url()));
        if let Some(auth) = auth {
            req = req.header("authorization", auth);
        }
        if !body.is_empty() {
            req = req.header("content-type", "application/json");
        }
        let response = self
            .client
            .request(req.body(Full::new(Bytes::from(body.to_string()))).unwrap())
            .await
            .expect("request answered");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{path}: reply is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        (status, headers, value)
    }

    async fn call(&self, method: Method, path: &str, body: &str) -> (StatusCode, Value) {
        let auth = format!("Bearer {}", self.api.token());
        let (status, _, value) = self.raw(method, path, Some(&auth), body).await;
        (status, value)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, "").await
    }

    async fn post(&self, path: &str, body: &str) -> (StatusCode, Value) {
        self.call(Method::POST, path, body).await
    }

    async fn stop(self) {
        self.api.shutdown().await;
        self.node.stop().await;
        if let Some(rpc) = self.chain {
            rpc.shutdown().await;
        }
    }
}

fn error_text(value: &Value) -> &str {
    value["error"].as_str().expect("an error message")
}

/// A regtest invoice of some other node, created an hour ago: valid for another hour, or
/// `expired` 59 minutes ago.
fn foreign_invoice(amount_msat: Option<u64>, expired: bool) -> String {
    use bitcoin::hashes::{sha256, Hash};
    use bitcoin::secp256k1::{Secp256k1, SecretKey};
    use lightning_invoice::{Currency, InvoiceBuilder, PaymentHash, PaymentSecret};
    use std::time::Duration;

    let key = SecretKey::from_slice(&[0x42; 32]).unwrap();
    let created = lnedge_storage::clock::since_epoch() - Duration::from_secs(3600);
    let builder = InvoiceBuilder::new(Currency::Regtest)
        .description("elsewhere".into())
        .payment_hash(PaymentHash(
            sha256::Hash::hash(&[u8::from(expired)]).to_byte_array(),
        ))
        .payment_secret(PaymentSecret([7; 32]))
        .duration_since_epoch(created)
        .expiry_time(Duration::from_secs(if expired { 60 } else { 7200 }))
        .min_final_cltv_expiry_delta(144);
    let builder = match amount_msat {
        Some(msat) => builder.amount_milli_satoshis(msat),
        None => builder,
    };
    builder
        .build_signed(|hash| Secp256k1::new().sign_ecdsa_recoverable(hash, &key))
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_need_the_bearer_token() {
    let h = start().await;
    let wrong = format!("Bearer {}", "0".repeat(64));
    let bare = h.api.token().to_string();
    for auth in [
        None,
        Some(wrong.as_str()),
        Some(bare.as_str()),
        Some("Bearer "),
    ] {
        for (method, path) in [
            (Method::GET, "/v1/info"),
            (Method::POST, "/v1/wallet/address"),
            (Method::GET, "/v1/no-such-route"),
        ] {
            let (status, headers, body) = h.raw(method, path, auth, "").await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} with {auth:?}");
            assert_eq!(headers["www-authenticate"], "Bearer");
            assert!(error_text(&body).contains("unauthorized"));
        }
    }
    // The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let auth = format!("{scheme} {}", h.api.token());
        let (status, _, body) = h.raw(Method::GET, "/v1/info", Some(&auth), "").await;
        assert_eq!(status, StatusCode::OK, "{auth}: {body}");
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_endpoints_answer() {
    let h = start().await;
    let (status, info) = h.get("/v1/info").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["node_id"], h.node.node_id().to_string());
    assert_eq!(info["network"], "regtest");
    assert_eq!(info["peers"], 0);

    let (status, balance) = h.get("/v1/wallet/balance").await;
    assert_eq!(status, StatusCode::OK);
    assert!(balance["total_sat"].is_u64());

    let (status, address) = h.post("/v1/wallet/address", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(address["address"].as_str().unwrap().starts_with("bcrt1"));
    // Until coins arrive at it, the wallet hands out the same address.
    let (status, again) = h.post("/v1/wallet/address", "{}").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, address);

    for path in ["/v1/peers", "/v1/channels", "/v1/payments"] {
        let (status, list) = h.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(list, Value::Array(vec![]), "{path}");
    }

    // An invoice shows up as an inbound pending payment under its hash.
    let (status, invoice) = h
        .post(
            "/v1/invoices",
            r#"{"amount_msat": 21000, "description": "coffee", "expiry_secs": 600}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{invoice}");
    assert!(invoice["invoice"].as_str().unwrap().starts_with("lnbcrt"));
    assert_eq!(invoice["expiry_secs"], 600);
    let hash = invoice["payment_hash"].as_str().unwrap();
    let (status, payment) = h.get(&format!("/v1/payments/{hash}")).await;
    assert_eq!(status, StatusCode::OK, "{payment}");
    assert_eq!(payment["direction"], "inbound");
    assert_eq!(payment["status"], "pending");
    assert_eq!(payment["amount_msat"], 21000);
    let (_, payments) = h.get("/v1/payments").await;
    assert_eq!(payments.as_array().unwrap().len(), 1);

    // The event stream is a server-sent event stream.
    let auth = format!("Bearer {}", h.api.token());
    let req = Request::get(format!("{}/v1/events", h.api.url()))
        .header("authorization", auth)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let response = h.client.request(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    drop(response);

    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_400_with_the_reason() {
    let h = start().await;
    let id = h.node.node_id().to_string();
    // Some other node's id.
    let other = "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619";
    let cases: Vec<(&str, String, &str)> = vec![
        ("/v1/invoices", "{".into(), "invalid request body"),
        ("/v1/invoices", "[1, 2]".into(), "invalid request body"),
        (
            "/v1/invoices",
            r#"{"amount": 1000}"#.into(),
            "unknown field `amount`, expected one of",
        ),
        (
            "/v1/invoices",
            r#"{"amount_msat": 0}"#.into(),
            "amount_msat must be positive",
        ),
        (
            "/v1/invoices",
            r#"{"amount_msat": -5}"#.into(),
            "invalid value: integer `-5`",
        ),
        (
            "/v1/invoices",
            r#"{"amount_msat": 18446744073709551616}"#.into(),
            "invalid request body",
        ),
        (
            "/v1/invoices",
            r#"{"amount_msat": 18446744073709551615}"#.into(),
            "amount_msat exceeds 21 million bitcoin",
        ),
        (
            "/v1/offers/pay",
            r#"{"offer": "lno1x", "amount_msat": 2100000000000000001}"#.into(),
            "amount_msat exceeds 21 million bitcoin",
        ),
        // Exactly 21 million bitcoin is more than BOLT 11's pico-bitcoin amounts can carry.
        (
            "/v1/invoices",
            r#"{"amount_msat": 2100000000000000000}"#.into(),
            "amount_msat is more than a BOLT 11 invoice can carry",
        ),
        // Paying 21 million bitcoin: more than any node can send.
        (
            "/v1/invoices/pay",
            format!(
                r#"{{"invoice": "{}", "amount_msat": 2100000000000000000}}"#,
                foreign_invoice(None, false)
            ),
            "2100000000000000000 msat is more than this node can send now",
        ),
        (
            "/v1/invoices/pay",
            format!(r#"{{"invoice": "{}"}}"#, foreign_invoice(Some(1000), true)),
            "invoice expired",
        ),
        (
            "/v1/invoices",
            r#"{"amount_msat": "1000"}"#.into(),
            "invalid type: string",
        ),
        (
            "/v1/invoices",
            r#"{"expiry_secs": 0}"#.into(),
            "expiry_secs must be positive",
        ),
        (
            "/v1/offers",
            r#"{"amount_msat": 0}"#.into(),
            "amount_msat must be positive",
        ),
        (
            "/v1/channels/open",
            r#"{"node_id": "xyz", "amount_sat": 100000}"#.into(),
            "invalid node id `xyz`",
        ),
        (
            "/v1/channels/open",
            format!(r#"{{"node_id": "{id}", "amount_sat": 0}}"#),
            "amount_sat must be positive",
        ),
        (
            "/v1/channels/open",
            format!(r#"{{"node_id": "{id}", "amount_sat": 2100000000000001}}"#),
            "exceeds 21 million",
        ),
        (
            "/v1/channels/open",
            format!(r#"{{"node_id": "{id}", "amount_sat": 1000, "push_msat": 1000001}}"#),
            "push_msat exceeds",
        ),
        (
            "/v1/channels/open",
            format!(r#"{{"node_id": "{id}"}}"#),
            "missing field `amount_sat`",
        ),
        (
            "/v1/channels/close",
            r#"{"channel_id": "zz"}"#.into(),
            "invalid channel id `zz`",
        ),
        (
            "/v1/peers/connect",
            r#"{"uri": "nobody"}"#.into(),
            "is not of the form",
        ),
        (
            "/v1/peers/connect",
            r#"{"node_id": "02ab"}"#.into(),
            "give either `uri`",
        ),
        (
            "/v1/peers/connect",
            r#"{"node_id": "02ab", "address": "127.0.0.1:9735"}"#.into(),
            "invalid node id `02ab`",
        ),
        ("/v1/peers/disconnect", "".into(), "missing field `node_id`"),
        (
            "/v1/invoices/pay",
            r#"{"invoice": "lnbc1nonsense"}"#.into(),
            "invalid BOLT 11 invoice",
        ),
        (
            "/v1/invoices/pay",
            r#"{"invoice": "x", "wait_secs": 100000}"#.into(),
            "wait_secs must be at most",
        ),
        (
            "/v1/offers/pay",
            r#"{"offer": "lno1nonsense"}"#.into(),
            "invalid BOLT 12 offer",
        ),
        (
            "/v1/keysend",
            r#"{"node_id": "xyz", "amount_msat": 1000}"#.into(),
            "invalid node id `xyz`",
        ),
        (
            "/v1/keysend",
            format!(r#"{{"node_id": "{id}", "amount_msat": 0}}"#),
            "amount_msat must be positive",
        ),
        (
            "/v1/keysend",
            format!(r#"{{"node_id": "{id}", "amount_msat": 2100000000000000001}}"#),
            "amount_msat exceeds 21 million bitcoin",
        ),
        (
            "/v1/keysend",
            format!(r#"{{"node_id": "{id}"}}"#),
            "missing field `amount_msat`",
        ),
        (
            "/v1/keysend",
            format!(r#"{{"node_id": "{id}", "amount_msat": 1000}}"#),
            "is this node's own id: a node cannot pay itself",
        ),
        (
            "/v1/keysend",
            format!(r#"{{"node_id": "{other}", "amount_msat": 1000, "wait_secs": 601}}"#),
            "wait_secs must be at most 600",
        ),
        // A node without channels can send nothing.
        (
            "/v1/keysend",
            format!(r#"{{"node_id": "{other}", "amount_msat": 1000}}"#),
            "cannot send keysend payment: 1000 msat is more than this node can send now \
             (0 msat over 0 usable channel(s))",
        ),
        (
            "/v1/wallet/send",
            r#"{"address": "not-an-address", "amount_sat": 1000}"#.into(),
            "invalid address",
        ),
        (
            "/v1/wallet/send",
            r#"{"address": "bcrt1qxyz"}"#.into(),
            "missing `amount_sat`",
        ),
        (
            "/v1/wallet/send",
            r#"{"address": "bcrt1qxyz", "amount_sat": 0}"#.into(),
            "amount_sat must be positive",
        ),
        (
            "/v1/wallet/send",
            r#"{"address": "bcrt1qxyz", "amount_sat": 5, "fee_rate_sat_per_vb": 0}"#.into(),
            "fee_rate_sat_per_vb must be positive",
        ),
        (
            "/v1/wallet/address",
            r#"{"label": "x"}"#.into(),
            "unknown field `label`",
        ),
    ];
    for (path, body, expected) in cases {
        let (status, reply) = h.post(path, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {reply}");
        assert!(
            error_text(&reply).contains(expected),
            "{path} {body}: expected `{expected}` in {reply}"
        );
    }

    let (status, reply) = h.get("/v1/payments/xyz").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_text(&reply).contains("invalid payment id `xyz`"));

    let (status, reply) = h.get(&format!("/v1/payments/{}", "ab".repeat(32))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{reply}");
    assert!(error_text(&reply).contains("no payment"));

    let (status, reply) = h.get("/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_text(&reply).contains("no such endpoint"));

    let (status, reply) = h
        .post("/v1/peers/disconnect", &format!(r#"{{"node_id": "{id}"}}"#))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{reply}");

    let (status, reply) = h
        .post(
            "/v1/channels/close",
            &format!(r#"{{"channel_id": "{}"}}"#, "00".repeat(32)),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{reply}");

    let auth = format!("Bearer {}", h.api.token());
    let (status, headers, reply) = h.raw(Method::GET, "/v1/invoices", Some(&auth), "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["allow"], "POST");
    assert!(error_text(&reply).contains("use POST"));
    let (status, _, _) = h.raw(Method::DELETE, "/v1/info", Some(&auth), "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    let big = format!(r#"{{"description": "{}"}}"#, "a".repeat(70 * 1024));
    let (status, reply) = h.post("/v1/invoices", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{reply}");

    // The node still answers after all that.
    let (status, _) = h.get("/v1/info").await;
    assert_eq!(status, StatusCode::OK);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_file_is_private_and_reused_on_restart() {
    let h = start().await;
    let token = h.api.token().to_string();
    assert_eq!(token.len(), 64);
    let text = std::fs::read_to_string(&h.token_path).unwrap();
    assert_eq!(text.trim(), token);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&h.token_path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let Harness {
        node,
        api,
        client,
        token_path,
        chain,
        _dir,
    } = h;
    api.shutdown().await;

    let api = AdminApi::start(node.clone(), "127.0.0.1:0".parse().unwrap(), &token_path)
        .await
        .unwrap();
    assert_eq!(api.token(), token);
    let h = Harness {
        node,
        api,
        client,
        token_path,
        chain,
        _dir,
    };
    let (status, _) = h.get("/v1/info").await;
    assert_eq!(status, StatusCode::OK);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_gets_client_errors_and_the_server_stays_up() {
    let h = start().await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies = [
        "null".to_string(),
        "true".into(),
        "\"text\"".into(),
        "12".into(),
        "{\"a\":".into(),
        "{\"node_id\": null, \"amount_sat\": null}".into(),
        "{\"amount_msat\": 1e3}".into(),
        "{\"amount_msat\": 1.5}".into(),
        "{\"amount_msat\": -0}".into(),
        "{\"amount_sat\": 18446744073709551615, \"node_id\": \"02\"}".into(),
        "{\"invoice\": \"\", \"offer\": \"\"}".into(),
        "{\"uri\": \"@\"}".into(),
        "{\"uri\": \"02@\"}".into(),
        "{\"address\": \"\", \"amount_sat\": 1}".into(),
        "{\"address\": \"\", \"send_all\": true, \"amount_sat\": 1}".into(),
        "{\"description\": \"\\u0000\"}".into(),
        deep,
        String::from_utf8_lossy(&[0xff, 0xfe, 0x00, 0x7b]).into_owned(),
    ];
    let posts = [
        "/v1/peers/connect",
        "/v1/peers/disconnect",
        "/v1/channels/open",
        "/v1/channels/close",
        "/v1/invoices/pay",
        "/v1/offers/pay",
        "/v1/keysend",
        "/v1/wallet/send",
        "/v1/wallet/address",
    ];
    for path in posts {
        for body in &bodies {
            let (status, reply) = h.post(path, body).await;
            assert!(
                status.is_client_error(),
                "{path} {}: {status} {reply}",
                &body[..body.len().min(60)]
            );
            assert!(!error_text(&reply).is_empty());
        }
    }
    // Extreme but well-formed values: an answer (created or refused), never a dropped connection.
    let long = "d".repeat(1000);
    for (path, body) in [
        (
            "/v1/invoices",
            r#"{"amount_msat": 18446744073709551615}"#.to_string(),
        ),
        ("/v1/invoices", r#"{"expiry_secs": 4294967295}"#.to_string()),
        ("/v1/invoices", format!(r#"{{"description": "{long}"}}"#)),
        ("/v1/invoices", r#"{"description": "\u0000"}"#.to_string()),
        (
            "/v1/offers",
            r#"{"amount_msat": 18446744073709551615}"#.to_string(),
        ),
        ("/v1/offers", format!(r#"{{"description": "{long}"}}"#)),
    ] {
        let (status, reply) = h.post(path, &body).await;
        assert!(
            status == StatusCode::OK
                || status.is_client_error()
                || status == StatusCode::INTERNAL_SERVER_ERROR,
            "{path} {body}: {status} {reply}"
        );
    }
    let (status, _) = h.get("/v1/info").await;
    assert_eq!(status, StatusCode::OK);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_body_times_out() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    assert_eq!(
        lnedge_node::api::BODY_READ_TIMEOUT,
        Duration::from_secs(30),
        "bodies get as long as headers"
    );
    let h = start().await;
    let timeout = Duration::from_millis(300);
    let api = AdminApi::start_with(
        h.node.clone(),
        "127.0.0.1:0".parse().unwrap(),
        &h.token_path,
        ApiOptions::default().body_read_timeout(timeout),
    )
    .await
    .unwrap();
    let mut conn = tokio::net::TcpStream::connect(api.local_addr())
        .await
        .unwrap();
    let head = format!(
        "POST /v1/invoices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"amount_msat\"",
        api.token()
    );
    let sent = Instant::now();
    conn.write_all(head.as_bytes()).await.unwrap();
    // The rest of the body never comes: the server answers 408 and closes the connection.
    let mut reply = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut reply))
        .await
        .expect("the server closes the connection")
        .unwrap();
    let waited = sent.elapsed();
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 408 "), "{reply}");
    assert!(
        reply.contains("request body not received within 0.3 s"),
        "{reply}"
    );
    assert!(waited >= timeout, "answered after {waited:?}");

    // A body that arrives in time is served as ever.
    let mut conn = tokio::net::TcpStream::connect(api.local_addr())
        .await
        .unwrap();
    let body = r#"{"amount_msat": 1000}"#;
    let request = format!(
        "POST /v1/invoices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        api.token(),
        body.len()
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut reply = Vec::new();
    conn.read_to_end(&mut reply).await.unwrap();
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 200 "), "{reply}");
    api.shutdown().await;
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_are_listed_a_page_at_a_time() {
    let h = start().await;
    let auth = format!("Bearer {}", h.api.token());
    let mut hashes = Vec::new();
    for amount in [1000, 2000, 3000] {
        let (status, invoice) = h
            .post("/v1/invoices", &format!(r#"{{"amount_msat": {amount}}}"#))
            .await;
        assert_eq!(status, StatusCode::OK, "{invoice}");
        hashes.push(invoice["payment_hash"].as_str().unwrap().to_string());
    }
    // Newest first.
    hashes.reverse();
    let ids = |page: &Value| -> Vec<String> {
        page.as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    };

    let (status, headers, first) = h
        .raw(Method::GET, "/v1/payments?limit=2", Some(&auth), "")
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(ids(&first), hashes[..2]);
    let next = headers["next-cursor"].to_str().unwrap().to_string();
    assert_eq!(next, hashes[1]);

    let (status, headers, second) = h
        .raw(
            Method::GET,
            &format!("/v1/payments?limit=2&after={next}"),
            Some(&auth),
            "",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(ids(&second), hashes[2..]);
    assert!(headers.get("next-cursor").is_none(), "the last page");

    // A page that ends exactly at the last payment has no cursor either.
    let (_, headers, all) = h
        .raw(Method::GET, "/v1/payments?limit=3", Some(&auth), "")
        .await;
    assert_eq!(ids(&all), hashes);
    assert!(headers.get("next-cursor").is_none());
    // Without a query: the default page (up to 100), as before.
    let (_, headers, all) = h.raw(Method::GET, "/v1/payments", Some(&auth), "").await;
    assert_eq!(ids(&all), hashes);
    assert!(headers.get("next-cursor").is_none());

    for (query, expected) in [
        ("limit=0", "invalid `limit` `0`"),
        ("limit=1001", "invalid `limit` `1001`"),
        ("limit=-1", "invalid `limit` `-1`"),
        ("limit=two", "invalid `limit` `two`"),
        ("limit=", "invalid `limit` ``"),
        ("limit=1&limit=2", "`limit` is given twice"),
        ("after=xyz", "invalid `after` cursor"),
        ("offset=2", "unknown query parameter `offset`"),
    ] {
        let (status, reply) = h.get(&format!("/v1/payments?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {reply}");
        assert!(
            error_text(&reply).contains(expected),
            "{query}: expected `{expected}` in {reply}"
        );
    }
    let unknown = "ab".repeat(32);
    let (status, reply) = h.get(&format!("/v1/payments?after={unknown}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    assert!(
        error_text(&reply).contains("is not a payment of this node"),
        "{reply}"
    );
    h.stop().await;
}

/// Polls `check` every 50 ms until it returns `Some`; panics with `what` after `secs`.
async fn wait_for<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A node following a shared devnet chain, with its API.
async fn start_on_chain(rpc_url: &str, alias: &str) -> Harness {
    start_on_chain_with(rpc_url, alias, |b| b).await
}

/// A node following a shared devnet chain, built with `features` added, with its API.
async fn start_on_chain_with(
    rpc_url: &str,
    alias: &str,
    features: impl FnOnce(NodeBuilder) -> NodeBuilder,
) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let node = features(NodeBuilder::new(dir.path().join("node")))
        .alias(alias)
        .listen("127.0.0.1:0".parse().unwrap())
        .bitcoind_rpc(rpc_url, "test", "test")
        .chain_poll_interval(std::time::Duration::from_millis(50))
        .start()
        .await
        .expect("node starts");
    let token_path = dir.path().join("node").join("api_token");
    let api = AdminApi::start(node.clone(), "127.0.0.1:0".parse().unwrap(), &token_path)
        .await
        .expect("API starts");
    Harness {
        node,
        api,
        client: Client::builder(TokioExecutor::new()).build_http(),
        token_path,
        chain: None,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_and_payments_through_the_api() {
    let (devnet, rpc) = start_chain().await;
    devnet.mine(1, &anyone_can_spend_script()).unwrap();
    let a = start_on_chain(&rpc.url(), "a").await;
    let b = start_on_chain(&rpc.url(), "b").await;

    // A's event stream, read in the background.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let events = a
        .client
        .request(
            Request::get(format!("{}/v1/events", a.api.url()))
                .header("authorization", format!("Bearer {}", a.api.token()))
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    let reader = {
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut body = events.into_body();
            while let Some(Ok(frame)) = body.frame().await {
                if let Some(data) = frame.data_ref() {
                    seen.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(data));
                }
            }
        })
    };

    // Fund A's wallet.
    let (_, address) = a.post("/v1/wallet/address", "").await;
    let (_, same) = a.post("/v1/wallet/address", "").await;
    assert_eq!(same, address, "unpaid addresses are handed out again");
    let first = address.clone();
    let address: bitcoin::Address<bitcoin::address::NetworkUnchecked> =
        address["address"].as_str().unwrap().parse().unwrap();
    let script = address.assume_checked().script_pubkey();
    devnet.mine(1, &script).unwrap();
    devnet.mine(100, &anyone_can_spend_script()).unwrap();
    a.node.sync_chain().await;
    wait_for("funds", 20, || async {
        let (_, balance) = a.get("/v1/wallet/balance").await;
        (balance["confirmed_sat"].as_u64().unwrap() > 0).then_some(())
    })
    .await;
    // Paid and confirmed: the next request gets a new address.
    let (_, next) = a.post("/v1/wallet/address", "").await;
    assert_ne!(next, first);
    assert!(next["address"].as_str().unwrap().starts_with("bcrt1"));

    // Connect and open a channel A→B.
    let b_id = b.node.node_id().to_string();
    let uri = format!("{b_id}@{}", b.node.listen_address().unwrap());
    let (status, reply) = a
        .post("/v1/peers/connect", &format!(r#"{{"uri": "{uri}"}}"#))
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let (_, peers) = a.get("/v1/peers").await;
    assert_eq!(peers[0]["node_id"], b_id);
    let (status, reply) = a
        .post(
            "/v1/channels/open",
            &format!(r#"{{"node_id": "{b_id}", "amount_sat": 1000000}}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let outpoint = wait_for("funding outpoint", 20, || async {
        let (_, channels) = a.get("/v1/channels").await;
        channels[0]["funding_outpoint"].as_str().map(str::to_string)
    })
    .await;
    let txid: bitcoin::Txid = outpoint.split(':').next().unwrap().parse().unwrap();
    wait_for("funding in the mempool", 20, || async {
        devnet.lock().mempool.get(&txid).map(|_| ())
    })
    .await;
    devnet.mine(6, &anyone_can_spend_script()).unwrap();
    a.node.sync_chain().await;
    b.node.sync_chain().await;
    let channel_id = wait_for("usable channel", 30, || async {
        let (_, channels) = a.get("/v1/channels").await;
        let c = &channels[0];
        (c["usable"] == true).then(|| c["channel_id"].as_str().unwrap().to_string())
    })
    .await;

    // BOLT 11: B invoices, A pays and waits for the outcome.
    let (status, invoice) = b
        .post(
            "/v1/invoices",
            r#"{"amount_msat": 10000000, "description": "api"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{invoice}");
    let body = format!(
        r#"{{"invoice": "{}", "wait_secs": 30}}"#,
        invoice["invoice"].as_str().unwrap()
    );
    let (status, paid) = a.post("/v1/invoices/pay", &body).await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    assert_eq!(paid["status"], "succeeded", "{paid}");
    assert_eq!(paid["amount_msat"], 10_000_000);
    let (status, again) = a.post("/v1/invoices/pay", &body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{again}");
    let hash = invoice["payment_hash"].as_str().unwrap().to_string();
    wait_for("B sees the payment", 20, || async {
        let (_, p) = b.get(&format!("/v1/payments/{hash}")).await;
        (p["status"] == "succeeded").then_some(())
    })
    .await;

    // BOLT 12: B offers, A pays.
    let (status, offer) = b
        .post(
            "/v1/offers",
            r#"{"amount_msat": 5000000, "description": "api offer"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{offer}");
    let (status, paid) = a
        .post(
            "/v1/offers/pay",
            &format!(
                r#"{{"offer": "{}", "wait_secs": 30}}"#,
                offer["offer"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    assert_eq!(paid["status"], "succeeded", "{paid}");
    assert_eq!(paid["kind"], "bolt12");

    // Keysend: A pays B's node id, no invoice; B lists it as a received keysend payment.
    let (status, paid) = a
        .post(
            "/v1/keysend",
            &format!(r#"{{"node_id": "{b_id}", "amount_msat": 3000000, "wait_secs": 30}}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    assert_eq!(paid["status"], "succeeded", "{paid}");
    assert_eq!(paid["kind"], "keysend");
    assert_eq!(paid["direction"], "outbound");
    assert_eq!(paid["amount_msat"], 3_000_000);
    assert_eq!(paid["id"], paid["payment_hash"]);
    let id = paid["id"].as_str().unwrap().to_string();
    let received = wait_for("B sees the keysend", 20, || async {
        let (_, p) = b.get(&format!("/v1/payments/{id}")).await;
        (p["status"] == "succeeded").then_some(p)
    })
    .await;
    assert_eq!(received["direction"], "inbound", "{received}");
    assert_eq!(received["kind"], "keysend", "{received}");
    assert_eq!(received["amount_msat"], 3_000_000);

    let (_, payments) = a.get("/v1/payments").await;
    assert_eq!(payments.as_array().unwrap().len(), 3);

    // The event stream saw the channel and the three payments.
    wait_for("events", 10, || async {
        let text = seen.lock().unwrap().clone();
        (text.contains("event: channel_ready")
            && text.matches("event: payment_succeeded").count() == 3)
            .then_some(())
    })
    .await;

    // Cooperative close.
    let (status, reply) = a
        .post(
            "/v1/channels/close",
            &format!(r#"{{"channel_id": "{channel_id}"}}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["closing"], true);

    reader.abort();
    a.stop().await;
    b.stop().await;
    rpc.shutdown().await;
}

/// The async payments feature, with the server role or without.
fn with_async(server: bool) -> impl FnOnce(NodeBuilder) -> NodeBuilder {
    move |b| {
        b.with_feature(async_payments::feature(AsyncPaymentsConfig {
            server: server.then(ServerRole::default),
            often_offline: false,
        }))
    }
}

/// Funds `a`'s wallet, opens a private channel a→b and waits until it is usable.
async fn open_channel(devnet: &Devnet, a: &Harness, b: &Harness) {
    let address = a.node.wallet().new_address().unwrap();
    devnet.mine(1, &address.script_pubkey()).unwrap();
    devnet.mine(100, &anyone_can_spend_script()).unwrap();
    wait_for("funds", 20, || async {
        a.node.sync_chain().await;
        (a.node.wallet().balance().confirmed_sat > 0).then_some(())
    })
    .await;
    let b_id = b.node.node_id();
    a.node
        .peers()
        .connect(b_id, &b.node.listen_address().unwrap().to_string())
        .await
        .unwrap();
    a.node.channels().open(b_id, 200_000, 0, false).unwrap();
    let txid = wait_for("funding transaction", 20, || async {
        a.node
            .channels()
            .list()
            .into_iter()
            .find_map(|c| c.funding_outpoint)
            .map(|o| o.txid)
    })
    .await;
    wait_for("funding in the mempool", 20, || async {
        devnet.lock().mempool.get(&txid).map(|_| ())
    })
    .await;
    devnet.mine(6, &anyone_can_spend_script()).unwrap();
    wait_for("usable channel", 30, || async {
        a.node.sync_chain().await;
        b.node.sync_chain().await;
        a.node
            .channels()
            .list()
            .iter()
            .any(|c| c.usable)
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_server_endpoints_over_http() {
    let (devnet, rpc) = start_chain().await;
    devnet.mine(1, &anyone_can_spend_script()).unwrap();
    // The server role needs a listening address, which start_on_chain gives.
    let h = start_on_chain_with(&rpc.url(), "server", with_async(true)).await;
    let peer = start_on_chain(&rpc.url(), "peer").await;

    // A server neither announced nor with a usable channel has no path to hand out.
    let (status, reply) = h
        .post("/v1/async/recipients", r#"{"label": "early"}"#)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{reply}");
    assert!(error_text(&reply).contains("public channel"), "{reply}");
    open_channel(&devnet, &h, &peer).await;

    let (status, reply) = h
        .post("/v1/async/recipients", r#"{"label": "alice", "slots": 3}"#)
        .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let id = reply["recipient_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32, "16 random bytes in hex: {reply}");
    assert_eq!(reply["label"], "alice");
    let token = reply["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("lnasync1"), "{reply}");
    let (status, bob) = h.post("/v1/async/recipients", r#"{"label": "bob"}"#).await;
    assert_eq!(status, StatusCode::OK, "{bob}");

    let (status, list) = h.get("/v1/async/recipients").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let recipients = list["recipients"].as_array().unwrap();
    assert_eq!(recipients.len(), 2, "{list}");
    let alice = recipients
        .iter()
        .find(|r| r["recipient_id"] == id.as_str())
        .expect("alice listed");
    assert_eq!(alice["label"], "alice");
    assert_eq!(alice["slot_quota"], 3);
    assert_eq!(alice["revoked"], false);
    assert!(alice["registered_at"].as_u64().unwrap() > 1_600_000_000);
    let other = recipients.iter().find(|r| r["label"] == "bob").unwrap();
    assert_eq!(other["slot_quota"], Value::Null);

    // A new token for a registered recipient.
    let (status, reissued) = h.post(&format!("/v1/async/token/{id}"), "").await;
    assert_eq!(status, StatusCode::OK, "{reissued}");
    assert_eq!(reissued["recipient_id"], id.as_str());
    assert!(reissued["token"].as_str().unwrap().starts_with("lnasync1"));

    // No invoice yet: no recipient node has applied the token.
    for path in [
        "/v1/async/invoices".to_string(),
        format!("/v1/async/invoices/{id}"),
    ] {
        let (status, invoices) = h.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {invoices}");
        assert_eq!(invoices["invoices"], Value::Array(vec![]), "{path}");
    }
    let (status, stats) = h.get("/v1/async/server").await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    for counter in [
        "invoices_stored",
        "requests_served",
        "messages_held",
        "held_messages",
    ] {
        assert_eq!(stats[counter], 0, "{counter}: {stats}");
    }

    // Revocation sticks: listed as revoked, no new token.
    let (status, revoked) = h.post(&format!("/v1/async/revoke/{id}"), "{}").await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["recipient_id"], id.as_str());
    assert_eq!(revoked["invoices_deleted"], 0);
    let (_, list) = h.get("/v1/async/recipients").await;
    let alice = list["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["recipient_id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(alice["revoked"], true, "{list}");
    let (status, reply) = h.post(&format!("/v1/async/token/{id}"), "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{reply}");
    assert!(error_text(&reply).contains("revoked"), "{reply}");
    let (status, invoices) = h.get(&format!("/v1/async/invoices/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{invoices}");

    // Unknown recipients are 404s, malformed ids 400s.
    let unknown = "ab".repeat(16);
    for (method, path) in [
        (Method::POST, format!("/v1/async/revoke/{unknown}")),
        (Method::POST, format!("/v1/async/token/{unknown}")),
        (Method::GET, format!("/v1/async/invoices/{unknown}")),
    ] {
        let (status, reply) = h.call(method, &path, "").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {reply}");
        assert!(error_text(&reply).contains("no such async recipient"));
    }
    for (method, path) in [
        (Method::POST, "/v1/async/revoke/zz"),
        (Method::POST, "/v1/async/token/abc"),
        (Method::GET, "/v1/async/invoices/xyz"),
    ] {
        let (status, reply) = h.call(method, path, "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {reply}");
        assert!(
            error_text(&reply).contains("invalid recipient id"),
            "{reply}"
        );
    }

    // The server node has the recipient role too: its own offers (none yet).
    let (status, offers) = h.get("/v1/async/offers").await;
    assert_eq!(status, StatusCode::OK, "{offers}");
    assert_eq!(offers["offers"], Value::Array(vec![]));
    h.stop().await;
    peer.stop().await;
    rpc.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_endpoints_need_their_role() {
    // The recipient role without the server role.
    let h = start_with(with_async(false)).await;
    for (method, path, body) in [
        (Method::POST, "/v1/async/recipients", r#"{"label": "a"}"#),
        (Method::GET, "/v1/async/recipients", ""),
        (Method::POST, "/v1/async/revoke/0a", ""),
        (Method::POST, "/v1/async/token/0a", ""),
        (Method::GET, "/v1/async/invoices", ""),
        (Method::GET, "/v1/async/invoices/0a", ""),
        (Method::GET, "/v1/async/server", ""),
    ] {
        let (status, reply) = h.call(method, path, body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {reply}");
        assert_eq!(
            error_text(&reply),
            "this node is not an async payments server: run it with --async-server"
        );
    }
    let (status, offers) = h.get("/v1/async/offers").await;
    assert_eq!(status, StatusCode::OK, "{offers}");
    assert_eq!(offers["offers"], Value::Array(vec![]));
    // No token applied: no offer yet.
    let (status, reply) = h.post("/v1/async/offer", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{reply}");
    h.stop().await;

    // Without the feature: the recipient endpoints are 409s too (after the request is decoded).
    let h = start().await;
    for (method, path, body) in [
        (Method::GET, "/v1/async/server", ""),
        (Method::GET, "/v1/async/offers", ""),
        (Method::POST, "/v1/async/offer", r#"{"wait_secs": 1}"#),
    ] {
        let (status, reply) = h.call(method, path, body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {reply}");
        assert!(error_text(&reply).starts_with("this node"), "{reply}");
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_bad_requests_get_400() {
    let h = start().await;
    let cases = [
        (
            "/v1/async/recipients",
            r#"{"label": ""}"#,
            "label must not be empty",
        ),
        (
            "/v1/async/recipients",
            r#"{"slots": 2}"#,
            "missing field `label`",
        ),
        (
            "/v1/async/recipients",
            r#"{"label": "a", "slots": 0}"#,
            "slots must be positive",
        ),
        (
            "/v1/async/recipients",
            r#"{"label": "a", "slots": 70000}"#,
            "invalid value: integer `70000`",
        ),
        (
            "/v1/async/recipients",
            r#"{"label": "a", "quota": 1}"#,
            "unknown field `quota`",
        ),
        ("/v1/async/apply", "", "missing field `token`"),
        (
            "/v1/async/apply",
            r#"{"token": "lnbc1xyz"}"#,
            "invalid registration token",
        ),
        (
            "/v1/async/apply",
            r#"{"token": "lnasync1qqqqqqqqqqqq"}"#,
            "(TokenError::BadChecksum)",
        ),
        (
            "/v1/async/offer",
            r#"{"wait_secs": 601}"#,
            "wait_secs must be at most 600",
        ),
        ("/v1/async/revoke/0g", "", "invalid recipient id `0g`"),
        ("/v1/async/token/abc", "", "invalid recipient id `abc`"),
        ("/v1/async/revoke/0a", r#"{"x": 1}"#, "unknown field `x`"),
    ];
    for (path, body, expected) in cases {
        let (status, reply) = h.post(path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {reply}");
        assert!(
            error_text(&reply).contains(expected),
            "{path} {body}: expected `{expected}` in {reply}"
        );
    }
    let auth = format!("Bearer {}", h.api.token());
    let (status, headers, _) = h
        .raw(Method::DELETE, "/v1/async/recipients", Some(&auth), "")
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers["allow"], "POST");
    let (status, _) = h.get("/v1/async/revoke/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    h.stop().await;
}
