//! An edge node answering a tapd wallet's RFQ: the wallet wants to buy an asset from us for
//! BTC (it will receive the asset over Lightning). We price the request with a fixed-rate
//! oracle, persist the quote in SQLite, send the accept, and then enforce the quote on the HTLCs
//! that use it.
//!
//! Run with `cargo run -p lnedge-examples --example rfq_quote_responder`.

use rfq_engine::{
    BidAsk, CircuitKey, FixedRateOracle, Handled, HtlcDecision, HtlcFailure, HtlcView, Negotiator,
    NegotiatorConfig, OrderManager, SqliteQuoteStore,
};
use rfq_wire::{
    AssetId, AssetSpecifier, BuyRequest, ExecutionPolicy, FixedPoint, Metadata, RfqId, RfqMessage,
};
use std::{error::Error, sync::Arc, time::Duration};

/// A fixed "now" (Unix seconds) keeps the output reproducible; a node passes the current time
/// and gives the oracle `rfq_engine::oracle::system_clock()`.
const NOW: u64 = 1_800_000_000;
/// The wallet's node id. The engine treats node ids as opaque 33-byte keys.
const WALLET: [u8; 33] = [2; 33];
/// A cent-denominated USD asset, as tapd names it by asset id.
const USD: AssetSpecifier = AssetSpecifier::AssetId(AssetId([0x22; 32]));
/// The real channel the wallet's HTLCs come in on (block 800 000, transaction 1, output 0).
const WALLET_CHANNEL: u64 = (800_000 << 40) | (1 << 16);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    // Rates are asset units per BTC: 10 000 000 cents per BTC is $100 000, so 1 cent is
    // 10 000 msat. We buy at the bid and sell at the ask; quotes live 300 s.
    let rates = BidAsk {
        bid: FixedPoint::new(10_100_000, 0),
        ask: FixedPoint::new(10_000_000, 0),
    };
    let oracle = FixedRateOracle::new(Duration::from_secs(300), Arc::new(|| NOW));
    let oracle = Arc::new(oracle.with_asset(USD, rates)?);
    // The quote store: an accept goes out only after its quote is durable here, and the order
    // manager reloads quotes and in-flight amounts from it after a restart.
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteQuoteStore::open(dir.path().join("quotes.sqlite"))?);
    let orders = Arc::new(OrderManager::load(store, NOW).await?);
    let config = NegotiatorConfig::default();
    let negotiator = Negotiator::new(Some(oracle), orders.clone(), config);

    // What the wallet sends: a buy request for up to $10.00 (type 52884). Its id's last 8 bytes
    // are the SCID alias the wallet's invoice will route through.
    let request = BuyRequest {
        id: RfqId::with_alias_scid([0x42; 32]),
        expiry: NOW + 600,
        asset: USD,
        max_units: 1_000,
        min_units: None,
        rate_hint: None,
        rate_limit: None,
        execution_policy: ExecutionPolicy::ImmediateOrCancel,
        metadata: Metadata::default(),
    };
    let wire = RfqMessage::Request(request.into()).encode_payload();
    println!("request from wallet: {}", hex(&wire));

    // A node's custom message handler decodes the bytes and hands them to the negotiator.
    let incoming = RfqMessage::decode_payload(&wire)?;
    let reply = match negotiator.handle(WALLET, &incoming, NOW).await {
        Handled::Reply(reply @ RfqMessage::Accept(_)) => reply,
        other => return Err(format!("expected an accept, got {other:?}").into()),
    };
    let accept_bytes = reply.encode_payload();
    println!("accept to wallet:    {}", hex(&accept_bytes));

    // The wallet's side of the wire: decode the accept and read it as the answer to a buy.
    let RfqMessage::Accept(accept) = RfqMessage::decode_payload(&accept_bytes)? else {
        return Err("the accept did not decode as an accept".into());
    };
    accept.validate(NOW)?;
    let buy = accept.as_buy();
    println!("accepted: {} units/BTC until {}", buy.rate, buy.expiry);
    let scid = accept.id.scid();
    let quote = orders.quote_by_scid(scid.0).await?;
    let quote = quote.ok_or("the accepted quote is not in the store")?;
    println!("stored: up to {} units via SCID {scid}", quote.max_amount);

    // HTLCs that pay to the SCID alias use the quote: the wallet pays BTC, we forward the asset.
    // 6 000 000 msat is 600 cents, within the quote's $10.00 (10 000 000 msat).
    let circuit = |htlc_id| CircuitKey {
        channel: [1; 32], // the incoming channel's id
        htlc_id,
    };
    let first = HtlcView {
        incoming_scid: WALLET_CHANNEL,
        outgoing_scid: scid.0,
        incoming_msat: 6_001_000,
        outgoing_msat: 6_000_000,
        records: None,
        circuit: circuit(0),
        now: NOW,
    };
    match orders.admit_htlc(&first).await {
        HtlcDecision::Forward(f) => println!(
            "HTLC 0: forward {} units as a {} msat HTLC",
            f.asset_units, f.outgoing_msat
        ),
        other => return Err(format!("HTLC 0 should forward, got {other:?}").into()),
    }
    // Another 600 cents while the first is in flight would exceed the quote's maximum.
    let second = HtlcView {
        circuit: circuit(1),
        ..first
    };
    match orders.admit_htlc(&second).await {
        HtlcDecision::Fail(failure @ HtlcFailure::ExceedsMax { .. }) => {
            println!("HTLC 1: fail ({failure})")
        }
        other => return Err(format!("HTLC 1 should fail, got {other:?}").into()),
    }
    let in_flight = orders.store().in_flight_total(quote.id).await?;
    println!("in flight against the quote: {in_flight} msat");

    println!("rfq_quote_responder: ok");
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
