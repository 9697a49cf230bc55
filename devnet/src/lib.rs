//! # lnedge-devnet
//!
//! An embedded regtest chain that speaks Bitcoin Core's JSON-RPC, for demos, tests and local
//! setups: a client written for `bitcoind` (lightning-block-sync's `RpcClient`, BDK's RPC
//! emitter, the lnedge node) works against it unchanged.
//!
//! Real regtest blocks (Bitcoin's regtest genesis, BIP 34 coinbases, regtest's 150-block
//! halving, witness commitments, merkle roots, proof of work), a mempool with Core's main
//! consensus and policy checks (scripts run by `bitcoinconsensus`, Bitcoin Core's interpreter),
//! mining on demand or on an interval, `invalidateblock` reorganisations, and optional
//! persistence. [`RpcServer`] serves the subset of Core's RPC listed in `docs/devnet.md`; the
//! known differences from Core are in this crate's README.
//!
//! Contents:
//! - [`handle`]: [`Devnet`], the handle to one chain (mine, submit, send, reorganise), started
//!   from a [`DevnetConfig`]; failures are [`DevnetError`]s;
//! - [`state`]: [`State`], the pieces below together, and the operations that touch several;
//! - [`params`]: regtest consensus and policy constants;
//! - [`validation`]: transaction rules (context-free, finality, inputs, scripts); refusals are
//!   [`Rejection`]s of a [`RejectKind`];
//! - [`block`]: block building (coinbase, merkle root, proof of work);
//! - [`chain`]: block tree, UTXO set, reorganisations; failures are [`ChainError`]s;
//! - [`mempool`]: Core's relay policy subset ([`Policy`]), [`Accepted`] transactions;
//! - [`fees`]: `estimatesmartfee`'s [`FeeCurve`];
//! - [`store`]: the append-only chain log (`chain.dat`); failures are [`StoreError`]s;
//! - [`miner`]: the [`IntervalMiner`];
//! - [`rpc`]: the hyper JSON-RPC server ([`RpcServer`], [`RpcServerConfig`], [`RpcAuth`]).
#![warn(missing_docs)]

pub mod block;
pub mod chain;
pub mod fees;
pub mod handle;
pub mod mempool;
pub mod miner;
pub mod params;
pub mod rpc;
pub mod state;
pub mod store;
pub mod validation;

pub use chain::ChainError;
pub use fees::FeeCurve;
pub use handle::{
    anyone_can_spend_script, op_true_witness_script, Devnet, DevnetConfig, DevnetError,
};
pub use mempool::{Accepted, Policy};
pub use miner::IntervalMiner;
pub use rpc::{RpcAuth, RpcServer, RpcServerConfig};
pub use state::State;
pub use store::StoreError;
pub use validation::{RejectKind, Rejection};

/// The README's example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
