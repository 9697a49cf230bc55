//! `lnedge demo`: devnet and two nodes in one process, a funded wallet, a channel, a BOLT 11
//! payment and a BOLT 12 payment, each step with a spinner, then a summary table.
//!
//! Everything is real: the nodes talk LDK's Noise protocol over loopback TCP and follow the
//! devnet chain through its Bitcoin Core RPC, exactly as they would follow `bitcoind`.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use lnedge_devnet::{anyone_can_spend_script, Devnet, RpcAuth, RpcServer, RpcServerConfig};
use lnedge_node::model::PaymentStatus;
use lnedge_node::{Node, NodeBuilder};

use crate::table::Table;

/// Options of `lnedge demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Channel size in satoshis.
    #[arg(long, default_value_t = 1_000_000)]
    channel_sat: u64,
    /// BOLT 11 payment in millisatoshis.
    #[arg(long, default_value_t = 50_000_000)]
    invoice_msat: u64,
    /// BOLT 12 payment in millisatoshis.
    #[arg(long, default_value_t = 20_000_000)]
    offer_msat: u64,
}

const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// One finished step for the summary.
struct Step {
    name: &'static str,
    took: Duration,
    detail: String,
}

struct Demo {
    steps: Vec<Step>,
}

impl Demo {
    /// Runs one step under a spinner; its output is the detail shown in the summary.
    async fn step<T, F>(&mut self, name: &'static str, work: F) -> anyhow::Result<T>
    where
        F: Future<Output = anyhow::Result<(T, String)>>,
    {
        let spinner = ProgressBar::new_spinner();
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed:.dim}").expect("valid template"),
        );
        spinner.set_message(name);
        spinner.enable_steady_tick(Duration::from_millis(80));
        let started = Instant::now();
        let result = work.await;
        let took = started.elapsed();
        match result {
            Ok((value, detail)) => {
                spinner.set_style(ProgressStyle::with_template("✔ {msg}").expect("valid template"));
                spinner
                    .finish_with_message(format!("{name} ({:.1} s) {detail}", took.as_secs_f64()));
                self.steps.push(Step { name, took, detail });
                Ok(value)
            }
            Err(e) => {
                spinner.set_style(ProgressStyle::with_template("✘ {msg}").expect("valid template"));
                spinner.finish_with_message(format!("{name}: {e:#}"));
                Err(e.context(format!("step `{name}` failed")))
            }
        }
    }
}

/// Polls `check` every 20 ms until it yields a value, or fails after [`STEP_TIMEOUT`].
async fn until<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn sat(msat: u64) -> String {
    format!("{} sat", msat / 1000)
}

/// Runs `lnedge demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(demo(args))
}

async fn start_node(dir: &std::path::Path, alias: &str, rpc: &RpcServer) -> anyhow::Result<Node> {
    NodeBuilder::new(dir)
        .alias(alias)
        .listen(loopback())
        .bitcoind_rpc(rpc.url(), rpc.user(), rpc.password())
        .chain_poll_interval(Duration::from_millis(20))
        .maintenance_interval(Duration::from_secs(1))
        // A demo network: skip LDK's random HTLC batching delay (the first batch waits 2 s).
        .immediate_htlc_processing(true)
        .start()
        .await
        .with_context(|| format!("starting {alias}"))
}

async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    if args.channel_sat < 20_000 || args.invoice_msat == 0 || args.offer_msat == 0 {
        bail!("channel must be at least 20000 sat and payments positive");
    }
    if args.invoice_msat + args.offer_msat > args.channel_sat * 1000 / 2 {
        bail!("payments must fit in half the channel");
    }
    let started = Instant::now();
    let dirs = (tempfile::tempdir()?, tempfile::tempdir()?);
    let mut demo = Demo { steps: Vec::new() };

    let (devnet, rpc) = demo
        .step("Start devnet (regtest chain, Bitcoin Core RPC)", async {
            let devnet = Devnet::in_memory();
            let rpc = RpcServer::start(
                devnet.clone(),
                RpcServerConfig {
                    bind: loopback(),
                    auth: RpcAuth::UserPass {
                        user: "demo".into(),
                        password: "demo".into(),
                    },
                },
            )
            .await?;
            let url = rpc.url();
            Ok(((devnet, rpc), url))
        })
        .await?;
    let mine = |n: u32| devnet.mine(n, &anyone_can_spend_script()).map(|_| ());

    let (alice, bob) = demo
        .step("Start nodes alice and bob", async {
            let alice = start_node(dirs.0.path(), "alice", &rpc).await?;
            let bob = start_node(dirs.1.path(), "bob", &rpc).await?;
            let detail = format!(
                "p2p {} and {}",
                alice.listen_address().unwrap(),
                bob.listen_address().unwrap()
            );
            Ok(((alice, bob), detail))
        })
        .await?;

    let result = run_steps(&mut demo, &devnet, &mine, &alice, &bob, &args).await;
    alice.stop().await;
    bob.stop().await;
    rpc.shutdown().await;
    let (channel_id, bolt11, bolt12) = result?;

    let mut steps = Table::new(&["step", "seconds", "result"]);
    for s in &demo.steps {
        steps.row(vec![
            s.name.to_string(),
            format!("{:.2}", s.took.as_secs_f64()),
            s.detail.clone(),
        ]);
    }
    println!("\n{}", steps.render());
    let mut summary = Table::new(&["", ""]);
    summary.row(vec!["alice".into(), alice.node_id().to_string()]);
    summary.row(vec!["bob".into(), bob.node_id().to_string()]);
    summary.row(vec!["channel".into(), channel_id]);
    summary.row(vec!["BOLT 11 payment".into(), bolt11]);
    summary.row(vec!["BOLT 12 payment".into(), bolt12]);
    summary.row(vec![
        "total".into(),
        format!("{:.1} s", started.elapsed().as_secs_f64()),
    ]);
    println!("{}", summary.render());
    println!("demo succeeded");
    Ok(())
}

async fn run_steps(
    demo: &mut Demo,
    devnet: &Devnet,
    mine: &impl Fn(u32) -> Result<(), lnedge_devnet::DevnetError>,
    alice: &Node,
    bob: &Node,
    args: &DemoArgs,
) -> anyhow::Result<(String, String, String)> {
    demo.step("Fund alice's wallet (one coinbase, matured)", async {
        let address = alice.wallet().new_address()?;
        devnet.mine(1, &address.script_pubkey())?;
        mine(100)?;
        let balance = until("alice's wallet to see the coins", || async {
            alice.sync_chain().await;
            let b = alice.wallet().balance().confirmed_sat;
            (b > 0).then_some(b)
        })
        .await?;
        Ok(((), format!("{balance} sat confirmed")))
    })
    .await?;

    demo.step("Connect alice to bob over loopback (Noise)", async {
        alice
            .peers()
            .connect(bob.node_id(), &bob.listen_address().unwrap().to_string())
            .await?;
        Ok(((), format!("{} peer(s)", alice.peers().list().len())))
    })
    .await?;

    let channel_id = demo
        .step("Open a channel alice → bob and confirm it", async {
            alice
                .channels()
                .open(bob.node_id(), args.channel_sat, 0, false)?;
            let outpoint = until("the funding transaction", || async {
                alice
                    .channels()
                    .list()
                    .into_iter()
                    .find_map(|c| c.funding_outpoint)
            })
            .await?;
            let txid = outpoint.txid;
            until("the funding transaction in the mempool", || async {
                devnet.lock().mempool.get(&txid).map(|_| ())
            })
            .await?;
            mine(6)?;
            let channel = until("the channel to become usable", || async {
                alice.sync_chain().await;
                bob.sync_chain().await;
                alice.channels().list().into_iter().find(|c| c.usable)
            })
            .await?;
            let detail = format!("{} sat, funding {outpoint}", channel.capacity_sat);
            Ok((channel.channel_id.to_string(), detail))
        })
        .await?;

    let bolt11 = demo
        .step("Pay a BOLT 11 invoice (bob's) from alice", async {
            let invoice =
                bob.bolt11_payment()
                    .receive(Some(args.invoice_msat), "lnedge demo", 600)?;
            let id = alice.bolt11_payment().send(&invoice, None)?;
            let paid = alice.payments().wait(&id, STEP_TIMEOUT).await?;
            if paid.status != PaymentStatus::Succeeded {
                bail!("payment {}: {}", id, paid.failure.unwrap_or_default());
            }
            until("bob to record it", || async {
                bob.payments()
                    .get(&lnedge_node::model::PaymentId(invoice.payment_hash().0))
                    .ok()
                    .filter(|p| p.status == PaymentStatus::Succeeded)
            })
            .await?;
            let detail = format!(
                "{} paid, hash {}",
                sat(args.invoice_msat),
                invoice.payment_hash()
            );
            Ok((detail.clone(), detail))
        })
        .await?;

    let bolt12 = demo
        .step("Pay a BOLT 12 offer (bob's) from alice", async {
            let offer = bob.bolt12_payment().receive(None, "lnedge demo tip jar")?;
            let id = alice.bolt12_payment().send(&offer, Some(args.offer_msat))?;
            let paid = alice.payments().wait(&id, STEP_TIMEOUT).await?;
            if paid.status != PaymentStatus::Succeeded {
                bail!("payment {}: {}", id, paid.failure.unwrap_or_default());
            }
            let offer = offer.to_string();
            let detail = format!(
                "{} paid, offer {}…",
                sat(args.offer_msat),
                &offer[..offer.len().min(24)]
            );
            Ok((detail.clone(), detail))
        })
        .await?;
    Ok((channel_id, bolt11, bolt12))
}
