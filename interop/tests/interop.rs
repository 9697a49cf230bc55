//! lnedge and ldk-node on one devnet: channels both ways with anchors, BOLT 11 and BOLT 12 both
//! ways, keysend both ways, closes from each side, a fee update at the relay floor.

use ldk_node::lightning::offers::offer::Offer;
use ldk_node::lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescription, Description};
use ldk_node::UserChannelId;
use lnedge_interop::devnet::Devnet;
use lnedge_interop::ldk::Ldk;
use lnedge_interop::lnedge::Lnedge;
use lnedge_interop::lnedge_bin;
use lnedge_interop::wait::wait_until;
use serde_json::Value;

const CHANNEL_SAT: u64 = 1_000_000;
const PUSH_MSAT: u64 = 300_000_000;

/// A devnet, one lnedge node and one ldk-node, both funded, ldk-node connected to lnedge.
struct Net {
    devnet: Devnet,
    lnedge: Lnedge,
    ldk: Ldk,
    root: lnedge_interop::Scratch,
}

impl Net {
    fn start() -> Net {
        let bin = lnedge_bin();
        let root = lnedge_interop::Scratch::new();
        let devnet = Devnet::start(&bin);
        let lnedge = Lnedge::start(&bin, root.path(), "lnedge", &devnet, &[]);
        let ldk = Ldk::start(root.path(), "ldk", &devnet, |_| {});
        lnedge.fund(&devnet, 3);
        ldk.fund(&devnet);
        ldk.connect(&lnedge);
        Net {
            devnet,
            lnedge,
            ldk,
            root,
        }
    }

    /// On failure: where the logs are, and their tails.
    fn logs(&self) -> String {
        format!(
            "logs in {}; lnedge's tail:\n{}",
            self.root.path().display(),
            self.lnedge.log_tail()
        )
    }

    /// ldk-node opens a channel to lnedge, and a block confirms the funding transaction:
    /// ldk-node's wallet may spend the same coin again for an open that follows before it
    /// has synced its own (`txn-mempool-conflict`, seen with ldk-node 0.7.1).
    fn ldk_opens(&self) -> (UserChannelId, String) {
        let addr = self.lnedge.p2p.parse().expect("p2p address");
        let (ucid, channel_id) = self.ldk.open(
            &self.devnet,
            self.lnedge.node_id,
            addr,
            CHANNEL_SAT,
            PUSH_MSAT,
        );
        self.devnet.mine(1);
        wait_until("ldk-node sees its funding transaction confirmed", || {
            self.ldk
                .channel(&channel_id)
                .filter(|c| c.confirmations >= Some(1))
        });
        (ucid, channel_id)
    }

    /// lnedge opens a channel to ldk-node.
    fn lnedge_opens(&self) -> String {
        self.lnedge.open(
            &self.devnet,
            self.ldk.node_id(),
            CHANNEL_SAT,
            PUSH_MSAT,
            false,
        )
    }

    /// ldk-node pays a BOLT 11 invoice of lnedge's: the payment as lnedge lists it.
    fn ldk_pays_an_invoice(&self, amount_msat: u64) -> Value {
        let invoice: Bolt11Invoice = self.lnedge.invoice(amount_msat).parse().expect("invoice");
        let bolt11 = self.ldk.node.bolt11_payment();
        let id = bolt11.send(&invoice, None).expect("ldk-node pays");
        self.ldk.wait_sent(&id);
        self.lnedge
            .wait_received(&invoice.payment_hash().to_string())
    }

    /// Mines until both sides list `channel_id` as usable; lnedge's view of it.
    fn wait_usable(&self, channel_id: &str) -> Value {
        self.devnet.mine(6);
        wait_until(
            &format!("channel {channel_id} usable on both sides"),
            || {
                let ours = self
                    .lnedge
                    .channel(channel_id)
                    .filter(|c| c["usable"] == true)?;
                self.ldk
                    .channel(channel_id)
                    .filter(|k| k.is_usable)
                    .map(|_| ours)
            },
        )
    }

    /// Mines a block at a time until neither side lists `channel_id`.
    fn wait_closed(&self, channel_id: &str) {
        wait_until(
            &format!("channel {channel_id} closed on both sides"),
            || {
                self.devnet.mine(1);
                let gone_here = self.lnedge.channel(channel_id).is_none();
                let gone_there = self.ldk.channel(channel_id).is_none();
                (gone_here && gone_there).then_some(())
            },
        )
    }
}

fn description(text: &str) -> Bolt11InvoiceDescription {
    Bolt11InvoiceDescription::Direct(Description::new(text.to_string()).expect("description"))
}

/// Channels both ways (anchors, the peer's at the relay floor), payments of every kind both
/// ways, and closes from each side: cooperative and forced.
#[test]
fn channels_payments_and_closes_both_ways() {
    let net = Net::start();
    let (lnedge, ldk) = (&net.lnedge, &net.ldk);

    // ldk-node proposes its 1008-block estimate (the floor, 253 sat/kw): lnedge accepts the
    // anchor channel instead of refusing it (issue #18, finding 1).
    let (ucid_coop, from_ldk_coop) = net.ldk_opens();
    let (ucid_force, from_ldk_force) = net.ldk_opens();
    let from_lnedge_coop = net.lnedge_opens();
    let from_lnedge_force = net.lnedge_opens();
    for id in [
        &from_ldk_coop,
        &from_ldk_force,
        &from_lnedge_coop,
        &from_lnedge_force,
    ] {
        let channel = net.wait_usable(id);
        assert_eq!(channel["anchors"], true, "{channel}; {}", net.logs());
    }
    assert!(
        !lnedge.log_contains("feerate much too low"),
        "lnedge refused a feerate; {}",
        net.logs()
    );
    let floor_channels = ldk
        .node
        .list_channels()
        .into_iter()
        .filter(|c| c.is_outbound)
        .map(|c| c.feerate_sat_per_1000_weight)
        .collect::<Vec<_>>();
    assert!(
        floor_channels.iter().all(|f| *f == 253),
        "ldk-node's channels are at the floor: {floor_channels:?}"
    );

    // BOLT 11 both ways.
    let invoice = ldk
        .node
        .bolt11_payment()
        .receive(50_000_000, &description("from lnedge"), 3600)
        .expect("ldk-node invoice");
    lnedge.pay(&invoice.to_string(), None);
    assert_eq!(
        ldk.wait_received(&invoice.payment_hash().to_string()),
        50_000_000
    );

    let got = net.ldk_pays_an_invoice(40_000_000);
    assert_eq!(got["amount_msat"], 40_000_000);

    // BOLT 12 both ways, with a fixed amount and with the payer's amount.
    let offer = ldk
        .node
        .bolt12_payment()
        .receive(30_000_000, "fixed", None, None)
        .expect("ldk-node offer");
    let paid = lnedge.pay(&offer.to_string(), None);
    let hash = paid["payment_hash"].as_str().expect("hash");
    assert_eq!(ldk.wait_received(hash), 30_000_000);
    let offer = ldk
        .node
        .bolt12_payment()
        .receive_variable_amount("any", None)
        .expect("ldk-node offer");
    let paid = lnedge.pay(&offer.to_string(), Some(20_000_000));
    let hash = paid["payment_hash"].as_str().expect("hash");
    assert_eq!(ldk.wait_received(hash), 20_000_000);

    // ldk-node pays lnedge's offers. It is the introduction node of lnedge's blinded paths (it
    // is lnedge's only peer), and LDK (0.2 and 0.3 alike) then pays the introduction node's
    // fee to the recipient: lnedge receives the amount plus exactly what ldk-node reports as
    // fee (docs/operations.md, "BOLT 12: paying a recipient whose blinded path starts at your
    // node").
    for (amount, payer_amount) in [(Some(25_000_000), None), (None, Some(15_000_000))] {
        let received_before = lnedge.received().len();
        let offer: Offer = lnedge.offer(amount).parse().expect("offer");
        let bolt12 = ldk.node.bolt12_payment();
        let id = match payer_amount {
            None => bolt12.send(&offer, None, None, None),
            Some(msat) => bolt12.send_using_amount(&offer, msat, None, None, None),
        }
        .expect("ldk-node pays the offer");
        ldk.wait_sent(&id);
        let sent = ldk.node.payment(&id).expect("payment");
        let meant = amount.or(payer_amount).unwrap();
        assert_eq!(sent.amount_msat, Some(meant));
        let fee = sent.fee_paid_msat.unwrap_or(0);
        let received = wait_until("lnedge lists the BOLT 12 payment", || {
            let r = lnedge.received();
            (r.len() > received_before).then(|| r[0].clone())
        });
        assert_eq!(
            received["amount_msat"],
            meant + fee,
            "{received}; ldk-node's fee: {fee}"
        );
    }

    // Keysend both ways.
    let sent = lnedge.json(&[
        "keysend",
        &ldk.node_id().to_string(),
        "11000000",
        "--wait",
        "90",
    ]);
    assert_eq!(sent["status"], "succeeded", "{sent}");
    let hash = sent["payment_hash"].as_str().expect("hash");
    assert_eq!(ldk.wait_received(hash), 11_000_000);

    let received_before = lnedge.received().len();
    let id = ldk
        .node
        .spontaneous_payment()
        .send(12_000_000, lnedge.node_id, None)
        .expect("keysend");
    ldk.wait_sent(&id);
    let received = wait_until("lnedge lists the keysend payment", || {
        let r = lnedge.received();
        (r.len() > received_before).then_some(r)
    });
    assert_eq!(received[0]["amount_msat"], 12_000_000);
    assert_eq!(received[0]["kind"], "keysend");

    // Cooperative closes from each side, then forced ones.
    ldk.node
        .close_channel(&ucid_coop, lnedge.node_id)
        .expect("ldk-node closes");
    net.wait_closed(&from_ldk_coop);
    lnedge.json(&["channel", "close", &from_lnedge_coop]);
    net.wait_closed(&from_lnedge_coop);
    ldk.node
        .force_close_channel(&ucid_force, lnedge.node_id, None)
        .expect("ldk-node force-closes");
    net.wait_closed(&from_ldk_force);
    lnedge.json(&["channel", "close", &from_lnedge_force, "--force"]);
    net.wait_closed(&from_lnedge_force);
}

/// The peer lowers its feerate to the relay floor in an open channel: lnedge takes the
/// `update_fee` instead of force-closing (issue #18, finding 1, its second half).
#[test]
fn peer_lowers_its_feerate_to_the_floor() {
    let net = Net::start();
    let (lnedge, ldk) = (&net.lnedge, &net.ldk);

    // Fees are high when ldk-node opens: 5 sat/vB for every target (1250 sat/kw).
    net.devnet.set_fee_curve(&[(1, 5.0)]);
    ldk.node
        .sync_wallets()
        .expect("ldk-node refreshes its estimates");
    let (_, channel_id) = net.ldk_opens();
    net.wait_usable(&channel_id);
    let feerate = |ldk: &Ldk| {
        ldk.channel(&channel_id)
            .map(|c| c.feerate_sat_per_1000_weight)
    };
    assert_eq!(feerate(ldk), Some(1250));

    // Fees fall back to the floor for long targets: at its next timer tick (once a minute)
    // ldk-node proposes 253 sat/kw, which lnedge's own 144-block estimate (500) is above.
    net.devnet
        .set_fee_curve(&[(1, 25.0), (6, 10.0), (144, 2.0), (504, 1.0)]);
    ldk.node
        .sync_wallets()
        .expect("ldk-node refreshes its estimates");
    wait_until("ldk-node lowers the channel's feerate to 253", || {
        (feerate(ldk) == Some(253)).then_some(())
    });

    // The channel stays open and carries a payment at the new feerate.
    net.ldk_pays_an_invoice(10_000_000);
    assert!(
        lnedge
            .channel(&channel_id)
            .is_some_and(|c| c["usable"] == true),
        "the channel is still usable; {}",
        net.logs()
    );
    assert!(
        !lnedge.log_contains("feerate much too low"),
        "lnedge refused the update; {}",
        net.logs()
    );
}
