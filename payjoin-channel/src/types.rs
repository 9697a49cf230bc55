//! The vocabulary every part of the receiver shares: schedule ids ([`ScheduleId`]), their life
//! cycle ([`ScheduleState`]) and why channels are abandoned ([`AbandonReason`]).
//!
//! States and reasons are stored as text; [`AbandonReason::as_str`] and the state names are the
//! only spellings, and a stored value that is none of them reads back as [`UnknownValue`].

use std::str::FromStr;

/// Identifier of a schedule (its row id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScheduleId(pub i64);

impl std::fmt::Display for ScheduleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Why channels were abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbandonReason {
    /// The peer did not accept, or another channel of the same schedule failed.
    OpenFailed,
    /// The payjoin could not be built with the funding outputs (fees, dust, wallet).
    ProposalFailed,
    /// The peer's funding signature did not come in time (or failed).
    FundingSignatureFailed,
    /// The payer broadcast the original transaction instead of the payjoin.
    OriginalBroadcast,
    /// Neither the payjoin nor the original appeared within the watchdog timeout.
    Timeout,
    /// The receiver shut the schedule down.
    Cancelled,
    /// The receiver restarted while the payer's request was open (the answer was lost; the
    /// payer broadcasts the original or nothing).
    Interrupted,
}

impl AbandonReason {
    /// Every reason.
    pub const ALL: [AbandonReason; 7] = [
        Self::OpenFailed,
        Self::ProposalFailed,
        Self::FundingSignatureFailed,
        Self::OriginalBroadcast,
        Self::Timeout,
        Self::Cancelled,
        Self::Interrupted,
    ];

    /// Stable text form (stored).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenFailed => "open-failed",
            Self::ProposalFailed => "proposal-failed",
            Self::FundingSignatureFailed => "funding-signature-failed",
            Self::OriginalBroadcast => "original-broadcast",
            Self::Timeout => "timeout",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }

    /// Parses [`Self::as_str`]; `None` for anything else (see also [`FromStr`]).
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

impl FromStr for AbandonReason {
    type Err = UnknownValue;

    /// Parses [`AbandonReason::as_str`].
    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownValue::new("abandon reason", s))
    }
}

impl std::fmt::Display for AbandonReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a schedule is in its life.
///
/// ```text
/// Open ─► Claimed ─► Proposed ─► Funded
///  │         │           └─────► Abandoned(reason)
///  │         └─────────────────► FellBack(reason)
///  └───────────────────────────► Cancelled
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleState {
    /// Waiting for a payjoin to its address.
    Open,
    /// An original paying it arrived; its channels are being opened.
    Claimed,
    /// The funding proposal was answered; the watchdog waits for the funding to confirm.
    Proposed,
    /// The funding transaction confirmed.
    Funded,
    /// The channels failed before the proposal was answered; the payer got a plain payjoin or an
    /// error (the payment itself still reaches the wallet).
    FellBack(AbandonReason),
    /// The proposal was answered but the funding never confirmed; channels abandoned.
    Abandoned(AbandonReason),
    /// Cancelled by the receiver before any payment arrived.
    Cancelled,
}

impl ScheduleState {
    /// The state without its reason: what a transition starts from.
    pub(crate) fn kind(self) -> StateKind {
        match self {
            Self::Open => StateKind::Open,
            Self::Claimed => StateKind::Claimed,
            Self::Proposed => StateKind::Proposed,
            Self::Funded => StateKind::Funded,
            Self::FellBack(_) => StateKind::FellBack,
            Self::Abandoned(_) => StateKind::Abandoned,
            Self::Cancelled => StateKind::Cancelled,
        }
    }

    /// Why the channels were given up, for [`Self::FellBack`] and [`Self::Abandoned`].
    pub fn reason(self) -> Option<AbandonReason> {
        match self {
            Self::FellBack(r) | Self::Abandoned(r) => Some(r),
            _ => None,
        }
    }

    /// The state of `kind` with `reason`; `None` when `kind` needs a reason and there is none
    /// (a reason given to a state without one is ignored).
    pub(crate) fn from_parts(kind: StateKind, reason: Option<AbandonReason>) -> Option<Self> {
        Some(match kind {
            StateKind::Open => Self::Open,
            StateKind::Claimed => Self::Claimed,
            StateKind::Proposed => Self::Proposed,
            StateKind::Funded => Self::Funded,
            StateKind::FellBack => Self::FellBack(reason?),
            StateKind::Abandoned => Self::Abandoned(reason?),
            StateKind::Cancelled => Self::Cancelled,
        })
    }
}

/// A [`ScheduleState`] without its reason: what the store's `state` column holds, and what a
/// transition is conditioned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum StateKind {
    Open,
    Claimed,
    Proposed,
    Funded,
    FellBack,
    Abandoned,
    Cancelled,
}

impl StateKind {
    const ALL: [StateKind; 7] = [
        Self::Open,
        Self::Claimed,
        Self::Proposed,
        Self::Funded,
        Self::FellBack,
        Self::Abandoned,
        Self::Cancelled,
    ];

    /// Stable text form (stored).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Claimed => "claimed",
            Self::Proposed => "proposed",
            Self::Funded => "funded",
            Self::FellBack => "fell-back",
            Self::Abandoned => "abandoned",
            Self::Cancelled => "cancelled",
        }
    }
}

impl FromStr for StateKind {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownValue::new("schedule state", s))
    }
}

/// A stored text value that names no known state or reason (the database was edited, or
/// written by a newer version).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownValue {
    /// What the value should have named (`"schedule state"`, `"abandon reason"`).
    pub what: &'static str,
    /// The value found.
    pub value: String,
}

impl UnknownValue {
    fn new(what: &'static str, value: &str) -> Self {
        Self {
            what,
            value: value.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip() {
        for r in AbandonReason::ALL {
            assert_eq!(r.as_str().parse::<AbandonReason>(), Ok(r));
            assert_eq!(AbandonReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(AbandonReason::parse("nope"), None);
        assert_eq!(
            "nope".parse::<AbandonReason>(),
            Err(UnknownValue::new("abandon reason", "nope"))
        );
    }

    #[test]
    fn states_round_trip_through_their_columns() {
        let mut states = vec![
            ScheduleState::Open,
            ScheduleState::Claimed,
            ScheduleState::Proposed,
            ScheduleState::Funded,
            ScheduleState::Cancelled,
        ];
        for r in AbandonReason::ALL {
            states.push(ScheduleState::FellBack(r));
            states.push(ScheduleState::Abandoned(r));
        }
        for state in states {
            let kind: StateKind = state.kind().as_str().parse().unwrap();
            let reason = state
                .reason()
                .map(|r| r.as_str().parse::<AbandonReason>().unwrap());
            assert_eq!(ScheduleState::from_parts(kind, reason), Some(state));
        }
        assert!("Open".parse::<StateKind>().is_err());
        assert_eq!(ScheduleState::from_parts(StateKind::FellBack, None), None);
        assert_eq!(ScheduleState::from_parts(StateKind::Abandoned, None), None);
        assert_eq!(
            ScheduleState::from_parts(StateKind::Open, Some(AbandonReason::Timeout)),
            Some(ScheduleState::Open)
        );
    }
}
