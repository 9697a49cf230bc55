//! [`Wallet`]: the on-chain wallet as users reach it.

use std::str::FromStr;
use std::sync::Arc;

use bitcoin::{Address, Amount, FeeRate, Network, Txid};

use super::{OnchainWallet, WalletBalance, WalletError};
use crate::error::NodeError;

/// The on-chain wallet. Reached by [`Node::wallet`](crate::Node::wallet).
#[derive(Clone)]
pub struct Wallet {
    pub(crate) wallet: Arc<OnchainWallet>,
    pub(crate) network: Network,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet").finish_non_exhaustive()
    }
}

impl Wallet {
    /// A receive address: the first one not yet paid (the same one until coins arrive at
    /// it, then a new one), so a flood of requests cannot push coins past the gap a restore
    /// from the seed scans. `POST /v1/wallet/address` answers with it.
    pub fn new_address(&self) -> Result<Address, NodeError> {
        Ok(self.wallet.new_address()?)
    }

    /// A receive address never handed out before, even while earlier ones are unpaid: for
    /// funding several outputs at once. Prefer [`new_address`](Self::new_address).
    pub fn reveal_next_address(&self) -> Result<Address, NodeError> {
        Ok(self.wallet.reveal_next_address()?)
    }

    /// Balances.
    pub fn balance(&self) -> WalletBalance {
        self.wallet.balance()
    }

    /// Sends on chain: `amount = None` sends everything. Returns the txid.
    pub async fn send(
        &self,
        address: &str,
        amount: Option<Amount>,
        fee_rate: Option<FeeRate>,
    ) -> Result<Txid, NodeError> {
        let address = Address::from_str(address.trim())
            .map_err(|e| NodeError::invalid(format!("invalid address `{address}`: {e}")))?
            .require_network(self.network)
            .map_err(|_| NodeError::invalid(format!("address is not for {}", self.network)))?;
        if amount == Some(Amount::ZERO) {
            return Err(NodeError::invalid(
                "amount must be positive (or omitted to send all)",
            ));
        }
        let tx = self
            .wallet
            .send(&address, amount, fee_rate)
            .await
            .map_err(|e| match e {
                WalletError::Build(m) => NodeError::invalid(m),
                other => other.into(),
            })?;
        Ok(tx.compute_txid())
    }

    /// Signs the wallet's inputs of a PSBT (a payjoin proposal, a co-funded transaction);
    /// returns whether every input is now finalized.
    pub fn sign_psbt(&self, psbt: &mut bitcoin::Psbt) -> Result<bool, NodeError> {
        Ok(self.wallet.sign_psbt(psbt)?)
    }
}
