//! [`SqliteStaticInvoiceStore`]: the embedded backend.

use super::{
    check_recipient_id, to_i64, BoxFuture, InvoiceRow, Persisted, Recipient, RecipientRow,
    StaticInvoiceStore, StoreError, StoreLimits, StoredInvoice, StoredInvoiceBytes,
};
use lnedge_storage::sqlite::{Connections, SqliteStoreError};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// The most writes one group commit takes.
const MAX_BATCH: usize = 1024;

/// The name of the writer thread.
const WRITER_THREAD: &str = "async-offers-sqlite-writer";

const SCHEMA_V1: &str = "
CREATE TABLE ao_recipients (
    id BLOB NOT NULL PRIMARY KEY,
    label TEXT NOT NULL,
    slot_quota INTEGER,
    revoked INTEGER NOT NULL DEFAULT 0,
    registered_at INTEGER NOT NULL
);
CREATE TABLE ao_invoices (
    recipient_id BLOB NOT NULL,
    slot INTEGER NOT NULL,
    invoice BLOB NOT NULL,
    request_path BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (recipient_id, slot)
) WITHOUT ROWID;
CREATE INDEX ao_invoices_expires_at ON ao_invoices (expires_at);
";

/// `MIGRATIONS[i]` takes the schema from version `i` to `i + 1` (`PRAGMA user_version`); this
/// build writes version 1.
const MIGRATIONS: [&str; 1] = [SCHEMA_V1];

const INVOICE_COLUMNS: &str = "recipient_id, slot, invoice, request_path, created_at, expires_at";
const RECIPIENT_COLUMNS: &str = "id, label, slot_quota, revoked, registered_at";

/// Static invoices and recipients in an SQLite database file (or in memory).
///
/// # Durability and throughput
///
/// WAL mode with `synchronous=FULL`: a commit syncs the WAL before it returns, so an invoice
/// confirmed to a recipient survives a power loss. Writes go through one writer thread that
/// group-commits (every write queued during the previous sync shares the next one), so
/// concurrent persists are not capped at the disk's sync rate.
///
/// Reads use a second connection and run on the calling task's thread: a primary-key lookup
/// takes microseconds, less than handing it to a blocking pool would cost. An in-memory store
/// has one connection, so its reads queue with the writes.
///
/// # Several stores on one file
///
/// Stores opened on one file exclude each other's write transactions (`BEGIN IMMEDIATE`, waiting
/// up to 10 s for the lock), so quotas stay exact across them.
///
/// # Schema
///
/// Created on open, versioned with `PRAGMA user_version` (1); a newer file is refused with
/// [`StoreError::SchemaTooNew`].
pub struct SqliteStaticInvoiceStore {
    db: Connections<StoreError>,
    limits: StoreLimits,
}

impl std::fmt::Debug for SqliteStaticInvoiceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStaticInvoiceStore")
            .field("in_memory", &self.db.is_in_memory())
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn sql(e: rusqlite::Error) -> StoreError {
    StoreError::from_sqlite(e)
}

impl SqliteStaticInvoiceStore {
    /// Opens (creating if needed) the database at `path` with the default [`StoreLimits`].
    /// Blocks for file I/O: call it at startup or from a blocking task.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, StoreLimits::default())
    }

    /// Opens (creating if needed) the database at `path`, enforcing `limits`.
    pub fn open_with(path: impl AsRef<Path>, limits: StoreLimits) -> Result<Self, StoreError> {
        let db = Connections::open(path.as_ref(), &MIGRATIONS, WRITER_THREAD, MAX_BATCH)?;
        Ok(SqliteStaticInvoiceStore { db, limits })
    }

    /// A private, non-durable database in memory (tests and tools).
    pub fn open_in_memory(limits: StoreLimits) -> Result<Self, StoreError> {
        let db = Connections::open_in_memory(&MIGRATIONS, WRITER_THREAD, MAX_BATCH)?;
        Ok(SqliteStaticInvoiceStore { db, limits })
    }

    /// The limits this store enforces.
    pub fn limits(&self) -> StoreLimits {
        self.limits
    }
}

fn invoice_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<InvoiceRow> {
    Ok(InvoiceRow {
        recipient_id: r.get(0)?,
        slot: r.get(1)?,
        invoice: r.get(2)?,
        path: r.get(3)?,
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
    })
}

fn recipient_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RecipientRow> {
    Ok(RecipientRow {
        id: r.get(0)?,
        label: r.get(1)?,
        slot_quota: r.get(2)?,
        revoked: r.get::<_, i64>(3)? != 0,
        registered_at: r.get(4)?,
    })
}

fn one_recipient(conn: &Connection, id: &[u8]) -> Result<Option<Recipient>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {RECIPIENT_COLUMNS} FROM ao_recipients WHERE id = ?1"
    ))
    .and_then(|mut st| st.query_row([id], recipient_row).optional())
    .map_err(sql)?
    .map(RecipientRow::into_recipient)
    .transpose()
}

impl StaticInvoiceStore for SqliteStaticInvoiceStore {
    fn register_recipient<'a>(
        &'a self,
        id: &'a [u8],
        label: &'a str,
        slot_quota: Option<u16>,
        now: u64,
    ) -> BoxFuture<'a, Result<Recipient, StoreError>> {
        if let Err(e) = check_recipient_id(id) {
            return Box::pin(std::future::ready(Err(e)));
        }
        let recipient = Recipient {
            id: id.to_vec(),
            label: label.to_owned(),
            slot_quota,
            revoked: false,
            registered_at: now,
        };
        let limit = self.limits.max_recipients;
        Box::pin(self.db.write(move |conn| {
            if one_recipient(conn, &recipient.id)?.is_some() {
                return Err(StoreError::AlreadyRegistered);
            }
            let count: i64 = conn
                .query_row("SELECT COUNT(*) FROM ao_recipients", [], |r| r.get(0))
                .map_err(sql)?;
            if u64::try_from(count).unwrap_or(0) >= limit {
                return Err(StoreError::RecipientLimit { limit });
            }
            conn.prepare_cached(&format!(
                "INSERT INTO ao_recipients ({RECIPIENT_COLUMNS}) VALUES (?1, ?2, ?3, 0, ?4)"
            ))
            .and_then(|mut st| {
                st.execute(params![
                    recipient.id,
                    recipient.label,
                    recipient.slot_quota,
                    to_i64(recipient.registered_at)
                ])
            })
            .map_err(sql)?;
            Ok(recipient)
        }))
    }

    fn recipient<'a>(
        &'a self,
        id: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<Recipient>, StoreError>> {
        let id = id.to_vec();
        Box::pin(self.db.read(move |conn| one_recipient(conn, &id)))
    }

    fn list_recipients(&self) -> BoxFuture<'_, Result<Vec<Recipient>, StoreError>> {
        Box::pin(self.db.read(|conn| {
            let mut st = conn
                .prepare_cached(&format!(
                    "SELECT {RECIPIENT_COLUMNS} FROM ao_recipients ORDER BY id"
                ))
                .map_err(sql)?;
            let rows = st.query_map([], recipient_row).map_err(sql)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row.map_err(sql)?.into_recipient()?);
            }
            Ok(out)
        }))
    }

    fn revoke_recipient<'a>(&'a self, id: &'a [u8]) -> BoxFuture<'a, Result<u64, StoreError>> {
        let id = id.to_vec();
        Box::pin(self.db.write(move |conn| {
            let updated = conn
                .execute("UPDATE ao_recipients SET revoked = 1 WHERE id = ?1", [&id])
                .map_err(sql)?;
            if updated == 0 {
                return Err(StoreError::UnknownRecipient);
            }
            let deleted = conn
                .execute("DELETE FROM ao_invoices WHERE recipient_id = ?1", [&id])
                .map_err(sql)?;
            Ok(deleted as u64)
        }))
    }

    fn remove_recipient<'a>(&'a self, id: &'a [u8]) -> BoxFuture<'a, Result<bool, StoreError>> {
        let id = id.to_vec();
        Box::pin(self.db.write(move |conn| {
            conn.execute("DELETE FROM ao_invoices WHERE recipient_id = ?1", [&id])
                .map_err(sql)?;
            let removed = conn
                .execute("DELETE FROM ao_recipients WHERE id = ?1", [&id])
                .map_err(sql)?;
            Ok(removed > 0)
        }))
    }

    fn persist_invoice<'a>(
        &'a self,
        invoice: &'a StoredInvoice,
    ) -> BoxFuture<'a, Result<Persisted, StoreError>> {
        let row = InvoiceRow::from_invoice(invoice);
        let default_quota = self.limits.default_slot_quota;
        Box::pin(self.db.write(move |conn| {
            let recipient =
                one_recipient(conn, &row.recipient_id)?.ok_or(StoreError::UnknownRecipient)?;
            if recipient.revoked {
                return Err(StoreError::Revoked);
            }
            let quota = recipient.slot_quota.unwrap_or(default_quota);
            let existing: Option<i64> = conn
                .prepare_cached(
                    "SELECT slot FROM ao_invoices WHERE recipient_id = ?1 AND slot = ?2",
                )
                .and_then(|mut st| {
                    st.query_row(params![row.recipient_id, row.slot], |r| r.get(0))
                        .optional()
                })
                .map_err(sql)?;
            if existing.is_none() {
                let used: i64 = conn
                    .prepare_cached("SELECT COUNT(*) FROM ao_invoices WHERE recipient_id = ?1")
                    .and_then(|mut st| st.query_row([&row.recipient_id], |r| r.get(0)))
                    .map_err(sql)?;
                if used >= i64::from(quota) {
                    return Err(StoreError::QuotaExceeded { quota });
                }
            }
            conn.prepare_cached(&format!(
                "INSERT INTO ao_invoices ({INVOICE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (recipient_id, slot) DO UPDATE SET invoice = excluded.invoice, \
                 request_path = excluded.request_path, created_at = excluded.created_at, \
                 expires_at = excluded.expires_at"
            ))
            .and_then(|mut st| {
                st.execute(params![
                    row.recipient_id,
                    row.slot,
                    row.invoice,
                    row.path,
                    row.created_at,
                    row.expires_at
                ])
            })
            .map_err(sql)?;
            Ok(if existing.is_some() {
                Persisted::Replaced
            } else {
                Persisted::Inserted
            })
        }))
    }

    fn get_invoice_bytes<'a>(
        &'a self,
        recipient_id: &'a [u8],
        slot: u16,
    ) -> BoxFuture<'a, Result<Option<StoredInvoiceBytes>, StoreError>> {
        let id = recipient_id.to_vec();
        Box::pin(self.db.read(move |conn| {
            conn.prepare_cached(&format!(
                "SELECT {INVOICE_COLUMNS} FROM ao_invoices WHERE recipient_id = ?1 AND slot = ?2"
            ))
            .and_then(|mut st| st.query_row(params![id, slot], invoice_row).optional())
            .map_err(sql)?
            .map(InvoiceRow::into_bytes)
            .transpose()
        }))
    }

    fn list_invoices<'a>(
        &'a self,
        recipient_id: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<StoredInvoice>, StoreError>> {
        let id = recipient_id.to_vec();
        Box::pin(self.db.read(move |conn| {
            let mut st = conn
                .prepare_cached(&format!(
                    "SELECT {INVOICE_COLUMNS} FROM ao_invoices WHERE recipient_id = ?1 \
                     ORDER BY slot"
                ))
                .map_err(sql)?;
            let rows = st.query_map([&id], invoice_row).map_err(sql)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row.map_err(sql)?.into_invoice()?);
            }
            Ok(out)
        }))
    }

    fn prune_expired(&self, now: u64) -> BoxFuture<'_, Result<u64, StoreError>> {
        let now = to_i64(now.min(i64::MAX as u64));
        Box::pin(self.db.write(move |conn| {
            let deleted = conn
                .execute("DELETE FROM ao_invoices WHERE expires_at < ?1", [now])
                .map_err(sql)?;
            Ok(deleted as u64)
        }))
    }

    fn invoice_count(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(self.db.read(|conn| {
            let n: i64 = conn
                .query_row("SELECT COUNT(*) FROM ao_invoices", [], |r| r.get(0))
                .map_err(sql)?;
            Ok(u64::try_from(n).unwrap_or(0))
        }))
    }
}
