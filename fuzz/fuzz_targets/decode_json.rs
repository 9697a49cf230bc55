//! The JSON forms (what `lnedge rfq encode` and the node API read): never panic; what parses
//! encodes to bytes that decode to the same message.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rfq_wire::RfqMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = serde_json::from_slice::<RfqMessage>(data) {
        let payload = m.encode_payload();
        assert_eq!(RfqMessage::decode_payload(&payload).as_ref(), Ok(&m));
    }
});
