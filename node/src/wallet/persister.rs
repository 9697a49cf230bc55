//! BDK wallet persistence in the node's SQLite database.
//!
//! bdk_wallet's own SQLite persister (its `rusqlite` feature) pins rusqlite 0.31, whose bundled
//! libsqlite3 cannot be linked next to the rusqlite 0.41 the rest of lnedge uses. This persister
//! keeps BDK's change sets as JSON rows (BDK's `ChangeSet` is serde) in a table of the same
//! database, appending on every persist and compacting to one merged row on load.

use std::path::Path;

use bdk_wallet::chain::Merge;
use bdk_wallet::{ChangeSet, WalletPersister};
use rusqlite::{params, Connection};

pub use crate::error::WalletStoreError;

/// SQLite-backed [`WalletPersister`].
#[derive(Debug)]
pub struct SqliteWalletPersister {
    conn: Connection,
}

/// Change-set rows above which loading compacts them into one.
const COMPACT_AFTER: i64 = 64;

impl SqliteWalletPersister {
    /// Opens (creating) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, WalletStoreError> {
        let conn = crate::sqlite::open(
            path,
            "CREATE TABLE IF NOT EXISTS wallet_changesets (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 changeset TEXT NOT NULL
             );",
        )?;
        Ok(Self { conn })
    }

    /// Whether the database at `path` holds a wallet (at least one change set). A missing or
    /// empty (0-byte) file holds none; neither is created.
    pub fn holds_wallet(path: &Path) -> Result<bool, WalletStoreError> {
        match std::fs::metadata(path) {
            Ok(meta) if meta.len() > 0 => {}
            _ => return Ok(false),
        }
        let db = Self::open(path)?;
        Ok(db
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM wallet_changesets)", [], |r| {
                r.get::<_, bool>(0)
            })?)
    }

    fn load(&mut self) -> Result<ChangeSet, WalletStoreError> {
        let mut merged = ChangeSet::default();
        let mut rows = 0i64;
        {
            let mut stmt = self
                .conn
                .prepare("SELECT changeset FROM wallet_changesets ORDER BY id")?;
            let mut cursor = stmt.query([])?;
            while let Some(row) = cursor.next()? {
                let text: String = row.get(0)?;
                merged.merge(serde_json::from_str::<ChangeSet>(&text)?);
                rows += 1;
            }
        }
        if rows > COMPACT_AFTER {
            let text = serde_json::to_string(&merged)?;
            let tx = self.conn.transaction()?;
            tx.execute("DELETE FROM wallet_changesets", [])?;
            tx.execute(
                "INSERT INTO wallet_changesets (changeset) VALUES (?1)",
                params![text],
            )?;
            tx.commit()?;
        }
        Ok(merged)
    }

    fn append(&mut self, changeset: &ChangeSet) -> Result<(), WalletStoreError> {
        if changeset.is_empty() {
            return Ok(());
        }
        let text = serde_json::to_string(changeset)?;
        self.conn.execute(
            "INSERT INTO wallet_changesets (changeset) VALUES (?1)",
            params![text],
        )?;
        Ok(())
    }
}

impl WalletPersister for SqliteWalletPersister {
    type Error = WalletStoreError;

    fn initialize(persister: &mut Self) -> Result<ChangeSet, Self::Error> {
        persister.load()
    }

    fn persist(persister: &mut Self, changeset: &ChangeSet) -> Result<(), Self::Error> {
        persister.append(changeset)
    }
}
