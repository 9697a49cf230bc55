//! Payments, one handle per kind (as ldk-node does): [`Bolt11Payments`] and [`Bolt12Payments`]
//! send and receive, [`SpontaneousPayments`] sends keysend payments (received ones need no
//! handle), [`Payments`] reads the history (kept in [`store`]) and waits for outcomes.

mod bolt11;
mod bolt12;
mod spontaneous;
pub mod store;

pub use bolt11::{Bolt11Payments, MAX_INVOICE_MSAT};
pub use bolt12::Bolt12Payments;
pub use spontaneous::SpontaneousPayments;

use std::sync::Arc;
use std::time::Duration;

use lightning::ln::channelmanager::PaymentId;
use tokio::sync::broadcast;

use crate::error::NodeError;
use crate::ldk::types::ChannelManager;
use crate::model::{NodeEvent, PaymentInfo, PaymentStatus};
use crate::payment::store::PaymentStore;

/// A page of the payment history ([`Payments::page`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentPage {
    /// The payments, newest first.
    pub payments: Vec<PaymentInfo>,
    /// The cursor of the next page (the id of this page's last payment) when more payments
    /// follow; `None` on the last page.
    pub next: Option<PaymentId>,
}

/// The payment history. Reached by [`Node::payments`](crate::Node::payments).
#[derive(Clone)]
pub struct Payments {
    pub(crate) store: Arc<PaymentStore>,
    pub(crate) events: broadcast::Sender<NodeEvent>,
}

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payments").finish_non_exhaustive()
    }
}

impl Payments {
    /// Every payment, newest first.
    pub fn list(&self) -> Result<Vec<PaymentInfo>, NodeError> {
        Ok(self.store.list()?)
    }

    /// Up to `limit` payments, newest first (the order of [`list`](Self::list)), starting just
    /// after payment `after` (from the newest if `None`). The page's [`next`](PaymentPage::next)
    /// is the `after` of the following page. `InvalidInput` if `limit` is 0 or `after` is not
    /// a payment.
    pub fn page(&self, after: Option<&PaymentId>, limit: usize) -> Result<PaymentPage, NodeError> {
        if limit == 0 {
            return Err(NodeError::invalid("limit must be positive"));
        }
        let (payments, more) = self.store.page(after, limit)?.ok_or_else(|| {
            NodeError::invalid(format!(
                "`after` cursor {} is not a payment of this node",
                after.map(|id| id.to_string()).unwrap_or_default()
            ))
        })?;
        let next = if more {
            payments.last().map(|p| p.id)
        } else {
            None
        };
        Ok(PaymentPage { payments, next })
    }

    /// One payment.
    pub fn get(&self, id: &PaymentId) -> Result<PaymentInfo, NodeError> {
        self.store
            .get(id)?
            .ok_or_else(|| NodeError::NotFound(format!("no payment {id}")))
    }

    /// Waits until payment `id` is no longer pending, or `timeout`.
    pub async fn wait(&self, id: &PaymentId, timeout: Duration) -> Result<PaymentInfo, NodeError> {
        let mut events = self.events.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let p = self.get(id)?;
            if p.status != PaymentStatus::Pending {
                return Ok(p);
            }
            match tokio::time::timeout_at(deadline, events.recv()).await {
                Err(_) => return Err(NodeError::Timeout(format!("payment {id} still pending"))),
                Ok(Err(broadcast::error::RecvError::Closed)) => {
                    return Err(NodeError::Timeout("node stopped".into()))
                }
                Ok(_) => {}
            }
        }
    }
}

/// Why `amount_msat` cannot be sent at all, if it is more than the usable channels can send
/// together: `<what>: N msat is more than this node can send now (…)`.
pub(crate) fn over_capacity(
    channel_manager: &ChannelManager,
    what: &str,
    amount_msat: u64,
) -> Option<String> {
    let usable = channel_manager.list_usable_channels();
    let can_send = usable.iter().fold(0u64, |sum, c| {
        sum.saturating_add(c.next_outbound_htlc_limit_msat)
    });
    (amount_msat > can_send).then(|| {
        format!(
            "{what}: {amount_msat} msat is more than this node can send now \
             ({can_send} msat over {} usable channel(s))",
            usable.len()
        )
    })
}
