//! TLV streams (BOLT 1 framing, lnd `tlv` semantics): a strict reader, a writer that merges
//! unknown records back in type order, and the fixed-size field codecs shared by the messages.

use crate::bigsize;
use crate::error::{DecodeError, LengthRule};
use serde::{Deserialize, Serialize};

/// One record of a TLV stream, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The record type.
    pub tlv: u64,
    /// The record value.
    pub value: &'a [u8],
}

/// Iterates over the records of a TLV stream, rejecting disorder, duplicates, non-canonical
/// BigSizes and lengths that run past the end. It stops at the first error.
#[derive(Debug, Clone)]
pub struct TlvReader<'a> {
    input: &'a [u8],
    pos: usize,
    previous: Option<u64>,
    failed: bool,
}

impl<'a> TlvReader<'a> {
    /// A reader over a whole stream.
    pub fn new(input: &'a [u8]) -> Self {
        Self {
            input,
            pos: 0,
            previous: None,
            failed: false,
        }
    }

    #[inline]
    fn next_record(&mut self) -> Result<Record<'a>, DecodeError> {
        let rest = &self.input[self.pos..];
        let (tlv, n) = bigsize::read(rest, self.pos)?;
        if let Some(previous) = self.previous {
            if tlv <= previous {
                return Err(DecodeError::NotStrictlyIncreasing {
                    previous,
                    found: tlv,
                });
            }
        }
        let len_at = self.pos + n;
        let (len, m) = bigsize::read(&rest[n..], len_at)?;
        let start = len_at + m;
        let available = self.input.len() - start;
        if len > available as u64 {
            return Err(DecodeError::Truncated {
                what: "TLV value",
                needed: usize::try_from(len - available as u64).unwrap_or(usize::MAX),
                offset: start,
            });
        }
        let end = start + len as usize;
        self.pos = end;
        self.previous = Some(tlv);
        Ok(Record {
            tlv,
            value: &self.input[start..end],
        })
    }
}

impl<'a> Iterator for TlvReader<'a> {
    type Item = Result<Record<'a>, DecodeError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.input.len() {
            return None;
        }
        let item = self.next_record();
        self.failed = item.is_err();
        Some(item)
    }
}

/// Appends a record header (type and length).
#[inline]
pub fn write_header(out: &mut Vec<u8>, tlv: u64, len: usize) {
    bigsize::write(out, tlv);
    bigsize::write(out, len as u64);
}

/// Appends a whole record.
#[inline]
pub fn write_record(out: &mut Vec<u8>, tlv: u64, value: &[u8]) {
    write_header(out, tlv, value.len());
    out.extend_from_slice(value);
}

/// A record this crate does not interpret, kept so that decode → encode is byte-identical.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraRecord {
    /// The record type.
    #[serde(rename = "type")]
    pub tlv: u64,
    /// The raw value.
    #[serde(with = "crate::json::hex_bytes")]
    pub value: Vec<u8>,
}

/// Unknown records of one message, in strictly increasing type order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ExtraRecords(Vec<ExtraRecord>);

impl ExtraRecords {
    /// No extra records.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    /// Extra records from a list that must be in strictly increasing type order and must not
    /// use any of `known` (the types the message itself defines).
    pub fn from_records(
        records: Vec<ExtraRecord>,
        known: &[u64],
    ) -> Result<Self, crate::error::JsonFormError> {
        let mut previous: Option<u64> = None;
        for r in &records {
            if known.contains(&r.tlv) {
                return Err(crate::error::JsonFormError::BadExtraRecord {
                    tlv: r.tlv,
                    reason: "collides with a field of this message",
                });
            }
            if previous.is_some_and(|p| r.tlv <= p) {
                return Err(crate::error::JsonFormError::BadExtraRecord {
                    tlv: r.tlv,
                    reason: "types must be strictly increasing",
                });
            }
            previous = Some(r.tlv);
        }
        Ok(Self(records))
    }

    /// The records.
    pub fn as_slice(&self) -> &[ExtraRecord] {
        &self.0
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds a record read from a stream (the reader guarantees order).
    pub(crate) fn push_decoded(&mut self, record: Record<'_>) {
        self.0.push(ExtraRecord {
            tlv: record.tlv,
            value: record.value.to_vec(),
        });
    }
}

/// Writes known fields in type order while merging the unknown records back in place.
/// A known field wins over an extra record of the same type.
pub(crate) struct StreamWriter<'a> {
    out: &'a mut Vec<u8>,
    extras: &'a [ExtraRecord],
}

impl<'a> StreamWriter<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>, extras: &'a ExtraRecords) -> Self {
        Self {
            out,
            extras: &extras.0,
        }
    }

    /// Flushes the extra records below `tlv` and drops one equal to it, then returns the
    /// output buffer for the caller to write the field.
    #[inline]
    pub(crate) fn at(&mut self, tlv: u64) -> &mut Vec<u8> {
        while let Some((first, rest)) = self.extras.split_first() {
            if first.tlv > tlv {
                break;
            }
            if first.tlv < tlv {
                write_record(self.out, first.tlv, &first.value);
            }
            self.extras = rest;
        }
        self.out
    }

    #[inline]
    pub(crate) fn u8(&mut self, tlv: u64, value: u8) {
        let out = self.at(tlv);
        write_header(out, tlv, 1);
        out.push(value);
    }

    #[inline]
    pub(crate) fn u64(&mut self, tlv: u64, value: u64) {
        let out = self.at(tlv);
        write_header(out, tlv, 8);
        out.extend_from_slice(&value.to_be_bytes());
    }

    #[inline]
    pub(crate) fn bytes(&mut self, tlv: u64, value: &[u8]) {
        let out = self.at(tlv);
        write_record(out, tlv, value);
    }

    /// Writes the remaining extra records.
    #[inline]
    pub(crate) fn finish(self) {
        for r in self.extras {
            write_record(self.out, r.tlv, &r.value);
        }
    }
}

/// Field codecs: each checks the record length strictly.
pub(crate) mod field {
    use super::*;

    #[inline]
    fn exact<const N: usize>(r: Record<'_>) -> Result<[u8; N], DecodeError> {
        r.value.try_into().map_err(|_| DecodeError::BadLength {
            tlv: r.tlv,
            expected: LengthRule::Exactly(N as u64),
            found: r.value.len() as u64,
        })
    }

    pub(crate) fn u8(r: Record<'_>) -> Result<u8, DecodeError> {
        exact::<1>(r).map(|b| b[0])
    }

    pub(crate) fn u64(r: Record<'_>) -> Result<u64, DecodeError> {
        exact::<8>(r).map(u64::from_be_bytes)
    }

    pub(crate) fn bytes32(r: Record<'_>) -> Result<[u8; 32], DecodeError> {
        exact::<32>(r)
    }

    pub(crate) fn bytes33(r: Record<'_>) -> Result<[u8; 33], DecodeError> {
        exact::<33>(r)
    }

    pub(crate) fn bytes64(r: Record<'_>) -> Result<[u8; 64], DecodeError> {
        exact::<64>(r)
    }

    #[inline]
    pub(crate) fn bool(r: Record<'_>) -> Result<bool, DecodeError> {
        match u8(r)? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(DecodeError::InvalidBool { tlv: r.tlv, value }),
        }
    }

    #[inline]
    pub(crate) fn at_most(r: Record<'_>, max: usize) -> Result<&[u8], DecodeError> {
        if r.value.len() > max {
            return Err(DecodeError::BadLength {
                tlv: r.tlv,
                expected: LengthRule::AtMost(max as u64),
                found: r.value.len() as u64,
            });
        }
        Ok(r.value)
    }

    /// Returns the field or a `MissingField` error.
    #[inline]
    pub(crate) fn required<T>(
        v: Option<T>,
        tlv: u64,
        name: &'static str,
    ) -> Result<T, DecodeError> {
        v.ok_or(DecodeError::MissingField { tlv, name })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(input: &[u8]) -> Result<Vec<(u64, Vec<u8>)>, DecodeError> {
        TlvReader::new(input)
            .map(|r| r.map(|r| (r.tlv, r.value.to_vec())))
            .collect()
    }

    #[test]
    fn reads_in_order() {
        let got = records(&[0x00, 0x01, 0x07, 0x02, 0x00, 0xfd, 0x01, 0x00, 0x01, 0xaa]).unwrap();
        assert_eq!(got, vec![(0, vec![7]), (2, vec![]), (256, vec![0xaa])]);
    }

    #[test]
    fn rejects_duplicate_and_disorder() {
        assert_eq!(
            records(&[0x02, 0x00, 0x02, 0x00]),
            Err(DecodeError::NotStrictlyIncreasing {
                previous: 2,
                found: 2
            })
        );
        assert_eq!(
            records(&[0x04, 0x00, 0x02, 0x00]),
            Err(DecodeError::NotStrictlyIncreasing {
                previous: 4,
                found: 2
            })
        );
    }

    #[test]
    fn rejects_length_past_end() {
        assert_eq!(
            records(&[0x02, 0x05, 0x01]),
            Err(DecodeError::Truncated {
                what: "TLV value",
                needed: 4,
                offset: 2
            })
        );
        assert!(matches!(
            records(&[0x02]),
            Err(DecodeError::Truncated { .. })
        ));
        // A length as large as u64::MAX must not overflow anything.
        let mut huge = vec![0x02, 0xff];
        huge.extend_from_slice(&[0xff; 8]);
        assert!(matches!(records(&huge), Err(DecodeError::Truncated { .. })));
    }

    #[test]
    fn writer_merges_extras_and_known_wins() {
        let extras = ExtraRecords(vec![
            ExtraRecord {
                tlv: 1,
                value: vec![9],
            },
            ExtraRecord {
                tlv: 2,
                value: vec![8],
            },
            ExtraRecord {
                tlv: 99,
                value: vec![],
            },
        ]);
        let mut out = Vec::new();
        let mut w = StreamWriter::new(&mut out, &extras);
        w.u8(0, 1);
        w.u8(2, 5);
        w.finish();
        assert_eq!(out, vec![0, 1, 1, 1, 1, 9, 2, 1, 5, 99, 0]);
    }
}
