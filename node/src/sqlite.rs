//! How the node opens its SQLite databases (wallet, payments): lnedge's one set of pragmas
//! (`lnedge_storage::sqlite::open`: WAL journal, `synchronous=FULL` so that a committed write
//! survives power loss, busy timeout, foreign keys), then the schema. The files are created
//! owner-only (0600).

use std::path::Path;

use lnedge_storage::sqlite::{self as db, Role};
use rusqlite::Connection;

/// Opens (creating) the database at `path` and creates `schema` (idempotent statements,
/// `CREATE TABLE IF NOT EXISTS …`) if absent. The file is its owner's only (mode 0600, see
/// [`private_fs::database`](crate::private_fs::database)).
pub(crate) fn open(path: &Path, schema: &str) -> rusqlite::Result<Connection> {
    crate::private_fs::database(path).map_err(|e| {
        rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
            Some(format!("cannot create {} owner-only: {e}", path.display())),
        )
    })?;
    let conn = db::open(path, Role::Writer)?;
    conn.execute_batch(schema)?;
    Ok(conn)
}
