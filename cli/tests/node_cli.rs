//! The node commands as an operator runs them: the real `lnedge` binary against a real node
//! (embedded devnet) and its admin API on loopback, and `lnedge node run` itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use lnedge_devnet::{anyone_can_spend_script, Devnet, RpcServer};
use lnedge_node::adapters::async_payments::{self, AsyncPaymentsConfig, ServerRole};
use lnedge_node::api::AdminApi;
use lnedge_node::{Node, NodeBuilder};
use serde_json::Value;

mod common;
use common::{startup_lines, value_after};

/// A node and its API served by a runtime of the test's own.
struct Running {
    runtime: tokio::runtime::Runtime,
    node: Node,
    api: Option<AdminApi>,
    url: String,
    token_file: PathBuf,
    dir: tempfile::TempDir,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn start() -> Running {
    let runtime = runtime();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("node");
    let token_file = data_dir.join("api_token");
    let (node, api) = runtime.block_on(async {
        let node = NodeBuilder::new(&data_dir)
            .embedded_devnet()
            .start()
            .await
            .expect("node starts");
        let api = AdminApi::start(node.clone(), "127.0.0.1:0".parse().unwrap(), &token_file)
            .await
            .expect("API starts");
        (node, api)
    });
    Running {
        runtime,
        node,
        url: api.url(),
        api: Some(api),
        token_file,
        dir,
    }
}

impl Running {
    fn lnedge(&self, args: &[&str]) -> Output {
        let token = self.token_file.to_str().unwrap();
        lnedge_with(&[&["--api", &self.url, "--token-file", token], args].concat())
    }

    fn stop(mut self) {
        let api = self.api.take();
        let node = self.node.clone();
        self.runtime.block_on(async move {
            if let Some(api) = api {
                api.shutdown().await;
            }
            node.stop().await;
        });
    }
}

fn lnedge_with(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lnedge"))
        .args(args)
        .env("HOME", "/nonexistent-home")
        .stdin(Stdio::null())
        .output()
        .expect("lnedge runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

/// Asserts exit status 2 and a one-line error containing `text`.
fn fails_with(o: &Output, text: &str) {
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(o), stderr(o));
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(text), "expected `{text}` in {err}");
}

#[test]
fn client_commands_print_tables_and_json() {
    let n = start();
    let info = json(&n.lnedge(&["info", "--json"]));
    assert_eq!(info["node_id"], n.node.node_id().to_string());
    assert_eq!(info["network"], "regtest");
    let text = stdout(&n.lnedge(&["info"]));
    assert!(
        text.contains(&format!("node id:       {}", n.node.node_id())),
        "{text}"
    );
    assert!(text.contains("network:       regtest"), "{text}");

    let address = n.lnedge(&["wallet", "address"]);
    assert!(address.status.success(), "{}", stderr(&address));
    assert!(stdout(&address).trim().starts_with("bcrt1"));

    let balance = n.lnedge(&["wallet", "balance"]);
    assert!(stdout(&balance).contains("total:"), "{}", stdout(&balance));
    let balance = json(&n.lnedge(&["wallet", "balance", "--json"]));
    assert_eq!(balance["total_sat"], 0);

    let peers = n.lnedge(&["peer", "list"]);
    assert!(peers.status.success(), "{}", stderr(&peers));
    assert_eq!(stdout(&peers).trim(), "NODE ID  ADDRESS  DIRECTION");
    assert_eq!(
        json(&n.lnedge(&["--json", "peer", "list"])),
        Value::Array(vec![])
    );
    assert_eq!(
        stdout(&n.lnedge(&["channel", "list"])).trim(),
        "CHANNEL ID  PEER  CAPACITY SAT  OUT MSAT  IN MSAT  CONFS  STATE  SCID"
    );

    let invoice = json(&n.lnedge(&["invoice", "25000", "--description", "tea", "--json"]));
    assert!(invoice["invoice"].as_str().unwrap().starts_with("lnbcrt"));
    let any = n.lnedge(&["invoice", "any"]);
    assert!(stdout(&any).contains("invoice:"), "{}", stderr(&any));
    let payments = stdout(&n.lnedge(&["payments"]));
    assert_eq!(payments.lines().count(), 3, "{payments}");
    assert!(
        payments.contains("inbound    bolt11  pending  25000"),
        "{payments}"
    );
    let hash = invoice["payment_hash"].as_str().unwrap();
    let one = json(&n.lnedge(&["payments", hash, "--json"]));
    assert_eq!(one["amount_msat"], 25000);

    // A page at a time: the newest (the amount-less invoice), then the cursor to the rest.
    let page = stdout(&n.lnedge(&["payments", "--limit", "1"]));
    let lines: Vec<&str> = page.lines().collect();
    assert_eq!(lines.len(), 3, "{page}");
    let cursor = lines[2]
        .strip_prefix("more: lnedge payments --after ")
        .unwrap_or_else(|| panic!("{page}"));
    assert!(lines[1].starts_with(cursor), "{page}");
    let rest = n.lnedge(&["payments", "--limit", "1", "--after", cursor, "--json"]);
    let rest_json: Value = serde_json::from_slice(&rest.stdout).unwrap();
    assert_eq!(rest_json[0]["id"], hash, "{rest_json}");
    assert!(stderr(&rest).is_empty(), "the last page: {}", stderr(&rest));
    fails_with(
        &n.lnedge(&["payments", "--limit", "0"]),
        "invalid `limit` `0`",
    );
    n.stop();
}

#[test]
fn errors_are_one_line_and_exit_2() {
    let n = start();
    fails_with(
        &n.lnedge(&["channel", "open", "xyz", "100000"]),
        "invalid node id `xyz`",
    );
    let id = n.node.node_id().to_string();
    fails_with(
        &n.lnedge(&["channel", "open", &id, "0"]),
        "amount_sat must be positive",
    );
    fails_with(
        &n.lnedge(&["pay", "lnbcrt1garbage"]),
        "invalid BOLT 11 invoice",
    );
    fails_with(&n.lnedge(&["pay", "lno1garbage"]), "invalid BOLT 12 offer");
    fails_with(
        &n.lnedge(&["keysend", "xyz", "1000"]),
        "invalid node id `xyz`",
    );
    fails_with(
        &n.lnedge(&["keysend", &id, "0"]),
        "amount_msat must be positive (HTTP 400)",
    );
    fails_with(
        &n.lnedge(&["keysend", &id, "1000"]),
        "a node cannot pay itself (HTTP 400)",
    );
    fails_with(&n.lnedge(&["invoice", "lots"]), "neither a number");
    fails_with(&n.lnedge(&["payments", "xyz"]), "invalid payment id `xyz`");
    fails_with(&n.lnedge(&["payments", &"ab".repeat(32)]), "no payment");
    fails_with(
        &n.lnedge(&["wallet", "send", "bcrt1qnotanaddress", "1000"]),
        "invalid address",
    );

    let wrong = n.dir.path().join("wrong_token");
    std::fs::write(&wrong, "00".repeat(32)).unwrap();
    let wrong = wrong.to_str().unwrap();
    fails_with(
        &lnedge_with(&["--api", &n.url, "--token-file", wrong, "info"]),
        "unauthorized",
    );
    fails_with(
        &lnedge_with(&[
            "--api",
            &n.url,
            "--token-file",
            "/nonexistent/token",
            "info",
        ]),
        "cannot read the API token file /nonexistent/token",
    );
    let token = n.token_file.to_str().unwrap();
    fails_with(
        &lnedge_with(&["--api", "127.0.0.1:1", "--token-file", token, "info"]),
        "cannot reach the node's API at http://127.0.0.1:1",
    );
    // The default token file lives in the data dir.
    let data_dir = n.token_file.parent().unwrap().to_str().unwrap();
    assert!(
        lnedge_with(&["--api", &n.url, "--data-dir", data_dir, "info"])
            .status
            .success()
    );
    n.stop();
}

/// Polls `check` every 50 ms for up to 30 s.
async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An async payments server S with a usable private channel to a peer (so LDK can build the
/// blinded paths a registration token carries), both on a devnet served over RPC; S's API.
struct AsyncServerNet {
    server: Running,
    peer: Node,
    rpc: RpcServer,
}

fn start_async_server() -> AsyncServerNet {
    let runtime = runtime();
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("server");
    let token_file = data_dir.join("api_token");
    let (node, api, peer, rpc) = runtime.block_on(async {
        let devnet = Devnet::in_memory();
        let rpc = common::rpc_server(devnet.clone(), "t", "t").await;
        let builder = |dir: PathBuf| {
            NodeBuilder::new(dir)
                .listen("127.0.0.1:0".parse().unwrap())
                .bitcoind_rpc(rpc.url(), "t", "t")
                .chain_poll_interval(Duration::from_millis(50))
        };
        let node = builder(data_dir.clone())
            .with_feature(async_payments::feature(AsyncPaymentsConfig {
                server: Some(ServerRole::default()),
                often_offline: false,
            }))
            .start()
            .await
            .expect("server starts");
        let peer = builder(dir.path().join("peer"))
            .start()
            .await
            .expect("peer starts");
        let address = node.wallet().new_address().unwrap();
        devnet.mine(1, &address.script_pubkey()).unwrap();
        devnet.mine(100, &anyone_can_spend_script()).unwrap();
        wait_for("funds", || async {
            node.sync_chain().await;
            (node.wallet().balance().confirmed_sat > 0).then_some(())
        })
        .await;
        node.peers()
            .connect(peer.node_id(), &peer.listen_address().unwrap().to_string())
            .await
            .unwrap();
        node.channels()
            .open(peer.node_id(), 200_000, 0, false)
            .unwrap();
        let txid = wait_for("funding", || async {
            node.channels()
                .list()
                .into_iter()
                .find_map(|c| c.funding_outpoint)
                .map(|o| o.txid)
        })
        .await;
        wait_for("funding in the mempool", || async {
            devnet.lock().mempool.get(&txid).map(|_| ())
        })
        .await;
        devnet.mine(6, &anyone_can_spend_script()).unwrap();
        wait_for("usable channel", || async {
            node.sync_chain().await;
            peer.sync_chain().await;
            node.channels()
                .list()
                .iter()
                .any(|c| c.usable)
                .then_some(())
        })
        .await;
        let api = AdminApi::start(node.clone(), "127.0.0.1:0".parse().unwrap(), &token_file)
            .await
            .expect("API starts");
        (node, api, peer, rpc)
    });
    AsyncServerNet {
        server: Running {
            runtime,
            node,
            url: api.url(),
            api: Some(api),
            token_file,
            dir,
        },
        peer,
        rpc,
    }
}

#[test]
fn async_commands_drive_a_server() {
    let AsyncServerNet { server, peer, rpc } = start_async_server();
    let n = server;
    // The token alone on stdout, so that it can be piped to the recipient.
    let out = n.lnedge(&["async", "register", "alice", "--slots", "4"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let token = stdout(&out);
    assert_eq!(token.lines().count(), 1, "{token}");
    assert!(token.starts_with("lnasync1"), "{token}");
    let bob = json(&n.lnedge(&["async", "register", "bob", "--json"]));
    assert!(bob["token"].as_str().unwrap().starts_with("lnasync1"));
    assert_eq!(bob["label"], "bob");
    let bob_id = bob["recipient_id"].as_str().unwrap().to_string();

    let list = json(&n.lnedge(&["async", "recipients", "--json"]));
    assert_eq!(list["recipients"].as_array().unwrap().len(), 2, "{list}");
    let table = stdout(&n.lnedge(&["async", "recipients"]));
    assert!(
        table.starts_with(
            "RECIPIENT ID                      LABEL  SLOTS    STATE   REGISTERED (UTC)"
        ),
        "{table}"
    );
    assert!(table.contains("alice  4 "), "{table}");
    assert!(table.contains("bob    default  active"), "{table}");

    let reissued = stdout(&n.lnedge(&["async", "token", &bob_id]));
    assert!(reissued.starts_with("lnasync1"), "{reissued}");
    assert_eq!(
        stdout(&n.lnedge(&["async", "invoices"])).trim(),
        "RECIPIENT ID  SLOT  STORED (UTC)  EXPIRES (UTC)"
    );
    let none = json(&n.lnedge(&["async", "invoices", &bob_id, "--json"]));
    assert_eq!(none["invoices"], Value::Array(vec![]));
    let stats = json(&n.lnedge(&["async", "server", "--json"]));
    assert_eq!(stats["held_messages"], 0);
    let text = stdout(&n.lnedge(&["async", "server"]));
    assert!(text.contains("invoices stored:    0"), "{text}");

    let revoked = stdout(&n.lnedge(&["async", "revoke", &bob_id]));
    assert_eq!(
        revoked.trim(),
        format!("revoked {bob_id}: 0 invoice(s) deleted")
    );
    fails_with(
        &n.lnedge(&["async", "token", &bob_id]),
        "revoked (HTTP 400)",
    );
    fails_with(
        &n.lnedge(&["async", "revoke", &"ab".repeat(16)]),
        "no such async recipient (HTTP 404)",
    );
    fails_with(
        &n.lnedge(&["async", "invoices", "xyz"]),
        "invalid recipient id `xyz`",
    );
    // The server has the recipient side too; without a token applied, no async offer.
    assert_eq!(
        stdout(&n.lnedge(&["async", "offers"])).trim(),
        "OFFER ID  OFFER"
    );
    fails_with(&n.lnedge(&["offer", "--async"]), "HTTP 404");

    // Keysend over the server's channel to its peer: the API's reply with --json, a summary
    // without.
    let peer_id = peer.node_id().to_string();
    let paid = json(&n.lnedge(&["keysend", &peer_id, "1000000", "--wait", "30", "--json"]));
    assert_eq!(paid["status"], "succeeded", "{paid}");
    assert_eq!(paid["kind"], "keysend", "{paid}");
    assert_eq!(paid["amount_msat"], 1_000_000);
    let text = stdout(&n.lnedge(&["keysend", &peer_id, "2000"]));
    assert!(text.contains("outbound keysend"), "{text}");
    assert!(text.contains("succeeded"), "{text}");
    n.runtime.block_on(async {
        peer.stop().await;
        rpc.shutdown().await;
    });
    n.stop();
}

#[test]
fn async_commands_without_the_role_fail_with_the_fix() {
    let n = start();
    fails_with(
        &n.lnedge(&["async", "server"]),
        "this node is not an async payments server: run it with --async-server (HTTP 409)",
    );
    fails_with(
        &n.lnedge(&["async", "register", "alice"]),
        "run it with --async-server",
    );
    fails_with(
        &n.lnedge(&["async", "apply", "lnasync1qqqqqqqqqqqq"]),
        "invalid registration token",
    );
    fails_with(
        &n.lnedge(&["offer", "--async", "--wait", "1"]),
        "(HTTP 409)",
    );
    n.stop();
}

#[test]
fn node_run_reads_its_config_and_stops_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let config = dir.path().join("lnedge.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\ndevnet = true\nalias = \"from-file\"\nlisten = \"127.0.0.1:0\"\napi = \"127.0.0.1:0\"\nasync_server = true\n",
            data_dir.to_str().unwrap()
        ),
    )
    .unwrap();
    let (mut child, rx, reader) = spawn_daemon(&[
        "node",
        "run",
        "--config",
        config.to_str().unwrap(),
        "--alias",
        "from-flag",
    ]);
    let lines = startup_lines(&rx);
    let api = value_after(&lines, "api: ");
    let node_id = value_after(&lines, "node id: ");

    let info = json(&lnedge_with(&[
        "--api",
        api,
        "--data-dir",
        data_dir.to_str().unwrap(),
        "info",
        "--json",
    ]));
    assert_eq!(info["alias"], "from-flag");
    assert_eq!(info["node_id"], node_id);
    // `async_server = true`: the server role, its store in the data dir.
    assert!(
        value_after(&lines, "async payments: ").starts_with("server"),
        "{lines:?}"
    );
    let stats = json(&lnedge_with(&[
        "--api",
        api,
        "--data-dir",
        data_dir.to_str().unwrap(),
        "async",
        "server",
        "--json",
    ]));
    assert_eq!(stats["invoices_stored"], 0);
    assert!(data_dir.join("static_invoices.sqlite").exists());
    assert!(token_is_private(&data_dir.join("api_token")));

    send_signal(&child.0, "INT");
    let status = wait_with_timeout(&mut child.0, Duration::from_secs(60));
    reader.join().unwrap();
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(status.success(), "exit {status:?}, printed {rest:?}");
    assert_eq!(rest, vec!["node stopped".to_string()]);

    // A config file with a misspelt key is refused before anything starts.
    std::fs::write(&config, "devnet = true\naliass = \"x\"\n").unwrap();
    fails_with(
        &lnedge_with(&["node", "run", "--config", config.to_str().unwrap()]),
        "unknown field `aliass`",
    );
}

/// Spawns `lnedge ARGS` with its stdout read line by line on a thread.
fn spawn_daemon(
    args: &[&str],
) -> (
    KillOnDrop,
    mpsc::Receiver<String>,
    std::thread::JoinHandle<()>,
) {
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_lnedge"))
            .args(args)
            .env("HOME", "/nonexistent-home")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (rx, reader) = common::stdout_lines(&mut child.0);
    (child, rx, reader)
}

/// Sends `signal` (`INT`, `TERM`) to the child.
fn send_signal(child: &std::process::Child, signal: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// SIGTERM stops `node run` as Ctrl-C does; while it runs, a second `node run` on its data dir
/// is refused, naming it.
#[test]
fn node_run_stops_on_sigterm_and_holds_its_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let data = data_dir.to_str().unwrap();
    let args = [
        "--data-dir",
        data,
        "--api",
        "127.0.0.1:0",
        "node",
        "run",
        "--devnet",
        "--listen",
        "127.0.0.1:0",
    ];
    let (mut child, rx, reader) = spawn_daemon(&args);
    startup_lines(&rx);

    let second = lnedge_with(&args);
    fails_with(
        &second,
        &format!("data dir {data} is in use by process {}", child.0.id()),
    );

    send_signal(&child.0, "TERM");
    let status = wait_with_timeout(&mut child.0, Duration::from_secs(60));
    reader.join().unwrap();
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(status.success(), "exit {status:?}, printed {rest:?}");
    assert_eq!(rest, vec!["node stopped".to_string()]);
    // Stopped cleanly: the lock file no longer names it.
    assert_eq!(std::fs::read_to_string(data_dir.join("lock")).unwrap(), "");
}

/// `lnedge devnet` with a data dir stops on SIGINT and on SIGTERM the same way: exit 0, the
/// cookie removed; while it runs, a second devnet on its data dir is refused, naming it.
#[test]
fn devnet_stops_on_sigint_and_sigterm_and_holds_its_data_dir() {
    for signal in ["INT", "TERM"] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_str().unwrap();
        let args = ["devnet", "--data-dir", data, "--rpc-bind", "127.0.0.1:0"];
        let (mut child, rx, reader) = spawn_daemon(&args);
        let lines = startup_lines(&rx);
        let cookie = dir.path().join(".cookie");
        assert!(cookie.exists(), "{lines:?}");

        fails_with(
            &lnedge_with(&args),
            &format!("data dir {data} is in use by process {}", child.0.id()),
        );
        // The refused devnet did not touch the running one's cookie.
        assert!(std::fs::read_to_string(&cookie)
            .unwrap()
            .starts_with("__cookie__:"));

        send_signal(&child.0, signal);
        let status = wait_with_timeout(&mut child.0, Duration::from_secs(60));
        reader.join().unwrap();
        let rest: Vec<String> = rx.try_iter().collect();
        assert!(
            status.success(),
            "SIG{signal}: exit {status:?}, printed {rest:?}"
        );
        assert_eq!(rest, vec!["devnet stopped at height 0".to_string()]);
        assert!(!cookie.exists(), "SIG{signal}: the cookie file is left");
    }
}

/// A wrong RPC password and a network other than the chain source's are refused at start, each
/// said once on one line.
#[test]
fn node_run_refuses_wrong_credentials_and_network() {
    let runtime = runtime();
    let server = runtime.block_on(common::rpc_server(Devnet::in_memory(), "user", "right"));
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let run = |password: &str, network: &str| {
        lnedge_with(&[
            "--data-dir",
            data,
            "--api",
            "127.0.0.1:0",
            "node",
            "run",
            "--network",
            network,
            "--listen",
            "127.0.0.1:0",
            "--bitcoind-url",
            &url,
            "--bitcoind-user",
            "user",
            "--bitcoind-password",
            password,
        ])
    };

    let wrong = run("wrong", "regtest");
    let expected = format!("401: wrong RPC credentials for {url}");
    fails_with(&wrong, &expected);
    assert_eq!(
        stderr(&wrong).matches(&expected).count(),
        1,
        "{}",
        stderr(&wrong)
    );
    assert_eq!(
        stderr(&wrong).matches("401").count(),
        1,
        "{}",
        stderr(&wrong)
    );

    let mainnet = run("right", "bitcoin");
    fails_with(
        &mainnet,
        &format!(
            "network mismatch: the node is configured for bitcoin but the chain source at {url} is on regtest"
        ),
    );
    runtime.block_on(server.shutdown());
}

fn token_is_private(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777 == 0o600
}

fn wait_with_timeout(
    child: &mut std::process::Child,
    timeout: Duration,
) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("node run did not stop after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills the daemon if a test fails before stopping it.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// `lnedge demo` runs devnet and two nodes in-process, opens a channel and pays by BOLT 11 and
/// BOLT 12, then pays an often-offline recipient through an async payments server while her
/// node is stopped; it must print its summary and exit 0.
#[test]
fn demo_runs_end_to_end() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lnedge"))
        .arg("demo")
        .output()
        .expect("run lnedge demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("BOLT 11 payment") && stdout.contains("BOLT 12 payment"),
        "{stdout}"
    );
    assert!(
        stdout.contains("async payment    21000 sat to carol while offline: held"),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("demo succeeded"), "{stdout}");
}
