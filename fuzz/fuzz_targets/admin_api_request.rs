//! The admin API's request decoding (`lnedge_node::api::check_request`) on arbitrary input:
//! never panics, and every refusal is a 4xx with a message. Input: `METHOD\nPATH\nBODY` (the
//! method and path as hyper hands them over; missing parts are empty).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == b'\n');
    let method = parts.next().unwrap_or_default();
    let path = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let body = parts.next().unwrap_or_default();
    if let Err((status, message)) = lnedge_node::api::check_request(method, &path, body) {
        assert!((400..500).contains(&status), "{status} {message}");
        assert!(!message.is_empty());
    }
});
