//! The on-chain wallet side: [`ReceiverWallet`].

use std::future::Future;

use bitcoin::{Address, OutPoint, Psbt, Script, Transaction};
use payjoin::receive::InputPair;

use crate::error::BackendError;

/// The receiver's on-chain wallet.
pub trait ReceiverWallet: Send + Sync + 'static {
    /// A fresh address of the wallet (for a schedule, or for change).
    fn fresh_address(&self) -> impl Future<Output = Result<Address, BackendError>> + Send;

    /// Whether `script` belongs to the wallet.
    fn is_our_script(
        &self,
        script: &Script,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Whether `outpoint` belongs to the wallet (including unconfirmed and locked coins).
    fn is_our_outpoint(
        &self,
        outpoint: &OutPoint,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;

    /// Coins the receiver may contribute, as native segwit input pairs (P2WPKH, P2WSH, P2TR) so
    /// that the payjoin's txid is fixed before anyone signs. May be empty.
    fn candidate_inputs(&self)
        -> impl Future<Output = Result<Vec<InputPair>, BackendError>> + Send;

    /// Signs and finalizes the wallet's own inputs of `psbt`, leaving the others untouched.
    fn sign_and_finalize(
        &self,
        psbt: Psbt,
    ) -> impl Future<Output = Result<Psbt, BackendError>> + Send;

    /// Whether the payer's original transaction could be broadcast (e.g. `testmempoolaccept`),
    /// so that it can serve as the fallback.
    fn can_broadcast(
        &self,
        tx: &Transaction,
    ) -> impl Future<Output = Result<bool, BackendError>> + Send;
}
