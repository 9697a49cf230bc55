//! The onion message mailbox: bounds per peer and in total, delivery order, partial delivery,
//! and durability across a restart.

use async_offers::mailbox::{
    Delivery, HoldOutcome, Mailbox, MailboxEvent, MailboxLimits, MessageForwarder,
};
use lightning::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lightning::blinded_path::message::NextMessageHop;
use lightning::events::Event;
use lightning::ln::msgs::OnionMessage;
use lightning::onion_message::messenger::SendError;
use lightning::onion_message::packet::Packet;
use std::sync::Mutex;

fn key(n: u8) -> PublicKey {
    let sk = SecretKey::from_slice(&[n.max(1); 32]).unwrap();
    PublicKey::from_secret_key(&Secp256k1::new(), &sk)
}

/// An onion message whose hop data starts with `tag` (so tests can tell messages apart).
fn message(tag: u32) -> OnionMessage {
    let mut hop_data = vec![0u8; 1300];
    hop_data[..4].copy_from_slice(&tag.to_be_bytes());
    OnionMessage {
        blinding_point: key(7),
        onion_routing_packet: Packet {
            version: 0,
            public_key: key(8),
            hop_data,
            hmac: [tag as u8; 32],
        },
    }
}

fn tag(m: &OnionMessage) -> u32 {
    let d = &m.onion_routing_packet.hop_data;
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Test double for the `OnionMessenger`: records what it forwards, refusing after `accept`
/// messages.
struct RecordingMessenger {
    accept: usize,
    forwarded: Mutex<Vec<(PublicKey, u32)>>,
}

impl RecordingMessenger {
    fn new(accept: usize) -> Self {
        RecordingMessenger {
            accept,
            forwarded: Mutex::new(Vec::new()),
        }
    }

    fn tags(&self) -> Vec<u32> {
        self.forwarded
            .lock()
            .unwrap()
            .iter()
            .map(|(_, t)| *t)
            .collect()
    }
}

impl MessageForwarder for RecordingMessenger {
    fn forward_onion_message(
        &self,
        message: OnionMessage,
        peer: &PublicKey,
    ) -> Result<(), SendError> {
        let mut f = self.forwarded.lock().unwrap();
        if f.len() >= self.accept {
            return Err(SendError::BufferFull);
        }
        f.push((*peer, tag(&message)));
        Ok(())
    }
}

fn hop(n: u8) -> NextMessageHop {
    NextMessageHop::NodeId(key(n))
}

#[tokio::test]
async fn holds_and_delivers_in_order_then_forgets() {
    let mb = Mailbox::open_in_memory(MailboxLimits::default()).unwrap();
    for t in 0..5 {
        assert_eq!(
            mb.hold(&hop(1), &message(t)).await.unwrap(),
            HoldOutcome::Held { dropped: 0 }
        );
    }
    mb.hold(&hop(2), &message(100)).await.unwrap();
    let om = RecordingMessenger::new(usize::MAX);
    let d = mb.deliver(&key(1), &om).await.unwrap();
    assert_eq!(
        d,
        Delivery {
            forwarded: 5,
            remaining: 0,
            stopped_by: None
        }
    );
    assert_eq!(om.tags(), vec![0, 1, 2, 3, 4]);
    assert!(om
        .forwarded
        .lock()
        .unwrap()
        .iter()
        .all(|(p, _)| *p == key(1)));
    assert_eq!(mb.held_for(&key(1)).await.unwrap(), 0);
    assert_eq!(mb.held_for(&key(2)).await.unwrap(), 1);
    // Delivering again sends nothing.
    assert_eq!(mb.deliver(&key(1), &om).await.unwrap().forwarded, 0);
}

#[tokio::test]
async fn per_peer_bound_drops_the_oldest() {
    let mb = Mailbox::open_in_memory(MailboxLimits {
        per_peer: 3,
        total: 100,
    })
    .unwrap();
    for t in 0..3 {
        mb.hold(&hop(1), &message(t)).await.unwrap();
    }
    assert_eq!(
        mb.hold(&hop(1), &message(3)).await.unwrap(),
        HoldOutcome::Held { dropped: 1 }
    );
    mb.hold(&hop(2), &message(50)).await.unwrap();
    let om = RecordingMessenger::new(usize::MAX);
    mb.deliver(&key(1), &om).await.unwrap();
    assert_eq!(om.tags(), vec![1, 2, 3]);
}

#[tokio::test]
async fn total_bound_drops_the_oldest_of_all() {
    let mb = Mailbox::open_in_memory(MailboxLimits {
        per_peer: 10,
        total: 4,
    })
    .unwrap();
    for (peer, t) in [(1, 0), (2, 1), (3, 2), (1, 3)] {
        mb.hold(&hop(peer), &message(t)).await.unwrap();
    }
    assert_eq!(
        mb.hold(&hop(4), &message(4)).await.unwrap(),
        HoldOutcome::Held { dropped: 1 }
    );
    assert_eq!(mb.total().await.unwrap(), 4);
    let om = RecordingMessenger::new(usize::MAX);
    mb.deliver(&key(1), &om).await.unwrap();
    assert_eq!(om.tags(), vec![3]);
}

#[tokio::test]
async fn scid_hops_are_not_held() {
    let mb = Mailbox::open_in_memory(MailboxLimits::default()).unwrap();
    assert_eq!(
        mb.hold(&NextMessageHop::ShortChannelId(42), &message(1))
            .await
            .unwrap(),
        HoldOutcome::NotAPeer
    );
    assert_eq!(mb.total().await.unwrap(), 0);
}

#[tokio::test]
async fn refused_messages_stay_for_next_time() {
    let mb = Mailbox::open_in_memory(MailboxLimits::default()).unwrap();
    for t in 0..4 {
        mb.hold(&hop(1), &message(t)).await.unwrap();
    }
    let om = RecordingMessenger::new(2);
    let d = mb.deliver(&key(1), &om).await.unwrap();
    assert_eq!(d.forwarded, 2);
    assert_eq!(d.remaining, 2);
    assert_eq!(d.stopped_by, Some(SendError::BufferFull));
    let om2 = RecordingMessenger::new(usize::MAX);
    mb.deliver(&key(1), &om2).await.unwrap();
    assert_eq!(om2.tags(), vec![2, 3]);
}

#[tokio::test]
async fn handles_ldk_events() {
    let mb = Mailbox::open_in_memory(MailboxLimits::default()).unwrap();
    let om = RecordingMessenger::new(usize::MAX);
    let intercepted = Event::OnionMessageIntercepted {
        prev_hop: Some(key(9)),
        next_hop: hop(1),
        message: message(11),
    };
    assert_eq!(
        mb.handle_event(&intercepted, &om).await.unwrap().unwrap(),
        MailboxEvent::Held(HoldOutcome::Held { dropped: 0 })
    );
    let connected = Event::OnionMessagePeerConnected {
        peer_node_id: key(1),
    };
    match mb.handle_event(&connected, &om).await.unwrap().unwrap() {
        MailboxEvent::Delivered(d) => assert_eq!(d.forwarded, 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(om.tags(), vec![11]);
    let other = Event::OnionMessagePeerConnected {
        peer_node_id: key(2),
    };
    assert!(mb.handle_event(&other, &om).await.is_some());
}

#[tokio::test]
async fn held_messages_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mailbox.sqlite");
    {
        let mb = Mailbox::open(&path, MailboxLimits::default()).unwrap();
        for t in 0..3 {
            mb.hold(&hop(1), &message(t)).await.unwrap();
        }
        let om = RecordingMessenger::new(1);
        mb.deliver(&key(1), &om).await.unwrap();
    }
    let mb = Mailbox::open(&path, MailboxLimits::default()).unwrap();
    assert_eq!(mb.held_for(&key(1)).await.unwrap(), 2);
    let om = RecordingMessenger::new(usize::MAX);
    mb.deliver(&key(1), &om).await.unwrap();
    assert_eq!(om.tags(), vec![1, 2]);
    assert_eq!(mb.total().await.unwrap(), 0);
}
