//! The serve loop over real sockets on 127.0.0.1: requests, keep-alive, the header-read
//! timeout, the connection bound, TCP_NODELAY, graceful shutdown.

mod common;

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use common::*;
use http_body_util::BodyExt;
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use lnedge_http::{
    serve, serve_fn, ConnectionInfo, ServeConfig, ServeError, ShutdownReport, ShutdownSignal,
    UntilShutdown,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

async fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.expect("bind")
}

/// Answers `<path> <peer address>`.
async fn echo(req: Request<Incoming>) -> Response<http_body_util::Full<Bytes>> {
    let peer = req
        .extensions()
        .get::<ConnectionInfo>()
        .expect("connection info")
        .peer_addr;
    assert!(req.extensions().get::<ShutdownSignal>().is_some());
    text(format!("{} {peer}", req.uri().path()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_a_request() {
    let server = serve_fn(listener().await, echo, ServeConfig::new("test")).unwrap();
    let stream = TcpStream::connect(server.local_addr()).await.unwrap();
    let me = stream.local_addr().unwrap();
    let mut client = client_over(stream).await;
    let (status, body) = client.get("/hello").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, format!("/hello {me}"));
    assert_eq!(server.stats().accepted, 1);
    drop(client);
    let report = server.shutdown().await.unwrap();
    assert_eq!(report.aborted, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_a_hyper_service() {
    let service = hyper::service::service_fn(|_req: Request<Incoming>| async {
        Ok::<_, Infallible>(text("from a service"))
    });
    let server = serve(listener().await, service, ServeConfig::default()).unwrap();
    let mut client = connect(server.local_addr()).await;
    assert_eq!(
        client.get("/").await,
        (StatusCode::OK, "from a service".to_string())
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_serves_several_requests_on_one_connection() {
    let server = serve_fn(listener().await, echo, ServeConfig::new("test")).unwrap();
    let mut client = connect(server.local_addr()).await;
    let mut peers = Vec::new();
    for i in 0..3 {
        let (status, body) = client.get(&format!("/{i}")).await;
        assert_eq!(status, StatusCode::OK);
        let (path, peer) = body.split_once(' ').unwrap();
        assert_eq!(path, format!("/{i}"));
        peers.push(peer.to_string());
    }
    assert!(peers.windows(2).all(|w| w[0] == w[1]), "{peers:?}");
    let stats = server.stats();
    assert_eq!(stats.accepted, 1);
    assert_eq!(stats.active_connections, 1);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_read_timeout_closes_a_slow_client() {
    let config = ServeConfig::new("test").header_read_timeout(Duration::from_millis(300));
    let server = serve_fn(listener().await, echo, config).unwrap();

    // Half a request head, then silence.
    let mut slow = TcpStream::connect(server.local_addr()).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let start = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the slow client was not disconnected");
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
    assert!(
        !String::from_utf8_lossy(&buf).contains("200"),
        "no reply to half a head"
    );

    // A keep-alive connection left idle after a request is closed as well.
    let mut idle = connect(server.local_addr()).await;
    assert_eq!(idle.get("/").await.0, StatusCode::OK);
    assert!(idle.closed_within(Duration::from_secs(10)).await);
    assert!(
        eventually(Duration::from_secs(5), || server.stats().active_connections
            == 0)
        .await
    );
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_bound_wait_for_a_free_slot() {
    let config = ServeConfig::new("test").max_connections(2);
    let server = serve_fn(listener().await, echo, config).unwrap();
    let addr = server.local_addr();
    let mut first = connect(addr).await;
    let mut second = connect(addr).await;
    assert_eq!(first.get("/1").await.0, StatusCode::OK);
    assert_eq!(second.get("/2").await.0, StatusCode::OK);
    assert_eq!(server.stats().active_connections, 2);

    // The third connects (the kernel's backlog takes it) but is not served...
    let mut third = connect(addr).await;
    let waiting = tokio::spawn(async move { third.get("/3").await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "served over the bound");
    let stats = server.stats();
    assert_eq!((stats.accepted, stats.active_connections), (2, 2));

    // ...until a slot frees.
    first.conn.abort();
    drop(first);
    let (status, body) = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("served once a slot freed")
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("/3 "));
    assert_eq!(server.stats().accepted, 3);
    assert!(server.stats().active_connections <= 2);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_sockets_have_tcp_nodelay() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let config = ServeConfig::new("test").on_accept({
        let seen = seen.clone();
        move |stream: &TcpStream, info: &ConnectionInfo| {
            seen.lock()
                .unwrap()
                .push((stream.nodelay().unwrap(), info.peer_addr));
        }
    });
    let server = serve_fn(listener().await, echo, config).unwrap();
    for _ in 0..3 {
        let mut client = connect(server.local_addr()).await;
        assert_eq!(client.get("/").await.0, StatusCode::OK);
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|(nodelay, _)| *nodelay), "{seen:?}");
    server.shutdown().await.unwrap();
}

type Reply =
    Pin<Box<dyn std::future::Future<Output = Response<http_body_util::Full<Bytes>>> + Send>>;

/// A handler whose `/slow` path tells the test it started, then takes `delay`.
fn slow_handler(
    delay: Duration,
) -> (
    impl Fn(Request<Incoming>) -> Reply + Send + Sync + 'static,
    mpsc::UnboundedReceiver<()>,
) {
    let (started, rx) = mpsc::unbounded_channel();
    let handler = move |req: Request<Incoming>| -> Reply {
        let started = started.clone();
        Box::pin(async move {
            if req.uri().path() == "/slow" {
                let _ = started.send(());
                tokio::time::sleep(delay).await;
            }
            text("done")
        })
    };
    (handler, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_a_slow_request_then_refuses_connections() {
    let (handler, mut started) = slow_handler(Duration::from_millis(1500));
    let config = ServeConfig::new("test").drain_timeout(Duration::from_secs(20));
    let server = serve_fn(listener().await, handler, config).unwrap();
    let addr = server.local_addr();
    // An idle keep-alive connection: closed at once by the shutdown.
    let mut idle = connect(addr).await;
    assert_eq!(idle.get("/").await.0, StatusCode::OK);

    let mut client = connect(addr).await;
    let in_flight = tokio::spawn(async move {
        let response = client.send("/slow").await;
        let close = response.headers().get("connection").cloned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (close, body)
    });
    started.recv().await.unwrap();

    let start = Instant::now();
    let signal = server.shutdown_signal();
    let shutdown = tokio::spawn(server.shutdown());
    signal.triggered().await;
    assert!(
        refused_within(addr, Duration::from_secs(1)).await,
        "still accepting during the drain"
    );
    assert!(idle.closed_within(Duration::from_secs(1)).await);
    assert!(!in_flight.is_finished(), "the slow request was cut short");

    let (close, body) = in_flight.await.unwrap();
    assert_eq!(body, "done");
    assert_eq!(close.as_ref().map(|v| v.as_bytes()), Some(&b"close"[..]));
    let report = shutdown.await.unwrap().unwrap();
    assert_eq!(
        report,
        ShutdownReport {
            drained: 2,
            aborted: 0
        }
    );
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_aborts_what_outlasts_the_drain_time() {
    let (handler, mut started) = slow_handler(Duration::from_secs(3600));
    let config = ServeConfig::new("test").drain_timeout(Duration::from_millis(300));
    let server = serve_fn(listener().await, handler, config).unwrap();
    let mut client = connect(server.local_addr()).await;
    let in_flight = tokio::spawn(async move {
        client.sender.ready().await.unwrap();
        let req = Request::get("/slow")
            .header("host", "localhost")
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        client.sender.send_request(req).await
    });
    started.recv().await.unwrap();
    let start = Instant::now();
    let report = server.shutdown().await.unwrap();
    assert_eq!(
        report,
        ShutdownReport {
            drained: 0,
            aborted: 1
        }
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let answer = tokio::time::timeout(Duration::from_secs(5), in_flight)
        .await
        .expect("the client saw the connection close")
        .unwrap();
    assert!(answer.is_err(), "an aborted request got an answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handle_stops_the_server() {
    let server = serve_fn(listener().await, echo, ServeConfig::new("test")).unwrap();
    let addr = server.local_addr();
    let mut client = connect(addr).await;
    assert_eq!(client.get("/").await.0, StatusCode::OK);
    let signal = server.shutdown_signal();
    assert!(!signal.is_triggered());
    drop(server);
    assert!(signal.is_triggered());
    assert!(refused_within(addr, Duration::from_secs(5)).await);
    assert!(client.closed_within(Duration::from_secs(5)).await);
}

/// One chunk, then nothing ever again (as a server-sent event stream between events).
struct Endless {
    sent: bool,
}

impl Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.sent {
            Poll::Pending
        } else {
            self.sent = true;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"event\n")))))
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_bodies_end_at_shutdown() {
    let served = Arc::new(AtomicUsize::new(0));
    let handler = {
        let served = served.clone();
        move |req: Request<Incoming>| {
            served.fetch_add(1, Ordering::SeqCst);
            let signal = req.extensions().get::<ShutdownSignal>().cloned();
            async move { Response::new(UntilShutdown::new(Endless { sent: false }, signal)) }
        }
    };
    let config = ServeConfig::new("test").drain_timeout(Duration::from_secs(30));
    let server = serve_fn(listener().await, handler, config).unwrap();
    let mut client = connect(server.local_addr()).await;
    let mut body = client.send("/events").await.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first, "event\n");

    let start = Instant::now();
    let report = server.shutdown().await.unwrap();
    assert_eq!(
        report,
        ShutdownReport {
            drained: 1,
            aborted: 0
        }
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    // A clean end of the chunked stream, not an error.
    let end = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .unwrap();
    assert!(end.is_none(), "{end:?}");
    assert_eq!(served.load(Ordering::SeqCst), 1);
}

#[test]
fn bad_config_and_no_runtime_are_errors() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bound = runtime.block_on(listener());
    // Outside the runtime.
    assert!(matches!(
        serve_fn(bound, echo, ServeConfig::default()),
        Err(ServeError::NoRuntime)
    ));
    runtime.block_on(async {
        let bad = ServeConfig::default().max_connections(0);
        assert!(matches!(
            serve_fn(listener().await, echo, bad),
            Err(ServeError::InvalidConfig(_))
        ));
    });
}
