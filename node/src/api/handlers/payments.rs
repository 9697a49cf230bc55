//! `GET /v1/payments` (paged), `GET /v1/payments/{id}`.

use std::time::Duration;

use bitcoin::hex::DisplayHex;
use hyper::header::{HeaderName, HeaderValue};
use lightning::ln::channelmanager::PaymentId;

use super::{bytes32, call, call_with_headers, parse_body, Call};
use crate::api::failure::Failure;
use crate::api::types::{
    EmptyRequest, Payment, DEFAULT_PAYMENTS_LIMIT, MAX_PAYMENTS_LIMIT, NEXT_CURSOR_HEADER,
};
use crate::Node;

/// A page of payments, newest first: `?limit=N` (default [`DEFAULT_PAYMENTS_LIMIT`], at most
/// [`MAX_PAYMENTS_LIMIT`]) and `?after=<payment id>` (the cursor a previous page's
/// [`NEXT_CURSOR_HEADER`] gave). The reply is the list; the header names the cursor of the next
/// page when there is one.
pub(crate) fn list(body: &[u8], query: &str) -> Result<Call, Failure> {
    let _: EmptyRequest = parse_body(body)?;
    let (limit, after) = page_query(query)?;
    call_with_headers(move |node| async move {
        let page = node.payments().page(after.as_ref(), limit)?;
        let mut headers = Vec::new();
        if let Some(next) = page.next {
            let cursor = HeaderValue::from_str(&next.0.to_lower_hex_string())
                .expect("hex is a valid header value");
            headers.push((HeaderName::from_static(NEXT_CURSOR_HEADER), cursor));
        }
        let payments = page.payments.iter().map(Payment::from).collect::<Vec<_>>();
        Ok((payments, headers))
    })
}

/// `limit` and `after` from the query string; anything else is refused.
fn page_query(query: &str) -> Result<(usize, Option<PaymentId>), Failure> {
    let mut limit = None;
    let mut after = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "limit" if limit.is_none() => {
                let n = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_PAYMENTS_LIMIT).contains(n))
                    .ok_or_else(|| {
                        Failure::bad_request(format!(
                            "invalid `limit` `{value}`: expected a number from 1 to {MAX_PAYMENTS_LIMIT}"
                        ))
                    })?;
                limit = Some(n);
            }
            "after" if after.is_none() => {
                let id = bytes32("`after` cursor (a payment id)", value)?;
                after = Some(PaymentId(id));
            }
            "limit" | "after" => {
                return Err(Failure::bad_request(format!(
                    "query parameter `{key}` is given twice"
                )))
            }
            other => {
                return Err(Failure::bad_request(format!(
                    "unknown query parameter `{other}`: expected `limit` or `after`"
                )))
            }
        }
    }
    Ok((limit.unwrap_or(DEFAULT_PAYMENTS_LIMIT), after))
}

/// One payment.
pub(crate) fn get(body: &[u8], id: &str) -> Result<Call, Failure> {
    let _: EmptyRequest = parse_body(body)?;
    let id = PaymentId(bytes32("payment id", id)?);
    call(move |node| async move { Ok(Payment::from(&node.payments().get(&id)?)) })
}

/// A payment just started, after waiting for its outcome if asked to.
pub(super) async fn outcome(
    node: &Node,
    id: &PaymentId,
    wait: Option<Duration>,
) -> Result<Payment, Failure> {
    let payment = match wait {
        Some(timeout) => node.payments().wait(id, timeout).await?,
        None => node.payments().get(id)?,
    };
    Ok(Payment::from(&payment))
}
