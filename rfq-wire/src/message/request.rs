//! Quote request (message type 52884), data version 1 (spec §3).

use super::{decode_version, scid_json_check, Metadata, ScidJson, DATA_VERSION};
use crate::asset::{AssetId, AssetSpecifier, GroupKey};
use crate::code_enum::{ExecutionPolicy, TransferType};
use crate::error::{ClassifyError, DecodeError, JsonFormError, ValidationError};
use crate::fixed_point::FixedPoint;
use crate::id::RfqId;
use crate::tlv::{field, ExtraRecord, ExtraRecords, StreamWriter, TlvReader};
use serde::{Deserialize, Serialize};

/// The BOLT 1 message type of a quote request.
pub const REQUEST_TYPE: u16 = 52884;

/// Most bytes of price-oracle metadata a request may carry (TLV 27).
pub const MAX_METADATA_LEN: usize = 32_768;

/// TLV numbers of the request (spec §3.1).
pub mod tlv {
    #![allow(missing_docs)]
    pub const VERSION: u64 = 0;
    pub const ID: u64 = 2;
    pub const TRANSFER_TYPE: u64 = 4;
    pub const EXPIRY: u64 = 6;
    pub const IN_ASSET_ID: u64 = 9;
    pub const IN_ASSET_GROUP_KEY: u64 = 11;
    pub const OUT_ASSET_ID: u64 = 13;
    pub const OUT_ASSET_GROUP_KEY: u64 = 15;
    pub const MAX_IN_ASSET: u64 = 16;
    pub const IN_ASSET_RATE_HINT: u64 = 19;
    pub const OUT_ASSET_RATE_HINT: u64 = 21;
    pub const MIN_IN_ASSET: u64 = 23;
    pub const MIN_OUT_ASSET: u64 = 25;
    pub const METADATA: u64 = 27;
    pub const RATE_LIMIT: u64 = 29;
    pub const EXECUTION_POLICY: u64 = 31;
    /// Every type above, for checking extra records against.
    pub const ALL: [u64; 16] = [0, 2, 4, 6, 9, 11, 13, 15, 16, 19, 21, 23, 25, 27, 29, 31];
}

/// A quote request exactly as on the wire: every field tapd knows, optional ones as `Option`,
/// unknown records kept. Decoding and re-encoding is byte-identical for canonical input.
///
/// Use [`QuoteRequest::classify`] or [`QuoteRequest::validate`] for the typed buy/sell view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "RequestJson", try_from = "RequestJson")]
pub struct QuoteRequest {
    /// TLV 2: the quote id.
    pub id: RfqId,
    /// TLV 4: buy (2, receive payment) or sell (1, pay invoice).
    pub transfer_type: TransferType,
    /// TLV 6: Unix seconds after which the request is void.
    pub expiry: u64,
    /// TLV 9: asset flowing to the requester, by id (all zero = BTC).
    pub in_asset_id: Option<AssetId>,
    /// TLV 11: asset flowing to the requester, by group key.
    pub in_asset_group_key: Option<GroupKey>,
    /// TLV 13: asset flowing from the requester, by id (all zero = BTC).
    pub out_asset_id: Option<AssetId>,
    /// TLV 15: asset flowing from the requester, by group key.
    pub out_asset_group_key: Option<GroupKey>,
    /// TLV 16: buy: asset units; sell: msat.
    pub max_in_asset: u64,
    /// TLV 19: buy rate hint (asset units per BTC).
    pub in_asset_rate_hint: Option<FixedPoint>,
    /// TLV 21: sell rate hint (asset units per BTC).
    pub out_asset_rate_hint: Option<FixedPoint>,
    /// TLV 23: buy minimum, asset units (0 on the wire means absent in the typed view).
    pub min_in_asset: Option<u64>,
    /// TLV 25: sell minimum payment, msat (0 on the wire means absent in the typed view).
    pub min_out_asset: Option<u64>,
    /// TLV 27: opaque metadata for the price oracle.
    pub metadata: Option<Metadata>,
    /// TLV 29: buy floor / sell ceiling on the accepted rate.
    pub rate_limit: Option<FixedPoint>,
    /// TLV 31: fill policy.
    pub execution_policy: Option<ExecutionPolicy>,
    /// Records of types this crate does not know.
    pub extra: ExtraRecords,
}

impl QuoteRequest {
    /// Decodes the message data (the TLV stream after the 2-byte type). Reads no clock.
    pub fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        let mut version = None;
        let (mut id, mut transfer_type, mut expiry, mut max_in_asset) = (None, None, None, None);
        let mut m = QuoteRequest {
            id: RfqId([0; 32]),
            transfer_type: TransferType::Unspecified,
            expiry: 0,
            in_asset_id: None,
            in_asset_group_key: None,
            out_asset_id: None,
            out_asset_group_key: None,
            max_in_asset: 0,
            in_asset_rate_hint: None,
            out_asset_rate_hint: None,
            min_in_asset: None,
            min_out_asset: None,
            metadata: None,
            rate_limit: None,
            execution_policy: None,
            extra: ExtraRecords::new(),
        };
        for record in TlvReader::new(data) {
            let r = record?;
            match r.tlv {
                tlv::VERSION => version = Some(decode_version(r)?),
                tlv::ID => id = Some(RfqId(field::bytes32(r)?)),
                tlv::TRANSFER_TYPE => transfer_type = Some(TransferType::from_u8(field::u8(r)?)),
                tlv::EXPIRY => expiry = Some(field::u64(r)?),
                tlv::IN_ASSET_ID => m.in_asset_id = Some(AssetId(field::bytes32(r)?)),
                tlv::IN_ASSET_GROUP_KEY => m.in_asset_group_key = Some(group_key(r)?),
                tlv::OUT_ASSET_ID => m.out_asset_id = Some(AssetId(field::bytes32(r)?)),
                tlv::OUT_ASSET_GROUP_KEY => m.out_asset_group_key = Some(group_key(r)?),
                tlv::MAX_IN_ASSET => max_in_asset = Some(field::u64(r)?),
                tlv::IN_ASSET_RATE_HINT => m.in_asset_rate_hint = Some(FixedPoint::decode(r)?),
                tlv::OUT_ASSET_RATE_HINT => m.out_asset_rate_hint = Some(FixedPoint::decode(r)?),
                tlv::MIN_IN_ASSET => m.min_in_asset = Some(field::u64(r)?),
                tlv::MIN_OUT_ASSET => m.min_out_asset = Some(field::u64(r)?),
                tlv::METADATA => {
                    m.metadata = Some(Metadata(field::at_most(r, MAX_METADATA_LEN)?.to_vec()))
                }
                tlv::RATE_LIMIT => m.rate_limit = Some(FixedPoint::decode(r)?),
                tlv::EXECUTION_POLICY => {
                    m.execution_policy = Some(ExecutionPolicy::from_u8(field::u8(r)?))
                }
                _ => m.extra.push_decoded(r),
            }
        }
        field::required(version, tlv::VERSION, "version")?;
        m.id = field::required(id, tlv::ID, "id")?;
        m.transfer_type = field::required(transfer_type, tlv::TRANSFER_TYPE, "transfer_type")?;
        m.expiry = field::required(expiry, tlv::EXPIRY, "expiry")?;
        m.max_in_asset = field::required(max_in_asset, tlv::MAX_IN_ASSET, "max_in_asset")?;
        Ok(m)
    }

    /// Appends the message data (the TLV stream, without the 2-byte type).
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut w = StreamWriter::new(out, &self.extra);
        w.u8(tlv::VERSION, DATA_VERSION);
        w.bytes(tlv::ID, &self.id.0);
        w.u8(tlv::TRANSFER_TYPE, self.transfer_type.to_u8());
        w.u64(tlv::EXPIRY, self.expiry);
        if let Some(v) = &self.in_asset_id {
            w.bytes(tlv::IN_ASSET_ID, &v.0);
        }
        if let Some(v) = &self.in_asset_group_key {
            w.bytes(tlv::IN_ASSET_GROUP_KEY, v.as_bytes());
        }
        if let Some(v) = &self.out_asset_id {
            w.bytes(tlv::OUT_ASSET_ID, &v.0);
        }
        if let Some(v) = &self.out_asset_group_key {
            w.bytes(tlv::OUT_ASSET_GROUP_KEY, v.as_bytes());
        }
        w.u64(tlv::MAX_IN_ASSET, self.max_in_asset);
        if let Some(v) = &self.in_asset_rate_hint {
            super::write_fixed_point(&mut w, tlv::IN_ASSET_RATE_HINT, v);
        }
        if let Some(v) = &self.out_asset_rate_hint {
            super::write_fixed_point(&mut w, tlv::OUT_ASSET_RATE_HINT, v);
        }
        if let Some(v) = self.min_in_asset {
            w.u64(tlv::MIN_IN_ASSET, v);
        }
        if let Some(v) = self.min_out_asset {
            w.u64(tlv::MIN_OUT_ASSET, v);
        }
        if let Some(v) = &self.metadata {
            w.bytes(tlv::METADATA, &v.0);
        }
        if let Some(v) = &self.rate_limit {
            super::write_fixed_point(&mut w, tlv::RATE_LIMIT, v);
        }
        if let Some(v) = self.execution_policy {
            w.u8(tlv::EXECUTION_POLICY, v.to_u8());
        }
        w.finish();
    }

    /// The message data as a new vector.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(192);
        self.encode_into(&mut out);
        out
    }

    /// The typed view, chosen by `transfer_type` (1 → sell, 2 → buy). Checks only what
    /// classification needs; see [`QuoteRequest::validate`] for tapd's full rules.
    pub fn classify(&self) -> Result<TypedRequest, ClassifyError> {
        let policy = self
            .execution_policy
            .unwrap_or(ExecutionPolicy::ImmediateOrCancel);
        let metadata = self.metadata.clone().unwrap_or_default();
        match self.transfer_type {
            TransferType::RecvPayment => Ok(TypedRequest::Buy(BuyRequest {
                id: self.id,
                expiry: self.expiry,
                asset: specifier(
                    self.in_asset_id,
                    self.in_asset_group_key,
                    tlv::IN_ASSET_ID,
                    tlv::IN_ASSET_GROUP_KEY,
                )?,
                max_units: self.max_in_asset,
                min_units: self.min_in_asset.filter(|&v| v != 0),
                rate_hint: self.in_asset_rate_hint,
                rate_limit: self.rate_limit,
                execution_policy: policy,
                metadata,
            })),
            TransferType::PayInvoice => Ok(TypedRequest::Sell(SellRequest {
                id: self.id,
                expiry: self.expiry,
                asset: specifier(
                    self.out_asset_id,
                    self.out_asset_group_key,
                    tlv::OUT_ASSET_ID,
                    tlv::OUT_ASSET_GROUP_KEY,
                )?,
                max_msat: self.max_in_asset,
                min_msat: self.min_out_asset.filter(|&v| v != 0),
                rate_hint: self.out_asset_rate_hint,
                rate_limit: self.rate_limit,
                execution_policy: policy,
                metadata,
            })),
            other => Err(ClassifyError::UnknownTransferType {
                found: other.to_u8(),
            }),
        }
    }

    /// tapd's validation (spec §3.4), against `now` in Unix seconds. Returns the typed view
    /// when every rule holds, or the first rule broken.
    pub fn validate(&self, now: u64) -> Result<TypedRequest, ValidationError> {
        if self.expiry <= now {
            return Err(ValidationError::Expired {
                expiry: self.expiry,
                now,
            });
        }
        if self.in_asset_id.is_some() == self.in_asset_group_key.is_some() {
            return Err(ValidationError::AmbiguousSpecifier {
                id_tlv: tlv::IN_ASSET_ID,
                key_tlv: tlv::IN_ASSET_GROUP_KEY,
            });
        }
        if self.out_asset_id.is_some() == self.out_asset_group_key.is_some() {
            return Err(ValidationError::AmbiguousSpecifier {
                id_tlv: tlv::OUT_ASSET_ID,
                key_tlv: tlv::OUT_ASSET_GROUP_KEY,
            });
        }
        if self.in_asset_id.is_some_and(|a| a.is_btc())
            && self.out_asset_id.is_some_and(|a| a.is_btc())
        {
            return Err(ValidationError::BothSidesBtc);
        }
        let typed = self.classify()?;
        typed.validate()?;
        Ok(typed)
    }
}

fn group_key(r: crate::tlv::Record<'_>) -> Result<GroupKey, DecodeError> {
    GroupKey::from_bytes(field::bytes33(r)?).ok_or(DecodeError::InvalidPoint { tlv: r.tlv })
}

fn specifier(
    id: Option<AssetId>,
    key: Option<GroupKey>,
    id_tlv: u64,
    key_tlv: u64,
) -> Result<AssetSpecifier, ClassifyError> {
    match (id, key) {
        (Some(id), None) => Ok(AssetSpecifier::AssetId(id)),
        (None, Some(key)) => Ok(AssetSpecifier::GroupKey(key)),
        (None, None) => Err(ClassifyError::MissingAsset { id_tlv, key_tlv }),
        (Some(_), Some(_)) => Err(ClassifyError::BothSpecifiers { id_tlv, key_tlv }),
    }
}

/// A request seen as a buy or a sell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypedRequest {
    /// The peer wants to receive the asset (transfer type 2).
    Buy(BuyRequest),
    /// The peer wants to pay with the asset (transfer type 1).
    Sell(SellRequest),
}

impl TypedRequest {
    /// The quote id.
    pub fn id(&self) -> RfqId {
        match self {
            TypedRequest::Buy(r) => r.id,
            TypedRequest::Sell(r) => r.id,
        }
    }

    /// The expiry, Unix seconds.
    pub fn expiry(&self) -> u64 {
        match self {
            TypedRequest::Buy(r) => r.expiry,
            TypedRequest::Sell(r) => r.expiry,
        }
    }

    /// The typed rules of spec §3.4 (min ≤ max, rate limit > 0, policy ≤ 1, expiry ≤ i64::MAX).
    pub fn validate(&self) -> Result<(), ValidationError> {
        let (min, max, limit, policy, metadata, expiry) = match self {
            TypedRequest::Buy(r) => (
                r.min_units,
                r.max_units,
                r.rate_limit,
                r.execution_policy,
                &r.metadata,
                r.expiry,
            ),
            TypedRequest::Sell(r) => (
                r.min_msat,
                r.max_msat,
                r.rate_limit,
                r.execution_policy,
                &r.metadata,
                r.expiry,
            ),
        };
        if metadata.0.len() > MAX_METADATA_LEN {
            return Err(ValidationError::MetadataTooLong {
                len: metadata.0.len(),
            });
        }
        if let Some(min) = min.filter(|&min| min > max) {
            return Err(ValidationError::MinAboveMax { min, max });
        }
        if limit.is_some_and(|l| l.coefficient == 0) {
            return Err(ValidationError::ZeroRateLimit);
        }
        if let ExecutionPolicy::Other(value) = policy {
            return Err(ValidationError::UnknownExecutionPolicy { value });
        }
        if matches!(self, TypedRequest::Buy(_)) && expiry > i64::MAX as u64 {
            return Err(ValidationError::ExpiryTooLarge { expiry });
        }
        Ok(())
    }
}

/// A buy request: the peer wants to receive `asset` (we sell it, they pay BTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuyRequest {
    /// Quote id.
    pub id: RfqId,
    /// Unix seconds.
    pub expiry: u64,
    /// The asset to buy.
    pub asset: AssetSpecifier,
    /// Most asset units the responder must be ready to deliver.
    pub max_units: u64,
    /// Least asset units worth filling.
    pub min_units: Option<u64>,
    /// The requester's rate hint, asset units per BTC.
    pub rate_hint: Option<FixedPoint>,
    /// Floor on the accepted rate.
    pub rate_limit: Option<FixedPoint>,
    /// Fill policy.
    pub execution_policy: ExecutionPolicy,
    /// Opaque price-oracle metadata.
    pub metadata: Metadata,
}

/// A sell request: the peer wants to pay an invoice with `asset` (we buy it, paying BTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellRequest {
    /// Quote id.
    pub id: RfqId,
    /// Unix seconds.
    pub expiry: u64,
    /// The asset to sell.
    pub asset: AssetSpecifier,
    /// Most msat the responder must be ready to pay out.
    pub max_msat: u64,
    /// Least payment worth filling, msat.
    pub min_msat: Option<u64>,
    /// The requester's rate hint, asset units per BTC.
    pub rate_hint: Option<FixedPoint>,
    /// Ceiling on the accepted rate.
    pub rate_limit: Option<FixedPoint>,
    /// Fill policy.
    pub execution_policy: ExecutionPolicy,
    /// Opaque price-oracle metadata.
    pub metadata: Metadata,
}

fn optional_policy(p: ExecutionPolicy) -> Option<ExecutionPolicy> {
    (p != ExecutionPolicy::ImmediateOrCancel).then_some(p)
}

fn optional_metadata(m: Metadata) -> Option<Metadata> {
    (!m.0.is_empty()).then_some(m)
}

impl From<BuyRequest> for QuoteRequest {
    /// The wire form tapd emits for a buy: asset on the in side, BTC (zero id) on the out side,
    /// optional records only when set.
    fn from(r: BuyRequest) -> Self {
        let (in_asset_id, in_asset_group_key) = split_specifier(r.asset);
        QuoteRequest {
            id: r.id,
            transfer_type: TransferType::RecvPayment,
            expiry: r.expiry,
            in_asset_id,
            in_asset_group_key,
            out_asset_id: Some(AssetId::BTC),
            out_asset_group_key: None,
            max_in_asset: r.max_units,
            in_asset_rate_hint: r.rate_hint,
            out_asset_rate_hint: None,
            min_in_asset: r.min_units.filter(|&v| v != 0),
            min_out_asset: None,
            metadata: optional_metadata(r.metadata),
            rate_limit: r.rate_limit,
            execution_policy: optional_policy(r.execution_policy),
            extra: ExtraRecords::new(),
        }
    }
}

impl From<SellRequest> for QuoteRequest {
    /// The wire form tapd emits for a sell: BTC (zero id) on the in side, asset on the out side.
    fn from(r: SellRequest) -> Self {
        let (out_asset_id, out_asset_group_key) = split_specifier(r.asset);
        QuoteRequest {
            id: r.id,
            transfer_type: TransferType::PayInvoice,
            expiry: r.expiry,
            in_asset_id: Some(AssetId::BTC),
            in_asset_group_key: None,
            out_asset_id,
            out_asset_group_key,
            max_in_asset: r.max_msat,
            in_asset_rate_hint: None,
            out_asset_rate_hint: r.rate_hint,
            min_in_asset: None,
            min_out_asset: r.min_msat.filter(|&v| v != 0),
            metadata: optional_metadata(r.metadata),
            rate_limit: r.rate_limit,
            execution_policy: optional_policy(r.execution_policy),
            extra: ExtraRecords::new(),
        }
    }
}

impl From<TypedRequest> for QuoteRequest {
    fn from(r: TypedRequest) -> Self {
        match r {
            TypedRequest::Buy(b) => b.into(),
            TypedRequest::Sell(s) => s.into(),
        }
    }
}

fn split_specifier(s: AssetSpecifier) -> (Option<AssetId>, Option<GroupKey>) {
    match s {
        AssetSpecifier::AssetId(id) => (Some(id), None),
        AssetSpecifier::GroupKey(key) => (None, Some(key)),
    }
}

/// JSON form of a request: the wire fields plus the SCID derived from the id.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestJson {
    id: RfqId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scid: Option<ScidJson>,
    transfer_type: TransferType,
    expiry: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    in_asset_id: Option<AssetId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    in_asset_group_key: Option<GroupKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    out_asset_id: Option<AssetId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    out_asset_group_key: Option<GroupKey>,
    max_in_asset: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    in_asset_rate_hint: Option<FixedPoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    out_asset_rate_hint: Option<FixedPoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_in_asset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_out_asset: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metadata: Option<Metadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rate_limit: Option<FixedPoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    execution_policy: Option<ExecutionPolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    extra_records: Vec<ExtraRecord>,
}

impl From<QuoteRequest> for RequestJson {
    fn from(m: QuoteRequest) -> Self {
        RequestJson {
            id: m.id,
            scid: Some(ScidJson::from(m.id.scid())),
            transfer_type: m.transfer_type,
            expiry: m.expiry,
            in_asset_id: m.in_asset_id,
            in_asset_group_key: m.in_asset_group_key,
            out_asset_id: m.out_asset_id,
            out_asset_group_key: m.out_asset_group_key,
            max_in_asset: m.max_in_asset,
            in_asset_rate_hint: m.in_asset_rate_hint,
            out_asset_rate_hint: m.out_asset_rate_hint,
            min_in_asset: m.min_in_asset,
            min_out_asset: m.min_out_asset,
            metadata: m.metadata,
            rate_limit: m.rate_limit,
            execution_policy: m.execution_policy,
            extra_records: m.extra.as_slice().to_vec(),
        }
    }
}

impl TryFrom<RequestJson> for QuoteRequest {
    type Error = JsonFormError;

    fn try_from(j: RequestJson) -> Result<Self, Self::Error> {
        scid_json_check(j.id, j.scid.as_ref())?;
        if let Some(m) = &j.metadata {
            if m.0.len() > MAX_METADATA_LEN {
                return Err(JsonFormError::BadHex {
                    field: "metadata",
                    reason: format!("{} bytes, at most {MAX_METADATA_LEN} allowed", m.0.len()),
                });
            }
        }
        Ok(QuoteRequest {
            id: j.id,
            transfer_type: j.transfer_type,
            expiry: j.expiry,
            in_asset_id: j.in_asset_id,
            in_asset_group_key: j.in_asset_group_key,
            out_asset_id: j.out_asset_id,
            out_asset_group_key: j.out_asset_group_key,
            max_in_asset: j.max_in_asset,
            in_asset_rate_hint: j.in_asset_rate_hint,
            out_asset_rate_hint: j.out_asset_rate_hint,
            min_in_asset: j.min_in_asset,
            min_out_asset: j.min_out_asset,
            metadata: j.metadata,
            rate_limit: j.rate_limit,
            execution_policy: j.execution_policy,
            extra: ExtraRecords::from_records(j.extra_records, &tlv::ALL)?,
        })
    }
}
