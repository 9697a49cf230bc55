//! [`FallbackOracle`]: a primary oracle with backups (tapd issue #1349).

use super::{OracleError, OracleFuture, PriceOracle, RateQuery};
use std::sync::Arc;

/// Asks its oracles in order and returns the first answer that is not an unavailability.
///
/// An oracle *is unavailable* when it cannot be reached, times out, or answers with something
/// unusable ([`OracleError::is_unavailability`]); the next one is then tried. A deliberate
/// answer ends the search: a rate, [`OracleError::Declined`], and by default
/// [`OracleError::UnsupportedAsset`] too, because a backup that prices an asset the primary
/// refuses would quietly change who sets that asset's price. Operators who run one oracle per
/// asset can opt in with [`FallbackOracle::on_unsupported_asset`].
///
/// When every oracle fails, the last oracle's error is returned.
#[derive(Clone)]
pub struct FallbackOracle {
    oracles: Vec<Arc<dyn PriceOracle>>,
    on_unsupported_asset: bool,
}

impl core::fmt::Debug for FallbackOracle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FallbackOracle")
            .field("oracles", &self.oracles.len())
            .field("on_unsupported_asset", &self.on_unsupported_asset)
            .finish()
    }
}

impl FallbackOracle {
    /// A fallback chain with `primary` only.
    pub fn new(primary: Arc<dyn PriceOracle>) -> Self {
        FallbackOracle {
            oracles: vec![primary],
            on_unsupported_asset: false,
        }
    }

    /// Appends a backup, tried after every oracle already in the chain.
    pub fn with_backup(mut self, backup: Arc<dyn PriceOracle>) -> Self {
        self.oracles.push(backup);
        self
    }

    /// Whether an [`OracleError::UnsupportedAsset`] also moves on to the next oracle (default
    /// `false`).
    pub fn on_unsupported_asset(mut self, fall_back: bool) -> Self {
        self.on_unsupported_asset = fall_back;
        self
    }

    /// The number of oracles in the chain, primary included.
    pub fn len(&self) -> usize {
        self.oracles.len()
    }

    /// Always false: a chain has at least its primary.
    pub fn is_empty(&self) -> bool {
        false
    }

    fn moves_on(&self, error: &OracleError) -> bool {
        error.is_unavailability()
            || (self.on_unsupported_asset && matches!(error, OracleError::UnsupportedAsset { .. }))
    }
}

impl PriceOracle for FallbackOracle {
    fn query_rate<'a>(&'a self, query: &'a RateQuery) -> OracleFuture<'a> {
        Box::pin(async move {
            let mut last = None;
            for oracle in &self.oracles {
                match oracle.query_rate(query).await {
                    Err(e) if self.moves_on(&e) => last = Some(e),
                    answer => return answer,
                }
            }
            Err(last.unwrap_or_else(|| OracleError::Unavailable {
                reason: "no oracle configured".into(),
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::{BidAsk, FixedRateOracle, Intent, OracleRate, TransactionType};
    use rfq_wire::{AssetId, AssetSpecifier, FixedPoint};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    const USD: AssetSpecifier = AssetSpecifier::AssetId(AssetId([0x11; 32]));

    /// Test double for the `PriceOracle` boundary: always answers `error`, counting calls.
    struct FailingOracleDouble {
        error: OracleError,
        calls: AtomicUsize,
    }

    impl FailingOracleDouble {
        fn new(error: OracleError) -> Arc<Self> {
            Arc::new(FailingOracleDouble {
                error,
                calls: AtomicUsize::new(0),
            })
        }
    }

    impl PriceOracle for FailingOracleDouble {
        fn query_rate<'a>(&'a self, _: &'a RateQuery) -> OracleFuture<'a> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let e = self.error.clone();
            Box::pin(async move { Err(e) })
        }
    }

    fn fixed(bid: u128) -> Arc<FixedRateOracle> {
        let rates = BidAsk {
            bid: FixedPoint::new(bid, 0),
            ask: FixedPoint::new(1, 0),
        };
        Arc::new(
            FixedRateOracle::new(Duration::from_secs(60), Arc::new(|| 1_000))
                .with_asset(USD, rates)
                .unwrap(),
        )
    }

    fn block_on<F: core::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn query() -> RateQuery {
        RateQuery::new(TransactionType::Purchase, Intent::PayInvoice, USD)
    }

    fn unavailable() -> OracleError {
        OracleError::Unavailable {
            reason: "down".into(),
        }
    }

    #[test]
    fn primary_answers() {
        let chain = FallbackOracle::new(fixed(100)).with_backup(fixed(200));
        assert_eq!(chain.len(), 2);
        assert!(!chain.is_empty());
        assert_eq!(
            block_on(chain.query_rate(&query())),
            Ok(OracleRate {
                rate: FixedPoint::new(100, 0),
                expiry: 1_060
            })
        );
    }

    #[test]
    fn unavailable_primaries_fall_through_in_order() {
        let down = FailingOracleDouble::new(unavailable());
        let garbage = FailingOracleDouble::new(OracleError::ZeroRate);
        let chain = FallbackOracle::new(down.clone())
            .with_backup(garbage.clone())
            .with_backup(fixed(300))
            .with_backup(fixed(400));
        let answer = block_on(chain.query_rate(&query())).unwrap();
        assert_eq!(answer.rate, FixedPoint::new(300, 0));
        assert_eq!(down.calls.load(Ordering::SeqCst), 1);
        assert_eq!(garbage.calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn deliberate_answers_stop_the_chain() {
        let unsupported = OracleError::UnsupportedAsset {
            message: "no".into(),
        };
        let declined = OracleError::Declined {
            code: 0,
            message: "closed".into(),
        };
        for error in [unsupported.clone(), declined] {
            let primary = FailingOracleDouble::new(error.clone());
            let chain = FallbackOracle::new(primary).with_backup(fixed(200));
            assert_eq!(block_on(chain.query_rate(&query())), Err(error));
        }
        // Opt-in: unsupported asset moves on, declined still stops.
        let chain = FallbackOracle::new(FailingOracleDouble::new(unsupported))
            .with_backup(fixed(200))
            .on_unsupported_asset(true);
        assert_eq!(
            block_on(chain.query_rate(&query())).unwrap().rate,
            FixedPoint::new(200, 0)
        );
    }

    #[test]
    fn all_unavailable_returns_the_last_error() {
        let last = OracleError::InvalidResponse {
            reason: "not json".into(),
        };
        let chain = FallbackOracle::new(FailingOracleDouble::new(unavailable()))
            .with_backup(FailingOracleDouble::new(last.clone()));
        assert_eq!(block_on(chain.query_rate(&query())), Err(last));
    }
}
