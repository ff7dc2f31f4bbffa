//! Properties of the reference Tool (`oap-ref`) that need no network: its envelope parser
//! (`http::envelope::parse`) answers every body with a status and code that `docs/profile.md` §4
//! allows, in the check order of PRF-ENV-10 step 4 (JSON syntax and top-level members
//! `malformed_envelope`, then `unsupported_envelope_version`, then the rest of the shape
//! `malformed_envelope` / `invalid_identifier`), and never panics.
//!
//! The profile's rules are restated here independently of `oap-ref`, on top of the strict JSON
//! layer of `oap-wire` (which its own targets check). `input` is not judged here: its shape
//! depends on the endpoint (PRF-ENV-5).

use oap_ref::FaultSet;
use oap_ref::http::envelope;
use oap_wire::ids;
use oap_wire::json::{self, JsonLimits, MAX_SAFE_INTEGER, StrictJsonError};
use serde_json::Value;

const MALFORMED: (u16, &str) = (400, "malformed_envelope");
const INVALID_ID: (u16, &str) = (400, "invalid_identifier");

/// The answers the profile allows to a POST body at the envelope stage: empty when the envelope
/// passes step 4, else every status and code the profile accepts.
pub fn profile_verdict(body: &[u8]) -> Vec<(u16, &'static str)> {
    let top = match json::parse_strict(body, &JsonLimits::default()) {
        Err(StrictJsonError::TooLarge { .. }) => return vec![(413, "payload_too_large")],
        Err(_)
        | Ok(
            Value::Array(_) | Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null,
        ) => {
            return vec![MALFORMED];
        }
        Ok(Value::Object(top)) => top,
    };
    // JSON syntax and top-level members.
    let unknown = top.keys().any(|k| {
        !matches!(
            k.as_str(),
            "envelope_version" | "session" | "action" | "input"
        )
    });
    let Some(version) = top.get("envelope_version") else {
        return vec![MALFORMED];
    };
    if unknown {
        return vec![MALFORMED];
    }
    // The version: anything but the string "1.0".
    if version.as_str() != Some("1.0") {
        return vec![(400, "unsupported_envelope_version")];
    }
    // The rest of the shape.
    let mut malformed = top.get("action").is_some_and(|a| !a.is_string());
    let mut invalid_id = false;
    match top.get("session") {
        None => {}
        Some(Value::Object(m)) => {
            malformed |= m
                .keys()
                .any(|k| !matches!(k.as_str(), "session_id" | "turn_id" | "expected_version"));
            for (name, valid) in [
                ("session_id", ids::is_valid_session_id as fn(&str) -> bool),
                ("turn_id", ids::is_valid_turn_id),
            ] {
                match m.get(name) {
                    Some(Value::String(s)) => invalid_id |= !valid(s),
                    _ => malformed = true,
                }
            }
            if let Some(v) = m.get("expected_version") {
                malformed |= v.as_u64().is_none_or(|n| n > MAX_SAFE_INTEGER);
            }
        }
        Some(_) => malformed = true,
    }
    let mut allowed = Vec::new();
    if malformed {
        allowed.push(MALFORMED);
    }
    if invalid_id {
        allowed.push(INVALID_ID);
    }
    allowed
}

/// `oap-ref`'s answer to the same body: `None` when it accepts the envelope.
pub fn reference_verdict(body: &[u8]) -> Option<(u16, String)> {
    match envelope::parse(body, &FaultSet::none()) {
        Ok(_) => None,
        Err(e) => Some((e.status(), e.code().to_owned())),
    }
}

/// The reference Tool's envelope verdict is one the profile allows.
pub fn envelope_verdict(body: &[u8]) {
    let allowed = profile_verdict(body);
    let got = reference_verdict(body);
    let ok = match &got {
        None => allowed.is_empty(),
        Some((status, code)) => allowed.iter().any(|(s, c)| s == status && c == code),
    };
    assert!(
        ok,
        "oap-ref answers {got:?}, the profile allows {allowed:?} (empty: accept), to {:?}",
        String::from_utf8_lossy(body)
    );
}
