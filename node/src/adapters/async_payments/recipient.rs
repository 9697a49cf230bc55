//! The often-offline recipient role: apply a server's registration token, hand out offers that
//! stay payable while the node is off.
//!
//! LDK keeps the offers (its `AsyncReceiveOfferCache`, inside the channel manager) and does the
//! exchanges with the server on peer connections and timer ticks. LDK does not expose the cache,
//! so the offers listed by [`AsyncRecipient::offers`] are the ones this node handed out, kept in
//! the KV store so that they survive restarts.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_offers::{AsyncReceiver, ClientError, RegistrationToken};
use lightning::offers::offer::Offer;
use lightning::util::persist::KVStoreSync;

use crate::error::NodeError;
use crate::ldk::types::{ChannelManager, KvStore};

/// KV namespace of the offers handed out (primary "lnedge").
const NAMESPACE: &str = "lnedge";
const OFFERS: &str = "async_offers";

/// The async recipient side of this node. Reached by
/// [`Node::extension::<AsyncRecipient>()`](crate::Node::extension).
pub struct AsyncRecipient {
    receiver: AsyncReceiver<Arc<ChannelManager>>,
    kv: KvStore,
}

impl std::fmt::Debug for AsyncRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRecipient").finish_non_exhaustive()
    }
}

fn client_error(e: ClientError) -> NodeError {
    match e {
        ClientError::PathsRefused => NodeError::InvalidInput(e.to_string()),
        ClientError::Timeout(_) => NodeError::Timeout(e.to_string()),
        _ => NodeError::NotFound(format!(
            "{e}: apply a registration token, keep a channel with the server open and the node \
             connected to it"
        )),
    }
}

impl AsyncRecipient {
    pub(super) fn new(channel_manager: Arc<ChannelManager>, kv: KvStore) -> Self {
        AsyncRecipient {
            receiver: AsyncReceiver::new(channel_manager),
            kv,
        }
    }

    /// Applies a server's registration token: LDK persists the paths in its channel manager
    /// and asks the server for offer paths at once (later on peer connections and timer
    /// ticks, up to three requests a minute, until it holds ten offers).
    pub fn apply(&self, token: &RegistrationToken) -> Result<(), NodeError> {
        self.receiver.apply_token(token).map_err(client_error)
    }

    /// An offer for one use, payable while this node is offline (amount-less: payers choose
    /// the amount). `NotFound` until the server has confirmed an invoice.
    pub fn offer(&self) -> Result<Offer, NodeError> {
        let offer = self.receiver.offer().map_err(client_error)?;
        self.remember(&offer)?;
        Ok(offer)
    }

    /// Waits up to `timeout` for an offer (the node must be running and connected to the
    /// server).
    pub async fn wait_for_offer(&self, timeout: Duration) -> Result<Offer, NodeError> {
        let offer = self
            .receiver
            .wait_for_offer(timeout, Duration::from_millis(50))
            .await
            .map_err(client_error)?;
        self.remember(&offer)?;
        Ok(offer)
    }

    /// The async offers this node has handed out.
    pub fn offers(&self) -> Result<Vec<Offer>, NodeError> {
        let keys = KVStoreSync::list(&*self.kv, NAMESPACE, OFFERS)
            .map_err(|e| NodeError::io("listing async offers", e))?;
        let mut offers = Vec::with_capacity(keys.len());
        for key in keys {
            let bytes = KVStoreSync::read(&*self.kv, NAMESPACE, OFFERS, &key)
                .map_err(|e| NodeError::io("reading an async offer", e))?;
            let text = String::from_utf8(bytes)
                .map_err(|e| NodeError::io("reading an async offer", std::io::Error::other(e)))?;
            let offer = Offer::from_str(&text).map_err(|e| {
                NodeError::io(
                    "reading an async offer",
                    std::io::Error::other(format!("{e:?}")),
                )
            })?;
            offers.push(offer);
        }
        Ok(offers)
    }

    fn remember(&self, offer: &Offer) -> Result<(), NodeError> {
        let key = bitcoin::hex::DisplayHex::to_lower_hex_string(&offer.id().0[..]);
        KVStoreSync::write(
            &*self.kv,
            NAMESPACE,
            OFFERS,
            &key,
            offer.to_string().into_bytes(),
        )
        .map_err(|e| NodeError::io("recording an async offer", e))
    }
}
