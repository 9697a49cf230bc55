//! Two lnedge nodes on one devnet chain: fund alice's wallet, connect her to bob, open and
//! confirm a channel, pay bob's BOLT 11 invoice, print both sides' balances, stop.
//!
//! Both nodes are embedded with `NodeBuilder` and follow the chain through its Bitcoin Core
//! JSON-RPC, as they would follow `bitcoind`; they speak LDK's Noise protocol over loopback TCP.
//!
//! Run with `cargo run -p lnedge-examples --example two_nodes`.

use std::error::Error;
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use lnedge_devnet::{anyone_can_spend_script, Devnet, RpcAuth, RpcServer, RpcServerConfig};
use lnedge_node::model::PaymentStatus;
use lnedge_node::{Node, NodeBuilder};

type Res<T> = Result<T, Box<dyn Error>>;

#[tokio::main]
async fn main() -> Res<()> {
    // The chain: an in-memory regtest devnet served over RPC on a free loopback port.
    let (user, password) = ("example".to_string(), "example".to_string());
    let auth = RpcAuth::UserPass { user, password };
    let bind = "127.0.0.1:0".parse()?;
    let devnet = Devnet::in_memory();
    let chain = RpcServer::start(devnet.clone(), RpcServerConfig { bind, auth }).await?;

    // Two nodes, each with its own data directory (seed, LDK state, wallet, payments).
    let (alice_dir, bob_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let alice = start(alice_dir.path(), "alice", &chain).await?;
    let bob = start(bob_dir.path(), "bob", &chain).await?;

    // Stop both nodes (and the chain) whatever happened, then report.
    let result = run(&devnet, &alice, &bob).await;
    alice.stop().await;
    bob.stop().await;
    chain.shutdown().await;
    result?;
    println!("two_nodes: ok");
    Ok(())
}

async fn start(dir: &Path, alias: &str, chain: &RpcServer) -> Res<Node> {
    let node = NodeBuilder::new(dir)
        .alias(alias)
        .listen("127.0.0.1:0".parse()?)
        .bitcoind_rpc(chain.url(), chain.user(), chain.password())
        .chain_poll_interval(Duration::from_millis(50)) // a devnet: blocks come on demand
        .immediate_htlc_processing(true) // skip LDK's random HTLC batching delay
        .start() // build(), then node.start()
        .await?;
    let address = node.listen_address().ok_or("not listening")?;
    println!("{alias}: node {} on {address}", node.node_id());
    Ok(node)
}

async fn run(devnet: &Devnet, alice: &Node, bob: &Node) -> Res<()> {
    // Fund alice: a coinbase (50 BTC) to her wallet, matured by 100 more blocks.
    let address = alice.wallet().new_address()?;
    devnet.mine(1, &address.script_pubkey())?;
    devnet.mine(100, &anyone_can_spend_script())?;
    let funded = wait("alice's coins", || async {
        alice.sync_chain().await;
        Some(alice.wallet().balance().confirmed_sat).filter(|&sat| sat > 0)
    });
    println!("alice's wallet: {} sat", funded.await?);

    // Connect (Noise over TCP) and open a 1 000 000 sat channel; alice's wallet funds it and
    // her node broadcasts the funding transaction.
    let bob_address = bob.listen_address().ok_or("no address")?.to_string();
    alice.peers().connect(bob.node_id(), &bob_address).await?;
    alice.channels().open(bob.node_id(), 1_000_000, 0, false)?; // no push, unannounced
    let funding = wait("the funding transaction", || async {
        let channel = alice.channels().list().into_iter().next()?;
        let txid = channel.funding_outpoint?.txid;
        devnet.lock().mempool.get(&txid).map(|_| txid)
    });
    println!("funding transaction {} broadcast", funding.await?);

    // Six confirmations, then both sides see the channel usable (`channel_ready` exchanged).
    devnet.mine(6, &anyone_can_spend_script())?;
    let channel = wait("the channel to be usable on both sides", || async {
        alice.sync_chain().await;
        bob.sync_chain().await;
        let usable = |node: &Node| node.channels().list().into_iter().find(|c| c.usable);
        usable(bob).and(usable(alice))
    });
    println!("channel {} usable", channel.await?.channel_id);

    // Bob invoices 50 000 sat; alice pays it and waits for the outcome.
    let amount_msat = Some(50_000_000);
    let invoice = bob.bolt11_payment().receive(amount_msat, "coffee", 600)?;
    println!("bob's invoice: {invoice}");
    let id = alice.bolt11_payment().send(&invoice, None)?;
    let paid = alice.payments().wait(&id, Duration::from_secs(20)).await?;
    if paid.status != PaymentStatus::Succeeded {
        return Err(format!("payment failed: {:?}", paid.failure).into());
    }
    println!("alice paid it, fee {} msat", paid.fee_msat.unwrap_or(0));
    // Balances move once the HTLC has left both commitment transactions: wait until bob has
    // recorded the payment (keyed by the payment hash, as alice's) and both views agree.
    let (a, b) = wait("the payment to settle", || async {
        let received = bob.payments().get(&id).ok()?.status == PaymentStatus::Succeeded;
        let (a, b) = (alice.channels().list().pop()?, bob.channels().list().pop()?);
        let agreed = b.outbound_msat > 0 && a.inbound_msat == b.outbound_msat;
        (received && agreed).then_some((a, b))
    })
    .await?;
    // What each side can send and receive now: balances less the channel reserves (1 % of the
    // channel) and, for alice, who opened it, what her commitment transaction costs.
    for (name, c) in [("alice", a), ("bob", b)] {
        let (out, inb) = (c.outbound_msat / 1000, c.inbound_msat / 1000);
        println!("{name}: outbound {out} sat, inbound {inb} sat");
    }
    Ok(())
}

/// Polls `f` every 50 ms until it yields a value; fails after 20 s.
async fn wait<T, F: Future<Output = Option<T>>>(what: &str, mut f: impl FnMut() -> F) -> Res<T> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match f().await {
            Some(value) => return Ok(value),
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    Err(format!("timed out waiting for {what}").into())
}
