//! The limit-order constraints of a quote request (spec §9.4, tapd v0.8+): rate bound, minimum
//! fill, fill-or-kill, and an accept's fill cap, checked in tapd's order. The first failure
//! wins and maps to a reject code.
//!
//! A buy request (the peer receives the asset) counts amounts in asset units and puts a floor on
//! the rate; a sell request (the peer pays with the asset) counts msat and puts a ceiling on it.

use crate::rate;
use core::cmp::Ordering;
use rfq_wire::{BuyRequest, ExecutionPolicy, FixedPoint, RejectCode, SellRequest, TypedRequest};

/// Which kind of request the constraints come from, which fixes the amount unit and the
/// direction of the rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestSide {
    /// A buy request: amounts in asset units; the rate limit is a floor (asset units per BTC
    /// must not fall below it).
    Buy,
    /// A sell request: amounts in msat; the rate limit is a ceiling.
    Sell,
}

/// The normalised constraints of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuoteConstraints {
    /// Buy (units) or sell (msat).
    pub side: RequestSide,
    /// The requested maximum: units for a buy, msat for a sell.
    pub max_amount: u64,
    /// The smallest acceptable fill, same unit as `max_amount`. `Some(0)` counts as unset, as
    /// a zero on the wire does.
    pub min_amount: Option<u64>,
    /// Floor (buy) or ceiling (sell) on the accepted rate.
    pub rate_limit: Option<FixedPoint>,
    /// Fill policy; only [`ExecutionPolicy::FillOrKill`] adds a check.
    pub execution_policy: ExecutionPolicy,
}

/// Why a rate (and optional fill) does not satisfy a request's constraints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConstraintViolation {
    /// The rate is below a buy's floor or above a sell's ceiling.
    #[error("rate {rate} misses the limit {limit}")]
    PriceBoundMiss {
        /// The rate checked.
        rate: FixedPoint,
        /// The request's limit.
        limit: FixedPoint,
    },
    /// The minimum cannot be carried at the rate (`fill` is `None`), or the fill is below it.
    #[error("minimum fill {min} not met{}", describe_fill(*fill))]
    MinFillNotMet {
        /// The request's minimum.
        min: u64,
        /// The accept's fill, if the check was about one.
        fill: Option<u64>,
    },
    /// Fill-or-kill, but the maximum cannot be carried at the rate (`fill` is `None`) or the
    /// fill is below it.
    #[error("fill-or-kill of {max} not viable{}", describe_fill(*fill))]
    FokNotViable {
        /// The request's maximum.
        max: u64,
        /// The accept's fill, if the check was about one.
        fill: Option<u64>,
    },
    /// The accept's fill is above the request's maximum.
    #[error("fill {fill} exceeds the maximum {max}")]
    FillExceedsMax {
        /// The accept's fill.
        fill: u64,
        /// The request's maximum.
        max: u64,
    },
}

fn describe_fill(fill: Option<u64>) -> String {
    match fill {
        Some(fill) => format!(" by fill {fill}"),
        None => " at the rate".to_owned(),
    }
}

impl ConstraintViolation {
    /// The reject code a responder sends for this violation (codes 2–5).
    pub fn reject_code(&self) -> RejectCode {
        match self {
            ConstraintViolation::PriceBoundMiss { .. } => RejectCode::PriceBoundMiss,
            ConstraintViolation::MinFillNotMet { .. } => RejectCode::MinFillNotMet,
            ConstraintViolation::FokNotViable { .. } => RejectCode::FokNotViable,
            ConstraintViolation::FillExceedsMax { .. } => RejectCode::FillExceedsMax,
        }
    }
}

impl QuoteConstraints {
    /// The constraints of a buy request (units; rate floor).
    pub fn from_buy(request: &BuyRequest) -> Self {
        QuoteConstraints {
            side: RequestSide::Buy,
            max_amount: request.max_units,
            min_amount: request.min_units,
            rate_limit: request.rate_limit,
            execution_policy: request.execution_policy,
        }
    }

    /// The constraints of a sell request (msat; rate ceiling).
    pub fn from_sell(request: &SellRequest) -> Self {
        QuoteConstraints {
            side: RequestSide::Sell,
            max_amount: request.max_msat,
            min_amount: request.min_msat,
            rate_limit: request.rate_limit,
            execution_policy: request.execution_policy,
        }
    }

    /// Checks `rate`, and the accept's `fill` if there is one, in tapd's order: rate bound, min
    /// fill, fill-or-kill, then the fill itself (above max, below min, FOK below max). Returns
    /// the first violation.
    pub fn check(&self, rate: FixedPoint, fill: Option<u64>) -> Result<(), ConstraintViolation> {
        if let Some(limit) = self.rate_limit {
            let miss = match self.side {
                RequestSide::Buy => Ordering::Less,
                RequestSide::Sell => Ordering::Greater,
            };
            if rate::cmp(rate, limit) == miss {
                return Err(ConstraintViolation::PriceBoundMiss { rate, limit });
            }
        }

        let min = self.min_amount.filter(|&min| min != 0);
        let fok = self.execution_policy == ExecutionPolicy::FillOrKill;
        if let Some(min) = min {
            if !self.transportable(min, rate) {
                return Err(ConstraintViolation::MinFillNotMet { min, fill: None });
            }
        }
        if fok && !self.transportable(self.max_amount, rate) {
            return Err(ConstraintViolation::FokNotViable {
                max: self.max_amount,
                fill: None,
            });
        }

        if let Some(fill) = fill {
            let max = self.max_amount;
            if fill > max {
                return Err(ConstraintViolation::FillExceedsMax { fill, max });
            }
            if let Some(min) = min.filter(|&min| fill < min) {
                return Err(ConstraintViolation::MinFillNotMet {
                    min,
                    fill: Some(fill),
                });
            }
            if fok && fill < max {
                return Err(ConstraintViolation::FokNotViable {
                    max,
                    fill: Some(fill),
                });
            }
        }
        Ok(())
    }

    /// Whether `amount` can be carried at `rate`. Buy: the units are worth a non-zero msat
    /// amount that fits in a u64. Sell: the msat buy a non-zero amount of units **at the rate's
    /// scale**, so a fraction of a unit counts. A rate the maths rejects carries nothing.
    pub fn transportable(&self, amount: u64, rate: FixedPoint) -> bool {
        match self.side {
            RequestSide::Buy => {
                matches!(rate::whole_units_to_msat(amount, rate), Ok(msat) if msat != 0)
            }
            RequestSide::Sell => {
                matches!(rate::msat_to_units(amount, rate), Ok(units) if units.coefficient != 0)
            }
        }
    }
}

impl From<&BuyRequest> for QuoteConstraints {
    fn from(request: &BuyRequest) -> Self {
        QuoteConstraints::from_buy(request)
    }
}

impl From<&SellRequest> for QuoteConstraints {
    fn from(request: &SellRequest) -> Self {
        QuoteConstraints::from_sell(request)
    }
}

impl From<&TypedRequest> for QuoteConstraints {
    fn from(request: &TypedRequest) -> Self {
        match request {
            TypedRequest::Buy(buy) => QuoteConstraints::from_buy(buy),
            TypedRequest::Sell(sell) => QuoteConstraints::from_sell(sell),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(c: u128, s: u8) -> FixedPoint {
        FixedPoint::new(c, s)
    }

    fn constraints(side: RequestSide, max: u64) -> QuoteConstraints {
        QuoteConstraints {
            side,
            max_amount: max,
            min_amount: None,
            rate_limit: None,
            execution_policy: ExecutionPolicy::ImmediateOrCancel,
        }
    }

    fn with_limit(side: RequestSide, limit: FixedPoint) -> QuoteConstraints {
        QuoteConstraints {
            rate_limit: Some(limit),
            ..constraints(side, 1_000)
        }
    }

    #[test]
    fn rate_bound_examples() {
        let rate = fp(100, 0);
        for limit in [fp(50, 0), fp(100, 0), fp(1_000, 1)] {
            assert_eq!(
                with_limit(RequestSide::Buy, limit).check(rate, None),
                Ok(())
            );
        }
        assert_eq!(
            with_limit(RequestSide::Buy, fp(150, 0)).check(rate, None),
            Err(ConstraintViolation::PriceBoundMiss {
                rate,
                limit: fp(150, 0)
            })
        );
        for limit in [fp(150, 0), fp(100, 0), fp(10_000, 2)] {
            assert_eq!(
                with_limit(RequestSide::Sell, limit).check(rate, None),
                Ok(())
            );
        }
        let miss = with_limit(RequestSide::Sell, fp(50, 0))
            .check(rate, None)
            .unwrap_err();
        assert_eq!(miss.reject_code(), RejectCode::PriceBoundMiss);
    }

    #[test]
    fn buy_min_fill_must_be_transportable() {
        // 10^12 units/BTC: one unit is 0.1 msat, which floors to 0.
        let rate = fp(1_000_000_000_000, 0);
        let c = QuoteConstraints {
            min_amount: Some(1),
            ..constraints(RequestSide::Buy, 100)
        };
        let err = c.check(rate, None).unwrap_err();
        assert_eq!(
            err,
            ConstraintViolation::MinFillNotMet { min: 1, fill: None }
        );
        assert_eq!(err.reject_code(), RejectCode::MinFillNotMet);
        // Ten units are 1 msat: fine.
        let c = QuoteConstraints {
            min_amount: Some(10),
            ..c
        };
        assert_eq!(c.check(rate, None), Ok(()));
        // A minimum worth 2^64 msat or more overflows: not transportable either.
        let c = QuoteConstraints {
            min_amount: Some(u64::MAX),
            max_amount: u64::MAX,
            ..c
        };
        assert!(matches!(
            c.check(fp(1, 0), None),
            Err(ConstraintViolation::MinFillNotMet { .. })
        ));
    }

    #[test]
    fn buy_fok_must_carry_the_maximum() {
        let rate = fp(1_000_000_000_000, 0);
        let c = QuoteConstraints {
            execution_policy: ExecutionPolicy::FillOrKill,
            ..constraints(RequestSide::Buy, 1)
        };
        let err = c.check(rate, None).unwrap_err();
        assert_eq!(
            err,
            ConstraintViolation::FokNotViable { max: 1, fill: None }
        );
        assert_eq!(err.reject_code(), RejectCode::FokNotViable);
        // The same request as IOC passes.
        let ioc = QuoteConstraints {
            execution_policy: ExecutionPolicy::ImmediateOrCancel,
            ..c
        };
        assert_eq!(ioc.check(rate, None), Ok(()));
    }

    #[test]
    fn sell_min_fill_counts_fractional_units() {
        // 10 units/BTC: 1 000 msat is 10^-7 units, zero even at the rate's scale.
        let c = QuoteConstraints {
            min_amount: Some(1_000),
            ..constraints(RequestSide::Sell, 1_000_000)
        };
        assert_eq!(
            c.check(fp(10, 0), None),
            Err(ConstraintViolation::MinFillNotMet {
                min: 1_000,
                fill: None
            })
        );
        // The same rate at scale 8 ({10·10^8, 8}) makes it 0.0000001 units: non-zero, passes,
        // although it is still less than one whole unit.
        assert_eq!(c.check(fp(1_000_000_000, 8), None), Ok(()));
        // A sell FOK whose maximum buys nothing.
        let fok = QuoteConstraints {
            min_amount: None,
            execution_policy: ExecutionPolicy::FillOrKill,
            ..c
        };
        assert!(matches!(
            fok.check(fp(10, 0), None),
            Err(ConstraintViolation::FokNotViable { max: 1_000_000, .. })
        ));
    }

    #[test]
    fn fill_checks() {
        let rate = fp(100_000_000, 0);
        let c = QuoteConstraints {
            min_amount: Some(10),
            ..constraints(RequestSide::Buy, 100)
        };
        assert_eq!(c.check(rate, Some(100)), Ok(()));
        assert_eq!(c.check(rate, Some(10)), Ok(()));
        let over = c.check(rate, Some(101)).unwrap_err();
        assert_eq!(
            over,
            ConstraintViolation::FillExceedsMax {
                fill: 101,
                max: 100
            }
        );
        assert_eq!(over.reject_code(), RejectCode::FillExceedsMax);
        assert_eq!(
            c.check(rate, Some(9)),
            Err(ConstraintViolation::MinFillNotMet {
                min: 10,
                fill: Some(9)
            })
        );
        let fok = QuoteConstraints {
            execution_policy: ExecutionPolicy::FillOrKill,
            ..c
        };
        assert_eq!(fok.check(rate, Some(100)), Ok(()));
        assert_eq!(
            fok.check(rate, Some(50)),
            Err(ConstraintViolation::FokNotViable {
                max: 100,
                fill: Some(50)
            })
        );
        // Below min and below max under FOK: the min-fill failure comes first.
        assert!(matches!(
            fok.check(rate, Some(5)),
            Err(ConstraintViolation::MinFillNotMet { .. })
        ));
        // Zero fill with no minimum and IOC is accepted, as in tapd.
        assert_eq!(
            constraints(RequestSide::Sell, 5).check(rate, Some(0)),
            Ok(())
        );
    }

    #[test]
    fn first_failure_wins() {
        // Every constraint fails; the rate bound is reported.
        let rate = fp(1_000_000_000_000, 0);
        let c = QuoteConstraints {
            side: RequestSide::Buy,
            max_amount: 1,
            min_amount: Some(1),
            rate_limit: Some(fp(u128::MAX, 0)),
            execution_policy: ExecutionPolicy::FillOrKill,
        };
        let codes = |c: QuoteConstraints| c.check(rate, Some(2)).unwrap_err().reject_code();
        assert_eq!(codes(c), RejectCode::PriceBoundMiss);
        let c = QuoteConstraints {
            rate_limit: None,
            ..c
        };
        assert_eq!(codes(c), RejectCode::MinFillNotMet);
        let c = QuoteConstraints {
            min_amount: None,
            ..c
        };
        assert_eq!(codes(c), RejectCode::FokNotViable);
        let c = QuoteConstraints {
            execution_policy: ExecutionPolicy::ImmediateOrCancel,
            ..c
        };
        assert_eq!(codes(c), RejectCode::FillExceedsMax);
    }

    #[test]
    fn unusable_rates_are_not_transportable() {
        let c = QuoteConstraints {
            min_amount: Some(1),
            ..constraints(RequestSide::Buy, 1)
        };
        // Zero rate (division by zero) and an over-large scale.
        assert!(matches!(
            c.check(fp(0, 0), None),
            Err(ConstraintViolation::MinFillNotMet { .. })
        ));
        assert!(matches!(
            c.check(fp(1, 19), None),
            Err(ConstraintViolation::MinFillNotMet { .. })
        ));
        // Other policy bytes are not FOK.
        let other = QuoteConstraints {
            min_amount: None,
            execution_policy: ExecutionPolicy::Other(7),
            ..c
        };
        assert_eq!(other.check(fp(0, 0), None), Ok(()));
    }

    #[test]
    fn from_requests() {
        let id = rfq_wire::RfqId([7; 32]);
        let buy = BuyRequest {
            id,
            expiry: 1,
            asset: rfq_wire::AssetSpecifier::AssetId(rfq_wire::AssetId([1; 32])),
            max_units: 500,
            min_units: Some(5),
            rate_hint: None,
            rate_limit: Some(fp(42, 1)),
            execution_policy: ExecutionPolicy::FillOrKill,
            metadata: rfq_wire::Metadata::default(),
        };
        let c = QuoteConstraints::from(&TypedRequest::Buy(buy.clone()));
        assert_eq!(
            c,
            QuoteConstraints {
                side: RequestSide::Buy,
                max_amount: 500,
                min_amount: Some(5),
                rate_limit: Some(fp(42, 1)),
                execution_policy: ExecutionPolicy::FillOrKill,
            }
        );
        let sell = SellRequest {
            id,
            expiry: 1,
            asset: buy.asset,
            max_msat: 9_000,
            min_msat: None,
            rate_hint: None,
            rate_limit: None,
            execution_policy: ExecutionPolicy::ImmediateOrCancel,
            metadata: rfq_wire::Metadata::default(),
        };
        let c = QuoteConstraints::from(&sell);
        assert_eq!(c.side, RequestSide::Sell);
        assert_eq!(c.max_amount, 9_000);
    }
}
