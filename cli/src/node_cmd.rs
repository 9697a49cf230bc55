//! `lnedge node run`: the daemon. Settings come from an optional TOML file (`--config`) whose
//! keys mirror the flags; flags override the file. It builds the node with the async payments
//! feature (the server role with `--async-server`), serves the admin API (token in
//! `<data dir>/api_token`), prints where everything listens and runs until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{bail, Context};
use async_offers::{PostgresOptions, PostgresStaticInvoiceStore};
use bitcoin::secp256k1::PublicKey;
use bitcoin::Network;
use clap::{Args, Subcommand};
use lnedge_node::adapters::async_payments::{self, AsyncPaymentsConfig, InvoiceStore, ServerRole};
use lnedge_node::{
    ChainSource, InboundChannelPolicy, NodeBuilder, NodeConfig, PersistenceOrder, RpcCredentials,
};
use serde::Deserialize;

use crate::api_client::{default_data_dir, DEFAULT_API_ADDR};

/// Default P2P listen address.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:9735";

/// `lnedge node …`.
#[derive(Subcommand, Debug)]
pub enum NodeCommand {
    /// Run the node in the foreground until Ctrl-C or SIGTERM.
    Run(RunArgs),
}

/// Options of `lnedge node run`; each one can also be set in the config file.
#[derive(Args, Debug, Default)]
pub struct RunArgs {
    /// TOML config file; its keys are the long flag names with `_` for `-`.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Network: bitcoin, testnet, testnet4, signet or regtest [default: regtest].
    #[arg(long)]
    network: Option<String>,
    /// P2P listen address [default: 0.0.0.0:9735].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Bitcoin Core JSON-RPC URL, e.g. http://127.0.0.1:18443.
    #[arg(long, value_name = "URL", conflicts_with = "devnet")]
    bitcoind_url: Option<String>,
    /// RPC user (with --bitcoind-password).
    #[arg(
        long,
        value_name = "USER",
        requires = "bitcoind_password",
        conflicts_with = "bitcoind_cookie"
    )]
    bitcoind_user: Option<String>,
    /// RPC password (with --bitcoind-user).
    #[arg(long, value_name = "PASSWORD", requires = "bitcoind_user")]
    bitcoind_password: Option<String>,
    /// Bitcoin Core's cookie file instead of user and password.
    #[arg(long, value_name = "FILE")]
    bitcoind_cookie: Option<PathBuf>,
    /// Run an embedded devnet (regtest chain) inside the node instead of using bitcoind.
    #[arg(long)]
    devnet: bool,
    /// Node alias (announced with public channels).
    #[arg(long)]
    alias: Option<String>,
    /// Inbound channels: `all` (default), `none`, or a comma-separated list of node ids to
    /// accept channels from.
    #[arg(long, value_name = "POLICY")]
    inbound_channels: Option<String>,
    /// Smallest inbound channel accepted under `--inbound-channels all` [default: 20000].
    #[arg(long, value_name = "SAT")]
    min_inbound_channel_sat: Option<u64>,
    /// Process HTLCs as soon as they are committed, without LDK's random batching delay
    /// (which hides forwarding timing): lower payment latency for a node that mostly receives.
    #[arg(long)]
    immediate_htlc_processing: bool,
    /// For the kill test's comparison only: write channel monitors before the channel manager,
    /// LDK's own order, which can force-close a channel after a crash (docs/operations.md,
    /// "Crash safety"). Never in production.
    #[arg(long, hide = true)]
    unsafe_monitors_first: bool,
    /// Confirmed wallet coins kept back per anchor channel to fee-bump a force close; opening a
    /// channel that would leave less is refused (0: no check) [default: 25000].
    #[arg(long, value_name = "SAT")]
    anchor_reserve_sat: Option<u64>,
    /// Rebuild a missing or empty wallet database (wallet.sqlite) from the seed, rescanning the
    /// chain from this height (at or below the wallet's first transaction; 0: the whole
    /// chain). Start-up refuses a lost wallet on a node with history; this is the way out.
    /// Refused when the wallet exists: drop it once the wallet is back.
    #[arg(long, value_name = "HEIGHT")]
    restore_wallet_from_height: Option<u32>,
    /// Serve BOLT 12 static invoices for often-offline recipients (async payments server),
    /// recipients and invoices in SQLite in the data dir. Needs a listening address that
    /// recipients and payers reach, and a public channel.
    #[arg(long)]
    async_server: bool,
    /// Keep the async server's recipients and invoices in this PostgreSQL database (several
    /// server nodes may share it); implies --async-server.
    #[arg(long, value_name = "URL")]
    async_store_postgres: Option<String>,
    /// PostgreSQL schema for --async-store-postgres, created if missing [default: the
    /// connection's search_path].
    #[arg(long, value_name = "NAME")]
    async_store_schema: Option<String>,
    /// This node is often offline: an HTLC paying an async recipient is handed to the next hop
    /// to hold, so this node may go offline before the recipient comes back.
    #[arg(long)]
    often_offline: bool,
}

/// The config file: the same settings as the flags, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    data_dir: Option<PathBuf>,
    network: Option<String>,
    listen: Option<SocketAddr>,
    api: Option<String>,
    bitcoind_url: Option<String>,
    bitcoind_user: Option<String>,
    bitcoind_password: Option<String>,
    bitcoind_cookie: Option<PathBuf>,
    devnet: Option<bool>,
    alias: Option<String>,
    inbound_channels: Option<String>,
    min_inbound_channel_sat: Option<u64>,
    immediate_htlc_processing: Option<bool>,
    anchor_reserve_sat: Option<u64>,
    restore_wallet_from_height: Option<u32>,
    async_server: Option<bool>,
    async_store_postgres: Option<String>,
    async_store_schema: Option<String>,
    often_offline: Option<bool>,
}

impl ConfigFile {
    fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "config file {}: {}",
                path.display(),
                e.to_string().trim().replace('\n', " ")
            )
        })
    }
}

/// What the node will run with, flags and file merged.
#[derive(Debug)]
pub struct Settings {
    /// The node's configuration.
    pub node: NodeConfig,
    /// The async payments roles (the feature is always installed).
    pub async_payments: AsyncSettings,
}

/// The async payments roles `node run` gives the node.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AsyncSettings {
    /// The server role and where it keeps recipients and invoices (`None`: not a server).
    pub server: Option<AsyncStore>,
    /// `--often-offline`.
    pub often_offline: bool,
}

/// Where an async payments server keeps recipients and invoices.
#[derive(PartialEq, Eq)]
pub enum AsyncStore {
    /// SQLite in the data directory.
    DataDir,
    /// A PostgreSQL database, possibly shared with other server nodes.
    Postgres {
        /// The connection URL (may hold a password: never printed).
        url: String,
        /// The schema, if not the connection's `search_path`.
        schema: Option<String>,
    },
}

impl std::fmt::Debug for AsyncStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AsyncStore::DataDir => f.write_str("DataDir"),
            AsyncStore::Postgres { schema, .. } => f
                .debug_struct("Postgres")
                .field("schema", schema)
                .finish_non_exhaustive(),
        }
    }
}

/// Merges the async payments flags over the file's keys.
fn async_settings(
    server: bool,
    postgres: Option<String>,
    schema: Option<String>,
    often_offline: bool,
) -> anyhow::Result<AsyncSettings> {
    let server = match (postgres, schema) {
        (Some(url), schema) => Some(AsyncStore::Postgres { url, schema }),
        (None, Some(_)) => bail!("async_store_schema needs async_store_postgres"),
        (None, None) => server.then_some(AsyncStore::DataDir),
    };
    Ok(AsyncSettings {
        server,
        often_offline,
    })
}

fn parse_network(s: &str) -> anyhow::Result<Network> {
    match s.trim() {
        "mainnet" => Ok(Network::Bitcoin),
        other => Network::from_str(other).map_err(|_| {
            anyhow::anyhow!(
                "unknown network `{s}` (expected bitcoin, testnet, testnet4, signet or regtest)"
            )
        }),
    }
}

fn chain_source(
    url: Option<String>,
    user: Option<String>,
    password: Option<String>,
    cookie: Option<PathBuf>,
    devnet: bool,
) -> anyhow::Result<Option<ChainSource>> {
    match (url, devnet) {
        (Some(_), true) => bail!("choose either bitcoind_url or devnet, not both"),
        (None, true) => Ok(Some(ChainSource::EmbeddedDevnet)),
        (Some(url), false) => {
            let auth = match (user, password, cookie) {
                (Some(user), Some(password), None) => RpcCredentials::UserPass { user, password },
                (None, None, Some(cookie)) => RpcCredentials::CookieFile(cookie),
                (None, None, None) => bail!(
                    "bitcoind_url needs credentials: bitcoind_user and bitcoind_password, or bitcoind_cookie"
                ),
                _ => bail!(
                    "give either bitcoind_user and bitcoind_password, or bitcoind_cookie"
                ),
            };
            Ok(Some(ChainSource::BitcoindRpc { url, auth }))
        }
        (None, false) => {
            if user.is_some() || password.is_some() || cookie.is_some() {
                bail!("bitcoind credentials given without bitcoind_url");
            }
            Ok(None)
        }
    }
}

/// Parses an inbound channel policy: `all`, `none`, or node ids separated by commas.
fn parse_inbound_policy(
    policy: Option<&str>,
    min_channel_sat: Option<u64>,
) -> anyhow::Result<InboundChannelPolicy> {
    let policy = policy.map(str::trim).unwrap_or("all");
    if policy != "all" && min_channel_sat.is_some() {
        bail!("min_inbound_channel_sat applies only to inbound_channels = \"all\"");
    }
    match policy {
        "all" => Ok(InboundChannelPolicy::AcceptAll {
            min_channel_sat: min_channel_sat.unwrap_or(InboundChannelPolicy::DEFAULT_MIN_CHANNEL_SAT),
        }),
        "none" => Ok(InboundChannelPolicy::RejectAll),
        ids => ids
            .split(',')
            .map(|id| {
                PublicKey::from_str(id.trim()).map_err(|_| {
                    anyhow::anyhow!(
                        "inbound_channels: `{}` is neither `all`, `none` nor a node id (66 hex characters)",
                        id.trim()
                    )
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .map(InboundChannelPolicy::AcceptFrom),
    }
}

/// Parses an API listen address: `host:port`, an `http://` prefix allowed.
fn parse_api_addr(s: &str) -> anyhow::Result<SocketAddr> {
    let addr = s.trim().trim_start_matches("http://").trim_end_matches('/');
    addr.parse()
        .with_context(|| format!("invalid API address `{s}` (expected IP:PORT)"))
}

/// Merges the flags (`--data-dir` and `--api` are the global ones) over the config file over
/// the defaults.
pub fn settings(
    args: RunArgs,
    data_dir_flag: Option<PathBuf>,
    api_flag: Option<String>,
) -> anyhow::Result<Settings> {
    let file = match &args.config {
        Some(path) => ConfigFile::read(path)?,
        None => ConfigFile::default(),
    };
    let data_dir = data_dir_flag
        .or(file.data_dir)
        .unwrap_or_else(default_data_dir);
    let network = match args.network.or(file.network) {
        Some(n) => parse_network(&n)?,
        None => Network::Regtest,
    };
    let from_flags = chain_source(
        args.bitcoind_url,
        args.bitcoind_user,
        args.bitcoind_password,
        args.bitcoind_cookie,
        args.devnet,
    )?;
    let chain = match from_flags {
        Some(chain) => chain,
        None => chain_source(
            file.bitcoind_url,
            file.bitcoind_user,
            file.bitcoind_password,
            file.bitcoind_cookie,
            file.devnet.unwrap_or(false),
        )?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no chain source: give --bitcoind-url with credentials, or --devnet for an embedded regtest chain"
            )
        })?,
    };
    let listen = match args.listen.or(file.listen) {
        Some(addr) => addr,
        None => DEFAULT_LISTEN.parse().context("default listen address")?,
    };
    let api = parse_api_addr(
        &api_flag
            .or(file.api)
            .unwrap_or_else(|| DEFAULT_API_ADDR.into()),
    )?;
    let mut node = NodeConfig::new(data_dir);
    node.network = network;
    node.chain = chain;
    node.listen = Some(listen);
    node.admin_api = Some(api);
    if let Some(alias) = args.alias.or(file.alias) {
        if alias.len() > 32 {
            bail!("alias is longer than 32 bytes");
        }
        node.alias = alias;
    }
    node.inbound_channels = parse_inbound_policy(
        args.inbound_channels
            .as_deref()
            .or(file.inbound_channels.as_deref()),
        args.min_inbound_channel_sat
            .or(file.min_inbound_channel_sat),
    )?;
    node.immediate_htlc_processing =
        args.immediate_htlc_processing || file.immediate_htlc_processing.unwrap_or(false);
    if args.unsafe_monitors_first {
        node.persistence_order = PersistenceOrder::MonitorsFirst;
    }
    if let Some(sat) = args.anchor_reserve_sat.or(file.anchor_reserve_sat) {
        node.anchor_reserve_sat = sat;
    }
    node.restore_wallet_from_height = args
        .restore_wallet_from_height
        .or(file.restore_wallet_from_height);
    let async_payments = async_settings(
        args.async_server || file.async_server.unwrap_or(false),
        args.async_store_postgres.or(file.async_store_postgres),
        args.async_store_schema.or(file.async_store_schema),
        args.often_offline || file.often_offline.unwrap_or(false),
    )?;
    Ok(Settings {
        node,
        async_payments,
    })
}

/// The async payments feature for `settings` (connecting to PostgreSQL when the store is
/// there), and a line saying what the node does.
async fn async_feature(
    settings: AsyncSettings,
) -> anyhow::Result<(async_payments::AsyncPayments, String)> {
    let (server, mut what) = match settings.server {
        None => (None, "recipient".to_string()),
        Some(AsyncStore::DataDir) => (
            Some(ServerRole::default()),
            "server (recipients and invoices in SQLite in the data dir) and recipient".to_string(),
        ),
        Some(AsyncStore::Postgres { url, schema }) => {
            let shown = schema
                .as_deref()
                .map_or_else(String::new, |s| format!(", schema {s}"));
            let options = PostgresOptions {
                schema,
                ..Default::default()
            };
            // The URL may hold a password: the error names the store, not the URL.
            let store = PostgresStaticInvoiceStore::connect(&url, options)
                .await
                .context("cannot open the async payments store in PostgreSQL")?;
            let role = ServerRole {
                store: InvoiceStore::Shared(Arc::new(store)),
                ..Default::default()
            };
            (
                Some(role),
                format!("server (recipients and invoices in PostgreSQL{shown}) and recipient"),
            )
        }
    };
    if settings.often_offline {
        what.push_str(", often offline");
    }
    let feature = async_payments::feature(AsyncPaymentsConfig {
        server,
        often_offline: settings.often_offline,
    });
    Ok((feature, what))
}

/// Runs `lnedge node …`.
pub fn run(
    command: NodeCommand,
    data_dir: Option<PathBuf>,
    api: Option<String>,
) -> anyhow::Result<()> {
    match command {
        NodeCommand::Run(args) => {
            let settings = settings(args, data_dir, api)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(serve(settings))
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let data_dir = settings.node.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data dir {}", data_dir.display()))?;
    let (feature, async_role) = async_feature(settings.async_payments).await?;
    // Before the node starts: a SIGTERM from now on stops it cleanly instead of killing it.
    let signals = crate::signals::StopSignals::install()?;
    let node = NodeBuilder::from_config(settings.node)
        .with_feature(feature)
        .start()
        .await
        .context("starting the node")?;
    let token_file = node.admin_token_path();
    let api_url = node.admin_api_url().unwrap_or_default();
    let info = node.info();
    crate::output::line(&format!("node id: {}", info.node_id))?;
    crate::output::line(&format!(
        "network: {} (height {})",
        info.network, info.block_height
    ))?;
    crate::output::line(&format!(
        "p2p: {}",
        info.listen_address
            .map_or_else(|| "not listening".to_string(), |a| a.to_string())
    ))?;
    crate::output::line(&format!("api: {api_url}"))?;
    crate::output::line(&format!("api token file: {}", token_file.display()))?;
    crate::output::line(&format!("data dir: {}", data_dir.display()))?;
    crate::output::line(&format!("async payments: {async_role}"))?;
    crate::output::line("press Ctrl-C to stop")?;

    // SIGINT (Ctrl-C) and SIGTERM stop the node the same way: API, tasks, peers, then the
    // final persistence; the data dir's lock goes last.
    let waited = signals.wait().await;
    node.stop().await;
    waited?;
    crate::output::line("node stopped")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_config(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lnedge.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn flags_override_the_file() {
        let (_dir, path) = write_config(
            r#"
data_dir = "/tmp/from-file"
network = "signet"
listen = "127.0.0.1:1111"
api = "127.0.0.1:2222"
bitcoind_url = "http://127.0.0.1:38332"
bitcoind_user = "u"
bitcoind_password = "p"
alias = "file"
"#,
        );
        let args = RunArgs {
            config: Some(path.clone()),
            listen: Some("127.0.0.1:3333".parse().unwrap()),
            alias: Some("flag".into()),
            ..Default::default()
        };
        let s = settings(args, None, None).unwrap();
        assert_eq!(s.node.data_dir, PathBuf::from("/tmp/from-file"));
        assert_eq!(s.node.network, Network::Signet);
        assert_eq!(s.node.listen, Some("127.0.0.1:3333".parse().unwrap()));
        assert_eq!(s.node.admin_api, Some("127.0.0.1:2222".parse().unwrap()));
        assert_eq!(s.node.alias, "flag");
        assert!(matches!(s.node.chain, ChainSource::BitcoindRpc { .. }));

        let args = RunArgs {
            config: Some(path),
            devnet: true,
            network: Some("regtest".into()),
            ..Default::default()
        };
        let s = settings(
            args,
            Some("/tmp/flag".into()),
            Some("http://127.0.0.1:0".into()),
        )
        .unwrap();
        assert_eq!(s.node.admin_api.map(|a| a.port()), Some(0));
        assert_eq!(s.node.chain, ChainSource::EmbeddedDevnet);
        assert_eq!(s.node.data_dir, PathBuf::from("/tmp/flag"));
    }

    #[test]
    fn inbound_policy_and_htlc_processing() {
        let id = "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619";
        let (_dir, path) = write_config(&format!(
            "devnet = true\ninbound_channels = \"{id}, {id}\"\nimmediate_htlc_processing = true\nanchor_reserve_sat = 0\nrestore_wallet_from_height = 120\n"
        ));
        let args = RunArgs {
            config: Some(path.clone()),
            ..Default::default()
        };
        let s = settings(args, None, None).unwrap();
        let key = PublicKey::from_str(id).unwrap();
        assert_eq!(
            s.node.inbound_channels,
            InboundChannelPolicy::AcceptFrom(vec![key, key])
        );
        assert!(s.node.immediate_htlc_processing);
        assert_eq!(s.node.anchor_reserve_sat, 0);
        assert_eq!(s.node.restore_wallet_from_height, Some(120));

        let args = RunArgs {
            config: Some(path.clone()),
            inbound_channels: Some("all".into()),
            min_inbound_channel_sat: Some(100_000),
            restore_wallet_from_height: Some(7),
            ..Default::default()
        };
        let s = settings(args, None, None).unwrap();
        assert_eq!(s.node.restore_wallet_from_height, Some(7), "the flag wins");
        assert_eq!(
            s.node.inbound_channels,
            InboundChannelPolicy::AcceptAll {
                min_channel_sat: 100_000
            }
        );
        let args = RunArgs {
            devnet: true,
            inbound_channels: Some("none".into()),
            ..Default::default()
        };
        let s = settings(args, None, None).unwrap();
        assert_eq!(s.node.inbound_channels, InboundChannelPolicy::RejectAll);
        assert!(!s.node.immediate_htlc_processing);
        assert_eq!(s.node.restore_wallet_from_height, None);

        for (policy, min, expected) in [
            (
                "some",
                None,
                "`some` is neither `all`, `none` nor a node id",
            ),
            (
                "none",
                Some(1),
                "applies only to inbound_channels = \"all\"",
            ),
        ] {
            let args = RunArgs {
                devnet: true,
                inbound_channels: Some(policy.into()),
                min_inbound_channel_sat: min,
                ..Default::default()
            };
            let e = settings(args, None, None).unwrap_err().to_string();
            assert!(e.contains(expected), "{e}");
        }
    }

    #[test]
    fn async_payment_roles() {
        let s = settings(
            RunArgs {
                devnet: true,
                ..Default::default()
            },
            None,
            None,
        )
        .unwrap();
        assert_eq!(s.async_payments, AsyncSettings::default());

        let (_dir, path) =
            write_config("devnet = true\nasync_server = true\noften_offline = true\n");
        let args = RunArgs {
            config: Some(path),
            ..Default::default()
        };
        let s = settings(args, None, None).unwrap();
        assert_eq!(s.async_payments.server, Some(AsyncStore::DataDir));
        assert!(s.async_payments.often_offline);

        // A PostgreSQL store implies the server role; the schema may come from the file.
        let (_dir, path) = write_config("devnet = true\nasync_store_schema = \"edge\"\n");
        let args = RunArgs {
            config: Some(path.clone()),
            async_store_postgres: Some("postgres://u:secret@127.0.0.1/db".into()),
            ..Default::default()
        };
        let s = settings(args, None, None).unwrap();
        assert_eq!(
            s.async_payments.server,
            Some(AsyncStore::Postgres {
                url: "postgres://u:secret@127.0.0.1/db".into(),
                schema: Some("edge".into())
            })
        );
        assert!(!format!("{s:?}").contains("secret"), "{s:?}");
        let args = RunArgs {
            config: Some(path),
            async_server: true,
            ..Default::default()
        };
        let e = settings(args, None, None).unwrap_err().to_string();
        assert!(
            e.contains("async_store_schema needs async_store_postgres"),
            "{e}"
        );
    }

    #[test]
    fn bad_files_and_missing_chains_are_errors() {
        let (_dir, path) = write_config("datadir = \"x\"\n");
        let args = RunArgs {
            config: Some(path),
            ..Default::default()
        };
        let e = settings(args, None, None).unwrap_err().to_string();
        assert!(e.contains("unknown field `datadir`"), "{e}");

        let e = settings(RunArgs::default(), None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no chain source"), "{e}");

        let (_dir, path) = write_config("bitcoind_url = \"http://x\"\n");
        let args = RunArgs {
            config: Some(path),
            ..Default::default()
        };
        let e = settings(args, None, None).unwrap_err().to_string();
        assert!(e.contains("needs credentials"), "{e}");

        let args = RunArgs {
            network: Some("moon".into()),
            devnet: true,
            ..Default::default()
        };
        let e = settings(args, None, None).unwrap_err().to_string();
        assert!(e.contains("unknown network `moon`"), "{e}");
    }
}
