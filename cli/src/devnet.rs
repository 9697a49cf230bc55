//! `lnedge devnet`: runs the embedded regtest chain with its Bitcoin Core-compatible RPC server
//! in the foreground until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Context};
use bitcoin::address::NetworkUnchecked;
use bitcoin::{Address, Network};
use clap::Args;
use lnedge_devnet::{
    anyone_can_spend_script, Devnet, DevnetConfig, IntervalMiner, RpcAuth, RpcServer,
    RpcServerConfig,
};

/// Options of `lnedge devnet`.
#[derive(Args, Debug)]
pub struct DevnetArgs {
    /// Address the JSON-RPC server listens on.
    #[arg(long, default_value = "127.0.0.1:18443")]
    rpc_bind: SocketAddr,
    /// Directory for the chain log and the RPC cookie; the chain is kept across restarts.
    /// Without it the chain lives in memory and the cookie goes to a temporary directory.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Mine a block every SECS seconds (with the mempool's transactions).
    #[arg(long, value_name = "SECS")]
    mine_every: Option<u64>,
    /// Regtest address the interval miner pays (default: P2WSH of OP_TRUE, spendable by anyone).
    #[arg(long, value_name = "ADDRESS", requires = "mine_every")]
    mine_to: Option<String>,
    /// RPC user name instead of cookie authentication (needs --rpc-password).
    #[arg(long, requires = "rpc_password")]
    rpc_user: Option<String>,
    /// RPC password (needs --rpc-user).
    #[arg(long, requires = "rpc_user")]
    rpc_password: Option<String>,
}

/// Runs the devnet until Ctrl-C or SIGTERM.
pub fn run(args: DevnetArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: DevnetArgs) -> anyhow::Result<()> {
    let mine_script = match &args.mine_to {
        Some(a) => Address::<NetworkUnchecked>::from_str(a)
            .context("--mine-to")?
            .require_network(Network::Regtest)
            .context("--mine-to must be a regtest address")?
            .script_pubkey(),
        None => anyone_can_spend_script(),
    };
    if args.mine_every == Some(0) {
        bail!("--mine-every must be at least 1 second");
    }
    // Before anything is written: a SIGTERM from now on stops the devnet cleanly.
    let signals = crate::signals::StopSignals::install()?;
    let devnet = Devnet::new(DevnetConfig {
        data_dir: args.data_dir.clone(),
        ..DevnetConfig::default()
    })
    .context("opening the chain")?;

    // Without a data dir the cookie lives in a temporary directory removed at exit.
    let mut _cookie_tmp = None;
    let auth = match (args.rpc_user, args.rpc_password) {
        (Some(user), Some(password)) => RpcAuth::UserPass { user, password },
        _ => {
            let dir = match &args.data_dir {
                Some(dir) => dir.clone(),
                None => {
                    let tmp = tempfile::tempdir().context("creating a cookie directory")?;
                    let path = tmp.path().to_path_buf();
                    _cookie_tmp = Some(tmp);
                    path
                }
            };
            RpcAuth::Cookie { dir }
        }
    };
    let server = RpcServer::start(
        devnet.clone(),
        RpcServerConfig {
            bind: args.rpc_bind,
            auth,
        },
    )
    .await?;

    println!(
        "devnet: regtest chain at height {} ({})",
        devnet.height(),
        match &args.data_dir {
            Some(d) => format!("data dir {}", d.display()),
            None => "in memory".to_string(),
        }
    );
    println!("rpc url: {}", server.url());
    match server.cookie_path() {
        Some(path) => println!(
            "rpc auth: cookie file {} (user {})",
            path.display(),
            server.user()
        ),
        None => println!("rpc auth: user {} (password as given)", server.user()),
    }
    let miner = args.mine_every.map(|secs| {
        let address = Address::from_script(&mine_script, Network::Regtest)
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "a non-address script".to_string());
        println!("mining a block every {secs} s to {address}");
        IntervalMiner::spawn(
            devnet.clone(),
            Duration::from_secs(secs),
            mine_script.clone(),
        )
    });
    println!("press Ctrl-C to stop");

    // SIGINT (Ctrl-C) and SIGTERM stop the same way: no further block, calls in flight
    // drained, the cookie file removed; the data dir's lock goes with the chain.
    let waited = signals.wait().await;
    if let Some(miner) = miner {
        miner.stop();
    }
    server.shutdown().await;
    waited?;
    println!("devnet stopped at height {}", devnet.height());
    Ok(())
}
