//! Network and control methods.

use bitcoin::Amount;

use super::METHODS;
use crate::params::{CORE_VERSION, PROTOCOL_VERSION};
use serde_json::{json, Value};

use super::super::error::*;
use super::super::json;
use super::super::params::Params;
use crate::Devnet;

pub(super) fn getnetworkinfo(devnet: &Devnet, _: &Params) -> Result<Value, RpcError> {
    let min_relay = devnet.lock().policy.min_relay_fee_sat_per_kvb;
    Ok(json!({
        "version": CORE_VERSION,
        "subversion": concat!("/lnedge-devnet:", env!("CARGO_PKG_VERSION"), "/"),
        "protocolversion": PROTOCOL_VERSION,
        "localservices": "0000000000000409",
        "localservicesnames": ["NETWORK", "WITNESS", "NETWORK_LIMITED"],
        "localrelay": true,
        "timeoffset": 0,
        "networkactive": true,
        "connections": 0,
        "connections_in": 0,
        "connections_out": 0,
        "networks": [],
        "relayfee": json::amount(Amount::from_sat(min_relay)),
        "incrementalfee": json::amount(Amount::from_sat(1000)),
        "localaddresses": [],
        "warnings": "",
    }))
}

pub(super) fn uptime(devnet: &Devnet, _: &Params) -> Result<Value, RpcError> {
    Ok(json!(devnet.uptime_secs()))
}

pub(super) fn help(_: &Devnet, p: &Params) -> Result<Value, RpcError> {
    if p.get(0).is_some() {
        let name = p.str(0)?;
        return match METHODS.iter().find(|m| m.name == name) {
            Some(m) => Ok(json!(format!("{} {}", m.name, m.params.join(" "))
                .trim_end()
                .to_string())),
            None => Ok(json!(format!("help: unknown command: {name}"))),
        };
    }
    let lines: Vec<String> = METHODS
        .iter()
        .map(|m| {
            format!("{} {}", m.name, m.params.join(" "))
                .trim_end()
                .to_string()
        })
        .collect();
    Ok(json!(format!("== devnet ==\n{}", lines.join("\n"))))
}
