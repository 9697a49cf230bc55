//! Exact rate maths with tapd's semantics (spec §7): rescaling, multiplication and division of
//! fixed-point numbers, comparison, price tolerance, and the msat ↔ asset-unit conversions.
//!
//! A rate is a [`FixedPoint`] meaning *asset units per BTC*. Every division is a floor, as in
//! tapd. Intermediates that can exceed 128 bits are computed in 256 bits, so results are exact;
//! a result that does not fit its type is a [`RateError`], never a wrapped number or a panic.
//!
//! tapd builds powers of ten as `int64`, which breaks above 10^18; this module therefore
//! rejects scales above [`MAX_SCALE`] with [`RateError::ScaleTooLarge`]. The one exception is
//! [`cmp`], which is exact for every scale and cannot fail.

use core::cmp::Ordering;
use ethnum::U256;
use rfq_wire::FixedPoint;

/// The largest scale this module accepts (10^18 is the largest power of ten tapd computes
/// correctly).
pub const MAX_SCALE: u8 = 18;

/// Millisatoshis in one BTC (10^11).
pub const MSAT_PER_BTC: u64 = 100_000_000_000;

/// tapd's `DefaultOnChainHtlcMSat`: 354 000 msat, the dust limit of an HTLC output of unknown
/// witness size. The usual `dust_msat` argument of the `min_transportable_*` functions.
pub const DEFAULT_ON_CHAIN_HTLC_MSAT: u64 = 354_000;

/// One million: tolerances are given in parts per million.
const PPM: u64 = 1_000_000;

/// Why a rate computation has no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    /// A scale (of an operand or of the target) is above [`MAX_SCALE`].
    #[error("scale {scale} is above the maximum of {MAX_SCALE}")]
    ScaleTooLarge {
        /// The offending scale.
        scale: u8,
    },
    /// A division by a fixed point whose coefficient is zero (e.g. a zero rate).
    #[error("division by a zero coefficient")]
    DivisionByZero,
    /// A tolerance check with a zero operand: the relative difference is undefined.
    #[error("tolerance check against a zero value")]
    ZeroCoefficient,
    /// [`mul`] or [`div`] with operands at different scales (tapd assumes they are equal).
    #[error("operands have different scales ({left} and {right})")]
    ScaleMismatch {
        /// The left operand's scale.
        left: u8,
        /// The right operand's scale.
        right: u8,
    },
    /// The result's coefficient does not fit in 128 bits.
    #[error("result does not fit in a 128-bit coefficient")]
    CoefficientOverflow,
    /// The result in millisatoshis does not fit in a u64 (tapd's `ErrMsatOverflow`).
    #[error("msat amount overflows u64")]
    MsatOverflow,
    /// The result in whole asset units does not fit in a u64.
    #[error("asset unit amount overflows u64")]
    UnitsOverflow,
}

/// 10^0 ..= 10^38: every power of ten that fits in a u128.
const POW10: [u128; 39] = {
    let mut table = [1u128; 39];
    let mut i = 1;
    while i < 39 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

fn pow10(exp: u8) -> u128 {
    POW10[usize::from(exp)]
}

fn check_scale(scale: u8) -> Result<(), RateError> {
    if scale > MAX_SCALE {
        Err(RateError::ScaleTooLarge { scale })
    } else {
        Ok(())
    }
}

fn to_u128(v: U256) -> Result<u128, RateError> {
    u128::try_from(v).map_err(|_| RateError::CoefficientOverflow)
}

fn to_msat(v: U256) -> Result<u64, RateError> {
    u64::try_from(v).map_err(|_| RateError::MsatOverflow)
}

/// `floor(a · b / d)`, exact: in 128 bits when the product fits, else in 256. `d` must not be 0.
fn mul_div(a: u128, b: u128, d: u128) -> U256 {
    match a.checked_mul(b) {
        Some(product) => U256::new(product / d),
        None => U256::new(a) * U256::new(b) / U256::new(d),
    }
}

/// The coefficient of `v` rescaled to `scale`, in 256 bits (both scales ≤ [`MAX_SCALE`]).
fn widen_to(v: FixedPoint, scale: u8) -> U256 {
    let c = U256::new(v.coefficient);
    match scale.cmp(&v.scale) {
        Ordering::Greater => c * U256::new(pow10(scale - v.scale)),
        Ordering::Less => c / U256::new(pow10(v.scale - scale)),
        Ordering::Equal => c,
    }
}

/// Checks that `rate` is usable for conversions: scale ≤ [`MAX_SCALE`] and a non-zero
/// coefficient. Returns [`RateError::ScaleTooLarge`] or [`RateError::DivisionByZero`].
pub fn check_rate(rate: FixedPoint) -> Result<(), RateError> {
    check_scale(rate.scale)?;
    if rate.coefficient == 0 {
        return Err(RateError::DivisionByZero);
    }
    Ok(())
}

/// tapd's `FixedPointFromUint64`: the unscaled integer `value` at `scale`, i.e.
/// `{value · 10^scale, scale}`.
pub fn from_u64(value: u64, scale: u8) -> Result<FixedPoint, RateError> {
    check_scale(scale)?;
    // u64 · 10^18 < 2^124: cannot overflow.
    Ok(FixedPoint::new(u128::from(value) * pow10(scale), scale))
}

/// tapd's `ScaleTo`: the same value at `scale`. Scaling up multiplies the coefficient (and
/// fails with [`RateError::CoefficientOverflow`] if it no longer fits); scaling down
/// floor-divides it, dropping digits.
pub fn scale_to(v: FixedPoint, scale: u8) -> Result<FixedPoint, RateError> {
    check_scale(v.scale)?;
    check_scale(scale)?;
    Ok(FixedPoint::new(to_u128(widen_to(v, scale))?, scale))
}

fn same_scale(a: FixedPoint, b: FixedPoint) -> Result<u8, RateError> {
    check_scale(a.scale)?;
    check_scale(b.scale)?;
    if a.scale != b.scale {
        return Err(RateError::ScaleMismatch {
            left: a.scale,
            right: b.scale,
        });
    }
    Ok(a.scale)
}

/// tapd's `Mul` for operands at the same scale `s`: `{floor(a.c · b.c / 10^s), s}`.
/// Operands at different scales are a [`RateError::ScaleMismatch`].
pub fn mul(a: FixedPoint, b: FixedPoint) -> Result<FixedPoint, RateError> {
    let s = same_scale(a, b)?;
    let c = mul_div(a.coefficient, b.coefficient, pow10(s));
    Ok(FixedPoint::new(to_u128(c)?, s))
}

/// tapd's `Div` for operands at the same scale `s`: `{floor(a.c · 10^s / b.c), s}`.
/// A zero divisor is a [`RateError::DivisionByZero`] (tapd panics).
pub fn div(a: FixedPoint, b: FixedPoint) -> Result<FixedPoint, RateError> {
    let s = same_scale(a, b)?;
    if b.coefficient == 0 {
        return Err(RateError::DivisionByZero);
    }
    let c = mul_div(a.coefficient, pow10(s), b.coefficient);
    Ok(FixedPoint::new(to_u128(c)?, s))
}

/// tapd's `Cmp`: compares the values `a.c / 10^a.s` and `b.c / 10^b.s`.
///
/// Exact for every pair of scales (0..=255), so it cannot fail: a rescale by 10^39 or more
/// exceeds any u128, which decides the comparison without computing it.
pub fn cmp(a: FixedPoint, b: FixedPoint) -> Ordering {
    if a.scale == b.scale {
        return a.coefficient.cmp(&b.coefficient);
    }
    // Bring the operand with the smaller scale up to the larger one.
    let (low, high, flipped) = if a.scale < b.scale {
        (a, b, false)
    } else {
        (b, a, true)
    };
    let diff = high.scale - low.scale;
    let ord = if low.coefficient == 0 {
        0u128.cmp(&high.coefficient)
    } else if usize::from(diff) >= POW10.len() {
        // low.c · 10^diff ≥ 10^39 > u128::MAX ≥ high.c.
        Ordering::Greater
    } else {
        (U256::new(low.coefficient) * U256::new(pow10(diff))).cmp(&U256::new(high.coefficient))
    };
    if flipped {
        ord.reverse()
    } else {
        ord
    }
}

/// tapd's `WithinTolerance`: whether `a` and `b` differ by at most `ppm` parts per million of
/// the **larger** of the two. Both are rescaled to the larger scale (flooring the other), then
/// the check is `max · ppm ≥ |a − b| · 10^6`.
///
/// A zero coefficient on either side is a [`RateError::ZeroCoefficient`].
pub fn within_tolerance(a: FixedPoint, b: FixedPoint, ppm: u64) -> Result<bool, RateError> {
    check_scale(a.scale)?;
    check_scale(b.scale)?;
    if a.coefficient == 0 || b.coefficient == 0 {
        return Err(RateError::ZeroCoefficient);
    }
    let s = a.scale.max(b.scale);
    let (x, y) = (widen_to(a, s), widen_to(b, s));
    let (max, delta) = if x >= y { (x, x - y) } else { (y, y - x) };
    // max < 2^188, so max · ppm < 2^252 and delta · 10^6 < 2^208: no overflow.
    Ok(max * U256::from(ppm) >= delta * U256::from(PPM))
}

/// tapd's `AddTolerance`: `value + floor(value · ppm / 10^6)`.
pub fn add_tolerance(value: u128, ppm: u64) -> Result<u128, RateError> {
    let margin = to_u128(U256::new(value) * U256::from(ppm) / U256::from(PPM))?;
    value
        .checked_add(margin)
        .ok_or(RateError::CoefficientOverflow)
}

/// tapd's `MilliSatoshiToUnits`: the asset units worth `msat` at `rate`, as a fixed point at
/// the rate's scale: `{floor(msat · rate.c / 10^11), rate.s}`.
///
/// The fractional digits matter (tapd's sell-side min-fill check looks at them); for whole
/// units use [`msat_to_whole_units`]. A zero rate gives zero units.
pub fn msat_to_units(msat: u64, rate: FixedPoint) -> Result<FixedPoint, RateError> {
    check_scale(rate.scale)?;
    // Equal to tapd's steps (rescale to max(11, s), msat → BTC → units, back to s) for every
    // s ≤ 18: the nested floors collapse into one.
    let c = mul_div(u128::from(msat), rate.coefficient, u128::from(MSAT_PER_BTC));
    Ok(FixedPoint::new(to_u128(c)?, rate.scale))
}

/// Whole asset units worth `msat` at `rate`: `floor(msat · rate.c / 10^(11 + rate.s))`, what
/// tapd gets from `MilliSatoshiToUnits(..).ScaleTo(0)`.
pub fn msat_to_whole_units(msat: u64, rate: FixedPoint) -> Result<u64, RateError> {
    check_scale(rate.scale)?;
    let units = mul_div(u128::from(msat), rate.coefficient, pow10(11 + rate.scale));
    u64::try_from(units).map_err(|_| RateError::UnitsOverflow)
}

/// tapd's `UnitsToMilliSatoshi`: the msat worth `units` (a fixed point, e.g. `{10_000, 0}` for
/// 10 000 whole units) at `rate`.
///
/// With S = max(11, rate.s): the units are rescaled to S (flooring extra digits), and the
/// result is `floor(U · 10^min(rate.s, 11) / rate.c)`; for `units.scale ≤ S` that is
/// `floor(u · 10^(11 + rate.s) / (rate.c · 10^units.scale))`. A zero rate is a
/// [`RateError::DivisionByZero`]; a result of 2^64 msat or more is a [`RateError::MsatOverflow`].
pub fn units_to_msat(units: FixedPoint, rate: FixedPoint) -> Result<u64, RateError> {
    check_scale(units.scale)?;
    check_rate(rate)?;
    let big_s = rate.scale.max(11);
    let down = rate.scale.min(11);
    // Fold the rescale of the units into one power of ten: 10^(S − us + min(s, 11)) ≤ 10^29.
    let msat = if units.scale <= big_s {
        let exp = big_s - units.scale + down;
        mul_div(units.coefficient, pow10(exp), rate.coefficient)
    } else {
        let truncated = units.coefficient / pow10(units.scale - big_s);
        mul_div(truncated, pow10(down), rate.coefficient)
    };
    to_msat(msat)
}

/// [`units_to_msat`] for a whole number of units.
pub fn whole_units_to_msat(units: u64, rate: FixedPoint) -> Result<u64, RateError> {
    units_to_msat(FixedPoint::new(u128::from(units), 0), rate)
}

/// tapd's `MinTransportableUnits`: the units worth `dust_msat` at `rate` (at the rate's
/// scale), or `{1, 0}` if that is less than one whole unit.
pub fn min_transportable_units(dust_msat: u64, rate: FixedPoint) -> Result<FixedPoint, RateError> {
    let units = msat_to_units(dust_msat, rate)?;
    if units.coefficient < pow10(rate.scale) {
        Ok(FixedPoint::new(1, 0))
    } else {
        Ok(units)
    }
}

/// tapd's `MinTransportableMSat`: `dust_msat` plus the msat worth one whole unit at `rate`,
/// the smallest payment that can carry an asset HTLC.
pub fn min_transportable_msat(dust_msat: u64, rate: FixedPoint) -> Result<u64, RateError> {
    whole_units_to_msat(1, rate)?
        .checked_add(dust_msat)
        .ok_or(RateError::MsatOverflow)
}

/// tapd's `SatsPerAssetToAssetRate`: the rate (units per BTC, scale 0) of an asset priced at
/// `sats_per_asset` satoshis per unit: `{floor(10^8 / x), 0}`; `0` gives `{0, 0}`.
pub fn sats_per_asset_to_rate(sats_per_asset: u64) -> FixedPoint {
    match sats_per_asset {
        0 => FixedPoint::new(0, 0),
        x => FixedPoint::new(100_000_000 / u128::from(x), 0),
    }
}

#[cfg(test)]
mod tests;
