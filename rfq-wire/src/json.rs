//! Serde helpers for the JSON forms: byte strings as lowercase hex, and the shared hex parsing
//! used by the id and key types.

use crate::error::JsonFormError;
use bitcoin::hex::{DisplayHex, FromHex};

/// Parses a fixed-size byte array from hex, naming `field` in the error.
pub(crate) fn parse_array<const N: usize>(
    field: &'static str,
    s: &str,
) -> Result<[u8; N], JsonFormError> {
    <[u8; N]>::from_hex(s).map_err(|e| JsonFormError::BadHex {
        field,
        reason: format!("expected {} hex characters: {e}", 2 * N),
    })
}

/// Lowercase hex of a byte slice.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.to_lower_hex_string()
}

/// `#[serde(with = "hex_bytes")]` for `Vec<u8>` fields.
pub(crate) mod hex_bytes {
    use super::*;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Vec::<u8>::from_hex(&s).map_err(|e| D::Error::custom(format!("bad hex: {e}")))
    }
}

/// Implements `Display`, `FromStr`, `Serialize` and `Deserialize` (as hex) for a newtype over
/// `[u8; N]` whose constructor from bytes is `$from` (which may validate).
macro_rules! hex_newtype {
    ($ty:ty, $n:expr, $field:expr, $from:expr) => {
        impl core::fmt::Display for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(&$crate::json::to_hex(self.as_bytes()))
            }
        }

        impl core::str::FromStr for $ty {
            type Err = $crate::error::JsonFormError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let bytes = $crate::json::parse_array::<$n>($field, s)?;
                ($from)(bytes)
            }
        }

        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use hex_newtype;
