//! What `NodeBuilder` refuses at start: a data dir another node holds, wrong RPC credentials,
//! a chain source on another network; each with an error that says so once.

mod harness;

use bitcoin::Network;
use harness::*;
use lnedge_node::{BuildError, NodeError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_per_data_dir_until_stopped() {
    init_logs();
    let chain = TestChain::start().await;
    let dir = tempfile::tempdir().unwrap();
    let first = chain.node(dir.path(), "first").await;
    let handle = first.clone();

    let refused = chain
        .builder(dir.path(), "second")
        .start()
        .await
        .unwrap_err();
    match &refused {
        NodeError::Build(BuildError::DataDirInUse { dir: d, holder }) => {
            assert_eq!(d, dir.path());
            assert_eq!(*holder, Some(std::process::id()));
        }
        other => panic!("a second node opened the data dir: {other:?}"),
    }
    assert!(
        refused.to_string().ends_with(&format!(
            "data dir {} is in use by process {}",
            dir.path().display(),
            std::process::id()
        )),
        "{refused}"
    );

    // `stop` releases the lock, even while clones of the handle are alive.
    first.stop().await;
    let third = chain.node(dir.path(), "third").await;
    assert_eq!(third.node_id(), handle.node_id());
    third.stop().await;
    drop((first, handle, third));

    // A node built but never started or stopped releases it when its last handle drops.
    let built = chain.builder(dir.path(), "built").build().await.unwrap();
    assert!(chain.builder(dir.path(), "again").build().await.is_err());
    drop(built);
    chain.node(dir.path(), "again").await.stop().await;
    chain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_and_network_are_refused_once() {
    init_logs();
    let chain = TestChain::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = chain.rpc.url();

    let e = chain
        .builder(dir.path(), "a")
        .bitcoind_rpc(&url, "test", "wrong")
        .start()
        .await
        .unwrap_err();
    let expected = format!("401: wrong RPC credentials for {url}");
    let text = e.to_string();
    assert_eq!(text.matches(&expected).count(), 1, "{text}");
    // Not repeated down the source chain either.
    let mut chain_text = String::new();
    let mut cause: Option<&dyn std::error::Error> = Some(&e);
    while let Some(c) = cause {
        chain_text.push_str(&c.to_string());
        chain_text.push('\n');
        cause = c.source();
    }
    assert!(chain_text.matches("401").count() <= 2, "{chain_text}");

    let e = chain
        .builder(dir.path(), "a")
        .network(Network::Bitcoin)
        .start()
        .await
        .unwrap_err();
    match &e {
        NodeError::Build(BuildError::NetworkMismatch {
            configured,
            chain: c,
            ..
        }) => {
            assert_eq!(*configured, Network::Bitcoin);
            assert_eq!(c, "regtest");
        }
        other => panic!("a bitcoin node started on a regtest chain: {other:?}"),
    }
    assert!(
        e.to_string().contains(&format!(
            "configured for bitcoin but the chain source at {url} is on regtest"
        )),
        "{e}"
    );
    // Neither left the data dir locked.
    chain.node(dir.path(), "a").await.stop().await;
    chain.shutdown().await;
}
