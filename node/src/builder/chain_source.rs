//! The chain source: a Bitcoin Core (or devnet) RPC client, or with the `devnet` feature an
//! embedded devnet served on a loopback port.

use std::sync::Arc;

use bitcoin::BlockHash;
use lightning::chain::BlockLocator;

use crate::chain::{ChainClient, ChainError};
use crate::config::{ChainSource, NodeConfig, RpcCredentials};
use crate::error::BuildError;

/// What [`connect`] starts besides the client: the embedded devnet's RPC server, when the node
/// runs one.
#[cfg(feature = "devnet")]
pub(crate) type EmbeddedServer = Option<lnedge_devnet::RpcServer>;
/// Without the `devnet` feature the node runs no chain of its own.
#[cfg(not(feature = "devnet"))]
pub(crate) type EmbeddedServer = ();

/// A client for the configured chain source.
pub(super) async fn connect(
    config: &NodeConfig,
) -> Result<(Arc<ChainClient>, EmbeddedServer), BuildError> {
    use base64::Engine;
    let runtime = tokio::runtime::Handle::current();
    match &config.chain {
        ChainSource::BitcoindRpc { url, auth } => {
            let creds = match auth {
                RpcCredentials::UserPass { user, password } => {
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
                }
                RpcCredentials::CookieFile(path) => {
                    let text = std::fs::read_to_string(path).map_err(|e| {
                        BuildError::io(format!("reading RPC cookie {}", path.display()), e)
                    })?;
                    base64::engine::general_purpose::STANDARD.encode(text.trim())
                }
            };
            let client = ChainClient::new(url, &creds, runtime);
            check_network(&client, config.network).await?;
            Ok((Arc::new(client), EmbeddedServer::default()))
        }
        #[cfg(feature = "devnet")]
        ChainSource::EmbeddedDevnet => {
            use lnedge_devnet::{Devnet, DevnetConfig, RpcAuth, RpcServer, RpcServerConfig};
            if config.network != bitcoin::Network::Regtest {
                return Err(BuildError::InvalidConfig(
                    "the embedded devnet is a regtest chain; set network = regtest".into(),
                ));
            }
            let devnet = Devnet::new(DevnetConfig {
                data_dir: Some(config.data_dir.join("devnet")),
                ..Default::default()
            })
            .map_err(|e| BuildError::Devnet(e.to_string()))?;
            let server = RpcServer::start(
                devnet,
                RpcServerConfig {
                    bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                    auth: RpcAuth::Cookie {
                        dir: config.data_dir.join("devnet"),
                    },
                },
            )
            .await
            .map_err(|e| BuildError::Devnet(format!("RPC server: {e}")))?;
            let client = ChainClient::new(&server.url(), &server.credentials_base64(), runtime);
            Ok((Arc::new(client), Some(server)))
        }
    }
}

/// Refuses a chain source on another network than `network` (its `getblockchaininfo.chain`).
/// Being the first call, it is also where wrong credentials or an unreachable server show.
async fn check_network(chain: &ChainClient, network: bitcoin::Network) -> Result<(), BuildError> {
    let method = "getblockchaininfo";
    let info = chain.call(method, &[]).await?;
    let Some(name) = info.get("chain").and_then(|c| c.as_str()) else {
        return Err(ChainError::Unexpected {
            method,
            detail: format!("no `chain` in {info}"),
        }
        .into());
    };
    if name == network.to_core_arg() {
        return Ok(());
    }
    Err(BuildError::NetworkMismatch {
        configured: network,
        chain: bitcoin::Network::from_core_arg(name)
            .map_or_else(|_| name.to_string(), |n| n.to_string()),
        url: chain.url().to_string(),
    })
}

/// The chain's tip.
pub(super) async fn tip(chain: &ChainClient) -> Result<BlockLocator, BuildError> {
    let hash = chain.call("getbestblockhash", &[]).await?;
    let hash: BlockHash =
        hash.as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ChainError::Unexpected {
                method: "getbestblockhash",
                detail: hash.to_string(),
            })?;
    let height = chain.block_count().await?;
    Ok(BlockLocator::new(hash, height))
}
