//! The workload driver: participants admitted through the real join flow, racing against one or
//! more sessions of a live Tool, every operation recorded.
//!
//! For each session of a [`Plan`], a fresh convener creates the session and admits the other
//! participants one by one (`join` with an admission the convener signs); the session's
//! version after these setup turns is the history's [`Base`]. Then every participant runs its
//! steps as its own tokio task, all released at once, each recording its operations with
//! invoke and return instants on one monotonic clock. Updates carry the participant's last
//! observed version, so participants that saw the same version race for the next one. When
//! every task is done (or the deadline passed), the convener reads the whole log and the state:
//! the quiescent observations the checkers compare everything else with.
//!
//! The driver decides nothing about correctness; it only records. A request that times out or
//! fails below HTTP is recorded as indeterminate.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use oap_wire::Keypair;
use serde_json::json;
use tokio::sync::Barrier;

use super::history::{Base, ClientId, History, Nanos, Op, OpId, Operation, Ret, Status, TurnKey};
use super::plan::{Plan, Step, patch};
use super::wire::{SessionClient, SetupError};

/// Called once per recorded operation (for progress bars).
pub type Progress = Arc<dyn Fn() + Send + Sync>;

/// How to run a plan.
#[derive(Clone)]
pub struct RunOptions {
    /// Stop issuing new operations after this long.
    pub duration: Option<Duration>,
    /// Stop issuing new operations once this many were recorded, over all sessions.
    pub max_ops: Option<usize>,
    /// Whether the Tool declares pause and resume (`sessions.supports_pause`).
    pub supports_pause: bool,
    /// The Tool's DID, from its manifest: every receipt must be signed by it.
    pub tool_did: Option<String>,
    /// Keep state values in the history (`false`: fingerprints only).
    pub keep_states: bool,
    /// Called after each operation.
    pub progress: Option<Progress>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("duration", &self.duration)
            .field("max_ops", &self.max_ops)
            .field("supports_pause", &self.supports_pause)
            .field("tool_did", &self.tool_did)
            .field("keep_states", &self.keep_states)
            .finish_non_exhaustive()
    }
}

/// What a run recorded.
#[derive(Debug)]
pub struct Recorded {
    /// One history per session.
    pub histories: Vec<History>,
    /// From the release of the participants to the end of the final reads.
    pub elapsed: Duration,
}

/// A session set up and ready to race.
struct Session {
    id: String,
    convener: Arc<Keypair>,
    members: Vec<Arc<Keypair>>,
    base: Base,
}

fn fresh_turn() -> TurnKey {
    TurnKey::from(oap_wire::ids::TurnId::new().as_str())
}

/// Creates a session and admits `participants - 1` newcomers through `join`.
async fn set_up(client: &SessionClient, participants: usize) -> Result<Session, SetupError> {
    let convener = Arc::new(Keypair::generate());
    let created = client.create(&convener, &json!({})).await?;
    let mut version = created.version;
    let mut members = vec![convener.clone()];
    for _ in 1..participants {
        let newcomer = Arc::new(Keypair::generate());
        let op = Op::Join {
            turn_id: fresh_turn(),
        };
        match client
            .turn(&newcomer, &convener, &created.session_id, &op)
            .await
        {
            Ret::Turn(ok) => version = ok.version,
            other => {
                return Err(SetupError::Refused {
                    what: "join",
                    status: 0,
                    body: format!("{other:?}"),
                });
            }
        }
        members.push(newcomer);
    }
    Ok(Session {
        id: created.session_id,
        convener,
        members,
        base: Base {
            version,
            state: json!({}),
            status: Status::Active,
        },
    })
}

/// Shared by the participant tasks of one run.
pub(super) struct Shared {
    pub(super) client: SessionClient,
    pub(super) opts: RunOptions,
    pub(super) start: Instant,
    recorded: std::sync::atomic::AtomicUsize,
    stop: AtomicBool,
}

impl Shared {
    /// Starts the run's clock now.
    pub(super) fn new(client: SessionClient, opts: RunOptions) -> Self {
        Self {
            client,
            opts,
            start: Instant::now(),
            recorded: Default::default(),
            stop: AtomicBool::new(false),
        }
    }

    /// Counts one recorded operation and reports progress.
    pub(super) fn recorded_one(&self) {
        self.recorded.fetch_add(1, Ordering::Relaxed);
        if let Some(p) = &self.opts.progress {
            p();
        }
    }

    /// Nanoseconds since the run's clock started.
    pub(super) fn now(&self) -> Nanos {
        Nanos::try_from(self.start.elapsed().as_nanos()).unwrap_or(Nanos::MAX)
    }

    /// The duration or the operation budget is used up.
    pub(super) fn should_stop(&self) -> bool {
        if self.stop.load(Ordering::Relaxed) {
            return true;
        }
        let late = self
            .opts
            .duration
            .is_some_and(|d| self.start.elapsed() >= d);
        let full = self
            .opts
            .max_ops
            .is_some_and(|m| self.recorded.load(Ordering::Relaxed) >= m);
        if late || full {
            self.stop.store(true, Ordering::Relaxed);
        }
        late || full
    }
}

/// One participant's steps, recorded.
struct Participant {
    client: ClientId,
    key: Arc<Keypair>,
    observed: u64,
    /// Whether the participant believes it is a member (after a refused or lost join it is
    /// not, and joins again before its next step).
    member: bool,
    updates: Vec<(u64, TurnKey, Arc<serde_json::Value>)>,
    /// Indexes into `updates` of the ones the Tool acknowledged: replays pick among these
    /// first, since a replay of an applied turn is the one a Tool must refuse.
    acknowledged: Vec<usize>,
    ops: Vec<Operation>,
}

impl Participant {
    async fn exec(&mut self, shared: &Shared, session: &Session, op: Op) {
        let invoked = shared.now();
        let ret = match &op {
            Op::Read => shared.client.read_state(&self.key, &session.id).await,
            Op::ReadLog { from } => {
                let limit = super::wire::MAX_PAGE;
                let (ret, _) = shared
                    .client
                    .read_log(&self.key, &session.id, *from, limit)
                    .await;
                ret
            }
            _ => {
                let convener = &session.convener;
                shared
                    .client
                    .turn(&self.key, convener, &session.id, &op)
                    .await
            }
        };
        let returned = shared.now().max(invoked);
        if let Some(v) = ret.observed_version() {
            self.observed = v;
        }
        match (&op, &ret) {
            (Op::Join { .. }, Ret::Turn(_)) => self.member = true,
            (Op::Join { .. }, Ret::Refused { code, .. }) => {
                self.member = code == "already_participant";
            }
            (Op::Join { .. }, _) | (Op::Leave { .. }, Ret::Turn(_) | Ret::Indeterminate { .. }) => {
                self.member = false;
            }
            _ => {}
        }
        if let (Op::Update { .. }, Some(t)) = (&op, op.turn())
            && let Some(p) = t.patch
        {
            let e = t.expected_version.unwrap_or(self.observed);
            if matches!(ret, Ret::Turn(_)) {
                self.acknowledged.push(self.updates.len());
            }
            self.updates
                .push((e, t.turn_id.clone(), Arc::new(p.clone())));
        }
        self.ops.push(Operation {
            client: self.client,
            op,
            ret,
            invoked,
            returned,
        });
        shared.recorded_one();
    }

    async fn run(
        mut self,
        shared: Arc<Shared>,
        session: Arc<Session>,
        steps: Vec<Step>,
    ) -> Vec<Operation> {
        let me = self.client;
        let is_convener = me == 0;
        for (seq, step) in steps.into_iter().enumerate() {
            if shared.should_stop() {
                break;
            }
            if !self.member {
                // Admitted again before anything else (a join refused while paused, or lost).
                let join = Op::Join {
                    turn_id: fresh_turn(),
                };
                self.exec(&shared, &session, join).await;
                continue;
            }
            let update = |patch_byte: u8, expected: u64| Op::Update {
                expected_version: expected,
                turn_id: fresh_turn(),
                patch: Arc::new(patch(patch_byte, me, seq)),
            };
            match step {
                Step::Update { patch } => {
                    let op = update(patch, self.observed);
                    self.exec(&shared, &session, op).await;
                }
                Step::StaleUpdate { patch, back } => {
                    let op = update(patch, self.observed.saturating_sub(u64::from(back)));
                    self.exec(&shared, &session, op).await;
                }
                Step::Replay { pick, refresh } if !self.updates.is_empty() => {
                    let pick = usize::from(pick);
                    let index = match self.acknowledged.len() {
                        0 => pick % self.updates.len(),
                        n => self.acknowledged[pick % n],
                    };
                    let (e, turn_id, patch) = self.updates[index].clone();
                    let expected_version = if refresh { self.observed } else { e };
                    let op = Op::Replay {
                        expected_version,
                        turn_id,
                        patch,
                    };
                    self.exec(&shared, &session, op).await;
                }
                Step::ReadLog { back } => {
                    let from = self.observed.saturating_sub(u64::from(back));
                    self.exec(&shared, &session, Op::ReadLog { from }).await;
                }
                Step::Rejoin if !is_convener => {
                    let leave = Op::Leave {
                        turn_id: fresh_turn(),
                    };
                    self.exec(&shared, &session, leave).await;
                    let join = Op::Join {
                        turn_id: fresh_turn(),
                    };
                    self.exec(&shared, &session, join).await;
                }
                Step::PauseResume if is_convener && shared.opts.supports_pause => {
                    let pause = Op::Pause {
                        turn_id: fresh_turn(),
                    };
                    self.exec(&shared, &session, pause).await;
                    let resume = Op::Resume {
                        turn_id: fresh_turn(),
                    };
                    self.exec(&shared, &session, resume).await;
                }
                _ => self.exec(&shared, &session, Op::Read).await,
            }
        }
        self.ops
    }
}

/// The convener's quiescent reads: the whole log, then the state.
async fn finish(shared: &Shared, session: &Session, mut ops: Vec<Operation>, seed: u64) -> History {
    let observer = session.members.len() as ClientId;
    let key = &session.convener;
    let invoked = shared.now();
    // No correct log holds more receipts than the setup turns and the turns sent.
    let bound = usize::try_from(session.base.version)
        .unwrap_or(usize::MAX)
        .saturating_add(ops.len())
        .saturating_add(1);
    let (log, raw) = shared.client.read_full_log(key, &session.id, bound).await;
    let returned = shared.now();
    ops.push(Operation {
        client: observer,
        op: Op::ReadLog { from: 0 },
        ret: log,
        invoked,
        returned,
    });
    let invoked = shared.now();
    let state = shared.client.read_state(key, &session.id).await;
    let returned = shared.now();
    ops.push(Operation {
        client: observer,
        op: Op::Read,
        ret: state,
        invoked,
        returned,
    });
    let n = ops.len() as OpId;
    History {
        session_id: Some(session.id.clone()),
        seed: Some(seed),
        base: session.base.clone(),
        ops,
        final_read: Some(n - 1),
        final_log: Some(n - 2),
        chain: Some(raw),
        tool_did: shared.opts.tool_did.clone(),
        amp: None,
    }
}

/// Sets up every session of `plan`, races its participants, and records one history per
/// session.
pub async fn run(
    client: SessionClient,
    plan: &Plan,
    opts: RunOptions,
) -> Result<Recorded, SetupError> {
    let mut client = client;
    client.keep_states = opts.keep_states;
    let mut sessions = Vec::with_capacity(plan.sessions.len());
    for participants in &plan.sessions {
        sessions.push(Arc::new(set_up(&client, participants.len()).await?));
    }
    let tasks: usize = plan.sessions.iter().map(Vec::len).sum();
    let barrier = Arc::new(Barrier::new(tasks.max(1)));
    let shared = Arc::new(Shared::new(client, opts));
    let mut handles = Vec::with_capacity(plan.sessions.len());
    for (session, steps) in sessions.iter().zip(&plan.sessions) {
        let mut joins = Vec::with_capacity(steps.len());
        for (i, steps) in steps.iter().enumerate() {
            let participant = Participant {
                client: i as ClientId,
                key: session.members[i].clone(),
                observed: session.base.version,
                member: true,
                updates: Vec::new(),
                acknowledged: Vec::new(),
                ops: Vec::with_capacity(steps.len()),
            };
            let (shared, session, steps, barrier) = (
                shared.clone(),
                session.clone(),
                steps.clone(),
                barrier.clone(),
            );
            joins.push(tokio::spawn(async move {
                barrier.wait().await;
                participant.run(shared, session, steps).await
            }));
        }
        handles.push(joins);
    }
    let mut histories = Vec::with_capacity(sessions.len());
    for (session, joins) in sessions.iter().zip(handles) {
        let mut ops = Vec::new();
        for j in joins {
            // A participant task that panicked recorded nothing usable; its operations are
            // lost, not guessed.
            if let Ok(mut recorded) = j.await {
                ops.append(&mut recorded);
            }
        }
        histories.push(finish(&shared, session, ops, plan.seed).await);
    }
    Ok(Recorded {
        histories,
        elapsed: shared.start.elapsed(),
    })
}
