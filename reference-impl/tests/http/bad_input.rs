//! Hostile and malformed bodies: every one a 4xx problem, never a 5xx, never a state change.

use http::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn malformed_bodies_are_4xx_and_change_nothing() {
    let tool = Tool::new();
    let a = Agent::new();
    let sid = tool.create(&a).await;
    let path = format!("/oap/session/{sid}/update");
    let t = trn();
    let deep = format!(
        r#"{{"envelope_version":"1.0","session":{{"session_id":"{sid}","turn_id":"{t}","expected_version":0}},"input":{{"patch":{{"conformance":{}1{}}}}}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"not json".to_vec(), 400, "malformed_envelope"),
        (b"".to_vec(), 400, "malformed_envelope"),
        (b"\xff\xfe{}".to_vec(), 400, "malformed_envelope"),
        (deep.into_bytes(), 400, "malformed_envelope"),
        (format!(r#"{{"envelope_version":"1.0","envelope_version":"1.0","session":{{"session_id":"{sid}","turn_id":"{t}","expected_version":0}},"input":{{"patch":{{}}}}}}"#).into_bytes(), 400, "malformed_envelope"),
        (format!(r#"{{"envelope_version":"1.0","session":{{"session_id":"{sid}","turn_id":"{t}","expected_version":0}},"input":{{"patch":{{"conformance":{{"n":9007199254740993}}}}}}}}"#).into_bytes(), 400, "malformed_envelope"),
        (format!(r#"{{"envelope_version":"1.0","session":{{"session_id":"{sid}","turn_id":"{t}","expected_version":9007199254740992}},"input":{{"patch":{{}}}}}}"#).into_bytes(), 400, "malformed_envelope"),
        (format!(r#"{{"envelope_version":"1.0","session":{{"session_id":"{sid}","turn_id":"{t}","expected_version":0}},"input":{{"patch":{{}}}}}} trailing"#).into_bytes(), 400, "malformed_envelope"),
        (format!(r#"{{"envelope_version":"1.1","session":{{"session_id":"{sid}","turn_id":"{t}","expected_version":0}},"input":{{"patch":{{}}}}}}"#).into_bytes(), 400, "unsupported_envelope_version"),
        (format!(r#"{{"envelope_version":"1.0","session":{{"session_id":"{sid}","turn_id":"trn_123","expected_version":0}},"input":{{"patch":{{}}}}}}"#).into_bytes(), 400, "invalid_identifier"),
        (format!(r#"{{"envelope_version":"1.0","session":{{"session_id":"ses_8ZZZZZZZZZZZZZZZZZZZZZZZZZ","turn_id":"{t}","expected_version":0}},"input":{{"patch":{{}}}}}}"#).into_bytes(), 400, "invalid_identifier"),
        (format!(r#"{{"envelope_version":"1.0","session":{{"session_id":"{sid}","turn_id":"{t}","expected_version":"0"}},"input":{{"patch":{{}}}}}}"#).into_bytes(), 400, "malformed_envelope"),
        (format!(r#"{{"envelope_version":"1.0","session":{{"session_id":"{sid}","turn_id":"{t}","expected_version":0}},"input":{{"patch":[]}}}}"#).into_bytes(), 400, "malformed_envelope"),
        (format!(r#"{{"envelope_version":"1.0","session":{{"session_id":"{sid}","turn_id":"{t}","expected_version":0}},"input":{{"patch":{{}},"extra":1}}}}"#).into_bytes(), 400, "malformed_envelope"),
        (format!(r#"{{"envelope_version":"1.0","session":{{"session_id":"{sid}","turn_id":"{t}","expected_version":0,"x":1}},"input":{{"patch":{{}}}}}}"#).into_bytes(), 400, "malformed_envelope"),
        (format!(r#"{{"envelope_version":"1.0","session":{{"session_id":"{}","turn_id":"{t}","expected_version":0}},"input":{{"patch":{{}}}}}}"#, oap_wire::ids::SessionId::new()).into_bytes(), 400, "session_mismatch"),
        (vec![b' '; 1024 * 1024 + 1], 413, "payload_too_large"),
    ];
    for (body, status, code) in cases {
        let shown = String::from_utf8_lossy(&body[..body.len().min(120)]).into_owned();
        let got = tool
            .send(a.request_raw("POST", &path, Some(body), tool.now()))
            .await;
        assert_eq!(
            (got.0.as_u16(), got.1["code"].as_str().unwrap_or("")),
            (status, code),
            "{shown}"
        );
    }
    let wrong_type = a.request_with(
        "POST",
        &path,
        Some(b"{}".to_vec()),
        tool.now(),
        &nonce(),
        "text/plain",
    );
    assert_problem(&tool.send(wrong_type).await, 415, "unsupported_media_type");
    let charset = a.request_with(
        "POST",
        &path,
        Some(
            env(&sid, Some(0), json!({"patch": {"step": 1}}))
                .to_string()
                .into_bytes(),
        ),
        tool.now(),
        &nonce(),
        "application/json; charset=utf-8",
    );
    assert_eq!(tool.send(charset).await.0, StatusCode::OK);
    assert_eq!(tool.version(&a, &sid).await, 1);
    assert_eq!(tool.log(&a, &sid).await.len(), 2);
    // A bad path identifier.
    assert_problem(&tool.state(&a, "ses_nope").await, 400, "invalid_identifier");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_problems() {
    let tool = Tool::new();
    let a = Agent::new();
    assert_problem(&tool.send(a.get(&tool, "/nope")).await, 404, "not_found");
    assert_problem(
        &tool.send(a.get(&tool, "/oap/session/create")).await,
        405,
        "method_not_allowed",
    );
}

/// Arbitrary bodies, signed, on every POST endpoint: never a 5xx, never a panic, and the
/// (closed) session is unchanged.
#[test]
fn arbitrary_bodies_never_answer_5xx() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tool = Tool::new();
    let a = Agent::new();
    let sid = rt.block_on(tool.create(&a));
    // Closed, so that even a body that happens to be a valid envelope cannot change it.
    rt.block_on(tool.op(&a, &sid, "close", json!({})));
    let fragments = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"envelope_version\"",
        "\"1.0\"",
        "\"session\"",
        "\"input\"",
        "\"patch\"",
        "\"session_id\"",
        "\"turn_id\"",
        "\"expected_version\"",
        "\"action\"",
        "\"echo\"",
        "0",
        "-1",
        "1e999",
        "9007199254740993",
        "null",
        "true",
        "\"\\ud800\"",
        " ",
        "\"x\"",
    ]);
    let body = prop::collection::vec(fragments, 0..40).prop_map(|f| f.concat());
    let endpoints = [
        "create", "join", "leave", "update", "close", "pause", "resume", "handoff",
    ];
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(200));
    runner
        .run(&(body, 0..endpoints.len() + 2), |(body, e)| {
            let path = match e {
                0 => "/oap/session/create".to_owned(),
                i if i < endpoints.len() => format!("/oap/session/{sid}/{}", endpoints[i]),
                i if i == endpoints.len() => "/oap/invoke".to_owned(),
                _ => "/oap/data_delete".to_owned(),
            };
            let got = rt.block_on(tool.send(a.request_raw(
                "POST",
                &path,
                Some(body.into_bytes()),
                tool.now(),
            )));
            prop_assert!(got.0.as_u16() < 500, "{} on {path}: {}", got.0, got.1);
            Ok(())
        })
        .unwrap();
    assert_eq!(rt.block_on(tool.version(&a, &sid)), 1);
}

/// A declared `Content-Length` over the limit is refused by the body-limit layer, still with a
/// problem body.
#[tokio::test]
async fn declared_oversize_is_a_problem() {
    let tool = Tool::new();
    let big = vec![b'x'; 1024 * 1024 + 10];
    let req = http::Request::post("/oap/session/create")
        .header("host", HOST)
        .header("content-type", "application/json")
        .header("content-length", big.len())
        .body(axum::body::Body::from(big))
        .unwrap();
    assert_problem(&tool.send(req).await, 413, "payload_too_large");
}
