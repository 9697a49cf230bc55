//! Raw transaction methods: lookup, broadcast, test acceptance.

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{Amount, BlockHash, Transaction, Txid};
use serde_json::Map;

use super::rejection_error;
use crate::validation::RejectKind;
use serde_json::{json, Value};

use super::super::error::*;
use super::super::json;
use super::super::params::{decode_tx, type_error, Params};
use crate::Devnet;

pub(super) fn getrawtransaction(devnet: &Devnet, p: &Params) -> Result<Value, RpcError> {
    let txid: Txid = p.hash(0)?;
    let verbosity = p.opt_level(1)?.unwrap_or(0);
    let verbose = verbosity > 0;
    let block_hash: Option<BlockHash> = if p.get(2).is_some() {
        Some(p.hash(2)?)
    } else {
        None
    };
    let state = devnet.lock();
    let chain = &state.chain;
    let genesis_coinbase = chain
        .hash_at(0)
        .and_then(|h| chain.entry(&h))
        .map(|e| e.block.txdata[0].compute_txid());
    if genesis_coinbase == Some(txid) {
        return Err(RpcError::new(
            RPC_INVALID_ADDRESS_OR_KEY,
            "The genesis block coinbase is not considered an ordinary transaction and cannot be retrieved",
        ));
    }
    let (tx, in_block): (Transaction, Option<BlockHash>) = match block_hash {
        Some(bh) => {
            let entry = chain
                .entry(&bh)
                .ok_or_else(|| RpcError::new(RPC_INVALID_ADDRESS_OR_KEY, "Block hash not found"))?;
            let tx = entry.block.txdata.iter().find(|t| t.compute_txid() == txid).cloned().ok_or_else(|| {
                RpcError::new(
                    RPC_INVALID_ADDRESS_OR_KEY,
                    "No such transaction found in the provided block. Use gettransaction for wallet transactions.",
                )
            })?;
            (tx, Some(bh))
        }
        None => {
            if let Some(entry) = state.mempool.get(&txid) {
                (entry.tx.clone(), None)
            } else if let Some((bh, tx)) = chain.find_tx(&txid) {
                (tx.clone(), Some(bh))
            } else {
                return Err(RpcError::new(
                    RPC_INVALID_ADDRESS_OR_KEY,
                    "No such mempool or blockchain transaction. Use gettransaction for wallet transactions.",
                ));
            }
        }
    };
    if !verbose {
        return Ok(json!(serialize_hex(&tx)));
    }
    // Verbosity 2 adds `fee` and each input's `prevout`, when the spent coins are known.
    let prevouts = if verbosity >= 2 && !tx.is_coinbase() {
        match in_block {
            Some(bh) => chain
                .position_in_block(&bh, &txid)
                .and_then(|pos| chain.spent_coins(&bh, pos)),
            None => state.mempool.prevouts(chain, &tx),
        }
    } else {
        None
    };
    let mut obj = json::transaction(&tx, prevouts.as_deref());
    obj.insert("hex".into(), json!(serialize_hex(&tx)));
    if let Some(bh) = in_block {
        if block_hash.is_some() {
            obj.insert("in_active_chain".into(), json!(chain.is_active(&bh)));
        }
        if let Some(entry) = chain.entry(&bh) {
            obj.insert("blockhash".into(), json!(bh.to_string()));
            let confirmations = json::confirmations(chain, entry);
            obj.insert("confirmations".into(), json!(confirmations.max(0)));
            obj.insert("time".into(), json!(entry.block.header.time));
            obj.insert("blocktime".into(), json!(entry.block.header.time));
        }
    }
    Ok(Value::Object(obj))
}

/// Fee rate cap in sat/kvB from a BTC/kvB parameter (default 0.10; 0 disables).
pub(super) fn max_fee_rate(p: &Params, i: usize) -> Result<u64, RpcError> {
    Ok(p.opt_amount(i)?
        .map(|a| a.to_sat())
        .unwrap_or(crate::params::DEFAULT_MAX_FEE_RATE_SAT_PER_KVB))
}

pub(super) fn sendrawtransaction(devnet: &Devnet, p: &Params) -> Result<Value, RpcError> {
    let tx = decode_tx(p.str(0)?).ok_or_else(|| {
        RpcError::new(
            RPC_DESERIALIZATION_ERROR,
            "TX decode failed. Make sure the tx has at least one input.",
        )
    })?;
    let max_rate = max_fee_rate(p, 1)?;
    let max_burn = p.opt_amount(2)?.unwrap_or(Amount::ZERO);
    if tx.output.iter().any(|o| {
        (o.script_pubkey.is_op_return() || o.script_pubkey.len() > 10_000) && o.value > max_burn
    }) {
        return Err(RpcError::new(
            RPC_VERIFY_ERROR,
            "Unspendable output exceeds maximum configured by user (maxburnamount)",
        ));
    }
    let txid = tx.compute_txid();
    let mut state = devnet.lock();
    if state.mempool.get(&txid).is_some() {
        return Ok(json!(txid.to_string()));
    }
    let accepted = state.test_accept(&tx).map_err(|r| rejection_error(&r))?;
    if max_rate > 0 && accepted.fee.to_sat() > max_rate * accepted.vsize / 1000 {
        return Err(RpcError::new(
            RPC_VERIFY_ERROR,
            "Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)",
        ));
    }
    state.accept(&tx).map_err(|r| rejection_error(&r))?;
    Ok(json!(txid.to_string()))
}

pub(super) fn testmempoolaccept(devnet: &Devnet, p: &Params) -> Result<Value, RpcError> {
    let raw = p.required(0)?;
    let list = raw.as_array().ok_or_else(|| type_error(raw, "array"))?;
    if list.is_empty() || list.len() > 25 {
        return Err(RpcError::invalid_parameter(
            "Array must contain between 1 and 25 transactions.",
        ));
    }
    let max_rate = max_fee_rate(p, 1)?;
    let mut txs = Vec::with_capacity(list.len());
    for item in list {
        let hex = item.as_str().ok_or_else(|| type_error(item, "string"))?;
        let tx = decode_tx(hex).ok_or_else(|| {
            RpcError::new(
                RPC_DESERIALIZATION_ERROR,
                format!("TX decode failed: {hex} Make sure the tx has at least one input."),
            )
        })?;
        txs.push(tx);
    }
    let state = devnet.lock();
    // Each transaction is checked as if the earlier allowed ones were in the mempool.
    let mut pool = state.mempool.clone();
    let now = crate::state::unix_now();
    let results: Vec<Value> = txs
        .iter()
        .map(|tx| {
            let mut obj = Map::new();
            obj.insert("txid".into(), json!(tx.compute_txid().to_string()));
            obj.insert("wtxid".into(), json!(tx.compute_wtxid().to_string()));
            match pool.accept(&state.chain, tx, &state.policy, now, false) {
                Ok(a) if max_rate > 0 && a.fee.to_sat() > max_rate * a.vsize / 1000 => {
                    pool.remove_with_descendants(&a.txid);
                    obj.insert("allowed".into(), json!(false));
                    obj.insert("reject-reason".into(), json!("max-fee-exceeded"));
                }
                Ok(a) => {
                    obj.insert("allowed".into(), json!(true));
                    obj.insert("vsize".into(), json!(a.vsize));
                    let rate = Amount::from_sat(a.fee.to_sat() * 1000 / a.vsize.max(1));
                    obj.insert(
                        "fees".into(),
                        json!({
                            "base": json::amount(a.fee),
                            "effective-feerate": json::amount(rate),
                            "effective-includes": [a.wtxid.to_string()],
                        }),
                    );
                }
                Err(r) => {
                    obj.insert("allowed".into(), json!(false));
                    let reason = match r.kind {
                        RejectKind::MissingInputs => "missing-inputs".to_string(),
                        _ => r.reason.clone(),
                    };
                    obj.insert("reject-reason".into(), json!(reason));
                }
            }
            Value::Object(obj)
        })
        .collect();
    Ok(Value::Array(results))
}
