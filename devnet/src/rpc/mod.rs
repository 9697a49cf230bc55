//! Bitcoin Core-compatible JSON-RPC over HTTP/1.1: [`server`] (hyper, auth, request and reply
//! shapes), [`methods`] (the calls), [`params`] (parameter decoding), [`json`] (result shapes), [`error`] (Core's codes).

pub mod error;
pub mod json;
pub mod methods;
pub mod params;
pub mod server;

pub use error::RpcError;
pub use server::{RpcAuth, RpcServer, RpcServerConfig, RpcServerError};
