//! The OAP Request Envelope (profile §4) and each endpoint's `input`, read from untrusted bytes.
//!
//! Strict on purpose: I-JSON (via `oap_wire::json::parse_strict`: no duplicate names, depth ≤ 64,
//! safe integers), known members only, exact types, identifiers in `ses_` / `trn_` + ULID form.
//! Everything here answers 4xx and changes nothing; the two parser faults turn specific
//! rejections into the 500 a broken parser would give.

use oap_wire::json::{JsonLimits, StrictJsonError};
use serde_json::{Map, Value};

use crate::faults::{Fault, FaultSet};

use super::error::ApiError;

/// The only supported `envelope_version`.
pub const ENVELOPE_VERSION: &str = "1.0";
/// Largest accepted body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The `session` member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRef {
    /// `ses_…`.
    pub session_id: String,
    /// When present, must equal the current version.
    pub expected_version: Option<u64>,
    /// `trn_…`.
    pub turn_id: String,
}

/// A parsed envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// The `session` member, if any.
    pub session: Option<SessionRef>,
    /// The `action` member, if any.
    pub action: Option<String>,
    /// The `input` member, if any.
    pub input: Option<Value>,
}

impl Envelope {
    /// The input as an object (default `{}`), for endpoints whose input is an object.
    pub fn input_object(&self) -> Result<Map<String, Value>, ApiError> {
        match &self.input {
            None => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => Err(ApiError::malformed("input must be an object")),
        }
    }

    /// The `session` member on a session endpoint (optional, PRF-TURN-6), which must name the
    /// path's session.
    pub fn session_for(&self, path_id: &str) -> Result<Option<&SessionRef>, ApiError> {
        match &self.session {
            Some(s) if s.session_id != path_id => Err(ApiError::new(
                400,
                "session_mismatch",
                "session.session_id differs from the session in the path",
            )),
            other => Ok(other.as_ref()),
        }
    }

    /// Refuses a `session` member on endpoints that take none.
    pub fn no_session(&self) -> Result<(), ApiError> {
        match self.session {
            Some(_) => Err(ApiError::malformed("this endpoint takes no session member")),
            None => Ok(()),
        }
    }
}

/// Parses a body under the strict JSON rules, mapping each failure to its problem.
pub fn parse_json(bytes: &[u8], faults: &FaultSet) -> Result<Value, ApiError> {
    let limits = JsonLimits {
        max_depth: 64,
        max_bytes: MAX_BODY_BYTES,
    };
    oap_wire::json::parse_strict(bytes, &limits).map_err(|e| match e {
        StrictJsonError::TooLarge { .. } => ApiError::too_large(MAX_BODY_BYTES),
        StrictJsonError::TooDeep { .. } if faults.has(Fault::Parser500OnDeepNesting) => {
            ApiError::new(500, "internal_error", "parser stack overflow")
        }
        StrictJsonError::UnsafeInteger(_) if faults.has(Fault::Parser500OnBigNumbers) => {
            ApiError::new(500, "internal_error", "number out of range")
        }
        other => ApiError::malformed(format!("body: {other}")),
    })
}

/// Checks an identifier's form.
pub fn session_id(s: &str) -> Result<String, ApiError> {
    if oap_wire::ids::is_valid_session_id(s) {
        Ok(s.to_owned())
    } else {
        Err(ApiError::invalid_identifier(
            "a session id is ses_ + a 26-character ULID",
        ))
    }
}

/// Checks a turn identifier's form.
pub fn turn_id(v: &Value) -> Result<String, ApiError> {
    match v.as_str() {
        Some(s) if oap_wire::ids::is_valid_turn_id(s) => Ok(s.to_owned()),
        Some(_) => Err(ApiError::invalid_identifier(
            "a turn id is trn_ + a 26-character ULID",
        )),
        None => Err(ApiError::malformed("turn_id must be a string")),
    }
}

/// Parses the envelope from a body.
pub fn parse(bytes: &[u8], faults: &FaultSet) -> Result<Envelope, ApiError> {
    let value = parse_json(bytes, faults)?;
    let Value::Object(mut top) = value else {
        return Err(ApiError::malformed("the envelope must be a JSON object"));
    };
    if let Some(unknown) = top.keys().find(|k| {
        !matches!(
            k.as_str(),
            "envelope_version" | "session" | "action" | "input"
        )
    }) {
        return Err(ApiError::malformed(format!(
            "unknown envelope member {unknown:?}"
        )));
    }
    match top.remove("envelope_version") {
        None => return Err(ApiError::malformed("envelope_version is required")),
        Some(Value::String(v)) if v == ENVELOPE_VERSION => {}
        Some(other) => {
            return Err(ApiError::new(
                400,
                "unsupported_envelope_version",
                format!("envelope_version {other} is not supported; use \"{ENVELOPE_VERSION}\""),
            ));
        }
    }
    let session = top.remove("session").map(session_ref).transpose()?;
    let action = match top.remove("action") {
        None => None,
        Some(Value::String(a)) => Some(a),
        Some(_) => return Err(ApiError::malformed("action must be a string")),
    };
    Ok(Envelope {
        session,
        action,
        input: top.remove("input"),
    })
}

fn session_ref(v: Value) -> Result<SessionRef, ApiError> {
    let Value::Object(mut m) = v else {
        return Err(ApiError::malformed("session must be an object"));
    };
    if let Some(unknown) = m
        .keys()
        .find(|k| !matches!(k.as_str(), "session_id" | "expected_version" | "turn_id"))
    {
        return Err(ApiError::malformed(format!(
            "unknown session member {unknown:?}"
        )));
    }
    let session_id = match m.remove("session_id") {
        Some(Value::String(s)) => session_id(&s)?,
        Some(_) => return Err(ApiError::malformed("session.session_id must be a string")),
        None => return Err(ApiError::malformed("session.session_id is required")),
    };
    let turn_id = turn_id(
        &m.remove("turn_id")
            .ok_or_else(|| ApiError::malformed("session.turn_id is required"))?,
    )?;
    let expected_version = match m.remove("expected_version") {
        None => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| {
            ApiError::malformed("expected_version must be a non-negative integer")
        })?),
    };
    Ok(SessionRef {
        session_id,
        expected_version,
        turn_id,
    })
}

/// An endpoint's input object, with its allowed members.
#[derive(Debug)]
pub struct Input(Map<String, Value>);

impl Input {
    /// Reads the envelope's input as an object allowing only `allowed` members.
    pub fn new(env: &Envelope, allowed: &[&str]) -> Result<Input, ApiError> {
        let m = env.input_object()?;
        if let Some(unknown) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::malformed(format!(
                "unknown input member {unknown:?}"
            )));
        }
        Ok(Input(m))
    }

    /// An optional member.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A required object member.
    pub fn object(&self, name: &str) -> Result<Value, ApiError> {
        match self.0.get(name) {
            Some(v @ Value::Object(_)) => Ok(v.clone()),
            Some(_) => Err(ApiError::malformed(format!(
                "input.{name} must be an object"
            ))),
            None => Err(ApiError::malformed(format!("input.{name} is required"))),
        }
    }

    /// An optional object member.
    pub fn opt_object(&self, name: &str) -> Result<Option<Value>, ApiError> {
        match self.0.get(name) {
            None => Ok(None),
            Some(_) => self.object(name).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Envelope, ApiError> {
        parse(s.as_bytes(), &FaultSet::none())
    }

    fn code(s: &str) -> String {
        p(s).err().map(|e| e.code().to_owned()).unwrap_or_default()
    }

    #[test]
    fn accepts_a_full_envelope() {
        let env = p(
            r#"{"envelope_version":"1.0","session":{"session_id":"ses_01HX2QF8GZRP9V3K5YXJW0AQ7M","expected_version":12,"turn_id":"trn_01HX2QFP4N8R5T6V7W8X9Y0Z1A"},"action":"echo","input":{}}"#,
        );
        let env = env.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(env.session.map(|s| s.expected_version), Some(Some(12)));
    }

    #[test]
    fn refuses_bad_envelopes() {
        assert_eq!(
            code(r#"{"envelope_version":"2.0"}"#),
            "unsupported_envelope_version"
        );
        assert_eq!(
            code(r#"{"envelope_version":1.0}"#),
            "unsupported_envelope_version"
        );
        assert_eq!(code(r#"{}"#), "malformed_envelope");
        assert_eq!(code(r#"[]"#), "malformed_envelope");
        assert_eq!(
            code(r#"{"envelope_version":"1.0","x":1}"#),
            "malformed_envelope"
        );
        assert_eq!(
            code(r#"{"envelope_version":"1.0","envelope_version":"1.0"}"#),
            "malformed_envelope"
        );
        assert_eq!(
            code(r#"{"envelope_version":"1.0","input":{"n":9007199254740992}}"#),
            "malformed_envelope"
        );
        assert_eq!(
            code(r#"{"envelope_version":"1.0"} x"#),
            "malformed_envelope"
        );
        assert_eq!(
            code(
                r#"{"envelope_version":"1.0","session":{"session_id":"ses_x","turn_id":"trn_01HX2QFP4N8R5T6V7W8X9Y0Z1A"}}"#
            ),
            "invalid_identifier"
        );
        assert_eq!(
            code(
                r#"{"envelope_version":"1.0","session":{"session_id":"ses_01HX2QF8GZRP9V3K5YXJW0AQ7M","turn_id":"trn_01HX2QFP4N8R5T6V7W8X9Y0Z1A","expected_version":-1}}"#
            ),
            "malformed_envelope"
        );
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(code(&deep), "malformed_envelope");
        assert_eq!(
            parse(b"\xff\xfe", &FaultSet::none())
                .err()
                .map(|e| e.status()),
            Some(400)
        );
    }

    #[test]
    fn parser_faults_answer_500() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let f = FaultSet::one(Fault::Parser500OnDeepNesting);
        assert_eq!(
            parse(deep.as_bytes(), &f).err().map(|e| e.status()),
            Some(500)
        );
        let f = FaultSet::one(Fault::Parser500OnBigNumbers);
        let big = br#"{"envelope_version":"1.0","input":{"n":1e400}}"#;
        let huge = br#"{"envelope_version":"1.0","input":{"n":99999999999999999999}}"#;
        assert_eq!(parse(huge, &f).err().map(|e| e.status()), Some(500));
        assert!(parse(big, &FaultSet::none()).is_err());
    }
}
