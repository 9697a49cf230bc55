//! The order manager: accepted quotes as HTLC policies keyed by SCID (spec §10), in-flight
//! accounting by circuit, expiry, cancellation, and a stream of [`RfqEvent`]s.
//!
//! Two paths judge an intercepted HTLC:
//! - [`OrderManager::check_htlc`] is the fast, in-memory path: policy lookup, tapd's checks and
//!   an atomic in-memory reservation. Enough for a single node.
//! - [`OrderManager::admit_htlc`] adds the shared store: a quote another worker accepted is
//!   loaded on first use, and the reservation is confirmed in the [`QuoteStore`] so that
//!   workers sharing one database can never put more in flight together than a quote allows.

mod event;
mod htlc;
mod policy;

pub use event::RfqEvent;
pub use htlc::{ForwardInstruction, HtlcDecision, HtlcFailure, HtlcView};
pub use policy::{Policy, PolicyKind, ASSET_HTLC_MSAT};

use crate::quote::{CircuitKey, StoredQuote};
use crate::store::{QuoteStore, Reservation, StoreError};
use rfq_wire::RfqId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::broadcast;

/// How many events a slow subscriber may fall behind before it misses some.
const EVENT_BUFFER: usize = 4096;

/// What one circuit holds in flight: the policy it counts against with the msat, and a second
/// one when the HTLC passes through two quotes (asset in, asset out).
#[derive(Clone)]
struct Reserved {
    first: (Arc<Policy>, u64),
    second: Option<(Arc<Policy>, u64)>,
}

impl Reserved {
    fn iter(&self) -> impl Iterator<Item = &(Arc<Policy>, u64)> {
        core::iter::once(&self.first).chain(self.second.as_ref())
    }
}

type CircuitReservations = HashMap<CircuitKey, Reserved>;

/// Enforces accepted quotes on HTLCs. Cheap to share: wrap it in an `Arc`.
pub struct OrderManager {
    store: Arc<dyn QuoteStore>,
    policies: RwLock<HashMap<u64, Arc<Policy>>>,
    circuits: Mutex<CircuitReservations>,
    events: broadcast::Sender<RfqEvent>,
}

impl core::fmt::Debug for OrderManager {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OrderManager")
            .field("policies", &self.policy_count())
            .finish_non_exhaustive()
    }
}

impl OrderManager {
    /// An order manager over `store`, with the quotes and in-flight amounts the store holds
    /// (restart reload). Quotes already expired at `now` are not loaded.
    pub async fn load(store: Arc<dyn QuoteStore>, now: u64) -> Result<Self, StoreError> {
        let manager = OrderManager {
            store,
            policies: RwLock::new(HashMap::new()),
            circuits: Mutex::new(HashMap::new()),
            events: broadcast::channel(EVENT_BUFFER).0,
        };
        for quote in manager.store.list_quotes().await? {
            if quote.expiry >= now {
                manager.register(&quote);
            }
        }
        for (circuit, id, msat) in manager.store.list_in_flight().await? {
            let Some(policy) = manager.policy(id.scid().0) else {
                continue;
            };
            policy.set_in_flight(policy.in_flight().saturating_add(msat));
            let mut circuits = lock(&manager.circuits);
            match circuits.get_mut(&circuit) {
                Some(reserved) => reserved.second = Some((policy, msat)),
                None => {
                    circuits.insert(
                        circuit,
                        Reserved {
                            first: (policy, msat),
                            second: None,
                        },
                    );
                }
            }
        }
        Ok(manager)
    }

    /// The store behind this manager.
    pub fn store(&self) -> &Arc<dyn QuoteStore> {
        &self.store
    }

    /// A receiver of every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<RfqEvent> {
        self.events.subscribe()
    }

    pub(crate) fn emit(&self, event: RfqEvent) {
        // No subscriber is not an error.
        let _ = self.events.send(event);
    }

    /// Persists a quote, then enforces it (persist-then-accept): when this returns `Ok`, the
    /// quote is durable and HTLCs are checked against it.
    pub async fn add_quote(&self, quote: &StoredQuote) -> Result<(), StoreError> {
        self.store.insert_quote(quote).await?;
        self.register(quote);
        self.emit(RfqEvent::QuoteAccepted {
            id: quote.id,
            kind: quote.kind,
            peer: quote.peer,
        });
        Ok(())
    }

    /// Enforces an already-persisted quote in memory. Peer-accepted quotes are not enforced
    /// on forwards and are ignored here.
    pub fn register(&self, quote: &StoredQuote) {
        if let Some(policy) = Policy::from_quote(quote) {
            write(&self.policies).insert(policy.scid(), Arc::new(policy));
        }
    }

    /// How many policies are enforced in memory.
    pub fn policy_count(&self) -> usize {
        read(&self.policies).len()
    }

    /// The policy keyed on `scid`, if any.
    pub fn policy(&self, scid: u64) -> Option<Arc<Policy>> {
        read(&self.policies).get(&scid).cloned()
    }

    /// A stored quote by id.
    pub async fn quote(&self, id: RfqId) -> Result<Option<StoredQuote>, StoreError> {
        self.store.get_quote(id).await
    }

    /// A stored quote by its SCID alias.
    pub async fn quote_by_scid(&self, scid: u64) -> Result<Option<StoredQuote>, StoreError> {
        self.store.get_quote_by_scid(scid).await
    }

    /// Every stored quote, ours and peer-accepted.
    pub async fn quotes(&self) -> Result<Vec<StoredQuote>, StoreError> {
        self.store.list_quotes().await
    }

    /// Judges an intercepted HTLC in memory (spec §10) and, when it may be forwarded, counts it
    /// in flight against its quote(s). Calling it again for the same circuit does not count
    /// the HTLC twice.
    pub fn check_htlc(&self, htlc: &HtlcView<'_>) -> HtlcDecision {
        match self.decide(htlc) {
            Ok(None) => HtlcDecision::Unrelated,
            Ok(Some((instruction, _))) => HtlcDecision::Forward(instruction),
            Err(failure) => HtlcDecision::Fail(failure),
        }
    }

    /// Like [`check_htlc`](Self::check_htlc), and confirms the reservation in the shared
    /// store. A quote accepted by another worker on the same database is loaded on first use.
    /// Emits `HtlcAccepted` or `HtlcFailed`.
    pub async fn admit_htlc(&self, htlc: &HtlcView<'_>) -> HtlcDecision {
        let mut decided = self.decide(htlc);
        if matches!(decided, Ok(None)) && self.load_missing(htlc).await {
            decided = self.decide(htlc);
        }
        let (instruction, reserved) = match decided {
            Ok(None) => return HtlcDecision::Unrelated,
            Err(failure) => return self.failed(htlc, failure),
            Ok(Some(found)) => found,
        };
        // The store keys reservations by circuit; the outgoing (first) policy is the one whose
        // shared maximum guards the asset leaving us.
        let (policy, msat) = &reserved.first;
        let outcome = self
            .store
            .reserve_in_flight(policy.id, htlc.circuit, *msat, policy.max_msat)
            .await;
        let failure = match outcome {
            Ok(Reservation::Reserved { .. }) | Ok(Reservation::AlreadyReserved(_)) => None,
            Ok(Reservation::ExceedsMax {
                in_flight,
                requested,
                max,
            }) => Some(HtlcFailure::ExceedsMax {
                id: policy.id,
                in_flight,
                requested,
                max,
            }),
            Ok(Reservation::UnknownQuote) => Some(HtlcFailure::Reservation {
                id: policy.id,
                reason: "the shared store no longer has this quote".into(),
            }),
            Err(e) => Some(HtlcFailure::Reservation {
                id: policy.id,
                reason: e.to_string(),
            }),
        };
        if let Some(failure) = failure {
            self.release_local(&htlc.circuit);
            return self.failed(htlc, failure);
        }
        self.emit(RfqEvent::HtlcAccepted {
            id: instruction.quote_id,
            circuit: htlc.circuit,
            msat: *msat,
            units: instruction.asset_units,
        });
        HtlcDecision::Forward(instruction)
    }

    fn failed(&self, htlc: &HtlcView<'_>, failure: HtlcFailure) -> HtlcDecision {
        tracing::info!(circuit = ?htlc.circuit, %failure, "RFQ HTLC failed");
        self.emit(RfqEvent::HtlcFailed {
            id: failure_quote(&failure),
            circuit: htlc.circuit,
            reason: failure.to_string(),
        });
        HtlcDecision::Fail(failure)
    }

    /// Loads quotes another worker accepted for any SCID this HTLC touches. True when
    /// something new was registered.
    async fn load_missing(&self, htlc: &HtlcView<'_>) -> bool {
        let rfq_scid = htlc.records.and_then(|r| r.rfq_id).map(|id| id.scid().0);
        let mut loaded = false;
        for scid in [rfq_scid, Some(htlc.outgoing_scid), Some(htlc.incoming_scid)]
            .into_iter()
            .flatten()
        {
            if self.policy(scid).is_some() {
                continue;
            }
            match self.store.get_quote_by_scid(scid).await {
                Ok(Some(quote)) => {
                    self.register(&quote);
                    loaded |= self.policy(scid).is_some();
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(scid, error = %e, "quote lookup failed"),
            }
        }
        loaded
    }

    /// Policy selection, checks and the in-memory reservation. `Ok(None)`: no quote applies.
    fn decide(
        &self,
        htlc: &HtlcView<'_>,
    ) -> Result<Option<(ForwardInstruction, Reserved)>, HtlcFailure> {
        let (by_rfq_id, by_outgoing, by_incoming) = {
            let policies = read(&self.policies);
            let by_rfq_id = htlc
                .records
                .and_then(|r| r.rfq_id)
                .and_then(|id| policies.get(&id.scid().0).cloned());
            let by_outgoing = policies.get(&htlc.outgoing_scid).cloned();
            // The incoming channel's policy matters only when nothing else matched.
            let by_incoming = if by_rfq_id.is_none() && by_outgoing.is_none() {
                policies.get(&htlc.incoming_scid).cloned()
            } else {
                None
            };
            (by_rfq_id, by_outgoing, by_incoming)
        };
        let (instruction, reserved) = match (by_rfq_id, by_outgoing, by_incoming) {
            // Asset in under one quote, asset out under another: both must hold.
            (Some(incoming), Some(outgoing), _) if incoming.id != outgoing.id => {
                let (mut instruction, out_msat) = outgoing.check(htlc)?;
                let (in_instruction, in_msat) = incoming.check(htlc)?;
                instruction.incoming_value_msat = in_instruction.incoming_value_msat;
                let reserved = Reserved {
                    first: (outgoing, out_msat),
                    second: Some((incoming, in_msat)),
                };
                (instruction, reserved)
            }
            (Some(policy), _, _) | (None, Some(policy), _) | (None, None, Some(policy)) => {
                let (instruction, msat) = policy.check(htlc)?;
                let reserved = Reserved {
                    first: (policy, msat),
                    second: None,
                };
                (instruction, reserved)
            }
            (None, None, None) => {
                if htlc.records.and_then(|r| r.noop_add) == Some(true) {
                    return Err(HtlcFailure::NoopWithoutQuote);
                }
                return Ok(None);
            }
        };
        self.reserve_memory(htlc.circuit, &reserved)?;
        Ok(Some((instruction, reserved)))
    }

    /// Counts a circuit in flight against its policies, atomically per policy and all or
    /// nothing across them. A circuit already counted (a repeated interception) is left as is.
    fn reserve_memory(&self, circuit: CircuitKey, reserved: &Reserved) -> Result<(), HtlcFailure> {
        let mut circuits = lock(&self.circuits);
        if circuits.contains_key(&circuit) {
            return Ok(());
        }
        let (first, msat) = &reserved.first;
        first.try_reserve(*msat)?;
        if let Some((second, second_msat)) = &reserved.second {
            if let Err(failure) = second.try_reserve(*second_msat) {
                first.release(*msat);
                return Err(failure);
            }
        }
        circuits.insert(circuit, reserved.clone());
        Ok(())
    }

    /// Releases a circuit counted by [`check_htlc`](Self::check_htlc) from the in-memory totals
    /// only (a single node without a shared store). Returns the msat released, 0 if unknown.
    pub fn release_local(&self, circuit: &CircuitKey) -> u64 {
        let Some(released) = lock(&self.circuits).remove(circuit) else {
            return 0;
        };
        for (policy, msat) in released.iter() {
            policy.release(*msat);
        }
        released.first.1
    }

    /// An admitted HTLC settled or failed downstream: its amount leaves the in-flight totals,
    /// in memory and in the store. Returns the msat released, if the circuit was known.
    pub async fn release(&self, circuit: CircuitKey) -> Result<Option<u64>, StoreError> {
        let memory = self.release_local(&circuit);
        let stored = self.store.release_in_flight(circuit).await?;
        let msat = stored.or((memory > 0).then_some(memory));
        if let Some(msat) = msat {
            self.emit(RfqEvent::HtlcReleased { circuit, msat });
        }
        Ok(msat)
    }

    /// Cancels a quote before its expiry. True when it existed.
    pub async fn cancel(&self, id: RfqId) -> Result<bool, StoreError> {
        let removed = self.store.remove_quote(id).await?;
        let in_memory = write(&self.policies).remove(&id.scid().0).is_some();
        if removed || in_memory {
            self.emit(RfqEvent::QuoteCancelled { id });
        }
        Ok(removed || in_memory)
    }

    /// How long a request id is remembered for replay protection: a day, far beyond any
    /// request's lifetime (tapd's default is ten minutes).
    pub const REQUEST_ID_MEMORY_SECS: u64 = 86_400;

    /// Removes the quotes expired at `now`, in memory and in the store, and forgets request ids
    /// noted more than [`REQUEST_ID_MEMORY_SECS`](Self::REQUEST_ID_MEMORY_SECS) ago.
    pub async fn sweep_expired(&self, now: u64) -> Result<Vec<RfqId>, StoreError> {
        self.store
            .forget_request_ids(now.saturating_sub(Self::REQUEST_ID_MEMORY_SECS))
            .await?;
        let mut expired: Vec<RfqId> = {
            let mut policies = write(&self.policies);
            let ids: Vec<RfqId> = policies
                .values()
                .filter(|p| p.is_expired(now))
                .map(|p| p.id)
                .collect();
            for id in &ids {
                policies.remove(&id.scid().0);
            }
            ids
        };
        for id in self.store.remove_expired(now).await? {
            if !expired.contains(&id) {
                expired.push(id);
            }
        }
        lock(&self.circuits).retain(|_, reserved| {
            reserved
                .iter()
                .all(|(policy, _)| !expired.contains(&policy.id))
        });
        for id in &expired {
            self.emit(RfqEvent::QuoteExpired { id: *id });
        }
        Ok(expired)
    }

    /// Runs [`sweep_expired`](Self::sweep_expired) every `every` on the current tokio runtime,
    /// reading the time from `clock`, until the returned handle is aborted.
    pub fn spawn_sweeper(
        self: &Arc<Self>,
        every: std::time::Duration,
        clock: crate::oracle::Clock,
    ) -> tokio::task::JoinHandle<()> {
        let manager = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if let Err(e) = manager.sweep_expired(clock()).await {
                    tracing::warn!(error = %e, "sweeping expired quotes failed");
                }
            }
        })
    }
}

fn failure_quote(failure: &HtlcFailure) -> Option<RfqId> {
    match failure {
        HtlcFailure::Expired { id, .. }
        | HtlcFailure::WrongChannel { id, .. }
        | HtlcFailure::ExceedsMax { id, .. }
        | HtlcFailure::MissingRfqId { id }
        | HtlcFailure::InsufficientAssets { id, .. }
        | HtlcFailure::BelowOneUnit { id, .. }
        | HtlcFailure::Conversion { id, .. }
        | HtlcFailure::Reservation { id, .. } => Some(*id),
        HtlcFailure::NoopWithoutQuote => None,
    }
}

// A poisoned lock only means another thread panicked mid-update of plain maps whose entries
// are each consistent; keep serving.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}
