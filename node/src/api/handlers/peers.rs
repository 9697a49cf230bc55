//! `GET /v1/peers`, `POST /v1/peers/connect`, `POST /v1/peers/disconnect`.

use super::{call, node_id, parse_body, Call};
use crate::api::failure::Failure;
use crate::api::types::{
    ConnectPeerRequest, ConnectedPeer, DisconnectPeerRequest, DisconnectedPeer, EmptyRequest, Peer,
};

/// Connected peers.
pub(crate) fn list(body: &[u8], _: &str) -> Result<Call, Failure> {
    let _: EmptyRequest = parse_body(body)?;
    call(|node| async move {
        Ok(node
            .peers()
            .list()
            .iter()
            .map(Peer::from)
            .collect::<Vec<_>>())
    })
}

/// Connects to a peer and remembers it.
pub(crate) fn connect(body: &[u8], _: &str) -> Result<Call, Failure> {
    let r: ConnectPeerRequest = parse_body(body)?;
    let (id, address) =
        match (r.uri, r.node_id, r.address) {
            (Some(uri), None, None) => {
                let (id, address) = uri.split_once('@').ok_or_else(|| {
                    Failure::bad_request(format!(
                        "peer `{uri}` is not of the form <node id>@<host>:<port>"
                    ))
                })?;
                (node_id(id)?, address.to_string())
            }
            (None, Some(id), Some(address)) => (node_id(&id)?, address),
            _ => return Err(Failure::bad_request(
                "give either `uri` (\"<node id>@<host>:<port>\") or both `node_id` and `address`",
            )),
        };
    call(move |node| async move {
        node.peers().connect(id, &address).await?;
        Ok(ConnectedPeer {
            node_id: id.to_string(),
            address,
        })
    })
}

/// Disconnects a peer and forgets it.
pub(crate) fn disconnect(body: &[u8], _: &str) -> Result<Call, Failure> {
    let r: DisconnectPeerRequest = parse_body(body)?;
    let id = node_id(&r.node_id)?;
    call(move |node| async move {
        node.peers().disconnect(id)?;
        Ok(DisconnectedPeer {
            node_id: id.to_string(),
            disconnected: true,
        })
    })
}
