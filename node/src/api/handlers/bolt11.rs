//! `POST /v1/invoices`, `POST /v1/invoices/pay`.

use std::str::FromStr;

use bitcoin::hex::DisplayHex;
use lightning_invoice::Bolt11Invoice;

use super::DEFAULT_INVOICE_EXPIRY_SECS;
use super::{call, msat_opt, parse_body, payments::outcome, wait_time, Call};
use crate::api::failure::Failure;
use crate::api::types::{CreateInvoiceRequest, Invoice, PayInvoiceRequest};
use crate::payment::MAX_INVOICE_MSAT;

/// Creates an invoice.
pub(crate) fn create(body: &[u8], _: &str) -> Result<Call, Failure> {
    let r: CreateInvoiceRequest = parse_body(body)?;
    let amount_msat = msat_opt("amount_msat", r.amount_msat)?;
    if amount_msat.is_some_and(|a| a > MAX_INVOICE_MSAT) {
        return Err(Failure::bad_request(format!(
            "amount_msat is more than a BOLT 11 invoice can carry ({MAX_INVOICE_MSAT} msat)"
        )));
    }
    let expiry_secs = r.expiry_secs.unwrap_or(DEFAULT_INVOICE_EXPIRY_SECS);
    if expiry_secs == 0 {
        return Err(Failure::bad_request("expiry_secs must be positive"));
    }
    let description = r.description.unwrap_or_default();
    call(move |node| async move {
        let invoice = node
            .bolt11_payment()
            .receive(amount_msat, &description, expiry_secs)?;
        Ok(Invoice {
            payment_hash: invoice.payment_hash().0.to_lower_hex_string(),
            expiry_secs: invoice.expiry_time().as_secs(),
            invoice: invoice.to_string(),
        })
    })
}

/// Pays an invoice, waiting for the outcome if asked to.
pub(crate) fn pay(body: &[u8], _: &str) -> Result<Call, Failure> {
    let r: PayInvoiceRequest = parse_body(body)?;
    let amount_msat = msat_opt("amount_msat", r.amount_msat)?;
    let wait = wait_time(r.wait_secs)?;
    let invoice = Bolt11Invoice::from_str(r.invoice.trim())
        .map_err(|e| Failure::bad_request(format!("invalid BOLT 11 invoice: {e}")))?;
    call(move |node| async move {
        let id = node.bolt11_payment().send(&invoice, amount_msat)?;
        outcome(&node, &id, wait).await
    })
}
