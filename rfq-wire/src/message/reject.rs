//! Quote reject (message type 52886), data version 1 (spec §5).

use super::{decode_version, scid_json_check, ScidJson, DATA_VERSION};
use crate::code_enum::RejectCode;
use crate::error::{DecodeError, JsonFormError, LengthRule};
use crate::id::RfqId;
use crate::tlv::{field, ExtraRecord, ExtraRecords, StreamWriter, TlvReader};
use serde::{Deserialize, Serialize};

/// The BOLT 1 message type of a quote reject.
pub const REJECT_TYPE: u16 = 52886;

/// TLV numbers of the reject (spec §5).
pub mod tlv {
    #![allow(missing_docs)]
    pub const VERSION: u64 = 0;
    pub const ID: u64 = 2;
    pub const ERR: u64 = 5;
    /// Every type above, for checking extra records against.
    pub const ALL: [u64; 3] = [0, 2, 5];
}

/// A quote reject: the request's id, a code and free text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "RejectJson", try_from = "RejectJson")]
pub struct QuoteReject {
    /// TLV 2: the request's id.
    pub id: RfqId,
    /// TLV 5, first byte.
    pub code: RejectCode,
    /// TLV 5, the rest: UTF-8 text.
    pub message: String,
    /// Records of types this crate does not know.
    pub extra: ExtraRecords,
}

impl QuoteReject {
    /// A reject with tapd's default text for `code`.
    pub fn new(id: RfqId, code: RejectCode) -> Self {
        QuoteReject {
            id,
            code,
            message: code.default_message().to_owned(),
            extra: ExtraRecords::new(),
        }
    }

    /// Decodes the message data. Records longer than 65 535 bytes are refused (tapd decodes
    /// rejects in P2P mode).
    pub fn decode(data: &[u8]) -> Result<Self, DecodeError> {
        let mut version = None;
        let mut id = None;
        let mut err = None;
        let mut extra = ExtraRecords::new();
        for record in TlvReader::new(data) {
            let r = record?;
            field::at_most(r, u16::MAX as usize)?;
            match r.tlv {
                tlv::VERSION => version = Some(decode_version(r)?),
                tlv::ID => id = Some(RfqId(field::bytes32(r)?)),
                tlv::ERR => {
                    let (&code, text) = r.value.split_first().ok_or(DecodeError::BadLength {
                        tlv: r.tlv,
                        expected: LengthRule::AtLeast(1),
                        found: 0,
                    })?;
                    let text = core::str::from_utf8(text)
                        .map_err(|_| DecodeError::InvalidUtf8 { tlv: r.tlv })?;
                    err = Some((RejectCode::from_u8(code), text.to_owned()));
                }
                _ => extra.push_decoded(r),
            }
        }
        field::required(version, tlv::VERSION, "version")?;
        let (code, message) = field::required(err, tlv::ERR, "err")?;
        Ok(QuoteReject {
            id: field::required(id, tlv::ID, "id")?,
            code,
            message,
            extra,
        })
    }

    /// Appends the message data.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let mut w = StreamWriter::new(out, &self.extra);
        w.u8(tlv::VERSION, DATA_VERSION);
        w.bytes(tlv::ID, &self.id.0);
        let out = w.at(tlv::ERR);
        crate::tlv::write_header(out, tlv::ERR, 1 + self.message.len());
        out.push(self.code.to_u8());
        out.extend_from_slice(self.message.as_bytes());
        w.finish();
    }

    /// The message data as a new vector.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + self.message.len());
        self.encode_into(&mut out);
        out
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectJson {
    id: RfqId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scid: Option<ScidJson>,
    code: RejectCode,
    message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    extra_records: Vec<ExtraRecord>,
}

impl From<QuoteReject> for RejectJson {
    fn from(m: QuoteReject) -> Self {
        RejectJson {
            id: m.id,
            scid: Some(m.id.scid().into()),
            code: m.code,
            message: m.message,
            extra_records: m.extra.as_slice().to_vec(),
        }
    }
}

impl TryFrom<RejectJson> for QuoteReject {
    type Error = JsonFormError;

    fn try_from(j: RejectJson) -> Result<Self, Self::Error> {
        scid_json_check(j.id, j.scid.as_ref())?;
        Ok(QuoteReject {
            id: j.id,
            code: j.code,
            message: j.message,
            extra: ExtraRecords::from_records(j.extra_records, &tlv::ALL)?,
        })
    }
}
