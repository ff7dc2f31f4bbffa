//! Recorded histories: what each client asked a session to do, when, and what came back.
//!
//! A history is the raw material of the checkers. It is a list of [`Operation`]s, each one an
//! [`Op`] (the request), a [`Ret`] (the outcome) and the two instants that bound it: when the
//! client invoked it and when the answer came back, in nanoseconds of one monotonic clock shared
//! by all clients. Each client issues one operation at a time, so its own operations never
//! overlap; operations of different clients may.
//!
//! An operation whose outcome is unknown (a timeout, a dropped connection, a 5xx after which the
//! Tool may or may not have applied the turn) is recorded as [`Ret::Indeterminate`] and never
//! guessed: the checkers treat it as possibly applied at any instant after its invocation, and
//! learn from the session's log whether it was.
//!
//! Observed states are kept as a [`Snapshot`]: a [`Fingerprint`] taken when the answer was
//! recorded, plus the JSON itself when the recorder chooses to keep it for reports. Long stress
//! runs keep only fingerprints, so a recorded history stays small.

use std::sync::Arc;

use serde_json::Value;

use super::fingerprint::Fingerprint;

/// Index of an operation in [`History::ops`].
pub type OpId = u32;
/// A client (one participant's sequential stream of operations).
pub type ClientId = u32;
/// Nanoseconds on the monotonic clock shared by every client of one recording.
pub type Nanos = u64;
/// A turn id (`trn_…`), shared cheaply between operations, receipts and indexes.
pub type TurnKey = Arc<str>;

/// A session's lifecycle status as far as the checkers model it (`docs/profile.md` §5.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Accepts every turn.
    Active,
    /// Refuses `update`, `invoke` and `join` until resumed.
    Paused,
    /// Terminal: refuses every write.
    Closed,
    /// Terminal: past `expires_at`.
    Expired,
}

impl Status {
    /// Reads the wire spelling (`"active"`, `"paused"`, `"closed"`, `"expired"`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "paused" => Some(Self::Paused),
            "closed" => Some(Self::Closed),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Closed => "closed",
            Self::Expired => "expired",
        }
    }
}

/// One request a client sent to a session.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    /// `POST /{id}/update` with `session.expected_version` and `session.turn_id`.
    Update {
        /// The version the client last observed.
        expected_version: u64,
        /// The turn's id, chosen by the client.
        turn_id: TurnKey,
        /// The RFC 7396 merge patch.
        patch: Arc<Value>,
    },
    /// An earlier update's turn id and patch sent again: a client's retry (with the original
    /// `expected_version`) or a deliberate replay (possibly with a fresher one). At most one of
    /// the sends of a turn id may apply.
    Replay {
        /// The expected version this send carried.
        expected_version: u64,
        /// The original request's turn id.
        turn_id: TurnKey,
        /// The original request's patch.
        patch: Arc<Value>,
    },
    /// `POST /{id}/join`, with a client-chosen turn id.
    Join {
        /// The turn's id.
        turn_id: TurnKey,
    },
    /// `POST /{id}/leave`, with a client-chosen turn id.
    Leave {
        /// The turn's id.
        turn_id: TurnKey,
    },
    /// `POST /{id}/pause`, with a client-chosen turn id.
    Pause {
        /// The turn's id.
        turn_id: TurnKey,
    },
    /// `POST /{id}/resume`, with a client-chosen turn id.
    Resume {
        /// The turn's id.
        turn_id: TurnKey,
    },
    /// `GET /{id}/state`.
    Read,
    /// `GET /{id}/log?from=…`.
    ReadLog {
        /// The first version asked for.
        from: u64,
    },
    /// AMP: `SESSION_MSG` with the sender's message `id`, sent by the client's participant
    /// (a resend carries an id the same client sent before).
    Message {
        /// The message `id`.
        msg_id: TurnKey,
    },
    /// AMP: `SESSION_STATE` with the sender's message `id`, `expected_seq` the last `seq` of
    /// the history the sender read just before, and a merge patch of the context.
    State {
        /// The message `id`.
        msg_id: TurnKey,
        /// The `seq` the sender expects the history to end with.
        expected_seq: u64,
    },
    /// AMP: `GET /amp/session/{id}/state`, read for its `history`.
    ReadHistory,
}

/// The kind of a turn, for the model's status rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnKind {
    /// An update (or a replayed one): merges a patch.
    Update,
    /// A join: state unchanged.
    Join,
    /// A leave: state unchanged.
    Leave,
    /// A pause: `active` → `paused`.
    Pause,
    /// A resume: `paused` → `active`.
    Resume,
}

/// The parts of an [`Op`] that make it a turn.
#[derive(Clone, Copy, Debug)]
pub struct TurnView<'a> {
    /// What the turn does.
    pub kind: TurnKind,
    /// The turn id.
    pub turn_id: &'a TurnKey,
    /// `expected_version`, when the request carried one.
    pub expected_version: Option<u64>,
    /// The merge patch of an update.
    pub patch: Option<&'a Value>,
}

impl Op {
    /// The turn this operation asks for, or `None` for reads.
    pub fn turn(&self) -> Option<TurnView<'_>> {
        let (kind, turn_id, expected_version, patch) = match self {
            Op::Update {
                expected_version,
                turn_id,
                patch,
            }
            | Op::Replay {
                expected_version,
                turn_id,
                patch,
            } => (
                TurnKind::Update,
                turn_id,
                Some(*expected_version),
                Some(&**patch),
            ),
            Op::Join { turn_id } => (TurnKind::Join, turn_id, None, None),
            Op::Leave { turn_id } => (TurnKind::Leave, turn_id, None, None),
            Op::Pause { turn_id } => (TurnKind::Pause, turn_id, None, None),
            Op::Resume { turn_id } => (TurnKind::Resume, turn_id, None, None),
            Op::Read
            | Op::ReadLog { .. }
            | Op::Message { .. }
            | Op::State { .. }
            | Op::ReadHistory => return None,
        };
        Some(TurnView {
            kind,
            turn_id,
            expected_version,
            patch,
        })
    }

    /// The message `id` of an AMP message (`SESSION_MSG` or `SESSION_STATE`).
    pub fn amp_message(&self) -> Option<&TurnKey> {
        match self {
            Op::Message { msg_id } | Op::State { msg_id, .. } => Some(msg_id),
            _ => None,
        }
    }

    /// Whether the operation asks for a change: a turn, or an AMP message.
    pub fn is_write(&self) -> bool {
        self.turn().is_some() || self.amp_message().is_some()
    }

    /// A short name for reports (`update`, `replay`, `read`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Op::Update { .. } => "update",
            Op::Replay { .. } => "replay",
            Op::Join { .. } => "join",
            Op::Leave { .. } => "leave",
            Op::Pause { .. } => "pause",
            Op::Resume { .. } => "resume",
            Op::Read => "read",
            Op::ReadLog { .. } => "read-log",
            Op::Message { .. } => "message",
            Op::State { .. } => "state",
            Op::ReadHistory => "read-history",
        }
    }
}

/// A session state as observed: its fingerprint, and the JSON when the recorder kept it.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    /// The state's [`Fingerprint`]: what the checkers compare.
    pub fingerprint: Fingerprint,
    /// The state itself, kept for reports (`None` in memory-bounded recordings).
    pub value: Option<Arc<Value>>,
}

impl Snapshot {
    /// Fingerprints `value` and keeps it.
    pub fn new(value: Value) -> Self {
        Self {
            fingerprint: Fingerprint::of(&value),
            value: Some(Arc::new(value)),
        }
    }

    /// Fingerprints `value` and drops it.
    pub fn fingerprint_only(value: &Value) -> Self {
        Self {
            fingerprint: Fingerprint::of(value),
            value: None,
        }
    }
}

/// The members of a session receipt that the checkers use (`docs/profile.md` §7). The hash and
/// signature themselves are verified on the raw receipts ([`History::chain`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// `state_version`: the version the turn produced.
    pub version: u64,
    /// `turn_id`.
    pub turn_id: TurnKey,
    /// `previous_turn_id`.
    pub previous_turn_id: TurnKey,
    /// `receipt_hash`.
    pub receipt_hash: Arc<str>,
    /// `prev_receipt_hash` (`None` for the genesis receipt).
    pub prev_receipt_hash: Option<Arc<str>>,
    /// `state_digest`, when recorded: compared with the model's state at `version`.
    pub state_digest: Option<Arc<str>>,
}

/// Why a receipt could not be read into a [`LogEntry`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("receipt member {0:?} missing or malformed")]
pub struct ReceiptShapeError(pub &'static str);

impl LogEntry {
    /// Reads the checked members out of a receipt as served by a Tool. Never panics.
    pub fn from_receipt(receipt: &Value) -> Result<Self, ReceiptShapeError> {
        let text = |name: &'static str| -> Result<Arc<str>, ReceiptShapeError> {
            receipt
                .get(name)
                .and_then(Value::as_str)
                .map(Arc::from)
                .ok_or(ReceiptShapeError(name))
        };
        let version = receipt
            .get("state_version")
            .and_then(Value::as_u64)
            .ok_or(ReceiptShapeError("state_version"))?;
        let prev_receipt_hash = match receipt.get("prev_receipt_hash") {
            Some(Value::Null) => None,
            Some(Value::String(s)) => Some(Arc::from(s.as_str())),
            _ => return Err(ReceiptShapeError("prev_receipt_hash")),
        };
        Ok(Self {
            version,
            turn_id: text("turn_id")?,
            previous_turn_id: text("previous_turn_id")?,
            receipt_hash: text("receipt_hash")?,
            prev_receipt_hash,
            state_digest: Some(text("state_digest")?),
        })
    }
}

/// One page of `GET /{id}/log`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogPage {
    /// The `from` the request asked for.
    pub from: u64,
    /// The receipts served, in the order served.
    pub entries: Vec<Arc<LogEntry>>,
    /// `next` was `null`: the page reaches the head of the log, so its last receipt is the
    /// current version.
    pub complete: bool,
}

/// A turn acknowledged with 200.
#[derive(Clone, Debug, PartialEq)]
pub struct TurnOk {
    /// `state_version` after the turn.
    pub version: u64,
    /// `status` after the turn, when read.
    pub status: Option<Status>,
    /// `state` after the turn (updates), when read.
    pub state: Option<Snapshot>,
    /// The turn's receipt, when read.
    pub receipt: Option<Arc<LogEntry>>,
}

/// A successful `GET /{id}/state`.
#[derive(Clone, Debug, PartialEq)]
pub struct StateRead {
    /// `state_version`.
    pub version: u64,
    /// `status`, when read.
    pub status: Option<Status>,
    /// `state`.
    pub state: Snapshot,
}

/// One entry of an AMP session's `history`, as far as the checkers use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// `seq`.
    pub seq: u64,
    /// `from`: the sender's DID.
    pub from: Arc<str>,
    /// `id`: the sender's message id.
    pub id: Arc<str>,
}

/// What came back for one [`Op`].
#[derive(Clone, Debug, PartialEq)]
pub enum Ret {
    /// A turn was acknowledged.
    Turn(TurnOk),
    /// A state read succeeded.
    State(StateRead),
    /// A log read succeeded.
    Log(LogPage),
    /// 409 `version_conflict` (AMP: `SESSION_ERROR` 4001 `version_conflict`).
    Conflict {
        /// The problem's `current_version` (AMP: the error's `current_seq`).
        current_version: u64,
    },
    /// 409 `duplicate_turn`.
    DuplicateTurn,
    /// Any other definite refusal (4xx): the Tool changed nothing.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The problem's `code`.
        code: String,
    },
    /// AMP: `SESSION_ACK`.
    Ack {
        /// The `seq` the message was given.
        seq: u64,
        /// The reply said `duplicate: true`.
        duplicate: bool,
    },
    /// AMP: a state read, its `history` in the order served.
    History(Arc<Vec<HistoryEntry>>),
    /// Timeout, dropped connection or 5xx: the turn may or may not have applied.
    Indeterminate {
        /// What happened, for reports.
        reason: String,
    },
}

impl Ret {
    /// The outcome is unknown.
    pub fn is_indeterminate(&self) -> bool {
        matches!(self, Ret::Indeterminate { .. })
    }

    /// The version this outcome says was current at some instant of the operation's window.
    pub fn observed_version(&self) -> Option<u64> {
        match self {
            Ret::Turn(ok) => Some(ok.version),
            Ret::State(read) => Some(read.version),
            Ret::Conflict { current_version } => Some(*current_version),
            Ret::Log(page) if page.complete => page.entries.last().map(|e| e.version),
            _ => None,
        }
    }
}

/// One operation: a request, its outcome and its window.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    /// The client that issued it.
    pub client: ClientId,
    /// The request.
    pub op: Op,
    /// The outcome.
    pub ret: Ret,
    /// When the client sent it.
    pub invoked: Nanos,
    /// When the outcome was recorded (for an indeterminate operation: when the client gave up;
    /// the turn may still apply later).
    pub returned: Nanos,
}

/// Where a recording starts: the session as it was before the first recorded operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Base {
    /// `state_version` at the start.
    pub version: u64,
    /// The state at the start.
    pub state: Value,
    /// The status at the start.
    pub status: Status,
}

impl Default for Base {
    fn default() -> Self {
        Self {
            version: 0,
            state: Value::Object(serde_json::Map::new()),
            status: Status::Active,
        }
    }
}

/// What an AMP recording knows before the race: who the clients are and the history the setup
/// messages made.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AmpBase {
    /// The DID of each client ([`ClientId`] indexes it).
    pub senders: Vec<Arc<str>>,
    /// The history entries of the setup (`SESSION_INIT` and the acceptances), `seq` 1 on.
    pub setup: Vec<HistoryEntry>,
}

/// A recorded history of one session.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The session id (`ses_…`), when known: anchors the genesis receipt.
    pub session_id: Option<String>,
    /// The seed that reproduces the workload.
    pub seed: Option<u64>,
    /// The session before the first operation.
    pub base: Base,
    /// Every operation, in any order.
    pub ops: Vec<Operation>,
    /// The state read taken after every client finished, if any: its state must equal the
    /// model's.
    pub final_read: Option<OpId>,
    /// The complete log read taken after every client finished, if any: it decides which
    /// indeterminate turns applied.
    pub final_log: Option<OpId>,
    /// The raw receipts of the final log, for [`oap_wire::receipt::verify_chain`] (hashes and
    /// signatures), when the recorder kept them.
    pub chain: Option<Vec<Value>>,
    /// The Tool's DID, when known: every receipt must be signed by it.
    pub tool_did: Option<String>,
    /// An AMP session's senders and setup: the history is one of `SESSION_MSG`s, checked
    /// against the AMP rules instead of the session model.
    pub amp: Option<AmpBase>,
}

impl History {
    /// A history of `ops` starting from `base`.
    pub fn new(base: Base, ops: Vec<Operation>) -> Self {
        Self {
            base,
            ops,
            ..Self::default()
        }
    }

    /// The operation `id`, if it exists.
    pub fn op(&self, id: OpId) -> Option<&Operation> {
        self.ops.get(id as usize)
    }
}
