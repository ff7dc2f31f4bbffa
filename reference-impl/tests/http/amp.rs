//! The AMP binding over HTTP (profile §12): signed `POST /amp/session` messages and
//! `GET /amp/session/{id}/state`, every reply checked against the suite's published schemas.

use std::sync::OnceLock;

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::support::{Agent, HOST, Tool, nonce};

const PATH: &str = "/amp/session";

fn schema(name: &str) -> jsonschema::Validator {
    let path = format!("{}/../vectors/schema/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn message_schema() -> &'static jsonschema::Validator {
    static S: OnceLock<jsonschema::Validator> = OnceLock::new();
    S.get_or_init(|| schema("amp-message.schema.json"))
}

fn state_schema() -> &'static jsonschema::Validator {
    static S: OnceLock<jsonschema::Validator> = OnceLock::new();
    S.get_or_init(|| schema("amp-session-state.schema.json"))
}

#[track_caller]
fn valid(v: &jsonschema::Validator, doc: &Value) {
    let errors: Vec<String> = v.iter_errors(doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{doc}\n{errors:#?}");
}

/// Sends a request under `/amp/`; every answer is a JSON reply message (or, for a state
/// read, the state), never a problem body.
async fn send(tool: &Tool, req: Request<Body>) -> (StatusCode, Value) {
    let (status, ct, bytes) = tool.send_raw(req).await;
    assert_eq!(ct, "application/json", "{status}: {bytes:?}");
    let body: Value = serde_json::from_slice(&bytes).expect("JSON body");
    if body.get("history").is_none() {
        valid(message_schema(), &body);
        assert_eq!(body["from"], json!(tool.tool_did()));
        let refused = body["type"] == "SESSION_ERROR";
        assert_eq!(refused, status != StatusCode::OK, "{status} {body}");
    }
    (status, body)
}

/// A message from `from` (`type`, `id`, `from`, `session_id`, plus `extra`).
pub fn msg(from: &Agent, sid: &str, kind: &str, id: &str, extra: Value) -> Value {
    let mut m = json!({ "type": kind, "id": id, "from": from.did(), "session_id": sid });
    if let (Some(o), Value::Object(e)) = (m.as_object_mut(), extra) {
        o.extend(e);
    }
    m
}

/// Posts a message signed by `from`.
pub async fn post(tool: &Tool, from: &Agent, body: &Value) -> (StatusCode, Value) {
    send(tool, from.post(tool, PATH, body)).await
}

/// Reads a session's AMP state as `who`.
pub async fn state(tool: &Tool, who: &Agent, sid: &str) -> (StatusCode, Value) {
    send(tool, who.get(tool, &format!("{PATH}/{sid}/state"))).await
}

#[track_caller]
fn assert_error(got: &(StatusCode, Value), status: u16, code: u64, reason: &str) {
    assert_eq!(
        (
            got.0.as_u16(),
            got.1["code"].as_u64().unwrap_or(0),
            got.1["reason"].as_str().unwrap_or("")
        ),
        (status, code, reason),
        "{}",
        got.1
    );
}

fn new_sid() -> String {
    oap_wire::ids::SessionId::new().to_string()
}

/// `SESSION_INIT` accepted; returns the session id.
async fn init(tool: &Tool, a: &Agent, invitees: &[&Agent], ttl: u64) -> String {
    let sid = new_sid();
    let dids: Vec<String> = invitees.iter().map(|i| i.did()).collect();
    let m = msg(
        a,
        &sid,
        "SESSION_INIT",
        "init-1",
        json!({ "purpose": "code-review-workflow", "ttl": ttl, "capabilities_required": ["echo"], "participants": dids }),
    );
    let (status, reply) = post(tool, a, &m).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["type"], "SESSION_ACCEPT", "{reply}");
    sid
}

async fn ack(tool: &Tool, from: &Agent, m: &Value) -> (u64, String) {
    let (status, reply) = post(tool, from, m).await;
    assert_eq!(
        (status, reply["type"].as_str()),
        (StatusCode::OK, Some("SESSION_ACK")),
        "{reply}"
    );
    (
        reply["seq"].as_u64().unwrap(),
        reply["status"].as_str().unwrap().to_owned(),
    )
}

/// The history's length after checking that its seqs are 1..=n and the state is schema-valid.
async fn history_len(tool: &Tool, who: &Agent, sid: &str) -> usize {
    let (status, s) = state(tool, who, sid).await;
    assert_eq!(status, StatusCode::OK, "{s}");
    valid(state_schema(), &s);
    let seqs: Vec<u64> = s["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    seqs.len()
}

#[tokio::test]
async fn the_binding_is_served_exactly_when_the_manifest_declares_it() {
    for (tool, bindings) in [
        (Tool::oap_only(), json!(["oap"])),
        (Tool::new(), json!(["oap", "amp"])),
    ] {
        let (status, manifest) = tool
            .send(
                Request::get("/oap/manifest")
                    .header("host", HOST)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(manifest["bindings"], bindings);
    }
    let tool = Tool::oap_only();
    let a = Agent::new();
    let m = msg(&a, &new_sid(), "SESSION_MSG", "m", json!({"body": 1}));
    let (status, problem) = tool.send(a.post(&tool, PATH, &m)).await;
    assert_eq!(
        (status.as_u16(), problem["code"].as_str()),
        (404, Some("not_found"))
    );
}

#[tokio::test]
async fn a_multi_step_workflow_with_three_agents() {
    // RFC 004 §4.2: A sends code, B scans, C checks style, both report, A aggregates.
    let tool = Tool::new();
    let (a, b, c) = (Agent::new(), Agent::new(), Agent::new());
    let sid = new_sid();
    let init = msg(
        &a,
        &sid,
        "SESSION_INIT",
        "m-1",
        json!({"purpose": "code-review-workflow", "ttl": 3600, "participants": [b.did(), c.did()], "amp_version": "1.0"}),
    );
    let (status, accept) = post(&tool, &a, &init).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(accept["type"], "SESSION_ACCEPT");
    assert_eq!(accept["session_id"], json!(sid));
    assert_eq!(accept["in_reply_to"], "m-1");
    assert_eq!(accept["status"], "init");
    let endpoint = format!("http://{HOST}{PATH}/{sid}/state");
    assert_eq!(accept["state_endpoint"], json!(endpoint));
    let expires = oap_wire::time::parse_rfc3339(accept["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires.unix_timestamp(), tool.now() + 3600);

    assert_eq!(
        ack(
            &tool,
            &b,
            &msg(&b, &sid, "SESSION_ACCEPT", "b-1", json!({}))
        )
        .await,
        (2, "init".into())
    );
    assert_eq!(
        ack(
            &tool,
            &c,
            &msg(&c, &sid, "SESSION_ACCEPT", "c-1", json!({}))
        )
        .await,
        (3, "active".into())
    );
    let step = |who: &Agent, id: &str, n: u64, seq: u64| {
        msg(
            who,
            &sid,
            "SESSION_STATE",
            id,
            json!({"patch": {"current_step": n, "total_steps": 6}, "expected_seq": seq}),
        )
    };
    let work = [
        (&a, "a-2", json!({"code": "fn main() {}"})),
        (&b, "b-2", json!({"scan": "started"})),
        (&c, "c-2", json!({"style": "started"})),
        (&b, "b-3", json!({"security_findings": []})),
        (&c, "c-3", json!({"style_findings": ["naming"]})),
        (&a, "a-3", json!({"summary": "one style finding"})),
    ];
    let mut seq = 3;
    for (n, (who, id, body)) in work.into_iter().enumerate() {
        let got = ack(
            &tool,
            who,
            &msg(who, &sid, "SESSION_MSG", id, json!({"body": body})),
        )
        .await;
        seq += 1;
        assert_eq!(got, (seq, "active".into()));
        let id = format!("{id}-step");
        ack(&tool, who, &step(who, &id, n as u64 + 1, seq)).await;
        seq += 1;
    }
    // A closes; B and C confirm.
    assert_eq!(
        ack(
            &tool,
            &a,
            &msg(&a, &sid, "SESSION_CLOSE", "a-4", json!({"reason": "done"}))
        )
        .await
        .1,
        "closing"
    );
    assert_eq!(
        ack(&tool, &b, &msg(&b, &sid, "SESSION_CLOSE", "b-4", json!({})))
            .await
            .1,
        "closing"
    );
    assert_eq!(
        ack(&tool, &c, &msg(&c, &sid, "SESSION_CLOSE", "c-4", json!({})))
            .await
            .1,
        "closed"
    );

    let (status, s) = send(&tool, c.get(&tool, &format!("{PATH}/{sid}/state"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["status"], "closed");
    assert_eq!(s["participants"], json!([a.did(), b.did(), c.did()]));
    assert_eq!(s["context"]["current_step"], 6);
    assert_eq!(s["context"]["total_steps"], 6);
    assert_eq!(s["history"][0]["purpose"], "code-review-workflow");
    assert!(
        s["history"][0].get("session_id").is_none() && s["history"][0].get("amp_version").is_none()
    );
    assert_eq!(s["history"][3]["body"], json!({"code": "fn main() {}"}));
    assert_eq!(history_len(&tool, &a, &sid).await, 3 + 12 + 3);
    // The OAP receipt chain covers every message: one receipt per history entry.
    assert_eq!(tool.log(&a, &sid).await.len(), 18);
}

#[tokio::test]
async fn a_multi_turn_conversation_ends_with_a_close() {
    // RFC 004 §4.1: five turns between a user agent and a support agent, then a close.
    let tool = Tool::new();
    let (user, agent) = (Agent::new(), Agent::new());
    let sid = init(&tool, &user, &[&agent], 600).await;
    ack(
        &tool,
        &agent,
        &msg(&agent, &sid, "SESSION_ACCEPT", "ok", json!({})),
    )
    .await;
    for turn in 1..=5 {
        let who = if turn % 2 == 1 { &user } else { &agent };
        let m = msg(
            who,
            &sid,
            "SESSION_MSG",
            &format!("t{turn}"),
            json!({"body": {"turn": turn}}),
        );
        assert_eq!(ack(&tool, who, &m).await, (turn + 2, "active".into()));
    }
    ack(
        &tool,
        &user,
        &msg(&user, &sid, "SESSION_CLOSE", "bye", json!({})),
    )
    .await;
    ack(
        &tool,
        &agent,
        &msg(&agent, &sid, "SESSION_CLOSE", "bye", json!({})),
    )
    .await;
    assert_eq!(state(&tool, &agent, &sid).await.1["status"], "closed");
    assert_eq!(history_len(&tool, &user, &sid).await, 9);
}

#[tokio::test]
async fn bad_input_is_refused_in_amp_terms_and_changes_nothing() {
    let tool = Tool::new();
    let (a, b, outsider) = (Agent::new(), Agent::new(), Agent::new());
    let sid = init(&tool, &a, &[&b], 3600).await;
    ack(&tool, &b, &msg(&b, &sid, "SESSION_ACCEPT", "ok", json!({}))).await;
    let before = state(&tool, &a, &sid).await.1;
    let raw = |body: &[u8]| a.request_raw("POST", PATH, Some(body.to_vec()), tool.now());
    let m = |kind: &str, extra: Value| msg(&a, &sid, kind, "bad", extra);
    let cases: Vec<(Request<Body>, u16, u64, &str)> = vec![
        (raw(b"{"), 400, 1001, "malformed_message"),
        (raw(b"[1]"), 400, 1001, "malformed_message"),
        (
            raw(br#"{"type":"SESSION_MSG","type":"SESSION_MSG"}"#),
            400,
            1001,
            "malformed_message",
        ),
        (
            a.post(
                &tool,
                PATH,
                &m("SESSION_MSG", json!({"body": 1, "amp_version": "2.0"})),
            ),
            400,
            1004,
            "unsupported_version",
        ),
        (
            a.post(&tool, PATH, &m("SESSION_PING", json!({}))),
            400,
            1001,
            "malformed_message",
        ),
        (
            a.post(&tool, PATH, &m("SESSION_ACK", json!({"seq": 1}))),
            400,
            1001,
            "malformed_message",
        ),
        (
            a.post(&tool, PATH, &m("SESSION_MSG", json!({}))),
            400,
            1001,
            "malformed_message",
        ),
        (
            a.post(
                &tool,
                PATH,
                &m("SESSION_MSG", json!({"body": 1, "extra": true})),
            ),
            400,
            1001,
            "malformed_message",
        ),
        (
            a.post(
                &tool,
                PATH,
                &m("SESSION_MSG", json!({"body": 1, "session_id": "ses_1"})),
            ),
            400,
            1001,
            "invalid_identifier",
        ),
        (
            a.post(
                &tool,
                PATH,
                &m(
                    "SESSION_STATE",
                    json!({"patch": {"purpose": "x"}, "expected_seq": 2}),
                ),
            ),
            400,
            1001,
            "malformed_message",
        ),
        (
            a.post(
                &tool,
                PATH,
                &msg(&b, &sid, "SESSION_MSG", "bad", json!({"body": 1})),
            ),
            403,
            3001,
            "sender_mismatch",
        ),
        (
            outsider.post(
                &tool,
                PATH,
                &msg(&outsider, &sid, "SESSION_MSG", "bad", json!({"body": 1})),
            ),
            404,
            3001,
            "session_not_found",
        ),
        (
            b.post(
                &tool,
                PATH,
                &msg(&b, &sid, "SESSION_SUSPEND", "bad", json!({})),
            ),
            403,
            3001,
            "not_convener",
        ),
        (
            a.post(&tool, PATH, &m("SESSION_ACCEPT", json!({}))),
            403,
            3001,
            "not_invitee",
        ),
        (
            a.post(&tool, PATH, &m("SESSION_RESUME", json!({}))),
            409,
            4001,
            "invalid_transition",
        ),
        (
            a.post(
                &tool,
                PATH,
                &m("SESSION_STATE", json!({"patch": {}, "expected_seq": 1})),
            ),
            409,
            4001,
            "version_conflict",
        ),
        (
            a.post(
                &tool,
                PATH,
                &m(
                    "SESSION_STATE",
                    json!({"patch": {"current_step": 3, "total_steps": 2}, "expected_seq": 2}),
                ),
            ),
            422,
            4001,
            "state_schema_violation",
        ),
        (
            a.request_with(
                "POST",
                PATH,
                Some(b"{}".to_vec()),
                tool.now(),
                &nonce(),
                "text/plain",
            ),
            415,
            1001,
            "unsupported_media_type",
        ),
        (
            a.request_raw("POST", PATH, Some(vec![b' '; 1024 * 1024 + 1]), tool.now()),
            413,
            1001,
            "payload_too_large",
        ),
        (
            a.request_raw("POST", PATH, Some(b"{}".to_vec()), tool.now() - 301),
            401,
            3001,
            "stale_signature",
        ),
        (
            Request::post(PATH)
                .header("host", HOST)
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap(),
            401,
            3001,
            "missing_signature",
        ),
    ];
    for (req, status, code, reason) in cases {
        let got = send(&tool, req).await;
        assert_error(&got, status, code, reason);
        assert!(got.1["message"].is_string());
    }
    let conflict = post(
        &tool,
        &a,
        &m("SESSION_STATE", json!({"patch": {}, "expected_seq": 7})),
    )
    .await;
    assert_eq!(conflict.1["current_seq"], 2);
    assert_eq!(conflict.1["in_reply_to"], "bad");
    assert_eq!(conflict.1["session_id"], json!(sid));
    // A replayed request is refused before anything else.
    let req = a.post(&tool, PATH, &m("SESSION_MSG", json!({"body": "once"})));
    let (parts, body) = req.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let first = send(
        &tool,
        Request::from_parts(parts.clone(), Body::from(bytes.clone())),
    )
    .await;
    assert_eq!(first.1["type"], "SESSION_ACK");
    let again = send(&tool, Request::from_parts(parts, Body::from(bytes))).await;
    assert_error(&again, 401, 3001, "replayed_request");
    // Nothing but the one accepted message changed.
    let after = state(&tool, &a, &sid).await.1;
    let mut expected = before.clone();
    expected["history"]
        .as_array_mut()
        .unwrap()
        .push(after["history"][2].clone());
    assert_eq!(after, expected);
    assert_eq!(after["history"][2]["body"], "once");
}

#[tokio::test]
async fn outsiders_get_one_answer_for_existing_and_missing_sessions() {
    let tool = Tool::new();
    let (a, outsider) = (Agent::new(), Agent::new());
    let sid = init(&tool, &a, &[], 3600).await;
    let mut answers = Vec::new();
    for target in [sid.clone(), new_sid()] {
        let m = msg(&outsider, &target, "SESSION_CLOSE", "x", json!({}));
        let (s1, r1) = post(&tool, &outsider, &m).await;
        let (s2, r2) = state(&tool, &outsider, &target).await;
        answers.push((
            s1,
            r1["reason"].clone(),
            r1["message"].clone(),
            s2,
            r2["message"].clone(),
        ));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, StatusCode::NOT_FOUND);
    let (status, bad) = state(&tool, &a, "ses_nope").await;
    assert_eq!(
        (status.as_u16(), bad["reason"].as_str()),
        (400, Some("invalid_identifier"))
    );
}

#[tokio::test]
async fn duplicates_get_the_original_answer_and_apply_once() {
    let tool = Tool::new();
    let (a, b) = (Agent::new(), Agent::new());
    let sid = new_sid();
    let init = msg(
        &a,
        &sid,
        "SESSION_INIT",
        "i",
        json!({"purpose": "p", "ttl": 60}),
    );
    let first = post(&tool, &a, &init).await.1;
    let second = post(&tool, &a, &init).await.1;
    assert_eq!(second["type"], "SESSION_ACCEPT");
    assert_eq!(second["duplicate"], true);
    assert_ne!(second["id"], first["id"]);
    for k in ["expires_at", "state_endpoint", "in_reply_to", "session_id"] {
        assert_eq!(second[k], first[k], "{k}");
    }
    let m = msg(&a, &sid, "SESSION_MSG", "m", json!({"body": 1}));
    assert_eq!(ack(&tool, &a, &m).await.0, 2);
    let dup = post(&tool, &a, &m).await.1;
    assert_eq!(
        (dup["seq"].as_u64(), dup["duplicate"].as_bool()),
        (Some(2), Some(true))
    );
    // Someone else's INIT for the id in use is rejected and creates nothing.
    let other = msg(
        &b,
        &sid,
        "SESSION_INIT",
        "i",
        json!({"purpose": "p", "ttl": 60}),
    );
    let (status, reject) = post(&tool, &b, &other).await;
    assert_eq!(
        (status, reject["reason"].as_str()),
        (StatusCode::OK, Some("session_id_in_use"))
    );
    assert_eq!(history_len(&tool, &a, &sid).await, 2);
}

#[tokio::test]
async fn rejected_inits_create_nothing() {
    let tool = Tool::new();
    let a = Agent::new();
    let sid = new_sid();
    let cases = [
        (
            json!({"purpose": "p", "ttl": 720 * 3600 + 1}),
            "ttl_exceeds_limit",
        ),
        (
            json!({"purpose": "p", "ttl": 60, "capabilities_required": ["echo", "teleport"]}),
            "capabilities_unsupported",
        ),
    ];
    for (extra, reason) in cases {
        let (status, reply) = post(&tool, &a, &msg(&a, &sid, "SESSION_INIT", "i", extra)).await;
        assert_eq!(
            (status, reply["type"].as_str()),
            (StatusCode::OK, Some("SESSION_REJECT"))
        );
        assert_eq!(reply["reason"], reason);
        let (status, _) = state(&tool, &a, &sid).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn expiry_closes_the_session() {
    let tool = Tool::new();
    let a = Agent::new();
    let sid = init(&tool, &a, &[], 5).await;
    tool.clock.advance(5);
    assert_eq!(state(&tool, &a, &sid).await.1["status"], "closed");
    let late = post(
        &tool,
        &a,
        &msg(&a, &sid, "SESSION_MSG", "late", json!({"body": 1})),
    )
    .await;
    assert_error(&late, 409, 4001, "session_expired");
    assert_eq!(history_len(&tool, &a, &sid).await, 1);
}

#[tokio::test]
async fn the_oap_binding_reads_and_deletes_but_never_writes_an_amp_session() {
    let tool = Tool::new();
    let (a, b) = (Agent::new(), Agent::new());
    let sid = init(&tool, &a, &[&b], 3600).await;
    let (status, view) = tool.state(&a, &sid).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["state"]["purpose"], "code-review-workflow");
    let (status, refused) = tool.update(&a, &sid, 0, json!({"title": "x"})).await;
    assert_eq!(
        (status.as_u16(), refused["code"].as_str()),
        (409, Some("invalid_transition"))
    );
    let body = json!({ "envelope_version": "1.0", "input": { "session_id": sid } });
    let (status, _) = tool.send(a.post(&tool, "/oap/data_delete", &body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(state(&tool, &a, &sid).await.0, StatusCode::NOT_FOUND);
    let accept = msg(&b, &sid, "SESSION_ACCEPT", "ok", json!({}));
    assert_error(
        &post(&tool, &b, &accept).await,
        404,
        3001,
        "session_not_found",
    );
}
