//! The static invoice server's event handling with real LDK values (static invoices, blinded
//! paths, invoice requests, responders) over `RecordingNode`, a test double for the
//! `ChannelManager` calls.

mod common;

use async_offers::rate_limit::RateLimitConfig;
use async_offers::server::{
    AsyncPaymentsNode, Handled, PathsUnavailable, PersistOutcome, RequestOutcome, ServerConfig,
    ServerError, StaticInvoiceServer,
};
use async_offers::store::{
    unix_now, Persisted, SqliteStaticInvoiceStore, StaticInvoiceStore, StoreError, StoreLimits,
};
use async_offers::RegistrationToken;
use common::ldk::{self, plain_path, responder, server_path, Recipient, TestEntropy};
use lightning::blinded_path::message::BlindedMessagePath;
use lightning::events::Event;
use lightning::offers::invoice_request::InvoiceRequest;
use lightning::offers::parse::Bolt12SemanticError;
use lightning::offers::static_invoice::StaticInvoice;
use lightning::onion_message::messenger::Responder;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One call the server made (sizes differ; it is a test record).
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Call {
    Paths {
        recipient_id: Vec<u8>,
        expiry: Option<Duration>,
    },
    /// `static_invoice_persisted`, with the number of invoice rows the database file held at
    /// that moment (read with a separate connection: proof of persist-then-confirm).
    Persisted {
        responder: Responder,
        rows_on_disk: Option<i64>,
    },
    Responded {
        invoice: StaticInvoice,
        responder: Responder,
        invoice_request: InvoiceRequest,
        path: BlindedMessagePath,
    },
}

/// Test double for the `ChannelManager`'s static invoice server calls: records every call and
/// refuses expired invoices as LDK does (against the real clock).
struct RecordingNode {
    paths: Vec<BlindedMessagePath>,
    db_file: Option<PathBuf>,
    calls: Mutex<Vec<Call>>,
}

impl RecordingNode {
    fn new(db_file: Option<PathBuf>) -> Self {
        let entropy = TestEntropy::new(5);
        RecordingNode {
            paths: vec![
                server_path(&entropy, 1, 1, b"x"),
                server_path(&entropy, 1, 0, b"x"),
            ],
            db_file,
            calls: Mutex::new(Vec::new()),
        }
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, Vec<Call>> {
        self.calls.lock().unwrap()
    }
}

impl AsyncPaymentsNode for RecordingNode {
    fn blinded_paths_for_async_recipient(
        &self,
        recipient_id: Vec<u8>,
        relative_expiry: Option<Duration>,
    ) -> Result<Vec<BlindedMessagePath>, PathsUnavailable> {
        self.calls().push(Call::Paths {
            recipient_id,
            expiry: relative_expiry,
        });
        Ok(self.paths.clone())
    }

    fn static_invoice_persisted(&self, responder: Responder) {
        let rows_on_disk = self.db_file.as_ref().map(|f| {
            let conn = rusqlite::Connection::open(f).unwrap();
            conn.query_row("SELECT COUNT(*) FROM ao_invoices", [], |r| r.get(0))
                .unwrap()
        });
        self.calls().push(Call::Persisted {
            responder,
            rows_on_disk,
        });
    }

    fn respond_to_static_invoice_request(
        &self,
        invoice: StaticInvoice,
        responder: Responder,
        invoice_request: InvoiceRequest,
        path: BlindedMessagePath,
    ) -> Result<(), Bolt12SemanticError> {
        let now = Duration::from_secs(unix_now());
        if invoice.is_expired_no_std(now) || invoice.is_offer_expired_no_std(now) {
            return Err(Bolt12SemanticError::AlreadyExpired);
        }
        self.calls().push(Call::Responded {
            invoice,
            responder,
            invoice_request,
            path,
        });
        Ok(())
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    file: PathBuf,
    store: Arc<dyn StaticInvoiceStore>,
}

fn setup(limits: StoreLimits) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("invoices.sqlite");
    let store = Arc::new(SqliteStaticInvoiceStore::open_with(&file, limits).unwrap());
    Setup {
        _dir: dir,
        file,
        store,
    }
}

fn server(s: &Setup, config: ServerConfig) -> StaticInvoiceServer<RecordingNode> {
    StaticInvoiceServer::new(
        RecordingNode::new(Some(s.file.clone())),
        s.store.clone(),
        config,
    )
}

/// `Event::PersistStaticInvoice` as LDK emits it, with a real invoice valid for a day.
fn persist_event(recipient: &Recipient, recipient_id: &[u8], slot: u16) -> Event {
    let entropy = TestEntropy::new(u64::from(slot) + 77);
    Event::PersistStaticInvoice {
        invoice: recipient.invoice(unix_now(), 86_400),
        invoice_request_path: plain_path(&entropy, 50),
        invoice_slot: slot,
        recipient_id: recipient_id.to_vec(),
        invoice_persisted_path: responder(&plain_path(&entropy, 60)),
    }
}

fn request_event(recipient: &Recipient, recipient_id: &[u8], slot: u16) -> Event {
    let entropy = TestEntropy::new(900);
    Event::StaticInvoiceRequested {
        recipient_id: recipient_id.to_vec(),
        invoice_slot: slot,
        reply_path: responder(&plain_path(&entropy, 70)),
        invoice_request: recipient.invoice_request(3),
    }
}

async fn persist(
    server: &StaticInvoiceServer<RecordingNode>,
    event: Event,
    now: Instant,
) -> PersistOutcome {
    match server.handle_event(event, now).await.unwrap() {
        Handled::Persist(o) => o,
        other => panic!("{other:?}"),
    }
}

async fn request(
    server: &StaticInvoiceServer<RecordingNode>,
    event: Event,
    now: Instant,
) -> RequestOutcome {
    match server.handle_event(event, now).await.unwrap() {
        Handled::Request(o) => o,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn register_issues_a_token_with_the_nodes_paths() {
    let s = setup(StoreLimits::default());
    let config = ServerConfig {
        path_expiry: Some(Duration::from_secs(90 * 86_400)),
        ..ServerConfig::default()
    };
    let server = server(&s, config);
    let token = server
        .register(b"alice", "Alice's phone", Some(4))
        .await
        .unwrap();
    let decoded = RegistrationToken::decode(&token.to_string()).unwrap();
    assert_eq!(decoded.paths(), &server.node().paths[..]);
    match &server.node().calls()[0] {
        Call::Paths {
            recipient_id,
            expiry,
        } => {
            assert_eq!(recipient_id, b"alice");
            assert_eq!(*expiry, Some(Duration::from_secs(90 * 86_400)));
        }
        other => panic!("{other:?}"),
    }
    let r = s.store.recipient(b"alice").await.unwrap().unwrap();
    assert_eq!((r.label.as_str(), r.slot_quota), ("Alice's phone", Some(4)));
    assert!(matches!(
        server.register(b"alice", "again", None).await,
        Err(ServerError::Store(StoreError::AlreadyRegistered))
    ));
    assert!(matches!(
        server.register(b"", "empty", None).await,
        Err(ServerError::Store(StoreError::BadRecipientId { len: 0 }))
    ));
    // A registered recipient can get a fresh token; a revoked or unknown one cannot.
    server.reissue_token(b"alice").await.unwrap();
    server.revoke(b"alice").await.unwrap();
    assert!(matches!(
        server.reissue_token(b"alice").await,
        Err(ServerError::Store(StoreError::Revoked))
    ));
    assert!(matches!(
        server.reissue_token(b"bob").await,
        Err(ServerError::Store(StoreError::UnknownRecipient))
    ));
}

#[tokio::test]
async fn persist_is_durable_before_it_is_confirmed() {
    let s = setup(StoreLimits::default());
    let server = server(&s, ServerConfig::default());
    server.register(b"alice", "a", None).await.unwrap();
    let recipient = Recipient::new(20, 1, None);
    let event = persist_event(&recipient, b"alice", 3);
    let Event::PersistStaticInvoice {
        invoice,
        invoice_request_path,
        invoice_persisted_path,
        ..
    } = event.clone()
    else {
        unreachable!()
    };
    let now = Instant::now();
    assert_eq!(
        persist(&server, event.clone(), now).await,
        PersistOutcome::Stored(Persisted::Inserted)
    );
    let stored = s.store.get_invoice(b"alice", 3).await.unwrap().unwrap();
    assert_eq!(stored.invoice, invoice);
    assert_eq!(stored.invoice_request_path, invoice_request_path);
    assert_eq!(stored.expires_at, invoice.created_at().as_secs() + 86_400);
    {
        let calls = server.node().calls();
        match calls.last().unwrap() {
            Call::Persisted {
                responder,
                rows_on_disk,
            } => {
                assert_eq!(responder, &invoice_persisted_path);
                assert_eq!(
                    *rows_on_disk,
                    Some(1),
                    "confirmed before the row was on disk"
                );
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        persist(&server, event, now).await,
        PersistOutcome::Stored(Persisted::Replaced)
    );
}

#[tokio::test]
async fn unauthorised_persists_are_neither_stored_nor_confirmed() {
    let s = setup(StoreLimits::default());
    let server = server(&s, ServerConfig::default());
    let recipient = Recipient::new(21, 1, None);
    let now = Instant::now();
    assert_eq!(
        persist(&server, persist_event(&recipient, b"stranger", 0), now).await,
        PersistOutcome::UnknownRecipient
    );
    server.register(b"small", "s", Some(1)).await.unwrap();
    persist(&server, persist_event(&recipient, b"small", 0), now).await;
    assert_eq!(
        persist(&server, persist_event(&recipient, b"small", 1), now).await,
        PersistOutcome::QuotaExceeded { quota: 1 }
    );
    server.register(b"gone", "g", None).await.unwrap();
    persist(&server, persist_event(&recipient, b"gone", 0), now).await;
    assert_eq!(server.revoke(b"gone").await.unwrap(), 1);
    assert_eq!(
        persist(&server, persist_event(&recipient, b"gone", 0), now).await,
        PersistOutcome::Revoked
    );
    // Only the one accepted persist was confirmed; nothing of the stranger's was stored.
    let confirmed = server
        .node()
        .calls()
        .iter()
        .filter(|c| matches!(c, Call::Persisted { .. }))
        .count();
    assert_eq!(confirmed, 2);
    assert_eq!(s.store.list_invoices(b"stranger").await.unwrap(), vec![]);
    assert_eq!(s.store.recipient(b"stranger").await.unwrap(), None);
}

#[tokio::test]
async fn persists_and_requests_are_rate_limited_separately() {
    let s = setup(StoreLimits::default());
    let tight = RateLimitConfig {
        capacity: 2,
        refill_every: Duration::from_secs(1),
        max_keys: 100,
    };
    let server = server(
        &s,
        ServerConfig {
            persist_limit: tight,
            request_limit: tight,
            path_expiry: None,
        },
    );
    server.register(b"alice", "a", None).await.unwrap();
    let recipient = Recipient::new(22, 1, None);
    let t0 = Instant::now();
    for slot in 0..2 {
        assert!(matches!(
            persist(&server, persist_event(&recipient, b"alice", slot), t0).await,
            PersistOutcome::Stored(_)
        ));
    }
    assert_eq!(
        persist(&server, persist_event(&recipient, b"alice", 2), t0).await,
        PersistOutcome::RateLimited
    );
    assert_eq!(s.store.get_invoice(b"alice", 2).await.unwrap(), None);
    // The request limiter is a separate bucket.
    for _ in 0..2 {
        assert_eq!(
            request(&server, request_event(&recipient, b"alice", 0), t0).await,
            RequestOutcome::Responded
        );
    }
    assert_eq!(
        request(&server, request_event(&recipient, b"alice", 0), t0).await,
        RequestOutcome::RateLimited
    );
    let later = t0 + Duration::from_secs(1);
    assert!(matches!(
        persist(&server, persist_event(&recipient, b"alice", 2), later).await,
        PersistOutcome::Stored(_)
    ));
    assert_eq!(
        request(&server, request_event(&recipient, b"alice", 0), later).await,
        RequestOutcome::Responded
    );
}

#[tokio::test]
async fn requests_are_answered_with_the_stored_invoice_and_path() {
    let s = setup(StoreLimits::default());
    let server = server(&s, ServerConfig::default());
    server.register(b"alice", "a", None).await.unwrap();
    let recipient = Recipient::new(23, 1, None);
    let now = Instant::now();
    persist(&server, persist_event(&recipient, b"alice", 5), now).await;
    let stored = s.store.get_invoice(b"alice", 5).await.unwrap().unwrap();

    let event = request_event(&recipient, b"alice", 5);
    let Event::StaticInvoiceRequested {
        reply_path,
        invoice_request,
        ..
    } = event.clone()
    else {
        unreachable!()
    };
    assert_eq!(
        request(&server, event, now).await,
        RequestOutcome::Responded
    );
    match server.node().calls().last().unwrap() {
        Call::Responded {
            invoice,
            responder,
            invoice_request: ir,
            path,
        } => {
            assert_eq!(invoice, &stored.invoice);
            assert_eq!(path, &stored.invoice_request_path);
            assert_eq!(responder, &reply_path);
            assert_eq!(ir, &invoice_request);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        request(&server, request_event(&recipient, b"alice", 6), now).await,
        RequestOutcome::NotFound
    );
    assert_eq!(
        request(&server, request_event(&recipient, b"nobody", 5), now).await,
        RequestOutcome::NotFound
    );
    server.revoke(b"alice").await.unwrap();
    assert_eq!(
        request(&server, request_event(&recipient, b"alice", 5), now).await,
        RequestOutcome::NotFound
    );
}

#[tokio::test]
async fn expired_invoices_are_refused_by_ldk() {
    let s = setup(StoreLimits::default());
    let server = server(&s, ServerConfig::default());
    server.register(b"alice", "a", None).await.unwrap();
    let recipient = Recipient::new(24, 1, None);
    // An invoice that expired an hour ago, stored directly.
    let old = async_offers::StoredInvoice::new(
        b"alice".to_vec(),
        0,
        recipient.invoice(unix_now() - 7_200, 3_600),
        plain_path(&TestEntropy::new(1), 50),
        unix_now(),
    );
    s.store.persist_invoice(&old).await.unwrap();
    assert_eq!(
        request(
            &server,
            request_event(&recipient, b"alice", 0),
            Instant::now()
        )
        .await,
        RequestOutcome::Refused(Bolt12SemanticError::AlreadyExpired)
    );
    // And the pruning job would delete it.
    assert_eq!(s.store.prune_expired(unix_now()).await.unwrap(), 1);
}

#[tokio::test]
async fn other_events_are_returned_untouched() {
    let s = setup(StoreLimits::default());
    let server = server(&s, ServerConfig::default());
    let event = Event::OnionMessagePeerConnected {
        peer_node_id: ldk::node_key(3).1,
    };
    match server
        .handle_event(event.clone(), Instant::now())
        .await
        .unwrap()
    {
        Handled::NotOurs(e) => assert_eq!(*e, event),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn two_servers_on_one_store_serve_each_others_invoices() {
    let s = setup(StoreLimits::default());
    let a = server(&s, ServerConfig::default());
    // The second node has its own store on the same file, as a second process would.
    let b = StaticInvoiceServer::new(
        RecordingNode::new(None),
        Arc::new(SqliteStaticInvoiceStore::open(&s.file).unwrap()),
        ServerConfig::default(),
    );
    a.register(b"alice", "a", None).await.unwrap();
    let recipient = Recipient::new(25, 1, None);
    let now = Instant::now();
    assert!(matches!(
        persist(&a, persist_event(&recipient, b"alice", 1), now).await,
        PersistOutcome::Stored(Persisted::Inserted)
    ));
    assert_eq!(
        request(&b, request_event(&recipient, b"alice", 1), now).await,
        RequestOutcome::Responded
    );
    b.revoke(b"alice").await.unwrap();
    assert_eq!(
        persist(&a, persist_event(&recipient, b"alice", 1), now).await,
        PersistOutcome::Revoked
    );
}

/// The decode cache never serves a stale invoice: a replaced slot is served with its new
/// invoice, and a revoked recipient is not served, though both were cached.
#[tokio::test]
async fn cached_decodes_follow_the_store() {
    let s = setup(StoreLimits::default());
    let server = server(&s, ServerConfig::default());
    server.register(b"alice", "a", None).await.unwrap();
    let now = Instant::now();
    let served = |server: &StaticInvoiceServer<RecordingNode>| match server.node().calls().last() {
        Some(Call::Responded { invoice, .. }) => invoice.clone(),
        other => panic!("{other:?}"),
    };
    let first = Recipient::new(23, 1, None);
    persist(&server, persist_event(&first, b"alice", 5), now).await;
    for _ in 0..2 {
        assert_eq!(
            request(&server, request_event(&first, b"alice", 5), now).await,
            RequestOutcome::Responded
        );
    }
    let first_invoice = served(&server);

    let second = Recipient::new(24, 1, None);
    persist(&server, persist_event(&second, b"alice", 5), now).await;
    assert_eq!(
        request(&server, request_event(&second, b"alice", 5), now).await,
        RequestOutcome::Responded
    );
    let second_invoice = served(&server);
    assert_ne!(first_invoice, second_invoice);
    assert_eq!(
        second_invoice,
        s.store
            .get_invoice(b"alice", 5)
            .await
            .unwrap()
            .unwrap()
            .invoice
    );

    server.revoke(b"alice").await.unwrap();
    assert_eq!(
        request(&server, request_event(&second, b"alice", 5), now).await,
        RequestOutcome::NotFound
    );
}
