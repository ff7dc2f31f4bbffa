//! Every vector file is valid: it matches `vectors/schema/vector.schema.json`,
//! passes the loader's cross-checks, and names only requirement IDs that exist
//! in `docs/requirements.json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;

use oap_conform::vector::{self, SchemaStore};
use serde_json::{Value, json};

fn root() -> std::path::PathBuf {
    vector::default_root()
}

#[test]
fn vector_schema_is_a_valid_draft_2020_12_schema() {
    let text = std::fs::read_to_string(root().join("schema/vector.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::meta::validate(&schema).expect("vector.schema.json is a valid JSON Schema");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

#[test]
fn every_vector_file_loads() {
    let set = vector::load(&root()).unwrap_or_else(|e| panic!("vector set does not load: {e}"));
    let mut names: Vec<&str> = set.vectors.iter().map(|v| v.path.as_str()).collect();
    let sorted = {
        let mut s = names.clone();
        s.sort();
        s
    };
    assert_eq!(names, sorted, "vectors are sorted by path");
    names.dedup();
    for v in &set.vectors {
        let file = v.path.rsplit('/').next().unwrap();
        assert!(
            file.len() > 5 && file[..3].chars().all(|c| c.is_ascii_digit()) && &file[3..4] == "-",
            "{}: file names are NNN-name.json",
            v.path
        );
        let area = v.path.split('/').nth(1).unwrap();
        let id_area = v.vector.id.split('.').nth(1).unwrap();
        assert_eq!(
            area, id_area,
            "{}: id {} names another area",
            v.path, v.vector.id
        );
        assert_eq!(
            &file[..3],
            v.vector.id.rsplit('.').next().unwrap(),
            "{}: id number and file number differ",
            v.path
        );
    }
}

#[test]
fn requirement_ids_exist_in_the_catalogue() {
    let catalogue = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/requirements.json");
    let Ok(text) = std::fs::read_to_string(&catalogue) else {
        eprintln!(
            "skipped: {} does not exist yet; requirement IDs not checked",
            catalogue.display()
        );
        return;
    };
    let entries = oap_conform::report::parse_requirements(&text).unwrap();
    let known: BTreeSet<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    let set = vector::load(&root()).unwrap();
    let mut missing = Vec::new();
    for v in &set.vectors {
        for id in &v.vector.requirements {
            if !known.contains(id.as_str()) {
                missing.push(format!("{}: {id}", v.path));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "requirement IDs not in docs/requirements.json:\n  {}",
        missing.join("\n  ")
    );
}

fn schema_errors(vector: &Value) -> usize {
    let store = SchemaStore::new(root().join("schema"));
    store
        .violations("vector.schema.json", vector, 100)
        .unwrap()
        .len()
}

fn minimal() -> Value {
    json!({
        "id": "oap.envelope.999",
        "title": "t",
        "requirements": ["OAP-4-1"],
        "level": "MUST",
        "binding": "oap",
        "actors": ["alice"],
        "steps": [
            { "actor": "alice", "method": "GET", "path": "/oap/manifest", "expect": { "status": 200 } },
            { "check": "verify_chain", "actor": "alice" }
        ]
    })
}

#[test]
fn schema_accepts_the_minimal_vector_and_rejects_mistakes() {
    assert_eq!(schema_errors(&minimal()), 0);
    type Mutation = Box<dyn Fn(&mut Value)>;
    let mutations: Vec<(&str, Mutation)> = vec![
        (
            "missing id",
            Box::new(|v| drop(v.as_object_mut().unwrap().remove("id"))),
        ),
        ("bad id", Box::new(|v| v["id"] = json!("lifecycle-1"))),
        ("bad level", Box::new(|v| v["level"] = json!("must"))),
        ("unknown member", Box::new(|v| v["extra"] = json!(1))),
        (
            "empty requirements",
            Box::new(|v| v["requirements"] = json!([])),
        ),
        (
            "step without expect",
            Box::new(|v| drop(v["steps"][0].as_object_mut().unwrap().remove("expect"))),
        ),
        (
            "unknown check",
            Box::new(|v| v["steps"][1]["check"] = json!("teleport")),
        ),
        (
            "check without actor",
            Box::new(|v| drop(v["steps"][1].as_object_mut().unwrap().remove("actor"))),
        ),
        (
            "bad status",
            Box::new(|v| v["steps"][0]["expect"]["status"] = json!(99)),
        ),
        (
            "matcher without predicate",
            Box::new(|v| v["steps"][0]["expect"]["match"] = json!([{"path": "/a"}])),
        ),
        (
            "bad mutate",
            Box::new(|v| v["steps"][0]["sign"] = json!({"mutate": "sideways"})),
        ),
        (
            "actor and unsigned",
            Box::new(|v| v["steps"][0]["unsigned"] = json!(true)),
        ),
    ];
    for (what, mutate) in mutations {
        let mut v = minimal();
        mutate(&mut v);
        assert!(
            schema_errors(&v) > 0,
            "schema accepted a vector with {what}"
        );
    }
}
