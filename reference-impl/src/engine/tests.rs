//! Engine unit tests: no HTTP, the engine's operations called directly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use oap_wire::Keypair;
use serde_json::{Value, json};

use super::ccc::{Level, Scope};
use super::clock::ManualClock;
use super::*;
use crate::config::Limits;
use crate::faults::FaultSet;
use crate::store::SqliteStore;

struct Harness {
    engine: Engine,
    clock: ManualClock,
    _dir: tempfile::TempDir,
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let engine = Engine::new(
        store,
        Keypair::generate(),
        Limits {
            max_participants: 3,
            max_sessions_per_convener: 2,
            ..Limits::default()
        },
        FaultSet::none(),
        Arc::new(clock.clone()),
    )
    .unwrap();
    Harness {
        engine,
        clock,
        _dir: dir,
    }
}

const SCOPE: Scope = Scope {
    ccc: Level::Internal,
    clearance: Level::Confidential,
};

fn trn() -> String {
    oap_wire::ids::TurnId::new().to_string()
}

impl Harness {
    async fn create(&self, actor: &Keypair, ttl: Option<u64>) -> String {
        let out = self
            .engine
            .create(CreateRequest {
                actor: actor.did.clone(),
                ttl_seconds: ttl,
                scope: SCOPE,
                state: None,
                turn_id: None,
                request_nonce: None,
            })
            .await
            .unwrap();
        assert_eq!(out.state_version, 0);
        out.session_id
    }

    async fn turn(
        &self,
        actor: &Keypair,
        sid: &str,
        expected: Option<u64>,
        op: Op,
    ) -> Result<TurnOutcome, EngineError> {
        self.turn_id(actor, sid, expected, op, trn()).await
    }

    async fn turn_id(
        &self,
        actor: &Keypair,
        sid: &str,
        expected: Option<u64>,
        op: Op,
        turn_id: String,
    ) -> Result<TurnOutcome, EngineError> {
        self.engine
            .turn(TurnRequest {
                actor: actor.did.clone(),
                session_id: sid.to_owned(),
                turn_id,
                expected_version: expected,
                op,
                request_nonce: None,
            })
            .await
    }

    fn credential(&self, issuer: &Keypair, kind: &str, sid: &str, subject: &Keypair) -> Value {
        let now = self.engine.now();
        let mut doc = json!({
            "type": kind, "issuer": issuer.did, "session_id": sid, "subject": subject.did,
            "nonce": oap_wire::ids::TurnId::new().to_string(),
            "issued_at": oap_wire::time::format_unix(now),
        });
        if kind != "SessionRevocation" {
            doc["expires_at"] = json!(oap_wire::time::format_unix(now + 60));
        }
        if kind == "SessionAdmission" {
            doc["scope"] = json!(SCOPE);
        }
        oap_wire::proof::sign_document(&doc, issuer, "2026-01-01T00:00:00Z", "assertionMethod")
            .unwrap()
    }

    async fn join(
        &self,
        convener: &Keypair,
        sid: &str,
        who: &Keypair,
    ) -> Result<TurnOutcome, EngineError> {
        let admission = self.credential(convener, "SessionAdmission", sid, who);
        self.turn(who, sid, None, Op::Join { admission }).await
    }

    async fn log(&self, actor: &Keypair, sid: &str) -> Vec<Value> {
        let page = self.engine.log(&actor.did, sid, 0, 1000).await.unwrap();
        page.receipts
            .iter()
            .map(|r| serde_json::from_str(r).unwrap())
            .collect()
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, EngineError>) -> &'static str {
    r.err().map(|e| e.code()).unwrap_or("ok")
}

#[tokio::test]
async fn versions_conflicts_and_duplicates() {
    let h = harness();
    let a = Keypair::generate();
    let sid = h.create(&a, None).await;
    let patch = |n: u64| Op::Update {
        patch: json!({"step": n}),
    };
    let t = trn();
    let out = h
        .turn_id(&a, &sid, Some(0), patch(1), t.clone())
        .await
        .unwrap();
    assert_eq!(out.state_version, 1);
    assert_eq!(
        code(h.turn(&a, &sid, Some(0), patch(2)).await),
        "version_conflict"
    );
    assert_eq!(
        code(h.turn_id(&a, &sid, Some(1), patch(2), t.clone()).await),
        "duplicate_turn"
    );
    // Duplicate is reported before the stale version.
    assert_eq!(
        code(h.turn_id(&a, &sid, Some(0), patch(2), t).await),
        "duplicate_turn"
    );
    let out = h
        .turn(
            &a,
            &sid,
            None,
            Op::Invoke {
                action: "echo".into(),
                input: json!(1),
            },
        )
        .await
        .unwrap();
    assert_eq!((out.state_version, out.output), (2, Some(json!(1))));
    assert_eq!(
        code(
            h.turn(
                &a,
                &sid,
                None,
                Op::Invoke {
                    action: "x".into(),
                    input: json!(1)
                }
            )
            .await
        ),
        "unknown_action"
    );
    let log = h.log(&a, &sid).await;
    let summary = oap_wire::receipt::verify_chain(&log, &sid, Some(h.engine.tool_did())).unwrap();
    assert_eq!(summary.head_state_version, 2);
    assert_eq!(
        log[0]["previous_turn_id"],
        json!(format!("trn_{}", &sid[4..]))
    );
}

#[tokio::test]
async fn concurrent_turns_on_one_session_are_serialised() {
    let h = harness();
    let a = Keypair::generate();
    let sid = h.create(&a, None).await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (engine, a, sid) = (h.engine.clone(), a.clone(), sid.clone());
        tasks.push(tokio::spawn(async move {
            engine
                .turn(TurnRequest {
                    actor: a.did.clone(),
                    session_id: sid,
                    turn_id: trn(),
                    expected_version: None,
                    op: Op::Invoke {
                        action: "echo".into(),
                        input: json!(i),
                    },
                    request_nonce: None,
                })
                .await
                .map(|o| o.state_version)
        }));
    }
    let mut versions = Vec::new();
    for t in tasks {
        versions.push(t.await.unwrap().unwrap());
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=50).collect::<Vec<u64>>());
    let log = h.log(&a, &sid).await;
    assert_eq!(
        oap_wire::receipt::verify_chain(&log, &sid, Some(h.engine.tool_did()))
            .unwrap()
            .len,
        51
    );
}

#[tokio::test]
async fn ledger_authority_handoff_and_revocation() {
    let h = harness();
    let (a, b, c) = (
        Keypair::generate(),
        Keypair::generate(),
        Keypair::generate(),
    );
    let sid = h.create(&a, None).await;
    h.join(&a, &sid, &b).await.unwrap();
    assert_eq!(
        code(h.engine.state(&c.did, &sid).await),
        "session_not_found"
    );
    assert_eq!(
        code(h.turn(&b, &sid, None, Op::Close).await),
        "not_convener"
    );
    assert_eq!(
        code(h.turn(&a, &sid, None, Op::Leave { revocation: None }).await),
        "convener_must_handoff"
    );
    // An admission by a non-convener.
    assert_eq!(code(h.join(&b, &sid, &c).await), "invalid_credential");
    let early = h.credential(&a, "SessionAdmission", &sid, &c);
    let handoff = h.credential(&a, "SessionHandoff", &sid, &b);
    h.turn(&a, &sid, None, Op::Handoff { handoff })
        .await
        .unwrap();
    let view = h.engine.state(&a.did, &sid).await.unwrap();
    assert_eq!(view["convener"], json!(b.did));
    assert_eq!(
        code(h.turn(&c, &sid, None, Op::Join { admission: early }).await),
        "invalid_credential"
    );
    assert_eq!(
        code(h.turn(&a, &sid, None, Op::Pause).await),
        "not_convener"
    );
    // Revocation by the new convener voids older admissions of the subject.
    let older = h.credential(&b, "SessionAdmission", &sid, &a);
    let revocation = h.credential(&b, "SessionRevocation", &sid, &a);
    h.turn(
        &b,
        &sid,
        None,
        Op::Leave {
            revocation: Some(revocation),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        code(h.engine.state(&a.did, &sid).await),
        "session_not_found"
    );
    assert_eq!(
        code(h.turn(&a, &sid, None, Op::Join { admission: older }).await),
        "invalid_credential"
    );
    h.clock.advance(1);
    h.join(&b, &sid, &a).await.unwrap();
    // A revocation of the convener itself is not accepted.
    let self_rev = h.credential(&b, "SessionRevocation", &sid, &b);
    assert_eq!(
        code(
            h.turn(
                &b,
                &sid,
                None,
                Op::Leave {
                    revocation: Some(self_rev)
                }
            )
            .await
        ),
        "invalid_credential"
    );
    // Deletion: convener only, then gone.
    assert_eq!(code(h.engine.delete(&a.did, &sid).await), "not_convener");
    h.engine.delete(&b.did, &sid).await.unwrap();
    assert_eq!(
        code(h.engine.state(&b.did, &sid).await),
        "session_not_found"
    );
    assert_eq!(code(h.join(&b, &sid, &c).await), "session_not_found");
}

#[tokio::test]
async fn quotas_and_participant_limit() {
    let h = harness();
    let a = Keypair::generate();
    let s1 = h.create(&a, None).await;
    let _s2 = h.create(&a, None).await;
    let req = || CreateRequest {
        actor: a.did.clone(),
        ttl_seconds: None,
        scope: SCOPE,
        state: None,
        turn_id: None,
        request_nonce: None,
    };
    assert_eq!(code(h.engine.create(req()).await), "session_quota_exceeded");
    let too_long = CreateRequest {
        ttl_seconds: Some(720 * 3600 + 1),
        ..req()
    };
    h.turn(&a, &s1, None, Op::Close).await.unwrap();
    assert_eq!(code(h.engine.create(too_long).await), "ttl_exceeds_limit");
    let s3 = h.create(&a, None).await;
    h.join(&a, &s3, &Keypair::generate()).await.unwrap();
    h.join(&a, &s3, &Keypair::generate()).await.unwrap();
    assert_eq!(
        code(h.join(&a, &s3, &Keypair::generate()).await),
        "participant_limit"
    );
}

#[tokio::test]
async fn lifecycle_with_expiry() {
    let h = harness();
    let a = Keypair::generate();
    let sid = h.create(&a, Some(10)).await;
    h.turn(&a, &sid, None, Op::Pause).await.unwrap();
    assert_eq!(
        code(h.turn(&a, &sid, None, Op::Pause).await),
        "invalid_transition"
    );
    assert_eq!(
        code(
            h.turn(&a, &sid, Some(1), Op::Update { patch: json!({}) })
                .await
        ),
        "session_paused"
    );
    h.turn(&a, &sid, None, Op::Resume).await.unwrap();
    assert_eq!(
        code(h.turn(&a, &sid, None, Op::Resume).await),
        "invalid_transition"
    );
    h.clock.advance(9);
    h.turn(
        &a,
        &sid,
        Some(2),
        Op::Update {
            patch: json!({"step": 1}),
        },
    )
    .await
    .unwrap();
    h.clock.advance(1);
    assert_eq!(
        h.engine.state(&a.did, &sid).await.unwrap()["status"],
        json!("expired")
    );
    assert_eq!(
        code(
            h.turn(&a, &sid, Some(3), Op::Update { patch: json!({}) })
                .await
        ),
        "session_expired"
    );
    assert_eq!(
        code(h.turn(&a, &sid, None, Op::Close).await),
        "session_expired"
    );
    // Expiry appends nothing.
    assert_eq!(h.log(&a, &sid).await.len(), 4);
    // An expired session no longer counts towards the quota.
    h.create(&a, None).await;
    h.create(&a, None).await;
}

#[tokio::test]
async fn close_is_idempotent_and_final() {
    let h = harness();
    let a = Keypair::generate();
    let sid = h.create(&a, None).await;
    let first = h.turn(&a, &sid, None, Op::Close).await.unwrap();
    let again = h.turn(&a, &sid, Some(99), Op::Close).await.unwrap();
    assert_eq!(
        (again.state_version, &again.receipt),
        (first.state_version, &first.receipt)
    );
    assert_eq!(
        code(h.turn(&a, &sid, None, Op::Resume).await),
        "session_closed"
    );
    assert_eq!(h.log(&a, &sid).await.len(), 2);
}

#[tokio::test]
async fn request_nonces_are_single_use() {
    let h = harness();
    let now = h.engine.now();
    assert!(matches!(
        h.engine
            .accept_request_nonce("did:key:zA", "nonce-1234567890", now)
            .await
            .unwrap(),
        NonceCheck::Fresh(_)
    ));
    assert!(matches!(
        h.engine
            .accept_request_nonce("did:key:zA", "nonce-1234567890", now)
            .await
            .unwrap(),
        NonceCheck::Replayed
    ));
    assert!(matches!(
        h.engine
            .accept_request_nonce("did:key:zB", "nonce-1234567890", now)
            .await
            .unwrap(),
        NonceCheck::Fresh(_)
    ));
}

/// Throughput probe: 16 sessions, one sequential writer each (run with `--ignored`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "throughput probe, not a check"]
async fn throughput_probe() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let engine = Engine::new(
        store,
        Keypair::generate(),
        Limits::default(),
        FaultSet::none(),
        Arc::new(super::clock::SystemClock),
    )
    .unwrap();
    let a = Keypair::generate();
    let mut sids = Vec::new();
    for _ in 0..16 {
        let out = engine
            .create(CreateRequest {
                actor: a.did.clone(),
                ttl_seconds: None,
                scope: SCOPE,
                state: None,
                turn_id: None,
                request_nonce: None,
            })
            .await
            .unwrap();
        sids.push(out.session_id);
    }
    let cpu = || {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let f: Vec<u64> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
    };
    let cpu0 = cpu();
    let start = std::time::Instant::now();
    let mut tasks = Vec::new();
    for sid in sids {
        let (engine, actor) = (engine.clone(), a.did.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while start.elapsed() < std::time::Duration::from_secs(3) {
                engine
                    .turn(TurnRequest {
                        actor: actor.clone(),
                        session_id: sid.clone(),
                        turn_id: trn(),
                        expected_version: Some(n),
                        op: Op::Update {
                            patch: json!({"step": n}),
                        },
                        request_nonce: None,
                    })
                    .await
                    .unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    eprintln!(
        "cpu ticks (1/100 s) per 1000 turns: {:.1}",
        (cpu() - cpu0) as f64 * 1000.0 / total as f64
    );
    eprintln!(
        "{total} durable updates in {:?}: {:.0}/s",
        start.elapsed(),
        total as f64 / start.elapsed().as_secs_f64()
    );
}

/// CPU probe of one receipt (run with `--ignored`).
#[test]
#[ignore = "cost probe, not a check"]
fn receipt_cost_probe() {
    let key = Keypair::generate();
    let state = json!({"step": 1, "title": "x"});
    let schema = super::schema::StateSchema::new().unwrap();
    let t = std::time::Instant::now();
    for _ in 0..1000 {
        let facts = super::receipts::Facts {
            session_id: "ses_01HX2QF8GZRP9V3K5YXJW0AQ7M",
            turn_id: "trn_01HX2QFP4N8R5T6V7W8X9Y0Z1A",
            state_version: 5,
            actor: &key.did,
            action: "update",
            state: &state,
            issued_at: "2026-01-01T00:00:00Z",
        };
        let link = super::receipts::Link {
            previous_turn_id: "trn_01HX2QFP4N8R5T6V7W8X9Y0Z1B",
            prev_receipt_hash: "00",
        };
        super::receipts::issue(facts, Some(link), &key, &FaultSet::none()).unwrap();
    }
    eprintln!("receipt: {:?}", t.elapsed() / 1000);
    let t = std::time::Instant::now();
    for _ in 0..1000 {
        schema.check(&state).unwrap();
    }
    eprintln!("schema: {:?}", t.elapsed() / 1000);
}

/// A nonce made durable by one run is still refused by the next run on the same data, within
/// the window; a fresh store holds no live nonce, so its engine skips the store lookup.
#[tokio::test]
async fn request_nonces_of_a_previous_run_stay_spent() {
    use crate::store::Store as _;
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new();
    let engine_on = |store: Arc<SqliteStore>| {
        Engine::new(
            store,
            Keypair::generate(),
            Limits::default(),
            FaultSet::none(),
            Arc::new(clock.clone()),
        )
        .unwrap()
    };
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let now = clock.unix_now();
    assert!(store.live_request_nonces(now).unwrap().is_empty());
    let first = engine_on(store.clone());
    let NonceCheck::Fresh(n) = first
        .accept_request_nonce("did:key:zA", "nonce-1234567890", now)
        .await
        .unwrap()
    else {
        panic!("a first use must be fresh");
    };
    first.record_request_nonce(n).wait().await.unwrap();
    assert_eq!(store.live_request_nonces(now).unwrap(), vec![n]);
    assert!(
        store
            .live_request_nonces(n.expires_at + 1)
            .unwrap()
            .is_empty()
    );
    first.shutdown().await;
    drop((first, store));
    let second = engine_on(Arc::new(SqliteStore::open(dir.path()).unwrap()));
    assert!(matches!(
        second
            .accept_request_nonce("did:key:zA", "nonce-1234567890", now)
            .await
            .unwrap(),
        NonceCheck::Replayed
    ));
    assert!(matches!(
        second
            .accept_request_nonce("did:key:zA", "nonce-0987654321", now)
            .await
            .unwrap(),
        NonceCheck::Fresh(_)
    ));
}
