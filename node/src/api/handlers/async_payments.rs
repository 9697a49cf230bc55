//! BOLT 12 async payments (`adapters::async_payments`): the server's endpoints
//! (`/v1/async/recipients`, `revoke/{id}`, `token/{id}`, `invoices`, `server`) and the
//! recipient's (`/v1/async/apply`, `offer`, `offers`).
//!
//! Server endpoints on a node without the server role, and recipient endpoints on a node without
//! the feature, answer 409. Recipient ids are hex in the API.

use std::str::FromStr;
use std::sync::Arc;

use async_offers::store::{Recipient, StoredInvoice, MAX_RECIPIENT_ID_LEN};
use async_offers::{RegistrationToken, TokenError};
use bitcoin::hex::{DisplayHex, FromHex};
use lightning::offers::offer::Offer as LdkOffer;

use super::{call, parse_body, wait_time, Call};
use crate::adapters::async_payments::{AsyncRecipient as RecipientHandle, AsyncServer};
use crate::api::failure::Failure;
use crate::api::types::{
    AppliedAsyncToken, ApplyAsyncTokenRequest, AsyncInvoice, AsyncInvoices, AsyncOfferRequest,
    AsyncOffers, AsyncRecipient, AsyncRecipients, AsyncServerStats, AsyncToken, EmptyRequest,
    Offer, RegisterAsyncRecipientRequest, RegisteredAsyncRecipient, RevokedAsyncRecipient,
};
use crate::error::NodeError;
use crate::Node;

/// The 409 of a server endpoint on a node without the server role.
pub const NOT_A_SERVER: &str =
    "this node is not an async payments server: run it with --async-server";
/// The 409 of a recipient endpoint on a node without the feature.
pub const NO_ASYNC_PAYMENTS: &str = "this node does not have async payments: build it with \
    lnedge_node::adapters::async_payments::feature (lnedge node run always does)";
/// The longest label accepted, in bytes.
pub const MAX_LABEL_BYTES: usize = 256;

fn server(node: &Node) -> Result<Arc<AsyncServer>, Failure> {
    node.extension::<AsyncServer>()
        .ok_or_else(|| NodeError::NotEnabled(NOT_A_SERVER.into()).into())
}

fn recipient(node: &Node) -> Result<Arc<RecipientHandle>, Failure> {
    node.extension::<RecipientHandle>()
        .ok_or_else(|| NodeError::NotEnabled(NO_ASYNC_PAYMENTS.into()).into())
}

/// A recipient id: 1 to 1024 bytes in hex.
fn recipient_id(s: &str) -> Result<Vec<u8>, Failure> {
    let s = s.trim();
    let id = Vec::<u8>::from_hex(s).map_err(|e| {
        Failure::bad_request(format!(
            "invalid recipient id `{s}`: expected an even number of hex characters ({e})"
        ))
    })?;
    if id.is_empty() || id.len() > MAX_RECIPIENT_ID_LEN {
        return Err(Failure::bad_request(format!(
            "invalid recipient id `{s}`: expected 1 to {MAX_RECIPIENT_ID_LEN} bytes in hex"
        )));
    }
    Ok(id)
}

/// A registration token (`lnasync1…`), or the hex of LDK's serialized paths as a server on LDK
/// or ldk-node hands them out; a 400 naming the [`TokenError`] otherwise.
fn token(s: &str) -> Result<RegistrationToken, Failure> {
    let s = s.trim();
    let parsed = match Vec::<u8>::from_hex(s) {
        Ok(bytes) => RegistrationToken::from_ldk_paths(&bytes),
        Err(_) => RegistrationToken::from_str(s),
    };
    parsed.map_err(|e: TokenError| {
        let debug = format!("{e:?}");
        let variant: String = debug
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        Failure::bad_request(format!(
            "invalid registration token: {e} (TokenError::{variant})"
        ))
    })
}

fn offer_reply(offer: &LdkOffer) -> Offer {
    Offer {
        offer: offer.to_string(),
        offer_id: offer.id().0.to_lower_hex_string(),
    }
}

fn recipient_reply(r: &Recipient) -> AsyncRecipient {
    AsyncRecipient {
        recipient_id: r.id.to_lower_hex_string(),
        label: r.label.clone(),
        slot_quota: r.slot_quota,
        revoked: r.revoked,
        registered_at: r.registered_at,
    }
}

fn invoice_reply(i: &StoredInvoice) -> AsyncInvoice {
    AsyncInvoice {
        recipient_id: i.recipient_id.to_lower_hex_string(),
        slot: i.slot,
        created_at: i.created_at,
        expires_at: i.expires_at,
    }
}

/// `POST /v1/async/recipients`: registers a recipient and returns its token.
pub(crate) fn register(body: &[u8], _: &str) -> Result<Call, Failure> {
    let r: RegisterAsyncRecipientRequest = parse_body(body)?;
    if r.label.trim().is_empty() {
        return Err(Failure::bad_request("label must not be empty"));
    }
    if r.label.len() > MAX_LABEL_BYTES {
        return Err(Failure::bad_request(format!(
            "label is longer than {MAX_LABEL_BYTES} bytes"
        )));
    }
    if r.slots == Some(0) {
        return Err(Failure::bad_request("slots must be positive"));
    }
    call(move |node| async move {
        let registered = server(&node)?.register(&r.label, r.slots).await?;
        Ok(RegisteredAsyncRecipient {
            recipient_id: registered.id.to_lower_hex_string(),
            label: r.label,
            token: registered.token.as_str().to_string(),
            ldk_paths_hex: registered.token.to_ldk_paths().to_lower_hex_string(),
        })
    })
}

/// `GET /v1/async/recipients`.
pub(crate) fn recipients(body: &[u8], _: &str) -> Result<Call, Failure> {
    let _: EmptyRequest = parse_body(body)?;
    call(|node| async move {
        let recipients = server(&node)?.recipients().await?;
        Ok(AsyncRecipients {
            recipients: recipients.iter().map(recipient_reply).collect(),
        })
    })
}

/// `POST /v1/async/revoke/{id}`.
pub(crate) fn revoke(body: &[u8], id: &str) -> Result<Call, Failure> {
    let _: EmptyRequest = parse_body(body)?;
    let id = recipient_id(id)?;
    call(move |node| async move {
        let invoices_deleted = server(&node)?.revoke(&id).await?;
        Ok(RevokedAsyncRecipient {
            recipient_id: id.to_lower_hex_string(),
            invoices_deleted,
        })
    })
}

/// `POST /v1/async/token/{id}`: a new token for a registered recipient.
pub(crate) fn reissue(body: &[u8], id: &str) -> Result<Call, Failure> {
    let _: EmptyRequest = parse_body(body)?;
    let id = recipient_id(id)?;
    call(move |node| async move {
        let token = server(&node)?.token(&id).await?;
        Ok(AsyncToken {
            recipient_id: id.to_lower_hex_string(),
            token: token.as_str().to_string(),
            ldk_paths_hex: token.to_ldk_paths().to_lower_hex_string(),
        })
    })
}

/// `GET /v1/async/invoices`: every stored invoice.
pub(crate) fn invoices(body: &[u8], _: &str) -> Result<Call, Failure> {
    let _: EmptyRequest = parse_body(body)?;
    call(|node| async move {
        let invoices = server(&node)?.invoices(None).await?;
        Ok(AsyncInvoices {
            invoices: invoices.iter().map(invoice_reply).collect(),
        })
    })
}

/// `GET /v1/async/invoices/{id}`: one recipient's invoices (404 if it is not registered).
pub(crate) fn recipient_invoices(body: &[u8], id: &str) -> Result<Call, Failure> {
    let _: EmptyRequest = parse_body(body)?;
    let id = recipient_id(id)?;
    call(move |node| async move {
        let invoices = server(&node)?.invoices(Some(&id)).await?;
        Ok(AsyncInvoices {
            invoices: invoices.iter().map(invoice_reply).collect(),
        })
    })
}

/// `GET /v1/async/server`: the server's counters and its mailbox.
pub(crate) fn stats(body: &[u8], _: &str) -> Result<Call, Failure> {
    let _: EmptyRequest = parse_body(body)?;
    call(|node| async move {
        let server = server(&node)?;
        let held_messages = server.held_messages().await?;
        let s = server.stats();
        Ok(AsyncServerStats {
            invoices_stored: s.invoices_stored,
            refused_unregistered: s.refused_unregistered,
            refused_revoked: s.refused_revoked,
            refused_over_quota: s.refused_over_quota,
            requests_served: s.requests_served,
            requests_unserved: s.requests_unserved,
            rate_limited: s.rate_limited,
            messages_held: s.messages_held,
            messages_delivered: s.messages_delivered,
            held_messages,
        })
    })
}

/// `POST /v1/async/apply`: applies a server's registration token.
pub(crate) fn apply(body: &[u8], _: &str) -> Result<Call, Failure> {
    let r: ApplyAsyncTokenRequest = parse_body(body)?;
    let token = token(&r.token)?;
    call(move |node| async move {
        recipient(&node)?.apply(&token)?;
        Ok(AppliedAsyncToken { applied: true })
    })
}

/// `POST /v1/async/offer`: an offer payable while this node is offline, at once or after
/// waiting for the server.
pub(crate) fn offer(body: &[u8], _: &str) -> Result<Call, Failure> {
    let r: AsyncOfferRequest = parse_body(body)?;
    let wait = wait_time(r.wait_secs)?;
    call(move |node| async move {
        let recipient = recipient(&node)?;
        let offer = match wait {
            Some(timeout) => recipient.wait_for_offer(timeout).await?,
            None => recipient.offer()?,
        };
        Ok(offer_reply(&offer))
    })
}

/// `GET /v1/async/offers`: the async offers handed out.
pub(crate) fn offers(body: &[u8], _: &str) -> Result<Call, Failure> {
    let _: EmptyRequest = parse_body(body)?;
    call(|node| async move {
        let offers = recipient(&node)?.offers()?;
        Ok(AsyncOffers {
            offers: offers.iter().map(offer_reply).collect(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_ids_are_hex() {
        assert_eq!(recipient_id("00ff").unwrap(), vec![0, 0xff]);
        assert_eq!(recipient_id(" AB ").unwrap(), vec![0xab]);
        for bad in ["", " ", "abc", "zz", &"00".repeat(MAX_RECIPIENT_ID_LEN + 1)] {
            let e = recipient_id(bad).unwrap_err();
            assert_eq!(e.status, hyper::StatusCode::BAD_REQUEST, "{bad}");
            assert!(
                e.message.starts_with("invalid recipient id"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn bad_tokens_name_their_error() {
        let e = token("lnasync1qqqqqq").unwrap_err();
        assert_eq!(e.status, hyper::StatusCode::BAD_REQUEST);
        assert!(e.message.contains("(TokenError::"), "{}", e.message);
        let e = token("nonsense").unwrap_err();
        assert!(
            e.message
                .ends_with("not a bech32 string (TokenError::NotBech32)"),
            "{}",
            e.message
        );
    }

    #[test]
    fn requests_are_checked_before_the_node() {
        assert!(register(br#"{"label": "alice", "slots": 3}"#, "").is_ok());
        assert!(register(br#"{"label": " "}"#, "").is_err());
        assert!(register(br#"{"label": "a", "slots": 0}"#, "").is_err());
        assert!(register(br#"{"label": "a", "slots": 65536}"#, "").is_err());
        assert!(register(br#"{"slots": 1}"#, "").is_err());
        let long = format!(r#"{{"label": "{}"}}"#, "x".repeat(MAX_LABEL_BYTES + 1));
        assert!(register(long.as_bytes(), "").is_err());
        assert!(revoke(b"", "zz").is_err());
        assert!(revoke(b"", "0a0b").is_ok());
        assert!(offer(br#"{"wait_secs": 601}"#, "").is_err());
        assert!(offer(br#"{"wait_secs": 600}"#, "").is_ok());
        assert!(offer(b"", "").is_ok());
        assert!(apply(b"{}", "").is_err());
    }
}
