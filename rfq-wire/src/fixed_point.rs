//! `FixedPoint`: a rate as coefficient / 10^scale, in tapd's wire form (spec §2, §7.1).
//!
//! This module owns only the representation and its encoding. The arithmetic (rescaling,
//! conversions between msat and asset units) belongs to `rfq-engine`.

use crate::error::{DecodeError, JsonFormError, LengthRule};
use crate::tlv::Record;
use serde::{Deserialize, Serialize};

/// value = coefficient / 10^scale. Rates are asset units per BTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(into = "FixedPointJson", try_from = "FixedPointJson")]
pub struct FixedPoint {
    /// The unscaled integer.
    pub coefficient: u128,
    /// The number of decimal places.
    pub scale: u8,
}

impl FixedPoint {
    /// tapd's BTC-side constant in accepts (`MilliSatPerBtc`): coefficient 10^11 at scale 9.
    pub const MSAT_PER_BTC: FixedPoint = FixedPoint {
        coefficient: 100_000_000_000,
        scale: 9,
    };

    /// A fixed point from its coefficient and scale.
    pub const fn new(coefficient: u128, scale: u8) -> Self {
        Self { coefficient, scale }
    }

    /// The length of the wire value: scale byte plus the minimal big-endian coefficient.
    #[inline]
    pub fn wire_len(&self) -> usize {
        1 + coefficient_len(self.coefficient)
    }

    /// Appends the wire value (without a TLV header).
    #[inline]
    pub fn write_value(&self, out: &mut Vec<u8>) {
        out.push(self.scale);
        let bytes = self.coefficient.to_be_bytes();
        out.extend_from_slice(&bytes[16 - coefficient_len(self.coefficient)..]);
    }

    /// Decodes the value of record `r`. Leading zero bytes in the coefficient are accepted
    /// (Go's `big.Int` ignores them); the encoder always writes the minimal form.
    #[inline]
    pub fn decode(r: Record<'_>) -> Result<Self, DecodeError> {
        let (&scale, coefficient) = r.value.split_first().ok_or(DecodeError::BadLength {
            tlv: r.tlv,
            expected: LengthRule::AtLeast(1),
            found: 0,
        })?;
        let first = coefficient
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(coefficient.len());
        let significant = &coefficient[first..];
        if significant.len() > 16 {
            return Err(DecodeError::CoefficientTooWide {
                tlv: r.tlv,
                bytes: significant.len(),
            });
        }
        let coefficient = significant
            .iter()
            .fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
        Ok(Self { coefficient, scale })
    }
}

impl core::fmt::Display for FixedPoint {
    /// The exact decimal value, e.g. `{42000, 2}` prints as `420.00`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let digits = self.coefficient.to_string();
        let scale = usize::from(self.scale);
        if scale == 0 {
            return f.write_str(&digits);
        }
        if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            write!(f, "{int}.{frac}")
        } else {
            write!(f, "0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    }
}

fn coefficient_len(c: u128) -> usize {
    (128 - c.leading_zeros() as usize).div_ceil(8)
}

/// JSON form: the coefficient as a decimal string (it may exceed 2^53), the scale as a number.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixedPointJson {
    coefficient: String,
    scale: u8,
}

impl From<FixedPoint> for FixedPointJson {
    fn from(v: FixedPoint) -> Self {
        Self {
            coefficient: v.coefficient.to_string(),
            scale: v.scale,
        }
    }
}

impl TryFrom<FixedPointJson> for FixedPoint {
    type Error = JsonFormError;

    fn try_from(v: FixedPointJson) -> Result<Self, Self::Error> {
        if v.coefficient.is_empty() || !v.coefficient.bytes().all(|b| b.is_ascii_digit()) {
            return Err(JsonFormError::BadCoefficient(v.coefficient));
        }
        let coefficient = v
            .coefficient
            .parse()
            .map_err(|_| JsonFormError::BadCoefficient(v.coefficient.clone()))?;
        Ok(Self {
            coefficient,
            scale: v.scale,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(c: u128, s: u8) -> Vec<u8> {
        let mut out = Vec::new();
        FixedPoint::new(c, s).write_value(&mut out);
        out
    }

    #[test]
    fn spec_byte_table() {
        assert_eq!(enc(0, 0), [0x00]);
        assert_eq!(enc(255, 0), [0x00, 0xff]);
        assert_eq!(enc(256, 3), [0x03, 0x01, 0x00]);
        assert_eq!(enc(42_000, 2), [0x02, 0xa4, 0x10]);
        assert_eq!(enc(6_791_890, 2), [0x02, 0x67, 0xa2, 0xd2]);
        assert_eq!(
            enc(100_000_000_000, 9),
            [0x09, 0x17, 0x48, 0x76, 0xe8, 0x00]
        );
        assert_eq!(enc(u128::MAX, 1).len(), 17);
    }

    #[test]
    fn decode_rules() {
        let r = |value: &'static [u8]| Record { tlv: 8, value };
        assert_eq!(
            FixedPoint::decode(r(&[2, 0, 0, 0xa4, 0x10])).unwrap(),
            FixedPoint::new(42_000, 2)
        );
        assert_eq!(
            FixedPoint::decode(r(&[])),
            Err(DecodeError::BadLength {
                tlv: 8,
                expected: LengthRule::AtLeast(1),
                found: 0
            })
        );
        let mut wide = vec![0u8, 1];
        wide.extend_from_slice(&[0; 16]);
        let wide: &'static [u8] = Box::leak(wide.into_boxed_slice());
        assert_eq!(
            FixedPoint::decode(r(wide)),
            Err(DecodeError::CoefficientTooWide { tlv: 8, bytes: 17 })
        );
    }

    #[test]
    fn display_and_json() {
        assert_eq!(FixedPoint::new(42_000, 2).to_string(), "420.00");
        assert_eq!(FixedPoint::new(5, 3).to_string(), "0.005");
        assert_eq!(FixedPoint::MSAT_PER_BTC.to_string(), "100.000000000");
        let json = serde_json::to_string(&FixedPoint::new(u128::MAX, 4)).unwrap();
        assert_eq!(
            json,
            format!("{{\"coefficient\":\"{}\",\"scale\":4}}", u128::MAX)
        );
        assert_eq!(
            serde_json::from_str::<FixedPoint>(&json).unwrap(),
            FixedPoint::new(u128::MAX, 4)
        );
        for bad in [
            r#"{"coefficient":"-1","scale":0}"#,
            r#"{"coefficient":"1e5","scale":0}"#,
            r#"{"coefficient":"340282366920938463463374607431768211456","scale":0}"#,
            r#"{"coefficient":"1","scale":256}"#,
            r#"{"coefficient":1,"scale":0}"#,
        ] {
            assert!(serde_json::from_str::<FixedPoint>(bad).is_err(), "{bad}");
        }
    }
}
