//! The three RFQ peer messages (spec §1, §3–5), and [`RfqMessage`], which frames any of them
//! as a BOLT 1 payload (2-byte big-endian type, then the data).

mod accept;
mod reject;
mod request;

pub use accept::{
    tlv as accept_tlv, BuyAccept, QuoteAccept, QuoteSignature, SellAccept, ACCEPT_TYPE,
};
pub use reject::{tlv as reject_tlv, QuoteReject, REJECT_TYPE};
pub use request::{
    tlv as request_tlv, BuyRequest, QuoteRequest, SellRequest, TypedRequest, MAX_METADATA_LEN,
    REQUEST_TYPE,
};

use crate::error::{DecodeError, JsonFormError};
use crate::fixed_point::FixedPoint;
use crate::id::{RfqId, Scid};
use crate::tlv::{field, Record, StreamWriter, TlvReader};
use bitcoin::hex::FromHex;
use serde::{Deserialize, Serialize};

/// The only data version this crate speaks (tapd v0.5 to v0.8+).
pub const DATA_VERSION: u8 = 1;

/// Any RFQ message. Its JSON form is the message's own, tagged with `"kind"` (`request`, `accept`, `reject`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
// A request is a few hundred bytes; messages are short-lived values decoded once per custom
// message, so boxing would only add an allocation per message.
#[allow(clippy::large_enum_variant)]
pub enum RfqMessage {
    /// Type 52884.
    Request(QuoteRequest),
    /// Type 52885.
    Accept(QuoteAccept),
    /// Type 52886.
    Reject(QuoteReject),
}

impl RfqMessage {
    /// The BOLT 1 message type.
    pub fn msg_type(&self) -> u16 {
        match self {
            RfqMessage::Request(_) => REQUEST_TYPE,
            RfqMessage::Accept(_) => ACCEPT_TYPE,
            RfqMessage::Reject(_) => REJECT_TYPE,
        }
    }

    /// The quote id the message carries.
    pub fn id(&self) -> RfqId {
        match self {
            RfqMessage::Request(m) => m.id,
            RfqMessage::Accept(m) => m.id,
            RfqMessage::Reject(m) => m.id,
        }
    }

    /// Whether `msg_type` is one of the three RFQ types (useful in a custom message reader).
    pub fn is_rfq_type(msg_type: u16) -> bool {
        (REQUEST_TYPE..=REJECT_TYPE).contains(&msg_type)
    }

    /// Decodes message data whose type is already known (as a custom message handler gets it).
    pub fn decode_data(msg_type: u16, data: &[u8]) -> Result<Self, DecodeError> {
        match msg_type {
            REQUEST_TYPE => QuoteRequest::decode(data).map(RfqMessage::Request),
            ACCEPT_TYPE => QuoteAccept::decode(data).map(RfqMessage::Accept),
            REJECT_TYPE => QuoteReject::decode(data).map(RfqMessage::Reject),
            found => Err(DecodeError::UnknownMessageType { found }),
        }
    }

    /// Decodes a full BOLT 1 payload: 2-byte big-endian type, then the data.
    pub fn decode_payload(payload: &[u8]) -> Result<Self, DecodeError> {
        let (ty, data) =
            payload
                .split_first_chunk::<2>()
                .ok_or_else(|| DecodeError::Truncated {
                    what: "message type",
                    needed: 2 - payload.len(),
                    offset: 0,
                })?;
        Self::decode_data(u16::from_be_bytes(*ty), data)
    }

    /// Appends the message data (without the type).
    pub fn encode_data_into(&self, out: &mut Vec<u8>) {
        match self {
            RfqMessage::Request(m) => m.encode_into(out),
            RfqMessage::Accept(m) => m.encode_into(out),
            RfqMessage::Reject(m) => m.encode_into(out),
        }
    }

    /// The message data (without the type).
    pub fn encode_data(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(192);
        self.encode_data_into(&mut out);
        out
    }

    /// The full BOLT 1 payload: 2-byte type, then the data.
    pub fn encode_payload(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(194);
        out.extend_from_slice(&self.msg_type().to_be_bytes());
        self.encode_data_into(&mut out);
        out
    }

    /// Guesses the message type of bare data from the records it carries: a reject has TLV 5,
    /// a request TLV 16, an accept TLV 8 or 10. Returns `None` when nothing fits. Meant for
    /// tools that are handed data without its type; a peer connection always knows the type.
    pub fn guess_type(data: &[u8]) -> Option<u16> {
        let mut found = None;
        for record in TlvReader::new(data) {
            match record.ok()?.tlv {
                reject::tlv::ERR => found = found.or(Some(REJECT_TYPE)),
                request::tlv::MAX_IN_ASSET => found = found.or(Some(REQUEST_TYPE)),
                accept::tlv::IN_ASSET_RATE | accept::tlv::OUT_ASSET_RATE => {
                    found = found.or(Some(ACCEPT_TYPE))
                }
                _ => {}
            }
        }
        found
    }
}

impl From<QuoteRequest> for RfqMessage {
    fn from(m: QuoteRequest) -> Self {
        RfqMessage::Request(m)
    }
}

impl From<QuoteAccept> for RfqMessage {
    fn from(m: QuoteAccept) -> Self {
        RfqMessage::Accept(m)
    }
}

impl From<QuoteReject> for RfqMessage {
    fn from(m: QuoteReject) -> Self {
        RfqMessage::Reject(m)
    }
}

/// Opaque price-oracle metadata (request TLV 27). tapd treats it as a string, but any bytes are
/// carried. JSON: a plain string when the bytes are UTF-8, otherwise `{"hex": "…"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Metadata(pub Vec<u8>);

impl Serialize for Metadata {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match core::str::from_utf8(&self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => {
                use serde::ser::SerializeMap;
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("hex", &crate::json::to_hex(&self.0))?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            Hex { hex: String },
        }
        match Form::deserialize(d)? {
            Form::Text(text) => Ok(Metadata(text.into_bytes())),
            Form::Hex { hex } => Vec::<u8>::from_hex(&hex)
                .map(Metadata)
                .map_err(|e| serde::de::Error::custom(format!("metadata: bad hex: {e}"))),
        }
    }
}

/// JSON form of the SCID derived from an id: the number and `BLOCKxTXxOUT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScidJson {
    value: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    short: String,
}

impl From<Scid> for ScidJson {
    fn from(s: Scid) -> Self {
        ScidJson {
            value: s.0,
            short: s.to_string(),
        }
    }
}

/// An `scid` given in JSON input is optional, but when present it must match the id.
pub(crate) fn scid_json_check(id: RfqId, given: Option<&ScidJson>) -> Result<(), JsonFormError> {
    let Some(given) = given else { return Ok(()) };
    let derived = id.scid();
    if given.value != derived.0 || (!given.short.is_empty() && given.short != derived.to_string()) {
        return Err(JsonFormError::ScidMismatch {
            given: given.value,
            derived: derived.0,
        });
    }
    Ok(())
}

pub(crate) fn decode_version(r: Record<'_>) -> Result<u8, DecodeError> {
    match field::u8(r)? {
        DATA_VERSION => Ok(DATA_VERSION),
        found => Err(DecodeError::UnknownVersion { found }),
    }
}

pub(crate) fn write_fixed_point(w: &mut StreamWriter<'_>, tlv: u64, v: &FixedPoint) {
    let out = w.at(tlv);
    crate::tlv::write_header(out, tlv, v.wire_len());
    v.write_value(out);
}
