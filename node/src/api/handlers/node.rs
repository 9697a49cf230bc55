//! `GET /v1/info`.

use super::{call, parse_body, Call};
use crate::api::failure::Failure;
use crate::api::types::{EmptyRequest, NodeInfo};

/// The node at a glance.
pub(crate) fn info(body: &[u8], _: &str) -> Result<Call, Failure> {
    let _: EmptyRequest = parse_body(body)?;
    call(|node| async move { Ok(NodeInfo::from(&node.info())) })
}
