//! The column form of a [`StoredQuote`], shared by both backends.
//!
//! | column | type | content |
//! | --- | --- | --- |
//! | id | bytes (32) | quote id |
//! | scid | i64 | the id's SCID, bit-cast |
//! | peer | bytes (33) | counterparty node id |
//! | kind | small int | 0 Sale, 1 Purchase, 2 PeerAcceptedBuy, 3 PeerAcceptedSell |
//! | asset | bytes (32 or 33) | 32: asset id; 33: group key |
//! | rate_coefficient | bytes (16) | u128, big-endian |
//! | rate_scale | small int | 0..=255 |
//! | expiry, max_amount, min_amount, created_at | i64 | u64, bit-cast |
//! | request, accept | bytes | wire encoding (message data, without the type) |

use super::{CorruptReason, StoreError};
use crate::quote::{CircuitKey, QuoteKind, StoredQuote};
use rfq_wire::{AssetId, AssetSpecifier, FixedPoint, GroupKey, QuoteAccept, QuoteRequest, RfqId};

/// The newest schema version this build writes and reads (both backends).
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// u64 ↔ i64 by bit-cast (exact, reversible).
pub(crate) use lnedge_storage::column::{from_i64, to_i64};

/// A quote in column form.
pub(crate) struct QuoteRow {
    pub id: Vec<u8>,
    pub scid: i64,
    pub peer: Vec<u8>,
    pub kind: i16,
    pub asset: Vec<u8>,
    pub rate_coefficient: Vec<u8>,
    pub rate_scale: i16,
    pub expiry: i64,
    pub max_amount: i64,
    pub min_amount: Option<i64>,
    pub request: Vec<u8>,
    pub accept: Vec<u8>,
    pub created_at: i64,
}

fn kind_code(kind: QuoteKind) -> i16 {
    match kind {
        QuoteKind::Sale => 0,
        QuoteKind::Purchase => 1,
        QuoteKind::PeerAcceptedBuy => 2,
        QuoteKind::PeerAcceptedSell => 3,
    }
}

fn kind_from_code(code: i16) -> Result<QuoteKind, StoreError> {
    Ok(match code {
        0 => QuoteKind::Sale,
        1 => QuoteKind::Purchase,
        2 => QuoteKind::PeerAcceptedBuy,
        3 => QuoteKind::PeerAcceptedSell,
        other => return Err(corrupt("kind", CorruptReason::UnknownCode(other.into()))),
    })
}

fn corrupt(field: &'static str, reason: CorruptReason) -> StoreError {
    StoreError::Corrupt { field, reason }
}

/// Reads a fixed-length byte column.
pub(crate) fn fixed<const N: usize>(
    field: &'static str,
    bytes: &[u8],
) -> Result<[u8; N], StoreError> {
    bytes.try_into().map_err(|_| {
        corrupt(
            field,
            CorruptReason::Length {
                expected: N,
                found: bytes.len(),
            },
        )
    })
}

/// Reads an id column.
pub(crate) fn rfq_id(field: &'static str, bytes: &[u8]) -> Result<RfqId, StoreError> {
    fixed::<32>(field, bytes).map(RfqId)
}

/// Reads a circuit from its two columns.
pub(crate) fn circuit(channel: &[u8], htlc_id: i64) -> Result<CircuitKey, StoreError> {
    Ok(CircuitKey {
        channel: fixed::<32>("channel", channel)?,
        htlc_id: from_i64(htlc_id),
    })
}

impl QuoteRow {
    pub(crate) fn from_quote(q: &StoredQuote) -> Self {
        let asset = match q.asset {
            AssetSpecifier::AssetId(id) => id.0.to_vec(),
            AssetSpecifier::GroupKey(key) => key.as_bytes().to_vec(),
        };
        QuoteRow {
            id: q.id.0.to_vec(),
            scid: to_i64(q.scid().0),
            peer: q.peer.to_vec(),
            kind: kind_code(q.kind),
            asset,
            rate_coefficient: q.rate.coefficient.to_be_bytes().to_vec(),
            rate_scale: q.rate.scale.into(),
            expiry: to_i64(q.expiry),
            max_amount: to_i64(q.max_amount),
            min_amount: q.min_amount.map(to_i64),
            request: q.request.encode(),
            accept: q.accept.encode(),
            created_at: to_i64(q.created_at),
        }
    }

    pub(crate) fn into_quote(self) -> Result<StoredQuote, StoreError> {
        let asset = match self.asset.len() {
            32 => AssetSpecifier::AssetId(AssetId(fixed("asset", &self.asset)?)),
            33 => AssetSpecifier::GroupKey(
                GroupKey::from_bytes(fixed("asset", &self.asset)?)
                    .ok_or(corrupt("asset", CorruptReason::GroupKey))?,
            ),
            found => {
                return Err(corrupt(
                    "asset",
                    CorruptReason::Length {
                        expected: 32,
                        found,
                    },
                ))
            }
        };
        let scale = u8::try_from(self.rate_scale).map_err(|_| {
            corrupt(
                "rate_scale",
                CorruptReason::UnknownCode(self.rate_scale.into()),
            )
        })?;
        Ok(StoredQuote {
            id: rfq_id("id", &self.id)?,
            peer: fixed("peer", &self.peer)?,
            kind: kind_from_code(self.kind)?,
            asset,
            rate: FixedPoint::new(
                u128::from_be_bytes(fixed("rate_coefficient", &self.rate_coefficient)?),
                scale,
            ),
            expiry: from_i64(self.expiry),
            max_amount: from_i64(self.max_amount),
            min_amount: self.min_amount.map(from_i64),
            request: QuoteRequest::decode(&self.request)
                .map_err(|e| corrupt("request", CorruptReason::Wire(e)))?,
            accept: QuoteAccept::decode(&self.accept)
                .map_err(|e| corrupt("accept", CorruptReason::Wire(e)))?,
            created_at: from_i64(self.created_at),
        })
    }
}

/// The SQL condition "`column` < `bound`" for a bit-cast u64 `column`, with `bound`
/// (bit-cast) bound to the placeholder `param`.
///
/// For `bound` ≤ i64::MAX (every real clock), the u64 values below `bound` are exactly the
/// non-negative i64 values below it; for a larger `bound` they are every non-negative value and
/// the negative ones below `bound` bit-cast.
pub(crate) fn u64_below(column: &str, param: &str, bound: u64) -> String {
    if bound <= i64::MAX as u64 {
        format!("({column} >= 0 AND {column} < {param})")
    } else {
        format!("({column} >= 0 OR {column} < {param})")
    }
}
