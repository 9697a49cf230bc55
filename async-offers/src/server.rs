//! The static invoice server: LDK's two server events, with authorisation, quotas and rate
//! limits, over a small trait so the logic runs without a live node.
//!
//! ```text
//! Event::PersistStaticInvoice ─► persist limiter ─► store.persist_invoice (registered? not
//!                                revoked? quota?) ─► durable ─► node.static_invoice_persisted
//! Event::StaticInvoiceRequested ─► request limiter ─► store.get_invoice_bytes ─► decode cache
//!                                ─► node.respond_to_static_invoice_request
//! ```
//!
//! Every handler returns a typed outcome for the node to log. A [`ServerError`] (the store
//! failed) means the event should be replayed: return `Err(ReplayEvent())` from LDK's event
//! handler.

use crate::decode_cache::DecodeCache;
use crate::rate_limit::{Decision, RateLimitConfig, RateLimiter};
use crate::registry::{RegistrationToken, TokenError};
use crate::store::{unix_now, Persisted, StaticInvoiceStore, StoreError, StoredInvoice};
use lightning::blinded_path::message::BlindedMessagePath;
use lightning::events::Event;
use lightning::ln::channelmanager::AChannelManager;
use lightning::offers::invoice_request::InvoiceRequest;
use lightning::offers::parse::Bolt12SemanticError;
use lightning::offers::static_invoice::StaticInvoice;
use lightning::onion_message::messenger::Responder;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// LDK could not build blinded paths to this node (for example, it has no usable peers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("LDK could not build blinded paths for the async recipient")]
pub struct PathsUnavailable;

/// The `ChannelManager` calls a static invoice server makes.
///
/// Implemented for every pointer (`Arc`, `&`) to an LDK [`AChannelManager`];
/// tests implement it with a recording test double.
pub trait AsyncPaymentsNode {
    /// `ChannelManager::blinded_paths_for_async_recipient`.
    fn blinded_paths_for_async_recipient(
        &self,
        recipient_id: Vec<u8>,
        relative_expiry: Option<Duration>,
    ) -> Result<Vec<BlindedMessagePath>, PathsUnavailable>;

    /// `ChannelManager::static_invoice_persisted`.
    fn static_invoice_persisted(&self, invoice_persisted_path: Responder);

    /// `ChannelManager::respond_to_static_invoice_request`.
    fn respond_to_static_invoice_request(
        &self,
        invoice: StaticInvoice,
        responder: Responder,
        invoice_request: InvoiceRequest,
        invoice_request_path: BlindedMessagePath,
    ) -> Result<(), Bolt12SemanticError>;
}

impl<T: Deref> AsyncPaymentsNode for T
where
    T::Target: AChannelManager,
{
    fn blinded_paths_for_async_recipient(
        &self,
        recipient_id: Vec<u8>,
        relative_expiry: Option<Duration>,
    ) -> Result<Vec<BlindedMessagePath>, PathsUnavailable> {
        self.deref()
            .get_cm()
            .blinded_paths_for_async_recipient(recipient_id, relative_expiry)
            .map_err(|()| PathsUnavailable)
    }

    fn static_invoice_persisted(&self, invoice_persisted_path: Responder) {
        self.deref()
            .get_cm()
            .static_invoice_persisted(invoice_persisted_path)
    }

    fn respond_to_static_invoice_request(
        &self,
        invoice: StaticInvoice,
        responder: Responder,
        invoice_request: InvoiceRequest,
        invoice_request_path: BlindedMessagePath,
    ) -> Result<(), Bolt12SemanticError> {
        self.deref().get_cm().respond_to_static_invoice_request(
            invoice,
            responder,
            invoice_request,
            invoice_request_path,
        )
    }
}

/// How a [`StaticInvoiceServer`] behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerConfig {
    /// Limits `PersistStaticInvoice` per recipient.
    pub persist_limit: RateLimitConfig,
    /// Limits `StaticInvoiceRequested` per recipient.
    pub request_limit: RateLimitConfig,
    /// How long the blinded paths in new registration tokens last (`None`: for ever). A
    /// recipient needs a new token before they expire.
    pub path_expiry: Option<Duration>,
}

/// What became of an `Event::PersistStaticInvoice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersistOutcome {
    /// Stored durably, then confirmed to the recipient.
    Stored(Persisted),
    /// The recipient sends too fast; nothing stored or confirmed.
    RateLimited,
    /// The rate limiter tracks too many recipients; nothing stored or confirmed.
    LimiterFull,
    /// The recipient id is not registered (paths issued outside the registry, or removed).
    UnknownRecipient,
    /// The recipient was revoked.
    Revoked,
    /// A new slot beyond the recipient's quota.
    QuotaExceeded {
        /// The recipient's quota.
        quota: u16,
    },
}

/// What became of an `Event::StaticInvoiceRequested`.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestOutcome {
    /// The static invoice went to the payer (and the request to the recipient).
    Responded,
    /// Too many requests for this recipient; nothing sent.
    RateLimited,
    /// The rate limiter tracks too many recipients; nothing sent.
    LimiterFull,
    /// No invoice in that slot (never stored, pruned, or the recipient was revoked).
    NotFound,
    /// LDK refused to send the stored invoice (`AlreadyExpired` when it or its offer expired).
    Refused(Bolt12SemanticError),
}

/// What [`StaticInvoiceServer::handle_event`] did with an event.
#[derive(Debug)]
pub enum Handled {
    /// It was a `PersistStaticInvoice`.
    Persist(PersistOutcome),
    /// It was a `StaticInvoiceRequested`.
    Request(RequestOutcome),
    /// Not a static invoice server event; returned untouched.
    NotOurs(Box<Event>),
}

/// A server failure: the event should be replayed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// LDK could not build blinded paths for a token.
    #[error(transparent)]
    Paths(#[from] PathsUnavailable),
    /// The paths LDK returned do not fit in a token.
    #[error(transparent)]
    Token(#[from] TokenError),
}

/// Handles LDK's static invoice server events against a [`StaticInvoiceStore`].
pub struct StaticInvoiceServer<N> {
    node: N,
    store: Arc<dyn StaticInvoiceStore>,
    persist_limiter: RateLimiter,
    request_limiter: RateLimiter,
    path_expiry: Option<Duration>,
    decoded: DecodeCache,
}

impl<N> std::fmt::Debug for StaticInvoiceServer<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticInvoiceServer")
            .field("path_expiry", &self.path_expiry)
            .finish_non_exhaustive()
    }
}

impl<N: AsyncPaymentsNode> StaticInvoiceServer<N> {
    /// A server for `node` keeping invoices in `store`.
    pub fn new(node: N, store: Arc<dyn StaticInvoiceStore>, config: ServerConfig) -> Self {
        StaticInvoiceServer {
            node,
            store,
            persist_limiter: RateLimiter::new(config.persist_limit),
            request_limiter: RateLimiter::new(config.request_limit),
            path_expiry: config.path_expiry,
            decoded: DecodeCache::default(),
        }
    }

    /// The node.
    pub fn node(&self) -> &N {
        &self.node
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn StaticInvoiceStore> {
        &self.store
    }

    /// Registers a recipient and returns its token. The paths are built first, so a recipient
    /// is never registered without a token.
    pub async fn register(
        &self,
        recipient_id: &[u8],
        label: &str,
        slot_quota: Option<u16>,
    ) -> Result<RegistrationToken, ServerError> {
        crate::store::check_recipient_id(recipient_id)?;
        let token = self.token(recipient_id)?;
        self.store
            .register_recipient(recipient_id, label, slot_quota, unix_now())
            .await?;
        Ok(token)
    }

    /// A new token for a registered, unrevoked recipient (for instance when its paths expire).
    pub async fn reissue_token(
        &self,
        recipient_id: &[u8],
    ) -> Result<RegistrationToken, ServerError> {
        match self.store.recipient(recipient_id).await? {
            None => Err(StoreError::UnknownRecipient.into()),
            Some(r) if r.revoked => Err(StoreError::Revoked.into()),
            Some(_) => self.token(recipient_id),
        }
    }

    fn token(&self, recipient_id: &[u8]) -> Result<RegistrationToken, ServerError> {
        let paths = self
            .node
            .blinded_paths_for_async_recipient(recipient_id.to_vec(), self.path_expiry)?;
        Ok(RegistrationToken::new(paths)?)
    }

    /// Revokes a recipient: its invoices are deleted and its future ones refused. Returns how
    /// many invoices were deleted.
    pub async fn revoke(&self, recipient_id: &[u8]) -> Result<u64, ServerError> {
        Ok(self.store.revoke_recipient(recipient_id).await?)
    }

    /// Handles an event if it is one of the two server events; `now` drives the rate limiters.
    pub async fn handle_event(&self, event: Event, now: Instant) -> Result<Handled, ServerError> {
        match event {
            Event::PersistStaticInvoice {
                invoice,
                invoice_request_path,
                invoice_slot,
                recipient_id,
                invoice_persisted_path,
            } => self
                .handle_persist(
                    recipient_id,
                    invoice_slot,
                    invoice,
                    invoice_request_path,
                    invoice_persisted_path,
                    now,
                )
                .await
                .map(Handled::Persist),
            Event::StaticInvoiceRequested {
                recipient_id,
                invoice_slot,
                reply_path,
                invoice_request,
            } => self
                .handle_request(
                    &recipient_id,
                    invoice_slot,
                    reply_path,
                    invoice_request,
                    now,
                )
                .await
                .map(Handled::Request),
            other => Ok(Handled::NotOurs(Box::new(other))),
        }
    }

    /// `Event::PersistStaticInvoice`: rate limit, authorise and store, and only once the
    /// invoice is durable confirm it to the recipient.
    pub async fn handle_persist(
        &self,
        recipient_id: Vec<u8>,
        invoice_slot: u16,
        invoice: StaticInvoice,
        invoice_request_path: BlindedMessagePath,
        invoice_persisted_path: Responder,
        now: Instant,
    ) -> Result<PersistOutcome, ServerError> {
        match self.persist_limiter.check(&recipient_id, now) {
            Decision::Allowed => {}
            Decision::Limited => return Ok(PersistOutcome::RateLimited),
            Decision::TooManyKeys => return Ok(PersistOutcome::LimiterFull),
        }
        let record = StoredInvoice::new(
            recipient_id,
            invoice_slot,
            invoice,
            invoice_request_path,
            unix_now(),
        );
        let outcome = match self.store.persist_invoice(&record).await {
            Ok(persisted) => persisted,
            Err(StoreError::UnknownRecipient) => return Ok(PersistOutcome::UnknownRecipient),
            Err(StoreError::Revoked) => return Ok(PersistOutcome::Revoked),
            Err(StoreError::QuotaExceeded { quota }) => {
                return Ok(PersistOutcome::QuotaExceeded { quota })
            }
            Err(e) => return Err(e.into()),
        };
        self.node.static_invoice_persisted(invoice_persisted_path);
        Ok(PersistOutcome::Stored(outcome))
    }

    /// `Event::StaticInvoiceRequested`: rate limit, look up, respond.
    pub async fn handle_request(
        &self,
        recipient_id: &[u8],
        invoice_slot: u16,
        reply_path: Responder,
        invoice_request: InvoiceRequest,
        now: Instant,
    ) -> Result<RequestOutcome, ServerError> {
        match self.request_limiter.check(recipient_id, now) {
            Decision::Allowed => {}
            Decision::Limited => return Ok(RequestOutcome::RateLimited),
            Decision::TooManyKeys => return Ok(RequestOutcome::LimiterFull),
        }
        let Some(bytes) = self
            .store
            .get_invoice_bytes(recipient_id, invoice_slot)
            .await?
        else {
            return Ok(RequestOutcome::NotFound);
        };
        let stored = self.decoded.decode(bytes)?;
        match self.node.respond_to_static_invoice_request(
            stored.invoice,
            reply_path,
            invoice_request,
            stored.invoice_request_path,
        ) {
            Ok(()) => Ok(RequestOutcome::Responded),
            Err(e) => Ok(RequestOutcome::Refused(e)),
        }
    }
}
