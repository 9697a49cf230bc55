//! `check_htlc` with 1 000 000 active policies, against a plain `HashMap<u64, u64>` lookup of
//! the same size in the same run; and the heap bytes one policy costs, counted by a wrapping
//! global allocator (printed as `memory/policy`).

use criterion::{criterion_group, criterion_main, Criterion};
use rfq_engine::quote::{CircuitKey, QuoteKind, StoredQuote};
use rfq_engine::store::SqliteQuoteStore;
use rfq_engine::{HtlcDecision, HtlcView, OrderManager};
use rfq_wire::{
    AssetId, AssetSpecifier, BuyAccept, BuyRequest, ExecutionPolicy, FixedPoint, Metadata,
    QuoteAccept, QuoteRequest, QuoteSignature, RfqId,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;

/// Counts live heap bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// 1 000 000 when benchmarking; `cargo test --all-targets` runs benches once in test mode,
/// where a small set keeps the suite quick.
fn policies() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        1_000_000
    } else {
        10_000
    }
}
const NOW: u64 = 1_800_000_000;
const RATE: FixedPoint = FixedPoint::new(10_000_000, 0);

fn quote(n: u64) -> StoredQuote {
    let mut entropy = [0u8; 32];
    entropy[..8].copy_from_slice(&n.to_be_bytes());
    entropy[24..].copy_from_slice(&n.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    let id = RfqId::with_alias_scid(entropy);
    let asset = AssetSpecifier::AssetId(AssetId([0x22; 32]));
    StoredQuote {
        id,
        peer: [2; 33],
        kind: QuoteKind::Sale,
        asset,
        rate: RATE,
        expiry: NOW + 3_600,
        max_amount: 1_000_000,
        min_amount: None,
        request: QuoteRequest::from(BuyRequest {
            id,
            expiry: NOW + 3_600,
            asset,
            max_units: 1_000_000,
            min_units: None,
            rate_hint: None,
            rate_limit: None,
            execution_policy: ExecutionPolicy::ImmediateOrCancel,
            metadata: Metadata::default(),
        }),
        accept: QuoteAccept::from(BuyAccept {
            id,
            expiry: NOW + 3_600,
            rate: RATE,
            fill_units: None,
            signature: QuoteSignature::ZERO,
        }),
        created_at: NOW,
    }
}

fn check_htlc(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = Arc::new(SqliteQuoteStore::open_in_memory().unwrap());
    let orders = rt.block_on(OrderManager::load(store, NOW)).unwrap();
    let count = policies();
    let mut scids = Vec::with_capacity(count);
    let before = LIVE.load(Ordering::Relaxed);
    for n in 0..count as u64 {
        let q = quote(n);
        scids.push(q.scid().0);
        // Memory only: the store is not what is measured here.
        orders.register(&q);
    }
    let per_policy = (LIVE.load(Ordering::Relaxed) - before) as f64 / count as f64;
    // The scids vector is 8 bytes per policy and not part of the manager.
    println!(
        "memory/policy: {:.0} bytes ({} policies)",
        per_policy - 8.0,
        orders.policy_count()
    );

    let mut baseline: HashMap<u64, u64> = HashMap::with_capacity(count);
    for (i, scid) in scids.iter().enumerate() {
        baseline.insert(*scid, i as u64);
    }

    let mut group = c.benchmark_group("orders");
    let mut i = 0usize;
    group.bench_function("check_htlc_1m_policies", |b| {
        b.iter(|| {
            i = (i + 7_919) % count;
            let circuit = CircuitKey {
                channel: [1; 32],
                htlc_id: i as u64,
            };
            let htlc = HtlcView {
                incoming_scid: 1,
                outgoing_scid: scids[i],
                incoming_msat: 1_001_000,
                outgoing_msat: 1_000_000,
                records: None,
                circuit,
                now: NOW,
            };
            let decision = orders.check_htlc(black_box(&htlc));
            debug_assert!(matches!(decision, HtlcDecision::Forward(_)));
            orders.release_local(&circuit);
            decision
        })
    });
    let mut j = 0usize;
    group.bench_function("baseline_hashmap_lookup_1m", |b| {
        b.iter(|| {
            j = (j + 7_919) % count;
            black_box(baseline.get(black_box(&scids[j])).copied())
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = check_htlc
}
criterion_main!(benches);
