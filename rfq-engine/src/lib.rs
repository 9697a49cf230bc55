//! # rfq-engine
//!
//! The decision side of the Taproot Assets RFQ protocol, on top of the [`rfq_wire`] codec:
//! how many asset units a payment is worth, whether a quote meets a request's limits, and
//! where rates come from.
//!
//! ```
//! use rfq_engine::rate;
//! use rfq_wire::FixedPoint;
//!
//! // 679 189 000.00 units per BTC (a USD asset with 4 decimals at $67 918.90).
//! let rate = FixedPoint::new(67_918_900_000, 2);
//! assert_eq!(rate::whole_units_to_msat(10_000, rate)?, 1_472_344);
//! assert_eq!(rate::msat_to_whole_units(1_472_344, rate)?, 9_999);
//! # Ok::<(), rfq_engine::RateError>(())
//! ```
//!
//! Contents:
//! - [`rate`]: exact fixed-point rate maths with tapd's semantics (spec §7): rescaling,
//!   [`rate::cmp`], [`rate::within_tolerance`], msat ↔ unit conversions, minimum transportable
//!   amounts; errors are [`RateError`];
//! - [`constraints`]: a request's limit-order constraints (spec §9.4) — rate bound, minimum
//!   fill, fill-or-kill, fill cap — checked in tapd's order by [`QuoteConstraints::check`];
//!   failures are [`ConstraintViolation`]s that map to reject codes;
//! - [`oracle`]: the [`PriceOracle`] trait (spec §11) and its implementations
//!   [`FixedRateOracle`], [`HttpOracle`] and [`FallbackOracle`]; failures are
//!   [`OracleError`]s;
//! - [`negotiator`]: both sides of the negotiation (spec §9) as a sans-I/O [`Negotiator`]:
//!   (peer, message, now) in, [`Handled`] out — the accept or reject to send, or the verified
//!   peer quote;
//! - [`order`]: the [`OrderManager`] that enforces accepted quotes on intercepted HTLCs
//!   (spec §10), with in-flight accounting, expiry, cancellation and [`RfqEvent`]s.
//! - [`quote`] and [`store`]: accepted quotes as stored ([`StoredQuote`]) and the durable,
//!   shareable [`QuoteStore`] — [`SqliteQuoteStore`] by default, [`PostgresQuoteStore`] for
//!   several workers on one database — with atomic in-flight reservations and replay
//!   detection; failures are [`StoreError`]s.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod constraints;
pub mod negotiator;
pub mod oracle;
pub mod order;
pub mod quote;
pub mod rate;
pub mod store;

pub use constraints::{ConstraintViolation, QuoteConstraints, RequestSide};
pub use negotiator::{
    BuyOrder, DropReason, Handled, Negotiator, NegotiatorConfig, PeerId, SellOrder, VerifyFailure,
};
pub use oracle::{
    BidAsk, FallbackOracle, FixedRateOracle, HttpOracle, Intent, OracleError, OracleRate,
    PriceOracle, RateHint, RateQuery, TransactionType,
};
pub use order::{ForwardInstruction, HtlcDecision, HtlcFailure, HtlcView, OrderManager, RfqEvent};
pub use quote::{CircuitKey, QuoteKind, StoredQuote};
pub use rate::RateError;
pub use store::{
    BoxFuture, InFlightHtlc, PostgresOptions, PostgresQuoteStore, QuoteStore, Reservation,
    SqliteQuoteStore, StoreError,
};

/// The README's example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
