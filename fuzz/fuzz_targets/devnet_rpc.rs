//! devnet's JSON-RPC request handling (`answer_body`) on arbitrary bodies: always an HTTP status
//! and a JSON-RPC reply or none, never a panic. One in-memory chain with 101 blocks serves every
//! input, so state-changing calls (mining, invalidation, sending) are exercised as they pile up.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lnedge_devnet::rpc::server::answer_body;
use lnedge_devnet::{anyone_can_spend_script, Devnet};
use std::sync::OnceLock;

fn devnet() -> &'static Devnet {
    static DEVNET: OnceLock<Devnet> = OnceLock::new();
    DEVNET.get_or_init(|| {
        let devnet = Devnet::in_memory();
        devnet
            .mine(101, &anyone_can_spend_script())
            .expect("an in-memory chain mines");
        devnet
    })
}

fuzz_target!(|data: &[u8]| {
    let (_status, _reply) = answer_body(devnet(), data);
});
