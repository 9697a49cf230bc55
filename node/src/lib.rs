//! `lnedge-node`: the lnedge edge node — LDK 0.3 objects wired together on a Bitcoin Core
//! JSON-RPC chain source (or, with the `devnet` feature, an embedded `lnedge_devnet` chain), a
//! BDK wallet, an event loop, and the extension points RFQ, payjoin and async payments plug
//! into (ARCHITECTURE.md, "lnedge-node").
//!
//! Start with [`NodeBuilder`]: add [`Feature`]s, `build` it, [`Node::start`] it. A node is
//! reached through handles: [`Node::peers`], [`Node::channels`], [`Node::bolt11_payment`],
//! [`Node::bolt12_payment`], [`Node::spontaneous_payment`], [`Node::payments`], [`Node::wallet`],
//! and the handles features provide ([`Node::extension`]).
//!
//! | module | what it holds |
//! |---|---|
//! | [`builder`] | [`NodeBuilder`]: configuration, features, `build` |
//! | [`node`] | [`Node`]: handles, `start`, `stop` |
//! | [`hooks`] | the extension points: custom peer messages, HTLC interception, event extensions |
//! | [`feature`] | [`Feature`]: how a library's adapter installs itself on the builder |
//! | [`peers`], [`channels`], [`payment`], [`wallet`] | the handles |
//! | [`api`] | the admin HTTP API; [`api::types`] its JSON shapes, shared with the `lnedge` CLI |
//! | [`chain`] | the chain client (bitcoind JSON-RPC), fees, block sync |
//! | [`ldk`] | LDK's concrete types, logger, keys, peer connections, channel configuration |
//! | [`model`] | what the node reports, typed |
//! | [`config`], [`error`], [`seed`] | configuration, errors, the seed |
#![warn(missing_docs)]

pub mod adapters;
pub mod api;
pub mod builder;
pub mod chain;
pub mod channels;
pub mod config;
pub mod error;
mod events;
pub mod feature;
pub mod hooks;
pub mod ldk;
pub mod model;
pub mod node;
pub mod payment;
pub mod peers;
mod private_fs;
pub mod seed;
mod sqlite;
pub mod wallet;

pub use builder::NodeBuilder;
pub use config::{ChainSource, InboundChannelPolicy, NodeConfig, PersistenceOrder, RpcCredentials};
pub use error::{BuildError, NodeError, StartError};
pub use feature::{Feature, FeatureContext};
pub use hooks::events::{EventExtension, EventOutcome};
pub use hooks::htlc_interception::{
    HtlcCircuit, HtlcInterceptor, HtlcResolution, IncomingHtlc, InterceptDecision, InterceptedHtlc,
    NoInterception,
};
pub use hooks::peer_messages::{PeerMessageHandler, PeerMessageSender, RawPeerMessage};
pub use node::Node;

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
