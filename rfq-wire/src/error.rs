//! The errors of this crate: one for decoding outside bytes, one for validation against a clock,
//! one for classifying a message into its typed buy/sell view, and one for JSON forms.

use thiserror::Error;

/// Why bytes could not be decoded. Every variant that concerns a record names its TLV type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended inside a BigSize, a record header or a record value.
    #[error("truncated input: {what} needs {needed} more byte(s) at offset {offset}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// How many bytes were missing.
        needed: usize,
        /// Offset into the stream where the read started.
        offset: usize,
    },
    /// A BigSize was not minimally encoded.
    #[error("non-canonical BigSize at offset {offset}")]
    NonCanonicalBigSize {
        /// Offset of the BigSize.
        offset: usize,
    },
    /// A record type was not strictly greater than the one before it (disorder or duplicate).
    #[error("TLV stream not canonical: type {found} follows type {previous}")]
    NotStrictlyIncreasing {
        /// The previous record's type.
        previous: u64,
        /// The offending record's type.
        found: u64,
    },
    /// A record's length does not fit its field.
    #[error("TLV {tlv}: bad length {found}, expected {expected}")]
    BadLength {
        /// The record type.
        tlv: u64,
        /// The length rule for this field.
        expected: LengthRule,
        /// The length found.
        found: u64,
    },
    /// A group key record is not a valid compressed secp256k1 point.
    #[error("TLV {tlv}: not a valid compressed secp256k1 point")]
    InvalidPoint {
        /// The record type.
        tlv: u64,
    },
    /// A FixedPoint coefficient does not fit in 128 bits.
    #[error(
        "TLV {tlv}: fixed-point coefficient is {bytes} significant bytes, wider than 128 bits"
    )]
    CoefficientTooWide {
        /// The record type.
        tlv: u64,
        /// Significant bytes found.
        bytes: usize,
    },
    /// The data version is not 1.
    #[error("TLV 0: unknown data version {found} (only version 1 is supported)")]
    UnknownVersion {
        /// The version byte found.
        found: u8,
    },
    /// A record that every message of this kind carries is absent.
    #[error("TLV {tlv} ({name}) is missing")]
    MissingField {
        /// The record type.
        tlv: u64,
        /// The field name.
        name: &'static str,
    },
    /// A text field is not UTF-8.
    #[error("TLV {tlv}: message text is not valid UTF-8")]
    InvalidUtf8 {
        /// The record type.
        tlv: u64,
    },
    /// A boolean record holds something other than 0 or 1.
    #[error("TLV {tlv}: boolean value {value} is neither 0 nor 1")]
    InvalidBool {
        /// The record type.
        tlv: u64,
        /// The byte found.
        value: u8,
    },
    /// A list holds more entries than allowed.
    #[error("TLV {tlv}: {count} entries, at most {max} allowed")]
    TooManyEntries {
        /// The record type.
        tlv: u64,
        /// Entries claimed.
        count: u64,
        /// The limit.
        max: u64,
    },
    /// A list's entries do not fill the record exactly.
    #[error("TLV {tlv}: {trailing} trailing byte(s) after the last entry")]
    TrailingBytes {
        /// The record type.
        tlv: u64,
        /// Bytes left over.
        trailing: usize,
    },
    /// A nested record (inside a list entry) failed to decode.
    #[error("TLV {tlv}, entry {index}: {source}")]
    Nested {
        /// The outer record type.
        tlv: u64,
        /// The entry index.
        index: usize,
        /// What went wrong inside.
        source: Box<DecodeError>,
    },
    /// A BOLT 1 message type that is not an RFQ message.
    #[error("message type {found} is not an RFQ message (expected 52884, 52885 or 52886)")]
    UnknownMessageType {
        /// The type found.
        found: u16,
    },
    /// An HTLC custom record stream contains a type below the custom range (65536).
    #[error("TLV {tlv}: HTLC custom records must have types of at least 65536")]
    NotCustomRecord {
        /// The record type.
        tlv: u64,
    },
}

/// The length a field requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthRule {
    /// Exactly this many bytes.
    Exactly(u64),
    /// At least this many bytes.
    AtLeast(u64),
    /// At most this many bytes.
    AtMost(u64),
}

impl core::fmt::Display for LengthRule {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LengthRule::Exactly(n) => write!(f, "exactly {n}"),
            LengthRule::AtLeast(n) => write!(f, "at least {n}"),
            LengthRule::AtMost(n) => write!(f, "at most {n}"),
        }
    }
}

/// A well-formed message that breaks one of tapd's validation rules (spec §3.4, §4.2).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    /// The expiry is not after `now` (equal counts as expired).
    #[error("expired: expiry {expiry} is not after now {now}")]
    Expired {
        /// The message's expiry, Unix seconds.
        expiry: u64,
        /// The time checked against.
        now: u64,
    },
    /// The expiry does not fit in a signed 64-bit integer (tapd stores it as `int64`).
    #[error("expiry {expiry} exceeds the largest int64")]
    ExpiryTooLarge {
        /// The message's expiry.
        expiry: u64,
    },
    /// Not exactly one of the two given specifier records is present.
    #[error(
        "exactly one of TLV {id_tlv} (asset id) and TLV {key_tlv} (group key) must be present"
    )]
    AmbiguousSpecifier {
        /// Asset id record type.
        id_tlv: u64,
        /// Group key record type.
        key_tlv: u64,
    },
    /// Both asset ids are the all-zero BTC id.
    #[error("in and out asset ids are both BTC (all zero)")]
    BothSidesBtc,
    /// The oracle metadata is longer than 32 768 bytes.
    #[error("metadata is {len} bytes, at most 32768 allowed")]
    MetadataTooLong {
        /// Length found.
        len: usize,
    },
    /// The minimum amount exceeds the maximum.
    #[error("minimum {min} exceeds maximum {max}")]
    MinAboveMax {
        /// The minimum.
        min: u64,
        /// The maximum.
        max: u64,
    },
    /// The rate limit has a zero coefficient.
    #[error("rate limit (TLV 29) has a zero coefficient")]
    ZeroRateLimit,
    /// The execution policy byte is not 0 (IOC) or 1 (FOK).
    #[error("execution policy (TLV 31) {value} is neither 0 (IOC) nor 1 (FOK)")]
    UnknownExecutionPolicy {
        /// The byte found.
        value: u8,
    },
    /// An accept rate has a zero coefficient (rates are used as divisors).
    #[error("accept rate TLV {tlv} has a zero coefficient")]
    ZeroRate {
        /// The record type (8 or 10).
        tlv: u64,
    },
    /// The request cannot be classified as a buy or a sell.
    #[error(transparent)]
    Classify(#[from] ClassifyError),
}

/// Why a request cannot be given its typed buy/sell view.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClassifyError {
    /// `transfer_type` is neither 1 (pay invoice → sell) nor 2 (receive payment → buy).
    #[error("unknown transfer type {found} (1 = pay invoice/sell, 2 = receive payment/buy)")]
    UnknownTransferType {
        /// The byte found.
        found: u8,
    },
    /// The side that names the asset carries neither an asset id nor a group key.
    #[error("the asset side (TLV {id_tlv}/{key_tlv}) names no asset")]
    MissingAsset {
        /// Asset id record type.
        id_tlv: u64,
        /// Group key record type.
        key_tlv: u64,
    },
    /// The side that names the asset carries both an asset id and a group key.
    #[error("the asset side carries both TLV {id_tlv} (asset id) and TLV {key_tlv} (group key)")]
    BothSpecifiers {
        /// Asset id record type.
        id_tlv: u64,
        /// Group key record type.
        key_tlv: u64,
    },
}

/// A JSON value that parses but does not describe a valid message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JsonFormError {
    /// A hex string is malformed or has the wrong length.
    #[error("{field}: {reason}")]
    BadHex {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A decimal coefficient string does not parse as an unsigned 128-bit integer.
    #[error("coefficient {0:?} is not an unsigned decimal integer below 2^128")]
    BadCoefficient(String),
    /// The `scid` given does not match the one derived from the id.
    #[error("scid {given} does not match the id's scid {derived}")]
    ScidMismatch {
        /// What the JSON said.
        given: u64,
        /// What the id gives.
        derived: u64,
    },
    /// An extra record collides with a known field or breaks the order.
    #[error("extra record type {tlv}: {reason}")]
    BadExtraRecord {
        /// The record type.
        tlv: u64,
        /// What is wrong.
        reason: &'static str,
    },
    /// A group key is not a valid compressed point.
    #[error("{field}: not a valid compressed secp256k1 point")]
    InvalidPoint {
        /// Which field.
        field: &'static str,
    },
}
