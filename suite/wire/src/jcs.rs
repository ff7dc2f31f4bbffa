//! RFC 8785 JSON Canonicalization Scheme (JCS) and the SHA-256 hashes taken over it.
//!
//! Receipt hashes, state digests and `eddsa-jcs-2022` proofs all sign or hash a JSON value, so
//! they need one byte string per value: JCS sorts members by their UTF-16 code units, writes
//! strings with the minimal escapes, and writes numbers the way ECMAScript's `Number.toString`
//! does. The values hashed here are objects of strings and integers, which are written directly:
//! members sorted by UTF-16 code units, strings with JCS's escapes, integers up to 2^53 in
//! decimal (what `Number.toString` gives for them). Any other number is formatted by the
//! `serde_jcs` crate (`ryu-js`). Every published RFC 8785 vector passes (`tests/rfc8785.rs`),
//! and a property test compares the output with `serde_jcs`'s for arbitrary values
//! (`tests/proptests.rs`); `serde_jcs` serialised each value through an intermediate form and
//! took several times as long on a receipt.
//!
//! Numbers are IEEE-754 doubles in JCS: an integer beyond 2^53 is written as the nearest double.
//! Values parsed by [`crate::json::parse_strict`] never hold such integers.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Why a value cannot be canonicalized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    /// NaN and the infinities have no JSON form.
    #[error("non-finite number {0} has no JSON representation")]
    NonFinite(String),
    /// The value nests deeper than [`MAX_DEPTH`].
    #[error("value nests deeper than {MAX_DEPTH}")]
    TooDeep,
    /// The serializer failed.
    #[error("canonicalization failed: {0}")]
    Serialize(String),
}

/// Deepest nesting canonicalized. The serializer recurses once per level, so a value built in
/// memory (not parsed, which `serde_json` already bounds at 128) is checked first, without
/// recursion, rather than allowed to exhaust the stack.
pub const MAX_DEPTH: usize = 512;

/// The canonical (RFC 8785) UTF-8 bytes of `value`.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, value, 0)?;
    Ok(out)
}

/// Largest magnitude up to which every integer is a double, written as its decimal digits.
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// Writes `value` at nesting `depth` (the recursion stops at [`MAX_DEPTH`] levels).
fn write_value(out: &mut Vec<u8>, value: &Value, depth: usize) -> Result<(), JcsError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(JcsError::TooDeep);
            }
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, depth + 1)?;
            }
            out.push(b']');
        }
        Value::Object(members) => {
            if depth >= MAX_DEPTH {
                return Err(JcsError::TooDeep);
            }
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_by(|a, b| utf16_order(a.0, b.0));
            out.push(b'{');
            for (i, (name, member)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, name);
                out.push(b':');
                write_value(out, member, depth + 1)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// Member order: by UTF-16 code units (RFC 8785 §3.2.3). For text without characters beyond
/// U+FFFF that is the order of the UTF-8 bytes.
fn utf16_order(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

fn write_number(out: &mut Vec<u8>, n: &serde_json::Number) -> Result<(), JcsError> {
    if let Some(u) = n.as_u64()
        && u <= MAX_EXACT_INTEGER
    {
        out.extend_from_slice(u.to_string().as_bytes());
        return Ok(());
    }
    if let Some(i) = n.as_i64()
        && i.unsigned_abs() <= MAX_EXACT_INTEGER
    {
        out.extend_from_slice(i.to_string().as_bytes());
        return Ok(());
    }
    let f = n
        .as_f64()
        .ok_or_else(|| JcsError::Serialize(format!("number {n} has no double value")))?;
    out.extend_from_slice(format_number(f)?.as_bytes());
    Ok(())
}

/// A string with JCS's escapes (RFC 8785 §3.2.2.2): `"` and `\`, the five short forms of
/// control characters, `\u00xx` (lower-case hex) for the other control characters, and every
/// other character as it is.
fn write_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0a => b"\\n",
            0x0c => b"\\f",
            0x0d => b"\\r",
            0x00..=0x1f => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ],
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The canonical form of `value` as a string.
pub fn canonicalize_string(value: &Value) -> Result<String, JcsError> {
    let bytes = canonicalize(value)?;
    String::from_utf8(bytes).map_err(|e| JcsError::Serialize(e.to_string()))
}

/// The JCS form of one number (RFC 8785 §3.2.2.3, ECMAScript `Number.prototype.toString`).
/// NaN and ±Infinity are errors.
pub fn format_number(n: f64) -> Result<String, JcsError> {
    if !n.is_finite() {
        return Err(JcsError::NonFinite(n.to_string()));
    }
    let bytes = serde_jcs::to_vec(&n).map_err(|e| JcsError::Serialize(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| JcsError::Serialize(e.to_string()))
}

/// SHA-256 of the canonical form of `value`.
pub fn sha256_jcs(value: &Value) -> Result<[u8; 32], JcsError> {
    Ok(Sha256::digest(canonicalize(value)?).into())
}

/// SHA-256 of the canonical form of `value`, as lower-case hex.
pub fn sha256_jcs_hex(value: &Value) -> Result<String, JcsError> {
    Ok(hex::encode(sha256_jcs(value)?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_and_hashes() {
        let v = json!({"b": [1, 2.5, "x"], "a": null, "\u{20ac}": true, "\r": false});
        assert_eq!(
            canonicalize_string(&v).unwrap(),
            "{\"\\r\":false,\"a\":null,\"b\":[1,2.5,\"x\"],\"\u{20ac}\":true}"
        );
        assert_eq!(
            sha256_jcs_hex(&json!({})).unwrap(),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert!(format_number(f64::NAN).is_err());
        assert_eq!(format_number(1e21).unwrap(), "1e+21");
    }

    #[test]
    fn deep_values_are_refused_not_overflowed() {
        let mut v = json!(1);
        for _ in 0..MAX_DEPTH {
            v = json!([v]);
        }
        assert!(canonicalize(&v).is_ok());
        let mut deeper = json!([v]);
        assert_eq!(canonicalize(&deeper), Err(JcsError::TooDeep));
        // Dismantle iteratively: dropping a deep value recursively is itself a stack risk.
        while let Some(inner) = deeper.as_array_mut().and_then(Vec::pop) {
            deeper = inner;
        }
    }
}
