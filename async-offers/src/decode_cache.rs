//! [`DecodeCache`]: decoded invoices of recently served recipients, so that answering an
//! invoice request costs the store's lookup and not LDK's decode of the invoice each time.
//!
//! Decoding (`StaticInvoice::try_from`: parse, merkle root, signature check) costs several
//! times the store's lookup (BENCHMARKS.md). The store is still read on every request, so a
//! revocation or a replaced invoice, also by another server node sharing the store, is seen at
//! once: a cached decode is used only when the stored bytes are exactly the bytes it was
//! decoded from.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::{StoreError, StoredInvoice, StoredInvoiceBytes};

/// Entries kept by default.
pub const DEFAULT_CAPACITY: usize = 4096;

/// (recipient id, slot) → the bytes read and their decode.
type Entries = HashMap<(Vec<u8>, u16), (StoredInvoiceBytes, StoredInvoice)>;

/// A bounded map from (recipient, slot) to the bytes read and their decode.
#[derive(Debug)]
pub struct DecodeCache {
    capacity: usize,
    entries: Mutex<Entries>,
}

impl Default for DecodeCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl DecodeCache {
    /// A cache of at most `capacity` invoices (0 caches nothing).
    pub fn new(capacity: usize) -> Self {
        DecodeCache {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `bytes` decoded: from the cache when these exact bytes were decoded before.
    pub fn decode(&self, bytes: StoredInvoiceBytes) -> Result<StoredInvoice, StoreError> {
        let key = (bytes.recipient_id.clone(), bytes.slot);
        if let Some((seen, decoded)) = self.lock().get(&key) {
            if *seen == bytes {
                return Ok(decoded.clone());
            }
        }
        let decoded = bytes.clone().decode()?;
        if self.capacity > 0 {
            let mut entries = self.lock();
            if entries.len() >= self.capacity && !entries.contains_key(&key) {
                // Full: make room by dropping an arbitrary entry (memory stays bounded; a
                // dropped recipient is decoded again on its next request).
                if let Some(victim) = entries.keys().next().cloned() {
                    entries.remove(&victim);
                }
            }
            entries.insert(key, (bytes, decoded.clone()));
        }
        Ok(decoded)
    }

    /// Invoices held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}
