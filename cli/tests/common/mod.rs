//! What the CLI's process tests share.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use lnedge_devnet::{Devnet, RpcAuth, RpcServer, RpcServerConfig};

/// Reads the child's stdout line by line on a thread (the child must have a piped stdout).
pub fn stdout_lines(child: &mut Child) -> (mpsc::Receiver<String>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().expect("stdout piped");
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (rx, reader)
}

/// Waits for `lnedge node run` to print `press Ctrl-C`, returning what it printed.
pub fn startup_lines(lines: &mpsc::Receiver<String>) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let line = lines
            .recv_timeout(Duration::from_secs(90))
            .unwrap_or_else(|_| panic!("node run did not start; printed {seen:?}"));
        let done = line.contains("press Ctrl-C");
        seen.push(line);
        if done {
            return seen;
        }
    }
}

/// The first word after `prefix` on the line that starts with it.
pub fn value_after<'a>(lines: &'a [String], prefix: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` in {lines:?}"))
        .split_whitespace()
        .next()
        .unwrap()
}

/// Serves `devnet` over JSON-RPC on loopback with a user and password.
pub async fn rpc_server(devnet: Devnet, user: &str, password: &str) -> RpcServer {
    RpcServer::start(
        devnet,
        RpcServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            auth: RpcAuth::UserPass {
                user: user.into(),
                password: password.into(),
            },
        },
    )
    .await
    .expect("devnet RPC server starts")
}
