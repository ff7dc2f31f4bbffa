//! AMP messages (profile §12.2) read from untrusted bytes, and `SESSION_ERROR` refusals.
//!
//! Strict on purpose, like the OAP envelope: I-JSON (`oap_wire::json::parse_strict`), known
//! members only, exact types, identifiers in their profile forms. The parse never touches
//! state, so every refusal here changes nothing; it is plain library code for the fuzzers.

use serde_json::{Map, Value};

use crate::engine::{AmpMessage, EngineError};
use crate::faults::FaultSet;

use super::envelope;
use super::error::ApiError;

/// The only supported `amp_version`.
pub const AMP_VERSION: &str = "1.0";
/// Longest `purpose`, in characters.
pub const MAX_PURPOSE_CHARS: usize = 256;
/// Longest `reason`, in characters.
pub const MAX_REASON_CHARS: usize = 1000;
/// Longest message `id`.
pub const MAX_ID_CHARS: usize = 128;

/// The members every message has.
const COMMON: &[&str] = &["type", "id", "from", "session_id", "amp_version"];

/// A refusal in AMP terms: the `SESSION_ERROR` reply's `reason`, HTTP status and `message`
/// (profile §12.5); the AMP numeric `code` follows from the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmpError {
    /// The HTTP status.
    pub status: u16,
    /// The snake_case reason.
    pub reason: String,
    /// Human-readable text.
    pub message: String,
    /// The last history `seq`, on `version_conflict` only.
    pub current_seq: Option<u64>,
}

impl AmpError {
    /// A refusal with `status`, `reason` and `message`.
    pub fn new(status: u16, reason: &str, message: impl Into<String>) -> Self {
        AmpError {
            status,
            reason: reason.to_owned(),
            message: message.into(),
            current_seq: None,
        }
    }

    /// 1001 `malformed_message` (400).
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(400, "malformed_message", message)
    }

    /// 1001 `invalid_identifier` (400).
    pub fn invalid_identifier(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_identifier", message)
    }

    /// The AMP numeric code of the reason (profile §12.5's table).
    pub fn code(&self) -> u16 {
        amp_code(&self.reason, self.status)
    }
}

/// The AMP numeric code for a reason: 1001 malformed, 1004 version, 3001 unauthorised, 4001
/// lifecycle, version or context, 5001 the Tool's own failure.
pub fn amp_code(reason: &str, status: u16) -> u16 {
    match reason {
        "malformed_message"
        | "invalid_identifier"
        | "payload_too_large"
        | "unsupported_media_type" => 1001,
        "unsupported_version" => 1004,
        "invalid_transition"
        | "session_suspended"
        | "session_closed"
        | "session_expired"
        | "version_conflict"
        | "state_schema_violation" => 4001,
        _ if status >= 500 => 5001,
        _ if status == 401 || status == 403 || status == 404 => 3001,
        _ => 1001,
    }
}

impl From<EngineError> for AmpError {
    fn from(e: EngineError) -> Self {
        match &e {
            EngineError::NotFound => AmpError::session_not_found(),
            EngineError::Malformed(m) => AmpError::malformed(m.clone()),
            EngineError::SeqConflict { current, .. } => AmpError {
                current_seq: Some(*current),
                ..AmpError::new(409, e.code(), e.to_string())
            },
            EngineError::Storage(_) | EngineError::Internal(_) => {
                tracing::error!(error = %e, "AMP message failed inside the Tool");
                AmpError::new(e.http_status(), e.code(), e.to_string())
            }
            _ => AmpError::new(e.http_status(), e.code(), e.to_string()),
        }
    }
}

impl From<ApiError> for AmpError {
    /// A refusal of the layers shared with the OAP binding (size, media type, signature),
    /// in AMP terms.
    fn from(e: ApiError) -> Self {
        let reason = match (e.code(), e.status()) {
            ("malformed_envelope", _) => "malformed_message",
            ("session_not_found", _) => return AmpError::session_not_found(),
            (_, s) if s >= 500 && e.code() != "storage_unavailable" => "internal_error",
            (code, _) => code,
        };
        AmpError::new(e.status(), reason, e.detail().to_owned())
    }
}

impl AmpError {
    /// 3001 `session_not_found` (404): one constant message, whether the session exists or not.
    pub fn session_not_found() -> Self {
        Self::new(
            404,
            "session_not_found",
            "no such session, or not a participant",
        )
    }
}

/// What could be read of a message's identifiers, for the reply (null when unreadable).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplyTo {
    /// The message's `session_id`, when it has the `ses_` form.
    pub session_id: Option<String>,
    /// The message's `id`, when it has the message id form.
    pub id: Option<String>,
}

/// A well-formed message.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// `session_id`.
    pub session_id: String,
    /// The sender's message `id`.
    pub id: String,
    /// `from`.
    pub from: String,
    /// The message by type.
    pub message: AmpMessage,
    /// The history entry: the message without `session_id` and `amp_version`.
    pub entry: Map<String, Value>,
}

fn is_message_id(s: &str) -> bool {
    (1..=MAX_ID_CHARS).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn is_did_key(s: &str) -> bool {
    oap_wire::didkey::public_key_from_did(s).is_ok()
}

/// The identifiers a reply can echo, read leniently from whatever the body is.
pub fn reply_to(value: &Value) -> ReplyTo {
    let get = |name: &str, ok: fn(&str) -> bool| {
        value
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| ok(s))
            .map(str::to_owned)
    };
    ReplyTo {
        session_id: get("session_id", oap_wire::ids::is_valid_session_id),
        id: get("id", is_message_id),
    }
}

/// Parses the body's JSON: 1001 on any I-JSON violation, 413 beyond the size limit (and,
/// with a parser fault on, the 500 of a broken parser, as in the OAP binding).
pub fn parse_json(bytes: &[u8], faults: &FaultSet) -> Result<Value, AmpError> {
    envelope::parse_json(bytes, faults).map_err(AmpError::from)
}

/// Checks a parsed body: `amp_version` first (1004), then shape and identifiers (1001).
pub fn parse_message(value: &Value) -> Result<Parsed, AmpError> {
    let Value::Object(m) = value else {
        return Err(AmpError::malformed("a message is a JSON object"));
    };
    match m.get("amp_version") {
        None => {}
        Some(Value::String(v)) if v == AMP_VERSION => {}
        Some(other) => {
            return Err(AmpError::new(
                400,
                "unsupported_version",
                format!("amp_version {other} is not supported; use \"{AMP_VERSION}\""),
            ));
        }
    }
    let kind = match m.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(_) => return Err(AmpError::malformed("type must be a string")),
        None => return Err(AmpError::malformed("type is required")),
    };
    let own: &[&str] = match kind {
        "SESSION_INIT" => &["purpose", "ttl", "capabilities_required", "participants"],
        "SESSION_ACCEPT" | "SESSION_RESUME" => &[],
        "SESSION_REJECT" | "SESSION_SUSPEND" | "SESSION_CLOSE" => &["reason"],
        "SESSION_MSG" => &["body"],
        "SESSION_STATE" => &["patch", "expected_seq"],
        other => {
            return Err(AmpError::malformed(format!(
                "type {other:?} is not a message an agent sends"
            )));
        }
    };
    if let Some(unknown) = m
        .keys()
        .find(|k| !COMMON.contains(&k.as_str()) && !own.contains(&k.as_str()))
    {
        return Err(AmpError::malformed(format!(
            "{kind} has no member {unknown:?}"
        )));
    }
    let id = match m.get("id") {
        Some(Value::String(s)) if is_message_id(s) => s.clone(),
        Some(_) => {
            return Err(AmpError::malformed(
                "id is 1-128 characters of [A-Za-z0-9._:-]",
            ));
        }
        None => return Err(AmpError::malformed("id is required")),
    };
    let from = did_member(m.get("from"), "from")?;
    let session_id = match m.get("session_id") {
        Some(Value::String(s)) if oap_wire::ids::is_valid_session_id(s) => s.clone(),
        Some(Value::String(_)) => {
            return Err(AmpError::invalid_identifier(
                "a session id is ses_ + a 26-character ULID",
            ));
        }
        Some(_) => return Err(AmpError::malformed("session_id must be a string")),
        None => return Err(AmpError::malformed("session_id is required")),
    };
    let message = match kind {
        "SESSION_INIT" => init(m, &from)?,
        "SESSION_ACCEPT" => AmpMessage::Accept,
        "SESSION_RESUME" => AmpMessage::Resume,
        "SESSION_REJECT" => {
            reason(m.get("reason"), true)?;
            AmpMessage::Reject
        }
        "SESSION_SUSPEND" | "SESSION_CLOSE" => {
            reason(m.get("reason"), false)?;
            if kind == "SESSION_CLOSE" {
                AmpMessage::Close
            } else {
                AmpMessage::Suspend
            }
        }
        "SESSION_MSG" => {
            if !m.contains_key("body") {
                return Err(AmpError::malformed("SESSION_MSG needs a body"));
            }
            AmpMessage::Msg
        }
        _ => state(m)?,
    };
    let mut entry = m.clone();
    entry.remove("session_id");
    entry.remove("amp_version");
    Ok(Parsed {
        session_id,
        id,
        from,
        message,
        entry,
    })
}

fn did_member(v: Option<&Value>, name: &str) -> Result<String, AmpError> {
    match v {
        Some(Value::String(s)) if is_did_key(s) => Ok(s.clone()),
        Some(Value::String(_)) => Err(AmpError::invalid_identifier(format!(
            "{name} must be an Ed25519 did:key"
        ))),
        Some(_) => Err(AmpError::malformed(format!("{name} must be a string"))),
        None => Err(AmpError::malformed(format!("{name} is required"))),
    }
}

fn reason(v: Option<&Value>, required: bool) -> Result<(), AmpError> {
    match v {
        None if !required => Ok(()),
        Some(Value::String(s)) if (1..=MAX_REASON_CHARS).contains(&s.chars().count()) => Ok(()),
        _ => Err(AmpError::malformed(format!(
            "reason is {}a string of 1-{MAX_REASON_CHARS} characters",
            if required { "required: " } else { "" }
        ))),
    }
}

/// A non-negative integer member (JSON integers only; I-JSON bounds them).
fn count(v: Option<&Value>) -> Option<u64> {
    v.filter(|v| v.is_u64()).and_then(Value::as_u64)
}

fn init(m: &Map<String, Value>, from: &str) -> Result<AmpMessage, AmpError> {
    let purpose = match m.get("purpose") {
        Some(Value::String(p)) if (1..=MAX_PURPOSE_CHARS).contains(&p.chars().count()) => p.clone(),
        _ => {
            return Err(AmpError::malformed(format!(
                "purpose is required: a string of 1-{MAX_PURPOSE_CHARS} characters"
            )));
        }
    };
    let ttl = match count(m.get("ttl")) {
        Some(t) if t >= 1 => t,
        _ => return Err(AmpError::malformed("ttl is required: an integer ≥ 1")),
    };
    let capabilities_required =
        distinct_strings(m.get("capabilities_required"), "capabilities_required")?;
    if capabilities_required.iter().any(String::is_empty) {
        return Err(AmpError::malformed(
            "capabilities_required holds non-empty strings",
        ));
    }
    let participants = distinct_strings(m.get("participants"), "participants")?;
    if let Some(bad) = participants.iter().find(|d| !is_did_key(d)) {
        return Err(AmpError::invalid_identifier(format!(
            "participant {bad:?} is not an Ed25519 did:key"
        )));
    }
    if participants.iter().any(|d| d == from) {
        return Err(AmpError::malformed("the initiator cannot invite itself"));
    }
    Ok(AmpMessage::Init {
        purpose,
        ttl,
        capabilities_required,
        participants,
    })
}

/// An optional array of distinct strings (default empty).
fn distinct_strings(v: Option<&Value>, name: &str) -> Result<Vec<String>, AmpError> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let bad = || AmpError::malformed(format!("{name} is an array of distinct strings"));
    let items = v.as_array().ok_or_else(bad)?;
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let s = item.as_str().ok_or_else(bad)?;
        if out.iter().any(|o| o == s) {
            return Err(bad());
        }
        out.push(s.to_owned());
    }
    Ok(out)
}

fn state(m: &Map<String, Value>) -> Result<AmpMessage, AmpError> {
    let patch = match m.get("patch") {
        Some(Value::Object(p)) => p,
        _ => return Err(AmpError::malformed("patch is required: an object")),
    };
    for (k, v) in patch {
        let ok = match k.as_str() {
            "current_step" => v.is_u64(),
            "total_steps" => v.is_u64() || v.is_null(),
            "shared_data" => v.is_object(),
            _ => false,
        };
        if !ok {
            return Err(AmpError::malformed(format!(
                "patch member {k:?}: only current_step (integer ≥ 0), total_steps (integer ≥ 0 \
                 or null) and shared_data (object) can be patched"
            )));
        }
    }
    let expected_seq = match count(m.get("expected_seq")) {
        Some(s) if s >= 1 => s,
        _ => {
            return Err(AmpError::malformed(
                "expected_seq is required: an integer ≥ 1",
            ));
        }
    };
    Ok(AmpMessage::State {
        patch: Value::Object(patch.clone()),
        expected_seq,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    const SID: &str = "ses_01HX2QF8GZRP9V3K5YXJW0AQ7M";

    fn did() -> String {
        oap_wire::Keypair::generate().did
    }

    fn refusal(v: Value) -> (u16, String) {
        match parse_message(&v) {
            Err(e) => (e.code(), e.reason),
            Ok(p) => panic!("accepted {p:?}"),
        }
    }

    fn msg(kind: &str, extra: Value) -> Value {
        let mut v = json!({"type": kind, "id": "m-1", "from": did(), "session_id": SID});
        if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
            o.extend(e);
        }
        v
    }

    #[test]
    fn accepts_every_message_type() {
        let invitee = did();
        let cases = [
            msg(
                "SESSION_INIT",
                json!({"purpose": "p", "ttl": 60, "capabilities_required": ["echo"], "participants": [invitee]}),
            ),
            msg("SESSION_ACCEPT", json!({"amp_version": "1.0"})),
            msg("SESSION_REJECT", json!({"reason": "busy"})),
            msg("SESSION_MSG", json!({"body": null})),
            msg(
                "SESSION_STATE",
                json!({"patch": {"current_step": 1, "total_steps": null, "shared_data": {}}, "expected_seq": 2}),
            ),
            msg("SESSION_SUSPEND", json!({})),
            msg("SESSION_RESUME", json!({})),
            msg("SESSION_CLOSE", json!({"reason": "done"})),
        ];
        for c in cases {
            let p = parse_message(&c).unwrap_or_else(|e| panic!("{c}: {e:?}"));
            assert_eq!(p.message.kind(), c["type"]);
            assert!(!p.entry.contains_key("session_id") && !p.entry.contains_key("amp_version"));
        }
    }

    #[test]
    fn refuses_malformed_messages() {
        let from = did();
        let mut self_invite = msg("SESSION_INIT", json!({"purpose": "p", "ttl": 60}));
        self_invite["participants"] = json!([self_invite["from"].clone()]);
        let cases = [
            (json!([]), 1001, "malformed_message"),
            (
                msg("SESSION_MSG", json!({"amp_version": "2.0", "x": 1})),
                1004,
                "unsupported_version",
            ),
            (
                msg("SESSION_MSG", json!({"amp_version": 1})),
                1004,
                "unsupported_version",
            ),
            (msg("SESSION_ACK", json!({})), 1001, "malformed_message"),
            (msg("SESSION_ERROR", json!({})), 1001, "malformed_message"),
            (msg("SESSION_MSG", json!({})), 1001, "malformed_message"),
            (
                msg("SESSION_MSG", json!({"body": 1, "extra": 1})),
                1001,
                "malformed_message",
            ),
            (
                msg("SESSION_ACCEPT", json!({"reason": "x"})),
                1001,
                "malformed_message",
            ),
            (
                msg("SESSION_ACCEPT", json!({"id": ""})),
                1001,
                "malformed_message",
            ),
            (
                msg("SESSION_ACCEPT", json!({"id": "a b"})),
                1001,
                "malformed_message",
            ),
            (
                msg("SESSION_ACCEPT", json!({"session_id": "ses_x"})),
                1001,
                "invalid_identifier",
            ),
            (
                msg("SESSION_ACCEPT", json!({"from": "did:web:x"})),
                1001,
                "invalid_identifier",
            ),
            (
                msg("SESSION_ACCEPT", json!({"from": 5})),
                1001,
                "malformed_message",
            ),
            (
                msg("SESSION_INIT", json!({"purpose": "", "ttl": 60})),
                1001,
                "malformed_message",
            ),
            (
                msg("SESSION_INIT", json!({"purpose": "p", "ttl": 0})),
                1001,
                "malformed_message",
            ),
            (
                msg("SESSION_INIT", json!({"purpose": "p", "ttl": 1.5})),
                1001,
                "malformed_message",
            ),
            (
                msg(
                    "SESSION_INIT",
                    json!({"purpose": "p", "ttl": 60, "capabilities_required": ["a", "a"]}),
                ),
                1001,
                "malformed_message",
            ),
            (
                msg(
                    "SESSION_INIT",
                    json!({"purpose": "p", "ttl": 60, "capabilities_required": [""]}),
                ),
                1001,
                "malformed_message",
            ),
            (
                msg(
                    "SESSION_INIT",
                    json!({"purpose": "p", "ttl": 60, "participants": [from, from]}),
                ),
                1001,
                "malformed_message",
            ),
            (
                msg(
                    "SESSION_INIT",
                    json!({"purpose": "p", "ttl": 60, "participants": ["did:key:x"]}),
                ),
                1001,
                "invalid_identifier",
            ),
            (self_invite, 1001, "malformed_message"),
            (msg("SESSION_REJECT", json!({})), 1001, "malformed_message"),
            (
                msg("SESSION_CLOSE", json!({"reason": ""})),
                1001,
                "malformed_message",
            ),
            (
                msg(
                    "SESSION_STATE",
                    json!({"patch": {"purpose": "x"}, "expected_seq": 1}),
                ),
                1001,
                "malformed_message",
            ),
            (
                msg(
                    "SESSION_STATE",
                    json!({"patch": {"shared_data": null}, "expected_seq": 1}),
                ),
                1001,
                "malformed_message",
            ),
            (
                msg(
                    "SESSION_STATE",
                    json!({"patch": {"current_step": -1}, "expected_seq": 1}),
                ),
                1001,
                "malformed_message",
            ),
            (
                msg("SESSION_STATE", json!({"patch": {}, "expected_seq": 0})),
                1001,
                "malformed_message",
            ),
            (
                msg("SESSION_STATE", json!({"patch": [], "expected_seq": 1})),
                1001,
                "malformed_message",
            ),
        ];
        for (v, code, reason) in cases {
            assert_eq!(refusal(v.clone()), (code, reason.to_owned()), "{v}");
        }
    }

    #[test]
    fn replies_echo_only_readable_identifiers() {
        let r = reply_to(&json!({"session_id": SID, "id": "m-1"}));
        assert_eq!(
            (r.session_id.as_deref(), r.id.as_deref()),
            (Some(SID), Some("m-1"))
        );
        let r = reply_to(&json!({"session_id": "nope", "id": 3}));
        assert_eq!(r, ReplyTo::default());
        assert_eq!(reply_to(&json!([1])), ReplyTo::default());
    }

    #[test]
    fn json_errors_are_malformed_messages() {
        let faults = FaultSet::none();
        for bad in [&b"{"[..], b"{\"a\":1,\"a\":2}", b"\xff", b"{} x"] {
            let e = parse_json(bad, &faults).unwrap_err();
            assert_eq!((e.code(), e.reason.as_str()), (1001, "malformed_message"));
        }
    }
}
