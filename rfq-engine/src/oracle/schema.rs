//! The JSON body types of the HTTP price-oracle protocol (documented in
//! `docs/price-oracle.md`), mirroring tapd's `QueryAssetRates` gRPC messages (spec §11).
//!
//! Conventions: snake_case field names (responses may also use the proto's camelCase names);
//! enums as their proto names; 64-bit integers as decimal strings (responses may use numbers);
//! byte strings as lowercase hex; a fixed point as `{"coefficient": "<decimal>", "scale": n}`.
//! Unknown response fields are ignored.

use super::{Intent, OracleError, OracleRate, RateQuery, TransactionType};
use rfq_wire::{AssetSpecifier, FixedPoint, Metadata};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Request body (`POST`, `Content-Type: application/json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryAssetRatesRequest {
    /// `"PURCHASE"` (we buy the asset) or `"SALE"` (we sell it).
    pub transaction_type: TransactionTypeJson,
    /// The asset being priced.
    pub subject_asset: AssetSpecifierJson,
    /// Most asset units involved; `"0"` = not stated.
    #[serde(with = "u64_string")]
    pub subject_asset_max_amount: u64,
    /// Always BTC: `{"asset_id_str": "00…00"}`.
    pub payment_asset: AssetSpecifierJson,
    /// Most msat involved; `"0"` = not stated.
    #[serde(with = "u64_string")]
    pub payment_asset_max_amount: u64,
    /// A suggested rate, or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_rates_hint: Option<AssetRatesJson>,
    /// Why the rate is asked for, e.g. `"INTENT_PAY_INVOICE"`.
    pub intent: IntentJson,
    /// The peer's node key (66 hex characters), or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterparty_id: Option<String>,
    /// The request's metadata: a string, or `{"hex": "…"}` when it is not UTF-8.
    #[serde(default)]
    pub metadata: Metadata,
    /// Our node key (66 hex characters), or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
}

/// An asset named by id or group key, as hex (the proto's `_str` variants).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetSpecifierJson {
    /// A 32-byte asset id (64 hex characters).
    AssetIdStr(String),
    /// A 33-byte compressed group key (66 hex characters).
    GroupKeyStr(String),
}

/// A rate with its expiry: the proto's `AssetRates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetRatesJson {
    /// Subject asset units per BTC.
    #[serde(alias = "subjectAssetRate")]
    pub subject_asset_rate: FixedPointJson,
    /// Payment asset (BTC) per BTC: msat as `{"100000000000", 9}`. Ignored in responses.
    #[serde(
        default,
        alias = "paymentAssetRate",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_asset_rate: Option<FixedPointJson>,
    /// Unix seconds.
    #[serde(alias = "expiryTimestamp", with = "u64_string")]
    pub expiry_timestamp: u64,
}

/// A fixed point as sent: the coefficient stays a string and the scale a u32 until checked, so
/// that bad values give precise errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedPointJson {
    /// Decimal digits.
    pub coefficient: String,
    /// Decimal places.
    pub scale: u32,
}

/// Response body: exactly one of `ok` and `error`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryAssetRatesResponse {
    /// The rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<OkResponseJson>,
    /// Why there is no rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorResponseJson>,
}

/// The `ok` branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OkResponseJson {
    /// The rate and its expiry.
    #[serde(alias = "assetRates")]
    pub asset_rates: AssetRatesJson,
}

/// The `error` branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponseJson {
    /// Free text; forwarded to the peer for code 1.
    #[serde(default)]
    pub message: String,
    /// 0 = unspecified, 1 = unsupported asset.
    #[serde(default)]
    pub code: u32,
}

/// Error code: unspecified.
pub const ERROR_CODE_UNSPECIFIED: u32 = 0;
/// Error code: the oracle does not price the asset.
pub const ERROR_CODE_UNSUPPORTED_ASSET: u32 = 1;

/// `TransactionType` by its proto name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransactionTypeJson {
    /// 0.
    #[serde(rename = "PURCHASE")]
    Purchase,
    /// 1.
    #[serde(rename = "SALE")]
    Sale,
}

/// `Intent` by its proto name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IntentJson {
    /// 0.
    IntentUnspecified,
    /// 1.
    IntentPayInvoiceHint,
    /// 2.
    IntentPayInvoice,
    /// 3.
    IntentPayInvoiceQualify,
    /// 4.
    IntentRecvPaymentHint,
    /// 5.
    IntentRecvPayment,
    /// 6.
    IntentRecvPaymentQualify,
}

impl From<TransactionType> for TransactionTypeJson {
    fn from(t: TransactionType) -> Self {
        match t {
            TransactionType::Purchase => TransactionTypeJson::Purchase,
            TransactionType::Sale => TransactionTypeJson::Sale,
        }
    }
}

impl From<TransactionTypeJson> for TransactionType {
    fn from(t: TransactionTypeJson) -> Self {
        match t {
            TransactionTypeJson::Purchase => TransactionType::Purchase,
            TransactionTypeJson::Sale => TransactionType::Sale,
        }
    }
}

impl From<Intent> for IntentJson {
    fn from(i: Intent) -> Self {
        match i {
            Intent::Unspecified => IntentJson::IntentUnspecified,
            Intent::PayInvoiceHint => IntentJson::IntentPayInvoiceHint,
            Intent::PayInvoice => IntentJson::IntentPayInvoice,
            Intent::PayInvoiceQualify => IntentJson::IntentPayInvoiceQualify,
            Intent::RecvPaymentHint => IntentJson::IntentRecvPaymentHint,
            Intent::RecvPayment => IntentJson::IntentRecvPayment,
            Intent::RecvPaymentQualify => IntentJson::IntentRecvPaymentQualify,
        }
    }
}

impl From<IntentJson> for Intent {
    fn from(i: IntentJson) -> Self {
        match i {
            IntentJson::IntentUnspecified => Intent::Unspecified,
            IntentJson::IntentPayInvoiceHint => Intent::PayInvoiceHint,
            IntentJson::IntentPayInvoice => Intent::PayInvoice,
            IntentJson::IntentPayInvoiceQualify => Intent::PayInvoiceQualify,
            IntentJson::IntentRecvPaymentHint => Intent::RecvPaymentHint,
            IntentJson::IntentRecvPayment => Intent::RecvPayment,
            IntentJson::IntentRecvPaymentQualify => Intent::RecvPaymentQualify,
        }
    }
}

impl From<&AssetSpecifier> for AssetSpecifierJson {
    fn from(a: &AssetSpecifier) -> Self {
        match a {
            AssetSpecifier::AssetId(id) => AssetSpecifierJson::AssetIdStr(id.to_string()),
            AssetSpecifier::GroupKey(key) => AssetSpecifierJson::GroupKeyStr(key.to_string()),
        }
    }
}

impl AssetSpecifierJson {
    /// Parses the hex into a specifier (for oracle servers written with these types).
    pub fn parse(&self) -> Result<AssetSpecifier, rfq_wire::JsonFormError> {
        Ok(match self {
            AssetSpecifierJson::AssetIdStr(hex) => AssetSpecifier::AssetId(hex.parse()?),
            AssetSpecifierJson::GroupKeyStr(hex) => AssetSpecifier::GroupKey(hex.parse()?),
        })
    }
}

impl From<FixedPoint> for FixedPointJson {
    fn from(v: FixedPoint) -> Self {
        FixedPointJson {
            coefficient: v.coefficient.to_string(),
            scale: u32::from(v.scale),
        }
    }
}

impl FixedPointJson {
    /// The fixed point, if the coefficient is a decimal u128 and the scale fits a u8 (tapd
    /// rejects scales above 255). Range checks beyond that are the caller's.
    pub fn parse(&self) -> Result<FixedPoint, String> {
        let c = &self.coefficient;
        if c.is_empty() || !c.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("coefficient {c:?} is not a decimal integer"));
        }
        let coefficient = c
            .parse::<u128>()
            .map_err(|_| format!("coefficient {c} does not fit in 128 bits"))?;
        let scale =
            u8::try_from(self.scale).map_err(|_| format!("scale {} is above 255", self.scale))?;
        Ok(FixedPoint::new(coefficient, scale))
    }
}

impl From<&RateQuery> for QueryAssetRatesRequest {
    fn from(q: &RateQuery) -> Self {
        QueryAssetRatesRequest {
            transaction_type: q.transaction_type.into(),
            subject_asset: (&q.subject_asset).into(),
            subject_asset_max_amount: q.subject_max_amount.unwrap_or(0),
            payment_asset: (&AssetSpecifier::BTC).into(),
            payment_asset_max_amount: q.payment_max_msat.unwrap_or(0),
            asset_rates_hint: q.rate_hint.map(|hint| AssetRatesJson {
                subject_asset_rate: hint.rate.into(),
                payment_asset_rate: Some(FixedPoint::MSAT_PER_BTC.into()),
                expiry_timestamp: hint.expiry,
            }),
            intent: q.intent.into(),
            counterparty_id: q.counterparty.as_ref().map(|k| to_hex(k)),
            metadata: q.metadata.clone(),
            node_id: q.node_id.as_ref().map(|k| to_hex(k)),
        }
    }
}

impl QueryAssetRatesResponse {
    /// An `ok` response.
    pub fn ok(rate: FixedPoint, expiry: u64) -> Self {
        QueryAssetRatesResponse {
            ok: Some(OkResponseJson {
                asset_rates: AssetRatesJson {
                    subject_asset_rate: rate.into(),
                    payment_asset_rate: Some(FixedPoint::MSAT_PER_BTC.into()),
                    expiry_timestamp: expiry,
                },
            }),
            error: None,
        }
    }

    /// An `error` response.
    pub fn error(code: u32, message: impl Into<String>) -> Self {
        QueryAssetRatesResponse {
            ok: None,
            error: Some(ErrorResponseJson {
                message: message.into(),
                code,
            }),
        }
    }

    /// The answer this response carries, checked as tapd checks it: exactly one branch; a
    /// parseable, non-zero rate (and, here, scale ≤ 18); error code 1 is an unsupported asset.
    pub fn into_result(self) -> Result<OracleRate, OracleError> {
        let invalid = |reason: String| OracleError::InvalidResponse { reason };
        match (self.ok, self.error) {
            (Some(ok), None) => {
                let rates = ok.asset_rates;
                let rate = rates
                    .subject_asset_rate
                    .parse()
                    .map_err(|e| invalid(format!("subject_asset_rate: {e}")))?;
                super::validate_rate(OracleRate {
                    rate,
                    expiry: rates.expiry_timestamp,
                })
            }
            (None, Some(error)) => Err(match error.code {
                ERROR_CODE_UNSUPPORTED_ASSET => OracleError::UnsupportedAsset {
                    message: error.message,
                },
                code => OracleError::Declined {
                    code,
                    message: error.message,
                },
            }),
            (Some(_), Some(_)) => Err(invalid("both ok and error are set".into())),
            (None, None) => Err(invalid("neither ok nor error is set".into())),
        }
    }
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// u64 as a decimal string; a JSON number is accepted too.
mod u64_string {
    use super::*;

    pub(super) fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form<'a> {
            Number(u64),
            Text(std::borrow::Cow<'a, str>),
        }
        match Form::deserialize(d)? {
            Form::Number(v) => Ok(v),
            Form::Text(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("{s} does not fit in a u64"))),
            Form::Text(s) => Err(serde::de::Error::custom(format!(
                "{s:?} is not a decimal u64"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::RateHint;
    use rfq_wire::AssetId;

    fn response(json: &str) -> Result<OracleRate, OracleError> {
        serde_json::from_str::<QueryAssetRatesResponse>(json)
            .map_err(|e| OracleError::InvalidResponse {
                reason: e.to_string(),
            })?
            .into_result()
    }

    #[test]
    fn request_json_shape() {
        let mut q = RateQuery::new(
            TransactionType::Sale,
            Intent::RecvPayment,
            AssetSpecifier::AssetId(AssetId([0xab; 32])),
        );
        q.subject_max_amount = Some(u64::MAX);
        q.rate_hint = Some(RateHint {
            rate: FixedPoint::new(6_791_890, 2),
            expiry: 1_700_000_000,
        });
        q.counterparty = Some([2; 33]);
        q.metadata = Metadata(b"{\"tier\":1}".to_vec());
        let json = serde_json::to_value(QueryAssetRatesRequest::from(&q)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "transaction_type": "SALE",
                "subject_asset": {"asset_id_str": "ab".repeat(32)},
                "subject_asset_max_amount": "18446744073709551615",
                "payment_asset": {"asset_id_str": "00".repeat(32)},
                "payment_asset_max_amount": "0",
                "asset_rates_hint": {
                    "subject_asset_rate": {"coefficient": "6791890", "scale": 2},
                    "payment_asset_rate": {"coefficient": "100000000000", "scale": 9},
                    "expiry_timestamp": "1700000000"
                },
                "intent": "INTENT_RECV_PAYMENT",
                "counterparty_id": "02".repeat(33),
                "metadata": "{\"tier\":1}"
            })
        );
        let back: QueryAssetRatesRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, QueryAssetRatesRequest::from(&q));
        assert_eq!(back.subject_asset.parse().unwrap(), q.subject_asset);
    }

    #[test]
    fn ok_responses() {
        let ok = r#"{"ok":{"asset_rates":{"subject_asset_rate":{"coefficient":"6791890","scale":2},"payment_asset_rate":{"coefficient":"100000000000","scale":9},"expiry_timestamp":"1700000600"}}}"#;
        assert_eq!(
            response(ok),
            Ok(OracleRate {
                rate: FixedPoint::new(6_791_890, 2),
                expiry: 1_700_000_600
            })
        );
        // camelCase names, a numeric expiry, no payment rate, extra fields.
        let camel = r#"{"ok":{"assetRates":{"subjectAssetRate":{"coefficient":"5","scale":0},"expiryTimestamp":7,"x":1}},"y":2}"#;
        assert_eq!(
            response(camel),
            Ok(OracleRate {
                rate: FixedPoint::new(5, 0),
                expiry: 7
            })
        );
        assert_eq!(
            serde_json::to_string(&QueryAssetRatesResponse::ok(
                FixedPoint::new(6_791_890, 2),
                1_700_000_600
            ))
            .unwrap(),
            ok
        );
    }

    #[test]
    fn bad_responses() {
        let rate = |c: &str, s: u64| {
            format!(
                r#"{{"ok":{{"asset_rates":{{"subject_asset_rate":{{"coefficient":"{c}","scale":{s}}},"expiry_timestamp":"1"}}}}}}"#
            )
        };
        assert_eq!(response(&rate("0", 2)), Err(OracleError::ZeroRate));
        for (c, s) in [
            ("-1", 0),
            ("1.5", 0),
            ("", 0),
            ("340282366920938463463374607431768211456", 0),
            ("1", 256),
            ("1", 19),
        ] {
            assert!(
                matches!(
                    response(&rate(c, s)),
                    Err(OracleError::InvalidResponse { .. })
                ),
                "{c} {s}"
            );
        }
        assert!(matches!(
            response("{}"),
            Err(OracleError::InvalidResponse { .. })
        ));
        let both = r#"{"ok":{"asset_rates":{"subject_asset_rate":{"coefficient":"1","scale":0},"expiry_timestamp":"1"}},"error":{"message":"x","code":0}}"#;
        assert!(matches!(
            response(both),
            Err(OracleError::InvalidResponse { .. })
        ));
        assert!(matches!(
            response(
                r#"{"ok":{"asset_rates":{"subject_asset_rate":{"coefficient":"1","scale":0},"expiry_timestamp":"-5"}}}"#
            ),
            Err(OracleError::InvalidResponse { .. })
        ));
    }

    #[test]
    fn error_responses() {
        assert_eq!(
            response(r#"{"error":{"message":"no USD here","code":1}}"#),
            Err(OracleError::UnsupportedAsset {
                message: "no USD here".into()
            })
        );
        assert_eq!(
            response(r#"{"error":{"message":"busy"}}"#),
            Err(OracleError::Declined {
                code: 0,
                message: "busy".into()
            })
        );
        assert_eq!(
            serde_json::to_string(&QueryAssetRatesResponse::error(1, "x")).unwrap(),
            r#"{"error":{"message":"x","code":1}}"#
        );
    }
}
