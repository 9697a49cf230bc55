//! Build a buy request, encode it as a BOLT 1 custom message, decode it, and print it.
//!
//! Run with `cargo run -p lnedge-examples --example rfq_roundtrip`.

use rfq_wire::{
    AssetId, AssetSpecifier, BuyRequest, ExecutionPolicy, FixedPoint, Metadata, QuoteRequest,
    RfqId, RfqMessage, TypedRequest,
};

fn main() {
    // A quote id whose SCID is in lnd's alias range; real code passes 32 CSPRNG bytes.
    let id = RfqId::with_alias_scid([0x42; 32]);
    let now = 1_767_225_000;
    let request = BuyRequest {
        id,
        expiry: now + 600,
        asset: AssetSpecifier::AssetId(AssetId([0x22; 32])),
        max_units: 1_000,
        min_units: Some(100),
        rate_hint: Some(FixedPoint::new(10_000_000, 0)),
        rate_limit: None,
        execution_policy: ExecutionPolicy::ImmediateOrCancel,
        metadata: Metadata::default(),
    };

    let message = RfqMessage::Request(QuoteRequest::from(request.clone()));
    let payload = message.encode_payload();
    println!("payload ({} bytes): {}", payload.len(), hex(&payload));

    let decoded = RfqMessage::decode_payload(&payload).expect("our own bytes decode");
    let RfqMessage::Request(wire) = &decoded else {
        unreachable!("type 52884 is a request")
    };
    let TypedRequest::Buy(typed) = wire.validate(now).expect("valid until now + 600") else {
        unreachable!("transfer type 2 is a buy")
    };
    assert_eq!(typed, request);
    println!("scid: {} ({})", id.scid().0, id.scid());
    println!(
        "{}",
        serde_json::to_string_pretty(&decoded).expect("serializable")
    );
    println!("rfq_roundtrip: ok");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
