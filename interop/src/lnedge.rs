//! An `lnedge node run` process, driven through the `lnedge` CLI with `--json`.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use ldk_node::bitcoin::secp256k1::PublicKey;
use ldk_node::bitcoin::Address;
use serde_json::Value;

use crate::devnet::{Devnet, RPC_PASSWORD, RPC_USER};
use crate::wait::wait_until;

/// One lnedge node: its process (while running), data dir and addresses.
pub struct Lnedge {
    /// Alias and log name.
    pub name: String,
    bin: PathBuf,
    data_dir: PathBuf,
    /// Where the node's stderr (its log) goes.
    pub log: PathBuf,
    rpc_url: String,
    extra_args: Vec<String>,
    child: Option<Child>,
    /// The admin API's address.
    pub api: String,
    /// The node id.
    pub node_id: PublicKey,
    /// The P2P listening address (kept across restarts).
    pub p2p: String,
}

impl Lnedge {
    /// Starts `lnedge node run` in `root/name` against `devnet`, listening on loopback; `extra`
    /// are more `node run` flags.
    pub fn start(bin: &Path, root: &Path, name: &str, devnet: &Devnet, extra: &[&str]) -> Lnedge {
        let mut node = Lnedge {
            name: name.to_string(),
            bin: bin.to_path_buf(),
            data_dir: root.join(name),
            log: root.join(format!("{name}.log")),
            rpc_url: devnet.rpc_url.clone(),
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
            api: String::new(),
            node_id: PublicKey::from_slice(&[2; 33]).expect("placeholder key"),
            p2p: "127.0.0.1:0".to_string(),
        };
        node.spawn();
        node
    }

    fn spawn(&mut self) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("open log");
        let mut child = Command::new(&self.bin)
            .args(["--data-dir", self.data_dir.to_str().expect("utf-8 path")])
            .args(["node", "run", "--bitcoind-url", &self.rpc_url])
            .args([
                "--bitcoind-user",
                RPC_USER,
                "--bitcoind-password",
                RPC_PASSWORD,
            ])
            .args([
                "--listen",
                &self.p2p,
                "--api",
                "127.0.0.1:0",
                "--alias",
                &self.name,
            ])
            .args(&self.extra_args)
            // INTEROP_LOG: another RUST_LOG filter for the nodes' logs (e.g. `debug`).
            .env(
                "RUST_LOG",
                std::env::var("INTEROP_LOG").unwrap_or_else(|_| "info".to_string()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn lnedge node run");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let mut seen = Vec::new();
        for line in lines.by_ref() {
            let line = line.expect("node stdout");
            let done = line.contains("press Ctrl-C");
            seen.push(line);
            if done {
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        let value = |prefix: &str| {
            seen.iter()
                .find_map(|l| l.strip_prefix(prefix))
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_string)
                .unwrap_or_else(|| {
                    panic!(
                        "{}: no `{prefix}` in {seen:?}; log:\n{}",
                        self.name,
                        self.log_tail()
                    )
                })
        };
        let (api, node_id, p2p) = (value("api: "), value("node id: "), value("p2p: "));
        self.api = api;
        self.node_id = node_id.parse().expect("node id");
        self.p2p = p2p;
        self.child = Some(child);
    }

    /// Stops the node cleanly (SIGTERM) and waits for the process to end.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Starts the node again from its data dir, on the same P2P address.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Runs `lnedge <args>` against this node.
    pub fn cli(&self, args: &[&str]) -> Output {
        let token = self.data_dir.join("api_token");
        Command::new(&self.bin)
            .args([
                "--api",
                &self.api,
                "--token-file",
                token.to_str().expect("utf-8"),
            ])
            .arg("--json")
            .args(args)
            .output()
            .expect("run lnedge")
    }

    /// A client of the admin API (for loops where starting a CLI process per call would cost
    /// more than the call).
    pub fn api_client(&self) -> ApiClient {
        let token = std::fs::read_to_string(self.data_dir.join("api_token")).expect("api token");
        ApiClient {
            base: if self.api.starts_with("http") {
                self.api.clone()
            } else {
                format!("http://{}", self.api)
            },
            token: token.trim().to_string(),
            http: reqwest::blocking::Client::new(),
        }
    }

    /// `lnedge --json <args>`, which must succeed.
    pub fn json(&self, args: &[&str]) -> Value {
        self.try_json(args)
            .unwrap_or_else(|e| panic!("{}: lnedge {args:?}: {e}", self.name))
    }

    /// `lnedge --json <args>`: the reply, or what the CLI printed on failure.
    pub fn try_json(&self, args: &[&str]) -> Result<Value, String> {
        let out = self.cli(args);
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("not JSON: {e}"))
    }

    /// A receive address of the on-chain wallet.
    pub fn address(&self) -> Address {
        self.json(&["wallet", "address"])["address"]
            .as_str()
            .expect("address")
            .parse::<Address<_>>()
            .expect("an address")
            .assume_checked()
    }

    /// The confirmed on-chain balance in sat.
    pub fn confirmed_sat(&self) -> u64 {
        self.json(&["wallet", "balance"])["confirmed_sat"]
            .as_u64()
            .unwrap_or(0)
    }

    /// Funds the wallet with `coins` mature coinbases (one per channel it opens before a
    /// block confirms its change) and waits until the node sees them.
    pub fn fund(&self, devnet: &Devnet, coins: u32) {
        devnet.fund(&self.address(), coins);
        wait_until(&format!("{} sees its coins", self.name), || {
            (self.confirmed_sat() > 0).then_some(())
        });
    }

    /// Every channel (the API's JSON objects).
    pub fn channels(&self) -> Vec<Value> {
        self.json(&["channel", "list"])
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The channel with `channel_id` (hex), if the node still has it.
    pub fn channel(&self, channel_id: &str) -> Option<Value> {
        self.channels()
            .into_iter()
            .find(|c| c["channel_id"] == channel_id)
    }

    /// Opens a channel of `sat` (giving `push_msat` to the peer; `public`: announced) to a
    /// connected peer: its channel id (hex), once the funding transaction is broadcast.
    pub fn open(
        &self,
        devnet: &Devnet,
        peer: PublicKey,
        sat: u64,
        push_msat: u64,
        public: bool,
    ) -> String {
        let peer = peer.to_string();
        let known: Vec<String> = self
            .channels()
            .iter()
            .filter_map(|c| c["channel_id"].as_str().map(str::to_string))
            .collect();
        let (sat, push_msat) = (sat.to_string(), push_msat.to_string());
        let mut args = vec!["channel", "open", &peer, &sat, "--push-msat", &push_msat];
        if public {
            args.push("--public");
        }
        self.json(&args);
        let (id, outpoint) = wait_until(&format!("{}'s channel is funded", self.name), || {
            self.channels().into_iter().find_map(|c| {
                let id = c["channel_id"].as_str()?.to_string();
                let outpoint = c["funding_outpoint"].as_str()?.to_string();
                let new = c["outbound"] == true
                    && c["counterparty"] == peer.as_str()
                    && !known.contains(&id);
                new.then_some((id, outpoint))
            })
        });
        devnet.wait_for_tx(outpoint.split(':').next().expect("txid:vout"));
        id
    }

    /// A BOLT 11 invoice for `amount_msat`.
    pub fn invoice(&self, amount_msat: u64) -> String {
        self.json(&["invoice", &amount_msat.to_string()])["invoice"]
            .as_str()
            .expect("invoice")
            .to_string()
    }

    /// A BOLT 12 offer (`None`: the payer chooses the amount).
    pub fn offer(&self, amount_msat: Option<u64>) -> String {
        let amount = amount_msat.map(|a| a.to_string());
        let mut args = vec!["offer"];
        if let Some(a) = &amount {
            args.extend(["--amount-msat", a.as_str()]);
        }
        self.json(&args)["offer"]
            .as_str()
            .expect("offer")
            .to_string()
    }

    /// Pays an invoice or offer and waits for the outcome: the payment's JSON, which must say
    /// `succeeded`.
    pub fn pay(&self, destination: &str, amount_msat: Option<u64>) -> Value {
        let amount = amount_msat.map(|a| a.to_string());
        let mut args = vec!["pay", destination, "--wait", "90"];
        if let Some(a) = &amount {
            args.extend(["--amount-msat", a.as_str()]);
        }
        let paid = self.json(&args);
        assert_eq!(paid["status"], "succeeded", "{}: {paid}", self.name);
        paid
    }

    /// Starts paying an invoice or offer without waiting for the outcome: the payment id.
    pub fn start_payment(&self, destination: &str, amount_msat: u64) -> String {
        let amount = amount_msat.to_string();
        let args = ["pay", destination, "--amount-msat", &amount, "--wait", "0"];
        let paid = self.json(&args);
        paid["id"].as_str().expect("payment id").to_string()
    }

    /// Inbound payments that succeeded, newest first.
    pub fn received(&self) -> Vec<Value> {
        self.json(&["payments", "--limit", "1000"])
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p["direction"] == "inbound" && p["status"] == "succeeded")
            .collect()
    }

    /// Waits until an inbound payment with `payment_hash` (hex) succeeded; its JSON.
    pub fn wait_received(&self, payment_hash: &str) -> Value {
        wait_until(&format!("{} received {payment_hash}", self.name), || {
            self.received()
                .into_iter()
                .find(|p| p["payment_hash"] == payment_hash)
        })
    }

    /// The last lines of the node's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Whether the log has a line containing `needle`.
    pub fn log_contains(&self, needle: &str) -> bool {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .contains(needle)
    }
}

impl Drop for Lnedge {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The admin API over HTTP with the node's bearer token.
pub struct ApiClient {
    base: String,
    token: String,
    http: reqwest::blocking::Client,
}

impl ApiClient {
    /// `POST path` with a JSON body: the JSON reply, which must be a success.
    pub fn post(&self, path: &str, body: &Value) -> Value {
        let reply = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = reply.status();
        let text = reply.text().unwrap_or_default();
        assert!(status.is_success(), "POST {path}: {status}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("POST {path}: not JSON: {e}"))
    }
}
