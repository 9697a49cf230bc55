//! The block tree, the active chain and its UTXO set: block acceptance with full consensus
//! checks, connection and disconnection with undo data, `invalidateblock` and
//! `reconsiderblock` with reorganisation to the most-work valid tip.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use bitcoin::blockdata::constants::genesis_block;
use bitcoin::pow::Work;
use bitcoin::{Block, BlockHash, Network, OutPoint, Transaction, Txid};

use super::params::{regtest_bits, subsidy, MAX_BLOCK_WEIGHT};
use super::validation::{
    check_transaction, check_tx_inputs, is_final, script_failure, sequence_locks_satisfied,
    verify_scripts, Coin, Rejection, SCRIPT_FLAGS,
};

/// Errors of chain operations other than block validation.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainError {
    /// The block is not in the block tree.
    #[error("Block not found")]
    BlockNotFound,
    /// The genesis block cannot be invalidated.
    #[error("cannot invalidate the genesis block")]
    Genesis,
    /// The block breaks a rule.
    #[error("{0}")]
    Invalid(#[from] Rejection),
}

/// A block in the tree with its metadata.
#[derive(Debug, Clone)]
pub struct BlockEntry {
    /// The block.
    pub block: Block,
    /// Its height.
    pub height: u32,
    /// Total work of the chain up to and including it.
    pub chainwork: Work,
    /// Marked invalid (by `invalidateblock`, or because it failed to connect).
    pub invalid: bool,
    /// Arrival order, to prefer the first-seen tip among equal-work tips (as Core does).
    seq: u64,
    /// Coins the block spent, in spend order (present while the block is connected).
    undo: Option<Vec<(OutPoint, Coin)>>,
}

/// What a change of the active chain did.
#[derive(Debug, Default)]
pub struct Reorg {
    /// Blocks taken off the active chain, tip first.
    pub disconnected: Vec<Block>,
    /// Blocks added to the active chain, lowest first.
    pub connected: Vec<Block>,
}

/// The block tree, active chain, UTXO set and transaction index.
#[derive(Debug)]
pub struct Chain {
    entries: HashMap<BlockHash, BlockEntry>,
    active: Vec<BlockHash>,
    utxos: HashMap<OutPoint, Coin>,
    tx_index: HashMap<Txid, (BlockHash, usize)>,
    next_seq: u64,
    last_failure: Option<Rejection>,
}

impl Default for Chain {
    fn default() -> Self {
        Self::new()
    }
}

impl Chain {
    /// A chain holding only regtest's genesis block (whose output, as in Core, is unspendable).
    pub fn new() -> Self {
        let genesis = genesis_block(Network::Regtest);
        let hash = genesis.block_hash();
        let mut tx_index = HashMap::new();
        tx_index.insert(genesis.txdata[0].compute_txid(), (hash, 0));
        let entry = BlockEntry {
            chainwork: genesis.header.work(),
            block: genesis,
            height: 0,
            invalid: false,
            seq: 0,
            undo: Some(Vec::new()),
        };
        let mut entries = HashMap::new();
        entries.insert(hash, entry);
        Chain {
            entries,
            active: vec![hash],
            utxos: HashMap::new(),
            tx_index,
            next_seq: 1,
            last_failure: None,
        }
    }

    /// Height of the active tip.
    pub fn height(&self) -> u32 {
        (self.active.len() - 1) as u32
    }

    /// Hash of the active tip.
    pub fn tip_hash(&self) -> BlockHash {
        self.active[self.active.len() - 1]
    }

    /// The active tip's entry.
    pub fn tip(&self) -> &BlockEntry {
        &self.entries[&self.tip_hash()]
    }

    /// Any known block (active or not).
    pub fn entry(&self, hash: &BlockHash) -> Option<&BlockEntry> {
        self.entries.get(hash)
    }

    /// Hash of the active block at `height`.
    pub fn hash_at(&self, height: u32) -> Option<BlockHash> {
        self.active.get(height as usize).copied()
    }

    /// Whether `hash` is on the active chain.
    pub fn is_active(&self, hash: &BlockHash) -> bool {
        self.entries
            .get(hash)
            .is_some_and(|e| self.hash_at(e.height).as_ref() == Some(hash))
    }

    /// Number of known blocks whose headers are valid as far as known (Core's `headers`).
    pub fn best_header_height(&self) -> u32 {
        self.entries
            .values()
            .filter(|e| !e.invalid)
            .map(|e| e.height)
            .max()
            .unwrap_or(0)
    }

    /// Median of the times of the active block at `height` and up to ten before it.
    pub fn median_time_past(&self, height: u32) -> u32 {
        let end = (height as usize).min(self.active.len() - 1);
        let start = end.saturating_sub(10);
        let mut times: Vec<u32> = self.active[start..=end]
            .iter()
            .map(|h| self.entries[h].block.header.time)
            .collect();
        times.sort_unstable();
        times[times.len() / 2]
    }

    /// Median time past of an arbitrary known block (walks back through its ancestors).
    pub fn median_time_past_of(&self, hash: &BlockHash) -> u32 {
        let mut times = Vec::with_capacity(11);
        let mut cur = self.entries.get(hash);
        while let Some(entry) = cur {
            times.push(entry.block.header.time);
            if times.len() == 11 || entry.height == 0 {
                break;
            }
            cur = self.entries.get(&entry.block.header.prev_blockhash);
        }
        times.sort_unstable();
        times.get(times.len() / 2).copied().unwrap_or(0)
    }

    /// An unspent output of the active chain.
    pub fn coin(&self, outpoint: &OutPoint) -> Option<&Coin> {
        self.utxos.get(outpoint)
    }

    /// Number of unspent outputs.
    pub fn utxo_count(&self) -> usize {
        self.utxos.len()
    }

    /// Where a transaction of the active chain is: block hash and position.
    pub fn find_tx(&self, txid: &Txid) -> Option<(BlockHash, &Transaction)> {
        let (hash, pos) = self.tx_index.get(txid)?;
        let tx = self.entries.get(hash)?.block.txdata.get(*pos)?;
        Some((*hash, tx))
    }

    /// A transaction's position in a known block.
    pub fn position_in_block(&self, hash: &BlockHash, txid: &Txid) -> Option<usize> {
        self.entries
            .get(hash)?
            .block
            .txdata
            .iter()
            .position(|t| t.compute_txid() == *txid)
    }

    /// The coins a connected block spent, in input order over its non-coinbase transactions.
    pub fn undo(&self, hash: &BlockHash) -> Option<&[(OutPoint, Coin)]> {
        self.entries.get(hash)?.undo.as_deref()
    }

    /// The coins spent by the transaction at `position` in a connected block (the coinbase
    /// spends none).
    pub fn spent_coins(&self, hash: &BlockHash, position: usize) -> Option<Vec<Coin>> {
        let entry = self.entries.get(hash)?;
        let undo = entry.undo.as_ref()?;
        let txs = entry.block.txdata.get(..=position)?;
        if position == 0 {
            return None;
        }
        let skip: usize = txs[1..position].iter().map(|t| t.input.len()).sum();
        let count = txs[position].input.len();
        Some(
            undo.get(skip..skip + count)?
                .iter()
                .map(|(_, c)| c.clone())
                .collect(),
        )
    }

    /// The active child of an active block.
    pub fn next_active(&self, hash: &BlockHash) -> Option<BlockHash> {
        let entry = self.entries.get(hash)?;
        if !self.is_active(hash) {
            return None;
        }
        self.hash_at(entry.height + 1)
    }

    /// Blocks without children (the tips of all known branches).
    pub fn tips(&self) -> Vec<BlockHash> {
        let parents: HashSet<BlockHash> = self
            .entries
            .values()
            .map(|e| e.block.header.prev_blockhash)
            .collect();
        let mut tips: Vec<(u32, BlockHash)> = self
            .entries
            .iter()
            .filter(|(h, _)| !parents.contains(*h))
            .map(|(h, e)| (e.height, *h))
            .collect();
        tips.sort_by(|a, b| b.cmp(a));
        tips.into_iter().map(|(_, h)| h).collect()
    }

    /// Height where a block's branch leaves the active chain.
    pub fn fork_height(&self, hash: &BlockHash) -> u32 {
        let mut cur = self.entries.get(hash);
        while let Some(e) = cur {
            if self.is_active(&e.block.block_hash()) {
                return e.height;
            }
            cur = self.entries.get(&e.block.header.prev_blockhash);
        }
        0
    }

    /// Whether a block or one of its ancestors is marked invalid.
    pub fn branch_invalid(&self, hash: &BlockHash) -> bool {
        !self.valid_branch(hash)
    }

    /// Checks a block, adds it to the tree and, if it makes a chain with more work, makes that
    /// chain active. Returns the reorganisation done (empty if the block went on a side branch).
    pub fn accept_block(&mut self, block: Block) -> Result<Reorg, Rejection> {
        self.last_failure = None;
        let hash = block.block_hash();
        if let Some(existing) = self.entries.get(&hash) {
            return Err(Rejection::invalid(if existing.invalid {
                "duplicate-invalid"
            } else {
                "duplicate"
            }));
        }
        let prev = self
            .entries
            .get(&block.header.prev_blockhash)
            .ok_or_else(|| Rejection::invalid("prev-blk-not-found"))?;
        if prev.invalid {
            return Err(Rejection::invalid("bad-prevblk"));
        }
        if block.header.bits != regtest_bits() {
            return Err(Rejection::invalid("bad-diffbits"));
        }
        if block.header.validate_pow(block.header.target()).is_err() {
            return Err(Rejection::invalid("high-hash"));
        }
        let height = prev.height + 1;
        if block.header.time <= self.median_time_past_of(&block.header.prev_blockhash) {
            return Err(Rejection::invalid("time-too-old"));
        }
        check_block(&block, height)?;
        let chainwork = prev.chainwork + block.header.work();
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.insert(
            hash,
            BlockEntry {
                block,
                height,
                chainwork,
                invalid: false,
                seq,
                undo: None,
            },
        );
        let reorg = self.activate_best_chain();
        if self.entries.get(&hash).is_some_and(|e| e.invalid) {
            let reason = self
                .last_failure
                .take()
                .unwrap_or_else(|| Rejection::invalid("bad-blk"));
            return Err(reason);
        }
        Ok(reorg)
    }

    /// Marks a block and its descendants invalid and reorganises to the best remaining tip.
    pub fn invalidate(&mut self, hash: &BlockHash) -> Result<Reorg, ChainError> {
        let entry = self.entries.get(hash).ok_or(ChainError::BlockNotFound)?;
        if entry.height == 0 {
            return Err(ChainError::Genesis);
        }
        let target_height = entry.height;
        let mut reorg = Reorg::default();
        if self.is_active(hash) {
            while self.height() >= target_height {
                reorg.disconnected.push(self.disconnect_tip());
            }
        }
        for h in self.descendants(hash, target_height) {
            if let Some(e) = self.entries.get_mut(&h) {
                e.invalid = true;
            }
        }
        let more = self.activate_best_chain();
        reorg.disconnected.extend(more.disconnected);
        reorg.connected = more.connected;
        Ok(reorg)
    }

    /// Clears the invalid mark of a block, its ancestors and descendants, then reorganises to
    /// the best tip.
    pub fn reconsider(&mut self, hash: &BlockHash) -> Result<Reorg, ChainError> {
        let entry = self.entries.get(hash).ok_or(ChainError::BlockNotFound)?;
        let height = entry.height;
        let mut marked = self.descendants(hash, height);
        let mut cur = entry.block.header.prev_blockhash;
        while let Some(e) = self.entries.get(&cur) {
            marked.push(cur);
            cur = e.block.header.prev_blockhash;
        }
        for h in marked {
            if let Some(e) = self.entries.get_mut(&h) {
                e.invalid = false;
            }
        }
        Ok(self.activate_best_chain())
    }

    /// `hash` and every known block descending from it.
    fn descendants(&self, hash: &BlockHash, height: u32) -> Vec<BlockHash> {
        let mut out = vec![*hash];
        for (h, e) in &self.entries {
            if e.height <= height {
                continue;
            }
            let mut cur = e;
            while cur.height > height {
                match self.entries.get(&cur.block.header.prev_blockhash) {
                    Some(p) => cur = p,
                    None => break,
                }
            }
            if cur.block.block_hash() == *hash {
                out.push(*h);
            }
        }
        out
    }

    /// Whether a block and all its ancestors are not marked invalid.
    fn valid_branch(&self, hash: &BlockHash) -> bool {
        let mut cur = self.entries.get(hash);
        while let Some(e) = cur {
            if e.invalid {
                return false;
            }
            if self.is_active(&e.block.block_hash()) {
                return true;
            }
            cur = self.entries.get(&e.block.header.prev_blockhash);
        }
        true
    }

    /// The valid tip with the most work (first seen among equals).
    fn best_tip(&self) -> BlockHash {
        let tip = self.tip();
        let tip_key = (tip.chainwork, Reverse(tip.seq));
        let mut candidates: Vec<(&BlockHash, (Work, Reverse<u64>))> = self
            .entries
            .iter()
            .filter(|(_, e)| !e.invalid)
            .map(|(h, e)| (h, (e.chainwork, Reverse(e.seq))))
            .filter(|(_, key)| *key > tip_key)
            .collect();
        candidates.sort_by_key(|c| Reverse(c.1));
        candidates
            .into_iter()
            .map(|(h, _)| *h)
            .find(|h| self.valid_branch(h))
            .unwrap_or_else(|| self.tip_hash())
    }

    /// Moves the active chain to the best valid tip; blocks that fail to connect are marked
    /// invalid and the search repeats.
    fn activate_best_chain(&mut self) -> Reorg {
        let mut reorg = Reorg::default();
        loop {
            let target = self.best_tip();
            if target == self.tip_hash() {
                return reorg;
            }
            // Path from target back to the active chain.
            let mut path = Vec::new();
            let mut cur = target;
            while !self.is_active(&cur) {
                path.push(cur);
                match self.entries.get(&cur) {
                    Some(e) => cur = e.block.header.prev_blockhash,
                    None => return reorg,
                }
            }
            let fork_height = self.entries[&cur].height;
            while self.height() > fork_height {
                reorg.disconnected.push(self.disconnect_tip());
            }
            for hash in path.into_iter().rev() {
                match self.connect_tip(&hash) {
                    Ok(()) => reorg.connected.push(self.entries[&hash].block.clone()),
                    Err(rejection) => {
                        let height = self.entries[&hash].height;
                        for h in self.descendants(&hash, height) {
                            if let Some(e) = self.entries.get_mut(&h) {
                                e.invalid = true;
                            }
                        }
                        self.last_failure = Some(rejection);
                        break;
                    }
                }
            }
        }
    }

    /// Validates the inputs of a block whose parent is the tip and connects it.
    fn connect_tip(&mut self, hash: &BlockHash) -> Result<(), Rejection> {
        let block = self.entries[hash].block.clone();
        let height = self.height() + 1;
        let prev_mtp = self.median_time_past(self.height());
        let mut created: HashMap<OutPoint, Coin> = HashMap::new();
        let mut spent: HashSet<OutPoint> = HashSet::new();
        let mut undo = Vec::new();
        let mut fees: u64 = 0;
        for tx in block.txdata.iter().skip(1) {
            if !is_final(tx, height, prev_mtp) {
                return Err(Rejection::invalid("bad-txns-nonfinal"));
            }
            let mut coins = Vec::with_capacity(tx.input.len());
            for input in &tx.input {
                let op = input.previous_output;
                if spent.contains(&op) {
                    return Err(Rejection::missing_inputs());
                }
                let coin = created
                    .get(&op)
                    .or_else(|| self.utxos.get(&op))
                    .cloned()
                    .ok_or_else(Rejection::missing_inputs)?;
                coins.push(coin);
            }
            if !sequence_locks_satisfied(tx, &coins, height, prev_mtp, |h| self.median_time_past(h))
            {
                return Err(Rejection::invalid("bad-txns-nonfinal"));
            }
            let fee = check_tx_inputs(tx, &coins, height)?;
            fees = fees.saturating_add(fee.to_sat());
            verify_scripts(tx, &coins, SCRIPT_FLAGS).map_err(script_failure)?;
            for (input, coin) in tx.input.iter().zip(coins) {
                spent.insert(input.previous_output);
                undo.push((input.previous_output, coin));
            }
            add_outputs(&mut created, tx, height, false);
        }
        let coinbase_out: u64 = block.txdata[0]
            .output
            .iter()
            .map(|o| o.value.to_sat())
            .sum();
        if coinbase_out > subsidy(height).to_sat().saturating_add(fees) {
            return Err(Rejection::invalid_with(
                "bad-cb-amount",
                format!(
                    "coinbase pays too much (actual={coinbase_out} vs limit={})",
                    subsidy(height).to_sat() + fees
                ),
            ));
        }
        add_outputs(&mut created, &block.txdata[0], height, true);
        for op in &spent {
            if created.remove(op).is_none() {
                self.utxos.remove(op);
            }
        }
        // Outputs created and spent within the block were removed above; drop their undo
        // entries' effect on the UTXO set by keeping them in undo (restore skips absent coins).
        self.utxos.extend(created);
        for (pos, tx) in block.txdata.iter().enumerate() {
            self.tx_index.insert(tx.compute_txid(), (*hash, pos));
        }
        if let Some(e) = self.entries.get_mut(hash) {
            e.undo = Some(undo);
        }
        self.active.push(*hash);
        Ok(())
    }

    /// Takes the tip off the active chain, restoring the coins it spent; returns its block.
    fn disconnect_tip(&mut self) -> Block {
        let hash = self
            .active
            .pop()
            .unwrap_or_else(|| unreachable!("genesis is never disconnected"));
        let entry = self.entries.get_mut(&hash);
        let (block, undo) = match entry {
            Some(e) => (e.block.clone(), e.undo.take().unwrap_or_default()),
            None => unreachable!("active blocks are in the tree"),
        };
        let block_txids: HashSet<Txid> = block.txdata.iter().map(|t| t.compute_txid()).collect();
        for tx in &block.txdata {
            let txid = tx.compute_txid();
            for vout in 0..tx.output.len() as u32 {
                self.utxos.remove(&OutPoint { txid, vout });
            }
            self.tx_index.remove(&txid);
        }
        for (op, coin) in undo {
            // Coins created in this same block were spent within it; they stay gone.
            if !block_txids.contains(&op.txid) {
                self.utxos.insert(op, coin);
            }
        }
        block
    }
}

/// Adds a transaction's spendable outputs (not OP_RETURN, not oversized) to `coins`.
fn add_outputs(
    coins: &mut HashMap<OutPoint, Coin>,
    tx: &Transaction,
    height: u32,
    is_coinbase: bool,
) {
    let txid = tx.compute_txid();
    for (vout, output) in tx.output.iter().enumerate() {
        if output.script_pubkey.is_op_return() || output.script_pubkey.len() > 10_000 {
            continue;
        }
        coins.insert(
            OutPoint {
                txid,
                vout: vout as u32,
            },
            Coin {
                output: output.clone(),
                height,
                is_coinbase,
            },
        );
    }
}

/// Context-free block checks: structure, merkle root, witness commitment, weight, BIP 34.
pub fn check_block(block: &Block, height: u32) -> Result<(), Rejection> {
    let Some(first) = block.txdata.first() else {
        return Err(Rejection::invalid("bad-blk-length"));
    };
    if !first.is_coinbase() {
        return Err(Rejection::invalid("bad-cb-missing"));
    }
    if block.txdata.iter().skip(1).any(|t| t.is_coinbase()) {
        return Err(Rejection::invalid("bad-cb-multiple"));
    }
    if !block.check_merkle_root() {
        return Err(Rejection::invalid("bad-txnmrklroot"));
    }
    let mut txids = HashSet::with_capacity(block.txdata.len());
    for tx in &block.txdata {
        if !txids.insert(tx.compute_txid()) {
            return Err(Rejection::invalid("bad-txns-duplicate"));
        }
        check_transaction(tx)?;
    }
    if !block.check_witness_commitment() {
        return Err(Rejection::invalid("bad-witness-merkle-match"));
    }
    if block.weight().to_wu() > MAX_BLOCK_WEIGHT {
        return Err(Rejection::invalid("bad-blk-weight"));
    }
    let expected = super::block::bip34_height_push(height);
    if !first.input[0]
        .script_sig
        .as_bytes()
        .starts_with(expected.as_bytes())
    {
        return Err(Rejection::invalid("bad-cb-height"));
    }
    Ok(())
}
