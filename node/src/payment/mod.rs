//! Payments, one handle per kind (as ldk-node does): [`Bolt11Payments`] and [`Bolt12Payments`]
//! send and receive, [`Payments`] reads the history (kept in [`store`]) and waits for
//! outcomes.

mod bolt11;
mod bolt12;
pub mod store;

pub use bolt11::Bolt11Payments;
pub use bolt12::Bolt12Payments;

use std::sync::Arc;
use std::time::Duration;

use lightning::ln::channelmanager::PaymentId;
use tokio::sync::broadcast;

use crate::error::NodeError;
use crate::model::{NodeEvent, PaymentInfo, PaymentStatus};
use crate::payment::store::PaymentStore;

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
