//! `lnedge devnet` as a process, and a JSON-RPC client for it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use ldk_node::bitcoin::{Address, Network, ScriptBuf};
use serde_json::{json, Value};

/// RPC user and password of the devnet (ldk-node's bitcoind chain source needs both).
pub const RPC_USER: &str = "interop";
/// See [`RPC_USER`].
pub const RPC_PASSWORD: &str = "interop";

/// A running `lnedge devnet`, stopped on drop.
pub struct Devnet {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub rpc_url: String,
    /// The RPC port.
    pub port: u16,
    http: reqwest::blocking::Client,
}

impl Devnet {
    /// Starts `lnedge devnet` on a loopback port the OS assigns, its chain in memory.
    pub fn start(bin: &Path) -> Devnet {
        let mut child = Command::new(bin)
            .args(["devnet", "--rpc-bind", "127.0.0.1:0"])
            .args(["--rpc-user", RPC_USER, "--rpc-password", RPC_PASSWORD])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn lnedge devnet");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let mut rpc_url = None;
        for line in lines.by_ref() {
            let line = line.expect("devnet stdout");
            if let Some(url) = line.strip_prefix("rpc url: ") {
                rpc_url = Some(url.trim().to_string());
            }
            if line.contains("press Ctrl-C") {
                break;
            }
        }
        // Keep draining what it prints so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let rpc_url = rpc_url.expect("devnet printed its rpc url");
        let port = rpc_url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port");
        Devnet {
            child,
            rpc_url,
            port,
            http: reqwest::blocking::Client::new(),
        }
    }

    /// Calls an RPC method; the JSON-RPC error's message on failure.
    pub fn rpc(&self, method: &str, params: Value) -> Result<Value, String> {
        let reply: Value = self
            .http
            .post(&self.rpc_url)
            .basic_auth(RPC_USER, Some(RPC_PASSWORD))
            .json(&json!({"jsonrpc": "1.0", "id": 1, "method": method, "params": params}))
            .send()
            .and_then(|r| r.json())
            .map_err(|e| format!("{method}: {e}"))?;
        match reply.get("error") {
            Some(e) if !e.is_null() => Err(format!("{method}: {e}")),
            _ => Ok(reply["result"].clone()),
        }
    }

    /// Mines `n` blocks to an address nobody here spends.
    pub fn mine(&self, n: u32) {
        self.mine_to(n, &burn_address());
    }

    /// Mines `n` blocks paying `address`.
    pub fn mine_to(&self, n: u32, address: &Address) {
        self.rpc("generatetoaddress", json!([n, address.to_string()]))
            .expect("generatetoaddress");
    }

    /// Waits until devnet knows transaction `txid` (in its mempool or a block): a channel's
    /// funding is broadcast only after the peers exchanged signatures.
    pub fn wait_for_tx(&self, txid: &str) {
        crate::wait::wait_until(&format!("transaction {txid} broadcast"), || {
            self.rpc("getrawtransaction", json!([txid])).ok()
        });
    }

    /// Replaces `estimatesmartfee`'s curve: `(target blocks, sat/vB)` points.
    pub fn set_fee_curve(&self, points: &[(u16, f64)]) {
        self.rpc("setfeecurve", json!([points]))
            .expect("setfeecurve");
    }

    /// Gives `address` `coins` mature coinbases (50 BTC each on a young regtest chain).
    pub fn fund(&self, address: &Address, coins: u32) {
        self.mine_to(coins, address);
        self.mine(100);
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// P2WSH of `OP_TRUE` on regtest: blocks mined here pay nobody in the test.
pub fn burn_address() -> Address {
    Address::p2wsh(&ScriptBuf::from(vec![0x51]), Network::Regtest)
}
