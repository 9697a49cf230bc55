//! [`SqliteQuoteStore`]: the embedded backend (its documentation explains durability, group
//! commit and sharing a file).

use super::row::{self, from_i64, to_i64, QuoteRow, SCHEMA_VERSION};
use super::{decide, sum_msat, BoxFuture, InFlightHtlc, QuoteStore, Reservation, StoreError};
use crate::quote::{CircuitKey, StoredQuote};
use lnedge_storage::clock::unix_now;
use lnedge_storage::sqlite::{self as db, Connections, SqliteStoreError};
use rfq_wire::RfqId;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::time::Duration;

/// The most writes one group commit takes.
const MAX_BATCH: usize = 512;

/// The name of the writer thread.
const WRITER_THREAD: &str = "lnedge-sqlite-writer";

const SCHEMA_V1: &str = "
CREATE TABLE rfq_quotes (
    id BLOB NOT NULL PRIMARY KEY,
    scid INTEGER NOT NULL UNIQUE,
    peer BLOB NOT NULL,
    kind INTEGER NOT NULL,
    asset BLOB NOT NULL,
    rate_coefficient BLOB NOT NULL,
    rate_scale INTEGER NOT NULL,
    expiry INTEGER NOT NULL,
    max_amount INTEGER NOT NULL,
    min_amount INTEGER,
    request BLOB NOT NULL,
    accept BLOB NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX rfq_quotes_expiry ON rfq_quotes (expiry);
CREATE TABLE rfq_in_flight (
    channel BLOB NOT NULL,
    htlc_id INTEGER NOT NULL,
    quote_id BLOB NOT NULL REFERENCES rfq_quotes (id) ON DELETE CASCADE,
    msat INTEGER NOT NULL,
    PRIMARY KEY (channel, htlc_id)
);
CREATE INDEX rfq_in_flight_quote ON rfq_in_flight (quote_id);
CREATE TABLE rfq_seen_requests (
    peer BLOB NOT NULL,
    id BLOB NOT NULL,
    noted_at INTEGER NOT NULL,
    PRIMARY KEY (peer, id)
);
CREATE INDEX rfq_seen_requests_noted_at ON rfq_seen_requests (noted_at);
";

/// `MIGRATIONS[i]` takes the schema from version `i` to `i + 1` (`PRAGMA user_version`).
const MIGRATIONS: [&str; 1] = [SCHEMA_V1];
const _: () = assert!(MIGRATIONS.len() as i64 == SCHEMA_VERSION);

const QUOTE_COLUMNS: &str = "id, scid, peer, kind, asset, rate_coefficient, rate_scale, expiry, \
                             max_amount, min_amount, request, accept, created_at";

/// Quotes in an SQLite database file (or in memory).
///
/// Dropping the store stops its writer thread once the writes already queued are done. Its
/// methods must be awaited inside a tokio runtime (reads run on its blocking pool).
///
/// # Durability and throughput
///
/// The file runs in WAL mode with `synchronous=FULL`: every commit syncs the WAL before it
/// returns, so a quote acknowledged to a peer survives a power loss, not only a crash of the
/// process. (`synchronous=NORMAL` with WAL syncs only at checkpoints: a commit can roll back
/// after a power loss, which would break persist-then-accept.)
///
/// One sync per commit caps a store that commits each write on its own at the disk's sync rate
/// (from a few hundred to tens of thousands per second, by disk). The store therefore funnels
/// writes through one writer thread that *group-commits*: it takes every write queued while
/// the previous commit was syncing and runs them in one `BEGIN IMMEDIATE` transaction, each
/// inside its own savepoint (a write that fails is rolled back alone), then commits once and
/// only then answers each caller. Concurrent writers share a sync; each caller still hears back
/// only after its write is durable.
///
/// Reads go to a second connection (WAL lets it read committed data while the writer works),
/// on tokio's blocking pool. An in-memory store has a single connection, so there reads queue
/// with the writes.
///
/// # Several stores on one file
///
/// Each store is one connection pair; stores opened on the same file (in one process or
/// several) exclude each other's write transactions with `BEGIN IMMEDIATE` and wait up to
/// [`SqliteQuoteStore::BUSY_TIMEOUT`] for the lock, so [`QuoteStore::reserve_in_flight`]
/// stays atomic across them.
///
/// # Schema
///
/// Created on open and versioned with `PRAGMA user_version` (currently 1); a file written by a
/// newer schema is refused with [`StoreError::SchemaTooNew`].
pub struct SqliteQuoteStore {
    db: Connections<StoreError>,
}

impl std::fmt::Debug for SqliteQuoteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteQuoteStore")
            .field("in_memory", &self.db.is_in_memory())
            .finish_non_exhaustive()
    }
}

impl SqliteQuoteStore {
    /// How long a write waits for another connection's write lock before failing.
    pub const BUSY_TIMEOUT: Duration = db::BUSY_TIMEOUT;

    /// Opens (creating if needed) the database file at `path`, switches it to WAL, and creates
    /// or checks the schema. Blocks for file I/O (and up to [`SqliteQuoteStore::BUSY_TIMEOUT`]
    /// if another connection holds the write lock); call it at startup or from a blocking task.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let db = Connections::open(path.as_ref(), &MIGRATIONS, WRITER_THREAD, MAX_BATCH)?;
        Ok(SqliteQuoteStore { db })
    }

    /// A private, non-durable database in memory (for tests and tools). Each call makes a new,
    /// empty one.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let db = Connections::open_in_memory(&MIGRATIONS, WRITER_THREAD, MAX_BATCH)?;
        Ok(SqliteQuoteStore { db })
    }
}

fn sql(e: rusqlite::Error) -> StoreError {
    StoreError::from_sqlite(e)
}

fn quote_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<QuoteRow> {
    Ok(QuoteRow {
        id: r.get(0)?,
        scid: r.get(1)?,
        peer: r.get(2)?,
        kind: r.get(3)?,
        asset: r.get(4)?,
        rate_coefficient: r.get(5)?,
        rate_scale: r.get(6)?,
        expiry: r.get(7)?,
        max_amount: r.get(8)?,
        min_amount: r.get(9)?,
        request: r.get(10)?,
        accept: r.get(11)?,
        created_at: r.get(12)?,
    })
}

fn one_quote(
    conn: &Connection,
    column: &str,
    key: &dyn rusqlite::ToSql,
) -> Result<Option<StoredQuote>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {QUOTE_COLUMNS} FROM rfq_quotes WHERE {column} = ?1"
    ))
    .and_then(|mut stmt| stmt.query_row([key], quote_row).optional())
    .map_err(sql)?
    .map(QuoteRow::into_quote)
    .transpose()
}

fn in_flight_msat(conn: &Connection, quote_id: &[u8]) -> Result<u128, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT msat FROM rfq_in_flight WHERE quote_id = ?1")
        .map_err(sql)?;
    let rows = stmt
        .query_map([quote_id], |r| r.get::<_, i64>(0))
        .map_err(sql)?;
    let mut values = Vec::new();
    for v in rows {
        values.push(from_i64(v.map_err(sql)?));
    }
    Ok(sum_msat(values))
}

impl QuoteStore for SqliteQuoteStore {
    fn insert_quote<'a>(&'a self, quote: &'a StoredQuote) -> BoxFuture<'a, Result<(), StoreError>> {
        let row = QuoteRow::from_quote(quote);
        let (id, scid) = (quote.id, quote.scid());
        Box::pin(self.db.write(move |conn| {
            let clash: Option<Vec<u8>> = conn
                .prepare_cached("SELECT id FROM rfq_quotes WHERE id = ?1 OR scid = ?2 LIMIT 1")
                .and_then(|mut s| {
                    s.query_row(params![row.id, row.scid], |r| r.get(0))
                        .optional()
                })
                .map_err(sql)?;
            match clash {
                Some(existing) if existing == row.id => return Err(StoreError::DuplicateId { id }),
                Some(_) => return Err(StoreError::DuplicateScid { scid }),
                None => {}
            }
            conn.prepare_cached(&format!(
                "INSERT INTO rfq_quotes ({QUOTE_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ))
            .and_then(|mut s| {
                s.execute(params![
                    row.id,
                    row.scid,
                    row.peer,
                    row.kind,
                    row.asset,
                    row.rate_coefficient,
                    row.rate_scale,
                    row.expiry,
                    row.max_amount,
                    row.min_amount,
                    row.request,
                    row.accept,
                    row.created_at
                ])
            })
            .map_err(sql)?;
            Ok(())
        }))
    }

    fn get_quote(&self, id: RfqId) -> BoxFuture<'_, Result<Option<StoredQuote>, StoreError>> {
        Box::pin(
            self.db
                .read_blocking(move |conn| one_quote(conn, "id", &id.0.as_slice())),
        )
    }

    fn get_quote_by_scid(
        &self,
        scid: u64,
    ) -> BoxFuture<'_, Result<Option<StoredQuote>, StoreError>> {
        Box::pin(
            self.db
                .read_blocking(move |conn| one_quote(conn, "scid", &to_i64(scid))),
        )
    }

    fn list_quotes(&self) -> BoxFuture<'_, Result<Vec<StoredQuote>, StoreError>> {
        Box::pin(self.db.read_blocking(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!("SELECT {QUOTE_COLUMNS} FROM rfq_quotes"))
                .map_err(sql)?;
            let rows = stmt.query_map([], quote_row).map_err(sql)?;
            let mut quotes = Vec::new();
            for row in rows {
                quotes.push(row.map_err(sql)?.into_quote()?);
            }
            quotes.sort_by_key(|q| (q.created_at, q.id));
            Ok(quotes)
        }))
    }

    fn remove_quote(&self, id: RfqId) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(self.db.write(move |conn| {
            conn.prepare_cached("DELETE FROM rfq_in_flight WHERE quote_id = ?1")
                .and_then(|mut s| s.execute([id.0.as_slice()]))
                .map_err(sql)?;
            let removed = conn
                .prepare_cached("DELETE FROM rfq_quotes WHERE id = ?1")
                .and_then(|mut s| s.execute([id.0.as_slice()]))
                .map_err(sql)?;
            Ok(removed > 0)
        }))
    }

    fn remove_expired(&self, now: u64) -> BoxFuture<'_, Result<Vec<RfqId>, StoreError>> {
        Box::pin(self.db.write(move |conn| {
            let expired = row::u64_below("expiry", "?1", now);
            conn.prepare_cached(&format!(
                "DELETE FROM rfq_in_flight WHERE quote_id IN \
                 (SELECT id FROM rfq_quotes WHERE {expired})"
            ))
            .and_then(|mut s| s.execute([to_i64(now)]))
            .map_err(sql)?;
            let mut stmt = conn
                .prepare_cached(&format!(
                    "DELETE FROM rfq_quotes WHERE {expired} RETURNING id"
                ))
                .map_err(sql)?;
            let rows = stmt
                .query_map([to_i64(now)], |r| r.get::<_, Vec<u8>>(0))
                .map_err(sql)?;
            let mut ids = Vec::new();
            for id in rows {
                ids.push(row::rfq_id("id", &id.map_err(sql)?)?);
            }
            ids.sort();
            Ok(ids)
        }))
    }

    fn note_request_id(
        &self,
        peer: [u8; 33],
        id: RfqId,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        let noted_at = to_i64(unix_now());
        Box::pin(self.db.write(move |conn| {
            let added = conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO rfq_seen_requests (peer, id, noted_at) \
                     VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut s| s.execute(params![peer.as_slice(), id.0.as_slice(), noted_at]))
                .map_err(sql)?;
            Ok(added == 1)
        }))
    }

    fn forget_request_ids(&self, noted_before: u64) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(self.db.write(move |conn| {
            let below = row::u64_below("noted_at", "?1", noted_before);
            let n = conn
                .prepare_cached(&format!("DELETE FROM rfq_seen_requests WHERE {below}"))
                .and_then(|mut s| s.execute([to_i64(noted_before)]))
                .map_err(sql)?;
            Ok(n as u64)
        }))
    }

    fn reserve_in_flight(
        &self,
        quote_id: RfqId,
        circuit: CircuitKey,
        msat: u64,
        max_msat: u64,
    ) -> BoxFuture<'_, Result<Reservation, StoreError>> {
        // Runs inside the writer's BEGIN IMMEDIATE transaction: no other connection can write
        // between the reads below and the insert.
        Box::pin(self.db.write(move |conn| {
            let known = conn
                .prepare_cached("SELECT 1 FROM rfq_quotes WHERE id = ?1")
                .and_then(|mut s| s.exists([quote_id.0.as_slice()]))
                .map_err(sql)?;
            if !known {
                return Ok(Reservation::UnknownQuote);
            }
            let existing = circuit_msat(
                conn,
                "SELECT msat FROM rfq_in_flight WHERE channel = ?1 AND htlc_id = ?2",
                circuit,
            )?;
            if let Some(existing) = existing {
                return Ok(Reservation::AlreadyReserved(existing));
            }
            let in_flight = in_flight_msat(conn, &quote_id.0)?;
            let total_in_flight = match decide(in_flight, msat, max_msat) {
                Ok(total) => total,
                Err(refusal) => return Ok(refusal),
            };
            conn.prepare_cached(
                "INSERT INTO rfq_in_flight (channel, htlc_id, quote_id, msat) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    circuit.channel.as_slice(),
                    to_i64(circuit.htlc_id),
                    quote_id.0.as_slice(),
                    to_i64(msat)
                ])
            })
            .map_err(sql)?;
            Ok(Reservation::Reserved { total_in_flight })
        }))
    }

    fn release_in_flight(
        &self,
        circuit: CircuitKey,
    ) -> BoxFuture<'_, Result<Option<u64>, StoreError>> {
        Box::pin(self.db.write(move |conn| {
            circuit_msat(
                conn,
                "DELETE FROM rfq_in_flight WHERE channel = ?1 AND htlc_id = ?2 RETURNING msat",
                circuit,
            )
        }))
    }

    fn in_flight_total(&self, quote_id: RfqId) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(self.db.read_blocking(move |conn| {
            let total = in_flight_msat(conn, &quote_id.0)?;
            Ok(u64::try_from(total).unwrap_or(u64::MAX))
        }))
    }

    fn list_in_flight(&self) -> BoxFuture<'_, Result<Vec<InFlightHtlc>, StoreError>> {
        Box::pin(self.db.read_blocking(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT channel, htlc_id, quote_id, msat FROM rfq_in_flight")
                .map_err(sql)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })
                .map_err(sql)?;
            let mut out = Vec::new();
            for r in rows {
                let (channel, htlc_id, quote_id, msat) = r.map_err(sql)?;
                out.push((
                    row::circuit(&channel, htlc_id)?,
                    row::rfq_id("quote_id", &quote_id)?,
                    from_i64(msat),
                ));
            }
            out.sort();
            Ok(out)
        }))
    }
}

/// Runs `statement` (which selects or returns `msat` for `?1` channel, `?2` htlc id) for one
/// circuit: the circuit's msat, or `None` when it holds no reservation.
fn circuit_msat(
    conn: &Connection,
    statement: &str,
    circuit: CircuitKey,
) -> Result<Option<u64>, StoreError> {
    conn.prepare_cached(statement)
        .and_then(|mut s| {
            s.query_row(
                params![circuit.channel.as_slice(), to_i64(circuit.htlc_id)],
                |r| r.get::<_, i64>(0),
            )
            .optional()
        })
        .map(|msat| msat.map(from_i64))
        .map_err(sql)
}
