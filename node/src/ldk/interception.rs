//! The node's side of HTLC interception
//! ([`hooks::htlc_interception`](crate::hooks::htlc_interception) has the interface and how it
//! behaves): finding the incoming HTLC, deciding within the time bound, records that survive a
//! crash, following forwarded circuits until they resolve.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::hex::{DisplayHex, FromHex};
use bitcoin::secp256k1::PublicKey;
use lightning::events::{Event, HTLCHandlingFailureType};
use lightning::ln::channel_state::InboundHTLCStateDetails;
use lightning::ln::channelmanager::InterceptId;
use lightning::ln::types::ChannelId;
use lightning::types::payment::PaymentHash;
use lightning::util::persist::KVStoreSync;
use tokio::sync::mpsc;

use crate::hooks::events::{EventExtension, EventOutcome};
use crate::hooks::htlc_interception::{
    HtlcCircuit, HtlcInterceptor, HtlcResolution, IncomingHtlc, InterceptDecision, InterceptedHtlc,
};
use crate::hooks::BoxFuture;
use crate::ldk::types::{ChannelManager, KvStore};

/// How often forwarded circuits are checked for resolution.
const RECONCILE_EVERY: Duration = Duration::from_secs(1);

const NAMESPACE: &str = "lnedge";
const UNDECIDED: &str = "undecided_intercepts";
const CIRCUITS: &str = "forwarded_circuits";

/// LDK's intercept id of an HTLC (how `ChannelManager` derives it).
fn intercept_id_of(htlc_id: u64, channel_id: &ChannelId, counterparty: &PublicKey) -> [u8; 32] {
    let mut engine = sha256::Hash::engine();
    engine.input(&htlc_id.to_be_bytes());
    engine.input(&channel_id.0);
    engine.input(&counterparty.serialize());
    sha256::Hash::from_engine(engine).to_byte_array()
}

/// Fails back every HTLC intercepted before a crash (or a stop) and never decided, whether or
/// not an interceptor is installed now. Call before events are processed.
pub(crate) fn fail_undecided(
    manager: &ChannelManager,
    kv: &KvStore,
) -> Result<usize, lightning::io::Error> {
    let keys = KVStoreSync::list(&**kv, NAMESPACE, UNDECIDED)?;
    for key in &keys {
        if let Ok(id) = <[u8; 32]>::from_hex(key) {
            // LDK answers an error if it no longer holds the HTLC; either way it is gone.
            let _ = manager.fail_intercepted_htlc(InterceptId(id));
            tracing::info!(
                intercept = key,
                "failed back an HTLC left undecided by a restart"
            );
        }
        KVStoreSync::remove(&**kv, NAMESPACE, UNDECIDED, key, false)?;
    }
    Ok(keys.len())
}

/// A forwarded circuit being followed.
#[derive(Clone, Copy, Debug)]
struct Followed {
    /// Seen gone from its channel at the previous check, with no claim reported.
    missing: bool,
}

/// The node side of interception: an [`EventExtension`] that claims `HTLCIntercepted`, watches
/// `PaymentForwarded` and `HTLCHandlingFailed` (passing them on), and a reconcile loop.
pub(crate) struct InterceptionService {
    hook: Arc<dyn HtlcInterceptor>,
    manager: Arc<ChannelManager>,
    kv: KvStore,
    timeout: Duration,
    followed: Mutex<HashMap<HtlcCircuit, Followed>>,
    /// HTLCs to decide, taken by [`run`](Self::run), which owns the decision tasks (they
    /// end with the node; what they left undecided is failed back at the next start).
    to_decide: mpsc::UnboundedSender<InterceptedHtlc>,
    to_decide_rx: Mutex<Option<mpsc::UnboundedReceiver<InterceptedHtlc>>>,
}

impl InterceptionService {
    /// Loads the circuits followed before a restart.
    pub(crate) fn new(
        hook: Arc<dyn HtlcInterceptor>,
        manager: Arc<ChannelManager>,
        kv: KvStore,
        timeout: Duration,
    ) -> Result<Self, lightning::io::Error> {
        let mut followed = HashMap::new();
        for key in KVStoreSync::list(&*kv, NAMESPACE, CIRCUITS)? {
            match parse_circuit_key(&key) {
                Some(circuit) => {
                    followed.insert(circuit, Followed { missing: false });
                }
                None => tracing::warn!(key, "ignoring a malformed forwarded-circuit record"),
            }
        }
        let (to_decide, to_decide_rx) = mpsc::unbounded_channel();
        Ok(Self {
            hook,
            manager,
            kv,
            timeout,
            followed: Mutex::new(followed),
            to_decide,
            to_decide_rx: Mutex::new(Some(to_decide_rx)),
        })
    }

    fn incoming(&self, intercept_id: &InterceptId, hash: &PaymentHash) -> Option<IncomingHtlc> {
        self.manager.list_channels().into_iter().find_map(|c| {
            let counterparty = c.counterparty.node_id;
            c.pending_inbound_htlcs
                .iter()
                .filter(|h| &h.payment_hash == hash)
                .find(|h| {
                    intercept_id_of(h.htlc_id, &c.channel_id, &counterparty) == intercept_id.0
                })
                .map(|h| IncomingHtlc {
                    circuit: HtlcCircuit {
                        channel_id: c.channel_id,
                        htlc_id: h.htlc_id,
                    },
                    counterparty,
                    scid: c.get_inbound_payment_scid(),
                    cltv_expiry: h.cltv_expiry,
                })
        })
    }

    async fn decide(self: Arc<Self>, htlc: InterceptedHtlc) {
        let id = htlc.intercept_id;
        let circuit = htlc.incoming.as_ref().map(|i| i.circuit);
        let decision = match tokio::time::timeout(
            self.timeout,
            Arc::clone(&self.hook).intercept(htlc.clone()),
        )
        .await
        {
            Ok(decision) => decision,
            Err(_) => {
                tracing::warn!(
                    scid = htlc.requested_scid,
                    "HTLC decision timed out: failing it back"
                );
                InterceptDecision::Fail
            }
        };
        let forwarded = match decision {
            InterceptDecision::Forward {
                channel_id,
                next_node,
                amount_msat,
            } => {
                // Follow the circuit before forwarding, so a crash in between still reports it.
                if let Some(circuit) = circuit {
                    if let Err(e) = self.follow(circuit) {
                        tracing::error!("recording a forwarded circuit: {e}; failing the HTLC");
                        let _ = self.manager.fail_intercepted_htlc(id);
                        self.finish(id);
                        return;
                    }
                }
                match self
                    .manager
                    .forward_intercepted_htlc(id, &channel_id, next_node, amount_msat)
                {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!(
                            scid = htlc.requested_scid,
                            "forwarding an intercepted HTLC: {e:?}"
                        );
                        let _ = self.manager.fail_intercepted_htlc(id);
                        if let Some(circuit) = circuit {
                            self.resolve(circuit, HtlcResolution::Failed).await;
                        }
                        false
                    }
                }
            }
            InterceptDecision::Fail => {
                if let Err(e) = self.manager.fail_intercepted_htlc(id) {
                    tracing::warn!(
                        scid = htlc.requested_scid,
                        "failing an intercepted HTLC: {e:?}"
                    );
                }
                false
            }
        };
        if forwarded && circuit.is_none() {
            tracing::warn!(scid = htlc.requested_scid, "forwarded an HTLC whose incoming channel is unknown: its resolution cannot be reported");
        }
        self.finish(id);
    }

    fn finish(&self, id: InterceptId) {
        let key = id.0.to_lower_hex_string();
        if let Err(e) = KVStoreSync::remove(&*self.kv, NAMESPACE, UNDECIDED, &key, false) {
            tracing::warn!("removing a decided intercept record: {e}");
        }
    }

    fn follow(&self, circuit: HtlcCircuit) -> Result<(), lightning::io::Error> {
        KVStoreSync::write(
            &*self.kv,
            NAMESPACE,
            CIRCUITS,
            &circuit_key(&circuit),
            Vec::new(),
        )?;
        lock(&self.followed).insert(circuit, Followed { missing: false });
        Ok(())
    }

    /// Reports `circuit` once and stops following it.
    async fn resolve(&self, circuit: HtlcCircuit, resolution: HtlcResolution) {
        if lock(&self.followed).remove(&circuit).is_none() {
            return;
        }
        Arc::clone(&self.hook).resolved(circuit, resolution).await;
        if let Err(e) = KVStoreSync::remove(
            &*self.kv,
            NAMESPACE,
            CIRCUITS,
            &circuit_key(&circuit),
            false,
        ) {
            tracing::warn!("removing a resolved circuit record: {e}");
        }
    }

    /// Checks every followed circuit against the incoming channels' HTLCs.
    pub(crate) async fn reconcile(&self) {
        if lock(&self.followed).is_empty() {
            return;
        }
        let channels = self.manager.list_channels();
        let mut done = Vec::new();
        {
            let mut followed = lock(&self.followed);
            for (circuit, state) in followed.iter_mut() {
                let htlc = channels
                    .iter()
                    .find(|c| c.channel_id == circuit.channel_id)
                    .and_then(|c| {
                        c.pending_inbound_htlcs
                            .iter()
                            .find(|h| h.htlc_id == circuit.htlc_id)
                    });
                match htlc.and_then(|h| h.state.clone()) {
                    Some(InboundHTLCStateDetails::AwaitingRemoteRevokeToRemoveFulfill) => {
                        done.push((*circuit, HtlcResolution::Settled))
                    }
                    Some(InboundHTLCStateDetails::AwaitingRemoteRevokeToRemoveFail) => {
                        done.push((*circuit, HtlcResolution::Failed))
                    }
                    Some(_) => state.missing = false,
                    None if htlc.is_some() => state.missing = false,
                    // Gone: a claim would have been reported by `PaymentForwarded` by now if it
                    // was one; give the event loop one more round before calling it failed.
                    None if state.missing => done.push((*circuit, HtlcResolution::Failed)),
                    None => state.missing = true,
                }
            }
        }
        for (circuit, resolution) in done {
            self.resolve(circuit, resolution).await;
        }
    }

    /// Runs the decisions and [`reconcile`](Self::reconcile) (every second) until `stop`;
    /// decisions still running then are dropped.
    pub(crate) async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let Some(mut to_decide) = lock(&self.to_decide_rx).take() else {
            return;
        };
        let mut deciding = tokio::task::JoinSet::new();
        let mut tick = tokio::time::interval(RECONCILE_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.reconcile().await,
                Some(htlc) = to_decide.recv() => {
                    deciding.spawn(Arc::clone(&self).decide(htlc));
                }
                Some(_) = deciding.join_next(), if !deciding.is_empty() => {}
                _ = stop.changed() => return,
            }
        }
    }
}

impl EventExtension for InterceptionService {
    fn handle_event(
        self: Arc<Self>,
        event: Event,
    ) -> BoxFuture<'static, Result<EventOutcome, lightning::events::ReplayEvent>> {
        Box::pin(async move {
            match event {
                Event::HTLCIntercepted {
                    intercept_id,
                    requested_next_hop_scid,
                    payment_hash,
                    inbound_amount_msat,
                    expected_outbound_amount_msat,
                    outgoing_htlc_expiry_block_height,
                } => {
                    let key = intercept_id.0.to_lower_hex_string();
                    if let Err(e) =
                        KVStoreSync::write(&*self.kv, NAMESPACE, UNDECIDED, &key, Vec::new())
                    {
                        tracing::error!("recording an intercepted HTLC: {e}");
                        return Err(lightning::events::ReplayEvent());
                    }
                    let htlc = InterceptedHtlc {
                        intercept_id,
                        incoming: self.incoming(&intercept_id, &payment_hash),
                        requested_scid: requested_next_hop_scid,
                        payment_hash,
                        inbound_msat: inbound_amount_msat,
                        expected_outbound_msat: expected_outbound_amount_msat,
                        outgoing_expiry_height: outgoing_htlc_expiry_block_height,
                    };
                    // Fails only when the node is stopping: the record fails it back at the
                    // next start.
                    let _ = self.to_decide.send(htlc);
                    Ok(EventOutcome::Handled)
                }
                Event::PaymentForwarded { ref prev_htlcs, .. } => {
                    for prev in prev_htlcs {
                        if let Some(htlc_id) = prev.htlc_id {
                            let circuit = HtlcCircuit {
                                channel_id: prev.channel_id,
                                htlc_id,
                            };
                            self.resolve(circuit, HtlcResolution::Settled).await;
                        }
                    }
                    Ok(EventOutcome::NotMine(Box::new(event)))
                }
                Event::HTLCHandlingFailed {
                    failure_type: HTLCHandlingFailureType::Forward { .. },
                    ..
                } => {
                    self.reconcile().await;
                    Ok(EventOutcome::NotMine(Box::new(event)))
                }
                other => Ok(EventOutcome::NotMine(Box::new(other))),
            }
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn circuit_key(c: &HtlcCircuit) -> String {
    format!("{}_{}", c.channel_id.0.to_lower_hex_string(), c.htlc_id)
}

fn parse_circuit_key(key: &str) -> Option<HtlcCircuit> {
    let (channel, htlc) = key.split_once('_')?;
    Some(HtlcCircuit {
        channel_id: ChannelId(<[u8; 32]>::from_hex(channel).ok()?),
        htlc_id: htlc.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circuit_keys_round_trip() {
        let c = HtlcCircuit {
            channel_id: ChannelId([7; 32]),
            htlc_id: 42,
        };
        assert_eq!(parse_circuit_key(&circuit_key(&c)), Some(c));
        assert_eq!(parse_circuit_key("zz_1"), None);
        assert_eq!(parse_circuit_key(&"00".repeat(32)), None);
    }
}
