//! BOLT 12 async payments between real nodes on devnet, the recipient's node really stopped.
//!
//! Topology (what an LSP deployment looks like): server S has a public channel to X, so S is
//! in the graph and LDK builds its blinded paths with S as introduction node; payer P and
//! recipient R are private wallets with one channel each to S.

mod harness;

use std::time::{Duration, Instant};

use async_offers::{SqliteStaticInvoiceStore, StaticInvoiceStore};
use harness::async_net::*;
use harness::*;
use lnedge_node::adapters::async_payments::{InvoiceStore, ServerRole};
use lnedge_node::model::PaymentStatus;
use lnedge_node::Node;

const LONG: Duration = Duration::from_secs(60);

type OnceStore = std::sync::OnceLock<std::sync::Arc<dyn StaticInvoiceStore>>;

/// Flows 1 and 5: R registers, goes offline, P pays; R comes back and claims. Then, R online,
/// the same offer is paid with an ordinary invoice and nothing waits in the mailbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offline_recipient_is_paid_when_it_returns() {
    let net = network(false, 1_000_000, |_| ServerRole::default()).await;
    let (s, p, r) = (&net.s, &net.p, &net.r);
    let (id, offer) = register(s, r, "alice").await;
    assert!(!offer.paths().is_empty(), "the offer is reached through S");
    let stored = server(s).invoices(Some(&id)).await.unwrap();
    assert!(!stored.is_empty(), "S stores R's static invoice");
    assert_eq!(recipient(r).offers().unwrap(), vec![offer.clone()]);
    let plain_invoice = r
        .bolt11_payment()
        .receive(Some(3_000_000), "while away", 3600)
        .unwrap();

    // R goes offline: its node really stops.
    let r_dir = net.dirs[3].path().to_path_buf();
    r.stop().await;
    wait_for("S sees R gone", LONG, || async {
        (!s.peers().is_connected(&r.node_id())).then_some(())
    })
    .await;

    // An ordinary payment to the offline R carries no hold flag: S fails it back at once.
    let id_plain = p.bolt11_payment().send(&plain_invoice, None).unwrap();
    let plain = p.payments().wait(&id_plain, LONG).await.unwrap();
    assert_eq!(plain.status, PaymentStatus::Failed, "{plain:?}");

    let held_before = server(s).stats().messages_held;
    let id_p = p.bolt12_payment().send(&offer, Some(21_000_000)).unwrap();
    // S answers with R's static invoice and holds P's message for R.
    wait_for(
        "S serves the static invoice and holds a message",
        LONG,
        || async {
            let st = server(s).stats();
            (st.requests_served >= 1 && st.messages_held > held_before).then_some(())
        },
    )
    .await;
    assert_eq!(
        p.payments().get(&id_p).unwrap().status,
        PaymentStatus::Pending
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        p.payments().get(&id_p).unwrap().status,
        PaymentStatus::Pending,
        "held while R is away"
    );

    // R comes back.
    let r = start_wallet(&net.chain, &r_dir, "recipient", true).await;
    let back = Instant::now();
    reconnect(&r, s).await;
    let received = wait_received(&r, 21_000_000).await;
    let claimed_after = back.elapsed();
    let sent = p.payments().wait(&id_p, LONG).await.unwrap();
    assert_eq!(sent.status, PaymentStatus::Succeeded, "{sent:?}");
    assert_eq!(sent.amount_msat, Some(21_000_000));
    assert_eq!(received.payment_hash, sent.payment_hash);
    eprintln!("R reconnected → payment claimed: {claimed_after:?}");
    assert!(server(s).stats().messages_delivered >= 1);

    // Flow 5: R online, the same offer is paid at once.
    let held_before = server(s).stats().messages_held;
    let id_2 = p.bolt12_payment().send(&offer, Some(5_000_000)).unwrap();
    let second = p.payments().wait(&id_2, LONG).await.unwrap();
    assert_eq!(second.status, PaymentStatus::Succeeded, "{second:?}");
    wait_received(&r, 5_000_000).await;
    assert_eq!(server(s).stats().messages_held, held_before, "nothing held");

    r.stop().await;
    for n in [&net.s, &net.p, &net.x] {
        n.stop().await;
    }
    net.chain.shutdown().await;
}

/// Flow 2 with an often-offline payer: P hands its HTLC to S and goes offline too; S restarts
/// while R is away and P's message waits in S's mailbox; R returns and is paid; P returns and
/// learns the payment succeeded.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_restart_keeps_the_mailbox_and_the_held_htlc() {
    let net = network(true, 1_000_000, |_| ServerRole::default()).await;
    let (s, p, r) = (&net.s, &net.p, &net.r);
    let (_, offer) = register(s, r, "bob").await;
    let [s_dir, _, p_dir, r_dir] = net.dirs.each_ref().map(|d| d.path().to_path_buf());
    r.stop().await;
    wait_for("S sees R gone", LONG, || async {
        (!s.peers().is_connected(&r.node_id())).then_some(())
    })
    .await;

    let outbound = |n: &Node| n.channels().list()[0].outbound_msat;
    let before = outbound(p);
    let id_p = p.bolt12_payment().send(&offer, Some(13_000_000)).unwrap();
    wait_for("P's message held for R", LONG, || async {
        (server(s).held_messages().await.unwrap() >= 1).then_some(())
    })
    .await;
    // P's HTLC is held at S: P may go now.
    wait_for("P's HTLC at S", LONG, || async {
        (outbound(p) + 13_000_000 <= before).then_some(())
    })
    .await;
    // The commitment dance that makes it irrevocable at S takes a few round trips over
    // loopback (tens of milliseconds); the node exposes no HTLC state to wait on.
    tokio::time::sleep(Duration::from_secs(2)).await;
    p.stop().await;

    // S restarts on the same address while R and P are away.
    let s_addr = s.listen_address().unwrap();
    s.stop().await;
    let s = start_server(&net.chain, &s_dir, s_addr, ServerRole::default()).await;
    assert!(
        server(&s).held_messages().await.unwrap() >= 1,
        "the mailbox survived"
    );

    let r = start_wallet(&net.chain, &r_dir, "recipient", true).await;
    reconnect(&r, &s).await;
    wait_received(&r, 13_000_000).await;

    let p = start_wallet(&net.chain, &p_dir, "payer", true).await;
    reconnect(&p, &s).await;
    let sent = p.payments().wait(&id_p, LONG).await.unwrap();
    assert_eq!(sent.status, PaymentStatus::Succeeded, "{sent:?}");

    for n in [&s, &p, &r, &net.x] {
        n.stop().await;
    }
    net.chain.shutdown().await;
}

/// Flow 3: rate limits per recipient, slot quotas, revocation and unregistered recipients.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_refuses_what_it_should_and_limits_floods_per_recipient() {
    let store: std::sync::Arc<OnceStore> = Default::default();
    let keep = store.clone();
    let net = network(false, 1_000_000, move |dir| {
        let sqlite: std::sync::Arc<dyn StaticInvoiceStore> =
            std::sync::Arc::new(SqliteStaticInvoiceStore::open(dir.join("shared.sqlite")).unwrap());
        let _ = keep.set(sqlite.clone());
        let mut role = ServerRole {
            store: InvoiceStore::Shared(sqlite),
            ..Default::default()
        };
        // Three invoice requests per recipient at once, then one every 3 s.
        role.limits.request_limit.capacity = 3;
        role.limits.request_limit.refill_every = Duration::from_secs(3);
        role
    })
    .await;
    let store = store.get().unwrap().clone();
    let (s, p, r) = (&net.s, &net.p, &net.r);

    // R may hold one invoice; P is registered too.
    let registered = server(s).register("carol", Some(1)).await.unwrap();
    recipient(r).apply(&registered.token).unwrap();
    let r_offer = recipient(r).wait_for_offer(LONG).await.unwrap();
    let (_, p_offer) = register(s, p, "dave").await;

    // A flood of invoice requests for R: three served, the rest dropped.
    for _ in 0..10 {
        p.bolt12_payment().send(&r_offer, Some(1_000_000)).unwrap();
    }
    wait_for("flood limited", LONG, || async {
        (server(s).stats().rate_limited >= 7).then_some(())
    })
    .await;
    // Meanwhile P's own offer is served at once.
    let id = r.bolt12_payment().send(&p_offer, Some(2_000_000)).unwrap();
    let paid = r.payments().wait(&id, LONG).await.unwrap();
    assert_eq!(paid.status, PaymentStatus::Succeeded, "{paid:?}");

    // R's second slot is over its quota of one.
    recipient(r).apply(&registered.token).unwrap();
    wait_for("over quota refused", LONG, || async {
        (server(s).stats().refused_over_quota >= 1).then_some(())
    })
    .await;
    assert_eq!(
        server(s)
            .invoices(Some(&registered.id))
            .await
            .unwrap()
            .len(),
        1
    );

    // Revoked: R's invoices are gone, its offer is no longer served, new invoices refused.
    assert_eq!(server(s).revoke(&registered.id).await.unwrap(), 1);
    tokio::time::sleep(Duration::from_secs(3)).await; // a token back in R's bucket
    let unserved = server(s).stats().requests_unserved;
    let id = p.bolt12_payment().send(&r_offer, Some(1_000_000)).unwrap();
    wait_for("revoked offer not served", LONG, || async {
        (server(s).stats().requests_unserved > unserved).then_some(())
    })
    .await;
    assert_ne!(
        p.payments().get(&id).unwrap().status,
        PaymentStatus::Succeeded
    );
    recipient(r).apply(&registered.token).unwrap();
    wait_for("revoked recipient refused", LONG, || async {
        (server(s).stats().refused_revoked >= 1).then_some(())
    })
    .await;

    // Unregistered: a token whose recipient the operator removed from the store.
    let erin = server(s).register("erin", None).await.unwrap();
    assert!(store.remove_recipient(&erin.id).await.unwrap());
    recipient(p).apply(&erin.token).unwrap();
    wait_for("unregistered recipient refused", LONG, || async {
        (server(s).stats().refused_unregistered >= 1).then_some(())
    })
    .await;

    for n in [&net.s, &net.p, &net.r, &net.x] {
        n.stop().await;
    }
    net.chain.shutdown().await;
}

/// Flow 4: two server nodes share one PostgreSQL store. R is registered through S1; S2, which
/// shares the registry, hands R a token of its own (LDK's blinded paths lead to the node that
/// built them), stores R's invoices and serves P; a revocation through S1 stops S2 serving R.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_share_one_postgres_store() {
    let Some(db) = lnedge_storage::test_postgres::TestSchema::new() else {
        return;
    };
    init_logs();
    let shared = || async {
        let store = async_offers::PostgresStaticInvoiceStore::connect(
            &db.url,
            async_offers::PostgresOptions {
                schema: Some(db.schema.clone()),
                ..Default::default()
            },
        )
        .await
        .expect("postgres store");
        ServerRole {
            store: InvoiceStore::Shared(std::sync::Arc::new(store)),
            ..Default::default()
        }
    };
    let chain = TestChain::start().await;
    let dirs = [(); 4].map(|()| tempfile::tempdir().unwrap());
    let s1 = start_server(&chain, dirs[0].path(), loopback(), shared().await).await;
    let s2 = start_server(&chain, dirs[1].path(), loopback(), shared().await).await;
    let p = start_wallet(&chain, dirs[2].path(), "payer", false).await;
    let r = start_wallet(&chain, dirs[3].path(), "recipient", true).await;
    chain.fund(&s1.wallet().new_address().unwrap(), 1);
    chain.fund(&s2.wallet().new_address().unwrap(), 1);
    chain.fund(&p.wallet().new_address().unwrap(), 1);
    for n in [&s1, &s2, &p] {
        n.sync_chain().await;
    }
    connect(&s1, &s2).await;
    connect(&p, &s2).await;
    connect(&r, &s2).await;
    open_channel(&chain, &s1, &s2, 500_000, true).await;
    open_channel(&chain, &p, &s2, 1_000_000, false).await;
    open_channel(&chain, &s2, &r, 1_000_000, false).await;
    wait_for("S2 in its own graph", LONG, || async {
        (s2.info().graph_channels >= 1).then_some(())
    })
    .await;

    let registered = server(&s1).register("frank", None).await.unwrap();
    let token = server(&s2).token(&registered.id).await.expect("S2 knows R");
    recipient(&r).apply(&token).unwrap();
    let offer = recipient(&r).wait_for_offer(LONG).await.unwrap();
    assert!(
        !server(&s1)
            .invoices(Some(&registered.id))
            .await
            .unwrap()
            .is_empty(),
        "S1 sees the invoice S2 stored"
    );

    r.stop().await;
    wait_for("S2 sees R gone", LONG, || async {
        (!s2.peers().is_connected(&r.node_id())).then_some(())
    })
    .await;
    let id = p.bolt12_payment().send(&offer, Some(7_000_000)).unwrap();
    wait_for("S2 serves R's invoice", LONG, || async {
        (server(&s2).stats().requests_served >= 1).then_some(())
    })
    .await;
    let r = start_wallet(&chain, dirs[3].path(), "recipient", true).await;
    reconnect(&r, &s2).await;
    wait_received(&r, 7_000_000).await;
    assert_eq!(
        p.payments().wait(&id, LONG).await.unwrap().status,
        PaymentStatus::Succeeded
    );

    // Revoked through S1: S2 no longer serves R.
    server(&s1).revoke(&registered.id).await.unwrap();
    let unserved = server(&s2).stats().requests_unserved;
    p.bolt12_payment().send(&offer, Some(1_000_000)).unwrap();
    wait_for("S2 refuses the revoked recipient", LONG, || async {
        (server(&s2).stats().requests_unserved > unserved).then_some(())
    })
    .await;

    for n in [&s1, &s2, &p, &r] {
        n.stop().await;
    }
    chain.shutdown().await;
    db.drop_schema().await;
}
