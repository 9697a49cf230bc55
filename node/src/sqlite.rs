//! How the node opens its SQLite databases (wallet, payments): lnedge's one set of pragmas
//! (`lnedge_storage::sqlite::open`: WAL journal, `synchronous=FULL` so that a committed write
//! survives power loss, busy timeout, foreign keys), then the schema.

use std::path::Path;

use lnedge_storage::sqlite::{self as db, Role};
use rusqlite::Connection;

/// Opens (creating) the database at `path` and creates `schema` (idempotent statements,
/// `CREATE TABLE IF NOT EXISTS …`) if absent.
pub(crate) fn open(path: &Path, schema: &str) -> rusqlite::Result<Connection> {
    let conn = db::open(path, Role::Writer)?;
    conn.execute_batch(schema)?;
    Ok(conn)
}
