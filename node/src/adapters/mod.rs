//! Adapters: each library of the workspace as a [`Feature`](crate::Feature) of the node.
//!
//! | adapter | library | what it adds |
//! |---|---|---|
//! | [`async_payments`] | `async-offers` | static invoice server, mailbox, often-offline recipient |

pub mod async_payments;
