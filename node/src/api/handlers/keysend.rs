//! `POST /v1/keysend`.

use super::{call, msat, node_id, parse_body, payments::outcome, wait_time, Call};
use crate::api::failure::Failure;
use crate::api::types::KeysendRequest;

/// Sends a keysend payment, waiting for the outcome if asked to.
pub(crate) fn send(body: &[u8], _: &str) -> Result<Call, Failure> {
    let r: KeysendRequest = parse_body(body)?;
    let node_id = node_id(&r.node_id)?;
    let amount_msat = msat("amount_msat", r.amount_msat)?;
    let wait = wait_time(r.wait_secs)?;
    call(move |node| async move {
        let id = node.spontaneous_payment().send(node_id, amount_msat)?;
        outcome(&node, &id, wait).await
    })
}
