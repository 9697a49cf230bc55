//! Fee estimation (and devnet's `setfeecurve`, which changes it) and block generation.

use std::str::FromStr;

use bitcoin::consensus::encode::deserialize;
use bitcoin::{Block, Txid};

use super::devnet_error;
use serde_json::{json, Value};

use super::super::error::*;
use super::super::params::{decode_hex, decode_tx, parse_address, type_error, Params};
use crate::fees::FeeCurve;
use crate::handle::MAX_GENERATE;
use crate::{Devnet, DevnetError};

pub(super) fn estimatesmartfee(devnet: &Devnet, p: &Params) -> Result<Value, RpcError> {
    let target = p.i64(0)?;
    if !(1..=1008).contains(&target) {
        return Err(RpcError::invalid_parameter(
            "Invalid conf_target, must be between 1 and 1008",
        ));
    }
    if p.get(1).is_some() {
        let mode = p.str(1)?.to_ascii_lowercase();
        if !["unset", "economical", "conservative"].contains(&mode.as_str()) {
            return Err(RpcError::invalid_parameter(
                "Invalid estimate_mode parameter, must be one of: \"unset\", \"economical\", \"conservative\"",
            ));
        }
    }
    // Core answers a target of 1 as 2.
    let blocks = target.max(2) as u16;
    let state = devnet.lock();
    let floor = state.policy.min_relay_fee_sat_per_kvb as f64 / 100_000_000.0;
    let rate = state.fee_curve.btc_per_kvb(blocks).max(floor);
    Ok(json!({"feerate": rate, "blocks": blocks}))
}

/// Most points one `setfeecurve` call may give (one per target `estimatesmartfee` accepts).
const MAX_CURVE_POINTS: usize = 1008;

/// devnet's own: replaces `estimatesmartfee`'s curve with `[[target_blocks, sat_per_vbyte], …]`
/// (targets 1–1008, each once; rates positive). Not persisted: a restart answers from the
/// configured curve again.
pub(super) fn setfeecurve(devnet: &Devnet, p: &Params) -> Result<Value, RpcError> {
    let raw = p.required(0)?;
    let list = raw.as_array().ok_or_else(|| type_error(raw, "array"))?;
    if list.is_empty() {
        return Err(RpcError::invalid_parameter(
            "points must hold at least one [target_blocks, sat_per_vbyte] pair",
        ));
    }
    if list.len() > MAX_CURVE_POINTS {
        return Err(RpcError::invalid_parameter(format!(
            "points: at most {MAX_CURVE_POINTS} pairs (got {})",
            list.len()
        )));
    }
    let mut points: Vec<(u16, f64)> = Vec::with_capacity(list.len());
    for (i, point) in list.iter().enumerate() {
        let pair = point
            .as_array()
            .filter(|pair| pair.len() == 2)
            .ok_or_else(|| {
                RpcError::invalid_parameter(format!(
                    "points[{i}] must be a [target_blocks, sat_per_vbyte] pair (not {point})"
                ))
            })?;
        let target = pair[0]
            .as_u64()
            .filter(|t| (1..=1008).contains(t))
            .ok_or_else(|| {
                RpcError::invalid_parameter(format!(
                    "points[{i}]: target_blocks must be an integer between 1 and 1008 (not {})",
                    pair[0]
                ))
            })? as u16;
        let rate = pair[1]
            .as_f64()
            .filter(|r| r.is_finite() && *r > 0.0)
            .ok_or_else(|| {
                RpcError::invalid_parameter(format!(
                    "points[{i}]: sat_per_vbyte must be a positive number (not {})",
                    pair[1]
                ))
            })?;
        if points.iter().any(|(t, _)| *t == target) {
            return Err(RpcError::invalid_parameter(format!(
                "points[{i}]: target_blocks {target} given twice"
            )));
        }
        points.push((target, rate));
    }
    devnet.lock().fee_curve = FeeCurve::new(points);
    Ok(Value::Null)
}

pub(super) fn generatetoaddress(devnet: &Devnet, p: &Params) -> Result<Value, RpcError> {
    let count = p.i64(0)?;
    let script = parse_address(p.str(1)?)?;
    p.opt_i64(2)?;
    if count > i64::from(MAX_GENERATE) {
        return Err(RpcError::invalid_parameter(format!(
            "devnet: at most {MAX_GENERATE} blocks per call (asked for {count})"
        )));
    }
    let count = u32::try_from(count.max(0)).unwrap_or(0);
    let hashes = devnet.mine(count, &script).map_err(devnet_error)?;
    Ok(json!(hashes
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>()))
}

pub(super) fn generateblock(devnet: &Devnet, p: &Params) -> Result<Value, RpcError> {
    let script = parse_address(p.str(0)?).map_err(|_| {
        RpcError::new(
            RPC_INVALID_ADDRESS_OR_KEY,
            "Error: Invalid address or descriptor",
        )
    })?;
    let raw = p.required(1)?;
    let list = raw.as_array().ok_or_else(|| type_error(raw, "array"))?;
    if p.opt_bool(2)? == Some(false) {
        return Err(RpcError::invalid_parameter(
            "devnet: generateblock with submit=false is not supported",
        ));
    }
    let mut txs = Vec::with_capacity(list.len());
    {
        let state = devnet.lock();
        for item in list {
            let s = item.as_str().ok_or_else(|| type_error(item, "string"))?;
            if s.len() == 64 {
                if let Ok(txid) = Txid::from_str(s) {
                    let entry = state.mempool.get(&txid).ok_or_else(|| {
                        RpcError::new(
                            RPC_INVALID_ADDRESS_OR_KEY,
                            format!("Transaction {s} not in mempool."),
                        )
                    })?;
                    txs.push(entry.tx.clone());
                    continue;
                }
            }
            let tx = decode_tx(s).ok_or_else(|| {
                RpcError::new(
                    RPC_DESERIALIZATION_ERROR,
                    format!("Transaction decode failed for {s}"),
                )
            })?;
            txs.push(tx);
        }
    }
    let hash = devnet.mine_block_with(txs, &script).map_err(devnet_error)?;
    Ok(json!({"hash": hash.to_string()}))
}

pub(super) fn submitblock(devnet: &Devnet, p: &Params) -> Result<Value, RpcError> {
    let block: Block = decode_hex(p.str(0)?)
        .and_then(|bytes| deserialize(&bytes).ok())
        .ok_or_else(|| RpcError::new(RPC_DESERIALIZATION_ERROR, "Block decode failed"))?;
    if !block.txdata.first().is_some_and(|tx| tx.is_coinbase()) {
        return Err(RpcError::new(
            RPC_DESERIALIZATION_ERROR,
            "Block does not start with a coinbase",
        ));
    }
    // As Core: null when it became part of the active chain, "inconclusive" when it went on a
    // side branch, else the reject reason as the result (not an error).
    let hash = block.block_hash();
    match devnet.submit_block(block) {
        Ok(()) if devnet.lock().chain.is_active(&hash) => Ok(Value::Null),
        Ok(()) => Ok(json!("inconclusive")),
        Err(DevnetError::Rejected(r)) => Ok(json!(r.reason)),
        Err(e) => Err(devnet_error(e)),
    }
}
