//! The node's payment history in its SQLite database (LDK forgets payments once resolved).

use std::path::Path;
use std::sync::Mutex;

use bitcoin::hex::{DisplayHex, FromHex};
use lightning::ln::channelmanager::PaymentId;
use lightning::types::payment::{PaymentHash, PaymentPreimage};
use lnedge_storage::clock::unix_now;
use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::model::{PaymentDirection, PaymentInfo, PaymentKind, PaymentStatus};

pub use crate::error::PaymentStoreError;

/// Payments by id.
#[derive(Debug)]
pub struct PaymentStore {
    conn: Mutex<Connection>,
}

/// A column that does not hold what this store writes: a typed error, not a guess.
fn corrupt(column: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        column,
        Type::Text,
        format!("not a valid {what}").into(),
    )
}

fn bytes32(r: &Row<'_>, column: usize, what: &str) -> rusqlite::Result<Option<[u8; 32]>> {
    match r.get::<_, Option<String>>(column)? {
        None => Ok(None),
        Some(hex) => <[u8; 32]>::from_hex(&hex)
            .map(Some)
            .map_err(|_| corrupt(column, what)),
    }
}

fn name<T>(
    r: &Row<'_>,
    column: usize,
    what: &str,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    parse(&r.get::<_, String>(column)?).ok_or_else(|| corrupt(column, what))
}

fn row(r: &Row<'_>) -> rusqlite::Result<PaymentInfo> {
    Ok(PaymentInfo {
        id: PaymentId(bytes32(r, 0, "payment id")?.ok_or_else(|| corrupt(0, "payment id"))?),
        payment_hash: bytes32(r, 1, "payment hash")?.map(PaymentHash),
        direction: name(r, 2, "direction", PaymentDirection::from_name)?,
        kind: name(r, 3, "kind", PaymentKind::from_name)?,
        status: name(r, 4, "status", PaymentStatus::from_name)?,
        amount_msat: r.get::<_, Option<i64>>(5)?.map(|v| v as u64),
        fee_msat: r.get::<_, Option<i64>>(6)?.map(|v| v as u64),
        preimage: bytes32(r, 7, "preimage")?.map(PaymentPreimage),
        failure: r.get(8)?,
        created_at: r.get::<_, i64>(9)? as u64,
        updated_at: r.get::<_, i64>(10)? as u64,
    })
}

const COLUMNS: &str =
    "id, payment_hash, direction, kind, status, amount_msat, fee_msat, preimage, \
                       failure, created_at, updated_at";

impl PaymentStore {
    /// Opens (creating) the store in the SQLite database at `path`.
    pub fn open(path: &Path) -> Result<Self, PaymentStoreError> {
        let conn = crate::sqlite::open(
            path,
            "CREATE TABLE IF NOT EXISTS payments (
                 id TEXT PRIMARY KEY,
                 payment_hash TEXT,
                 direction TEXT NOT NULL,
                 kind TEXT NOT NULL,
                 status TEXT NOT NULL,
                 amount_msat INTEGER,
                 fee_msat INTEGER,
                 preimage TEXT,
                 failure TEXT,
                 created_at INTEGER NOT NULL,
                 updated_at INTEGER NOT NULL
             );",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Records a new payment (or leaves an existing one with that id alone).
    pub fn insert(&self, p: &PaymentInfo) -> Result<(), PaymentStoreError> {
        self.conn.lock().expect("lock").execute(
            "INSERT OR IGNORE INTO payments (id, payment_hash, direction, kind, status, amount_msat, \
             fee_msat, preimage, failure, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                p.id.0.to_lower_hex_string(),
                p.payment_hash.map(|h| h.0.to_lower_hex_string()),
                p.direction.as_str(),
                p.kind.as_str(),
                p.status.as_str(),
                p.amount_msat.map(|v| v as i64),
                p.fee_msat.map(|v| v as i64),
                p.preimage.map(|h| h.0.to_lower_hex_string()),
                p.failure,
                p.created_at as i64,
                p.updated_at as i64
            ],
        )?;
        Ok(())
    }

    /// Starts an outbound payment: records it, or restarts one with that id that failed (a
    /// retry of the same invoice), in one statement. A retry starts from `pending` with no
    /// failure, fee or preimage; it keeps its first `created_at`. Returns false, changing
    /// nothing, when the id belongs to a payment that is pending, succeeded, or inbound.
    pub fn begin_outbound(&self, p: &PaymentInfo) -> Result<bool, PaymentStoreError> {
        let changed = self.conn.lock().expect("lock").execute(
            "INSERT INTO payments (id, payment_hash, direction, kind, status, amount_msat, \
             created_at, updated_at) VALUES (?1, ?2, 'outbound', ?3, 'pending', ?4, ?5, ?5) \
             ON CONFLICT (id) DO UPDATE SET status = 'pending', \
             payment_hash = excluded.payment_hash, kind = excluded.kind, \
             amount_msat = excluded.amount_msat, fee_msat = NULL, preimage = NULL, \
             failure = NULL, updated_at = excluded.updated_at \
             WHERE payments.status = 'failed' AND payments.direction = 'outbound'",
            params![
                p.id.0.to_lower_hex_string(),
                p.payment_hash.map(|h| h.0.to_lower_hex_string()),
                p.kind.as_str(),
                p.amount_msat.map(|v| v as i64),
                p.created_at as i64,
            ],
        )?;
        Ok(changed == 1)
    }

    /// Ids of the outbound payments still pending.
    pub fn pending_outbound(&self) -> Result<Vec<PaymentId>, PaymentStoreError> {
        let conn = self.conn.lock().expect("lock");
        let mut stmt = conn.prepare(
            "SELECT id FROM payments WHERE direction = 'outbound' AND status = 'pending'",
        )?;
        let ids = stmt.query_map([], |r| {
            bytes32(r, 0, "payment id")?
                .map(PaymentId)
                .ok_or_else(|| corrupt(0, "payment id"))
        })?;
        Ok(ids.collect::<Result<_, _>>()?)
    }

    /// Whether the store holds no payment at all.
    pub fn is_empty(&self) -> Result<bool, PaymentStoreError> {
        Ok(self.conn.lock().expect("lock").query_row(
            "SELECT NOT EXISTS (SELECT 1 FROM payments)",
            [],
            |r| r.get(0),
        )?)
    }

    /// Marks a payment succeeded with what became known (hash, preimage, fee, amount).
    pub fn succeeded(
        &self,
        id: &PaymentId,
        payment_hash: Option<&PaymentHash>,
        preimage: Option<&PaymentPreimage>,
        fee_msat: Option<u64>,
        amount_msat: Option<u64>,
    ) -> Result<(), PaymentStoreError> {
        self.conn.lock().expect("lock").execute(
            "UPDATE payments SET status = 'succeeded', \
             payment_hash = COALESCE(?2, payment_hash), preimage = COALESCE(?3, preimage), \
             fee_msat = COALESCE(?4, fee_msat), amount_msat = COALESCE(?5, amount_msat), \
             updated_at = ?6 WHERE id = ?1",
            params![
                id.0.to_lower_hex_string(),
                payment_hash.map(|h| h.0.to_lower_hex_string()),
                preimage.map(|p| p.0.to_lower_hex_string()),
                fee_msat.map(|v| v as i64),
                amount_msat.map(|v| v as i64),
                unix_now() as i64
            ],
        )?;
        Ok(())
    }

    /// Marks a payment failed.
    pub fn failed(&self, id: &PaymentId, reason: &str) -> Result<(), PaymentStoreError> {
        self.conn.lock().expect("lock").execute(
            "UPDATE payments SET status = 'failed', failure = ?2, updated_at = ?3 WHERE id = ?1",
            params![id.0.to_lower_hex_string(), reason, unix_now() as i64],
        )?;
        Ok(())
    }

    /// One payment.
    pub fn get(&self, id: &PaymentId) -> Result<Option<PaymentInfo>, PaymentStoreError> {
        let conn = self.conn.lock().expect("lock");
        let sql = format!("SELECT {COLUMNS} FROM payments WHERE id = ?1");
        Ok(conn
            .query_row(&sql, params![id.0.to_lower_hex_string()], row)
            .optional()?)
    }

    /// Every payment, newest first.
    pub fn list(&self) -> Result<Vec<PaymentInfo>, PaymentStoreError> {
        let conn = self.conn.lock().expect("lock");
        let sql = format!("SELECT {COLUMNS} FROM payments ORDER BY created_at DESC, rowid DESC");
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Up to `limit` payments in [`list`](Self::list)'s order (newest first), starting just
    /// after payment `after` (from the first if `None`), and whether more follow. `None` if
    /// `after` is not a payment here.
    pub fn page(
        &self,
        after: Option<&PaymentId>,
        limit: usize,
    ) -> Result<Option<(Vec<PaymentInfo>, bool)>, PaymentStoreError> {
        let conn = self.conn.lock().expect("lock");
        // One more than asked: whether another page follows.
        let take = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
        let mut payments = match after {
            None => {
                let sql = format!(
                    "SELECT {COLUMNS} FROM payments ORDER BY created_at DESC, rowid DESC LIMIT ?1"
                );
                let mut stmt = conn.prepare(&sql)?;
                let rows = stmt.query_map(params![take], row)?;
                rows.collect::<Result<Vec<_>, _>>()?
            }
            Some(id) => {
                let Some((created_at, rowid)) = conn
                    .query_row(
                        "SELECT created_at, rowid FROM payments WHERE id = ?1",
                        params![id.0.to_lower_hex_string()],
                        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
                    )
                    .optional()?
                else {
                    return Ok(None);
                };
                let sql = format!(
                    "SELECT {COLUMNS} FROM payments \
                     WHERE created_at < ?1 OR (created_at = ?1 AND rowid < ?2) \
                     ORDER BY created_at DESC, rowid DESC LIMIT ?3"
                );
                let mut stmt = conn.prepare(&sql)?;
                let rows = stmt.query_map(params![created_at, rowid, take], row)?;
                rows.collect::<Result<Vec<_>, _>>()?
            }
        };
        let more = payments.len() > limit;
        payments.truncate(limit);
        Ok(Some((payments, more)))
    }

    /// A fresh record for a payment starting now.
    pub fn new_record(
        id: PaymentId,
        payment_hash: Option<PaymentHash>,
        direction: PaymentDirection,
        kind: PaymentKind,
        status: PaymentStatus,
        amount_msat: Option<u64>,
    ) -> PaymentInfo {
        let now = unix_now();
        PaymentInfo {
            id,
            payment_hash,
            direction,
            kind,
            status,
            amount_msat,
            fee_msat: None,
            preimage: None,
            failure: None,
            created_at: now,
            updated_at: now,
        }
    }
}
