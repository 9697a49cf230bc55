//! How the node opens its SQLite databases (wallet, payments): WAL journal, and
//! `synchronous=FULL` so that a committed write survives power loss.

use std::path::Path;

use rusqlite::Connection;

/// Opens (creating) the database at `path` and creates `schema` if absent.
pub(crate) fn open(path: &Path, schema: &str) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(schema)?;
    Ok(conn)
}
