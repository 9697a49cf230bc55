//! `POST /v1/offers`, `POST /v1/offers/pay`.

use std::str::FromStr;

use bitcoin::hex::DisplayHex;
use lightning::offers::offer::Offer as LdkOffer;

use super::{call, msat_opt, parse_body, payments::outcome, wait_time, Call};
use crate::api::failure::Failure;
use crate::api::types::{CreateOfferRequest, Offer, PayOfferRequest};

/// Creates an offer.
pub(crate) fn create(body: &[u8], _: &str) -> Result<Call, Failure> {
    let r: CreateOfferRequest = parse_body(body)?;
    let amount_msat = msat_opt("amount_msat", r.amount_msat)?;
    let description = r.description.unwrap_or_default();
    call(move |node| async move {
        let offer = node.bolt12_payment().receive(amount_msat, &description)?;
        Ok(Offer {
            offer: offer.to_string(),
            offer_id: offer.id().0.to_lower_hex_string(),
        })
    })
}

/// Pays an offer, waiting for the outcome if asked to.
pub(crate) fn pay(body: &[u8], _: &str) -> Result<Call, Failure> {
    let r: PayOfferRequest = parse_body(body)?;
    let amount_msat = msat_opt("amount_msat", r.amount_msat)?;
    let wait = wait_time(r.wait_secs)?;
    let offer = LdkOffer::from_str(r.offer.trim())
        .map_err(|e| Failure::bad_request(format!("invalid BOLT 12 offer: {e:?}")))?;
    call(move |node| async move {
        let id = node.bolt12_payment().send(&offer, amount_msat)?;
        outcome(&node, &id, wait).await
    })
}
