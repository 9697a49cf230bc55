//! Mempool inspection methods.

use bitcoin::{Amount, Txid};
use serde_json::Map;
use serde_json::{json, Value};

use super::super::error::*;
use super::super::json;
use super::super::params::Params;
use crate::Devnet;

pub(super) fn mempool_entry_json(state: &crate::State, txid: &Txid) -> Option<Value> {
    let pool = &state.mempool;
    let entry = pool.get(txid)?;
    let ancestors = pool.with_ancestors(txid);
    let descendants = pool.with_descendants(txid);
    let sum = |set: &[Txid]| -> (u64, Amount) {
        set.iter()
            .filter_map(|t| pool.get(t))
            .fold((0, Amount::ZERO), |(v, f), e| (v + e.vsize, f + e.fee))
    };
    let (anc_size, anc_fee) = sum(&ancestors);
    let (desc_size, desc_fee) = sum(&descendants);
    Some(json!({
        "vsize": entry.vsize,
        "weight": entry.weight,
        "time": entry.time,
        "height": entry.height,
        "descendantcount": descendants.len(),
        "descendantsize": desc_size,
        "ancestorcount": ancestors.len(),
        "ancestorsize": anc_size,
        "wtxid": entry.wtxid.to_string(),
        "fees": {
            "base": json::amount(entry.fee),
            "modified": json::amount(entry.fee),
            "ancestor": json::amount(anc_fee),
            "descendant": json::amount(desc_fee),
        },
        "depends": entry.parents.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        "spentby": pool.children(txid).iter().map(|t| t.to_string()).collect::<Vec<_>>(),
        "bip125-replaceable": entry.tx.input.iter().any(|i| i.sequence.is_rbf()),
        "unbroadcast": false,
    }))
}

pub(super) fn getrawmempool(devnet: &Devnet, p: &Params) -> Result<Value, RpcError> {
    let verbose = p.opt_bool(0)?.unwrap_or(false);
    let sequence = p.opt_bool(1)?.unwrap_or(false);
    if verbose && sequence {
        return Err(RpcError::invalid_parameter(
            "Verbose results cannot contain mempool sequence values.",
        ));
    }
    let state = devnet.lock();
    let txids: Vec<Txid> = state.mempool.iter().map(|e| e.txid).collect();
    if verbose {
        let mut obj = Map::new();
        for txid in &txids {
            if let Some(v) = mempool_entry_json(&state, txid) {
                obj.insert(txid.to_string(), v);
            }
        }
        return Ok(Value::Object(obj));
    }
    let list: Vec<String> = txids.iter().map(|t| t.to_string()).collect();
    if sequence {
        return Ok(json!({"txids": list, "mempool_sequence": state.mempool.sequence()}));
    }
    Ok(json!(list))
}

pub(super) fn getmempoolentry(devnet: &Devnet, p: &Params) -> Result<Value, RpcError> {
    let txid: Txid = p.hash(0)?;
    let state = devnet.lock();
    mempool_entry_json(&state, &txid)
        .ok_or_else(|| RpcError::new(RPC_INVALID_ADDRESS_OR_KEY, "Transaction not in mempool"))
}

pub(super) fn getmempoolinfo(devnet: &Devnet, _: &Params) -> Result<Value, RpcError> {
    let state = devnet.lock();
    let bytes: u64 = state.mempool.iter().map(|e| e.vsize).sum();
    let fees: Amount = state.mempool.iter().map(|e| e.fee).sum();
    let min_relay = json::amount(Amount::from_sat(state.policy.min_relay_fee_sat_per_kvb));
    Ok(json!({
        "loaded": true,
        "size": state.mempool.len(),
        "bytes": bytes,
        "usage": bytes,
        "total_fee": json::amount(fees),
        "maxmempool": 300_000_000u64,
        "mempoolminfee": min_relay,
        "minrelaytxfee": min_relay,
        "incrementalrelayfee": json::amount(Amount::from_sat(1000)),
        "unbroadcastcount": 0,
        "fullrbf": false,
    }))
}
