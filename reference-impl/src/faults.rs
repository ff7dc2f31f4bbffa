//! Test-only fault switches.
//!
//! The conformance suite proves that each of its checks can fail by running it against a
//! deliberately broken Tool. Every [`Fault`] here is such a break: compiled in, off by default,
//! and switched on only by a test or by `oap-ref serve --fault NAME`. Each fault is a named
//! branch at the exact place in the code where the correct behaviour lives, so switching it on
//! breaks one rule and nothing else. Never run a production Tool with a fault switched on.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

macro_rules! faults {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal : $desc:literal, )+) => {
        /// One test-only fault switch (see the module documentation).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Fault {
            $( $(#[$doc])* $variant, )+
        }

        impl Fault {
            /// Every fault switch, in declaration order.
            pub fn all() -> &'static [Fault] {
                &[ $( Fault::$variant, )+ ]
            }

            /// The switch's kebab-case name, as used by `--fault NAME` and the suite.
            pub fn name(self) -> &'static str {
                match self { $( Fault::$variant => $name, )+ }
            }

            /// One line saying which rule the switch breaks.
            pub fn description(self) -> &'static str {
                match self { $( Fault::$variant => $desc, )+ }
            }
        }
    };
}

faults! {
    /// Accept an update whatever its `expected_version`.
    SkipExpectedVersionCheck = "skip-expected-version-check":
        "accept turns whose expected_version differs from the current state_version",
    /// Apply turns without the per-session lock: read, pause, then write (lost updates under races).
    UnserialisedReadModifyWrite = "unserialised-read-modify-write":
        "apply turns without the per-session lock (read, yield, write): concurrent turns lose updates",
    /// Every turn increments `state_version` by two.
    DoubleVersionBump = "double-version-bump":
        "increment state_version by two on every turn",
    /// Apply a turn whose `turn_id` was already used in the session.
    ApplyReplayedTurnId = "apply-replayed-turn-id":
        "apply a turn whose turn_id was already used in the session",
    /// Receipts name a wrong `previous_turn_id`.
    WrongPreviousTurnId = "wrong-previous-turn-id":
        "receipts after genesis carry a wrong previous_turn_id",
    /// Receipts carry a wrong `prev_receipt_hash`.
    BrokenHashLink = "broken-hash-link":
        "receipts after genesis carry a prev_receipt_hash that is not the previous receipt's hash",
    /// Receipts carry no proof.
    UnsignedReceipts = "unsigned-receipts":
        "issue receipts without the Tool's proof",
    /// Accept credentials whatever their proof.
    SkipCredentialProofCheck = "skip-credential-proof-check":
        "accept convener credentials without verifying their proof",
    /// Accept a credential issued for another session.
    AcceptCredentialForOtherSession = "accept-credential-for-other-session":
        "accept a credential whose session_id names another session",
    /// Accept a credential issued for another subject.
    AcceptCredentialForOtherSubject = "accept-credential-for-other-subject":
        "accept an admission whose subject is another DID than the joining actor",
    /// Let any participant perform convener operations.
    ParticipantConvenerOps = "participant-convener-ops":
        "let any participant close, pause, resume, revoke, hand off and delete",
    /// A former convener keeps its authority after a handoff.
    OldConvenerKeepsAuthority = "old-convener-keeps-authority":
        "after a handoff, the former convener's requests and credentials keep convener authority",
    /// Ignore revocations when checking admissions.
    AdmitRevokedSubject = "admit-revoked-subject":
        "accept an admission issued before a revocation of its subject",
    /// Treat any signed actor as a participant.
    AcceptNonParticipant = "accept-non-participant":
        "treat every signed actor as a participant (session hijack)",
    /// Outsiders learn that a session exists.
    ExistenceOracle = "existence-oracle":
        "answer outsiders 403 for existing sessions where missing ones get 404",
    /// Accept a request nonce seen before.
    AcceptReusedNonce = "accept-reused-nonce":
        "accept a request whose (keyid, nonce) was already accepted within the window",
    /// Accept any `created` time.
    AcceptStaleCreated = "accept-stale-created":
        "accept request signatures whose created time is outside the window",
    /// Verify request signatures without the strict Ed25519 policy.
    AcceptNonCanonicalSignatures = "accept-non-canonical-signatures":
        "verify request signatures without the strict Ed25519 policy (small-order keys and R)",
    /// Skip the CCC rule on join.
    IgnoreCcc = "ignore-ccc":
        "admit participants whose scope does not satisfy the session CCC",
    /// Skip the per-convener session quota.
    IgnoreSessionQuota = "ignore-session-quota":
        "let a convener open more than max_sessions_per_convener sessions",
    /// Skip the participant limit.
    IgnoreMaxParticipants = "ignore-max-participants":
        "admit participants beyond max_participants",
    /// Let closed sessions be written.
    WriteClosedSessions = "write-closed-sessions":
        "accept writes to closed sessions",
    /// Ignore TTL expiry.
    WriteExpiredSessions = "write-expired-sessions":
        "ignore expires_at: expired sessions stay active and writable",
    /// Let paused sessions be written.
    WritePausedSessions = "write-paused-sessions":
        "accept update, invoke and join on paused sessions",
    /// Skip state schema validation.
    SkipStateSchema = "skip-state-schema":
        "accept states that do not validate against the state schema",
    /// Reply before the turn is durable: write behind, half a second later.
    AckBeforeDurable = "ack-before-durable":
        "acknowledge turns at once and hand their writes to the store 500 ms later (write-behind)",
    /// Answer deeply nested bodies with a 500.
    Parser500OnDeepNesting = "parser-500-on-deep-nesting":
        "answer bodies nested beyond the limit with 500, as a broken parser would",
    /// Answer out-of-range numbers with a 500.
    Parser500OnBigNumbers = "parser-500-on-big-numbers":
        "answer bodies with integers beyond 2^53 with 500, as a broken parser would",
    /// Omit the manifest's `sessions` block.
    ManifestMissingSessionsBlock = "manifest-missing-sessions-block":
        "serve a manifest without its sessions block",
    /// Omit one receipt from the log.
    LogGap = "log-gap":
        "omit the receipt for state_version 1 from GET log",
    /// Accept an admission nonce twice.
    ReuseAdmissionNonce = "reuse-admission-nonce":
        "accept a credential whose nonce was already used in the session",
    /// Skip the Content-Digest check.
    SkipContentDigestCheck = "skip-content-digest-check":
        "accept bodies that do not match their Content-Digest",
    /// Closing a closed session appends a receipt.
    CloseNotIdempotent = "close-not-idempotent":
        "closing a closed session appends another receipt and bumps the version",
    /// AMP: messages the status does not allow are applied.
    AmpIllegalTransitions = "amp-illegal-transitions":
        "AMP: apply messages the session's status does not allow (an invitee's SESSION_CLOSE closes the session; others are appended without a status change)",
    /// AMP: the history served has a gap.
    AmpHistoryGap = "amp-history-gap":
        "AMP: omit the history entry with seq 2 from the session state",
    /// AMP: a duplicate message id is applied again.
    AmpApplyDuplicates = "amp-apply-duplicates":
        "AMP: apply a message again when its (session_id, from, id) was already applied",
    /// AMP: outsiders are treated as participants.
    AmpAcceptOutsiders = "amp-accept-outsiders":
        "AMP: accept messages and state reads from signers who are not participants of the session",
    /// AMP: messages are applied without the per-session lock.
    AmpUnserialisedMessages = "amp-unserialised-messages":
        "AMP: apply messages without the per-session lock (read, yield, write): concurrent messages get the same seq and one overwrites the other's history entry",
    /// AMP: `SESSION_STATE` is applied whatever its `expected_seq`.
    AmpSkipExpectedSeqCheck = "amp-skip-expected-seq-check":
        "AMP: apply SESSION_STATE whatever its expected_seq (a participant's patch overwrites changes it never saw)",
    /// AMP: `expires_at` is one second late.
    AmpExpiryOffByOne = "amp-expiry-off-by-one":
        "AMP: set expires_at to created_at + ttl + 1 second",
    /// AMP: TTL expiry is ignored.
    AmpIgnoreExpiry = "amp-ignore-expiry":
        "AMP: ignore expires_at: expired sessions keep their status and accept messages",
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name given is not a fault switch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault switch {0:?} (see `oap-ref faults`)")]
pub struct UnknownFault(pub String);

impl FromStr for Fault {
    type Err = UnknownFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Fault::all()
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFault(s.to_owned()))
    }
}

/// A set of switched-on faults; empty (the correct Tool) by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultSet(BTreeSet<Fault>);

impl FaultSet {
    /// The empty set: a correct Tool.
    pub fn none() -> Self {
        Self::default()
    }

    /// A set holding exactly one fault.
    pub fn one(fault: Fault) -> Self {
        Self(BTreeSet::from([fault]))
    }

    /// Switches `fault` on.
    pub fn insert(&mut self, fault: Fault) {
        self.0.insert(fault);
    }

    /// Whether `fault` is switched on.
    pub fn has(&self, fault: Fault) -> bool {
        self.0.contains(&fault)
    }

    /// Whether no fault is switched on.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The switched-on faults, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = Fault> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Fault> for FaultSet {
    fn from_iter<I: IntoIterator<Item = Fault>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl FromStr for FaultSet {
    type Err = UnknownFault;

    /// Parses a comma-separated list of names (empty string: no fault).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(Fault::from_str)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = BTreeSet::new();
        for f in Fault::all() {
            assert!(seen.insert(f.name()), "duplicate {}", f.name());
            assert_eq!(f.name().parse::<Fault>(), Ok(*f));
            assert!(!f.description().is_empty());
        }
        assert!(Fault::all().len() >= 25);
    }

    #[test]
    fn unknown_names_are_rejected() {
        assert!("no-such-fault".parse::<Fault>().is_err());
        assert!("log-gap,nope".parse::<FaultSet>().is_err());
        let set: FaultSet = "log-gap, ignore-ccc".parse().unwrap_or_default();
        assert!(set.has(Fault::LogGap) && set.has(Fault::IgnoreCcc));
    }
}
