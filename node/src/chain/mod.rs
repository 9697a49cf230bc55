//! The node's view of Bitcoin Core's JSON-RPC (or devnet's, which speaks the same subset):
//! block source for lightning-block-sync, fee estimator, broadcaster with rebroadcast.
//!
//! LDK asks for fees and broadcasts synchronously, so fee estimates are cached and refreshed by
//! a background task, and broadcasts are handed to a task that calls `sendrawtransaction`.

mod fees;
pub mod sync;

pub use fees::{fee_floor, FeeTargets};
pub use sync::ChainSync;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{Transaction, Txid};
use lightning::chain::chaininterface::{
    BroadcasterInterface, ConfirmationTarget, FeeEstimator, TransactionType,
};
use lightning_block_sync::http::HttpClientError;
use lightning_block_sync::rpc::{RpcClient, RpcClientError};
use serde_json::{json, Value};
use tokio::runtime::Handle;

/// Errors talking to the chain backend.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The RPC call failed (transport, HTTP status or RPC error). The text says once what
    /// failed (e.g. `401: wrong RPC credentials for http://127.0.0.1:8332`); the client's error
    /// is kept in `error` but not chained as a source, whose text would repeat it.
    #[error("{}", describe(method, url, error))]
    Rpc {
        /// The method.
        method: &'static str,
        /// The server's URL.
        url: String,
        /// What went wrong.
        error: RpcClientError,
    },
    /// The reply did not have the expected shape.
    #[error("bitcoind RPC `{method}` answered something unexpected: {detail}")]
    Unexpected {
        /// The method.
        method: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// Block synchronisation failed.
    #[error("block sync: {0}")]
    Sync(String),
}

/// One line saying what failed, for [`ChainError::Rpc`].
fn describe(method: &str, url: &str, error: &RpcClientError) -> String {
    match error {
        RpcClientError::Http(HttpClientError::Http(e)) => {
            let body = String::from_utf8_lossy(&e.contents);
            let body = body.trim();
            match e.status_code {
                401 => format!("401: wrong RPC credentials for {url}"),
                403 => format!("403: {url} does not allow RPC from this address (rpcallowip)"),
                code if body.is_empty() => format!("{code}: {url} refused `{method}`"),
                code => {
                    let body: String = body.chars().take(200).collect();
                    format!("{code}: {url} refused `{method}`: {body}")
                }
            }
        }
        RpcClientError::Http(HttpClientError::Transport(e)) => {
            format!("cannot reach bitcoind at {url}: {e}")
        }
        RpcClientError::Http(HttpClientError::Parse(e)) => {
            format!("bitcoind at {url} answered `{method}` with something unreadable: {e}")
        }
        RpcClientError::Rpc(e) => format!(
            "bitcoind RPC `{method}` failed: {} (code {})",
            e.message, e.code
        ),
        RpcClientError::InvalidData(e) => {
            format!("bitcoind RPC `{method}` answered something unexpected: {e}")
        }
    }
}

/// Bitcoin Core JSON-RPC client: block source, fee estimator and broadcaster of the node.
pub struct ChainClient {
    rpc: Arc<RpcClient>,
    url: String,
    fees: fees::FeeCache,
    unconfirmed: Mutex<HashMap<Txid, Transaction>>,
    runtime: Handle,
}

impl std::fmt::Debug for ChainClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainClient").finish_non_exhaustive()
    }
}

impl ChainClient {
    /// A client for `url` (`http://host:port`) with HTTP basic credentials in base64
    /// (`user:password`), spawning its broadcasts on `runtime`.
    pub fn new(url: &str, credentials_base64: &str, runtime: Handle) -> Self {
        let url = url.trim_end_matches('/').to_string();
        let rpc = Arc::new(RpcClient::new(credentials_base64, url.clone()));
        Self {
            rpc,
            url,
            fees: fees::FeeCache::default(),
            unconfirmed: Mutex::new(HashMap::new()),
            runtime,
        }
    }

    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The raw RPC client (the block source of lightning-block-sync).
    pub fn rpc(&self) -> &Arc<RpcClient> {
        &self.rpc
    }

    /// Calls an RPC method and returns its JSON result.
    pub async fn call(&self, method: &'static str, params: &[Value]) -> Result<Value, ChainError> {
        self.rpc
            .call_method::<Value>(method, params)
            .await
            .map_err(|error| ChainError::Rpc {
                method,
                url: self.url.clone(),
                error,
            })
    }

    /// Current block count (height of the tip).
    pub async fn block_count(&self) -> Result<u32, ChainError> {
        let v = self.call("getblockcount", &[]).await?;
        v.as_u64()
            .and_then(|h| u32::try_from(h).ok())
            .ok_or(ChainError::Unexpected {
                method: "getblockcount",
                detail: v.to_string(),
            })
    }

    /// Refreshes every cached fee estimate from `estimatesmartfee`, and the mempool minimum from
    /// `getmempoolinfo` (`mempoolminfee`, else `minrelaytxfee`); keeps the previous value when
    /// the backend has none.
    pub async fn refresh_fees(&self) -> Result<(), ChainError> {
        for (target, blocks) in FeeTargets::ALL {
            let reply = self
                .call("estimatesmartfee", &[json!(blocks), json!("ECONOMICAL")])
                .await?;
            if let Some(btc_per_kvb) = reply.get("feerate").and_then(Value::as_f64) {
                self.fees.set(target, btc_per_kvb);
            }
        }
        let info = self.call("getmempoolinfo", &[]).await?;
        let min = ["mempoolminfee", "minrelaytxfee"]
            .iter()
            .find_map(|key| info.get(key).and_then(Value::as_f64).filter(|r| *r > 0.0));
        if let Some(btc_per_kvb) = min {
            self.fees.set_mempool_min(btc_per_kvb);
        }
        Ok(())
    }

    /// Sends a transaction with `sendrawtransaction` and remembers it for rebroadcast until it
    /// confirms.
    pub async fn send(&self, tx: &Transaction) -> Result<Txid, ChainError> {
        let txid = tx.compute_txid();
        self.unconfirmed
            .lock()
            .expect("lock")
            .insert(txid, tx.clone());
        self.call("sendrawtransaction", &[json!(serialize_hex(tx))])
            .await?;
        Ok(txid)
    }

    /// Forgets transactions that confirmed (called for every connected block).
    pub fn confirmed(&self, txids: impl IntoIterator<Item = Txid>) {
        let mut unconfirmed = self.unconfirmed.lock().expect("lock");
        if unconfirmed.is_empty() {
            return;
        }
        for txid in txids {
            unconfirmed.remove(&txid);
        }
    }

    /// Sends every remembered unconfirmed transaction again (errors such as "already in
    /// mempool" are expected and ignored; a transaction that conflicts with a confirmed one is
    /// dropped when the backend says its inputs are spent).
    pub async fn rebroadcast(&self) {
        let txs: Vec<Transaction> = self
            .unconfirmed
            .lock()
            .expect("lock")
            .values()
            .cloned()
            .collect();
        for tx in txs {
            if let Err(e) = self
                .call("sendrawtransaction", &[json!(serialize_hex(&tx))])
                .await
            {
                let text = e.to_string();
                if text.contains("missing") || text.contains("spent") || text.contains("conflict") {
                    self.unconfirmed
                        .lock()
                        .expect("lock")
                        .remove(&tx.compute_txid());
                }
                tracing::debug!(txid = %tx.compute_txid(), "rebroadcast: {text}");
            }
        }
    }

    /// Number of transactions waiting to confirm.
    pub fn unconfirmed_count(&self) -> usize {
        self.unconfirmed.lock().expect("lock").len()
    }

    /// Spawns the periodic fee refresh and rebroadcast task; it stops when `stop` fires.
    pub fn spawn_maintenance(
        self: &Arc<Self>,
        every: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let this = Arc::clone(self);
        self.runtime.spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = stop.changed() => return,
                }
                if let Err(e) = this.refresh_fees().await {
                    tracing::warn!("fee refresh: {e}");
                }
                this.rebroadcast().await;
            }
        })
    }
}

impl FeeEstimator for ChainClient {
    fn get_est_sat_per_1000_weight(&self, target: ConfirmationTarget) -> u32 {
        self.fees.get(target)
    }
}

impl BroadcasterInterface for ChainClient {
    fn broadcast_transactions(&self, txs: &[(&Transaction, TransactionType)]) {
        for (tx, kind) in txs {
            let tx = (*tx).clone();
            let txid = tx.compute_txid();
            tracing::info!(%txid, kind = ?kind, "broadcasting");
            self.unconfirmed
                .lock()
                .expect("lock")
                .insert(txid, tx.clone());
            let rpc = Arc::clone(&self.rpc);
            self.runtime.spawn(async move {
                let hex = serialize_hex(&tx);
                if let Err(e) = rpc
                    .call_method::<Value>("sendrawtransaction", &[json!(hex)])
                    .await
                {
                    tracing::warn!(%txid, "broadcast failed (will retry): {e}");
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use lnedge_devnet::{Devnet, FeeCurve, RpcAuth, RpcServer, RpcServerConfig};

    use super::*;

    /// The estimates LDK gets after a refresh from a devnet answering as Bitcoin Core, among
    /// them the remote-fee minimums LDK's `check_remote_fee` compares a peer's `open_channel`
    /// and `update_fee` feerate against (it takes them as they are when at least 253).
    #[tokio::test]
    async fn refresh_reads_estimates_and_mempool_minimum() {
        let devnet = Devnet::in_memory(); // 144 blocks: 2 sat/vB; min relay fee 1 sat/vB
        let server = RpcServer::start(
            devnet.clone(),
            RpcServerConfig {
                bind: "127.0.0.1:0".parse().unwrap(),
                auth: RpcAuth::UserPass {
                    user: "u".into(),
                    password: "p".into(),
                },
            },
        )
        .await
        .unwrap();
        let client = ChainClient::new(
            &server.url(),
            &server.credentials_base64(),
            Handle::current(),
        );
        client.refresh_fees().await.unwrap();
        let fee = |target| client.get_est_sat_per_1000_weight(target);
        assert_eq!(fee(ConfirmationTarget::UrgentOnChainSweep), 6250); // 25 sat/vB
        assert_eq!(fee(ConfirmationTarget::NonAnchorChannelFee), 2500); // 10 sat/vB
        assert_eq!(fee(ConfirmationTarget::AnchorChannelFee), 500);
        assert_eq!(fee(ConfirmationTarget::ChannelCloseMinimum), 500);
        // A peer opening an anchor channel at the relay floor (what ldk-node proposes from its
        // 1008-block estimate) is accepted although our own estimate is 500.
        assert_eq!(
            fee(ConfirmationTarget::MinAllowedAnchorChannelRemoteFee),
            253
        );
        assert_eq!(
            fee(ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee),
            253
        );

        {
            let mut state = devnet.lock();
            state.policy.min_relay_fee_sat_per_kvb = 5_000; // 5 sat/vB
            state.fee_curve = FeeCurve::flat(8.0);
        }
        client.refresh_fees().await.unwrap();
        let fee = |target| client.get_est_sat_per_1000_weight(target);
        assert_eq!(fee(ConfirmationTarget::AnchorChannelFee), 2000);
        assert_eq!(
            fee(ConfirmationTarget::MinAllowedAnchorChannelRemoteFee),
            1250
        );
        assert_eq!(
            fee(ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee),
            1750
        );
        server.shutdown().await;
    }
}
