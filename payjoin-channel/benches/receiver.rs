//! Plain payjoin proposals: through the server (HTTPS with a new connection per request, and
//! plain HTTP with keep-alive), through the transport-free glue (`handle_original`), and by
//! driving the `payjoin` state machine directly with the same wallet and the same originals
//! (the baseline). Every iteration gets a fresh original (fresh coin), since a replay is refused.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::time::Duration;

use bdk_wallet::bitcoin::hashes::Hash;
use bdk_wallet::bitcoin::{Amount, FeeRate, OutPoint, Psbt};
use bdk_wallet::SignOptions;
use common::*;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use payjoin::receive::v1::{Headers, UncheckedOriginalPayload};
use payjoin::receive::InputPair;
use payjoin::send::v1::SenderBuilder;

struct BenchHeaders(String);

impl Headers for BenchHeaders {
    fn get_header(&self, key: &str) -> Option<&str> {
        match key {
            "content-type" => Some("text/plain"),
            "content-length" => Some(&self.0),
            _ => None,
        }
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // Proposals are never broadcast here, so the receiver's one coin would stay reserved for the
    // first payer; a zero hold lets every proposal contribute it, as the baseline does.
    let config = payjoin_channel::ReceiverConfig {
        watchdog_timeout: Duration::ZERO,
        ..fast_config()
    };
    let h = rt.block_on(Harness::start(
        config,
        TestChannelOpener::new(OpenerBehaviour::default()),
    ));
    let plain_listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let plain_port = plain_listener.local_addr().unwrap().port();
    let _plain_server = {
        let _guard = rt.enter();
        payjoin_channel::serve(plain_listener, h.receiver.clone()).unwrap()
    };
    let address = h.fresh_address();
    let uri = h.pj_uri(&address, Amount::from_sat(100_000));
    let sender = std::cell::RefCell::new(sender_wallet(0));
    let fresh_request = || {
        let mut s = sender.borrow_mut();
        let coin: OutPoint = h.fund_wallet(&mut s, Amount::from_sat(1_000_000));
        let original = original_from_coin(&mut s, &uri, coin);
        let sender = SenderBuilder::new(original, uri.clone())
            .build_recommended(FeeRate::from_sat_per_vb_u32(2))
            .unwrap();
        sender.create_v1_post_request().0
    };

    let mut group = c.benchmark_group("plain_payjoin");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));

    group.bench_function("https_server_new_connection", |b| {
        b.iter_batched(
            fresh_request,
            |req| {
                let (status, _, _) = rt.block_on(post(&req));
                assert_eq!(status, 200);
            },
            BatchSize::PerIteration,
        )
    });

    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.set_nodelay(true);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, http_body_util::Full<bytes::Bytes>>(connector);
    group.bench_function("http_server_keep_alive", |b| {
        b.iter_batched(
            fresh_request,
            |req| {
                let path = req.url.split_once("/pj").unwrap().1;
                let request =
                    hyper::Request::post(format!("http://127.0.0.1:{plain_port}/pj{path}"))
                        .header("content-type", req.content_type)
                        .header("content-length", req.body.len())
                        .body(http_body_util::Full::new(bytes::Bytes::from(req.body)))
                        .unwrap();
                rt.block_on(async {
                    let response = client.request(request).await.unwrap();
                    assert_eq!(response.status(), 200);
                    http_body_util::BodyExt::collect(response.into_body())
                        .await
                        .unwrap();
                });
            },
            BatchSize::PerIteration,
        )
    });

    group.bench_function("handle_original_no_transport", |b| {
        b.iter_batched(
            fresh_request,
            |req| {
                let query = req
                    .url
                    .split_once('?')
                    .map(|(_, q)| q.to_string())
                    .unwrap_or_default();
                let headers = BenchHeaders(req.body.len().to_string());
                let reply = rt.block_on(h.receiver.handle_original(&req.body, &query, headers));
                assert_eq!(reply.status, 200);
            },
            BatchSize::PerIteration,
        )
    });

    let seen = std::cell::RefCell::new(HashSet::new());
    let wallet = h.receiver_wallet.clone();
    let chain = h.chain.clone();
    group.bench_function("payjoin_state_machine_direct", |b| {
        b.iter_batched(
            fresh_request,
            |req| {
                let query = req
                    .url
                    .split_once('?')
                    .map(|(_, q)| q.to_string())
                    .unwrap_or_default();
                let headers = BenchHeaders(req.body.len().to_string());
                let w = wallet.lock().unwrap();
                let proposal = UncheckedOriginalPayload::from_request(&req.body, &query, headers)
                    .unwrap()
                    .check_broadcast_suitability(None, |tx| Ok(chain.lock().unwrap().accepts(tx)))
                    .unwrap()
                    .check_inputs_not_owned(&mut |op| Ok(w.wallet.get_utxo(*op).is_some()))
                    .unwrap()
                    .check_no_inputs_seen_before(&mut |op| Ok(!seen.borrow_mut().insert(*op)))
                    .unwrap()
                    .identify_receiver_outputs(&mut |s| Ok(w.wallet.is_mine(s.to_owned())))
                    .unwrap()
                    .commit_outputs();
                let candidates: Vec<InputPair> = w
                    .wallet
                    .list_unspent()
                    .filter_map(|u| InputPair::new_p2wpkh(u.txout, u.outpoint).ok())
                    .collect();
                let input = proposal.try_preserving_privacy(candidates).unwrap();
                let proposal = proposal
                    .contribute_inputs([input])
                    .unwrap()
                    .commit_inputs()
                    .apply_fee_range(None, Some(FeeRate::from_sat_per_vb_u32(10)))
                    .unwrap()
                    .finalize_proposal(|psbt: &Psbt| {
                        let mut psbt = psbt.clone();
                        let options = SignOptions {
                            trust_witness_utxo: true,
                            ..Default::default()
                        };
                        w.sign(&mut psbt, options).unwrap();
                        Ok(psbt)
                    })
                    .unwrap();
                std::hint::black_box(proposal.psbt().to_string());
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();

    // The durable part of the checklist on its own: recording an original's input (SQLite, WAL,
    // synchronous=FULL) — the main cost the server adds over the bare state machine.
    let mut n: u32 = 0;
    c.bench_function("store/mark_inputs_seen_durable", |b| {
        b.iter(|| {
            n += 1;
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&n.to_le_bytes());
            let op = OutPoint {
                txid: bdk_wallet::bitcoin::Txid::from_byte_array(seed),
                vout: 0,
            };
            let seen = h
                .receiver
                .scheduler()
                .store()
                .mark_inputs_seen(&[op], 0)
                .unwrap();
            assert_eq!(seen, [false]);
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
