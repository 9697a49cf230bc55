//! The node's extension points: what a feature (RFQ, payjoin-funded channels, async payments)
//! plugs into, so that the core knows interfaces and not features. ARCHITECTURE.md ("Extension
//! points") has a paragraph on each and a worked example.
//!
//! - [`peer_messages`]: custom peer messages, each handler with its own outbound queue;
//! - [`htlc_interception`]: HTLCs to SCIDs the node does not know, decided asynchronously within
//!   a time bound and followed until they settle or fail;
//! - [`events`]: a chain of LDK event handlers, each answering "not mine" for what it does not own.
//!
//! A library's adapter installs any of these as a [`Feature`](crate::feature::Feature) on the
//! [`NodeBuilder`](crate::NodeBuilder). The node's side of each (LDK glue) lives in
//! [`ldk`](crate::ldk).

pub mod events;
pub mod htlc_interception;
pub mod peer_messages;

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future: what the extension traits return, so they stay object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
