//! `u64` values in the signed 64-bit integer columns of SQLite (`INTEGER`) and PostgreSQL
//! (`BIGINT`), stored by bit-cast.
//!
//! The cast is exact and reversible for every value, but SQL sees a value of 2^63 or more as
//! negative: a comparison made in SQL is exact only for values below 2^63, or when written
//! for both halves; sums and orderings over such values belong in Rust.

/// `u64` → `i64` by bit-cast (exact; [`from_i64`] reverses it).
pub const fn to_i64(v: u64) -> i64 {
    v as i64
}

/// `i64` → `u64` by bit-cast: what [`to_i64`] stored.
pub const fn from_i64(v: i64) -> u64 {
    v as u64
}

#[cfg(test)]
mod tests {
    use super::{from_i64, to_i64};

    #[test]
    fn every_value_comes_back() {
        for v in [0, 1, i64::MAX as u64, 1 << 63, u64::MAX - 1, u64::MAX] {
            assert_eq!(from_i64(to_i64(v)), v);
        }
        assert_eq!(to_i64(u64::MAX), -1);
        assert_eq!(to_i64(1 << 63), i64::MIN);
    }
}
