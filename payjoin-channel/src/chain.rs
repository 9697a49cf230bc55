//! The chain side: [`ChainWatch`].

use std::future::Future;

use bitcoin::Txid;

use crate::error::BackendError;

/// What the chain knows about a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    /// Neither in the mempool nor in a block.
    Unseen,
    /// In the mempool.
    Mempool,
    /// In a block, with this many confirmations (at least 1).
    Confirmed(u32),
}

/// Tells whether a transaction has been seen or confirmed, to tell the payjoin from the fallback.
pub trait ChainWatch: Send + Sync + 'static {
    /// The status of `txid`.
    fn tx_status(&self, txid: Txid) -> impl Future<Output = Result<TxStatus, BackendError>> + Send;
}
