//! The session state schema served at `/oap/schemas/session-state.json` and enforced on every
//! state change (profile §2 and §5).
//!
//! The member `conformance` accepts any object (a scratch area any suite can write to); `title`
//! and `step` are constrained so that schema violations are testable. A state is also capped in
//! size, so that merge patches cannot grow it without bound.

use serde_json::{Value, json};

use super::error::EngineError;

/// Largest accepted state, in bytes of its JCS form.
pub const MAX_STATE_BYTES: usize = 1024 * 1024;

/// The schema document (JSON Schema draft 2020-12). `id` is its absolute URL.
pub fn document(id: &str) -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": id,
        "title": "Coordination Session state (oap-ref)",
        "description": "Any JSON object. `conformance` is a scratch area that accepts any object; `title` and `step` are constrained.",
        "type": "object",
        "properties": {
            "conformance": { "type": "object" },
            "title": { "type": "string", "maxLength": 200 },
            "step": { "type": "integer", "minimum": 0 }
        }
    })
}

/// A compiled validator for [`document`].
pub struct StateSchema {
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for StateSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateSchema")
    }
}

impl StateSchema {
    /// Compiles the schema.
    pub fn new() -> Result<Self, EngineError> {
        let mut doc = document("urn:oap-ref:session-state");
        if let Some(obj) = doc.as_object_mut() {
            obj.remove("$id");
        }
        let validator = jsonschema::validator_for(&doc)
            .map_err(|e| EngineError::Internal(format!("state schema: {e}")))?;
        Ok(Self { validator })
    }

    /// Checks a state; the error names the first violation.
    pub fn check(&self, state: &Value) -> Result<(), EngineError> {
        if let Some(e) = self.validator.iter_errors(state).next() {
            let at = e.instance_path().to_string();
            return Err(EngineError::StateSchemaViolation(format!(
                "at {:?}: {e}",
                if at.is_empty() { "/" } else { at.as_str() }
            )));
        }
        let size = oap_wire::jcs::canonicalize(state)
            .map_err(|e| EngineError::StateSchemaViolation(e.to_string()))?
            .len();
        if size > MAX_STATE_BYTES {
            return Err(EngineError::StateSchemaViolation(format!(
                "state is {size} bytes, above the limit of {MAX_STATE_BYTES}"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_refuses() {
        let s = StateSchema::new().unwrap_or_else(|e| panic!("{e}"));
        assert!(s.check(&json!({})).is_ok());
        assert!(
            s.check(&json!({"conformance": {"a": [1, {"b": null}]}, "other": 1}))
                .is_ok()
        );
        assert!(s.check(&json!({"title": "x", "step": 3})).is_ok());
        assert!(s.check(&json!({"title": 5})).is_err());
        assert!(s.check(&json!({"title": "x".repeat(201)})).is_err());
        assert!(s.check(&json!({"step": -1})).is_err());
        assert!(s.check(&json!({"step": 1.5})).is_err());
        assert!(s.check(&json!({"conformance": 1})).is_err());
        assert!(s.check(&json!([])).is_err());
        assert!(
            s.check(&json!({"big": "x".repeat(MAX_STATE_BYTES)}))
                .is_err()
        );
    }
}
