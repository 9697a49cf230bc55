//! LDK's state read back from the KV store on restart, or made new at first start: network
//! graph, scorer, channel manager, output sweeper.

use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::Network;
use lightning::chain::channelmonitor::ChannelMonitor;
use lightning::chain::{BlockLocator, Filter};
use lightning::ln::channelmanager::{ChainParameters, ChannelManagerReadArgs};
use lightning::routing::scoring::{ProbabilisticScorer, ProbabilisticScoringDecayParameters};
use lightning::sign::{InMemorySigner, KeysManager};
use lightning::util::config::UserConfig;
use lightning::util::persist::{
    KVStoreSync, CHANNEL_MANAGER_PERSISTENCE_KEY, NETWORK_GRAPH_PERSISTENCE_KEY,
    OUTPUT_SWEEPER_PERSISTENCE_KEY, SCORER_PERSISTENCE_KEY,
};
use lightning::util::ser::ReadableArgs;

use crate::chain::ChainClient;
use crate::error::BuildError;
use crate::ldk::keys::NodeKeys;
use crate::ldk::types::{
    ChainMonitor, ChannelManager, KvStore, Logger, MessageRouter, NetworkGraph, Router, Scorer,
    Sweeper,
};
use crate::wallet::OnchainWallet;

fn read_kv(kv: &KvStore, key: &str) -> Result<Option<Vec<u8>>, BuildError> {
    match KVStoreSync::read(&**kv, "", "", key) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(BuildError::io(format!("reading {key}"), e)),
    }
}

/// The gossip graph.
pub(super) fn network_graph(
    kv: &KvStore,
    network: Network,
    logger: &Logger,
) -> Result<Arc<NetworkGraph>, BuildError> {
    Ok(Arc::new(
        match read_kv(kv, NETWORK_GRAPH_PERSISTENCE_KEY)? {
            Some(bytes) => NetworkGraph::read(&mut Cursor::new(bytes), Arc::clone(logger))
                .map_err(|reason| BuildError::CorruptState {
                    what: "network graph",
                    reason,
                })?,
            None => NetworkGraph::new(network, Arc::clone(logger)),
        },
    ))
}

/// The scorer over `graph`.
pub(super) fn scorer(
    kv: &KvStore,
    graph: &Arc<NetworkGraph>,
    logger: &Logger,
) -> Result<Scorer, BuildError> {
    let decay = ProbabilisticScoringDecayParameters::default();
    Ok(match read_kv(kv, SCORER_PERSISTENCE_KEY)? {
        Some(bytes) => ProbabilisticScorer::read(
            &mut Cursor::new(bytes),
            (decay, Arc::clone(graph), Arc::clone(logger)),
        )
        .map_err(|reason| BuildError::CorruptState {
            what: "scorer",
            reason,
        })?,
        None => ProbabilisticScorer::new(decay, Arc::clone(graph), Arc::clone(logger)),
    })
}

/// What the channel manager is made of.
pub(super) struct ManagerParts<'a> {
    pub(super) kv: &'a KvStore,
    pub(super) keys: &'a Arc<KeysManager>,
    pub(super) signer: &'a Arc<NodeKeys>,
    pub(super) chain: &'a Arc<ChainClient>,
    pub(super) chain_monitor: &'a Arc<ChainMonitor>,
    pub(super) router: &'a Arc<Router>,
    pub(super) message_router: &'a Arc<MessageRouter>,
    pub(super) logger: &'a Logger,
}

/// The channel manager and the block it last saw: read back with its `monitors`, or new at
/// `tip`.
pub(super) fn channel_manager(
    p: &ManagerParts<'_>,
    monitors: &[(BlockLocator, ChannelMonitor<InMemorySigner>)],
    user_config: UserConfig,
    network: Network,
    tip: BlockLocator,
    started: Duration,
) -> Result<(BlockLocator, Arc<ChannelManager>), BuildError> {
    match read_kv(p.kv, CHANNEL_MANAGER_PERSISTENCE_KEY)? {
        Some(bytes) => {
            let args = ChannelManagerReadArgs::new(
                Arc::clone(p.keys),
                Arc::clone(p.keys),
                Arc::clone(p.signer),
                Arc::clone(p.chain),
                Arc::clone(p.chain_monitor),
                Arc::clone(p.chain),
                Arc::clone(p.router),
                Arc::clone(p.message_router),
                Arc::clone(p.logger),
                user_config,
                monitors.iter().map(|(_, m)| m).collect(),
            );
            let (read, errors) = crate::ldk::logger::capture_errors(|| {
                <(BlockLocator, ChannelManager)>::read(&mut Cursor::new(bytes), args)
            });
            let (best, manager) = read.map_err(|reason| manager_read_error(reason, &errors))?;
            Ok((best, Arc::new(manager)))
        }
        None => {
            let manager = ChannelManager::new(
                Arc::clone(p.chain),
                Arc::clone(p.chain_monitor),
                Arc::clone(p.chain),
                Arc::clone(p.router),
                Arc::clone(p.message_router),
                Arc::clone(p.logger),
                Arc::clone(p.keys),
                Arc::clone(p.keys),
                Arc::clone(p.signer),
                user_config,
                ChainParameters {
                    network,
                    best_block: tip,
                },
                started.as_secs() as u32,
            );
            Ok((tip, Arc::new(manager)))
        }
    }
}

/// Why the channel manager did not read back. LDK refuses a manager that has a channel whose
/// monitor it was not given with a bare `InvalidValue`, saying which channel only in its log
/// ("Missing ChannelMonitor for channel …", or "The ChannelMonitor for channel … is missing"
/// when updates were in flight): those become [`BuildError::MissingChannelMonitors`]. LDK
/// stops at the first such channel, so the list names at least one, not necessarily all.
fn manager_read_error(
    reason: lightning::ln::msgs::DecodeError,
    errors: &[crate::ldk::logger::CapturedError],
) -> BuildError {
    let mut channels: Vec<_> = errors
        .iter()
        .filter(|e| {
            e.text.starts_with("Missing ChannelMonitor for channel")
                || (e.text.contains("ChannelMonitor for channel")
                    && e.text.ends_with("is missing."))
        })
        .filter_map(|e| e.channel_id)
        .collect();
    channels.dedup();
    if reason == lightning::ln::msgs::DecodeError::InvalidValue && !channels.is_empty() {
        return BuildError::MissingChannelMonitors { channels };
    }
    BuildError::CorruptState {
        what: "channel manager",
        reason,
    }
}

/// The output sweeper (no chain filter: the node reads whole blocks).
pub(super) fn sweeper(
    kv: &KvStore,
    chain: &Arc<ChainClient>,
    keys: &Arc<KeysManager>,
    wallet: &Arc<OnchainWallet>,
    logger: &Logger,
    tip: BlockLocator,
) -> Result<Arc<Sweeper>, BuildError> {
    let no_filter: Option<Arc<dyn Filter + Send + Sync>> = None;
    Ok(Arc::new(
        match read_kv(kv, OUTPUT_SWEEPER_PERSISTENCE_KEY)? {
            Some(bytes) => {
                let (_, sweeper) = <(BlockLocator, Sweeper)>::read(
                    &mut Cursor::new(bytes),
                    (
                        Arc::clone(chain),
                        Arc::clone(chain),
                        no_filter,
                        Arc::clone(keys),
                        Arc::clone(wallet),
                        Arc::clone(kv),
                        Arc::clone(logger),
                    ),
                )
                .map_err(|reason| BuildError::CorruptState {
                    what: "output sweeper",
                    reason,
                })?;
                sweeper
            }
            None => Sweeper::new(
                tip,
                Arc::clone(chain),
                Arc::clone(chain),
                no_filter,
                Arc::clone(keys),
                Arc::clone(wallet),
                Arc::clone(kv),
                Arc::clone(logger),
            ),
        },
    ))
}
