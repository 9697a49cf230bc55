//! Price oracles: where quote rates come from (spec §11).
//!
//! [`PriceOracle`] is the boundary the negotiator talks to: one [`RateQuery`] in (the fields of
//! tapd's `QueryAssetRatesRequest`), one [`OracleRate`] or [`OracleError`] out. It is
//! object-safe, so a node holds an `Arc<dyn PriceOracle>`.
//!
//! Implementations:
//! - [`FixedRateOracle`]: configured bid/ask rates per asset, for operators and tests;
//! - [`HttpOracle`]: a JSON-over-HTTP oracle service ([`schema`] has the wire types;
//!   `docs/price-oracle.md` describes them);
//! - [`FallbackOracle`]: a primary with backups, tried in order while oracles are unavailable.

use core::future::Future;
use core::pin::Pin;
use rfq_wire::{AssetSpecifier, BuyRequest, FixedPoint, Metadata, RejectCode, SellRequest};

mod fallback;
mod fixed_rate;
mod http;
pub mod schema;

pub use fallback::FallbackOracle;
pub use fixed_rate::{system_clock, BidAsk, Clock, FixedRateConfigError, FixedRateOracle};
pub use http::{HttpOracle, HttpOracleConfigError};

/// The future an oracle query returns.
pub type OracleFuture<'a> =
    Pin<Box<dyn Future<Output = Result<OracleRate, OracleError>> + Send + 'a>>;

/// A source of asset rates.
///
/// Implementations must not panic on any query, and should answer within a bounded time (the
/// HTTP oracle has a timeout); a negotiation waits for the answer.
pub trait PriceOracle: Send + Sync {
    /// The rate (asset units per BTC) and its expiry for `query`.
    fn query_rate<'a>(&'a self, query: &'a RateQuery) -> OracleFuture<'a>;
}

/// Whether we would buy or sell the subject asset (tapd's `TransactionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransactionType {
    /// 0: we buy the asset (pay BTC, receive units). The oracle's *bid*.
    Purchase,
    /// 1: we sell the asset (receive BTC, give units). The oracle's *ask*.
    Sale,
}

/// Why the rate is asked for (tapd's `Intent`, v0.7+; spec §11 "who calls with what").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
    /// 0: not stated.
    Unspecified,
    /// 1: a wallet wants a hint before asking a peer to let it pay an invoice with the asset.
    PayInvoiceHint,
    /// 2: an edge node sets the binding rate for a peer paying an invoice with the asset.
    PayInvoice,
    /// 3: a wallet checks a peer's accepted rate for paying an invoice.
    PayInvoiceQualify,
    /// 4: a wallet wants a hint before asking a peer to let it receive the asset.
    RecvPaymentHint,
    /// 5: an edge node sets the binding rate for a peer receiving the asset.
    RecvPayment,
    /// 6: a wallet checks a peer's accepted rate for receiving.
    RecvPaymentQualify,
}

impl Intent {
    /// The protocol number, 0–6.
    pub fn to_u8(self) -> u8 {
        match self {
            Intent::Unspecified => 0,
            Intent::PayInvoiceHint => 1,
            Intent::PayInvoice => 2,
            Intent::PayInvoiceQualify => 3,
            Intent::RecvPaymentHint => 4,
            Intent::RecvPayment => 5,
            Intent::RecvPaymentQualify => 6,
        }
    }

    /// From the protocol number; `None` above 6.
    pub fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Intent::Unspecified,
            1 => Intent::PayInvoiceHint,
            2 => Intent::PayInvoice,
            3 => Intent::PayInvoiceQualify,
            4 => Intent::RecvPaymentHint,
            5 => Intent::RecvPayment,
            6 => Intent::RecvPaymentQualify,
            _ => return None,
        })
    }
}

/// A rate suggested to the oracle, with the time it is meant to hold until.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateHint {
    /// Asset units per BTC.
    pub rate: FixedPoint,
    /// Unix seconds.
    pub expiry: u64,
}

/// One rate query: the fields of tapd's `QueryAssetRatesRequest`. The payment asset is always
/// BTC and is not a field here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateQuery {
    /// Whether we buy or sell the subject asset.
    pub transaction_type: TransactionType,
    /// Why the rate is asked for.
    pub intent: Intent,
    /// The asset being priced.
    pub subject_asset: AssetSpecifier,
    /// The most asset units the transaction could involve, if known.
    pub subject_max_amount: Option<u64>,
    /// The most msat the transaction could involve, if known.
    pub payment_max_msat: Option<u64>,
    /// A suggested rate (e.g. the requester's hint, or a peer's accepted rate to qualify).
    pub rate_hint: Option<RateHint>,
    /// The peer's 33-byte node key, if the operator shares it with the oracle.
    pub counterparty: Option<[u8; 33]>,
    /// Opaque metadata from the request (TLV 27), up to 32 768 bytes.
    pub metadata: Metadata,
    /// Our own 33-byte node key, if shared.
    pub node_id: Option<[u8; 33]>,
}

impl RateQuery {
    /// A query with only the required fields set.
    pub fn new(
        transaction_type: TransactionType,
        intent: Intent,
        subject_asset: AssetSpecifier,
    ) -> Self {
        RateQuery {
            transaction_type,
            intent,
            subject_asset,
            subject_max_amount: None,
            payment_max_msat: None,
            rate_hint: None,
            counterparty: None,
            metadata: Metadata::default(),
            node_id: None,
        }
    }

    /// What an edge node asks when a peer wants to buy (receive) the asset (spec §9.2 step 2):
    /// a `SALE` price, intent `RECV_PAYMENT`, subject max = the request's max units, hint =
    /// the request's hint with the request's expiry.
    pub fn for_buy_request(request: &BuyRequest) -> Self {
        RateQuery {
            subject_max_amount: Some(request.max_units),
            rate_hint: request.rate_hint.map(|rate| RateHint {
                rate,
                expiry: request.expiry,
            }),
            metadata: request.metadata.clone(),
            ..RateQuery::new(TransactionType::Sale, Intent::RecvPayment, request.asset)
        }
    }

    /// What an edge node asks when a peer wants to pay with (sell) the asset (spec §9.2 step
    /// 2): a `PURCHASE` price, intent `PAY_INVOICE`, payment max = the request's max msat.
    pub fn for_sell_request(request: &SellRequest) -> Self {
        RateQuery {
            payment_max_msat: Some(request.max_msat),
            rate_hint: request.rate_hint.map(|rate| RateHint {
                rate,
                expiry: request.expiry,
            }),
            metadata: request.metadata.clone(),
            ..RateQuery::new(TransactionType::Purchase, Intent::PayInvoice, request.asset)
        }
    }
}

/// An oracle's answer: a non-zero rate in asset units per BTC, valid until `expiry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OracleRate {
    /// Asset units per BTC; never zero, scale at most [`crate::rate::MAX_SCALE`].
    pub rate: FixedPoint,
    /// Unix seconds after which the rate must not be used.
    pub expiry: u64,
}

/// Why an oracle gave no rate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OracleError {
    /// The oracle does not price this asset (error code 1 in tapd's protocol).
    #[error("unsupported asset: {message}")]
    UnsupportedAsset {
        /// The oracle's message; tapd forwards it in the reject.
        message: String,
    },
    /// The oracle answered with an error other than "unsupported asset".
    #[error("oracle error (code {code}): {message}")]
    Declined {
        /// The oracle's error code (0 = unspecified).
        code: u32,
        /// The oracle's message.
        message: String,
    },
    /// The oracle could not be reached or did not answer in time (connection failure,
    /// timeout, HTTP error status).
    #[error("price oracle unavailable: {reason}")]
    Unavailable {
        /// What went wrong.
        reason: String,
    },
    /// The oracle's answer could not be understood (malformed JSON, bad coefficient, scale
    /// above 18, neither or both of ok/error).
    #[error("invalid price oracle response: {reason}")]
    InvalidResponse {
        /// What was wrong with it.
        reason: String,
    },
    /// The oracle answered with a zero rate ("asset rate unspecified" in tapd).
    #[error("price oracle returned a zero rate")]
    ZeroRate,
}

impl OracleError {
    /// Whether the oracle failed to give any usable answer, as opposed to answering
    /// deliberately ([`OracleError::UnsupportedAsset`], [`OracleError::Declined`]). This is
    /// what [`FallbackOracle`] moves on for.
    pub fn is_unavailability(&self) -> bool {
        matches!(
            self,
            OracleError::Unavailable { .. }
                | OracleError::InvalidResponse { .. }
                | OracleError::ZeroRate
        )
    }

    /// The reject a responder sends for this error (spec §9.2 step 3): always code 0; the
    /// oracle's own message for an unsupported asset, tapd's "unknown reject error" otherwise
    /// (internal details are not leaked to the peer).
    pub fn reject(&self) -> (RejectCode, String) {
        let code = RejectCode::Unspecified;
        match self {
            OracleError::UnsupportedAsset { message } => (code, message.clone()),
            _ => (code, code.default_message().to_owned()),
        }
    }
}

/// Checks a rate an oracle returned: non-zero, scale ≤ 18.
pub(crate) fn validate_rate(rate: OracleRate) -> Result<OracleRate, OracleError> {
    if rate.rate.coefficient == 0 {
        return Err(OracleError::ZeroRate);
    }
    if rate.rate.scale > crate::rate::MAX_SCALE {
        return Err(OracleError::InvalidResponse {
            reason: format!(
                "rate scale {} is above {}",
                rate.rate.scale,
                crate::rate::MAX_SCALE
            ),
        });
    }
    Ok(rate)
}

/// A human-readable name for an asset specifier, for messages.
pub(crate) fn describe_asset(asset: &AssetSpecifier) -> String {
    match asset {
        AssetSpecifier::AssetId(id) => format!("asset id {id}"),
        AssetSpecifier::GroupKey(key) => format!("group key {key}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rfq_wire::{AssetId, ExecutionPolicy, RfqId};

    #[test]
    fn intent_numbers() {
        for v in 0..=6 {
            assert_eq!(Intent::from_u8(v).unwrap().to_u8(), v);
        }
        assert_eq!(Intent::from_u8(7), None);
    }

    #[test]
    fn queries_for_requests_follow_tapd() {
        let asset = AssetSpecifier::AssetId(AssetId([3; 32]));
        let buy = BuyRequest {
            id: RfqId([1; 32]),
            expiry: 1_000,
            asset,
            max_units: 50,
            min_units: None,
            rate_hint: Some(FixedPoint::new(7, 0)),
            rate_limit: None,
            execution_policy: ExecutionPolicy::ImmediateOrCancel,
            metadata: Metadata(b"m".to_vec()),
        };
        let q = RateQuery::for_buy_request(&buy);
        assert_eq!(q.transaction_type, TransactionType::Sale);
        assert_eq!(q.intent, Intent::RecvPayment);
        assert_eq!(q.subject_max_amount, Some(50));
        assert_eq!(q.payment_max_msat, None);
        assert_eq!(
            q.rate_hint,
            Some(RateHint {
                rate: FixedPoint::new(7, 0),
                expiry: 1_000
            })
        );
        assert_eq!(q.metadata, Metadata(b"m".to_vec()));

        let sell = SellRequest {
            id: buy.id,
            expiry: 1_000,
            asset,
            max_msat: 9_000,
            min_msat: None,
            rate_hint: None,
            rate_limit: None,
            execution_policy: ExecutionPolicy::ImmediateOrCancel,
            metadata: Metadata::default(),
        };
        let q = RateQuery::for_sell_request(&sell);
        assert_eq!(q.transaction_type, TransactionType::Purchase);
        assert_eq!(q.intent, Intent::PayInvoice);
        assert_eq!(q.subject_max_amount, None);
        assert_eq!(q.payment_max_msat, Some(9_000));
        assert_eq!(q.rate_hint, None);
    }

    #[test]
    fn rejects_follow_tapd() {
        let unsupported = OracleError::UnsupportedAsset {
            message: "no such asset".into(),
        };
        assert_eq!(
            unsupported.reject(),
            (RejectCode::Unspecified, "no such asset".to_owned())
        );
        for e in [
            OracleError::Unavailable {
                reason: "connection refused".into(),
            },
            OracleError::Declined {
                code: 0,
                message: "internal".into(),
            },
            OracleError::ZeroRate,
        ] {
            assert_eq!(
                e.reject(),
                (RejectCode::Unspecified, "unknown reject error".to_owned())
            );
        }
        assert!(!unsupported.is_unavailability());
        assert!(OracleError::ZeroRate.is_unavailability());
    }

    #[test]
    fn oracle_is_object_safe() {
        fn takes(_: std::sync::Arc<dyn PriceOracle>) {}
        let oracle = FixedRateOracle::new(
            std::time::Duration::from_secs(60),
            std::sync::Arc::new(|| 0),
        );
        takes(std::sync::Arc::new(oracle));
    }
}
