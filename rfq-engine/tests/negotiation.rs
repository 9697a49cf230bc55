//! Requester and responder negotiators exchanging encoded bytes in one process: every reject
//! code the responder sends and every verification failure the requester reports.

use rfq_engine::oracle::{BidAsk, Clock, FixedRateOracle, OracleFuture, RateQuery};
use rfq_engine::quote::QuoteKind;
use rfq_engine::store::SqliteQuoteStore;
use rfq_engine::{
    BuyOrder, DropReason, Handled, Negotiator, NegotiatorConfig, OracleError, OrderManager,
    PriceOracle, SellOrder, VerifyFailure,
};
use rfq_wire::{
    AssetId, AssetSpecifier, ExecutionPolicy, FixedPoint, Metadata, QuoteAccept, RejectCode,
    RfqMessage,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const NOW: u64 = 1_800_000_000;
const WALLET: [u8; 33] = [2; 33];
const EDGE: [u8; 33] = [3; 33];
const USD: AssetSpecifier = AssetSpecifier::AssetId(AssetId([0x22; 32]));
const UNLISTED: AssetSpecifier = AssetSpecifier::AssetId(AssetId([0x99; 32]));

/// 10 000 000 units per BTC (a cent-denominated asset at $100 000).
fn rate(c: u128) -> FixedPoint {
    FixedPoint::new(c, 0)
}

fn clock() -> Clock {
    Arc::new(|| NOW)
}

fn oracle(bid: u128, ask: u128) -> Arc<dyn PriceOracle> {
    Arc::new(
        FixedRateOracle::new(Duration::from_secs(300), clock())
            .with_asset(
                USD,
                BidAsk {
                    bid: rate(bid),
                    ask: rate(ask),
                },
            )
            .unwrap(),
    )
}

/// Test double at the `PriceOracle` trait boundary: always unavailable.
struct UnavailableOracle;

impl PriceOracle for UnavailableOracle {
    fn query_rate<'a>(&'a self, _: &'a RateQuery) -> OracleFuture<'a> {
        Box::pin(async {
            Err(OracleError::Unavailable {
                reason: "down for maintenance".into(),
            })
        })
    }
}

async fn negotiator(oracle: Option<Arc<dyn PriceOracle>>) -> Negotiator {
    let store = Arc::new(SqliteQuoteStore::open_in_memory().unwrap());
    let orders = Arc::new(OrderManager::load(store, NOW).await.unwrap());
    Negotiator::new(oracle, orders, NegotiatorConfig::default())
}

/// Sends `message` from `from` to `to` as a BOLT 1 payload and returns what `to` made of it.
async fn deliver(to: &Negotiator, from: [u8; 33], message: &RfqMessage) -> Handled {
    let bytes = message.encode_payload();
    let decoded = RfqMessage::decode_payload(&bytes).expect("the wire form decodes");
    to.handle(from, &decoded, NOW).await
}

fn buy_order(max_units: u64) -> BuyOrder {
    BuyOrder {
        asset: USD,
        max_units,
        min_units: None,
        rate_floor: None,
        execution_policy: ExecutionPolicy::ImmediateOrCancel,
        rate_hint: None,
        metadata: Metadata::default(),
    }
}

fn sell_order(max_msat: u64) -> SellOrder {
    SellOrder {
        asset: USD,
        max_msat,
        min_msat: None,
        rate_ceiling: None,
        execution_policy: ExecutionPolicy::ImmediateOrCancel,
        rate_hint: None,
        metadata: Metadata::default(),
    }
}

fn entropy(n: u8) -> [u8; 32] {
    [n; 32]
}

/// Runs a request through the edge and returns the edge's reply, unwrapped.
async fn edge_reply(edge: &Negotiator, request: rfq_wire::QuoteRequest) -> RfqMessage {
    match deliver(edge, WALLET, &RfqMessage::Request(request)).await {
        Handled::Reply(reply) => reply,
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn reject_of(reply: &RfqMessage) -> (RejectCode, String) {
    match reply {
        RfqMessage::Reject(r) => (r.code, r.message.clone()),
        other => panic!("expected a reject, got {other:?}"),
    }
}

#[tokio::test]
async fn buy_accepted_verified_and_stored_on_both_sides() {
    // Rates are units per BTC, so a bid (we buy the asset) is the larger number. The edge
    // sells at its ask, 10 000 000; the wallet's own oracle bids 10 200 000 (2 % off).
    let edge = negotiator(Some(oracle(10_100_000, 10_000_000))).await;
    let wallet = negotiator(Some(oracle(10_200_000, 10_100_000))).await;
    let mut edge_events = edge.orders().subscribe();

    let request = wallet.request_buy(EDGE, buy_order(1_000), NOW, entropy(1));
    assert!(request.id.scid().is_alias());
    assert_eq!(request.expiry, NOW + 600);
    let reply = edge_reply(&edge, request.clone()).await;
    let RfqMessage::Accept(accept) = &reply else {
        panic!("expected an accept, got {reply:?}")
    };
    assert_eq!(accept.as_buy().rate, rate(10_000_000));
    assert_eq!(accept.expiry, NOW + 300, "the oracle's expiry");
    assert_eq!(accept.out_asset_rate, FixedPoint::MSAT_PER_BTC);

    // Persist-then-accept: the edge's quote is stored and enforced before the reply exists.
    let stored = edge.orders().quote(request.id).await.unwrap().unwrap();
    assert_eq!(stored.kind, QuoteKind::Sale);
    assert_eq!(stored.max_amount, 1_000);
    assert!(edge.orders().policy(request.id.scid().0).is_some());
    let event = edge_events.recv().await.unwrap();
    assert!(matches!(event, rfq_engine::RfqEvent::QuoteAccepted { id, .. } if id == request.id));

    let Handled::Accepted(quote) = deliver(&wallet, EDGE, &reply).await else {
        panic!("the wallet verifies the accept")
    };
    assert_eq!(quote.kind, QuoteKind::PeerAcceptedBuy);
    assert_eq!(quote.rate, rate(10_000_000));
    assert_eq!(
        wallet.orders().quote(request.id).await.unwrap().unwrap(),
        *quote
    );
    assert_eq!(wallet.outstanding_count(), 0);
    // A second answer for the same id is dropped.
    assert_eq!(
        deliver(&wallet, EDGE, &reply).await,
        Handled::Dropped(DropReason::UnknownId(request.id))
    );
}

#[tokio::test]
async fn sell_accepted_and_verified() {
    let edge = negotiator(Some(oracle(10_000_000, 9_900_000))).await;
    let wallet = negotiator(Some(oracle(9_900_000, 9_800_000))).await;
    let request = wallet.request_sell(EDGE, sell_order(50_000_000), NOW, entropy(2));
    let reply = edge_reply(&edge, request.clone()).await;
    let RfqMessage::Accept(accept) = &reply else {
        panic!("expected an accept, got {reply:?}")
    };
    // The edge buys the asset: the bid.
    assert_eq!(accept.as_sell().rate, rate(10_000_000));
    assert_eq!(accept.in_asset_rate, FixedPoint::MSAT_PER_BTC);
    let stored = edge.orders().quote(request.id).await.unwrap().unwrap();
    assert_eq!(stored.kind, QuoteKind::Purchase);
    assert_eq!(stored.max_amount, 50_000_000);
    let Handled::Accepted(quote) = deliver(&wallet, EDGE, &reply).await else {
        panic!("verified")
    };
    assert_eq!(quote.kind, QuoteKind::PeerAcceptedSell);
}

#[tokio::test]
async fn every_reject_code_the_responder_sends() {
    let wallet = negotiator(Some(oracle(1, 1))).await;

    // 1: no price oracle.
    let no_oracle = negotiator(None).await;
    let reply = edge_reply(
        &no_oracle,
        wallet.request_buy(EDGE, buy_order(10), NOW, entropy(10)),
    )
    .await;
    assert_eq!(
        reject_of(&reply),
        (
            RejectCode::PriceOracleUnavailable,
            "price oracle unavailable".into()
        )
    );

    let edge = negotiator(Some(oracle(10_000_000, 10_000_000))).await;

    // 0 with the oracle's text: unsupported asset.
    let mut order = buy_order(10);
    order.asset = UNLISTED;
    let reply = edge_reply(&edge, wallet.request_buy(EDGE, order, NOW, entropy(11))).await;
    let (code, message) = reject_of(&reply);
    assert_eq!(code, RejectCode::Unspecified);
    assert!(
        message.contains("99999999"),
        "the oracle's message names the asset: {message}"
    );

    // 0 "unknown reject error": the oracle is unavailable.
    let flaky = negotiator(Some(Arc::new(UnavailableOracle))).await;
    let reply = edge_reply(
        &flaky,
        wallet.request_buy(EDGE, buy_order(10), NOW, entropy(12)),
    )
    .await;
    assert_eq!(
        reject_of(&reply),
        (RejectCode::Unspecified, "unknown reject error".into())
    );

    // 3: the rate misses the buyer's floor.
    let mut order = buy_order(10);
    order.rate_floor = Some(rate(10_000_001));
    let reply = edge_reply(&edge, wallet.request_buy(EDGE, order, NOW, entropy(13))).await;
    assert_eq!(reject_of(&reply).0, RejectCode::PriceBoundMiss);
    assert_eq!(reject_of(&reply).1, "rate limit constraint violated");

    // 3 for a sell: the rate is above the seller's ceiling.
    let mut order = sell_order(1_000_000);
    order.rate_ceiling = Some(rate(9_999_999));
    let reply = edge_reply(&edge, wallet.request_sell(EDGE, order, NOW, entropy(14))).await;
    assert_eq!(reject_of(&reply).0, RejectCode::PriceBoundMiss);

    // 2 and 4: at 10^12 units/BTC one unit is 0.1 msat, which cannot be carried.
    let dear = negotiator(Some(oracle(1_000_000_000_000, 1_000_000_000_000))).await;
    let mut order = buy_order(1);
    order.min_units = Some(1);
    let reply = edge_reply(&dear, wallet.request_buy(EDGE, order, NOW, entropy(15))).await;
    assert_eq!(
        reject_of(&reply),
        (RejectCode::MinFillNotMet, "minimum fill not met".into())
    );
    let mut order = buy_order(1);
    order.execution_policy = ExecutionPolicy::FillOrKill;
    let reply = edge_reply(&dear, wallet.request_buy(EDGE, order, NOW, entropy(16))).await;
    assert_eq!(
        reject_of(&reply),
        (
            RejectCode::FokNotViable,
            "FOK not viable at accepted rate".into()
        )
    );

    // 0 "duplicate quote id": the same id again from the same peer, even after an accept.
    let request = wallet.request_buy(EDGE, buy_order(10), NOW, entropy(17));
    assert!(matches!(
        edge_reply(&edge, request.clone()).await,
        RfqMessage::Accept(_)
    ));
    let reply = edge_reply(&edge, request).await;
    assert_eq!(
        reject_of(&reply),
        (
            RejectCode::Unspecified,
            rfq_engine::negotiator::DUPLICATE_ID_MESSAGE.into()
        )
    );
    // Code 5 (fill exceeds max) only arises when an accept carries a fill cap, which this
    // responder never sets; the requester's check for it is tested below.
}

#[tokio::test]
async fn invalid_requests_are_dropped_without_a_reply() {
    let edge = negotiator(Some(oracle(10_000_000, 10_000_000))).await;
    let wallet = negotiator(None).await;
    let mut request = wallet.request_buy(EDGE, buy_order(10), NOW - 1_000, entropy(20));
    assert!(request.expiry <= NOW);
    assert!(matches!(
        deliver(&edge, WALLET, &RfqMessage::Request(request.clone())).await,
        Handled::Dropped(DropReason::InvalidRequest(
            rfq_wire::ValidationError::Expired { .. }
        ))
    ));
    request.expiry = NOW + 100;
    request.transfer_type = rfq_wire::TransferType::Unspecified;
    assert!(matches!(
        deliver(&edge, WALLET, &RfqMessage::Request(request)).await,
        Handled::Dropped(DropReason::InvalidRequest(_))
    ));
}

/// Builds the accept a (possibly misbehaving) peer would send for `request`.
fn accept_for(
    request: &rfq_wire::QuoteRequest,
    rate_c: u128,
    expiry: u64,
    fill: Option<u64>,
) -> RfqMessage {
    let mut accept = QuoteAccept::from(rfq_wire::BuyAccept {
        id: request.id,
        expiry,
        rate: rate(rate_c),
        fill_units: fill,
        signature: rfq_wire::QuoteSignature::ZERO,
    });
    if request.transfer_type == rfq_wire::TransferType::PayInvoice {
        accept = QuoteAccept::from(rfq_wire::SellAccept {
            id: request.id,
            expiry,
            rate: rate(rate_c),
            fill_msat: fill,
            signature: rfq_wire::QuoteSignature::ZERO,
        });
    }
    RfqMessage::Accept(accept)
}

async fn verify_failure(
    wallet: &Negotiator,
    request: &rfq_wire::QuoteRequest,
    accept: RfqMessage,
) -> VerifyFailure {
    match deliver(wallet, EDGE, &accept).await {
        Handled::VerificationFailed { id, failure } => {
            assert_eq!(id, request.id);
            failure
        }
        other => panic!("expected a verification failure, got {other:?}"),
    }
}

#[tokio::test]
async fn every_verification_failure_of_the_requester() {
    let wallet = negotiator(Some(oracle(10_000_000, 10_000_000))).await;

    // Expired accept.
    let r = wallet.request_buy(EDGE, buy_order(100), NOW, entropy(30));
    assert!(matches!(
        verify_failure(&wallet, &r, accept_for(&r, 10_000_000, NOW, None)).await,
        VerifyFailure::Invalid(rfq_wire::ValidationError::Expired { .. })
    ));
    // Less than 10 s left.
    let r = wallet.request_buy(EDGE, buy_order(100), NOW, entropy(31));
    assert_eq!(
        verify_failure(&wallet, &r, accept_for(&r, 10_000_000, NOW + 9, None)).await,
        VerifyFailure::InvalidExpiry { left: 9, min: 10 }
    );
    // Outside the 5 % tolerance (the larger value is the reference).
    let r = wallet.request_buy(EDGE, buy_order(100), NOW, entropy(32));
    assert!(matches!(
        verify_failure(&wallet, &r, accept_for(&r, 10_600_000, NOW + 60, None)).await,
        VerifyFailure::InvalidAssetRates { ppm: 50_000, .. }
    ));
    // Exactly at the edge of the tolerance passes: 5 % of 10 000 000 below.
    let r = wallet.request_buy(EDGE, buy_order(100), NOW, entropy(33));
    assert!(matches!(
        deliver(&wallet, EDGE, &accept_for(&r, 9_500_000, NOW + 60, None)).await,
        Handled::Accepted(_)
    ));
    // Rate below the floor we asked for.
    let mut order = buy_order(100);
    order.rate_floor = Some(rate(10_000_000));
    let r = wallet.request_buy(EDGE, order, NOW, entropy(34));
    assert!(matches!(
        verify_failure(&wallet, &r, accept_for(&r, 9_900_000, NOW + 60, None)).await,
        VerifyFailure::Constraint(rfq_engine::ConstraintViolation::PriceBoundMiss { .. })
    ));
    // Fill cap above our maximum (code 5 / FILL_EXCEEDS_MAX).
    let r = wallet.request_buy(EDGE, buy_order(100), NOW, entropy(35));
    assert!(matches!(
        verify_failure(&wallet, &r, accept_for(&r, 10_000_000, NOW + 60, Some(101))).await,
        VerifyFailure::Constraint(rfq_engine::ConstraintViolation::FillExceedsMax { .. })
    ));
    // Fill below our minimum.
    let mut order = buy_order(100);
    order.min_units = Some(50);
    let r = wallet.request_buy(EDGE, order, NOW, entropy(36));
    assert!(matches!(
        verify_failure(&wallet, &r, accept_for(&r, 10_000_000, NOW + 60, Some(49))).await,
        VerifyFailure::Constraint(rfq_engine::ConstraintViolation::MinFillNotMet { .. })
    ));
    // Fill-or-kill with a partial fill.
    let mut order = sell_order(1_000_000);
    order.execution_policy = ExecutionPolicy::FillOrKill;
    let r = wallet.request_sell(EDGE, order, NOW, entropy(37));
    assert!(matches!(
        verify_failure(
            &wallet,
            &r,
            accept_for(&r, 10_000_000, NOW + 60, Some(999_999))
        )
        .await,
        VerifyFailure::Constraint(rfq_engine::ConstraintViolation::FokNotViable { .. })
    ));
    // A partial fill within limits is stored with the fill as its maximum.
    let r = wallet.request_sell(EDGE, sell_order(1_000_000), NOW, entropy(38));
    let Handled::Accepted(q) = deliver(
        &wallet,
        EDGE,
        &accept_for(&r, 10_000_000, NOW + 60, Some(400_000)),
    )
    .await
    else {
        panic!("a fill within limits is fine")
    };
    assert_eq!(q.max_amount, 400_000);

    // Our own oracle fails or is missing.
    let down = negotiator(Some(Arc::new(UnavailableOracle))).await;
    let r = down.request_buy(EDGE, buy_order(100), NOW, entropy(39));
    assert!(matches!(
        verify_failure(&down, &r, accept_for(&r, 10_000_000, NOW + 60, None)).await,
        VerifyFailure::OracleQuery(_)
    ));
    let none = negotiator(None).await;
    let r = none.request_buy(EDGE, buy_order(100), NOW, entropy(40));
    assert!(matches!(
        verify_failure(&none, &r, accept_for(&r, 10_000_000, NOW + 60, None)).await,
        VerifyFailure::OracleQuery(_)
    ));
}

#[tokio::test]
async fn answers_from_strangers_and_rejects() {
    let wallet = negotiator(Some(oracle(10_000_000, 10_000_000))).await;
    let r = wallet.request_buy(EDGE, buy_order(100), NOW, entropy(50));
    let accept = accept_for(&r, 10_000_000, NOW + 60, None);
    // From the wrong peer: dropped, and the request stays open for the right one.
    assert_eq!(
        wallet.handle([9; 33], &accept, NOW).await,
        Handled::Dropped(DropReason::WrongPeer { id: r.id })
    );
    assert_eq!(wallet.outstanding_count(), 1);
    // The real peer rejects.
    let reject = RfqMessage::Reject(rfq_wire::QuoteReject::new(r.id, RejectCode::PriceBoundMiss));
    assert_eq!(
        deliver(&wallet, EDGE, &reject).await,
        Handled::Rejected {
            id: r.id,
            code: RejectCode::PriceBoundMiss,
            message: "rate limit constraint violated".into()
        }
    );
    assert_eq!(wallet.outstanding_count(), 0);
    // Unknown ids are dropped.
    assert_eq!(
        deliver(&wallet, EDGE, &reject).await,
        Handled::Dropped(DropReason::UnknownId(r.id))
    );
}

/// Test double at the `QuoteStore` trait boundary: delegates to SQLite but fails every
/// `insert_quote`, to show that no accept leaves when persisting fails.
struct FailingInsertStore {
    inner: SqliteQuoteStore,
    inserts: AtomicU64,
}

impl rfq_engine::store::QuoteStore for FailingInsertStore {
    fn insert_quote<'a>(
        &'a self,
        _quote: &'a rfq_engine::quote::StoredQuote,
    ) -> rfq_engine::store::BoxFuture<'a, Result<(), rfq_engine::store::StoreError>> {
        self.inserts.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {
            Err(rfq_engine::store::StoreError::Backend {
                backend: "sqlite",
                source: Arc::new(std::io::Error::other("disk full")),
            })
        })
    }
    fn get_quote(
        &self,
        id: rfq_wire::RfqId,
    ) -> rfq_engine::store::BoxFuture<
        '_,
        Result<Option<rfq_engine::quote::StoredQuote>, rfq_engine::store::StoreError>,
    > {
        self.inner.get_quote(id)
    }
    fn get_quote_by_scid(
        &self,
        scid: u64,
    ) -> rfq_engine::store::BoxFuture<
        '_,
        Result<Option<rfq_engine::quote::StoredQuote>, rfq_engine::store::StoreError>,
    > {
        self.inner.get_quote_by_scid(scid)
    }
    fn list_quotes(
        &self,
    ) -> rfq_engine::store::BoxFuture<
        '_,
        Result<Vec<rfq_engine::quote::StoredQuote>, rfq_engine::store::StoreError>,
    > {
        self.inner.list_quotes()
    }
    fn remove_quote(
        &self,
        id: rfq_wire::RfqId,
    ) -> rfq_engine::store::BoxFuture<'_, Result<bool, rfq_engine::store::StoreError>> {
        self.inner.remove_quote(id)
    }
    fn remove_expired(
        &self,
        now: u64,
    ) -> rfq_engine::store::BoxFuture<'_, Result<Vec<rfq_wire::RfqId>, rfq_engine::store::StoreError>>
    {
        self.inner.remove_expired(now)
    }
    fn note_request_id(
        &self,
        peer: [u8; 33],
        id: rfq_wire::RfqId,
    ) -> rfq_engine::store::BoxFuture<'_, Result<bool, rfq_engine::store::StoreError>> {
        self.inner.note_request_id(peer, id)
    }
    fn forget_request_ids(
        &self,
        noted_before: u64,
    ) -> rfq_engine::store::BoxFuture<'_, Result<u64, rfq_engine::store::StoreError>> {
        self.inner.forget_request_ids(noted_before)
    }
    fn reserve_in_flight(
        &self,
        quote_id: rfq_wire::RfqId,
        circuit: rfq_engine::quote::CircuitKey,
        msat: u64,
        max_msat: u64,
    ) -> rfq_engine::store::BoxFuture<
        '_,
        Result<rfq_engine::store::Reservation, rfq_engine::store::StoreError>,
    > {
        self.inner
            .reserve_in_flight(quote_id, circuit, msat, max_msat)
    }
    fn release_in_flight(
        &self,
        circuit: rfq_engine::quote::CircuitKey,
    ) -> rfq_engine::store::BoxFuture<'_, Result<Option<u64>, rfq_engine::store::StoreError>> {
        self.inner.release_in_flight(circuit)
    }
    fn in_flight_total(
        &self,
        quote_id: rfq_wire::RfqId,
    ) -> rfq_engine::store::BoxFuture<'_, Result<u64, rfq_engine::store::StoreError>> {
        self.inner.in_flight_total(quote_id)
    }
    fn list_in_flight(
        &self,
    ) -> rfq_engine::store::BoxFuture<
        '_,
        Result<
            Vec<(rfq_engine::quote::CircuitKey, rfq_wire::RfqId, u64)>,
            rfq_engine::store::StoreError,
        >,
    > {
        self.inner.list_in_flight()
    }
}

#[tokio::test]
async fn no_accept_leaves_before_the_quote_is_durable() {
    let store = Arc::new(FailingInsertStore {
        inner: SqliteQuoteStore::open_in_memory().unwrap(),
        inserts: AtomicU64::new(0),
    });
    let orders = Arc::new(OrderManager::load(store.clone(), NOW).await.unwrap());
    let edge = Negotiator::new(
        Some(oracle(10_000_000, 10_000_000)),
        orders,
        NegotiatorConfig::default(),
    );
    let wallet = negotiator(None).await;
    let r = wallet.request_buy(EDGE, buy_order(100), NOW, entropy(60));
    let reply = edge_reply(&edge, r.clone()).await;
    assert_eq!(
        reject_of(&reply),
        (
            RejectCode::Unspecified,
            "failed to register asset sale policy".into()
        )
    );
    assert_eq!(store.inserts.load(Ordering::SeqCst), 1);
    assert!(edge.orders().policy(r.id.scid().0).is_none());
}
