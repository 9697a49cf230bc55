//! The wall clock, as the stores read it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds by the system clock (0 before 1970).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::unix_now;

    #[test]
    fn after_2020_and_monotone_enough() {
        let a = unix_now();
        // 2020-01-01T00:00:00Z.
        assert!(a > 1_577_836_800);
        assert!(unix_now() >= a);
    }
}
