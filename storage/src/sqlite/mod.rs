//! SQLite: the opener with one set of pragmas, versioned schema creation, the group-commit
//! writer thread ([`GroupCommitWriter`]), a store's writer and reader on one file
//! ([`Connections`]), and the mapping of all their failures into a store's own error type
//! ([`SqliteStoreError`]).
//!
//! Every lnedge SQLite file is opened the same way ([`open`]):
//!
//! - `journal_mode=WAL`: readers do not block the writer nor the writer the readers;
//! - `synchronous=FULL`: every commit syncs the WAL before it returns, so a write acknowledged to
//!   anyone survives a power loss, not only a crash of the process (with WAL, `NORMAL` syncs
//!   only at checkpoints and a commit can roll back after a power loss);
//! - a busy timeout of [`BUSY_TIMEOUT`]: a writer waits that long for another connection's
//!   write lock before failing;
//! - `foreign_keys=ON`: declared references are enforced;
//! - for [`Role::Reader`] connections, `query_only=ON`.

mod connections;
mod writer;

pub use connections::Connections;
/// The SQLite binding these functions take and return.
pub use rusqlite;
pub use writer::{GroupCommitWriter, WriteError};

use crate::StorageError;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// How long a write waits for another connection's write lock before failing
/// (`PRAGMA busy_timeout`).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// What a connection from [`open`] is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Reads and writes; creates the file if it is missing.
    Writer,
    /// Reads only (`query_only`): a write through it fails. WAL lets it read committed data
    /// while a writer works.
    Reader,
}

/// Opens (creating if needed) the database file at `path` with lnedge's pragmas (see the
/// [module](self)). Blocks for file I/O.
///
/// The connection is opened without SQLite's internal mutex (`SQLITE_OPEN_NO_MUTEX`): a
/// [`Connection`] is `Send` but not `Sync`, so Rust already keeps it to one thread at a time.
pub fn open(path: &Path, role: Role) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL is a property of the file: setting it again is a no-op.
    let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    if role == Role::Reader {
        conn.pragma_update(None, "query_only", "ON")?;
    }
    Ok(conn)
}

/// A private, non-durable database in memory (tests and tools), with `foreign_keys=ON` like
/// the files from [`open`]. Each call makes a new, empty one.
pub fn open_in_memory() -> rusqlite::Result<Connection> {
    let conn = Connection::open_in_memory()?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Why [`migrate`] failed.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// SQLite failed; nothing was changed.
    #[error("sqlite failed while creating the schema")]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer build, with a schema this build does not know.
    #[error("schema version {found} is newer than the {supported} this build supports")]
    TooNew {
        /// The version in the file (`PRAGMA user_version`).
        found: i64,
        /// The newest version this build knows (the number of migrations).
        supported: i64,
    },
}

/// A store's error type, as the failures of this module go into it: implement the required
/// methods (or let [`impl_store_error!`](crate::impl_store_error) do it), and map with the
/// provided ones.
pub trait SqliteStoreError: StorageError {
    /// SQLite failed (shared by every write of a batch whose begin or commit failed).
    fn sqlite(e: Arc<rusqlite::Error>) -> Self;

    /// The writer thread has stopped (a write panicked) or the task running a read was lost,
    /// so the operation was not made.
    fn closed() -> Self;

    /// The writer thread could not be started.
    fn writer_thread(e: std::io::Error) -> Self;

    /// SQLite failed.
    fn from_sqlite(e: rusqlite::Error) -> Self {
        Self::sqlite(Arc::new(e))
    }

    /// [`migrate`] failed.
    fn from_schema(e: SchemaError) -> Self {
        match e {
            SchemaError::TooNew { found, supported } => Self::schema_too_new(found, supported),
            SchemaError::Sqlite(e) => Self::from_sqlite(e),
        }
    }

    /// A write through [`GroupCommitWriter::write`] did not take effect: its own error as it
    /// is, or why the writer could not make it.
    fn from_write(e: WriteError<Self>) -> Self {
        match e {
            WriteError::Job(e) => e,
            WriteError::Sqlite(e) => Self::sqlite(e),
            WriteError::Closed => Self::closed(),
        }
    }
}

/// Brings the schema of `conn` to the newest version, or checks that it is there.
///
/// `migrations[i]` takes the schema from version `i` to `i + 1` (so `migrations[0]` creates it
/// in an empty database); the version is kept in `PRAGMA user_version`, and the newest is
/// `migrations.len()`. The steps that are missing run in one `BEGIN IMMEDIATE` transaction,
/// so that two processes opening a new file together do not both create it, and a failed step
/// leaves the file as it was. A file at a newer version is refused with [`SchemaError::TooNew`].
pub fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<(), SchemaError> {
    let supported = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > supported {
        return Err(SchemaError::TooNew { found, supported });
    }
    let done = usize::try_from(found).unwrap_or(0);
    if done < migrations.len() {
        for step in &migrations[done..] {
            tx.execute_batch(step)?;
        }
        tx.pragma_update(None, "user_version", supported)?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pragma<T: rusqlite::types::FromSql>(conn: &Connection, name: &str) -> T {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn writer_pragmas_are_applied() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("a.sqlite"), Role::Writer).unwrap();
        assert_eq!(pragma::<String>(&conn, "journal_mode"), "wal");
        // 2 = FULL.
        assert_eq!(pragma::<i64>(&conn, "synchronous"), 2);
        assert_eq!(pragma::<i64>(&conn, "foreign_keys"), 1);
        assert_eq!(pragma::<i64>(&conn, "busy_timeout"), 10_000);
        assert_eq!(pragma::<i64>(&conn, "query_only"), 0);
        conn.execute_batch("CREATE TABLE t (v INTEGER)").unwrap();
    }

    #[test]
    fn reader_pragmas_are_applied_and_it_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.sqlite");
        let writer = open(&path, Role::Writer).unwrap();
        writer.execute_batch("CREATE TABLE t (v INTEGER)").unwrap();
        let reader = open(&path, Role::Reader).unwrap();
        assert_eq!(pragma::<String>(&reader, "journal_mode"), "wal");
        assert_eq!(pragma::<i64>(&reader, "synchronous"), 2);
        assert_eq!(pragma::<i64>(&reader, "foreign_keys"), 1);
        assert_eq!(pragma::<i64>(&reader, "query_only"), 1);
        assert!(reader.execute("INSERT INTO t VALUES (1)", []).is_err());
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let n: i64 = reader
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn foreign_keys_are_enforced() {
        let dir = tempfile::tempdir().unwrap();
        for conn in [
            open_in_memory().unwrap(),
            open(&dir.path().join("fk.sqlite"), Role::Writer).unwrap(),
        ] {
            conn.execute_batch(
                "CREATE TABLE p (id INTEGER PRIMARY KEY);
                 CREATE TABLE c (p INTEGER NOT NULL REFERENCES p (id));",
            )
            .unwrap();
            assert!(conn.execute("INSERT INTO c VALUES (7)", []).is_err());
        }
    }

    #[test]
    fn migrate_creates_upgrades_and_refuses_newer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.sqlite");
        let v1 = "CREATE TABLE t (a INTEGER);";
        let v2 = "ALTER TABLE t ADD COLUMN b INTEGER;";

        let mut conn = open(&path, Role::Writer).unwrap();
        migrate(&mut conn, &[v1]).unwrap();
        assert_eq!(pragma::<i64>(&conn, "user_version"), 1);
        // Again: nothing to do.
        migrate(&mut conn, &[v1]).unwrap();
        conn.execute("INSERT INTO t (a) VALUES (1)", []).unwrap();

        // Version 1 → 2 runs only the second step; the data stays.
        migrate(&mut conn, &[v1, v2]).unwrap();
        assert_eq!(pragma::<i64>(&conn, "user_version"), 2);
        let (a, b): (i64, Option<i64>) = conn
            .query_row("SELECT a, b FROM t", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!((a, b), (1, None));

        // A build that knows only version 1 refuses the file.
        assert!(matches!(
            migrate(&mut conn, &[v1]),
            Err(SchemaError::TooNew {
                found: 2,
                supported: 1
            })
        ));
    }

    #[test]
    fn failed_migration_leaves_the_file_unchanged() {
        let mut conn = open_in_memory().unwrap();
        let err = migrate(&mut conn, &["CREATE TABLE t (a INTEGER);", "NOT SQL"]);
        assert!(matches!(err, Err(SchemaError::Sqlite(_))));
        assert_eq!(pragma::<i64>(&conn, "user_version"), 0);
        let tables: i64 = conn
            .query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0);
    }
}
