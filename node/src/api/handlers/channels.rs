//! `GET /v1/channels`, `POST /v1/channels/open`, `POST /v1/channels/close`.

use super::{call, channel_id, node_id, parse_body, sats, Call};
use crate::api::failure::Failure;
use crate::api::types::{
    Channel, CloseChannelRequest, ClosingChannel, EmptyRequest, OpenChannelRequest, OpenedChannel,
};

/// Every channel.
pub(crate) fn list(body: &[u8], _: &str) -> Result<Call, Failure> {
    let _: EmptyRequest = parse_body(body)?;
    call(|node| async move {
        Ok(node
            .channels()
            .list()
            .iter()
            .map(Channel::from)
            .collect::<Vec<_>>())
    })
}

/// Opens a channel to a connected peer.
pub(crate) fn open(body: &[u8], _: &str) -> Result<Call, Failure> {
    let r: OpenChannelRequest = parse_body(body)?;
    let id = node_id(&r.node_id)?;
    let amount = sats("amount_sat", r.amount_sat)?;
    if r.push_msat > amount.to_sat().saturating_mul(1000) {
        return Err(Failure::bad_request("push_msat exceeds the channel amount"));
    }
    call(move |node| async move {
        let channel = node
            .channels()
            .open(id, amount.to_sat(), r.push_msat, r.public)?;
        Ok(OpenedChannel {
            channel_id: channel.to_string(),
            counterparty: id.to_string(),
        })
    })
}

/// Closes a channel.
pub(crate) fn close(body: &[u8], _: &str) -> Result<Call, Failure> {
    let r: CloseChannelRequest = parse_body(body)?;
    let id = channel_id(&r.channel_id)?;
    call(move |node| async move {
        node.channels().close(&id, r.force).await?;
        Ok(ClosingChannel {
            channel_id: id.to_string(),
            force: r.force,
            closing: true,
        })
    })
}
