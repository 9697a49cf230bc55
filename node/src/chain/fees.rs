//! Cached fee estimates per LDK confirmation target, with floors.

use std::sync::atomic::{AtomicU32, Ordering};

use lightning::chain::chaininterface::ConfirmationTarget;

/// The lowest fee rate LDK accepts for anything: 253 sat per 1000 weight (~1 sat/vB).
pub const FLOOR_SAT_PER_KW: u32 = 253;

/// How many blocks each kind of estimate targets, and its floor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FeeTargets {
    /// Next block (urgent sweeps, maximum estimate): 1 block.
    Urgent,
    /// Normal (non-anchor channel commitments, output spending): 6 blocks.
    Normal,
    /// Background (anchor commitments, cooperative close minimum): 144 blocks.
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
            | ConfirmationTarget::MinAllowedAnchorChannelRemoteFee
            | ConfirmationTarget::MinAllowedNonAnchorChannelRemoteFee => FeeTargets::Background,
            _ => FeeTargets::Normal,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The floor for a confirmation target in sat per 1000 weight: the remote-fee minimums stay at
/// the absolute floor (we accept what the peer proposes down to relay fee), the rest never go
/// below 253, and urgent estimates never below 5 sat/vB so that sweeps racing a timeout confirm.
pub fn fee_floor(target: ConfirmationTarget) -> u32 {
    match target {
        ConfirmationTarget::MaximumFeeEstimate | ConfirmationTarget::UrgentOnChainSweep => 1250,
        _ => FLOOR_SAT_PER_KW,
    }
}

/// Last known estimate per [`FeeTargets`], in sat per 1000 weight (0 = unknown).
#[derive(Debug, Default)]
pub(crate) struct FeeCache {
    rates: [AtomicU32; 3],
}

impl FeeCache {
    /// Stores an `estimatesmartfee` answer (BTC per 1000 virtual bytes).
    pub(crate) fn set(&self, target: FeeTargets, btc_per_kvb: f64) {
        if !btc_per_kvb.is_finite() || btc_per_kvb <= 0.0 {
            return;
        }
        // BTC/kvB → sat/kvB → sat/kw (1 vB = 4 weight).
        let sat_per_kw = (btc_per_kvb * 100_000_000.0 / 4.0).round();
        let sat_per_kw = if sat_per_kw > u32::MAX as f64 {
            u32::MAX
        } else {
            sat_per_kw as u32
        };
        self.rates[target.index()].store(sat_per_kw, Ordering::Relaxed);
    }

    /// The estimate for `target`, never below its floor.
    pub(crate) fn get(&self, target: ConfirmationTarget) -> u32 {
        let cached = self.rates[FeeTargets::of(target).index()].load(Ordering::Relaxed);
        cached.max(fee_floor(target))
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
}
