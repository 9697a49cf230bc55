//! Async payments at the server (issue 15): an invoice request answered with a recipient's
//! static invoice, with 1 000 000 invoices stored (SQLite), timed at the server from the LDK
//! event to the answer queued (`AsyncServer::recent_request_times`). Baseline of the same run:
//! the store's own lookup of one invoice (`get_invoice_bytes`) on the same table.
//!
//! Real nodes on devnet: server S (public channel to X), payer P and recipient R with private
//! channels to S; R online, so each request ends in a payment, one at a time. The table is
//! filled with copies of R's real invoice under other recipient ids. Without `--bench` (as
//! `cargo test --all-targets` runs it) the table holds 1 000 invoices.

#[path = "../tests/harness/mod.rs"]
mod harness;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_offers::{SqliteStaticInvoiceStore, StaticInvoiceStore};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use harness::async_net::*;
use harness::*;
use lnedge_node::adapters::async_payments::{AsyncServer, InvoiceStore, ServerRole};
use lnedge_node::model::PaymentStatus;

const LONG: Duration = Duration::from_secs(60);

fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Copies of `invoice`/`path` under `n` fresh recipients, ten slots each, in batched
/// transactions on a raw connection (the store's own writes are one commit each).
fn fill(file: &std::path::Path, n: u64, invoice: &[u8], path: &[u8]) {
    let mut raw = rusqlite::Connection::open(file).unwrap();
    let now = lnedge_storage::clock::unix_now() as i64;
    let recipients = n.div_ceil(10);
    for chunk in (0..recipients).step_by(10_000) {
        let tx = raw.transaction().unwrap();
        {
            let mut rec = tx
                .prepare("INSERT INTO ao_recipients (id, label, slot_quota, revoked, registered_at) VALUES (?1, 'bench', NULL, 0, ?2)")
                .unwrap();
            let mut inv = tx
                .prepare("INSERT INTO ao_invoices (recipient_id, slot, invoice, request_path, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .unwrap();
            for r in chunk..(chunk + 10_000).min(recipients) {
                let id = [b"bench".as_slice(), &r.to_be_bytes()].concat();
                rec.execute(rusqlite::params![id, now]).unwrap();
                for slot in 0..10.min(n - r * 10) {
                    inv.execute(rusqlite::params![
                        id,
                        slot as i64,
                        invoice,
                        path,
                        now,
                        now + 86_400
                    ])
                    .unwrap();
                }
            }
        }
        tx.commit().unwrap();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn async_server(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let store_slot: Arc<OnceLock<(PathBuf, Arc<dyn StaticInvoiceStore>)>> = Default::default();
    let slot = Arc::clone(&store_slot);
    let (net, offer, baseline_key) = rt.block_on(async {
        let net = network(false, 5_000_000, move |dir| {
            let file = dir.join("bench_invoices.sqlite");
            let store: Arc<dyn StaticInvoiceStore> =
                Arc::new(SqliteStaticInvoiceStore::open(&file).unwrap());
            let _ = slot.set((file, Arc::clone(&store)));
            let mut role = ServerRole {
                store: InvoiceStore::Shared(store),
                ..Default::default()
            };
            // One recipient is asked again and again: no rate limit here.
            role.limits.request_limit.capacity = u32::MAX;
            role
        })
        .await;
        let (id, offer) = register(&net.s, &net.r, "bench").await;
        let stored = server(&net.s).invoices(Some(&id)).await.unwrap();
        let key = (id, stored[0].slot);
        (net, offer, key)
    });
    let (file, store) = store_slot.get().unwrap().clone();
    let Net {
        chain,
        s,
        x,
        p,
        r,
        dirs,
    } = net;

    let n: u64 = if bench_mode() { 1_000_000 } else { 1_000 };
    let bytes = rt
        .block_on(store.get_invoice_bytes(&baseline_key.0, baseline_key.1))
        .unwrap()
        .unwrap();
    let started = Instant::now();
    fill(&file, n, &bytes.invoice, &bytes.invoice_request_path);
    println!(
        "filled {n} invoices in {:.1}s; stored in all: {}",
        started.elapsed().as_secs_f64(),
        rt.block_on(store.invoice_count()).unwrap()
    );

    let server = s.extension::<AsyncServer>().unwrap();
    // One invoice request (a payment of 1 sat to R's offer, R online), timed at S.
    let request = || {
        rt.block_on(async {
            let before = server.recent_request_times().len();
            let served = server.stats().requests_served;
            let id = p.bolt12_payment().send(&offer, Some(1_000)).unwrap();
            let paid = p.payments().wait(&id, LONG).await.unwrap();
            assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");
            assert!(server.stats().requests_served > served);
            let times = server.recent_request_times();
            assert!(times.len() > before || times.len() == 4096);
            *times.last().unwrap()
        })
    };

    let mut group = c.benchmark_group("async_server");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(10))
        .measurement_time(Duration::from_millis(50))
        .sampling_mode(SamplingMode::Flat);
    group.bench_function("baseline_store_get_invoice_bytes", |b| {
        b.iter(|| {
            rt.block_on(store.get_invoice_bytes(&baseline_key.0, baseline_key.1))
                .unwrap()
                .unwrap()
        })
    });
    group.bench_function("invoice_request_answered_at_server", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| request()).sum())
    });
    group.finish();

    let mut times: Vec<Duration> = (0..if bench_mode() { 200 } else { 3 })
        .map(|_| request())
        .collect();
    times.sort();
    println!(
        "invoice request at S, {n} invoices stored, {} requests: p50 {:?}, p99 {:?}",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );

    // From R back (its node started again, connected to S) to R's payment claimed, with P's
    // payment made while R was offline.
    let mut r = r;
    let mut back_to_claimed = Vec::new();
    for round in 0..if bench_mode() { 7 } else { 1 } {
        r =
            rt.block_on(async {
                r.stop().await;
                wait_for("S sees R gone", LONG, || async {
                    (!s.peers().is_connected(&r.node_id())).then_some(())
                })
                .await;
                let amount = 10_000 + round;
                let id = p.bolt12_payment().send(&offer, Some(amount)).unwrap();
                wait_for("P's message held", LONG, || async {
                    (server.held_messages().await.unwrap() >= 1).then_some(())
                })
                .await;
                let r = start_wallet(&chain, dirs[3].path(), "recipient", true).await;
                if !r.peers().is_connected(&s.node_id()) {
                    let _ = r.peers().connect(s.node_id(), &peer_address(&s)).await;
                }
                let connected = wait_for("R back", LONG, || async {
                    r.peers().is_connected(&s.node_id()).then(Instant::now)
                })
                .await;
                wait_for("R claimed", LONG, || async {
                    r.payments().list().unwrap().into_iter().find(|x| {
                        x.amount_msat == Some(amount) && x.status == PaymentStatus::Succeeded
                    })
                })
                .await;
                back_to_claimed.push(connected.elapsed());
                assert_eq!(
                    p.payments().wait(&id, LONG).await.unwrap().status,
                    PaymentStatus::Succeeded
                );
                r
            });
    }
    back_to_claimed.sort();
    println!(
        "R connected → payment claimed, {} rounds: p50 {:?}, max {:?}",
        back_to_claimed.len(),
        percentile(&back_to_claimed, 0.5),
        back_to_claimed.last().unwrap()
    );

    rt.block_on(async {
        for node in [&s, &x, &p, &r] {
            node.stop().await;
        }
        chain.shutdown().await;
    });
}

criterion_group!(benches, async_server);
criterion_main!(benches);
