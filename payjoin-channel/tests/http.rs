//! The HTTP transport: BIP 78 error replies, CORS on every reply, no internals leaked.

mod common;

use common::*;
use hyper::Method;

async fn harness() -> Harness {
    Harness::start(
        fast_config(),
        TestChannelOpener::new(OpenerBehaviour::default()),
    )
    .await
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).expect("JSON body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_content_type_is_rejected_with_cors() {
    let h = harness().await;
    let (status, body, headers) = send(
        Method::POST,
        &format!("{}?v=1", h.endpoint),
        "application/json",
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(json(&body)["errorCode"], "original-psbt-rejected");
    assert_eq!(headers.get("access-control-allow-origin").unwrap(), "*");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_psbt_is_rejected() {
    let h = harness().await;
    let (status, body, _) = send(
        Method::POST,
        &format!("{}?v=1", h.endpoint),
        "text/plain",
        b"not a psbt".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(json(&body)["errorCode"], "original-psbt-rejected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_version_is_reported() {
    let h = harness().await;
    let invoice = h
        .receiver
        .schedule(
            vec![channel(1, 100_000)],
            bdk_wallet::bitcoin::Amount::from_sat(5_000),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    let mut sender = h.funded_sender(0, bdk_wallet::bitcoin::Amount::from_sat(1_000_000));
    let original = original_for(&mut sender, &parse_uri(&invoice.uri));
    let (status, body, _) = send(
        Method::POST,
        &format!("{}?v=7", h.endpoint),
        "text/plain",
        original.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, 400);
    let body = json(&body);
    assert_eq!(body["errorCode"], "version-unsupported", "{body}");
    assert_eq!(body["supported"], serde_json::json!([1]), "{body}");
    assert!(h.opener.log.lock().unwrap().opened.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_options_carry_cors() {
    let h = harness().await;
    let (status, _, headers) = send(Method::GET, &h.endpoint, "text/plain", Vec::new()).await;
    assert_eq!(status, 404);
    assert_eq!(headers.get("access-control-allow-origin").unwrap(), "*");
    let (status, _, headers) = send(Method::OPTIONS, &h.endpoint, "text/plain", Vec::new()).await;
    assert_eq!(status, 204);
    assert_eq!(headers.get("access-control-allow-origin").unwrap(), "*");
    assert!(headers.get("access-control-allow-methods").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallet_failure_is_unavailable_without_details() {
    let h = harness().await;
    h.wallet_broken
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let invoice = h
        .receiver
        .schedule(
            vec![channel(1, 100_000)],
            bdk_wallet::bitcoin::Amount::from_sat(5_000),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    let mut sender = h.funded_sender(0, bdk_wallet::bitcoin::Amount::from_sat(1_000_000));
    let a = attempt(&mut sender, &invoice.uri, false).await;
    assert_eq!(a.status, 500);
    let text = String::from_utf8_lossy(&a.body).to_string();
    let body = json(&a.body);
    assert_eq!(body["errorCode"], "unavailable");
    assert_eq!(body["message"], "Receiver error");
    assert!(!text.contains("fire") && !text.contains("secret"), "{text}");
    assert_eq!(a.headers.get("access-control-allow-origin").unwrap(), "*");
    assert!(a.result.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_paths_are_not_the_endpoint() {
    let h = harness().await;
    let other = h.endpoint.replace("/pj", "/other");
    let (status, _, headers) = send(Method::POST, &other, "text/plain", b"x".to_vec()).await;
    assert_eq!(status, 404);
    assert_eq!(headers.get("access-control-allow-origin").unwrap(), "*");
}
