//! [`Bolt12Payments`]: BOLT 12 offers, received and paid.

use std::sync::Arc;

use lightning::ln::channelmanager::PaymentId;
use lightning::offers::offer::{Amount, Offer};
use lightning::sign::{EntropySource, KeysManager};

use crate::error::NodeError;
use crate::ldk::types::ChannelManager;
use crate::model::{PaymentDirection, PaymentKind, PaymentStatus};
use crate::payment::store::PaymentStore;

/// BOLT 12 payments. Reached by [`Node::bolt12_payment`](crate::Node::bolt12_payment).
#[derive(Clone)]
pub struct Bolt12Payments {
    pub(crate) channel_manager: Arc<ChannelManager>,
    pub(crate) store: Arc<PaymentStore>,
    pub(crate) keys: Arc<KeysManager>,
}

impl std::fmt::Debug for Bolt12Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bolt12Payments").finish_non_exhaustive()
    }
}

impl Bolt12Payments {
    /// Creates an offer (`amount_msat = None`: any amount).
    pub fn receive(&self, amount_msat: Option<u64>, description: &str) -> Result<Offer, NodeError> {
        if amount_msat == Some(0) {
            return Err(NodeError::invalid(
                "offer amount must be positive (or omitted)",
            ));
        }
        let mut builder = self
            .channel_manager
            .create_offer_builder()
            .map_err(|e| NodeError::ldk("create offer", e))?
            .description(description.to_string());
        if let Some(amount) = amount_msat {
            builder = builder.amount_msats(amount);
        }
        builder
            .build()
            .map_err(|e| NodeError::ldk("create offer", e))
    }

    /// Pays an offer (`amount_msat` required for amount-less offers). Returns the payment id.
    pub fn send(&self, offer: &Offer, amount_msat: Option<u64>) -> Result<PaymentId, NodeError> {
        if amount_msat == Some(0) {
            return Err(NodeError::invalid("amount_msat must be positive"));
        }
        let id = PaymentId(self.keys.get_secure_random_bytes());
        let amount = amount_msat.or(match offer.amount() {
            Some(Amount::Bitcoin { amount_msats }) => Some(amount_msats),
            _ => None,
        });
        self.store.insert(&PaymentStore::new_record(
            id,
            None,
            PaymentDirection::Outbound,
            PaymentKind::Bolt12,
            PaymentStatus::Pending,
            amount,
        ))?;
        if let Err(e) =
            self.channel_manager
                .pay_for_offer(offer, amount_msat, id, Default::default())
        {
            let reason = format!("{e:?}");
            self.store.failed(&id, &reason)?;
            return Err(NodeError::invalid(format!("cannot pay offer: {reason}")));
        }
        Ok(id)
    }
}
