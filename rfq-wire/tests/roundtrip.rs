//! Property tests: encode → decode → encode is the identity for every message the types can
//! express, and no byte string makes a decoder panic.

use proptest::prelude::*;
use rfq_wire::htlc::AssetBalance;
use rfq_wire::tlv::{ExtraRecord, ExtraRecords};
use rfq_wire::{
    AssetId, ExecutionPolicy, FixedPoint, GroupKey, HtlcRecords, Metadata, QuoteAccept,
    QuoteReject, QuoteRequest, QuoteSignature, RejectCode, RfqId, RfqMessage, TransferType,
};

fn fixed_point() -> impl Strategy<Value = FixedPoint> {
    (any::<u128>(), any::<u8>()).prop_map(|(c, s)| FixedPoint::new(c, s))
}

fn group_key() -> impl Strategy<Value = GroupKey> {
    // Multiples of the generator are valid points: derive one from a secret key.
    (1u64..u64::MAX).prop_map(|k| {
        let secp = bitcoin::secp256k1::Secp256k1::signing_only();
        let mut secret = [0u8; 32];
        secret[24..].copy_from_slice(&k.to_be_bytes());
        let sk = bitcoin::secp256k1::SecretKey::from_slice(&secret).unwrap();
        GroupKey::from_bytes(sk.public_key(&secp).serialize()).unwrap()
    })
}

/// Extra records with types outside `known`, strictly increasing.
fn extras(known: &'static [u64]) -> impl Strategy<Value = ExtraRecords> {
    proptest::collection::btree_map(
        0u64..100_000,
        proptest::collection::vec(any::<u8>(), 0..20),
        0..4,
    )
    .prop_map(move |m| {
        let records = m
            .into_iter()
            .filter(|(t, _)| !known.contains(t))
            .map(|(tlv, value)| ExtraRecord { tlv, value })
            .collect();
        ExtraRecords::from_records(records, known).unwrap()
    })
}

prop_compose! {
    fn request()(
        id in any::<[u8; 32]>(),
        transfer_type in any::<u8>(),
        expiry in any::<u64>(),
        in_id in proptest::option::of(any::<[u8; 32]>()),
        in_key in proptest::option::of(group_key()),
        out_id in proptest::option::of(any::<[u8; 32]>()),
        out_key in proptest::option::of(group_key()),
        max in any::<u64>(),
        hints in (proptest::option::of(fixed_point()), proptest::option::of(fixed_point())),
        mins in (proptest::option::of(any::<u64>()), proptest::option::of(any::<u64>())),
        metadata in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        rate_limit in proptest::option::of(fixed_point()),
        policy in proptest::option::of(any::<u8>()),
        extra in extras(&rfq_wire::message::request_tlv::ALL),
    ) -> QuoteRequest {
        QuoteRequest {
            id: RfqId(id),
            transfer_type: TransferType::from_u8(transfer_type),
            expiry,
            in_asset_id: in_id.map(AssetId),
            in_asset_group_key: in_key,
            out_asset_id: out_id.map(AssetId),
            out_asset_group_key: out_key,
            max_in_asset: max,
            in_asset_rate_hint: hints.0,
            out_asset_rate_hint: hints.1,
            min_in_asset: mins.0,
            min_out_asset: mins.1,
            metadata: metadata.map(Metadata),
            rate_limit,
            execution_policy: policy.map(ExecutionPolicy::from_u8),
            extra,
        }
    }
}

prop_compose! {
    fn accept()(
        id in any::<[u8; 32]>(),
        expiry in any::<u64>(),
        sig in proptest::collection::vec(any::<u8>(), 64),
        rates in (fixed_point(), fixed_point()),
        fill in proptest::option::of(any::<u64>()),
        extra in extras(&rfq_wire::message::accept_tlv::ALL),
    ) -> QuoteAccept {
        QuoteAccept {
            id: RfqId(id),
            expiry,
            signature: QuoteSignature(sig.try_into().unwrap()),
            in_asset_rate: rates.0,
            out_asset_rate: rates.1,
            max_in_asset: fill,
            extra,
        }
    }
}

prop_compose! {
    fn reject()(
        id in any::<[u8; 32]>(),
        code in any::<u8>(),
        message in ".{0,40}",
        extra in extras(&rfq_wire::message::reject_tlv::ALL),
    ) -> QuoteReject {
        QuoteReject { id: RfqId(id), code: RejectCode::from_u8(code), message, extra }
    }
}

prop_compose! {
    fn htlc_records()(
        balances in proptest::option::of(proptest::collection::vec(
            (any::<[u8; 32]>(), any::<u64>()), 0..5)),
        rfq_id in proptest::option::of(any::<[u8; 32]>()),
        ids in proptest::option::of(proptest::collection::vec(any::<[u8; 32]>(), 0..5)),
        noop in proptest::option::of(any::<bool>()),
    ) -> HtlcRecords {
        HtlcRecords {
            asset_balances: balances.map(|b| b.into_iter().map(|(id, amount)| AssetBalance {
                asset_id: AssetId(id), amount, extra: ExtraRecords::new()
            }).collect()),
            rfq_id: rfq_id.map(RfqId),
            available_rfq_ids: ids.map(|ids| ids.into_iter().map(RfqId).collect()),
            noop_add: noop,
            extra: ExtraRecords::new(),
        }
    }
}

proptest! {
    #[test]
    fn request_round_trips(m in request()) {
        let bytes = m.encode();
        let back = QuoteRequest::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.encode(), bytes);
        let msg = RfqMessage::Request(m);
        let json = serde_json::to_string(&msg).unwrap();
        prop_assert_eq!(serde_json::from_str::<RfqMessage>(&json).unwrap(), msg);
    }

    #[test]
    fn accept_round_trips(m in accept()) {
        let bytes = m.encode();
        let back = QuoteAccept::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(back.encode(), bytes);
        let msg = RfqMessage::Accept(m);
        let json = serde_json::to_string(&msg).unwrap();
        prop_assert_eq!(serde_json::from_str::<RfqMessage>(&json).unwrap(), msg);
    }

    #[test]
    fn reject_round_trips(m in reject()) {
        let payload = RfqMessage::Reject(m.clone()).encode_payload();
        let back = RfqMessage::decode_payload(&payload).unwrap();
        prop_assert_eq!(&back, &RfqMessage::Reject(m));
        prop_assert_eq!(back.encode_payload(), payload);
    }

    #[test]
    fn htlc_records_round_trip(r in htlc_records()) {
        let bytes = r.encode();
        let back = HtlcRecords::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &r);
        prop_assert_eq!(back.encode(), bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        for ty in 52884..=52886u16 {
            if let Ok(m) = RfqMessage::decode_data(ty, &bytes) {
                // Whatever decodes must re-decode to the same value.
                prop_assert_eq!(RfqMessage::decode_data(ty, &m.encode_data()).unwrap(), m);
            }
        }
        let _ = HtlcRecords::decode(&bytes);
        let _ = RfqMessage::decode_payload(&bytes);
        let _ = RfqMessage::guess_type(&bytes);
    }

    #[test]
    fn mutated_vectors_never_panic(
        which in 0usize..9,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let names = [
            "tapd-v0.8-request", "tapd-v0.8-accept", "tapd-v0.8-reject", "tapd-v0.8-htlc",
            "derived-buy-request", "derived-sell-request", "derived-buy-accept",
            "derived-sell-accept", "derived-reject",
        ];
        let path = format!("{}/testdata/{}.hex", env!("CARGO_MANIFEST_DIR"), names[which]);
        let mut bytes: Vec<u8> = bitcoin::hex::FromHex::from_hex(
            std::fs::read_to_string(path).unwrap().trim()).unwrap();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        for ty in 52884..=52886u16 {
            let _ = RfqMessage::decode_data(ty, &bytes);
        }
        let _ = HtlcRecords::decode(&bytes);
    }
}
