//! The wire-message schemas of `vectors/schema/` are themselves under test.
//!
//! Every `*.schema.json` must be a valid draft 2020-12 schema that compiles offline (every `$ref`
//! resolves inside the directory) with the non-backtracking `regex` engine, so that any consumer's
//! validator accepts the same patterns. Every example under
//! `vectors/schema/examples/<schema>/valid/` must pass its schema and every one under `invalid/`
//! must fail it; each wire schema must have at least two of the first and three of the second.
//! The vector and report schemas are exercised by their own tests.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Schemas whose examples live with their own tests, not under `examples/`.
const TESTED_ELSEWHERE: &[&str] = &["vector", "report"];

/// The dialect every schema declares.
const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors/schema")
}

fn read_json(path: &Path) -> Value {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every schema in `vectors/schema/`, by name (the file name without `.schema.json`).
fn schemas() -> BTreeMap<String, Value> {
    let pattern = schema_dir().join("*.schema.json");
    let pattern = pattern.to_str().expect("UTF-8 path");
    let mut out = BTreeMap::new();
    for entry in glob::glob(pattern).expect("valid glob pattern") {
        let path = entry.expect("readable directory entry");
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("UTF-8 name");
        let name = file.trim_end_matches(".schema.json").to_owned();
        out.insert(name, read_json(&path));
    }
    assert!(
        !out.is_empty(),
        "no schemas found under {}",
        schema_dir().display()
    );
    out
}

fn is_tested_here(name: &str) -> bool {
    !TESTED_ELSEWHERE.contains(&name)
}

/// A registry holding every schema under its `$id`, so cross-schema `$ref`s resolve offline.
fn registry(schemas: &BTreeMap<String, Value>) -> jsonschema::Registry<'static> {
    let mut builder = jsonschema::Registry::new();
    for (name, schema) in schemas {
        let id = schema["$id"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no $id"))
            .to_owned();
        builder = builder
            .add(id, schema.clone())
            .unwrap_or_else(|e| panic!("{name}: cannot register: {e}"));
    }
    builder
        .prepare()
        .expect("the schemas form a consistent registry")
}

fn validator(
    name: &str,
    schema: &Value,
    registry: &jsonschema::Registry<'_>,
) -> jsonschema::Validator {
    jsonschema::options()
        .with_registry(registry)
        .should_validate_formats(true)
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .build(schema)
        .unwrap_or_else(|e| panic!("{name}.schema.json does not compile: {e}"))
}

/// The JSON files directly inside `dir`, sorted.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_schema_is_a_valid_draft_2020_12_schema() {
    for (name, schema) in schemas() {
        assert_eq!(
            schema["$schema"].as_str(),
            Some(DRAFT_2020_12),
            "{name}.schema.json must declare draft 2020-12"
        );
        if let Err(e) = jsonschema::meta::validate(&schema) {
            panic!("{name}.schema.json is not a valid schema: {e}");
        }
    }
}

#[test]
fn wire_schemas_are_named_by_their_urn() {
    for (name, schema) in schemas().iter().filter(|(n, _)| is_tested_here(n)) {
        let expected = format!("urn:oap-conform:schema:{name}");
        assert_eq!(
            schema["$id"].as_str(),
            Some(expected.as_str()),
            "{name}.schema.json must have $id {expected}"
        );
        for member in ["title", "description"] {
            assert!(
                schema[member].as_str().is_some_and(|s| !s.is_empty()),
                "{name}.schema.json needs a {member}"
            );
        }
    }
}

#[test]
fn every_schema_compiles_offline_with_the_regex_engine() {
    let schemas = schemas();
    let registry = registry(&schemas);
    for (name, schema) in &schemas {
        validator(name, schema, &registry);
    }
}

#[test]
fn examples_are_judged_as_their_directory_says() {
    let schemas = schemas();
    let registry = registry(&schemas);
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, schema) in &schemas {
        let validator = validator(name, schema, &registry);
        let dir = schema_dir().join("examples").join(name);
        for (kind, should_pass) in [("valid", true), ("invalid", false)] {
            for path in json_files(&dir.join(kind)) {
                checked += 1;
                let instance = read_json(&path);
                let errors: Vec<String> = validator
                    .iter_errors(&instance)
                    .take(3)
                    .map(|e| format!("{} at {}", e, e.instance_path()))
                    .collect();
                let rel = path.strip_prefix(schema_dir()).unwrap_or(&path).display();
                match (should_pass, errors.is_empty()) {
                    (true, false) => failures.push(format!("{rel}: rejected: {errors:?}")),
                    (false, true) => failures.push(format!("{rel}: accepted, but it is invalid")),
                    _ => {}
                }
            }
        }
    }
    assert!(checked > 0, "no examples found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_wire_schema_has_enough_examples() {
    let schemas = schemas();
    let mut problems = Vec::new();
    for name in schemas.keys().filter(|n| is_tested_here(n)) {
        let dir = schema_dir().join("examples").join(name);
        let valid = json_files(&dir.join("valid")).len();
        let invalid = json_files(&dir.join("invalid")).len();
        if valid < 2 || invalid < 3 {
            problems.push(format!(
                "{name}: {valid} valid and {invalid} invalid examples (need at least 2 and 3)"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn example_directories_name_existing_schemas_and_hold_only_examples() {
    let schemas = schemas();
    let examples = schema_dir().join("examples");
    let mut problems = Vec::new();
    for entry in fs::read_dir(&examples).expect("vectors/schema/examples exists") {
        let path = entry.expect("readable directory entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        if !path.is_dir() || !schemas.contains_key(name) {
            problems.push(format!("examples/{name}: no schema {name}.schema.json"));
            continue;
        }
        for sub in fs::read_dir(&path).expect("readable directory") {
            let sub = sub.expect("readable directory entry").path();
            let kind = sub.file_name().and_then(|n| n.to_str()).unwrap_or("?");
            if !(sub.is_dir() && (kind == "valid" || kind == "invalid")) {
                problems.push(format!(
                    "examples/{name}/{kind}: expected only valid/ and invalid/"
                ));
                continue;
            }
            for file in fs::read_dir(&sub).expect("readable directory") {
                let file = file.expect("readable directory entry").path();
                let stem = file.file_stem().and_then(|n| n.to_str()).unwrap_or("");
                let is_named = file.extension().is_some_and(|x| x == "json")
                    && !stem.is_empty()
                    && stem
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
                if !is_named {
                    problems.push(format!(
                        "{}: examples are <rule-or-case>.json",
                        file.strip_prefix(&examples).unwrap_or(&file).display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn shared_definitions_agree_across_wire_schemas() {
    let mut seen: BTreeMap<String, (String, Value)> = BTreeMap::new();
    let mut problems = Vec::new();
    for (name, schema) in schemas().iter().filter(|(n, _)| is_tested_here(n)) {
        let Some(defs) = schema.get("$defs").and_then(Value::as_object) else {
            continue;
        };
        for (def, body) in defs {
            match seen.get(def) {
                Some((first, other)) if other != body => problems.push(format!(
                    "$defs/{def} differs between {first}.schema.json and {name}.schema.json"
                )),
                Some(_) => {}
                None => {
                    seen.insert(def.clone(), (name.clone(), body.clone()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The signed examples are real: their proofs verify and their receipts chain, by the same
/// primitives the suite judges Tools with, so they can serve as known-good fixtures.
#[test]
fn signed_valid_examples_verify() {
    let examples = schema_dir().join("examples");
    let mut failures = Vec::new();
    for schema in [
        "session-admission",
        "session-revocation",
        "session-handoff",
        "receipt",
    ] {
        for path in json_files(&examples.join(schema).join("valid")) {
            let doc = read_json(&path);
            match oap_wire::proof::verify_document(&doc) {
                Ok(signer)
                    if schema == "receipt" || Some(signer.as_str()) == doc["issuer"].as_str() => {}
                Ok(signer) => failures.push(format!(
                    "{}: signed by {signer}, not the issuer",
                    path.display()
                )),
                Err(e) => failures.push(format!("{}: {e}", path.display())),
            }
        }
    }
    let log = read_json(&examples.join("log-response/valid/whole-chain.json"));
    let manifest = read_json(&examples.join("manifest/valid/reference-like.json"));
    let receipts = log["receipts"].as_array().expect("receipts array");
    let session_id = log["session_id"].as_str().expect("session_id");
    if let Err(e) =
        oap_wire::receipt::verify_chain(receipts, session_id, manifest["tool_did"].as_str())
    {
        failures.push(format!("log-response/valid/whole-chain.json: {e}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
