//! Cached fee estimates per LDK confirmation target, with floors.
//!
//! Which estimate answers which [`ConfirmationTarget`]:
//!
//! | target | estimate |
//! | --- | --- |
//! | `MaximumFeeEstimate`, `UrgentOnChainSweep` | 1-block `estimatesmartfee`, at least 1 250 sat/kW |
//! | `AnchorChannelFee`, `ChannelCloseMinimum` | 144-block `estimatesmartfee` |
//! | `MinAllowedAnchorChannelRemoteFee` | the mempool minimum (`getmempoolinfo`) |
//! | `MinAllowedNonAnchorChannelRemoteFee` | 144-block `estimatesmartfee` minus 250 sat/kW |
//! | everything else | 6-block `estimatesmartfee` |
//!
//! and none below 253 sat/kW. The two remote-fee minimums are the lowest feerate a peer may put
//! on a commitment it opens or updates (LDK closes the channel below it). An anchor commitment
//! only has to enter the mempool, since either side can bump it through its anchor, so anything
//! at the mempool minimum is fine even when our own estimate is higher; a non-anchor commitment
//! cannot be bumped, so it must keep up with our background estimate, less 250 sat/kW (1 sat/vB)
//! for estimators that round to whole sat/vB differently from ours.

use std::sync::atomic::{AtomicU32, Ordering};

use lightning::chain::chaininterface::ConfirmationTarget;

/// The lowest fee rate LDK accepts for anything: 253 sat per 1000 weight (~1 sat/vB).
pub const FLOOR_SAT_PER_KW: u32 = 253;

/// How much below our background estimate a peer's non-anchor commitment feerate may be: one
/// sat/vB, for estimators that round up to whole sat/vB where we do not.
const NON_ANCHOR_REMOTE_SLACK_SAT_PER_KW: u32 = 250;

/// How many blocks each kind of `estimatesmartfee` estimate targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FeeTargets {
    /// Next block (urgent sweeps, maximum estimate): 1 block.
    Urgent,
    /// Normal (non-anchor channel commitments, output spending): 6 blocks.
    Normal,
    /// Background (anchor commitments, cooperative close minimum, and, less 250 sat/kW, the
    /// lowest non-anchor commitment feerate accepted from a peer): 144 blocks.
    Background,
}

impl FeeTargets {
    /// Every target with the block count passed to `estimatesmartfee`.
    pub const ALL: [(FeeTargets, u16); 3] = [
        (FeeTargets::Urgent, 1),
        (FeeTargets::Normal, 6),
        (FeeTargets::Background, 144),
    ];

    fn of(target: ConfirmationTarget) -> Self {
        match target {
            ConfirmationTarget::MaximumFeeEstimate | ConfirmationTarget::UrgentOnChainSweep => {
                FeeTargets::Urgent
            }
            ConfirmationTarget::AnchorChannelFee
            | ConfirmationTarget::ChannelCloseMinimum
            | ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee => FeeTargets::Background,
            _ => FeeTargets::Normal,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The floor for a confirmation target in sat per 1000 weight: urgent estimates never go below
/// 5 sat/vB, so that sweeps racing a timeout confirm; everything else, the remote-fee minimums
/// included, never below 253.
pub fn fee_floor(target: ConfirmationTarget) -> u32 {
    match target {
        ConfirmationTarget::MaximumFeeEstimate | ConfirmationTarget::UrgentOnChainSweep => 1250,
        _ => FLOOR_SAT_PER_KW,
    }
}

/// BTC per 1000 virtual bytes (Bitcoin Core's fee unit) in sat per 1000 weight; `None` for
/// nothing usable (non-finite, zero or negative).
fn sat_per_kw(btc_per_kvb: f64) -> Option<u32> {
    if !btc_per_kvb.is_finite() || btc_per_kvb <= 0.0 {
        return None;
    }
    // BTC/kvB → sat/kvB → sat/kw (1 vB = 4 weight).
    let sat_per_kw = (btc_per_kvb * 100_000_000.0 / 4.0).round();
    Some(if sat_per_kw > u32::MAX as f64 {
        u32::MAX
    } else {
        sat_per_kw as u32
    })
}

/// Last known estimate per [`FeeTargets`] and last known mempool minimum, in sat per 1000 weight
/// (0 = unknown).
#[derive(Debug, Default)]
pub(crate) struct FeeCache {
    rates: [AtomicU32; 3],
    mempool_min: AtomicU32,
}

impl FeeCache {
    /// Stores an `estimatesmartfee` answer (BTC per 1000 virtual bytes).
    pub(crate) fn set(&self, target: FeeTargets, btc_per_kvb: f64) {
        if let Some(rate) = sat_per_kw(btc_per_kvb) {
            self.rates[target.index()].store(rate, Ordering::Relaxed);
        }
    }

    /// Stores the mempool's minimum fee rate (`getmempoolinfo`'s `mempoolminfee`, BTC per 1000
    /// virtual bytes).
    pub(crate) fn set_mempool_min(&self, btc_per_kvb: f64) {
        if let Some(rate) = sat_per_kw(btc_per_kvb) {
            self.mempool_min.store(rate, Ordering::Relaxed);
        }
    }

    /// The estimate for `target` (see the module's table), never below its floor.
    pub(crate) fn get(&self, target: ConfirmationTarget) -> u32 {
        let rate = match target {
            ConfirmationTarget::MinAllowedAnchorChannelRemoteFee => {
                self.mempool_min.load(Ordering::Relaxed)
            }
            ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee => self.rates
                [FeeTargets::Background.index()]
            .load(Ordering::Relaxed)
            .saturating_sub(NON_ANCHOR_REMOTE_SLACK_SAT_PER_KW),
            _ => self.rates[FeeTargets::of(target).index()].load(Ordering::Relaxed),
        };
        rate.max(fee_floor(target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_btc_per_kvb_and_applies_floors() {
        let cache = FeeCache::default();
        assert_eq!(
            cache.get(ConfirmationTarget::NonAnchorChannelFee),
            FLOOR_SAT_PER_KW
        );
        assert_eq!(cache.get(ConfirmationTarget::UrgentOnChainSweep), 1250);
        cache.set(FeeTargets::Normal, 0.0002); // 20 sat/vB = 5000 sat/kw
        assert_eq!(cache.get(ConfirmationTarget::NonAnchorChannelFee), 5000);
        assert_eq!(cache.get(ConfirmationTarget::OutputSpendingFee), 5000);
        cache.set(FeeTargets::Normal, f64::NAN);
        assert_eq!(cache.get(ConfirmationTarget::NonAnchorChannelFee), 5000);
        cache.set(FeeTargets::Background, 0.000001); // 0.1 sat/vB: below the floor
        assert_eq!(
            cache.get(ConfirmationTarget::ChannelCloseMinimum),
            FLOOR_SAT_PER_KW
        );
    }

    #[test]
    fn remote_fee_minimums_are_unknown_at_the_floor() {
        let cache = FeeCache::default();
        for target in [
            ConfirmationTarget::MinAllowedAnchorChannelRemoteFee,
            ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee,
        ] {
            assert_eq!(cache.get(target), FLOOR_SAT_PER_KW, "{target:?}");
        }
    }

    /// The reported case: our 144-block estimate is 2 sat/vB (500 sat/kW), the mempool minimum
    /// 1 sat/vB, and a peer opens an anchor channel at its long-term estimate, the floor.
    #[test]
    fn anchor_remote_minimum_is_the_mempool_minimum() {
        let cache = FeeCache::default();
        cache.set(FeeTargets::Background, 0.00002); // 2 sat/vB = 500 sat/kW
        cache.set_mempool_min(0.00001); // 1 sat/vB = 250 sat/kW
        assert_eq!(cache.get(ConfirmationTarget::AnchorChannelFee), 500);
        assert_eq!(cache.get(ConfirmationTarget::ChannelCloseMinimum), 500);
        assert_eq!(
            cache.get(ConfirmationTarget::MinAllowedAnchorChannelRemoteFee),
            FLOOR_SAT_PER_KW
        );
        // A full mempool raises it; an unusable answer keeps the previous value.
        cache.set_mempool_min(0.0001); // 10 sat/vB
        assert_eq!(
            cache.get(ConfirmationTarget::MinAllowedAnchorChannelRemoteFee),
            2500
        );
        cache.set_mempool_min(0.0);
        cache.set_mempool_min(f64::INFINITY);
        assert_eq!(
            cache.get(ConfirmationTarget::MinAllowedAnchorChannelRemoteFee),
            2500
        );
        // The anchor minimum does not follow our own estimates.
        cache.set(FeeTargets::Background, 0.001);
        assert_eq!(
            cache.get(ConfirmationTarget::MinAllowedAnchorChannelRemoteFee),
            2500
        );
    }

    #[test]
    fn non_anchor_remote_minimum_is_background_less_250() {
        let cache = FeeCache::default();
        cache.set_mempool_min(0.0001); // not used for non-anchor channels
        cache.set(FeeTargets::Background, 0.00002); // 500 sat/kW − 250 = 250: floored
        assert_eq!(
            cache.get(ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee),
            FLOOR_SAT_PER_KW
        );
        cache.set(FeeTargets::Background, 0.00008); // 8 sat/vB = 2000 sat/kW
        assert_eq!(
            cache.get(ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee),
            1750
        );
        cache.set(FeeTargets::Normal, 0.001); // other estimates do not move it
        cache.set(FeeTargets::Urgent, 0.001);
        assert_eq!(
            cache.get(ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee),
            1750
        );
    }
}
