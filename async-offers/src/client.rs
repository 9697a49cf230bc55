//! The often-offline recipient's side: apply a registration token, wait until LDK has an offer
//! confirmed by the server, and take an offer for each use.
//!
//! LDK does the work (`AsyncReceiveOfferCache` inside the `ChannelManager`): after
//! `set_paths_to_static_invoice_server` it asks the server for offer paths, builds offers and
//! static invoices, and an offer becomes usable once the server confirmed its invoice
//! (`static_invoice_persisted`). That happens on timer ticks and peer connections, so
//! [`AsyncReceiver::wait_for_offer`] polls.
//!
//! LDK 0.3 does not expose the offer cache itself (the cache type has no public accessors; the
//! `ChannelManager` only serializes it), so the offers "cached" here are the ones this helper
//! handed out ([`AsyncReceiver::offers_handed_out`]).

use crate::registry::RegistrationToken;
use lightning::blinded_path::message::BlindedMessagePath;
use lightning::ln::channelmanager::AChannelManager;
use lightning::offers::offer::Offer;
use std::ops::Deref;
use std::sync::Mutex;
use std::time::Duration;

/// The `ChannelManager` calls an async recipient makes.
///
/// Implemented for every pointer (`Arc`, `&`) to an LDK [`AChannelManager`]; tests implement it with a test double.
pub trait AsyncRecipientNode {
    /// `ChannelManager::set_paths_to_static_invoice_server`; `false` if LDK refused (no paths).
    fn set_paths_to_static_invoice_server(&self, paths: Vec<BlindedMessagePath>) -> bool;

    /// `ChannelManager::get_async_receive_offer`; `None` until an offer is ready.
    fn get_async_receive_offer(&self) -> Option<Offer>;
}

impl<T: Deref> AsyncRecipientNode for T
where
    T::Target: AChannelManager,
{
    fn set_paths_to_static_invoice_server(&self, paths: Vec<BlindedMessagePath>) -> bool {
        self.deref()
            .get_cm()
            .set_paths_to_static_invoice_server(paths)
            .is_ok()
    }

    fn get_async_receive_offer(&self) -> Option<Offer> {
        self.deref().get_cm().get_async_receive_offer().ok()
    }
}

/// A client failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// LDK refused the token's paths.
    #[error("LDK refused the static invoice server paths")]
    PathsRefused,
    /// No offer became ready in time.
    #[error("no async receive offer became ready within {0:?}")]
    Timeout(Duration),
    /// No offer is ready yet.
    #[error("no async receive offer is ready yet")]
    NotReady,
}

/// Helpers for an often-offline recipient over its node.
#[derive(Debug)]
pub struct AsyncReceiver<N> {
    node: N,
    handed_out: Mutex<Vec<Offer>>,
}

impl<N: AsyncRecipientNode> AsyncReceiver<N> {
    /// Helpers for `node`.
    pub fn new(node: N) -> Self {
        AsyncReceiver {
            node,
            handed_out: Mutex::new(Vec::new()),
        }
    }

    /// The node.
    pub fn node(&self) -> &N {
        &self.node
    }

    /// Configures the node with the token's paths (persisted by LDK in its `ChannelManager`;
    /// needed once, or when the server issues a new token).
    pub fn apply_token(&self, token: &RegistrationToken) -> Result<(), ClientError> {
        if self
            .node
            .set_paths_to_static_invoice_server(token.paths().to_vec())
        {
            Ok(())
        } else {
            Err(ClientError::PathsRefused)
        }
    }

    /// An offer for one use (LDK hands out the newest unused one, else the longest-lived used
    /// one), or [`ClientError::NotReady`].
    pub fn offer(&self) -> Result<Offer, ClientError> {
        let offer = self
            .node
            .get_async_receive_offer()
            .ok_or(ClientError::NotReady)?;
        let mut seen = self.handed_out.lock().unwrap_or_else(|p| p.into_inner());
        if !seen.contains(&offer) {
            seen.push(offer.clone());
        }
        Ok(offer)
    }

    /// Polls [`AsyncReceiver::offer`] every `poll` until an offer is ready or `timeout` passes.
    /// The node must keep running meanwhile (timer ticks, peer connections).
    pub async fn wait_for_offer(
        &self,
        timeout: Duration,
        poll: Duration,
    ) -> Result<Offer, ClientError> {
        let wait = async {
            loop {
                if let Ok(offer) = self.offer() {
                    return offer;
                }
                tokio::time::sleep(poll).await;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| ClientError::Timeout(timeout))
    }

    /// The distinct offers this helper has handed out, oldest first.
    pub fn offers_handed_out(&self) -> Vec<Offer> {
        self.handed_out
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
