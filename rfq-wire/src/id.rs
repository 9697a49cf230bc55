//! Quote identifiers and the SCID alias each one maps to (spec §8).

use crate::error::JsonFormError;
use crate::json::hex_newtype;
use serde::{Deserialize, Serialize};

/// The first block height of lnd's SCID alias range.
pub const ALIAS_HEIGHT_START: u32 = 16_000_000;
/// One past the last block height of lnd's SCID alias range.
pub const ALIAS_HEIGHT_END: u32 = 16_250_000;

/// A 32-byte RFQ quote id, chosen by the requester.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RfqId(pub [u8; 32]);

impl RfqId {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The SCID alias of this quote: the last 8 bytes read as a big-endian u64.
    pub fn scid(&self) -> Scid {
        let mut tail = [0u8; 8];
        tail.copy_from_slice(&self.0[24..]);
        Scid(u64::from_be_bytes(tail))
    }

    /// Builds an id from 32 bytes of caller-supplied entropy so that its SCID lies in the alias
    /// range (16 000 000 ≤ block height < 16 250 000), as tapd's `NewID` guarantees.
    ///
    /// Bytes 24..27 (the SCID's block height) are replaced by a height chosen from the
    /// entropy's last 8 bytes; every other byte is the entropy as given. The crate reads no
    /// randomness itself: pass 32 bytes from a CSPRNG.
    pub fn with_alias_scid(entropy: [u8; 32]) -> Self {
        let mut tail = [0u8; 8];
        tail.copy_from_slice(&entropy[24..]);
        let span = u64::from(ALIAS_HEIGHT_END - ALIAS_HEIGHT_START);
        let height = ALIAS_HEIGHT_START + (u64::from_be_bytes(tail) % span) as u32;
        let mut id = entropy;
        id[24..27].copy_from_slice(&height.to_be_bytes()[1..]);
        RfqId(id)
    }
}

hex_newtype!(RfqId, 32, "id", |b| Ok::<_, JsonFormError>(RfqId(b)));

/// A short channel id: block height (24 bits), transaction index (24 bits), output index
/// (16 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Scid(pub u64);

impl Scid {
    /// The block height part.
    pub fn block_height(self) -> u32 {
        (self.0 >> 40) as u32
    }

    /// The transaction index part.
    pub fn tx_index(self) -> u32 {
        ((self.0 >> 16) & 0xff_ffff) as u32
    }

    /// The output index part.
    pub fn output_index(self) -> u16 {
        (self.0 & 0xffff) as u16
    }

    /// Whether the block height lies in lnd's SCID alias range.
    pub fn is_alias(self) -> bool {
        (ALIAS_HEIGHT_START..ALIAS_HEIGHT_END).contains(&self.block_height())
    }
}

impl core::fmt::Display for Scid {
    /// `BLOCKxTXxOUT`, as LDK and lnd print SCIDs.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{}x{}x{}",
            self.block_height(),
            self.tx_index(),
            self.output_index()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tapd_log_pair() {
        let id: RfqId = "c8d75023895d98dd9e52abe0ab1dddeed51f7a395fdef331f472e0ed1658343f"
            .parse()
            .unwrap();
        assert_eq!(id.scid(), Scid(17614388401486181439));
        assert_eq!(id.scid().block_height(), 16_020_192);
        assert!(id.scid().is_alias());
    }

    #[test]
    fn derived_vector_id() {
        let mut bytes = [0x11u8; 32];
        bytes[24..].copy_from_slice(&[0xf4, 0x24, 0, 0, 0, 0, 0, 1]);
        let scid = RfqId(bytes).scid();
        assert_eq!(scid.0, 17_592_186_044_416_000_001);
        assert_eq!(scid.to_string(), "16000000x0x1");
        assert!(!RfqId([0xaa; 32]).scid().is_alias());
    }

    #[test]
    fn alias_ids_cover_the_range_ends() {
        for tail in [[0u8; 8], [0xff; 8], [0x12; 8]] {
            let mut entropy = [0x5a; 32];
            entropy[24..].copy_from_slice(&tail);
            let id = RfqId::with_alias_scid(entropy);
            assert!(id.scid().is_alias(), "{:?}", id.scid());
            assert_eq!(id.0[..24], entropy[..24]);
            assert_eq!(id.0[27..], entropy[27..]);
        }
        let lowest = RfqId::with_alias_scid([0; 32]).scid();
        assert_eq!(lowest.block_height(), ALIAS_HEIGHT_START);
    }

    #[test]
    fn bad_hex_is_an_error() {
        assert!("abc".parse::<RfqId>().is_err());
        assert!("zz".repeat(32).parse::<RfqId>().is_err());
    }
}
