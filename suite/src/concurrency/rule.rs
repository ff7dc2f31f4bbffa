//! The rules of the concurrency checkers, each named by a stable slug and tied to the profile
//! requirement it tests (`docs/profile.md`), so that a report, a summary and a vector result
//! can all cite the same name.

use std::fmt;

macro_rules! rules {
    ($( $(#[$doc:meta])* $variant:ident = $slug:literal, $req:literal; )+) => {
        /// A rule of the concurrency checkers (see the module documentation).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule {
            $( $(#[$doc])* $variant, )+
        }

        impl Rule {
            /// Every rule, in declaration order.
            pub fn all() -> &'static [Rule] {
                &[ $( Rule::$variant, )+ ]
            }

            /// The rule's stable kebab-case name.
            pub fn slug(self) -> &'static str {
                match self { $( Rule::$variant => $slug, )+ }
            }

            /// The profile requirement the rule tests.
            pub fn requirement(self) -> &'static str {
                match self { $( Rule::$variant => $req, )+ }
            }
        }
    };
}

rules! {
    /// Two acknowledged updates carried the same `expected_version`.
    LostUpdate = "lost-update", "PRF-TURN-2";
    /// Two acknowledged turns were given the same `state_version`.
    DuplicateVersion = "duplicate-version", "PRF-TURN-2";
    /// An update was applied at a version other than `expected_version + 1`.
    VersionMismatch = "version-mismatch", "PRF-TURN-4";
    /// A turn moved `state_version` by more than one.
    DoubleIncrement = "double-increment", "PRF-TURN-2";
    /// A read returned a version already superseded before the read was sent.
    StaleRead = "stale-read", "PRF-TURN-2";
    /// A read returned a version whose turn was sent only after the read returned.
    FutureRead = "future-read", "PRF-TURN-2";
    /// Acknowledged turns or conflicts contradict real-time order.
    RealTimeOrder = "real-time-order", "PRF-TURN-2";
    /// A version was reported that no turn ever produced.
    UnknownVersion = "unknown-version", "PRF-TURN-2";
    /// A read returned a state that is not the state of the version it names.
    ReadStateMismatch = "read-state-mismatch", "PRF-LIFE-5";
    /// An update's answer carried a state other than the merge of the patches before it.
    AckStateMismatch = "ack-state-mismatch", "PRF-LIFE-6";
    /// The final state is not the acknowledged patches applied in version order.
    FinalStateMismatch = "final-state-mismatch", "PRF-LIFE-6";
    /// A reported status is not the one the turns before it produce.
    StatusMismatch = "status-mismatch", "PRF-LIFE-13";
    /// An update was applied while the session was paused.
    WriteWhilePaused = "write-while-paused", "PRF-LIFE-16";
    /// A pause or resume was applied in a status that does not allow it.
    InvalidTransition = "invalid-transition", "PRF-LIFE-17";
    /// A `version_conflict` answered a request whose `expected_version` was current throughout.
    SpuriousConflict = "spurious-conflict", "PRF-TURN-4";
    /// A `duplicate_turn` answered a turn id no earlier turn had used.
    SpuriousDuplicate = "spurious-duplicate", "PRF-TURN-3";
    /// A `version_conflict` answered a turn id already applied, which must be `duplicate_turn`.
    ConflictForAppliedTurn = "conflict-for-applied-turn", "PRF-ENV-10";
    /// An acknowledged turn has no receipt in a log that covers its version.
    MissingReceipt = "missing-receipt", "PRF-TURN-2";
    /// The log's receipt at a version names another turn than the one acknowledged there.
    LogMismatch = "log-mismatch", "PRF-RCPT-8";
    /// A turn id was applied twice.
    ReplayedTurn = "replayed-turn", "PRF-TURN-3";
    /// A refused request left a receipt.
    RefusedTurnApplied = "refused-turn-applied", "PRF-TURN-8";
    /// A receipt records a turn that no client sent.
    PhantomTurn = "phantom-turn", "PRF-RCPT-8";
    /// The log skips a version.
    LogGap = "log-gap", "PRF-RCPT-8";
    /// A receipt's `previous_turn_id` or `prev_receipt_hash` does not name its predecessor.
    BrokenLink = "broken-link", "PRF-RCPT-7";
    /// A receipt once served was later served differently.
    LogRewritten = "log-rewritten", "PRF-RCPT-8";
    /// A receipt's `state_digest` is not the digest of the model's state at its version.
    StateDigestMismatch = "state-digest-mismatch", "PRF-RCPT-3";
    /// The raw chain fails `verify_chain` (hashes, signatures, genesis rules).
    ChainBroken = "chain-broken", "PRF-RCPT-7";
    /// AMP: the final `history` does not run `seq` 1, 2, 3, … without a gap.
    HistoryGap = "history-gap", "PRF-AMP-25";
    /// AMP: an acknowledged message is missing from the final `history`.
    LostMessage = "lost-message", "PRF-AMP-25";
    /// AMP: a message's `SESSION_ACK` gave another `seq` than its `history` entry has.
    AckSeqMismatch = "ack-seq-mismatch", "PRF-AMP-19";
    /// AMP: two different messages were acknowledged with the same `seq`.
    DuplicateSeq = "duplicate-seq", "PRF-AMP-25";
    /// AMP: a (`from`, `id`) was applied more than once.
    MessageAppliedTwice = "message-applied-twice", "PRF-AMP-28";
    /// AMP: a `history` entry records a message nobody sent.
    PhantomMessage = "phantom-message", "PRF-AMP-25";
    /// AMP: a message refused every time it was sent is in the `history`.
    RefusedMessageApplied = "refused-message-applied", "PRF-AMP-14";
    /// AMP: a sender's messages are in the `history` in another order than it sent them.
    SenderOrder = "sender-order", "PRF-AMP-25";
    /// AMP: a message acknowledged before another was sent comes after it in the `history`.
    MessageRealTimeOrder = "message-real-time-order", "PRF-AMP-25";
    /// AMP: a `history` once served was later served differently.
    HistoryRewritten = "history-rewritten", "PRF-AMP-25";
    /// AMP: a `SESSION_STATE` is in the `history` at another `seq` than `expected_seq + 1`
    /// (applied on a history other than the one its sender expected: a lost update).
    StaleStateApplied = "stale-state-applied", "PRF-AMP-26";
    /// AMP: a `SESSION_STATE` was refused with `version_conflict` naming the very `current_seq`
    /// it expected.
    SpuriousSeqConflict = "spurious-seq-conflict", "PRF-AMP-26";
    /// AMP: the participants' final read of the session state failed.
    HistoryUnreadable = "history-unreadable", "PRF-AMP-24";
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}
