//! The AMP binding (RFC 004 over HTTP + JSON, profile §12): `POST /amp/session` carries the
//! eight `SESSION_*` messages, `GET /amp/session/{id}/state` serves the RFC 004 §3.1 state.
//!
//! Requests are read and authenticated exactly as in the OAP binding (size, media type, RFC 9421
//! with the shared nonce store); the message is parsed ([`super::amp_message`]), its `from`
//! checked against the actor, and the rest is the engine's ([`crate::engine::amp`]). Every
//! answer is one reply message with `Content-Type: application/json`: `SESSION_ACCEPT`,
//! `SESSION_REJECT` and `SESSION_ACK` with 200, `SESSION_ERROR` with the status of profile §12.5.
//! [`amp_errors`] turns the problem bodies of the shared layers (413, 415, 401, 5xx) into
//! `SESSION_ERROR`s for every path under `/amp/`.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::engine::{AmpOutcome, AmpRequest};

use super::AppState;
use super::amp_message::{self, AmpError, ReplyTo};
use super::auth::base_url;
use super::error::ApiError;
use super::request::Signed;

/// The path every message is posted to.
pub const SESSION_PATH: &str = "/amp/session";
/// The prefix of every path of the binding.
pub const PREFIX: &str = "/amp/";

/// A reply message (profile §12.5): `type`, a fresh `msg_` id, the Tool as `from`, the
/// request's `session_id` and `id` when readable, and the type's own members.
fn reply(
    app: &AppState,
    kind: &str,
    to: &ReplyTo,
    members: Map<String, Value>,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), json!(kind));
    m.insert("id".into(), json!(format!("msg_{}", ulid::Ulid::new())));
    m.insert("from".into(), json!(app.engine.tool_did()));
    m.insert("session_id".into(), json!(to.session_id));
    m.insert("in_reply_to".into(), json!(to.id));
    m.extend(members);
    m
}

fn respond(status: u16, body: Map<String, Value>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Value::Object(body).to_string(),
    )
        .into_response()
}

/// The `SESSION_ERROR` reply for a refusal.
fn error_reply(app: &AppState, to: &ReplyTo, e: &AmpError) -> Response {
    let mut members = Map::new();
    members.insert("code".into(), json!(e.code()));
    members.insert("reason".into(), json!(e.reason));
    members.insert("message".into(), json!(e.message));
    if let Some(seq) = e.current_seq {
        members.insert("current_seq".into(), json!(seq));
    }
    respond(e.status, reply(app, "SESSION_ERROR", to, members))
}

/// Runs `f` on an authenticated request (refusals before authentication become
/// `SESSION_ERROR`s through [`amp_errors`]) and answers once the request's nonce is durable.
async fn signed<F, Fut>(app: AppState, req: Request, f: F) -> Response
where
    F: FnOnce(AppState, Signed) -> Fut,
    Fut: Future<Output = Response>,
{
    super::oap::signed(app, req, |app, s| async move { Ok(f(app, s).await) }).await
}

/// `POST /amp/session`: one message in, one reply out.
pub async fn session(State(app): State<AppState>, req: Request) -> Response {
    signed(app, req, |app, s| async move {
        let value = match amp_message::parse_json(&s.body, app.engine.faults()) {
            Ok(v) => v,
            Err(e) => return error_reply(&app, &ReplyTo::default(), &e),
        };
        let to = amp_message::reply_to(&value);
        match handle(&app, &s, &value, &to).await {
            Ok(r) => r,
            Err(e) => error_reply(&app, &to, &e),
        }
    })
    .await
}

async fn handle(
    app: &AppState,
    s: &Signed,
    value: &Value,
    to: &ReplyTo,
) -> Result<Response, AmpError> {
    let parsed = amp_message::parse_message(value)?;
    if parsed.from != s.actor {
        return Err(AmpError::new(
            403,
            "sender_mismatch",
            "from must be the DID that signed the request",
        ));
    }
    let session_id = parsed.session_id.clone();
    let outcome = app
        .engine
        .amp_message(AmpRequest {
            actor: s.actor.clone(),
            session_id: parsed.session_id,
            msg_id: parsed.id,
            message: parsed.message,
            entry: parsed.entry,
            request_nonce: s.turn_nonce(),
        })
        .await?;
    let mut members = Map::new();
    let kind = match outcome {
        AmpOutcome::Accepted {
            expires_at,
            status,
            duplicate,
        } => {
            members.insert("expires_at".into(), json!(expires_at));
            members.insert(
                "state_endpoint".into(),
                json!(state_endpoint(app, &s.headers, &session_id)),
            );
            members.insert("status".into(), json!(status));
            mark(s, &mut members, duplicate);
            "SESSION_ACCEPT"
        }
        AmpOutcome::Rejected(reason) => {
            members.insert("reason".into(), json!(reason));
            "SESSION_REJECT"
        }
        AmpOutcome::Ack {
            seq,
            status,
            duplicate,
        } => {
            members.insert("seq".into(), json!(seq));
            members.insert("status".into(), json!(status));
            mark(s, &mut members, duplicate);
            "SESSION_ACK"
        }
    };
    Ok(respond(200, reply(app, kind, to, members)))
}

/// Marks a duplicate's reply; an applied message's turn carried the request's nonce.
fn mark(s: &Signed, members: &mut Map<String, Value>, duplicate: bool) {
    if duplicate {
        members.insert("duplicate".into(), json!(true));
    } else {
        s.nonce_committed();
    }
}

/// The absolute URL of a session's state (PRF-AMP-18).
pub fn state_endpoint(app: &AppState, headers: &HeaderMap, session_id: &str) -> String {
    format!(
        "{}{SESSION_PATH}/{session_id}/state",
        base_url(app.public_url.as_deref(), headers)
    )
}

/// `GET /amp/session/{id}/state`: the RFC 004 §3.1 state, for a participant.
pub async fn state(State(app): State<AppState>, req: Request) -> Response {
    signed(app, req, |app, s| async move {
        let id = s
            .uri
            .path()
            .strip_prefix("/amp/session/")
            .and_then(|rest| rest.strip_suffix("/state"))
            .unwrap_or_default();
        let valid = oap_wire::ids::is_valid_session_id(id);
        let to = ReplyTo {
            session_id: valid.then(|| id.to_owned()),
            id: None,
        };
        if !valid {
            let e = AmpError::invalid_identifier("a session id is ses_ + a 26-character ULID");
            return error_reply(&app, &to, &e);
        }
        match app.engine.amp_state(&s.actor, id).await {
            Ok(view) => (StatusCode::OK, axum::Json(view)).into_response(),
            Err(e) => error_reply(&app, &to, &e.into()),
        }
    })
    .await
}

/// Middleware: under `/amp/`, a problem body from the layers shared with the OAP binding
/// (size, media type, authentication, timeouts, unknown paths) becomes a `SESSION_ERROR` with
/// the same status (PRF-AMP-2).
pub async fn amp_errors(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let amp = app.amp && req.uri().path().starts_with(PREFIX);
    let resp = next.run(req).await;
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == oap_wire::problem::PROBLEM_CONTENT_TYPE.as_bytes());
    if !amp || !is_problem {
        return resp;
    }
    let status = resp.status().as_u16();
    // Problem bodies are the Tool's own and small; anything unreadable keeps its status.
    let bytes = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let problem: Option<oap_wire::problem::Problem> = serde_json::from_slice(&bytes).ok();
    let e = match problem {
        Some(p) => AmpError::from(ApiError::new(status, &p.code, p.detail)),
        None => AmpError::new(status, "internal_error", "the Tool failed"),
    };
    let e = match e.reason.as_str() {
        "not_found" | "method_not_allowed" => AmpError {
            reason: "malformed_message".into(),
            ..e
        },
        _ => e,
    };
    error_reply(&app, &ReplyTo::default(), &e)
}
