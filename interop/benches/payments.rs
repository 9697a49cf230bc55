//! Sequential BOLT 11 payments over one direct channel, side by side on one devnet: lnedge →
//! lnedge (the `lnedge` binary through its admin API; with its defaults, and with
//! `--immediate-htlc-processing`) and ldk-node → ldk-node (with its defaults). One iteration is
//! one payment: the payee makes an invoice, the payer pays it and learns it succeeded.
//!
//! `cargo bench` in interop/ (build `lnedge` with `--release` first); the figures are in
//! BENCHMARKS.md. Under `cargo test` each case runs once.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ldk_node::lightning_invoice::{Bolt11InvoiceDescription, Description};
use ldk_node::payment::PaymentStatus;
use lnedge_interop::devnet::Devnet;
use lnedge_interop::ldk::Ldk;
use lnedge_interop::lnedge::Lnedge;
use lnedge_interop::lnedge_bin;
use lnedge_interop::wait::wait_until;
use serde_json::json;

const CHANNEL_SAT: u64 = 5_000_000;
const AMOUNT_MSAT: u64 = 10_000;

/// Two lnedge nodes started with `flags`, a channel from the first to the second, usable.
fn lnedge_pair(
    bin: &std::path::Path,
    root: &std::path::Path,
    devnet: &Devnet,
    names: [&str; 2],
    flags: &[&str],
) -> (Lnedge, Lnedge) {
    let payer = Lnedge::start(bin, root, names[0], devnet, flags);
    let payee = Lnedge::start(bin, root, names[1], devnet, flags);
    // Both funded, as the ldk-node pair is: a payee keeps coins for its anchor reserve.
    payer.fund(devnet, 2);
    payee.fund(devnet, 1);
    payer.json(&[
        "peer",
        "connect",
        &format!("{}@{}", payee.node_id, payee.p2p),
    ]);
    let channel = payer.open(devnet, payee.node_id, CHANNEL_SAT, 0, false);
    devnet.mine(6);
    wait_until("the lnedge channel is usable", || {
        payer.channel(&channel).filter(|c| c["usable"] == true)
    });
    (payer, payee)
}

fn payments(c: &mut Criterion) {
    let bin = lnedge_bin();
    let root = lnedge_interop::Scratch::new();
    let devnet = Devnet::start(&bin);
    let (a, b) = lnedge_pair(&bin, root.path(), &devnet, ["a", "b"], &[]);
    let immediate = ["--immediate-htlc-processing"];
    let (c_, d) = lnedge_pair(&bin, root.path(), &devnet, ["c", "d"], &immediate);
    let k1 = Ldk::start(root.path(), "k1", &devnet, |_| {});
    let k2 = Ldk::start(root.path(), "k2", &devnet, |_| {});
    k1.fund(&devnet);
    k2.fund(&devnet);
    k1.node
        .connect(k2.node_id(), k2.addr.clone(), true)
        .expect("connect");
    let (_, channel) = k1.open(&devnet, k2.node_id(), k2.addr.clone(), CHANNEL_SAT, 0);
    devnet.mine(6);
    wait_until("the ldk-node channel is usable", || {
        k1.channel(&channel).filter(|c| c.is_usable)
    });

    let mut group = c.benchmark_group("bolt11_payment_direct_channel");
    group.throughput(Throughput::Elements(1));
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(20));
    for (name, payer, payee) in [("lnedge_defaults", &a, &b), ("lnedge_immediate", &c_, &d)] {
        let (payer, payee) = (payer.api_client(), payee.api_client());
        group.bench_function(name, |bench| {
            bench.iter(|| {
                let invoice = payee.post("/v1/invoices", &json!({"amount_msat": AMOUNT_MSAT}));
                let paid = payer.post(
                    "/v1/invoices/pay",
                    &json!({"invoice": invoice["invoice"], "wait_secs": 60}),
                );
                assert_eq!(paid["status"], "succeeded", "{paid}");
            })
        });
    }
    let description =
        Bolt11InvoiceDescription::Direct(Description::new(String::new()).expect("description"));
    group.bench_function("ldk_node_defaults", |bench| {
        bench.iter(|| {
            let invoice = k2
                .node
                .bolt11_payment()
                .receive(AMOUNT_MSAT, &description, 3600)
                .expect("invoice");
            let id = k1.node.bolt11_payment().send(&invoice, None).expect("send");
            loop {
                match k1.node.payment(&id).map(|p| p.status) {
                    Some(PaymentStatus::Succeeded) => break,
                    Some(PaymentStatus::Failed) => panic!("ldk-node payment failed"),
                    _ => std::thread::sleep(Duration::from_micros(200)),
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, payments);
criterion_main!(benches);
