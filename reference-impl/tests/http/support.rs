//! Test support: an in-process Tool, agents that sign requests with RFC 9421, and a convener's
//! credential issuer, all built on `oap-wire`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use oap_ref::engine::clock::ManualClock;
use oap_ref::{AppState, Config, FaultSet, app, open_state_with_clock};
use oap_wire::Keypair;
use oap_wire::httpsig::{SignRequest, sign};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The Host every in-process request uses.
pub const HOST: &str = "tool.test";

/// An in-process Tool with a manual clock.
pub struct Tool {
    pub router: Router,
    pub state: AppState,
    pub clock: ManualClock,
    /// Keeps the data directory alive as long as the Tool.
    pub _dir: tempfile::TempDir,
}

impl Tool {
    pub fn new() -> Tool {
        Tool::with_faults(FaultSet::none())
    }

    pub fn with_faults(faults: FaultSet) -> Tool {
        Tool::build(faults, true)
    }

    /// A Tool serving only the OAP binding.
    pub fn oap_only() -> Tool {
        Tool::build(FaultSet::none(), false)
    }

    fn build(faults: FaultSet, amp: bool) -> Tool {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_owned(),
            faults,
            amp,
            ..Config::default()
        };
        let clock = ManualClock::new();
        let state = open_state_with_clock(&config, Arc::new(clock.clone())).expect("open");
        Tool {
            router: app(state.clone()),
            state,
            clock,
            _dir: dir,
        }
    }

    /// Sends a request; returns status, `Content-Type` and body bytes.
    pub async fn send_raw(&self, req: Request<Body>) -> (StatusCode, String, axum::body::Bytes) {
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, ct, bytes)
    }

    /// Sends a request; returns status and JSON body (Null when the body is empty).
    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let (status, ct, bytes) = self.send_raw(req).await;
        if status.as_u16() >= 400 {
            assert_eq!(
                ct, "application/problem+json",
                "error without a problem body: {status}"
            );
        }
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        if let Some(code) = body.get("code") {
            assert_eq!(body["status"], json!(status.as_u16()), "{body}");
            assert_eq!(
                body["type"],
                json!(format!("urn:oap:problem:{}", code.as_str().unwrap_or("")))
            );
        }
        (status, body)
    }

    pub fn now(&self) -> i64 {
        oap_ref::engine::clock::Clock::unix_now(&self.clock)
    }
}

/// A participant with its own did:key.
#[derive(Clone, Debug)]
pub struct Agent {
    pub key: Keypair,
}

pub fn nonce() -> String {
    format!("n{}", ulid::Ulid::new())
}

impl Agent {
    pub fn new() -> Agent {
        Agent {
            key: Keypair::generate(),
        }
    }

    pub fn did(&self) -> String {
        self.key.did.clone()
    }

    /// A signed request; `body` is sent as-is with the right digest.
    pub fn request_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        created: i64,
    ) -> Request<Body> {
        self.request_with(method, path, body, created, &nonce(), "application/json")
    }

    pub fn request_with(
        &self,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
        created: i64,
        nonce: &str,
        content_type: &str,
    ) -> Request<Body> {
        let target = format!("http://{HOST}{path}");
        let digest = body.as_deref().map(oap_wire::digest::content_digest);
        let headers = sign(
            &self.key,
            &SignRequest {
                method,
                target_uri: &target,
                content_type: body.as_ref().map(|_| content_type),
                content_digest: digest.as_deref(),
                created,
                nonce,
                label: "sig1",
            },
        );
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", HOST)
            .header("signature-input", headers.signature_input)
            .header("signature", headers.signature);
        if let Some(d) = &digest {
            b = b
                .header("content-digest", d)
                .header("content-type", content_type);
        }
        b.body(body.map(Body::from).unwrap_or_else(Body::empty))
            .expect("request")
    }

    pub fn post(&self, tool: &Tool, path: &str, body: &Value) -> Request<Body> {
        self.request_raw(
            "POST",
            path,
            Some(body.to_string().into_bytes()),
            tool.now(),
        )
    }

    pub fn get(&self, tool: &Tool, path: &str) -> Request<Body> {
        self.request_raw("GET", path, None, tool.now())
    }
}

/// A fresh turn id.
pub fn trn() -> String {
    oap_wire::ids::TurnId::new().to_string()
}

/// An envelope for a session endpoint.
pub fn env(session_id: &str, expected: Option<u64>, input: Value) -> Value {
    let mut session = json!({ "session_id": session_id, "turn_id": trn() });
    if let Some(v) = expected {
        session["expected_version"] = json!(v);
    }
    json!({ "envelope_version": "1.0", "session": session, "input": input })
}

pub fn scope(ccc: &str, clearance: &str) -> Value {
    json!({ "ccc": ccc, "clearance": clearance })
}

fn ts(unix: i64) -> String {
    oap_wire::time::format_unix(unix)
}

/// A credential signed by `issuer`.
pub fn credential(issuer: &Agent, mut doc: Value) -> Value {
    doc["issuer"] = json!(issuer.did());
    let created = doc["issued_at"]
        .as_str()
        .unwrap_or("2026-01-01T00:00:00Z")
        .to_owned();
    oap_wire::proof::sign_document(&doc, &issuer.key, &created, "assertionMethod").expect("sign")
}

pub fn admission(
    tool: &Tool,
    issuer: &Agent,
    session_id: &str,
    subject: &Agent,
    scope: Value,
) -> Value {
    credential(
        issuer,
        json!({
            "type": "SessionAdmission", "session_id": session_id, "subject": subject.did(),
            "scope": scope, "nonce": nonce(), "issued_at": ts(tool.now()),
            "expires_at": ts(tool.now() + 600),
        }),
    )
}

pub fn revocation(tool: &Tool, issuer: &Agent, session_id: &str, subject: &Agent) -> Value {
    credential(
        issuer,
        json!({
            "type": "SessionRevocation", "session_id": session_id, "subject": subject.did(),
            "nonce": nonce(), "issued_at": ts(tool.now()),
        }),
    )
}

pub fn handoff(tool: &Tool, issuer: &Agent, session_id: &str, subject: &Agent) -> Value {
    credential(
        issuer,
        json!({
            "type": "SessionHandoff", "session_id": session_id, "subject": subject.did(),
            "nonce": nonce(), "issued_at": ts(tool.now()), "expires_at": ts(tool.now() + 600),
        }),
    )
}

/// Shortcuts for the common flows.
impl Tool {
    /// Creates a session convened by `convener` with scope internal/confidential.
    pub async fn create(&self, convener: &Agent) -> String {
        self.create_with(
            convener,
            json!({ "scope": scope("internal", "confidential") }),
        )
        .await
    }

    pub async fn create_with(&self, convener: &Agent, input: Value) -> String {
        let body = json!({ "envelope_version": "1.0", "input": input });
        let (status, resp) = self
            .send(convener.post(self, "/oap/session/create", &body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{resp}");
        resp["session_id"].as_str().expect("session_id").to_owned()
    }

    pub async fn join(&self, convener: &Agent, sid: &str, who: &Agent) -> (StatusCode, Value) {
        self.join_scoped(convener, sid, who, scope("internal", "confidential"))
            .await
    }

    pub async fn join_scoped(
        &self,
        convener: &Agent,
        sid: &str,
        who: &Agent,
        sc: Value,
    ) -> (StatusCode, Value) {
        let adm = admission(self, convener, sid, who, sc);
        self.join_with(sid, who, adm).await
    }

    pub async fn join_with(&self, sid: &str, who: &Agent, adm: Value) -> (StatusCode, Value) {
        let body = env(sid, None, json!({ "admission": adm }));
        self.send(who.post(self, &format!("/oap/session/{sid}/join"), &body))
            .await
    }

    pub async fn update(
        &self,
        who: &Agent,
        sid: &str,
        expected: u64,
        patch: Value,
    ) -> (StatusCode, Value) {
        let body = env(sid, Some(expected), json!({ "patch": patch }));
        self.send(who.post(self, &format!("/oap/session/{sid}/update"), &body))
            .await
    }

    pub async fn op(&self, who: &Agent, sid: &str, op: &str, input: Value) -> (StatusCode, Value) {
        let body = env(sid, None, input);
        self.send(who.post(self, &format!("/oap/session/{sid}/{op}"), &body))
            .await
    }

    pub async fn state(&self, who: &Agent, sid: &str) -> (StatusCode, Value) {
        self.send(who.get(self, &format!("/oap/session/{sid}/state")))
            .await
    }

    pub async fn version(&self, who: &Agent, sid: &str) -> u64 {
        let (status, body) = self.state(who, sid).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["state_version"].as_u64().expect("state_version")
    }

    pub async fn log(&self, who: &Agent, sid: &str) -> Vec<Value> {
        let (status, body) = self
            .send(who.get(self, &format!("/oap/session/{sid}/log")))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["receipts"].as_array().cloned().unwrap_or_default()
    }

    pub fn tool_did(&self) -> String {
        self.state.engine.tool_did().to_owned()
    }
}

/// Asserts a problem answer.
#[track_caller]
pub fn assert_problem(got: &(StatusCode, Value), status: u16, code: &str) {
    assert_eq!(
        (got.0.as_u16(), got.1["code"].as_str().unwrap_or("")),
        (status, code),
        "{}",
        got.1
    );
}
