//! The tables of spec §7.6, plus property tests: no input panics, round trips never gain, and
//! the closed forms equal tapd's step-by-step algorithm.

use super::*;
use proptest::prelude::*;

fn fp(c: u128, s: u8) -> FixedPoint {
    FixedPoint::new(c, s)
}

const DUST: u64 = DEFAULT_ON_CHAIN_HTLC_MSAT;

#[test]
fn milli_satoshi_to_units_table() {
    // msat, rate, coef, minU (whole), minMsat, back
    let table: [(u64, FixedPoint, u128, u64, u64, u64); 7] = [
        (200_000, fp(500_000, 2), 1, 1, 20_354_000, 200_000),
        (
            200_000,
            fp(5_000_000_000, 6),
            10_000,
            1,
            20_354_000,
            200_000,
        ),
        (1_973, fp(50_702_000_000, 6), 1_000, 1, 2_326_308, 1_972),
        (
            123_456_789,
            fp(50_702_000_000_000, 6),
            62_595_061_158,
            179,
            355_972,
            123_456_788,
        ),
        (5_070, fp(50_702_120_000, 6), 2_570, 1, 2_326_304, 5_068),
        (5_000, fp(7_341_847_000_000, 6), 367_092, 25, 367_620, 4_999),
        (5_000, fp(73_418_470_000, 4), 3_670, 25, 367_620, 4_998),
    ];
    for (msat, rate, coef, min_units, min_msat, back) in table {
        let units = msat_to_units(msat, rate).unwrap();
        assert_eq!(units, fp(coef, rate.scale), "{msat} msat at {rate:?}");
        let min_u = min_transportable_units(DUST, rate).unwrap();
        assert_eq!(
            scale_to(min_u, 0).unwrap().coefficient,
            u128::from(min_units)
        );
        assert_eq!(min_transportable_msat(DUST, rate).unwrap(), min_msat);
        let round_trip = units_to_msat(units, rate).unwrap();
        assert_eq!(round_trip, back);
        assert!(msat - round_trip <= 2, "tapd's own assertion");
        assert_eq!(
            msat_to_whole_units(msat, rate).unwrap(),
            (coef / pow10(rate.scale)) as u64
        );
    }
}

#[test]
fn min_transportable_units_is_one_whole_unit_below_dust() {
    // 354 000 msat at 5 000 units/BTC is 0.0177 units: rounded up to {1, 0}.
    assert_eq!(
        min_transportable_units(DUST, fp(500_000, 2)).unwrap(),
        fp(1, 0)
    );
    // At the rate's scale when it is at least one whole unit.
    assert_eq!(
        min_transportable_units(DUST, fp(50_702_000_000_000, 6)).unwrap(),
        fp(179_485_080, 6)
    );
}

#[test]
fn units_to_milli_satoshi_examples() {
    let rate = fp(67_918_900_000, 2);
    assert_eq!(units_to_msat(fp(10_000, 0), rate).unwrap(), 1_472_344);
    assert_eq!(units_to_msat(fp(10_000_000, 3), rate).unwrap(), 1_472_344);
    assert_eq!(whole_units_to_msat(10_000, rate).unwrap() / 1_000, 1_472);
}

#[test]
fn units_to_milli_satoshi_overflow() {
    let one = fp(1, 0);
    assert_eq!(
        whole_units_to_msat(100_000_000, one).unwrap(),
        10_000_000_000_000_000_000
    );
    assert_eq!(
        whole_units_to_msat(1_000_000_000, one),
        Err(RateError::MsatOverflow)
    );
    assert_eq!(
        whole_units_to_msat(u64::MAX, one),
        Err(RateError::MsatOverflow)
    );
    assert_eq!(
        min_transportable_msat(u64::MAX, fp(100_000_000, 0)),
        Err(RateError::MsatOverflow)
    );
}

#[test]
fn blip_examples() {
    let rate = fp(612_349_500, 4);
    let units = msat_to_units(1_633_054_326, rate).unwrap();
    assert_eq!(units, fp(9_999_999, 4));
    assert_eq!(msat_to_whole_units(1_633_054_326, rate).unwrap(), 999);
    assert_eq!(whole_units_to_msat(100, rate).unwrap(), 163_305_432);
    assert_eq!(whole_units_to_msat(1_000, rate).unwrap(), 1_633_054_326);
}

#[test]
fn one_unit_per_sat() {
    let rate = fp(100_000_000, 0);
    assert_eq!(msat_to_whole_units(1_000, rate).unwrap(), 1);
    assert_eq!(msat_to_whole_units(999, rate).unwrap(), 0);
    assert_eq!(msat_to_units(999, rate).unwrap(), fp(0, 0));
    assert_eq!(whole_units_to_msat(1, rate).unwrap(), 1_000);
}

#[test]
fn sats_per_asset_to_asset_rate() {
    for (sats, units) in [
        (1, 100_000_000),
        (5, 20_000_000),
        (10, 10_000_000),
        (20, 5_000_000),
        (50, 2_000_000),
        (100, 1_000_000),
        (0, 0),
    ] {
        assert_eq!(
            sats_per_asset_to_rate(sats),
            fp(units, 0),
            "{sats} sat/unit"
        );
    }
}

#[test]
fn scale_to_table() {
    assert_eq!(scale_to(fp(1, 0), 12).unwrap(), fp(1_000_000_000_000, 12));
    assert_eq!(scale_to(fp(9, 0), 4).unwrap(), fp(90_000, 4));
    assert_eq!(scale_to(fp(123_456, 2), 4).unwrap(), fp(12_345_600, 4));
    assert_eq!(scale_to(fp(12_345_600, 4), 2).unwrap(), fp(123_456, 2));
    assert_eq!(scale_to(fp(12_345_600, 6), 2).unwrap(), fp(1_234, 2));
    assert_eq!(scale_to(fp(12, 6), 2).unwrap(), fp(0, 2));
}

#[test]
fn scale_to_errors() {
    assert_eq!(
        scale_to(fp(u128::MAX, 0), 1),
        Err(RateError::CoefficientOverflow)
    );
    assert_eq!(
        scale_to(fp(1, 0), 19),
        Err(RateError::ScaleTooLarge { scale: 19 })
    );
    assert_eq!(
        scale_to(fp(1, 200), 0),
        Err(RateError::ScaleTooLarge { scale: 200 })
    );
    assert_eq!(scale_to(fp(1, 0), 18).unwrap(), fp(POW10[18], 18));
}

#[test]
fn fixed_point_from_uint64() {
    assert_eq!(from_u64(1, 0).unwrap(), fp(1, 0));
    assert_eq!(from_u64(1, 2).unwrap(), fp(100, 2));
    assert_eq!(from_u64(1, 6).unwrap(), fp(1_000_000, 6));
    assert_eq!(from_u64(1, 8).unwrap(), fp(100_000_000, 8));
    assert_eq!(
        from_u64(100_000_000_000, 8).unwrap(),
        fp(10_000_000_000_000_000_000, 8)
    );
    assert_eq!(
        from_u64(u64::MAX, 18).unwrap().coefficient,
        u128::from(u64::MAX) * POW10[18]
    );
    assert_eq!(from_u64(1, 19), Err(RateError::ScaleTooLarge { scale: 19 }));
}

#[test]
fn within_tolerance_table() {
    let v = |value: u64, scale: u8| from_u64(value, scale).unwrap();
    let table = [
        (v(1_000_000, 1), v(900_000, 1), 111_111, true),
        (v(850_000, 1), v(1_000_000, 1), 176_470, true),
        (v(85_000, 3), v(100_000, 2), 176_470, true),
        (v(85_000, 3), v(100_000, 2), 100_000, false),
        (v(100_000, 2), v(100_000, 4), 0, true),
        (v(100_000, 2), v(101_000, 3), 9_900, false),
        (v(100_000, 1), v(95_000, 2), 50_000, true),
        (fp(314, 2), fp(314_159_265_359, 11), 50_000, true),
        (v(100_000, 3), v(90_000, 1), 90_000, false),
        (v(100_000, 4), v(91_000, 1), 100_000, true),
    ];
    for (a, b, ppm, expected) in table {
        assert_eq!(within_tolerance(a, b, ppm), Ok(expected), "{a} vs {b}");
        assert_eq!(within_tolerance(b, a, ppm), Ok(expected), "symmetric");
    }
    for other in [fp(0, 0), fp(1, 0), fp(5, 7)] {
        assert_eq!(
            within_tolerance(fp(0, 3), other, 50_000),
            Err(RateError::ZeroCoefficient)
        );
        assert_eq!(
            within_tolerance(other, fp(0, 3), 50_000),
            Err(RateError::ZeroCoefficient)
        );
    }
    assert_eq!(
        within_tolerance(fp(1, 19), fp(1, 0), 0),
        Err(RateError::ScaleTooLarge { scale: 19 })
    );
    // Extremes do not overflow.
    assert_eq!(
        within_tolerance(fp(u128::MAX, 0), fp(1, 18), u64::MAX),
        Ok(true)
    );
    assert_eq!(within_tolerance(fp(u128::MAX, 0), fp(1, 18), 0), Ok(false));
}

#[test]
fn within_tolerance_is_measured_against_the_larger_value() {
    // 100 vs 95: delta 5 is 5% of 100 (the larger) but 5.26% of 95.
    assert_eq!(within_tolerance(fp(100, 0), fp(95, 0), 50_000), Ok(true));
    assert_eq!(within_tolerance(fp(100, 0), fp(95, 0), 49_999), Ok(false));
}

#[test]
fn cmp_table() {
    assert_eq!(cmp(fp(100, 2), fp(10_000, 4)), Ordering::Equal);
    assert_eq!(cmp(fp(1, 0), fp(2, 0)), Ordering::Less);
    assert_eq!(cmp(fp(2, 2), fp(1, 2)), Ordering::Greater);
    assert_eq!(cmp(fp(0, 0), fp(0, 5)), Ordering::Equal);
    assert_eq!(cmp(fp(1, 0), fp(10_000_000_000, 10)), Ordering::Equal);
}

#[test]
fn cmp_is_exact_at_any_scale() {
    assert_eq!(cmp(fp(1, 0), fp(u128::MAX, 38)), Ordering::Less);
    assert_eq!(cmp(fp(1, 0), fp(u128::MAX, 39)), Ordering::Greater);
    assert_eq!(cmp(fp(u128::MAX, 255), fp(1, 0)), Ordering::Less);
    assert_eq!(cmp(fp(0, 255), fp(0, 0)), Ordering::Equal);
    assert_eq!(cmp(fp(0, 0), fp(1, 255)), Ordering::Less);
    assert_eq!(cmp(fp(10, 1), fp(POW10[38], 38)), Ordering::Equal);
}

#[test]
fn mul_and_div() {
    assert_eq!(mul(fp(150, 2), fp(200, 2)).unwrap(), fp(300, 2));
    assert_eq!(div(fp(300, 2), fp(200, 2)).unwrap(), fp(150, 2));
    assert_eq!(div(fp(1, 0), fp(3, 0)).unwrap(), fp(0, 0));
    assert_eq!(div(fp(1, 0), fp(0, 0)), Err(RateError::DivisionByZero));
    assert_eq!(
        mul(fp(1, 0), fp(1, 2)),
        Err(RateError::ScaleMismatch { left: 0, right: 2 })
    );
    assert_eq!(
        div(fp(1, 2), fp(1, 0)),
        Err(RateError::ScaleMismatch { left: 2, right: 0 })
    );
    // 256-bit intermediates: (2^128 − 1)² / 10^18 does not fit, but / itself does.
    assert_eq!(
        mul(fp(u128::MAX, 0), fp(u128::MAX, 0)),
        Err(RateError::CoefficientOverflow)
    );
    assert_eq!(
        mul(fp(u128::MAX, 18), fp(POW10[18], 18)).unwrap(),
        fp(u128::MAX, 18)
    );
    assert_eq!(
        div(fp(u128::MAX, 18), fp(POW10[18], 18)).unwrap(),
        fp(u128::MAX, 18)
    );
    assert_eq!(
        div(fp(u128::MAX, 18), fp(1, 18)),
        Err(RateError::CoefficientOverflow)
    );
    assert_eq!(
        mul(fp(1, 19), fp(1, 19)),
        Err(RateError::ScaleTooLarge { scale: 19 })
    );
}

#[test]
fn add_tolerance_examples() {
    assert_eq!(add_tolerance(1_000_000, 50_000).unwrap(), 1_050_000);
    assert_eq!(add_tolerance(999, 1_000).unwrap(), 999, "floor of 0.999");
    assert_eq!(add_tolerance(0, u64::MAX).unwrap(), 0);
    assert_eq!(add_tolerance(u128::MAX, 0).unwrap(), u128::MAX);
    assert_eq!(
        add_tolerance(u128::MAX, 1),
        Err(RateError::CoefficientOverflow)
    );
}

#[test]
fn conversion_errors() {
    assert_eq!(
        whole_units_to_msat(1, fp(0, 2)),
        Err(RateError::DivisionByZero)
    );
    assert_eq!(msat_to_units(1_000, fp(0, 2)).unwrap(), fp(0, 2));
    assert_eq!(
        msat_to_units(1, fp(1, 19)),
        Err(RateError::ScaleTooLarge { scale: 19 })
    );
    assert_eq!(
        units_to_msat(fp(1, 19), fp(1, 0)),
        Err(RateError::ScaleTooLarge { scale: 19 })
    );
    assert_eq!(
        msat_to_units(u64::MAX, fp(u128::MAX, 0)),
        Err(RateError::CoefficientOverflow)
    );
    assert_eq!(
        msat_to_whole_units(u64::MAX, fp(u128::MAX, 18)),
        Err(RateError::UnitsOverflow)
    );
    assert_eq!(check_rate(fp(1, 18)), Ok(()));
    assert_eq!(check_rate(fp(0, 18)), Err(RateError::DivisionByZero));
}

#[test]
fn units_above_the_working_scale_are_truncated() {
    // Rate scale 2 → working scale 11: a units scale of 12..=18 drops digits first, as tapd does.
    let rate = fp(10_000_000_000, 2); // 1 unit = 1 sat
    assert_eq!(
        units_to_msat(fp(1_999_999_999_999, 12), rate).unwrap(),
        1_999
    );
    assert_eq!(units_to_msat(fp(999_999_999_999, 12), rate).unwrap(), 999);
}

/// tapd's `MilliSatoshiToUnits`, step by step (spec §7.3), for coefficients below 2^64, where
/// every intermediate fits in 256 bits.
fn reference_msat_to_units(msat: u64, rate: FixedPoint) -> FixedPoint {
    let big_s = rate.scale.max(11);
    let m = U256::from(msat) * U256::new(pow10(big_s));
    let one = U256::from(MSAT_PER_BTC) * U256::new(pow10(big_s));
    let r = widen_to(rate, big_s);
    let btc = m * U256::new(pow10(big_s)) / one;
    let units = btc * r / U256::new(pow10(big_s));
    let coefficient = units / U256::new(pow10(big_s - rate.scale));
    FixedPoint::new(coefficient.as_u128(), rate.scale)
}

/// tapd's `UnitsToMilliSatoshi`, step by step (spec §7.4), before the u64 check. `Mul` by
/// `{10^11 · 10^S, S}` is written as the exact `· 10^11` it amounts to.
fn reference_units_to_msat(units: FixedPoint, rate: FixedPoint) -> U256 {
    let big_s = rate.scale.max(11);
    let u = widen_to(units, big_s);
    let r = widen_to(rate, big_s);
    let btc = u * U256::new(pow10(big_s)) / r;
    let ms = btc * U256::from(MSAT_PER_BTC);
    ms / U256::new(pow10(big_s))
}

fn any_rate() -> impl Strategy<Value = FixedPoint> {
    (any::<u128>(), any::<u8>()).prop_map(|(c, s)| fp(c, s))
}

proptest! {
    #[test]
    fn conversions_never_panic(msat in any::<u64>(), units in any::<u64>(), rate in any_rate(),
                               units_scale in any::<u8>(), ppm in any::<u64>(), other in any_rate()) {
        let _ = msat_to_units(msat, rate);
        let _ = msat_to_whole_units(msat, rate);
        let _ = units_to_msat(fp(u128::from(units), units_scale), rate);
        let _ = units_to_msat(fp(rate.coefficient, units_scale), other);
        let _ = whole_units_to_msat(units, rate);
        let _ = min_transportable_units(msat, rate);
        let _ = min_transportable_msat(msat, rate);
        let _ = scale_to(rate, units_scale);
        let _ = mul(rate, other);
        let _ = div(rate, other);
        let _ = mul(rate, fp(other.coefficient, rate.scale));
        let _ = div(rate, fp(other.coefficient, rate.scale));
        let _ = cmp(rate, other);
        let _ = within_tolerance(rate, other, ppm);
        let _ = add_tolerance(rate.coefficient, ppm);
        let _ = from_u64(units, units_scale);
        let _ = sats_per_asset_to_rate(units);
    }

    #[test]
    fn round_trip_never_exceeds_input(msat in any::<u64>(), c in 1..=u128::MAX, s in 0..=MAX_SCALE) {
        let rate = fp(c, s);
        if let Ok(units) = msat_to_units(msat, rate) {
            let back = units_to_msat(units, rate).expect("fewer msat than the input fit");
            prop_assert!(back <= msat, "{} → {:?} → {}", msat, units, back);
        }
        if let Ok(whole) = msat_to_whole_units(msat, rate) {
            let back = whole_units_to_msat(whole, rate).expect("fewer msat than the input fit");
            prop_assert!(back <= msat);
        }
    }

    #[test]
    fn msat_to_units_matches_tapd_steps(msat in any::<u64>(), c in any::<u64>(), s in 0..=MAX_SCALE) {
        let rate = fp(u128::from(c), s);
        prop_assert_eq!(msat_to_units(msat, rate).unwrap(), reference_msat_to_units(msat, rate));
    }

    #[test]
    fn units_to_msat_matches_tapd_steps(u in any::<u64>(), us in 0..=MAX_SCALE,
                                        c in 1..=u64::MAX, s in 0..=MAX_SCALE) {
        let (units, rate) = (fp(u128::from(u), us), fp(u128::from(c), s));
        let expected = reference_units_to_msat(units, rate);
        match units_to_msat(units, rate) {
            Ok(msat) => prop_assert_eq!(U256::from(msat), expected),
            Err(e) => {
                prop_assert_eq!(e, RateError::MsatOverflow);
                prop_assert!(expected > U256::from(u64::MAX));
            }
        }
    }

    #[test]
    fn fast_paths_agree_with_256_bit_arithmetic(msat in any::<u64>(), u in any::<u128>(),
                                                us in 0..=MAX_SCALE, c in 1..=u128::MAX,
                                                s in 0..=MAX_SCALE) {
        let rate = fp(c, s);
        let wide = U256::from(msat) * U256::new(c) / U256::from(MSAT_PER_BTC);
        prop_assert_eq!(
            msat_to_units(msat, rate).map(|v| v.coefficient).ok(),
            u128::try_from(wide).ok()
        );
        let big_s = s.max(11);
        let numerator = widen_to(fp(u, us), big_s) * U256::new(pow10(s.min(11)));
        prop_assert_eq!(
            units_to_msat(fp(u, us), rate).ok(),
            u64::try_from(numerator / U256::new(c)).ok()
        );
    }

    #[test]
    fn cmp_agrees_with_rescaling(a in any::<u64>(), sa in 0..=MAX_SCALE, b in any::<u64>(), sb in 0..=MAX_SCALE) {
        let (x, y) = (fp(u128::from(a), sa), fp(u128::from(b), sb));
        let s = sa.max(sb);
        let expected = scale_to(x, s).unwrap().coefficient.cmp(&scale_to(y, s).unwrap().coefficient);
        prop_assert_eq!(cmp(x, y), expected);
        prop_assert_eq!(cmp(y, x), expected.reverse());
    }
}
