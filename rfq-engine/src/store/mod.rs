//! Durable, shareable storage of accepted quotes and of the HTLCs in flight against them.
//!
//! [`QuoteStore`] is the one interface; two real backends implement it (docs/design.md §4):
//!
//! - [`SqliteQuoteStore`]: an embedded SQLite file (WAL, `synchronous=FULL`), the default for a
//!   single node. Several stores may open the same file; writers exclude each other with
//!   `BEGIN IMMEDIATE`.
//! - [`PostgresQuoteStore`]: a PostgreSQL database that several node workers share, so that
//!   every worker sees the same accepted quotes and enforces one in-flight limit per quote.
//!
//! Every write resolves only after it is durable: a caller that stores a quote and then sends
//! the accept never acknowledges something a crash could forget (persist-then-accept).
//!
//! Amounts and times are `u64`. Both databases store them in signed 64-bit integer columns
//! (`INTEGER`, `BIGINT`) by bit-cast (`v as i64`, read back with `as u64`), which is exact for
//! every value. The only comparisons done in SQL — expiry in [`QuoteStore::remove_expired`],
//! the note time in [`QuoteStore::forget_request_ids`] — are written so that they stay exact
//! for values of 2^63 and above; in-flight sums are computed in Rust with 128-bit arithmetic,
//! never in SQL; and lists are sorted in Rust.

mod postgres;
mod row;
mod sqlite;

pub use postgres::{PostgresOptions, PostgresQuoteStore};
pub use sqlite::SqliteQuoteStore;

use crate::quote::{CircuitKey, StoredQuote};
use rfq_wire::{RfqId, Scid};
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, `Send` future: what the methods of the object-safe [`QuoteStore`] return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One reservation as [`QuoteStore::list_in_flight`] returns it: the HTLC's circuit, the quote
/// it is reserved against, and its msat.
pub type InFlightHtlc = (CircuitKey, RfqId, u64);

/// The outcome of [`QuoteStore::reserve_in_flight`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reservation {
    /// The HTLC was recorded; `total_in_flight` is the quote's in-flight msat including it.
    Reserved {
        /// The quote's in-flight msat after this reservation.
        total_in_flight: u64,
    },
    /// This circuit was already reserved (a repeated interception, e.g. after a restart);
    /// nothing changed. Holds the msat recorded for it.
    AlreadyReserved(u64),
    /// Recording the HTLC would take the quote's in-flight msat above its maximum; nothing
    /// changed.
    ExceedsMax {
        /// The quote's in-flight msat before this request.
        in_flight: u64,
        /// The msat requested.
        requested: u64,
        /// The maximum given by the caller.
        max: u64,
    },
    /// No quote with that id is stored (never stored, cancelled or expired and removed).
    UnknownQuote,
}

/// Why a stored value could not be read back as what it should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CorruptReason {
    /// A byte column had the wrong length.
    #[error("length {found}, expected {expected}")]
    Length {
        /// The length the column must have (for an asset: 32 or 33).
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// An enumeration column held a code this build does not know.
    #[error("unknown code {0}")]
    UnknownCode(i64),
    /// A group key column did not hold a valid compressed point.
    #[error("not a valid group key")]
    GroupKey,
    /// A stored request or accept no longer decodes.
    #[error("wire bytes do not decode")]
    Wire(#[source] rfq_wire::DecodeError),
}

/// A quote store failure.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed (I/O, connection, busy past the timeout, ...). The operation may or
    /// may not have taken effect only when the failure happened while committing; every other
    /// failure left the store unchanged.
    #[error("{backend} quote store failed")]
    Backend {
        /// `"sqlite"` or `"postgres"`.
        backend: &'static str,
        /// The backend's error.
        #[source]
        source: Arc<dyn StdError + Send + Sync>,
    },
    /// A quote with this id is already stored.
    #[error("a quote with id {id} is already stored")]
    DuplicateId {
        /// The id.
        id: RfqId,
    },
    /// Another quote with the same SCID alias (the id's last 8 bytes) is already stored: HTLCs
    /// to that SCID could not tell the two apart.
    #[error("a quote with SCID {scid} is already stored")]
    DuplicateScid {
        /// The SCID.
        scid: Scid,
    },
    /// A stored row could not be read back.
    #[error("stored {field} is corrupt: {reason}")]
    Corrupt {
        /// The column.
        field: &'static str,
        /// What is wrong with it.
        reason: CorruptReason,
    },
    /// The database was created by a newer build with a schema this build does not know.
    #[error("store schema version {found} is newer than the {supported} this build supports")]
    SchemaTooNew {
        /// The version found in the database.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The store was configured with a value it cannot use.
    #[error("invalid quote store configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: &'static str,
    },
    /// The operation kept losing races with other workers on the same database, past the
    /// retry limit. Nothing changed; it may be tried again.
    #[error("the quote store operation kept conflicting with other workers")]
    Contended,
    /// The store's background worker has stopped (it panicked, or the runtime is shutting down).
    #[error("the quote store's worker has stopped")]
    Closed,
}

// How the SQLite and PostgreSQL machinery of lnedge-storage reports into this type.
lnedge_storage::impl_store_error!(StoreError: sqlite, postgres);

/// Durable storage of accepted quotes, the request ids peers have used, and the HTLCs in flight
/// against each quote.
///
/// Object safe: hold it as `Arc<dyn QuoteStore>`. Every method returns once its effect is
/// durable (writes) or with committed data (reads). Several stores — threads, processes or
/// node workers — may share one database; [`QuoteStore::reserve_in_flight`] stays atomic
/// across all of them.
///
/// The store reads the clock only to stamp [`QuoteStore::note_request_id`]; expiry is always
/// judged against the `now` the caller passes.
pub trait QuoteStore: Send + Sync {
    /// Stores a quote. Fails with [`StoreError::DuplicateId`] if its id is stored already, and
    /// with [`StoreError::DuplicateScid`] if another stored quote has the same SCID.
    fn insert_quote<'a>(&'a self, quote: &'a StoredQuote) -> BoxFuture<'a, Result<(), StoreError>>;

    /// The quote with this id, if stored (expired quotes stay until
    /// [`QuoteStore::remove_expired`] removes them).
    fn get_quote(&self, id: RfqId) -> BoxFuture<'_, Result<Option<StoredQuote>, StoreError>>;

    /// The quote whose SCID alias is `scid` (a [`Scid`]'s value), if stored.
    fn get_quote_by_scid(
        &self,
        scid: u64,
    ) -> BoxFuture<'_, Result<Option<StoredQuote>, StoreError>>;

    /// Every stored quote, oldest `created_at` first (ties by id).
    fn list_quotes(&self) -> BoxFuture<'_, Result<Vec<StoredQuote>, StoreError>>;

    /// Removes a quote (cancellation) and its in-flight rows. Returns whether it was stored.
    fn remove_quote(&self, id: RfqId) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// Removes every quote with `expiry < now` — a quote holds through its expiry second, as in
    /// tapd — together with its in-flight rows. Returns the removed ids.
    fn remove_expired(&self, now: u64) -> BoxFuture<'_, Result<Vec<RfqId>, StoreError>>;

    /// Records that `peer` sent a request with `id`. Returns `false` if that (peer, id) pair was
    /// recorded before — by this or any other store on the same database, before or after a
    /// restart — so that a replayed request can be rejected.
    fn note_request_id(&self, peer: [u8; 33], id: RfqId)
        -> BoxFuture<'_, Result<bool, StoreError>>;

    /// Forgets the request ids recorded before `noted_before` (Unix seconds, by the recording
    /// store's clock), so that the table does not grow without bound. Forget only ids whose
    /// requests have certainly expired. Returns how many were forgotten.
    fn forget_request_ids(&self, noted_before: u64) -> BoxFuture<'_, Result<u64, StoreError>>;

    /// Atomically reserves `msat` of the quote's capacity for the HTLC `circuit`:
    ///
    /// 1. no quote `quote_id` → [`Reservation::UnknownQuote`];
    /// 2. `circuit` already reserved → [`Reservation::AlreadyReserved`] with its msat
    ///    (idempotent; nothing changes);
    /// 3. in-flight msat of the quote + `msat` ≤ `max_msat` → recorded,
    ///    [`Reservation::Reserved`] with the new total;
    /// 4. otherwise [`Reservation::ExceedsMax`], nothing recorded.
    ///
    /// Correct when many stores on one database race on the same quote: the sum of the
    /// reservations granted never exceeds `max_msat`. Expiry is not checked here.
    fn reserve_in_flight(
        &self,
        quote_id: RfqId,
        circuit: CircuitKey,
        msat: u64,
        max_msat: u64,
    ) -> BoxFuture<'_, Result<Reservation, StoreError>>;

    /// Releases an HTLC's reservation (it settled or failed). Returns the msat it held, or
    /// `None` if it held none (never reserved, released already, or its quote was removed).
    fn release_in_flight(
        &self,
        circuit: CircuitKey,
    ) -> BoxFuture<'_, Result<Option<u64>, StoreError>>;

    /// The quote's reserved msat (0 for an unknown quote).
    fn in_flight_total(&self, quote_id: RfqId) -> BoxFuture<'_, Result<u64, StoreError>>;

    /// Every reservation, as (circuit, quote id, msat): what a restarted node reloads.
    fn list_in_flight(&self) -> BoxFuture<'_, Result<Vec<InFlightHtlc>, StoreError>>;
}

/// Adds up in-flight msat without overflow (a sum above `u64::MAX` saturates; it cannot arise
/// through [`QuoteStore::reserve_in_flight`], whose limit is a `u64`).
pub(crate) fn sum_msat(values: impl IntoIterator<Item = u64>) -> u128 {
    values.into_iter().map(u128::from).sum()
}

/// The reservation decision once the quote is locked and the circuit is known to be new.
pub(crate) fn decide(in_flight: u128, msat: u64, max_msat: u64) -> Result<u64, Reservation> {
    let total = in_flight + u128::from(msat);
    if total <= u128::from(max_msat) {
        // total ≤ max_msat ≤ u64::MAX.
        Ok(total as u64)
    } else {
        Err(Reservation::ExceedsMax {
            in_flight: u64::try_from(in_flight).unwrap_or(u64::MAX),
            requested: msat,
            max: max_msat,
        })
    }
}
