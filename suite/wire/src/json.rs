//! Strict JSON for untrusted request bodies, and RFC 7396 JSON Merge Patch.
//!
//! The profile accepts only I-JSON (RFC 7493): UTF-8, no duplicate member names, integers that a
//! double holds exactly. Plain `serde_json` keeps the last of two duplicate names (so two readers
//! may see different documents), accepts any integer, and recurses once per nesting level. A
//! signed body must mean one thing to every reader, and a hostile body must not exhaust the
//! stack, so [`parse_strict`] works in two passes:
//!
//! 1. a linear, non-recursive pre-scan over the bytes that enforces the size limit, the nesting
//!    limit and the integer range (an integer is a number literal without fraction or exponent,
//!    so `1e300` is a float and `100000000000000000000` is an unsafe integer);
//! 2. `serde_json` with a visitor that rejects duplicate names (compared after unescaping, so
//!    `"a"` and `"\u0061"` collide), trailing data and invalid UTF-8. Its recursion is bounded by
//!    the depth the pre-scan already checked, and by `serde_json`'s own limit of 128.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The largest integer magnitude a double holds exactly: 2^53 − 1.
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// Limits applied by [`parse_strict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// Greatest nesting depth of arrays and objects (a scalar has depth 0, `[]` depth 1).
    pub max_depth: usize,
    /// Greatest size of the input in bytes.
    pub max_bytes: usize,
}

impl Default for JsonLimits {
    /// The profile's envelope limits: depth 64, 1 MiB.
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_bytes: 1024 * 1024,
        }
    }
}

/// Why a body was rejected by [`parse_strict`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrictJsonError {
    /// The input exceeds `max_bytes`.
    #[error("body of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The input is not valid UTF-8.
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// Arrays and objects nest deeper than `max_depth`.
    #[error("nesting deeper than {max}")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// An object repeats a member name.
    #[error("duplicate member name {0:?}")]
    DuplicateKey(String),
    /// An integer lies outside ±(2^53 − 1).
    #[error("integer {0} outside the I-JSON range ±(2^53-1)")]
    UnsafeInteger(String),
    /// Anything else: not JSON, trailing data, lone surrogates, numbers out of range.
    #[error("invalid JSON: {0}")]
    Syntax(String),
}

/// Parses an untrusted body under the rules in the module docs.
pub fn parse_strict(bytes: &[u8], limits: &JsonLimits) -> Result<Value, StrictJsonError> {
    if bytes.len() > limits.max_bytes {
        return Err(StrictJsonError::TooLarge {
            size: bytes.len(),
            max: limits.max_bytes,
        });
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(StrictJsonError::InvalidUtf8 {
            offset: e.valid_up_to(),
        });
    }
    prescan(bytes, limits.max_depth)?;
    let violation = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictSeed {
        violation: &violation,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match (parsed, violation.into_inner()) {
        (_, Some(v)) => Err(v),
        (Ok(v), None) => Ok(v),
        (Err(e), None) if e.to_string().contains("recursion limit") => {
            Err(StrictJsonError::TooDeep {
                max: limits.max_depth,
            })
        }
        (Err(e), None) => Err(StrictJsonError::Syntax(e.to_string())),
    }
}

/// Depth and integer checks in one linear pass, without recursion. Syntax is left to the parser:
/// on malformed input this pass may stop early or see nonsense, but it never fails to terminate
/// and never rejects a well-formed document that satisfies the limits.
fn prescan(bytes: &[u8], max_depth: usize) -> Result<(), StrictJsonError> {
    let mut depth = 0usize;
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                i += 1;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    return Err(StrictJsonError::TooDeep { max: max_depth });
                }
                i += 1;
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while let Some(c) = bytes.get(i) {
                    if c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E') {
                        i += 1;
                    } else {
                        break;
                    }
                }
                let literal = bytes.get(start..i).unwrap_or_default();
                check_integer_literal(literal)?;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

fn check_integer_literal(literal: &[u8]) -> Result<(), StrictJsonError> {
    if literal.iter().any(|c| matches!(c, b'.' | b'e' | b'E')) {
        return Ok(());
    }
    let digits = literal.strip_prefix(b"-").unwrap_or(literal);
    let unsafe_int =
        || StrictJsonError::UnsafeInteger(String::from_utf8_lossy(literal).into_owned());
    // More than 16 digits is always beyond 2^53 - 1 (16 digits).
    if digits.len() > 16 {
        return Err(unsafe_int());
    }
    let mut value: u64 = 0;
    for d in digits {
        if !d.is_ascii_digit() {
            // Malformed (`1-2`, `--1`): the parser will reject it.
            return Ok(());
        }
        value = value * 10 + u64::from(d - b'0');
    }
    if value > MAX_SAFE_INTEGER {
        return Err(unsafe_int());
    }
    Ok(())
}

struct StrictSeed<'a> {
    violation: &'a RefCell<Option<StrictJsonError>>,
}

impl<'a> StrictSeed<'a> {
    fn fail<E: serde::de::Error>(&self, v: StrictJsonError) -> E {
        let msg = v.to_string();
        self.violation.borrow_mut().get_or_insert(v);
        E::custom(msg)
    }

    fn child(&self) -> StrictSeed<'a> {
        StrictSeed {
            violation: self.violation,
        }
    }
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an I-JSON value")
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        if v.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(self.fail(StrictJsonError::UnsafeInteger(v.to_string())));
        }
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        if v > MAX_SAFE_INTEGER {
            return Err(self.fail(StrictJsonError::UnsafeInteger(v.to_string())));
        }
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        match Number::from_f64(v) {
            Some(n) => Ok(Value::Number(n)),
            None => Err(E::custom("non-finite number")),
        }
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self.child())? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(self.fail(StrictJsonError::DuplicateKey(key)));
            }
            let value = map.next_value_seed(self.child())?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// Applies an RFC 7396 JSON Merge Patch to `target` in place: object members of `patch` are
/// merged recursively, `null` members delete, and any non-object patch replaces the target.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(members) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(obj) = target {
        for (name, value) in members {
            if value.is_null() {
                obj.remove(name);
            } else {
                merge_patch(obj.entry(name.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// The nesting depth of `value` (a scalar has depth 0), computed without recursion.
pub fn depth(value: &Value) -> usize {
    let mut max = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Array(items) => {
                max = max.max(d + 1);
                stack.extend(items.iter().map(|i| (i, d + 1)));
            }
            Value::Object(members) => {
                max = max.max(d + 1);
                stack.extend(members.values().map(|i| (i, d + 1)));
            }
            _ => {}
        }
    }
    max
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn depth_counts_containers() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!([])), 1);
        assert_eq!(depth(&json!({"a": [[1]]})), 3);
    }

    #[test]
    fn integer_literals() {
        assert!(check_integer_literal(b"9007199254740991").is_ok());
        assert!(check_integer_literal(b"-9007199254740991").is_ok());
        assert!(check_integer_literal(b"9007199254740992").is_err());
        assert!(check_integer_literal(b"-9007199254740992").is_err());
        assert!(check_integer_literal(b"1e300").is_ok());
        assert!(check_integer_literal(b"99999999999999999999999").is_err());
    }
}
