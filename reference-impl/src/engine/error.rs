//! The engine's refusals, each with the stable snake_case `code` of the wire profile.
//!
//! The engine knows nothing of HTTP: a binding maps [`EngineError::code`] (and for the OAP
//! binding [`EngineError::http_status`]) onto its own error format. Every variant is a decision
//! of `docs/profile.md`, and every refusal changes nothing.

use crate::store::StoreError;

/// Why the engine refused an operation.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The request is malformed in a way only the engine can see (e.g. a scope with
    /// `ccc` above `clearance`).
    #[error("malformed request: {0}")]
    Malformed(String),
    /// The action named in an invocation is not offered.
    #[error("unknown action {0:?}")]
    UnknownAction(String),
    /// No such session, or the actor is not a participant (indistinguishable on purpose).
    #[error("no such session")]
    NotFound,
    /// Only for the `existence-oracle` fault: the session exists but the actor is an outsider.
    #[error("not a participant of this session")]
    NotParticipant,
    /// A convener operation by someone who is not the convener.
    #[error("only the session's convener may do this")]
    NotConvener,
    /// An invitee-only AMP message (`SESSION_ACCEPT`, `SESSION_REJECT`) from a participant who
    /// is not an invitee.
    #[error("only an invitee may send this message")]
    NotInvitee,
    /// A convener credential that does not verify or does not apply.
    #[error("invalid credential: {0}")]
    InvalidCredential(String),
    /// The newcomer's scope cannot satisfy the session's CCC.
    #[error("scope does not satisfy the session CCC: {0}")]
    CccUnsatisfied(String),
    /// The session is closed.
    #[error("the session is closed")]
    SessionClosed,
    /// The session's `expires_at` has passed.
    #[error("the session has expired")]
    SessionExpired,
    /// The session is paused.
    #[error("the session is paused")]
    SessionPaused,
    /// An AMP session is suspended: `SESSION_MSG` and `SESSION_STATE` are refused.
    #[error("the session is suspended")]
    SessionSuspended,
    /// `pause` on a paused session or `resume` on an active one.
    #[error("invalid lifecycle transition: {0}")]
    InvalidTransition(String),
    /// The convener tried to leave.
    #[error("the convener must hand off before leaving")]
    ConvenerMustHandoff,
    /// The joining actor is already a participant.
    #[error("already a participant")]
    AlreadyParticipant,
    /// `max_participants` reached.
    #[error("the session has reached max_participants ({0})")]
    ParticipantLimit(u32),
    /// `max_sessions_per_convener` reached.
    #[error("the convener already has {0} open sessions")]
    SessionQuotaExceeded(u32),
    /// `ttl_seconds` beyond `max_duration_hours`.
    #[error("ttl_seconds exceeds the limit of {0} seconds")]
    TtlExceedsLimit(u64),
    /// `expected_version` is not the current `state_version`.
    #[error("expected_version {expected} but the session is at {current}")]
    VersionConflict {
        /// What the client expected.
        expected: u64,
        /// The session's current `state_version`.
        current: u64,
    },
    /// An AMP `SESSION_STATE` whose `expected_seq` is not the last history `seq`.
    #[error("expected_seq {expected} but the last history seq is {current}")]
    SeqConflict {
        /// What the sender expected.
        expected: u64,
        /// The last history `seq`.
        current: u64,
    },
    /// The `turn_id` was already used in this session.
    #[error("turn_id {0} was already used in this session")]
    DuplicateTurn(String),
    /// The state after the turn does not validate against the state schema.
    #[error("state does not validate against the state schema: {0}")]
    StateSchemaViolation(String),
    /// The durable store failed; nothing was acknowledged.
    #[error("storage failure: {0}")]
    Storage(#[from] StoreError),
    /// An internal invariant failed (a bug); nothing was acknowledged.
    #[error("internal error: {0}")]
    Internal(String),
}

impl EngineError {
    /// The profile's stable problem `code`.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Malformed(_) => "malformed_envelope",
            EngineError::UnknownAction(_) => "unknown_action",
            EngineError::NotFound => "session_not_found",
            EngineError::NotParticipant => "not_participant",
            EngineError::NotConvener => "not_convener",
            EngineError::NotInvitee => "not_invitee",
            EngineError::InvalidCredential(_) => "invalid_credential",
            EngineError::CccUnsatisfied(_) => "ccc_unsatisfied",
            EngineError::SessionClosed => "session_closed",
            EngineError::SessionExpired => "session_expired",
            EngineError::SessionPaused => "session_paused",
            EngineError::SessionSuspended => "session_suspended",
            EngineError::InvalidTransition(_) => "invalid_transition",
            EngineError::ConvenerMustHandoff => "convener_must_handoff",
            EngineError::AlreadyParticipant => "already_participant",
            EngineError::ParticipantLimit(_) => "participant_limit",
            EngineError::SessionQuotaExceeded(_) => "session_quota_exceeded",
            EngineError::TtlExceedsLimit(_) => "ttl_exceeds_limit",
            EngineError::VersionConflict { .. } | EngineError::SeqConflict { .. } => {
                "version_conflict"
            }
            EngineError::DuplicateTurn(_) => "duplicate_turn",
            EngineError::StateSchemaViolation(_) => "state_schema_violation",
            EngineError::Storage(_) => "storage_unavailable",
            EngineError::Internal(_) => "internal_error",
        }
    }

    /// The HTTP status the OAP binding answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            EngineError::Malformed(_)
            | EngineError::UnknownAction(_)
            | EngineError::TtlExceedsLimit(_) => 400,
            EngineError::NotFound => 404,
            EngineError::NotParticipant
            | EngineError::NotConvener
            | EngineError::NotInvitee
            | EngineError::InvalidCredential(_)
            | EngineError::CccUnsatisfied(_) => 403,
            EngineError::SessionClosed
            | EngineError::SessionExpired
            | EngineError::SessionPaused
            | EngineError::SessionSuspended
            | EngineError::InvalidTransition(_)
            | EngineError::ConvenerMustHandoff
            | EngineError::AlreadyParticipant
            | EngineError::ParticipantLimit(_)
            | EngineError::VersionConflict { .. }
            | EngineError::SeqConflict { .. }
            | EngineError::DuplicateTurn(_) => 409,
            EngineError::SessionQuotaExceeded(_) => 429,
            EngineError::StateSchemaViolation(_) => 422,
            EngineError::Storage(_) => 503,
            EngineError::Internal(_) => 500,
        }
    }

    /// Whether the failure is the Tool's, not the client's.
    pub fn is_server_error(&self) -> bool {
        self.http_status() >= 500
    }
}
