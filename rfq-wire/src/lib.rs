//! # rfq-wire
//!
//! The Taproot Assets RFQ peer protocol as tapd speaks it: quote request (52884), accept
//! (52885) and reject (52886) messages, data version 1, encoded and decoded byte for byte, plus
//! the HTLC custom records that carry asset amounts and quote ids.
//!
//! No I/O, no clock, no async: decoding is a pure function of the bytes, and the expiry rules
//! live in separate `validate(now)` calls.
//!
//! ```
//! use rfq_wire::*;
//!
//! let now = 1_767_225_000;
//! let request = BuyRequest {
//!     id: RfqId::with_alias_scid([7; 32]), // pass 32 bytes from a CSPRNG
//!     expiry: now + 600,
//!     asset: AssetSpecifier::AssetId(AssetId([0x22; 32])),
//!     max_units: 1_000,
//!     min_units: None,
//!     rate_hint: None,
//!     rate_limit: Some(FixedPoint::new(9_500_000, 0)),
//!     execution_policy: ExecutionPolicy::FillOrKill,
//!     metadata: Metadata::default(),
//! };
//! let payload = RfqMessage::Request(request.clone().into()).encode_payload();
//! let RfqMessage::Request(wire) = RfqMessage::decode_payload(&payload)? else { unreachable!() };
//! assert_eq!(wire.validate(now)?, TypedRequest::Buy(request));
//! assert!(wire.id.scid().is_alias());
//! // Malformed bytes give a typed error that names the field.
//! let err = QuoteRequest::decode(&[0x00, 0x01, 0x01]).unwrap_err();
//! assert_eq!(err.to_string(), "TLV 2 (id) is missing");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Contents:
//! - [`bigsize`], [`tlv`]: BOLT 1 framing (BigSize integers, strict TLV streams that keep unknown
//!   records so decode → encode is byte-identical);
//! - [`id`]: [`RfqId`] and the [`Scid`] alias derived from it;
//! - [`asset`]: [`AssetId`], [`GroupKey`], [`AssetSpecifier`];
//! - [`fixed_point`]: [`FixedPoint`], a rate's wire form;
//! - [`code_enum`]: [`TransferType`], [`ExecutionPolicy`], [`RejectCode`];
//! - [`message`]: [`QuoteRequest`], [`QuoteAccept`], [`QuoteReject`], their typed buy/sell views,
//!   and [`RfqMessage`] for BOLT 1 payloads;
//! - [`htlc`]: [`HtlcRecords`], the `update_add_htlc` custom records;
//! - [`error`]: [`DecodeError`], [`ValidationError`], [`ClassifyError`], [`JsonFormError`].
//!
//! Every type has a serde JSON form (ids and keys as hex, coefficients as decimal strings).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod asset;
pub mod bigsize;
pub mod code_enum;
pub mod error;
pub mod fixed_point;
pub mod htlc;
pub mod id;
mod json;
pub mod message;
pub mod tlv;

pub use asset::{AssetId, AssetSpecifier, GroupKey};
pub use code_enum::{ExecutionPolicy, RejectCode, TransferType};
pub use error::{ClassifyError, DecodeError, JsonFormError, LengthRule, ValidationError};
pub use fixed_point::FixedPoint;
pub use htlc::{AssetBalance, HtlcRecords};
pub use id::{RfqId, Scid};
pub use message::{
    BuyAccept, BuyRequest, Metadata, QuoteAccept, QuoteReject, QuoteRequest, QuoteSignature,
    RfqMessage, SellAccept, SellRequest, TypedRequest, ACCEPT_TYPE, DATA_VERSION, REJECT_TYPE,
    REQUEST_TYPE,
};
