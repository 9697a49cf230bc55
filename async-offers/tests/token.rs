//! Registration tokens: round trips with realistic blinded paths, every bad-token case, and
//! decoding arbitrary input never panics.

mod common;

use async_offers::registry::{RegistrationToken, TokenError, MAX_TOKEN_CHARS, TOKEN_HRP};
use bech32::{Bech32, Bech32m, Hrp};
use common::ldk::{server_path, TestEntropy};
use lightning::blinded_path::message::BlindedMessagePath;
use lightning::util::ser::Writeable;
use proptest::prelude::*;

fn paths(n: usize, hops: u8) -> Vec<BlindedMessagePath> {
    let entropy = TestEntropy::new(42);
    (0..n)
        .map(|i| server_path(&entropy, 1, hops, &[i as u8; 32]))
        .collect()
}

/// Data in the token layout, for hand-made bad tokens.
fn data(version: u8, paths: &[BlindedMessagePath]) -> Vec<u8> {
    let mut d = vec![version, paths.len() as u8];
    for p in paths {
        let bytes = p.encode();
        d.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        d.extend_from_slice(&bytes);
    }
    d
}

fn long_bech32m(hrp: &str, data: &[u8]) -> String {
    bech32::encode_lower::<async_offers::registry::Bech32mLong>(Hrp::parse(hrp).unwrap(), data)
        .unwrap()
}

#[test]
fn realistic_path_lists_round_trip() {
    for n in 1..=3 {
        for hops in [0, 1, 2] {
            let paths = paths(n, hops);
            let token = RegistrationToken::new(paths.clone()).unwrap();
            let s = token.to_string();
            assert!(s.starts_with("lnasync1"), "{s}");
            let back: RegistrationToken = s.parse().unwrap();
            assert_eq!(back.paths(), &paths[..]);
            assert_eq!(back, token);
            // Upper case and surrounding whitespace are accepted too.
            let upper = format!("  {}\n", s.to_uppercase());
            assert_eq!(
                RegistrationToken::decode(&upper).unwrap().into_paths(),
                paths
            );
        }
    }
}

#[test]
fn ldk_serialized_paths_convert_both_ways() {
    let paths = paths(3, 1);
    let token = RegistrationToken::new(paths.clone()).unwrap();
    // LDK's own encoding of the list, as an LDK or ldk-node server hands it out.
    let ldk = paths.encode();
    assert_eq!(token.to_ldk_paths(), ldk);
    assert_eq!(RegistrationToken::from_ldk_paths(&ldk).unwrap(), token);
    // Bad input is refused with a reason, never a panic.
    assert_eq!(
        RegistrationToken::from_ldk_paths(&ldk[..ldk.len() - 1]),
        Err(TokenError::NotLdkPaths)
    );
    let mut trailing = ldk.clone();
    trailing.push(0);
    assert_eq!(
        RegistrationToken::from_ldk_paths(&trailing),
        Err(TokenError::TrailingBytes(1))
    );
    assert_eq!(
        RegistrationToken::from_ldk_paths(&Vec::<BlindedMessagePath>::new().encode()),
        Err(TokenError::NoPaths)
    );
    assert_eq!(
        RegistrationToken::from_ldk_paths(&[]),
        Err(TokenError::NotLdkPaths)
    );
}

#[test]
fn realistic_tokens_exceed_plain_bech32m_length() {
    // Three paths as LDK's DefaultMessageRouter builds them (padded, 4 hops each).
    let token = RegistrationToken::new(paths(3, 1)).unwrap();
    let len = token.as_str().len();
    assert!(len > 1023, "{len}");
    assert!(len <= MAX_TOKEN_CHARS);
    // bech32 0.11's own Bech32m refuses this length: the reason for the raised limit.
    let data = data(1, &paths(3, 1));
    assert!(bech32::encode_lower::<Bech32m>(Hrp::parse(TOKEN_HRP).unwrap(), &data).is_err());
}

#[test]
fn a_short_token_is_plain_bech32m() {
    let path = paths(1, 0);
    let token = RegistrationToken::new(path.clone()).unwrap();
    if token.as_str().len() <= 1023 {
        let (hrp, bytes) = bech32::decode(token.as_str()).unwrap();
        assert_eq!(hrp.as_str(), TOKEN_HRP);
        assert_eq!(bytes, data(1, &path));
    }
}

#[test]
fn wrong_hrp() {
    let s = long_bech32m("lnbc", &data(1, &paths(1, 0)));
    assert_eq!(
        RegistrationToken::decode(&s),
        Err(TokenError::WrongHrp {
            found: "lnbc".into()
        })
    );
}

#[test]
fn bad_checksum() {
    let s = RegistrationToken::new(paths(1, 1)).unwrap().to_string();
    let mut chars: Vec<char> = s.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'q' { 'p' } else { 'q' };
    let damaged: String = chars.into_iter().collect();
    assert_eq!(
        RegistrationToken::decode(&damaged),
        Err(TokenError::BadChecksum)
    );
    // Cutting the end off breaks the checksum too.
    assert_eq!(
        RegistrationToken::decode(&s[..s.len() - 10]),
        Err(TokenError::BadChecksum)
    );
}

#[test]
fn bech32_instead_of_bech32m() {
    let d = data(1, &paths(1, 0));
    // Short enough for bech32 0.11's own Bech32.
    let s = bech32::encode_lower::<Bech32>(Hrp::parse(TOKEN_HRP).unwrap(), &d[..200]).unwrap();
    assert_eq!(RegistrationToken::decode(&s), Err(TokenError::NotBech32m));
}

#[test]
fn not_bech32() {
    for s in [
        "",
        "lnasync",
        "hello world",
        "lnasync1bio",
        "LNasync1qqqqqq",
        "1qqqqqq",
    ] {
        assert!(
            matches!(
                RegistrationToken::decode(s),
                Err(TokenError::NotBech32 | TokenError::BadChecksum | TokenError::WrongHrp { .. })
            ),
            "{s:?}: {:?}",
            RegistrationToken::decode(s)
        );
    }
    assert_eq!(
        RegistrationToken::decode("no separator"),
        Err(TokenError::NotBech32)
    );
}

#[test]
fn too_long() {
    let s = format!("lnasync1{}", "q".repeat(MAX_TOKEN_CHARS));
    assert!(matches!(
        RegistrationToken::decode(&s),
        Err(TokenError::TooLong { .. })
    ));
    // More paths than fit.
    assert!(matches!(
        RegistrationToken::new(paths(12, 2)),
        Err(TokenError::TooLong { .. })
    ));
}

#[test]
fn unknown_version() {
    let s = long_bech32m(TOKEN_HRP, &data(2, &paths(1, 0)));
    assert_eq!(
        RegistrationToken::decode(&s),
        Err(TokenError::UnknownVersion(2))
    );
    let s = long_bech32m(TOKEN_HRP, &data(0, &paths(1, 0)));
    assert_eq!(
        RegistrationToken::decode(&s),
        Err(TokenError::UnknownVersion(0))
    );
}

#[test]
fn empty_data_and_empty_path_list() {
    assert_eq!(
        RegistrationToken::decode(&long_bech32m(TOKEN_HRP, &[])),
        Err(TokenError::Empty)
    );
    assert_eq!(
        RegistrationToken::decode(&long_bech32m(TOKEN_HRP, &[1])),
        Err(TokenError::NoPaths)
    );
    assert_eq!(
        RegistrationToken::decode(&long_bech32m(TOKEN_HRP, &[1, 0])),
        Err(TokenError::NoPaths)
    );
    assert_eq!(RegistrationToken::new(vec![]), Err(TokenError::NoPaths));
}

#[test]
fn too_many_paths() {
    let s = long_bech32m(TOKEN_HRP, &[1, 17]);
    assert_eq!(
        RegistrationToken::decode(&s),
        Err(TokenError::TooManyPaths(17))
    );
}

#[test]
fn truncated_paths() {
    let full = data(1, &paths(2, 1));
    let first_len = 4 + usize::from(u16::from_be_bytes([full[2], full[3]]));
    // Cut inside the first path's length, inside the first path, and inside the second path.
    for (cut, index) in [
        (3, 0),
        (first_len - 1, 0),
        (first_len + 1, 1),
        (full.len() - 1, 1),
    ] {
        let s = long_bech32m(TOKEN_HRP, &full[..cut]);
        assert_eq!(
            RegistrationToken::decode(&s),
            Err(TokenError::Truncated { index }),
            "cut at {cut}"
        );
    }
    // The count says 3 but only 2 paths follow.
    let mut more = full.clone();
    more[1] = 3;
    assert_eq!(
        RegistrationToken::decode(&long_bech32m(TOKEN_HRP, &more)),
        Err(TokenError::Truncated { index: 2 })
    );
}

#[test]
fn garbage_paths() {
    let mut d = vec![1, 1, 0, 40];
    d.extend_from_slice(&[0xab; 40]);
    assert_eq!(
        RegistrationToken::decode(&long_bech32m(TOKEN_HRP, &d)),
        Err(TokenError::BadPath { index: 0 })
    );
    // A valid path with a byte too many inside its length.
    let p = paths(1, 0);
    let mut bytes = p[0].encode();
    bytes.push(0);
    let mut d = vec![1, 1];
    d.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    d.extend_from_slice(&bytes);
    assert_eq!(
        RegistrationToken::decode(&long_bech32m(TOKEN_HRP, &d)),
        Err(TokenError::BadPath { index: 0 })
    );
}

#[test]
fn trailing_bytes() {
    let mut d = data(1, &paths(1, 0));
    d.extend_from_slice(&[0, 0, 0]);
    assert_eq!(
        RegistrationToken::decode(&long_bech32m(TOKEN_HRP, &d)),
        Err(TokenError::TrailingBytes(3))
    );
}

#[test]
fn non_zero_padding_is_refused() {
    use bech32::Fe32;
    use bech32::Fe32IterExt as _;
    // 2 bytes = 16 bits in 4 characters (20 bits): the last 4 bits are padding; set one.
    let fes = [Fe32::Q, Fe32::P, Fe32::Q, Fe32::P];
    let s: String = fes
        .iter()
        .copied()
        .with_checksum::<async_offers::registry::Bech32mLong>(&Hrp::parse(TOKEN_HRP).unwrap())
        .chars()
        .collect();
    assert_eq!(RegistrationToken::decode(&s), Err(TokenError::BadPadding));
    // 3 characters (15 bits) hold one byte and 7 bits: too much padding.
    let fes = [Fe32::Q; 3];
    let s: String = fes
        .iter()
        .copied()
        .with_checksum::<async_offers::registry::Bech32mLong>(&Hrp::parse(TOKEN_HRP).unwrap())
        .chars()
        .collect();
    assert_eq!(RegistrationToken::decode(&s), Err(TokenError::BadPadding));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoding_any_string_never_panics(s in "\\PC{0,200}") {
        let _ = RegistrationToken::decode(&s);
    }

    #[test]
    fn decoding_any_bech32_payload_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = RegistrationToken::decode(&long_bech32m(TOKEN_HRP, &bytes));
        // And with a valid header in front.
        let mut d = vec![1u8, 1];
        d.extend_from_slice(&bytes);
        let _ = RegistrationToken::decode(&long_bech32m(TOKEN_HRP, &d));
    }

    #[test]
    fn reading_any_ldk_paths_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = RegistrationToken::from_ldk_paths(&bytes);
    }

    #[test]
    fn mutated_tokens_never_panic(i in 0usize..4000, c in proptest::char::range('0', 'z')) {
        let s = RegistrationToken::new(paths(1, 1)).unwrap().to_string();
        let mut chars: Vec<char> = s.chars().collect();
        let i = i % chars.len();
        chars[i] = c;
        let s: String = chars.into_iter().collect();
        let _ = RegistrationToken::decode(&s);
    }
}
