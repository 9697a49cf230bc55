//! `estimatesmartfee`'s answers: a configurable curve of fee rates by confirmation target.

/// Fee rates by confirmation target; the rate for a target is that of the largest point at or
/// below it (step function), or the first point's for targets below every point.
#[derive(Clone, Debug, PartialEq)]
pub struct FeeCurve {
    points: Vec<(u16, f64)>,
}

impl FeeCurve {
    /// A curve from `(target_blocks, sat_per_vbyte)` points; sorted here, non-positive or
    /// non-finite rates dropped. An empty curve answers 1 sat/vB.
    pub fn new(mut points: Vec<(u16, f64)>) -> Self {
        points.retain(|(_, rate)| rate.is_finite() && *rate > 0.0);
        points.sort_by_key(|(target, _)| *target);
        FeeCurve { points }
    }

    /// One rate for every target.
    pub fn flat(sat_per_vbyte: f64) -> Self {
        Self::new(vec![(1, sat_per_vbyte)])
    }

    /// Fee rate in sat/vB for a confirmation target in blocks.
    pub fn sat_per_vbyte(&self, target: u16) -> f64 {
        let mut rate = self.points.first().map(|p| p.1).unwrap_or(1.0);
        for (t, r) in &self.points {
            if *t <= target {
                rate = *r;
            }
        }
        rate
    }

    /// Fee rate in BTC per kvB, the unit of `estimatesmartfee`'s `feerate`.
    pub fn btc_per_kvb(&self, target: u16) -> f64 {
        // sat/vB * 1000 vB / 1e8 sat.
        (self.sat_per_vbyte(target) * 1000.0).round() / 100_000_000.0
    }
}

impl Default for FeeCurve {
    /// 25 sat/vB for the next block, 10 within 6, 5 within 12, 2 within 144, 1 beyond.
    fn default() -> Self {
        FeeCurve::new(vec![
            (1, 25.0),
            (3, 15.0),
            (6, 10.0),
            (12, 5.0),
            (144, 2.0),
            (504, 1.0),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_down_with_target() {
        let curve = FeeCurve::default();
        assert_eq!(curve.sat_per_vbyte(1), 25.0);
        assert_eq!(curve.sat_per_vbyte(2), 25.0);
        assert_eq!(curve.sat_per_vbyte(6), 10.0);
        assert_eq!(curve.sat_per_vbyte(1008), 1.0);
        assert_eq!(curve.btc_per_kvb(6), 0.0001);
        assert_eq!(FeeCurve::new(vec![]).sat_per_vbyte(3), 1.0);
    }
}
