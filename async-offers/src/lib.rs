#![doc = "BOLT 12 async payments on LDK: everything an always-online node needs to serve static \
invoices for often-offline recipients, and the recipient's side."]
//!
//! - [`store`]: durable static invoices and the recipient registry ([`StaticInvoiceStore`]; SQLite
//!   and PostgreSQL backends), slot quotas, a recipient limit, expiry pruning.
//! - [`registry`]: [`RegistrationToken`], the bech32m string that hands a recipient the blinded
//!   paths to the server.
//! - [`rate_limit`]: a token-bucket [`RateLimiter`] per recipient with bounded memory.
//! - [`server`]: [`StaticInvoiceServer`], which handles `Event::PersistStaticInvoice` and
//!   `Event::StaticInvoiceRequested` through the [`AsyncPaymentsNode`] trait.
//! - [`decode_cache`]: decoded invoices of recently served recipients (the store is still read
//!   on every request).
//! - [`mailbox`]: [`Mailbox`], a durable store of onion messages held for offline peers.
//! - [`client`]: helpers for the often-offline recipient ([`AsyncReceiver`]).
#![warn(missing_docs)]

pub mod client;
pub mod decode_cache;
pub mod mailbox;
pub mod rate_limit;
pub mod registry;
pub mod server;
pub mod store;

pub use client::{AsyncReceiver, ClientError};
pub use mailbox::{Mailbox, MailboxError, MailboxLimits};
pub use rate_limit::{RateLimitConfig, RateLimiter};
pub use registry::{RegistrationToken, TokenError};
pub use server::{AsyncPaymentsNode, StaticInvoiceServer};
pub use store::{
    PostgresOptions, PostgresStaticInvoiceStore, SqliteStaticInvoiceStore, StaticInvoiceStore,
    StoreError, StoreLimits, StoredInvoice,
};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
