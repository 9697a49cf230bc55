//! [`Bolt11Payments`]: BOLT 11 invoices, received and paid.

use std::sync::Arc;

use bitcoin::Network;
use lightning::ln::channelmanager::{
    Bolt11InvoiceParameters, OptionalBolt11PaymentParams, PaymentId,
};
use lightning::ln::outbound_payment::{Bolt11PaymentError, RetryableSendFailure};
use lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescription, Description};

use crate::error::NodeError;
use crate::ldk::types::ChannelManager;
use crate::model::{PaymentDirection, PaymentKind, PaymentStatus};
use crate::payment::store::PaymentStore;

/// The largest amount a BOLT 11 invoice can carry: invoices count in pico-bitcoin (a tenth of a
/// millisatoshi) in 64 bits, so about 18.4 million bitcoin, below the 21 million cap.
pub const MAX_INVOICE_MSAT: u64 = u64::MAX / 10;

/// BOLT 11 payments. Reached by [`Node::bolt11_payment`](crate::Node::bolt11_payment).
#[derive(Clone)]
pub struct Bolt11Payments {
    pub(crate) channel_manager: Arc<ChannelManager>,
    pub(crate) store: Arc<PaymentStore>,
    pub(crate) network: Network,
}

impl std::fmt::Debug for Bolt11Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bolt11Payments").finish_non_exhaustive()
    }
}

impl Bolt11Payments {
    /// Creates an invoice (`amount_msat = None`: any amount).
    pub fn receive(
        &self,
        amount_msat: Option<u64>,
        description: &str,
        expiry_secs: u32,
    ) -> Result<Bolt11Invoice, NodeError> {
        if amount_msat == Some(0) {
            return Err(NodeError::invalid(
                "invoice amount must be positive (or omitted)",
            ));
        }
        if amount_msat.is_some_and(|a| a > MAX_INVOICE_MSAT) {
            return Err(NodeError::invalid(format!(
                "amount_msat is more than a BOLT 11 invoice can carry ({MAX_INVOICE_MSAT} msat)"
            )));
        }
        let description = Description::new(description.to_string())
            .map_err(|e| NodeError::invalid(format!("invalid description: {e}")))?;
        let params = Bolt11InvoiceParameters {
            amount_msats: amount_msat,
            description: Bolt11InvoiceDescription::Direct(description),
            invoice_expiry_delta_secs: Some(expiry_secs),
            ..Default::default()
        };
        let invoice = self
            .channel_manager
            .create_bolt11_invoice(params)
            .map_err(|e| NodeError::ldk("create invoice", e))?;
        let hash = invoice.payment_hash();
        self.store.insert(&PaymentStore::new_record(
            PaymentId(hash.0),
            Some(hash),
            PaymentDirection::Inbound,
            PaymentKind::Bolt11,
            PaymentStatus::Pending,
            amount_msat,
        ))?;
        Ok(invoice)
    }

    /// Pays an invoice (`amount_msat` only for amount-less invoices). Returns the payment id;
    /// follow it with [`Payments::wait`](super::Payments::wait) or the event stream.
    pub fn send(
        &self,
        invoice: &Bolt11Invoice,
        amount_msat: Option<u64>,
    ) -> Result<PaymentId, NodeError> {
        if invoice.network() != self.network {
            return Err(NodeError::invalid(format!(
                "invoice is for {}, this node runs on {}",
                invoice.network(),
                self.network
            )));
        }
        if invoice.would_expire(lnedge_storage::clock::since_epoch()) {
            return Err(NodeError::invalid(format!(
                "invoice expired (at Unix time {})",
                invoice.expires_at().map_or(0, |t| t.as_secs())
            )));
        }
        match (invoice.amount_milli_satoshis(), amount_msat) {
            (None, None) => {
                return Err(NodeError::invalid(
                    "invoice has no amount; give amount_msat",
                ))
            }
            (_, Some(0)) => return Err(NodeError::invalid("amount_msat must be positive")),
            _ => {}
        }
        let hash = invoice.payment_hash();
        let id = PaymentId(hash.0);
        let amount = amount_msat.or(invoice.amount_milli_satoshis());
        // A new payment, or a retry of one that failed (LDK forgets a payment once it failed,
        // so the same id is free again there too); the check and the claim are one statement.
        let started = self.store.begin_outbound(&PaymentStore::new_record(
            id,
            Some(hash),
            PaymentDirection::Outbound,
            PaymentKind::Bolt11,
            PaymentStatus::Pending,
            amount,
        ))?;
        if !started {
            let existing = self.store.get(&id)?;
            return Err(NodeError::invalid(match existing {
                Some(p) if p.direction == PaymentDirection::Inbound => {
                    format!("invoice {hash} is this node's own: a node cannot pay itself")
                }
                Some(p) if p.status == PaymentStatus::Succeeded => {
                    format!("invoice {hash} is paid already")
                }
                _ => format!("invoice {hash} is being paid (pending): wait for its outcome"),
            }));
        }
        let params = OptionalBolt11PaymentParams::default();
        if let Err(e) =
            self.channel_manager
                .pay_for_bolt11_invoice(invoice, id, amount_msat, params)
        {
            let reason = format!("{e:?}");
            self.store.failed(&id, &reason)?;
            // Expired between the check above and LDK's own: the caller's to fix, as above.
            if matches!(
                e,
                Bolt11PaymentError::SendingFailed(RetryableSendFailure::PaymentExpired)
            ) {
                return Err(NodeError::invalid("invoice expired"));
            }
            // No route because the amount is more than every usable channel can send together
            // (e.g. 21 million bitcoin): the request's to fix, and the text says why.
            if matches!(
                e,
                Bolt11PaymentError::SendingFailed(RetryableSendFailure::RouteNotFound)
            ) {
                if let Some(text) = super::over_capacity(
                    &self.channel_manager,
                    "cannot pay invoice",
                    amount.unwrap_or(0),
                ) {
                    return Err(NodeError::invalid(text));
                }
            }
            return Err(NodeError::Lightning(format!(
                "cannot pay invoice: {reason}"
            )));
        }
        Ok(id)
    }
}
