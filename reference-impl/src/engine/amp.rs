//! The AMP binding's half of the engine (profile §12): RFC 004 sessions on the same heads, locks,
//! receipts and store as the OAP binding.
//!
//! An AMP session is an engine session whose convener is the initiator and whose state is the
//! RFC 004 `context`. Every applied message is one engine turn: `SESSION_INIT` is the genesis
//! turn (version 0), and history entry `seq` n is the turn of `state_version` n − 1, written in
//! the same durable commit as the turn's receipt. The AMP lifecycle (`init`, `active`,
//! `suspended`, `closing`, `closed`) is kept in [`AmpHead`] and mirrored onto the engine status
//! (`init` and `closing` count as `active`, `suspended` as `paused`), so quotas and expiry are
//! shared with the OAP binding.
//!
//! Checks run in the order of PRF-AMP-22, from session lookup on (the binding has already
//! checked size, media type, signature, shape and `from`): membership (404), duplicate message
//! id (§12.7), role (403), status (409), `SESSION_INIT` acceptance (PRF-AMP-16), `expected_seq`
//! (409), context validity (422).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::faults::Fault;
use crate::store::{AppliedMessage, HistoryRow, RequestNonce, Write};

use super::turn::{receipt_row, session_row};

use super::ccc::{Level, Scope};
use super::receipts::{self, Facts, Link};
use super::{Engine, EngineError, Participant, SessionHead, Slot, Status, lock};

/// An AMP session's lifecycle status (profile §12.3), as stored; expiry is derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AmpStatus {
    /// Waiting for every invitee's `SESSION_ACCEPT`.
    Init,
    /// Carries `SESSION_MSG` and `SESSION_STATE`.
    Active,
    /// Stopped by the initiator until `SESSION_RESUME`.
    Suspended,
    /// Closed by the initiator; waiting for every invitee's `SESSION_CLOSE`.
    Closing,
    /// Terminal.
    Closed,
}

impl AmpStatus {
    /// The wire name (lower case).
    pub fn as_str(self) -> &'static str {
        match self {
            AmpStatus::Init => "init",
            AmpStatus::Active => "active",
            AmpStatus::Suspended => "suspended",
            AmpStatus::Closing => "closing",
            AmpStatus::Closed => "closed",
        }
    }

    /// The engine status this AMP status runs under (profile §12.8).
    pub fn engine_status(self) -> Status {
        match self {
            AmpStatus::Init | AmpStatus::Active | AmpStatus::Closing => Status::Active,
            AmpStatus::Suspended => Status::Paused,
            AmpStatus::Closed => Status::Closed,
        }
    }
}

/// The AMP part of a session head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmpHead {
    /// The stored lifecycle status.
    pub status: AmpStatus,
    /// The invitees, in `SESSION_INIT` order (the initiator is the head's convener).
    pub invitees: Vec<String>,
    /// Invitees that sent `SESSION_ACCEPT`, in order.
    pub accepted: Vec<String>,
    /// Invitees that confirmed the close (`SESSION_CLOSE` in `closing`), in order.
    pub confirmed: Vec<String>,
}

/// The scope every AMP participant holds in the engine: RFC 004 has no confidentiality
/// context, so an AMP participant imposes nothing and may hold nothing above public.
const AMP_SCOPE: Scope = Scope {
    ccc: Level::Public,
    clearance: Level::Public,
};

/// A parsed AMP message from an agent, by type (profile §12.2). Members that do not affect the
/// engine (`reason`, `body`) live only in the history entry.
#[derive(Clone, Debug, PartialEq)]
pub enum AmpMessage {
    /// Creates the session.
    Init {
        /// `purpose`.
        purpose: String,
        /// `ttl`, seconds.
        ttl: u64,
        /// `capabilities_required`.
        capabilities_required: Vec<String>,
        /// `participants`: the invitees.
        participants: Vec<String>,
    },
    /// An invitee accepts.
    Accept,
    /// An invitee declines.
    Reject,
    /// A message within the session.
    Msg,
    /// A merge patch of `context`.
    State {
        /// The RFC 7396 patch (an object, already shape-checked).
        patch: Value,
        /// Must be the last history `seq`.
        expected_seq: u64,
    },
    /// `active` → `suspended`.
    Suspend,
    /// `suspended` → `active`.
    Resume,
    /// Starts or confirms a close.
    Close,
}

impl AmpMessage {
    /// The message `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            AmpMessage::Init { .. } => "SESSION_INIT",
            AmpMessage::Accept => "SESSION_ACCEPT",
            AmpMessage::Reject => "SESSION_REJECT",
            AmpMessage::Msg => "SESSION_MSG",
            AmpMessage::State { .. } => "SESSION_STATE",
            AmpMessage::Suspend => "SESSION_SUSPEND",
            AmpMessage::Resume => "SESSION_RESUME",
            AmpMessage::Close => "SESSION_CLOSE",
        }
    }

    /// The receipt `action` of the turn the message makes.
    fn action(&self) -> &'static str {
        match self {
            AmpMessage::Init { .. } => "create",
            AmpMessage::Accept => "join",
            AmpMessage::Reject | AmpMessage::Close => "close",
            AmpMessage::Msg => "invoke",
            AmpMessage::State { .. } => "update",
            AmpMessage::Suspend => "pause",
            AmpMessage::Resume => "resume",
        }
    }
}

/// One AMP message for the engine.
#[derive(Clone, Debug)]
pub struct AmpRequest {
    /// The authenticated actor (the binding has checked that `from` names it).
    pub actor: String,
    /// `ses_…`.
    pub session_id: String,
    /// The sender's message `id`.
    pub msg_id: String,
    /// What the message asks.
    pub message: AmpMessage,
    /// The history entry: the message as received without `session_id` and `amp_version`
    /// (the engine adds `seq`).
    pub entry: Map<String, Value>,
    /// The authenticated request's nonce, committed with the turn.
    pub request_nonce: Option<RequestNonce>,
}

/// The engine's answer to an AMP message (refusals are [`EngineError`]s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AmpOutcome {
    /// `SESSION_INIT` accepted: the session exists (reply `SESSION_ACCEPT`).
    Accepted {
        /// The session's `expires_at`.
        expires_at: String,
        /// The session's status now.
        status: &'static str,
        /// Whether this answers a duplicate of the applied `SESSION_INIT`.
        duplicate: bool,
    },
    /// `SESSION_INIT` rejected; nothing was created (reply `SESSION_REJECT`).
    Rejected(&'static str),
    /// Any other message applied (reply `SESSION_ACK`).
    Ack {
        /// The `seq` the message was given.
        seq: u64,
        /// The session's status now.
        status: &'static str,
        /// Whether this answers a duplicate of an applied message.
        duplicate: bool,
    },
}

/// The `seq` of a session's last history entry.
fn last_seq(head: &SessionHead) -> u64 {
    head.state_version.saturating_add(1)
}

/// Why a `SESSION_INIT` is rejected, in the order of PRF-AMP-16 after `session_id_in_use`
/// (`open` is how many sessions the initiator already has open, `None` when not counted).
fn init_rejection(
    engine: &Engine,
    ttl: u64,
    invitees: usize,
    open: Option<u64>,
    capabilities: &[String],
) -> Option<&'static str> {
    let limits = engine.limits();
    if ttl > limits.max_ttl_seconds() {
        return Some("ttl_exceeds_limit");
    }
    if invitees.saturating_add(1) > limits.max_participants as usize
        && !engine.fault(Fault::IgnoreMaxParticipants)
    {
        return Some("participant_limit");
    }
    if open.is_some_and(|n| n >= u64::from(limits.max_sessions_per_convener)) {
        return Some("session_quota_exceeded");
    }
    if capabilities
        .iter()
        .any(|c| !super::ACTIONS.contains(&c.as_str()))
    {
        return Some("capabilities_unsupported");
    }
    None
}

impl Engine {
    /// Whether the session has expired (never, with the `amp-ignore-expiry` fault).
    fn amp_expired(&self, head: &SessionHead, now: i64) -> bool {
        head.is_expired(now) && !self.fault(Fault::AmpIgnoreExpiry)
    }

    /// The AMP status a participant sees: `closed` once `expires_at` has passed (PRF-AMP-15).
    fn amp_status(&self, head: &SessionHead, amp: &AmpHead, now: i64) -> &'static str {
        if self.amp_expired(head, now) {
            AmpStatus::Closed.as_str()
        } else {
            amp.status.as_str()
        }
    }

    /// The membership rule (PRF-AMP-23), which the `amp-accept-outsiders` fault drops.
    fn amp_member(&self, head: &SessionHead, actor: &str) -> Result<(), EngineError> {
        if self.fault(Fault::AmpAcceptOutsiders) {
            return Ok(());
        }
        self.check_member(head, actor)
    }

    /// Applies (or refuses) one AMP message.
    pub async fn amp_message(&self, req: AmpRequest) -> Result<AmpOutcome, EngineError> {
        self.detached(move |engine| async move {
            if matches!(req.message, AmpMessage::Init { .. }) {
                engine.amp_init(req).await
            } else {
                engine.amp_turn(req).await
            }
        })
        .await
    }

    /// `GET /amp/session/{id}/state`: the RFC 004 §3.1 state, for a participant.
    pub async fn amp_state(&self, actor: &str, session_id: &str) -> Result<Value, EngineError> {
        let slot = self.slot(session_id).await?;
        let head = slot.current().ok_or(EngineError::NotFound)?;
        let amp = head.amp.as_ref().ok_or(EngineError::NotFound)?;
        self.amp_member(&head, actor)?;
        let id = session_id.to_owned();
        let through = last_seq(&head);
        let rows = self.blocking(move |s| s.amp_history(&id, through)).await?;
        let mut history = rows
            .iter()
            .map(|r| serde_json::from_str::<Value>(r))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| EngineError::Internal(format!("stored history entry: {e}")))?;
        if self.fault(Fault::AmpHistoryGap) {
            history.retain(|e| e.get("seq") != Some(&json!(2)));
        }
        let participants: Vec<&str> = head.participants.iter().map(|p| p.did.as_str()).collect();
        Ok(json!({
            "session_id": head.session_id,
            "created_at": head.created_at,
            "expires_at": head.expires_at,
            "status": self.amp_status(&head, amp, self.now()),
            "participants": participants,
            "context": head.state,
            "history": history,
        }))
    }

    /// The lock serialising creations keyed by `key` (a convener's DID or a session id).
    pub(super) fn create_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut creators = lock(&self.inner.creators);
        if creators.len() >= super::turn::CREATORS_SOFT_LIMIT {
            creators.retain(|_, c| Arc::strong_count(c) > 1);
        }
        creators.entry(key.to_owned()).or_default().clone()
    }

    /// The earlier application of the sender's message `id`, if any (PRF-AMP-28).
    async fn applied(&self, req: &AmpRequest) -> Result<Option<AppliedMessage>, EngineError> {
        let (id, from, msg) = (
            req.session_id.clone(),
            req.actor.clone(),
            req.msg_id.clone(),
        );
        self.blocking(move |s| s.amp_message(&id, &from, &msg))
            .await
    }

    /// The answer to a duplicate: like the original's, with the current status.
    fn duplicate(
        &self,
        head: &SessionHead,
        amp: &AmpHead,
        original: &AppliedMessage,
        now: i64,
    ) -> AmpOutcome {
        let status = self.amp_status(head, amp, now);
        if original.kind == "SESSION_INIT" {
            AmpOutcome::Accepted {
                expires_at: head.expires_at.clone(),
                status,
                duplicate: true,
            }
        } else {
            AmpOutcome::Ack {
                seq: original.seq,
                status,
                duplicate: true,
            }
        }
    }

    /// `SESSION_INIT`: creates the session under the id the initiator chose, or rejects it.
    async fn amp_init(&self, req: AmpRequest) -> Result<AmpOutcome, EngineError> {
        let AmpMessage::Init {
            purpose,
            ttl,
            capabilities_required,
            participants: invitees,
        } = &req.message
        else {
            return Err(EngineError::Internal(
                "amp_init without SESSION_INIT".into(),
            ));
        };
        // One creation per initiator at a time (the quota), and one per session id.
        let initiator_lock = self.create_lock(&req.actor);
        let _initiator = initiator_lock.lock().await;
        let id_lock = self.create_lock(&req.session_id);
        let _id = id_lock.lock().await;
        if lock(&self.inner.deleted).contains(&req.session_id) {
            return Ok(AmpOutcome::Rejected("session_id_in_use"));
        }
        match self.slot(&req.session_id).await {
            Ok(slot) => {
                let _turn = slot.turn.lock().await;
                let Some(head) = slot.current() else {
                    return Ok(AmpOutcome::Rejected("session_id_in_use"));
                };
                if let Some(amp) = &head.amp
                    && head.is_participant(&req.actor)
                    && let Some(original) = self.applied(&req).await?
                {
                    return Ok(self.duplicate(&head, amp, &original, self.now()));
                }
                return Ok(AmpOutcome::Rejected("session_id_in_use"));
            }
            Err(EngineError::NotFound) => {}
            Err(e) => return Err(e),
        }
        let now = self.now();
        let open = if self.fault(crate::faults::Fault::IgnoreSessionQuota) {
            None
        } else {
            let actor = req.actor.clone();
            Some(self.blocking(move |s| s.open_sessions(&actor, now)).await?)
        };
        if let Some(reason) =
            init_rejection(self, *ttl, invitees.len(), open, capabilities_required)
        {
            return Ok(AmpOutcome::Rejected(reason));
        }
        let context = json!({
            "purpose": purpose,
            "current_step": 0,
            "total_steps": null,
            "shared_data": {},
        });
        let status = if invitees.is_empty() {
            AmpStatus::Active
        } else {
            AmpStatus::Init
        };
        let late = i64::from(self.fault(Fault::AmpExpiryOffByOne));
        let expires_at_unix = now
            .saturating_add(i64::try_from(*ttl).unwrap_or(i64::MAX))
            .saturating_add(late);
        let issued_at = oap_wire::time::format_unix(now);
        let turn_id = oap_wire::ids::TurnId::new().to_string();
        let facts = Facts {
            session_id: &req.session_id,
            turn_id: &turn_id,
            state_version: 0,
            actor: &req.actor,
            action: req.message.action(),
            state: &context,
            issued_at: &issued_at,
        };
        let issued = receipts::issue(facts, None, &self.inner.key, self.faults())?;
        let participants = std::iter::once(&req.actor)
            .chain(invitees)
            .map(|did| Participant {
                did: did.clone(),
                scope: AMP_SCOPE,
            })
            .collect();
        let head = SessionHead {
            session_id: req.session_id.clone(),
            status: status.engine_status(),
            state_version: 0,
            convener: req.actor.clone(),
            former_conveners: Vec::new(),
            participants,
            created_at: issued_at.clone(),
            expires_at: oap_wire::time::format_unix(expires_at_unix),
            expires_at_unix,
            state: context,
            last_turn_id: turn_id,
            last_receipt_hash: issued.hash,
            revocations: Default::default(),
            amp: Some(AmpHead {
                status,
                invitees: invitees.clone(),
                accepted: Vec::new(),
                confirmed: Vec::new(),
            }),
        };
        let slot = Arc::new(Slot::new(head.clone()));
        let _turn = slot.turn.lock().await;
        lock(&self.inner.slots).insert(req.session_id.clone(), slot.clone());
        let outcome = self
            .amp_commit(&slot, head, issued.receipt, &req, now)
            .await;
        if outcome.is_err() {
            lock(&self.inner.slots).remove(&req.session_id);
        }
        outcome
    }

    /// Every message but `SESSION_INIT`: one turn of an existing AMP session.
    async fn amp_turn(&self, req: AmpRequest) -> Result<AmpOutcome, EngineError> {
        let slot = self.slot(&req.session_id).await?;
        let unserialised = self.fault(Fault::AmpUnserialisedMessages);
        let _turn = if unserialised {
            None
        } else {
            Some(slot.turn.lock().await)
        };
        let head = slot.current().ok_or(EngineError::NotFound)?;
        if unserialised {
            // The broken Tool reads, does something slow, then writes what it read.
            tokio::time::sleep(super::turn::RACE_WINDOW).await;
        }
        // 404: an OAP session is no AMP session; outsiders see no difference.
        let amp = head.amp.clone().ok_or(EngineError::NotFound)?;
        self.amp_member(&head, &req.actor)?;
        let now = self.now();
        // Duplicates are answered like the original, whatever the status now.
        if !self.fault(Fault::AmpApplyDuplicates)
            && let Some(original) = self.applied(&req).await?
        {
            return Ok(self.duplicate(&head, &amp, &original, now));
        }
        let next_amp = self.amp_transition(&head, &amp, &req, now)?;
        let mut next = head.as_ref().clone();
        if let AmpMessage::State {
            patch,
            expected_seq,
        } = &req.message
        {
            if *expected_seq != last_seq(&head) && !self.fault(Fault::AmpSkipExpectedSeqCheck) {
                return Err(EngineError::SeqConflict {
                    expected: *expected_seq,
                    current: last_seq(&head),
                });
            }
            next.state = patched_context(&head.state, patch)?;
            self.inner.schema.check(&next.state)?;
        }
        next.status = next_amp.status.engine_status();
        next.amp = Some(next_amp);
        next.state_version = head.state_version.saturating_add(1);
        let issued_at = oap_wire::time::format_unix(now);
        let turn_id = oap_wire::ids::TurnId::new().to_string();
        let facts = Facts {
            session_id: &head.session_id,
            turn_id: &turn_id,
            state_version: next.state_version,
            actor: &req.actor,
            action: req.message.action(),
            state: &next.state,
            issued_at: &issued_at,
        };
        let link = Link {
            previous_turn_id: &head.last_turn_id,
            prev_receipt_hash: &head.last_receipt_hash,
        };
        let issued = receipts::issue(facts, Some(link), &self.inner.key, self.faults())?;
        next.last_turn_id = turn_id;
        next.last_receipt_hash = issued.hash;
        self.amp_commit(&slot, next, issued.receipt, &req, now)
            .await
    }

    /// Role (403) and status (409) checks of profile §12.3; the AMP part of the head after the
    /// message.
    fn amp_transition(
        &self,
        head: &SessionHead,
        amp: &AmpHead,
        req: &AmpRequest,
        now: i64,
    ) -> Result<AmpHead, EngineError> {
        let actor = req.actor.as_str();
        let is_initiator = actor == head.convener;
        let is_invitee = amp.invitees.iter().any(|d| d == actor);
        // 403: role.
        match req.message {
            AmpMessage::Suspend | AmpMessage::Resume => self.check_convener(head, actor)?,
            AmpMessage::Accept | AmpMessage::Reject if !is_invitee => {
                return Err(EngineError::NotInvitee);
            }
            _ => {}
        }
        // 409: status.
        if amp.status == AmpStatus::Closed {
            return Err(EngineError::SessionClosed);
        }
        if self.amp_expired(head, now) {
            return Err(EngineError::SessionExpired);
        }
        let illegal = || {
            Err(EngineError::InvalidTransition(format!(
                "{} from {} while {}",
                req.message.kind(),
                if is_initiator {
                    "the initiator"
                } else {
                    "an invitee"
                },
                amp.status.as_str()
            )))
        };
        let mut next = amp.clone();
        let has = |list: &[String]| list.iter().any(|d| d == actor);
        match (&req.message, amp.status) {
            (AmpMessage::Accept, AmpStatus::Init) if !has(&amp.accepted) => {
                next.accepted.push(actor.to_owned());
                if next.accepted.len() == next.invitees.len() {
                    next.status = AmpStatus::Active;
                }
            }
            (AmpMessage::Reject, AmpStatus::Init) if !has(&amp.accepted) => {
                next.status = AmpStatus::Closed;
            }
            (AmpMessage::Msg | AmpMessage::State { .. }, AmpStatus::Active) => {}
            (AmpMessage::Msg | AmpMessage::State { .. }, AmpStatus::Suspended) => {
                return Err(EngineError::SessionSuspended);
            }
            (AmpMessage::Suspend, AmpStatus::Active) => next.status = AmpStatus::Suspended,
            (AmpMessage::Resume, AmpStatus::Suspended) => next.status = AmpStatus::Active,
            (AmpMessage::Close, AmpStatus::Init | AmpStatus::Suspended) if is_initiator => {
                next.status = AmpStatus::Closed;
            }
            (AmpMessage::Close, AmpStatus::Active) if is_initiator => {
                next.status = if amp.invitees.is_empty() {
                    AmpStatus::Closed
                } else {
                    AmpStatus::Closing
                };
            }
            (AmpMessage::Close, AmpStatus::Closing) if is_invitee && !has(&amp.confirmed) => {
                next.confirmed.push(actor.to_owned());
                if next.confirmed.len() == next.invitees.len() {
                    next.status = AmpStatus::Closed;
                }
            }
            // The broken Tool applies what it should refuse.
            (AmpMessage::Close, _) if self.fault(Fault::AmpIllegalTransitions) => {
                next.status = AmpStatus::Closed;
            }
            _ if self.fault(Fault::AmpIllegalTransitions) => {}
            _ => return illegal(),
        }
        Ok(next)
    }

    /// Writes an AMP turn with its history entry, waits until it is durable, then installs the
    /// new head.
    async fn amp_commit(
        &self,
        slot: &Slot,
        head: SessionHead,
        receipt: Value,
        req: &AmpRequest,
        now: i64,
    ) -> Result<AmpOutcome, EngineError> {
        let seq = last_seq(&head);
        let mut entry = Map::new();
        entry.insert("seq".into(), json!(seq));
        entry.extend(req.entry.clone());
        let write = Write::Turn {
            session: session_row(&head)?,
            receipt: Some(receipt_row(&head, &receipt)),
            credential_nonce: None,
            request_nonce: req.request_nonce,
            history: Some(Box::new(HistoryRow {
                seq,
                sender: req.actor.clone(),
                msg_id: req.msg_id.clone(),
                kind: req.message.kind().to_owned(),
                entry: Value::Object(entry).to_string(),
            })),
            allow_overwrite: self.fault(Fault::AmpUnserialisedMessages),
        };
        self.persist(write).await?;
        let amp = head
            .amp
            .clone()
            .ok_or_else(|| EngineError::Internal("AMP turn without AMP head".into()))?;
        let status = self.amp_status(&head, &amp, now);
        let outcome = if matches!(req.message, AmpMessage::Init { .. }) {
            AmpOutcome::Accepted {
                expires_at: head.expires_at.clone(),
                status,
                duplicate: false,
            }
        } else {
            AmpOutcome::Ack {
                seq,
                status,
                duplicate: false,
            }
        };
        slot.install(Some(head));
        Ok(outcome)
    }
}

/// `context` after an RFC 7396 merge of `patch` (PRF-AMP-27): `total_steps` stays present
/// (null when unset), and `current_step` may not pass a non-null `total_steps`.
fn patched_context(context: &Value, patch: &Value) -> Result<Value, EngineError> {
    let mut next = context.clone();
    oap_wire::json::merge_patch(&mut next, patch);
    let Value::Object(members) = &mut next else {
        return Err(EngineError::Internal("context is not an object".into()));
    };
    members.entry("total_steps").or_insert(Value::Null);
    let current = members.get("current_step").and_then(Value::as_u64);
    let total = members.get("total_steps").and_then(Value::as_u64);
    if let (Some(current), Some(total)) = (current, total)
        && current > total
    {
        return Err(EngineError::StateSchemaViolation(format!(
            "context.current_step {current} is above total_steps {total}"
        )));
    }
    Ok(next)
}

#[cfg(test)]
#[path = "amp_tests.rs"]
mod tests;
