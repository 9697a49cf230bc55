//! Scheduling channels to be funded by a payjoin ([`ChannelScheduler`]).

use std::time::Duration;

use bitcoin::{Address, Amount};
use lnedge_storage::clock::unix_now;
use payjoin::OutputSubstitution;

use crate::error::ScheduleError;
use crate::opener::ChannelRequest;
pub use crate::store::Schedule;
use crate::store::{NewSchedule, ReceiverStore};
use crate::types::StateKind;
pub use crate::types::{ScheduleId, ScheduleState};

/// What a payer gets: a BIP 21 URI with `pj=`, its amount and its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayjoinInvoice {
    /// The schedule behind it.
    pub schedule: ScheduleId,
    /// `bitcoin:<address>?amount=<channels + margin>&pj=<endpoint>`.
    pub uri: String,
    /// The address paid.
    pub address: Address,
    /// Channels plus fee margin.
    pub amount: Amount,
    /// Expiry (unix seconds).
    pub expires_at: u64,
}

/// Schedules channels and hands out [`PayjoinInvoice`]s; schedules are durable in the
/// [`ReceiverStore`] and each is consumed at most once.
#[derive(Debug, Clone)]
pub struct ChannelScheduler {
    store: ReceiverStore,
    endpoint: String,
}

impl ChannelScheduler {
    /// A scheduler storing into `store` and advertising the payjoin `endpoint`
    /// (e.g. `https://pay.example.com/pj`).
    pub fn new(store: ReceiverStore, endpoint: impl Into<String>) -> Self {
        Self {
            store,
            endpoint: endpoint.into(),
        }
    }

    /// The advertised endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The path of the advertised endpoint (`/pj` for `https://host:port/pj`; `/` if none).
    pub fn endpoint_path(&self) -> &str {
        let after_scheme = self
            .endpoint
            .split_once("://")
            .map_or(self.endpoint.as_str(), |(_, r)| r);
        let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
        path.split(['?', '#']).next().unwrap_or("/")
    }

    /// The store.
    pub fn store(&self) -> &ReceiverStore {
        &self.store
    }

    /// Schedules `channels`, paid to `address` (a fresh wallet address), asking for the channel
    /// total plus `fee_margin`, valid for `valid_for`.
    ///
    /// The fee margin pays the fee of the extra outputs (funding outputs are wider than a P2WPKH
    /// output, and the change output is new) and what is left becomes change; it must be large
    /// enough for that at the fee rates expected, or the payment falls back to a plain payjoin.
    pub fn schedule(
        &self,
        address: Address,
        channels: Vec<ChannelRequest>,
        fee_margin: Amount,
        valid_for: Duration,
    ) -> Result<PayjoinInvoice, ScheduleError> {
        if channels.is_empty() {
            return Err(ScheduleError::NoChannels);
        }
        let mut amount = fee_margin;
        for c in &channels {
            if c.amount == Amount::ZERO {
                return Err(ScheduleError::InvalidAmount);
            }
            amount = amount
                .checked_add(c.amount)
                .ok_or(ScheduleError::InvalidAmount)?;
        }
        let mut pj_uri = payjoin::receive::v1::build_v1_pj_uri(
            &address,
            self.endpoint.as_str(),
            OutputSubstitution::Enabled,
        )
        .map_err(|e| ScheduleError::Uri(e.to_string()))?;
        pj_uri.set_amount(amount);
        let uri = pj_uri.to_string();
        let created_at = unix_now();
        let expires_at = created_at.saturating_add(valid_for.as_secs());
        let schedule = self.store.insert_schedule(&NewSchedule {
            address: &address,
            amount,
            fee_margin,
            uri: &uri,
            created_at,
            expires_at,
            channels: &channels,
        })?;
        tracing::info!(%schedule, %amount, channels = channels.len(), "channels scheduled");
        Ok(PayjoinInvoice {
            schedule,
            uri,
            address,
            amount,
            expires_at,
        })
    }

    /// All schedules, oldest first.
    pub fn list(&self) -> Result<Vec<Schedule>, ScheduleError> {
        Ok(self.store.schedules()?)
    }

    /// One schedule.
    pub fn get(&self, id: ScheduleId) -> Result<Schedule, ScheduleError> {
        self.store.schedule(id)?.ok_or(ScheduleError::NotFound)
    }

    /// Cancels an open schedule (a later payment to its address gets a plain payjoin).
    pub fn cancel(&self, id: ScheduleId) -> Result<(), ScheduleError> {
        if self
            .store
            .transition(id, StateKind::Open, ScheduleState::Cancelled)?
        {
            return Ok(());
        }
        match self.store.schedule(id)? {
            None => Err(ScheduleError::NotFound),
            Some(_) => Err(ScheduleError::NotOpen),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
    use bitcoin::Network;

    fn address(i: u8) -> Address {
        let secp = Secp256k1::new();
        let sk = SecretKey::from_slice(&[i; 32]).unwrap();
        let pk = bitcoin::CompressedPublicKey(PublicKey::from_secret_key(&secp, &sk));
        Address::p2wpkh(&pk, Network::Regtest)
    }

    fn request(sat: u64) -> ChannelRequest {
        let secp = Secp256k1::new();
        let sk = SecretKey::from_slice(&[9; 32]).unwrap();
        ChannelRequest {
            peer: PublicKey::from_secret_key(&secp, &sk),
            amount: Amount::from_sat(sat),
            push_msat: 1_000,
            announce: true,
        }
    }

    fn scheduler() -> ChannelScheduler {
        ChannelScheduler::new(
            ReceiverStore::in_memory().unwrap(),
            "https://localhost:1/pj",
        )
    }

    #[test]
    fn invoice_asks_channels_plus_margin_and_round_trips() {
        let s = scheduler();
        let inv = s
            .schedule(
                address(1),
                vec![request(100_000), request(50_000)],
                Amount::from_sat(2_000),
                Duration::from_secs(60),
            )
            .unwrap();
        assert_eq!(inv.amount, Amount::from_sat(152_000));
        let uri = payjoin::Uri::try_from(inv.uri.as_str())
            .unwrap()
            .assume_checked();
        assert_eq!(uri.amount(), Some(Amount::from_sat(152_000)));
        assert!(uri.check_pj_supported().is_ok());
        let stored = s.get(inv.schedule).unwrap();
        assert_eq!(stored.channels, vec![request(100_000), request(50_000)]);
        assert_eq!(stored.state, ScheduleState::Open);
        assert_eq!(stored.channels_total(), Amount::from_sat(150_000));
        assert_eq!(s.list().unwrap().len(), 1);
    }

    #[test]
    fn claimed_exactly_once_and_cancel_only_when_open() {
        let s = scheduler();
        let inv = s
            .schedule(
                address(2),
                vec![request(10_000)],
                Amount::ZERO,
                Duration::from_secs(60),
            )
            .unwrap();
        let store = s.store();
        let script = inv.address.script_pubkey();
        assert_eq!(
            store.open_schedule_for_script(&script, unix_now()).unwrap(),
            Some(inv.schedule)
        );
        assert!(store
            .transition(inv.schedule, StateKind::Open, ScheduleState::Claimed)
            .unwrap());
        assert!(!store
            .transition(inv.schedule, StateKind::Open, ScheduleState::Claimed)
            .unwrap());
        assert_eq!(
            store.open_schedule_for_script(&script, unix_now()).unwrap(),
            None
        );
        assert!(matches!(
            s.cancel(inv.schedule),
            Err(ScheduleError::NotOpen)
        ));
        assert!(matches!(
            s.cancel(ScheduleId(99)),
            Err(ScheduleError::NotFound)
        ));
    }

    #[test]
    fn cancelled_and_expired_schedules_are_not_matched() {
        let s = scheduler();
        let a = s
            .schedule(
                address(3),
                vec![request(10_000)],
                Amount::ZERO,
                Duration::from_secs(60),
            )
            .unwrap();
        s.cancel(a.schedule).unwrap();
        assert_eq!(s.get(a.schedule).unwrap().state, ScheduleState::Cancelled);
        let store = s.store();
        assert_eq!(
            store
                .open_schedule_for_script(&a.address.script_pubkey(), unix_now())
                .unwrap(),
            None
        );
        let b = s
            .schedule(
                address(4),
                vec![request(10_000)],
                Amount::ZERO,
                Duration::from_secs(60),
            )
            .unwrap();
        let later = b.expires_at + 1;
        assert_eq!(
            store
                .open_schedule_for_script(&b.address.script_pubkey(), later)
                .unwrap(),
            None
        );
    }

    #[test]
    fn endpoint_path() {
        let store = ReceiverStore::in_memory().unwrap();
        let path = |e: &str| {
            ChannelScheduler::new(store.clone(), e)
                .endpoint_path()
                .to_string()
        };
        assert_eq!(path("https://localhost:1/pj"), "/pj");
        assert_eq!(path("https://localhost:1/a/b?x=1"), "/a/b");
        assert_eq!(path("https://localhost:1"), "/");
    }

    #[test]
    fn empty_or_zero_schedules_are_refused() {
        let s = scheduler();
        assert!(matches!(
            s.schedule(address(5), vec![], Amount::ZERO, Duration::from_secs(1)),
            Err(ScheduleError::NoChannels)
        ));
        assert!(matches!(
            s.schedule(
                address(5),
                vec![request(0)],
                Amount::ZERO,
                Duration::from_secs(1)
            ),
            Err(ScheduleError::InvalidAmount)
        ));
    }
}
