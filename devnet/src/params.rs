//! Regtest consensus and policy constants, as Bitcoin Core uses them.

use bitcoin::{Amount, CompactTarget};

/// Largest amount a transaction output (or all outputs together) may carry: 21 million BTC.
pub const MAX_MONEY: u64 = 21_000_000 * 100_000_000;
/// Blocks a coinbase output must wait before it can be spent.
pub const COINBASE_MATURITY: u32 = 100;
/// Regtest halves the subsidy every 150 blocks.
pub const SUBSIDY_HALVING_INTERVAL: u32 = 150;
/// The subsidy of the first era: 50 BTC.
pub const INITIAL_SUBSIDY: Amount = Amount::from_sat(50 * 100_000_000);
/// Consensus limit on a block's weight.
pub const MAX_BLOCK_WEIGHT: u64 = 4_000_000;
/// Policy limit on a transaction's weight.
pub const MAX_STANDARD_TX_WEIGHT: u64 = 400_000;
/// Policy limit on a scriptSig's size.
pub const MAX_STANDARD_SCRIPTSIG_SIZE: usize = 1_650;
/// Policy: a transaction's size without witness must be at least this many bytes.
pub const MIN_STANDARD_TX_NONWITNESS_SIZE: usize = 65;
/// Policy limit on an OP_RETURN output's script size (`-datacarriersize` default plus overhead).
pub const MAX_OP_RETURN_RELAY: usize = 83;
/// Locktimes below this are block heights, at or above it Unix times.
pub const LOCKTIME_THRESHOLD: u32 = 500_000_000;
/// Regtest's proof-of-work limit in compact form.
pub const REGTEST_BITS_U32: u32 = 0x207f_ffff;

/// Regtest's proof-of-work limit as a [`CompactTarget`] (`0x207fffff`).
pub fn regtest_bits() -> CompactTarget {
    CompactTarget::from_consensus(REGTEST_BITS_U32)
}
/// Block version the devnet miner writes (BIP 9 top bits, no signalling).
pub const BLOCK_VERSION: i32 = 0x2000_0000;
/// Default minimum relay fee rate in sat per 1000 virtual bytes (`-minrelaytxfee`).
pub const DEFAULT_MIN_RELAY_FEE_SAT_PER_KVB: u64 = 1_000;
/// Default upper fee rate `sendrawtransaction` accepts, sat per 1000 virtual bytes (0.10 BTC/kvB).
pub const DEFAULT_MAX_FEE_RATE_SAT_PER_KVB: u64 = 10_000_000;
/// Version number `getnetworkinfo` reports: the Bitcoin Core release whose interpreter the
/// `bitcoinconsensus` crate (linked through `bitcoin`) compiles.
pub const CORE_VERSION: u64 = 250_100;
/// P2P protocol version `getnetworkinfo` reports.
pub const PROTOCOL_VERSION: u64 = 70_016;

/// Block subsidy at `height` under regtest's halving schedule.
pub fn subsidy(height: u32) -> Amount {
    let halvings = height / SUBSIDY_HALVING_INTERVAL;
    if halvings >= 64 {
        return Amount::ZERO;
    }
    Amount::from_sat(INITIAL_SUBSIDY.to_sat() >> halvings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsidy_halves_every_150_blocks() {
        assert_eq!(subsidy(0), Amount::from_btc(50.0).unwrap());
        assert_eq!(subsidy(149), Amount::from_btc(50.0).unwrap());
        assert_eq!(subsidy(150), Amount::from_btc(25.0).unwrap());
        assert_eq!(subsidy(300), Amount::from_btc(12.5).unwrap());
        assert_eq!(subsidy(150 * 64), Amount::ZERO);
    }
}
