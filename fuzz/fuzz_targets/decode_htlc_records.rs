//! HtlcRecords::decode on arbitrary bytes: never panics; what decodes round-trips.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rfq_wire::HtlcRecords;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = HtlcRecords::decode(data) {
        let bytes = r.encode();
        assert_eq!(HtlcRecords::decode(&bytes).as_ref(), Ok(&r));
        let _ = r.to_pairs();
    }
});
