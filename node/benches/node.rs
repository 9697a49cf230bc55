//! Node figures (issue #7): sequential BOLT 11 payments between two directly connected nodes,
//! and start-up to ready with empty state. Baseline of the same run: one JSON-RPC round trip
//! to devnet over loopback HTTP (`getblockcount`), the unit of the node's own I/O.

#[path = "../tests/harness/mod.rs"]
mod harness;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use harness::*;
use lnedge_node::model::PaymentStatus;
use lnedge_node::PersistenceOrder;

fn node_benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let chain = rt.block_on(TestChain::start());
    let mut group = c.benchmark_group("node");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));

    // Baseline: one RPC round trip through the node's chain client.
    let probe = rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let node = chain.node(dir.path(), "probe").await;
        (dir, node)
    });
    group.bench_function("baseline_rpc_roundtrip", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    probe
                        .1
                        .chain_client()
                        .call("getblockcount", &[])
                        .await
                        .unwrap();
                }
                start.elapsed()
            })
        })
    });
    rt.block_on(probe.1.stop());

    // Start-up with an empty data directory, to ready (chain synced, listening).
    group.bench_function("startup_empty_to_ready", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().unwrap();
                    let start = Instant::now();
                    let node = chain.node(dir.path(), "fresh").await;
                    total += start.elapsed();
                    node.stop().await;
                }
                total
            })
        })
    });

    // Two directly connected nodes with a channel; each iteration: B invoices, A pays, A sees
    // it succeed. With LDK's default random HTLC batching delay and with immediate HTLC
    // processing; each with the node's persistence order (the channel manager written before
    // every monitor update, the default) and with LDK's (monitors first), for #17's cost.
    let mut pairs = Vec::new();
    for (immediate, order) in [
        (false, PersistenceOrder::ManagerFirst),
        (true, PersistenceOrder::ManagerFirst),
        (false, PersistenceOrder::MonitorsFirst),
        (true, PersistenceOrder::MonitorsFirst),
    ] {
        let (dirs, a, b) = rt.block_on(async {
            let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let build = |dir: &std::path::Path, alias: &str| {
                chain
                    .builder(dir, alias)
                    .immediate_htlc_processing(immediate)
                    .persistence_order(order)
                    .start()
            };
            let a = build(dirs.0.path(), "alice").await.unwrap();
            let b = build(dirs.1.path(), "bob").await.unwrap();
            chain.fund(&a.wallet().new_address().unwrap(), 1);
            a.sync_chain().await;
            connect(&a, &b).await;
            open_channel(&chain, &a, &b, 16_000_000, false).await;
            (dirs, a, b)
        });
        let name = format!(
            "bolt11_payment_direct_{}{}",
            if immediate {
                "immediate_htlcs"
            } else {
                "ldk_batching"
            },
            match order {
                PersistenceOrder::ManagerFirst => "",
                PersistenceOrder::MonitorsFirst => "_monitors_first",
            }
        );
        group.bench_function(name, |bench| {
            bench.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let invoice = b
                            .bolt11_payment()
                            .receive(Some(1_000), "bench", 600)
                            .unwrap();
                        let id = a.bolt11_payment().send(&invoice, None).unwrap();
                        let paid = a
                            .payments()
                            .wait(&id, Duration::from_secs(30))
                            .await
                            .unwrap();
                        assert_eq!(paid.status, PaymentStatus::Succeeded);
                    }
                    start.elapsed()
                })
            })
        });
        pairs.push((dirs, a, b));
    }
    group.finish();
    rt.block_on(async {
        for (_dirs, a, b) in pairs {
            a.stop().await;
            b.stop().await;
        }
        chain.shutdown().await;
    });
}

criterion_group!(benches, node_benches);
criterion_main!(benches);
