//! Durable storage of static invoices and of the recipients allowed to store them.
//!
//! [`StaticInvoiceStore`] is the one interface; two real backends implement it:
//!
//! - [`SqliteStaticInvoiceStore`]: an embedded SQLite file (WAL, `synchronous=FULL`, group
//!   commit), the default for a single server;
//! - [`PostgresStaticInvoiceStore`]: a PostgreSQL database that several server nodes share, so
//!   that each of them serves every recipient's invoices.
//!
//! Invoices are keyed by (recipient id, invoice slot) — the pair LDK hands out in
//! `Event::PersistStaticInvoice` and asks for again in `Event::StaticInvoiceRequested`. The value
//! is the invoice and its invoice request path in LDK's own serialization, with the time it was
//! stored and the time it expires (both Unix seconds). Only registered, unrevoked recipients can
//! store invoices, each up to its slot quota, and the number of recipients is capped
//! ([`StoreLimits`]).
//!
//! Every write resolves only after it is durable, so `static_invoice_persisted` can be sent
//! right after (persist-then-confirm).

mod postgres;
mod prune;
mod sqlite;

pub use postgres::{PostgresOptions, PostgresStaticInvoiceStore};
pub use prune::spawn_pruning;
pub use sqlite::SqliteStaticInvoiceStore;

use lightning::blinded_path::message::BlindedMessagePath;
use lightning::offers::static_invoice::StaticInvoice;
use lightning::util::ser::{Readable, Writeable};
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, `Send` future: what the methods of the object-safe [`StaticInvoiceStore`] return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The longest recipient id LDK accepts in `blinded_paths_for_async_recipient`, in bytes.
pub const MAX_RECIPIENT_ID_LEN: usize = 1024;

/// Quotas a store enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// Invoice slots a recipient may fill unless its registration sets its own quota. LDK's
    /// client keeps at most 10 offers, so 10 (the default) never refuses a well-behaved client.
    pub default_slot_quota: u16,
    /// Recipients (revoked ones included) that may be registered at once.
    pub max_recipients: u64,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            default_slot_quota: 10,
            max_recipients: 100_000,
        }
    }
}

/// A recipient as the registry keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The id given to LDK's `blinded_paths_for_async_recipient` (1 to 1024 bytes).
    pub id: Vec<u8>,
    /// A free-form name for operators.
    pub label: String,
    /// Its own slot quota, overriding [`StoreLimits::default_slot_quota`].
    pub slot_quota: Option<u16>,
    /// Revoked recipients have no invoices and may store none.
    pub revoked: bool,
    /// When it was registered, Unix seconds.
    pub registered_at: u64,
}

/// One stored static invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInvoice {
    /// The recipient id from `Event::PersistStaticInvoice`.
    pub recipient_id: Vec<u8>,
    /// The invoice slot from `Event::PersistStaticInvoice`.
    pub slot: u16,
    /// The invoice to serve.
    pub invoice: StaticInvoice,
    /// Where invoice requests are forwarded to the recipient, for
    /// `respond_to_static_invoice_request`.
    pub invoice_request_path: BlindedMessagePath,
    /// When it was stored, Unix seconds.
    pub created_at: u64,
    /// When it stops being servable, Unix seconds: see [`invoice_expires_at`].
    pub expires_at: u64,
}

impl StoredInvoice {
    /// The record for an invoice received at `now` (Unix seconds); its expiry comes from the
    /// invoice.
    pub fn new(
        recipient_id: Vec<u8>,
        slot: u16,
        invoice: StaticInvoice,
        invoice_request_path: BlindedMessagePath,
        now: u64,
    ) -> Self {
        let expires_at = invoice_expires_at(&invoice);
        StoredInvoice {
            recipient_id,
            slot,
            invoice,
            invoice_request_path,
            created_at: now,
            expires_at,
        }
    }
}

/// A stored invoice as bytes in LDK's serialization, before decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInvoiceBytes {
    /// The recipient id.
    pub recipient_id: Vec<u8>,
    /// The invoice slot.
    pub slot: u16,
    /// The static invoice (`Writeable` bytes).
    pub invoice: Vec<u8>,
    /// The invoice request path (`Writeable` bytes).
    pub invoice_request_path: Vec<u8>,
    /// When it was stored, Unix seconds.
    pub created_at: u64,
    /// When it stops being servable, Unix seconds.
    pub expires_at: u64,
}

impl StoredInvoiceBytes {
    /// Decodes the invoice (LDK parses it and verifies its signature) and the path.
    pub fn decode(self) -> Result<StoredInvoice, StoreError> {
        let invoice = StaticInvoice::try_from(self.invoice)
            .map_err(|_| StoreError::Corrupt(CorruptField::Invoice))?;
        let invoice_request_path = decode_path(&self.invoice_request_path)
            .ok_or(StoreError::Corrupt(CorruptField::InvoiceRequestPath))?;
        Ok(StoredInvoice {
            recipient_id: self.recipient_id,
            slot: self.slot,
            invoice,
            invoice_request_path,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

/// When a static invoice stops being servable, Unix seconds (stores keep at most `i64::MAX`): the earlier of its own expiry
/// (`created_at + relative_expiry`) and its offer's absolute expiry, if the offer has one. LDK
/// refuses to send it after that (`Bolt12SemanticError::AlreadyExpired`).
pub fn invoice_expires_at(invoice: &StaticInvoice) -> u64 {
    let own = invoice
        .created_at()
        .saturating_add(invoice.relative_expiry())
        .as_secs();
    match invoice.absolute_expiry() {
        Some(offer) => own.min(offer.as_secs()),
        None => own,
    }
}

/// What [`StaticInvoiceStore::persist_invoice`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persisted {
    /// The slot was empty.
    Inserted,
    /// The slot held an invoice, which this one replaced.
    Replaced,
}

/// Which stored bytes no longer decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorruptField {
    /// The static invoice.
    Invoice,
    /// The invoice request path.
    InvoiceRequestPath,
    /// A number column out of range (slot, quota or time).
    Number,
}

/// A store failure.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed (I/O, connection, busy past the timeout, ...). Only a failure while
    /// committing can leave it unknown whether the write took effect.
    #[error("{backend} static invoice store failed")]
    Backend {
        /// `"sqlite"` or `"postgres"`.
        backend: &'static str,
        /// The backend's error.
        #[source]
        source: Arc<dyn StdError + Send + Sync>,
    },
    /// The recipient id is not registered.
    #[error("recipient is not registered")]
    UnknownRecipient,
    /// The recipient was revoked.
    #[error("recipient is revoked")]
    Revoked,
    /// The recipient is registered already.
    #[error("recipient is already registered")]
    AlreadyRegistered,
    /// The recipient id is empty or longer than [`MAX_RECIPIENT_ID_LEN`].
    #[error("recipient id must be 1 to 1024 bytes, got {len}")]
    BadRecipientId {
        /// Its length.
        len: usize,
    },
    /// Storing this invoice in a new slot would exceed the recipient's slot quota.
    #[error("recipient already fills its quota of {quota} invoice slots")]
    QuotaExceeded {
        /// The recipient's quota.
        quota: u16,
    },
    /// Registering would exceed [`StoreLimits::max_recipients`].
    #[error("the store already holds its limit of {limit} recipients")]
    RecipientLimit {
        /// The limit.
        limit: u64,
    },
    /// A stored value could not be read back.
    #[error("stored {0:?} is corrupt")]
    Corrupt(CorruptField),
    /// The database was written by a newer schema than this build knows.
    #[error("store schema version {found} is newer than the {supported} this build supports")]
    SchemaTooNew {
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The store was configured with a value it cannot use.
    #[error("invalid static invoice store configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: &'static str,
    },
    /// The store's background worker has stopped.
    #[error("the static invoice store's worker has stopped")]
    Closed,
}

// How the SQLite and PostgreSQL machinery of lnedge-storage reports into this type.
lnedge_storage::impl_store_error!(StoreError: sqlite, postgres);

/// Durable storage of static invoices and of the recipient registry.
///
/// Object safe: hold it as `Arc<dyn StaticInvoiceStore>`. Writes resolve once durable; reads see
/// committed data. Several stores (threads, processes, server nodes) may share one database, and
/// the quota checks stay exact across them.
pub trait StaticInvoiceStore: Send + Sync {
    /// Registers a recipient at `now` with an optional slot quota of its own. Fails with
    /// [`StoreError::AlreadyRegistered`], [`StoreError::RecipientLimit`] or
    /// [`StoreError::BadRecipientId`].
    fn register_recipient<'a>(
        &'a self,
        id: &'a [u8],
        label: &'a str,
        slot_quota: Option<u16>,
        now: u64,
    ) -> BoxFuture<'a, Result<Recipient, StoreError>>;

    /// The recipient, if registered (revoked or not).
    fn recipient<'a>(
        &'a self,
        id: &'a [u8],
    ) -> BoxFuture<'a, Result<Option<Recipient>, StoreError>>;

    /// Every registered recipient, by id.
    fn list_recipients(&self) -> BoxFuture<'_, Result<Vec<Recipient>, StoreError>>;

    /// Revokes a recipient: deletes its invoices (returning how many) and refuses its future
    /// invoices. Its registration stays, so it cannot silently come back.
    /// [`StoreError::UnknownRecipient`] if it is not registered.
    fn revoke_recipient<'a>(&'a self, id: &'a [u8]) -> BoxFuture<'a, Result<u64, StoreError>>;

    /// Forgets a recipient entirely: registration and invoices. Returns whether it was registered.
    fn remove_recipient<'a>(&'a self, id: &'a [u8]) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Stores an invoice in its (recipient, slot), replacing what the slot held. Refuses
    /// unregistered ([`StoreError::UnknownRecipient`]) and revoked ([`StoreError::Revoked`])
    /// recipients, and a new slot beyond the recipient's quota ([`StoreError::QuotaExceeded`]).
    fn persist_invoice<'a>(
        &'a self,
        invoice: &'a StoredInvoice,
    ) -> BoxFuture<'a, Result<Persisted, StoreError>>;

    /// The invoice in (recipient, slot) as stored, not yet decoded, if any (expired ones stay
    /// until pruned). Decoding ([`StoredInvoiceBytes::decode`]) is LDK's parse of the invoice,
    /// which verifies its signature and costs far more than the lookup (see BENCHMARKS.md).
    fn get_invoice_bytes<'a>(
        &'a self,
        recipient_id: &'a [u8],
        slot: u16,
    ) -> BoxFuture<'a, Result<Option<StoredInvoiceBytes>, StoreError>>;

    /// The invoice in (recipient, slot), decoded, if any (expired ones stay until pruned).
    fn get_invoice<'a>(
        &'a self,
        recipient_id: &'a [u8],
        slot: u16,
    ) -> BoxFuture<'a, Result<Option<StoredInvoice>, StoreError>> {
        Box::pin(async move {
            self.get_invoice_bytes(recipient_id, slot)
                .await?
                .map(StoredInvoiceBytes::decode)
                .transpose()
        })
    }

    /// A recipient's invoices, by slot.
    fn list_invoices<'a>(
        &'a self,
        recipient_id: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<StoredInvoice>, StoreError>>;

    /// Deletes every invoice with `expires_at < now` (an invoice is servable through its expiry
    /// second). Returns how many were deleted.
    fn prune_expired(&self, now: u64) -> BoxFuture<'_, Result<u64, StoreError>>;

    /// How many invoices are stored in all.
    fn invoice_count(&self) -> BoxFuture<'_, Result<u64, StoreError>>;
}

pub use lnedge_storage::clock::unix_now;

pub(crate) fn check_recipient_id(id: &[u8]) -> Result<(), StoreError> {
    if id.is_empty() || id.len() > MAX_RECIPIENT_ID_LEN {
        return Err(StoreError::BadRecipientId { len: id.len() });
    }
    Ok(())
}

/// Rows hold `u64` times in signed 64-bit columns by bit-cast (exact for every value); the
/// one comparison in SQL (pruning) is only ever made with realistic times (< 2^63).
pub(crate) use lnedge_storage::column::{from_i64, to_i64};

/// The raw column values of one invoice row.
pub(crate) struct InvoiceRow {
    pub recipient_id: Vec<u8>,
    pub slot: i64,
    pub invoice: Vec<u8>,
    pub path: Vec<u8>,
    pub created_at: i64,
    pub expires_at: i64,
}

impl InvoiceRow {
    pub(crate) fn from_invoice(i: &StoredInvoice) -> Self {
        InvoiceRow {
            recipient_id: i.recipient_id.clone(),
            slot: i64::from(i.slot),
            invoice: i.invoice.encode(),
            path: i.invoice_request_path.encode(),
            created_at: to_i64(i.created_at),
            // Clamped so that the SQL comparison in pruning stays exact.
            expires_at: to_i64(i.expires_at.min(i64::MAX as u64)),
        }
    }

    pub(crate) fn into_bytes(self) -> Result<StoredInvoiceBytes, StoreError> {
        let slot =
            u16::try_from(self.slot).map_err(|_| StoreError::Corrupt(CorruptField::Number))?;
        Ok(StoredInvoiceBytes {
            recipient_id: self.recipient_id,
            slot,
            invoice: self.invoice,
            invoice_request_path: self.path,
            created_at: from_i64(self.created_at),
            expires_at: from_i64(self.expires_at),
        })
    }

    pub(crate) fn into_invoice(self) -> Result<StoredInvoice, StoreError> {
        self.into_bytes()?.decode()
    }
}

/// Decodes exactly one `BlindedMessagePath` from `bytes` (trailing bytes are an error).
pub(crate) fn decode_path(bytes: &[u8]) -> Option<BlindedMessagePath> {
    let mut rest = bytes;
    let path: BlindedMessagePath = Readable::read(&mut rest).ok()?;
    rest.is_empty().then_some(path)
}

/// The raw column values of one recipient row.
pub(crate) struct RecipientRow {
    pub id: Vec<u8>,
    pub label: String,
    pub slot_quota: Option<i64>,
    pub revoked: bool,
    pub registered_at: i64,
}

impl RecipientRow {
    pub(crate) fn into_recipient(self) -> Result<Recipient, StoreError> {
        let slot_quota = self
            .slot_quota
            .map(u16::try_from)
            .transpose()
            .map_err(|_| StoreError::Corrupt(CorruptField::Number))?;
        Ok(Recipient {
            id: self.id,
            label: self.label,
            slot_quota,
            revoked: self.revoked,
            registered_at: from_i64(self.registered_at),
        })
    }
}
