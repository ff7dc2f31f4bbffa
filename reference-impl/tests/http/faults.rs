//! One test per fault switch: the scenario gives the correct answer with every switch off and
//! a different, wrong one with the switch on.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use http::StatusCode;
use oap_ref::engine::Engine;
use oap_ref::engine::clock::ManualClock;
use oap_ref::store::{
    AppliedMessage, ReceiptRow, RequestNonce, SqliteStore, Store, StoreError, Ticket, Write,
};
use oap_ref::{AppState, Fault, FaultSet, Limits, app};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::amp::{msg as amp_msg, post as amp_post, state as amp_state};
use crate::support::*;

/// Status and code of an answer, e.g. `"409 version_conflict"` or `"200"`.
fn sc(got: &(StatusCode, Value)) -> String {
    match got.1.get("code").and_then(Value::as_str) {
        Some(code) => format!("{} {code}", got.0.as_u16()),
        None => got.0.as_u16().to_string(),
    }
}

/// Runs `scenario` on a correct Tool and on one with `fault`, returning both outcomes.
async fn both<F, Fut>(fault: Fault, scenario: F) -> (String, String)
where
    F: Fn(Arc<Tool>) -> Fut,
    Fut: Future<Output = String>,
{
    let off = scenario(Arc::new(Tool::new())).await;
    let on = scenario(Arc::new(Tool::with_faults(FaultSet::one(fault)))).await;
    (off, on)
}

macro_rules! fault_tests {
    ($($name:ident: $fault:ident => ($correct:expr, $broken:expr), $scenario:expr;)+) => {
        $(
            #[tokio::test]
            async fn $name() {
                let (off, on) = both(Fault::$fault, $scenario).await;
                assert_eq!(off, $correct, "correct Tool");
                assert_eq!(on, $broken, "with {}", Fault::$fault.name());
            }
        )+

        /// Every fault switch has a test here.
        #[test]
        fn every_fault_is_tested() {
            let tested = [$(Fault::$fault),+];
            for f in Fault::all() {
                assert!(tested.contains(f), "no test for {}", f.name());
            }
        }
    };
}

async fn session_with_b(tool: &Tool) -> (Agent, Agent, String) {
    let (a, b) = (Agent::new(), Agent::new());
    let sid = tool.create(&a).await;
    assert_eq!(tool.join(&a, &sid, &b).await.0, StatusCode::OK);
    (a, b, sid)
}

fn chain_ok(tool: &Tool, sid: &str, log: &[Value]) -> String {
    match oap_wire::receipt::verify_chain(log, sid, Some(&tool.tool_did())) {
        Ok(_) => "chain ok".into(),
        Err(_) => "chain broken".into(),
    }
}

fn create_bytes() -> Vec<u8> {
    json!({ "envelope_version": "1.0", "input": { "scope": scope("public", "public") } })
        .to_string()
        .into_bytes()
}

fn invoke_in(sid: &str) -> Value {
    json!({ "envelope_version": "1.0", "action": "echo", "input": 1, "session": { "session_id": sid, "turn_id": trn() } })
}

/// A request signed by the small-order public key (the identity point) with R = identity and
/// S = 0: it verifies under the lenient equation for every message, never under the strict one.
fn small_order_request(tool: &Tool) -> http::Request<axum::body::Body> {
    let mut key = vec![0xed, 0x01, 0x01];
    key.extend([0u8; 31]);
    let did = format!("did:key:z{}", bs58::encode(key).into_string());
    let body = create_bytes();
    let digest = oap_wire::digest::content_digest(&body);
    let mut sig = [0u8; 64];
    sig[0] = 1;
    let input = format!(
        r#"sig1=("@method" "@target-uri" "content-digest" "content-type");created={};nonce="{}";keyid="{did}";alg="ed25519""#,
        tool.now(),
        nonce()
    );
    http::Request::post("/oap/session/create")
        .header("host", HOST)
        .header("content-type", "application/json")
        .header("content-digest", digest)
        .header("signature-input", input)
        .header(
            "signature",
            format!(
                "sig1=:{}:",
                base64::engine::general_purpose::STANDARD.encode(sig)
            ),
        )
        .body(axum::body::Body::from(body))
        .unwrap()
}

/// An AMP reply as "200 <status>" or "<http> <reason>".
fn amp_sc(got: &(StatusCode, Value)) -> String {
    let (status, body) = got;
    match body["type"].as_str() {
        Some("SESSION_ERROR") => format!(
            "{} {}",
            status.as_u16(),
            body["reason"].as_str().unwrap_or("")
        ),
        _ => format!(
            "{} {}",
            status.as_u16(),
            body["status"].as_str().unwrap_or("")
        ),
    }
}

/// An active AMP session of `a` with the accepted invitee `b`.
async fn amp_session(tool: &Tool, ttl: u64) -> (Agent, Agent, String) {
    let (a, b) = (Agent::new(), Agent::new());
    let sid = oap_wire::ids::SessionId::new().to_string();
    let init = amp_msg(
        &a,
        &sid,
        "SESSION_INIT",
        "i",
        json!({"purpose": "p", "ttl": ttl, "participants": [b.did()]}),
    );
    assert_eq!(amp_sc(&amp_post(tool, &a, &init).await), "200 init");
    let accept = amp_msg(&b, &sid, "SESSION_ACCEPT", "ok", json!({}));
    assert_eq!(amp_sc(&amp_post(tool, &b, &accept).await), "200 active");
    (a, b, sid)
}

fn history_seqs(state: &Value) -> String {
    let seqs: Vec<String> = state["history"]
        .as_array()
        .map(|h| h.iter().map(|e| e["seq"].to_string()).collect())
        .unwrap_or_default();
    seqs.join(" ")
}

fault_tests! {
    amp_illegal_transitions: AmpIllegalTransitions => ("409 invalid_transition", "200 closed"), |tool| async move {
        let (_, b, sid) = amp_session(&tool, 3600).await;
        amp_sc(&amp_post(&tool, &b, &amp_msg(&b, &sid, "SESSION_CLOSE", "c", json!({}))).await)
    };
    amp_history_gap: AmpHistoryGap => ("1 2 3", "1 3"), |tool| async move {
        let (a, _, sid) = amp_session(&tool, 3600).await;
        amp_post(&tool, &a, &amp_msg(&a, &sid, "SESSION_MSG", "m", json!({"body": 1}))).await;
        history_seqs(&amp_state(&tool, &a, &sid).await.1)
    };
    amp_apply_duplicates: AmpApplyDuplicates => ("3 3 | 1 2 3", "3 4 | 1 2 3 4"), |tool| async move {
        let (a, _, sid) = amp_session(&tool, 3600).await;
        let m = amp_msg(&a, &sid, "SESSION_MSG", "m", json!({"body": 1}));
        let first = amp_post(&tool, &a, &m).await.1["seq"].clone();
        let again = amp_post(&tool, &a, &m).await.1["seq"].clone();
        format!("{first} {again} | {}", history_seqs(&amp_state(&tool, &a, &sid).await.1))
    };
    amp_accept_outsiders: AmpAcceptOutsiders => ("404 session_not_found", "200 active"), |tool| async move {
        let (_, _, sid) = amp_session(&tool, 3600).await;
        let outsider = Agent::new();
        let m = amp_msg(&outsider, &sid, "SESSION_MSG", "m", json!({"body": "hijack"}));
        amp_sc(&amp_post(&tool, &outsider, &m).await)
    };
    amp_skip_expected_seq_check: AmpSkipExpectedSeqCheck => ("409 version_conflict | 0", "200 active | 1"), |tool| async move {
        // The history ends at seq 2 (INIT, ACCEPT); a state expecting seq 1 is stale.
        let (a, _, sid) = amp_session(&tool, 3600).await;
        let stale = amp_msg(&a, &sid, "SESSION_STATE", "s", json!({"patch": {"current_step": 1}, "expected_seq": 1}));
        let answer = amp_sc(&amp_post(&tool, &a, &stale).await);
        format!("{answer} | {}", amp_state(&tool, &a, &sid).await.1["context"]["current_step"])
    };
    amp_unserialised_messages: AmpUnserialisedMessages => ("3 4 | 1 2 3 4", "3 3 | 1 2 3"), |tool| async move {
        // Two participants send at once: each message gets its own seq, or the broken Tool
        // gives both the same one and the second overwrites the first's history entry.
        let (a, b, sid) = amp_session(&tool, 3600).await;
        let (ma, mb) = (
            amp_msg(&a, &sid, "SESSION_MSG", "ma", json!({"body": 1})),
            amp_msg(&b, &sid, "SESSION_MSG", "mb", json!({"body": 2})),
        );
        let (ra, rb) = tokio::join!(amp_post(&tool, &a, &ma), amp_post(&tool, &b, &mb));
        let mut seqs = [ra.1["seq"].to_string(), rb.1["seq"].to_string()];
        seqs.sort();
        format!("{} | {}", seqs.join(" "), history_seqs(&amp_state(&tool, &a, &sid).await.1))
    };
    amp_expiry_off_by_one: AmpExpiryOffByOne => ("409 session_expired", "200 active"), |tool| async move {
        // At created_at + ttl exactly the session is expired; the broken Tool is a second late.
        let (a, _, sid) = amp_session(&tool, 5).await;
        tool.clock.advance(5);
        amp_sc(&amp_post(&tool, &a, &amp_msg(&a, &sid, "SESSION_MSG", "late", json!({"body": 1}))).await)
    };
    amp_ignore_expiry: AmpIgnoreExpiry => ("409 session_expired", "200 active"), |tool| async move {
        let (a, _, sid) = amp_session(&tool, 5).await;
        tool.clock.advance(3600);
        amp_sc(&amp_post(&tool, &a, &amp_msg(&a, &sid, "SESSION_MSG", "late", json!({"body": 1}))).await)
    };
    skip_expected_version_check: SkipExpectedVersionCheck => ("409 version_conflict", "200"), |tool| async move {
        let a = Agent::new();
        let sid = tool.create(&a).await;
        sc(&tool.update(&a, &sid, 7, json!({"step": 1})).await)
    };
    unserialised_read_modify_write: UnserialisedReadModifyWrite => ("acks 2, version 2", "acks 2, version 1"), |tool| async move {
        let a = Agent::new();
        let sid = tool.create(&a).await;
        let (r1, r2) = tokio::join!(
            tool.send(a.post(&tool, "/oap/invoke", &invoke_in(&sid))),
            tool.send(a.post(&tool, "/oap/invoke", &invoke_in(&sid))),
        );
        let acks = [r1, r2].iter().filter(|r| r.0 == StatusCode::OK).count();
        format!("acks {acks}, version {}", tool.version(&a, &sid).await)
    };
    double_version_bump: DoubleVersionBump => ("1", "2"), |tool| async move {
        let a = Agent::new();
        let sid = tool.create(&a).await;
        tool.update(&a, &sid, 0, json!({})).await.1["state_version"].to_string()
    };
    apply_replayed_turn_id: ApplyReplayedTurnId => ("409 duplicate_turn", "200"), |tool| async move {
        let a = Agent::new();
        let sid = tool.create(&a).await;
        let body = invoke_in(&sid);
        tool.send(a.post(&tool, "/oap/invoke", &body)).await;
        sc(&tool.send(a.post(&tool, "/oap/invoke", &body)).await)
    };
    wrong_previous_turn_id: WrongPreviousTurnId => ("chain ok", "chain broken"), |tool| async move {
        let (_, b, sid) = session_with_b(&tool).await;
        chain_ok(&tool, &sid, &tool.log(&b, &sid).await)
    };
    broken_hash_link: BrokenHashLink => ("chain ok", "chain broken"), |tool| async move {
        let (_, b, sid) = session_with_b(&tool).await;
        chain_ok(&tool, &sid, &tool.log(&b, &sid).await)
    };
    unsigned_receipts: UnsignedReceipts => ("chain ok", "chain broken"), |tool| async move {
        let a = Agent::new();
        let sid = tool.create(&a).await;
        chain_ok(&tool, &sid, &tool.log(&a, &sid).await)
    };
    skip_credential_proof_check: SkipCredentialProofCheck => ("403 invalid_credential", "200"), |tool| async move {
        let (a, b) = (Agent::new(), Agent::new());
        let sid = tool.create(&a).await;
        let mut adm = admission(&tool, &a, &sid, &b, scope("internal", "internal"));
        adm["scope"] = scope("internal", "confidential");
        sc(&tool.join_with(&sid, &b, adm).await)
    };
    accept_credential_for_other_session: AcceptCredentialForOtherSession => ("403 invalid_credential", "200"), |tool| async move {
        let (a, b) = (Agent::new(), Agent::new());
        let sid = tool.create(&a).await;
        let other = tool.create(&a).await;
        let adm = admission(&tool, &a, &other, &b, scope("internal", "internal"));
        sc(&tool.join_with(&sid, &b, adm).await)
    };
    accept_credential_for_other_subject: AcceptCredentialForOtherSubject => ("403 invalid_credential", "200"), |tool| async move {
        let (a, b, c) = (Agent::new(), Agent::new(), Agent::new());
        let sid = tool.create(&a).await;
        let adm = admission(&tool, &a, &sid, &c, scope("internal", "internal"));
        sc(&tool.join_with(&sid, &b, adm).await)
    };
    participant_convener_ops: ParticipantConvenerOps => ("403 not_convener", "200"), |tool| async move {
        let (_, b, sid) = session_with_b(&tool).await;
        sc(&tool.op(&b, &sid, "pause", json!({})).await)
    };
    old_convener_keeps_authority: OldConvenerKeepsAuthority => ("403 not_convener", "200"), |tool| async move {
        let (a, b, sid) = session_with_b(&tool).await;
        let h = handoff(&tool, &a, &sid, &b);
        assert_eq!(tool.op(&a, &sid, "handoff", json!({"handoff": h})).await.0, StatusCode::OK);
        sc(&tool.op(&a, &sid, "pause", json!({})).await)
    };
    admit_revoked_subject: AdmitRevokedSubject => ("403 invalid_credential", "200"), |tool| async move {
        let (a, b, sid) = session_with_b(&tool).await;
        let early = admission(&tool, &a, &sid, &b, scope("internal", "internal"));
        let rev = revocation(&tool, &a, &sid, &b);
        assert_eq!(tool.op(&a, &sid, "leave", json!({"revocation": rev})).await.0, StatusCode::OK);
        sc(&tool.join_with(&sid, &b, early).await)
    };
    accept_non_participant: AcceptNonParticipant => ("404 session_not_found", "200"), |tool| async move {
        let a = Agent::new();
        let sid = tool.create(&a).await;
        sc(&tool.state(&Agent::new(), &sid).await)
    };
    existence_oracle: ExistenceOracle => ("404 session_not_found", "403 not_participant"), |tool| async move {
        let a = Agent::new();
        let sid = tool.create(&a).await;
        sc(&tool.state(&Agent::new(), &sid).await)
    };
    accept_reused_nonce: AcceptReusedNonce => ("401 replayed_request", "201"), |tool| async move {
        let a = Agent::new();
        let n = nonce();
        let mk = || a.request_with("POST", "/oap/session/create", Some(create_bytes()), tool.now(), &n, "application/json");
        tool.send(mk()).await;
        sc(&tool.send(mk()).await)
    };
    accept_stale_created: AcceptStaleCreated => ("401 stale_signature", "201"), |tool| async move {
        let a = Agent::new();
        sc(&tool.send(a.request_raw("POST", "/oap/session/create", Some(create_bytes()), tool.now() - 3600)).await)
    };
    accept_non_canonical_signatures: AcceptNonCanonicalSignatures => ("401 invalid_signature", "201"), |tool| async move {
        sc(&tool.send(small_order_request(&tool)).await)
    };
    ignore_ccc: IgnoreCcc => ("403 ccc_unsatisfied", "200"), |tool| async move {
        let a = Agent::new();
        let sid = tool.create(&a).await;
        sc(&tool.join_scoped(&a, &sid, &Agent::new(), scope("public", "public")).await)
    };
    ignore_session_quota: IgnoreSessionQuota => ("429 session_quota_exceeded", "201"), |tool| async move {
        let a = Agent::new();
        for _ in 0..Limits::default().max_sessions_per_convener {
            tool.create(&a).await;
        }
        sc(&tool.send(a.request_raw("POST", "/oap/session/create", Some(create_bytes()), tool.now())).await)
    };
    ignore_max_participants: IgnoreMaxParticipants => ("409 participant_limit", "200"), |tool| async move {
        let a = Agent::new();
        let sid = tool.create(&a).await;
        for _ in 1..Limits::default().max_participants {
            tool.join(&a, &sid, &Agent::new()).await;
        }
        sc(&tool.join(&a, &sid, &Agent::new()).await)
    };
    write_closed_sessions: WriteClosedSessions => ("409 session_closed", "200"), |tool| async move {
        let a = Agent::new();
        let sid = tool.create(&a).await;
        tool.op(&a, &sid, "close", json!({})).await;
        sc(&tool.update(&a, &sid, 1, json!({"step": 1})).await)
    };
    write_expired_sessions: WriteExpiredSessions => ("409 session_expired", "200"), |tool| async move {
        let a = Agent::new();
        let sid = tool.create_with(&a, json!({"scope": scope("public", "public"), "ttl_seconds": 2})).await;
        tool.clock.advance(3);
        sc(&tool.update(&a, &sid, 0, json!({"step": 1})).await)
    };
    write_paused_sessions: WritePausedSessions => ("409 session_paused", "200"), |tool| async move {
        let a = Agent::new();
        let sid = tool.create(&a).await;
        tool.op(&a, &sid, "pause", json!({})).await;
        sc(&tool.update(&a, &sid, 1, json!({"step": 1})).await)
    };
    skip_state_schema: SkipStateSchema => ("422 state_schema_violation", "200"), |tool| async move {
        let a = Agent::new();
        let sid = tool.create(&a).await;
        sc(&tool.update(&a, &sid, 0, json!({"conformance": 1})).await)
    };
    ack_before_durable: AckBeforeDurable => ("waits for the disk", "answers first"), |tool| async move {
        ack_scenario(tool.state.engine.faults().clone()).await
    };
    parser_500_on_deep_nesting: Parser500OnDeepNesting => ("400 malformed_envelope", "500 internal_error"), |tool| async move {
        let deep = format!(r#"{{"envelope_version":"1.0","input":{}1{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
        sc(&tool.send(Agent::new().request_raw("POST", "/oap/invoke", Some(deep.into_bytes()), tool.now())).await)
    };
    parser_500_on_big_numbers: Parser500OnBigNumbers => ("400 malformed_envelope", "500 internal_error"), |tool| async move {
        let big = br#"{"envelope_version":"1.0","action":"echo","input":18446744073709551616}"#.to_vec();
        sc(&tool.send(Agent::new().request_raw("POST", "/oap/invoke", Some(big), tool.now())).await)
    };
    manifest_missing_sessions_block: ManifestMissingSessionsBlock => ("true", "false"), |tool| async move {
        let req = http::Request::get("/oap/manifest").header("host", HOST).body(axum::body::Body::empty()).unwrap();
        tool.send(req).await.1.get("sessions").is_some().to_string()
    };
    log_gap: LogGap => ("3", "2"), |tool| async move {
        let (_, b, sid) = session_with_b(&tool).await;
        tool.update(&b, &sid, 1, json!({})).await;
        tool.log(&b, &sid).await.len().to_string()
    };
    reuse_admission_nonce: ReuseAdmissionNonce => ("403 invalid_credential", "200"), |tool| async move {
        let (a, b) = (Agent::new(), Agent::new());
        let sid = tool.create(&a).await;
        let adm = admission(&tool, &a, &sid, &b, scope("internal", "internal"));
        tool.join_with(&sid, &b, adm.clone()).await;
        tool.op(&b, &sid, "leave", json!({})).await;
        sc(&tool.join_with(&sid, &b, adm).await)
    };
    skip_content_digest_check: SkipContentDigestCheck => ("401 content_digest_mismatch", "201"), |tool| async move {
        let a = Agent::new();
        let req = a.request_raw("POST", "/oap/session/create", Some(create_bytes()), tool.now());
        let (parts, _) = req.into_parts();
        let other = json!({ "envelope_version": "1.0", "input": { "scope": scope("internal", "restricted") } });
        sc(&tool.send(http::Request::from_parts(parts, axum::body::Body::from(other.to_string()))).await)
    };
    close_not_idempotent: CloseNotIdempotent => ("1 1", "1 2"), |tool| async move {
        let a = Agent::new();
        let sid = tool.create(&a).await;
        let first = tool.op(&a, &sid, "close", json!({})).await.1["state_version"].clone();
        let second = tool.op(&a, &sid, "close", json!({})).await.1["state_version"].clone();
        format!("{first} {second}")
    };
}

/// A store whose turn writes wait for a gate: shows whether an answer waits for the disk.
struct GatedStore {
    inner: SqliteStore,
    gate: Arc<Notify>,
}

impl Store for GatedStore {
    fn load_head(&self, id: &str) -> Result<Option<String>, StoreError> {
        self.inner.load_head(id)
    }
    fn turn_exists(&self, id: &str, turn: &str) -> Result<bool, StoreError> {
        self.inner.turn_exists(id, turn)
    }
    fn turn_ids(&self, id: &str) -> Result<Vec<String>, StoreError> {
        self.inner.turn_ids(id)
    }
    fn credential_nonce_used(&self, id: &str, nonce: &str) -> Result<bool, StoreError> {
        self.inner.credential_nonce_used(id, nonce)
    }
    fn open_sessions(&self, convener: &str, now: i64) -> Result<u64, StoreError> {
        self.inner.open_sessions(convener, now)
    }
    fn receipts(
        &self,
        id: &str,
        from: u64,
        through: u64,
        limit: usize,
    ) -> Result<Vec<ReceiptRow>, StoreError> {
        self.inner.receipts(id, from, through, limit)
    }
    fn amp_message(
        &self,
        id: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<AppliedMessage>, StoreError> {
        self.inner.amp_message(id, sender, msg_id)
    }
    fn amp_history(&self, id: &str, through: u64) -> Result<Vec<String>, StoreError> {
        self.inner.amp_history(id, through)
    }
    fn live_request_nonces(&self, now: i64) -> Result<Vec<RequestNonce>, StoreError> {
        self.inner.live_request_nonces(now)
    }
    fn submit(&self, write: Write) -> Ticket {
        let gated = matches!(&write, Write::Turn { receipt: Some(r), .. } if r.version > 0);
        let ticket = self.inner.submit(write);
        if !gated {
            return ticket;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let gate = self.gate.clone();
        tokio::spawn(async move {
            gate.notified().await;
            let _ = tx.send(ticket.wait().await);
        });
        Ticket::pending(rx)
    }
    fn shutdown(&self) {
        self.inner.shutdown()
    }
    fn abort(&self) {
        self.inner.abort()
    }
}

async fn ack_scenario(faults: FaultSet) -> String {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Notify::new());
    let store = GatedStore {
        inner: SqliteStore::open(dir.path()).unwrap(),
        gate: gate.clone(),
    };
    let engine = Engine::new(
        Arc::new(store),
        oap_wire::Keypair::generate(),
        Limits::default(),
        faults,
        Arc::new(ManualClock::new()),
    )
    .unwrap();
    let state = AppState {
        engine,
        public_url: None,
        amp: false,
    };
    let tool = Tool {
        router: app(state.clone()),
        state,
        clock: ManualClock::new(),
        _dir: dir,
    };
    let a = Agent::new();
    let sid = tool.create(&a).await;
    let update = tool.update(&a, &sid, 0, json!({"step": 1}));
    let outcome = match tokio::time::timeout(Duration::from_millis(300), update).await {
        Ok(_) => "answers first",
        Err(_) => "waits for the disk",
    };
    gate.notify_waiters();
    outcome.to_owned()
}
