//! HTLC custom records that carry asset amounts and quote ids on `update_add_htlc`
//! (spec §10): asset balances (65536), RFQ id (65538), available RFQ ids (65540) and lnd's
//! noop-add flag (65544).

use crate::asset::AssetId;
use crate::bigsize;
use crate::error::{DecodeError, JsonFormError};
use crate::id::RfqId;
use crate::tlv::{field, write_header, ExtraRecord, ExtraRecords, Record, StreamWriter, TlvReader};
use serde::{Deserialize, Serialize};

/// TLV numbers of the HTLC custom records.
pub mod tlv {
    #![allow(missing_docs)]
    pub const ASSET_BALANCES: u64 = 65536;
    pub const RFQ_ID: u64 = 65538;
    pub const AVAILABLE_RFQ_IDS: u64 = 65540;
    pub const NOOP_ADD: u64 = 65544;
    /// Every type above, for checking extra records against.
    pub const ALL: [u64; 4] = [65536, 65538, 65540, 65544];
    /// The first custom record type of BOLT 2's `update_add_htlc`.
    pub const CUSTOM_RANGE_START: u64 = 65536;
    /// Types inside one asset balance entry.
    pub const BALANCE_ASSET_ID: u64 = 0;
    pub const BALANCE_AMOUNT: u64 = 1;
}

/// Most asset balances one HTLC may carry.
pub const MAX_ASSET_BALANCES: u64 = 2048;
/// Most quote ids one HTLC may offer (tapd's `MaxSendPaymentQuotes`).
pub const MAX_AVAILABLE_RFQ_IDS: u64 = 50;

/// One asset amount on an HTLC. `asset_id` is the asset id, or a group key's x-only form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetBalance {
    /// Nested TLV 0.
    pub asset_id: AssetId,
    /// Nested TLV 1: asset units.
    pub amount: u64,
    /// Unknown nested records, kept.
    #[serde(
        default,
        skip_serializing_if = "ExtraRecords::is_empty",
        with = "extras_json"
    )]
    pub extra: ExtraRecords,
}

/// The RFQ-related custom records of one HTLC. Absent records are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtlcRecords {
    /// 65536: asset balances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_balances: Option<Vec<AssetBalance>>,
    /// 65538: the quote this HTLC uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rfq_id: Option<RfqId>,
    /// 65540: quotes the sender could use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_rfq_ids: Option<Vec<RfqId>>,
    /// 65544: lnd's noop-add flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noop_add: Option<bool>,
    /// Other custom records, kept.
    #[serde(
        default,
        skip_serializing_if = "ExtraRecords::is_empty",
        with = "extras_json"
    )]
    pub extra: ExtraRecords,
}

impl HtlcRecords {
    /// Decodes a TLV stream of custom records (every type must be ≥ 65536).
    pub fn decode(stream: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_records(TlvReader::new(stream))
    }

    /// Decodes custom records handed over as (type, value) pairs, e.g. from a Lightning
    /// implementation's HTLC view. The pairs must be in strictly increasing type order.
    pub fn decode_pairs<'a>(
        pairs: impl IntoIterator<Item = (u64, &'a [u8])>,
    ) -> Result<Self, DecodeError> {
        let mut previous: Option<u64> = None;
        Self::decode_records(pairs.into_iter().map(|(tlv, value)| {
            if let Some(previous) = previous.filter(|&p| tlv <= p) {
                return Err(DecodeError::NotStrictlyIncreasing {
                    previous,
                    found: tlv,
                });
            }
            previous = Some(tlv);
            Ok(Record { tlv, value })
        }))
    }

    fn decode_records<'a>(
        records: impl Iterator<Item = Result<Record<'a>, DecodeError>>,
    ) -> Result<Self, DecodeError> {
        let mut out = HtlcRecords::default();
        for record in records {
            let r = record?;
            match r.tlv {
                tlv if tlv < tlv::CUSTOM_RANGE_START => {
                    return Err(DecodeError::NotCustomRecord { tlv })
                }
                tlv::ASSET_BALANCES => out.asset_balances = Some(decode_balances(r)?),
                tlv::RFQ_ID => out.rfq_id = Some(RfqId(field::bytes32(r)?)),
                tlv::AVAILABLE_RFQ_IDS => out.available_rfq_ids = Some(decode_ids(r)?),
                tlv::NOOP_ADD => out.noop_add = Some(field::bool(r)?),
                _ => out.extra.push_decoded(r),
            }
        }
        Ok(out)
    }

    /// Appends the records as one TLV stream.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut w = StreamWriter::new(out, &self.extra);
        if let Some(balances) = &self.asset_balances {
            let mut value = Vec::with_capacity(1 + balances.len() * 48);
            bigsize::write(&mut value, balances.len() as u64);
            let mut entry = Vec::with_capacity(48);
            for b in balances {
                entry.clear();
                let mut ew = StreamWriter::new(&mut entry, &b.extra);
                ew.bytes(tlv::BALANCE_ASSET_ID, &b.asset_id.0);
                ew.u64(tlv::BALANCE_AMOUNT, b.amount);
                ew.finish();
                bigsize::write(&mut value, entry.len() as u64);
                value.extend_from_slice(&entry);
            }
            w.bytes(tlv::ASSET_BALANCES, &value);
        }
        if let Some(id) = &self.rfq_id {
            w.bytes(tlv::RFQ_ID, &id.0);
        }
        if let Some(ids) = &self.available_rfq_ids {
            let out = w.at(tlv::AVAILABLE_RFQ_IDS);
            let count = ids.len() as u64;
            write_header(
                out,
                tlv::AVAILABLE_RFQ_IDS,
                bigsize::len(count) + 32 * ids.len(),
            );
            bigsize::write(out, count);
            for id in ids {
                out.extend_from_slice(&id.0);
            }
        }
        if let Some(flag) = self.noop_add {
            w.u8(tlv::NOOP_ADD, u8::from(flag));
        }
        w.finish();
    }

    /// The records as one TLV stream.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        self.encode_into(&mut out);
        out
    }

    /// The records as (type, value) pairs in type order, as a Lightning implementation takes
    /// custom records.
    pub fn to_pairs(&self) -> Vec<(u64, Vec<u8>)> {
        let stream = self.encode();
        TlvReader::new(&stream)
            .map(|r| {
                let r = r.expect("a stream this crate encoded is well formed");
                (r.tlv, r.value.to_vec())
            })
            .collect()
    }

    /// Total units of the balances whose id equals `asset_id` (saturating).
    pub fn units_of(&self, asset_id: &[u8; 32]) -> u64 {
        self.asset_balances
            .iter()
            .flatten()
            .filter(|b| &b.asset_id.0 == asset_id)
            .fold(0u64, |sum, b| sum.saturating_add(b.amount))
    }
}

fn decode_count(r: Record<'_>, max: u64) -> Result<(u64, &[u8]), DecodeError> {
    let (count, n) = bigsize::read(r.value, 0)?;
    if count > max {
        return Err(DecodeError::TooManyEntries {
            tlv: r.tlv,
            count,
            max,
        });
    }
    Ok((count, &r.value[n..]))
}

fn decode_ids(r: Record<'_>) -> Result<Vec<RfqId>, DecodeError> {
    let (count, rest) = decode_count(r, MAX_AVAILABLE_RFQ_IDS)?;
    let count = count as usize;
    if rest.len() < 32 * count {
        return Err(DecodeError::Truncated {
            what: "RFQ id list",
            needed: 32 * count - rest.len(),
            offset: r.value.len() - rest.len(),
        });
    }
    if rest.len() > 32 * count {
        return Err(DecodeError::TrailingBytes {
            tlv: r.tlv,
            trailing: rest.len() - 32 * count,
        });
    }
    Ok(rest
        .chunks_exact(32)
        .map(|c| RfqId(c.try_into().expect("chunks of 32")))
        .collect())
}

fn decode_balances(r: Record<'_>) -> Result<Vec<AssetBalance>, DecodeError> {
    let (count, mut rest) = decode_count(r, MAX_ASSET_BALANCES)?;
    let mut balances = Vec::with_capacity(count as usize);
    for index in 0..count as usize {
        let nested = |source| DecodeError::Nested {
            tlv: r.tlv,
            index,
            source: Box::new(source),
        };
        let offset = r.value.len() - rest.len();
        let (len, n) = bigsize::read(rest, offset).map_err(nested)?;
        let body = rest[n..]
            .get(..usize::try_from(len).unwrap_or(usize::MAX))
            .ok_or_else(|| {
                nested(DecodeError::Truncated {
                    what: "asset balance",
                    needed: usize::try_from(len)
                        .unwrap_or(usize::MAX)
                        .saturating_sub(rest.len() - n),
                    offset: offset + n,
                })
            })?;
        rest = &rest[n + body.len()..];
        balances.push(decode_balance(body).map_err(nested)?);
    }
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes {
            tlv: r.tlv,
            trailing: rest.len(),
        });
    }
    Ok(balances)
}

fn decode_balance(body: &[u8]) -> Result<AssetBalance, DecodeError> {
    let (mut asset_id, mut amount) = (None, None);
    let mut extra = ExtraRecords::new();
    for record in TlvReader::new(body) {
        let r = record?;
        match r.tlv {
            tlv::BALANCE_ASSET_ID => asset_id = Some(AssetId(field::bytes32(r)?)),
            tlv::BALANCE_AMOUNT => amount = Some(field::u64(r)?),
            _ => extra.push_decoded(r),
        }
    }
    Ok(AssetBalance {
        asset_id: field::required(asset_id, tlv::BALANCE_ASSET_ID, "asset_id")?,
        amount: field::required(amount, tlv::BALANCE_AMOUNT, "amount")?,
        extra,
    })
}

/// JSON for `ExtraRecords` fields of HTLC records: a checked list.
mod extras_json {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &ExtraRecords, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ExtraRecords, D::Error> {
        let records = Vec::<ExtraRecord>::deserialize(d)?;
        // Nested balance entries use types 0 and 1, the outer stream 65536+; checking both
        // known sets here keeps one helper for both places.
        let known = [tlv::BALANCE_ASSET_ID, tlv::BALANCE_AMOUNT]
            .into_iter()
            .chain(tlv::ALL)
            .collect::<Vec<_>>();
        ExtraRecords::from_records(records, &known)
            .map_err(|e: JsonFormError| serde::de::Error::custom(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_low_types_and_bad_lists() {
        assert_eq!(
            HtlcRecords::decode(&[0x02, 0x00]),
            Err(DecodeError::NotCustomRecord { tlv: 2 })
        );
        // 65540 with count 2 but one id.
        let mut s = vec![0xfe, 0, 1, 0, 4, 33, 2];
        s.extend_from_slice(&[7; 32]);
        assert!(matches!(
            HtlcRecords::decode(&s),
            Err(DecodeError::Truncated { .. })
        ));
        // 65540 with count 51.
        let s = [0xfe, 0, 1, 0, 4, 1, 51];
        assert_eq!(
            HtlcRecords::decode(&s),
            Err(DecodeError::TooManyEntries {
                tlv: 65540,
                count: 51,
                max: 50
            })
        );
        // noop flag 2.
        assert_eq!(
            HtlcRecords::decode(&[0xfe, 0, 1, 0, 8, 1, 2]),
            Err(DecodeError::InvalidBool {
                tlv: 65544,
                value: 2
            })
        );
    }

    #[test]
    fn full_round_trip_and_pairs() {
        let records = HtlcRecords {
            asset_balances: Some(vec![
                AssetBalance {
                    asset_id: AssetId([1; 32]),
                    amount: 5,
                    extra: ExtraRecords::new(),
                },
                AssetBalance {
                    asset_id: AssetId([1; 32]),
                    amount: 7,
                    extra: ExtraRecords::new(),
                },
            ]),
            rfq_id: Some(RfqId([2; 32])),
            available_rfq_ids: Some(vec![RfqId([3; 32]), RfqId([4; 32])]),
            noop_add: Some(true),
            extra: ExtraRecords::new(),
        };
        let bytes = records.encode();
        assert_eq!(HtlcRecords::decode(&bytes).unwrap(), records);
        let pairs = records.to_pairs();
        assert_eq!(pairs.len(), 4);
        let decoded =
            HtlcRecords::decode_pairs(pairs.iter().map(|(t, v)| (*t, v.as_slice()))).unwrap();
        assert_eq!(decoded, records);
        assert_eq!(records.units_of(&[1; 32]), 12);
        assert_eq!(records.units_of(&[9; 32]), 0);
        let swapped = [(65538u64, &[2u8; 32][..]), (65536, &[0][..])];
        assert!(matches!(
            HtlcRecords::decode_pairs(swapped),
            Err(DecodeError::NotStrictlyIncreasing { .. })
        ));
    }
}
