//! JSON-RPC errors with Bitcoin Core's codes.

use serde_json::{json, Value};

/// Core's `RPC_MISC_ERROR`: generic failure, also wrong parameter counts.
pub const RPC_MISC_ERROR: i64 = -1;
/// Core's `RPC_TYPE_ERROR`: a parameter has the wrong JSON type.
pub const RPC_TYPE_ERROR: i64 = -3;
/// Core's `RPC_INVALID_ADDRESS_OR_KEY`: unknown block, transaction or bad address.
pub const RPC_INVALID_ADDRESS_OR_KEY: i64 = -5;
/// Core's `RPC_INVALID_PARAMETER`.
pub const RPC_INVALID_PARAMETER: i64 = -8;
/// Core's `RPC_DESERIALIZATION_ERROR`: undecodable transaction or block.
pub const RPC_DESERIALIZATION_ERROR: i64 = -22;
/// Core's `RPC_VERIFY_ERROR` (`RPC_TRANSACTION_ERROR`): missing inputs, fee cap.
pub const RPC_VERIFY_ERROR: i64 = -25;
/// Core's `RPC_VERIFY_REJECTED` (`RPC_TRANSACTION_REJECTED`): the mempool refused it.
pub const RPC_VERIFY_REJECTED: i64 = -26;
/// Core's `RPC_VERIFY_ALREADY_IN_CHAIN`.
pub const RPC_VERIFY_ALREADY_IN_CHAIN: i64 = -27;
/// JSON-RPC invalid request.
pub const RPC_INVALID_REQUEST: i64 = -32600;
/// JSON-RPC method not found.
pub const RPC_METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC parse error.
pub const RPC_PARSE_ERROR: i64 = -32700;

/// An error reply: Core's `{code, message}` object.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("RPC error {code}: {message}")]
pub struct RpcError {
    /// Core's numeric code.
    pub code: i64,
    /// Human-readable message, worded as Core words it.
    pub message: String,
}

impl RpcError {
    /// An error with a code and message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
        }
    }

    /// `-8` invalid parameter.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(RPC_INVALID_PARAMETER, message)
    }

    /// The JSON error object.
    pub fn to_json(&self) -> Value {
        json!({"code": self.code, "message": self.message})
    }
}
