//! # lnedge-storage
//!
//! The storage machinery the lnedge crates share, written once:
//!
//! - [`clock`]: [`unix_now`](clock::unix_now), Unix seconds by the system clock.
//! - [`column`](mod@column): `u64` values in signed 64-bit columns, by bit-cast.
//! - [`dir_lock`]: [`DirLock`](dir_lock::DirLock), one process per data directory (an
//!   advisory lock on `<dir>/lock` naming the holder's pid, released if the holder dies).
//! - [`StorageError`] and the backends' error traits: how a store's own error type takes the
//!   failures of this crate, each store mapping them the same way ([`impl_store_error!`] for
//!   the usual variants).
//! - `sqlite` (feature `sqlite`): the opener with lnedge's one set of pragmas (WAL,
//!   `synchronous=FULL`, busy timeout, foreign keys), versioned schema creation,
//!   `GroupCommitWriter`, the writer thread that shares one commit (one sync) among every write
//!   queued while the previous commit was syncing, and `Connections`, a store's writer and
//!   reader on one file.
//! - `postgres` (feature `postgres`): a small fixed connection `Pool` with per-connection
//!   prepared statements, schema creation under an advisory lock, and the retry of transactions
//!   that lost a serialization or deadlock race.
//! - `test_postgres` (feature `test-harness`): a throw-away schema per test on the server named
//!   by `LNEDGE_TEST_POSTGRES_URL` (`scripts/with-postgres` sets it).
//!
//! The features are independent, so a crate that stores only in SQLite does not build the
//! PostgreSQL client, and the other way round.
#![warn(missing_docs)]

pub mod clock;
pub mod column;
pub mod dir_lock;
mod error;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "test-harness")]
pub mod test_postgres;

pub use error::StorageError;
