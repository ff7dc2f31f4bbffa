//! Shared helpers for the vector tests: every vector is read from the repository's
//! `external-vectors/`, never from outside the repository.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

use serde_json::Value;

/// Path of a file under `external-vectors/`.
pub fn ext(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../external-vectors")
        .join(path)
}

/// The bytes of a vector file.
pub fn read(path: &str) -> Vec<u8> {
    let p = ext(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// A vector file as text, trailing newlines removed (some files end with one, some do not).
pub fn read_trimmed(path: &str) -> String {
    String::from_utf8(read(path))
        .unwrap()
        .trim_end_matches(['\n', '\r'])
        .to_owned()
}

/// A vector file parsed as JSON.
pub fn json(path: &str) -> Value {
    serde_json::from_slice(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Hex to bytes.
pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

/// A copy of `bytes` with byte `i` (modulo the length) XORed with 0x01. Empty input gains a byte.
pub fn flip(bytes: &[u8], i: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if out.is_empty() {
        out.push(0);
    } else {
        let i = i % out.len();
        out[i] ^= 0x01;
    }
    out
}

/// The string member `name` of `v`.
pub fn s<'a>(v: &'a Value, name: &str) -> &'a str {
    v[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} is not a string in {v}"))
}
