//! `POST /v1/wallet/address`, `GET /v1/wallet/balance`, `POST /v1/wallet/send`.

use bitcoin::FeeRate;

use super::{call, parse_body, positive, sats, Call};
use crate::api::failure::Failure;
use crate::api::types::{
    EmptyRequest, NewAddress, SentTransaction, WalletBalance, WalletSendRequest,
};

/// The first unpaid receive address (the same one until coins arrive at it).
pub(crate) fn address(body: &[u8], _: &str) -> Result<Call, Failure> {
    let _: EmptyRequest = parse_body(body)?;
    call(|node| async move {
        Ok(NewAddress {
            address: node.wallet().new_address()?.to_string(),
        })
    })
}

/// Balances.
pub(crate) fn balance(body: &[u8], _: &str) -> Result<Call, Failure> {
    let _: EmptyRequest = parse_body(body)?;
    call(|node| async move { Ok(WalletBalance::from(&node.wallet().balance())) })
}

/// Sends on chain.
pub(crate) fn send(body: &[u8], _: &str) -> Result<Call, Failure> {
    let r: WalletSendRequest = parse_body(body)?;
    let amount = match (r.amount_sat, r.send_all) {
        (Some(sat), false) => Some(sats("amount_sat", sat)?),
        (None, true) => None,
        (Some(_), true) => {
            return Err(Failure::bad_request(
                "give either `amount_sat` or `send_all`, not both",
            ))
        }
        (None, false) => {
            return Err(Failure::bad_request(
                "missing `amount_sat` (or `send_all: true` to send everything)",
            ))
        }
    };
    let fee_rate = match r.fee_rate_sat_per_vb {
        None => None,
        Some(rate) => Some(
            FeeRate::from_sat_per_vb(positive("fee_rate_sat_per_vb", rate)?)
                .filter(|_| rate <= 100_000)
                .ok_or_else(|| {
                    Failure::bad_request("fee_rate_sat_per_vb must be at most 100000")
                })?,
        ),
    };
    let address = r.address;
    call(move |node| async move {
        let txid = node.wallet().send(&address, amount, fee_rate).await?;
        Ok(SentTransaction {
            txid: txid.to_string(),
        })
    })
}
