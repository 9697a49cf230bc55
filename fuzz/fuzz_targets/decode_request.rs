//! QuoteRequest::decode on arbitrary bytes: never panics; whatever decodes re-encodes to bytes that
//! decode to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rfq_wire::QuoteRequest;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = QuoteRequest::decode(data) {
        let bytes = m.encode();
        assert_eq!(QuoteRequest::decode(&bytes).as_ref(), Ok(&m));
        assert_eq!(m.encode(), bytes);
    }
});
