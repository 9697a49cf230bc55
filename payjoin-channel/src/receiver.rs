//! The BIP 78 state machine glue ([`PayjoinReceiver`]): the receiver checklist, the channel
//! funding path and the plain payjoin fallback. Transport-independent: [`crate::http`] feeds it
//! requests, and a BIP 77 transport can feed it the same way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcoin::{Amount, FeeRate, OutPoint, TxOut, Txid};
use payjoin::receive::v1::{
    Headers, MaybeInputsSeen, OutputsUnknown, PayjoinProposal, UncheckedOriginalPayload,
    WantsOutputs,
};
use payjoin::receive::InputPair;
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio::time::Instant;

use lnedge_storage::clock::unix_now;

use crate::chain::ChainWatch;
use crate::error::{BackendError, ScheduleError, StoreError};
use crate::events::ReceiverEvent;
use crate::funding::{self, FundingPlan};
use crate::opener::{ChannelOpener, PendingChannel};
use crate::reply::Reply;
use crate::scheduler::{ChannelScheduler, PayjoinInvoice};
use crate::store::{ReceiverStore, Schedule};
use crate::types::{AbandonReason, ScheduleId, ScheduleState, StateKind};
use crate::wallet::ReceiverWallet;
use crate::watchdog::{self, Verdict};

/// Receiver policy.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// Minimum fee rate of the payer's original (and of the proposal); `None` = 1 sat/vB.
    pub min_fee_rate: Option<FeeRate>,
    /// The highest effective fee rate the receiver pays for its own additions (wider funding
    /// outputs, change output, contributed input).
    pub max_effective_fee_rate: FeeRate,
    /// Whether to contribute one wallet input to each payjoin.
    pub contribute_input: bool,
    /// How long the peers may take to accept the channels.
    pub open_timeout: Duration,
    /// How long the peers may take to send their funding signatures.
    pub funding_signature_timeout: Duration,
    /// How often the watchdog asks the chain.
    pub watchdog_poll_interval: Duration,
    /// How long the watchdog waits for the payjoin (or the original) to appear.
    pub watchdog_timeout: Duration,
    /// Capacity of the event channel.
    pub event_capacity: usize,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        Self {
            min_fee_rate: None,
            max_effective_fee_rate: FeeRate::from_sat_per_vb_u32(50),
            contribute_input: true,
            open_timeout: Duration::from_secs(20),
            funding_signature_timeout: Duration::from_secs(20),
            watchdog_poll_interval: Duration::from_secs(10),
            watchdog_timeout: Duration::from_secs(600),
            event_capacity: 256,
        }
    }
}

struct Inner<O, W, C> {
    opener: O,
    wallet: W,
    chain: C,
    scheduler: ChannelScheduler,
    config: ReceiverConfig,
    events: broadcast::Sender<ReceiverEvent>,
    /// Our coins offered in proposals, until when: a coin is offered to one payer at a time, so
    /// two answered proposals never spend the same receiver input.
    reserved: Mutex<HashMap<OutPoint, Instant>>,
}

impl<O, W, C> Inner<O, W, C> {
    fn emit(&self, event: ReceiverEvent) {
        tracing::info!(?event, "payjoin receiver event");
        // No subscriber is fine.
        let _ = self.events.send(event);
    }

    fn store(&self) -> &ReceiverStore {
        self.scheduler.store()
    }

    /// Moves schedule `id` from `from` to `to` (see `ReceiverStore::transition`), on the
    /// blocking pool: the write syncs the file.
    async fn transition(
        &self,
        id: ScheduleId,
        from: StateKind,
        to: ScheduleState,
    ) -> Result<bool, StoreError> {
        self.store()
            .blocking(move |store| store.transition(id, from, to))
            .await
    }
}

/// A BIP 78 receiver whose payjoins fund scheduled channels. Cheap to clone.
pub struct PayjoinReceiver<O, W, C> {
    inner: Arc<Inner<O, W, C>>,
}

impl<O, W, C> Clone for PayjoinReceiver<O, W, C> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<O, W, C> std::fmt::Debug for PayjoinReceiver<O, W, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayjoinReceiver")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// What went wrong in one step of the checklist: already a reply.
type Step<T> = Result<T, Reply>;

fn backend(what: &'static str) -> impl Fn(BackendError) -> Reply {
    move |e| {
        tracing::warn!(error = %e, "{what} failed");
        Reply::unavailable()
    }
}

fn store_failed(e: StoreError) -> Reply {
    tracing::error!(error = %e, "receiver store failed");
    Reply::unavailable()
}

fn payjoin_failed(e: payjoin::receive::Error) -> Reply {
    tracing::info!(error = %e, "original refused");
    Reply::from_payjoin(&e)
}

/// Our output in the original that belongs to a schedule.
struct ScheduledPayment {
    id: ScheduleId,
    schedule: Schedule,
    paid: Amount,
    kept: Vec<TxOut>,
}

impl<O: ChannelOpener, W: ReceiverWallet, C: ChainWatch> PayjoinReceiver<O, W, C> {
    /// A receiver over the given Lightning opener, wallet and chain, with schedules in
    /// `scheduler`.
    pub fn new(
        opener: O,
        wallet: W,
        chain: C,
        scheduler: ChannelScheduler,
        config: ReceiverConfig,
    ) -> Self {
        let (events, _) = broadcast::channel(config.event_capacity.max(1));
        Self {
            inner: Arc::new(Inner {
                opener,
                wallet,
                chain,
                scheduler,
                config,
                events,
                reserved: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The scheduler (list, get, cancel).
    pub fn scheduler(&self) -> &ChannelScheduler {
        &self.inner.scheduler
    }

    /// The Lightning opener.
    pub fn opener(&self) -> &O {
        &self.inner.opener
    }

    /// The wallet.
    pub fn wallet(&self) -> &W {
        &self.inner.wallet
    }

    /// The chain watch.
    pub fn chain(&self) -> &C {
        &self.inner.chain
    }

    /// Subscribes to outcomes.
    pub fn subscribe(&self) -> broadcast::Receiver<ReceiverEvent> {
        self.inner.events.subscribe()
    }

    /// Schedules `channels` on a fresh wallet address; see [`ChannelScheduler::schedule`].
    pub async fn schedule(
        &self,
        channels: Vec<crate::ChannelRequest>,
        fee_margin: Amount,
        valid_for: Duration,
    ) -> Result<PayjoinInvoice, ScheduleError> {
        let address = self
            .inner
            .wallet
            .fresh_address()
            .await
            .map_err(ScheduleError::Wallet)?;
        // Storing the schedule syncs the file: on the blocking pool.
        let scheduler = self.inner.scheduler.clone();
        tokio::task::spawn_blocking(move || {
            scheduler.schedule(address, channels, fee_margin, valid_for)
        })
        .await
        .map_err(|e| ScheduleError::Store(e.into()))?
    }

    /// Call once after a restart: restarts the watchdog of every proposed schedule, and
    /// abandons the channels of schedules that were claimed but not answered when the process
    /// stopped (the payer's request is gone). Returns (watchdogs restarted, schedules abandoned).
    pub async fn recover(&self) -> Result<(usize, usize), StoreError> {
        let store = self.inner.store();
        let (mut watched, mut abandoned) = (0, 0);
        for s in store.schedules()? {
            match (s.state, s.payjoin_txid, s.original_txid) {
                (ScheduleState::Proposed, Some(payjoin), Some(original)) => {
                    let channels = store.pending_channels(s.id)?;
                    spawn_watchdog(Arc::clone(&self.inner), s.id, payjoin, original, channels);
                    watched += 1;
                }
                (ScheduleState::Claimed, _, _) => {
                    let reason = AbandonReason::Interrupted;
                    let channels = store.pending_channels(s.id)?;
                    abandon_channels(&self.inner, &channels, reason).await;
                    let fell_back = ScheduleState::FellBack(reason);
                    if self
                        .inner
                        .transition(s.id, StateKind::Claimed, fell_back)
                        .await?
                    {
                        self.inner.emit(ReceiverEvent::ChannelsFellBack {
                            schedule: s.id,
                            reason,
                        });
                        abandoned += 1;
                    }
                }
                _ => {}
            }
        }
        Ok((watched, abandoned))
    }

    /// Handles one POSTed original: `body` is the request body, `query` the raw query string,
    /// `headers` the request headers. Never fails: errors are BIP 78 replies.
    pub async fn handle_original(&self, body: &[u8], query: &str, headers: impl Headers) -> Reply {
        match self.process(body, query, headers).await {
            Ok(reply) | Err(reply) => reply,
        }
    }

    async fn process(&self, body: &[u8], query: &str, headers: impl Headers) -> Step<Reply> {
        let inner = &self.inner;
        let unchecked =
            UncheckedOriginalPayload::from_request(body, query, headers).map_err(payjoin_failed)?;

        // 1. Broadcast suitability, and native segwit inputs only (txid fixed before signing).
        let original = unchecked.extract_tx_to_check_broadcast_suitability();
        if !funding::inputs_are_native_segwit(&original) {
            tracing::info!("original refused: not all inputs are native segwit");
            return Err(Reply::rejected(
                "all inputs must be native segwit (signed, empty scriptSig)",
            ));
        }
        let original_txid = original.compute_txid();
        let can_broadcast = inner
            .wallet
            .can_broadcast(&original)
            .await
            .map_err(backend("broadcast check"))?;
        let owned = unchecked
            .apply_broadcast_suitability(inner.config.min_fee_rate, can_broadcast)
            .map_err(payjoin_failed)?;

        // 2. Inputs not ours.
        let mut marked = Vec::new();
        for item in owned.inputs_owned_checklist() {
            let ours = inner
                .wallet
                .is_our_outpoint(item.value())
                .await
                .map_err(backend("wallet"))?;
            marked.push(item.mark(ours));
        }
        let seen = owned
            .apply_inputs_owned_checklist(marked)
            .map_err(payjoin_failed)?;

        // The schedules our outputs may pay (read before the durable write below takes the
        // store; claimed only after it).
        let scheduled = self.scheduled_outputs(&original)?;

        // 3. Inputs never seen before (durable, atomic per outpoint). The record is written (and
        // synced) on a blocking thread while the proposal is computed; it is awaited before
        // anything lasting (claiming a schedule) and before any reply, so a replay is refused
        // with payjoin's own error and nothing is answered before the record is durable.
        let mut record = SeenRecord::start(inner.scheduler.store(), &seen);
        let unseen = seen.inputs_seen_checklist().map(|item| item.mark(false));
        let unknown = seen
            .apply_inputs_seen_checklist(unseen)
            .map_err(payjoin_failed);
        let answer = match unknown {
            Ok(unknown) => {
                self.answer(unknown, &original, original_txid, scheduled, &mut record)
                    .await
            }
            Err(reply) => Err(reply),
        };
        match (record.wait().await, answer) {
            (Err(refusal), Ok(Answer::Plain(plain))) => {
                self.release(plain.contribution.as_ref());
                Err(refusal)
            }
            (Err(refusal), _) => Err(refusal),
            (Ok(()), Ok(Answer::Reply(reply))) => Ok(reply),
            (Ok(()), Ok(Answer::Plain(plain))) => {
                let proposal = plain.proposal;
                inner.emit(ReceiverEvent::PlainPayjoinProposed {
                    payjoin_txid: funding::stable_txid(proposal.psbt()),
                    original_txid,
                });
                Ok(Reply::proposal(proposal.psbt()))
            }
            (Ok(()), Err(reply)) => Err(reply),
        }
    }

    /// Steps 4 and 5 of the checklist, and the proposal.
    async fn answer(
        &self,
        unknown: OutputsUnknown,
        original: &bitcoin::Transaction,
        original_txid: Txid,
        scheduled: Vec<(usize, ScheduleId)>,
        record: &mut SeenRecord,
    ) -> Step<Answer> {
        let inner = &self.inner;
        // 4. Our outputs.
        let mut marked = Vec::new();
        let mut ours = Vec::new();
        for (vout, item) in unknown.outputs_owned_checklist().enumerate() {
            let mine = inner
                .wallet
                .is_our_script(item.value())
                .await
                .map_err(backend("wallet"))?;
            if mine {
                ours.push(vout);
            }
            marked.push(item.mark(mine));
        }
        let wants = unknown
            .apply_outputs_owned_checklist(marked)
            .map_err(payjoin_failed)?;

        // 5. A schedule behind one of our outputs?
        let scheduled: Vec<(usize, ScheduleId)> = scheduled
            .into_iter()
            .filter(|(vout, _)| ours.contains(vout))
            .collect();
        if wants.output_substitution() == payjoin::OutputSubstitution::Enabled
            && !scheduled.is_empty()
        {
            // Claiming is lasting: only for an original whose inputs are durably new.
            record.wait().await?;
            if let Some(payment) = self.claim_schedule(original, &ours, &scheduled).await? {
                let id = payment.id;
                match self
                    .channel_payjoin(wants.clone(), payment, original_txid)
                    .await
                {
                    Ok(reply) => return Ok(Answer::Reply(reply)),
                    Err(reason) => {
                        let fell_back = ScheduleState::FellBack(reason);
                        if let Err(e) = inner.transition(id, StateKind::Claimed, fell_back).await {
                            tracing::error!(error = %e, %id, "cannot record fallback");
                        }
                        inner.emit(ReceiverEvent::ChannelsFellBack {
                            schedule: id,
                            reason,
                        });
                    }
                }
            }
        }
        self.plain_payjoin(wants).await
    }

    /// Our open, unexpired schedules among the original's outputs: (vout, schedule).
    fn scheduled_outputs(&self, original: &bitcoin::Transaction) -> Step<Vec<(usize, ScheduleId)>> {
        let store = self.inner.scheduler.store();
        let now = unix_now();
        let mut found = Vec::new();
        for (vout, out) in original.output.iter().enumerate() {
            if let Some(id) = store
                .open_schedule_for_script(&out.script_pubkey, now)
                .map_err(store_failed)?
            {
                found.push((vout, id));
            }
        }
        Ok(found)
    }

    /// Claims the schedule paid by one of our outputs (exactly once).
    async fn claim_schedule(
        &self,
        original: &bitcoin::Transaction,
        ours: &[usize],
        scheduled: &[(usize, ScheduleId)],
    ) -> Step<Option<ScheduledPayment>> {
        let store = self.inner.scheduler.store();
        for &(vout, id) in scheduled {
            let Some(out) = original.output.get(vout) else {
                continue;
            };
            let Some(schedule) = store.schedule(id).map_err(store_failed)? else {
                continue;
            };
            if out.value < schedule.amount {
                tracing::info!(%id, paid = %out.value, asked = %schedule.amount,
                    "payment below the scheduled amount; plain payjoin");
                return Ok(None);
            }
            if !self
                .inner
                .transition(id, StateKind::Open, ScheduleState::Claimed)
                .await
                .map_err(store_failed)?
            {
                tracing::info!(%id, "schedule already claimed; plain payjoin");
                return Ok(None);
            }
            let kept = ours
                .iter()
                .filter(|&&v| v != vout)
                .filter_map(|&v| original.output.get(v).cloned())
                .collect();
            return Ok(Some(ScheduledPayment {
                id,
                schedule,
                paid: out.value,
                kept,
            }));
        }
        Ok(None)
    }

    /// The channel path. On error the channels opened so far are abandoned and the caller falls
    /// back to a plain payjoin.
    async fn channel_payjoin(
        &self,
        wants: WantsOutputs,
        payment: ScheduledPayment,
        original_txid: Txid,
    ) -> Result<Reply, AbandonReason> {
        let inner = &self.inner;
        let id = payment.id;
        let store = inner.store();
        let recorded = store
            .blocking(move |store| store.set_txids(id, None, original_txid))
            .await;
        if let Err(e) = recorded {
            tracing::error!(error = %e, %id, "cannot record the original");
            return Err(AbandonReason::ProposalFailed);
        }

        // Open every channel in parallel.
        let mut opens = JoinSet::new();
        for (i, request) in payment.schedule.channels.iter().cloned().enumerate() {
            let inner = Arc::clone(&self.inner);
            opens.spawn(async move {
                let result =
                    tokio::time::timeout(inner.config.open_timeout, inner.opener.open(&request))
                        .await;
                (i, request, result)
            });
        }
        let mut accepted: Vec<Option<PendingChannel>> = vec![None; payment.schedule.channels.len()];
        let mut failed = false;
        while let Some(joined) = opens.join_next().await {
            match joined {
                Ok((i, request, Ok(Ok(channel))))
                    if channel.amount == request.amount
                        && channel.funding_script.is_witness_program() =>
                {
                    accepted[i] = Some(channel);
                }
                Ok((i, _, Ok(Ok(channel)))) => {
                    tracing::warn!(%id, i, channel = %channel.id, "opener returned a wrong amount or non-segwit script");
                    accepted[i] = Some(channel);
                    failed = true;
                }
                Ok((i, _, Ok(Err(e)))) => {
                    tracing::warn!(%id, i, error = %e, "channel open failed");
                    failed = true;
                }
                Ok((i, _, Err(_))) => {
                    tracing::warn!(%id, i, "channel open timed out");
                    failed = true;
                }
                Err(e) => {
                    tracing::error!(%id, error = %e, "channel open task failed");
                    failed = true;
                }
            }
        }
        let channels: Vec<PendingChannel> = accepted.into_iter().flatten().collect();
        if failed {
            self.abandon_all(&channels, AbandonReason::OpenFailed).await;
            return Err(AbandonReason::OpenFailed);
        }
        let pending = channels.clone();
        let saved = store
            .blocking(move |store| store.save_pending_channels(id, &pending))
            .await;
        if let Err(e) = saved {
            tracing::error!(error = %e, %id, "cannot record pending channels");
            self.abandon_all(&channels, AbandonReason::ProposalFailed)
                .await;
            return Err(AbandonReason::ProposalFailed);
        }

        let config = &inner.config;
        let hold = config.open_timeout + config.funding_signature_timeout + config.watchdog_timeout;
        let contribution = self.pick_contribution(&wants, hold).await;
        match self
            .fund_and_answer(
                wants,
                &payment,
                &channels,
                original_txid,
                contribution.clone(),
            )
            .await
        {
            Ok(reply) => Ok(reply),
            Err(reason) => {
                self.release(contribution.as_ref());
                self.abandon_all(&channels, reason).await;
                Err(reason)
            }
        }
    }

    async fn fund_and_answer(
        &self,
        wants: WantsOutputs,
        payment: &ScheduledPayment,
        channels: &[PendingChannel],
        original_txid: Txid,
        contribution: Option<InputPair>,
    ) -> Result<Reply, AbandonReason> {
        let inner = &self.inner;
        let id = payment.id;
        let proposal_failed = |what: &str, e: &dyn std::fmt::Display| {
            tracing::warn!(%id, error = %e, "{what}");
            AbandonReason::ProposalFailed
        };
        let change = inner
            .wallet
            .fresh_address()
            .await
            .map_err(|e| proposal_failed("change address", &e))?;
        let plan = FundingPlan {
            channels,
            paid: payment.paid,
            kept: payment.kept.clone(),
            change_script: change.script_pubkey(),
            contribution: contribution.clone(),
            min_fee_rate: inner.config.min_fee_rate,
            max_effective_fee_rate: inner.config.max_effective_fee_rate,
        };
        let provisional = match funding::build_funding_proposal(wants.clone(), plan.clone()) {
            Ok(p) => p,
            // The contributed input may be what makes the fee unaffordable: retry without it.
            Err(e) if contribution.is_some() => {
                tracing::info!(%id, error = %e, "funding proposal with our input failed; retrying without");
                self.release(contribution.as_ref());
                funding::build_funding_proposal(
                    wants,
                    FundingPlan {
                        contribution: None,
                        ..plan
                    },
                )
                .map_err(|e| proposal_failed("funding proposal", &e))?
            }
            Err(e) => return Err(proposal_failed("funding proposal", &e)),
        };
        let unsigned = provisional.psbt_to_sign();
        let txid = funding::stable_txid(&unsigned);
        let outpoints = funding::funding_outpoints(&unsigned.unsigned_tx, channels)
            .map_err(|e| proposal_failed("funding outputs", &e))?;
        let signed = inner
            .wallet
            .sign_and_finalize(unsigned)
            .await
            .map_err(|e| proposal_failed("signing", &e))?;
        let proposal = provisional
            .finalize_signed_proposal(&signed)
            .map_err(|e| proposal_failed("finalizing", &e))?;
        if funding::stable_txid(proposal.psbt()) != txid {
            tracing::error!(%id, "proposal txid changed after signing");
            return Err(AbandonReason::ProposalFailed);
        }
        inner
            .store()
            .blocking(move |store| store.set_txids(id, Some(txid), original_txid))
            .await
            .map_err(|e| proposal_failed("recording txids", &e))?;

        // Hand each funding outpoint to its channel; wait for every funding signature.
        let mut signs = JoinSet::new();
        for (channel, outpoint) in channels.iter().cloned().zip(outpoints) {
            let inner = Arc::clone(&self.inner);
            signs.spawn(async move {
                let timeout = inner.config.funding_signature_timeout;
                let result = tokio::time::timeout(
                    timeout,
                    inner.opener.funding_outpoint(&channel, outpoint),
                )
                .await;
                (channel.id, result)
            });
        }
        let mut all_signed = true;
        while let Some(joined) = signs.join_next().await {
            match joined {
                Ok((_, Ok(Ok(())))) => {}
                Ok((channel, Ok(Err(e)))) => {
                    tracing::warn!(%id, %channel, error = %e, "funding signature failed");
                    all_signed = false;
                }
                Ok((channel, Err(_))) => {
                    tracing::warn!(%id, %channel, "funding signature timed out");
                    all_signed = false;
                }
                Err(e) => {
                    tracing::error!(%id, error = %e, "funding signature task failed");
                    all_signed = false;
                }
            }
        }
        if !all_signed {
            return Err(AbandonReason::FundingSignatureFailed);
        }
        match inner
            .transition(id, StateKind::Claimed, ScheduleState::Proposed)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(%id, "schedule left the claimed state during funding");
                return Err(AbandonReason::ProposalFailed);
            }
            Err(e) => return Err(proposal_failed("recording proposal", &e)),
        }
        inner.emit(ReceiverEvent::ChannelsProposed {
            schedule: id,
            payjoin_txid: txid,
            original_txid,
        });
        spawn_watchdog(
            Arc::clone(&self.inner),
            id,
            txid,
            original_txid,
            channels.to_vec(),
        );
        Ok(Reply::proposal(proposal.psbt()))
    }

    /// Picks one of our coins to contribute and reserves it for `hold`.
    async fn pick_contribution(&self, wants: &WantsOutputs, hold: Duration) -> Option<InputPair> {
        if !self.inner.config.contribute_input {
            return None;
        }
        let candidates = match self.inner.wallet.candidate_inputs().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "candidate inputs unavailable; not contributing");
                return None;
            }
        };
        let now = Instant::now();
        let mut reserved = self
            .inner
            .reserved
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        reserved.retain(|_, until| *until > now);
        let free: Vec<InputPair> = candidates
            .into_iter()
            .filter(|c| !reserved.contains_key(&c.outpoint()))
            .collect();
        if free.is_empty() {
            return None;
        }
        let chosen = wants
            .clone()
            .commit_outputs()
            .try_preserving_privacy(free)
            .ok()?;
        reserved.insert(chosen.outpoint(), now + hold);
        Some(chosen)
    }

    /// Releases a coin reserved by [`Self::pick_contribution`] that was not offered after all.
    fn release(&self, input: Option<&InputPair>) {
        if let Some(input) = input {
            let mut reserved = self
                .inner
                .reserved
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            reserved.remove(&input.outpoint());
        }
    }

    async fn abandon_all(&self, channels: &[PendingChannel], reason: AbandonReason) {
        abandon_channels(&self.inner, channels, reason).await;
    }

    /// A plain payjoin into the wallet (no channel): our outputs unchanged, one of our inputs
    /// contributed if we have one (reserved; the caller releases it if the answer is dropped).
    async fn plain_payjoin(&self, wants: WantsOutputs) -> Step<Answer> {
        let hold = self.inner.config.watchdog_timeout;
        let contribution = self.pick_contribution(&wants, hold).await;
        let result = self.plain_payjoin_with(wants, contribution.clone()).await;
        if result.is_err() {
            self.release(contribution.as_ref());
        }
        result
    }

    async fn plain_payjoin_with(
        &self,
        wants: WantsOutputs,
        mut contribution: Option<InputPair>,
    ) -> Step<Answer> {
        let inner = &self.inner;
        let fee_range = |w: WantsOutputs, input: Option<InputPair>| {
            let mut inputs = w.commit_outputs();
            if let Some(input) = input {
                inputs = inputs.contribute_inputs([input]).map_err(|e| {
                    tracing::warn!(error = %e, "input contribution refused");
                    Reply::unavailable()
                })?;
            }
            inputs
                .commit_inputs()
                .apply_fee_range(
                    inner.config.min_fee_rate,
                    Some(inner.config.max_effective_fee_rate),
                )
                .map_err(payjoin_failed)
        };
        let provisional = match contribution.clone() {
            None => fee_range(wants, None)?,
            // Keep the outputs for a retry without our input only when there is one.
            Some(input) => match fee_range(wants.clone(), Some(input)) {
                Ok(p) => p,
                Err(_) => {
                    self.release(contribution.take().as_ref());
                    fee_range(wants, None)?
                }
            },
        };
        let signed = inner
            .wallet
            .sign_and_finalize(provisional.psbt_to_sign())
            .await
            .map_err(backend("signing"))?;
        let proposal = provisional
            .finalize_signed_proposal(&signed)
            .map_err(payjoin_failed)?;
        Ok(Answer::Plain(Box::new(PlainProposal {
            proposal,
            contribution,
        })))
    }
}

/// What [`PayjoinReceiver::answer`] produced.
enum Answer {
    /// The reply (channel path: already checked against the durable seen-input record).
    Reply(Reply),
    /// A plain payjoin proposal, to be answered once the seen-input record is durable.
    Plain(Box<PlainProposal>),
}

struct PlainProposal {
    proposal: PayjoinProposal,
    /// Our coin in it (reserved), released if the proposal is not answered after all.
    contribution: Option<InputPair>,
}

/// The durable record of an original's inputs (SQLite, synced) being written on a blocking
/// thread; [`SeenRecord::wait`] tells whether every input was new.
struct SeenRecord {
    pending: Option<tokio::task::JoinHandle<Result<Vec<bool>, StoreError>>>,
    /// The checklist's state, to build `payjoin`'s own refusal if an input was seen before.
    checklist: Option<MaybeInputsSeen>,
    outcome: Option<Step<()>>,
}

impl SeenRecord {
    fn start(store: &ReceiverStore, seen: &MaybeInputsSeen) -> Self {
        let outpoints: Vec<OutPoint> = seen.inputs_seen_checklist().map(|i| *i.value()).collect();
        let store = store.clone();
        let now = unix_now();
        let pending = tokio::task::spawn_blocking(move || store.mark_inputs_seen(&outpoints, now));
        Self {
            pending: Some(pending),
            checklist: Some(seen.clone()),
            outcome: None,
        }
    }

    /// Waits for the record to be durable: `Ok` if every input was new, else the refusal.
    async fn wait(&mut self) -> Step<()> {
        if let Some(pending) = self.pending.take() {
            let outcome = match pending.await {
                Err(e) => {
                    tracing::error!(error = %e, "seen-input record task failed");
                    Err(Reply::unavailable())
                }
                Ok(Err(e)) => Err(store_failed(e)),
                Ok(Ok(flags)) if flags.contains(&true) => {
                    Err(self.refusal(flags).unwrap_or_else(Reply::unavailable))
                }
                Ok(Ok(_)) => Ok(()),
            };
            self.outcome = Some(outcome);
        }
        self.outcome
            .clone()
            .unwrap_or_else(|| Err(Reply::unavailable()))
    }

    /// `payjoin`'s reply to an original with an input seen before.
    fn refusal(&mut self, flags: Vec<bool>) -> Option<Reply> {
        let seen = self.checklist.take()?;
        let marked: Vec<_> = seen
            .inputs_seen_checklist()
            .zip(flags)
            .map(|(item, flag)| item.mark(flag))
            .collect();
        seen.apply_inputs_seen_checklist(marked)
            .err()
            .map(payjoin_failed)
    }
}

async fn abandon_channels<O: ChannelOpener, W, C>(
    inner: &Inner<O, W, C>,
    channels: &[PendingChannel],
    reason: AbandonReason,
) {
    for channel in channels {
        if let Err(e) = inner.opener.abandon(channel, reason).await {
            tracing::error!(channel = %channel.id, error = %e, "abandoning channel failed");
        }
    }
}

/// Starts the watchdog of a proposed schedule (see [`watchdog`]) and acts on its verdict:
/// records it, abandons the channels if need be, and emits the event.
fn spawn_watchdog<O: ChannelOpener, W: Send + Sync + 'static, C: ChainWatch>(
    inner: Arc<Inner<O, W, C>>,
    id: ScheduleId,
    payjoin_txid: Txid,
    original_txid: Txid,
    channels: Vec<PendingChannel>,
) {
    tokio::spawn(async move {
        let config = &inner.config;
        let verdict = watchdog::watch(
            &inner.chain,
            id,
            payjoin_txid,
            original_txid,
            config.watchdog_poll_interval,
            config.watchdog_timeout,
        )
        .await;
        match verdict {
            Verdict::Wait => {}
            Verdict::Funded => {
                let funded = inner
                    .transition(id, StateKind::Proposed, ScheduleState::Funded)
                    .await;
                if let Err(e) = funded {
                    tracing::error!(%id, error = %e, "cannot record funding");
                }
                inner.emit(ReceiverEvent::FundingConfirmed {
                    schedule: id,
                    txid: payjoin_txid,
                });
            }
            Verdict::Abandon(reason) => {
                abandon_channels(&inner, &channels, reason).await;
                let abandoned = inner
                    .transition(id, StateKind::Proposed, ScheduleState::Abandoned(reason))
                    .await;
                if let Err(e) = abandoned {
                    tracing::error!(%id, error = %e, "cannot record abandonment");
                }
                inner.emit(ReceiverEvent::ChannelsAbandoned {
                    schedule: id,
                    reason,
                });
            }
        }
    });
}
