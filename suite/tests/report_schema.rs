//! `report.json` is valid against `vectors/schema/report.schema.json`, and the
//! schema rejects what a report must never say.
#![allow(clippy::unwrap_used)]

#[path = "report_support.rs"]
mod support;

use oap_conform::report::{REPORT_SCHEMA, ReportError, validate_report_value};
use serde_json::{Value, json};

/// A named edit of a valid report that must make it invalid.
type Case = (&'static str, Box<dyn Fn(&mut Value)>);

fn schema_errors(v: &Value) -> Vec<String> {
    match validate_report_value(v) {
        Ok(()) => Vec::new(),
        Err(ReportError::Schema(errors)) => errors,
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn schema_is_draft_2020_12_with_its_urn() {
    let schema: Value = serde_json::from_str(REPORT_SCHEMA).unwrap();
    assert_eq!(schema["$id"], "urn:oap-conform:schema:report");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    // The compiled-in copy is the file in the repository.
    let on_disk = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vectors/schema/report.schema.json"
    ))
    .unwrap();
    assert_eq!(on_disk, REPORT_SCHEMA);
}

#[test]
fn generated_reports_validate() {
    for report in [support::sample_report(), support::passing_report()] {
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(schema_errors(&v), Vec::<String>::new());
    }
}

#[test]
fn enumerations_are_kebab_case() {
    let v = serde_json::to_value(support::sample_report()).unwrap();
    let statuses: Vec<&str> = v["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"not-applicable"));
    assert!(
        v["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == "untested")
    );
    assert_eq!(v["verdict"]["result"], "fail");
    assert_eq!(v["vectors"][0]["level"], "MUST");
    assert_eq!(
        v["vectors"][1]["transcript"][0]["request_headers"][0],
        json!(["content-type", "application/json"])
    );
}

#[test]
fn the_schema_rejects_inconsistent_or_unknown_content() {
    let base = serde_json::to_value(support::sample_report()).unwrap();
    let cases: Vec<Case> = vec![
        (
            "unknown status",
            Box::new(|v| v["vectors"][0]["status"] = json!("passed")),
        ),
        (
            "transcript on a pass",
            Box::new(|v| {
                let t = v["vectors"][1]["transcript"].clone();
                v["vectors"][0]["transcript"] = t;
            }),
        ),
        (
            "pass with reasons",
            Box::new(|v| v["verdict"]["result"] = json!("pass")),
        ),
        (
            "fail without reasons",
            Box::new(|v| {
                v["verdicts_by_binding"]["amp"]["reasons"] = json!([]);
            }),
        ),
        (
            "other level",
            Box::new(|v| v["verdict"]["level"] = json!("L3")),
        ),
        (
            "bad digest",
            Box::new(|v| v["suite"]["vectors_digest"] = json!("ABC")),
        ),
        ("unknown member", Box::new(|v| v["extra"] = json!(1))),
        (
            "untested without reason",
            Box::new(|v| {
                for r in v["requirements"].as_array_mut().unwrap() {
                    if r["status"] == "untested" {
                        r.as_object_mut().unwrap().remove("untested_reason");
                    }
                }
            }),
        ),
        (
            "bad timestamp",
            Box::new(|v| v["started_at"] = json!("yesterday")),
        ),
        (
            "three-item header",
            Box::new(|v| {
                v["vectors"][1]["transcript"][0]["request_headers"][0] = json!(["a", "b", "c"]);
            }),
        ),
    ];
    for (name, edit) in cases {
        let mut v = base.clone();
        edit(&mut v);
        assert!(!schema_errors(&v).is_empty(), "schema accepted: {name}");
    }
}
