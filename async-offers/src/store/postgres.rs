//! [`PostgresStaticInvoiceStore`]: the backend several server nodes share.

use super::{
    check_recipient_id, to_i64, BoxFuture, InvoiceRow, Persisted, Recipient, RecipientRow,
    StaticInvoiceStore, StoreError, StoreLimits, StoredInvoice, StoredInvoiceBytes,
};
use lnedge_storage::postgres::{
    PgSchema, PgStoreError, Pool, PoolOptions, PooledConnection, Prepare, DEFAULT_POOL_SIZE,
};
use tokio::sync::MappedMutexGuard;
use tokio_postgres::{Client, Row, Statement, Transaction};

/// The schema version this build writes.
const SCHEMA_VERSION: i64 = 1;

/// The advisory lock taken while creating the schema ("lnedge" + 5).
const SCHEMA_LOCK: i64 = 0x6c6e_6564_6765_0005;

const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS ao_recipients (
    id BYTEA NOT NULL PRIMARY KEY,
    label TEXT NOT NULL,
    slot_quota INTEGER,
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    registered_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS ao_invoices (
    recipient_id BYTEA NOT NULL REFERENCES ao_recipients (id) ON DELETE CASCADE,
    slot INTEGER NOT NULL,
    invoice BYTEA NOT NULL,
    request_path BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (recipient_id, slot)
);
CREATE INDEX IF NOT EXISTS ao_invoices_expires_at ON ao_invoices (expires_at);
";

/// The tables, created on connect; the version is recorded in `ao_store_meta`.
const SCHEMA: PgSchema<'static> = PgSchema {
    lock_key: SCHEMA_LOCK,
    meta_table: "ao_store_meta",
    version: SCHEMA_VERSION,
    sql: SCHEMA_V1,
};

const INVOICE_COLUMNS: &str = "recipient_id, slot, invoice, request_path, created_at, expires_at";
const RECIPIENT_COLUMNS: &str = "id, label, slot_quota, revoked, registered_at";

/// How a [`PostgresStaticInvoiceStore`] connects and what it enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// Connections the store keeps (at least 1).
    pub pool_size: usize,
    /// The PostgreSQL schema for the tables, created if missing; `None` uses the connection's
    /// `search_path`. Lower-case ASCII letters, digits and `_`, not starting with a digit, at
    /// most 63 bytes.
    pub schema: Option<String>,
    /// Quotas.
    pub limits: StoreLimits,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            pool_size: DEFAULT_POOL_SIZE,
            schema: None,
            limits: StoreLimits::default(),
        }
    }
}

/// Static invoices and recipients in a PostgreSQL database that several server nodes share.
///
/// Connects without TLS: use loopback or a protected network. Must be used inside a tokio
/// runtime, which drives its connections.
///
/// # Sharing one database
///
/// Every node opens its own store on the same database (and schema) and sees the others'
/// writes at once. A persist, a revocation and a removal each run in one transaction that first
/// locks the recipient's row (`SELECT … FOR UPDATE`), so slot quotas hold across nodes and a
/// revoked recipient can never get an invoice back in. Registration takes a transaction-scoped
/// advisory lock so the recipient limit holds too.
///
/// # Durability
///
/// Sessions set `synchronous_commit = on`: a write returns once its commit is flushed.
///
/// # Connections
///
/// A fixed pool of [`PostgresOptions::pool_size`] connections, each behind an async mutex; a
/// connection the server closed is replaced on its next use.
pub struct PostgresStaticInvoiceStore {
    pool: Pool<Statements>,
    limits: StoreLimits,
}

impl std::fmt::Debug for PostgresStaticInvoiceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStaticInvoiceStore")
            .field("schema", &self.pool.schema())
            .field("pool_size", &self.pool.size())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// One pooled connection with its prepared statements.
type Conn = PooledConnection<Statements>;

/// The statements of the hot paths, prepared once per connection.
struct Statements {
    get_invoice: Statement,
    get_recipient: Statement,
    lock_recipient: Statement,
    slot_exists: Statement,
    count_slots: Statement,
    upsert_invoice: Statement,
}

impl Prepare for Statements {
    async fn prepare(client: &Client) -> Result<Self, tokio_postgres::Error> {
        Ok(Statements {
            get_invoice: client
                .prepare(&format!(
                    "SELECT {INVOICE_COLUMNS} FROM ao_invoices \
                     WHERE recipient_id = $1 AND slot = $2"
                ))
                .await?,
            get_recipient: client
                .prepare(&format!(
                    "SELECT {RECIPIENT_COLUMNS} FROM ao_recipients WHERE id = $1"
                ))
                .await?,
            lock_recipient: client
                .prepare(&format!(
                    "SELECT {RECIPIENT_COLUMNS} FROM ao_recipients WHERE id = $1 FOR UPDATE"
                ))
                .await?,
            slot_exists: client
                .prepare("SELECT 1 FROM ao_invoices WHERE recipient_id = $1 AND slot = $2")
                .await?,
            count_slots: client
                .prepare("SELECT COUNT(*) FROM ao_invoices WHERE recipient_id = $1")
                .await?,
            upsert_invoice: client
                .prepare(&format!(
                    "INSERT INTO ao_invoices ({INVOICE_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (recipient_id, slot) DO UPDATE SET \
                     invoice = EXCLUDED.invoice, request_path = EXCLUDED.request_path, \
                     created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at"
                ))
                .await?,
        })
    }
}

fn pg(e: tokio_postgres::Error) -> StoreError {
    StoreError::postgres(e)
}

fn invoice_row(r: &Row) -> Result<InvoiceRow, StoreError> {
    Ok(InvoiceRow {
        recipient_id: r.try_get(0).map_err(pg)?,
        slot: i64::from(r.try_get::<_, i32>(1).map_err(pg)?),
        invoice: r.try_get(2).map_err(pg)?,
        path: r.try_get(3).map_err(pg)?,
        created_at: r.try_get(4).map_err(pg)?,
        expires_at: r.try_get(5).map_err(pg)?,
    })
}

fn recipient_row(r: &Row) -> Result<Recipient, StoreError> {
    RecipientRow {
        id: r.try_get(0).map_err(pg)?,
        label: r.try_get(1).map_err(pg)?,
        slot_quota: r.try_get::<_, Option<i32>>(2).map_err(pg)?.map(i64::from),
        revoked: r.try_get(3).map_err(pg)?,
        registered_at: r.try_get(4).map_err(pg)?,
    }
    .into_recipient()
}

/// Runs `body` in a transaction on `client`, committing on `Ok` and rolling back on `Err`.
async fn in_transaction<T>(
    client: &mut Client,
    st: &Statements,
    body: impl for<'c> FnOnce(
        &'c Transaction<'c>,
        &'c Statements,
    ) -> BoxFuture<'c, Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let tx = client.transaction().await.map_err(pg)?;
    let result = body(&tx, st).await;
    match result {
        Ok(v) => {
            tx.commit().await.map_err(pg)?;
            Ok(v)
        }
        Err(e) => {
            // Dropping the transaction rolls it back as well; this makes it explicit.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

impl PostgresStaticInvoiceStore {
    /// Connects to `url` (`postgres://user@host:port/db` or key=value form) with `options`,
    /// creating the tables (and the schema) if needed.
    pub async fn connect(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let pool_options = PoolOptions::new(options.pool_size, options.schema);
        let pool = Pool::connect(url, pool_options, &SCHEMA)
            .await
            .map_err(StoreError::from_pg)?;
        Ok(PostgresStaticInvoiceStore {
            pool,
            limits: options.limits,
        })
    }

    /// The limits this store enforces.
    pub fn limits(&self) -> StoreLimits {
        self.limits
    }

    /// A connection: a free one if any, else the next in turn; reconnects a closed one.
    async fn conn(&self) -> Result<MappedMutexGuard<'_, Conn>, StoreError> {
        self.pool.get().await.map_err(StoreError::from_pg)
    }

    /// Runs `body` in a transaction on a pooled connection.
    async fn transaction<T>(
        &self,
        body: impl for<'c> FnOnce(
            &'c Transaction<'c>,
            &'c Statements,
        ) -> BoxFuture<'c, Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let mut guard = self.conn().await?;
        let conn = &mut *guard;
        in_transaction(&mut conn.client, &conn.statements, body).await
    }
}

/// Locks the recipient's row for the rest of the transaction; `None` if not registered.
async fn lock_recipient(
    tx: &Transaction<'_>,
    st: &Statements,
    id: &[u8],
) -> Result<Option<Recipient>, StoreError> {
    tx.query_opt(&st.lock_recipient, &[&id])
        .await
        .map_err(pg)?
        .map(|r| recipient_row(&r))
        .transpose()
}

impl StaticInvoiceStore for PostgresStaticInvoiceStore {
    fn register_recipient<'a>(
        &'a self,
        id: &'a [u8],
        label: &'a str,
        slot_quota: Option<u16>,
        now: u64,
    ) -> BoxFuture<'a, Result<Recipient, StoreError>> {
        Box::pin(async move {
            check_recipient_id(id)?;
            let limit = self.limits.max_recipients;
            let recipient = Recipient {
                id: id.to_vec(),
                label: label.to_owned(),
                slot_quota,
                revoked: false,
                registered_at: now,
            };
            let r = recipient.clone();
            self.transaction(move |tx, _| {
                Box::pin(async move {
                    // Serialises registrations across nodes so the count below stays exact.
                    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&(SCHEMA_LOCK + 1)])
                        .await
                        .map_err(pg)?;
                    let exists = tx
                        .query_opt("SELECT 1 FROM ao_recipients WHERE id = $1", &[&r.id])
                        .await
                        .map_err(pg)?;
                    if exists.is_some() {
                        return Err(StoreError::AlreadyRegistered);
                    }
                    let count: i64 = tx
                        .query_one("SELECT COUNT(*) FROM ao_recipients", &[])
                        .await
                        .map_err(pg)?
                        .try_get(0)
                        .map_err(pg)?;
                    if u64::try_from(count).unwrap_or(0) >= limit {
                        return Err(StoreError::RecipientLimit { limit });
                    }
                    tx.execute(
                        &format!(
                            "INSERT INTO ao_recipients ({RECIPIENT_COLUMNS}) \
                             VALUES ($1, $2, $3, FALSE, $4)"
                        ),
                        &[
                            &r.id,
                            &r.label,
                            &r.slot_quota.map(i32::from),
                            &to_i64(r.registered_at),
                        ],
                    )
                    .await
                    .map_err(pg)?;
                    Ok(())
                })
            })
            .await?;
            Ok(recipient)
        })
    }

    fn recipient<'a>(
        &'a self,
        id: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<Recipient>, StoreError>> {
        Box::pin(async move {
            let guard = self.conn().await?;
            let conn = &*guard;
            conn.client
                .query_opt(&conn.statements.get_recipient, &[&id])
                .await
                .map_err(pg)?
                .map(|r| recipient_row(&r))
                .transpose()
        })
    }

    fn list_recipients(&self) -> BoxFuture<'_, Result<Vec<Recipient>, StoreError>> {
        Box::pin(async move {
            let guard = self.conn().await?;
            let client = &guard.client;
            client
                .query(
                    &format!("SELECT {RECIPIENT_COLUMNS} FROM ao_recipients ORDER BY id"),
                    &[],
                )
                .await
                .map_err(pg)?
                .iter()
                .map(recipient_row)
                .collect()
        })
    }

    fn revoke_recipient<'a>(&'a self, id: &'a [u8]) -> BoxFuture<'a, Result<u64, StoreError>> {
        let id = id.to_vec();
        Box::pin(self.transaction(move |tx, st| {
            Box::pin(async move {
                lock_recipient(tx, st, &id)
                    .await?
                    .ok_or(StoreError::UnknownRecipient)?;
                tx.execute(
                    "UPDATE ao_recipients SET revoked = TRUE WHERE id = $1",
                    &[&id],
                )
                .await
                .map_err(pg)?;
                tx.execute("DELETE FROM ao_invoices WHERE recipient_id = $1", &[&id])
                    .await
                    .map_err(pg)
            })
        }))
    }

    fn remove_recipient<'a>(&'a self, id: &'a [u8]) -> BoxFuture<'a, Result<bool, StoreError>> {
        let id = id.to_vec();
        Box::pin(self.transaction(move |tx, _| {
            Box::pin(async move {
                // Invoices go with the row (ON DELETE CASCADE).
                let n = tx
                    .execute("DELETE FROM ao_recipients WHERE id = $1", &[&id])
                    .await
                    .map_err(pg)?;
                Ok(n > 0)
            })
        }))
    }

    fn persist_invoice<'a>(
        &'a self,
        invoice: &'a StoredInvoice,
    ) -> BoxFuture<'a, Result<Persisted, StoreError>> {
        let row = InvoiceRow::from_invoice(invoice);
        let default_quota = self.limits.default_slot_quota;
        Box::pin(self.transaction(move |tx, st| {
            Box::pin(async move {
                let recipient = lock_recipient(tx, st, &row.recipient_id)
                    .await?
                    .ok_or(StoreError::UnknownRecipient)?;
                if recipient.revoked {
                    return Err(StoreError::Revoked);
                }
                let quota = recipient.slot_quota.unwrap_or(default_quota);
                let slot = i32::try_from(row.slot).unwrap_or(i32::MAX);
                let existing = tx
                    .query_opt(&st.slot_exists, &[&row.recipient_id, &slot])
                    .await
                    .map_err(pg)?
                    .is_some();
                if !existing {
                    let used: i64 = tx
                        .query_one(&st.count_slots, &[&row.recipient_id])
                        .await
                        .map_err(pg)?
                        .try_get(0)
                        .map_err(pg)?;
                    if used >= i64::from(quota) {
                        return Err(StoreError::QuotaExceeded { quota });
                    }
                }
                tx.execute(
                    &st.upsert_invoice,
                    &[
                        &row.recipient_id,
                        &slot,
                        &row.invoice,
                        &row.path,
                        &row.created_at,
                        &row.expires_at,
                    ],
                )
                .await
                .map_err(pg)?;
                Ok(if existing {
                    Persisted::Replaced
                } else {
                    Persisted::Inserted
                })
            })
        }))
    }

    fn get_invoice_bytes<'a>(
        &'a self,
        recipient_id: &'a [u8],
        slot: u16,
    ) -> BoxFuture<'a, Result<Option<StoredInvoiceBytes>, StoreError>> {
        Box::pin(async move {
            let guard = self.conn().await?;
            let conn = &*guard;
            let row = conn
                .client
                .query_opt(
                    &conn.statements.get_invoice,
                    &[&recipient_id, &i32::from(slot)],
                )
                .await
                .map_err(pg)?;
            drop(guard);
            row.map(|r| invoice_row(&r)?.into_bytes()).transpose()
        })
    }

    fn list_invoices<'a>(
        &'a self,
        recipient_id: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<StoredInvoice>, StoreError>> {
        Box::pin(async move {
            let guard = self.conn().await?;
            let client = &guard.client;
            let rows = client
                .query(
                    &format!(
                        "SELECT {INVOICE_COLUMNS} FROM ao_invoices WHERE recipient_id = $1 \
                         ORDER BY slot"
                    ),
                    &[&recipient_id],
                )
                .await
                .map_err(pg)?;
            drop(guard);
            rows.iter()
                .map(|r| invoice_row(r)?.into_invoice())
                .collect()
        })
    }

    fn prune_expired(&self, now: u64) -> BoxFuture<'_, Result<u64, StoreError>> {
        let now = to_i64(now.min(i64::MAX as u64));
        Box::pin(async move {
            let guard = self.conn().await?;
            let client = &guard.client;
            client
                .execute("DELETE FROM ao_invoices WHERE expires_at < $1", &[&now])
                .await
                .map_err(pg)
        })
    }

    fn invoice_count(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let guard = self.conn().await?;
            let client = &guard.client;
            let n: i64 = client
                .query_one("SELECT COUNT(*) FROM ao_invoices", &[])
                .await
                .map_err(pg)?
                .try_get(0)
                .map_err(pg)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }
}
