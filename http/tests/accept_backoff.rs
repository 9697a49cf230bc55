//! Accept errors back off instead of spinning: with the process out of file descriptors
//! (EMFILE) the loop retries a handful of times per second, and serves again once descriptors
//! are free. Its own test binary, since it lowers the process's RLIMIT_NOFILE.
#![cfg(target_os = "linux")]

mod common;

use std::time::Duration;

use common::*;
use hyper::StatusCode;
use lnedge_http::{serve_fn, ServeConfig};
use tokio::net::TcpListener;

fn nofile() -> libc::rlimit {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    limit
}

fn set_nofile(limit: libc::rlimit) {
    // SAFETY: setrlimit only reads the struct we pass.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_file_descriptors_backs_off_and_recovers() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = ServeConfig::new("backoff test")
        .accept_backoff(Duration::from_millis(10), Duration::from_millis(200));
    let server = serve_fn(listener, |_req| async { text("ok") }, config).unwrap();
    let addr = server.local_addr();

    // Use up every descriptor under a low limit, then free one for the client's socket: the
    // server's accept has none left.
    let original = nofile();
    set_nofile(libc::rlimit {
        rlim_cur: original.rlim_cur.min(512),
        rlim_max: original.rlim_max,
    });
    let mut hoard = Vec::new();
    loop {
        match std::fs::File::open("/dev/null") {
            Ok(file) => hoard.push(file),
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => break,
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    hoard.pop();
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut client = client_over(stream).await;
    let answer = tokio::spawn(async move { client.get("/").await });

    tokio::time::sleep(Duration::from_millis(1000)).await;
    let errors = server.stats().accept_errors;
    // Backoff 10, 20, 40, 80, 160, 200, 200… ms: about 9 tries in a second; a busy loop would
    // be in the tens of thousands.
    assert!(
        (1..=20).contains(&errors),
        "{errors} accept errors in a second"
    );
    assert!(!answer.is_finished());

    drop(hoard);
    let (status, body) = tokio::time::timeout(Duration::from_secs(10), answer)
        .await
        .expect("served once descriptors were free")
        .unwrap();
    set_nofile(original);
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    assert_eq!(server.stats().accepted, 1);
    server.shutdown().await.unwrap();
}
