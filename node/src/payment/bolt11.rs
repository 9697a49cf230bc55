//! [`Bolt11Payments`]: BOLT 11 invoices, received and paid.

use std::sync::Arc;

use bitcoin::Network;
use lightning::ln::channelmanager::{
    Bolt11InvoiceParameters, OptionalBolt11PaymentParams, PaymentId,
};
use lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescription, Description};

use crate::error::NodeError;
use crate::ldk::types::ChannelManager;
use crate::model::{PaymentDirection, PaymentKind, PaymentStatus};
use crate::payment::store::PaymentStore;

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
        if let Some(existing) = self.store.get(&id)? {
            if existing.direction == PaymentDirection::Outbound
                && existing.status != PaymentStatus::Failed
            {
                return Err(NodeError::invalid(format!(
                    "invoice {hash} is already being paid or paid"
                )));
            }
        }
        self.store.insert(&PaymentStore::new_record(
            id,
            Some(hash),
            PaymentDirection::Outbound,
            PaymentKind::Bolt11,
            PaymentStatus::Pending,
            amount,
        ))?;
        let params = OptionalBolt11PaymentParams::default();
        if let Err(e) =
            self.channel_manager
                .pay_for_bolt11_invoice(invoice, id, amount_msat, params)
        {
            let reason = format!("{e:?}");
            self.store.failed(&id, &reason)?;
            return Err(NodeError::Lightning(format!(
                "cannot pay invoice: {reason}"
            )));
        }
        Ok(id)
    }
}
