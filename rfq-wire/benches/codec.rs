//! Decode and encode of every RFQ message vector, with LDK's own `UpdateAddHTLC` decode and
//! encode measured in the same run as the per-byte baseline (BENCHMARKS.md records the ratio).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lightning::ln::msgs::{UpdateAddHTLC, UpdateFulfillHTLC};
use lightning::util::ser::{LengthReadable, Writeable};
use rfq_wire::{HtlcRecords, RfqMessage};
use std::hint::black_box;

const VECTORS: [(&str, u16); 9] = [
    ("derived-buy-request", 52884),
    ("derived-sell-request", 52884),
    ("tapd-v0.8-request", 52884),
    ("derived-buy-accept", 52885),
    ("derived-sell-accept", 52885),
    ("tapd-v0.8-accept", 52885),
    ("derived-reject", 52886),
    ("tapd-v0.8-reject", 52886),
    ("tapd-v0.8-htlc", 0),
];

fn vector(name: &str) -> Vec<u8> {
    let path = format!("{}/testdata/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    bitcoin::hex::FromHex::from_hex(std::fs::read_to_string(path).unwrap().trim()).unwrap()
}

/// A realistic `update_add_htlc`: fixed fields and a full 1366-byte onion packet.
fn update_add_htlc_bytes() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&[7u8; 32]); // channel_id
    b.extend_from_slice(&42u64.to_be_bytes()); // htlc_id
    b.extend_from_slice(&354_000u64.to_be_bytes()); // amount_msat
    b.extend_from_slice(&[9u8; 32]); // payment_hash
    b.extend_from_slice(&800_144u32.to_be_bytes()); // cltv_expiry
    b.push(0); // onion version
    let g = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
    let g: Vec<u8> = bitcoin::hex::FromHex::from_hex(g).unwrap();
    b.extend_from_slice(&g); // onion public key
    b.extend((0..1300u32).map(|i| (i * 31) as u8)); // hop data
    b.extend_from_slice(&[5u8; 32]); // hmac
    b
}

fn rfq(c: &mut Criterion) {
    for (name, ty) in VECTORS {
        let data = vector(name);
        let mut group = c.benchmark_group(format!("rfq/{name}"));
        group.throughput(Throughput::Bytes(data.len() as u64));
        if ty == 0 {
            let records = HtlcRecords::decode(&data).unwrap();
            group.bench_function("decode", |b| {
                b.iter(|| HtlcRecords::decode(black_box(&data)).unwrap())
            });
            let mut out = Vec::with_capacity(256);
            group.bench_function("encode", |b| {
                b.iter(|| {
                    out.clear();
                    black_box(&records).encode_into(&mut out);
                    black_box(out.len())
                })
            });
        } else {
            let message = RfqMessage::decode_data(ty, &data).unwrap();
            group.bench_function("decode", |b| {
                b.iter(|| RfqMessage::decode_data(black_box(ty), black_box(&data)).unwrap())
            });
            let mut out = Vec::with_capacity(256);
            group.bench_function("encode", |b| {
                b.iter(|| {
                    out.clear();
                    black_box(&message).encode_data_into(&mut out);
                    black_box(out.len())
                })
            });
        }
        group.finish();
    }
}

fn ldk_baseline(c: &mut Criterion) {
    let bytes = update_add_htlc_bytes();
    let msg = UpdateAddHTLC::read_from_fixed_length_buffer(&mut &bytes[..])
        .expect("valid update_add_htlc");
    assert_eq!(msg.encode(), bytes, "the baseline message round-trips");
    let mut group = c.benchmark_group("ldk/update_add_htlc");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("decode", |b| {
        b.iter(|| UpdateAddHTLC::read_from_fixed_length_buffer(&mut black_box(&bytes[..])).unwrap())
    });
    let mut out = Vec::with_capacity(2048);
    group.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(&msg).write(&mut out).unwrap();
            black_box(out.len())
        })
    });
    group.finish();

    // A small fixed-field message (72 bytes), closer in size to the RFQ messages.
    let mut small = vec![7u8; 32];
    small.extend_from_slice(&42u64.to_be_bytes());
    small.extend_from_slice(&[9u8; 32]);
    let fulfill = UpdateFulfillHTLC::read_from_fixed_length_buffer(&mut &small[..]).unwrap();
    assert_eq!(fulfill.encode(), small, "the small baseline round-trips");
    let mut group = c.benchmark_group("ldk/update_fulfill_htlc");
    group.throughput(Throughput::Bytes(small.len() as u64));
    group.bench_function("decode", |b| {
        b.iter(|| {
            UpdateFulfillHTLC::read_from_fixed_length_buffer(&mut black_box(&small[..])).unwrap()
        })
    });
    group.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(&fulfill).write(&mut out).unwrap();
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, rfq, ldk_baseline);
criterion_main!(benches);
