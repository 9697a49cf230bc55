//! RegistrationToken::decode on arbitrary input: never panics; whatever decodes re-encodes to a
//! token that decodes to the same paths. The first byte picks the input form: a raw string, or
//! the rest as the token's data under a valid bech32m checksum (so the fuzzer reaches the path
//! parser without having to find checksums). The same bytes also go through
//! `RegistrationToken::from_ldk_paths` (LDK's serialization of the paths, which the admin API
//! takes as hex): never a panic, and what it reads writes out and reads back to the same paths.
#![no_main]
use async_offers::registry::{Bech32mLong, RegistrationToken, TOKEN_HRP};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if let Ok(token) = RegistrationToken::from_ldk_paths(rest) {
        let back = RegistrationToken::from_ldk_paths(&token.to_ldk_paths()).expect("round trip");
        assert_eq!(back.paths(), token.paths());
    }
    let input = if mode & 1 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        let hrp = bech32::Hrp::parse(TOKEN_HRP).expect("valid hrp");
        match bech32::encode_lower::<Bech32mLong>(hrp, rest) {
            Ok(s) => s,
            Err(_) => return,
        }
    };
    if let Ok(token) = RegistrationToken::decode(&input) {
        let again = RegistrationToken::new(token.paths().to_vec()).expect("decoded paths re-encode");
        let back = RegistrationToken::decode(again.as_str()).expect("re-encoded token decodes");
        assert_eq!(back.paths(), token.paths());
    }
});
