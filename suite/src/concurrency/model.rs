//! The sequential specification of one session: what a correct Tool answers when operations
//! arrive one at a time.
//!
//! [`SessionModel::step`] is the whole contract of `docs/profile.md` §5 that concurrency can
//! break, as a function: lifecycle checks first, then the turn id (409 `duplicate_turn`), then
//! `expected_version` (409 `version_conflict` with `current_version`), as PRF-ENV-10 orders
//! them, and a
//! successful turn moves the version by exactly one and appends exactly one receipt linked to
//! the previous one. The checkers replay acknowledged turns through the same transitions
//! (`next_status`, [`FingerprintedState::apply`]); the history generator drives the model
//! directly to produce histories that are correct by construction.

use std::sync::Arc;

use serde_json::Value;

use super::fingerprint::{FastMap, Fingerprint, FingerprintedState};
use super::history::{
    Base, LogEntry, LogPage, Op, Ret, Snapshot, StateRead, Status, TurnKey, TurnKind, TurnOk,
};

/// Why the lifecycle refuses a turn, as the profile's problem code.
pub(crate) fn next_status(kind: TurnKind, status: Status) -> Result<Status, &'static str> {
    match (status, kind) {
        (Status::Closed, _) => Err("session_closed"),
        (Status::Expired, _) => Err("session_expired"),
        (Status::Paused, TurnKind::Update | TurnKind::Join) => Err("session_paused"),
        (Status::Paused, TurnKind::Pause) | (Status::Active, TurnKind::Resume) => {
            Err("invalid_transition")
        }
        (_, TurnKind::Pause) => Ok(Status::Paused),
        (_, TurnKind::Resume) => Ok(Status::Active),
        (s, TurnKind::Update | TurnKind::Join | TurnKind::Leave) => Ok(s),
    }
}

/// A synthetic receipt hash: distinct per (version, turn, predecessor), not a real SHA-256.
fn synthetic_hash(version: u64, turn: &str, prev: Option<&str>) -> Arc<str> {
    let fp = Fingerprint::of(&serde_json::json!([version, turn, prev]));
    Arc::from(fp.to_string().repeat(2))
}

/// The receipt the model issues for the genesis turn of a recording.
pub fn genesis_entry(turn_id: TurnKey, previous_turn_id: TurnKey) -> Arc<LogEntry> {
    Arc::new(LogEntry {
        version: 0,
        receipt_hash: synthetic_hash(0, &turn_id, None),
        turn_id,
        previous_turn_id,
        prev_receipt_hash: None,
        state_digest: None,
    })
}

/// A session, evolved one operation at a time.
#[derive(Clone, Debug)]
pub struct SessionModel {
    version: u64,
    state: FingerprintedState,
    status: Status,
    applied: FastMap<TurnKey, u64>,
    log: Vec<Arc<LogEntry>>,
    /// Keep state values in answers (`false`: fingerprints only).
    pub keep_values: bool,
    /// Most receipts per log page (the profile's `limit`, at most 1000).
    pub page_limit: usize,
}

impl SessionModel {
    /// A session as it stands at `base`, whose log so far is `log` (ending at `base.version`).
    pub fn new(base: &Base, log: Vec<Arc<LogEntry>>) -> Self {
        let applied = log.iter().map(|e| (e.turn_id.clone(), e.version)).collect();
        Self {
            version: base.version,
            state: FingerprintedState::new(base.state.clone()),
            status: base.status,
            applied,
            log,
            keep_values: true,
            page_limit: 1000,
        }
    }

    /// The current `state_version`.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The current status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The current state.
    pub fn state(&self) -> &Value {
        self.state.value()
    }

    /// The current state's fingerprint.
    pub fn fingerprint(&self) -> Fingerprint {
        self.state.fingerprint()
    }

    /// The log so far.
    pub fn log(&self) -> &[Arc<LogEntry>] {
        &self.log
    }

    /// Whether `turn_id` was applied.
    pub fn was_applied(&self, turn_id: &str) -> bool {
        self.applied.contains_key(turn_id)
    }

    fn snapshot(&self) -> Snapshot {
        if self.keep_values {
            Snapshot {
                fingerprint: self.fingerprint(),
                value: Some(Arc::new(self.state.value().clone())),
            }
        } else {
            Snapshot {
                fingerprint: self.fingerprint(),
                value: None,
            }
        }
    }

    /// Answers `op` as a correct Tool would, and applies it.
    pub fn step(&mut self, op: &Op) -> Ret {
        match op {
            Op::Read => Ret::State(StateRead {
                version: self.version,
                status: Some(self.status),
                state: self.snapshot(),
            }),
            Op::ReadLog { from } => {
                let first = self.log.first().map_or(0, |e| e.version);
                let skip = from.saturating_sub(first);
                let skip = usize::try_from(skip).unwrap_or(usize::MAX);
                let entries: Vec<_> = self
                    .log
                    .iter()
                    .skip(skip)
                    .take(self.page_limit)
                    .cloned()
                    .collect();
                let complete = skip.saturating_add(entries.len()) >= self.log.len();
                Ret::Log(LogPage {
                    from: *from,
                    entries,
                    complete,
                })
            }
            _ => match op.turn() {
                Some(t) => {
                    let next = match next_status(t.kind, self.status) {
                        Ok(s) => s,
                        Err(code) => {
                            return Ret::Refused {
                                status: 409,
                                code: code.into(),
                            };
                        }
                    };
                    if self.applied.contains_key(&**t.turn_id) {
                        return Ret::DuplicateTurn;
                    }
                    if let Some(e) = t.expected_version
                        && e != self.version
                    {
                        return Ret::Conflict {
                            current_version: self.version,
                        };
                    }
                    let receipt = self.apply(t.turn_id.clone(), t.patch, next);
                    Ret::Turn(TurnOk {
                        version: self.version,
                        status: Some(self.status),
                        state: (t.kind == TurnKind::Update).then(|| self.snapshot()),
                        receipt: Some(receipt),
                    })
                }
                None => Ret::Refused {
                    status: 400,
                    code: "malformed_envelope".into(),
                },
            },
        }
    }

    /// Applies a turn unconditionally: version + 1, patch merged, one receipt appended.
    pub fn apply(
        &mut self,
        turn_id: TurnKey,
        patch: Option<&Value>,
        status: Status,
    ) -> Arc<LogEntry> {
        if let Some(p) = patch {
            self.state.apply(p);
        }
        self.status = status;
        self.version += 1;
        let prev = self.log.last();
        let entry = Arc::new(LogEntry {
            version: self.version,
            receipt_hash: synthetic_hash(self.version, &turn_id, prev.map(|p| &*p.receipt_hash)),
            previous_turn_id: prev.map_or_else(|| Arc::from("trn_unknown"), |p| p.turn_id.clone()),
            prev_receipt_hash: prev.map(|p| p.receipt_hash.clone()),
            turn_id: turn_id.clone(),
            state_digest: None,
        });
        self.applied.insert(turn_id, self.version);
        self.log.push(entry.clone());
        entry
    }
}
