//! The conformance suite every [`QuoteStore`] backend passes. Each backend's test file runs
//! each function against a fresh store (or two stores on one fresh database).

// Each test binary that includes `common` uses only some of these helpers.
#![allow(dead_code)]

use rfq_engine::{CircuitKey, QuoteKind, QuoteStore, Reservation, StoreError, StoredQuote};
use rfq_wire::tlv::{ExtraRecord, ExtraRecords};
use rfq_wire::{
    AssetId, AssetSpecifier, BuyAccept, BuyRequest, ExecutionPolicy, FixedPoint, GroupKey,
    Metadata, QuoteAccept, QuoteRequest, QuoteSignature, RfqId, SellAccept, SellRequest,
};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The "now" of every test, Unix seconds.
pub const NOW: u64 = 1_700_000_000;

/// The generator point, a valid group key.
const G: [u8; 33] = [
    0x02, 0x79, 0xbe, 0x66, 0x7e, 0xf9, 0xdc, 0xbb, 0xac, 0x55, 0xa0, 0x62, 0x95, 0xce, 0x87, 0x0b,
    0x07, 0x02, 0x9b, 0xfc, 0xdb, 0x2d, 0xce, 0x28, 0xd9, 0x59, 0xf2, 0x81, 0x5b, 0x16, 0xf8, 0x17,
    0x98,
];

/// A quote id whose SCID is `n` (so distinct `n` give distinct SCIDs).
pub fn id(n: u64) -> RfqId {
    let mut bytes = [0xa5; 32];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    bytes[24..].copy_from_slice(&n.to_be_bytes());
    RfqId(bytes)
}

/// A peer node id.
pub fn peer(n: u8) -> [u8; 33] {
    let mut p = [n; 33];
    p[0] = 0x02;
    p
}

/// A circuit.
pub fn circuit(channel: u8, htlc_id: u64) -> CircuitKey {
    CircuitKey {
        channel: [channel; 32],
        htlc_id,
    }
}

/// A realistic quote of `kind`, with request and accept that agree with it. Odd `n` use a
/// group key, even ones an asset id; `n % 3 == 0` sets a minimum and an unknown request record.
pub fn quote(n: u64, kind: QuoteKind, expiry: u64) -> StoredQuote {
    let id = id(n);
    let asset = if n % 2 == 1 {
        AssetSpecifier::GroupKey(GroupKey::from_bytes(G).expect("G is a point"))
    } else {
        AssetSpecifier::AssetId(AssetId([0x11; 32]))
    };
    let rate = FixedPoint::new(67_918_900_000 + u128::from(n), 2);
    let min = n.is_multiple_of(3).then_some(n.saturating_add(1_000));
    let max = n.saturating_add(5_000_000);
    let buy = matches!(kind, QuoteKind::Sale | QuoteKind::PeerAcceptedBuy);
    let mut request: QuoteRequest = if buy {
        BuyRequest {
            id,
            expiry: expiry.saturating_add(60),
            asset,
            max_units: max,
            min_units: min,
            rate_hint: Some(rate),
            rate_limit: None,
            execution_policy: ExecutionPolicy::ImmediateOrCancel,
            metadata: Metadata(b"{\"n\":1}".to_vec()),
        }
        .into()
    } else {
        SellRequest {
            id,
            expiry: expiry.saturating_add(60),
            asset,
            max_msat: max,
            min_msat: min,
            rate_hint: None,
            rate_limit: Some(FixedPoint::new(1, 0)),
            execution_policy: ExecutionPolicy::FillOrKill,
            metadata: Metadata::default(),
        }
        .into()
    };
    if n.is_multiple_of(3) {
        request.extra = ExtraRecords::from_records(
            vec![ExtraRecord {
                tlv: 1001,
                value: vec![1, 2, 3],
            }],
            &[],
        )
        .expect("valid extra records");
    }
    let accept: QuoteAccept = if buy {
        BuyAccept {
            id,
            expiry,
            rate,
            fill_units: None,
            signature: QuoteSignature::ZERO,
        }
        .into()
    } else {
        SellAccept {
            id,
            expiry,
            rate,
            fill_msat: Some(max - 1),
            signature: QuoteSignature::ZERO,
        }
        .into()
    };
    StoredQuote {
        id,
        peer: peer((n % 7) as u8),
        kind,
        asset,
        rate,
        expiry,
        max_amount: max,
        min_amount: min,
        request,
        accept,
        created_at: (NOW - 100).saturating_add(n),
    }
}

const KINDS: [QuoteKind; 4] = [
    QuoteKind::Sale,
    QuoteKind::Purchase,
    QuoteKind::PeerAcceptedBuy,
    QuoteKind::PeerAcceptedSell,
];

/// Insert, get by id and by SCID, list, remove.
pub async fn crud(store: &dyn QuoteStore) {
    assert_eq!(store.list_quotes().await.unwrap(), vec![]);
    assert_eq!(store.get_quote(id(1)).await.unwrap(), None);

    let quotes: Vec<StoredQuote> = (1..=8)
        .map(|n| quote(n, KINDS[(n % 4) as usize], NOW + 600))
        .collect();
    // Insert out of creation order: the list comes back oldest first.
    for q in quotes.iter().rev() {
        store.insert_quote(q).await.unwrap();
    }
    for q in &quotes {
        assert_eq!(store.get_quote(q.id).await.unwrap().as_ref(), Some(q));
        assert_eq!(
            store.get_quote_by_scid(q.scid().0).await.unwrap().as_ref(),
            Some(q)
        );
    }
    assert_eq!(store.get_quote_by_scid(999).await.unwrap(), None);
    assert_eq!(store.list_quotes().await.unwrap(), quotes);

    assert!(store.remove_quote(quotes[2].id).await.unwrap());
    assert!(!store.remove_quote(quotes[2].id).await.unwrap());
    assert_eq!(store.get_quote(quotes[2].id).await.unwrap(), None);
    assert_eq!(
        store.get_quote_by_scid(quotes[2].scid().0).await.unwrap(),
        None
    );
    let mut rest = quotes.clone();
    rest.remove(2);
    assert_eq!(store.list_quotes().await.unwrap(), rest);
}

/// Values at the ends of every range survive a round trip; an expiry of 2^63 or more is in the
/// future for any real clock.
pub async fn extreme_values(store: &dyn QuoteStore) {
    let mut q = quote(u64::MAX, QuoteKind::Sale, u64::MAX);
    q.max_amount = u64::MAX;
    q.min_amount = Some(0);
    q.created_at = u64::MAX;
    q.rate = FixedPoint::new(u128::MAX, 255);
    store.insert_quote(&q).await.unwrap();
    assert_eq!(store.get_quote(q.id).await.unwrap().as_ref(), Some(&q));
    assert_eq!(
        store.get_quote_by_scid(u64::MAX).await.unwrap().as_ref(),
        Some(&q)
    );
    let mut late = quote(1 << 63, QuoteKind::Purchase, 1 << 63);
    late.created_at = 0;
    store.insert_quote(&late).await.unwrap();
    assert_eq!(
        store.list_quotes().await.unwrap(),
        vec![late.clone(), q.clone()]
    );

    assert_eq!(store.remove_expired(NOW).await.unwrap(), vec![]);
    assert_eq!(store.remove_expired(1 << 63).await.unwrap(), vec![]);
    assert_eq!(
        store.remove_expired((1 << 63) + 1).await.unwrap(),
        vec![late.id]
    );
    assert_eq!(store.remove_expired(u64::MAX).await.unwrap(), vec![]);

    let big = circuit(0xff, u64::MAX);
    assert_eq!(
        store
            .reserve_in_flight(q.id, big, u64::MAX, u64::MAX)
            .await
            .unwrap(),
        Reservation::Reserved {
            total_in_flight: u64::MAX
        }
    );
    assert_eq!(
        store
            .reserve_in_flight(q.id, circuit(0xff, 0), 1, u64::MAX)
            .await
            .unwrap(),
        Reservation::ExceedsMax {
            in_flight: u64::MAX,
            requested: 1,
            max: u64::MAX
        }
    );
    assert_eq!(store.in_flight_total(q.id).await.unwrap(), u64::MAX);
    assert_eq!(
        store.list_in_flight().await.unwrap(),
        vec![(big, q.id, u64::MAX)]
    );
    assert_eq!(store.release_in_flight(big).await.unwrap(), Some(u64::MAX));
}

/// A second quote with the same id, or with the same SCID, is refused and changes nothing.
pub async fn duplicates(store: &dyn QuoteStore) {
    let q = quote(5, QuoteKind::Sale, NOW + 600);
    store.insert_quote(&q).await.unwrap();

    let mut same_id = quote(5, QuoteKind::Purchase, NOW + 900);
    same_id.peer = peer(99);
    match store.insert_quote(&same_id).await {
        Err(StoreError::DuplicateId { id }) => assert_eq!(id, q.id),
        other => panic!("expected DuplicateId, got {other:?}"),
    }

    let mut same_scid = quote(5, QuoteKind::PeerAcceptedBuy, NOW + 900);
    same_scid.id.0[0] ^= 0xff;
    assert_eq!(same_scid.scid(), q.scid());
    match store.insert_quote(&same_scid).await {
        Err(StoreError::DuplicateScid { scid }) => assert_eq!(scid, q.scid()),
        other => panic!("expected DuplicateScid, got {other:?}"),
    }
    assert_eq!(store.list_quotes().await.unwrap(), vec![q]);
}

/// Many concurrent inserts, some of them duplicates: each unique quote is stored once and each
/// duplicate is refused on its own (a failing write does not take others down with it).
pub async fn concurrent_inserts(store: Arc<dyn QuoteStore>) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..120u64 {
        let store = store.clone();
        tasks.spawn(async move {
            let n = i % 80;
            let q = quote(n, KINDS[(n % 4) as usize], NOW + 600);
            (n, store.insert_quote(&q).await)
        });
    }
    let mut ok = HashSet::new();
    let mut dup = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            (n, Ok(())) => assert!(ok.insert(n), "quote {n} stored twice"),
            (_, Err(StoreError::DuplicateId { .. })) => dup += 1,
            (_, Err(e)) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((ok.len(), dup), (80, 40));
    assert_eq!(store.list_quotes().await.unwrap().len(), 80);
}

/// Expired quotes go, with their in-flight rows; live ones and theirs stay.
pub async fn expiry(store: &dyn QuoteStore) {
    let old = quote(1, QuoteKind::Sale, NOW - 1);
    let edge = quote(2, QuoteKind::Purchase, NOW);
    let live = quote(3, QuoteKind::Sale, NOW + 600);
    for q in [&old, &edge, &live] {
        store.insert_quote(q).await.unwrap();
    }
    for (n, q) in [&old, &edge, &live].into_iter().enumerate() {
        let r = store
            .reserve_in_flight(q.id, circuit(1, n as u64), 1_000, 10_000)
            .await
            .unwrap();
        assert_eq!(
            r,
            Reservation::Reserved {
                total_in_flight: 1_000
            }
        );
    }

    // A quote holds through its expiry second.
    assert_eq!(store.remove_expired(NOW).await.unwrap(), vec![old.id]);
    assert_eq!(store.get_quote(old.id).await.unwrap(), None);
    assert_eq!(store.in_flight_total(old.id).await.unwrap(), 0);
    assert_eq!(store.release_in_flight(circuit(1, 0)).await.unwrap(), None);
    assert_eq!(
        store
            .reserve_in_flight(old.id, circuit(1, 9), 1, 10)
            .await
            .unwrap(),
        Reservation::UnknownQuote
    );

    let mut gone = store.remove_expired(NOW + 601).await.unwrap();
    gone.sort();
    let mut expected = vec![edge.id, live.id];
    expected.sort();
    assert_eq!(gone, expected);
    assert_eq!(store.list_quotes().await.unwrap(), vec![]);
    assert_eq!(store.list_in_flight().await.unwrap(), vec![]);

    // Cancelling a quote also drops its reservations.
    let q = quote(4, QuoteKind::Sale, NOW + 600);
    store.insert_quote(&q).await.unwrap();
    store
        .reserve_in_flight(q.id, circuit(2, 0), 5, 10)
        .await
        .unwrap();
    assert!(store.remove_quote(q.id).await.unwrap());
    assert_eq!(store.list_in_flight().await.unwrap(), vec![]);
}

/// A (peer, id) pair is new once; the same id from another peer is new; forgetting works.
pub async fn request_ids(store: &dyn QuoteStore) {
    assert!(store.note_request_id(peer(1), id(1)).await.unwrap());
    assert!(!store.note_request_id(peer(1), id(1)).await.unwrap());
    assert!(store.note_request_id(peer(2), id(1)).await.unwrap());
    assert!(store.note_request_id(peer(1), id(2)).await.unwrap());

    // Recorded "now" by the store's clock: nothing was recorded before 1970 + 1 s.
    assert_eq!(store.forget_request_ids(1).await.unwrap(), 0);
    assert!(!store.note_request_id(peer(1), id(1)).await.unwrap());
    assert_eq!(store.forget_request_ids(u64::MAX).await.unwrap(), 3);
    assert!(store.note_request_id(peer(1), id(1)).await.unwrap());
}

/// Reserve and release: limits, idempotent re-reservation, unknown quotes.
pub async fn reservations(store: &dyn QuoteStore) {
    let a = quote(1, QuoteKind::Sale, NOW + 600);
    let b = quote(2, QuoteKind::Purchase, NOW + 600);
    store.insert_quote(&a).await.unwrap();
    store.insert_quote(&b).await.unwrap();
    let max = 10_000;

    assert_eq!(
        store
            .reserve_in_flight(id(77), circuit(1, 1), 1, max)
            .await
            .unwrap(),
        Reservation::UnknownQuote
    );
    assert_eq!(
        store
            .reserve_in_flight(a.id, circuit(1, 1), 4_000, max)
            .await
            .unwrap(),
        Reservation::Reserved {
            total_in_flight: 4_000
        }
    );
    // Idempotent: the same circuit again, even with another amount, changes nothing.
    assert_eq!(
        store
            .reserve_in_flight(a.id, circuit(1, 1), 9_999, max)
            .await
            .unwrap(),
        Reservation::AlreadyReserved(4_000)
    );
    assert_eq!(
        store
            .reserve_in_flight(a.id, circuit(1, 2), 6_000, max)
            .await
            .unwrap(),
        Reservation::Reserved {
            total_in_flight: 10_000
        }
    );
    assert_eq!(
        store
            .reserve_in_flight(a.id, circuit(1, 3), 1, max)
            .await
            .unwrap(),
        Reservation::ExceedsMax {
            in_flight: 10_000,
            requested: 1,
            max
        }
    );
    // Zero msat always fits; another quote has its own limit.
    assert_eq!(
        store
            .reserve_in_flight(a.id, circuit(1, 4), 0, max)
            .await
            .unwrap(),
        Reservation::Reserved {
            total_in_flight: 10_000
        }
    );
    assert_eq!(
        store
            .reserve_in_flight(b.id, circuit(2, 1), 7_000, max)
            .await
            .unwrap(),
        Reservation::Reserved {
            total_in_flight: 7_000
        }
    );
    assert_eq!(store.in_flight_total(a.id).await.unwrap(), 10_000);
    assert_eq!(store.in_flight_total(b.id).await.unwrap(), 7_000);
    assert_eq!(store.in_flight_total(id(77)).await.unwrap(), 0);
    assert_eq!(
        store.list_in_flight().await.unwrap(),
        vec![
            (circuit(1, 1), a.id, 4_000),
            (circuit(1, 2), a.id, 6_000),
            (circuit(1, 4), a.id, 0),
            (circuit(2, 1), b.id, 7_000),
        ]
    );

    assert_eq!(
        store.release_in_flight(circuit(1, 2)).await.unwrap(),
        Some(6_000)
    );
    assert_eq!(store.release_in_flight(circuit(1, 2)).await.unwrap(), None);
    assert_eq!(store.release_in_flight(circuit(9, 9)).await.unwrap(), None);
    assert_eq!(store.in_flight_total(a.id).await.unwrap(), 4_000);
    assert_eq!(
        store
            .reserve_in_flight(a.id, circuit(1, 3), 6_000, max)
            .await
            .unwrap(),
        Reservation::Reserved {
            total_in_flight: 10_000
        }
    );
    // A circuit reserved against one quote is reported as such when offered to another.
    assert_eq!(
        store
            .reserve_in_flight(b.id, circuit(1, 3), 1, max)
            .await
            .unwrap(),
        Reservation::AlreadyReserved(6_000)
    );
}

/// What [`before_restart`] wrote, to check after reopening.
pub struct Persisted {
    quotes: Vec<StoredQuote>,
    in_flight: Vec<(CircuitKey, RfqId, u64)>,
}

/// Writes quotes, reservations and request ids, then drops the store.
pub async fn before_restart(store: Arc<dyn QuoteStore>) -> Persisted {
    let quotes: Vec<StoredQuote> = (10..14)
        .map(|n| quote(n, KINDS[(n % 4) as usize], NOW + 600))
        .collect();
    for q in &quotes {
        store.insert_quote(q).await.unwrap();
    }
    store
        .reserve_in_flight(quotes[0].id, circuit(3, 1), 1_500, 2_000)
        .await
        .unwrap();
    store
        .reserve_in_flight(quotes[1].id, circuit(3, 2), 2_500, 3_000)
        .await
        .unwrap();
    assert!(store.note_request_id(peer(4), id(10)).await.unwrap());
    let in_flight = store.list_in_flight().await.unwrap();
    assert_eq!(in_flight.len(), 2);
    drop(store);
    Persisted { quotes, in_flight }
}

/// Everything [`before_restart`] wrote is there after reopening, and still enforced.
pub async fn after_restart(store: &dyn QuoteStore, before: Persisted) {
    assert_eq!(store.list_quotes().await.unwrap(), before.quotes);
    assert_eq!(store.list_in_flight().await.unwrap(), before.in_flight);
    assert!(!store.note_request_id(peer(4), id(10)).await.unwrap());
    assert_eq!(
        store
            .reserve_in_flight(before.quotes[0].id, circuit(3, 1), 1, 2_000)
            .await
            .unwrap(),
        Reservation::AlreadyReserved(1_500)
    );
    assert_eq!(
        store
            .reserve_in_flight(before.quotes[0].id, circuit(3, 3), 501, 2_000)
            .await
            .unwrap(),
        Reservation::ExceedsMax {
            in_flight: 1_500,
            requested: 501,
            max: 2_000
        }
    );
    for q in &before.quotes {
        assert_eq!(
            store.get_quote_by_scid(q.scid().0).await.unwrap().as_ref(),
            Some(q)
        );
    }
}

/// Two stores (two workers) on one database see each other's writes at once.
pub async fn shared(a: &dyn QuoteStore, b: &dyn QuoteStore) {
    let q = quote(21, QuoteKind::Sale, NOW + 600);
    a.insert_quote(&q).await.unwrap();
    assert_eq!(b.get_quote(q.id).await.unwrap().as_ref(), Some(&q));
    assert_eq!(
        b.get_quote_by_scid(q.scid().0).await.unwrap().as_ref(),
        Some(&q)
    );
    assert!(matches!(
        b.insert_quote(&q).await,
        Err(StoreError::DuplicateId { .. })
    ));
    assert!(a.note_request_id(peer(1), id(21)).await.unwrap());
    assert!(!b.note_request_id(peer(1), id(21)).await.unwrap());
    a.reserve_in_flight(q.id, circuit(5, 1), 100, 1_000)
        .await
        .unwrap();
    assert_eq!(b.in_flight_total(q.id).await.unwrap(), 100);
    assert_eq!(b.release_in_flight(circuit(5, 1)).await.unwrap(), Some(100));
    assert_eq!(a.in_flight_total(q.id).await.unwrap(), 0);
    assert!(b.remove_quote(q.id).await.unwrap());
    assert_eq!(a.get_quote(q.id).await.unwrap(), None);
}

/// The HA race: two workers reserve against one quote at once — every HTLC offered to both,
/// and many more than fit. The granted total never exceeds the maximum, equals what the store
/// holds, and each circuit is granted once. Then both release every circuit at once: each
/// reservation is released exactly once.
pub async fn ha_race(a: Arc<dyn QuoteStore>, b: Arc<dyn QuoteStore>) {
    const HTLCS: u64 = 150;
    const MAX: u64 = 1_000_000;
    let q = quote(31, QuoteKind::Sale, NOW + 600);
    a.insert_quote(&q).await.unwrap();

    let amount = |i: u64| 5_000 + (i * 7_919) % 15_000;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..HTLCS {
        for store in [a.clone(), b.clone()] {
            tasks.spawn(async move {
                let r = store
                    .reserve_in_flight(q.id, circuit(7, i), amount(i), MAX)
                    .await
                    .unwrap();
                (i, r)
            });
        }
    }
    let mut granted: HashMap<u64, u64> = HashMap::new();
    let mut refused = 0;
    let mut repeats = 0;
    let mut last_total = 0;
    while let Some(joined) = tasks.join_next().await {
        let (i, r) = joined.unwrap();
        match r {
            Reservation::Reserved { total_in_flight } => {
                assert!(total_in_flight <= MAX);
                last_total = last_total.max(total_in_flight);
                assert!(
                    granted.insert(i, amount(i)).is_none(),
                    "circuit {i} granted twice"
                );
            }
            Reservation::AlreadyReserved(msat) => {
                assert_eq!(msat, amount(i));
                repeats += 1;
            }
            Reservation::ExceedsMax { in_flight, max, .. } => {
                assert_eq!(max, MAX);
                assert!(in_flight + amount(i) > MAX);
                refused += 1;
            }
            Reservation::UnknownQuote => panic!("quote vanished"),
        }
    }
    let total: u64 = granted.values().sum();
    assert!(total <= MAX, "granted {total} > {MAX}");
    assert_eq!(last_total, total);
    assert_eq!(a.in_flight_total(q.id).await.unwrap(), total);
    assert_eq!(b.in_flight_total(q.id).await.unwrap(), total);
    assert_eq!(repeats, granted.len(), "each granted circuit repeated once");
    assert!(refused > 0, "the race must oversubscribe the quote");
    assert_eq!(granted.len() + repeats + refused, 2 * HTLCS as usize);
    let held: HashMap<u64, u64> = b
        .list_in_flight()
        .await
        .unwrap()
        .into_iter()
        .map(|(c, id, msat)| {
            assert_eq!(id, q.id);
            (c.htlc_id, msat)
        })
        .collect();
    assert_eq!(held, granted);

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..HTLCS {
        for store in [a.clone(), b.clone()] {
            tasks.spawn(async move { (i, store.release_in_flight(circuit(7, i)).await.unwrap()) });
        }
    }
    let mut released: HashMap<u64, u64> = HashMap::new();
    while let Some(joined) = tasks.join_next().await {
        if let (i, Some(msat)) = joined.unwrap() {
            assert!(released.insert(i, msat).is_none(), "{i} released twice");
        }
    }
    assert_eq!(released, granted);
    assert_eq!(a.in_flight_total(q.id).await.unwrap(), 0);
}
