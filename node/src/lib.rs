//! `lnedge-node`: the lnedge edge node — LDK 0.3 objects wired together on a Bitcoin Core
//! JSON-RPC chain source (or the embedded [`devnet`]), a BDK wallet, an event loop, and the
//! slots RFQ, payjoin and async payments plug into (DESIGN.md "Crates": `node/`).
//!
//! Start with [`NodeBuilder`]; a built [`Node`] answers everything the admin API exposes.
#![warn(missing_docs)]

pub mod api;
pub mod builder;
pub mod chain;
pub mod config;
pub mod devnet;
pub mod error;
mod events;
pub mod ldk;
pub mod model;
pub mod node;
pub mod payments;
pub mod seed;
mod sqlite;
pub mod wallet;

pub use builder::NodeBuilder;
pub use config::{ChainSource, InboundChannelPolicy, NodeConfig, RpcCredentials};
pub use error::NodeError;
pub use ldk::slots::{
    HtlcInterceptor, InterceptDecision, InterceptedHtlc, NoInterception, NoPeerMessages,
    PeerMessageHandler, RawPeerMessage,
};
pub use node::Node;

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
