//! [`SpontaneousPayments`]: keysend payments sent (received ones are claimed by the event
//! handler and recorded with the kind `keysend`).

use std::sync::Arc;

use bitcoin::secp256k1::PublicKey;
use lightning::ln::channelmanager::{OptionalBolt11PaymentParams, PaymentId};
use lightning::ln::outbound_payment::{RecipientOnionFields, RetryableSendFailure};
use lightning::routing::router::{PaymentParameters, RouteParameters};
use lightning::sign::{EntropySource, KeysManager};
use lightning::types::payment::{PaymentHash, PaymentPreimage};

use crate::error::NodeError;
use crate::ldk::types::ChannelManager;
use crate::model::{PaymentDirection, PaymentKind, PaymentStatus};
use crate::payment::store::PaymentStore;

/// The CLTV expiry delta the last hop of a keysend payment gets (there is no invoice to say
/// what the recipient wants): 144 blocks, as ldk-node sends, well above what LDK, LND and CLN
/// require of a final hop.
const FINAL_CLTV_EXPIRY_DELTA: u32 = 144;

/// Keysend (spontaneous) payments: paid to a node id, no invoice. Reached by
/// [`Node::spontaneous_payment`](crate::Node::spontaneous_payment).
#[derive(Clone)]
pub struct SpontaneousPayments {
    pub(crate) channel_manager: Arc<ChannelManager>,
    pub(crate) store: Arc<PaymentStore>,
    pub(crate) keys: Arc<KeysManager>,
}

impl std::fmt::Debug for SpontaneousPayments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpontaneousPayments")
            .finish_non_exhaustive()
    }
}

impl SpontaneousPayments {
    /// Sends `amount_msat` to `node_id` by keysend, under a random preimage. Returns the
    /// payment id (the payment hash); follow it with [`Payments::wait`](super::Payments::wait)
    /// or the event stream. The payment is recorded (pending, kind `keysend`) before it is
    /// sent. `InvalidInput` for a zero amount, our own node id, or an amount more than the
    /// usable channels can send together; `Lightning` if LDK finds no route (the payment is
    /// then recorded as failed).
    pub fn send(&self, node_id: PublicKey, amount_msat: u64) -> Result<PaymentId, NodeError> {
        if amount_msat == 0 {
            return Err(NodeError::invalid("amount_msat must be positive"));
        }
        if node_id == self.channel_manager.get_our_node_id() {
            return Err(NodeError::invalid(format!(
                "{node_id} is this node's own id: a node cannot pay itself"
            )));
        }
        let preimage = PaymentPreimage(self.keys.get_secure_random_bytes());
        let hash = PaymentHash::from(preimage);
        let id = PaymentId(hash.0);
        self.store.insert(&PaymentStore::new_record(
            id,
            Some(hash),
            PaymentDirection::Outbound,
            PaymentKind::Keysend,
            PaymentStatus::Pending,
            Some(amount_msat),
        ))?;
        let route_params = RouteParameters::from_payment_params_and_value(
            PaymentParameters::for_keysend(node_id, FINAL_CLTV_EXPIRY_DELTA, false),
            amount_msat,
        );
        // The retry strategy BOLT 11 sends use (LDK's default for them).
        let retry = OptionalBolt11PaymentParams::default().retry_strategy;
        let sent = self.channel_manager.send_spontaneous_payment(
            Some(preimage),
            RecipientOnionFields::spontaneous_empty(amount_msat),
            id,
            route_params,
            retry,
        );
        if let Err(e) = sent {
            let reason = format!("{e:?}");
            self.store.failed(&id, &reason)?;
            if e == RetryableSendFailure::RouteNotFound {
                // More than every usable channel can send together: the request's to fix.
                const WHAT: &str = "cannot send keysend payment";
                if let Some(text) = super::over_capacity(&self.channel_manager, WHAT, amount_msat) {
                    return Err(NodeError::invalid(text));
                }
                return Err(NodeError::Lightning(format!(
                    "{WHAT}: no route to {node_id} for {amount_msat} msat ({reason})"
                )));
            }
            return Err(NodeError::Lightning(format!(
                "cannot send keysend payment to {node_id}: {reason}"
            )));
        }
        Ok(id)
    }
}
