//! The Lightning side: [`ChannelOpener`].

use std::future::Future;

use bitcoin::secp256k1::PublicKey;
use bitcoin::{Amount, OutPoint, ScriptBuf};

use crate::error::BackendError;
use crate::types::AbandonReason;

/// One channel to open: to whom, for how much, with which options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRequest {
    /// The peer's node id.
    pub peer: PublicKey,
    /// Channel capacity; the funding output pays exactly this.
    pub amount: Amount,
    /// Amount pushed to the peer at opening, in millisatoshi.
    pub push_msat: u64,
    /// Whether the channel is announced to the network.
    pub announce: bool,
}

/// A channel the peer accepted: its funding script is known, the funding transaction is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingChannel {
    /// Identifier chosen by the opener (e.g. a user channel id); opaque to this crate.
    pub id: String,
    /// The peer's node id.
    pub peer: PublicKey,
    /// Channel capacity.
    pub amount: Amount,
    /// The funding output's script (P2WSH or P2TR).
    pub funding_script: ScriptBuf,
}

/// Opens channels whose funding transaction is built by someone else (the payer's payjoin).
///
/// Implementations must not broadcast the funding transaction: the payer does.
pub trait ChannelOpener: Send + Sync + 'static {
    /// Opens a channel (`open_channel`) and resolves when the peer accepted it (`accept_channel`)
    /// and the funding script is known.
    fn open(
        &self,
        request: &ChannelRequest,
    ) -> impl Future<Output = Result<PendingChannel, BackendError>> + Send;

    /// Gives the channel its funding outpoint (`funding_created`) and resolves when the peer's
    /// funding signature is in (`funding_signed`): only then may the transaction be handed out.
    fn funding_outpoint(
        &self,
        channel: &PendingChannel,
        outpoint: OutPoint,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;

    /// Abandons a channel whose funding transaction will not confirm (or was never built).
    fn abandon(
        &self,
        channel: &PendingChannel,
        reason: AbandonReason,
    ) -> impl Future<Output = Result<(), BackendError>> + Send;
}
