//! A signing HTTP client for a Tool behind a real socket, shared by the socket-level tests
//! (`tests/crash.rs`, `tests/restart_scale.rs`).
//!
//! Every request is signed with RFC 9421 over the absolute URL the client uses, with a fresh
//! nonce, and carries an RFC 9530 digest when it has a body: the signing itself is
//! `oap_ref::testing`, which the load generator (`oap-ref-load`) uses too.
#![allow(dead_code)]

use std::path::Path;
use std::process::Stdio;

use oap_wire::Keypair;
use serde_json::{Value, json};

pub use oap_ref::testing::nonce;

/// An envelope for a session endpoint with a fresh turn id.
pub fn env(session_id: &str, expected: Option<u64>, input: Value) -> Value {
    oap_ref::testing::envelope(session_id, expected, input)
}

/// One request, fully determined (so that it can be sent again byte for byte).
#[derive(Clone, Debug)]
pub struct Sent {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Path and query.
    pub path: String,
    /// The body, when there is one.
    pub body: Option<Vec<u8>>,
    /// Signature `created`.
    pub created: i64,
    /// Signature nonce.
    pub nonce: String,
}

impl Sent {
    /// A request signed now with a fresh nonce.
    pub fn new(method: &'static str, path: String, body: Option<&Value>) -> Sent {
        Sent {
            method,
            path,
            body: body.map(|b| b.to_string().into_bytes()),
            created: oap_wire::time::unix_now(),
            nonce: nonce(),
        }
    }
}

/// A signing client for one Tool.
#[derive(Clone, Debug)]
pub struct Client {
    /// The connection pool.
    pub http: reqwest::Client,
    /// Base URL, `http://127.0.0.1:PORT`.
    pub base: String,
}

/// Why a request got no HTTP answer.
pub type SendError = reqwest::Error;

impl Client {
    /// A client for the Tool at `base`.
    pub fn new(base: &str) -> Client {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("building the HTTP client");
        Client {
            http,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// Signs `s` as `key` and sends it; status and JSON body (Null when not JSON).
    pub async fn try_send(&self, key: &Keypair, s: &Sent) -> Result<(u16, Value), SendError> {
        let target = format!("{}{}", self.base, s.path);
        let auth = oap_ref::testing::sign(
            key,
            s.method,
            &target,
            s.body.as_deref(),
            s.created,
            &s.nonce,
        );
        let method = if s.method == "GET" {
            reqwest::Method::GET
        } else {
            reqwest::Method::POST
        };
        let mut req = self
            .http
            .request(method, &target)
            .header("signature-input", auth.signature_input)
            .header("signature", auth.signature);
        if let (Some(body), Some(d)) = (&s.body, &auth.content_digest) {
            req = req
                .header("content-type", "application/json")
                .header("content-digest", d)
                .body(body.clone());
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// [`Client::try_send`], panicking when there is no answer.
    pub async fn send(&self, key: &Keypair, s: &Sent) -> (u16, Value) {
        self.try_send(key, s).await.expect("an HTTP answer")
    }

    /// Signs and sends a fresh request.
    pub async fn call(
        &self,
        key: &Keypair,
        method: &'static str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        self.send(key, &Sent::new(method, path.to_owned(), body))
            .await
    }

    /// The Tool's DID, from its manifest.
    pub async fn tool_did(&self) -> String {
        let manifest: Value = self
            .http
            .get(format!("{}/oap/manifest", self.base))
            .send()
            .await
            .expect("manifest")
            .json()
            .await
            .expect("manifest JSON");
        manifest["tool_did"]
            .as_str()
            .expect("tool_did in the manifest")
            .to_owned()
    }

    /// Creates a session convened by `key`; its id.
    pub async fn create(&self, key: &Keypair) -> String {
        let body = json!({ "envelope_version": "1.0",
            "input": { "scope": { "ccc": "internal", "clearance": "internal" } } });
        let (status, created) = self
            .call(key, "POST", "/oap/session/create", Some(&body))
            .await;
        assert_eq!(status, 201, "create: {created}");
        created["session_id"]
            .as_str()
            .expect("session_id")
            .to_owned()
    }

    /// The request of an update of `sid` at `expected`, setting `step`.
    pub fn update_request(sid: &str, expected: u64, step: u64) -> Sent {
        let body = env(sid, Some(expected), json!({ "patch": { "step": step } }));
        Sent::new("POST", format!("/oap/session/{sid}/update"), Some(&body))
    }

    /// The session's state (status and body).
    pub async fn state(&self, key: &Keypair, sid: &str) -> (u16, Value) {
        self.call(key, "GET", &format!("/oap/session/{sid}/state"), None)
            .await
    }

    /// Every receipt of the session's log, following `next`.
    pub async fn full_log(&self, key: &Keypair, sid: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut from = 0u64;
        loop {
            let (status, page) = self
                .call(
                    key,
                    "GET",
                    &format!("/oap/session/{sid}/log?from={from}&limit=1000"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "log: {page}");
            all.extend(page["receipts"].as_array().cloned().unwrap_or_default());
            match page["next"].as_u64() {
                Some(next) => from = next,
                None => return all,
            }
        }
    }
}

/// The `oap-ref` binary running as a child process (killed when dropped).
pub struct ToolProcess(oap_ref::testing::ChildServer);

impl ToolProcess {
    /// Starts `bin serve --listen 127.0.0.1:0 --data DIR [--fault F]…` and waits for its
    /// `listening on URL` line.
    pub fn start(bin: &Path, data: &Path, faults: &[&str]) -> ToolProcess {
        let mut cmd = oap_ref::testing::ChildServer::tool_command(bin, data, faults);
        cmd.stderr(Stdio::null());
        ToolProcess(oap_ref::testing::ChildServer::start(cmd).expect("starting the Tool binary"))
    }

    /// Its base URL.
    pub fn url(&self) -> &str {
        &self.0.url
    }

    /// SIGKILL (on unix) and reap.
    pub fn kill(self) {
        self.0.kill().expect("killing and reaping the Tool");
    }
}
