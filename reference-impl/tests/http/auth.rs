//! Request authentication: every 401 code, the check order, and that a refused request
//! changes nothing and does not spend its nonce.

use axum::body::Body;
use http::{Request, StatusCode};
use serde_json::json;

use crate::support::*;

fn create_body() -> Vec<u8> {
    json!({ "envelope_version": "1.0", "input": { "scope": scope("public", "public") } })
        .to_string()
        .into_bytes()
}

#[tokio::test]
async fn unsigned_requests_are_refused() {
    let tool = Tool::new();
    let req = Request::post("/oap/session/create")
        .header("host", HOST)
        .header("content-type", "application/json")
        .body(Body::from(create_body()))
        .unwrap();
    assert_problem(&tool.send(req).await, 401, "missing_signature");
    let a = Agent::new();
    let mut req = a.request_raw(
        "POST",
        "/oap/session/create",
        Some(create_body()),
        tool.now(),
    );
    req.headers_mut()
        .insert("signature-input", "garbage(".parse().unwrap());
    assert_problem(&tool.send(req).await, 401, "missing_signature");
}

#[tokio::test]
async fn bad_signatures_are_refused() {
    let tool = Tool::new();
    let a = Agent::new();
    // Signed for another path.
    let mut req = a.request_raw(
        "POST",
        "/oap/session/create",
        Some(create_body()),
        tool.now(),
    );
    *req.uri_mut() = "/oap/invoke".parse().unwrap();
    assert_problem(&tool.send(req).await, 401, "invalid_signature");
    // Signed for another host.
    let mut req = a.request_raw("GET", "/oap/session/x/state", None, tool.now());
    req.headers_mut()
        .insert("host", "evil.test".parse().unwrap());
    assert_problem(&tool.send(req).await, 401, "invalid_signature");
    // Body swapped with a matching digest: the signature covers the old digest.
    let req = a.request_raw(
        "POST",
        "/oap/session/create",
        Some(create_body()),
        tool.now(),
    );
    let (mut parts, _) = req.into_parts();
    let other = br#"{"envelope_version":"1.0","input":{"scope":{"ccc":"internal","clearance":"internal"}}}"#;
    parts.headers.insert(
        "content-digest",
        oap_wire::digest::content_digest(other).parse().unwrap(),
    );
    assert_problem(
        &tool
            .send(Request::from_parts(parts, Body::from(&other[..])))
            .await,
        401,
        "invalid_signature",
    );
}

#[tokio::test]
async fn digest_mismatch_is_refused() {
    let tool = Tool::new();
    let a = Agent::new();
    let req = a.request_raw(
        "POST",
        "/oap/session/create",
        Some(create_body()),
        tool.now(),
    );
    let (parts, _) = req.into_parts();
    let tampered = br#"{"envelope_version":"1.0","input":{"scope":{"ccc":"public","clearance":"restricted"}}}"#;
    assert_problem(
        &tool
            .send(Request::from_parts(parts, Body::from(&tampered[..])))
            .await,
        401,
        "content_digest_mismatch",
    );
    let req = a.request_raw(
        "POST",
        "/oap/session/create",
        Some(create_body()),
        tool.now(),
    );
    let (mut parts, body) = req.into_parts();
    parts.headers.remove("content-digest");
    // Without the header the covered component has no value: still caught before the signature.
    let got = tool.send(Request::from_parts(parts, body)).await;
    assert_eq!(got.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn stale_and_future_signatures_are_refused() {
    let tool = Tool::new();
    let a = Agent::new();
    let old = a.request_raw(
        "POST",
        "/oap/session/create",
        Some(create_body()),
        tool.now() - 301,
    );
    assert_problem(&tool.send(old).await, 401, "stale_signature");
    let future = a.request_raw(
        "POST",
        "/oap/session/create",
        Some(create_body()),
        tool.now() + 31,
    );
    assert_problem(&tool.send(future).await, 401, "stale_signature");
    let edge = a.request_raw(
        "POST",
        "/oap/session/create",
        Some(create_body()),
        tool.now() - 299,
    );
    assert_eq!(tool.send(edge).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn replays_are_refused_whatever_the_first_outcome() {
    let tool = Tool::new();
    let a = Agent::new();
    let n = nonce();
    let mk = || {
        a.request_with(
            "POST",
            "/oap/session/create",
            Some(create_body()),
            tool.now(),
            &n,
            "application/json",
        )
    };
    assert_eq!(tool.send(mk()).await.0, StatusCode::CREATED);
    assert_problem(&tool.send(mk()).await, 401, "replayed_request");
    // A failed request spends its nonce too.
    let bad = json!({ "envelope_version": "9" }).to_string().into_bytes();
    let n2 = nonce();
    let mk2 = || {
        a.request_with(
            "POST",
            "/oap/session/create",
            Some(bad.clone()),
            tool.now(),
            &n2,
            "application/json",
        )
    };
    assert_problem(&tool.send(mk2()).await, 400, "unsupported_envelope_version");
    assert_problem(&tool.send(mk2()).await, 401, "replayed_request");
    // Another signer may use the same nonce.
    let b = Agent::new();
    let other = b.request_with(
        "POST",
        "/oap/session/create",
        Some(create_body()),
        tool.now(),
        &n,
        "application/json",
    );
    assert_eq!(tool.send(other).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn an_authentication_failure_does_not_spend_the_nonce() {
    let tool = Tool::new();
    let a = Agent::new();
    let n = nonce();
    let stale = a.request_with(
        "POST",
        "/oap/session/create",
        Some(create_body()),
        tool.now() - 400,
        &n,
        "application/json",
    );
    assert_problem(&tool.send(stale).await, 401, "stale_signature");
    let fresh = a.request_with(
        "POST",
        "/oap/session/create",
        Some(create_body()),
        tool.now(),
        &n,
        "application/json",
    );
    assert_eq!(tool.send(fresh).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn check_order_is_deterministic() {
    let tool = Tool::new();
    let a = Agent::new();
    // Stale and replayed: stale wins (freshness before replay).
    let n = nonce();
    let ok = a.request_with(
        "POST",
        "/oap/session/create",
        Some(create_body()),
        tool.now(),
        &n,
        "application/json",
    );
    assert_eq!(tool.send(ok).await.0, StatusCode::CREATED);
    let stale = a.request_with(
        "POST",
        "/oap/session/create",
        Some(create_body()),
        tool.now() - 400,
        &n,
        "application/json",
    );
    assert_problem(&tool.send(stale).await, 401, "stale_signature");
    // Wrong media type beats a missing signature; size beats both.
    let req = Request::post("/oap/session/create")
        .header("content-type", "text/plain")
        .body(Body::from("x"))
        .unwrap();
    assert_problem(&tool.send(req).await, 415, "unsupported_media_type");
    let big = vec![b' '; 1024 * 1024 + 1];
    let req = Request::post("/oap/session/create")
        .header("content-type", "text/plain")
        .body(Body::from(big))
        .unwrap();
    assert_problem(&tool.send(req).await, 413, "payload_too_large");
    // Signature before envelope: an unsigned malformed body is 401.
    let req = Request::post("/oap/session/create")
        .header("content-type", "application/json")
        .body(Body::from("{"))
        .unwrap();
    assert_problem(&tool.send(req).await, 401, "missing_signature");
    // Components before digest: a GET-style signature on a POST is invalid_signature even with a bad digest.
    let mut req = a.request_raw("GET", "/oap/session/create", None, tool.now());
    *req.method_mut() = http::Method::POST;
    req.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    req.headers_mut()
        .insert("content-digest", "sha-256=:AAAA:".parse().unwrap());
    *req.body_mut() = Body::from(create_body());
    assert_problem(&tool.send(req).await, 401, "invalid_signature");
}

#[tokio::test]
async fn keyid_must_be_a_did_key() {
    let tool = Tool::new();
    let a = Agent::new();
    let req = a.request_raw("GET", "/oap/session/x/state", None, tool.now());
    let (mut parts, body) = req.into_parts();
    let input = parts.headers["signature-input"]
        .to_str()
        .unwrap()
        .replace(&a.did(), "did:web:example.com");
    parts
        .headers
        .insert("signature-input", input.parse().unwrap());
    assert_problem(
        &tool.send(Request::from_parts(parts, body)).await,
        401,
        "invalid_signature",
    );
}
