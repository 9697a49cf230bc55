//! msat → units and units → msat at a realistic rate, with a plain `u128` multiply-divide of the
//! same shape measured in the same run as the baseline (BENCHMARKS.md records the ratio).

use criterion::{criterion_group, criterion_main, Criterion};
use rfq_engine::rate;
use rfq_wire::FixedPoint;
use std::hint::black_box;

/// 679 189 000.00 units per BTC: a USD asset with 4 decimals at $67 918.90 (spec §7.6).
const RATE: FixedPoint = FixedPoint::new(67_918_900_000, 2);

/// Amounts spread over realistic payment sizes (1 sat … 0.1 BTC; 1 … 10^7 units).
const MSAT: [u64; 4] = [1_000, 1_472_344, 250_000_000, 10_000_000_000];
const UNITS: [u64; 4] = [1, 10_000, 1_000_000, 10_000_000];

fn convert(c: &mut Criterion) {
    let mut group = c.benchmark_group("convert");
    group.bench_function("baseline_u128_mul_div", |b| {
        b.iter(|| {
            let c = black_box(RATE.coefficient);
            MSAT.map(|m| u128::from(black_box(m)) * c / 10_000_000_000_000)
        })
    });
    group.bench_function("msat_to_units", |b| {
        b.iter(|| MSAT.map(|m| rate::msat_to_units(black_box(m), black_box(RATE))))
    });
    group.bench_function("msat_to_whole_units", |b| {
        b.iter(|| MSAT.map(|m| rate::msat_to_whole_units(black_box(m), black_box(RATE))))
    });
    group.bench_function("units_to_msat", |b| {
        b.iter(|| UNITS.map(|u| rate::whole_units_to_msat(black_box(u), black_box(RATE))))
    });
    group.finish();
}

criterion_group!(benches, convert);
criterion_main!(benches);
