//! Validation of a report against `vectors/schema/report.schema.json`.
//!
//! The schema is compiled into the binary, so `verify-report` and the writers
//! check reports without reading the repository. The writer refuses to emit a
//! report that does not validate: a schema violation is a bug in the suite,
//! and a report a third party cannot validate is not evidence.

use std::sync::OnceLock;

use serde_json::Value;

use super::error::ReportError;

/// The report schema (JSON Schema draft 2020-12, `$id`
/// `urn:oap-conform:schema:report`), as shipped in `vectors/schema/`.
pub const REPORT_SCHEMA: &str = include_str!("../../../vectors/schema/report.schema.json");

/// The `$id` of [`REPORT_SCHEMA`].
pub const REPORT_SCHEMA_ID: &str = "urn:oap-conform:schema:report";

fn validator() -> Result<&'static jsonschema::Validator, ReportError> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            let schema: Value = serde_json::from_str(REPORT_SCHEMA)
                .map_err(|e| format!("report schema is not JSON: {e}"))?;
            jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(&schema)
                .map_err(|e| format!("report schema does not compile: {e}"))
        })
        .as_ref()
        .map_err(|e| ReportError::Schema(vec![e.clone()]))
}

/// Validates a report, given as JSON, against the report schema; the error
/// lists every violation as `instance path: message`.
pub fn validate_report_value(report: &Value) -> Result<(), ReportError> {
    let validator = validator()?;
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| {
            let path = e.instance_path().to_string();
            let path = if path.is_empty() {
                "/".to_owned()
            } else {
                path
            };
            format!("{path}: {e}")
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ReportError::Schema(errors))
    }
}
