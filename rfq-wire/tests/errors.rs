//! Malformed input gets the typed error that names what is wrong; validation names the rule.

use rfq_wire::{
    AssetId, AssetSpecifier, BuyRequest, DecodeError, ExecutionPolicy, FixedPoint, LengthRule,
    Metadata, QuoteAccept, QuoteReject, QuoteRequest, RfqId, RfqMessage, SellRequest, TransferType,
    ValidationError,
};

fn hex(s: &str) -> Vec<u8> {
    bitcoin::hex::FromHex::from_hex(s).unwrap()
}

fn vector(name: &str) -> Vec<u8> {
    let path = format!("{}/testdata/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    hex(std::fs::read_to_string(path).unwrap().trim())
}

/// Replaces the value of the first record of type `tlv` (types below 253 only).
fn with_record(data: &[u8], tlv: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let (t, len) = (data[i], data[i + 1] as usize);
        if t == tlv {
            out.push(t);
            out.push(value.len() as u8);
            out.extend_from_slice(value);
        } else {
            out.extend_from_slice(&data[i..i + 2 + len]);
        }
        i += 2 + len;
    }
    out
}

fn without_record(data: &[u8], tlv: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let (t, len) = (data[i], data[i + 1] as usize);
        if t != tlv {
            out.extend_from_slice(&data[i..i + 2 + len]);
        }
        i += 2 + len;
    }
    out
}

#[test]
fn every_truncation_of_every_vector_is_an_error_or_a_shorter_message() {
    for name in [
        "tapd-v0.8-request",
        "derived-buy-request",
        "derived-sell-request",
        "tapd-v0.8-accept",
        "derived-buy-accept",
        "tapd-v0.8-reject",
        "derived-reject",
    ] {
        let data = vector(name);
        for cut in 0..data.len() {
            let prefix = &data[..cut];
            // A cut inside a record is an error; a cut at a record boundary after the required
            // fields is a valid message without the optional tail, and re-encodes to the prefix.
            for ty in 52884..=52886u16 {
                if let Ok(m) = RfqMessage::decode_data(ty, prefix) {
                    assert_eq!(m.encode_data(), prefix, "{name} cut at {cut} as {ty}");
                }
            }
        }
        assert!(RfqMessage::decode_data(52884, &data[..data.len() - 1]).is_err());
    }
}

#[test]
fn record_lengths_are_checked() {
    let data = vector("derived-buy-request");
    let short_id = with_record(&data, 2, &[0x11; 31]);
    assert_eq!(
        QuoteRequest::decode(&short_id),
        Err(DecodeError::BadLength {
            tlv: 2,
            expected: LengthRule::Exactly(32),
            found: 31
        })
    );
    let short_expiry = with_record(&data, 6, &[0, 0, 0, 0, 0x69, 0x55, 0xb9]);
    assert_eq!(
        QuoteRequest::decode(&short_expiry),
        Err(DecodeError::BadLength {
            tlv: 6,
            expected: LengthRule::Exactly(8),
            found: 7
        })
    );
    let empty_hint = with_record(&data, 19, &[]);
    assert_eq!(
        QuoteRequest::decode(&empty_hint),
        Err(DecodeError::BadLength {
            tlv: 19,
            expected: LengthRule::AtLeast(1),
            found: 0
        })
    );
    let mut wide = vec![0u8];
    wide.extend_from_slice(&[0xff; 17]);
    assert_eq!(
        QuoteRequest::decode(&with_record(&data, 29, &wide)),
        Err(DecodeError::CoefficientTooWide { tlv: 29, bytes: 17 })
    );
    let long_version = with_record(&data, 0, &[0, 1]);
    assert!(matches!(
        QuoteRequest::decode(&long_version),
        Err(DecodeError::BadLength { tlv: 0, .. })
    ));
}

#[test]
fn versions_points_and_missing_fields() {
    let data = vector("derived-buy-request");
    assert_eq!(
        QuoteRequest::decode(&with_record(&data, 0, &[0])),
        Err(DecodeError::UnknownVersion { found: 0 })
    );
    for (tlv, name) in [
        (0u8, "version"),
        (2, "id"),
        (4, "transfer_type"),
        (6, "expiry"),
        (16, "max_in_asset"),
    ] {
        assert_eq!(
            QuoteRequest::decode(&without_record(&data, tlv)),
            Err(DecodeError::MissingField {
                tlv: tlv.into(),
                name
            })
        );
    }
    let sell = vector("derived-sell-request");
    let mut not_a_point = [0u8; 33];
    not_a_point[0] = 0x02;
    assert_eq!(
        QuoteRequest::decode(&with_record(&sell, 15, &not_a_point)),
        Err(DecodeError::InvalidPoint { tlv: 15 })
    );
    let accept = vector("derived-buy-accept");
    assert_eq!(
        QuoteAccept::decode(&without_record(&accept, 8)),
        Err(DecodeError::MissingField {
            tlv: 8,
            name: "in_asset_rate"
        })
    );
}

#[test]
fn stream_order_is_strict() {
    let data = vector("tapd-v0.8-reject");
    // Swap the id record (type 2) in front of the version record (type 0).
    let mut swapped = data[3..37].to_vec();
    swapped.extend_from_slice(&data[..3]);
    swapped.extend_from_slice(&data[37..]);
    assert_eq!(
        QuoteReject::decode(&swapped),
        Err(DecodeError::NotStrictlyIncreasing {
            previous: 2,
            found: 0
        })
    );
    let mut duplicated = data.clone();
    duplicated.extend_from_slice(&[0x05, 0x01, 0x00]);
    assert_eq!(
        QuoteReject::decode(&duplicated),
        Err(DecodeError::NotStrictlyIncreasing {
            previous: 5,
            found: 5
        })
    );
}

#[test]
fn reject_text_rules() {
    let data = vector("derived-reject");
    assert_eq!(
        QuoteReject::decode(&with_record(&data, 5, &[])),
        Err(DecodeError::BadLength {
            tlv: 5,
            expected: LengthRule::AtLeast(1),
            found: 0
        })
    );
    assert_eq!(
        QuoteReject::decode(&with_record(&data, 5, &[3, 0xff, 0xfe])),
        Err(DecodeError::InvalidUtf8 { tlv: 5 })
    );
}

#[test]
fn metadata_limit() {
    let data = vector("tapd-v0.8-request");
    let mut long = data.clone();
    // TLV 27 with 32 769 bytes: type 0x1b, length 0xfd 0x8001.
    long.extend_from_slice(&[0x1b, 0xfd, 0x80, 0x01]);
    long.extend(std::iter::repeat_n(b'x', 32_769));
    assert_eq!(
        QuoteRequest::decode(&long),
        Err(DecodeError::BadLength {
            tlv: 27,
            expected: LengthRule::AtMost(32_768),
            found: 32_769
        })
    );
    let mut max = data;
    max.extend_from_slice(&[0x1b, 0xfd, 0x80, 0x00]);
    max.extend(std::iter::repeat_n(b'x', 32_768));
    assert_eq!(
        QuoteRequest::decode(&max)
            .unwrap()
            .metadata
            .unwrap()
            .0
            .len(),
        32_768
    );
}

#[test]
fn unknown_records_survive_both_parities() {
    let data = vector("tapd-v0.8-accept");
    // Insert an odd type 7 between 6 and 8, and an even type 200 at the end.
    let sig_end = 3 + 34 + 10 + 66;
    let mut with_extra = data[..sig_end].to_vec();
    with_extra.extend_from_slice(&[0x07, 0x02, 0xbe, 0xef]);
    with_extra.extend_from_slice(&data[sig_end..]);
    with_extra.extend_from_slice(&[0xc8, 0x00]);
    let m = QuoteAccept::decode(&with_extra).unwrap();
    let types: Vec<u64> = m.extra.as_slice().iter().map(|r| r.tlv).collect();
    assert_eq!(types, [7, 200]);
    assert_eq!(m.encode(), with_extra);
    let json = serde_json::to_string(&m).unwrap();
    assert!(
        json.contains(r#""extra_records":[{"type":7,"value":"beef"}"#),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<QuoteAccept>(&json).unwrap(), m);
}

#[test]
fn payload_framing() {
    assert!(matches!(
        RfqMessage::decode_payload(&[0xce]),
        Err(DecodeError::Truncated { needed: 1, .. })
    ));
    assert_eq!(
        RfqMessage::decode_payload(&[0x00, 0x10]),
        Err(DecodeError::UnknownMessageType { found: 16 })
    );
    assert_eq!(RfqMessage::guess_type(&[0x00, 0x01, 0x01]), None);
}

fn buy(expiry: u64) -> BuyRequest {
    BuyRequest {
        id: RfqId([1; 32]),
        expiry,
        asset: AssetSpecifier::AssetId(AssetId([2; 32])),
        max_units: 100,
        min_units: None,
        rate_hint: None,
        rate_limit: None,
        execution_policy: ExecutionPolicy::ImmediateOrCancel,
        metadata: Metadata::default(),
    }
}

#[test]
fn validation_names_the_rule() {
    let now = 1_000;
    let ok = QuoteRequest::from(buy(now + 1));
    assert!(ok.validate(now).is_ok());

    let mut both = ok.clone();
    both.in_asset_group_key = Some(
        "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
            .parse()
            .unwrap(),
    );
    assert_eq!(
        both.validate(now),
        Err(ValidationError::AmbiguousSpecifier {
            id_tlv: 9,
            key_tlv: 11
        })
    );
    let mut no_out = ok.clone();
    no_out.out_asset_id = None;
    assert_eq!(
        no_out.validate(now),
        Err(ValidationError::AmbiguousSpecifier {
            id_tlv: 13,
            key_tlv: 15
        })
    );
    let mut btc_btc = ok.clone();
    btc_btc.in_asset_id = Some(AssetId::BTC);
    assert_eq!(btc_btc.validate(now), Err(ValidationError::BothSidesBtc));

    let mut min_above = buy(now + 1);
    min_above.min_units = Some(101);
    assert_eq!(
        QuoteRequest::from(min_above).validate(now),
        Err(ValidationError::MinAboveMax { min: 101, max: 100 })
    );
    let mut zero_limit = buy(now + 1);
    zero_limit.rate_limit = Some(FixedPoint::new(0, 2));
    assert_eq!(
        QuoteRequest::from(zero_limit).validate(now),
        Err(ValidationError::ZeroRateLimit)
    );
    let mut bad_policy = buy(now + 1);
    bad_policy.execution_policy = ExecutionPolicy::Other(2);
    assert_eq!(
        QuoteRequest::from(bad_policy).validate(now),
        Err(ValidationError::UnknownExecutionPolicy { value: 2 })
    );
    assert_eq!(
        QuoteRequest::from(buy(u64::MAX)).validate(now),
        Err(ValidationError::ExpiryTooLarge { expiry: u64::MAX })
    );

    let sell = SellRequest {
        id: RfqId([1; 32]),
        expiry: now + 1,
        asset: AssetSpecifier::AssetId(AssetId([2; 32])),
        max_msat: 10,
        min_msat: Some(0),
        rate_hint: None,
        rate_limit: None,
        execution_policy: ExecutionPolicy::FillOrKill,
        metadata: Metadata::default(),
    };
    let wire = QuoteRequest::from(sell);
    assert_eq!(wire.transfer_type, TransferType::PayInvoice);
    assert_eq!(wire.min_out_asset, None, "a zero minimum is not sent");
    assert!(wire.validate(now).is_ok());
    // A zero minimum on the wire reads as absent in the typed view.
    let mut zero_min = wire;
    zero_min.min_out_asset = Some(0);
    let rfq_wire::TypedRequest::Sell(typed) = zero_min.classify().unwrap() else {
        panic!("sell")
    };
    assert_eq!(typed.min_msat, None);

    let accept = QuoteAccept::decode(&vector("derived-sell-accept")).unwrap();
    assert!(accept.validate(1_767_225_599).is_ok());
    let mut zero = accept.clone();
    zero.out_asset_rate = FixedPoint::new(0, 3);
    assert_eq!(zero.validate(0), Err(ValidationError::ZeroRate { tlv: 10 }));
    assert_eq!(
        accept.validate(1_767_225_600),
        Err(ValidationError::Expired {
            expiry: 1_767_225_600,
            now: 1_767_225_600
        })
    );
}

#[test]
fn json_input_errors_are_specific() {
    let base = r#"{"kind":"reject","id":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","code":"price_bound_miss","message":"x""#;
    let ok: RfqMessage = serde_json::from_str(&format!("{base}}}")).unwrap();
    assert_eq!(ok.id(), RfqId([0xaa; 32]));
    for (suffix, expect) in [
        (r#","bogus":1}"#, "unknown field `bogus`"),
        (r#","scid":{"value":1}}"#, "does not match"),
        (
            r#","extra_records":[{"type":5,"value":""}]}"#,
            "collides with a field",
        ),
        (
            r#","extra_records":[{"type":9,"value":""},{"type":7,"value":""}]}"#,
            "strictly increasing",
        ),
    ] {
        let err = serde_json::from_str::<RfqMessage>(&format!("{base}{suffix}")).unwrap_err();
        assert!(err.to_string().contains(expect), "{suffix}: {err}");
    }
    let bad_id = r#"{"kind":"reject","id":"aa","code":0,"message":""}"#;
    let err = serde_json::from_str::<RfqMessage>(bad_id).unwrap_err();
    assert!(
        err.to_string().contains("id: expected 64 hex characters"),
        "{err}"
    );
}
