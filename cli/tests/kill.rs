//! The kill test (#17): two `lnedge node run` processes with a channel on devnet, payments in
//! both directions, and `kill -9` of either at random moments (every third one right after the
//! victim was paid), then a restart from the same data dir, over and over. After every restart
//! the channel must be usable again (no force close), both sides must agree on its balances,
//! and every payment must end `succeeded` or `failed`; at the end, what the channel balance
//! moved must equal the sum of the succeeded payments.
//!
//! `scripts/test` runs a short version (`KILL_ROUNDS`, default 5); `scripts/kill-test` runs the
//! full one (100 kills, release build). `KILL_SEED` replays a run's kill schedule;
//! `KILL_MONITORS_FIRST=1` runs the nodes with LDK's own write order (monitors first), which
//! this test is expected to fail.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lnedge_devnet::{anyone_can_spend_script, Devnet};
use serde_json::Value;

mod common;

const CHANNEL_SAT: u64 = 1_000_000;
const PUSH_MSAT: u64 = 400_000_000;
const WAIT: Duration = Duration::from_secs(90);

/// One `lnedge node run` process and how to reach it.
struct Daemon {
    name: &'static str,
    data_dir: PathBuf,
    log: PathBuf,
    rpc_url: String,
    child: Option<Child>,
    api: String,
    node_id: String,
    p2p: String,
}

impl Daemon {
    fn start(name: &'static str, root: &Path, rpc_url: &str) -> Daemon {
        let mut d = Daemon {
            name,
            data_dir: root.join(name),
            log: root.join(format!("{name}.log")),
            rpc_url: rpc_url.to_string(),
            child: None,
            api: String::new(),
            node_id: String::new(),
            p2p: String::new(),
        };
        d.spawn();
        d
    }

    fn spawn(&mut self) {
        let listen = if self.p2p.is_empty() {
            "127.0.0.1:0".to_string()
        } else {
            self.p2p.clone()
        };
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_lnedge"))
            .args(["--data-dir", self.data_dir.to_str().unwrap()])
            .args(["node", "run", "--bitcoind-url", &self.rpc_url])
            .args(["--bitcoind-user", "t", "--bitcoind-password", "t"])
            // A restart listens where the peer will look for it again.
            .args(["--listen", listen.as_str(), "--api", "127.0.0.1:0"])
            .args(["--immediate-htlc-processing", "--alias", self.name])
            // KILL_MONITORS_FIRST=1: LDK's own write order, to see what the test catches.
            .args(
                std::env::var_os("KILL_MONITORS_FIRST")
                    .map(|_| "--unsafe-monitors-first")
                    .as_slice(),
            )
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let (rx, _reader) = common::stdout_lines(&mut child);
        let lines = common::startup_lines(&rx);
        let value = |prefix: &str| common::value_after(&lines, prefix).to_string();
        self.api = value("api: ");
        self.node_id = value("node id: ");
        self.p2p = value("p2p: ");
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
        }
    }

    fn lnedge(&self, args: &[&str]) -> Output {
        let token = self.data_dir.join("api_token");
        Command::new(env!("CARGO_BIN_EXE_lnedge"))
            .args(["--api", &self.api, "--token-file", token.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap()
    }

    fn json(&self, args: &[&str]) -> Option<Value> {
        let out = self.lnedge(&[&["--json"], args].concat());
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    fn must(&self, args: &[&str]) -> Value {
        let out = self.lnedge(&[&["--json"], args].concat());
        assert!(
            out.status.success(),
            "{} {args:?}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The one channel, once usable: (outbound msat, inbound msat).
    fn usable_channel(&self) -> Option<(u64, u64)> {
        let channels = self.json(&["channel", "list"])?;
        let channels = channels.as_array()?;
        assert!(
            channels.len() <= 1,
            "{}: more than one channel: {channels:?}",
            self.name
        );
        let c = channels.first()?;
        c["usable"].as_bool().filter(|u| *u)?;
        Some((c["outbound_msat"].as_u64()?, c["inbound_msat"].as_u64()?))
    }

    /// Panics if the channel is gone (force-closed) or LDK found its manager stale.
    fn assert_channel_open(&self) {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        assert!(
            !log.contains("is stale compared to"),
            "{}: a stale channel manager; log:\n{}",
            self.name,
            tail(&self.log)
        );
        if let Some(channels) = self.json(&["channel", "list"]) {
            assert!(
                channels.as_array().is_some_and(|c| !c.is_empty()),
                "{}: the channel is gone (force-closed); log:\n{}",
                self.name,
                tail(&self.log)
            );
        }
    }

    /// Outbound payments by id with their status and amount (every page).
    fn outbound_payments(&self) -> Option<BTreeMap<String, (String, u64)>> {
        let mut all = BTreeMap::new();
        let mut after: Option<String> = None;
        loop {
            let mut args = vec!["--json", "payments", "--limit", "1000"];
            if let Some(cursor) = &after {
                args.extend(["--after", cursor.as_str()]);
            }
            let out = self.lnedge(&args);
            if !out.status.success() {
                return None;
            }
            let page: Value = serde_json::from_slice(&out.stdout).ok()?;
            for p in page.as_array()? {
                if p["direction"] == "outbound" {
                    all.insert(
                        p["id"].as_str().unwrap_or_default().to_string(),
                        (
                            p["status"].as_str().unwrap_or_default().to_string(),
                            p["amount_msat"].as_u64().unwrap_or_default(),
                        ),
                    );
                }
            }
            // The next page's cursor, if any: `more: lnedge payments --after ID` on stderr.
            let stderr = String::from_utf8_lossy(&out.stderr);
            after = stderr
                .lines()
                .find_map(|l| l.split("--after ").nth(1))
                .map(|id| id.trim().to_string());
            if after.is_none() {
                return Some(all);
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn wait_until<T>(what: &str, check: impl FnMut() -> Option<T>) -> T {
    wait_or_show(what, &[], check)
}

/// [`wait_until`], printing the tails of `logs` if it times out.
fn wait_or_show<T>(what: &str, logs: &[&Path], mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() > deadline {
            for log in logs {
                eprintln!("--- {}:\n{}", log.display(), tail(log));
            }
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A small deterministic generator (xorshift64*), so a failing schedule can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Pays `amount` from `payer` to `payee` without waiting; the payment id if it was accepted.
fn pay(payer: &Daemon, payee: &Daemon, amount: u64) -> Option<String> {
    let invoice = payee.json(&["invoice", &amount.to_string()])?;
    let invoice = invoice["invoice"].as_str()?.to_string();
    let paid = payer.json(&["pay", &invoice, "--wait", "0"])?;
    paid["id"].as_str().map(str::to_string)
}

#[test]
fn nodes_killed_at_random_keep_their_channel() {
    let rounds: u32 = std::env::var("KILL_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let seed: u64 = std::env::var("KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("kill test: {rounds} rounds, KILL_SEED={seed}");
    let mut rng = Rng(seed);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let devnet = Devnet::in_memory();
    let rpc = runtime.block_on(common::rpc_server(devnet.clone(), "t", "t"));
    let root = tempfile::tempdir().unwrap();
    let mut nodes = [
        Daemon::start("alice", root.path(), &rpc.url()),
        Daemon::start("bob", root.path(), &rpc.url()),
    ];

    // Alice funds a channel to Bob and pushes him some of it.
    let address = nodes[0].must(&["wallet", "address"]);
    let address: bitcoin::Address<bitcoin::address::NetworkUnchecked> =
        address["address"].as_str().unwrap().parse().unwrap();
    let script = address.assume_checked().script_pubkey();
    devnet.mine(1, &script).unwrap();
    devnet.mine(100, &anyone_can_spend_script()).unwrap();
    wait_until("alice's coins", || {
        let b = nodes[0].json(&["wallet", "balance"])?;
        (b["confirmed_sat"].as_u64()? > 0).then_some(())
    });
    let uri = format!("{}@{}", nodes[1].node_id, nodes[1].p2p);
    nodes[0].must(&["peer", "connect", &uri]);
    let bob_id = nodes[1].node_id.clone();
    nodes[0].must(&[
        "channel",
        "open",
        &bob_id,
        &CHANNEL_SAT.to_string(),
        "--push-msat",
        &PUSH_MSAT.to_string(),
    ]);
    wait_until("the funding transaction", || {
        (!devnet.lock().mempool.is_empty()).then_some(())
    });
    devnet.mine(6, &anyone_can_spend_script()).unwrap();
    let start = wait_until("the channel", || {
        let a = nodes[0].usable_channel()?;
        nodes[1].usable_channel()?;
        Some(a)
    });
    println!("channel usable: alice out {} in {}", start.0, start.1);

    let mut kills = [0u32; 2];
    let mut started = Vec::new();
    for round in 0..rounds {
        // Payments both ways, from a thread, until the kill.
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(Mutex::new(0u32));
        let traffic = {
            let (stop, sent) = (Arc::clone(&stop), Arc::clone(&sent));
            let views: Vec<(String, PathBuf, &'static str)> = nodes
                .iter()
                .map(|n| (n.api.clone(), n.data_dir.clone(), n.name))
                .collect();
            let amount = 1_000 + u64::from(round);
            std::thread::spawn(move || {
                let view = |i: usize| Daemon {
                    name: views[i].2,
                    data_dir: views[i].1.clone(),
                    log: PathBuf::new(),
                    rpc_url: String::new(),
                    child: None,
                    api: views[i].0.clone(),
                    node_id: String::new(),
                    p2p: String::new(),
                };
                let (a, b) = (view(0), view(1));
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let (payer, payee) = if i.is_multiple_of(2) {
                        (&a, &b)
                    } else {
                        (&b, &a)
                    };
                    if pay(payer, payee, amount * 1000).is_some() {
                        *sent.lock().unwrap() += 1;
                    }
                    i += 1;
                }
            })
        };
        std::thread::sleep(Duration::from_millis(100 + rng.below(900)));
        let victim = rng.below(2) as usize;
        if round % 3 == 2 {
            // Right after the victim accepted a payment (the moment most likely to leave its
            // monitor ahead of its manager in LDK's own order).
            let payer = &nodes[1 - victim];
            if let Some(invoice) = nodes[victim].json(&["invoice", "2000000"]) {
                let invoice = invoice["invoice"].as_str().unwrap_or_default().to_string();
                let _ = payer.json(&["pay", &invoice, "--wait", "30"]);
            }
        }
        nodes[victim].kill();
        kills[victim] += 1;
        stop.store(true, Ordering::Relaxed);
        traffic.join().unwrap();

        let restart = Instant::now();
        nodes[victim].spawn();
        // The restarted node reconnects to its channel peer itself.
        let logs = [nodes[0].log.as_path(), nodes[1].log.as_path()];
        wait_or_show("the channel usable again after the restart", &logs, || {
            nodes.iter().for_each(Daemon::assert_channel_open);
            nodes[0].usable_channel()?;
            nodes[1].usable_channel()
        });
        started.push(restart.elapsed());
        // Every outbound payment ends.
        wait_or_show("every payment to end", &logs, || {
            nodes
                .iter()
                .map(|n| n.outbound_payments())
                .collect::<Option<Vec<_>>>()?
                .iter()
                .all(|p| p.values().all(|(status, _)| status != "pending"))
                .then_some(())
        });
        // No HTLC in flight now: what each side can send is what the other can receive.
        let (a, b) = wait_or_show("both sides to agree on the balance", &logs, || {
            let a = nodes[0].usable_channel()?;
            let b = nodes[1].usable_channel()?;
            (a.0 == b.1 && a.1 == b.0).then_some((a, b))
        });
        println!(
            "round {round}: killed {} after {} payments; usable again {:?} after the restart; alice out {} in {}, bob out {} in {}",
            nodes[victim].name,
            sent.lock().unwrap(),
            started.last().unwrap(),
            a.0,
            a.1,
            b.0,
            b.1
        );
    }

    // What the channel moved equals the succeeded payments.
    let payments: Vec<_> = nodes
        .iter()
        .map(|n| n.outbound_payments().expect("payments"))
        .collect();
    let succeeded = |p: &BTreeMap<String, (String, u64)>| -> u64 {
        p.values()
            .filter(|(s, _)| s == "succeeded")
            .map(|(_, amount)| amount)
            .sum()
    };
    let (alice_paid, bob_paid) = (succeeded(&payments[0]), succeeded(&payments[1]));
    let end = nodes[0].usable_channel().expect("channel");
    assert_eq!(
        i128::from(start.0) - i128::from(end.0),
        i128::from(alice_paid) - i128::from(bob_paid),
        "alice's outbound moved by what alice paid minus what bob paid"
    );
    nodes.iter().for_each(Daemon::assert_channel_open);
    started.sort();
    println!(
        "kill test passed: {rounds} kills (alice {}, bob {}), 0 force closes; payments succeeded: alice {} msat in {} , bob {} msat in {}; restart to usable p50 {:?}, max {:?}",
        kills[0],
        kills[1],
        alice_paid,
        payments[0].values().filter(|(s, _)| s == "succeeded").count(),
        bob_paid,
        payments[1].values().filter(|(s, _)| s == "succeeded").count(),
        started[started.len() / 2],
        started.last().unwrap()
    );
    for n in &mut nodes {
        n.kill();
    }
    runtime.block_on(rpc.shutdown());
}
