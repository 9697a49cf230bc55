//! Seeds of the `payjoin_original` fuzz target (`../fuzz/fuzz_targets/payjoin_original.rs`):
//! real v1 requests of the `payjoin` crate's sender with a BDK wallet, paying the fuzz target's
//! receiver addresses (P2WPKH of the secrets `[200; 32]`, plain, and `[201; 32]`, its schedule).
//!
//! `PAYJOIN_WRITE_FUZZ_SEEDS=1 cargo test -p payjoin-channel --test fuzz_seeds` rewrites them;
//! otherwise the test checks that the stored seeds are still well-formed requests.

mod common;

use std::path::PathBuf;

use bdk_wallet::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bdk_wallet::bitcoin::{Address, Amount, CompressedPublicKey, FeeRate, Network};
use common::*;
use payjoin::receive::v1::{Headers, UncheckedOriginalPayload};
use payjoin::send::v1::SenderBuilder;

fn address(secret: u8) -> Address {
    let secp = Secp256k1::new();
    let key = PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[secret; 32]).unwrap());
    Address::p2wpkh(&CompressedPublicKey(key), Network::Regtest)
}

fn seed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/payjoin_original")
}

/// The fuzz target's input layout: `content-type\ncontent-length\nquery\nbody`.
fn seed(req: &payjoin::Request) -> Vec<u8> {
    let query = req.url.split_once('?').map_or("", |(_, q)| q);
    let mut out = format!("{}\n{}\n{}\n", req.content_type, req.body.len(), query).into_bytes();
    out.extend_from_slice(&req.body);
    out
}

fn request(
    chain: &mut TestChain,
    sender: &mut TestWallet,
    to: &Address,
    sat: u64,
    disable: bool,
) -> payjoin::Request {
    let coin_address = sender
        .wallet
        .reveal_next_address(bdk_wallet::KeychainKind::External)
        .address;
    chain.fund(coin_address.script_pubkey(), Amount::from_sat(1_000_000));
    chain.mine();
    chain.sync(&mut sender.wallet);
    let mut uri = payjoin::receive::v1::build_v1_pj_uri(
        to,
        "https://localhost/pj",
        payjoin::OutputSubstitution::Enabled,
    )
    .unwrap();
    uri.set_amount(Amount::from_sat(sat));
    let original = original_for(sender, &uri);
    let mut builder = SenderBuilder::new(original, uri);
    if disable {
        builder = builder.always_disable_output_substitution();
    }
    builder
        .build_recommended(FeeRate::from_sat_per_vb_u32(2))
        .unwrap()
        .create_v1_post_request()
        .0
}

struct SeedHeaders<'a>(&'a str, &'a str);

impl Headers for SeedHeaders<'_> {
    fn get_header(&self, key: &str) -> Option<&str> {
        match key {
            "content-type" => Some(self.0),
            "content-length" => Some(self.1),
            _ => None,
        }
    }
}

#[test]
fn payjoin_original_fuzz_seeds() {
    let dir = seed_dir();
    if std::env::var_os("PAYJOIN_WRITE_FUZZ_SEEDS").is_some() {
        let mut chain = TestChain::new();
        let mut sender = sender_wallet(7);
        let seeds = [
            (
                "plain.txt",
                request(&mut chain, &mut sender, &address(200), 100_000, false),
            ),
            (
                "channel.txt",
                request(&mut chain, &mut sender, &address(201), 105_000, false),
            ),
            (
                "channel-pjos0.txt",
                request(&mut chain, &mut sender, &address(201), 105_000, true),
            ),
        ];
        std::fs::create_dir_all(&dir).unwrap();
        for (name, req) in seeds {
            std::fs::write(dir.join(name), seed(&req)).unwrap();
        }
    }
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("seed directory") {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let mut parts = bytes.splitn(4, |&b| b == b'\n');
        let content_type = std::str::from_utf8(parts.next().unwrap()).unwrap();
        let length = std::str::from_utf8(parts.next().unwrap()).unwrap();
        let query = std::str::from_utf8(parts.next().unwrap()).unwrap();
        let body = parts.next().unwrap();
        UncheckedOriginalPayload::from_request(body, query, SeedHeaders(content_type, length))
            .expect("a seed is a well-formed v1 request");
        checked += 1;
    }
    assert!(checked >= 3, "expected the three seeds, found {checked}");
}
