//! RFC 8785 JSON Canonicalization Scheme (JCS) and the SHA-256 hashes taken over it.
//!
//! Receipt hashes, state digests and `eddsa-jcs-2022` proofs all sign or hash a JSON value, so
//! they need one byte string per value: JCS sorts members by their UTF-16 code units, writes
//! strings with the minimal escapes, and writes numbers the way ECMAScript's `Number.toString`
//! does. The `serde_jcs` crate implements exactly this (its number formatting is `ryu-js`) and
//! passes every published RFC 8785 vector (`tests/rfc8785.rs`), so it is used rather than a
//! second implementation.
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
    if crate::json::depth(value) > MAX_DEPTH {
        return Err(JcsError::TooDeep);
    }
    serde_jcs::to_vec(value).map_err(|e| JcsError::Serialize(e.to_string()))
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
