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

/// Whether an answer announces `Connection: close`.
fn closes(resp: &http::Response<axum::body::Body>) -> bool {
    resp.headers()
        .get(http::header::CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"))
}

/// An answer given without reading the request body to its end (the 404 fallback, a 413 on the
/// declared length) carries `Connection: close`, so a client never writes its next request on a
/// connection the server is about to close; answers to requests read in full do not.
#[tokio::test]
async fn answers_leaving_the_body_unread_close_the_connection() {
    use tower::ServiceExt;
    let tool = Tool::new();
    let a = Agent::new();
    let sid = tool.create(&a).await;
    let send = |req: http::Request<axum::body::Body>| tool.router.clone().oneshot(req);
    let body = env(&sid, Some(0), json!({"patch": {"step": 1}})).to_string();

    let nowhere = a.request_raw(
        "POST",
        "/oap/nowhere",
        Some(body.clone().into_bytes()),
        tool.now(),
    );
    let resp = send(nowhere).await.unwrap();
    assert_eq!(resp.status(), 404);
    assert!(closes(&resp), "{:?}", resp.headers());

    let path = format!("/oap/session/{sid}/update");
    let mut big = a.request_raw("POST", &path, Some(b"{}".to_vec()), tool.now());
    big.headers_mut().insert(
        http::header::CONTENT_LENGTH,
        http::HeaderValue::from(2 * 1024 * 1024),
    );
    let resp = send(big).await.unwrap();
    assert_eq!(resp.status(), 413);
    assert!(closes(&resp), "{:?}", resp.headers());

    // Read in full: refused (415) or accepted, the connection stays open.
    let wrong_type = a.request_with(
        "POST",
        &path,
        Some(b"{}".to_vec()),
        tool.now(),
        &nonce(),
        "text/plain",
    );
    let resp = send(wrong_type).await.unwrap();
    assert_eq!(resp.status(), 415);
    assert!(!closes(&resp), "{:?}", resp.headers());
    let update = a.request_raw("POST", &path, Some(body.into_bytes()), tool.now());
    let resp = send(update).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(!closes(&resp), "{:?}", resp.headers());
    let resp = send(a.get(&tool, &format!("/oap/session/{sid}/state")))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(!closes(&resp), "{:?}", resp.headers());
}

/// On the wire: the head of a POST to no endpoint, its declared body not yet sent, is answered
/// 404 with `Connection: close`, and the Tool then closes the connection.
#[tokio::test]
async fn unread_body_on_the_wire_is_answered_with_connection_close() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let running = oap_ref::serve(oap_ref::Config {
        data_dir: dir.path().to_owned(),
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        ..oap_ref::Config::default()
    })
    .await
    .unwrap();
    let addr = running.url.trim_start_matches("http://").to_owned();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    sock.write_all(
        b"POST /oap/nowhere HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        sock.read_to_end(&mut answer),
    )
    .await;
    let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 404"), "{text}");
    assert!(text.contains("\r\nconnection: close\r\n"), "{text}");
    assert!(
        matches!(read, Ok(Ok(_))),
        "the Tool kept the connection open: {read:?}"
    );
    running.shutdown().await;
}
