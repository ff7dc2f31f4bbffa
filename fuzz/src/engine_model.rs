//! The reference Tool's engine (`oap_ref::engine::Engine`, on the in-memory store) against a
//! simple model of the profile's session rules, over sequences of operations on a small key
//! space: three actors, up to three sessions, eight versions, eight turn ids.
//!
//! The model predicts what must happen and what a success must look like, and leaves open what
//! the profile leaves open:
//!
//! * a create by anyone succeeds, at version 0, active;
//! * an update, pause, resume or close MUST fail when its actor is not the convener, the session
//!   is closed (except a repeated close), the `expected_version` differs from the version, or the
//!   `turn_id` was already used in the session; an update or pause MUST fail on a paused session,
//!   a resume on an active one; an update, pause or resume that breaks none of these MUST succeed;
//! * a success bumps the version by one (a repeated close by none) and sets the status and the
//!   state (the RFC 7396 merge of the patch) the model computes;
//! * a failure changes nothing;
//! * after every operation each session reads back as the model has it, and at the end each log
//!   is a valid receipt chain of `version + 1` receipts signed by the Tool.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use arbitrary::Arbitrary;
use oap_ref::engine::ccc::Scope;
use oap_ref::engine::clock::SystemClock;
use oap_ref::engine::{CreateRequest, Engine, Op, TurnRequest};
use oap_ref::store::MemoryStore;
use oap_ref::{FaultSet, Limits};
use oap_wire::Keypair;
use serde_json::{Value, json};

/// Most operations run per input.
const MAX_OPS: usize = 32;

/// One operation, over small indices.
#[derive(Arbitrary, Debug, Clone)]
pub enum EngineOp {
    /// `create` by actor `actor % 3`.
    Create {
        /// Actor index.
        actor: u8,
    },
    /// A write to session `session % n` by actor `actor % 3`.
    Write {
        /// What is written.
        kind: WriteKind,
        /// Session index.
        session: u8,
        /// Actor index.
        actor: u8,
        /// `expected_version` (`% 8`), or none.
        expected: Option<u8>,
        /// Turn id index (`% 8`).
        turn: u8,
        /// The value patched in (`null` deletes the member).
        value: Option<i8>,
    },
    /// A read of session `session % n` by actor `actor % 3`.
    Read {
        /// Session index.
        session: u8,
        /// Actor index.
        actor: u8,
    },
}

/// The write operations modelled.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// `update` with a merge patch of `conformance`.
    Update,
    /// `pause`.
    Pause,
    /// `resume`.
    Resume,
    /// `close`.
    Close,
}

/// A whole input: the operations, in order.
#[derive(Arbitrary, Debug, Clone)]
pub struct EngineInput(pub Vec<EngineOp>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Active,
    Paused,
    Closed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Paused => "paused",
            Status::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone)]
struct Model {
    id: String,
    convener: usize,
    status: Status,
    version: u64,
    state: Value,
    turns: Vec<String>,
}

/// An engine on an in-memory store, with the runtime that drives it.
pub struct Fixture {
    rt: tokio::runtime::Runtime,
    engine: Engine,
    tool_did: String,
}

impl Fixture {
    /// An engine with `faults` switched on (none for the fuzz target).
    pub fn new(faults: FaultSet) -> Option<Fixture> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        let key = Keypair::from_seed([42; 32]);
        let tool_did = key.did.clone();
        let engine = Engine::new(
            std::sync::Arc::new(MemoryStore::new()),
            key,
            Limits::default(),
            faults,
            std::sync::Arc::new(SystemClock),
        )
        .ok()?;
        Some(Fixture {
            rt,
            engine,
            tool_did,
        })
    }
}

fn fixture() -> Option<&'static Fixture> {
    static F: OnceLock<Option<Fixture>> = OnceLock::new();
    F.get_or_init(|| Fixture::new(FaultSet::none())).as_ref()
}

/// Fresh actors for every input, so that the per-convener quota of the shared engine is never
/// reached across inputs.
fn actors() -> [String; 3] {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let base = NEXT.fetch_add(3, Ordering::Relaxed);
    std::array::from_fn(|i| {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&(base + i as u64).to_le_bytes());
        seed[31] = 0x5a;
        Keypair::from_seed(seed).did
    })
}

fn turn_id(i: u8) -> String {
    format!("trn_{:026}", u32::from(i % 8) + 1)
}

/// Runs `input` against the correct engine and the model; panics on any disagreement.
pub fn check(input: &EngineInput) {
    let Some(f) = fixture() else {
        panic!("cannot start the engine fixture");
    };
    check_with(f, input);
}

/// Runs `input` against `f`'s engine and the model; panics on any disagreement.
pub fn check_with(f: &Fixture, input: &EngineInput) {
    f.rt.block_on(run(f, input));
}

async fn run(f: &Fixture, input: &EngineInput) {
    let actors = actors();
    let e = &f.engine;
    let mut sessions: Vec<Model> = Vec::new();
    let scope = Scope::from_value(&json!({"ccc": "internal", "clearance": "confidential"}))
        .unwrap_or_else(|e| panic!("scope: {e}"));
    for op in input.0.iter().take(MAX_OPS) {
        match op {
            EngineOp::Create { actor } => {
                if sessions.len() >= 3 {
                    continue;
                }
                let a = usize::from(*actor) % 3;
                let out = e
                    .create(CreateRequest {
                        actor: actors[a].clone(),
                        ttl_seconds: None,
                        scope,
                        state: None,
                        turn_id: None,
                        request_nonce: None,
                    })
                    .await
                    .unwrap_or_else(|err| panic!("a valid create failed: {err:?}"));
                assert_eq!(out.state_version, 0, "create");
                assert_eq!(out.status, "active", "create");
                let genesis = out
                    .receipt
                    .get("turn_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                sessions.push(Model {
                    id: out.session_id,
                    convener: a,
                    status: Status::Active,
                    version: 0,
                    state: out.state,
                    turns: vec![genesis],
                });
            }
            EngineOp::Write {
                kind,
                session,
                actor,
                expected,
                turn,
                value,
            } => {
                if sessions.is_empty() {
                    continue;
                }
                let n = sessions.len();
                let m = &mut sessions[usize::from(*session) % n];
                let a = usize::from(*actor) % 3;
                let expected = expected.map(|v| u64::from(v % 8));
                let tid = turn_id(*turn);
                let patch = json!({ "conformance": { "k": value } });
                let op = match kind {
                    WriteKind::Update => Op::Update {
                        patch: patch.clone(),
                    },
                    WriteKind::Pause => Op::Pause,
                    WriteKind::Resume => Op::Resume,
                    WriteKind::Close => Op::Close,
                };
                let repeated_close = *kind == WriteKind::Close && m.status == Status::Closed;
                let broken = a != m.convener
                    || (m.status == Status::Closed && !repeated_close)
                    || (!repeated_close
                        && (expected.is_some_and(|v| v != m.version) || m.turns.contains(&tid)))
                    || (m.status == Status::Paused
                        && matches!(kind, WriteKind::Update | WriteKind::Pause))
                    || (m.status == Status::Active && *kind == WriteKind::Resume);
                let result = e
                    .turn(TurnRequest {
                        actor: actors[a].clone(),
                        session_id: m.id.clone(),
                        turn_id: tid.clone(),
                        expected_version: expected,
                        op,
                        request_nonce: None,
                    })
                    .await;
                let what = format!("{kind:?} by actor {a} on {m:?} (expected {expected:?}, {tid})");
                match result {
                    Ok(out) => {
                        assert!(!broken, "{what}: succeeded, the profile requires a refusal");
                        if repeated_close {
                            assert_eq!(out.state_version, m.version, "{what}: repeated close");
                        } else {
                            m.version += 1;
                            m.turns.push(tid);
                            m.status = match kind {
                                WriteKind::Pause => Status::Paused,
                                WriteKind::Close => Status::Closed,
                                WriteKind::Resume => Status::Active,
                                WriteKind::Update => m.status,
                            };
                            if *kind == WriteKind::Update {
                                oap_wire::json::merge_patch(&mut m.state, &patch);
                            }
                            assert_eq!(out.state_version, m.version, "{what}");
                        }
                        assert_eq!(out.status, m.status.as_str(), "{what}");
                        assert_eq!(out.state, m.state, "{what}");
                    }
                    Err(err) => {
                        let must_succeed = !broken && *kind != WriteKind::Close;
                        assert!(
                            !must_succeed,
                            "{what}: refused ({err:?}), the profile requires success"
                        );
                    }
                }
            }
            EngineOp::Read { session, actor } => {
                if sessions.is_empty() {
                    continue;
                }
                let m = &sessions[usize::from(*session) % sessions.len()];
                let a = usize::from(*actor) % 3;
                let read = e.state(&actors[a], &m.id).await;
                assert_eq!(
                    read.is_ok(),
                    a == m.convener,
                    "read by actor {a} of {m:?}: {read:?}"
                );
            }
        }
        for m in &sessions {
            let view = e
                .state(&actors[m.convener], &m.id)
                .await
                .unwrap_or_else(|err| panic!("convener cannot read {m:?}: {err:?}"));
            assert_eq!(view.get("state_version"), Some(&json!(m.version)), "{m:?}");
            assert_eq!(view.get("status"), Some(&json!(m.status.as_str())), "{m:?}");
            assert_eq!(view.get("state"), Some(&m.state), "{m:?}");
        }
    }
    for m in &sessions {
        let page = e
            .log(&actors[m.convener], &m.id, 0, 1_000)
            .await
            .unwrap_or_else(|err| panic!("log of {m:?}: {err:?}"));
        let receipts: Vec<Value> = page
            .receipts
            .iter()
            .map(|r| serde_json::from_str(r).unwrap_or(Value::Null))
            .collect();
        assert_eq!(receipts.len() as u64, m.version + 1, "log of {m:?}");
        let chain = oap_wire::receipt::verify_chain(&receipts, &m.id, Some(&f.tool_did));
        assert!(chain.is_ok(), "log of {m:?}: {chain:?}");
    }
}
