//! The AMP workload: the participants of AMP sessions racing `SESSION_MSG`s, every message
//! recorded.
//!
//! For each session of an [`AmpPlan`], a fresh initiator sends `SESSION_INIT` inviting the
//! other participants, and each invitee accepts, so the session is `active` with `seq` 1 (the
//! INIT) and one acceptance per invitee in its history: the recording's [`AmpBase`]. Then every
//! participant runs its steps as its own task, all released at once. A participant sends one
//! message at a time, as the profile's order rule assumes, except for a [`AmpStep::Twin`]: the
//! same new message sent twice at once, as a sender that retries before the first answer came
//! back would. Resends of earlier messages and reads of the state are mixed in, and
//! `SESSION_STATE`s: a read of the state, then a merge patch of the context whose
//! `expected_seq` is the last `seq` read, which races every other participant's messages (the
//! AMP binding's lost-update race, PRF-AMP-26). When every task is done, the initiator reads the
//! session's state: the final `history` the checker judges.

use std::sync::Arc;

use oap_wire::Keypair;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::json;
use tokio::sync::Barrier;

use super::history::{AmpBase, ClientId, History, HistoryEntry, Op, OpId, Operation, Ret, TurnKey};
use super::plan::{PlanConfig, PlanError, draw_sessions};
use super::wire::{SessionClient, SetupError};
use super::workload::{Recorded, RunOptions, Shared};

/// One planned step of an AMP participant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AmpStep {
    /// A new `SESSION_MSG`.
    Message,
    /// A new `SESSION_MSG` sent twice at the same time (same `id`): applied once, both answers
    /// carry its `seq`.
    Twin,
    /// One of the participant's earlier messages sent again (modulo how many there are).
    Resend {
        /// Which one.
        pick: u8,
    },
    /// `GET /amp/session/{id}/state`, then a new `SESSION_STATE` expecting the last `seq` read.
    State,
    /// `GET /amp/session/{id}/state`.
    Read,
}

fn step() -> impl Strategy<Value = AmpStep> {
    prop_oneof![
        50 => Just(AmpStep::Message),
        12 => Just(AmpStep::Twin),
        10 => any::<u8>().prop_map(|pick| AmpStep::Resend { pick }),
        16 => Just(AmpStep::State),
        12 => Just(AmpStep::Read),
    ]
}

/// A drawn AMP plan: `sessions[s][p]` is the list of steps of participant `p` (0 is the
/// initiator) in session `s`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmpPlan {
    /// Steps per session and participant.
    pub sessions: Vec<Vec<Vec<AmpStep>>>,
    /// The seed it was drawn from.
    pub seed: u64,
}

/// Draws the AMP plan for `seed`.
pub fn draw_amp(seed: u64, cfg: &PlanConfig) -> Result<AmpPlan, PlanError> {
    let lo = (*cfg.participants.start()).clamp(2, 16);
    let hi = (*cfg.participants.end()).clamp(lo, 16);
    let steps = cfg.steps;
    let session = (lo..=hi).prop_flat_map(move |n| vec(vec(step(), steps..=steps), n..=n));
    Ok(AmpPlan {
        sessions: draw_sessions(seed, cfg, session)?,
        seed,
    })
}

/// A session set up and ready to race.
struct Session {
    id: String,
    members: Vec<Arc<Keypair>>,
    base: AmpBase,
}

/// `SESSION_INIT` by a fresh initiator inviting `participants - 1` fresh invitees, each of
/// whom accepts.
async fn set_up(client: &SessionClient, participants: usize) -> Result<Session, SetupError> {
    let id = oap_wire::ids::SessionId::new().to_string();
    let members: Vec<Arc<Keypair>> = (0..participants.max(2))
        .map(|_| Arc::new(Keypair::generate()))
        .collect();
    let invitees: Vec<&str> = members[1..].iter().map(|k| k.did.as_str()).collect();
    client.amp_init(&members[0], &id, &invitees).await?;
    let mut setup = vec![HistoryEntry {
        seq: 1,
        from: Arc::from(members[0].did.as_str()),
        id: Arc::from("init"),
    }];
    for invitee in &members[1..] {
        client.amp_accept(invitee, &id).await?;
        setup.push(HistoryEntry {
            seq: setup.len() as u64 + 1,
            from: Arc::from(invitee.did.as_str()),
            id: Arc::from("accept"),
        });
    }
    let senders = members.iter().map(|k| Arc::from(k.did.as_str())).collect();
    Ok(Session {
        id,
        members,
        base: AmpBase { senders, setup },
    })
}

/// One participant's steps, recorded.
struct Participant {
    client: ClientId,
    key: Arc<Keypair>,
    /// The ids of the `SESSION_MSG`s it sent, in order.
    sent: Vec<TurnKey>,
    /// How many `SESSION_STATE`s it sent.
    states: u32,
    ops: Vec<Operation>,
}

impl Participant {
    async fn send(&self, shared: &Shared, session: &str, op: Op) -> Operation {
        let invoked = shared.now();
        let ret = match &op {
            Op::Message { msg_id } => {
                let body = json!({ "text": format!("{msg_id} from client {}", self.client) });
                shared
                    .client
                    .amp_message(&self.key, session, msg_id, &body)
                    .await
            }
            Op::State {
                msg_id,
                expected_seq,
            } => {
                let patch = json!({ "shared_data": { format!("c{}", self.client): self.states } });
                shared
                    .client
                    .amp_state(&self.key, session, msg_id, *expected_seq, &patch)
                    .await
            }
            _ => shared.client.amp_history(&self.key, session).await,
        };
        let returned = shared.now().max(invoked);
        shared.recorded_one();
        Operation {
            client: self.client,
            op,
            ret,
            invoked,
            returned,
        }
    }

    fn fresh(&mut self) -> TurnKey {
        let id = TurnKey::from(format!("m{}-{}", self.client, self.sent.len()));
        self.sent.push(id.clone());
        id
    }

    async fn run(
        mut self,
        shared: Arc<Shared>,
        session: Arc<Session>,
        steps: Vec<AmpStep>,
    ) -> Vec<Operation> {
        let sid = session.id.as_str();
        for step in steps {
            if shared.should_stop() {
                break;
            }
            match step {
                AmpStep::Message => {
                    let msg_id = self.fresh();
                    let o = self.send(&shared, sid, Op::Message { msg_id }).await;
                    self.ops.push(o);
                }
                AmpStep::Twin => {
                    let msg_id = self.fresh();
                    let (a, b) = tokio::join!(
                        self.send(
                            &shared,
                            sid,
                            Op::Message {
                                msg_id: msg_id.clone()
                            }
                        ),
                        self.send(&shared, sid, Op::Message { msg_id }),
                    );
                    self.ops.extend([a, b]);
                }
                AmpStep::Resend { pick } if !self.sent.is_empty() => {
                    let msg_id = self.sent[usize::from(pick) % self.sent.len()].clone();
                    let o = self.send(&shared, sid, Op::Message { msg_id }).await;
                    self.ops.push(o);
                }
                AmpStep::State => {
                    let read = self.send(&shared, sid, Op::ReadHistory).await;
                    let last = match &read.ret {
                        Ret::History(entries) => Some(entries.last().map_or(0, |e| e.seq)),
                        _ => None,
                    };
                    self.ops.push(read);
                    // Without a history read there is no seq to expect: the step ends there.
                    if let Some(expected_seq) = last {
                        self.states += 1;
                        let msg_id = TurnKey::from(format!("s{}-{}", self.client, self.states));
                        let op = Op::State {
                            msg_id,
                            expected_seq,
                        };
                        let o = self.send(&shared, sid, op).await;
                        self.ops.push(o);
                    }
                }
                AmpStep::Resend { .. } | AmpStep::Read => {
                    let o = self.send(&shared, sid, Op::ReadHistory).await;
                    self.ops.push(o);
                }
            }
        }
        self.ops
    }
}

/// Sets up every session of `plan`, races its participants, and records one history per
/// session, each ending with the initiator's read of the final `history`.
pub async fn run_amp(
    client: SessionClient,
    plan: &AmpPlan,
    opts: RunOptions,
) -> Result<Recorded, SetupError> {
    let mut sessions = Vec::with_capacity(plan.sessions.len());
    for participants in &plan.sessions {
        sessions.push(Arc::new(set_up(&client, participants.len()).await?));
    }
    let tasks: usize = plan.sessions.iter().map(Vec::len).sum();
    let barrier = Arc::new(Barrier::new(tasks.max(1)));
    let shared = Arc::new(Shared::new(client, opts));
    let mut handles = Vec::with_capacity(sessions.len());
    for (session, steps) in sessions.iter().zip(&plan.sessions) {
        let mut joins = Vec::with_capacity(steps.len());
        for (i, steps) in steps.iter().enumerate() {
            let Some(key) = session.members.get(i) else {
                continue;
            };
            let participant = Participant {
                client: i as ClientId,
                key: key.clone(),
                sent: Vec::new(),
                states: 0,
                ops: Vec::with_capacity(steps.len() * 2 + 4),
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
            // A task that panicked recorded nothing usable: its operations are lost, not
            // guessed.
            if let Ok(mut recorded) = j.await {
                ops.append(&mut recorded);
            }
        }
        let observer = Participant {
            client: session.members.len() as ClientId,
            key: session.members[0].clone(),
            sent: Vec::new(),
            states: 0,
            ops: Vec::new(),
        };
        ops.push(observer.send(&shared, &session.id, Op::ReadHistory).await);
        let n = ops.len() as OpId;
        histories.push(History {
            session_id: Some(session.id.clone()),
            seed: Some(plan.seed),
            ops,
            final_read: Some(n - 1),
            amp: Some(session.base.clone()),
            ..History::default()
        });
    }
    Ok(Recorded {
        histories,
        elapsed: shared.start.elapsed(),
    })
}
