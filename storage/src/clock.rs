//! The wall clock, as the stores read it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time since the Unix epoch by the system clock (zero before 1970).
pub fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Unix seconds by the system clock (0 before 1970).
pub fn unix_now() -> u64 {
    since_epoch().as_secs()
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
