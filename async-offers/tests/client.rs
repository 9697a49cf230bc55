//! The recipient's helpers over `RecordingRecipient`, a test double for the `ChannelManager`'s
//! async-receive calls, with real tokens and offers.

mod common;

use async_offers::client::{AsyncReceiver, AsyncRecipientNode, ClientError};
use async_offers::RegistrationToken;
use common::ldk::{server_path, Recipient, TestEntropy};
use lightning::blinded_path::message::BlindedMessagePath;
use lightning::offers::offer::Offer;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// Test double: records the paths it was given and hands out queued offers once "ready".
#[derive(Default)]
struct RecordingRecipient {
    paths: Mutex<Option<Vec<BlindedMessagePath>>>,
    ready: Mutex<VecDeque<Offer>>,
}

impl AsyncRecipientNode for RecordingRecipient {
    fn set_paths_to_static_invoice_server(&self, paths: Vec<BlindedMessagePath>) -> bool {
        if paths.is_empty() {
            return false;
        }
        *self.paths.lock().unwrap() = Some(paths);
        true
    }

    fn get_async_receive_offer(&self) -> Option<Offer> {
        let mut ready = self.ready.lock().unwrap();
        // Like LDK: hand out the newest ready offer; once all are used, keep returning one.
        if ready.len() > 1 {
            ready.pop_back()
        } else {
            ready.back().cloned()
        }
    }
}

#[tokio::test]
async fn apply_token_wait_and_take_offers() {
    let entropy = TestEntropy::new(1);
    let token = RegistrationToken::new(vec![server_path(&entropy, 1, 1, b"alice")]).unwrap();
    let receiver = AsyncReceiver::new(RecordingRecipient::default());
    receiver.apply_token(&token).unwrap();
    assert_eq!(
        receiver.node().paths.lock().unwrap().as_deref(),
        Some(token.paths())
    );

    assert_eq!(receiver.offer(), Err(ClientError::NotReady));
    assert_eq!(
        receiver
            .wait_for_offer(Duration::from_millis(50), Duration::from_millis(5))
            .await,
        Err(ClientError::Timeout(Duration::from_millis(50)))
    );

    let (o1, o2) = (
        Recipient::new(30, 1, None).offer,
        Recipient::new(31, 1, None).offer,
    );
    let waiter = receiver.wait_for_offer(Duration::from_secs(5), Duration::from_millis(5));
    let feeder = async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        let mut ready = receiver.node().ready.lock().unwrap();
        ready.push_back(o1.clone());
        ready.push_back(o2.clone());
    };
    let (first, ()) = tokio::join!(waiter, feeder);
    assert_eq!(first.unwrap(), o2);
    assert_eq!(receiver.offer().unwrap(), o1);
    assert_eq!(receiver.offer().unwrap(), o1);
    assert_eq!(receiver.offers_handed_out(), vec![o2, o1]);
}

#[test]
fn refused_paths_are_reported() {
    struct Refusing;
    impl AsyncRecipientNode for Refusing {
        fn set_paths_to_static_invoice_server(&self, _: Vec<BlindedMessagePath>) -> bool {
            false
        }
        fn get_async_receive_offer(&self) -> Option<Offer> {
            None
        }
    }
    let entropy = TestEntropy::new(2);
    let token = RegistrationToken::new(vec![server_path(&entropy, 1, 0, b"a")]).unwrap();
    assert_eq!(
        AsyncReceiver::new(Refusing).apply_token(&token),
        Err(ClientError::PathsRefused)
    );
}
