//! The commands that drive a running node over its admin API (`lnedge info`, `peer`,
//! `channel`, `invoice`, `pay`, `offer`, `payments`, `wallet`): tables by default, the API's
//! JSON with `--json`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;
use serde_json::{json, Value};

use crate::api_client::{default_data_dir, token_path, ApiClient, DEFAULT_API_ADDR};
use crate::output::line;
use crate::table::{key_values, Table};

/// Where the API is and how to print: the global options.
pub struct ClientOptions {
    /// `--api`.
    pub api: Option<String>,
    /// `--token-file`.
    pub token_file: Option<PathBuf>,
    /// `--data-dir` (for the default token file).
    pub data_dir: Option<PathBuf>,
    /// `--json`.
    pub json: bool,
}

/// A command that talks to the node.
#[derive(Subcommand, Debug)]
pub enum ApiCommand {
    /// The node at a glance: id, network, height, peers, channels.
    Info,
    /// Peers: connect, list, disconnect.
    #[command(subcommand)]
    Peer(PeerCommand),
    /// Channels: open, close, list.
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// Create a BOLT 11 invoice.
    Invoice {
        /// Amount in millisatoshis, or `any` for an amount-less invoice.
        amount_msat: String,
        /// Description.
        #[arg(long, short, default_value = "")]
        description: String,
        /// Seconds until it expires.
        #[arg(long, value_name = "SECS")]
        expiry: Option<u32>,
    },
    /// Pay a BOLT 11 invoice (`lnbc…`) or a BOLT 12 offer (`lno1…`).
    Pay {
        /// The invoice or offer.
        destination: String,
        /// Amount in millisatoshis (for invoices and offers without an amount).
        #[arg(long, value_name = "MSAT")]
        amount_msat: Option<u64>,
        /// Wait up to SECS seconds for the outcome (0: return once the payment is under way).
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        wait: u64,
    },
    /// Create a BOLT 12 offer.
    Offer {
        /// Amount in millisatoshis (none: the payer chooses).
        #[arg(long, value_name = "MSAT")]
        amount_msat: Option<u64>,
        /// Description.
        #[arg(long, short, default_value = "")]
        description: String,
    },
    /// Payments, newest first, or one payment by id.
    Payments {
        /// A payment id (hex).
        id: Option<String>,
    },
    /// The on-chain wallet: address, balance, send.
    #[command(subcommand)]
    Wallet(WalletCommand),
}

/// `lnedge peer …`.
#[derive(Subcommand, Debug)]
pub enum PeerCommand {
    /// Connect to a peer.
    Connect {
        /// `<node id>@<host>:<port>`.
        uri: String,
    },
    /// Connected peers.
    List,
    /// Disconnect a peer (and stop reconnecting to it).
    Disconnect {
        /// Its node id.
        node_id: String,
    },
}

/// `lnedge channel …`.
#[derive(Subcommand, Debug)]
pub enum ChannelCommand {
    /// Open a channel to a connected peer, funded from the wallet.
    Open {
        /// The peer's node id.
        node_id: String,
        /// Channel size in satoshis.
        amount_sat: u64,
        /// Give the peer this much of the channel at opening, in millisatoshis.
        #[arg(long, value_name = "MSAT", default_value_t = 0)]
        push_msat: u64,
        /// Announce the channel to the network.
        #[arg(long)]
        public: bool,
    },
    /// Close a channel: cooperatively, or with --force by broadcasting our commitment.
    Close {
        /// Channel id (hex).
        channel_id: String,
        /// Force-close.
        #[arg(long)]
        force: bool,
    },
    /// Every channel.
    List,
}

/// `lnedge wallet …`.
#[derive(Subcommand, Debug)]
pub enum WalletCommand {
    /// A new receive address.
    Address,
    /// Balances.
    Balance,
    /// Send on chain.
    Send {
        /// Destination address.
        address: String,
        /// Amount in satoshis.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        amount_sat: Option<u64>,
        /// Send the whole balance.
        #[arg(long)]
        all: bool,
        /// Fee rate in sat/vB (default: the node's estimate).
        #[arg(long, value_name = "SAT_PER_VB")]
        fee_rate: Option<u64>,
    },
}

/// Runs a command against the node's API.
pub fn run(command: ApiCommand, options: ClientOptions) -> anyhow::Result<()> {
    let token_file = options
        .token_file
        .clone()
        .unwrap_or_else(|| token_path(&options.data_dir.clone().unwrap_or_else(default_data_dir)));
    let api = options.api.as_deref().unwrap_or(DEFAULT_API_ADDR);
    let client = ApiClient::new(api, &token_file)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (reply, text) = runtime.block_on(execute(&client, command))?;
    if options.json {
        line(&serde_json::to_string_pretty(&reply)?)
    } else {
        line(&text)
    }
}

fn str_of(v: &Value, key: &str) -> String {
    match &v[key] {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Sends the command; returns the API's reply and its text rendering.
async fn execute(client: &ApiClient, command: ApiCommand) -> anyhow::Result<(Value, String)> {
    Ok(match command {
        ApiCommand::Info => {
            let v = client.get("/v1/info").await?;
            let text = key_values(&[
                ("node id", str_of(&v, "node_id")),
                ("alias", str_of(&v, "alias")),
                ("network", str_of(&v, "network")),
                ("listening on", str_of(&v, "listen_address")),
                ("block height", str_of(&v, "block_height")),
                ("block hash", str_of(&v, "block_hash")),
                ("peers", str_of(&v, "peers")),
                (
                    "channels",
                    format!(
                        "{} ({} usable)",
                        str_of(&v, "channels"),
                        str_of(&v, "usable_channels")
                    ),
                ),
                (
                    "graph",
                    format!(
                        "{} nodes, {} channels",
                        str_of(&v, "graph_nodes"),
                        str_of(&v, "graph_channels")
                    ),
                ),
            ]);
            (v, text)
        }
        ApiCommand::Peer(PeerCommand::Connect { uri }) => {
            let v = client
                .post("/v1/peers/connect", json!({ "uri": uri }))
                .await?;
            let text = format!(
                "connected to {} at {}",
                str_of(&v, "node_id"),
                str_of(&v, "address")
            );
            (v, text)
        }
        ApiCommand::Peer(PeerCommand::List) => {
            let v = client.get("/v1/peers").await?;
            let mut t = Table::new(&["NODE ID", "ADDRESS", "DIRECTION"]);
            for p in v.as_array().into_iter().flatten() {
                let direction = if p["inbound"].as_bool() == Some(true) {
                    "inbound"
                } else {
                    "outbound"
                };
                t.row(vec![
                    str_of(p, "node_id"),
                    str_of(p, "address"),
                    direction.into(),
                ]);
            }
            (v, t.render())
        }
        ApiCommand::Peer(PeerCommand::Disconnect { node_id }) => {
            let v = client
                .post("/v1/peers/disconnect", json!({ "node_id": node_id }))
                .await?;
            let text = format!("disconnected {}", str_of(&v, "node_id"));
            (v, text)
        }
        ApiCommand::Channel(ChannelCommand::Open {
            node_id,
            amount_sat,
            push_msat,
            public,
        }) => {
            let body = json!({
                "node_id": node_id,
                "amount_sat": amount_sat,
                "push_msat": push_msat,
                "public": public,
            });
            let v = client.post("/v1/channels/open", body).await?;
            let text = format!(
                "opening channel {} to {} ({amount_sat} sat); it is usable after the funding transaction confirms",
                str_of(&v, "channel_id"),
                str_of(&v, "counterparty"),
            );
            (v, text)
        }
        ApiCommand::Channel(ChannelCommand::Close { channel_id, force }) => {
            let v = client
                .post(
                    "/v1/channels/close",
                    json!({ "channel_id": channel_id, "force": force }),
                )
                .await?;
            let how = if force { "force-closing" } else { "closing" };
            let text = format!("{how} channel {}", str_of(&v, "channel_id"));
            (v, text)
        }
        ApiCommand::Channel(ChannelCommand::List) => {
            let v = client.get("/v1/channels").await?;
            let mut t = Table::new(&[
                "CHANNEL ID",
                "PEER",
                "CAPACITY SAT",
                "OUT MSAT",
                "IN MSAT",
                "CONFS",
                "STATE",
                "SCID",
            ]);
            for c in v.as_array().into_iter().flatten() {
                let state = if c["usable"].as_bool() == Some(true) {
                    "usable"
                } else if c["ready"].as_bool() == Some(true) {
                    "ready (peer offline)"
                } else {
                    "pending"
                };
                t.row(vec![
                    str_of(c, "channel_id"),
                    str_of(c, "counterparty"),
                    str_of(c, "capacity_sat"),
                    str_of(c, "outbound_msat"),
                    str_of(c, "inbound_msat"),
                    str_of(c, "confirmations"),
                    state.into(),
                    str_of(c, "short_channel_id"),
                ]);
            }
            (v, t.render())
        }
        ApiCommand::Invoice {
            amount_msat,
            description,
            expiry,
        } => {
            let amount = match amount_msat.trim() {
                "any" => None,
                n => Some(n.parse::<u64>().with_context(|| {
                    format!("amount `{n}` is neither a number of millisatoshis nor `any`")
                })?),
            };
            let mut body = json!({ "amount_msat": amount, "description": description });
            if let Some(expiry) = expiry {
                body["expiry_secs"] = json!(expiry);
            }
            let v = client.post("/v1/invoices", body).await?;
            let text = key_values(&[
                ("invoice", str_of(&v, "invoice")),
                ("payment hash", str_of(&v, "payment_hash")),
                ("expires in", format!("{} s", str_of(&v, "expiry_secs"))),
            ]);
            (v, text)
        }
        ApiCommand::Pay {
            destination,
            amount_msat,
            wait,
        } => {
            let destination = destination.trim().to_string();
            let is_offer = destination.to_ascii_lowercase().starts_with("lno1");
            let (path, field) = if is_offer {
                ("/v1/offers/pay", "offer")
            } else {
                ("/v1/invoices/pay", "invoice")
            };
            let body = json!({ field: destination, "amount_msat": amount_msat, "wait_secs": wait });
            let v = client.post(path, body).await?;
            if v["status"] == "failed" {
                bail!(
                    "payment {} failed: {}",
                    str_of(&v, "id"),
                    str_of(&v, "failure")
                );
            }
            let text = payment_text(&v);
            (v, text)
        }
        ApiCommand::Offer {
            amount_msat,
            description,
        } => {
            let v = client
                .post(
                    "/v1/offers",
                    json!({ "amount_msat": amount_msat, "description": description }),
                )
                .await?;
            let text = key_values(&[
                ("offer", str_of(&v, "offer")),
                ("offer id", str_of(&v, "offer_id")),
            ]);
            (v, text)
        }
        ApiCommand::Payments { id: Some(id) } => {
            let v = client.get(&format!("/v1/payments/{}", id.trim())).await?;
            let text = payment_text(&v);
            (v, text)
        }
        ApiCommand::Payments { id: None } => {
            let v = client.get("/v1/payments").await?;
            let mut t = Table::new(&[
                "ID",
                "DIRECTION",
                "KIND",
                "STATUS",
                "AMOUNT MSAT",
                "FEE MSAT",
                "CREATED (UTC)",
            ]);
            for p in v.as_array().into_iter().flatten() {
                t.row(vec![
                    str_of(p, "id"),
                    str_of(p, "direction"),
                    str_of(p, "kind"),
                    str_of(p, "status"),
                    str_of(p, "amount_msat"),
                    str_of(p, "fee_msat"),
                    p["created_at"]
                        .as_u64()
                        .map(utc_time)
                        .unwrap_or_else(|| "-".into()),
                ]);
            }
            (v, t.render())
        }
        ApiCommand::Wallet(WalletCommand::Address) => {
            let v = client.post("/v1/wallet/address", json!({})).await?;
            let text = str_of(&v, "address");
            (v, text)
        }
        ApiCommand::Wallet(WalletCommand::Balance) => {
            let v = client.get("/v1/wallet/balance").await?;
            let text = key_values(&[
                ("confirmed", format!("{} sat", str_of(&v, "confirmed_sat"))),
                (
                    "pending (own)",
                    format!("{} sat", str_of(&v, "trusted_pending_sat")),
                ),
                (
                    "pending (incoming)",
                    format!("{} sat", str_of(&v, "untrusted_pending_sat")),
                ),
                ("immature", format!("{} sat", str_of(&v, "immature_sat"))),
                ("total", format!("{} sat", str_of(&v, "total_sat"))),
            ]);
            (v, text)
        }
        ApiCommand::Wallet(WalletCommand::Send {
            address,
            amount_sat,
            all,
            fee_rate,
        }) => {
            let mut body = json!({ "address": address });
            match (amount_sat, all) {
                (Some(sat), false) => body["amount_sat"] = json!(sat),
                (None, true) => body["send_all"] = json!(true),
                _ => bail!("give an amount in satoshis or --all"),
            }
            if let Some(rate) = fee_rate {
                body["fee_rate_sat_per_vb"] = json!(rate);
            }
            let v = client.post("/v1/wallet/send", body).await?;
            let text = format!("sent: txid {}", str_of(&v, "txid"));
            (v, text)
        }
    })
}

fn payment_text(v: &Value) -> String {
    key_values(&[
        ("payment id", str_of(v, "id")),
        ("payment hash", str_of(v, "payment_hash")),
        (
            "type",
            format!("{} {}", str_of(v, "direction"), str_of(v, "kind")),
        ),
        ("status", str_of(v, "status")),
        ("amount", format!("{} msat", str_of(v, "amount_msat"))),
        ("fee", format!("{} msat", str_of(v, "fee_msat"))),
        ("preimage", str_of(v, "preimage")),
        ("failure", str_of(v, "failure")),
    ])
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC).
fn utc_time(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::utc_time;

    #[test]
    fn utc_times() {
        assert_eq!(utc_time(0), "1970-01-01 00:00:00");
        assert_eq!(utc_time(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc_time(1_795_311_717), "2026-11-22 01:41:57");
    }
}
