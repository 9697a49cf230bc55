//! One handler per endpoint. A handler decodes its request (strict JSON body, ids, amounts,
//! limits; no node needed, so the fuzz target reaches every rule) into a [`Call`], which the
//! server then runs against the node.

pub(crate) mod async_payments;
pub(crate) mod bolt11;
pub(crate) mod bolt12;
pub(crate) mod channels;
pub(crate) mod keysend;
pub(crate) mod node;
pub(crate) mod payments;
pub(crate) mod peers;
pub(crate) mod wallet;

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use bitcoin::hex::FromHex;
use bitcoin::secp256k1::PublicKey;
use bitcoin::Amount;
use hyper::header::{HeaderName, HeaderValue};
use hyper::StatusCode;
use lightning::ln::types::ChannelId;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::failure::Failure;
use crate::hooks::BoxFuture;
use crate::Node;

/// Longest a pay request may wait for the outcome.
pub const MAX_WAIT_SECS: u64 = 600;
/// Invoice expiry when the request gives none.
pub const DEFAULT_INVOICE_EXPIRY_SECS: u32 = 3600;

/// A checked request, ready to run against the node.
pub(crate) type Call = Box<dyn FnOnce(Node) -> BoxFuture<'static, Result<Reply, Failure>> + Send>;

/// A handler: the request body and the path parameter (`""` if none; for
/// [`Handler::JsonQuery`](super::route::Handler::JsonQuery) routes, the query string) to a
/// [`Call`].
pub(crate) type Decode = fn(&[u8], &str) -> Result<Call, Failure>;

/// What a successful call answers: the JSON body and any headers beside it.
pub(crate) struct Reply {
    pub(crate) body: Value,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
}

/// A [`Call`] running `f` and encoding its reply.
fn call<T, F, Fut>(f: F) -> Result<Call, Failure>
where
    T: Serialize,
    F: FnOnce(Node) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, Failure>> + Send + 'static,
{
    call_with_headers(move |node| async move { Ok((f(node).await?, Vec::new())) })
}

/// [`call`] for a reply with headers of its own.
fn call_with_headers<T, F, Fut>(f: F) -> Result<Call, Failure>
where
    T: Serialize,
    F: FnOnce(Node) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(T, Vec<(HeaderName, HeaderValue)>), Failure>> + Send + 'static,
{
    Ok(Box::new(move |node| {
        Box::pin(async move {
            let (reply, headers) = f(node).await?;
            let body = serde_json::to_value(&reply).map_err(|e| {
                Failure::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("cannot encode reply: {e}"),
                )
            })?;
            Ok(Reply { body, headers })
        })
    }))
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

/// An amount in millisatoshis: positive and at most 21 million bitcoin.
fn msat(name: &str, value: u64) -> Result<u64, Failure> {
    const MAX_MSAT: u64 = 21_000_000 * 100_000_000 * 1000;
    if positive(name, value)? > MAX_MSAT {
        return Err(Failure::bad_request(format!(
            "{name} exceeds 21 million bitcoin"
        )));
    }
    Ok(value)
}

/// An optional amount in millisatoshis: if given, as [`msat`].
fn msat_opt(name: &str, value: Option<u64>) -> Result<Option<u64>, Failure> {
    value.map(|v| msat(name, v)).transpose()
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

/// A node id (33-byte compressed public key in hex).
fn node_id(s: &str) -> Result<PublicKey, Failure> {
    PublicKey::from_str(s.trim())
        .map_err(|e| Failure::bad_request(format!("invalid node id `{s}`: {e}")))
}

/// 32 bytes in hex, named `what` in the error.
fn bytes32(what: &str, s: &str) -> Result<[u8; 32], Failure> {
    <[u8; 32]>::from_hex(s.trim()).map_err(|e| {
        Failure::bad_request(format!(
            "invalid {what} `{s}`: expected 64 hex characters ({e})"
        ))
    })
}

/// A channel id (32 bytes in hex).
fn channel_id(s: &str) -> Result<ChannelId, Failure> {
    bytes32("channel id", s).map(ChannelId)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::OpenChannelRequest;
    use crate::api::types::{CreateInvoiceRequest, DisconnectPeerRequest, EmptyRequest};

    #[test]
    fn bodies_are_strict() {
        let e = parse_body::<CreateInvoiceRequest>(br#"{"amount": 5}"#).unwrap_err();
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
        let e = parse_body::<DisconnectPeerRequest>(b"").unwrap_err();
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
