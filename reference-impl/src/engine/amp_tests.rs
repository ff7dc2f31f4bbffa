//! Unit tests of the engine's AMP half: messages applied directly, no HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use oap_wire::Keypair;
use serde_json::{Map, Value, json};

use super::*;
use crate::config::Limits;
use crate::engine::clock::ManualClock;
use crate::engine::{CreateRequest, Op, TurnRequest};
use crate::faults::FaultSet;
use crate::store::SqliteStore;

struct Amp {
    engine: Engine,
    clock: ManualClock,
    dir: tempfile::TempDir,
}

fn open(dir: tempfile::TempDir, clock: ManualClock) -> Amp {
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
    Amp { engine, clock, dir }
}

fn amp() -> Amp {
    open(tempfile::tempdir().unwrap(), ManualClock::new())
}

fn new_sid() -> String {
    oap_wire::ids::SessionId::new().to_string()
}

fn init(ttl: u64, invitees: &[&Keypair]) -> AmpMessage {
    AmpMessage::Init {
        purpose: "code-review-workflow".into(),
        ttl,
        capabilities_required: vec!["echo".into()],
        participants: invitees.iter().map(|k| k.did.clone()).collect(),
    }
}

impl Amp {
    async fn send(
        &self,
        from: &Keypair,
        session_id: &str,
        msg_id: &str,
        message: AmpMessage,
    ) -> Result<AmpOutcome, EngineError> {
        let mut entry = Map::new();
        entry.insert("type".into(), json!(message.kind()));
        entry.insert("id".into(), json!(msg_id));
        entry.insert("from".into(), json!(from.did));
        self.engine
            .amp_message(AmpRequest {
                actor: from.did.clone(),
                session_id: session_id.to_owned(),
                msg_id: msg_id.to_owned(),
                message,
                entry,
                request_nonce: None,
            })
            .await
    }

    async fn ack(&self, from: &Keypair, sid: &str, id: &str, m: AmpMessage) -> (u64, &'static str) {
        match self.send(from, sid, id, m).await {
            Ok(AmpOutcome::Ack {
                seq,
                status,
                duplicate: false,
            }) => (seq, status),
            other => panic!("expected a fresh ack, got {other:?}"),
        }
    }

    async fn err(&self, from: &Keypair, sid: &str, id: &str, m: AmpMessage) -> &'static str {
        match self.send(from, sid, id, m).await {
            Err(e) => e.code(),
            Ok(o) => panic!("expected a refusal, got {o:?}"),
        }
    }

    async fn state(&self, who: &Keypair, sid: &str) -> Value {
        self.engine.amp_state(&who.did, sid).await.unwrap()
    }

    /// A session with the given invitees, all of whom accepted.
    async fn active(&self, initiator: &Keypair, invitees: &[&Keypair]) -> String {
        let sid = new_sid();
        let out = self
            .send(initiator, &sid, "init", init(3600, invitees))
            .await;
        assert!(matches!(out, Ok(AmpOutcome::Accepted { .. })), "{out:?}");
        for (i, k) in invitees.iter().enumerate() {
            self.ack(k, &sid, &format!("accept-{i}"), AmpMessage::Accept)
                .await;
        }
        sid
    }
}

/// The history's seqs are 1..=n, and the state's version is n − 1 (one turn per entry).
async fn assert_gap_free(t: &Amp, who: &Keypair, sid: &str) -> usize {
    let state = t.state(who, sid).await;
    let seqs: Vec<u64> = state["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    let n = seqs.len();
    assert_eq!(seqs, (1..=n as u64).collect::<Vec<_>>());
    let log = t.engine.log(&who.did, sid, 0, 1000).await.unwrap();
    assert_eq!(log.receipts.len(), n, "one receipt per history entry");
    n
}

#[tokio::test]
async fn init_without_invitees_is_active_with_the_rfc_state() {
    let t = amp();
    let a = Keypair::generate();
    let sid = new_sid();
    let out = t.send(&a, &sid, "m-1", init(60, &[])).await.unwrap();
    let AmpOutcome::Accepted {
        expires_at,
        status,
        duplicate,
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!((status, duplicate), ("active", false));
    let state = t.state(&a, &sid).await;
    assert_eq!(state["expires_at"], json!(expires_at));
    assert_eq!(state["status"], "active");
    assert_eq!(state["participants"], json!([a.did]));
    assert_eq!(
        state["context"],
        json!({"purpose": "code-review-workflow", "current_step": 0, "total_steps": null, "shared_data": {}})
    );
    assert_eq!(state["history"][0]["seq"], 1);
    assert_eq!(state["history"][0]["type"], "SESSION_INIT");
    assert_eq!(state["history"][0]["id"], "m-1");
    let at = |m: &str| oap_wire::time::parse_rfc3339(state[m].as_str().unwrap()).unwrap();
    assert_eq!((at("expires_at") - at("created_at")).whole_seconds(), 60);
}

#[tokio::test]
async fn invitees_must_all_accept_before_the_session_is_active() {
    let t = amp();
    let (a, b, c) = (
        Keypair::generate(),
        Keypair::generate(),
        Keypair::generate(),
    );
    let sid = new_sid();
    let out = t.send(&a, &sid, "i", init(3600, &[&b, &c])).await.unwrap();
    assert!(matches!(out, AmpOutcome::Accepted { status: "init", .. }));
    assert_eq!(
        t.err(&a, &sid, "m", AmpMessage::Msg).await,
        "invalid_transition"
    );
    assert_eq!(
        t.err(&a, &sid, "x", AmpMessage::Accept).await,
        "not_invitee"
    );
    assert_eq!(t.ack(&b, &sid, "ok", AmpMessage::Accept).await, (2, "init"));
    // Accepting twice (a new message id) is an illegal transition.
    assert_eq!(
        t.err(&b, &sid, "ok2", AmpMessage::Accept).await,
        "invalid_transition"
    );
    assert_eq!(
        t.err(&b, &sid, "no", AmpMessage::Reject).await,
        "invalid_transition"
    );
    assert_eq!(
        t.ack(&c, &sid, "ok", AmpMessage::Accept).await,
        (3, "active")
    );
    assert_eq!(
        t.err(&c, &sid, "late", AmpMessage::Accept).await,
        "invalid_transition"
    );
    assert_eq!(
        t.ack(&b, &sid, "hello", AmpMessage::Msg).await,
        (4, "active")
    );
    let state = t.state(&c, &sid).await;
    assert_eq!(state["participants"], json!([a.did, b.did, c.did]));
    assert_eq!(assert_gap_free(&t, &a, &sid).await, 4);
}

#[tokio::test]
async fn a_rejection_closes_the_invitation() {
    let t = amp();
    let (a, b, c) = (
        Keypair::generate(),
        Keypair::generate(),
        Keypair::generate(),
    );
    let sid = new_sid();
    t.send(&a, &sid, "i", init(3600, &[&b, &c])).await.unwrap();
    assert_eq!(
        t.ack(&b, &sid, "no", AmpMessage::Reject).await,
        (2, "closed")
    );
    assert_eq!(
        t.err(&c, &sid, "ok", AmpMessage::Accept).await,
        "session_closed"
    );
    assert_eq!(
        t.err(&a, &sid, "bye", AmpMessage::Close).await,
        "session_closed"
    );
    let state = t.state(&b, &sid).await;
    assert_eq!(state["status"], "closed");
    assert_eq!(state["participants"], json!([a.did, b.did, c.did]));
}

#[tokio::test]
async fn suspend_and_resume_belong_to_the_initiator() {
    let t = amp();
    let (a, b) = (Keypair::generate(), Keypair::generate());
    let sid = t.active(&a, &[&b]).await;
    assert_eq!(
        t.err(&b, &sid, "s", AmpMessage::Suspend).await,
        "not_convener"
    );
    assert_eq!(
        t.err(&a, &sid, "r", AmpMessage::Resume).await,
        "invalid_transition"
    );
    assert_eq!(
        t.ack(&a, &sid, "s", AmpMessage::Suspend).await.1,
        "suspended"
    );
    assert_eq!(
        t.err(&b, &sid, "m", AmpMessage::Msg).await,
        "session_suspended"
    );
    let patch = AmpMessage::State {
        patch: json!({"current_step": 1}),
        expected_seq: 3,
    };
    assert_eq!(t.err(&a, &sid, "st", patch).await, "session_suspended");
    assert_eq!(
        t.err(&a, &sid, "s2", AmpMessage::Suspend).await,
        "invalid_transition"
    );
    assert_eq!(
        t.err(&b, &sid, "r", AmpMessage::Resume).await,
        "not_convener"
    );
    assert_eq!(t.ack(&a, &sid, "r", AmpMessage::Resume).await.1, "active");
    assert_eq!(t.ack(&b, &sid, "m", AmpMessage::Msg).await.1, "active");
    // Suspended → closed at once.
    t.ack(&a, &sid, "s3", AmpMessage::Suspend).await;
    assert_eq!(t.ack(&a, &sid, "c", AmpMessage::Close).await.1, "closed");
    assert_gap_free(&t, &b, &sid).await;
}

#[tokio::test]
async fn close_is_a_handshake_with_every_invitee() {
    let t = amp();
    let (a, b, c) = (
        Keypair::generate(),
        Keypair::generate(),
        Keypair::generate(),
    );
    let sid = t.active(&a, &[&b, &c]).await;
    assert_eq!(
        t.err(&b, &sid, "c", AmpMessage::Close).await,
        "invalid_transition"
    );
    assert_eq!(t.ack(&a, &sid, "c", AmpMessage::Close).await.1, "closing");
    assert_eq!(
        t.err(&a, &sid, "c2", AmpMessage::Close).await,
        "invalid_transition"
    );
    assert_eq!(
        t.err(&b, &sid, "m", AmpMessage::Msg).await,
        "invalid_transition"
    );
    assert_eq!(t.ack(&b, &sid, "c", AmpMessage::Close).await.1, "closing");
    assert_eq!(
        t.err(&b, &sid, "c2", AmpMessage::Close).await,
        "invalid_transition"
    );
    assert_eq!(t.ack(&c, &sid, "c", AmpMessage::Close).await.1, "closed");
    assert_eq!(
        t.err(&a, &sid, "m", AmpMessage::Msg).await,
        "session_closed"
    );
    // Without invitees, a close goes straight to closed; so does cancelling an invitation.
    let solo = t.active(&a, &[]).await;
    assert_eq!(t.ack(&a, &solo, "c", AmpMessage::Close).await.1, "closed");
    let other = sid_init(&t, &b, &[&c]).await;
    assert_eq!(t.ack(&b, &other, "c", AmpMessage::Close).await.1, "closed");
}

async fn sid_init(t: &Amp, initiator: &Keypair, invitees: &[&Keypair]) -> String {
    let sid = new_sid();
    t.send(initiator, &sid, "i", init(3600, invitees))
        .await
        .unwrap();
    sid
}

#[tokio::test]
async fn init_rejections_follow_the_profile_order_and_leave_no_trace() {
    let t = amp();
    let (a, b, c, d) = (
        Keypair::generate(),
        Keypair::generate(),
        Keypair::generate(),
        Keypair::generate(),
    );
    let reject = |o: Result<AmpOutcome, EngineError>| match o {
        Ok(AmpOutcome::Rejected(r)) => r,
        other => panic!("expected a rejection, got {other:?}"),
    };
    let s = new_sid();
    let max_ttl = Limits::default().max_ttl_seconds();
    let too_long = t.send(&a, &s, "i", init(max_ttl + 1, &[&b, &c, &d])).await;
    assert_eq!(reject(too_long), "ttl_exceeds_limit");
    let too_many = t.send(&a, &s, "i", init(60, &[&b, &c, &d])).await;
    assert_eq!(reject(too_many), "participant_limit");
    let mut unsupported = init(60, &[]);
    if let AmpMessage::Init {
        capabilities_required,
        ..
    } = &mut unsupported
    {
        capabilities_required.push("teleport".into());
    }
    assert_eq!(
        reject(t.send(&a, &s, "i", unsupported).await),
        "capabilities_unsupported"
    );
    // Nothing was created: the same message is accepted now.
    assert!(matches!(
        t.send(&a, &s, "i", init(60, &[])).await,
        Ok(AmpOutcome::Accepted {
            duplicate: false,
            ..
        })
    ));
    // The id is in use, for anyone, with any other message id.
    assert_eq!(
        reject(t.send(&b, &s, "i", init(60, &[])).await),
        "session_id_in_use"
    );
    assert_eq!(
        reject(t.send(&a, &s, "i2", init(60, &[])).await),
        "session_id_in_use"
    );
    // The quota (2) counts open sessions of both bindings.
    t.engine
        .create(CreateRequest {
            actor: a.did.clone(),
            ttl_seconds: None,
            scope: AMP_SCOPE,
            state: None,
            turn_id: None,
            request_nonce: None,
        })
        .await
        .unwrap();
    assert_eq!(
        reject(t.send(&a, &new_sid(), "i", init(60, &[])).await),
        "session_quota_exceeded"
    );
    assert_eq!(t.ack(&a, &s, "c", AmpMessage::Close).await.1, "closed");
    assert!(matches!(
        t.send(&a, &new_sid(), "i", init(60, &[])).await,
        Ok(AmpOutcome::Accepted { .. })
    ));
}

#[tokio::test]
async fn duplicates_are_never_applied_twice_and_get_the_original_answer() {
    let t = amp();
    let (a, b) = (Keypair::generate(), Keypair::generate());
    let sid = t.active(&a, &[&b]).await;
    let (seq, _) = t.ack(&b, &sid, "m-1", AmpMessage::Msg).await;
    let again = t.send(&b, &sid, "m-1", AmpMessage::Msg).await.unwrap();
    assert_eq!(
        again,
        AmpOutcome::Ack {
            seq,
            status: "active",
            duplicate: true
        }
    );
    // The same id from another sender is another message.
    assert_eq!(t.ack(&a, &sid, "m-1", AmpMessage::Msg).await.0, seq + 1);
    // A refused message was not applied, so its id may be used again.
    assert_eq!(
        t.err(&a, &sid, "r-1", AmpMessage::Resume).await,
        "invalid_transition"
    );
    assert_eq!(t.ack(&a, &sid, "r-1", AmpMessage::Msg).await.0, seq + 2);
    // The INIT's duplicate gets SESSION_ACCEPT again, even after the session closed.
    t.ack(&a, &sid, "c", AmpMessage::Close).await;
    t.ack(&b, &sid, "c", AmpMessage::Close).await;
    let init_again = t.send(&a, &sid, "init", init(3600, &[&b])).await.unwrap();
    assert!(matches!(
        init_again,
        AmpOutcome::Accepted {
            status: "closed",
            duplicate: true,
            ..
        }
    ));
    let dup = t.send(&b, &sid, "m-1", AmpMessage::Msg).await.unwrap();
    assert!(
        matches!(dup, AmpOutcome::Ack { duplicate: true, status: "closed", seq: s } if s == seq)
    );
    assert_eq!(assert_gap_free(&t, &a, &sid).await, 7);
}

#[tokio::test]
async fn state_updates_check_expected_seq_and_step_bounds() {
    let t = amp();
    let (a, b) = (Keypair::generate(), Keypair::generate());
    let sid = t.active(&a, &[&b]).await;
    let state = |patch: Value, expected_seq: u64| AmpMessage::State {
        patch,
        expected_seq,
    };
    let conflict = t
        .send(&a, &sid, "s", state(json!({"current_step": 1}), 1))
        .await;
    assert!(matches!(
        conflict,
        Err(EngineError::SeqConflict {
            expected: 1,
            current: 2
        })
    ));
    let set = json!({"current_step": 2, "total_steps": 5, "shared_data": {"findings": []}});
    assert_eq!(t.ack(&a, &sid, "s", state(set, 2)).await.0, 3);
    let past = json!({"current_step": 6});
    assert_eq!(
        t.err(&b, &sid, "p", state(past, 3)).await,
        "state_schema_violation"
    );
    let unset = json!({"total_steps": null, "current_step": 9});
    assert_eq!(t.ack(&b, &sid, "u", state(unset, 3)).await.0, 4);
    let ctx = &t.state(&a, &sid).await["context"];
    assert_eq!(
        ctx,
        &json!({"purpose": "code-review-workflow", "current_step": 9, "total_steps": null, "shared_data": {"findings": []}})
    );
    // The engine state is the context: the receipt chain's state digest covers it.
    let log = t.engine.log(&a.did, &sid, 3, 1).await.unwrap();
    let receipt: Value = serde_json::from_str(&log.receipts[0]).unwrap();
    assert_eq!(receipt["action"], "update");
    assert_eq!(
        receipt["state_digest"],
        json!(oap_wire::jcs::sha256_jcs_hex(ctx).unwrap())
    );
}

#[tokio::test]
async fn expiry_closes_every_status_and_appends_nothing() {
    let t = amp();
    let (a, b) = (Keypair::generate(), Keypair::generate());
    let invited = sid_init(&t, &a, &[&b]).await;
    let sid = new_sid();
    t.send(&a, &sid, "i", init(10, &[])).await.unwrap();
    t.ack(&a, &sid, "m", AmpMessage::Msg).await;
    t.clock.advance(10);
    assert_eq!(t.state(&a, &sid).await["status"], "closed");
    assert_eq!(
        t.err(&a, &sid, "m2", AmpMessage::Msg).await,
        "session_expired"
    );
    assert_eq!(
        t.err(&a, &sid, "c", AmpMessage::Close).await,
        "session_expired"
    );
    let dup = t.send(&a, &sid, "m", AmpMessage::Msg).await.unwrap();
    assert!(matches!(
        dup,
        AmpOutcome::Ack {
            seq: 2,
            status: "closed",
            duplicate: true
        }
    ));
    assert_eq!(assert_gap_free(&t, &a, &sid).await, 2);
    // The invitation (ttl 3600) is still open.
    assert_eq!(
        t.ack(&b, &invited, "ok", AmpMessage::Accept).await.1,
        "active"
    );
    // An expired session no longer counts towards the quota.
    t.send(&a, &new_sid(), "i", init(60, &[])).await.unwrap();
}

#[tokio::test]
async fn outsiders_cannot_tell_sessions_apart_and_bindings_stay_apart() {
    let t = amp();
    let (a, b, outsider) = (
        Keypair::generate(),
        Keypair::generate(),
        Keypair::generate(),
    );
    let sid = t.active(&a, &[&b]).await;
    for target in [sid.clone(), new_sid()] {
        assert_eq!(
            t.err(&outsider, &target, "m", AmpMessage::Msg).await,
            "session_not_found"
        );
        let e = t
            .engine
            .amp_state(&outsider.did, &target)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "session_not_found");
    }
    // An OAP session is no AMP session, and the OAP binding cannot write an AMP session.
    let oap = t
        .engine
        .create(CreateRequest {
            actor: a.did.clone(),
            ttl_seconds: None,
            scope: AMP_SCOPE,
            state: None,
            turn_id: None,
            request_nonce: None,
        })
        .await
        .unwrap()
        .session_id;
    assert_eq!(
        t.err(&a, &oap, "m", AmpMessage::Msg).await,
        "session_not_found"
    );
    let write = t
        .engine
        .turn(TurnRequest {
            actor: a.did.clone(),
            session_id: sid.clone(),
            turn_id: oap_wire::ids::TurnId::new().to_string(),
            expected_version: None,
            op: Op::Update {
                patch: json!({"current_step": 3}),
            },
            request_nonce: None,
        })
        .await;
    assert_eq!(write.unwrap_err().code(), "invalid_transition");
    assert_gap_free(&t, &a, &sid).await;
}

#[tokio::test]
async fn sessions_histories_and_duplicates_survive_a_restart() {
    let t = amp();
    let (a, b) = (Keypair::generate(), Keypair::generate());
    let sid = t.active(&a, &[&b]).await;
    t.ack(&b, &sid, "m-1", AmpMessage::Msg).await;
    let before = t.state(&a, &sid).await;
    t.engine.shutdown().await;
    let Amp { clock, dir, .. } = t;
    let t = open(dir, clock);
    assert_eq!(t.state(&a, &sid).await, before);
    let dup = t.send(&b, &sid, "m-1", AmpMessage::Msg).await.unwrap();
    assert!(matches!(
        dup,
        AmpOutcome::Ack {
            seq: 3,
            duplicate: true,
            ..
        }
    ));
    assert_eq!(t.ack(&a, &sid, "m-2", AmpMessage::Msg).await.0, 4);
    assert_gap_free(&t, &a, &sid).await;
}
