//! Running again a transaction that lost a race with another session.

use std::future::Future;
use tokio_postgres::error::SqlState;

/// Whether `e` says the transaction lost a race and should simply be run again: a
/// serialization failure (`40001`) or a detected deadlock (`40P01`). The transaction was
/// rolled back; nothing of it took effect.
pub fn is_conflict(e: &tokio_postgres::Error) -> bool {
    let code = e.code();
    code == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
        || code == Some(&SqlState::T_R_DEADLOCK_DETECTED)
}

/// Why an operation run under [`Retry`] or [`retry`] gave up.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    /// Every attempt lost a race; nothing took effect, and the operation may be tried again
    /// later.
    #[error("the operation kept conflicting with other sessions ({attempts} attempts)")]
    Exhausted {
        /// The attempts made.
        attempts: usize,
    },
    /// An attempt failed for another reason than a lost race.
    #[error("PostgreSQL failed")]
    Failed(#[source] tokio_postgres::Error),
}

/// Counts the attempts of an operation that is run again when it loses a race, for loops
/// whose attempts need more than [`retry`] allows (say, a `&mut` connection for a
/// transaction):
///
/// ```ignore
/// let mut retry = Retry::new(8);
/// loop {
///     match attempt(&mut conn).await {
///         Ok(Some(done)) => return Ok(done),
///         Ok(None) => retry.lost_race()?,  // a race the attempt detected itself
///         Err(e) => retry.failed(e)?,      // run again if `e` is a conflict
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    attempts: usize,
    max_attempts: usize,
}

impl Retry {
    /// At most `max_attempts` attempts in all (at least 1).
    pub fn new(max_attempts: usize) -> Self {
        Retry {
            attempts: 0,
            max_attempts: max_attempts.max(1),
        }
    }

    /// The attempts that failed so far.
    pub fn attempts(&self) -> usize {
        self.attempts
    }

    /// An attempt failed with `e`: `Ok(())` to run it again (a conflict, attempts left), else
    /// why to give up.
    pub fn failed(&mut self, e: tokio_postgres::Error) -> Result<(), RetryError> {
        if is_conflict(&e) {
            self.lost_race()
        } else {
            self.attempts += 1;
            Err(RetryError::Failed(e))
        }
    }

    /// An attempt lost a race that it detected itself (it rolled back): `Ok(())` to run it
    /// again, or [`RetryError::Exhausted`].
    pub fn lost_race(&mut self) -> Result<(), RetryError> {
        self.attempts += 1;
        if self.attempts < self.max_attempts {
            Ok(())
        } else {
            Err(RetryError::Exhausted {
                attempts: self.attempts,
            })
        }
    }
}

/// Runs `attempt` until it succeeds, fails with something other than a conflict
/// ([`is_conflict`]), or has been tried `max_attempts` times.
pub async fn retry<T, F, Fut>(max_attempts: usize, mut attempt: F) -> Result<T, RetryError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, tokio_postgres::Error>>,
{
    let mut retry = Retry::new(max_attempts);
    loop {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(e) => retry.failed(e)?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_races_are_retried_up_to_the_limit() {
        let mut retry = Retry::new(3);
        assert!(retry.lost_race().is_ok());
        assert!(retry.lost_race().is_ok());
        assert!(matches!(
            retry.lost_race(),
            Err(RetryError::Exhausted { attempts: 3 })
        ));
        // At least one attempt.
        assert!(matches!(
            Retry::new(0).lost_race(),
            Err(RetryError::Exhausted { attempts: 1 })
        ));
    }
}
