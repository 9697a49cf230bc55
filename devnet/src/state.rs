//! The devnet's mutable state: chain, mempool, optional log, and the operations that touch more
//! than one of them (mining, reorganisations, transaction submission).

use std::collections::{HashMap, HashSet};

use bitcoin::{Amount, BlockHash, OutPoint, ScriptBuf, Transaction, Txid};

use super::block::{assemble, coinbase};
use super::chain::{Chain, ChainError, Reorg};
use super::fees::FeeCurve;
use super::mempool::{Accepted, Mempool, Policy};
use super::params::{subsidy, MAX_BLOCK_WEIGHT};
use super::store::{ChainStore, Record, StoreError};
use super::validation::Rejection;
use super::DevnetError;

/// Weight kept free in a block template for the coinbase (Core reserves 4000).
const COINBASE_RESERVED_WEIGHT: u64 = 4_000;

/// Chain, mempool and settings behind the [`Devnet`](super::Devnet) handle's lock.
#[derive(Debug)]
pub struct State {
    /// The block tree and UTXO set.
    pub chain: Chain,
    /// Unconfirmed transactions.
    pub mempool: Mempool,
    /// Relay policy.
    pub policy: Policy,
    /// `estimatesmartfee`'s curve.
    pub fee_curve: FeeCurve,
    store: Option<ChainStore>,
}

/// Seconds since the Unix epoch (the clock every lnedge store reads).
pub use lnedge_storage::clock::unix_now;

impl State {
    /// A fresh state; with a store, its records are replayed first.
    pub fn new(
        policy: Policy,
        fee_curve: FeeCurve,
        store: Option<(ChainStore, Vec<Record>)>,
    ) -> Self {
        let mut state = State {
            chain: Chain::new(),
            mempool: Mempool::new(),
            policy,
            fee_curve,
            store: None,
        };
        if let Some((store, records)) = store {
            for record in records {
                let result = match record {
                    Record::Block(block) => state
                        .chain
                        .accept_block(block)
                        .map(|_| ())
                        .map_err(ChainError::from),
                    Record::Invalidate(hash) => state.chain.invalidate(&hash).map(|_| ()),
                    Record::Reconsider(hash) => state.chain.reconsider(&hash).map(|_| ()),
                };
                if let Err(e) = result {
                    tracing::warn!(error = %e, "skipping a chain log record");
                }
            }
            state.store = Some(store);
        }
        state
    }

    fn log(&mut self, record: Record) -> Result<(), StoreError> {
        match &mut self.store {
            Some(store) => store.append(&record),
            None => Ok(()),
        }
    }

    /// Time for the next block: now, but strictly after the tip and its median time past.
    fn next_block_time(&self) -> u32 {
        let tip = self.chain.tip().block.header.time;
        let mtp = self.chain.median_time_past(self.chain.height());
        let now = u32::try_from(unix_now()).unwrap_or(u32::MAX);
        now.max(tip.saturating_add(1)).max(mtp.saturating_add(1))
    }

    /// Mempool transactions for the next block, in an order that puts parents first, within
    /// the block weight limit; returns them with their total fee.
    fn template(&self) -> (Vec<Transaction>, Amount) {
        let mut weight = COINBASE_RESERVED_WEIGHT + 80 * 4;
        let mut included: HashSet<Txid> = HashSet::new();
        let mut txs = Vec::new();
        let mut fees = Amount::ZERO;
        for entry in self.mempool.iter() {
            if entry.parents.iter().any(|p| !included.contains(p)) {
                continue;
            }
            if weight + entry.weight > MAX_BLOCK_WEIGHT {
                continue;
            }
            weight += entry.weight;
            included.insert(entry.txid);
            fees += entry.fee;
            txs.push(entry.tx.clone());
        }
        (txs, fees)
    }

    /// Fees of `txs` spending chain coins or outputs of earlier transactions in the list.
    fn fees_of(&self, txs: &[Transaction]) -> Result<Amount, Rejection> {
        let mut outputs: HashMap<OutPoint, Amount> = HashMap::new();
        let mut total = Amount::ZERO;
        for tx in txs {
            let mut value_in = Amount::ZERO;
            for input in &tx.input {
                let op = input.previous_output;
                let value = outputs
                    .get(&op)
                    .copied()
                    .or_else(|| self.chain.coin(&op).map(|c| c.output.value))
                    .ok_or_else(Rejection::missing_inputs)?;
                value_in += value;
            }
            let value_out: Amount = tx.output.iter().map(|o| o.value).sum();
            total += value_in.checked_sub(value_out).unwrap_or(Amount::ZERO);
            let txid = tx.compute_txid();
            for (vout, out) in tx.output.iter().enumerate() {
                outputs.insert(
                    OutPoint {
                        txid,
                        vout: vout as u32,
                    },
                    out.value,
                );
            }
        }
        Ok(total)
    }

    /// Mines one block on the tip paying `script`: the mempool's transactions if `txs` is
    /// `None`, else exactly `txs` (checked against consensus rules only).
    pub fn mine_one(
        &mut self,
        script: &ScriptBuf,
        txs: Option<Vec<Transaction>>,
    ) -> Result<BlockHash, DevnetError> {
        let (txs, fees) = match txs {
            Some(txs) => {
                let fees = self.fees_of(&txs)?;
                (txs, fees)
            }
            None => self.template(),
        };
        let height = self.chain.height() + 1;
        let time = self.next_block_time();
        let mut extra_nonce = 0;
        let block = loop {
            let cb = coinbase(height, extra_nonce, script.clone(), subsidy(height) + fees);
            let block = assemble(self.chain.tip_hash(), time, cb, txs.clone());
            // After `invalidateblock`, the same parent, time and contents would give the very
            // block that was invalidated.
            if self.chain.entry(&block.block_hash()).is_none() {
                break block;
            }
            extra_nonce += 1;
        };
        let hash = block.block_hash();
        let reorg = self.chain.accept_block(block.clone())?;
        self.log(Record::Block(block))?;
        self.apply_reorg(reorg);
        Ok(hash)
    }

    /// Accepts a block built elsewhere (`submitblock`): full consensus checks; it becomes the
    /// tip if its chain has the most work.
    pub fn submit_block(&mut self, block: bitcoin::Block) -> Result<(), DevnetError> {
        let reorg = self.chain.accept_block(block.clone())?;
        self.log(Record::Block(block))?;
        self.apply_reorg(reorg);
        Ok(())
    }

    /// Brings the mempool in line with a change of the active chain: mined and conflicting
    /// transactions leave; after a disconnection, the disconnected blocks' transactions and the
    /// old mempool are re-checked against the new tip (those still valid return).
    pub fn apply_reorg(&mut self, reorg: Reorg) {
        if reorg.disconnected.is_empty() {
            for block in &reorg.connected {
                self.mempool.remove_for_block(block);
            }
            return;
        }
        let mut candidates: Vec<Transaction> = reorg
            .disconnected
            .iter()
            .rev()
            .flat_map(|b| b.txdata.iter().skip(1).cloned())
            .collect();
        candidates.extend(self.mempool.drain());
        let now = unix_now();
        for tx in candidates {
            if let Err(e) = self
                .mempool
                .accept(&self.chain, &tx, &self.policy, now, false)
            {
                tracing::debug!(txid = %tx.compute_txid(), reason = %e, "dropped from mempool after reorg");
            }
        }
    }

    /// Adds a transaction to the mempool.
    pub fn accept(&mut self, tx: &Transaction) -> Result<Accepted, Rejection> {
        self.mempool
            .accept(&self.chain, tx, &self.policy, unix_now(), false)
    }

    /// Runs the mempool checks without adding the transaction.
    pub fn test_accept(&mut self, tx: &Transaction) -> Result<Accepted, Rejection> {
        self.mempool
            .accept(&self.chain, tx, &self.policy, unix_now(), true)
    }

    /// `invalidateblock`.
    pub fn invalidate(&mut self, hash: &BlockHash) -> Result<(), DevnetError> {
        let reorg = self.chain.invalidate(hash)?;
        self.log(Record::Invalidate(*hash))?;
        self.apply_reorg(reorg);
        Ok(())
    }

    /// `reconsiderblock`.
    pub fn reconsider(&mut self, hash: &BlockHash) -> Result<(), DevnetError> {
        let reorg = self.chain.reconsider(hash)?;
        self.log(Record::Reconsider(*hash))?;
        self.apply_reorg(reorg);
        Ok(())
    }
}
