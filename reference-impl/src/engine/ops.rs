//! The engine's operations, independent of any wire binding.
//!
//! Every write is a *turn*: an actor, a session, a `turn_id`, an optional `expected_version`,
//! and an [`Op`]. The OAP binding maps its endpoints onto these; the AMP binding maps its
//! messages onto the same ones, so both share one state machine, one ledger and one log.

use serde_json::Value;

use super::ccc::Scope;
use crate::store::RequestNonce;

/// Creating a session (the genesis turn).
#[derive(Clone, Debug)]
pub struct CreateRequest {
    /// The authenticated actor, who becomes the convener.
    pub actor: String,
    /// Lifetime in seconds (default 3600).
    pub ttl_seconds: Option<u64>,
    /// The convener's scope.
    pub scope: Scope,
    /// Initial state (default `{}`).
    pub state: Option<Value>,
    /// The genesis turn's id (generated when absent).
    pub turn_id: Option<String>,
    /// The authenticated request's nonce, committed with the turn.
    pub request_nonce: Option<RequestNonce>,
}

/// One turn on an existing session.
#[derive(Clone, Debug)]
pub struct TurnRequest {
    /// The authenticated actor.
    pub actor: String,
    /// `ses_…` (already checked for form by the binding).
    pub session_id: String,
    /// `trn_…`, never used before in the session.
    pub turn_id: String,
    /// When present, must equal the current `state_version`.
    pub expected_version: Option<u64>,
    /// What the turn does.
    pub op: Op,
    /// The authenticated request's nonce, committed with the turn.
    pub request_nonce: Option<RequestNonce>,
}

/// What a turn does.
#[derive(Clone, Debug)]
pub enum Op {
    /// The actor joins with a `SessionAdmission` naming it.
    Join {
        /// The admission credential.
        admission: Value,
    },
    /// The actor leaves, or (convener only) removes the subject of a `SessionRevocation`.
    Leave {
        /// The revocation credential, when removing someone else.
        revocation: Option<Value>,
    },
    /// RFC 7396 merge patch of the state.
    Update {
        /// The patch (an object).
        patch: Value,
    },
    /// `active` → `paused` (convener).
    Pause,
    /// `paused` → `active` (convener).
    Resume,
    /// Convener authority passes to the subject of a `SessionHandoff`.
    Handoff {
        /// The handoff credential.
        handoff: Value,
    },
    /// Close the session (convener); idempotent.
    Close,
    /// Invoke an action inside the session; the state is unchanged, the log grows.
    Invoke {
        /// The action's name.
        action: String,
        /// The action's input.
        input: Value,
    },
}

impl Op {
    /// The receipt `action` for this turn.
    pub fn action_name(&self) -> &'static str {
        match self {
            Op::Join { .. } => "join",
            Op::Leave { .. } => "leave",
            Op::Update { .. } => "update",
            Op::Pause => "pause",
            Op::Resume => "resume",
            Op::Handoff { .. } => "handoff",
            Op::Close => "close",
            Op::Invoke { .. } => "invoke",
        }
    }

    /// Whether only the convener may perform this turn.
    pub fn is_convener_op(&self) -> bool {
        matches!(
            self,
            Op::Pause
                | Op::Resume
                | Op::Close
                | Op::Handoff { .. }
                | Op::Leave {
                    revocation: Some(_)
                }
        )
    }
}

/// The result of a successful turn (or of an idempotent close).
#[derive(Clone, Debug)]
pub struct TurnOutcome {
    /// `ses_…`.
    pub session_id: String,
    /// The session's `state_version` after the turn.
    pub state_version: u64,
    /// The status after the turn (`active`, `paused`, `closed`, `expired`).
    pub status: &'static str,
    /// RFC 3339 expiry.
    pub expires_at: String,
    /// The state after the turn.
    pub state: Value,
    /// The turn's receipt (for an idempotent close, the receipt of the close).
    pub receipt: Value,
    /// An invoked action's output.
    pub output: Option<Value>,
}

/// One page of a session's log.
#[derive(Clone, Debug)]
pub struct LogPage {
    /// `ses_…`.
    pub session_id: String,
    /// The receipts as stored (serialised JSON), ascending by `state_version`.
    pub receipts: Vec<String>,
    /// The `from` of the next page, when there is one.
    pub next: Option<u64>,
}
