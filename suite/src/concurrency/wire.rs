//! One session's operations over HTTP, each answer turned into a [`Ret`] and nothing guessed.
//!
//! The workload speaks to a Tool only through this module: it signs every request (RFC 9421,
//! a fresh nonce each time), sends it through the suite's bounded [`HttpClient`], and reads the
//! answer as the checkers need it. A timeout, a reset connection or a 5xx becomes
//! [`Ret::Indeterminate`]: the turn may or may not have applied, and only the log will tell. A
//! 200 whose body cannot be read is indeterminate too, for the same reason. Nothing from the
//! target is unwrapped.

use oap_wire::Keypair;
use serde_json::{Value, json};

use super::answer::{self, body_json, truncated};
use super::history::{LogPage, Op, Ret};
use crate::actors::credential::IssueInput;
use crate::actors::signer::{JSON, SignedRequest, sign_request};
use crate::actors::{CredentialSpec, fresh_nonce};
use crate::client::{HttpClient, InResponse, OutRequest, TransportError};
use crate::vector::SignOptions;

/// The most receipts the profile lets one log page hold.
pub const MAX_PAGE: u64 = 1000;

/// Why a setup step (create, the first joins) failed: the workload cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The request could not be signed.
    #[error("signing: {0}")]
    Sign(String),
    /// No answer.
    #[error("{what}: {source}")]
    Transport {
        /// The step.
        what: &'static str,
        /// The transport error.
        source: TransportError,
    },
    /// An answer other than the expected success.
    #[error("{what}: HTTP {status}: {body}")]
    Refused {
        /// The step.
        what: &'static str,
        /// The status.
        status: u16,
        /// The body, truncated.
        body: String,
    },
}

/// A new session.
#[derive(Debug, Clone)]
pub struct Created {
    /// `session_id`.
    pub session_id: String,
    /// `state_version` (0).
    pub version: u64,
}

/// Signs and sends session requests to one Tool.
#[derive(Debug, Clone)]
pub struct SessionClient {
    http: HttpClient,
    base: String,
    /// Keep state values in snapshots (`false`: fingerprints only).
    pub keep_states: bool,
}

fn envelope(session_id: &str, turn_id: &str, expected: Option<u64>, input: Value) -> Value {
    let mut session = json!({ "session_id": session_id, "turn_id": turn_id });
    if let (Some(e), Some(obj)) = (expected, session.as_object_mut()) {
        obj.insert("expected_version".into(), json!(e));
    }
    json!({ "envelope_version": "1.0", "session": session, "input": input })
}

impl SessionClient {
    /// A client for the Tool at `base` (no trailing slash).
    pub fn new(http: HttpClient, base: &str) -> Self {
        Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            keep_states: true,
        }
    }

    fn request(
        &self,
        key: &Keypair,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<OutRequest, String> {
        let url = format!("{}{path}", self.base);
        let bytes = body.map(|b| b.to_string().into_bytes());
        let nonce = fresh_nonce();
        let headers = sign_request(
            &SignedRequest {
                method,
                url: &url,
                body: bytes.as_deref(),
                content_type: bytes.as_ref().map(|_| JSON),
                key,
                nonce: &nonce,
                now: oap_wire::time::unix_now(),
            },
            &SignOptions::default(),
        )
        .map_err(|e| e.to_string())?;
        Ok(OutRequest {
            method: method.into(),
            url,
            headers,
            body: bytes,
        })
    }

    pub(super) async fn send(
        &self,
        key: &Keypair,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<InResponse, Ret> {
        let req = self
            .request(key, method, path, body)
            .map_err(|reason| Ret::Refused {
                status: 0,
                code: format!("unsigned: {reason}"),
            })?;
        self.http.send(&req).await.map_err(|e| Ret::Indeterminate {
            reason: e.to_string(),
        })
    }

    /// `POST /oap/session/create` by `convener`, scope `internal`/`confidential`.
    pub async fn create(&self, convener: &Keypair, state: &Value) -> Result<Created, SetupError> {
        let body = json!({
            "envelope_version": "1.0",
            "input": { "scope": { "ccc": "internal", "clearance": "confidential" }, "state": state },
        });
        let req = self
            .request(convener, "POST", "/oap/session/create", Some(&body))
            .map_err(SetupError::Sign)?;
        let resp = self
            .http
            .send(&req)
            .await
            .map_err(|source| SetupError::Transport {
                what: "create",
                source,
            })?;
        let parsed = body_json(&resp);
        let session_id = parsed
            .as_ref()
            .and_then(|b| b.get("session_id"))
            .and_then(Value::as_str);
        let version = parsed
            .as_ref()
            .and_then(|b| b.get("state_version"))
            .and_then(Value::as_u64);
        match (resp.status, session_id, version) {
            (201, Some(id), Some(version)) => Ok(Created {
                session_id: id.to_owned(),
                version,
            }),
            (status, _, _) => Err(SetupError::Refused {
                what: "create",
                status,
                body: truncated(&resp),
            }),
        }
    }

    /// An admission for `subject`, issued and signed by `convener`.
    pub fn admission(convener: &Keypair, subject: &Keypair, session_id: &str) -> Option<Value> {
        let spec = CredentialSpec::parse("admission(subject=newcomer)").ok()?;
        spec.issue(&IssueInput {
            issuer_did: &convener.did,
            signer: convener,
            subject_did: &subject.did,
            session_id,
            now: oap_wire::time::unix_now(),
            fresh_nonce: fresh_nonce(),
        })
        .ok()
    }

    /// Sends a turn. A join carries an admission from `convener`.
    pub async fn turn(&self, key: &Keypair, convener: &Keypair, session_id: &str, op: &Op) -> Ret {
        let Some(t) = op.turn() else {
            return Ret::Refused {
                status: 0,
                code: "not a turn".into(),
            };
        };
        let (endpoint, input) = match op {
            Op::Update { patch, .. } | Op::Replay { patch, .. } => {
                ("update", json!({ "patch": &**patch }))
            }
            Op::Join { .. } => match Self::admission(convener, key, session_id) {
                Some(admission) => ("join", json!({ "admission": admission })),
                None => {
                    return Ret::Refused {
                        status: 0,
                        code: "admission could not be issued".into(),
                    };
                }
            },
            Op::Leave { .. } => ("leave", json!({})),
            Op::Pause { .. } => ("pause", json!({})),
            Op::Resume { .. } => ("resume", json!({})),
            Op::Read
            | Op::ReadLog { .. }
            | Op::Message { .. }
            | Op::State { .. }
            | Op::ReadHistory => {
                return Ret::Refused {
                    status: 0,
                    code: "not an OAP turn".into(),
                };
            }
        };
        let body = envelope(session_id, t.turn_id, t.expected_version, input);
        let path = format!("/oap/session/{session_id}/{endpoint}");
        match self.send(key, "POST", &path, Some(&body)).await {
            Ok(resp) => answer::turn(&resp, self.keep_states),
            Err(ret) => ret,
        }
    }

    /// `GET /{id}/state`.
    pub async fn read_state(&self, key: &Keypair, session_id: &str) -> Ret {
        let path = format!("/oap/session/{session_id}/state");
        match self.send(key, "GET", &path, None).await {
            Ok(resp) => answer::state(&resp, self.keep_states),
            Err(ret) => ret,
        }
    }

    /// One page of `GET /{id}/log`, and the raw receipts it held.
    pub async fn read_log(
        &self,
        key: &Keypair,
        session_id: &str,
        from: u64,
        limit: u64,
    ) -> (Ret, Vec<Value>) {
        let path = format!("/oap/session/{session_id}/log?from={from}&limit={limit}");
        match self.send(key, "GET", &path, None).await {
            Ok(resp) => answer::log_page(&resp, from),
            Err(ret) => (ret, Vec::new()),
        }
    }

    /// The whole log, page after page from version 0, as one complete page, and the raw
    /// receipts (for `verify_chain`). A log that does not advance from page to page, or runs
    /// past `max_receipts`, is returned as far as it was read, marked incomplete.
    pub async fn read_full_log(
        &self,
        key: &Keypair,
        session_id: &str,
        max_receipts: usize,
    ) -> (Ret, Vec<Value>) {
        let mut all = Vec::new();
        let mut raw_all = Vec::new();
        let mut from = 0;
        loop {
            let (ret, raw) = self.read_log(key, session_id, from, MAX_PAGE).await;
            raw_all.extend(raw);
            match ret {
                Ret::Log(page) => {
                    let last = page.entries.last().map(|e| e.version);
                    all.extend(page.entries);
                    let next = last.and_then(|v| v.checked_add(1)).filter(|&n| n > from);
                    match next {
                        Some(n) if !page.complete && all.len() <= max_receipts => from = n,
                        _ => {
                            let complete = page.complete && all.len() <= max_receipts;
                            let page = LogPage {
                                from: 0,
                                entries: all,
                                complete,
                            };
                            return (Ret::Log(page), raw_all);
                        }
                    }
                }
                other => return (other, raw_all),
            }
        }
    }
}
