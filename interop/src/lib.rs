//! The interop suite's harness: lnedge (the `lnedge` binary, driven through its CLI and admin
//! API as an operator would) against [ldk-node](https://docs.rs/ldk-node) on one devnet
//! (`lnedge devnet`, which serves Bitcoin Core's JSON-RPC, and which ldk-node uses as its
//! bitcoind chain source).
//!
//! - [`devnet`]: the chain process and its RPC client (mining, fee curve);
//! - [`lnedge`]: an `lnedge node run` process and its commands;
//! - [`ldk`]: an ldk-node in this process;
//! - [`wait`]: polling with a deadline.

pub mod devnet;
pub mod ldk;
pub mod lnedge;
pub mod wait;

use std::path::PathBuf;

/// The `lnedge` binary: `$LNEDGE_BIN`, or the main workspace's build (`target/release` for
/// benches, `target/debug` otherwise). Build it first: `cargo build -p lnedge`.
pub fn lnedge_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("LNEDGE_BIN") {
        return PathBuf::from(bin);
    }
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../target")
        .join(profile)
        .join("lnedge");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build{} -p lnedge` in the main workspace) or set LNEDGE_BIN",
        bin.display(),
        if profile == "release" { " --release" } else { "" }
    );
    bin
}

/// A loopback address with a port the OS just handed out (for ldk-node, which takes its
/// listening address before it binds).
pub fn free_loopback_addr() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("local addr")
}

/// A temporary directory for one test's nodes, removed at the end unless the test failed:
/// then it is kept, with every node's log, and its path printed.
pub struct Scratch(Option<tempfile::TempDir>);

impl Scratch {
    /// A new empty directory.
    pub fn new() -> Scratch {
        Scratch(Some(tempfile::tempdir().expect("temp dir")))
    }

    /// Its path.
    pub fn path(&self) -> &std::path::Path {
        self.0.as_ref().expect("present until drop").path()
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(dir) = self.0.take() {
                eprintln!("logs kept in {}", dir.keep().display());
            }
        }
    }
}
