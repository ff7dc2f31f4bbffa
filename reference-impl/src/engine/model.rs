//! The session head: everything about one session except its receipt log.
//!
//! The head is what a turn reads and replaces; it is stored as one JSON row beside the session's
//! receipts, cached in memory, and small (state plus at most `max_participants` participants),
//! so a restart never needs to read a log to answer a request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ccc::{self, Level, Scope};

/// The stored lifecycle status. `expired` is never stored: it is derived from `expires_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Accepts every turn.
    Active,
    /// Accepts only `resume`, `close`, `leave` and `handoff`.
    Paused,
    /// Read-only for good.
    Closed,
}

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Paused => "paused",
            Status::Closed => "closed",
        }
    }
}

/// One current participant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// The participant's did:key.
    pub did: String,
    /// Its scope, from its admission (or from `create` for the first convener).
    pub scope: Scope,
}

/// A session's current head.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionHead {
    /// `ses_…`.
    pub session_id: String,
    /// Stored status (see [`SessionHead::effective_status`] for expiry).
    pub status: Status,
    /// The version of the latest turn.
    pub state_version: u64,
    /// The current convener's DID.
    pub convener: String,
    /// Former conveners, oldest first (a handoff appends the outgoing one).
    #[serde(default)]
    pub former_conveners: Vec<String>,
    /// Current participants in admission order, convener included.
    pub participants: Vec<Participant>,
    /// RFC 3339 creation time.
    pub created_at: String,
    /// RFC 3339 expiry time.
    pub expires_at: String,
    /// Expiry in Unix seconds.
    pub expires_at_unix: i64,
    /// The session state (a JSON object).
    pub state: Value,
    /// The latest receipt's `turn_id`.
    pub last_turn_id: String,
    /// The latest receipt's `receipt_hash`.
    pub last_receipt_hash: String,
    /// Per revoked subject, the latest revocation's `issued_at` (Unix seconds): admissions
    /// issued at or before it are void.
    #[serde(default)]
    pub revocations: BTreeMap<String, i64>,
    /// The AMP binding's part of the session, when the session was created by `SESSION_INIT`
    /// (profile §12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amp: Option<super::amp::AmpHead>,
}

impl SessionHead {
    /// Whether the session has passed `expires_at` (closed sessions stay closed).
    pub fn is_expired(&self, now: i64) -> bool {
        self.status != Status::Closed && now >= self.expires_at_unix
    }

    /// The status as the wire shows it: `expired` once `expires_at` has passed.
    pub fn effective_status(&self, now: i64) -> &'static str {
        if self.is_expired(now) {
            "expired"
        } else {
            self.status.as_str()
        }
    }

    /// Whether the session counts against its convener's quota (active or paused, unexpired).
    pub fn is_open(&self, now: i64) -> bool {
        self.status != Status::Closed && !self.is_expired(now)
    }

    /// The participant entry for `did`, if it is a current participant.
    pub fn participant(&self, did: &str) -> Option<&Participant> {
        self.participants.iter().find(|p| p.did == did)
    }

    /// Whether `did` is a current participant.
    pub fn is_participant(&self, did: &str) -> bool {
        self.participant(did).is_some()
    }

    /// The session CCC: the highest `ccc` among current participants.
    pub fn ccc(&self) -> Level {
        ccc::session_ccc(self.participants.iter().map(|p| &p.scope))
    }

    /// The wire view of `GET /oap/session/{id}/state`.
    pub fn view(&self, now: i64) -> Value {
        let participants: Vec<Value> = self
            .participants
            .iter()
            .map(|p| {
                let role = if p.did == self.convener {
                    "convener"
                } else {
                    "participant"
                };
                json!({ "did": p.did, "role": role, "scope": p.scope })
            })
            .collect();
        json!({
            "session_id": self.session_id,
            "state_version": self.state_version,
            "status": self.effective_status(now),
            "convener": self.convener,
            "participants": participants,
            "ccc": self.ccc().as_str(),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "state": self.state,
        })
    }
}
