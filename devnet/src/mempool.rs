//! The mempool: transactions checked against the active chain with Bitcoin Core's policy
//! (standardness, dust, fee floor) and consensus rules (inputs, maturity, finality, scripts).
//! Chains of unconfirmed transactions are allowed; conflicts are refused (no replacement).

use std::collections::{BTreeMap, HashMap, HashSet};

use bitcoin::script::Instruction;
use bitcoin::{Amount, Block, OutPoint, Transaction, Txid, Wtxid};

use super::chain::Chain;
use super::params::{
    MAX_OP_RETURN_RELAY, MAX_STANDARD_SCRIPTSIG_SIZE, MAX_STANDARD_TX_WEIGHT,
    MIN_STANDARD_TX_NONWITNESS_SIZE,
};
use super::validation::{
    check_transaction, check_tx_inputs, is_final, script_failure, sequence_locks_satisfied,
    verify_scripts, Coin, RejectKind, Rejection, SCRIPT_FLAGS,
};

/// Core's `-limitancestorcount` and `-limitdescendantcount` defaults.
pub const CHAIN_LIMIT: usize = 25;

/// Relay policy knobs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Minimum fee rate, sat per 1000 virtual bytes (`-minrelaytxfee`).
    pub min_relay_fee_sat_per_kvb: u64,
    /// Fee rate used for the dust threshold, sat per 1000 virtual bytes (`-dustrelayfee`).
    pub dust_relay_fee_sat_per_kvb: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_relay_fee_sat_per_kvb: super::params::DEFAULT_MIN_RELAY_FEE_SAT_PER_KVB,
            dust_relay_fee_sat_per_kvb: 3_000,
        }
    }
}

/// A transaction in the mempool.
#[derive(Clone, Debug)]
pub struct MempoolEntry {
    /// The transaction.
    pub tx: Transaction,
    /// Its txid.
    pub txid: Txid,
    /// Its wtxid.
    pub wtxid: Wtxid,
    /// Fee paid.
    pub fee: Amount,
    /// Virtual size.
    pub vsize: u64,
    /// Weight.
    pub weight: u64,
    /// Unix time of entry.
    pub time: u64,
    /// Chain height at entry.
    pub height: u32,
    /// In-mempool parents.
    pub parents: Vec<Txid>,
    seq: u64,
}

/// A transaction that passed the checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// Its txid.
    pub txid: Txid,
    /// Its wtxid.
    pub wtxid: Wtxid,
    /// Fee paid.
    pub fee: Amount,
    /// Virtual size.
    pub vsize: u64,
}

/// The set of unconfirmed transactions.
#[derive(Clone, Debug, Default)]
pub struct Mempool {
    entries: HashMap<Txid, MempoolEntry>,
    order: BTreeMap<u64, Txid>,
    spenders: HashMap<OutPoint, Txid>,
    next_seq: u64,
    events: u64,
}

impl Mempool {
    /// An empty mempool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no transaction.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Count of additions and removals so far (`getrawmempool`'s `mempool_sequence`).
    pub fn sequence(&self) -> u64 {
        self.events
    }

    /// A transaction by txid.
    pub fn get(&self, txid: &Txid) -> Option<&MempoolEntry> {
        self.entries.get(txid)
    }

    /// The transaction spending `outpoint`, if any.
    pub fn spender(&self, outpoint: &OutPoint) -> Option<Txid> {
        self.spenders.get(outpoint).copied()
    }

    /// Entries in arrival order (parents always before children).
    pub fn iter(&self) -> impl Iterator<Item = &MempoolEntry> {
        self.order.values().filter_map(|t| self.entries.get(t))
    }

    /// In-mempool children of a transaction.
    pub fn children(&self, txid: &Txid) -> Vec<Txid> {
        let Some(entry) = self.entries.get(txid) else {
            return Vec::new();
        };
        let mut out: Vec<Txid> = (0..entry.tx.output.len() as u32)
            .filter_map(|vout| self.spenders.get(&OutPoint { txid: *txid, vout }).copied())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// A transaction and all its in-mempool descendants.
    pub fn with_descendants(&self, txid: &Txid) -> Vec<Txid> {
        let mut seen = HashSet::new();
        let mut stack = vec![*txid];
        let mut out = Vec::new();
        while let Some(t) = stack.pop() {
            if self.entries.contains_key(&t) && seen.insert(t) {
                out.push(t);
                stack.extend(self.children(&t));
            }
        }
        out
    }

    /// A transaction and all its in-mempool ancestors.
    pub fn with_ancestors(&self, txid: &Txid) -> Vec<Txid> {
        let mut seen = HashSet::new();
        let mut stack = vec![*txid];
        let mut out = Vec::new();
        while let Some(t) = stack.pop() {
            if let Some(e) = self.entries.get(&t) {
                if seen.insert(t) {
                    out.push(t);
                    stack.extend(e.parents.iter().copied());
                }
            }
        }
        out
    }

    /// The coin an input would spend: from the chain, or an output of a mempool transaction
    /// (with the next block's height).
    fn coin(&self, chain: &Chain, outpoint: &OutPoint) -> Option<Coin> {
        if let Some(coin) = chain.coin(outpoint) {
            return Some(coin.clone());
        }
        let entry = self.entries.get(&outpoint.txid)?;
        let output = entry.tx.output.get(outpoint.vout as usize)?;
        Some(Coin {
            output: output.clone(),
            height: chain.height() + 1,
            is_coinbase: false,
        })
    }

    /// Runs every check on `tx` against the chain tip and, unless `test_only`, adds it.
    pub fn accept(
        &mut self,
        chain: &Chain,
        tx: &Transaction,
        policy: &Policy,
        now: u64,
        test_only: bool,
    ) -> Result<Accepted, Rejection> {
        check_transaction(tx)?;
        if tx.is_coinbase() {
            return Err(Rejection::invalid("coinbase"));
        }
        check_standard(tx, policy)?;
        if tx.base_size() < MIN_STANDARD_TX_NONWITNESS_SIZE {
            return Err(Rejection::invalid("tx-size-small"));
        }
        let height = chain.height() + 1;
        let prev_mtp = chain.median_time_past(chain.height());
        if !is_final(tx, height, prev_mtp) {
            return Err(Rejection::invalid("non-final"));
        }
        let txid = tx.compute_txid();
        let wtxid = tx.compute_wtxid();
        if let Some(existing) = self.entries.get(&txid) {
            return Err(Rejection::invalid(if existing.wtxid == wtxid {
                "txn-already-in-mempool"
            } else {
                "txn-same-nonwitness-data-in-mempool"
            }));
        }
        if tx
            .input
            .iter()
            .any(|i| self.spenders.contains_key(&i.previous_output))
        {
            return Err(Rejection::invalid("txn-mempool-conflict"));
        }
        let mut coins = Vec::with_capacity(tx.input.len());
        for input in &tx.input {
            match self.coin(chain, &input.previous_output) {
                Some(coin) => coins.push(coin),
                None => {
                    let known = (0..tx.output.len() as u32)
                        .any(|vout| chain.coin(&OutPoint { txid, vout }).is_some());
                    if known {
                        return Err(Rejection {
                            kind: RejectKind::AlreadyInChain,
                            reason: "txn-already-known".to_string(),
                            debug: None,
                        });
                    }
                    return Err(Rejection::missing_inputs());
                }
            }
        }
        if !sequence_locks_satisfied(tx, &coins, height, prev_mtp, |h| chain.median_time_past(h)) {
            return Err(Rejection::invalid("non-BIP68-final"));
        }
        let fee = check_tx_inputs(tx, &coins, height)?;
        self.check_chain_limits(tx)?;
        let vsize = tx.vsize() as u64;
        let min_fee = policy.min_relay_fee_sat_per_kvb * vsize / 1000;
        if fee.to_sat() < min_fee {
            return Err(Rejection::invalid_with(
                "min relay fee not met",
                format!("{} < {}", fee.to_sat(), min_fee),
            ));
        }
        verify_scripts(tx, &coins, SCRIPT_FLAGS).map_err(script_failure)?;
        let accepted = Accepted {
            txid,
            wtxid,
            fee,
            vsize,
        };
        if test_only {
            return Ok(accepted);
        }
        let parents: Vec<Txid> = {
            let mut p: Vec<Txid> = tx
                .input
                .iter()
                .map(|i| i.previous_output.txid)
                .filter(|t| self.entries.contains_key(t))
                .collect();
            p.sort();
            p.dedup();
            p
        };
        for input in &tx.input {
            self.spenders.insert(input.previous_output, txid);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, txid);
        self.events += 1;
        self.entries.insert(
            txid,
            MempoolEntry {
                tx: tx.clone(),
                txid,
                wtxid,
                fee,
                vsize,
                weight: tx.weight().to_wu(),
                time: now,
                height: chain.height(),
                parents,
                seq,
            },
        );
        Ok(accepted)
    }

    /// Core's default package limits: at most 25 unconfirmed transactions in a chain, counted
    /// with the new one, both as its ancestors and as any ancestor's descendants.
    fn check_chain_limits(&self, tx: &Transaction) -> Result<(), Rejection> {
        let mut ancestors: HashSet<Txid> = HashSet::new();
        for input in &tx.input {
            if self.entries.contains_key(&input.previous_output.txid) {
                ancestors.extend(self.with_ancestors(&input.previous_output.txid));
            }
        }
        if ancestors.len() + 1 > CHAIN_LIMIT {
            return Err(Rejection::invalid_with(
                "too-long-mempool-chain",
                format!("too many unconfirmed ancestors [limit: {CHAIN_LIMIT}]"),
            ));
        }
        let mut ordered: Vec<&Txid> = ancestors.iter().collect();
        ordered.sort();
        for ancestor in ordered {
            if self.with_descendants(ancestor).len() + 1 > CHAIN_LIMIT {
                return Err(Rejection::invalid_with(
                    "too-long-mempool-chain",
                    format!("too many descendants for tx {ancestor} [limit: {CHAIN_LIMIT}]"),
                ));
            }
        }
        Ok(())
    }

    /// The spent coins of a transaction's inputs (from the chain or the mempool), if all exist.
    pub fn prevouts(&self, chain: &Chain, tx: &Transaction) -> Option<Vec<Coin>> {
        tx.input
            .iter()
            .map(|i| self.coin(chain, &i.previous_output))
            .collect()
    }

    /// Removes one transaction (not its descendants).
    fn remove_one(&mut self, txid: &Txid) -> Option<MempoolEntry> {
        let entry = self.entries.remove(txid)?;
        self.order.remove(&entry.seq);
        self.events += 1;
        for input in &entry.tx.input {
            if self.spenders.get(&input.previous_output) == Some(txid) {
                self.spenders.remove(&input.previous_output);
            }
        }
        for e in self.entries.values_mut() {
            e.parents.retain(|p| p != txid);
        }
        Some(entry)
    }

    /// Removes a transaction and its descendants.
    pub fn remove_with_descendants(&mut self, txid: &Txid) {
        for t in self.with_descendants(txid) {
            self.remove_one(&t);
        }
    }

    /// Drops the transactions a connected block mined and everything that conflicts with it.
    pub fn remove_for_block(&mut self, block: &Block) {
        for tx in block.txdata.iter().skip(1) {
            let txid = tx.compute_txid();
            // Mined: its children stay (their parent is now confirmed).
            self.remove_one(&txid);
            for input in &tx.input {
                if let Some(conflict) = self.spenders.get(&input.previous_output).copied() {
                    self.remove_with_descendants(&conflict);
                }
            }
        }
    }

    /// Empties the mempool, returning its transactions in arrival order.
    pub fn drain(&mut self) -> Vec<Transaction> {
        let txs: Vec<Transaction> = self.iter().map(|e| e.tx.clone()).collect();
        self.events += txs.len() as u64;
        *self = Mempool {
            next_seq: self.next_seq,
            events: self.events,
            ..Mempool::default()
        };
        txs
    }
}

/// Core's `IsStandardTx` basics: version, weight, scriptSig size and push-only, output types,
/// one OP_RETURN at most, dust.
fn check_standard(tx: &Transaction, policy: &Policy) -> Result<(), Rejection> {
    if !(1..=2).contains(&tx.version.0) {
        return Err(Rejection::invalid("version"));
    }
    if tx.weight().to_wu() > MAX_STANDARD_TX_WEIGHT {
        return Err(Rejection::invalid("tx-size"));
    }
    for input in &tx.input {
        if input.script_sig.len() > MAX_STANDARD_SCRIPTSIG_SIZE {
            return Err(Rejection::invalid("scriptsig-size"));
        }
        if !input.script_sig.is_push_only() {
            return Err(Rejection::invalid("scriptsig-not-pushonly"));
        }
    }
    let mut op_returns = 0;
    for output in &tx.output {
        let script = &output.script_pubkey;
        if script.is_op_return() {
            if script.len() > MAX_OP_RETURN_RELAY || !script_is_push_only_after_return(script) {
                return Err(Rejection::invalid("scriptpubkey"));
            }
            op_returns += 1;
            continue;
        }
        if !is_standard_output(script) {
            return Err(Rejection::invalid("scriptpubkey"));
        }
        if output.value < dust_threshold(script, policy.dust_relay_fee_sat_per_kvb) {
            return Err(Rejection::invalid("dust"));
        }
    }
    if op_returns > 1 {
        return Err(Rejection::invalid("multi-op-return"));
    }
    Ok(())
}

/// Whether everything after the leading OP_RETURN is data pushes or small-number opcodes.
fn script_is_push_only_after_return(script: &bitcoin::Script) -> bool {
    script.instructions().skip(1).all(|i| match i {
        Ok(Instruction::PushBytes(_)) => true,
        Ok(Instruction::Op(op)) => op.to_u8() <= 0x60,
        Err(_) => false,
    })
}

/// Output types Core relays: P2PK, P2PKH, P2SH, bare multisig (`-permitbaremultisig` is on by
/// default), segwit v0 (P2WPKH, P2WSH),
/// other witness programs (taproot and future versions), OP_RETURN (checked by the caller).
fn is_standard_output(script: &bitcoin::Script) -> bool {
    script.is_p2pk()
        || script.is_p2pkh()
        || script.is_p2sh()
        || script.is_p2wpkh()
        || script.is_p2wsh()
        || (script.is_witness_program()
            && script.witness_version().is_some_and(|v| v.to_num() != 0))
        || script.is_multisig()
}

/// Core's dust threshold: the fee, at the dust relay rate, of creating and later spending the
/// output.
pub fn dust_threshold(script: &bitcoin::Script, dust_relay_fee_sat_per_kvb: u64) -> Amount {
    let output_size = 8 + bitcoin::VarInt(script.len() as u64).size() + script.len();
    let spend_size = if script.is_witness_program() {
        32 + 4 + 1 + 107 / 4 + 4
    } else {
        32 + 4 + 1 + 107 + 4
    };
    Amount::from_sat((output_size + spend_size) as u64 * dust_relay_fee_sat_per_kvb / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;
    use bitcoin::{ScriptBuf, WPubkeyHash};

    #[test]
    fn dust_thresholds_match_core() {
        let p2wpkh = ScriptBuf::new_p2wpkh(&WPubkeyHash::all_zeros());
        assert_eq!(dust_threshold(&p2wpkh, 3000), Amount::from_sat(294));
        let p2pkh = ScriptBuf::new_p2pkh(&bitcoin::PubkeyHash::all_zeros());
        assert_eq!(dust_threshold(&p2pkh, 3000), Amount::from_sat(546));
    }
}
