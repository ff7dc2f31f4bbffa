//! The session endpoints end to end: every turn, the ledger, authority, lifecycle, quotas, and
//! the receipt chain checked with `oap_wire::receipt::verify_chain`.

use http::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

fn verify(tool: &Tool, sid: &str, log: &[Value]) {
    let summary = oap_wire::receipt::verify_chain(log, sid, Some(&tool.tool_did()))
        .unwrap_or_else(|e| panic!("chain: {e}"));
    assert_eq!(summary.len, log.len());
}

#[tokio::test]
async fn full_lifecycle_builds_a_verifiable_chain() {
    let tool = Tool::new();
    let (a, b, c) = (Agent::new(), Agent::new(), Agent::new());
    let body = json!({ "envelope_version": "1.0", "input": {
        "scope": scope("internal", "confidential"), "state": {"title": "plan"}, "ttl_seconds": 600 } });
    let (status, created) = tool.send(a.post(&tool, "/oap/session/create", &body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["state_version"], json!(0));
    assert_eq!(created["status"], json!("active"));
    assert!(
        created["expires_at"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z'))
    );
    let sid = created["session_id"].as_str().unwrap().to_owned();
    assert!(oap_wire::ids::is_valid_session_id(&sid));

    let joined = tool.join(&a, &sid, &b).await;
    assert_eq!(joined.0, StatusCode::OK, "{}", joined.1);
    assert_eq!(joined.1["state_version"], json!(1));
    assert_eq!(joined.1["receipt"]["action"], json!("join"));
    assert_eq!(tool.join(&a, &sid, &c).await.0, StatusCode::OK);

    let (status, up) = tool
        .update(&b, &sid, 2, json!({"step": 1, "conformance": {"x": 1}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{up}");
    assert_eq!(
        up["state"],
        json!({"title": "plan", "step": 1, "conformance": {"x": 1}})
    );
    assert_eq!(up["state_version"], json!(3));
    let (_, up) = tool.update(&c, &sid, 3, json!({"conformance": null})).await;
    assert_eq!(up["state"], json!({"title": "plan", "step": 1}));

    let (status, st) = tool.state(&c, &sid).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(st["convener"], json!(a.did()));
    assert_eq!(st["ccc"], json!("internal"));
    let roles: Vec<_> = st["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["role"].clone())
        .collect();
    assert_eq!(
        roles,
        vec![
            json!("convener"),
            json!("participant"),
            json!("participant")
        ]
    );
    for member in [
        "session_id",
        "state_version",
        "status",
        "created_at",
        "expires_at",
        "state",
    ] {
        assert!(st.get(member).is_some(), "state lacks {member}");
    }

    // Invoke in the session: a turn that leaves the state alone.
    let inv = json!({ "envelope_version": "1.0", "action": "echo", "input": [1, "two"],
        "session": { "session_id": sid, "turn_id": trn() } });
    let (status, out) = tool.send(b.post(&tool, "/oap/invoke", &inv)).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["output"], json!([1, "two"]));
    assert_eq!(out["receipt"]["action"], json!("invoke"));

    assert_eq!(
        tool.op(&c, &sid, "leave", json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(
        tool.op(&a, &sid, "pause", json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(
        tool.op(&a, &sid, "resume", json!({})).await.0,
        StatusCode::OK
    );
    let h = handoff(&tool, &a, &sid, &b);
    let (status, body) = tool.op(&a, &sid, "handoff", json!({ "handoff": h })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, st) = tool.state(&a, &sid).await;
    assert_eq!(st["convener"], json!(b.did()));
    let (status, closed) = tool.op(&b, &sid, "close", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(closed["status"], json!("closed"));

    let log = tool.log(&b, &sid).await;
    let actions: Vec<_> = log
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions,
        [
            "create", "join", "join", "update", "update", "invoke", "leave", "pause", "resume",
            "handoff", "close"
        ]
    );
    verify(&tool, &sid, &log);
    assert_eq!(log.last().unwrap(), &closed["receipt"]);

    // Closing again: the original close's answer, nothing appended.
    let (status, again) = tool.op(&b, &sid, "close", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["state_version"], closed["state_version"]);
    assert_eq!(again["receipt"], closed["receipt"]);
    assert_eq!(tool.log(&b, &sid).await.len(), log.len());
    // Closed: readable, not writable.
    assert_problem(
        &tool.update(&b, &sid, 10, json!({})).await,
        409,
        "session_closed",
    );
    assert_eq!(tool.state(&a, &sid).await.0, StatusCode::OK);
}

#[tokio::test]
async fn versions_conflicts_and_duplicate_turns() {
    let tool = Tool::new();
    let a = Agent::new();
    let sid = tool.create(&a).await;
    let conflict = tool.update(&a, &sid, 5, json!({"step": 1})).await;
    assert_problem(&conflict, 409, "version_conflict");
    assert_eq!(conflict.1["current_version"], json!(0));

    let body = env(&sid, Some(0), json!({"patch": {"step": 1}}));
    let path = format!("/oap/session/{sid}/update");
    assert_eq!(
        tool.send(a.post(&tool, &path, &body)).await.0,
        StatusCode::OK
    );
    // The same turn again (a retry): duplicate_turn, even though its version is now stale.
    assert_problem(
        &tool.send(a.post(&tool, &path, &body)).await,
        409,
        "duplicate_turn",
    );
    let mut fresh_version = body.clone();
    fresh_version["session"]["expected_version"] = json!(1);
    assert_problem(
        &tool.send(a.post(&tool, &path, &fresh_version)).await,
        409,
        "duplicate_turn",
    );
    assert_eq!(tool.version(&a, &sid).await, 1);

    // update needs expected_version; other turns may omit the session member.
    let no_version = json!({ "envelope_version": "1.0", "session": {"session_id": sid, "turn_id": trn()}, "input": {"patch": {}} });
    assert_problem(
        &tool.send(a.post(&tool, &path, &no_version)).await,
        400,
        "malformed_envelope",
    );
    let bare = json!({ "envelope_version": "1.0", "input": {} });
    let (status, paused) = tool
        .send(a.post(&tool, &format!("/oap/session/{sid}/pause"), &bare))
        .await;
    assert_eq!(status, StatusCode::OK, "{paused}");
    assert_eq!(paused["state_version"], json!(2));
    // expected_version is checked on other turns when present.
    let stale = env(&sid, Some(0), json!({}));
    let r = tool
        .send(a.post(&tool, &format!("/oap/session/{sid}/resume"), &stale))
        .await;
    assert_problem(&r, 409, "version_conflict");
}

#[tokio::test]
async fn schema_violations_change_nothing() {
    let tool = Tool::new();
    let a = Agent::new();
    let sid = tool.create(&a).await;
    for patch in [
        json!({"step": -1}),
        json!({"title": 3}),
        json!({"conformance": 5}),
    ] {
        assert_problem(
            &tool.update(&a, &sid, 0, patch).await,
            422,
            "state_schema_violation",
        );
    }
    assert_eq!(tool.version(&a, &sid).await, 0);
    let body = json!({ "envelope_version": "1.0", "input": { "scope": scope("public", "public"), "state": {"step": "x"} } });
    assert_problem(
        &tool.send(a.post(&tool, "/oap/session/create", &body)).await,
        422,
        "state_schema_violation",
    );
}

#[tokio::test]
async fn hijack_and_existence() {
    let tool = Tool::new();
    let (a, outsider) = (Agent::new(), Agent::new());
    let sid = tool.create(&a).await;
    let missing = oap_wire::ids::SessionId::new().to_string();
    let on_existing = tool.state(&outsider, &sid).await;
    let on_missing = tool.state(&outsider, &missing).await;
    assert_problem(&on_existing, 404, "session_not_found");
    assert_eq!(on_existing.1, on_missing.1);
    for op in ["update", "close", "pause", "leave"] {
        let e = tool.op(&outsider, &sid, op, json!({})).await;
        let m = tool.op(&outsider, &missing, op, json!({})).await;
        assert_eq!((e.0, &e.1), (m.0, &m.1), "{op}");
        assert_eq!(e.0.as_u16(), if op == "update" { 400 } else { 404 });
    }
    // The outsider's update changed nothing, and the log is hidden too.
    assert_eq!(tool.version(&a, &sid).await, 0);
    let log = tool
        .send(outsider.get(&tool, &format!("/oap/session/{sid}/log")))
        .await;
    assert_problem(&log, 404, "session_not_found");
    // join on a missing session: 404; a bad admission on an existing one: 403.
    let adm = admission(
        &tool,
        &a,
        &missing,
        &outsider,
        scope("internal", "internal"),
    );
    assert_problem(
        &tool.join_with(&missing, &outsider, adm).await,
        404,
        "session_not_found",
    );
    let forged = admission(
        &tool,
        &outsider,
        &sid,
        &outsider,
        scope("internal", "internal"),
    );
    assert_problem(
        &tool.join_with(&sid, &outsider, forged).await,
        403,
        "invalid_credential",
    );
}

#[tokio::test]
async fn convener_authority_handoff_and_revocation() {
    let tool = Tool::new();
    let (a, b, c) = (Agent::new(), Agent::new(), Agent::new());
    let sid = tool.create(&a).await;
    tool.join(&a, &sid, &b).await;
    for op in ["close", "pause"] {
        assert_problem(&tool.op(&b, &sid, op, json!({})).await, 403, "not_convener");
    }
    assert_problem(
        &tool.op(&a, &sid, "leave", json!({})).await,
        409,
        "convener_must_handoff",
    );
    // A revocation presented by a participant: not_convener.
    let rev = revocation(&tool, &a, &sid, &b);
    assert_problem(
        &tool.op(&b, &sid, "leave", json!({"revocation": rev})).await,
        403,
        "not_convener",
    );
    // An admission issued before the handoff carries no authority after it.
    let early = admission(&tool, &a, &sid, &c, scope("internal", "internal"));
    let h = handoff(&tool, &a, &sid, &b);
    assert_eq!(
        tool.op(&a, &sid, "handoff", json!({"handoff": h.clone()}))
            .await
            .0,
        StatusCode::OK
    );
    assert_problem(
        &tool.join_with(&sid, &c, early).await,
        403,
        "invalid_credential",
    );
    assert_problem(
        &tool.op(&a, &sid, "pause", json!({})).await,
        403,
        "not_convener",
    );
    // The handoff credential's nonce is spent.
    assert_problem(
        &tool.op(&b, &sid, "handoff", json!({"handoff": h})).await,
        403,
        "invalid_credential",
    );
    // The new convener admits and revokes; a revoked subject needs a newer admission.
    let old_adm = admission(&tool, &b, &sid, &c, scope("internal", "internal"));
    assert_eq!(tool.join(&b, &sid, &c).await.0, StatusCode::OK);
    let rev = revocation(&tool, &b, &sid, &c);
    let (status, body) = tool.op(&b, &sid, "leave", json!({"revocation": rev})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_problem(&tool.state(&c, &sid).await, 404, "session_not_found");
    assert_problem(
        &tool.join_with(&sid, &c, old_adm).await,
        403,
        "invalid_credential",
    );
    tool.clock.advance(1);
    assert_eq!(tool.join(&b, &sid, &c).await.0, StatusCode::OK);
    // data_delete: convener only, then gone for everyone.
    let del = json!({ "envelope_version": "1.0", "input": {"session_id": sid} });
    assert_problem(
        &tool.send(c.post(&tool, "/oap/data_delete", &del)).await,
        403,
        "not_convener",
    );
    let (status, body) = tool.send(b.post(&tool, "/oap/data_delete", &del)).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"session_id": sid, "deleted": true}))
    );
    for who in [&a, &b, &c] {
        assert_problem(&tool.state(who, &sid).await, 404, "session_not_found");
    }
    assert_problem(
        &tool.send(b.post(&tool, "/oap/data_delete", &del)).await,
        404,
        "session_not_found",
    );
}

#[tokio::test]
async fn credentials_are_checked() {
    let tool = Tool::new();
    let (a, b, c) = (Agent::new(), Agent::new(), Agent::new());
    let sid = tool.create(&a).await;
    let other = tool.create(&a).await;
    let for_other = admission(&tool, &a, &other, &b, scope("internal", "internal"));
    assert_problem(
        &tool.join_with(&sid, &b, for_other).await,
        403,
        "invalid_credential",
    );
    let for_c = admission(&tool, &a, &sid, &c, scope("internal", "internal"));
    assert_problem(
        &tool.join_with(&sid, &b, for_c).await,
        403,
        "invalid_credential",
    );
    let mut tampered = admission(&tool, &a, &sid, &b, scope("internal", "internal"));
    tampered["scope"] = scope("internal", "restricted");
    assert_problem(
        &tool.join_with(&sid, &b, tampered).await,
        403,
        "invalid_credential",
    );
    let expired = credential(
        &a,
        json!({ "type": "SessionAdmission", "session_id": sid, "subject": b.did(),
        "scope": scope("internal", "internal"), "nonce": nonce(), "issued_at": "2020-01-01T00:00:00Z",
        "expires_at": "2020-01-02T00:00:00Z" }),
    );
    assert_problem(
        &tool.join_with(&sid, &b, expired).await,
        403,
        "invalid_credential",
    );
    // Single use: after leaving, the same admission cannot admit again.
    let adm = admission(&tool, &a, &sid, &b, scope("internal", "internal"));
    assert_eq!(
        tool.join_with(&sid, &b, adm.clone()).await.0,
        StatusCode::OK
    );
    // The spent admission is refused first (authority before lifecycle), a fresh one with 409.
    assert_problem(
        &tool.join_with(&sid, &b, adm.clone()).await,
        403,
        "invalid_credential",
    );
    assert_problem(&tool.join(&a, &sid, &b).await, 409, "already_participant");
    assert_eq!(
        tool.op(&b, &sid, "leave", json!({})).await.0,
        StatusCode::OK
    );
    assert_problem(
        &tool.join_with(&sid, &b, adm).await,
        403,
        "invalid_credential",
    );
}

#[tokio::test]
async fn ccc_rules_on_join() {
    let tool = Tool::new();
    let a = Agent::new();
    let sid = tool
        .create_with(&a, json!({"scope": scope("internal", "confidential")}))
        .await;
    let low = Agent::new();
    assert_problem(
        &tool
            .join_scoped(&a, &sid, &low, scope("public", "public"))
            .await,
        403,
        "ccc_unsatisfied",
    );
    let high = Agent::new();
    assert_problem(
        &tool
            .join_scoped(&a, &sid, &high, scope("restricted", "restricted"))
            .await,
        403,
        "ccc_unsatisfied",
    );
    let ok = Agent::new();
    assert_eq!(
        tool.join_scoped(&a, &sid, &ok, scope("confidential", "confidential"))
            .await
            .0,
        StatusCode::OK
    );
    let (_, st) = tool.state(&a, &sid).await;
    assert_eq!(st["ccc"], json!("confidential"));
    let mut bad = admission(
        &tool,
        &a,
        &sid,
        &Agent::new(),
        scope("restricted", "public"),
    );
    bad["x"] = json!(1);
    assert_problem(
        &tool.join_with(&sid, &Agent::new(), bad).await,
        403,
        "invalid_credential",
    );
    let body =
        json!({ "envelope_version": "1.0", "input": { "scope": scope("restricted", "public") } });
    assert_problem(
        &tool.send(a.post(&tool, "/oap/session/create", &body)).await,
        400,
        "malformed_envelope",
    );
}

#[tokio::test]
async fn quotas() {
    let tool = Tool::new();
    let a = Agent::new();
    let limits = *tool.state.engine.limits();
    let big =
        json!({ "scope": scope("public", "public"), "ttl_seconds": limits.max_ttl_seconds() + 1 });
    let body = json!({ "envelope_version": "1.0", "input": big });
    assert_problem(
        &tool.send(a.post(&tool, "/oap/session/create", &body)).await,
        400,
        "ttl_exceeds_limit",
    );
    let mut sids = Vec::new();
    for _ in 0..limits.max_sessions_per_convener {
        sids.push(tool.create(&a).await);
    }
    let body =
        json!({ "envelope_version": "1.0", "input": { "scope": scope("public", "public") } });
    assert_problem(
        &tool.send(a.post(&tool, "/oap/session/create", &body)).await,
        429,
        "session_quota_exceeded",
    );
    // Closing one frees a slot.
    assert_eq!(
        tool.op(&a, &sids[0], "close", json!({})).await.0,
        StatusCode::OK
    );
    tool.create(&a).await;
    // Participants, convener included.
    let sid = &sids[1];
    for _ in 1..limits.max_participants {
        assert_eq!(tool.join(&a, sid, &Agent::new()).await.0, StatusCode::OK);
    }
    assert_problem(
        &tool.join(&a, sid, &Agent::new()).await,
        409,
        "participant_limit",
    );
}

#[tokio::test]
async fn expiry_and_pause_rules() {
    let tool = Tool::new();
    let (a, b) = (Agent::new(), Agent::new());
    let sid = tool
        .create_with(
            &a,
            json!({"scope": scope("public", "internal"), "ttl_seconds": 5}),
        )
        .await;
    tool.join_scoped(&a, &sid, &b, scope("public", "internal"))
        .await;
    assert_eq!(
        tool.op(&a, &sid, "pause", json!({})).await.0,
        StatusCode::OK
    );
    assert_problem(
        &tool.op(&a, &sid, "pause", json!({})).await,
        409,
        "invalid_transition",
    );
    assert_problem(
        &tool.update(&b, &sid, 2, json!({})).await,
        409,
        "session_paused",
    );
    assert_problem(
        &tool.join(&a, &sid, &Agent::new()).await,
        409,
        "session_paused",
    );
    assert_eq!(
        tool.op(&a, &sid, "resume", json!({})).await.0,
        StatusCode::OK
    );
    assert_problem(
        &tool.op(&a, &sid, "resume", json!({})).await,
        409,
        "invalid_transition",
    );
    tool.clock.advance(5);
    let (_, st) = tool.state(&b, &sid).await;
    assert_eq!(st["status"], json!("expired"));
    let v = st["state_version"].as_u64().unwrap();
    assert_problem(
        &tool.update(&b, &sid, v, json!({})).await,
        409,
        "session_expired",
    );
    assert_problem(
        &tool.op(&a, &sid, "close", json!({})).await,
        409,
        "session_expired",
    );
    assert_eq!(tool.log(&b, &sid).await.len() as u64, v + 1);
    // An expired session no longer counts against the quota; data_delete still works.
    let del = json!({ "envelope_version": "1.0", "input": {"session_id": sid} });
    assert_eq!(
        tool.send(a.post(&tool, "/oap/data_delete", &del)).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn log_paging() {
    let tool = Tool::new();
    let a = Agent::new();
    let sid = tool.create(&a).await;
    for v in 0..5 {
        assert_eq!(
            tool.update(&a, &sid, v, json!({"step": v})).await.0,
            StatusCode::OK
        );
    }
    let page = |q: &str| a.get(&tool, &format!("/oap/session/{sid}/log{q}"));
    let (_, p1) = tool.send(page("?from=1&limit=2")).await;
    let versions: Vec<_> = p1["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state_version"].clone())
        .collect();
    assert_eq!(versions, vec![json!(1), json!(2)]);
    assert_eq!(p1["next"], json!(3));
    let (_, p2) = tool.send(page("?from=3&limit=5000")).await;
    assert_eq!(p2["receipts"].as_array().unwrap().len(), 3);
    assert_eq!(p2["next"], Value::Null);
    let (_, empty) = tool.send(page("?from=2&limit=0")).await;
    assert_eq!(
        (&empty["receipts"], &empty["next"]),
        (&json!([]), &json!(2))
    );
    let (_, beyond) = tool.send(page("?from=99")).await;
    assert_eq!(
        (&beyond["receipts"], &beyond["next"]),
        (&json!([]), &Value::Null)
    );
    assert_problem(
        &tool.send(page("?from=-1")).await,
        400,
        "malformed_envelope",
    );
    assert_problem(
        &tool.send(page("?limit=x")).await,
        400,
        "malformed_envelope",
    );
    let (_, all) = tool.send(page("?other=1")).await;
    verify(&tool, &sid, all["receipts"].as_array().unwrap());
}

#[tokio::test]
async fn stateless_invoke() {
    let tool = Tool::new();
    let a = Agent::new();
    let body = json!({ "envelope_version": "1.0", "action": "echo", "input": {"hello": [1, 2]} });
    let (status, out) = tool.send(a.post(&tool, "/oap/invoke", &body)).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["output"], json!({"hello": [1, 2]}));
    for m in ["session_id", "turn_id", "previous_turn_id", "state_version"] {
        assert!(out["receipt"].get(m).is_none());
    }
    assert_eq!(
        oap_wire::proof::verify_document(&out["receipt"]).ok(),
        Some(tool.tool_did())
    );
    let unknown = json!({ "envelope_version": "1.0", "action": "nope", "input": 1 });
    assert_problem(
        &tool.send(a.post(&tool, "/oap/invoke", &unknown)).await,
        400,
        "unknown_action",
    );
}

#[tokio::test]
async fn concurrent_updates_never_lose_one() {
    let tool = std::sync::Arc::new(Tool::new());
    let a = Agent::new();
    let sid = tool.create(&a).await;
    // 8 writers race on every version; exactly one wins each round.
    let mut handles = Vec::new();
    for w in 0..8u64 {
        let (tool, a, sid) = (tool.clone(), a.clone(), sid.clone());
        handles.push(tokio::spawn(async move {
            let mut wins = 0u64;
            for _ in 0..10 {
                let v = tool.version(&a, &sid).await;
                if tool
                    .update(&a, &sid, v, json!({"conformance": {format!("w{w}"): v}}))
                    .await
                    .0
                    == StatusCode::OK
                {
                    wins += 1;
                }
            }
            wins
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    assert_eq!(tool.version(&a, &sid).await, total);
    let log = tool.log(&a, &sid).await;
    verify(&tool, &sid, &log);
}
