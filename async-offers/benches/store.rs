//! Static invoice lookups and persists with 1 000 000 stored invoices (100 000 recipients × 10
//! slots), against baselines measured in the same run:
//!
//! - lookup: `get_invoice_bytes` (the store's lookup) against a raw rusqlite primary-key
//!   `SELECT` of the same columns on the same table; `get_invoice` (lookup plus LDK's decoding,
//!   which verifies the invoice signature) against that raw select plus the same LDK decoding;
//!   criterion medians, plus p50/p99 from a sampled loop of single lookups, printed as
//!   `percentiles ...` lines;
//! - persist: `persist_invoice` (replacing a filled slot: LDK's invoice refresh), one at a time
//!   and with 64 concurrent callers, against a raw rusqlite upsert committed on its own.
//!
//! When `LNEDGE_TEST_POSTGRES_URL` is set (`scripts/with-postgres cargo bench -p async-offers`),
//! the same on PostgreSQL against raw tokio-postgres statements.
//!
//! Filling uses batched transactions outside the store. `cargo test --all-targets` runs this in
//! test mode (no `--bench` argument): then 1 000 invoices and a short percentile loop.

#[path = "../tests/common/ldk.rs"]
mod ldk;

use async_offers::store::{
    PostgresOptions, PostgresStaticInvoiceStore, SqliteStaticInvoiceStore, StaticInvoiceStore,
    StoreLimits, StoredInvoice,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lightning::blinded_path::message::BlindedMessagePath;
use lightning::offers::static_invoice::StaticInvoice;
use lightning::util::ser::{Readable, Writeable};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;

const SLOTS: u64 = 10;
const NOW: u64 = 1_700_000_000;
const CONCURRENCY: u64 = 64;

fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Stored invoices: 1 000 000 when benchmarking, 1 000 in test mode.
fn invoices() -> u64 {
    if bench_mode() {
        1_000_000
    } else {
        1_000
    }
}

fn samples() -> usize {
    if bench_mode() {
        20_000
    } else {
        100
    }
}

fn recipient_id(r: u64) -> Vec<u8> {
    let mut id = b"bench-recipient-".to_vec();
    id.extend_from_slice(&r.to_be_bytes());
    id
}

/// A cheap deterministic sequence of keys spread over the whole table.
struct Keys(u64);

impl Keys {
    fn next(&mut self, n: u64) -> (Vec<u8>, u16) {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let i = (self.0 >> 16) % n;
        (recipient_id(i / SLOTS), (i % SLOTS) as u16)
    }
}

struct Sample {
    invoice: StaticInvoice,
    path: BlindedMessagePath,
    invoice_bytes: Vec<u8>,
    path_bytes: Vec<u8>,
}

fn sample() -> Sample {
    let recipient = ldk::Recipient::new(7, 1, None);
    let invoice = recipient.invoice(NOW, 30 * 86_400);
    let path = ldk::server_path(&ldk::TestEntropy::new(3), 1, 1, b"request path");
    Sample {
        invoice_bytes: invoice.encode(),
        path_bytes: path.encode(),
        invoice,
        path,
    }
}

fn stored(s: &Sample, key: (Vec<u8>, u16)) -> StoredInvoice {
    StoredInvoice::new(key.0, key.1, s.invoice.clone(), s.path.clone(), NOW)
}

fn percentiles(name: &str, mut ns: Vec<u128>) {
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)] as f64 / 1000.0;
    println!(
        "percentiles {name}: n={} p50={:.1}µs p99={:.1}µs max={:.1}µs",
        ns.len(),
        at(0.50),
        at(0.99),
        at(1.0)
    );
}

fn limits() -> StoreLimits {
    StoreLimits {
        default_slot_quota: SLOTS as u16,
        max_recipients: u64::MAX >> 1,
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Persists `iters` replacements with `CONCURRENCY` tasks at once; returns the time taken.
fn concurrent(
    rt: &Runtime,
    store: &Arc<dyn StaticInvoiceStore>,
    s: &Sample,
    keys: &mut Keys,
    n: u64,
    iters: u64,
) -> Duration {
    let batch: Vec<StoredInvoice> = (0..iters).map(|_| stored(s, keys.next(n))).collect();
    rt.block_on(async {
        let start = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for chunk in batch.chunks(iters.div_ceil(CONCURRENCY).max(1) as usize) {
            let (store, chunk) = (store.clone(), chunk.to_vec());
            tasks.spawn(async move {
                for i in &chunk {
                    store.persist_invoice(i).await.unwrap();
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
    let rt = runtime();
    let s = sample();
    let n = invoices();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("invoices.sqlite");
    drop(SqliteStaticInvoiceStore::open_with(&path, limits()).unwrap());

    // Fill in batched transactions on a raw connection.
    let started = Instant::now();
    let mut raw = rusqlite::Connection::open(&path).unwrap();
    raw.pragma_update(None, "synchronous", "FULL").unwrap();
    let recipients = n.div_ceil(SLOTS);
    for chunk_start in (0..recipients).step_by(10_000) {
        let tx = raw.transaction().unwrap();
        {
            let mut rec = tx
                .prepare("INSERT INTO ao_recipients (id, label, slot_quota, revoked, registered_at) VALUES (?1, 'bench', NULL, 0, ?2)")
                .unwrap();
            let mut inv = tx
                .prepare("INSERT INTO ao_invoices (recipient_id, slot, invoice, request_path, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .unwrap();
            for r in chunk_start..(chunk_start + 10_000).min(recipients) {
                let id = recipient_id(r);
                rec.execute(rusqlite::params![id, NOW as i64]).unwrap();
                for slot in 0..SLOTS.min(n - r * SLOTS) {
                    inv.execute(rusqlite::params![
                        id,
                        slot as i64,
                        s.invoice_bytes,
                        s.path_bytes,
                        NOW as i64,
                        (NOW + 30 * 86_400) as i64
                    ])
                    .unwrap();
                }
            }
        }
        tx.commit().unwrap();
    }
    println!(
        "sqlite: filled {n} invoices ({} B invoice, {} B path) in {:.1}s",
        s.invoice_bytes.len(),
        s.path_bytes.len(),
        started.elapsed().as_secs_f64()
    );

    let store: Arc<dyn StaticInvoiceStore> =
        Arc::new(SqliteStaticInvoiceStore::open_with(&path, limits()).unwrap());
    assert_eq!(rt.block_on(store.invoice_count()).unwrap(), n);

    const SELECT: &str = "SELECT recipient_id, slot, invoice, request_path, created_at, \
                          expires_at FROM ao_invoices WHERE recipient_id = ?1 AND slot = ?2";
    type RawRow = (Vec<u8>, i64, Vec<u8>, Vec<u8>, i64, i64);
    let raw_lookup = |conn: &rusqlite::Connection, key: &(Vec<u8>, u16)| -> RawRow {
        conn.prepare_cached(SELECT)
            .unwrap()
            .query_row(rusqlite::params![key.0, key.1], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .unwrap()
    };

    // Percentiles of single lookups, keys spread over the table.
    let mut keys = Keys(1);
    let (mut raw_ns, mut bytes_ns, mut store_ns) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..samples() {
        let key = keys.next(n);
        let t = Instant::now();
        std::hint::black_box(raw_lookup(&raw, &key));
        raw_ns.push(t.elapsed().as_nanos());
        let key = keys.next(n);
        let t = Instant::now();
        let got = rt.block_on(store.get_invoice_bytes(&key.0, key.1)).unwrap();
        bytes_ns.push(t.elapsed().as_nanos());
        assert!(got.is_some());
        let key = keys.next(n);
        let t = Instant::now();
        let got = rt.block_on(store.get_invoice(&key.0, key.1)).unwrap();
        store_ns.push(t.elapsed().as_nanos());
        assert!(got.is_some());
    }
    percentiles("sqlite raw_rusqlite_pk_lookup", raw_ns);
    percentiles("sqlite store_get_invoice_bytes", bytes_ns);
    percentiles("sqlite store_get_invoice (with LDK decode)", store_ns);

    let mut group = c.benchmark_group("async_offers_sqlite_lookup");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let mut keys = Keys(2);
    group.bench_function("baseline_raw_rusqlite_pk_lookup", |b| {
        b.iter(|| raw_lookup(&raw, &keys.next(n)))
    });
    group.bench_function("baseline_raw_lookup_plus_ldk_decode", |b| {
        b.iter(|| {
            let row = raw_lookup(&raw, &keys.next(n));
            let invoice = StaticInvoice::try_from(row.2).unwrap();
            let path = BlindedMessagePath::read(&mut row.3.as_slice()).unwrap();
            (invoice, path)
        })
    });
    group.bench_function("store_get_invoice_bytes", |b| {
        b.iter(|| {
            let key = keys.next(n);
            rt.block_on(store.get_invoice_bytes(&key.0, key.1)).unwrap()
        })
    });
    group.bench_function("store_get_invoice", |b| {
        b.iter(|| {
            let key = keys.next(n);
            rt.block_on(store.get_invoice(&key.0, key.1)).unwrap()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("async_offers_sqlite_persist");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("baseline_raw_rusqlite_upsert", |b| {
        b.iter(|| {
            let key = keys.next(n);
            raw.prepare_cached(
                "INSERT INTO ao_invoices (recipient_id, slot, invoice, request_path, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (recipient_id, slot) DO UPDATE SET \
                 invoice = excluded.invoice, request_path = excluded.request_path, \
                 created_at = excluded.created_at, expires_at = excluded.expires_at",
            )
            .unwrap()
            .execute(rusqlite::params![
                key.0,
                key.1,
                s.invoice_bytes,
                s.path_bytes,
                NOW as i64,
                (NOW + 30 * 86_400) as i64
            ])
            .unwrap()
        })
    });
    group.bench_function("store_persist_invoice", |b| {
        b.iter(|| {
            let i = stored(&s, keys.next(n));
            rt.block_on(store.persist_invoice(&i)).unwrap()
        })
    });
    group.bench_function("store_persist_invoice_64_concurrent", |b| {
        b.iter_custom(|iters| concurrent(&rt, &store, &s, &mut keys, n, iters))
    });
    group.finish();
}

fn postgres(c: &mut Criterion) {
    let Ok(url) = std::env::var("LNEDGE_TEST_POSTGRES_URL") else {
        eprintln!("LNEDGE_TEST_POSTGRES_URL is not set: skipping the PostgreSQL benchmarks");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = sample();
    let n = invoices();
    let schema = format!("bench_async_offers_{}", std::process::id());
    let store: Arc<dyn StaticInvoiceStore> = Arc::new(
        rt.block_on(PostgresStaticInvoiceStore::connect(
            &url,
            PostgresOptions {
                pool_size: 4,
                schema: Some(schema.clone()),
                limits: limits(),
            },
        ))
        .unwrap(),
    );
    let (raw, select, upsert) = rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!("SET search_path TO {schema}"))
            .await
            .unwrap();
        // Fill with multi-row inserts from arrays, 10 000 recipients per transaction.
        let started = Instant::now();
        let recipients = n.div_ceil(SLOTS);
        for chunk_start in (0..recipients).step_by(10_000) {
            let ids: Vec<Vec<u8>> = (chunk_start..(chunk_start + 10_000).min(recipients))
                .map(recipient_id)
                .collect();
            let mut inv_ids = Vec::new();
            let mut slots = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                let r = chunk_start + i as u64;
                for slot in 0..SLOTS.min(n - r * SLOTS) {
                    inv_ids.push(id.clone());
                    slots.push(slot as i32);
                }
            }
            client
                .batch_execute("BEGIN")
                .await
                .unwrap();
            client
                .execute(
                    "INSERT INTO ao_recipients (id, label, registered_at) \
                     SELECT id, 'bench', $2 FROM unnest($1::bytea[]) AS id",
                    &[&ids, &(NOW as i64)],
                )
                .await
                .unwrap();
            client
                .execute(
                    "INSERT INTO ao_invoices (recipient_id, slot, invoice, request_path, created_at, expires_at) \
                     SELECT r, s, $3, $4, $5, $6 FROM unnest($1::bytea[], $2::int[]) AS t(r, s)",
                    &[
                        &inv_ids,
                        &slots,
                        &s.invoice_bytes,
                        &s.path_bytes,
                        &(NOW as i64),
                        &((NOW + 30 * 86_400) as i64),
                    ],
                )
                .await
                .unwrap();
            client.batch_execute("COMMIT").await.unwrap();
        }
        client.batch_execute("ANALYZE ao_invoices").await.unwrap();
        println!(
            "postgres: filled {n} invoices in {:.1}s",
            started.elapsed().as_secs_f64()
        );
        let select = client
            .prepare(
                "SELECT recipient_id, slot, invoice, request_path, created_at, expires_at \
                 FROM ao_invoices WHERE recipient_id = $1 AND slot = $2",
            )
            .await
            .unwrap();
        let upsert = client
            .prepare(
                "INSERT INTO ao_invoices (recipient_id, slot, invoice, request_path, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (recipient_id, slot) DO UPDATE SET \
                 invoice = EXCLUDED.invoice, request_path = EXCLUDED.request_path, \
                 created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at",
            )
            .await
            .unwrap();
        (client, select, upsert)
    });
    let raw_lookup = |key: &(Vec<u8>, u16)| {
        let row = rt
            .block_on(raw.query_one(&select, &[&key.0, &i32::from(key.1)]))
            .unwrap();
        let invoice: Vec<u8> = row.get(2);
        let path: Vec<u8> = row.get(3);
        (invoice, path)
    };

    let mut keys = Keys(3);
    let (mut raw_ns, mut bytes_ns, mut store_ns) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..samples() {
        let key = keys.next(n);
        let t = Instant::now();
        std::hint::black_box(raw_lookup(&key));
        raw_ns.push(t.elapsed().as_nanos());
        let key = keys.next(n);
        let t = Instant::now();
        let got = rt.block_on(store.get_invoice_bytes(&key.0, key.1)).unwrap();
        bytes_ns.push(t.elapsed().as_nanos());
        assert!(got.is_some());
        let key = keys.next(n);
        let t = Instant::now();
        let got = rt.block_on(store.get_invoice(&key.0, key.1)).unwrap();
        store_ns.push(t.elapsed().as_nanos());
        assert!(got.is_some());
    }
    percentiles("postgres raw_tokio_postgres_pk_lookup", raw_ns);
    percentiles("postgres store_get_invoice_bytes", bytes_ns);
    percentiles("postgres store_get_invoice (with LDK decode)", store_ns);

    let mut group = c.benchmark_group("async_offers_postgres_lookup");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("baseline_raw_tokio_postgres_pk_lookup", |b| {
        b.iter(|| raw_lookup(&keys.next(n)))
    });
    group.bench_function("store_get_invoice_bytes", |b| {
        b.iter(|| {
            let key = keys.next(n);
            rt.block_on(store.get_invoice_bytes(&key.0, key.1)).unwrap()
        })
    });
    group.bench_function("store_get_invoice", |b| {
        b.iter(|| {
            let key = keys.next(n);
            rt.block_on(store.get_invoice(&key.0, key.1)).unwrap()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("async_offers_postgres_persist");
    group
        .throughput(Throughput::Elements(1))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    group.bench_function("baseline_raw_tokio_postgres_upsert", |b| {
        b.iter(|| {
            let key = keys.next(n);
            rt.block_on(raw.execute(
                &upsert,
                &[
                    &key.0,
                    &i32::from(key.1),
                    &s.invoice_bytes,
                    &s.path_bytes,
                    &(NOW as i64),
                    &((NOW + 30 * 86_400) as i64),
                ],
            ))
            .unwrap()
        })
    });
    group.bench_function("store_persist_invoice", |b| {
        b.iter(|| {
            let i = stored(&s, keys.next(n));
            rt.block_on(store.persist_invoice(&i)).unwrap()
        })
    });
    group.bench_function("store_persist_invoice_64_concurrent", |b| {
        b.iter_custom(|iters| concurrent(&rt, &store, &s, &mut keys, n, iters))
    });
    group.finish();

    rt.block_on(raw.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")))
        .unwrap();
}

fn all(c: &mut Criterion) {
    sqlite(c);
    postgres(c);
}

criterion_group!(benches, all);
criterion_main!(benches);
