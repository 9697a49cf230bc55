//! HTTPS (feature `tls`): a round trip with a self-signed certificate, the handshake timeout,
//! and the HTTP/1-only ALPN check.
#![cfg(feature = "tls")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use hyper::StatusCode;
use lnedge_http::tokio_rustls::rustls::{self, pki_types};
use lnedge_http::tokio_rustls::{TlsAcceptor, TlsConnector};
use lnedge_http::{serve_fn, ServeConfig, ServeError};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

struct Certificate {
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

fn certificate() -> Certificate {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    let mut server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Certificate {
        server: Arc::new(server),
        client: Arc::new(client),
    }
}

async fn hello(
    _req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<http_body_util::Full<hyper::body::Bytes>> {
    text("over TLS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_round_trip() {
    let cert = certificate();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = ServeConfig::new("tls test").tls(cert.server.clone());
    let server = serve_fn(listener, hello, config).unwrap();

    let tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    let name = pki_types::ServerName::try_from("localhost").unwrap();
    let tls = TlsConnector::from(cert.client.clone())
        .connect(name, tcp)
        .await
        .expect("TLS handshake");
    let mut client = client_over(tls).await;
    for _ in 0..2 {
        assert_eq!(
            client.get("/").await,
            (StatusCode::OK, "over TLS".to_string())
        );
    }
    assert_eq!(server.stats().accepted, 1);
    drop(client);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_handshakes_is_dropped() {
    let cert = certificate();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = ServeConfig::new("tls test")
        .tls(cert.server)
        .tls_handshake_timeout(Duration::from_millis(300))
        .max_connections(1);
    let server = serve_fn(listener, hello, config).unwrap();
    let mut silent = TcpStream::connect(server.local_addr()).await.unwrap();
    let start = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), silent.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the silent client was not disconnected");
    assert!(start.elapsed() >= Duration::from_millis(250));
    // Its slot is free again.
    assert!(
        eventually(Duration::from_secs(5), || server.stats().active_connections
            == 0)
        .await
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alpn_other_than_http1_is_refused() {
    let cert = certificate();
    let mut server = (*cert.server).clone();
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = ServeConfig::new("tls test").tls(Arc::new(server));
    assert!(matches!(
        serve_fn(listener, hello, config),
        Err(ServeError::InvalidConfig(_))
    ));
}

/// The acceptor type is the caller's to use too (same tokio-rustls as the server).
#[test]
fn reexported_tokio_rustls_is_usable() {
    let cert = certificate();
    let _acceptor = TlsAcceptor::from(cert.server);
}
