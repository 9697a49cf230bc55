//! The node's core LDK event handler, the last link of the event chain
//! ([`hooks::events`](crate::hooks::events)): funds channels from the wallet, applies the
//! inbound channel policy, claims payments, records payment outcomes, hands closed-channel
//! outputs to the sweeper, bumps anchor transactions and publishes [`NodeEvent`]s.

use std::sync::Arc;

use bitcoin::Amount;
use lightning::events::{Event, PaymentPurpose, ReplayEvent};
use lightning::ln::channelmanager::PaymentId;
use lightning::sign::{KeysManager, SpendableOutputDescriptor};
use tokio::sync::broadcast;

use crate::config::InboundChannelPolicy;
use crate::hooks::events::EventChain;
use crate::ldk::announce::Announcer;
use crate::ldk::types::{BumpHandler, ChannelManager, PeerManager, Sweeper};
use crate::model::{NodeEvent, PaymentDirection, PaymentKind, PaymentStatus};
use crate::payment::store::PaymentStore;
use crate::wallet::OnchainWallet;

/// What the core handler works with, and the extensions in front of it.
pub(crate) struct EventHandler {
    pub(crate) chain: EventChain,
    pub(crate) channel_manager: Arc<ChannelManager>,
    pub(crate) peer_manager: Arc<PeerManager>,
    pub(crate) keys: Arc<KeysManager>,
    pub(crate) wallet: Arc<OnchainWallet>,
    pub(crate) sweeper: Arc<Sweeper>,
    pub(crate) bump: Arc<BumpHandler>,
    pub(crate) payments: Arc<PaymentStore>,
    pub(crate) inbound_channels: InboundChannelPolicy,
    pub(crate) announcer: Announcer,
    pub(crate) events: broadcast::Sender<NodeEvent>,
}

impl EventHandler {
    fn publish(&self, event: NodeEvent) {
        // No subscriber is fine.
        let _ = self.events.send(event);
    }

    /// Handles one LDK event: first the extensions, then the core. `Err(ReplayEvent)` makes LDK
    /// hand it again later (only for failures that may heal: persistence).
    pub(crate) async fn handle_event(self: Arc<Self>, event: Event) -> Result<(), ReplayEvent> {
        match self.chain.dispatch(event).await? {
            Some(event) => self.handle_core(event).await,
            None => Ok(()),
        }
    }

    async fn handle_core(&self, event: Event) -> Result<(), ReplayEvent> {
        match event {
            Event::FundingGenerationReady {
                temporary_channel_id,
                counterparty_node_id,
                channel_value_satoshis,
                output_script,
                ..
            } => {
                let funded = self
                    .wallet
                    .fund(output_script, Amount::from_sat(channel_value_satoshis));
                let result = match funded {
                    Ok(tx) => self
                        .channel_manager
                        .funding_transaction_generated(
                            temporary_channel_id,
                            counterparty_node_id,
                            tx,
                        )
                        .map_err(|e| format!("{e:?}")),
                    Err(e) => Err(e.to_string()),
                };
                if let Err(reason) = result {
                    tracing::error!(channel = %temporary_channel_id, "cannot fund channel: {reason}");
                    let _ = self.channel_manager.force_close_broadcasting_latest_txn(
                        &temporary_channel_id,
                        &counterparty_node_id,
                        format!("funding failed: {reason}"),
                    );
                }
            }
            Event::OpenChannelRequest {
                temporary_channel_id,
                counterparty_node_id,
                funding_satoshis,
                ..
            } => {
                let verdict = self
                    .inbound_channels
                    .decide(&counterparty_node_id, funding_satoshis);
                let user_channel_id = crate::channels::new_user_channel_id(&self.keys);
                let result = match verdict {
                    Ok(()) => self.channel_manager.accept_inbound_channel(
                        &temporary_channel_id,
                        &counterparty_node_id,
                        user_channel_id,
                        None,
                    ),
                    Err(reason) => {
                        tracing::info!(peer = %counterparty_node_id, "refusing inbound channel: {reason}");
                        self.channel_manager.force_close_broadcasting_latest_txn(
                            &temporary_channel_id,
                            &counterparty_node_id,
                            reason,
                        )
                    }
                };
                if let Err(e) = result {
                    tracing::warn!(peer = %counterparty_node_id, "inbound channel request: {e:?}");
                }
            }
            Event::PaymentClaimable {
                payment_hash,
                purpose,
                amount_msat,
                ..
            } => match purpose.preimage() {
                Some(preimage) => self.channel_manager.claim_funds(preimage),
                None => {
                    tracing::warn!(hash = %payment_hash, amount_msat, "claimable payment without a preimage: failing it");
                    self.channel_manager.fail_htlc_backwards(&payment_hash);
                }
            },
            Event::PaymentClaimed {
                payment_hash,
                amount_msat,
                purpose,
                ..
            } => {
                let kind = match purpose {
                    PaymentPurpose::Bolt11InvoicePayment { .. } => PaymentKind::Bolt11,
                    PaymentPurpose::SpontaneousPayment(_) => PaymentKind::Keysend,
                    _ => PaymentKind::Bolt12,
                };
                let preimage = purpose.preimage();
                let id = PaymentId(payment_hash.0);
                let record = PaymentStore::new_record(
                    id,
                    Some(payment_hash),
                    PaymentDirection::Inbound,
                    kind,
                    PaymentStatus::Pending,
                    Some(amount_msat),
                );
                let stored = self.payments.insert(&record).and_then(|()| {
                    self.payments
                        .succeeded(&id, None, preimage.as_ref(), None, Some(amount_msat))
                });
                if let Err(e) = stored {
                    tracing::error!("recording received payment: {e}");
                    return Err(ReplayEvent());
                }
                self.publish(NodeEvent::PaymentReceived {
                    payment_hash,
                    amount_msat,
                });
            }
            Event::PaymentSent {
                payment_id,
                payment_preimage,
                payment_hash,
                fee_paid_msat,
                amount_msat,
                ..
            } => {
                let id = payment_id.unwrap_or(PaymentId(payment_hash.0));
                if let Err(e) = self.payments.succeeded(
                    &id,
                    Some(&payment_hash),
                    Some(&payment_preimage),
                    fee_paid_msat,
                    amount_msat,
                ) {
                    tracing::error!("recording sent payment: {e}");
                    return Err(ReplayEvent());
                }
                self.publish(NodeEvent::PaymentSucceeded {
                    payment_id: id,
                    payment_hash,
                    fee_msat: fee_paid_msat,
                });
            }
            Event::PaymentFailed {
                payment_id, reason, ..
            } => {
                let reason = reason
                    .map(|r| format!("{r:?}"))
                    .unwrap_or_else(|| "unknown".into());
                if let Err(e) = self.payments.failed(&payment_id, &reason) {
                    tracing::error!("recording failed payment: {e}");
                    return Err(ReplayEvent());
                }
                self.publish(NodeEvent::PaymentFailed { payment_id, reason });
            }
            Event::PaymentForwarded {
                total_fee_earned_msat,
                ..
            } => {
                self.publish(NodeEvent::PaymentForwarded {
                    fee_msat: total_fee_earned_msat,
                });
            }
            Event::SpendableOutputs {
                outputs,
                channel_id,
                counterparty_node_id,
            } => {
                // Outputs paying the wallet's own scripts (closing and destination scripts, see
                // `ldk::keys`) are the wallet's already: nothing to sweep.
                let outputs: Vec<_> = outputs
                    .into_iter()
                    .filter(|o| match o {
                        SpendableOutputDescriptor::StaticOutput { output, .. } => {
                            !self.wallet.owns_script(&output.script_pubkey)
                        }
                        _ => true,
                    })
                    .collect();
                if outputs.is_empty() {
                    return Ok(());
                }
                if self
                    .sweeper
                    .track_spendable_outputs(outputs, channel_id, counterparty_node_id, false, None)
                    .is_err()
                {
                    tracing::error!("sweeper could not persist spendable outputs");
                    return Err(ReplayEvent());
                }
                let outputs = self.sweeper.tracked_spendable_outputs().len();
                self.publish(NodeEvent::OutputsSwept { outputs });
            }
            Event::ChannelPending {
                channel_id,
                counterparty_node_id,
                funding_txo,
                ..
            } => {
                self.publish(NodeEvent::ChannelPending {
                    channel_id,
                    counterparty: counterparty_node_id,
                    funding_outpoint: funding_txo,
                });
            }
            Event::ChannelReady {
                channel_id,
                counterparty_node_id,
                ..
            } => {
                self.announcer.announce();
                self.publish(NodeEvent::ChannelReady {
                    channel_id,
                    counterparty: counterparty_node_id,
                });
            }
            Event::ChannelClosed {
                channel_id,
                reason,
                counterparty_node_id,
                ..
            } => {
                self.publish(NodeEvent::ChannelClosed {
                    channel_id,
                    counterparty: counterparty_node_id,
                    reason: reason.to_string(),
                });
            }
            Event::HTLCIntercepted { intercept_id, .. } => {
                // No interceptor installed: fail it back, as LDK does without interception.
                let _ = self.channel_manager.fail_intercepted_htlc(intercept_id);
            }
            Event::ConnectionNeeded { node_id, addresses } => {
                let pm = Arc::clone(&self.peer_manager);
                tokio::spawn(async move {
                    for address in addresses {
                        let Ok(mut resolved) = std::net::ToSocketAddrs::to_socket_addrs(&address)
                        else {
                            continue;
                        };
                        if let Some(addr) = resolved.next() {
                            if crate::ldk::peers::connect(&pm, node_id, addr).await.is_ok() {
                                break;
                            }
                        }
                    }
                });
            }
            Event::DiscardFunding { channel_id, .. } => {
                tracing::info!(channel = %channel_id, "funding discarded");
            }
            Event::BumpTransaction(event) => {
                // Anchor channels: CPFP the commitment, or add our inputs to HTLC transactions.
                self.bump.handle_event(&event);
            }
            Event::OnionMessageIntercepted { next_hop, .. } => {
                // Held for offline peers only when a feature (the async payments server's
                // mailbox) claims these events.
                tracing::info!(
                    ?next_hop,
                    "dropping an onion message for an offline peer: no mailbox installed"
                );
            }
            other => {
                tracing::debug!("unhandled LDK event: {other:?}");
            }
        }
        Ok(())
    }
}
