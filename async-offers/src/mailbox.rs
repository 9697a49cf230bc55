//! A durable mailbox for onion messages held for offline peers.
//!
//! A static invoice server's `OnionMessenger` built with `new_with_offline_peer_interception`
//! emits `Event::OnionMessageIntercepted` for messages to peers that are offline (a payer's
//! `held_htlc_available` for a sleeping recipient, for instance) and
//! `Event::OnionMessagePeerConnected` when such a peer comes back. [`Mailbox`] keeps the
//! messages in SQLite, so a server restart loses none, bounded per peer and in total (the
//! oldest are dropped first), and hands them to the messenger when the peer connects. A
//! message is deleted only after `forward_onion_message` accepted it.
//!
//! Messages whose next hop is a short channel id (interception for unknown SCIDs, LDK 0.3) are
//! not held: they have no peer to wait for ([`HoldOutcome::NotAPeer`]).

use lightning::bitcoin::secp256k1::PublicKey;
use lightning::blinded_path::message::NextMessageHop;
use lightning::events::Event;
use lightning::ln::msgs::OnionMessage;
use lightning::onion_message::messenger::{AOnionMessenger, SendError};
use lightning::util::ser::{LengthReadable, Writeable};
use lnedge_storage::sqlite::{Connections, SqliteStoreError};
use lnedge_storage::StorageError;
use rusqlite::params;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

/// The most writes one group commit takes.
const MAX_BATCH: usize = 1024;

/// The name of the writer thread.
const WRITER_THREAD: &str = "async-offers-mailbox-writer";

const SCHEMA_V1: &str = "
CREATE TABLE ao_mailbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    peer BLOB NOT NULL,
    message BLOB NOT NULL
);
CREATE INDEX ao_mailbox_peer ON ao_mailbox (peer, seq);
";

/// `MIGRATIONS[i]` takes the schema from version `i` to `i + 1` (`PRAGMA user_version`); this
/// build writes version 1.
const MIGRATIONS: [&str; 1] = [SCHEMA_V1];

/// The `OnionMessenger` call the mailbox makes.
///
/// Implemented for every pointer (`Arc`, `&`) to an LDK [`AOnionMessenger`]; tests implement it with a recording test
/// double.
pub trait MessageForwarder {
    /// `OnionMessenger::forward_onion_message`.
    fn forward_onion_message(
        &self,
        message: OnionMessage,
        peer_node_id: &PublicKey,
    ) -> Result<(), SendError>;
}

impl<T: Deref> MessageForwarder for T
where
    T::Target: AOnionMessenger,
{
    fn forward_onion_message(
        &self,
        message: OnionMessage,
        peer_node_id: &PublicKey,
    ) -> Result<(), SendError> {
        self.deref()
            .get_om()
            .forward_onion_message(message, peer_node_id)
    }
}

/// How much a [`Mailbox`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxLimits {
    /// Messages held for one peer (at least 1).
    pub per_peer: u32,
    /// Messages held in all (at least 1).
    pub total: u32,
}

impl Default for MailboxLimits {
    /// 30 per peer, 10 000 in all.
    fn default() -> Self {
        MailboxLimits {
            per_peer: 30,
            total: 10_000,
        }
    }
}

/// What [`Mailbox::hold`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldOutcome {
    /// Stored durably; `dropped` older messages were deleted to stay within the limits.
    Held {
        /// Messages dropped (this peer's oldest first, then the mailbox's oldest).
        dropped: u64,
    },
    /// The next hop is a short channel id, not a peer: not held.
    NotAPeer,
}

/// What [`Mailbox::deliver`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Messages handed to the messenger (and deleted).
    pub forwarded: u64,
    /// Messages still held because the messenger refused one (peer gone again, buffer full).
    pub remaining: u64,
    /// The refusal that stopped delivery, if any.
    pub stopped_by: Option<SendError>,
}

/// A mailbox failure.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum MailboxError {
    /// SQLite failed.
    #[error("mailbox database failed")]
    Backend(#[source] Arc<rusqlite::Error>),
    /// A held message no longer decodes (it is left in place).
    #[error("held message {seq} is corrupt")]
    Corrupt {
        /// Its sequence number.
        seq: i64,
    },
    /// The database was written by a newer schema.
    #[error("mailbox schema version {0} is newer than this build supports")]
    SchemaTooNew(i64),
    /// The writer thread could not be started.
    #[error("could not start the mailbox's writer thread")]
    Thread(#[source] Arc<std::io::Error>),
    /// The writer thread stopped.
    #[error("the mailbox's worker has stopped")]
    Closed,
}

impl StorageError for MailboxError {
    fn schema_too_new(found: i64, _supported: i64) -> Self {
        MailboxError::SchemaTooNew(found)
    }
}

impl SqliteStoreError for MailboxError {
    fn sqlite(e: Arc<rusqlite::Error>) -> Self {
        MailboxError::Backend(e)
    }

    fn closed() -> Self {
        MailboxError::Closed
    }

    fn writer_thread(e: std::io::Error) -> Self {
        MailboxError::Thread(Arc::new(e))
    }
}

fn sql(e: rusqlite::Error) -> MailboxError {
    MailboxError::from_sqlite(e)
}

/// Onion messages held for offline peers, in an SQLite file (WAL, `synchronous=FULL`).
pub struct Mailbox {
    db: Connections<MailboxError>,
    limits: MailboxLimits,
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Mailbox {
    /// Opens (creating if needed) the mailbox file at `path`. Use a file of its own, not the
    /// invoice store's.
    pub fn open(path: impl AsRef<Path>, limits: MailboxLimits) -> Result<Self, MailboxError> {
        let db = Connections::open(path.as_ref(), &MIGRATIONS, WRITER_THREAD, MAX_BATCH)?;
        Ok(Self::start(db, limits))
    }

    /// A non-durable mailbox in memory (tests).
    pub fn open_in_memory(limits: MailboxLimits) -> Result<Self, MailboxError> {
        let db = Connections::open_in_memory(&MIGRATIONS, WRITER_THREAD, MAX_BATCH)?;
        Ok(Self::start(db, limits))
    }

    fn start(db: Connections<MailboxError>, limits: MailboxLimits) -> Self {
        Mailbox {
            db,
            limits: MailboxLimits {
                per_peer: limits.per_peer.max(1),
                total: limits.total.max(1),
            },
        }
    }

    /// Holds `message` for the peer `next_hop` (from `Event::OnionMessageIntercepted`).
    pub async fn hold(
        &self,
        next_hop: &NextMessageHop,
        message: &OnionMessage,
    ) -> Result<HoldOutcome, MailboxError> {
        let peer = match next_hop {
            NextMessageHop::NodeId(peer) => peer.serialize().to_vec(),
            NextMessageHop::ShortChannelId(_) => return Ok(HoldOutcome::NotAPeer),
        };
        let bytes = message.encode();
        let limits = self.limits;
        self.db
            .write(move |conn| {
                conn.prepare_cached("INSERT INTO ao_mailbox (peer, message) VALUES (?1, ?2)")
                    .and_then(|mut st| st.execute(params![peer, bytes]))
                    .map_err(sql)?;
                let mut dropped = conn
                    .prepare_cached(
                        "DELETE FROM ao_mailbox WHERE peer = ?1 AND seq NOT IN \
                     (SELECT seq FROM ao_mailbox WHERE peer = ?1 ORDER BY seq DESC LIMIT ?2)",
                    )
                    .and_then(|mut st| st.execute(params![peer, limits.per_peer]))
                    .map_err(sql)? as u64;
                let total: i64 = conn
                    .query_row("SELECT COUNT(*) FROM ao_mailbox", [], |r| r.get(0))
                    .map_err(sql)?;
                let excess = total - i64::from(limits.total);
                if excess > 0 {
                    dropped += conn
                        .execute(
                            "DELETE FROM ao_mailbox WHERE seq IN \
                         (SELECT seq FROM ao_mailbox ORDER BY seq LIMIT ?1)",
                            [excess],
                        )
                        .map_err(sql)? as u64;
                }
                Ok(HoldOutcome::Held { dropped })
            })
            .await
    }

    /// Forwards every message held for `peer`, oldest first, deleting each one the messenger
    /// accepted; stops at the first refusal and keeps the rest.
    pub async fn deliver<F: MessageForwarder + ?Sized>(
        &self,
        peer: &PublicKey,
        forwarder: &F,
    ) -> Result<Delivery, MailboxError> {
        let key = peer.serialize().to_vec();
        let held = {
            let key = key.clone();
            self.db
                .read(move |conn| {
                    let mut st = conn
                        .prepare_cached(
                            "SELECT seq, message FROM ao_mailbox WHERE peer = ?1 ORDER BY seq",
                        )
                        .map_err(sql)?;
                    let rows = st
                        .query_map([&key], |r| {
                            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
                        })
                        .map_err(sql)?;
                    let mut out = Vec::new();
                    for row in rows {
                        out.push(row.map_err(sql)?);
                    }
                    Ok(out)
                })
                .await?
        };
        let total = held.len() as u64;
        let mut sent = Vec::new();
        let mut stopped_by = None;
        let mut corrupt = None;
        for (seq, bytes) in held {
            let Ok(message) = OnionMessage::read_from_fixed_length_buffer(&mut bytes.as_slice())
            else {
                corrupt = Some(seq);
                break;
            };
            match forwarder.forward_onion_message(message, peer) {
                Ok(()) => sent.push(seq),
                Err(e) => {
                    stopped_by = Some(e);
                    break;
                }
            }
        }
        let forwarded = sent.len() as u64;
        if !sent.is_empty() {
            self.db
                .write(move |conn| {
                    let mut st = conn
                        .prepare_cached("DELETE FROM ao_mailbox WHERE seq = ?1")
                        .map_err(sql)?;
                    for seq in sent {
                        st.execute([seq]).map_err(sql)?;
                    }
                    Ok(())
                })
                .await?;
        }
        if let Some(seq) = corrupt {
            return Err(MailboxError::Corrupt { seq });
        }
        Ok(Delivery {
            forwarded,
            remaining: total - forwarded,
            stopped_by,
        })
    }

    /// Handles `OnionMessageIntercepted` (hold) and `OnionMessagePeerConnected` (deliver);
    /// `None` for any other event.
    pub async fn handle_event<F: MessageForwarder + ?Sized>(
        &self,
        event: &Event,
        forwarder: &F,
    ) -> Option<Result<MailboxEvent, MailboxError>> {
        match event {
            Event::OnionMessageIntercepted {
                next_hop, message, ..
            } => Some(self.hold(next_hop, message).await.map(MailboxEvent::Held)),
            Event::OnionMessagePeerConnected { peer_node_id } => Some(
                self.deliver(peer_node_id, forwarder)
                    .await
                    .map(MailboxEvent::Delivered),
            ),
            _ => None,
        }
    }

    /// Messages held for `peer`.
    pub async fn held_for(&self, peer: &PublicKey) -> Result<u64, MailboxError> {
        let key = peer.serialize().to_vec();
        self.db
            .read(move |conn| {
                conn.query_row(
                    "SELECT COUNT(*) FROM ao_mailbox WHERE peer = ?1",
                    [key],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n as u64)
                .map_err(sql)
            })
            .await
    }

    /// Messages held in all.
    pub async fn total(&self) -> Result<u64, MailboxError> {
        self.db
            .read(|conn| {
                conn.query_row("SELECT COUNT(*) FROM ao_mailbox", [], |r| {
                    r.get::<_, i64>(0)
                })
                .map(|n| n as u64)
                .map_err(sql)
            })
            .await
    }
}

/// What [`Mailbox::handle_event`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxEvent {
    /// An intercepted message.
    Held(HoldOutcome),
    /// A peer connected.
    Delivered(Delivery),
}
