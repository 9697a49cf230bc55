//! Durable state in SQLite ([`ReceiverStore`]): schedules, their channels, inputs seen in
//! originals (so a replay after a restart is still refused) and outcomes.

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};

use bitcoin::secp256k1::PublicKey;
use bitcoin::{Address, Amount, OutPoint, Script, ScriptBuf, Txid};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::StoreError;
use crate::events::AbandonReason;
use crate::opener::{ChannelRequest, PendingChannel};
use crate::scheduler::{Schedule, ScheduleId, ScheduleState};

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

/// The receiver's durable state. Cheap to clone (one shared connection).
#[derive(Clone)]
pub struct ReceiverStore {
    conn: Arc<Mutex<Connection>>,
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
    /// Opens (or creates) the database at `path` (WAL mode).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Self::init(conn)
    }

    /// A private in-memory database (tests, benches).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (each statement is
        // atomic), so a poisoned lock is still usable.
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn insert_schedule(&self, new: &NewSchedule<'_>) -> Result<ScheduleId, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO schedules (address, script, amount_sat, fee_margin_sat, uri, created_at, \
             expires_at, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open')",
            params![
                new.address.to_string(),
                new.address.script_pubkey().as_bytes(),
                to_i64(new.amount.to_sat()),
                to_i64(new.fee_margin.to_sat()),
                new.uri,
                to_i64(new.created_at),
                to_i64(new.expires_at),
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
        let conn = self.conn();
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
        let conn = self.conn();
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
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM schedules WHERE script = ?1 AND state = 'open' AND expires_at > ?2 \
             ORDER BY id LIMIT 1",
        )?;
        Ok(stmt
            .query_row(params![script.as_bytes(), to_i64(now)], |row| {
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
        from: &str,
        to: &ScheduleState,
    ) -> Result<bool, StoreError> {
        let (state, reason, payjoin, original) = state_columns(to);
        let n = self.conn().execute(
            "UPDATE schedules SET state = ?1, reason = ?2, \
             payjoin_txid = COALESCE(?3, payjoin_txid), \
             original_txid = COALESCE(?4, original_txid) WHERE id = ?5 AND state = ?6",
            params![state, reason, payjoin, original, id.0, from],
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
        let conn = self.conn();
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
    let reason = reason.as_deref().and_then(AbandonReason::parse);
    let state = match (state.as_str(), reason) {
        ("open", _) => ScheduleState::Open,
        ("claimed", _) => ScheduleState::Claimed,
        ("proposed", _) => ScheduleState::Proposed,
        ("funded", _) => ScheduleState::Funded,
        ("fell-back", Some(r)) => ScheduleState::FellBack(r),
        ("abandoned", Some(r)) => ScheduleState::Abandoned(r),
        ("cancelled", _) => ScheduleState::Cancelled,
        _ => return Err(corrupt("state")),
    };
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

type StateColumns = (
    &'static str,
    Option<&'static str>,
    Option<String>,
    Option<String>,
);

fn state_columns(state: &ScheduleState) -> StateColumns {
    match state {
        ScheduleState::Open => ("open", None, None, None),
        ScheduleState::Claimed => ("claimed", None, None, None),
        ScheduleState::Proposed => ("proposed", None, None, None),
        ScheduleState::Funded => ("funded", None, None, None),
        ScheduleState::FellBack(r) => ("fell-back", Some(r.as_str()), None, None),
        ScheduleState::Abandoned(r) => ("abandoned", Some(r.as_str()), None, None),
        ScheduleState::Cancelled => ("cancelled", None, None, None),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;

    fn outpoint(i: u8) -> OutPoint {
        OutPoint {
            txid: Txid::from_byte_array([i; 32]),
            vout: u32::from(i),
        }
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
