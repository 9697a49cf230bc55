//! Blockchain methods: blocks, headers, tips, UTXOs, invalidation.

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{BlockHash, OutPoint, Txid};

use super::{block_not_found, devnet_error};
use serde_json::{json, Value};

use super::super::error::*;
use super::super::json;
use super::super::params::Params;
use crate::Devnet;

pub(super) fn getblockchaininfo(devnet: &Devnet, _: &Params) -> Result<Value, RpcError> {
    let state = devnet.lock();
    let chain = &state.chain;
    let tip = chain.tip();
    Ok(json!({
        "chain": "regtest",
        "blocks": chain.height(),
        "headers": chain.best_header_height(),
        "bestblockhash": chain.tip_hash().to_string(),
        "difficulty": tip.block.header.difficulty_float(),
        "time": tip.block.header.time,
        "mediantime": chain.median_time_past(chain.height()),
        "verificationprogress": 1.0,
        "initialblockdownload": false,
        "chainwork": json::header(chain, tip).get("chainwork").cloned().unwrap_or(Value::Null),
        "size_on_disk": 0,
        "pruned": false,
        "warnings": "",
    }))
}

pub(super) fn getblockcount(devnet: &Devnet, _: &Params) -> Result<Value, RpcError> {
    Ok(json!(devnet.height()))
}

pub(super) fn getbestblockhash(devnet: &Devnet, _: &Params) -> Result<Value, RpcError> {
    Ok(json!(devnet.tip().to_string()))
}

pub(super) fn getdifficulty(devnet: &Devnet, _: &Params) -> Result<Value, RpcError> {
    Ok(json!(devnet
        .lock()
        .chain
        .tip()
        .block
        .header
        .difficulty_float()))
}

pub(super) fn getblockhash(devnet: &Devnet, p: &Params) -> Result<Value, RpcError> {
    let height = p.i64(0)?;
    let state = devnet.lock();
    u32::try_from(height)
        .ok()
        .and_then(|h| state.chain.hash_at(h))
        .map(|h| json!(h.to_string()))
        .ok_or_else(|| RpcError::invalid_parameter("Block height out of range"))
}

pub(super) fn getblockheader(devnet: &Devnet, p: &Params) -> Result<Value, RpcError> {
    let hash: BlockHash = p.hash(0)?;
    let verbose = p.opt_bool(1)?.unwrap_or(true);
    let state = devnet.lock();
    let entry = state.chain.entry(&hash).ok_or_else(block_not_found)?;
    if verbose {
        Ok(Value::Object(json::header(&state.chain, entry)))
    } else {
        Ok(json!(serialize_hex(&entry.block.header)))
    }
}

pub(super) fn getblock(devnet: &Devnet, p: &Params) -> Result<Value, RpcError> {
    let hash: BlockHash = p.hash(0)?;
    let verbosity = p.opt_level(1)?.unwrap_or(1);
    let state = devnet.lock();
    let entry = state.chain.entry(&hash).ok_or_else(block_not_found)?;
    match verbosity {
        i64::MIN..=0 => Ok(json!(serialize_hex(&entry.block))),
        1..=3 => Ok(json::block(&state.chain, entry, verbosity as u8)),
        _ => Ok(json::block(&state.chain, entry, 3)),
    }
}

pub(super) fn getchaintips(devnet: &Devnet, _: &Params) -> Result<Value, RpcError> {
    let state = devnet.lock();
    let chain = &state.chain;
    let tips = chain.tips();
    let out: Vec<Value> = tips
        .into_iter()
        .map(|hash| {
            let entry = chain.entry(&hash);
            let height = entry.map(|e| e.height).unwrap_or(0);
            let (status, branchlen) = if hash == chain.tip_hash() {
                ("active", 0)
            } else {
                let fork = chain.fork_height(&hash);
                let status = if chain.branch_invalid(&hash) { "invalid" } else { "valid-fork" };
                (status, height - fork)
            };
            json!({"height": height, "hash": hash.to_string(), "branchlen": branchlen, "status": status})
        })
        .collect();
    Ok(Value::Array(out))
}

pub(super) fn gettxout(devnet: &Devnet, p: &Params) -> Result<Value, RpcError> {
    let txid: Txid = p.hash(0)?;
    let vout = u32::try_from(p.i64(1)?).map_err(|_| RpcError::invalid_parameter("Invalid n"))?;
    let include_mempool = p.opt_bool(2)?.unwrap_or(true);
    let outpoint = OutPoint { txid, vout };
    let state = devnet.lock();
    let chain = &state.chain;
    let best = chain.tip_hash().to_string();
    if include_mempool {
        if state.mempool.spender(&outpoint).is_some() {
            return Ok(Value::Null);
        }
        if let Some(entry) = state.mempool.get(&txid) {
            return Ok(match entry.tx.output.get(vout as usize) {
                Some(out) => json!({
                    "bestblock": best,
                    "confirmations": 0,
                    "value": json::amount(out.value),
                    "scriptPubKey": json::script_pubkey(&out.script_pubkey),
                    "coinbase": false,
                }),
                None => Value::Null,
            });
        }
    }
    Ok(match chain.coin(&outpoint) {
        Some(coin) => json!({
            "bestblock": best,
            "confirmations": chain.height() - coin.height + 1,
            "value": json::amount(coin.output.value),
            "scriptPubKey": json::script_pubkey(&coin.output.script_pubkey),
            "coinbase": coin.is_coinbase,
        }),
        None => Value::Null,
    })
}

pub(super) fn invalidateblock(devnet: &Devnet, p: &Params) -> Result<Value, RpcError> {
    let hash: BlockHash = p.hash(0)?;
    devnet.invalidate_block(&hash).map_err(devnet_error)?;
    Ok(Value::Null)
}

pub(super) fn reconsiderblock(devnet: &Devnet, p: &Params) -> Result<Value, RpcError> {
    let hash: BlockHash = p.hash(0)?;
    devnet.reconsider_block(&hash).map_err(devnet_error)?;
    Ok(Value::Null)
}
