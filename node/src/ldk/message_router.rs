//! [`ReachableMessageRouter`]: the node's onion-message router, LDK's `DefaultMessageRouter`
//! with one change: a node nobody can connect to blinds its paths through its channel peers.
//!
//! Why (issue #18, finding 2). Every blinded path we hand out — the reply path of an invoice
//! request, an offer's paths, an async-payments reply path — is only as good as its
//! introduction node: the far end must be able to deliver an onion message to it. LDK picks
//! that node from our network graph. If we are in it, LDK makes *us* the introduction node,
//! whether or not anyone knows an address for us; if we are not, it only takes peers that are
//! in the graph (any peer when we have exactly one) and otherwise has no path at all. An
//! unannounced payer whose channel peers are private, or not yet learnt through gossip, thus
//! either cannot send its invoice request (`MissingPaths`) or sends one whose reply path
//! points at itself: the recipient, not our peer and with no address for us, cannot answer
//! (`ConnectionNeeded` with no addresses) and the payment hangs until it times out. Seen with
//! a foreign recipient in 3 of 3 first attempts.
//!
//! What it does. When the recipient of the path (normally us) is reachable — our graph holds
//! its node announcement with an address — everything is LDK's, except for the reply paths of
//! our own payments: the recipient (or its async payments server) may not have our
//! announcement — an async recipient that was offline while the gossip went by, in the interop
//! suite — so those lead with paths through our peers and end with LDK's direct one. Otherwise the introduction
//! nodes are our connected peers, the ones in our graph first (most channels first, Tor-only
//! ones after the rest, as LDK ranks them), then peers we have a usable channel with that the
//! graph does not know (LDK passes their channel's SCID in [`MessageForwardNode`]): a channel
//! peer is the one most likely to stay connected to us, and the recipient's side of a payment
//! over it may well reach it. At most [`MAX_PATHS`] paths; their length, padding and SCID use
//! follow the same rules as LDK's (see [`Shape`]). Only when no such peer exists does LDK
//! decide (a direct path if we are in the graph, else an error). `find_path` is LDK's.

use std::cmp::Reverse;
use std::sync::Arc;

use bitcoin::secp256k1::{PublicKey, Secp256k1, Signing, Verification};
use lightning::blinded_path::message::{
    AsyncPaymentsContext, BlindedMessagePath, MessageContext, MessageForwardNode, OffersContext,
};
use lightning::onion_message::messenger::{
    DefaultMessageRouter, Destination, MessageRouter, OnionMessagePath,
};
use lightning::routing::gossip::{NodeId, ReadOnlyNetworkGraph};
use lightning::sign::{KeysManager, ReceiveAuthKey};

use crate::ldk::types::{Logger, NetworkGraph};

/// At most this many blinded paths per call (LDK's limit too).
pub const MAX_PATHS: usize = 3;

/// Builds the node's blinded message paths; see the [module docs](self) for why it exists.
pub struct ReachableMessageRouter {
    ldk: DefaultMessageRouter<Arc<NetworkGraph>, Logger, Arc<KeysManager>>,
    graph: Arc<NetworkGraph>,
    keys: Arc<KeysManager>,
}

impl ReachableMessageRouter {
    /// A router over `graph`, with blinding secrets from `keys`.
    pub fn new(graph: Arc<NetworkGraph>, keys: Arc<KeysManager>) -> Self {
        Self {
            ldk: DefaultMessageRouter::new(Arc::clone(&graph), Arc::clone(&keys)),
            graph,
            keys,
        }
    }
}

/// How a blinded path for a given [`MessageContext`] is built (the rules LDK 0.3 applies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Hops in total, the recipient and dummy hops included (dummies pad up to this).
    pub hops: usize,
    /// The path may end up in a QR code or a payment onion: compact padding, SCIDs instead of
    /// node ids where known, and the introduction node as a channel of the graph if it has one.
    pub compact: bool,
}

impl Shape {
    /// The shape of a path for `context`.
    pub fn of(context: &MessageContext) -> Self {
        match context {
            // An offer's or a refund's paths (these may be printed as QR codes).
            MessageContext::Offers(
                OffersContext::InvoiceRequest { .. }
                | OffersContext::OutboundPaymentForRefund { .. },
            ) => Shape {
                hops: 2,
                compact: true,
            },
            // A static offer's paths travel inside the payment onion: as short as can be.
            MessageContext::Offers(OffersContext::StaticInvoiceRequested { .. }) => Shape {
                hops: 0,
                compact: true,
            },
            // Reply paths and the like: padded, and by node id (an SCID may expire).
            _ => Shape {
                hops: 4,
                compact: false,
            },
        }
    }
}

/// Whether the far end can connect to `node`: our graph holds its announcement with an
/// address.
fn reachable(graph: &ReadOnlyNetworkGraph, node: &PublicKey) -> bool {
    graph
        .node(&NodeId::from_pubkey(node))
        .and_then(|info| info.announcement_info.as_ref())
        .is_some_and(|announcement| !announcement.addresses().is_empty())
}

/// The peers to use as introduction nodes, best first, at most [`MAX_PATHS`]: peers in the
/// graph (not Tor-only before Tor-only, then by channel count, descending), then peers the
/// graph does not know that we have a usable channel with. Other peers are left out.
pub fn introduction_nodes(
    graph: &ReadOnlyNetworkGraph,
    peers: Vec<MessageForwardNode>,
) -> Vec<MessageForwardNode> {
    let mut ranked: Vec<_> = peers
        .into_iter()
        .filter_map(|peer| {
            let rank = match graph.node(&NodeId::from_pubkey(&peer.node_id)) {
                Some(info) => (false, info.is_tor_only(), Reverse(info.channels.len())),
                None if peer.short_channel_id.is_some() => (true, false, Reverse(0)),
                None => return None,
            };
            Some((rank, peer))
        })
        .collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    ranked
        .into_iter()
        .take(MAX_PATHS)
        .map(|(_, peer)| peer)
        .collect()
}

impl MessageRouter for ReachableMessageRouter {
    fn find_path(
        &self,
        sender: PublicKey,
        peers: Vec<PublicKey>,
        destination: Destination,
    ) -> Result<OnionMessagePath, ()> {
        self.ldk.find_path(sender, peers, destination)
    }

    fn create_blinded_paths<T: Signing + Verification>(
        &self,
        recipient: PublicKey,
        local_node_receive_key: ReceiveAuthKey,
        context: MessageContext,
        peers: Vec<MessageForwardNode>,
        secp_ctx: &Secp256k1<T>,
    ) -> Result<Vec<BlindedMessagePath>, ()> {
        let graph = self.graph.read_only();
        let we_are_reachable = reachable(&graph, &recipient);
        let intros = if !we_are_reachable {
            introduction_nodes(&graph, peers.clone())
        } else if is_payment_reply(&context) {
            // Reachable only for those who have our announcement: a recipient just back
            // online, or one that keeps no graph, may not. Lead with paths through our peers
            // (often the recipient's own LSP or server), then our own direct path.
            let mut intros = introduction_nodes(&graph, peers.clone());
            intros.truncate(MAX_PATHS - 1);
            intros
        } else {
            Vec::new()
        };
        if intros.is_empty() {
            // LDK reads the graph itself: not while we hold it.
            drop(graph);
            return self.ldk.create_blinded_paths(
                recipient,
                local_node_receive_key,
                context,
                peers,
                secp_ctx,
            );
        }
        let shape = Shape::of(&context);
        // The introduction node and the recipient are two of the hops.
        let dummy_hops = shape.hops.saturating_sub(2);
        let mut paths: Vec<BlindedMessagePath> = intros
            .into_iter()
            .map(|peer| {
                let hop = MessageForwardNode {
                    short_channel_id: peer.short_channel_id.filter(|_| shape.compact),
                    ..peer
                };
                let mut path = BlindedMessagePath::new_with_dummy_hops(
                    &[hop],
                    recipient,
                    dummy_hops,
                    local_node_receive_key,
                    context.clone(),
                    shape.compact,
                    &*self.keys,
                    secp_ctx,
                );
                if shape.compact {
                    path.use_compact_introduction_node(&graph);
                }
                path
            })
            .collect();
        drop(graph);
        if we_are_reachable {
            if let Ok(direct) = self.ldk.create_blinded_paths(
                recipient,
                local_node_receive_key,
                context,
                peers,
                secp_ctx,
            ) {
                paths.extend(direct);
            }
            paths.truncate(MAX_PATHS);
        }
        Ok(paths)
    }
}

/// A reply path of one of our outgoing payments: the invoice request's (the recipient answers
/// with its invoice) or the `held_htlc_available`'s (an async recipient answers with
/// `release_held_htlc`). LDK uses the first reply path it gets for each message.
fn is_payment_reply(context: &MessageContext) -> bool {
    matches!(
        context,
        MessageContext::Offers(OffersContext::OutboundPaymentForOffer { .. })
            | MessageContext::AsyncPayments(AsyncPaymentsContext::OutboundPayment { .. })
    )
}

#[cfg(test)]
mod tests {
    use bitcoin::secp256k1::SecretKey;
    use bitcoin::Network;
    use lightning::blinded_path::IntroductionNode;

    use super::*;
    use crate::ldk::logger::TracingLogger;

    fn key(byte: u8) -> PublicKey {
        PublicKey::from_secret_key(
            &Secp256k1::new(),
            &SecretKey::from_slice(&[byte; 32]).unwrap(),
        )
    }

    fn paths(
        router: &impl MessageRouter,
        peers: Vec<MessageForwardNode>,
    ) -> Result<Vec<BlindedMessagePath>, ()> {
        paths_for(router, MessageContext::Custom(Vec::new()), peers)
    }

    /// Paths to us (`key(1)`) for `context`.
    fn paths_for(
        router: &impl MessageRouter,
        context: MessageContext,
        peers: Vec<MessageForwardNode>,
    ) -> Result<Vec<BlindedMessagePath>, ()> {
        router.create_blinded_paths(
            key(1),
            ReceiveAuthKey([7; 32]),
            context,
            peers,
            &Secp256k1::new(),
        )
    }

    /// Two peers, neither in the (empty) graph: LDK has no path, we blind through the one we
    /// have a channel with, padded to LDK's length for reply paths.
    #[test]
    fn unannounced_node_blinds_through_channel_peers_the_graph_does_not_know() {
        let logger = Arc::new(TracingLogger {
            label: "test".into(),
        });
        let graph = Arc::new(NetworkGraph::new(Network::Regtest, logger));
        let keys = Arc::new(KeysManager::new(&[3; 32], 1, 2, true));
        let peers = vec![
            MessageForwardNode {
                node_id: key(2),
                short_channel_id: Some(42),
            },
            MessageForwardNode {
                node_id: key(3),
                short_channel_id: None,
            },
        ];
        let ldk = DefaultMessageRouter::new(Arc::clone(&graph), Arc::clone(&keys));
        assert!(paths(&ldk, peers.clone()).is_err());

        let ours = paths(&ReachableMessageRouter::new(graph, keys), peers).unwrap();
        assert_eq!(ours.len(), 1);
        assert_eq!(
            ours[0].introduction_node(),
            &IntroductionNode::NodeId(key(2))
        );
        assert_eq!(ours[0].blinded_hops().len(), 4, "peer, two dummies, us");
    }

    /// We are announced with an address: LDK's direct path for anything but the reply paths
    /// of our own payments, which lead with a path through our peer and end with LDK's.
    #[test]
    fn announced_node_leads_its_payment_replies_through_a_peer() {
        use lightning::ln::channelmanager::PaymentId;
        use lightning::ln::msgs::{SocketAddress, UnsignedNodeAnnouncement};
        use lightning::routing::gossip::NodeAlias;
        use lightning::types::features::{ChannelFeatures, NodeFeatures};

        let logger = Arc::new(TracingLogger {
            label: "test".into(),
        });
        let graph = Arc::new(NetworkGraph::new(Network::Regtest, logger));
        let (us, peer) = (NodeId::from_pubkey(&key(1)), NodeId::from_pubkey(&key(2)));
        graph
            .add_channel_from_partial_announcement(
                42,
                Some(1_000_000),
                1,
                ChannelFeatures::empty(),
                us,
                peer,
            )
            .unwrap();
        graph
            .update_node_from_unsigned_announcement(&UnsignedNodeAnnouncement {
                features: NodeFeatures::empty(),
                timestamp: 1,
                node_id: us,
                rgb: [0; 3],
                alias: NodeAlias([0; 32]),
                addresses: vec![SocketAddress::TcpIpV4 {
                    addr: [127, 0, 0, 1],
                    port: 9735,
                }],
                excess_address_data: Vec::new(),
                excess_data: Vec::new(),
            })
            .unwrap();
        let keys = Arc::new(KeysManager::new(&[3; 32], 1, 2, true));
        let router = ReachableMessageRouter::new(graph, keys);
        let peers = vec![MessageForwardNode {
            node_id: key(2),
            short_channel_id: Some(42),
        }];
        let intros = |context| -> Vec<IntroductionNode> {
            paths_for(&router, context, peers.clone())
                .unwrap()
                .iter()
                .map(|p| p.introduction_node().clone())
                .collect()
        };
        assert_eq!(
            intros(MessageContext::Custom(Vec::new())),
            vec![IntroductionNode::NodeId(key(1))]
        );
        let reply = MessageContext::Offers(OffersContext::OutboundPaymentForOffer {
            payment_id: PaymentId([9; 32]),
        });
        assert_eq!(
            intros(reply),
            vec![
                IntroductionNode::NodeId(key(2)),
                IntroductionNode::NodeId(key(1))
            ]
        );
    }
}
