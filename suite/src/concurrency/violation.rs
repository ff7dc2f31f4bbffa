//! Violations: which rule a history breaks, where, and the smallest part of it that shows so.
//!
//! Every rule the checkers enforce is a [`Rule`], named by a stable slug and tied to the profile
//! requirement it tests (`docs/profile.md`). A [`ViolationKind`] is one breach with its
//! particulars (versions, turn ids); a [`Violation`] adds the operations involved, the
//! sub-history cut down to them and to the operations overlapping them, and the seed that
//! reproduces the workload, so that a failure can be read without the whole recording.

use std::fmt;

use super::history::{History, Nanos, OpId, Operation, Ret, TurnKey};
pub use super::rule::Rule;

/// One breach of a [`Rule`], with its particulars.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViolationKind {
    /// See [`Rule::LostUpdate`].
    LostUpdate {
        /// The shared `expected_version`.
        expected_version: u64,
    },
    /// See [`Rule::DuplicateVersion`].
    DuplicateVersion {
        /// The shared version.
        version: u64,
    },
    /// See [`Rule::VersionMismatch`].
    VersionMismatch {
        /// The request's `expected_version`.
        expected_version: u64,
        /// The version the turn took.
        applied_version: u64,
    },
    /// See [`Rule::DoubleIncrement`].
    DoubleIncrement {
        /// The version before the turn.
        from: u64,
        /// The version the turn took.
        to: u64,
    },
    /// See [`Rule::StaleRead`].
    StaleRead {
        /// The version read.
        observed: u64,
        /// A later version known to be installed before the read was sent.
        newer: u64,
    },
    /// See [`Rule::FutureRead`].
    FutureRead {
        /// The version read.
        observed: u64,
    },
    /// See [`Rule::RealTimeOrder`].
    RealTimeOrder {
        /// The version the operation reported.
        observed: u64,
        /// A version that contradicts it in real time.
        other: u64,
    },
    /// See [`Rule::UnknownVersion`].
    UnknownVersion {
        /// The version reported.
        observed: u64,
        /// The head of the complete log.
        head: u64,
    },
    /// See [`Rule::ReadStateMismatch`].
    ReadStateMismatch {
        /// The version read.
        version: u64,
    },
    /// See [`Rule::AckStateMismatch`].
    AckStateMismatch {
        /// The acknowledged version.
        version: u64,
    },
    /// See [`Rule::FinalStateMismatch`].
    FinalStateMismatch {
        /// The final version.
        version: u64,
    },
    /// See [`Rule::StatusMismatch`].
    StatusMismatch {
        /// The version.
        version: u64,
    },
    /// See [`Rule::WriteWhilePaused`].
    WriteWhilePaused {
        /// The version the update took.
        version: u64,
    },
    /// See [`Rule::InvalidTransition`].
    InvalidTransition {
        /// The version the turn took.
        version: u64,
    },
    /// See [`Rule::SpuriousConflict`].
    SpuriousConflict {
        /// The request's `expected_version`.
        expected_version: u64,
        /// The problem's `current_version`.
        current_version: u64,
    },
    /// See [`Rule::SpuriousDuplicate`].
    SpuriousDuplicate {
        /// The turn id.
        turn_id: TurnKey,
    },
    /// See [`Rule::ConflictForAppliedTurn`].
    ConflictForAppliedTurn {
        /// The turn id.
        turn_id: TurnKey,
    },
    /// See [`Rule::MissingReceipt`].
    MissingReceipt {
        /// The acknowledged version.
        version: u64,
    },
    /// See [`Rule::LogMismatch`].
    LogMismatch {
        /// The acknowledged version.
        version: u64,
        /// The acknowledged turn.
        turn_id: TurnKey,
    },
    /// See [`Rule::ReplayedTurn`].
    ReplayedTurn {
        /// The turn id.
        turn_id: TurnKey,
    },
    /// See [`Rule::RefusedTurnApplied`].
    RefusedTurnApplied {
        /// The receipt's version.
        version: u64,
    },
    /// See [`Rule::PhantomTurn`].
    PhantomTurn {
        /// The receipt's version.
        version: u64,
    },
    /// See [`Rule::LogGap`].
    LogGap {
        /// The last version before the gap (`None`: the page did not start at `from`).
        after: Option<u64>,
        /// The next version served.
        next: u64,
    },
    /// See [`Rule::BrokenLink`].
    BrokenLink {
        /// The receipt's version.
        version: u64,
        /// `previous_turn_id` or `prev_receipt_hash`.
        link: &'static str,
    },
    /// See [`Rule::LogRewritten`].
    LogRewritten {
        /// The version whose receipt changed.
        version: u64,
    },
    /// See [`Rule::StateDigestMismatch`].
    StateDigestMismatch {
        /// The receipt's version.
        version: u64,
    },
    /// See [`Rule::ChainBroken`].
    ChainBroken {
        /// Position in the final log.
        index: usize,
        /// What `verify_chain` reported.
        reason: String,
    },
    /// See [`Rule::HistoryGap`].
    HistoryGap {
        /// The `seq` expected at that position.
        expected: u64,
        /// The `seq` served there.
        found: u64,
    },
    /// See [`Rule::LostMessage`].
    LostMessage {
        /// The message id.
        msg_id: TurnKey,
        /// The `seq` it was acknowledged with.
        seq: u64,
    },
    /// See [`Rule::AckSeqMismatch`].
    AckSeqMismatch {
        /// The message id.
        msg_id: TurnKey,
        /// The `seq` acknowledged.
        acknowledged: u64,
        /// The `seq` in the history.
        recorded: u64,
    },
    /// See [`Rule::DuplicateSeq`].
    DuplicateSeq {
        /// The shared `seq`.
        seq: u64,
    },
    /// See [`Rule::MessageAppliedTwice`].
    MessageAppliedTwice {
        /// The message id.
        msg_id: TurnKey,
        /// How many entries hold it.
        entries: usize,
    },
    /// See [`Rule::PhantomMessage`].
    PhantomMessage {
        /// The entry's `seq`.
        seq: u64,
    },
    /// See [`Rule::RefusedMessageApplied`].
    RefusedMessageApplied {
        /// The message id.
        msg_id: TurnKey,
        /// The entry's `seq`.
        seq: u64,
    },
    /// See [`Rule::SenderOrder`].
    SenderOrder {
        /// The message sent first.
        first: TurnKey,
        /// The message sent after it, recorded before it.
        second: TurnKey,
    },
    /// See [`Rule::MessageRealTimeOrder`].
    MessageRealTimeOrder {
        /// The message acknowledged first.
        first: TurnKey,
        /// The message sent after that acknowledgement, recorded before it.
        second: TurnKey,
    },
    /// See [`Rule::HistoryRewritten`].
    HistoryRewritten {
        /// The first `seq` served differently.
        seq: u64,
    },
    /// See [`Rule::StaleStateApplied`].
    StaleStateApplied {
        /// The message id.
        msg_id: TurnKey,
        /// The `expected_seq` it carried.
        expected_seq: u64,
        /// The `seq` it has in the history.
        seq: u64,
    },
    /// See [`Rule::SpuriousSeqConflict`].
    SpuriousSeqConflict {
        /// The message id.
        msg_id: TurnKey,
        /// The `seq` both expected and named current.
        seq: u64,
    },
    /// See [`Rule::HistoryUnreadable`].
    HistoryUnreadable,
}

impl ViolationKind {
    /// The rule breached.
    pub fn rule(&self) -> Rule {
        use ViolationKind as K;
        match self {
            K::LostUpdate { .. } => Rule::LostUpdate,
            K::DuplicateVersion { .. } => Rule::DuplicateVersion,
            K::VersionMismatch { .. } => Rule::VersionMismatch,
            K::DoubleIncrement { .. } => Rule::DoubleIncrement,
            K::StaleRead { .. } => Rule::StaleRead,
            K::FutureRead { .. } => Rule::FutureRead,
            K::RealTimeOrder { .. } => Rule::RealTimeOrder,
            K::UnknownVersion { .. } => Rule::UnknownVersion,
            K::ReadStateMismatch { .. } => Rule::ReadStateMismatch,
            K::AckStateMismatch { .. } => Rule::AckStateMismatch,
            K::FinalStateMismatch { .. } => Rule::FinalStateMismatch,
            K::StatusMismatch { .. } => Rule::StatusMismatch,
            K::WriteWhilePaused { .. } => Rule::WriteWhilePaused,
            K::InvalidTransition { .. } => Rule::InvalidTransition,
            K::SpuriousConflict { .. } => Rule::SpuriousConflict,
            K::SpuriousDuplicate { .. } => Rule::SpuriousDuplicate,
            K::ConflictForAppliedTurn { .. } => Rule::ConflictForAppliedTurn,
            K::MissingReceipt { .. } => Rule::MissingReceipt,
            K::LogMismatch { .. } => Rule::LogMismatch,
            K::ReplayedTurn { .. } => Rule::ReplayedTurn,
            K::RefusedTurnApplied { .. } => Rule::RefusedTurnApplied,
            K::PhantomTurn { .. } => Rule::PhantomTurn,
            K::LogGap { .. } => Rule::LogGap,
            K::BrokenLink { .. } => Rule::BrokenLink,
            K::LogRewritten { .. } => Rule::LogRewritten,
            K::StateDigestMismatch { .. } => Rule::StateDigestMismatch,
            K::ChainBroken { .. } => Rule::ChainBroken,
            K::HistoryGap { .. } => Rule::HistoryGap,
            K::LostMessage { .. } => Rule::LostMessage,
            K::AckSeqMismatch { .. } => Rule::AckSeqMismatch,
            K::DuplicateSeq { .. } => Rule::DuplicateSeq,
            K::MessageAppliedTwice { .. } => Rule::MessageAppliedTwice,
            K::PhantomMessage { .. } => Rule::PhantomMessage,
            K::RefusedMessageApplied { .. } => Rule::RefusedMessageApplied,
            K::SenderOrder { .. } => Rule::SenderOrder,
            K::MessageRealTimeOrder { .. } => Rule::MessageRealTimeOrder,
            K::HistoryRewritten { .. } => Rule::HistoryRewritten,
            K::StaleStateApplied { .. } => Rule::StaleStateApplied,
            K::SpuriousSeqConflict { .. } => Rule::SpuriousSeqConflict,
            K::HistoryUnreadable => Rule::HistoryUnreadable,
        }
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ViolationKind as K;
        match self {
            K::LostUpdate { expected_version } => write!(
                f,
                "two updates with expected_version {expected_version} were both acknowledged"
            ),
            K::DuplicateVersion { version } => {
                write!(
                    f,
                    "two turns were acknowledged with state_version {version}"
                )
            }
            K::VersionMismatch {
                expected_version,
                applied_version,
            } => write!(
                f,
                "update with expected_version {expected_version} took version {applied_version}"
            ),
            K::DoubleIncrement { from, to } => {
                write!(f, "one turn moved state_version from {from} to {to}")
            }
            K::StaleRead { observed, newer } => write!(
                f,
                "read returned version {observed} after version {newer} was installed"
            ),
            K::FutureRead { observed } => write!(
                f,
                "version {observed} was returned before the turn producing it was sent"
            ),
            K::RealTimeOrder { observed, other } => write!(
                f,
                "version {observed} contradicts version {other} in real-time order"
            ),
            K::UnknownVersion { observed, head } => write!(
                f,
                "version {observed} was reported but the complete log ends at {head}"
            ),
            K::ReadStateMismatch { version } => {
                write!(f, "read state is not the state of version {version}")
            }
            K::AckStateMismatch { version } => write!(
                f,
                "acknowledged state at version {version} is not the merge of the patches"
            ),
            K::FinalStateMismatch { version } => write!(
                f,
                "final state (version {version}) is not the patches applied in version order"
            ),
            K::StatusMismatch { version } => {
                write!(f, "status reported at version {version} is not the model's")
            }
            K::WriteWhilePaused { version } => {
                write!(f, "update applied at version {version} while paused")
            }
            K::InvalidTransition { version } => {
                write!(
                    f,
                    "pause/resume applied at version {version} from the wrong status"
                )
            }
            K::SpuriousConflict {
                expected_version,
                current_version,
            } => write!(
                f,
                "version_conflict (current_version {current_version}) although expected_version \
                 {expected_version} was current throughout"
            ),
            K::SpuriousDuplicate { turn_id } => {
                write!(
                    f,
                    "duplicate_turn for {turn_id}, which no earlier turn used"
                )
            }
            K::ConflictForAppliedTurn { turn_id } => write!(
                f,
                "version_conflict for {turn_id}, already applied: duplicate_turn comes first"
            ),
            K::MissingReceipt { version } => write!(
                f,
                "acknowledged turn at version {version} has no receipt in the log"
            ),
            K::LogMismatch { version, turn_id } => write!(
                f,
                "turn {turn_id} acknowledged at version {version}, the log says otherwise"
            ),
            K::ReplayedTurn { turn_id } => write!(f, "turn {turn_id} was applied twice"),
            K::RefusedTurnApplied { version } => {
                write!(
                    f,
                    "the receipt at version {version} records a refused request"
                )
            }
            K::PhantomTurn { version } => {
                write!(
                    f,
                    "the receipt at version {version} records a turn nobody sent"
                )
            }
            K::LogGap {
                after: Some(after),
                next,
            } => write!(f, "the log jumps from version {after} to {next}"),
            K::LogGap { after: None, next } => {
                write!(f, "the log page starts at version {next}, not at `from`")
            }
            K::BrokenLink { version, link } => {
                write!(f, "receipt {version}: {link} does not name its predecessor")
            }
            K::LogRewritten { version } => {
                write!(f, "the receipt at version {version} was served differently")
            }
            K::StateDigestMismatch { version } => write!(
                f,
                "receipt {version}: state_digest is not the digest of the model's state"
            ),
            K::ChainBroken { index, reason } => {
                write!(f, "verify_chain fails at receipt {index}: {reason}")
            }
            K::HistoryGap { expected, found } => {
                write!(
                    f,
                    "the history has seq {found} where seq {expected} belongs"
                )
            }
            K::LostMessage { msg_id, seq } => write!(
                f,
                "message {msg_id} was acknowledged with seq {seq} but is not in the history"
            ),
            K::AckSeqMismatch {
                msg_id,
                acknowledged,
                recorded,
            } => write!(
                f,
                "message {msg_id} was acknowledged with seq {acknowledged}, the history has it \
                 at seq {recorded}"
            ),
            K::DuplicateSeq { seq } => {
                write!(f, "two different messages were acknowledged with seq {seq}")
            }
            K::MessageAppliedTwice { msg_id, entries } => {
                write!(f, "message {msg_id} is in the history {entries} times")
            }
            K::PhantomMessage { seq } => {
                write!(f, "history entry seq {seq} records a message nobody sent")
            }
            K::RefusedMessageApplied { msg_id, seq } => write!(
                f,
                "message {msg_id} was refused every time it was sent, yet the history has it at \
                 seq {seq}"
            ),
            K::SenderOrder { first, second } => write!(
                f,
                "the sender sent {first} before {second}, the history has them the other way round"
            ),
            K::MessageRealTimeOrder { first, second } => write!(
                f,
                "{first} was acknowledged before {second} was sent, the history has {second} first"
            ),
            K::HistoryRewritten { seq } => {
                write!(f, "the history entry at seq {seq} was served differently")
            }
            K::StaleStateApplied {
                msg_id,
                expected_seq,
                seq,
            } => write!(
                f,
                "state {msg_id} expected seq {expected_seq} to be the last, the history has it \
                 at seq {seq}"
            ),
            K::SpuriousSeqConflict { msg_id, seq } => write!(
                f,
                "state {msg_id} was refused with version_conflict naming current seq {seq}, \
                 the seq it expected"
            ),
            K::HistoryUnreadable => {
                write!(
                    f,
                    "the final read of the session state did not return its history"
                )
            }
        }
    }
}

/// A violation with its evidence.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// What was breached.
    pub kind: ViolationKind,
    /// The operations that show it (the first is the one judged).
    pub ops: Vec<OpId>,
    /// The offending operations and every operation overlapping one of them, by invocation.
    pub sub_history: Vec<(OpId, Operation)>,
    /// The seed that reproduces the workload, when known.
    pub seed: Option<u64>,
}

impl Violation {
    /// Builds the violation, cutting the sub-history out of `history`.
    pub fn new(kind: ViolationKind, ops: Vec<OpId>, history: &History) -> Self {
        let sub_history = cut(history, &ops)
            .into_iter()
            .filter_map(|id| history.op(id).map(|o| (id, o.clone())))
            .collect();
        Self {
            kind,
            ops,
            sub_history,
            seed: history.seed,
        }
    }

    /// The rule breached.
    pub fn rule(&self) -> Rule {
        self.kind.rule()
    }
}

/// The offending operations plus those whose windows overlap one of them, ordered by
/// invocation. `O(n·k)` for `k` offending operations; used only to report.
pub fn cut(history: &History, offending: &[OpId]) -> Vec<OpId> {
    let windows: Vec<(Nanos, Nanos)> = offending
        .iter()
        .filter_map(|&id| history.op(id))
        .map(|o| (o.invoked, o.returned.max(o.invoked + 1)))
        .collect();
    let mut keep: Vec<OpId> = history
        .ops
        .iter()
        .enumerate()
        .filter(|(i, o)| {
            let end = o.returned.max(o.invoked + 1);
            offending.contains(&(*i as OpId))
                || windows.iter().any(|&(s, e)| o.invoked < e && s < end)
        })
        .map(|(i, _)| i as OpId)
        .collect();
    keep.sort_by_key(|&id| history.op(id).map_or(0, |o| o.invoked));
    keep
}

fn describe_ret(ret: &Ret) -> String {
    match ret {
        Ret::Turn(ok) => format!("ok version {}", ok.version),
        Ret::State(r) => format!("state version {} ({})", r.version, r.state.fingerprint),
        Ret::Log(p) => match (p.entries.first(), p.entries.last()) {
            (Some(a), Some(b)) => format!(
                "log {}..={}{}",
                a.version,
                b.version,
                if p.complete { " (head)" } else { "" }
            ),
            _ => "log (empty)".into(),
        },
        Ret::Conflict { current_version } => {
            format!("409 version_conflict current_version {current_version}")
        }
        Ret::DuplicateTurn => "409 duplicate_turn".into(),
        Ret::Refused { status, code } => format!("{status} {code}"),
        Ret::Ack { seq, duplicate } => {
            format!(
                "ack seq {seq}{}",
                if *duplicate { " (duplicate)" } else { "" }
            )
        }
        Ret::History(entries) => match entries.last() {
            Some(e) => format!("history 1..={}", e.seq),
            None => "history (empty)".into(),
        },
        Ret::Indeterminate { reason } => format!("indeterminate ({reason})"),
    }
}

/// One line per operation: id, client, window, request and outcome.
pub fn describe(id: OpId, o: &Operation) -> String {
    let req = match o.op.turn() {
        Some(t) => match t.expected_version {
            Some(e) => format!("{} {} expected {e}", o.op.name(), t.turn_id),
            None => format!("{} {}", o.op.name(), t.turn_id),
        },
        None => match &o.op {
            super::history::Op::Message { msg_id } => format!("message {msg_id}"),
            super::history::Op::State {
                msg_id,
                expected_seq,
            } => format!("state {msg_id} expected_seq {expected_seq}"),
            op => op.name().to_owned(),
        },
    };
    format!(
        "#{id} client {} [{}, {}] {req} -> {}",
        o.client,
        o.invoked,
        o.returned,
        describe_ret(&o.ret)
    )
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.rule(),
            self.rule().requirement(),
            self.kind
        )?;
        if let Some(seed) = self.seed {
            write!(f, " [seed {seed}]")?;
        }
        for (id, o) in &self.sub_history {
            let mark = if self.ops.contains(id) { '*' } else { ' ' };
            write!(f, "\n  {mark} {}", describe(*id, o))?;
        }
        Ok(())
    }
}
