//! Durable state in SQLite ([`ReceiverStore`]): schedules ([`Schedule`]), their channels,
//! inputs seen in originals (so a replay after a restart is still refused) and outcomes.

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};

use bitcoin::secp256k1::PublicKey;
use bitcoin::{Address, Amount, OutPoint, Script, ScriptBuf, Txid};
use lnedge_storage::sqlite::{self as db, Role};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::StoreError;
use crate::opener::{ChannelRequest, PendingChannel};
use crate::types::{AbandonReason, ScheduleId, ScheduleState, StateKind};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    address TEXT NOT NULL,
    script BLOB NOT NULL,
    amount_sat INTEGER NOT NULL,
    fee_margin_sat INTEGER NOT NULL,
    uri TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    payjoin_txid TEXT,
    original_txid TEXT
);
CREATE INDEX IF NOT EXISTS schedules_script ON schedules(script);
CREATE TABLE IF NOT EXISTS schedule_channels (
    schedule_id INTEGER NOT NULL REFERENCES schedules(id),
    idx INTEGER NOT NULL,
    peer BLOB NOT NULL,
    amount_sat INTEGER NOT NULL,
    push_msat INTEGER NOT NULL,
    announce INTEGER NOT NULL,
    PRIMARY KEY (schedule_id, idx)
);
CREATE TABLE IF NOT EXISTS pending_channels (
    schedule_id INTEGER NOT NULL REFERENCES schedules(id),
    opener_id TEXT NOT NULL,
    peer BLOB NOT NULL,
    amount_sat INTEGER NOT NULL,
    funding_script BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS seen_inputs (
    outpoint TEXT PRIMARY KEY,
    first_seen INTEGER NOT NULL
);
";

/// A stored schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Its id.
    pub id: ScheduleId,
    /// The address the payer pays (its output becomes the funding outputs).
    pub address: Address,
    /// Amount asked in the URI: channels plus fee margin.
    pub amount: Amount,
    /// The part of `amount` that pays the extra fee and becomes change.
    pub fee_margin: Amount,
    /// The BIP 21 URI handed out.
    pub uri: String,
    /// Creation time (unix seconds).
    pub created_at: u64,
    /// Expiry (unix seconds); after it an original paying the address gets a plain payjoin.
    pub expires_at: u64,
    /// The channels.
    pub channels: Vec<ChannelRequest>,
    /// State.
    pub state: ScheduleState,
    /// Txid of the funding (payjoin) transaction, once proposed.
    pub payjoin_txid: Option<Txid>,
    /// Txid of the payer's original, once an original arrived.
    pub original_txid: Option<Txid>,
}

impl Schedule {
    /// Sum of the channel amounts.
    pub fn channels_total(&self) -> Amount {
        self.channels.iter().map(|c| c.amount).sum()
    }
}

/// The receiver's durable state. Cheap to clone (shared connections).
///
/// A file store (see [`ReceiverStore::open`]) has a writer connection and a read-only one, so
/// that reads never wait for a write's sync. Every method blocks: a write syncs the file
/// (`synchronous=FULL`) before it returns. The receiver runs the writes it makes from async
/// code on tokio's blocking pool.
#[derive(Clone)]
pub struct ReceiverStore {
    conn: Arc<Mutex<Connection>>,
    /// The read-only connection of a file store; `None` in memory (reads use `conn`).
    reader: Option<Arc<Mutex<Connection>>>,
}

impl std::fmt::Debug for ReceiverStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReceiverStore").finish_non_exhaustive()
    }
}

/// What [`ReceiverStore::insert_schedule`] stores.
pub(crate) struct NewSchedule<'a> {
    pub address: &'a Address,
    pub amount: Amount,
    pub fee_margin: Amount,
    pub uri: &'a str,
    pub created_at: u64,
    pub expires_at: u64,
    pub channels: &'a [ChannelRequest],
}

fn sat(v: i64, table: &'static str) -> Result<Amount, StoreError> {
    u64::try_from(v)
        .map(Amount::from_sat)
        .map_err(|_| StoreError::Corrupt {
            table,
            what: "amount",
        })
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl ReceiverStore {
    /// Opens (or creates) the database at `path`, with lnedge's SQLite settings
    /// (`lnedge_storage::sqlite::open`: WAL, `synchronous=FULL`, busy timeout, foreign keys),
    /// and creates the tables if they are missing.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let conn = db::open(path, Role::Writer)?;
        conn.execute_batch(SCHEMA)?;
        let reader = db::open(path, Role::Reader)?;
        Ok(Self::with(conn, Some(reader)))
    }

    /// A private in-memory database (tests, benches).
    pub fn in_memory() -> Result<Self, StoreError> {
        let conn = db::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self::with(conn, None))
    }

    fn with(conn: Connection, reader: Option<Connection>) -> Self {
        Self {
            conn: Arc::new(Mutex::new(conn)),
            reader: reader.map(|r| Arc::new(Mutex::new(r))),
        }
    }

    /// The connection for writes.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        lock(&self.conn)
    }

    /// The connection for reads: the read-only one of a file store.
    fn reader(&self) -> MutexGuard<'_, Connection> {
        lock(self.reader.as_ref().unwrap_or(&self.conn))
    }

    /// Runs `work` (store calls that block; a write syncs the file) on tokio's blocking pool,
    /// so that it never holds up an async worker.
    pub(crate) async fn blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&ReceiverStore) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || work(&store)).await?
    }

    pub(crate) fn insert_schedule(&self, new: &NewSchedule<'_>) -> Result<ScheduleId, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO schedules (address, script, amount_sat, fee_margin_sat, uri, created_at, \
             expires_at, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                new.address.to_string(),
                new.address.script_pubkey().as_bytes(),
                to_i64(new.amount.to_sat()),
                to_i64(new.fee_margin.to_sat()),
                new.uri,
                to_i64(new.created_at),
                to_i64(new.expires_at),
                StateKind::Open.as_str(),
            ],
        )?;
        let id = tx.last_insert_rowid();
        for (idx, c) in new.channels.iter().enumerate() {
            tx.execute(
                "INSERT INTO schedule_channels (schedule_id, idx, peer, amount_sat, push_msat, \
                 announce) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id,
                    to_i64(idx as u64),
                    c.peer.serialize().as_slice(),
                    to_i64(c.amount.to_sat()),
                    to_i64(c.push_msat),
                    c.announce,
                ],
            )?;
        }
        tx.commit()?;
        Ok(ScheduleId(id))
    }

    /// The schedule `id`, if it exists.
    pub fn schedule(&self, id: ScheduleId) -> Result<Option<Schedule>, StoreError> {
        let conn = self.reader();
        let row = conn
            .query_row(
                "SELECT id, address, amount_sat, fee_margin_sat, uri, created_at, expires_at, \
                 state, reason, payjoin_txid, original_txid FROM schedules WHERE id = ?1",
                params![id.0],
                raw_schedule,
            )
            .optional()?;
        match row {
            Some(raw) => Ok(Some(load_schedule(&conn, raw)?)),
            None => Ok(None),
        }
    }

    /// All schedules, oldest first.
    pub fn schedules(&self) -> Result<Vec<Schedule>, StoreError> {
        let conn = self.reader();
        let raws = {
            let mut stmt = conn.prepare(
                "SELECT id, address, amount_sat, fee_margin_sat, uri, created_at, expires_at, \
                 state, reason, payjoin_txid, original_txid FROM schedules ORDER BY id",
            )?;
            let rows = stmt.query_map([], raw_schedule)?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        raws.into_iter()
            .map(|raw| load_schedule(&conn, raw))
            .collect()
    }

    /// The open, unexpired schedule paying to `script`, if any.
    pub(crate) fn open_schedule_for_script(
        &self,
        script: &Script,
        now: u64,
    ) -> Result<Option<ScheduleId>, StoreError> {
        // Asked for every output of every original: a cached prepared statement.
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM schedules WHERE script = ?1 AND state = ?2 AND expires_at > ?3 \
             ORDER BY id LIMIT 1",
        )?;
        let open = StateKind::Open.as_str();
        Ok(stmt
            .query_row(params![script.as_bytes(), open, to_i64(now)], |row| {
                row.get::<_, i64>(0)
            })
            .optional()?
            .map(ScheduleId))
    }

    /// Moves `id` from `from` to `to` if it is in `from`; returns whether it moved. This is the
    /// exactly-once primitive: of concurrent callers, one wins.
    pub(crate) fn transition(
        &self,
        id: ScheduleId,
        from: StateKind,
        to: ScheduleState,
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "UPDATE schedules SET state = ?1, reason = ?2 WHERE id = ?3 AND state = ?4",
            params![
                to.kind().as_str(),
                to.reason().map(AbandonReason::as_str),
                id.0,
                from.as_str()
            ],
        )?;
        Ok(n == 1)
    }

    pub(crate) fn save_pending_channels(
        &self,
        id: ScheduleId,
        channels: &[PendingChannel],
    ) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM pending_channels WHERE schedule_id = ?1",
            params![id.0],
        )?;
        for c in channels {
            tx.execute(
                "INSERT INTO pending_channels (schedule_id, opener_id, peer, amount_sat, \
                 funding_script) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    id.0,
                    c.id,
                    c.peer.serialize().as_slice(),
                    to_i64(c.amount.to_sat()),
                    c.funding_script.as_bytes(),
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The channels the peers accepted for schedule `id` (empty before they did).
    pub fn pending_channels(&self, id: ScheduleId) -> Result<Vec<PendingChannel>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT opener_id, peer, amount_sat, funding_script FROM pending_channels \
             WHERE schedule_id = ?1 ORDER BY rowid",
        )?;
        let rows = stmt.query_map(params![id.0], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Vec<u8>>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, Vec<u8>>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (opener_id, peer, amount, script) = row?;
            out.push(PendingChannel {
                id: opener_id,
                peer: PublicKey::from_slice(&peer).map_err(|_| StoreError::Corrupt {
                    table: "pending_channels",
                    what: "peer",
                })?,
                amount: sat(amount, "pending_channels")?,
                funding_script: ScriptBuf::from_bytes(script),
            });
        }
        Ok(out)
    }

    /// Records the inputs of an original and tells, for each, whether it had been seen before.
    /// Atomic per outpoint: of two concurrent originals spending the same coin, the second sees it.
    pub fn mark_inputs_seen(
        &self,
        outpoints: &[OutPoint],
        now: u64,
    ) -> Result<Vec<bool>, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut seen = Vec::with_capacity(outpoints.len());
        {
            // Once per original: a cached prepared statement.
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO seen_inputs (outpoint, first_seen) VALUES (?1, ?2)",
            )?;
            for op in outpoints {
                let n = insert.execute(params![op.to_string(), to_i64(now)])?;
                seen.push(n == 0);
            }
        }
        tx.commit()?;
        Ok(seen)
    }
}

type RawSchedule = (
    i64,
    String,
    i64,
    i64,
    String,
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn raw_schedule(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawSchedule> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        row.get(10)?,
    ))
}

fn parse_txid(s: Option<String>) -> Result<Option<Txid>, StoreError> {
    s.map(|s| {
        Txid::from_str(&s).map_err(|_| StoreError::Corrupt {
            table: "schedules",
            what: "txid",
        })
    })
    .transpose()
}

fn load_schedule(conn: &Connection, raw: RawSchedule) -> Result<Schedule, StoreError> {
    let (id, address, amount, margin, uri, created, expires, state, reason, pj, orig) = raw;
    let corrupt = |what| StoreError::Corrupt {
        table: "schedules",
        what,
    };
    let address = Address::from_str(&address)
        .map_err(|_| corrupt("address"))?
        .assume_checked();
    let payjoin_txid = parse_txid(pj)?;
    let original_txid = parse_txid(orig)?;
    let kind: StateKind = state.parse()?;
    let reason = reason.as_deref().map(AbandonReason::from_str).transpose()?;
    let state = ScheduleState::from_parts(kind, reason).ok_or(corrupt("reason"))?;
    let mut stmt = conn.prepare(
        "SELECT peer, amount_sat, push_msat, announce FROM schedule_channels \
         WHERE schedule_id = ?1 ORDER BY idx",
    )?;
    let rows = stmt.query_map(params![id], |row| {
        Ok((
            row.get::<_, Vec<u8>>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, i64>(2)?,
            row.get::<_, bool>(3)?,
        ))
    })?;
    let mut channels = Vec::new();
    for row in rows {
        let (peer, amount, push, announce) = row?;
        channels.push(ChannelRequest {
            peer: PublicKey::from_slice(&peer).map_err(|_| StoreError::Corrupt {
                table: "schedule_channels",
                what: "peer",
            })?,
            amount: sat(amount, "schedule_channels")?,
            push_msat: u64::try_from(push).map_err(|_| StoreError::Corrupt {
                table: "schedule_channels",
                what: "push_msat",
            })?,
            announce,
        });
    }
    Ok(Schedule {
        id: ScheduleId(id),
        address,
        amount: sat(amount, "schedules")?,
        fee_margin: sat(margin, "schedules")?,
        uri,
        created_at: u64::try_from(created).map_err(|_| corrupt("created_at"))?,
        expires_at: u64::try_from(expires).map_err(|_| corrupt("expires_at"))?,
        channels,
        state,
        payjoin_txid,
        original_txid,
    })
}

impl ReceiverStore {
    /// Records the txids of a channel proposal (the payjoin's once known).
    pub(crate) fn set_txids(
        &self,
        id: ScheduleId,
        payjoin_txid: Option<Txid>,
        original_txid: Txid,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE schedules SET payjoin_txid = COALESCE(?1, payjoin_txid), original_txid = ?2 \
             WHERE id = ?3",
            params![
                payjoin_txid.map(|t| t.to_string()),
                original_txid.to_string(),
                id.0
            ],
        )?;
        Ok(())
    }
}

/// Locks a connection. A panic while holding the lock cannot leave SQLite inconsistent (each
/// statement or transaction is atomic), so a poisoned lock is still usable.
fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::UnknownValue;
    use bitcoin::hashes::Hash;
    use bitcoin::secp256k1::{Secp256k1, SecretKey};
    use bitcoin::Network;

    fn outpoint(i: u8) -> OutPoint {
        OutPoint {
            txid: Txid::from_byte_array([i; 32]),
            vout: u32::from(i),
        }
    }

    fn new_schedule(store: &ReceiverStore, i: u8) -> ScheduleId {
        let secp = Secp256k1::new();
        let sk = SecretKey::from_slice(&[i; 32]).unwrap();
        let pk = PublicKey::from_secret_key(&secp, &sk);
        let address = Address::p2wpkh(&bitcoin::CompressedPublicKey(pk), Network::Regtest);
        let channels = [ChannelRequest {
            peer: pk,
            amount: Amount::from_sat(100_000),
            push_msat: 0,
            announce: false,
        }];
        store
            .insert_schedule(&NewSchedule {
                address: &address,
                amount: Amount::from_sat(101_000),
                fee_margin: Amount::from_sat(1_000),
                uri: "bitcoin:x",
                created_at: 1,
                expires_at: u64::from(u32::MAX),
                channels: &channels,
            })
            .unwrap()
    }

    #[test]
    fn transitions_are_conditional_and_read_back_typed() {
        let dir = tempfile::tempdir().unwrap();
        let store = ReceiverStore::open(dir.path().join("s.sqlite")).unwrap();
        let id = new_schedule(&store, 1);
        let state = |store: &ReceiverStore| store.schedule(id).unwrap().unwrap().state;
        assert_eq!(state(&store), ScheduleState::Open);
        assert!(!store
            .transition(id, StateKind::Claimed, ScheduleState::Proposed)
            .unwrap());
        assert!(store
            .transition(id, StateKind::Open, ScheduleState::Claimed)
            .unwrap());
        // The read-only connection sees the committed write.
        assert_eq!(state(&store), ScheduleState::Claimed);
        let fell_back = ScheduleState::FellBack(AbandonReason::FundingSignatureFailed);
        assert!(store.transition(id, StateKind::Claimed, fell_back).unwrap());
        assert_eq!(state(&store), fell_back);
        let (column, reason): (String, Option<String>) = store
            .conn()
            .query_row(
                "SELECT state, reason FROM schedules WHERE id = ?1",
                [id.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            (column.as_str(), reason.as_deref()),
            ("fell-back", Some("funding-signature-failed"))
        );
    }

    #[test]
    fn unknown_stored_values_are_typed_errors() {
        let store = ReceiverStore::in_memory().unwrap();
        let id = new_schedule(&store, 2);
        let set = |state: &str, reason: Option<&str>| {
            store
                .conn()
                .execute(
                    "UPDATE schedules SET state = ?1, reason = ?2 WHERE id = ?3",
                    params![state, reason, id.0],
                )
                .unwrap();
        };
        set("frozen", None);
        assert!(matches!(
            store.schedule(id),
            Err(StoreError::UnknownValue(UnknownValue { what: "schedule state", ref value }))
                if value == "frozen"
        ));
        set("abandoned", Some("bored"));
        assert!(matches!(
            store.schedules(),
            Err(StoreError::UnknownValue(UnknownValue { what: "abandon reason", ref value }))
                if value == "bored"
        ));
        set("abandoned", None);
        assert!(matches!(
            store.schedule(id),
            Err(StoreError::Corrupt {
                table: "schedules",
                what: "reason"
            })
        ));
        set("abandoned", Some("timeout"));
        assert_eq!(
            store.schedule(id).unwrap().unwrap().state,
            ScheduleState::Abandoned(AbandonReason::Timeout)
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn blocking_calls_run_on_the_blocking_pool() {
        let dir = tempfile::tempdir().unwrap();
        let store = ReceiverStore::open(dir.path().join("s.sqlite")).unwrap();
        let worker = std::thread::current().id();
        let (thread, seen) = store
            .blocking(move |store| {
                let seen = store.mark_inputs_seen(&[outpoint(7)], 1)?;
                Ok((std::thread::current().id(), seen))
            })
            .await
            .unwrap();
        assert_ne!(thread, worker);
        assert_eq!(seen, [false]);
    }

    #[test]
    fn inputs_are_seen_once_and_durably() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        let store = ReceiverStore::open(&path).unwrap();
        assert_eq!(
            store
                .mark_inputs_seen(&[outpoint(1), outpoint(2)], 1)
                .unwrap(),
            [false, false]
        );
        assert_eq!(
            store
                .mark_inputs_seen(&[outpoint(2), outpoint(3)], 2)
                .unwrap(),
            [true, false]
        );
        drop(store);
        let reopened = ReceiverStore::open(&path).unwrap();
        assert_eq!(
            reopened.mark_inputs_seen(&[outpoint(1)], 3).unwrap(),
            [true]
        );
    }
}
