//! Turns: creating a session and every later write, decided in the profile's check order.
//!
//! Order (profile §4), so that outcomes are deterministic: session lookup and membership (404),
//! authority and credentials (403), lifecycle (409), quotas (409/429), turn and version checks
//! (409), schema (422). Only then is a receipt issued and the write submitted; the new head is
//! installed once the write is durable. Every fault switch that bends one of these rules sits
//! at the line that enforces it.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::faults::Fault;
use crate::store::{ReceiptRow, RequestNonce, SessionRow, Write};

use super::credentials::Kind;
use super::receipts::{self, Facts, Link};
use super::{
    CreateRequest, Engine, EngineError, Op, Participant, SessionHead, Slot, Status, TurnOutcome,
    TurnRequest, ccc, lock,
};

/// Conveners whose create lock is kept before idle ones are dropped.
pub(super) const CREATORS_SOFT_LIMIT: usize = 10_000;
/// Default session lifetime.
pub const DEFAULT_TTL_SECONDS: u64 = 3600;
/// How long the `unserialised-read-modify-write` fault waits between its read and its write.
pub(super) const RACE_WINDOW: Duration = Duration::from_millis(20);

/// What a checked turn will do.
enum Plan {
    /// Write this head and receipt.
    Apply {
        head: Box<SessionHead>,
        receipt: Value,
        credential_nonce: Option<String>,
        output: Option<Value>,
    },
    /// Closing a closed session: answer with the existing close receipt, change nothing.
    AlreadyClosed,
}

impl Engine {
    /// Creates a session; the actor becomes its convener (genesis receipt, version 0).
    pub async fn create(&self, req: CreateRequest) -> Result<TurnOutcome, EngineError> {
        self.detached(move |engine| async move { engine.create_inner(req).await })
            .await
    }

    async fn create_inner(&self, req: CreateRequest) -> Result<TurnOutcome, EngineError> {
        let creator = self.create_lock(&req.actor);
        let _one_create_per_convener = creator.lock().await;
        let now = self.now();
        let limits = *self.limits();
        if !self.fault(Fault::IgnoreSessionQuota) {
            let actor = req.actor.clone();
            let open = self.blocking(move |s| s.open_sessions(&actor, now)).await?;
            if open >= u64::from(limits.max_sessions_per_convener) {
                return Err(EngineError::SessionQuotaExceeded(
                    limits.max_sessions_per_convener,
                ));
            }
        }
        let request_nonce = req.request_nonce;
        let ttl = req.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS);
        if ttl > limits.max_ttl_seconds() {
            return Err(EngineError::TtlExceedsLimit(limits.max_ttl_seconds()));
        }
        let state = req
            .state
            .unwrap_or_else(|| Value::Object(Default::default()));
        if !state.is_object() {
            return Err(EngineError::Malformed("state must be an object".into()));
        }
        if !self.fault(Fault::SkipStateSchema) {
            self.inner.schema.check(&state)?;
        }
        let session_id = oap_wire::ids::SessionId::new().to_string();
        let turn_id = req
            .turn_id
            .unwrap_or_else(|| oap_wire::ids::TurnId::new().to_string());
        let expires_at_unix = now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
        let issued_at = oap_wire::time::format_unix(now);
        let facts = Facts {
            session_id: &session_id,
            turn_id: &turn_id,
            state_version: 0,
            actor: &req.actor,
            action: "create",
            state: &state,
            issued_at: &issued_at,
        };
        let issued = receipts::issue(facts, None, &self.inner.key, self.faults())?;
        let head = SessionHead {
            session_id: session_id.clone(),
            status: Status::Active,
            state_version: 0,
            convener: req.actor.clone(),
            former_conveners: Vec::new(),
            participants: vec![Participant {
                did: req.actor.clone(),
                scope: req.scope,
            }],
            created_at: issued_at.clone(),
            expires_at: oap_wire::time::format_unix(expires_at_unix),
            expires_at_unix,
            state,
            last_turn_id: turn_id.clone(),
            last_receipt_hash: issued.hash,
            revocations: Default::default(),
            amp: None,
        };
        let slot = Arc::new(Slot::new(head.clone()));
        let mut turn_ids = slot.turn.lock().await;
        // A new session's only used turn id is its genesis: no need to ask the store later.
        turn_ids.0 = Some(super::turn_ulid(&turn_id).into_iter().collect());
        lock(&self.inner.slots).insert(session_id.clone(), slot.clone());
        let outcome = self
            .commit(&slot, head, issued.receipt, None, request_nonce, None, now)
            .await;
        if outcome.is_err() {
            lock(&self.inner.slots).remove(&session_id);
        }
        outcome
    }

    /// Applies one turn to an existing session.
    pub async fn turn(&self, req: TurnRequest) -> Result<TurnOutcome, EngineError> {
        if let Op::Invoke { action, .. } = &req.op
            && !super::ACTIONS.contains(&action.as_str())
        {
            return Err(EngineError::UnknownAction(action.clone()));
        }
        self.detached(move |engine| async move { engine.turn_inner(req).await })
            .await
    }

    async fn turn_inner(&self, req: TurnRequest) -> Result<TurnOutcome, EngineError> {
        let slot = self.slot(&req.session_id).await?;
        let unserialised = self.fault(Fault::UnserialisedReadModifyWrite);
        let mut turn_lock = if unserialised {
            None
        } else {
            Some(slot.turn.lock().await)
        };
        let head = slot.current().ok_or(EngineError::NotFound)?;
        if unserialised {
            // The broken Tool reads, does something slow, then writes what it read.
            tokio::time::sleep(RACE_WINDOW).await;
        }
        let now = self.now();
        let plan = self
            .plan(&head, &req, now, turn_lock.as_deref_mut())
            .await?;
        match plan {
            Plan::AlreadyClosed => {
                // Nothing to write but the request's nonce.
                if let Some(n) = req.request_nonce {
                    self.record_request_nonce(n).wait().await?;
                }
                let id = head.session_id.clone();
                let v = head.state_version;
                let rows = self.blocking(move |s| s.receipts(&id, v, v, 1)).await?;
                let body = rows
                    .into_iter()
                    .next()
                    .ok_or_else(|| EngineError::Internal("close receipt missing".into()))?
                    .body;
                let receipt = serde_json::from_str(&body)
                    .map_err(|e| EngineError::Internal(format!("stored receipt: {e}")))?;
                Ok(outcome(&head, receipt, None, now))
            }
            Plan::Apply {
                head,
                receipt,
                credential_nonce,
                output,
            } => {
                let turn_id = head.last_turn_id.clone();
                let out = self
                    .commit(
                        &slot,
                        *head,
                        receipt,
                        credential_nonce,
                        req.request_nonce,
                        output,
                        now,
                    )
                    .await?;
                if let (Some(ids), Some(v)) = (turn_lock.as_deref_mut(), super::turn_ulid(&turn_id))
                    && let Some(set) = ids.0.as_mut()
                {
                    set.insert(v);
                }
                Ok(out)
            }
        }
    }

    /// Writes the turn, waits until it is durable, then installs the new head.
    #[allow(clippy::too_many_arguments)]
    async fn commit(
        &self,
        slot: &Slot,
        head: SessionHead,
        receipt: Value,
        credential_nonce: Option<String>,
        request_nonce: Option<RequestNonce>,
        output: Option<Value>,
        now: i64,
    ) -> Result<TurnOutcome, EngineError> {
        let write = Write::Turn {
            session: session_row(&head)?,
            receipt: Some(receipt_row(&head, &receipt)),
            credential_nonce,
            request_nonce,
            history: None,
            allow_overwrite: self.fault(Fault::UnserialisedReadModifyWrite),
        };
        self.persist(write).await?;
        let result = outcome(&head, receipt, output, now);
        slot.install(Some(head));
        Ok(result)
    }

    /// Checks a turn against the head, in the profile's order, and computes its effect.
    async fn plan(
        &self,
        head: &SessionHead,
        req: &TurnRequest,
        now: i64,
        turn_ids: Option<&mut super::TurnIds>,
    ) -> Result<Plan, EngineError> {
        let actor = req.actor.as_str();
        // 404: membership (anyone may try to join).
        if !matches!(req.op, Op::Join { .. }) {
            self.check_member(head, actor)?;
        }
        // An AMP session changes only through AMP messages (its history `seq` is its version + 1).
        if head.amp.is_some() {
            return Err(EngineError::InvalidTransition(
                "this session is carried by the AMP binding".into(),
            ));
        }
        // 403: authority and credentials.
        if req.op.is_convener_op() {
            self.check_convener(head, actor)?;
        }
        let credential = match &req.op {
            Op::Join { admission } => Some(
                self.check_credential(head, admission, Kind::Admission, actor)
                    .await?,
            ),
            Op::Leave {
                revocation: Some(r),
            } => Some(
                self.check_credential(head, r, Kind::Revocation, actor)
                    .await?,
            ),
            Op::Handoff { handoff } => Some(
                self.check_credential(head, handoff, Kind::Handoff, actor)
                    .await?,
            ),
            _ => None,
        };
        let newcomer_scope = credential.as_ref().and_then(|c| c.scope);
        if let (Op::Join { .. }, Some(scope)) = (&req.op, newcomer_scope)
            && !self.fault(Fault::IgnoreCcc)
        {
            ccc::admit(&scope, head.participants.iter().map(|p| &p.scope))
                .map_err(EngineError::CccUnsatisfied)?;
        }
        // 409: lifecycle.
        if head.status == Status::Closed {
            if matches!(req.op, Op::Close) {
                // The broken Tool closes again, appending a receipt.
                if !self.fault(Fault::CloseNotIdempotent) {
                    return Ok(Plan::AlreadyClosed);
                }
            } else if !self.fault(Fault::WriteClosedSessions) {
                return Err(EngineError::SessionClosed);
            }
        }
        if head.is_expired(now) && !self.fault(Fault::WriteExpiredSessions) {
            return Err(EngineError::SessionExpired);
        }
        if head.status == Status::Paused
            && matches!(
                req.op,
                Op::Update { .. } | Op::Invoke { .. } | Op::Join { .. }
            )
            && !self.fault(Fault::WritePausedSessions)
        {
            return Err(EngineError::SessionPaused);
        }
        match &req.op {
            Op::Pause if head.status != Status::Active => {
                return Err(EngineError::InvalidTransition(format!(
                    "pause while {}",
                    head.status.as_str()
                )));
            }
            Op::Resume if head.status != Status::Paused => {
                return Err(EngineError::InvalidTransition(format!(
                    "resume while {}",
                    head.status.as_str()
                )));
            }
            Op::Leave { revocation: None } if actor == head.convener => {
                return Err(EngineError::ConvenerMustHandoff);
            }
            Op::Join { .. } if head.is_participant(actor) => {
                return Err(EngineError::AlreadyParticipant);
            }
            _ => {}
        }
        // Quotas.
        if matches!(req.op, Op::Join { .. })
            && head.participants.len() >= self.limits().max_participants as usize
            && !self.fault(Fault::IgnoreMaxParticipants)
        {
            return Err(EngineError::ParticipantLimit(
                self.limits().max_participants,
            ));
        }
        // 409: turn and version checks.
        if !self.fault(Fault::ApplyReplayedTurnId)
            && self
                .turn_used(&head.session_id, &req.turn_id, turn_ids)
                .await?
        {
            return Err(EngineError::DuplicateTurn(req.turn_id.clone()));
        }
        if let Some(expected) = req.expected_version
            && expected != head.state_version
            && !self.fault(Fault::SkipExpectedVersionCheck)
        {
            return Err(EngineError::VersionConflict {
                expected,
                current: head.state_version,
            });
        }
        // The effect, then 422: schema.
        let mut next = head.clone();
        let mut output = None;
        match &req.op {
            Op::Join { .. } => {
                let scope = newcomer_scope
                    .ok_or_else(|| EngineError::Internal("admission without scope".into()))?;
                next.participants.push(Participant {
                    did: actor.to_owned(),
                    scope,
                });
            }
            Op::Leave { revocation: None } => next.participants.retain(|p| p.did != actor),
            Op::Leave {
                revocation: Some(_),
            } => {
                if let Some(c) = &credential {
                    next.participants.retain(|p| p.did != c.subject);
                    let at = next
                        .revocations
                        .entry(c.subject.clone())
                        .or_insert(c.issued_at);
                    *at = (*at).max(c.issued_at);
                }
            }
            Op::Update { patch } => {
                oap_wire::json::merge_patch(&mut next.state, patch);
                if !self.fault(Fault::SkipStateSchema) {
                    self.inner.schema.check(&next.state)?;
                }
            }
            Op::Pause => next.status = Status::Paused,
            Op::Resume => next.status = Status::Active,
            Op::Close => next.status = Status::Closed,
            Op::Handoff { .. } => {
                if let Some(c) = &credential {
                    next.former_conveners
                        .push(std::mem::replace(&mut next.convener, c.subject.clone()));
                }
            }
            Op::Invoke { action, input } => output = Some(super::run_action(action, input)?),
        }
        let bump = if self.fault(Fault::DoubleVersionBump) {
            2
        } else {
            1
        };
        next.state_version = head.state_version.saturating_add(bump);
        let issued_at = oap_wire::time::format_unix(now);
        let facts = Facts {
            session_id: &head.session_id,
            turn_id: &req.turn_id,
            state_version: next.state_version,
            actor,
            action: req.op.action_name(),
            state: &next.state,
            issued_at: &issued_at,
        };
        let link = Link {
            previous_turn_id: &head.last_turn_id,
            prev_receipt_hash: &head.last_receipt_hash,
        };
        let issued = receipts::issue(facts, Some(link), &self.inner.key, self.faults())?;
        next.last_turn_id = req.turn_id.clone();
        next.last_receipt_hash = issued.hash;
        Ok(Plan::Apply {
            head: Box::new(next),
            receipt: issued.receipt,
            credential_nonce: credential.map(|c| c.nonce),
            output,
        })
    }
}

/// The answer to a turn.
fn outcome(head: &SessionHead, receipt: Value, output: Option<Value>, now: i64) -> TurnOutcome {
    TurnOutcome {
        session_id: head.session_id.clone(),
        state_version: head.state_version,
        status: head.effective_status(now),
        expires_at: head.expires_at.clone(),
        state: head.state.clone(),
        receipt,
        output,
    }
}

/// The session row a turn's write stores: the head as it stands after the turn.
pub(super) fn session_row(head: &SessionHead) -> Result<SessionRow, EngineError> {
    Ok(SessionRow {
        session_id: head.session_id.clone(),
        convener: head.convener.clone(),
        open: head.status != Status::Closed,
        expires_at: head.expires_at_unix,
        head: serde_json::to_string(head)
            .map_err(|e| EngineError::Internal(format!("head: {e}")))?,
    })
}

/// The receipt row a turn's write stores, at the head's version.
pub(super) fn receipt_row(head: &SessionHead, receipt: &Value) -> ReceiptRow {
    ReceiptRow {
        version: head.state_version,
        turn_id: head.last_turn_id.clone(),
        body: receipt.to_string(),
    }
}
