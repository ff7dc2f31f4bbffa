//! The strict parser as the JSON targets call it. With the `planted-bug` feature it panics on
//! any object three or more containers deep that has a member named `envelope_version`
//! (`{"input":{"x":{"envelope_version":"1.0"}}}`, an envelope nested in an envelope's input): a
//! stand-in for a parser bug that only a particular shape of a legitimate protocol token
//! triggers, which `fuzz/run.sh --planted` shows the fuzzers find within the smoke time. None of
//! the seeds has that shape. Without the feature this is exactly
//! [`oap_wire::json::parse_strict`].

use oap_wire::json::{self, JsonLimits, StrictJsonError};
use serde_json::Value;

/// [`json::parse_strict`], plus the planted bug when the feature is on.
pub fn parse(bytes: &[u8], limits: &JsonLimits) -> Result<Value, StrictJsonError> {
    let value = json::parse_strict(bytes, limits)?;
    #[cfg(feature = "planted-bug")]
    boom(&value);
    Ok(value)
}

#[cfg(feature = "planted-bug")]
const TRIGGER: &str = "envelope_version";

#[cfg(feature = "planted-bug")]
fn boom(value: &Value) {
    let mut stack = vec![(value, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        match v {
            Value::Object(m) => {
                assert!(
                    depth + 1 < 3 || !m.contains_key(TRIGGER),
                    "planted bug: member {TRIGGER:?} at depth {}",
                    depth + 1
                );
                stack.extend(m.values().map(|c| (c, depth + 1)));
            }
            Value::Array(items) => stack.extend(items.iter().map(|c| (c, depth + 1))),
            _ => {}
        }
    }
}
