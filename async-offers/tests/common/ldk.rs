//! Real LDK values for the tests: blinded message paths, offers, static invoices, invoice
//! requests and responders, built with LDK's public constructors and builders.

#![allow(dead_code)] // each test crate uses part of it

use lightning::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lightning::blinded_path::message::{
    AsyncPaymentsContext, BlindedMessagePath, MessageContext, MessageForwardNode,
};
use lightning::blinded_path::payment::{
    AsyncBolt12OfferContext, BlindedPaymentPath, PaymentConstraints, PaymentContext, ReceiveTlvs,
};
use lightning::ln::channelmanager::PaymentId;
use lightning::ln::inbound_payment::ExpandedKey;
use lightning::offers::invoice_request::InvoiceRequest;
use lightning::offers::nonce::Nonce;
use lightning::offers::offer::{Offer, OfferBuilder};
use lightning::offers::static_invoice::{StaticInvoice, StaticInvoiceBuilder};
use lightning::onion_message::messenger::Responder;
use lightning::sign::{EntropySource, ReceiveAuthKey};
use lightning::types::payment::PaymentSecret;
use lightning::util::ser::{Readable, Writeable};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Deterministic entropy: a counter hashed into 32 bytes (tests only).
pub struct TestEntropy(AtomicU64);

impl TestEntropy {
    pub fn new(seed: u64) -> Self {
        TestEntropy(AtomicU64::new(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
    }
}

impl EntropySource for TestEntropy {
    fn get_secure_random_bytes(&self) -> [u8; 32] {
        use lightning::bitcoin::hashes::{sha256, Hash};
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        sha256::Hash::hash(&n.to_le_bytes()).to_byte_array()
    }
}

/// A node key from a small number.
pub fn node_key(n: u8) -> (SecretKey, PublicKey) {
    let mut bytes = [0x11; 32];
    bytes[31] = n.max(1);
    let sk = SecretKey::from_slice(&bytes).expect("valid key");
    (sk, PublicKey::from_secret_key(&Secp256k1::new(), &sk))
}

/// A blinded path to the server `server`, through `hops` intermediate peers, whose context is
/// the `OfferPathsRequest` LDK puts in `blinded_paths_for_async_recipient`'s paths, built as
/// LDK's `DefaultMessageRouter` builds them (padded, dummy hops up to 4 hops in all).
pub fn server_path(
    entropy: &TestEntropy,
    server: u8,
    hops: u8,
    recipient_id: &[u8],
) -> BlindedMessagePath {
    let secp = Secp256k1::new();
    let peers: Vec<MessageForwardNode> = (0..hops)
        .map(|i| MessageForwardNode {
            node_id: node_key(100 + i).1,
            short_channel_id: None,
        })
        .collect();
    let context = MessageContext::AsyncPayments(AsyncPaymentsContext::OfferPathsRequest {
        recipient_id: recipient_id.to_vec(),
        path_absolute_expiry: Some(Duration::from_secs(1_900_000_000)),
    });
    BlindedMessagePath::new_with_dummy_hops(
        &peers,
        node_key(server).1,
        4usize.saturating_sub(peers.len() + 1),
        ReceiveAuthKey([7; 32]),
        context,
        false,
        entropy,
        &secp,
    )
}

/// A one-hop path to `node` with an arbitrary context (reply paths, request paths).
pub fn plain_path(entropy: &TestEntropy, node: u8) -> BlindedMessagePath {
    BlindedMessagePath::one_hop(
        node_key(node).1,
        ReceiveAuthKey([9; 32]),
        MessageContext::Custom(vec![node]),
        true,
        entropy,
        &Secp256k1::new(),
    )
}

/// A `Responder` whose reply path is `path` (LDK keeps `Responder::new` private; its
/// serialization is a TLV stream with the path as record 0).
pub fn responder(path: &BlindedMessagePath) -> Responder {
    let value = path.encode();
    let mut tlv = vec![0u8];
    push_bigsize(&mut tlv, value.len() as u64);
    tlv.extend_from_slice(&value);
    let mut bytes = Vec::new();
    push_bigsize(&mut bytes, tlv.len() as u64);
    bytes.extend_from_slice(&tlv);
    Responder::read(&mut bytes.as_slice()).expect("a valid responder")
}

fn push_bigsize(out: &mut Vec<u8>, v: u64) {
    if v < 0xfd {
        out.push(v as u8);
    } else if v <= 0xffff {
        out.push(0xfd);
        out.extend_from_slice(&(v as u16).to_be_bytes());
    } else {
        out.push(0xfe);
        out.extend_from_slice(&(v as u32).to_be_bytes());
    }
}

/// The recipient's keys and the offer its static invoices are for.
pub struct Recipient {
    pub entropy: TestEntropy,
    pub expanded_key: ExpandedKey,
    pub node_id: PublicKey,
    pub nonce: Nonce,
    pub offer: Offer,
}

impl Recipient {
    /// A recipient (node `n`) with an offer through the server `server`, expiring at
    /// `offer_expiry` (Unix seconds) if given.
    pub fn new(n: u8, server: u8, offer_expiry: Option<u64>) -> Self {
        let entropy = TestEntropy::new(u64::from(n) + 1000);
        let secp = Secp256k1::new();
        let expanded_key = ExpandedKey::new([n; 32]);
        let node_id = node_key(n).1;
        let nonce = Nonce::from_entropy_source(&entropy);
        let mut builder =
            OfferBuilder::deriving_signing_pubkey(node_id, &expanded_key, nonce, &secp)
                .path(plain_path(&entropy, server));
        if let Some(expiry) = offer_expiry {
            builder = builder.absolute_expiry(Duration::from_secs(expiry));
        }
        let offer = builder.build().expect("valid offer");
        Recipient {
            entropy,
            expanded_key,
            node_id,
            nonce,
            offer,
        }
    }

    /// A static invoice for the offer created at `created_at` (Unix seconds) lasting
    /// `relative_expiry` seconds.
    pub fn invoice(&self, created_at: u64, relative_expiry: u32) -> StaticInvoice {
        let secp = Secp256k1::new();
        let tlvs = ReceiveTlvs {
            payment_secret: PaymentSecret([3; 32]),
            payment_constraints: PaymentConstraints {
                max_cltv_expiry: 1_000_000,
                htlc_minimum_msat: 1,
            },
            payment_context: PaymentContext::AsyncBolt12Offer(AsyncBolt12OfferContext {
                offer_nonce: self.nonce,
                payment_metadata: None,
            }),
        };
        let payment_path = BlindedPaymentPath::new(
            &[],
            self.node_id,
            ReceiveAuthKey([5; 32]),
            tlvs,
            u64::MAX,
            144,
            &self.entropy,
            &secp,
        )
        .expect("payment path");
        let held_htlc_path = plain_path(&self.entropy, 1);
        StaticInvoiceBuilder::for_offer_using_derived_keys(
            &self.offer,
            vec![payment_path],
            vec![held_htlc_path],
            Duration::from_secs(created_at),
            &self.expanded_key,
            self.nonce,
            &secp,
        )
        .expect("builder")
        .relative_expiry(relative_expiry)
        .build_and_sign(&secp)
        .expect("signed static invoice")
    }

    /// An invoice request for the offer, as a payer sends it.
    pub fn invoice_request(&self, payer: u8) -> InvoiceRequest {
        let secp = Secp256k1::new();
        let payer_key = ExpandedKey::new([payer; 32]);
        let nonce = Nonce::from_entropy_source(&self.entropy);
        self.offer
            .request_invoice(&payer_key, nonce, &secp, PaymentId([payer; 32]))
            .expect("request builder")
            .amount_msats(10_000)
            .expect("amount")
            .build_and_sign()
            .expect("signed invoice request")
    }
}
