//! Transaction rules shared by the mempool and block connection: context-free checks, finality
//! (absolute locktime and BIP 68 sequence locks), input amounts and maturity, and script
//! verification through `bitcoinconsensus` (Bitcoin Core's interpreter).

use std::collections::HashSet;

use bitcoin::consensus::encode::serialize;
use bitcoin::{Amount, OutPoint, Sequence, Transaction, TxOut};

use super::params::{COINBASE_MATURITY, LOCKTIME_THRESHOLD, MAX_BLOCK_WEIGHT, MAX_MONEY};

/// Script flags the interpreter enforces (all soft forks the linked libbitcoinconsensus knows:
/// P2SH, DERSIG, NULLDUMMY, CLTV, CSV, segwit v0).
/// The values are libbitcoinconsensus's `VERIFY_*` bits.
pub const SCRIPT_FLAGS: u32 = (1 << 0) | (1 << 2) | (1 << 4) | (1 << 9) | (1 << 10) | (1 << 11);

/// An unspent output and where it was created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coin {
    /// The output itself.
    pub output: TxOut,
    /// Height of the block that created it (the next block's height for mempool outputs).
    pub height: u32,
    /// Whether a coinbase transaction created it.
    pub is_coinbase: bool,
}

/// What kind of failure a [`Rejection`] is; decides the RPC error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectKind {
    /// Breaks a consensus or policy rule (`sendrawtransaction` → -26).
    Invalid,
    /// An input is unknown or already spent (`sendrawtransaction` → -25).
    MissingInputs,
    /// The transaction's outputs are already in the UTXO set (`sendrawtransaction` → -27).
    AlreadyInChain,
}

/// Why a transaction or block was refused: Bitcoin Core's reject reason and debug text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct Rejection {
    /// The kind of failure.
    pub kind: RejectKind,
    /// Core's short reject reason, e.g. `bad-txns-inputs-missingorspent`.
    pub reason: String,
    /// Core's debug message, appended after a comma in `sendrawtransaction` errors.
    pub debug: Option<String>,
}

impl Rejection {
    /// A rule violation with a reason and no debug text.
    pub fn invalid(reason: &str) -> Self {
        Rejection {
            kind: RejectKind::Invalid,
            reason: reason.to_string(),
            debug: None,
        }
    }

    /// A rule violation with a reason and debug text.
    pub fn invalid_with(reason: &str, debug: String) -> Self {
        Rejection {
            kind: RejectKind::Invalid,
            reason: reason.to_string(),
            debug: Some(debug),
        }
    }

    /// Missing or spent inputs.
    pub fn missing_inputs() -> Self {
        Rejection {
            kind: RejectKind::MissingInputs,
            reason: "bad-txns-inputs-missingorspent".to_string(),
            debug: None,
        }
    }

    /// The message Core puts in an RPC error: `reason` or `reason, debug`.
    pub fn message(&self) -> String {
        match &self.debug {
            Some(debug) => format!("{}, {}", self.reason, debug),
            None => self.reason.clone(),
        }
    }
}

/// Formats an amount like Core's `FormatMoney`: BTC with at least two decimals, trailing zeros
/// dropped (`0.01`, `50.00`, `0.00012345`).
pub fn format_money(amount: Amount) -> String {
    let sats = amount.to_sat();
    let mut s = format!("{}.{:08}", sats / 100_000_000, sats % 100_000_000);
    while s.ends_with('0') && s.len() >= 3 && s.as_bytes()[s.len() - 3] != b'.' {
        s.pop();
    }
    s
}

/// Context-free checks (Core's `CheckTransaction`).
pub fn check_transaction(tx: &Transaction) -> Result<(), Rejection> {
    if tx.input.is_empty() {
        return Err(Rejection::invalid("bad-txns-vin-empty"));
    }
    if tx.output.is_empty() {
        return Err(Rejection::invalid("bad-txns-vout-empty"));
    }
    if (tx.base_size() as u64) * 4 > MAX_BLOCK_WEIGHT {
        return Err(Rejection::invalid("bad-txns-oversize"));
    }
    let mut total: u64 = 0;
    for out in &tx.output {
        let value = out.value.to_sat();
        if value > MAX_MONEY {
            return Err(Rejection::invalid("bad-txns-vout-toolarge"));
        }
        total = total.saturating_add(value);
        if total > MAX_MONEY {
            return Err(Rejection::invalid("bad-txns-txouttotal-toolarge"));
        }
    }
    let mut seen = HashSet::with_capacity(tx.input.len());
    for input in &tx.input {
        if !seen.insert(input.previous_output) {
            return Err(Rejection::invalid("bad-txns-inputs-duplicate"));
        }
    }
    if tx.is_coinbase() {
        let len = tx.input[0].script_sig.len();
        if !(2..=100).contains(&len) {
            return Err(Rejection::invalid("bad-cb-length"));
        }
    } else if tx
        .input
        .iter()
        .any(|i| i.previous_output == OutPoint::null())
    {
        return Err(Rejection::invalid("bad-txns-prevout-null"));
    }
    Ok(())
}

/// Whether `tx`'s absolute locktime allows it in a block at `height` whose locktime cutoff time
/// (median time past of the previous block) is `cutoff_time`.
pub fn is_final(tx: &Transaction, height: u32, cutoff_time: u32) -> bool {
    let lock = tx.lock_time.to_consensus_u32();
    if lock == 0 {
        return true;
    }
    let limit = if lock < LOCKTIME_THRESHOLD {
        height
    } else {
        cutoff_time
    };
    if lock < limit {
        return true;
    }
    tx.input.iter().all(|i| i.sequence == Sequence::MAX)
}

/// BIP 68: whether every input's relative locktime has passed for a block at `height` whose
/// previous block has median time past `prev_mtp`. `mtp_at(h)` gives the median time past of
/// the block at height `h` of the same chain.
pub fn sequence_locks_satisfied(
    tx: &Transaction,
    coins: &[Coin],
    height: u32,
    prev_mtp: u32,
    mtp_at: impl Fn(u32) -> u32,
) -> bool {
    if tx.version.0 < 2 {
        return true;
    }
    let mut min_height: i64 = -1;
    let mut min_time: i64 = -1;
    for (input, coin) in tx.input.iter().zip(coins) {
        let seq = input.sequence.to_consensus_u32();
        if seq & (1 << 31) != 0 {
            continue;
        }
        let value = i64::from(seq & 0xffff);
        if seq & (1 << 22) != 0 {
            let base = mtp_at(coin.height.saturating_sub(1));
            min_time = min_time.max(i64::from(base) + (value << 9) - 1);
        } else {
            min_height = min_height.max(i64::from(coin.height) + value - 1);
        }
    }
    min_height < i64::from(height) && min_time < i64::from(prev_mtp)
}

/// Amount and maturity checks against the spent coins (Core's `CheckTxInputs`); returns the fee.
pub fn check_tx_inputs(
    tx: &Transaction,
    coins: &[Coin],
    spend_height: u32,
) -> Result<Amount, Rejection> {
    let mut value_in: u64 = 0;
    for coin in coins {
        if coin.is_coinbase {
            let depth = spend_height.saturating_sub(coin.height);
            if depth < COINBASE_MATURITY {
                return Err(Rejection::invalid_with(
                    "bad-txns-premature-spend-of-coinbase",
                    format!("tried to spend coinbase at depth {depth}"),
                ));
            }
        }
        value_in = value_in.saturating_add(coin.output.value.to_sat());
        if coin.output.value.to_sat() > MAX_MONEY || value_in > MAX_MONEY {
            return Err(Rejection::invalid("bad-txns-inputvalues-outofrange"));
        }
    }
    let value_out: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
    if value_in < value_out {
        return Err(Rejection::invalid_with(
            "bad-txns-in-belowout",
            format!(
                "value in ({}) < value out ({})",
                format_money(Amount::from_sat(value_in)),
                format_money(Amount::from_sat(value_out))
            ),
        ));
    }
    Ok(Amount::from_sat(value_in - value_out))
}

/// Runs Bitcoin Core's script interpreter on every input; the error is the failing input's
/// index.
pub fn verify_scripts(tx: &Transaction, coins: &[Coin], flags: u32) -> Result<(), usize> {
    let bytes = serialize(tx);
    for (index, coin) in coins.iter().enumerate() {
        coin.output
            .script_pubkey
            .verify_with_flags(index, coin.output.value, &bytes, flags)
            .map_err(|_| index)?;
    }
    Ok(())
}

/// The rejection Core gives for a script failure. libbitcoinconsensus reports only pass or fail,
/// so the parenthesised detail names the input instead of the interpreter's script error.
pub fn script_failure(input: usize) -> Rejection {
    Rejection::invalid(&format!(
        "mandatory-script-verify-flag-failed (script verification failed for input {input})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_money_matches_core() {
        assert_eq!(format_money(Amount::from_sat(5_000_000_000)), "50.00");
        assert_eq!(format_money(Amount::from_sat(1_000_000)), "0.01");
        assert_eq!(format_money(Amount::from_sat(12_345)), "0.00012345");
        assert_eq!(format_money(Amount::ZERO), "0.00");
        assert_eq!(format_money(Amount::from_sat(150_000_000)), "1.50");
    }
}
