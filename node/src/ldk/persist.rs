//! Channel state on disk in an order a crash cannot break: the channel manager on disk is
//! never behind a channel monitor on disk.
//!
//! LDK writes a monitor update as soon as it is made, and the channel manager that knows of it
//! some time later (the background processor's next persistence). A crash in between leaves a
//! monitor at update N beside a manager at N − 1, which LDK reads as a stale manager and
//! answers by force-closing the channel (rust-lightning#4286). [`MonitorPersister`] reverses the
//! order with LDK's own asynchronous persistence: every monitor write is reported
//! `InProgress`, a worker thread writes the channel manager (which records update N as in
//! flight), then the monitor, then tells the chain monitor the update completed
//! (`ChainMonitor::channel_monitor_updated`). A crash before the monitor write leaves a manager
//! that replays update N into the monitor when it is read back; a crash after leaves both at N.
//! Until the update completes LDK holds back the messages that depend on it, so nothing is
//! promised to a peer before both are on disk.
//!
//! Two writers of the channel manager (this worker and the background processor) must not
//! reorder each other's snapshots: [`NodeStore`] makes every write of the manager's key a fresh
//! encoding taken under one lock, so the manager on disk only moves forward.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use lightning::chain::chainmonitor::Persist;
use lightning::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate};
use lightning::chain::ChannelMonitorUpdateStatus;
use lightning::io;
use lightning::ln::types::ChannelId;
use lightning::sign::InMemorySigner;
use lightning::util::persist::{
    KVStoreSync, MonitorName, CHANNEL_MANAGER_PERSISTENCE_KEY,
    CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE, CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
    CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE, CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
};
use lightning::util::ser::Writeable;
use lightning_persister::fs_store::v1::FilesystemStore;

use crate::ldk::types::{ChainMonitor, ChannelManager};

/// How the node orders channel manager and channel monitor writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PersistenceOrder {
    /// The channel manager is written before every monitor update it knows of (default): a
    /// crash at any moment restarts without a stale manager, so without a force close.
    #[default]
    ManagerFirst,
    /// LDK's default order: monitors at once, the manager later. A crash between the two
    /// force-closes the channel on restart. For comparison (benchmarks) only.
    MonitorsFirst,
}

/// How long a failed write waits before it is tried again. LDK asks that a persister either
/// keep trying or shut the node down; it keeps trying, and says so in the log.
const RETRY_WRITE: Duration = Duration::from_secs(1);

/// The node's key-value store: lightning-persister's filesystem store, except that a write of
/// the channel manager's key writes a fresh encoding of the manager taken under one lock (the
/// bytes handed in are a snapshot that another writer may have overtaken).
pub struct NodeStore {
    fs: FilesystemStore,
    manager: OnceLock<Weak<ChannelManager>>,
    manager_write: Mutex<()>,
}

impl NodeStore {
    /// The store in `dir`.
    pub fn new(dir: std::path::PathBuf) -> Self {
        NodeStore {
            fs: FilesystemStore::new(dir),
            manager: OnceLock::new(),
            manager_write: Mutex::new(()),
        }
    }

    /// Tells the store which manager its manager key holds (once, after the manager is built).
    pub(crate) fn set_manager(&self, manager: &Arc<ChannelManager>) {
        let _ = self.manager.set(Arc::downgrade(manager));
    }

    /// Writes the channel manager as it is now. Writers are serialised, each encoding under the
    /// lock, so a later write never lands an older snapshot.
    fn write_manager(&self, fallback: Option<Vec<u8>>) -> Result<(), io::Error> {
        let _one_writer = self.manager_write.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = match self.manager.get().and_then(Weak::upgrade) {
            Some(manager) => manager.encode(),
            None => match fallback {
                Some(bytes) => bytes,
                // No manager yet and nothing handed in: nothing to order against.
                None => return Ok(()),
            },
        };
        self.fs.write(
            CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
            CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
            CHANNEL_MANAGER_PERSISTENCE_KEY,
            bytes,
        )
    }
}

fn is_manager_key(primary: &str, secondary: &str, key: &str) -> bool {
    primary == CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE
        && secondary == CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE
        && key == CHANNEL_MANAGER_PERSISTENCE_KEY
}

impl KVStoreSync for NodeStore {
    fn read(&self, primary: &str, secondary: &str, key: &str) -> Result<Vec<u8>, io::Error> {
        self.fs.read(primary, secondary, key)
    }

    fn write(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        buf: Vec<u8>,
    ) -> Result<(), io::Error> {
        if is_manager_key(primary, secondary, key) {
            return self.write_manager(Some(buf));
        }
        self.fs.write(primary, secondary, key, buf)
    }

    fn remove(
        &self,
        primary: &str,
        secondary: &str,
        key: &str,
        lazy: bool,
    ) -> Result<(), io::Error> {
        self.fs.remove(primary, secondary, key, lazy)
    }

    fn list(&self, primary: &str, secondary: &str) -> Result<Vec<String>, io::Error> {
        self.fs.list(primary, secondary)
    }
}

/// One write for the worker, in the order LDK asked for it.
enum Job {
    /// A whole monitor; `completes` is the update LDK waits on (none for chain-sync writes).
    Monitor {
        key: String,
        bytes: Vec<u8>,
        completes: Option<(ChannelId, u64)>,
    },
    /// Moves a closed channel's monitor to the archive.
    Archive(MonitorName),
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    /// The worker is writing a batch it took off the queue.
    busy: bool,
    stopping: bool,
}

struct Shared {
    store: Arc<NodeStore>,
    queue: Mutex<Queue>,
    /// Wakes the worker (new jobs, stop).
    work: Condvar,
    /// Wakes [`MonitorPersister::flush`] (queue drained).
    drained: Condvar,
    chain_monitor: OnceLock<Weak<ChainMonitor>>,
}

/// The chain monitor's persister (see the module docs).
pub struct MonitorPersister {
    order: PersistenceOrder,
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl MonitorPersister {
    /// A persister writing to `store` in `order`; with [`PersistenceOrder::ManagerFirst`] it
    /// starts its worker thread.
    pub fn new(store: Arc<NodeStore>, order: PersistenceOrder) -> Result<Self, std::io::Error> {
        let shared = Arc::new(Shared {
            store,
            queue: Mutex::new(Queue::default()),
            work: Condvar::new(),
            drained: Condvar::new(),
            chain_monitor: OnceLock::new(),
        });
        let worker = match order {
            PersistenceOrder::ManagerFirst => {
                let shared = Arc::clone(&shared);
                Some(
                    std::thread::Builder::new()
                        .name("lnedge-persist".into())
                        .spawn(move || shared.run())?,
                )
            }
            PersistenceOrder::MonitorsFirst => None,
        };
        Ok(MonitorPersister {
            order,
            shared,
            worker: Mutex::new(worker),
        })
    }

    /// Tells the persister which chain monitor to report completed updates to.
    pub(crate) fn set_chain_monitor(&self, chain_monitor: &Arc<ChainMonitor>) {
        let _ = self.shared.chain_monitor.set(Arc::downgrade(chain_monitor));
    }

    /// Waits until every write asked for so far is on disk.
    pub fn flush(&self) {
        let mut queue = self.shared.lock();
        while !queue.jobs.is_empty() || queue.busy {
            queue = self
                .shared
                .drained
                .wait(queue)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Writes what is queued, then stops the worker (when the persister is dropped, with the
    /// chain monitor).
    fn stop(&self) {
        self.shared.lock().stopping = true;
        self.shared.work.notify_all();
        let worker = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(worker) = worker {
            let _ = worker.join();
        }
    }

    fn enqueue(&self, job: Job) -> ChannelMonitorUpdateStatus {
        // Never written in the caller: LDK calls with its channel locks held, which encoding
        // the manager would wait for. The worker runs until the persister is dropped.
        let mut queue = self.shared.lock();
        queue.jobs.push_back(job);
        drop(queue);
        self.shared.work.notify_one();
        ChannelMonitorUpdateStatus::InProgress
    }

    fn write_now(&self, key: String, bytes: Vec<u8>) -> ChannelMonitorUpdateStatus {
        match self.shared.store.write(
            CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
            CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
            &key,
            bytes,
        ) {
            Ok(()) => ChannelMonitorUpdateStatus::Completed,
            Err(e) => {
                tracing::error!(error = %e, monitor = %key, "writing a channel monitor failed");
                ChannelMonitorUpdateStatus::UnrecoverableError
            }
        }
    }
}

impl Drop for MonitorPersister {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run(&self) {
        loop {
            let batch: Vec<Job> = {
                let mut queue = self.lock();
                while queue.jobs.is_empty() && !queue.stopping {
                    queue = self.work.wait(queue).unwrap_or_else(|p| p.into_inner());
                }
                if queue.jobs.is_empty() {
                    return;
                }
                queue.busy = true;
                queue.jobs.drain(..).collect()
            };
            self.write_batch(batch);
            self.lock().busy = false;
            self.drained.notify_all();
        }
    }

    /// The manager once (if any job completes an update), then each job in order, then the
    /// completions to the chain monitor (if it still exists).
    fn write_batch(&self, batch: Vec<Job>) {
        let completes_any = batch.iter().any(|job| {
            matches!(
                job,
                Job::Monitor {
                    completes: Some(_),
                    ..
                }
            )
        });
        if completes_any {
            retrying("the channel manager", || self.store.write_manager(None));
        }
        let mut completed = Vec::new();
        for job in batch {
            match job {
                Job::Monitor {
                    key,
                    bytes,
                    completes,
                } => {
                    retrying("a channel monitor", || {
                        self.store.fs.write(
                            CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
                            CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
                            &key,
                            bytes.clone(),
                        )
                    });
                    completed.extend(completes);
                }
                Job::Archive(name) => {
                    Persist::<InMemorySigner>::archive_persisted_channel(&self.store.fs, name)
                }
            }
        }
        if completed.is_empty() {
            return;
        }
        let Some(chain_monitor) = self.chain_monitor.get().and_then(Weak::upgrade) else {
            return;
        };
        for (channel_id, update_id) in completed {
            if let Err(e) = chain_monitor.channel_monitor_updated(channel_id, update_id) {
                tracing::warn!(?e, %channel_id, update_id, "monitor update completion refused");
            }
        }
    }
}

fn retrying(what: &str, mut write: impl FnMut() -> Result<(), io::Error>) {
    loop {
        match write() {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(error = %e, "writing {what} failed; retrying");
                std::thread::sleep(RETRY_WRITE);
            }
        }
    }
}

impl MonitorPersister {
    /// Writes `monitor` in this persister's order; `completes` is the update LDK waits on.
    fn persist(
        &self,
        name: MonitorName,
        monitor: &ChannelMonitor<InMemorySigner>,
        completes: Option<u64>,
    ) -> ChannelMonitorUpdateStatus {
        let key = name.to_string();
        match self.order {
            PersistenceOrder::MonitorsFirst => self.write_now(key, monitor.encode()),
            PersistenceOrder::ManagerFirst => self.enqueue(Job::Monitor {
                key,
                bytes: monitor.encode(),
                completes: completes.map(|id| (monitor.channel_id(), id)),
            }),
        }
    }
}

impl Persist<InMemorySigner> for MonitorPersister {
    fn persist_new_channel(
        &self,
        monitor_name: MonitorName,
        monitor: &ChannelMonitor<InMemorySigner>,
    ) -> ChannelMonitorUpdateStatus {
        self.persist(monitor_name, monitor, Some(monitor.get_latest_update_id()))
    }

    fn update_persisted_channel(
        &self,
        monitor_name: MonitorName,
        update: Option<&ChannelMonitorUpdate>,
        monitor: &ChannelMonitor<InMemorySigner>,
    ) -> ChannelMonitorUpdateStatus {
        // Chain-sync writes (no update) complete nothing LDK waits on.
        self.persist(monitor_name, monitor, update.map(|u| u.update_id))
    }

    fn archive_persisted_channel(&self, monitor_name: MonitorName) {
        match self.order {
            PersistenceOrder::MonitorsFirst => {
                Persist::<InMemorySigner>::archive_persisted_channel(
                    &self.shared.store.fs,
                    monitor_name,
                )
            }
            PersistenceOrder::ManagerFirst => {
                let _ = self.enqueue(Job::Archive(monitor_name));
            }
        }
    }
}
