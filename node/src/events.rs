//! The node's LDK event handler: funds channels from the wallet, applies the inbound channel
//! policy, claims payments, records payment outcomes, hands closed-channel outputs to the
//! sweeper, routes intercepted HTLCs to the interception hook, and publishes [`NodeEvent`]s.

use std::sync::Arc;

use bitcoin::hex::DisplayHex;
use bitcoin::Amount;
use lightning::events::{Event, PaymentPurpose, ReplayEvent};
use lightning::ln::types::ChannelId;
use lightning::sign::SpendableOutputDescriptor;

use crate::ldk::slots::{InterceptDecision, InterceptedHtlc};
use crate::model::{NodeEvent, PaymentDirection, PaymentKind, PaymentStatus};
use crate::node::NodeInner;
use crate::payments::PaymentStore;

impl NodeInner {
    fn publish(&self, event: NodeEvent) {
        // No subscriber is fine.
        let _ = self.events.send(event);
    }

    /// Handles one LDK event. `Err(ReplayEvent)` makes LDK hand it again later (only for
    /// failures that may heal: persistence).
    pub(crate) async fn handle_event(self: Arc<Self>, event: Event) -> Result<(), ReplayEvent> {
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
                    .config
                    .inbound_channels
                    .decide(&counterparty_node_id, funding_satoshis);
                let user_channel_id = u128::from_be_bytes(
                    lightning::sign::EntropySource::get_secure_random_bytes(&*self.keys)[..16]
                        .try_into()
                        .expect("16 bytes"),
                );
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
                let hash = payment_hash.0.to_lower_hex_string();
                let kind = match purpose {
                    PaymentPurpose::Bolt11InvoicePayment { .. } => PaymentKind::Bolt11,
                    PaymentPurpose::SpontaneousPayment(_) => PaymentKind::Other,
                    _ => PaymentKind::Bolt12,
                };
                let preimage = purpose.preimage().map(|p| p.0.to_lower_hex_string());
                let record = PaymentStore::new_record(
                    hash.clone(),
                    Some(hash.clone()),
                    PaymentDirection::Inbound,
                    kind,
                    PaymentStatus::Pending,
                    Some(amount_msat),
                );
                let stored = self.payments.insert(&record).and_then(|()| {
                    self.payments.succeeded(
                        &hash,
                        None,
                        preimage.as_deref(),
                        None,
                        Some(amount_msat),
                    )
                });
                if let Err(e) = stored {
                    tracing::error!("recording received payment: {e}");
                    return Err(ReplayEvent());
                }
                self.publish(NodeEvent::PaymentReceived {
                    payment_hash: hash,
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
                let hash = payment_hash.0.to_lower_hex_string();
                let id = payment_id
                    .map(|p| p.0.to_lower_hex_string())
                    .unwrap_or_else(|| hash.clone());
                let preimage = payment_preimage.0.to_lower_hex_string();
                if let Err(e) = self.payments.succeeded(
                    &id,
                    Some(&hash),
                    Some(&preimage),
                    fee_paid_msat,
                    amount_msat,
                ) {
                    tracing::error!("recording sent payment: {e}");
                    return Err(ReplayEvent());
                }
                self.publish(NodeEvent::PaymentSucceeded {
                    payment_id: id,
                    payment_hash: hash,
                    fee_msat: fee_paid_msat,
                });
            }
            Event::PaymentFailed {
                payment_id, reason, ..
            } => {
                let id = payment_id.0.to_lower_hex_string();
                let reason = reason
                    .map(|r| format!("{r:?}"))
                    .unwrap_or_else(|| "unknown".into());
                if let Err(e) = self.payments.failed(&id, &reason) {
                    tracing::error!("recording failed payment: {e}");
                    return Err(ReplayEvent());
                }
                self.publish(NodeEvent::PaymentFailed {
                    payment_id: id,
                    reason,
                });
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
                    channel_id: channel_id.to_string(),
                    counterparty: counterparty_node_id.to_string(),
                    funding_outpoint: funding_txo.to_string(),
                });
            }
            Event::ChannelReady {
                channel_id,
                counterparty_node_id,
                ..
            } => {
                self.announce();
                self.publish(NodeEvent::ChannelReady {
                    channel_id: channel_id.to_string(),
                    counterparty: counterparty_node_id.to_string(),
                });
            }
            Event::ChannelClosed {
                channel_id,
                reason,
                counterparty_node_id,
                ..
            } => {
                self.publish(NodeEvent::ChannelClosed {
                    channel_id: channel_id.to_string(),
                    counterparty: counterparty_node_id.map(|n| n.to_string()),
                    reason: reason.to_string(),
                });
            }
            Event::HTLCIntercepted {
                intercept_id,
                requested_next_hop_scid,
                payment_hash,
                inbound_amount_msat,
                expected_outbound_amount_msat,
                outgoing_htlc_expiry_block_height,
            } => {
                let htlc = InterceptedHtlc {
                    intercept_id: intercept_id.0,
                    requested_scid: requested_next_hop_scid,
                    payment_hash: payment_hash.0,
                    inbound_msat: inbound_amount_msat,
                    expected_outbound_msat: expected_outbound_amount_msat,
                    outgoing_expiry_height: outgoing_htlc_expiry_block_height,
                };
                let result = match self.interceptor.intercept(&htlc) {
                    InterceptDecision::Forward {
                        channel_id,
                        next_node,
                        amount_msat,
                    } => self.channel_manager.forward_intercepted_htlc(
                        intercept_id,
                        &ChannelId(channel_id),
                        next_node,
                        amount_msat,
                    ),
                    InterceptDecision::Fail => {
                        self.channel_manager.fail_intercepted_htlc(intercept_id)
                    }
                };
                if let Err(e) = result {
                    tracing::warn!(scid = requested_next_hop_scid, "intercepted HTLC: {e:?}");
                    let _ = self.channel_manager.fail_intercepted_htlc(intercept_id);
                }
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
            other => {
                tracing::debug!("unhandled LDK event: {other:?}");
            }
        }
        Ok(())
    }
}
