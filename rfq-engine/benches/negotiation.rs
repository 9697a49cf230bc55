//! Responder negotiation throughput: decode a buy request, price it with `FixedRateOracle`,
//! check constraints, persist the quote, encode the accept — against SQLite (a WAL file) and,
//! when `LNEDGE_TEST_POSTGRES_URL` is set, PostgreSQL. The baseline in the same run is the
//! store's `insert_quote` alone, so the ratio shows what negotiation adds to persistence.

use criterion::{criterion_group, criterion_main, Criterion};
use rfq_engine::oracle::{BidAsk, FixedRateOracle};
use rfq_engine::quote::StoredQuote;
use rfq_engine::store::{PostgresOptions, PostgresQuoteStore, QuoteStore, SqliteQuoteStore};
use rfq_engine::{BuyOrder, Handled, Negotiator, NegotiatorConfig, OrderManager};
use rfq_wire::{AssetId, AssetSpecifier, ExecutionPolicy, FixedPoint, Metadata, RfqMessage};
use std::sync::Arc;
use std::time::{Duration, Instant};

const NOW: u64 = 1_800_000_000;
const USD: AssetSpecifier = AssetSpecifier::AssetId(AssetId([0x22; 32]));

fn order() -> BuyOrder {
    BuyOrder {
        asset: USD,
        max_units: 1_000,
        min_units: None,
        rate_floor: None,
        execution_policy: ExecutionPolicy::ImmediateOrCancel,
        rate_hint: None,
        metadata: Metadata::default(),
    }
}

fn entropy(n: u64) -> [u8; 32] {
    let mut e = [0u8; 32];
    e[..8].copy_from_slice(&n.to_be_bytes());
    e[24..].copy_from_slice(&n.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    e
}

fn bench_store(
    c: &mut Criterion,
    name: &str,
    rt: &tokio::runtime::Runtime,
    store: Arc<dyn QuoteStore>,
) {
    let orders = Arc::new(rt.block_on(OrderManager::load(store.clone(), NOW)).unwrap());
    let oracle = FixedRateOracle::new(Duration::from_secs(300), Arc::new(|| NOW))
        .with_asset(
            USD,
            BidAsk {
                bid: FixedPoint::new(10_100_000, 0),
                ask: FixedPoint::new(10_000_000, 0),
            },
        )
        .unwrap();
    let edge = Negotiator::new(Some(Arc::new(oracle)), orders, NegotiatorConfig::default());
    // Requests come from a wallet negotiator, encoded as a peer would send them.
    let wallet = Negotiator::new(
        None,
        Arc::new(
            rt.block_on(OrderManager::load(
                Arc::new(SqliteQuoteStore::open_in_memory().unwrap()),
                NOW,
            ))
            .unwrap(),
        ),
        NegotiatorConfig::default(),
    );
    let mut n = 0u64;
    let mut group = c.benchmark_group(format!("negotiation/{name}"));
    group.sample_size(20);
    group.bench_function("responder_accept", |b| {
        b.iter_custom(|iters| {
            let payloads: Vec<Vec<u8>> = (0..iters)
                .map(|_| {
                    n += 1;
                    RfqMessage::Request(wallet.request_buy([3; 33], order(), NOW, entropy(n)))
                        .encode_payload()
                })
                .collect();
            let start = Instant::now();
            rt.block_on(async {
                for payload in &payloads {
                    let msg = RfqMessage::decode_payload(payload).unwrap();
                    match edge.handle([2; 33], &msg, NOW).await {
                        Handled::Reply(reply @ RfqMessage::Accept(_)) => {
                            std::hint::black_box(reply.encode_payload());
                        }
                        other => panic!("expected an accept, got {other:?}"),
                    }
                }
            });
            start.elapsed()
        })
    });
    // Baseline: persisting an equivalent quote directly.
    let template: StoredQuote = rt
        .block_on(edge.orders().quotes())
        .unwrap()
        .into_iter()
        .next()
        .expect("the responder stored quotes");
    group.bench_function("baseline_insert_quote", |b| {
        b.iter_custom(|iters| {
            let quotes: Vec<StoredQuote> = (0..iters)
                .map(|_| {
                    n += 1;
                    let mut q = template.clone();
                    q.id = rfq_wire::RfqId::with_alias_scid(entropy(n));
                    q
                })
                .collect();
            let start = Instant::now();
            rt.block_on(async {
                for q in &quotes {
                    store.insert_quote(q).await.unwrap();
                }
            });
            start.elapsed()
        })
    });
    group.finish();
}

fn negotiation(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Arc::new(SqliteQuoteStore::open(dir.path().join("bench.sqlite")).unwrap());
    bench_store(c, "sqlite", &rt, sqlite);
    if let Ok(url) = std::env::var("LNEDGE_TEST_POSTGRES_URL") {
        let schema = format!("bench_negotiation_{}", std::process::id());
        let pg = rt
            .block_on(PostgresQuoteStore::connect_with(
                &url,
                PostgresOptions {
                    schema: Some(schema),
                    ..Default::default()
                },
            ))
            .unwrap();
        bench_store(c, "postgres", &rt, Arc::new(pg));
    } else {
        println!("negotiation/postgres skipped: LNEDGE_TEST_POSTGRES_URL is not set");
    }
}

criterion_group!(benches, negotiation);
criterion_main!(benches);
