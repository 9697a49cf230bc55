//! The RPC methods, grouped as Bitcoin Core groups them: `blockchain`, `rawtx`
//! (raw transactions), `mempool`, `mining` (fee estimates and generation, and devnet's own
//! `setfeecurve`), `control` (network info, uptime, help). This module holds the method table
//! and the dispatcher.

mod blockchain;
mod control;
mod mempool;
mod mining;
mod rawtx;

use serde_json::Value;

use super::error::*;
use super::params::Params;
use crate::chain::ChainError;
use crate::validation::{RejectKind, Rejection};
use crate::{Devnet, DevnetError};
use blockchain::*;
use control::*;
use mempool::*;
use mining::*;
use rawtx::*;

type Handler = fn(&Devnet, &Params) -> Result<Value, RpcError>;

/// One RPC method: its name, parameter names (positional order), how many are required.
struct Method {
    name: &'static str,
    params: &'static [&'static str],
    required: usize,
    run: Handler,
}

const METHODS: &[Method] = &[
    Method {
        name: "getblockchaininfo",
        params: &[],
        required: 0,
        run: getblockchaininfo,
    },
    Method {
        name: "getblockcount",
        params: &[],
        required: 0,
        run: getblockcount,
    },
    Method {
        name: "getbestblockhash",
        params: &[],
        required: 0,
        run: getbestblockhash,
    },
    Method {
        name: "getblockhash",
        params: &["height"],
        required: 1,
        run: getblockhash,
    },
    Method {
        name: "getblockheader",
        params: &["blockhash", "verbose"],
        required: 1,
        run: getblockheader,
    },
    Method {
        name: "getblock",
        params: &["blockhash", "verbosity"],
        required: 1,
        run: getblock,
    },
    Method {
        name: "getchaintips",
        params: &[],
        required: 0,
        run: getchaintips,
    },
    Method {
        name: "getdifficulty",
        params: &[],
        required: 0,
        run: getdifficulty,
    },
    Method {
        name: "getrawtransaction",
        params: &["txid", "verbose", "blockhash"],
        required: 1,
        run: getrawtransaction,
    },
    Method {
        name: "sendrawtransaction",
        params: &["hexstring", "maxfeerate", "maxburnamount"],
        required: 1,
        run: sendrawtransaction,
    },
    Method {
        name: "testmempoolaccept",
        params: &["rawtxs", "maxfeerate"],
        required: 1,
        run: testmempoolaccept,
    },
    Method {
        name: "getrawmempool",
        params: &["verbose", "mempool_sequence"],
        required: 0,
        run: getrawmempool,
    },
    Method {
        name: "getmempoolentry",
        params: &["txid"],
        required: 1,
        run: getmempoolentry,
    },
    Method {
        name: "getmempoolinfo",
        params: &[],
        required: 0,
        run: getmempoolinfo,
    },
    Method {
        name: "gettxout",
        params: &["txid", "n", "include_mempool"],
        required: 2,
        run: gettxout,
    },
    Method {
        name: "estimatesmartfee",
        params: &["conf_target", "estimate_mode"],
        required: 1,
        run: estimatesmartfee,
    },
    Method {
        name: "setfeecurve",
        params: &["points"],
        required: 1,
        run: setfeecurve,
    },
    Method {
        name: "generatetoaddress",
        params: &["nblocks", "address", "maxtries"],
        required: 2,
        run: generatetoaddress,
    },
    Method {
        name: "generateblock",
        params: &["output", "transactions", "submit"],
        required: 2,
        run: generateblock,
    },
    Method {
        name: "submitblock",
        params: &["hexdata", "dummy"],
        required: 1,
        run: submitblock,
    },
    Method {
        name: "invalidateblock",
        params: &["blockhash"],
        required: 1,
        run: invalidateblock,
    },
    Method {
        name: "reconsiderblock",
        params: &["blockhash"],
        required: 1,
        run: reconsiderblock,
    },
    Method {
        name: "getnetworkinfo",
        params: &[],
        required: 0,
        run: getnetworkinfo,
    },
    Method {
        name: "uptime",
        params: &[],
        required: 0,
        run: uptime,
    },
    Method {
        name: "help",
        params: &["command"],
        required: 0,
        run: help,
    },
];

/// Names of the supported methods.
pub fn method_names() -> impl Iterator<Item = &'static str> {
    METHODS.iter().map(|m| m.name)
}

/// Runs `method` with raw JSON `params` (array, object of named parameters, or null).
pub fn dispatch(devnet: &Devnet, method: &str, params: &Value) -> Result<Value, RpcError> {
    let Some(m) = METHODS.iter().find(|m| m.name == method) else {
        return Err(RpcError::new(RPC_METHOD_NOT_FOUND, "Method not found"));
    };
    let params = Params::parse(m.name, m.params, m.required, params)?;
    (m.run)(devnet, &params)
}

fn block_not_found() -> RpcError {
    RpcError::new(RPC_INVALID_ADDRESS_OR_KEY, "Block not found")
}

/// The error `sendrawtransaction` gives for a mempool rejection.
pub fn rejection_error(rejection: &Rejection) -> RpcError {
    match rejection.kind {
        RejectKind::MissingInputs => RpcError::new(RPC_VERIFY_ERROR, rejection.message()),
        RejectKind::AlreadyInChain => RpcError::new(
            RPC_VERIFY_ALREADY_IN_CHAIN,
            "Transaction already in block chain",
        ),
        RejectKind::Invalid => RpcError::new(RPC_VERIFY_REJECTED, rejection.message()),
    }
}

fn devnet_error(e: DevnetError) -> RpcError {
    match e {
        DevnetError::Rejected(r) => RpcError::new(
            RPC_VERIFY_ERROR,
            format!("TestBlockValidity failed: {}", r.message()),
        ),
        DevnetError::Chain(ChainError::BlockNotFound) => block_not_found(),
        DevnetError::Chain(e) => RpcError::new(RPC_MISC_ERROR, e.to_string()),
        DevnetError::Store(e) => RpcError::new(RPC_MISC_ERROR, e.to_string()),
    }
}
