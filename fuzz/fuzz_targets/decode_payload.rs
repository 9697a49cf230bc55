//! RfqMessage::decode_payload (2-byte type + data) and guess_type on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rfq_wire::RfqMessage;

fuzz_target!(|data: &[u8]| {
    let _ = RfqMessage::guess_type(data);
    if let Ok(m) = RfqMessage::decode_payload(data) {
        let payload = m.encode_payload();
        assert_eq!(RfqMessage::decode_payload(&payload).as_ref(), Ok(&m));
        // Validation and classification never panic either.
        if let RfqMessage::Request(r) = &m {
            let _ = r.validate(1_700_000_000);
        }
        if let RfqMessage::Accept(a) = &m {
            let _ = a.validate(1_700_000_000);
        }
    }
});
