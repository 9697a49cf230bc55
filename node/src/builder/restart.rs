//! What `build` checks and repairs in the data directory before the node runs: it refuses to
//! start from state that would lose money silently, and settles payments a crash left pending.
//!
//! Refused (each a [`BuildError`] whose message says the way out; docs/operations.md):
//! - channel monitors without the channel manager ([`BuildError::MissingChannelManager`]);
//! - a channel manager whose channels' monitors are missing
//!   ([`BuildError::MissingChannelMonitors`], raised where the manager is read,
//!   `ldk_state::channel_manager`);
//! - a missing or empty wallet database on a node with history ([`BuildError::WalletMissing`]),
//!   unless [`NodeConfig::restore_wallet_from_height`] asks for a new wallet rescanning from a
//!   height.

use std::collections::HashSet;

use bitcoin::BlockHash;
use lightning::chain::BlockLocator;
use lightning::ln::channelmanager::{PaymentId, RecentPaymentDetails};
use lightning::util::persist::{
    KVStoreSync, CHANNEL_MANAGER_PERSISTENCE_KEY, CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
};

use crate::chain::{ChainClient, ChainError};
use crate::config::NodeConfig;
use crate::error::{BuildError, PaymentStoreError, WalletError};
use crate::ldk::types::{ChannelManager, KvStore};
use crate::payment::store::PaymentStore;
use crate::wallet::SqliteWalletPersister;

/// The failure recorded for a payment left pending that LDK no longer knows after a restart.
pub const UNKNOWN_AFTER_RESTART: &str = "not known to LDK after restart";

/// Checks the data directory before the wallet is opened: refuses monitors without a manager
/// and a lost wallet on a node with history. Returns the wallet's birthday: block
/// `restore_wallet_from_height` when a new wallet is to rescan from there, else the tip (a new
/// wallet of a new node has nothing older to find; an existing wallet ignores it).
pub(super) async fn check_before_wallet(
    config: &NodeConfig,
    kv: &KvStore,
    monitors: usize,
    chain: &ChainClient,
    tip: BlockLocator,
) -> Result<BlockLocator, BuildError> {
    let has_manager = KVStoreSync::list(
        &**kv,
        CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
        CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
    )
    .map_err(|e| BuildError::io("listing ldk/", e))?
    .iter()
    .any(|key| key == CHANNEL_MANAGER_PERSISTENCE_KEY);
    if monitors > 0 && !has_manager {
        return Err(BuildError::MissingChannelManager { monitors });
    }

    let wallet_path = config.data_dir.join("wallet.sqlite");
    let holds_wallet =
        SqliteWalletPersister::holds_wallet(&wallet_path).map_err(WalletError::from)?;
    match (holds_wallet, config.restore_wallet_from_height) {
        (true, None) => Ok(tip),
        (true, Some(_)) => Err(BuildError::InvalidConfig(format!(
            "restore_wallet_from_height creates a missing wallet, but {} holds one: remove the \
             option (or move that file away to restore again)",
            wallet_path.display()
        ))),
        (false, Some(height)) => block_at(chain, height, tip).await,
        (false, None) => {
            let mut history = Vec::new();
            if monitors > 0 {
                history.push(format!("{monitors} channel monitor(s)"));
            }
            if has_manager {
                history.push("a channel manager".to_string());
            }
            if has_payments(config)? {
                history.push("payments in payments.sqlite".to_string());
            }
            if history.is_empty() {
                Ok(tip)
            } else {
                Err(BuildError::WalletMissing {
                    path: wallet_path,
                    history: history.join(", "),
                })
            }
        }
    }
}

/// Whether `payments.sqlite` exists and records a payment (not creating it).
fn has_payments(config: &NodeConfig) -> Result<bool, BuildError> {
    let path = config.data_dir.join("payments.sqlite");
    match std::fs::metadata(&path) {
        Ok(meta) if meta.len() > 0 => Ok(!PaymentStore::open(&path)?.is_empty()?),
        _ => Ok(false),
    }
}

/// Block `height` of the best chain, at most `tip`.
async fn block_at(
    chain: &ChainClient,
    height: u32,
    tip: BlockLocator,
) -> Result<BlockLocator, BuildError> {
    if height > tip.height {
        return Err(BuildError::InvalidConfig(format!(
            "restore_wallet_from_height {height} is above the chain tip ({})",
            tip.height
        )));
    }
    let reply = chain
        .call("getblockhash", &[serde_json::json!(height)])
        .await?;
    let hash: BlockHash =
        reply
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ChainError::Unexpected {
                method: "getblockhash",
                detail: reply.to_string(),
            })?;
    Ok(BlockLocator::new(hash, height))
}

/// Settles the outbound payments a crash left `pending`: one LDK still knows (in flight,
/// awaiting an invoice, or resolved with its event still to come) is left to its events; any
/// other is marked failed ([`UNKNOWN_AFTER_RESTART`]), since LDK will never report on it, and
/// its invoice can be paid again.
pub(super) fn reconcile_payments(
    store: &PaymentStore,
    manager: &ChannelManager,
) -> Result<(), BuildError> {
    let known: HashSet<PaymentId> = manager
        .list_recent_payments()
        .into_iter()
        .map(|p| match p {
            RecentPaymentDetails::AwaitingInvoice { payment_id }
            | RecentPaymentDetails::Pending { payment_id, .. }
            | RecentPaymentDetails::Fulfilled { payment_id, .. }
            | RecentPaymentDetails::Abandoned { payment_id, .. } => payment_id,
        })
        .collect();
    for id in fail_unknown_pending(store, &known)? {
        tracing::warn!(payment = %id, "pending payment not known to LDK after restart: failed");
    }
    Ok(())
}

/// Marks failed every pending outbound payment not in `known`; returns their ids.
fn fail_unknown_pending(
    store: &PaymentStore,
    known: &HashSet<PaymentId>,
) -> Result<Vec<PaymentId>, PaymentStoreError> {
    let mut failed = Vec::new();
    for id in store.pending_outbound()? {
        if !known.contains(&id) {
            store.failed(&id, UNKNOWN_AFTER_RESTART)?;
            failed.push(id);
        }
    }
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{PaymentDirection, PaymentKind, PaymentStatus};

    #[test]
    fn only_pending_outbound_payments_unknown_to_ldk_fail() {
        let dir = tempfile::tempdir().unwrap();
        let store = PaymentStore::open(&dir.path().join("payments.sqlite")).unwrap();
        let record = |byte: u8, direction, status| {
            PaymentStore::new_record(
                PaymentId([byte; 32]),
                None,
                direction,
                PaymentKind::Bolt11,
                status,
                Some(1_000),
            )
        };
        use PaymentDirection::{Inbound, Outbound};
        use PaymentStatus::{Pending, Succeeded};
        for r in [
            record(1, Outbound, Pending),   // LDK knows it
            record(2, Outbound, Pending),   // LDK does not
            record(3, Inbound, Pending),    // an open invoice
            record(4, Outbound, Succeeded), // settled
        ] {
            store.insert(&r).unwrap();
        }
        let known = HashSet::from([PaymentId([1; 32])]);
        let failed = fail_unknown_pending(&store, &known).unwrap();
        assert_eq!(failed, vec![PaymentId([2; 32])]);
        let status = |b: u8| store.get(&PaymentId([b; 32])).unwrap().unwrap();
        assert_eq!(status(1).status, Pending);
        assert_eq!(status(2).status, PaymentStatus::Failed);
        assert_eq!(status(2).failure.as_deref(), Some(UNKNOWN_AFTER_RESTART));
        assert_eq!(status(3).status, Pending);
        assert_eq!(status(4).status, Succeeded);
        assert!(fail_unknown_pending(&store, &known).unwrap().is_empty());

        // The failed one can be started again (a retry), the others cannot.
        let retry = record(2, Outbound, Pending);
        assert!(store.begin_outbound(&retry).unwrap());
        let again = status(2);
        assert_eq!((again.status, again.failure), (Pending, None));
        for b in [1, 3, 4] {
            assert!(!store.begin_outbound(&record(b, Outbound, Pending)).unwrap());
        }
        assert_eq!(status(3).direction, Inbound);
        assert!(store.begin_outbound(&record(5, Outbound, Pending)).unwrap());
    }
}
