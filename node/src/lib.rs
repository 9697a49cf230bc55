//! `lnedge-node`: the lnedge edge node.
//!
//! Today it holds [`devnet`], an embedded regtest chain that serves the subset of Bitcoin Core's
//! JSON-RPC the node uses (DESIGN.md decision 5). The LDK composition joins it here.
#![warn(missing_docs)]

pub mod devnet;

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
