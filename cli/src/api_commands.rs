//! The commands that drive a running node over its admin API (`lnedge info`, `peer`,
//! `channel`, `invoice`, `pay`, `keysend`, `offer`, `payments`, `wallet`, `async`): tables by
//! default, the API's JSON with `--json`. Requests and replies are the API's types
//! ([`lnedge_node::api::types`]).

use std::fmt::Display;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;
use lnedge_node::api::types::{
    AppliedAsyncToken, ApplyAsyncTokenRequest, AsyncInvoice, AsyncInvoices, AsyncOfferRequest,
    AsyncOffers, AsyncRecipient, AsyncRecipients, AsyncServerStats, AsyncToken, Channel,
    CloseChannelRequest, ClosingChannel, ConnectPeerRequest, ConnectedPeer, CreateInvoiceRequest,
    CreateOfferRequest, DisconnectPeerRequest, DisconnectedPeer, EmptyRequest, Invoice,
    KeysendRequest, NewAddress, NodeInfo, Offer, OpenChannelRequest, OpenedChannel,
    PayInvoiceRequest, PayOfferRequest, Payment, Peer, RegisterAsyncRecipientRequest,
    RegisteredAsyncRecipient, RevokedAsyncRecipient, SentTransaction, WalletBalance,
    WalletSendRequest, NEXT_CURSOR_HEADER,
};
use serde::Serialize;

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
    /// Send a keysend (spontaneous) payment to a node: no invoice needed.
    Keysend {
        /// The recipient's node id.
        node_id: String,
        /// Amount in millisatoshis.
        amount_msat: u64,
        /// Wait up to SECS seconds for the outcome (0: return once the payment is under way).
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        wait: u64,
    },
    /// Create a BOLT 12 offer; with --async, one payable while this node is offline.
    Offer {
        /// Amount in millisatoshis (none: the payer chooses).
        #[arg(long, value_name = "MSAT", conflicts_with = "async_offer")]
        amount_msat: Option<u64>,
        /// Description.
        #[arg(long, short, default_value = "", conflicts_with = "async_offer")]
        description: String,
        /// An async offer (amount-less), answered by the async payments server while this node
        /// is offline: needs a token applied (`lnedge async apply`).
        #[arg(long = "async")]
        async_offer: bool,
        /// With --async: wait up to SECS seconds for the server to confirm an invoice.
        #[arg(long, value_name = "SECS", requires = "async_offer")]
        wait: Option<u64>,
    },
    /// Payments, newest first, a page at a time, or one payment by id.
    Payments {
        /// A payment id (hex).
        id: Option<String>,
        /// At most N payments (1 to 1000) [default: the API's, 100].
        #[arg(long, value_name = "N", conflicts_with = "id")]
        limit: Option<usize>,
        /// Start after this payment id: the cursor the previous page printed.
        #[arg(long, value_name = "ID", conflicts_with = "id")]
        after: Option<String>,
    },
    /// The on-chain wallet: address, balance, send.
    #[command(subcommand)]
    Wallet(WalletCommand),
    /// BOLT 12 async payments: the server's recipients and invoices, the recipient's token and
    /// offers.
    #[command(subcommand)]
    Async(AsyncCommand),
}

/// `lnedge async …`.
#[derive(Subcommand, Debug)]
pub enum AsyncCommand {
    /// Server: register a recipient and print its registration token (alone, to pipe it).
    Register {
        /// A name for the recipient, for operators.
        label: String,
        /// Invoice slots it may fill [default: the store's, 10].
        #[arg(long, value_name = "N")]
        slots: Option<u16>,
    },
    /// Server: print a new registration token for a recipient.
    Token {
        /// The recipient id (hex).
        id: String,
    },
    /// Server: revoke a recipient (its invoices are deleted, its offers no longer served).
    Revoke {
        /// The recipient id (hex).
        id: String,
    },
    /// Server: registered recipients.
    Recipients,
    /// Server: stored static invoices, of every recipient or of one.
    Invoices {
        /// A recipient id (hex).
        id: Option<String>,
    },
    /// Server: counters since start, and messages held for offline peers.
    Server,
    /// Recipient: apply a server's registration token (`lnasync1…`), or the hex of LDK's
    /// serialized paths from a server on LDK or ldk-node.
    Apply {
        /// The token, or the paths in hex.
        token: String,
    },
    /// Recipient: the async offers this node has handed out.
    Offers,
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
    let output = runtime.block_on(execute(&client, command, options.json))?;
    line(&output)
}

/// What a command prints for `reply`: the API's JSON with `--json`, else `text(reply)`.
fn show<T: Serialize>(
    reply: &T,
    json: bool,
    text: impl FnOnce(&T) -> String,
) -> anyhow::Result<String> {
    if !json {
        return Ok(text(reply));
    }
    // Through `Value`, as the node encodes its replies: the same keys in the same order as the
    // JSON the API sent.
    Ok(serde_json::to_string_pretty(&serde_json::to_value(reply)?)?)
}

/// An optional field as a table cell: `-` when absent.
fn or_dash<T: Display>(value: &Option<T>) -> String {
    value
        .as_ref()
        .map_or_else(|| "-".to_string(), ToString::to_string)
}

/// Sends the command; returns what to print (`json`: the API's reply as JSON).
async fn execute(client: &ApiClient, command: ApiCommand, json: bool) -> anyhow::Result<String> {
    match command {
        ApiCommand::Info => {
            let info: NodeInfo = client.get("/v1/info").await?;
            show(&info, json, info_text)
        }
        ApiCommand::Peer(PeerCommand::Connect { uri }) => {
            let request = ConnectPeerRequest {
                uri: Some(uri),
                ..Default::default()
            };
            let peer: ConnectedPeer = client.post("/v1/peers/connect", &request).await?;
            show(&peer, json, |p| {
                format!("connected to {} at {}", p.node_id, p.address)
            })
        }
        ApiCommand::Peer(PeerCommand::List) => {
            let peers: Vec<Peer> = client.get("/v1/peers").await?;
            show(&peers, json, |p| peers_table(p))
        }
        ApiCommand::Peer(PeerCommand::Disconnect { node_id }) => {
            let request = DisconnectPeerRequest { node_id };
            let peer: DisconnectedPeer = client.post("/v1/peers/disconnect", &request).await?;
            show(&peer, json, |p| format!("disconnected {}", p.node_id))
        }
        ApiCommand::Channel(ChannelCommand::Open {
            node_id,
            amount_sat,
            push_msat,
            public,
        }) => {
            let request = OpenChannelRequest {
                node_id,
                amount_sat,
                push_msat,
                public,
            };
            let channel: OpenedChannel = client.post("/v1/channels/open", &request).await?;
            show(&channel, json, |c| {
                format!(
                    "opening channel {} to {} ({amount_sat} sat); it is usable after the funding transaction confirms",
                    c.channel_id, c.counterparty,
                )
            })
        }
        ApiCommand::Channel(ChannelCommand::Close { channel_id, force }) => {
            let request = CloseChannelRequest { channel_id, force };
            let channel: ClosingChannel = client.post("/v1/channels/close", &request).await?;
            let how = if force { "force-closing" } else { "closing" };
            show(&channel, json, |c| {
                format!("{how} channel {}", c.channel_id)
            })
        }
        ApiCommand::Channel(ChannelCommand::List) => {
            let channels: Vec<Channel> = client.get("/v1/channels").await?;
            show(&channels, json, |c| channels_table(c))
        }
        ApiCommand::Invoice {
            amount_msat,
            description,
            expiry,
        } => {
            let amount_msat = match amount_msat.trim() {
                "any" => None,
                n => Some(n.parse::<u64>().with_context(|| {
                    format!("amount `{n}` is neither a number of millisatoshis nor `any`")
                })?),
            };
            let request = CreateInvoiceRequest {
                amount_msat,
                description: Some(description),
                expiry_secs: expiry,
            };
            let invoice: Invoice = client.post("/v1/invoices", &request).await?;
            show(&invoice, json, |i| {
                key_values(&[
                    ("invoice", i.invoice.clone()),
                    ("payment hash", i.payment_hash.clone()),
                    ("expires in", format!("{} s", i.expiry_secs)),
                ])
            })
        }
        ApiCommand::Pay {
            destination,
            amount_msat,
            wait,
        } => {
            let destination = destination.trim().to_string();
            let is_offer = destination.to_ascii_lowercase().starts_with("lno1");
            let payment: Payment = if is_offer {
                let request = PayOfferRequest {
                    offer: destination,
                    amount_msat,
                    wait_secs: Some(wait),
                };
                client.post("/v1/offers/pay", &request).await?
            } else {
                let request = PayInvoiceRequest {
                    invoice: destination,
                    amount_msat,
                    wait_secs: Some(wait),
                };
                client.post("/v1/invoices/pay", &request).await?
            };
            paid(payment, json)
        }
        ApiCommand::Keysend {
            node_id,
            amount_msat,
            wait,
        } => {
            let request = KeysendRequest {
                node_id,
                amount_msat,
                wait_secs: Some(wait),
            };
            let payment: Payment = client.post("/v1/keysend", &request).await?;
            paid(payment, json)
        }
        ApiCommand::Offer {
            async_offer: true,
            wait,
            ..
        } => {
            let request = AsyncOfferRequest { wait_secs: wait };
            let offer: Offer = client.post("/v1/async/offer", &request).await?;
            show(&offer, json, offer_text)
        }
        ApiCommand::Offer {
            amount_msat,
            description,
            ..
        } => {
            let request = CreateOfferRequest {
                amount_msat,
                description: Some(description),
            };
            let offer: Offer = client.post("/v1/offers", &request).await?;
            show(&offer, json, offer_text)
        }
        ApiCommand::Payments { id: Some(id), .. } => {
            let payment: Payment = client.get(&format!("/v1/payments/{}", id.trim())).await?;
            show(&payment, json, payment_text)
        }
        ApiCommand::Payments {
            id: None,
            limit,
            after,
        } => {
            let path = payments_path(limit, after.as_deref())?;
            let (payments, next): (Vec<Payment>, _) =
                client.get_with_header(&path, NEXT_CURSOR_HEADER).await?;
            let Some(next) = next else {
                return show(&payments, json, |p| payments_table(p));
            };
            let more = format!("more: lnedge payments --after {next}");
            if json {
                // stdout stays the API's JSON.
                eprintln!("{more}");
                show(&payments, json, |p| payments_table(p))
            } else {
                Ok(format!("{}\n{more}", payments_table(&payments)))
            }
        }
        ApiCommand::Wallet(WalletCommand::Address) => {
            let address: NewAddress = client.post("/v1/wallet/address", &EmptyRequest {}).await?;
            show(&address, json, |a| a.address.clone())
        }
        ApiCommand::Wallet(WalletCommand::Balance) => {
            let balance: WalletBalance = client.get("/v1/wallet/balance").await?;
            show(&balance, json, balance_text)
        }
        ApiCommand::Wallet(WalletCommand::Send {
            address,
            amount_sat,
            all,
            fee_rate,
        }) => {
            let (amount_sat, send_all) = match (amount_sat, all) {
                (Some(sat), false) => (Some(sat), false),
                (None, true) => (None, true),
                _ => bail!("give an amount in satoshis or --all"),
            };
            let request = WalletSendRequest {
                address,
                amount_sat,
                send_all,
                fee_rate_sat_per_vb: fee_rate,
            };
            let sent: SentTransaction = client.post("/v1/wallet/send", &request).await?;
            show(&sent, json, |s| format!("sent: txid {}", s.txid))
        }
        ApiCommand::Async(command) => execute_async(client, command, json).await,
    }
}

/// `lnedge async …`.
async fn execute_async(
    client: &ApiClient,
    command: AsyncCommand,
    json: bool,
) -> anyhow::Result<String> {
    match command {
        AsyncCommand::Register { label, slots } => {
            let request = RegisterAsyncRecipientRequest { label, slots };
            let registered: RegisteredAsyncRecipient =
                client.post("/v1/async/recipients", &request).await?;
            show(&registered, json, |r| r.token.clone())
        }
        AsyncCommand::Token { id } => {
            let path = format!("/v1/async/token/{}", id.trim());
            let token: AsyncToken = client.post(&path, &EmptyRequest {}).await?;
            show(&token, json, |t| t.token.clone())
        }
        AsyncCommand::Revoke { id } => {
            let path = format!("/v1/async/revoke/{}", id.trim());
            let revoked: RevokedAsyncRecipient = client.post(&path, &EmptyRequest {}).await?;
            show(&revoked, json, |r| {
                format!(
                    "revoked {}: {} invoice(s) deleted",
                    r.recipient_id, r.invoices_deleted
                )
            })
        }
        AsyncCommand::Recipients => {
            let recipients: AsyncRecipients = client.get("/v1/async/recipients").await?;
            show(&recipients, json, |r| recipients_table(&r.recipients))
        }
        AsyncCommand::Invoices { id } => {
            let path = match id {
                Some(id) => format!("/v1/async/invoices/{}", id.trim()),
                None => "/v1/async/invoices".to_string(),
            };
            let invoices: AsyncInvoices = client.get(&path).await?;
            show(&invoices, json, |i| async_invoices_table(&i.invoices))
        }
        AsyncCommand::Server => {
            let stats: AsyncServerStats = client.get("/v1/async/server").await?;
            show(&stats, json, server_text)
        }
        AsyncCommand::Apply { token } => {
            let request = ApplyAsyncTokenRequest { token };
            let applied: AppliedAsyncToken = client.post("/v1/async/apply", &request).await?;
            show(&applied, json, |_| {
                "token applied: the node asks the server for offer paths while it is connected \
                 to it; `lnedge offer --async --wait 60` prints an offer once the server holds \
                 an invoice"
                    .to_string()
            })
        }
        AsyncCommand::Offers => {
            let offers: AsyncOffers = client.get("/v1/async/offers").await?;
            show(&offers, json, |o| offers_table(&o.offers))
        }
    }
}

fn offer_text(o: &Offer) -> String {
    key_values(&[("offer", o.offer.clone()), ("offer id", o.offer_id.clone())])
}

fn recipients_table(recipients: &[AsyncRecipient]) -> String {
    let mut t = Table::new(&[
        "RECIPIENT ID",
        "LABEL",
        "SLOTS",
        "STATE",
        "REGISTERED (UTC)",
    ]);
    for r in recipients {
        let slots = r
            .slot_quota
            .map_or_else(|| "default".to_string(), |q| q.to_string());
        let state = if r.revoked { "revoked" } else { "active" };
        t.row(vec![
            r.recipient_id.clone(),
            r.label.clone(),
            slots,
            state.into(),
            utc_time(r.registered_at),
        ]);
    }
    t.render()
}

fn async_invoices_table(invoices: &[AsyncInvoice]) -> String {
    let mut t = Table::new(&["RECIPIENT ID", "SLOT", "STORED (UTC)", "EXPIRES (UTC)"]);
    for i in invoices {
        t.row(vec![
            i.recipient_id.clone(),
            i.slot.to_string(),
            utc_time(i.created_at),
            utc_time(i.expires_at),
        ]);
    }
    t.render()
}

fn offers_table(offers: &[Offer]) -> String {
    let mut t = Table::new(&["OFFER ID", "OFFER"]);
    for o in offers {
        t.row(vec![o.offer_id.clone(), o.offer.clone()]);
    }
    t.render()
}

fn server_text(s: &AsyncServerStats) -> String {
    key_values(&[
        ("invoices stored", s.invoices_stored.to_string()),
        (
            "invoices refused",
            format!(
                "{} unregistered, {} revoked, {} over quota",
                s.refused_unregistered, s.refused_revoked, s.refused_over_quota
            ),
        ),
        ("requests served", s.requests_served.to_string()),
        ("requests unserved", s.requests_unserved.to_string()),
        ("rate limited", s.rate_limited.to_string()),
        (
            "messages held",
            format!(
                "{} now ({} held, {} delivered since start)",
                s.held_messages, s.messages_held, s.messages_delivered
            ),
        ),
    ])
}

fn info_text(i: &NodeInfo) -> String {
    key_values(&[
        ("node id", i.node_id.clone()),
        ("alias", i.alias.clone()),
        ("network", i.network.clone()),
        ("listening on", or_dash(&i.listen_address)),
        ("block height", i.block_height.to_string()),
        ("block hash", i.block_hash.clone()),
        ("peers", i.peers.to_string()),
        (
            "channels",
            format!("{} ({} usable)", i.channels, i.usable_channels),
        ),
        (
            "graph",
            format!("{} nodes, {} channels", i.graph_nodes, i.graph_channels),
        ),
    ])
}

fn peers_table(peers: &[Peer]) -> String {
    let mut t = Table::new(&["NODE ID", "ADDRESS", "DIRECTION"]);
    for p in peers {
        let direction = if p.inbound { "inbound" } else { "outbound" };
        t.row(vec![
            p.node_id.clone(),
            or_dash(&p.address),
            direction.into(),
        ]);
    }
    t.render()
}

fn channels_table(channels: &[Channel]) -> String {
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
    for c in channels {
        let state = if c.usable {
            "usable"
        } else if c.ready {
            "ready (peer offline)"
        } else {
            "pending"
        };
        t.row(vec![
            c.channel_id.clone(),
            c.counterparty.clone(),
            c.capacity_sat.to_string(),
            c.outbound_msat.to_string(),
            c.inbound_msat.to_string(),
            or_dash(&c.confirmations),
            state.into(),
            or_dash(&c.short_channel_id),
        ]);
    }
    t.render()
}

/// What `pay` and `keysend` print for the payment the API answered: an error if it failed.
fn paid(payment: Payment, json: bool) -> anyhow::Result<String> {
    if payment.status == "failed" {
        bail!(
            "payment {} failed: {}",
            payment.id,
            or_dash(&payment.failure)
        );
    }
    show(&payment, json, payment_text)
}

/// `GET /v1/payments` with the page's query.
fn payments_path(limit: Option<usize>, after: Option<&str>) -> anyhow::Result<String> {
    let mut query = Vec::new();
    if let Some(limit) = limit {
        query.push(format!("limit={limit}"));
    }
    if let Some(after) = after.map(str::trim) {
        if after.is_empty() || !after.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("--after must be a payment id (hex), not `{after}`");
        }
        query.push(format!("after={after}"));
    }
    Ok(if query.is_empty() {
        "/v1/payments".to_string()
    } else {
        format!("/v1/payments?{}", query.join("&"))
    })
}

fn payments_table(payments: &[Payment]) -> String {
    let mut t = Table::new(&[
        "ID",
        "DIRECTION",
        "KIND",
        "STATUS",
        "AMOUNT MSAT",
        "FEE MSAT",
        "CREATED (UTC)",
    ]);
    for p in payments {
        t.row(vec![
            p.id.clone(),
            p.direction.clone(),
            p.kind.clone(),
            p.status.clone(),
            or_dash(&p.amount_msat),
            or_dash(&p.fee_msat),
            utc_time(p.created_at),
        ]);
    }
    t.render()
}

fn balance_text(b: &WalletBalance) -> String {
    key_values(&[
        ("confirmed", format!("{} sat", b.confirmed_sat)),
        ("pending (own)", format!("{} sat", b.trusted_pending_sat)),
        (
            "pending (incoming)",
            format!("{} sat", b.untrusted_pending_sat),
        ),
        ("immature", format!("{} sat", b.immature_sat)),
        ("total", format!("{} sat", b.total_sat)),
    ])
}

fn payment_text(p: &Payment) -> String {
    key_values(&[
        ("payment id", p.id.clone()),
        ("payment hash", or_dash(&p.payment_hash)),
        ("type", format!("{} {}", p.direction, p.kind)),
        ("status", p.status.clone()),
        ("amount", format!("{} msat", or_dash(&p.amount_msat))),
        ("fee", format!("{} msat", or_dash(&p.fee_msat))),
        ("preimage", or_dash(&p.preimage)),
        ("failure", or_dash(&p.failure)),
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
    use serde::de::DeserializeOwned;

    use super::*;

    fn payment() -> Payment {
        Payment {
            id: "ab".repeat(32),
            payment_hash: None,
            direction: "inbound".into(),
            kind: "bolt11".into(),
            status: "pending".into(),
            amount_msat: Some(25_000),
            fee_msat: None,
            preimage: None,
            failure: None,
            created_at: 951_782_400,
            updated_at: 951_782_401,
        }
    }

    /// `--json` prints what the API sent, as the client printed it when it read untyped JSON.
    fn json_round_trip<T: Serialize + DeserializeOwned>(reply: &T) {
        // The node's encoding of a reply.
        let wire = serde_json::to_value(reply).unwrap().to_string();
        let untyped: serde_json::Value = serde_json::from_str(&wire).unwrap();
        let typed: T = serde_json::from_str(&wire).unwrap();
        assert_eq!(
            show(&typed, true, |_| unreachable!()).unwrap(),
            serde_json::to_string_pretty(&untyped).unwrap()
        );
    }

    #[test]
    fn json_output_is_the_api_reply() {
        json_round_trip(&payment());
        json_round_trip(&vec![payment(), payment()]);
        json_round_trip(&Vec::<Peer>::new());
        json_round_trip(&NodeInfo {
            node_id: "02ab".into(),
            network: "regtest".into(),
            alias: "n".into(),
            listen_address: None,
            block_height: 101,
            block_hash: "00ff".into(),
            peers: 0,
            channels: 1,
            usable_channels: 0,
            graph_nodes: 0,
            graph_channels: 0,
        });
        json_round_trip(&WalletBalance {
            confirmed_sat: 1,
            trusted_pending_sat: 2,
            untrusted_pending_sat: 3,
            immature_sat: 4,
            total_sat: 10,
        });
    }

    #[test]
    fn async_replies_print() {
        let recipient = AsyncRecipient {
            recipient_id: "0a0b".into(),
            label: "alice".into(),
            slot_quota: None,
            revoked: true,
            registered_at: 951_782_400,
        };
        json_round_trip(&AsyncRecipients {
            recipients: vec![recipient.clone()],
        });
        json_round_trip(&AsyncInvoices { invoices: vec![] });
        assert_eq!(
            recipients_table(&[recipient]),
            "RECIPIENT ID  LABEL  SLOTS    STATE    REGISTERED (UTC)\n\
             0a0b          alice  default  revoked  2000-02-29 00:00:00"
        );
        let invoices = async_invoices_table(&[AsyncInvoice {
            recipient_id: "0a0b".into(),
            slot: 2,
            created_at: 0,
            expires_at: 951_782_400,
        }]);
        assert!(
            invoices.ends_with("0a0b          2     1970-01-01 00:00:00  2000-02-29 00:00:00"),
            "{invoices}"
        );
        let stats = AsyncServerStats {
            invoices_stored: 3,
            refused_unregistered: 1,
            refused_revoked: 0,
            refused_over_quota: 2,
            requests_served: 4,
            requests_unserved: 0,
            rate_limited: 0,
            messages_held: 5,
            messages_delivered: 4,
            held_messages: 1,
        };
        json_round_trip(&stats);
        let text = server_text(&stats);
        assert!(
            text.contains("invoices refused:   1 unregistered, 0 revoked, 2 over quota"),
            "{text}"
        );
        assert!(
            text.ends_with("messages held:      1 now (5 held, 4 delivered since start)"),
            "{text}"
        );
    }

    #[test]
    fn absent_fields_print_as_dashes() {
        let text = payment_text(&payment());
        assert!(text.contains("payment hash:  -\n"), "{text}");
        assert!(text.contains("amount:        25000 msat\n"), "{text}");
        assert!(text.contains("fee:           - msat\n"), "{text}");
        assert!(text.ends_with("failure:       -"), "{text}");
        let table = payments_table(&[payment()]);
        assert!(
            table.ends_with(
                "inbound    bolt11  pending  25000        -         2000-02-29 00:00:00"
            ),
            "{table}"
        );
        let peers = peers_table(&[Peer {
            node_id: "02ab".into(),
            address: None,
            inbound: true,
        }]);
        assert_eq!(
            peers,
            "NODE ID  ADDRESS  DIRECTION\n02ab     -        inbound"
        );
    }

    #[test]
    fn requests_encode_as_before() {
        // The bodies the client sent when it wrote them by hand (absent options then were
        // `null`, which the node reads as absent).
        let invoice = CreateInvoiceRequest {
            amount_msat: Some(25_000),
            description: Some("tea".into()),
            expiry_secs: None,
        };
        assert_eq!(
            serde_json::to_string(&invoice).unwrap(),
            r#"{"amount_msat":25000,"description":"tea"}"#
        );
        let send = WalletSendRequest {
            address: "bcrt1q".into(),
            amount_sat: None,
            send_all: true,
            fee_rate_sat_per_vb: Some(2),
        };
        assert_eq!(
            serde_json::to_string(&send).unwrap(),
            r#"{"address":"bcrt1q","send_all":true,"fee_rate_sat_per_vb":2}"#
        );
        assert_eq!(serde_json::to_string(&EmptyRequest {}).unwrap(), "{}");
    }

    #[test]
    fn payments_pages_are_asked_with_limit_and_after() {
        assert_eq!(payments_path(None, None).unwrap(), "/v1/payments");
        assert_eq!(
            payments_path(Some(2), Some(" ab01 ")).unwrap(),
            "/v1/payments?limit=2&after=ab01"
        );
        assert_eq!(
            payments_path(None, Some("ab")).unwrap(),
            "/v1/payments?after=ab"
        );
        let e = payments_path(None, Some("a&b=1")).unwrap_err().to_string();
        assert!(e.contains("--after must be a payment id"), "{e}");
    }

    #[test]
    fn utc_times() {
        assert_eq!(utc_time(0), "1970-01-01 00:00:00");
        assert_eq!(utc_time(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc_time(1_795_311_717), "2026-11-22 01:41:57");
    }
}
