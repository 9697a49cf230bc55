//! Devnet throughput: mining empty blocks, and accepting one-input P2WPKH spends into the
//! mempool (script validation by libbitcoinconsensus included).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Duration;

use bitcoin::hashes::Hash;
use bitcoin::{Amount, OutPoint, Transaction, TxOut};
use common::{coinbase_at, Wallet};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use lnedge_devnet::block::{assemble, coinbase};
use lnedge_devnet::params::subsidy;
use lnedge_devnet::validation::SCRIPT_FLAGS;
use lnedge_devnet::{anyone_can_spend_script, Devnet};

fn mine_empty_blocks(c: &mut Criterion) {
    let mut group = c.benchmark_group("devnet");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let script = anyone_can_spend_script();
    // Baseline: building and grinding the same 1000 blocks without the chain (no validation,
    // no UTXO or index updates).
    group.bench_function("baseline_assemble_1000_blocks", |b| {
        b.iter(|| {
            let mut prev = bitcoin::BlockHash::all_zeros();
            for height in 1..=1000u32 {
                let cb = coinbase(height, 0, script.clone(), subsidy(height));
                prev = assemble(prev, 1_700_000_000 + height, cb, vec![]).block_hash();
            }
            prev
        })
    });
    group.bench_function("mine_1000_empty_blocks", |b| {
        b.iter_batched(
            Devnet::in_memory,
            |devnet| devnet.mine(1000, &script).expect("mining"),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// A devnet where `wallet` owns 1000 confirmed outputs, and 1000 signed spends of them.
fn prepared(wallet: &Wallet) -> (Devnet, Vec<Transaction>) {
    let devnet = Devnet::in_memory();
    devnet.mine(101, &wallet.script).expect("mining");
    let outputs: Vec<TxOut> = (0..1000).map(|_| wallet.output(4_000_000)).collect();
    let fan_out = wallet.spend(&[coinbase_at(&devnet, 1)], outputs);
    devnet.send_transaction(&fan_out).expect("fan-out accepted");
    devnet.mine(1, &wallet.script).expect("mining");
    let txid = fan_out.compute_txid();
    let spends = (0..1000u32)
        .map(|vout| {
            let prev = (
                OutPoint { txid, vout },
                fan_out.output[vout as usize].clone(),
            );
            wallet.spend(
                &[prev],
                vec![TxOut {
                    value: Amount::from_sat(3_990_000),
                    ..wallet.output(0)
                }],
            )
        })
        .collect();
    (devnet, spends)
}

fn accept_spends(c: &mut Criterion) {
    let mut group = c.benchmark_group("devnet");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let wallet = Wallet::new(9);
    // Baseline: only the script interpreter on the same 1000 inputs.
    let (devnet, spends) = prepared(&wallet);
    let coins: Vec<TxOut> = spends
        .iter()
        .map(|tx| {
            devnet
                .lock()
                .chain
                .coin(&tx.input[0].previous_output)
                .expect("coin")
                .output
                .clone()
        })
        .collect();
    group.bench_function("baseline_verify_1000_p2wpkh_scripts", |b| {
        b.iter(|| {
            for (tx, coin) in spends.iter().zip(&coins) {
                let bytes = bitcoin::consensus::encode::serialize(tx);
                coin.script_pubkey
                    .verify_with_flags(0, coin.value, &bytes, SCRIPT_FLAGS)
                    .expect("valid script");
            }
        })
    });
    group.bench_function("accept_1000_p2wpkh_spends", |b| {
        b.iter_batched(
            || prepared(&wallet),
            |(devnet, spends)| {
                for tx in &spends {
                    devnet.send_transaction(tx).expect("accepted");
                }
                devnet
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, mine_empty_blocks, accept_spends);
criterion_main!(benches);
