//! A token-bucket rate limiter per key (recipient id) with bounded memory.
//!
//! Each key has a bucket of [`RateLimitConfig::capacity`] tokens that refills by one every
//! [`RateLimitConfig::refill_every`]; a request takes one token or is refused. A bucket that has
//! refilled completely behaves exactly like a key never seen, so such buckets are dropped when
//! room is needed, and at most [`RateLimitConfig::max_keys`] buckets are ever kept: when every
//! one is still in use, new keys are refused ([`Decision::TooManyKeys`]) rather than evicting
//! a busy bucket (which would hand its key a fresh, full bucket).
//!
//! Time is passed in (`now`), never read, so tests drive it.
//! [`StaticInvoiceServer`](crate::StaticInvoiceServer) keeps two limiters, one for persists and
//! one for invoice requests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How a [`RateLimiter`] behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Burst size: tokens in a full bucket (at least 1).
    pub capacity: u32,
    /// One token comes back every this long (at least 1 ns).
    pub refill_every: Duration,
    /// Buckets kept at most.
    pub max_keys: usize,
}

impl Default for RateLimitConfig {
    /// 10 at once, then 1 per 100 ms, for up to 10 000 recipients at a time.
    fn default() -> Self {
        RateLimitConfig {
            capacity: 10,
            refill_every: Duration::from_millis(100),
            max_keys: 10_000,
        }
    }
}

/// The answer of [`RateLimiter::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A token was taken.
    Allowed,
    /// The key's bucket is empty.
    Limited,
    /// The key is new and every tracked bucket is still in use.
    TooManyKeys,
}

impl Decision {
    /// Whether the request may go ahead.
    pub fn is_allowed(self) -> bool {
        self == Decision::Allowed
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Credit in nanoseconds of refill time; one token costs `refill_every`.
    credit: u128,
    last: Instant,
}

/// Token buckets per key. Cheap to share (`&self` methods, one mutex).
#[derive(Debug)]
pub struct RateLimiter {
    capacity: u32,
    per_token: u128,
    full: u128,
    max_keys: usize,
    buckets: Mutex<HashMap<Vec<u8>, Bucket>>,
}

impl RateLimiter {
    /// A limiter with `config` (a zero capacity or refill interval is raised to the minimum).
    pub fn new(config: RateLimitConfig) -> Self {
        let capacity = config.capacity.max(1);
        let per_token = config.refill_every.as_nanos().max(1);
        RateLimiter {
            capacity,
            per_token,
            full: per_token * u128::from(capacity),
            max_keys: config.max_keys,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from `key`'s bucket at time `now`.
    pub fn check(&self, key: &[u8], now: Instant) -> Decision {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = buckets.get_mut(key) {
            let elapsed = now.saturating_duration_since(bucket.last).as_nanos();
            bucket.credit = bucket.credit.saturating_add(elapsed).min(self.full);
            bucket.last = now.max(bucket.last);
            return if bucket.credit >= self.per_token {
                bucket.credit -= self.per_token;
                Decision::Allowed
            } else {
                Decision::Limited
            };
        }
        if buckets.len() >= self.max_keys {
            self.evict_full(&mut buckets, now);
            if buckets.len() >= self.max_keys {
                return Decision::TooManyKeys;
            }
        }
        buckets.insert(
            key.to_vec(),
            Bucket {
                credit: self.full - self.per_token,
                last: now,
            },
        );
        Decision::Allowed
    }

    /// Drops every bucket that has refilled completely by `now` (they behave like unseen keys).
    /// [`RateLimiter::check`] does this on its own when it needs room.
    pub fn evict_idle(&self, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        self.evict_full(&mut buckets, now);
    }

    fn evict_full(&self, buckets: &mut HashMap<Vec<u8>, Bucket>, now: Instant) {
        buckets.retain(|_, b| {
            let elapsed = now.saturating_duration_since(b.last).as_nanos();
            b.credit.saturating_add(elapsed) < self.full
        });
    }

    /// Buckets currently kept.
    pub fn tracked_keys(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The burst size.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }
}
