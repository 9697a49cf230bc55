//! `GET /v1/payments`, `GET /v1/payments/{id}`.

use std::time::Duration;

use lightning::ln::channelmanager::PaymentId;

use super::{bytes32, call, parse_body, Call};
use crate::api::failure::Failure;
use crate::api::types::{EmptyRequest, Payment};
use crate::Node;

/// Every payment, newest first.
pub(crate) fn list(body: &[u8], _: &str) -> Result<Call, Failure> {
    let _: EmptyRequest = parse_body(body)?;
    call(|node| async move {
        Ok(node
            .payments()
            .list()?
            .iter()
            .map(Payment::from)
            .collect::<Vec<_>>())
    })
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
