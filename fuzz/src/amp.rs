//! Properties of the reference Tool's AMP message parsing (`oap_ref::http::amp_message`), which
//! reads every `POST /amp/session` body before the engine sees it: `parse_json` (I-JSON),
//! `parse_message` (the `SESSION_*` shapes of profile §12.2) and `reply_to` (the identifiers a
//! `SESSION_ERROR` echoes).
//!
//! The rules are restated here independently of `oap-ref`: [`profile_verdict`] gives every
//! refusal reason the profile allows for a body (or none: it must be accepted), and the parser's
//! answer must be one of them. An accepted message must read back its own members, and
//! serialise-then-parse gives the same message.

use oap_ref::FaultSet;
use oap_ref::http::amp_message::{self, Parsed, ReplyTo};
use oap_wire::json::{self, JsonLimits, StrictJsonError};
use oap_wire::{didkey, ids};
use serde_json::{Map, Value};

const MALFORMED: &str = "malformed_message";
const INVALID_ID: &str = "invalid_identifier";
const VERSION: &str = "unsupported_version";

/// The members every message has (profile §12.2).
const COMMON: [&str; 5] = ["type", "id", "from", "session_id", "amp_version"];

/// A message `id`: 1 to 128 characters of `[A-Za-z0-9._:-]`.
fn message_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:".contains(c))
}

fn did(s: &str) -> bool {
    didkey::public_key_from_did(s).is_ok()
}

/// A string of `min..=max` characters.
fn text(v: Option<&Value>, min: usize, max: usize) -> bool {
    v.and_then(Value::as_str)
        .is_some_and(|s| (min..=max).contains(&s.chars().count()))
}

fn integer_at_least(v: Option<&Value>, min: u64) -> bool {
    v.and_then(Value::as_u64).is_some_and(|n| n >= min)
}

/// The refusal reasons the profile allows for a parsed body; empty when it must be accepted.
pub fn profile_verdict(value: &Value) -> Vec<&'static str> {
    let Value::Object(m) = value else {
        return vec![MALFORMED];
    };
    // The version is judged first: present and not "1.0" is 1004, whatever else is wrong.
    if m.get("amp_version")
        .is_some_and(|v| v.as_str() != Some("1.0"))
    {
        return vec![VERSION];
    }
    let mut reasons = Vec::new();
    let mut add = |ok: bool, reason: &'static str| {
        if !ok && !reasons.contains(&reason) {
            reasons.push(reason);
        }
    };
    let kind = m.get("type").and_then(Value::as_str).unwrap_or_default();
    let own: &[&str] = match kind {
        "SESSION_INIT" => &["purpose", "ttl", "capabilities_required", "participants"],
        "SESSION_ACCEPT" | "SESSION_RESUME" => &[],
        "SESSION_REJECT" | "SESSION_SUSPEND" | "SESSION_CLOSE" => &["reason"],
        "SESSION_MSG" => &["body"],
        "SESSION_STATE" => &["patch", "expected_seq"],
        // Missing, not a string, a reply type (`SESSION_ACK`, `SESSION_ERROR`) or unknown.
        _ => {
            add(false, MALFORMED);
            &[]
        }
    };
    add(
        m.keys()
            .all(|k| COMMON.contains(&k.as_str()) || own.contains(&k.as_str())),
        MALFORMED,
    );
    add(
        m.get("id").and_then(Value::as_str).is_some_and(message_id),
        MALFORMED,
    );
    match m.get("from") {
        Some(Value::String(s)) => add(did(s), INVALID_ID),
        _ => add(false, MALFORMED),
    }
    match m.get("session_id") {
        Some(Value::String(s)) => add(ids::is_valid_session_id(s), INVALID_ID),
        _ => add(false, MALFORMED),
    }
    match kind {
        "SESSION_INIT" => {
            add(text(m.get("purpose"), 1, 256), MALFORMED);
            add(integer_at_least(m.get("ttl"), 1), MALFORMED);
            for name in ["capabilities_required", "participants"] {
                let Some(v) = m.get(name) else { continue };
                let items: Option<Vec<&str>> = v
                    .as_array()
                    .and_then(|a| a.iter().map(Value::as_str).collect());
                let Some(items) = items else {
                    add(false, MALFORMED);
                    continue;
                };
                let distinct = items
                    .iter()
                    .enumerate()
                    .all(|(i, s)| !items[..i].contains(s));
                add(distinct, MALFORMED);
                if name == "capabilities_required" {
                    add(items.iter().all(|s| !s.is_empty()), MALFORMED);
                } else {
                    add(items.iter().all(|s| did(s)), INVALID_ID);
                    let from = m.get("from").and_then(Value::as_str);
                    add(!items.iter().any(|s| Some(*s) == from), MALFORMED);
                }
            }
        }
        "SESSION_REJECT" => add(text(m.get("reason"), 1, 1000), MALFORMED),
        "SESSION_SUSPEND" | "SESSION_CLOSE" => {
            add(
                m.get("reason").is_none() || text(m.get("reason"), 1, 1000),
                MALFORMED,
            );
        }
        "SESSION_MSG" => add(m.contains_key("body"), MALFORMED),
        "SESSION_STATE" => {
            let patch_ok = m.get("patch").and_then(Value::as_object).is_some_and(|p| {
                p.iter().all(|(k, v)| match k.as_str() {
                    "current_step" => v.is_u64(),
                    "total_steps" => v.is_u64() || v.is_null(),
                    "shared_data" => v.is_object(),
                    _ => false,
                })
            });
            add(patch_ok, MALFORMED);
            add(integer_at_least(m.get("expected_seq"), 1), MALFORMED);
        }
        _ => {}
    }
    reasons
}

fn member<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    m.get(name).and_then(Value::as_str)
}

/// An accepted message reads back its own members.
fn check_accepted(value: &Value, p: &Parsed, to: &ReplyTo) {
    let Value::Object(m) = value else {
        panic!("accepted a body that is not an object: {value}");
    };
    assert_eq!(Some(p.session_id.as_str()), member(m, "session_id"));
    assert_eq!(Some(p.id.as_str()), member(m, "id"));
    assert_eq!(Some(p.from.as_str()), member(m, "from"));
    assert_eq!(Some(p.message.kind()), member(m, "type"));
    let mut entry = m.clone();
    entry.remove("session_id");
    entry.remove("amp_version");
    assert_eq!(
        p.entry, entry,
        "the history entry is the message without session_id and amp_version"
    );
    assert_eq!(
        (to.session_id.as_deref(), to.id.as_deref()),
        (Some(p.session_id.as_str()), Some(p.id.as_str())),
        "a reply to an accepted message echoes both identifiers"
    );
    // Serialise, then parse: the same message.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let again = amp_message::parse_json(&bytes, &FaultSet::none())
        .and_then(|v| amp_message::parse_message(&v));
    assert_eq!(
        again.as_ref(),
        Ok(p),
        "serialise-then-parse changed the message"
    );
}

/// `amp_message`: a raw body through the reference Tool's AMP parsing.
pub fn check(data: &[u8]) {
    let strict = json::parse_strict(data, &JsonLimits::default());
    let value = match amp_message::parse_json(data, &FaultSet::none()) {
        Err(e) => {
            let expected = match &strict {
                Err(StrictJsonError::TooLarge { .. }) => (413, "payload_too_large"),
                Err(_) => (400, MALFORMED),
                Ok(v) => panic!("refused {e:?} a body the strict parser reads as {v}"),
            };
            assert_eq!((e.status, e.reason.as_str()), expected, "{e:?}");
            assert_eq!(e.code(), 1001);
            return;
        }
        Ok(v) => v,
    };
    assert_eq!(
        strict.as_ref().ok(),
        Some(&value),
        "parse_json and the strict parser disagree"
    );
    // `reply_to` echoes an identifier only in its well-formed shape.
    let to = amp_message::reply_to(&value);
    let echoed = |name: &str, ok: fn(&str) -> bool| {
        value
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| ok(s))
            .map(str::to_owned)
    };
    assert_eq!(
        to.session_id,
        echoed("session_id", ids::is_valid_session_id)
    );
    assert_eq!(to.id, echoed("id", message_id));
    let allowed = profile_verdict(&value);
    match amp_message::parse_message(&value) {
        Ok(p) => {
            assert!(
                allowed.is_empty(),
                "accepted {value}, which the profile refuses ({allowed:?})"
            );
            check_accepted(&value, &p, &to);
        }
        Err(e) => {
            assert!(
                e.status == 400 && allowed.contains(&e.reason.as_str()),
                "refused {value} with {} {}, the profile allows {allowed:?} (empty: accept)",
                e.status,
                e.reason
            );
            let code = if e.reason == VERSION { 1004 } else { 1001 };
            assert_eq!(e.code(), code, "{e:?}");
        }
    }
}
