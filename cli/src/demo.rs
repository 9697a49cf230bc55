//! `lnedge demo`: devnet and two nodes in one process, a funded wallet, a channel, a BOLT 11
//! payment and a BOLT 12 payment; then an async payments act: an async payments server with a
//! public channel (to bob), alice paying through it, and carol, an often-offline recipient
//! whose node is stopped while alice pays her offer and is paid when it comes back. Each step
//! with a spinner, then a summary table.
//!
//! Everything is real: the nodes talk LDK's Noise protocol over loopback TCP and follow the
//! devnet chain through its Bitcoin Core RPC, exactly as they would follow `bitcoind`; carol's
//! node really stops and starts again from its data directory.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use async_offers::RegistrationToken;
use bitcoin::secp256k1::PublicKey;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use lnedge_devnet::{anyone_can_spend_script, Devnet, RpcAuth, RpcServer, RpcServerConfig};
use lnedge_node::adapters::async_payments::{
    self, AsyncPaymentsConfig, AsyncRecipient, AsyncServer, ServerRole,
};
use lnedge_node::model::{ChannelInfo, PaymentDirection, PaymentStatus};
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
    /// Async payment (to carol while she is offline) in millisatoshis.
    #[arg(long, default_value_t = 21_000_000)]
    async_msat: u64,
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

fn node_builder(dir: &Path, alias: &str, rpc: &RpcServer) -> NodeBuilder {
    NodeBuilder::new(dir)
        .alias(alias)
        .listen(loopback())
        .bitcoind_rpc(rpc.url(), rpc.user(), rpc.password())
        .chain_poll_interval(Duration::from_millis(20))
        .maintenance_interval(Duration::from_secs(1))
        // A demo network: skip LDK's random HTLC batching delay (the first batch waits 2 s).
        .immediate_htlc_processing(true)
}

async fn start_node(dir: &Path, alias: &str, rpc: &RpcServer) -> anyhow::Result<Node> {
    node_builder(dir, alias, rpc)
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
    if args.async_msat == 0 || args.async_msat > args.channel_sat * 1000 / 2 {
        bail!("the async payment must be positive and fit in half a channel");
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

    let result = match run_steps(&mut demo, &devnet, &mine, &alice, &bob, &args).await {
        Ok(done) => async_act(&mut demo, &devnet, &mine, &rpc, &alice, &bob, &args)
            .await
            .map(|async_payment| (done, async_payment)),
        Err(e) => Err(e),
    };
    alice.stop().await;
    bob.stop().await;
    rpc.shutdown().await;
    let ((channel_id, bolt11, bolt12), async_payment) = result?;

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
    summary.row(vec!["async payment".into(), async_payment]);
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
    demo.step(
        "Fund alice's wallet (one coinbase, matured)",
        fund(devnet, mine, alice),
    )
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

/// Carol, the often-offline recipient: her node (while it runs) and what restarts it from the
/// same data directory.
struct Carol<'a> {
    dir: &'a Path,
    rpc: &'a RpcServer,
    node: Option<Node>,
}

impl Carol<'_> {
    /// Starts her node: the async payments feature, HTLCs held at the next hop.
    async fn start(&mut self) -> anyhow::Result<&Node> {
        let node = node_builder(self.dir, "carol", self.rpc)
            .with_feature(async_payments::feature(AsyncPaymentsConfig {
                server: None,
                often_offline: true,
            }))
            .start()
            .await
            .context("starting carol")?;
        Ok(self.node.insert(node))
    }

    fn node(&self) -> anyhow::Result<&Node> {
        self.node.as_ref().context("carol's node is stopped")
    }

    async fn stop(&mut self) {
        if let Some(node) = self.node.take() {
            node.stop().await;
        }
    }
}

/// Pays one coinbase to `node`'s wallet, matures it and waits until the wallet sees it.
async fn fund(
    devnet: &Devnet,
    mine: &impl Fn(u32) -> Result<(), lnedge_devnet::DevnetError>,
    node: &Node,
) -> anyhow::Result<((), String)> {
    let address = node.wallet().new_address()?;
    devnet.mine(1, &address.script_pubkey())?;
    mine(100)?;
    let balance = until("the wallet to see the coins", || async {
        node.sync_chain().await;
        let b = node.wallet().balance().confirmed_sat;
        (b > 0).then_some(b)
    })
    .await?;
    Ok(((), format!("{balance} sat confirmed")))
}

async fn connect(from: &Node, to: &Node) -> anyhow::Result<()> {
    let address = to.listen_address().context("the peer listens")?;
    from.peers()
        .connect(to.node_id(), &address.to_string())
        .await?;
    Ok(())
}

/// Opens a channel `from` → `to` (connected), mines it to 6 confirmations and waits until both
/// sides can use it.
async fn open_channel(
    devnet: &Devnet,
    mine: &impl Fn(u32) -> Result<(), lnedge_devnet::DevnetError>,
    from: &Node,
    to: &Node,
    sat: u64,
    public: bool,
) -> anyhow::Result<ChannelInfo> {
    let peer = to.node_id();
    from.channels().open(peer, sat, 0, public)?;
    let outpoint = until("the funding transaction", || async {
        from.channels()
            .list()
            .into_iter()
            .find(|c| c.counterparty == peer && !c.ready)?
            .funding_outpoint
    })
    .await?;
    let txid = outpoint.txid;
    until("the funding transaction in the mempool", || async {
        devnet.lock().mempool.get(&txid).map(|_| ())
    })
    .await?;
    mine(6)?;
    until("the channel to become usable on both sides", || async {
        from.sync_chain().await;
        to.sync_chain().await;
        let channel = from
            .channels()
            .list()
            .into_iter()
            .find(|c| c.funding_outpoint == Some(outpoint) && c.usable)?;
        to.channels()
            .list()
            .iter()
            .any(|c| c.channel_id == channel.channel_id && c.usable)
            .then_some(channel)
    })
    .await
}

fn server_of(node: &Node) -> anyhow::Result<std::sync::Arc<AsyncServer>> {
    node.extension::<AsyncServer>()
        .context("the server has the async payments server role")
}

fn recipient_of(node: &Node) -> anyhow::Result<std::sync::Arc<AsyncRecipient>> {
    node.extension::<AsyncRecipient>()
        .context("carol has the async payments feature")
}

/// Seconds with one decimal.
fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// The async payments act: a server, carol registering with it, carol offline while alice pays,
/// carol back and paid. Returns the summary line. Stops the nodes it started.
async fn async_act(
    demo: &mut Demo,
    devnet: &Devnet,
    mine: &impl Fn(u32) -> Result<(), lnedge_devnet::DevnetError>,
    rpc: &RpcServer,
    alice: &Node,
    bob: &Node,
    args: &DemoArgs,
) -> anyhow::Result<String> {
    let dirs = (tempfile::tempdir()?, tempfile::tempdir()?);
    let mut carol = Carol {
        dir: dirs.1.path(),
        rpc,
        node: None,
    };
    let server = demo
        .step(
            "Start an async payments server and carol (often offline)",
            async {
                // The server role needs a listening address: payers and recipients reach it.
                let server = node_builder(dirs.0.path(), "server", rpc)
                    .with_feature(async_payments::feature(AsyncPaymentsConfig {
                        server: Some(ServerRole::default()),
                        often_offline: false,
                    }))
                    .start()
                    .await
                    .context("starting the server")?;
                let carol_p2p = match carol.start().await {
                    Ok(node) => node.listen_address().unwrap(),
                    Err(e) => {
                        server.stop().await;
                        return Err(e);
                    }
                };
                let detail = format!(
                    "server p2p {}, carol p2p {carol_p2p}",
                    server.listen_address().unwrap()
                );
                Ok((server, detail))
            },
        )
        .await?;
    let result = async_steps(demo, devnet, mine, (alice, bob, &server), &mut carol, args).await;
    carol.stop().await;
    server.stop().await;
    result
}

async fn async_steps(
    demo: &mut Demo,
    devnet: &Devnet,
    mine: &impl Fn(u32) -> Result<(), lnedge_devnet::DevnetError>,
    (alice, bob, server): (&Node, &Node, &Node),
    carol: &mut Carol<'_>,
    args: &DemoArgs,
) -> anyhow::Result<String> {
    let carol_id: PublicKey = carol.node()?.node_id();

    demo.step(
        "Fund the server's wallet (one coinbase, matured)",
        fund(devnet, mine, server),
    )
    .await?;

    demo.step(
        "Open a public channel server → bob; the server is in the graph",
        async {
            connect(server, bob).await?;
            let channel = open_channel(devnet, mine, server, bob, args.channel_sat, true).await?;
            // The channel's announcement puts the server in its own graph: LDK then makes it
            // the introduction node of the paths it hands out.
            let channels = until("the server in its own graph", || async {
                let n = server.info().graph_channels;
                (n >= 1).then_some(n)
            })
            .await?;
            Ok((
                (),
                format!(
                    "{} sat, {channels} channel(s) in the server's graph",
                    channel.capacity_sat
                ),
            ))
        },
    )
    .await?;

    demo.step(
        "Open private channels alice → server and server → carol",
        async {
            let c = carol.node()?;
            connect(alice, server).await?;
            connect(c, server).await?;
            open_channel(devnet, mine, alice, server, args.channel_sat, false).await?;
            open_channel(devnet, mine, server, c, args.channel_sat, false).await?;
            Ok(((), format!("{} sat each", args.channel_sat)))
        },
    )
    .await?;

    let offer = demo
        .step(
            "carol registers with the server and gets an async offer",
            async {
                let c = carol.node()?;
                let registered = server_of(server)?.register("carol", None).await?;
                // The token travels as text, as an operator would hand it over.
                let token: RegistrationToken = registered.token.as_str().parse()?;
                recipient_of(c)?.apply(&token)?;
                let offer = recipient_of(c)?.wait_for_offer(STEP_TIMEOUT).await?;
                let text = offer.to_string();
                let detail = format!(
                    "token {}…, offer {}…",
                    &registered.token.as_str()[..16],
                    &text[..text.len().min(24)]
                );
                Ok((offer, detail))
            },
        )
        .await?;

    demo.step("Stop carol's node (she goes offline)", async {
        carol.stop().await;
        until("the server to see carol gone", || async {
            (!server.peers().is_connected(&carol_id)).then_some(())
        })
        .await?;
        Ok(((), "node stopped, disconnected from the server".to_string()))
    })
    .await?;

    let (payment_id, sent_at) = demo
        .step("alice pays carol's offer while carol is offline", async {
            let held_before = server_of(server)?.stats().messages_held;
            let sent_at = Instant::now();
            let id = alice.bolt12_payment().send(&offer, Some(args.async_msat))?;
            // The server answers with carol's static invoice and holds alice's message
            // for carol.
            until(
                "the server to serve the invoice and hold the message",
                || async {
                    let stats = server_of(server).ok()?.stats();
                    (stats.requests_served >= 1 && stats.messages_held > held_before).then_some(())
                },
            )
            .await?;
            let status = alice.payments().get(&id)?.status;
            if status != PaymentStatus::Pending {
                bail!("alice's payment is {status:?} while carol is offline");
            }
            let detail = format!(
                "{}: static invoice served by the server, payment held",
                sat(args.async_msat)
            );
            Ok(((id, sent_at), detail))
        })
        .await?;

    demo.step(
        "Restart carol; she reconnects and the payment completes",
        async {
            let c = carol.start().await?;
            let back = Instant::now();
            if let Err(e) = connect(c, server).await {
                // The node also reconnects to the peers it knew on its own; when that
                // connection wins the race, ours is closed during the handshake.
                until("carol connected to the server", || async {
                    c.peers().is_connected(&server.node_id()).then_some(())
                })
                .await
                .map_err(|_| e)?;
            }
            // Both ends, polled together so that each time is when it happened.
            let (mut claimed, mut succeeded) = (None, None);
            let deadline = Instant::now() + STEP_TIMEOUT;
            while claimed.is_none() || succeeded.is_none() {
                if Instant::now() > deadline {
                    bail!("timed out waiting for carol to claim and alice to see it succeed");
                }
                let received = c.payments().list()?.iter().any(|p| {
                    p.direction == PaymentDirection::Inbound
                        && p.status == PaymentStatus::Succeeded
                        && p.amount_msat == Some(args.async_msat)
                });
                if received && claimed.is_none() {
                    claimed = Some(back.elapsed());
                }
                match alice.payments().get(&payment_id)?.status {
                    PaymentStatus::Pending => {}
                    PaymentStatus::Succeeded => {
                        succeeded.get_or_insert_with(|| sent_at.elapsed());
                    }
                    PaymentStatus::Failed => break,
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let paid = alice.payments().get(&payment_id)?;
            if paid.status != PaymentStatus::Succeeded {
                bail!(
                    "payment {payment_id}: {}",
                    paid.failure.unwrap_or_default()
                );
            }
            let (claimed, held) = (claimed.unwrap_or_default(), succeeded.unwrap_or_default());
            let detail = format!(
                "claimed {} after carol reconnected; held {} from alice's send to success",
                secs(claimed),
                secs(held)
            );
            Ok((
                format!(
                    "{} to carol while offline: held {} (send → success), claimed {} after she reconnected",
                    sat(args.async_msat),
                    secs(held),
                    secs(claimed)
                ),
                detail,
            ))
        },
    )
    .await
}
