//! QuoteReject::decode on arbitrary bytes: never panics; whatever decodes re-encodes to bytes that
//! decode to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rfq_wire::QuoteReject;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = QuoteReject::decode(data) {
        let bytes = m.encode();
        assert_eq!(QuoteReject::decode(&bytes).as_ref(), Ok(&m));
        assert_eq!(m.encode(), bytes);
    }
});
