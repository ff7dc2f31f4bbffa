//! Strict JSON: raw bytes (`strict_json`) and generated envelopes with a known verdict
//! (`envelope_structured`).

use oap_wire::json::{self, JsonLimits, StrictJsonError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::bytes::Bytes;

/// The parser under test: [`json::parse_strict`], or a wrapper of it.
pub type Parse = fn(&[u8], &JsonLimits) -> Result<Value, StrictJsonError>;

/// Raw bytes through [`json::parse_strict`] with the profile's limits.
pub fn strict_json(data: &[u8]) {
    strict_json_with(data, json::parse_strict);
}

/// [`strict_json`] over any parser: never panics; whatever it accepts, `serde_json` reads as the
/// same value, lies within the limits, and survives serialise-then-parse unchanged.
pub fn strict_json_with(data: &[u8], parse: Parse) {
    let limits = JsonLimits::default();
    let Ok(value) = parse(data, &limits) else {
        return;
    };
    let loose: Value = serde_json::from_slice(data)
        .unwrap_or_else(|e| panic!("accepted a body that serde_json refuses ({e})"));
    assert_eq!(loose, value, "strict and plain parse disagree");
    assert!(
        json::depth(&value) <= limits.max_depth,
        "accepted a body nested too deep"
    );
    let text = serde_json::to_vec(&value).unwrap_or_else(|e| panic!("cannot serialise: {e}"));
    let again = parse(&text, &limits).unwrap_or_else(|e| {
        panic!(
            "refused its own serialisation {:?}: {e}",
            String::from_utf8_lossy(&text)
        )
    });
    assert_eq!(again, value, "serialise-then-parse changed the value");
}

/// A generated body and the verdict it deserves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvelopeCase {
    /// `JsonLimits::max_depth` for this case.
    pub max_depth: usize,
    /// `JsonLimits::max_bytes` for this case.
    pub max_bytes: usize,
    /// The bytes handed to the parser.
    pub body: Bytes,
    /// The value the body denotes when it is well formed I-JSON within the limits; `null` when
    /// it must be refused.
    pub expect: Option<Value>,
}

/// [`envelope_with`] over [`json::parse_strict`].
pub fn envelope(case: &EnvelopeCase) {
    envelope_with(case, json::parse_strict);
}

/// The parser accepts exactly the well-formed bodies, and reads each as the value it denotes.
pub fn envelope_with(case: &EnvelopeCase, parse: Parse) {
    let limits = JsonLimits {
        max_depth: case.max_depth,
        max_bytes: case.max_bytes,
    };
    match (parse(&case.body.0, &limits), &case.expect) {
        (Ok(got), Some(want)) => assert_eq!(&got, want, "accepted, but read a different value"),
        (Err(_), None) => {}
        (Err(e), Some(_)) => panic!("refused a well-formed body: {e}"),
        (Ok(got), None) => panic!("accepted a malformed body, read as {got}"),
    }
}
