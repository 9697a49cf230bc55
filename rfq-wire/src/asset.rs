//! Asset identifiers: asset ids, group keys, and the specifier that names one or the other.

use crate::error::JsonFormError;
use crate::json::hex_newtype;
use bitcoin::secp256k1::PublicKey;
use serde::{Deserialize, Serialize};

/// A 32-byte Taproot Assets asset id. All zeros stands for BTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssetId(pub [u8; 32]);

impl AssetId {
    /// The all-zero id that stands for BTC.
    pub const BTC: AssetId = AssetId([0; 32]);

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether this is the BTC id.
    pub fn is_btc(&self) -> bool {
        self.0 == [0; 32]
    }
}

hex_newtype!(AssetId, 32, "asset id", |b| Ok::<_, JsonFormError>(
    AssetId(b)
));

/// A 33-byte compressed secp256k1 asset group key. Always a valid point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey([u8; 33]);

impl GroupKey {
    /// Checks that `bytes` is a valid compressed point.
    pub fn from_bytes(bytes: [u8; 33]) -> Option<Self> {
        PublicKey::from_slice(&bytes).ok().map(|_| GroupKey(bytes))
    }

    /// The compressed encoding.
    pub fn as_bytes(&self) -> &[u8; 33] {
        &self.0
    }

    /// The 32-byte x-only form that tapd puts in HTLC asset balances for group specifiers.
    pub fn x_only(&self) -> [u8; 32] {
        let mut x = [0u8; 32];
        x.copy_from_slice(&self.0[1..]);
        x
    }
}

hex_newtype!(GroupKey, 33, "group key", |b| GroupKey::from_bytes(b)
    .ok_or(JsonFormError::InvalidPoint { field: "group key" }));

/// Names an asset by id or by group key (tapd's `AssetSpecifier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AssetSpecifier {
    /// A single asset.
    AssetId(AssetId),
    /// Any asset of a group.
    GroupKey(GroupKey),
}

impl AssetSpecifier {
    /// BTC, as tapd names it: the all-zero asset id.
    pub const BTC: AssetSpecifier = AssetSpecifier::AssetId(AssetId::BTC);

    /// The 32 bytes that identify this asset in an HTLC asset balance: the asset id, or the
    /// group key's x-only form.
    pub fn balance_id(&self) -> [u8; 32] {
        match self {
            AssetSpecifier::AssetId(id) => id.0,
            AssetSpecifier::GroupKey(key) => key.x_only(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

    #[test]
    fn group_key_must_be_a_point() {
        let key: GroupKey = G.parse().unwrap();
        assert_eq!(key.to_string(), G);
        assert_eq!(key.x_only()[0], 0x79);
        assert!(GroupKey::from_bytes([0; 33]).is_none());
        let mut bad = [0xffu8; 33];
        bad[0] = 0x02;
        assert!(GroupKey::from_bytes(bad).is_none(), "x ≥ p is not a point");
        assert!("05".repeat(33).parse::<GroupKey>().is_err());
    }

    #[test]
    fn specifier_json() {
        let spec = AssetSpecifier::GroupKey(G.parse().unwrap());
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(json, format!("{{\"group_key\":\"{G}\"}}"));
        assert_eq!(serde_json::from_str::<AssetSpecifier>(&json).unwrap(), spec);
        assert!(AssetSpecifier::BTC.balance_id() == [0; 32]);
    }
}
