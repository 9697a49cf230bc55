//! The token-bucket limiter: bursts, refill, per-key isolation, bounded memory, injected time.

use async_offers::rate_limit::{Decision, RateLimitConfig, RateLimiter};
use std::time::{Duration, Instant};

fn limiter(capacity: u32, refill_ms: u64, max_keys: usize) -> RateLimiter {
    RateLimiter::new(RateLimitConfig {
        capacity,
        refill_every: Duration::from_millis(refill_ms),
        max_keys,
    })
}

#[test]
fn burst_then_refill() {
    let l = limiter(3, 100, 10);
    let t0 = Instant::now();
    for _ in 0..3 {
        assert_eq!(l.check(b"a", t0), Decision::Allowed);
    }
    assert_eq!(l.check(b"a", t0), Decision::Limited);
    assert_eq!(
        l.check(b"a", t0 + Duration::from_millis(99)),
        Decision::Limited
    );
    assert_eq!(
        l.check(b"a", t0 + Duration::from_millis(100)),
        Decision::Allowed
    );
    assert_eq!(
        l.check(b"a", t0 + Duration::from_millis(100)),
        Decision::Limited
    );
    // A long pause refills to capacity, never beyond.
    let later = t0 + Duration::from_secs(3600);
    for _ in 0..3 {
        assert!(l.check(b"a", later).is_allowed());
    }
    assert_eq!(l.check(b"a", later), Decision::Limited);
}

#[test]
fn keys_are_independent() {
    let l = limiter(1, 1000, 10);
    let t0 = Instant::now();
    assert!(l.check(b"a", t0).is_allowed());
    assert_eq!(l.check(b"a", t0), Decision::Limited);
    assert!(l.check(b"b", t0).is_allowed());
}

#[test]
fn time_going_backwards_grants_nothing() {
    let l = limiter(1, 100, 10);
    let t0 = Instant::now() + Duration::from_secs(10);
    assert!(l.check(b"a", t0).is_allowed());
    assert_eq!(
        l.check(b"a", t0 - Duration::from_secs(5)),
        Decision::Limited
    );
    assert_eq!(
        l.check(b"a", t0 + Duration::from_millis(50)),
        Decision::Limited
    );
    assert!(l.check(b"a", t0 + Duration::from_millis(100)).is_allowed());
}

#[test]
fn memory_is_bounded_and_busy_buckets_are_not_evicted() {
    let l = limiter(2, 100, 3);
    let t0 = Instant::now();
    for k in [b"a", b"b", b"c"] {
        assert!(l.check(k, t0).is_allowed());
    }
    assert_eq!(l.tracked_keys(), 3);
    // Every bucket is still refilling: a fourth key is refused, nobody is evicted.
    assert_eq!(l.check(b"d", t0), Decision::TooManyKeys);
    assert_eq!(l.tracked_keys(), 3);
    // Once buckets have refilled they are equivalent to unseen keys and make room.
    let later = t0 + Duration::from_millis(100);
    assert!(l.check(b"d", later).is_allowed());
    assert_eq!(l.tracked_keys(), 1);
    // "a" was evicted full, so it comes back with a full bucket, exactly as before eviction.
    assert!(l.check(b"a", later).is_allowed());
    assert!(l.check(b"a", later).is_allowed());
    assert_eq!(l.check(b"a", later), Decision::Limited);
}

#[test]
fn idle_eviction() {
    let l = limiter(5, 10, 100);
    let t0 = Instant::now();
    for i in 0..50u8 {
        l.check(&[i], t0);
    }
    assert_eq!(l.tracked_keys(), 50);
    l.evict_idle(t0 + Duration::from_millis(5));
    assert_eq!(l.tracked_keys(), 50);
    l.evict_idle(t0 + Duration::from_millis(10));
    assert_eq!(l.tracked_keys(), 0);
}

#[test]
fn zero_config_is_raised_to_the_minimum() {
    let l = RateLimiter::new(RateLimitConfig {
        capacity: 0,
        refill_every: Duration::ZERO,
        max_keys: 1,
    });
    assert_eq!(l.capacity(), 1);
    assert!(l.check(b"a", Instant::now()).is_allowed());
}
