//! Helpers shared by the integration tests: a plain hyper client over one TCP (or TLS)
//! connection, and polling.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::rt::{Read, Write};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

/// One client connection: the request sender and the task driving the connection (it ends
/// when the server closes the connection).
pub struct Client {
    pub sender: SendRequest<Empty<Bytes>>,
    pub conn: JoinHandle<Result<(), hyper::Error>>,
}

/// A client over `io` (TCP or TLS).
pub async fn client_over<I>(io: I) -> Client
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    TokioIo<I>: Read + Write,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .expect("client handshake");
    Client {
        sender,
        conn: tokio::spawn(conn),
    }
}

/// A new plain TCP client connection to `addr`.
pub async fn connect(addr: SocketAddr) -> Client {
    client_over(TcpStream::connect(addr).await.expect("connect")).await
}

impl Client {
    /// GET `path`; the status and the whole body.
    pub async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let response = self.send(path).await;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// GET `path`; the response head (body unread).
    pub async fn send(&mut self, path: &str) -> Response<hyper::body::Incoming> {
        self.sender.ready().await.expect("connection ready");
        let req = Request::get(path)
            .header("host", "localhost")
            .body(Empty::new())
            .unwrap();
        self.sender.send_request(req).await.expect("response")
    }

    /// Whether the server closed the connection within `within`.
    pub async fn closed_within(self, within: Duration) -> bool {
        tokio::time::timeout(within, self.conn).await.is_ok()
    }
}

/// A small text response.
pub fn text(body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::new(Full::new(body.into()))
}

/// Polls `check` every 10 ms until it holds or `within` passed.
pub async fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    check()
}

/// Whether a TCP connection to `addr` is refused, polling for up to `within`.
pub async fn refused_within(addr: SocketAddr, within: Duration) -> bool {
    let start = Instant::now();
    loop {
        if TcpStream::connect(addr).await.is_err() {
            return true;
        }
        if start.elapsed() > within {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
