//! Polling with a deadline.

use std::time::{Duration, Instant};

/// How long a step may take before a test gives up.
pub const WAIT: Duration = Duration::from_secs(120);

/// Polls `check` every 100 ms until it answers `Some`, for at most [`WAIT`].
pub fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
