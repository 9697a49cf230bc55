//! Decoding of RPC parameters as Bitcoin Core does it: positional or named, JSON type checks,
//! hashes, amounts, raw transactions and addresses.

use std::str::FromStr;

use bitcoin::address::NetworkUnchecked;
use bitcoin::consensus::encode::deserialize;
use bitcoin::{Address, Amount, Network, ScriptBuf, Transaction};
use serde_json::Value;

use super::error::*;

/// Decoded positional parameters of one call.
#[derive(Debug)]
pub struct Params {
    pub(crate) method: &'static str,
    pub(crate) usage: &'static [&'static str],
    values: Vec<Value>,
}

/// Core's name for a JSON value's type.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Core's -3 error for a parameter of the wrong JSON type.
pub fn type_error(v: &Value, expected: &str) -> RpcError {
    RpcError::new(
        RPC_TYPE_ERROR,
        format!(
            "JSON value of type {} is not of expected type {expected}",
            type_name(v)
        ),
    )
}

impl Params {
    /// Decodes `raw` (array, object of named parameters, or null) for `method`, whose
    /// parameters are `names` (positional order), the first `required` of them mandatory.
    pub fn parse(
        method: &'static str,
        names: &'static [&'static str],
        required: usize,
        raw: &Value,
    ) -> Result<Self, RpcError> {
        let values = match raw {
            Value::Null => Vec::new(),
            Value::Array(a) => a.clone(),
            Value::Object(named) => {
                let mut values = vec![Value::Null; names.len()];
                for (key, value) in named {
                    let Some(pos) = names.iter().position(|p| p == key) else {
                        return Err(RpcError::invalid_parameter(format!(
                            "Unknown named parameter {key}"
                        )));
                    };
                    values[pos] = value.clone();
                }
                while values.last().is_some_and(Value::is_null) {
                    values.pop();
                }
                values
            }
            _ => {
                return Err(RpcError::new(
                    RPC_INVALID_REQUEST,
                    "Params must be an array or object",
                ))
            }
        };
        let params = Params {
            method,
            usage: names,
            values,
        };
        let missing = (0..required).any(|i| params.get(i).is_none());
        if params.values.len() > names.len() || missing {
            return Err(RpcError::new(
                RPC_MISC_ERROR,
                format!(
                    "{} {}\nwrong number of parameters",
                    params.method,
                    params.usage.join(" ")
                ),
            ));
        }
        Ok(params)
    }

    /// The parameter, unless absent or null.
    pub fn get(&self, i: usize) -> Option<&Value> {
        self.values.get(i).filter(|v| !v.is_null())
    }

    /// A parameter that must be present and not null.
    pub fn required(&self, i: usize) -> Result<&Value, RpcError> {
        self.get(i).ok_or_else(|| {
            RpcError::new(
                RPC_MISC_ERROR,
                format!("{}: missing parameter {}", self.method, self.usage[i]),
            )
        })
    }

    /// A required string parameter.
    pub fn str(&self, i: usize) -> Result<&str, RpcError> {
        let v = self.required(i)?;
        v.as_str().ok_or_else(|| type_error(v, "string"))
    }

    /// A required integer parameter.
    pub fn i64(&self, i: usize) -> Result<i64, RpcError> {
        let v = self.required(i)?;
        v.as_i64().ok_or_else(|| type_error(v, "number"))
    }

    /// An optional integer parameter.
    pub fn opt_i64(&self, i: usize) -> Result<Option<i64>, RpcError> {
        self.get(i).map(|_| self.i64(i)).transpose()
    }

    /// An optional bool parameter.
    pub fn opt_bool(&self, i: usize) -> Result<Option<bool>, RpcError> {
        match self.get(i) {
            None => Ok(None),
            Some(v) => v.as_bool().map(Some).ok_or_else(|| type_error(v, "bool")),
        }
    }

    /// A bool or an integer level (`verbose`/`verbosity` accept both, as in Core).
    pub fn opt_level(&self, i: usize) -> Result<Option<i64>, RpcError> {
        match self.get(i) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(i64::from(*b))),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| type_error(v, "number")),
        }
    }

    /// An amount in BTC (JSON number or numeric string), as Core's `AmountFromValue`.
    pub fn opt_amount(&self, i: usize) -> Result<Option<Amount>, RpcError> {
        let Some(v) = self.get(i) else {
            return Ok(None);
        };
        let btc = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.parse::<f64>().ok(),
            _ => return Err(type_error(v, "number")),
        };
        match btc.and_then(|b| Amount::from_btc(b).ok()) {
            Some(a) => Ok(Some(a)),
            None => Err(RpcError::new(RPC_TYPE_ERROR, "Amount out of range")),
        }
    }

    /// A 32-byte hash in hex, checked as Core's `ParseHashV`.
    pub fn hash<T: FromStr>(&self, i: usize) -> Result<T, RpcError> {
        let s = self.str(i)?;
        let name = self.usage[i];
        if s.len() != 64 {
            return Err(RpcError::invalid_parameter(format!(
                "{name} must be of length 64 (not {}, for '{s}')",
                s.len()
            )));
        }
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RpcError::invalid_parameter(format!(
                "{name} must be hexadecimal string (not '{s}')"
            )));
        }
        T::from_str(s).map_err(|_| {
            RpcError::invalid_parameter(format!("{name} must be hexadecimal string (not '{s}')"))
        })
    }
}

/// A consensus-encoded transaction in hex with at least one input (Core's `DecodeHexTx`).
pub fn decode_tx(hex: &str) -> Option<Transaction> {
    let bytes = decode_hex(hex)?;
    let tx: Transaction = deserialize(&bytes).ok()?;
    if tx.input.is_empty() {
        return None;
    }
    Some(tx)
}

/// Hex to bytes; `None` for odd lengths or non-hex characters.
pub fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect()
}

/// A regtest address to its script; -5 `Error: Invalid address` otherwise.
pub fn parse_address(s: &str) -> Result<ScriptBuf, RpcError> {
    Address::<NetworkUnchecked>::from_str(s)
        .ok()
        .and_then(|a| a.require_network(Network::Regtest).ok())
        .map(|a| a.script_pubkey())
        .ok_or_else(|| RpcError::new(RPC_INVALID_ADDRESS_OR_KEY, "Error: Invalid address"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(raw: Value) -> Result<Params, RpcError> {
        Params::parse("getblock", &["blockhash", "verbosity"], 1, &raw)
    }

    #[test]
    fn positional_named_and_counts() {
        let hash = "00".repeat(32);
        let p = parse(json!([hash, 2])).unwrap();
        assert_eq!(p.opt_level(1).unwrap(), Some(2));
        let p = parse(json!({"verbosity": true, "blockhash": hash})).unwrap();
        assert_eq!(p.opt_level(1).unwrap(), Some(1));
        assert_eq!(parse(json!([])).unwrap_err().code, RPC_MISC_ERROR);
        assert_eq!(parse(json!([hash, 1, 2])).unwrap_err().code, RPC_MISC_ERROR);
        assert_eq!(
            parse(json!({"verbose": 1})).unwrap_err().code,
            RPC_INVALID_PARAMETER
        );
        assert_eq!(parse(json!(7)).unwrap_err().code, RPC_INVALID_REQUEST);
    }

    #[test]
    fn hashes_are_checked_like_core() {
        let p = parse(json!(["abc"])).unwrap();
        let err = p.hash::<bitcoin::BlockHash>(0).unwrap_err();
        assert_eq!(
            err.message,
            "blockhash must be of length 64 (not 3, for 'abc')"
        );
        let p = parse(json!(["g".repeat(64)])).unwrap();
        let err = p.hash::<bitcoin::BlockHash>(0).unwrap_err();
        assert!(err
            .message
            .starts_with("blockhash must be hexadecimal string"));
    }

    #[test]
    fn hex_and_transactions_decode_or_refuse() {
        assert_eq!(decode_hex("0aff"), Some(vec![0x0a, 0xff]));
        assert_eq!(decode_hex("0"), None);
        assert_eq!(decode_hex("zz"), None);
        assert_eq!(decode_hex("é1"), None);
        assert!(decode_tx("").is_none());
        assert!(decode_tx("00").is_none());
    }
}
