//! [`PostgresQuoteStore`]: the backend that several node workers share (its documentation
//! explains connections, sharing and durability).

use super::row::{self, from_i64, to_i64, QuoteRow, SCHEMA_VERSION};
use super::{decide, sum_msat, BoxFuture, InFlightHtlc, QuoteStore, Reservation, StoreError};
use crate::quote::{CircuitKey, StoredQuote};
use lnedge_storage::clock::unix_now;
use lnedge_storage::postgres::{
    retry, PgSchema, PgStoreError, Pool, PoolOptions, PooledConnection, Prepare, Retry, RetryError,
    DEFAULT_POOL_SIZE,
};
use rfq_wire::RfqId;
use tokio::sync::MappedMutexGuard;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, GenericClient, Statement};

/// The advisory lock taken while creating the schema ("lnedge" + 1).
const SCHEMA_LOCK: i64 = 0x6c6e_6564_6765_0001;

/// How many times a transaction that lost a deadlock or serialisation race is retried.
const MAX_ATTEMPTS: usize = 8;

const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS rfq_quotes (
    id BYTEA NOT NULL CONSTRAINT rfq_quotes_pkey PRIMARY KEY,
    scid BIGINT NOT NULL CONSTRAINT rfq_quotes_scid_key UNIQUE,
    peer BYTEA NOT NULL,
    kind SMALLINT NOT NULL,
    asset BYTEA NOT NULL,
    rate_coefficient BYTEA NOT NULL,
    rate_scale SMALLINT NOT NULL,
    expiry BIGINT NOT NULL,
    max_amount BIGINT NOT NULL,
    min_amount BIGINT,
    request BYTEA NOT NULL,
    accept BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS rfq_quotes_expiry ON rfq_quotes (expiry);
CREATE TABLE IF NOT EXISTS rfq_in_flight (
    channel BYTEA NOT NULL,
    htlc_id BIGINT NOT NULL,
    quote_id BYTEA NOT NULL REFERENCES rfq_quotes (id) ON DELETE CASCADE,
    msat BIGINT NOT NULL,
    CONSTRAINT rfq_in_flight_pkey PRIMARY KEY (channel, htlc_id)
);
CREATE INDEX IF NOT EXISTS rfq_in_flight_quote ON rfq_in_flight (quote_id);
CREATE TABLE IF NOT EXISTS rfq_seen_requests (
    peer BYTEA NOT NULL,
    id BYTEA NOT NULL,
    noted_at BIGINT NOT NULL,
    PRIMARY KEY (peer, id)
);
CREATE INDEX IF NOT EXISTS rfq_seen_requests_noted_at ON rfq_seen_requests (noted_at);
";

/// The tables, created on connect; the version is recorded in `rfq_store_meta`.
const SCHEMA: PgSchema<'static> = PgSchema {
    lock_key: SCHEMA_LOCK,
    meta_table: "rfq_store_meta",
    version: SCHEMA_VERSION,
    sql: SCHEMA_V1,
};

const QUOTE_COLUMNS: &str = "id, scid, peer, kind, asset, rate_coefficient, rate_scale, expiry, \
                             max_amount, min_amount, request, accept, created_at";

/// How a [`PostgresQuoteStore`] connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Connections the store keeps (at least 1).
    pub pool_size: usize,
    /// The schema to keep the tables in, created if missing; `None` uses the connection's
    /// default `search_path` (normally `public`). Lower-case ASCII letters, digits and `_`,
    /// not starting with a digit, at most 63 bytes.
    pub schema: Option<String>,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            pool_size: DEFAULT_POOL_SIZE,
            schema: None,
        }
    }
}

/// Quotes in a PostgreSQL database that several workers may share.
///
/// Connects without TLS (`NoTls`): use a loopback or otherwise protected network. Must be used
/// inside a tokio runtime, which drives its connections.
///
/// # Connections
///
/// A store keeps a small fixed pool of connections ([`PostgresOptions::pool_size`], default
/// 4), each behind an async mutex: an operation takes a free connection (or waits for one), so
/// a transaction has its connection to itself, while independent operations of one worker
/// still run in parallel on the server. A connection that the server closed is replaced on its
/// next use. Statements are prepared once per connection.
///
/// # Sharing one database
///
/// Every worker opens its own store on the same database (and, optionally, schema). Inserts,
/// removals and request-id notes are single statements, made safe by primary keys and
/// `ON CONFLICT`. [`QuoteStore::reserve_in_flight`] runs in a transaction that first locks the
/// quote's row with `SELECT … FOR UPDATE`, so reservations against one quote are serialised
/// across all workers while other quotes proceed; removing a quote locks the same row, and its
/// in-flight rows go with it (`ON DELETE CASCADE`). Deadlocks and serialisation failures are
/// retried.
///
/// # Durability
///
/// Each session sets `synchronous_commit = on`, so a write returns only once its commit is
/// flushed to the server's WAL (and to synchronous standbys, if any are configured), whatever
/// the database's default.
///
/// # Schema
///
/// Created on connect with `CREATE TABLE IF NOT EXISTS` under a transaction-scoped advisory
/// lock (so workers starting together do not race), and versioned in `rfq_store_meta`. `u64`
/// values are stored in `BIGINT` columns by bit-cast (see the [store module](crate::store)).
pub struct PostgresQuoteStore {
    pool: Pool<Statements>,
}

impl std::fmt::Debug for PostgresQuoteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresQuoteStore")
            .field("schema", &self.pool.schema())
            .field("pool_size", &self.pool.size())
            .finish_non_exhaustive()
    }
}

/// One pooled connection with its prepared statements.
type Conn = PooledConnection<Statements>;

/// The statements of every operation, prepared once per connection.
struct Statements {
    insert_quote: Statement,
    quote_by_id: Statement,
    quote_by_scid: Statement,
    all_quotes: Statement,
    delete_quote: Statement,
    note_request: Statement,
    lock_quote: Statement,
    circuit_msat: Statement,
    quote_msats: Statement,
    insert_in_flight: Statement,
    release: Statement,
    all_in_flight: Statement,
}

impl Prepare for Statements {
    async fn prepare(client: &Client) -> Result<Self, tokio_postgres::Error> {
        Ok(Statements {
            insert_quote: client
                .prepare(&format!(
                    "INSERT INTO rfq_quotes ({QUOTE_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                ))
                .await?,
            quote_by_id: client
                .prepare(&format!(
                    "SELECT {QUOTE_COLUMNS} FROM rfq_quotes WHERE id = $1"
                ))
                .await?,
            quote_by_scid: client
                .prepare(&format!(
                    "SELECT {QUOTE_COLUMNS} FROM rfq_quotes WHERE scid = $1"
                ))
                .await?,
            all_quotes: client
                .prepare(&format!("SELECT {QUOTE_COLUMNS} FROM rfq_quotes"))
                .await?,
            delete_quote: client
                .prepare("DELETE FROM rfq_quotes WHERE id = $1")
                .await?,
            note_request: client
                .prepare(
                    "INSERT INTO rfq_seen_requests (peer, id, noted_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (peer, id) DO NOTHING",
                )
                .await?,
            lock_quote: client
                .prepare("SELECT 1 FROM rfq_quotes WHERE id = $1 FOR UPDATE")
                .await?,
            circuit_msat: client
                .prepare("SELECT msat FROM rfq_in_flight WHERE channel = $1 AND htlc_id = $2")
                .await?,
            quote_msats: client
                .prepare("SELECT msat FROM rfq_in_flight WHERE quote_id = $1")
                .await?,
            insert_in_flight: client
                .prepare(
                    "INSERT INTO rfq_in_flight (channel, htlc_id, quote_id, msat) \
                     VALUES ($1, $2, $3, $4)",
                )
                .await?,
            release: client
                .prepare(
                    "DELETE FROM rfq_in_flight WHERE channel = $1 AND htlc_id = $2 RETURNING msat",
                )
                .await?,
            all_in_flight: client
                .prepare("SELECT channel, htlc_id, quote_id, msat FROM rfq_in_flight")
                .await?,
        })
    }
}

fn pg(e: tokio_postgres::Error) -> StoreError {
    StoreError::postgres(e)
}

fn retry_error(e: RetryError) -> StoreError {
    match e {
        RetryError::Exhausted { .. } => StoreError::Contended,
        RetryError::Failed(e) => pg(e),
    }
}

impl PostgresQuoteStore {
    /// Connects to `url` (`postgres://user@host:port/db`, or key=value form) with the default
    /// [`PostgresOptions`], creating the schema if needed.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PostgresOptions::default()).await
    }

    /// Connects to `url` with `options`, creating the schema (and the PostgreSQL schema named
    /// in `options`) if needed. Opens one connection now, the others on first use.
    pub async fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let options = PoolOptions::new(options.pool_size, options.schema);
        let pool = Pool::connect(url, options, &SCHEMA)
            .await
            .map_err(StoreError::from_pg)?;
        Ok(PostgresQuoteStore { pool })
    }

    /// Takes a connection: a free one if any, else waits for one; reconnects a closed one.
    async fn conn(&self) -> Result<MappedMutexGuard<'_, Conn>, StoreError> {
        self.pool.get().await.map_err(StoreError::from_pg)
    }
}

fn quote_row(r: &tokio_postgres::Row) -> Result<QuoteRow, StoreError> {
    let get = |i| -> Result<Vec<u8>, StoreError> { r.try_get(i).map_err(pg) };
    let int = |i| -> Result<i64, StoreError> { r.try_get(i).map_err(pg) };
    Ok(QuoteRow {
        id: get(0)?,
        scid: int(1)?,
        peer: get(2)?,
        kind: r.try_get(3).map_err(pg)?,
        asset: get(4)?,
        rate_coefficient: get(5)?,
        rate_scale: r.try_get(6).map_err(pg)?,
        expiry: int(7)?,
        max_amount: int(8)?,
        min_amount: r.try_get(9).map_err(pg)?,
        request: get(10)?,
        accept: get(11)?,
        created_at: int(12)?,
    })
}

async fn in_flight_msat(
    client: &impl GenericClient,
    st: &Statements,
    quote_id: &[u8],
) -> Result<u128, tokio_postgres::Error> {
    let rows = client.query(&st.quote_msats, &[&quote_id]).await?;
    let mut values = Vec::with_capacity(rows.len());
    for r in rows {
        values.push(from_i64(r.try_get(0)?));
    }
    Ok(sum_msat(values))
}

/// One attempt at a reservation; `Ok(None)` means "lost a race, run again".
async fn try_reserve(
    conn: &mut Conn,
    quote_id: &[u8],
    channel: &[u8],
    htlc_id: i64,
    msat: u64,
    max_msat: u64,
) -> Result<Option<Reservation>, tokio_postgres::Error> {
    let st = &conn.statements;
    let tx = conn.client.transaction().await?;
    if tx.query_opt(&st.lock_quote, &[&quote_id]).await?.is_none() {
        tx.rollback().await?;
        return Ok(Some(Reservation::UnknownQuote));
    }
    if let Some(row) = tx
        .query_opt(&st.circuit_msat, &[&channel, &htlc_id])
        .await?
    {
        let existing: i64 = row.try_get(0)?;
        tx.rollback().await?;
        return Ok(Some(Reservation::AlreadyReserved(from_i64(existing))));
    }
    let in_flight = in_flight_msat(&tx, st, quote_id).await?;
    let total_in_flight = match decide(in_flight, msat, max_msat) {
        Ok(total) => total,
        Err(refusal) => {
            tx.rollback().await?;
            return Ok(Some(refusal));
        }
    };
    let inserted = tx
        .execute(
            &st.insert_in_flight,
            &[&channel, &htlc_id, &quote_id, &to_i64(msat)],
        )
        .await;
    match inserted {
        Ok(_) => {}
        // The same circuit was reserved concurrently against another quote (whose row we do
        // not hold): run again and report it as already reserved.
        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
            tx.rollback().await?;
            return Ok(None);
        }
        Err(e) => return Err(e),
    }
    tx.commit().await?;
    Ok(Some(Reservation::Reserved { total_in_flight }))
}

impl QuoteStore for PostgresQuoteStore {
    fn insert_quote<'a>(&'a self, quote: &'a StoredQuote) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let row = QuoteRow::from_quote(quote);
            let conn = self.conn().await?;
            let result = conn
                .client
                .execute(
                    &conn.statements.insert_quote,
                    &[
                        &row.id,
                        &row.scid,
                        &row.peer,
                        &row.kind,
                        &row.asset,
                        &row.rate_coefficient,
                        &row.rate_scale,
                        &row.expiry,
                        &row.max_amount,
                        &row.min_amount,
                        &row.request,
                        &row.accept,
                        &row.created_at,
                    ],
                )
                .await;
            match result {
                Ok(_) => Ok(()),
                Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => {
                    match e.as_db_error().and_then(|d| d.constraint()) {
                        Some("rfq_quotes_pkey") => Err(StoreError::DuplicateId { id: quote.id }),
                        Some("rfq_quotes_scid_key") => {
                            Err(StoreError::DuplicateScid { scid: quote.scid() })
                        }
                        _ => Err(pg(e)),
                    }
                }
                Err(e) => Err(pg(e)),
            }
        })
    }

    fn get_quote(&self, id: RfqId) -> BoxFuture<'_, Result<Option<StoredQuote>, StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let row = conn
                .client
                .query_opt(&conn.statements.quote_by_id, &[&id.0.as_slice()])
                .await
                .map_err(pg)?;
            row.map(|r| quote_row(&r)?.into_quote()).transpose()
        })
    }

    fn get_quote_by_scid(
        &self,
        scid: u64,
    ) -> BoxFuture<'_, Result<Option<StoredQuote>, StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let row = conn
                .client
                .query_opt(&conn.statements.quote_by_scid, &[&to_i64(scid)])
                .await
                .map_err(pg)?;
            row.map(|r| quote_row(&r)?.into_quote()).transpose()
        })
    }

    fn list_quotes(&self) -> BoxFuture<'_, Result<Vec<StoredQuote>, StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let rows = conn
                .client
                .query(&conn.statements.all_quotes, &[])
                .await
                .map_err(pg)?;
            drop(conn);
            let mut quotes = rows
                .iter()
                .map(|r| quote_row(r)?.into_quote())
                .collect::<Result<Vec<_>, _>>()?;
            quotes.sort_by_key(|q| (q.created_at, q.id));
            Ok(quotes)
        })
    }

    fn remove_quote(&self, id: RfqId) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            // Its in-flight rows go by ON DELETE CASCADE.
            let removed = conn
                .client
                .execute(&conn.statements.delete_quote, &[&id.0.as_slice()])
                .await
                .map_err(pg)?;
            Ok(removed > 0)
        })
    }

    fn remove_expired(&self, now: u64) -> BoxFuture<'_, Result<Vec<RfqId>, StoreError>> {
        Box::pin(async move {
            let sql = format!(
                "DELETE FROM rfq_quotes WHERE {} RETURNING id",
                row::u64_below("expiry", "$1", now)
            );
            let conn = self.conn().await?;
            let now = to_i64(now);
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&now];
            let rows = retry(MAX_ATTEMPTS, || conn.client.query(&sql, &params))
                .await
                .map_err(retry_error)?;
            drop(conn);
            let mut ids = rows
                .iter()
                .map(|r| row::rfq_id("id", &r.try_get::<_, Vec<u8>>(0).map_err(pg)?))
                .collect::<Result<Vec<_>, _>>()?;
            ids.sort();
            Ok(ids)
        })
    }

    fn note_request_id(
        &self,
        peer: [u8; 33],
        id: RfqId,
    ) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let added = conn
                .client
                .execute(
                    &conn.statements.note_request,
                    &[&peer.as_slice(), &id.0.as_slice(), &to_i64(unix_now())],
                )
                .await
                .map_err(pg)?;
            Ok(added == 1)
        })
    }

    fn forget_request_ids(&self, noted_before: u64) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let sql = format!(
                "DELETE FROM rfq_seen_requests WHERE {}",
                row::u64_below("noted_at", "$1", noted_before)
            );
            let conn = self.conn().await?;
            conn.client
                .execute(&sql, &[&to_i64(noted_before)])
                .await
                .map_err(pg)
        })
    }

    fn reserve_in_flight(
        &self,
        quote_id: RfqId,
        circuit: CircuitKey,
        msat: u64,
        max_msat: u64,
    ) -> BoxFuture<'_, Result<Reservation, StoreError>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            let htlc_id = to_i64(circuit.htlc_id);
            let mut retry = Retry::new(MAX_ATTEMPTS);
            loop {
                let result = try_reserve(
                    &mut conn,
                    quote_id.0.as_slice(),
                    circuit.channel.as_slice(),
                    htlc_id,
                    msat,
                    max_msat,
                )
                .await;
                match result {
                    Ok(Some(reservation)) => return Ok(reservation),
                    Ok(None) => retry.lost_race().map_err(retry_error)?,
                    Err(e) => retry.failed(e).map_err(retry_error)?,
                }
            }
        })
    }

    fn release_in_flight(
        &self,
        circuit: CircuitKey,
    ) -> BoxFuture<'_, Result<Option<u64>, StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let row = conn
                .client
                .query_opt(
                    &conn.statements.release,
                    &[&circuit.channel.as_slice(), &to_i64(circuit.htlc_id)],
                )
                .await
                .map_err(pg)?;
            row.map(|r| r.try_get::<_, i64>(0).map(from_i64))
                .transpose()
                .map_err(pg)
        })
    }

    fn in_flight_total(&self, quote_id: RfqId) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let total = in_flight_msat(&conn.client, &conn.statements, quote_id.0.as_slice())
                .await
                .map_err(pg)?;
            Ok(u64::try_from(total).unwrap_or(u64::MAX))
        })
    }

    fn list_in_flight(&self) -> BoxFuture<'_, Result<Vec<InFlightHtlc>, StoreError>> {
        Box::pin(async move {
            let conn = self.conn().await?;
            let rows = conn
                .client
                .query(&conn.statements.all_in_flight, &[])
                .await
                .map_err(pg)?;
            drop(conn);
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let channel: Vec<u8> = r.try_get(0).map_err(pg)?;
                let quote_id: Vec<u8> = r.try_get(2).map_err(pg)?;
                out.push((
                    row::circuit(&channel, r.try_get(1).map_err(pg)?)?,
                    row::rfq_id("quote_id", &quote_id)?,
                    from_i64(r.try_get(3).map_err(pg)?),
                ));
            }
            out.sort();
            Ok(out)
        })
    }
}
