//! The [`Devnet`] handle: one regtest chain, shared by the RPC server, the interval miner and
//! tests, with the operations they need (mining, submitting, reorganising) under one lock.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bitcoin::opcodes::OP_TRUE;
use bitcoin::script::Builder;
use bitcoin::{Block, BlockHash, ScriptBuf, Transaction, Txid};

use crate::chain::ChainError;
use crate::fees::FeeCurve;
use crate::mempool::{Accepted, Policy};
use crate::state::State;
use crate::store::{ChainStore, StoreError};
use crate::validation::Rejection;

/// Errors of [`Devnet`] operations.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// A transaction or block broke a rule.
    #[error("rejected: {0}")]
    Rejected(#[from] Rejection),
    /// A chain operation failed (unknown block, genesis).
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The chain log could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Most blocks one `generatetoaddress` call may ask for (the RPC refuses more).
pub const MAX_GENERATE: u32 = 10_000;
/// Longest a long [`Devnet::mine`] waits, between two blocks, for callers blocked on the lock.
const MAX_HANDOFF: Duration = Duration::from_millis(10);

/// How to start a [`Devnet`].
#[derive(Clone, Debug, Default)]
pub struct DevnetConfig {
    /// Directory for the chain log (`chain.dat`), locked for the chain's life (a second chain
    /// on it fails with [`StoreError::DataDirInUse`]; the lock goes with the last handle);
    /// `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
    /// Relay policy of the mempool.
    pub policy: Policy,
    /// Answers of `estimatesmartfee`.
    pub fee_curve: FeeCurve,
}

/// A handle to a running regtest chain; cheap to clone, usable from any thread.
#[derive(Clone, Debug)]
pub struct Devnet {
    state: Arc<Mutex<State>>,
    /// Callers blocked in [`lock`](Self::lock): a long `mine` lets them in between blocks.
    waiting: Arc<AtomicUsize>,
    started: Instant,
}

impl Devnet {
    /// Starts a chain: a fresh one in memory, or the one recorded in `config.data_dir`.
    pub fn new(config: DevnetConfig) -> Result<Self, DevnetError> {
        let store = match &config.data_dir {
            Some(dir) => Some(ChainStore::open(dir)?),
            None => None,
        };
        let state = State::new(config.policy, config.fee_curve, store);
        Ok(Devnet {
            state: Arc::new(Mutex::new(state)),
            waiting: Arc::default(),
            started: Instant::now(),
        })
    }

    /// A fresh in-memory chain with default policy and fee curve.
    pub fn in_memory() -> Self {
        let state = State::new(Policy::default(), FeeCurve::default(), None);
        Devnet {
            state: Arc::new(Mutex::new(state)),
            waiting: Arc::default(),
            started: Instant::now(),
        }
    }

    /// Locks the state for reading or for operations the handle does not offer. The lock is not
    /// reentrant: drop the guard before calling any other `Devnet` method (a temporary guard
    /// lives to the end of its statement). A panic while holding the lock cannot leave it
    /// half-updated in a way that matters for a test chain, so a poisoned lock is used as is.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let guard = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        guard
    }

    /// Between two blocks of a long [`mine`](Self::mine): lets callers waiting for the lock
    /// take it first, for at most [`MAX_HANDOFF`]. (A std mutex is not fair: released and
    /// taken again at once, it would keep them waiting for the whole run.)
    fn let_waiters_in(&self) {
        let deadline = Instant::now() + MAX_HANDOFF;
        while self.waiting.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            std::thread::yield_now();
        }
    }

    /// Seconds since this handle's chain was started.
    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// Height of the active tip.
    pub fn height(&self) -> u32 {
        self.lock().chain.height()
    }

    /// Hash of the active tip.
    pub fn tip(&self) -> BlockHash {
        self.lock().chain.tip_hash()
    }

    /// A known block by hash.
    pub fn block(&self, hash: &BlockHash) -> Option<Block> {
        self.lock().chain.entry(hash).map(|e| e.block.clone())
    }

    /// Mines `count` blocks paying `script`, each with the mempool's transactions. The lock is
    /// taken for one block at a time, so other calls (RPC reads, transactions, other miners)
    /// run between the blocks of a long run, as with Core's `generatetoaddress`.
    pub fn mine(&self, count: u32, script: &ScriptBuf) -> Result<Vec<BlockHash>, DevnetError> {
        let mut hashes = Vec::with_capacity(count.min(MAX_GENERATE) as usize);
        for i in 0..count {
            if i > 0 {
                self.let_waiters_in();
            }
            hashes.push(self.lock().mine_one(script, None)?);
        }
        Ok(hashes)
    }

    /// Mines one block holding exactly `txs` (after the coinbase), whether or not they are in
    /// the mempool; they must satisfy consensus rules (not policy).
    pub fn mine_block_with(
        &self,
        txs: Vec<Transaction>,
        script: &ScriptBuf,
    ) -> Result<BlockHash, DevnetError> {
        self.lock().mine_one(script, Some(txs))
    }

    /// Accepts a block built elsewhere (`submitblock`); it becomes the tip if its chain has the
    /// most work.
    pub fn submit_block(&self, block: Block) -> Result<(), DevnetError> {
        self.lock().submit_block(block)
    }

    /// Adds a transaction to the mempool (`sendrawtransaction` without the fee cap).
    pub fn send_transaction(&self, tx: &Transaction) -> Result<Txid, DevnetError> {
        Ok(self.lock().accept(tx)?.txid)
    }

    /// Checks a transaction as the mempool would, without adding it.
    pub fn test_transaction(&self, tx: &Transaction) -> Result<Accepted, Rejection> {
        self.lock().test_accept(tx)
    }

    /// `invalidateblock`: marks the block and its descendants invalid and reorganises.
    pub fn invalidate_block(&self, hash: &BlockHash) -> Result<(), DevnetError> {
        self.lock().invalidate(hash)
    }

    /// `reconsiderblock`: clears invalid marks and reorganises to the most-work chain.
    pub fn reconsider_block(&self, hash: &BlockHash) -> Result<(), DevnetError> {
        self.lock().reconsider(hash)
    }
}

/// `OP_TRUE` as a witness script.
pub fn op_true_witness_script() -> ScriptBuf {
    Builder::new().push_opcode(OP_TRUE).into_script()
}

/// P2WSH of `OP_TRUE`: an output anyone can spend with the witness `[OP_TRUE]`. The interval
/// miner pays its coinbases there unless told otherwise.
pub fn anyone_can_spend_script() -> ScriptBuf {
    ScriptBuf::new_p2wsh(&op_true_witness_script().wscript_hash())
}
