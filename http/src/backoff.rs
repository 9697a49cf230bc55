//! Accept-error backoff.

use std::io;
use std::time::Duration;

/// A doubling delay between `min` and `max`, reset by a successful accept.
#[derive(Debug)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            next: min,
        }
    }

    /// The delay to sleep now; the next one is twice as long, up to the cap.
    pub(crate) fn step(&mut self) -> Duration {
        let delay = self.next;
        self.next = delay.saturating_mul(2).min(self.max);
        delay
    }

    pub(crate) fn reset(&mut self) {
        self.next = self.min;
    }
}

/// Errors about one connection that the peer already gave up on: the next accept may well
/// succeed at once, so they are retried without a delay. Everything else (EMFILE, ENFILE,
/// ENOBUFS, ENOMEM, …) is about the process or the system and gets the backoff.
pub(crate) fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_millis(50));
        let steps: Vec<u128> = (0..5).map(|_| b.step().as_millis()).collect();
        assert_eq!(steps, [10, 20, 40, 50, 50]);
        b.reset();
        assert_eq!(b.step(), Duration::from_millis(10));
    }

    #[test]
    fn resource_errors_are_not_per_connection() {
        assert!(is_per_connection(&io::Error::from(
            io::ErrorKind::ConnectionAborted
        )));
        // EMFILE
        assert!(!is_per_connection(&io::Error::from_raw_os_error(24)));
    }
}
