//! BOLT 12 async payments in the node: `async-offers` installed as a [`Feature`].
//!
//! Three roles, any of which one node may hold:
//!
//! - **server** ([`ServerRole`]): answers LDK's `PersistStaticInvoice` and
//!   `StaticInvoiceRequested` through `async-offers`' `StaticInvoiceServer` (registry, quotas,
//!   rate limits), holds onion messages for offline peers in a durable mailbox, holds HTLCs of
//!   often-offline payers until their recipient releases them (`enable_htlc_hold`), prunes
//!   expired invoices. Reached through [`AsyncServer`].
//! - **recipient**: applies a registration token and hands out offers that stay payable while
//!   the node is off. Reached through [`AsyncRecipient`] (always installed with the feature).
//! - **often-offline payer** ([`AsyncPaymentsConfig::often_offline`]): an HTLC to a static
//!   invoice is handed to the next hop to hold (`hold_outbound_htlcs_at_next_hop`), so the payer
//!   may go offline before the recipient comes back.
//!
//! LDK builds the blinded paths a server hands out with itself as introduction node when it is
//! announced, and through one of its peers otherwise; payers and recipients must be able to
//! reach that node, so a server should have a public channel and a listening address (the
//! feature refuses to install without a listening address).

mod recipient;
mod server;

pub use recipient::AsyncRecipient;
pub use server::{AsyncServer, InvoiceStore, RegisteredRecipient, ServerRole, ServerStats};

use std::sync::Arc;

use lightning::util::config::{HTLCInterceptionFlags, UserConfig};

use crate::error::BuildError;
use crate::feature::{Feature, FeatureContext};

/// Which async payment roles the node takes.
#[derive(Default)]
pub struct AsyncPaymentsConfig {
    /// Serve static invoices for registered recipients (`None`: not a server).
    pub server: Option<ServerRole>,
    /// Hand HTLCs to static invoices to the next hop to hold, so this node may go offline
    /// while the recipient is away (LDK's `hold_outbound_htlcs_at_next_hop`).
    pub often_offline: bool,
}

impl std::fmt::Debug for AsyncPaymentsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncPaymentsConfig")
            .field("server", &self.server.is_some())
            .field("often_offline", &self.often_offline)
            .finish()
    }
}

/// The async payments feature: add it with
/// [`NodeBuilder::with_feature`](crate::NodeBuilder::with_feature).
pub fn feature(config: AsyncPaymentsConfig) -> AsyncPayments {
    AsyncPayments { config }
}

/// The [`Feature`] made by [`feature`].
#[derive(Debug)]
pub struct AsyncPayments {
    config: AsyncPaymentsConfig,
}

impl Feature for AsyncPayments {
    fn configure(&self, config: &mut UserConfig) {
        if self.config.server.is_some() {
            // Hold HTLCs of often-offline payers until the recipient releases them, and
            // forward to recipients' private channels.
            config.enable_htlc_hold = true;
            config.accept_forwards_to_priv_channels = true;
            // LDK 0.3 checks that the next hop is online before it looks at the hold flag, so
            // a held HTLC for an offline recipient would fail with `PeerOffline`; intercepting
            // forwards to offline private channels lets the hold flag win. The server forwards
            // the intercepted ones when their peer returns (`server.rs`, `Waiting`).
            config.htlc_interception_flags |= HTLCInterceptionFlags::ToOfflinePrivateChannels as u8;
        }
        if self.config.often_offline {
            config.hold_outbound_htlcs_at_next_hop = true;
        }
    }

    fn install(self: Box<Self>, ctx: &mut FeatureContext<'_>) -> Result<(), BuildError> {
        let AsyncPaymentsConfig { server, .. } = self.config;
        if let Some(role) = server {
            if ctx.config().listen.is_none() {
                return Err(BuildError::InvalidConfig(
                    "an async payments server needs a listening address: recipients and payers \
                     reach it directly"
                        .into(),
                ));
            }
            let server = server::install(role, ctx)?;
            ctx.provide(server);
        }
        let recipient = Arc::new(AsyncRecipient::new(
            Arc::clone(ctx.channel_manager()),
            ctx.kv_store().clone(),
        ));
        ctx.provide(recipient);
        Ok(())
    }
}
