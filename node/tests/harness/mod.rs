//! Test harness: one devnet chain served over loopback RPC, and lnedge nodes following it.

#![allow(dead_code)]

pub mod async_net;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::{Address, ScriptBuf};
use lightning::ln::types::ChannelId;
use lightning_invoice::{
    Bolt11Invoice, Currency, InvoiceBuilder, PaymentHash, PaymentSecret, RouteHint, RouteHintHop,
    RoutingFees,
};
use lnedge_devnet::{anyone_can_spend_script, Devnet, RpcAuth, RpcServer, RpcServerConfig};
use lnedge_node::{Node, NodeBuilder};

pub struct TestChain {
    pub devnet: Devnet,
    pub rpc: RpcServer,
}

impl TestChain {
    pub async fn start() -> Self {
        let devnet = Devnet::in_memory();
        let rpc = RpcServer::start(
            devnet.clone(),
            RpcServerConfig {
                bind: SocketAddr::from(([127, 0, 0, 1], 0)),
                auth: RpcAuth::UserPass {
                    user: "test".into(),
                    password: "test".into(),
                },
            },
        )
        .await
        .expect("devnet rpc");
        // Past the coinbase maturity of the first blocks we pay to wallets.
        devnet.mine(1, &anyone_can_spend_script()).expect("mine");
        Self { devnet, rpc }
    }

    pub fn builder(&self, dir: &Path, alias: &str) -> NodeBuilder {
        NodeBuilder::new(dir)
            .alias(alias)
            .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
            .bitcoind_rpc(self.rpc.url(), "test", "test")
            .chain_poll_interval(Duration::from_millis(50))
            .maintenance_interval(Duration::from_secs(1))
    }

    pub async fn node(&self, dir: &Path, alias: &str) -> Node {
        self.builder(dir, alias).start().await.expect("node starts")
    }

    /// The node of `dir` started again, listening where its peers last reached it.
    pub async fn restart(&self, dir: &Path, alias: &str, listen: SocketAddr) -> Node {
        self.builder(dir, alias)
            .listen(listen)
            .start()
            .await
            .expect("node restarts")
    }

    pub fn mine(&self, n: u32) {
        self.devnet
            .mine(n, &anyone_can_spend_script())
            .expect("mine");
    }

    pub fn mine_to(&self, n: u32, script: &ScriptBuf) {
        self.devnet.mine(n, script).expect("mine");
    }

    /// Pays `count` coinbases (50 BTC each on regtest) to `address` and matures them.
    pub fn fund(&self, address: &Address, count: u32) {
        self.mine_to(count, &address.script_pubkey());
        self.mine(100);
    }

    pub async fn shutdown(self) {
        self.rpc.shutdown().await;
    }
}

/// Polls `check` every 50 ms until it returns `Some`, mining a block every `mine_every` polls
/// when `chain` is given; panics with `what` after `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn peer_address(node: &Node) -> String {
    node.listen_address().expect("listening").to_string()
}

/// Connects `a` to `b` over loopback.
pub async fn connect(a: &Node, b: &Node) {
    a.peers()
        .connect(b.node_id(), &peer_address(b))
        .await
        .expect("connect");
}

/// Funds `a` with one coinbase, connects it to `b` and opens a private channel a→b of `sat`.
pub async fn fund_and_open(chain: &TestChain, a: &Node, b: &Node, sat: u64) -> ChannelId {
    chain.fund(&a.wallet().new_address().unwrap(), 1);
    a.sync_chain().await;
    connect(a, b).await;
    open_channel(chain, a, b, sat, false).await
}

/// Opens a channel a→b, mines it to 6 confirmations and waits until both see it usable.
pub async fn open_channel(
    chain: &TestChain,
    a: &Node,
    b: &Node,
    sat: u64,
    public: bool,
) -> ChannelId {
    let before = a.channels().list().len();
    a.channels()
        .open(b.node_id(), sat, 0, public)
        .expect("open channel");
    let outpoint = wait_for("funding broadcast", Duration::from_secs(20), || async {
        let ch = a.channels().list();
        if ch.len() <= before {
            return None;
        }
        ch.into_iter()
            .find(|c| c.counterparty == b.node_id() && !c.ready)?
            .funding_outpoint
    })
    .await;
    let txid = outpoint.txid;
    // The funding transaction reaches devnet's mempool through the broadcaster task.
    wait_for("funding in mempool", Duration::from_secs(20), || async {
        chain.devnet.lock().mempool.get(&txid).map(|_| ())
    })
    .await;
    chain.mine(6);
    a.sync_chain().await;
    b.sync_chain().await;
    let id = wait_for(
        "channel usable on both sides",
        Duration::from_secs(30),
        || async {
            let id = a
                .channels()
                .list()
                .into_iter()
                .find(|c| c.counterparty == b.node_id() && c.usable)
                .map(|c| c.channel_id)?;
            b.channels()
                .list()
                .iter()
                .any(|c| c.channel_id == id && c.usable)
                .then_some(id)
        },
    )
    .await;
    id
}

/// Logs to the test output when `RUST_LOG` is set (e.g. `RUST_LOG=ldk=debug`).
pub fn init_logs() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// An invoice from a node that does not exist, reachable (says its route hint) from `via` over
/// the SCID `scid` that `via` does not know.
pub fn invoice_over_unknown_scid(via: PublicKey, scid: u64, amount_msat: u64) -> Bolt11Invoice {
    let secp = Secp256k1::new();
    let key = SecretKey::from_slice(&[0x42; 32]).unwrap();
    let hint = RouteHint(vec![RouteHintHop {
        src_node_id: via,
        short_channel_id: scid,
        fees: RoutingFees {
            base_msat: 0,
            proportional_millionths: 0,
        },
        cltv_expiry_delta: 144,
        htlc_minimum_msat: None,
        htlc_maximum_msat: None,
    }]);
    InvoiceBuilder::new(Currency::Regtest)
        .description("unknown scid".into())
        .payment_hash(PaymentHash(sha256::Hash::hash(b"preimage").to_byte_array()))
        .payment_secret(PaymentSecret([7; 32]))
        .duration_since_epoch(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap(),
        )
        .min_final_cltv_expiry_delta(144)
        .amount_milli_satoshis(amount_msat)
        .private_route(hint)
        .build_signed(|hash| secp.sign_ecdsa_recoverable(hash, &key))
        .unwrap()
}
