//! Quote insert throughput (criterion reports quotes/s): `SqliteQuoteStore` on a file in a
//! temporary directory, one insert at a time and 64 at once (group commit), against a raw
//! rusqlite `INSERT` of the same row with the same pragmas, measured in the same run (alone,
//! and 64 to one transaction, the ideal the group commit approaches). When
//! `LNEDGE_TEST_POSTGRES_URL` is set (`scripts/with-postgres cargo bench -p rfq-engine --bench
//! store`), `PostgresQuoteStore` too, against a raw tokio-postgres `INSERT`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rfq_engine::{
    PostgresOptions, PostgresQuoteStore, QuoteKind, QuoteStore, SqliteQuoteStore, StoredQuote,
};
use rfq_wire::{
    AssetId, AssetSpecifier, BuyAccept, BuyRequest, ExecutionPolicy, FixedPoint, Metadata,
    QuoteSignature, RfqId,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

/// Quotes stored at once in the concurrent benchmarks.
const CONCURRENCY: u64 = 64;

static NEXT: AtomicU64 = AtomicU64::new(1);

/// A realistic Sale quote with a new id (and SCID) on every call.
fn next_quote() -> StoredQuote {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut bytes = [0x5a; 32];
    bytes[24..].copy_from_slice(&n.to_be_bytes());
    let id = RfqId(bytes);
    let asset = AssetSpecifier::AssetId(AssetId([0x11; 32]));
    let rate = FixedPoint::new(67_918_900_000, 2);
    let expiry = 1_700_000_600;
    StoredQuote {
        id,
        peer: [0x02; 33],
        kind: QuoteKind::Sale,
        asset,
        rate,
        expiry,
        max_amount: 10_000_000,
        min_amount: None,
        request: BuyRequest {
            id,
            expiry,
            asset,
            max_units: 10_000_000,
            min_units: None,
            rate_hint: Some(rate),
            rate_limit: None,
            execution_policy: ExecutionPolicy::ImmediateOrCancel,
            metadata: Metadata::default(),
        }
        .into(),
        accept: BuyAccept {
            id,
            expiry,
            rate,
            fill_units: None,
            signature: QuoteSignature::ZERO,
        }
        .into(),
        created_at: 1_700_000_000,
    }
}

/// The row as the store writes it (see `store/row.rs`), for the raw baselines.
struct RawRow {
    id: Vec<u8>,
    scid: i64,
    asset: Vec<u8>,
    rate: Vec<u8>,
    request: Vec<u8>,
    accept: Vec<u8>,
}

fn raw_row(q: &StoredQuote) -> RawRow {
    RawRow {
        id: q.id.0.to_vec(),
        scid: q.scid().0 as i64,
        asset: AssetSpecifier::balance_id(&q.asset).to_vec(),
        rate: q.rate.coefficient.to_be_bytes().to_vec(),
        request: q.request.encode(),
        accept: q.accept.encode(),
    }
}

const INSERT: &str = "INSERT INTO rfq_quotes (id, scid, peer, kind, asset, rate_coefficient, \
                      rate_scale, expiry, max_amount, min_amount, request, accept, created_at) \
                      VALUES ";

fn sqlite_raw_insert(conn: &rusqlite::Connection, q: &StoredQuote) {
    let r = raw_row(q);
    conn.prepare_cached(&format!(
        "{INSERT} (?1, ?2, ?3, 0, ?4, ?5, 2, ?6, ?7, NULL, ?8, ?9, ?10)"
    ))
    .unwrap()
    .execute(rusqlite::params![
        r.id,
        r.scid,
        q.peer.as_slice(),
        r.asset,
        r.rate,
        q.expiry as i64,
        q.max_amount as i64,
        r.request,
        r.accept,
        q.created_at as i64
    ])
    .unwrap();
}

/// Stores `iters` quotes with `CONCURRENCY` tasks at once; returns the time taken.
fn concurrent(rt: &Runtime, store: &Arc<dyn QuoteStore>, iters: u64) -> Duration {
    let quotes: Vec<StoredQuote> = (0..iters).map(|_| next_quote()).collect();
    rt.block_on(async {
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for chunk in quotes.chunks(iters.div_ceil(CONCURRENCY).max(1) as usize) {
            let (store, chunk) = (store.clone(), chunk.to_vec());
            tasks.spawn(async move {
                for q in &chunk {
                    store.insert_quote(q).await.unwrap();
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        start.elapsed()
    })
}

fn sqlite(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

    let raw_path = dir.path().join("raw.sqlite");
    drop(SqliteQuoteStore::open(&raw_path).unwrap());
    let raw = rusqlite::Connection::open(&raw_path).unwrap();
    raw.pragma_update(None, "journal_mode", "WAL").unwrap();
    raw.pragma_update(None, "synchronous", "FULL").unwrap();

    let store: Arc<dyn QuoteStore> =
        Arc::new(SqliteQuoteStore::open(dir.path().join("store.sqlite")).unwrap());

    let mut group = c.benchmark_group("store_insert_sqlite");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("baseline_raw_rusqlite_insert", |b| {
        b.iter(|| sqlite_raw_insert(&raw, &next_quote()))
    });
    group.bench_function("baseline_raw_rusqlite_64_per_transaction", |b| {
        b.iter_custom(|iters| {
            let quotes: Vec<StoredQuote> = (0..iters).map(|_| next_quote()).collect();
            let start = Instant::now();
            for chunk in quotes.chunks(CONCURRENCY as usize) {
                raw.execute_batch("BEGIN IMMEDIATE").unwrap();
                for q in chunk {
                    sqlite_raw_insert(&raw, q);
                }
                raw.execute_batch("COMMIT").unwrap();
            }
            start.elapsed()
        })
    });
    group.bench_function("store_insert", |b| {
        b.iter(|| rt.block_on(store.insert_quote(&next_quote())).unwrap())
    });
    group.bench_function("store_insert_64_concurrent", |b| {
        b.iter_custom(|iters| concurrent(&rt, &store, iters))
    });
    group.finish();
}

fn postgres(c: &mut Criterion) {
    let Ok(url) = std::env::var("LNEDGE_TEST_POSTGRES_URL") else {
        eprintln!("LNEDGE_TEST_POSTGRES_URL is not set: skipping the PostgreSQL benchmarks");
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let schema = format!("bench_{}", std::process::id());
    let store: Arc<dyn QuoteStore> = Arc::new(
        rt.block_on(PostgresQuoteStore::connect_with(
            &url,
            PostgresOptions {
                pool_size: 4,
                schema: Some(schema.clone()),
            },
        ))
        .unwrap(),
    );
    let (raw, insert) = rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!("SET search_path TO {schema}"))
            .await
            .unwrap();
        let insert = client
            .prepare(&format!(
                "{INSERT} ($1, $2, $3, 0, $4, $5, 2, $6, $7, NULL, $8, $9, $10)"
            ))
            .await
            .unwrap();
        (client, insert)
    });

    let mut group = c.benchmark_group("store_insert_postgres");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("baseline_raw_tokio_postgres_insert", |b| {
        b.iter(|| {
            let q = next_quote();
            let r = raw_row(&q);
            rt.block_on(raw.execute(
                &insert,
                &[
                    &r.id,
                    &r.scid,
                    &q.peer.as_slice(),
                    &r.asset,
                    &r.rate,
                    &(q.expiry as i64),
                    &(q.max_amount as i64),
                    &r.request,
                    &r.accept,
                    &(q.created_at as i64),
                ],
            ))
            .unwrap()
        })
    });
    group.bench_function("store_insert", |b| {
        b.iter(|| rt.block_on(store.insert_quote(&next_quote())).unwrap())
    });
    group.bench_function("store_insert_64_concurrent", |b| {
        b.iter_custom(|iters| concurrent(&rt, &store, iters))
    });
    group.finish();

    rt.block_on(raw.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")))
        .unwrap();
}

criterion_group!(benches, sqlite, postgres);
criterion_main!(benches);
