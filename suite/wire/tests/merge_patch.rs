//! RFC 7396 JSON Merge Patch: the Appendix A example table and the §3 example.
#![allow(clippy::unwrap_used)]

use oap_wire::json::merge_patch;
use serde_json::{Value, json};

/// RFC 7396 Appendix A: (original, patch, result).
fn appendix_a() -> Vec<(Value, Value, Value)> {
    vec![
        (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
        (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
        (json!({"a":"b"}), json!({"a":null}), json!({})),
        (
            json!({"a":"b","b":"c"}),
            json!({"a":null}),
            json!({"b":"c"}),
        ),
        (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
        (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
        (
            json!({"a": {"b": "c"}}),
            json!({"a": {"b": "d", "c": null}}),
            json!({"a": {"b": "d"}}),
        ),
        (
            json!({"a": [{"b":"c"}]}),
            json!({"a": [1]}),
            json!({"a": [1]}),
        ),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a":"b"}), json!(["c"]), json!(["c"])),
        (json!({"a":"foo"}), json!(null), json!(null)),
        (json!({"a":"foo"}), json!("bar"), json!("bar")),
        (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
        (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
        (
            json!({}),
            json!({"a":{"bb":{"ccc":null}}}),
            json!({"a":{"bb":{}}}),
        ),
    ]
}

#[test]
fn appendix_a_table() {
    let table = appendix_a();
    assert_eq!(table.len(), 15);
    for (i, (original, patch, result)) in table.into_iter().enumerate() {
        let mut target = original.clone();
        merge_patch(&mut target, &patch);
        assert_eq!(target, result, "row {} ({original} + {patch})", i + 1);
        // Applying the same patch again changes nothing (merge patches are idempotent).
        merge_patch(&mut target, &patch);
        assert_eq!(target, result, "row {} twice", i + 1);
    }
}

#[test]
fn section_3_example() {
    let mut doc = json!({
        "title": "Goodbye!",
        "author": {"givenName": "John", "familyName": "Doe"},
        "tags": ["example", "sample"],
        "content": "This will be unchanged"
    });
    let patch = json!({
        "title": "Hello!",
        "phoneNumber": "+01-123-456-7890",
        "author": {"familyName": null},
        "tags": ["example"]
    });
    merge_patch(&mut doc, &patch);
    assert_eq!(
        doc,
        json!({
            "title": "Hello!",
            "author": {"givenName": "John"},
            "tags": ["example"],
            "content": "This will be unchanged",
            "phoneNumber": "+01-123-456-7890"
        })
    );
}

#[test]
fn altered_result_is_noticed() {
    let (original, patch, result) = appendix_a().swap_remove(6);
    let mut target = original;
    merge_patch(&mut target, &patch);
    let mut altered = result.clone();
    altered["a"]["c"] = Value::Null;
    assert_ne!(target, altered, "a deleted member must be absent, not null");
}
