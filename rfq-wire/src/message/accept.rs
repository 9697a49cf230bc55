//! Quote accept (message type 52885), data version 1 (spec §4).

use super::{decode_version, scid_json_check, write_fixed_point, ScidJson, DATA_VERSION};
use crate::error::{DecodeError, JsonFormError, ValidationError};
use crate::fixed_point::FixedPoint;
use crate::id::RfqId;
use crate::json::hex_newtype;
use crate::tlv::{field, ExtraRecord, ExtraRecords, StreamWriter, TlvReader};
use serde::{Deserialize, Serialize};

/// The BOLT 1 message type of a quote accept.
pub const ACCEPT_TYPE: u16 = 52885;

/// TLV numbers of the accept (spec §4.1).
pub mod tlv {
    #![allow(missing_docs)]
    pub const VERSION: u64 = 0;
    pub const ID: u64 = 2;
    pub const EXPIRY: u64 = 4;
    pub const SIG: u64 = 6;
    pub const IN_ASSET_RATE: u64 = 8;
    pub const OUT_ASSET_RATE: u64 = 10;
    pub const MAX_IN_ASSET: u64 = 11;
    /// Every type above, for checking extra records against.
    pub const ALL: [u64; 7] = [0, 2, 4, 6, 8, 10, 11];
}

/// The 64-byte `rfq_sig` field. tapd writes zeros and never verifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QuoteSignature(pub [u8; 64]);

impl QuoteSignature {
    /// 64 zero bytes, what tapd sends.
    pub const ZERO: QuoteSignature = QuoteSignature([0; 64]);

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl Default for QuoteSignature {
    fn default() -> Self {
        Self::ZERO
    }
}

hex_newtype!(QuoteSignature, 64, "signature", |b| Ok::<_, JsonFormError>(
    QuoteSignature(b)
));

/// A quote accept exactly as on the wire. Whether it is a buy or a sell accept is known only to
/// the requester, from the request with the same id: use [`QuoteAccept::as_buy`] or
/// [`QuoteAccept::as_sell`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "AcceptJson", try_from = "AcceptJson")]
pub struct QuoteAccept {
    /// TLV 2: the request's id.
    pub id: RfqId,
    /// TLV 4: Unix seconds until which the quote holds.
    pub expiry: u64,
    /// TLV 6: signature (zeros from tapd).
    pub signature: QuoteSignature,
    /// TLV 8: buy: the accepted asset rate; sell: the BTC constant.
    pub in_asset_rate: FixedPoint,
    /// TLV 10: buy: the BTC constant; sell: the accepted asset rate.
    pub out_asset_rate: FixedPoint,
    /// TLV 11: fill cap (buy: units, sell: msat); 0 on the wire means absent in typed views.
    pub max_in_asset: Option<u64>,
    /// Records of types this crate does not know.
    pub extra: ExtraRecords,
}

impl QuoteAccept {
    /// Decodes the message data. Reads no clock.
    pub fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        let mut version = None;
        let (mut id, mut expiry, mut signature, mut in_rate, mut out_rate) =
            (None, None, None, None, None);
        let mut max_in_asset = None;
        let mut extra = ExtraRecords::new();
        for record in TlvReader::new(data) {
            let r = record?;
            match r.tlv {
                tlv::VERSION => version = Some(decode_version(r)?),
                tlv::ID => id = Some(RfqId(field::bytes32(r)?)),
                tlv::EXPIRY => expiry = Some(field::u64(r)?),
                tlv::SIG => signature = Some(QuoteSignature(field::bytes64(r)?)),
                tlv::IN_ASSET_RATE => in_rate = Some(FixedPoint::decode(r)?),
                tlv::OUT_ASSET_RATE => out_rate = Some(FixedPoint::decode(r)?),
                tlv::MAX_IN_ASSET => max_in_asset = Some(field::u64(r)?),
                _ => extra.push_decoded(r),
            }
        }
        field::required(version, tlv::VERSION, "version")?;
        Ok(QuoteAccept {
            id: field::required(id, tlv::ID, "id")?,
            expiry: field::required(expiry, tlv::EXPIRY, "expiry")?,
            signature: field::required(signature, tlv::SIG, "sig")?,
            in_asset_rate: field::required(in_rate, tlv::IN_ASSET_RATE, "in_asset_rate")?,
            out_asset_rate: field::required(out_rate, tlv::OUT_ASSET_RATE, "out_asset_rate")?,
            max_in_asset,
            extra,
        })
    }

    /// Appends the message data.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut w = StreamWriter::new(out, &self.extra);
        w.u8(tlv::VERSION, DATA_VERSION);
        w.bytes(tlv::ID, &self.id.0);
        w.u64(tlv::EXPIRY, self.expiry);
        w.bytes(tlv::SIG, &self.signature.0);
        write_fixed_point(&mut w, tlv::IN_ASSET_RATE, &self.in_asset_rate);
        write_fixed_point(&mut w, tlv::OUT_ASSET_RATE, &self.out_asset_rate);
        if let Some(v) = self.max_in_asset {
            w.u64(tlv::MAX_IN_ASSET, v);
        }
        w.finish();
    }

    /// The message data as a new vector.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        self.encode_into(&mut out);
        out
    }

    /// tapd's validation (spec §4.2): expiry after `now`, both rates non-zero.
    pub fn validate(&self, now: u64) -> Result<(), ValidationError> {
        if self.expiry <= now {
            return Err(ValidationError::Expired {
                expiry: self.expiry,
                now,
            });
        }
        if self.in_asset_rate.coefficient == 0 {
            return Err(ValidationError::ZeroRate {
                tlv: tlv::IN_ASSET_RATE,
            });
        }
        if self.out_asset_rate.coefficient == 0 {
            return Err(ValidationError::ZeroRate {
                tlv: tlv::OUT_ASSET_RATE,
            });
        }
        Ok(())
    }

    /// Read as the answer to a buy request: the asset rate is TLV 8.
    pub fn as_buy(&self) -> BuyAccept {
        BuyAccept {
            id: self.id,
            expiry: self.expiry,
            rate: self.in_asset_rate,
            fill_units: self.max_in_asset.filter(|&v| v != 0),
            signature: self.signature,
        }
    }

    /// Read as the answer to a sell request: the asset rate is TLV 10.
    pub fn as_sell(&self) -> SellAccept {
        SellAccept {
            id: self.id,
            expiry: self.expiry,
            rate: self.out_asset_rate,
            fill_msat: self.max_in_asset.filter(|&v| v != 0),
            signature: self.signature,
        }
    }
}

/// An accept of a buy request: we sell the asset at `rate` (asset units per BTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuyAccept {
    /// The request's id.
    pub id: RfqId,
    /// Unix seconds.
    pub expiry: u64,
    /// Accepted rate, asset units per BTC.
    pub rate: FixedPoint,
    /// Most asset units the responder will fill.
    pub fill_units: Option<u64>,
    /// The signature field.
    pub signature: QuoteSignature,
}

/// An accept of a sell request: we buy the asset at `rate` (asset units per BTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SellAccept {
    /// The request's id.
    pub id: RfqId,
    /// Unix seconds.
    pub expiry: u64,
    /// Accepted rate, asset units per BTC.
    pub rate: FixedPoint,
    /// Most msat the responder will fill.
    pub fill_msat: Option<u64>,
    /// The signature field.
    pub signature: QuoteSignature,
}

impl From<BuyAccept> for QuoteAccept {
    /// tapd's wire form: the rate in TLV 8, the BTC constant in TLV 10.
    fn from(a: BuyAccept) -> Self {
        QuoteAccept {
            id: a.id,
            expiry: a.expiry,
            signature: a.signature,
            in_asset_rate: a.rate,
            out_asset_rate: FixedPoint::MSAT_PER_BTC,
            max_in_asset: a.fill_units.filter(|&v| v != 0),
            extra: ExtraRecords::new(),
        }
    }
}

impl From<SellAccept> for QuoteAccept {
    /// tapd's wire form: the BTC constant in TLV 8, the rate in TLV 10.
    fn from(a: SellAccept) -> Self {
        QuoteAccept {
            id: a.id,
            expiry: a.expiry,
            signature: a.signature,
            in_asset_rate: FixedPoint::MSAT_PER_BTC,
            out_asset_rate: a.rate,
            max_in_asset: a.fill_msat.filter(|&v| v != 0),
            extra: ExtraRecords::new(),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptJson {
    id: RfqId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scid: Option<ScidJson>,
    expiry: u64,
    #[serde(default)]
    signature: QuoteSignature,
    in_asset_rate: FixedPoint,
    out_asset_rate: FixedPoint,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_in_asset: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    extra_records: Vec<ExtraRecord>,
}

impl From<QuoteAccept> for AcceptJson {
    fn from(m: QuoteAccept) -> Self {
        AcceptJson {
            id: m.id,
            scid: Some(m.id.scid().into()),
            expiry: m.expiry,
            signature: m.signature,
            in_asset_rate: m.in_asset_rate,
            out_asset_rate: m.out_asset_rate,
            max_in_asset: m.max_in_asset,
            extra_records: m.extra.as_slice().to_vec(),
        }
    }
}

impl TryFrom<AcceptJson> for QuoteAccept {
    type Error = JsonFormError;

    fn try_from(j: AcceptJson) -> Result<Self, Self::Error> {
        scid_json_check(j.id, j.scid.as_ref())?;
        Ok(QuoteAccept {
            id: j.id,
            expiry: j.expiry,
            signature: j.signature,
            in_asset_rate: j.in_asset_rate,
            out_asset_rate: j.out_asset_rate,
            max_in_asset: j.max_in_asset,
            extra: ExtraRecords::from_records(j.extra_records, &tlv::ALL)?,
        })
    }
}
