//! [`Channels`]: opening, closing and listing channels.

use std::sync::Arc;
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::types::ChannelId;
use lightning::sign::{EntropySource, KeysManager};
use lightning::util::errors::APIError;

use crate::error::NodeError;
use crate::ldk::types::{ChannelManager, PeerManager};
use crate::model::ChannelInfo;
use crate::wallet::OnchainWallet;

/// How long a cooperative close waits for a monitor update in flight.
pub const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// The node's channels. Reached by [`Node::channels`](crate::Node::channels).
#[derive(Clone)]
pub struct Channels {
    pub(crate) channel_manager: Arc<ChannelManager>,
    pub(crate) peer_manager: Arc<PeerManager>,
    pub(crate) wallet: Arc<OnchainWallet>,
    pub(crate) keys: Arc<KeysManager>,
    /// Confirmed coins kept back per anchor channel.
    pub(crate) anchor_reserve_sat: u64,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels").finish_non_exhaustive()
    }
}

impl Channels {
    /// Opens a channel of `amount_sat` to a connected peer, pushing `push_msat` to it; `public`
    /// announces it. Returns the temporary channel id; the wallet funds it when LDK asks.
    pub fn open(
        &self,
        node_id: PublicKey,
        amount_sat: u64,
        push_msat: u64,
        public: bool,
    ) -> Result<ChannelId, NodeError> {
        if amount_sat == 0 {
            return Err(NodeError::invalid("channel amount must be positive"));
        }
        if push_msat > amount_sat.saturating_mul(1000) {
            return Err(NodeError::invalid("push amount exceeds the channel amount"));
        }
        if self.peer_manager.peer_by_node_id(&node_id).is_none() {
            return Err(NodeError::NotFound(format!(
                "peer {node_id} is not connected; connect first"
            )));
        }
        self.check_anchor_reserve(amount_sat)?;
        let mut config = crate::ldk::user_config();
        config.channel_handshake_config.announce_for_forwarding = public;
        self.channel_manager
            .create_channel(
                node_id,
                amount_sat,
                push_msat,
                new_user_channel_id(&self.keys),
                None,
                Some(config),
            )
            .map_err(|e| NodeError::ldk("open channel", e))
    }

    /// Refuses a new (anchor) channel of `amount_sat` that would leave the wallet less than the
    /// anchor reserve for every anchor channel, the new one included.
    fn check_anchor_reserve(&self, amount_sat: u64) -> Result<(), NodeError> {
        let per_channel = self.anchor_reserve_sat;
        if per_channel == 0 {
            return Ok(());
        }
        let anchor_channels = self
            .channel_manager
            .list_channels()
            .iter()
            .filter(|c| is_anchor_channel(c))
            .count() as u64;
        let reserve = per_channel.saturating_mul(anchor_channels + 1);
        let confirmed = self.wallet.balance().confirmed_sat;
        let left = confirmed.saturating_sub(amount_sat);
        if left < reserve {
            return Err(NodeError::invalid(format!(
                "the wallet would keep {left} sat of confirmed coins, below the anchor reserve of \
                 {reserve} sat ({per_channel} sat per anchor channel, to fee-bump a force close); \
                 open a smaller channel or fund the wallet"
            )));
        }
        Ok(())
    }

    fn find(&self, channel_id: &ChannelId) -> Result<ChannelDetails, NodeError> {
        self.channel_manager
            .list_channels()
            .into_iter()
            .find(|c| &c.channel_id == channel_id)
            .ok_or_else(|| NodeError::NotFound(format!("no channel {channel_id}")))
    }

    /// Closes a channel cooperatively (`force = false`, the peer must be online) or by
    /// broadcasting our latest commitment (`force = true`).
    ///
    /// A cooperative close waits (up to [`CLOSE_WAIT`]) for a monitor update still being
    /// written: LDK refuses to begin a shutdown meanwhile, and the node writes monitor updates
    /// asynchronously, after the channel manager (`ldk/persist.rs`).
    pub async fn close(&self, channel_id: &ChannelId, force: bool) -> Result<(), NodeError> {
        let channel = self.find(channel_id)?;
        let peer = channel.counterparty.node_id;
        if force {
            return self
                .channel_manager
                .force_close_broadcasting_latest_txn(
                    channel_id,
                    &peer,
                    "closed by the operator".into(),
                )
                .map_err(|e| NodeError::ldk("close channel", e));
        }
        let deadline = tokio::time::Instant::now() + CLOSE_WAIT;
        loop {
            match self.channel_manager.close_channel(channel_id, &peer) {
                Err(APIError::ChannelUnavailable { err })
                    if err.contains("monitor update")
                        && tokio::time::Instant::now() < deadline
                        && self.peer_manager.peer_by_node_id(&peer).is_some() =>
                {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                result => return result.map_err(|e| NodeError::ldk("close channel", e)),
            }
        }
    }

    /// Every channel.
    pub fn list(&self) -> Vec<ChannelInfo> {
        self.channel_manager
            .list_channels()
            .iter()
            .map(channel_info)
            .collect()
    }
}

/// A random `user_channel_id` for a channel we open or accept.
pub(crate) fn new_user_channel_id(keys: &KeysManager) -> u128 {
    u128::from_be_bytes(
        keys.get_secure_random_bytes()[..16]
            .try_into()
            .expect("16 bytes"),
    )
}

fn channel_info(c: &ChannelDetails) -> ChannelInfo {
    ChannelInfo {
        channel_id: c.channel_id,
        counterparty: c.counterparty.node_id,
        funding_outpoint: c.funding_txo.map(|o| o.into_bitcoin_outpoint()),
        short_channel_id: c.short_channel_id,
        capacity_sat: c.channel_value_satoshis,
        outbound_msat: c.outbound_capacity_msat,
        inbound_msat: c.inbound_capacity_msat,
        confirmations: c.confirmations,
        ready: c.is_channel_ready,
        usable: c.is_usable,
        public: c.is_announced,
        outbound: c.is_outbound,
        anchors: is_anchor_channel(c),
    }
}

/// Whether the channel is an anchor channel (`option_anchors_zero_fee_htlc_tx`).
fn is_anchor_channel(c: &ChannelDetails) -> bool {
    c.channel_type
        .as_ref()
        .is_some_and(|t| t.supports_anchors_zero_fee_htlc_tx())
}

/// Formats a short channel id as `BLOCKxTXxOUTPUT`.
pub fn scid_string(scid: u64) -> String {
    format!(
        "{}x{}x{}",
        scid >> 40,
        (scid >> 16) & 0xff_ffff,
        scid & 0xffff
    )
}
