//! [`FixedRateOracle`]: rates from configuration, one bid and one ask per asset.

use super::{
    describe_asset, OracleError, OracleFuture, OracleRate, PriceOracle, RateQuery, TransactionType,
};
use crate::rate::{self, RateError};
use rfq_wire::{AssetSpecifier, FixedPoint};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The current time in Unix seconds. Injected so that tests (and simulations) control it.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock as a [`Clock`] (0 if the system time is before 1970).
pub fn system_clock() -> Clock {
    Arc::new(lnedge_storage::clock::unix_now)
}

/// An asset's two rates, both in asset units per BTC.
///
/// `bid` is used when we buy the asset (`PURCHASE`: a peer pays with the asset, we pay out
/// BTC), `ask` when we sell it (`SALE`: a peer receives the asset for BTC). More units per BTC
/// is better for us when we buy, fewer when we sell, so a non-negative spread means
/// `bid ≥ ask`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BidAsk {
    /// Units per BTC when we buy the asset.
    pub bid: FixedPoint,
    /// Units per BTC when we sell the asset.
    pub ask: FixedPoint,
}

/// A [`FixedRateOracle`] configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FixedRateConfigError {
    /// A rate is zero or its scale is above 18.
    #[error("{side} rate {rate} for {asset} is not usable: {source}")]
    InvalidRate {
        /// The asset, for the message.
        asset: String,
        /// "bid" or "ask".
        side: &'static str,
        /// The rate.
        rate: FixedPoint,
        /// Why.
        source: RateError,
    },
    /// The bid is below the ask (in units per BTC): every round trip would lose money.
    #[error("negative spread for {asset}: bid {bid} is below ask {ask} (units per BTC)")]
    NegativeSpread {
        /// The asset, for the message.
        asset: String,
        /// The configured bid.
        bid: FixedPoint,
        /// The configured ask.
        ask: FixedPoint,
    },
}

/// Quotes configured rates: the bid for `PURCHASE` queries, the ask for `SALE`, each valid for
/// a fixed lifetime from the injected clock's `now`. Assets not configured are
/// [`OracleError::UnsupportedAsset`]. Hints, amounts and intents are ignored.
#[derive(Clone)]
pub struct FixedRateOracle {
    assets: HashMap<AssetSpecifier, BidAsk>,
    lifetime_secs: u64,
    clock: Clock,
}

impl core::fmt::Debug for FixedRateOracle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FixedRateOracle")
            .field("assets", &self.assets)
            .field("lifetime_secs", &self.lifetime_secs)
            .finish_non_exhaustive()
    }
}

impl FixedRateOracle {
    /// An oracle with no assets whose quotes expire `lifetime` after `clock()` (whole seconds,
    /// rounded down).
    pub fn new(lifetime: Duration, clock: Clock) -> Self {
        FixedRateOracle {
            assets: HashMap::new(),
            lifetime_secs: lifetime.as_secs(),
            clock,
        }
    }

    /// Adds (or replaces) `asset`'s rates. Both must be non-zero with scale ≤ 18, and
    /// `bid ≥ ask` (see [`BidAsk`]).
    pub fn with_asset(
        mut self,
        asset: AssetSpecifier,
        rates: BidAsk,
    ) -> Result<Self, FixedRateConfigError> {
        self.set_asset(asset, rates)?;
        Ok(self)
    }

    /// [`FixedRateOracle::with_asset`] in place.
    pub fn set_asset(
        &mut self,
        asset: AssetSpecifier,
        rates: BidAsk,
    ) -> Result<(), FixedRateConfigError> {
        for (side, rate) in [("bid", rates.bid), ("ask", rates.ask)] {
            rate::check_rate(rate).map_err(|source| FixedRateConfigError::InvalidRate {
                asset: describe_asset(&asset),
                side,
                rate,
                source,
            })?;
        }
        if rate::cmp(rates.bid, rates.ask).is_lt() {
            return Err(FixedRateConfigError::NegativeSpread {
                asset: describe_asset(&asset),
                bid: rates.bid,
                ask: rates.ask,
            });
        }
        self.assets.insert(asset, rates);
        Ok(())
    }

    /// The configured rates of `asset`, if any.
    pub fn rates(&self, asset: &AssetSpecifier) -> Option<BidAsk> {
        self.assets.get(asset).copied()
    }

    fn quote(&self, query: &RateQuery) -> Result<OracleRate, OracleError> {
        let rates =
            self.assets
                .get(&query.subject_asset)
                .ok_or_else(|| OracleError::UnsupportedAsset {
                    message: format!("{} is not priced", describe_asset(&query.subject_asset)),
                })?;
        let rate = match query.transaction_type {
            TransactionType::Purchase => rates.bid,
            TransactionType::Sale => rates.ask,
        };
        Ok(OracleRate {
            rate,
            expiry: (self.clock)().saturating_add(self.lifetime_secs),
        })
    }
}

impl PriceOracle for FixedRateOracle {
    fn query_rate<'a>(&'a self, query: &'a RateQuery) -> OracleFuture<'a> {
        let answer = self.quote(query);
        Box::pin(async move { answer })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::Intent;
    use rfq_wire::AssetId;
    use std::sync::atomic::{AtomicU64, Ordering};

    const USD: AssetSpecifier = AssetSpecifier::AssetId(AssetId([0x11; 32]));

    fn rates() -> BidAsk {
        BidAsk {
            bid: FixedPoint::new(10_100_000, 0),
            ask: FixedPoint::new(990_000_000, 2),
        }
    }

    fn block_on<F: core::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn bid_for_purchase_ask_for_sale_with_clocked_expiry() {
        let now = Arc::new(AtomicU64::new(1_700_000_000));
        let clock_now = now.clone();
        let oracle = FixedRateOracle::new(
            Duration::from_secs(600),
            Arc::new(move || clock_now.load(Ordering::SeqCst)),
        )
        .with_asset(USD, rates())
        .unwrap();

        let buy = RateQuery::new(TransactionType::Purchase, Intent::PayInvoice, USD);
        let sell = RateQuery::new(TransactionType::Sale, Intent::RecvPayment, USD);
        assert_eq!(
            block_on(oracle.query_rate(&buy)),
            Ok(OracleRate {
                rate: rates().bid,
                expiry: 1_700_000_600
            })
        );
        now.store(1_700_000_100, Ordering::SeqCst);
        assert_eq!(
            block_on(oracle.query_rate(&sell)),
            Ok(OracleRate {
                rate: rates().ask,
                expiry: 1_700_000_700
            })
        );
    }

    #[test]
    fn unknown_asset_is_unsupported() {
        let oracle = FixedRateOracle::new(Duration::from_secs(60), Arc::new(|| u64::MAX));
        let q = RateQuery::new(TransactionType::Sale, Intent::Unspecified, USD);
        let err = block_on(oracle.query_rate(&q)).unwrap_err();
        assert!(matches!(err, OracleError::UnsupportedAsset { .. }), "{err}");
        assert!(err.to_string().contains(&"11".repeat(32)));
        // Saturating expiry with a configured asset.
        let oracle = oracle.with_asset(USD, rates()).unwrap();
        assert_eq!(block_on(oracle.query_rate(&q)).unwrap().expiry, u64::MAX);
    }

    #[test]
    fn configuration_is_checked() {
        let oracle = FixedRateOracle::new(Duration::from_secs(60), system_clock());
        let zero = BidAsk {
            bid: FixedPoint::new(0, 0),
            ..rates()
        };
        assert!(matches!(
            oracle.clone().with_asset(USD, zero),
            Err(FixedRateConfigError::InvalidRate {
                side: "bid",
                source: RateError::DivisionByZero,
                ..
            })
        ));
        let wide = BidAsk {
            ask: FixedPoint::new(1, 19),
            ..rates()
        };
        assert!(matches!(
            oracle.clone().with_asset(USD, wide),
            Err(FixedRateConfigError::InvalidRate { side: "ask", .. })
        ));
        let negative = BidAsk {
            bid: rates().ask,
            ask: rates().bid,
        };
        assert!(matches!(
            oracle.clone().with_asset(USD, negative),
            Err(FixedRateConfigError::NegativeSpread { .. })
        ));
        let flat = BidAsk {
            bid: rates().bid,
            ask: rates().bid,
        };
        let oracle = oracle.with_asset(USD, flat).unwrap();
        assert_eq!(oracle.rates(&USD), Some(flat));
        assert!(system_clock()() > 1_600_000_000);
    }
}
