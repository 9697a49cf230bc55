//! The endpoints: which path and method reach which [`Node`] call, the request bodies (strict:
//! unknown fields are refused) and the replies.

use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use bitcoin::{Amount, FeeRate};
use hyper::{Method, StatusCode};
use lightning::ln::types::ChannelId;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::error::NodeError;
use crate::node::{parse_channel_id, parse_node_id, parse_peer_uri};
use crate::Node;

/// Longest a pay request may wait for the outcome.
pub const MAX_WAIT_SECS: u64 = 600;
/// Invoice expiry when the request gives none.
pub const DEFAULT_INVOICE_EXPIRY_SECS: u32 = 3600;

/// A request the API refuses or a call that failed: the status and the `{"error": …}` text.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<NodeError> for Failure {
    fn from(e: NodeError) -> Self {
        let status = match &e {
            NodeError::InvalidInput(_) => StatusCode::BAD_REQUEST,
            NodeError::NotFound(_) => StatusCode::NOT_FOUND,
            NodeError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, e.to_string())
    }
}

/// Every endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Info,
    Peers,
    PeerConnect,
    PeerDisconnect,
    Channels,
    ChannelOpen,
    ChannelClose,
    InvoiceCreate,
    InvoicePay,
    OfferCreate,
    OfferPay,
    Payments,
    Payment(String),
    WalletAddress,
    WalletBalance,
    WalletSend,
    Events,
}

/// Why a path and method reach no endpoint.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum NoRoute {
    /// No such path.
    NotFound,
    /// The path exists with this other method.
    MethodNotAllowed(Method),
}

/// Maps a method and path to an endpoint.
pub(crate) fn route(method: &Method, path: &str) -> Result<Endpoint, NoRoute> {
    let (allowed, endpoint) = match path {
        "/v1/info" => (Method::GET, Endpoint::Info),
        "/v1/peers" => (Method::GET, Endpoint::Peers),
        "/v1/peers/connect" => (Method::POST, Endpoint::PeerConnect),
        "/v1/peers/disconnect" => (Method::POST, Endpoint::PeerDisconnect),
        "/v1/channels" => (Method::GET, Endpoint::Channels),
        "/v1/channels/open" => (Method::POST, Endpoint::ChannelOpen),
        "/v1/channels/close" => (Method::POST, Endpoint::ChannelClose),
        "/v1/invoices" => (Method::POST, Endpoint::InvoiceCreate),
        "/v1/invoices/pay" => (Method::POST, Endpoint::InvoicePay),
        "/v1/offers" => (Method::POST, Endpoint::OfferCreate),
        "/v1/offers/pay" => (Method::POST, Endpoint::OfferPay),
        "/v1/payments" => (Method::GET, Endpoint::Payments),
        "/v1/wallet/address" => (Method::POST, Endpoint::WalletAddress),
        "/v1/wallet/balance" => (Method::GET, Endpoint::WalletBalance),
        "/v1/wallet/send" => (Method::POST, Endpoint::WalletSend),
        "/v1/events" => (Method::GET, Endpoint::Events),
        other => match other.strip_prefix("/v1/payments/") {
            Some(id) if !id.is_empty() && !id.contains('/') => {
                (Method::GET, Endpoint::Payment(id.to_string()))
            }
            _ => return Err(NoRoute::NotFound),
        },
    };
    if method == allowed || (method == Method::HEAD && allowed == Method::GET) {
        Ok(endpoint)
    } else {
        Err(NoRoute::MethodNotAllowed(allowed))
    }
}

/// Parses a JSON request body; an empty body reads as `{}`.
pub(crate) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|e| Failure::bad_request(format!("invalid request body: {e}")))
}

fn positive(name: &str, value: u64) -> Result<u64, Failure> {
    if value == 0 {
        return Err(Failure::bad_request(format!("{name} must be positive")));
    }
    Ok(value)
}

/// An optional amount in millisatoshis: positive and at most 21 million bitcoin.
fn msat_opt(name: &str, value: Option<u64>) -> Result<Option<u64>, Failure> {
    const MAX_MSAT: u64 = 21_000_000 * 100_000_000 * 1000;
    match value {
        Some(v) if positive(name, v)? > MAX_MSAT => Err(Failure::bad_request(format!(
            "{name} exceeds 21 million bitcoin"
        ))),
        other => Ok(other),
    }
}

fn sats(name: &str, value: u64) -> Result<Amount, Failure> {
    let amount = Amount::from_sat(positive(name, value)?);
    if amount > Amount::MAX_MONEY {
        return Err(Failure::bad_request(format!(
            "{name} exceeds 21 million bitcoin"
        )));
    }
    Ok(amount)
}

fn wait_time(wait_secs: Option<u64>) -> Result<Option<Duration>, Failure> {
    match wait_secs {
        None | Some(0) => Ok(None),
        Some(s) if s > MAX_WAIT_SECS => Err(Failure::bad_request(format!(
            "wait_secs must be at most {MAX_WAIT_SECS}"
        ))),
        Some(s) => Ok(Some(Duration::from_secs(s))),
    }
}

fn is_payment_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `POST /v1/peers/connect`: `{node_id, address}` or `{uri}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConnectRequest {
    node_id: Option<String>,
    address: Option<String>,
    uri: Option<String>,
}

/// `POST /v1/peers/disconnect`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DisconnectRequest {
    node_id: String,
}

/// `POST /v1/channels/open`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OpenChannelRequest {
    node_id: String,
    amount_sat: u64,
    #[serde(default)]
    push_msat: u64,
    #[serde(default)]
    public: bool,
}

/// `POST /v1/channels/close`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CloseChannelRequest {
    channel_id: String,
    #[serde(default)]
    force: bool,
}

/// `POST /v1/invoices`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvoiceRequest {
    amount_msat: Option<u64>,
    description: Option<String>,
    expiry_secs: Option<u32>,
}

/// `POST /v1/invoices/pay`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PayInvoiceRequest {
    invoice: String,
    amount_msat: Option<u64>,
    wait_secs: Option<u64>,
}

/// `POST /v1/offers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OfferRequest {
    amount_msat: Option<u64>,
    description: Option<String>,
}

/// `POST /v1/offers/pay`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PayOfferRequest {
    offer: String,
    amount_msat: Option<u64>,
    wait_secs: Option<u64>,
}

/// `POST /v1/wallet/address` takes no fields.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmptyRequest {}

/// `POST /v1/wallet/send`: `amount_sat`, or `send_all: true` to empty the wallet.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendRequest {
    address: String,
    amount_sat: Option<u64>,
    #[serde(default)]
    send_all: bool,
    fee_rate_sat_per_vb: Option<u64>,
}

/// Reply of `POST /v1/peers/connect`.
#[derive(Debug, Serialize)]
struct Connected {
    node_id: String,
    address: String,
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, Failure> {
    serde_json::to_value(value).map_err(|e| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode reply: {e}"),
        )
    })
}

/// A request checked against its endpoint's rules (strict body, ids, amounts, limits), ready
/// to run. Decoding needs no node; only [`execute`] touches it.
#[derive(Debug)]
pub(crate) enum Command {
    Info,
    Peers,
    PeerConnect {
        node_id: PublicKey,
        address: String,
    },
    PeerDisconnect(PublicKey),
    Channels,
    ChannelOpen {
        node_id: PublicKey,
        amount: Amount,
        push_msat: u64,
        public: bool,
    },
    ChannelClose {
        channel_id: ChannelId,
        force: bool,
    },
    InvoiceCreate {
        amount_msat: Option<u64>,
        description: String,
        expiry_secs: u32,
    },
    InvoicePay {
        invoice: String,
        amount_msat: Option<u64>,
        wait: Option<Duration>,
    },
    OfferCreate {
        amount_msat: Option<u64>,
        description: String,
    },
    OfferPay {
        offer: String,
        amount_msat: Option<u64>,
        wait: Option<Duration>,
    },
    Payments,
    Payment(String),
    WalletAddress,
    WalletBalance,
    WalletSend {
        address: String,
        amount: Option<Amount>,
        fee_rate: Option<FeeRate>,
    },
}

/// Checks a JSON endpoint's request body (every endpoint but the event stream).
pub(crate) fn decode(endpoint: Endpoint, body: &[u8]) -> Result<Command, Failure> {
    Ok(match endpoint {
        Endpoint::Info => Command::Info,
        Endpoint::Peers => Command::Peers,
        Endpoint::PeerConnect => {
            let r: ConnectRequest = parse_body(body)?;
            let (node_id, address) = match (r.uri, r.node_id, r.address) {
                (Some(uri), None, None) => parse_peer_uri(&uri)?,
                (None, Some(id), Some(address)) => (parse_node_id(&id)?, address),
                _ => {
                    return Err(Failure::bad_request(
                        "give either `uri` (\"<node id>@<host>:<port>\") or both `node_id` and `address`",
                    ))
                }
            };
            Command::PeerConnect { node_id, address }
        }
        Endpoint::PeerDisconnect => {
            let r: DisconnectRequest = parse_body(body)?;
            Command::PeerDisconnect(parse_node_id(&r.node_id)?)
        }
        Endpoint::Channels => Command::Channels,
        Endpoint::ChannelOpen => {
            let r: OpenChannelRequest = parse_body(body)?;
            let node_id = parse_node_id(&r.node_id)?;
            let amount = sats("amount_sat", r.amount_sat)?;
            if r.push_msat > amount.to_sat().saturating_mul(1000) {
                return Err(Failure::bad_request("push_msat exceeds the channel amount"));
            }
            Command::ChannelOpen {
                node_id,
                amount,
                push_msat: r.push_msat,
                public: r.public,
            }
        }
        Endpoint::ChannelClose => {
            let r: CloseChannelRequest = parse_body(body)?;
            Command::ChannelClose {
                channel_id: parse_channel_id(&r.channel_id)?,
                force: r.force,
            }
        }
        Endpoint::InvoiceCreate => {
            let r: InvoiceRequest = parse_body(body)?;
            let amount_msat = msat_opt("amount_msat", r.amount_msat)?;
            let expiry_secs = r.expiry_secs.unwrap_or(DEFAULT_INVOICE_EXPIRY_SECS);
            if expiry_secs == 0 {
                return Err(Failure::bad_request("expiry_secs must be positive"));
            }
            Command::InvoiceCreate {
                amount_msat,
                description: r.description.unwrap_or_default(),
                expiry_secs,
            }
        }
        Endpoint::InvoicePay => {
            let r: PayInvoiceRequest = parse_body(body)?;
            Command::InvoicePay {
                amount_msat: msat_opt("amount_msat", r.amount_msat)?,
                wait: wait_time(r.wait_secs)?,
                invoice: r.invoice,
            }
        }
        Endpoint::OfferCreate => {
            let r: OfferRequest = parse_body(body)?;
            Command::OfferCreate {
                amount_msat: msat_opt("amount_msat", r.amount_msat)?,
                description: r.description.unwrap_or_default(),
            }
        }
        Endpoint::OfferPay => {
            let r: PayOfferRequest = parse_body(body)?;
            Command::OfferPay {
                amount_msat: msat_opt("amount_msat", r.amount_msat)?,
                wait: wait_time(r.wait_secs)?,
                offer: r.offer,
            }
        }
        Endpoint::Payments => Command::Payments,
        Endpoint::Payment(id) => {
            if !is_payment_id(&id) {
                return Err(Failure::bad_request(format!(
                    "invalid payment id `{id}`: expected 64 hex characters"
                )));
            }
            Command::Payment(id.to_ascii_lowercase())
        }
        Endpoint::WalletAddress => {
            let _: EmptyRequest = parse_body(body)?;
            Command::WalletAddress
        }
        Endpoint::WalletBalance => Command::WalletBalance,
        Endpoint::WalletSend => {
            let r: SendRequest = parse_body(body)?;
            let amount = match (r.amount_sat, r.send_all) {
                (Some(sat), false) => Some(sats("amount_sat", sat)?),
                (None, true) => None,
                (Some(_), true) => {
                    return Err(Failure::bad_request(
                        "give either `amount_sat` or `send_all`, not both",
                    ))
                }
                (None, false) => {
                    return Err(Failure::bad_request(
                        "missing `amount_sat` (or `send_all: true` to send everything)",
                    ))
                }
            };
            let fee_rate = match r.fee_rate_sat_per_vb {
                None => None,
                Some(rate) => Some(
                    FeeRate::from_sat_per_vb(positive("fee_rate_sat_per_vb", rate)?)
                        .filter(|_| rate <= 100_000)
                        .ok_or_else(|| {
                            Failure::bad_request("fee_rate_sat_per_vb must be at most 100000")
                        })?,
                ),
            };
            Command::WalletSend {
                address: r.address,
                amount,
                fee_rate,
            }
        }
        Endpoint::Events => {
            return Err(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the event stream is not a JSON endpoint",
            ))
        }
    })
}

/// Runs a decoded request against the node.
pub(crate) async fn execute(node: &Node, command: Command) -> Result<Value, Failure> {
    match command {
        Command::Info => to_json(&node.info()),
        Command::Peers => to_json(&node.list_peers()),
        Command::PeerConnect { node_id, address } => {
            node.connect_peer(node_id, &address).await?;
            to_json(&Connected {
                node_id: node_id.to_string(),
                address,
            })
        }
        Command::PeerDisconnect(id) => {
            node.disconnect_peer(id)?;
            Ok(json!({ "node_id": id.to_string(), "disconnected": true }))
        }
        Command::Channels => to_json(&node.list_channels()),
        Command::ChannelOpen {
            node_id,
            amount,
            push_msat,
            public,
        } => {
            let channel_id = node.open_channel(node_id, amount.to_sat(), push_msat, public)?;
            Ok(json!({ "channel_id": channel_id, "counterparty": node_id.to_string() }))
        }
        Command::ChannelClose { channel_id, force } => {
            node.close_channel(&channel_id, force)?;
            Ok(json!({ "channel_id": channel_id.to_string(), "force": force, "closing": true }))
        }
        Command::InvoiceCreate {
            amount_msat,
            description,
            expiry_secs,
        } => to_json(&node.create_invoice(amount_msat, &description, expiry_secs)?),
        Command::InvoicePay {
            invoice,
            amount_msat,
            wait,
        } => {
            let id = node.pay_invoice(&invoice, amount_msat)?;
            payment_outcome(node, &id, wait).await
        }
        Command::OfferCreate {
            amount_msat,
            description,
        } => to_json(&node.create_offer(amount_msat, &description)?),
        Command::OfferPay {
            offer,
            amount_msat,
            wait,
        } => {
            let id = node.pay_offer(&offer, amount_msat)?;
            payment_outcome(node, &id, wait).await
        }
        Command::Payments => to_json(&node.list_payments()?),
        Command::Payment(id) => to_json(&node.payment(&id)?),
        Command::WalletAddress => Ok(json!({ "address": node.wallet_address()?.to_string() })),
        Command::WalletBalance => to_json(&node.wallet_balance()),
        Command::WalletSend {
            address,
            amount,
            fee_rate,
        } => {
            let txid = node.wallet_send(&address, amount, fee_rate).await?;
            Ok(json!({ "txid": txid.to_string() }))
        }
    }
}

/// The payment just started; after waiting for its outcome if asked to.
async fn payment_outcome(node: &Node, id: &str, wait: Option<Duration>) -> Result<Value, Failure> {
    let payment = match wait {
        Some(timeout) => node.wait_payment(id, timeout).await?,
        None => node.payment(id)?,
    };
    to_json(&payment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_methods() {
        assert_eq!(route(&Method::GET, "/v1/info"), Ok(Endpoint::Info));
        assert_eq!(
            route(&Method::POST, "/v1/info"),
            Err(NoRoute::MethodNotAllowed(Method::GET))
        );
        assert_eq!(
            route(&Method::GET, "/v1/payments/ab"),
            Ok(Endpoint::Payment("ab".into()))
        );
        assert_eq!(route(&Method::GET, "/v1/payments/"), Err(NoRoute::NotFound));
        assert_eq!(
            route(&Method::GET, "/v1/payments/a/b"),
            Err(NoRoute::NotFound)
        );
        assert_eq!(route(&Method::GET, "/v2/info"), Err(NoRoute::NotFound));
    }

    #[test]
    fn bodies_are_strict() {
        let e = parse_body::<InvoiceRequest>(br#"{"amount": 5}"#).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(
            e.message.contains("unknown field `amount`"),
            "{}",
            e.message
        );
        let e =
            parse_body::<OpenChannelRequest>(br#"{"node_id": "x", "amount_sat": -1}"#).unwrap_err();
        assert!(e.message.contains("-1"), "{}", e.message);
        let e = parse_body::<OpenChannelRequest>(b"{").unwrap_err();
        assert!(
            e.message.starts_with("invalid request body"),
            "{}",
            e.message
        );
        let e = parse_body::<DisconnectRequest>(b"").unwrap_err();
        assert!(
            e.message.contains("missing field `node_id`"),
            "{}",
            e.message
        );
        assert!(parse_body::<EmptyRequest>(b" ").is_ok());
    }

    #[test]
    fn amounts_are_checked() {
        assert!(sats("amount_sat", 0).is_err());
        assert!(sats("amount_sat", 21_000_000 * 100_000_000 + 1).is_err());
        assert!(sats("amount_sat", 1).is_ok());
        assert!(msat_opt("amount_msat", Some(0)).is_err());
        assert!(msat_opt("amount_msat", Some(u64::MAX)).is_err());
        assert_eq!(msat_opt("amount_msat", Some(1)).unwrap(), Some(1));
        assert_eq!(msat_opt("amount_msat", None).unwrap(), None);
        assert!(wait_time(Some(MAX_WAIT_SECS + 1)).is_err());
        assert_eq!(wait_time(Some(0)).unwrap(), None);
    }
}
