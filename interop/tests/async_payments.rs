//! BOLT 12 async payments across implementations: lnedge as the static invoice server of an
//! often-offline ldk-node recipient, and ldk-node as the server of an lnedge recipient. Each
//! recipient's node really stops while the payer pays, and the payment completes when it comes
//! back.

use ldk_node::bitcoin::hex::{DisplayHex, FromHex};
use ldk_node::config::AsyncPaymentsRole;
use ldk_node::lightning::blinded_path::message::BlindedMessagePath;
use ldk_node::lightning::offers::offer::Offer;
use ldk_node::lightning::util::ser::{Readable, Writeable};
use lnedge_interop::devnet::Devnet;
use lnedge_interop::ldk::Ldk;
use lnedge_interop::lnedge::Lnedge;
use lnedge_interop::lnedge_bin;
use lnedge_interop::wait::wait_until;
use serde_json::Value;

const CHANNEL_SAT: u64 = 1_000_000;
const PUSH_MSAT: u64 = 400_000_000;
const AMOUNT_MSAT: u64 = 21_000_000;

/// Waits for `payer`'s outbound payment `id` to end; its JSON, which must say `succeeded`.
fn wait_paid(payer: &Lnedge, id: &str) -> Value {
    let payment = wait_until("the async payment ends", || {
        payer
            .try_json(&["payments", id])
            .ok()
            .filter(|p| p["status"] != "pending")
    });
    assert_eq!(
        payment["status"],
        "succeeded",
        "{payment}; payer's log:\n{}",
        payer.log_tail()
    );
    payment
}

/// Server S: lnedge (`--async-server`), in the graph through a public channel from payer P
/// (lnedge). Recipient R: ldk-node (async payments client) with a private channel to S.
#[test]
fn lnedge_serves_an_offline_ldk_node_recipient() {
    let bin = lnedge_bin();
    let root = lnedge_interop::Scratch::new();
    let devnet = Devnet::start(&bin);
    let s = Lnedge::start(&bin, root.path(), "server", &devnet, &["--async-server"]);
    let p = Lnedge::start(&bin, root.path(), "payer", &devnet, &[]);
    let mut r = Ldk::start(root.path(), "recipient", &devnet, |b| {
        b.set_async_payments_role(Some(AsyncPaymentsRole::Client))
            .expect("client role");
    });
    p.fund(&devnet, 1);
    r.fund(&devnet);

    // P → S public (S in the graph), R → S private with most of it pushed to S.
    p.json(&["peer", "connect", &format!("{}@{}", s.node_id, s.p2p)]);
    p.open(&devnet, s.node_id, CHANNEL_SAT, 0, true);
    r.connect(&s);
    let addr = s.p2p.parse().expect("p2p address");
    r.open(&devnet, s.node_id, addr, CHANNEL_SAT, PUSH_MSAT);
    devnet.mine(6);
    wait_until("both channels usable at S", || {
        let usable = s.channels().iter().filter(|c| c["usable"] == true).count();
        (usable == 2).then_some(())
    });

    // S registers R; R takes the paths in LDK's serialization.
    let registered = s.json(&["async", "register", "ldk-node recipient"]);
    let bytes =
        Vec::<u8>::from_hex(registered["ldk_paths_hex"].as_str().expect("paths hex")).expect("hex");
    let paths: Vec<BlindedMessagePath> = Readable::read(&mut &bytes[..]).expect("LDK paths");
    r.node
        .bolt12_payment()
        .set_paths_to_static_invoice_server(paths)
        .expect("R takes S's paths");
    let offer = wait_until("R's async offer is ready (S stored its invoice)", || {
        r.node.bolt12_payment().receive_async().ok()
    });
    let stored = s.json(&["async", "invoices"]);
    assert!(
        stored["invoices"].as_array().is_some_and(|i| !i.is_empty()),
        "S stores R's static invoice: {stored}"
    );

    // R's node stops; P pays; the payment waits for R.
    r.stop();
    wait_until("S sees R gone", || {
        let peers = s.json(&["peer", "list"]);
        let listed = peers
            .as_array()
            .is_some_and(|ps| ps.iter().any(|x| x["node_id"] == r.node_id().to_string()));
        (!listed).then_some(())
    });
    let id = p.start_payment(&offer.to_string(), AMOUNT_MSAT);
    wait_until("S holds a message for R", || {
        let stats = s.json(&["async", "server"]);
        (stats["messages_held"].as_u64() > Some(0)).then_some(())
    });
    assert_eq!(p.json(&["payments", &id])["status"], "pending");

    // R comes back and is paid.
    r.restart();
    let payment = wait_paid(&p, &id);
    assert_eq!(payment["amount_msat"], AMOUNT_MSAT);
    let hash = payment["payment_hash"].as_str().expect("hash");
    assert_eq!(r.wait_received(hash), AMOUNT_MSAT);
}

/// Server S: ldk-node (async payments server), in the graph through a public channel from
/// payer P (lnedge). Recipient R: lnedge with a private channel to S, which applies S's paths.
#[test]
fn ldk_node_serves_an_offline_lnedge_recipient() {
    let bin = lnedge_bin();
    let root = lnedge_interop::Scratch::new();
    let devnet = Devnet::start(&bin);
    let s = Ldk::start(root.path(), "server", &devnet, |b| {
        b.set_async_payments_role(Some(AsyncPaymentsRole::Server))
            .expect("server role");
    });
    let p = Lnedge::start(&bin, root.path(), "payer", &devnet, &[]);
    let mut r = Lnedge::start(&bin, root.path(), "recipient", &devnet, &[]);
    p.fund(&devnet, 1);
    r.fund(&devnet, 1);
    s.fund(&devnet);

    let s_uri = s.uri();
    for n in [&p, &r] {
        n.json(&["peer", "connect", &s_uri]);
    }
    p.open(&devnet, s.node_id(), CHANNEL_SAT, 0, true);
    r.open(&devnet, s.node_id(), CHANNEL_SAT, PUSH_MSAT, false);
    devnet.mine(6);
    wait_until("both channels usable at S", || {
        let usable = s
            .node
            .list_channels()
            .iter()
            .filter(|c| c.is_usable)
            .count();
        (usable == 2).then_some(())
    });

    // S hands R its paths (LDK's serialization), once it can build them (its public channel
    // announced); R applies them like a token.
    let paths = wait_until("S builds paths for R", || {
        s.node
            .bolt12_payment()
            .blinded_paths_for_async_recipient(b"lnedge recipient".to_vec())
            .ok()
    });
    let hex = paths.encode().to_lower_hex_string();
    r.json(&["async", "apply", &hex]);
    let offer = r.json(&["offer", "--async", "--wait", "90"]);
    let offer: Offer = offer["offer"]
        .as_str()
        .expect("offer")
        .parse()
        .expect("an offer");

    // R's node stops; P pays; the payment waits for R.
    r.stop();
    let id = p.start_payment(&offer.to_string(), AMOUNT_MSAT);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(p.json(&["payments", &id])["status"], "pending");

    // R comes back and is paid.
    r.restart();
    let payment = wait_paid(&p, &id);
    assert_eq!(payment["amount_msat"], AMOUNT_MSAT);
    let hash = payment["payment_hash"].as_str().expect("hash").to_string();
    r.wait_received(&hash);
}
