//! The order manager enforcing accepted quotes on HTLCs (spec §10): policy checks, in-flight
//! accounting, expiry, cancellation, restart reload (SQLite file), and two workers sharing one
//! PostgreSQL database.

use rfq_engine::order::{PolicyKind, ASSET_HTLC_MSAT};
use rfq_engine::quote::{CircuitKey, QuoteKind, StoredQuote};
use rfq_engine::store::{QuoteStore, SqliteQuoteStore};
use rfq_engine::{HtlcDecision, HtlcFailure, HtlcView, OrderManager, RfqEvent};
use rfq_wire::htlc::AssetBalance;
use rfq_wire::tlv::ExtraRecords;
use rfq_wire::{
    AssetId, AssetSpecifier, BuyAccept, BuyRequest, ExecutionPolicy, FixedPoint, HtlcRecords,
    Metadata, QuoteAccept, QuoteRequest, QuoteSignature, RfqId,
};
use std::sync::Arc;

#[path = "common/test_db.rs"]
mod test_db;
use test_db::TestDb;

const NOW: u64 = 1_800_000_000;
const ASSET: [u8; 32] = [0x22; 32];
const REAL_CHANNEL: u64 = 800_000 << 40 | 1 << 16;

/// 10 000 000 units per BTC: 1 unit = 10 000 msat.
const RATE: FixedPoint = FixedPoint::new(10_000_000, 0);

fn quote(n: u8, kind: QuoteKind, max_amount: u64, expiry: u64) -> StoredQuote {
    let mut entropy = [n; 32];
    entropy[0] = kind as u8;
    let id = RfqId::with_alias_scid(entropy);
    let request = QuoteRequest::from(BuyRequest {
        id,
        expiry,
        asset: AssetSpecifier::AssetId(AssetId(ASSET)),
        max_units: max_amount,
        min_units: None,
        rate_hint: None,
        rate_limit: None,
        execution_policy: ExecutionPolicy::ImmediateOrCancel,
        metadata: Metadata::default(),
    });
    let accept = QuoteAccept::from(BuyAccept {
        id,
        expiry,
        rate: RATE,
        fill_units: None,
        signature: QuoteSignature::ZERO,
    });
    StoredQuote {
        id,
        peer: [2; 33],
        kind,
        asset: AssetSpecifier::AssetId(AssetId(ASSET)),
        rate: RATE,
        expiry,
        max_amount,
        min_amount: None,
        request,
        accept,
        created_at: NOW,
    }
}

fn circuit(n: u64) -> CircuitKey {
    CircuitKey {
        channel: [7; 32],
        htlc_id: n,
    }
}

/// An HTLC paying into the sale quote's SCID (the buyer's invoice route hint).
fn to_scid(q: &StoredQuote, msat: u64, n: u64) -> HtlcView<'static> {
    HtlcView {
        incoming_scid: REAL_CHANNEL,
        outgoing_scid: q.scid().0,
        incoming_msat: msat + 1_000,
        outgoing_msat: msat,
        records: None,
        circuit: circuit(n),
        now: NOW,
    }
}

fn asset_records(q: &StoredQuote, units: u64) -> HtlcRecords {
    HtlcRecords {
        asset_balances: Some(vec![AssetBalance {
            asset_id: AssetId(ASSET),
            amount: units,
            extra: ExtraRecords::new(),
        }]),
        rfq_id: Some(q.id),
        ..HtlcRecords::default()
    }
}

async fn manager() -> OrderManager {
    let store = Arc::new(SqliteQuoteStore::open_in_memory().unwrap());
    OrderManager::load(store, NOW).await.unwrap()
}

fn forward(d: HtlcDecision) -> rfq_engine::ForwardInstruction {
    match d {
        HtlcDecision::Forward(f) => f,
        other => panic!("expected a forward, got {other:?}"),
    }
}

fn failure(d: HtlcDecision) -> HtlcFailure {
    match d {
        HtlcDecision::Fail(f) => f,
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn sale_policy_forwards_asset_units_within_the_maximum() {
    let orders = manager().await;
    // 100 units at 10 000 msat each: 1 000 000 msat may be in flight.
    let q = quote(1, QuoteKind::Sale, 100, NOW + 60);
    orders.add_quote(&q).await.unwrap();
    let policy = orders.policy(q.scid().0).unwrap();
    assert_eq!(policy.kind, PolicyKind::Sale);
    assert_eq!(policy.max_msat, 1_000_000);

    let f = forward(orders.check_htlc(&to_scid(&q, 600_000, 1)));
    assert_eq!(f.quote_id, q.id);
    assert_eq!(f.outgoing_msat, ASSET_HTLC_MSAT);
    assert_eq!(f.asset_units, 60);
    assert_eq!(f.outgoing_records, Some(asset_records(&q, 60)));
    assert_eq!(policy.in_flight(), 600_000);
    // The same circuit again is not counted twice.
    forward(orders.check_htlc(&to_scid(&q, 600_000, 1)));
    assert_eq!(policy.in_flight(), 600_000);
    // 600 000 + 500 000 > 1 000 000.
    assert_eq!(
        failure(orders.check_htlc(&to_scid(&q, 500_000, 2))),
        HtlcFailure::ExceedsMax {
            id: q.id,
            in_flight: 600_000,
            requested: 500_000,
            max: 1_000_000
        }
    );
    forward(orders.check_htlc(&to_scid(&q, 400_000, 3)));
    assert_eq!(policy.in_flight(), 1_000_000);
    // Settling the first frees its amount.
    assert_eq!(orders.release(circuit(1)).await.unwrap(), Some(600_000));
    assert_eq!(policy.in_flight(), 400_000);
    forward(orders.check_htlc(&to_scid(&q, 500_000, 2)));

    // Less than one unit cannot be carried.
    assert!(matches!(
        failure(orders.check_htlc(&to_scid(&q, 9_999, 4))),
        HtlcFailure::BelowOneUnit { msat: 9_999, .. }
    ));
}

#[tokio::test]
async fn expired_quotes_are_never_honoured_and_are_swept() {
    let orders = manager().await;
    let mut events = orders.subscribe();
    let q = quote(2, QuoteKind::Sale, 100, NOW + 10);
    orders.add_quote(&q).await.unwrap();
    let _accepted = events.recv().await.unwrap();
    let mut late = to_scid(&q, 100_000, 1);
    late.now = NOW + 10;
    forward(orders.check_htlc(&late)); // now == expiry is still valid (tapd: now > expiry fails)
    late.now = NOW + 11;
    late.circuit = circuit(2);
    assert_eq!(
        failure(orders.check_htlc(&late)),
        HtlcFailure::Expired {
            id: q.id,
            expiry: NOW + 10
        }
    );
    assert_eq!(orders.sweep_expired(NOW + 11).await.unwrap(), vec![q.id]);
    assert_eq!(orders.policy_count(), 0);
    assert!(orders.quote(q.id).await.unwrap().is_none());
    assert_eq!(
        events.recv().await.unwrap(),
        RfqEvent::QuoteExpired { id: q.id }
    );
}

#[tokio::test]
async fn purchase_policy_needs_the_quote_id_and_enough_assets() {
    let orders = manager().await;
    // We buy the asset: up to 2 000 000 msat out.
    let q = quote(3, QuoteKind::Purchase, 2_000_000, NOW + 60);
    orders.add_quote(&q).await.unwrap();
    let records = asset_records(&q, 99);
    // 99 units + 1 for rounding = 1 000 000 msat covers 1 000 000 out.
    let htlc = HtlcView {
        incoming_scid: q.scid().0,
        outgoing_scid: REAL_CHANNEL,
        incoming_msat: ASSET_HTLC_MSAT,
        outgoing_msat: 1_000_000,
        records: Some(&records),
        circuit: circuit(1),
        now: NOW,
    };
    let f = forward(orders.check_htlc(&htlc));
    assert_eq!(f.incoming_value_msat, Some(1_000_000));
    assert_eq!(f.asset_units, 99);
    assert_eq!(f.outgoing_records, None);

    let too_much = HtlcView {
        outgoing_msat: 1_000_001,
        circuit: circuit(2),
        ..htlc
    };
    assert_eq!(
        failure(orders.check_htlc(&too_much)),
        HtlcFailure::InsufficientAssets {
            id: q.id,
            offered_msat: 1_000_000,
            needed_msat: 1_000_001
        }
    );
    let no_id = HtlcRecords {
        rfq_id: None,
        ..records.clone()
    };
    let anonymous = HtlcView {
        records: Some(&no_id),
        circuit: circuit(3),
        ..htlc
    };
    assert_eq!(
        failure(orders.check_htlc(&anonymous)),
        HtlcFailure::MissingRfqId { id: q.id }
    );
}

#[tokio::test]
async fn unrelated_htlcs_pass_and_noop_without_quote_fails() {
    let orders = manager().await;
    let plain = HtlcView {
        incoming_scid: 1,
        outgoing_scid: 2,
        incoming_msat: 1_000,
        outgoing_msat: 900,
        records: None,
        circuit: circuit(1),
        now: NOW,
    };
    assert_eq!(orders.check_htlc(&plain), HtlcDecision::Unrelated);
    let noop = HtlcRecords {
        noop_add: Some(true),
        ..HtlcRecords::default()
    };
    assert_eq!(
        failure(orders.check_htlc(&HtlcView {
            records: Some(&noop),
            ..plain
        })),
        HtlcFailure::NoopWithoutQuote
    );
    // A sale quote's policy does not catch HTLCs going elsewhere.
    let q = quote(4, QuoteKind::Sale, 100, NOW + 60);
    orders.add_quote(&q).await.unwrap();
    assert_eq!(orders.check_htlc(&plain), HtlcDecision::Unrelated);
    // Peer-accepted quotes are stored but not enforced on forwards.
    let ours = quote(5, QuoteKind::PeerAcceptedBuy, 100, NOW + 60);
    orders.add_quote(&ours).await.unwrap();
    assert!(orders.policy(ours.scid().0).is_none());
    assert_eq!(orders.quote(ours.id).await.unwrap(), Some(ours));
}

#[tokio::test]
async fn cancel_removes_the_policy() {
    let orders = manager().await;
    let q = quote(6, QuoteKind::Sale, 100, NOW + 60);
    orders.add_quote(&q).await.unwrap();
    assert!(orders.cancel(q.id).await.unwrap());
    assert!(!orders.cancel(q.id).await.unwrap());
    assert_eq!(
        orders.check_htlc(&to_scid(&q, 100_000, 1)),
        HtlcDecision::Unrelated
    );
}

#[tokio::test]
async fn restart_reloads_policies_peer_quotes_and_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quotes.sqlite");
    let sale = quote(7, QuoteKind::Sale, 100, NOW + 60);
    let peer = quote(8, QuoteKind::PeerAcceptedSell, 5_000, NOW + 60);
    {
        let store = Arc::new(SqliteQuoteStore::open(&path).unwrap());
        let orders = OrderManager::load(store, NOW).await.unwrap();
        orders.add_quote(&sale).await.unwrap();
        orders.add_quote(&peer).await.unwrap();
        forward(orders.admit_htlc(&to_scid(&sale, 700_000, 1)).await);
    }
    let store = Arc::new(SqliteQuoteStore::open(&path).unwrap());
    let orders = OrderManager::load(store, NOW).await.unwrap();
    assert_eq!(orders.policy_count(), 1);
    assert_eq!(orders.policy(sale.scid().0).unwrap().in_flight(), 700_000);
    assert_eq!(orders.quote(peer.id).await.unwrap(), Some(peer));
    assert!(matches!(
        failure(orders.admit_htlc(&to_scid(&sale, 400_000, 2)).await),
        HtlcFailure::ExceedsMax {
            in_flight: 700_000,
            ..
        }
    ));
    assert_eq!(orders.release(circuit(1)).await.unwrap(), Some(700_000));
    forward(orders.admit_htlc(&to_scid(&sale, 400_000, 2)).await);
}

/// Two workers (two order managers, two connections) on one PostgreSQL database: a quote one
/// accepted is enforced by the other, and concurrent forwards on both never exceed the
/// quote's maximum together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_quotes_and_in_flight_on_postgres() {
    let Some(db) = TestDb::new() else { return };
    let a: Arc<dyn QuoteStore> = db.store().await;
    let b: Arc<dyn QuoteStore> = db.store().await;
    let worker_a = Arc::new(OrderManager::load(a, NOW).await.unwrap());
    let worker_b = Arc::new(OrderManager::load(b, NOW).await.unwrap());
    // 100 units = 1 000 000 msat; worker A accepted it.
    let q = quote(9, QuoteKind::Sale, 100, NOW + 60);
    worker_a.add_quote(&q).await.unwrap();
    assert!(worker_b.policy(q.scid().0).is_none());

    // 40 HTLCs of 100 000 msat, alternating between the workers, all at once: exactly ten fit.
    let mut tasks = Vec::new();
    for n in 0..40u64 {
        let worker = if n.is_multiple_of(2) {
            &worker_a
        } else {
            &worker_b
        }
        .clone();
        let q = q.clone();
        tasks.push(tokio::spawn(async move {
            worker.admit_htlc(&to_scid(&q, 100_000, 1_000 + n)).await
        }));
    }
    let mut forwarded = 0;
    for t in tasks {
        match t.await.unwrap() {
            HtlcDecision::Forward(_) => forwarded += 1,
            HtlcDecision::Fail(HtlcFailure::ExceedsMax { .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(forwarded, 10, "the shared maximum admits exactly ten");
    assert_eq!(
        worker_a.store().in_flight_total(q.id).await.unwrap(),
        1_000_000
    );
    // Worker B learned the quote from the shared store on first use.
    assert!(worker_b.policy(q.scid().0).is_some());
}

#[tokio::test]
async fn sweeper_events_and_lookups() {
    let orders = Arc::new(manager().await);
    let mut events = orders.subscribe();
    let q = quote(10, QuoteKind::Sale, 100, NOW + 5);
    let other = quote(11, QuoteKind::Sale, 100, NOW + 5);
    orders.add_quote(&q).await.unwrap();
    orders.add_quote(&other).await.unwrap();
    assert_eq!(
        orders
            .quote_by_scid(q.scid().0)
            .await
            .unwrap()
            .map(|x| x.id),
        Some(q.id)
    );
    assert_eq!(orders.quotes().await.unwrap().len(), 2);

    // admit_htlc publishes what it decided.
    forward(orders.admit_htlc(&to_scid(&q, 50_000, 1)).await);
    failure(orders.admit_htlc(&to_scid(&q, 5_000_000, 2)).await);
    assert!(orders.cancel(other.id).await.unwrap());
    assert_eq!(orders.release(circuit(1)).await.unwrap(), Some(50_000));

    // The sweeper runs on its own and removes what expired.
    let sweeper = orders.spawn_sweeper(std::time::Duration::from_millis(10), Arc::new(|| NOW + 6));
    let mut seen = Vec::new();
    while !matches!(seen.last(), Some(RfqEvent::QuoteExpired { .. })) {
        let event = tokio::time::timeout(std::time::Duration::from_secs(5), events.recv())
            .await
            .expect("the sweeper expires the quote")
            .unwrap();
        seen.push(event);
    }
    sweeper.abort();
    let kinds: Vec<&str> = seen
        .iter()
        .map(|e| match e {
            RfqEvent::QuoteAccepted { .. } => "accepted",
            RfqEvent::HtlcAccepted { .. } => "htlc_accepted",
            RfqEvent::HtlcFailed { .. } => "htlc_failed",
            RfqEvent::QuoteCancelled { .. } => "cancelled",
            RfqEvent::HtlcReleased { .. } => "released",
            RfqEvent::QuoteExpired { .. } => "expired",
            RfqEvent::QuoteRejected { .. } => "rejected",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "accepted",
            "accepted",
            "htlc_accepted",
            "htlc_failed",
            "cancelled",
            "released",
            "expired"
        ]
    );
    assert_eq!(orders.policy_count(), 0);
    assert!(orders.quote(q.id).await.unwrap().is_none());
}
