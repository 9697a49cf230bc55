//! # payjoin-channel
//!
//! A BIP 78 (payjoin v1) receiver whose payjoin transaction funds Lightning channels.
//!
//! The payer's payjoin transaction *is* the channel funding transaction: the receiver output that
//! the payer meant to pay is replaced by one funding output per scheduled channel (at exactly the
//! channel amount) plus the receiver's change. Lightning and the wallet come in through traits, so
//! the crate serves any Lightning implementation and has no `lightning` dependency.
//!
//! Table of contents:
//!
//! - [`opener`]: [`ChannelOpener`], the Lightning side (open, funding outpoint, abandon).
//! - [`wallet`]: [`ReceiverWallet`], the on-chain wallet side (addresses, ownership, inputs, signing).
//! - [`chain`]: [`ChainWatch`], whether a transaction was seen or confirmed.
//! - [`types`]: the shared vocabulary: [`ScheduleId`], [`ScheduleState`], [`AbandonReason`].
//! - [`store`]: [`ReceiverStore`], durable state in SQLite ([`Schedule`]s, seen inputs,
//!   outcomes).
//! - [`scheduler`]: [`ChannelScheduler`], schedules channels and hands out [`PayjoinInvoice`]s.
//! - [`receiver`]: [`PayjoinReceiver`], the BIP 78 state machine glue (checklist, channel
//!   funding, plain payjoin fallback), independent of the HTTP transport.
//! - [`funding`]: the exact-amount output recipe that turns a payjoin into a funding transaction.
//! - [`watchdog`]: watches the payjoin and the original transaction after a channel proposal and
//!   abandons channels whose funding never confirms.
//! - [`events`]: [`ReceiverEvent`], every outcome as an event.
//! - [`reply`]: [`Reply`], a BIP 78 HTTP reply (PSBT or JSON error).
//! - [`http`]: the hyper 1 HTTP/1.1 server ([`serve_tls`], or [`serve`] behind a proxy).
//! - [`tls`]: rustls configuration from PEM files, or a self-signed development certificate.
//! - [`error`]: error types.
#![warn(missing_docs)]

pub mod chain;
pub mod error;
pub mod events;
pub mod funding;
pub mod http;
pub mod opener;
pub mod receiver;
pub mod reply;
pub mod scheduler;
pub mod store;
pub mod tls;
pub mod types;
pub mod wallet;
pub mod watchdog;

pub use chain::{ChainWatch, TxStatus};
pub use error::{BackendError, ScheduleError, StoreError};
pub use events::ReceiverEvent;
pub use http::{serve, serve_tls, ServerHandle};
pub use opener::{ChannelOpener, ChannelRequest, PendingChannel};
pub use receiver::{PayjoinReceiver, ReceiverConfig};
pub use reply::Reply;
pub use scheduler::{ChannelScheduler, PayjoinInvoice};
pub use store::{ReceiverStore, Schedule};
pub use types::{AbandonReason, ScheduleId, ScheduleState};
pub use wallet::ReceiverWallet;

/// The `payjoin` crate this receiver is built on (re-exported so implementers of the traits use
/// the same `InputPair`, `Psbt` and `bitcoin` types).
pub use payjoin;
