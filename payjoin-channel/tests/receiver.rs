//! The receiver scenarios, end to end: the `payjoin` crate's real v1 sender with a BDK
//! wallet posts to the real hyper server over loopback.

mod common;

use std::time::Duration;

use bdk_wallet::bitcoin::{Amount, OutPoint};
use common::*;
use payjoin_channel::{AbandonReason, ReceiverEvent, ScheduleState};

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_channel_funded_with_exact_amount_and_stable_txid() {
    let h = Harness::start(
        fast_config(),
        TestChannelOpener::new(OpenerBehaviour::default()),
    )
    .await;
    let mut events = h.receiver.subscribe();
    let invoice = h
        .receiver
        .schedule(vec![channel(1, 500_000)], Amount::from_sat(5_000), HOUR)
        .await
        .unwrap();
    assert_eq!(invoice.amount, Amount::from_sat(505_000));
    assert!(invoice.uri.contains("pj="), "{}", invoice.uri);

    let mut sender = h.funded_sender(0, Amount::from_sat(1_000_000));
    let a = attempt(&mut sender, &invoice.uri, false).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.headers.get("access-control-allow-origin").unwrap(), "*");
    let proposal = a.result.expect("sender accepts the proposal");

    let (opened, funded) = {
        let log = h.opener.log.lock().unwrap();
        (log.opened.clone(), log.funded.clone())
    };
    assert_eq!(opened.len(), 1);
    assert_eq!(funded.len(), 1);
    let outpoint: OutPoint = funded[0].1;

    let tx = sign_proposal(&sender, proposal);
    // The txid given to the opener before the sender signed is the broadcast txid.
    assert_eq!(tx.compute_txid(), outpoint.txid);
    let out = &tx.output[outpoint.vout as usize];
    assert_eq!(out.value, Amount::from_sat(500_000));
    assert_eq!(out.script_pubkey, opened[0].funding_script);
    // The receiver contributed its coin: more than one input, and the receiver's change exists.
    assert!(tx.input.len() >= 2);

    h.chain.lock().unwrap().broadcast(tx.clone()).unwrap();
    h.chain.lock().unwrap().mine();
    let funded_event = wait_for(|| match events.try_recv() {
        Ok(ReceiverEvent::FundingConfirmed { txid, .. }) => Some(txid),
        _ => None,
    })
    .await;
    assert_eq!(funded_event, tx.compute_txid());
    let schedule = h.receiver.scheduler().get(invoice.schedule).unwrap();
    assert_eq!(schedule.state, ScheduleState::Funded);
    assert_eq!(schedule.payjoin_txid, Some(tx.compute_txid()));
    assert!(h.opener.log.lock().unwrap().abandoned.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_channels_in_one_payjoin() {
    let h = Harness::start(
        fast_config(),
        TestChannelOpener::new(OpenerBehaviour::default()),
    )
    .await;
    let invoice = h
        .receiver
        .schedule(
            vec![channel(1, 200_000), channel(2, 300_000)],
            Amount::from_sat(6_000),
            HOUR,
        )
        .await
        .unwrap();
    let mut sender = h.funded_sender(0, Amount::from_sat(1_000_000));
    let a = attempt(&mut sender, &invoice.uri, false).await;
    let proposal = a.result.expect("sender accepts");
    let tx = sign_proposal(&sender, proposal);
    let log = h.opener.log.lock().unwrap();
    assert_eq!(log.opened.len(), 2);
    assert_eq!(log.funded.len(), 2);
    for (id, outpoint) in &log.funded {
        let ch = log.opened.iter().find(|c| &c.id == id).unwrap();
        assert_eq!(outpoint.txid, tx.compute_txid());
        let out = &tx.output[outpoint.vout as usize];
        assert_eq!(
            (out.value, &out.script_pubkey),
            (ch.amount, &ch.funding_script)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_schedule_is_a_plain_payjoin() {
    let h = Harness::start(
        fast_config(),
        TestChannelOpener::new(OpenerBehaviour::default()),
    )
    .await;
    let address = h.fresh_address();
    let uri = h.pj_uri(&address, Amount::from_sat(100_000));
    let mut sender = h.funded_sender(0, Amount::from_sat(1_000_000));
    let a = attempt(&mut sender, &uri.to_string(), false).await;
    let tx = sign_proposal(&sender, a.result.expect("sender accepts"));
    let outputs = map_outputs(&tx);
    // Our coin (300 000) was added to our output.
    assert_eq!(outputs[&address.script_pubkey()], Amount::from_sat(400_000));
    assert!(h.opener.log.lock().unwrap().opened.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn substitution_disabled_is_a_plain_receive() {
    let h = Harness::start(
        fast_config(),
        TestChannelOpener::new(OpenerBehaviour::default()),
    )
    .await;
    let invoice = h
        .receiver
        .schedule(vec![channel(1, 500_000)], Amount::from_sat(5_000), HOUR)
        .await
        .unwrap();
    let mut sender = h.funded_sender(0, Amount::from_sat(1_000_000));
    let a = attempt(&mut sender, &invoice.uri, true).await;
    let tx = sign_proposal(&sender, a.result.expect("sender accepts"));
    assert!(tx
        .output
        .iter()
        .any(|o| o.script_pubkey == invoice.address.script_pubkey()));
    assert!(h.opener.log.lock().unwrap().opened.is_empty());
    let schedule = h.receiver.scheduler().get(invoice.schedule).unwrap();
    assert_eq!(schedule.state, ScheduleState::Open);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_segwit_input_is_refused() {
    let h = Harness::start(
        fast_config(),
        TestChannelOpener::new(OpenerBehaviour::default()),
    )
    .await;
    let invoice = h
        .receiver
        .schedule(vec![channel(1, 500_000)], Amount::from_sat(5_000), HOUR)
        .await
        .unwrap();
    let mut sender = legacy_wallet();
    h.fund_wallet(&mut sender, Amount::from_sat(1_000_000));
    let a = attempt(&mut sender, &invoice.uri, false).await;
    assert_eq!(a.status, 400);
    let body: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(body["errorCode"], "original-psbt-rejected");
    assert_eq!(a.headers.get("access-control-allow-origin").unwrap(), "*");
    assert!(a.result.is_err());
    assert!(h.opener.log.lock().unwrap().opened.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_original_is_refused_even_after_restart() {
    let mut h = Harness::start(
        fast_config(),
        TestChannelOpener::new(OpenerBehaviour::default()),
    )
    .await;
    let address = h.fresh_address();
    let uri = h.pj_uri(&address, Amount::from_sat(100_000));
    let mut sender = h.funded_sender(0, Amount::from_sat(1_000_000));
    let original = original_for(&mut sender, &uri);
    let first = attempt_with(original.clone(), uri.clone(), false).await;
    assert_eq!(first.status, 200);

    h.restart(fast_config()).await;
    // Same original, same address, new endpoint after the restart.
    let uri2 = h.pj_uri(&address, Amount::from_sat(100_000));
    let replay = attempt_with(original, uri2, false).await;
    assert_eq!(
        replay.status,
        400,
        "{}",
        String::from_utf8_lossy(&replay.body)
    );
    let body: serde_json::Value = serde_json::from_slice(&replay.body).unwrap();
    assert_eq!(body["errorCode"], "original-psbt-rejected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opener_failure_falls_back_to_plain_payjoin() {
    let opener = TestChannelOpener::new(OpenerBehaviour {
        refusing_peers: vec![key(2)],
        ..OpenerBehaviour::default()
    });
    let h = Harness::start(fast_config(), opener).await;
    let mut events = h.receiver.subscribe();
    let invoice = h
        .receiver
        .schedule(
            vec![channel(1, 200_000), channel(2, 300_000)],
            Amount::from_sat(6_000),
            HOUR,
        )
        .await
        .unwrap();
    let mut sender = h.funded_sender(0, Amount::from_sat(1_000_000));
    let a = attempt(&mut sender, &invoice.uri, false).await;
    let tx = sign_proposal(&sender, a.result.expect("plain payjoin accepted"));
    // The payment reached the scheduled address (plus our contributed coin).
    assert_eq!(
        map_outputs(&tx)[&invoice.address.script_pubkey()],
        Amount::from_sat(806_000)
    );
    let log = h.opener.log.lock().unwrap();
    assert_eq!(log.opened.len(), 1, "peer 1 accepted");
    assert!(log.funded.is_empty());
    assert_eq!(
        log.abandoned,
        vec![(log.opened[0].id.clone(), AbandonReason::OpenFailed)]
    );
    let schedule = h.receiver.scheduler().get(invoice.schedule).unwrap();
    assert_eq!(
        schedule.state,
        ScheduleState::FellBack(AbandonReason::OpenFailed)
    );
    let mut saw_fallback = false;
    while let Ok(e) = events.try_recv() {
        saw_fallback |= matches!(e, ReceiverEvent::ChannelsFellBack { .. });
    }
    assert!(saw_fallback);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_for_one_schedule_open_one_channel_set() {
    let opener = TestChannelOpener::new(OpenerBehaviour {
        accept_delay: Duration::from_millis(200),
        ..OpenerBehaviour::default()
    });
    let h = Harness::start(fast_config(), opener).await;
    let invoice = h
        .receiver
        .schedule(vec![channel(1, 500_000)], Amount::from_sat(5_000), HOUR)
        .await
        .unwrap();
    let mut s1 = h.funded_sender(0, Amount::from_sat(1_000_000));
    let mut s2 = h.funded_sender(1, Amount::from_sat(1_000_000));
    let (a1, a2) = tokio::join!(
        attempt(&mut s1, &invoice.uri, false),
        attempt(&mut s2, &invoice.uri, false)
    );
    assert_eq!(a1.status, 200);
    assert_eq!(a2.status, 200);
    let log = h.opener.log.lock().unwrap();
    assert_eq!(log.opened.len(), 1, "exactly one channel set");
    assert_eq!(log.funded.len(), 1);
    let funding = &log.opened[0].funding_script;
    let proposals = [a1.result.unwrap(), a2.result.unwrap()];
    // Our single coin is offered to one payer only: the two proposals share no input.
    let inputs = |p: &bdk_wallet::bitcoin::Psbt| -> std::collections::HashSet<OutPoint> {
        p.unsigned_tx
            .input
            .iter()
            .map(|i| i.previous_output)
            .collect()
    };
    assert!(inputs(&proposals[0]).is_disjoint(&inputs(&proposals[1])));
    let with_funding = proposals
        .iter()
        .filter(|p| {
            p.unsigned_tx
                .output
                .iter()
                .any(|o| &o.script_pubkey == funding)
        })
        .count();
    assert_eq!(with_funding, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn funding_signature_timeout_abandons_and_falls_back() {
    let opener = TestChannelOpener::new(OpenerBehaviour {
        withhold_signatures: true,
        ..OpenerBehaviour::default()
    });
    let config = payjoin_channel::ReceiverConfig {
        funding_signature_timeout: Duration::from_millis(300),
        ..fast_config()
    };
    let h = Harness::start(config, opener).await;
    let invoice = h
        .receiver
        .schedule(vec![channel(1, 500_000)], Amount::from_sat(5_000), HOUR)
        .await
        .unwrap();
    let mut sender = h.funded_sender(0, Amount::from_sat(1_000_000));
    let a = attempt(&mut sender, &invoice.uri, false).await;
    let proposal = a.result.expect("plain payjoin accepted");
    let log = h.opener.log.lock().unwrap();
    let funding = &log.opened[0].funding_script;
    assert!(!proposal
        .unsigned_tx
        .output
        .iter()
        .any(|o| &o.script_pubkey == funding));
    assert_eq!(
        log.abandoned,
        vec![(
            log.opened[0].id.clone(),
            AbandonReason::FundingSignatureFailed
        )]
    );
    let schedule = h.receiver.scheduler().get(invoice.schedule).unwrap();
    assert_eq!(
        schedule.state,
        ScheduleState::FellBack(AbandonReason::FundingSignatureFailed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn original_broadcast_instead_makes_the_watchdog_abandon() {
    let h = Harness::start(
        fast_config(),
        TestChannelOpener::new(OpenerBehaviour::default()),
    )
    .await;
    let invoice = h
        .receiver
        .schedule(vec![channel(1, 500_000)], Amount::from_sat(5_000), HOUR)
        .await
        .unwrap();
    let mut sender = h.funded_sender(0, Amount::from_sat(1_000_000));
    let a = attempt(&mut sender, &invoice.uri, false).await;
    assert!(a.result.is_ok());
    let original = a.original.extract_tx().unwrap();
    h.chain.lock().unwrap().broadcast(original).unwrap();
    let reason = wait_for(|| {
        h.opener
            .log
            .lock()
            .unwrap()
            .abandoned
            .first()
            .map(|(_, r)| *r)
    })
    .await;
    assert_eq!(reason, AbandonReason::OriginalBroadcast);
    let state = wait_for(|| {
        let s = h.receiver.scheduler().get(invoice.schedule).unwrap().state;
        (s != ScheduleState::Proposed).then_some(s)
    })
    .await;
    assert_eq!(
        state,
        ScheduleState::Abandoned(AbandonReason::OriginalBroadcast)
    );
    // The payment still reached the scheduled address.
    h.chain.lock().unwrap().mine();
    h.sync_receiver();
    let balance = h.receiver_wallet.lock().unwrap().wallet.balance().total();
    assert_eq!(balance, Amount::from_sat(300_000 + 505_000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_broadcast_makes_the_watchdog_abandon_on_timeout() {
    let config = payjoin_channel::ReceiverConfig {
        watchdog_timeout: Duration::from_millis(300),
        ..fast_config()
    };
    let h = Harness::start(config, TestChannelOpener::new(OpenerBehaviour::default())).await;
    let invoice = h
        .receiver
        .schedule(vec![channel(1, 500_000)], Amount::from_sat(5_000), HOUR)
        .await
        .unwrap();
    let mut sender = h.funded_sender(0, Amount::from_sat(1_000_000));
    let a = attempt(&mut sender, &invoice.uri, false).await;
    assert!(a.result.is_ok());
    let reason = wait_for(|| {
        h.opener
            .log
            .lock()
            .unwrap()
            .abandoned
            .first()
            .map(|(_, r)| *r)
    })
    .await;
    assert_eq!(reason, AbandonReason::Timeout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_while_waiting_for_signatures_abandons_on_recover() {
    let opener = TestChannelOpener::new(OpenerBehaviour {
        withhold_signatures: true,
        ..OpenerBehaviour::default()
    });
    let config = payjoin_channel::ReceiverConfig {
        funding_signature_timeout: Duration::from_secs(60),
        ..fast_config()
    };
    let mut h = Harness::start(config.clone(), opener).await;
    let invoice = h
        .receiver
        .schedule(vec![channel(1, 500_000)], Amount::from_sat(5_000), HOUR)
        .await
        .unwrap();
    let mut sender = h.funded_sender(0, Amount::from_sat(1_000_000));
    let uri = parse_uri(&invoice.uri);
    let original = original_for(&mut sender, &uri);
    // The payer's request hangs while the peer withholds its funding signature.
    let pending = tokio::spawn(attempt_with(original, uri, false));
    wait_for(|| (!h.opener.log.lock().unwrap().funded.is_empty()).then_some(())).await;
    pending.abort();
    // "Restart": a new receiver over the same database.
    h.restart(config).await;
    let (watched, abandoned) = h.receiver.recover().await.unwrap();
    assert_eq!((watched, abandoned), (0, 1));
    let log = h.opener.log.lock().unwrap();
    assert_eq!(
        log.abandoned,
        vec![(log.opened[0].id.clone(), AbandonReason::Interrupted)]
    );
    let schedule = h.receiver.scheduler().get(invoice.schedule).unwrap();
    assert_eq!(
        schedule.state,
        ScheduleState::FellBack(AbandonReason::Interrupted)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_after_proposal_resumes_the_watchdog() {
    let mut h = Harness::start(
        fast_config(),
        TestChannelOpener::new(OpenerBehaviour::default()),
    )
    .await;
    let invoice = h
        .receiver
        .schedule(vec![channel(1, 500_000)], Amount::from_sat(5_000), HOUR)
        .await
        .unwrap();
    let mut sender = h.funded_sender(0, Amount::from_sat(1_000_000));
    let a = attempt(&mut sender, &invoice.uri, false).await;
    let tx = sign_proposal(&sender, a.result.expect("sender accepts"));
    h.restart(fast_config()).await;
    let mut events = h.receiver.subscribe();
    assert_eq!(h.receiver.recover().await.unwrap().0, 1);
    h.chain.lock().unwrap().broadcast(tx.clone()).unwrap();
    h.chain.lock().unwrap().mine();
    let txid = wait_for(|| match events.try_recv() {
        Ok(ReceiverEvent::FundingConfirmed { txid, .. }) => Some(txid),
        _ => None,
    })
    .await;
    assert_eq!(txid, tx.compute_txid());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggested_fee_margin_is_enough_for_two_channels() {
    let h = Harness::start(
        fast_config(),
        TestChannelOpener::new(OpenerBehaviour::default()),
    )
    .await;
    let rate = bdk_wallet::bitcoin::FeeRate::from_sat_per_vb_u32(2);
    let margin = payjoin_channel::funding::suggested_fee_margin(2, rate);
    let invoice = h
        .receiver
        .schedule(vec![channel(1, 200_000), channel(2, 300_000)], margin, HOUR)
        .await
        .unwrap();
    let mut sender = h.funded_sender(0, Amount::from_sat(1_000_000));
    let a = attempt(&mut sender, &invoice.uri, false).await;
    let tx = sign_proposal(&sender, a.result.expect("sender accepts"));
    let log = h.opener.log.lock().unwrap();
    assert_eq!(log.funded.len(), 2, "channel path, not the fallback");
    for (_, outpoint) in &log.funded {
        assert_eq!(outpoint.txid, tx.compute_txid());
    }
}
