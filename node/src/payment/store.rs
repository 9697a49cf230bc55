//! The node's payment history in its SQLite database (LDK forgets payments once resolved).

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::model::{PaymentDirection, PaymentInfo, PaymentKind, PaymentStatus};

/// Errors of the payment store.
#[derive(Debug, thiserror::Error)]
#[error("payment database: {0}")]
pub struct PaymentStoreError(#[from] rusqlite::Error);

/// Payments by id.
#[derive(Debug)]
pub struct PaymentStore {
    conn: Mutex<Connection>,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn direction(s: &str) -> PaymentDirection {
    if s == "inbound" {
        PaymentDirection::Inbound
    } else {
        PaymentDirection::Outbound
    }
}

fn status(s: &str) -> PaymentStatus {
    match s {
        "succeeded" => PaymentStatus::Succeeded,
        "failed" => PaymentStatus::Failed,
        _ => PaymentStatus::Pending,
    }
}

fn kind(s: &str) -> PaymentKind {
    match s {
        "bolt11" => PaymentKind::Bolt11,
        "bolt12" => PaymentKind::Bolt12,
        _ => PaymentKind::Other,
    }
}

fn row(r: &Row<'_>) -> rusqlite::Result<PaymentInfo> {
    Ok(PaymentInfo {
        id: r.get(0)?,
        payment_hash: r.get(1)?,
        direction: direction(&r.get::<_, String>(2)?),
        kind: kind(&r.get::<_, String>(3)?),
        status: status(&r.get::<_, String>(4)?),
        amount_msat: r.get::<_, Option<i64>>(5)?.map(|v| v as u64),
        fee_msat: r.get::<_, Option<i64>>(6)?.map(|v| v as u64),
        preimage: r.get(7)?,
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
                p.id,
                p.payment_hash,
                p.direction.as_str(),
                p.kind.as_str(),
                p.status.as_str(),
                p.amount_msat.map(|v| v as i64),
                p.fee_msat.map(|v| v as i64),
                p.preimage,
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
        id: &str,
        payment_hash: Option<&str>,
        preimage: Option<&str>,
        fee_msat: Option<u64>,
        amount_msat: Option<u64>,
    ) -> Result<(), PaymentStoreError> {
        self.conn.lock().expect("lock").execute(
            "UPDATE payments SET status = 'succeeded', \
             payment_hash = COALESCE(?2, payment_hash), preimage = COALESCE(?3, preimage), \
             fee_msat = COALESCE(?4, fee_msat), amount_msat = COALESCE(?5, amount_msat), \
             updated_at = ?6 WHERE id = ?1",
            params![
                id,
                payment_hash,
                preimage,
                fee_msat.map(|v| v as i64),
                amount_msat.map(|v| v as i64),
                unix_now() as i64
            ],
        )?;
        Ok(())
    }

    /// Marks a payment failed.
    pub fn failed(&self, id: &str, reason: &str) -> Result<(), PaymentStoreError> {
        self.conn.lock().expect("lock").execute(
            "UPDATE payments SET status = 'failed', failure = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, reason, unix_now() as i64],
        )?;
        Ok(())
    }

    /// One payment.
    pub fn get(&self, id: &str) -> Result<Option<PaymentInfo>, PaymentStoreError> {
        let conn = self.conn.lock().expect("lock");
        let sql = format!("SELECT {COLUMNS} FROM payments WHERE id = ?1");
        Ok(conn.query_row(&sql, params![id], row).optional()?)
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
        id: String,
        payment_hash: Option<String>,
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
