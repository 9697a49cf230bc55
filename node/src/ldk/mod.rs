//! The LDK side of the node: concrete types, logger bridge, keys, peer connections, the node
//! announcement, the onion-message router and the channel configuration every channel starts
//! from.

pub(crate) mod announce;
pub(crate) mod custom_messages;
pub(crate) mod interception;
pub mod keys;
pub mod logger;
pub mod message_router;
pub mod peers;
pub mod persist;
pub mod types;

use lightning::util::config::{HTLCInterceptionFlags, UserConfig};
use lightning::util::sweep::OutputSpendStatus;

/// Outputs the sweeper tracks whose sweep has not confirmed yet (confirmed ones stay tracked
/// for LDK's ~4000-block archival delay).
pub fn unswept_outputs(sweeper: &types::Sweeper) -> usize {
    sweeper
        .tracked_spendable_outputs()
        .iter()
        .filter(|o| {
            !matches!(
                o.status,
                OutputSpendStatus::PendingThresholdConfirmations { .. }
            )
        })
        .count()
}

/// The configuration new channels start from.
///
/// - anchor channels (LDK's default): a force close's commitment and HTLC transactions are
///   fee-bumped from confirmed wallet coins when they are broadcast (`Event::BumpTransaction`,
///   [`types::BumpHandler`]), so the wallet must keep some confirmed coins while anchor channels
///   are open;
/// - unannounced by default (`open_channel` announces on request);
/// - HTLCs to SCIDs the node does not know are intercepted and handed to the
///   [`HtlcInterceptor`](crate::hooks::htlc_interception::HtlcInterceptor) (RFQ's SCID aliases);
/// - forwards to private channels allowed (an edge node serves private peers).
pub fn user_config() -> UserConfig {
    let mut config = UserConfig::default();
    config.channel_handshake_config.announce_for_forwarding = false;
    config
        .channel_handshake_limits
        .force_announced_channel_preference = false;
    config.accept_forwards_to_priv_channels = true;
    // Unknown SCIDs, and also SCIDs that happen to fall in LDK's intercept namespace: LDK
    // tests only 3 bits of the output index against a keyed hash, so 1 in 8 SCIDs whose output
    // index has a low byte below 8 look like intercept SCIDs (and as many like phantom ones,
    // which no flag can intercept).
    config.htlc_interception_flags =
        HTLCInterceptionFlags::ToUnknownSCIDs as u8 | HTLCInterceptionFlags::ToInterceptSCIDs as u8;
    config
}
