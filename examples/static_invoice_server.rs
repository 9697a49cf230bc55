//! A BOLT 12 static invoice server's storage (async payments): an always-online LSP keeps static
//! invoices for an often-offline recipient, so payers get one while the recipient's phone sleeps.
//! In a node, `async_offers::StaticInvoiceServer` drives this store from LDK's
//! `Event::PersistStaticInvoice` and `Event::StaticInvoiceRequested`; here we call the store
//! directly, with real LDK offers, static invoices and blinded paths.
//!
//! Run with `cargo run -p lnedge-examples --example static_invoice_server`.

use async_offers::store::{
    Persisted, SqliteStaticInvoiceStore, StaticInvoiceStore, StoreError, StoredInvoice,
};
use async_offers::RegistrationToken;
use lightning::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lightning::blinded_path::message::{
    AsyncPaymentsContext, BlindedMessagePath, MessageContext, OffersContext,
};
use lightning::blinded_path::payment::{
    AsyncBolt12OfferContext, BlindedPaymentPath, PaymentConstraints, PaymentContext, ReceiveTlvs,
};
use lightning::ln::inbound_payment::ExpandedKey;
use lightning::offers::{nonce::Nonce, offer::OfferBuilder, static_invoice::StaticInvoiceBuilder};
use lightning::sign::{RandomBytes, ReceiveAuthKey};
use lightning::types::payment::PaymentSecret;
use std::{error::Error, time::Duration};

/// A fixed "now" (Unix seconds) keeps the output reproducible; a node uses the current time.
const NOW: u64 = 1_800_000_000;
/// How the server names the recipient; LDK echoes it in the recipient's persist requests.
const ALICE: &[u8] = b"alice-phone";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStaticInvoiceStore::open(dir.path().join("invoices.sqlite"))?;
    let entropy = RandomBytes::new([7; 32]); // a node seeds this from its own CSPRNG

    // Registration: a token carries the server's blinded paths, with Alice's id in their context.
    // `StaticInvoiceServer::register` gets them from `ChannelManager::blinded_paths_for_async_
    // recipient` and registers her; here we build one path with LDK's constructor.
    let context = AsyncPaymentsContext::OfferPathsRequest {
        recipient_id: ALICE.to_vec(),
        path_absolute_expiry: None,
    };
    let server_path = path(node_id(1), MessageContext::AsyncPayments(context), &entropy);
    let token = RegistrationToken::new(vec![server_path])?.to_string();
    let slots = Some(2); // Alice's quota (the store's default is 10)
    store.register_recipient(ALICE, "Alice", slots, NOW).await?;
    println!("token for Alice ({} chars): {}…", token.len(), &token[..24]);
    // Alice's wallet parses the string it was handed (then `AsyncReceiver::apply_token`).
    let parsed: RegistrationToken = token.parse()?;
    println!("token decodes to {} blinded path(s)", parsed.paths().len());

    // Alice's LDK sends one static invoice per slot; the server stores it, then confirms.
    for slot in 0..2 {
        let outcome = store.persist_invoice(&invoice(slot, &entropy)?).await?;
        println!("slot {slot}: {outcome:?}");
        if outcome != Persisted::Inserted {
            return Err("a new slot should be inserted".into());
        }
    }
    // A payer's invoice request reached the server for (Alice, slot 1): look the invoice up.
    let found = store.get_invoice(ALICE, 1).await?;
    let found = found.ok_or("slot 1 is empty")?;
    println!("slot 1 serves an invoice expiring at {}", found.expires_at);

    // A third slot is beyond Alice's quota of two.
    match store.persist_invoice(&invoice(2, &entropy)?).await {
        Err(StoreError::QuotaExceeded { quota }) => println!("slot 2: refused, quota {quota}"),
        other => return Err(format!("slot 2 should be refused, got {other:?}").into()),
    }

    // Revoking deletes Alice's invoices and refuses new ones; her registration stays.
    let deleted = store.revoke_recipient(ALICE).await?;
    println!("revoked Alice, {deleted} invoices deleted");
    if deleted != 2 || !store.list_invoices(ALICE).await?.is_empty() {
        return Err("revoking should delete both invoices".into());
    }
    match store.persist_invoice(&invoice(0, &entropy)?).await {
        Err(StoreError::Revoked) => println!("slot 0 after revocation: refused"),
        other => return Err(format!("a revoked recipient must be refused, got {other:?}").into()),
    }

    println!("static_invoice_server: ok");
    Ok(())
}

/// A node id from a fixed secret key: 1 is the server, 2 is Alice.
fn node_id(n: u8) -> PublicKey {
    let secret = SecretKey::from_slice(&[n; 32]).expect("a valid key");
    PublicKey::from_secret_key(&Secp256k1::new(), &secret)
}

/// A one-hop blinded message path to `to`; a node's router adds peers and dummy hops.
fn path(to: PublicKey, context: MessageContext, entropy: &RandomBytes) -> BlindedMessagePath {
    let key = ReceiveAuthKey([9; 32]);
    BlindedMessagePath::one_hop(to, key, context, false, entropy, &Secp256k1::new())
}

/// What `Event::PersistStaticInvoice` carries for `slot`: Alice's offer for that slot (payers
/// reach it through the server), its static invoice, signed with a key derived from Alice's
/// expanded key, and the path on which the server forwards invoice requests to her.
fn invoice(slot: u16, entropy: &RandomBytes) -> Result<StoredInvoice, Box<dyn Error>> {
    let (secp, key) = (Secp256k1::new(), ExpandedKey::new([2; 32]));
    let alice = node_id(2);
    let (nonce, expiry) = (Nonce::from_entropy_source(entropy), NOW + 86_400);
    let at_server = OffersContext::StaticInvoiceRequested {
        recipient_id: ALICE.to_vec(),
        invoice_slot: slot,
        path_absolute_expiry: Duration::from_secs(expiry),
    };
    let offer = OfferBuilder::deriving_signing_pubkey(alice, &key, nonce, &secp)
        .path(path(node_id(1), MessageContext::Offers(at_server), entropy))
        .build()
        .map_err(|e| format!("LDK refused the offer: {e:?}"))?;
    let tlvs = ReceiveTlvs {
        payment_secret: PaymentSecret([3; 32]), // LDK's recipient derives it from its key
        payment_constraints: PaymentConstraints {
            max_cltv_expiry: 1_000_000,
            htlc_minimum_msat: 1,
        },
        payment_context: PaymentContext::AsyncBolt12Offer(AsyncBolt12OfferContext {
            offer_nonce: nonce,
            payment_metadata: None,
        }),
    };
    let auth = ReceiveAuthKey([5; 32]);
    let pay = BlindedPaymentPath::new(&[], alice, auth, tlvs, u64::MAX, 144, entropy, &secp)
        .map_err(|()| "no payment path")?;
    // Where a payer's node tells Alice, once she is back online, that an HTLC is held for her.
    let held = AsyncPaymentsContext::InboundPayment {
        path_absolute_expiry: Duration::from_secs(expiry),
    };
    let held = vec![path(alice, MessageContext::AsyncPayments(held), entropy)];
    let created = Duration::from_secs(NOW);
    let invoice = StaticInvoiceBuilder::for_offer_using_derived_keys(
        &offer,
        vec![pay],
        held,
        created,
        &key,
        nonce,
        &secp,
    )
    .and_then(|builder| builder.build_and_sign(&secp))
    .map_err(|e| format!("LDK refused the static invoice: {e:?}"))?;
    let context = OffersContext::InvoiceRequest {
        nonce,
        payment_metadata: None,
    };
    let request_path = path(alice, MessageContext::Offers(context), entropy);
    let record = StoredInvoice::new(ALICE.to_vec(), slot, invoice, request_path, NOW);
    Ok(record)
}
