//! Every vector in `testdata/` decodes, re-encodes byte-identically, and carries the field
//! values of spec §12.

use rfq_wire::{
    AssetId, AssetSpecifier, ExecutionPolicy, FixedPoint, HtlcRecords, QuoteAccept, QuoteReject,
    QuoteRequest, RejectCode, RfqId, RfqMessage, TransferType, TypedRequest, ValidationError,
};

fn vector(name: &str) -> Vec<u8> {
    let path = format!("{}/testdata/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    bitcoin::hex::FromHex::from_hex(text.trim()).expect("vector is hex")
}

fn derived_id() -> RfqId {
    let mut id = [0x11; 32];
    id[24..].copy_from_slice(&[0xf4, 0x24, 0, 0, 0, 0, 0, 1]);
    RfqId(id)
}

const DERIVED_EXPIRY: u64 = 1_767_225_600;
const TAPD_EXPIRY: u64 = 4_102_444_800;

/// Decoding through `RfqMessage` with the type prepended gives the same message and bytes.
fn check_payload(msg_type: u16, data: &[u8], msg: RfqMessage) {
    let mut payload = msg_type.to_be_bytes().to_vec();
    payload.extend_from_slice(data);
    assert_eq!(RfqMessage::decode_payload(&payload).unwrap(), msg);
    assert_eq!(msg.encode_payload(), payload);
    assert_eq!(RfqMessage::guess_type(data), Some(msg_type));
    // The JSON form round-trips too.
    let json = serde_json::to_string(&msg).unwrap();
    assert_eq!(serde_json::from_str::<RfqMessage>(&json).unwrap(), msg);
}

#[test]
fn tapd_request() {
    let data = vector("tapd-v0.8-request");
    assert_eq!(data.len(), 128);
    let m = QuoteRequest::decode(&data).unwrap();
    assert_eq!(m.id, RfqId([0xaa; 32]));
    assert_eq!(m.transfer_type, TransferType::Unspecified);
    assert_eq!(m.expiry, TAPD_EXPIRY);
    assert_eq!(m.in_asset_id, Some(AssetId([0xbb; 32])));
    assert_eq!(m.out_asset_id, Some(AssetId::BTC));
    assert_eq!(m.in_asset_group_key, None);
    assert_eq!(m.max_in_asset, 50_000);
    assert!(m.extra.is_empty());
    assert_eq!(m.encode(), data);
    // tapd could not classify it either.
    assert_eq!(
        m.validate(0).unwrap_err(),
        ValidationError::Classify(rfq_wire::ClassifyError::UnknownTransferType { found: 0 })
    );
    check_payload(52884, &data, m.into());
}

#[test]
fn tapd_accept() {
    let data = vector("tapd-v0.8-accept");
    assert_eq!(data.len(), 122);
    let m = QuoteAccept::decode(&data).unwrap();
    assert_eq!(m.id, RfqId([0xaa; 32]));
    assert_eq!(m.expiry, TAPD_EXPIRY);
    assert_eq!(m.signature.0, [0xcc; 64]);
    assert_eq!(m.in_asset_rate, FixedPoint::new(42_000, 2));
    assert_eq!(m.out_asset_rate, FixedPoint::new(1, 0));
    assert_eq!(m.max_in_asset, None);
    assert_eq!(m.as_buy().rate, FixedPoint::new(42_000, 2));
    assert_eq!(m.encode(), data);
    assert!(m.validate(TAPD_EXPIRY - 1).is_ok());
    check_payload(52885, &data, m.into());
}

#[test]
fn tapd_reject() {
    let data = vector("tapd-v0.8-reject");
    assert_eq!(data.len(), 53);
    let m = QuoteReject::decode(&data).unwrap();
    assert_eq!(m.id, RfqId([0xaa; 32]));
    assert_eq!(m.code, RejectCode::PriceOracleUnavailable);
    assert_eq!(m.message, "rates expired");
    assert_eq!(m.encode(), data);
    check_payload(52886, &data, m.into());
}

#[test]
fn tapd_htlc_records() {
    let data = vector("tapd-v0.8-htlc");
    assert_eq!(data.len(), 90);
    let r = HtlcRecords::decode(&data).unwrap();
    let balances = r.asset_balances.as_ref().unwrap();
    assert_eq!(balances.len(), 1);
    assert_eq!(balances[0].asset_id, AssetId([0xbb; 32]));
    assert_eq!(balances[0].amount, 1000);
    assert_eq!(r.rfq_id, Some(RfqId([0xaa; 32])));
    assert_eq!(r.available_rfq_ids, None);
    assert_eq!(r.noop_add, None);
    assert_eq!(r.encode(), data);
    let json = serde_json::to_string(&r).unwrap();
    assert_eq!(serde_json::from_str::<HtlcRecords>(&json).unwrap(), r);
}

#[test]
fn derived_buy_request() {
    let data = vector("derived-buy-request");
    let m = QuoteRequest::decode(&data).unwrap();
    assert_eq!(m.encode(), data);
    assert_eq!(m.id, derived_id());
    assert_eq!(m.id.scid().0, 17_592_186_044_416_000_001);
    assert_eq!(m.transfer_type, TransferType::RecvPayment);
    assert_eq!(m.expiry, DERIVED_EXPIRY);
    let TypedRequest::Buy(buy) = m.validate(DERIVED_EXPIRY - 1).unwrap() else {
        panic!("transfer type 2 is a buy")
    };
    assert_eq!(buy.asset, AssetSpecifier::AssetId(AssetId([0x22; 32])));
    assert_eq!(m.out_asset_id, Some(AssetId::BTC));
    assert_eq!(buy.max_units, 1000);
    assert_eq!(buy.rate_hint, Some(FixedPoint::new(10_000_000, 0)));
    assert_eq!(buy.min_units, Some(100));
    assert_eq!(buy.metadata.0, b"hello");
    assert_eq!(buy.rate_limit, Some(FixedPoint::new(9_500_000, 0)));
    assert_eq!(buy.execution_policy, ExecutionPolicy::FillOrKill);
    // Decoding reads no clock; validation with a later `now` reports expiry.
    assert_eq!(
        m.validate(DERIVED_EXPIRY),
        Err(ValidationError::Expired {
            expiry: DERIVED_EXPIRY,
            now: DERIVED_EXPIRY
        })
    );
    // Built from the typed view, the wire form is the same bytes.
    assert_eq!(QuoteRequest::from(buy).encode(), data);
    check_payload(52884, &data, m.into());
}

#[test]
fn derived_sell_request() {
    let data = vector("derived-sell-request");
    let m = QuoteRequest::decode(&data).unwrap();
    assert_eq!(m.encode(), data);
    let TypedRequest::Sell(sell) = m.validate(DERIVED_EXPIRY - 1).unwrap() else {
        panic!("transfer type 1 is a sell")
    };
    assert_eq!(m.in_asset_id, Some(AssetId::BTC));
    let AssetSpecifier::GroupKey(key) = sell.asset else {
        panic!("group key specifier")
    };
    assert_eq!(
        key.to_string(),
        "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
    );
    assert_eq!(sell.max_msat, 50_000_000);
    assert_eq!(sell.rate_hint, Some(FixedPoint::new(1_000_000_000, 2)));
    assert_eq!(sell.min_msat, Some(1_000_000));
    assert_eq!(sell.execution_policy, ExecutionPolicy::ImmediateOrCancel);
    assert_eq!(QuoteRequest::from(sell).encode(), data);
    check_payload(52884, &data, m.into());
}

#[test]
fn derived_buy_accept() {
    let data = vector("derived-buy-accept");
    let m = QuoteAccept::decode(&data).unwrap();
    assert_eq!(m.encode(), data);
    let buy = m.as_buy();
    assert_eq!(buy.id, derived_id());
    assert_eq!(buy.expiry, DERIVED_EXPIRY);
    assert_eq!(buy.signature.0, [0; 64]);
    assert_eq!(buy.rate, FixedPoint::new(10_000_000, 0));
    assert_eq!(m.out_asset_rate, FixedPoint::MSAT_PER_BTC);
    assert_eq!(buy.fill_units, Some(500));
    assert_eq!(QuoteAccept::from(buy).encode(), data);
    check_payload(52885, &data, m.into());
}

#[test]
fn derived_sell_accept() {
    let data = vector("derived-sell-accept");
    let m = QuoteAccept::decode(&data).unwrap();
    assert_eq!(m.encode(), data);
    let sell = m.as_sell();
    assert_eq!(m.in_asset_rate, FixedPoint::MSAT_PER_BTC);
    assert_eq!(sell.rate, FixedPoint::new(1_000_000_000, 2));
    assert_eq!(sell.fill_msat, None);
    assert_eq!(QuoteAccept::from(sell).encode(), data);
    check_payload(52885, &data, m.into());
}

#[test]
fn derived_reject() {
    let data = vector("derived-reject");
    let m = QuoteReject::decode(&data).unwrap();
    assert_eq!(m.encode(), data);
    assert_eq!(m.id, derived_id());
    assert_eq!(m.code, RejectCode::PriceBoundMiss);
    assert_eq!(m.message, "rate limit constraint violated");
    assert_eq!(
        QuoteReject::new(derived_id(), RejectCode::PriceBoundMiss).encode(),
        data
    );
    check_payload(52886, &data, m.into());
}

#[test]
fn every_vector_file_is_covered() {
    let dir = format!("{}/testdata", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".hex"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "derived-buy-accept.hex",
            "derived-buy-request.hex",
            "derived-reject.hex",
            "derived-sell-accept.hex",
            "derived-sell-request.hex",
            "tapd-v0.8-accept.hex",
            "tapd-v0.8-htlc.hex",
            "tapd-v0.8-reject.hex",
            "tapd-v0.8-request.hex",
        ]
    );
}
