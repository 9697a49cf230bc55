//! JSON shapes of Core's RPC results: headers, blocks, transactions, scripts, amounts.

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::opcodes::all::{OP_CLTV, OP_CSV, OP_PUSHNUM_1, OP_PUSHNUM_16, OP_PUSHNUM_NEG1};
use bitcoin::script::{read_scriptint, Instruction};
use bitcoin::{Address, Amount, Network, Script, Transaction};
use serde_json::{json, Map, Value};

use crate::chain::{BlockEntry, Chain};
use crate::validation::Coin;

/// An amount as Core writes it: a JSON number of BTC.
pub fn amount(value: Amount) -> Value {
    json!(value.to_sat() as f64 / 100_000_000.0)
}

/// Core's `asm` rendering: pushes of up to 4 bytes as numbers, longer pushes as hex, small
/// integers as numbers, other opcodes by name.
pub fn script_asm(script: &Script) -> String {
    let mut parts = Vec::new();
    for instruction in script.instructions() {
        match instruction {
            Ok(Instruction::PushBytes(bytes)) => {
                let b = bytes.as_bytes();
                if b.len() <= 4 {
                    match read_scriptint(b) {
                        Ok(n) => parts.push(n.to_string()),
                        Err(_) => parts.push(hex(b)),
                    }
                } else {
                    parts.push(hex(b));
                }
            }
            Ok(Instruction::Op(op)) => {
                let code = op.to_u8();
                if op == OP_PUSHNUM_NEG1 {
                    parts.push("-1".to_string());
                } else if (OP_PUSHNUM_1.to_u8()..=OP_PUSHNUM_16.to_u8()).contains(&code) {
                    parts.push((code - OP_PUSHNUM_1.to_u8() + 1).to_string());
                } else if op == OP_CLTV {
                    parts.push("OP_CHECKLOCKTIMEVERIFY".to_string());
                } else if op == OP_CSV {
                    parts.push("OP_CHECKSEQUENCEVERIFY".to_string());
                } else {
                    parts.push(op.to_string());
                }
            }
            Err(_) => {
                parts.push("[error]".to_string());
                break;
            }
        }
    }
    parts.join(" ")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Core's output type names.
pub fn script_type(script: &Script) -> &'static str {
    if script.is_p2pkh() {
        "pubkeyhash"
    } else if script.is_p2sh() {
        "scripthash"
    } else if script.is_p2wpkh() {
        "witness_v0_keyhash"
    } else if script.is_p2wsh() {
        "witness_v0_scripthash"
    } else if script.is_p2tr() {
        "witness_v1_taproot"
    } else if script.is_witness_program() {
        "witness_unknown"
    } else if script.is_op_return() {
        "nulldata"
    } else if script.is_p2pk() {
        "pubkey"
    } else if script.is_multisig() {
        "multisig"
    } else {
        "nonstandard"
    }
}

/// A `scriptPubKey` object.
pub fn script_pubkey(script: &Script) -> Value {
    let mut obj = Map::new();
    obj.insert("asm".into(), json!(script_asm(script)));
    obj.insert("hex".into(), json!(hex(script.as_bytes())));
    if let Ok(address) = Address::from_script(script, Network::Regtest) {
        obj.insert("address".into(), json!(address.to_string()));
    }
    obj.insert("type".into(), json!(script_type(script)));
    Value::Object(obj)
}

/// A transaction object as `decoderawtransaction` shapes it; `prevouts` (the spent coins, in
/// input order) add `prevout` to each input and `fee` (getblock verbosity 3).
pub fn transaction(tx: &Transaction, prevouts: Option<&[Coin]>) -> Map<String, Value> {
    let mut obj = Map::new();
    obj.insert("txid".into(), json!(tx.compute_txid().to_string()));
    obj.insert("hash".into(), json!(tx.compute_wtxid().to_string()));
    obj.insert("version".into(), json!(tx.version.0));
    obj.insert("size".into(), json!(tx.total_size()));
    obj.insert("vsize".into(), json!(tx.vsize()));
    obj.insert("weight".into(), json!(tx.weight().to_wu()));
    obj.insert("locktime".into(), json!(tx.lock_time.to_consensus_u32()));
    let vin: Vec<Value> = tx
        .input
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let mut o = Map::new();
            if tx.is_coinbase() {
                o.insert("coinbase".into(), json!(hex(input.script_sig.as_bytes())));
            } else {
                o.insert("txid".into(), json!(input.previous_output.txid.to_string()));
                o.insert("vout".into(), json!(input.previous_output.vout));
                o.insert(
                    "scriptSig".into(),
                    json!({"asm": script_asm(&input.script_sig), "hex": hex(input.script_sig.as_bytes())}),
                );
            }
            if !input.witness.is_empty() {
                let items: Vec<Value> = input.witness.iter().map(|w| json!(hex(w))).collect();
                o.insert("txinwitness".into(), Value::Array(items));
            }
            if let Some(coin) = prevouts.and_then(|p| p.get(i)) {
                o.insert(
                    "prevout".into(),
                    json!({
                        "generated": coin.is_coinbase,
                        "height": coin.height,
                        "value": amount(coin.output.value),
                        "scriptPubKey": script_pubkey(&coin.output.script_pubkey),
                    }),
                );
            }
            o.insert("sequence".into(), json!(input.sequence.to_consensus_u32()));
            Value::Object(o)
        })
        .collect();
    obj.insert("vin".into(), Value::Array(vin));
    let vout: Vec<Value> = tx
        .output
        .iter()
        .enumerate()
        .map(|(n, out)| {
            json!({
                "value": amount(out.value),
                "n": n,
                "scriptPubKey": script_pubkey(&out.script_pubkey),
            })
        })
        .collect();
    obj.insert("vout".into(), Value::Array(vout));
    if let Some(coins) = prevouts {
        let value_in: u64 = coins.iter().map(|c| c.output.value.to_sat()).sum();
        let value_out: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
        obj.insert(
            "fee".into(),
            amount(Amount::from_sat(value_in.saturating_sub(value_out))),
        );
    }
    obj
}

/// Confirmations as Core counts them: from the tip for active blocks, -1 for others.
pub fn confirmations(chain: &Chain, entry: &BlockEntry) -> i64 {
    if chain.is_active(&entry.block.block_hash()) {
        i64::from(chain.height()) - i64::from(entry.height) + 1
    } else {
        -1
    }
}

/// A `getblockheader` verbose object.
pub fn header(chain: &Chain, entry: &BlockEntry) -> Map<String, Value> {
    let h = &entry.block.header;
    let hash = entry.block.block_hash();
    let mut obj = Map::new();
    obj.insert("hash".into(), json!(hash.to_string()));
    obj.insert("confirmations".into(), json!(confirmations(chain, entry)));
    obj.insert("height".into(), json!(entry.height));
    obj.insert("version".into(), json!(h.version.to_consensus()));
    obj.insert(
        "versionHex".into(),
        json!(format!("{:08x}", h.version.to_consensus())),
    );
    obj.insert("merkleroot".into(), json!(h.merkle_root.to_string()));
    obj.insert("time".into(), json!(h.time));
    obj.insert("mediantime".into(), json!(chain.median_time_past_of(&hash)));
    obj.insert("nonce".into(), json!(h.nonce));
    obj.insert(
        "bits".into(),
        json!(format!("{:08x}", h.bits.to_consensus())),
    );
    obj.insert("difficulty".into(), json!(h.difficulty_float()));
    obj.insert(
        "chainwork".into(),
        json!(hex(&entry.chainwork.to_be_bytes())),
    );
    obj.insert("nTx".into(), json!(entry.block.txdata.len()));
    if entry.height > 0 {
        obj.insert(
            "previousblockhash".into(),
            json!(h.prev_blockhash.to_string()),
        );
    }
    if let Some(next) = chain.next_active(&hash) {
        obj.insert("nextblockhash".into(), json!(next.to_string()));
    }
    obj
}

/// A `getblock` object for verbosity 1 (txids), 2 (transactions) or 3 (with prevouts).
pub fn block(chain: &Chain, entry: &BlockEntry, verbosity: u8) -> Value {
    let mut obj = header(chain, entry);
    let block = &entry.block;
    obj.insert(
        "strippedsize".into(),
        json!(
            block.txdata.iter().map(|t| t.base_size()).sum::<usize>()
                + 80
                + varint_len(block.txdata.len())
        ),
    );
    obj.insert("size".into(), json!(block.total_size()));
    obj.insert("weight".into(), json!(block.weight().to_wu()));
    let undo = if verbosity >= 2 {
        chain.undo(&block.block_hash())
    } else {
        None
    };
    let mut spent = undo.map(|u| u.iter().map(|(_, coin)| coin.clone()));
    let txs: Vec<Value> = block
        .txdata
        .iter()
        .map(|tx| {
            if verbosity < 2 {
                return json!(tx.compute_txid().to_string());
            }
            let coins: Option<Vec<Coin>> = if tx.is_coinbase() {
                None
            } else {
                spent
                    .as_mut()
                    .map(|it| it.by_ref().take(tx.input.len()).collect())
            };
            let mut t = transaction(tx, coins.as_deref());
            if verbosity < 3 {
                for input in t
                    .get_mut("vin")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    if let Some(o) = input.as_object_mut() {
                        o.remove("prevout");
                    }
                }
            }
            t.insert("hex".into(), json!(serialize_hex(tx)));
            Value::Object(t)
        })
        .collect();
    obj.insert("tx".into(), Value::Array(txs));
    Value::Object(obj)
}

fn varint_len(n: usize) -> usize {
    bitcoin::VarInt(n as u64).size()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;
    use bitcoin::{PubkeyHash, ScriptBuf, WPubkeyHash};

    #[test]
    fn asm_and_types_follow_core() {
        let p2pkh = ScriptBuf::new_p2pkh(&PubkeyHash::all_zeros());
        assert_eq!(
            script_asm(&p2pkh),
            "OP_DUP OP_HASH160 0000000000000000000000000000000000000000 OP_EQUALVERIFY OP_CHECKSIG"
        );
        assert_eq!(script_type(&p2pkh), "pubkeyhash");
        let p2wpkh = ScriptBuf::new_p2wpkh(&WPubkeyHash::all_zeros());
        assert_eq!(
            script_asm(&p2wpkh),
            "0 0000000000000000000000000000000000000000"
        );
        assert_eq!(script_type(&p2wpkh), "witness_v0_keyhash");
        let cb = crate::block::coinbase_script_sig(300, 0);
        assert_eq!(script_asm(&cb), "300 0");
        assert_eq!(amount(Amount::from_sat(123_456_789)), json!(1.23456789));
    }
}
