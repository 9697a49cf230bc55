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
